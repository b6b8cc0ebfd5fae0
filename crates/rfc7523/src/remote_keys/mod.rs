//! Remote key sets: the policy every layer shares when a party's keys are fetched — from its
//! `jwks_uri` (RFC 7591 §2, RFC 7517 §5) or through its issuer's discovery document (RFC 8414,
//! OIDC Discovery 1.0 §4) — and cached (RFC 9111). No I/O, no clock, no heap: the layers (the
//! CLI, the npm package, the Worker) fetch, keep the documents and read the time; this module
//! says where they may fetch from, what a response must be, how long its keys last, when to
//! fetch again, and when to refuse.
//!
//! - [`url`]: where keys may come from ([`KeyUrl`], [`IssuerUrl`]) and where an issuer's
//!   metadata is ([`IssuerUrl::discovery_url`], [`WellKnown`]).
//! - [`document`]: what a response must be ([`check_status`], [`check_content_type`],
//!   [`check_len`]), the discovery document ([`DiscoveryDocument`]), the shape of a JWK Set
//!   ([`check_jwk_set`]), and why a fetch failed ([`FetchFailure`]).
//! - [`freshness`]: `Cache-Control` and `Age` into a lifetime ([`Freshness`]).
//! - [`cache`]: the policy of one URI as a state machine over the caller's times
//!   ([`KeyCache`]).
//! - [`record`]: what a layer stores in a cache shared by instances ([`Record`]).
//!
//! # The rules, and where they come from
//!
//! **Only configured URLs are fetched.** A `jwks_uri` comes from the registry (RFC 7591 §2
//! client metadata), a discovery URL from a configured issuer; the `jwks_uri` of a discovery
//! document is taken only after its `issuer` equals the configured issuer exactly (RFC 8414
//! §3.3, OIDC Discovery 1.0 §4.3). Nothing in an assertion (`jku`, `x5u`, `iss` of an unknown
//! party) ever names a URL to fetch (RFC 8725 §3.10).
//!
//! **`https` only, except loopback** (the [`url`] rules): `http` for `localhost`,
//! 127.0.0.0/8 and `::1`, for development and the tests' own servers. A remote issuer's
//! document may not point at a loopback `jwks_uri` ([`DocumentError::LoopbackJwksUri`]).
//!
//! **Discovery**: one document per issuer, by default OIDC Discovery 1.0 §4's
//! `{issuer}/.well-known/openid-configuration` (appended after the issuer's path, its
//! terminating `/` removed); RFC 8414 §3.1's `oauth-authorization-server`, inserted between
//! host and path, on request ([`WellKnown`]). No fallback between them. The document's
//! `jwks_uri` (OIDC Discovery 1.0 §3: REQUIRED) must pass the URL rules.
//!
//! **Responses**: status 200 only, no redirect followed ([`check_status`]); `Content-Type`
//! `application/json`, or `application/jwk-set+json` for a JWK Set (RFC 7517 §8.5.2),
//! `charset` if any `utf-8` ([`check_content_type`]); at most [`MAX_DOCUMENT_LEN`] bytes,
//! stopped while reading ([`check_len`]); strict JSON (the crate's reader: duplicates refused,
//! depth and member bounds); at most [`MAX_REMOTE_KEYS`] keys; the keys through the same key
//! loader and key rules as inline keys. A layer's fetch times out after [`FETCH_TIMEOUT`].
//!
//! **Caching** ([`freshness`], [`cache`]): a document is fresh for its `Cache-Control:
//! max-age` minus its `Age`, clamped to [[`MIN_MAX_AGE`], [`MAX_MAX_AGE`]], or
//! [`DEFAULT_MAX_AGE`] without one; `no-cache` and `no-store` give the shortest lifetime, and
//! `no-store` keeps the document out of the shared cache. Fetches of one URI start at least
//! [`REFETCH_COOLDOWN`] apart whatever triggers them — expiry, an assertion whose `kid` or
//! `x5t#S256` names no cached key, a retry after a failure — and one at a time
//! (single-flight). When refreshes fail, stale keys stay usable for [`STALE_GRACE`] past
//! their lifetime; then the party's assertions are refused as unavailable.
//!
//! **Shared cache** ([`record`]): a layer may store each accepted document as a [`Record`]
//! (URI, fetch time, lifetime, the document, versioned, with a digest) where other instances
//! read it; a record is read strictly, goes through the same document and key rules as a
//! response, and is adopted only when newer ([`KeyCache::adopt`]).
//!
//! # Refusing for unavailable keys: the OAuth mapping
//!
//! [`Step::Unavailable`] is a new kind of refusal: the assertion was not judged at all,
//! because its party's keys cannot be had. It is the stable reason `keys_unavailable`
//! ([`Reason::KeysUnavailable`](crate::Reason::KeysUnavailable),
//! [`Error::KeysUnavailable`](crate::Error::KeysUnavailable), the layer adding
//! [`Unavailable::retry_after`] with
//! [`Error::with_retry_after`](crate::Error::with_retry_after)), answered as follows
//! ([`OAuthError::TemporarilyUnavailable`](crate::OAuthError::TemporarilyUnavailable)):
//!
//! ```text
//! HTTP/1.1 503 Service Unavailable
//! Retry-After: <Unavailable::retry_after>
//! Content-Type: application/json
//! Cache-Control: no-store
//!
//! {"error":"temporarily_unavailable","error_description":"the issuer's keys cannot be fetched"}
//! ```
//!
//! for both uses (a grant and client authentication). The argument:
//!
//! - RFC 6749 §5.2's token-endpoint codes each assert something about the request:
//!   `invalid_grant` that "the provided authorization grant … is invalid, expired, revoked",
//!   `invalid_client` (401) that "client authentication failed". Neither is true during an
//!   outage, and both are acted on: a client told its credential is invalid may discard it,
//!   alert, or stop retrying; one told 401 may rotate its key. An outage must not look like a
//!   bad assertion (issue 14: "tells an outage apart from a bad assertion").
//! - §5.2 sends 400 "unless specified otherwise", so the status may differ, and a failure of
//!   the server is a 5xx: 503 (RFC 9110 §15.6.4) says the condition is temporary, with
//!   `Retry-After` (RFC 9110 §10.2.3) saying when the verifier will fetch again (the
//!   cooldown's end, or a fetch in flight giving up).
//! - The error code: RFC 6749 §4.1.2.1 defines `temporarily_unavailable` — "the
//!   authorization server is currently unable to handle the request due to a temporary
//!   overloading or maintenance" — and notes it exists only because a 503 "cannot be
//!   returned to the client via an HTTP redirect". At the token endpoint the 503 can be
//!   returned, and the same code in the §5.2 body lets clients that read only the JSON tell
//!   the case too; deployed servers (Microsoft Entra ID) already return it from their token
//!   endpoints. RFC 6749 §8.5 allows a new code, but a new unregistered code would be
//!   understood by no client, while this one is.
//! - `Cache-Control: no-store`, as RFC 6749 §5.1–5.2 responses carry.
//!
//! [`Step::KeyNotFound`] is not an outage: the keys are at hand and none is the assertion's
//! key; it stays the existing refusal for an unknown key (`invalid_grant` / `invalid_client`).
//! Nor is a fresh or stale key set that verifies nothing: only the absence of usable keys is
//! `keys_unavailable`.
//!
//! # For the layers: the protocol
//!
//! Per party with remote keys
//! ([`Registry::remote_parties`](crate::registry::Registry::remote_parties), whose
//! [`KeyLocation`](crate::registry::KeyLocation) is the first URL), one [`KeyCache`] per
//! URI (the discovery URL, then the `jwks_uri` its document names); the registry keeps the keys
//! of the last accepted JWK Set. For each assertion, for the party its `iss` names:
//!
//! 1. `decide(now, Need::Keys)`; `Verify` → validate; `Fetch` → fetch (the response through
//!    [`check_status`], [`check_len`] on `Content-Length` and while reading,
//!    [`check_content_type`], then
//!    [`RemoteParty::read_discovery`](crate::registry::RemoteParty::read_discovery) or
//!    [`Registry::install_jwk_set`](crate::registry::Registry::install_jwk_set), which checks
//!    the set and loads its keys), report `fetched` (with [`Freshness::from_headers`]) or
//!    `failed` (with
//!    [`InstallError::fetch_failure`](crate::registry::InstallError::fetch_failure)),
//!    and decide again; `Wait` → wait for the fetch in flight (or take `meanwhile`) and decide
//!    again; `Unavailable` → validate all the same (the core refuses `keys_unavailable` once the
//!    keys are past their grace, after the checks that need no key) and add `retry_after`.
//! 2. If validation says [`Error::UnknownRemoteKey`](crate::Error::UnknownRemoteKey) (the
//!    `kid` / `x5t#S256` names none of the keys): `decide(now, Need::UnknownKey)`, the same
//!    way, and validate again after a fetch; `KeyNotFound` → the refusal stands (`unknown_key`).
//!
//! A layer with a shared cache reads the [`Record`] for the URI before deciding (and adopts
//! it when its document passes), and writes one after a `fetched` that says `persist`.

pub mod cache;
pub mod document;
pub mod freshness;
pub mod record;
pub mod url;

pub use cache::{
    Adopted, Entry, FetchTicket, KeyCache, KeysState, Meanwhile, Need, Step, Stored, Unavailable,
    ABANDONED_AFTER, FETCH_TIMEOUT, MAX_CLOCK_SKEW, REFETCH_COOLDOWN, STALE_GRACE,
};
pub use document::{
    check_content_type, check_jwk_set, check_len, check_status, ContentTypeError,
    DiscoveryDocument, DocumentError, DocumentKind, FetchFailure, MediaType, Member,
    MAX_DOCUMENT_LEN, MAX_REMOTE_KEYS,
};
pub use freshness::{
    clamp_max_age, Freshness, DEFAULT_MAX_AGE, MAX_DELTA_SECONDS, MAX_MAX_AGE, MIN_MAX_AGE,
};
pub use record::{Record, RecordError, MAX_RECORD_HEADER_LEN, MAX_RECORD_LEN, RECORD_MAGIC};
pub use url::{
    DiscoveryUrl, Host, IssuerUrl, KeyUrl, Scheme, UrlError, WellKnown, MAX_HOST_LEN,
    MAX_LABEL_LEN, MAX_URL_LEN,
};
