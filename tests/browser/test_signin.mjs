// Signing in, first password through the invitation link, signing out, the
// session cookie, CSRF, and what a référent (or an ATI outside its collèges)
// cannot do whatever the page sends.  axe-core on every page visited.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import {
	account, adminApi, alertText, checkPage, ctl, FIXTURE, input, launch, linkToken, newContext,
	pageFetch, pathOf, ready, session, shot, signIn, submitSignIn, visit,
} from './lib.mjs';

const ROLES = ['technician', 'ati', 'referent', 'auditor'];
// English words a French page must not show to its reader (the server's
// messages are English: a page words its own sentence)
const ENGLISH = /\b(the|your|with|not|no|is|password|wrong|invalid|error|unknown|expired|too|account|sign|found|may)\b/i;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function freshPage() {
	return (await newContext(browser)).newPage();
}

async function sessionCookie(context) {
	return (await context.cookies()).find((c) => c.name === 'ardoise_session' && c.value !== '');
}

async function audit() {
	const r = await adminApi('GET', '/api/v1/audit?limit=10000');
	assert.equal(r.status, 200);
	return r.body.rows;
}

function french(text, what) {
	assert.ok(text.length > 0, `${what}: a message is shown`);
	assert.doesNotMatch(text, ENGLISH, `${what}: the message is in French: ${JSON.stringify(text)}`);
}

for (const role of ROLES) {
	test(`sign-in: the ${role} lands on their home, signed in`, async () => {
		const a = account(role);
		const page = await freshPage();
		await visit(page, '/connexion');
		assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
		await checkPage(page, '/connexion');
		await signIn(page, a.name, a.password);
		// the auditor's home is the geolocation register; the others' the dashboard
		assert.equal(pathOf(page), role === 'auditor' ? '/registre' : '/', 'lands on their home');
		const banner = await page.getByRole('banner').innerText();
		assert.ok(banner.includes(a.display_name) || banner.includes(a.name),
			`the header shows who is signed in: ${JSON.stringify(banner)}`);
		const s = await session(page);
		assert.equal(s.name, a.name);
		assert.equal(s.role, role);
		assert.deepEqual([...s.schools].sort(), [...a.schools].sort());
		assert.equal(await page.getByRole('alert').count(), 0,
			`the home page shows no error: ${await page.getByRole('main').innerText()}`);
		await checkPage(page, `/ (${role})`);
		await shot(page, `signin-home-${role}`);
		const acts = (await audit()).filter((x) => x.action === 'session.signin' && x.target === a.name);
		assert.ok(acts.length >= 1, `the sign-in of ${a.name} is audited`);
		await page.context().close();
	});
}

test('sign-in: a wrong password or an unknown name is refused in French, the same way', async () => {
	const a = account('ati');
	const page = await freshPage();
	await submitSignIn(page, a.name, a.password + 'x');
	const wrong = await alertText(page);
	french(wrong, 'wrong password');
	assert.equal(pathOf(page), '/connexion');
	assert.equal(await sessionCookie(page.context()), undefined, 'no session cookie');
	await checkPage(page, '/connexion with the error shown');
	await shot(page, 'signin-wrong-password');
	await visit(page, '/connexion');
	await submitSignIn(page, 'personne-' + randomBytes(3).toString('hex'), a.password);
	assert.equal(await alertText(page), wrong, 'an unknown name reads exactly like a wrong password');
	assert.equal(await sessionCookie(page.context()), undefined);
	// the refusal is audited with the name given, never the password
	const refused = (await audit()).filter((x) => x.action === 'session.refused' && x.target === a.name);
	assert.ok(refused.length >= 1, 'the refused sign-in is audited');
	assert.ok(!JSON.stringify(refused).includes(a.password), 'no password in the audit log');
	await page.context().close();
});

test('sign-in: after repeated failures the page says to wait, even for the right password', async () => {
	const name = 'essais-' + randomBytes(3).toString('hex');
	const made = await adminApi('POST', '/api/v1/accounts', { name, role: 'auditor' });
	assert.equal(made.status, 201, JSON.stringify(made.body));
	const password = 'Un mot de passe de test ' + randomBytes(4).toString('hex');
	const set = await adminApi('POST', `/api/v1/links/${linkToken(made.body.link)}`, { password });
	assert.equal(set.status, 200, JSON.stringify(set.body));
	const page = await freshPage();
	for (let i = 0; i < 5; i++) {
		await visit(page, '/connexion');
		await submitSignIn(page, name, `faux ${i} ${password}`);
		assert.match(await alertText(page), /incorrect/, `failure ${i + 1} is a plain refusal`);
	}
	const throttled = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/session');
	await visit(page, '/connexion');
	await submitSignIn(page, name, password);
	const res = await throttled;
	assert.equal(res.status(), 429, 'the right password, but throttled');
	assert.ok(Number(res.headers()['retry-after']) > 0, 'Retry-After says how long');
	const wait = await alertText(page);
	french(wait, 'throttled');
	assert.doesNotMatch(wait, /incorrect/, `the page says to wait, not that the password is wrong: ${wait}`);
	assert.equal(await sessionCookie(page.context()), undefined, 'not signed in');
	await checkPage(page, '/connexion throttled');
	await shot(page, 'signin-throttled');
	await page.context().close();
});

