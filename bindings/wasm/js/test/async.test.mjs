// verifyAsync and verifyTokenRequestAsync against verify and verifyTokenRequest: the same
// results, errors (every field), replay records and replay-store effects, over a table of
// every outcome these tests can produce, with every algorithm and every replay mode; that the
// signature checks do go through node:crypto's asynchronous verify (libuv's threadpool); and
// the replay semantics with many calls in flight.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

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
  registeredClient,
  registeredIssuer,
  registryDoc,
} from '../support/fixtures.mjs';

const crypto = process.getBuiltinModule('node:crypto');
const realVerify = crypto.verify;
afterEach(() => {
  crypto.verify = realVerify;
});

/** Counts node:crypto's verify calls: synchronous ones and those with a callback. */
function countVerify() {
  const counts = { sync: 0, callback: 0 };
  crypto.verify = (...args) => {
    counts[typeof args[4] === 'function' ? 'callback' : 'sync']++;
    return realVerify(...args);
  };
  return counts;
}

function keyPair(type, options, kid, alg) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync(type, options);
  return { privateKey, publicKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg } };
}
const ec = keyPair('ec', { namedCurve: 'P-256' }, 'ec-1', 'ES256');
const ec2 = keyPair('ec', { namedCurve: 'P-256' }, 'ec-2', 'ES256');
const ed = keyPair('ed25519', {}, 'ed-1', 'EdDSA');
const ps = { ...keyA, jwk: { ...keyA.jwk, kid: 'ps-a', alg: 'PS256' } };
const rsB = { ...keyB, jwk: { ...keyB.jwk, kid: 'key-b' } };

/** Keys of each algorithm that no verifier here trusts, without a kid. */
const STRANGERS = {
  RS256: { ...keyB, jwk: {} },
  PS256: { ...keyB, jwk: {} },
  ES256: { ...keyPair('ec', { namedCurve: 'P-256' }), jwk: {} },
  EdDSA: { ...keyPair('ed25519', {}), jwk: {} },
};

/** The key that signs each algorithm in these tests. */
const SIGNERS = { RS256: keyA, PS256: ps, ES256: ec, EdDSA: ed };

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token of `claims` with the header `{ alg, kid, ...header }`, signed by `key` with `alg`. */
function sign(alg, key, claims, header = {}) {
  const input = `${b64({ alg, kid: key.jwk.kid, ...header })}.${b64(claims)}`;
  const data = Buffer.from(input);
  const signature = {
    RS256: () => crypto.sign('sha256', data, key.privateKey),
    PS256: () => crypto.sign('sha256', data, { key: key.privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
    ES256: () => crypto.sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }),
    EdDSA: () => crypto.sign(null, data, key.privateKey),
  }[alg]();
  return `${input}.${signature.toString('base64url')}`;
}

/** The token with one bit of its signature flipped. */
function tampered(token) {
  const signature = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
  signature[signature.length >> 1] ^= 0x10;
  return `${token.slice(0, token.lastIndexOf('.'))}.${signature.toString('base64url')}`;
}

/** What a call gave, as plain data: the result, or every field of the error. */
function settled(outcome) {
  if (outcome.status === 'fulfilled') return { result: outcome.value };
  const err = outcome.reason;
  const fields = { name: err.name, message: err.message, class: err.constructor.name };
  for (const name of ['code', 'reason', 'oauthError', 'status', 'body', 'claim']) fields[name] = err[name];
  if (err.cause !== undefined) fields.cause = { name: err.cause?.name, message: err.cause?.message ?? String(err.cause) };
  assert.ok(err instanceof Error);
  return { error: fields };
}

/** The synchronous method's outcome (a throw is a rejection) and the asynchronous one's. */
async function run(sync, asynchronous) {
  let syncOutcome;
  try {
    syncOutcome = { status: 'fulfilled', value: sync() };
  } catch (reason) {
    syncOutcome = { status: 'rejected', reason };
  }
  const promise = asynchronous();
  assert.ok(promise instanceof Promise, 'the asynchronous methods return a promise, also to refuse');
  const [asyncOutcome] = await Promise.allSettled([promise]);
  return [settled(syncOutcome), settled(asyncOutcome)];
}

