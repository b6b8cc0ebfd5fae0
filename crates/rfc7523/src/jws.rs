//! JWS Compact Serialization (RFC 7515 §7.1) with the protected header of RFC 7515 §4, RS256
//! only, as a typestate: [`UnverifiedAssertion`] → [`UnverifiedAssertion::verify`] →
//! [`VerifiedAssertion`]. The claims are readable only from a [`VerifiedAssertion`].
//!
//! Header rules (RFC 7515 §4.1, RFC 8725 §3.1–3.2):
//! - `alg` must be exactly `RS256` (case-sensitive): `none`, `HS*`, `RS384`, `PS*`, … are
//!   [`Error::UnsupportedAlgorithm`]. The verifier fixes the algorithm; the token cannot pick it.
//! - `crit` (any value), `b64` (RFC 7797), `zip` (a JWE parameter) and `cty: JWT` (a nested
//!   JWT, RFC 7519 §5.2) are [`Error::UnsupportedHeader`].
//! - `jku`, `x5u`, `jwk` and `x5c` are never fetched and never trusted: keys come only from
//!   the caller's [`KeySet`]. `kid` selects among those keys.

use sha2::{Digest, Sha256};

use crate::alg::{rs256, VerifyFailure};
use crate::base64url::{self, DecodeError};
use crate::claims::Claims;
use crate::error::{Error, HeaderParameter, Limit, Malformed, Part};
use crate::json::{self, JsonError, Value};
use crate::jwk::{KeySet, RsaVerifyingKey};

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
/// [`MAX_RSA_BITS`]: crate::jwk::MAX_RSA_BITS
pub const MAX_SIGNATURE_LEN: usize = crate::jwk::MAX_RSA_BITS / 8;

/// Longest `kid`, `typ` or `cty` header value accepted, in bytes.
pub const MAX_HEADER_STRING_LEN: usize = 128;

/// A short header string (`kid`, `typ`).
pub type HeaderString = heapless::String<MAX_HEADER_STRING_LEN>;

/// The protected header fields this crate uses. `alg` is always `RS256` once parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    kid: Option<HeaderString>,
    typ: Option<HeaderString>,
}

impl Header {
    /// The `kid` (RFC 7515 §4.1.4), if present.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The `typ` (RFC 7515 §4.1.9), if present.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// The algorithm: always `RS256`, the only one accepted.
    pub const fn alg(&self) -> &'static str {
        "RS256"
    }
}

/// A compact JWS whose structure and header were checked, but whose signature was not.
/// Nothing in it is trustworthy yet.
#[derive(Clone, Debug)]
pub struct UnverifiedAssertion<'t> {
    signing_input: &'t str,
    header: Header,
    header_json: heapless::Vec<u8, MAX_HEADER_LEN>,
    payload: heapless::Vec<u8, MAX_PAYLOAD_LEN>,
    signature: heapless::Vec<u8, MAX_SIGNATURE_LEN>,
}

impl<'t> UnverifiedAssertion<'t> {
    /// Parses a compact JWS with the default length limit ([`MAX_TOKEN_LEN`]).
    pub fn parse(token: &'t str) -> Result<Self, Error> {
        Self::parse_with_limit(token, MAX_TOKEN_LEN)
    }

    /// Parses a compact JWS no longer than `max_len` bytes (capped at [`MAX_TOKEN_LEN`]).
    pub fn parse_with_limit(token: &'t str, max_len: usize) -> Result<Self, Error> {
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

        let header_json = decode_segment::<MAX_HEADER_LEN>(header_b64, Part::Header)?;
        let header = parse_header(&header_json)?;
        // RFC 7515 §7.1 allows an empty payload (Appendix F); as a JWT it then fails at
        // claims parsing, after the signature.
        let payload = if payload_b64.is_empty() {
            heapless::Vec::new()
        } else {
            decode_segment::<MAX_PAYLOAD_LEN>(payload_b64, Part::Payload)?
        };
        let signature = decode_segment::<MAX_SIGNATURE_LEN>(signature_b64, Part::Signature)?;
        Ok(Self {
            signing_input,
            header,
            header_json,
            payload,
            signature,
        })
    }

    /// The checked header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The decoded header JSON (unverified).
    pub fn header_json(&self) -> &[u8] {
        &self.header_json
    }

    /// The `iss` claim, read **before** verification, only to choose whose keys to verify
    /// with (RFC 7523 §3 item 1: the issuer identifies the key). Never use it for anything
    /// else: the claims are checked after [`verify`](Self::verify).
    pub fn issuer_hint(&self) -> Result<crate::claims::ClaimString, Error> {
        crate::claims::issuer_hint(&self.payload)
    }

    /// The decoded payload bytes, **unverified**: for debugging tools only.
    pub fn unverified_payload(&self) -> &[u8] {
        &self.payload
    }

