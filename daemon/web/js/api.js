// api.js - the pages' one way to the daemon's JSON API.
//
// Every call goes to the same origin with the session cookie; a change
// (anything but GET) carries the session's CSRF token in X-CSRF-Token.
// The server is asked for French (Accept-Language): a refusal's message
// comes in French, its English in `english` (what explain() rules match).
// A refusal becomes an ApiError (status, code, message, retryAfter); a 401
// sends the person to the sign-in page, back here afterwards, unless the
// caller asks { quiet401: true } (the sign-in page itself).

export class ApiError extends Error {
	constructor(status, code, message, retryAfter) {
		super(message);
		this.status = status;
		this.code = code;
		this.retryAfter = retryAfter;
	}
}

let csrf = '';

export function setCsrf(token) {
	csrf = token || '';
}

function withQuery(path, query) {
	if (!query) return path;
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(query)) {
		if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
	}
	const s = q.toString();
	return s ? `${path}?${s}` : path;
}

export function signInPath() {
	const here = location.pathname + location.search;
	return here.startsWith('/connexion') ? here : `/connexion?suite=${encodeURIComponent(here)}`;
}

async function call(method, path, { query, json, text, contentType, quiet401 } = {}) {
	const headers = { Accept: 'application/json', 'Accept-Language': 'fr' };
	let body;
	if (json !== undefined) {
		headers['Content-Type'] = 'application/json';
		body = JSON.stringify(json);
	} else if (text !== undefined) {
		headers['Content-Type'] = contentType || 'text/plain; charset=utf-8';
		body = text;
	}
	if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
	let res;
	try {
		res = await fetch(withQuery(path, query), {
			method,
			headers,
			body,
			credentials: 'same-origin',
			cache: 'no-store',
		});
	} catch (e) {
		throw new ApiError(0, 'network', 'network error');
	}
	let data = null;
	const raw = await res.text();
	if (raw) {
		try {
			data = JSON.parse(raw);
		} catch (e) {
			data = null;
		}
	}
	if (!res.ok) {
		const err = data && data.error ? data.error : {};
		const e = new ApiError(res.status, err.code || '', err.message || res.statusText,
			Number(res.headers.get('Retry-After')) || 0);
		e.english = err.message_en || e.message; // the server's English words
		e.body = data; // the whole answer: an import's 422 lists its bad lines
		if (res.status === 401 && !quiet401) location.assign(signInPath());
		throw e;
	}
	return data;
}

export function get(path, query, opts = {}) {
	return call('GET', path, { ...opts, query });
}

export function post(path, body, opts = {}) {
	return call('POST', path, { ...opts, json: body ?? {} });
}

export function put(path, body, opts = {}) {
	return call('PUT', path, { ...opts, json: body ?? {} });
}

export function del(path, opts = {}) {
	return call('DELETE', path, opts);
}

// A file's text (CSV) as the body: imports.
export function postText(path, text, contentType, query, opts = {}) {
	return call('POST', path, { ...opts, text, contentType, query });
}
