// The technicians' and the auditor's pages: imports (a preview that lists
// every bad line before anything is written), accounts (the one-time link
// followed to a first sign-in), the catalogue, the geolocation procedure
// approved by a second technician (never by the requester, whatever the
// page sends), the audit log and its filters, the register; the auditor
// sees no write control and a forged write is refused; the printable
// documents rendered to PDF with their text checked (pdftotext).  Every
// page visited passes checkPage (axe-core, no missing value shown) and
// leaves a screenshot.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';

import {
	account, adminApi, alertText, checkPage, FIXTURE, input, launch, linkToken, newContext,
	pageFetch, pathOf, pdf, ready, session, shot, signIn, visit,
} from './lib.mjs';

const NAV = ['Imports', 'Comptes', 'Catalogue', 'Géolocalisation', 'Journal', 'Registre'];
const A = FIXTURE.schools.A;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function signedIn(role) {
	const page = await (await newContext(browser)).newPage();
	const a = account(role);
	await signIn(page, a.name, a.password);
	return page;
}

async function navLabels(page) {
	return page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link').allInnerTexts();
}

function pdfText(path) {
	const out = spawnSync('pdftotext', ['-layout', path, '-'], { encoding: 'utf8' });
	assert.ok(!out.error, `pdftotext runs (Debian's poppler-utils; tools/ardoise-dev installs it): ${out.error}`);
	assert.equal(out.status, 0, `pdftotext ${path}: ${out.stderr}`);
	return out.stdout.replace(/[ \t]+/g, ' ');
}

// Sets the password of account name through a new invitation link, as its
// person would (the link page); returns the password.
async function passwordThroughLink(name) {
	const made = await adminApi('POST', `/api/v1/accounts/${name}/invite`, {});
	assert.equal(made.status, 200, JSON.stringify(made.body));
	const page = await (await newContext(browser)).newPage();
	const password = `Phrase de passe ${name} 2026`;
	await visit(page, `/lien/${linkToken(made.body.link)}`);
	await input(page, 'Nouveau mot de passe').fill(password);
	await input(page, 'Confirmer le mot de passe').fill(password);
	await page.getByRole('button', { name: 'Enregistrer le mot de passe' }).click();
	await page.getByText('Votre mot de passe est enregistré.').waitFor();
	await page.context().close();
	return password;
}

test('technician: the six pages in the navigation, each accessible', async () => {
	const page = await signedIn('technician');
	const labels = await navLabels(page);
	for (const l of NAV) assert.ok(labels.includes(l), `the navigation shows ${l}: ${labels}`);
	for (const [path, title] of [['/imports', 'Imports'], ['/comptes', 'Comptes'], ['/catalogue', 'Catalogue'],
		['/geolocalisation', 'Géolocalisation'], ['/journal', 'Journal'], ['/registre', 'Registre des géolocalisations']]) {
		await visit(page, path);
		assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), title);
		assert.equal(await page.locator('h1').count(), 1, `${path}: one h1`);
		await checkPage(page, path);
		await shot(page, `tech${path.replace(/\//g, '-')}`);
	}
	await page.context().close();
});

