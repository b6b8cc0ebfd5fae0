// Issue 16's Workers measurement: CPU time per verification in workerd, the example Worker
// (www/worker/, the rfc7523 package) against the same token endpoint written with jose
// (www/bench/jose-worker/, bench-only), on the same requests. Run by `cargo xtask bench
// worker-cpu` (and by the whole `cargo xtask bench`); alone: `node www/bench/worker-cpu.mjs`
// from the repository root (needs bindings/wasm/pkg and `npm ci` in bindings/wasm/js).
//
// Each Worker runs wrangler's bundle in its own workerd (Miniflare; the Durable Objects'
// SQLite on tmpfs), with the same [vars] (the registry of www/worker/wrangler.toml) and its own
// replay store, on its own 127.0.0.1 socket (workerd's HTTP server, nothing of Miniflare's in
// front). A third workerd runs a Worker that reads the body and answers a constant: the fixed
// cost of an HTTP request in workerd, subtracted for the "net" figures.
//
// Per round, each Worker gets the same list of REQUESTS token requests (per block of 10: 5
// jwt-bearer grants and 2 client_credentials requests with a client assertion, valid with
// fresh jtis; 1 grant and 1 client assertion signed by another key; 1 expired grant), sent
// over keep-alive connections, in each MODE (one at a time, and CONCURRENCY in flight). CPU
// time: workerd's, summed over its threads from /proc/<pid>/task/*/schedstat (nanoseconds
// on the CPU) over the window of the round's requests, also the busiest thread alone (where
// the isolates run). ROUNDS rounds, the order of the three Workers rotating each round;
// medians. Every answer's status and error are checked (a sanity check: a broken copy cannot
// win); any other answer fails the run. The mix one at a time, the mix CONCURRENCY in flight,
// and the refused requests alone (signature checked, the store never reached).
//
// Then the verification alone, inside the isolate: a fourth workerd runs www/bench/verify-loop/,
// whose requests each run one verification LOOP_N times (the package as the example Worker
// runs it, the package all in wasm, jose `jwtVerify`, and the platform's RSA alone: WebCrypto
// and node:crypto's publicDecrypt); their CPU time less that of requests doing nothing, per
// verification (workerd's CPU time, as above, rather than the isolate's own clock: on
// Cloudflare that clock does not advance while a Worker computes).
//
// Printed; RFC7523_WORKER_CPU_OUT=path also writes the figures there, one `name<TAB>value` a
// line (for `cargo xtask bench`, crates/xtask/src/bench/worker_cpu.rs). Never a test: timings
// are not assertions.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { keyB } from '../../bindings/wasm/js/support/fixtures.mjs';
import { PARTIES, assertion, bundleWorker, bundledWorker, clientCredentials, grant, resign, startMiniflare, workerConfig, workerdPids, wrangler } from '../test/worker-harness.mjs';
import { quietEnv, repoRoot, requireTool } from '../test/support.mjs';

/** Requests per Worker per round and mode (a multiple of the block of 10). */
const REQUESTS = Number(process.env.RFC7523_WORKER_CPU_REQUESTS ?? 500);
const ROUNDS = Number(process.env.RFC7523_WORKER_CPU_ROUNDS ?? 5);
/** Requests per Worker before the first round (JIT, keys imported, Durable Objects created). */
const WARMUP = 300;
const CONCURRENCY = 8;

/** A block of requests: [kind, count, expected status, expected error]. The mix: 7 of 10 valid
 *  (fresh jtis), so 7 of 10 claim a record in the Durable Object. */
const MIX = [
  ['valid grant', 5, 200, undefined],
  ['valid client assertion', 2, 200, undefined],
  ['bad signature (grant)', 1, 400, 'invalid_grant'],
  ['bad signature (client assertion)', 1, 401, 'invalid_client'],
  ['expired grant', 1, 400, 'invalid_grant'],
];
/** Refused only (the signature checked, the replay store never reached): the verification's
 *  own cost, without the Durable Object's. */
