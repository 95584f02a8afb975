// The collège's pages in a real browser: each role's home, a référent who
// sees only their collège, an ATI lending a tablet (the home-use refusal in
// French, then the guardians' agreement recorded), handing it back (the
// simulated tablet erases itself), the summer checklist, a lock-code reset
// and a lock whose result shows up when the simulated tablet answers,
// incidents declared, followed and closed.  axe-core on every page, a
// screenshot of each.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';

import {
	account, adminApi, alertText, checkPage, FIXTURE, label, launch, newContext, pathOf, ready, shot,
	signIn, URL_BASE, visit,
} from './lib.mjs';

const { A, B, C } = FIXTURE.schools;
const TABLETS = FIXTURE.tablets;
// English words a French page must not show to its reader
const ENGLISH = /\b(error|not found|unknown|refused|forbidden|tablet|loan|agreement|needs)\b/i;

// the buttons that change something
const CHANGES = /Prêter|Restituer|Enregistrer|Retirer|Déclarer|Clore|Réinitialiser|Verrouiller/;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function signedIn(role) {
	const a = account(role);
	const page = await (await newContext(browser)).newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(e.message));
	page.errors = errors;
	await signIn(page, a.name, a.password);
	return page;
}

async function done(page) {
	assert.deepEqual(page.errors, [], 'no script error on the pages');
	await page.context().close();
}

// Every page visited is checked (no stray value shown, axe) with its
// expanding rows open: everything a closed row shows (its summary) is
// shown then too, with what it hides.
async function check(page, name) {
	const open = (yes) => page.evaluate((o) => document.querySelectorAll('main details').forEach((d) => { d.open = o; }), yes);
	await open(true);
	await checkPage(page, `${pathOf(page)} (${name}, rows open)`);
	await open(false);
	await shot(page, `school-${name}`);
}

function french(text, what) {
	assert.ok(text.length > 0, `${what}: a message is shown`);
	assert.doesNotMatch(text, ENGLISH, `${what}: the message is in French: ${JSON.stringify(text)}`);
}

// The control labelled text inside the form (or row) `within`.
function control(within, text) {
	return within.getByLabel(label(text)).and(within.locator('input, select, textarea'));
}

function form(page, name) {
	return page.getByRole('form', { name });
}

async function mainText(page) {
	return page.getByRole('main').innerText();
}

// The figure of the dashboard whose words are text: its number.
async function figure(page, text) {
	const f = page.locator('.chiffre').filter({ hasText: text });
	return Number((await f.locator('.valeur').innerText()).replace(/\s/g, ''));
}

// Today on Paris's calendar, JJ/MM/AAAA (what a person types).
function todayFr() {
	return new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', day: '2-digit', month: '2-digit', year: 'numeric' })
		.format(new Date());
}

// One check-in of every simulated tablet: each fetches and answers the
// commands queued for it.
function tabletsCheckIn() {
	assert.ok(process.env.ARDOISE_SIM && process.env.ARDOISE_SIM_STATE,
		'browser_fixture.py gives ARDOISE_SIM and ARDOISE_SIM_STATE (the fixture\'s tablets)');
	const out = spawnSync(process.env.ARDOISE_SIM, ['--url', URL_BASE, '--ca', process.env.ARDOISE_CA,
		'--state', process.env.ARDOISE_SIM_STATE, 'connect'], { encoding: 'utf8', timeout: 120000 });
	assert.equal(out.status, 0, `ardoise-sim connect: ${out.stderr}`);
}

async function api(path) {
	const r = await adminApi('GET', path);
	assert.equal(r.status, 200, `GET ${path}: ${JSON.stringify(r.body)}`);
	return r.body;
}

test('home: the technician sees one line per collège, each opening its dashboard', async () => {
	const page = await signedIn('technician');
	assert.equal(pathOf(page), '/');
	const rows = page.getByRole('table', { name: 'Collèges du département' }).getByRole('row');
	assert.equal(await rows.count(), 1 + Object.keys(FIXTURE.schools).length, 'a line per collège');
	await check(page, 'home-technician');
	await page.getByRole('link', { name: 'Clg les Matagots' }).click();
	await ready(page);
	assert.equal(new URL(page.url()).searchParams.get('ecole'), C);
	assert.match(await page.locator('h1').innerText(), /Clg les Matagots/);
	assert.equal(await figure(page, 'tablettes au total'), TABLETS.C.length);
	await check(page, 'home-technician-one-school');
	await done(page);
});

