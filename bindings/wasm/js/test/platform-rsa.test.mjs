// The RSA operation by node:crypto (option `rsa`, feature platform-rsa of the nodejs build)
// against the package's own wasm arithmetic: which one a verifier uses, that both judge every
// signature alike (valid ones, every single-byte change, range edges, Wycheproof signatures),
// and what happens when the platform misbehaves (it throws: the wasm answer stands; it lies:
// the assertion is refused, never accepted).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';

import { AS, CLIENT, NOW, at, clientClaims, key3072, keyA, keyB, m, repoRoot, signRaw, thrown } from '../support/fixtures.mjs';

// The very object the package's snippet gets from process.getBuiltinModule.
const crypto = process.getBuiltinModule('node:crypto');
const realPublicDecrypt = crypto.publicDecrypt;
afterEach(() => {
  crypto.publicDecrypt = realPublicDecrypt;
});

const verifier = (rsa, keys = { keys: [keyA.jwk, key3072.jwk] }) =>
  new m.AssertionVerifier({ keys, clientId: CLIENT, audience: AS, replay: 'external', ...(rsa ? { rsa } : {}) });

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

const withSignature = (token, signature) => `${token.slice(0, token.lastIndexOf('.'))}.${Buffer.from(signature).toString('base64url')}`;
const modulusOf = (key) => Buffer.from(key.jwk.n, 'base64url');
const plusOne = (bytes) => {
  const out = Buffer.from(bytes);
  for (let i = out.length - 1; i >= 0 && ++out[i] === 256; i--) out[i] = 0;
  return out;
};
const minusOne = (bytes) => {
  const out = Buffer.from(bytes);
  for (let i = out.length - 1; i >= 0 && out[i]-- === 0; i--) out[i] = 255;
  return out;
};

describe('choosing the RSA implementation', () => {
  test('node:crypto by default and with rsa: "platform", the wasm arithmetic with rsa: "wasm"', () => {
    assert.equal(typeof process.getBuiltinModule, 'function', 'this Node has process.getBuiltinModule');
    assert.equal(verifier().rsaImplementation, 'node:crypto');
    assert.equal(verifier('platform').rsaImplementation, 'node:crypto');
    assert.equal(verifier('wasm').rsaImplementation, 'wasm');
    for (const rsa of ['node', 'WASM', 1, true, {}]) {
      const err = thrown(() => verifier(rsa));
      assert.ok(err instanceof TypeError, String(rsa));
      assert.match(err.message, /rsa must be "platform" or "wasm"|rsa must be a string/);
    }
  });

  test('without process.getBuiltinModule (a browser, Node < 20.16) the wasm arithmetic serves', () => {
    const original = process.getBuiltinModule;
    try {
      process.getBuiltinModule = undefined;
      assert.equal(verifier().rsaImplementation, 'wasm');
      assert.equal(outcome(verifier(), signRaw({ alg: 'RS256' }, clientClaims())), 'ok');
    } finally {
      process.getBuiltinModule = original;
    }
  });

  test('a platform whose RSAVP1 differs from ours on any key is not used (checked at construction)', () => {
    crypto.publicDecrypt = (options, data) => Buffer.alloc(data.length);
    assert.equal(verifier().rsaImplementation, 'wasm');
    crypto.publicDecrypt = () => {
      throw new Error('no RSA here');
    };
    assert.equal(verifier().rsaImplementation, 'wasm');
    // Wrong length.
    crypto.publicDecrypt = (options, data) => realPublicDecrypt(options, data).subarray(1);
    assert.equal(verifier().rsaImplementation, 'wasm');
    // Right for 2048-bit keys only: one bad key is enough.
    crypto.publicDecrypt = (options, data) => (data.length === 256 ? realPublicDecrypt(options, data) : Buffer.alloc(data.length));
    assert.equal(verifier().rsaImplementation, 'wasm');
    assert.equal(verifier('platform', { keys: [keyA.jwk] }).rsaImplementation, 'node:crypto');
  });
});