const REFUSED_ONLY = [
  ['bad signature (grant)', 4, 400, 'invalid_grant'],
  ['bad signature (client assertion)', 3, 401, 'invalid_client'],
  ['expired grant', 3, 400, 'invalid_grant'],
];
const BLOCK_SIZE = 10;
for (const plan of [MIX, REFUSED_ONLY]) assert.equal(plan.reduce((sum, [, n]) => sum + n, 0), BLOCK_SIZE);
assert.equal(REQUESTS % BLOCK_SIZE, 0);
/** [name, concurrency, plan]: the mix one at a time and CONCURRENCY in flight (the goal's
 *  figure: the mix, one at a time), and the refused ones alone. */
const MODES = [
  ['sequential', 1, MIX],
  ['concurrent', CONCURRENCY, MIX],
  ['refused', 1, REFUSED_ONLY],
];
/** Goal of issue 16: the package's CPU time per request at most this times jose's. */
const TARGET = 0.5;

/** The in-isolate part (www/bench/verify-loop/): each op LOOP_N times per request, LOOP_REQUESTS
 *  requests per op and round; `none` is subtracted. */
const LOOP_OPS = ['none', 'package', 'package-wasm', 'jose', 'webcrypto', 'node-publicdecrypt'];
const LOOP_N = 100;
const LOOP_REQUESTS = 10;

/** The constant Worker: reads the body, answers one fixed 200 JSON (no verification, no store). */
const CONSTANT_WORKER = `export default {
  async fetch(request) {
    await request.text();
    return new Response('{"access_token":"constant","token_type":"Bearer","expires_in":3600}', {
      status: 200,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    });
  },
};`;

const WORKERS = ['package', 'jose', 'constant'];

/** workerd's CPU time: { total (ns, all threads), threads: Map(tid → ns) }. */
function cpu(pid) {
  const threads = new Map();
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      threads.set(tid, ns);
      total += ns;
    } catch {
      // The thread ended while we looked.
    }
  }
  return { total, threads };
}

/** CPU between two samples: { total, busiest } in ns (busiest: the thread that used most). */
function cpuDelta(before, after) {
  let busiest = 0;
  for (const [tid, ns] of after.threads) busiest = Math.max(busiest, ns - (before.threads.get(tid) ?? 0));
  return { total: after.total - before.total, busiest };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The request list of one round: [{ kind, body, status, error }], in block order, the same for
 *  every Worker. `tag` makes the jtis of the valid ones fresh. */
async function requestList(tag, count, templates, plan = MIX) {
  const blocks = count / BLOCK_SIZE;
  const fresh = (template, pem, prefix, n) => Promise.all(Array.from({ length: n }, (_, i) => resign(template, pem, { jti: `${tag}-${prefix}-${i}` })));
  const valid = plan === MIX;
  const [grants, clients] = await Promise.all([
    fresh(templates.grant, PARTIES.issuer.key.privatePem, 'g', valid ? 5 * blocks : 0),
    fresh(templates.client, PARTIES.client.key.privatePem, 'c', valid ? 2 * blocks : 0),
  ]);
  const list = [];
  for (let b = 0; b < blocks; b++) {
    for (const [kind, n, status, error] of plan) {
      for (let k = 0; k < n; k++) {
        let body;
        const at = (tokens) => tokens[(b * n + k) % tokens.length];
        if (kind === 'valid grant') body = grant(grants[5 * b + k]);
        else if (kind === 'valid client assertion') body = clientCredentials(clients[2 * b + k]);
        else if (kind === 'bad signature (grant)') body = grant(at(templates.badGrants));
        else if (kind === 'bad signature (client assertion)') body = clientCredentials(at(templates.badClients));
        else body = grant(at(templates.expired));
        list.push({ kind, body, status, error });
      }
    }
  }
  return list;
}

/** Sends `list` to `port`, `concurrency` in flight; resolves to the answers in list order. */
async function send(port, list, concurrency) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const answers = new Array(list.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < list.length) {
        const i = next++;
        answers[i] = await new Promise((resolve) => {
          const req = request(
            { host: '127.0.0.1', port, method: 'POST', path: '/token', agent, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(list[i].body) } },
            (res) => {
              const chunks = [];
              res.on('data', (chunk) => chunks.push(chunk));
              res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
              res.on('error', (err) => resolve({ status: 0, text: String(err) }));
            },
          );
          req.on('error', (err) => resolve({ status: 0, text: String(err) }));
          req.end(list[i].body);
        });
      }
    }),
  );
  agent.destroy();
  return answers;
}

