// The Worker example (www/worker/) with remote key sets, in workerd through Miniflare: a
// registry whose clients have a `jwks_uri` and whose trusted issuer, shaped like GitHub Actions'
// OIDC issuer, is found by `discovery`, all served by a key server on 127.0.0.1 made here
// (nothing leaves the machine; `http` is allowed for loopback hosts only). Two Workers running
// wrangler's bundle stand for two isolates of one data center: they share Miniflare's Cache API,
// the Worker's `jwksCache`. Checked: a token for a jwks_uri client and for a GitHub-shaped grant
// (another subject refused, a replay refused through the asynchronous replay judge); a cold
// isolate reusing the other's fetch (the key server counts requests); an outage (500, a hang)
// on a cold cache → 503 temporarily_unavailable with Retry-After, never a token; the key
// server down after a warm fetch → still 200; a rotated key accepted after one refetch, unknown
// kids refetched at most once per cooldown. Latencies are printed as diagnostics, not asserted.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { requireTool } from './support.mjs';
import {
  AS,
  CLIENT,
  CLIENT_ASSERTION_TYPE,
  PARTIES,
  GRANT_TYPE,
  answer,
  assertError,
  assertion,
  assertToken,
  bundleWorker,
  bundledWorker,
  poster,
  startMiniflare,
  workerConfig,
  workerConstant,
} from './worker-harness.mjs';

/** A stand-in for D1 (a wrapped binding, as in worker-faults.test.mjs): its rows are ROWS. */
const FAKE_D1_SCRIPT = `
export default function (env) {
  return { prepare: () => ({ bind: () => ({ all: async () => ({ results: env.ROWS }) }) }) };
}
`;

/** The core's policy (crates/rfc7523/src/remote_keys), as these tests expect it. */
const REFETCH_COOLDOWN = 30;
const STALE_GRACE = 3_600;
/** The Cache-Control max-age of the key server's answers. */
const KEY_MAX_AGE = 300;

/** An RSA key pair of a party: node:crypto's private key and the public JWK with `kid`. */
function rsaKey(kid) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' } };
}

const KEYS = {
  client: rsaKey('client-2026'),
  outage: rsaKey('outage-1'),
  hang: rsaKey('hang-1'),
  rotating1: rsaKey('rotating-1'),
  rotating2: rsaKey('rotating-2'),
  gha: rsaKey('gha-1'),
  d1: rsaKey('d1-1'),
};

/** A compact JWS, RS256, signed by node:crypto. */
function jws(header, claims, key) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'RS256', ...header })}.${part(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);

/** A client assertion (RFC 7523 §2.2) of `clientId` with `key`, under header kid `kid`. */
function clientAssertion(clientId, key, kid = key.jwk.kid) {
  const iat = now();
  return jws({ typ: 'JWT', kid }, { iss: clientId, sub: clientId, aud: AS, jti: randomUUID(), iat, exp: iat + 120 }, key);
}

const clientCredentials = (token) =>
  new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: token }).toString();

const MAIN = 'repo:octo-org/octo-repo:ref:refs/heads/main';

/**
 * A token shaped like GitHub Actions' OIDC token (docs.github.com, "About security hardening
 * with OpenID Connect"): header typ JWT, kid, RS256; nbf 10 minutes before iat, exp 5 minutes
 * after; the claims of a workflow run on `ref` of `repository`.
 */
function githubToken(issuer, { sub = MAIN, key = KEYS.gha, environment = 'production' } = {}) {
  const iat = now();
  const [, repository, ref] = /^repo:([^:]+):ref:(.+)$/.exec(sub) ?? [, 'octo-org/octo-repo', 'refs/heads/main'];
  return jws({ typ: 'JWT', kid: key.jwk.kid }, {
    jti: randomUUID(),
    sub,
    aud: AS,
    ref,
    sha: 'd6e55a0f3c6a2bd3c4f0e8e9b0c1f2a3b4c5d6e7',
    repository,
    repository_owner: repository.split('/')[0],
    repository_owner_id: '65434',
    run_id: '5421327898',
    run_number: '42',
    run_attempt: '1',
    actor: 'octocat',
    event_name: 'push',
    ref_type: 'branch',
    environment,
    workflow: 'deploy',
    job_workflow_ref: `${repository}/.github/workflows/deploy.yml@${ref}`,
    runner_environment: 'github-hosted',
    iss: issuer,
    nbf: iat - 600,
    exp: iat + 300,
    iat,
  }, key);
}

const grant = (token) => new URLSearchParams({ grant_type: GRANT_TYPE, assertion: token }).toString();

