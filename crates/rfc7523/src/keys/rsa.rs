//! RSA public keys (RFC 8017 §3.1) for RS256 and PS256: the load-time checks (size, exponent,
//! modulus shape), SubjectPublicKeyInfo (RFC 5280 §4.1.2.7, `rsaEncryption`) and PKCS#1
//! `RSAPublicKey` (RFC 8017 Appendix A.1.1) in DER, and the RSAVP1 operation over a key kept
//! as bytes sized to it.
//!
//! A key is its modulus `n` and `R² mod n` (the Montgomery constant of
//! [`rfc7523_rsavp1::precompute`]), both big-endian and exactly as long as the modulus, plus
//! `e` and one 64-bit constant: 2 × 256 + 16 bytes for a 2048-bit key. [`RsaKey`] is that key
//! borrowed from a [`KeySet`](super::KeySet)'s storage; [`RsaVerifyingKey`] owns one (room for
//! the largest modulus: for tools and tests, not for storage).

use rfc7523_rsavp1::Constants;

use super::KeyError;
use crate::jws::MAX_SIGNATURE_LEN;

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3 and §3.5: "2048 bits or larger MUST
/// be used").
pub const MIN_RSA_BITS: usize = 2048;

/// Largest RSA modulus accepted, in bits. Bounds the verify cost an issuer can impose.
pub const MAX_RSA_BITS: usize = 8192;

// The arithmetic's widest width holds the largest key.
const _: () = assert!(MAX_RSA_BITS <= rfc7523_rsavp1::MAX_MODULUS_BITS);

/// Largest public exponent accepted (2^33 − 1, the bound of the `rsa` crate and of other
/// libraries; in practice e = 65537). It also bounds the verify cost: at most 33 squarings.
pub const MAX_PUBLIC_EXPONENT: u64 = (1 << 33) - 1;

/// Longest modulus in bytes.
pub(crate) const MAX_MODULUS_LEN: usize = MAX_RSA_BITS / 8;

/// `rsaEncryption` (RFC 8017 Appendix A.1, RFC 3279 §2.3.1): the algorithm of an RSA
/// SubjectPublicKeyInfo.
pub(crate) const RSA_ENCRYPTION: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// An RSA public key borrowed from where it is stored: what RS256 and PS256 verify with, and
/// what a [`KeyLookup::rsavp1`](crate::KeyLookup::rsavp1) receives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RsaKey<'a> {
    n: &'a [u8],
    rr: &'a [u8],
    constants: Constants,
    e: u64,
}

impl core::fmt::Debug for RsaKey<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RsaKey")
            .field("bits", &self.bits())
            .field("e", &self.e)
            .finish_non_exhaustive()
    }
}

impl<'a> RsaKey<'a> {
    /// Reassembles a key from its stored parts (the key set's records).
    pub(crate) const fn from_parts(n: &'a [u8], rr: &'a [u8], n0: u64, e: u64) -> Self {
        Self {
            n,
            rr,
            constants: Constants { n0 },
            e,
        }
    }

    /// The modulus n, big-endian, without leading zeros (a JWK's `n`, RFC 7518 §6.3.1.1).
    pub const fn modulus(&self) -> &'a [u8] {
        self.n
    }

    /// The modulus length in bytes (= the signature length, k).
    pub const fn modulus_len(&self) -> usize {
        self.n.len()
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        bit_len(self.n)
    }

    /// The public exponent e (a JWK's `e`, RFC 7518 §6.3.1.2).
    pub const fn exponent(&self) -> u64 {
        self.e
    }

    /// RSAVP1 (RFC 8017 §5.2.2) with this crate's fixed-width arithmetic: writes
    /// I2OSP(OS2IP(`signature`)^e mod n, k) into `out`, which must be exactly k bytes. `None`
    /// when `signature` or `out` is not k bytes or the representative is not below n.
    pub fn rsavp1(&self, signature: &[u8], out: &mut [u8]) -> Option<()> {
        rfc7523_rsavp1::rsavp1(self.n, self.rr, self.constants, self.e, signature, out)
    }

    pub(crate) const fn r_squared(&self) -> &'a [u8] {
        self.rr
    }

    pub(crate) const fn n0(&self) -> u64 {
        self.constants.n0
    }
}