describe('node:crypto and the wasm arithmetic judge alike', () => {
  test('valid tokens, every byte of the signature changed, and the range edges, at 2048 and 3072 bits', () => {
    const platform = verifier();
    const wasm = verifier('wasm');
    assert.equal(platform.rsaImplementation, 'node:crypto');
    let compared = 0;
    for (const key of [keyA, key3072]) {
      const token = signRaw({ alg: 'RS256', kid: key.kid }, clientClaims(), key);
      assert.equal(outcome(platform, token), 'ok');
      assert.equal(outcome(wasm, token), 'ok');
      const signature = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
      const n = modulusOf(key);
      const k = n.length;
      const variants = [
        n,
        minusOne(n),
        plusOne(n),
        Buffer.alloc(k),
        Buffer.alloc(k, 0xff),
        Buffer.concat([Buffer.alloc(k - 1), Buffer.from([1])]),
        Buffer.concat([Buffer.alloc(k - 1), Buffer.from([2])]),
        signature.subarray(1),
        Buffer.concat([Buffer.from([0]), signature]),
        minusOne(signature),
        plusOne(signature),
      ];
      for (let i = 0; i < k; i++) {
        const changed = Buffer.from(signature);
        changed[i] ^= 1 << i % 8;
        variants.push(changed);
      }
      for (const variant of variants) {
        const changed = withSignature(token, variant);
        const expected = outcome(wasm, changed);
        assert.notEqual(expected, 'ok');
        assert.equal(outcome(platform, changed), expected, `${key.kid}: ${variant.toString('hex')}`);
        compared++;
      }
    }
    assert.equal(compared, 2 * 11 + 256 + 384);
  });

  test('every Wycheproof signature of the rsa_signature_*_sha256 files (2048 to 8192 bits) as a JWS signature', () => {
    let compared = 0;
    for (const bits of [2048, 3072, 4096, 8192]) {
      const file = `rsa_signature_${bits}_sha256_test.json`; {
      const json = JSON.parse(readFileSync(join(repoRoot, 'tests/vectors/wycheproof', file), 'utf8'));
      for (const group of json.testGroups) {
        const keys = group.publicKeyPem ?? group.keyPem;
        const platform = verifier('platform', keys);
        const wasm = verifier('wasm', keys);
        assert.equal(platform.rsaImplementation, 'node:crypto', file);
        const token = signRaw({ alg: 'RS256' }, clientClaims(), keyB);
        for (const t of group.tests) {
          const changed = withSignature(token, Buffer.from(t.sig, 'hex'));
          assert.equal(outcome(platform, changed), outcome(wasm, changed), `${file} #${t.tcId}`);
          compared++;
        }
      }
    }
    }
    assert.ok(compared > 900, `${compared} signatures`);
  });
});

/** A valid token of key A, and one whose signature has its lowest bit flipped (still below n,
 *  so it reaches the RSA operation, and does not verify). */
function validAndTampered() {
  const token = signRaw({ alg: 'RS256' }, clientClaims());
  const signature = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
  signature[signature.length - 1] ^= 1;
  return [token, withSignature(token, signature)];
}

describe('a misbehaving platform', () => {
  test('one that throws after construction: the wasm arithmetic answers instead', () => {
    const v = verifier();
    assert.equal(v.rsaImplementation, 'node:crypto');
    let calls = 0;
    crypto.publicDecrypt = () => {
      calls++;
      throw new Error('gone');
    };
    const [valid, tampered] = validAndTampered();
    assert.equal(outcome(v, valid), 'ok');
    assert.equal(outcome(v, tampered), 'invalid_signature');
    assert.equal(calls, 2);
  });

  test('one that lies after construction: valid assertions are refused, none is accepted', () => {
    const v = verifier();
    let calls = 0;
    crypto.publicDecrypt = (options, data) => {
      calls++;
      return Buffer.alloc(data.length);
    };
    const [valid, tampered] = validAndTampered();
    assert.equal(outcome(v, valid), 'invalid_signature');
    assert.equal(outcome(v, tampered), 'invalid_signature');
    // A "result" that is not k bytes is a failure of the platform: the wasm answer stands.
    crypto.publicDecrypt = (options, data) => {
      calls++;
      return realPublicDecrypt(options, data).subarray(1);
    };
    assert.equal(outcome(v, valid), 'ok');
    assert.equal(calls, 3);
  });

  test('out-of-range and wrong-length signatures never reach the platform', () => {
    const v = verifier();
    let calls = 0;
    crypto.publicDecrypt = (...args) => {
      calls++;
      return realPublicDecrypt(...args);
    };
    const token = signRaw({ alg: 'RS256' }, clientClaims());
    const n = modulusOf(keyA);
    assert.equal(outcome(v, withSignature(token, n)), 'invalid_signature');
    assert.equal(outcome(v, withSignature(token, Buffer.alloc(256, 0xff))), 'invalid_signature');
    assert.equal(outcome(v, withSignature(token, n.subarray(1))), 'malformed');
    assert.equal(calls, 0);
    assert.equal(outcome(v, withSignature(token, minusOne(n))), 'invalid_signature');
    assert.equal(calls, 1);
  });
});
