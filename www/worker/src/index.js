// A token endpoint on Cloudflare Workers with the npm package rfc7523 (RFC 7523 assertions):
//
// - POST /token with a jwt-bearer authorization grant (RFC 7523 §2.1), and/or client
//   authentication by a client assertion (§2.2, private_key_jwt) beside a client_credentials
//   grant; the parties come from the registry document in the Worker's configuration
//   (wrangler.toml [vars]: REGISTRY, ACCESS_TOKEN_LIFETIME): every client and trusted issuer
//   with its own keys and policy, so no party's key can sign for another. With a D1 database
//   bound as REGISTRY_DB (wrangler.toml [env.d1]), the clients are its rows instead, read
//   again every REGISTRY_TTL_SECONDS (see `registry`). RS256, PS256, ES256
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
//   refused request leaves none of its records claimed (see `claimAll`). The same for the
//   client registry in D1: a read that fails or takes longer than REGISTRY_READ_TIMEOUT_MS
//   once the isolate's copy is older than its TTL gets that 503.
// - Remote key sets: a party with `jwks_uri` (or an issuer with `discovery`) in the registry
//   is verified with its published keys, fetched by the package's verifyTokenRequestAsync
//   (used when the registry has such a party) under the core's cache policy. Fetched records are shared by the isolates of a data
//   center through the Cache API (`jwksCache`), each re-checked by the package as strictly
//   as a fetch; a key set that cannot be fetched (and has no usable cached keys) gets 503
//   temporarily_unavailable with the package's Retry-After, never a token.
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

/** How long a stale key set may still serve while refreshes fail (seconds): the core's
 *  STALE_GRACE (rfc7523::remote_keys). A record is kept in the Cache API until its stale limit,
 *  fetched-at + max-age + STALE_GRACE, so an isolate can use it as long as the package would. */
const JWKS_STALE_GRACE_SECONDS = 3600;

/** The origin of the Cache API keys of jwksCache records: a reserved name (RFC 2606 `.invalid`),
 *  never fetched; only a key, so no record can be mistaken for a cached response of a real URL. */
const JWKS_CACHE_ORIGIN = 'https://jwks-cache.rfc7523.invalid';

/** How long an isolate serves the clients it read from D1 (seconds): a client added, rotated
 *  or removed there is served so within this long. Then the next request reads them again;
 *  when that read fails, it gets 503, never the older copy. The var REGISTRY_TTL_SECONDS
 *  (a whole number, 0 to MAX_REGISTRY_TTL_SECONDS; 0: read on every request) replaces it. */
const REGISTRY_TTL_SECONDS = 30;

/** The largest REGISTRY_TTL_SECONDS accepted (5 minutes). */
const MAX_REGISTRY_TTL_SECONDS = 300;

/** How long one read of the clients from D1 may take (ms). Later: 503. */
const REGISTRY_READ_TIMEOUT_MS = 5_000;

/** Most client rows read: the core's MAX_REGISTRY_PARTIES (clients and issuers together).
 *  More rows: 503, logged (the registry cannot hold them). */
const MAX_CLIENT_ROWS = 4096;

/** Longest `entry` of a client row (characters of its JSON text): a longer one is left out, so
 *  one row cannot push the document over the core's MAX_REGISTRY_LEN for every client. */
const MAX_ENTRY_LEN = 64 * 1024;

/** The form type's media type as this endpoint accepts it (RFC 9110 §8.3.1, case-insensitive):
 *  parameters (a charset) allowed, but no comma anywhere, so two Content-Type fields, which
 *  workerd joins with ", ", never pass as one. */
