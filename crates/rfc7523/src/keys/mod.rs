//! Trusted public keys, one algorithm each: RSA (RS256, PS256), P-256 (ES256) and Ed25519
//! (EdDSA, Ed25519), read from JWK and JWK Set (RFC 7517; RFC 7518 §6.2–6.3; RFC 8037 §2),
//! SubjectPublicKeyInfo (RFC 5280 §4.1.2.7; RFC 5480; RFC 8410) and PKCS#1 `RSAPublicKey`
//! (RFC 8017 Appendix A.1.1), as DER or PEM (RFC 7468), and stored sized to the key. With the
//! feature `x509`, also from X.509 certificates (RFC 5280 §4.1): a PEM or DER `CERTIFICATE`,
//! an X.509 map (a JSON object of `kid` → PEM certificate, as Google publishes a service
//! account's keys), and a JWK's `x5c[0]`, whose key must be the JWK's (RFC 7517 §4.7); the
//! certificate's public key and validity are kept, nothing of it is trusted as a chain.
//!
//! - [`VerifyingKey`] — one key read from any format, owned, with what selects it (`kid`,
//!   `x5t#S256`, `x5t`) and the algorithm its JWK names.
//! - [`KeyStore`] — the keys of one party, stored in place: a byte array whose size the firmware
//!   chooses (`KeyStore<N>`; [`KeySet`] is the std layers' default size), each key taking what it needs (a 2048-bit RSA key about 540 bytes,
//!   a P-256 key 70, an Ed25519 key 38, plus its `kid`). [`Keys`] and [`KeyRef`] read it
//!   without copying.
//!
//! **One algorithm per key** (RFC 8725 §3.1, draft-ietf-oauth-rfc8725bis): a key verifies
//! exactly one `alg` (see [`KeyRef::serves_algorithm`]): its JWK `alg` when present; otherwise
//! the one algorithm of its key type the party allows (the registry's
//! `token_endpoint_auth_signing_alg`); otherwise its key type's default (RSA → `RS256`, P-256 →
//! `ES256`, Ed25519 → `EdDSA`, which RFC 9864 §2.2 also names `Ed25519`: both names of the one
//! algorithm are served). An RSA key never verifies ES256; a key whose JWK says RS256 never
//! verifies PS256.
//!
//! Unsafe keys are refused at load time with a precise [`KeyError`]: RSA moduli under
//! [`MIN_RSA_BITS`] or over [`MAX_RSA_BITS`], bad exponents, points off the curve or of small
//! order, and private key material in what should be a public key set. In a JWK Set, keys that
//! are not meant for verifying signatures with a supported algorithm are skipped, not refused
//! (another `kty` or curve, an `alg` this crate does not verify, `use` other than `sig`,
//! `key_ops` without `verify`: RFC 7517 §4.2–4.4); a single JWK of that kind is refused.

use core::fmt;

#[cfg(feature = "eddsa")]
use crate::alg::eddsa::Ed25519VerifyingKey;
#[cfg(feature = "es256")]
use crate::alg::es256::P256VerifyingKey;
use crate::alg::{Algorithm, KeyMaterialError, KeyType};
use crate::jws::MAX_HEADER_STRING_LEN;
use crate::party::KeyLookup;

#[cfg(feature = "x509")]
mod certificate;
mod der;
mod jwk;
mod rsa;
mod set;
mod source;
mod thumbprint;

use source::{Meta, Modulus, Source};

pub use jwk::MAX_CERTIFICATE_LEN;
pub use rsa::{RsaKey, RsaVerifyingKey, MAX_PUBLIC_EXPONENT, MAX_RSA_BITS, MIN_RSA_BITS};
#[cfg(feature = "alloc")]
pub use set::OwnedKeys;
pub use set::{
    KeyIter, KeySet, KeyStore, Keys, DEFAULT_KEY_SET_BYTES, MAX_KEY_RECORD_LEN,
    MAX_X509_MAP_MEMBERS,
};

/// Most keys one party's [`KeySet`] holds.
pub const MAX_JWKS_KEYS: usize = 16;

