// Replay protection (the in-memory default, a synchronous hook, "external") and token
// requests of both uses, with the status and body of their errors.
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
  form,
  grantClaims,
  grantVerifier,
  keyB,
  keyC,
  m,
  registeredClient,
  registeredIssuer,
  registryDoc,
  registryVerifier,
  signRaw,
  thrown,
} from '../support/fixtures.mjs';

const RS256 = { alg: 'RS256' };

describe('replay: the default in-memory store', () => {
  test('is per verifier and lasts until exp + clockTolerance', () => {
    const token = signRaw(RS256, grantClaims({ exp: NOW + 100 }));
    const first = grantVerifier();
    assert.ok(first.verify(token, at(NOW)));
    assert.equal(thrown(() => first.verify(token, at(NOW + 129))).reason, 'replayed');
    // Another verifier has its own store.
    assert.ok(grantVerifier().verify(token, at(NOW)));
  });

  test('the same jti from two issuers is two entries', () => {
    const IDP2 = 'https://idp2.example';
    const verifier = registryVerifier(registryDoc({ clients: [], issuers: [registeredIssuer(ISSUER, keyB), registeredIssuer(IDP2, keyC)] }));
    assert.ok(verifier.verify(signRaw(RS256, grantClaims({ jti: 'same' }), keyB), at(NOW)));
    assert.ok(verifier.verify(signRaw(RS256, grantClaims({ jti: 'same', iss: IDP2 }), keyC), at(NOW)));
    assert.equal(thrown(() => verifier.verify(signRaw(RS256, grantClaims({ jti: 'same' }), keyB), at(NOW))).reason, 'replayed');
  });

  test('a refused assertion takes no entry', () => {
    const verifier = grantVerifier({ subject: 'alice' });
    const claims = grantClaims({ jti: 'once' });
    assert.equal(thrown(() => verifier.verify(signRaw(RS256, { ...claims, sub: 'bob' }), at(NOW))).reason, 'subject_mismatch');
    assert.ok(verifier.verify(signRaw(RS256, claims), at(NOW)));
  });
});

describe('replay: the default store is sized for real traffic (replayCapacity)', () => {
  test('holds more than the old 4,096 live entries by default, and still refuses a replay', () => {
    const verifier = grantVerifier();
    const tokens = Array.from({ length: 4100 }, (_, i) => signRaw(RS256, grantClaims({ jti: `many-${i}` })));
    for (const token of tokens) assert.ok(verifier.verify(token, at(NOW)));
    assert.equal(thrown(() => verifier.verify(tokens[0], at(NOW))).reason, 'replayed');
    assert.equal(thrown(() => verifier.verify(tokens[4099], at(NOW))).reason, 'replayed');
  });

  test('replayCapacity bounds the live entries: full refuses (fail closed) until they expire', () => {
    const verifier = grantVerifier({ replayCapacity: 2 });
    const token = (jti) => signRaw(RS256, grantClaims({ jti, exp: NOW + 60 }));
    assert.ok(verifier.verify(token('a'), at(NOW)));
    assert.ok(verifier.verify(token('b'), at(NOW)));
    assert.equal(thrown(() => verifier.verify(token('c'), at(NOW))).reason, 'replay_store_full');
    // exp + clockTolerance later the entries are gone, and the store takes new ones.
    const later = signRaw(RS256, grantClaims({ jti: 'd', iat: NOW + 90, exp: NOW + 150 }));
    assert.ok(verifier.verify(later, at(NOW + 90)));
  });

  test('replayCapacity: whole numbers from 1 to 1,048,576, only for the built-in store', () => {
    for (const bad of [0, 1.5, -1, '10', 1048577, Number.NaN, true]) {
      assert.throws(() => grantVerifier({ replayCapacity: bad }), TypeError, String(bad));
    }
    assert.ok(grantVerifier({ replayCapacity: 1 }));
    assert.throws(() => grantVerifier({ replayCapacity: 10, replay: 'external' }), /replayCapacity/);
  });
});

