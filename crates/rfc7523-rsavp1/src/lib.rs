//! # rfc7523-rsavp1
//!
//! RSAVP1 (RFC 8017 §5.2.2): `m = s^e mod n` under an RSA public key, in fixed-width
//! Montgomery arithmetic (Montgomery 1985; HAC §14.3.2), with no heap and no dependency. It is
//! the RSA step of `rfc7523`'s RS256 verification (`rs256`, RFC 8017 §8.2.2), in a crate of its
//! own so that a build can optimise it for speed and the rest for size.
//!
//! **Widths.** A modulus is placed in the smallest of four widths, `Width`: 2048, 3072,
//! 4096 or 8192 bits. The arithmetic is monomorphised per width (const generics), so every
//! number is a stack array of a size known at compile time and nothing is allocated. A key
//! between two widths (say 2304 bits) uses the larger one: Montgomery's method only needs
//! `n < R`.
//!
//! With the feature `fewer-widths` (the npm package's size-bound RS256-only module) there is
//! no 3072-bit width: a key of 2049 to 4096 bits uses the 4096-bit one, so a 3072-bit key pays
//! for 4096 bits (about (4096/3072)² ≈ 1.8× the time) and the build carries one set of
//! monomorphised arithmetic less. The results are the same.
//!
//! **Limbs, per target** (`Active`):
//! Both use product scanning ("FIPS", Koç, Acar, Kaliski, "Analyzing and Comparing Montgomery
//! Multiplication Algorithms", 1996, §6) with digits narrow enough that a whole column sums in
//! one accumulator twice the digit type's width, so the inner loop is one multiply and one
//! add, with no carry handling:
//! - 64-bit targets: radix 2^57 digits in `u64`, `u128` column accumulators (`radix57`): a
//!   product is below 2^114, a column (at most 289 products at 8192 bits) below 2^123.
//! - 32-bit targets (wasm32, Cortex-M): radix 2^27 digits in `u32`, `u64` accumulators
//!   (`radix27`). wasm has no 64 × 64 → 128 multiply; with 27-bit digits a product is below
//!   2^54 and a whole column (at most 609 products at 8192 bits) sums below 2^64.
//!
//! Both representations are compiled and tested on every target; `Active` picks one.
//!
//! **Exponentiation.** Left-to-right binary over `e` (which is odd, checked when the key is
//! loaded): `s` enters the Montgomery domain once (`s·R² ·R⁻¹`), then one squaring per bit of
//! `e` and one multiplication per set bit; the last multiplication uses the plain `s`, which
//! leaves the domain without a conversion. For e = 65537: 1 + 16 + 1 = 18 multiplications.
//!
//! **Variable time, on purpose.** Every input of a verification is public: the key, the
//! signature and the message. Nothing here handles a secret. Signing (`sign`, the `rsa`
//! crate) is separate.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::panic, clippy::unwrap_used, clippy::expect_used)
)]

#[cfg(test)]
extern crate std;

use core::fmt;

// Each target uses one representation; the other is still built and tested natively.
#[cfg_attr(target_pointer_width = "64", allow(dead_code))]
mod radix27;
#[cfg_attr(not(target_pointer_width = "64"), allow(dead_code))]
mod radix57;

/// Largest modulus, in bits (the widest of the four widths).
pub const MAX_MODULUS_BITS: usize = 8192;

/// Largest modulus, in bytes.
pub const MAX_MODULUS_LEN: usize = MAX_MODULUS_BITS / 8;

/// The limb representation of this target.
#[cfg(target_pointer_width = "64")]
pub(crate) type Active = radix57::Radix57;
/// The limb representation of this target.
#[cfg(not(target_pointer_width = "64"))]
pub(crate) type Active = radix27::Radix27;

type Limb = <Active as Radix>::Limb;

/// The byte conversions ([`Radix::from_be_bytes`], [`Radix::write_be_bytes`]) keep their
/// pending bits in a `u64`: at most `bits + 7` of them, or exactly `bits` when limbs are whole
/// bytes.
const fn pending_fits(bits: u32) -> bool {
    bits + 7 <= 64 || (bits % 8 == 0 && bits <= 64)
}
const _: () = assert!(pending_fits(radix27::Radix27::BITS) && pending_fits(radix57::Radix57::BITS));

/// Limbs of `bits` bits at `limb_bits` bits a limb.
pub(crate) const fn limbs_for(bits: usize, limb_bits: u32) -> usize {
    bits.div_ceil(limb_bits as usize)
}

