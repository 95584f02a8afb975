// lib.mjs - what every browser test shares: Debian's chromium driven by
// playwright-core against the ardoised that browser_fixture.py started, the
// fixture's accounts and fleet, sign-in, the axe-core check, screenshots and
// PDFs.  The environment comes from browser_fixture.py (its docstring lists it).
//
// TLS stays checked: chromium does not know the daemon's test CA, and
// instead of ignoring every certificate error (ignoreHTTPSErrors) it is told
// to accept exactly one public key, the daemon's server certificate's, with
// --ignore-certificate-errors-spki-list=<base64 SHA-256 of its
// SubjectPublicKeyInfo>.  Any other certificate is still refused
// (test_harness.mjs shows a browser without the flag refusing this one).

import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

function need(name) {
	const v = process.env[name];
	if (!v)
		throw new Error(`${name} is not set: run the browser tests through browser_fixture.py ` +
				`(meson test -C build --suite browser)`);
	return v;
}

export const URL_BASE = need('ARDOISE_URL');
export const ACCOUNTS = JSON.parse(need('ARDOISE_ACCOUNTS')); // role -> {name, password, display_name, schools}
export const FIXTURE = JSON.parse(need('ARDOISE_FIXTURE'));
export const SCREENSHOTS = need('ARDOISE_SCREENSHOTS');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/* base64 SHA-256 of the SubjectPublicKeyInfo of the PEM certificate at path */
export function spkiHash(path) {
	const cert = new X509Certificate(readFileSync(path));
	const der = cert.publicKey.export({ type: 'spki', format: 'der' });
	return createHash('sha256').update(der).digest('base64');
}

/* Headless chromium; trustServer false leaves out the SPKI flag (to show
 * that the daemon's certificate is refused without it). */
export async function launch({ trustServer = true } = {}) {
	const args = [
		// the machine has no network beyond loopback: no background traffic
		'--disable-background-networking', '--disable-component-update', '--disable-sync',
		'--no-first-run', '--disable-quic', '--disable-gpu',
	];
	if (trustServer)
		args.push('--ignore-certificate-errors-spki-list=' + spkiHash(need('ARDOISE_SERVER_CERT')));
	return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/* A fresh context (its own cookies) in French, Paris time, A4-ish width. */
export async function newContext(browser, options = {}) {
	const context = await browser.newContext({
		baseURL: URL_BASE, locale: 'fr-FR', timezoneId: 'Europe/Paris',
		viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: false, ...options,
	});
	context.setDefaultTimeout(10000); // a page of this daemon is there in well under a second
	return context;
}

export function account(role) {
	const a = ACCOUNTS[role];
	assert.ok(a, `the fixture has an account for the role ${role}`);
	return a;
}

export function pathOf(page) {
	return new URL(page.url()).pathname;
}

/* Waits until the page shown is ready: app.js turns main's aria-busy to
 * false once a page has rendered. */
export async function ready(page) {
	await page.locator('main#contenu[aria-busy="false"]').waitFor({ state: 'attached', timeout: 15000 });
}

/* Goes to path (of the daemon) and waits for its page to be ready. */
export async function visit(page, path) {
	const res = await page.goto(path);
	await ready(page);
	return res;
}

/* A field's label as the pages write it: the text, then maybe more
 * ("Nom du compte (obligatoire)"); "Mot de passe" does not match "Nouveau
 * mot de passe". */
export function label(text) {
	return new RegExp('^' + text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '(\\s|$)');
}

/* The form control labelled text (not a form or region that carries the
 * same words as its aria-label). */
export function input(page, text) {
	return page.getByLabel(label(text)).and(page.locator('input, select, textarea'));
}

/* Fills the sign-in form (/connexion) and sends it; does not wait for where
 * it lands (signIn does; a refused sign-in stays on /connexion). */
export async function submitSignIn(page, name, password) {
	if (pathOf(page) !== '/connexion')
		await visit(page, '/connexion');
	await input(page, 'Nom du compte').fill(name);
	await input(page, 'Mot de passe').fill(password);
	await page.getByRole('button', { name: 'Se connecter' }).click();
}

/* Signs in through the page and waits until it has left /connexion with the
 * sign-out button shown. */
export async function signIn(page, name, password) {
	await submitSignIn(page, name, password);
	await page.waitForURL((u) => u.pathname !== '/connexion', { timeout: 15000 });
	await page.getByRole('button', { name: 'Se déconnecter' }).waitFor({ state: 'visible' });
	await ready(page);
}

/* The text of the page's role="alert" element (waits for one to show). */
export async function alertText(page) {
	const alert = page.getByRole('alert').filter({ hasText: /\S/ }).first();
	await alert.waitFor({ state: 'visible', timeout: 10000 });
	return (await alert.innerText()).trim();
}

/* One request from inside the page, as the page's own code would send it
 * (the cookie goes along); csrf: the X-CSRF-Token value, or null for none.
 * Returns {status, body} with body parsed as JSON when it is. */
export async function pageFetch(page, method, path, body = undefined, csrf = null) {
	return page.evaluate(async ({ method, path, body, csrf }) => {
		const headers = {};
		if (body !== undefined)
			headers['Content-Type'] = 'application/json';
		if (csrf !== null)
			headers['X-CSRF-Token'] = csrf;
		const r = await fetch(path, {
			method, headers, credentials: 'same-origin',
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await r.text();
		let parsed = text;
		try { parsed = JSON.parse(text); } catch { /* not JSON */ }
		return { status: r.status, body: parsed };
	}, { method, path, body, csrf });
}

/* The session object (GET /api/v1/session) as the page sees it. */
export async function session(page) {
	const r = await pageFetch(page, 'GET', '/api/v1/session');
	assert.equal(r.status, 200, `GET /api/v1/session: ${JSON.stringify(r.body)}`);
	return r.body;
}

/* The API as the admin technician with its bearer token (setup and checks
 * made outside the browser; TLS checked against the test CA). */
export function adminApi(method, path, body = undefined) {
	const ca = readFileSync(need('ARDOISE_CA'));
	const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
	return new Promise((resolve, reject) => {
		const req = request(URL_BASE + path, {
			method, ca,
			headers: {
				Authorization: 'Bearer ' + need('ARDOISE_ADMIN_TOKEN'),
				...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
			},
		}, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				let parsed = text;
				try { parsed = JSON.parse(text); } catch { /* not JSON */ }
				resolve({ status: res.statusCode, headers: res.headers, body: parsed });
			});
		});
		req.on('error', reject);
		if (data)
			req.write(data);
		req.end();
	});
}

