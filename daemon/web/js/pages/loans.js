// loans.js - loans: the list (in progress by default, overdue said in
// words), lending a tablet (home-use refusals explained in French) and
// handing one back (which erases it).  The printable agreement and receipt
// are their own pages (/documents/accord/:loan, /documents/recu/:loan).

import * as api from '../api.js';
import { route } from '../app.js';
import { actionForm, field, filterForm, FormError, h, heading, href, link, notice, pagedTable, refusal, settle, tag } from '../dom.js';
import { conditionLabel, date, loanStateLabel, parseDay, stateLabel, today } from '../fmt.js';
import { schoolField, schoolName, schools } from '../scope.js';
import { findTablet, tabletLink } from './tablets.js';

const PAGE = 100;

// ?etat= of the page -> the API's filters.
const STATES = {
	'': ['Prêts en cours', { state: 'active' }],
	retard: ['Prêts en retard', { overdue: 1 }],
	retour: ['Restitutions en attente d’effacement', { state: 'returning' }],
	termines: ['Prêts terminés', { state: 'closed' }],
	tous: ['Tous les prêts', { state: 'all' }],
};

// Why a loan to person p was refused, in French.
function lendRefusals(p) {
	return [
		[null, /belongs to no collège/, () => 'Cette tablette n’est rattachée à aucun collège : un technicien doit d’abord l’affecter à un collège.'],
		[null, /is at collège (\S+) but (\S+) is at collège (\S+)/, (m) => `La tablette est au collège ${m[1]} mais ${personText(p)} est inscrit au collège ${m[3]} : un prêt demande que la tablette et la personne soient du même collège.`],
		[null, /already on loan to (\S+)/, (m) => `Cette tablette est déjà prêtée (à ${m[1]}) : elle doit être restituée avant un nouveau prêt.`],
		[null, /already on loan/, () => 'Cette tablette est déjà prêtée : elle doit être restituée avant un nouveau prêt.'],
		[null, /is (\w+), not in stock/, (m) => `Cette tablette n’est pas en stock (elle est « ${stateLabel(m[1])} ») : seule une tablette en stock peut être prêtée.`],
		[null, /(\S+) left the collège on (\d{4}-\d{2}-\d{2})/, (m) => `${personText(p)} a quitté le collège le ${date(m[2])} : aucun prêt n’est plus possible.`],
		[null, /one tablet per pupil at a time/, () => `${personText(p)} a déjà une tablette en prêt : une seule tablette par élève à la fois. Elle doit être restituée avant un nouveau prêt.`],
		[null, /the most a teacher may hold/, () => `${personText(p)} a déjà le nombre de tablettes qu’un enseignant peut emprunter.`],
		[null, /summer deposit period/, () => 'Pendant la période du dépôt d’été, aucun prêt à la maison ne commence : prêtez la tablette pour un usage au collège seulement, ou attendez la rentrée.'],
		[null, /is not enrolled: unmanaged/, () => 'Cette tablette n’est pas inscrite dans la gestion : sans filtrage ni restrictions, elle ne peut pas partir à la maison. Faites-la inscrire, ou prêtez-la pour un usage au collège seulement.'],
		[null, /home use needs the guardians' signed agreement/, () => `Prêt à la maison refusé : l’accord signé des responsables légaux de l’élève ${personText(p)} n’est pas enregistré. Enregistrez la date de l’accord sur la page Personnes une fois le document signé reçu, ou prêtez la tablette pour un usage au collège seulement.`],
		[null, /due date is in the past/, () => 'La date de retour prévue est déjà passée.'],
		[404, /^no person/, () => 'Cette personne n’est pas inscrite dans vos collèges.'],
		[404, /^no tablet/, () => 'Cette tablette n’est pas dans vos collèges.'],
	];
}

const RETURN_REFUSALS = [
	[null, /is not on loan \(it is (\w+)\)/, (m) => `Cette tablette n’est pas prêtée (elle est « ${stateLabel(m[1])} »).`],
	[null, /was handed back on (\d{4}-\d{2}-\d{2})/, (m) => `Cette tablette a déjà été restituée le ${date(m[1])} ; elle attend son effacement, qui se fera à sa prochaine connexion.`],
	[null, /is (\w+): close its incident/, (m) => `Cette tablette est « ${stateLabel(m[1])} » : clôturez d’abord son incident (page Incidents), puis enregistrez la restitution.`],
	[null, /cannot queue EraseDevice/, () => 'L’effacement de la tablette n’a pas pu être programmé, la restitution n’est donc pas enregistrée. Réessayez, ou prévenez un technicien du département.'],
	[404, /^no tablet/, () => 'Cette tablette n’est pas dans vos collèges.'],
];

function norm(s) {
	return String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().trim();
}

// The people of collège uai whose id is text, or whose name contains it.
async function findPeople(text, uai) {
	try {
		return [await api.get(`/api/v1/people/${encodeURIComponent(text)}`)];
	} catch (e) {
		if (e.status !== 404 && e.status !== 400) throw e;
	}
	const people = (await api.get('/api/v1/people', { school: uai })).people || [];
	const words = norm(text).split(/\s+/);
	return people.filter((p) => words.every((w) => norm(p.name).includes(w)));
}

function personText(p) {
	return `${p.name}${p.class ? ` (${p.class})` : ''}`;
}

function lendForm(onDone) {
	const form = actionForm({
		label: 'Prêter une tablette',
		fields: [
			field({ label: 'Tablette', name: 'device', required: true, hint: 'Numéro de série ou numéro d’inventaire.' }),
			field({ label: 'Élève ou enseignant', name: 'person', required: true, hint: 'Identifiant ou nom (par exemple « Dupont »).' }),
			field({
				label: 'Usage', name: 'usage', type: 'select', value: 'college',
				options: [['college', 'Au collège seulement'], ['maison', 'À la maison et au collège']],
				hint: 'L’usage à la maison demande l’accord signé des responsables légaux de l’élève.',
			}),
			field({ label: 'Date de retour prévue', name: 'due', type: 'date', hint: 'Facultatif, JJ/MM/AAAA. Sans date : jusqu’à la restitution ou au départ de l’élève.' }),
		],
		submit: 'Prêter la tablette',
		async action(v) {
			if (!v.device || !v.person) throw new FormError('Indiquez la tablette et la personne.');
			const due = v.due ? parseDay(v.due) : null;
			if (v.due && !due) throw new FormError('La date de retour prévue doit s’écrire JJ/MM/AAAA.');
			if (due && due < today()) throw new FormError('La date de retour prévue est déjà passée.');
			const serial = await findTablet(v.device);
			let tablet;
			try {
				tablet = await api.get(`/api/v1/devices/${encodeURIComponent(serial)}`);
			} catch (e) {
				if (e.status === 404) throw new FormError(`Aucune tablette « ${v.device} » dans vos collèges.`);
				throw e;
			}
			const found = await findPeople(v.person, tablet.school);
			if (found.length === 0) throw new FormError(`Aucune personne de ce nom ni de cet identifiant au collège de la tablette (${tablet.school}).`);
			if (found.length > 1) return choose(found, form);
			const p = found[0];
			let loan;
			try {
				loan = await api.post('/api/v1/loans', { device: serial, person: p.id, home_use: v.usage === 'maison', due: due || undefined });
			} catch (e) {
				throw refusal(e, lendRefusals(p));
			}
			form.reset();
			onDone().catch(() => {}); // the list stays as it was; the loan is made
			return h('div', {},
				notice('ok', `Tablette ${loan.device} prêtée à ${personText(p)}, ${loan.home_use ? 'à la maison et au collège' : 'au collège seulement'}${loan.due ? `, retour prévu le ${date(loan.due)}` : ''}.`),
				h('p', {}, link(`/documents/accord/${loan.id}`, 'Imprimer l’accord de prêt à faire signer'), ' · ', tabletLink(loan.device, 'Voir la tablette')));
		},
	});
	return form;
}

// Several people match: one button each, which fills in the id and sends
// the form again.
function choose(found, form) {
	return h('div', {},
		notice('info', `${found.length} personnes correspondent : choisissez-en une.`),
		h('ul', { class: 'choix' }, found.slice(0, 20).map((p) => h('li', {},
			h('button', {
				type: 'button', class: 'bouton secondaire',
				onclick: () => {
					form.elements.person.value = p.id;
					form.requestSubmit();
				},
			}, `${personText(p)} — ${p.id}`)))));
}

// The hand-back of the tablet on loan `serial`: condition and note; the
// tablet is erased at its next connection.  onDone(answer) after it.
export function returnForm(serial, onDone) {
	return actionForm({
		label: `Restituer la tablette ${serial}`,
		fields: [
			h('p', { class: 'aide' }, 'La tablette sera effacée à sa prochaine connexion (données et réglages de l’élève supprimés), puis remise en stock.'),
			field({ label: 'État de la tablette', name: 'condition', type: 'select', value: 'ok', options: [['ok', 'Bon état'], ['damaged', 'Abîmée']] }),
			field({ label: 'Note', name: 'reason', hint: 'Facultatif, inscrite au journal.' }),
		],
		submit: 'Restituer et effacer',
		async action(v) {
			let done;
			try {
				done = await api.post('/api/v1/loans/return', { device: serial, condition: v.condition, reason: v.reason || undefined });
			} catch (e) {
				throw refusal(e, RETURN_REFUSALS);
			}
			return onDone(done);
		},
	});
}

// What a return answers: done, erase on its way, the receipt to print.
export function returned(done) {
	return h('div', {},
		notice('ok', `Restituée (${conditionLabel(done.condition)}). L’effacement est programmé : il se fera à la prochaine connexion de la tablette.${done.incident ? ` Un incident de casse est ouvert (n° ${done.incident}) : la tablette part en réparation, pas en stock.` : ''}`),
		h('p', {}, link(`/documents/recu/${done.id}`, 'Imprimer le reçu de restitution')));
}

// What a loan's flag says, or nothing (the flag is "" on most loans).
export function flagText(l) {
	return l.flag === 'agreement_withdrawn' ? [' ', tag('Accord des parents retiré : collège seulement', 'attention')] : null;
}

function stateCell(l) {
	if (l.overdue) return tag('En retard', 'attention');
	if (l.state === 'open' && l.deposited) return `Déposée au collège depuis le ${date(l.deposited)}`;
	return loanStateLabel(l.state);
}

function returnCell(l) {
	if (l.state !== 'open') return '—';
	const box = h('details', { class: 'deplier' }, h('summary', {}, 'Restituer', h('span', { class: 'invisible' }, ` la tablette ${l.device}`)));
	box.append(returnForm(l.device, (done) => {
		const row = box.closest('tr');
		if (row) {
			row.classList.add('ligne-faite');
			const cell = row.querySelector('.etat-pret');
			if (cell) cell.replaceChildren(loanStateLabel('returning'));
		}
		return settle(box, returned(done));
	}));
	return box;
}

async function loanList(box, q, list, may) {
	const [caption, filter] = STATES[q.etat] || STATES[''];
	const fetchPage = async (after) => {
		const data = await api.get('/api/v1/loans', { ...filter, school: q.ecole, limit: PAGE, after });
		return { rows: data.loans || [], next: data.next };
	};
	const first = await fetchPage(null);
	box.replaceChildren(pagedTable({
		caption,
		columns: [
			{ label: 'Tablette', value: (l) => [tabletLink(l.device), l.asset_tag ? ` (${l.asset_tag})` : ''] },
			{ label: 'Élève ou enseignant', value: (l) => personText(l) },
			list.length > 1 ? { label: 'Collège', value: (l) => schoolName(list, l.school) } : null,
			{ label: 'Début', value: (l) => date(l.started) },
			{ label: 'Retour prévu', value: (l) => date(l.due) },
			{ label: 'Usage', value: (l) => [l.home_use ? 'Maison et collège' : 'Collège seulement', flagText(l)] },
			{ label: 'État', value: stateCell, class: 'etat-pret' },
			{ label: 'Documents', value: (l) => [link(`/documents/accord/${l.id}`, 'Accord'), l.returned ? [' · ', link(`/documents/recu/${l.id}`, 'Reçu')] : null] },
			may ? { label: 'Restitution', value: returnCell } : null,
		].filter(Boolean),
		rows: first.rows,
		empty: 'Aucun prêt ne correspond à ces critères.',
	}, first.next, fetchPage));
}

function filters(q, list, ctx) {
	return filterForm({
		label: 'Filtrer les prêts',
		fields: [
			field({ label: 'Prêts', name: 'etat', type: 'select', value: q.etat, options: Object.entries(STATES).map(([k, [l]]) => [k, l]) }),
			list.length > 1 ? schoolField(list, q.ecole) : null,
		],
		go: ctx.go,
		to(v) {
			return href('/prets', { etat: v.etat, ecole: v.ecole ?? q.ecole });
		},
	});
}

route('/prets', {
	title: 'Prêts',
	nav: 'Prêts',
	may: 'read',
	async render(main, params, ctx) {
		const q = { etat: ctx.query.get('etat') || '', ecole: ctx.query.get('ecole') || '' };
		const list = await schools(ctx.session);
		const may = !!ctx.session.may.loan;
		const box = h('div', {});
		await loanList(box, q, list, may);
		main.append(...heading('Prêts', may
			? 'Prêter une tablette, enregistrer sa restitution, imprimer l’accord et le reçu.'
			: 'Les prêts de tablettes de vos collèges.'));
		if (may) main.append(h('h2', {}, 'Prêter une tablette'), lendForm(() => loanList(box, q, list, may)));
		main.append(h('h2', {}, STATES[q.etat] ? STATES[q.etat][0] : STATES[''][0]), filters(q, list, ctx), box);
	},
});