const FORM_CONTENT_TYPE =
  /^application\/x-www-form-urlencoded(?:[ \t]*;[ \t]*[!#$%&'*+.^_`|~0-9a-z-]+=(?:[!#$%&'*+.^_`|~0-9a-z-]+|"[^",\\]*"))*[ \t]*$/i;

/** Per isolate: the registry in use, its keys parsed once (see `registry`). */
let current = null;
/** The read of D1 under way, which every request that needs it awaits (one read at a time). */
let reading = null;
/** The keys the replay judges refuse, each with the number of refusals under way that put it
 *  there (see `replayRefusal`). */
const replayedKeys = new Map();

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

    const parties = await registry(env);
    if (parties === REGISTRY_UNAVAILABLE) return unavailable('the client registry');
    // RFC 6749 §2.3: the Authorization header is one more client authentication method; the
    // core refuses it (this endpoint verifies client assertions only) and counts it against
    // a client assertion in the same request. Only its presence is passed on.
    const options = { currentDate: new Date(), authorization: request.headers.get('Authorization') };
    let result;
    try {
      result = await verifyTokenRequest(parties, parties.verifier, body, options);
    } catch (err) {
      return refusal(err, options.authorization !== null);
    }
    // Judged before any jti is recorded: an unsupported grant uses up nothing.
    if (result.use === 'client_authentication' && result.grantType !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'the grant type is not supported');
    }
    const replayed = await claimAll(env, result.replay);
    if (replayed === STORE_UNAVAILABLE) return unavailable('the replay store');
    if (replayed) return await replayRefusal(parties, body, options, replayed);
    logCompat(result);
    return json(200, {
      access_token: opaqueToken(),
      token_type: 'Bearer',
      expires_in: Number(env.ACCESS_TOKEN_LIFETIME ?? 3600),
    });
  },
};

/**
 * One log line (`wrangler tail`, Workers Logs) per accepted assertion that relied on a
 * compatibility relaxation of its party (README, *Compatibility with deployed clients*), so
 * operators see who still needs one: the party (verified `iss`) and the relaxations' names.
 * Never in the response: the client learns nothing of the policy.
 */
function logCompat(result) {
  for (const [claims, compat] of [
    [result.clientClaims, result.clientCompat],
    [result.use === 'grant' ? result.claims : undefined, result.compat],
  ]) {
    if (claims && compat?.length) console.log(JSON.stringify({ event: 'compat', iss: claims.iss, compat }));
  }
}

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

/** What `registry` returns when the clients could not be read from D1. */
const REGISTRY_UNAVAILABLE = Symbol('client registry unavailable');

/**
 * The registry to judge this request with: `{ verifier, replayJudge, expiresAt }`, or
 * REGISTRY_UNAVAILABLE. Without REGISTRY_DB it is [vars] REGISTRY, loaded once per isolate (a
 * mistake in it throws here, on the first request). With REGISTRY_DB (a D1 database), it is
 * [vars] REGISTRY (the issuer identifier, token_endpoint, trusted issuers; no clients) with the
 * rows of D1's `clients` table as its clients, read again once it is older than the TTL: a
 * fresh copy is served without D1, an older one never (its read fails: 503).
 */
async function registry(env) {
  if (current && Date.now() < current.expiresAt) return current;
  if (!env.REGISTRY_DB) {
    current = judges(env.REGISTRY, Infinity);
    return current;
  }
  reading ??= readClients(env).finally(() => {
    reading = null;
  });
  return reading;
}

/** A verifier of `document` (registry text or object) with external replay records, and the
 *  same policy's replay judge, made on first use: its hook refuses the keys in `replayedKeys`,
 *  so a replay the Durable Object found is worded exactly as the core words its own. `remote`:
 *  whether the document has parties whose keys are fetched (see `verifyTokenRequest`). */
function judges(document, expiresAt, verifier = newVerifier(document)) {
  let replayJudge;
  return {
    verifier,
    remote: hasRemoteParties(document),
    get replayJudge() {
      replayJudge ??= new AssertionVerifier({
        registry: document,
        replay: { checkAndInsert: (key) => !replayedKeys.has(key) },
        ...remoteKeyOptions(),
      });
      return replayJudge;
    },
    expiresAt,
  };
}

/**
 * `judge`'s verdict on a token request under the registry `parties`: verifyTokenRequestAsync
 * when the registry has a party with `jwks_uri` or `discovery` (only it fetches their keys),
 * else verifyTokenRequest. The package gives both the same answers; the asynchronous one runs
 * the core twice around the signature: 0.3–0.6 ms more of workerd's CPU per grant (1.4–1.9 ms
 * synchronous, 1.7–2.2 ms asynchronous; three paired runs of 400 with wrangler.toml's inline
 * keys on a shared 2-core machine), so a registry of inline keys keeps the synchronous one.
 */
function verifyTokenRequest(parties, judge, body, options) {
  return parties.remote ? judge.verifyTokenRequestAsync(body, options) : judge.verifyTokenRequest(body, options);
}

/** Whether a registry document (JSON text or object, one the loader accepted) names a party
 *  whose keys are fetched: a `jwks_uri`, or an issuer's `discovery`. */
