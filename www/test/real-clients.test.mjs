// Real OAuth client libraries against the Worker example (issue 15 item 5): Python's
// google-auth and authlib (its JWT grant and PrivateKeyJWT), Node's google-auth-library,
// oauth4webapi and openid-client, each asking the Worker on 127.0.0.1 for an access token as
// its documentation shows, with the pinned versions (tests/google-auth/requirements.txt in
// target/google-auth-venv; bindings/wasm/js/package.json). Where a library hard-codes Google's
// token URL (google-auth-library), its transport is redirected, never its assertion.
//
// One Worker (wrangler's bundle, in Miniflare) whose registry has a party per library and
// configuration, each with its own key made here: the party as an operator would first
// register it (strict: the registry's defaults), and with the compatibility option the
// library needs. A table, library × configuration → the answer: 200 and a token, or the
// refusal with its status, error and the core's reason (the package's verifier in Node, given
// the same registry and the very request the library sent, must refuse it for that reason
// with the same body). Every row also checks what the library sent (header, claims, lifetime):
// the "Compatibility with deployed clients" table of the README.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { m } from '../../bindings/wasm/js/support/fixtures.mjs';
import { importTool, jsDir, quietEnv, repoRoot, requireTool } from './support.mjs';
import { bundleWorker, bundledWorker } from './worker-harness.mjs';

const PYTHON = join(repoRoot, 'target/google-auth-venv/bin/python');
const DRIVER = join(repoRoot, 'www/test/real_clients.py');
/** Where Google's libraries send their grants, and what they sign as `aud`. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** A free TCP port on 127.0.0.1: the registry names the server by its URL, so the port is
 *  chosen before the Worker starts. */
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

const port = await freePort();
/** The server as its operator names it: its URL is its issuer identifier (RFC 8414). */
const ISSUER = `http://127.0.0.1:${port}`;
const TOKEN_ENDPOINT = `${ISSUER}/token`;

/** A party's own RSA key pair: the PKCS#8 PEM the library signs with, the public JWK. */
function rsaKey(kid) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' },
  };
}

/** The strict registration of each party, and the one with the relaxations its library needs. */
const STRICT = {};
const GOOGLE_COMPAT = { compat: ['missing_sub'], require_jti: false };
const CLIENT_COMPAT = { compat: ['token_endpoint_audience'] };

/** The parties, by name: clients (client_id) and trusted issuers (a service account's email). */
const PARTIES = {};
function client(name, policy) {
  PARTIES[name] = { kind: 'client', id: name, key: rsaKey(`${name}-1`), policy };
}
function serviceAccount(name, policy) {
  PARTIES[name] = { kind: 'issuer', id: `${name}@rfc7523-test.iam.gserviceaccount.com`, key: rsaKey(`${name}-1`), policy };
}
function issuer(name, policy) {
  PARTIES[name] = { kind: 'issuer', id: `https://${name}.example`, key: rsaKey(`${name}-1`), policy };
}
serviceAccount('google-auth-strict', STRICT);
serviceAccount('google-auth-compat', GOOGLE_COMPAT);
serviceAccount('google-auth-library-strict', STRICT);
serviceAccount('google-auth-library-compat', GOOGLE_COMPAT);
issuer('authlib-grant', STRICT);
client('authlib-strict', STRICT);
client('authlib-compat', CLIENT_COMPAT);
client('authlib-typ', { require_typ: true });
client('oauth4webapi', STRICT);
client('oauth4webapi-typ', { require_typ: true });
client('openid-client', STRICT);
client('openid-client-typ', { require_typ: true });

const REGISTRY = {
  issuer: ISSUER,
  token_endpoint: TOKEN_ENDPOINT,
  clients: Object.values(PARTIES)
    .filter((party) => party.kind === 'client')
    .map((party) => ({ client_id: party.id, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [party.key.jwk] }, ...party.policy })),
  issuers: Object.values(PARTIES)
    .filter((party) => party.kind === 'issuer')
    .map((party) => ({ issuer: party.id, jwks: { keys: [party.key.jwk] }, ...party.policy })),
};

