// tablets.js - the list of tablets: filters by state, class, collège and
// contact, a search by serial, asset tag or holder name, pages of the API's
// keyset ("Afficher plus").  The filters live in the query string
// (?etat=&classe=&ecole=&absente=&q=) so that links and "back" keep them.

import * as api from '../api.js';
import { route } from '../app.js';
import { field, filterForm, FormError, heading, href, link, pagedTable } from '../dom.js';
import { dateTime, enrollmentLabel, stateLabel, STATES } from '../fmt.js';
import { schoolField, schoolName, schools } from '../scope.js';

const PAGE = 50;

// The holder of a tablet on loan: { id, name, class } (or its id alone).
export function holderText(holder) {
	if (!holder) return '—';
	if (typeof holder === 'string') return holder;
	return `${holder.name || holder.id}${holder.class ? ` (${holder.class})` : ''}`;
}

// The link to a tablet's page.
export function tabletLink(serial, text) {
	return link(`/tablettes/${encodeURIComponent(serial)}`, text || serial);
}

// The tablet of a serial or an asset tag: its serial (the server says
// whether it exists when nothing here matches exactly).
export async function findTablet(text) {
	const up = text.toUpperCase();
	const rows = (await api.get('/api/v1/devices', { q: text, limit: 20 })).devices || [];
	const exact = rows.filter((d) => d.serial === up || (d.asset_tag || '').toUpperCase() === up);
	if (exact.length > 1) throw new FormError('Plusieurs tablettes portent ce numéro d’inventaire : saisissez le numéro de série.');
	return exact.length ? exact[0].serial : up;
}

function filters(q, list, ctx) {
	return filterForm({
		label: 'Filtrer les tablettes',
		fields: [
			field({ label: 'Rechercher', name: 'q', type: 'search', value: q.q, hint: 'Numéro de série, numéro d’inventaire ou nom de l’élève' }),
			field({ label: 'État', name: 'etat', type: 'select', value: q.etat, options: [['', 'Tous les états'], ...Object.entries(STATES)] }),
			field({ label: 'Classe', name: 'classe', value: q.classe, hint: 'Par exemple 3A' }),
			list.length > 1 ? schoolField(list, q.ecole) : null,
			field({ label: 'Sans contact depuis', name: 'absente', type: 'select', value: q.absente, options: [['', 'Peu importe'], ['7', '7 jours'], ['30', '30 jours']] }),
		],
		go: ctx.go,
		to(v) {
			return href('/tablettes', { q: v.q, etat: v.etat, classe: v.classe, ecole: v.ecole ?? q.ecole, absente: v.absente });
		},
	});
}

route('/tablettes', {
	title: 'Tablettes',
	nav: 'Tablettes',
	may: 'read',
	async render(main, params, ctx) {
		const q = Object.fromEntries(['q', 'etat', 'classe', 'ecole', 'absente'].map((k) => [k, ctx.query.get(k) || '']));
		const list = await schools(ctx.session);
		const query = {
			q: q.q, state: q.etat, class: q.classe, school: q.ecole, not_seen_days: q.absente, limit: PAGE,
		};
		const fetchPage = async (after) => {
			const data = await api.get('/api/v1/devices', { ...query, after });
			return { rows: data.devices || [], next: data.next };
		};
		const first = await fetchPage(null);
		const several = list.length > 1;
		main.append(...heading('Tablettes', 'Les tablettes de vos collèges. Choisissez un numéro de série pour voir la fiche de la tablette.'),
			filters(q, list, ctx),
			pagedTable({
				caption: q.q || q.etat || q.classe || q.ecole || q.absente ? 'Tablettes trouvées' : 'Tablettes',
				columns: [
					{ label: 'Numéro de série', value: (d) => tabletLink(d.serial || d.udid) },
					{ label: 'Inventaire', value: (d) => d.asset_tag || '—' },
					{ label: 'Modèle', value: (d) => d.model || d.model_declared || '—' },
					several ? { label: 'Collège', value: (d) => schoolName(list, d.school) } : null,
					{ label: 'État', value: (d) => stateLabel(d.state) },
					{ label: 'Élève ou enseignant', value: (d) => holderText(d.holder) },
					{ label: 'Dernier contact', value: (d) => dateTime(d.last_seen) },
					{ label: 'Inscription', value: (d) => enrollmentLabel(d.enrollment) },
				].filter(Boolean),
				rows: first.rows,
				empty: 'Aucune tablette ne correspond à ces critères.',
			}, first.next, fetchPage));
	},
});
