//! PS256: RSASSA-PSS with SHA-256, MGF1-SHA-256 and a salt of exactly 32 bytes (RFC 7518
//! §3.5), verified as RFC 8017 §8.1.2 and EMSA-PSS-VERIFY (§9.1.2) say.
//!
//! The same shape as [`rs256`](super::rs256): the length and range checks here, then RSAVP1
//! through the caller's hook (the fixed-width arithmetic of [`rfc7523_rsavp1`], or a platform's
//! `s ↦ s^e mod n`) into a fixed buffer of [`MAX_SIGNATURE_LEN`] bytes, then the encoding
//! checked here. The hook never sees the message or its digest, so a hook that errs refuses
//! signatures and cannot make one pass.
//!
//! The salt length is not recovered from the encoding: RFC 7518 §3.5 fixes it at the hash
//! size, so a signature made with any other salt length (golang-jwt's historical
//! `PSSSaltLengthAuto`, the maximum; Wycheproof's "s_len changed" cases) is refused. Every
//! check of steps 4 to 14 is accumulated and decided once at the end, without branching on
//! the recovered bytes (constant-time by habit, like RS256's comparison: key, message and
//! signature are all public). Nothing on this path uses the heap.

use sha2::{Digest, Sha256};

use super::VerifyFailure;
use crate::jws::MAX_SIGNATURE_LEN;

/// Length of the SHA-256 output, `hLen` (RFC 8017 §9.1).
const H_LEN: usize = 32;

/// Length of the salt, `sLen`: the size of the hash output (RFC 7518 §3.5).
pub const SALT_LEN: usize = 32;

/// The trailer field of EMSA-PSS (RFC 8017 §9.1.1 step 12).
const TRAILER: u8 = 0xbc;

/// Verifies the RSASSA-PSS `signature` over a message whose SHA-256 is `digest`, under the key
/// whose modulus is `n` (big-endian) of `modulus_bits` bits (the exact bit length of n: EMSA-PSS works on `modBits − 1` bits),
/// with `rsavp1` computing `signature^e mod n` into its buffer (exactly k bytes, k the modulus
/// length). `rsavp1` is called only after the length and range checks passed.
///
/// [`VerifyFailure::Length`] when the signature is not k bytes long (§8.1.2 step 1); every other
/// failure, including a `modulus_bits` that does not fit k, is [`VerifyFailure::Invalid`].
pub fn verify(
    n: &[u8],
    modulus_bits: usize,
    digest: &[u8; 32],
    signature: &[u8],
    rsavp1: &dyn Fn(&mut [u8]) -> Option<()>,
) -> Result<(), VerifyFailure> {
    let k = n.len();
    // Step 1: length check.
    if signature.len() != k || k > MAX_SIGNATURE_LEN {
        return Err(VerifyFailure::Length);
    }
    // The caller's bit length must be that of a k-byte modulus.
    if modulus_bits == 0 || modulus_bits.div_ceil(8) != k {
        return Err(VerifyFailure::Invalid);
    }
    // Step 2a-b: OS2IP, and RSAVP1's range check (RFC 8017 §5.2.2 step 1), then the
    // exponentiation into a fixed buffer.
    if !super::is_signature_representative(n, signature) {
        return Err(VerifyFailure::Invalid);
    }
    let mut buffer = [0u8; MAX_SIGNATURE_LEN];
    let m = buffer.get_mut(..k).ok_or(VerifyFailure::Invalid)?;
    rsavp1(m).ok_or(VerifyFailure::Invalid)?;
    // Step 2c: EM = I2OSP(m, emLen), emLen = ceil((modBits − 1) / 8). When modBits − 1 is a
    // multiple of 8, emLen = k − 1 and the k-byte output's first byte must be zero (otherwise
    // I2OSP reports "integer too large": invalid).
    let em_bits = modulus_bits - 1;
    let em_len = em_bits.div_ceil(8);
    let (leading, em) = m
        .split_at_mut_checked(k - em_len)
        .ok_or(VerifyFailure::Invalid)?;
    let leading = leading.iter().fold(0u8, |acc, &b| acc | b);
    // Step 3 (EMSA-PSS-VERIFY): emLen ≥ hLen + sLen + 2, true of every key of 2048 bits or
    // more; it depends on the key only.
    if em_len < H_LEN + SALT_LEN + 2 {
        return Err(VerifyFailure::Invalid);
    }
    if leading == 0 && emsa_pss_verify(em, em_bits, digest) {
        Ok(())
    } else {
        Err(VerifyFailure::Invalid)
    }
}

