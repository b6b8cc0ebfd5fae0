//! Verification: `AssertionVerifier` (`verify`, `verifyTokenRequest`), its parties (a registry
//! document, or the one party of the `keys` form), the replay choices, and errors as
//! `AssertionError` objects (feature `verify`, on by default: the package's main module).

#[cfg(any(feature = "platform-rsa", feature = "remote"))]
use core::cell::Cell;
use core::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, JSON};
use rfc7523::compat::Relaxation;
use rfc7523::limits::MAX_LIFETIME_SETTING;
use rfc7523::profile::DEFAULT_MAX_LIFETIME;
use rfc7523::registry::{RegisteredParty, Registry, RegistryProblem};
use rfc7523::token_request::{OtherClientAuthentication, TokenError};
use rfc7523::{
    Algorithm, Algorithms, BoxedReplayStore, Checks, ClaimString, ClientAuthProfile, DecodeBuffer,
    Error, GrantProfile, KeyLookup, KeyRef, KeySet, KeyType, MaterialRef, OwnedKeys, Party, Reason,
    ReplayEntry, ReplayError, ReplayKey, ReplayStore, RsaKey, SignatureCheck, TokenBuffers,
    TokenEndpoint, TypRule, Use, ValidatedAssertion,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::platform_rsa::PlatformKeys;
use crate::platform_sig::PlatformSignatures;
use crate::{base64url, boolean, member, optional, seconds, string, type_error, unix_seconds};

#[cfg(feature = "remote")]
#[path = "remote.rs"]
mod remote;

/// Entries of the default per-instance replay store (56 bytes each: 3.5 MiB), sized for real
/// traffic (issue 16): 65,536 assertions live at once, e.g. 18 a second for an hour.
pub const DEFAULT_REPLAY_CAPACITY: usize = 65_536;

/// Largest `replayCapacity` (56 MiB of entries).
pub const MAX_REPLAY_CAPACITY_OPTION: usize = 1 << 20;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Keys: a JWK Set or a JWK (object or JSON text), or a PEM public key (SPKI or PKCS#1): RSA
 *  (`kty: "RSA"`), EC P-256 (`kty: "EC"`, `crv: "P-256"`) or Ed25519 (`kty: "OKP"`,
 *  `crv: "Ed25519"`); private keys are refused. Each key verifies one algorithm: its JWK `alg`,
 *  else the one of its type that `algorithms` allows, else its type's default (RSA: RS256,
 *  P-256: ES256, Ed25519: EdDSA, also named Ed25519). `rfc7523/rs256` loads RSA keys only. */
export type KeyInput = string | { keys: object[] } | object;

/** A JWS algorithm this package verifies (exact, case-sensitive). `rfc7523/rs256`: `"RS256"`
 *  only. */
export type Algorithm = "RS256" | "PS256" | "ES256" | "EdDSA" | "Ed25519";

/** The policy fields a registered client or trusted issuer may set (all optional). */
export interface RegistryPolicy {
  /** Longest accepted lifetime (`exp - iat`, or `exp - now`), 1..86400 seconds (default 3600). */
  max_lifetime?: number;
  /** Oldest accepted `iat`, 1..86400 seconds (makes `iat` required). */
  max_age?: number;
  /** Allowed clock skew, 0..600 seconds (default 30). */
  leeway?: number;
  /** Refuse assertions without `jti` (default true). */
  require_jti?: boolean;
  /** Refuse assertions without `iat` (default false). */
  require_iat?: boolean;
  /** The one algorithm its assertions are signed with (RFC 7591): the party's allow-list, and
   *  what its keys without a JWK `alg` serve; every key must be able to (checked at
   *  construction). Default: any, each key its own. */
  token_endpoint_auth_signing_alg?: Algorithm;
}

/** Where a party's keys are: exactly one of `jwks` (inline) and `jwks_uri` (fetched; for an
 *  issuer, `discovery` instead). Fetched keys need the main module (`rfc7523`; the RS256-only
 *  `rfc7523/rs256` refuses them) and are fetched by `verifyAsync` and
 *  `verifyTokenRequestAsync` only (see `RegistryOptions.fetch`). */
export interface PartyKeys {
  /** Its public keys, inline (no other party may list one of them). */
  jwks?: { keys: object[] };
  /** Its JWK Set's URL (RFC 7591): `https`, or `http` on a loopback host only; no userinfo
   *  or fragment; at most 2048 bytes; no other party's. Fetched under the rules of the
   *  README's "Remote key sets" (no redirect, 5 s, 64 KiB, fresh for its
   *  `Cache-Control: max-age` clamped to 60 s..24 h, 10 min without one). */
  jwks_uri?: string;
}

/** A client (RFC 7591 client metadata) that authenticates with `private_key_jwt`. */
export interface RegisteredClient extends RegistryPolicy, PartyKeys {
  client_id: string;
  /** Required, and only this method is supported. */
  token_endpoint_auth_method: "private_key_jwt";
  /** Require `typ: client-authentication+jwt` (RFC 10070); otherwise an absent `typ` or
   *  `JWT` also passes. */
  require_typ?: boolean;
}

/** A trusted issuer of jwt-bearer authorization grants. */
export interface RegisteredIssuer extends RegistryPolicy, PartyKeys {
  issuer: string;
  /** Its keys found through its metadata (instead of `jwks` or `jwks_uri`): the document at
   *  `{issuer}/.well-known/openid-configuration` (OIDC Discovery 1.0) or RFC 8414's
   *  `oauth-authorization-server` one, whose `issuer` must equal this one exactly; then its
   *  `jwks_uri`. The issuer must be an `https` URL (or `http` on loopback). */
  discovery?: "openid-configuration" | "oauth-authorization-server";
  /** The only subjects its grants may carry (default: any). */
  subjects?: string[];
  /** Claim conditions: top-level claims its grants must carry as strings with exactly these
   *  values (e.g. GitHub Actions' repository, ref, environment); else `claim_mismatch`. */
  claims?: Record<string, string>;
}

/** The registry document: this server, its clients and its trusted issuers, each with its own
 *  keys and policy. Unknown fields, duplicate ids, a key listed for two parties, a party
 *  without keys or with two sources of them, a `jwks_uri` breaking the URL rules (or in
 *  `rfc7523/rs256`, any `jwks_uri` or `discovery`) and out-of-range values are refused at
 *  construction (TypeError). */
export interface RegistryDocument {
  /** This server's issuer identifier: the sole `aud` of client assertions, an accepted `aud`
   *  of grants. */
  issuer: string;
  /** Also accepted as the `aud` of grants (RFC 10070 section 2.1). */
  token_endpoint?: string;
  clients?: RegisteredClient[];
  issuers?: RegisteredIssuer[];
}

/** A caller-supplied replay store: atomically store `key` (a digest of iss and jti) until
 *  `expiresAt` (Unix seconds) and return true, or return false when it is already present (a
 *  replay). Throwing, or returning anything but a boolean, refuses the assertion (fail closed). */
export interface ReplayHook {
  checkAndInsert(key: string, expiresAt: number): boolean;
}

/** Options of every verifier. */
export interface CommonVerifierOptions {
  /** The RSA public-key operation (the modular exponentiation under RS256 and PS256).
   *  `"platform"`
   *  (the default): `node:crypto` where the runtime has it (found through
   *  `process.getBuiltinModule`: Node >= 20.16, Workers with `nodejs_compat`; not in the
   *  `web` build), checked on every key of every party at construction against the
   *  package's own arithmetic, else that arithmetic;
   *  `"wasm"`: always the package's own arithmetic. Either way the package checks the
   *  signature's length and range and compares the result with the one valid encoding
   *  itself. `rsaImplementation` tells which one a verifier uses. */
  rsa?: "platform" | "wasm";
  /** ES256 and EdDSA/Ed25519 signature checks. `"platform"` (the default): `node:crypto`'s
   *  `verify` where the runtime has it (as for `rsa`), for each family (P-256, Ed25519) this
   *  verifier has keys of, once a fixed signature verified and the same with one bit flipped
   *  did not and every key of the family imported unchanged, at construction; else the
   *  package's own arithmetic (`p256`, `ed25519-dalek`). `"wasm"`: always the package's own.
   *  Either way the package checks the signature's form first (length; ES256: r and s in
   *  1..n-1; Ed25519: S below the group order and R not of small order), so both judge every
   *  signature alike. `implementations` tells which one a verifier uses. */
  ec?: "platform" | "wasm";
  /** Replay protection: omitted = a bounded in-memory store per verifier (`replayCapacity`
   *  live entries; full = refused); a ReplayHook; or `"external"`: nothing is stored, and
   *  results carry `replay` for your own atomic insert (e.g. a Durable Object). */
  replay?: ReplayHook | "external";
  /** Live entries of the default in-memory replay store: 1 to 1,048,576 (default 65,536;
   *  56 bytes each, allocated when the verifier is built). Only without `replay`. */
  replayCapacity?: number;
  /** `verifyTokenRequest`: a `client_secret` or an `Authorization` header is refused
   *  (`"refuse"`, the default: 401 `unsupported_client_authentication`), or passed on for
   *  you to verify (`"verified-by-caller"`: the result's `clientAuthentication` says which). */
  otherClientAuthentication?: "refuse" | "verified-by-caller";
}

/** What the option `fetch` is called with: a GET of a configured URL, never following a
 *  redirect, aborted after 5 s. */
export interface KeyFetchInit {
  method: "GET";
  redirect: "manual";
  signal: any;
  headers: Record<string, string>;
}

/** What the option `fetch` must answer: a `Response`, or anything with these members. The
 *  body is read chunk by chunk and no further than 64 KiB. */
export interface KeyFetchResponse {
  status: number;
  redirected?: boolean;
  type?: string;
  headers: { get(name: string): string | null };
  body: {
    getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> };
    cancel?(): Promise<void>;
  } | null;
}

/** A cache of fetched key sets and discovery documents shared by verifiers (isolates,
 *  processes), as jose's `jwksCache`: `get` answers what `set` stored for the URI (or
 *  undefined), `set` stores it. A record is a string in the core's versioned format
 *  (`rfc7523-key-cache 1`: the URI, fetch time, lifetime, a SHA-256 and the document as
 *  fetched); one read is checked as strictly as a fresh response (the same document and key
 *  rules; adopted only when newer and within its lifetime and grace), so a corrupt or stale
 *  record costs a fetch, never trust. It must be as private as the registry: whoever can write
 *  it can write keys. Errors thrown by either method are ignored (a miss; an unstored
 *  record). */
export interface JwksCache {
  get(uri: string): Promise<string | undefined> | string | undefined;
  set(uri: string, record: string): Promise<void> | void;
}

/** Every client and trusted issuer from a registry document, each with its own keys and
 *  policy. The per-party options of `SinglePartyOptions` are refused beside it. */
