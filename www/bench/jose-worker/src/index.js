// BENCH-ONLY, NOT SHIPPED, NOT AN EXAMPLE: the example Worker's token endpoint
// (www/worker/src/index.js) written with jose instead of the rfc7523 package, for the CPU-time
// comparison of issue 16 (www/bench/worker-cpu.mjs, `cargo xtask bench worker-cpu`).
//
// It does what the real Worker does for the requests that bench sends, and only those:
// POST /token with an RS256 jwt-bearer grant of a trusted issuer, or a client_credentials grant
// with an RS256 private_key_jwt client assertion, the parties and their keys read from the same
// registry document ([vars] REGISTRY of www/worker/wrangler.toml, passed in by the bench).
// Same HTTP rules (the framing and body checks are copied from the real Worker), same checks
// (iss, sub, aud, exp, nbf, iat, max_lifetime, jti, `typ`, with the core's 30 s leeway), the
// same replay store (a copy of the real Worker's JtiStore Durable Object, same key format: SHA-256 of iss
// and jti as base64url, one of 64 objects by its first character, kept until exp + leeway).
// Keys: one jose `createLocalJWKSet` per party, made once per isolate, which imports each key
// once and caches the CryptoKey (what a real jose Worker would do). Not handled, because the
// bench sends none of it: ES256/EdDSA parties, a grant with a client assertion beside it,
// the Authorization header, D1, the compatibility relaxations.
import { DurableObject } from 'cloudflare:workers';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify } from 'jose';

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The core's DEFAULT_LEEWAY (crates/rfc7523/src/profile.rs). */
const LEEWAY = 30;
/** The core's DEFAULT_MAX_LIFETIME, when a party sets none. */
const DEFAULT_MAX_LIFETIME = 3600;
const MAX_BODY_BYTES = 20 * 1024;
const MAX_DRAINED_BYTES = 64 * 1024;
const FORM_TYPE = 'application/x-www-form-urlencoded';
const BODY_READ_TIMEOUT_MS = 10_000;
const REPLAY_STORE_TIMEOUT_MS = 5_000;
const RETRY_AFTER_SECONDS = 5;
const FORM_CONTENT_TYPE =
  /^application\/x-www-form-urlencoded(?:[ \t]*;[ \t]*[!#$%&'*+.^_`|~0-9a-z-]+=(?:[!#$%&'*+.^_`|~0-9a-z-]+|"[^",\\]*"))*[ \t]*$/i;

/** Per isolate: the parties of REGISTRY, each with its jose JWK Set (keys imported once). */
let parties = null;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname !== '/token') {
      return json(404, { error: 'not_found', error_description: 'this Worker answers POST /token' });
    }
    if (request.method !== 'POST') {
      return oauthError(405, 'invalid_request', 'the token endpoint accepts POST only', { Allow: 'POST' });
    }
    const framing = framingProblem(request.headers);
    if (framing) return framing;
    const body = await readBody(request);
    if (body instanceof Response) return body;
    parties ??= load(env.REGISTRY);

    let form;
    try {
      form = new URLSearchParams(body);
    } catch {
      return oauthError(400, 'invalid_request', 'the request body is not valid form encoding');
    }
    const now = Math.floor(Date.now() / 1000);
    let record;
    const grantType = form.get('grant_type');
    if (grantType === GRANT_TYPE && form.has('assertion') && !form.has('client_assertion')) {
      record = await verifyGrant(form.get('assertion'), now);
    } else if (grantType === 'client_credentials' && form.get('client_assertion_type') === CLIENT_ASSERTION_TYPE) {
      record = await verifyClient(form.get('client_assertion'), form.get('client_id'), now);
    } else {
      return oauthError(400, 'invalid_request', 'not a request this bench-only Worker handles');
    }
    if (record instanceof Response) return record;

    let fresh;
    try {
      fresh = await withTimeout(jtiStore(env, record.key).claim(record.key, record.expiresAt), REPLAY_STORE_TIMEOUT_MS);
    } catch {
      return oauthError(503, 'temporarily_unavailable', 'the replay store is unavailable; retry later', { 'Retry-After': String(RETRY_AFTER_SECONDS) });
    }
    if (fresh !== true) return record.refuse('the assertion was already used (jti replay)');
    return json(200, { access_token: opaqueToken(), token_type: 'Bearer', expires_in: Number(env.ACCESS_TOKEN_LIFETIME ?? 3600) });
  },
};

