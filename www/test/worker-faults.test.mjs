// Faults injected into the Worker example (www/worker/) in workerd: the replay store (the
// Durable Object) throws, answers late or not at all, fails for some records only; the client
// registry in D1 (wrangler.toml [env.d1]) throws, answers late, without rows or with rows its
// table would refuse, or fails after a first read; and a request body stalls. Each store fault
// is a Durable Object class of a second Worker ("faults", below) that a Worker running the
// unchanged bundle binds as its JTI_STORE, each D1 fault a wrapped binding ("fake-d1") that
// it binds as its REGISTRY_DB, so the code under test is exactly what wrangler deploys. The
// suite runs its tests concurrently: the timeouts overlap, about BODY_READ_TIMEOUT_MS in all.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { m, s } from '../../bindings/wasm/js/support/fixtures.mjs';
import { EXAMPLE_KEYS } from '../demo-key.js';
import {
  answer,
  assertError,
  assertToken,
  assertion,
  bundleWorker,
  bundledWorker,
  clientCredentials,
  grant,
  grantWithClient,
  PARTIES,
  poster,
  rawRequest,
  resign,
  startMiniflare,
  workerConfig,
  workerConstant,
} from './worker-harness.mjs';

const STORE_TIMEOUT_MS = workerConstant('REPLAY_STORE_TIMEOUT_MS');
const BODY_TIMEOUT_MS = workerConstant('BODY_READ_TIMEOUT_MS');
const RETRY_AFTER = workerConstant('RETRY_AFTER_SECONDS');
const REGISTRY_TIMEOUT_MS = workerConstant('REGISTRY_READ_TIMEOUT_MS');
const MAX_CLIENT_ROWS = workerConstant('MAX_CLIENT_ROWS');
const MAX_ENTRY_LEN = workerConstant('MAX_ENTRY_LEN');
/** REGISTRY_TTL_SECONDS of the Worker whose D1 fails after its first read, and how long that
 *  read takes. */
const TTL = 5;
const ONCE_READ_MS = 1500;
/** How far from a timeout the "just in time" and "too late" cases are (timers on a loaded
 *  2-core machine fire late by tens of ms; this leaves seconds). */
const MARGIN_MS = 2000;
/** The first character of the record keys FlakyStore fails to claim / to release. */
const FAILS_CLAIM = '_';
const FAILS_RELEASE = '-';

/** The fault-injecting replay stores: Durable Object classes with the JtiStore interface. */
const FAULTS_SCRIPT = `
import { DurableObject } from 'cloudflare:workers';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class ThrowingStore extends DurableObject {
  claim() { throw new Error('injected: the replay store is down'); }
  release() { throw new Error('injected: the replay store is down'); }
}

/** Answers (yes) just before the Worker's timeout. */
export class JustInTimeStore extends DurableObject {
  async claim() { await sleep(${STORE_TIMEOUT_MS - MARGIN_MS}); return true; }
  release() {}
}

/** Answers (yes) long after the Worker's timeout. */
export class TooLateStore extends DurableObject {
  async claim() { await sleep(${2 * STORE_TIMEOUT_MS}); return true; }
  release() {}
}

/** Answers neither true nor false. */
export class ConfusedStore extends DurableObject {
  claim() { return 'yes'; }
  release() {}
}

/** JtiStore's claim and release, except that it throws for keys starting with
 *  ${JSON.stringify(FAILS_CLAIM)} (claim) or ${JSON.stringify(FAILS_RELEASE)} (release). */
export class FlakyStore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS jti (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)');
  }
  claim(key, expiresAt) {
    if (key.startsWith(${JSON.stringify(FAILS_CLAIM)})) throw new Error('injected: claim failed');
    if (this.sql.exec('SELECT 1 FROM jti WHERE key = ?', key).toArray().length > 0) return false;
    this.sql.exec('INSERT INTO jti (key, expires_at) VALUES (?, ?)', key, expiresAt);
    return true;
  }
  release(key, expiresAt) {
    if (key.startsWith(${JSON.stringify(FAILS_RELEASE)})) throw new Error('injected: release failed');
    this.sql.exec('DELETE FROM jti WHERE key = ? AND expires_at = ?', key, expiresAt);
  }
}

export default { fetch: () => new Response('faults', { status: 404 }) };
`;