test('home: the ATI of two collèges sees both, not the third; a figure opens its list', async () => {
	const page = await signedIn('ati');
	const table = page.getByRole('table', { name: 'Vos collèges' });
	const text = await table.innerText();
	assert.match(text, /Clg N\. Sarraute/);
	assert.match(text, /Clg Elie Coutarel/);
	assert.doesNotMatch(text, /Matagots/, 'no line for a collège outside the ATI’s');
	await check(page, 'home-ati');
	await table.getByRole('link', { name: 'Clg N. Sarraute' }).click();
	await ready(page);
	assert.equal(await figure(page, 'prêts en retard'), 1);
	await page.getByRole('link', { name: /prêts en retard/ }).click();
	await ready(page);
	assert.equal(pathOf(page), '/prets');
	const q = new URL(page.url()).searchParams;
	assert.deepEqual([q.get('etat'), q.get('ecole')], ['retard', A]);
	const list = page.getByRole('table', { name: 'Prêts en retard' });
	assert.equal(await list.getByRole('row').count(), 2, 'the overdue loan alone');
	assert.match(await list.innerText(), new RegExp(`${FIXTURE.loans.overdue.serial}[\\s\\S]*En retard`),
		'overdue said in words');
	await check(page, 'loans-overdue-ati');
	await done(page);
});

test('home: the référent lands on their collège’s dashboard with its figures', async () => {
	const page = await signedIn('referent');
	assert.equal(pathOf(page), '/');
	assert.equal(await page.locator('h1').innerText(), 'Tableau de bord — Clg N. Sarraute');
	assert.equal(await figure(page, 'tablettes au total'), TABLETS.A.length);
	assert.equal(await figure(page, 'prêts en cours'), 2);
	assert.equal(await figure(page, 'prêts en retard'), 1);
	assert.equal(await figure(page, 'incidents ouverts'), 1);
	assert.equal(await figure(page, 'prêtées'), 2);
	assert.equal(await page.getByRole('heading', { name: 'Mises à jour d’iPadOS' }).count(), 1,
		'the iPadOS update figures have their section');
	await check(page, 'home-referent');
	await page.getByRole('link', { name: /prêtées/ }).click();
	await ready(page);
	const q = new URL(page.url()).searchParams;
	assert.deepEqual([pathOf(page), q.get('etat'), q.get('ecole')], ['/tablettes', 'loaned', A]);
	const rows = page.getByRole('table', { name: 'Tablettes trouvées' }).getByRole('row');
	assert.equal(await rows.count(), 3, 'the two tablets on loan');
	await done(page);
});

test('home: the auditor’s home is the geolocation register', async () => {
	const page = await signedIn('auditor');
	assert.equal(pathOf(page), '/registre');
	await checkPage(page, '/registre (auditor)');
	await shot(page, 'school-home-auditor');
	await done(page);
});

test('référent: only their collège, and no button to change anything', async () => {
	const page = await signedIn('referent');
	const other = [...TABLETS.B, ...TABLETS.C];
	await visit(page, '/tablettes');
	let text = await mainText(page);
	for (const s of TABLETS.A) assert.ok(text.includes(s), `tablet ${s} of their collège is listed`);
	for (const s of other) assert.ok(!text.includes(s), `tablet ${s} of another collège is not listed`);
	await check(page, 'tablets-referent');
	// the search finds their tablets by asset tag, never another collège's
	await control(page, 'Rechercher').fill('CD13-A02');
	await page.getByRole('button', { name: 'Afficher' }).click();
	await ready(page);
	assert.equal(new URL(page.url()).searchParams.get('q'), 'CD13-A02');
	text = await mainText(page);
	assert.ok(text.includes(TABLETS.A[1]) && !text.includes(TABLETS.A[0]), 'the search finds one tablet');
	await visit(page, `/tablettes?q=${TABLETS.B[0]}`);
	assert.match(await mainText(page), /Aucune tablette ne correspond/);
	// another collège's tablet: not found
	await visit(page, `/tablettes/${TABLETS.B[0]}`);
	french(await alertText(page), 'a tablet of another collège');
	assert.match(await mainText(page), /Aucune tablette de ce numéro dans vos collèges/);
	await check(page, 'tablet-other-school-referent');
	// their own tablet: read, no action
	await visit(page, `/tablettes/${TABLETS.A[0]}`);
	assert.match(await mainText(page), /Léa Dupont/);
	assert.equal(await page.getByRole('button', { name: CHANGES }).count(), 0);
	await check(page, 'tablet-referent');
	for (const [path, absent] of [['/prets', 'Prêter la tablette'], ['/incidents', 'Déclarer l’incident'],
		['/personnes', null], ['/ete', null]]) {
		await visit(page, path);
		text = await mainText(page);
		assert.ok(!text.includes('Jules Petit') && !text.includes('Chloé Garnier'), `${path}: nobody of another collège`);
		assert.ok(!text.includes(TABLETS.B[0]), `${path}: no tablet of another collège`);
		if (absent) assert.equal(await page.getByRole('button', { name: absent }).count(), 0, `${path}: no "${absent}"`);
		await page.evaluate(() => document.querySelectorAll('main details').forEach((d) => { d.open = true; }));
		assert.equal(await page.getByRole('button', { name: CHANGES }).count(), 0, `${path}: nothing to change`);
		await check(page, `${path.slice(1)}-referent`);
	}
	await done(page);
});