/// EMSA-PSS-VERIFY (RFC 8017 §9.1.2) steps 4 to 14, for SHA-256, MGF1-SHA-256 and
/// [`SALT_LEN`], on `em` (emLen bytes, unmasked in place). True when consistent.
fn emsa_pss_verify(em: &mut [u8], em_bits: usize, m_hash: &[u8; 32]) -> bool {
    let em_len = em.len();
    // The number of leftmost bits of EM that must be zero: 8·emLen − emBits, 0 to 7.
    let zero_bits = 8 * em_len - em_bits;
    let Some(top_mask) = 0xffu8.checked_shr(zero_bits as u32) else {
        return false;
    };
    // Step 5: maskedDB (emLen − hLen − 1 bytes), H (hLen bytes), then the trailer.
    let db_len = em_len - H_LEN - 1;
    let Some((masked_db, rest)) = em.split_at_mut_checked(db_len) else {
        return false;
    };
    let Some((h, trailer)) = rest.split_at_checked(H_LEN) else {
        return false;
    };
    // Step 4: the rightmost octet is 0xbc.
    let mut diff = trailer.iter().fold(0u8, |acc, &b| acc | (b ^ TRAILER));
    diff |= u8::from(trailer.len() != 1);
    // Step 6: the leftmost 8·emLen − emBits bits of maskedDB are zero.
    diff |= masked_db.first().map_or(0xff, |&b| b & !top_mask);
    // Steps 7-8: DB = maskedDB ⊕ MGF1(H, emLen − hLen − 1), in place.
    mgf1_sha256_xor(h, masked_db);
    let db = masked_db;
    // Step 9: the leftmost bits of DB set to zero.
    if let Some(first) = db.first_mut() {
        *first &= top_mask;
    }
    // Step 10: DB = PS (emLen − hLen − sLen − 2 zero bytes) || 0x01 || salt.
    let ps_len = db_len - SALT_LEN - 1;
    for (i, &byte) in db.iter().enumerate() {
        let expected = match i.cmp(&ps_len) {
            core::cmp::Ordering::Less => byte,
            core::cmp::Ordering::Equal => byte ^ 0x01,
            core::cmp::Ordering::Greater => 0,
        };
        diff |= expected;
    }
    // Steps 11-13: H' = SHA-256(0x00 × 8 || mHash || salt).
    let salt = db.get(ps_len + 1..).unwrap_or_default();
    let h_prime = Sha256::new()
        .chain_update([0u8; 8])
        .chain_update(m_hash)
        .chain_update(salt)
        .finalize();
    // Step 14: H = H'.
    for (a, b) in h.iter().zip(h_prime.iter()) {
        diff |= a ^ b;
    }
    diff |= u8::from(h.len() != H_LEN || salt.len() != SALT_LEN);
    diff == 0
}

/// `out ⊕= MGF1(seed, out.len())` with SHA-256 (RFC 8017 Appendix B.2.1): the mask generated
/// 32 bytes at a time, never stored whole.
fn mgf1_sha256_xor(seed: &[u8], out: &mut [u8]) {
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(H_LEN)) {
        let block = Sha256::new()
            .chain_update(seed)
            .chain_update(counter.to_be_bytes())
            .finalize();
        for (o, m) in chunk.iter_mut().zip(block.iter()) {
            *o ^= m;
        }
    }
}

