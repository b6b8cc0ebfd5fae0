// The package as npm users get it: entry points through the `exports` map, AssertionError
// exported by each, the packed file list, and the TypeScript types (`tsc --noEmit` over a
// sample that uses every export).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { AS, CLIENT, NOW, at, importFromProject, jsDir, keyA, linkedProject, m, pkgDir, rs256, s, thrown } from '../support/fixtures.mjs';

/** What the main entry (verification) and the `rfc7523/rs256` entry, and the `rfc7523/sign`
 *  entry export. */
const EXPORTS = ['AssertionError', 'AssertionVerifier', 'errorClass'];
const SIGN_EXPORTS = ['AssertionError', 'signAssertion'];
/** Every subpath of the exports map, per module: the conditional entry, then one per build. */
const SUBPATHS = ['.', './web', './workers', './nodejs', './bundler', './rfc7523_bg.wasm'];
const SIGN_SUBPATHS = ['./sign', './sign/web', './sign/workers', './sign/nodejs', './sign/bundler', './rfc7523_sign_bg.wasm'];
const RS256_SUBPATHS = ['./rs256', './rs256/web', './rs256/workers', './rs256/nodejs', './rs256/bundler', './rfc7523_rs256_bg.wasm'];

/** Signs a client assertion with `sign` and verifies it twice (the second time: replayed) with `main`. */
function roundTrip(main, sign) {
  const token = sign.signAssertion({ privateKey: keyA.pkcs8Pem, issuer: CLIENT, subject: CLIENT, audience: AS, clientAuth: true, currentDate: new Date(NOW * 1000) });
  const verifier = new main.AssertionVerifier({ keys: keyA.spkiPem, clientId: CLIENT, audience: AS });
  assert.equal(verifier.verify(token, at(NOW)).claims.sub, CLIENT);
  const err = thrown(() => verifier.verify(token, at(NOW)));
  assert.ok(err instanceof main.AssertionError);
  // One class, whichever entry it is imported from.
  assert.ok(err instanceof sign.AssertionError);
  assert.equal(sign.AssertionError, main.AssertionError);
  assert.equal(err.reason, 'replayed');
}

/** Exactly these exports (wasm-bindgen adds `initSync` and `default` = init to web builds). */
function assertExports(mod, names) {
  assert.deepEqual(Object.keys(mod).filter((name) => name !== 'default' && name !== '__esModule').sort(), [...names].sort());
}

