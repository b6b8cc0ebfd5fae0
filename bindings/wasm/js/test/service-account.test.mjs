// signAssertion({ serviceAccount, scope, subject }) (issue 15 item 3): the grant of a Google
// service account's key file, compared byte for byte and field by field with what Google's
// own Python library signs and posts (google-auth, pinned in tests/google-auth/requirements.txt,
// installed by `cargo xtask setup` into target/google-auth-venv: missing, this test fails; it
// never skips), verified by jose and by the package's verifier, and its TypeErrors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { importSPKI, jwtVerify } from 'jose';

import { m, repoRoot, s } from '../support/fixtures.mjs';

const NOW = 1_700_000_000;
const currentDate = new Date(NOW * 1000);
const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const EMAIL = 'robot@project-1.iam.gserviceaccount.com';
const KEY_ID = '5f0c4bd0a5c3e3f5b1d2e3f4a5b6c7d8e9f0a1b2';
const CLOUD = 'https://www.googleapis.com/auth/cloud-platform';
const STORAGE = 'https://www.googleapis.com/auth/devstorage.read_only';
const PYTHON = join(repoRoot, 'target/google-auth-venv/bin/python');
const GRANT_SCRIPT = join(repoRoot, 'tests/google-auth/grant.py');

const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
/** A key file as Google writes it (with the members this package ignores). */
const keyFile = {
  type: 'service_account',
  project_id: 'project-1',
  private_key_id: KEY_ID,
  private_key: keys.privateKey,
  client_email: EMAIL,
  client_id: '123456789012345678901',
  auth_uri: 'https://accounts.google.com/o/oauth2/auth',
  token_uri: GOOGLE_TOKEN_URI,
  auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
  client_x509_cert_url: 'https://www.googleapis.com/robot/v1/metadata/x509/robot%40project-1.iam.gserviceaccount.com',
  universe_domain: 'googleapis.com',
};
const keyFileText = JSON.stringify(keyFile, null, 2);
const dir = mkdtempSync(join(tmpdir(), 'rfc7523-service-account-'));
const keyFilePath = join(dir, 'key.json');
writeFileSync(keyFilePath, keyFileText);

