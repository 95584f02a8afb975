// documents.js - the printable documents (A4, css/ardoise.css's print
// part): the guardians' loan agreement and the return receipt of a loan,
// the summer collection checklist of a class, and the information notice on
// personal data (public: the footer links to it).  What is printed is the
// .document; the buttons around it are for the screen.

import * as api from '../api.js';
import { route } from '../app.js';
import { field, h, heading, notice, table } from '../dom.js';
import { date, dateTime, parseDay, today } from '../fmt.js';

// What the notice and the agreement state from the daemon's configuration
// (GET /api/v1/notice, public: [mdm] organization, the retention and expiry
// durations, the geolocation approval rule); null when it could not be
// read: the documents then say so rather than print a default that a
// département may have changed.
async function configured() {
	try {
		return await api.get('/api/v1/notice', undefined, { quiet401: true });
	} catch (e) {
		return null;
	}
}

// The screen's warning when the configuration could not be read (none
// when it was); the printed text says it in its own words.
function unread(cfg) {
	if (cfg) return [];
	const n = notice('erreur', 'Les réglages du Département (durées de conservation des données, accord pour localiser une tablette) n’ont pas pu être lus : le document ne les indique pas. Rechargez la page, ou demandez-les au collège.');
	n.classList.add('ecran-seulement');
	return [n];
}

function days(n) {
	return `${n} jour${n > 1 ? 's' : ''}`;
}

// "le Département", with its configured name when it is not just that.
function lender(cfg) {
	const org = cfg && cfg.organization ? cfg.organization.trim() : '';
	if (!org || org === 'Département') return 'le Département';
	if (/^département\b/i.test(org)) return `le ${org}`;
	return `le Département (${org})`;
}

function capital(t) {
	return t.charAt(0).toUpperCase() + t.slice(1);
}

function entete(cfg) {
	return cfg && cfg.organization ? cfg.organization : 'Département';
}

// Who agrees to locate a tablet ([geolocation] approval).
function approvers(cfg) {
	if (!cfg) return 'selon la procédure du Département';
	return cfg.geolocation_approval === 'single' ? 'avec l’accord d’un technicien du Département'
		: 'avec l’accord de deux techniciens du Département';
}

function printBar(back) {
	const b = h('button', { type: 'button', class: 'bouton' }, 'Imprimer');
	b.addEventListener('click', () => window.print());
	return h('div', { class: 'ecran-seulement actions' }, b, back ? h('a', { href: back.href, class: 'bouton secondaire' }, back.text) : null);
}

// A box ticked or not, with its words (the tick is not the only sign).
function box(ticked, text) {
	return h('p', { class: `case-ligne${ticked ? ' cochee' : ''}` },
		h('span', { class: 'case', 'aria-hidden': 'true' }, ticked ? 'X' : ''),
		ticked ? h('span', { class: 'invisible' }, 'Case cochée : ') : h('span', { class: 'invisible' }, 'Case non cochée : '),
		text);
}

function blank(label) {
	return h('p', { class: 'a-remplir' }, `${label} : `, h('span', { class: 'ligne-a-remplir' }));
}

function signatures(boxes) {
	return h('div', { class: `signatures signatures-${boxes.length}` }, boxes.map((t) => h('div', { class: 'signature' }, h('p', {}, t))));
}

