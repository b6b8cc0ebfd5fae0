//! One error model for every check, with a stable `reason` code and the OAuth mapping of
//! RFC 6749 §5.2, RFC 7521 §4.1.1 and §4.2.1.
//!
//! [`Error`] says why an assertion was refused. Its [`Reason`] is a stable snake_case code
//! (`expired`, `audience_mismatch`, …) meant for logs, metrics and scripts: codes are only ever
//! added, never renamed. The OAuth error a server sends depends on the *use* of the assertion
//! ([`Use`]): the same expired JWT is `invalid_grant` (HTTP 400) as an authorization grant and
//! `invalid_client` (HTTP 401) as client authentication.
//!
//! Descriptions ([`core::fmt::Display`]) name what failed and carry only numbers and fixed
//! words: never attacker-supplied text, so they are safe to log and to send. They also stay
//! within the character set RFC 6749 §5.2 allows in `error_description` (no `"` and no `\`).

use core::fmt;

use serde::Serialize;

/// Why an assertion, or a token request carrying one, was refused: the stable code.
///
/// The string forms ([`Reason::as_str`]) are part of the public contract.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Not a compact JWS, not canonical base64url, not JSON, or a JSON value of the wrong shape
    /// in the header.
    Malformed,
    /// A named limit ([`Limit`]) was exceeded.
    TooLarge,
    /// `alg` is not exactly `RS256` (RFC 8725 §3.1: the algorithm is fixed by the verifier).
    UnsupportedAlgorithm,
    /// A header parameter this verifier refuses to process (`crit`, `b64`, `zip`, nested `cty`).
    UnsupportedHeader,
    /// No trusted key matches the assertion (unknown issuer or client, or no key for the `kid`).
    UnknownKey,
    /// The RS256 signature does not verify under any candidate key.
    InvalidSignature,
    /// A claim that is required is absent.
    MissingClaim,
    /// A claim is present but has the wrong JSON type or an unusable value.
    InvalidClaim,
    /// `iss` is not a trusted issuer (or not the client id).
    IssuerMismatch,
    /// `sub` is not the expected subject (or not the client id).
    SubjectMismatch,
    /// `aud` does not name this authorization server as required.
    AudienceMismatch,
    /// `exp` has passed (leeway included).
    Expired,
    /// `nbf` is still in the future (leeway included).
    NotYetValid,
    /// `iat` is in the future (leeway included).
    IssuedInFuture,
    /// The assertion's lifetime is longer than the configured maximum.
    LifetimeTooLong,
    /// `iat` is older than the configured maximum age.
    TooOld,
    /// The (`iss`, `jti`) pair was already used.
    Replayed,
    /// The replay store is full of live entries and refuses new ones (fail closed).
    ReplayStoreFull,
    /// The `typ` header names another kind of JWT, or is absent or generic where the party
    /// requires `client-authentication+jwt` (RFC 10070).
    InvalidType,
    /// The token request itself is malformed (RFC 6749 §5.2 `invalid_request`).
    InvalidRequest,
    /// The grant type is not one this endpoint handles (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// The `client_assertion_type` is not the JWT bearer type (RFC 7521 §4.2).
    UnsupportedAssertionType,
    /// The client authenticated with a method this endpoint does not verify (a
    /// `client_secret`, an HTTP `Authorization` header), and the caller did not say it
    /// verifies that method itself: `invalid_client` rather than serving it as a public
    /// client.
    UnsupportedClientAuthentication,
    /// The party's keys are fetched (`jwks_uri`, discovery: [`remote_keys`](crate::remote_keys))
    /// and none are usable now (never fetched, or past their lifetime and
    /// [`STALE_GRACE`](crate::remote_keys::STALE_GRACE)): an outage, not a bad assertion.
    /// `temporarily_unavailable`, HTTP 503, with `Retry-After`
    /// ([`OAuthError::TemporarilyUnavailable`]).
    KeysUnavailable,
    /// A claim that one of the party's claim conditions names is missing, not a string, or
    /// not the required value ([`conditions`](crate::conditions)).
    ClaimMismatch,
}

impl Reason {
    /// Every reason, in declaration order (for exhaustive tests and documentation).
    pub const ALL: [Reason; 25] = [
        Reason::Malformed,
        Reason::TooLarge,
        Reason::UnsupportedAlgorithm,
        Reason::UnsupportedHeader,
        Reason::UnknownKey,
        Reason::InvalidSignature,
        Reason::MissingClaim,
        Reason::InvalidClaim,
        Reason::IssuerMismatch,
        Reason::SubjectMismatch,
        Reason::AudienceMismatch,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::IssuedInFuture,
        Reason::LifetimeTooLong,
        Reason::TooOld,
        Reason::Replayed,
        Reason::ReplayStoreFull,
        Reason::InvalidType,
        Reason::InvalidRequest,
        Reason::UnsupportedGrantType,
        Reason::UnsupportedAssertionType,
        Reason::UnsupportedClientAuthentication,
        Reason::KeysUnavailable,
        Reason::ClaimMismatch,
    ];

