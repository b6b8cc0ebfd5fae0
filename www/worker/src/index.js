// A token endpoint on Cloudflare Workers with the npm package rfc7523 (RFC 7523 assertions):
//
// - POST /token with a jwt-bearer authorization grant (RFC 7523 §2.1), and/or client
//   authentication by a client assertion (§2.2, private_key_jwt) beside a client_credentials
//   grant; the parties come from the registry document in the Worker's configuration
//   (wrangler.toml [vars]: REGISTRY, ACCESS_TOKEN_LIFETIME): every client and trusted issuer
//   with its own keys and policy, so no party's key can sign for another. RS256, PS256, ES256
//   and EdDSA/Ed25519 (the package's main module): RSA, EC P-256 and Ed25519 keys, one
//   algorithm per key, and each party's token_endpoint_auth_signing_alg honoured by the core.
// - Client secrets and the Authorization header are not supported: the request's
//   Authorization header goes to the core, which answers 401 invalid_client for it (and for
//   a client_secret); the 401 then carries a fixed `WWW-Authenticate: Basic realm="token"`,
//   never text the client sent.
// - Replay protection across isolates: the package runs with `replay: "external"` and
//   returns one (key, expiresAt) record per assertion; each record is inserted, check and
//   insert in one synchronous step, in a Durable Object (JtiStore) chosen by the key, so every
//   isolate of the Worker sees the same store.
// - Answers per RFC 6749: §5.1 token responses (an opaque demo token) and §5.2 error bodies
//   with their status (401 for invalid_client), always `Content-Type: application/json` and
//   `Cache-Control: no-store`. Every verdict on an assertion, and its error text, is the
//   core's; the Worker adds only the HTTP rules around it.
// - Bounded and fail-closed: the body is read within BODY_READ_TIMEOUT_MS (else 408), each
//   answer of the replay store is awaited at most REPLAY_STORE_TIMEOUT_MS, and a store that
//   throws or is late gets 503 temporarily_unavailable with Retry-After, never a token. A
//   refused request leaves none of its records claimed (see `claimAll`).
import { DurableObject } from 'cloudflare:workers';
import { AssertionError, AssertionVerifier } from 'rfc7523';

/** The core's bound on a token request body (rfc7523::limits::MAX_FORM_BODY_LEN). */
const MAX_BODY_BYTES = 20 * 1024;

/** A longer body is read to its end and dropped up to this many bytes (its 400 then leaves
 *  the connection usable); beyond, it is refused unread and workerd closes the connection. */
const MAX_DRAINED_BYTES = 64 * 1024;

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** How long the whole request body may take to arrive, from the first read (ms). A token
 *  request is at most MAX_BODY_BYTES: 10 s is 2 KB/s. Later: 408, and the read is cancelled. */
const BODY_READ_TIMEOUT_MS = 10_000;

/** How long one call to the replay store (a Durable Object) may take (ms). Later: 503. */
const REPLAY_STORE_TIMEOUT_MS = 5_000;

/** The Retry-After of a 503 (seconds, RFC 7231 §7.1.3). */
const RETRY_AFTER_SECONDS = 5;

/** The form type's media type as this endpoint accepts it (RFC 9110 §8.3.1, case-insensitive):
 *  parameters (a charset) allowed, but no comma anywhere, so two Content-Type fields, which
 *  workerd joins with ", ", never pass as one. */
const FORM_CONTENT_TYPE =
  /^application\/x-www-form-urlencoded(?:[ \t]*;[ \t]*[!#$%&'*+.^_`|~0-9a-z-]+=(?:[!#$%&'*+.^_`|~0-9a-z-]+|"[^",\\]*"))*[ \t]*$/i;

/** Per isolate: the keys are parsed once. */
let verifier;
/** The same policy, whose replay hook refuses the keys in `replayedKeys`: it words a replay
 *  the Durable Object found exactly as the core words its own (status, error, description). */
let replayJudge;
let replayedKeys = new Set();

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

    setUp(env);
    // RFC 6749 §2.3: the Authorization header is one more client authentication method; the
    // core refuses it (this endpoint verifies client assertions only) and counts it against
    // a client assertion in the same request. Only its presence is passed on.
    const options = { currentDate: new Date(), authorization: request.headers.get('Authorization') };
    let result;
    try {
      result = verifier.verifyTokenRequest(body, options);
    } catch (err) {
      return refusal(err, options.authorization !== null);
    }
    // Judged before any jti is recorded: an unsupported grant uses up nothing.
    if (result.use === 'client_authentication' && result.grantType !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'the grant type is not supported');
    }
    const replayed = await claimAll(env, result.replay);
    if (replayed === STORE_UNAVAILABLE) return storeUnavailable();
    if (replayed) return replayRefusal(body, options, replayed);
    return json(200, {
      access_token: opaqueToken(),
      token_type: 'Bearer',
      expires_in: Number(env.ACCESS_TOKEN_LIFETIME ?? 3600),
    });
  },
};

/** Replay records of (iss, jti), each kept until its assertion could no longer be accepted. */
export class JtiStore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS jti (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)');
    this.sql.exec('CREATE INDEX IF NOT EXISTS jti_expires_at ON jti (expires_at)');
  }

  /**
   * Stores `key` until `expiresAt` (Unix seconds) and returns true, or returns false when it
   * is stored and live: a replay. Synchronous from start to end (no await), so no other
   * request to this object runs in between: the check and the insert are one atomic step.
   */
  claim(key, expiresAt) {
    const now = Math.floor(Date.now() / 1000);
    this.sql.exec('DELETE FROM jti WHERE expires_at <= ?', now);
    if (this.sql.exec('SELECT 1 FROM jti WHERE key = ?', key).toArray().length > 0) return false;
    this.sql.exec('INSERT INTO jti (key, expires_at) VALUES (?, ?)', key, expiresAt);
    return true;
  }

  /**
   * Deletes the record that `claim(key, expiresAt)` returned true for, when the request it
   * was claimed for is refused after all. Only that record: while it is live no other claim
   * of `key` succeeds, and `expiresAt` is the assertion's, so a record of someone else's is
   * never removed.
   */
  release(key, expiresAt) {
    this.sql.exec('DELETE FROM jti WHERE key = ? AND expires_at = ?', key, expiresAt);
  }
}

