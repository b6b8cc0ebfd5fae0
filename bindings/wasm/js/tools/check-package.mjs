// Load test and size report of the built package (run by `cargo xtask wasm`):
//   node bindings/wasm/js/tools/check-package.mjs bindings/wasm/pkg
//
// Every target is loaded the way its users load it, with the optimised .wasm, and signs and
// verifies one assertion (wasm-opt rewrites have broken modules before, see TOOLCHAIN.md):
// nodejs through require(), web through initSync(), bundler through Node's ES module
// integration for .wasm (a child `node --experimental-wasm-modules`), workers in the node
// test suite (workerd). Then prints the sizes, raw and gzip -9, as a Markdown table.
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

/** Signs and verifies one client assertion with the module `m`; throws on any mismatch. */
function roundTrip(m, target) {
  const token = m.signAssertion({
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
    if (!(err instanceof m.AssertionError) || err.reason !== 'replayed') throw err;
  }
  console.log(`check-package: ${target}: loads, signs, verifies, refuses a replay`);
}

// nodejs: CommonJS, as `require('rfc7523')` loads it.
roundTrip(createRequire(import.meta.url)(join(pkg, 'nodejs/rfc7523.js')), 'nodejs');

// web: ES module + initSync with the bytes (a browser would fetch them).
const web = await import(pathToFileURL(join(pkg, 'web/rfc7523.js')).href);
web.initSync({ module: readFileSync(join(pkg, 'web/rfc7523_bg.wasm')) });
roundTrip(web, 'web');

// bundler: the glue imports the .wasm as an ES module (what webpack/vite do); Node 20 can too.
const child = `
  const m = await import(${JSON.stringify(pathToFileURL(join(pkg, 'bundler/rfc7523.js')).href)});
  const token = m.signAssertion({ privateKey: process.env.KEY, issuer: 'c', subject: 'c',
    audience: 'https://as.example', clientAuth: true });
  const v = new m.AssertionVerifier({ keys: process.env.PUB, clientId: 'c', audience: 'https://as.example' });
  if (v.verify(token).claims.sub !== 'c') process.exit(1);
  try { v.verify(token); process.exit(1); } catch (e) { if (!(e instanceof m.AssertionError)) throw e; }
`;
execFileSync(
  process.execPath,
  ['--experimental-wasm-modules', '--no-warnings', '--input-type=module', '-e', child],
  { env: { ...process.env, KEY: privatePem, PUB: publicPem }, stdio: 'inherit' },
);
console.log('check-package: bundler: loads (ES module integration), signs, verifies, refuses a replay');

const rows = [];
for (const [target, wasmDir, glueFiles] of [
  ['web', 'web', ['web/rfc7523.js']],
  ['workers', 'web', ['workers/index.js', 'web/rfc7523.js']],
  ['nodejs', 'nodejs', ['nodejs/rfc7523.js']],
  ['bundler', 'bundler', ['bundler/rfc7523.js', 'bundler/rfc7523_bg.js']],
]) {
  const wasm = readFileSync(join(pkg, wasmDir, 'rfc7523_bg.wasm'));
  const glue = Buffer.concat(glueFiles.map((file) => readFileSync(join(pkg, file))));
  rows.push([target, wasm.length, gzipSync(wasm, { level: 9 }).length, glue.length, gzipSync(glue, { level: 9 }).length]);
}
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
console.log('\n| target | .wasm raw | .wasm gzip -9 | JS glue raw | JS glue gzip -9 |');
console.log('|---|---:|---:|---:|---:|');
for (const [t, w, wz, j, jz] of rows) {
  console.log(`| ${t} | ${kb(w)} (${w} B) | ${kb(wz)} (${wz} B) | ${kb(j)} | ${kb(jz)} |`);
}
