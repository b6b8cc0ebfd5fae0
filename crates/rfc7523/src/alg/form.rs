//! The form each algorithm requires of a signature, checked before any arithmetic and
//! whoever does the arithmetic: this crate's implementations, or a
//! [`KeyLookup::verify_signature`](crate::KeyLookup::verify_signature) (the npm package hands
//! ES256 and Ed25519 to `node:crypto`). A platform that verifies signatures therefore never
//! sees one this crate refuses for its form, and cannot judge such a signature differently.
//!
//! - **RSA** (RS256, PS256; RFC 8017 §8.2.2 step 1, §8.1.2 step 1): exactly the modulus
//!   length ([`VerifyFailure::Length`] otherwise), and its integer below `n` (§5.2.2 step 1).
//! - **ES256** (RFC 7518 §3.4): exactly 64 bytes, `R || S`; `r` and `s` each in `1..n − 1`
//!   (FIPS 186-5 §6.4.2 step 1). A DER `Ecdsa-Sig-Value` is a length failure. A high `s` is
//!   valid (JWS has no low-s rule). What `p256`'s `Signature::from_slice` refuses.
//! - **Ed25519** (RFC 8032 §5.1.7): exactly 64 bytes, `R || S`; `S` below the group order `L`
//!   (step 1); and `R` not of small order, in any encoding: what `ed25519-dalek`'s
//!   `verify_strict` refuses beyond RFC 8032 (OpenSSL's Ed25519, for one, accepts a signature
//!   whose `R` is the identity, made by anyone who holds the private key: `S = k·a mod L`).
//!   A non-canonical `R` of larger order needs no check here: both compare `R` as sent with the
//!   canonical encoding they compute, so it never verifies.

use super::VerifyFailure;
#[cfg(any(feature = "es256", feature = "eddsa"))]
use super::EC_SIGNATURE_LEN;

