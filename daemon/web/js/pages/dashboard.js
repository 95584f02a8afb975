// dashboard.js - the home page: the collège's dashboard (GET
// /api/v1/dashboard) for a référent, or for an ATI or a technician with one
// collège chosen; one line per collège for those who have several.  The
// auditor's home is the geolocation register.

import * as api from '../api.js';
import { route } from '../app.js';
import { figure, h, heading, href, link, notice, table } from '../dom.js';
import { count, dateTime } from '../fmt.js';

// The states as counted: '3 prêtées'.
const STATE_FIGURES = {
	stock: 'en stock', loaned: 'prêtées', returning: 'en retour (effacement en attente)', repair: 'en réparation',
	lost: 'perdues', stolen: 'volées', retired: 'réformées',
};

// A figure that opens the list it counts (to: null when there is none).
function fig(value, text, to, kind) {
	const f = figure(count(value), text, value > 0 ? kind : null);
	return h('li', {}, to ? h('a', { href: to, class: 'chiffre-lien' }, f) : f);
}

function figures(items) {
	return h('ul', { class: 'chiffres' }, items);
}

function tabletsSection(s) {
	const t = s.tablets || {};
	const by = t.by_state || {};
	const list = (q) => href('/tablettes', { ecole: s.uai, ...q });
	return [
		h('h2', {}, 'Tablettes'),
		figures([
			fig(t.total, 'tablettes au total', list({})),
			...Object.keys(STATE_FIGURES).filter((st) => by[st] || st === 'stock' || st === 'loaned')
				.map((st) => fig(by[st] || 0, STATE_FIGURES[st], list({ etat: st }),
					st === 'lost' || st === 'stolen' ? 'attention' : null)),
		]),
		h('h3', {}, 'Inscription et contact'),
		figures([
			fig(t.enrolled, 'inscrites à la gestion', null),
			fig(t.not_enrolled, 'non inscrites', null, 'attention'),
			fig(t.not_seen_7d, 'inscrites, sans contact depuis 7 jours', list({ absente: 7 }), 'attention'),
			fig(t.not_seen_30d, 'inscrites, sans contact depuis 30 jours', list({ absente: 30 }), 'erreur'),
		]),
	];
}

function policySection(s) {
	const p = s.policy || {};
	return [
		h('h2', {}, 'Configuration des tablettes'),
		figures([
			fig(p.converged, 'à jour', null, 'ok'),
			fig(p.pending, 'en cours de mise à jour', null),
			fig(p.failing, 'en échec', null, 'erreur'),
		]),
		(p.failing_items || []).length ? table({
			caption: 'Éléments de configuration en échec',
			columns: [
				{ label: 'Élément (profil ou application)', value: (r) => r.item },
				{ label: 'Tablettes en échec', value: (r) => count(r.count), class: 'nombre' },
			],
			rows: p.failing_items,
		}) : null,
	];
}

// Where the collège's tablets stand against their iPadOS update plan (the
// figures of GET /api/v1/updates/status; absent for those who may not see
// them, null when the collège has no enrolled tablet).
function updatesSection(s) {
	if (!('updates' in s)) return [];
	const u = s.updates;
	if (!u) return [h('h2', {}, 'Mises à jour d’iPadOS'), h('p', {}, 'Aucune tablette inscrite.')];
	return [
		h('h2', {}, 'Mises à jour d’iPadOS'),
		h('p', {}, u.target
			? `Version visée : iPadOS ${u.target}${u.deadline ? `, au plus tard le ${dateTime(u.deadline)}` : ''}.`
			: 'Aucune mise à jour n’est planifiée pour ce collège.'),
		figures([
			fig(u.on_target, 'à jour (version visée ou plus récente)', null, 'ok'),
			fig(u.pending, 'en attente', null),
			fig(u.downloading, 'en téléchargement', null),
			fig(u.prepared, 'prêtes à installer', null),
			fig(u.installing, 'en cours d’installation', null),
			fig(u.failed, 'en échec', null, 'erreur'),
			fig(u.not_reporting, 'sans état remonté', null, 'attention'),
			fig(u.without_ddm, 'sans gestion déclarative (iPadOS ancien)', null, 'attention'),
			fig(u.unsupported, 'modèle non compatible', null, 'attention'),
		]),
		(u.failures || []).length ? table({
			caption: 'Échecs de mise à jour',
			columns: [
				{ label: 'Raison donnée par la tablette', value: (r) => r.reason },
				{ label: 'Tablettes', value: (r) => count(r.count), class: 'nombre' },
			],
			rows: u.failures,
		}) : null,
	];
}

