//! Trusted RSA public keys: JWK and JWK Set (RFC 7517, RFC 7518 §6.3.1), SubjectPublicKeyInfo
//! (RFC 5280 §4.1.2.7) and PKCS#1 `RSAPublicKey` (RFC 8017 Appendix A.1.1), as DER or PEM
//! (RFC 7468).
//!
//! Keys are configuration, loaded once, and held without the heap: a key stores its modulus
//! and `R² mod n` in the fixed-width Montgomery form of [`rfc7523_rsavp1`] (about 2 KiB a key,
//! whatever its size, so a full [`KeySet`] is about 35 KiB). Unsafe keys are refused at load
//! time with a precise [`KeyError`]: moduli under [`MIN_RSA_BITS`] or over [`MAX_RSA_BITS`], even
//! exponents, exponents below 3 or above [`MAX_PUBLIC_EXPONENT`], even moduli, and private key
//! material in what should be a public key set.
//!
//! In a JWK Set, keys that are not meant for RS256 signatures are skipped, not refused:
//! another `kty`, an `alg` other than `RS256`, a `use` other than `sig`, or `key_ops` without
//! `verify` (RFC 7517 §4.2–4.4). A single JWK of that kind is refused.

use core::fmt;

use pkcs1::der::Decode;

use crate::base64url;
use crate::json::{self, JsonError, Object, Value};
use crate::jws::{MAX_HEADER_STRING_LEN, MAX_SIGNATURE_LEN};
use rfc7523_rsavp1::PublicKey;

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3: "2048 bits or larger MUST be used").
pub const MIN_RSA_BITS: usize = 2048;

/// Largest RSA modulus accepted, in bits. Bounds the verify cost an issuer can impose.
pub const MAX_RSA_BITS: usize = 8192;

// The arithmetic's widest width holds the largest key.
const _: () = assert!(MAX_RSA_BITS <= rfc7523_rsavp1::MAX_MODULUS_BITS);

/// Largest public exponent accepted (2^33 − 1, the bound of the `rsa` crate and of other
/// libraries; in practice e = 65537). It also bounds the verify cost: at most 33 squarings.
pub const MAX_PUBLIC_EXPONENT: u64 = (1 << 33) - 1;

/// Most keys one [`KeySet`] holds.
pub const MAX_JWKS_KEYS: usize = 16;

/// Longest key text accepted by the loaders (JWK Set JSON, JWK, PEM), in bytes: 16 keys of
/// 8192 bits with their metadata fit comfortably.
pub const MAX_KEY_TEXT_LEN: usize = 64 * 1024;