function facts(rows) {
	return h('dl', { class: 'fiche' }, rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

async function loanAndSchool(id) {
	const loan = await api.get(`/api/v1/loans/${encodeURIComponent(id)}`);
	let school = { uai: loan.school, name: loan.school, commune: '' };
	try {
		school = await api.get(`/api/v1/schools/${encodeURIComponent(loan.school)}`);
	} catch (e) {
		// the UAI alone still identifies the collège
	}
	return { loan, school };
}

function schoolLine(s) {
	return `${s.name}${s.commune ? `, ${s.commune}` : ''} (UAI ${s.uai})`;
}

const rules = (cfg) => [
	'La tablette appartient au Département. Elle est prêtée pour la scolarité au collège et reste son bien.',
	'La tablette ne peut être emportée au domicile qu’une fois la présente convention signée par les responsables légaux et remise au collège. Sans cette signature, elle ne sert qu’au collège.',
	'La tablette reste au collège pendant les vacances d’été : elle est rendue avant la date fixée par le collège et redonnée à la rentrée.',
	'Le prêt prend fin quand l’élève quitte le collège : la tablette est rendue au plus tard le dernier jour de sa scolarité au collège.',
	'À chaque retour, toutes les données de la tablette sont effacées. Avant de la rendre, l’élève sauvegarde ce qu’il souhaite garder (par exemple dans l’espace numérique de travail).',
	'Toute perte, tout vol, toute casse ou panne est déclaré au collège dans les 48 heures.',
	'En cas de vol, les responsables légaux déposent plainte auprès de la police ou de la gendarmerie et remettent au collège la référence de la plainte.',
	'La tablette est configurée et gérée à distance par le Département (réglages de sécurité, applications pédagogiques, code de verrouillage). Personne ne peut lire son code de verrouillage ni son contenu.',
	`La tablette n’est localisée qu’exceptionnellement : après une perte ou un vol déclaré, ou sur demande écrite des autorités, ${approvers(cfg)} ; chaque demande est inscrite dans un registre.`,
	'Les données personnelles liées au prêt sont décrites dans la notice d’information jointe.',
];

route('/documents/accord/:loan', {
	title: 'Convention de prêt',
	may: 'read',
	async render(main, params) {
		const [{ loan, school }, cfg] = await Promise.all([loanAndSchool(params.loan), configured()]);
		const pupil = loan.kind !== 'teacher';
		const doc = h('article', { class: 'document' },
			h('p', { class: 'entete' }, `Département — ${schoolLine(school)}`),
			...heading(pupil ? 'Convention de prêt d’une tablette numérique à un collégien' : 'Convention de prêt d’une tablette numérique',
				`Prêt n° ${loan.id}. À signer${pupil ? ' par les responsables légaux' : ''} et à rendre au collège.`),
			h('h2', {}, 'Les parties'),
			facts([
				['Le prêteur', `Le Département, propriétaire de la tablette, représenté par le collège ${schoolLine(school)}`],
				[pupil ? 'L’élève' : 'L’emprunteur', `${loan.name}${loan.class ? `, classe ${loan.class}` : ''} (identifiant ${loan.person})`],
			]),
			pupil ? blank('Responsables légaux (noms et prénoms)') : null,
			h('h2', {}, 'La tablette'),
			facts([
				['Numéro de série', loan.device],
				['Numéro d’inventaire', loan.asset_tag || '—'],
				['Prêtée le', date(loan.started)],
				['À rendre', loan.due ? `au plus tard le ${date(loan.due)}` : 'au départ du collège, et chaque été avant la date fixée par le collège'],
			]),
			h('h2', {}, 'Usage à domicile'),
			box(loan.home_use, 'Oui : la tablette peut être emportée au domicile, une fois cette convention signée par les responsables légaux.'),
			box(!loan.home_use, 'Non : la tablette reste au collège et ne sert qu’en classe.'),
			h('h2', {}, 'Règles du prêt'),
			h('ol', { class: 'regles' }, rules(cfg).map((r) => h('li', {}, r))),
			h('p', { class: 'a-remplir' }, 'Fait à ', h('span', { class: 'ligne-a-remplir courte' }), ', le ', h('span', { class: 'ligne-a-remplir courte' })),
			signatures(pupil
				? ['Responsable légal 1 (nom, prénom, signature)', 'Responsable légal 2 (nom, prénom, signature)', 'L’élève (signature)', 'Pour le collège (nom, qualité, signature et cachet)']
				: ['L’emprunteur (nom, prénom, signature)', 'Pour le collège (nom, qualité, signature et cachet)']));
		main.append(printBar({ href: '/documents/notice', text: 'Notice d’information à joindre' }), ...unread(cfg), doc);
	},
});

function eraseText(loan) {
	if (loan.state === 'closed' && loan.end_reason === 'erased') {
		return `Toutes les données de la tablette ont été effacées : la tablette l’a confirmé le ${dateTime(loan.closed)}.`;
	}
	if (loan.state === 'closed') return 'Le prêt est clos.';
	return `L’effacement de toutes les données de la tablette a été demandé le ${dateTime(loan.returned)} ; il a lieu dès que la tablette se connecte.`;
}

route('/documents/recu/:loan', {
	title: 'Reçu de restitution',
	may: 'read',
	async render(main, params) {
		const { loan, school } = await loanAndSchool(params.loan);
		if (!loan.returned) {
			main.append(...heading('Reçu de restitution', `Prêt n° ${loan.id}.`),
				notice('erreur', `La tablette du prêt n° ${loan.id} n’a pas encore été rendue : le reçu s’imprime après le retour.`));
			return;
		}
		const doc = h('article', { class: 'document' },
			h('p', { class: 'entete' }, `Département — ${schoolLine(school)}`),
			...heading('Reçu de restitution d’une tablette numérique', `Prêt n° ${loan.id}. À remettre à la personne qui rend la tablette.`),
			h('p', {}, `Le collège ${schoolLine(school)} atteste avoir reçu, le ${dateTime(loan.returned)}, la tablette décrite ci-dessous.`),
			facts([
				['Prêtée à', `${loan.name}${loan.class ? `, classe ${loan.class}` : ''} (identifiant ${loan.person})`],
				['Numéro de série', loan.device],
				['Numéro d’inventaire', loan.asset_tag || '—'],
				['Prêtée le', date(loan.started)],
				['Rendue le', dateTime(loan.returned)],
				['Reçue par', loan.returned_by || '—'],
			]),
			h('h2', {}, 'État de la tablette au retour'),
			box(loan.condition === 'ok', 'Bon état'),
			box(loan.condition === 'damaged', 'Endommagée'),
			h('h2', {}, 'Effacement des données'),
			h('p', {}, eraseText(loan)),
			h('p', {}, 'Le prêt prend fin avec ce retour.'),
			blank('Tablette rendue par (nom et prénom)'),
			signatures(['La personne qui rend la tablette (signature)', 'Pour le collège (nom, qualité, signature et cachet)']));
		main.append(printBar(null), doc);
	},
});

function checklist(cls) {
	return table({
		caption: `Classe ${cls.class || 'sans classe'} : ${cls.count} tablette(s), ${cls.deposited || 0} déposée(s), ${cls.to_collect ?? cls.count} à déposer`,
		columns: [
			{ label: 'Élève', value: (l) => l.name, class: 'col-eleve' },
			{ label: 'Numéro de série', value: (l) => l.device },
			{ label: 'N° d’inventaire', value: (l) => l.asset_tag || '—' },
			{ label: 'Prêtée le', value: (l) => date(l.started) },
			{ label: 'Déposée', value: (l) => (l.deposited ? `Oui, le ${date(l.deposited)}` : h('span', { class: 'case' })), class: 'col-case' },
			{ label: 'État au retour', value: () => '', class: 'col-etat' },
			{ label: 'Signature', value: () => '', class: 'col-signature' },
		],
		rows: cls.loans,
		empty: 'Aucune tablette à rendre.',
	});
}

function summerForm(q, schools, go) {
	const form = h('form', { class: 'formulaire enligne ecran-seulement', 'aria-label': 'Choisir la liste', novalidate: true },
		field({
			label: 'Collège', name: 'ecole', type: 'select', value: q.get('ecole') || '',
			options: [['', '— choisir —'], ...schools.map((s) => [s.uai, `${s.name} (${s.uai})`])],
		}),
		field({ label: 'Classe', name: 'classe', value: q.get('classe') || '', hint: 'Vide : toutes les classes.' }),
		field({ label: 'Date de la collecte', name: 'date', type: 'date', value: q.get('date') || '' }),
		h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'bouton' }, 'Afficher la liste')));
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const next = new URLSearchParams();
		for (const k of ['ecole', 'classe', 'date']) if (form.elements[k].value.trim()) next.set(k, form.elements[k].value.trim());
		go(`/documents/ete?${next}`);
	});
	return form;
}

