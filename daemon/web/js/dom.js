// dom.js - building the pages' elements.  Text is always set as text
// (never parsed as HTML), so whatever the API returns cannot become markup.
// No inline style: the Content-Security-Policy forbids it; classes only.

import { errorText, explain } from './fmt.js';

const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'hidden', 'required', 'multiple']);

function append(el, children) {
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined || c === false) continue;
		el.append(c instanceof Node ? c : String(c));
	}
}

// h('a', { href: '/x', class: 'lien' }, 'texte', child...): an element.
// on<event> attributes take functions; false, null and undefined attributes
// are left out; true sets an empty attribute.
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false) continue;
		if (k.startsWith('on') && typeof v === 'function') {
			el.addEventListener(k.slice(2), v);
		} else if (k === 'class') {
			el.className = v;
		} else if (k === 'dataset') {
			Object.assign(el.dataset, v);
		} else if (PROPS.has(k)) {
			el[k] = v;
			if (k !== 'value') el.setAttribute(k, '');
		} else {
			el.setAttribute(k, v === true ? '' : String(v));
		}
	}
	append(el, children);
	return el;
}

// The page's title (its one h1) with an optional lead paragraph.
export function heading(title, lead) {
	// no null in the array: main.append(...heading(t)) would show "null"
	const h1 = h('h1', { tabindex: '-1' }, title);
	return lead ? [h1, h('p', { class: 'chapo' }, lead)] : [h1];
}

// A message: kind 'ok' | 'info' (role status) or 'erreur' (role alert).
export function notice(kind, text) {
	return h('p', { class: `notice notice-${kind}`, role: kind === 'erreur' ? 'alert' : 'status' }, text);
}

// A refusal of the server in French (errorText()), with the server's own
// words (in French when it has them) folded under "Détail technique".
export function errorNotice(err, text) {
	const n = notice('erreur', text || errorText(err));
	if (!err || !err.message || err.status === 0 || err.status === 401) return n;
	return h('div', { class: 'refus' }, n,
		h('details', { class: 'detail-technique' }, h('summary', {}, 'Détail technique'),
			h('p', { lang: err.english && err.english !== err.message ? 'fr' : 'en' },
				`${err.status} ${err.code || ''} : ${err.message}`)));
}

// A table: columns [{ label, value(row) -> text | Node, class }]; empty: the
// sentence shown when there is no row.
export function table({ caption, columns, rows, empty }) {
	if (!rows || rows.length === 0) return h('p', { class: 'vide' }, empty || 'Aucune ligne.');
	return h('div', { class: 'tableau', tabindex: '0', role: 'region', 'aria-label': caption },
		h('table', {},
			h('caption', {}, caption),
			h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
			h('tbody', {}, rows.map((row) => h('tr', {},
				columns.map((c, i) => (i === 0 && c.header !== false
					? h('th', { scope: 'row', class: c.class }, c.value(row))
					: h('td', { class: c.class }, c.value(row)))))))));
}

let fieldSeq = 0;

// A labelled form control.  type: 'text' (default), 'password', 'email',
// 'date' (a text field typed JJ/MM/AAAA), 'textarea', 'select' (options:
// [[value, label]]), 'checkbox', 'file', 'search'.
export function field({ label, name, type = 'text', value, required, hint, options, autocomplete, id, checked }) {
	const fid = id || `champ-${name}-${++fieldSeq}`;
	const hintId = hint ? `${fid}-aide` : null;
	const common = { id: fid, name, required: !!required, 'aria-describedby': hintId, autocomplete };
	let control;
	if (type === 'select') {
		control = h('select', common, (options || []).map(([v, l]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, l)));
	} else if (type === 'textarea') {
		control = h('textarea', { ...common, rows: 3 });
		control.value = value ?? '';
	} else if (type === 'checkbox') {
		control = h('input', { ...common, type: 'checkbox', checked: !!checked, value: value ?? 'oui' });
		return h('div', { class: 'champ champ-case' }, control, h('label', { for: fid }, label),
			hint ? h('p', { id: hintId, class: 'aide' }, hint) : null);
	} else if (type === 'date') {
		control = h('input', { ...common, type: 'text', inputmode: 'numeric', placeholder: 'JJ/MM/AAAA', value: value ?? '' });
	} else {
		control = h('input', { ...common, type, value: value ?? '' });
	}
	return h('div', { class: 'champ' },
		h('label', { for: fid }, label, required ? h('span', { class: 'requis' }, ' (obligatoire)') : null),
		hint ? h('p', { id: hintId, class: 'aide' }, hint) : null,
		control);
}

// The form's fields as an object of trimmed strings (passwords as typed;
// checkboxes: true/false; files: the File or null).
export function formData(form) {
	const out = {};
	for (const el of form.elements) {
		if (!el.name || el.disabled) continue;
		if (el.type === 'checkbox') out[el.name] = el.checked;
		else if (el.type === 'file') out[el.name] = el.files && el.files[0] ? el.files[0] : null;
		else if (el.type === 'password') out[el.name] = el.value;
		else if (el.tagName !== 'BUTTON') out[el.name] = el.value.trim();
	}
	return out;
}