test('imports: the preview lists every bad line with its number, nothing is written; a good file is imported', async () => {
	const page = await signedIn('technician');
	await visit(page, '/imports');
	const before = (await adminApi('GET', '/api/v1/devices?limit=1000')).body.devices.length;
	await input(page, 'Que contient le fichier').selectOption('devices');
	await input(page, 'Fichier CSV').setInputFiles({
		name: 'tablettes.csv', mimeType: 'text/csv', buffer: Buffer.from(
			'serial,model,uai,asset_tag\n' +
			'NEWT00000001,iPad 10,0131266F,CD13-N1\n' +
			'bad serial,iPad 10,0131266F,\n' +
			'NEWT00000002,iPad 10,0131266G,\n' +
			'NEWT00000001,iPad 10,0131266F,\n'),
	});
	await page.getByRole('button', { name: 'Prévisualiser' }).click();
	const refused = page.getByRole('region', { name: /Lignes refusées \(3\)/ });
	await refused.waitFor();
	const rows = await refused.locator('tbody tr').allInnerTexts();
	assert.equal(rows.length, 3, `three bad lines listed: ${rows}`);
	assert.match(rows[0], /^3\s+Numéro de série « bad serial » incorrect/);
	assert.match(rows[1], /^4\s+UAI « 0131266G » incorrect : la lettre de contrôle de 0131266 est F, pas G/);
	assert.match(rows[2], /^5\s+Le numéro de série NEWT00000001 figure déjà ligne 2/);
	assert.equal(await page.getByRole('button', { name: 'Importer' }).count(), 0, 'no import while a line is bad');
	await checkPage(page, '/imports with bad lines');
	await shot(page, 'imports-bad-lines');
	assert.equal((await adminApi('GET', '/api/v1/devices?limit=1000')).body.devices.length, before, 'the preview wrote nothing');

	await input(page, 'Fichier CSV').setInputFiles({
		name: 'tablettes.csv', mimeType: 'text/csv',
		buffer: Buffer.from(`serial,model,uai,asset_tag\nNEWT00000001,iPad 10,${A},CD13-N1\n`),
	});
	await page.getByRole('button', { name: 'Prévisualiser' }).click();
	await page.getByText('seraient créées').waitFor();
	assert.equal(await page.getByRole('button', { name: 'Importer' }).count(), 1);
	assert.equal((await adminApi('GET', '/api/v1/devices/NEWT00000001')).status, 404, 'still nothing written');
	await page.getByRole('button', { name: 'Importer' }).click();
	await page.getByText(/Import de « tablettes\.csv » terminé : 1 créées/).waitFor();
	const made = await adminApi('GET', '/api/v1/devices/NEWT00000001');
	assert.equal(made.status, 200);
	assert.equal(made.body.asset_tag, 'CD13-N1');
	await checkPage(page, '/imports done');
	await shot(page, 'imports-done');
	await page.context().close();
});

test('accounts: a new ATI of two collèges, its link followed to a first sign-in, then disabled', async () => {
	const page = await signedIn('technician');
	await visit(page, '/comptes');
	await input(page, 'Nom du compte').fill('ati.nord');
	await input(page, 'Rôle').selectOption('ati');
	await page.getByRole('group', { name: 'Collèges' }).first().getByLabel(new RegExp(`\\(${A}\\)`)).check();
	await page.getByRole('group', { name: 'Collèges' }).first().getByLabel(new RegExp(`\\(${FIXTURE.schools.C}\\)`)).check();
	await input(page, 'Nom affiché').fill('Nadia Ferhat');
	await input(page, 'Adresse e-mail').fill('nadia.ferhat@example.fr');
	await page.getByRole('button', { name: 'Créer le compte' }).click();
	await page.getByText('Le compte « ati.nord » est créé (ATI).').waitFor();
	const link = await input(page, 'Lien à usage unique').inputValue();
	const token = await input(page, 'Jeton (scripts seulement)').inputValue();
	assert.match(link, /\/lien\/[A-Za-z0-9_-]+$/);
	assert.match(token, /^ard_/);
	assert.match(await page.getByRole('heading', { name: 'Jeton d’accès pour les scripts' }).innerText(), /scripts/);
	await checkPage(page, '/comptes after a creation');
	await shot(page, 'accounts-created');
	const row = page.getByRole('row', { name: /ati\.nord/ });
	assert.match(await row.innerText(), /Nadia Ferhat\s+ATI\s+.*Clg N\. Sarraute.*Clg les Matagots.*nadia\.ferhat@example\.fr\s+Non\s+Actif/s);

	const person = await (await newContext(browser)).newPage();
	await visit(person, `/lien/${linkToken(link)}`);
	const password = 'Une phrase de passe assez longue';
	await input(person, 'Nouveau mot de passe').fill(password);
	await input(person, 'Confirmer le mot de passe').fill(password);
	await person.getByRole('button', { name: 'Enregistrer le mot de passe' }).click();
	await person.getByText('Votre mot de passe est enregistré.').waitFor();
	await signIn(person, 'ati.nord', password);
	const s = await session(person);
	assert.deepEqual([...s.schools].sort(), [A, FIXTURE.schools.C].sort());
	assert.deepEqual((await navLabels(person)).filter((l) => NAV.includes(l)), ['Catalogue'],
		'an ATI sees none of the technicians\' pages but the catalogue');
	await visit(person, '/comptes');
	assert.match(await person.getByRole('main').innerText(), /Page réservée/);
	await person.context().close();

	await visit(page, '/comptes');
	assert.match(await page.getByRole('row', { name: /ati\.nord/ }).innerText(), /Oui/, 'password set now shown');
	await page.getByRole('button', { name: 'Gérer le compte ati.nord' }).click();
	await page.getByRole('heading', { name: 'Compte « ati.nord »' }).waitFor();
	await page.getByRole('button', { name: 'Désactiver le compte' }).click();
	await page.getByText('Compte désactivé.').waitFor();
	await checkPage(page, '/comptes, an account open');
	await shot(page, 'accounts-disabled');
	const again = await (await newContext(browser)).newPage();
	await visit(again, '/connexion');
	await input(again, 'Nom du compte').fill('ati.nord');
	await input(again, 'Mot de passe').fill(password);
	await again.getByRole('button', { name: 'Se connecter' }).click();
	assert.match(await alertText(again), /incorrect/, 'a disabled account cannot sign in');
	await again.context().close();
	await page.context().close();
});