/** The answers that are not what `worker` must answer to `list`, as text. */
function problems(worker, list, answers) {
  const wrong = [];
  list.forEach(({ kind, status, error }, i) => {
    const { status: got, text } = answers[i];
    let body = {};
    try {
      body = JSON.parse(text);
    } catch {
      // Checked below.
    }
    const ok =
      worker === 'constant'
        ? got === 200 && body.access_token === 'constant'
        : got === status && (status === 200 ? body.token_type === 'Bearer' && typeof body.access_token === 'string' : body.error === error);
    if (!ok) wrong.push(`${worker}, ${kind}: ${got} ${text.slice(0, 200)}`);
  });
  return wrong;
}

/** A bench-only Worker of www/bench/ (`jose-worker`, `verify-loop`) bundled by the pinned
 *  wrangler, as `bundleWorker` does the real one, with `vars`. */
function bundleBenchWorker(name, vars) {
  const configPath = join(repoRoot, `www/bench/${name}/wrangler.toml`);
  const { unstable_readConfig } = requireTool('wrangler');
  const config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
  const dir = mkdtempSync(join(tmpdir(), `rfc7523-${name}-`));
  execFileSync(wrangler, ['deploy', '--dry-run', '--outdir', dir, '--config', configPath], { cwd: repoRoot, env: quietEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  return { config: { ...config, vars }, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts one Worker in its own workerd: { mf, port, pid }. */
async function start(name, worker) {
  const before = new Set(workerdPids());
  const mf = await startMiniflare([{ ...worker, name, unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }] }], { storeInRam: true });
  const port = Number((await mf.unsafeGetDirectURL(name)).port);
  const pids = workerdPids().filter((pid) => !before.has(pid));
  assert.equal(pids.length, 1, `one new workerd for ${name} (found ${pids})`);
  return { mf, port, pid: pids[0] };
}

/** The in-isolate part: each of LOOP_OPS on one valid grant, LOOP_N times a request, ROUNDS
 *  rounds in rotating order; CPU µs per verification (less `none`), medians. */
async function loopRounds(port, pid) {
  const token = assertion();
  const call = async (op) => {
    const response = await fetch(`http://127.0.0.1:${port}/?op=${op}&n=${LOOP_N}`, { method: 'POST', body: token });
    const text = await response.text();
    const answer = response.status === 200 ? JSON.parse(text) : {};
    if (answer.ok !== LOOP_N) throw new Error(`verify loop, ${op}: ${response.status} ${text.slice(0, 200)}`);
    return answer;
  };
  let rsa;
  for (const op of LOOP_OPS) rsa = (await call(op)).rsa;
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const ns = {};
    for (const op of LOOP_OPS.map((_, i) => LOOP_OPS[(i + r) % LOOP_OPS.length])) {
      const before = cpu(pid);
      for (let i = 0; i < LOOP_REQUESTS; i++) await call(op);
      ns[op] = cpuDelta(before, cpu(pid)).total;
    }
    rounds.push(Object.fromEntries(LOOP_OPS.map((op) => [op, (ns[op] - ns.none) / 1000 / (LOOP_REQUESTS * LOOP_N)])));
  }
  const ops = Object.fromEntries(LOOP_OPS.filter((op) => op !== 'none').map((op) => [op, { cpu_us: median(rounds.map((round) => round[op])) }]));
  const loop = {
    n: LOOP_N,
    requests: LOOP_REQUESTS,
    rsa,
    ops,
    ratio: median(rounds.map((round) => round.package / round.jose)),
    wasm_ratio: median(rounds.map((round) => round['package-wasm'] / round.jose)),
  };
  console.log(
    `worker cpu: in the isolate (medians of ${ROUNDS} rounds of ${LOOP_REQUESTS} × ${LOOP_N}), µs per verification: ${Object.entries(ops).map(([op, { cpu_us }]) => `${op} ${cpu_us.toFixed(1)}`).join(', ')}; package (RSA by ${rsa}) / jose ${loop.ratio.toFixed(3)}×, all in wasm ${loop.wasm_ratio.toFixed(3)}×`,
  );
  return loop;
}

/** The figures as `name<TAB>value` lines (nested objects flattened with `/`). */
function tsv(value, prefix = '') {
  if (value === null || typeof value !== 'object') return [`${prefix}\t${value}`];
  return Object.entries(value).flatMap(([name, inner]) => tsv(inner, prefix ? `${prefix}/${name}` : name));
}

async function main() {
  const bundle = bundleWorker();
  const joseBundle = bundleBenchWorker('jose-worker', bundle.config.vars);
  const loopBundle = bundleBenchWorker('verify-loop', bundle.config.vars);
  const started = {};
  try {
    started.package = await start('package', bundledWorker(bundle, 'package'));
    started.jose = await start('jose', bundledWorker(joseBundle, 'jose'));
    started.constant = await start('constant', {
      modules: true,
      script: CONSTANT_WORKER,
      compatibilityDate: bundle.config.compatibility_date,
      compatibilityFlags: bundle.config.compatibility_flags,
    });
    started.loop = await start('loop', {
      modules: true,
      scriptPath: join(loopBundle.dir, 'index.js'),
      modulesRoot: loopBundle.dir,
      modulesRules: [
        { type: 'ESModule', include: ['**/*.js'] },
        { type: 'CompiledWasm', include: ['**/*.wasm'] },
      ],
      compatibilityDate: loopBundle.config.compatibility_date,
      compatibilityFlags: loopBundle.config.compatibility_flags,
      bindings: loopBundle.config.vars,
    });

    // Templates signed by the package's signer (its header and claims), re-signed per jti.
    const grantTemplate = assertion();
    const clientTemplate = assertion({ client: true });
    const many = (template, pem, prefix, claims = {}) => Promise.all(Array.from({ length: 16 }, (_, i) => resign(template, pem, { jti: `${prefix}-${i}`, ...claims })));
    const templates = {
      grant: grantTemplate,
      client: clientTemplate,
      badGrants: await many(grantTemplate, keyB.pkcs8Pem, 'bg'),
      badClients: await many(clientTemplate, keyB.pkcs8Pem, 'bc'),
      expired: await many(assertion({ currentDate: new Date(Date.now() - 3600_000) }), PARTIES.issuer.key.privatePem, 'e'),
    };
    // Every list signed before the first measurement (node:crypto in this process, not workerd).
    const warmupList = await requestList('warmup', WARMUP, templates);
    const lists = [];
    for (const [mode, , plan] of MODES) {
      for (let r = 0; r < ROUNDS; r++) lists.push(await requestList(`${mode}-r${r}`, REQUESTS, templates, plan));
    }

    const wrong = [];
    for (const worker of WORKERS) {
      const answers = await send(started[worker].port, warmupList, CONCURRENCY);
      wrong.push(...problems(worker, warmupList, answers));
    }

    const figures = { requests: REQUESTS, rounds: ROUNDS, warmup: WARMUP, target: TARGET, jose: requireTool('jose/package.json').version, modes: {} };
    for (const [mode, concurrency, plan] of MODES) {
      figures.modes[mode] = { concurrency, valid_share: plan === MIX ? 0.7 : 0, rounds: [] };
    }
    for (const [m, [mode, concurrency]] of MODES.entries()) {
      const rounds = figures.modes[mode].rounds;
      for (let r = 0; r < ROUNDS; r++) {
        const list = lists[m * ROUNDS + r];
        const order = WORKERS.map((_, i) => WORKERS[(i + r) % WORKERS.length]);
        const round = {};
        for (const worker of order) {
          const { port, pid } = started[worker];
          const t0 = performance.now();
          const before = cpu(pid);
          const answers = await send(port, list, concurrency);
          const after = cpu(pid);
          const ms = performance.now() - t0;
          wrong.push(...problems(worker, list, answers));
          const { total, busiest } = cpuDelta(before, after);
          round[worker] = { cpu_us: total / 1000 / list.length, busiest_thread_us: busiest / 1000 / list.length, wall_ms: ms / list.length };
        }
        rounds.push(round);
        console.log(
          `worker cpu: ${mode}, round ${r + 1}/${ROUNDS}: ${WORKERS.map((w) => `${w} ${round[w].cpu_us.toFixed(0)} µs/request (busiest thread ${round[w].busiest_thread_us.toFixed(0)})`).join(', ')}`,
        );
      }
    }
    if (wrong.length > 0) {
      console.error(`worker cpu: ${wrong.length} answers other than expected:\n${wrong.slice(0, 20).join('\n')}`);
      process.exitCode = 1;
      return;
    }

    // Medians over the rounds; each ratio is the median of the rounds' ratios (the Workers of
    // one round measured close together).
    const summary = {};
    for (const [mode] of MODES) {
      const rounds = figures.modes[mode].rounds;
      const out = {};
      for (const worker of WORKERS) {
        out[worker] = {
          cpu_us: median(rounds.map((round) => round[worker].cpu_us)),
          busiest_thread_us: median(rounds.map((round) => round[worker].busiest_thread_us)),
          wall_ms: median(rounds.map((round) => round[worker].wall_ms)),
          cpu_us_min: Math.min(...rounds.map((round) => round[worker].cpu_us)),
          cpu_us_max: Math.max(...rounds.map((round) => round[worker].cpu_us)),
        };
      }
      for (const worker of ['package', 'jose']) {
        out[worker].net_cpu_us = median(rounds.map((round) => round[worker].cpu_us - round.constant.cpu_us));
        out[worker].net_busiest_thread_us = median(rounds.map((round) => round[worker].busiest_thread_us - round.constant.busiest_thread_us));
      }
      out.ratio = median(rounds.map((round) => round.package.cpu_us / round.jose.cpu_us));
      out.net_ratio = median(rounds.map((round) => (round.package.cpu_us - round.constant.cpu_us) / (round.jose.cpu_us - round.constant.cpu_us)));
      out.busiest_thread_ratio = median(rounds.map((round) => round.package.busiest_thread_us / round.jose.busiest_thread_us));
      summary[mode] = { concurrency: figures.modes[mode].concurrency, valid_share: figures.modes[mode].valid_share, ...out };
      console.log(
        `worker cpu: ${mode} (medians of ${ROUNDS} rounds of ${REQUESTS}): package ${out.package.cpu_us.toFixed(0)} µs/request (net ${out.package.net_cpu_us.toFixed(0)}), jose ${out.jose.cpu_us.toFixed(0)} (net ${out.jose.net_cpu_us.toFixed(0)}), constant ${out.constant.cpu_us.toFixed(0)}; package/jose ${out.ratio.toFixed(3)}× raw, ${out.net_ratio.toFixed(3)}× net (target ≤ ${TARGET}×)`,
      );
    }
    const loop = await loopRounds(started.loop.port, started.loop.pid);
    const written = { requests: REQUESTS, rounds: ROUNDS, warmup: WARMUP, target: TARGET, jose: figures.jose, modes: summary, loop };
    if (process.env.RFC7523_WORKER_CPU_OUT) writeFileSync(process.env.RFC7523_WORKER_CPU_OUT, `${tsv(written).join('\n')}\n`);
  } finally {
    for (const worker of [...WORKERS, 'loop']) await started[worker]?.mf.dispose();
    bundle.remove();
    joseBundle.remove();
    loopBundle.remove();
  }
}

await main();
