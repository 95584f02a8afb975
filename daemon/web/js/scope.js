// scope.js - the collèges a person sees: their names (GET /api/v1/schools,
// read once per signed-in account) and the select that narrows a list to
// one of them.

import * as api from './api.js';
import { field } from './dom.js';

let cached = null; // { who, list: [{ uai, name, commune }] }

// The collèges of the caller's scope, sorted by name (all of them for the
// fleet-wide roles).
export async function schools(session) {
	if (cached && cached.who === session.name) return cached.list;
	const data = await api.get('/api/v1/schools');
	const list = (data.schools || []).slice().sort((a, b) => a.name.localeCompare(b.name, 'fr'));
	cached = { who: session.name, list };
	return list;
}

// 'Clg N. Sarraute (0131266F)', or the UAI alone when it is not in list.
export function schoolName(list, uai) {
	if (!uai) return '—';
	const s = list.find((x) => x.uai === uai);
	return s ? `${s.name} (${uai})` : uai;
}

// The select of the collèges in list; all: the first option's label (every
// collège of the scope), or null when one must be chosen.
export function schoolField(list, value, { name = 'ecole', label = 'Collège', all = 'Tous mes collèges', required } = {}) {
	const options = list.map((s) => [s.uai, `${s.name}${s.commune ? ` — ${s.commune}` : ''} (${s.uai})`]);
	return field({
		label, name, type: 'select', value: value || '', required,
		options: all ? [['', all], ...options] : options,
	});
}

// The one collège of a caller who has exactly one, else null.
export function onlySchool(list) {
	return list.length === 1 ? list[0].uai : null;
}