test('catalogue: an app added and assigned to a class, then unassigned', async () => {
	const page = await signedIn('technician');
	await visit(page, '/catalogue');
	await input(page, 'Nom de l’application').fill('Lumni');
	await input(page, 'Identifiant de paquet').fill('fr.lumni.app');
	await input(page, 'Identifiant App Store').fill('1455667788');
	await page.getByRole('button', { name: 'Ajouter au catalogue' }).click();
	await page.getByText('« Lumni » (fr.lumni.app) est au catalogue.', { exact: false }).waitFor();
	await input(page, 'Élément du catalogue').selectOption('app:fr.lumni.app');
	await input(page, 'Portée').selectOption('group');
	await input(page, 'Collège').selectOption(A);
	await input(page, 'Groupe').selectOption('class');
	await input(page, 'Classe').fill('3A');
	await page.getByRole('button', { name: 'Affecter' }).click();
	await page.getByText(/affecté : La classe 3A du collège Clg N\. Sarraute/).waitFor();
	const asg = (await adminApi('GET', '/api/v1/policy/assignments')).body;
	assert.ok(asg.some((x) => x.item === 'app:fr.lumni.app' && x.scope === `group:${A}/3A`), JSON.stringify(asg));
	await checkPage(page, '/catalogue after an assignment');
	await shot(page, 'catalogue-assigned');
	page.once('dialog', (d) => d.accept());
	await page.getByRole('button', { name: /Retirer Application « Lumni » \(fr\.lumni\.app\) de La classe 3A/ }).click();
	await page.getByText(/Affectation retirée/).waitFor();
	const left = (await adminApi('GET', '/api/v1/policy/assignments')).body;
	assert.ok(!left.some((x) => x.item === 'app:fr.lumni.app'), 'unassigned');
	await page.context().close();
});

