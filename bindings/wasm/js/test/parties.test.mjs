// Parties, each with its own keys: the registry document (`registry`), the one-party `keys`
// form, and the rule that an assertion signed with one party's key never passes as another
// party's (RFC 8725 §3.8), through `verify` and `verifyTokenRequest`, with either RSA
// implementation; loading refusals with the core's messages; the options around them.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import {
  AS,
  CLIENT,
  CLIENT_ASSERTION_TYPE,
  GRANT_TYPE,
  ISSUER,
  NOW,
  TOKEN_ENDPOINT,
  at,
  clientClaims,
  form,
  grantClaims,
  jwks,
  key1024,
  key3072,
  keyA,
  keyB,
  keyC,
  keyD,
  m,
  registeredClient,
  registeredIssuer,
  registryDoc,
  registryVerifier,
  signRaw,
  thrown,
} from '../support/fixtures.mjs';

/** Four parties, each with its own key. */
const PARTIES = [
  { name: 'client1', kind: 'client', id: 'client-1', key: keyA },
  { name: 'client2', kind: 'client', id: 'client-2', key: keyB },
  { name: 'issuer1', kind: 'issuer', id: 'https://idp1.example', key: keyC },
  { name: 'issuer2', kind: 'issuer', id: 'https://idp2.example', key: keyD },
];

const REGISTRY = registryDoc({
  clients: PARTIES.filter((p) => p.kind === 'client').map((p) => registeredClient(p.id, p.key)),
  issuers: PARTIES.filter((p) => p.kind === 'issuer').map((p) => registeredIssuer(p.id, p.key)),
});

/** The claims of a valid assertion of `party` (a client assertion or a grant) at NOW. */
const claimsOf = (party) =>
  party.kind === 'client' ? clientClaims({ iss: party.id, sub: party.id }) : grantClaims({ iss: party.id, sub: 'alice' });

const useOf = (party) => (party.kind === 'client' ? 'client_authentication' : 'grant');

/** The token request that presents `token` in `party`'s role. */
const requestOf = (party, token) =>
  party.kind === 'client'
    ? form({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: token })
    : form({ grant_type: GRANT_TYPE, assertion: token });

/** What refusing an assertion presented in `party`'s role answers. */
const failureOf = (party) => (party.kind === 'client' ? [401, 'invalid_client'] : [400, 'invalid_grant']);

/** The two ways in: verify() with the party's use, and a token request. */
const PATHS = [
  ['verify', (verifier, party, token) => verifier.verify(token, { ...at(NOW), use: useOf(party) })],
  ['verifyTokenRequest', (verifier, party, token) => verifier.verifyTokenRequest(requestOf(party, token), at(NOW))],
];

/** Every ordered pair of different parties. */
const PAIRS = PARTIES.flatMap((signer) => PARTIES.filter((claimed) => claimed !== signer).map((claimed) => [signer, claimed]));

for (const rsa of ['platform', 'wasm']) {
  describe(`one party's key never signs for another (rsa: "${rsa}")`, () => {
    const verifier = () => registryVerifier(REGISTRY, { rsa, replay: 'external' });

    test('the verifier uses the expected RSA implementation', () => {
      assert.equal(verifier().rsaImplementation, rsa === 'platform' ? 'node:crypto' : 'wasm');
    });

    test('control: each party\'s own assertion passes both ways', () => {
      for (const party of PARTIES) {
        for (const kid of [undefined, party.key.kid]) {
          for (const [path, run] of PATHS) {
            const token = signRaw({ alg: 'RS256', ...(kid && { kid }) }, claimsOf(party), party.key);
            const result = run(verifier(), party, token);
            assert.equal(result.claims.iss, party.id, `${party.name} ${path} kid ${kid}`);
          }
        }
      }
    });

    test(`every ordered pair A ≠ B (${PAIRS.length}): A's key claiming to be B is refused`, () => {
      let checked = 0;
      for (const [signer, claimed] of PAIRS) {
        // Without kid, B's keys are tried and none verifies; with A's kid, B has no such key.
        for (const [kid, reason] of [
          [undefined, 'invalid_signature'],
          [signer.key.kid, 'unknown_key'],
        ]) {
          const token = signRaw({ alg: 'RS256', ...(kid && { kid }) }, claimsOf(claimed), signer.key);
          for (const [path, run] of PATHS) {
            const label = `${signer.name} as ${claimed.name}, ${kid ? 'with its kid' : 'no kid'}, ${path}`;
            const err = thrown(() => run(verifier(), claimed, token));
            assert.ok(err instanceof m.AssertionError, `${label}: ${err}`);
            assert.deepEqual([err.status, err.oauthError, err.reason], [...failureOf(claimed), reason], label);
            assert.equal(JSON.parse(err.body).error, failureOf(claimed)[1], label);
            checked++;
          }
        }
      }
      assert.equal(checked, 12 * 2 * 2);
    });

    test('a party\'s own assertion in the other role is an issuer problem', () => {
      for (const party of PARTIES) {
        const other = PARTIES.find((p) => p.kind !== party.kind);
        const token = signRaw({ alg: 'RS256' }, claimsOf(party), party.key);
        for (const [path, run] of PATHS) {
          const err = thrown(() => run(verifier(), other, token));
          assert.deepEqual([err.status, err.reason], [failureOf(other)[0], 'issuer_mismatch'], `${party.name} as a ${other.kind}, ${path}`);
        }
      }
    });
  });
}

