//! EdDSA with Ed25519 (RFC 8032 §5.1; in JOSE: `alg` `EdDSA` with an OKP `Ed25519` key,
//! RFC 8037 §3.1, and the fully-specified `Ed25519`, RFC 9864 §2.2), with `ed25519-dalek`'s
//! strict verification.
//!
//! - **Signature**: exactly 64 bytes, `R || S` (RFC 8032 §5.1.6). `S` must be canonical
//!   (below the group order L: §5.1.7 step 1), `R` must decode canonically and not be of
//!   small order, and the check is the cofactorless `[S]B = R + [k]A` with `R` compared as
//!   the encoding it was sent in (`verify_strict`), so every malleated signature Wycheproof
//!   lists is refused.
//! - **Key**: an OKP JWK (`kty` `OKP`, `crv` `Ed25519`, `x` exactly 32 bytes of canonical
//!   base64url: RFC 8037 §2) or a DER `SubjectPublicKeyInfo` with `id-Ed25519`
//!   (1.3.101.112, parameters absent: RFC 8410 §3). The point must decode (RFC 8032 §5.1.3),
//!   be encoded canonically (`y` below p; no `x = 0` with the sign bit set), and not be of
//!   small order (the identity included): such keys are refused at load, not at each
//!   verification.
//!
//! The key keeps the decoded point beside its encoding (192 bytes, no heap), so that
//! verification does not decompress it each time. Verification takes the whole message
//! (Ed25519 hashes it with SHA-512 itself).

use ed25519_dalek::{Signature, VerifyingKey};
use pkcs1::der::Decode;

use super::{jwk_fixed, jwk_kty_crv, parse_jwk, KeyMaterialError, VerifyFailure};

/// Length of an Ed25519 signature (RFC 8032 §5.1.6).
pub const SIGNATURE_LEN: usize = super::EC_SIGNATURE_LEN;

/// Length of an Ed25519 public key (RFC 8032 §5.1.5).
pub const PUBLIC_KEY_LEN: usize = 32;

use super::ID_ED25519;

/// An Ed25519 public key: a canonically encoded point that is not of small order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ed25519VerifyingKey {
    key: VerifyingKey,
}

impl Ed25519VerifyingKey {
    /// A key from its 32-byte encoding (RFC 8032 §5.1.5): it must decode (§5.1.3),
    /// canonically, to a point that is not of small order.
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<Self, KeyMaterialError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyMaterialError::InvalidPoint)?;
        let point = key.to_edwards();
        // The decoder of curve25519-dalek reduces y mod p and accepts x = 0 with the sign bit
        // set; RFC 8032 §5.1.3 refuses both. Re-encoding shows either.
        if point.compress().as_bytes() != bytes || point.is_small_order() {
            return Err(KeyMaterialError::InvalidPoint);
        }
        Ok(Self { key })
    }

    /// Reads an OKP JWK (RFC 8037 §2): `kty` `OKP`, `crv` `Ed25519`, `x`. A JWK with `d` is
    /// refused. The members that say what the key may do (`kid`, `alg`, `use`, `key_ops`) are
    /// not read here: they are the key layer's.
    pub fn from_jwk(json: &str) -> Result<Self, KeyMaterialError> {
        Self::from_jwk_object(&parse_jwk(json)?)
    }

    /// [`from_jwk`](Self::from_jwk) of a parsed JWK.
    pub(crate) fn from_jwk_object(jwk: &crate::json::Object<'_>) -> Result<Self, KeyMaterialError> {
        jwk_kty_crv(jwk, "OKP", "Ed25519")?;
        Self::from_bytes(&jwk_fixed::<PUBLIC_KEY_LEN>(jwk, "x")?)
    }

    /// Reads a DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7) with `id-Ed25519` and no
    /// parameters (RFC 8410 §3).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyMaterialError> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|_| KeyMaterialError::Malformed)?;
        if spki.algorithm.oid != ID_ED25519 {
            return Err(KeyMaterialError::WrongKeyType);
        }
        if spki.algorithm.parameters.is_some() {
            return Err(KeyMaterialError::Malformed);
        }
        let bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyMaterialError::Malformed)?;
        let bytes: &[u8; PUBLIC_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| KeyMaterialError::InvalidPoint)?;
        Self::from_bytes(bytes)
    }

    /// The 32-byte encoding: a JWK's `x`, and to compare keys.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.key.to_bytes()
    }

    /// Verifies the Ed25519 `signature` (64 bytes) over `message`, strictly (see the module
    /// docs). [`VerifyFailure::Length`] for any other length; every other failure is
    /// [`VerifyFailure::Invalid`].
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), VerifyFailure> {
        let signature: &[u8; SIGNATURE_LEN] =
            signature.try_into().map_err(|_| VerifyFailure::Length)?;
        let signature = Signature::from_bytes(signature);
        self.key
            .verify_strict(message, &signature)
            .map_err(|_| VerifyFailure::Invalid)
    }

    /// [`verify`](Self::verify) as a yes or no: for the vectors and the timings.
    pub fn verify_message(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verify(message, signature).is_ok()
    }
}

