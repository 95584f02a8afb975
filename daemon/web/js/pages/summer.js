// summer.js - the summer deposit: per class, the pupils' tablets on loan
// (GET /api/v1/loans/campaign), deposited at the collège or not, each with
// "Déposer" / "Reprendre" (POST /api/v1/loans/deposit, /resume: the loan
// is suspended, nothing is erased) and "Restituer" (the loan ends, the
// tablet is erased) for those who may, and the printable checklist of the
// class (/documents/ete).

import * as api from '../api.js';
import { route } from '../app.js';
import { errorNotice, field, filterForm, FormError, h, heading, href, link, notice, settle, table } from '../dom.js';
import { count, date, parseDay, today } from '../fmt.js';
import { onlySchool, schoolField, schoolName, schools } from '../scope.js';
import { flagText, returnForm, returned } from './loans.js';
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

function depositText(row) {
	return row.deposited ? `Oui, le ${date(row.deposited)}` : 'Non';
}

// "Déposer" or "Reprendre": the loan suspended for the summer (the tablet
// stays on loan, nothing is erased) or resumed; the row shows the answer.
function depositCell(row) {
	const msg = h('span', { class: 'message', 'aria-live': 'polite' });
	const button = h('button', { type: 'button', class: 'bouton secondaire' });
	const label = () => {
		button.replaceChildren(row.deposited ? 'Reprendre' : 'Déposer',
			h('span', { class: 'invisible' }, ` la tablette de ${row.name}`));
	};
	label();
	button.addEventListener('click', async () => {
		button.disabled = true;
		msg.replaceChildren();
		try {
			const done = await api.post(row.deposited ? '/api/v1/loans/resume' : '/api/v1/loans/deposit', { device: row.device });
			row.deposited = done.deposited;
			const tr = button.closest('tr');
			if (tr) tr.querySelector('.deposee').textContent = depositText(row);
			label();
			msg.replaceChildren(row.deposited ? 'Déposée, prêt suspendu.' : 'Rendue à l’élève, prêt repris.');
		} catch (e) {
			msg.replaceChildren(errorNotice(e));
		} finally {
			button.disabled = false;
		}
	});
	return h('div', {}, button, msg);
}

function classSection(c, uai, may) {
	const name = c.class || 'Sans classe';
	return [
		h('h2', {}, `Classe ${name}`),
		h('p', {}, `${count(c.count)} tablette${c.count > 1 ? 's' : ''} : ${count(c.deposited)} déposée${c.deposited > 1 ? 's' : ''}, ${count(c.to_collect)} à déposer. `,
			link(href('/documents/ete', { ecole: uai, classe: c.class }), `Imprimer la liste à signer de la classe ${name}`)),
		table({
			caption: `Tablettes à rendre, classe ${name}`,
			columns: [
				{ label: 'Élève', value: (r) => r.name },
				{ label: 'Tablette', value: (r) => [tabletLink(r.device), r.asset_tag ? ` (${r.asset_tag})` : ''] },
				{ label: 'Prêtée le', value: (r) => date(r.started) },
				{ label: 'Usage', value: (r) => [r.home_use ? 'Maison et collège' : 'Collège seulement', flagText(r)] },
				{ label: 'Déposée', value: (r) => h('span', { class: 'deposee' }, depositText(r)) },
				{ label: 'Rendue', value: backCell },
				may ? { label: 'Dépôt d’été', value: depositCell } : null,
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
		main.append(...heading('Collecte d’été', 'Par classe, les tablettes prêtées aux élèves et celles déposées au collège pour l’été. '
			+ (may ? 'Un dépôt suspend le prêt sans rien effacer ; une restitution met fin au prêt et la tablette sera effacée à sa prochaine connexion.' : '')),
		choice(list, q, ctx));
		if (!q.ecole) {
			main.append(notice('info', 'Aucun collège n’est rattaché à votre compte.'));
			return;
		}
		const by = q.date || today();
		const data = await api.get('/api/v1/loans/campaign', { school: q.ecole, by });
		main.append(h('p', { class: 'chapo' },
			`${schoolName(list, data.school)} : ${count(data.tablets)} tablette${data.tablets > 1 ? 's' : ''} d’élèves (prêts commencés au plus tard le ${date(data.by)}), ${count(data.deposited)} déposée${data.deposited > 1 ? 's' : ''}, ${count(data.to_collect)} à déposer. `,
			link(href('/documents/ete', { ecole: q.ecole }), 'Imprimer les listes de toutes les classes')));
		if (!data.classes.length) main.append(notice('ok', 'Toutes les tablettes prêtées aux élèves de ce collège sont rendues.'));
		for (const c of data.classes) main.append(...classSection(c, q.ecole, may));
	},
});