describe('node:crypto: each key has its own platform handle', () => {
  const crypto = process.getBuiltinModule('node:crypto');
  const realPublicDecrypt = crypto.publicDecrypt;
  afterEach(() => {
    crypto.publicDecrypt = realPublicDecrypt;
  });

  test('every key of every party (two keys each, registry order) is computed under its own key', () => {
    const parties = [
      { kind: 'client', id: 'client-1', keys: [keyA, key3072] },
      { kind: 'client', id: 'client-2', keys: [keyB] },
      { kind: 'issuer', id: 'https://idp1.example', keys: [keyC, keyD] },
    ];
    const verifier = registryVerifier(
      registryDoc({
        clients: parties.filter((p) => p.kind === 'client').map((p) => ({ ...registeredClient(p.id, p.keys[0]), jwks: { keys: p.keys.map((k) => k.jwk) } })),
        issuers: parties.filter((p) => p.kind === 'issuer').map((p) => ({ ...registeredIssuer(p.id, p.keys[0]), jwks: { keys: p.keys.map((k) => k.jwk) } })),
      }),
    );
    assert.equal(verifier.rsaImplementation, 'node:crypto');
    const used = [];
    crypto.publicDecrypt = (options, data) => {
      const key = options.key instanceof crypto.KeyObject ? options.key.export({ format: 'jwk' }) : options.key;
      used.push(key.n);
      return realPublicDecrypt(options, data);
    };
    for (const party of parties) {
      for (const key of party.keys) {
        used.length = 0;
        const token = signRaw({ alg: 'RS256', kid: key.kid }, claimsOf({ ...party, key }), key);
        assert.equal(verifier.verify(token, { ...at(NOW), use: useOf(party) }).claims.iss, party.id);
        assert.deepEqual(used, [key.jwk.n], `${party.id} ${key.kid}: one call, under its own key`);
      }
    }
  });
});

describe('the one-party keys form', () => {
  test('one issuer (a string or a one-element array) or one clientId', () => {
    for (const issuer of [ISSUER, [ISSUER]]) {
      const verifier = new m.AssertionVerifier({ keys: jwks, issuer, audience: AS });
      assert.equal(verifier.verify(signRaw({ alg: 'RS256' }, grantClaims()), at(NOW)).claims.iss, ISSUER);
    }
    const client = new m.AssertionVerifier({ keys: jwks, clientId: CLIENT, audience: AS });
    assert.equal(client.verify(signRaw({ alg: 'RS256' }, clientClaims()), at(NOW)).claims.iss, CLIENT);
  });

  test('two or more parties with one key set are a TypeError that says why', () => {
    for (const options of [
      { keys: jwks, issuer: [ISSUER, 'https://idp2.example'], audience: AS },
      { keys: jwks, issuer: ISSUER, clientId: CLIENT, audience: AS },
      { keys: jwks, issuer: [ISSUER], clientId: CLIENT, audience: AS },
    ]) {
      const err = thrown(() => new m.AssertionVerifier(options));
      assert.ok(err instanceof TypeError, String(err));
      assert.match(err.message, /exactly one party/);
      assert.match(err.message, /one key set would be trusted for every party/);
      assert.match(err.message, /registry/);
    }
    const none = thrown(() => new m.AssertionVerifier({ keys: jwks, issuer: [], audience: AS }));
    assert.match(none.message, /issuer .* or clientId .* is required/);
  });
});

