//! Remote key sets: the policy every layer shares when a party's keys are fetched — from its
//! `jwks_uri` (RFC 7591 §2, RFC 7517 §5) or through its issuer's discovery document (RFC 8414,
//! OIDC Discovery 1.0 §4) — and cached (RFC 9111). No I/O, no clock, no heap.

pub mod url;

pub use url::{
    DiscoveryUrl, Host, IssuerUrl, KeyUrl, Scheme, UrlError, WellKnown, MAX_HOST_LEN,
    MAX_LABEL_LEN, MAX_URL_LEN,
};