/** What google-auth signs and posts for the key file (tests/google-auth/grant.py). */
function googleAuth(scopes, subject) {
  assert.ok(
    existsSync(PYTHON),
    `${PYTHON} is missing: run \`cargo xtask setup\` (it installs google-auth from tests/google-auth/requirements.txt)`,
  );
  const out = execFileSync(PYTHON, [GRANT_SCRIPT], {
    input: JSON.stringify({ key_file: keyFilePath, scopes, subject: subject ?? null, now: NOW }),
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

const segment = (token, i) => Buffer.from(token.split('.')[i], 'base64url').toString('utf8');
const object = (token, i) => JSON.parse(segment(token, i));

/** The package's verifier, trusting the service account as an issuer of grants. */
const verifier = new m.AssertionVerifier({
  registry: {
    issuer: 'https://as.example',
    token_endpoint: GOOGLE_TOKEN_URI,
    issuers: [
      {
        issuer: EMAIL,
        jwks: { keys: [{ ...createPublicKey(keys.publicKey).export({ format: 'jwk' }), kid: KEY_ID }] },
        compat: ['missing_sub'],
        require_jti: false,
      },
    ],
  },
});

describe('signAssertion with a service account, against google-auth', () => {
  // An unusual subject: every escape of Python's json.dumps (quote, backslash, control
  // characters, DEL, non-ASCII, a character beyond U+FFFF as a surrogate pair).
  const odd = '"o\'dd"\\\u0001\u007f\u00e9\u20ac\u{1d11e}@example.com';
  for (const [scope, subject, form] of [
    [[CLOUD], undefined, 'array'],
    [[CLOUD, STORAGE], 'alice@example.com', 'string'],
    [['email', 'openid'], odd, 'object'],
  ]) {
    test(`scopes ${scope.length}, subject ${subject === undefined ? 'none' : 'given'}, key file as ${form}`, async () => {
      const google = googleAuth(scope, subject);
      assert.equal(google.google_auth, '2.63.0');
      const ours = s.signAssertion({
        serviceAccount: form === 'object' ? keyFile : keyFileText,
        scope: form === 'string' ? scope.join(' ') : scope,
        ...(subject === undefined ? {} : { subject }),
        currentDate,
      });
      // Field by field first, so that a difference says where it is.
      assert.deepEqual(object(ours, 0), object(google.assertion, 0));
      assert.deepEqual(object(ours, 1), object(google.assertion, 1));
      assert.deepEqual(object(ours, 0), { typ: 'JWT', alg: 'RS256', kid: KEY_ID });
      assert.deepEqual(object(ours, 1), {
        iat: NOW,
        exp: NOW + 3600,
        iss: EMAIL,
        aud: GOOGLE_TOKEN_URI,
        scope: scope.join(' '),
        ...(subject === undefined ? {} : { sub: subject }),
      });
      assert.equal(segment(ours, 0), segment(google.assertion, 0));
      assert.equal(segment(ours, 1), segment(google.assertion, 1));
      assert.equal(ours, google.assertion, 'the whole token, byte for byte');
      assert.deepEqual(
        [google.request.method, google.request.url, google.request.body],
        ['POST', GOOGLE_TOKEN_URI, `assertion=${ours}&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer`],
      );
      // Verified by jose, and by the package's verifier (a trusted issuer with missing_sub
      // and require_jti: false), google-auth's token and ours being one.
      const { payload } = await jwtVerify(ours, await importSPKI(keys.publicKey, 'RS256'), {
        issuer: EMAIL,
        audience: GOOGLE_TOKEN_URI,
        currentDate: new Date((NOW + 60) * 1000),
      });
      assert.equal(payload.scope, scope.join(' '));
      const { claims } = verifier.verify(google.assertion, { use: 'grant', currentDate });
      assert.equal(claims.iss, EMAIL);
      assert.equal(claims.sub, subject);
    });
  }
});

describe('signAssertion with a service account: TypeErrors', () => {
  const base = { serviceAccount: keyFileText, scope: CLOUD, currentDate };
  const refused = (options, message) =>
    assert.throws(
      () => s.signAssertion(options),
      (e) => e instanceof TypeError && message.test(e.message),
      JSON.stringify(options, (k, v) => (k === 'serviceAccount' ? '…' : v)),
    );

  test('the options of the other form, and scope without serviceAccount', () => {
    for (const name of ['privateKey', 'issuer', 'audience', 'kid', 'jti', 'alg', 'lifetime', 'clientAuth']) {
      refused({ ...base, [name]: name === 'lifetime' ? 60 : name === 'clientAuth' ? true : 'x' }, new RegExp(`^serviceAccount: ${name} cannot be combined`));
    }
    refused({ privateKey: keys.privateKey, issuer: 'i', subject: 's', audience: 'a', scope: CLOUD }, /^scope applies to serviceAccount only$/);
    refused({ ...base, scopes: CLOUD }, /unknown option "scopes"/);
  });

  test('scope: required, strings, RFC 6749 scope-tokens', () => {
    refused({ serviceAccount: keyFileText }, /^scope is required with serviceAccount$/);
    refused({ ...base, scope: [] }, /^scope: at least one scope is required$/);
    refused({ ...base, scope: 7 }, /^scope must be a string or an array of strings$/);
    refused({ ...base, scope: [CLOUD, 7] }, /^scope must be a string or an array of strings$/);
    refused({ ...base, scope: `${CLOUD}  ${STORAGE}` }, /^scope: scope 2 is not an RFC 6749 scope/);
    refused({ ...base, scope: ['café'] }, /^scope: scope 1 is not/);
    refused({ ...base, subject: '' }, /^subject must be 1 to 256 bytes long$/);
  });

  test('the key file: each refusal names the member', () => {
    const changed = (member, value) => {
      const file = { ...keyFile, [member]: value };
      if (value === undefined) delete file[member];
      return file;
    };
    for (const [serviceAccount, message] of [
      [changed('type', 'authorized_user'), /^serviceAccount: "type" must be "service_account"/],
      [changed('private_key_id', undefined), /^serviceAccount: "private_key_id" is missing$/],
      [changed('client_email', 7), /^serviceAccount: "client_email" must be a string$/],
      [changed('token_uri', ''), /^serviceAccount: "token_uri" must be 1 to 256 bytes long$/],
      [changed('private_key', 'not a key'), /^serviceAccount: "private_key": /],
      [
        changed('private_key', generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey),
        /^serviceAccount: "private_key": service account grants are RS256 and need an RSA key, not a P-256 key$/,
      ],
      ['{"type": ', /^serviceAccount: not a JSON service account key file$/],
      ['[]', /^serviceAccount: a service account key file must be a JSON object$/],
      [[keyFile], /^serviceAccount must be the key file's JSON text or its parsed object$/],
      [42, /^serviceAccount must be the key file's JSON text or its parsed object$/],
      [`${keyFileText}${' '.repeat(32 * 1024)}`, /^serviceAccount: a service account key file of \d+ bytes is longer than 32768 bytes$/],
    ]) {
      refused({ ...base, serviceAccount }, message);
    }
    // At the size limit exactly, it is read.
    const at = `${keyFileText}${' '.repeat(32 * 1024 - Buffer.byteLength(keyFileText))}`;
    assert.equal(s.signAssertion({ ...base, serviceAccount: at }).split('.').length, 3);
  });
});