/// Longest key text accepted by the loaders (JWK Set JSON, JWK, PEM), in bytes: 16 keys of
/// 8192 bits with their metadata fit comfortably.
pub const MAX_KEY_TEXT_LEN: usize = 64 * 1024;

/// Length of an `x5t#S256` thumbprint: SHA-256 of the certificate's DER (RFC 7517 §4.9).
pub const X5T_S256_LEN: usize = 32;

/// Length of an `x5t` thumbprint: SHA-1 of the certificate's DER (RFC 7517 §4.8).
pub const X5T_LEN: usize = 20;

/// The validity of the certificate a key came from (RFC 5280 §4.1.2.5), in Unix seconds: from
/// `not_before` through `not_after`, both inclusive.
///
/// Reported, not enforced: a key from an expired certificate still verifies. RFC 7517 says
/// nothing of a certificate's dates for a key given with it, and Google's service-account
/// certificates are bare keys in a certificate's envelope (their `notAfter` is the key's
/// planned rotation, not a trust decision); the signer's key list is what says which keys are
/// current. [`KeyRef::validity`] gives the dates to whoever wants to warn or refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Validity {
    /// `notBefore`, Unix seconds.
    pub not_before: u64,
    /// `notAfter`, Unix seconds.
    pub not_after: u64,
}

