// The demo page in a real browser: Debian's Chromium driven by playwright-core (pinned in
// bindings/wasm/js/package.json), against the page served by `cargo xtask demo` on 127.0.0.1.
// A sample validates on first load; each one-click mutation fails at the right rule with the
// core's reason; nothing goes to the console or off the machine; screenshots go to
// target/screenshots/ (git-ignored).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ensureScreenshotDir, launchChromium, startDemoServer } from './support.mjs';

describe('demo page (Chromium)', () => {
  let server;
  let browser;
  let page;
  const problems = [];
  const requests = [];

  before(async () => {
    server = await startDemoServer();
    browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') {
        problems.push(`console ${message.type()}: ${message.text()}`);
      }
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(server.url);
    await page.waitForSelector('html[data-ready="true"]', { timeout: 60_000 });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** The verdict, the checklist rows and the answer of the token endpoint, as shown. */
  async function shown() {
    return page.evaluate(() => ({
      state: document.getElementById('verdict').dataset.state,
      reason: document.getElementById('verdict').dataset.reason,
      title: document.querySelector('#verdict .verdict-title').textContent,
      rows: [...document.querySelectorAll('#checklist li')].map((li) => ({
        rule: li.dataset.rule,
        status: li.dataset.status,
        reason: li.dataset.reason,
        text: li.textContent,
      })),
      response: document.getElementById('response').textContent,
      decoded: document.getElementById('decoded-label').textContent,
      claims: document.getElementById('claims').textContent,
      keyNote: document.getElementById('key-note').textContent,
    }));
  }

  async function click(selector) {
    await page.click(selector);
    await page.waitForFunction(() => !document.body.dataset.busy);
  }

  async function chooseProfile(profile) {
    await click(`input[name="profile"][value="${profile}"]`);
  }

  /** A valid verdict: every row ✓ (the policy asks for jti and a maximum lifetime). */
  function assertValid(view) {
    assert.equal(view.state, 'valid', view.title);
    assert.deepEqual(
      view.rows.filter((row) => row.status !== 'pass').map((row) => row.rule),
      [],
    );
    assert.equal(view.rows.length, 14);
    assert.match(view.response, /^HTTP\/1\.1 200 OK\nContent-Type: application\/json\nCache-Control: no-store\n/);
    assert.equal(view.decoded, 'verified');
  }

  /** One ✗ at `rule` with `reason`; ✓ above it and — below it (the core's order). */
  function assertFailsAt(view, rule, reason, status) {
    assert.equal(view.state, 'invalid', view.title);
    assert.equal(view.reason, reason);
    const failed = view.rows.filter((row) => row.status === 'fail');
    assert.deepEqual(failed.map((row) => [row.rule, row.reason]), [[rule, reason]]);
    const index = view.rows.findIndex((row) => row.status === 'fail');
    assert.ok(view.rows.slice(0, index).every((row) => row.status === 'pass'), `✓ above ${rule}`);
    assert.ok(view.rows.slice(index + 1).every((row) => row.status === 'skip'), `— below ${rule}`);
    const [statusLine] = view.response.split('\n');
    assert.equal(statusLine, `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Bad Request'}`);
    const body = JSON.parse(view.response.split('\n\n')[1]);
    assert.equal(body.error, status === 401 ? 'invalid_client' : 'invalid_grant');
    // The row shows the core's own description, the one the error body carries.
    assert.ok(failed[0].text.includes(body.error_description), `${failed[0].text} / ${body.error_description}`);
    assert.equal(view.decoded, 'decoded, unverified');
  }

  test('first load: a sample signed with a key made in the page, valid', async () => {
    const view = await shown();
    assertValid(view);
    assert.match(view.title, /Valid authorization grant/);
    assert.match(view.keyNote, /generated in this page/);
    assert.match(view.claims, /"iss": "https:\/\/idp\.example"/);
  });

  test('generate sample for client authentication: valid, typ client-authentication+jwt', async () => {
    await chooseProfile('client');
    const view = await shown();
    assertValid(view);
    assert.match(view.title, /Valid client assertion/);
    assert.match(view.rows.find((row) => row.rule === 'typ').text, /client-authentication\+jwt/);
  });

  const grantMutations = [
    ['expire', 'exp', 'expired'],
    ['wrong-audience', 'aud', 'audience_mismatch'],
    ['tamper', 'signature', 'invalid_signature'],
    ['alg-none', 'algorithm', 'unsupported_algorithm'],
    ['replay', 'replay', 'replayed'],
  ];

  for (const [mutation, rule, reason] of grantMutations) {
    test(`grant: "${mutation}" fails at ${rule} (${reason}, 400 invalid_grant)`, async () => {
      await chooseProfile('grant');
      await click(`[data-mutation="${mutation}"]`);
      assertFailsAt(await shown(), rule, reason, 400);
    });
  }

  test('"token-endpoint aud" switches to client authentication: aud ✗ (RFC 10070), 401', async () => {
    await chooseProfile('grant');
    await click('[data-mutation="token-endpoint-audience"]');
    const view = await shown();
    assertFailsAt(view, 'aud', 'audience_mismatch', 401);
    assert.match(view.claims, /"aud": "https:\/\/as\.example\/token"/);
    assert.equal(await page.isChecked('input[name="profile"][value="client"]'), true);
    await page.screenshot({ path: join(ensureScreenshotDir(), 'demo-client-token-endpoint-aud.png'), fullPage: true });
  });

  for (const [mutation, rule, reason] of grantMutations) {
    test(`client: "${mutation}" fails at ${rule} (${reason}, 401 invalid_client)`, async () => {
      await chooseProfile('client');
      await click(`[data-mutation="${mutation}"]`);
      assertFailsAt(await shown(), rule, reason, 401);
    });
  }

  test('the replay store persists across clicks: a replayed sample stays refused', async () => {
    await chooseProfile('grant');
    await click('#generate');
    assertValid(await shown());
    await click('#validate');
    assertFailsAt(await shown(), 'replay', 'replayed', 400);
    await click('#validate');
    assertFailsAt(await shown(), 'replay', 'replayed', 400);
  });

  test('the "now" override: an assertion issued in the future fails at iat', async () => {
    await chooseProfile('grant');
    await page.fill('#now', '2000-01-01T00:00:00Z');
    await click('#validate');
    const view = await shown();
    assertFailsAt(view, 'iat', 'issued_in_future', 400);
    assert.match(view.title, /issued_in_future/);
    await page.fill('#now', '');
  });

  test('garbage: structure ✗, nothing else checked, in either profile', async () => {
    await page.fill('#assertion', 'not-a-jwt');
    await click('#validate');
    const view = await shown();
    assert.equal(view.reason, 'malformed');
    assert.deepEqual(view.rows.filter((row) => row.status !== 'skip').map((row) => [row.rule, row.status]), [['structure', 'fail']]);
    assert.match(view.rows[0].text, /three dot-separated segments/);
    // Switching the profile keeps a pasted assertion and judges it under the other profile.
    await chooseProfile('client');
    assert.equal(await page.inputValue('#assertion'), 'not-a-jwt');
    assert.equal((await shown()).reason, 'malformed');
    await chooseProfile('grant');
  });

  test('an unusable key set is a configuration error, not a verdict', async () => {
    await click('#generate');
    await page.fill('#keys', '{"keys": []}');
    await click('#validate');
    const view = await shown();
    assert.equal(view.state, 'error');
    assert.match(view.title, /Cannot validate/);
    assert.deepEqual(view.rows, []);
  });

  test('the embedded public example key, clearly labelled, also signs valid samples', async () => {
    await page.selectOption('#key-source', 'embedded');
    await page.waitForFunction(() => !document.body.dataset.busy && document.getElementById('key-note').dataset.source === 'embedded');
    const view = await shown();
    assertValid(view);
    assert.match(view.keyNote, /public example key of RFC 7520/);
    await page.selectOption('#key-source', 'generated');
    await page.waitForFunction(() => document.getElementById('key-note').dataset.source === 'generated');
  });

  test('screenshots: desktop and phone width (390 px) without horizontal scrolling', async () => {
    const dir = ensureScreenshotDir();
    await chooseProfile('grant');
    await click('#generate');
    await page.screenshot({ path: join(dir, 'demo-desktop-valid.png'), fullPage: true });
    await click('[data-mutation="expire"]');
    // The README's picture (docs/demo.png is a copy): the form and the whole checklist.
    await page.setViewportSize({ width: 1200, height: 1160 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(dir, 'demo-desktop-expired.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await click('[data-mutation="wrong-audience"]');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.equal(overflow, 0, 'no horizontal scrolling at 390 px');
    await page.screenshot({ path: join(dir, 'demo-phone.png'), fullPage: true });
    await page.evaluate(() => document.getElementById('verdict').scrollIntoView());
    await page.screenshot({ path: join(dir, 'demo-phone-result.png') });
  });

  test('no console errors, and every request stayed on this server', () => {
    assert.deepEqual(problems, []);
    assert.ok(requests.length > 0);
    const offsite = requests.filter((url) => !url.startsWith(server.url));
    assert.deepEqual(offsite, []);
    assert.ok(requests.some((url) => url.endsWith('/pkg/web/rfc7523_bg.wasm')), 'the web build was loaded');
    assert.ok(requests.some((url) => url.endsWith('/pkg/sign/web/rfc7523_sign_bg.wasm')), 'the sign module was loaded');
    // AssertionError comes from the main module's snippet, once: the sign glue re-exports it.
    const snippets = requests.filter((url) => url.includes('/snippets/'));
    assert.equal(snippets.length, 1, String(snippets));
    assert.match(snippets[0], /\/pkg\/web\/snippets\//);
  });
});
