// audit.js - /journal (technicians, auditor): the audit log, newest first,
// narrowed by who, what, on which tablet, in which collège and between
// which days (the filters live in the address, so a view can be shared),
// paged with the API's keyset; and the check of its hash chain.

import * as api from '../api.js';
import { route } from '../app.js';
import { errorNotice, field, h, heading, notice, pager, table } from '../dom.js';
import { AUDIT_ACTIONS, auditActionLabel, count, dateTime, parisDayBound, parseDay } from '../fmt.js';

const PAGE = 100;

const FAMILIES = [
	['loan', 'Prêts et retours'], ['incident', 'Incidents'], ['device', 'Tablettes'], ['person', 'Personnes'],
	['locate', 'Géolocalisation'], ['account', 'Comptes'], ['session', 'Connexions'], ['policy', 'Catalogue'],
	['command', 'Commandes'], ['school', 'Collèges'],
];

// The address's filters (French names) -> the API's query.
const KEYS = { acteur: 'actor', action: 'action', cible: 'target', college: 'school' };

function actionOptions() {
	return [['', 'Toutes les actions'],
		...FAMILIES.map(([k, l]) => [k, `${l} (toutes)`]),
		...Object.keys(AUDIT_ACTIONS).sort().map((k) => [k, `${AUDIT_ACTIONS[k]} (${k})`])];
}

// A row's detail (a JSON object) as "key: value; ..." ('—' for none).
function detailValue(v) {
	if (v === null || v === undefined) return '—';
	if (Array.isArray(v)) return `[${v.map(detailValue).join(', ')}]`;
	if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k} : ${detailValue(x)}`).join(' ; ')}}`;
	return String(v);
}

function detailText(d) {
	if (d === null || d === undefined) return '—';
	const s = typeof d === 'object' && !Array.isArray(d)
		? Object.entries(d).map(([k, x]) => `${k} : ${detailValue(x)}`).join(' ; ')
		: detailValue(d);
	return s.length > 240 ? `${s.slice(0, 240)}…` : s;
}

// The filters of the address as the API's query; throws a French sentence
// for a date that is not one.
function apiQuery(q) {
	const out = { order: q.get('ordre') === 'asc' ? 'asc' : 'desc', limit: PAGE };
	for (const [fr, en] of Object.entries(KEYS)) if (q.get(fr)) out[en] = q.get(fr);
	for (const [fr, en, end] of [['du', 'from', false], ['au', 'to', true]]) {
		if (!q.get(fr)) continue;
		const day = parseDay(q.get(fr));
		if (!day) throw new Error(`La date « ${q.get(fr)} » n’est pas une date JJ/MM/AAAA.`);
		out[en] = parisDayBound(day, end);
	}
	if (out.from && out.to && out.from > out.to) throw new Error('La date de début est après la date de fin.');
	return out;
}

function filterForm(q, schools, go) {
	const form = h('form', { class: 'formulaire enligne filtres', 'aria-label': 'Filtres du journal', novalidate: true },
		field({ label: 'Acteur', name: 'acteur', value: q.get('acteur') || '', hint: 'Nom du compte, ou system.' }),
		field({ label: 'Action', name: 'action', type: 'select', value: q.get('action') || '', options: actionOptions() }),
		field({ label: 'Tablette ou autre cible', name: 'cible', value: q.get('cible') || '', hint: 'Numéro de série, compte, identifiant d’une personne…' }),
		field({
			label: 'Collège', name: 'college', type: 'select', value: q.get('college') || '',
			options: [['', 'Tous les collèges'], ...schools.map((s) => [s.uai, `${s.name} (${s.uai})`])],
		}),
		field({ label: 'Du', name: 'du', type: 'date', value: q.get('du') || '' }),
		field({ label: 'Au', name: 'au', type: 'date', value: q.get('au') || '' }),
		field({ label: 'Ordre', name: 'ordre', type: 'select', value: q.get('ordre') || 'desc', options: [['desc', 'Plus récentes d’abord'], ['asc', 'Plus anciennes d’abord']] }),
		h('div', { class: 'actions' },
			h('button', { type: 'submit', class: 'bouton' }, 'Filtrer'),
			h('a', { href: '/journal', class: 'bouton secondaire' }, 'Effacer les filtres')));
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const next = new URLSearchParams();
		for (const el of form.elements) {
			if (!el.name || !el.value.trim()) continue;
			if (el.name === 'ordre' && el.value === 'desc') continue;
			if ((el.name === 'du' || el.name === 'au') && parseDay(el.value)) next.set(el.name, parseDay(el.value).split('-').reverse().join('/'));
			else next.set(el.name, el.value.trim());
		}
		const s = next.toString();
		go(s ? `/journal?${s}` : '/journal');
	});
	return form;
}

