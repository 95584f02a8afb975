// catalogue.js - /catalogue: the profiles and apps of the catalogue, where
// each is assigned (the fleet's baseline, a collège, a group, a tablet),
// how far the tablets are from it (policy status); adding an app,
// assigning and unassigning for those the API lets.

import * as api from '../api.js';
import { route } from '../app.js';
import { actionForm, errorNotice, field, figure, FormError, h, heading, inFrench, notice, table } from '../dom.js';
import { count, date, explain } from '../fmt.js';

// The server's refusals about the catalogue, in French.
const REFUSALS = [
	[409, /(\S+) is already in the catalogue/, (m) => `${m[1]} est déjà au catalogue.`],
	[400, /expected \{"bundle_id"/, () => 'Identifiant de paquet (par exemple fr.editeur.app), nom et identifiant App Store (un nombre) attendus.'],
	[409, /is already assigned to/, () => 'Cet élément est déjà affecté à cette portée.'],
	[404, /is not assigned to/, () => 'Cet élément n’est plus affecté à cette portée : la page est mise à jour.'],
	[400, /scope must be/, () => 'Portée incorrecte : vérifiez le collège, le groupe ou le numéro de série.'],
	[404, /no tablet with serial (\S+)/, (m) => `Aucune tablette n’a le numéro de série ${m[1]} dans vos collèges.`],
	[404, /no profile or app/, () => 'Cet élément n’est plus au catalogue : la page est mise à jour.'],
	[404, /is not in the catalogue/, () => 'Cette application n’est plus au catalogue : la page est mise à jour.'],
];


const MAX_FAILURES_SHOWN = 100;

// Whether the session may change a collège's assignments (the API's
// school_policy: technicians anywhere, ATIs in their collèges).
function maySchool(session, uai) {
	if (session.may.admin) return true;
	const any = session.may.school_policy;
	return !!any && (session.schools || []).includes(uai);
}

function parseScope(text) {
	if (text === 'fleet') return { kind: 'fleet' };
	const [kind, rest] = [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)];
	if (kind === 'school') return { kind, uai: rest };
	if (kind === 'group') return { kind, uai: rest.slice(0, 8), group: rest.slice(9) };
	if (kind === 'device') return { kind, serial: rest };
	return { kind: 'autre', text };
}

function groupLabel(g) {
	if (g === 'pupils') return 'les élèves';
	if (g === 'teachers') return 'les enseignants';
	return `la classe ${g}`;
}

function scopeLabel(text, schools) {
	const s = parseScope(text);
	const school = (uai) => {
		const x = schools.find((y) => y.uai === uai);
		return x ? `${x.name} (${uai})` : uai;
	};
	switch (s.kind) {
	case 'fleet': return 'Toute la flotte (socle commun)';
	case 'school': return `Collège ${school(s.uai)}`;
	case 'group': return `${groupLabel(s.group)[0].toUpperCase()}${groupLabel(s.group).slice(1)} du collège ${school(s.uai)}`;
	case 'device': return `Tablette ${s.serial}`;
	default: return text;
	}
}

function mayChange(session, scope) {
	const s = parseScope(scope);
	if (s.kind === 'school' || s.kind === 'group') return maySchool(session, s.uai);
	return !!session.may.admin;
}

function reconcileText(rc) {
	if (!rc) return '';
	if (rc.error) return ` La mise en conformité a échoué (${rc.error}) : elle sera refaite à la prochaine vérification.`;
	return ` Mise en conformité : ${count(rc.devices)} tablette(s) concernée(s), ${count(rc.queued)} commande(s) mise(s) en file.`;
}

function itemLabel(item, profiles, apps) {
	if (item.startsWith('profile:')) {
		const p = profiles.find((x) => x.name === item.slice(8));
		return `Profil ${p && p.display_name ? `« ${p.display_name} » ` : ''}(${item.slice(8)})`;
	}
	const a = apps.find((x) => x.bundle_id === item.slice(4));
	return `Application ${a ? `« ${a.name} » ` : ''}(${item.slice(4)})`;
}