impl Validity {
    /// True when `now` (Unix seconds) is within the validity period, its ends included.
    pub const fn contains(&self, now: u64) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

/// Why a key could not be loaded.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyError {
    /// The text is longer than [`MAX_KEY_TEXT_LEN`].
    TooLarge,
    /// Not a JWK, JWK Set, PEM or DER structure that could be read.
    Malformed,
    /// A member of a JWK has the wrong type, length, or is not canonical base64url.
    InvalidMember(&'static str),
    /// A JWK member that must be present is absent.
    MissingMember(&'static str),
    /// Not an RSA, EC or OKP key (`kty`), or an SPKI algorithm other than `rsaEncryption`,
    /// `id-ecPublicKey` and `id-Ed25519`.
    UnsupportedKeyType,
    /// An EC key on a curve other than P-256, or an OKP key other than Ed25519.
    UnsupportedCurve,
    /// The public point is not on the curve, is the identity or of small order, or is not
    /// canonically (or not uncompressed) encoded.
    InvalidPoint,
    /// A single JWK is not for verifying signatures (its `use` or `key_ops`).
    NotForSignatures(&'static str),
    /// A JWK's `alg` is not one this crate verifies (RS256, PS256, ES256, EdDSA, Ed25519).
    UnsupportedAlgorithm,
    /// A key's algorithm (its JWK `alg`) is for another key type: RS256 on an EC key, ….
    AlgorithmMismatch {
        /// The algorithm named.
        alg: Algorithm,
        /// The key's type.
        key_type: KeyType,
    },
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
    /// The key set's storage (`KeySet<N>`'s `N` bytes) has no room for the key.
    StorageFull {
        /// Bytes the key needs.
        needed: usize,
        /// Bytes left.
        left: usize,
    },
    /// A JWK Set with no key usable for a supported algorithm.
    NoUsableKeys,
    /// A `kid` longer than [`MAX_HEADER_STRING_LEN`].
    KidTooLong,
    /// A PEM label other than `PUBLIC KEY` or `RSA PUBLIC KEY`.
    UnsupportedPemLabel,
    /// A key for an algorithm this build leaves out (crate features `ps256`, `es256`, `eddsa`).
    NotBuiltIn(Algorithm),
    /// An X.509 certificate (a PEM `CERTIFICATE`, an X.509 map) given to a build without the
    /// crate feature `x509`.
    CertificatesNotBuiltIn,
    /// A certificate longer than [`MAX_CERTIFICATE_LEN`] bytes (DER; feature `x509`).
    #[cfg(feature = "x509")]
    CertificateTooLarge,
    /// Not exactly one DER X.509 certificate (RFC 5280 §4.1) that `x509-cert` reads: broken
    /// DER, bytes after it, dates before 1970, … (feature `x509`).
    #[cfg(feature = "x509")]
    InvalidCertificate,
    /// A member of an X.509 map whose value is not a PEM `CERTIFICATE` block (feature `x509`).
    #[cfg(feature = "x509")]
    NotACertificate,
    /// The key of a JWK's `x5c[0]` is not the key of the JWK's own members (RFC 7517 §4.7;
    /// feature `x509`: without it `x5c[0]` is only hashed).
    #[cfg(feature = "x509")]
    CertificateKeyMismatch,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            KeyError::TooLarge => write!(f, "key text longer than {MAX_KEY_TEXT_LEN} bytes"),
            KeyError::Malformed => f.write_str("not a readable JWK, JWK Set, PEM or DER key"),
            KeyError::InvalidMember(m) => write!(f, "the JWK member {m} is invalid"),
            KeyError::MissingMember(m) => write!(f, "the JWK member {m} is missing"),
            KeyError::UnsupportedKeyType => f.write_str("not an RSA, P-256 or Ed25519 public key"),
            KeyError::UnsupportedCurve => {
                f.write_str("unsupported curve (EC keys must be P-256, OKP keys Ed25519)")
            }
            KeyError::InvalidPoint => f.write_str("the public key is not a valid point"),
            KeyError::NotForSignatures(m) => {
                write!(f, "the JWK is not for verifying signatures (its {m})")
            }
            KeyError::UnsupportedAlgorithm => {
                f.write_str("the JWK's alg is not one of RS256, PS256, ES256, EdDSA and Ed25519")
            }
            KeyError::AlgorithmMismatch { alg, key_type } => {
                write!(f, "{alg} is not an algorithm of {key_type} keys")
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
            KeyError::StorageFull { needed, left } => write!(
                f,
                "the key set's storage is full (the key needs {needed} bytes, {left} are left)"
            ),
            KeyError::NoUsableKeys => {
                f.write_str("the JWK Set has no key usable for a supported algorithm")
            }
            KeyError::KidTooLong => {
                write!(f, "a kid longer than {MAX_HEADER_STRING_LEN} bytes")
            }
            KeyError::UnsupportedPemLabel => {
                f.write_str("PEM label must be PUBLIC KEY or RSA PUBLIC KEY")
            }
            KeyError::NotBuiltIn(alg) => write!(f, "this build does not verify {alg}"),
            KeyError::CertificatesNotBuiltIn => {
                f.write_str("this build does not read X.509 certificates (feature x509)")
            }
            #[cfg(feature = "x509")]
            KeyError::CertificateTooLarge => {
                write!(f, "a certificate longer than {MAX_CERTIFICATE_LEN} bytes")
            }
            #[cfg(feature = "x509")]
            KeyError::InvalidCertificate => {
                f.write_str("not a readable DER X.509 certificate (RFC 5280)")
            }
            #[cfg(feature = "x509")]
            KeyError::NotACertificate => f.write_str("not a PEM CERTIFICATE"),
            #[cfg(feature = "x509")]
            KeyError::CertificateKeyMismatch => f.write_str(
                "the key of the JWK's x5c certificate is not the JWK's key (RFC 7517 section 4.7)",
            ),
        }
    }
}

impl core::error::Error for KeyError {}

/// A refusal of a key text ([`KeyStore::load_text_detailed`]): the [`KeyError`], and the
/// `kid` of the X.509 map member it concerns, when it concerns one.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyTextError {
    /// What is wrong.
    pub error: KeyError,
    /// The member of an X.509 map (its name, a `kid`) that is wrong.
    pub kid: Option<Kid>,
}

impl From<KeyError> for KeyTextError {
    fn from(error: KeyError) -> Self {
        Self { error, kid: None }
    }
}

impl fmt::Display for KeyTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(kid) = &self.kid else {
            return self.error.fmt(f);
        };
        // Quoted and escaped by hand: `{:?}` would link the Unicode escape tables into every
        // wasm module that formats this error.
        f.write_str("X.509 map member \"")?;
        for c in kid.chars() {
            match c {
                '"' | '\\' => write!(f, "\\{c}")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() => write!(f, "\\u{{{:04x}}}", u32::from(c))?,
                c => fmt::Write::write_char(f, c)?,
            }
        }
        write!(f, "\": {}", self.error)
    }
}

