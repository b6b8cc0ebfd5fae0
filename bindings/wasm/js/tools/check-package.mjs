// Load test and size report of the built package (run by `cargo xtask wasm`):
//   node bindings/wasm/js/tools/check-package.mjs bindings/wasm/pkg
//
// Three modules: the main one (verification, every algorithm), the `rfc7523/rs256` one (the
// same verifier, RS256 only) and the `rfc7523/sign` one (signAssertion). Every target of each
// is loaded the way its users load it, with the optimised .wasm (wasm-opt
// rewrites have broken modules before, see TOOLCHAIN.md): nodejs through require(), web
// through initSync(), bundler through Node's ES module integration for .wasm (a child
// `node --experimental-wasm-modules`), workers in the node test suite (workerd). Per target,
// the sign module signs one assertion and the main module verifies it, refuses its replay
// with an AssertionError, and exports no signing function (the rs256 module likewise); every
// entry hands out the same AssertionError class. Then prints the sizes, raw and gzip -9, as a Markdown table, and one
// cold load (compile + instantiate) of each nodejs module.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const pkg = resolve(process.argv[2] ?? 'bindings/wasm/pkg');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' });
const publicPem = publicKey.export({ type: 'spki', format: 'pem' });

/** Exports the main module must have, and signing exports it must not have. */
const MAIN_EXPORTS = ['AssertionVerifier', 'AssertionError', 'errorClass'];
const SIGN_EXPORTS = ['signAssertion', 'AssertionError'];

/** The main module (`m`) verifies what the sign module (`s`) signed; throws on any mismatch. */
function roundTrip(m, s, target) {
  for (const name of MAIN_EXPORTS) if (typeof m[name] !== 'function') throw new Error(`${target}: main module lacks ${name}`);
  for (const name of SIGN_EXPORTS) if (typeof s[name] !== 'function') throw new Error(`${target}: sign module lacks ${name}`);
  if ('signAssertion' in m) throw new Error(`${target}: the main module exports signAssertion`);
  if ('AssertionVerifier' in s) throw new Error(`${target}: the sign module exports AssertionVerifier`);
  if (s.AssertionError !== m.AssertionError) throw new Error(`${target}: two AssertionError classes`);
  const token = s.signAssertion({
    privateKey: privatePem,
    issuer: 'client-1',
    subject: 'client-1',
    audience: 'https://as.example',
    clientAuth: true,
  });
  const verifier = new m.AssertionVerifier({
    keys: publicPem,
    clientId: 'client-1',
    audience: 'https://as.example',
  });
  const { claims } = verifier.verify(token);
  if (claims.sub !== 'client-1') throw new Error(`${target}: unexpected claims ${JSON.stringify(claims)}`);
  try {
    verifier.verify(token);
    throw new Error(`${target}: a replayed assertion was accepted`);
  } catch (err) {
    if (!(err instanceof s.AssertionError) || err.reason !== 'replayed') throw err;
  }
  console.log(`check-package: ${target}: both modules load; sign signs, main verifies and refuses a replay`);
}

// nodejs: CommonJS, as `require('rfc7523')` and `require('rfc7523/sign')` load them.
const require = createRequire(import.meta.url);
const nodeMain = require(join(pkg, 'nodejs/rfc7523.js'));
const nodeSign = require(join(pkg, 'sign/nodejs/rfc7523_sign.js'));
roundTrip(nodeMain, nodeSign, 'nodejs');
roundTrip(require(join(pkg, 'rs256/nodejs/rfc7523_rs256.js')), nodeSign, 'nodejs (rs256)');

// web: ES modules + initSync with the bytes (a browser would fetch them).
const web = await import(pathToFileURL(join(pkg, 'web/rfc7523.js')).href);
web.initSync({ module: readFileSync(join(pkg, 'web/rfc7523_bg.wasm')) });
const webSign = await import(pathToFileURL(join(pkg, 'sign/web/rfc7523_sign.js')).href);
webSign.initSync({ module: readFileSync(join(pkg, 'sign/web/rfc7523_sign_bg.wasm')) });
roundTrip(web, webSign, 'web');
const webRs256 = await import(pathToFileURL(join(pkg, 'rs256/web/rfc7523_rs256.js')).href);
webRs256.initSync({ module: readFileSync(join(pkg, 'rs256/web/rfc7523_rs256_bg.wasm')) });
roundTrip(webRs256, webSign, 'web (rs256)');