async function statusSection(session, schools) {
	const out = [h('h2', {}, 'État des tablettes')];
	const views = session.fleet_wide ? [null] : (session.schools || []);
	for (const uai of views) {
		const st = await api.get('/api/v1/policy/status', uai ? { school: uai } : null);
		const name = uai ? scopeLabel(`school:${uai}`, schools) : 'Toute la flotte';
		const failures = st.failures || [];
		out.push(h('h3', {}, name),
			h('div', { class: 'chiffres' },
				figure(count(st.devices), 'tablettes suivies'),
				figure(count(st.converged), 'conformes', 'ok'),
				figure(count(st.pending), 'en cours de mise en conformité', st.pending ? 'attention' : null),
				figure(count(st.failing), 'en échec', st.failing ? 'erreur' : null)),
			table({
				caption: `Éléments en échec — ${name}`,
				columns: [
					{ label: 'Tablette', value: (f) => f.serial },
					{ label: 'Type', value: (f) => (f.type === 'profile' ? 'Profil' : f.type === 'app' ? 'Application' : f.type) },
					{ label: 'Élément', value: (f) => f.identifier },
					{ label: 'Erreur', value: (f) => f.error },
				],
				rows: failures.slice(0, MAX_FAILURES_SHOWN),
				empty: 'Aucun élément en échec.',
			}),
			failures.length > MAX_FAILURES_SHOWN
				? notice('info', `Les ${MAX_FAILURES_SHOWN} premiers échecs sont listés, sur ${count(failures.length)}.`) : null);
	}
	return out.filter(Boolean);
}

function scopeOf(v, session) {
	switch (v.kind) {
	case 'fleet': return 'fleet';
	case 'school':
		if (!v.school) throw new FormError('Choisissez le collège.');
		return `school:${v.school}`;
	case 'group': {
		if (!v.school) throw new FormError('Choisissez le collège du groupe.');
		const g = v.group === 'class' ? v.class_name : v.group;
		if (!g) throw new FormError('Saisissez la classe.');
		return `group:${v.school}/${g}`;
	}
	case 'device':
		if (!v.serial) throw new FormError('Saisissez le numéro de série de la tablette.');
		if (!session.may.admin) throw new FormError('Seul un technicien affecte un élément à une seule tablette.');
		return `device:${v.serial.toUpperCase()}`;
	default: throw new FormError('Choisissez la portée.');
	}
}

function itemOptions(profiles, apps) {
	return [...profiles.map((p) => [`profile:${p.name}`, itemLabel(`profile:${p.name}`, profiles, apps)]),
		...apps.map((a) => [`app:${a.bundle_id}`, itemLabel(`app:${a.bundle_id}`, profiles, apps)])];
}

// profiles(), apps(): the catalogue as it is now (the item list follows it).
function assignForm(session, schools, profiles, apps, reload) {
	const mine = schools.filter((s) => maySchool(session, s.uai));
	const kinds = [];
	if (session.may.admin) kinds.push(['fleet', 'Toute la flotte (socle commun)']);
	kinds.push(['school', 'Un collège'], ['group', 'Un groupe d’un collège']);
	if (session.may.admin) kinds.push(['device', 'Une tablette']);
	return actionForm({
		label: 'Nouvelle affectation',
		fields: [
			field({
				label: 'Élément du catalogue', name: 'item', type: 'select', required: true,
				options: itemOptions(profiles(), apps()),
			}),
			field({ label: 'Portée', name: 'kind', type: 'select', required: true, options: kinds, value: 'school' }),
			field({
				label: 'Collège', name: 'school', type: 'select', hint: 'Pour une portée collège ou groupe.',
				options: [['', '— choisir —'], ...mine.map((s) => [s.uai, `${s.name} (${s.uai})`])],
			}),
			field({
				label: 'Groupe', name: 'group', type: 'select', hint: 'Pour une portée groupe.',
				options: [['pupils', 'Les élèves'], ['teachers', 'Les enseignants'], ['class', 'Une classe']],
			}),
			field({ label: 'Classe', name: 'class_name', hint: 'Pour le groupe « une classe » : son nom, par exemple 5B.' }),
			session.may.admin ? field({ label: 'Tablette (numéro de série)', name: 'serial', hint: 'Pour une portée tablette.' }) : null,
		],
		submit: 'Affecter',
		async action(v) {
			const scope = scopeOf(v, session);
			const got = await inFrench(() => api.post('/api/v1/policy/assignments', { item: v.item, scope }), REFUSALS);
			await reload();
			return `${itemLabel(got.item, profiles(), apps())} affecté : ${scopeLabel(got.scope, schools)}.${reconcileText(got.reconcile)}`;
		},
	});
}