impl core::error::Error for KeyTextError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<KeyMaterialError> for KeyError {
    fn from(e: KeyMaterialError) -> Self {
        match e {
            KeyMaterialError::Malformed => KeyError::Malformed,
            KeyMaterialError::MissingMember(m) => KeyError::MissingMember(m),
            KeyMaterialError::InvalidMember(m) => KeyError::InvalidMember(m),
            KeyMaterialError::WrongKeyType => KeyError::UnsupportedKeyType,
            KeyMaterialError::WrongCurve => KeyError::UnsupportedCurve,
            KeyMaterialError::PrivateKeyMaterial => KeyError::PrivateKeyMaterial,
            KeyMaterialError::InvalidPoint => KeyError::InvalidPoint,
        }
    }
}

/// A `kid` value (RFC 7517 §4.5).
pub type Kid = heapless::String<MAX_HEADER_STRING_LEN>;

/// The public key itself, of one of the three key types.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // read once, then stored sized to the key
pub enum KeyMaterial {
    /// An RSA key (RS256 or PS256).
    Rsa(RsaVerifyingKey),
    /// A P-256 key (ES256).
    #[cfg(feature = "es256")]
    P256(P256VerifyingKey),
    /// An Ed25519 key (EdDSA / Ed25519).
    #[cfg(feature = "eddsa")]
    Ed25519(Ed25519VerifyingKey),
}

impl KeyMaterial {
    /// The key's type.
    pub const fn key_type(&self) -> KeyType {
        match self {
            KeyMaterial::Rsa(_) => KeyType::Rsa,
            #[cfg(feature = "es256")]
            KeyMaterial::P256(_) => KeyType::P256,
            #[cfg(feature = "eddsa")]
            KeyMaterial::Ed25519(_) => KeyType::Ed25519,
        }
    }
}

impl KeyMaterial {
    /// The owned key of `source` (an RSA modulus decoded and checked, `R² mod n` computed).
    pub(crate) fn from_source(source: Source<'_>) -> Result<Self, KeyError> {
        Ok(match source {
            Source::Rsa { n, e } => KeyMaterial::Rsa(match n {
                Modulus::Bytes(n) | Modulus::Precomputed { n, .. } => {
                    RsaVerifyingKey::from_checked(rsa::check_modulus(n)?, e)?
                }
                Modulus::Base64(text) => {
                    let mut buf = [0u8; rsa::MAX_MODULUS_LEN + 1];
                    let n = jwk::decode_modulus(text, &mut buf)?;
                    RsaVerifyingKey::from_checked(rsa::check_modulus(n)?, e)?
                }
            }),
            #[cfg(feature = "es256")]
            Source::P256(point) => {
                let (x, y) = point.split_at(32);
                let (Ok(x), Ok(y)) = (<&[u8; 32]>::try_from(x), <&[u8; 32]>::try_from(y)) else {
                    return Err(KeyError::InvalidPoint);
                };
                KeyMaterial::P256(P256VerifyingKey::from_coordinates(x, y)?)
            }
            #[cfg(feature = "eddsa")]
            Source::Ed25519(bytes) => {
                KeyMaterial::Ed25519(Ed25519VerifyingKey::from_bytes(&bytes)?)
            }
        })
    }

    /// The material as a [`Source`] to store (an RSA key with its precomputed constants).
    pub(crate) fn as_source(&self) -> Source<'_> {
        match self {
            KeyMaterial::Rsa(key) => {
                let key = key.as_key();
                Source::Rsa {
                    n: Modulus::Precomputed {
                        n: key.modulus(),
                        rr: key.r_squared(),
                        n0: key.n0(),
                    },
                    e: key.exponent(),
                }
            }
            #[cfg(feature = "es256")]
            KeyMaterial::P256(point) => {
                let (x, y) = point.coordinates();
                Source::P256(source::concat(&x, &y))
            }
            #[cfg(feature = "eddsa")]
            KeyMaterial::Ed25519(key) => Source::Ed25519(key.to_bytes()),
        }
    }
}