test('ATI: a loan refused for home use without the agreement, lent once it is recorded, handed back and erased', async () => {
	const page = await signedIn('ati');
	const stock = FIXTURE.stock;
	// the guardians withdraw their agreement (people page)
	await visit(page, `/personnes?ecole=${A}&classe=3A`);
	await check(page, 'people-ati');
	let row = page.getByRole('row').filter({ hasText: 'Inès Bernard' });
	await row.locator('summary').click();
	await row.getByRole('button', { name: 'Retirer l’accord' }).click();
	await row.getByText('Accord retiré.').waitFor();
	assert.match(await row.locator('.accord').innerText(), /Non enregistré/);
	assert.equal((await api('/api/v1/people/E-A3')).agreement, null);

	await visit(page, '/prets');
	await check(page, 'loans-ati');
	const lend = form(page, 'Prêter une tablette');
	const send = () => lend.getByRole('button', { name: 'Prêter la tablette' }).click();
	// a day that does not exist, then someone who has left: refused in French
	await control(lend, 'Tablette').fill(stock);
	await control(lend, 'Élève ou enseignant').fill('E-A2');
	await control(lend, 'Date de retour prévue').fill('31/02/2031');
	await send();
	await lend.getByRole('alert').filter({ hasText: 'JJ/MM/AAAA' }).waitFor();
	await control(lend, 'Date de retour prévue').fill('');
	await send();
	const left = lend.getByRole('alert').filter({ hasText: 'quitté' });
	await left.waitFor();
	french(await left.innerText(), 'a pupil who left');
	assert.match(await left.innerText(), /Hugo Martin \(3B\) a quitté le collège le \d{2}\/\d{2}\/\d{4}/);
	await control(lend, 'Tablette').fill('CD13-A04'); // the asset tag of the tablet in stock
	await control(lend, 'Élève ou enseignant').fill('bernard');
	await control(lend, 'Usage').selectOption({ label: 'À la maison et au collège' });
	await lend.getByRole('button', { name: 'Prêter la tablette' }).click();
	const refusal = await alertText(page);
	french(refusal, 'home use without the agreement');
	assert.match(refusal, /accord signé des responsables légaux de l’élève Inès Bernard \(3A\)/);
	await check(page, 'loan-refused-ati');
	assert.equal((await api(`/api/v1/devices/${stock}`)).state, 'stock', 'nothing lent');

	// the signed agreement comes back: its date recorded
	await visit(page, `/personnes?ecole=${A}&classe=3A`);
	row = page.getByRole('row').filter({ hasText: 'Inès Bernard' });
	await row.locator('summary').click();
	await control(row, 'Accord signé le').fill(todayFr());
	await row.getByRole('button', { name: 'Enregistrer l’accord' }).click();
	await row.getByText(/Accord enregistré/).waitFor();
	assert.match(await row.locator('.accord').innerText(), new RegExp(`Signé le ${todayFr()}`));
	assert.ok((await api('/api/v1/people/E-A3')).agreement, 'the agreement is recorded');

	await visit(page, '/prets');
	await control(lend, 'Tablette').fill('CD13-A04');
	await control(lend, 'Élève ou enseignant').fill('bernard');
	await control(lend, 'Usage').selectOption({ label: 'À la maison et au collège' });
	await lend.getByRole('button', { name: 'Prêter la tablette' }).click();
	const ok = lend.locator('.notice-ok');
	await ok.waitFor();
	assert.match(await ok.innerText(), new RegExp(`Tablette ${stock} prêtée à Inès Bernard \\(3A\\), à la maison`));
	const loan = (await api(`/api/v1/loans?device=${stock}`)).loans[0];
	assert.equal(loan.person, 'E-A3');
	assert.equal(loan.home_use, true);
	assert.equal(await lend.getByRole('link', { name: /accord de prêt/ }).getAttribute('href'), `/documents/accord/${loan.id}`);
	await check(page, 'loan-made-ati');

	// handed back from the list: the page says the tablet will be erased
	row = page.getByRole('table', { name: 'Prêts en cours' }).getByRole('row').filter({ hasText: stock });
	await row.locator('summary').click();
	assert.match(await row.innerText(), /sera effacée/);
	await control(row, 'État de la tablette').selectOption('damaged');
	await control(row, 'Note').fill('coque fendue');
	await row.getByRole('button', { name: 'Restituer et effacer' }).click();
	const back = row.locator('.notice-ok');
	await back.waitFor();
	assert.match(await back.innerText(), /Restituée \(Abîmée\)[\s\S]*effacement/);
	assert.equal(await row.getByRole('link', { name: /reçu/ }).getAttribute('href'), `/documents/recu/${loan.id}`);
	assert.match(await row.locator('.etat-pret').innerText(), /Retour en cours/);
	assert.match(await back.innerText(), /incident de casse est ouvert[\s\S]*réparation/);
	await check(page, 'loan-returned-ati');
	// damaged: its damage incident is open, the tablet goes to repair
	assert.equal((await api(`/api/v1/devices/${stock}`)).state, 'repair');
	tabletsCheckIn(); // the tablet wipes itself; its acknowledgement closes the loan
	assert.equal((await api(`/api/v1/devices/${stock}`)).state, 'repair', 'in repair, not stock, once erased');
	const closed = (await api(`/api/v1/loans?device=${stock}&state=closed`)).loans;
	assert.ok(closed.some((l) => l.id === loan.id && l.condition === 'damaged'), 'the loan is closed');
	await visit(page, `/tablettes/${stock}`);
	assert.match(await page.locator('dl').innerText(), /État\s+En réparation/);
	await check(page, 'tablet-after-return-ati');
	await done(page);
});

