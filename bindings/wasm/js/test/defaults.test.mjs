// The safe defaults, in both forms (one party with `keys`, a registry) and both uses: `jti`
// required, a lifetime of at most 3600 s (so `exp` = 2^53 − 1 is refused), and replay records
// that never outlive the assertion's acceptance (iat + maxLifetime + 2 · leeway at most).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  AS,
  CLIENT,
  ISSUER,
  NOW,
  at,
  clientClaims,
  grantClaims,
  jwks,
  keyA,
  keyB,
  m,
  registeredClient,
  registeredIssuer,
  registryDoc,
  signRaw,
  thrown,
} from '../support/fixtures.mjs';

const FAR_FUTURE = 2 ** 53 - 1;

/**
 * The four ways to configure one party: [name, make(policy), claims(overrides), key, use].
 * `policy` is { maxLifetime, requireJti, leeway } in either form's names.
 */
const FORMS = [
  [
    'keys form, a trusted issuer',
    ({ maxLifetime, requireJti, leeway, ...rest } = {}) =>
      new m.AssertionVerifier({ keys: jwks, issuer: ISSUER, audience: AS, maxLifetime, requireJti, clockTolerance: leeway, ...rest }),
    grantClaims,
    keyA,
    'grant',
  ],
  [
    'keys form, a client',
    ({ maxLifetime, requireJti, leeway, ...rest } = {}) =>
      new m.AssertionVerifier({ keys: jwks, clientId: CLIENT, audience: AS, maxLifetime, requireJti, clockTolerance: leeway, ...rest }),
    clientClaims,
    keyA,
    'client_authentication',
  ],
  [
    'registry, a trusted issuer',
    ({ maxLifetime, requireJti, leeway, ...rest } = {}) =>
      new m.AssertionVerifier({
        registry: registryDoc({ issuers: [registeredIssuer(ISSUER, keyB, { max_lifetime: maxLifetime, require_jti: requireJti, leeway })] }),
        ...rest,
      }),
    grantClaims,
    keyB,
    'grant',
  ],
  [
    'registry, a client',
    ({ maxLifetime, requireJti, leeway, ...rest } = {}) =>
      new m.AssertionVerifier({
        registry: registryDoc({ clients: [registeredClient(CLIENT, keyA, { max_lifetime: maxLifetime, require_jti: requireJti, leeway })] }),
        ...rest,
      }),
    clientClaims,
    keyA,
    'client_authentication',
  ],
];

/** The reason of the refusal, or 'ok'. */
function outcome(verifier, token, use, seconds = NOW) {
  try {
    verifier.verify(token, { ...at(seconds), use });
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof m.AssertionError, String(err));
    return `${err.reason}${err.claim ? `:${err.claim}` : ''}`;
  }
}

describe('safe defaults, in every form', () => {
  /** [what, claim overrides, expected with the defaults] */
  const cases = [
    ['a valid assertion', {}, 'ok'],
    ['no jti', { jti: undefined }, 'missing_claim:jti'],
    ['a lifetime of 3600 s', { iat: NOW, exp: NOW + 3600 }, 'ok'],
    ['a lifetime of 3601 s', { iat: NOW, exp: NOW + 3601 }, 'lifetime_too_long:exp'],
    ['3600 s from now, without iat', { iat: undefined, exp: NOW + 3600 }, 'ok'],
    ['3601 s from now, without iat', { iat: undefined, exp: NOW + 3601 }, 'lifetime_too_long:exp'],
    ['exp = 2^53 − 1', { exp: FAR_FUTURE }, 'lifetime_too_long:exp'],
    ['exp = 2^53 − 1, without iat', { iat: undefined, exp: FAR_FUTURE }, 'lifetime_too_long:exp'],
    ['exp − iat = 3599.2 s with fractions', { iat: NOW + 0.9, exp: NOW + 3600.1 }, 'ok'],
  ];

  for (const [form, make, claims, key, use] of FORMS) {
    test(form, () => {
      for (const [what, overrides, expected] of cases) {
        assert.equal(outcome(make(), signRaw({ alg: 'RS256' }, claims(overrides), key), use), expected, what);
      }
    });
  }

  test('both stay settable: requireJti false, a longer or shorter maxLifetime', () => {
    for (const [form, make, claims, key, use] of FORMS) {
      const noJti = signRaw({ alg: 'RS256' }, claims({ jti: undefined }), key);
      assert.equal(outcome(make({ requireJti: false }), noJti, use), 'ok', form);
      const long = signRaw({ alg: 'RS256' }, claims({ iat: NOW, exp: NOW + 7200 }), key);
      assert.equal(outcome(make({ maxLifetime: 7200 }), long, use), 'ok', form);
      assert.equal(outcome(make({ maxLifetime: 7199 }), long, use), 'lifetime_too_long:exp', form);
      assert.equal(outcome(make({ maxLifetime: 86400 }), signRaw({ alg: 'RS256' }, claims({ exp: FAR_FUTURE }), key), use), 'lifetime_too_long:exp', form);
    }
  });

  test('maxLifetime is from 1 to 86400 seconds: anything else is a TypeError', () => {
    for (const [form, make] of FORMS.slice(0, 2)) {
      for (const maxLifetime of [1, 86400]) assert.ok(make({ maxLifetime }), `${form} ${maxLifetime}`);
      for (const maxLifetime of [0, 0.5, 86401, -1, Number.NaN, Number.POSITIVE_INFINITY, '300', FAR_FUTURE]) {
        const err = thrown(() => make({ maxLifetime }));
        assert.ok(err instanceof TypeError, `${form} ${maxLifetime}`);
      }
    }
    assert.match(thrown(() => FORMS[0][1]({ maxLifetime: 86401 })).message, /maxLifetime must be from 1 to 86400 seconds/);
  });
});

describe('replay records never outlive the assertion', () => {
  test("replay: 'external': expiresAt ≤ (iat or now) + maxLifetime + 2 · leeway, for every accepted assertion of a grid", () => {
    let accepted = 0;
    for (const [form, make, claims, key, use] of FORMS) {
      for (const maxLifetime of [undefined, 60, 3600]) {
        for (const leeway of [0, 30, 600]) {
          const verifier = make({ maxLifetime, leeway, replay: 'external' });
          const max = maxLifetime ?? 3600;
          // iat from far past to the edge of the leeway, or absent; exp around iat + max.
          for (const iatOffset of [undefined, -2 * max, -max, -leeway, 0, leeway, leeway + 1]) {
            const iat = iatOffset === undefined ? undefined : NOW + iatOffset;
            const from = iat ?? NOW;
            for (const expOffset of [1, max - 1, max, max + 1, max + leeway, 2 * max, FAR_FUTURE - from]) {
              const token = signRaw({ alg: 'RS256' }, claims({ iat, exp: from + expOffset, jti: `j-${accepted}-${Math.random()}` }), key);
              let result;
              try {
                result = verifier.verify(token, { ...at(NOW), use });
              } catch (err) {
                assert.ok(err instanceof m.AssertionError, String(err));
                continue;
              }
              accepted++;
              const bound = from + max + 2 * (leeway ?? 30);
              const label = `${form}, max ${max}, leeway ${leeway}, iat ${iatOffset}, exp ${expOffset}`;
              assert.ok(result.replay.expiresAt <= bound, `${label}: ${result.replay.expiresAt} > ${bound}`);
              assert.ok(result.replay.expiresAt > NOW, label);
              assert.ok(expOffset <= max, `${label}: accepted`);
            }
          }
        }
      }
    }
    assert.ok(accepted > 200, `${accepted} accepted assertions`);
  });
});