/// Limbs of a number of each width, in this target's representation.
const L2048: usize = limbs_for(Width::W2048.bits(), <Active as Radix>::BITS);
#[cfg(not(feature = "fewer-widths"))]
const L3072: usize = limbs_for(Width::W3072.bits(), <Active as Radix>::BITS);
const L4096: usize = limbs_for(Width::W4096.bits(), <Active as Radix>::BITS);
const L8192: usize = limbs_for(Width::W8192.bits(), <Active as Radix>::BITS);

/// Limbs a stored key holds: the largest width.
const MAX_LIMBS: usize = L8192;

/// The fixed widths of the arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Width {
    W2048,
    #[cfg(not(feature = "fewer-widths"))]
    W3072,
    W4096,
    W8192,
}

impl Width {
    /// The smallest width that holds a modulus of `bits` bits, if any.
    pub(crate) const fn for_bits(bits: usize) -> Option<Self> {
        if bits <= 2048 {
            Some(Width::W2048)
        } else if bits <= 4096 {
            #[cfg(not(feature = "fewer-widths"))]
            if bits <= 3072 {
                return Some(Width::W3072);
            }
            Some(Width::W4096)
        } else if bits <= 8192 {
            Some(Width::W8192)
        } else {
            None
        }
    }

    /// Bits of a number of this width.
    pub(crate) const fn bits(self) -> usize {
        match self {
            Width::W2048 => 2048,
            #[cfg(not(feature = "fewer-widths"))]
            Width::W3072 => 3072,
            Width::W4096 => 4096,
            Width::W8192 => 8192,
        }
    }
}

/// One limb representation: little-endian limbs of `BITS` bits each, with the Montgomery
/// operations on numbers of `L` limbs. Every number handed to these functions is reduced
/// (below the modulus), and so is every result.
pub(crate) trait Radix {
    /// A limb; holds `BITS` significant bits.
    type Limb: Copy + Default + Ord + fmt::Debug;
    /// Bits per limb (at most 64).
    const BITS: u32;

    /// The limb holding the low `BITS` bits of `value`.
    fn limb_from_u64(value: u64) -> Self::Limb;
    /// A limb's value.
    fn limb_to_u64(limb: Self::Limb) -> u64;

    /// `a·b·R⁻¹ mod n`, with `R = 2^(BITS·L)`, for `a, b < n`, `n` odd, `n0 = −n⁻¹ mod 2^BITS`.
    fn mont_mul<const L: usize>(
        a: &[Self::Limb; L],
        b: &[Self::Limb; L],
        n: &[Self::Limb; L],
        n0: Self::Limb,
    ) -> [Self::Limb; L];

    /// `a²·R⁻¹ mod n`, the same as `mont_mul(a, a, n, n0)` with about 3/4 of the work. `L2` is
    /// `2·L` (room for the full square where an implementation needs it).
    fn mont_sqr<const L: usize, const L2: usize>(
        a: &[Self::Limb; L],
        n: &[Self::Limb; L],
        n0: Self::Limb,
    ) -> [Self::Limb; L];

    /// `a = 2a mod n`, for `a < n`.
    fn double_mod<const L: usize>(a: &mut [Self::Limb; L], n: &[Self::Limb; L]);

    /// `−n0⁻¹ mod 2^BITS` for odd `n0` (Newton's iteration, doubling the correct bits each
    /// step from 1: six steps reach 64).
    fn neg_inverse(n0: Self::Limb) -> Self::Limb {
        let n0 = Self::limb_to_u64(n0);
        let mut inverse: u64 = 1;
        for _ in 0..6 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inverse)));
        }
        Self::limb_from_u64(inverse.wrapping_neg())
    }

    /// The number whose big-endian bytes are `bytes` (OS2IP, RFC 8017 §4.2), or `None` when
    /// it needs more than `L` limbs.
    fn from_be_bytes<const L: usize>(bytes: &[u8]) -> Option<[Self::Limb; L]> {
        let mut limbs = [Self::Limb::default(); L];
        Self::fill_from_be_bytes(bytes, &mut limbs)?;
        Some(limbs)
    }

    /// [`from_be_bytes`](Self::from_be_bytes) into `limbs` (zero-filled beforehand), one copy
    /// of the code for every width (it is called per key and per signature, never in a loop).
    #[inline(never)]
    fn fill_from_be_bytes(bytes: &[u8], limbs: &mut [Self::Limb]) -> Option<()> {
        let mut slots = limbs.iter_mut();
        // At most BITS + 7 bits are pending (a limb's worth is taken out as soon as it is
        // there), or BITS of whole bytes: a u64 holds them (`pending_fits`).
        let mut pending: u64 = 0;
        let mut pending_bits = 0u32;
        for &byte in bytes.iter().rev() {
            pending |= u64::from(byte) << pending_bits;
            pending_bits += 8;
            if pending_bits >= Self::BITS {
                store(
                    &mut slots,
                    Self::limb_from_u64(low_bits(pending, Self::BITS)),
                )?;
                pending = pending.checked_shr(Self::BITS).unwrap_or(0);
                pending_bits -= Self::BITS;
            }
        }
        if pending != 0 {
            store(
                &mut slots,
                Self::limb_from_u64(low_bits(pending, Self::BITS)),
            )?;
        }
        Some(())
    }

    /// Writes `limbs` as big-endian bytes filling `out` (I2OSP, RFC 8017 §4.1); false when the
    /// number does not fit.
    fn write_be_bytes<const L: usize>(limbs: &[Self::Limb; L], out: &mut [u8]) -> bool {
        let mut source = limbs.iter();
        // A limb joins fewer than 8 pending bits (none when BITS is 64): a u64 holds them.
        let mut pending: u64 = 0;
        let mut pending_bits = 0u32;
        for byte in out.iter_mut().rev() {
            if pending_bits < 8 {
                if let Some(&limb) = source.next() {
                    pending |= Self::limb_to_u64(limb) << pending_bits;
                    pending_bits += Self::BITS;
                }
            }
            *byte = low_bits(pending, 8) as u8;
            pending >>= 8;
            pending_bits = pending_bits.saturating_sub(8);
        }
        pending == 0 && source.all(|&limb| Self::limb_to_u64(limb) == 0)
    }
}

