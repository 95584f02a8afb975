// incidents.js - losses, thefts, damage and failures: the list (open and
// closed), declaring one (when the family told the collège, a damage's
// cost), following one (an expanding row, or its own view /incidents?id=N),
// adding a theft's police complaint, and closing it with its outcome.

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
	[null, /reported is in the future/, () => 'La date du signalement est dans le futur.'],
	[null, /reported is before the event/, () => 'Le signalement ne peut pas précéder les faits.'],
	[null, /^cost: /, () => 'Le coût s’écrit en euros, de 0 à 100 000, avec au plus deux décimales (par exemple 45,50).'],
	[null, /cost and reimburse are for a damage/, () => 'Le coût et le remboursement ne concernent qu’une casse.'],
	[null, /changed meanwhile/, () => 'La tablette a changé entre-temps : réessayez.'],
	[404, /^no tablet/, () => 'Cette tablette n’est pas dans vos collèges.'],
];

const COMPLAINT_REFUSALS = [
	[null, /complaint_date is in the future/, () => 'La date de la plainte est dans le futur.'],
	[null, /complaint_date is before the event/, () => 'La plainte ne peut pas précéder les faits.'],
	[404, /./, () => 'Cet incident n’est pas dans vos collèges.'],
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

// A cost in cents as '45,50 €'.
function euros(cents) {
	return `${Math.floor(cents / 100)},${String(cents % 100).padStart(2, '0')} €`;
}

// The nature, with what a theft still lacks.
function kindCell(i) {
	if (!i.complaint_missing) return incidentKindLabel(i.kind);
	return [incidentKindLabel(i.kind), ' ', tag(i.complaint_overdue ? 'plainte manquante depuis plus de 48 h' : 'plainte manquante', 'attention')];
}

// The police complaint: missing, or its reference and day.
function complaint(i) {
	if (i.complaint_missing) {
		const lacks = [!i.police_ref ? 'la référence' : null, !i.complaint_date ? 'la date' : null].filter(Boolean).join(' et ');
		return [tag('plainte manquante', 'attention'), ` : ${lacks} du dépôt de plainte${i.complaint_overdue ? ', plus de 48 h après le signalement' : ''}.`];
	}
	if (!i.police_ref) return null;
	return i.complaint_date ? `${i.police_ref}, déposée le ${date(i.complaint_date)}` : i.police_ref;
}

function details(i, list) {
	return facts([
		['Tablette', tabletLink(i.device)],
		['Collège', schoolName(list, i.school)],
		['Nature', incidentKindLabel(i.kind)],
		['Survenu le', when(i.occurred)],
		['Signalé au collège le', i.reported ? [dateTime(i.reported), i.late ? [' ', tag('signalé plus de 48 h après', 'attention')] : null] : null],
		['Déclaré le', [dateTime(i.declared), i.declared_by ? ` par ${i.declared_by}` : '', i.late && !i.reported ? [' ', tag('déclaré plus de 48 h après', 'attention')] : null]],
		['Élève ou enseignant', i.holder ? holderText(i.holder) : null],
		['Plainte', complaint(i)],
		['Coût', i.cost_cents !== null && i.cost_cents !== undefined ? euros(i.cost_cents) : null],
		['Remboursement', i.reimburse ? 'demandé à la famille' : null],
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
			const geo = (done.geolocation || []).map((g) => ` La demande de géolocalisation n° ${g.id} est ${g.state === 'denied' ? 'refusée' : 'close'}.`).join('');
			const lost = done.lost_mode === 'ending' ? ' Le mode perdu prendra fin à la prochaine connexion de la tablette.'
				: done.lost_mode === 'on' ? ' Le mode perdu reste actif : il ne peut pas être levé à distance pour l’instant.' : '';
			return onDone(done, notice('ok', `Incident n° ${i.id} clos (${incidentOutcomeLabel(done.outcome)}).${done.device_state ? ` La tablette est maintenant « ${stateLabel(done.device_state)} ».` : ''}${geo}${lost}`));
		},
	});
}

// A theft's police complaint, added once the family has filed it.
function complaintForm(i, onDone) {
	return actionForm({
		label: `Compléter la plainte de l’incident n° ${i.id}`,
		fields: [
			field({ label: 'Référence du dépôt de plainte', name: 'police_ref', value: i.police_ref || '', required: true }),
			field({ label: 'Date de la plainte', name: 'day', type: 'date', required: true, hint: 'JJ/MM/AAAA.' }),
		],
		submit: 'Enregistrer la plainte',
		async action(v) {
			if (!v.police_ref) throw new FormError('Indiquez la référence du dépôt de plainte.');
			const day = parseDay(v.day);
			if (!day) throw new FormError('La date de la plainte doit s’écrire JJ/MM/AAAA.');
			let done;
			try {
				done = await api.post(`/api/v1/incidents/${i.id}/update`, { police_ref: v.police_ref, complaint_date: day });
			} catch (e) {
				throw refusal(e, COMPLAINT_REFUSALS);
			}
			return onDone(done, notice('ok', `Plainte enregistrée pour l’incident n° ${i.id}.`));
		},
	});
}

