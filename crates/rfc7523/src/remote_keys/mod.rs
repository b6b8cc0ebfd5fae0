//! Remote key sets: the policy every layer shares when a party's keys are fetched — from its
//! `jwks_uri` (RFC 7591 §2, RFC 7517 §5) or through its issuer's discovery document (RFC 8414,
//! OIDC Discovery 1.0 §4) — and cached (RFC 9111). No I/O, no clock, no heap.

pub mod cache;
pub mod document;
pub mod freshness;
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
pub use url::{
    DiscoveryUrl, Host, IssuerUrl, KeyUrl, Scheme, UrlError, WellKnown, MAX_HOST_LEN,
    MAX_LABEL_LEN, MAX_URL_LEN,
};
