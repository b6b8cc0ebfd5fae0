//! JWS Compact Serialization (RFC 7515 §7.1) with the protected header of RFC 7515 §4, as a
//! typestate: [`UnverifiedAssertion`] → [`UnverifiedAssertion::verify`] →
//! [`VerifiedAssertion`]. The claims are readable only from a [`VerifiedAssertion`].
//!
//! Header rules (RFC 7515 §4.1, RFC 8725 §3.1–3.2):
//! - `alg` must be exactly one of `RS256`, `PS256`, `ES256`, `EdDSA`, `Ed25519`
//!   (case-sensitive): `none`, `HS*`, `RS384`, … are [`Error::UnsupportedAlgorithm`]. It must
//!   also be in the party's allow-list and be the one algorithm of the key that verifies it
//!   ([`keys`](crate::keys)): the token names the algorithm, the keys decide whether it may.
//! - `crit` (any value), `b64` (RFC 7797), `zip` (a JWE parameter) and `cty: JWT` (a nested
//!   JWT, RFC 7519 §5.2) are [`Error::UnsupportedHeader`].
//! - `jku`, `x5u`, `jwk` and `x5c` are never fetched and never trusted: keys come only from
//!   the caller's [`KeyStore`]. `kid`, `x5t#S256` and `x5t` only select among those keys
//!   ([`KeyRef::selected_by`]).

use crate::alg::{Algorithm, Algorithms, VerifyFailure};
use crate::base64url::{self, DecodeError};
use crate::claims::{ClaimStr, Claims};
use crate::error::{Error, HeaderParameter, Limit, Malformed, Part};
use crate::json::{self, JsonError, Value};
use crate::keys::{KeyHint, KeyRef, KeyStore, Keys, X5T_LEN, X5T_S256_LEN};
use crate::party::KeyLookup;

/// Longest compact JWS accepted, in bytes (the default for every policy; a policy may set a
/// smaller limit with [`Checks::max_token_len`](crate::Checks::max_token_len)).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Longest decoded protected header accepted, in bytes.
pub const MAX_HEADER_LEN: usize = 1024;

/// Longest decoded payload (claims set) accepted, in bytes: what [`MAX_TOKEN_LEN`] can carry.
/// Implied by the token limit (a longer payload makes a longer token), so the token-length
/// boundary test covers it; the decoder still checks it before writing.
pub const MAX_PAYLOAD_LEN: usize = MAX_TOKEN_LEN / 4 * 3;

/// Longest signature accepted, in bytes: the modulus length of a [`MAX_RSA_BITS`] key.
///
/// [`MAX_RSA_BITS`]: crate::keys::MAX_RSA_BITS
pub const MAX_SIGNATURE_LEN: usize = crate::keys::MAX_RSA_BITS / 8;

/// Longest `kid`, `typ` or `cty` header value accepted, in bytes.
pub const MAX_HEADER_STRING_LEN: usize = 128;

/// A short header string (`kid`, `typ`).
pub type HeaderString = heapless::String<MAX_HEADER_STRING_LEN>;

/// The protected header fields this crate uses, as spans over the decoded header (each at
/// most [`MAX_HEADER_STRING_LEN`] bytes once decoded, so [`ClaimStr::decode`] fits a
/// [`HeaderString`]), with the algorithm and the certificate thumbprints, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'b> {
    alg: Algorithm,
    kid: Option<ClaimStr<'b>>,
    typ: Option<ClaimStr<'b>>,
    x5t_s256: Option<[u8; X5T_S256_LEN]>,
    x5t: Option<[u8; X5T_LEN]>,
}