/// Verifies `signature` over `message` (hashed here) under `key` with the crate's own RSAVP1:
/// the PS256 counterpart of [`RsaVerifyingKey::verify_rs256`](crate::RsaVerifyingKey::verify_rs256),
/// for the vectors and the timings. A yes or no only.
pub fn verify_message(key: &crate::RsaVerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    let digest: [u8; 32] = Sha256::digest(message).into();
    let key = key.as_key();
    verify(key.modulus(), key.bits(), &digest, signature, &|em| {
        key.rsavp1(signature, em)
    })
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with SHA-256, MGF1-SHA-256 and `salt`, into
    /// `em_len` bytes for `em_bits`: the reference the verifier is checked against here.
    fn encode(m_hash: &[u8; 32], salt: &[u8], em_bits: usize) -> Vec<u8> {
        let em_len = em_bits.div_ceil(8);
        let h: [u8; 32] = Sha256::new()
            .chain_update([0u8; 8])
            .chain_update(m_hash)
            .chain_update(salt)
            .finalize()
            .into();
        let db_len = em_len - 33;
        let mut db = vec![0u8; db_len];
        db[db_len - salt.len() - 1] = 0x01;
        db[db_len - salt.len()..].copy_from_slice(salt);
        mgf1_sha256_xor(&h, &mut db);
        db[0] &= 0xff >> (8 * em_len - em_bits);
        let mut em = db;
        em.extend_from_slice(&h);
        em.push(TRAILER);
        em
    }

    /// An odd modulus of exactly `bits` bits (all ones) and a signature below it.
    fn key(bits: usize) -> (Vec<u8>, Vec<u8>) {
        let mut n = vec![0xffu8; bits.div_ceil(8)];
        if bits % 8 != 0 {
            n[0] = (1u8 << (bits % 8)) - 1;
        }
        let signature = vec![0u8; n.len()];
        (n, signature)
    }

    /// The verifier on an EM handed over by the hook (as a platform RSAVP1 would), at modulus
    /// sizes where emLen is k (2048, 2050 bits) and where it is k − 1 (2049 bits: the first
    /// byte of RSAVP1's output must then be zero).
    #[test]
    fn accepts_exactly_the_encoding() {
        let digest = [0x5au8; 32];
        for bits in [2048usize, 2049, 2050, 3072, 4096] {
            let (n, signature) = key(bits);
            let k = n.len();
            let em = encode(&digest, &[0xa5; SALT_LEN], bits - 1);
            let mut padded = vec![0u8; k - em.len()];
            padded.extend_from_slice(&em);
            let run = |block: &[u8]| {
                let block = block.to_vec();
                verify(&n, bits, &digest, &signature, &|out| {
                    out.copy_from_slice(&block);
                    Some(())
                })
            };
            assert_eq!(run(&padded), Ok(()), "{bits} bits");
            // Every single-bit change of the block refuses.
            for i in 0..k {
                for bit in 0..8 {
                    let mut bad = padded.clone();
                    bad[i] ^= 1 << bit;
                    assert_eq!(
                        run(&bad),
                        Err(VerifyFailure::Invalid),
                        "{bits} bits, byte {i}"
                    );
                }
            }
            // Another digest, another salt length, the wrong bit length: refused.
            let other = [0x5bu8; 32];
            assert_eq!(
                verify(&n, bits, &other, &signature, &|out| {
                    out.copy_from_slice(&padded);
                    Some(())
                }),
                Err(VerifyFailure::Invalid)
            );
            for salt_len in [0usize, 20, 31, 33, 48, 64] {
                let em = encode(&digest, &vec![7u8; salt_len], bits - 1);
                let mut block = vec![0u8; k - em.len()];
                block.extend_from_slice(&em);
                assert_eq!(run(&block), Err(VerifyFailure::Invalid), "salt {salt_len}");
            }
            for wrong_bits in [bits - 8, bits + 8, 0] {
                assert_eq!(
                    verify(&n, wrong_bits, &digest, &signature, &|out| {
                        out.copy_from_slice(&padded);
                        Some(())
                    }),
                    Err(VerifyFailure::Invalid),
                    "{bits} bits given as {wrong_bits}"
                );
            }
            // A hook that fails refuses; a signature of the wrong length never reaches it.
            assert_eq!(
                verify(&n, bits, &digest, &signature, &|_| None),
                Err(VerifyFailure::Invalid)
            );
            for len in [k - 1, k + 1, 0] {
                assert_eq!(
                    verify(&n, bits, &digest, &vec![0u8; len], &|_| unreachable!()),
                    Err(VerifyFailure::Length)
                );
            }
        }
    }

    #[test]
    fn signature_not_below_the_modulus_never_reaches_the_hook() {
        let (n, _) = key(2048);
        assert_eq!(
            verify(&n, 2048, &[0; 32], &n, &|_| unreachable!()),
            Err(VerifyFailure::Invalid)
        );
    }
}