route('/documents/ete', {
	title: 'Collecte d’été',
	may: 'read',
	async render(main, params, ctx) {
		const q = ctx.query;
		const schools = (await api.get('/api/v1/schools')).schools;
		main.append(summerForm(q, schools, ctx.go));
		if (!q.get('ecole')) {
			main.prepend(...heading('Collecte d’été des tablettes', 'Choisissez le collège, la classe et la date de la collecte.'));
			return;
		}
		const day = q.get('date') ? parseDay(q.get('date')) : today();
		if (!day) {
			main.prepend(...heading('Collecte d’été des tablettes', 'Choisissez le collège, la classe et la date de la collecte.'));
			main.append(notice('erreur', `La date « ${q.get('date')} » n’est pas une date JJ/MM/AAAA.`));
			return;
		}
		const c = await api.get('/api/v1/loans/campaign', { school: q.get('ecole'), by: day });
		const school = schools.find((s) => s.uai === c.school) || { uai: c.school, name: c.school };
		const want = (q.get('classe') || '').trim().toLowerCase();
		const classes = (c.classes || []).filter((x) => !want || (x.class || '').toLowerCase() === want);
		const title = `Collecte d’été des tablettes${want ? ` — classe ${classes[0] ? classes[0].class : q.get('classe')}` : ''}`;
		const doc = h('article', { class: 'document' },
			h('p', { class: 'entete' }, `Département — ${schoolLine(school)}`),
			...heading(title, `Les tablettes prêtées restent au collège pendant l’été. À rendre avant le ${date(day)} : cochez chaque tablette reçue, notez son état et faites signer.`),
			classes.length ? classes.map((cls, i) => h('section', { class: i ? 'saut' : null }, h('h2', {}, `Classe ${cls.class || 'sans classe'}`), checklist(cls)))
				: notice('info', want ? `Aucune tablette à rendre pour la classe ${q.get('classe')}.` : 'Aucune tablette d’élève à rendre.'),
			h('p', { class: 'a-remplir' }, 'Liste vérifiée par (nom, qualité) : ', h('span', { class: 'ligne-a-remplir' })),
			h('p', { class: 'a-remplir' }, 'Le ', h('span', { class: 'ligne-a-remplir courte' }), ', signature : ', h('span', { class: 'ligne-a-remplir courte' })));
		main.append(printBar(null), doc);
	},
});

