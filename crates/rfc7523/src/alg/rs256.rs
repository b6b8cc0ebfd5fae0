//! RS256: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), verified as RFC 8017 §8.2.2 says.
//!
//! The verifier does not parse the decrypted block. It builds the one encoding that is
//! correct, `EM' = 0x00 01 FF…FF 00 || DigestInfo(SHA-256) || H` (RFC 8017 §9.2), and compares
//! it with `EM` in constant time. Every BER variant, garbage in the padding, a missing NULL in
//! the DigestInfo (Wycheproof's `MissingNull`, "acceptable" there) and every other malleation is
//! therefore rejected by construction. The modular exponentiation (RSAVP1) is
//! [`rfc7523_rsavp1`]'s fixed-width Montgomery arithmetic unless the caller's
//! [`KeyLookup`](crate::KeyLookup) hands it to another implementation; the length and range
//! checks and the comparison stay here either way. Nothing on this path uses the heap.

use super::VerifyFailure;
use crate::jws::MAX_SIGNATURE_LEN;

/// `DigestInfo` DER prefix for SHA-256 (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Verifies `signature` over a message whose SHA-256 is `digest`, under the key whose modulus
/// is `n` (big-endian), with `rsavp1`
/// computing `signature^e mod n` into its buffer (exactly k bytes). `rsavp1` is called only
/// after steps 1 and 2's input checks passed here, and never sees the digest: whatever it
/// returns is compared with the one valid encoding, so a wrong result refuses.
pub fn verify(
    n: &[u8],
    digest: &[u8; 32],
    signature: &[u8],
    rsavp1: &dyn Fn(&mut [u8]) -> Option<()>,
) -> Result<(), VerifyFailure> {
    let modulus_len = n.len();
    // Step 1: length check.
    if signature.len() != modulus_len || modulus_len > MAX_SIGNATURE_LEN {
        return Err(VerifyFailure::Length);
    }
    // Step 2: OS2IP, RSAVP1 (RFC 8017 §5.2.2 step 1: the representative must be below n),
    // and I2OSP(m, k), into a fixed buffer.
    if !super::is_signature_representative(n, signature) {
        return Err(VerifyFailure::Invalid);
    }
    let mut em = [0u8; MAX_SIGNATURE_LEN];
    let em = em.get_mut(..modulus_len).ok_or(VerifyFailure::Invalid)?;
    rsavp1(em).ok_or(VerifyFailure::Invalid)?;
    // Steps 3-4: compare with the expected encoding, in constant time.
    if expected_encoding_matches(em, digest) {
        Ok(())
    } else {
        Err(VerifyFailure::Invalid)
    }
}

/// True when `em` equals `0x00 01 FF…FF 00 || DigestInfo || digest`.
fn expected_encoding_matches(em: &[u8], digest: &[u8; 32]) -> bool {
    let k = em.len();
    let t_len = SHA256_DIGEST_INFO.len() + digest.len();
    // RFC 8017 §9.2 step 3: emLen >= tLen + 11.
    if k < t_len + 11 {
        return false;
    }
    let ps_end = k - t_len - 1; // index of the 0x00 separator
    let mut diff = 0u8;
    for (i, &byte) in em.iter().enumerate() {
        let expected = match i {
            0 => 0x00,
            1 => 0x01,
            i if i < ps_end => 0xff,
            i if i == ps_end => 0x00,
            i => {
                let t = i - ps_end - 1;
                match SHA256_DIGEST_INFO.get(t) {
                    Some(&b) => b,
                    None => digest
                        .get(t - SHA256_DIGEST_INFO.len())
                        .copied()
                        .unwrap_or(0),
                }
            }
        };
        diff |= byte ^ expected;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_encoding_layout() {
        let digest = [7u8; 32];
        let k = 256;
        let mut em = vec![0xffu8; k];
        em[0] = 0;
        em[1] = 1;
        let t_start = k - 51;
        em[t_start - 1] = 0;
        em[t_start..t_start + 19].copy_from_slice(&SHA256_DIGEST_INFO);
        em[t_start + 19..].copy_from_slice(&digest);
        assert!(expected_encoding_matches(&em, &digest));
        for i in 0..k {
            let mut bad = em.clone();
            bad[i] ^= 0x01;
            assert!(!expected_encoding_matches(&bad, &digest), "byte {i}");
        }
        assert!(!expected_encoding_matches(&em[..61], &digest));
    }
}