describe('replay: "external" within one request', () => {
  test('a client assertion and a grant with the same (iss, jti): the grant is replayed, 400 as the core answers, no records', () => {
    // One id registered both as a client and as a trusted issuer, with two keys.
    const SHARED = 'https://shared.example';
    const verifier = registryVerifier(
      registryDoc({ clients: [registeredClient(SHARED, keyB)], issuers: [registeredIssuer(SHARED, keyC)] }),
      { replay: 'external' },
    );
    const client = signRaw({ alg: 'RS256' }, clientClaims({ iss: SHARED, sub: SHARED, jti: 'same' }), keyB);
    const grant = signRaw({ alg: 'RS256' }, grantClaims({ iss: SHARED, jti: 'same' }), keyC);
    const body = form({ grant_type: GRANT_TYPE, assertion: grant, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: client });
    const err = thrown(() => verifier.verifyTokenRequest(body, at(NOW)));
    assert.equal(err.reason, 'replayed');
    assert.equal(err.status, 400);
    assert.equal(err.oauthError, 'invalid_grant');
    // The same answer as with the built-in store.
    const memory = registryVerifier(registryDoc({ clients: [registeredClient(SHARED, keyB)], issuers: [registeredIssuer(SHARED, keyC)] }));
    const same = thrown(() => memory.verifyTokenRequest(body, at(NOW)));
    assert.deepEqual([same.reason, same.status, same.body], [err.reason, err.status, err.body]);
    // Different jtis: two records, client assertion first.
    const other = form({ grant_type: GRANT_TYPE, assertion: signRaw({ alg: 'RS256' }, grantClaims({ iss: SHARED, jti: 'g2' }), keyC), client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: client });
    const result = verifier.verifyTokenRequest(other, at(NOW));
    assert.deepEqual(result.replay.map((r) => r.jti), ['same', 'g2']);
  });
});

describe('replay: a caller-supplied hook', () => {
  test('gets (key, expiresAt) with `this` bound to the store; false means replayed', () => {
    const seen = new Map();
    const store = {
      calls: [],
      checkAndInsert(key, expiresAt) {
        this.calls.push([key, expiresAt]);
        if (seen.has(key)) return false;
        seen.set(key, expiresAt);
        return true;
      },
    };
    const verifier = grantVerifier({ replay: store, clockTolerance: 10 });
    const token = signRaw(RS256, grantClaims({ exp: NOW + 60 }));
    verifier.verify(token, at(NOW));
    const err = thrown(() => verifier.verify(token, at(NOW)));
    assert.deepEqual([err.reason, err.code, err.claim], ['replayed', 'ERR_JWT_REPLAYED', 'jti']);
    assert.equal(store.calls.length, 2);
    const [key, expiresAt] = store.calls[0];
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(expiresAt, NOW + 70);
  });

  test('is not called for an assertion without jti, nor for a refused one', () => {
    let calls = 0;
    const verifier = grantVerifier({ replay: { checkAndInsert: () => ++calls > 0 }, requireJti: false });
    verifier.verify(signRaw(RS256, grantClaims({ jti: undefined })), at(NOW));
    thrown(() => verifier.verify(signRaw(RS256, grantClaims({ aud: 'x' })), at(NOW)));
    assert.equal(calls, 0);
  });

  test('fails closed: a throw, a non-boolean or a promise refuses, with the cause attached', () => {
    const boom = new Error('database down');
    for (const [answer, check] of [
      [() => { throw boom; }, (cause) => assert.equal(cause, boom)],
      [() => 1, (cause) => assert.ok(cause instanceof TypeError)],
      [() => undefined, (cause) => assert.ok(cause instanceof TypeError)],
      [async () => true, (cause) => assert.match(cause.message, /synchronously/)],
    ]) {
      const verifier = grantVerifier({ replay: { checkAndInsert: answer } });
      const err = thrown(() => verifier.verify(signRaw(RS256, grantClaims()), at(NOW)));
      assert.ok(err instanceof m.AssertionError);
      assert.equal(err.reason, 'replay_store_full');
      assert.equal(err.status, 400);
      check(err.cause);
    }
  });
});