/// The low `bits` (≤ 64) bits of `value`.
fn low_bits(value: u64, bits: u32) -> u64 {
    value & 1u64.checked_shl(bits).map_or(u64::MAX, |bit| bit - 1)
}

/// Puts `limb` in the next slot; a nonzero limb with no slot left means the number is too
/// long.
fn store<'a, T: Copy + Default + Ord + 'a>(
    slots: &mut impl Iterator<Item = &'a mut T>,
    limb: T,
) -> Option<()> {
    match slots.next() {
        Some(slot) => {
            *slot = limb;
            Some(())
        }
        None if limb == T::default() => Some(()),
        None => None,
    }
}

/// `a < b`, most significant limb first.
pub(crate) fn less_than<T: Ord, const L: usize>(a: &[T; L], b: &[T; L]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// The Montgomery constants of a modulus of `L` limbs in representation `R`.
pub(crate) struct Montgomery<'k, R: Radix, const L: usize, const L2: usize> {
    n: &'k [R::Limb; L],
    /// `R² mod n`, to enter the Montgomery domain.
    rr: &'k [R::Limb; L],
    /// `−n⁻¹ mod 2^BITS`.
    n0: R::Limb,
}

impl<'k, R: Radix, const L: usize, const L2: usize> Montgomery<'k, R, L, L2> {
    /// `R² mod n` by doubling 1 (2·BITS·L times), and `n0`. Key-load time only.
    pub(crate) fn precompute(n: &[R::Limb; L]) -> ([R::Limb; L], R::Limb) {
        let mut rr = [R::Limb::default(); L];
        if let Some(first) = rr.first_mut() {
            *first = R::limb_from_u64(1);
        }
        for _ in 0..2 * R::BITS as usize * L {
            R::double_mod(&mut rr, n);
        }
        let n0 = R::neg_inverse(n.first().copied().unwrap_or_default());
        (rr, n0)
    }

    /// `s^e mod n` for `s < n` and odd `e ≥ 3`: the exponentiation of the module docs.
    pub(crate) fn pow_odd(&self, s: &[R::Limb; L], e: u64) -> [R::Limb; L] {
        let s_mont = R::mont_mul(s, self.rr, self.n, self.n0);
        let top = 63 - e.leading_zeros();
        let mut acc = s_mont;
        for bit in (1..top).rev() {
            acc = R::mont_sqr::<L, L2>(&acc, self.n, self.n0);
            if (e >> bit) & 1 == 1 {
                acc = R::mont_mul(&acc, &s_mont, self.n, self.n0);
            }
        }
        if top > 0 {
            acc = R::mont_sqr::<L, L2>(&acc, self.n, self.n0);
        }
        // Bit 0 of an odd e: multiplying by the plain s also removes the factor R.
        R::mont_mul(&acc, s, self.n, self.n0)
    }
}

/// RSAVP1 for `L` limbs: OS2IP(signature) must be below `n`; the result is I2OSP'd into `out`.
fn rsavp1_fixed<R: Radix, const L: usize, const L2: usize>(
    n: &[R::Limb],
    rr: &[R::Limb],
    n0: R::Limb,
    e: u64,
    signature: &[u8],
    out: &mut [u8],
) -> Option<()> {
    let n: &[R::Limb; L] = n.get(..L)?.try_into().ok()?;
    let rr: &[R::Limb; L] = rr.get(..L)?.try_into().ok()?;
    let s = R::from_be_bytes::<L>(signature)?;
    // RFC 8017 §5.2.2 step 1: the representative must be between 0 and n − 1.
    if !less_than(&s, n) {
        return None;
    }
    let m = Montgomery::<R, L, L2> { n, rr, n0 }.pow_odd(&s, e);
    R::write_be_bytes(&m, out).then_some(())
}

