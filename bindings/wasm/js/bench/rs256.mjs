// RS256 in Node: the npm package `rfc7523` (its `nodejs` build from bindings/wasm/pkg, built
// by `cargo xtask wasm`) against jose's jwtVerify and raw WebCrypto, on the same token and key.
//
//   node bench/rs256.mjs [SECONDS_PER_MEASUREMENT]   the benchmark (run by `cargo xtask bench`)
//   node bench/rs256.mjs --instantiate               one cold load of the package, internal:
//                                                    the whole require (ms), then the part of
//                                                    it that compiles and instantiates the .wasm
//
// Keys: the Wycheproof rsa_pkcs1_{2048,4096}_sig_gen SHA-256 groups with e = 65537 (the same
// keys as benches/ on the Rust side). The token is one client assertion signed by the package's
// signAssertion (`rfc7523/sign`) at start-up (one hour of lifetime); everyone checks that token:
//   rfc7523_verify      AssertionVerifier.verify (sync): parse, RS256, claims, iss/sub/aud,
//                       time, and a replay hook that accepts every key (the token's jti comes
//                       back on every call); the default `rsa: "platform"`, so in Node the
//                       modular exponentiation is node:crypto's (the script checks that)
//   rfc7523_verify_wasm the same with `rsa: "wasm"`: everything in the package's wasm, as in
//                       browsers and Workers
//   jose_await          await jose.jwtVerify(token, cryptoKey, {issuer, subject, audience,
//                       algorithms, requiredClaims}) one at a time
//   jose_64             the same, 64 promises in flight (Promise.all batches)
//   webcrypto_await     await crypto.subtle.verify('RSASSA-PKCS1-v1_5', ...) one at a time
//                       (the signature only: no JWT work)
//   crypto_verify       node:crypto's crypto.verify('sha256', ...) with a KeyObject, sync (the
//                       signature only): the ceiling of a path that hands RSA to node:crypto
//   node_rsavp1         node:crypto's publicDecrypt without padding, KeyObject: the RSA
//                       operation alone, as the package calls it (RSAVP1, no hash, no check)
// Each measurement runs SECONDS (default 2) after a short warm-up, three times; the median
// ops/s is printed, and (`<name>_cpu_us`) the median CPU time per op of the whole process, every
// thread (with 64 in flight, jose's RSA runs on a libuv thread beside the main thread). Output: one `name<TAB>value` line per result, for the xtask to read.
// Timings are printed, never asserted.
//
// Then, RSA-2048 only:
//   replay/fill_{0,50,95}   verify (node:crypto RSA) with the default replay store (65,536
//                           entries) empty, half full and 95 % full of live entries: distinct
//                           jtis signed by node:crypto, the store filled through verify; then
//                           5 rounds of 500 fresh tokens per store, the stores alternating,
//                           the fill level centred on its name; median ops/s
//   construct/{default_store,external}  new AssertionVerifier({ keys, clientId, audience })
//                           then free(): with the default store (3.5 MiB), and with
//                           replay: "external" (no store); ops/s

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { median, rate as measure } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../../..');
const pkg = join(root, 'bindings/wasm/pkg');
const require = createRequire(import.meta.url);

// The verifier's module (the main entry); signing is a separate module, not loaded here.
if (process.argv[2] === '--instantiate') {
  // The glue calls `new WebAssembly.Module(bytes)` and `new WebAssembly.Instance(...)`
  // synchronously inside the require; time those two calls too.
  let wasmMs = 0;
  const timed = (Original) =>
    function (...args) {
      const start = performance.now();
      const result = new Original(...args);
      wasmMs += performance.now() - start;
      return result;
    };
  const { Module, Instance } = WebAssembly;
  WebAssembly.Module = timed(Module);
  WebAssembly.Instance = timed(Instance);
  const start = performance.now();
  require(join(pkg, 'nodejs/rfc7523.js'));
  const total = performance.now() - start;
  WebAssembly.Module = Module;
  WebAssembly.Instance = Instance;
  if (wasmMs === 0) throw new Error('the glue no longer compiles with new WebAssembly.Module');
  console.log(`${total.toFixed(3)} ${wasmMs.toFixed(3)}`);
  process.exit(0);
}

const seconds = Number(process.argv[2] ?? 2);
const REPS = 3;
const CLIENT_ID = 's6BhdRkqt3';
const AUDIENCE = 'https://as.example';

const out = (name, value) => console.log(`${name}\t${value}`);

const memBefore = process.memoryUsage();
const { AssertionVerifier } = require(join(pkg, 'nodejs/rfc7523.js'));
const { signAssertion } = require(join(pkg, 'sign/nodejs/rfc7523_sign.js'));
const jose = await import('jose');
const { subtle } = globalThis.crypto;

/** `rate` of measure.mjs with this run's SECONDS and REPS. */
function rate(op, options = {}) {
  return measure(op, { seconds, reps: REPS, ...options });
}