test('sign-in: a page asked before signing in is shown after it', async () => {
	const a = account('technician');
	const page = await freshPage();
	await visit(page, '/tablettes');
	await page.waitForURL((u) => u.pathname === '/connexion');
	assert.equal(new URL(page.url()).searchParams.get('suite'), '/tablettes');
	await signIn(page, a.name, a.password);
	assert.equal(pathOf(page), '/tablettes');
	await page.context().close();
});

test('sign-in: a "suite" that leaves the daemon is not followed', async () => {
	const a = account('technician');
	for (const evil of ['https://exemple.invalid/x', '//exemple.invalid/x', '/\\exemple.invalid',
		'/%5Cexemple.invalid', 'javascript:alert(1)']) {
		const page = await freshPage();
		await visit(page, '/connexion?suite=' + encodeURIComponent(evil));
		await signIn(page, a.name, a.password).catch(async (e) => {
			const shown = await page.getByRole('alert').allInnerTexts();
			throw new Error(`suite=${evil}: not signed in (${JSON.stringify(shown)}): ${e.message}`);
		});
		assert.equal(new URL(page.url()).origin, new URL(process.env.ARDOISE_URL).origin, `suite=${evil} stays here`);
		await page.context().close();
	}
});

test('invitation link: first password (too short refused in French), then sign-in; one use', async () => {
	const name = 'invite-' + randomBytes(3).toString('hex');
	const made = await adminApi('POST', '/api/v1/accounts', {
		name, role: 'referent', schools: [FIXTURE.schools.A], display_name: 'Paul Invité',
	});
	assert.equal(made.status, 201, JSON.stringify(made.body));
	const first = linkToken(made.body.link);
	// a new link voids the one account creation printed
	const token = linkToken(ctl('account', 'invite', name));
	assert.notEqual(token, first);
	const page = await freshPage();
	await visit(page, '/lien/' + first);
	french(await alertText(page), 'a voided link');
	await shot(page, 'link-voided');

	await visit(page, '/lien/' + token);
	await input(page, 'Nouveau mot de passe').waitFor();
	assert.ok((await page.getByRole('main').innerText()).includes(name) ||
		(await page.getByRole('main').innerText()).includes('Paul Invité'), 'the page names the account');
	await checkPage(page, '/lien/<token>');
	await shot(page, 'link-form');
	const fill = async (pw, confirm) => {
		await input(page, 'Nouveau mot de passe').fill(pw);
		await input(page, 'Confirmer le mot de passe').fill(confirm);
		await page.getByRole('button', { name: 'Enregistrer le mot de passe' }).click();
	};
	await fill('court', 'court');
	const short = await alertText(page);
	french(short, 'too short');
	assert.match(short, /12/, `the message says the minimum: ${short}`);
	await checkPage(page, '/lien/<token> with the error shown');
	await shot(page, 'link-too-short');
	await page.reload();
	await ready(page);
	await fill('Un mot de passe assez long', 'Un autre mot de passe long');
	french(await alertText(page), 'confirmation differs');
	// the server refuses what the page would not send, and the link survives it
	for (const password of ['court', 'onze-lettre', name, 'x'.repeat(257)]) {
		const r = await pageFetch(page, 'POST', `/api/v1/links/${token}`, { password });
		assert.equal(r.status, 400, `password ${JSON.stringify(password.slice(0, 20))}: ${JSON.stringify(r.body)}`);
	}
	const r = await pageFetch(page, 'POST', `/api/v1/links/${token}`, { password: 42 });
	assert.equal(r.status, 400, 'a password that is not a string');

	const password = 'Été 2025 : ardoise ' + randomBytes(4).toString('hex');
	await page.reload();
	await ready(page);
	await fill(password, password);
	const done = page.getByRole('status').filter({ hasText: /\S/ }).first();
	await done.waitFor({ state: 'visible' });
	french((await done.innerText()).trim(), 'password set');
	await checkPage(page, '/lien/<token> once the password is set');
	await shot(page, 'link-done');
	await page.getByRole('link', { name: 'Se connecter' }).click();
	await page.waitForURL((u) => u.pathname === '/connexion');
	await signIn(page, name, password);
	assert.equal(pathOf(page), '/');
	assert.equal((await session(page)).name, name);
	await shot(page, 'link-signed-in');
	// one use only
	const again = await freshPage();
	await visit(again, '/lien/' + token);
	french(await alertText(again), 'a used link');
	const acts = (await audit()).map((x) => `${x.action} ${x.target}`);
	assert.ok(acts.includes(`account.password_set ${name}`), 'setting the password is audited');
	await page.context().close();
	await again.context().close();
});