/// Why a key could not be loaded.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyError {
    /// The text is longer than [`MAX_KEY_TEXT_LEN`].
    TooLarge,
    /// Not a JWK, JWK Set, PEM or DER structure that could be read.
    Malformed,
    /// A member of a JWK has the wrong type or is not canonical base64url.
    InvalidMember(&'static str),
    /// A JWK member that must be present is absent.
    MissingMember(&'static str),
    /// The key is not an RSA key (`kty` or algorithm identifier).
    NotRsa,
    /// A single JWK is not usable for RS256 signatures (its `alg`, `use` or `key_ops`).
    NotForRs256(&'static str),
    /// The text carries private key material; configure public keys only.
    PrivateKeyMaterial,
    /// The modulus is shorter than [`MIN_RSA_BITS`].
    ModulusTooSmall {
        /// The modulus length found.
        bits: usize,
    },
    /// The modulus is longer than [`MAX_RSA_BITS`].
    ModulusTooLarge {
        /// The modulus length found (a lower bound when far too large).
        bits: usize,
    },
    /// The modulus is even or not larger than the exponent.
    InvalidModulus,
    /// The public exponent is even, below 3 or above [`MAX_PUBLIC_EXPONENT`].
    InvalidExponent,
    /// More than [`MAX_JWKS_KEYS`] usable keys.
    TooManyKeys,
    /// A JWK Set with no key usable for RS256.
    NoUsableKeys,
    /// A `kid` longer than [`MAX_HEADER_STRING_LEN`].
    KidTooLong,
    /// A PEM label other than `PUBLIC KEY` or `RSA PUBLIC KEY`.
    UnsupportedPemLabel,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            KeyError::TooLarge => write!(f, "key text longer than {MAX_KEY_TEXT_LEN} bytes"),
            KeyError::Malformed => f.write_str("not a readable JWK, JWK Set, PEM or DER key"),
            KeyError::InvalidMember(m) => write!(f, "the JWK member {m} is invalid"),
            KeyError::MissingMember(m) => write!(f, "the JWK member {m} is missing"),
            KeyError::NotRsa => f.write_str("not an RSA key"),
            KeyError::NotForRs256(m) => {
                write!(f, "the JWK is not usable for RS256 signatures (its {m})")
            }
            KeyError::PrivateKeyMaterial => {
                f.write_str("the key carries private key material; configure public keys only")
            }
            KeyError::ModulusTooSmall { bits } => write!(
                f,
                "RSA key of {bits} bits refused: at least {MIN_RSA_BITS} bits are required"
            ),
            KeyError::ModulusTooLarge { bits } => write!(
                f,
                "RSA key of {bits} bits refused: at most {MAX_RSA_BITS} bits are accepted"
            ),
            KeyError::InvalidModulus => f.write_str("the RSA modulus is invalid"),
            KeyError::InvalidExponent => f.write_str(
                "the RSA public exponent is invalid (it must be odd, at least 3 and below 2^33)",
            ),
            KeyError::TooManyKeys => write!(f, "more than {MAX_JWKS_KEYS} keys"),
            KeyError::NoUsableKeys => f.write_str("the JWK Set has no key usable for RS256"),
            KeyError::KidTooLong => {
                write!(f, "a kid longer than {MAX_HEADER_STRING_LEN} bytes")
            }
            KeyError::UnsupportedPemLabel => {
                f.write_str("PEM label must be PUBLIC KEY or RSA PUBLIC KEY")
            }
        }
    }
}

impl core::error::Error for KeyError {}

/// A `kid` value (RFC 7517 §4.5).
pub type Kid = heapless::String<MAX_HEADER_STRING_LEN>;

/// An RSA public key trusted for RS256, with its optional `kid`.
///
/// Which tokens a key may verify by their header `kid` ([`candidates`]): a key with a `kid`
/// only those naming that `kid` or none; a key from a JWK Set without a `kid` only those
/// naming none (RFC 7515 §4.1.4: a `kid` that matches no key is not a reason to try others);
/// a key given on its own, with no `kid` to match (a PEM, DER or lone JWK without `kid`), every
/// token, whatever its `kid`, as jose does for a key passed directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaVerifyingKey {
    key: PublicKey,
    kid: Option<Kid>,
    bits: usize,
    /// Serves tokens with any header `kid` (a key given on its own, without a `kid`).
    any_kid: bool,
}

