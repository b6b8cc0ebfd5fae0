// The package in workerd (the Cloudflare Workers runtime, through Miniflare, pinned in
// package.json): a module Worker imports the package's `workerd` entry with no bundler step
// and answers token requests, without and with `nodejs_compat` (RSA by the wasm arithmetic,
// then by node:crypto). workerd listens on 127.0.0.1 only.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Miniflare } from 'miniflare';

import {
  AS,
  CLIENT,
  CLIENT_ASSERTION_TYPE,
  form,
  jwks,
  keyA,
  keyB,
  m,
  pkgDir,
  s,
} from '../support/fixtures.mjs';

// The Worker a user would write. It imports what the `workerd` condition of the package's
// `exports` map names (wrangler resolves `import ... from 'rfc7523'` to the same file).
const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const entry = manifest.exports['.'].workerd.default;
const signEntry = manifest.exports['./sign'].workerd.default;
const worker = `
import { AssertionVerifier, AssertionError } from ${JSON.stringify(entry)};

let verifier;

export default {
  async fetch(request, env) {
    verifier ??= new AssertionVerifier({
      keys: env.JWKS,
      clientId: env.CLIENT_ID,
      audience: env.ISSUER,
      requireJti: true,
      maxLifetime: 300,
    });
    const rsa = { 'x-rsa': verifier.rsaImplementation };
    try {
      const { use, claims } = verifier.verifyTokenRequest(await request.text());
      return Response.json({ use, client: claims.sub }, { headers: rsa });
    } catch (err) {
      if (!(err instanceof AssertionError)) throw err;
      return new Response(err.body, {
        status: err.status,
        headers: { 'content-type': 'application/json', 'x-reason': err.reason, ...rsa },
      });
    }
  },
};
`;

/** Miniflare running `script` as if it lived in the package, with wrangler's module rules. */
function miniflare(script, bindings, compatibilityFlags = []) {
  return new Miniflare({
    host: '127.0.0.1',
    port: 0,
    // Loopback only: without this Miniflare fetches Cloudflare's sample `request.cf` object.
    cf: false,
    modules: true,
    script,
    // A notional path inside the package, so that imports resolve against it.
    scriptPath: join(pkgDir, 'test-worker.mjs'),
    modulesRoot: pkgDir,
    // What wrangler does by default: .js are ES modules, .wasm are compiled modules.
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2026-04-01',
    compatibilityFlags,
    bindings,
  });
}

// Without flags the Worker has no node:crypto and the package's wasm arithmetic computes RSA;
// with `nodejs_compat`, node:crypto's publicDecrypt (given the key as a JWK: workerd's takes no
// KeyObject) does. The answers must not differ.
for (const [flags, rsa] of [
  [[], 'wasm'],
  [['nodejs_compat'], 'node:crypto'],
]) describe(`workerd (Miniflare)${flags.length ? `, ${flags.join(', ')}` : ''}: RSA by ${rsa}`, () => {
  let mf;

  before(async () => {
    mf = miniflare(worker, { JWKS: JSON.stringify(jwks), CLIENT_ID: CLIENT, ISSUER: AS }, flags);
    await mf.ready;
  });

  after(async () => {
    await mf?.dispose();
  });

  const request = (key) =>
    form({
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      // Signed here (Node, same package) with the real clock: the Worker uses its own.
      client_assertion: s.signAssertion({
        privateKey: key.pkcs8Pem,
        issuer: CLIENT,
        subject: CLIENT,
        audience: AS,
        clientAuth: true,
        lifetime: 120,
      }),
    });

  const post = (body) =>
    mf.dispatchFetch('http://127.0.0.1/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });

  test('a valid client assertion: 200', async () => {
    const response = await post(request(keyA));
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('x-rsa'), rsa);
    assert.deepEqual(await response.json(), { use: 'client_authentication', client: CLIENT });
  });

  test('a bad signature: 401 invalid_client, the RFC 6749 §5.2 body', async () => {
    const response = await post(request(keyB));
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('x-reason'), 'invalid_signature');
    assert.equal(response.headers.get('x-rsa'), rsa);
    assert.deepEqual(await response.json(), { error: 'invalid_client', error_description: 'client assertion: invalid signature' });
  });

  test('a replay within one isolate: 401 replayed', async () => {
    const body = request(keyA);
    assert.equal((await post(body)).status, 200);
    const again = await post(body);
    assert.equal(again.status, 401);
    assert.equal(again.headers.get('x-reason'), 'replayed');
    await again.arrayBuffer();
  });

  test('a malformed request: 400 invalid_request', async () => {
    const response = await post('grant_type=client_credentials&client_assertion=x');
    assert.equal(response.status, 400);
    assert.equal((await response.json()).error, 'invalid_request');
  });
});

// With nodejs_compat, node:crypto really computes: count its publicDecrypt calls.
const countingWorker = `
import { AssertionVerifier } from ${JSON.stringify(entry)};

export default {
  async fetch(request, env) {
    const crypto = process.getBuiltinModule('node:crypto');
    const publicDecrypt = crypto.publicDecrypt;
    let calls = 0;
    crypto.publicDecrypt = (...args) => {
      calls++;
      return publicDecrypt(...args);
    };
    try {
      const verifier = new AssertionVerifier({ keys: env.JWKS, clientId: env.CLIENT_ID, audience: env.ISSUER });
      const atLoad = calls;
      const { claims } = verifier.verify(await request.text());
      return Response.json({ rsa: verifier.rsaImplementation, atLoad, calls, sub: claims.sub });
    } finally {
      crypto.publicDecrypt = publicDecrypt;
    }
  },
};
`;

