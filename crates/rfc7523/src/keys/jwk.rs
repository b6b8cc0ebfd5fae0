//! JWK members (RFC 7517 §4) for the three key types: `kty` and the key members (RFC 7518
//! §6.2.1, §6.3.1; RFC 8037 §2), what the key may do (`alg`, `use`, `key_ops`), and what
//! selects it (`kid`, `x5t#S256`, `x5t`, `x5c`). With the feature `x509`, `x5c[0]` is also
//! read as a certificate whose key must be the JWK's (RFC 7517 §4.7) and whose validity is
//! kept; without it, `x5c[0]` is only hashed for its thumbprint.

use sha2::{Digest, Sha256};

use super::source::{Meta, Modulus, Source};
use super::{rsa, KeyError, X5T_LEN, X5T_S256_LEN};
#[cfg(feature = "eddsa")]
use crate::alg::eddsa::Ed25519VerifyingKey;
#[cfg(feature = "es256")]
use crate::alg::es256::P256VerifyingKey;
use crate::alg::Algorithm;
use crate::base64url;
use crate::json::{JsonStr, Object, Value};

/// Private members of JWKs (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Longest certificate read, in bytes (DER): a JWK's `x5c[0]` (hashed for its `x5t#S256`, and
/// with the feature `x509` parsed), and a `CERTIFICATE` or an X.509 map's member (`x509`).
pub const MAX_CERTIFICATE_LEN: usize = 8 * 1024;

/// What [`read`] gives: a key usable to verify signatures (its metadata and material, borrowed
/// from the JWK), or why a well-formed key is not (skipped in a set, refused alone).
pub(super) type Read<'a> = Result<(Meta, Source<'a>), KeyError>;

/// Reads one JWK: `Ok(Ok(key))` for a key usable to verify signatures, `Ok(Err(why))` for a
/// well-formed key that is not, `Err` for a broken one. An RSA modulus is only checked to be
/// canonical base64url here; it is decoded where it is stored.
pub(super) fn read<'a>(jwk: &Object<'a>) -> Result<Read<'a>, KeyError> {
    if PRIVATE_MEMBERS.iter().any(|m| jwk.get(m).is_some()) {
        return Err(KeyError::PrivateKeyMaterial);
    }
    let kty = match jwk.get("kty") {
        Some(Value::String(kty)) => kty,
        Some(_) => return Err(KeyError::InvalidMember("kty")),
        None => return Err(KeyError::MissingMember("kty")),
    };
    let (material, key_type) = if kty.eq_str("RSA") {
        let n = base64_text(jwk, "n")?;
        let mut e_buf = [0u8; 8];
        let e = base64_member(jwk, "e", &mut e_buf).map_err(|err| match err {
            KeyError::TooLarge => KeyError::InvalidExponent,
            other => other,
        })?;
        let e = rsa::check_exponent(e)?;
        (
            Source::Rsa {
                n: Modulus::Base64(n),
                e,
            },
            crate::alg::KeyType::Rsa,
        )
    } else if kty.eq_str("EC") {
        #[cfg(feature = "es256")]
        match P256VerifyingKey::from_jwk_object(jwk) {
            Err(crate::alg::KeyMaterialError::WrongCurve) => {
                return Ok(Err(KeyError::UnsupportedCurve))
            }
            other => {
                let (x, y) = other?.coordinates();
                (
                    Source::P256(super::source::concat(&x, &y)),
                    crate::alg::KeyType::P256,
                )
            }
        }
        #[cfg(not(feature = "es256"))]
        return Ok(Err(KeyError::NotBuiltIn(Algorithm::Es256)));
    } else if kty.eq_str("OKP") {
        #[cfg(feature = "eddsa")]
        match Ed25519VerifyingKey::from_jwk_object(jwk) {
            Err(crate::alg::KeyMaterialError::WrongCurve) => {
                return Ok(Err(KeyError::UnsupportedCurve))
            }
            other => (
                Source::Ed25519(other?.to_bytes()),
                crate::alg::KeyType::Ed25519,
            ),
        }
        #[cfg(not(feature = "eddsa"))]
        return Ok(Err(KeyError::NotBuiltIn(Algorithm::EdDsa)));
    } else {
        return Ok(Err(KeyError::UnsupportedKeyType));
    };
    let mut key = Meta::new();
    match jwk.get("alg") {
        None => {}
        Some(Value::String(alg)) => {
            let name: Result<heapless::String<8>, ()> = alg.decoded();
            let Some(alg) = name.ok().as_deref().and_then(Algorithm::from_header) else {
                return Ok(Err(KeyError::UnsupportedAlgorithm));
            };
            if alg.key_type() != key_type {
                return Err(KeyError::AlgorithmMismatch { alg, key_type });
            }
            if !crate::alg::is_built_in(alg) {
                return Ok(Err(KeyError::NotBuiltIn(alg)));
            }
            key.alg = Some(alg);
        }
        Some(_) => return Err(KeyError::InvalidMember("alg")),
    }
    match jwk.get("use") {
        None => {}
        Some(Value::String(u)) if u.eq_str("sig") => {}
        Some(Value::String(_)) => return Ok(Err(KeyError::NotForSignatures("use"))),
        Some(_) => return Err(KeyError::InvalidMember("use")),
    }
    match jwk.get("key_ops") {
        None => {}
        Some(Value::Array(ops)) => {
            let mut verify = false;
            for op in ops.elements() {
                match op.map_err(|_| KeyError::Malformed)? {
                    Value::String(op) => verify |= op.eq_str("verify"),
                    _ => return Err(KeyError::InvalidMember("key_ops")),
                }
            }
            if !verify {
                return Ok(Err(KeyError::NotForSignatures("key_ops")));
            }
        }
        Some(_) => return Err(KeyError::InvalidMember("key_ops")),
    }
    match jwk.get("kid") {
        None => {}
        Some(Value::String(kid)) => {
            key.kid = Some(kid.decoded().map_err(|()| KeyError::KidTooLong)?);
        }
        Some(_) => return Err(KeyError::InvalidMember("kid")),
    }
    key.x5t_s256 = fixed_member::<X5T_S256_LEN>(jwk, "x5t#S256")?;
    key.x5t = fixed_member::<X5T_LEN>(jwk, "x5t")?;
    // RFC 7517 §4.9: `x5t#S256` is the SHA-256 of `x5c[0]`'s DER; when both are given they
    // must agree, and `x5c[0]` alone gives the thumbprint.
    if let Some(first) = first_certificate(jwk)? {
        #[cfg(not(feature = "x509"))]
        let thumbprint = stream_thumbprint(&first)?;
        #[cfg(feature = "x509")]
        let thumbprint = {
            let (thumbprint, validity) = check_certificate(&first, &material)?;
            key.validity = Some(validity);
            thumbprint
        };
        match key.x5t_s256 {
            Some(given) if given != thumbprint => return Err(KeyError::InvalidMember("x5t#S256")),
            _ => key.x5t_s256 = Some(thumbprint),
        }
    }
    Ok(Ok((key, material)))
}