export interface RegistryOptions extends CommonVerifierOptions {
  /** The registry document, as an object or JSON text; loaded once. */
  registry: RegistryDocument | string;
  /** How `verifyAsync` and `verifyTokenRequestAsync` fetch the registry's `jwks_uri` and
   *  discovery documents (default: the global `fetch`). Called only with URLs of the
   *  registry (or a discovery document's `jwks_uri` once its `issuer` matched), at most once
   *  at a time per URL and verifier. A rejection, a timeout (5 s), a status other than 200
   *  (redirects are not followed), a `Content-Type` other than `application/json` (or
   *  `application/jwk-set+json`), more than 64 KiB or a document the core refuses is a failed
   *  fetch: the party's cached keys serve on (stale ones for up to an hour), else its
   *  assertions are refused `keys_unavailable` (503, `retryAfter`). Main module only. */
  fetch?: (url: string, init: KeyFetchInit) => Promise<KeyFetchResponse>;
  /** A cache shared by verifiers, so that they fetch once (see `JwksCache`). Main module
   *  only. */
  jwksCache?: JwksCache;
  keys?: never; issuer?: never; audience?: never; subject?: never; clientId?: never;
  clockTolerance?: never; maxTokenAge?: never; maxLifetime?: never; requireJti?: never;
  requireIat?: never; typ?: never; requireTyp?: never; algorithms?: never;
}

/** Exactly one party, with its keys: one trusted issuer of grants (`issuer`) or one client
 *  (`clientId`). More than one party needs a registry (one key set would be trusted for
 *  every party). Names follow jose's `jwtVerify` where the meaning is the same. */
export interface SinglePartyOptions extends CommonVerifierOptions {
  registry?: undefined;
  fetch?: never; jwksCache?: never;
  /** The party's keys. */
  keys: KeyInput;
  /** The trusted issuer (authorization grant profile). */
  issuer?: string | [string];
  /** Accepted audience(s). With `clientId`, exactly one: the server's issuer identifier. */
  audience: string | string[];
  /** Expected subject (authorization grant profile). */
  subject?: string;
  /** The client (client authentication profile): iss == sub == clientId. */
  clientId?: string;
  /** Allowed clock skew in seconds (default 30). */
  clockTolerance?: number;
  /** Maximum age of `iat`, in seconds (makes `iat` required). */
  maxTokenAge?: number;
  /** Maximum lifetime (`exp - iat`, or `exp - now`), 1..86400 seconds (default 3600). */
  maxLifetime?: number;
  /** Refuse assertions without `jti` (default true; `false` opts out of replay protection). */
  requireJti?: boolean;
  /** Refuse assertions without `iat` (default false). */
  requireIat?: boolean;
  /** `"client-authentication+jwt"`: require that explicit type (same as `requireTyp: true`).
   *  Client authentication only. */
  typ?: "client-authentication+jwt";
  /** Require `typ: client-authentication+jwt` (RFC 10070); otherwise an absent `typ` or
   *  `JWT` also passes, and any other type is refused. Client authentication only. */
  requireTyp?: boolean;
  /** The algorithms this party's assertions may use (an allow-list, RFC 8725 section 3.1;
   *  default: all). A header `alg` outside it is refused (`ERR_JOSE_ALG_NOT_ALLOWED`) before
   *  any key is tried; with one algorithm of a key type, keys of that type without a JWK `alg`
   *  serve that one. Unknown names, none, or a key that serves none of them: a TypeError at
   *  construction. */
  algorithms?: Algorithm | Algorithm[];
}

/** Options of `new AssertionVerifier()`. Unknown names are refused (TypeError), so a typo
 *  cannot silently weaken a check. */
export type VerifierOptions = RegistryOptions | SinglePartyOptions;

/** Who verifies each algorithm's signatures in `verify` and `verifyTokenRequest` (options
 *  `rsa` and `ec`): `"node:crypto"` (RS256, PS256: its RSA public-key operation; ES256,
 *  EdDSA, Ed25519: its `verify`) or `"wasm"` (the package's own arithmetic). The asynchronous
 *  methods use `node:crypto`'s asynchronous `verify` for the algorithms listed `"node:crypto"`
 *  here, once its own known answers passed. */
export type Implementations = Record<Algorithm, "node:crypto" | "wasm">;

export interface VerifyOptions {
  /** The time of the check (default: now). */
  currentDate?: Date;
  /** Which profile: required when the verifier has both clients and trusted issuers. */
  use?: "grant" | "client_authentication";
}

export interface TokenRequestOptions {
  /** The time of the check (default: now). */
  currentDate?: Date;
  /** The request's `Authorization` header value (`request.headers.get('Authorization')`),
   *  or null/undefined when it has none. Only its presence is used: one more client
   *  authentication method (RFC 6749 section 2.3.1). Never echoed. */
  authorization?: string | null;
}

/** What an external replay store must record: `key` until `expiresAt`. */
export interface ReplayRecord {
  key: string;
  iss: string;
  jti: string;
  expiresAt: number;
}

export type Claims = Record<string, unknown> & { iss: string; sub: string; exp: number };

/** A compatibility relaxation an assertion relied on (README, *Compatibility with deployed
 *  clients*): opted into per party, off by default. */
export type Relaxation = "token_endpoint_audience" | "missing_sub" | "missing_jti";

export interface VerifyResult {
  /** The protected header as signed; `alg` is the algorithm that verified the signature. */
  header: Record<string, unknown> & { alg: Algorithm };
  claims: Claims;
  /** The compatibility relaxations of the party's `compat` (and `require_jti: false`) this
   *  assertion relied on; empty when it met every strict rule. */
  compat: Relaxation[];
  /** Present with `replay: "external"` when the assertion has a `jti`. */
  replay?: ReplayRecord;
}

export interface TokenRequestResult {
  /** `"grant"` for the jwt-bearer grant (with or without client authentication), else
   *  `"client_authentication"` (another grant type, from an authenticated client). */
  use: "grant" | "client_authentication";
  grantType: string;
  /** How the client authenticated: `"client_assertion"` (validated), `"none"` (a jwt-bearer
   *  grant from a public client), or, with `otherClientAuthentication: "verified-by-caller"`,
   *  `"client_secret"` / `"authorization_header"`: YOU must verify that credential. */
  clientAuthentication: "none" | "client_assertion" | "client_secret" | "authorization_header";
  /** The claims of the assertion of `use`; absent only for another grant type whose client
   *  authenticated by a method you verify. */
  claims?: Claims;
  /** The relaxations the assertion of `claims` relied on (with `claims`). */
  compat?: Relaxation[];
  /** The client assertion's claims, whenever the client authenticated with one (`sub` is
   *  the client id), beside the grant's `claims`. */
  clientClaims?: Claims;
  /** The relaxations the client assertion relied on (with `clientClaims`). */
  clientCompat?: Relaxation[];
  /** With `replay: "external"`: every assertion with a `jti` (client assertion first). */
  replay?: ReplayRecord[];
}

/** Thrown for every refusal. `code` follows jose; `reason` is the core's stable code. Bad
 *  options and arguments throw `TypeError` instead, and so do `verify` and
 *  `verifyTokenRequest` when a remote party's keys are needed and not in the verifier's cache
 *  (`code: "ERR_JWKS_NOT_FETCHED"`: they never fetch; the asynchronous methods do). */
export declare class AssertionError extends Error {
  name: "AssertionError";
  code: string;
  reason: string;
  oauthError:
    | "invalid_request"
    | "invalid_client"
    | "invalid_grant"
    | "unsupported_grant_type"
    | "temporarily_unavailable";
  status: 400 | 401 | 503;
  /** Seconds until the party's keys are fetched again (reason `keys_unavailable`, status
   *  503): the HTTP `Retry-After`. */
  retryAfter?: number;
  /** The claim that failed, when one did. */
  claim?: string;
  /** The RFC 6749 §5.2 JSON body, ready for a Response. */
  body: string;
  /** What a replay hook threw (or a TypeError for a non-boolean answer), with reason
   *  `replay_store_full`. */
  cause?: unknown;
}
"#;

#[wasm_bindgen(inline_js = "
export class AssertionError extends Error {
  constructor(message, fields) {
    super(message);
    this.name = 'AssertionError';
    Object.assign(this, fields);
  }
}
export function assertionErrorClass() { return AssertionError; }
// check_options and current_time of lib.rs (the sign module's), each in one call here rather
// than a crossing per name and value: the same checks in the same order, the same TypeErrors.
export function checkOptions(options, allowed, what) {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${what} must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      // As lib.rs prints it: a lone surrogate crosses to Rust as U+FFFD.
      const name = typeof key.toWellFormed === 'function' ? key.toWellFormed() : key;
      throw new TypeError(`${what}: unknown option \"${name}\" (known: ${allowed.join(', ')})`);
    }
  }
}
export function currentMillis(options, allowed) {
  if (options === undefined || options === null) return Date.now();
  checkOptions(options, allowed, 'options');
  const date = options.currentDate;
  if (date === undefined) return Date.now();
  let isDate = false;
  try { isDate = date instanceof Date; } catch {}
  const millis = isDate ? date.getTime() : NaN;
  // Never fall back to the clock on a bad date (jose, claim_scenarios K2).
  if (!Number.isFinite(millis)) throw new TypeError('currentDate must be a valid Date');
  return millis;
}
const RELAXATIONS = ['token_endpoint_audience', 'missing_sub', 'missing_jti'];
export function compatNames(mask) {
  return RELAXATIONS.filter((_, i) => mask & (1 << i));
}
export function verifyResult(header, claims, compat) {
  return { header: JSON.parse(header), claims: JSON.parse(claims), compat: compatNames(compat) };
}
export function implementations(rsa, p256, ed25519) {
  const by = (platform) => (platform ? 'node:crypto' : 'wasm');
  return { RS256: by(rsa), PS256: by(rsa), ES256: by(p256), EdDSA: by(ed25519), Ed25519: by(ed25519) };
}
")]
extern "C" {
    #[wasm_bindgen(js_name = AssertionError)]
    type AssertionErrorJs;
    #[wasm_bindgen(constructor, js_class = "AssertionError")]
    fn new(message: &str, fields: &Object) -> AssertionErrorJs;
    #[wasm_bindgen(js_name = assertionErrorClass)]
    fn assertion_error_class() -> JsValue;

    /// `options` is an object whose own names are all in `allowed` (an `Array` of names), or
    /// a `TypeError` naming `what` is thrown.
    #[wasm_bindgen(catch, js_name = checkOptions)]
    fn check_options(options: &JsValue, allowed: &Array, what: &str) -> Result<(), JsValue>;
    /// The `currentDate` of `options` (checked against `allowed`) in milliseconds, else
    /// `Date.now()`.
    #[wasm_bindgen(catch, js_name = currentMillis)]
    fn current_millis(options: &JsValue, allowed: &Array) -> Result<f64, JsValue>;
    /// `{ header, claims, compat }`: the header and claims each parsed from its JSON text,
    /// `compat` the names of the relaxations in `compat` (a [`compat_mask`]).
    #[wasm_bindgen(catch, js_name = verifyResult)]
    fn verify_result_js(header: &str, claims: &str, compat: u8) -> Result<JsValue, JsValue>;
    /// The names of the relaxations in `mask` (a [`compat_mask`]), an `Array`.
    #[wasm_bindgen(js_name = compatNames)]
    fn compat_names(mask: u8) -> JsValue;
    /// `{ RS256, PS256, ES256, EdDSA, Ed25519 }`, each `"node:crypto"` where its family is by
    /// the platform, else `"wasm"` (built here, not in the size-budgeted wasm).
    #[wasm_bindgen(js_name = implementations)]
    fn implementations_js(rsa: bool, p256: bool, ed25519: bool) -> JsValue;

    #[wasm_bindgen(typescript_type = "VerifierOptions")]
    pub type VerifierOptions;
    #[wasm_bindgen(typescript_type = "VerifyOptions")]
    pub type VerifyOptions;
    #[wasm_bindgen(typescript_type = "TokenRequestOptions")]
    pub type TokenRequestOptions;
    #[wasm_bindgen(typescript_type = "typeof AssertionError")]
    pub type AssertionErrorClass;
    #[wasm_bindgen(typescript_type = "VerifyResult")]
    pub type VerifyResult;
    #[wasm_bindgen(typescript_type = "TokenRequestResult")]
    pub type TokenRequestResult;
}