test('ATI: lock-code reset and lock, each result shown when the tablet answers', async () => {
	const page = await signedIn('ati');
	const serial = FIXTURE.loans.open.serial;
	await visit(page, `/tablettes/${serial}`);
	// what the simulated iPad reported of itself, and its policy
	const facts = await page.locator('dl.fiche').innerText();
	for (const re of [/Batterie\s+\d+ %/, /Stockage\s+[\d,]+ Go libres sur [\d,]+ Go/, /Supervisée\s+Oui/,
		/Mode perdu\s+Désactivé/, /Version d’iPadOS\s+17\.5/, /Élève ou enseignant\s+Léa Dupont \(3A\)/])
		assert.match(facts, re);
	const policy = await page.getByRole('table', { name: 'Profils et applications attendus sur la tablette' }).innerText();
	assert.match(policy, /passcode\s+Profil\s+Installé/, 'the baseline profiles, installed');
	await check(page, 'tablet-ati');
	const reset = form(page, 'Réinitialiser le code');
	const region = page.locator('.resultat');
	// the reason is required, by the page as by the server
	await reset.getByRole('button', { name: 'Réinitialiser le code' }).click();
	french(await alertText(page), 'no reason');
	await control(reset, 'Motif').fill('code oublié, élève de 3A');
	await reset.getByRole('button', { name: 'Réinitialiser le code' }).click();
	await region.getByText('Réinitialisation du code : En attente').waitFor();
	assert.equal(await region.getAttribute('aria-live'), 'polite');
	await shot(page, 'school-passcode-queued');
	tabletsCheckIn();
	await region.getByText('Réinitialisation du code : Exécutée').waitFor({ timeout: 15000 });
	await check(page, 'passcode-done-ati');
	const cmds = (await api(`/api/v1/devices/${serial}`)).commands;
	assert.ok(cmds.some((c) => c.type === 'ClearPasscode' && c.status === 'acknowledged'), 'acknowledged');
	const audit = (await api('/api/v1/audit?limit=10000')).rows;
	assert.ok(audit.some((x) => x.action === 'device.clear_passcode' && x.target === serial
		&& x.reason === 'code oublié, élève de 3A'), 'the reset is audited with its reason');

	const lock = form(page, 'Verrouiller');
	await control(lock, 'Motif').fill('tablette oubliée en salle 12');
	await control(lock, 'Message affiché sur l’écran verrouillé').fill('Rapportez-moi à la vie scolaire');
	await control(lock, 'Numéro de téléphone affiché').fill('04 42 00 00 00');
	await lock.getByRole('button', { name: 'Verrouiller la tablette' }).click();
	await region.getByText('Verrouillage : En attente').waitFor();
	tabletsCheckIn();
	await region.getByText('Verrouillage : Exécutée').waitFor({ timeout: 15000 });
	await check(page, 'lock-done-ati');
	await done(page);
});