/// RFC 7517 §4.7: "The key in the first certificate MUST match the public key represented by
/// other members of the JWK." `x5c[0]` read as a certificate (feature `x509`): its SHA-256
/// (the `x5t#S256`) and validity, when its key is `material`; [`KeyError::InvalidCertificate`]
/// when it is not a certificate, [`KeyError::CertificateKeyMismatch`] when its key is another
/// (or one that does not load). The certificate is not trusted for anything else.
#[cfg(feature = "x509")]
fn check_certificate(
    first: &JsonStr<'_>,
    material: &Source<'_>,
) -> Result<([u8; X5T_S256_LEN], super::Validity), KeyError> {
    let der = super::certificate::x5c_der(first)?;
    let certificate = super::certificate::from_der(&der)?;
    let same = match certificate.source() {
        Ok(key) => super::certificate::same_key(material, &key)?,
        Err(_) => false,
    };
    if !same {
        return Err(KeyError::CertificateKeyMismatch);
    }
    Ok((Sha256::digest(&der).into(), certificate.validity))
}

/// Decodes a JWK's `n` (checked canonical by [`read`]) into `buf`: at most one byte more than
/// the largest modulus (a leading zero), else [`KeyError::ModulusTooLarge`].
pub(super) fn decode_modulus<'b>(text: &str, buf: &'b mut [u8]) -> Result<&'b [u8], KeyError> {
    match base64url::decode(text.as_bytes(), buf) {
        Ok(bytes) => Ok(bytes),
        Err(base64url::DecodeError::TooLong) => Err(KeyError::ModulusTooLarge {
            bits: base64url::decoded_len(text.len()) * 8,
        }),
        Err(base64url::DecodeError::Invalid) => Err(KeyError::InvalidMember("n")),
    }
}