/** A replay mode's verifier options, each verifier with its own hook state. */
const REPLAY_MODES = {
  memory: () => ({}),
  hook: () => {
    const seen = new Set();
    return { replay: { checkAndInsert: (key) => !seen.has(key) && Boolean(seen.add(key)) } };
  },
  external: () => ({ replay: 'external' }),
};

/** For each algorithm: [what, token, verify options] of every outcome, valid and refused. */
function grantCases(alg) {
  const key = SIGNERS[alg];
  const token = (claims, header) => sign(alg, key, claims, header);
  const valid = token(grantClaims({ jti: 'j-1' }));
  const other = alg === 'ES256' ? ed : ec;
  return [
    ['valid', valid],
    ['the same again (replayed, but for "external")', valid, at(NOW + 1)],
    ['valid, no kid', sign(alg, { ...key, jwk: { ...key.jwk, kid: undefined } }, grantClaims())],
    ['tampered', tampered(token(grantClaims()))],
    ['tampered, and expired (the signature first)', tampered(token(grantClaims({ exp: NOW - 100 })))],
    ['tampered, and already seen', tampered(valid)],
    ['signature too short', `${valid.slice(0, valid.lastIndexOf('.'))}.${b64('short')}`],
    ['no kid, an untrusted key (every key of the alg tried)', sign(alg, STRANGERS[alg], grantClaims())],
    ['unknown kid', token(grantClaims(), { kid: 'nope' })],
    ['an algorithm no key serves', sign(alg === 'ES256' ? 'EdDSA' : 'ES256', { ...other, jwk: { ...other.jwk, kid: key.jwk.kid } }, grantClaims())],
    ['RS384', token(grantClaims(), { alg: 'RS384' })],
    ['crit', token(grantClaims(), { crit: ['exp'], exp: 1 })],
    ['expired', token(grantClaims({ exp: NOW - 31 }))],
    ['not yet valid', token(grantClaims({ nbf: NOW + 31 }))],
    ['issued in the future', token(grantClaims({ iat: NOW + 31 }))],
    ['lifetime too long', token(grantClaims({ exp: NOW + 4000 }))],
    ['no jti', token(grantClaims({ jti: undefined }))],
    ['no sub', token(grantClaims({ sub: undefined }))],
    ['exp a string', token(grantClaims({ exp: String(NOW + 60) }))],
    ['another issuer', token(grantClaims({ iss: 'https://evil.example' }))],
    ['another audience', token(grantClaims({ aud: 'https://other.example' }))],
    ['a client-authentication typ', token(grantClaims(), { typ: 'client-authentication+jwt' })],
    ['not a JWS', 'not-a-jwt'],
    ['too large', `${'a'.repeat(9000)}.b.c`],
    ['a payload that is not JSON', `${b64({ alg, kid: key.jwk.kid })}.${b64('nope')}.${b64('x')}`],
    ['a bad currentDate (TypeError)', valid, { currentDate: new Date(NaN) }],
    ['an unknown option (TypeError)', valid, { currentDate: new Date(NOW * 1000), when: 1 }],
    ['use: client_authentication without clients (TypeError)', valid, { ...at(NOW), use: 'client_authentication' }],
    ['valid, later', token(grantClaims({ jti: 'j-2' })), at(NOW + 2)],
  ];
}