/// The `AssertionError` class, so that `instanceof` works: `err instanceof errorClass()`.
/// The package entry points also export it as `AssertionError`.
#[wasm_bindgen(js_name = errorClass)]
pub fn error_class() -> AssertionErrorClass {
    assertion_error_class().unchecked_into()
}

/// The option names `new AssertionVerifier()` accepts: first the [`PARTY_OPTIONS`] of the
/// one-party form, which a registry sets per party instead, then those of every verifier.
const VERIFIER_OPTIONS: &[&str] = &[
    "keys",
    "issuer",
    "audience",
    "subject",
    "clientId",
    "clockTolerance",
    "maxTokenAge",
    "maxLifetime",
    "requireJti",
    "requireIat",
    "typ",
    "requireTyp",
    "algorithms",
    "registry",
    "replay",
    "rsa",
    "ec",
    "otherClientAuthentication",
    "replayCapacity",
    #[cfg(feature = "remote")]
    "fetch",
    #[cfg(feature = "remote")]
    "jwksCache",
];

/// How many of [`VERIFIER_OPTIONS`] configure the one party of the `keys` form.
const PARTY_OPTIONS: usize = 13;

/// The option names of `verify()`.
const VERIFY_OPTIONS: &[&str] = &["currentDate", "use"];

/// The option names of `verifyTokenRequest()`.
const TOKEN_REQUEST_OPTIONS: &[&str] = &["currentDate", "authorization"];

#[derive(Debug)]
enum Replay {
    Memory(BoxedReplayStore),
    Hook { object: JsValue, function: Function },
    External,
}

/// Whose assertions a verifier accepts.
#[derive(Debug)]
enum Config {
    /// The clients and trusted issuers of a registry document.
    Registry(Registry),
    /// The one party of the `keys` form.
    One(OneParty),
}

/// One trusted issuer of grants, or one client, with its keys and policy.
#[derive(Debug)]
struct OneParty {
    /// `AuthorizationGrant`: a trusted issuer; `ClientAuthentication`: a client.
    use_: Use,
    party: RegisteredParty,
    /// Accepted `aud` values (a client: exactly one, the server's issuer identifier).
    audiences: Vec<String>,
}

impl Config {
    /// Whether some party serves `use_`.
    fn serves(&self, use_: Use) -> bool {
        match self {
            Config::Registry(registry) => match use_ {
                Use::AuthorizationGrant => !registry.issuers().is_empty(),
                Use::ClientAuthentication => !registry.clients().is_empty(),
            },
            Config::One(one) => one.use_ == use_,
        }
    }

    /// Every RSA key of every party, in one fixed order: the registry's clients, then its
    /// issuers, each party's keys in document order. The platform's RSA handles are kept in
    /// this order, and a key is found in it by the address of its stored modulus, so a key's
    /// handle is its own.
    fn rsa_keys(&self) -> impl Iterator<Item = RsaKey<'_>> {
        self.keys().filter_map(|key| match key.material() {
            MaterialRef::Rsa(rsa) => Some(rsa),
            _ => None,
        })
    }

    /// Every key of every party, in the order of [`rsa_keys`](Self::rsa_keys).
    fn keys(&self) -> impl Iterator<Item = KeyRef<'_>> {
        let (one, registry) = match self {
            Config::One(one) => (Some(one.party.keys().iter()), None),
            Config::Registry(registry) => (
                None,
                Some(
                    registry
                        .clients()
                        .iter()
                        .chain(registry.issuers().iter())
                        .flat_map(|party| party.keys().iter()),
                ),
            ),
        };
        one.into_iter()
            .flatten()
            .chain(registry.into_iter().flatten())
    }
}

/// The parties of one use, with the cryptography the verifier uses.
struct Lookup<'a> {
    config: &'a Config,
    use_: Use,
    platform: Option<&'a PlatformKeys>,
    signatures: Option<&'a PlatformSignatures>,
    /// In a round of an asynchronous call: its verdicts so far, and what it asks for.
    #[cfg(feature = "platform-rsa")]
    round: Option<&'a asynchronous::Round<'a>>,
    /// A trial run (remote key sets): every signature "verified", nothing stored, the
    /// outcome never a result; only whether an assertion's key is unknown is read from it.
    #[cfg(feature = "remote")]
    trial: bool,
}

impl KeyLookup for Lookup<'_> {
    fn party(&self, id: &str) -> Option<Party<'_>> {
        match self.config {
            Config::Registry(registry) => match self.use_ {
                Use::AuthorizationGrant => registry.issuers().party(id),
                Use::ClientAuthentication => registry.clients().party(id),
            },
            Config::One(one) => {
                (one.use_ == self.use_ && one.party.id() == id).then(|| one.party.as_party())
            }
        }
    }

    /// The platform's RSAVP1 with this very key's handle; the package's arithmetic otherwise,
    /// and when the platform fails (the result is the same number either way).
    fn rsavp1(&self, key: &RsaKey<'_>, signature: &[u8], out: &mut [u8]) -> Option<()> {
        let platform = self.platform.and_then(|platform| {
            let stored = key.modulus().as_ptr();
            let index = self
                .config
                .rsa_keys()
                .position(|k| core::ptr::eq(k.modulus().as_ptr(), stored))?;
            platform.rsavp1(index, signature, out)
        });
        platform.or_else(|| key.rsavp1(signature, out))
    }

    /// ES256 and Ed25519 by the platform's `verify` where it passed its checks; in an
    /// asynchronous call, the verdicts of its rounds (see `asynchronous`). `None`: the core
    /// verifies (RSA with [`rsavp1`](Self::rsavp1) above).
    fn verify_signature(&self, check: &SignatureCheck<'_>) -> Option<bool> {
        #[cfg(feature = "remote")]
        if self.trial {
            return Some(true);
        }
        #[cfg(feature = "platform-rsa")]
        if let Some(round) = self.round {
            return round.verify_signature(check, self.signatures);
        }
        self.signatures?.verify(check)
    }
}

/// Validates RFC 7523 assertions (and token requests carrying them) for its parties: the
/// clients and trusted issuers of a registry, or the one party of the `keys` form.
#[wasm_bindgen]
#[derive(Debug)]
pub struct AssertionVerifier {
    /// Shared with the asynchronous calls in flight, which outlive the method that started
    /// them.
    shared: Rc<Shared>,
}

/// A verifier's parties, policy, replay store and cryptography.
#[derive(Debug)]
struct Shared {
    /// Borrowed for each run of the core; mutably only to install a fetched key set
    /// (`remote`), between runs.
    config: Reloadable<Config>,
    other_client_auth: OtherClientAuthentication,
    /// Borrowed for one synchronous run of the core at a time.
    replay: RefCell<Replay>,
    /// The platform's RSA, when it is used (option `rsa`); reloaded when keys change.
    platform: Reloadable<Option<PlatformKeys>>,
    /// The platform's `verify`, when it is used (options `ec` and `rsa`); reloaded when keys
    /// change.
    signatures: Reloadable<Option<PlatformSignatures>>,
    /// Options `rsa` and `ec` say "platform" (what a reload loads).
    #[cfg(feature = "remote")]
    platform_options: (bool, bool),
    /// Counts the changes of keys (installed key sets): an asynchronous call whose verdicts
    /// were given for keys since replaced asks again.
    #[cfg(any(feature = "platform-rsa", feature = "remote"))]
    generation: Cell<u32>,
    /// The remote key sets' caches and fetch driver, when the registry has remote parties.
    #[cfg(feature = "remote")]
    remote: Option<remote::Remote>,
    option_names: OptionNames,
}

/// [`VERIFY_OPTIONS`] and [`TOKEN_REQUEST_OPTIONS`] as JavaScript arrays, and the names read
/// besides `currentDate` as JavaScript strings, made once.
#[derive(Debug)]
struct OptionNames {
    verify: Array,
    token_request: Array,
    use_: JsValue,
    authorization: JsValue,
}

/// `names` as a JavaScript array of strings.
fn names(names: &[&str]) -> Array {
    names.iter().map(|&name| JsValue::from(name)).collect()
}

/// `currentDate` of the options of `verify` or `verifyTokenRequest` (whose names are
/// `allowed`), else the current time, in Unix seconds.
fn current_time(options: Option<&JsValue>, allowed: &Array) -> Result<u64, JsValue> {
    unix_seconds(current_millis(
        options.unwrap_or(&JsValue::UNDEFINED),
        allowed,
    )?)
}

