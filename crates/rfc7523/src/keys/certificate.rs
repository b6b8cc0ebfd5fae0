//! X.509 certificates as key sources (feature `x509`): a certificate (RFC 5280 §4.1) is read
//! with RustCrypto `x509-cert` for two things only, its `subjectPublicKeyInfo` (then read by
//! the same SPKI path as a `PUBLIC KEY`, with the same refusals) and its `validity`. It is
//! never trusted as a chain: its signature, issuer, extensions and the certificates after it
//! are not looked at, and its dates are reported, not enforced (see [`Validity`]).
//!
//! Three forms: a PEM `CERTIFICATE` block or its DER; an X.509 map, the JSON object of `kid`
//! → PEM certificate that Google publishes for a service account
//! (`https://www.googleapis.com/service_accounts/v1/metadata/x509/EMAIL`); and a JWK's
//! `x5c[0]` (RFC 7517 §4.7), whose key must be the JWK's own.
//!
//! `x509-cert` needs the heap (a certificate's names and extensions are vectors): reading a
//! certificate allocates, and frees everything before the key is stored. The stored key, and
//! every verification with it, use no heap.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use x509_cert::der::{Decode, Encode};

use super::source::{self, Modulus, Source};
use super::{KeyError, Validity, MAX_CERTIFICATE_LEN};
use crate::base64url;
use crate::json::JsonStr;
use crate::pem::{self, PemError};

/// A certificate's public key (its `SubjectPublicKeyInfo`, DER) and validity, nothing else.
#[derive(Debug)]
pub(crate) struct Certificate {
    pub(crate) spki: Vec<u8>,
    pub(crate) validity: Validity,
}

impl Certificate {
    /// The key of the certificate, read as an SPKI `PUBLIC KEY` is.
    pub(crate) fn source(&self) -> Result<Source<'_>, KeyError> {
        source::spki(&self.spki)
    }
}

/// Reads a DER certificate: at most [`MAX_CERTIFICATE_LEN`] bytes, exactly one `Certificate`
/// (nothing after it) that `x509-cert` accepts.
pub(crate) fn from_der(der: &[u8]) -> Result<Certificate, KeyError> {
    if der.len() > MAX_CERTIFICATE_LEN {
        return Err(KeyError::CertificateTooLarge);
    }
    let certificate =
        x509_cert::Certificate::from_der(der).map_err(|_| KeyError::InvalidCertificate)?;
    let tbs = certificate.tbs_certificate;
    let validity = Validity {
        not_before: tbs.validity.not_before.to_unix_duration().as_secs(),
        not_after: tbs.validity.not_after.to_unix_duration().as_secs(),
    };
    let spki = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|_| KeyError::InvalidCertificate)?;
    Ok(Certificate { spki, validity })
}

/// Reads the body of a PEM block labelled `CERTIFICATE` (the caller has read the label).
pub(crate) fn from_pem_body(body: &str) -> Result<Certificate, KeyError> {
    let mut staging = vec![0u8; MAX_CERTIFICATE_LEN.div_ceil(3) * 4];
    // One byte more than the limit: a longer certificate is told from a malformed one.
    let mut der = vec![0u8; MAX_CERTIFICATE_LEN + 1];
    let der = pem::decode_body(body, &mut staging, &mut der).map_err(|e| match e {
        PemError::TooLong => KeyError::CertificateTooLarge,
        PemError::Malformed => KeyError::Malformed,
    })?;
    from_der(der)
}

/// Reads a PEM text that must be a `CERTIFICATE` block (an X.509 map's member):
/// [`KeyError::NotACertificate`] for any other PEM or text.
pub(crate) fn from_pem(text: &str) -> Result<Certificate, KeyError> {
    match pem::block(text) {
        Ok(("CERTIFICATE", body)) => from_pem_body(body),
        _ => Err(KeyError::NotACertificate),
    }
}

/// The text of a JSON string, its escapes decoded (an X.509 map's PEM has its line breaks
/// escaped as `\n`), on the heap: at most the text it came from.
pub(crate) fn json_text(value: &JsonStr<'_>) -> String {
    value.chars().collect()
}

/// Decodes `x5c[0]` (RFC 7517 §4.7: standard padded base64 of the DER, in a JSON string
/// whose `/` may be escaped): [`KeyError::InvalidMember`]`("x5c")` when it is not that or
/// longer than [`MAX_CERTIFICATE_LEN`], as when it was only hashed.
pub(crate) fn x5c_der(value: &JsonStr<'_>) -> Result<Vec<u8>, KeyError> {
    let invalid = KeyError::InvalidMember("x5c");
    let text = json_text(value);
    if text.len() > MAX_CERTIFICATE_LEN.div_ceil(3) * 4 {
        return Err(invalid);
    }
    let mut der = vec![0u8; MAX_CERTIFICATE_LEN];
    let len = base64url::decode_standard_padded(text.as_bytes(), &mut der)
        .map_err(|_| invalid)?
        .len();
    if len == 0 {
        return Err(invalid);
    }
    der.truncate(len);
    Ok(der)
}

/// True when two keys as read are the same public key (RFC 7517 §4.7: "The key in the first
/// certificate MUST match the public key represented by other members of the JWK"): the same
/// type, and the same modulus (leading zeros aside) and exponent, point or encoding.
pub(crate) fn same_key(a: &Source<'_>, b: &Source<'_>) -> Result<bool, KeyError> {
    Ok(match (a, b) {
        (Source::Rsa { n: na, e: ea }, Source::Rsa { n: nb, e: eb }) => {
            ea == eb && strip(&modulus(na)?) == strip(&modulus(nb)?)
        }
        #[cfg(feature = "es256")]
        (Source::P256(a), Source::P256(b)) => a == b,
        #[cfg(feature = "eddsa")]
        (Source::Ed25519(a), Source::Ed25519(b)) => a == b,
        #[allow(unreachable_patterns)]
        _ => false,
    })
}

/// A modulus as big-endian bytes.
fn modulus(n: &Modulus<'_>) -> Result<Vec<u8>, KeyError> {
    Ok(match *n {
        Modulus::Bytes(n) | Modulus::Precomputed { n, .. } => n.to_vec(),
        Modulus::Base64(text) => {
            let mut buf = vec![0u8; super::rsa::MAX_MODULUS_LEN + 1];
            let len = super::jwk::decode_modulus(text, &mut buf)?.len();
            buf.truncate(len);
            buf
        }
    })
}

fn strip(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.get(zeros..).unwrap_or_default()
}
