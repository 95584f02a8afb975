// tablet.js - a tablet's page: what it reported, its policy, its loans and
// incidents within the caller's collèges, its recent commands; for those
// who may act on it, the lock-code reset and the lock, whose result shows
// up when the tablet answers (polled every 2 s, for 5 minutes at most).

import * as api from '../api.js';
import { route } from '../app.js';
import { actionForm, facts, field, FormError, h, heading, link, notice, refusal, table, tag } from '../dom.js';
import {
	commandStatusLabel, commandTypeLabel, conditionLabel, date, dateTime, enrollmentLabel, errorText,
	incidentKindLabel, incidentOutcomeLabel, loanStateLabel, policyStateLabel, stateLabel, yesNo,
} from '../fmt.js';
import { schoolName, schools } from '../scope.js';
import { flagText } from './loans.js';
import { holderText } from './tablets.js';

const POLL_MS = 2000;
const POLL_FOR_MS = 5 * 60 * 1000;
const DONE = new Set(['acknowledged', 'error', 'format_error', 'expired', 'canceled']);

const UNKNOWN = 'Non communiqué';

function known(v, show) {
	return v === null || v === undefined || v === '' ? UNKNOWN : show(v);
}

function gigas(n) {
	return `${new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 }).format(n)} Go`;
}

// What the tablet last reported of itself (the answer's `inventory`).
function storage(inv) {
	if (inv.capacity_gb === null || inv.capacity_gb === undefined) return UNKNOWN;
	const free = inv.available_gb === null || inv.available_gb === undefined ? '' : `${gigas(inv.available_gb)} libres sur `;
	return `${free}${gigas(inv.capacity_gb)}`;
}

function reported(inv) {
	return [
		['Batterie', known(inv.battery, (x) => `${Math.round(x <= 1 ? x * 100 : x)} %`)],
		['Stockage', storage(inv)],
		['Supervisée', known(inv.supervised, yesNo)],
		['Mode perdu', known(inv.lost_mode, (v) => (v ? tag('Activé', 'attention') : 'Désactivé'))],
		['Code de verrouillage', known(inv.passcode_present, (v) => (v ? 'Défini' : 'Aucun'))],
		['Informations relevées le', inv.inventory_at ? dateTime(inv.inventory_at) : null],
	];
}

function identity(d, list) {
	const inv = d.inventory || {};
	return facts([
		['Numéro de série', d.serial || '—'],
		['Numéro d’inventaire', d.asset_tag || '—'],
		['Modèle', [d.product_name, d.model].filter(Boolean).join(' — ') || '—'],
		// the model typed at import, when the tablet says otherwise (or nothing yet)
		['Modèle déclaré à l’import', d.model_declared && d.model_declared !== d.model ? d.model_declared : null],
		['Nom sur la tablette', d.device_name || null],
		['Version d’iPadOS', d.os_version ? `${d.os_version}${inv.build_version ? ` (${inv.build_version})` : ''}` : 'Non communiquée'],
		['Dernier contact', dateTime(d.last_seen)],
		...reported(inv),
		['Inscription à la gestion', `${enrollmentLabel(d.enrollment)}${inv.enrolled_at ? ` le ${date(inv.enrolled_at)}` : ''}`],
		['État', stateLabel(d.state)],
		['Collège', schoolName(list, d.school)],
		['Élève ou enseignant', holderText(d.holder)],
	]);
}

// The refusals of a lock-code reset or a lock, in French.
const ACTION_REFUSALS = [
	[409, /UnlockToken/, () => 'Cette tablette n’a pas terminé son inscription ou n’est pas supervisée : son code ne peut pas être réinitialisé à distance.'],
	[404, /^no tablet/, () => 'Cette tablette n’est pas inscrite à la gestion, ou n’est pas dans vos collèges.'],
];