/**
 * A stand-in for the D1 database of the clients (REGISTRY_DB), as a wrapped binding: the
 * Worker's `prepare(sql).bind(…).all()` answers as MODE says, with ROWS as the table's rows.
 * One instance per isolate, so `reads` counts the Worker's reads.
 */
const FAKE_D1_SCRIPT = `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let reads = 0;
export default function (env) {
  const all = async () => {
    reads += 1;
    switch (env.MODE) {
      case 'throws': throw new Error('injected: D1 is down');
      case 'in-time': await sleep(${REGISTRY_TIMEOUT_MS - MARGIN_MS}); return { results: env.ROWS };
      case 'late': await sleep(${2 * REGISTRY_TIMEOUT_MS}); return { results: env.ROWS };
      case 'no-rows': return { success: true, meta: {} };
      case 'too-many': return { results: Array.from({ length: ${MAX_CLIENT_ROWS + 1} }, (_, i) => ({ client_id: 'c' + i, entry: '{}' })) };
      // Slow enough that requests arriving meanwhile would start reads of their own.
      case 'once': if (reads > 1) throw new Error('injected: D1 is down after its first read'); await sleep(${ONCE_READ_MS}); return { results: env.ROWS };
      default: return { results: env.ROWS };
    }
  };
  return { prepare: () => ({ bind: () => ({ all }) }) };
}
`;

/** Rows that the migration's table would refuse (its CHECK) but a database without it, or a
 *  binding that answers oddly, could hand over: each left out, logged by its client_id. With
 *  them, in `before`: wrangler.toml's ed25519-client under another row id (ed25519-alias), so
 *  that client stays unknown. */
const ODD_ROWS = [
  { client_id: 'not-json', entry: '{"client_id": "not-json",' },
  { client_id: 'array', entry: '[{"client_id": "array"}]' },
  { client_id: 'two-values', entry: '{"client_id": "two-values"} {}' },
  { client_id: 'breaks-out', entry: '{"client_id": "breaks-out"}], "issuers": [{"issuer": "https://evil.example"' },
  { client_id: 'not-text', entry: { client_id: 'not-text' } },
  { client_id: 'too-long', entry: `{"client_id": "too-long", "x": "${'x'.repeat(MAX_ENTRY_LEN)}"}` },
  { client_id: 42, entry: '{"client_id": 42}' },
];

/** 503 temporarily_unavailable, RFC 6749-shaped, with Retry-After: never a token. `what`: the
 *  replay store or the client registry. */
function assertUnavailable(response, what = 'the replay store') {
  assertError(response, 503, 'temporarily_unavailable', `${what} is unavailable; retry later`);
  assert.deepEqual(Object.keys(response.body).sort(), ['error', 'error_description']);
  assert.equal(response.headers.get('retry-after'), String(RETRY_AFTER));
}