/** The registry's parties: `{ issuer, tokenEndpoint, clients: Map, issuers: Map }`, each party
 *  `{ keys (a jose JWK Set), maxLifetime }`. */
function load(registry) {
  const document = typeof registry === 'string' ? JSON.parse(registry) : registry;
  const party = (entry) => ({ keys: createLocalJWKSet(entry.jwks), maxLifetime: entry.max_lifetime ?? DEFAULT_MAX_LIFETIME });
  return {
    issuer: document.issuer,
    tokenEndpoint: document.token_endpoint,
    clients: new Map((document.clients ?? []).map((client) => [client.client_id, party(client)])),
    issuers: new Map((document.issuers ?? []).map((issuer) => [issuer.issuer, party(issuer)])),
  };
}

/** A jwt-bearer grant (RFC 7523 §2.1, §3): `{ key, expiresAt, refuse }` or the refusal. */
async function verifyGrant(assertion, now) {
  const refuse = (why) => oauthError(400, 'invalid_grant', `grant assertion: ${why}`);
  const iss = unverifiedIssuer(assertion);
  const issuer = iss !== undefined && parties.issuers.get(iss);
  if (!issuer) return refuse('the issuer is not trusted');
  return verify(assertion, issuer, refuse, now, {
    issuer: iss,
    audience: [parties.issuer, parties.tokenEndpoint].filter(Boolean),
    requiredClaims: ['sub', 'exp', 'jti'],
    // The core: `typ`, when present, must be JWT.
    typs: ['jwt'],
  });
}

/** A private_key_jwt client assertion (RFC 7523 §2.2, RFC 10070): iss = sub = client_id, aud
 *  the issuer identifier as its sole value, `typ` absent, JWT or client-authentication+jwt. */
async function verifyClient(assertion, clientId, now) {
  const refuse = (why) => oauthError(401, 'invalid_client', `client assertion: ${why}`);
  if (typeof assertion !== 'string') return refuse('missing');
  const iss = unverifiedIssuer(assertion);
  const client = iss !== undefined && (clientId === null || clientId === iss) && parties.clients.get(iss);
  if (!client) return refuse('unknown client');
  return verify(assertion, client, refuse, now, {
    issuer: iss,
    subject: iss,
    audience: parties.issuer,
    soleAudience: true,
    requiredClaims: ['exp', 'jti'],
    typs: ['jwt', 'client-authentication+jwt'],
  });
}

