// The Worker example (www/worker/) in workerd, the Cloudflare Workers runtime: wrangler
// (pinned) reads wrangler.toml and bundles the Worker as for a deployment (--dry-run: nothing
// leaves the machine), then Miniflare (pinned, the same version wrangler uses) runs that bundle
// as two Workers on 127.0.0.1 that share one Durable Object namespace, the way two isolates of
// a deployed Worker do: the parties of its registry, each with its own key (the client vs the
// issuer, both ways), every algorithm (RS256, PS256, ES256, EdDSA, Ed25519) for clients and
// issuers, as a table of accepted and refused requests signed by jose, client secrets and the
// Authorization header refused by the core. Last, `wrangler dev` itself serves the example.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { keyB, m, s } from '../../bindings/wasm/js/support/fixtures.mjs';
import { EXAMPLE_KEY, EXAMPLE_KEYS } from '../demo-key.js';
import { importTool, quietEnv, repoRoot } from './support.mjs';
import {
  AS,
  CLIENT,
  FORM,
  GRANT_TYPE,
  IDP,
  IDP_KEY,
  PARTIES,
  answer,
  assertError,
  assertToken,
  assertion,
  bundleWorker,
  bundledWorker,
  clientCredentials,
  configPath,
  grant,
  grantWithClient,
  poster,
  startMiniflare,
  wrangler,
} from './worker-harness.mjs';

/** One id registered both as a client (the demo page's key) and as a trusted issuer (the
 *  issuer's key): a client assertion and a grant can then share (iss, jti). */
const SHARED = 'https://shared.example';
const SHARED_REGISTRY = {
  issuer: AS,
  token_endpoint: `${AS}/token`,
  clients: [{ client_id: SHARED, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [EXAMPLE_KEY.jwk] } }],
  issuers: [{ issuer: SHARED, jwks: { keys: [IDP_KEY.jwk] } }],
};

// jose (pinned in bindings/wasm/js): an independent signer of the algorithm table's tokens.
const { SignJWT } = await importTool('jose');

/** The algorithms, each with the node:crypto key type that signs it and the other algorithm
 *  of the same key type, if any (a valid signature by the party's own key that its
 *  token_endpoint_auth_signing_alg does not allow). */
const ALGORITHMS = [
  ['RS256', ['rsa', { modulusLength: 2048 }], 'PS256'],
  ['PS256', ['rsa', { modulusLength: 2048 }], 'RS256'],
  ['ES256', ['ec', { namedCurve: 'P-256' }], null],
  ['EdDSA', ['ed25519', {}], 'Ed25519'],
  ['Ed25519', ['ed25519', {}], 'EdDSA'],
];
/** An algorithm of another key type than `alg`'s. */
const OTHER_TYPE = { RS256: 'ES256', PS256: 'EdDSA', ES256: 'RS256', EdDSA: 'ES256', Ed25519: 'PS256' };

/** A party's own key pair: node:crypto's private key and the public JWK (no JWK alg unless given). */
function partyKey(kid, [type, options], alg) {
  const { privateKey, publicKey } = generateKeyPairSync(type, options);
  return { privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...(alg && { alg }) } };
}

/** Per algorithm a client and a trusted issuer whose token_endpoint_auth_signing_alg is it,
 *  each with its own key; and two RSA clients without one: one whose key has no JWK alg (so
 *  RS256, its type's default), one whose JWK alg is PS256. `other`: an algorithm of the same
 *  key type that the party does not accept. */