impl<'b> Header<'b> {
    /// The `kid` (RFC 7515 §4.1.4), if present.
    pub fn kid(&self) -> Option<ClaimStr<'b>> {
        self.kid
    }

    /// The `typ` (RFC 7515 §4.1.9), if present.
    pub fn typ(&self) -> Option<ClaimStr<'b>> {
        self.typ
    }

    /// The algorithm's name, as the header carries it.
    pub const fn alg(&self) -> &'static str {
        self.alg.as_str()
    }

    /// The algorithm.
    pub const fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// What the header says about its key: `kid` (decoded into `kid`), `x5t#S256`, `x5t`
    /// (RFC 7515 §4.1.4, §4.1.7–8), to choose among the party's keys.
    pub fn key_hint<'h>(&'h self, kid: &'h mut HeaderString) -> KeyHint<'h> {
        KeyHint {
            kid: self.kid.map(|k| k.decode(kid)),
            x5t_s256: self.x5t_s256.as_ref(),
            x5t: self.x5t.as_ref(),
        }
    }
}

/// Room for one assertion's decoded parts, in bytes: what the longest token
/// ([`MAX_TOKEN_LEN`]) decodes to. The three segments of a compact JWS (RFC 7515 §7.1) are at
/// most `MAX_TOKEN_LEN − 2` base64url characters in all, and every 4 characters decode to at
/// most 3 bytes, so the decoded header, payload and signature always fit together.
pub const DECODE_BUFFER_LEN: usize = MAX_TOKEN_LEN / 4 * 3;

const _: () = assert!(DECODE_BUFFER_LEN >= crate::base64url::decoded_len(MAX_TOKEN_LEN - 2));

/// Where one assertion's decoded header, payload and signature live while it is verified and
/// after: [`UnverifiedAssertion`], [`VerifiedAssertion`] and the claims borrow it instead of
/// copying the token into fixed buffers of their own.
///
/// [`DECODE_BUFFER_LEN`] bytes (6 KiB). It belongs to the caller, who chooses where it lives:
/// a local (`let mut buffer = DecodeBuffer::new();`), a `static` of a firmware (the
/// constructor is `const`), or a `Box` for a long-lived result. It can be reused for the
/// next assertion once the previous result is dropped; nothing in it needs clearing.
#[derive(Clone)]
pub struct DecodeBuffer {
    bytes: [u8; DECODE_BUFFER_LEN],
}

impl DecodeBuffer {
    /// A buffer for one assertion.
    pub const fn new() -> Self {
        Self {
            bytes: [0; DECODE_BUFFER_LEN],
        }
    }
}

impl Default for DecodeBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for DecodeBuffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DecodeBuffer")
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// A compact JWS whose structure and header were checked, but whose signature was not.
/// Nothing in it is trustworthy yet. It borrows the token (`'t`) and the [`DecodeBuffer`]
/// holding its decoded parts (`'b`).
#[derive(Clone, Debug)]
pub struct UnverifiedAssertion<'t, 'b> {
    signing_input: &'t str,
    header: Header<'b>,
    header_json: &'b [u8],
    payload: &'b [u8],
    signature: &'b [u8],
}

impl<'t, 'b> UnverifiedAssertion<'t, 'b> {
    /// Parses a compact JWS with the default length limit ([`MAX_TOKEN_LEN`]), decoding its
    /// parts into `buffer`.
    pub fn parse(token: &'t str, buffer: &'b mut DecodeBuffer) -> Result<Self, Error> {
        Self::parse_with_limit(token, MAX_TOKEN_LEN, buffer)
    }

    /// Parses a compact JWS no longer than `max_len` bytes (capped at [`MAX_TOKEN_LEN`]),
    /// decoding its parts into `buffer`.
    pub fn parse_with_limit(
        token: &'t str,
        max_len: usize,
        buffer: &'b mut DecodeBuffer,
    ) -> Result<Self, Error> {
        if token.len() > max_len.min(MAX_TOKEN_LEN) {
            return Err(Error::TooLarge(Limit::TokenLength));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Malformed(Malformed::SegmentCount));
        };
        let signing_input = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or(Error::Malformed(Malformed::SegmentCount))?;

