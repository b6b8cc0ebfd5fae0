// Remote key sets in the npm package (issue 14): a registry's `jwks_uri` and `discovery`
// parties, fetched by verifyAsync / verifyTokenRequestAsync with the core's policy, against a
// key server on 127.0.0.1 made here (nothing leaves the machine): rotation, the cooldown under
// a flood of unknown kids, single flight, every kind of bad response refused as
// `keys_unavailable` (never an accept, never a crash), max-age and its clamps, the stale
// grace, a shared jwksCache, and the synchronous methods' TypeError on a cold party.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  AS,
  CLIENT,
  CLIENT_ASSERTION_TYPE,
  GRANT_TYPE,
  NOW,
  at,
  clientClaims,
  form,
  keyA,
  keyB,
  keyC,
  importFromProject,
  m,
  pkgDir,
  registryDoc,
  rs256,
  signRaw,
  thrown,
} from '../support/fixtures.mjs';

/** The core's policy (crates/rfc7523/src/remote_keys), as these tests expect it. */
const REFETCH_COOLDOWN = 30;
const DEFAULT_MAX_AGE = 600;
const MIN_MAX_AGE = 60;
const MAX_MAX_AGE = 86_400;
const STALE_GRACE = 3_600;
const FETCH_TIMEOUT_MS = 5_000;
const MAX_DOCUMENT_LEN = 64 * 1024;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The key server: `/jwks` (a client's set), `/.well-known/openid-configuration` and
 * `/idp-keys` (an issuer by discovery). `state` says what each answers; `hits` counts
 * requests by path.
 */
function keyServer() {
  const server = {
    hits: {},
    jwks: { keys: [keyA.jwk] },
    idpKeys: { keys: [keyB.jwk] },
    // 'ok', '500', 'badjson', 'oversize', 'oversize-announced', 'redirect', 'wrongtype',
    // 'hang'
    mode: 'ok',
    cacheControl: undefined,
    delayMs: 0,
    discoveryIssuer: undefined,
    base: '',
    count(path) {
      return this.hits[path] ?? 0;
    },
    reset() {
      Object.assign(this, {
        hits: {},
        jwks: { keys: [keyA.jwk] },
        idpKeys: { keys: [keyB.jwk] },
        mode: 'ok',
        cacheControl: undefined,
        delayMs: 0,
        discoveryIssuer: undefined,
      });
    },
  };
  const reply = (res, status, type, body, headers = {}) => {
    const h = { ...headers };
    if (type) h['content-type'] = type;
    if (server.cacheControl !== undefined) h['cache-control'] = server.cacheControl;
    res.writeHead(status, h);
    res.end(body);
  };
  server.http = http.createServer(async (req, res) => {
    const path = req.url;
    server.hits[path] = (server.hits[path] ?? 0) + 1;
    if (server.delayMs) await sleep(server.delayMs);
    if (path === '/.well-known/openid-configuration') {
      return reply(res, 200, 'application/json', JSON.stringify({
        issuer: server.discoveryIssuer ?? server.base,
        jwks_uri: `${server.base}/idp-keys`,
        token_endpoint: `${server.base}/token`,
      }));
    }
    if (path === '/idp-keys') return reply(res, 200, 'application/jwk-set+json', JSON.stringify(server.idpKeys));
    if (path === '/elsewhere') return reply(res, 200, 'application/jwk-set+json', JSON.stringify(server.jwks));
    if (path !== '/jwks') return reply(res, 404, 'text/plain', 'no');
    switch (server.mode) {
      case 'ok':
        return reply(res, 200, 'application/jwk-set+json', JSON.stringify(server.jwks));
      case '500':
        return reply(res, 500, 'application/json', '{}');
      case 'badjson':
        return reply(res, 200, 'application/json', '{"keys": [');
      case 'duplicate':
        return reply(res, 200, 'application/json', `{"keys": [], ${JSON.stringify(server.jwks).slice(1)}`);
      case 'wrongtype':
        return reply(res, 200, 'text/html', JSON.stringify(server.jwks));
      case 'redirect':
        return reply(res, 302, undefined, '', { location: `${server.base}/elsewhere` });
      case 'oversize-announced':
        return reply(res, 200, 'application/json', JSON.stringify({ keys: [keyA.jwk], pad: 'x'.repeat(MAX_DOCUMENT_LEN) }));
      case 'oversize': {
        // Chunked, no Content-Length: the reader must stop by itself. The server would go on
        // sending 16 MiB; the test counts what it managed to write.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"keys": [], "pad": "');
        server.written = 0;
        const chunk = 'x'.repeat(16 * 1024);
        const pump = () => {
          while (server.written < 16 * 1024 * 1024) {
            server.written += chunk.length;
            if (!res.write(chunk)) return res.once('drain', pump);
          }
          res.end('"}');
        };
        res.on('error', () => {});
        req.socket.on('close', () => { server.closed = true; });
        return pump();
      }
      case 'hang':
        return; // never answers
      default:
        throw new Error(server.mode);
    }
  });
  return server;
}

const server = keyServer();
before(async () => {
  await new Promise((resolve) => server.http.listen(0, '127.0.0.1', resolve));
  server.base = `http://127.0.0.1:${server.http.address().port}`;
});
after(() => {
  server.http.closeAllConnections();
  server.http.close();
});

const RS256 = (kid) => ({ alg: 'RS256', typ: 'JWT', kid });

/** A registry with one client by `jwks_uri` and one issuer (the server itself) by discovery. */
function remoteRegistry() {
  return registryDoc({
    clients: [{ client_id: CLIENT, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${server.base}/jwks` }],
    issuers: [{ issuer: server.base, discovery: 'openid-configuration' }],
  });
}

const verifier = (options = {}) => new m.AssertionVerifier({ registry: remoteRegistry(), ...options });

/** A client assertion at `now` under `key` with header kid `kid`. */
function clientToken(now = NOW, key = keyA, kid = key.jwk.kid) {
  return signRaw(RS256(kid), clientClaims({ iat: now, exp: now + 60 }), key);
}

function grantToken(now = NOW, key = keyB, kid = key.jwk.kid) {
  return signRaw(
    RS256(kid),
    { iss: server.base, sub: 'alice', aud: AS, iat: now, exp: now + 60, jti: `g-${Math.random()}` },
    key,
  );
}

const asClient = (now) => ({ ...at(now), use: 'client_authentication' });
const asGrant = (now) => ({ ...at(now), use: 'grant' });

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** The typed refusal of an outage: never an accept, never another error. */
function assertUnavailable(err, what) {
  assert.ok(err instanceof m.AssertionError, `${what}: ${err?.stack ?? err}`);
  assert.equal(err.reason, 'keys_unavailable', what);
  assert.equal(err.code, 'ERR_JWKS_UNAVAILABLE', what);
  assert.equal(err.status, 503, what);
  assert.equal(err.oauthError, 'temporarily_unavailable', what);
  assert.ok(Number.isInteger(err.retryAfter) && err.retryAfter >= 1, `${what}: retryAfter ${err.retryAfter}`);
  assert.equal(JSON.parse(err.body).error, 'temporarily_unavailable', what);
}

describe('remote key sets (verifyAsync, verifyTokenRequestAsync)', () => {
  test('a cold cache fetches once; a warm one does not fetch (latency printed, not asserted)', async (t) => {
    server.reset();
    const v = verifier();
    let start = performance.now();
    const cold = await v.verifyAsync(clientToken(), asClient(NOW));
    const coldMs = performance.now() - start;
    assert.equal(cold.claims.iss, CLIENT);
    assert.equal(server.count('/jwks'), 1);
    const warmRuns = 50;
    start = performance.now();
    for (let i = 0; i < warmRuns; i++) await v.verifyAsync(clientToken(), asClient(NOW + 1));
    const warmMs = (performance.now() - start) / warmRuns;
    assert.equal(server.count('/jwks'), 1);
    t.diagnostic(`cold cache: ${coldMs.toFixed(2)} ms (1 fetch over loopback); warm: ${warmMs.toFixed(2)} ms per call over ${warmRuns} (0 fetches); added on a cold cache: ${(coldMs - warmMs).toFixed(2)} ms`);
  });

  test('an issuer by discovery: the document, then its jwks_uri, each fetched once', async () => {
    server.reset();
    const v = verifier();
    const out = await v.verifyAsync(grantToken(), asGrant(NOW));
    assert.equal(out.claims.iss, server.base);
    await v.verifyAsync(grantToken(), asGrant(NOW + 1));
    assert.equal(server.count('/.well-known/openid-configuration'), 1);
    assert.equal(server.count('/idp-keys'), 1);
  });

  test('a token request with both parties remote', async () => {
    server.reset();
    const v = verifier();
    const body = form({
      grant_type: GRANT_TYPE,
      assertion: grantToken(),
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: clientToken(),
    });
    const out = await v.verifyTokenRequestAsync(body, at(NOW));
    assert.equal(out.clientAuthentication, 'client_assertion');
    assert.equal(out.claims.iss, server.base);
    assert.equal(out.clientClaims.iss, CLIENT);
    assert.deepEqual([server.count('/jwks'), server.count('/idp-keys')], [1, 1]);
  });

  test('rotation: a new kid is verified after one refetch, not before the cooldown', async () => {
    server.reset();
    const v = verifier();
    await v.verifyAsync(clientToken(), asClient(NOW));
    server.jwks = { keys: [keyC.jwk] };
    // Within the cooldown: no fetch, unknown_key.
    const early = await rejection(v.verifyAsync(clientToken(NOW + 1, keyC), asClient(NOW + 1)));
    assert.equal(early.reason, 'unknown_key', early.message);
    assert.equal(server.count('/jwks'), 1);
    const later = NOW + REFETCH_COOLDOWN;
    const out = await v.verifyAsync(clientToken(later, keyC), asClient(later));
    assert.equal(out.header.kid, 'key-c');
    assert.equal(server.count('/jwks'), 2);
    // The rotated-out key is gone with its set.
    const old = await rejection(v.verifyAsync(clientToken(later + 1), asClient(later + 1)));
    assert.equal(old.reason, 'unknown_key');
    // The synchronous method uses the cached set too.
    assert.equal(v.verify(clientToken(later + 2, keyC), asClient(later + 2)).header.kid, 'key-c');
    assert.equal(server.count('/jwks'), 2);
  });

  test("rotation in a token request: the grant's issuer refetched once, the client untouched", async () => {
    server.reset();
    const v = verifier();
    const request = (now, grantKey) =>
      form({
        grant_type: GRANT_TYPE,
        assertion: grantToken(now, grantKey),
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: clientToken(now),
      });
    await v.verifyTokenRequestAsync(request(NOW, keyB), at(NOW));
    server.idpKeys = { keys: [keyC.jwk] };
    const early = await rejection(v.verifyTokenRequestAsync(request(NOW + 1, keyC), at(NOW + 1)));
    assert.equal(early.reason, 'unknown_key');
    assert.equal(early.oauthError, 'invalid_grant');
    const later = NOW + REFETCH_COOLDOWN;
    const out = await v.verifyTokenRequestAsync(request(later, keyC), at(later));
    assert.equal(out.claims.iss, server.base);
    assert.deepEqual([server.count('/jwks'), server.count('/idp-keys'), server.count('/.well-known/openid-configuration')], [1, 2, 1]);
  });

  test('a flood of 1,000 tokens with unknown kids costs at most one fetch per cooldown', async () => {
    server.reset();
    const v = verifier();
    await v.verifyAsync(clientToken(), asClient(NOW));
    const SPAN = 100; // seconds the flood lasts: 10 tokens a second
    const tokens = [];
    for (let i = 0; i < 1000; i++) {
      const now = NOW + Math.floor((i * SPAN) / 1000);
      tokens.push([now, signRaw(RS256(`nobody-${i}`), clientClaims({ iat: now, exp: now + 60 }))]);
    }
    // Half in parallel batches, half one by one.
    for (let i = 0; i < 500; i += 50) {
      const batch = tokens.slice(i, i + 50).map(([now, token]) => rejection(v.verifyAsync(token, asClient(now))));
      for (const err of await Promise.all(batch)) assert.equal(err.reason, 'unknown_key');
    }
    for (const [now, token] of tokens.slice(500)) {
      assert.equal((await rejection(v.verifyAsync(token, asClient(now)))).reason, 'unknown_key');
    }
    const refetches = server.count('/jwks') - 1;
    assert.ok(refetches <= Math.ceil(SPAN / REFETCH_COOLDOWN), `refetches: ${refetches}`);
    assert.ok(refetches >= Math.floor(SPAN / REFETCH_COOLDOWN), `refetches: ${refetches}`);
  });

  test('64 concurrent calls on a cold cache cost exactly one fetch', async (t) => {
    server.reset();
    server.delayMs = 50;
    const v = verifier();
    const results = await Promise.all(
      Array.from({ length: 64 }, () => v.verifyAsync(clientToken(), asClient(NOW))),
    );
    assert.equal(results.length, 64);
    for (const r of results) assert.equal(r.claims.iss, CLIENT);
    assert.equal(server.count('/jwks'), 1);
    // The same through discovery: one document, one key set.
    const grants = await Promise.all(
      Array.from({ length: 64 }, () => v.verifyAsync(grantToken(), asGrant(NOW))),
    );
    assert.equal(grants.length, 64);
    assert.deepEqual([server.count('/.well-known/openid-configuration'), server.count('/idp-keys')], [1, 1]);
    t.diagnostic(`fetch counts for 64 + 64 concurrent cold calls: jwks ${server.count('/jwks')}, discovery ${server.count('/.well-known/openid-configuration')}, idp keys ${server.count('/idp-keys')}`);
  });

  describe('bad responses are refused keys_unavailable', () => {
    const cases = [
      ['500', 'HTTP 500'],
      ['badjson', 'invalid JSON'],
      ['duplicate', 'a duplicate member'],
      ['oversize', 'a body past 64 KiB, chunked'],
      ['oversize-announced', 'a Content-Length past 64 KiB'],
      ['redirect', 'a redirect (never followed)'],
      ['wrongtype', 'Content-Type text/html'],
    ];
    for (const [mode, what] of cases) {
      test(what, async () => {
        server.reset();
        server.mode = mode;
        const v = verifier();
        const err = await rejection(v.verifyAsync(clientToken(), asClient(NOW)));
        assertUnavailable(err, what);
        assert.equal(err.retryAfter, REFETCH_COOLDOWN, what);
        assert.equal(server.count('/jwks'), 1, what);
        assert.equal(server.count('/elsewhere'), 0, 'a redirect is not followed');
        // Within the cooldown: no new fetch, the same refusal.
        assertUnavailable(await rejection(v.verifyAsync(clientToken(NOW + 10), asClient(NOW + 10))), what);
        assert.equal(server.count('/jwks'), 1, what);
        // The server mends: the next fetch (after the cooldown) succeeds.
        server.mode = 'ok';
        const later = NOW + REFETCH_COOLDOWN;
        assert.equal((await v.verifyAsync(clientToken(later), asClient(later))).claims.iss, CLIENT);
        assert.equal(server.count('/jwks'), 2, what);
      });
    }

    test('a body past 64 KiB is not read to its end', async () => {
      server.reset();
      server.mode = 'oversize';
      server.closed = false;
      await rejection(verifier().verifyAsync(clientToken(), asClient(NOW)));
      for (let i = 0; i < 100 && !server.closed; i++) await sleep(10);
      assert.ok(server.closed, 'the connection was dropped');
      assert.ok(server.written < 4 * 1024 * 1024, `the server wrote ${server.written} bytes`);
    });

    test('a discovery document naming another issuer: its jwks_uri never fetched', async () => {
      server.reset();
      server.discoveryIssuer = 'https://attacker.example';
      const err = await rejection(verifier().verifyAsync(grantToken(), asGrant(NOW)));
      assertUnavailable(err, 'wrong issuer');
      assert.equal(server.count('/.well-known/openid-configuration'), 1);
      assert.equal(server.count('/idp-keys'), 0);
    });

    test('a fetch that rejects, a fetch that returns garbage, and a fetch that throws', async () => {
      for (const [what, fetch] of [
        ['rejects', () => Promise.reject(new TypeError('offline'))],
        ['garbage', async () => ({ status: 'two hundred' })],
        ['throws', () => { throw new Error('boom'); }],
        ['null', async () => null],
      ]) {
        assertUnavailable(await rejection(verifier({ fetch }).verifyAsync(clientToken(), asClient(NOW))), what);
      }
    });

    test(`a server that never answers times out after ${FETCH_TIMEOUT_MS / 1000} s`, async () => {
      server.reset();
      server.mode = 'hang';
      const start = performance.now();
      const err = await rejection(verifier().verifyAsync(clientToken(), asClient(NOW)));
      const took = performance.now() - start;
      assertUnavailable(err, 'timeout');
      assert.ok(took >= FETCH_TIMEOUT_MS - 50 && took < 2 * FETCH_TIMEOUT_MS, `${took} ms`);
    });

    test('the injected fetch gets redirect: manual and an AbortSignal, and only configured URLs', async () => {
      server.reset();
      const seen = [];
      const fetch = (url, init) => {
        seen.push([url, init.redirect, init.signal instanceof AbortSignal]);
        return globalThis.fetch(url, init);
      };
      const v = verifier({ fetch });
      // A token naming a jku, an x5u and an unknown issuer fetches nothing from them.
      const sneaky = signRaw({ alg: 'RS256', kid: 'key-a', jku: 'http://127.0.0.1:9/evil', x5u: 'http://127.0.0.1:9/x' }, clientClaims());
      await v.verifyAsync(sneaky, asClient(NOW));
      const stranger = signRaw(RS256('key-a'), clientClaims({ iss: 'http://127.0.0.1:9/', sub: 'http://127.0.0.1:9/' }));
      await rejection(v.verifyAsync(stranger, asClient(NOW)));
      assert.deepEqual(seen, [[`${server.base}/jwks`, 'manual', true]]);
    });
  });

  describe('lifetimes', () => {
    /** Fetches at NOW, then asks at `now` with a known kid: how many fetches by then. */
    async function fetchesBy(cacheControl, times) {
      server.reset();
      server.cacheControl = cacheControl;
      const v = verifier();
      const counts = [];
      for (const now of [NOW, ...times]) {
        await v.verifyAsync(clientToken(now), asClient(now));
        counts.push(server.count('/jwks'));
      }
      return counts;
    }

    test('max-age is honoured', async () => {
      assert.deepEqual(await fetchesBy('max-age=120', [NOW + 119, NOW + 120]), [1, 1, 2]);
    });
    test(`no Cache-Control: ${DEFAULT_MAX_AGE} s`, async () => {
      assert.deepEqual(await fetchesBy(undefined, [NOW + DEFAULT_MAX_AGE - 1, NOW + DEFAULT_MAX_AGE]), [1, 1, 2]);
    });
    test(`max-age below ${MIN_MAX_AGE} s is clamped up`, async () => {
      assert.deepEqual(await fetchesBy('max-age=5', [NOW + 5, NOW + MIN_MAX_AGE - 1, NOW + MIN_MAX_AGE]), [1, 1, 1, 2]);
    });
    test(`max-age above ${MAX_MAX_AGE} s is clamped down`, async () => {
      assert.deepEqual(await fetchesBy('max-age=999999999', [NOW + MAX_MAX_AGE - 1, NOW + MAX_MAX_AGE]), [1, 1, 2]);
    });

    test(`stale keys serve for ${STALE_GRACE} s past their lifetime while refreshes fail, then keys_unavailable`, async () => {
      server.reset();
      server.cacheControl = 'max-age=600';
      const v = verifier();
      await v.verifyAsync(clientToken(NOW), asClient(NOW));
      server.mode = '500';
      const end = NOW + 600 + STALE_GRACE;
      // Stale: each refresh fails (one per cooldown), and the stale keys verify.
      for (const now of [NOW + 600, NOW + 601, NOW + 600 + REFETCH_COOLDOWN, end - 1]) {
        const out = await v.verifyAsync(clientToken(now), asClient(now));
        assert.equal(out.claims.iss, CLIENT, `at +${now - NOW}`);
      }
      assert.equal(server.count('/jwks'), 4);
      // Past the grace: refused, as an outage.
      assertUnavailable(await rejection(v.verifyAsync(clientToken(end), asClient(end))), 'past the grace');
      // The synchronous method, which never fetches, tells the caller to fetch.
      const sync = thrown(() => v.verify(clientToken(end), asClient(end)));
      assert.ok(sync instanceof TypeError, String(sync));
      assert.equal(sync.code, 'ERR_JWKS_NOT_FETCHED');
    });
  });

  describe('a shared jwksCache', () => {
    function mapCache() {
      const map = new Map();
      const calls = { get: 0, set: 0 };
      return {
        map,
        calls,
        async get(uri) {
          calls.get++;
          await sleep(1);
          return map.get(uri);
        },
        async set(uri, record) {
          calls.set++;
          await sleep(1);
          map.set(uri, record);
        },
      };
    }

    test('two verifiers (two isolates) sharing one cache fetch once', async () => {
      server.reset();
      const jwksCache = mapCache();
      const a = verifier({ jwksCache });
      const b = verifier({ jwksCache });
      await a.verifyAsync(clientToken(), asClient(NOW));
      await b.verifyAsync(clientToken(NOW + 5), asClient(NOW + 5));
      await a.verifyAsync(grantToken(), asGrant(NOW));
      await b.verifyAsync(grantToken(NOW + 5), asGrant(NOW + 5));
      assert.equal(server.count('/jwks'), 1);
      assert.equal(server.count('/.well-known/openid-configuration'), 1);
      assert.equal(server.count('/idp-keys'), 1);
      const record = jwksCache.map.get(`${server.base}/jwks`);
      assert.match(record, /^rfc7523-key-cache 1\nsha-256 [0-9a-f]{64}\nuri http:\/\/127\.0\.0\.1:\d+\/jwks\nfetched-at 1767225600\nmax-age 600\n/);
      // The record's time also starts b's cooldown: a new kid at +10 does not fetch.
      await rejection(b.verifyAsync(clientToken(NOW + 10, keyC), asClient(NOW + 10)));
      assert.equal(server.count('/jwks'), 1);
    });

    test('concurrent calls on two cold verifiers sharing a cache: one fetch in all', async () => {
      server.reset();
      server.delayMs = 20;
      const jwksCache = mapCache();
      const [a, b] = [verifier({ jwksCache }), verifier({ jwksCache })];
      const call = (v) => v.verifyAsync(clientToken(), asClient(NOW));
      const first = await Promise.all(Array.from({ length: 32 }, () => call(a)));
      const second = await Promise.all(Array.from({ length: 32 }, () => call(b)));
      for (const r of [...first, ...second]) assert.equal(r.claims.iss, CLIENT);
      assert.equal(server.count('/jwks'), 1);
      // Each verifier read the shared cache once (single flight covers the read too).
      assert.deepEqual(jwksCache.calls, { get: 2, set: 1 });
    });

    /** A record in the core's format (crates/rfc7523/src/remote_keys/record.rs). */
    function makeRecord(uri, fetchedAt, maxAge, doc) {
      const body = typeof doc === 'string' ? doc : JSON.stringify(doc);
      const signed = `uri ${uri}\nfetched-at ${fetchedAt}\nmax-age ${maxAge}\nlength ${Buffer.byteLength(body)}\n\n${body}`;
      const digest = createHash('sha256').update(signed).digest('hex');
      return `rfc7523-key-cache 1\nsha-256 ${digest}\n${signed}`;
    }

    test('a record is never trusted more than a fetch: altered, another URI, bad keys, the future', async () => {
      const uri = `${server.base}/jwks`;
      const valid = makeRecord(uri, NOW, 600, { keys: [keyA.jwk] });
      // The control: a record made here is adopted (no fetch).
      server.reset();
      const control = mapCache();
      control.map.set(uri, valid);
      await verifier({ jwksCache: control }).verifyAsync(clientToken(), asClient(NOW));
      assert.equal(server.count('/jwks'), 0, 'control');
      const small = { kty: 'RSA', kid: 'small', n: Buffer.alloc(128, 0xc5).toString('base64url'), e: 'AQAB' };
      for (const [what, value] of [
        ['a changed byte (digest mismatch)', valid.replace('"kty":"RSA"', '"kty":"RSB"')],
        ['another URI', makeRecord('https://other.example/jwks', NOW, 600, { keys: [keyA.jwk] })],
        ['an RSA-1024 key', makeRecord(uri, NOW, 600, { keys: [small] })],
        ['the issuer\'s key shared', makeRecord(uri, NOW, 600, { keys: [keyA.jwk, keyB.jwk] })],
        ['not JSON', makeRecord(uri, NOW, 600, '{"keys": [')],
        ['a lifetime out of range', makeRecord(uri, NOW, 10, { keys: [keyA.jwk] })],
        ['fetched an hour in the future', makeRecord(uri, NOW + 3600, 600, { keys: [keyA.jwk] })],
        ['past its grace', makeRecord(uri, NOW - 600 - STALE_GRACE, 600, { keys: [keyA.jwk] })],
        ['a plain JWK Set', JSON.stringify({ keys: [keyA.jwk] })],
        ['not text', { keys: [keyA.jwk] }],
      ]) {
        server.reset();
        const jwksCache = mapCache();
        jwksCache.map.set(uri, value);
        // The issuer's keys are known to the registry in the shared-key case only once fetched.
        const v = verifier({ jwksCache });
        if (what.includes('shared')) await v.verifyAsync(grantToken(), asGrant(NOW));
        await v.verifyAsync(clientToken(), asClient(NOW));
        assert.equal(server.count('/jwks'), 1, `${what}: fetched instead`);
      }
    });

    test('a jwksCache that throws or answers nonsense is a cache miss', async () => {
      server.reset();
      const jwksCache = {
        get: () => { throw new Error('down'); },
        set: async () => { throw new Error('down'); },
      };
      const out = await verifier({ jwksCache }).verifyAsync(clientToken(), asClient(NOW));
      assert.equal(out.claims.iss, CLIENT);
      assert.equal(server.count('/jwks'), 1);
    });
  });

  test('the web build (no node:crypto, no rounds): the same fetch, single flight and refusal', async () => {
    const web = await importFromProject('rfc7523/web');
    web.initSync({ module: readFileSync(join(pkgDir, 'web/rfc7523_bg.wasm')) });
    server.reset();
    server.delayMs = 20;
    const v = new web.AssertionVerifier({ registry: remoteRegistry() });
    const results = await Promise.all(Array.from({ length: 16 }, () => v.verifyAsync(clientToken(), asClient(NOW))));
    for (const r of results) assert.equal(r.claims.iss, CLIENT);
    assert.equal(server.count('/jwks'), 1);
    const grant = await v.verifyAsync(grantToken(), asGrant(NOW));
    assert.equal(grant.claims.iss, server.base);
    server.reset();
    server.mode = '500';
    const err = await rejection(new web.AssertionVerifier({ registry: remoteRegistry() }).verifyAsync(clientToken(), asClient(NOW)));
    assert.equal(err.reason, 'keys_unavailable', String(err));
    assert.equal(err.status, 503);
    assert.equal(err.retryAfter, REFETCH_COOLDOWN);
  });

  test(`a jwksCache whose get never settles costs at most ${FETCH_TIMEOUT_MS / 1000} s, then a fetch`, async () => {
    server.reset();
    const jwksCache = { get: () => new Promise(() => {}), set: () => new Promise(() => {}) };
    const start = performance.now();
    const out = await verifier({ jwksCache }).verifyAsync(clientToken(), asClient(NOW));
    const took = performance.now() - start;
    assert.equal(out.claims.iss, CLIENT);
    assert.equal(server.count('/jwks'), 1);
    // The read and the write each wait out the timeout at most.
    assert.ok(took < 2 * FETCH_TIMEOUT_MS + 1000, `${took} ms`);
  });

  describe('options and the synchronous methods', () => {
    test('the synchronous methods never fetch: a cold remote party is a TypeError', () => {
      server.reset();
      const v = verifier();
      const err = thrown(() => v.verify(clientToken(), asClient(NOW)));
      assert.ok(err instanceof TypeError, String(err));
      assert.equal(err.code, 'ERR_JWKS_NOT_FETCHED');
      assert.match(err.message, /verifyAsync/);
      const body = form({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: clientToken() });
      const err2 = thrown(() => v.verifyTokenRequest(body, at(NOW)));
      assert.ok(err2 instanceof TypeError, String(err2));
      assert.equal(server.count('/jwks'), 0);
    });

    test('a registry without remote parties works synchronously as before', () => {
      const v = new m.AssertionVerifier({ registry: registryDoc(), fetch: () => assert.fail('fetched') });
      assert.equal(v.verify(clientToken(), asClient(NOW)).claims.iss, CLIENT);
    });

    test('bad fetch and jwksCache options are TypeErrors', () => {
      for (const [options, pattern] of [
        [{ fetch: 'https://x' }, /fetch must be a function/],
        [{ jwksCache: {} }, /jwksCache must be an object with get/],
        [{ jwksCache: { get() {} } }, /jwksCache must be an object with get/],
      ]) {
        assert.throws(() => verifier(options), (e) => e instanceof TypeError && pattern.test(e.message));
      }
    });

    test('rfc7523/rs256 refuses remote parties, naming the main module', () => {
      assert.throws(
        () => new rs256.AssertionVerifier({ registry: remoteRegistry() }),
        (e) => e instanceof TypeError && /jwks_uri.*rfc7523\/rs256 does not fetch key sets.*import "rfc7523"/s.test(e.message),
      );
    });
  });
});
