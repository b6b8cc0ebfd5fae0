// ES256 and Ed25519 by node:crypto's verify (option `ec`, the main module's nodejs build)
// against the package's own wasm arithmetic (p256, ed25519-dalek): which one a verifier uses,
// that both judge every signature alike (valid ones, every bit flipped, the malleations and
// range edges of RFC 7518 §3.4 and RFC 8032 §5.1.7, every Wycheproof case), and what happens
// when the platform misbehaves at construction (it is not used) or after it (a throw: the wasm
// answer stands).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';

import { AS, CLIENT, NOW, at, clientClaims, m, repoRoot } from '../support/fixtures.mjs';

// The very object the package's snippet gets from process.getBuiltinModule.
const crypto = process.getBuiltinModule('node:crypto');
const realVerify = crypto.verify;
const realCreatePublicKey = crypto.createPublicKey;
afterEach(() => {
  crypto.verify = realVerify;
  crypto.createPublicKey = realCreatePublicKey;
});

/** A P-256 or Ed25519 key pair with its public JWK. */
function keyPair(type, options, kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync(type, options);
  return { privateKey, publicKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid } };
}
const ec = keyPair('ec', { namedCurve: 'P-256' }, 'ec-1');
const ed = keyPair('ed25519', {}, 'ed-1');

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token of `claims` signed with `alg` (ES256: R || S) by `key`. */
export function signWith(alg, key, claims, header = {}) {
  const input = `${b64({ alg, ...header })}.${b64(claims)}`;
  const data = Buffer.from(input);
  const signature =
    alg === 'ES256'
      ? crypto.sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : crypto.sign(null, data, key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

const signatureOf = (token) => Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
const inputOf = (token) => token.slice(0, token.lastIndexOf('.'));
const withSignature = (token, signature) => `${inputOf(token)}.${Buffer.from(signature).toString('base64url')}`;

const verifier = (keys, options = {}) => new m.AssertionVerifier({ keys, clientId: CLIENT, audience: AS, replay: 'external', ...options });

/** ok, or the reason of the refusal. */
function outcome(v, token) {
  try {
    v.verify(token, at(NOW));
    return 'ok';
  } catch (err) {
    assert.equal(err.name, 'AssertionError', String(err));
    return err.reason;
  }
}

async function outcomeAsync(v, token) {
  try {
    await v.verifyAsync(token, at(NOW));
    return 'ok';
  } catch (err) {
    assert.equal(err.name, 'AssertionError', String(err));
    return err.reason;
  }
}

// Big-endian and little-endian integers.
const beInt = (bytes) => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
const beBytes = (n, len = 32) => Buffer.from(n.toString(16).padStart(len * 2, '0'), 'hex');
const leInt = (bytes) => beInt(Buffer.from(bytes).reverse());
const leBytes = (n, len = 32) => beBytes(n, len).reverse();

/** The order n of P-256 (FIPS 186-5) and L of Ed25519 (RFC 8032 §5.1). */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** The DER Ecdsa-Sig-Value of r and s (as OpenSSL writes it). */
function der(r, s) {
  const int = (x) => {
    let bytes = beBytes(x).subarray(beBytes(x).findIndex((b) => b !== 0));
    if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([2, bytes.length]), bytes]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/**
 * An Ed25519 signature whose R is the identity (the encoding 01 00…00): S = k·a mod L, with
 * k = SHA-512(R || A || M) and a the key's secret scalar (RFC 8032 §5.1.5). [S]B − [k]A is then
 * the identity, so it passes the cofactorless equation; ed25519-dalek's verify_strict refuses
 * it (R of small order).
 */
function identityRSignature(key, message) {
  const seed = Buffer.from(key.privateKey.export({ format: 'jwk' }).d, 'base64url');
  const h = crypto.createHash('sha512').update(seed).digest();
  const scalar = Buffer.from(h.subarray(0, 32));
  scalar[0] &= 248;
  scalar[31] &= 127;
  scalar[31] |= 64;
  const a = leInt(scalar);
  const R = Buffer.alloc(32);
  R[0] = 1;
  const A = Buffer.from(key.jwk.x, 'base64url');
  const k = leInt(crypto.createHash('sha512').update(R).update(A).update(message).digest()) % L;
  return Buffer.concat([R, leBytes((k * a) % L)]);
}

/** y values of Ed25519's small-order points, little-endian, sign bit clear (libsodium's list). */
const SMALL_ORDER_Y = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

describe('choosing the implementation of ES256 and Ed25519', () => {
  test('node:crypto by default and with ec: "platform", the wasm arithmetic with ec: "wasm"', () => {
    const keys = { keys: [ec.jwk, ed.jwk] };
    const platform = { RS256: 'node:crypto', PS256: 'node:crypto', ES256: 'node:crypto', EdDSA: 'node:crypto', Ed25519: 'node:crypto' };
    assert.deepEqual(verifier(keys).implementations, { ...platform, RS256: 'node:crypto', PS256: 'node:crypto' });
    assert.deepEqual(verifier(keys, { ec: 'platform' }).implementations, platform);
    assert.deepEqual(verifier(keys, { ec: 'wasm' }).implementations, { ...platform, ES256: 'wasm', EdDSA: 'wasm', Ed25519: 'wasm' });
    assert.deepEqual(verifier(keys, { rsa: 'wasm', ec: 'wasm' }).implementations, {
      RS256: 'wasm', PS256: 'wasm', ES256: 'wasm', EdDSA: 'wasm', Ed25519: 'wasm',
    });
    // Only the families the verifier has keys of are checked and used.
    assert.equal(verifier({ keys: [ec.jwk] }).implementations.EdDSA, 'wasm');
    assert.equal(verifier({ keys: [ed.jwk] }).implementations.ES256, 'wasm');
    for (const bad of ['node', 'WASM', 1, true, {}]) {
      const err = (() => {
        try {
          verifier(keys, { ec: bad });
        } catch (e) {
          return e;
        }
      })();
      assert.ok(err instanceof TypeError, String(bad));
      assert.match(err.message, /ec must be "platform" or "wasm"|ec must be a string/);
    }
  });

  test('without process.getBuiltinModule (a browser, Node < 20.16) the wasm arithmetic serves', () => {
    const original = process.getBuiltinModule;
    try {
      process.getBuiltinModule = undefined;
      const v = verifier({ keys: [ec.jwk, ed.jwk] });
      assert.equal(v.implementations.ES256, 'wasm');
      assert.equal(v.implementations.EdDSA, 'wasm');
      assert.equal(outcome(v, signWith('ES256', ec, clientClaims())), 'ok');
      assert.equal(outcome(v, signWith('EdDSA', ed, clientClaims())), 'ok');
    } finally {
      process.getBuiltinModule = original;
    }
  });

  test('a platform that fails its known answer, or a key, is not used for that family (checked at construction)', () => {
    const keys = { keys: [ec.jwk, ed.jwk] };
    const broken = [
      // Says yes to everything: the flipped known answer passes.
      () => true,
      // Says no to everything: the valid one fails.
      () => false,
      () => {
        throw new Error('no verify here');
      },
      // Not a boolean.
      (...args) => (realVerify(...args) ? 1 : 0),
    ];
    for (const substitute of broken) {
      crypto.verify = substitute;
      const { ES256, EdDSA } = verifier(keys).implementations;
      assert.deepEqual([ES256, EdDSA], ['wasm', 'wasm'], String(substitute));
    }
    // Right for P-256 only: Ed25519 alone falls back.
    crypto.verify = (digest, ...rest) => (digest === null ? true : realVerify(digest, ...rest));
    assert.deepEqual(
      [verifier(keys).implementations.ES256, verifier(keys).implementations.EdDSA],
      ['node:crypto', 'wasm'],
    );
    crypto.verify = realVerify;
    // A key the platform imports as another key: its whole family falls back.
    crypto.createPublicKey = (input) =>
      input?.key?.crv === 'P-256' && input.key.x !== 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU'
        ? realCreatePublicKey({ key: keyPair('ec', { namedCurve: 'P-256' }).jwk, format: 'jwk' })
        : realCreatePublicKey(input);
    assert.deepEqual([verifier(keys).implementations.ES256, verifier(keys).implementations.EdDSA], ['wasm', 'node:crypto']);
    crypto.createPublicKey = () => {
      throw new Error('no keys');
    };
    assert.deepEqual([verifier(keys).implementations.ES256, verifier(keys).implementations.EdDSA], ['wasm', 'wasm']);
  });
});

describe('node:crypto and the wasm arithmetic judge ES256 and Ed25519 alike', () => {
  const keys = { keys: [ec.jwk, ed.jwk] };
  const platform = verifier(keys);
  const wasm = verifier(keys, { ec: 'wasm' });

  /** Both verifiers' outcome on `token`, sync and async, which must agree; returns it. */
  async function alike(token, what) {
    const expected = outcome(wasm, token);
    assert.equal(outcome(platform, token), expected, `${what}: verify`);
    assert.equal(await outcomeAsync(platform, token), expected, `${what}: verifyAsync`);
    assert.equal(await outcomeAsync(wasm, token), expected, `${what}: verifyAsync with ec: "wasm"`);
    return expected;
  }

  test('valid tokens, and every bit of their signatures flipped', async () => {
    assert.equal(platform.implementations.ES256, 'node:crypto');
    assert.equal(platform.implementations.EdDSA, 'node:crypto');
    let compared = 0;
    for (const [alg, key] of [['ES256', ec], ['EdDSA', ed], ['Ed25519', ed]]) {
      const token = signWith(alg, key, clientClaims(), { kid: key.jwk.kid });
      assert.equal(await alike(token, alg), 'ok');
      const signature = signatureOf(token);
      for (let bit = 0; bit < signature.length * 8; bit++) {
        const changed = Buffer.from(signature);
        changed[bit >> 3] ^= 1 << (bit & 7);
        assert.notEqual(await alike(withSignature(token, changed), `${alg} bit ${bit}`), 'ok');
        compared++;
      }
    }
    assert.equal(compared, 3 * 512);
  });

  test('ES256: high s is valid (RFC 7518 has no low-s rule); r and s out of 1..n-1, DER and other lengths are not', async () => {
    const token = signWith('ES256', ec, clientClaims(), { kid: 'ec-1' });
    const signature = signatureOf(token);
    const r = beInt(signature.subarray(0, 32));
    const s = beInt(signature.subarray(32));
    const rs = (r, s) => Buffer.concat([beBytes(r), beBytes(s)]);
    assert.equal(await alike(withSignature(token, rs(r, N - s)), 'n - s'), 'ok');
    const cases = [
      [rs(0n, s), 'invalid_signature'],
      [rs(r, 0n), 'invalid_signature'],
      [rs(N, s), 'invalid_signature'],
      [rs(r, N), 'invalid_signature'],
      [rs(N + 1n, s), 'invalid_signature'],
      [rs(2n ** 256n - 1n, 2n ** 256n - 1n), 'invalid_signature'],
      [rs(N - 1n, s), 'invalid_signature'],
      [rs(s, r), 'invalid_signature'],
      [der(r, s), 'malformed'],
      [signature.subarray(1), 'malformed'],
      [Buffer.concat([Buffer.from([0]), signature]), 'malformed'],
      [Buffer.alloc(0), 'malformed'],
    ];
    // r + n and s + n, where they fit in 32 bytes: the same point, out of range.
    if (r + N < 2n ** 256n) cases.push([rs(r + N, s), 'invalid_signature']);
    if (s + N < 2n ** 256n) cases.push([rs(r, s + N), 'invalid_signature']);
    for (const [changed, expected] of cases) {
      assert.equal(await alike(withSignature(token, changed), changed.toString('hex')), expected);
    }
  });

  test('Ed25519: S + L and S of 2^256 - 1 are refused, and so is every R of small order, even where OpenSSL alone would accept', async () => {
    const token = signWith('EdDSA', ed, clientClaims(), { kid: 'ed-1' });
    const signature = signatureOf(token);
    const R = signature.subarray(0, 32);
    const S = leInt(signature.subarray(32));
    for (const [changed, expected] of [
      [Buffer.concat([R, leBytes(S + L)]), 'invalid_signature'],
      [Buffer.concat([R, Buffer.alloc(32, 0xff)]), 'invalid_signature'],
      [signature.subarray(1), 'malformed'],
      [Buffer.concat([signature, Buffer.from([0])]), 'malformed'],
    ]) {
      assert.equal(await alike(withSignature(token, changed), changed.toString('hex')), expected);
    }
    // R the identity with S = k·a: OpenSSL's Ed25519 (the platform itself) accepts it;
    // ed25519-dalek's verify_strict, and so the package on either path, refuses it.
    const message = Buffer.from(inputOf(token));
    const forged = identityRSignature(ed, message);
    assert.equal(realVerify(null, message, ed.publicKey, forged), true, 'OpenSSL accepts R = identity');
    assert.equal(await alike(withSignature(token, forged), 'R = identity'), 'invalid_signature');
    // Every small-order y, with either sign, as R: refused on both paths (S from the token).
    for (const y of SMALL_ORDER_Y) {
      for (const sign of [0, 0x80]) {
        const r = Buffer.from(y, 'hex');
        r[31] |= sign;
        assert.equal(await alike(withSignature(token, Buffer.concat([r, signature.subarray(32)])), y), 'invalid_signature');
      }
    }
  });

  test('every Wycheproof case (ecdsa_secp256r1_sha256_p1363, ed25519): as the JWS signature, and over its own message', async () => {
    let compared = 0;
    let valid = 0;
    for (const [file, alg] of [
      ['ecdsa_secp256r1_sha256_p1363_test.json', 'ES256'],
      ['ed25519_test.json', 'EdDSA'],
    ]) {
      const json = JSON.parse(readFileSync(join(repoRoot, 'tests/vectors/wycheproof', file), 'utf8'));
      let cases = 0;
      for (const group of json.testGroups) {
        const keys = group.publicKeyPem;
        // A key the core refuses (Ed25519 of small order) is refused alike on both paths.
        const build = (options) => {
          try {
            return verifier(keys, options);
          } catch (err) {
            assert.ok(err instanceof TypeError);
            return err.message;
          }
        };
        const viaPlatform = build({});
        const viaWasm = build({ ec: 'wasm' });
        if (typeof viaWasm === 'string') {
          assert.equal(viaPlatform, viaWasm, `${file}: a refused key`);
          cases += group.tests.length;
          continue;
        }
        assert.equal(viaPlatform.implementations[alg], 'node:crypto', file);
        const token = signWith(alg, alg === 'ES256' ? ec : ed, clientClaims());
        const input = inputOf(token);
        for (const t of group.tests) {
          const what = `${file} #${t.tcId} (${t.comment})`;
          const changed = withSignature(token, Buffer.from(t.sig, 'hex'));
          // 1. As the signature of a JWS: the signing input is not the case's message, so
          // nothing verifies; the two paths must refuse alike (the form checks).
          const wasmOutcome = outcome(viaWasm, changed);
          assert.equal(outcome(viaPlatform, changed), wasmOutcome, `${what}: verify`);
          assert.equal(await outcomeAsync(viaPlatform, changed), wasmOutcome, `${what}: verifyAsync`);
          // 2. Over the case's own message: where node:crypto's verify is called, it gets the
          // case's msg in place of the signing input. The node:crypto path must then give
          // Wycheproof's verdict, which the wasm path gives (tests/wycheproof.rs, under Node;
          // tests/conformance/algorithms.rs natively), and a refusal with the same reason as 1.
          const expected = t.result === 'valid' ? 'ok' : wasmOutcome;
          crypto.verify = (digest, data, key, signature, callback) =>
            realVerify(digest, Buffer.from(data).toString() === input ? Buffer.from(t.msg, 'hex') : data, key, signature, callback);
          try {
            assert.equal(outcome(viaPlatform, changed), expected, `${what}: verify, own message`);
            assert.equal(await outcomeAsync(viaPlatform, changed), expected, `${what}: verifyAsync, own message`);
          } finally {
            crypto.verify = realVerify;
          }
          valid += t.result === 'valid' ? 1 : 0;
          compared++;
          cases++;
        }
      }
      assert.equal(cases, json.numberOfTests, file);
    }
    assert.ok(compared > 350, `${compared} cases`);
    assert.ok(valid > 100, `${valid} valid cases`);
  });
});

describe('a misbehaving platform after construction', () => {
  const keys = { keys: [ec.jwk, ed.jwk] };

  test('one that throws or answers no boolean: the wasm arithmetic answers instead', async () => {
    const v = verifier(keys);
    for (const [alg, key] of [['ES256', ec], ['EdDSA', ed]]) {
      const token = signWith(alg, key, clientClaims());
      const tampered = withSignature(token, Buffer.from(signatureOf(token)).map((b, i) => (i === 40 ? b ^ 4 : b)));
      for (const substitute of [
        () => {
          throw new Error('gone');
        },
        (...args) => {
          const callback = args[4];
          if (typeof callback !== 'function') return 'yes';
          setImmediate(() => callback(null, 'yes'));
        },
        // Asynchronously: an error, or no boolean.
        (...args) => {
          const callback = args[4];
          if (typeof callback !== 'function') throw new Error('gone');
          setImmediate(() => callback(new Error('gone')));
        },
        (...args) => {
          const callback = args[4];
          if (typeof callback !== 'function') return 1;
          setImmediate(() => callback(null, 1));
        },
      ]) {
        let calls = 0;
        crypto.verify = (...args) => {
          calls++;
          return substitute(...args);
        };
        assert.equal(outcome(v, token), 'ok', alg);
        assert.equal(outcome(v, tampered), 'invalid_signature', alg);
        assert.equal(await outcomeAsync(v, token), 'ok', alg);
        assert.equal(await outcomeAsync(v, tampered), 'invalid_signature', alg);
        assert.ok(calls >= 2, `${alg}: the platform was asked`);
      }
    }
  });

  test('its verdict is final: one that says no refuses a valid token (and, unlike the RSA path, one that says yes would pass a bad one: hence the known answers)', async () => {
    const v = verifier(keys);
    const token = signWith('ES256', ec, clientClaims());
    crypto.verify = (...args) => {
      const callback = args[4];
      if (typeof callback === 'function') setImmediate(() => callback(null, false));
      return false;
    };
    assert.equal(outcome(v, token), 'invalid_signature');
    assert.equal(await outcomeAsync(v, token), 'invalid_signature');
    const tampered = withSignature(token, Buffer.from(signatureOf(token)).map((b, i) => (i === 40 ? b ^ 4 : b)));
    crypto.verify = () => true;
    assert.equal(outcome(v, tampered), 'ok');
    // Built now, the same platform is not used at all.
    assert.equal(outcome(verifier(keys), tampered), 'invalid_signature');
  });

  test('signatures of the wrong form never reach the platform', async () => {
    const v = verifier(keys);
    let calls = 0;
    crypto.verify = (...args) => {
      calls++;
      return realVerify(...args);
    };
    const token = signWith('ES256', ec, clientClaims());
    const signature = signatureOf(token);
    for (const changed of [signature.subarray(1), Buffer.concat([beBytes(N), signature.subarray(32)]), Buffer.alloc(64)]) {
      assert.notEqual(outcome(v, withSignature(token, changed)), 'ok');
      assert.notEqual(await outcomeAsync(v, withSignature(token, changed)), 'ok');
    }
    const edToken = signWith('EdDSA', ed, clientClaims());
    const edSignature = signatureOf(edToken);
    const R = Buffer.alloc(32);
    R[0] = 1;
    for (const changed of [Buffer.concat([R, edSignature.subarray(32)]), Buffer.concat([edSignature.subarray(0, 32), leBytes(L)])]) {
      assert.equal(outcome(v, withSignature(edToken, changed)), 'invalid_signature');
      assert.equal(await outcomeAsync(v, withSignature(edToken, changed)), 'invalid_signature');
    }
    assert.equal(calls, 0);
  });
});