        let rest: &'b mut [u8] = &mut buffer.bytes;
        let (header_json, rest) = decode_segment(header_b64, Part::Header, rest)?;
        let header = parse_header(header_json)?;
        // RFC 7515 §7.1 allows an empty payload (Appendix F); as a JWT it then fails at
        // claims parsing, after the signature.
        let (payload, rest) = if payload_b64.is_empty() {
            (&[][..], rest)
        } else {
            decode_segment(payload_b64, Part::Payload, rest)?
        };
        let (signature, _) = decode_segment(signature_b64, Part::Signature, rest)?;
        Ok(Self {
            signing_input,
            header,
            header_json,
            payload,
            signature,
        })
    }

    /// The checked header.
    pub fn header(&self) -> &Header<'b> {
        &self.header
    }

    /// The decoded header JSON (unverified).
    pub fn header_json(&self) -> &'b [u8] {
        self.header_json
    }

    /// The `iss` claim, read **before** verification, only to choose whose keys to verify
    /// with (RFC 7523 §3 item 1: the issuer identifies the key). Never use it for anything
    /// else: the claims are checked after [`verify`](Self::verify).
    pub fn issuer_hint(&self) -> Result<ClaimStr<'b>, Error> {
        crate::claims::issuer_hint(self.payload)
    }

    /// The decoded payload bytes, **unverified**: for debugging tools only.
    pub fn unverified_payload(&self) -> &'b [u8] {
        self.payload
    }

    /// Verifies the signature (RFC 7515 §5.2 step 8) with the keys of `keys` that serve the
    /// header's `alg` and that its `kid` (or thumbprint) selects ([`KeyRef::selected_by`]),
    /// every algorithm allowed.
    pub fn verify<const N: usize>(
        self,
        keys: &KeyStore<N>,
    ) -> Result<VerifiedAssertion<'b>, Error> {
        // No party: the lookup's cryptography is this crate's own.
        let own: &[crate::Party<'_>] = &[];
        self.verify_using(keys.keys(), Algorithms::ALL, &own)
    }

    /// [`verify`](Self::verify) with the party's allow-list and `lookup`'s cryptography
    /// ([`KeyLookup::rsavp1`], [`KeyLookup::verify_signature`]).
    pub(crate) fn verify_using(
        self,
        keys: Keys<'_>,
        allowed: Algorithms,
        lookup: &dyn KeyLookup,
    ) -> Result<VerifiedAssertion<'b>, Error> {
        let alg = self.header.alg;
        // RFC 8725 §3.1: the party's allow-list, before any key is tried.
        if !allowed.contains(alg) {
            return Err(Error::UnsupportedAlgorithm);
        }
        // The SHA-256 of the signing input, once, when this crate's own RS256, PS256 or ES256
        // needs it (Ed25519 hashes the message itself; a lookup that decides needs none).
        let digest = core::cell::Cell::new(None);
        let mut serving = 0usize;
        let mut tried = 0usize;
        let mut only_length_failures = true;
        let mut verified_by: Option<KeyRef<'_>> = None;
        let mut kid = HeaderString::new();
        let hint = self.header.key_hint(&mut kid);
        for key in keys.iter() {
            // One algorithm per key: a key of another type, or pinned to another algorithm,
            // is not a candidate at all.
            if !key.serves_algorithm(alg, allowed) {
                continue;
            }
            serving += 1;
            if !key.selected_by(&hint) {
                continue;
            }
            tried += 1;
            let signature = self.signature;
            let message = self.signing_input.as_bytes();
            let outcome = key.verify(alg, message, &digest, signature, lookup);
            match outcome {
                Ok(()) => {
                    verified_by = Some(key);
                    break;
                }
                Err(VerifyFailure::Length) => {}
                Err(VerifyFailure::Invalid) => only_length_failures = false,
            }
        }
        match verified_by {
            Some(key) => Ok(VerifiedAssertion {
                header: self.header,
                header_json: self.header_json,
                payload: self.payload,
                key_id: key.kid().and_then(|kid| HeaderString::try_from(kid).ok()),
            }),
            None if serving == 0 => Err(Error::UnsupportedAlgorithm),
            None if tried == 0 => Err(Error::UnknownKey),
            None if only_length_failures => Err(Error::Malformed(Malformed::SignatureLength)),
            None => Err(Error::InvalidSignature),
        }
    }
}