#[wasm_bindgen]
impl AssertionVerifier {
    /// Checks the options and loads the registry or the keys once; throws `TypeError` on bad
    /// options.
    #[wasm_bindgen(constructor)]
    pub fn new(options: VerifierOptions) -> Result<AssertionVerifier, JsValue> {
        let options: JsValue = options.into();
        check_options(
            &options,
            &names(VERIFIER_OPTIONS),
            "AssertionVerifier options",
        )?;
        let config = match optional(&options, "registry")? {
            Some(registry) => {
                for name in VERIFIER_OPTIONS.iter().take(PARTY_OPTIONS) {
                    if optional(&options, name)?.is_some() {
                        return Err(type_error(&format!(
                            "{name}: with registry, set it per party in the registry"
                        )));
                    }
                }
                Config::Registry(load_registry(&registry)?)
            }
            None => Config::One(one_party(&options)?),
        };
        let capacity = optional(&options, "replayCapacity")?;
        let replay = match optional(&options, "replay")? {
            None => Replay::Memory(BoxedReplayStore::with_capacity_and_seed(
                replay_capacity(capacity.as_ref())?,
                random_seed(),
            )),
            Some(_) if capacity.is_some() => {
                return Err(type_error(
                    "replayCapacity is for the built-in store, not with replay",
                ))
            }
            Some(v) if v.as_string().as_deref() == Some("external") => Replay::External,
            Some(v) if v.is_string() => {
                return Err(type_error(
                    "replay must be \"external\" or an object with checkAndInsert()",
                ))
            }
            Some(object) => {
                let function = Reflect::get(&object, &"checkAndInsert".into())?
                    .dyn_into::<Function>()
                    .map_err(|_| {
                        type_error("replay must be \"external\" or an object with checkAndInsert()")
                    })?;
                Replay::Hook { object, function }
            }
        };
        let other_client_auth = match string(&options, "otherClientAuthentication")?.as_deref() {
            None | Some("refuse") => OtherClientAuthentication::Refuse,
            Some("verified-by-caller") => OtherClientAuthentication::VerifiedByCaller,
            Some(_) => {
                return Err(type_error(
                    "otherClientAuthentication must be \"refuse\" or \"verified-by-caller\"",
                ))
            }
        };
        let rsa_platform = match string(&options, "rsa")?.as_deref() {
            None | Some("platform") => true,
            Some("wasm") => false,
            Some(_) => return Err(type_error("rsa must be \"platform\" or \"wasm\"")),
        };
        let platform = rsa_platform
            .then(|| PlatformKeys::load(config.rsa_keys()))
            .flatten();
        let ec = match string(&options, "ec")?.as_deref() {
            None | Some("platform") => true,
            Some("wasm") => false,
            Some(_) => return Err(type_error("ec must be \"platform\" or \"wasm\"")),
        };
        let signatures = PlatformSignatures::load(|| config.keys(), ec, platform.is_some());
        #[cfg(feature = "remote")]
        let remote_options = remote::RemoteOptions::read(&options, &config)?;
        let shared = Rc::new_cyclic(|_weak| Shared {
            config: Reloadable::new(config),
            other_client_auth,
            replay: RefCell::new(replay),
            platform: Reloadable::new(platform),
            signatures: Reloadable::new(signatures),
            #[cfg(feature = "remote")]
            platform_options: (rsa_platform, ec),
            #[cfg(any(feature = "platform-rsa", feature = "remote"))]
            generation: Cell::new(0),
            #[cfg(feature = "remote")]
            remote: remote_options.map(|o| remote::Remote::new(_weak.clone(), o)),
            option_names: OptionNames {
                verify: names(VERIFY_OPTIONS),
                token_request: names(TOKEN_REQUEST_OPTIONS),
                use_: "use".into(),
                authorization: "authorization".into(),
            },
        });
        Ok(AssertionVerifier { shared })
    }

    /// Which implementation verifies each algorithm in `verify` and `verifyTokenRequest`:
    /// `"node:crypto"` or `"wasm"` (options `rsa` and `ec`).
    #[wasm_bindgen(getter, unchecked_return_type = "Implementations")]
    pub fn implementations(&self) -> JsValue {
        let signatures = self.shared.signatures.borrow();
        let by_platform = |key_type| signatures.as_ref().is_some_and(|s| s.verifies(key_type));
        implementations_js(
            self.shared.platform.borrow().is_some(),
            by_platform(KeyType::P256),
            by_platform(KeyType::Ed25519),
        )
    }

    /// Which RSA implementation this verifier uses: `"node:crypto"` or `"wasm"` (option
    /// `rsa`).
    #[wasm_bindgen(
        getter,
        js_name = rsaImplementation,
        unchecked_return_type = "\"node:crypto\" | \"wasm\""
    )]
    pub fn rsa_implementation(&self) -> JsValue {
        JsValue::from_str(if self.shared.platform.borrow().is_some() {
            "node:crypto"
        } else {
            "wasm"
        })
    }

    /// Validates one assertion; returns `{ header, claims }` or throws `AssertionError`.
    /// Option `use` picks the profile; without it, the one this verifier's parties serve.
    /// Never fetches: a remote party (`jwks_uri`, `discovery`) without usable keys in the
    /// verifier's cache is a `TypeError` with code `ERR_JWKS_NOT_FETCHED` (call `verifyAsync`,
    /// which fetches; its keys then serve here too).
    pub fn verify(
        &mut self,
        token: &str,
        options: Option<VerifyOptions>,
    ) -> Result<VerifyResult, JsValue> {
        let (use_, now) = self.shared.verify_options(options.map(Into::into))?;
        let work = Work::Verify {
            token,
            use_,
            now,
            fetched: None,
        };
        Ok(self.shared.run(&work, Round::NONE)?.unchecked_into())
    }

    /// Validates an `application/x-www-form-urlencoded` token request body; returns
    /// `{ use, grantType, clientAuthentication, claims, clientClaims }` or throws
    /// `AssertionError` carrying `status` and `body`. Option `authorization`: the request's
    /// `Authorization` header, whose presence alone counts.
    #[wasm_bindgen(js_name = verifyTokenRequest)]
    pub fn verify_token_request(
        &mut self,
        body: &str,
        options: Option<TokenRequestOptions>,
    ) -> Result<TokenRequestResult, JsValue> {
        let (authorization, now) = self.shared.token_request_options(options.map(Into::into))?;
        let work = Work::TokenRequest {
            body,
            authorization,
            now,
            fetched: None,
        };
        Ok(self.shared.run(&work, Round::NONE)?.unchecked_into())
    }

    /// `verify`, asynchronously: the same verdicts, errors and replay records, with the
    /// signature verified by the platform's asynchronous `verify` where it has one
    /// (`node:crypto` on libuv's threadpool), so that calls in flight use every core, and a
    /// remote party's keys fetched first when needed (feature `remote`).
    /// Rejects where `verify` throws (a `TypeError` for bad options too).
    #[wasm_bindgen(js_name = verifyAsync, unchecked_return_type = "Promise<VerifyResult>")]
    pub fn verify_async(&mut self, token: &str, options: Option<VerifyOptions>) -> Promise {
        #[cfg(any(feature = "platform-rsa", feature = "remote"))]
        return match self.shared.verify_options(options.map(Into::into)) {
            Ok((use_, now)) => start(
                &self.shared,
                OwnedWork::Verify {
                    token: token.to_owned(),
                    use_,
                    now,
                },
            ),
            Err(e) => Promise::reject(&e),
        };
        // Without a platform or remote keys, every verification is synchronous.
        #[cfg(not(any(feature = "platform-rsa", feature = "remote")))]
        settled(self.verify(token, options).map(Into::into))
    }

    /// `verifyTokenRequest`, asynchronously, as `verifyAsync` is `verify`: the same results,
    /// errors and replay records; a token request's two signatures verified in parallel.
    #[wasm_bindgen(
        js_name = verifyTokenRequestAsync,
        unchecked_return_type = "Promise<TokenRequestResult>"
    )]
    pub fn verify_token_request_async(
        &mut self,
        body: &str,
        options: Option<TokenRequestOptions>,
    ) -> Promise {
        #[cfg(any(feature = "platform-rsa", feature = "remote"))]
        return match self.shared.token_request_options(options.map(Into::into)) {
            Ok((authorization, now)) => start(
                &self.shared,
                OwnedWork::TokenRequest {
                    body: body.to_owned(),
                    authorization,
                    now,
                },
            ),
            Err(e) => Promise::reject(&e),
        };
        #[cfg(not(any(feature = "platform-rsa", feature = "remote")))]
        settled(self.verify_token_request(body, options).map(Into::into))
    }
}

/// Seconds until each assertion's party's keys are fetched again (`Retry-After` of a
/// `keys_unavailable` refusal), by slot: the client assertion (or `verify`'s one assertion),
/// then the grant. `None` for a slot whose keys were ready.
type RetryAfter = [Option<u64>; 2];

/// What one call validates, with its options read.
enum Work<'w> {
    Verify {
        token: &'w str,
        use_: Use,
        now: u64,
        /// `None`: a synchronous method, which never fetches; else an asynchronous call, its
        /// remote keys made ready.
        fetched: Option<RetryAfter>,
    },
    TokenRequest {
        body: &'w str,
        authorization: bool,
        now: u64,
        /// As for `Verify`.
        fetched: Option<RetryAfter>,
    },
}

/// [`Work`] owned, for an asynchronous call.
#[cfg(any(feature = "platform-rsa", feature = "remote"))]
#[derive(Clone)]
enum OwnedWork {
    Verify {
        token: String,
        use_: Use,
        now: u64,
    },
    TokenRequest {
        body: String,
        authorization: bool,
        now: u64,
    },
}

#[cfg(any(feature = "platform-rsa", feature = "remote"))]
impl OwnedWork {
    /// The work of an asynchronous call whose remote keys were made ready, with the
    /// `Retry-After` of its parties whose keys could not be had.
    fn as_work(&self, retry: RetryAfter) -> Work<'_> {
        match *self {
            OwnedWork::Verify {
                ref token,
                use_,
                now,
            } => Work::Verify {
                token,
                use_,
                now,
                fetched: Some(retry),
            },
            OwnedWork::TokenRequest {
                ref body,
                authorization,
                now,
            } => Work::TokenRequest {
                body,
                authorization,
                now,
                fetched: Some(retry),
            },
        }
    }

    #[cfg(feature = "remote")]
    fn now(&self) -> u64 {
        match *self {
            OwnedWork::Verify { now, .. } | OwnedWork::TokenRequest { now, .. } => now,
        }
    }
}

/// Starts an asynchronous call: its remote parties' keys made ready first (fetched by the
/// driver when the caches say so), then the core's run(s).
#[cfg(any(feature = "platform-rsa", feature = "remote"))]
fn start(shared: &Rc<Shared>, work: OwnedWork) -> Promise {
    #[cfg(feature = "remote")]
    if let Some(remote) = &shared.remote {
        let targets = shared.remote_targets(&work.as_work([None, None]));
        if targets.iter().any(Option::is_some) {
            let now = work.now();
            let work = Rc::new(work);
            let (for_trial, trial_work) = (Rc::clone(shared), Rc::clone(&work));
            let trial = wasm_bindgen::closure::Closure::wrap(Box::new(move || {
                for_trial.trial(&trial_work.as_work([None, None]))
            })
                as Box<dyn FnMut() -> i32>)
            .into_js_value();
            let for_finish = Rc::clone(shared);
            let finish = wasm_bindgen::closure::Closure::once_into_js(
                move |retry0: f64, retry1: f64| -> JsValue {
                    let seconds = |r: f64| (r >= 0.0).then_some(r as u64);
                    run_call(&for_finish, &work, [seconds(retry0), seconds(retry1)]).into()
                },
            );
            return remote
                .run(&targets, now, trial, finish)
                .unwrap_or_else(|e| Promise::reject(&e));
        }
    }
    run_call(shared, &work, [None, None])
}

/// The core's run(s) of an asynchronous call: in rounds with a platform, else at once.
#[cfg(any(feature = "platform-rsa", feature = "remote"))]
fn run_call(shared: &Rc<Shared>, work: &OwnedWork, retry: RetryAfter) -> Promise {
    #[cfg(feature = "platform-rsa")]
    return asynchronous::start(shared, work.clone(), retry);
    #[cfg(not(feature = "platform-rsa"))]
    settled(shared.run(&work.as_work(retry), Round::NONE))
}