test('sign-out: the button ends the session, the old cookie is worth nothing', async () => {
	const a = account('ati');
	const page = await freshPage();
	await signIn(page, a.name, a.password);
	const cookie = await sessionCookie(page.context());
	assert.ok(cookie, 'signed in with a session cookie');
	await page.getByRole('button', { name: 'Se déconnecter' }).click();
	await page.waitForURL((u) => u.pathname === '/connexion');
	await checkPage(page, '/connexion after sign-out');
	await shot(page, 'signout');
	assert.equal(await sessionCookie(page.context()), undefined, 'the cookie is cleared');
	assert.equal((await pageFetch(page, 'GET', '/api/v1/session')).status, 401);
	await visit(page, '/');
	await page.waitForURL((u) => u.pathname === '/connexion');
	// replayed in another browser, the old session id opens nothing
	const other = await newContext(browser);
	await other.addCookies([cookie]);
	const p2 = await other.newPage();
	await visit(p2, '/connexion');
	assert.equal((await pageFetch(p2, 'GET', '/api/v1/session')).status, 401);
	const acts = (await audit()).filter((x) => x.action === 'session.signout' && x.target === a.name);
	assert.ok(acts.length >= 1, 'the sign-out is audited');
	await page.context().close();
	await other.close();
});

test('session cookie: HttpOnly, Secure, SameSite=Strict, out of reach of scripts', async () => {
	const a = account('referent');
	const page = await freshPage();
	await signIn(page, a.name, a.password);
	const c = await sessionCookie(page.context());
	assert.ok(c, 'an ardoise_session cookie');
	assert.equal(c.httpOnly, true, 'HttpOnly');
	assert.equal(c.secure, true, 'Secure');
	assert.equal(c.sameSite, 'Strict', 'SameSite=Strict');
	assert.equal(c.path, '/');
	assert.ok(c.value.length >= 43, 'a 256-bit random id');
	assert.ok(!(await page.evaluate(() => document.cookie)).includes('ardoise_session'),
		'page scripts cannot read it');
	await page.context().close();
});

test('CSRF: a change sent from the page without the session token is refused 403', async () => {
	const a = account('technician');
	const page = await freshPage();
	await signIn(page, a.name, a.password);
	const { csrf } = await session(page);
	assert.ok(typeof csrf === 'string' && csrf.length >= 20, 'the session gives a CSRF token');
	const school = { uai: '0132204A', name: 'Clg Pont de Vivaux', commune: 'Marseille 10e' };
	for (const [token, what] of [[null, 'no header'], ['', 'an empty header'],
		[csrf.slice(0, -1) + (csrf.endsWith('A') ? 'B' : 'A'), 'a wrong token']]) {
		const r = await pageFetch(page, 'POST', '/api/v1/schools', school, token);
		assert.equal(r.status, 403, `${what}: ${JSON.stringify(r.body)}`);
		assert.match(r.body.error.message, /CSRF/, `${what}: the refusal says why`);
	}
	assert.equal((await adminApi('GET', '/api/v1/schools/0132204A')).status, 404, 'nothing was written');
	// signing out is a change too
	assert.equal((await pageFetch(page, 'DELETE', '/api/v1/session')).status, 403);
	assert.equal((await pageFetch(page, 'GET', '/api/v1/session')).status, 200, 'still signed in');
	// with its token the same request goes through
	const ok = await pageFetch(page, 'POST', '/api/v1/schools', school, csrf);
	assert.equal(ok.status, 201, JSON.stringify(ok.body));
	assert.equal((await adminApi('GET', '/api/v1/schools/0132204A')).status, 200);
	await page.context().close();
});