function keyGroup(bits) {
  const file = join(root, `tests/vectors/wycheproof/rsa_pkcs1_${bits}_sig_gen_test.json`);
  const json = JSON.parse(readFileSync(file, 'utf8'));
  return json.testGroups.find(
    (g) => g.sha === 'SHA-256' && g.privateKey.publicExponent === '010001',
  );
}

for (const bits of [2048, 4096]) {
  const group = keyGroup(bits);
  const spkiPem = group.keyPem;
  const token = signAssertion({
    privateKey: group.privateKeyPem,
    issuer: CLIENT_ID,
    subject: CLIENT_ID,
    audience: AUDIENCE,
    lifetime: 3600,
    jti: '4m_FvXseA5rCNdbF52es8A',
    clientAuth: true,
  });
  const verifierWith = (rsa) =>
    new AssertionVerifier({
      keys: spkiPem,
      clientId: CLIENT_ID,
      audience: AUDIENCE,
      maxLifetime: 3600,
      requireJti: true,
      replay: { checkAndInsert: () => true },
      rsa,
    });
  const verifier = verifierWith('platform');
  const wasmVerifier = verifierWith('wasm');
  if (verifier.rsaImplementation !== 'node:crypto' || wasmVerifier.rsaImplementation !== 'wasm') {
    throw new Error(`unexpected RSA implementations: ${verifier.rsaImplementation}, ${wasmVerifier.rsaImplementation}`);
  }
  const currentDate = new Date();
  const ours = () => verifier.verify(token, { currentDate });
  const oursWasm = () => wasmVerifier.verify(token, { currentDate });

  const cryptoKey = await jose.importSPKI(spkiPem, 'RS256');
  const joseOptions = {
    issuer: CLIENT_ID,
    subject: CLIENT_ID,
    audience: AUDIENCE,
    algorithms: ['RS256'],
    requiredClaims: ['exp', 'jti'],
    currentDate,
  };
  const viaJose = () => jose.jwtVerify(token, cryptoKey, joseOptions);

  const [headerB64, payloadB64, signatureB64] = token.split('.');
  const data = new TextEncoder().encode(`${headerB64}.${payloadB64}`);
  const signature = Buffer.from(signatureB64, 'base64url');
  const der = Buffer.from(spkiPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const webKey = await subtle.importKey(
    'spki',
    der,
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  const viaWebCrypto = () => subtle.verify('RSASSA-PKCS1-v1_5', webKey, signature, data);
  const keyObject = crypto.createPublicKey(spkiPem);
  const viaCryptoVerify = () => crypto.verify('sha256', data, keyObject, signature);
  const rsavp1Options = { key: keyObject, padding: crypto.constants.RSA_NO_PADDING };
  const viaPublicDecrypt = () => crypto.publicDecrypt(rsavp1Options, signature);

  // Every implementation must accept the token, or the numbers mean nothing.
  if (ours().claims.sub !== CLIENT_ID) throw new Error('rfc7523 refused the token');
  if (oursWasm().claims.sub !== CLIENT_ID) throw new Error('rfc7523 (wasm RSA) refused the token');
  if ((await viaJose()).payload.sub !== CLIENT_ID) throw new Error('jose refused the token');
  if (!(await viaWebCrypto())) throw new Error('WebCrypto refused the token');
  if (!viaCryptoVerify()) throw new Error('crypto.verify refused the token');

  out(`node/${bits}/token_bytes`, token.length);
  // ops/s, and the CPU time per op of every thread (`_cpu_us`): with promises in flight,
  // WebCrypto's RSA runs on a libuv thread beside the main thread's JS.
  const row = async (name, op, options) => {
    const { ops, cpuUs } = await rate(op, options);
    out(`node/${bits}/${name}`, ops.toFixed(1));
    out(`node/${bits}/${name}_cpu_us`, cpuUs.toFixed(2));
  };
  await row('rfc7523_verify', ours);
  await row('rfc7523_verify_wasm', oursWasm);
  await row('jose_await', viaJose);
  await row('jose_64', viaJose, { batch: 64 });
  await row('webcrypto_await', viaWebCrypto);
  await row('crypto_verify', viaCryptoVerify);
  await row('node_rsavp1', viaPublicDecrypt);
}

{
  // The default replay store at three fill levels (RSA-2048, node:crypto RSA). Every token
  // has its own jti; they are signed here by node:crypto (the package's signer would take
  // minutes for 64k tokens), in the shape of signAssertion's client assertions.
  const group = keyGroup(2048);
  const CAPACITY = 65_536;
  const ROUNDS = 5;
  const BATCH = 500;
  const privateKey = crypto.createPrivateKey(group.privateKeyPem);
  const b64 = (text) => Buffer.from(text).toString('base64url');
  const header = b64(JSON.stringify({ alg: 'RS256', typ: 'client-authentication+jwt' }));
  const currentDate = new Date();
  const iat = Math.floor(currentDate.getTime() / 1000);
  const sign = (jti) => {
    const claims = { iss: CLIENT_ID, sub: CLIENT_ID, aud: AUDIENCE, exp: iat + 3600, iat, jti };
    const input = `${header}.${b64(JSON.stringify(claims))}`;
    return `${input}.${crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  };
  const levels = [0, 50, 95];
  const measured = ROUNDS * BATCH;
  // Each store is filled to its level minus half of what the measurement adds.
  const fills = levels.map((level) => Math.max(0, Math.round((CAPACITY * level) / 100 - measured / 2)));
  const fillTokens = Array.from({ length: Math.max(...fills) }, (_, i) => sign(`fill-${i}`));
  const tokens = Array.from({ length: measured }, (_, i) => sign(`measured-${i}`));
  const options = { currentDate };
  const verifiers = fills.map((fill) => {
    const verifier = new AssertionVerifier({
      keys: group.keyPem,
      clientId: CLIENT_ID,
      audience: AUDIENCE,
      maxLifetime: 3600,
    });
    for (let i = 0; i < fill; i++) verifier.verify(fillTokens[i], options);
    return verifier;
  });
  const rates = levels.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    const batch = tokens.slice(round * BATCH, (round + 1) * BATCH);
    verifiers.forEach((verifier, i) => {
      const start = performance.now();
      // Throws (and ends the run) on any refusal, replay_store_full included.
      for (const token of batch) verifier.verify(token, options);
      rates[i].push(BATCH / ((performance.now() - start) / 1000));
    });
  }
  levels.forEach((level, i) => out(`replay/2048/fill_${level}`, median(rates[i]).toFixed(1)));
  for (const verifier of verifiers) verifier.free();

  // The cost of a verifier: keys loaded, node:crypto's KeyObject imported and checked on a
  // known value, and the default store allocated (or not).
  const construct = (extra) => () =>
    new AssertionVerifier({ keys: group.keyPem, clientId: CLIENT_ID, audience: AUDIENCE, ...extra }).free();
  out('construct/default_store', (await rate(construct({}))).ops.toFixed(1));
  out('construct/external', (await rate(construct({ replay: 'external' }))).ops.toFixed(1));
}

const memAfter = process.memoryUsage();
out('memory/rss_before_bytes', memBefore.rss);
out('memory/rss_after_bytes', memAfter.rss);
out('memory/heap_used_before_bytes', memBefore.heapUsed);
out('memory/heap_used_after_bytes', memAfter.heapUsed);
out('memory/max_rss_bytes', process.resourceUsage().maxRSS * 1024);

// Cold load of the package in fresh processes: read, compile and instantiate the .wasm, run
// the glue (require of the `nodejs` entry point).
const loads = [];
const wasmLoads = [];
for (let i = 0; i < 7; i++) {
  const line = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--instantiate'], {
    encoding: 'utf8',
  });
  const [total, wasm] = line.trim().split(' ').map(Number);
  loads.push(total);
  wasmLoads.push(wasm);
}
out('instantiate/median_ms', median(loads).toFixed(2));
out('instantiate/min_ms', Math.min(...loads).toFixed(2));
out('instantiate/max_ms', Math.max(...loads).toFixed(2));
out('instantiate/wasm_median_ms', median(wasmLoads).toFixed(2));
out('instantiate/wasm_min_ms', Math.min(...wasmLoads).toFixed(2));
out('instantiate/wasm_max_ms', Math.max(...wasmLoads).toFixed(2));

// Sizes of the built package, per target: the .wasm and the JS glue, raw and gzip -9.
// workers/ holds a build of its own (the web glue, with node:crypto's RSA) and index.js.
for (const target of ['web', 'workers', 'nodejs', 'bundler']) {
  const dirs = [join(pkg, target)];
  let wasmRaw = 0;
  let wasmGzip = 0;
  let jsRaw = 0;
  let jsGzip = 0;
  const files = (d) =>
    readdirSync(d).flatMap((name) => {
      const path = join(d, name);
      return statSync(path).isDirectory() ? files(path) : [path];
    });
  for (const path of dirs.flatMap(files)) {
    const bytes = readFileSync(path);
    const gzip = gzipSync(bytes, { level: 9 }).length;
    if (path.endsWith('.wasm')) {
      wasmRaw += bytes.length;
      wasmGzip += gzip;
    } else if (path.endsWith('.js')) {
      jsRaw += bytes.length;
      jsGzip += gzip;
    }
  }
  out(`size/${target}/wasm_raw`, wasmRaw);
  out(`size/${target}/wasm_gzip`, wasmGzip);
  out(`size/${target}/js_raw`, jsRaw);
  out(`size/${target}/js_gzip`, jsGzip);
}
out('versions/node', process.versions.node);
out('versions/jose', JSON.parse(readFileSync(join(here, '../node_modules/jose/package.json'), 'utf8')).version);
