// Uses every export of the package's main entry (verification), type-checked by `tsc --noEmit`
// (test/package.test.mjs) against the generated .d.ts files, through the package's `exports`
// map; `sample-sign.ts` does the same for `rfc7523/sign`. The `@ts-expect-error` lines prove
// the types are strict where it matters.
import {
  AssertionError,
  AssertionVerifier,
  errorClass,
  type Algorithm,
  type Claims,
  type Implementations,
  type KeyInput,
  type RegisteredClient,
  type RegisteredIssuer,
  type RegistryDocument,
  type RegistryOptions,
  type ReplayHook,
  type ReplayRecord,
  type SinglePartyOptions,
  type TokenRequestOptions,
  type TokenRequestResult,
  type VerifierOptions,
  type VerifyOptions,
  type VerifyResult,
  type Relaxation,
} from 'rfc7523';
// @ts-expect-error: signing is not in the main entry (it is `rfc7523/sign`)
import { signAssertion } from 'rfc7523';
// The RS256-only entry: the same verifier and the same error class.
import { AssertionError as Rs256Error, AssertionVerifier as Rs256Verifier } from 'rfc7523/rs256';

const keys: KeyInput = { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }] };

const seen = new Map<string, number>();
const hook: ReplayHook = {
  checkAndInsert(key: string, expiresAt: number): boolean {
    if (seen.has(key)) return false;
    seen.set(key, expiresAt);
    return true;
  },
};

// The registry: every party with its own keys and policy.
const client: RegisteredClient = {
  client_id: 's6BhdRkqt3',
  token_endpoint_auth_method: 'private_key_jwt',
  jwks: { keys: [{ kty: 'RSA', kid: 'c1', n: 'AQAB', e: 'AQAB' }] },
  max_lifetime: 300,
  require_typ: true,
  token_endpoint_auth_signing_alg: 'ES256',
};
const idp: RegisteredIssuer = {
  issuer: 'https://idp.example',
  jwks: { keys: [{ kty: 'RSA', kid: 'i1', n: 'AQAB', e: 'AQAB' }] },
  subjects: ['alice'],
  leeway: 30,
  max_age: 600,
  require_jti: true,
  require_iat: true,
  token_endpoint_auth_signing_alg: 'RS256',
};
const document: RegistryDocument = {
  issuer: 'https://as.example',
  token_endpoint: 'https://as.example/token',
  clients: [client],
  issuers: [idp],
};
const registryOptions: RegistryOptions = {
  registry: document,
  replay: 'external',
  rsa: 'platform',
  ec: 'platform',
  otherClientAuthentication: 'verified-by-caller',
};
const fromText: VerifierOptions = { registry: JSON.stringify(document), otherClientAuthentication: 'refuse' };
// Remote key sets: fetched by the asynchronous methods, cached per verifier and, here, in a
// cache shared by verifiers.
const remoteClient: RegisteredClient = {
  client_id: 'c2',
  token_endpoint_auth_method: 'private_key_jwt',
  jwks_uri: 'https://c2.example/jwks',
};
const discovered: RegisteredIssuer = { issuer: 'https://idp2.example', discovery: 'openid-configuration' };
const records = new Map<string, string>();
const remoteOptions: RegistryOptions = {
  registry: { issuer: 'https://as.example', clients: [remoteClient], issuers: [discovered] },
  fetch: globalThis.fetch,
  jwksCache: {
    get: async (uri) => records.get(uri),
    set: async (uri, record) => {
      records.set(uri, record);
    },
  },
};
// @ts-expect-error: discovery is "openid-configuration" or "oauth-authorization-server"
const badDiscovery: RegisteredIssuer = { ...discovered, discovery: 'oidc' };
// @ts-expect-error: fetch and jwksCache go with a registry
const fetchBesideKeys: VerifierOptions = { keys, issuer: 'https://idp.example', audience: 'a', fetch: globalThis.fetch };
void [remoteOptions, badDiscovery, fetchBesideKeys];
// @ts-expect-error: the per-party options go into the registry
const keysBesideRegistry: VerifierOptions = { registry: document, keys };
// @ts-expect-error: a client must say private_key_jwt
const secretClient: RegisteredClient = { ...client, token_endpoint_auth_method: 'client_secret_basic' };
// @ts-expect-error: otherClientAuthentication is 'refuse' or 'verified-by-caller'
const allowAll: VerifierOptions = { registry: document, otherClientAuthentication: 'allow' };
void [fromText, keysBesideRegistry, secretClient, allowAll];

