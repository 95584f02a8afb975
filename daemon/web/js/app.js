// app.js - the router: which page a path shows, to whom, and the frame
// around it (navigation, the signed-in person, sign-out).
//
// A page module calls route(pattern, { title, may, nav, public, render }):
//   pattern  '/tablettes/:serial' (':name' matches one segment)
//   title    the page's title, or a function of its params
//   may      null (anyone signed in), a key of the session's `may`
//            ('loan', 'admin'...), or a function (session) => bool.  The
//            page is then hidden from the others; the server refuses their
//            requests whatever a page sends.
//   nav      the label in the main navigation (null: not in it)
//   public   true for the pages shown without a session (sign-in, link)
//   render   async (main, params, ctx) => void: fills main;
//            ctx = { session, query, go(path), refresh() }
// main's aria-busy turns false when the page is ready (the tests wait on it).

import * as api from './api.js';
import { errorNotice, h, notice } from './dom.js';
import { errorText, roleLabel } from './fmt.js';

const routes = [];
let session = null;
let showing = 0;

export function route(pattern, opts) {
	const names = [];
	const src = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
		.replace(/\/:([a-z_]+)/g, (_, n) => {
			names.push(n);
			return '/([^/]+)';
		});
	routes.push({ ...opts, pattern, names, re: new RegExp(`^${src}/?$`) });
}

export function allowed(r, s) {
	if (r.public) return true;
	if (!s) return false;
	if (!r.may) return true;
	if (typeof r.may === 'function') return !!r.may(s);
	return !!(s.may && s.may[r.may]);
}

export function currentSession() {
	return session;
}

// Forgets the session (after sign-out) or takes a new one (after sign-in).
export function setSession(s) {
	session = s;
	api.setCsrf(s ? s.csrf : '');
}

export async function loadSession() {
	try {
		setSession(await api.get('/api/v1/session', null, { quiet401: true }));
	} catch (e) {
		if (e.status !== 401) throw e;
		setSession(null);
	}
	return session;
}

export function go(path, replace = false) {
	history[replace ? 'replaceState' : 'pushState'](null, '', path);
	show(true);
}

function find(path) {
	for (const r of routes) {
		const m = r.re.exec(path);
		if (m) {
			const params = {};
			r.names.forEach((n, i) => {
				params[n] = decodeURIComponent(m[i + 1]);
			});
			return { r, params };
		}
	}
	return null;
}

function renderNav(path) {
	const nav = document.getElementById('navigation');
	if (!session) {
		nav.hidden = true;
		nav.replaceChildren();
		return;
	}
	const items = routes.filter((r) => r.nav && allowed(r, session));
	nav.hidden = false;
	nav.replaceChildren(h('ul', {}, items.map((r) => {
		const here = r.pattern === '/' ? path === '/' : path === r.pattern || path.startsWith(`${r.pattern}/`);
		return h('li', {}, h('a', { href: r.pattern, 'aria-current': here ? 'page' : null }, r.nav));
	})));
}

async function signOut() {
	try {
		await api.del('/api/v1/session', { quiet401: true });
	} catch (e) {
		// an expired session is signed out already
	}
	setSession(null);
	go('/connexion', true);
}

function renderAccount() {
	const box = document.getElementById('compte');
	if (!session) {
		box.replaceChildren();
		return;
	}
	box.replaceChildren(
		h('p', { class: 'qui' }, session.display_name || session.name,
			h('span', { class: 'role' }, ` — ${roleLabel(session.role)}`)),
		h('button', { type: 'button', class: 'bouton secondaire', onclick: signOut }, 'Se déconnecter'));
}

function titleOf(r, params) {
	return typeof r.title === 'function' ? r.title(params) : r.title;
}

function problem(main, title, text) {
	document.title = `${title} — Ardoise`;
	main.replaceChildren(h('h1', { tabindex: '-1' }, title), notice('erreur', text));
}

// Shows the page of the current location.  moved: focus its title (a
// navigation inside the application, for screen readers).
export async function show(moved = false) {
	const seq = ++showing;
	const main = document.getElementById('contenu');
	const path = location.pathname;
	main.setAttribute('aria-busy', 'true');
	const found = find(path);
	if (found && !found.r.public && !session) {
		try {
			await loadSession();
		} catch (e) {
			problem(main, 'Ardoise indisponible', errorText(e));
			main.setAttribute('aria-busy', 'false');
			return;
		}
		if (seq !== showing) return;
		if (!session) {
			go(api.signInPath(), true);
			return;
		}
	}
	renderAccount();
	renderNav(path);
	if (!found) {
		problem(main, 'Page introuvable', 'Cette adresse ne correspond à aucune page d’Ardoise.');
	} else if (!allowed(found.r, session)) {
		problem(main, 'Page réservée', 'Cette page n’est pas ouverte à votre compte.');
	} else {
		const page = h('div', { class: 'page' });
		document.title = `${titleOf(found.r, found.params)} — Ardoise`;
		try {
			await found.r.render(page, found.params, {
				session,
				query: new URLSearchParams(location.search),
				go,
				refresh: () => show(false),
			});
		} catch (e) {
			if (seq !== showing) return;
			page.replaceChildren(h('h1', { tabindex: '-1' }, titleOf(found.r, found.params)),
				e && e.status !== undefined ? errorNotice(e) : notice('erreur', String(e)));
		}
		if (seq !== showing) return;
		main.replaceChildren(...page.childNodes);
	}
	main.setAttribute('aria-busy', 'false');
	if (moved) {
		const h1 = main.querySelector('h1');
		(h1 || main).focus();
	}
}

function follow(ev) {
	if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
	const a = ev.target.closest('a[href]');
	if (!a || a.target || a.hasAttribute('download')) return;
	const url = new URL(a.href, location.href);
	if (url.origin !== location.origin || url.pathname.startsWith('/static/') || url.pathname.startsWith('/api/')) return;
	if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
	ev.preventDefault();
	go(url.pathname + url.search);
}

export function start() {
	document.addEventListener('click', follow);
	window.addEventListener('popstate', () => show(true));
	show(false);
}