function appForm(reload) {
	return actionForm({
		label: 'Ajouter une application',
		fields: [
			field({ label: 'Nom de l’application', name: 'name', required: true }),
			field({ label: 'Identifiant de paquet (bundle ID)', name: 'bundle_id', required: true, hint: 'Par exemple fr.lumni.app.' }),
			field({ label: 'Identifiant App Store', name: 'store_id', hint: 'Le nombre de l’adresse apps.apple.com/…/id123456789 : 123456789.' }),
			field({ label: 'Licence', name: 'licence', hint: 'Facultatif : par exemple « gratuite » ou le marché.' }),
		],
		submit: 'Ajouter au catalogue',
		async action(v, form) {
			if (!v.name || !v.bundle_id) throw new FormError('Saisissez le nom et l’identifiant de paquet.');
			const body = { name: v.name, bundle_id: v.bundle_id };
			if (v.store_id) {
				if (!/^\d{1,19}$/.test(v.store_id)) throw new FormError('L’identifiant App Store est un nombre.');
				body.store_id = Number(v.store_id);
			}
			if (v.licence) body.licence = v.licence;
			const a = await inFrench(() => api.post('/api/v1/policy/apps', body), REFUSALS);
			form.reset();
			await reload();
			return `« ${a.name} » (${a.bundle_id}) est au catalogue. Affectez-la pour l’installer.`;
		},
	});
}

