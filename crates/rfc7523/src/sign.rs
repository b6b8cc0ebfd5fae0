//! Client side (feature `sign`): build and sign JWTs from a private key, in two modes.
//!
//! - **RFC 7523 assertions** ([`AssertionRequest`], [`AssertionSigner::sign`]): `iss`, `sub`,
//!   `aud`, `exp` (`now` + lifetime, [`DEFAULT_LIFETIME`] by default), `iat`, and a `jti` of
//!   128 random bits (getrandom) unless one is given. For client authentication
//!   ([`AssertionRequest::client_authentication`]) the header carries
//!   `typ: client-authentication+jwt` and `iss` must equal `sub` (RFC 7523 §3, RFC 10070).
//! - **Plain JWTs** ([`JwtRequest`], [`AssertionSigner::sign_jwt`]): the claims a relying
//!   party defines for itself outside RFC 7523 (RFC 7519), such as the client secret of Sign
//!   in with Apple ([`JwtRequest::sign_in_with_apple`]): `iss` and `sub` independent, no
//!   `typ`, a `jti` only when given, a lifetime of [`MIN_JWT_LIFETIME`] to
//!   [`MAX_JWT_LIFETIME`] seconds.
//!
//! Either mode takes extra claims ([`AssertionSigner::sign_with_claims`],
//! [`AssertionSigner::sign_jwt_with_claims`]): top-level string claims after the standard
//! ones, such as those of a CI job's OIDC token (`repository`, `ref`, …) for a rehearsal of
//! workload identity. At most [`MAX_EXTRA_CLAIMS`], names of 1 to [`MAX_EXTRA_CLAIM_NAME_LEN`]
//! bytes, distinct and none of the registered claims the signer sets itself
//! (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`), values of 0 to
//! [`MAX_CLAIM_STRING_LEN`] bytes, JSON-escaped as RFC 8259 §7 requires; the whole token at
//! most [`MAX_TOKEN_LEN`] bytes ([`SignError::TooLarge`]).
//!
//! The algorithm comes from the key ([`AssertionSigner::algorithm`]): an RSA key (PKCS#8
//! `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`, 2048 to 8192 bits) signs RS256, or PS256 when
//! asked ([`AssertionSigner::with_algorithm`]); a P-256 key (PKCS#8, such as Apple's `.p8`
//! files) ES256, the 64-byte `R || S` of RFC 7518 §3.4, deterministic (RFC 6979); an Ed25519
//! key (PKCS#8) `EdDSA` (RFC 8037 §3.1), or the fully-specified `Ed25519` of RFC 9864 §2.2
//! when asked. PS256 is RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt from the
//! operating system's random source (RFC 7518 §3.5). An algorithm that does not fit the key
//! is [`SignError::AlgorithmMismatch`]; encrypted keys are refused ([`SignError::EncryptedKey`]).
//!
//! **Security note (RUSTSEC-2023-0071, "Marvin"):** the `rsa` crate's private-key operation is
//! not constant-time; an attacker who can time many signatures made with the same key, on the
//! same machine or over a low-noise network, may recover the key. Signing here uses RSA
//! blinding with fresh randomness, which reduces but does not remove the leak. Sign where
//! timing cannot be observed at that precision (a batch job, not a shared host answering
//! attacker-triggered signing requests), or use a constant-time signer. Verification uses only
//! the public key and is not affected; P-256 and Ed25519 signing is not affected either.

use core::fmt;

use alloc::vec::Vec;
use base64ct::{Base64UrlUnpadded, Encoding};
use rand_core::{CryptoRng, RngCore};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, ObjectIdentifier, PrivateKeyInfo};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::claims::MAX_CLAIM_STRING_LEN;
use crate::error::REGISTERED_CLAIMS as GOVERNED_CLAIMS;
use crate::jws::{HeaderString, MAX_HEADER_LEN, MAX_PAYLOAD_LEN, MAX_TOKEN_LEN};
use crate::keys::{KeyError, MAX_RSA_BITS, MIN_RSA_BITS};
use crate::profile::CLIENT_AUTHENTICATION_TYP;

pub use crate::alg::{Algorithm, KeyType};
pub use service_account::{
    grant_request_body, split_scopes, ServiceAccount, ServiceAccountError, ServiceAccountRequest,
    GOOGLE_TOKEN_URI, JWT_BEARER_GRANT_TYPE, MAX_SCOPE_LEN, MAX_SERVICE_ACCOUNT_LEN,
    SERVICE_ACCOUNT_LIFETIME, SERVICE_ACCOUNT_TYPE,
};

mod service_account;

/// Default lifetime in seconds (5 minutes), of assertions and plain JWTs alike.
pub const DEFAULT_LIFETIME: u64 = 300;

/// Longest PEM private key accepted, in bytes.
pub const MAX_PRIVATE_KEY_PEM_LEN: usize = 16 * 1024;

/// Shortest lifetime of a plain JWT ([`JwtRequest`]), in seconds: `exp` after `iat`.
pub const MIN_JWT_LIFETIME: u64 = 1;

/// Longest lifetime of a plain JWT ([`JwtRequest`]), in seconds: 15,777,000 (about six
/// months), the most Sign in with Apple accepts for a client secret (its `exp` at most this
/// far after Apple's clock). A signer whose clock may run ahead of Apple's leaves a margin.
pub const MAX_JWT_LIFETIME: u64 = 15_777_000;

/// Most extra claims in one token ([`AssertionSigner::sign_with_claims`]): room for every
/// claim of a GitHub Actions OIDC token (about 25 beside `iss`, `sub`, `aud`, the times and
/// `jti`) with some to spare, and with the standard claims well under the verifier's
/// [`MAX_JSON_MEMBERS`](crate::limits::MAX_JSON_MEMBERS) members per object.
pub const MAX_EXTRA_CLAIMS: usize = 32;

/// Longest extra claim name, in bytes. GitHub's and GitLab's longest have 21
/// (`repository_visibility`, `environment_protected`); a claim condition can name at most
/// [`MAX_CONDITION_NAME_LEN`](crate::limits::MAX_CONDITION_NAME_LEN) bytes.
pub const MAX_EXTRA_CLAIM_NAME_LEN: usize = 64;

/// The `aud` of a Sign in with Apple client secret.
pub const APPLE_AUDIENCE: &str = "https://appleid.apple.com";