describe('registry: loading', () => {
  test('an object or JSON text, loaded once: both uses from one verifier', () => {
    for (const registry of [registryDoc(), JSON.stringify(registryDoc())]) {
      const verifier = registryVerifier(registry);
      const client = signRaw({ alg: 'RS256' }, clientClaims());
      const grant = signRaw({ alg: 'RS256' }, grantClaims(), keyB);
      assert.equal(verifier.verify(client, { ...at(NOW), use: 'client_authentication' }).claims.sub, CLIENT);
      assert.equal(verifier.verify(grant, { ...at(NOW), use: 'grant' }).claims.iss, ISSUER);
      // token_endpoint is an accepted aud of grants, never of client assertions (RFC 10070).
      const grantToEndpoint = signRaw({ alg: 'RS256' }, grantClaims({ aud: TOKEN_ENDPOINT }), keyB);
      assert.ok(verifier.verify(grantToEndpoint, { ...at(NOW), use: 'grant' }));
      const clientToEndpoint = signRaw({ alg: 'RS256' }, clientClaims({ aud: TOKEN_ENDPOINT }));
      assert.equal(thrown(() => verifier.verify(clientToEndpoint, { ...at(NOW), use: 'client_authentication' })).reason, 'audience_mismatch');
    }
  });

  test('per-party policy: subjects, max_lifetime, require_typ', () => {
    const verifier = registryVerifier(
      registryDoc({
        clients: [registeredClient(CLIENT, keyA, { require_typ: true }), registeredClient('lax', keyC)],
        issuers: [registeredIssuer(ISSUER, keyB, { subjects: ['alice'], max_lifetime: 60 })],
      }),
    );
    const grant = (claims) => signRaw({ alg: 'RS256' }, grantClaims(claims), keyB);
    const g = { ...at(NOW), use: 'grant' };
    assert.ok(verifier.verify(grant({ exp: NOW + 60 }), g));
    assert.equal(thrown(() => verifier.verify(grant({ exp: NOW + 61 }), g)).reason, 'lifetime_too_long');
    assert.equal(thrown(() => verifier.verify(grant({ sub: 'bob' }), g)).reason, 'subject_mismatch');
    const c = { ...at(NOW), use: 'client_authentication' };
    const untyped = signRaw({ alg: 'RS256' }, clientClaims());
    const missing = thrown(() => verifier.verify(untyped, c));
    assert.deepEqual([missing.reason, missing.status], ['invalid_type', 401]);
    assert.ok(verifier.verify(signRaw({ alg: 'RS256', typ: 'client-authentication+jwt' }, clientClaims()), c));
    assert.ok(verifier.verify(signRaw({ alg: 'RS256' }, clientClaims({ iss: 'lax', sub: 'lax' }), keyC), c));
  });

  const base = () =>
    registryDoc({
      clients: [registeredClient('client-1', keyA)],
      issuers: [registeredIssuer('https://idp1.example', keyC)],
    });
  const withClient = (client) => ({ ...base(), clients: [client] });
  const c1 = 'clients[0] "client-1"';
  const i1 = 'issuers[0] "https://idp1.example"';
  const NOT_JSON = 'not a JSON object (or invalid JSON: syntax, a duplicate member name, nesting)';
  const AUTH_METHOD =
    'must be "private_key_jwt" (RFC 7591\'s default when it is absent is client_secret_basic, which this server does not verify)';
  const LIFETIME_RANGE = 'must be a whole number from 1 to 86400';
  const { token_endpoint_auth_method: _, ...withoutMethod } = registeredClient('client-1', keyA);
  const { jwks: __, ...withoutKeys } = registeredIssuer('https://idp1.example', keyC);

  /** [what, document (object or text), the core's message after "registry: "] */
  const refusals = [
    ['an unknown top-level field', { ...base(), issuer_list: [] }, 'registry: unknown field "issuer_list"'],
    ['an unknown client field (a typo)', withClient(registeredClient('client-1', keyA, { max_lifetme: 60 })), `${c1}: unknown field "max_lifetme"`],
    ['an unknown issuer field', { ...base(), issuers: [registeredIssuer('https://idp1.example', keyC, { subject: 'alice' })] }, `${i1}: unknown field "subject"`],
    [
      'a duplicate client_id',
      { ...base(), clients: [registeredClient('client-1', keyA), registeredClient('client-1', keyB)] },
      'clients[1] "client-1".client_id: is a duplicate of clients[0]',
    ],
    [
      'a duplicate issuer',
      { ...base(), issuers: [registeredIssuer('https://idp1.example', keyC), registeredIssuer('https://idp1.example', keyD)] },
      'issuers[1] "https://idp1.example".issuer: is a duplicate of issuers[0]',
    ],
    [
      'one key for a client and an issuer',
      { ...base(), issuers: [registeredIssuer('https://idp1.example', keyA)] },
      `${i1}.jwks: the same public key is listed for ${c1}: a key belongs to one party (RFC 8725 section 3.8)`,
    ],
    [
      'one key for two clients',
      { ...base(), clients: [registeredClient('client-1', keyA), registeredClient('client-2', keyA)] },
      `clients[1] "client-2".jwks: the same public key is listed for ${c1}: a key belongs to one party (RFC 8725 section 3.8)`,
    ],
    [
      'a jwks_uri over http to a host that is not loopback (remote.test.mjs: the ones that load)',
      withClient({ ...withoutMethod, token_endpoint_auth_method: 'private_key_jwt', jwks: undefined, jwks_uri: 'http://client.example/jwks' }),
      `${c1}.jwks_uri: http is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1)`,
    ],
    [
      'both jwks and jwks_uri',
      withClient({ ...registeredClient('client-1', keyA), jwks_uri: 'https://client.example/jwks' }),
      `${c1}.jwks: jwks and jwks_uri must not both be present (RFC 7591 section 2)`,
    ],
    ['a client without token_endpoint_auth_method', withClient(withoutMethod), `${c1}.token_endpoint_auth_method: ${AUTH_METHOD}`],
    [
      'client_secret_basic',
      withClient(registeredClient('client-1', keyA, { token_endpoint_auth_method: 'client_secret_basic' })),
      `${c1}.token_endpoint_auth_method: ${AUTH_METHOD}`,
    ],
    ['max_lifetime 0', withClient(registeredClient('client-1', keyA, { max_lifetime: 0 })), `${c1}.max_lifetime: ${LIFETIME_RANGE}`],
    ['max_lifetime 86401', withClient(registeredClient('client-1', keyA, { max_lifetime: 86401 })), `${c1}.max_lifetime: ${LIFETIME_RANGE}`],
    ['max_lifetime 300.5', withClient(registeredClient('client-1', keyA, { max_lifetime: 300.5 })), `${c1}.max_lifetime: ${LIFETIME_RANGE}`],
    ['max_lifetime "300"', withClient(registeredClient('client-1', keyA, { max_lifetime: '300' })), `${c1}.max_lifetime: ${LIFETIME_RANGE}`],
    ['an issuer without keys', { ...base(), issuers: [withoutKeys] }, `${i1}.jwks: the party has no keys: give jwks`],
    ['no parties', { issuer: AS }, 'registry: the registry has no clients and no issuers'],
    ['no issuer identifier', { clients: base().clients }, 'issuer: is required'],
    [
      'an unknown compat value',
      withClient(registeredClient('client-1', keyA, { compat: ['missing_sub'] })),
      `${c1}.compat: unknown compatibility relaxation "missing_sub" (this kind of party may name: token_endpoint_audience)`,
    ],
    [
      'compat missing_jti (it is require_jti: false)',
      { ...base(), issuers: [registeredIssuer('https://idp1.example', keyC, { compat: ['missing_jti'] })] },
      `${i1}.compat: unknown compatibility relaxation "missing_jti" (this kind of party may name: missing_sub); a party accepts assertions without jti with require_jti: false`,
    ],
    ['a JSON array', '[]', `registry: ${NOT_JSON}`],
    ['a duplicate member name', `{"issuer":"${AS}","issuer":"${AS}","clients":[]}`, `registry: ${NOT_JSON}`],
    ['not JSON', '{issuer:', `registry: ${NOT_JSON}`],
  ];

  test(`every refusal is a TypeError with the core's message (${refusals.length} documents, as objects and as text)`, () => {
    for (const [what, doc, message] of refusals) {
      for (const registry of typeof doc === 'string' ? [doc] : [doc, JSON.stringify(doc)]) {
        const err = thrown(() => registryVerifier(registry));
        assert.ok(err instanceof TypeError, `${what}: ${err}`);
        assert.ok(!(err instanceof m.AssertionError), what);
        assert.equal(err.message, `registry: ${message}`, what);
      }
    }
  });

  test('a key the key loader refuses names the party', () => {
    const err = thrown(() => registryVerifier(withClient(registeredClient('client-1', key1024))));
    assert.ok(err instanceof TypeError);
    assert.match(err.message, /^registry: clients\[0\] "client-1"\.jwks: \S/);
  });

  test('a registry that is neither an object nor text is a TypeError', () => {
    for (const registry of [42, true]) {
      const err = thrown(() => registryVerifier(registry));
      assert.ok(err instanceof TypeError, String(registry));
      assert.match(err.message, /registry must be/);
    }
  });
});