describe('entry points', () => {
  test("require('rfc7523') and require('rfc7523/sign') (the node condition, CommonJS)", () => {
    assertExports(m, EXPORTS);
    assertExports(s, SIGN_EXPORTS);
    assertExports(rs256, EXPORTS);
    for (const name of EXPORTS) assert.equal(typeof m[name], 'function', name);
    assert.equal(typeof s.signAssertion, 'function');
    roundTrip(m, s);
    roundTrip(rs256, s);
    assert.equal(rs256.AssertionError, m.AssertionError);
  });

  test("import from 'rfc7523' and 'rfc7523/sign' (ES modules importing the CommonJS builds)", async () => {
    const esm = await importFromProject('rfc7523');
    const esmSign = await importFromProject('rfc7523/sign');
    const esmRs256 = await importFromProject('rfc7523/rs256');
    assertExports(esm, EXPORTS);
    assertExports(esmSign, SIGN_EXPORTS);
    assertExports(esmRs256, EXPORTS);
    // One module instance: the same class as require() sees.
    assert.equal(esm.AssertionError, m.AssertionError);
    assert.equal(esmSign.AssertionError, m.AssertionError);
    assert.equal(esmRs256.AssertionError, m.AssertionError);
    roundTrip(esm, esmSign);
    roundTrip(esmRs256, esmSign);
  });

  test("'rfc7523/web' and 'rfc7523/sign/web' after initSync", async () => {
    const web = await importFromProject('rfc7523/web');
    const webSign = await importFromProject('rfc7523/sign/web');
    const webRs256 = await importFromProject('rfc7523/rs256/web');
    assertExports(web, [...EXPORTS, 'initSync']);
    assertExports(webSign, [...SIGN_EXPORTS, 'initSync']);
    assertExports(webRs256, [...EXPORTS, 'initSync']);
    web.initSync({ module: readFileSync(join(pkgDir, 'web/rfc7523_bg.wasm')) });
    webSign.initSync({ module: readFileSync(join(pkgDir, 'sign/web/rfc7523_sign_bg.wasm')) });
    webRs256.initSync({ module: readFileSync(join(pkgDir, 'rs256/web/rfc7523_rs256_bg.wasm')) });
    roundTrip(web, webSign);
    roundTrip(webRs256, webSign);
    assert.equal(web.errorClass(), web.AssertionError);
    assert.equal(web.errorClass(), webSign.AssertionError);
    // The rs256 module throws the main module's class (its glue imports that snippet).
    assert.equal(webRs256.errorClass(), web.AssertionError);
    assert.equal(webRs256.AssertionError, web.AssertionError);
  });

  test('the main .wasm has no signing code among its exports; the sign .wasm no verifier', () => {
    const exportsOf = (file) => WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(join(pkgDir, file)))).map((e) => e.name);
    const main = exportsOf('web/rfc7523_bg.wasm');
    const sign = exportsOf('sign/web/rfc7523_sign_bg.wasm');
    const rs256Exports = exportsOf('rs256/web/rfc7523_rs256_bg.wasm');
    assert.deepEqual(rs256Exports.filter((name) => /sign/i.test(name)), []);
    assert.ok(rs256Exports.includes('assertionverifier_new'), String(rs256Exports));
    // wasm-bindgen names exports after the Rust items: signassertion, assertionverifier_new, …
    assert.ok(main.includes('assertionverifier_new'), String(main));
    assert.ok(main.includes('errorClass'), String(main));
    assert.ok(sign.includes('signAssertion'), String(sign));
    assert.deepEqual(main.filter((name) => /sign/i.test(name)), []);
    assert.deepEqual(sign.filter((name) => /verif|errorclass/i.test(name)), []);
    // The main glue does not mention signing at all, nor does its type declaration.
    for (const file of ['web/rfc7523.js', 'nodejs/rfc7523.js', 'bundler/rfc7523_bg.js', 'web/rfc7523.d.ts', 'workers/index.js', 'workers/rfc7523.js', 'rs256/web/rfc7523_rs256.js', 'rs256/workers/rfc7523_rs256.js']) {
      assert.doesNotMatch(readFileSync(join(pkgDir, file), 'utf8'), /signAssertion|SignOptions/, file);
    }
  });

  test('the exports map: the three modules with every condition, files that exist, one .wasm per module', () => {
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    assert.equal(manifest.name, 'rfc7523');
    assert.deepEqual(Object.keys(manifest.exports).sort(), [...SUBPATHS, ...RS256_SUBPATHS, ...SIGN_SUBPATHS, './package.json'].sort());
    const targets = [];
    const walk = (value) => (typeof value === 'string' ? targets.push(value) : Object.values(value).forEach(walk));
    walk(manifest.exports);
    for (const target of targets) readFileSync(join(pkgDir, target));
    for (const [subpath, dir, out] of [
      ['.', '.', 'rfc7523'],
      ['./rs256', './rs256', 'rfc7523_rs256'],
      ['./sign', './sign', 'rfc7523_sign'],
    ]) {
      assert.deepEqual(manifest.exports[subpath], {
        workerd: { types: `${dir}/workers/index.d.ts`, default: `${dir}/workers/index.js` },
        node: { types: `${dir}/nodejs/${out}.d.ts`, default: `${dir}/nodejs/${out}.js` },
        default: { types: `${dir}/bundler/${out}.d.ts`, default: `${dir}/bundler/${out}.js` },
      });
      const [web, nodejs, bundler] = ['web', 'nodejs', 'bundler'].map((target) => readFileSync(join(pkgDir, dir, target, `${out}_bg.wasm`)));
      assert.ok(nodejs.equals(bundler), `one ${out}_bg.wasm for nodejs and bundler`);
      // The main module's nodejs, bundler and workers builds add node:crypto's RSA (feature
      // platform-rsa); web (browsers) does not. The rs256 and sign modules are one build each,
      // their Workers entries use the web .wasm.
      assert.equal(web.equals(nodejs), out !== 'rfc7523', `${out}_bg.wasm of web vs nodejs`);
      const workers = join(pkgDir, dir, 'workers', `${out}_bg.wasm`);
      assert.equal(existsSync(workers), out === 'rfc7523', `${out}: a workers build of its own`);
      // The rs256 module's snippets re-export the main module's files (one AssertionError).
      if (out === 'rfc7523_rs256') {
        for (const target of ['web', 'nodejs', 'bundler', 'workers']) {
          const [crate] = readdirSync(join(pkgDir, dir, target, 'snippets'));
          for (const file of readdirSync(join(pkgDir, dir, target, 'snippets', crate))) {
            const text = readFileSync(join(pkgDir, dir, target, 'snippets', crate, file), 'utf8');
            assert.match(text, new RegExp(`(export \\* from |require\\()'\\.\\./\\.\\./\\.\\./\\.\\./${target}/snippets/`), `${target}/${file}`);
          }
        }
      }
      if (out === 'rfc7523') assert.ok(readFileSync(workers).equals(nodejs), 'workers .wasm = nodejs .wasm');
      const imports = (bytes) => WebAssembly.Module.imports(new WebAssembly.Module(bytes)).map((i) => i.name);
      for (const platform of ['platformRsa', 'platformSignatures']) {
        assert.equal(imports(nodejs).some((name) => name.includes(platform)), out === 'rfc7523', `${out}: ${platform} import`);
        assert.ok(!imports(web).some((name) => name.includes(platform)), `${out}: no ${platform} import on the web`);
      }
    }
    assert.deepEqual(manifest.sideEffects, ['./workers/index.js', './rs256/workers/index.js', './sign/workers/index.js']);
  });

  test('npm pack ships exactly the three modules, the main one in five builds', () => {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkgDir, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } }),
    );
    assert.equal(packed.name, 'rfc7523');
    const files = packed.files.map((f) => f.path).sort();
    // The snippets, in the main module's folders only (the sign module re-exports the error
    // class): AssertionError and the remote-key driver everywhere, node:crypto's RSA and its
    // verify in the nodejs, bundler and workers builds; the rs256 module's re-export the
    // error class (it has no remote keys).
    const snippets = files.filter((f) => f.includes('/snippets/'));
    assert.deepEqual(snippets.map((f) => f.replace(/\/snippets\/.*/, '')), ['bundler', 'bundler', 'bundler', 'bundler', 'nodejs', 'nodejs', 'nodejs', 'nodejs', 'rs256/bundler', 'rs256/nodejs', 'rs256/web', 'rs256/workers', 'web', 'web', 'workers', 'workers', 'workers', 'workers']);
    const expected = ['package.json', 'README.md', ...snippets];
    for (const [dir, out] of [
      ['', 'rfc7523'],
      ['rs256/', 'rfc7523_rs256'],
      ['sign/', 'rfc7523_sign'],
    ]) {
      for (const target of ['web', 'nodejs', 'bundler']) {
        expected.push(`${dir}${target}/package.json`, `${dir}${target}/${out}.js`, `${dir}${target}/${out}.d.ts`, `${dir}${target}/${out}_bg.wasm`, `${dir}${target}/${out}_bg.wasm.d.ts`);
      }
      expected.push(`${dir}bundler/${out}_bg.js`, `${dir}workers/index.js`, `${dir}workers/index.d.ts`, `${dir}workers/package.json`);
      if (dir === '') expected.push(`workers/${out}.js`, `workers/${out}.d.ts`, `workers/${out}_bg.wasm`, `workers/${out}_bg.wasm.d.ts`);
      // The rs256 Workers entry: glue of its own over the web .wasm.
      if (dir === 'rs256/') expected.push(`${dir}workers/${out}.js`, `${dir}workers/${out}.d.ts`);
    }
    assert.deepEqual(files, expected.sort());
  });
});