/// A settled promise of `result`.
#[cfg(not(feature = "platform-rsa"))]
fn settled(result: Result<JsValue, JsValue>) -> Promise {
    match result {
        Ok(out) => Promise::resolve(&out),
        Err(e) => Promise::reject(&e),
    }
}

/// A round of an asynchronous call (`asynchronous::Round`); none in this build.
#[cfg(not(feature = "platform-rsa"))]
struct Round<'a>(core::convert::Infallible, core::marker::PhantomData<&'a ()>);

#[cfg(not(feature = "platform-rsa"))]
impl Round<'_> {
    /// Not a round: the synchronous methods.
    const NONE: Option<&'static Round<'static>> = None;

    fn discarded(&self) -> bool {
        match self.0 {}
    }
}

#[cfg(feature = "platform-rsa")]
use asynchronous::Round;

/// The asynchronous methods with a platform: the core runs in rounds (see [`Round`]).
#[cfg(feature = "platform-rsa")]
mod asynchronous {
    use core::cell::{Cell, RefCell};
    use std::rc::Rc;

    use js_sys::{Array, Promise};
    use rfc7523::{Algorithm, SignatureCheck};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};

    use super::{OwnedWork, RetryAfter, Shared};
    use crate::platform_sig::{key_address, PlatformSignatures};

    /// Signatures one call may ask the platform to verify asynchronously; any further one is
    /// verified synchronously. A call verifies at most two assertions, each under the keys
    /// its header selects.
    const MAX_ASYNC_SIGNATURES: usize = 8;

    /// One signature a round asked the platform to verify: the key (its address), the
    /// algorithm, the signing input and the signature.
    #[derive(Debug, PartialEq, Eq)]
    pub(super) struct Asked {
        key: usize,
        alg: Algorithm,
        message: Vec<u8>,
        signature: Vec<u8>,
    }

    impl Asked {
        fn of(check: &SignatureCheck<'_>) -> Self {
            Self {
                key: key_address(check.key().material()),
                alg: check.alg(),
                message: check.message().to_vec(),
                signature: check.signature().to_vec(),
            }
        }

        fn is(&self, check: &SignatureCheck<'_>) -> bool {
            self.key == key_address(check.key().material())
                && self.alg == check.alg()
                && self.message == check.message()
                && self.signature == check.signature()
        }
    }

    /// A verdict of the platform: `None` when it had none (then as the synchronous methods).
    #[derive(Debug)]
    pub(super) struct Answer {
        asked: Asked,
        verdict: Option<bool>,
    }

    /// One synchronous run of the core in an asynchronous call.
    ///
    /// A signature the platform can verify and no earlier round answered is *asked* for, and
    /// the round's outcome is then discarded (not even turned into a result or an error); the
    /// call awaits the verdicts and runs the core again with them. For now the round answers:
    /// - `verify`: "not verified", and so for every later signature of the round, which the
    ///   core then ends soon (`invalid_signature`, with nothing of the claims read): one
    ///   signature per round, the party's keys tried one at a time as `verify` tries them;
    /// - `verifyTokenRequest`: "verified", so that the core goes on to the next assertion and
    ///   asks for its signature in the same round (the two are verified in parallel).
    ///
    /// The replay store is not used in a round that asked (its answer is "not seen"). A round
    /// that asks for nothing has only real verdicts, and its replay store is the real one: its
    /// outcome is the call's, exactly what the synchronous method answers given the same
    /// verdicts, replay included.
    ///
    /// Once a round has used the real replay store (a token request's first assertion), it
    /// may no longer ask: a signature after that is verified synchronously (as by the
    /// synchronous methods), so that nothing is inserted in a round whose outcome is then
    /// discarded.
    #[derive(Debug)]
    pub(crate) struct Round<'a> {
        answers: &'a [Answer],
        asked: RefCell<Vec<(Asked, JsValue)>>,
        committed: Cell<bool>,
        /// `verify`: one signature asked per round, "not verified" for now.
        one_at_a_time: bool,
    }

    impl Round<'_> {
        /// Not a round: the synchronous methods.
        pub(crate) const NONE: Option<&'static Round<'static>> = None;

        /// The verdict on `check` in this round (see [`Round`]).
        pub(crate) fn verify_signature(
            &self,
            check: &SignatureCheck<'_>,
            signatures: Option<&PlatformSignatures>,
        ) -> Option<bool> {
            let synchronous = || signatures.and_then(|s| s.verify(check));
            if let Some(answer) = self.answers.iter().find(|a| a.asked.is(check)) {
                return answer.verdict.or_else(synchronous);
            }
            let mut asked = self.asked.borrow_mut();
            if self.one_at_a_time && !asked.is_empty() {
                // The round is discarded: end it soon.
                return Some(false);
            }
            if self.committed.get() || self.answers.len() + asked.len() >= MAX_ASYNC_SIGNATURES {
                return synchronous();
            }
            let Some(request) = signatures.and_then(|s| s.request(check)) else {
                return synchronous();
            };
            asked.push((Asked::of(check), request));
            // For now: this round's outcome is not used.
            Some(!self.one_at_a_time)
        }

        /// Whether this round asked for a signature: then its outcome is not used.
        pub(crate) fn discarded(&self) -> bool {
            !self.asked.borrow().is_empty()
        }

        /// Whether the replay store may be used for real now (see [`Round`]): then it is, and
        /// the round may ask for nothing more.
        pub(crate) fn commit(&self) -> bool {
            if self.asked.borrow().is_empty() {
                self.committed.set(true);
                true
            } else {
                false
            }
        }
    }

    /// An asynchronous call between rounds.
    struct Call {
        shared: Rc<Shared>,
        work: OwnedWork,
        /// The `Retry-After` of its remote parties whose keys could not be had.
        retry: RetryAfter,
        answers: Vec<Answer>,
        /// The verifier's keys' generation the answers are for: when a key set is installed
        /// meanwhile, they are dropped and asked again (a key's address may be reused).
        generation: u32,
    }

    impl Call {
        /// Records the verdicts on what the last round asked (`verdicts`: an array of `true`,
        /// `false` or `null`, in the order asked), then runs a round: the call's result (or
        /// error), or `[requests, next]` when the round asked for signatures (`requests` for
        /// the platform, `next(verdicts)` the next round).
        fn step(mut self, asked: Vec<Asked>, verdicts: &JsValue) -> Result<JsValue, JsValue> {
            let generation = self.shared.generation.get();
            if generation != self.generation {
                self.answers.clear();
                self.generation = generation;
            } else if !asked.is_empty() {
                // Anything but an array of booleans: no verdicts (as the synchronous methods).
                let verdicts: Array = verdicts.clone().dyn_into().unwrap_or_default();
                for (i, asked) in (0u32..).zip(asked) {
                    self.answers.push(Answer {
                        asked,
                        verdict: verdicts.get(i).as_bool(),
                    });
                }
            }
            let round = Round {
                answers: &self.answers,
                asked: RefCell::new(Vec::new()),
                committed: Cell::new(false),
                one_at_a_time: matches!(self.work, OwnedWork::Verify { .. }),
            };
            let out = self
                .shared
                .run(&self.work.as_work(self.retry), Some(&round));
            let asked = round.asked.into_inner();
            if asked.is_empty() {
                return out;
            }
            let requests = Array::new();
            let mut keys = Vec::with_capacity(asked.len());
            for (asked, request) in asked {
                requests.push(&request);
                keys.push(asked);
            }
            let next = Closure::once_into_js(move |verdicts: JsValue| self.step(keys, &verdicts));
            Ok(Array::of2(&requests, &next).into())
        }
    }

    /// Runs the first round now, and the rest as the platform answers.
    pub(super) fn start(shared: &Rc<Shared>, work: OwnedWork, retry: RetryAfter) -> Promise {
        let call = Call {
            shared: Rc::clone(shared),
            work,
            retry,
            answers: Vec::new(),
            generation: shared.generation.get(),
        };
        // `signatures` is a `RefCell` with `remote` (the keys reload) and a plain holder without:
        // one spelling for both.
        #[allow(clippy::borrow_deref_ref)]
        match call.step(Vec::new(), &JsValue::UNDEFINED) {
            Ok(out) => match &*shared.signatures.borrow() {
                Some(signatures) => signatures.drive(out),
                None => Promise::resolve(&out),
            },
            Err(e) => Promise::reject(&e),
        }
    }
}

impl Shared {
    /// After a key set was installed: the platform's per-key handles reloaded for the new
    /// keys (a key's handle is found by its address, which a new key may reuse), and the
    /// generation counted so that asynchronous calls ask for verdicts again.
    #[cfg(feature = "remote")]
    fn keys_changed(&self) {
        let Ok(config) = self.config.try_borrow() else {
            return;
        };
        let (rsa, ec) = self.platform_options;
        let platform = rsa.then(|| PlatformKeys::load(config.rsa_keys())).flatten();
        let signatures = PlatformSignatures::load(|| config.keys(), ec, platform.is_some());
        *self.platform.borrow_mut() = platform;
        *self.signatures.borrow_mut() = signatures;
        self.generation.set(self.generation.get().wrapping_add(1));
    }

    /// A trial run of `work` (nothing stored, every signature taken as verified, no result
    /// built): the slot of the assertion whose `kid` names none of its remote party's keys
    /// (0: the client assertion or `verify`'s assertion, 1: the grant), else -1.
    #[cfg(feature = "remote")]
    fn trial(&self, work: &Work<'_>) -> i32 {
        let unknown = |e: &Error| matches!(e, Error::UnknownRemoteKey);
        match *work {
            Work::Verify {
                token, use_, now, ..
            } => {
                let mut buffer = DecodeBuffer::new();
                let outcome = self.with_profiles(Round::NONE, true, |profiles, store| {
                    match (use_, profiles.client, profiles.grant) {
                        (Use::ClientAuthentication, Some(p), _) => {
                            p.validate(token, None, now, store, &mut buffer).err()
                        }
                        (Use::AuthorizationGrant, _, Some(p)) => {
                            p.validate(token, now, store, &mut buffer).err()
                        }
                        _ => None,
                    }
                    .is_some_and(|e| unknown(&e))
                });
                if matches!(outcome, Ok((true, _))) {
                    0
                } else {
                    -1
                }
            }
            Work::TokenRequest {
                body,
                authorization,
                now,
                ..
            } => {
                let mut body = body.as_bytes().to_vec();
                let mut buffers = Box::new(TokenBuffers::new());
                let other_client_auth = self.other_client_auth;
                let outcome = self.with_profiles(Round::NONE, true, |profiles, store| {
                    let endpoint = TokenEndpoint {
                        grant: profiles.grant,
                        client_auth: profiles.client,
                        other_client_auth,
                    };
                    match endpoint.handle_request(
                        &mut body,
                        authorization,
                        now,
                        store,
                        &mut buffers,
                    ) {
                        Err(TokenError::Client(e)) if unknown(&e) => 0,
                        Err(TokenError::Grant(e)) if unknown(&e) => 1,
                        _ => -1,
                    }
                });
                outcome.map_or(-1, |(slot, _)| slot)
            }
        }
    }