function hasRemoteParties(document) {
  const value = typeof document === 'string' ? JSON.parse(document) : document;
  return [...(value?.clients ?? []), ...(value?.issuers ?? [])].some((party) => 'jwks_uri' in party || 'discovery' in party);
}

/** A verifier of `document` with external replay records and the remote-key options. */
function newVerifier(document) {
  return new AssertionVerifier({ registry: document, replay: 'external', ...remoteKeyOptions() });
}

/**
 * How the verifiers fetch and share the registry's remote key sets (`jwks_uri`, `discovery`):
 * the global fetch (called as a function of its own, so workerd sees the right `this`), and
 * `jwksCache` on the Cache API where the runtime has it. A registry with inline keys only never
 * uses either.
 */
function remoteKeyOptions() {
  const cache = globalThis.caches?.default;
  return {
    fetch: (url, init) => fetch(url, init),
    ...(cache && { jwksCache: cacheApiJwksCache(cache) }),
  };
}

/**
 * The package's `jwksCache` on the Workers Cache API (`caches.default`): one entry per fetched
 * URI, keyed by a synthetic URL under JWKS_CACHE_ORIGIN (the SHA-256 of the URI), holding the
 * package's record string (rfc7523::remote_keys::Record) with `Cache-Control: max-age` up to the
 * record's stale limit. The Cache API is per data center and shared by every isolate there, so
 * a cold isolate adopts the record another one stored instead of fetching (see www/README.md for
 * why this store and not KV). A record read back is never trusted more than a fetch: the package
 * checks its digest, URI and times and runs its document through every rule a fetched one
 * passes. Any error is a miss (the package fetches) or an unstored record.
 */
function cacheApiJwksCache(cache) {
  return {
    async get(uri) {
      const response = await cache.match(await jwksCacheKey(uri));
      return response ? response.text() : undefined;
    },
    async set(uri, record) {
      const seconds = recordStaleLimit(record) - Math.floor(Date.now() / 1000);
      if (!(seconds > 0)) return;
      const response = new Response(record, {
        headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': `max-age=${seconds}` },
      });
      await cache.put(await jwksCacheKey(uri), response);
    },
  };
}

