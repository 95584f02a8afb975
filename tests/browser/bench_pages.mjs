// bench_pages.mjs - how long the pages take in a real headless chromium, over
// the fleet of tools/bench-web (run by `tools/bench-web --browser`, which
// gives it lib.mjs's environment: the daemon, its server certificate, the
// référent of the 1,000-tablet collège and a technician, each with a
// password set through their one-time link).  Not a test: nothing is
// asserted; it prints one line of JSON (the times of every run, in ms) that
// tools/bench-web turns into medians beside the targets.
//
//   node bench_pages.mjs RUNS
//
// Each page is visited RUNS times after one visit not counted (the daemon's
// caches, chromium's code cache), in a signed-in tab whose HTTP cache holds
// the assets (they come back as 304s, Cache-Control: no-cache); the
// dashboards also in a fresh context each time (same session cookie, empty
// cache: a new TLS connection and every asset sent again), the first visit
// of the day.  For each visit:
//   ready     performance.now() in the page when main's aria-busy turned
//             false (app.js does so once the page has rendered): the time
//             since the navigation started, as the page itself measures it
//   wall      page.goto() to ready as the test sees it (lib.mjs's visit())
//   timing    from the Navigation Timing entry: connect (TCP + TLS), the
//             document's request to its first byte, its end, the first
//             asset (/static/) asked and the last one received (Resource
//             Timing), DOMContentLoaded (the module scripts have run);
//             and each /api/ call of the page (Resource Timing: start,
//             duration)
// "Afficher plus": performance.now() in the page from the click to the
// next page's rows in the table.

import { performance as nodeNow } from 'node:perf_hooks';

import { ACCOUNTS, FIXTURE, launch, newContext, signIn, visit } from './lib.mjs';

const RUNS = Number(process.argv[2] || 10);

// In every document, before its own scripts: the moment main#contenu's
// aria-busy first turns "false" (a MutationObserver's callback runs as a
// microtask right after the attribute is set, before anything is painted).
function watchReady() {
	window.__ardoiseReady = null;
	new MutationObserver((changes, obs) => {
		for (const c of changes) {
			if (c.target.id === 'contenu' && c.target.getAttribute('aria-busy') === 'false') {
				window.__ardoiseReady = performance.now();
				obs.disconnect();
				return;
			}
		}
	}).observe(document, { subtree: true, attributes: true, attributeFilter: ['aria-busy'] });
}

// The page's own figures once it is ready (selector: what shows that the
// figures are there).
async function pageTimes(page, selector) {
	return page.evaluate((sel) => {
		const nav = performance.getEntriesByType('navigation')[0];
		const api = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/'))
			.map((e) => ({ path: new URL(e.name).pathname + new URL(e.name).search, start: e.startTime, ms: e.duration }));
		const assets = performance.getEntriesByType('resource').filter((e) => e.name.includes('/static/'));
		return {
			ready: window.__ardoiseReady,
			shown: document.querySelectorAll(sel).length,
			connect: nav.connectEnd - nav.connectStart,
			ttfb: nav.responseStart - nav.requestStart,
			doc_end: nav.responseEnd,
			dcl: nav.domContentLoadedEventEnd,
			assets: assets.length,
			assets_start: assets.reduce((m, e) => Math.min(m, e.startTime), Infinity),
			assets_end: assets.reduce((m, e) => Math.max(m, e.responseEnd), 0),
			api,
		};
	}, selector);
}

async function visitTimed(page, path, selector) {
	const t0 = nodeNow.now();
	await visit(page, path);
	const wall = nodeNow.now() - t0;
	const t = await pageTimes(page, selector);
	if (t.ready === null || !t.shown)
		throw new Error(`${path}: not ready with its figures (${selector}): ${JSON.stringify(t)}`);
	return { ...t, wall };
}

async function signedIn(browser, role) {
	const a = ACCOUNTS[role];
	const context = await newContext(browser);
	await context.addInitScript(watchReady);
	const page = await context.newPage();
	page.on('pageerror', (e) => process.stderr.write(`bench_pages: script error: ${e.message}\n`));
	await signIn(page, a.name, a.password);
	return { context, page, state: await context.storageState() };
}

// RUNS visits of path in the signed-in tab (warm cache), after one not counted.
async function warm(tab, path, selector) {
	await visitTimed(tab.page, path, selector);
	const runs = [];
	for (let i = 0; i < RUNS; i++)
		runs.push(await visitTimed(tab.page, path, selector));
	return runs;
}

// RUNS visits of path, each in a new context with the session's cookie.
async function cold(browser, tab, path, selector) {
	const runs = [];
	for (let i = 0; i < RUNS; i++) {
		const context = await newContext(browser, { storageState: tab.state });
		await context.addInitScript(watchReady);
		const page = await context.newPage();
		runs.push(await visitTimed(page, path, selector));
		await context.close();
	}
	return runs;
}

// RUNS times: the list at path, then "Afficher plus" timed in the page from
// the click to its rows appended.
async function more(tab, path) {
	const runs = [];
	for (let i = 0; i <= RUNS; i++) {
		await visit(tab.page, path);
		const r = await tab.page.evaluate(() => new Promise((resolve, reject) => {
			const body = document.querySelector('main table tbody');
			const before = body.rows.length;
			const button = [...document.querySelectorAll('main button')].find((b) => b.textContent === 'Afficher plus');
			if (!button) {
				reject(new Error('no "Afficher plus" button'));
				return;
			}
			const seen = performance.getEntriesByType('resource').length;
			const t0 = performance.now();
			new MutationObserver((changes, obs) => {
				if (body.rows.length > before) {
					const ms = performance.now() - t0;
					obs.disconnect();
					const api = performance.getEntriesByType('resource').slice(seen)
						.filter((e) => e.name.includes('/api/'))
						.map((e) => ({ path: new URL(e.name).pathname + new URL(e.name).search, start: e.startTime - t0, ms: e.duration }));
					resolve({ ready: ms, rows: body.rows.length - before, api });
				}
			}).observe(body, { childList: true });
			button.click();
		}));
		if (i > 0)
			runs.push(r);
	}
	return runs;
}

async function main() {
	const browser = await launch();
	const big = FIXTURE.school;
	const out = { runs: RUNS, chromium: browser.version() };
	try {
		const ref = await signedIn(browser, 'referent');
		const tech = await signedIn(browser, 'technician');
		const FIGURES = 'main ul.chiffres .valeur';
		const ROWS = 'main table tbody tr';
		out.referent_dashboard_cold = await cold(browser, ref, '/', FIGURES);
		out.referent_dashboard = await warm(ref, '/', FIGURES);
		out.fleet_dashboard_cold = await cold(browser, tech, '/', ROWS);
		out.fleet_dashboard = await warm(tech, '/', ROWS);
		out.tablets = await warm(tech, '/tablettes', ROWS);
		out.tablets_school = await warm(ref, `/tablettes?ecole=${big}`, ROWS);
		out.tablets_school_tech = await warm(tech, `/tablettes?ecole=${big}`, ROWS);
		out.more = await more(tech, '/tablettes');
		out.more_school = await more(ref, `/tablettes?ecole=${big}`);
		out.tablet = await warm(ref, `/tablettes/${FIXTURE.serial}`, 'main dl');
		await ref.context.close();
		await tech.context.close();
	} finally {
		await browser.close();
	}
	process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
	process.stderr.write(`bench_pages: ${e.stack || e}\n`);
	process.exit(1);
});