    /// The remote parties `work`'s assertions name (their `iss`, read before verification
    /// to choose keys only, as the core does): `verify`'s assertion, or a token request's
    /// client assertion (among the clients) and grant (among the issuers).
    #[cfg(feature = "remote")]
    fn remote_targets(
        &self,
        work: &Work<'_>,
    ) -> [Option<(rfc7523::registry::PartyKind, String)>; 2] {
        use rfc7523::registry::PartyKind;
        let Ok(config) = self.config.try_borrow() else {
            return [None, None];
        };
        let Config::Registry(registry) = &*config else {
            return [None, None];
        };
        let target = |kind: PartyKind, token: Option<&str>| {
            let mut buffer = DecodeBuffer::new();
            let unverified = rfc7523::UnverifiedAssertion::parse(token?, &mut buffer).ok()?;
            let mut text = ClaimString::new();
            let iss = unverified.issuer_hint().ok()?.decode(&mut text).to_owned();
            registry.remote_party(kind, &iss).map(|_| (kind, iss))
        };
        match *work {
            Work::Verify { token, use_, .. } => {
                [target(PartyKind::of_use(use_), Some(token)), None]
            }
            Work::TokenRequest { body, .. } => {
                let mut copy = body.as_bytes().to_vec();
                let Ok(params) = rfc7523::form::TokenParams::parse(&mut copy) else {
                    return [None, None];
                };
                [
                    target(PartyKind::Client, params.client_assertion),
                    target(PartyKind::Issuer, params.assertion),
                ]
            }
        }
    }

    /// `use` and the time of `verify`'s options.
    fn verify_options(&self, options: Option<JsValue>) -> Result<(Use, u64), JsValue> {
        let now = current_time(options.as_ref(), &self.option_names.verify)?;
        let wanted = match &options {
            Some(options) if options.is_object() => match member(options, &self.option_names.use_)?
            {
                Some(value) => Some(
                    value
                        .as_string()
                        .ok_or_else(|| type_error("use must be a string"))?,
                ),
                None => None,
            },
            _ => None,
        };
        Ok((self.choose_use(wanted.as_deref())?, now))
    }

    /// Whether the request had an `Authorization` header, and the time, of
    /// `verifyTokenRequest`'s options.
    fn token_request_options(&self, options: Option<JsValue>) -> Result<(bool, u64), JsValue> {
        let now = current_time(options.as_ref(), &self.option_names.token_request)?;
        let authorization =
            match &options {
                Some(options) if options.is_object() => {
                    match member(options, &self.option_names.authorization)? {
                        None => false,
                        Some(value) if value.is_string() => true,
                        Some(_) => return Err(type_error(
                            "authorization must be the Authorization header's value (a string), \
                         or null when the request has none",
                        )),
                    }
                }
                _ => false,
            };
        Ok((authorization, now))
    }

    /// One run of the core: the result object, or the `AssertionError`. In a round of an
    /// asynchronous call with `round`.
    fn run(&self, work: &Work<'_>, round: Option<&Round<'_>>) -> Result<JsValue, JsValue> {
        match *work {
            Work::Verify {
                token,
                use_,
                now,
                fetched,
            } => self.run_verify(token, use_, now, fetched, round),
            Work::TokenRequest {
                body,
                authorization,
                now,
                fetched,
            } => self.run_token_request(body, authorization, now, fetched, round),
        }
    }

    fn run_verify(
        &self,
        token: &str,
        use_: Use,
        now: u64,
        fetched: Option<RetryAfter>,
        round: Option<&Round<'_>>,
    ) -> Result<JsValue, JsValue> {
        // The token's decoded parts, which the result borrows.
        let mut buffer = DecodeBuffer::new();
        let (result, hook_failure) = self.with_profiles(round, false, |profiles, store| {
            let external = store.is_external();
            let valid = match (use_, profiles.client, profiles.grant) {
                (Use::ClientAuthentication, Some(profile), _) => {
                    profile.validate(token, None, now, store, &mut buffer)
                }
                (Use::AuthorizationGrant, _, Some(profile)) => {
                    profile.validate(token, now, store, &mut buffer)
                }
                // `choose_use` returned a use that some party serves.
                _ => Err(Error::IssuerMismatch),
            }?;
            if round.is_some_and(Round::discarded) {
                return Ok(Ok(JsValue::UNDEFINED));
            }
            // The JS result is built here, where the validated assertion lies: it is 12 KiB
            // of fixed buffers, and handing it out of the closure would copy it.
            Ok(verify_result(&valid, external))
        })?;
        if round.is_some_and(Round::discarded) {
            return Ok(JsValue::UNDEFINED);
        }
        result.map_err(|e| match remote_error(e, fetched, 0) {
            Ok(e) => with_cause(assertion_error(&e, use_), e.reason(), hook_failure.as_ref()),
            Err(misuse) => misuse,
        })?
    }

    fn run_token_request(
        &self,
        body: &str,
        authorization: bool,
        now: u64,
        fetched: Option<RetryAfter>,
        round: Option<&Round<'_>>,
    ) -> Result<JsValue, JsValue> {
        let other_client_auth = self.other_client_auth;
        // The body is percent-decoded in place and the assertions decoded into `buffers`: the
        // outcome borrows both.
        let mut body = body.as_bytes().to_vec();
        let mut buffers = Box::new(TokenBuffers::new());
        let (result, hook_failure) = self.with_profiles(round, false, |profiles, store| {
            let external = store.is_external();
            let endpoint = TokenEndpoint {
                grant: profiles.grant,
                client_auth: profiles.client,
                other_client_auth,
            };
            let outcome =
                endpoint.handle_request(&mut body, authorization, now, store, &mut buffers)?;
            if round.is_some_and(Round::discarded) {
                return Ok(Ok(JsValue::UNDEFINED.unchecked_into()));
            }
            // Built here, where the outcome lies (it borrows the body and the buffers).
            Ok(token_request_result(&outcome, external))
        })?;
        if round.is_some_and(Round::discarded) {
            return Ok(JsValue::UNDEFINED);
        }
        let out = result.map_err(|e| {
            let e = match e {
                TokenError::Client(e) => remote_error(e, fetched, 0).map(TokenError::Client),
                TokenError::Grant(e) => remote_error(e, fetched, 1).map(TokenError::Grant),
                e => Ok(e),
            };
            match e {
                Ok(e) => with_cause(token_error(&e), e.reason(), hook_failure.as_ref()),
                Err(misuse) => misuse,
            }
        })??;
        Ok(out.into())
    }
}

/// `{ use, grantType, clientAuthentication, claims?, clientClaims?, replay? }` of a token
/// request.
fn token_request_result(
    outcome: &rfc7523::token_request::TokenOutcome<'_>,
    external: bool,
) -> Result<TokenRequestResult, JsValue> {
    let out = Object::new();
    set(&out, "use", &outcome.use_().as_str().into())?;
    set(&out, "grantType", &outcome.grant_type().into())?;
    set(
        &out,
        "clientAuthentication",
        &outcome.client_authentication().as_str().into(),
    )?;
    if let Some(primary) = outcome.primary() {
        set(&out, "claims", &claims_json(primary)?)?;
        set(&out, "compat", &compat_names(compat_mask(primary)))?;
    }
    if let Some(client) = outcome.client() {
        set(&out, "clientClaims", &claims_json(client)?)?;
        set(&out, "clientCompat", &compat_names(compat_mask(client)))?;
    }
    if external {
        let records = Array::new();
        for valid in outcome.client().into_iter().chain(outcome.grant()) {
            if let Some(record) = replay_record(valid)? {
                records.push(&record);
            }
        }
        set(&out, "replay", &records)?;
    }
    Ok(out.unchecked_into())
}

struct Profiles<'a> {
    grant: Option<GrantProfile<'a, Lookup<'a>>>,
    client: Option<ClientAuthProfile<'a, Lookup<'a>>>,
}

impl Shared {
    /// The use `verify()` validates for: `wanted` (option `use`), or the only one this
    /// verifier's parties serve.
    fn choose_use(&self, wanted: Option<&str>) -> Result<Use, JsValue> {
        let config = self.config.borrow();
        let grants = config.serves(Use::AuthorizationGrant);
        let clients = config.serves(Use::ClientAuthentication);
        match wanted {
            Some("grant") if grants => Ok(Use::AuthorizationGrant),
            Some("client_authentication") if clients => Ok(Use::ClientAuthentication),
            Some("grant") => Err(type_error(
                "use \"grant\": this verifier has no trusted issuers",
            )),
            Some("client_authentication") => Err(type_error(
                "use \"client_authentication\": this verifier has no clients",
            )),
            Some(_) => Err(type_error(
                "use must be \"grant\" or \"client_authentication\"",
            )),
            None if grants && clients => Err(type_error(
                "use is required (\"grant\" or \"client_authentication\"): this verifier has \
                 both clients and trusted issuers",
            )),
            None if clients => Ok(Use::ClientAuthentication),
            None => Ok(Use::AuthorizationGrant),
        }
    }

    /// Builds the profiles its parties serve (borrowing them) and the replay store adapter,
    /// and runs `f` with them (in a round of an asynchronous call with `round`). Also returns
    /// what a replay hook threw, if it did. A `TypeError` when the replay store is in use: a
    /// replay hook that calls its own verifier.
    fn with_profiles<T>(
        &self,
        round: Option<&Round<'_>>,
        trial: bool,
        f: impl FnOnce(Profiles<'_>, &mut StoreAdapter<'_>) -> T,
    ) -> Result<(T, Option<JsValue>), JsValue> {
        let in_use =
            || type_error("the verifier is in use: a replay hook may not call its own verifier");
        let mut replay = self.replay.try_borrow_mut().map_err(|_| in_use())?;
        let config = self.config.try_borrow().map_err(|_| in_use())?;
        // A `Ref` with `remote` (the keys reload), a plain reference without: one spelling for both.
        #[allow(clippy::borrow_deref_ref)]
        let config = &*config;
        let platform = self.platform.borrow();
        let platform = platform.as_ref();
        let signatures = self.signatures.borrow();
        let signatures = signatures.as_ref();
        let lookup = |use_| Lookup {
            config,
            use_,
            platform,
            signatures,
            #[cfg(feature = "platform-rsa")]
            round,
            #[cfg(feature = "remote")]
            trial,
        };
        let (grants, clients) = (
            lookup(Use::AuthorizationGrant),
            lookup(Use::ClientAuthentication),
        );
        // The server's issuer identifier (the sole `aud` of client assertions) and the
        // accepted `aud` values of grants.
        let (issuer, audiences): (&str, Vec<&str>) = match config {
            Config::Registry(registry) => (
                registry.issuer(),
                core::iter::once(registry.issuer())
                    .chain(registry.token_endpoint())
                    .collect(),
            ),
            Config::One(one) => (
                one.audiences.first().map_or("", String::as_str),
                one.audiences.iter().map(String::as_str).collect(),
            ),
        };
        let profiles = Profiles {
            grant: config
                .serves(Use::AuthorizationGrant)
                .then_some(GrantProfile {
                    issuers: &grants,
                    audiences: &audiences,
                }),
            client: config
                .serves(Use::ClientAuthentication)
                .then_some(ClientAuthProfile {
                    clients: &clients,
                    issuer,
                    // Read only by a client whose registry entry opts into the
                    // `token_endpoint_audience` compatibility (RFC 10070 transition).
                    token_endpoint: match config {
                        Config::Registry(registry) => registry.token_endpoint(),
                        Config::One(_) => None,
                    },
                }),
        };
        let mut store = StoreAdapter {
            replay: &mut replay,
            hook_failure: None,
            this_call: None,
            #[cfg(feature = "platform-rsa")]
            round,
            #[cfg(feature = "remote")]
            trial,
        };
        #[cfg(not(feature = "remote"))]
        let _ = trial;
        #[cfg(not(feature = "platform-rsa"))]
        let _ = round;
        let result = f(profiles, &mut store);
        Ok((result, store.hook_failure))
    }
}