/// The PSS salt length: the SHA-256 output, as RFC 7518 §3.5 requires.
const PSS_SALT_LEN: usize = 32;

/// PKCS#8 algorithm identifiers (RFC 8017 Appendix A.1, RFC 5480 §2.1.1, RFC 8410 §3).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Why a JWT could not be signed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignError {
    /// The private key could not be used.
    Key(KeyError),
    /// The PEM is encrypted (`ENCRYPTED PRIVATE KEY`, or a `Proc-Type: 4,ENCRYPTED` header):
    /// decrypt it first.
    EncryptedKey,
    /// A PEM label other than `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1); an
    /// `EC PRIVATE KEY` (SEC 1) in particular: P-256 and Ed25519 keys must be PKCS#8.
    UnsupportedPemLabel,
    /// A PKCS#8 key of a type or curve other than RSA, P-256 and Ed25519.
    UnsupportedKeyType,
    /// The algorithm asked for cannot be made with this key (RFC 8725 §3.1).
    AlgorithmMismatch {
        /// The algorithm asked for.
        algorithm: Algorithm,
        /// The key's type.
        key_type: KeyType,
    },
    /// A claim value is empty or longer than [`MAX_CLAIM_STRING_LEN`].
    InvalidValue(&'static str),
    /// Client authentication requires `iss` == `sub` (RFC 7523 §3 item 2.B).
    IssuerIsNotSubject,
    /// A plain JWT's lifetime outside [`MIN_JWT_LIFETIME`]..=[`MAX_JWT_LIFETIME`].
    LifetimeOutOfRange {
        /// The lifetime asked for, in seconds.
        lifetime: u64,
        /// The longest allowed ([`MAX_JWT_LIFETIME`]).
        max: u64,
    },
    /// A service-account grant without a scope ([`ServiceAccountRequest::scopes`] empty).
    NoScope,
    /// A scope that is not an RFC 6749 §3.3 scope-token: empty, or with a character outside
    /// printable ASCII, a space, `"` or `\`.
    InvalidScope {
        /// Its position among the scopes, from 0.
        index: usize,
    },
    /// The scopes joined are longer than [`MAX_SCOPE_LEN`].
    ScopeTooLong {
        /// Their length joined by spaces, in bytes.
        len: usize,
        /// [`MAX_SCOPE_LEN`].
        max: usize,
    },
    /// An extra claim that cannot be signed ([`AssertionSigner::sign_with_claims`]).
    ExtraClaim {
        /// Its position among the extra claims, from 0.
        index: usize,
        /// What is wrong with it.
        problem: ExtraClaimProblem,
    },
    /// More than [`MAX_EXTRA_CLAIMS`] extra claims.
    TooManyClaims {
        /// How many were given.
        count: usize,
    },
    /// The signed token would be longer than [`MAX_TOKEN_LEN`] bytes (what the verifier
    /// accepts).
    TooLarge,
    /// The operating system's random source failed.
    Randomness,
    /// The signature operation failed.
    Signing,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SignError::Key(e) => e.fmt(f),
            SignError::EncryptedKey => f.write_str(
                "the private key is encrypted; decrypt it first \
                 (openssl pkey -in KEY -out PLAIN.pem)",
            ),
            SignError::UnsupportedPemLabel => f.write_str(
                "not a PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1) PEM; EC and Ed25519 \
                 keys must be PKCS#8 (openssl pkcs8 -topk8 -nocrypt -in KEY)",
            ),
            SignError::UnsupportedKeyType => {
                f.write_str("not an RSA, P-256 or Ed25519 private key")
            }
            SignError::AlgorithmMismatch {
                algorithm,
                key_type,
            } => write!(
                f,
                "{algorithm} needs {} key, not {} key",
                article(algorithm.key_type()),
                article(key_type)
            ),
            SignError::InvalidValue(name) => {
                write!(f, "{name} must be 1 to {MAX_CLAIM_STRING_LEN} bytes long")
            }
            SignError::IssuerIsNotSubject => {
                f.write_str("client authentication requires issuer == subject (the client id)")
            }
            SignError::LifetimeOutOfRange { lifetime, max } => write!(
                f,
                "a lifetime of {lifetime} s is outside {MIN_JWT_LIFETIME}..={max} s"
            ),
            SignError::NoScope => f.write_str("at least one scope is required"),
            SignError::InvalidScope { index } => write!(
                f,
                "scope {} is not an RFC 6749 scope (1 or more printable ASCII characters \
                 other than space, \" and \\)",
                index.saturating_add(1)
            ),
            SignError::ScopeTooLong { len, max } => write!(
                f,
                "the scopes take {len} bytes joined by spaces, more than {max}"
            ),
            SignError::ExtraClaim { index, problem } => {
                write!(f, "extra claim {}: {problem}", index.saturating_add(1))
            }
            SignError::TooManyClaims { count } => {
                write!(f, "{count} extra claims, more than {MAX_EXTRA_CLAIMS}")
            }
            SignError::TooLarge => write!(
                f,
                "the signed token would be longer than {MAX_TOKEN_LEN} bytes"
            ),
            SignError::Randomness => f.write_str("the system random source failed"),
            SignError::Signing => f.write_str("the signature operation failed"),
        }
    }
}

impl core::error::Error for SignError {}

/// Why an extra claim cannot be signed ([`SignError::ExtraClaim`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtraClaimProblem {
    /// An empty name.
    EmptyName,
    /// A name longer than [`MAX_EXTRA_CLAIM_NAME_LEN`] bytes.
    NameTooLong,
    /// A registered claim the signer sets itself (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`).
    Governed,
    /// The same name as an earlier extra claim.
    Duplicate,
    /// A value longer than [`MAX_CLAIM_STRING_LEN`] bytes.
    ValueTooLong,
}

impl fmt::Display for ExtraClaimProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtraClaimProblem::EmptyName => f.write_str("an empty claim name"),
            ExtraClaimProblem::NameTooLong => write!(
                f,
                "a claim name longer than {MAX_EXTRA_CLAIM_NAME_LEN} bytes"
            ),
            ExtraClaimProblem::Governed => f.write_str(
                "a registered claim the signer sets itself (iss, sub, aud, exp, nbf, iat, jti)",
            ),
            ExtraClaimProblem::Duplicate => f.write_str("the same claim name twice"),
            ExtraClaimProblem::ValueTooLong => {
                write!(f, "a value longer than {MAX_CLAIM_STRING_LEN} bytes")
            }
        }
    }
}