route('/documents/notice', {
	title: 'Notice d’information sur les données personnelles',
	public: true,
	async render(main) {
		const cfg = await configured();
		const list = (items) => h('ul', {}, items.map((t) => h('li', {}, t)));
		const doc = h('article', { class: 'document notice-rgpd' },
			h('p', { class: 'entete' }, `${entete(cfg)} — prêt de tablettes numériques aux collégiens`),
			...heading('Notice d’information sur les données personnelles', 'À remettre aux familles avec la convention de prêt de la tablette.'),
			h('h2', {}, 'Qui est responsable de ces données'),
			h('p', {}, `${capital(lender(cfg))}, propriétaire des tablettes, qui les gère avec le logiciel Ardoise, et le collège de l’élève, qui organise les prêts.`),
			h('h2', {}, 'Quelles données sont gardées'),
			list([
				'L’identité de l’élève : nom et prénom, classe, collège, identifiant de l’élève au collège.',
				'Les prêts : la tablette prêtée, les dates de prêt et de retour, le choix de l’usage à domicile, la date de l’accord signé des responsables légaux, l’état de la tablette au retour.',
				'Les incidents déclarés : perte, vol (avec la référence de la plainte), casse ou panne, et leurs dates.',
				'Les données techniques de la tablette : numéro de série, modèle, version du système, batterie, espace de stockage, applications installées, date de sa dernière connexion.',
				`Exceptionnellement, la position de la tablette : seulement après une perte ou un vol déclaré, ou sur demande écrite des autorités, ${approvers(cfg)} ; la position est chiffrée.`,
			]),
			h('p', {}, 'Ne sont pas gardés : le contenu de la tablette (documents, photos, messages), l’historique de navigation, le code de verrouillage (personne ne peut le lire).'),
			h('h2', {}, 'Pourquoi'),
			list([
				'Gérer le prêt d’un matériel public : savoir qui a quelle tablette, la récupérer en fin de prêt et chaque été.',
				'Protéger les élèves et les tablettes : réglages de sécurité, applications pédagogiques, filtrage web, verrouillage.',
				'Suivre les pertes, vols, casses et pannes, et retrouver une tablette perdue ou volée.',
			]),
			h('p', {}, 'Ces traitements relèvent de la mission de service public d’éducation du Département et du collège (article 6.1.e du règlement général sur la protection des données).'),
			h('h2', {}, 'Pendant combien de temps'),
			list([
				cfg ? `Les positions d’une tablette : effacées ${days(cfg.geolocation_retention_days)} après la fin de la procédure de géolocalisation (durée fixée par le Département). La demande reste inscrite au registre, sans les positions.`
					: 'Les positions d’une tablette : effacées après la fin de la procédure de géolocalisation, dans un délai fixé par le Département (ce délai n’a pas pu être lu ; demandez-le au collège). La demande reste inscrite au registre, sans les positions.',
				cfg ? `Les commandes techniques envoyées à la tablette : effacées ${days(cfg.command_retention_days)} après leur exécution ; une commande que la tablette n’a pas exécutée au bout de ${days(cfg.command_expiry_days)} est abandonnée, puis effacée ${days(cfg.command_retention_days)} plus tard.`
					: 'Les commandes techniques envoyées à la tablette : effacées après leur exécution, dans un délai fixé par le Département (ce délai n’a pas pu être lu ; demandez-le au collège).',
				'Le contenu de la tablette : effacé à chaque retour de la tablette.',
				cfg ? `L’identité de l’élève : gardée pendant sa scolarité ; ${days(cfg.leaver_retention_days)} après son départ et le retour de sa tablette, nom, classe et identifiant sont remplacés par une mention neutre. Ses prêts et incidents restent, sans rien qui le nomme.`
					: 'L’identité de l’élève : gardée pendant sa scolarité ; après son départ et le retour de sa tablette, dans un délai fixé par le Département (non lu ; demandez-le au collège), nom, classe et identifiant sont remplacés par une mention neutre.',
				'Le journal des actions du personnel (qui a fait quoi, quand) : gardé sans limite de durée pour pouvoir contrôler chaque action ; il ne contient pas le nom des élèves, seulement leur identifiant.',
			]),
			h('h2', {}, 'Qui peut les voir'),
			list([
				'Les personnels du collège chargés des tablettes (référent numérique, assistant technique), pour leur collège seulement.',
				'Les techniciens du Département chargés des tablettes.',
				'Le contrôleur de la protection des données du Département, en lecture seule (journal et registre des géolocalisations).',
			]),
			h('h2', {}, 'Vos droits et qui contacter'),
			h('p', {}, 'Vous pouvez demander à voir les données de votre enfant, à les faire corriger, et vous opposer à leur usage ou en demander la limitation. Adressez-vous d’abord au collège (référent numérique ou direction), puis au délégué à la protection des données (DPO) du Département. Si vous estimez que vos droits ne sont pas respectés, vous pouvez adresser une réclamation à la CNIL (www.cnil.fr).'),
			blank('Collège, contact'),
			blank('Délégué à la protection des données du Département, contact'));
		main.append(printBar(null), ...unread(cfg), doc);
	},
});