    /// Verifies the RS256 signature (RFC 7515 §5.2 step 8) with the keys of `keys` that the
    /// header's `kid` selects ([`KeySet::candidates`]).
    pub fn verify(self, keys: &KeySet) -> Result<VerifiedAssertion, Error> {
        self.verify_using(keys.as_slice(), &|key, signature, out| {
            key.rsavp1(signature, out).map(|_| ())
        })
    }

    /// [`verify`](Self::verify) with `rsavp1` as the RSA public-key operation (a
    /// [`KeyLookup::rsavp1`](crate::KeyLookup::rsavp1)).
    pub(crate) fn verify_using(
        self,
        keys: &[RsaVerifyingKey],
        rsavp1: &Rsavp1<'_>,
    ) -> Result<VerifiedAssertion, Error> {
        let digest: [u8; 32] = Sha256::digest(self.signing_input.as_bytes()).into();
        let mut tried = 0usize;
        let mut only_length_failures = true;
        let mut verified_by = None;
        let kid = self.header.kid.clone();
        for key in crate::jwk::candidates(keys, kid.as_deref()) {
            tried += 1;
            let signature = self.signature.as_slice();
            let outcome = rs256::verify(key.public_key(), &digest, signature, &|em| {
                rsavp1(key, signature, em)
            });
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
            None if tried == 0 => Err(Error::UnknownKey),
            None if only_length_failures => Err(Error::Malformed(Malformed::SignatureLength)),
            None => Err(Error::InvalidSignature),
        }
    }
}

/// An RSAVP1 implementation (RFC 8017 §5.2.2): `(key, signature, out)`, as
/// [`KeyLookup::rsavp1`](crate::KeyLookup::rsavp1).
pub(crate) type Rsavp1<'f> = dyn Fn(&RsaVerifyingKey, &[u8], &mut [u8]) -> Option<()> + 'f;

/// A JWS whose RS256 signature verified under a trusted key. Its claims can now be read.
#[derive(Clone, Debug)]
pub struct VerifiedAssertion {
    header: Header,
    header_json: heapless::Vec<u8, MAX_HEADER_LEN>,
    payload: heapless::Vec<u8, MAX_PAYLOAD_LEN>,
    key_id: Option<HeaderString>,
}

impl VerifiedAssertion {
    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The decoded header JSON.
    pub fn header_json(&self) -> &str {
        core::str::from_utf8(&self.header_json).unwrap_or_default()
    }

    /// The verified payload (the JWT Claims Set), as JSON text. It is UTF-8 once
    /// [`claims`](Self::claims) succeeded; before that it may not be.
    pub fn payload_json(&self) -> Option<&str> {
        core::str::from_utf8(&self.payload).ok()
    }

    /// The `kid` of the key that verified the signature, if it had one.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// Parses the registered claims (RFC 7519 §4.1) into fixed buffers.
    pub fn claims(&self) -> Result<Claims, Error> {
        Claims::parse(&self.payload)
    }
}