const ALG_PARTIES = ALGORITHMS.flatMap(([alg, keyType, other]) => [
  { use: 'client', alg, other, id: `c-${alg}`, key: partyKey(`c-${alg}-1`, keyType), signingAlg: alg },
  { use: 'grant', alg, other, id: `https://${alg.toLowerCase()}.idp.example`, key: partyKey(`i-${alg}-1`, keyType), signingAlg: alg },
]).concat([
  { use: 'client', alg: 'RS256', other: 'PS256', id: 'c-rsa-default', key: partyKey('c-rsa-default-1', ALGORITHMS[0][1]) },
  { use: 'client', alg: 'PS256', other: 'RS256', id: 'c-rsa-jwk-ps256', key: partyKey('c-rsa-jwk-ps256-1', ALGORITHMS[0][1], 'PS256') },
]);
const ALG_REGISTRY = {
  issuer: AS,
  token_endpoint: `${AS}/token`,
  clients: ALG_PARTIES.filter((p) => p.use === 'client').map((p) => ({
    client_id: p.id,
    token_endpoint_auth_method: 'private_key_jwt',
    ...(p.signingAlg && { token_endpoint_auth_signing_alg: p.signingAlg }),
    jwks: { keys: [p.key.jwk] },
  })),
  issuers: ALG_PARTIES.filter((p) => p.use === 'grant').map((p) => ({
    issuer: p.id,
    token_endpoint_auth_signing_alg: p.signingAlg,
    jwks: { keys: [p.key.jwk] },
  })),
};

/** A token of `party` signed by jose with `alg` and the party's key (and its kid). */
function joseToken(party, alg) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: party.id, sub: party.use === 'client' ? party.id : 'alice', aud: AS, iat: now, exp: now + 120, jti: randomUUID() };
  return new SignJWT(claims).setProtectedHeader({ alg, kid: party.key.jwk.kid }).sign(party.key.privateKey);
}

/** `token` with its header's alg replaced, the signature kept (or the one given). */
function relabelled(token, alg, signature = token.split('.')[2]) {
  const [header, payload] = token.split('.');
  const parsed = JSON.parse(Buffer.from(header, 'base64url'));
  return `${Buffer.from(JSON.stringify({ ...parsed, alg })).toString('base64url')}.${payload}.${signature}`;
}

/** `token` as HS256 keyed with the party's public JWK text: the classic key confusion. */
function hs256(token, party) {
  const input = relabelled(token, 'HS256', '').slice(0, -1);
  return `${input}.${createHmac('sha256', JSON.stringify(party.key.jwk)).update(input).digest('base64url')}`;
}

/** The core's error for `body` under `verifier` (fails the test when it accepts). */
function coreRefusal(verifier, body) {
  try {
    verifier.verifyTokenRequest(body);
  } catch (err) {
    return err;
  }
  throw new Error('the core accepted the request');
}