test('geolocation: requested by one technician, who cannot approve it, approved by a second', async () => {
	const serial = FIXTURE.tablets.B[1];
	const requester = await signedIn('technician');
	await visit(requester, '/geolocalisation');
	await input(requester, 'Tablette (numéro de série)').fill(serial);
	await input(requester, 'Référence de la demande écrite des autorités').fill('Réquisition 2026/118');
	await input(requester, 'Justification').fill('Demande écrite de la gendarmerie');
	await requester.getByRole('button', { name: 'Demander la géolocalisation' }).click();
	await requester.getByText(/un autre technicien doit l’approuver/).first().waitFor();
	const card = requester.getByRole('article', { name: new RegExp(serial) });
	assert.match(await card.innerText(), /En attente d’approbation/);
	assert.equal(await card.getByRole('button', { name: 'Approuver' }).count(), 0, 'no Approuver for the requester');
	assert.equal(await card.getByRole('button', { name: 'Refuser' }).count(), 0, 'no Refuser for the requester');
	await checkPage(requester, '/geolocalisation, own request pending');
	await shot(requester, 'locate-requester');
	const id = Number(/Demande n° (\d+)/.exec(await card.innerText())[1]);
	// the requester forcing the approval from the page: refused by the server
	const forced = await pageFetch(requester, 'POST', `/api/v1/locate/${id}/approve`, { reason: 'moi' },
		(await session(requester)).csrf);
	assert.equal(forced.status, 403);
	assert.match(forced.body.error.message, /requester cannot approve/);

	// the second technician: the first one of the installation, signing in with
	// a password chosen through its own link (its token was issued by nobody)
	const password = await passwordThroughLink('admin');
	const second = await (await newContext(browser)).newPage();
	await signIn(second, 'admin', password);
	await visit(second, '/geolocalisation');
	const pending = second.getByRole('article', { name: new RegExp(`Demande n° ${id}`) });
	await input(pending, 'Motif de la décision').fill('Réquisition vérifiée auprès de la brigade');
	await checkPage(second, '/geolocalisation, another\'s request pending');
	await shot(second, 'locate-approver');
	await pending.getByRole('button', { name: 'Approuver' }).click();
	await second.getByText(`Demande n° ${id} approuvée : la tablette passe en mode perdu et envoie sa position.`).waitFor();
	const approved = second.getByRole('article', { name: new RegExp(`Demande n° ${id}`) });
	assert.match(await approved.innerText(), /Approuvée par\s+admin[\s\S]*Motif de la décision\s+Réquisition vérifiée/);
	await approved.getByRole('button', { name: 'Voir les positions' }).click();
	await approved.getByText('Cette consultation est enregistrée dans le registre.').waitFor();
	await checkPage(second, '/geolocalisation approved');
	await shot(second, 'locate-approved');
	await second.context().close();

	const auditor = await signedIn('auditor');
	await visit(auditor, '/registre');
	const row = auditor.getByRole('row', { name: new RegExp(`^${id}\\b`) });
	assert.match(await row.innerText(), new RegExp(`${serial}[\\s\\S]*${account('technician').name}[\\s\\S]*Réquisition 2026/118[\\s\\S]*Approuvée par admin[\\s\\S]*Réquisition vérifiée`));
	assert.match(await row.innerText(), /1\s*$/, 'one read of the positions counted');
	await checkPage(auditor, '/registre');
	await shot(auditor, 'register-auditor');
	await auditor.context().close();
	await requester.context().close();
});

test('auditor: journal and register read-only, no write control, a forged write refused', async () => {
	const page = await signedIn('auditor');
	const labels = await navLabels(page);
	for (const l of ['Journal', 'Registre']) assert.ok(labels.includes(l), `${l} in the navigation: ${labels}`);
	for (const l of ['Imports', 'Comptes', 'Géolocalisation']) assert.ok(!labels.includes(l), `no ${l}: ${labels}`);
	for (const path of ['/journal', '/registre']) {
		await visit(page, path);
		const buttons = await page.getByRole('main').getByRole('button').allInnerTexts();
		assert.deepEqual(buttons.filter((b) => !['Filtrer', 'Vérifier la chaîne', 'Afficher', 'Afficher plus'].includes(b)), [],
			`${path}: only reading controls: ${buttons}`);
		await checkPage(page, `${path} (auditor)`);
	}
	for (const path of ['/imports', '/comptes', '/geolocalisation']) {
		await visit(page, path);
		assert.match(await page.getByRole('main').innerText(), /Page réservée/, `${path} is not for the auditor`);
	}
	const csrf = (await session(page)).csrf;
	for (const [method, path, body] of [
		['POST', '/api/v1/locate', { serial: FIXTURE.tablets.A[0], authority_ref: 'x', reason: 'x' }],
		['POST', '/api/v1/accounts', { name: 'intrus', role: 'technician' }],
		['POST', '/api/v1/policy/apps', { bundle_id: 'fr.intrus.app', name: 'Intrus' }],
		['POST', '/api/v1/accounts/admin/update', { enabled: false }],
	]) {
		const r = await pageFetch(page, method, path, body, csrf);
		assert.equal(r.status, 403, `${method} ${path} by the auditor: ${JSON.stringify(r.body)}`);
	}
	assert.equal((await adminApi('GET', '/api/v1/accounts')).body.accounts.some((a) => a.name === 'intrus'), false);

	await visit(page, '/journal');
	await page.getByRole('button', { name: 'Vérifier la chaîne' }).click();
	await page.getByText(/^Chaîne intacte : les [\d\s ]+ lignes du journal sont vérifiées/).waitFor();
	await shot(page, 'journal-verified');
	await page.context().close();
});

