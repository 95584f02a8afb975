// accounts.js - /comptes (technicians): the staff accounts, a new one
// (with the one-time link to give its person, and the token for scripts),
// a new link (invitation or password reset), its collèges, names, e-mail,
// disabling and enabling it.

import * as api from '../api.js';
import { route } from '../app.js';
import { actionForm, field, FormError, h, heading, notice, table } from '../dom.js';
import { dateTime, explain, roleLabel, ROLES, yesNo } from '../fmt.js';

// The server's refusals about accounts, in French.
const REFUSALS = [
	[409, /already exists/, () => 'Un compte porte déjà ce nom.'],
	[400, /^name:/, () => 'Nom du compte : de 1 à 64 lettres sans accent, chiffres ou . _ @ -.'],
	[400, /^email:/, () => 'L’adresse e-mail n’est pas valable (nom@domaine.fr).'],
	[400, /^display_name: at most (\d+)/, (m) => `Le nom affiché compte au plus ${m[1]} caractères.`],
	[400, /needs at least one collège/, () => 'Choisissez au moins un collège pour ce rôle.'],
	[400, /sees the whole fleet/, () => 'Un technicien ou un auditeur voit tous les collèges : n’en cochez aucun.'],
	[404, /no collège (\S+)/, (m) => `Le collège ${m[1]} est inconnu.`],
	[409, /cannot disable your own account/, () => 'Vous ne pouvez pas désactiver votre propre compte.'],
	[409, /is disabled: enable it first/, () => 'Ce compte est désactivé : réactivez-le avant de lui donner un lien.'],
	[404, /no account (\S+)/, (m) => `Le compte ${m[1]} n’existe plus.`],
];

// Sends path (POST body); a refusal becomes a FormError in French.
async function send(path, body) {
	try {
		return await api.post(path, body);
	} catch (e) {
		if (e.status === undefined) throw e;
		throw new FormError(explain(e, REFUSALS));
	}
}

// Roles that cover collèges, and how many (the server checks it too).
const SCOPED = new Set(['ati', 'referent']);

function schoolName(schools, uai) {
	const s = schools.find((x) => x.uai === uai);
	return s ? `${s.name} (${uai})` : uai;
}

// A fieldset of one checkbox per collège; checked: the UAIs ticked.
function schoolChoice(schools, checked, hint) {
	const list = h('div', { class: 'choix-multiple' }, schools.map((s) => field({
		label: `${s.name}${s.commune ? `, ${s.commune}` : ''} (${s.uai})`,
		name: `ecole-${s.uai}`, type: 'checkbox', checked: checked.includes(s.uai),
	})));
	return h('fieldset', { class: 'champ-groupe' },
		h('legend', {}, 'Collèges'), hint ? h('p', { class: 'aide' }, hint) : null, list);
}

function chosenSchools(values) {
	return Object.entries(values).filter(([k, v]) => k.startsWith('ecole-') && v === true).map(([k]) => k.slice(6));
}

// What a new link gives: the link to hand over, and when it ends.
function linkBox(name, link, expires) {
	return h('div', { class: 'carte lien-unique' },
		h('h3', {}, `Lien à transmettre à ${name}`),
		h('p', {}, `La personne y choisit son mot de passe. Le lien ne sert qu’une fois et vaut jusqu’au ${dateTime(expires)}. `,
			'Transmettez-le à elle seule (en main propre ou par sa messagerie professionnelle).'),
		field({ label: 'Lien à usage unique', name: 'lien', value: link }));
}

function tokenBox(token) {
	return h('div', { class: 'carte jeton' },
		h('h3', {}, 'Jeton d’accès pour les scripts'),
		h('p', {}, 'Ce jeton sert seulement aux scripts et à ardoisectl. Il n’est affiché qu’une fois : ',
			'gardez-le dans un coffre de mots de passe, ou ignorez-le si la personne n’utilise que les pages. ',
			'Ce n’est pas un mot de passe à transmettre.'),
		field({ label: 'Jeton (scripts seulement)', name: 'jeton', value: token }));
}

function readonlyInputs(node) {
	for (const el of node.querySelectorAll('input')) {
		el.readOnly = true;
		el.addEventListener('focus', () => el.select());
	}
	return node;
}