/// `R² mod n` and `n0` for a modulus of `L` limbs, written into the key's arrays.
fn precompute_fixed<R: Radix, const L: usize, const L2: usize>(
    n: &[R::Limb],
    rr_out: &mut [R::Limb],
) -> Option<R::Limb> {
    let n: &[R::Limb; L] = n.get(..L)?.try_into().ok()?;
    let (rr, n0) = Montgomery::<R, L, L2>::precompute(n);
    rr_out.get_mut(..L)?.copy_from_slice(&rr);
    Some(n0)
}

/// The constants RSAVP1 needs beside the modulus, for a key kept in the caller's own storage
/// (sized to the key: `n` and `R² mod n` as big-endian bytes, `modulus_len` bytes each, and
/// this). [`precompute`] makes them once, at key-load time; [`rsavp1`] uses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Constants {
    /// `−n⁻¹ mod 2^BITS` in this target's limb width.
    pub n0: u64,
}

/// Checks the shape of a modulus (no leading zero byte, odd, at most [`MAX_MODULUS_BITS`]) and
/// an exponent (odd, at least 3), and returns the modulus's width.
fn width_of(n: &[u8], e: u64) -> Option<Width> {
    let top = *n.first()?;
    if top == 0 || n.last()? % 2 == 0 || e % 2 == 0 || e < 3 || n.len() > MAX_MODULUS_LEN {
        return None;
    }
    Width::for_bits(n.len() * 8 - top.leading_zeros() as usize)
}

/// Key-load time: writes `R² mod n` (big-endian, exactly `n.len()` bytes) into `rr_out` and
/// returns the other constant, for a modulus `n` (big-endian, no leading zero byte, odd, at
/// most [`MAX_MODULUS_BITS`]) and an odd exponent `e ≥ 3`; `None` when either is out of shape
/// or `rr_out` is not `n.len()` bytes. The costly part (2 · width doublings): do it once per key.
/// The result belongs to this target's limb width: compute it where it is used.
pub fn precompute(n: &[u8], e: u64, rr_out: &mut [u8]) -> Option<Constants> {
    let width = width_of(n, e)?;
    if rr_out.len() != n.len() {
        return None;
    }
    // Not inlined: each width keeps its own stack frame, so a 2048-bit key does not pay for
    // the 8192-bit one's numbers (what a firmware's stack budget counts).
    #[inline(never)]
    fn fixed<const L: usize, const L2: usize>(n: &[u8], rr_out: &mut [u8]) -> Option<u64> {
        let n = Active::from_be_bytes::<L>(n)?;
        let (rr, n0) = Montgomery::<Active, L, L2>::precompute(&n);
        Active::write_be_bytes(&rr, rr_out).then_some(Active::limb_to_u64(n0))
    }
    let n0 = match width {
        Width::W2048 => fixed::<L2048, { 2 * L2048 }>(n, rr_out),
        #[cfg(not(feature = "fewer-widths"))]
        Width::W3072 => fixed::<L3072, { 2 * L3072 }>(n, rr_out),
        Width::W4096 => fixed::<L4096, { 2 * L4096 }>(n, rr_out),
        Width::W8192 => fixed::<L8192, { 2 * L8192 }>(n, rr_out),
    }?;
    Some(Constants { n0 })
}

/// RSAVP1 (RFC 8017 §5.2.2) under a key kept in the caller's storage: `n` and `rr` as given
/// to and written by [`precompute`] (which returned `constants`), the exponent `e`. Writes
/// `signature^e mod n` into `out`. `None` when `signature` or `out` is not exactly `n.len()`
/// bytes, the key is out of shape, or the signature representative is not below `n`. Wrong
/// constants give a wrong result, never a panic: a verifier then refuses.
pub fn rsavp1(
    n: &[u8],
    rr: &[u8],
    constants: Constants,
    e: u64,
    signature: &[u8],
    out: &mut [u8],
) -> Option<()> {
    let width = width_of(n, e)?;
    if rr.len() != n.len() || signature.len() != n.len() || out.len() != n.len() {
        return None;
    }
    // Not inlined, as in `precompute`: the stack of one width only.
    #[inline(never)]
    fn fixed<const L: usize, const L2: usize>(
        n: &[u8],
        rr: &[u8],
        n0: u64,
        e: u64,
        signature: &[u8],
        out: &mut [u8],
    ) -> Option<()> {
        let n = Active::from_be_bytes::<L>(n)?;
        let rr = Active::from_be_bytes::<L>(rr)?;
        rsavp1_fixed::<Active, L, L2>(&n, &rr, Active::limb_from_u64(n0), e, signature, out)
    }
    let n0 = constants.n0;
    match width {
        Width::W2048 => fixed::<L2048, { 2 * L2048 }>(n, rr, n0, e, signature, out),
        #[cfg(not(feature = "fewer-widths"))]
        Width::W3072 => fixed::<L3072, { 2 * L3072 }>(n, rr, n0, e, signature, out),
        Width::W4096 => fixed::<L4096, { 2 * L4096 }>(n, rr, n0, e, signature, out),
        Width::W8192 => fixed::<L8192, { 2 * L8192 }>(n, rr, n0, e, signature, out),
    }
}

