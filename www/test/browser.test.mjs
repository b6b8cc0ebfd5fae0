// The demo page in a real browser: Debian's Chromium driven by playwright-core (pinned in
// bindings/wasm/js/package.json), against the page served by `cargo xtask demo` on 127.0.0.1.
// A sample validates on first load; each one-click mutation fails at the right rule with the
// core's reason; a table over the four algorithms of the samples (a key pair made in the page
// and the embedded example key, each sample also checked by node:crypto); nothing goes to the
// console or off the machine; screenshots go to target/screenshots/ (git-ignored).
import assert from 'node:assert/strict';
import { createECDH, createPrivateKey, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ALGORITHMS } from '../checklist.js';
import { EXAMPLE_KEYS } from '../demo-key.js';
import { ensureScreenshotDir, launchChromium, repoRoot, startDemoServer } from './support.mjs';

/**
 * Whether `token` is signed by the public `jwk` under `alg`, by node:crypto: a verifier
 * independent of the package, so the page's samples are checked by more than their own
 * verifier.
 */
function independentlyVerified(token, jwk, alg) {
  const [header, payload, signature] = token.split('.');
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(`${header}.${payload}`);
  const bytes = Buffer.from(signature, 'base64url');
  switch (alg) {
    case 'RS256':
      return cryptoVerify('sha256', data, key, bytes);
    case 'PS256':
      return cryptoVerify('sha256', data, { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }, bytes);
    case 'ES256':
      return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, bytes);
    case 'EdDSA':
      return cryptoVerify(null, data, key, bytes);
    default:
      throw new Error(`no independent check for ${alg}`);
  }
}

// The algorithms of the samples: [alg, the key's kty, its crv, what node:crypto names it].
const SAMPLE_ALGORITHMS = [
  ['RS256', 'RSA', undefined],
  ['PS256', 'RSA', undefined],
  ['ES256', 'EC', 'P-256'],
  ['EdDSA', 'OKP', 'Ed25519'],
];

// What each refusal of a sample's algorithm shows, for every algorithm: [mutation, row, reason].
const ALGORITHM_REFUSALS = [
  ['tamper', 'signature', 'invalid_signature'],
  ['alg-mismatch', 'algorithm', 'unsupported_algorithm'],
  ['alg-none', 'algorithm', 'unsupported_algorithm'],
  ['alg-hs256', 'algorithm', 'unsupported_algorithm'],
];