/** A service account's JSON key file, as Google issues it, whose token_uri is the Worker. */
function keyFile(party) {
  return {
    type: 'service_account',
    project_id: 'rfc7523-test',
    private_key_id: party.key.kid,
    private_key: party.key.privatePem,
    client_email: party.id,
    client_id: '100000000000000000001',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: TOKEN_ENDPOINT,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    universe_domain: 'googleapis.com',
  };
}

function version(name) {
  return JSON.parse(readFileSync(join(jsDir, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** The pinned versions, which the README's table names: package.json's devDependencies and
 *  tests/google-auth/requirements.txt. */
const PINNED = {
  ...JSON.parse(readFileSync(join(jsDir, 'package.json'), 'utf8')).devDependencies,
  ...Object.fromEntries(
    [...readFileSync(join(repoRoot, 'tests/google-auth/requirements.txt'), 'utf8').matchAll(/^([a-z0-9-]+)==(\S+)/gm)].map(([, name, pinned]) => [name, pinned]),
  ),
};
/** The package each row's library is. */
const PACKAGE = { 'authlib-grant': 'authlib', 'authlib-private-key-jwt': 'authlib' };

// ---------------------------------------------------------------------------------------------
// The libraries. Each resolves to { version, sent: [{ url, body }], token, error: { status,
// body } | null }: every request it made, and the answer.

/** One job of real_clients.py in the pinned venv. */
function python(job) {
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run \`cargo xtask setup\` (it installs google-auth and authlib from tests/google-auth/requirements.txt)`);
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [DRIVER], { env: quietEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) {
        const hint = /ModuleNotFoundError/.test(stderr) ? '\n(the venv is older than tests/google-auth/requirements.txt: run `cargo xtask setup`)' : '';
        return reject(new Error(`${job.library}: ${err.message}\n${stderr}${hint}`));
      }
      resolve(JSON.parse(stdout));
    });
    child.stdin.end(JSON.stringify(job));
  });
}

/** A fetch that records each request and its answer (oauth4webapi's and openid-client's
 *  `customFetch`). */
function recordingFetch(sent, answers) {
  return async (url, init) => {
    sent.push({ url: String(url), body: String(init.body) });
    const response = await fetch(url, init);
    answers.push({ status: response.status, body: await response.clone().json() });
    return response;
  };
}

/** What the Node libraries end with: the token, or the first refusal the server answered. */
async function settle(name, sent, answers, run) {
  try {
    return { version: version(name), sent, token: await run(), error: null };
  } catch (err) {
    const refusal = answers.find(({ status }) => status !== 200);
    if (!refusal) throw err;
    return { version: version(name), sent, token: null, error: refusal };
  }
}