const grantOptions: SinglePartyOptions = {
  keys,
  issuer: ['https://idp.example'],
  audience: 'https://as.example',
  subject: 'alice',
  clockTolerance: 30,
  maxTokenAge: 300,
  maxLifetime: 600,
  requireJti: true,
  requireIat: true,
  algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'],
  replay: hook,
};
const clientOptions: VerifierOptions = {
  keys: '-----BEGIN PUBLIC KEY-----\n...',
  clientId: 's6BhdRkqt3',
  audience: 'https://as.example',
  typ: 'client-authentication+jwt',
  requireTyp: true,
  replay: 'external',
  rsa: 'wasm',
  ec: 'wasm',
};
// @ts-expect-error: clockTolerance is a number of seconds
const badTolerance: VerifierOptions = { keys, audience: 'a', clockTolerance: '30s' };
// @ts-expect-error: the only explicit typ is client-authentication+jwt
const badTyp: VerifierOptions = { keys, audience: 'a', typ: 'JWT' };
// @ts-expect-error: audience is required
const noAudience: VerifierOptions = { keys };
// @ts-expect-error: rsa is 'platform' or 'wasm'
const badRsa: VerifierOptions = { keys, audience: 'a', rsa: 'node' };
// @ts-expect-error: ec is 'platform' or 'wasm'
const badEc: VerifierOptions = { keys, audience: 'a', ec: 'node:crypto' };
// @ts-expect-error: one key set serves one party: two issuers need a registry
const twoIssuers: VerifierOptions = { keys, audience: 'a', issuer: ['https://a.example', 'https://b.example'] };
// @ts-expect-error: HS256 is not an algorithm of this package
const hmac: VerifierOptions = { keys, audience: 'a', issuer: 'i', algorithms: ['HS256'] };
// @ts-expect-error: algorithms go into the registry, per party (token_endpoint_auth_signing_alg)
const algorithmsBesideRegistry: VerifierOptions = { registry: document, algorithms: ['PS256'] };
// @ts-expect-error: the registry's signing alg is one of the five
const badSigningAlg: RegisteredIssuer = { ...idp, token_endpoint_auth_signing_alg: 'none' };
void [badTolerance, badTyp, noAudience, badRsa, badEc, twoIssuers, hmac, algorithmsBesideRegistry, badSigningAlg];
const rs256Only = new Rs256Verifier({ keys, issuer: 'https://idp.example', audience: 'a', algorithms: 'RS256' });
const sameClass: typeof AssertionError = Rs256Error;
void [rs256Only, sameClass];

const when: VerifyOptions = { currentDate: new Date() };
const grants = new AssertionVerifier(grantOptions);
const clients = new AssertionVerifier(clientOptions);
const parties = new AssertionVerifier(registryOptions);
const asGrant: VerifyOptions = { currentDate: new Date(), use: 'grant' };
const grantClaims: Claims = parties.verify('eyJ...', asGrant).claims;
// @ts-expect-error: use is 'grant' or 'client_authentication'
const badUse: VerifyOptions = { use: 'client' };
void [grantClaims, badUse];
const rsaImplementation: 'node:crypto' | 'wasm' = clients.rsaImplementation;
const implementations: Implementations = clients.implementations;
const es256By: 'node:crypto' | 'wasm' = implementations.ES256;
// @ts-expect-error: HS256 is not an algorithm of this package
const hs256By = implementations.HS256;
void [rsaImplementation, es256By, hs256By];

// The asynchronous methods: the same verdicts, errors and replay records, as promises.
async function asynchronous(token: string, body: string): Promise<string | undefined> {
  const verified: VerifyResult = await grants.verifyAsync(token, when);
  const outcome: TokenRequestResult = await parties.verifyTokenRequestAsync(body, { authorization: null });
  // @ts-expect-error: a promise, not the result
  const notAwaited: VerifyResult = grants.verifyAsync(token);
  void notAwaited;
  return verified.claims.sub + outcome.grantType;
}

const result: VerifyResult = grants.verify('eyJ...', when);
// The relaxations the assertion relied on (empty when strict).
const relaxations: Relaxation[] = result.compat;
void relaxations;
const sub: string = result.claims.sub;
const exp: number = result.claims.exp;
const header: Record<string, unknown> = result.header;
const alg: Algorithm = result.header.alg;
void alg;
const record: ReplayRecord | undefined = clients.verify('eyJ...').replay;
const expiresAt: number | undefined = record?.expiresAt;

function tokenEndpoint(request: Request, body: string): Response {
  try {
    const options: TokenRequestOptions = { currentDate: new Date(), authorization: request.headers.get('Authorization') };
    const outcome: TokenRequestResult = parties.verifyTokenRequest(body, options);
    const use: 'grant' | 'client_authentication' = outcome.use;
    const how: 'none' | 'client_assertion' | 'client_secret' | 'authorization_header' = outcome.clientAuthentication;
    const clientId: string | undefined = outcome.clientClaims?.sub;
    // Absent only when the client authenticated by a method the caller verifies.
    const subject: string | undefined = outcome.claims?.sub;
    const records: ReplayRecord[] | undefined = outcome.replay;
    // @ts-expect-error: claims may be absent
    const always: string = outcome.claims.sub;
    void always;
    return Response.json({ use, how, grantType: outcome.grantType, clientId, subject, records });
  } catch (err) {
    if (err instanceof AssertionError) {
      const status: 400 | 401 | 503 = err.status;
      // 503 (keys_unavailable): the party's keys could not be fetched; retry after this.
      const retryAfter: number | undefined = err.retryAfter;
      void retryAfter;
      const fields: string[] = [err.code, err.reason, err.oauthError, err.name, err.message];
      const claim: string | undefined = err.claim;
      void [fields, claim];
      // keys_unavailable (a remote party's keys cannot be had): 503 with Retry-After.
      const retry: Record<string, string> = err.retryAfter === undefined ? {} : { 'retry-after': String(err.retryAfter) };
      return new Response(err.body, { status, headers: { 'content-type': 'application/json', ...retry } });
    }
    throw err;
  }
}

const ErrorClass: typeof AssertionError = errorClass();
void signAssertion;

grants.free();
export { ErrorClass, asynchronous, exp, expiresAt, header, sub, tokenEndpoint };