/**
 * The key server: a client's set per path (`sets`), and an OIDC issuer like GitHub's at its
 * root (`/.well-known/openid-configuration`, whose `jwks_uri` is `/gha-keys`). `hits` counts
 * requests by path; `mode[path]` ('ok', '500', 'hang') says how a path answers, `down` makes
 * every path answer 500.
 */
function keyServer() {
  const server = {
    hits: {},
    mode: {},
    down: false,
    base: '',
    sets: {
      '/client-jwks': { keys: [KEYS.client.jwk] },
      '/outage-jwks': { keys: [KEYS.outage.jwk] },
      '/hang-jwks': { keys: [KEYS.hang.jwk] },
      '/rotating-jwks': { keys: [KEYS.rotating1.jwk, KEYS.rotating2.jwk] },
      '/gha-keys': { keys: [KEYS.gha.jwk] },
      '/d1-jwks': { keys: [KEYS.d1.jwk] },
    },
    count(path) {
      return this.hits[path] ?? 0;
    },
  };
  const hanging = new Set();
  server.http = http.createServer((req, res) => {
    const path = req.url;
    server.hits[path] = (server.hits[path] ?? 0) + 1;
    const mode = server.down ? '500' : server.mode[path] ?? 'ok';
    if (mode === 'hang') {
      hanging.add(res);
      return;
    }
    if (mode === '500') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      return res.end('down');
    }
    const cache = { 'cache-control': `max-age=${KEY_MAX_AGE}` };
    if (path === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json', ...cache });
      return res.end(JSON.stringify({
        issuer: server.base,
        jwks_uri: `${server.base}/gha-keys`,
        subject_types_supported: ['public', 'pairwise'],
        response_types_supported: ['id_token'],
        claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'sha', 'repository', 'repository_owner', 'run_id', 'environment', 'job_workflow_ref'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid'],
      }));
    }
    const set = server.sets[path];
    if (!set) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('no');
    }
    res.writeHead(200, { 'content-type': 'application/json', ...cache });
    res.end(JSON.stringify(set));
  });
  server.close = () => {
    for (const res of hanging) res.destroy();
    server.http.closeAllConnections();
    server.http.close();
  };
  return server;
}

/** The registry: this server, four clients by jwks_uri and one with inline keys, two issuers by
 *  discovery (GitHub-shaped; the second's discovery document always fails). */
function remoteRegistry(base) {
  const client = (client_id, path) => ({ client_id, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${base}${path}`, max_lifetime: 300 });
  return {
    issuer: AS,
    token_endpoint: `${AS}/token`,
    clients: [
      client('remote-client', '/client-jwks'),
      client('outage-client', '/outage-jwks'),
      client('hang-client', '/hang-jwks'),
      client('rotating-client', '/rotating-jwks'),
      // A client with inline keys beside them (wrangler.toml's, the demo page's example key).
      { client_id: CLIENT, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [PARTIES.client.key.jwk] }, max_lifetime: 300 },
    ],
    issuers: [
      // Workload identity: the subject and claim conditions (README, Workload identity).
      { issuer: base, discovery: 'openid-configuration', subjects: [MAIN], claims: { repository: 'octo-org/octo-repo', environment: 'production' }, max_lifetime: 900 },
      // An issuer whose discovery document the key server refuses (500): its grants get 503.
      { issuer: `${base}/down-idp`, discovery: 'openid-configuration', subjects: [MAIN], max_lifetime: 900 },
    ],
  };
}

/** The client row of the D1 Worker: a client by jwks_uri. */
const D1_ROW = (base) => ({
  client_id: 'd1-client',
  entry: JSON.stringify({ client_id: 'd1-client', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${base}/d1-jwks`, max_lifetime: 300 }),
  updated_at: 0,
});

/** The Worker's Cache API key of `uri`'s record (www/worker/src/index.js, `jwksCacheKey`). */
const cacheKey = (uri) => `https://jwks-cache.rfc7523.invalid/v1/${createHash('sha256').update(uri).digest('hex')}`;

/** A record in the core's format (crates/rfc7523/src/remote_keys/record.rs). */
function record(uri, fetchedAt, maxAge, document) {
  const rest = `uri ${uri}\nfetched-at ${fetchedAt}\nmax-age ${maxAge}\nlength ${Buffer.byteLength(document)}\n\n${document}`;
  return `rfc7523-key-cache 1\nsha-256 ${createHash('sha256').update(rest).digest('hex')}\n${rest}`;
}

