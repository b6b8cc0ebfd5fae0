// The README's flows (README.md, "The flows, step by step"; issue 15 item 6), run as written:
// every ```sh block marked `<!-- flow: NAME -->` is read from README.md and run with bash in a
// fresh folder, with the `rfc7523` command, wrangler, openssl, curl and jq on PATH, exactly as a
// reader pastes them. The one change made to the text: the README's port, 8787, becomes a free
// one (other runs may hold 8787 on a shared machine). The README's unmarked prerequisites block
// (build the command and the package, put them on PATH, set RFC7523, an empty folder) is what
// `before` does here, with the command xtask names (RFC7523_CLI) or `cargo build` gives.
//
// Order: the `server` block starts every script (a reader's shell keeps its exports); the
// parties' `…/register` blocks; then the `serve` block, in the background, as the operator
// starts the Worker (`wrangler dev` with the registry the parties' files make), once for all
// flows; then each `…/ask` block must end with a token, and a variant of it must be refused: the
// batch grant and the client assertion posted again (replays), a service-account key file the
// operator never registered, an Apple client secret with its claims changed.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { jsDir, quietEnv, repoRoot } from './support.mjs';

/** The port the README's blocks name, replaced by a free one here. */
const README_PORT = '8787';

/** The blocks README.md must have, in this order. */
const FLOWS = [
  'server',
  'serve',
  'batch-grant/register',
  'batch-grant/ask',
  'client-assertion/register',
  'client-assertion/ask',
  'service-account/register',
  'service-account/ask',
  'apple-client-secret',
];

/** The tools the blocks run (besides `rfc7523` and wrangler, which this repository builds). */
const TOOLS = [
  ['bash', ['--version']],
  ['openssl', ['version']],
  ['curl', ['--version']],
  ['jq', ['--version']],
  ['basenc', ['--version']],
];

/** `CI=true` (or `1`), as xtask reads it: nothing may be skipped. */
const ci = ['true', '1'].includes(process.env.CI);

/**
 * README.md's flows: `<!-- flow: NAME -->`, then a ```sh block. Returns [{ name, code, shown }]
 * in the README's order, where `shown` is the text of the ```json block that follows the code
 * block before the next flow (the output the README shows), or null.
 */
function readmeFlows(text) {
  const flows = [];
  const marker = /^<!-- flow: ([a-z0-9/-]+) -->\n```sh\n([\s\S]*?)^```$/gm;
  for (const match of text.matchAll(marker)) {
    flows.push({ name: match[1], code: match[2], start: match.index, end: match.index + match[0].length });
  }
  return flows.map((flow, i) => {
    const rest = text.slice(flow.end, flows[i + 1]?.start ?? text.length);
    const shown = rest.match(/^```json\n([\s\S]*?)^```$/m);
    return { name: flow.name, code: flow.code, shown: shown ? shown[1].trim() : null };
  });
}

/** The last command of a block: its last line with the lines it continues (`\`, or `|` at the
 *  start of the next line). */
function lastCommand(code) {
  const lines = code.trimEnd().split('\n');
  let start = lines.length - 1;
  while (start > 0 && (lines[start - 1].endsWith('\\') || /^\s*\|/.test(lines[start]))) start -= 1;
  return lines.slice(start).join('\n');
}

/** A free TCP port on 127.0.0.1 (the registry names the server by its URL, so the port is
 *  chosen before the Worker starts). */
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

/** The tools missing from PATH, by name. */
function missingTools() {
  return TOOLS.filter(([tool, args]) => spawnSync(tool, args, { stdio: 'ignore' }).status !== 0).map(([tool]) => tool);
}

/** The `rfc7523` command: RFC7523_CLI (xtask gives the one its `test` step built), else this
 *  workspace's debug build, built now if it is not fresh. */
function cliPath() {
  if (process.env.RFC7523_CLI) return process.env.RFC7523_CLI;
  const messages = execFileSync('cargo', ['build', '--quiet', '-p', 'rfc7523-cli', '--message-format=json'], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const artifact = messages
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .find((message) => message.reason === 'compiler-artifact' && message.target?.name === 'rfc7523' && message.executable);
  assert.ok(artifact, '`cargo build -p rfc7523-cli` reported no rfc7523 executable');
  return artifact.executable;
}

/** Runs `script` with bash in `cwd`; resolves to { code, stdout, stderr } whatever its status. */
function bash(script, cwd, env) {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { cwd, env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr }),
    );
  });
}