test('journal: filters by actor, action family, collège and days, kept in the address', async () => {
	const page = await signedIn('technician');
	await visit(page, '/journal');
	const today = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', day: '2-digit', month: '2-digit', year: 'numeric' }).format(new Date());
	await input(page, 'Acteur').fill('admin');
	await input(page, 'Action').selectOption('loan');
	await input(page, 'Collège').selectOption(A);
	await input(page, 'Du').fill(today);
	await input(page, 'Au').fill(today);
	await page.getByRole('button', { name: 'Filtrer' }).click();
	await page.waitForURL(/\/journal\?/);
	await ready(page);
	const url = new URL(page.url());
	assert.equal(url.searchParams.get('acteur'), 'admin');
	assert.equal(url.searchParams.get('action'), 'loan');
	assert.equal(url.searchParams.get('college'), A);
	const rows = await page.getByRole('region', { name: /Lignes du journal/ }).locator('tbody tr').allInnerTexts();
	assert.ok(rows.length >= 2, `the fixture's loans in A: ${rows}`);
	for (const r of rows) assert.match(r, /admin\s+Prêt\s+loan\.create/, `every row is a loan by admin: ${r}`);
	const serialsA = FIXTURE.tablets.A;
	for (const r of rows) assert.ok(serialsA.some((s) => r.includes(s)), `a tablet of A: ${r}`);
	await checkPage(page, '/journal filtered');
	await shot(page, 'journal-filtered');
	await input(page, 'Du').fill('31/02/2026');
	await page.getByRole('button', { name: 'Filtrer' }).click();
	await page.waitForURL(/du=31/);
	await ready(page);
	assert.match(await alertText(page), /n’est pas une date JJ\/MM\/AAAA/);
	await page.context().close();
});

async function printed(page, path, name, { pages = 1, has = [], hasNot = [] } = {}) {
	await visit(page, path);
	await checkPage(page, path);
	await shot(page, name);
	assert.equal(await page.getByRole('button', { name: 'Imprimer' }).count(), 1, `${path}: an Imprimer button`);
	const out = await pdf(page, name);
	assert.ok(out.pages <= pages, `${path}: ${out.pages} A4 page(s), at most ${pages}`);
	const text = pdfText(out.path);
	for (const t of has) assert.ok(text.includes(t), `${path}: the PDF says ${JSON.stringify(t)}:\n${text}`);
	for (const t of ['Se déconnecter', 'Navigation', 'Imprimer', 'Aller au contenu', 'gestion des tablettes prêtées', ...hasNot]) {
		assert.ok(!text.includes(t), `${path}: the PDF has nothing of the screen frame (${JSON.stringify(t)}):\n${text}`);
	}
	return text;
}

