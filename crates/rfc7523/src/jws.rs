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
//!   the caller's [`KeySet`]. `kid`, `x5t#S256` and `x5t` only select among those keys
//!   ([`KeyRef::selected_by`]).

use sha2::{Digest, Sha256};

use crate::alg::{Algorithm, Algorithms, VerifyFailure};
use crate::base64url::{self, DecodeError};
use crate::claims::Claims;
use crate::error::{Error, HeaderParameter, Limit, Malformed, Part};
use crate::json::{self, JsonError, Value};
use crate::keys::{KeyHint, KeyRef, KeyStore, Keys, RsaKey, X5T_LEN, X5T_S256_LEN};

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

/// The protected header fields this crate uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    alg: Algorithm,
    kid: Option<HeaderString>,
    typ: Option<HeaderString>,
    x5t_s256: Option<[u8; X5T_S256_LEN]>,
    x5t: Option<[u8; X5T_LEN]>,
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

    /// The algorithm's name, as the header carries it.
    pub const fn alg(&self) -> &'static str {
        self.alg.as_str()
    }

    /// The algorithm.
    pub const fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// What the header says about its key: `kid`, `x5t#S256`, `x5t` (RFC 7515 §4.1.4,
    /// §4.1.7–8), to choose among the party's keys.
    pub fn key_hint(&self) -> KeyHint<'_> {
        KeyHint {
            kid: self.kid(),
            x5t_s256: self.x5t_s256.as_ref(),
            x5t: self.x5t.as_ref(),
        }
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

    /// Verifies the signature (RFC 7515 §5.2 step 8) with the keys of `keys` that serve the
    /// header's `alg` and that its `kid` (or thumbprint) selects ([`KeyRef::selected_by`]),
    /// every algorithm allowed.
    pub fn verify<const N: usize>(self, keys: &KeyStore<N>) -> Result<VerifiedAssertion, Error> {
        self.verify_using(keys.keys(), Algorithms::ALL, &|key, signature, out| {
            key.rsavp1(signature, out)
        })
    }

    /// [`verify`](Self::verify) with the party's allow-list and `rsavp1` as the RSA public-key
    /// operation (a [`KeyLookup::rsavp1`](crate::KeyLookup::rsavp1)).
    pub(crate) fn verify_using(
        self,
        keys: Keys<'_>,
        allowed: Algorithms,
        rsavp1: &Rsavp1<'_>,
    ) -> Result<VerifiedAssertion, Error> {
        let alg = self.header.alg;
        // RFC 8725 §3.1: the party's allow-list, before any key is tried.
        if !allowed.contains(alg) {
            return Err(Error::UnsupportedAlgorithm);
        }
        // Ed25519 hashes the message itself; the others sign its SHA-256.
        let digest: [u8; 32] = match alg.key_type() {
            crate::alg::KeyType::Ed25519 => [0; 32],
            _ => Sha256::digest(self.signing_input.as_bytes()).into(),
        };
        let mut serving = 0usize;
        let mut tried = 0usize;
        let mut only_length_failures = true;
        let mut verified_by: Option<KeyRef<'_>> = None;
        let hint = self.header.key_hint();
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
            let signature = self.signature.as_slice();
            let message = self.signing_input.as_bytes();
            let outcome = key.verify(alg, message, &digest, signature, rsavp1);
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

/// An RSAVP1 implementation (RFC 8017 §5.2.2): `(key, signature, out)`, as
/// [`KeyLookup::rsavp1`](crate::KeyLookup::rsavp1).
pub(crate) type Rsavp1<'f> = dyn Fn(&RsaKey<'_>, &[u8], &mut [u8]) -> Option<()> + 'f;

/// A JWS whose signature verified under a trusted key. Its claims can now be read.
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
            let parsed = UnverifiedAssertion::parse(&text).unwrap();
            assert_eq!(parsed.header().alg(), alg);
        }
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
    fn thumbprint_headers() {
        let s256 = Base64UrlUnpadded::encode_string(&[7u8; 32]);
        let sha1 = Base64UrlUnpadded::encode_string(&[9u8; 20]);
        let ok = token(
            &format!(r#"{{"alg":"PS256","x5t#S256":"{s256}","x5t":"{sha1}"}}"#),
            "{}",
        );
        let parsed = UnverifiedAssertion::parse(&ok).unwrap();
        let hint = parsed.header().key_hint();
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