// bundler: the glue imports the .wasm as an ES module (what webpack/vite do); Node 20 can too.
const child = `
  const m = await import(${JSON.stringify(pathToFileURL(join(pkg, 'bundler/rfc7523.js')).href)});
  const s = await import(${JSON.stringify(pathToFileURL(join(pkg, 'sign/bundler/rfc7523_sign.js')).href)});
  const r = await import(${JSON.stringify(pathToFileURL(join(pkg, 'rs256/bundler/rfc7523_rs256.js')).href)});
  if ('signAssertion' in m || 'signAssertion' in r || s.AssertionError !== m.AssertionError || r.AssertionError !== m.AssertionError) process.exit(1);
  for (const main of [m, r]) {
    const token = s.signAssertion({ privateKey: process.env.KEY, issuer: 'c', subject: 'c',
      audience: 'https://as.example', clientAuth: true });
    const v = new main.AssertionVerifier({ keys: process.env.PUB, clientId: 'c', audience: 'https://as.example' });
    if (v.verify(token).claims.sub !== 'c') process.exit(1);
    try { v.verify(token); process.exit(1); } catch (e) { if (!(e instanceof s.AssertionError)) throw e; }
  }
`;
execFileSync(
  process.execPath,
  ['--experimental-wasm-modules', '--no-warnings', '--input-type=module', '-e', child],
  { env: { ...process.env, KEY: privatePem, PUB: publicPem }, stdio: 'inherit' },
);
console.log('check-package: bundler: both modules load (ES module integration); sign signs, main verifies and refuses a replay');

const rows = [];
for (const [module, dir, out] of [
  ['main', '', 'rfc7523'],
  ['rs256', 'rs256/', 'rfc7523_rs256'],
  ['sign', 'sign/', 'rfc7523_sign'],
]) {
  // The main module's Workers entry has a build of its own (with node:crypto's RSA); the
  // rs256 module's has glue of its own over its web .wasm; the sign module's uses its web
  // build.
  const workersWasm = module === 'main' ? 'workers' : 'web';
  const workersGlue = module === 'sign' ? 'web' : 'workers';
  for (const [target, wasmDir, glueFiles] of [
    ['web', 'web', [`web/${out}.js`]],
    ['workers', workersWasm, ['workers/index.js', `${workersGlue}/${out}.js`]],
    ['nodejs', 'nodejs', [`nodejs/${out}.js`]],
    ['bundler', 'bundler', [`bundler/${out}.js`, `bundler/${out}_bg.js`]],
  ]) {
    const wasm = readFileSync(join(pkg, dir, wasmDir, `${out}_bg.wasm`));
    const glue = Buffer.concat(glueFiles.map((file) => readFileSync(join(pkg, dir, file))));
    rows.push([module, target, wasm.length, gzipSync(wasm, { level: 9 }).length, glue.length, gzipSync(glue, { level: 9 }).length]);
  }
}
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
console.log('\n| module | target | .wasm raw | .wasm gzip -9 | JS glue raw | JS glue gzip -9 |');
console.log('|---|---|---:|---:|---:|---:|');
for (const [mod, t, w, wz, j, jz] of rows) {
  console.log(`| ${mod} | ${t} | ${kb(w)} (${w} B) | ${kb(wz)} (${wz} B) | ${kb(j)} | ${kb(jz)} |`);
}

// Cold load in a fresh process: read, compile and instantiate the .wasm and run the glue
// (require of the nodejs build), median of five. Printed, never asserted.
for (const [module, file] of [
  ['main', 'nodejs/rfc7523.js'],
  ['rs256', 'rs256/nodejs/rfc7523_rs256.js'],
  ['sign', 'sign/nodejs/rfc7523_sign.js'],
]) {
  const script = `const t = performance.now(); require(${JSON.stringify(join(pkg, file))}); console.log(performance.now() - t);`;
  const times = Array.from({ length: 5 }, () => Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim()));
  times.sort((a, b) => a - b);
  console.log(`check-package: ${module} module, nodejs: cold load ${times[2].toFixed(2)} ms (median of 5; min ${times[0].toFixed(2)}, max ${times[4].toFixed(2)})`);
}