/** The last line of a script's output, as JSON. */
function lastJson({ stdout }) {
  const lines = stdout.trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** RFC 6749 §5.1, as the Worker issues it (opaque 256-bit tokens, one hour). */
function assertToken(result, name) {
  assert.equal(result.code, 0, `${name} failed (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  const body = lastJson(result);
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'token_type'], result.stdout);
  assert.match(body.access_token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 3600);
  return body;
}

/** A refusal as `curl -sS --fail-with-body` reports it: exit status 22, the status on standard
 *  error, the RFC 6749 §5.2 body on standard output. */
function assertRefused(result, status, error, description) {
  assert.equal(result.code, 22, `expected curl's exit status 22 (HTTP error):\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stderr, new RegExp(`returned error: ${status}\\b`));
  const body = lastJson(result);
  assert.equal(body.error, error, result.stdout);
  assert.match(body.error_description, description);
}

const flows = readmeFlows(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
const missing = missingTools();
if (missing.length > 0 && ci) {
  throw new Error(`the README's flows need ${missing.join(', ')} on PATH (CI=true: nothing is skipped; \`cargo xtask setup\` installs them)`);
}
const skip = missing.length > 0 && `${missing.join(', ')} not on PATH (\`cargo xtask setup\` installs them)`;
const port = String(await freePort());

describe("the README's flows against the Worker", { skip, concurrency: true }, () => {
  /** Each block as run: the README's text with its port replaced. */
  const code = Object.fromEntries(flows.map((flow) => [flow.name, flow.code.replaceAll(README_PORT, port)]));
  const shown = Object.fromEntries(flows.map((flow) => [flow.name, flow.shown]));
  let dir;
  let env;
  let server;
  let serverOutput = '';
  /** A script: the `server` block (the reader's exports), then `blocks`. */
  const script = (...blocks) => ['set -euo pipefail', code.server, ...blocks].join('\n');

  before(async () => {
    const names = new Set(flows.map((flow) => flow.name));
    assert.deepEqual(FLOWS.filter((name) => !names.has(name)), [], 'README.md lacks these flows');
    dir = mkdtempSync(join(tmpdir(), 'rfc7523-readme-flows-'));
    const bin = join(dir, '.bin');
    mkdirSync(bin);
    symlinkSync(cliPath(), join(bin, 'rfc7523'));
    symlinkSync(join(jsDir, 'node_modules/.bin/wrangler'), join(bin, 'wrangler'));
    env = { ...quietEnv, PATH: `${bin}:${process.env.PATH}`, RFC7523: repoRoot };
    const flowsDir = join(dir, 'flows');
    mkdirSync(flowsDir);
    // The parties register (concurrently: each writes its own files), then the operator starts
    // the Worker once with the registry their files make.
    const registered = await Promise.all(
      ['batch-grant', 'client-assertion', 'service-account'].map((flow) => bash(script(code[`${flow}/register`]), flowsDir, env)),
    );
    registered.forEach((result, i) => assert.equal(result.code, 0, `register block ${i} failed:\n${result.stdout}\n${result.stderr}`));
    server = spawn('bash', ['-c', script(code.serve)], { cwd: flowsDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the serve block was not ready within 60 s:\n${serverOutput}`)), 60_000);
      const onData = (chunk) => {
        serverOutput += chunk;
        if (serverOutput.includes(`Ready on http://127.0.0.1:${port}`)) {
          clearTimeout(timer);
          resolve();
        }
      };
      server.stdout.on('data', onData);
      server.stderr.on('data', onData);
      server.once('exit', (status) => {
        clearTimeout(timer);
        reject(new Error(`the serve block exited (${status}):\n${serverOutput}`));
      });
    });
  });

  after(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      // bash, wrangler and workerd: the group the serve block started.
      process.kill(-server.pid, 'SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('README.md has the flows, in order, with the port this test replaces', () => {
    assert.deepEqual(
      flows.map((flow) => flow.name),
      FLOWS,
    );
    assert.match(flows[0].code, new RegExp(`ISSUER=http://127\\.0\\.0\\.1:${README_PORT} TOKEN_ENDPOINT=http://127\\.0\\.0\\.1:${README_PORT}/token`));
    assert.match(flows[1].code, new RegExp(`--port ${README_PORT}\\b`));
  });

  test('the serve block gives the Worker the registry of the parties registered', () => {
    const registry = JSON.parse(readFileSync(join(dir, 'flows/registry.json'), 'utf8'));
    assert.equal(registry.issuer, `http://127.0.0.1:${port}`);
    assert.equal(registry.token_endpoint, `http://127.0.0.1:${port}/token`);
    assert.deepEqual(
      registry.clients.map((client) => client.client_id),
      ['billing-cron'],
    );
    assert.deepEqual(
      registry.issuers.map((issuer) => issuer.issuer).sort(),
      ['https://batch.example', 'robot@project-1.iam.gserviceaccount.com'],
    );
  });

  test('1. a batch worker gets a token with a JWT grant; the same grant again is refused', async () => {
    const last = lastCommand(code['batch-grant/ask']);
    assert.match(last, /^curl /);
    const result = await bash(script(code['batch-grant/ask'], 'echo "-- again --"', last), join(dir, 'flows'), env);
    const [first, again] = result.stdout.split('-- again --\n');
    assertToken({ code: 0, stdout: first, stderr: '' }, 'batch-grant/ask');
    assertRefused({ ...result, stdout: again }, 400, 'invalid_grant', /already used/);
    assertShownToken(shown['batch-grant/ask'], first);
  });

  test('2. client_assertion replaces client_secret in client_credentials; its replay is refused', async () => {
    const last = lastCommand(code['client-assertion/ask']);
    assert.match(last, /^curl .*grant_type=client_credentials/);
    const result = await bash(script(code['client-assertion/ask'], 'echo "-- again --"', last), join(dir, 'flows'), env);
    const [first, again] = result.stdout.split('-- again --\n');
    assertToken({ code: 0, stdout: first, stderr: '' }, 'client-assertion/ask');
    assertRefused({ ...result, stdout: again }, 401, 'invalid_client', /already used/);
  });

  test("3. a Google service account's key file gets a token; another key for the same account is refused", async () => {
    assertToken(await bash(script(code['service-account/ask']), join(dir, 'flows'), env), 'service-account/ask');
    // An impostor: the same blocks in another folder make another key file for the same
    // client_email, whose key the Worker was never given.
    const impostor = join(dir, 'impostor');
    mkdirSync(impostor);
    const registered = await bash(script(code['service-account/register']), impostor, env);
    assert.equal(registered.code, 0, registered.stderr);
    const keyFile = (folder) => JSON.parse(readFileSync(join(folder, 'robot-key.json'), 'utf8'));
    assert.equal(keyFile(impostor).client_email, keyFile(join(dir, 'flows')).client_email);
    assert.notEqual(keyFile(impostor).private_key, keyFile(join(dir, 'flows')).private_key);
    assertRefused(await bash(script(code['service-account/ask']), impostor, env), 400, 'invalid_grant', /key|signature/);
  });

  test('4. a Sign in with Apple client secret, verified locally; tampered, it is refused', async () => {
    const apple = join(dir, 'apple');
    mkdirSync(apple);
    const result = await bash(script(code['apple-client-secret']), apple, env);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const verdict = lastJson(result);
    assert.equal(verdict.valid, true, result.stdout);
    assert.deepEqual(verdict.header, { alg: 'ES256', kid: 'ABC123DEFG' });
    assert.deepEqual(Object.keys(verdict.claims), ['iss', 'sub', 'aud', 'exp', 'iat']);
    assert.equal(verdict.claims.iss, 'DEF123GHIJ');
    assert.equal(verdict.claims.sub, 'com.example.web');
    assert.equal(verdict.claims.aud, 'https://appleid.apple.com');
    assert.equal(verdict.claims.exp - verdict.claims.iat, 86_400);
    assert.ok(Math.abs(verdict.claims.iat - Date.now() / 1000) < 120, `iat ${verdict.claims.iat} is now`);
    // What the README shows: the same header, claims (but the times), and relaxation.
    const readme = JSON.parse(shown['apple-client-secret']);
    assert.deepEqual(readme.header, verdict.header);
    assert.deepEqual({ ...readme.claims, exp: 0, iat: 0 }, { ...verdict.claims, exp: 0, iat: 0 });
    assert.equal(readme.claims.exp - readme.claims.iat, 86_400);
    assert.deepEqual(readme.compat, verdict.compat);
    assert.deepEqual(verdict.compat, ['missing_jti']);

    // Tampered: another Services ID in the claims, the signature kept; the block's last command
    // (the verification) again.
    const secretPath = join(apple, 'client_secret.jwt');
    const [header, payload, signature] = readFileSync(secretPath, 'utf8').trim().split('.');
    const claims = { ...JSON.parse(Buffer.from(payload, 'base64url')), sub: 'com.example.other' };
    writeFileSync(secretPath, `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}\n`);
    const last = lastCommand(code['apple-client-secret']);
    assert.match(last, /^rfc7523 verify /);
    const tampered = await bash(script(last), apple, env);
    assert.equal(tampered.code, 1, `${tampered.stdout}\n${tampered.stderr}`);
    assert.equal(lastJson(tampered).valid, false);
    assert.equal(lastJson(tampered).reason, 'invalid_signature');
  });
});

/** The token response the README shows has the shape of the real one. */
function assertShownToken(text, stdout) {
  assert.ok(text, 'the README shows the token response');
  const readme = JSON.parse(text);
  const real = JSON.parse(stdout.trimEnd().split('\n').pop());
  assert.deepEqual(Object.keys(readme), Object.keys(real));
  assert.equal(readme.token_type, real.token_type);
  assert.equal(readme.expires_in, real.expires_in);
  assert.match(readme.access_token, /^[A-Za-z0-9_-]{43}$/);
}