describe('replay: "external"', () => {
  test('stores nothing and returns (key, iss, jti, expiresAt) for an async store', () => {
    const verifier = grantVerifier({ replay: 'external' });
    const claims = grantClaims({ jti: 'j-1', exp: NOW + 60 });
    const token = signRaw(RS256, claims);
    const first = verifier.verify(token, at(NOW));
    assert.deepEqual(Object.keys(first.replay).sort(), ['expiresAt', 'iss', 'jti', 'key']);
    assert.equal(first.replay.iss, ISSUER);
    assert.equal(first.replay.jti, 'j-1');
    assert.equal(first.replay.expiresAt, NOW + 90);
    // Nothing was stored: the caller's store decides.
    assert.deepEqual(verifier.verify(token, at(NOW)).replay, first.replay);
    // The key is the one a hook would get.
    let hookKey;
    grantVerifier({ replay: { checkAndInsert: (key) => ((hookKey = key), true) } }).verify(token, at(NOW));
    assert.equal(first.replay.key, hookKey);
    const optional = grantVerifier({ replay: 'external', requireJti: false });
    assert.equal(optional.verify(signRaw(RS256, grantClaims({ jti: undefined })), at(NOW)).replay, undefined);
  });

  test('a token request returns a record for each assertion, the client assertion first', () => {
    const verifier = registryVerifier(registryDoc(), { replay: 'external' });
    const body = form({
      grant_type: GRANT_TYPE,
      assertion: signRaw(RS256, grantClaims({ jti: 'grant-1' }), keyB),
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: signRaw(RS256, clientClaims({ jti: 'client-1' })),
    });
    const result = verifier.verifyTokenRequest(body, at(NOW));
    assert.deepEqual(result.replay.map((r) => [r.iss, r.jti]), [[CLIENT, 'client-1'], [ISSUER, 'grant-1']]);
  });
});

describe('verifyTokenRequest', () => {
  test('an authorization grant (RFC 7523 §2.1)', () => {
    const claims = grantClaims({ scope: 'read' });
    const body = form({ grant_type: GRANT_TYPE, assertion: signRaw(RS256, claims), scope: 'read' });
    const result = grantVerifier().verifyTokenRequest(body, at(NOW));
    assert.deepEqual(result, { use: 'grant', grantType: GRANT_TYPE, clientAuthentication: 'none', claims, compat: [] });
  });

  test('client authentication (§2.2) beside another grant type', () => {
    const claims = clientClaims();
    const body = form({
      grant_type: 'client_credentials',
      client_id: CLIENT,
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: signRaw({ alg: 'RS256', typ: 'client-authentication+jwt' }, claims),
    });
    const result = clientVerifier().verifyTokenRequest(body, at(NOW));
    assert.deepEqual(result, {
      use: 'client_authentication',
      grantType: 'client_credentials',
      clientAuthentication: 'client_assertion',
      claims,
      compat: [],
      clientClaims: claims,
      clientCompat: [],
    });
  });

  test('both: a grant from an authenticated client carries both parties\' claims', () => {
    const verifier = registryVerifier();
    const grant = grantClaims();
    const client = clientClaims();
    const body = form({
      grant_type: GRANT_TYPE,
      assertion: signRaw(RS256, grant, keyB),
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: signRaw(RS256, client),
    });
    assert.deepEqual(verifier.verifyTokenRequest(body, at(NOW)), {
      use: 'grant',
      grantType: GRANT_TYPE,
      clientAuthentication: 'client_assertion',
      claims: grant,
      compat: [],
      clientClaims: client,
      clientCompat: [],
    });
  });

  test('errors carry status and body, ready for a Response', async () => {
    const cases = [
      // [body, verifier, status, error, reason]
      [form({ grant_type: GRANT_TYPE, assertion: signRaw(RS256, grantClaims({ aud: 'x' })) }), grantVerifier(), 400, 'invalid_grant', 'audience_mismatch'],
      [
        form({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: signRaw(RS256, clientClaims(), keyB) }),
        clientVerifier(),
        401,
        'invalid_client',
        'invalid_signature',
      ],
      [form({ grant_type: GRANT_TYPE }), grantVerifier(), 400, 'invalid_request', 'invalid_request'],
      [`grant_type=${GRANT_TYPE}&grant_type=${GRANT_TYPE}`, grantVerifier(), 400, 'invalid_request', 'invalid_request'],
      [form({ grant_type: 'authorization_code', code: 'x' }), grantVerifier(), 400, 'unsupported_grant_type', 'unsupported_grant_type'],
      [
        form({ grant_type: 'client_credentials', client_assertion_type: 'urn:other', client_assertion: 'x' }),
        clientVerifier(),
        401,
        'invalid_client',
        'unsupported_assertion_type',
      ],
      [
        form({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: 'x', client_secret: 's' }),
        clientVerifier(),
        400,
        'invalid_request',
        'invalid_request',
      ],
    ];
    for (const [body, verifier, status, error, reason] of cases) {
      const err = thrown(() => verifier.verifyTokenRequest(body, at(NOW)));
      assert.ok(err instanceof m.AssertionError, String(err));
      assert.deepEqual([err.status, err.oauthError, err.reason], [status, error, reason], body);
      const response = new Response(err.body, { status: err.status, headers: { 'content-type': 'application/json' } });
      assert.equal(response.status, status);
      const json = await response.json();
      assert.equal(json.error, error);
      assert.equal(typeof json.error_description, 'string');
    }
  });

  test('a client assertion of another client (client_id mismatch) is an issuer problem', () => {
    const body = form({
      grant_type: 'client_credentials',
      client_id: 'someone-else',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: signRaw(RS256, clientClaims()),
    });
    const err = thrown(() => clientVerifier().verifyTokenRequest(body, at(NOW)));
    assert.deepEqual([err.status, err.reason], [401, 'issuer_mismatch']);
  });
});

