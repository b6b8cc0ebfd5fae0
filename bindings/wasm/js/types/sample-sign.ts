// Uses every export of `rfc7523/sign`, type-checked by `tsc --noEmit` (test/package.test.mjs)
// against the generated .d.ts files, through the package's `exports` map.
import { AssertionError as MainAssertionError } from 'rfc7523';
import {
  AssertionError,
  signAssertion,
  type ServiceAccountKey,
  type ServiceAccountSignOptions,
  type SignOptions,
} from 'rfc7523/sign';
// @ts-expect-error: verification is not in the sign entry (it is `rfc7523`)
import { AssertionVerifier } from 'rfc7523/sign';

const signOptions: SignOptions = {
  privateKey: '-----BEGIN PRIVATE KEY-----\n...',
  issuer: 's6BhdRkqt3',
  subject: 's6BhdRkqt3',
  audience: 'https://as.example',
  lifetime: 60,
  kid: 'k1',
  jti: 'j1',
  clientAuth: true,
  currentDate: new Date(),
};
const assertion: string = signAssertion(signOptions);
// @ts-expect-error: signAssertion returns a string, synchronously
const notAPromise: Promise<string> = signAssertion(signOptions);
// @ts-expect-error: privateKey is required
const noKey: SignOptions = { issuer: 'i', subject: 's', audience: 'a' };

// A Google service account's grant: the key file (text or object), scopes, a subject.
const keyFile: ServiceAccountKey = {
  type: 'service_account',
  project_id: 'project-1',
  private_key_id: 'abc',
  private_key: '-----BEGIN PRIVATE KEY-----\n...',
  client_email: 'robot@project-1.iam.gserviceaccount.com',
  token_uri: 'https://oauth2.googleapis.com/token',
};
const google: ServiceAccountSignOptions = {
  serviceAccount: keyFile,
  scope: ['https://www.googleapis.com/auth/cloud-platform'],
  subject: 'alice@example.com',
  currentDate: new Date(),
};
const grant: string = signAssertion(google);
const fromText: string = signAssertion({ serviceAccount: '{"type":"service_account"}', scope: 'email openid' });
// @ts-expect-error: scope is required with serviceAccount
const noScope: SignOptions = { serviceAccount: keyFile };
// @ts-expect-error: the key file gives the key and the claims: no privateKey or issuer beside it
const mixed: SignOptions = { serviceAccount: keyFile, scope: 'email', privateKey: 'k', issuer: 'i' };
// @ts-expect-error: scope belongs to the service-account form
const scopeWithKey: SignOptions = { privateKey: 'k', issuer: 'i', subject: 's', audience: 'a', scope: 'email' };

// The sign entry re-exports the main entry's class (one class for `instanceof`).
const SameClass: typeof MainAssertionError = AssertionError;
function reason(err: unknown): string | undefined {
  return err instanceof AssertionError ? err.reason : undefined;
}
void [AssertionVerifier, noKey, noScope, mixed, scopeWithKey];

export { SameClass, assertion, fromText, grant, notAPromise, reason };