test('ATI: the summer checklist by class, a tablet handed back from it', async () => {
	const page = await signedIn('ati');
	await visit(page, `/ete?ecole=${A}`);
	await page.getByRole('heading', { name: 'Classe 3A' }).waitFor();
	await page.getByRole('heading', { name: 'Classe 3B' }).waitFor();
	assert.equal(await page.getByRole('link', { name: /liste à signer de la classe 3A/ }).getAttribute('href'),
		`/documents/ete?ecole=${A}&classe=3A`);
	await check(page, 'summer-ati');
	// the summer deposit: the loan suspended, nothing erased; then resumed
	const lea = page.getByRole('table', { name: 'Tablettes à rendre, classe 3A' }).getByRole('row').filter({ hasText: 'Léa Dupont' });
	await lea.getByRole('button', { name: 'Déposer la tablette de Léa Dupont' }).click();
	await lea.getByText('Déposée, prêt suspendu.').waitFor();
	assert.match(await lea.locator('.deposee').innerText(), /Oui, le \d{2}\/\d{2}\/\d{4}/);
	assert.equal((await api(`/api/v1/devices/${FIXTURE.loans.open.serial}`)).state, 'loaned', 'still on loan');
	await check(page, 'summer-deposited-ati');
	await lea.getByRole('button', { name: 'Reprendre la tablette de Léa Dupont' }).click();
	await lea.getByText('Rendue à l’élève, prêt repris.').waitFor();
	assert.equal(await lea.locator('.deposee').innerText(), 'Non');
	const serial = FIXTURE.loans.overdue.serial; // Hugo Martin, 3B
	const row = page.getByRole('table', { name: 'Tablettes à rendre, classe 3B' }).getByRole('row').filter({ hasText: serial });
	assert.match(await row.innerText(), /Hugo Martin[\s\S]*Non/);
	await row.locator('summary').click();
	await row.getByRole('button', { name: 'Restituer et effacer' }).click();
	await row.locator('.notice-ok').waitFor();
	assert.match(await row.locator('.rendue').innerText(), /Oui/);
	await check(page, 'summer-returned-ati');
	assert.equal((await api(`/api/v1/devices/${serial}`)).state, 'returning');
	await visit(page, `/ete?ecole=${A}`);
	assert.ok(!(await mainText(page)).includes(serial), 'off the checklist once handed back');
	await done(page);
});

