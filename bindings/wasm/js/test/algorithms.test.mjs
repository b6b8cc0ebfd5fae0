// PS256, ES256 and EdDSA/Ed25519 beside RS256 (issue 13): tokens signed by jose (pinned in
// package.json) verified by the main module through the one-party and the registry forms; one
// algorithm per key and the `algorithms` allow-list as a table of refusals; PS256 through
// node:crypto's RSAVP1 like RS256; and the RS256-only module (`rfc7523/rs256`) refusing the
// other algorithms' keys and tokens precisely.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';

import { SignJWT } from 'jose';

import {
  AS,
  CLIENT,
  CLIENT_ASSERTION_TYPE,
  GRANT_TYPE,
  ISSUER,
  NOW,
  at,
  clientClaims,
  form,
  grantClaims,
  keyA,
  keyB,
  m,
  registryDoc,
  rs256,
  signRaw,
  thrown,
} from '../support/fixtures.mjs';

/** A key pair of node:crypto with its public JWK (with `kid`, and `alg` when given) and SPKI PEM. */
function keyPair(type, options, kid, alg) {
  const { privateKey, publicKey } = generateKeyPairSync(type, options);
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...(alg ? { alg } : {}) };
  return { privateKey, publicKey, jwk, spkiPem: publicKey.export({ type: 'spki', format: 'pem' }) };
}

const ec = keyPair('ec', { namedCurve: 'P-256' }, 'ec-1', 'ES256');
const ed = keyPair('ed25519', {}, 'ed-1', 'EdDSA');
const ec2 = keyPair('ec', { namedCurve: 'P-256' }, 'ec-2');
const ed2 = keyPair('ed25519', {}, 'ed-2');
const rsaPs = { ...keyA, jwk: { ...keyA.jwk, alg: 'PS256', kid: 'ps-a' } };

/** Every algorithm, the key that signs it, and that key's JWK. */
const CASES = [
  ['RS256', keyA.privateKey, keyA.jwk],
  ['PS256', keyA.privateKey, rsaPs.jwk],
  ['ES256', ec.privateKey, ec.jwk],
  ['EdDSA', ed.privateKey, ed.jwk],
  ['Ed25519', ed.privateKey, { ...ed.jwk, alg: 'Ed25519' }],
];

/** A jose-signed JWT of `claims` with header `{ alg, kid, ...header }`. */
function joseSign(alg, key, claims, header = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg, ...header }).sign(key);
}

const codeAndReason = (err) => (err instanceof m.AssertionError ? `${err.code} ${err.reason}` : `${err.name}: ${err.message}`);