/* ardoisectl as the admin technician, in English (LANG=C, as harness.py's
 * ctl()); returns its stdout (exit 0 asserted). */
export function ctl(...args) {
	const out = spawnSync(need('ARDOISECTL'), args, {
		encoding: 'utf8', timeout: 60000,
		env: { ...process.env, ARDOISE_URL: URL_BASE, ARDOISE_CA: need('ARDOISE_CA'),
		       ARDOISE_TOKEN: need('ARDOISE_ADMIN_TOKEN'), LANG: 'C', LC_ALL: 'C' },
	});
	assert.equal(out.status, 0, `ardoisectl ${args.join(' ')}: ${out.stderr}`);
	return out.stdout;
}

/* The token of the first invitation link (…/lien/<token>) in text. */
export function linkToken(text) {
	const m = /\/lien\/([A-Za-z0-9_-]+)/.exec(text);
	assert.ok(m, `an invitation link in ${JSON.stringify(text)}`);
	return m[1];
}

// what a page shows when it printed a missing value instead of a word
const JUNK = /(^|[^\p{L}])(null|undefined|NaN|\[object \w+\])(?![\p{L}])/u;

/* What every page must pass: no missing value shown as text ("null",
 * "undefined", "NaN", "[object Object]"), and axeCheck. */
export async function checkPage(page, what = pathOf(page)) {
	const text = await page.locator('body').innerText();
	const m = JUNK.exec(text);
	assert.ok(!m, `${what} shows ${JSON.stringify(m && m[2])}: ` +
		JSON.stringify(m && text.slice(Math.max(0, m.index - 60), m.index + 60)));
	return axeCheck(page, what);
}