    /// The stable snake_case code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::TooLarge => "too_large",
            Reason::UnsupportedAlgorithm => "unsupported_algorithm",
            Reason::UnsupportedHeader => "unsupported_header",
            Reason::UnknownKey => "unknown_key",
            Reason::InvalidSignature => "invalid_signature",
            Reason::MissingClaim => "missing_claim",
            Reason::InvalidClaim => "invalid_claim",
            Reason::IssuerMismatch => "issuer_mismatch",
            Reason::SubjectMismatch => "subject_mismatch",
            Reason::AudienceMismatch => "audience_mismatch",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::IssuedInFuture => "issued_in_future",
            Reason::LifetimeTooLong => "lifetime_too_long",
            Reason::TooOld => "too_old",
            Reason::Replayed => "replayed",
            Reason::ReplayStoreFull => "replay_store_full",
            Reason::InvalidType => "invalid_type",
            Reason::InvalidRequest => "invalid_request",
            Reason::UnsupportedGrantType => "unsupported_grant_type",
            Reason::UnsupportedAssertionType => "unsupported_assertion_type",
            Reason::UnsupportedClientAuthentication => "unsupported_client_authentication",
            Reason::KeysUnavailable => "keys_unavailable",
            Reason::ClaimMismatch => "claim_mismatch",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A part of the compact serialization (RFC 7515 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// The JWS Protected Header.
    Header,
    /// The JWS Payload (the JWT Claims Set).
    Payload,
    /// The JWS Signature.
    Signature,
}

impl Part {
    const fn as_str(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        }
    }
}

/// What exactly was malformed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Malformed {
    /// Not exactly three `.`-separated segments (RFC 7515 §7.1).
    SegmentCount,
    /// A segment is empty where a value is required.
    EmptySegment(Part),
    /// A segment is not canonical unpadded base64url (RFC 7515 §2, §7.1).
    Base64(Part),
    /// A segment does not decode to UTF-8 (RFC 7519 §7.2 step 10).
    Utf8(Part),
    /// A segment is not valid JSON (RFC 8259).
    Json(Part),
    /// A segment is JSON but not an object (RFC 7515 §4, RFC 7519 §7.2 step 10).
    NotAnObject(Part),
    /// A member name appears twice in the header or claims set (RFC 7515 §5.2 step 4,
    /// RFC 7519 §4).
    DuplicateMember(Part),
    /// The header has no `alg` (RFC 7515 §4.1.1).
    MissingAlgorithm,
    /// A header parameter has the wrong JSON type.
    HeaderValue(HeaderParameter),
    /// The signature length differs from the modulus length (RFC 8017 §8.2.2 step 1).
    SignatureLength,
}

impl Malformed {
    fn describe(self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::SegmentCount => {
                f.write_str("not a compact JWS: expected three dot-separated segments")
            }
            Malformed::EmptySegment(part) => write!(f, "the {} segment is empty", part.as_str()),
            Malformed::Base64(part) => write!(
                f,
                "the {} segment is not canonical unpadded base64url",
                part.as_str()
            ),
            Malformed::Utf8(part) => write!(f, "the {} is not valid UTF-8", part.as_str()),
            Malformed::Json(part) => write!(f, "the {} is not valid JSON", part.as_str()),
            Malformed::NotAnObject(part) => {
                write!(f, "the {} is not a JSON object", part.as_str())
            }
            Malformed::DuplicateMember(part) => {
                write!(f, "the {} has a duplicate member name", part.as_str())
            }
            Malformed::MissingAlgorithm => f.write_str("the header has no alg parameter"),
            Malformed::HeaderValue(param) => write!(
                f,
                "the {} header parameter has the wrong type",
                param.as_str()
            ),
            Malformed::SignatureLength => {
                f.write_str("the signature length differs from the key's modulus length")
            }
        }
    }
}

/// A header parameter that can fail a check.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderParameter {
    /// `alg` (RFC 7515 §4.1.1).
    Alg,
    /// `kid` (RFC 7515 §4.1.4).
    Kid,
    /// `typ` (RFC 7515 §4.1.9).
    Typ,
    /// `cty` (RFC 7515 §4.1.10); `JWT` would mean a nested JWT (RFC 7519 §5.2).
    Cty,
    /// `crit` (RFC 7515 §4.1.11): no extension is understood, so any `crit` is refused.
    Crit,
    /// `b64` (RFC 7797): unencoded payloads are not JWTs.
    B64,
    /// `zip` (RFC 7516 §4.1.3): a JWE parameter, never valid on a JWS.
    Zip,
    /// `x5t#S256` (RFC 7515 §4.1.8): 32 bytes of base64url.
    X5tS256,
    /// `x5t` (RFC 7515 §4.1.7): 20 bytes of base64url.
    X5t,
}

impl HeaderParameter {
    /// The parameter name as it appears in the header.
    pub const fn as_str(self) -> &'static str {
        match self {
            HeaderParameter::Alg => "alg",
            HeaderParameter::Kid => "kid",
            HeaderParameter::Typ => "typ",
            HeaderParameter::Cty => "cty",
            HeaderParameter::Crit => "crit",
            HeaderParameter::B64 => "b64",
            HeaderParameter::Zip => "zip",
            HeaderParameter::X5tS256 => "x5t#S256",
            HeaderParameter::X5t => "x5t",
        }
    }
}

