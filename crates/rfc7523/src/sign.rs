//! Client side (feature `sign`): build and sign an RS256 assertion (RFC 7523 §3,
//! RFC 10070) from a PKCS#8 or PKCS#1 private key.
//!
//! The assertion carries `iss`, `sub`, `aud`, `exp` (`now` + lifetime, [`DEFAULT_LIFETIME`]
//! by default), `iat`, and a `jti` of 128 random bits (getrandom) unless one is given. For
//! client authentication ([`AssertionRequest::client_authentication`]) the header carries
//! `typ: client-authentication+jwt` and `iss` must equal `sub`.
//!
//! **Security note (RUSTSEC-2023-0071, "Marvin"):** the `rsa` crate's private-key operation is
//! not constant-time; an attacker who can time many signatures made with the same key, on the
//! same machine or over a low-noise network, may recover the key. Signing here uses RSA
//! blinding with fresh randomness, which reduces but does not remove the leak. Sign where
//! timing cannot be observed at that precision (a batch job, not a shared host answering
//! attacker-triggered signing requests), or use a constant-time signer. Verification uses only
//! the public key and is not affected.

use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use rand_core::{CryptoRng, RngCore};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::claims::MAX_CLAIM_STRING_LEN;
use crate::jws::{HeaderString, MAX_HEADER_LEN, MAX_PAYLOAD_LEN, MAX_TOKEN_LEN};
use crate::keys::{KeyError, MAX_RSA_BITS, MIN_RSA_BITS};
use crate::profile::CLIENT_AUTHENTICATION_TYP;

/// Default assertion lifetime in seconds (5 minutes).
pub const DEFAULT_LIFETIME: u64 = 300;

/// Longest PEM private key accepted, in bytes.
pub const MAX_PRIVATE_KEY_PEM_LEN: usize = 16 * 1024;

/// Why an assertion could not be signed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignError {
    /// The private key could not be used.
    Key(KeyError),
    /// A claim value is empty or longer than [`MAX_CLAIM_STRING_LEN`].
    InvalidValue(&'static str),
    /// Client authentication requires `iss` == `sub` (RFC 7523 §3 item 2.B).
    IssuerIsNotSubject,
    /// The operating system's random source failed.
    Randomness,
    /// The RSA signature operation failed.
    Signing,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Key(e) => e.fmt(f),
            SignError::InvalidValue(name) => {
                write!(f, "{name} must be 1 to {MAX_CLAIM_STRING_LEN} bytes long")
            }
            SignError::IssuerIsNotSubject => {
                f.write_str("client authentication requires issuer == subject (the client id)")
            }
            SignError::Randomness => f.write_str("the system random source failed"),
            SignError::Signing => f.write_str("the RSA signature operation failed"),
        }
    }
}

impl core::error::Error for SignError {}

/// An RSA private key for RS256, checked like the public keys (2048 to 8192 bits).
#[derive(Clone, Debug)]
pub struct AssertionSigner {
    key: rsa::pkcs1v15::SigningKey<Sha256>,
    bits: usize,
}

