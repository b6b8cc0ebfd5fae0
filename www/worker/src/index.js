// A token endpoint on Cloudflare Workers with the npm package rfc7523 (RFC 7523 assertions):
//
// - POST /token with a jwt-bearer authorization grant (RFC 7523 §2.1), and/or client
//   authentication by a client assertion (§2.2, private_key_jwt) beside a client_credentials
//   grant; the parties come from the registry document in the Worker's configuration
//   (wrangler.toml [vars]: REGISTRY, ACCESS_TOKEN_LIFETIME): every client and trusted issuer
//   with its own keys and policy, so no party's key can sign for another.
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
import { DurableObject } from 'cloudflare:workers';
import { AssertionError, AssertionVerifier } from 'rfc7523';

/** The core's bound on a token request body (rfc7523::limits::MAX_FORM_BODY_LEN). */
const MAX_BODY_BYTES = 20 * 1024;

const FORM_TYPE = 'application/x-www-form-urlencoded';

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
    const mediaType = (request.headers.get('Content-Type') ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType !== FORM_TYPE) {
      return oauthError(400, 'invalid_request', `the request body must be ${FORM_TYPE}`);
    }
    const body = await readBody(request);
    if (body === null) return oauthError(400, 'invalid_request', 'the request body is too long');
    if (body === undefined) return oauthError(400, 'invalid_request', 'the request body is not valid form encoding');

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
    // Client assertion first, then the grant: the order the core checks them in.
    for (const record of result.replay) {
      if (!(await jtiStore(env, record.key).claim(record.key, record.expiresAt))) {
        return replayRefusal(body, options, record.key);
      }
    }
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

/** The body as text, `null` when longer than the core accepts, `undefined` when not UTF-8. */
async function readBody(request) {
  const declared = Number(request.headers.get('Content-Length') ?? 0);
  if (declared > MAX_BODY_BYTES) return null;
  if (!request.body) return '';
  const chunks = [];
  let length = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > MAX_BODY_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
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
