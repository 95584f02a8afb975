// Session expiry, with a daemon started with [web] session_idle_seconds and
// session_max_seconds a few seconds long (meson.build passes them to
// browser_fixture.py): an idle session ends and the page goes back to the
// sign-in form; activity keeps a session up to its absolute end, not past it.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';

import { account, checkPage, launch, newContext, pageFetch, pathOf, session, shot, signIn } from './lib.mjs';

const IDLE = Number(process.env.ARDOISE_IDLE_SECONDS);
const MAX = Number(process.env.ARDOISE_MAX_SECONDS);

let browser;
before(async () => {
	assert.ok(IDLE > 0 && MAX > IDLE, 'browser_fixture.py --idle-seconds N --max-seconds M (M > N)');
	browser = await launch();
});
after(async () => { await browser?.close(); });

/* seconds from now to an ISO time */
function secondsTo(iso) {
	return (Date.parse(iso) - Date.now()) / 1000;
}

test('an idle session ends: 401, and the page asks to sign in again', async () => {
	const a = account('ati');
	const page = await (await newContext(browser)).newPage();
	await signIn(page, a.name, a.password);
	const s = await session(page);
	const idleLeft = secondsTo(s.idle_expires_at);
	assert.ok(idleLeft > 0 && idleLeft <= IDLE + 1, `idle expiry in about ${IDLE} s: ${s.idle_expires_at}`);
	await sleep((IDLE + 1.5) * 1000);
	assert.equal((await pageFetch(page, 'GET', '/api/v1/session')).status, 401, 'idle past its limit');
	await page.goto('/tablettes');
	await page.waitForURL((u) => u.pathname === '/connexion');
	assert.equal(new URL(page.url()).searchParams.get('suite'), '/tablettes');
	await checkPage(page, '/connexion after expiry');
	await shot(page, 'session-expired');
	// and signing in again brings the person back where they were going
	await signIn(page, a.name, a.password);
	assert.equal(pathOf(page), '/tablettes');
	await page.context().close();
});

test('activity keeps a session until its absolute end, not past it', async () => {
	const a = account('referent');
	const page = await (await newContext(browser)).newPage();
	await signIn(page, a.name, a.password);
	const s = await session(page);
	const left = secondsTo(s.expires_at);
	assert.ok(left > IDLE && left <= MAX + 1, `absolute expiry in about ${MAX} s: ${s.expires_at}`);
	// a request every second: never idle, so alive until expires_at
	let alive = 0;
	while (secondsTo(s.expires_at) > 1) {
		assert.equal((await pageFetch(page, 'GET', '/api/v1/session')).status, 200,
			`alive ${secondsTo(s.expires_at).toFixed(1)} s before the absolute end`);
		alive++;
		await sleep(1000);
	}
	assert.ok(alive > IDLE, 'kept past the idle limit by activity');
	await sleep((secondsTo(s.expires_at) + 1) * 1000);
	assert.equal((await pageFetch(page, 'GET', '/api/v1/session')).status, 401, 'past the absolute end');
	await page.reload();
	await page.waitForURL((u) => u.pathname === '/connexion');
	await page.context().close();
});