/** Milliseconds taken by `work`, and its result. */
async function timed(work) {
  const started = performance.now();
  const result = await work();
  return [performance.now() - started, result];
}

/** The 503 of an outage: RFC 6749-shaped JSON, Retry-After in whole seconds, never a token. */
function assertKeysUnavailable(reply) {
  assertError(reply, 503, 'temporarily_unavailable');
  assert.equal(typeof reply.body.error_description, 'string');
  const retryAfter = reply.headers.get('retry-after');
  assert.match(retryAfter ?? '', /^[1-9][0-9]*$/, `Retry-After: ${retryAfter}`);
  assert.ok(Number(retryAfter) <= REFETCH_COOLDOWN, `Retry-After ${retryAfter} within the cooldown`);
  assert.equal(reply.body.access_token, undefined);
  return Number(retryAfter);
}

describe('Worker example with remote key sets (jwks_uri, discovery; workerd through Miniflare)', () => {
  const keys = keyServer();
  let mf;
  let bundle;
  /** POST /token to isolate a, and to isolate b (another Worker of the same bundle: the same
   *  Durable Object namespace and Cache API). */
  let postA;
  let postB;
  /** POST /token to a Worker without a working Cache API (Miniflare's `cache: false`). */
  let postNoCache;
  /** POST /token to a Worker of [env.d1] whose client row has a jwks_uri. */
  let postD1;

  before(async () => {
    await new Promise((resolve) => keys.http.listen(0, '127.0.0.1', resolve));
    keys.base = `http://127.0.0.1:${keys.http.address().port}`;
    bundle = bundleWorker();
    const bindings = { REGISTRY: remoteRegistry(keys.base) };
    mf = await startMiniflare([
      bundledWorker(bundle, 'a', { bindings }),
      // Another isolate of the same Worker: the same Durable Object namespace (a's JtiStore).
      bundledWorker(bundle, 'b', { bindings, store: { scriptName: 'a' } }),
      // The control: a Worker whose Cache API stores nothing, as on a workers.dev route.
      { ...bundledWorker(bundle, 'no-cache', { bindings }), cache: false },
      // [env.d1] with one client row by jwks_uri, read again every second.
      { name: 'fake-d1', modules: true, script: FAKE_D1_SCRIPT },
      bundledWorker({ config: workerConfig('d1'), dir: bundle.dir }, 'd1', {
        bindings: { REGISTRY_TTL_SECONDS: 1 },
        registryDb: { scriptName: 'fake-d1', bindings: { ROWS: [D1_ROW(keys.base)] } },
      }),
    ], { storeInRam: true });
    postA = await poster(mf, 'a');
    postB = await poster(mf, 'b');
    postNoCache = await poster(mf, 'no-cache');
    postD1 = await poster(mf, 'd1');
  });

  after(async () => {
    await mf?.dispose();
    bundle?.remove();
    keys.close();
  });

  test('a jwks_uri client gets a token: one fetch, then warm; a cold isolate reuses the shared cache', async (t) => {
    const [cold, first] = await timed(async () => answer(await postA(clientCredentials(clientAssertion('remote-client', KEYS.client)))));
    assertToken(first);
    assert.equal(keys.count('/client-jwks'), 1);
    const [warm, second] = await timed(async () => answer(await postA(clientCredentials(clientAssertion('remote-client', KEYS.client)))));
    assertToken(second);
    assert.equal(keys.count('/client-jwks'), 1, 'a warm isolate does not fetch');
    // Isolate b has never seen the client: it adopts the record a stored in the Cache API.
    const [shared, third] = await timed(async () => answer(await postB(clientCredentials(clientAssertion('remote-client', KEYS.client)))));
    assertToken(third);
    assert.equal(keys.count('/client-jwks'), 1, 'a cold isolate reads the shared cache, not the key server');
    t.diagnostic(`jwks_uri client: cold cache (1 fetch) ${cold.toFixed(1)} ms, warm ${warm.toFixed(1)} ms, cold isolate + shared cache ${shared.toFixed(1)} ms; key server fetches: ${keys.count('/client-jwks')}`);
    // The control: without the Cache API the cold isolate fetches for itself, and still works.
    const [alone, fourth] = await timed(async () => answer(await postNoCache(clientCredentials(clientAssertion('remote-client', KEYS.client)))));
    assertToken(fourth);
    assert.equal(keys.count('/client-jwks'), 2, 'without the Cache API a cold isolate fetches');
    t.diagnostic(`cold isolate without the Cache API: its own fetch, ${alone.toFixed(1)} ms; key server fetches: ${keys.count('/client-jwks')}`);

    // The record as stored: the package's format, kept until its stale limit (max-age + grace).
    const stored = await (await mf.getCaches()).default.match(cacheKey(`${keys.base}/client-jwks`));
    assert.ok(stored, 'the record is in the Cache API');
    const text = await stored.text();
    assert.ok(text.startsWith('rfc7523-key-cache 1\nsha-256 '), text.slice(0, 40));
    const maxAge = Number(/max-age=(\d+)/.exec(stored.headers.get('cache-control'))?.[1]);
    assert.ok(maxAge > KEY_MAX_AGE + STALE_GRACE - 60 && maxAge <= KEY_MAX_AGE + STALE_GRACE, `Cache-Control: ${stored.headers.get('cache-control')}`);
  });

  test('a GitHub-Actions-shaped issuer by discovery: a grant for its subject gets a token, another subject and a replay are refused', async (t) => {
    const token = githubToken(keys.base);
    const [cold, first] = await timed(async () => answer(await postA(grant(token))));
    assertToken(first);
    assert.equal(keys.count('/.well-known/openid-configuration'), 1);
    assert.equal(keys.count('/gha-keys'), 1);
    const [warm, next] = await timed(async () => answer(await postA(grant(githubToken(keys.base)))));
    assertToken(next);
    t.diagnostic(`discovery issuer: cold cache (discovery + key set) ${cold.toFixed(1)} ms, warm ${warm.toFixed(1)} ms`);

    const feature = await answer(await postA(grant(githubToken(keys.base, { sub: 'repo:octo-org/octo-repo:ref:refs/heads/feature' }))));
    assertError(feature, 400, 'invalid_grant', 'grant assertion: the sub claim is not the expected subject');
    const otherRepo = await answer(await postA(grant(githubToken(keys.base, { sub: 'repo:evil-org/octo-repo:ref:refs/heads/main' }))));
    assertError(otherRepo, 400, 'invalid_grant', 'grant assertion: the sub claim is not the expected subject');
    // The subject allowed, a claim condition not met (a job of another environment).
    const staging = await answer(await postA(grant(githubToken(keys.base, { environment: 'staging' }))));
    assertError(staging, 400, 'invalid_grant', 'grant assertion: the environment claim is not the required value');
    // The Durable Object finds the replay; the asynchronous replay judge words it.
    const replay = await answer(await postA(grant(token)));
    assertError(replay, 400, 'invalid_grant', 'grant assertion: the assertion was already used (jti replay)');
    // A token of the issuer signed by another key (a client's) under the issuer's kid: refused.
    const forged = await answer(await postA(grant(githubToken(keys.base, { key: { ...KEYS.client, jwk: KEYS.gha.jwk } }))));
    assertError(forged, 400, 'invalid_grant', 'grant assertion: invalid signature');
    assert.equal(keys.count('/.well-known/openid-configuration'), 1);
    assert.equal(keys.count('/gha-keys'), 1);
  });

  test('the key server down after a warm fetch: still tokens within max-age, also from a cold isolate', async () => {
    const before = { ...keys.hits };
    keys.down = true;
    try {
      // A party with inline keys never needs the key server.
      assertToken(await answer(await postB(clientCredentials(assertion({ client: true })))));
      assertToken(await answer(await postA(clientCredentials(clientAssertion('remote-client', KEYS.client)))));
      assertToken(await answer(await postA(grant(githubToken(keys.base)))));
      // Isolate b has not used the issuer: discovery document and key set from the Cache API.
      assertToken(await answer(await postB(grant(githubToken(keys.base)))));
    } finally {
      keys.down = false;
    }
    assert.deepEqual(keys.hits, before, 'no request reached the key server');
  });

  test('eight copies of one GitHub-shaped grant at once over both isolates (sharing the Durable Object): exactly one token', async () => {
    const body = grant(githubToken(keys.base));
    const replies = await Promise.all(Array.from({ length: 8 }, async (_, i) => answer(await (i % 2 ? postB : postA)(body))));
    assert.equal(replies.filter((reply) => reply.status === 200).length, 1, JSON.stringify(replies.map((reply) => reply.status)));
    for (const reply of replies.filter((reply) => reply.status !== 200)) {
      assertError(reply, 400, 'invalid_grant', 'grant assertion: the assertion was already used (jti replay)');
    }
  });

  test('an outage on a cold cache (500 for a client and for an issuer, then a hang): 503 temporarily_unavailable with Retry-After, never a token', async (t) => {
    keys.mode['/outage-jwks'] = '500';
    const reply = await answer(await postA(clientCredentials(clientAssertion('outage-client', KEYS.outage))));
    const retryAfter = assertKeysUnavailable(reply);
    assert.equal(keys.count('/outage-jwks'), 1);
    // Within the cooldown: the same answer without another fetch.
    assertKeysUnavailable(await answer(await postA(clientCredentials(clientAssertion('outage-client', KEYS.outage)))));
    assert.equal(keys.count('/outage-jwks'), 1, 'no refetch within the cooldown');
    t.diagnostic(`500 from the key server: 503, Retry-After ${retryAfter} s, body ${JSON.stringify(reply.body)}`);

    // The same for a grant whose issuer's discovery document fails.
    keys.mode['/down-idp/.well-known/openid-configuration'] = '500';
    const grantReply = await answer(await postA(grant(githubToken(`${keys.base}/down-idp`))));
    assertKeysUnavailable(grantReply);
    assert.match(grantReply.body.error_description, /^grant assertion: /);
    assert.equal(keys.count('/down-idp/.well-known/openid-configuration'), 1);

    keys.mode['/hang-jwks'] = 'hang';
    const [ms, hung] = await timed(async () => answer(await postB(clientCredentials(clientAssertion('hang-client', KEYS.hang)))));
    assertKeysUnavailable(hung);
    assert.equal(keys.count('/hang-jwks'), 1);
    t.diagnostic(`a hanging key server: 503 after ${ms.toFixed(0)} ms (the package's fetch timeout), Retry-After ${hung.headers.get('retry-after')} s`);
  });

  test('rotation: a new kid is accepted after one refetch; unknown kids refetch at most once per cooldown', async (t) => {
    // The cooldown (30 s) runs on the Worker's clock, which a test cannot move: the first
    // fetch of the set is instead a record another isolate stored 40 s ago (the old set only),
    // as the Worker stores it. Isolate a adopts it (no fetch), then a kid it does not hold is
    // the cue for one refetch, due since the record's fetch time is past the cooldown.
    const uri = `${keys.base}/rotating-jwks`;
    const fetchedAt = now() - (REFETCH_COOLDOWN + 10);
    const caches = await mf.getCaches();
    const { Response } = requireTool('miniflare');
    await caches.default.put(cacheKey(uri), new Response(record(uri, fetchedAt, KEY_MAX_AGE, JSON.stringify({ keys: [KEYS.rotating1.jwk] })), {
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': `max-age=${KEY_MAX_AGE + STALE_GRACE}` },
    }));
    assertToken(await answer(await postA(clientCredentials(clientAssertion('rotating-client', KEYS.rotating1)))));
    assert.equal(keys.count('/rotating-jwks'), 0, 'the stored record served');
    const [ms, rotated] = await timed(async () => answer(await postA(clientCredentials(clientAssertion('rotating-client', KEYS.rotating2)))));
    assertToken(rotated);
    assert.equal(keys.count('/rotating-jwks'), 1, 'one refetch for the new kid');
    t.diagnostic(`rotation: the new kid accepted after 1 refetch, ${ms.toFixed(1)} ms`);
    // Right after that refetch: a flood of unknown kids costs no fetch (cooldown), each refused.
    for (let i = 0; i < 10; i++) {
      const reply = await answer(await postA(clientCredentials(clientAssertion('rotating-client', KEYS.rotating2, `unknown-${i}`))));
      assertError(reply, 401, 'invalid_client', 'client assertion: no trusted key matches the assertion');
    }
    assertToken(await answer(await postA(clientCredentials(clientAssertion('rotating-client', KEYS.rotating2)))));
    assert.equal(keys.count('/rotating-jwks'), 1, 'unknown kids within the cooldown: no refetch');
  });

  test('clients in D1: a row with jwks_uri; the registry read again after its TTL reuses the cached keys', async () => {
    assertToken(await answer(await postD1(clientCredentials(clientAssertion('d1-client', KEYS.d1)))));
    assert.equal(keys.count('/d1-jwks'), 1);
    // REGISTRY_TTL_SECONDS is 1: the next request builds a new verifier from D1, whose key
    // cache is empty; it adopts the Cache API record instead of fetching.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assertToken(await answer(await postD1(clientCredentials(clientAssertion('d1-client', KEYS.d1)))));
    assert.equal(keys.count('/d1-jwks'), 1, 'a new verifier of the isolate reads the shared record');
  });

  test('the Worker names the stale grace it stores records for', () => {
    assert.equal(workerConstant('JWKS_STALE_GRACE_SECONDS'), STALE_GRACE);
  });
});