impl AssertionSigner {
    /// Reads a PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1).
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        if pem.len() > MAX_PRIVATE_KEY_PEM_LEN {
            return Err(SignError::Key(KeyError::TooLarge));
        }
        let start = pem
            .find("-----BEGIN ")
            .ok_or(SignError::Key(KeyError::Malformed))?;
        let pem = pem.get(start..).unwrap_or_default().trim_end();
        let mut buf = [0u8; MAX_PRIVATE_KEY_PEM_LEN];
        let (label, der) = pem_rfc7468::decode(pem.as_bytes(), &mut buf)
            .map_err(|_| SignError::Key(KeyError::Malformed))?;
        let key = match label {
            "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_der(der),
            "RSA PRIVATE KEY" => {
                RsaPrivateKey::from_pkcs1_der(der).map_err(|_| rsa::pkcs8::Error::KeyMalformed)
            }
            _ => return Err(SignError::Key(KeyError::UnsupportedPemLabel)),
        }
        .map_err(|_| SignError::Key(KeyError::Malformed))?;
        Self::from_key(key)
    }

    /// Wraps an `rsa` private key.
    pub fn from_key(key: RsaPrivateKey) -> Result<Self, SignError> {
        let bits = key.n().bits();
        if bits < MIN_RSA_BITS {
            return Err(SignError::Key(KeyError::ModulusTooSmall { bits }));
        }
        if bits > MAX_RSA_BITS {
            return Err(SignError::Key(KeyError::ModulusTooLarge { bits }));
        }
        Ok(Self {
            key: rsa::pkcs1v15::SigningKey::new(key),
            bits,
        })
    }

    /// The modulus length in bits.
    pub const fn bits(&self) -> usize {
        self.bits
    }

    /// The public key, as an SPKI DER document's modulus and exponent (for JWK publishing).
    pub fn public_components(&self) -> (alloc::vec::Vec<u8>, alloc::vec::Vec<u8>) {
        let public = self.key.as_ref().to_public_key();
        (public.n().to_bytes_be(), public.e().to_bytes_be())
    }

    /// Builds and signs an assertion at time `now` (Unix seconds).
    pub fn sign(
        &self,
        request: &AssertionRequest<'_>,
        now: u64,
    ) -> Result<heapless::String<MAX_TOKEN_LEN>, SignError> {
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
        let mut kid = HeaderString::new();
        if let Some(k) = request.kid {
            kid.push_str(k)
                .map_err(|()| SignError::InvalidValue("kid"))?;
        }
        let mut random_jti = heapless::String::<24>::new();
        let jti = match request.jti {
            Some(jti) => jti,
            None => {
                let mut bytes = [0u8; 16];
                getrandom::getrandom(&mut bytes).map_err(|_| SignError::Randomness)?;
                let mut buf = [0u8; 24];
                let text = Base64UrlUnpadded::encode(&bytes, &mut buf)
                    .map_err(|_| SignError::Randomness)?;
                random_jti
                    .push_str(text)
                    .map_err(|()| SignError::Randomness)?;
                random_jti.as_str()
            }
        };
        let header = HeaderOut {
            alg: "RS256",
            typ: if request.client_authentication {
                CLIENT_AUTHENTICATION_TYP
            } else {
                "JWT"
            },
            kid: request.kid.map(|_| kid.as_str()),
        };
        let lifetime = request.lifetime.unwrap_or(DEFAULT_LIFETIME);
        let claims = ClaimsOut {
            iss: request.issuer,
            sub: request.subject,
            aud: request.audience,
            exp: now.saturating_add(lifetime),
            iat: now,
            jti,
        };
        let mut header_json = [0u8; MAX_HEADER_LEN];
        let header_len = serde_json_core::to_slice(&header, &mut header_json)
            .map_err(|_| SignError::InvalidValue("kid"))?;
        let mut payload_json = [0u8; MAX_PAYLOAD_LEN];
        let payload_len = serde_json_core::to_slice(&claims, &mut payload_json)
            .map_err(|_| SignError::InvalidValue("claims"))?;

        let mut token = heapless::String::<MAX_TOKEN_LEN>::new();
        append_base64(
            &mut token,
            header_json.get(..header_len).unwrap_or_default(),
        )?;
        token.push('.').map_err(|()| SignError::Signing)?;
        append_base64(
            &mut token,
            payload_json.get(..payload_len).unwrap_or_default(),
        )?;

        let mut rng = SeededRng::from_os()?;
        let signature = self
            .key
            .try_sign_with_rng(&mut rng, token.as_bytes())
            .map_err(|_| SignError::Signing)?;
        token.push('.').map_err(|()| SignError::Signing)?;
        append_base64(&mut token, &signature.to_bytes())?;
        Ok(token)
    }
}

/// What to put in an assertion.
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

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

#[derive(Serialize)]
struct ClaimsOut<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    jti: &'a str,
}

fn check_value(name: &'static str, value: &str) -> Result<(), SignError> {
    if value.is_empty() || value.len() > MAX_CLAIM_STRING_LEN {
        Err(SignError::InvalidValue(name))
    } else {
        Ok(())
    }
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
