// Shared by the Worker tests (worker*.test.mjs): wrangler's reading and deployment bundle of
// www/worker/wrangler.toml, Miniflare Workers running that bundle, two parties of its registry
// with their keys, signed requests, the RFC 6749 answer checks, a raw HTTP/1.1
// client for what fetch() cannot send, and workerd's memory.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createPrivateKey, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { s } from '../../bindings/wasm/js/support/fixtures.mjs';
import { EXAMPLE_KEY } from '../demo-key.js';
import { jsDir, quietEnv, repoRoot, requireTool } from './support.mjs';

export const configPath = join(repoRoot, 'www/worker/wrangler.toml');
export const wrangler = join(jsDir, 'node_modules/.bin/wrangler');
export const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

// What wrangler.toml configures (checked by worker.test.mjs against wrangler's own reading).
export const AS = 'https://as.example';
export const CLIENT = 's6BhdRkqt3';
export const IDP = 'https://idp.example';

/** The trusted issuer's key: the public example key of RFC 7515 Appendix A.2. */
const a2 = JSON.parse(readFileSync(join(repoRoot, 'tests/vectors/rfc/rfc7515_A2_rs256.json'), 'utf8'));
export const IDP_KEY = {
  privatePem: createPrivateKey({ key: a2.private_jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }),
  jwk: { ...a2.public_jwk, kid: 'rfc7515-a2' },
};

/** Two parties of wrangler.toml's registry, the RS256 client and the issuer, each with its own key
 *  (its ES256 and EdDSA clients are worker.test.mjs's, with demo-key.js's EXAMPLE_KEYS). */
export const PARTIES = {
  client: { id: CLIENT, key: EXAMPLE_KEY },
  issuer: { id: IDP, key: IDP_KEY },
};

/** A named constant of the Worker's source (its value as written, `_` separators allowed). */
export function workerConstant(name) {
  const source = readFileSync(join(repoRoot, 'www/worker/src/index.js'), 'utf8');
  const match = source.match(new RegExp(`^const ${name} = ([0-9_* ]+);`, 'm'));
  assert.ok(match, `www/worker/src/index.js defines ${name}`);
  return match[1]
    .split('*')
    .map((factor) => Number(factor.trim().replace(/_/g, '')))
    .reduce((a, b) => a * b, 1);
}

/** An assertion of the client (its key: the demo page's example key) or of the issuer. */
export function assertion({ client = false, key = PARTIES[client ? 'client' : 'issuer'].key.privatePem, ...overrides } = {}) {
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

export const grant = (token = assertion()) => new URLSearchParams({ grant_type: GRANT_TYPE, assertion: token }).toString();
export const clientCredentials = (token = assertion({ client: true }), grantType = 'client_credentials') =>
  new URLSearchParams({ grant_type: grantType, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: token }).toString();
/** A grant beside a client assertion. */
export const grantWithClient = (clientToken, grantToken) =>
  new URLSearchParams({ grant_type: GRANT_TYPE, assertion: grantToken, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: clientToken }).toString();

/**
 * Many assertions quickly: `template` (signed by the package's `signAssertion`, so its header
 * and claims are the package's) re-signed with node:crypto's RS256 in libuv's thread pool,
 * with a new `jti` (and any `claims` given). Resolves to the compact JWS.
 */
export function resign(template, privatePem, claims) {
  const [header, payload] = template.split('.');
  const body = { ...JSON.parse(Buffer.from(payload, 'base64url')), ...claims };
  const input = `${header}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`;
  const key = privateKeys.get(privatePem) ?? privateKeys.set(privatePem, createPrivateKey(privatePem)).get(privatePem);
  return new Promise((resolve, reject) =>
    sign('sha256', Buffer.from(input), key, (err, signature) => (err ? reject(err) : resolve(`${input}.${signature.toString('base64url')}`))),
  );
}
const privateKeys = new Map();

/** Checks the RFC 6749 headers and returns { status, body, headers }. */
export async function answer(response) {
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return { status: response.status, body: await response.json(), headers: response.headers };
}

export function assertToken({ status, body }) {
  assert.equal(status, 200, JSON.stringify(body));
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'token_type']);
  assert.match(body.access_token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 3600);
}

