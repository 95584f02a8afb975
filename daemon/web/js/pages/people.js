// people.js - the pupils and teachers of the caller's collèges with their
// class, the date of the guardians' home-use agreement and the leaving
// date; those who may lend record an agreement (or its withdrawal) and a
// departure.

import * as api from '../api.js';
import { route } from '../app.js';
import { actionForm, field, filterForm, FormError, h, heading, href, notice, pagedTable, refusal, tag } from '../dom.js';
import { date, parseDay, personKindLabel, today } from '../fmt.js';
import { schoolField, schoolName, schools } from '../scope.js';

const PAGE = 200;

const REFUSALS = [
	[null, /is a teacher: no guardians' agreement applies/, () => 'C’est un enseignant : l’accord des responsables légaux ne concerne que les élèves.'],
	[404, /^no person/, () => 'Cette personne n’est pas inscrite dans vos collèges.'],
	[400, /signing date is in the future/, () => 'La date de l’accord ne peut pas être dans le futur.'],
	[409, /withdrawn already/, () => 'L’accord de cette année scolaire est déjà retiré.'],
];

function agreementCell(p) {
	if (p.kind !== 'pupil') return 'Sans objet';
	return p.agreement ? `Signé le ${date(p.agreement)}` : tag('Non enregistré', 'attention');
}

function leftCell(p) {
	if (!p.left) return '—';
	return p.left < today() ? `Parti le ${date(p.left)}` : `Part le ${date(p.left)}`;
}

async function send(p, what, body) {
	try {
		return await api.post(`/api/v1/people/${encodeURIComponent(p.id)}/${what}`, body);
	} catch (e) {
		throw refusal(e, REFUSALS);
	}
}

// Shows the person's new state in its row.
function update(row, p) {
	if (!row) return;
	row.querySelector('.accord').replaceChildren(agreementCell(p));
	row.querySelector('.depart').replaceChildren(leftCell(p));
}

function agreementForms(p, cell) {
	const forms = [actionForm({
		label: `Accord des responsables de ${p.name}`,
		fields: [field({ label: 'Accord signé le', name: 'date', type: 'date', required: true, value: date(today()), hint: 'JJ/MM/AAAA : la date de signature du document.' })],
		submit: 'Enregistrer l’accord',
		async action(v) {
			const day = parseDay(v.date);
			if (!day) throw new FormError('La date de l’accord doit s’écrire JJ/MM/AAAA.');
			if (day > today()) throw new FormError('La date de l’accord ne peut pas être dans le futur.');
			const done = await send(p, 'agreement', { date: day });
			update(cell.closest('tr'), done);
			return `Accord enregistré (signé le ${date(done.agreement)}) : ${p.name} peut emporter sa tablette à la maison.`;
		},
	})];
	if (p.agreement) {
		forms.push(actionForm({
			label: `Retrait de l’accord de ${p.name}`,
			fields: [h('p', { class: 'aide' }, 'Les responsables retirent leur accord : les prochains prêts seront pour le collège seulement.')],
			submit: 'Retirer l’accord',
			async action() {
				const done = await send(p, 'agreement', { withdrawn: true });
				update(cell.closest('tr'), done);
				const n = done.loans_school_only || 0;
				return `Accord retiré.${n ? ` ${n} prêt${n > 1 ? 's passent' : ' passe'} au collège seulement (signalé${n > 1 ? 's' : ''} dans la liste des prêts).` : ''}`;
			},
		}));
	}
	return forms;
}

function leaveForm(p, cell) {
	return actionForm({
		label: `Départ de ${p.name}`,
		fields: [
			field({ label: 'Date de départ', name: 'date', type: 'date', required: true, value: p.left ? date(p.left) : '', hint: 'JJ/MM/AAAA : ses prêts devront être rendus au plus tard ce jour-là.' }),
			field({ label: 'Note', name: 'reason', hint: 'Facultatif, inscrite au journal.' }),
		],
		submit: 'Enregistrer le départ',
		async action(v) {
			const day = parseDay(v.date);
			if (!day) throw new FormError('La date de départ doit s’écrire JJ/MM/AAAA.');
			const done = await send(p, 'leave', { date: day, reason: v.reason || undefined });
			update(cell.closest('tr'), done);
			const n = done.loans_now_due || 0;
			const collect = (done.collect || []).map((t) => `${t.device}${t.asset_tag ? ` (${t.asset_tag})` : ''}`);
			return `Départ enregistré le ${date(done.left)}.${n ? ` ${n} prêt${n > 1 ? 's doivent' : ' doit'} désormais être rendu${n > 1 ? 's' : ''} au plus tard ce jour-là.` : ''}`
				+ (collect.length ? ` Tablette${collect.length > 1 ? 's' : ''} à récupérer : ${collect.join(', ')}.` : '');
		},
	});
}

function actionsCell(p) {
	const box = h('details', { class: 'deplier' }, h('summary', {}, 'Modifier', h('span', { class: 'invisible' }, ` ${p.name}`)));
	if (p.kind === 'pupil') box.append(h('p', { class: 'intertitre' }, 'Accord des responsables'), ...agreementForms(p, box));
	box.append(h('p', { class: 'intertitre' }, 'Départ du collège'), leaveForm(p, box));
	return box;
}

function filters(q, list, ctx) {
	return filterForm({
		label: 'Filtrer les personnes',
		fields: [
			field({ label: 'Classe', name: 'classe', value: q.classe, hint: 'Par exemple 3A' }),
			list.length > 1 ? schoolField(list, q.ecole) : null,
		],
		go: ctx.go,
		to(v) {
			return href('/personnes', { classe: v.classe, ecole: v.ecole ?? q.ecole });
		},
	});
}

route('/personnes', {
	title: 'Personnes',
	nav: 'Personnes',
	may: 'read',
	async render(main, params, ctx) {
		const q = { classe: ctx.query.get('classe') || '', ecole: ctx.query.get('ecole') || '' };
		const list = await schools(ctx.session);
		const may = !!ctx.session.may.loan;
		const fetchPage = async (after) => {
			const data = await api.get('/api/v1/people', { school: q.ecole, class: q.classe, limit: PAGE, after });
			return { rows: data.people || [], next: data.next };
		};
		const first = await fetchPage(null);
		main.append(...heading('Personnes', 'Les élèves et enseignants de vos collèges, avec la date de l’accord des responsables légaux pour l’usage à la maison.'),
			...(may ? [notice('info', 'L’accord se signe sur le document imprimé avec le prêt ; enregistrez ici sa date une fois le document signé reçu.')] : []),
			filters(q, list, ctx),
			pagedTable({
				caption: q.classe ? `Personnes de la classe ${q.classe}` : 'Personnes',
				columns: [
					{ label: 'Nom', value: (p) => p.name },
					{ label: 'Identifiant', value: (p) => p.id },
					{ label: 'Statut', value: (p) => personKindLabel(p.kind) },
					{ label: 'Classe', value: (p) => p.class || '—' },
					list.length > 1 ? { label: 'Collège', value: (p) => schoolName(list, p.school) } : null,
					{ label: 'Accord des responsables', value: agreementCell, class: 'accord' },
					{ label: 'Départ', value: leftCell, class: 'depart' },
					may ? { label: 'Modifier', value: actionsCell } : null,
				].filter(Boolean),
				rows: first.rows,
				empty: 'Aucune personne ne correspond à ces critères.',
			}, first.next, fetchPage));
	},
});