impl RsaVerifyingKey {
    /// Builds a key from big-endian modulus and exponent bytes (leading zeros are ignored),
    /// applying every size and shape check.
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = bit_len(n);
        if bits < MIN_RSA_BITS {
            return Err(KeyError::ModulusTooSmall { bits });
        }
        if bits > MAX_RSA_BITS {
            return Err(KeyError::ModulusTooLarge { bits });
        }
        if e.len() > 8 {
            return Err(KeyError::InvalidExponent);
        }
        let e_value = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        if e_value < 3 || e_value % 2 == 0 || e_value > MAX_PUBLIC_EXPONENT {
            return Err(KeyError::InvalidExponent);
        }
        if n.last().is_none_or(|last| last % 2 == 0) {
            return Err(KeyError::InvalidModulus);
        }
        let key = PublicKey::new(n, e_value).ok_or(KeyError::InvalidModulus)?;
        Ok(Self {
            key,
            kid: None,
            bits,
            any_kid: true,
        })
    }

    /// Reads a DER `SubjectPublicKeyInfo` with the `rsaEncryption` algorithm.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|_| KeyError::Malformed)?;
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(KeyError::NotRsa);
        }
        let inner = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyError::Malformed)?;
        Self::from_pkcs1_der(inner)
    }

    /// Reads a DER PKCS#1 `RSAPublicKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        let key = pkcs1::RsaPublicKey::from_der(der).map_err(|_| KeyError::Malformed)?;
        Self::from_components(key.modulus.as_bytes(), key.public_exponent.as_bytes())
    }

    /// Reads a PEM `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1) block. Text before the
    /// `-----BEGIN` line and after the `-----END` line is ignored (RFC 7468 §5.2).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        if pem.len() > MAX_KEY_TEXT_LEN {
            return Err(KeyError::TooLarge);
        }
        let mut buf = [0u8; crate::pem::MAX_DER];
        let (label, der) = crate::pem::decode(pem, &mut buf).map_err(|_| KeyError::Malformed)?;
        match label {
            "PUBLIC KEY" => Self::from_spki_der(der),
            "RSA PUBLIC KEY" => Self::from_pkcs1_der(der),
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                Err(KeyError::PrivateKeyMaterial)
            }
            _ => Err(KeyError::UnsupportedPemLabel),
        }
    }

    /// Reads one JWK (RFC 7517 §4, RFC 7518 §6.3.1). A JWK that is not for RS256 signatures
    /// is refused with [`KeyError::NotForRs256`].
    pub fn from_jwk(json: &str) -> Result<Self, KeyError> {
        if json.len() > MAX_KEY_TEXT_LEN {
            return Err(KeyError::TooLarge);
        }
        let object = json::parse_object(json.as_bytes()).map_err(json_key_error)?;
        match read_jwk(&object)? {
            JwkUse::Usable(mut key) => {
                key.any_kid = key.kid.is_none();
                Ok(key)
            }
            JwkUse::Skipped(why) => Err(why),
        }
    }

    /// Sets the key's `kid`: it then verifies only tokens naming that `kid` or none.
    pub fn with_kid(mut self, kid: &str) -> Result<Self, KeyError> {
        let mut value = Kid::new();
        value.push_str(kid).map_err(|_| KeyError::KidTooLong)?;
        self.kid = Some(value);
        self.any_kid = false;
        Ok(self)
    }

    /// The key's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// True when the key may verify a token whose header `kid` is `kid` (see the type's
    /// docs): the same `kid`, no `kid` at all, or a key given on its own without one.
    pub fn serves_kid(&self, kid: Option<&str>) -> bool {
        match kid {
            None => true,
            Some(kid) => self.any_kid || self.kid() == Some(kid),
        }
    }

    /// True when `other` is the same public key (modulus and exponent), whatever the `kid`s:
    /// a registry refuses one key listed for two parties.
    pub fn same_public_key(&self, other: &RsaVerifyingKey) -> bool {
        self.key == other.key
    }

    /// The modulus length in bits.
    pub const fn bits(&self) -> usize {
        self.bits
    }

    /// The modulus length in bytes (= the RS256 signature length).
    pub const fn modulus_len(&self) -> usize {
        self.key.modulus_len()
    }

    /// Verifies an RSASSA-PKCS1-v1_5 signature with SHA-256 over `message` (RFC 8017 §8.2.2,
    /// with the encoding of §9.2): the raw primitive under JWS verification, the same check
    /// [`UnverifiedAssertion::verify`](crate::UnverifiedAssertion::verify) makes on the JWS
    /// signing input. It is public for test vectors and for callers that verify non-JWS data.
    ///
    /// `signature` must be exactly [`modulus_len`](Self::modulus_len) bytes long. The result
    /// is deliberately only a yes or no: a failure carries no detail.
    pub fn verify_rs256(&self, message: &[u8], signature: &[u8]) -> bool {
        use sha2::{Digest, Sha256};
        let digest: [u8; 32] = Sha256::digest(message).into();
        crate::alg::rs256::verify(self.public_key(), &digest, signature, &|em| {
            self.key.rsavp1(signature, em)
        })
        .is_ok()
    }

    /// RSAVP1 (RFC 8017 §5.2.2), the raw public-key operation under RS256: writes
    /// I2OSP(OS2IP(`signature`)^e mod n, k) into `out`, where k is
    /// [`modulus_len`](Self::modulus_len), and returns it. `None` when `signature` is not
    /// exactly k bytes, when `out` is shorter, or when the signature representative is not below
    /// n ("signature representative out of range"). Public for test vectors and for comparing
    /// implementations; use [`verify_rs256`](Self::verify_rs256) to check a signature.
    pub fn rsavp1<'o>(&self, signature: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
        let out = out.get_mut(..self.modulus_len())?;
        self.key.rsavp1(signature, out)?;
        Some(out)
    }

    /// Writes the modulus n as big-endian bytes into `out` (at least
    /// [`modulus_len`](Self::modulus_len) bytes; that many are written) and returns them: for
    /// exporting the key (a JWK's `n`, RFC 7518 §6.3.1.1) to another RSA implementation.
    pub fn modulus<'o>(&self, out: &'o mut [u8]) -> Option<&'o [u8]> {
        let out = out.get_mut(..self.modulus_len())?;
        self.key.write_modulus(out)?;
        Some(out)
    }

    /// The public exponent e (a JWK's `e`, RFC 7518 §6.3.1.2).
    pub const fn exponent(&self) -> u64 {
        self.key.exponent()
    }

    pub(crate) fn public_key(&self) -> &PublicKey {
        &self.key
    }
}