/// One trusted public key, read from any supported format, with what selects it for a JWS
/// (`kid`, `x5t#S256`, `x5t`) and its algorithm when its JWK names one. Owned and sized for
/// the largest key (about 2 KiB): for tools and tests. A [`KeyStore`] loads keys in place
/// instead, without building one.
///
/// Which tokens a key may verify by their header `kid` ([`KeyRef::selected_by`]): a key with a
/// `kid` only those naming that `kid` or none; a key from a JWK Set without a `kid` only those
/// naming none (RFC 7515 §4.1.4: a `kid` that matches no key is not a reason to try others);
/// a key given on its own, with no `kid` to match (a PEM, DER or lone JWK without `kid`), every
/// token, whatever its `kid`, as jose does for a key passed directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKey {
    meta: Meta,
    material: KeyMaterial,
}

impl VerifyingKey {
    /// A key with no `kid` and no algorithm of its own (it serves any `kid`).
    pub const fn new(material: KeyMaterial) -> Self {
        Self {
            meta: Meta::new(),
            material,
        }
    }

    /// Reads a DER `SubjectPublicKeyInfo`: `rsaEncryption`, `id-ecPublicKey` with P-256, or
    /// `id-Ed25519`.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        Ok(Self::new(KeyMaterial::from_source(source::spki(der)?)?))
    }

    /// Reads a PEM `PUBLIC KEY` (SPKI, any supported key type) or `RSA PUBLIC KEY` (PKCS#1)
    /// block, or with the feature `x509` a `CERTIFICATE` (its public key and validity). Text
    /// before the `-----BEGIN` line and after the `-----END` line (other blocks included) is
    /// ignored (RFC 7468 §5.2). Private keys are refused as such.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let mut buf = [0u8; crate::pem::MAX_DER];
        match source::pem(pem, &mut buf)? {
            source::Pem::Key(source) => Ok(Self::new(KeyMaterial::from_source(source)?)),
            #[cfg(feature = "x509")]
            source::Pem::Certificate(body) => {
                Self::from_certificate(&certificate::from_pem_body(body)?)
            }
            #[cfg(not(feature = "x509"))]
            source::Pem::Certificate(_) => Err(KeyError::CertificatesNotBuiltIn),
        }
    }

    /// Reads a DER X.509 certificate (RFC 5280 §4.1; feature `x509`): its public key, as
    /// [`from_spki_der`](Self::from_spki_der) reads one, and its [`Validity`]. Nothing else
    /// of it is read or trusted: not its signature, issuer or extensions.
    #[cfg(feature = "x509")]
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_certificate(&certificate::from_der(der)?)
    }

    #[cfg(feature = "x509")]
    fn from_certificate(certificate: &certificate::Certificate) -> Result<Self, KeyError> {
        let mut key = Self::new(KeyMaterial::from_source(certificate.source()?)?);
        key.meta.validity = Some(certificate.validity);
        Ok(key)
    }

    /// Reads one JWK (RFC 7517 §4): RSA (RFC 7518 §6.3.1), EC P-256 (§6.2.1) or OKP Ed25519
    /// (RFC 8037 §2). A JWK not for verifying signatures with a supported algorithm is refused.
    pub fn from_jwk(json: &str) -> Result<Self, KeyError> {
        if json.len() > MAX_KEY_TEXT_LEN {
            return Err(KeyError::TooLarge);
        }
        let object = crate::json::parse_object(json.as_bytes()).map_err(|_| KeyError::Malformed)?;
        let (mut meta, source) = jwk::read(&object)??;
        meta.any_kid = meta.kid.is_none();
        Ok(Self {
            meta,
            material: KeyMaterial::from_source(source)?,
        })
    }

    /// Sets the key's `kid`: it then verifies only tokens naming that `kid` or none.
    pub fn with_kid(mut self, kid: &str) -> Result<Self, KeyError> {
        let mut value = Kid::new();
        value.push_str(kid).map_err(|_| KeyError::KidTooLong)?;
        self.meta.kid = Some(value);
        self.meta.any_kid = false;
        Ok(self)
    }

    /// Pins the key to `alg` (as a JWK's `alg` does); an algorithm of another key type is
    /// refused.
    pub fn with_algorithm(mut self, alg: Algorithm) -> Result<Self, KeyError> {
        let key_type = self.material.key_type();
        if alg.key_type() != key_type {
            return Err(KeyError::AlgorithmMismatch { alg, key_type });
        }
        self.meta.alg = Some(alg);
        Ok(self)
    }

    /// The public key.
    pub const fn material(&self) -> &KeyMaterial {
        &self.material
    }

    /// The public key, by value.
    pub fn into_material(self) -> KeyMaterial {
        self.material
    }

    /// The key's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.meta.kid.as_deref()
    }

    /// The algorithm its JWK names, if any.
    pub const fn algorithm(&self) -> Option<Algorithm> {
        self.meta.alg
    }

    /// The key's `x5t#S256` (RFC 7517 §4.9), from its JWK member or computed from `x5c[0]`.
    pub const fn x5t_s256(&self) -> Option<&[u8; X5T_S256_LEN]> {
        self.meta.x5t_s256.as_ref()
    }

    /// The validity of the certificate the key came from (a `CERTIFICATE`, or a JWK's
    /// `x5c[0]`; feature `x509`): reported, not enforced.
    pub const fn validity(&self) -> Option<Validity> {
        #[cfg(feature = "x509")]
        return self.meta.validity;
        #[cfg(not(feature = "x509"))]
        None
    }

    /// True when `other` is the same public key, whatever the `kid`s: a registry refuses one
    /// key listed for two parties.
    pub fn same_public_key(&self, other: &VerifyingKey) -> bool {
        match (&self.material, &other.material) {
            (KeyMaterial::Rsa(a), KeyMaterial::Rsa(b)) => a.same_public_key(b),
            #[cfg(feature = "es256")]
            (KeyMaterial::P256(a), KeyMaterial::P256(b)) => a == b,
            #[cfg(feature = "eddsa")]
            (KeyMaterial::Ed25519(a), KeyMaterial::Ed25519(b)) => a == b,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    pub(crate) const fn meta(&self) -> &Meta {
        &self.meta
    }
}

/// The public key of a [`KeyRef`], borrowed from the key set's storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaterialRef<'a> {
    /// RSA: modulus and Montgomery constant.
    Rsa(RsaKey<'a>),
    /// P-256: the affine coordinates `x || y`, validated when the key was stored.
    P256(&'a [u8; 64]),
    /// Ed25519: the 32-byte encoding, validated when the key was stored.
    Ed25519(&'a [u8; 32]),
}

impl MaterialRef<'_> {
    /// The key's type.
    pub const fn key_type(&self) -> KeyType {
        match self {
            MaterialRef::Rsa(_) => KeyType::Rsa,
            MaterialRef::P256(_) => KeyType::P256,
            MaterialRef::Ed25519(_) => KeyType::Ed25519,
        }
    }
}

/// One key of a [`KeySet`], read in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRef<'a> {
    pub(crate) material: MaterialRef<'a>,
    pub(crate) alg: Option<Algorithm>,
    pub(crate) kid: Option<&'a str>,
    pub(crate) x5t_s256: Option<&'a [u8; X5T_S256_LEN]>,
    pub(crate) x5t: Option<&'a [u8; X5T_LEN]>,
    #[cfg(feature = "x509")]
    pub(crate) validity: Option<Validity>,
    pub(crate) any_kid: bool,
}

/// What a JWS header says about its key (RFC 7515 §4.1.4, §4.1.7, §4.1.8): the `kid`, and the
/// certificate thumbprints `x5t#S256` and `x5t` (Microsoft Entra's clients send these instead
/// of a `kid`). Only used to choose among a party's own keys: nothing in a header is a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyHint<'h> {
    /// The header's `kid`.
    pub kid: Option<&'h str>,
    /// The header's `x5t#S256`, decoded.
    pub x5t_s256: Option<&'h [u8; X5T_S256_LEN]>,
    /// The header's `x5t`, decoded.
    pub x5t: Option<&'h [u8; X5T_LEN]>,
}