/// One RSA public key, owned, with room for the largest modulus (about 2 KiB): read from any
/// format, then stored sized to the key in a [`KeySet`](super::KeySet), or used on its own
/// (test vectors, tools).
#[derive(Clone, PartialEq, Eq)]
pub struct RsaVerifyingKey {
    n: heapless::Vec<u8, MAX_MODULUS_LEN>,
    rr: heapless::Vec<u8, MAX_MODULUS_LEN>,
    n0: u64,
    e: u64,
}

impl core::fmt::Debug for RsaVerifyingKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.as_key().fmt(f)
    }
}

impl RsaVerifyingKey {
    /// Builds a key from big-endian modulus and exponent bytes (leading zeros are ignored),
    /// applying every size and shape check: at least [`MIN_RSA_BITS`], at most
    /// [`MAX_RSA_BITS`], an odd modulus, an odd exponent in 3..=[`MAX_PUBLIC_EXPONENT`].
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        let n = check_modulus(n)?;
        Self::from_checked(n, check_exponent(e)?)
    }

    /// A key from a checked modulus (no leading zero) and exponent: `R² mod n` computed.
    pub(crate) fn from_checked(n: &[u8], e: u64) -> Result<Self, KeyError> {
        let mut key = Self {
            n: heapless::Vec::from_slice(n).map_err(|()| KeyError::InvalidModulus)?,
            rr: heapless::Vec::new(),
            n0: 0,
            e,
        };
        key.rr
            .resize_default(n.len())
            .map_err(|()| KeyError::InvalidModulus)?;
        let constants =
            rfc7523_rsavp1::precompute(n, e, &mut key.rr).ok_or(KeyError::InvalidModulus)?;
        key.n0 = constants.n0;
        Ok(key)
    }

    /// Reads a DER `SubjectPublicKeyInfo` with the `rsaEncryption` algorithm.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_source(super::source::spki(der)?)
    }

    /// Reads a DER PKCS#1 `RSAPublicKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_source(super::source::pkcs1(der)?)
    }

    /// Reads a PEM `PUBLIC KEY` (SPKI, `rsaEncryption`) or `RSA PUBLIC KEY` (PKCS#1) block.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let mut buf = [0u8; crate::pem::MAX_DER];
        Self::from_source(super::source::public_key_pem(pem, &mut buf)?)
    }

    /// Reads one RSA JWK (RFC 7517 §4, RFC 7518 §6.3.1). A JWK that is not for signatures
    /// (`use`, `key_ops`) or names an algorithm an RSA key does not serve is refused.
    pub fn from_jwk(json: &str) -> Result<Self, KeyError> {
        Self::from_material(super::VerifyingKey::from_jwk(json)?.into_material())
    }

    /// An RSA key from `source`; another key type is [`KeyError::UnsupportedKeyType`].
    pub(crate) fn from_source(source: super::source::Source<'_>) -> Result<Self, KeyError> {
        Self::from_material(super::KeyMaterial::from_source(source)?)
    }

    /// The RSA key of `material`; another key type is [`KeyError::UnsupportedKeyType`].
    #[inline]
    fn from_material(material: super::KeyMaterial) -> Result<Self, KeyError> {
        match material {
            super::KeyMaterial::Rsa(key) => Ok(key),
            #[allow(unreachable_patterns)] // without the es256 and eddsa features
            _ => Err(KeyError::UnsupportedKeyType),
        }
    }

    /// The key, borrowed.
    pub fn as_key(&self) -> RsaKey<'_> {
        RsaKey::from_parts(&self.n, &self.rr, self.n0, self.e)
    }

    /// True when `other` is the same public key (modulus and exponent).
    pub fn same_public_key(&self, other: &RsaVerifyingKey) -> bool {
        self.n == other.n && self.e == other.e
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        bit_len(&self.n)
    }

    /// The modulus length in bytes (= the RS256 and PS256 signature length).
    pub fn modulus_len(&self) -> usize {
        self.n.len()
    }

    /// The public exponent e.
    pub const fn exponent(&self) -> u64 {
        self.e
    }

    /// Writes the modulus n as big-endian bytes into `out` (at least
    /// [`modulus_len`](Self::modulus_len) bytes; that many are written) and returns them.
    pub fn modulus<'o>(&self, out: &'o mut [u8]) -> Option<&'o [u8]> {
        let out = out.get_mut(..self.n.len())?;
        out.copy_from_slice(&self.n);
        Some(out)
    }

    /// Verifies an RSASSA-PKCS1-v1_5 signature with SHA-256 over `message` (RFC 8017 §8.2.2,
    /// with the encoding of §9.2): the raw primitive under an RS256 JWS. Public for test
    /// vectors and for callers that verify non-JWS data. A yes or no only.
    pub fn verify_rs256(&self, message: &[u8], signature: &[u8]) -> bool {
        use sha2::{Digest, Sha256};
        let digest: [u8; 32] = Sha256::digest(message).into();
        let key = self.as_key();
        crate::alg::rs256::verify(key.modulus(), &digest, signature, &|em| {
            key.rsavp1(signature, em)
        })
        .is_ok()
    }

    /// RSAVP1 (RFC 8017 §5.2.2): writes I2OSP(OS2IP(`signature`)^e mod n, k) into `out` and
    /// returns it. `None` when `signature` is not exactly k bytes, `out` is shorter, or the
    /// representative is not below n. Public for test vectors and for comparing
    /// implementations.
    pub fn rsavp1<'o>(&self, signature: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
        let out = out.get_mut(..self.n.len())?;
        self.as_key().rsavp1(signature, out)?;
        Some(out)
    }
}

