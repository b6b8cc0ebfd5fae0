//! JWK thumbprints (RFC 7638): the SHA-256 of a key's required members, in lexicographic
//! order, without white space, the base64url values written straight into the hash (no
//! buffer: a 1,024-byte modulus is encoded three bytes at a time).

use sha2::{Digest, Sha256};

use super::MaterialRef;

/// The RFC 7638 §3 thumbprint of `key` (RFC 8037 §2 for OKP keys).
pub(super) fn of(key: &MaterialRef<'_>) -> [u8; 32] {
    let mut hash = Sha256::new();
    match key {
        MaterialRef::Rsa(rsa) => {
            // `e` as the shortest big-endian octets (RFC 7518 §6.3.1.2).
            let e = rsa.exponent().to_be_bytes();
            let zeros = e.iter().take_while(|&&b| b == 0).count();
            hash.update(b"{\"e\":\"");
            encode(&mut hash, e.get(zeros..).unwrap_or_default());
            hash.update(b"\",\"kty\":\"RSA\",\"n\":\"");
            encode(&mut hash, rsa.modulus());
            hash.update(b"\"}");
        }
        MaterialRef::P256(point) => {
            let (x, y) = point.split_at(32);
            hash.update(b"{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"");
            encode(&mut hash, x);
            hash.update(b"\",\"y\":\"");
            encode(&mut hash, y);
            hash.update(b"\"}");
        }
        MaterialRef::Ed25519(x) => {
            hash.update(b"{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"");
            encode(&mut hash, &x[..]);
            hash.update(b"\"}");
        }
    }
    hash.finalize().into()
}

/// Unpadded base64url of `bytes` into the hash.
fn encode(hash: &mut Sha256, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let char_of = |sextet: u32| {
        // A 6-bit value indexes 64 characters: never out of range.
        ALPHABET
            .get((sextet & 0x3f) as usize)
            .copied()
            .unwrap_or(b'A')
    };
    for chunk in bytes.chunks(3) {
        let (a, b, c) = match *chunk {
            [a, b, c] => (a, b, c),
            [a, b] => (a, b, 0),
            [a] => (a, 0, 0),
            _ => continue,
        };
        let group = u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c);
        let quad = [
            char_of(group >> 18),
            char_of(group >> 12),
            char_of(group >> 6),
            char_of(group),
        ];
        hash.update(quad.get(..chunk.len() + 1).unwrap_or_default());
    }
}