/// A required string member's text, which must need no JSON escapes: base64url never does,
/// so an escaped value is not canonical.
fn unescaped_member<'a>(jwk: &Object<'a>, name: &'static str) -> Result<&'a str, KeyError> {
    let Some(value) = jwk.get(name) else {
        return Err(KeyError::MissingMember(name));
    };
    let Value::String(text) = value else {
        return Err(KeyError::InvalidMember(name));
    };
    text.unescaped_str().ok_or(KeyError::InvalidMember(name))
}

/// A base64url member's text: a string without JSON escapes (base64url never needs one) of
/// canonical unpadded base64url, not decoded.
fn base64_text<'a>(jwk: &Object<'a>, name: &'static str) -> Result<&'a str, KeyError> {
    let text = unescaped_member(jwk, name)?;
    if !base64url::is_canonical(text.as_bytes()) {
        return Err(KeyError::InvalidMember(name));
    }
    Ok(text)
}

/// A base64url member of exactly `N` bytes, when present.
fn fixed_member<const N: usize>(
    jwk: &Object<'_>,
    name: &'static str,
) -> Result<Option<[u8; N]>, KeyError> {
    if jwk.get(name).is_none() {
        return Ok(None);
    }
    let mut out = [0u8; N];
    let decoded = base64_member(jwk, name, &mut out).map_err(|_| KeyError::InvalidMember(name))?;
    if decoded.len() != N {
        return Err(KeyError::InvalidMember(name));
    }
    Ok(Some(out))
}

/// `x5c[0]`, when `x5c` is present: a non-empty array whose first element is a string
/// (RFC 7517 §4.7). The certificates after it are not read.
fn first_certificate<'a>(jwk: &Object<'a>) -> Result<Option<JsonStr<'a>>, KeyError> {
    let Some(x5c) = jwk.get("x5c") else {
        return Ok(None);
    };
    let Value::Array(certificates) = x5c else {
        return Err(KeyError::InvalidMember("x5c"));
    };
    let Some(first) = certificates.elements().next() else {
        return Err(KeyError::InvalidMember("x5c"));
    };
    let Value::String(text) = first.map_err(|_| KeyError::Malformed)? else {
        return Err(KeyError::InvalidMember("x5c"));
    };
    Ok(Some(text))
}

/// SHA-256 of the DER of `x5c[0]` (RFC 7517 §4.7: standard base64, not base64url), without
/// the feature `x509`: the certificate is not parsed or trusted, the thumbprint only selects
/// among the party's own keys.
#[cfg(not(feature = "x509"))]
fn stream_thumbprint(text: &JsonStr<'_>) -> Result<[u8; 32], KeyError> {
    // Streamed, four characters at a time (a JSON string may escape `/` as `\/`), so that
    // loading a key needs no certificate-sized buffer.
    let mut hasher = Sha256::new();
    let mut quad = [0u8; 4];
    let (mut filled, mut total, mut ended) = (0usize, 0usize, false);
    for c in text.chars() {
        let byte = u8::try_from(u32::from(c)).map_err(|_| KeyError::InvalidMember("x5c"))?;
        let slot = quad.get_mut(filled).ok_or(KeyError::InvalidMember("x5c"))?;
        *slot = byte;
        filled += 1;
        if filled == quad.len() {
            // Padding ends the value: nothing may follow a padded quad.
            if ended {
                return Err(KeyError::InvalidMember("x5c"));
            }
            let mut bytes = [0u8; 3];
            let bytes = base64url::decode_standard_padded(&quad, &mut bytes)
                .map_err(|_| KeyError::InvalidMember("x5c"))?;
            ended = bytes.len() < 3;
            total += bytes.len();
            hasher.update(bytes);
            filled = 0;
        }
        if total > MAX_CERTIFICATE_LEN {
            return Err(KeyError::InvalidMember("x5c"));
        }
    }
    if filled != 0 || total == 0 {
        return Err(KeyError::InvalidMember("x5c"));
    }
    Ok(hasher.finalize().into())
}

/// A base64url member decoded into `buf` (canonical unpadded base64url only).
fn base64_member<'b>(
    jwk: &Object<'_>,
    name: &'static str,
    buf: &'b mut [u8],
) -> Result<&'b [u8], KeyError> {
    let text = unescaped_member(jwk, name)?;
    match base64url::decode(text.as_bytes(), buf) {
        Ok(bytes) => Ok(bytes),
        Err(base64url::DecodeError::TooLong) => Err(KeyError::TooLarge),
        Err(base64url::DecodeError::Invalid) => Err(KeyError::InvalidMember(name)),
    }
}