describe('the embedded example keys are the RFCs\' keys', () => {
  test('RS256/PS256: RFC 7520 §3.4; ES256: RFC 7515 A.3 (d gives x and y, and the appendix JWS verifies); EdDSA: RFC 8037 A.1', () => {
    const cookbook = JSON.parse(readFileSync(join(repoRoot, 'tests/vectors/rfc/ietf-jose-cookbook/jwk/3_4.rsa_private_key.json'), 'utf8'));
    for (const alg of ['RS256', 'PS256']) {
      const { jwk, privatePem } = EXAMPLE_KEYS[alg];
      assert.deepEqual([jwk.kty, jwk.alg, jwk.n, jwk.e], ['RSA', alg, cookbook.n, cookbook.e]);
      assert.equal(createPrivateKey(privatePem).export({ format: 'jwk' }).d, cookbook.d);
    }
    const ec = EXAMPLE_KEYS.ES256;
    const { d } = createPrivateKey(ec.privatePem).export({ format: 'jwk' });
    assert.equal(d, 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI');
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(d, 'base64url'));
    const point = ecdh.getPublicKey();
    assert.deepEqual([point.subarray(1, 33).toString('base64url'), point.subarray(33).toString('base64url')], [ec.jwk.x, ec.jwk.y]);
    // RFC 7515 A.3.1's example JWS.
    const a3 =
      'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.' +
      'DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q';
    assert.ok(independentlyVerified(a3, ec.jwk, 'ES256'));
    const ed = EXAMPLE_KEYS.EdDSA;
    const rfc8037 = JSON.parse(readFileSync(join(repoRoot, 'tests/vectors/rfc/rfc8037_A4_eddsa.json'), 'utf8'));
    assert.equal(createPrivateKey(ed.privatePem).export({ format: 'jwk' }).d, rfc8037.A1_private_jwk.d);
    assert.equal(createPublicKey(ed.privatePem).export({ format: 'jwk' }).x, ed.jwk.x);
    assert.equal(ed.jwk.x, rfc8037.A1_private_jwk.x);
  });
});

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
      header: document.getElementById('header').textContent,
      assertion: document.getElementById('assertion').value,
      keys: document.getElementById('keys').value,
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

  /** Samples signed with `alg` by a key from `source` ("generated" or "embedded"). */
  async function signWith(alg, source = 'generated') {
    await page.selectOption('#key-source', source);
    await page.waitForFunction(() => !document.body.dataset.busy);
    await page.selectOption('#alg', alg);
    await page.waitForFunction(
      ([wanted, from]) =>
        !document.body.dataset.busy &&
        document.getElementById('key-note').dataset.source === from &&
        JSON.parse(document.getElementById('keys').value).keys[0].alg === wanted,
      [alg, source],
    );
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

  for (const [alg, kty, crv] of SAMPLE_ALGORITHMS) {
    for (const source of ['generated', 'embedded']) {
      test(`${alg}, ${source} key: a valid sample named ${alg} in the checklist; tampered, re-labelled, none and HS256 refused`, async () => {
        await chooseProfile('grant');
        await signWith(alg, source);
        const view = await shown();
        assertValid(view);
        // The key pair is of the algorithm's type, pinned to it by its JWK alg, and the sample
        // says so in its header; node:crypto verifies it too.
        const [jwk] = JSON.parse(view.keys).keys;
        assert.deepEqual([jwk.kty, jwk.crv, jwk.alg, jwk.d], [kty, crv, alg, undefined]);
        assert.equal(JSON.parse(view.header).alg, alg);
        assert.ok(independentlyVerified(view.assertion, jwk, alg), 'node:crypto verifies the sample');
        if (source === 'embedded') assert.match(view.keyNote, /public example key of RFC (7520|7515|8037)/);
        else assert.match(view.keyNote, new RegExp(`generated in this page for ${alg}`));
        // The checklist names the algorithm used.
        const row = (rule) => view.rows.find((r) => r.rule === rule).text;
        assert.match(row('algorithm'), new RegExp(`^✓Algorithmalg ${alg}: `));
        assert.ok(row('algorithm').endsWith(`${alg}: the one algorithm of the ${ALGORITHMS[alg].keyType} key that verified it`), row('algorithm'));
        assert.ok(row('signature').includes(`${alg} (${ALGORITHMS[alg].name}) verifies with the key`), row('signature'));
        assert.ok(row('signature').includes(`verified: ${ALGORITHMS[alg].name}`), row('signature'));
        for (const [mutation, rule, reason] of ALGORITHM_REFUSALS) {
          await click(`[data-mutation="${mutation}"]`);
          const refused = await shown();
          assertFailsAt(refused, rule, reason, 400);
          const failed = refused.rows.find((r) => r.status === 'fail').text;
          const claimed = JSON.parse(refused.header).alg;
          if (rule === 'algorithm') {
            // What was compared: the header's alg and the trusted key's type and alg.
            assert.notEqual(claimed, alg, mutation);
            const keyType = { RSA: 'RSA', EC: 'EC P-256', OKP: 'OKP Ed25519' }[kty];
            assert.ok(failed.includes(`(the header's alg: "${claimed}"; the trusted keys: ${keyType} (alg ${alg}))`), failed);
          } else {
            assert.equal(claimed, alg);
            assert.ok(failed.includes(`${alg} (${ALGORITHMS[alg].name}) verifies with the key`), failed);
          }
        }
      });
    }
  }

  test('an RSA key\'s token re-labelled ES256: the algorithm row names both, nothing after it is checked', async () => {
    await chooseProfile('client');
    await signWith('RS256');
    await click('[data-mutation="alg-mismatch"]');
    const view = await shown();
    assertFailsAt(view, 'algorithm', 'unsupported_algorithm', 401);
    assert.equal(JSON.parse(view.header).alg, 'ES256');
    const failed = view.rows.find((r) => r.status === 'fail').text;
    assert.ok(failed.includes('alg ES256: exactly one of RS256, PS256, ES256, EdDSA, Ed25519, and the one its key serves'), failed);
    assert.ok(failed.includes(`(the header's alg: "ES256"; the trusted keys: RSA (alg RS256))`), failed);
    await page.screenshot({ path: join(ensureScreenshotDir(), 'demo-alg-mismatch.png'), fullPage: true });
    await chooseProfile('grant');
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
    // The main module has two (inline0: AssertionError and the option checks; inline1: the
    // remote-key driver of src/remote.rs), each loaded once, none of the sign module's own.
    const snippets = requests.filter((url) => url.includes('/snippets/'));
    assert.deepEqual(
      snippets.map((url) => url.replace(/^.*\/pkg\//, '').replace(/rfc7523-wasm-[0-9a-f]+/, 'rfc7523-wasm-*')).sort(),
      ['web/snippets/rfc7523-wasm-*/inline0.js', 'web/snippets/rfc7523-wasm-*/inline1.js'],
      String(snippets),
    );
  });
});
