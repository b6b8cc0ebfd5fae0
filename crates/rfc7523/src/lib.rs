//! # rfc7523
//!
//! A `no_std` validator for JWT bearer assertions (RFC 7523, as updated by RFC 10070): RS256,
//! and with the features `ps256`, `es256` and `eddsa` (default on), PS256, ES256 and
//! EdDSA/Ed25519 ([`alg`]).
//!
//! RFC 7523 has two uses, kept apart by type here:
//! - **Authorization grant** (§2.1, [`GrantProfile`]): `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
//!   with `assertion=<JWT>`. Failures are `invalid_grant`.
//! - **Client authentication** (§2.2, [`ClientAuthProfile`]): `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
//!   with `client_assertion=<JWT>` beside any grant (`private_key_jwt`), with the stricter rules of
//!   RFC 10070 (`aud` is the server's issuer identifier as its sole value; `typ` must not name
//!   another kind of JWT). Failures are `invalid_client` (HTTP 401).
//!
//! A server has many parties: every client and every trusted issuer has its own keys and
//! policy ([`Party`], [`KeyLookup`]; RFC 8725 §3.8), and a key of one never verifies an
//! assertion that claims to be another. The [`Registry`] (feature `alloc`) loads them all from
//! one JSON document.
//!
//! Verification is a typestate: [`UnverifiedAssertion::parse`] checks the compact form and the
//! header, [`UnverifiedAssertion::verify`] checks the signature and yields a
//! [`VerifiedAssertion`], and only that can be read for [`Claims`]. The profiles run the whole
//! pipeline, then the claim rules, then replay protection ([`ReplayStore`]).
//!
//! Nothing on that path copies the token: its parts are decoded once into a [`DecodeBuffer`]
//! that the caller owns (a local, or a `static` of a firmware), and the header JSON, the
//! payload and every claim ([`ClaimStr`]) are spans over it; a token request's body is
//! percent-decoded in place ([`form::TokenParams`]) and its two assertions go into
//! [`TokenBuffers`]. Large state is passed by reference, so the stack a validation needs is
//! small and known (measured on a Cortex-M3: `cargo xtask embedded`).
//!
//! The crate never reads a clock and does no I/O: `now` (Unix seconds) and the replay store come
//! from the caller. Verification uses no heap at all: keys, tokens and the RSA arithmetic
//! (fixed-width Montgomery multiplication for 2048-, 3072-, 4096- and 8192-bit moduli) live in
//! fixed buffers, and without the `alloc` feature (which `sign` turns on) the crate does not
//! link `alloc`. Every bound is a named constant in [`limits`].
//!
//! ```
//! use rfc7523::{DecodeBuffer, GrantProfile, KeySet, MemoryReplayStore, Party, UnverifiedAssertion};
//!
//! // The RFC 7515 Appendix A.2 example: a valid RS256 signature, but not an RFC 7523 assertion.
//! let jwk = r#"{"kty":"RSA","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}"#;
//! let keys = KeySet::from_jwk(jwk).unwrap();
//! let token = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
//!
//! // Signature layer: valid. The token's parts are decoded into a buffer of the caller's.
//! let mut buffer = DecodeBuffer::new();
//! let verified = UnverifiedAssertion::parse(token, &mut buffer).unwrap().verify(&keys).unwrap();
//! assert!(verified.claims().unwrap().iss().is_some_and(|iss| iss == "joe"));
//!
//! // As an RFC 7523 grant: refused (no `sub`, no `aud`, expired in 2011).
//! let issuers = [Party::new("joe", &keys)];
//! let profile = GrantProfile { issuers: &issuers[..], audiences: &["https://as.example"] };
//! let mut replay = MemoryReplayStore::<64>::new();
//! let err = profile.validate(token, 1_700_000_000, &mut replay, &mut buffer).unwrap_err();
//! assert_eq!(err.reason().as_str(), "missing_claim");
//! assert_eq!(err.response(rfc7523::Use::AuthorizationGrant).to_json().as_str(),
//!     r#"{"error":"invalid_grant","error_description":"the sub claim is missing"}"#);
//! ```
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

// Only the registry loader and `BoxedReplayStore` (feature `alloc`) and signing (the `rsa`
// crate's private-key operation) use the heap; verification never does.
#[cfg(any(feature = "alloc", feature = "sign"))]
extern crate alloc;

