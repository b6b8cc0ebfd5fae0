// The Worker example with its clients in D1 (www/worker/, wrangler.toml [env.d1]) in workerd:
// the pinned wrangler applies the migration and adds the example client with the commands
// www/README.md shows (`--local`, into a temporary folder), then Miniflare runs wrangler's
// bundle against that very database. The client's key is rotated and the client removed with
// the SQL files the README quotes, each change served within REGISTRY_TTL_SECONDS; rows the
// loader refuses are left out, each alone (its client refused, logged by client_id), never the
// others; a database without the table gets 503; configuration mistakes refuse everything.
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { s } from '../../bindings/wasm/js/support/fixtures.mjs';
import { EXAMPLE_KEYS } from '../demo-key.js';
import { repoRoot } from './support.mjs';
import {
  AS,
  IDP_KEY,
  answer,
  assertError,
  assertToken,
  assertion,
  bundleWorker,
  bundledWorker,
  clientCredentials,
  grant,
  poster,
  runWrangler,
  startMiniflare,
  workerConfig,
  workerConstant,
} from './worker-harness.mjs';

const workerDir = join(repoRoot, 'www/worker');
const readme = readFileSync(join(repoRoot, 'www/README.md'), 'utf8');
/** The SQL files the README quotes, run here as they are. */
const sql = (name) => readFileSync(join(workerDir, 'clients', name), 'utf8');

/** The README's local set-up, run from www/worker (into a temporary folder: `--persist-to`). */
const SETUP = [
  'wrangler d1 migrations apply rfc7523-clients --env d1 --local',
  'wrangler d1 execute rfc7523-clients --env d1 --local --file clients/add.sql',
];

/** The default REGISTRY_TTL_SECONDS, and the one of the Worker whose clients change here. */
const DEFAULT_TTL = workerConstant('REGISTRY_TTL_SECONDS');
const TTL = 1;
/** Timers of a loaded 2-core machine fire late by tens of ms. */
const SLACK_MS = 400;

/** The client of clients/*.sql: its key before (RFC 8037 A.1) and after the rotation (RFC 8032
 *  section 7.1 TEST 2), both public examples whose private halves are published. */
const EXAMPLE = 'example-client';
const OLD_KEY = { privatePem: EXAMPLE_KEYS.EdDSA.privatePem, kid: 'example-1' };
const NEW_KEY = {
  privatePem: createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      d: Buffer.from('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', 'hex').toString('base64url'),
      x: 'PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw',
    },
    format: 'jwk',
  }).export({ type: 'pkcs8', format: 'pem' }),
  kid: 'example-2',
};

/** A client assertion of `clientId`, signed with `key` ({ privatePem, kid }) by the package's
 *  signAssertion, or by node:crypto where the package refuses the key (`raw`: RS256 with a key
 *  under 2048 bits, which the registry must refuse too). */
