//! ES256: ECDSA using P-256 and SHA-256 (RFC 7518 §3.4; FIPS 186-5 §6.4.2), with RustCrypto's
//! `p256` for the curve arithmetic.
//!
//! - **Signature**: exactly 64 bytes, `R || S`, each 32 bytes big-endian (RFC 7518 §3.4). A DER
//!   `Ecdsa-Sig-Value` (what golang-jwt's invalid fixture carries), any other length, and r or
//!   s equal to zero or not below the group order n are refused before any arithmetic. A high
//!   `s` is valid, as in ECDSA itself (JWS has no low-s rule).
//! - **Key**: an EC JWK (`kty` `EC`, `crv` `P-256`, `x` and `y` each exactly 32 bytes of
//!   canonical base64url: RFC 7518 §6.2.1) or a DER `SubjectPublicKeyInfo` with
//!   `id-ecPublicKey` and the named curve `prime256v1` (RFC 5480 §2.1.1) and an uncompressed
//!   point. Coordinates must be below p and the point on the curve; the identity is refused.
//!   A **compressed** point (RFC 5480 §2.2: "MAY" be supported) is refused: no issuer needs it
//!   (a JWK cannot express it; OpenSSL, WebCrypto and every JOSE library write uncompressed
//!   SPKI), and one encoding per key keeps key comparison byte-exact.
//!
//! The key is about 70 bytes (an affine point), no heap. Verification takes the SHA-256
//! digest of the signing input, so that the JWS layer hashes once for RS256, PS256 and ES256.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};
use pkcs1::der::Decode;
use sha2::{Digest, Sha256};

use super::{jwk_fixed, jwk_kty_crv, parse_jwk, KeyMaterialError, VerifyFailure};

/// Length of an ES256 signature: `R || S`, 32 bytes each (RFC 7518 §3.4).
pub const SIGNATURE_LEN: usize = super::EC_SIGNATURE_LEN;

/// Length of one coordinate (RFC 7518 §6.2.1.2–3).
pub const COORDINATE_LEN: usize = 32;

use super::ID_EC_PUBLIC_KEY;

/// `secp256r1` / `prime256v1` (RFC 5480 §2.1.1.1).
const SECP256R1: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// A P-256 public key for ES256: a validated point (on the curve, not the identity).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct P256VerifyingKey {
    key: VerifyingKey,
}

impl P256VerifyingKey {
    /// A key from its affine coordinates, big-endian, 32 bytes each: each must be below p,
    /// and the point on the curve.
    pub fn from_coordinates(
        x: &[u8; COORDINATE_LEN],
        y: &[u8; COORDINATE_LEN],
    ) -> Result<Self, KeyMaterialError> {
        let mut sec1 = [0u8; 1 + 2 * COORDINATE_LEN];
        let (tag, xy) = sec1.split_at_mut(1);
        let (sx, sy) = xy.split_at_mut(COORDINATE_LEN);
        tag.fill(0x04);
        sx.copy_from_slice(x);
        sy.copy_from_slice(y);
        Self::from_uncompressed(&sec1)
    }

    /// A key from a SEC1 uncompressed point, `0x04 || x || y` (SEC 1 §2.3.3), 65 bytes.
    fn from_uncompressed(sec1: &[u8]) -> Result<Self, KeyMaterialError> {
        if sec1.len() != 1 + 2 * COORDINATE_LEN || sec1.first() != Some(&0x04) {
            return Err(KeyMaterialError::InvalidPoint);
        }
        // `from_sec1_bytes` checks that each coordinate is below p, that the point is on the
        // curve, and refuses the identity.
        VerifyingKey::from_sec1_bytes(sec1)
            .map(|key| Self { key })
            .map_err(|_| KeyMaterialError::InvalidPoint)
    }