describe('verifyAsync gives exactly what verify gives', () => {
  for (const alg of Object.keys(SIGNERS)) {
    for (const [mode, replay] of Object.entries(REPLAY_MODES)) {
      test(`${alg}, replay ${mode}: every case, in order, on two verifiers`, async () => {
        const options = () => ({
          keys: { keys: [SIGNERS[alg].jwk, rsB.jwk, ec2.jwk] },
          issuer: ISSUER,
          audience: AS,
          ...replay(),
        });
        const syncVerifier = new m.AssertionVerifier(options());
        const asyncVerifier = new m.AssertionVerifier(options());
        const counts = countVerify();
        const reasons = new Set();
        for (const [what, token, verifyOptions = at(NOW)] of grantCases(alg)) {
          const [sync, asynchronous] = await run(
            () => syncVerifier.verify(token, verifyOptions),
            () => asyncVerifier.verifyAsync(token, verifyOptions),
          );
          assert.deepEqual(asynchronous, sync, what);
          reasons.add(sync.error?.reason ?? sync.error?.name ?? 'ok');
        }
        // The table reaches these outcomes.
        for (const reason of ['ok', 'invalid_signature', 'malformed', 'unknown_key', 'unsupported_algorithm', 'unsupported_header', 'expired',
          'not_yet_valid', 'issued_in_future', 'lifetime_too_long', 'missing_claim', 'invalid_claim', 'issuer_mismatch',
          'audience_mismatch', 'invalid_type', 'too_large', 'TypeError']) {
          assert.ok(reasons.has(reason), `${reason} reached`);
        }
        assert.equal(reasons.has('replayed'), mode !== 'external');
        // Every signature check of the asynchronous verifier went to the threadpool.
        assert.ok(counts.callback > 5, `${counts.callback} asynchronous verifications`);
        if (alg === 'ES256' || alg === 'EdDSA') assert.ok(counts.sync > 5, `${counts.sync} synchronous verifications`);
        else assert.equal(counts.sync, 0, 'RSA: synchronously by RSAVP1, not verify');
      });
    }
  }

  test('a replay hook that fails: replay_store_full with the same cause', async () => {
    for (const checkAndInsert of [() => 'yes', () => Promise.resolve(true), () => { throw new RangeError('store down'); }]) {
      for (const alg of Object.keys(SIGNERS)) {
        const v = new m.AssertionVerifier({ keys: { keys: [SIGNERS[alg].jwk] }, issuer: ISSUER, audience: AS, replay: { checkAndInsert } });
        const token = sign(alg, SIGNERS[alg], grantClaims());
        const [sync, asynchronous] = await run(() => v.verify(token, at(NOW)), () => v.verifyAsync(token, at(NOW)));
        assert.equal(sync.error.reason, 'replay_store_full');
        assert.ok(sync.error.cause);
        assert.deepEqual(asynchronous, sync);
      }
    }
  });

  test('a party with several keys and no kid: each tried in turn, as verify does', async () => {
    for (const [alg, keys, signer] of [
      ['ES256', [ec2.jwk, { ...ec.jwk, kid: undefined }], ec],
      ['RS256', [rsB.jwk, keyA.jwk], keyA],
    ]) {
      const noKid = (jwk) => ({ ...jwk, kid: undefined });
      const options = { keys: { keys: keys.map(noKid) }, issuer: ISSUER, audience: AS, replay: 'external' };
      const syncVerifier = new m.AssertionVerifier(options);
      const asyncVerifier = new m.AssertionVerifier(options);
      const counts = countVerify();
      const good = sign(alg, { ...signer, jwk: noKid(signer.jwk) }, grantClaims());
      for (const token of [good, tampered(good)]) {
        const [sync, asynchronous] = await run(() => syncVerifier.verify(token, at(NOW)), () => asyncVerifier.verifyAsync(token, at(NOW)));
        assert.deepEqual(asynchronous, sync);
      }
      // The valid one: the first key, then the second (two rounds); the tampered one: both.
      assert.equal(counts.callback, 4, alg);
    }
  });

  test('rejects, never throws, for bad options', async () => {
    const v = new m.AssertionVerifier({ keys: { keys: [ec.jwk] }, issuer: ISSUER, audience: AS });
    await assert.rejects(v.verifyAsync('x', { currentDate: 'now' }), TypeError);
    await assert.rejects(v.verifyAsync('x', { use: 'grant', extra: 1 }), TypeError);
    await assert.rejects(v.verifyTokenRequestAsync('x', { authorization: 1 }), TypeError);
  });
});