/// "an RSA", "a P-256", "an Ed25519".
fn article(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::Rsa => "an RSA",
        KeyType::P256 => "a P-256",
        KeyType::Ed25519 => "an Ed25519",
    }
}

/// A private key and the one algorithm it signs with: RSA (RS256 or PS256; 2048 to 8192
/// bits, checked like the public keys), P-256 (ES256) or Ed25519 (`EdDSA` or `Ed25519`).
#[derive(Clone)]
pub struct AssertionSigner {
    key: PrivateKey,
    algorithm: Algorithm,
}

#[derive(Clone)]
enum PrivateKey {
    Rsa { key: RsaPrivateKey, bits: usize },
    P256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl fmt::Debug for AssertionSigner {
    /// The algorithm and key size only: never the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("algorithm", &self.algorithm)
            .field("key_type", &self.key_type())
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

impl AssertionSigner {
    /// Reads a PEM `PRIVATE KEY` (PKCS#8: RSA, P-256 or Ed25519) or `RSA PRIVATE KEY`
    /// (PKCS#1). The algorithm is the key type's default: RS256, ES256 or `EdDSA`.
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        if pem.len() > MAX_PRIVATE_KEY_PEM_LEN {
            return Err(SignError::Key(KeyError::TooLarge));
        }
        let start = pem
            .find("-----BEGIN ")
            .ok_or(SignError::Key(KeyError::Malformed))?;
        let pem = pem.get(start..).unwrap_or_default().trim_end();
        // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) mark OpenSSL's encrypted PKCS#1 keys.
        if pem.contains("Proc-Type:") && pem.contains("ENCRYPTED") {
            return Err(SignError::EncryptedKey);
        }
        match pem_rfc7468::decode_label(pem.as_bytes()) {
            Ok("PRIVATE KEY" | "RSA PRIVATE KEY") => {}
            Ok("ENCRYPTED PRIVATE KEY") => return Err(SignError::EncryptedKey),
            Ok(_) => return Err(SignError::UnsupportedPemLabel),
            Err(_) => return Err(SignError::Key(KeyError::Malformed)),
        }
        let mut buf = [0u8; MAX_PRIVATE_KEY_PEM_LEN];
        let (label, der) = pem_rfc7468::decode(pem.as_bytes(), &mut buf)
            .map_err(|_| SignError::Key(KeyError::Malformed))?;
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(der),
            _ => Self::from_key(
                RsaPrivateKey::from_pkcs1_der(der)
                    .map_err(|_| SignError::Key(KeyError::Malformed))?,
            ),
        }
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (RFC 5208, RFC 5958) in DER: RSA, P-256 or Ed25519.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SignError> {
        let malformed = |_| SignError::Key(KeyError::Malformed);
        let info = PrivateKeyInfo::try_from(der).map_err(malformed)?;
        let oid = info.algorithm.oid;
        if oid == RSA_ENCRYPTION {
            Self::from_key(RsaPrivateKey::from_pkcs8_der(der).map_err(malformed)?)
        } else if oid == ID_EC_PUBLIC_KEY {
            if info.algorithm.parameters_oid().ok() != Some(PRIME256V1) {
                return Err(SignError::UnsupportedKeyType);
            }
            let key = p256::SecretKey::from_pkcs8_der(der).map_err(malformed)?;
            Ok(Self {
                key: PrivateKey::P256(key.into()),
                algorithm: Algorithm::Es256,
            })
        } else if oid == ID_ED25519 {
            let key = ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(malformed)?;
            Ok(Self {
                key: PrivateKey::Ed25519(key),
                algorithm: Algorithm::EdDsa,
            })
        } else {
            Err(SignError::UnsupportedKeyType)
        }
    }

    /// Wraps an `rsa` private key (RS256).
    pub fn from_key(key: RsaPrivateKey) -> Result<Self, SignError> {
        let bits = key.n().bits();
        if bits < MIN_RSA_BITS {
            return Err(SignError::Key(KeyError::ModulusTooSmall { bits }));
        }
        if bits > MAX_RSA_BITS {
            return Err(SignError::Key(KeyError::ModulusTooLarge { bits }));
        }
        Ok(Self {
            key: PrivateKey::Rsa { key, bits },
            algorithm: Algorithm::Rs256,
        })
    }

    /// This key signing with `algorithm` instead: PS256 for an RSA key, `Ed25519` (RFC 9864)
    /// for an Ed25519 key, or the default again. [`SignError::AlgorithmMismatch`] when the
    /// algorithm needs another key type (RFC 8725 §3.1).
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Result<Self, SignError> {
        let key_type = self.key_type();
        if algorithm.key_type() != key_type {
            return Err(SignError::AlgorithmMismatch {
                algorithm,
                key_type,
            });
        }
        self.algorithm = algorithm;
        Ok(self)
    }

    /// The algorithm of the header's `alg`.
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key's type.
    pub const fn key_type(&self) -> KeyType {
        match self.key {
            PrivateKey::Rsa { .. } => KeyType::Rsa,
            PrivateKey::P256(_) => KeyType::P256,
            PrivateKey::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// The key size in bits: the RSA modulus length; 256 for P-256 and Ed25519.
    pub const fn bits(&self) -> usize {
        match self.key {
            PrivateKey::Rsa { bits, .. } => bits,
            PrivateKey::P256(_) | PrivateKey::Ed25519(_) => 256,
        }
    }

    /// The public key as its JWK members' bytes (for publishing a JWK): `(n, e)` for RSA,
    /// `(x, y)` for P-256 (RFC 7518 §6.2.1), `(x, [])` for Ed25519 (RFC 8037 §2).
    pub fn public_components(&self) -> (Vec<u8>, Vec<u8>) {
        match &self.key {
            PrivateKey::Rsa { key, .. } => (key.n().to_bytes_be(), key.e().to_bytes_be()),
            PrivateKey::P256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                let coordinate = |c: Option<&p256::FieldBytes>| c.map(|c| c.to_vec());
                (
                    coordinate(point.x()).unwrap_or_default(),
                    coordinate(point.y()).unwrap_or_default(),
                )
            }
            PrivateKey::Ed25519(key) => (key.verifying_key().to_bytes().to_vec(), Vec::new()),
        }
    }

    /// Builds and signs an RFC 7523 assertion at time `now` (Unix seconds).
    pub fn sign(
        &self,
        request: &AssertionRequest<'_>,
        now: u64,
    ) -> Result<heapless::String<MAX_TOKEN_LEN>, SignError> {
        self.sign_with_claims(request, &[], now)
    }

    /// [`sign`](Self::sign) with extra top-level string claims, `(name, value)`, written after
    /// the standard ones in this order (see the [module docs](self) for their rules).
    pub fn sign_with_claims(
        &self,
        request: &AssertionRequest<'_>,
        extra: &[(&str, &str)],
        now: u64,
    ) -> Result<heapless::String<MAX_TOKEN_LEN>, SignError> {
        check_extra_claims(extra)?;
        for (name, value) in [
            ("issuer", request.issuer),
            ("subject", request.subject),
            ("audience", request.audience),
        ] {
            check_value(name, value)?;
        }
        if let Some(jti) = request.jti {
            check_value("jti", jti)?;
        }
        if request.client_authentication && request.issuer != request.subject {
            return Err(SignError::IssuerIsNotSubject);
        }
        let kid = header_kid(request.kid)?;
        let mut random_jti = heapless::String::<24>::new();
        let jti = match request.jti {
            Some(jti) => jti,
            None => random_jti_into(&mut random_jti)?,
        };
        let header = HeaderOut {
            alg: self.algorithm.as_str(),
            typ: Some(if request.client_authentication {
                CLIENT_AUTHENTICATION_TYP
            } else {
                "JWT"
            }),
            kid: request.kid.map(|_| kid.as_str()),
        };
        let lifetime = request.lifetime.unwrap_or(DEFAULT_LIFETIME);
        let claims = ClaimsOut {
            iss: request.issuer,
            sub: request.subject,
            aud: request.audience,
            exp: now.saturating_add(lifetime),
            iat: now,
            jti: Some(jti),
            extra,
        };
        self.sign_parts(&header, &claims)
    }

    /// Builds and signs a plain JWT ([`JwtRequest`]) at time `now` (Unix seconds).
    pub fn sign_jwt(
        &self,
        request: &JwtRequest<'_>,
        now: u64,
    ) -> Result<heapless::String<MAX_TOKEN_LEN>, SignError> {
        self.sign_jwt_with_claims(request, &[], now)
    }

    /// [`sign_jwt`](Self::sign_jwt) with extra top-level string claims, `(name, value)`,
    /// written after the standard ones in this order (see the [module docs](self)).
    pub fn sign_jwt_with_claims(
        &self,
        request: &JwtRequest<'_>,
        extra: &[(&str, &str)],
        now: u64,
    ) -> Result<heapless::String<MAX_TOKEN_LEN>, SignError> {
        check_extra_claims(extra)?;
        for (name, value) in [
            ("issuer", request.issuer),
            ("subject", request.subject),
            ("audience", request.audience),
        ] {
            check_value(name, value)?;
        }
        if let Some(jti) = request.jti {
            check_value("jti", jti)?;
        }
        let lifetime = request.lifetime.unwrap_or(DEFAULT_LIFETIME);
        if !(MIN_JWT_LIFETIME..=MAX_JWT_LIFETIME).contains(&lifetime) {
            return Err(SignError::LifetimeOutOfRange {
                lifetime,
                max: MAX_JWT_LIFETIME,
            });
        }
        let kid = header_kid(request.kid)?;
        let header = HeaderOut {
            alg: self.algorithm.as_str(),
            typ: None,
            kid: request.kid.map(|_| kid.as_str()),
        };
        let claims = ClaimsOut {
            iss: request.issuer,
            sub: request.subject,
            aud: request.audience,
            exp: now.saturating_add(lifetime),
            iat: now,
            jti: request.jti,
            extra,
        };
        self.sign_parts(&header, &claims)
    }

    /// Serializes the header and claims, and appends the signature over both.
    fn sign_parts(
        &self,
        header: &HeaderOut<'_>,
        claims: &ClaimsOut<'_>,
    ) -> Result<heapless::String<MAX_TOKEN_LEN>, SignError> {
        let mut header_json = [0u8; MAX_HEADER_LEN];
        let header_len = serde_json_core::to_slice(header, &mut header_json)
            .map_err(|_| SignError::InvalidValue("kid"))?;
        let mut payload_json = [0u8; MAX_PAYLOAD_LEN];
        // The standard claims alone always fit; only extra claims can overflow.
        let payload_len = serde_json_core::to_slice(claims, &mut payload_json)
            .map_err(|_| SignError::TooLarge)?;

        self.sign_json(
            header_json.get(..header_len).unwrap_or_default(),
            payload_json.get(..payload_len).unwrap_or_default(),
        )
    }

    /// The compact JWS of a header and claims set already serialized (RFC 7515 §7.1).
    fn sign_json(
        &self,
        header: &[u8],
        payload: &[u8],
    ) -> Result<heapless::String<MAX_TOKEN_LEN>, SignError> {
        // Checked before signing, so that a token too long is refused as such.
        let signature_len = match self.key {
            PrivateKey::Rsa { bits, .. } => bits.div_ceil(8),
            PrivateKey::P256(_) | PrivateKey::Ed25519(_) => 64,
        };
        // base64url without padding
        let encoded = |len: usize| (len * 4).div_ceil(3);
        if encoded(header.len()) + encoded(payload.len()) + encoded(signature_len) + 2
            > MAX_TOKEN_LEN
        {
            return Err(SignError::TooLarge);
        }
        let mut token = heapless::String::<MAX_TOKEN_LEN>::new();
        append_base64(&mut token, header)?;
        token.push('.').map_err(|()| SignError::Signing)?;
        append_base64(&mut token, payload)?;
        let signature = self.signature(token.as_bytes())?;
        token.push('.').map_err(|()| SignError::Signing)?;
        append_base64(&mut token, &signature)?;
        Ok(token)
    }

    /// The JWS signature over `input` (RFC 7515 §5.1 step 5) with this key's algorithm.
    fn signature(&self, input: &[u8]) -> Result<Vec<u8>, SignError> {
        match (&self.key, self.algorithm) {
            (PrivateKey::Rsa { key, .. }, Algorithm::Rs256 | Algorithm::Ps256) => {
                let digest = Sha256::digest(input);
                let mut rng = SeededRng::from_os()?;
                if self.algorithm == Algorithm::Rs256 {
                    // RFC 8017 §8.2.1, blinded.
                    key.sign_with_rng(&mut rng, Pkcs1v15Sign::new::<Sha256>(), &digest)
                } else {
                    // RFC 8017 §8.1.1 and §9.1.1: MGF1-SHA-256, a 32-byte random salt,
                    // blinded (`new_blinded_with_salt` blinds the RSA operation).
                    let pss = Pss::new_blinded_with_salt::<Sha256>(PSS_SALT_LEN);
                    key.sign_with_rng(&mut rng, pss, &digest)
                }
                .map_err(|_| SignError::Signing)
            }
            (PrivateKey::P256(key), Algorithm::Es256) => {
                use p256::ecdsa::signature::Signer;
                // RFC 6979 nonces; the fixed-size `R || S` of RFC 7518 §3.4, never DER.
                let signature: p256::ecdsa::Signature =
                    key.try_sign(input).map_err(|_| SignError::Signing)?;
                Ok(signature.to_bytes().to_vec())
            }
            (PrivateKey::Ed25519(key), Algorithm::EdDsa | Algorithm::Ed25519) => {
                use ed25519_dalek::Signer;
                let signature = key.try_sign(input).map_err(|_| SignError::Signing)?;
                Ok(signature.to_bytes().to_vec())
            }
            // `with_algorithm` keeps every other pair out.
            _ => Err(SignError::AlgorithmMismatch {
                algorithm: self.algorithm,
                key_type: self.key_type(),
            }),
        }
    }
}

/// What to put in an RFC 7523 assertion.
#[derive(Clone, Copy, Debug, Default)]
pub struct AssertionRequest<'a> {
    /// `iss`: the client id (client authentication) or the issuer (grants).
    pub issuer: &'a str,
    /// `sub`: the client id (client authentication) or the subject of the grant.
    pub subject: &'a str,
    /// `aud`: the authorization server's issuer identifier (client authentication, per
    /// RFC 10070) or an audience it accepts.
    pub audience: &'a str,
    /// Seconds until `exp`; [`DEFAULT_LIFETIME`] when `None`.
    pub lifetime: Option<u64>,
    /// `jti`; 128 random bits when `None`.
    pub jti: Option<&'a str>,
    /// `kid` header.
    pub kid: Option<&'a str>,
    /// Client authentication: sets `typ: client-authentication+jwt`, requires `iss == sub`.
    pub client_authentication: bool,
}

/// What to put in a plain JWT (RFC 7519) whose rules are the relying party's, not RFC 7523's:
/// `iss`, `sub`, `aud`, `exp`, `iat`, and `jti` only when given; the header `alg` and `kid`
/// only (no `typ`).
#[derive(Clone, Copy, Debug, Default)]
pub struct JwtRequest<'a> {
    /// `iss`.
    pub issuer: &'a str,
    /// `sub`: any value, the issuer or not.
    pub subject: &'a str,
    /// `aud`.
    pub audience: &'a str,
    /// Seconds until `exp`, [`MIN_JWT_LIFETIME`] to [`MAX_JWT_LIFETIME`];
    /// [`DEFAULT_LIFETIME`] when `None`.
    pub lifetime: Option<u64>,
    /// `jti`; none when `None`.
    pub jti: Option<&'a str>,
    /// `kid` header.
    pub kid: Option<&'a str>,
}

