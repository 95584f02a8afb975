// locate.js - /geolocalisation (technicians): the exceptional procedure.
// A request names a tablet, its ground (an open loss or theft incident, or
// the reference of a written request of the authorities) and why; a second
// technician approves or refuses it (the requester sees no such buttons:
// the server refuses a self-approval anyway); an approved request shows
// its positions (each read is recorded), asks for a new one, and is closed.

import * as api from '../api.js';
import { route } from '../app.js';
import { actionForm, errorNotice, field, FormError, h, heading, inFrench, notice, table } from '../dom.js';
import { dateTime, explain, incidentKindLabel, locateStateLabel } from '../fmt.js';

// The server's refusals of the procedure, in French.
const REFUSALS = [
	[404, /no tablet with serial (\S+)/, (m) => `Aucune tablette n’a le numéro de série ${m[1]}.`],
	[409, /incident (\d+) is not an open loss or theft/, (m) => `L’incident n° ${m[1]} n’est pas une perte ou un vol ouvert de cette tablette : la géolocalisation est refusée.`],
	[409, /needs an open loss\/theft incident/, () => 'La géolocalisation demande un incident de perte ou de vol ouvert, ou la référence d’une demande écrite des autorités.'],
	[400, /a reason is required/, () => 'Saisissez la justification : la géolocalisation est exceptionnelle.'],
	[403, /requester cannot approve/, () => 'Vous avez fait cette demande : un autre technicien doit l’approuver.'],
	[403, /issued by the requester/, () => 'Votre accès (jeton ou lien de mot de passe) a été créé par le demandeur : un autre technicien doit décider.'],
	[403, /less than 24 h ago/, () => 'Votre accès a été créé par un autre compte il y a moins de 24 heures : vous ne pouvez pas encore approuver une géolocalisation.'],
	[409, /not pending/, () => 'Cette demande a déjà été décidée : la page est mise à jour.'],
	[409, /no new location may be asked/, () => 'Cette demande n’est plus ouverte (délai dépassé ou close) : aucune nouvelle position ne peut être demandée.'],
	[409, /only an approved or expired request closes/, () => 'Seule une demande approuvée ou expirée peut être close.'],
];


// The approvers' reasons by request id, from the audit log (the register
// keeps only a refusal's).
export async function approvalReasons() {
	const out = new Map();
	let after = null;
	do {
		const page = await api.get('/api/v1/audit', { action: 'locate.approve', limit: 1000, after });
		for (const r of page.rows) if (r.detail && r.detail.request) out.set(r.detail.request, r.reason);
		after = page.next;
	} while (after);
	return out;
}

export function ground(r) {
	if (r.incident) return `Incident n° ${r.incident}`;
	if (r.authority_ref) return `Demande écrite des autorités : ${r.authority_ref}`;
	return '—';
}

// A request past its time box reads "expired" before the hourly job says so.
export function stateOf(r) {
	if (r.state === 'approved' && r.expires_at && Date.parse(r.expires_at) <= Date.now()) return 'Délai dépassé';
	return locateStateLabel(r.state);
}

