// Shared by the node tests: the built package, test keys from the repository's Wycheproof
// vectors, and a signer for arbitrary headers and claims (node:crypto, RSASSA-PKCS1-v1_5).
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../../..');
export const pkgDir = resolve(here, '../../pkg');
export const jsDir = resolve(here, '..');

if (!readFileSync(join(pkgDir, 'package.json'), 'utf8').includes('"name": "rfc7523"')) {
  throw new Error(`no built package in ${pkgDir}: run \`cargo xtask wasm\` first`);
}

/**
 * A throwaway project whose node_modules/rfc7523 links to the built package, so that imports
 * go through the package's `exports` map exactly as an npm user's do.
 */
export function linkedProject() {
  const dir = mkdtempSync(join(tmpdir(), 'rfc7523-js-test-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(pkgDir, join(dir, 'node_modules', 'rfc7523'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "module" }\n');
  return dir;
}

const project = linkedProject();
const requireFromProject = createRequire(join(project, 'index.cjs'));
/** `require('rfc7523')` from a user's project: the `node` condition, CommonJS (verification). */
export const m = requireFromProject('rfc7523');
/** `require('rfc7523/sign')`: the signing module (`signAssertion`). */
export const s = requireFromProject('rfc7523/sign');
/** `require('rfc7523/rs256')`: the RS256-only verifier. */
export const rs256 = requireFromProject('rfc7523/rs256');
/** `import ... from 'rfc7523'` from a user's ES module. */
export async function importFromProject(specifier = 'rfc7523') {
  const file = join(project, `entry-${specifier.replace(/\W/g, '_')}.mjs`);
  writeFileSync(file, `export * from ${JSON.stringify(specifier)};\n`);
  return import(pathToFileURL(file).href);
}

function wycheproofGroup(file, index) {
  const path = join(repoRoot, 'tests/vectors/wycheproof', file);
  return JSON.parse(readFileSync(path, 'utf8')).testGroups[index];
}

/** An RSA key pair: PEMs (PKCS#1 and PKCS#8 private, SPKI public), KeyObjects and a JWK. */
function keyPair(file, index, kid) {
  const group = wycheproofGroup(file, index);
  const privateKey = createPrivateKey(group.privateKeyPem);
  const publicKey = createPublicKey(group.keyPem);
  return {
    kid,
    bits: group.keySize,
    pkcs1Pem: group.privateKeyPem,
    pkcs8Pem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    spkiPem: group.keyPem,
    pkcs1PublicPem: publicKey.export({ type: 'pkcs1', format: 'pem' }),
    privateKey,
    publicKey,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
    privateJwk: { ...privateKey.export({ format: 'jwk' }), kid },
  };
}

/** The main test key (RSA-2048, e = 65537). */
export const keyA = keyPair('rsa_pkcs1_2048_sig_gen_test.json', 2, 'key-a');
/** Another RSA-2048 key: signatures of the right length that key A does not verify. */
export const keyB = keyPair('rsa_pkcs1_2048_sig_gen_test.json', 3, 'key-b');
/** Two more RSA-2048 keys, so that four parties each have their own. */
export const keyC = keyPair('rsa_pkcs1_2048_sig_gen_test.json', 0, 'key-c');
export const keyD = keyPair('rsa_pkcs1_2048_sig_gen_test.json', 1, 'key-d');
/** An RSA-3072 key. */
export const key3072 = keyPair('rsa_pkcs1_3072_sig_gen_test.json', 0, 'key-3072');
/** Too small to be accepted (RSA-1024). */
export const key1024 = keyPair('rsa_pkcs1_1024_sig_gen_test.json', 2, 'key-small');

export const jwks = { keys: [keyA.jwk] };

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Signs any header and claims (objects, or raw JSON text) with RS256 under `key`. */
export function signRaw(header, claims, key = keyA) {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/** The fixed "now" of the tests: 2026-01-01T00:00:00Z. */
export const NOW = 1_767_225_600;
export const at = (seconds) => ({ currentDate: new Date(seconds * 1000) });

export const AS = 'https://as.example';
export const CLIENT = 's6BhdRkqt3';
export const ISSUER = 'https://idp.example';

/** Claims of a valid grant at NOW, with `overrides` applied (`undefined` removes a claim). */
export function grantClaims(overrides = {}) {
  return withOverrides(
    { iss: ISSUER, sub: 'alice', aud: AS, exp: NOW + 300, iat: NOW, jti: `g-${Math.random()}` },
    overrides,
  );
}

/** Claims of a valid client assertion at NOW. */
export function clientClaims(overrides = {}) {
  return withOverrides(
    { iss: CLIENT, sub: CLIENT, aud: AS, exp: NOW + 60, iat: NOW, jti: `c-${Math.random()}` },
    overrides,
  );
}

function withOverrides(base, overrides) {
  const out = { ...base, ...overrides };
  for (const [name, value] of Object.entries(out)) if (value === undefined) delete out[name];
  return out;
}

export const TOKEN_ENDPOINT = `${AS}/token`;

/** A registered client of a registry document, with its own key. */
export const registeredClient = (clientId, key, policy = {}) => ({
  client_id: clientId,
  token_endpoint_auth_method: 'private_key_jwt',
  jwks: { keys: [key.jwk] },
  ...policy,
});

/** A trusted issuer of a registry document, with its own key. */
export const registeredIssuer = (issuer, key, policy = {}) => ({ issuer, jwks: { keys: [key.jwk] }, ...policy });

/** A registry document: client CLIENT (key A) and issuer ISSUER (key B), unless replaced. */
export function registryDoc({ clients = [registeredClient(CLIENT, keyA)], issuers = [registeredIssuer(ISSUER, keyB)], ...top } = {}) {
  return { issuer: AS, token_endpoint: TOKEN_ENDPOINT, clients, issuers, ...top };
}

/** A verifier of a registry document (`registryDoc()` by default). */
export const registryVerifier = (registry = registryDoc(), options = {}) => new m.AssertionVerifier({ registry, ...options });

export const grantVerifier = (options = {}) =>
  new m.AssertionVerifier({ keys: jwks, issuer: ISSUER, audience: AS, ...options });
export const clientVerifier = (options = {}) =>
  new m.AssertionVerifier({ keys: jwks, clientId: CLIENT, audience: AS, ...options });

export const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const form = (params) => new URLSearchParams(params).toString();

/** The error `fn` throws (fails the test when it returns). */
export function thrown(fn) {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an exception');
}

/** Every stable reason code of the core, read from crates/rfc7523/src/error.rs. */
export function coreReasons() {
  const source = readFileSync(join(repoRoot, 'crates/rfc7523/src/error.rs'), 'utf8');
  return [...new Set([...source.matchAll(/Reason::\w+ => "([a-z_]+)"/g)].map((match) => match[1]))];
}