impl<'a> JwtRequest<'a> {
    /// The client secret of Sign in with Apple: `iss` the team id, `sub` the client id (the
    /// Services ID, or the App ID), `aud` [`APPLE_AUDIENCE`], `kid` the key id of the
    /// `AuthKey_<key id>.p8` it is signed with, which must be a P-256 key (ES256), and a
    /// lifetime of at most [`MAX_JWT_LIFETIME`] seconds.
    pub const fn sign_in_with_apple(
        team_id: &'a str,
        client_id: &'a str,
        key_id: &'a str,
        lifetime: u64,
    ) -> Self {
        Self {
            issuer: team_id,
            subject: client_id,
            audience: APPLE_AUDIENCE,
            lifetime: Some(lifetime),
            jti: None,
            kid: Some(key_id),
        }
    }
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

struct ClaimsOut<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    jti: Option<&'a str>,
    /// Checked by [`check_extra_claims`].
    extra: &'a [(&'a str, &'a str)],
}

impl Serialize for ClaimsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("iss", self.iss)?;
        map.serialize_entry("sub", self.sub)?;
        map.serialize_entry("aud", self.aud)?;
        map.serialize_entry("exp", &self.exp)?;
        map.serialize_entry("iat", &self.iat)?;
        if let Some(jti) = self.jti {
            map.serialize_entry("jti", jti)?;
        }
        for (name, value) in self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// The rules of extra claims: see the module docs.
