// Interop with jose (pinned in package.json): tokens signed by jose are verified by us, and
// assertions signed by us (signAssertion) are verified by jose's jwtVerify.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { SignJWT, createLocalJWKSet, decodeProtectedHeader, importPKCS8, importSPKI, jwtVerify } from 'jose';

import {
  AS,
  CLIENT,
  ISSUER,
  NOW,
  at,
  clientVerifier,
  grantVerifier,
  jwks,
  keyA,
  s,
  thrown,
} from '../support/fixtures.mjs';

const joseSigningKey = await importPKCS8(keyA.pkcs8Pem, 'RS256');
const joseVerifyingKey = await importSPKI(keyA.spkiPem, 'RS256');

/** A jose-signed JWT at NOW. */
function joseJwt(claims, header = { alg: 'RS256' }) {
  return new SignJWT(claims)
    .setProtectedHeader(header)
    .setIssuedAt(NOW)
    .setExpirationTime(NOW + 120)
    .setJti(crypto.randomUUID())
    .sign(joseSigningKey);
}

describe('jose signs, we verify', () => {
  test('an authorization grant', async () => {
    const token = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'key-a' })
      .setIssuer(ISSUER)
      .setSubject('alice')
      .setAudience([AS, 'https://token.example'])
      .setIssuedAt(NOW)
      .setNotBefore(NOW - 10)
      .setExpirationTime(NOW + 120)
      .setJti('jose-1')
      .sign(joseSigningKey);
    const { header, claims } = grantVerifier({ subject: 'alice', requireJti: true, maxLifetime: 300 }).verify(token, at(NOW));
    assert.deepEqual(header, { alg: 'RS256', typ: 'JWT', kid: 'key-a' });
    assert.deepEqual(claims, {
      scope: 'read',
      iss: ISSUER,
      sub: 'alice',
      aud: [AS, 'https://token.example'],
      iat: NOW,
      nbf: NOW - 10,
      exp: NOW + 120,
      jti: 'jose-1',
    });
  });

  test('a client assertion with typ client-authentication+jwt', async () => {
    const token = await joseJwt(
      { iss: CLIENT, sub: CLIENT, aud: AS },
      { alg: 'RS256', typ: 'client-authentication+jwt', kid: 'key-a' },
    );
    const { claims } = clientVerifier({ requireTyp: true, requireJti: true }).verify(token, at(NOW));
    assert.equal(claims.sub, CLIENT);
  });

  test('jose-signed tokens break the same rules the same way', async () => {
    const expired = await joseJwt({ iss: ISSUER, sub: 'alice', aud: AS });
    assert.equal(thrown(() => grantVerifier().verify(expired, at(NOW + 151))).code, 'ERR_JWT_EXPIRED');
    // The same verdict as jose's own.
    await assert.rejects(jwtVerify(expired, joseVerifyingKey, { currentDate: new Date((NOW + 151) * 1000), clockTolerance: 30 }), {
      code: 'ERR_JWT_EXPIRED',
    });
    const wrongAudience = await joseJwt({ iss: ISSUER, sub: 'alice', aud: 'https://other.example' });
    assert.equal(thrown(() => grantVerifier().verify(wrongAudience, at(NOW))).code, 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    const rs384 = await new SignJWT({ iss: ISSUER, sub: 'alice', aud: AS })
      .setProtectedHeader({ alg: 'RS384' })
      .setExpirationTime(NOW + 60)
      .sign(await importPKCS8(keyA.pkcs8Pem, 'RS384'));
    assert.equal(thrown(() => grantVerifier().verify(rs384, at(NOW))).code, 'ERR_JOSE_ALG_NOT_ALLOWED');
  });
});

describe('we sign (signAssertion), jose verifies', () => {
  test('a client assertion: jwtVerify with issuer, subject, audience and typ', async () => {
    const token = s.signAssertion({
      privateKey: keyA.pkcs8Pem,
      issuer: CLIENT,
      subject: CLIENT,
      audience: AS,
      clientAuth: true,
      kid: 'key-a',
      lifetime: 60,
      currentDate: new Date(NOW * 1000),
    });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: CLIENT,
      subject: CLIENT,
      audience: AS,
      typ: 'client-authentication+jwt',
      algorithms: ['RS256'],
      currentDate: new Date((NOW + 30) * 1000),
      maxTokenAge: 60,
      requiredClaims: ['jti', 'iat', 'exp'],
    });
    assert.deepEqual(protectedHeader, { alg: 'RS256', typ: 'client-authentication+jwt', kid: 'key-a' });
    assert.equal(payload.exp - payload.iat, 60);
    assert.equal(payload.iat, NOW);
    assert.match(payload.jti, /^[A-Za-z0-9_-]{22}$/);
    // And we accept our own.
    assert.ok(clientVerifier({ requireTyp: true }).verify(token, at(NOW + 30)));
  });

  test('a grant, from a PKCS#1 key, with the clock as the default time', async () => {
    const token = s.signAssertion({ privateKey: keyA.pkcs1Pem, issuer: ISSUER, subject: 'alice', audience: AS });
    assert.equal(decodeProtectedHeader(token).typ, 'JWT');
    const { payload } = await jwtVerify(token, joseVerifyingKey, { issuer: ISSUER, subject: 'alice', audience: AS });
    assert.equal(payload.exp - payload.iat, 300);
    assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 60);
  });

  test('every jti is fresh randomness (getrandom, crypto.getRandomValues)', () => {
    const options = { privateKey: keyA.pkcs8Pem, issuer: CLIENT, subject: CLIENT, audience: AS, clientAuth: true };
    const jtis = new Set();
    for (let i = 0; i < 20; i += 1) {
      jtis.add(JSON.parse(Buffer.from(s.signAssertion(options).split('.')[1], 'base64url')).jti);
    }
    assert.equal(jtis.size, 20);
  });

  test('bad input is a TypeError', () => {
    const base = { privateKey: keyA.pkcs8Pem, issuer: CLIENT, subject: CLIENT, audience: AS };
    for (const options of [
      { ...base, subject: 'someone-else', clientAuth: true },
      { ...base, privateKey: keyA.spkiPem },
      { ...base, privateKey: 'not a key' },
      { ...base, issuer: '' },
      { ...base, issuer: 'x'.repeat(257) },
      { ...base, lifetime: -1 },
      { ...base, currentDate: new Date(Number.NaN) },
      { ...base, audiences: [AS] },
      { ...base, audience: undefined },
      undefined,
    ]) {
      assert.ok(thrown(() => s.signAssertion(options)) instanceof TypeError, JSON.stringify(options));
    }
  });
});