/// A claim that a check is about: a registered claim (RFC 7519 §4.1), or another one that a
/// party's claim conditions name ([`Claim::Other`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Claim {
    /// `iss` (RFC 7519 §4.1.1).
    Iss,
    /// `sub` (RFC 7519 §4.1.2).
    Sub,
    /// `aud` (RFC 7519 §4.1.3).
    Aud,
    /// `exp` (RFC 7519 §4.1.4).
    Exp,
    /// `nbf` (RFC 7519 §4.1.5).
    Nbf,
    /// `iat` (RFC 7519 §4.1.6).
    Iat,
    /// `jti` (RFC 7519 §4.1.7).
    Jti,
    /// A claim named by one of the party's claim conditions
    /// ([`conditions`](crate::conditions)): its name, from the configuration.
    #[cfg(feature = "claim-conditions")]
    Other(ClaimName),
}

/// The registered claims of RFC 7519 §4.1 this crate checks (and sets, when signing): the
/// governed claims of the claim conditions and of the signer's extra claims.
#[cfg(any(feature = "sign", feature = "claim-conditions"))]
pub(crate) const REGISTERED_CLAIMS: [Claim; 7] = [
    Claim::Iss,
    Claim::Sub,
    Claim::Aud,
    Claim::Exp,
    Claim::Nbf,
    Claim::Iat,
    Claim::Jti,
];

impl Claim {
    /// The claim name.
    pub fn as_str(&self) -> &str {
        match self {
            Claim::Iss => "iss",
            Claim::Sub => "sub",
            Claim::Aud => "aud",
            Claim::Exp => "exp",
            Claim::Nbf => "nbf",
            Claim::Iat => "iat",
            Claim::Jti => "jti",
            #[cfg(feature = "claim-conditions")]
            Claim::Other(name) => name.as_str(),
        }
    }
}

/// The name of a claim a party's condition names, held inline (at most
/// [`MAX_CONDITION_NAME_LEN`](crate::conditions::MAX_CONDITION_NAME_LEN) bytes), so that an
/// [`Error`] names it without a lifetime or the heap. It comes from the configuration, never
/// from a token.
#[cfg(feature = "claim-conditions")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimName {
    len: u8,
    bytes: [u8; crate::conditions::MAX_CONDITION_NAME_LEN],
}

#[cfg(feature = "claim-conditions")]
impl ClaimName {
    /// `name`, cut at the last character boundary within
    /// [`MAX_CONDITION_NAME_LEN`](crate::conditions::MAX_CONDITION_NAME_LEN) bytes (a
    /// condition's name is never longer: [`ClaimConditions`](crate::ClaimConditions) checks).
    pub fn new(name: &str) -> Self {
        let mut end = name.len().min(crate::conditions::MAX_CONDITION_NAME_LEN);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; crate::conditions::MAX_CONDITION_NAME_LEN];
        if let (Some(to), Some(from)) = (bytes.get_mut(..end), name.as_bytes().get(..end)) {
            to.copy_from_slice(from);
        }
        Self {
            // At most MAX_CONDITION_NAME_LEN (29): fits a u8.
            len: end as u8,
            bytes,
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        self.bytes
            .get(..usize::from(self.len))
            .and_then(|bytes| core::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }
}

#[cfg(feature = "claim-conditions")]
impl fmt::Debug for ClaimName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClaimName({:?})", self.as_str())
    }
}

/// How a claim failed a party's claim condition ([`Error::ClaimMismatch`]).
#[cfg(feature = "claim-conditions")]
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionProblem {
    /// The claim is absent.
    Missing,
    /// The claim is not a JSON string (a number, a boolean, `null`, an object, an array).
    NotAString,
    /// The claim's decoded string is not the required value.
    Different,
}

/// A named limit; each is a public constant next to the code it bounds (see [`crate::limits`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// [`crate::limits::MAX_TOKEN_LEN`] (or the smaller limit a policy sets).
    TokenLength,
    /// [`crate::limits::MAX_HEADER_LEN`].
    HeaderLength,
    /// [`crate::limits::MAX_PAYLOAD_LEN`].
    PayloadLength,
    /// [`crate::limits::MAX_SIGNATURE_LEN`].
    SignatureLength,
    /// [`crate::limits::MAX_CLAIM_STRING_LEN`] (or [`crate::limits::MAX_HEADER_STRING_LEN`]).
    StringLength,
    /// [`crate::limits::MAX_AUDIENCE_VALUES`].
    AudienceValues,
    /// [`crate::limits::MAX_JSON_DEPTH`].
    JsonDepth,
    /// [`crate::limits::MAX_JSON_MEMBERS`].
    JsonMembers,
    /// [`crate::limits::MAX_NUMBER_LEN`].
    NumberLength,
    /// [`crate::limits::MAX_FORM_BODY_LEN`].
    FormLength,
    /// [`crate::limits::MAX_FORM_PARAMETERS`].
    FormParameters,
    /// [`crate::limits::MAX_FORM_VALUE_LEN`].
    FormValueLength,
}

