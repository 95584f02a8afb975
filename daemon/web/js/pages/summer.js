// summer.js - the summer collection: per class, the pupils whose tablet is
// not back yet (GET /api/v1/loans/campaign), each with "Restituer" for
// those who may hand tablets back, and the printable checklist of the
// class (/documents/ete).

import * as api from '../api.js';
import { route } from '../app.js';
import { field, filterForm, FormError, h, heading, href, link, notice, settle, table } from '../dom.js';
import { count, date, parseDay, today } from '../fmt.js';
import { onlySchool, schoolField, schoolName, schools } from '../scope.js';
import { returnForm, returned } from './loans.js';
import { tabletLink } from './tablets.js';

function backCell() {
	return h('span', { class: 'rendue' }, 'Non');
}

function actionCell(row) {
	const box = h('details', { class: 'deplier' }, h('summary', {}, `Restituer`, h('span', { class: 'invisible' }, ` la tablette de ${row.name}`)));
	box.append(returnForm(row.device, (done) => {
		const tr = box.closest('tr');
		if (tr) {
			tr.classList.add('ligne-faite');
			tr.querySelector('.rendue').textContent = 'Oui, effacement en attente';
		}
		return settle(box, returned(done));
	}));
	return box;
}

function classSection(c, uai, may) {
	const name = c.class || 'Sans classe';
	return [
		h('h2', {}, `Classe ${name}`),
		h('p', {}, `${count(c.count)} tablette${c.count > 1 ? 's' : ''} à rendre. `,
			link(href('/documents/ete', { ecole: uai, classe: c.class }), `Imprimer la liste à signer de la classe ${name}`)),
		table({
			caption: `Tablettes à rendre, classe ${name}`,
			columns: [
				{ label: 'Élève', value: (r) => r.name },
				{ label: 'Tablette', value: (r) => [tabletLink(r.device), r.asset_tag ? ` (${r.asset_tag})` : ''] },
				{ label: 'Prêtée le', value: (r) => date(r.started) },
				{ label: 'Usage', value: (r) => (r.home_use ? 'Maison et collège' : 'Collège seulement') },
				{ label: 'Rendue', value: backCell },
				may ? { label: 'Restitution', value: actionCell } : null,
			].filter(Boolean),
			rows: c.loans,
		}),
	];
}

function choice(list, q, ctx) {
	return filterForm({
		label: 'Choisir le collège et la date',
		fields: [
			list.length > 1 ? schoolField(list, q.ecole, { all: null, required: true }) : null,
			field({ label: 'Prêts commencés avant le', name: 'date', type: 'date', value: q.date ? date(q.date) : '', hint: 'JJ/MM/AAAA ; par défaut aujourd’hui.' }),
		],
		go: ctx.go,
		to(v) {
			const day = v.date ? parseDay(v.date) : '';
			if (v.date && !day) throw new FormError('La date doit s’écrire JJ/MM/AAAA.');
			return href('/ete', { ecole: v.ecole ?? q.ecole, date: day });
		},
	});
}

route('/ete', {
	title: 'Collecte d’été',
	nav: 'Été',
	may: 'read',
	async render(main, params, ctx) {
		const list = await schools(ctx.session);
		const q = { ecole: ctx.query.get('ecole') || onlySchool(list) || (list[0] && list[0].uai) || '', date: parseDay(ctx.query.get('date') || '') || '' };
		const may = !!ctx.session.may.loan;
		main.append(...heading('Collecte d’été', 'Par classe, les élèves dont la tablette n’est pas encore rendue. '
			+ (may ? 'Enregistrez chaque restitution ici : la tablette sera effacée à sa prochaine connexion.' : '')),
		choice(list, q, ctx));
		if (!q.ecole) {
			main.append(notice('info', 'Aucun collège n’est rattaché à votre compte.'));
			return;
		}
		const by = q.date || today();
		const data = await api.get('/api/v1/loans/campaign', { school: q.ecole, by });
		main.append(h('p', { class: 'chapo' },
			`${schoolName(list, data.school)} : ${count(data.tablets)} tablette${data.tablets > 1 ? 's' : ''} d’élèves à rendre (prêts commencés au plus tard le ${date(data.by)}). `,
			link(href('/documents/ete', { ecole: q.ecole }), 'Imprimer les listes de toutes les classes')));
		if (!data.classes.length) main.append(notice('ok', 'Toutes les tablettes prêtées aux élèves de ce collège sont rendues.'));
		for (const c of data.classes) main.append(...classSection(c, q.ecole, may));
	},
});