describe('registry: options', () => {
  test('the per-party options beside registry are a TypeError that says where they go', () => {
    const perParty = {
      keys: jwks,
      issuer: ISSUER,
      audience: AS,
      subject: 'alice',
      clientId: CLIENT,
      clockTolerance: 30,
      maxTokenAge: 60,
      maxLifetime: 300,
      requireJti: false,
      requireIat: true,
      typ: 'client-authentication+jwt',
      requireTyp: true,
    };
    for (const [name, value] of Object.entries(perParty)) {
      const err = thrown(() => registryVerifier(registryDoc(), { [name]: value }));
      assert.ok(err instanceof TypeError, name);
      assert.match(err.message, new RegExp(`^${name}: with registry, .* per party in the registry`));
    }
  });

  test('unknown names and bad values are a TypeError; replay, rsa and otherClientAuthentication are allowed', () => {
    for (const options of [{ requireJTI: true }, { registery: {} }, { otherClientAuthentication: 'allow' }, { otherClientAuthentication: true }, { rsa: 'node' }]) {
      assert.ok(thrown(() => registryVerifier(registryDoc(), options)) instanceof TypeError, JSON.stringify(options));
    }
    assert.match(thrown(() => registryVerifier(registryDoc(), { requireJTI: true })).message, /unknown option "requireJTI"/);
    for (const otherClientAuthentication of ['refuse', 'verified-by-caller', undefined]) {
      assert.ok(registryVerifier(registryDoc(), { replay: 'external', rsa: 'wasm', otherClientAuthentication }));
    }
  });

  test('verify(): use is required with both clients and issuers, inferred otherwise', () => {
    const client = signRaw({ alg: 'RS256' }, clientClaims());
    const both = registryVerifier();
    const err = thrown(() => both.verify(client, at(NOW)));
    assert.ok(err instanceof TypeError);
    assert.match(err.message, /use is required/);
    const clientsOnly = registryVerifier(registryDoc({ issuers: [] }));
    assert.equal(clientsOnly.verify(client, at(NOW)).claims.sub, CLIENT);
    assert.match(thrown(() => clientsOnly.verify(client, { ...at(NOW), use: 'grant' })).message, /no trusted issuers/);
    const issuersOnly = registryVerifier(registryDoc({ clients: [] }));
    assert.equal(issuersOnly.verify(signRaw({ alg: 'RS256' }, grantClaims(), keyB), at(NOW)).claims.iss, ISSUER);
    assert.match(thrown(() => issuersOnly.verify(client, { use: 'client_authentication' })).message, /no clients/);
    for (const use of ['Grant', 'client', 1]) {
      assert.ok(thrown(() => both.verify(client, { use })) instanceof TypeError, String(use));
    }
    // The keys form infers its one use, and refuses the other.
    const oneClient = new m.AssertionVerifier({ keys: jwks, clientId: CLIENT, audience: AS });
    assert.ok(oneClient.verify(client, { ...at(NOW), use: 'client_authentication' }));
    assert.ok(thrown(() => oneClient.verify(client, { ...at(NOW), use: 'grant' })) instanceof TypeError);
    // Each method takes its own options only.
    assert.ok(thrown(() => both.verify(client, { ...at(NOW), authorization: 'Basic x' })) instanceof TypeError);
    assert.ok(thrown(() => both.verifyTokenRequest('grant_type=x', { use: 'grant' })) instanceof TypeError);
  });
});

