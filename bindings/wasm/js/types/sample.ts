// Uses every export of the package's main entry (verification), type-checked by `tsc --noEmit`
// (test/package.test.mjs) against the generated .d.ts files, through the package's `exports`
// map; `sample-sign.ts` does the same for `rfc7523/sign`. The `@ts-expect-error` lines prove
// the types are strict where it matters.
import {
  AssertionError,
  AssertionVerifier,
  errorClass,
  type KeyInput,
  type ReplayHook,
  type ReplayRecord,
  type TokenRequestResult,
  type VerifierOptions,
  type VerifyOptions,
  type VerifyResult,
} from 'rfc7523';
// @ts-expect-error: signing is not in the main entry (it is `rfc7523/sign`)
import { signAssertion } from 'rfc7523';

const keys: KeyInput = { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }] };

const seen = new Map<string, number>();
const hook: ReplayHook = {
  checkAndInsert(key: string, expiresAt: number): boolean {
    if (seen.has(key)) return false;
    seen.set(key, expiresAt);
    return true;
  },
};

const grantOptions: VerifierOptions = {
  keys,
  issuer: ['https://idp.example'],
  audience: 'https://as.example',
  subject: 'alice',
  clockTolerance: 30,
  maxTokenAge: 300,
  maxLifetime: 600,
  requireJti: true,
  requireIat: true,
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
};
// @ts-expect-error: clockTolerance is a number of seconds
const badTolerance: VerifierOptions = { keys, audience: 'a', clockTolerance: '30s' };
// @ts-expect-error: the only explicit typ is client-authentication+jwt
const badTyp: VerifierOptions = { keys, audience: 'a', typ: 'JWT' };
// @ts-expect-error: audience is required
const noAudience: VerifierOptions = { keys };
// @ts-expect-error: rsa is 'platform' or 'wasm'
const badRsa: VerifierOptions = { keys, audience: 'a', rsa: 'node' };
void [badTolerance, badTyp, noAudience, badRsa];

const when: VerifyOptions = { currentDate: new Date() };
const grants = new AssertionVerifier(grantOptions);
const clients = new AssertionVerifier(clientOptions);
const rsaImplementation: 'node:crypto' | 'wasm' = clients.rsaImplementation;
void rsaImplementation;

const result: VerifyResult = grants.verify('eyJ...', when);
const sub: string = result.claims.sub;
const exp: number = result.claims.exp;
const header: Record<string, unknown> = result.header;
const record: ReplayRecord | undefined = clients.verify('eyJ...').replay;
const expiresAt: number | undefined = record?.expiresAt;

function tokenEndpoint(body: string): Response {
  try {
    const outcome: TokenRequestResult = clients.verifyTokenRequest(body, { currentDate: new Date() });
    const use: 'grant' | 'client_authentication' = outcome.use;
    const clientId: string | undefined = outcome.clientClaims?.sub;
    const records: ReplayRecord[] | undefined = outcome.replay;
    return Response.json({ use, grantType: outcome.grantType, clientId, records });
  } catch (err) {
    if (err instanceof AssertionError) {
      const status: 400 | 401 = err.status;
      const fields: string[] = [err.code, err.reason, err.oauthError, err.name, err.message];
      const claim: string | undefined = err.claim;
      void [fields, claim];
      return new Response(err.body, { status, headers: { 'content-type': 'application/json' } });
    }
    throw err;
  }
}

const ErrorClass: typeof AssertionError = errorClass();
void signAssertion;

grants.free();
export { ErrorClass, exp, expiresAt, header, sub, tokenEndpoint };