describe('Worker example (workerd through Miniflare, two instances, one Durable Object)', () => {
  let mf;
  let a;
  let b;
  let shared;
  /** A Worker whose registry is ALG_REGISTRY: a client and an issuer per algorithm. */
  let algs;
  let bundle;
  /** A registry in Node (wrangler.toml's by default): the core's answer for a request, to
   *  compare the Worker's with. */
  let reference;

  before(async () => {
    bundle = bundleWorker();
    const registry = bundle.config.vars.REGISTRY;
    assert.deepEqual(
      [registry.issuer, registry.clients.map((c) => c.client_id), registry.issuers.map((i) => i.issuer)],
      [AS, [CLIENT, 'p256-client', 'ed25519-client'], [IDP]],
    );
    // Each party with its own key: the clients' are the demo page's example keys (RS256,
    // ES256, EdDSA), the issuer's another.
    assert.deepEqual(registry.clients[0].jwks.keys.map((k) => k.n), [EXAMPLE_KEY.jwk.n]);
    for (const [i, alg] of [[1, 'ES256'], [2, 'EdDSA']]) {
      const { kty, crv, x, y, kid } = EXAMPLE_KEYS[alg].jwk;
      assert.equal(registry.clients[i].token_endpoint_auth_signing_alg, alg);
      assert.deepEqual(registry.clients[i].jwks.keys, [{ kty, kid, use: 'sig', crv, x, ...(y && { y }) }]);
    }
    assert.deepEqual(registry.issuers[0].jwks.keys.map((k) => k.n), [IDP_KEY.jwk.n]);
    reference = (doc = registry) => new m.AssertionVerifier({ registry: doc, replay: 'external' });
    // Worker B uses worker A's Durable Object class: one store, two isolates. Worker S: the
    // registry of SHARED_REGISTRY (one id both a client and an issuer) and its own store.
    mf = await startMiniflare([
      bundledWorker(bundle, 'token-a'),
      bundledWorker(bundle, 'token-b', { store: { scriptName: 'token-a' } }),
      bundledWorker(bundle, 'token-shared', { bindings: { REGISTRY: SHARED_REGISTRY } }),
      bundledWorker(bundle, 'token-algs', { bindings: { REGISTRY: ALG_REGISTRY } }),
    ]);
    a = await poster(mf, 'token-a');
    b = await poster(mf, 'token-b');
    shared = await poster(mf, 'token-shared');
    algs = await poster(mf, 'token-algs');
  });

  after(async () => {
    await mf?.dispose();
    bundle?.remove();
  });

  test('a valid jwt-bearer grant: 200, a token response', async () => {
    assertToken(await answer(await a(grant())));
  });

  test('the same grant again, on the other instance: 400 invalid_grant (replay)', async () => {
    const body = grant();
    assertToken(await answer(await a(body)));
    const replayed = 'grant assertion: the assertion was already used (jti replay)';
    assertError(await answer(await b(body)), 400, 'invalid_grant', replayed);
    assertError(await answer(await a(body)), 400, 'invalid_grant', replayed);
  });

  test('client authentication by assertion (client_credentials): 200; replayed: 401 invalid_client', async () => {
    const body = clientCredentials();
    assertToken(await answer(await b(body)));
    assertError(await answer(await a(body)), 401, 'invalid_client', 'client assertion: the assertion was already used (jti replay)');
  });

  test('a grant with client authentication: 200, both jtis recorded', async () => {
    const clientToken = assertion({ client: true });
    const grantToken = assertion();
    const both = grantWithClient;
    assertToken(await answer(await a(both(clientToken, grantToken))));
    // The grant again with a fresh client assertion: the grant's jti is taken.
    assertError(await answer(await b(both(assertion({ client: true }), grantToken))), 400, 'invalid_grant', /already used/);
    // The client assertion again with a fresh grant: 401.
    assertError(await answer(await b(both(clientToken, assertion()))), 401, 'invalid_client', /already used/);
  });

  test('a refused request leaves no record claimed: its client assertion is accepted afterwards', async () => {
    // Refused by the core (a bad grant beside a good client assertion): nothing to claim.
    const clientToken = assertion({ client: true });
    const badGrant = assertion({ key: keyB.pkcs8Pem });
    assertError(await answer(await a(grantWithClient(clientToken, badGrant))), 400, 'invalid_grant', 'grant assertion: invalid signature');
    // Refused by the store (the grant is a replay; the client's record was claimed first and
    // is released): the same client assertion again, with a fresh grant, on the other instance.
    const usedGrant = assertion();
    assertToken(await answer(await a(grant(usedGrant))));
    assertError(await answer(await b(grantWithClient(clientToken, usedGrant))), 400, 'invalid_grant', /already used/);
    assertToken(await answer(await b(grantWithClient(clientToken, assertion()))));
    // Now it is spent.
    assertError(await answer(await a(clientCredentials(clientToken))), 401, 'invalid_client', /already used/);
  });

  test('a client assertion and a grant sharing (iss, jti): the core\'s 400 invalid_grant, nothing claimed', async () => {
    const common = { issuer: SHARED, audience: AS, lifetime: 120, jti: `shared-${Math.random()}` };
    const clientToken = s.signAssertion({ privateKey: EXAMPLE_KEY.privatePem, subject: SHARED, clientAuth: true, ...common });
    const grantToken = s.signAssertion({ privateKey: IDP_KEY.privatePem, subject: 'alice', ...common });
    const body = grantWithClient(clientToken, grantToken);
    const expected = coreRefusal(reference(SHARED_REGISTRY), body);
    assert.deepEqual([expected.status, expected.reason], [400, 'replayed']);
    // The core with its own (memory) store answers the same.
    const memory = new m.AssertionVerifier({ registry: SHARED_REGISTRY });
    assert.equal(coreRefusal(memory, body).body, expected.body);
    const response = await answer(await shared(body));
    assertError(response, 400, 'invalid_grant', JSON.parse(expected.body).error_description);
    // Nothing was claimed: the client assertion alone is accepted; then the grant, which has
    // the same (iss, jti) and so the same record, is a replay.
    assertToken(await answer(await shared(clientCredentials(clientToken))));
    assertError(await answer(await shared(grant(grantToken))), 400, 'invalid_grant', /already used/);
  });

  test('one assertion sent to both instances at once: exactly one token', async () => {
    const body = grant();
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b)(body)));
    const answers = await Promise.all(responses.map(answer));
    assert.deepEqual(answers.map((x) => x.status).sort(), [200, 400, 400, 400, 400, 400, 400, 400]);
  });

  test('a bad client assertion: 401 invalid_client with the core\'s reason', async () => {
    assertError(await answer(await a(clientCredentials(assertion({ client: true, key: keyB.pkcs8Pem })))), 401, 'invalid_client', 'client assertion: invalid signature');
    // RFC 10070: the token endpoint URL is not the issuer identifier.
    assertError(
      await answer(await a(clientCredentials(assertion({ client: true, audience: `${AS}/token` })))),
      401,
      'invalid_client',
      'client assertion: the aud claim does not identify this authorization server',
    );
    assertError(await answer(await b(clientCredentials('x.y.z'))), 401, 'invalid_client', /^client assertion: /);
  });

  test('a bad grant: 400 invalid_grant', async () => {
    const expired = assertion({ currentDate: new Date(Date.now() - 3600_000) });
    assertError(await answer(await a(grant(expired))), 400, 'invalid_grant', /^grant assertion: the assertion expired \d+ s ago \(leeway 30 s\)$/);
    assertError(await answer(await a(grant(assertion({ issuer: 'https://evil.example' })))), 400, 'invalid_grant', /iss/);
  });

  test('malformed bodies: 400 invalid_request', async () => {
    const cases = [
      ['', 'the grant_type parameter is missing'],
      [`grant_type=${encodeURIComponent(GRANT_TYPE)}`, 'the assertion parameter is missing'],
      [`${grant()}&assertion=x`, 'a request parameter is repeated'],
      ['grant_type=%zz', 'the request body is not valid form encoding'],
      [`grant_type=client_credentials&client_assertion=${assertion({ client: true })}`, 'client_assertion and client_assertion_type must be sent together'],
      [`${clientCredentials()}&client_secret=s3cret`, 'more than one client authentication method was used'],
      [`grant_type=x&pad=${'a'.repeat(21 * 1024)}`, 'the request body is too long'],
    ];
    for (const [body, description] of cases) {
      assertError(await answer(await a(body)), 400, 'invalid_request', description);
    }
    // Bytes that are not UTF-8.
    assertError(await answer(await b(new Uint8Array([0x67, 0x3d, 0xff]))), 400, 'invalid_request', 'the request body is not valid form encoding');
  });

  test('grant types: unsupported ones get 400 unsupported_grant_type and use up no jti', async () => {
    assertError(await answer(await a('grant_type=password&username=u&password=p')), 400, 'unsupported_grant_type');
    const clientToken = assertion({ client: true });
    assertError(await answer(await a(clientCredentials(clientToken, 'authorization_code'))), 400, 'unsupported_grant_type');
    assertToken(await answer(await b(clientCredentials(clientToken))));
  });

  test('wrong method, content type and path get proper errors', async () => {
    const get = await answer(await a(undefined, {}, { method: 'GET' }));
    assertError(get, 405, 'invalid_request', 'the token endpoint accepts POST only');
    assert.equal(get.headers.get('allow'), 'POST');
    assertError(await answer(await a(JSON.stringify({ grant_type: GRANT_TYPE }), { 'Content-Type': 'application/json' })), 400, 'invalid_request', /x-www-form-urlencoded/);
    assertError(await answer(await a(grant(), {})), 400, 'invalid_request', /x-www-form-urlencoded/);
    assertToken(await answer(await a(grant(), { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' })));
    const elsewhere = await (await mf.getWorker('token-a')).fetch('http://127.0.0.1/', { method: 'POST' });
    assert.equal(elsewhere.status, 404);
    await elsewhere.arrayBuffer();
  });

  test('one party\'s key never signs for the other: the client vs the issuer, both ways, with and without kid', async () => {
    // [signer, claimed role, request, status, error]
    const rows = [
      ['client', 'issuer', (token) => grant(token), 400, 'invalid_grant'],
      ['issuer', 'client', (token) => clientCredentials(token), 401, 'invalid_client'],
    ];
    let checked = 0;
    for (const [signer, claimed, request, status, error] of rows) {
      for (const [kid, reason] of [
        [undefined, 'invalid_signature'],
        [PARTIES[signer].key.jwk.kid, 'unknown_key'],
      ]) {
        const token = s.signAssertion({
          privateKey: PARTIES[signer].key.privatePem,
          ...(kid && { kid }),
          issuer: PARTIES[claimed].id,
          subject: claimed === 'client' ? CLIENT : 'alice',
          audience: AS,
          lifetime: 120,
          clientAuth: claimed === 'client',
        });
        const body = request(token);
        // The core's own answer for this request, in Node, with the same registry.
        let expected;
        try {
          reference().verifyTokenRequest(body);
        } catch (err) {
          expected = err;
        }
        assert.deepEqual([expected?.status, expected?.reason], [status, reason], `${signer} as ${claimed}, kid ${kid}`);
        for (const worker of [a, b]) {
          const response = await answer(await worker(body));
          assertError(response, status, error, JSON.parse(expected.body).error_description);
          checked++;
        }
      }
    }
    assert.equal(checked, 8);
  });

  test('every algorithm, for clients and issuers: accepted with the party\'s key and its alg; refused when the alg is not the key\'s or the party\'s', async () => {
    const request = (party, token) => (party.use === 'client' ? clientCredentials(token) : grant(token));
    // The documented refusal (README: unsupported_algorithm), per use.
    const refusedAs = (party) =>
      party.use === 'client'
        ? [401, 'invalid_client', 'client assertion: the alg is not one this party\'s keys accept']
        : [400, 'invalid_grant', 'grant assertion: the alg is not one this party\'s keys accept'];
    const reference = new m.AssertionVerifier({ registry: ALG_REGISTRY, replay: 'external' });
    const seen = [];
    for (const party of ALG_PARTIES) {
      const label = `${party.use} ${party.id} (${party.alg})`;
      const token = await joseToken(party, party.alg);
      assertToken(await answer(await algs(request(party, token))));
      seen.push(`${party.use} ${party.alg} accepted`);
      // The same token again: a replay, whatever the algorithm.
      assert.equal((await answer(await algs(request(party, token)))).status, party.use === 'client' ? 401 : 400, label);
      // [what, token]: each refused with unsupported_algorithm, before any signature check.
      const refusals = [
        [`re-labelled ${OTHER_TYPE[party.alg]} (another key type)`, relabelled(await joseToken(party, party.alg), OTHER_TYPE[party.alg])],
        ['none', relabelled(await joseToken(party, party.alg), 'none', '')],
        ['HS256 keyed with the public JWK', hs256(await joseToken(party, party.alg), party)],
      ];
      if (party.other) refusals.push([`${party.other}, validly signed by the party's own key`, await joseToken(party, party.other)]);
      for (const [what, bad] of refusals) {
        const body = request(party, bad);
        const expected = coreRefusal(reference, body);
        assert.equal(expected.reason, 'unsupported_algorithm', `${label}: ${what}`);
        const [status, error, description] = refusedAs(party);
        assert.equal(JSON.parse(expected.body).error_description, description);
        assertError(await answer(await algs(body)), status, error, description);
        seen.push(`${party.use} ${party.alg} refused: ${what}`);
      }
    }
    // Every algorithm × both uses accepted, and refused at least three ways (four where the key
    // type has another algorithm).
    for (const [alg, , other] of ALGORITHMS) {
      for (const use of ['client', 'grant']) {
        assert.ok(seen.includes(`${use} ${alg} accepted`), `${use} ${alg}`);
        assert.ok(seen.filter((row) => row.startsWith(`${use} ${alg} refused`)).length >= (other ? 4 : 3), `${use} ${alg} refusals`);
      }
    }
  });

  test('wrangler.toml\'s ES256 and EdDSA clients: the demo page\'s example keys sign client assertions it accepts, only with their alg', async () => {
    for (const [clientId, alg] of [['p256-client', 'ES256'], ['ed25519-client', 'EdDSA']]) {
      const key = EXAMPLE_KEYS[alg];
      const sign = (signedAlg) =>
        s.signAssertion({ privateKey: key.privatePem, alg: signedAlg, kid: key.jwk.kid, issuer: clientId, subject: clientId, audience: AS, lifetime: 120, clientAuth: true });
      // Signed as the page signs them (the package's signAssertion), and by jose.
      assertToken(await answer(await a(clientCredentials(sign(alg)))));
      const party = { use: 'client', id: clientId, key: { jwk: key.jwk, privateKey: createPrivateKey(key.privatePem) } };
      assertToken(await answer(await b(clientCredentials(await joseToken(party, alg)))));
      // Another alg: RS256 re-labelled; for the Ed25519 key also Ed25519, validly signed by it.
      const refused = [relabelled(await joseToken(party, alg), 'RS256')];
      if (alg === 'EdDSA') refused.push(sign('Ed25519'));
      for (const token of refused) {
        assertError(await answer(await a(clientCredentials(token))), 401, 'invalid_client', 'client assertion: the alg is not one this party\'s keys accept');
      }
    }
  });

  test('client_secret and the Authorization header: 401 invalid_client from the core, a fixed WWW-Authenticate', async () => {
    const refused = 'the client authentication method is not supported; authenticate with a client assertion';
    const secret = await answer(await a(new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: 's3cret' }).toString()));
    assertError(secret, 401, 'invalid_client', refused);
    assert.equal(secret.headers.get('www-authenticate'), null);
    for (const authorization of ['Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW', 'Bearer x', 'Evil realm="x", Basic', 'x'.repeat(300)]) {
      for (const body of [grant(), 'grant_type=client_credentials']) {
        const response = await answer(await b(body, { ...FORM, Authorization: authorization }));
        assertError(response, 401, 'invalid_client', refused);
        assert.equal(response.headers.get('www-authenticate'), 'Basic realm="token"');
        assert.ok(!JSON.stringify(response.body).includes(authorization.slice(0, 8)));
      }
    }
    // With a client assertion too: two methods, 400 invalid_request (RFC 6749 §2.3).
    const both = await answer(await a(clientCredentials(), { ...FORM, Authorization: 'Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW' }));
    assertError(both, 400, 'invalid_request', 'more than one client authentication method was used');
    assert.equal(both.headers.get('www-authenticate'), null);
  });

  test('resource (RFC 8707) may repeat; other parameters may not', async () => {
    assertToken(await answer(await a(`${grant()}&resource=https%3A%2F%2Fapi.example&resource=https%3A%2F%2Fapi2.example`)));
    assertError(await answer(await a(`${grant()}&scope=a&scope=b`)), 400, 'invalid_request', 'a request parameter is repeated');
  });
});

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