pub mod alg;
mod base64url;
pub mod claims;
pub mod compat;
#[cfg(feature = "claim-conditions")]
pub mod conditions;
pub mod error;
pub mod form;
mod json;
pub mod jws;
pub mod keys;
pub mod party;
mod pem;
pub mod profile;
#[cfg(feature = "alloc")]
pub mod registry;
pub mod remote_keys;
pub mod replay;
#[cfg(feature = "sign")]
pub mod sign;
pub mod token_request;

pub use alg::{Algorithm, Algorithms, KeyType};
pub use claims::{Audience, AudienceValues, ClaimStr, ClaimString, Claims, NumericDate};
pub use compat::{Compat, Relaxation, Relaxations};
#[cfg(feature = "claim-conditions")]
pub use conditions::{ClaimCondition, ClaimConditions, ConditionError};
pub use error::{
    Claim, Error, ErrorResponse, HeaderParameter, Limit, Malformed, OAuthError, Part, Reason,
    TypProblem, Use,
};
#[cfg(feature = "claim-conditions")]
pub use error::{ClaimName, ConditionProblem};
pub use jws::{DecodeBuffer, Header, UnverifiedAssertion, VerifiedAssertion};
#[cfg(feature = "alloc")]
pub use keys::OwnedKeys;
pub use keys::{
    KeyError, KeyHint, KeyMaterial, KeyRef, KeySet, KeyStore, KeyTextError, Keys, MaterialRef,
    RsaKey, RsaVerifyingKey, SignatureCheck, Validity, VerifyingKey,
};
pub use party::{KeyLookup, KeySource, Party, Policy, Subjects};
pub use profile::{Checks, ClientAuthProfile, GrantProfile, TypRule, ValidatedAssertion};
#[cfg(feature = "alloc")]
pub use registry::{Registry, RegistryError};
#[cfg(feature = "alloc")]
pub use replay::BoxedReplayStore;
pub use replay::{MemoryReplayStore, ReplayEntry, ReplayError, ReplayKey, ReplayStore};
pub use token_request::{
    ClientAuthentication, OtherClientAuthentication, TokenBuffers, TokenEndpoint, TokenError,
    TokenOutcome,
};

/// Every limit, in one place. Each constant is defined next to the code it bounds.
pub mod limits {
    pub use crate::claims::{MAX_AUDIENCE_VALUES, MAX_CLAIM_STRING_LEN, MAX_NUMERIC_DATE};
    #[cfg(feature = "claim-conditions")]
    pub use crate::conditions::{MAX_CLAIM_CONDITIONS, MAX_CONDITION_NAME_LEN};
    pub use crate::error::{MAX_DESCRIPTION_LEN, MAX_ERROR_BODY_LEN};
    pub use crate::form::{
        MAX_FORM_BODY_LEN, MAX_FORM_PARAMETERS, MAX_FORM_SHORT_VALUE_LEN, MAX_FORM_VALUE_LEN,
    };
    pub use crate::json::{MAX_JSON_DEPTH, MAX_JSON_MEMBERS, MAX_NUMBER_LEN};
    pub use crate::jws::{
        DECODE_BUFFER_LEN, MAX_HEADER_LEN, MAX_HEADER_STRING_LEN, MAX_PAYLOAD_LEN,
        MAX_SIGNATURE_LEN, MAX_TOKEN_LEN,
    };
    pub use crate::keys::{
        DEFAULT_KEY_SET_BYTES, MAX_CERTIFICATE_LEN, MAX_JWKS_KEYS, MAX_KEY_RECORD_LEN,
        MAX_KEY_TEXT_LEN, MAX_PUBLIC_EXPONENT, MAX_RSA_BITS, MAX_X509_MAP_MEMBERS, MIN_RSA_BITS,
    };
    #[cfg(feature = "alloc")]
    pub use crate::registry::{
        MAX_LEEWAY_SETTING, MAX_LIFETIME_SETTING, MAX_REGISTRY_LEN, MAX_REGISTRY_PARTIES,
    };
    pub use crate::remote_keys::{
        ABANDONED_AFTER, DEFAULT_MAX_AGE, FETCH_TIMEOUT, MAX_CLOCK_SKEW, MAX_DELTA_SECONDS,
        MAX_DOCUMENT_LEN, MAX_HOST_LEN, MAX_LABEL_LEN, MAX_MAX_AGE, MAX_RECORD_HEADER_LEN,
        MAX_RECORD_LEN, MAX_REMOTE_KEYS, MAX_URL_LEN, MIN_MAX_AGE, REFETCH_COOLDOWN, STALE_GRACE,
    };
    pub use crate::replay::{MAX_REPLAY_BUCKET_LEN, MAX_REPLAY_CAPACITY};
}

/// The README's Rust examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