// Follows command uuid in region until the tablet answers, the page is
// left, or 5 minutes have passed.
function follow(region, cmd) {
	const what = commandTypeLabel(cmd.type);
	const started = Date.now();
	let last = '';
	const say = (text, kind) => {
		if (text === last) return;
		last = text;
		// the region itself is live: its message carries no role of its own
		region.replaceChildren(h('p', { class: `notice notice-${kind}` }, text));
	};
	const show = (c) => {
		const status = commandStatusLabel(c.status);
		if (c.status === 'acknowledged') say(`${what} : ${status}. La tablette a répondu le ${dateTime(c.done_at)}.`, 'ok');
		else if (c.status === 'error' || c.status === 'format_error') say(`${what} : ${status}${c.error ? ` — ${c.error}` : ''}.`, 'erreur');
		else if (c.status === 'queued') say(`${what} : ${status}. La tablette la recevra à sa prochaine connexion.`, 'info');
		else say(`${what} : ${status}.`, 'info');
	};
	show(cmd);
	const tick = async () => {
		if (!region.isConnected) return;
		if (Date.now() - started > POLL_FOR_MS) {
			region.append(h('p', { class: 'aide' },
				'La page a cessé de vérifier après 5 minutes : la commande reste en file et la tablette la recevra à sa prochaine connexion. Rechargez la page pour voir son état.'));
			return;
		}
		let c;
		try {
			c = await api.get(`/api/v1/commands/${encodeURIComponent(cmd.uuid)}`);
		} catch (e) {
			if (e.status === 401 || e.status === 403 || e.status === 404) {
				say(errorText(e), 'erreur');
				return;
			}
			c = null; // a passing failure: try again
		}
		if (c) show(c);
		if (!c || !DONE.has(c.status)) setTimeout(tick, POLL_MS);
	};
	setTimeout(tick, POLL_MS);
}

function actions(d, serial) {
	const region = h('div', { class: 'resultat', 'aria-live': 'polite', 'aria-atomic': 'true' });
	const send = async (path, body) => {
		let cmd;
		try {
			cmd = await api.post(`/api/v1/devices/${encodeURIComponent(serial)}/${path}`, body);
		} catch (e) {
			throw refusal(e, ACTION_REFUSALS);
		}
		follow(region, cmd);
		return null;
	};
	const reset = actionForm({
		label: 'Réinitialiser le code',
		fields: [
			h('p', { class: 'aide' }, 'Le code de verrouillage de la tablette est retiré : l’élève en choisira un nouveau. Aucun code n’est lu ni conservé.'),
			field({ label: 'Motif', name: 'reason', required: true, hint: 'Inscrit au journal. Par exemple : code oublié, élève de 5B.' }),
		],
		submit: 'Réinitialiser le code',
		action: async (v) => {
			if (!v.reason) throw new FormError('Indiquez le motif de la réinitialisation.');
			return send('clear-passcode', { reason: v.reason });
		},
	});
	const lock = actionForm({
		label: 'Verrouiller',
		fields: [
			field({ label: 'Motif', name: 'reason', required: true, hint: 'Inscrit au journal.' }),
			field({ label: 'Message affiché sur l’écran verrouillé', name: 'message', type: 'textarea', hint: 'Facultatif.' }),
			field({ label: 'Numéro de téléphone affiché', name: 'phone', type: 'tel', hint: 'Facultatif : à appeler si la tablette est trouvée.' }),
		],
		submit: 'Verrouiller la tablette',
		action: async (v) => {
			if (!v.reason) throw new FormError('Indiquez le motif du verrouillage.');
			return send('lock', { reason: v.reason, message: v.message || undefined, phone: v.phone || undefined });
		},
	});
	return [
		h('h2', {}, 'Actions'),
		h('div', { class: 'colonnes' },
			h('section', { class: 'carte', 'aria-labelledby': 'titre-code' }, h('h3', { id: 'titre-code' }, 'Réinitialiser le code'), reset),
			h('section', { class: 'carte', 'aria-labelledby': 'titre-verrou' }, h('h3', { id: 'titre-verrou' }, 'Verrouiller'), lock)),
		h('h3', {}, 'Résultat de la dernière action'),
		region,
	];
}

function policyItems(p) {
	if (!p) return [];
	return Array.isArray(p) ? p : p.items || [];
}

function policySection(items, error) {
	return [
		h('h2', {}, 'Configuration'),
		error ? notice('erreur', error) : table({
			caption: 'Profils et applications attendus sur la tablette',
			columns: [
				{ label: 'Élément', value: (i) => i.name || i.identifier || i.item },
				{ label: 'Type', value: (i) => (i.kind === 'app' ? 'Application' : i.kind === 'profile' ? 'Profil' : i.kind || '—') },
				{ label: 'État', value: (i) => [policyStateLabel(i.state), i.error ? ` — ${i.error}` : ''] },
			],
			rows: items,
			empty: 'Aucun profil ni application n’est attendu sur cette tablette.',
		}),
	];
}