/// `rsaEncryption` (RFC 8017 Appendix A.1, RFC 3279 §2.3.1): the algorithm of an RSA
/// SubjectPublicKeyInfo.
const RSA_ENCRYPTION: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The trusted keys of one issuer or client: at most [`MAX_JWKS_KEYS`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: heapless::Vec<RsaVerifyingKey, MAX_JWKS_KEYS>,
}

impl KeySet {
    /// An empty set.
    pub const fn new() -> Self {
        Self {
            keys: heapless::Vec::new(),
        }
    }

    /// Adds a key.
    pub fn push(&mut self, key: RsaVerifyingKey) -> Result<(), KeyError> {
        self.keys.push(key).map_err(|_| KeyError::TooManyKeys)
    }

    /// Reads a JWK Set (RFC 7517 §5). Keys not meant for RS256 signatures are skipped; an
    /// RS256 key that is unsafe (too small, bad exponent) fails the whole set, so that a
    /// configuration mistake is seen at start-up rather than as rejected logins.
    pub fn from_jwks(json: &str) -> Result<Self, KeyError> {
        if json.len() > MAX_KEY_TEXT_LEN {
            return Err(KeyError::TooLarge);
        }
        let object = json::parse_object(json.as_bytes()).map_err(json_key_error)?;
        let Some(Value::Array(keys)) = object.get("keys") else {
            return Err(KeyError::MissingMember("keys"));
        };
        let mut set = KeySet::new();
        for element in keys.elements() {
            let Value::Object(text) = element.map_err(json_key_error)? else {
                return Err(KeyError::InvalidMember("keys"));
            };
            let jwk = json::parse_object(text).map_err(json_key_error)?;
            if let JwkUse::Usable(mut key) = read_jwk(&jwk)? {
                // In a set, a `kid` in the header must name the key.
                key.any_kid = false;
                set.push(key)?;
            }
        }
        if set.keys.is_empty() {
            return Err(KeyError::NoUsableKeys);
        }
        Ok(set)
    }

    /// A set holding one JWK.
    pub fn from_jwk(json: &str) -> Result<Self, KeyError> {
        Self::from_key(RsaVerifyingKey::from_jwk(json)?)
    }

    /// A set holding one PEM key.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_key(RsaVerifyingKey::from_pem(pem)?)
    }

    /// A set holding `key`.
    pub fn from_key(key: RsaVerifyingKey) -> Result<Self, KeyError> {
        let mut set = Self::new();
        set.push(key)?;
        Ok(set)
    }

    /// Reads any supported text form, detected from the content: a JWK Set (an object with
    /// `keys`), a single JWK, or a PEM block.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        if text.len() > MAX_KEY_TEXT_LEN {
            return Err(KeyError::TooLarge);
        }
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            let object = json::parse_object(text.as_bytes()).map_err(json_key_error)?;
            if object.get("keys").is_some() {
                Self::from_jwks(text)
            } else {
                Self::from_jwk(text)
            }
        } else if crate::pem::find(trimmed, "-----BEGIN ").is_some() {
            Self::from_pem(text)
        } else {
            Err(KeyError::Malformed)
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the set has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in load order.
    pub fn iter(&self) -> impl Iterator<Item = &RsaVerifyingKey> {
        self.keys.iter()
    }

    /// The keys, as a slice (what a [`Party`](crate::Party) holds).
    pub fn as_slice(&self) -> &[RsaVerifyingKey] {
        &self.keys
    }

    /// The keys to try for a JWS whose header names `kid`: see [`candidates`].
    pub fn candidates<'s>(
        &'s self,
        kid: Option<&'s str>,
    ) -> impl Iterator<Item = &'s RsaVerifyingKey> + 's {
        candidates(&self.keys, kid)
    }
}