impl Limit {
    const fn as_str(self) -> &'static str {
        match self {
            Limit::TokenLength => "token length",
            Limit::HeaderLength => "decoded header length",
            Limit::PayloadLength => "decoded payload length",
            Limit::SignatureLength => "signature length",
            Limit::StringLength => "string length",
            Limit::AudienceValues => "number of aud values",
            Limit::JsonDepth => "JSON nesting depth",
            Limit::JsonMembers => "number of JSON members",
            Limit::NumberLength => "JSON number length",
            Limit::FormLength => "request body length",
            Limit::FormParameters => "number of request parameters",
            Limit::FormValueLength => "request parameter length",
        }
    }
}

/// Why an assertion was refused. See [`Reason`] for the stable codes.
///
/// Variants carry typed context (which claim, which limit, the times compared) and never
/// attacker-supplied text.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The token is not a well-formed compact JWS carrying a JSON object.
    Malformed(Malformed),
    /// A named limit was exceeded.
    TooLarge(Limit),
    /// `alg` is not one of the algorithms this crate verifies, not in the party's allow-list,
    /// or served by none of its keys (RFC 7518 §3.1, RFC 8725 §3.1).
    UnsupportedAlgorithm,
    /// The header carries a parameter this verifier refuses (RFC 7515 §4.1.11).
    UnsupportedHeader(HeaderParameter),
    /// No trusted key matches (unknown issuer or client, or an unknown `kid`).
    UnknownKey,
    /// The signature does not verify (deliberately without detail: no oracle).
    InvalidSignature,
    /// A required claim is absent (RFC 7523 §3, RFC 7519 §4.1).
    MissingClaim(Claim),
    /// A claim is present but unusable (wrong JSON type, empty, negative, out of range).
    InvalidClaim(Claim),
    /// `iss` is not trusted (RFC 7523 §3 item 1).
    IssuerMismatch,
    /// `sub` is not the expected subject or client id (RFC 7523 §3 item 2).
    SubjectMismatch,
    /// `aud` does not identify this authorization server as required (RFC 7523 §3 item 3,
    /// RFC 10070).
    AudienceMismatch,
    /// `exp` has passed: `now >= exp + leeway` (RFC 7523 §3 item 4).
    Expired {
        /// The `exp` claim (whole seconds, rounded up).
        exp: u64,
        /// The time of the check.
        now: u64,
        /// The allowed clock skew in seconds.
        leeway: u64,
    },
    /// `nbf` is in the future: `nbf > now + leeway` (RFC 7523 §3 item 5).
    NotYetValid {
        /// The `nbf` claim (whole seconds, rounded up).
        nbf: u64,
        /// The time of the check.
        now: u64,
        /// The allowed clock skew in seconds.
        leeway: u64,
    },
    /// `iat` is in the future: `iat > now + leeway` (RFC 7523 §3 item 6).
    IssuedInFuture {
        /// The `iat` claim (whole seconds, rounded up).
        iat: u64,
        /// The time of the check.
        now: u64,
        /// The allowed clock skew in seconds.
        leeway: u64,
    },
    /// The lifetime (`exp − iat`, or `exp − now` without `iat`) exceeds the policy's maximum
    /// (RFC 7523 §3 item 4: "MAY reject assertions with an exp claim value that is
    /// unreasonably far in the future").
    LifetimeTooLong {
        /// The lifetime found, in seconds.
        lifetime: u64,
        /// The policy's maximum, in seconds.
        max: u64,
    },
    /// `iat` is older than the policy's maximum age (RFC 7523 §3 item 6).
    TooOld {
        /// The age found (`now − iat`), in seconds.
        age: u64,
        /// The policy's maximum, in seconds (the leeway is added before comparing).
        max: u64,
    },
    /// The (`iss`, `jti`) pair was seen before and has not expired (RFC 7523 §3 item 7).
    Replayed,
    /// The replay store is full of live entries: refused rather than forgetting one early.
    ReplayStoreFull,
    /// `typ` names another kind of JWT, or is absent or generic where the policy requires
    /// `client-authentication+jwt` (RFC 10070, RFC 8725 §3.11).
    InvalidType(TypProblem),
    /// The party's keys are fetched ([`KeySource::Fetched`](crate::KeySource::Fetched)) and
    /// none are usable at `now`: never fetched, or past their lifetime and
    /// [`STALE_GRACE`](crate::remote_keys::STALE_GRACE). The assertion was not judged: an
    /// outage, not a bad assertion (`temporarily_unavailable`, HTTP 503, see
    /// [`OAuthError::TemporarilyUnavailable`]).
    KeysUnavailable {
        /// Seconds until the keys are fetched again (the HTTP `Retry-After`), when the layer
        /// that fetches them said so ([`Error::with_retry_after`]); the core alone does not
        /// know.
        retry_after: Option<u64>,
    },
    /// The party's keys are fetched and none of them is the key the header names (`kid`,
    /// `x5t#S256`, `x5t`). Reason `unknown_key`, as [`Error::UnknownKey`]; the distinct
    /// variant tells a layer that fetches the keys that a refetch may bring the key (a
    /// rotation): it asks its [`KeyCache`](crate::remote_keys::KeyCache) with
    /// [`Need::UnknownKey`](crate::remote_keys::Need::UnknownKey) (at most one fetch per
    /// [`REFETCH_COOLDOWN`](crate::remote_keys::REFETCH_COOLDOWN)) and validates again.
    UnknownRemoteKey,
    /// A claim that one of the party's claim conditions names is missing, not a string, or
    /// not the required value ([`conditions`](crate::conditions)); checked after the
    /// signature and the standard claims. Carries the claim's name (from the configuration),
    /// never the token's value.
    #[cfg(feature = "claim-conditions")]
    ClaimMismatch {
        /// The claim the failed condition names.
        claim: ClaimName,
        /// How it failed.
        problem: ConditionProblem,
    },
}