function checkSchools(role, chosen) {
	if (SCOPED.has(role) && chosen.length === 0) throw new FormError('Choisissez au moins un collège pour ce rôle.');
	if (!SCOPED.has(role) && chosen.length) throw new FormError('Un technicien ou un auditeur voit tous les collèges : n’en cochez aucun.');
}

function createForm(schools, refresh) {
	return actionForm({
		label: 'Nouveau compte',
		fields: [
			field({ label: 'Nom du compte', name: 'name', required: true, autocomplete: 'off', hint: 'De 1 à 64 lettres sans accent, chiffres ou . _ @ - (par exemple prenom.nom).' }),
			field({ label: 'Rôle', name: 'role', type: 'select', required: true, options: Object.entries(ROLES) }),
			schoolChoice(schools, [], 'Un ATI ou un référent couvre un ou plusieurs collèges ; un technicien ou un auditeur aucun.'),
			field({ label: 'Nom affiché', name: 'display_name', hint: 'Facultatif : prénom et nom, montrés en haut des pages.' }),
			field({ label: 'Adresse e-mail', name: 'email', type: 'email', hint: 'Facultative.' }),
			field({ label: 'Motif (facultatif, gardé dans le journal)', name: 'reason' }),
		],
		submit: 'Créer le compte',
		async action(v, form) {
			if (!v.name) throw new FormError('Saisissez le nom du compte.');
			const chosen = chosenSchools(v);
			checkSchools(v.role, chosen);
			const body = { name: v.name, role: v.role, schools: chosen };
			if (v.display_name) body.display_name = v.display_name;
			if (v.email) body.email = v.email;
			if (v.reason) body.reason = v.reason;
			const made = await send('/api/v1/accounts', body);
			form.reset();
			refresh();
			return readonlyInputs(h('div', {},
				notice('ok', `Le compte « ${made.name} » est créé (${roleLabel(made.role)}).`),
				made.link ? linkBox(made.display_name || made.name, made.link, made.link_expires_at) : null,
				made.token ? tokenBox(made.token) : null));
		},
	});
}

// The tools on one account: its link, its collèges and names, enabling.
// refresh(name, done): the list read again, and this account shown again
// with done (a sentence) when given; without done only the list.
function manage(a, schools, session, refresh) {
	const who = a.display_name || a.name;
	const parts = [h('h2', { id: 'compte-titre', tabindex: '-1' }, `Compte « ${a.name} »`),
		h('p', {}, `${roleLabel(a.role)}${a.disabled ? ' — désactivé' : ''}. `,
			a.password_set ? 'Mot de passe choisi.' : 'Mot de passe pas encore choisi.')];
	const linkAction = (kind) => async () => {
		const path = `/api/v1/accounts/${encodeURIComponent(a.name)}/${kind}`;
		const got = await send(path, {});
		refresh();
		return readonlyInputs(h('div', {},
			notice('ok', kind === 'invite' ? 'Nouvelle invitation créée : les liens précédents ne valent plus.'
				: 'Lien de réinitialisation créé : les liens précédents ne valent plus.'),
			linkBox(who, got.link, got.link_expires_at)));
	};
	parts.push(h('h3', {}, 'Lien pour choisir un mot de passe'),
		actionForm({
			label: a.password_set ? 'Réinitialiser le mot de passe' : 'Inviter',
			fields: [h('p', { class: 'aide' }, a.password_set
				? 'Un nouveau lien permet de choisir un nouveau mot de passe ; l’ancien reste valable jusqu’à son usage.'
				: 'Un nouveau lien d’invitation remplace les précédents.')],
			submit: a.password_set ? 'Réinitialiser le mot de passe' : 'Envoyer une nouvelle invitation',
			action: linkAction(a.password_set ? 'password-reset' : 'invite'),
		}));
	const scoped = SCOPED.has(a.role);
	parts.push(h('h3', {}, 'Informations'),
		actionForm({
			label: 'Modifier le compte',
			fields: [
				field({ label: 'Nom affiché', name: 'display_name', value: a.display_name || '' }),
				field({ label: 'Adresse e-mail', name: 'email', type: 'email', value: a.email || '' }),
				scoped ? schoolChoice(schools, a.schools || [], 'Au moins un collège.') : null,
				field({ label: 'Motif (facultatif, gardé dans le journal)', name: 'reason' }),
			],
			submit: 'Enregistrer',
			async action(v) {
				const body = { display_name: v.display_name, email: v.email };
				if (scoped) {
					body.schools = chosenSchools(v);
					checkSchools(a.role, body.schools);
				}
				if (v.reason) body.reason = v.reason;
				await send(`/api/v1/accounts/${encodeURIComponent(a.name)}/update`, body);
				await refresh(a.name, 'Compte enregistré.');
				return null;
			},
		}));
	if (a.name !== session.name) {
		parts.push(h('h3', {}, a.disabled ? 'Réactiver' : 'Désactiver'),
			actionForm({
				label: a.disabled ? 'Réactiver le compte' : 'Désactiver le compte',
				fields: [
					h('p', { class: 'aide' }, a.disabled
						? 'Le compte pourra de nouveau se connecter et utiliser son jeton.'
						: 'Le compte ne pourra plus se connecter ni utiliser son jeton ; ses sessions sont fermées.'),
					field({ label: 'Motif (facultatif, gardé dans le journal)', name: 'reason' }),
				],
				submit: a.disabled ? 'Réactiver le compte' : 'Désactiver le compte',
				async action(v) {
					const body = { enabled: !!a.disabled };
					if (v.reason) body.reason = v.reason;
					await send(`/api/v1/accounts/${encodeURIComponent(a.name)}/update`, body);
					await refresh(a.name, a.disabled ? 'Compte réactivé.' : 'Compte désactivé.');
					return null;
				},
			}));
	} else {
		parts.push(notice('info', 'C’est votre compte : un autre technicien peut le désactiver.'));
	}
	return parts;
}