const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/* axe-core on the page as it is now: asserts 0 violations of WCAG 2.1 A and
 * AA (RGAA), listing each violation (rule, impact, help, the elements) when
 * there are some.
 *
 * The page's CSP forbids inline scripts, so axe cannot be added as a script
 * tag (page.addScriptTag inlines it) and the context is not opened with
 * bypassCSP (that would test a page without its real CSP).  axe's source is
 * evaluated through the DevTools protocol in an isolated world of the main
 * frame (Page.createIsolatedWorld): it shares the DOM with the page but not
 * its JavaScript globals, DevTools evaluation is not subject to the page's
 * CSP, and the page's own code never sees axe. */
export async function axeCheck(page, what = pathOf(page)) {
	const world = await axeWorld(page);
	const run = await world.cdp.send('Runtime.evaluate', {
		contextId: world.contextId, awaitPromise: true, returnByValue: true,
		expression: `axe.run(document, {runOnly: {type: 'tag', values: ${JSON.stringify(AXE_TAGS)}},
			resultTypes: ['violations']}).then((r) => JSON.stringify(r.violations))`,
	});
	assert.ok(!run.exceptionDetails, `axe-core runs: ${JSON.stringify(run.exceptionDetails)}`);
	const violations = JSON.parse(run.result.value);
	assert.ok(violations.length === 0,
		`axe-core (WCAG 2.1 AA) on ${what}: ${violations.length} violation(s)\n` + describe(violations));
	return violations;
}

/* The isolated world holding axe for the page's current document: made
 * and loaded (~0.5 MB of script) once per document, not once per check;
 * a new document (its loaderId changes) gets a new one. */
async function axeWorld(page) {
	const known = page.ardoiseAxe;
	const cdp = known ? known.cdp : await page.context().newCDPSession(page);
	const { frameTree } = await cdp.send('Page.getFrameTree');
	if (known && known.loaderId === frameTree.frame.loaderId)
		return known;
	const { executionContextId } = await cdp.send('Page.createIsolatedWorld', {
		frameId: frameTree.frame.id, worldName: 'ardoise-axe',
	});
	const load = await cdp.send('Runtime.evaluate', {
		expression: require('axe-core').source, contextId: executionContextId,
	});
	assert.ok(!load.exceptionDetails, `axe-core loads: ${JSON.stringify(load.exceptionDetails)}`);
	page.ardoiseAxe = { cdp, loaderId: frameTree.frame.loaderId, contextId: executionContextId };
	return page.ardoiseAxe;
}

function describe(violations) {
	return violations.map((v) => `- ${v.id} (${v.impact}): ${v.help}\n  ${v.helpUrl}\n` +
		v.nodes.map((n) => `    at ${n.target.join(' ')}: ${n.failureSummary.replace(/\n/g, ' / ')}`)
			.join('\n')).join('\n');
}

function safeName(name) {
	assert.match(name, /^[a-z0-9][a-z0-9._-]*$/, `a file name: ${name}`);
	return name;
}

/* A full-page PNG of the page under the screenshot dir; returns its path. */
export async function shot(page, name) {
	mkdirSync(SCREENSHOTS, { recursive: true });
	const path = join(SCREENSHOTS, safeName(name) + '.png');
	await page.screenshot({ path, fullPage: true });
	const head = readFileSync(path).subarray(0, 8);
	assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${path} is a PNG`);
	return path;
}

/* The page printed to PDF (A4, its print stylesheet) under the screenshot
 * dir; asserts it is a PDF with at least one page; returns {path, pages}. */
export async function pdf(page, name) {
	mkdirSync(SCREENSHOTS, { recursive: true });
	const path = join(SCREENSHOTS, safeName(name) + '.pdf');
	const bytes = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
	writeFileSync(path, bytes);
	const pages = pdfPages(bytes);
	assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-', `${path} starts as a PDF`);
	assert.ok(/%%EOF\s*$/.test(bytes.subarray(-32).toString('latin1')), `${path} ends as a PDF`);
	assert.ok(pages >= 1, `${path} has at least one page`);
	return { path, pages };
}

/* Pages of a PDF: its /Type /Page objects (chromium's PDFs keep them out of
 * compressed object streams). */
export function pdfPages(bytes) {
	return (Buffer.from(bytes).toString('latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g) || []).length;
}