fn check_extra_claims(extra: &[(&str, &str)]) -> Result<(), SignError> {
    if extra.len() > MAX_EXTRA_CLAIMS {
        return Err(SignError::TooManyClaims { count: extra.len() });
    }
    for (index, &(name, value)) in extra.iter().enumerate() {
        let problem = if name.is_empty() {
            ExtraClaimProblem::EmptyName
        } else if name.len() > MAX_EXTRA_CLAIM_NAME_LEN {
            ExtraClaimProblem::NameTooLong
        } else if GOVERNED_CLAIMS.iter().any(|claim| claim.as_str() == name) {
            ExtraClaimProblem::Governed
        } else if extra
            .get(..index)
            .unwrap_or_default()
            .iter()
            .any(|&(earlier, _)| earlier == name)
        {
            ExtraClaimProblem::Duplicate
        } else if value.len() > MAX_CLAIM_STRING_LEN {
            ExtraClaimProblem::ValueTooLong
        } else {
            continue;
        };
        return Err(SignError::ExtraClaim { index, problem });
    }
    Ok(())
}

fn check_value(name: &'static str, value: &str) -> Result<(), SignError> {
    if value.is_empty() || value.len() > MAX_CLAIM_STRING_LEN {
        Err(SignError::InvalidValue(name))
    } else {
        Ok(())
    }
}

/// The `kid` checked against the header's bound.
fn header_kid(kid: Option<&str>) -> Result<HeaderString, SignError> {
    let mut out = HeaderString::new();
    if let Some(k) = kid {
        out.push_str(k)
            .map_err(|()| SignError::InvalidValue("kid"))?;
    }
    Ok(out)
}