/// The registry document (an object or JSON text), loaded once by the core.
fn load_registry(value: &JsValue) -> Result<Registry, JsValue> {
    let text = json_text(
        value,
        "registry must be the registry document: an object or JSON text",
    )?;
    Registry::from_json(&text).map_err(|e| {
        // The RS256-only module names the module that verifies the party's algorithm.
        let hint = match e.problem() {
            RegistryProblem::AlgorithmNotBuiltIn(_)
            | RegistryProblem::Key(rfc7523::KeyError::NotBuiltIn(_)) => NOT_BUILT_IN,
            #[cfg(not(feature = "remote"))]
            RegistryProblem::JwksUriNotSupported | RegistryProblem::DiscoveryNotSupported => {
                NO_REMOTE
            }
            #[cfg(not(feature = "claim-conditions"))]
            RegistryProblem::ClaimConditionsNotBuiltIn => NO_CLAIM_CONDITIONS,
            _ => "",
        };
        type_error(&format!("registry: {e}{hint}"))
    })
}

/// The one party of the `keys` form: one trusted issuer (`issuer`) or one client
/// (`clientId`), never more (one key set would be trusted for each of them).
fn one_party(options: &JsValue) -> Result<OneParty, JsValue> {
    let keys = load_keys(&required(options, "keys")?)?;
    let mut issuers = strings(options, "issuer")?;
    let client_id = string(options, "clientId")?;
    let audiences = strings(options, "audience")?;
    let subject = string(options, "subject")?;
    let (id, use_) = match (issuers.pop(), client_id) {
        (Some(issuer), None) if issuers.is_empty() => (issuer, Use::AuthorizationGrant),
        (None, Some(client)) => (client, Use::ClientAuthentication),
        (None, None) => {
            return Err(type_error(
                "issuer (a trusted issuer of grants) or clientId (a client) is required",
            ))
        }
        _ => {
            return Err(type_error(
                "keys serve exactly one party, one issuer or one clientId: with more, one key \
                 set would be trusted for every party, and each could sign as the others \
                 (RFC 8725 section 3.8). Give a registry, with each party's own keys",
            ))
        }
    };
    let client = use_ == Use::ClientAuthentication;
    if audiences.is_empty() {
        return Err(type_error("audience is required"));
    }
    if client && audiences.len() != 1 {
        return Err(type_error(
            "with clientId, audience must be one value: the server's issuer identifier",
        ));
    }
    if client && subject.is_some() {
        return Err(type_error(
            "subject applies to grants; with clientId, sub must be the client id",
        ));
    }
    let max_lifetime = match seconds(options, "maxLifetime")? {
        None => DEFAULT_MAX_LIFETIME,
        Some(n) if (1..=MAX_LIFETIME_SETTING).contains(&n) => n,
        Some(_) => {
            return Err(type_error(&format!(
                "maxLifetime must be from 1 to {MAX_LIFETIME_SETTING} seconds"
            )))
        }
    };
    let defaults = Checks::default();
    let checks = Checks {
        leeway: seconds(options, "clockTolerance")?.unwrap_or(defaults.leeway),
        max_lifetime: Some(max_lifetime),
        max_age: seconds(options, "maxTokenAge")?,
        require_jti: boolean(options, "requireJti", defaults.require_jti)?,
        require_iat: boolean(options, "requireIat", defaults.require_iat)?,
        ..defaults
    };
    let explicit_typ = match string(options, "typ")?.as_deref() {
        None => false,
        Some(t) if t.eq_ignore_ascii_case(rfc7523::profile::CLIENT_AUTHENTICATION_TYP) => true,
        Some(_) => return Err(type_error("typ may only be \"client-authentication+jwt\"")),
    };
    let typ = if explicit_typ || boolean(options, "requireTyp", false)? {
        TypRule::RequireExplicit
    } else {
        TypRule::NotAnotherType
    };
    if typ == TypRule::RequireExplicit && !client {
        return Err(type_error(
            "typ and requireTyp apply to client authentication: set clientId",
        ));
    }
    let algorithms = match optional(options, "algorithms")? {
        None => Algorithms::ALL,
        Some(_) => {
            let algorithms = algorithms_option(strings(options, "algorithms")?)?;
            // As a registry does for its `token_endpoint_auth_signing_alg`: a key that could
            // verify nothing the party allows is a mistake to see at start-up.
            for (index, key) in keys.iter().enumerate() {
                if !Algorithm::ALL
                    .into_iter()
                    .any(|alg| key.serves_algorithm(alg, algorithms))
                {
                    return Err(type_error(&format!(
                        "algorithms: key {index} serves none of them"
                    )));
                }
            }
            algorithms
        }
    };
    let subjects = subject.map(|s| vec![s]);
    let party = RegisteredParty::new(id, OwnedKeys::from_set(&keys), checks, typ, subjects);
    Ok(OneParty {
        use_,
        party: party.with_algorithms(algorithms),
        audiences,
    })
}

/// What a build without remote key sets (`rfc7523/rs256`, for its size budget) adds where a
/// registry names `jwks_uri` or `discovery`.
#[cfg(not(feature = "remote"))]
const NO_REMOTE: &str = " (rfc7523/rs256 does not fetch key sets: import \"rfc7523\")";

/// What a build without claim conditions (`rfc7523/rs256`, for its size budget) adds where a
/// registry's issuer names `claims`.
#[cfg(not(feature = "claim-conditions"))]
const NO_CLAIM_CONDITIONS: &str =
    " (rfc7523/rs256 does not check claim conditions: import \"rfc7523\")";

/// The algorithms this build verifies, for messages.
#[cfg(feature = "all-algorithms")]
const BUILT_IN: &str = "RS256, PS256, ES256, EdDSA and Ed25519";
#[cfg(not(feature = "all-algorithms"))]
const BUILT_IN: &str = "RS256";

/// What the RS256-only module adds where a key or a name is of an algorithm it leaves out.
#[cfg(feature = "all-algorithms")]
const NOT_BUILT_IN: &str = "";
#[cfg(not(feature = "all-algorithms"))]
const NOT_BUILT_IN: &str =
    " (rfc7523/rs256 verifies RS256 only: import \"rfc7523\" for PS256, ES256 and EdDSA)";

/// The `algorithms` option: JWS `alg` names (exact, case-sensitive) this build verifies, at
/// least one: the party's allow-list ([`rfc7523::Policy::algorithms`]).
fn algorithms_option(names: Vec<String>) -> Result<Algorithms, JsValue> {
    let mut algorithms = Algorithms::NONE;
    for name in names {
        match Algorithm::from_header(&name) {
            Some(alg) if rfc7523::alg::is_built_in(alg) => algorithms = algorithms.with(alg),
            _ => {
                return Err(type_error(&format!(
                    "algorithms: \"{name}\" is not one of {BUILT_IN}{NOT_BUILT_IN}"
                )))
            }
        }
    }
    if algorithms.is_empty() {
        return Err(type_error("algorithms must name at least one algorithm"));
    }
    Ok(algorithms)
}

/// The verifier's replay choice as a core `ReplayStore`.
struct StoreAdapter<'r> {
    replay: &'r mut Replay,
    /// What the hook threw, or a TypeError for an answer that is not a boolean.
    hook_failure: Option<JsValue>,
    /// `"external"`: the keys of this one call (a request's client assertion and grant), so
    /// that a second assertion with the same (`iss`, `jti`) is a replay here, as the core
    /// answers it with any store, rather than two records the caller's store would have to
    /// untangle.
    this_call: Option<ReplayKey>,
    /// In a round of an asynchronous call: the store is used only where the round may
    /// (`Round::commit`); otherwise every entry is "not seen", and nothing is stored.
    #[cfg(feature = "platform-rsa")]
    round: Option<&'r Round<'r>>,
    /// A trial run: every entry "not seen", nothing stored.
    #[cfg(feature = "remote")]
    trial: bool,
}

impl StoreAdapter<'_> {
    /// Whether results carry `replay` records for the caller's store.
    fn is_external(&self) -> bool {
        matches!(self.replay, Replay::External)
    }
}

impl ReplayStore for StoreAdapter<'_> {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        #[cfg(feature = "remote")]
        if self.trial {
            return Ok(());
        }
        #[cfg(feature = "platform-rsa")]
        if self.round.is_some_and(|round| !round.commit()) {
            return Ok(());
        }
        match self.replay {
            Replay::Memory(store) => store.check_and_insert(entry, now),
            // The caller stores `replay` from the result itself; within one call (at most two
            // assertions), a repeated key is a replay.
            Replay::External => {
                if self.this_call == Some(entry.key) {
                    return Err(ReplayError::Replayed);
                }
                self.this_call = Some(entry.key);
                Ok(())
            }
            Replay::Hook { object, function } => {
                let key = JsValue::from_str(&base64url(entry.key.as_bytes()));
                let expires_at = JsValue::from_f64(entry.expires_at as f64);
                let answer = function.call2(object, &key, &expires_at);
                match answer.as_ref().map(JsValue::as_bool) {
                    Ok(Some(true)) => Ok(()),
                    Ok(Some(false)) => Err(ReplayError::Replayed),
                    // A throwing or confused store refuses: fail closed, and the error
                    // carries what went wrong as `cause`.
                    Ok(None) => {
                        self.hook_failure = Some(type_error(
                            "replay.checkAndInsert must return true or false (synchronously)",
                        ));
                        Err(ReplayError::Full)
                    }
                    Err(thrown) => {
                        self.hook_failure = Some(thrown.clone());
                        Err(ReplayError::Full)
                    }
                }
            }
        }
    }
}

/// The `replayCapacity` option: a whole number of entries in 1..=[`MAX_REPLAY_CAPACITY_OPTION`].
fn replay_capacity(value: Option<&JsValue>) -> Result<usize, JsValue> {
    let Some(value) = value else {
        return Ok(DEFAULT_REPLAY_CAPACITY);
    };
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (1.0..=MAX_REPLAY_CAPACITY_OPTION as f64).contains(&n) => {
            Ok(n as usize)
        }
        _ => Err(type_error(
            "replayCapacity must be a whole number from 1 to 1048576",
        )),
    }
}