function activitySection(s) {
	const l = s.loans || {};
	const prets = (q) => href('/prets', { ecole: s.uai, ...q });
	return [
		h('h2', {}, 'Prêts'),
		figures([
			fig(l.open, 'prêts en cours', prets({})),
			fig(l.overdue, 'prêts en retard', prets({ etat: 'retard' }), 'attention'),
			fig(l.home_use, 'avec usage à la maison', null),
		]),
		h('h2', {}, 'Incidents et départs'),
		figures([
			fig((s.incidents || {}).open, 'incidents ouverts', href('/incidents', { ecole: s.uai, etat: 'ouverts' }), 'attention'),
			fig(s.leavers_soon, 'personnes quittant le collège dans les 30 jours', null),
		]),
	];
}

function oneSchool(main, s, generated, several) {
	main.append(...heading(`Tableau de bord — ${s.name}`,
		`${s.commune ? `${s.commune} · ` : ''}UAI ${s.uai}. Chiffres du ${dateTime(generated)}.`));
	if (several) main.append(h('p', {}, link('/', 'Revenir à la liste de vos collèges')));
	main.append(...[...tabletsSection(s), ...policySection(s), ...updatesSection(s), ...activitySection(s)]
		.filter(Boolean));
}

function everySchool(main, list, generated, fleet) {
	main.append(...heading('Tableau de bord',
		`${fleet ? 'Les' : 'Vos'} ${count(list.length)} collèges. Chiffres du ${dateTime(generated)}. `
		+ 'Choisissez un collège pour voir son tableau de bord.'));
	const n = (v) => count(v);
	main.append(table({
		caption: fleet ? 'Collèges du département' : 'Vos collèges',
		columns: [
			{ label: 'Collège', value: (s) => link(href('/', { ecole: s.uai }), s.name) },
			{ label: 'Commune', value: (s) => s.commune || '—' },
			{ label: 'Tablettes', value: (s) => n(s.tablets.total), class: 'nombre' },
			{ label: 'Prêtées', value: (s) => n((s.tablets.by_state || {}).loaned), class: 'nombre' },
			{ label: 'Non inscrites', value: (s) => n(s.tablets.not_enrolled), class: 'nombre' },
			{ label: 'Sans contact 30 jours', value: (s) => n(s.tablets.not_seen_30d), class: 'nombre' },
			{ label: 'Configuration en échec', value: (s) => n(s.policy.failing), class: 'nombre' },
			{ label: 'Mises à jour en échec', value: (s) => (s.updates ? n(s.updates.failed) : '—'), class: 'nombre' },
			{ label: 'Prêts en retard', value: (s) => n(s.loans.overdue), class: 'nombre' },
			{ label: 'Incidents ouverts', value: (s) => n(s.incidents.open), class: 'nombre' },
			{ label: 'Départs prochains', value: (s) => n(s.leavers_soon), class: 'nombre' },
		],
		rows: list,
		empty: 'Aucun collège n’est rattaché à votre compte.',
	}));
}

route('/', {
	title: 'Accueil',
	nav: 'Accueil',
	may: null,
	async render(main, params, ctx) {
		const s = ctx.session;
		if (s.role === 'auditor') {
			ctx.go('/registre', true);
			return;
		}
		if (!s.may.read) {
			main.append(...heading('Accueil'), notice('info', 'Votre compte n’a accès à aucun collège.'));
			return;
		}
		const uai = ctx.query.get('ecole') || '';
		let data;
		try {
			data = await api.get('/api/v1/dashboard', { school: uai });
		} catch (e) {
			if (e.status !== 404 && e.status !== 400) throw e;
			main.append(...heading('Accueil'), notice('erreur', `Le collège ${uai} n’est pas parmi vos collèges.`), h('p', {}, link('/', 'Revenir à l’accueil')));
			return;
		}
		const list = data.schools || [];
		const several = s.fleet_wide || (s.schools || []).length > 1;
		if (list.length === 1 && (uai || !several)) oneSchool(main, list[0], data.generated_at, several);
		else everySchool(main, list, data.generated_at, s.fleet_wide);
	},
});