    /// Reads an EC JWK (RFC 7518 §6.2.1): `kty` `EC`, `crv` `P-256`, `x` and `y`. A JWK with
    /// `d` is refused. The members that say what the key may do (`kid`, `alg`, `use`,
    /// `key_ops`) are not read here: they are the key layer's.
    pub fn from_jwk(json: &str) -> Result<Self, KeyMaterialError> {
        Self::from_jwk_object(&parse_jwk(json)?)
    }

    /// [`from_jwk`](Self::from_jwk) of a parsed JWK.
    pub(crate) fn from_jwk_object(jwk: &crate::json::Object<'_>) -> Result<Self, KeyMaterialError> {
        jwk_kty_crv(jwk, "EC", "P-256")?;
        let x = jwk_fixed::<COORDINATE_LEN>(jwk, "x")?;
        let y = jwk_fixed::<COORDINATE_LEN>(jwk, "y")?;
        Self::from_coordinates(&x, &y)
    }

    /// Reads a DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7) with `id-ecPublicKey` and the
    /// named curve `prime256v1` (RFC 5480 §2.1.1), and an uncompressed point.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyMaterialError> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|_| KeyMaterialError::Malformed)?;
        if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
            return Err(KeyMaterialError::WrongKeyType);
        }
        // `namedCurve` only: absent parameters, `implicitCurve` (NULL) and `specifiedCurve`
        // are not a named curve.
        match spki.algorithm.parameters_oid() {
            Ok(oid) if oid == SECP256R1 => {}
            _ => return Err(KeyMaterialError::WrongCurve),
        }
        let point = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyMaterialError::Malformed)?;
        Self::from_uncompressed(point)
    }

    /// The affine coordinates `(x, y)`, big-endian: for a JWK's `x` and `y`, and to compare
    /// keys.
    pub fn coordinates(&self) -> ([u8; COORDINATE_LEN], [u8; COORDINATE_LEN]) {
        let point = self.key.to_encoded_point(false);
        let mut x = [0u8; COORDINATE_LEN];
        let mut y = [0u8; COORDINATE_LEN];
        if let (Some(px), Some(py)) = (point.x(), point.y()) {
            x.copy_from_slice(px);
            y.copy_from_slice(py);
        }
        (x, y)
    }

    /// Verifies the ES256 `signature` (64 bytes, `R || S`) over a message whose SHA-256 is
    /// `digest`. [`VerifyFailure::Length`] for any other length; every other failure, r or s
    /// out of range included, is [`VerifyFailure::Invalid`].
    pub fn verify(&self, digest: &[u8; 32], signature: &[u8]) -> Result<(), VerifyFailure> {
        if signature.len() != SIGNATURE_LEN {
            return Err(VerifyFailure::Length);
        }
        // `from_slice` refuses r or s equal to zero or not below n.
        let signature = Signature::from_slice(signature).map_err(|_| VerifyFailure::Invalid)?;
        self.key
            .verify_prehash(digest, &signature)
            .map_err(|_| VerifyFailure::Invalid)
    }

    /// Verifies `signature` over `message` (hashed here): for the vectors and the timings. A
    /// yes or no only.
    pub fn verify_message(&self, message: &[u8], signature: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(message).into();
        self.verify(&digest, signature).is_ok()
    }
}