/** `iss` of an assertion not yet verified (to pick the party whose keys verify it), or undefined. */
function unverifiedIssuer(assertion) {
  try {
    const { iss } = decodeJwt(assertion);
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** jose `jwtVerify` with the party's keys and the core's checks around it. */
async function verify(assertion, party, refuse, now, { issuer, subject, audience, soleAudience = false, requiredClaims, typs }) {
  let payload;
  let protectedHeader;
  try {
    ({ payload, protectedHeader } = await jwtVerify(assertion, party.keys, {
      algorithms: ['RS256'],
      issuer,
      subject,
      audience,
      requiredClaims,
      clockTolerance: LEEWAY,
      currentDate: new Date(now * 1000),
    }));
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed) return refuse('invalid signature');
    if (err instanceof errors.JWTExpired) return refuse(`the assertion expired (leeway ${LEEWAY} s)`);
    if (err instanceof errors.JOSEError) return refuse(err.message);
    throw err;
  }
  const typ = protectedHeader.typ;
  if (typ !== undefined && !typs.includes(String(typ).toLowerCase().replace(/^application\//, ''))) return refuse('unexpected typ');
  if (soleAudience && !(typeof payload.aud === 'string' || (Array.isArray(payload.aud) && payload.aud.length === 1))) {
    return refuse('aud must be the issuer identifier alone');
  }
  if (typeof payload.jti !== 'string' || payload.jti === '') return refuse('jti must be a non-empty string');
  // The core: iat not in the future, lifetime (exp − iat, or exp − now without iat) ≤ max_lifetime.
  if (payload.iat !== undefined && Math.ceil(payload.iat) > now + LEEWAY) return refuse('issued in the future');
  const lifetime = Math.ceil(payload.exp - (payload.iat ?? now));
  if (lifetime > party.maxLifetime) return refuse(`the lifetime ${lifetime} s is longer than ${party.maxLifetime} s`);
  return { key: await replayKey(payload.iss, payload.jti), expiresAt: Math.ceil(payload.exp) + LEEWAY, refuse };
}

/** The core's ReplayKey (crates/rfc7523/src/replay.rs) as base64url, as the package gives it:
 *  SHA-256("rfc7523-replay-v1" || len(iss) as u64 BE || iss || jti). */
async function replayKey(iss, jti) {
  const encoder = new TextEncoder();
  const issBytes = encoder.encode(iss);
  const jtiBytes = encoder.encode(jti);
  const prefix = encoder.encode('rfc7523-replay-v1');
  const input = new Uint8Array(prefix.length + 8 + issBytes.length + jtiBytes.length);
  input.set(prefix, 0);
  new DataView(input.buffer).setBigUint64(prefix.length, BigInt(issBytes.length));
  input.set(issBytes, prefix.length + 8);
  input.set(jtiBytes, prefix.length + 8 + issBytes.length);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', input));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// From here on: copied from www/worker/src/index.js, so both Workers do the same HTTP and
// storage work (the replay store without `release`, which the bench never reaches).

export class JtiStore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS jti (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)');
    this.sql.exec('CREATE INDEX IF NOT EXISTS jti_expires_at ON jti (expires_at)');
  }

  claim(key, expiresAt) {
    const now = Math.floor(Date.now() / 1000);
    this.sql.exec('DELETE FROM jti WHERE expires_at <= ?', now);
    if (this.sql.exec('SELECT 1 FROM jti WHERE key = ?', key).toArray().length > 0) return false;
    this.sql.exec('INSERT INTO jti (key, expires_at) VALUES (?, ?)', key, expiresAt);
    return true;
  }
}

function jtiStore(env, key) {
  return env.JTI_STORE.get(env.JTI_STORE.idFromName(`jti-${key[0]}`));
}

function withTimeout(promise, ms) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(promise), late]).finally(() => clearTimeout(timer));
}

function framingProblem(headers) {
  const transferEncoding = headers.get('Transfer-Encoding');
  if (transferEncoding !== null && (headers.has('Content-Length') || transferEncoding.trim().toLowerCase() !== 'chunked')) {
    return oauthError(400, 'invalid_request', 'the request has both Transfer-Encoding and Content-Length, or an unsupported Transfer-Encoding');
  }
  if (!FORM_CONTENT_TYPE.test(headers.get('Content-Type') ?? '')) {
    return oauthError(400, 'invalid_request', `the request body must be ${FORM_TYPE}`);
  }
  const contentEncoding = headers.get('Content-Encoding');
  if (contentEncoding !== null && contentEncoding.trim().toLowerCase() !== 'identity') {
    return oauthError(415, 'invalid_request', 'the request body must not have a Content-Encoding');
  }
  return null;
}

async function readBody(request) {
  const tooLong = () => oauthError(400, 'invalid_request', 'the request body is too long');
  const declared = Number(request.headers.get('Content-Length') ?? 0);
  if (declared > MAX_DRAINED_BYTES) return tooLong();
  if (!request.body) return '';
  const chunks = [];
  let length = 0;
  const reader = request.body.getReader();
  const late = Symbol('late');
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve(late), BODY_READ_TIMEOUT_MS);
  });
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), deadline]);
      if (next === late) {
        reader.cancel().catch(() => {});
        return oauthError(408, 'invalid_request', 'the request body did not arrive in time');
      }
      if (next.done) break;
      length += next.value.byteLength;
      if (length > MAX_DRAINED_BYTES) {
        reader.cancel().catch(() => {});
        return tooLong();
      }
      if (length <= MAX_BODY_BYTES) chunks.push(next.value);
    }
  } catch {
    return oauthError(400, 'invalid_request', 'the request body could not be read');
  } finally {
    clearTimeout(timer);
  }
  if (length > MAX_BODY_BYTES) return tooLong();
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return oauthError(400, 'invalid_request', 'the request body is not valid form encoding');
  }
}

function opaqueToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function jsonHeaders(extra = {}) {
  return { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Pragma: 'no-cache', ...extra };
}

function json(status, value, extra) {
  return new Response(JSON.stringify(value), { status, headers: jsonHeaders(extra) });
}

function oauthError(status, error, description, extra) {
  return json(status, { error, error_description: description }, extra);
}