/// 128 random bits, base64url, into `out`.
fn random_jti_into(out: &mut heapless::String<24>) -> Result<&str, SignError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|_| SignError::Randomness)?;
    let mut buf = [0u8; 24];
    let text = Base64UrlUnpadded::encode(&bytes, &mut buf).map_err(|_| SignError::Randomness)?;
    out.push_str(text).map_err(|()| SignError::Randomness)?;
    Ok(out.as_str())
}

fn append_base64(out: &mut heapless::String<MAX_TOKEN_LEN>, bytes: &[u8]) -> Result<(), SignError> {
    let mut buf = [0u8; MAX_TOKEN_LEN];
    let text = Base64UrlUnpadded::encode(bytes, &mut buf).map_err(|_| SignError::Signing)?;
    out.push_str(text).map_err(|()| SignError::Signing)
}

/// Randomness for RSA blinding: a 256-bit seed from the operating system, expanded with
/// SHA-256 in counter mode. Drawing the seed is the only fallible step, so it happens first.
struct SeededRng {
    seed: [u8; 32],
    counter: u64,
}

impl SeededRng {
    fn from_os() -> Result<Self, SignError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|_| SignError::Randomness)?;
        Ok(Self { seed, counter: 0 })
    }
}

impl RngCore for SeededRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(32) {
            let block = Sha256::new()
                .chain_update(self.seed)
                .chain_update(self.counter.to_le_bytes())
                .finalize();
            self.counter += 1;
            for (d, s) in chunk.iter_mut().zip(block.iter()) {
                *d = *s;
            }
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SeededRng {}

#[cfg(test)]
mod tests {
    //! Known answers (RFC 6979 A.2.5 for ES256, RFC 8037 A.4 for Ed25519), every algorithm
    //! checked by the verifier's own primitives (`crate::alg`), the algorithm-key table, the
    //! key formats refused, and the lifetime bounds of the two modes. The `openssl` checks are
    //! in `crates/rfc7523-cli/tests/cli.rs`.

    use super::*;
    use crate::alg::eddsa::Ed25519VerifyingKey;
    use crate::alg::es256::P256VerifyingKey;
    use crate::alg::ps256;
    use crate::RsaVerifyingKey;
    use base64ct::Base64;

    const NOW: u64 = 1_700_000_000;