describe('verifyTokenRequest: other client authentication methods (RFC 6749 §2.3)', () => {
  const SECRET_HEADER = 'Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW';
  const grant = () => signRaw(RS256, grantClaims(), keyB);
  const clientAssertion = () => signRaw(RS256, clientClaims());
  const CREDENTIALS = { grant_type: 'client_credentials', client_id: CLIENT };

  /**
   * [what, params(), authorization, outcome with "refuse" (the default), outcome with
   * "verified-by-caller"]; an outcome is [status, reason] or the expected result fields.
   */
  const cases = [
    ['client_secret, client_credentials', () => ({ ...CREDENTIALS, client_secret: 's' }), undefined, [401, 'unsupported_client_authentication'], { use: 'client_authentication', clientAuthentication: 'client_secret', claims: false }],
    ['client_secret, a jwt-bearer grant', () => ({ grant_type: GRANT_TYPE, assertion: grant(), client_id: CLIENT, client_secret: 's' }), undefined, [401, 'unsupported_client_authentication'], { use: 'grant', clientAuthentication: 'client_secret', claims: ISSUER }],
    ['Authorization, client_credentials', () => ({ grant_type: 'client_credentials' }), SECRET_HEADER, [401, 'unsupported_client_authentication'], { use: 'client_authentication', clientAuthentication: 'authorization_header', claims: false }],
    ['Authorization, a jwt-bearer grant', () => ({ grant_type: GRANT_TYPE, assertion: grant() }), SECRET_HEADER, [401, 'unsupported_client_authentication'], { use: 'grant', clientAuthentication: 'authorization_header', claims: ISSUER }],
    ['an empty Authorization header', () => ({ grant_type: 'client_credentials' }), '', [401, 'unsupported_client_authentication'], { use: 'client_authentication', clientAuthentication: 'authorization_header', claims: false }],
    ['client_assertion and client_secret', () => ({ ...CREDENTIALS, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: clientAssertion(), client_secret: 's' }), undefined, [400, 'invalid_request'], [400, 'invalid_request']],
    ['client_assertion and Authorization', () => ({ ...CREDENTIALS, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: clientAssertion() }), SECRET_HEADER, [400, 'invalid_request'], [400, 'invalid_request']],
    ['client_secret and Authorization', () => ({ ...CREDENTIALS, client_secret: 's' }), SECRET_HEADER, [400, 'invalid_request'], [400, 'invalid_request']],
    ['no client authentication, client_credentials', () => ({ grant_type: 'client_credentials' }), null, [400, 'unsupported_grant_type'], [400, 'unsupported_grant_type']],
    ['a client assertion', () => ({ ...CREDENTIALS, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: clientAssertion() }), undefined, { use: 'client_authentication', clientAuthentication: 'client_assertion', claims: CLIENT }, { use: 'client_authentication', clientAuthentication: 'client_assertion', claims: CLIENT }],
  ];

  for (const [mode, column] of [
    [undefined, 3],
    ['refuse', 3],
    ['verified-by-caller', 4],
  ]) {
    test(`otherClientAuthentication: ${mode ?? 'default'}`, () => {
      for (const row of cases) {
        const [what, params, authorization] = row;
        const expected = row[column];
        const verifier = registryVerifier(registryDoc(), { replay: 'external', ...(mode && { otherClientAuthentication: mode }) });
        const run = () => verifier.verifyTokenRequest(form(params()), { ...at(NOW), authorization });
        if (Array.isArray(expected)) {
          const err = thrown(run);
          assert.ok(err instanceof m.AssertionError, `${what}: ${err}`);
          assert.deepEqual([err.status, err.reason], expected, what);
          assert.equal(JSON.parse(err.body).error, expected[0] === 401 ? 'invalid_client' : err.oauthError, what);
          if (expected[1] === 'unsupported_client_authentication') assert.equal(err.code, 'ERR_OAUTH_UNSUPPORTED_CLIENT_AUTHENTICATION');
          // The header's value is never echoed.
          assert.ok(!err.message.includes('czZC') && !err.body.includes('czZC'), what);
          continue;
        }
        const result = run();
        assert.equal(result.use, expected.use, what);
        assert.equal(result.clientAuthentication, expected.clientAuthentication, what);
        if (expected.claims === false) {
          assert.ok(!('claims' in result), `${what}: no claims`);
          assert.deepEqual(result.replay, [], what);
        } else {
          assert.equal(result.claims.iss, expected.claims, what);
        }
        assert.equal('clientClaims' in result, expected.clientAuthentication === 'client_assertion', what);
      }
    });
  }

  test('the keys form refuses them too', () => {
    const err = thrown(() => clientVerifier().verifyTokenRequest(form({ ...CREDENTIALS, client_secret: 's' }), at(NOW)));
    assert.deepEqual([err.status, err.reason], [401, 'unsupported_client_authentication']);
    const caller = clientVerifier({ otherClientAuthentication: 'verified-by-caller' });
    const result = caller.verifyTokenRequest(form({ grant_type: 'client_credentials' }), { ...at(NOW), authorization: SECRET_HEADER });
    assert.deepEqual(result, { use: 'client_authentication', grantType: 'client_credentials', clientAuthentication: 'authorization_header' });
  });

  test('authorization is the header value (a string) or null/undefined', () => {
    const verifier = registryVerifier();
    for (const authorization of [null, undefined]) {
      const body = form({ grant_type: GRANT_TYPE, assertion: grant() });
      assert.equal(verifier.verifyTokenRequest(body, { ...at(NOW), authorization }).clientAuthentication, 'none');
    }
    for (const authorization of [42, {}, true, ['Basic x']]) {
      assert.ok(thrown(() => verifier.verifyTokenRequest('grant_type=x', { authorization })) instanceof TypeError, String(authorization));
    }
  });
});