export function verifyText(v) {
	if (v.intact) {
		return notice('ok', `Chaîne intacte : les ${count(v.rows)} lignes du journal sont vérifiées, aucune n’a été modifiée ni supprimée `
			+ `(dernière ligne n° ${v.last_id}). La suppression des toutes dernières lignes ne se voit qu’en comparant avec une empreinte gardée ailleurs (ardoisectl audit verify --head).`);
	}
	return notice('erreur', `Chaîne rompue à la ligne n° ${v.first_bad_id} : une ligne a été modifiée ou supprimée après son écriture. `
		+ `${count(v.rows)} lignes vérifiées. Prévenez le délégué à la protection des données et gardez une copie de la base en l’état.`);
}

function verifySection() {
	const out = h('div', { 'aria-live': 'polite' });
	const b = h('button', { type: 'button', class: 'bouton secondaire' }, 'Vérifier la chaîne');
	b.addEventListener('click', async () => {
		b.disabled = true;
		out.replaceChildren(h('p', {}, 'Vérification en cours…'));
		try {
			out.replaceChildren(verifyText(await api.get('/api/v1/audit/verify')));
		} catch (e) {
			out.replaceChildren(errorNotice(e));
		} finally {
			b.disabled = false;
		}
	});
	return h('section', { 'aria-labelledby': 'verif-titre' },
		h('h2', { id: 'verif-titre' }, 'Intégrité du journal'),
		h('p', {}, 'Chaque ligne est liée à la précédente par une empreinte scellée par clé : la vérification recalcule toute la chaîne.'),
		b, out);
}

route('/journal', {
	title: 'Journal',
	may: 'audit',
	nav: 'Journal',
	async render(main, params, ctx) {
		const schools = ctx.session.may.read ? (await api.get('/api/v1/schools')).schools : [];
		main.append(...heading('Journal', 'Qui a fait quoi, quand, sur quoi et pourquoi : chaque action du personnel et d’Ardoise. Heures de Paris.'),
			h('h2', {}, 'Filtres'), filterForm(ctx.query, schools, ctx.go));
		const results = h('section', { 'aria-labelledby': 'lignes-titre' });
		main.append(results, verifySection());
		let query;
		try {
			query = apiQuery(ctx.query);
		} catch (e) {
			results.append(h('h2', { id: 'lignes-titre' }, 'Lignes'), notice('erreur', e.message));
			return;
		}
		const rows = [];
		const status = h('p', { class: 'aide', 'aria-live': 'polite' });
		const box = h('div');
		const more = h('div');
		const draw = (next) => {
			box.replaceChildren(table({
				caption: `Lignes du journal (${count(rows.length)} affichées${next ? ', d’autres suivent' : ''})`,
				columns: [
					{ label: 'N°', value: (r) => String(r.id), class: 'nombre' },
					{ label: 'Date et heure', value: (r) => dateTime(r.ts) },
					{ label: 'Acteur', value: (r) => r.actor },
					{ label: 'Action', value: (r) => h('span', {}, auditActionLabel(r.action), h('br'), h('code', {}, r.action)) },
					{ label: 'Cible', value: (r) => r.target || '—' },
					{ label: 'Motif', value: (r) => r.reason || '—' },
					{ label: 'Détail', value: (r) => h('code', { class: 'detail' }, detailText(r.detail)) },
				],
				rows,
				empty: 'Aucune ligne ne correspond à ces filtres.',
			}));
			more.replaceChildren(pager(next, load) || '');
		};
		async function load(after) {
			const page = await api.get('/api/v1/audit', { ...query, after });
			rows.push(...page.rows);
			draw(page.next);
			if (after) status.textContent = `${count(page.rows.length)} lignes de plus affichées.`;
		}
		results.append(h('h2', { id: 'lignes-titre' }, 'Lignes'), status, box, more);
		await load(null);
	},
});
