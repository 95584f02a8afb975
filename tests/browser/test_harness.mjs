// The browser-test tools themselves: TLS really checked, an axe check that
// fails on a page that breaks WCAG and says why, PDFs and screenshots that
// are what they claim.  Without these, a green browser test could mean a
// checker that cannot fail.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { axeCheck, checkPage, launch, newContext, pdf, ready, shot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('TLS: the daemon certificate is checked, trusted by its public key alone', async () => {
	const bare = await launch({ trustServer: false });
	try {
		const page = await (await newContext(bare)).newPage();
		await assert.rejects(page.goto('/connexion'), /ERR_CERT_AUTHORITY_INVALID/,
			'without the SPKI flag chromium refuses the test CA');
	} finally {
		await bare.close();
	}
	const page = await (await newContext(browser)).newPage();
	const res = await page.goto('/connexion');
	assert.equal(res.status(), 200);
	// {issuer, subjectName, protocol...}: the certificate chromium was shown
	const tls = await res.securityDetails();
	const ca = new X509Certificate(readFileSync(process.env.ARDOISE_CA));
	const server = new X509Certificate(readFileSync(process.env.ARDOISE_SERVER_CERT));
	assert.ok(tls && ca.subject.split('\n').includes(`CN=${tls.issuer}`) &&
		server.subject.split('\n').includes(`CN=${tls.subjectName}`),
		`the certificate shown is the daemon's, issued by its CA: ${JSON.stringify(tls)} / ${ca.subject}`);
	// under the daemon's real CSP (no inline script): axe runs all the same
	assert.match(res.headers()['content-security-policy'] || '', /script-src 'self'/);
	await ready(page);
	await checkPage(page, '/connexion');
	await shot(page, 'harness-connexion');
});

test('axeCheck fails on a page that breaks WCAG, naming each rule and element', async () => {
	const page = await (await newContext(browser)).newPage();
	await page.setContent('<html><body><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">' +
		'<p style="color:#bbb;background:#fff">gris sur blanc</p><input id="x"></body></html>');
	const err = await axeCheck(page, 'a broken page').then(() => null, (e) => e);
	assert.ok(err, 'axeCheck must fail on a page without lang, title, alt nor label');
	for (const rule of ['html-has-lang', 'document-title', 'image-alt', 'label', 'color-contrast'])
		assert.match(err.message, new RegExp(`- ${rule} \\(`), `the report names ${rule}`);
	assert.match(err.message, /at input#x|at #x/, 'the report names the element');
	// and passes a page that is fine
	await page.setContent('<html lang="fr"><head><title>Essai</title></head><body><main>' +
		'<h1>Bonjour</h1><label for="n">Nom</label><input id="n"></main></body></html>');
	assert.deepEqual(await axeCheck(page, 'a correct page'), []);
});

test('checkPage refuses a missing value shown as text', async () => {
	const page = await (await newContext(browser)).newPage();
	for (const junk of ['null', 'undefined', 'NaN', '[object Object]']) {
		await page.setContent(`<html lang="fr"><head><title>Essai</title></head><body><main>` +
			`<h1>Tablette</h1><p>Batterie : ${junk}</p></main></body></html>`);
		await assert.rejects(checkPage(page, 'junk'), new RegExp(`shows "${junk.replace(/[[\]]/g, '\\$&')}"`));
	}
	await page.setContent('<html lang="fr"><head><title>Essai</title></head><body><main>' +
		'<h1>Tablette</h1><p>Nullement annulée, indéfinie : 12 %</p></main></body></html>');
	await checkPage(page, 'words that contain null');
});

test('pdf counts the pages printed; shot writes a PNG', async () => {
	const page = await (await newContext(browser)).newPage();
	await page.setContent('<html lang="fr"><head><title>Trois pages</title>' +
		'<style>section { break-after: page }</style></head><body>' +
		'<section>Un</section><section>Deux</section><section>Trois</section></body></html>');
	const { path, pages } = await pdf(page, 'harness-three-pages');
	assert.equal(pages, 3, 'three sections, one per page');
	assert.ok(statSync(path).size > 500);
	const png = await shot(page, 'harness-three-pages');
	assert.ok(statSync(png).size > 100);
});
