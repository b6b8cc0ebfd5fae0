// The package as npm users get it: entry points through the `exports` map, AssertionError
// exported by each, the packed file list, and the TypeScript types (`tsc --noEmit` over a
// sample that uses every export).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { AS, CLIENT, NOW, at, importFromProject, jsDir, keyA, linkedProject, m, pkgDir, thrown } from '../support/fixtures.mjs';

const EXPORTS = ['AssertionError', 'AssertionVerifier', 'errorClass', 'signAssertion'];

/** Signs a client assertion and verifies it twice (the second time: replayed) with module `mod`. */
function roundTrip(mod) {
  const token = mod.signAssertion({ privateKey: keyA.pkcs8Pem, issuer: CLIENT, subject: CLIENT, audience: AS, clientAuth: true, currentDate: new Date(NOW * 1000) });
  const verifier = new mod.AssertionVerifier({ keys: keyA.spkiPem, clientId: CLIENT, audience: AS });
  assert.equal(verifier.verify(token, at(NOW)).claims.sub, CLIENT);
  const err = thrown(() => verifier.verify(token, at(NOW)));
  assert.ok(err instanceof mod.AssertionError);
  assert.equal(err.reason, 'replayed');
}

describe('entry points', () => {
  test("require('rfc7523') (the node condition, CommonJS)", () => {
    for (const name of EXPORTS) assert.equal(typeof m[name], 'function', name);
    roundTrip(m);
  });

  test("import from 'rfc7523' (ES module importing the CommonJS build)", async () => {
    const esm = await importFromProject('rfc7523');
    for (const name of EXPORTS) assert.equal(typeof esm[name], 'function', name);
    // One module instance: the same class as require() sees.
    assert.equal(esm.AssertionError, m.AssertionError);
    roundTrip(esm);
  });

  test("'rfc7523/web' after initSync", async () => {
    const web = await importFromProject('rfc7523/web');
    for (const name of [...EXPORTS, 'initSync']) assert.equal(typeof web[name], 'function', name);
    web.initSync({ module: readFileSync(join(pkgDir, 'web/rfc7523_bg.wasm')) });
    roundTrip(web);
    assert.equal(web.errorClass(), web.AssertionError);
  });

  test('the exports map names files that exist, and one .wasm serves every target', () => {
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    assert.equal(manifest.name, 'rfc7523');
    const targets = [];
    const walk = (value) => (typeof value === 'string' ? targets.push(value) : Object.values(value).forEach(walk));
    walk(manifest.exports);
    for (const target of targets) readFileSync(join(pkgDir, target));
    assert.equal(manifest.exports['.'].workerd.default, './workers/index.js');
    const wasm = ['web', 'nodejs', 'bundler'].map((dir) => readFileSync(join(pkgDir, dir, 'rfc7523_bg.wasm')));
    assert.ok(wasm.every((bytes) => bytes.equals(wasm[0])));
  });

  test('npm pack ships the four builds and nothing else', () => {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkgDir, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } }),
    );
    assert.equal(packed.name, 'rfc7523');
    const files = packed.files.map((f) => f.path).sort();
    for (const required of ['package.json', 'README.md', 'workers/index.js', 'workers/index.d.ts', 'web/rfc7523_bg.wasm', 'nodejs/rfc7523.js', 'nodejs/rfc7523.d.ts', 'bundler/rfc7523_bg.js']) {
      assert.ok(files.includes(required), `${required} in ${files}`);
    }
    assert.ok(files.every((f) => /^(package\.json|README\.md|(web|nodejs|bundler|workers)\/.+)$/.test(f)), String(files));
    assert.ok(!files.some((f) => f.endsWith('.gitignore')));
  });
});

describe('TypeScript', () => {
  const tsc = join(jsDir, 'node_modules/typescript/bin/tsc');

  /** Runs `tsc --noEmit` in a linked project with `compilerOptions`; returns its output. */
  function typecheck(compilerOptions, files) {
    const dir = linkedProject();
    for (const file of files) copyFileSync(join(jsDir, 'types', file), join(dir, file));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', lib: ['es2022', 'dom'], types: [], ...compilerOptions },
        files,
      }),
    );
    try {
      return execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    } catch (err) {
      assert.fail(`tsc failed:\n${err.stdout}${err.stderr}`);
    }
  }

  test('tsc --noEmit: every export, Node resolution (the node condition)', () => {
    typecheck({ module: 'nodenext', moduleResolution: 'nodenext' }, ['sample.ts']);
  });

  test('tsc --noEmit: every export, Workers resolution (the workerd condition) and rfc7523/web', () => {
    typecheck({ module: 'esnext', moduleResolution: 'bundler', customConditions: ['workerd'] }, ['sample.ts', 'sample-web.ts']);
  });
});