describe('jose signs PS256, ES256, EdDSA and Ed25519; the package verifies', () => {
  test('one party (keys as a JWK with alg, as a JWK Set, as an SPKI PEM)', async () => {
    for (const [alg, privateKey, jwk] of CASES) {
      const token = await joseSign(alg, privateKey, clientClaims(), { kid: jwk.kid, typ: 'client-authentication+jwt' });
      for (const keys of [jwk, { keys: [jwk] }]) {
        const verifier = new m.AssertionVerifier({ keys, clientId: CLIENT, audience: AS, replay: 'external' });
        const { header, claims } = verifier.verify(token, at(NOW));
        assert.equal(header.alg, alg, 'the result names the algorithm');
        assert.equal(claims.sub, CLIENT);
      }
    }
    // A PEM names no algorithm: a key type's default (P-256: ES256, Ed25519: EdDSA and its
    // fully-specified name), or the one `algorithms` allows for RSA (PS256).
    for (const [alg, privateKey, pem, options] of [
      ['ES256', ec.privateKey, ec.spkiPem, {}],
      ['EdDSA', ed.privateKey, ed.spkiPem, {}],
      ['Ed25519', ed.privateKey, ed.spkiPem, {}],
      ['PS256', keyA.privateKey, keyA.spkiPem, { algorithms: ['PS256'] }],
    ]) {
      const token = await joseSign(alg, privateKey, grantClaims());
      const verifier = new m.AssertionVerifier({ keys: pem, issuer: ISSUER, audience: AS, ...options });
      assert.equal(verifier.verify(token, at(NOW)).header.alg, alg);
    }
  });

  test('the registry form: clients and trusted issuers of every algorithm, verify and verifyTokenRequest', async () => {
    const clients = [
      { client_id: 'c-ps', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'PS256', jwks: { keys: [{ ...keyB.jwk, alg: undefined, kid: 'ps-b' }] } },
      { client_id: 'c-es', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [ec2.jwk] } },
      { client_id: 'c-ed', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [ed2.jwk] } },
    ];
    const issuers = [
      { issuer: 'https://ps.example', token_endpoint_auth_signing_alg: 'PS256', jwks: { keys: [rsaPs.jwk] } },
      { issuer: 'https://es.example', jwks: { keys: [ec.jwk] } },
      { issuer: 'https://ed.example', token_endpoint_auth_signing_alg: 'Ed25519', jwks: { keys: [ed.jwk.alg ? { ...ed.jwk, alg: 'Ed25519' } : ed.jwk] } },
    ];
    const verifier = new m.AssertionVerifier({ registry: JSON.parse(JSON.stringify(registryDoc({ clients, issuers }))), replay: 'external' });
    for (const [clientId, alg, key] of [
      ['c-ps', 'PS256', keyB.privateKey],
      ['c-es', 'ES256', ec2.privateKey],
      ['c-ed', 'EdDSA', ed2.privateKey],
      ['c-ed', 'Ed25519', ed2.privateKey],
    ]) {
      const token = await joseSign(alg, key, clientClaims({ iss: clientId, sub: clientId }));
      assert.equal(verifier.verify(token, { ...at(NOW), use: 'client_authentication' }).header.alg, alg);
      const body = form({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: token });
      const result = verifier.verifyTokenRequest(body, at(NOW));
      assert.equal(result.clientAuthentication, 'client_assertion');
      assert.equal(result.clientClaims.sub, clientId);
    }
    for (const [iss, alg, key] of [
      ['https://ps.example', 'PS256', keyA.privateKey],
      ['https://es.example', 'ES256', ec.privateKey],
      ['https://ed.example', 'Ed25519', ed.privateKey],
    ]) {
      const grant = await joseSign(alg, key, grantClaims({ iss }));
      assert.equal(verifier.verify(grant, { ...at(NOW), use: 'grant' }).header.alg, alg);
      const client = await joseSign('ES256', ec2.privateKey, clientClaims({ iss: 'c-es', sub: 'c-es' }));
      const body = form({ grant_type: GRANT_TYPE, assertion: grant, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: client });
      const result = verifier.verifyTokenRequest(body, at(NOW));
      assert.equal(result.use, 'grant');
      assert.equal(result.claims.iss, iss);
      assert.equal(result.clientClaims.sub, 'c-es');
    }
    // The party's token_endpoint_auth_signing_alg is its allow-list: c-ps never uses RS256.
    const rs256Token = signRaw({ alg: 'RS256', kid: 'ps-b' }, clientClaims({ iss: 'c-ps', sub: 'c-ps' }), keyB);
    assert.equal(codeAndReason(thrown(() => verifier.verify(rs256Token, { ...at(NOW), use: 'client_authentication' }))), 'ERR_JOSE_ALG_NOT_ALLOWED unsupported_algorithm');
    // A key that cannot serve the party's algorithm is refused at construction.
    const wrong = registryDoc({ clients: [{ ...clients[1], jwks: { keys: [keyA.jwk] } }], issuers: [] });
    const err = thrown(() => new m.AssertionVerifier({ registry: wrong }));
    assert.ok(err instanceof TypeError);
    assert.match(err.message, /cannot verify ES256/);
  });
});