/// 16 random bytes for the replay store's bucket hash (its SipHash key), from `Math.random`:
/// the key only has to be unknown to a signer who picks its `jti`s to crowd one bucket (the
/// store stays correct and fail-closed either way: a bucket holds at most 32 entries).
/// `crypto.getRandomValues` would be stronger; reaching it costs 2 KB of the size-budgeted
/// module (measured), which this does not need.
fn random_seed() -> [u8; 16] {
    let mut seed = [0u8; 16];
    for chunk in seed.chunks_mut(4) {
        // 32 random bits of the double in [0, 1).
        let bits = (js_sys::Math::random() * 4_294_967_296.0) as u32;
        chunk.copy_from_slice(&bits.to_le_bytes());
    }
    seed
}

/// `{ key, iss, jti, expiresAt }` for an external store, when the assertion had a `jti`.
fn replay_record(valid: &ValidatedAssertion<'_>) -> Result<Option<Object>, JsValue> {
    let (Some(entry), Some(jti)) = (valid.replay_entry(), valid.claims().jti()) else {
        return Ok(None);
    };
    let record = Object::new();
    set(&record, "key", &base64url(entry.key.as_bytes()).into())?;
    let mut text = ClaimString::new();
    set(&record, "iss", &valid.issuer().decode(&mut text).into())?;
    set(&record, "jti", &jti.decode(&mut text).into())?;
    set(
        &record,
        "expiresAt",
        &JsValue::from_f64(entry.expires_at as f64),
    )?;
    Ok(Some(record))
}

/// The refusal `error` of the assertion in `slot` (0: the client assertion or `verify`'s, 1:
/// the grant) with what the remote key sets add: in an asynchronous call (`fetched`), the
/// `Retry-After` of its party's caches when it is `keys_unavailable`; in a synchronous method,
/// which never fetches, `keys_unavailable` (a remote party without usable keys in the cache:
/// never fetched by an asynchronous call, or past their grace) is a misuse, a `TypeError`
/// with code `ERR_JWKS_NOT_FETCHED` (`Err`), rather than an outage to answer 503 and retry
/// forever.
#[cfg(feature = "remote")]
fn remote_error(error: Error, fetched: Option<RetryAfter>, slot: usize) -> Result<Error, JsValue> {
    if error.reason() != Reason::KeysUnavailable {
        return Ok(error);
    }
    if let Some(retry) = fetched {
        return Ok(match retry.get(slot).copied().flatten() {
            Some(seconds) => error.with_retry_after(seconds),
            None => error,
        });
    }
    let e = type_error(
        "the keys of this assertion's party are fetched (jwks_uri or discovery) and none are in \
         the verifier's cache: verify and verifyTokenRequest never fetch; use verifyAsync or \
         verifyTokenRequestAsync, which fetch them (later synchronous calls then use the cached \
         keys)",
    );
    let _ = Reflect::set(&e, &"code".into(), &"ERR_JWKS_NOT_FETCHED".into());
    Err(e)
}

/// Without remote key sets, no party's keys are fetched: the error as it is.
#[cfg(not(feature = "remote"))]
#[inline(always)]
#[allow(clippy::unnecessary_wraps)]
fn remote_error(error: Error, _: Option<RetryAfter>, _: usize) -> Result<Error, JsValue> {
    Ok(error)
}

/// The registry and the platform's key handles: in a `RefCell` with remote key sets (fetched
/// sets are installed between runs, and the handles reloaded), else as they are (the
/// RS256-only module's bytes).
#[cfg(feature = "remote")]
type Reloadable<T> = RefCell<T>;
#[cfg(not(feature = "remote"))]
type Reloadable<T> = Fixed<T>;

/// A value never changed after construction, with `RefCell`'s reading methods.
#[cfg(not(feature = "remote"))]
#[derive(Debug)]
struct Fixed<T>(T);

#[cfg(not(feature = "remote"))]
impl<T> Fixed<T> {
    fn new(value: T) -> Self {
        Fixed(value)
    }

    fn borrow(&self) -> &T {
        &self.0
    }

    #[allow(clippy::unnecessary_wraps)]
    fn try_borrow(&self) -> Result<&T, core::convert::Infallible> {
        Ok(&self.0)
    }
}

/// Sets `cause` on a `replay_store_full` error that a replay hook caused.
fn with_cause(error: JsValue, reason: Reason, hook_failure: Option<&JsValue>) -> JsValue {
    if let (Reason::ReplayStoreFull, Some(cause)) = (reason, hook_failure) {
        let _ = Reflect::set(&error, &"cause".into(), cause);
    }
    error
}

fn claims_json(valid: &ValidatedAssertion<'_>) -> Result<JsValue, JsValue> {
    JSON::parse(payload_json(valid))
}

/// The verified claims set as text. Always UTF-8 here: the core read the claims from it
/// (RFC 7519 §7.2 step 10), as it read the header.
#[inline(always)]
fn payload_json<'v>(valid: &'v ValidatedAssertion<'_>) -> &'v str {
    valid.assertion().payload_json().unwrap_or_default()
}

/// `{ header, claims }` (and `replay` for an external store) of `verify`: the header and the
/// claims set as they were signed, parsed by one JavaScript function (an object literal and
/// two `JSON.parse`, rather than an `Object` filled by `Reflect.set` from here).
fn verify_result(valid: &ValidatedAssertion<'_>, external: bool) -> Result<JsValue, JsValue> {
    let out = verify_result_js(
        valid.assertion().header_json(),
        payload_json(valid),
        compat_mask(valid),
    )?;
    if external {
        if let Some(record) = replay_record(valid)? {
            set(out.unchecked_ref(), "replay", &record)?;
        }
    }
    Ok(out)
}

/// The relaxations `valid` relied on as bits in [`Relaxation::ALL`]'s order, which the
/// JavaScript `RELAXATIONS` list follows (`compat` of the results; tested by name).
fn compat_mask(valid: &ValidatedAssertion<'_>) -> u8 {
    Relaxation::ALL
        .iter()
        .enumerate()
        .filter(|(_, relaxation)| valid.compat().contains(**relaxation))
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// jose's error code for a core reason (`ERR_JWT_*`, `ERR_JWS_*`, `ERR_JOSE_*`).
fn jose_code(reason: Reason) -> &'static str {
    match reason {
        Reason::Expired | Reason::TooOld => "ERR_JWT_EXPIRED",
        Reason::InvalidSignature => "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
        Reason::UnsupportedAlgorithm => "ERR_JOSE_ALG_NOT_ALLOWED",
        Reason::UnsupportedHeader => "ERR_JOSE_NOT_SUPPORTED",
        Reason::UnknownKey => "ERR_JWKS_NO_MATCHING_KEY",
        Reason::KeysUnavailable => "ERR_JWKS_UNAVAILABLE",
        Reason::Malformed | Reason::TooLarge => "ERR_JWT_INVALID",
        Reason::Replayed => "ERR_JWT_REPLAYED",
        Reason::ReplayStoreFull => "ERR_JWT_REPLAY_STORE_FULL",
        Reason::InvalidRequest => "ERR_OAUTH_INVALID_REQUEST",
        Reason::UnsupportedGrantType => "ERR_OAUTH_UNSUPPORTED_GRANT_TYPE",
        Reason::UnsupportedAssertionType => "ERR_OAUTH_UNSUPPORTED_ASSERTION_TYPE",
        Reason::UnsupportedClientAuthentication => "ERR_OAUTH_UNSUPPORTED_CLIENT_AUTHENTICATION",
        _ => "ERR_JWT_CLAIM_VALIDATION_FAILED",
    }
}

fn error_object(
    message: &str,
    reason: Reason,
    response: &rfc7523::ErrorResponse,
    claim: Option<rfc7523::Claim>,
) -> JsValue {
    let fields = Object::new();
    let _ = Reflect::set(&fields, &"code".into(), &jose_code(reason).into());
    let _ = Reflect::set(&fields, &"reason".into(), &reason.as_str().into());
    let _ = Reflect::set(
        &fields,
        &"oauthError".into(),
        &response.error().code().into(),
    );
    let _ = Reflect::set(&fields, &"status".into(), &JsValue::from(response.status()));
    let _ = Reflect::set(&fields, &"body".into(), &response.to_json().as_str().into());
    if let Some(claim) = claim {
        let _ = Reflect::set(&fields, &"claim".into(), &claim.as_str().into());
    }
    if let Some(seconds) = response.retry_after() {
        let _ = Reflect::set(
            &fields,
            &"retryAfter".into(),
            &JsValue::from(seconds as f64),
        );
    }
    AssertionErrorJs::new(message, &fields).into()
}

fn assertion_error(error: &Error, use_: Use) -> JsValue {
    error_object(
        &error.to_string(),
        error.reason(),
        &error.response(use_),
        error.claim(),
    )
}

fn token_error(error: &TokenError) -> JsValue {
    let claim = error.assertion_error().and_then(Error::claim);
    error_object(&error.to_string(), error.reason(), &error.response(), claim)
}

fn set(object: &Object, key: &str, value: &JsValue) -> Result<(), JsValue> {
    Reflect::set(object, &key.into(), value).map(|_| ())
}

fn required(object: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    optional(object, key)?.ok_or_else(|| type_error(&format!("{key} is required")))
}

/// A string or an array of strings.
fn strings(object: &JsValue, key: &str) -> Result<Vec<String>, JsValue> {
    let Some(value) = optional(object, key)? else {
        return Ok(Vec::new());
    };
    if let Some(one) = value.as_string() {
        return Ok(vec![one]);
    }
    if !Array::is_array(&value) {
        return Err(type_error(&format!(
            "{key} must be a string or an array of strings"
        )));
    }
    Array::from(&value)
        .iter()
        .map(|v| {
            v.as_string().ok_or_else(|| {
                type_error(&format!("{key} must be a string or an array of strings"))
            })
        })
        .collect()
}

/// An object as JSON text (`JSON.stringify`), or the text itself.
fn json_text(value: &JsValue, what: &str) -> Result<String, JsValue> {
    match value.as_string() {
        Some(text) => Ok(text),
        None if value.is_object() => JSON::stringify(value)?
            .as_string()
            .ok_or_else(|| type_error(what)),
        None => Err(type_error(what)),
    }
}

fn load_keys(value: &JsValue) -> Result<Box<KeySet>, JsValue> {
    let text = json_text(value, "keys must be a JWKS, a JWK or a PEM string")?;
    let mut keys: Box<KeySet> = Box::default();
    keys.load_text(&text).map_err(|e| {
        // The RS256-only module names the module that verifies the key's algorithm.
        let hint = match e {
            rfc7523::KeyError::NotBuiltIn(_) => NOT_BUILT_IN,
            _ => "",
        };
        type_error(&format!("keys: {e}{hint}"))
    })?;
    Ok(keys)
}