describe('registry: compatibility relaxations, reported in every result', () => {
  // Per party and off by default (README, *Compatibility with deployed clients*): the same
  // assertions refused without the relaxation, accepted with it and named in `compat`.
  const registry = registryDoc({
    clients: [
      registeredClient('strict-client', keyA),
      registeredClient('legacy-client', keyC, { compat: ['token_endpoint_audience'] }),
    ],
    issuers: [
      registeredIssuer('https://strict.example', keyB),
      registeredIssuer('https://google-like.example', keyD, { compat: ['missing_sub'], require_jti: false }),
    ],
  });
  const verifier = registryVerifier(registry);
  const client = (id, overrides = {}) => ({ iss: id, sub: id, aud: AS, exp: NOW + 60, iat: NOW, jti: `c-${Math.random()}`, ...overrides });
  const grant = (iss, overrides = {}) => {
    const claims = { iss, sub: 'alice', aud: AS, exp: NOW + 300, iat: NOW, jti: `g-${Math.random()}`, ...overrides };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return claims;
  };
  const CASES = [
    // [what, key, claims, use, compat, or the refusal's reason]
    ['strict client, aud = issuer', keyA, client('strict-client'), 'client_authentication', []],
    ['strict client, aud = token endpoint', keyA, client('strict-client', { aud: TOKEN_ENDPOINT }), 'client_authentication', 'audience_mismatch'],
    ['legacy client, aud = issuer', keyC, client('legacy-client'), 'client_authentication', []],
    ['legacy client, aud = token endpoint', keyC, client('legacy-client', { aud: TOKEN_ENDPOINT }), 'client_authentication', ['token_endpoint_audience']],
    ['legacy client, aud = [issuer, token endpoint]', keyC, client('legacy-client', { aud: [AS, TOKEN_ENDPOINT] }), 'client_authentication', ['token_endpoint_audience']],
    ['legacy client, aud = another URL', keyC, client('legacy-client', { aud: `${AS}/other` }), 'client_authentication', 'audience_mismatch'],
    ['strict issuer, sub and jti', keyB, grant('https://strict.example'), 'grant', []],
    ['strict issuer, no sub', keyB, grant('https://strict.example', { sub: undefined }), 'grant', 'missing_claim'],
    ['strict issuer, no jti', keyB, grant('https://strict.example', { jti: undefined }), 'grant', 'missing_claim'],
    ['google-like issuer, sub and jti', keyD, grant('https://google-like.example'), 'grant', []],
    ['google-like issuer, no sub', keyD, grant('https://google-like.example', { sub: undefined }), 'grant', ['missing_sub']],
    ['google-like issuer, no jti', keyD, grant('https://google-like.example', { jti: undefined }), 'grant', ['missing_jti']],
    ['google-like issuer, neither', keyD, grant('https://google-like.example', { sub: undefined, jti: undefined }), 'grant', ['missing_sub', 'missing_jti']],
  ];
  for (const [what, key, claims, use, expected] of CASES) {
    test(what, () => {
      const token = signRaw({ alg: 'RS256' }, claims, key);
      if (typeof expected === 'string') {
        assert.equal(thrown(() => verifier.verify(token, { ...at(NOW), use })).reason, expected);
        return;
      }
      assert.deepEqual(verifier.verify(token, { ...at(NOW), use }).compat, expected);
      // The same through a token request, on a fresh verifier (the jti was used above).
      const body =
        use === 'grant'
          ? form({ grant_type: GRANT_TYPE, assertion: token })
          : form({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: token });
      const result = registryVerifier(registry).verifyTokenRequest(body, at(NOW));
      assert.deepEqual(result.compat, expected);
      assert.deepEqual(result.clientCompat, use === 'grant' ? undefined : expected);
    });
  }
  test('a grant with a client assertion: compat and clientCompat apart', () => {
    const body = form({
      grant_type: GRANT_TYPE,
      assertion: signRaw({ alg: 'RS256' }, grant('https://google-like.example', { sub: undefined }), keyD),
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: signRaw({ alg: 'RS256' }, client('legacy-client', { aud: TOKEN_ENDPOINT }), keyC),
    });
    const result = registryVerifier(registry).verifyTokenRequest(body, at(NOW));
    assert.deepEqual([result.compat, result.clientCompat], [['missing_sub'], ['token_endpoint_audience']]);
  });
});

describe('registry: x509 (an X.509 map) is the CLI\'s', () => {
  test('the npm modules refuse a party whose keys are an X.509 map, naming the party and the field, alone or beside jwks', () => {
    const map = { k1: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' };
    for (const party of [
      { issuer: ISSUER, x509: map },
      { issuer: ISSUER, x509: map, jwks: { keys: [keyB.jwk] } },
    ]) {
      const err = thrown(() => registryVerifier(registryDoc({ issuers: [party] })));
      assert.ok(err instanceof TypeError, String(err));
      assert.match(err.message, new RegExp(`^registry: issuers\\[0\\] "${ISSUER}"\\.x509: this build does not read X\\.509 certificates`));
    }
  });
});
