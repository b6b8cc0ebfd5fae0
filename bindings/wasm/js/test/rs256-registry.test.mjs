// A registry loaded into the RS256-only module (`rfc7523/rs256`) that names an algorithm or a
// key type this build leaves out: the TypeError names the party, the field (or the key), the
// algorithm and the module that verifies it, not only "no usable key" or "cannot verify". The
// same documents load in the main module, so the refusal is the build's, not the document's.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';

import { SignJWT } from 'jose';

import {
  AS,
  CLIENT,
  ISSUER,
  NOW,
  at,
  clientClaims,
  keyA,
  keyB,
  keyC,
  keyD,
  m,
  registeredClient,
  registeredIssuer,
  registryDoc,
  rs256,
  signRaw,
  thrown,
} from '../support/fixtures.mjs';

/** A public JWK of a fresh node:crypto key pair (and its private key). */
function keyPair(type, options, kid, alg) {
  const { privateKey, publicKey } = generateKeyPairSync(type, options);
  return { privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...(alg && { alg }) } };
}

const ec = keyPair('ec', { namedCurve: 'P-256' }, 'ec-1');
const ed = keyPair('ed25519', {}, 'ed-1');
/** An RSA key for encryption (`use: "enc"`): every build skips it in a JWK Set. */
const ENCRYPTION_KEY = { ...keyD.jwk, use: 'enc', alg: undefined };

/** What the RS256-only module adds to a refusal of an algorithm it leaves out. */
const HINT = ' (rfc7523/rs256 verifies RS256 only: import "rfc7523" for PS256, ES256 and EdDSA)';
const C = `clients[0] "${CLIENT}"`;
const I = `issuers[0] "${ISSUER}"`;

const withKeys = (party, ...jwks) => ({ ...party, jwks: { keys: jwks } });

// [what, registry, the exact message of the rs256 module]
const ROWS = [
  ['a client whose token_endpoint_auth_signing_alg is ES256', registryDoc({ clients: [registeredClient(CLIENT, { jwk: ec.jwk }, { token_endpoint_auth_signing_alg: 'ES256' })] }), `${C}.token_endpoint_auth_signing_alg: this build does not verify ES256`],
  ['a client whose token_endpoint_auth_signing_alg is PS256 (an RSA key)', registryDoc({ clients: [registeredClient(CLIENT, { jwk: { ...keyA.jwk, alg: undefined } }, { token_endpoint_auth_signing_alg: 'PS256' })] }), `${C}.token_endpoint_auth_signing_alg: this build does not verify PS256`],
  ['an issuer whose token_endpoint_auth_signing_alg is EdDSA', registryDoc({ issuers: [registeredIssuer(ISSUER, { jwk: ed.jwk }, { token_endpoint_auth_signing_alg: 'EdDSA' })] }), `${I}.token_endpoint_auth_signing_alg: this build does not verify EdDSA`],
  ['an issuer whose token_endpoint_auth_signing_alg is Ed25519', registryDoc({ issuers: [registeredIssuer(ISSUER, { jwk: ed.jwk }, { token_endpoint_auth_signing_alg: 'Ed25519' })] }), `${I}.token_endpoint_auth_signing_alg: this build does not verify Ed25519`],
  ['the second client, ES256, beside an RS256 one', registryDoc({ clients: [registeredClient(CLIENT, keyA), registeredClient('c-ec', { jwk: ec.jwk }, { token_endpoint_auth_signing_alg: 'ES256' })] }), 'clients[1] "c-ec".token_endpoint_auth_signing_alg: this build does not verify ES256'],
  ['a client whose only key is EC P-256', registryDoc({ clients: [withKeys(registeredClient(CLIENT, keyA), ec.jwk)] }), `${C}.jwks.keys[0]: this build does not verify ES256`],
  ['an issuer whose only key is OKP Ed25519', registryDoc({ issuers: [withKeys(registeredIssuer(ISSUER, keyB), ed.jwk)] }), `${I}.jwks.keys[0]: this build does not verify EdDSA`],
  ['a client whose only key is RSA pinned to PS256 by its JWK alg', registryDoc({ clients: [withKeys(registeredClient(CLIENT, keyA), { ...keyA.jwk, alg: 'PS256' })] }), `${C}.jwks.keys[0]: this build does not verify PS256`],
  // The key type is read before the JWK's alg: an OKP key is EdDSA's (Ed25519 is its other name).
  ['an OKP key pinned to Ed25519 by its JWK alg', registryDoc({ clients: [withKeys(registeredClient(CLIENT, keyA), { ...ed.jwk, alg: 'Ed25519' })] }), `${C}.jwks.keys[0]: this build does not verify EdDSA`],
  ['an encryption key (skipped by every build), then a P-256 key: the P-256 one is named', registryDoc({ clients: [withKeys(registeredClient(CLIENT, keyA), ENCRYPTION_KEY, ec.jwk)] }), `${C}.jwks.keys[1]: this build does not verify ES256`],
];