describe('workerd (Miniflare), nodejs_compat: node:crypto computes RSAVP1', () => {
  let mf;

  before(async () => {
    mf = miniflare(countingWorker, { JWKS: JSON.stringify(jwks), CLIENT_ID: CLIENT, ISSUER: AS }, ['nodejs_compat']);
    await mf.ready;
  });

  after(async () => {
    await mf?.dispose();
  });

  test('one call per verification, after a probe (KeyObject refused) and the known answer', async () => {
    const token = s.signAssertion({ privateKey: keyA.pkcs8Pem, issuer: CLIENT, subject: CLIENT, audience: AS, clientAuth: true, lifetime: 120 });
    const response = await mf.dispatchFetch('http://127.0.0.1/', { method: 'POST', body: token });
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(await response.json(), { rsa: 'node:crypto', atLoad: 2, calls: 3, sub: CLIENT });
  });
});

// A Worker that signs (a client, or a test harness): the `workerd` condition of `rfc7523/sign`,
// next to the main entry. Node verifies what it signed.
const signingWorker = `
import { signAssertion, AssertionError as SignError } from ${JSON.stringify(signEntry)};
import { AssertionError } from ${JSON.stringify(entry)};

export default {
  async fetch(request, env) {
    const assertion = signAssertion({
      privateKey: env.PRIVATE_KEY,
      issuer: env.CLIENT_ID,
      subject: env.CLIENT_ID,
      audience: env.ISSUER,
      clientAuth: true,
    });
    return Response.json({ assertion, oneErrorClass: SignError === AssertionError });
  },
};
`;

describe('workerd (Miniflare): the rfc7523/sign entry', () => {
  let mf;

  before(async () => {
    mf = miniflare(signingWorker, { PRIVATE_KEY: keyA.pkcs8Pem, CLIENT_ID: CLIENT, ISSUER: AS });
    await mf.ready;
  });

  after(async () => {
    await mf?.dispose();
  });

  test('signs in workerd (crypto.getRandomValues, the clock); the main module verifies it', async () => {
    const response = await mf.dispatchFetch('http://127.0.0.1/');
    assert.equal(response.status, 200, await response.clone().text());
    const { assertion, oneErrorClass } = await response.json();
    assert.equal(oneErrorClass, true);
    const verifier = new m.AssertionVerifier({ keys: jwks, clientId: CLIENT, audience: AS, requireTyp: true, requireJti: true });
    const { header, claims } = verifier.verify(assertion);
    assert.equal(header.typ, 'client-authentication+jwt');
    assert.equal(claims.sub, CLIENT);
    // A second call draws a fresh jti.
    const again = await (await mf.dispatchFetch('http://127.0.0.1/')).json();
    assert.notEqual(verifier.verify(again.assertion).claims.jti, claims.jti);
  });
});

// ES256 and Ed25519 (and the asynchronous methods) in workerd: node:crypto's verify where
// `nodejs_compat` gives one that passes the known answers, else the wasm arithmetic; the same
// verdicts either way.
const ecWorker = `
import { AssertionVerifier, AssertionError } from ${JSON.stringify(entry)};

export default {
  async fetch(request, env) {
    const verifier = new AssertionVerifier({ keys: env.KEYS, clientId: env.CLIENT_ID, audience: env.ISSUER, replay: 'external' });
    const outcome = async (run) => {
      try {
        await run();
        return 'ok';
      } catch (err) {
        if (!(err instanceof AssertionError)) throw err;
        return err.reason;
      }
    };
    const outcomes = [];
    for (const token of await request.json()) {
      outcomes.push([await outcome(() => verifier.verify(token)), await outcome(() => verifier.verifyAsync(token))]);
    }
    return Response.json({ implementations: verifier.implementations, outcomes });
  },
};
`;

for (const flags of [[], ['nodejs_compat']]) {
  describe(`workerd (Miniflare)${flags.length ? `, ${flags.join(', ')}` : ''}: ES256 and Ed25519, verify and verifyAsync`, () => {
    const crypto = process.getBuiltinModule('node:crypto');
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ed = crypto.generateKeyPairSync('ed25519');
    const keys = { keys: [ec, ed].map((pair) => pair.publicKey.export({ format: 'jwk' })) };
    let mf;

    before(async () => {
      mf = miniflare(ecWorker, { KEYS: JSON.stringify(keys), CLIENT_ID: CLIENT, ISSUER: AS }, flags);
      await mf.ready;
    });

    after(async () => {
      await mf?.dispose();
    });

    test('valid tokens pass, tampered ones are invalid_signature, on both methods', async () => {
      const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const tokens = [];
      for (const [alg, pair] of [['ES256', ec], ['EdDSA', ed]]) {
        const input = `${b64({ alg })}.${b64({ iss: CLIENT, sub: CLIENT, aud: AS, iat: now, exp: now + 120, jti: `j-${alg}` })}`;
        const signature =
          alg === 'ES256'
            ? crypto.sign('sha256', Buffer.from(input), { key: pair.privateKey, dsaEncoding: 'ieee-p1363' })
            : crypto.sign(null, Buffer.from(input), pair.privateKey);
        tokens.push(`${input}.${signature.toString('base64url')}`);
        signature[10] ^= 1;
        tokens.push(`${input}.${signature.toString('base64url')}`);
      }
      const response = await mf.dispatchFetch('http://127.0.0.1/', { method: 'POST', body: JSON.stringify(tokens) });
      assert.equal(response.status, 200, await response.clone().text());
      const { implementations, outcomes } = await response.json();
      assert.deepEqual(outcomes, [['ok', 'ok'], ['invalid_signature', 'invalid_signature'], ['ok', 'ok'], ['invalid_signature', 'invalid_signature']]);
      const expected = flags.length ? 'node:crypto' : 'wasm';
      assert.deepEqual([implementations.ES256, implementations.EdDSA], [expected, expected]);
    });
  });
}