async function signingKey(party) {
  const der = createPrivateKey(party.key.privatePem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
}

const LIBRARIES = {
  /** google-auth (Python): service-account credentials from the key file, refreshed as every
   *  Google client library does first; it posts to the key file's token_uri. */
  'google-auth': (party, { additionalClaims } = {}) =>
    python({ library: 'google-auth', key_file: keyFile(party), scopes: [SCOPE], additional_claims: additionalClaims ?? null }),

  /** authlib (Python) AssertionSession: a JWT grant; `audience` defaults to the token endpoint. */
  'authlib-grant': (party) =>
    python({ library: 'authlib-grant', token_endpoint: TOKEN_ENDPOINT, issuer: party.id, subject: 'batch-worker-7', audience: null, private_key: party.key.privatePem }),

  /** authlib (Python) OAuth2Session with PrivateKeyJWT and client_credentials. Its `aud` is
   *  PrivateKeyJWT's first argument, by default the URL it posts to. */
  'authlib-private-key-jwt': (party, { audience, typ } = {}) =>
    python({ library: 'authlib-private-key-jwt', token_endpoint: TOKEN_ENDPOINT, client_id: party.id, private_key: party.key.privatePem, audience: audience ?? null, typ: typ ?? null }),

  /** google-auth-library (Node): a JWT client from the key file. It posts to Google's URL
   *  whatever token_uri says: a request interceptor of its Gaxios transport sends it to the
   *  key file's token_uri instead (the body untouched). */
  'google-auth-library': async (party, { additionalClaims } = {}) => {
    const { JWT } = requireTool('google-auth-library');
    const file = keyFile(party);
    const jwtClient = new JWT({ scopes: [SCOPE], additionalClaims });
    jwtClient.fromJSON(file);
    const sent = [];
    jwtClient.transporter.interceptors.request.add({
      resolved: async (options) => {
        assert.equal(String(options.url), GOOGLE_TOKEN_URL);
        options.url = new URL(file.token_uri);
        sent.push({ url: String(options.url), body: String(options.body ?? options.data) });
        return options;
      },
    });
    const answers = [];
    jwtClient.transporter.interceptors.response.add({
      resolved: async (response) => {
        answers.push({ status: response.status, body: response.data });
        return response;
      },
      rejected: async (err) => {
        if (err.response) answers.push({ status: err.response.status, body: err.response.data });
        throw err;
      },
    });
    return settle('google-auth-library', sent, answers, async () => ({ access_token: (await jwtClient.getAccessToken()).token }));
  },

  /** oauth4webapi: PrivateKeyJwt client authentication and the client_credentials grant, with
   *  the server's metadata given (no discovery); http:// needs allowInsecureRequests. `typ`:
   *  set in the header by its documented hook, modifyAssertion. */
  oauth4webapi: async (party, { typ } = {}) => {
    const oauth = await importTool('oauth4webapi');
    const as = { issuer: ISSUER, token_endpoint: TOKEN_ENDPOINT };
    const oauthClient = { client_id: party.id };
    const sent = [];
    const answers = [];
    const clientAuth = oauth.PrivateKeyJwt(
      { key: await signingKey(party), kid: party.key.kid },
      typ && {
        [oauth.modifyAssertion]: (header) => {
          header.typ = typ;
        },
      },
    );
    return settle('oauth4webapi', sent, answers, async () => {
      const response = await oauth.clientCredentialsGrantRequest(as, oauthClient, clientAuth, new URLSearchParams(), {
        [oauth.allowInsecureRequests]: true,
        [oauth.customFetch]: recordingFetch(sent, answers),
      });
      return oauth.processClientCredentialsResponse(as, oauthClient, response);
    });
  },

  /** openid-client: a Configuration from the server's metadata with PrivateKeyJwt, then
   *  clientCredentialsGrant; http:// needs allowInsecureRequests. */
  'openid-client': async (party) => {
    const oidc = await importTool('openid-client');
    const config = new oidc.Configuration({ issuer: ISSUER, token_endpoint: TOKEN_ENDPOINT }, party.id, {}, oidc.PrivateKeyJwt({ key: await signingKey(party), kid: party.key.kid }));
    oidc.allowInsecureRequests(config);
    const sent = [];
    const answers = [];
    config[oidc.customFetch] = recordingFetch(sent, answers);
    return settle('openid-client', sent, answers, async () => ({ ...(await oidc.clientCredentialsGrant(config)) }));
  },
};

// ---------------------------------------------------------------------------------------------
// The table.

const OK = { status: 200 };
const refused = (status, reason, claim) => ({ status, error: status === 401 ? 'invalid_client' : 'invalid_grant', reason, claim });
/** The compatibility options each configuration gives its party (see PARTIES). */
const GOOGLE = 'compat missing_sub, require_jti false';

/**
 * What each library sends by default, checked on every row: the header, the claims' names,
 * `aud`, `sub` and the lifetime (`exp - iat`), and the form's parameter names. `party` is the
 * row's; a row's `aud` replaces the default where its client is configured for it.
 */
const SENDS = {
  'google-auth': (party) => ({
    header: { typ: 'JWT', alg: 'RS256', kid: party.key.kid },
    claims: ['aud', 'exp', 'iat', 'iss', 'scope'],
    aud: GOOGLE_TOKEN_URL,
    lifetime: 3600,
    form: ['assertion', 'grant_type'],
  }),
  'google-auth-library': () => ({
    header: { alg: 'RS256' },
    claims: ['aud', 'exp', 'iat', 'iss', 'scope'],
    aud: GOOGLE_TOKEN_URL,
    lifetime: 3600,
    form: ['assertion', 'grant_type'],
  }),
  'authlib-grant': () => ({
    header: { typ: 'JWT', alg: 'RS256' },
    claims: ['aud', 'exp', 'iat', 'iss', 'jti', 'sub'],
    aud: TOKEN_ENDPOINT,
    sub: 'batch-worker-7',
    lifetime: 3600,
    form: ['assertion', 'grant_type'],
  }),
  'authlib-private-key-jwt': (party) => ({
    header: { typ: 'JWT', alg: 'RS256' },
    claims: ['aud', 'exp', 'iat', 'iss', 'jti', 'sub'],
    aud: TOKEN_ENDPOINT,
    sub: party.id,
    lifetime: 3600,
    form: ['client_assertion', 'client_assertion_type', 'grant_type'],
  }),
  oauth4webapi: (party) => ({
    header: { alg: 'RS256', kid: party.key.kid },
    claims: ['aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub'],
    aud: ISSUER,
    sub: party.id,
    lifetime: 60,
    form: ['client_assertion', 'client_assertion_type', 'client_id', 'grant_type'],
  }),
};
SENDS['openid-client'] = SENDS.oauth4webapi;

const TYP = 'client-authentication+jwt';

const ROWS = [
  { library: 'google-auth', party: 'google-auth-strict', config: 'strict', expect: refused(400, 'missing_claim', 'sub') },
  { library: 'google-auth', party: 'google-auth-compat', config: GOOGLE, expect: refused(400, 'audience_mismatch', 'aud') },
  { library: 'google-auth', party: 'google-auth-strict', config: 'strict; client additional_claims aud', options: { additionalClaims: { aud: TOKEN_ENDPOINT } }, aud: TOKEN_ENDPOINT, expect: refused(400, 'missing_claim', 'sub') },
  { library: 'google-auth', party: 'google-auth-compat', config: `${GOOGLE}; client additional_claims aud`, options: { additionalClaims: { aud: TOKEN_ENDPOINT } }, aud: TOKEN_ENDPOINT, expect: OK },
  { library: 'authlib-grant', party: 'authlib-grant', config: 'strict', expect: OK },
  { library: 'authlib-private-key-jwt', party: 'authlib-strict', config: 'strict', expect: refused(401, 'audience_mismatch', 'aud') },
  { library: 'authlib-private-key-jwt', party: 'authlib-compat', config: 'compat token_endpoint_audience', expect: OK },
  { library: 'authlib-private-key-jwt', party: 'authlib-strict', config: 'strict; client PrivateKeyJWT(issuer)', options: { audience: ISSUER }, aud: ISSUER, expect: OK },
  { library: 'google-auth-library', party: 'google-auth-library-strict', config: 'strict', expect: refused(400, 'missing_claim', 'sub') },
  { library: 'google-auth-library', party: 'google-auth-library-compat', config: GOOGLE, expect: refused(400, 'audience_mismatch', 'aud') },
  { library: 'google-auth-library', party: 'google-auth-library-strict', config: 'strict; client additionalClaims aud', options: { additionalClaims: { aud: TOKEN_ENDPOINT } }, aud: TOKEN_ENDPOINT, expect: refused(400, 'missing_claim', 'sub') },
  { library: 'google-auth-library', party: 'google-auth-library-compat', config: `${GOOGLE}; client additionalClaims aud`, options: { additionalClaims: { aud: TOKEN_ENDPOINT } }, aud: TOKEN_ENDPOINT, expect: OK },
  { library: 'authlib-private-key-jwt', party: 'authlib-typ', config: 'require_typ; client PrivateKeyJWT(issuer)', options: { audience: ISSUER }, aud: ISSUER, expect: refused(401, 'invalid_type') },
  { library: 'authlib-private-key-jwt', party: 'authlib-typ', config: 'require_typ; client PrivateKeyJWT(issuer, headers typ)', options: { audience: ISSUER, typ: TYP }, aud: ISSUER, expect: OK },
  { library: 'oauth4webapi', party: 'oauth4webapi', config: 'strict', expect: OK },
  { library: 'oauth4webapi', party: 'oauth4webapi-typ', config: 'require_typ', expect: refused(401, 'invalid_type') },
  { library: 'oauth4webapi', party: 'oauth4webapi-typ', config: 'require_typ; client modifyAssertion typ', options: { typ: TYP }, expect: OK },
  { library: 'openid-client', party: 'openid-client', config: 'strict', expect: OK },
  { library: 'openid-client', party: 'openid-client-typ', config: 'require_typ', expect: refused(401, 'invalid_type') },
];

/** The assertion in a token request body, decoded: the client assertion or the grant's. */
function sentAssertion(body) {
  const form = new URLSearchParams(body);
  const token = form.get('client_assertion') ?? form.get('assertion');
  const [header, claims] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')));
  return { form, header, claims };
}

describe('real client libraries against the Worker', { concurrency: true }, () => {
  let bundle;
  let mf;

  before(async () => {
    bundle = bundleWorker();
    const { Miniflare } = requireTool('miniflare');
    // As worker-harness.mjs's startMiniflare, on the port the registry names.
    mf = new Miniflare({ host: '127.0.0.1', port, cf: false, workers: [bundledWorker(bundle, 'token', { bindings: { REGISTRY } })] });
    await mf.ready;
  });

  after(async () => {
    await mf?.dispose();
    bundle?.remove();
  });

  for (const row of ROWS) {
    test(`${row.library} × ${row.config}`, { timeout: 90_000, ...(row.todo && { todo: row.todo }) }, async () => {
      const party = PARTIES[row.party];
      const outcome = await LIBRARIES[row.library](party, row.options);
      assert.equal(outcome.version, PINNED[PACKAGE[row.library] ?? row.library]);
      assert.equal(outcome.sent.length, 1, JSON.stringify(outcome.sent));
      const [request] = outcome.sent;
      assert.equal(request.url, TOKEN_ENDPOINT);

      // What it sent.
      const sends = SENDS[row.library](party);
      const { form, header, claims } = sentAssertion(request.body);
      assert.deepEqual([...form.keys()].sort(), sends.form);
      assert.deepEqual(header, row.options?.typ ? { ...sends.header, typ: row.options.typ } : sends.header);
      assert.deepEqual(Object.keys(claims).sort(), sends.claims);
      assert.equal(claims.iss, party.id);
      assert.equal(claims.aud, row.aud ?? sends.aud);
      assert.equal(claims.sub, sends.sub);
      assert.equal(claims.exp - claims.iat, sends.lifetime);

      // The core's verdict on that very request: the package's verifier, the same registry.
      const reference = new m.AssertionVerifier({ registry: REGISTRY });
      let verdict;
      try {
        verdict = { result: reference.verifyTokenRequest(request.body) };
      } catch (err) {
        verdict = { err };
      }

      // The Worker's answer.
      if (row.expect.status === 200) {
        assert.equal(outcome.error, null, JSON.stringify(outcome.error));
        assert.match(outcome.token.access_token, /^[A-Za-z0-9_-]{43}$/);
        assert.ok(verdict.result, verdict.err?.message);
      } else {
        assert.equal(outcome.token, null);
        assert.equal(outcome.error.status, row.expect.status);
        assert.equal(outcome.error.body.error, row.expect.error);
        assert.ok(verdict.err, 'the core refuses it too');
        assert.equal(verdict.err.reason, row.expect.reason);
        assert.equal(verdict.err.claim, row.expect.claim);
        assert.deepEqual(outcome.error.body, JSON.parse(verdict.err.body));
      }
    });
  }
});