/// A JWS whose signature verified under a trusted key. Its claims can now be read. It borrows
/// the [`DecodeBuffer`] holding its decoded header and payload (`'b`).
#[derive(Clone, Debug)]
pub struct VerifiedAssertion<'b> {
    header: Header<'b>,
    header_json: &'b [u8],
    payload: &'b [u8],
    key_id: Option<HeaderString>,
}

impl<'b> VerifiedAssertion<'b> {
    /// The header.
    pub fn header(&self) -> &Header<'b> {
        &self.header
    }

    /// The decoded header JSON.
    pub fn header_json(&self) -> &'b str {
        core::str::from_utf8(self.header_json).unwrap_or_default()
    }

    /// The verified payload (the JWT Claims Set), as JSON text. It is UTF-8 once
    /// [`claims`](Self::claims) succeeded; before that it may not be.
    pub fn payload_json(&self) -> Option<&'b str> {
        core::str::from_utf8(self.payload).ok()
    }

    /// The `kid` of the key that verified the signature, if it had one.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// Reads the registered claims (RFC 7519 §4.1) as spans over the payload.
    pub fn claims(&self) -> Result<Claims<'b>, Error> {
        Claims::parse(self.payload)
    }

    /// The verified payload's bytes (JSON once [`claims`](Self::claims) succeeded).
    #[cfg(feature = "claim-conditions")]
    pub(crate) fn payload(&self) -> &'b [u8] {
        self.payload
    }
}

/// Decodes one base64url segment at the front of `out`; returns the decoded bytes and the
/// rest of `out`. The limit of each part is checked before anything is written.
fn decode_segment<'b>(
    segment: &str,
    part: Part,
    out: &'b mut [u8],
) -> Result<(&'b [u8], &'b mut [u8]), Error> {
    if segment.is_empty() {
        return Err(Error::Malformed(Malformed::EmptySegment(part)));
    }
    let (max, limit) = match part {
        Part::Header => (MAX_HEADER_LEN, Limit::HeaderLength),
        Part::Payload => (MAX_PAYLOAD_LEN, Limit::PayloadLength),
        Part::Signature => (MAX_SIGNATURE_LEN, Limit::SignatureLength),
    };
    let len = base64url::decoded_len(segment.len());
    if len > max {
        return Err(Error::TooLarge(limit));
    }
    // Cannot happen: DECODE_BUFFER_LEN holds every token MAX_TOKEN_LEN admits.
    if len > out.len() {
        return Err(Error::TooLarge(Limit::TokenLength));
    }
    let (dst, rest) = out.split_at_mut(len);
    match base64url::decode(segment.as_bytes(), dst) {
        Ok(decoded) => Ok((decoded, rest)),
        Err(DecodeError::Invalid | DecodeError::TooLong) => {
            Err(Error::Malformed(Malformed::Base64(part)))
        }
    }
}

/// Maps the JSON reader's errors for one part of the token.
pub(crate) fn json_error(e: JsonError, part: Part) -> Error {
    match e {
        JsonError::Syntax => Error::Malformed(Malformed::Json(part)),
        JsonError::NotAnObject => Error::Malformed(Malformed::NotAnObject(part)),
        JsonError::Duplicate => Error::Malformed(Malformed::DuplicateMember(part)),
        JsonError::Depth => Error::TooLarge(Limit::JsonDepth),
        JsonError::Members => Error::TooLarge(Limit::JsonMembers),
        JsonError::NumberLength => Error::TooLarge(Limit::NumberLength),
    }
}

