// The Worker example (www/worker/) in workerd, the Cloudflare Workers runtime: wrangler
// (pinned) reads wrangler.toml and bundles the Worker as for a deployment (--dry-run: nothing
// leaves the machine), then Miniflare (pinned, the same version wrangler uses) runs that bundle
// as two Workers on 127.0.0.1 that share one Durable Object namespace, the way two isolates of
// a deployed Worker do: the parties of its registry, each with its own key (the client vs the
// issuer, both ways), client secrets and the Authorization header refused by the core. Last,
// `wrangler dev` itself serves the example.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { keyB, m, s } from '../../bindings/wasm/js/support/fixtures.mjs';
import { EXAMPLE_KEY } from '../demo-key.js';
import { jsDir, quietEnv, repoRoot, requireTool } from './support.mjs';

const configPath = join(repoRoot, 'www/worker/wrangler.toml');
const wrangler = join(jsDir, 'node_modules/.bin/wrangler');
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

// What wrangler.toml configures (checked below against wrangler's own reading of it).
const AS = 'https://as.example';
const CLIENT = 's6BhdRkqt3';
const IDP = 'https://idp.example';

/** The trusted issuer's key: the public example key of RFC 7515 Appendix A.2. */
const a2 = JSON.parse(readFileSync(join(repoRoot, 'tests/vectors/rfc/rfc7515_A2_rs256.json'), 'utf8'));
const IDP_KEY = {
  privatePem: createPrivateKey({ key: a2.private_jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }),
  jwk: { ...a2.public_jwk, kid: 'rfc7515-a2' },
};

/** The two parties of wrangler.toml's registry, each with its own key. */
const PARTIES = {
  client: { id: CLIENT, key: EXAMPLE_KEY },
  issuer: { id: IDP, key: IDP_KEY },
};

/** An assertion of the client (its key: the demo page's example key) or of the issuer. */
function assertion({ client = false, key = PARTIES[client ? 'client' : 'issuer'].key.privatePem, ...overrides } = {}) {
  return s.signAssertion({
    privateKey: key,
    kid: PARTIES[client ? 'client' : 'issuer'].key.jwk.kid,
    issuer: client ? CLIENT : IDP,
    subject: client ? CLIENT : 'alice',
    audience: AS,
    lifetime: 120,
    clientAuth: client,
    ...overrides,
  });
}

const grant = (token = assertion()) => new URLSearchParams({ grant_type: GRANT_TYPE, assertion: token }).toString();
const clientCredentials = (token = assertion({ client: true }), grantType = 'client_credentials') =>
  new URLSearchParams({ grant_type: grantType, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: token }).toString();

/** Checks the RFC 6749 headers and returns { status, body }. */
async function answer(response) {
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return { status: response.status, body: await response.json(), headers: response.headers };
}

function assertToken({ status, body }) {
  assert.equal(status, 200, JSON.stringify(body));
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'token_type']);
  assert.match(body.access_token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 3600);
}

function assertError({ status, body }, expectedStatus, error, description) {
  assert.equal(status, expectedStatus, JSON.stringify(body));
  assert.equal(body.error, error);
  if (description instanceof RegExp) assert.match(body.error_description, description);
  else if (description) assert.equal(body.error_description, description);
}

describe('Worker example (workerd through Miniflare, two instances, one Durable Object)', () => {
  let mf;
  let a;
  let b;
  let bundleDir;
  /** The same registry in Node: the core's answer for a request, to compare the Worker's with. */
  let reference;

  before(async () => {
    // wrangler's reading of wrangler.toml, and its deployment bundle.
    const { unstable_readConfig } = requireTool('wrangler');
    const config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
    const registry = config.vars.REGISTRY;
    assert.deepEqual(
      [registry.issuer, registry.clients.map((c) => c.client_id), registry.issuers.map((i) => i.issuer)],
      [AS, [CLIENT], [IDP]],
    );
    // Each party with its own key: the client's is the demo page's, the issuer's another.
    assert.deepEqual(registry.clients[0].jwks.keys.map((k) => k.n), [EXAMPLE_KEY.jwk.n]);
    assert.deepEqual(registry.issuers[0].jwks.keys.map((k) => k.n), [IDP_KEY.jwk.n]);
    reference = () => new m.AssertionVerifier({ registry, replay: 'external' });
    bundleDir = mkdtempSync(join(tmpdir(), 'rfc7523-worker-'));
    execFileSync(wrangler, ['deploy', '--dry-run', '--outdir', bundleDir, '--config', configPath], {
      cwd: repoRoot,
      env: quietEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });

    const sqlite = new Set(config.migrations.flatMap((migration) => migration.new_sqlite_classes ?? []));
    const durableObjects = (scriptName) =>
      Object.fromEntries(
        config.durable_objects.bindings.map((binding) => [
          binding.name,
          { className: binding.class_name, useSQLite: sqlite.has(binding.class_name), ...(scriptName && { scriptName }) },
        ]),
      );
    const worker = (name, durableObjectScript) => ({
      name,
      modules: true,
      scriptPath: join(bundleDir, 'index.js'),
      modulesRoot: bundleDir,
      modulesRules: [
        { type: 'ESModule', include: ['**/*.js'] },
        { type: 'CompiledWasm', include: ['**/*.wasm'] },
      ],
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
      bindings: config.vars,
      durableObjects: durableObjects(durableObjectScript),
    });
    const { Miniflare } = requireTool('miniflare');
    mf = new Miniflare({
      host: '127.0.0.1',
      port: 0,
      // No sample `request.cf` object from Cloudflare: nothing leaves the machine.
      cf: false,
      // Worker B uses worker A's Durable Object class: one store, two isolates.
      workers: [worker('token-a'), worker('token-b', 'token-a')],
    });
    await mf.ready;
    const [workerA, workerB] = [await mf.getWorker('token-a'), await mf.getWorker('token-b')];
    const post = (worker) => (body, headers = FORM, init = {}) =>
      worker.fetch('http://127.0.0.1/token', { method: 'POST', headers, body, ...init });
    a = post(workerA);
    b = post(workerB);
  });

  after(async () => {
    await mf?.dispose();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
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
    const both = (c, g) =>
      new URLSearchParams({ grant_type: GRANT_TYPE, assertion: g, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: c }).toString();
    assertToken(await answer(await a(both(clientToken, grantToken))));
    // The grant again with a fresh client assertion: the grant's jti is taken.
    assertError(await answer(await b(both(assertion({ client: true }), grantToken))), 400, 'invalid_grant', /already used/);
    // The client assertion again with a fresh grant: 401.
    assertError(await answer(await b(both(clientToken, assertion()))), 401, 'invalid_client', /already used/);
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