describe('size budget', () => {
  // Issue 6: the verify-only module for the web is at most 64 KiB gzip -9; issue 13: with every
  // algorithm at most 128 KiB, and the RS256-only module (`rfc7523/rs256`) keeps the 64 KiB.
  // A size, not a timing: the same toolchain (pinned in Cargo.lock and package-lock.json) gives
  // the same bytes.
  const BUDGETS = [
    ['main (every algorithm)', 'web/rfc7523_bg.wasm', 128 * 1024],
    ['rs256 (RS256 only)', 'rs256/web/rfc7523_rs256_bg.wasm', 64 * 1024],
  ];
  test('the main web .wasm is at most 128 KiB gzip -9, the rs256 one at most 64 KiB; the sign module is separate', (t) => {
    const sizes = [];
    for (const [name, file, budget] of BUDGETS) {
      const wasm = readFileSync(join(pkgDir, file));
      const gzipped = gzipSync(wasm, { level: 9 }).length;
      sizes.push(`${name}: ${gzipped} B gzip -9 (budget ${budget} B)`);
      assert.ok(gzipped <= budget, `${name} web module: ${gzipped} B gzip -9, over ${budget} B`);
    }
    t.diagnostic(sizes.join('; '));
    const main = readFileSync(join(pkgDir, 'web/rfc7523_bg.wasm'));
    const sign = readFileSync(join(pkgDir, 'sign/web/rfc7523_sign_bg.wasm'));
    assert.notDeepEqual(sign, main);
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

  test('tsc --noEmit: every export of both entries, Node resolution (the node condition)', () => {
    typecheck({ module: 'nodenext', moduleResolution: 'nodenext' }, ['sample.ts', 'sample-sign.ts']);
  });

  test('tsc --noEmit: both entries, Workers resolution (the workerd condition), rfc7523/web and rfc7523/sign/web', () => {
    typecheck({ module: 'esnext', moduleResolution: 'bundler', customConditions: ['workerd'] }, ['sample.ts', 'sample-sign.ts', 'sample-web.ts']);
  });

  test('tsc --noEmit: the bundler build (the default condition)', () => {
    typecheck({ module: 'esnext', moduleResolution: 'bundler' }, ['sample.ts', 'sample-sign.ts']);
  });
});