function setUp(env) {
  if (verifier) return;
  // The registry document (an object from wrangler.toml, or JSON text from a secret), loaded
  // and checked once per isolate: a mistake in it throws here, on the first request.
  verifier = new AssertionVerifier({ registry: env.REGISTRY, replay: 'external' });
  replayJudge = new AssertionVerifier({
    registry: env.REGISTRY,
    replay: { checkAndInsert: (key) => !replayedKeys.has(key) },
  });
}

/** What `claimAll` returns when the store failed or did not answer in time. */
const STORE_UNAVAILABLE = Symbol('replay store unavailable');

/**
 * Claims every record of an accepted request, the client assertion's first (the order the
 * core checks them in). Returns null when all are claimed; the key of the first record that
 * is a replay; or STORE_UNAVAILABLE when a call threw or took longer than
 * REPLAY_STORE_TIMEOUT_MS. In the last two cases the records claimed before are released,
 * so a refused request leaves nothing claimed, except where that cannot be known: a call that
 * timed out may still have claimed its record (the assertion is then spent, never accepted
 * twice), and a release that fails leaves its record claimed (fail closed).
 */
async function claimAll(env, records) {
  const claimed = [];
  let outcome = null;
  for (const record of records) {
    let fresh;
    try {
      fresh = await withTimeout(jtiStore(env, record.key).claim(record.key, record.expiresAt));
    } catch {
      outcome = STORE_UNAVAILABLE;
      break;
    }
    if (fresh !== true) {
      outcome = fresh === false ? record.key : STORE_UNAVAILABLE;
      break;
    }
    claimed.push(record);
  }
  if (outcome !== null) {
    await Promise.all(claimed.map((record) => release(env, record)));
  }
  return outcome;
}

/** Releases a claimed record, at most REPLAY_STORE_TIMEOUT_MS; a failure leaves it claimed. */
async function release(env, record) {
  try {
    await withTimeout(jtiStore(env, record.key).release(record.key, record.expiresAt));
  } catch {
    // Fail closed: the assertion stays spent.
  }
}

/** `promise`, or a rejection after REPLAY_STORE_TIMEOUT_MS. */
function withTimeout(promise) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('the replay store did not answer in time')), REPLAY_STORE_TIMEOUT_MS);
  });
  return Promise.race([Promise.resolve(promise), late]).finally(() => clearTimeout(timer));
}

/**
 * RFC 6749 §5.2 has no error code for a server that cannot decide; 503 (RFC 7231 §6.6.4) is
 * the HTTP answer, with Retry-After, and `temporarily_unavailable` the code RFC 6749 §4.1.2.1
 * registers for exactly this condition (see www/README.md). Never 200: fail closed.
 */
function storeUnavailable() {
  return oauthError(503, 'temporarily_unavailable', 'the replay store is unavailable; retry later', {
    'Retry-After': String(RETRY_AFTER_SECONDS),
  });
}

/** The Durable Object for a replay key: one of 64, by the key's first character, so a key
 *  always meets the same object. */
function jtiStore(env, key) {
  return env.JTI_STORE.get(env.JTI_STORE.idFromName(`jti-${key[0]}`));
}

/** The core's answer for a request whose record `key` the store already had. */
function replayRefusal(body, options, key) {
  replayedKeys = new Set([key]);
  try {
    replayJudge.verifyTokenRequest(body, options);
  } catch (err) {
    return refusal(err, options.authorization !== null);
  } finally {
    replayedKeys = new Set();
  }
  throw new Error('the replay store refused a record that the core did not');
}

/**
 * An AssertionError as its RFC 6749 §5.2 response; anything else is a bug. A 401 to a
 * request that tried the Authorization header gets WWW-Authenticate (§5.2), with a fixed
 * scheme and realm: nothing the client sent goes into a response header.
 */
function refusal(err, triedAuthorization) {
  if (!(err instanceof AssertionError)) throw err;
  const extra = err.status === 401 && triedAuthorization ? { 'WWW-Authenticate': 'Basic realm="token"' } : {};
  return new Response(err.body, { status: err.status, headers: jsonHeaders(extra) });
}

/**
 * The request's framing and media type, before any byte of the body is read: a Response for a
 * request refused, else null. workerd itself answers malformed framing (an unknown or
 * non-final Transfer-Encoding, conflicting Content-Lengths) before the Worker runs; what it
 * passes on and is refused here: Transfer-Encoding beside Content-Length (RFC 9112 §6.1: a
 * request-smuggling shape) or chunked twice (400), a Content-Type that is not the form type
 * or is repeated (400), a Content-Encoding (415, RFC 9110 §15.5.16: not decoded here).
 */
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

/**
 * The body as text, or the Response that refuses it: longer than the core accepts or not
 * UTF-8 (400), unreadable (400: workerd refuses malformed chunked framing while the Worker
 * reads), or not complete within BODY_READ_TIMEOUT_MS (408, RFC 7231 §6.5.7). A body over
 * MAX_BODY_BYTES is still read to its end and dropped while it stays within MAX_DRAINED_BYTES,
 * so that workerd can keep the connection; beyond, or declared beyond, it is refused unread
 * and workerd closes the connection after the answer.
 */
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