test('ATI: a theft declared before its complaint, the complaint added, followed and closed', async () => {
	const page = await signedIn('ati');
	const serial = TABLETS.B[1]; // in stock at Clg Elie Coutarel, the ATI's second collège
	await visit(page, '/incidents');
	await check(page, 'incidents-ati');
	const declare = form(page, 'Déclarer un incident');
	await control(declare, 'Tablette').fill(serial);
	await control(declare, 'Nature').selectOption({ label: 'Vol' });
	await control(declare, 'Date des faits').fill(todayFr());
	await control(declare, 'Heure des faits').fill('00:05');
	await control(declare, 'Coût de la casse').fill('45,50');
	await declare.getByRole('button', { name: 'Déclarer l’incident' }).click();
	french(await alertText(page), 'a cost on a theft');
	await control(declare, 'Coût de la casse').fill('');
	await control(declare, 'Date du signalement').fill(todayFr());
	await control(declare, 'Note').fill('volée dans le car');
	await declare.getByRole('button', { name: 'Déclarer l’incident' }).click();
	await declare.locator('.notice-ok').waitFor();
	assert.match(await declare.innerText(), /Plainte manquante/);
	const incident = (await api(`/api/v1/incidents?device=${serial}&open=1`)).incidents[0];
	assert.equal(incident.kind, 'theft');
	assert.equal(incident.note, 'volée dans le car');
	assert.ok(incident.complaint_missing && incident.reported);
	assert.equal((await api(`/api/v1/devices/${serial}`)).state, 'stolen');
	await check(page, 'incident-declared-ati');

	// followed on its page: the complaint added, then closed: found
	await declare.getByRole('link', { name: `Suivre l’incident n° ${incident.id}` }).click();
	await ready(page);
	assert.equal(await page.locator('h1').innerText(), `Incident n° ${incident.id}`);
	assert.match(await page.locator('dl').innerText(), /Survenu le\s+\d{2}\/\d{2}\/\d{4} 00:05/);
	assert.match(await page.locator('dl').innerText(), /plainte manquante/);
	await check(page, 'incident-page-ati');
	const complaint = form(page, `Compléter la plainte de l’incident n° ${incident.id}`);
	await control(complaint, 'Référence du dépôt de plainte').fill('PV 13-2026-0042');
	await control(complaint, 'Date de la plainte').fill(todayFr());
	await complaint.getByRole('button', { name: 'Enregistrer la plainte' }).click();
	await page.getByRole('status').filter({ hasText: 'Plainte enregistrée' }).waitFor();
	assert.match(await page.locator('dl').innerText(), /PV 13-2026-0042, déposée le \d{2}\/\d{2}\/\d{4}/);
	const completed = await api(`/api/v1/incidents/${incident.id}`);
	assert.equal(completed.complaint_missing, false);
	assert.equal(completed.police_ref, 'PV 13-2026-0042');
	const close = form(page, `Clore l’incident n° ${incident.id}`);
	await control(close, 'Issue').selectOption('found');
	await close.getByRole('button', { name: 'Clore l’incident' }).click();
	const said = page.getByRole('status').filter({ hasText: 'clos' });
	await said.waitFor();
	assert.match(await said.innerText(), /Retrouvée[\s\S]*En stock/);
	assert.equal((await api(`/api/v1/devices/${serial}`)).state, 'stock');

	// the fixture's damage, closed from its expanding row
	await visit(page, '/incidents?etat=ouverts');
	const row = page.getByRole('row').filter({ hasText: FIXTURE.incident.serial });
	await row.locator('summary').click();
	assert.match(await row.innerText(), /écran fissuré/);
	await control(row, 'Issue').selectOption('repaired');
	await row.getByRole('button', { name: 'Clore l’incident' }).click();
	await row.getByText(/clos \(Réparée\)/).waitFor();
	assert.match(await row.locator('.statut').innerText(), /Clos : Réparée/);
	await check(page, 'incident-closed-ati');
	assert.equal((await api(`/api/v1/incidents/${FIXTURE.incident.id}`)).status, 'closed');
	await done(page);
});

test('ATI: a departure recorded on the people page', async () => {
	const page = await signedIn('ati');
	await visit(page, `/personnes?ecole=${A}`);
	const row = page.getByRole('row').filter({ hasText: 'Mme Durand' });
	await row.locator('summary').click();
	assert.equal(await row.getByRole('button', { name: 'Enregistrer l’accord' }).count(), 0,
		'no guardians’ agreement for a teacher');
	const [y, m, d] = new Date(Date.now() + 40 * 86400000).toISOString().slice(0, 10).split('-');
	await control(row, 'Date de départ').fill(`${d}/${m}/${y}`);
	await row.getByRole('button', { name: 'Enregistrer le départ' }).click();
	await row.getByText(/Départ enregistré/).waitFor();
	assert.match(await row.locator('.depart').innerText(), new RegExp(`Part le ${d}/${m}/${y}`));
	assert.equal((await api('/api/v1/people/T-A1')).left, `${y}-${m}-${d}`);
	await check(page, 'people-departure-ati');
	await done(page);
});
