// register.js - /registre (auditor, technicians): the geolocation register,
// read only: every request, who asked and why, who decided and why, when,
// how many positions were taken and read, and until when they are kept.

import * as api from '../api.js';
import { route } from '../app.js';
import { field, h, heading, notice, table } from '../dom.js';
import { count, dateTime, parisDayBound, parseDay } from '../fmt.js';
import { approvalReasons, ground, stateOf } from './locate.js';

function decision(r, reasons) {
	if (!r.decided_by) return 'Pas encore décidée';
	const why = r.state === 'denied' ? r.deny_reason : reasons.get(r.id);
	return [`${r.state === 'denied' ? 'Refusée' : 'Approuvée'} par ${r.decided_by} le ${dateTime(r.decided_at)}`,
		why ? h('br') : null, why ? `Motif : ${why}` : null];
}

function end(r) {
	if (r.closed_at) return `Close le ${dateTime(r.closed_at)}${r.outcome ? ` (${r.outcome === 'found' ? 'tablette retrouvée' : 'non retrouvée'})` : ''}`;
	if (r.expires_at) return `Délai jusqu’au ${dateTime(r.expires_at)}`;
	return '—';
}

function kept(r) {
	const n = `${count(r.fixes)} position(s)`;
	if (r.purged_at) return `${n}, effacée(s) le ${dateTime(r.purged_at)}`;
	if (r.purge_after) return `${n}, conservée(s) jusqu’au ${dateTime(r.purge_after)}`;
	if (!r.fixes) return 'Aucune position';
	return `${n}, conservée(s) jusqu’à la fin de la procédure puis pendant la durée prévue`;
}

route('/registre', {
	title: 'Registre des géolocalisations',
	may: 'audit',
	nav: 'Registre',
	async render(main, params, ctx) {
		main.append(...heading('Registre des géolocalisations',
			'Toutes les demandes de géolocalisation, en lecture seule : qui a demandé, pourquoi, qui a décidé, quand, et combien de temps les positions sont gardées.'));
		const since = ctx.query.get('depuis') || '';
		const form = h('form', { class: 'formulaire enligne', 'aria-label': 'Période du registre', novalidate: true },
			field({ label: 'Demandes faites depuis le', name: 'depuis', type: 'date', value: since }),
			h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'bouton' }, 'Afficher')));
		form.addEventListener('submit', (ev) => {
			ev.preventDefault();
			const v = form.elements.depuis.value.trim();
			ctx.go(v ? `/registre?depuis=${encodeURIComponent(v)}` : '/registre');
		});
		main.append(form);
		let query = null;
		if (since) {
			const day = parseDay(since);
			if (!day) {
				main.append(notice('erreur', `La date « ${since} » n’est pas une date JJ/MM/AAAA.`));
				return;
			}
			query = { since: Math.floor(Date.parse(parisDayBound(day)) / 1000) };
		}
		const [requests, reasons, schools] = await Promise.all([api.get('/api/v1/locate', query), approvalReasons(),
			ctx.session.may.read ? api.get('/api/v1/schools').then((x) => x.schools) : []]);
		const schoolOf = (uai) => {
			const s = schools.find((x) => x.uai === uai);
			return s ? `${s.name} (${uai})` : `collège ${uai}`;
		};
		main.append(notice('info', 'Votre consultation du registre est elle-même inscrite au journal.'),
			table({
				caption: `Demandes de géolocalisation (${count(requests.length)})`,
				columns: [
					{ label: 'N°', value: (r) => String(r.id), class: 'nombre' },
					{ label: 'Tablette', value: (r) => [r.serial, r.school ? h('br') : null, r.school ? schoolOf(r.school) : null] },
					{ label: 'Demande', value: (r) => `${r.requested_by}, le ${dateTime(r.requested_at)}` },
					{ label: 'Fondement', value: (r) => ground(r) },
					{ label: 'Justification', value: (r) => r.reason },
					{ label: 'État', value: (r) => stateOf(r) },
					{ label: 'Décision', value: (r) => decision(r, reasons) },
					{ label: 'Fin', value: (r) => end(r) },
					{ label: 'Positions', value: (r) => kept(r) },
					{ label: 'Consultations', value: (r) => String(r.reads ?? 0), class: 'nombre' },
				],
				rows: requests,
				empty: 'Aucune demande de géolocalisation.',
			}));
	},
});
