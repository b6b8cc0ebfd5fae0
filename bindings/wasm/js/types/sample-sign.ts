// Uses every export of `rfc7523/sign`, type-checked by `tsc --noEmit` (test/package.test.mjs)
// against the generated .d.ts files, through the package's `exports` map.
import { AssertionError as MainAssertionError } from 'rfc7523';
import { AssertionError, signAssertion, type SignOptions } from 'rfc7523/sign';
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

// The sign entry re-exports the main entry's class (one class for `instanceof`).
const SameClass: typeof MainAssertionError = AssertionError;
function reason(err: unknown): string | undefined {
  return err instanceof AssertionError ? err.reason : undefined;
}
void [AssertionVerifier, noKey];

export { SameClass, assertion, notAPromise, reason };