/// Verifies an ES256 `signature` over `digest` under the stored point `x || y` (validated when
/// it was stored; checked again here, which costs little beside the verification).
pub(crate) fn verify_with_point(
    point: &[u8; 2 * COORDINATE_LEN],
    digest: &[u8; 32],
    signature: &[u8],
) -> Result<(), VerifyFailure> {
    let (x, y) = point.split_at(COORDINATE_LEN);
    let (Ok(x), Ok(y)) = (<&[u8; 32]>::try_from(x), <&[u8; 32]>::try_from(y)) else {
        return Err(VerifyFailure::Invalid);
    };
    P256VerifyingKey::from_coordinates(x, y)
        .map_err(|_| VerifyFailure::Invalid)?
        .verify(digest, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7515 Appendix A.3.1: the P-256 key of the ES256 example.
    const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    fn jwk(extra: &str) -> String {
        format!(r#"{{"kty":"EC","crv":"P-256","x":"{X}","y":"{Y}"{extra}}}"#)
    }

    #[test]
    fn reads_the_rfc7515_key_and_refuses_variants() {
        let key = P256VerifyingKey::from_jwk(&jwk("")).unwrap();
        assert_eq!(
            P256VerifyingKey::from_jwk(&jwk(r#","kid":"k","alg":"ES256","use":"sig""#)),
            Ok(key.clone())
        );
        let (x, y) = key.coordinates();
        assert_eq!(P256VerifyingKey::from_coordinates(&x, &y), Ok(key));
        let cases = [
            (jwk(r#","d":"AA""#), KeyMaterialError::PrivateKeyMaterial),
            (
                jwk("").replace("\"EC\"", "\"RSA\""),
                KeyMaterialError::WrongKeyType,
            ),
            (
                jwk("").replace("P-256", "P-384"),
                KeyMaterialError::WrongCurve,
            ),
            (
                jwk("").replace("P-256", "p-256"),
                KeyMaterialError::WrongCurve,
            ),
            (
                jwk("").replace(",\"crv\":\"P-256\"", ""),
                KeyMaterialError::MissingMember("crv"),
            ),
            (
                jwk("").replace(X, &X[..42]),
                KeyMaterialError::InvalidMember("x"),
            ),
            (
                jwk("").replace(X, &format!("{X}A")),
                KeyMaterialError::InvalidMember("x"),
            ),
            (
                jwk("").replace(X, &format!("{X}=")),
                KeyMaterialError::InvalidMember("x"),
            ),
            // Too short, and 33 bytes: each coordinate is exactly 32 bytes.
            (
                jwk("").replace(X, &X[..40]),
                KeyMaterialError::InvalidMember("x"),
            ),
            (
                jwk("").replace(X, &format!("AA{X}")),
                KeyMaterialError::InvalidMember("x"),
            ),
            // The last character of x changed: (x, y) is no longer on the curve.
            (
                jwk("").replace(X, &format!("{}E", &X[..42])),
                KeyMaterialError::InvalidPoint,
            ),
            (
                jwk("").replace(Y, &format!("{}A", &Y[..42])),
                KeyMaterialError::InvalidPoint,
            ),
            ("{}".to_owned(), KeyMaterialError::MissingMember("kty")),
            ("[]".to_owned(), KeyMaterialError::Malformed),
        ];
        for (text, err) in cases {
            assert_eq!(P256VerifyingKey::from_jwk(&text), Err(err), "{text}");
        }
    }

    #[test]
    fn refuses_points_off_the_curve_and_out_of_range() {
        let p = hex::decode("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff")
            .unwrap();
        let p: [u8; 32] = p.try_into().unwrap();
        for (x, y) in [
            ([0u8; 32], [0u8; 32]),
            (p, [0u8; 32]),
            ([0xff; 32], [0xff; 32]),
        ] {
            assert_eq!(
                P256VerifyingKey::from_coordinates(&x, &y),
                Err(KeyMaterialError::InvalidPoint)
            );
        }
    }

    #[test]
    fn signature_shape() {
        let key = P256VerifyingKey::from_jwk(&jwk("")).unwrap();
        let digest = [1u8; 32];
        for len in [0usize, 32, 63, 65, 70, 72, 128] {
            assert_eq!(
                key.verify(&digest, &vec![1u8; len]),
                Err(VerifyFailure::Length),
                "{len}"
            );
        }
        let n = hex::decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
            .unwrap();
        for (r, s) in [
            (vec![0u8; 32], vec![1u8; 32]),
            (vec![1u8; 32], vec![0u8; 32]),
            (n.clone(), vec![1u8; 32]),
            (vec![1u8; 32], n.clone()),
            (vec![0xffu8; 32], vec![1u8; 32]),
        ] {
            let signature = [r, s].concat();
            assert_eq!(key.verify(&digest, &signature), Err(VerifyFailure::Invalid));
        }
    }
}