/// An RSA public key ready for RSAVP1: the modulus and `R² mod n` in this target's limbs at the
/// key's width, `n0`, and `e`. About 2 KiB (two numbers of the largest width), no heap.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    width: Width,
    n: [Limb; MAX_LIMBS],
    rr: [Limb; MAX_LIMBS],
    n0: Limb,
    e: u64,
    modulus_len: usize,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("width", &self.width)
            .field("modulus_len", &self.modulus_len)
            .field("e", &self.e)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// A key from its big-endian modulus (no leading zero byte, odd, at most
    /// [`MAX_MODULUS_BITS`]) and an odd exponent of at least 3; `None` when either is out of
    /// shape. Size
    /// policy (a minimum modulus, an exponent range) is the caller's. Computes `R² mod n`: the
    /// costly part, 2 · width doublings, so load keys once.
    pub fn new(n: &[u8], e: u64) -> Option<Self> {
        let top = *n.first()?;
        let bits = n.len() * 8 - top.leading_zeros() as usize;
        let width = Width::for_bits(bits)?;
        if top == 0 || n.last()? % 2 == 0 || e % 2 == 0 || e < 3 || n.len() > MAX_MODULUS_LEN {
            return None;
        }
        let limbs = Active::from_be_bytes::<MAX_LIMBS>(n)?;
        let mut key = PublicKey {
            width,
            n: limbs,
            rr: [Limb::default(); MAX_LIMBS],
            n0: Limb::default(),
            e,
            modulus_len: n.len(),
        };
        key.n0 = match width {
            Width::W2048 => precompute_fixed::<Active, L2048, { 2 * L2048 }>(&key.n, &mut key.rr),
            #[cfg(not(feature = "fewer-widths"))]
            Width::W3072 => precompute_fixed::<Active, L3072, { 2 * L3072 }>(&key.n, &mut key.rr),
            Width::W4096 => precompute_fixed::<Active, L4096, { 2 * L4096 }>(&key.n, &mut key.rr),
            Width::W8192 => precompute_fixed::<Active, L8192, { 2 * L8192 }>(&key.n, &mut key.rr),
        }?;
        Some(key)
    }

    /// The modulus length in bytes.
    pub const fn modulus_len(&self) -> usize {
        self.modulus_len
    }

    /// The public exponent.
    pub const fn exponent(&self) -> u64 {
        self.e
    }

    /// Writes the modulus as big-endian bytes into `out`, which must be exactly
    /// [`Self::modulus_len`] bytes; `None` otherwise.
    pub fn write_modulus(&self, out: &mut [u8]) -> Option<()> {
        if out.len() != self.modulus_len {
            return None;
        }
        Active::write_be_bytes(&self.n, out).then_some(())
    }

    /// True when `signature` is exactly [`Self::modulus_len`] bytes and its integer (OS2IP) is
    /// below `n`: the input check of RSAVP1 (RFC 8017 §5.2.2 step 1), for callers that hand
    /// the exponentiation to another implementation.
    pub fn is_signature_representative(&self, signature: &[u8]) -> bool {
        // Equal lengths, big-endian: the byte order is the numeric order.
        let mut n = [0u8; MAX_MODULUS_LEN];
        match n.get_mut(..self.modulus_len) {
            Some(n) if signature.len() == n.len() => {
                self.write_modulus(n).is_some() && signature < &n[..]
            }
            _ => false,
        }
    }

    /// RSAVP1: writes `signature^e mod n` into `out` (exactly [`Self::modulus_len`] bytes).
    /// `None` when `signature` or `out` is not that long, or the signature representative is
    /// not below `n`.
    pub fn rsavp1(&self, signature: &[u8], out: &mut [u8]) -> Option<()> {
        if signature.len() != self.modulus_len || out.len() != self.modulus_len {
            return None;
        }
        let (n, rr, n0, e) = (&self.n[..], &self.rr[..], self.n0, self.e);
        match self.width {
            Width::W2048 => {
                rsavp1_fixed::<Active, L2048, { 2 * L2048 }>(n, rr, n0, e, signature, out)
            }
            #[cfg(not(feature = "fewer-widths"))]
            Width::W3072 => {
                rsavp1_fixed::<Active, L3072, { 2 * L3072 }>(n, rr, n0, e, signature, out)
            }
            Width::W4096 => {
                rsavp1_fixed::<Active, L4096, { 2 * L4096 }>(n, rr, n0, e, signature, out)
            }
            Width::W8192 => {
                rsavp1_fixed::<Active, L8192, { 2 * L8192 }>(n, rr, n0, e, signature, out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Both representations against `num-bigint-dig` (the `rsa` crate's arithmetic, the old
    //! verify path), at every width, on random and edge-case numbers.
    use super::radix27::Radix27;
    use super::radix57::Radix57;
    use super::*;
    use rsa::BigUint;
    use std::vec;
    use std::vec::Vec;

    /// A small deterministic generator (xorshift64*), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn bytes(&mut self, len: usize) -> Vec<u8> {
            (0..len).map(|_| self.next() as u8).collect()
        }
    }

    fn to_big(bytes: &[u8]) -> BigUint {
        BigUint::from_bytes_be(bytes)
    }

    fn be<R: Radix, const L: usize>(limbs: &[R::Limb; L], len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        assert!(R::write_be_bytes(limbs, &mut out));
        out
    }

    /// An odd modulus of exactly `bits` bits, random below the top bit.
    fn modulus(rng: &mut Rng, bits: usize) -> Vec<u8> {
        let mut n = rng.bytes(bits.div_ceil(8));
        let top_bits = bits % 8;
        n[0] = if top_bits == 0 {
            n[0] | 0x80
        } else {
            (n[0] & ((1 << top_bits) - 1)) | (1 << (top_bits - 1))
        };
        *n.last_mut().unwrap() |= 1;
        n
    }

    /// Checks mont_mul, mont_sqr, double_mod, pow_odd and the byte conversions of `R` at `L`
    /// limbs against BigUint, for moduli of `bits` bits.
    fn check<R: Radix, const L: usize, const L2: usize>(bits: usize, seed: u64, rounds: usize) {
        let mut rng = Rng(seed);
        let len = bits.div_ceil(8);
        let r = BigUint::from(1u8) << (R::BITS as usize * L);
        for round in 0..rounds {
            let n_bytes = modulus(&mut rng, bits);
            let n_big = to_big(&n_bytes);
            let n = R::from_be_bytes::<L>(&n_bytes).unwrap();
            assert_eq!(be::<R, L>(&n, len), n_bytes);
            let (rr, n0) = Montgomery::<R, L, L2>::precompute(&n);
            assert_eq!(
                to_big(&be::<R, L>(&rr, len)),
                (&r * &r) % &n_big,
                "R² mod n"
            );
            // Random values below n, plus 0, 1, n − 1 and n − 2.
            let mut values: Vec<BigUint> =
                (0..4).map(|_| to_big(&rng.bytes(len)) % &n_big).collect();
            values.extend([
                BigUint::from(0u8),
                BigUint::from(1u8),
                &n_big - BigUint::from(1u8),
                &n_big - BigUint::from(2u8),
            ]);
            let limbs = |v: &BigUint| R::from_be_bytes::<L>(&v.to_bytes_be()).unwrap();
            for a in &values {
                let al = limbs(a);
                // x·R⁻¹ mod n is checked as (result·R) mod n = x mod n, result < n.
                let sqr = to_big(&be::<R, L>(&R::mont_sqr::<L, L2>(&al, &n, n0), len));
                assert!(sqr < n_big);
                assert_eq!((sqr * &r) % &n_big, (a * a) % &n_big, "sqr round {round}");
                let mut doubled = al;
                R::double_mod(&mut doubled, &n);
                assert_eq!(
                    to_big(&be::<R, L>(&doubled, len)),
                    (a * BigUint::from(2u8)) % &n_big
                );
                for b in &values {
                    let bl = limbs(b);
                    let product = to_big(&be::<R, L>(&R::mont_mul(&al, &bl, &n, n0), len));
                    assert!(product < n_big);
                    assert_eq!(
                        (product * &r) % &n_big,
                        (a * b) % &n_big,
                        "mul round {round}"
                    );
                }
                let ctx = Montgomery::<R, L, L2> { n: &n, rr: &rr, n0 };
                for e in [3u64, 5, 17, 65537, 0x1_0000_0001, (1 << 33) - 1] {
                    assert_eq!(
                        to_big(&be::<R, L>(&ctx.pow_odd(&al, e), len)),
                        a.modpow(&BigUint::from(e), &n_big),
                        "pow e={e} round {round}"
                    );
                }
            }
        }
    }

    #[test]
    fn radix57_matches_biguint_at_every_width() {
        check::<Radix57, 36, 72>(2048, 21, 6);
        check::<Radix57, 54, 108>(3072, 22, 3);
        check::<Radix57, 54, 108>(2049, 23, 2);
        check::<Radix57, 72, 144>(4096, 24, 2);
        check::<Radix57, 72, 144>(3073, 25, 1);
        check::<Radix57, 144, 288>(8192, 26, 1);
    }

    #[test]
    fn radix27_matches_biguint_at_every_width() {
        check::<Radix27, 76, 152>(2048, 11, 6);
        check::<Radix27, 114, 228>(3072, 12, 3);
        check::<Radix27, 114, 228>(2049, 13, 2);
        check::<Radix27, 152, 304>(4096, 14, 2);
        check::<Radix27, 152, 304>(3073, 15, 1);
        check::<Radix27, 304, 608>(8192, 16, 1);
    }

    #[test]
    fn limb_counts_of_the_widths() {
        assert_eq!(limbs_for(2048, Radix57::BITS), 36);
        assert_eq!(limbs_for(8192, Radix57::BITS), 144);
        assert_eq!(limbs_for(2048, Radix27::BITS), 76);
        assert_eq!(limbs_for(8192, Radix27::BITS), 304);
        assert_eq!(Width::for_bits(2048), Some(Width::W2048));
        #[cfg(not(feature = "fewer-widths"))]
        assert_eq!(Width::for_bits(2049), Some(Width::W3072));
        #[cfg(feature = "fewer-widths")]
        assert_eq!(Width::for_bits(2049), Some(Width::W4096));
        assert_eq!(Width::for_bits(4096), Some(Width::W4096));
        assert_eq!(Width::for_bits(4097), Some(Width::W8192));
        assert_eq!(Width::for_bits(8193), None);
    }

    #[test]
    fn byte_conversions_refuse_what_does_not_fit() {
        // 4 limbs of 57 bits hold 228 bits: 28 bytes of 0xff and a top byte of 0x0f.
        let mut bytes = [0xffu8; 29];
        bytes[0] = 0x0f;
        let limbs = Radix57::from_be_bytes::<4>(&bytes).unwrap();
        assert_eq!(limbs, [(1 << 57) - 1; 4]);
        bytes[0] = 0x1f;
        assert!(Radix57::from_be_bytes::<4>(&bytes).is_none());
        assert!(
            !Radix57::write_be_bytes(&limbs, &mut [0u8; 28]),
            "228 bits in 224"
        );
        let mut out = [0u8; 29];
        assert!(Radix57::write_be_bytes(&limbs, &mut out));
        bytes[0] = 0x0f;
        assert_eq!(out, bytes);
        // 4 limbs of 27 bits hold 108 bits: 13 bytes of 0xff and a top byte of 0x0f.
        let mut bytes = [0xffu8; 14];
        bytes[0] = 0x0f;
        let limbs = Radix27::from_be_bytes::<4>(&bytes).unwrap();
        assert_eq!(limbs, [(1 << 27) - 1; 4]);
        bytes[0] = 0x1f;
        assert!(Radix27::from_be_bytes::<4>(&bytes).is_none());
        let mut out = [0u8; 13];
        assert!(
            !Radix27::write_be_bytes(&limbs, &mut out),
            "108 bits in 104"
        );
    }

    #[test]
    fn radix57_word_conversion_matches_biguint() {
        // Radix57's own OS2IP (a word at a time) at every length around L = 4 digits (228
        // bits, 28.5 bytes) and at 2048 bits, with the top bits set or clear.
        fn value(digits: &[u64]) -> BigUint {
            digits.iter().rev().fold(BigUint::from(0u8), |acc, &d| {
                (acc << 57usize) + BigUint::from(d)
            })
        }
        let mut rng = Rng(57);
        for len in 0..40 {
            for top in [0u8, 1, 0x0f, 0x10, 0xff] {
                let mut bytes = rng.bytes(len);
                if let Some(first) = bytes.first_mut() {
                    *first = top;
                }
                let number = to_big(&bytes);
                match Radix57::from_be_bytes::<4>(&bytes) {
                    Some(digits) => {
                        assert!(digits.iter().all(|&d| d < 1 << 57));
                        assert_eq!(value(&digits), number, "{len} bytes");
                    }
                    None => assert!(number.bits() > 228, "{len} bytes refused"),
                }
            }
        }
        let bytes = rng.bytes(256);
        let digits = Radix57::from_be_bytes::<36>(&bytes).unwrap();
        assert_eq!(value(&digits), to_big(&bytes));
        assert_eq!(be::<Radix57, 36>(&digits, 256), bytes);
    }

    #[test]
    fn public_key_checks_shape_and_range() {
        let mut rng = Rng(99);
        let n = modulus(&mut rng, 2048);
        let key = PublicKey::new(&n, 65537).unwrap();
        let mut out = [0u8; 256];
        // s = n and s = n + 1 are out of range; s = n − 1 is in range.
        assert!(key.rsavp1(&n, &mut out).is_none());
        let mut n_minus_1 = n.clone();
        *n_minus_1.last_mut().unwrap() -= 1;
        assert!(key.rsavp1(&n_minus_1, &mut out).is_some());
        // (n − 1)^odd = n − 1 (mod n).
        assert_eq!(out.to_vec(), n_minus_1);
        assert!(key.is_signature_representative(&n_minus_1));
        assert!(!key.is_signature_representative(&n));
        let mut n_plus_1 = n.clone();
        *n_plus_1.last_mut().unwrap() += 1;
        assert!(!key.is_signature_representative(&n_plus_1));
        assert!(!key.is_signature_representative(&[0xff; 256]));
        assert!(key.is_signature_representative(&[0; 256]));
        assert!(!key.is_signature_representative(&n_minus_1[1..]), "short");
        let mut long = vec![0u8];
        long.extend_from_slice(&n_minus_1);
        assert!(
            !key.is_signature_representative(&long),
            "a leading zero byte too many"
        );
        let mut written = [0u8; 256];
        assert!(key.write_modulus(&mut written).is_some());
        assert_eq!(written.to_vec(), n);
        assert!(key.write_modulus(&mut written[1..]).is_none());
        assert!(key.write_modulus(&mut [0u8; 257]).is_none());
        assert_eq!(key.exponent(), 65537);
        assert!(key.rsavp1(&n[1..], &mut out).is_none(), "short signature");
        assert!(key.rsavp1(&n, &mut out[1..]).is_none(), "short output");
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        assert!(PublicKey::new(&even, 65537).is_none());
        assert!(PublicKey::new(&n, 65536).is_none());
        // e = 1 would make RSAVP1 the identity; the exponentiation assumes e >= 3.
        assert!(PublicKey::new(&n, 1).is_none());
        assert!(PublicKey::new(&n, 3).is_some());
        let mut leading_zero = vec![0u8];
        leading_zero.extend_from_slice(&n);
        assert!(PublicKey::new(&leading_zero, 65537).is_none());
        assert!(PublicKey::new(&[0xff; 1025], 65537).is_none());
    }
}

#[cfg(test)]
mod stored_key_tests {
    //! The byte-stored key ([`precompute`] and [`rsavp1`]) against `num-bigint-dig`, at every
    //! width and at the widths' edges.
    use super::*;
    use rsa::BigUint;
    use std::vec;

    #[test]
    fn stored_keys_match_biguint() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        };
        for bits in [2048usize, 2049, 3072, 3073, 4096, 8192] {
            let len = bits.div_ceil(8);
            let mut n: std::vec::Vec<u8> = (0..len).map(|_| next()).collect();
            n[0] = (0xffu16 >> (len * 8 - bits)) as u8 | (0x80u16 >> (len * 8 - bits)) as u8;
            n[len - 1] |= 1;
            let mut rr = vec![0u8; len];
            let constants = precompute(&n, 65537, &mut rr).unwrap();
            let n_big = BigUint::from_bytes_be(&n);
            for round in 0..3 {
                let mut s: std::vec::Vec<u8> = (0..len).map(|_| next()).collect();
                s[0] = 0; // below n
                s[1] = round;
                let mut out = vec![0u8; len];
                rsavp1(&n, &rr, constants, 65537, &s, &mut out).unwrap();
                let expected = BigUint::from_bytes_be(&s).modpow(&BigUint::from(65537u32), &n_big);
                assert_eq!(BigUint::from_bytes_be(&out), expected, "{bits} bits");
                let owned = PublicKey::new(&n, 65537).unwrap();
                let mut theirs = vec![0u8; len];
                owned.rsavp1(&s, &mut theirs).unwrap();
                assert_eq!(out, theirs);
            }
            // Out of range and wrong lengths refuse.
            let mut out = vec![0u8; len];
            assert!(rsavp1(&n, &rr, constants, 65537, &n, &mut out).is_none());
            assert!(rsavp1(&n, &rr, constants, 65537, &n[1..], &mut out).is_none());
            assert!(rsavp1(&n, &rr[1..], constants, 65537, &n, &mut out).is_none());
            assert!(precompute(&n, 65536, &mut rr).is_none());
            assert!(precompute(&n, 65537, &mut rr[1..]).is_none());
        }
    }
}