impl<'a> KeyRef<'a> {
    /// The public key.
    pub const fn material(&self) -> MaterialRef<'a> {
        self.material
    }

    /// The key's `kid`, if any.
    pub const fn kid(&self) -> Option<&'a str> {
        self.kid
    }

    /// The algorithm the key's JWK names, if any.
    pub const fn pinned_algorithm(&self) -> Option<Algorithm> {
        self.alg
    }

    /// The key's `x5t#S256` (RFC 7517 §4.9), from its JWK member or computed from `x5c[0]`.
    pub const fn x5t_s256(&self) -> Option<&'a [u8; X5T_S256_LEN]> {
        self.x5t_s256
    }

    /// The key's `x5t` (RFC 7517 §4.8), from its JWK member.
    pub const fn x5t(&self) -> Option<&'a [u8; X5T_LEN]> {
        self.x5t
    }

    /// True when the key serves tokens whatever their header `kid` (a key given on its own
    /// without one; see [`selected_by`](Self::selected_by)).
    pub const fn serves_any_kid(&self) -> bool {
        self.any_kid
    }

    /// The validity of the certificate the key came from (a `CERTIFICATE`, an X.509 map's
    /// member, a JWK's `x5c[0]`; feature `x509`), `None` for a key given without one. Kept in
    /// the key's record (16 bytes, only for these keys) and reported, not enforced: see
    /// [`Validity`].
    pub const fn validity(&self) -> Option<Validity> {
        #[cfg(feature = "x509")]
        return self.validity;
        #[cfg(not(feature = "x509"))]
        None
    }

    /// The key's JWK thumbprint (RFC 7638 §3): the SHA-256 of its required members in
    /// lexicographic order without white space (`e`, `kty`, `n` for RSA; `crv`, `kty`, `x`,
    /// `y` for P-256; `crv`, `kty`, `x` for Ed25519, RFC 8037 §2), whatever format it came in.
    pub fn thumbprint(&self) -> [u8; 32] {
        thumbprint::of(&self.material)
    }

    /// True when this key is chosen for a JWS whose header says `hint`:
    /// - a header `kid`: the key's `kid` is the same, or the key was given on its own without
    ///   one (it serves any `kid`); a `kid` that names no key chooses none, with no fallback;
    /// - a header thumbprint (`x5t#S256` or `x5t`): the key's thumbprint is the same, or the
    ///   key was given on its own;
    /// - neither: every key.
    ///
    /// When a header has both, either choosing the key is enough (MSAL sends a `kid` that is a
    /// hex thumbprint beside `x5t`).
    pub fn selected_by(&self, hint: &KeyHint<'_>) -> bool {
        let by_thumbprint = match (hint.x5t_s256, self.x5t_s256, hint.x5t, self.x5t) {
            (Some(h), Some(k), _, _) if h == k => true,
            (_, _, Some(h), Some(k)) if h == k => true,
            _ => false,
        };
        match (hint.kid, hint.x5t_s256.is_some() || hint.x5t.is_some()) {
            (None, false) => true,
            (Some(kid), _) if self.any_kid || self.kid == Some(kid) => true,
            (_, true) => by_thumbprint || self.any_kid,
            (Some(_), false) => false,
        }
    }

    /// The one algorithm this key verifies under a party that allows `allowed` (see the module
    /// docs): its JWK `alg`; else the one algorithm of its key type in `allowed`; else its key
    /// type's default. For Ed25519 without a JWK `alg`, `EdDSA` and `Ed25519` are two names of
    /// the one algorithm (RFC 9864 §2.2) and both are served.
    pub fn serves_algorithm(&self, alg: Algorithm, allowed: crate::alg::Algorithms) -> bool {
        let key_type = self.material.key_type();
        if alg.key_type() != key_type || !allowed.contains(alg) || !crate::alg::is_built_in(alg) {
            return false;
        }
        if let Some(pinned) = self.alg {
            return pinned == alg;
        }
        match key_type {
            KeyType::Ed25519 => true,
            KeyType::Rsa | KeyType::P256 => match allowed.only_one_of(key_type) {
                Some(one) => one == alg,
                None => alg == key_type.default_algorithm(),
            },
        }
    }

    /// Verifies `signature` over the JWS signing input `message` (`digest`: its SHA-256, once
    /// computed)
    /// with `alg`, which the caller has checked this key serves. First the form `alg` requires
    /// of a signature (`alg/form.rs`); then `lookup`'s
    /// [`verify_signature`](KeyLookup::verify_signature) decides, when it does; otherwise this
    /// crate's implementation, with `lookup`'s [`rsavp1`](KeyLookup::rsavp1) as RSA's
    /// public-key operation.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        digest: &core::cell::Cell<Option<[u8; 32]>>,
        signature: &[u8],
        lookup: &dyn KeyLookup,
    ) -> Result<(), crate::alg::VerifyFailure> {
        use crate::alg::{form, rs256, VerifyFailure};
        match (self.material, alg) {
            (MaterialRef::Rsa(key), _) => form::rsa(key.modulus(), signature)?,
            #[cfg(feature = "es256")]
            (MaterialRef::P256(_), _) => form::es256(signature)?,
            #[cfg(feature = "eddsa")]
            (MaterialRef::Ed25519(_), _) => form::ed25519(signature)?,
            #[allow(unreachable_patterns)]
            _ => {}
        }
        let check = SignatureCheck {
            key: *self,
            alg,
            message,
            signature,
        };
        if let Some(verified) = lookup.verify_signature(&check) {
            return if verified {
                Ok(())
            } else {
                Err(VerifyFailure::Invalid)
            };
        }
        // A `Cell`, not a `OnceCell`: its reentrancy panic would put panic strings into the
        // size-budgeted npm module.
        let digest = || -> [u8; 32] {
            use sha2::Digest;
            digest.get().unwrap_or_else(|| {
                let value = sha2::Sha256::digest(message).into();
                digest.set(Some(value));
                value
            })
        };
        match (self.material, alg) {
            (MaterialRef::Rsa(key), Algorithm::Rs256) => {
                rs256::verify(key.modulus(), &digest(), signature, &|em| {
                    lookup.rsavp1(&key, signature, em)
                })
            }
            #[cfg(feature = "ps256")]
            (MaterialRef::Rsa(key), Algorithm::Ps256) => {
                crate::alg::ps256::verify(key.modulus(), key.bits(), &digest(), signature, &|em| {
                    lookup.rsavp1(&key, signature, em)
                })
            }
            #[cfg(feature = "es256")]
            (MaterialRef::P256(point), Algorithm::Es256) => {
                crate::alg::es256::verify_with_point(point, &digest(), signature)
            }
            #[cfg(feature = "eddsa")]
            (MaterialRef::Ed25519(bytes), Algorithm::EdDsa | Algorithm::Ed25519) => {
                crate::alg::eddsa::verify_with_encoding(bytes, message, signature)
            }
            _ => Err(VerifyFailure::Invalid),
        }
    }
}

/// One signature for a [`KeyLookup::verify_signature`] to judge: a key of a party, the one
/// algorithm it serves for this assertion, the JWS signing input (RFC 7515 §5.2 step 8:
/// `BASE64URL(header) || '.' || BASE64URL(payload)`, not its digest) and the signature, whose
/// form for `alg` this crate has already checked (`alg/form.rs`).
#[derive(Clone, Copy, Debug)]
pub struct SignatureCheck<'a> {
    key: KeyRef<'a>,
    alg: Algorithm,
    message: &'a [u8],
    signature: &'a [u8],
}

impl<'a> SignatureCheck<'a> {
    /// The key, a key of the party the assertion names.
    pub const fn key(&self) -> &KeyRef<'a> {
        &self.key
    }

    /// The algorithm: the header's `alg`, which this key serves.
    pub const fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The JWS signing input, as signed.
    pub const fn message(&self) -> &'a [u8] {
        self.message
    }

    /// The signature, of the form `alg` requires.
    pub const fn signature(&self) -> &'a [u8] {
        self.signature
    }
}

#[cfg(test)]
mod tests;