/// What is wrong with a `typ` header.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypProblem {
    /// Absent, where the party requires `client-authentication+jwt`.
    Missing,
    /// The generic `JWT`, where the party requires `client-authentication+jwt`.
    NotExplicit,
    /// Another explicit type (`at+jwt`, `secevent+jwt`, … or, for a grant,
    /// `client-authentication+jwt`): the token is meant for something else.
    AnotherType,
}

impl Error {
    /// The stable reason code.
    pub const fn reason(&self) -> Reason {
        match self {
            Error::Malformed(_) => Reason::Malformed,
            Error::TooLarge(_) => Reason::TooLarge,
            Error::UnsupportedAlgorithm => Reason::UnsupportedAlgorithm,
            Error::UnsupportedHeader(_) => Reason::UnsupportedHeader,
            Error::UnknownKey => Reason::UnknownKey,
            Error::InvalidSignature => Reason::InvalidSignature,
            Error::MissingClaim(_) => Reason::MissingClaim,
            Error::InvalidClaim(_) => Reason::InvalidClaim,
            Error::IssuerMismatch => Reason::IssuerMismatch,
            Error::SubjectMismatch => Reason::SubjectMismatch,
            Error::AudienceMismatch => Reason::AudienceMismatch,
            Error::Expired { .. } => Reason::Expired,
            Error::NotYetValid { .. } => Reason::NotYetValid,
            Error::IssuedInFuture { .. } => Reason::IssuedInFuture,
            Error::LifetimeTooLong { .. } => Reason::LifetimeTooLong,
            Error::TooOld { .. } => Reason::TooOld,
            Error::Replayed => Reason::Replayed,
            Error::ReplayStoreFull => Reason::ReplayStoreFull,
            Error::InvalidType(_) => Reason::InvalidType,
            Error::KeysUnavailable { .. } => Reason::KeysUnavailable,
            Error::UnknownRemoteKey => Reason::UnknownKey,
            #[cfg(feature = "claim-conditions")]
            Error::ClaimMismatch { .. } => Reason::ClaimMismatch,
        }
    }

