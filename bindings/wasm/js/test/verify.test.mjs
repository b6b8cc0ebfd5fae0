// AssertionVerifier.verify from JavaScript: every reason code, the error fields, currentDate,
// options and keys (the one-party `keys` form; registries: parties.test.mjs).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  AS,
  CLIENT,
  CLIENT_ASSERTION_TYPE,
  GRANT_TYPE,
  ISSUER,
  NOW,
  at,
  clientClaims,
  clientVerifier,
  coreReasons,
  form,
  grantClaims,
  grantVerifier,
  jwks,
  key1024,
  key3072,
  keyA,
  keyB,
  m,
  registeredIssuer,
  registryDoc,
  registryVerifier,
  signRaw,
  thrown,
} from '../support/fixtures.mjs';

const RS256 = { alg: 'RS256', typ: 'JWT' };

/** A registry whose issuer (key B) has claim conditions (workload identity, e.g. GitHub
 *  Actions): the registry JSON goes through the core, so `claims` works as in the CLI. */
const conditionsVerifier = () =>
  registryVerifier(
    registryDoc({
      issuers: [registeredIssuer(ISSUER, keyB, { claims: { repository: 'octo-org/octo-repo', ref: 'refs/heads/main' } })],
    }),
  );

/** One way to reach each reason from JS: [reason, jose-style code, claim, () => error]. */
const cases = [
  ['malformed', 'ERR_JWT_INVALID', undefined, () => grantVerifier().verify('not-a-jwt', at(NOW))],
  ['too_large', 'ERR_JWT_INVALID', undefined, () => grantVerifier().verify(`${'a'.repeat(9000)}.b.c`, at(NOW))],
  [
    'unsupported_algorithm',
    'ERR_JOSE_ALG_NOT_ALLOWED',
    undefined,
    () => grantVerifier().verify(signRaw({ alg: 'RS384' }, grantClaims()), at(NOW)),
  ],
  [
    'unsupported_header',
    'ERR_JOSE_NOT_SUPPORTED',
    undefined,
    () => grantVerifier().verify(signRaw({ alg: 'RS256', crit: ['exp'], exp: 1 }, grantClaims()), at(NOW)),
  ],
  [
    'unknown_key',
    'ERR_JWKS_NO_MATCHING_KEY',
    undefined,
    () => grantVerifier().verify(signRaw({ ...RS256, kid: 'no-such-key' }, grantClaims()), at(NOW)),
  ],
  [
    'invalid_signature',
    'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    undefined,
    () => grantVerifier().verify(signRaw(RS256, grantClaims(), keyB), at(NOW)),
  ],
  [
    'missing_claim',
    'ERR_JWT_CLAIM_VALIDATION_FAILED',
    'sub',
    () => grantVerifier().verify(signRaw(RS256, grantClaims({ sub: undefined })), at(NOW)),
  ],
  [
    'invalid_claim',
    'ERR_JWT_CLAIM_VALIDATION_FAILED',
    'exp',
    () => grantVerifier().verify(signRaw(RS256, grantClaims({ exp: String(NOW + 60) })), at(NOW)),
  ],
  [
    'issuer_mismatch',
    'ERR_JWT_CLAIM_VALIDATION_FAILED',
    'iss',
    () => grantVerifier().verify(signRaw(RS256, grantClaims({ iss: 'https://evil.example' })), at(NOW)),
  ],
  [
    'subject_mismatch',
    'ERR_JWT_CLAIM_VALIDATION_FAILED',
    'sub',
    () => grantVerifier({ subject: 'bob' }).verify(signRaw(RS256, grantClaims()), at(NOW)),
  ],
  [
    'audience_mismatch',
    'ERR_JWT_CLAIM_VALIDATION_FAILED',
    'aud',
    () => grantVerifier().verify(signRaw(RS256, grantClaims({ aud: 'https://other.example' })), at(NOW)),
  ],
  [
    'expired',
    'ERR_JWT_EXPIRED',
    'exp',
    () => grantVerifier().verify(signRaw(RS256, grantClaims({ exp: NOW - 31 })), at(NOW)),
  ],
  [
    'not_yet_valid',
    'ERR_JWT_CLAIM_VALIDATION_FAILED',
    'nbf',
    () => grantVerifier().verify(signRaw(RS256, grantClaims({ nbf: NOW + 31 })), at(NOW)),
  ],
  [
    'issued_in_future',
    'ERR_JWT_CLAIM_VALIDATION_FAILED',
    'iat',
    () => grantVerifier().verify(signRaw(RS256, grantClaims({ iat: NOW + 31 })), at(NOW)),
  ],
  [
    'lifetime_too_long',
    'ERR_JWT_CLAIM_VALIDATION_FAILED',
    'exp',
    () => grantVerifier({ maxLifetime: 60 }).verify(signRaw(RS256, grantClaims({ exp: NOW + 61 })), at(NOW)),
  ],
  [
    'too_old',
    'ERR_JWT_EXPIRED',
    'iat',
    () => grantVerifier({ maxTokenAge: 60 }).verify(signRaw(RS256, grantClaims({ iat: NOW - 91 })), at(NOW)),
  ],
  [
    'replayed',
    'ERR_JWT_REPLAYED',
    'jti',
    () => {
      const verifier = grantVerifier();
      const token = signRaw(RS256, grantClaims());
      verifier.verify(token, at(NOW));
      return verifier.verify(token, at(NOW + 1));
    },
  ],
  [
    'replay_store_full',
    'ERR_JWT_REPLAY_STORE_FULL',
    undefined,
    () => grantVerifier({ replay: { checkAndInsert: () => 'yes' } }).verify(signRaw(RS256, grantClaims()), at(NOW)),
  ],
  [
    'invalid_type',
    'ERR_JWT_CLAIM_VALIDATION_FAILED',
    undefined,
    () => clientVerifier({ requireTyp: true }).verify(signRaw(RS256, clientClaims()), at(NOW)),
  ],
  [
    // An issuer's claim conditions (the registry's `claims`): a grant from another repository.
    'claim_mismatch',
    'ERR_JWT_CLAIM_VALIDATION_FAILED',
    'repository',
    () =>
      conditionsVerifier().verify(signRaw(RS256, grantClaims({ repository: 'octo-org/other-repo' }), keyB), {
        ...at(NOW),
        use: 'grant',
      }),
  ],
  [
    'invalid_request',
    'ERR_OAUTH_INVALID_REQUEST',
    undefined,
    () => clientVerifier().verifyTokenRequest(form({ assertion: 'x' }), at(NOW)),
  ],
  [
    'unsupported_grant_type',
    'ERR_OAUTH_UNSUPPORTED_GRANT_TYPE',
    undefined,
    () => grantVerifier().verifyTokenRequest(form({ grant_type: 'password', username: 'a' }), at(NOW)),
  ],
  [
    'unsupported_assertion_type',
    'ERR_OAUTH_UNSUPPORTED_ASSERTION_TYPE',
    undefined,
    () =>
      clientVerifier().verifyTokenRequest(
        form({ grant_type: 'client_credentials', client_assertion_type: 'urn:example:saml', client_assertion: 'x' }),
        at(NOW),
      ),
  ],
  [
    'unsupported_client_authentication',
    'ERR_OAUTH_UNSUPPORTED_CLIENT_AUTHENTICATION',
    undefined,
    () => clientVerifier().verifyTokenRequest(form({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: 's3cret' }), at(NOW)),
  ],
  [
    // The client's keys are fetched from its jwks_uri, and the fetch fails (an asynchronous
    // method: only they fetch). remote.test.mjs has every kind of failure.
    'keys_unavailable',
    'ERR_JWKS_UNAVAILABLE',
    undefined,
    () =>
      new m.AssertionVerifier({
        registry: registryDoc({
          clients: [{ client_id: CLIENT, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://client.example/jwks' }],
          issuers: [],
        }),
        fetch: () => Promise.reject(new TypeError('offline')),
      }).verifyAsync(signRaw(RS256, clientClaims()), at(NOW)),
  ],
];

describe('every reason code is reachable from JS', () => {
  test('the cases cover every reason of the core (crates/rfc7523/src/error.rs)', () => {
    const reasons = coreReasons();
    assert.equal(reasons.length, 25);
    assert.deepEqual([...cases.map(([reason]) => reason)].sort(), reasons.sort());
  });

  for (const [reason, code, claim, make] of cases) {
    test(reason, async () => {
      // Each case is checked against a control: the same path with the fault removed passes
      // elsewhere in this file; here the error must be exactly the one expected. A case may
      // be asynchronous (a rejected promise).
      let err;
      try {
        await make();
      } catch (e) {
        err = e;
      }
      assert.ok(err !== undefined, `${reason}: no error`);
      assert.ok(err instanceof m.AssertionError, `${reason}: ${err}`);
      assert.equal(err.reason, reason);
      assert.equal(err.code, code);
      assert.equal(err.claim, claim);
    });
  }
});

describe('registry claim conditions (an issuer\'s `claims`)', () => {
  const g = { ...at(NOW), use: 'grant' };
  const grant = (claims) => signRaw(RS256, grantClaims(claims), keyB);
  test('met: accepted, the claims returned as signed', () => {
    const claims = { repository: 'octo-org/octo-repo', ref: 'refs/heads/main' };
    assert.equal(conditionsVerifier().verify(grant(claims), g).claims.repository, 'octo-org/octo-repo');
  });
  test('missing, not a string or another value: claim_mismatch naming the claim, never the value', () => {
    for (const [claims, claim] of [
      [{ repository: 'octo-org/octo-repo' }, 'ref'],
      [{ repository: 'octo-org/octo-repo', ref: 42 }, 'ref'],
      [{ repository: 'evil-org/octo-repo', ref: 'refs/heads/main' }, 'repository'],
    ]) {
      const err = thrown(() => conditionsVerifier().verify(grant(claims), g));
      assert.deepEqual([err.reason, err.claim, err.status, err.oauthError], ['claim_mismatch', claim, 400, 'invalid_grant']);
      assert.ok(err.message.includes(`the ${claim} claim`), err.message);
      assert.ok(!err.message.includes('evil') && !err.body.includes('evil'));
    }
  });
  test('a condition on a governed claim is refused at construction, naming the issuer and field', () => {
    const err = thrown(() => registryVerifier(registryDoc({ issuers: [registeredIssuer(ISSUER, keyB, { claims: { sub: 'x' } })] })));
    assert.ok(err instanceof TypeError, `${err}`);
    assert.match(err.message, /^registry: issuers\[0\] "https:\/\/idp\.example"\.claims: sub is checked by the profile \(sub: use subjects\)$/);
  });
});

describe('errors', () => {
  test('are real Error objects with jose-style fields and an RFC 6749 §5.2 body', () => {
    const err = thrown(() => grantVerifier().verify(signRaw(RS256, grantClaims({ exp: NOW - 100 })), at(NOW)));
    assert.ok(err instanceof Error);
    assert.ok(err instanceof m.AssertionError);
    assert.equal(m.errorClass(), m.AssertionError);
    assert.equal(err.name, 'AssertionError');
    assert.equal(err.message, 'the assertion expired 100 s ago (leeway 30 s)');
    assert.match(err.stack, /AssertionError: the assertion expired/);
    assert.equal(err.code, 'ERR_JWT_EXPIRED');
    assert.equal(err.reason, 'expired');
    assert.equal(err.claim, 'exp');
    assert.equal(err.oauthError, 'invalid_grant');
    assert.equal(err.status, 400);
    assert.deepEqual(JSON.parse(err.body), {
      error: 'invalid_grant',
      error_description: 'the assertion expired 100 s ago (leeway 30 s)',
    });
    assert.equal(Object.prototype.toString.call(err), '[object Error]');
  });

  test('client authentication failures are invalid_client, HTTP 401', () => {
    const err = thrown(() => clientVerifier().verify(signRaw(RS256, clientClaims({ aud: [AS, 'x'] })), at(NOW)));
    assert.equal(err.reason, 'audience_mismatch');
    assert.equal(err.oauthError, 'invalid_client');
    assert.equal(err.status, 401);
    assert.equal(JSON.parse(err.body).error, 'invalid_client');
  });

  test('a signature failure says nothing more than "invalid signature"', () => {
    const err = thrown(() => grantVerifier().verify(signRaw(RS256, grantClaims(), keyB), at(NOW)));
    assert.equal(err.message, 'invalid signature');
    assert.equal(err.claim, undefined);
    // A signature of another length than the key's modulus is malformed (RFC 8017 §8.2.2).
    const long = thrown(() => grantVerifier().verify(signRaw(RS256, grantClaims(), key3072), at(NOW)));
    assert.equal(long.reason, 'malformed');
  });

  test('descriptions never echo attacker input', () => {
    const evil = 'https://evil.example/"<script>';
    const err = thrown(() => grantVerifier().verify(signRaw(RS256, grantClaims({ iss: evil })), at(NOW)));
    assert.ok(!err.message.includes('evil') && !err.body.includes('evil'));
  });
});

describe('verify', () => {
  test('returns the header and claims of a valid grant', () => {
    const claims = grantClaims({ scope: 'read', nested: { a: [1, 2] } });
    const result = grantVerifier().verify(signRaw({ ...RS256, kid: 'key-a' }, claims), at(NOW));
    assert.deepEqual(result.header, { ...RS256, kid: 'key-a' });
    assert.deepEqual(result.claims, claims);
    assert.equal(result.replay, undefined);
  });

  test('client authentication: iss == sub == clientId, aud the sole value', () => {
    const token = signRaw({ alg: 'RS256', typ: 'client-authentication+jwt' }, clientClaims({ aud: [AS] }));
    assert.equal(clientVerifier({ requireTyp: true }).verify(token, at(NOW)).claims.sub, CLIENT);
    assert.equal(clientVerifier({ typ: 'client-authentication+jwt' }).verify(token, at(NOW)).claims.iss, CLIENT);
    const other = signRaw(RS256, clientClaims({ iss: 'other', sub: 'other' }));
    assert.equal(thrown(() => clientVerifier().verify(other, at(NOW))).reason, 'issuer_mismatch');
  });

  test('grants refuse a client-authentication typ (RFC 8725 §3.11)', () => {
    const token = signRaw({ alg: 'RS256', typ: 'client-authentication+jwt' }, grantClaims());
    assert.equal(thrown(() => grantVerifier().verify(token, at(NOW))).reason, 'invalid_type');
  });

  test('clockTolerance is the leeway on exp, nbf and iat', () => {
    const token = () => signRaw(RS256, grantClaims({ exp: NOW - 5 }));
    assert.equal(thrown(() => grantVerifier({ clockTolerance: 5 }).verify(token(), at(NOW))).reason, 'expired');
    assert.ok(grantVerifier({ clockTolerance: 6 }).verify(token(), at(NOW)));
    assert.ok(grantVerifier().verify(signRaw(RS256, grantClaims({ nbf: NOW + 30 })), at(NOW)));
  });

  test('requireJti (the default) and requireIat', () => {
    const noJti = signRaw(RS256, grantClaims({ jti: undefined }));
    assert.ok(grantVerifier({ requireJti: false }).verify(noJti, at(NOW)));
    for (const options of [{}, { requireJti: true }]) {
      const err = thrown(() => grantVerifier(options).verify(noJti, at(NOW)));
      assert.deepEqual([err.reason, err.claim], ['missing_claim', 'jti']);
    }
    const noIat = signRaw(RS256, grantClaims({ iat: undefined }));
    assert.equal(thrown(() => grantVerifier({ requireIat: true }).verify(noIat, at(NOW))).claim, 'iat');
    assert.equal(thrown(() => grantVerifier({ maxTokenAge: 60 }).verify(noIat, at(NOW))).claim, 'iat');
  });

  test('issuer accepts a one-element array, audience any array', () => {
    const verifier = grantVerifier({ issuer: [ISSUER], audience: ['https://token.example', AS] });
    assert.ok(verifier.verify(signRaw(RS256, grantClaims({ aud: ['https://x.example', AS] })), at(NOW)));
  });
});

describe('currentDate', () => {
  const token = () => signRaw(RS256, grantClaims());

  test('is the time of the check', () => {
    assert.ok(grantVerifier().verify(token(), at(NOW + 329)));
    assert.equal(thrown(() => grantVerifier().verify(token(), at(NOW + 330))).reason, 'expired');
    assert.equal(thrown(() => grantVerifier().verify(token(), at(NOW - 31))).reason, 'issued_in_future');
  });

  test('defaults to the clock when omitted', () => {
    const now = Math.floor(Date.now() / 1000);
    const fresh = signRaw(RS256, grantClaims({ iat: now, exp: now + 60 }));
    assert.ok(grantVerifier().verify(fresh));
    assert.ok(grantVerifier().verify(signRaw(RS256, grantClaims({ iat: now, exp: now + 60 })), {}));
    assert.ok(grantVerifier().verify(signRaw(RS256, grantClaims({ iat: now, exp: now + 60 })), undefined));
    assert.equal(thrown(() => grantVerifier().verify(token())).reason, 'expired');
  });

  test('an invalid date is a TypeError, never the clock', () => {
    for (const currentDate of [new Date(Number.NaN), NOW * 1000, String(new Date()), null, new Date(-1000)]) {
      const err = thrown(() => grantVerifier().verify(token(), { currentDate }));
      assert.ok(err instanceof TypeError, `${currentDate}: ${err}`);
      assert.ok(!(err instanceof m.AssertionError));
    }
    assert.ok(thrown(() => grantVerifier().verify(token(), 42)) instanceof TypeError);
    assert.ok(thrown(() => grantVerifier().verify(token(), { currentdate: new Date() })) instanceof TypeError);
  });

  test('whole seconds: fractions of a second never extend validity', () => {
    const exp = NOW + 10;
    const t = signRaw(RS256, grantClaims({ exp }));
    assert.equal(thrown(() => grantVerifier({ clockTolerance: 0 }).verify(t, { currentDate: new Date(exp * 1000 + 1) })).reason, 'expired');
    assert.ok(grantVerifier({ clockTolerance: 0 }).verify(t, { currentDate: new Date(exp * 1000 - 1) }));
  });
});

describe('options and keys', () => {
  const token = () => signRaw(RS256, grantClaims());

  test('keys: a JWKS object or JSON, one JWK, SPKI and PKCS#1 PEM', () => {
    for (const keys of [jwks, JSON.stringify(jwks), keyA.jwk, JSON.stringify(keyA.jwk), keyA.spkiPem, keyA.pkcs1PublicPem]) {
      assert.ok(new m.AssertionVerifier({ keys, issuer: ISSUER, audience: AS }).verify(token(), at(NOW)));
    }
    const both = { keys: [key3072.jwk, keyB.jwk, keyA.jwk] };
    assert.ok(new m.AssertionVerifier({ keys: both, issuer: ISSUER, audience: AS }).verify(token(), at(NOW)));
  });

  test('bad keys are a TypeError at construction', () => {
    for (const keys of [key1024.spkiPem, keyA.privateJwk, { keys: [] }, 'garbage', 42, undefined]) {
      const err = thrown(() => new m.AssertionVerifier({ keys, issuer: ISSUER, audience: AS }));
      assert.ok(err instanceof TypeError, String(err));
    }
  });

  test('bad or contradictory options are a TypeError', () => {
    const bad = [
      undefined,
      'options',
      { keys: jwks, issuer: ISSUER },
      { keys: jwks, audience: AS },
      { keys: jwks, clientId: CLIENT, audience: [AS, 'https://token.example'] },
      { keys: jwks, clientId: CLIENT, audience: AS, subject: 'alice' },
      { keys: jwks, issuer: ISSUER, audience: AS, requireTyp: true },
      { keys: jwks, clientId: CLIENT, audience: AS, typ: 'JWT' },
      { keys: jwks, issuer: ISSUER, audience: AS, clockTolerance: -1 },
      { keys: jwks, issuer: ISSUER, audience: AS, clockTolerance: '30s' },
      { keys: jwks, issuer: ISSUER, audience: AS, maxLifetime: Number.POSITIVE_INFINITY },
      { keys: jwks, issuer: ISSUER, audience: AS, maxTokenAge: Number.NaN },
      { keys: jwks, issuer: ISSUER, audience: AS, requireJti: 'yes' },
      { keys: jwks, issuer: 42, audience: AS },
      { keys: jwks, issuer: ISSUER, audience: [AS, 7] },
      { keys: jwks, issuer: ISSUER, audience: AS, replay: 'memory' },
      { keys: jwks, issuer: ISSUER, audience: AS, replay: {} },
      // A typo must not silently drop a check.
      { keys: jwks, issuer: ISSUER, audience: AS, requireJTI: true },
      { keys: jwks, issuer: ISSUER, audience: AS, maxAge: 60 },
    ];
    for (const options of bad) {
      const err = thrown(() => new m.AssertionVerifier(options));
      assert.ok(err instanceof TypeError, `${JSON.stringify(options)}: ${err}`);
    }
    assert.match(
      thrown(() => new m.AssertionVerifier({ keys: jwks, issuer: ISSUER, audience: AS, requireJTI: true })).message,
      /unknown option "requireJTI"/,
    );
  });

  test('issuer and clientId together (two parties, one key set) are a TypeError', () => {
    const err = thrown(() => new m.AssertionVerifier({ keys: jwks, issuer: ISSUER, clientId: CLIENT, audience: AS }));
    assert.ok(err instanceof TypeError);
    assert.match(err.message, /one key set would be trusted for every party/);
  });

  test('free() releases a verifier; using it afterwards throws', () => {
    const verifier = grantVerifier();
    verifier.free();
    assert.throws(() => verifier.verify(token(), at(NOW)));
  });

  test('token requests reach the same reasons as verify()', () => {
    const body = form({ grant_type: GRANT_TYPE, assertion: signRaw(RS256, grantClaims({ exp: NOW - 60 })) });
    assert.equal(thrown(() => grantVerifier().verifyTokenRequest(body, at(NOW))).reason, 'expired');
    const client = form({
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: signRaw(RS256, clientClaims(), keyB),
    });
    assert.equal(thrown(() => clientVerifier().verifyTokenRequest(client, at(NOW))).reason, 'invalid_signature');
  });
});
