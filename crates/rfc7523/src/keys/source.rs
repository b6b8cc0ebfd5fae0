//! A key as read, before it is stored: what selects it ([`Meta`]) and where its material is
//! ([`Source`]), borrowed from the text it came from. Reading a key builds nothing large, so
//! that a [`KeyStore`](super::KeyStore) can write it straight into its own bytes (an RSA
//! modulus decoded into its place, `R² mod n` computed next to it): loading a key needs a few
//! KiB of stack whatever the key's size.

#[cfg(feature = "x509")]
use super::Validity;
use super::{der, rsa, KeyError, Kid, X5T_LEN, X5T_S256_LEN};
#[cfg(feature = "eddsa")]
use crate::alg::eddsa::Ed25519VerifyingKey;
#[cfg(feature = "es256")]
use crate::alg::es256::P256VerifyingKey;
use crate::alg::Algorithm;

/// What selects a key and which algorithm it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    /// The algorithm its JWK names.
    pub(crate) alg: Option<Algorithm>,
    pub(crate) kid: Option<Kid>,
    pub(crate) x5t_s256: Option<[u8; X5T_S256_LEN]>,
    pub(crate) x5t: Option<[u8; X5T_LEN]>,
    /// The validity of the certificate it came from.
    #[cfg(feature = "x509")]
    pub(crate) validity: Option<Validity>,
    /// Serves tokens with any header `kid` (a key given on its own, without a `kid`).
    pub(crate) any_kid: bool,
}

impl Meta {
    /// Nothing named: a key given on its own (PEM, DER), serving any `kid`.
    pub(crate) const fn new() -> Self {
        Self {
            alg: None,
            kid: None,
            x5t_s256: None,
            x5t: None,
            #[cfg(feature = "x509")]
            validity: None,
            any_kid: true,
        }
    }
}

/// An RSA modulus as it was given.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Modulus<'a> {
    /// A JWK's `n`: canonical base64url, not decoded yet.
    Base64(&'a str),
    /// Big-endian bytes (DER), leading zeros allowed.
    Bytes(&'a [u8]),
    /// An owned key's modulus with its `R² mod n` and Montgomery constant, already computed.
    Precomputed { n: &'a [u8], rr: &'a [u8], n0: u64 },
}

/// A key's material, checked except for an RSA modulus (checked when it is decoded into place).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source<'a> {
    /// RSA: the modulus and the (checked) public exponent.
    Rsa { n: Modulus<'a>, e: u64 },
    /// P-256: the validated point, `x || y`.
    #[cfg(feature = "es256")]
    P256([u8; 64]),
    /// Ed25519: the validated encoding.
    #[cfg(feature = "eddsa")]
    Ed25519([u8; 32]),
}

/// The material of a DER `SubjectPublicKeyInfo`: `rsaEncryption`, `id-ecPublicKey` with P-256,
/// or `id-Ed25519`.
pub(crate) fn spki(bytes: &[u8]) -> Result<Source<'_>, KeyError> {
    let info = der::spki(bytes).ok_or(KeyError::Malformed)?;
    if info.oid == rsa::RSA_ENCRYPTION {
        pkcs1(info.key.ok_or(KeyError::Malformed)?)
    } else if info.oid == crate::alg::ID_EC_PUBLIC_KEY {
        #[cfg(feature = "es256")]
        {
            let (x, y) = P256VerifyingKey::from_spki_der(bytes)?.coordinates();
            Ok(Source::P256(concat(&x, &y)))
        }
        #[cfg(not(feature = "es256"))]
        Err(KeyError::NotBuiltIn(Algorithm::Es256))
    } else if info.oid == crate::alg::ID_ED25519 {
        #[cfg(feature = "eddsa")]
        {
            Ok(Source::Ed25519(
                Ed25519VerifyingKey::from_spki_der(bytes)?.to_bytes(),
            ))
        }
        #[cfg(not(feature = "eddsa"))]
        Err(KeyError::NotBuiltIn(Algorithm::EdDsa))
    } else {
        Err(KeyError::UnsupportedKeyType)
    }
}

/// The material of a DER PKCS#1 `RSAPublicKey`.
pub(crate) fn pkcs1(bytes: &[u8]) -> Result<Source<'_>, KeyError> {
    let key = der::rsa_public_key(bytes).ok_or(KeyError::Malformed)?;
    Ok(Source::Rsa {
        n: Modulus::Bytes(key.modulus),
        e: rsa::check_exponent(key.exponent)?,
    })
}

/// What a PEM text holds: a public key, or a certificate (its body, not decoded: it is
/// larger than a key, and read only with the feature `x509`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pem<'t, 'b> {
    /// A `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1), decoded.
    Key(Source<'b>),
    /// A `CERTIFICATE` block's body.
    #[cfg_attr(not(feature = "x509"), allow(dead_code))]
    Certificate(&'t str),
}

/// The first PEM block of `pem`, its label read before its body: a `PUBLIC KEY` (SPKI) or
/// `RSA PUBLIC KEY` (PKCS#1) decoded into `buf`, or a `CERTIFICATE`'s body. Text before the
/// `-----BEGIN` line and after the `-----END` line is ignored (RFC 7468 §5.2); private keys
/// are refused as such.
pub(crate) fn pem<'t, 'b>(
    pem: &'t str,
    buf: &'b mut [u8; crate::pem::MAX_DER],
) -> Result<Pem<'t, 'b>, KeyError> {
    if pem.len() > super::MAX_KEY_TEXT_LEN {
        return Err(KeyError::TooLarge);
    }
    let (label, body) = crate::pem::block(pem).map_err(|_| KeyError::Malformed)?;
    let spki_label = match label {
        "PUBLIC KEY" => true,
        "RSA PUBLIC KEY" => false,
        "CERTIFICATE" => return Ok(Pem::Certificate(body)),
        "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
            return Err(KeyError::PrivateKeyMaterial)
        }
        _ => return Err(KeyError::UnsupportedPemLabel),
    };
    let der = crate::pem::decode_key_body(body, buf).map_err(|_| KeyError::Malformed)?;
    Ok(Pem::Key(if spki_label { spki(der)? } else { pkcs1(der)? }))
}

/// The key of a PEM that must be a public key, not a certificate.
pub(crate) fn public_key_pem<'b>(
    pem: &str,
    buf: &'b mut [u8; crate::pem::MAX_DER],
) -> Result<Source<'b>, KeyError> {
    match self::pem(pem, buf)? {
        Pem::Key(source) => Ok(source),
        Pem::Certificate(_) => Err(KeyError::UnsupportedPemLabel),
    }
}

#[cfg(feature = "es256")]
pub(crate) fn concat(x: &[u8; 32], y: &[u8; 32]) -> [u8; 64] {
    let mut point = [0u8; 64];
    let (px, py) = point.split_at_mut(32);
    px.copy_from_slice(x);
    py.copy_from_slice(y);
    point
}