/// The keys of `keys` to try for a JWS whose header names `kid` (RFC 7515 §4.1.4): without a
/// `kid`, every key; with one, the keys with that `kid` (and keys given on their own, without
/// a `kid`: [`RsaVerifyingKey::serves_kid`]). A `kid` that names no key gives no candidate
/// (`unknown_key`): it never falls back to the keys of a JWK Set that have no `kid`.
pub fn candidates<'s>(
    keys: &'s [RsaVerifyingKey],
    kid: Option<&'s str>,
) -> impl Iterator<Item = &'s RsaVerifyingKey> + 's {
    keys.iter().filter(move |k| k.serves_kid(kid))
}

// A key is a few hundred bytes and lives only while a set is loaded: not worth a Box.
#[allow(clippy::large_enum_variant)]
enum JwkUse {
    Usable(RsaVerifyingKey),
    Skipped(KeyError),
}

/// Private members of JWKs (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn read_jwk(jwk: &Object<'_>) -> Result<JwkUse, KeyError> {
    if PRIVATE_MEMBERS.iter().any(|m| jwk.get(m).is_some()) {
        return Err(KeyError::PrivateKeyMaterial);
    }
    match jwk.get("kty") {
        Some(Value::String(kty)) if kty.eq_str("RSA") => {}
        Some(Value::String(_)) => return Ok(JwkUse::Skipped(KeyError::NotRsa)),
        Some(_) => return Err(KeyError::InvalidMember("kty")),
        None => return Err(KeyError::MissingMember("kty")),
    }
    match jwk.get("alg") {
        None => {}
        Some(Value::String(alg)) if alg.eq_str("RS256") => {}
        Some(Value::String(_)) => return Ok(JwkUse::Skipped(KeyError::NotForRs256("alg"))),
        Some(_) => return Err(KeyError::InvalidMember("alg")),
    }
    match jwk.get("use") {
        None => {}
        Some(Value::String(u)) if u.eq_str("sig") => {}
        Some(Value::String(_)) => return Ok(JwkUse::Skipped(KeyError::NotForRs256("use"))),
        Some(_) => return Err(KeyError::InvalidMember("use")),
    }
    match jwk.get("key_ops") {
        None => {}
        Some(Value::Array(ops)) => {
            let mut verify = false;
            for op in ops.elements() {
                match op.map_err(json_key_error)? {
                    Value::String(op) => verify |= op.eq_str("verify"),
                    _ => return Err(KeyError::InvalidMember("key_ops")),
                }
            }
            if !verify {
                return Ok(JwkUse::Skipped(KeyError::NotForRs256("key_ops")));
            }
        }
        Some(_) => return Err(KeyError::InvalidMember("key_ops")),
    }
    let mut n_buf = [0u8; MAX_SIGNATURE_LEN + 1];
    let n = base64_member(jwk, "n", &mut n_buf)?;
    let mut e_buf = [0u8; 8];
    let e = base64_member(jwk, "e", &mut e_buf).map_err(|err| match err {
        KeyError::TooLarge => KeyError::InvalidExponent,
        other => other,
    })?;
    let mut key = RsaVerifyingKey::from_components(n, e)?;
    match jwk.get("kid") {
        None => {}
        Some(Value::String(kid)) => {
            key.kid = Some(kid.decoded().map_err(|()| KeyError::KidTooLong)?);
        }
        Some(_) => return Err(KeyError::InvalidMember("kid")),
    }
    Ok(JwkUse::Usable(key))
}

