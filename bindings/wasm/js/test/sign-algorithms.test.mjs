// signAssertion with every algorithm (issue 13): keys made by node:crypto (PKCS#8, as Apple's
// .p8 files are), tokens verified by jose (an independent verifier) with the public key, and
// by node:crypto's own verify on the signing input.
import assert from 'node:assert/strict';
import { constants, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { describe, test } from 'node:test';

import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';

import { AS, CLIENT, NOW, s } from '../support/fixtures.mjs';

const pkcs8 = { type: 'pkcs8', format: 'pem' };
const spki = { type: 'spki', format: 'pem' };
const keys = {
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: pkcs8, publicKeyEncoding: spki }),
  p256: generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: pkcs8, publicKeyEncoding: spki }),
  ed25519: generateKeyPairSync('ed25519', { privateKeyEncoding: pkcs8, publicKeyEncoding: spki }),
};

/** node:crypto's verification of a compact JWS with `alg` (RFC 7518 §3.3–3.5, RFC 8037). */
function nodeVerifies(token, alg, publicKeyPem) {
  const [header, payload, signature] = token.split('.');
  const input = Buffer.from(`${header}.${payload}`);
  const sig = Buffer.from(signature, 'base64url');
  const key = createPublicKey(publicKeyPem);
  switch (alg) {
    case 'RS256':
      return verify('sha256', input, key, sig);
    case 'PS256':
      return verify('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    case 'ES256':
      return verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig);
    default:
      return verify(null, input, key, sig);
  }
}

describe('signAssertion with every algorithm', () => {
  // (key, alg option, header alg)
  for (const [key, option, alg] of [
    ['rsa', undefined, 'RS256'],
    ['rsa', 'PS256', 'PS256'],
    ['p256', undefined, 'ES256'],
    ['p256', 'ES256', 'ES256'],
    ['ed25519', undefined, 'EdDSA'],
    ['ed25519', 'Ed25519', 'Ed25519'],
  ]) {
    test(`${key} key, alg ${option ?? '(default)'}: ${alg}, verified by jose and node:crypto`, async () => {
      const token = s.signAssertion({
        privateKey: keys[key].privateKey,
        ...(option ? { alg: option } : {}),
        issuer: CLIENT,
        subject: CLIENT,
        audience: AS,
        clientAuth: true,
        kid: `${key}-1`,
        lifetime: 60,
        currentDate: new Date(NOW * 1000),
      });
      assert.equal(decodeProtectedHeader(token).alg, alg);
      assert.ok(nodeVerifies(token, alg, keys[key].publicKey), 'node:crypto refuses it');
      // A changed payload is refused by the same check, so the check is real.
      const [h, p, sig] = token.split('.');
      const changed = `${h}.${Buffer.from(Buffer.from(p, 'base64url').toString().replace(CLIENT, 'x')).toString('base64url')}.${sig}`;
      assert.equal(nodeVerifies(changed, alg, keys[key].publicKey), false);
      const publicKey = await importSPKI(keys[key].publicKey, alg);
      const { payload, protectedHeader } = await jwtVerify(token, publicKey, {
        issuer: CLIENT,
        subject: CLIENT,
        audience: AS,
        typ: 'client-authentication+jwt',
        algorithms: [alg],
        currentDate: new Date((NOW + 30) * 1000),
      });
      assert.equal(protectedHeader.kid, `${key}-1`);
      assert.equal(payload.exp - payload.iat, 60);
    });
  }

  test('an alg that does not fit the key, or is not one of the five, is a TypeError', () => {
    const base = { issuer: CLIENT, subject: CLIENT, audience: AS };
    for (const [key, alg, message] of [
      ['rsa', 'ES256', /alg: .*ES256/],
      ['p256', 'PS256', /alg: .*PS256/],
      ['ed25519', 'RS256', /alg: .*RS256/],
      ['rsa', 'RS384', /alg must be one of/],
      ['rsa', 'rs256', /alg must be one of/],
      ['p256', 'none', /alg must be one of/],
    ]) {
      assert.throws(
        () => s.signAssertion({ ...base, privateKey: keys[key].privateKey, alg }),
        (e) => e instanceof TypeError && message.test(e.message),
        `${key} ${alg}`,
      );
    }
  });
});
