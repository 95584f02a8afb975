// incidents.js - losses, thefts, damage and failures: the list (open and
// closed), declaring one, following one (an expanding row, or its own view
// /incidents?id=N) and closing it with its outcome.

import * as api from '../api.js';
import { route } from '../app.js';
import { actionForm, facts, field, filterForm, FormError, h, heading, href, link, notice, pagedTable, refusal, settle, tag } from '../dom.js';
import {
	date, dateTime, incidentKindLabel, incidentOutcomeLabel, INCIDENT_KINDS, nowInstant, parisInstant, parseDay,
	parseHour, stateLabel, today,
} from '../fmt.js';
import { schoolField, schoolName, schools } from '../scope.js';
import { findTablet, holderText, tabletLink } from './tablets.js';

const PAGE = 100;

const DECLARE_REFUSALS = [
	[null, /already has open incident #(\d+) \((\w+)\)/, (m) => `Cette tablette a déjà un incident ouvert (n° ${m[1]}, ${incidentKindLabel(m[2]).toLowerCase()}) : clôturez-le avant d’en déclarer un autre.`],
	[null, /is (\w+): no incident can be declared/, (m) => `Cette tablette est « ${stateLabel(m[1])} » : aucun incident ne peut être déclaré.`],
	[null, /occurred is in the future/, () => 'La date des faits est dans le futur.'],
	[null, /police complaint reference/, () => 'Un vol se déclare avec la référence du dépôt de plainte.'],
	[null, /changed meanwhile/, () => 'La tablette a changé entre-temps : réessayez.'],
	[404, /^no tablet/, () => 'Cette tablette n’est pas dans vos collèges.'],
];

const CLOSE_REFUSALS = [
	[null, /is already closed/, () => 'Cet incident est déjà clos.'],
	[null, /^outcome for a/, () => 'Cette issue ne convient pas à cette nature d’incident.'],
];

// The outcomes that close an incident of kind k.
function outcomes(k) {
	return k === 'loss' || k === 'theft'
		? [['found', 'Retrouvée : la tablette revient'], ['written_off', 'Perte définitive : la tablette est réformée']]
		: [['repaired', 'Réparée : la tablette revient'], ['written_off', 'Irréparable : la tablette est réformée']];
}

// When it happened: a day declared without an hour is its midnight (the
// server's, with its offset; UTC before), shown as the day alone.
function when(iso) {
	return /T00:00(:00)?(Z|[+-]\d{2}:?\d{2})$/.test(iso || '') ? date(iso.slice(0, 10)) : dateTime(iso);
}

function statusCell(i) {
	return i.status === 'open' ? tag('Ouvert', 'attention') : `Clos : ${incidentOutcomeLabel(i.outcome)}`;
}

function details(i, list) {
	return facts([
		['Tablette', tabletLink(i.device)],
		['Collège', schoolName(list, i.school)],
		['Nature', incidentKindLabel(i.kind)],
		['Survenu le', when(i.occurred)],
		['Déclaré le', [dateTime(i.declared), i.declared_by ? ` par ${i.declared_by}` : '', i.late ? [' ', tag('déclaré plus de 48 h après', 'attention')] : null]],
		['Élève ou enseignant', i.holder ? holderText(i.holder) : null],
		['Référence de la plainte', i.police_ref || null],
		['Note', i.note || null],
		['Statut', statusCell(i)],
		['Clos le', i.closed ? `${dateTime(i.closed)}${i.closed_by ? ` par ${i.closed_by}` : ''}` : null],
		['Note de clôture', i.close_note || null],
	]);
}

function closeForm(i, onDone) {
	return actionForm({
		label: `Clore l’incident n° ${i.id}`,
		fields: [
			field({ label: 'Issue', name: 'outcome', type: 'select', options: outcomes(i.kind), required: true }),
			field({ label: 'Note', name: 'note', type: 'textarea', hint: 'Facultatif : où elle a été retrouvée, la réparation faite…' }),
		],
		submit: 'Clore l’incident',
		async action(v) {
			let done;
			try {
				done = await api.post(`/api/v1/incidents/${i.id}/close`, { outcome: v.outcome, note: v.note || undefined });
			} catch (e) {
				throw refusal(e, CLOSE_REFUSALS);
			}
			return onDone(done, notice('ok', `Incident n° ${i.id} clos (${incidentOutcomeLabel(done.outcome)}).${done.device_state ? ` La tablette est maintenant « ${stateLabel(done.device_state)} ».` : ''}`));
		},
	});
}

// The body of an incident: its facts, and the closing form when it is open
// and the caller may close it.
function follow(i, list, may) {
	const box = h('div', {}, details(i, list));
	if (i.status === 'open' && may) {
		const form = closeForm(i, (done, said) => {
			const row = box.closest('tr');
			if (row) {
				row.classList.add('ligne-faite');
				row.querySelector('.statut').replaceChildren(statusCell(done));
			}
			box.firstChild.replaceWith(details(done, list));
			return settle(form, said);
		});
		box.append(form);
	}
	return box;
}

// The instant of the facts: a day, and an hour on Paris's clock or none.
function occurredAt(dayText, hourText) {
	const day = parseDay(dayText);
	if (!day) throw new FormError('La date des faits doit s’écrire JJ/MM/AAAA.');
	if (day > today()) throw new FormError('La date des faits est dans le futur.');
	if (hourText) {
		const hour = parseHour(hourText);
		if (!hour) throw new FormError('L’heure doit s’écrire HH:MM (par exemple 14:30).');
		return parisInstant(day, hour);
	}
	// today without an hour: now (the facts cannot be later than now)
	return day === today() ? nowInstant() : day;
}

function declareForm(onDone) {
	const form = actionForm({
		label: 'Déclarer un incident',
		fields: [
			field({ label: 'Tablette', name: 'device', required: true, hint: 'Numéro de série ou numéro d’inventaire.' }),
			field({ label: 'Nature', name: 'kind', type: 'select', required: true, options: Object.entries(INCIDENT_KINDS) }),
			field({ label: 'Date des faits', name: 'day', type: 'date', required: true, hint: 'JJ/MM/AAAA.' }),
			field({ label: 'Heure des faits', name: 'hour', hint: 'Facultatif, HH:MM (heure de Paris).' }),
			field({ label: 'Référence du dépôt de plainte', name: 'police_ref', hint: 'Obligatoire pour un vol.' }),
			field({ label: 'Note', name: 'note', type: 'textarea', hint: 'Ce qui s’est passé, en quelques mots.' }),
		],
		submit: 'Déclarer l’incident',
		async action(v) {
			if (!v.device) throw new FormError('Indiquez la tablette.');
			const occurred = occurredAt(v.day, v.hour);
			if (v.kind === 'theft' && !v.police_ref) throw new FormError('Un vol se déclare avec la référence du dépôt de plainte.');
			const serial = await findTablet(v.device);
			let i;
			try {
				i = await api.post('/api/v1/incidents', {
					device: serial, kind: v.kind, occurred, police_ref: v.police_ref || undefined, note: v.note || undefined,
				});
			} catch (e) {
				throw refusal(e, DECLARE_REFUSALS);
			}
			form.reset();
			onDone().catch(() => {}); // the list stays as it was; the incident is declared
			return h('div', {},
				notice('ok', `Incident n° ${i.id} déclaré (${incidentKindLabel(i.kind).toLowerCase()}) pour la tablette ${i.device}.`),
				i.late ? notice('info', 'Déclaré plus de 48 heures après les faits : il est signalé comme tardif.') : null,
				h('p', {}, link(href('/incidents', { id: i.id }), `Suivre l’incident n° ${i.id}`)));
		},
	});
	return form;
}

function filters(q, list, ctx) {
	return filterForm({
		label: 'Filtrer les incidents',
		fields: [
			field({ label: 'Incidents', name: 'etat', type: 'select', value: q.etat, options: [['', 'Ouverts et clos'], ['ouverts', 'Ouverts seulement']] }),
			list.length > 1 ? schoolField(list, q.ecole) : null,
		],
		go: ctx.go,
		to(v) {
			return href('/incidents', { etat: v.etat, ecole: v.ecole ?? q.ecole });
		},
	});
}

async function incidentList(box, q, list, may) {
	const fetchPage = async (after) => {
		const data = await api.get('/api/v1/incidents', { open: q.etat === 'ouverts' ? 1 : null, school: q.ecole, limit: PAGE, after });
		return { rows: (data.incidents || []), next: data.next };
	};
	const first = await fetchPage(null);
	box.replaceChildren(pagedTable({
		caption: q.etat === 'ouverts' ? 'Incidents ouverts' : 'Incidents ouverts et clos',
		columns: [
			{ label: 'Numéro', value: (i) => link(href('/incidents', { id: i.id }), `n° ${i.id}`) },
			{ label: 'Tablette', value: (i) => tabletLink(i.device) },
			list.length > 1 ? { label: 'Collège', value: (i) => schoolName(list, i.school) } : null,
			{ label: 'Nature', value: (i) => incidentKindLabel(i.kind) },
			{ label: 'Survenu le', value: (i) => when(i.occurred) },
			{ label: 'Statut', value: statusCell, class: 'statut' },
			{
				label: 'Suivi',
				value: (i) => h('details', { class: 'deplier' },
					h('summary', {}, i.status === 'open' && may ? 'Détails et clôture' : 'Détails', h('span', { class: 'invisible' }, ` de l’incident n° ${i.id}`)),
					follow(i, list, may)),
			},
		].filter(Boolean),
		rows: first.rows,
		empty: q.etat === 'ouverts' ? 'Aucun incident ouvert.' : 'Aucun incident déclaré.',
	}, first.next, fetchPage));
}

async function oneIncident(main, id, list, may) {
	let i;
	try {
		i = await api.get(`/api/v1/incidents/${encodeURIComponent(id)}`);
	} catch (e) {
		if (e.status !== 404) throw e;
		main.append(...heading(`Incident n° ${id}`), notice('erreur', 'Aucun incident de ce numéro dans vos collèges.'),
			h('p', {}, link('/incidents', 'Revenir à la liste des incidents')));
		return;
	}
	main.append(...heading(`Incident n° ${i.id}`, `${incidentKindLabel(i.kind)} de la tablette ${i.device}`),
		h('p', {}, link('/incidents', 'Revenir à la liste des incidents')),
		follow(i, list, may));
}

route('/incidents', {
	title: 'Incidents',
	nav: 'Incidents',
	may: 'read',
	async render(main, params, ctx) {
		const q = { etat: ctx.query.get('etat') || '', ecole: ctx.query.get('ecole') || '', id: ctx.query.get('id') || '' };
		const list = await schools(ctx.session);
		const may = !!ctx.session.may.incident;
		if (q.id) {
			await oneIncident(main, q.id, list, may);
			return;
		}
		const box = h('div', {});
		await incidentList(box, q, list, may);
		main.append(...heading('Incidents', may
			? 'Déclarer une perte, un vol, une casse ou une panne, suivre l’incident et le clore.'
			: 'Les pertes, vols, casses et pannes des tablettes de vos collèges.'));
		if (may) main.append(h('h2', {}, 'Déclarer un incident'), declareForm(() => incidentList(box, q, list, may)));
		main.append(h('h2', {}, 'Incidents déclarés'), filters(q, list, ctx), box);
	},
});