describe('verifyTokenRequest: repeated parameters (RFC 6749 §3.2, RFC 8707)', () => {
  const grantBody = () => `${form({ grant_type: GRANT_TYPE, assertion: signRaw(RS256, grantClaims(), keyB) })}`;
  const clientBody = () => form({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: signRaw(RS256, clientClaims()) });
  /** [what, body(), expected: 'ok' or the reason] */
  const cases = [
    ['resource twice, a grant', () => `${grantBody()}&resource=https%3A%2F%2Fapi.example&resource=https%3A%2F%2Fapi2.example`, 'ok'],
    ['resource three times, client credentials', () => `${clientBody()}&resource=a&resource=b&resource=c`, 'ok'],
    ['grant_type twice', () => `${grantBody()}&grant_type=${encodeURIComponent(GRANT_TYPE)}`, 'invalid_request'],
    ['assertion twice', () => `${grantBody()}&assertion=x`, 'invalid_request'],
    ['scope twice', () => `${grantBody()}&scope=a&scope=b`, 'invalid_request'],
    ['client_id twice', () => `${clientBody()}&client_id=${CLIENT}&client_id=${CLIENT}`, 'invalid_request'],
    ['client_assertion twice', () => `${clientBody()}&client_assertion=x`, 'invalid_request'],
    ['client_assertion_type twice', () => `${clientBody()}&client_assertion_type=${encodeURIComponent(CLIENT_ASSERTION_TYPE)}`, 'invalid_request'],
  ];
  test(`${cases.length} requests`, () => {
    for (const [what, body, expected] of cases) {
      const verifier = registryVerifier();
      let actual = 'ok';
      try {
        verifier.verifyTokenRequest(body(), at(NOW));
      } catch (err) {
        assert.ok(err instanceof m.AssertionError, `${what}: ${err}`);
        actual = err.reason;
        assert.equal(err.status, 400, what);
      }
      assert.equal(actual, expected, what);
    }
  });
});