/** The Cache API key of the record of `uri`. */
async function jwksCacheKey(uri) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(uri)));
  const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${JWKS_CACHE_ORIGIN}/v1/${hex}`;
}

/** When a record stops being usable (Unix seconds): its fetched-at + max-age + the stale grace;
 *  NaN when its header does not say (then it is not stored). Read only for the cache's expiry:
 *  the package judges the record itself. */
function recordStaleLimit(record) {
  const header = record.slice(0, record.indexOf('\n\n'));
  const field = (name) => Number(new RegExp(`^${name} ([0-9]{1,20})$`, 'm').exec(header)?.[1]);
  return field('fetched-at') + field('max-age') + JWKS_STALE_GRACE_SECONDS;
}

/** Reads the clients from D1 and makes `current` of them (see `registry`); REGISTRY_UNAVAILABLE
 *  when the read throws, answers something else than rows, or takes too long. */
async function readClients(env) {
  const server = serverPart(env);
  const ttl = registryTtl(env);
  const started = Date.now();
  current = null;
  let rows;
  try {
    const answer = await withTimeout(
      env.REGISTRY_DB.prepare('SELECT client_id, entry, updated_at FROM clients ORDER BY client_id LIMIT ?')
        .bind(MAX_CLIENT_ROWS + 1)
        .all(),
      REGISTRY_READ_TIMEOUT_MS,
    );
    rows = answer?.results;
    if (!Array.isArray(rows)) throw new Error('D1 answered without rows');
    if (rows.length > MAX_CLIENT_ROWS) throw new Error(`more than ${MAX_CLIENT_ROWS} clients`);
  } catch (err) {
    console.error(`registry: the clients could not be read from D1: ${err?.message ?? err}`);
    return REGISTRY_UNAVAILABLE;
  }
  const loaded = withClients(server, clientRows(rows));
  if (loaded === null) return REGISTRY_UNAVAILABLE;
  current = judges(loaded.document, started + ttl * 1000, loaded.verifier);
  return current;
}

/** The [vars] part of a D1 registry, as JSON text without its closing brace; a mistake in it
 *  throws (a configuration error, as a bad REGISTRY without D1). */
function serverPart(env) {
  const text = typeof env.REGISTRY === 'string' ? env.REGISTRY : JSON.stringify(env.REGISTRY ?? null);
  const server = JSON.parse(text);
  if (server === null || typeof server !== 'object' || Array.isArray(server)) {
    throw new TypeError('REGISTRY must be the registry document (its issuer, token_endpoint and issuers)');
  }
  if ('clients' in server) {
    throw new TypeError('REGISTRY must not list clients when REGISTRY_DB is bound: the clients are the rows of D1');
  }
  // The trusted issuers alone, through the loader (strict, text as given): a mistake there is
  // the configuration's, not any client row's.
  if (Array.isArray(server.issuers) && server.issuers.length > 0) {
    newVerifier(text).free();
  }
  const open = text.trimEnd().slice(0, -1).trimEnd();
  return Object.keys(server).length > 0 ? `${open},` : open;
}

/** The var REGISTRY_TTL_SECONDS (a number, or its digits as text), else the constant; any
 *  other value throws. */
function registryTtl(env) {
  const value = env.REGISTRY_TTL_SECONDS ?? REGISTRY_TTL_SECONDS;
  const ttl = typeof value === 'string' && /^[0-9]{1,3}$/.test(value) ? Number(value) : value;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_REGISTRY_TTL_SECONDS) {
    throw new TypeError(`REGISTRY_TTL_SECONDS must be a whole number of seconds from 0 to ${MAX_REGISTRY_TTL_SECONDS}`);
  }
  return ttl;
}

/** The rows that hold one client entry each: `{ id, text }` (the entry's JSON text, exactly
 *  one JSON object whose client_id is the row's); any other row is left out and logged. */
function clientRows(rows) {
  const clients = [];
  for (const row of rows) {
    const problem = rowProblem(row);
    if (problem) leftOut(row, problem);
    else clients.push({ id: row.client_id, text: row.entry, updatedAt: row.updated_at });
  }
  return clients;
}

function rowProblem(row) {
  if (typeof row?.client_id !== 'string') return 'its client_id is not text';
  if (typeof row.entry !== 'string') return 'its entry is not text';
  if (row.entry.length > MAX_ENTRY_LEN) return `its entry is longer than ${MAX_ENTRY_LEN} characters`;
  let entry;
  try {
    // One JSON value, nothing after it: its text can go into the document as it is.
    entry = JSON.parse(row.entry);
  } catch {
    return 'its entry is not JSON';
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return 'its entry is not a JSON object';
  if (entry.client_id !== row.client_id) return "its entry's client_id is not the row's";
  return null;
}

/**
 * The registry document: the [vars] part and the client rows that load. When the whole does not
 * load, the clients at fault are left out (logged) and the rest tried again: first every row the
 * loader refuses on its own, with the [vars] part (a client that lists a trusted issuer's key
 * among them: the issuer, configuration, is kept); then, while the rest do not load together,
 * the rows that list one public key, all of them, since each could sign for the others. Returns
 * `{ document, verifier }`, or null when what is wrong is no client's (logged).
 */
function withClients(server, clients) {
  const document = (some) => `${server}"clients":[${some.map((client) => client.text).join(',')}]}`;
  /** A verifier of `some`, or the loader's TypeError. */
  const load = (some) => {
    try {
      return newVerifier(document(some));
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      return err;
    }
  };
  /** null when `some` loads, else the loader's TypeError. */
  const refusal = (some) => {
    const verifier = load(some);
    if (verifier instanceof TypeError) return verifier;
    verifier.free();
    return null;
  };
  const leaveOut = (faulty, problem) => {
    for (const client of faulty) leftOut({ client_id: client.id, updated_at: client.updatedAt }, problem(client));
    return clients.filter((client) => !faulty.includes(client));
  };
  let alone = false;
  // Each pass leaves out at least one client, or ends.
  for (;;) {
    const verifier = load(clients);
    if (!(verifier instanceof TypeError)) return { document: document(clients), verifier };
    if (!alone) {
      alone = true;
      const refusals = new Map(clients.map((client) => [client, refusal([client])]));
      const faulty = clients.filter((client) => refusals.get(client) !== null);
      if (faulty.length > 0) {
        clients = leaveOut(faulty, (client) => refusals.get(client).message);
        continue;
      }
    }
    // Every client loads alone: the loader names the later of two that share a key first,
    // `registry: clients[2] "id".jwks: the same public key is listed for clients[0] …`.
    const at = /^registry: clients\[(\d+)\]/.exec(verifier.message);
    const i = at ? Number(at[1]) : -1;
    const faulty = i >= 0 && i < clients.length ? clients.filter((client, j) => j === i || refusal([client, clients[i]]) !== null) : [];
    if (faulty.length < 2) {
      console.error(`registry: the clients from D1 do not load together, and no row is at fault: ${verifier.message}`);
      return null;
    }
    clients = leaveOut(faulty, () => verifier.message);
  }
}

/** Logs a client row left out of the registry: its client_id (the table's key) and why. The
 *  client's assertions are then refused as an unknown client's (401 invalid_client). */
function leftOut(row, problem) {
  const id = typeof row?.client_id === 'string' ? JSON.stringify(row.client_id) : '(not text)';
  const updated = Number.isInteger(row?.updated_at) ? ` (updated_at ${row.updated_at})` : '';
  console.error(`registry: client row ${id}${updated} left out: ${problem}`);
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
      fresh = await withTimeout(jtiStore(env, record.key).claim(record.key, record.expiresAt), REPLAY_STORE_TIMEOUT_MS);
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
    await withTimeout(jtiStore(env, record.key).release(record.key, record.expiresAt), REPLAY_STORE_TIMEOUT_MS);
  } catch {
    // Fail closed: the assertion stays spent.
  }
}

/** `promise`, or a rejection after `ms`. */
function withTimeout(promise, ms) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(promise), late]).finally(() => clearTimeout(timer));
}

/**
 * RFC 6749 §5.2 has no error code for a server that cannot decide; 503 (RFC 7231 §6.6.4) is
 * the HTTP answer, with Retry-After, and `temporarily_unavailable` the code RFC 6749 §4.1.2.1
 * registers for exactly this condition (see www/README.md). Never 200: fail closed. `what`:
 * the replay store, or the client registry.
 */
function unavailable(what) {
  return oauthError(503, 'temporarily_unavailable', `${what} is unavailable; retry later`, {
    'Retry-After': String(RETRY_AFTER_SECONDS),
  });
}

/** The Durable Object for a replay key: one of 64, by the key's first character, so a key
 *  always meets the same object. */
function jtiStore(env, key) {
  return env.JTI_STORE.get(env.JTI_STORE.idFromName(`jti-${key[0]}`));
}

/**
 * The core's answer for a request whose record `key` the store already had, under the
 * registry (`parties`) that accepted it. With remote parties the judge is asynchronous (a
 * party's keys may have to be read from jwksCache into its own cache), so refusals of other
 * requests of this isolate may run at the same time: `replayedKeys` holds every key being refused, counted. A
 * key there is one the store holds live, so the judge refusing it for another request that
 * carries it too is right (at worst the other of that request's two assertions is named).
 */
async function replayRefusal(parties, body, options, key) {
  replayedKeys.set(key, (replayedKeys.get(key) ?? 0) + 1);
  try {
    await verifyTokenRequest(parties, parties.replayJudge, body, options);
  } catch (err) {
    return refusal(err, options.authorization !== null);
  } finally {
    const left = replayedKeys.get(key) - 1;
    if (left > 0) replayedKeys.set(key, left);
    else replayedKeys.delete(key);
  }
  throw new Error('the replay store refused a record that the core did not');
}

/**
 * An AssertionError as its RFC 6749 §5.2 response; anything else is a bug. A 401 to a
 * request that tried the Authorization header gets WWW-Authenticate (§5.2), with a fixed
 * scheme and realm: nothing the client sent goes into a response header. A party's keys that
 * cannot be fetched (`keys_unavailable`: the assertion was not judged) are the core's 503
 * `temporarily_unavailable`, with Retry-After from the error's `retryAfter` (seconds until the
 * package fetches them again; at least 1).
 */
function refusal(err, triedAuthorization) {
  if (!(err instanceof AssertionError)) throw err;
  const extra = err.status === 401 && triedAuthorization ? { 'WWW-Authenticate': 'Basic realm="token"' } : {};
  if (err.status === 503) extra['Retry-After'] = String(Math.max(1, Math.ceil(err.retryAfter ?? RETRY_AFTER_SECONDS)));
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