describe('one algorithm per key, and the allow-list', () => {
  test('refusals, as a table: ERR_JOSE_ALG_NOT_ALLOWED (unsupported_algorithm) before any signature check', async () => {
    const noAlg = (jwk) => ({ ...jwk, alg: undefined });
    const rows = [
      // [what, keys, options, alg, signing key]
      ['an RSA key never verifies ES256', { keys: [noAlg(keyA.jwk)] }, {}, 'ES256', ec.privateKey],
      ['an RSA key never verifies EdDSA', { keys: [noAlg(keyA.jwk)] }, {}, 'EdDSA', ed.privateKey],
      ['a P-256 key never verifies EdDSA', { keys: [noAlg(ec.jwk)] }, {}, 'EdDSA', ed.privateKey],
      ['an Ed25519 key never verifies ES256', { keys: [noAlg(ed.jwk)] }, {}, 'ES256', ec.privateKey],
      ['a key whose JWK alg is RS256 never verifies PS256', { keys: [keyA.jwk] }, {}, 'PS256', keyA.privateKey],
      ['a key whose JWK alg is PS256 never verifies RS256', { keys: [rsaPs.jwk] }, {}, 'RS256', keyA.privateKey],
      ['an RSA key without alg serves RS256 only', { keys: [noAlg(keyA.jwk)] }, {}, 'PS256', keyA.privateKey],
      ['an RSA PEM serves RS256 only', keyA.spkiPem, {}, 'PS256', keyA.privateKey],
      ['with algorithms [PS256], an RSA key without alg serves PS256 only', { keys: [noAlg(keyA.jwk)] }, { algorithms: ['PS256'] }, 'RS256', keyA.privateKey],
      ['a key whose JWK alg is EdDSA never verifies Ed25519', { keys: [ed.jwk] }, {}, 'Ed25519', ed.privateKey],
      ['an alg outside the allow-list', { keys: [noAlg(keyA.jwk), ec.jwk] }, { algorithms: ['RS256', 'ES256'] }, 'PS256', keyA.privateKey],
      ['an alg outside the allow-list, though the key would serve it', { keys: [noAlg(ed.jwk)] }, { algorithms: ['EdDSA'] }, 'Ed25519', ed.privateKey],
    ];
    for (const [what, keys, options, alg, signingKey] of rows) {
      const token = await joseSign(alg, signingKey, clientClaims());
      const verifier = new m.AssertionVerifier({ keys, clientId: CLIENT, audience: AS, ...options });
      assert.equal(codeAndReason(thrown(() => verifier.verify(token, at(NOW)))), 'ERR_JOSE_ALG_NOT_ALLOWED unsupported_algorithm', what);
    }
    // And the same keys verify their own algorithm.
    const ok = new m.AssertionVerifier({ keys: { keys: [noAlg(keyA.jwk), ec.jwk] }, clientId: CLIENT, audience: AS, algorithms: ['RS256', 'ES256'] });
    assert.equal(ok.verify(await joseSign('ES256', ec.privateKey, clientClaims()), at(NOW)).header.alg, 'ES256');
    assert.equal(ok.verify(await joseSign('RS256', keyA.privateKey, clientClaims()), at(NOW)).header.alg, 'RS256');
  });

  test('bad signatures of the new algorithms: ERR_JWS_SIGNATURE_VERIFICATION_FAILED, wrong lengths ERR_JWT_INVALID', async () => {
    for (const [alg, privateKey, jwk] of CASES.slice(1)) {
      const token = await joseSign(alg, privateKey, clientClaims());
      const verifier = new m.AssertionVerifier({ keys: { keys: [{ ...jwk, kid: undefined }] }, clientId: CLIENT, audience: AS, replay: 'external' });
      const signature = Buffer.from(token.split('.')[2], 'base64url');
      signature[5] ^= 1;
      const flipped = `${token.slice(0, token.lastIndexOf('.'))}.${signature.toString('base64url')}`;
      assert.equal(codeAndReason(thrown(() => verifier.verify(flipped, at(NOW)))), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED invalid_signature', alg);
      const short = `${token.slice(0, token.lastIndexOf('.'))}.${signature.subarray(1).toString('base64url')}`;
      assert.equal(codeAndReason(thrown(() => verifier.verify(short, at(NOW)))), 'ERR_JWT_INVALID malformed', alg);
    }
  });

  test('the algorithms option: exact names, at least one, keys that serve one of them; not beside a registry', () => {
    const base = { keys: keyA.jwk, clientId: CLIENT, audience: AS };
    // A string or an array of strings, as `audience`.
    assert.ok(new m.AssertionVerifier({ ...base, algorithms: 'RS256' }));
    assert.ok(new m.AssertionVerifier({ ...base, algorithms: ['RS256', 'PS256', 'RS256'] }));
    for (const [algorithms, message] of [
      [{}, /algorithms must be a string or an array of strings/],
      [[1], /algorithms must be a string or an array of strings/],
      [[], /algorithms must name at least one algorithm/],
      [['rs256'], /algorithms: "rs256" is not one of RS256, PS256, ES256, EdDSA and Ed25519$/],
      [['HS256'], /algorithms: "HS256" is not one/],
      [['none'], /algorithms: "none" is not one/],
      [['RS256', 'ES512'], /algorithms: "ES512" is not one/],
      [['ES256'], /algorithms: key 0 serves none of them/],
      // Key A's JWK says RS256.
      [['PS256'], /algorithms: key 0 serves none of them/],
    ]) {
      const err = thrown(() => new m.AssertionVerifier({ ...base, algorithms }));
      assert.ok(err instanceof TypeError, JSON.stringify(algorithms));
      assert.match(err.message, message);
    }
    const err = thrown(() => new m.AssertionVerifier({ registry: registryDoc(), algorithms: ['RS256'] }));
    assert.ok(err instanceof TypeError);
    assert.match(err.message, /algorithms: with registry, set it per party/);
  });

  test('keys: EC and OKP JWKs and SPKI PEMs load; private keys, other curves and bad points are refused', () => {
    const load = (keys) => new m.AssertionVerifier({ keys, clientId: CLIENT, audience: AS });
    for (const keys of [ec.jwk, ed.jwk, ec.spkiPem, ed.spkiPem, { keys: [ec.jwk, ed.jwk, keyA.jwk] }]) load(keys);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    const x448 = generateKeyPairSync('ed448').publicKey;
    for (const [keys, message] of [
      [{ ...ec.privateKey.export({ format: 'jwk' }) }, /private key material/],
      [ed.privateKey.export({ format: 'pem', type: 'pkcs8' }), /private key material/],
      [p384.export({ format: 'jwk' }), /unsupported curve/],
      [x448.export({ format: 'jwk' }), /unsupported curve/],
      [{ ...ec.jwk, y: ec.jwk.x }, /not a valid point/],
      [{ ...ec.jwk, alg: 'RS256' }, /RS256 is not an algorithm of P-256 keys/],
    ]) {
      const err = thrown(() => load(keys));
      assert.ok(err instanceof TypeError, JSON.stringify(keys));
      assert.match(err.message, message);
    }
  });
});

describe('PS256 through node:crypto (feature platform-rsa), like RS256', () => {
  const crypto = process.getBuiltinModule('node:crypto');
  const realPublicDecrypt = crypto.publicDecrypt;
  afterEach(() => {
    crypto.publicDecrypt = realPublicDecrypt;
  });

  test('the RSAVP1 of a PS256 verification is publicDecrypt when the verifier uses the platform', async () => {
    const token = await joseSign('PS256', keyA.privateKey, clientClaims());
    const flipped = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    let calls = 0;
    crypto.publicDecrypt = (...args) => {
      calls += 1;
      return realPublicDecrypt(...args);
    };
    for (const [rsa, implementation, perVerify] of [
      ['platform', 'node:crypto', 1],
      ['wasm', 'wasm', 0],
    ]) {
      const verifier = new m.AssertionVerifier({ keys: rsaPs.jwk, clientId: CLIENT, audience: AS, replay: 'external', rsa });
      assert.equal(verifier.rsaImplementation, implementation);
      calls = 0;
      assert.equal(verifier.verify(token, at(NOW)).header.alg, 'PS256');
      assert.equal(calls, perVerify, `${rsa}: publicDecrypt calls per PS256 verification`);
      assert.equal(codeAndReason(thrown(() => verifier.verify(flipped, at(NOW)))), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED invalid_signature');
    }
    // A platform that lies after the construction-time check: refused, never accepted.
    const verifier = new m.AssertionVerifier({ keys: rsaPs.jwk, clientId: CLIENT, audience: AS, replay: 'external' });
    crypto.publicDecrypt = (options, data) => Buffer.alloc(data.length, 0xbc);
    assert.equal(thrown(() => verifier.verify(token, at(NOW))).reason, 'invalid_signature');
  });
});

describe("the RS256-only module ('rfc7523/rs256')", () => {
  const hint = /this build does not verify (ES256|EdDSA|PS256) \(rfc7523\/rs256 verifies RS256 only: import "rfc7523" for PS256, ES256 and EdDSA\)/;

  test('refuses P-256 and Ed25519 keys and keys pinned to PS256, naming the algorithm and the main module', () => {
    for (const keys of [ec.jwk, ed.jwk, ec.spkiPem, ed.spkiPem, rsaPs.jwk, { ...ed.jwk, alg: undefined }]) {
      const err = thrown(() => new rs256.AssertionVerifier({ keys, clientId: CLIENT, audience: AS }));
      assert.ok(err instanceof TypeError, JSON.stringify(keys));
      assert.match(err.message, hint);
    }
    for (const algorithms of [['PS256'], ['RS256', 'ES256'], ['EdDSA'], ['Ed25519']]) {
      const err = thrown(() => new rs256.AssertionVerifier({ keys: keyA.jwk, clientId: CLIENT, audience: AS, algorithms }));
      assert.ok(err instanceof TypeError);
      assert.match(err.message, /algorithms: "(PS256|ES256|EdDSA|Ed25519)" is not one of RS256 \(rfc7523\/rs256 verifies RS256 only: import "rfc7523" for PS256, ES256 and EdDSA\)$/);
    }
    // In a JWK Set, keys this build cannot use are skipped (as keys of unknown types are).
    const verifier = new rs256.AssertionVerifier({ keys: { keys: [ec.jwk, ed.jwk, keyA.jwk] }, clientId: CLIENT, audience: AS, algorithms: ['RS256'] });
    assert.equal(verifier.verify(signRaw({ alg: 'RS256', kid: 'key-a' }, clientClaims()), at(NOW)).header.alg, 'RS256');
    const none = thrown(() => new rs256.AssertionVerifier({ keys: { keys: [ec.jwk, ed.jwk] }, clientId: CLIENT, audience: AS }));
    assert.match(none.message, /no key usable/);
    // A registry whose party signs with another algorithm.
    const registry = registryDoc({ clients: [{ client_id: 'c', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'PS256', jwks: { keys: [keyB.jwk] } }], issuers: [] });
    assert.ok(thrown(() => new rs256.AssertionVerifier({ registry })) instanceof TypeError);
  });

  test('refuses PS256, ES256 and EdDSA tokens: ERR_JOSE_ALG_NOT_ALLOWED, one AssertionError class', async () => {
    const verifier = new rs256.AssertionVerifier({ keys: { keys: [{ ...keyA.jwk, alg: undefined }] }, clientId: CLIENT, audience: AS });
    for (const [alg, key] of [
      ['PS256', keyA.privateKey],
      ['ES256', ec.privateKey],
      ['EdDSA', ed.privateKey],
      ['Ed25519', ed.privateKey],
    ]) {
      const token = await joseSign(alg, key, clientClaims());
      const err = thrown(() => verifier.verify(token, at(NOW)));
      assert.ok(err instanceof m.AssertionError, alg);
      assert.equal(codeAndReason(err), 'ERR_JOSE_ALG_NOT_ALLOWED unsupported_algorithm', alg);
    }
    assert.equal(verifier.verify(await joseSign('RS256', keyA.privateKey, clientClaims()), at(NOW)).header.alg, 'RS256');
  });

  test('verifies RSA keys of every size in the widths it keeps (2049 to 4096 bits all at 4096: feature fewer-rsa-widths), as the main module does', async () => {
    // Sizes at and beside the width boundaries of rfc7523-rsavp1 (2048 | 3072 | 4096); the
    // main module has a 3072-bit width, the RS256-only one verifies those keys at 4096 bits.
    for (const bits of [2048, 2056, 3064, 3072, 3080, 4096]) {
      const { privateKey, jwk } = keyPair('rsa', { modulusLength: bits }, `rsa-${bits}`, 'RS256');
      const token = await joseSign('RS256', privateKey, clientClaims(), { kid: jwk.kid });
      const [head, body, sig] = token.split('.');
      // The last signature byte changed: a signature of the right length that is wrong.
      const bytes = Buffer.from(sig, 'base64url');
      bytes[bytes.length - 1] ^= 1;
      const tampered = `${head}.${body}.${bytes.toString('base64url')}`;
      for (const [name, module] of [['rfc7523/rs256', rs256], ['rfc7523', m]]) {
        for (const rsa of name === 'rfc7523' ? ['wasm', 'platform'] : [undefined]) {
          const verifier = new module.AssertionVerifier({ keys: jwk, clientId: CLIENT, audience: AS, ...(rsa && { rsa }) });
          assert.equal(verifier.verify(token, at(NOW)).claims.sub, CLIENT, `${name} ${rsa ?? ''} ${bits}`);
          const err = thrown(() => verifier.verify(tampered, at(NOW)));
          assert.equal(codeAndReason(err), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED invalid_signature', `${name} ${bits}`);
        }
      }
    }
  });
});