describe('verifyTokenRequestAsync gives exactly what verifyTokenRequest gives', () => {
  // Client CLIENT signs with P-256, issuer ISSUER with Ed25519, issuer 2 with RSA (PS256).
  const registry = () =>
    registryDoc({
      clients: [registeredClient(CLIENT, ec)],
      issuers: [registeredIssuer(ISSUER, ed), registeredIssuer('https://idp2.example', ps)],
    });
  const client = (claims = {}, key = ec) => sign(key === ec ? 'ES256' : 'EdDSA', key, clientClaims(claims));
  const grant = (claims = {}) => sign('EdDSA', ed, grantClaims(claims));
  const grant2 = (claims = {}) => sign('PS256', ps, grantClaims({ iss: 'https://idp2.example', ...claims }));
  const both = (grantToken, clientToken) =>
    form({ grant_type: GRANT_TYPE, assertion: grantToken, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: clientToken });
  const grantOnly = (token) => form({ grant_type: GRANT_TYPE, assertion: token });
  const sameJti = { jti: 'shared' };
  const validBoth = both(grant({ jti: 'g-1' }), client({ jti: 'c-1' }));
  const cases = [
    ['a grant', grantOnly(grant())],
    ['a grant of issuer 2 (PS256)', grantOnly(grant2())],
    ['a grant and a client assertion', validBoth],
    ['the same again: the client assertion is replayed first', validBoth],
    ['a new grant with an old client assertion', both(grant(), client({ jti: 'c-1' }))],
    ['client credentials', form({ grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: client() })],
    ['the client assertion tampered', both(grant(), tampered(client()))],
    ['the grant tampered', both(tampered(grant()), client())],
    ['both tampered', both(tampered(grant()), tampered(client()))],
    ['the grant tampered and expired, the client assertion expired', both(tampered(grant({ exp: NOW - 100 })), client({ exp: NOW - 100 }))],
    ['the grant expired', both(grant({ exp: NOW - 100 }), client())],
    ['the same (iss, jti) twice? (two parties: two entries)', both(grant(sameJti), client(sameJti))],
    ['a client assertion signed by the issuer\'s key', both(grant(), client({}, ed))],
    ['a grant of issuer 2 tampered, with a client assertion', both(tampered(grant2()), client())],
    ['no grant_type', form({ assertion: grant() })],
    ['another grant type', form({ grant_type: 'password', username: 'a' })],
    ['a SAML client assertion', form({ grant_type: 'client_credentials', client_assertion_type: 'urn:example:saml', client_assertion: 'x' })],
    ['a client_secret', form({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: 's3cret' })],
    ['an Authorization header', grantOnly(grant()), { ...at(NOW), authorization: 'Basic Zm9vOmJhcg==' }],
    ['client_id of another client', form({ grant_type: 'client_credentials', client_id: 'other', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: client() })],
    ['garbage', '%%%'],
    ['a bad currentDate (TypeError)', grantOnly(grant()), { currentDate: 5 }],
  ];

  for (const [mode, replay] of Object.entries(REPLAY_MODES)) {
    for (const other of ['refuse', 'verified-by-caller']) {
      test(`replay ${mode}, otherClientAuthentication ${other}: every case, in order, on two verifiers`, async () => {
        const options = () => ({ registry: registry(), otherClientAuthentication: other, ...replay() });
        const syncVerifier = new m.AssertionVerifier(options());
        const asyncVerifier = new m.AssertionVerifier(options());
        const counts = countVerify();
        const reasons = new Set();
        for (const [what, body, options = at(NOW)] of cases) {
          const [sync, asynchronous] = await run(
            () => syncVerifier.verifyTokenRequest(body, options),
            () => asyncVerifier.verifyTokenRequestAsync(body, options),
          );
          assert.deepEqual(asynchronous, sync, what);
          reasons.add(sync.error?.reason ?? sync.error?.name ?? 'ok');
        }
        for (const reason of ['ok', 'invalid_signature', 'expired', 'invalid_request', 'unsupported_grant_type', 'unsupported_assertion_type', 'TypeError']) {
          assert.ok(reasons.has(reason), `${reason} reached`);
        }
        assert.equal(reasons.has('replayed'), mode !== 'external');
        assert.ok(counts.callback > 10, `${counts.callback} asynchronous verifications`);
      });
    }
  }
});