// A form that runs action(values, form) when sent: the button is disabled
// meanwhile, a refusal is shown in French in the form's message area
// (role alert), and what action returns (a string or a Node) is shown as
// done.  fields: Nodes (field()...).
export function actionForm({ label, fields, submit, action, className }) {
	const msg = h('div', { class: 'message', 'aria-live': 'polite' });
	const button = h('button', { type: 'submit', class: 'bouton' }, submit);
	const form = h('form', { class: className || 'formulaire', 'aria-label': label, novalidate: true },
		fields, h('div', { class: 'actions' }, button), msg);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		button.disabled = true;
		msg.replaceChildren();
		try {
			const done = await action(formData(form), form);
			if (done) msg.replaceChildren(done instanceof Node ? done : notice('ok', done));
		} catch (e) {
			msg.replaceChildren(e && e.status !== undefined ? errorNotice(e) : notice('erreur', e.message));
		} finally {
			button.disabled = false;
		}
	});
	return form;
}

// A refusal of the page's own checks, shown like the server's.
export class FormError extends Error {}

// "Afficher plus" when the list has a next page: onMore(next) appends it.
export function pager(next, onMore) {
	if (!next) return null;
	const b = h('button', { type: 'button', class: 'bouton secondaire' }, 'Afficher plus');
	b.addEventListener('click', async () => {
		b.disabled = true;
		try {
			await onMore(next);
			b.remove();
		} finally {
			b.disabled = false;
		}
	});
	return h('div', { class: 'pager' }, b);
}

// A link in the application (the router follows it without reloading).
export function link(href, text, attrs = {}) {
	return h('a', { href, ...attrs }, text);
}

// A figure of the dashboard: a number and what it counts.
export function figure(value, text, kind) {
	return h('div', { class: `chiffre${kind ? ` chiffre-${kind}` : ''}` },
		h('span', { class: 'valeur' }, value), h('span', { class: 'libelle' }, text));
}

// A path with the non-empty values of query: href('/tablettes', { etat: 'loaned' }).
export function href(path, query) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(query || {})) {
		if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
	}
	const s = q.toString();
	return s ? `${path}?${s}` : path;
}

// A word in a frame: kind 'ok' | 'erreur' | 'attention' colours it, the
// word says it (never the colour alone).
export function tag(text, kind) {
	return h('span', { class: `etiquette${kind ? ` etiquette-${kind}` : ''}` }, text);
}

// A description list: pairs [[term, value (text | Node)]]; a null value
// leaves its pair out.
export function facts(pairs) {
	return h('dl', { class: 'fiche' }, pairs.filter((p) => p[1] !== null && p[1] !== undefined)
		.map(([t, v]) => [h('dt', {}, t), h('dd', {}, v)]));
}

// A table that grows with "Afficher plus": spec as table() with its first
// rows and next (the API's cursor); more(next) -> { rows, next } fetches
// the following page, appended under the same headings; the focus moves
// to the first new row.
export function pagedTable(spec, next, more) {
	const box = h('div', {});
	let shown = spec.rows.length;
	const status = h('p', { class: 'aide', role: 'status' });
	const grow = async (cursor) => {
		const page = await more(cursor);
		const body = box.querySelector('tbody');
		const extra = table({ ...spec, rows: page.rows });
		const added = extra.querySelectorAll ? [...extra.querySelectorAll('tbody > tr')] : [];
		body.append(...added);
		shown += added.length;
		status.textContent = `${shown} lignes affichées.`;
		if (added[0]) {
			const first = added[0].firstElementChild;
			first.setAttribute('tabindex', '-1');
			first.focus();
		}
		const p = pager(page.next, grow);
		if (p) box.append(p);
	};
	box.append(table(spec), status, pager(next, grow) || '');
	return box;
}

// Puts node (a result) where box (the form that made it) was, and moves
// the focus there: the form has done its work.
export function settle(box, node) {
	node.setAttribute('tabindex', '-1');
	box.replaceWith(node);
	node.focus();
	return null;
}

// What a form's action throws for a refused request: a FormError with the
// French sentence of the first of rules that matches (fmt.js explain()),
// else the ApiError itself, which actionForm shows with errorNotice().
export function refusal(err, rules) {
	if (!err || err.status === undefined) return err;
	const text = explain(err, rules, null);
	return text === null ? err : new FormError(text);
}

// Runs call(); a refusal of the server that rules ([[status, RegExp,
// say]], explain()) foresee becomes a FormError in French, any other goes
// on as it is (actionForm() shows it with errorNotice()).
export async function inFrench(call, rules) {
	try {
		return await call();
	} catch (e) {
		throw refusal(e, rules);
	}
}

// A filter form (role search): "Afficher" goes to the address to(values)
// gives, so that the filters stay in the query string (links and back
// work); to() may throw a FormError.
export function filterForm({ label, fields, to, go }) {
	const form = actionForm({
		label,
		className: 'formulaire enligne',
		fields,
		submit: 'Afficher',
		async action(v) {
			go(to(v));
		},
	});
	form.setAttribute('role', 'search');
	return form;
}