    /// Seconds until the party's keys are fetched again, for `keys_unavailable` when the layer
    /// said ([`with_retry_after`](Self::with_retry_after)): the HTTP `Retry-After`.
    pub const fn retry_after(&self) -> Option<u64> {
        match self {
            Error::KeysUnavailable { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// The same error, with `retry_after` seconds (at least 1) until the keys are fetched
    /// again when it is `keys_unavailable` ([`Unavailable::retry_after`] of the layer's
    /// cache); any other error unchanged.
    ///
    /// [`Unavailable::retry_after`]: crate::remote_keys::Unavailable::retry_after
    #[must_use]
    pub const fn with_retry_after(self, retry_after: u64) -> Self {
        match self {
            Error::KeysUnavailable { .. } => Error::KeysUnavailable {
                retry_after: Some(if retry_after == 0 { 1 } else { retry_after }),
            },
            other => other,
        }
    }

    /// The claim this error is about, where there is one.
    pub const fn claim(&self) -> Option<Claim> {
        match self {
            Error::MissingClaim(c) | Error::InvalidClaim(c) => Some(*c),
            Error::IssuerMismatch => Some(Claim::Iss),
            Error::SubjectMismatch => Some(Claim::Sub),
            Error::AudienceMismatch => Some(Claim::Aud),
            Error::Expired { .. } | Error::LifetimeTooLong { .. } => Some(Claim::Exp),
            Error::NotYetValid { .. } => Some(Claim::Nbf),
            Error::IssuedInFuture { .. } | Error::TooOld { .. } => Some(Claim::Iat),
            Error::Replayed => Some(Claim::Jti),
            #[cfg(feature = "claim-conditions")]
            Error::ClaimMismatch { claim, .. } => Some(Claim::Other(*claim)),
            _ => None,
        }
    }

    /// The OAuth error for this failure when the assertion was used as `use_`
    /// (RFC 7521 §4.1.1: `invalid_grant`; §4.2.1: `invalid_client`), except
    /// `keys_unavailable`: `temporarily_unavailable` for both uses, since the assertion was
    /// not judged ([`OAuthError::TemporarilyUnavailable`] argues it).
    pub const fn oauth_error(&self, use_: Use) -> OAuthError {
        match self {
            Error::KeysUnavailable { .. } => OAuthError::TemporarilyUnavailable,
            _ => use_.failure(),
        }
    }

    /// The RFC 6749 §5.2 error response for this failure (with its `Retry-After`, if any).
    pub fn response(&self, use_: Use) -> ErrorResponse {
        ErrorResponse::new(self.oauth_error(use_), self).with_retry_after(self.retry_after())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Malformed(m) => m.describe(f),
            Error::TooLarge(limit) => write!(f, "the {} limit was exceeded", limit.as_str()),
            Error::UnsupportedAlgorithm => {
                f.write_str("the alg is not one this party's keys accept")
            }
            Error::UnsupportedHeader(p) => {
                write!(f, "the {} header parameter is not supported", p.as_str())
            }
            Error::UnknownKey => f.write_str("no trusted key matches the assertion"),
            Error::InvalidSignature => f.write_str("invalid signature"),
            Error::MissingClaim(c) => write!(f, "the {} claim is missing", c.as_str()),
            Error::InvalidClaim(c) => write!(f, "the {} claim is invalid", c.as_str()),
            Error::IssuerMismatch => {
                f.write_str("the iss claim is not a trusted issuer or the client id")
            }
            Error::SubjectMismatch => f.write_str("the sub claim is not the expected subject"),
            Error::AudienceMismatch => {
                f.write_str("the aud claim does not identify this authorization server")
            }
            Error::Expired { exp, now, leeway } => write!(
                f,
                "the assertion expired {} s ago (leeway {} s)",
                now.saturating_sub(exp),
                leeway
            ),
            Error::NotYetValid { nbf, now, leeway } => write!(
                f,
                "the assertion is not valid for another {} s (leeway {} s)",
                nbf.saturating_sub(now),
                leeway
            ),
            Error::IssuedInFuture { iat, now, leeway } => write!(
                f,
                "the assertion was issued {} s in the future (leeway {} s)",
                iat.saturating_sub(now),
                leeway
            ),
            Error::LifetimeTooLong { lifetime, max } => write!(
                f,
                "the assertion lifetime of {lifetime} s exceeds the maximum of {max} s"
            ),
            Error::TooOld { age, max } => write!(
                f,
                "the assertion was issued {age} s ago, more than the maximum age of {max} s"
            ),
            Error::Replayed => f.write_str("the assertion was already used (jti replay)"),
            Error::ReplayStoreFull => {
                f.write_str("the replay cache is full; the assertion cannot be accepted now")
            }
            Error::InvalidType(TypProblem::Missing) => f.write_str(
                "the typ header is missing; this client must send client-authentication+jwt",
            ),
            Error::InvalidType(TypProblem::NotExplicit) => f.write_str(
                "the typ header is JWT; this client must send client-authentication+jwt",
            ),
            Error::InvalidType(TypProblem::AnotherType) => {
                f.write_str("the typ header names another kind of token")
            }
            Error::KeysUnavailable { retry_after } => {
                f.write_str("the party's keys cannot be fetched now")?;
                match retry_after {
                    Some(seconds) => write!(f, "; retry in {seconds} s"),
                    None => Ok(()),
                }
            }
            // The same words as `UnknownKey`: the same verdict, told apart only in the type.
            Error::UnknownRemoteKey => f.write_str("no trusted key matches the assertion"),
            #[cfg(feature = "claim-conditions")]
            Error::ClaimMismatch { claim, problem } => write!(
                f,
                "the {} claim {}",
                claim.as_str(),
                match problem {
                    ConditionProblem::Missing => "is missing",
                    ConditionProblem::NotAString => "is not a string",
                    ConditionProblem::Different => "is not the required value",
                }
            ),
        }
    }
}

impl core::error::Error for Error {}

/// The two uses of an assertion that RFC 7523 keeps apart (§2.1 and §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Use {
    /// The JWT is an authorization grant (RFC 7523 §2.1): failures are `invalid_grant`.
    AuthorizationGrant,
    /// The JWT authenticates the client (RFC 7523 §2.2): failures are `invalid_client`.
    ClientAuthentication,
}

impl Use {
    /// The OAuth error every assertion failure maps to for this use.
    pub const fn failure(self) -> OAuthError {
        match self {
            Use::AuthorizationGrant => OAuthError::InvalidGrant,
            Use::ClientAuthentication => OAuthError::InvalidClient,
        }
    }

    /// `grant` or `client_authentication`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Use::AuthorizationGrant => "grant",
            Use::ClientAuthentication => "client_authentication",
        }
    }
}

/// The token endpoint error codes this crate produces (RFC 6749 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OAuthError {
    /// `invalid_request`, HTTP 400.
    InvalidRequest,
    /// `invalid_client`, HTTP 401 (RFC 6749 §5.2 allows 400; 401 is what clients expect
    /// when authentication failed, and the server should send `WWW-Authenticate` only for
    /// HTTP authentication schemes).
    InvalidClient,
    /// `invalid_grant`, HTTP 400.
    InvalidGrant,
    /// `unsupported_grant_type`, HTTP 400.
    UnsupportedGrantType,
    /// `temporarily_unavailable`, HTTP 503 (with `Retry-After` when known): the assertion's
    /// party's keys cannot be had ([`Reason::KeysUnavailable`]), for both uses.
    ///
    /// RFC 6749 §5.2 lists no code for a server that cannot judge a request now: each of its
    /// codes asserts something false during an outage (`invalid_grant`: the grant "is
    /// invalid, expired, revoked"; `invalid_client`: "client authentication failed"), and
    /// clients act on them (discard the credential, rotate the key, stop retrying). The status
    /// is §5.2's 400 "unless specified otherwise"; a server that cannot serve the request now
    /// answers 503 (RFC 9110 §15.6.4) with `Retry-After` (RFC 9110 §10.2.3). The code is the
    /// one RFC 6749 §4.1.2.1 defines for the authorization endpoint ("temporarily unable to
    /// handle the request due to a temporary overloading or maintenance"), which exists there
    /// only because a 503 cannot be returned through a redirect; at the token endpoint the 503
    /// itself can, and the same code in the body serves clients that read only the JSON.
    /// Deployed token endpoints (Microsoft Entra ID) return it; RFC 6749 §8.5 would allow a
    /// new code, but no client would understand an unregistered one.
    TemporarilyUnavailable,
}