// The body of an incident: its facts, the complaint form while a theft
// lacks it, and the closing form when it is open and the caller may close
// it.
function follow(i, list, may) {
	const box = h('div', {}, details(i, list));
	if (i.complaint_missing && may) {
		const part = h('div', {}, h('p', { class: 'aide' }, 'Dès que la famille a porté plainte, indiquez la référence et la date du dépôt de plainte.'));
		part.append(complaintForm(i, (done, said) => {
			box.firstChild.replaceWith(details(done, list));
			const cell = box.closest('tr')?.querySelector('.nature');
			if (cell) cell.replaceChildren(...[kindCell(done)].flat());
			return settle(part, said);
		}));
		box.append(part);
	}
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

// The instant of the facts (or of the report, what: 'du signalement'): a
// day, and an hour on Paris's clock or none.
function occurredAt(dayText, hourText, what = 'des faits') {
	const day = parseDay(dayText);
	if (!day) throw new FormError(`La date ${what} doit s’écrire JJ/MM/AAAA.`);
	if (day > today()) throw new FormError(`La date ${what} est dans le futur.`);
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
			field({ label: 'Date du signalement', name: 'rday', type: 'date', hint: 'Quand la famille a prévenu le collège, JJ/MM/AAAA. Facultatif : maintenant. Plus de 48 h après les faits, l’incident est signalé comme tardif.' }),
			field({ label: 'Heure du signalement', name: 'rhour', hint: 'Facultatif, HH:MM (heure de Paris).' }),
			field({ label: 'Référence du dépôt de plainte', name: 'police_ref', hint: 'Pour un vol. Sans elle, l’incident est marqué « plainte manquante » jusqu’à ce qu’elle soit ajoutée.' }),
			field({ label: 'Date de la plainte', name: 'cday', type: 'date', hint: 'Facultatif, JJ/MM/AAAA.' }),
			field({ label: 'Coût de la casse', name: 'cost', hint: 'Facultatif, en euros (par exemple 45,50).' }),
			field({ label: 'Remboursement demandé à la famille', name: 'reimburse', type: 'checkbox', hint: 'Pour une casse, comme la convention le permet.' }),
			field({ label: 'Note', name: 'note', type: 'textarea', hint: 'Ce qui s’est passé, en quelques mots.' }),
		],
		submit: 'Déclarer l’incident',
		async action(v) {
			if (!v.device) throw new FormError('Indiquez la tablette.');
			const occurred = occurredAt(v.day, v.hour);
			const reported = v.rday || v.rhour ? occurredAt(v.rday || today(), v.rhour, 'du signalement') : undefined;
			const complaintDay = v.cday ? parseDay(v.cday) : undefined;
			if (complaintDay === null) throw new FormError('La date de la plainte doit s’écrire JJ/MM/AAAA.');
			if ((v.cost || v.reimburse) && v.kind !== 'damage') throw new FormError('Le coût et le remboursement ne concernent qu’une casse.');
			const serial = await findTablet(v.device);
			let i;
			try {
				i = await api.post('/api/v1/incidents', {
					device: serial, kind: v.kind, occurred, reported, police_ref: v.police_ref || undefined,
					complaint_date: complaintDay, cost: v.cost || undefined, reimburse: v.reimburse || undefined, note: v.note || undefined,
				});
			} catch (e) {
				throw refusal(e, DECLARE_REFUSALS);
			}
			form.reset();
			onDone().catch(() => {}); // the list stays as it was; the incident is declared
			return h('div', {},
				notice('ok', `Incident n° ${i.id} déclaré (${incidentKindLabel(i.kind).toLowerCase()}) pour la tablette ${i.device}.`),
				i.late ? notice('info', 'Signalé au collège plus de 48 heures après les faits : il est marqué comme tardif.') : null,
				i.complaint_missing ? notice('info', 'Plainte manquante : ajoutez la référence et la date du dépôt de plainte dès que la famille les transmet.') : null,
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
			{ label: 'Nature', value: kindCell, class: 'nature' },
			{ label: 'Survenu le', value: (i) => when(i.occurred) },
			{ label: 'Coût', value: (i) => (i.cost_cents !== null && i.cost_cents !== undefined ? euros(i.cost_cents) : '—') },
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