function loansSection(loans) {
	return [
		h('h2', {}, 'Prêts'),
		table({
			caption: 'Prêts de la tablette dans vos collèges',
			columns: [
				{ label: 'Début', value: (l) => date(l.started) },
				{ label: 'Élève ou enseignant', value: (l) => `${l.name}${l.class ? ` (${l.class})` : ''}` },
				{ label: 'Usage', value: (l) => [l.home_use ? 'À la maison et au collège' : 'Au collège seulement', flagText(l)] },
				{ label: 'Retour prévu', value: (l) => date(l.due) },
				{ label: 'État', value: (l) => (l.overdue ? tag('En retard', 'attention') : l.state === 'open' && l.deposited ? `Déposée au collège depuis le ${date(l.deposited)}` : loanStateLabel(l.state)) },
				{ label: 'Restituée le', value: (l) => (l.returned ? `${date(l.returned)} (${conditionLabel(l.condition)})` : '—') },
				{ label: 'Documents', value: (l) => [link(`/documents/accord/${l.id}`, 'Accord'), ' ', l.returned ? link(`/documents/recu/${l.id}`, 'Reçu') : null] },
			],
			rows: (loans || []).slice().reverse(),
			empty: 'Aucun prêt de cette tablette dans vos collèges.',
		}),
	];
}

function incidentsSection(incidents) {
	return [
		h('h2', {}, 'Incidents'),
		table({
			caption: 'Incidents de la tablette dans vos collèges',
			columns: [
				{ label: 'Numéro', value: (i) => link(`/incidents?id=${i.id}`, `n° ${i.id}`) },
				{ label: 'Nature', value: (i) => incidentKindLabel(i.kind) },
				{ label: 'Survenu le', value: (i) => dateTime(i.occurred) },
				{ label: 'Statut', value: (i) => (i.status === 'open' ? tag('Ouvert', 'attention') : `Clos : ${incidentOutcomeLabel(i.outcome)}`) },
			],
			rows: (incidents || []).slice().reverse(),
			empty: 'Aucun incident déclaré pour cette tablette dans vos collèges.',
		}),
	];
}

function commandsSection(commands) {
	return [
		h('h2', {}, 'Commandes récentes'),
		table({
			caption: 'Dernières commandes envoyées à la tablette',
			columns: [
				{ label: 'Commande', value: (c) => commandTypeLabel(c.type) },
				{ label: 'Demandée le', value: (c) => dateTime(c.created_at || c.when) },
				{ label: 'Par', value: (c) => (!c.created_by || c.created_by === 'system' ? 'Ardoise (automatique)' : c.created_by) },
				{ label: 'Statut', value: (c) => [commandStatusLabel(c.status), c.error ? ` — ${c.error}` : ''] },
				{ label: 'Terminée le', value: (c) => dateTime(c.done_at) },
			],
			rows: commands,
			empty: 'Aucune commande récente.',
		}),
	];
}

route('/tablettes/:serial', {
	title: ({ serial }) => `Tablette ${serial}`,
	may: 'read',
	async render(main, { serial }, ctx) {
		let d;
		try {
			d = await api.get(`/api/v1/devices/${encodeURIComponent(serial)}`);
		} catch (e) {
			if (e.status !== 404) throw e;
			main.append(...heading(`Tablette ${serial}`),
				notice('erreur', 'Aucune tablette de ce numéro dans vos collèges.'),
				h('p', {}, link('/tablettes', 'Revenir à la liste des tablettes')));
			return;
		}
		const list = await schools(ctx.session);
		let items = policyItems(d.policies);
		let policyError = null;
		if (!d.policies) {
			try {
				items = policyItems(await api.get(`/api/v1/policy/devices/${encodeURIComponent(d.serial || serial)}`));
			} catch (e) {
				// a tablet never enrolled has no policy state yet
				if (e.status === 404) items = [];
				else policyError = errorText(e);
			}
		}
		// the full rows (who, when done, the error) when the answer has them
		const commands = (d.commands || d.recent_commands || []).slice(0, 10);
		main.append(...heading(`Tablette ${d.serial || serial}`,
			[d.model, d.asset_tag ? `inventaire ${d.asset_tag}` : null].filter(Boolean).join(', ')),
			h('p', {}, link('/tablettes', 'Revenir à la liste des tablettes')),
			identity(d, list),
			...(ctx.session.may.device_action ? actions(d, d.serial || serial) : []),
			...policySection(items, policyError),
			...loansSection(d.loans),
			...incidentsSection(d.incidents),
			...commandsSection(commands));
	},
});