impl OAuthError {
    /// The `error` code.
    pub const fn code(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant => "invalid_grant",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The HTTP status code.
    pub const fn status(self) -> u16 {
        match self {
            OAuthError::InvalidClient => 401,
            OAuthError::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Maximum length of an `error_description` in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 160;

/// Maximum length of a rendered RFC 6749 §5.2 JSON body in bytes.
pub const MAX_ERROR_BODY_LEN: usize = MAX_DESCRIPTION_LEN + 64;

/// An RFC 6749 §5.2 error response, held in fixed buffers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorResponse {
    error: OAuthError,
    description: heapless::String<MAX_DESCRIPTION_LEN>,
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl ErrorResponse {
    /// Builds the response, with `detail`'s [`Display`](fmt::Display) as the description
    /// (cut at [`MAX_DESCRIPTION_LEN`] on a character boundary, characters outside
    /// RFC 6749 §5.2's set replaced by `?`).
    pub fn new(error: OAuthError, detail: &dyn fmt::Display) -> Self {
        let mut description = heapless::String::new();
        let mut sink = DescriptionSink(&mut description);
        // A description that does not fit is cut short: that is the sink's documented effect,
        // so the formatting error it reports carries no information.
        let _ = fmt::write(&mut sink, format_args!("{detail}"));
        Self {
            error,
            description,
            retry_after: None,
        }
    }

    /// The same response with an HTTP `Retry-After` of `retry_after` seconds (RFC 9110
    /// §10.2.3), or none.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Option<u64>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// The HTTP `Retry-After` header's value in seconds, when the response has one
    /// (`temporarily_unavailable` for `keys_unavailable`, when the layer knows when it fetches
    /// again).
    pub const fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The OAuth error.
    pub const fn error(&self) -> OAuthError {
        self.error
    }

    /// The HTTP status.
    pub const fn status(&self) -> u16 {
        self.error.status()
    }

    /// The `error_description`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Renders `{"error":"…","error_description":"…"}` without heap allocation.
    pub fn to_json(&self) -> heapless::String<MAX_ERROR_BODY_LEN> {
        let mut buf = [0u8; MAX_ERROR_BODY_LEN];
        let body = ErrorBody {
            error: self.error.code(),
            error_description: &self.description,
        };
        let mut out = heapless::String::new();
        // The body is bounded: a fixed code, a description of at most MAX_DESCRIPTION_LEN
        // bytes from a character set that needs no escaping, and 33 bytes of punctuation.
        if let Ok(len) = serde_json_core::to_slice(&body, &mut buf) {
            if let Some(Ok(text)) = buf.get(..len).map(core::str::from_utf8) {
                let _ = out.push_str(text);
            }
        }
        out
    }
}

/// Writes into the description buffer, keeping to RFC 6749 §5.2's character set
/// (%x20-21 / %x23-5B / %x5D-7E) and stopping silently when full.
struct DescriptionSink<'a>(&'a mut heapless::String<MAX_DESCRIPTION_LEN>);

impl fmt::Write for DescriptionSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let allowed = matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
            if self.0.push(if allowed { c } else { '?' }).is_err() {
                return Err(fmt::Error);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_unique_snake_case() {
        for (i, a) in Reason::ALL.iter().enumerate() {
            let s = a.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            for b in &Reason::ALL[i + 1..] {
                assert_ne!(s, b.as_str());
            }
        }
    }

    #[test]
    fn oauth_mapping_depends_on_use() {
        let e = Error::Expired {
            exp: 10,
            now: 50,
            leeway: 5,
        };
        assert_eq!(
            e.oauth_error(Use::AuthorizationGrant).code(),
            "invalid_grant"
        );
        assert_eq!(e.oauth_error(Use::AuthorizationGrant).status(), 400);
        assert_eq!(
            e.oauth_error(Use::ClientAuthentication).code(),
            "invalid_client"
        );
        assert_eq!(e.oauth_error(Use::ClientAuthentication).status(), 401);
    }

    #[test]
    fn error_body_renders_without_escapes() {
        let e = Error::Expired {
            exp: 10,
            now: 52,
            leeway: 30,
        };
        let body = e.response(Use::ClientAuthentication).to_json();
        assert_eq!(
            body.as_str(),
            r#"{"error":"invalid_client","error_description":"the assertion expired 42 s ago (leeway 30 s)"}"#
        );
    }

    #[test]
    fn largest_descriptions_fit() {
        let e = Error::TooOld {
            age: u64::MAX,
            max: u64::MAX,
        };
        let r = e.response(Use::AuthorizationGrant);
        assert!(r.description().ends_with("18446744073709551615 s"));
        let json = r.to_json();
        assert!(json.ends_with("\"}"), "{json}");
    }

    /// `keys_unavailable` is 503 `temporarily_unavailable` for both uses, with the layer's
    /// `Retry-After` when it gave one (at least 1 s); every other error keeps its mapping and
    /// has none. `UnknownRemoteKey` is `unknown_key` in every respect but its type.
    #[test]
    fn keys_unavailable_mapping() {
        let unavailable = Error::KeysUnavailable { retry_after: None };
        let words = "the party's keys cannot be fetched now";
        for use_ in [Use::AuthorizationGrant, Use::ClientAuthentication] {
            for (error, retry_after, description) in [
                (unavailable, None, words.to_string()),
                (
                    unavailable.with_retry_after(30),
                    Some(30),
                    format!("{words}; retry in 30 s"),
                ),
                (
                    unavailable.with_retry_after(0),
                    Some(1),
                    format!("{words}; retry in 1 s"),
                ),
                (
                    unavailable.with_retry_after(u64::MAX),
                    Some(u64::MAX),
                    format!("{words}; retry in {} s", u64::MAX),
                ),
            ] {
                assert_eq!(error.reason(), Reason::KeysUnavailable);
                assert_eq!(error.retry_after(), retry_after);
                let response = error.response(use_);
                assert_eq!(response.status(), 503);
                assert_eq!(response.error(), OAuthError::TemporarilyUnavailable);
                assert_eq!(response.retry_after(), retry_after);
                assert_eq!(response.description(), description);
                assert_eq!(
                    response.to_json().as_str(),
                    format!(
                        r#"{{"error":"temporarily_unavailable","error_description":"{description}"}}"#
                    )
                );
            }
        }
        for other in [Error::Replayed, Error::UnknownKey, Error::UnknownRemoteKey] {
            assert_eq!(other.with_retry_after(5), other);
            assert_eq!(other.retry_after(), None);
            assert_eq!(other.response(Use::AuthorizationGrant).retry_after(), None);
        }
        let remote = Error::UnknownRemoteKey;
        assert_eq!(remote.reason(), Reason::UnknownKey);
        assert_eq!(remote.to_string(), Error::UnknownKey.to_string());
        for use_ in [Use::AuthorizationGrant, Use::ClientAuthentication] {
            assert_eq!(remote.response(use_), Error::UnknownKey.response(use_));
        }
        assert_eq!(Reason::ALL.get(23), Some(&Reason::KeysUnavailable));
        assert_eq!(Reason::KeysUnavailable.as_str(), "keys_unavailable");
    }

    /// `claim_mismatch` names the claim (from the configuration) in the error, its `claim()`
    /// and the description, never a value; `invalid_grant` for grants, `invalid_client` for
    /// client authentication.
    #[test]
    #[cfg(feature = "claim-conditions")]
    fn claim_mismatch_mapping() {
        let longest = "n".repeat(crate::conditions::MAX_CONDITION_NAME_LEN);
        for (problem, words) in [
            (ConditionProblem::Missing, "claim is missing"),
            (ConditionProblem::NotAString, "claim is not a string"),
            (
                ConditionProblem::Different,
                "claim is not the required value",
            ),
        ] {
            for name in ["repository", longest.as_str()] {
                let error = Error::ClaimMismatch {
                    claim: ClaimName::new(name),
                    problem,
                };
                assert_eq!(error.reason(), Reason::ClaimMismatch);
                assert_eq!(error.reason().as_str(), "claim_mismatch");
                assert_eq!(error.claim().as_ref().map(Claim::as_str), Some(name));
                let description = format!("the {name} {words}");
                assert_eq!(error.to_string(), description);
                let grant = error.response(Use::AuthorizationGrant);
                assert_eq!(
                    (grant.error(), grant.status()),
                    (OAuthError::InvalidGrant, 400)
                );
                assert_eq!(grant.description(), description);
                let client = error.response(Use::ClientAuthentication);
                assert_eq!(
                    (client.error(), client.status()),
                    (OAuthError::InvalidClient, 401)
                );
            }
        }
        // Cut on a character boundary, never longer than the limit.
        let accented = "\u{e9}".repeat(20);
        let cut = ClaimName::new(&accented);
        assert_eq!(cut.as_str(), "\u{e9}".repeat(14));
        assert_eq!(Reason::ALL.last(), Some(&Reason::ClaimMismatch));
    }

    /// Every result on the verify path carries an `Error`: the claim name it may hold keeps
    /// it at the size of its largest other variant (`Expired`: three `u64`).
    #[test]
    fn error_stays_small() {
        assert_eq!(core::mem::size_of::<Error>(), 32);
    }

    #[test]
    fn description_sink_replaces_forbidden_characters() {
        let r = ErrorResponse::new(OAuthError::InvalidRequest, &"a\"b\\c\u{e9}");
        assert_eq!(r.description(), "a?b?c?");
    }
}