route('/comptes', {
	title: 'Comptes',
	may: 'admin',
	nav: 'Comptes',
	async render(main, params, ctx) {
		const [{ accounts }, { schools }] = await Promise.all([
			api.get('/api/v1/accounts'), api.get('/api/v1/schools'),
		]);
		const list = h('section', { 'aria-labelledby': 'liste-titre' });
		const detail = h('section', { 'aria-labelledby': 'compte-titre', class: 'carte', hidden: true });
		let rows = accounts;

		function open(name, done) {
			const a = rows.find((x) => x.name === name);
			if (!a) return;
			const parts = manage(a, schools, ctx.session, reload);
			if (done) parts.splice(1, 0, notice('ok', done));
			detail.replaceChildren(...parts);
			detail.hidden = false;
			detail.querySelector('h2').focus();
		}

		function draw() {
			list.replaceChildren(h('h2', { id: 'liste-titre' }, 'Liste des comptes'), table({
				caption: `Comptes du personnel (${rows.length})`,
				columns: [
					{ label: 'Nom du compte', value: (a) => a.name },
					{ label: 'Nom affiché', value: (a) => a.display_name || '—' },
					{ label: 'Rôle', value: (a) => roleLabel(a.role) },
					{ label: 'Collèges', value: (a) => (a.schools && a.schools.length ? a.schools.map((u) => schoolName(schools, u)).join(', ') : 'Tous') },
					{ label: 'E-mail', value: (a) => a.email || '—' },
					{ label: 'Mot de passe choisi', value: (a) => (a.password_set === undefined ? 'Inconnu' : yesNo(a.password_set)) },
					{ label: 'État', value: (a) => (a.disabled ? h('span', { class: 'etiquette etiquette-erreur' }, 'Désactivé') : h('span', { class: 'etiquette etiquette-ok' }, 'Actif')) },
					{ label: 'Dernière connexion', value: (a) => dateTime(a.last_signin_at) },
					{ label: 'Actions', value: (a) => h('button', { type: 'button', class: 'bouton secondaire', onclick: () => open(a.name) }, 'Gérer', h('span', { class: 'invisible' }, ` le compte ${a.name}`)) },
				],
				rows,
				empty: 'Aucun compte.',
			}));
		}

		async function reload(name, done) {
			rows = (await api.get('/api/v1/accounts')).accounts;
			draw();
			if (name) open(name, done);
		}

		draw();
		main.append(...heading('Comptes', 'Les comptes des techniciens, ATI, référents et auditeurs. Chacun choisit son mot de passe par un lien à usage unique.'),
			list, detail,
			h('section', { 'aria-labelledby': 'nouveau-titre' }, h('h2', { id: 'nouveau-titre' }, 'Nouveau compte'), createForm(schools, () => reload())));
	},
});