/// Verifies an Ed25519 `signature` over `message` under the stored 32-byte encoding (checked
/// canonical and not of small order when it was stored; decoded again here).
pub(crate) fn verify_with_encoding(
    public: &[u8; PUBLIC_KEY_LEN],
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyFailure> {
    let signature: &[u8; SIGNATURE_LEN] =
        signature.try_into().map_err(|_| VerifyFailure::Length)?;
    let key = VerifyingKey::from_bytes(public).map_err(|_| VerifyFailure::Invalid)?;
    key.verify_strict(message, &Signature::from_bytes(signature))
        .map_err(|_| VerifyFailure::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8037 Appendix A.2: the public key, and the A.4 signature over the A.4 signing input.
    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const INPUT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    const SIGNATURE: &str = "860c98d2297f3060a33f42739672d61b53cf3adefed3d3c672f320dc021b411e9d59b8628dc351e248b88b29468e0e41855b0fb7d83bb15be902bfccb8cd0a02";

    fn jwk(extra: &str) -> String {
        format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{X}"{extra}}}"#)
    }

    #[test]
    fn rfc8037_a4_verifies_and_nothing_near_it() {
        let key = Ed25519VerifyingKey::from_jwk(&jwk("")).unwrap();
        let signature = hex::decode(SIGNATURE).unwrap();
        assert_eq!(key.verify(INPUT.as_bytes(), &signature), Ok(()));
        let mut message = INPUT.as_bytes().to_vec();
        message[5] ^= 1;
        assert_eq!(
            key.verify(&message, &signature),
            Err(VerifyFailure::Invalid)
        );
        for i in 0..64 {
            let mut bad = signature.clone();
            bad[i] ^= 0x10;
            assert_eq!(
                key.verify(INPUT.as_bytes(), &bad),
                Err(VerifyFailure::Invalid)
            );
        }
        for len in [0usize, 63, 65, 128] {
            assert_eq!(
                key.verify(INPUT.as_bytes(), &vec![0u8; len]),
                Err(VerifyFailure::Length)
            );
        }
    }

    #[test]
    fn key_checks() {
        let key = Ed25519VerifyingKey::from_jwk(&jwk(r#","kid":"k","alg":"EdDSA""#)).unwrap();
        assert_eq!(Ed25519VerifyingKey::from_bytes(&key.to_bytes()), Ok(key));
        let cases = [
            (jwk(r#","d":"AA""#), KeyMaterialError::PrivateKeyMaterial),
            (jwk("").replace("OKP", "EC"), KeyMaterialError::WrongKeyType),
            (
                jwk("").replace("Ed25519", "Ed448"),
                KeyMaterialError::WrongCurve,
            ),
            (
                jwk("").replace("Ed25519", "X25519"),
                KeyMaterialError::WrongCurve,
            ),
            (
                jwk("").replace(X, &X[..40]),
                KeyMaterialError::InvalidMember("x"),
            ),
            (
                jwk("").replace(X, &format!("{X}A")),
                KeyMaterialError::InvalidMember("x"),
            ),
        ];
        for (text, err) in cases {
            assert_eq!(Ed25519VerifyingKey::from_jwk(&text), Err(err), "{text}");
        }
        // Small order: the identity (y = 1), y = 0 (order 4), y = −1 (order 2); the identity
        // with the sign bit set (x = 0, sign 1: not canonical); y = p (non-canonical 0).
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        let mut minus_one = p;
        minus_one[0] = 0xec;
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut identity_signed = identity;
        identity_signed[31] = 0x80;
        for bytes in [identity, [0u8; 32], minus_one, identity_signed, p] {
            assert_eq!(
                Ed25519VerifyingKey::from_bytes(&bytes),
                Err(KeyMaterialError::InvalidPoint),
                "{bytes:02x?}"
            );
        }
    }
}