fn parse_header(bytes: &[u8]) -> Result<Header<'_>, Error> {
    if core::str::from_utf8(bytes).is_err() {
        return Err(Error::Malformed(Malformed::Utf8(Part::Header)));
    }
    let object = json::parse_object(bytes).map_err(|e| json_error(e, Part::Header))?;
    // RFC 7515 §4.1.1 and RFC 8725 §3.1: one of the known algorithms, compared exactly.
    let alg = match object.get("alg") {
        None => return Err(Error::Malformed(Malformed::MissingAlgorithm)),
        Some(Value::String(alg)) => {
            let name: Result<heapless::String<8>, ()> = alg.decoded();
            name.ok()
                .as_deref()
                .and_then(Algorithm::from_header)
                .ok_or(Error::UnsupportedAlgorithm)?
        }
        Some(_) => {
            return Err(Error::Malformed(Malformed::HeaderValue(
                HeaderParameter::Alg,
            )))
        }
    };
    // RFC 7515 §4.1.11: no extension is understood, so any `crit` must be refused.
    for refused in [
        HeaderParameter::Crit,
        HeaderParameter::B64,
        HeaderParameter::Zip,
    ] {
        if object.get(refused.as_str()).is_some() {
            return Err(Error::UnsupportedHeader(refused));
        }
    }
    let mut header = Header {
        alg,
        kid: None,
        typ: None,
        x5t_s256: header_thumbprint(&object, HeaderParameter::X5tS256)?,
        x5t: header_thumbprint(&object, HeaderParameter::X5t)?,
    };
    if let Some(cty) = header_string(&object, HeaderParameter::Cty)? {
        // RFC 7519 §5.2: `cty: JWT` announces a nested JWT, which is not an assertion.
        let mut text = HeaderString::new();
        let bare = strip_application_prefix(cty.decode(&mut text));
        if bare.eq_ignore_ascii_case("JWT") {
            return Err(Error::UnsupportedHeader(HeaderParameter::Cty));
        }
    }
    header.kid = header_string(&object, HeaderParameter::Kid)?;
    header.typ = header_string(&object, HeaderParameter::Typ)?;
    Ok(header)
}

/// A header parameter's string value, at most [`MAX_HEADER_STRING_LEN`] bytes once decoded.
fn header_string<'b>(
    object: &json::Object<'b>,
    param: HeaderParameter,
) -> Result<Option<ClaimStr<'b>>, Error> {
    match object.get(param.as_str()) {
        None => Ok(None),
        Some(Value::String(s)) if s.decoded_len() <= MAX_HEADER_STRING_LEN => {
            Ok(Some(ClaimStr::new(s)))
        }
        Some(Value::String(_)) => Err(Error::TooLarge(Limit::StringLength)),
        Some(_) => Err(Error::Malformed(Malformed::HeaderValue(param))),
    }
}

/// A certificate thumbprint header (`x5t#S256`, `x5t`: RFC 7515 §4.1.7–8): canonical
/// base64url of exactly `N` bytes, or absent.
fn header_thumbprint<const N: usize>(
    object: &json::Object<'_>,
    param: HeaderParameter,
) -> Result<Option<[u8; N]>, Error> {
    let malformed = Error::Malformed(Malformed::HeaderValue(param));
    match object.get(param.as_str()) {
        None => Ok(None),
        Some(Value::String(s)) => {
            let text = s.unescaped_str().ok_or(malformed)?;
            let mut out = [0u8; N];
            match base64url::decode(text.as_bytes(), &mut out) {
                Ok(bytes) if bytes.len() == N => Ok(Some(out)),
                _ => Err(malformed),
            }
        }
        Some(_) => Err(malformed),
    }
}