route('/catalogue', {
	title: 'Catalogue',
	may: 'policy_read',
	nav: 'Catalogue',
	async render(main, params, ctx) {
		const { session } = ctx;
		const schoolsP = session.may.read ? api.get('/api/v1/schools').then((x) => x.schools) : Promise.resolve([]);
		let [profiles, apps, assignments, schools] = await Promise.all([
			api.get('/api/v1/policy/profiles'), api.get('/api/v1/policy/apps'),
			api.get('/api/v1/policy/assignments'), schoolsP,
		]);
		const status = h('section', { 'aria-live': 'polite' });
		const lists = h('div');
		const message = h('div', { 'aria-live': 'polite' });
		const appMessage = h('div', { 'aria-live': 'polite' });

		const scopesOf = (item) => assignments.filter((a) => a.item === item).map((a) => scopeLabel(a.scope, schools));

		async function removeApp(a) {
			appMessage.replaceChildren();
			if (!window.confirm(`Retirer « ${a.name} » du catalogue ? Ses affectations sont retirées et les tablettes la désinstallent.`)) return;
			try {
				const got = await api.del(`/api/v1/policy/apps/${encodeURIComponent(a.bundle_id)}`);
				await reload();
				appMessage.replaceChildren(notice('ok', `« ${a.name} » est retirée du catalogue (${count(got.unassigned)} affectation(s) retirée(s)).${reconcileText(got.reconcile)}`));
			} catch (e) {
				appMessage.replaceChildren(e.status !== undefined ? errorNotice(e, explain(e, REFUSALS)) : notice('erreur', String(e)));
			}
		}

		async function unassign(a) {
			message.replaceChildren();
			if (!window.confirm(`Retirer ${itemLabel(a.item, profiles, apps)} de : ${scopeLabel(a.scope, schools)} ? Les tablettes concernées le désinstalleront.`)) return;
			try {
				const got = await api.del('/api/v1/policy/assignments', { query: { item: a.item, scope: a.scope } });
				await reload();
				message.replaceChildren(notice('ok', `Affectation retirée.${reconcileText(got.reconcile)}`));
			} catch (e) {
				message.replaceChildren(e.status !== undefined ? errorNotice(e, explain(e, REFUSALS)) : notice('erreur', String(e)));
			}
		}

		const profBox = h('div');
		const appBox = h('div');
		const asgBox = h('div');

		function draw() {
			profBox.replaceChildren(table({
				caption: `Profils de configuration (${profiles.length})`,
				columns: [
					{ label: 'Profil', value: (p) => `${p.display_name || p.name} (${p.name})` },
					{ label: 'Contenu', value: (p) => (p.payload_types || []).join(', ') },
					{ label: 'Affecté à', value: (p) => scopesOf(`profile:${p.name}`).join(' ; ') || 'Nulle part' },
					{ label: 'Mis à jour', value: (p) => `${date(p.updated_at || p.created_at)} par ${p.updated_by || p.created_by}` },
				],
				rows: profiles,
				empty: 'Aucun profil au catalogue.',
			}));
			appBox.replaceChildren(table({
				caption: `Applications de l’App Store (${apps.length})`,
				columns: [
					{ label: 'Application', value: (a) => a.name },
					{ label: 'Identifiant de paquet', value: (a) => a.bundle_id },
					{ label: 'Identifiant App Store', value: (a) => (a.store_id ? String(a.store_id) : '—') },
					{ label: 'Licence', value: (a) => a.licence || '—' },
					{ label: 'Affectée à', value: (a) => scopesOf(`app:${a.bundle_id}`).join(' ; ') || 'Nulle part' },
					{ label: 'Ajoutée', value: (a) => `${date(a.created_at)} par ${a.created_by}` },
					...(session.may.admin ? [{
						label: 'Action',
						value: (a) => h('button', { type: 'button', class: 'bouton secondaire', onclick: () => removeApp(a) }, 'Retirer',
							h('span', { class: 'invisible' }, ` ${a.name} du catalogue`)),
					}] : []),
				],
				rows: apps,
				empty: 'Aucune application au catalogue.',
			}));
			asgBox.replaceChildren(table({
				caption: `Où s’applique chaque élément (${assignments.length})`,
				columns: [
					{ label: 'Élément', value: (a) => itemLabel(a.item, profiles, apps) },
					{ label: 'Portée', value: (a) => scopeLabel(a.scope, schools) },
					{ label: 'Depuis', value: (a) => `${date(a.created_at)} (${a.created_by})` },
					{
						label: 'Action',
						value: (a) => (mayChange(session, a.scope)
							? h('button', { type: 'button', class: 'bouton secondaire', onclick: () => unassign(a) }, 'Retirer',
								h('span', { class: 'invisible' }, ` ${itemLabel(a.item, profiles, apps)} de ${scopeLabel(a.scope, schools)}`))
							: '—'),
					},
				],
				rows: assignments,
				empty: 'Aucune affectation.',
			}));
			const items = lists.querySelector('select[name=item]');
			if (items) {
				const keep = items.value;
				items.replaceChildren(...itemOptions(profiles, apps).map(([v, l]) => h('option', { value: v, selected: v === keep }, l)));
			}
		}

		lists.append(
			h('h2', {}, 'Profils'), profBox,
			h('h2', {}, 'Applications'), appMessage, appBox,
			session.may.app_catalogue ? h('section', { class: 'carte', 'aria-labelledby': 'ajout-app' },
				h('h3', { id: 'ajout-app' }, 'Ajouter une application'), appForm(reload)) : null,
			h('h2', {}, 'Affectations'), message, asgBox,
			session.may.admin || maySchoolAny() ? h('section', { class: 'carte', 'aria-labelledby': 'ajout-affectation' },
				h('h3', { id: 'ajout-affectation' }, 'Nouvelle affectation'),
				assignForm(session, schools, () => profiles, () => apps, reload)) : null);

		function maySchoolAny() {
			return (session.schools || []).some((u) => maySchool(session, u));
		}

		async function reload() {
			[profiles, apps, assignments] = await Promise.all([
				api.get('/api/v1/policy/profiles'), api.get('/api/v1/policy/apps'), api.get('/api/v1/policy/assignments'),
			]);
			draw();
			status.replaceChildren(...await statusSection(session, schools));
		}

		draw();
		status.replaceChildren(...await statusSection(session, schools));
		main.append(...heading('Catalogue', 'Les profils et applications que le département et les collèges installent sur les tablettes, et où chacun s’applique.'),
			status, lists);
	},
});