describe('wrangler dev runs the example as configured', () => {
  let child;
  let persist;
  let output = '';

  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (persist) rmSync(persist, { recursive: true, force: true });
  });

  test('a client assertion and its replay through `wrangler dev` on 127.0.0.1', { timeout: 120_000 }, async () => {
    const port = await freePort();
    persist = mkdtempSync(join(tmpdir(), 'rfc7523-wrangler-dev-'));
    child = spawn(
      wrangler,
      ['dev', '--config', configPath, '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', '0', '--persist-to', persist, '--log-level', 'info'],
      { cwd: repoRoot, env: quietEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise((resolve, reject) => {
      const onData = (chunk) => {
        output += chunk;
        if (/Ready on http:\/\/127\.0\.0\.1:\d+/.test(output)) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`wrangler dev exited (${code}):\n${output}`)));
    });
    const body = clientCredentials();
    const post = () => fetch(`http://127.0.0.1:${port}/token`, { method: 'POST', headers: FORM, body });
    assertToken(await answer(await post()));
    assertError(await answer(await post()), 401, 'invalid_client', /already used/);
    assert.doesNotMatch(output, /ERROR/);
    assert.match(readFileSync(configPath, 'utf8'), /new_sqlite_classes = \["JtiStore"\]/);
  });
});