// The exact stored size, for the budget test.
const _: () = assert!(MAX_MODULUS_LEN == MAX_SIGNATURE_LEN);

/// The modulus without its leading zeros, checked: [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`] bits,
/// odd.
pub(crate) fn check_modulus(n: &[u8]) -> Result<&[u8], KeyError> {
    let n = strip_leading_zeros(n);
    let bits = bit_len(n);
    if bits < MIN_RSA_BITS {
        return Err(KeyError::ModulusTooSmall { bits });
    }
    if bits > MAX_RSA_BITS {
        return Err(KeyError::ModulusTooLarge { bits });
    }
    if n.last().is_none_or(|last| last % 2 == 0) {
        return Err(KeyError::InvalidModulus);
    }
    Ok(n)
}

/// The public exponent's value, checked: odd, 3 to [`MAX_PUBLIC_EXPONENT`].
pub(crate) fn check_exponent(e: &[u8]) -> Result<u64, KeyError> {
    let e = strip_leading_zeros(e);
    if e.len() > 8 {
        return Err(KeyError::InvalidExponent);
    }
    let value = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if value < 3 || value % 2 == 0 || value > MAX_PUBLIC_EXPONENT {
        return Err(KeyError::InvalidExponent);
    }
    Ok(value)
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

pub(crate) fn bit_len(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(&top) => bytes.len() * 8 - top.leading_zeros() as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_size_boundaries() {
        // Odd moduli of exactly 2047, 2048, 8192 and 8193 bits.
        let modulus = |bits: usize| {
            let mut n = vec![0xffu8; bits.div_ceil(8)];
            let top_bits = bits % 8;
            if top_bits != 0 {
                n[0] = (1u8 << top_bits) - 1;
            }
            n
        };
        assert_eq!(
            RsaVerifyingKey::from_components(&modulus(2047), &[1, 0, 1]),
            Err(KeyError::ModulusTooSmall { bits: 2047 })
        );
        for bits in [2048, 8192] {
            let key = RsaVerifyingKey::from_components(&modulus(bits), &[1, 0, 1]).unwrap();
            assert_eq!(key.bits(), bits);
            assert_eq!(key.as_key().bits(), bits);
        }
        assert_eq!(
            RsaVerifyingKey::from_components(&modulus(8193), &[1, 0, 1]),
            Err(KeyError::ModulusTooLarge { bits: 8193 })
        );
        for e in [&[1u8][..], &[2], &[0], &[1, 0, 0], &[2, 0, 0, 0, 0]] {
            assert_eq!(
                RsaVerifyingKey::from_components(&modulus(2048), e),
                Err(KeyError::InvalidExponent),
                "{e:?}"
            );
        }
        assert!(RsaVerifyingKey::from_components(&modulus(2048), &[3]).is_ok());
        // MAX_PUBLIC_EXPONENT itself is accepted; the next odd value is not.
        let max_e = MAX_PUBLIC_EXPONENT.to_be_bytes();
        assert!(RsaVerifyingKey::from_components(&modulus(2048), &max_e).is_ok());
        let over_e = (MAX_PUBLIC_EXPONENT + 2).to_be_bytes();
        assert_eq!(
            RsaVerifyingKey::from_components(&modulus(2048), &over_e),
            Err(KeyError::InvalidExponent)
        );
        let mut even = modulus(2048);
        *even.last_mut().unwrap() = 0xfe;
        assert_eq!(
            RsaVerifyingKey::from_components(&even, &[1, 0, 1]),
            Err(KeyError::InvalidModulus)
        );
    }
}