/// The order `n` of the P-256 group, big-endian (FIPS 186-5, SEC 2 §2.4.2).
#[cfg(feature = "es256")]
pub(crate) const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The order `L` of the Ed25519 base point, 2^252 + 27742317777372353535851937790883648493,
/// **little-endian** as RFC 8032 encodes `S` (§5.1).
#[cfg(feature = "eddsa")]
pub(crate) const ED25519_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// The `y` coordinates of Ed25519's points of small order (the eight-torsion subgroup), and
/// the non-canonical encodings of them, little-endian with the sign bit of `x` cleared: every
/// 255-bit `y` that decodes to a point of order 1, 2, 4 or 8 (libsodium's list, the same
/// seven values). Two points share each order-8 and order-4 `y`; the sign bit chooses one.
#[cfg(feature = "eddsa")]
pub(crate) const ED25519_SMALL_ORDER_Y: [[u8; 32]; 7] = [
    // 0: the two points of order 4, (±√−1, 0).
    [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00,
    ],
    // 1: the identity (0, 1).
    [
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00,
    ],
    // The points of order 8: y and p − y.
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    // p − 1: the point of order 2, (0, −1).
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p and p + 1: 0 and 1 again, not reduced.
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// RSA (RS256, PS256): exactly `n`'s length, and below `n` (see the module docs).
pub(crate) fn rsa(modulus: &[u8], signature: &[u8]) -> Result<(), VerifyFailure> {
    if signature.len() != modulus.len() {
        return Err(VerifyFailure::Length);
    }
    if !super::is_signature_representative(modulus, signature) {
        return Err(VerifyFailure::Invalid);
    }
    Ok(())
}

/// ES256: 64 bytes, `r` and `s` in `1..n − 1` (see the module docs).
#[cfg(feature = "es256")]
pub(crate) fn es256(signature: &[u8]) -> Result<(), VerifyFailure> {
    if signature.len() != EC_SIGNATURE_LEN {
        return Err(VerifyFailure::Length);
    }
    let (r, s) = signature.split_at(EC_SIGNATURE_LEN / 2);
    // Equal lengths, big-endian: the byte order is the numeric order.
    let in_range = |x: &[u8]| x.iter().any(|&b| b != 0) && x < &P256_ORDER[..];
    if in_range(r) && in_range(s) {
        Ok(())
    } else {
        Err(VerifyFailure::Invalid)
    }
}

/// Ed25519: 64 bytes, `S < L`, `R` not of small order (see the module docs).
#[cfg(feature = "eddsa")]
pub(crate) fn ed25519(signature: &[u8]) -> Result<(), VerifyFailure> {
    if signature.len() != EC_SIGNATURE_LEN {
        return Err(VerifyFailure::Length);
    }
    let (r, s) = signature.split_at(EC_SIGNATURE_LEN / 2);
    // S < L, compared from the most significant (last) byte down.
    let s_canonical = s.iter().rev().lt(ED25519_ORDER.iter().rev());
    let small_order = ED25519_SMALL_ORDER_Y.iter().any(|y| {
        r.iter()
            .zip(y)
            .enumerate()
            .all(|(i, (&a, &b))| if i == 31 { a & 0x7f == b } else { a == b })
    });
    if s_canonical && !small_order {
        Ok(())
    } else {
        Err(VerifyFailure::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_length_then_range() {
        let n = [0xc0u8, 0x01, 0x02];
        assert_eq!(rsa(&n, &[0xc0, 0x01]), Err(VerifyFailure::Length));
        assert_eq!(rsa(&n, &[0, 0xc0, 0x01, 0x02]), Err(VerifyFailure::Length));
        assert_eq!(rsa(&n, &[0xc0, 0x01, 0x02]), Err(VerifyFailure::Invalid));
        assert_eq!(rsa(&n, &[0xff, 0xff, 0xff]), Err(VerifyFailure::Invalid));
        assert_eq!(rsa(&n, &[0xc0, 0x01, 0x01]), Ok(()));
        assert_eq!(rsa(&n, &[0, 0, 0]), Ok(()));
    }

    #[cfg(feature = "es256")]
    #[test]
    fn es256_range_edges_agree_with_p256() {
        use p256::ecdsa::Signature;
        let n = P256_ORDER;
        let mut n_minus_1 = n;
        n_minus_1[31] -= 1;
        let mut n_plus_1 = n;
        n_plus_1[31] += 1;
        let mut one = [0u8; 32];
        one[31] = 1;
        let values = [
            [0u8; 32], one, n_minus_1, n, n_plus_1, [0xff; 32], [0x7f; 32],
        ];
        let mut accepted = 0;
        for r in values {
            for s in values {
                let signature = [r, s].concat();
                let ours = es256(&signature);
                let theirs = Signature::from_slice(&signature).is_ok();
                assert_eq!(ours.is_ok(), theirs, "{signature:02x?}");
                accepted += usize::from(theirs);
                if !theirs {
                    assert_eq!(ours, Err(VerifyFailure::Invalid));
                }
            }
        }
        // 1, n − 1 and 0x7f…: three good values for each of r and s.
        assert_eq!(accepted, 9);
        for len in [0, 63, 65, 70, 72] {
            assert_eq!(es256(&vec![1u8; len]), Err(VerifyFailure::Length), "{len}");
        }
    }

    /// RFC 8032 §5.1's base point B (y = 4/5), of order L.
    #[cfg(feature = "eddsa")]
    const BASE_POINT: [u8; 32] = {
        let mut b = [0x66u8; 32];
        b[0] = 0x58;
        b
    };

    #[cfg(feature = "eddsa")]
    #[test]
    fn ed25519_small_order_y_values_are_exactly_the_small_order_points() {
        use ed25519_dalek::VerifyingKey;
        // Every listed y with either sign bit: a point of small order where it decodes at all.
        let mut decoded = 0;
        for y in ED25519_SMALL_ORDER_Y {
            for sign in [0u8, 0x80] {
                let mut bytes = y;
                bytes[31] |= sign;
                if let Ok(point) = VerifyingKey::from_bytes(&bytes) {
                    assert!(point.is_weak(), "{bytes:02x?}");
                    decoded += 1;
                }
                let mut signature = [0u8; 64];
                signature[..32].copy_from_slice(&bytes);
                assert_eq!(ed25519(&signature), Err(VerifyFailure::Invalid));
            }
        }
        // curve25519-dalek decodes all fourteen (it reduces y and ignores a sign on x = 0).
        assert_eq!(decoded, 14);
        // The eight points of small order are the multiples of an order-8 point: each one's
        // canonical encoding is listed, and nothing of larger order is (the RFC 8032 base
        // point and a point near it).
        let t8 = VerifyingKey::from_bytes(&ED25519_SMALL_ORDER_Y[2])
            .unwrap()
            .to_edwards();
        let mut point = t8;
        for _ in 0..8 {
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(point.compress().as_bytes());
            assert_eq!(ed25519(&signature), Err(VerifyFailure::Invalid));
            point += t8;
        }
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&BASE_POINT);
        assert_eq!(ed25519(&signature), Ok(()));
        signature[0] ^= 1;
        assert_eq!(ed25519(&signature), Ok(()));
    }

    #[cfg(feature = "eddsa")]
    #[test]
    fn ed25519_s_below_the_order() {
        let mut signature = [0u8; 64];
        // R: the base point, which is of order L.
        signature[..32].copy_from_slice(&BASE_POINT);
        let mut l_minus_1 = ED25519_ORDER;
        l_minus_1[0] -= 1;
        let mut l_plus_1 = ED25519_ORDER;
        l_plus_1[0] += 1;
        let mut two_l_ish = ED25519_ORDER;
        two_l_ish[31] = 0x20;
        for (s, ok) in [
            ([0u8; 32], true),
            (l_minus_1, true),
            (ED25519_ORDER, false),
            (l_plus_1, false),
            (two_l_ish, false),
            ([0xff; 32], false),
        ] {
            signature[32..].copy_from_slice(&s);
            assert_eq!(ed25519(&signature).is_ok(), ok, "{s:02x?}");
        }
        for len in [0, 32, 63, 65] {
            assert_eq!(
                ed25519(&vec![1u8; len]),
                Err(VerifyFailure::Length),
                "{len}"
            );
        }
    }
}