function clientAssertion(clientId, key, alg = 'EdDSA', { raw = false } = {}) {
  if (!raw) {
    return s.signAssertion({ privateKey: key.privatePem, alg, kid: key.kid, issuer: clientId, subject: clientId, audience: AS, lifetime: 120, clientAuth: true });
  }
  const now = Math.floor(Date.now() / 1000);
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'RS256', kid: key.kid })}.${part({ iss: clientId, sub: clientId, aud: AS, iat: now, exp: now + 120, jti: randomUUID() })}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privatePem).toString('base64url')}`;
}

const UNKNOWN_CLIENT = 'client assertion: the iss claim is not a trusted issuer or the client id';
const UNKNOWN_KEY = 'client assertion: no trusted key matches the assertion';

/** A party's key pair: the private PEM and its public JWK (or, `withPrivate`, all of it). */
function keyPair(kid, type = 'ed25519', options = {}, { withPrivate = false } = {}) {
  const { privateKey, publicKey } = generateKeyPairSync(type, options);
  const jwk = withPrivate ? privateKey.export({ format: 'jwk' }) : publicKey.export({ format: 'jwk' });
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }), kid, jwk: { ...jwk, kid } };
}

const entry = (clientId, keys, extra = {}) => ({ client_id: clientId, token_endpoint_auth_method: 'private_key_jwt', ...extra, jwks: { keys } });
const SHARED = keyPair('shared');
/** The key of the client that the default-TTL test removes. */
const CACHED = keyPair('cached-1');

/**
 * Client rows as an operator could write them, and what becomes of each: `stored` — whether the
 * table takes it (its CHECK: one JSON value whose client_id is the row's); `served` — whether
 * the client's assertion then gets a token (else 401 invalid_client, as an unknown client's).
 * `key`: what its assertions are signed with.
 */
const ROWS = (() => {
  const good = keyPair('good-1');
  const typo = keyPair('typo-1');
  const short = keyPair('short-1', 'rsa', { modulusLength: 1024 });
  const secret = keyPair('secret-1', 'ed25519', {}, { withPrivate: true });
  const dup = keyPair('dup-1');
  const issuerKey = { privatePem: IDP_KEY.privatePem, kid: IDP_KEY.jwk.kid };
  const dupText = JSON.stringify(entry('dup-member', [dup.jwk])).replace('{', '{"max_lifetime":300,"max_lifetime":60,');
  return [
    { name: 'a well-formed client', id: 'good', text: JSON.stringify(entry('good', [good.jwk])), key: good, stored: true, served: true },
    { name: 'an unknown field (a typo)', id: 'typo', text: JSON.stringify(entry('typo', [typo.jwk], { max_lifetme: 300 })), key: typo, stored: true, served: false },
    { name: 'an RSA key under 2048 bits', id: 'short-rsa', text: JSON.stringify(entry('short-rsa', [short.jwk])), key: short, alg: 'RS256', raw: true, stored: true, served: false },
    { name: 'a private key (d)', id: 'private', text: JSON.stringify(entry('private', [secret.jwk])), key: secret, stored: true, served: false },
    { name: 'a duplicate member name', id: 'dup-member', text: dupText, key: dup, stored: true, served: false },
    { name: "the [vars] issuer's key", id: 'issuer-key', text: JSON.stringify(entry('issuer-key', [IDP_KEY.jwk])), key: issuerKey, alg: 'RS256', stored: true, served: false },
    ...[1, 2, 3].map((n) => ({ name: `one key in three rows (row ${n})`, id: `shared-${n}`, text: JSON.stringify(entry(`shared-${n}`, [SHARED.jwk])), key: SHARED, stored: true, served: false })),
    { name: "a client_id that is not the row's", id: 'mismatch', text: JSON.stringify(entry('someone-else', [keyPair('m').jwk])), stored: false },
    { name: 'not JSON', id: 'broken', text: '{"client_id": "broken",', stored: false },
    { name: 'a JSON array', id: 'array', text: '[{"client_id": "array"}]', stored: false },
  ];
})();

/** 503 temporarily_unavailable for the registry, RFC 6749-shaped, with Retry-After. */
function assertRegistryUnavailable(response) {
  assertError(response, 503, 'temporarily_unavailable', 'the client registry is unavailable; retry later');
  assert.equal(response.headers.get('retry-after'), String(workerConstant('RETRY_AFTER_SECONDS')));
}

describe('Worker example with its clients in D1 (wrangler d1 --local, workerd through Miniflare)', { concurrency: true }, () => {
  let mf;
  let bundle;
  let persist;
  let db;
  const post = {};
  /** What the Workers logged (workerd's structured logs). */
  const logs = [];

  before(async () => {
    persist = mkdtempSync(join(tmpdir(), 'rfc7523-d1-'));
    // The documented commands, while wrangler bundles the Worker.
    const setUp = (async () => {
      for (const command of SETUP) {
        await runWrangler([...command.split(' ').slice(1), '--persist-to', persist], { cwd: workerDir });
      }
    })();
    bundle = bundleWorker();
    await setUp;
    const d1 = { config: workerConfig('d1'), dir: bundle.dir };
    const worker = (name, bindings = {}, registryDb = 'd1') => bundledWorker(d1, name, { bindings, registryDb });
    mf = await startMiniflare(
      [
        worker('d1', { REGISTRY_TTL_SECONDS: TTL }),
        worker('d1-default-ttl'),
        worker('d1-no-table', {}, { id: 'a-database-without-the-migration' }),
        worker('d1-with-clients-in-vars', { REGISTRY: bundle.config.vars.REGISTRY }),
        ...['-1', '301', '1.5', 'soon', '', true].map((ttl, i) => worker(`d1-ttl-${i}`, { REGISTRY_TTL_SECONDS: ttl })),
      ],
      {
        d1Persist: join(persist, 'v3', 'd1'),
        structuredWorkerdLogs: true,
        handleStructuredLogs: ({ message }) => {
          logs.push(message);
        },
      },
    );
    db = await mf.getD1Database('REGISTRY_DB', 'd1');
    for (const row of ROWS.concat({ id: 'cached', text: JSON.stringify(entry('cached', [CACHED.jwk])), stored: true })) {
      const insert = db.prepare('INSERT INTO clients (client_id, entry) VALUES (?, ?)').bind(row.id, row.text).run();
      if (row.stored) await insert;
      else await assert.rejects(insert, /CHECK constraint failed/, row.name);
    }
    for (const name of ['d1', 'd1-default-ttl', 'd1-no-table', 'd1-with-clients-in-vars', ...[0, 1, 2, 3, 4, 5].map((i) => `d1-ttl-${i}`)]) {
      post[name] = await poster(mf, name);
    }
  });

  after(async () => {
    await mf?.dispose();
    bundle?.remove();
    if (persist) rmSync(persist, { recursive: true, force: true });
  });

  test('the README shows the set-up commands run here and quotes each SQL file as it is', () => {
    for (const command of SETUP) assert.ok(readme.includes(command), command);
    for (const name of ['add.sql', 'rotate-add-key.sql', 'rotate-drop-key.sql', 'remove.sql']) {
      assert.ok(readme.includes(sql(name)), `www/README.md quotes www/worker/clients/${name}`);
    }
    assert.ok(readme.includes(`${DEFAULT_TTL} s`), 'the README names the default TTL');
  });

  test(`add, rotate and remove a client with the README's SQL: each change served within REGISTRY_TTL_SECONDS (${TTL} s here)`, async () => {
    const post1 = post.d1;
    const afterTtl = () => sleep(TTL * 1000 + SLACK_MS);
    /** Runs a SQL file of www/worker/clients/ (one statement) on the Worker's database. */
    const run = async (name) => {
      await db.prepare(sql(name)).run();
      await afterTtl();
    };
    // clients/add.sql, by `wrangler d1 execute` (SETUP): the old key only.
    assertToken(await answer(await post1(clientCredentials(clientAssertion(EXAMPLE, OLD_KEY)))));
    assertError(await answer(await post1(clientCredentials(clientAssertion(EXAMPLE, NEW_KEY)))), 401, 'invalid_client', UNKNOWN_KEY);
    await run('rotate-add-key.sql');
    assertToken(await answer(await post1(clientCredentials(clientAssertion(EXAMPLE, OLD_KEY)))));
    assertToken(await answer(await post1(clientCredentials(clientAssertion(EXAMPLE, NEW_KEY)))));
    await run('rotate-drop-key.sql');
    assertError(await answer(await post1(clientCredentials(clientAssertion(EXAMPLE, OLD_KEY)))), 401, 'invalid_client', UNKNOWN_KEY);
    assertToken(await answer(await post1(clientCredentials(clientAssertion(EXAMPLE, NEW_KEY)))));
    const { results } = await db.prepare('SELECT entry, updated_at FROM clients WHERE client_id = ?').bind(EXAMPLE).all();
    assert.deepEqual(JSON.parse(results[0].entry).jwks.keys.map((key) => key.kid), ['example-2']);
    await run('remove.sql');
    assertError(await answer(await post1(clientCredentials(clientAssertion(EXAMPLE, NEW_KEY)))), 401, 'invalid_client', UNKNOWN_CLIENT);
  });

  test(`within the default TTL (REGISTRY_TTL_SECONDS = ${DEFAULT_TTL} s) an isolate serves its copy without reading D1 again`, async () => {
    const cached = post['d1-default-ttl'];
    const token = () => clientCredentials(clientAssertion('cached', CACHED));
    const started = Date.now();
    assertToken(await answer(await cached(token())));
    await db.prepare('DELETE FROM clients WHERE client_id = ?').bind('cached').run();
    assertToken(await answer(await cached(token())));
    assert.ok(Date.now() - started < DEFAULT_TTL * 1000, 'the test ran within the TTL');
  });

  for (const row of ROWS.filter((r) => r.stored)) {
    test(`a client row with ${row.name}: ${row.served ? 'served' : 'left out (401 invalid_client, logged by client_id), the others served'}`, async () => {
      const response = await answer(await post.d1(clientCredentials(clientAssertion(row.id, row.key, row.alg, { raw: row.raw }))));
      if (row.served) {
        assertToken(response);
        return;
      }
      assertError(response, 401, 'invalid_client', UNKNOWN_CLIENT);
      assert.ok(
        logs.some((line) => line.includes(`client row ${JSON.stringify(row.id)} `) && line.includes('left out')),
        `a log line names ${row.id}: ${logs.join('\n')}`,
      );
      // Nobody else pays for it: a well-formed client, and the issuer whose key the row lists.
      assertToken(await answer(await post.d1(clientCredentials(clientAssertion('good', ROWS[0].key)))));
      assertToken(await answer(await post.d1(grant(assertion()))));
    });
  }

  test('a database without the clients table (the migration not applied): 503 temporarily_unavailable, never a token', async () => {
    assertRegistryUnavailable(await answer(await post['d1-no-table'](clientCredentials(clientAssertion('good', ROWS[0].key)))));
    assertRegistryUnavailable(await answer(await post['d1-no-table'](grant(assertion()))));
  });

  // As a bad REGISTRY without D1: the Worker throws on every request (workerd answers 500;
  // Miniflare's fetch rethrows the error here), never a token.
  test('configuration mistakes refuse every request: clients in [vars] beside D1, a TTL out of range, not whole, empty or not a number', async () => {
    const mistakes = [
      ['d1-with-clients-in-vars', /REGISTRY must not list clients when REGISTRY_DB is bound/],
      ...[0, 1, 2, 3, 4, 5].map((i) => [`d1-ttl-${i}`, /REGISTRY_TTL_SECONDS must be a whole number of seconds from 0 to 300/]),
    ];
    for (const [name, message] of mistakes) {
      await assert.rejects(post[name](clientCredentials(clientAssertion('good', ROWS[0].key))), message, name);
    }
  });
});