    fn vector(path: &str) -> serde_json::Value {
        let path = format!("{}/../../tests/vectors/{path}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    fn pem(label: &str, der: &[u8]) -> String {
        let body = Base64::encode_string(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| core::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    /// The RFC 6979 A.2.5 P-256 key as a PKCS#8 `PRIVATE KEY` (RFC 5915 inside, no public key).
    fn p256_pem() -> String {
        let mut der = hex::decode(
            "304102010030130607\
             2a8648ce3d020106082a8648ce3d030107\
             042730250201010420",
        )
        .unwrap();
        der.extend(
            hex::decode("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721")
                .unwrap(),
        );
        pem("PRIVATE KEY", &der)
    }

    /// The RFC 8037 A.1 Ed25519 key as a PKCS#8 `PRIVATE KEY` (RFC 8410 §7).
    fn ed25519_pem() -> String {
        let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
        let d = vector("rfc/rfc8037_A4_eddsa.json")["A1_secret_key_hex"]
            .as_str()
            .unwrap()
            .to_owned();
        der.extend(hex::decode(d).unwrap());
        pem("PRIVATE KEY", &der)
    }

    /// Wycheproof's first RSA-2048 signature-generation key (PKCS#1 `RSA PRIVATE KEY`).
    fn rsa_pem() -> String {
        vector("wycheproof/rsa_pkcs1_2048_sig_gen_test.json")["testGroups"][0]["privateKeyPem"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn signer(pem: &str) -> AssertionSigner {
        AssertionSigner::from_pem(pem).unwrap()
    }

    fn b64(text: &str) -> Vec<u8> {
        Base64UrlUnpadded::decode_vec(text).unwrap()
    }

    fn part(token: &str, i: usize) -> serde_json::Value {
        serde_json::from_slice(&b64(token.split('.').nth(i).unwrap())).unwrap()
    }

    /// True when the verifier's primitive for `signer`'s algorithm accepts `token`.
    fn verifies(signer: &AssertionSigner, token: &str) -> bool {
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = b64(signature);
        let (a, b) = signer.public_components();
        match signer.algorithm() {
            Algorithm::Rs256 => RsaVerifyingKey::from_components(&a, &b)
                .unwrap()
                .verify_rs256(input.as_bytes(), &signature),
            Algorithm::Ps256 => ps256::verify_message(
                &RsaVerifyingKey::from_components(&a, &b).unwrap(),
                input.as_bytes(),
                &signature,
            ),
            Algorithm::Es256 => {
                P256VerifyingKey::from_coordinates(&a.try_into().unwrap(), &b.try_into().unwrap())
                    .unwrap()
                    .verify_message(input.as_bytes(), &signature)
            }
            Algorithm::EdDsa | Algorithm::Ed25519 => {
                Ed25519VerifyingKey::from_bytes(&a.try_into().unwrap())
                    .unwrap()
                    .verify_message(input.as_bytes(), &signature)
            }
        }
    }

    #[test]
    fn es256_is_rfc6979_and_raw_r_s() {
        let signer = signer(&p256_pem());
        assert_eq!(signer.algorithm(), Algorithm::Es256);
        assert_eq!(
            hex::encode(signer.signature(b"sample").unwrap()),
            "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716\
             f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"
        );
    }

    #[test]
    fn eddsa_reproduces_rfc8037_a4() {
        let v = vector("rfc/rfc8037_A4_eddsa.json");
        let signer = signer(&ed25519_pem());
        assert_eq!(signer.algorithm(), Algorithm::EdDsa);
        let input = v["A4_signing_input"].as_str().unwrap();
        assert_eq!(
            hex::encode(signer.signature(input.as_bytes()).unwrap()),
            v["A4_signature_hex"].as_str().unwrap()
        );
        assert_eq!(
            hex::encode(signer.public_components().0),
            v["A1_public_key_hex"].as_str().unwrap()
        );
    }

    /// Every key type with every algorithm: signed and verified by `crate::alg` when the
    /// algorithm fits the key, else the error naming both, before anything is signed.
    #[test]
    fn every_algorithm_signs_and_verifies_and_mismatches_are_refused() {
        let keys = [
            (rsa_pem(), KeyType::Rsa, Algorithm::Rs256, "RSA"),
            (p256_pem(), KeyType::P256, Algorithm::Es256, "P-256"),
            (ed25519_pem(), KeyType::Ed25519, Algorithm::EdDsa, "Ed25519"),
        ];
        let request = AssertionRequest {
            issuer: "c",
            subject: "c",
            audience: "https://as.example",
            client_authentication: true,
            ..AssertionRequest::default()
        };
        let jwt = JwtRequest {
            issuer: "TEAMID",
            subject: "com.example.service",
            audience: APPLE_AUDIENCE,
            kid: Some("k"),
            ..JwtRequest::default()
        };
        for (pem, key_type, default_alg, name) in &keys {
            let default = signer(pem);
            assert_eq!(default.key_type(), *key_type);
            assert_eq!(default.algorithm(), *default_alg);
            for alg in Algorithm::ALL {
                let with = default.clone().with_algorithm(alg);
                if alg.key_type() != *key_type {
                    let err = with.unwrap_err();
                    assert_eq!(
                        err,
                        SignError::AlgorithmMismatch {
                            algorithm: alg,
                            key_type: *key_type
                        }
                    );
                    let text = err.to_string();
                    assert!(text.contains(alg.as_str()) && text.contains(name), "{text}");
                    continue;
                }
                let with = with.unwrap();
                for token in [
                    with.sign(&request, NOW).unwrap(),
                    with.sign_jwt(&jwt, NOW).unwrap(),
                ] {
                    assert_eq!(part(&token, 0)["alg"], alg.as_str());
                    assert!(verifies(&with, &token), "{alg}");
                    // And the primitive refuses another message: the check is real.
                    let (input, sig) = token.rsplit_once('.').unwrap();
                    let other = format!("{input}x.{sig}");
                    assert!(!verifies(&with, &other), "{alg}");
                }
            }
        }
        assert_eq!(
            SignError::AlgorithmMismatch {
                algorithm: Algorithm::Es256,
                key_type: KeyType::Rsa
            }
            .to_string(),
            "ES256 needs a P-256 key, not an RSA key"
        );
    }

    #[test]
    fn ps256_is_randomized_and_modulus_long() {
        let signer = signer(&rsa_pem()).with_algorithm(Algorithm::Ps256).unwrap();
        let a = signer.signature(b"m").unwrap();
        let b = signer.signature(b"m").unwrap();
        assert_eq!(a.len(), 256);
        assert_ne!(a, b, "PSS draws a fresh salt");
    }

    #[test]
    fn sign_in_with_apple_client_secret() {
        let signer = signer(&p256_pem());
        let request =
            JwtRequest::sign_in_with_apple("TEAM123456", "com.example.web", "ABC123DEFG", 86_400);
        let token = signer.sign_jwt(&request, NOW).unwrap();
        assert_eq!(
            part(&token, 0),
            serde_json::json!({"alg": "ES256", "kid": "ABC123DEFG"})
        );
        assert_eq!(
            part(&token, 1),
            serde_json::json!({
                "iss": "TEAM123456", "sub": "com.example.web", "aud": "https://appleid.apple.com",
                "exp": NOW + 86_400, "iat": NOW,
            })
        );
        assert_eq!(b64(token.rsplit_once('.').unwrap().1).len(), 64);
        assert!(verifies(&signer, &token));
    }

    /// The plain JWT's lifetime bounds, at the boundary and one past; the assertion mode keeps
    /// its own rule (any lifetime, `exp` saturating).
    #[test]
    fn lifetime_bounds() {
        let signer = signer(&ed25519_pem());
        let jwt = |lifetime| JwtRequest {
            issuer: "i",
            subject: "s",
            audience: "a",
            lifetime: Some(lifetime),
            ..JwtRequest::default()
        };
        for (lifetime, ok) in [
            (0, false),
            (MIN_JWT_LIFETIME, true),
            (MAX_JWT_LIFETIME, true),
            (MAX_JWT_LIFETIME + 1, false),
            (u64::MAX, false),
        ] {
            let result = signer.sign_jwt(&jwt(lifetime), NOW);
            if ok {
                assert_eq!(part(&result.unwrap(), 1)["exp"], NOW + lifetime);
            } else {
                assert_eq!(
                    result.unwrap_err(),
                    SignError::LifetimeOutOfRange {
                        lifetime,
                        max: MAX_JWT_LIFETIME
                    }
                );
            }
        }
        assert_eq!(MAX_JWT_LIFETIME, 15_777_000);
        let default = signer
            .sign_jwt(
                &JwtRequest {
                    lifetime: None,
                    ..jwt(0)
                },
                NOW,
            )
            .unwrap();
        assert_eq!(part(&default, 1)["exp"], NOW + DEFAULT_LIFETIME);
        let assertion = signer
            .sign(
                &AssertionRequest {
                    issuer: "i",
                    subject: "s",
                    audience: "a",
                    lifetime: Some(MAX_JWT_LIFETIME + 1),
                    ..AssertionRequest::default()
                },
                NOW,
            )
            .unwrap();
        assert_eq!(part(&assertion, 1)["exp"], NOW + MAX_JWT_LIFETIME + 1);
    }

    /// The plain JWT has no RFC 7523 rule: `iss` ≠ `sub`, no `typ`, `jti` only when given.
    #[test]
    fn plain_jwt_has_no_assertion_rules() {
        let signer = signer(&rsa_pem());
        let request = JwtRequest {
            issuer: "i",
            subject: "s",
            audience: "a",
            ..JwtRequest::default()
        };
        let token = signer.sign_jwt(&request, NOW).unwrap();
        assert_eq!(part(&token, 0), serde_json::json!({"alg": "RS256"}));
        assert!(part(&token, 1).get("jti").is_none());
        let token = signer
            .sign_jwt(
                &JwtRequest {
                    jti: Some("j-1"),
                    ..request
                },
                NOW,
            )
            .unwrap();
        assert_eq!(part(&token, 1)["jti"], "j-1");
        for (field, bad) in [
            (
                "issuer",
                JwtRequest {
                    issuer: "",
                    ..request
                },
            ),
            (
                "subject",
                JwtRequest {
                    subject: "",
                    ..request
                },
            ),
            (
                "audience",
                JwtRequest {
                    audience: "",
                    ..request
                },
            ),
            (
                "jti",
                JwtRequest {
                    jti: Some(""),
                    ..request
                },
            ),
        ] {
            assert_eq!(
                signer.sign_jwt(&bad, NOW).unwrap_err(),
                SignError::InvalidValue(field)
            );
        }
        // The assertion mode still requires iss == sub for client authentication.
        assert_eq!(
            signer
                .sign(
                    &AssertionRequest {
                        issuer: "i",
                        subject: "s",
                        audience: "a",
                        client_authentication: true,
                        ..AssertionRequest::default()
                    },
                    NOW
                )
                .unwrap_err(),
            SignError::IssuerIsNotSubject
        );
    }

    #[test]
    fn extra_claims_follow_the_standard_ones_or_are_refused_by_rule() {
        let signer = signer(&p256_pem());
        let request = AssertionRequest {
            issuer: "i",
            subject: "s",
            audience: "a",
            jti: Some("j"),
            ..AssertionRequest::default()
        };
        let name = "n".repeat(MAX_EXTRA_CLAIM_NAME_LEN);
        let value = "v".repeat(MAX_CLAIM_STRING_LEN);
        let token = signer
            .sign_with_claims(
                &request,
                &[("ref", "refs/heads/main"), (&name, &value), ("e", "")],
                NOW,
            )
            .unwrap();
        assert!(verifies(&signer, &token));
        let payload = String::from_utf8(b64(token.split('.').nth(1).unwrap())).unwrap();
        assert_eq!(
            payload,
            format!(
                r#"{{"iss":"i","sub":"s","aud":"a","exp":{},"iat":{NOW},"jti":"j","ref":"refs/heads/main","{name}":"{value}","e":""}}"#,
                NOW + DEFAULT_LIFETIME
            )
        );
        let jwt = JwtRequest {
            issuer: "i",
            subject: "s",
            audience: "a",
            ..JwtRequest::default()
        };
        let token = signer
            .sign_jwt_with_claims(&jwt, &[("quote", "a\"b\\c\u{e9}\n")], NOW)
            .unwrap();
        assert_eq!(part(&token, 1)["quote"], "a\"b\\c\u{e9}\n");
        assert!(part(&token, 1).get("jti").is_none());

        let long_name = "n".repeat(MAX_EXTRA_CLAIM_NAME_LEN + 1);
        let long_value = "v".repeat(MAX_CLAIM_STRING_LEN + 1);
        let refused =
            |extra: &[(&str, &str)]| signer.sign_with_claims(&request, extra, NOW).unwrap_err();
        let claim = |index, problem| SignError::ExtraClaim { index, problem };
        for governed in GOVERNED_CLAIMS {
            let extra = [("ok", "1"), (governed.as_str(), "x")];
            assert_eq!(refused(&extra), claim(1, ExtraClaimProblem::Governed));
            assert_eq!(
                signer.sign_jwt_with_claims(&jwt, &extra, NOW).unwrap_err(),
                claim(1, ExtraClaimProblem::Governed)
            );
        }
        assert_eq!(
            refused(&[("", "x")]),
            claim(0, ExtraClaimProblem::EmptyName)
        );
        assert_eq!(
            refused(&[(&long_name, "x")]),
            claim(0, ExtraClaimProblem::NameTooLong)
        );
        assert_eq!(
            refused(&[("a", "1"), ("b", "2"), ("a", "1")]),
            claim(2, ExtraClaimProblem::Duplicate)
        );
        assert_eq!(
            refused(&[("a", &long_value)]),
            claim(0, ExtraClaimProblem::ValueTooLong)
        );
        let names: Vec<String> = (0..=MAX_EXTRA_CLAIMS).map(|i| format!("c{i}")).collect();
        let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
        assert!(signer
            .sign_with_claims(&request, &many[..MAX_EXTRA_CLAIMS], NOW)
            .is_ok());
        assert_eq!(
            refused(&many),
            SignError::TooManyClaims {
                count: MAX_EXTRA_CLAIMS + 1
            }
        );
        // 32 values of 256 bytes: over the token's length, refused as such before signing.
        let big: Vec<(&str, &str)> = names[..MAX_EXTRA_CLAIMS]
            .iter()
            .map(|n| (n.as_str(), value.as_str()))
            .collect();
        assert_eq!(refused(&big), SignError::TooLarge);
    }

    #[test]
    fn key_formats_refused() {
        let p256 = p256_pem();
        let body: String = p256.lines().filter(|l| !l.starts_with("-----")).collect();
        let relabel =
            |label: &str| format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
        // Encrypted: PKCS#8 (RFC 5958 §3) and OpenSSL's PKCS#1 with RFC 1421 headers.
        assert_eq!(
            AssertionSigner::from_pem(&relabel("ENCRYPTED PRIVATE KEY")).unwrap_err(),
            SignError::EncryptedKey
        );
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                      DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n\
                      AAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(
            AssertionSigner::from_pem(legacy).unwrap_err(),
            SignError::EncryptedKey
        );
        // SEC 1, public keys, OpenSSH: not PKCS#8.
        for label in ["EC PRIVATE KEY", "PUBLIC KEY", "OPENSSH PRIVATE KEY"] {
            assert_eq!(
                AssertionSigner::from_pem(&relabel(label)).unwrap_err(),
                SignError::UnsupportedPemLabel,
                "{label}"
            );
        }
        // A P-384 key (secp384r1) and an X25519 key: other curves and types.
        let p384 = hex::decode(
            "303e02010030100607\
             2a8648ce3d020106052b81040022\
             0427302502010104200000000000000000000000000000000000000000000000000000000000000001",
        )
        .unwrap();
        let x25519 = hex::decode(
            "302e020100300506032b656e04220420\
             0000000000000000000000000000000000000000000000000000000000000001",
        )
        .unwrap();
        for der in [p384, x25519] {
            assert_eq!(
                AssertionSigner::from_pem(&pem("PRIVATE KEY", &der)).unwrap_err(),
                SignError::UnsupportedKeyType
            );
        }
        for text in ["", "not a key", &p256.replace('M', "!")] {
            assert_eq!(
                AssertionSigner::from_pem(text).unwrap_err(),
                SignError::Key(KeyError::Malformed)
            );
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let text = format!("{:?}", signer(&p256_pem()));
        assert_eq!(
            text,
            "AssertionSigner { algorithm: Es256, key_type: P256, bits: 256, .. }"
        );
    }
}