describe('many calls in flight', () => {
  test('64 calls with one jti: exactly one accepted, the others replayed; 64 distinct: all accepted', async () => {
    for (const alg of Object.keys(SIGNERS)) {
      const v = new m.AssertionVerifier({ keys: { keys: [SIGNERS[alg].jwk] }, issuer: ISSUER, audience: AS });
      const token = sign(alg, SIGNERS[alg], grantClaims());
      const outcomes = await Promise.allSettled(Array.from({ length: 64 }, () => v.verifyAsync(token, at(NOW))));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, alg);
      assert.ok(outcomes.every((o) => o.status === 'fulfilled' || o.reason.reason === 'replayed'), alg);
      // The synchronous method shares the store.
      assert.throws(() => v.verify(token, at(NOW)), { reason: 'replayed' });
      const distinct = Array.from({ length: 64 }, () => sign(alg, SIGNERS[alg], grantClaims()));
      const all = await Promise.all(distinct.map((t) => v.verifyAsync(t, at(NOW))));
      assert.equal(all.length, 64);
      // A mix: tampered ones refused, each valid one accepted once.
      const mixed = distinct.slice(0, 16).flatMap((t) => [tampered(t), t]);
      const fresh = new m.AssertionVerifier({ keys: { keys: [SIGNERS[alg].jwk] }, issuer: ISSUER, audience: AS });
      const settledMixed = await Promise.allSettled(mixed.map((t) => fresh.verifyAsync(t, at(NOW))));
      assert.deepEqual(
        settledMixed.map((o) => (o.status === 'fulfilled' ? 'ok' : o.reason.reason)),
        mixed.map((_, i) => (i % 2 === 0 ? 'invalid_signature' : 'ok')),
      );
    }
  });

  test('a replay hook that calls its own verifier fails closed (replay_store_full), sync or async', async () => {
    let v;
    v = new m.AssertionVerifier({
      keys: { keys: [ec.jwk] },
      issuer: ISSUER,
      audience: AS,
      replay: { checkAndInsert: () => v.verify('x', at(NOW)) },
    });
    const token = sign('ES256', ec, grantClaims());
    assert.throws(() => v.verify(token, at(NOW)), { reason: 'replay_store_full' });
    await assert.rejects(v.verifyAsync(token, at(NOW)), { reason: 'replay_store_full' });
  });

  test('free() while a call is in flight: the call still settles', async () => {
    const v = new m.AssertionVerifier({ keys: { keys: [ed.jwk] }, issuer: ISSUER, audience: AS });
    const pending = v.verifyAsync(sign('EdDSA', ed, grantClaims()), at(NOW));
    v.free();
    assert.equal((await pending).claims.iss, ISSUER);
  });

  test('a platform whose asynchronous verify fails its known answer: the asynchronous methods verify as the synchronous ones', async () => {
    // Right synchronously, wrong (always true) with a callback, from before construction.
    crypto.verify = (...args) => {
      if (typeof args[4] === 'function') {
        setImmediate(() => args[4](null, true));
        return undefined;
      }
      return realVerify(...args);
    };
    for (const alg of Object.keys(SIGNERS)) {
      const v = new m.AssertionVerifier({ keys: { keys: [SIGNERS[alg].jwk] }, issuer: ISSUER, audience: AS });
      const token = sign(alg, SIGNERS[alg], grantClaims());
      await assert.rejects(v.verifyAsync(tampered(token), at(NOW)), { reason: 'invalid_signature' }, alg);
      assert.equal((await v.verifyAsync(token, at(NOW))).header.alg, alg);
    }
  });
});