fn decode_segment<const N: usize>(
    segment: &str,
    part: Part,
) -> Result<heapless::Vec<u8, N>, Error> {
    if segment.is_empty() {
        return Err(Error::Malformed(Malformed::EmptySegment(part)));
    }
    let mut buf = heapless::Vec::<u8, N>::new();
    let len = base64url::decoded_len(segment.len());
    if len > N {
        return Err(Error::TooLarge(match part {
            Part::Header => Limit::HeaderLength,
            Part::Payload => Limit::PayloadLength,
            Part::Signature => Limit::SignatureLength,
        }));
    }
    buf.resize_default(len)
        .map_err(|()| Error::TooLarge(Limit::TokenLength))?;
    match base64url::decode(segment.as_bytes(), &mut buf) {
        Ok(decoded) => {
            let decoded_len = decoded.len();
            buf.truncate(decoded_len);
            Ok(buf)
        }
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

fn parse_header(bytes: &[u8]) -> Result<Header, Error> {
    if core::str::from_utf8(bytes).is_err() {
        return Err(Error::Malformed(Malformed::Utf8(Part::Header)));
    }
    let object = json::parse_object(bytes).map_err(|e| json_error(e, Part::Header))?;
    // RFC 7515 §4.1.1 and RFC 8725 §3.1: the one algorithm, compared exactly.
    match object.get("alg") {
        None => return Err(Error::Malformed(Malformed::MissingAlgorithm)),
        Some(Value::String(alg)) if alg.eq_str("RS256") => {}
        Some(Value::String(_)) => return Err(Error::UnsupportedAlgorithm),
        Some(_) => {
            return Err(Error::Malformed(Malformed::HeaderValue(
                HeaderParameter::Alg,
            )))
        }
    }
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
    let mut header = Header::default();
    if let Some(cty) = header_string(&object, HeaderParameter::Cty)? {
        // RFC 7519 §5.2: `cty: JWT` announces a nested JWT, which is not an assertion.
        let bare = strip_application_prefix(&cty);
        if bare.eq_ignore_ascii_case("JWT") {
            return Err(Error::UnsupportedHeader(HeaderParameter::Cty));
        }
    }
    header.kid = header_string(&object, HeaderParameter::Kid)?;
    header.typ = header_string(&object, HeaderParameter::Typ)?;
    Ok(header)
}

fn header_string(
    object: &json::Object<'_>,
    param: HeaderParameter,
) -> Result<Option<HeaderString>, Error> {
    match object.get(param.as_str()) {
        None => Ok(None),
        Some(Value::String(s)) => s
            .decoded()
            .map(Some)
            .map_err(|()| Error::TooLarge(Limit::StringLength)),
        Some(_) => Err(Error::Malformed(Malformed::HeaderValue(param))),
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

    fn header_err(header: &str) -> Error {
        UnverifiedAssertion::parse(&token(header, "{}")).unwrap_err()
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
            assert_eq!(
                UnverifiedAssertion::parse(t).unwrap_err(),
                Error::Malformed(e),
                "{t}"
            );
        }
    }

    #[test]
    fn empty_payload_is_a_valid_jws_but_not_a_jwt() {
        let parsed = UnverifiedAssertion::parse("eyJhbGciOiJSUzI1NiJ9..AAAA").unwrap();
        assert!(parsed.unverified_payload().is_empty());
        assert_eq!(
            Claims::parse(parsed.unverified_payload()),
            Err(Error::Malformed(Malformed::Json(Part::Payload)))
        );
    }

    #[test]
    fn algorithm_must_be_exactly_rs256() {
        for alg in [
            "none", "None", "NONE", "HS256", "RS384", "RS512", "PS256", "ES256", "rs256", "RS256 ",
            "",
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
        assert!(UnverifiedAssertion::parse(&token(r#"{"alg":"RS256"}"#, "{}")).is_ok());
        assert!(
            UnverifiedAssertion::parse(&token(r#"{"alg":"RS\u0032\u0035\u0036"}"#, "{}")).is_ok()
        );
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
        assert!(UnverifiedAssertion::parse(&t).is_ok());
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
        let ok = UnverifiedAssertion::parse(&with_kid).unwrap();
        assert_eq!(ok.header().kid(), Some(fits.as_str()));
        assert_eq!(
            header_err(&format!(r#"{{"alg":"RS256","kid":"{over}"}}"#)),
            Error::TooLarge(Limit::StringLength)
        );
        let bad_utf8 = format!(
            "{}.e30.AAAA",
            Base64UrlUnpadded::encode_string(b"{\"alg\":\"\xff\"}")
        );
        assert_eq!(
            UnverifiedAssertion::parse(&bad_utf8).unwrap_err(),
            Error::Malformed(Malformed::Utf8(Part::Header))
        );
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
        assert!(UnverifiedAssertion::parse(&at).is_ok());
        let over = format!("{at}A");
        assert_eq!(
            UnverifiedAssertion::parse(&over).unwrap_err(),
            Error::TooLarge(Limit::TokenLength)
        );
        assert_eq!(
            UnverifiedAssertion::parse_with_limit(&at, 100).unwrap_err(),
            Error::TooLarge(Limit::TokenLength)
        );
    }

    #[test]
    fn header_length_limit_is_exact() {
        let pad = |n: usize| {
            let base = r#"{"alg":"RS256","x":""}"#.len();
            format!(r#"{{"alg":"RS256","x":"{}"}}"#, "p".repeat(n - base))
        };
        assert!(UnverifiedAssertion::parse(&token(&pad(MAX_HEADER_LEN), "{}")).is_ok());
        assert_eq!(
            UnverifiedAssertion::parse(&token(&pad(MAX_HEADER_LEN + 1), "{}")).unwrap_err(),
            Error::TooLarge(Limit::HeaderLength)
        );
    }

    #[test]
    fn signature_length_limit_is_exact() {
        let header = b64(r#"{"alg":"RS256"}"#);
        let sig = |n: usize| Base64UrlUnpadded::encode_string(&vec![1u8; n]);
        assert!(
            UnverifiedAssertion::parse(&format!("{header}.e30.{}", sig(MAX_SIGNATURE_LEN))).is_ok()
        );
        assert_eq!(
            UnverifiedAssertion::parse(&format!("{header}.e30.{}", sig(MAX_SIGNATURE_LEN + 1)))
                .unwrap_err(),
            Error::TooLarge(Limit::SignatureLength)
        );
    }

    #[test]
    fn typ_prefix_handling() {
        assert_eq!(strip_application_prefix("application/jwt"), "jwt");
        assert_eq!(strip_application_prefix("Application/JWT"), "JWT");
        assert_eq!(strip_application_prefix("JWT"), "JWT");
        assert_eq!(strip_application_prefix("applicatio"), "applicatio");
    }
}