export function assertError({ status, body }, expectedStatus, error, description) {
  assert.equal(status, expectedStatus, JSON.stringify(body));
  assert.equal(body.error, error);
  if (description instanceof RegExp) assert.match(body.error_description, description);
  else if (description) assert.equal(body.error_description, description);
}

/** wrangler's reading of wrangler.toml, or of its environment `env` (`d1`: the clients in D1). */
export function workerConfig(env) {
  const { unstable_readConfig } = requireTool('wrangler');
  return unstable_readConfig({ config: configPath, ...(env && { env }) }, { hideWarnings: true });
}

/** Runs the pinned wrangler with `args` in `cwd` (default: the repository root), quietly;
 *  resolves to its standard output (rejects with its standard error when it fails). */
export function runWrangler(args, { cwd = repoRoot } = {}) {
  return new Promise((resolve, reject) => {
    execFile(wrangler, args, { cwd, env: quietEnv }, (err, stdout, stderr) =>
      err ? reject(new Error(`wrangler ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

/**
 * wrangler's reading of wrangler.toml and its deployment bundle (`deploy --dry-run`: nothing
 * leaves the machine). `remove()` deletes the bundle.
 */
export function bundleWorker() {
  const config = workerConfig();
  const dir = mkdtempSync(join(tmpdir(), 'rfc7523-worker-'));
  execFileSync(wrangler, ['deploy', '--dry-run', '--outdir', dir, '--config', configPath], {
    cwd: repoRoot,
    env: quietEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { config, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Miniflare options of one Worker running the bundle, as wrangler.toml configures it (or
 * `config`: one of its environments, from `workerConfig`).
 * `store`: where JTI_STORE lives, `{ scriptName, className }` of another Worker
 * (default: its own JtiStore). `bindings`: vars to override. `directSocket`: its own
 * 127.0.0.1 socket (`mf.unsafeGetDirectURL(name)`), workerd's HTTP server with nothing of
 * Miniflare's in front. `registryDb` (REGISTRY_DB, the clients in D1): `'d1'`, the config's
 * D1 database (by its id, so wrangler's `--local --persist-to DIR` commands and a Miniflare with
 * `d1Persist: DIR/v3/d1` share it), `{ id }` another one, or `{ scriptName, bindings }` a
 * wrapped binding that stands for it (a fake D1 of the faults tests).
 */
export function bundledWorker({ config, dir }, name, { store = {}, bindings = {}, directSocket = false, registryDb } = {}) {
  const sqlite = new Set(config.migrations.flatMap((migration) => migration.new_sqlite_classes ?? []));
  const [binding] = config.durable_objects.bindings;
  const className = store.className ?? binding.class_name;
  return {
    name,
    modules: true,
    scriptPath: join(dir, 'index.js'),
    modulesRoot: dir,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    bindings: { ...config.vars, ...bindings },
    durableObjects: {
      [binding.name]: { className, useSQLite: store.useSQLite ?? sqlite.has(className), ...(store.scriptName && { scriptName: store.scriptName }) },
    },
    ...(directSocket && { unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }] }),
    ...(registryDb && registryDbOptions(config, registryDb)),
  };
}

function registryDbOptions(config, registryDb) {
  const database = config.d1_databases.find((d1) => d1.binding === 'REGISTRY_DB');
  assert.ok(database, 'the config binds REGISTRY_DB');
  if (registryDb.scriptName) return { wrappedBindings: { REGISTRY_DB: registryDb } };
  return { d1Databases: { REGISTRY_DB: registryDb.id ?? database.preview_database_id ?? database.database_id } };
}

/**
 * A Miniflare on 127.0.0.1 running `workers`, ready. `storeInRam`: the Durable Objects' SQLite
 * files in a folder on /dev/shm (tmpfs; removed by `dispose`) instead of Miniflare's default
 * temporary folder on disk, so that no request waits for a disk flush of the shared machine.
 * `options`: more of Miniflare's shared options (`d1Persist`, `handleStructuredLogs`, …).
 */
export async function startMiniflare(workers, { storeInRam = false, ...options } = {}) {
  const { Miniflare } = requireTool('miniflare');
  const persist = storeInRam && existsSync('/dev/shm') ? mkdtempSync('/dev/shm/rfc7523-worker-') : undefined;
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    // No sample `request.cf` object from Cloudflare: nothing leaves the machine.
    cf: false,
    ...(persist && { durableObjectsPersist: persist }),
    ...options,
    workers,
  });
  await mf.ready;
  if (persist) {
    const dispose = mf.dispose.bind(mf);
    mf.dispose = async () => {
      await dispose();
      rmSync(persist, { recursive: true, force: true });
    };
  }
  return mf;
}

/** `(body, headers, init) => Promise<Response>`: POST /token through Miniflare to `worker`. */
export async function poster(mf, name) {
  const worker = await mf.getWorker(name);
  return (body, headers = FORM, init = {}) => worker.fetch('http://127.0.0.1/token', { method: 'POST', headers, body, ...init });
}

/**
 * Sends `request` (bytes, or a latin1 string) on a fresh connection to 127.0.0.1:`port`, or
 * its parts one after another with `pauses[i]` ms before part i + 1, and resolves to the first
 * response: { status, head (latin1 text), headers ([name, value], names lower case), body,
 * raw, ms (from the first byte sent), closed } — or status 0 when none arrived within
 * `timeoutMs` or the connection closed first. `untilClose`: wait for the server to close the
 * connection (`closed`: whether it did within `timeoutMs`).
 */
export function rawRequest(port, request, { parts, pauses = [], timeoutMs = 5000, untilClose = false } = {}) {
  const chunks = (parts ?? [request]).map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : part));
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const started = performance.now();
    let received = Buffer.alloc(0);
    let settled = false;
    let closed = false;
    const timers = [];
    const finish = (result) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      socket.destroy();
      resolve({ ...result, ms: performance.now() - started, closed });
    };
    const parse = () => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const head = received.subarray(0, end).toString('latin1');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = lines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
      });
      const length = Number(headers.find(([name]) => name === 'content-length')?.[1] ?? NaN);
      const body = received.subarray(end + 4);
      if (Number.isFinite(length) ? body.length < length : !closed) return null;
      return { status: Number(statusLine.split(' ')[1]), head, headers, body: body.toString('latin1'), raw: received.toString('latin1') };
    };
    socket.on('data', (data) => {
      received = Buffer.concat([received, data]);
      const response = parse();
      if (response && !untilClose) finish(response);
    });
    socket.on('close', () => {
      closed = true;
      finish(parse() ?? { status: 0, head: '', headers: [], body: '', raw: received.toString('latin1') });
    });
    socket.on('error', () => {});
    timers.push(setTimeout(() => finish(parse() ?? { status: 0, head: '', headers: [], body: '', raw: received.toString('latin1') }), timeoutMs));
    let delay = 0;
    chunks.forEach((chunk, i) => {
      delay += i === 0 ? 0 : pauses[i - 1] ?? 0;
      if (delay === 0) socket.write(chunk);
      else timers.push(setTimeout(() => !settled && socket.write(chunk), delay));
    });
  });
}

/** The workerd processes started by this Node process (Miniflare's runtime), by pid. */
export function workerdPids() {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && comm === 'workerd') pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Resident set size of `pid` in KiB (VmRSS of /proc/pid/status). */
export function rssKiB(pid) {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m);
  return match ? Number(match[1]) : NaN;
}