function facts(r, reasons, schools) {
	const school = schools.find((s) => s.uai === r.school);
	const rows = [
		['Tablette', r.serial],
		['Collège', school ? `${school.name} (${r.school})` : r.school || '—'],
		['Fondement', ground(r)],
		['Justification', r.reason],
		['Demandée par', `${r.requested_by}, le ${dateTime(r.requested_at)}`],
	];
	if (r.decided_by) {
		const why = r.state === 'denied' ? r.deny_reason : reasons.get(r.id);
		rows.push([r.state === 'denied' ? 'Refusée par' : 'Approuvée par', `${r.decided_by}, le ${dateTime(r.decided_at)}`]);
		if (why) rows.push(['Motif de la décision', why]);
	}
	if (r.expires_at) rows.push(['Fin du délai', dateTime(r.expires_at)]);
	rows.push(['Positions reçues', String(r.fixes ?? 0)], ['Consultations', String(r.reads ?? 0)]);
	return h('dl', { class: 'fiche' }, rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function decision(r, session, done) {
	if (r.requested_by === session.name) {
		return notice('info', 'Vous avez fait cette demande : un autre technicien doit l’approuver ou la refuser.');
	}
	const form = actionForm({
		label: `Décision sur la demande n° ${r.id}`,
		fields: [field({ label: 'Motif de la décision', name: 'reason', type: 'textarea', required: true, hint: 'Gardé dans le journal (et dans le registre pour un refus).' })],
		submit: 'Approuver',
		async action(v, f) {
			if (!v.reason) throw new FormError('Saisissez le motif de votre décision.');
			const deny = f.dataset.choix === 'refuser';
			await inFrench(() => api.post(`/api/v1/locate/${r.id}/${deny ? 'deny' : 'approve'}`, { reason: v.reason }), REFUSALS);
			await done(deny ? `Demande n° ${r.id} refusée.` : `Demande n° ${r.id} approuvée : la tablette passe en mode perdu et envoie sa position.`);
			return null;
		},
	});
	// two buttons, one form: the one pressed says which decision
	const approve = form.querySelector('button[type=submit]');
	const deny = h('button', { type: 'submit', class: 'bouton danger' }, 'Refuser');
	approve.after(deny);
	approve.addEventListener('click', () => { form.dataset.choix = 'approuver'; });
	deny.addEventListener('click', () => { form.dataset.choix = 'refuser'; });
	return form;
}

function positionsTable(locations) {
	return table({
		caption: `Positions (${locations.length})`,
		columns: [
			{ label: 'Reçue le', value: (p) => dateTime(p.received_at) },
			{ label: 'Latitude', value: (p) => p.latitude.toFixed(5), class: 'nombre' },
			{ label: 'Longitude', value: (p) => p.longitude.toFixed(5), class: 'nombre' },
			{ label: 'Précision', value: (p) => `${Math.round(p.horizontal_accuracy)} m`, class: 'nombre' },
			{ label: 'Mesurée le', value: (p) => (p.timestamp ? dateTime(p.timestamp) : '—') },
		],
		rows: locations,
		empty: 'Aucune position reçue pour l’instant : la tablette l’enverra à sa prochaine connexion.',
	});
}

function approvedTools(r, done) {
	const shown = h('div', { 'aria-live': 'polite' });
	const open = r.state === 'approved' && stateOf(r) !== 'Délai dépassé';
	const see = h('button', { type: 'button', class: 'bouton secondaire' }, 'Voir les positions');
	see.addEventListener('click', async () => {
		see.disabled = true;
		try {
			const full = await api.get(`/api/v1/locate/${r.id}`);
			shown.replaceChildren(notice('info', 'Cette consultation est enregistrée dans le registre.'), positionsTable(full.locations || []));
		} catch (e) {
			shown.replaceChildren(errorNotice(e, explain(e, REFUSALS)));
		} finally {
			see.disabled = false;
		}
	});
	const more = h('button', { type: 'button', class: 'bouton secondaire' }, 'Demander une nouvelle position');
	more.addEventListener('click', async () => {
		more.disabled = true;
		try {
			await api.post(`/api/v1/locate/${r.id}/refresh`, {});
			shown.replaceChildren(notice('ok', 'Nouvelle position demandée : elle arrivera quand la tablette se connectera. Affichez les positions pour la voir.'));
		} catch (e) {
			shown.replaceChildren(errorNotice(e, explain(e, REFUSALS)));
		} finally {
			more.disabled = false;
		}
	});
	const close = actionForm({
		label: `Clore la demande n° ${r.id}`,
		fields: [field({
			label: 'Issue', name: 'outcome', type: 'select', required: true,
			options: [['found', 'Tablette retrouvée (le mode perdu est levé)'], ['not_found', 'Tablette non retrouvée']],
		})],
		submit: 'Clore',
		async action(v) {
			await inFrench(() => api.post(`/api/v1/locate/${r.id}/close`, { outcome: v.outcome }), REFUSALS);
			await done(`Demande n° ${r.id} close.`);
			return null;
		},
	});
	return [h('div', { class: 'actions' }, see, open ? more : null), shown, close];
}

function requestForm(incidents, done) {
	return actionForm({
		label: 'Nouvelle demande de géolocalisation',
		fields: [
			field({ label: 'Tablette (numéro de série)', name: 'serial', required: true }),
			field({
				label: 'Incident de perte ou de vol ouvert', name: 'incident', type: 'select',
				hint: 'Le fondement de la demande ; sans incident, donnez la référence d’une demande écrite des autorités.',
				options: [['', '— aucun —'], ...incidents.map((i) => [String(i.id), `n° ${i.id} — ${incidentKindLabel(i.kind)} de ${i.device}${i.police_ref ? `, plainte ${i.police_ref}` : ''}`])],
			}),
			field({ label: 'Référence de la demande écrite des autorités', name: 'authority_ref', hint: 'Par exemple le numéro de la réquisition.' }),
			field({ label: 'Justification', name: 'reason', type: 'textarea', required: true, hint: 'Pourquoi cette géolocalisation est nécessaire : elle est exceptionnelle et inscrite au registre.' }),
		],
		submit: 'Demander la géolocalisation',
		async action(v, form) {
			if (!v.serial) throw new FormError('Saisissez le numéro de série de la tablette.');
			if (!v.incident && !v.authority_ref) throw new FormError('Choisissez l’incident de perte ou de vol, ou donnez la référence de la demande des autorités.');
			if (!v.reason) throw new FormError('Saisissez la justification.');
			const body = { serial: v.serial.toUpperCase(), reason: v.reason };
			if (v.incident) body.incident = Number(v.incident);
			else body.authority_ref = v.authority_ref;
			const made = await inFrench(() => api.post('/api/v1/locate', body), REFUSALS);
			form.reset();
			await done(made.state === 'pending'
				? `Demande n° ${made.id} enregistrée : un autre technicien doit l’approuver.`
				: `Demande n° ${made.id} enregistrée et approuvée.`);
			return null;
		},
	});
}

route('/geolocalisation', {
	title: 'Géolocalisation',
	may: 'locate',
	nav: 'Géolocalisation',
	async render(main, params, ctx) {
		const { session } = ctx;
		const said = h('div', { 'aria-live': 'polite' });
		const body = h('div');

		async function draw(message) {
			const [requests, reasons, inc, { schools }] = await Promise.all([
				api.get('/api/v1/locate'), approvalReasons(), api.get('/api/v1/incidents', { open: 1, limit: 1000 }),
				api.get('/api/v1/schools'),
			]);
			const incidents = (inc.incidents || []).filter((i) => i.kind === 'loss' || i.kind === 'theft');
			const pending = requests.filter((r) => r.state === 'pending');
			const approved = requests.filter((r) => r.state === 'approved');
			const past = requests.filter((r) => r.state !== 'pending' && r.state !== 'approved');
			const card = (r, tools) => h('article', { class: 'carte demande', 'aria-labelledby': `demande-${r.id}` },
				h('h3', { id: `demande-${r.id}` }, `Demande n° ${r.id} — ${r.serial} — ${stateOf(r)}`), facts(r, reasons, schools), tools);
			body.replaceChildren(
				h('h2', {}, `En attente d’approbation (${pending.length})`),
				...(pending.length ? pending.map((r) => card(r, decision(r, session, draw))) : [h('p', { class: 'vide' }, 'Aucune demande en attente.')]),
				h('h2', {}, `Approuvées (${approved.length})`),
				...(approved.length ? approved.map((r) => card(r, approvedTools(r, draw))) : [h('p', { class: 'vide' }, 'Aucune géolocalisation en cours.')]),
				h('h2', {}, 'Nouvelle demande'),
				h('section', { class: 'carte' }, requestForm(incidents, draw)),
				h('h2', {}, 'Demandes passées'),
				table({
					caption: `Demandes refusées, closes ou expirées (${past.length})`,
					columns: [
						{ label: 'N°', value: (r) => String(r.id) },
						{ label: 'Tablette', value: (r) => r.serial },
						{ label: 'État', value: (r) => stateOf(r) + (r.outcome ? ` (${r.outcome === 'found' ? 'retrouvée' : 'non retrouvée'})` : '') },
						{ label: 'Demandée', value: (r) => `${dateTime(r.requested_at)} par ${r.requested_by}` },
						{ label: 'Décision', value: (r) => (r.decided_by ? `${dateTime(r.decided_at)} par ${r.decided_by}` : '—') },
						{ label: 'Motif de la décision', value: (r) => (r.state === 'denied' ? r.deny_reason : reasons.get(r.id)) || '—' },
					],
					rows: past,
					empty: 'Aucune demande passée.',
				}));
			said.replaceChildren(message ? notice('ok', message) : '');
			if (message) said.setAttribute('tabindex', '-1');
			if (message) said.focus();
		}

		await draw();
		main.append(...heading('Géolocalisation',
			'Procédure exceptionnelle : seulement pour une tablette dont la perte ou le vol est déclaré, ou sur demande écrite des autorités. Chaque demande, décision et consultation est inscrite au registre.'),
		said, body);
	},
});