/* What the admin sees of a tablet: its state, loans, incidents, commands. */
async function deviceOf(serial) {
	const r = await adminApi('GET', `/api/v1/devices/${serial}`);
	assert.equal(r.status, 200);
	return r.body;
}

test('référent: forged write requests are refused, another collège is out of sight', async () => {
	const a = account('referent');
	const { A, B } = FIXTURE.tablets;
	const page = await freshPage();
	await signIn(page, a.name, a.password);
	const s = await session(page);
	assert.deepEqual(s.schools, [FIXTURE.schools.A]);
	for (const k of ['loan', 'incident', 'device_action', 'admin', 'audit', 'locate', 'erase'])
		assert.equal(s.may[k], false, `a référent may not ${k}`);
	assert.equal(s.may.read, true);
	const before = {
		stock: await deviceOf(FIXTURE.stock),
		other: await deviceOf(B[1]),
		accounts: (await adminApi('GET', '/api/v1/accounts')).body,
		loans: (await adminApi('GET', '/api/v1/loans?state=all')).body,
	};
	const forged = [
		['POST', '/api/v1/accounts', { name: 'pirate', role: 'technician' }, 'a technician route'],
		['POST', '/api/v1/schools', { uai: '0132212J', name: 'Clg pirate' }, 'a technician route'],
		['POST', '/api/v1/loans', { device: FIXTURE.stock, person: 'E-A3' }, 'a loan in its own collège'],
		['POST', `/api/v1/devices/${A[0]}/lock`, { reason: 'essai' }, 'a lock in its own collège'],
		['POST', `/api/v1/devices/${B[1]}/lock`, { reason: 'essai' }, 'a lock in another collège'],
		['POST', '/api/v1/loans/return', { device: B[0] }, 'a return in another collège'],
		['POST', '/api/v1/incidents', { device: B[1], kind: 'loss', occurred: new Date().toISOString().slice(0, 10) },
			'an incident in another collège'],
	];
	for (const [method, path, body, what] of forged) {
		const r = await pageFetch(page, method, path, body, s.csrf);
		assert.equal(r.status, 403, `${what} (${method} ${path}): ${JSON.stringify(r.body)}`);
	}
	// reading: its own collège yes, another no
	assert.equal((await pageFetch(page, 'GET', `/api/v1/devices/${A[0]}`)).status, 200);
	assert.equal((await pageFetch(page, 'GET', `/api/v1/devices/${B[0]}`)).status, 404);
	const loans = await pageFetch(page, 'GET', '/api/v1/loans');
	assert.equal(loans.status, 200);
	const rows = loans.body.loans;
	assert.ok(rows.length === 2 && rows.every((l) => l.school === FIXTURE.schools.A),
		`only its collège's loans: ${JSON.stringify(rows.map((l) => l.device))}`);
	// the page of a tablet of another collège shows no tablet
	const asked = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/v1/devices/${B[0]}`);
	await visit(page, `/tablettes/${B[0]}`);
	assert.equal((await asked).status(), 404, 'the tablet page asked, the server refused');
	french(await alertText(page), 'a tablet out of sight');
	assert.ok(!(await page.getByRole('main').innerText()).includes('CD13-B'), 'no asset tag of B shown');
	await checkPage(page, '/tablettes/<other collège>');
	await shot(page, 'referent-other-school');
	// nothing changed
	assert.deepEqual(await deviceOf(FIXTURE.stock), before.stock);
	assert.deepEqual(await deviceOf(B[1]), before.other);
	assert.deepEqual((await adminApi('GET', '/api/v1/accounts')).body, before.accounts);
	assert.deepEqual((await adminApi('GET', '/api/v1/loans?state=all')).body, before.loans);
	await page.context().close();
});

test('ATI: a forged change to a tablet outside its collèges is refused', async () => {
	const a = account('ati');
	const [c] = FIXTURE.tablets.C;
	const page = await freshPage();
	await signIn(page, a.name, a.password);
	const { csrf } = await session(page);
	const before = await deviceOf(c);
	const lock = await pageFetch(page, 'POST', `/api/v1/devices/${c}/lock`, { reason: 'essai' }, csrf);
	assert.equal(lock.status, 404, JSON.stringify(lock.body));
	const lend = await pageFetch(page, 'POST', '/api/v1/loans', { device: c, person: 'E-C1' }, csrf);
	assert.ok([403, 404].includes(lend.status), JSON.stringify(lend.body));
	assert.equal((await pageFetch(page, 'GET', `/api/v1/devices/${c}`)).status, 404);
	assert.deepEqual(await deviceOf(c), before, 'no command queued, no loan');
	await page.context().close();
});