test('documents: the agreement, the receipt, the summer checklist and the notice, printed on A4', async () => {
	const page = await signedIn('ati');
	const open = FIXTURE.loans.open;
	const agreement = await printed(page, `/documents/accord/${open.id}`, 'document-agreement', {
		has: ['Convention de prêt d’une tablette numérique à un collégien', 'Léa Dupont', 'classe 3A',
			'Clg N. Sarraute', A, open.serial, 'CD13-A01', 'X Oui : la tablette peut être emportée au domicile',
			'dans les 48 heures', 'plainte', 'vacances d’été', 'quitte le collège', 'données de la tablette sont effacées',
			'Responsable légal 1', 'Pour le collège'],
	});
	assert.match(agreement, /\n\s+Non : la tablette reste au collège/, 'the other box is left empty');

	const back = await adminApi('POST', '/api/v1/loans/return', { device: FIXTURE.loans.overdue.serial, condition: 'damaged' });
	assert.equal(back.status, 200, JSON.stringify(back.body));
	await printed(page, `/documents/recu/${FIXTURE.loans.overdue.id}`, 'document-receipt', {
		has: ['Reçu de restitution d’une tablette numérique', 'Hugo Martin', FIXTURE.loans.overdue.serial, 'CD13-A02',
			'X Endommagée', 'L’effacement de toutes les données de la tablette a été demandé', 'Pour le collège'],
	});
	await visit(page, `/documents/recu/${open.id}`);
	assert.match(await alertText(page), /n’a pas encore été rendue/, 'no receipt before the return');
	await checkPage(page, '/documents/recu before the return');

	// a référent of A prints A's documents, not another collège's
	const referent = await signedIn('referent');
	await visit(referent, `/documents/accord/${open.id}`);
	assert.match(await referent.getByRole('heading', { level: 1 }).innerText(), /Convention de prêt/);
	await visit(referent, `/documents/accord/${FIXTURE.loans.other_school.id}`);
	assert.match(await alertText(referent), /Introuvable dans vos collèges/);
	assert.doesNotMatch(await referent.getByRole('main').innerText(), /Jules Petit/);
	await checkPage(referent, '/documents/accord of another collège');
	await referent.context().close();

	const by = new Date(Date.now() + 86400000).toISOString().slice(0, 10).split('-').reverse().join('/');
	await printed(page, `/documents/ete?ecole=${A}&classe=3A&date=${by}`, 'document-summer', {
		has: ['Collecte d’été des tablettes — classe 3A', `À rendre avant le ${by}`, 'Léa Dupont', open.serial, 'Signature'],
		hasNot: ['Hugo Martin'],
	});

	// the notice is public: the footer links to it, no session needed
	const anyone = await (await newContext(browser)).newPage();
	await visit(anyone, '/connexion');
	await anyone.getByRole('link', { name: 'Données personnelles' }).click();
	await ready(anyone);
	assert.equal(pathOf(anyone), '/documents/notice');
	// the durations are the daemon's (the fixture sets 45 and 120 days,
	// not config.c's 30 and 90), read from GET /api/v1/notice
	const notice = (await printed(anyone, '/documents/notice', 'document-notice', {
		pages: 2,
		has: ['Notice d’information sur les données personnelles', 'Quelles données sont gardées', 'Pourquoi',
			'délégué à la protection des données', 'CNIL'],
	})).replace(/\s+/g, ' ');
	for (const t of ['effacées 45 jours après la fin de la procédure', 'effacées 120 jours après leur exécution',
		'au bout de 30 jours est abandonnée', 'avec l’accord de deux techniciens du Département']) {
		assert.ok(notice.includes(t), `the notice says ${JSON.stringify(t)}:\n${notice}`);
	}
	assert.doesNotMatch(notice, /\b90 jours|effacées 30 jours/, 'no default duration the daemon does not apply');
	assert.match(agreement.replace(/\s+/g, ' '), /avec l’accord de deux techniciens du Département/, 'the agreement states the approval rule');

	// the values cannot be read: the notice says so, and states no duration
	await anyone.route('**/api/v1/notice', (r) => r.abort());
	await visit(anyone, '/documents/notice');
	assert.match(await alertText(anyone), /n’ont pas pu être lus/);
	const blind = await anyone.getByRole('main').innerText();
	assert.doesNotMatch(blind, /\d+ jours? (après|plus tard)|deux techniciens/, `no duration nor rule printed unread:\n${blind}`);
	assert.match(blind, /ce délai n’a pas pu être lu/);
	await checkPage(anyone, '/documents/notice without its values');
	await anyone.context().close();
	await page.context().close();
});