describe('Worker example under faults (workerd through Miniflare)', { concurrency: true }, () => {
  let mf;
  let bundle;
  let post;
  let port;
  /** The core's records for a request under wrangler.toml's registry. */
  let records;
  /** What the Workers logged (workerd's structured logs). */
  const logs = [];

  before(async () => {
    bundle = bundleWorker();
    const reference = new m.AssertionVerifier({ registry: bundle.config.vars.REGISTRY, replay: 'external' });
    records = (body) => reference.verifyTokenRequest(body).replay;
    const faulty = (name, className, useSQLite = false) =>
      bundledWorker(bundle, name, { store: { scriptName: 'faults', className, useSQLite } });
    // [env.d1] with its REGISTRY_DB standing in: the rows are wrangler.toml's clients.
    const d1 = { config: workerConfig('d1'), dir: bundle.dir };
    const rows = bundle.config.vars.REGISTRY.clients.map((client) => ({ client_id: client.client_id, entry: JSON.stringify(client), updated_at: 0 }));
    const fakeD1 = (name, MODE, { ROWS = rows, bindings = {} } = {}) =>
      bundledWorker(d1, name, { bindings, registryDb: { scriptName: 'fake-d1', bindings: { MODE, ROWS } } });
    mf = await startMiniflare([
      bundledWorker(bundle, 'token', { directSocket: true }),
      { name: 'faults', modules: true, script: FAULTS_SCRIPT, compatibilityDate: bundle.config.compatibility_date },
      faulty('token-throws', 'ThrowingStore'),
      faulty('token-in-time', 'JustInTimeStore'),
      faulty('token-late', 'TooLateStore'),
      faulty('token-confused', 'ConfusedStore'),
      faulty('token-flaky', 'FlakyStore', true),
      // Wrapped bindings take the compatibility date of the Worker that binds them.
      { name: 'fake-d1', modules: true, script: FAKE_D1_SCRIPT },
      ...['throws', 'in-time', 'late', 'no-rows', 'too-many'].map((mode) => fakeD1(`d1-${mode}`, mode)),
      fakeD1('d1-once', 'once', { bindings: { REGISTRY_TTL_SECONDS: TTL } }),
      fakeD1('d1-odd-rows', 'rows', {
        ROWS: rows
          .filter((row) => row.client_id !== 'ed25519-client')
          .concat(ODD_ROWS, { client_id: 'ed25519-alias', entry: rows.find((row) => row.client_id === 'ed25519-client').entry }),
      }),
    ], {
      structuredWorkerdLogs: true,
      handleStructuredLogs: ({ message }) => {
        logs.push(message);
      },
    });
    post = {};
    const d1Workers = ['throws', 'in-time', 'late', 'no-rows', 'too-many', 'once', 'odd-rows'].map((mode) => `d1-${mode}`);
    for (const name of ['token', 'token-throws', 'token-in-time', 'token-late', 'token-confused', 'token-flaky', ...d1Workers]) {
      post[name] = await poster(mf, name);
    }
    port = Number((await mf.unsafeGetDirectURL('token')).port);
  });

  after(async () => {
    await mf?.dispose();
    bundle?.remove();
  });

  /** An assertion (a grant, or the client's) whose replay record key starts with `prefix`, or,
   *  when `not` is set, with none of `prefix`'s characters. */
  async function withKeyPrefix({ client = false, prefix, not = false }) {
    const template = assertion({ client });
    const privatePem = PARTIES[client ? 'client' : 'issuer'].key.privatePem;
    for (let i = 0; i < 2000; i++) {
      const token = await resign(template, privatePem, { jti: `k-${i}-${Math.random()}` });
      const [record] = records(client ? clientCredentials(token) : grant(token));
      // `not`: a key that starts with none of `prefix`'s characters (each one a fault the store
      // injects); otherwise a key that starts with `prefix`.
      const starts = not ? [...prefix].some((c) => record.key.startsWith(c)) : record.key.startsWith(prefix);
      if (starts !== not) return token;
    }
    throw new Error(`no key starting with ${prefix} in 2000 tries`);
  }

  test('the store throws: 503 temporarily_unavailable with Retry-After, for both uses', async () => {
    assertUnavailable(await answer(await post['token-throws'](grant())));
    assertUnavailable(await answer(await post['token-throws'](clientCredentials())));
    assertUnavailable(await answer(await post['token-throws'](grantWithClient(assertion({ client: true }), assertion()))));
  });

  test('the store answers neither yes nor no: 503', async () => {
    assertUnavailable(await answer(await post['token-confused'](grant())));
  });

  test(`the store answers just within REPLAY_STORE_TIMEOUT_MS (${STORE_TIMEOUT_MS} ms): 200`, async () => {
    const started = performance.now();
    assertToken(await answer(await post['token-in-time'](grant())));
    assert.ok(performance.now() - started >= STORE_TIMEOUT_MS - MARGIN_MS - 50);
  });

  test('the store answers after REPLAY_STORE_TIMEOUT_MS: 503 once the timeout passes, not when the store answers', async () => {
    const started = performance.now();
    assertUnavailable(await answer(await post['token-late'](grant())));
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= STORE_TIMEOUT_MS - 50, `${elapsed} ms`);
    assert.ok(elapsed < 2 * STORE_TIMEOUT_MS - 500, `${elapsed} ms: waited for the store`);
  });

  test('the grant\'s claim fails after the client\'s succeeded: 503, and the client\'s record is released', async () => {
    const clientToken = await withKeyPrefix({ client: true, prefix: FAILS_CLAIM + FAILS_RELEASE, not: true });
    const failingGrant = await withKeyPrefix({ prefix: FAILS_CLAIM });
    const flaky = post['token-flaky'];
    assertUnavailable(await answer(await flaky(grantWithClient(clientToken, failingGrant))));
    // Retried with a grant the store can take: the client assertion was not spent.
    const goodGrant = await withKeyPrefix({ prefix: FAILS_CLAIM, not: true });
    assertToken(await answer(await flaky(grantWithClient(clientToken, goodGrant))));
    assertError(await answer(await flaky(clientCredentials(clientToken))), 401, 'invalid_client', /already used/);
  });

  test('a release that fails leaves the record claimed (fail closed: the assertion is spent)', async () => {
    const clientToken = await withKeyPrefix({ client: true, prefix: FAILS_RELEASE });
    const usedGrant = await withKeyPrefix({ prefix: FAILS_CLAIM, not: true });
    const flaky = post['token-flaky'];
    assertToken(await answer(await flaky(grant(usedGrant))));
    assertError(await answer(await flaky(grantWithClient(clientToken, usedGrant))), 400, 'invalid_grant', /already used/);
    assertError(await answer(await flaky(clientCredentials(clientToken))), 401, 'invalid_client', /already used/);
  });

  test('D1 throws, answers without rows or with more than MAX_CLIENT_ROWS: 503 temporarily_unavailable with Retry-After, for both uses', async () => {
    for (const name of ['d1-throws', 'd1-no-rows', 'd1-too-many']) {
      assertUnavailable(await answer(await post[name](grant())), 'the client registry');
      assertUnavailable(await answer(await post[name](clientCredentials())), 'the client registry');
    }
    assert.ok(logs.some((line) => line.includes('registry: the clients could not be read from D1: injected: D1 is down')), logs.join('\n'));
  });

  test(`D1 answers just within REGISTRY_READ_TIMEOUT_MS (${REGISTRY_TIMEOUT_MS} ms): 200`, async () => {
    const started = performance.now();
    assertToken(await answer(await post['d1-in-time'](clientCredentials())));
    assert.ok(performance.now() - started >= REGISTRY_TIMEOUT_MS - MARGIN_MS - 50);
  });

  test('D1 answers after REGISTRY_READ_TIMEOUT_MS: 503 once the timeout passes, not when D1 answers', async () => {
    const started = performance.now();
    assertUnavailable(await answer(await post['d1-late'](grant())), 'the client registry');
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= REGISTRY_TIMEOUT_MS - 50, `${elapsed} ms`);
    assert.ok(elapsed < 2 * REGISTRY_TIMEOUT_MS - 500, `${elapsed} ms: waited for D1`);
  });

  test(`D1 fails after one read: concurrent requests share that read, a fresh copy is served, none older than REGISTRY_TTL_SECONDS (${TTL} s here)`, async () => {
    const once = post['d1-once'];
    // Eight at once on a cold isolate, while its read takes ONCE_READ_MS: one read (a second
    // one would throw).
    const first = await Promise.all(Array.from({ length: 8 }, () => once(clientCredentials())));
    // The copy's age counts from its read, which began before `read`.
    const read = performance.now();
    for (const response of first) assertToken(await answer(response));
    // D1 is down now (any read throws); the copy is younger than the TTL: served without it.
    assertToken(await answer(await once(grant())));
    // Older than the TTL: read again, which fails: 503, never the older copy; and again.
    await sleep(TTL * 1000 + 400 - (performance.now() - read));
    assertUnavailable(await answer(await once(clientCredentials())), 'the client registry');
    assertUnavailable(await answer(await once(grant())), 'the client registry');
  });

  test('client rows the table would refuse (not one JSON object, another client_id, not text, too long): each left out and logged, the others served', async () => {
    const odd = post['d1-odd-rows'];
    assertToken(await answer(await odd(clientCredentials())));
    assertToken(await answer(await odd(grant())));
    // Its entry is in the table under another row id: refused as an unknown client.
    const key = EXAMPLE_KEYS.EdDSA;
    const ed25519 = s.signAssertion({ privateKey: key.privatePem, alg: 'EdDSA', kid: key.jwk.kid, issuer: 'ed25519-client', subject: 'ed25519-client', audience: 'https://as.example', lifetime: 120, clientAuth: true });
    assertError(await answer(await odd(clientCredentials(ed25519))), 401, 'invalid_client', 'client assertion: the iss claim is not a trusted issuer or the client id');
    for (const id of [...ODD_ROWS.map((row) => row.client_id), 'ed25519-alias']) {
      const named = typeof id === 'string' ? `client row ${JSON.stringify(id)} ` : 'client row (not text) ';
      assert.ok(logs.some((line) => line.includes(named) && line.includes('left out')), `a log line for ${id}:\n${logs.join('\n')}`);
    }
  });

  /** A request whose body arrives in two halves, `pause` ms apart (Infinity: never). */
  function stalled(body, pause, { chunked = false } = {}) {
    const head = `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n`;
    const half = Math.floor(body.length / 2);
    const parts = chunked
      ? [`${head}Transfer-Encoding: chunked\r\n\r\n${half.toString(16)}\r\n${body.slice(0, half)}\r\n`, `${(body.length - half).toString(16)}\r\n${body.slice(half)}\r\n0\r\n\r\n`]
      : [`${head}Content-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`, body.slice(half)];
    const timeoutMs = BODY_TIMEOUT_MS + 3 * MARGIN_MS;
    return Number.isFinite(pause)
      ? rawRequest(port, null, { parts, pauses: [pause], timeoutMs })
      : rawRequest(port, parts[0], { timeoutMs, untilClose: true });
  }

  const requestTimeout = (response) => {
    assert.equal(response.status, 408, response.raw);
    const body = JSON.parse(response.body);
    assert.deepEqual(body, { error: 'invalid_request', error_description: 'the request body did not arrive in time' });
    assert.ok(response.ms >= BODY_TIMEOUT_MS - 50, `${response.ms} ms`);
    assert.ok(response.ms < BODY_TIMEOUT_MS + 2 * MARGIN_MS, `${response.ms} ms`);
    // The rest of the request is never read: workerd closes the connection after the answer.
    assert.ok(response.closed, 'the connection stays open');
  };

  test(`a body that stalls: 408 after BODY_READ_TIMEOUT_MS (${BODY_TIMEOUT_MS} ms), Content-Length and chunked`, async () => {
    const [plain, chunked, nothing] = await Promise.all([
      stalled(grant(), Infinity),
      stalled(grant(), Infinity, { chunked: true }),
      // The head only: not one byte of the body.
      rawRequest(port, `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n`, {
        timeoutMs: BODY_TIMEOUT_MS + 3 * MARGIN_MS,
        untilClose: true,
      }),
    ]);
    requestTimeout(plain);
    requestTimeout(chunked);
    requestTimeout(nothing);
  });

  test('a body that completes just within BODY_READ_TIMEOUT_MS: served (200)', async () => {
    const [plain, chunked] = await Promise.all([
      stalled(grant(), BODY_TIMEOUT_MS - MARGIN_MS),
      stalled(grant(), BODY_TIMEOUT_MS - MARGIN_MS, { chunked: true }),
    ]);
    for (const response of [plain, chunked]) {
      assert.equal(response.status, 200, response.raw);
      assert.equal(JSON.parse(response.body).token_type, 'Bearer');
      assert.ok(response.ms >= BODY_TIMEOUT_MS - MARGIN_MS - 50);
    }
  });
});