fn base64_member<'b>(
    jwk: &Object<'_>,
    name: &'static str,
    buf: &'b mut [u8],
) -> Result<&'b [u8], KeyError> {
    let Some(value) = jwk.get(name) else {
        return Err(KeyError::MissingMember(name));
    };
    let Value::String(text) = value else {
        return Err(KeyError::InvalidMember(name));
    };
    // base64url never needs JSON escapes; an escaped value is not canonical.
    let text = text.unescaped_str().ok_or(KeyError::InvalidMember(name))?;
    match base64url::decode(text.as_bytes(), buf) {
        Ok(bytes) => Ok(bytes),
        Err(base64url::DecodeError::TooLong) if name == "n" => Err(KeyError::ModulusTooLarge {
            bits: base64url::decoded_len(text.len()) * 8,
        }),
        Err(base64url::DecodeError::TooLong) => Err(KeyError::TooLarge),
        Err(base64url::DecodeError::Invalid) => Err(KeyError::InvalidMember(name)),
    }
}

fn json_key_error(e: JsonError) -> KeyError {
    match e {
        JsonError::NotAnObject => KeyError::Malformed,
        _ => KeyError::Malformed,
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

fn bit_len(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(&top) => bytes.len() * 8 - top.leading_zeros() as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC7515_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

    fn jwk(extra: &str) -> String {
        format!(r#"{{"kty":"RSA","n":"{RFC7515_N}","e":"AQAB"{extra}}}"#)
    }

    #[test]
    fn reads_a_jwk() {
        let key =
            RsaVerifyingKey::from_jwk(&jwk(r#","kid":"k1","alg":"RS256","use":"sig""#)).unwrap();
        assert_eq!(key.bits(), 2048);
        assert_eq!(key.modulus_len(), 256);
        assert_eq!(key.kid(), Some("k1"));
    }

    #[test]
    fn refuses_unusable_single_jwks() {
        for (extra, err) in [
            (r#","alg":"RS512""#, KeyError::NotForRs256("alg")),
            (r#","use":"enc""#, KeyError::NotForRs256("use")),
            (
                r#","key_ops":["encrypt"]"#,
                KeyError::NotForRs256("key_ops"),
            ),
            (r#","d":"AQAB""#, KeyError::PrivateKeyMaterial),
            (r#","kid":7"#, KeyError::InvalidMember("kid")),
        ] {
            assert_eq!(RsaVerifyingKey::from_jwk(&jwk(extra)), Err(err), "{extra}");
        }
        assert_eq!(
            RsaVerifyingKey::from_jwk(r#"{"kty":"EC","crv":"P-256"}"#),
            Err(KeyError::NotRsa)
        );
    }

    #[test]
    fn key_size_boundaries() {
        // Odd moduli of exactly 2047, 2048, 8192 and 8193 bits.
        let modulus = |bits: usize| {
            let mut n = vec![0xffu8; bits.div_ceil(8)];
            let top_bits = bits % 8;
            if top_bits != 0 {
                n[0] = (1u8 << top_bits) - 1;
            }
            n
        };
        assert_eq!(
            RsaVerifyingKey::from_components(&modulus(2047), &[1, 0, 1]),
            Err(KeyError::ModulusTooSmall { bits: 2047 })
        );
        assert_eq!(
            RsaVerifyingKey::from_components(&modulus(2048), &[1, 0, 1])
                .unwrap()
                .bits(),
            2048
        );
        assert_eq!(
            RsaVerifyingKey::from_components(&modulus(8192), &[1, 0, 1])
                .unwrap()
                .bits(),
            8192
        );
        assert_eq!(
            RsaVerifyingKey::from_components(&modulus(8193), &[1, 0, 1]),
            Err(KeyError::ModulusTooLarge { bits: 8193 })
        );
        for e in [&[1u8][..], &[2], &[0], &[1, 0, 0], &[2, 0, 0, 0, 0]] {
            assert_eq!(
                RsaVerifyingKey::from_components(&modulus(2048), e),
                Err(KeyError::InvalidExponent),
                "{e:?}"
            );
        }
        assert!(RsaVerifyingKey::from_components(&modulus(2048), &[3]).is_ok());
        // MAX_PUBLIC_EXPONENT itself is accepted; the next odd value is not.
        let max_e = MAX_PUBLIC_EXPONENT.to_be_bytes();
        assert!(RsaVerifyingKey::from_components(&modulus(2048), &max_e).is_ok());
        let over_e = (MAX_PUBLIC_EXPONENT + 2).to_be_bytes();
        assert_eq!(
            RsaVerifyingKey::from_components(&modulus(2048), &over_e),
            Err(KeyError::InvalidExponent)
        );
        let mut even = modulus(2048);
        *even.last_mut().unwrap() = 0xfe;
        assert_eq!(
            RsaVerifyingKey::from_components(&even, &[1, 0, 1]),
            Err(KeyError::InvalidModulus)
        );
    }

    #[test]
    fn kid_rules_by_how_the_key_was_given() {
        let in_set = KeySet::from_jwks(&format!(r#"{{"keys":[{}]}}"#, jwk(""))).unwrap();
        let lone_jwk = KeySet::from_jwk(&jwk("")).unwrap();
        let lone_named = KeySet::from_jwk(&jwk(r#","kid":"k""#)).unwrap();
        let named_later = RsaVerifyingKey::from_jwk(&jwk(""))
            .unwrap()
            .with_kid("k")
            .unwrap();
        // (key, header kid, serves)
        for (key, kid, serves) in [
            (&in_set.as_slice()[0], None, true),
            (&in_set.as_slice()[0], Some("k"), false),
            (&lone_jwk.as_slice()[0], None, true),
            (&lone_jwk.as_slice()[0], Some("anything"), true),
            (&lone_named.as_slice()[0], Some("k"), true),
            (&lone_named.as_slice()[0], Some("other"), false),
            (&lone_named.as_slice()[0], None, true),
            (&named_later, Some("k"), true),
            (&named_later, Some("K"), false),
        ] {
            assert_eq!(key.serves_kid(kid), serves, "{:?} {kid:?}", key.kid());
        }
        assert!(in_set.as_slice()[0].same_public_key(&named_later));
    }

    #[test]
    fn jwks_skips_foreign_keys_and_selects_by_kid() {
        let set = KeySet::from_jwks(&format!(
            r#"{{"keys":[{{"kty":"EC","crv":"P-256","x":"a","y":"b"}},{},{},{}]}}"#,
            jwk(r#","kid":"a""#),
            jwk(r#","kid":"enc","use":"enc""#),
            jwk("")
        ))
        .unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.candidates(Some("a")).count(), 1);
        // An unknown kid names no key: no fallback to the set's keys without a kid.
        assert_eq!(set.candidates(Some("zzz")).count(), 0);
        assert_eq!(set.candidates(None).count(), 2);
        assert_eq!(
            KeySet::from_jwks(r#"{"keys":[]}"#),
            Err(KeyError::NoUsableKeys)
        );
        assert_eq!(
            KeySet::from_jwks(r#"{"kty":"RSA"}"#),
            Err(KeyError::MissingMember("keys"))
        );
    }

    #[test]
    fn jwks_key_count_limit() {
        let one = jwk("");
        let list = |n: usize| {
            let keys: Vec<&str> = std::iter::repeat_n(one.as_str(), n).collect();
            format!(r#"{{"keys":[{}]}}"#, keys.join(","))
        };
        assert_eq!(
            KeySet::from_jwks(&list(MAX_JWKS_KEYS)).unwrap().len(),
            MAX_JWKS_KEYS
        );
        assert_eq!(
            KeySet::from_jwks(&list(MAX_JWKS_KEYS + 1)),
            Err(KeyError::TooManyKeys)
        );
    }

    #[test]
    fn key_text_limit() {
        let mut big = jwk("");
        big.insert_str(1, &format!(r#""pad":"{}","#, "x".repeat(MAX_KEY_TEXT_LEN)));
        assert_eq!(KeySet::from_text(&big), Err(KeyError::TooLarge));
    }

    #[test]
    fn non_canonical_base64_members_are_refused() {
        let padded = format!(r#"{{"kty":"RSA","n":"{RFC7515_N}","e":"AQAB="}}"#);
        assert_eq!(
            RsaVerifyingKey::from_jwk(&padded),
            Err(KeyError::InvalidMember("e"))
        );
    }
}