/// RFC 7515 §4.1.9: a media type in `typ` may omit its `application/` prefix.
pub(crate) fn strip_application_prefix(value: &str) -> &str {
    const PREFIX: &str = "application/";
    match value.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => {
            value.get(PREFIX.len()..).unwrap_or_default()
        }
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64UrlUnpadded, Encoding};

    fn b64(s: &str) -> String {
        Base64UrlUnpadded::encode_string(s.as_bytes())
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.AAAA", b64(header), b64(payload))
    }

    /// Parses into a buffer of its own (leaked: a test's few kilobytes).
    fn parse(token: &str) -> Result<UnverifiedAssertion<'_, 'static>, Error> {
        UnverifiedAssertion::parse(token, Box::leak(Box::default()))
    }

    fn parse_with_limit(
        token: &str,
        max: usize,
    ) -> Result<UnverifiedAssertion<'_, 'static>, Error> {
        UnverifiedAssertion::parse_with_limit(token, max, Box::leak(Box::default()))
    }

    fn header_err(header: &str) -> Error {
        parse(&token(header, "{}")).unwrap_err()
    }

    #[test]
    fn structure_errors() {
        use Malformed::*;
        for (t, e) in [
            ("", SegmentCount),
            ("a.b", SegmentCount),
            ("a.b.c.d", SegmentCount),
            ("a.b.c.d.e", SegmentCount),
            (".e30.AAAA", EmptySegment(Part::Header)),
            ("eyJhbGciOiJSUzI1NiJ9.e30.", EmptySegment(Part::Signature)),
            ("e30=.e30.AAAA", Base64(Part::Header)),
            ("eyJhbGciOiJSUzI1NiJ9.e30=.AAAA", Base64(Part::Payload)),
            ("eyJhbGciOiJSUzI1NiJ9.e30.AA+A", Base64(Part::Signature)),
            ("eyJhbGciOiJSUzI1NiJ9.e30.AA A", Base64(Part::Signature)),
            ("bearer eyJhbGciOiJSUzI1NiJ9.e30.AAAA", Base64(Part::Header)),
        ] {
            assert_eq!(parse(t).unwrap_err(), Error::Malformed(e), "{t}");
        }
    }

    #[test]
    fn empty_payload_is_a_valid_jws_but_not_a_jwt() {
        let parsed = parse("eyJhbGciOiJSUzI1NiJ9..AAAA").unwrap();
        assert!(parsed.unverified_payload().is_empty());
        assert_eq!(
            Claims::parse(parsed.unverified_payload()),
            Err(Error::Malformed(Malformed::Json(Part::Payload)))
        );
    }

    #[test]
    fn algorithm_must_be_exactly_one_of_the_five() {
        for alg in [
            "none", "None", "NONE", "HS256", "RS384", "RS512", "PS384", "ES384", "ES256K", "rs256",
            "RS256 ", "ED25519", "eddsa", "",
        ] {
            assert_eq!(
                header_err(&format!(r#"{{"alg":"{alg}"}}"#)),
                Error::UnsupportedAlgorithm,
                "{alg}"
            );
        }
        assert_eq!(
            header_err("{}"),
            Error::Malformed(Malformed::MissingAlgorithm)
        );
        assert_eq!(
            header_err(r#"{"alg":["RS256"]}"#),
            Error::Malformed(Malformed::HeaderValue(HeaderParameter::Alg))
        );
        for alg in ["RS256", "PS256", "ES256", "EdDSA", "Ed25519"] {
            let text = token(&format!(r#"{{"alg":"{alg}"}}"#), "{}");
            assert_eq!(parse(&text).unwrap().header().alg(), alg);
        }
        assert!(parse(&token(r#"{"alg":"RS\u0032\u0035\u0036"}"#, "{}")).is_ok());
    }

    #[test]
    fn refused_header_parameters() {
        for (h, p) in [
            (
                r#"{"alg":"RS256","crit":["exp"],"exp":1}"#,
                HeaderParameter::Crit,
            ),
            (r#"{"alg":"RS256","crit":[]}"#, HeaderParameter::Crit),
            (
                r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#,
                HeaderParameter::Crit,
            ),
            (r#"{"alg":"RS256","b64":false}"#, HeaderParameter::B64),
            (r#"{"alg":"RS256","zip":"DEF"}"#, HeaderParameter::Zip),
            (r#"{"alg":"RS256","cty":"JWT"}"#, HeaderParameter::Cty),
            (
                r#"{"alg":"RS256","cty":"application/jwt"}"#,
                HeaderParameter::Cty,
            ),
        ] {
            assert_eq!(header_err(h), Error::UnsupportedHeader(p), "{h}");
        }
        // Never-trusted key references are ignored, not obeyed.
        let t = token(
            r#"{"alg":"RS256","jku":"https://evil.example/jwks","x5u":"https://evil.example/c","jwk":{"kty":"RSA"},"x5c":["AA"]}"#,
            "{}",
        );
        assert!(parse(&t).is_ok());
    }

    #[test]
    fn header_shapes() {
        assert_eq!(
            header_err(r#"{"alg":"RS256","alg":"RS256"}"#),
            Error::Malformed(Malformed::DuplicateMember(Part::Header))
        );
        assert_eq!(
            header_err("[]"),
            Error::Malformed(Malformed::NotAnObject(Part::Header))
        );
        assert_eq!(
            header_err("{"),
            Error::Malformed(Malformed::Json(Part::Header))
        );
        assert_eq!(
            header_err(r#"{"alg":"RS256","kid":1}"#),
            Error::Malformed(Malformed::HeaderValue(HeaderParameter::Kid))
        );
        let fits = "k".repeat(MAX_HEADER_STRING_LEN);
        let over = "k".repeat(MAX_HEADER_STRING_LEN + 1);
        let with_kid = token(&format!(r#"{{"alg":"RS256","kid":"{fits}"}}"#), "{}");
        let ok = parse(&with_kid).unwrap();
        assert!(ok.header().kid().is_some_and(|kid| kid == fits.as_str()));
        assert_eq!(
            header_err(&format!(r#"{{"alg":"RS256","kid":"{over}"}}"#)),
            Error::TooLarge(Limit::StringLength)
        );
        let bad_utf8 = format!(
            "{}.e30.AAAA",
            Base64UrlUnpadded::encode_string(b"{\"alg\":\"\xff\"}")
        );
        assert_eq!(
            parse(&bad_utf8).unwrap_err(),
            Error::Malformed(Malformed::Utf8(Part::Header))
        );
    }

    #[test]
    fn thumbprint_headers() {
        let s256 = Base64UrlUnpadded::encode_string(&[7u8; 32]);
        let sha1 = Base64UrlUnpadded::encode_string(&[9u8; 20]);
        let ok = token(
            &format!(r#"{{"alg":"PS256","x5t#S256":"{s256}","x5t":"{sha1}"}}"#),
            "{}",
        );
        let parsed = parse(&ok).unwrap();
        let mut kid = HeaderString::new();
        let header = parsed.header();
        let hint = header.key_hint(&mut kid);
        assert_eq!(hint.x5t_s256, Some(&[7u8; 32]));
        assert_eq!(hint.x5t, Some(&[9u8; 20]));
        // Wrong length, padding, the standard alphabet, another JSON type: malformed.
        for (name, value, param) in [
            ("x5t#S256", format!("\"{sha1}\""), HeaderParameter::X5tS256),
            ("x5t#S256", format!("\"{s256}=\""), HeaderParameter::X5tS256),
            ("x5t", format!("\"{s256}\""), HeaderParameter::X5t),
            (
                "x5t",
                "\"AAAA+AAAAAAAAAAAAAAAAAAAAAA\"".to_owned(),
                HeaderParameter::X5t,
            ),
            ("x5t", "20".to_owned(), HeaderParameter::X5t),
        ] {
            assert_eq!(
                header_err(&format!(r#"{{"alg":"RS256","{name}":{value}}}"#)),
                Error::Malformed(Malformed::HeaderValue(param)),
                "{name} {value}"
            );
        }
    }

    #[test]
    fn token_length_limit_is_exact() {
        let header = b64(r#"{"alg":"RS256"}"#);
        let fill = |total: usize| {
            // header . payload . AAAA with a payload of the right length (a multiple of 4).
            let payload_len = total - header.len() - 2 - 4;
            format!("{header}.{}.AAAA", "A".repeat(payload_len))
        };
        let at = fill(MAX_TOKEN_LEN);
        assert_eq!(at.len(), MAX_TOKEN_LEN);
        // At the limit: parsed (the payload is not JSON yet, which is not checked before
        // verification).
        assert!(parse(&at).is_ok());
        let over = format!("{at}A");
        assert_eq!(
            parse(&over).unwrap_err(),
            Error::TooLarge(Limit::TokenLength)
        );
        assert_eq!(
            parse_with_limit(&at, 100).unwrap_err(),
            Error::TooLarge(Limit::TokenLength)
        );
    }

    #[test]
    fn header_length_limit_is_exact() {
        let pad = |n: usize| {
            let base = r#"{"alg":"RS256","x":""}"#.len();
            format!(r#"{{"alg":"RS256","x":"{}"}}"#, "p".repeat(n - base))
        };
        assert!(parse(&token(&pad(MAX_HEADER_LEN), "{}")).is_ok());
        assert_eq!(
            parse(&token(&pad(MAX_HEADER_LEN + 1), "{}")).unwrap_err(),
            Error::TooLarge(Limit::HeaderLength)
        );
    }

    #[test]
    fn signature_length_limit_is_exact() {
        let header = b64(r#"{"alg":"RS256"}"#);
        let sig = |n: usize| Base64UrlUnpadded::encode_string(&vec![1u8; n]);
        assert!(parse(&format!("{header}.e30.{}", sig(MAX_SIGNATURE_LEN))).is_ok());
        assert_eq!(
            parse(&format!("{header}.e30.{}", sig(MAX_SIGNATURE_LEN + 1))).unwrap_err(),
            Error::TooLarge(Limit::SignatureLength)
        );
    }

    #[test]
    fn decode_buffer_holds_every_token_the_length_limit_admits() {
        // Exactly MAX_TOKEN_LEN characters, split between the three parts in the ways that
        // decode to the most bytes: the longest header and signature the limits allow, and a
        // payload of all the rest (each segment's length ≡ 0, 2 or 3 mod 4).
        let header_at_limit = format!(
            r#"{{"alg":"RS256","x":"{}"}}"#,
            "p".repeat(MAX_HEADER_LEN - 22)
        );
        assert_eq!(header_at_limit.len(), MAX_HEADER_LEN);
        let header = b64(&header_at_limit);
        for signature_len in [1, 2, MAX_SIGNATURE_LEN - 1, MAX_SIGNATURE_LEN] {
            let signature = Base64UrlUnpadded::encode_string(&vec![7u8; signature_len]);
            let payload_len = MAX_TOKEN_LEN - header.len() - signature.len() - 2;
            // An unpadded base64url segment cannot be 1 mod 4 characters long.
            let payload_len = payload_len - usize::from(payload_len % 4 == 1);
            let t = format!("{header}.{}.{signature}", "A".repeat(payload_len));
            assert!(t.len() + 1 >= MAX_TOKEN_LEN, "{}", t.len());
            let parsed = parse(&t).unwrap();
            assert_eq!(parsed.header_json().len(), MAX_HEADER_LEN);
            assert_eq!(parsed.signature.len(), signature_len);
            let decoded =
                parsed.header_json().len() + parsed.unverified_payload().len() + signature_len;
            assert!(decoded <= DECODE_BUFFER_LEN, "{decoded}");
        }
        assert_eq!(DECODE_BUFFER_LEN, 6 * 1024);
    }

    #[test]
    fn typ_prefix_handling() {
        assert_eq!(strip_application_prefix("application/jwt"), "jwt");
        assert_eq!(strip_application_prefix("Application/JWT"), "JWT");
        assert_eq!(strip_application_prefix("JWT"), "JWT");
        assert_eq!(strip_application_prefix("applicatio"), "applicatio");
    }
}