describe("a registry in the RS256-only module ('rfc7523/rs256') that needs another algorithm", () => {
  for (const [what, registry, message] of ROWS) {
    test(what, () => {
      const err = thrown(() => new rs256.AssertionVerifier({ registry }));
      assert.ok(err instanceof TypeError, String(err));
      assert.equal(err.message, `registry: ${message}${HINT}`);
      // The same document as JSON text: the same refusal.
      assert.equal(thrown(() => new rs256.AssertionVerifier({ registry: JSON.stringify(registry) })).message, err.message);
      // The main module verifies every algorithm: the document is fine there.
      assert.doesNotThrow(() => new m.AssertionVerifier({ registry }));
    });
  }

  test('other registry mistakes keep their own message, without the module hint', () => {
    for (const [registry, message] of [
      [registryDoc({ clients: [registeredClient(CLIENT, keyA, { token_endpoint_auth_signing_alg: 'HS256' })] }), `${C}.token_endpoint_auth_signing_alg: must be one of the supported algorithms: RS256 PS256 ES256 EdDSA Ed25519`],
      [registryDoc({ clients: [withKeys(registeredClient(CLIENT, keyA), ENCRYPTION_KEY)] }), `${C}.jwks: the JWK Set has no key usable for a supported algorithm`],
      [registryDoc({ clients: [registeredClient(CLIENT, keyA, { token_endpoint_auth_signing_alg: 'RS256' })], issuers: [registeredIssuer(ISSUER, keyA)] }), `${I}.jwks: the same public key is listed for ${C}: a key belongs to one party (RFC 8725 section 3.8)`],
    ]) {
      for (const module of [rs256, m]) {
        const err = thrown(() => new module.AssertionVerifier({ registry }));
        assert.ok(err instanceof TypeError);
        assert.equal(err.message, `registry: ${message}`);
      }
    }
  });

  test('a party with keys of several types loads: its RSA key verifies RS256, the others are skipped (unsupported_algorithm)', async () => {
    const registry = registryDoc({ clients: [withKeys(registeredClient(CLIENT, keyC), ec.jwk, ed.jwk, keyC.jwk)] });
    const options = { ...at(NOW), use: 'client_authentication' };
    // Signed by jose, an independent signer.
    const sign = (alg, key, kid) => new SignJWT(clientClaims()).setProtectedHeader({ alg, kid }).sign(key);
    const verifier = new rs256.AssertionVerifier({ registry, replay: 'external' });
    assert.equal(verifier.verify(await sign('RS256', keyC.privateKey, keyC.jwk.kid), options).header.alg, 'RS256');
    const main = new m.AssertionVerifier({ registry, replay: 'external' });
    for (const [alg, key, kid] of [['ES256', ec.privateKey, 'ec-1'], ['EdDSA', ed.privateKey, 'ed-1']]) {
      const token = await sign(alg, key, kid);
      const err = thrown(() => verifier.verify(token, options));
      assert.equal(`${err.reason} ${err.status}`, 'unsupported_algorithm 401', alg);
      // The main module verifies it with the same document.
      assert.equal(main.verify(token, options).header.alg, alg);
    }
  });

  test("an issuer's claims (claim conditions) are refused at load, naming the main module; the main module loads and checks them", () => {
    const registry = registryDoc({ issuers: [registeredIssuer(ISSUER, keyB, { claims: { repository: 'octo-org/octo-repo' } })] });
    const err = thrown(() => new rs256.AssertionVerifier({ registry }));
    assert.ok(err instanceof TypeError);
    assert.equal(
      err.message,
      `registry: issuers[0] "${ISSUER}".claims: claim conditions are not in this build (feature claim-conditions) (rfc7523/rs256 does not check claim conditions: import "rfc7523")`,
    );
    // Never loaded without its conditions: the same document in the main module checks them.
    const main = new m.AssertionVerifier({ registry });
    const grant = (repository) => signRaw({ alg: 'RS256' }, { iss: ISSUER, sub: 'alice', aud: AS, exp: NOW + 300, iat: NOW, jti: `g-${Math.random()}`, repository }, keyB);
    assert.equal(main.verify(grant('octo-org/octo-repo'), { ...at(NOW), use: 'grant' }).claims.repository, 'octo-org/octo-repo');
    assert.equal(thrown(() => main.verify(grant('octo-org/other'), { ...at(NOW), use: 'grant' })).reason, 'claim_mismatch');
  });
});
