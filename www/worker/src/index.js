// A token endpoint on Cloudflare Workers with the npm package rfc7523 (RFC 7523 assertions):
//
// - POST /token with a jwt-bearer authorization grant (RFC 7523 §2.1), and/or client
//   authentication by a client assertion (§2.2, private_key_jwt) beside a client_credentials
//   grant; the parties and their keys come from the Worker's configuration (wrangler.toml
//   [vars]: ISSUER, CLIENT_ID, GRANT_ISSUERS, JWKS, MAX_LIFETIME, ACCESS_TOKEN_LIFETIME).
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
    // RFC 6749 §2.3: one client authentication method per request; this endpoint supports
    // client assertions only. §5.2: an attempt through Authorization gets a 401 with the
    // scheme the client used.
    const authorization = request.headers.get('Authorization');
    if (authorization !== null) {
      const scheme = authorization.split(' ')[0] || 'Basic';
      return oauthError(401, 'invalid_client', 'authenticate with a client assertion, not the Authorization header', {
        'WWW-Authenticate': `${scheme} realm="token"`,
      });
    }
    const mediaType = (request.headers.get('Content-Type') ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType !== FORM_TYPE) {
      return oauthError(400, 'invalid_request', `the request body must be ${FORM_TYPE}`);
    }
    const body = await readBody(request);
    if (body === null) return oauthError(400, 'invalid_request', 'the request body is too long');
    if (body === undefined) return oauthError(400, 'invalid_request', 'the request body is not valid form encoding');

    setUp(env);
    const currentDate = new Date();
    let result;
    try {
      result = verifier.verifyTokenRequest(body, { currentDate });
    } catch (err) {
      return refusal(err);
    }
    // Judged before any jti is recorded: an unsupported grant uses up nothing.
    if (result.use === 'client_authentication' && result.grantType !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'the grant type is not supported');
    }
    // Client assertion first, then the grant: the order the core checks them in.
    for (const record of result.replay) {
      if (!(await jtiStore(env, record.key).claim(record.key, record.expiresAt))) {
        return replayRefusal(body, currentDate, record.key);
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
  const options = {
    keys: env.JWKS,
    issuer: env.GRANT_ISSUERS,
    clientId: env.CLIENT_ID,
    audience: env.ISSUER,
    maxLifetime: Number(env.MAX_LIFETIME ?? 300),
    requireJti: true,
  };
  verifier = new AssertionVerifier({ ...options, replay: 'external' });
  replayJudge = new AssertionVerifier({
    ...options,
    replay: { checkAndInsert: (key) => !replayedKeys.has(key) },
  });
}

/** The Durable Object for a replay key: one of 64, by the key's first character, so a key
 *  always meets the same object. */
function jtiStore(env, key) {
  return env.JTI_STORE.get(env.JTI_STORE.idFromName(`jti-${key[0]}`));
}

/** The core's answer for a request whose record `key` the store already had. */
function replayRefusal(body, currentDate, key) {
  replayedKeys = new Set([key]);
  try {
    replayJudge.verifyTokenRequest(body, { currentDate });
  } catch (err) {
    return refusal(err);
  } finally {
    replayedKeys = new Set();
  }
  throw new Error('the replay store refused a record that the core did not');
}

/** An AssertionError as its RFC 6749 §5.2 response; anything else is a bug. */
function refusal(err) {
  if (!(err instanceof AssertionError)) throw err;
  return new Response(err.body, { status: err.status, headers: jsonHeaders() });
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
