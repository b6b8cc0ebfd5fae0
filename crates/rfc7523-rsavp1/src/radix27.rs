//! Radix 2^27 digits in `u32`, for 32-bit targets (wasm32 has no 64 × 64 → 128 multiply; a
//! Cortex-M4 multiplies 32 × 32 → 64): Montgomery multiplication by product scanning (Koç,
//! Acar, Kaliski 1996, §6, "FIPS") into one `u64` accumulator.
//!
//! Why 27 bits: a digit product is below 2^54, and a column of the product and the reduction
//! together has at most 2L + 1 products (609 at 8192 bits, L = 304), so a column sums below
//! 609 · 2^54 + 2^37 < 2^64: the inner loop is a multiply and an add, with no carry logic.
//! [`MAX_COLUMN_TERMS`] states the bound, checked at compile time against the widest key.
//!
//! Indexing: every index is a loop counter bounded by the const-generic length `L` of the
//! arrays (`j < i < L`, `i − j ≤ L − 1`, `i − L < L`), so none can be out of range.
#![allow(clippy::indexing_slicing)]

use super::{less_than, Radix};

/// Radix 2^27.
#[derive(Debug)]
pub(crate) struct Radix27;

const DIGIT_BITS: u32 = 27;
const DIGIT_MASK: u32 = (1 << DIGIT_BITS) - 1;

/// Most digit products one column may sum without overflowing the `u64` accumulator (with the
/// carry from the previous column, below 2^37, added).
const MAX_COLUMN_TERMS: u64 = (u64::MAX - (1 << 37)) / ((1 << 54) - 1);

// The widest key's columns (2L + 1 products, L = 304 at 8192 bits) fit, checked at compile time.
const _: () =
    assert!(2 * (super::limbs_for(super::MAX_MODULUS_BITS, DIGIT_BITS) as u64) < MAX_COLUMN_TERMS);

/// `a −= b` in radix 2^27, ignoring the final borrow (see `radix64::sub_assign`).
#[inline(always)]
fn sub_assign<const L: usize>(a: &mut [u32; L], b: &[u32; L]) {
    let mut borrow = 0u32;
    for (x, &y) in a.iter_mut().zip(b) {
        let d = x.wrapping_sub(y).wrapping_sub(borrow);
        *x = d & DIGIT_MASK;
        borrow = d >> 31;
    }
}

#[inline(always)]
fn product(a: u32, b: u32) -> u64 {
    u64::from(a) * u64::from(b)
}

impl Radix for Radix27 {
    type Limb = u32;
    const BITS: u32 = DIGIT_BITS;

    fn limb_from_u64(value: u64) -> u32 {
        (value as u32) & DIGIT_MASK
    }

    fn limb_to_u64(limb: u32) -> u64 {
        u64::from(limb)
    }

    fn mont_mul<const L: usize>(a: &[u32; L], b: &[u32; L], n: &[u32; L], n0: u32) -> [u32; L] {
        // Column i of a·b + m·n, low columns first: column i < L fixes digit m[i] so that the
        // column is divisible by 2^27; columns L..2L are the result's digits.
        let mut m = [0u32; L];
        let mut t = [0u32; L];
        let mut acc = 0u64;
        for i in 0..L {
            for j in 0..i {
                acc += product(a[j], b[i - j]) + product(m[j], n[i - j]);
            }
            acc += product(a[i], b[0]);
            let m_i = (acc as u32).wrapping_mul(n0) & DIGIT_MASK;
            m[i] = m_i;
            acc += product(m_i, n[0]);
            acc >>= DIGIT_BITS;
        }
        for i in L..2 * L {
            for j in i - L + 1..L {
                acc += product(a[j], b[i - j]) + product(m[j], n[i - j]);
            }
            t[i - L] = (acc as u32) & DIGIT_MASK;
            acc >>= DIGIT_BITS;
        }
        // acc is digit L of a result below 2n: 0 or 1.
        if acc != 0 || !less_than(&t, n) {
            sub_assign(&mut t, n);
        }
        t
    }

    fn mont_sqr<const L: usize, const L2: usize>(a: &[u32; L], n: &[u32; L], n0: u32) -> [u32; L] {
        // As mont_mul with b = a, but each cross product a[j]·a[i−j], j < i − j, is taken once
        // and doubled: half the multiplications of the square.
        let mut m = [0u32; L];
        let mut t = [0u32; L];
        let mut acc = 0u64;
        for i in 0..L {
            let mut cross = 0u64;
            for j in 0..i.div_ceil(2) {
                cross += product(a[j], a[i - j]);
            }
            acc += 2 * cross;
            if i % 2 == 0 {
                acc += product(a[i / 2], a[i / 2]);
            }
            for j in 0..i {
                acc += product(m[j], n[i - j]);
            }
            let m_i = (acc as u32).wrapping_mul(n0) & DIGIT_MASK;
            m[i] = m_i;
            acc += product(m_i, n[0]);
            acc >>= DIGIT_BITS;
        }
        for i in L..2 * L {
            let mut cross = 0u64;
            for j in i - L + 1..i.div_ceil(2) {
                cross += product(a[j], a[i - j]);
            }
            acc += 2 * cross;
            if i % 2 == 0 && i / 2 < L {
                acc += product(a[i / 2], a[i / 2]);
            }
            for j in i - L + 1..L {
                acc += product(m[j], n[i - j]);
            }
            t[i - L] = (acc as u32) & DIGIT_MASK;
            acc >>= DIGIT_BITS;
        }
        if acc != 0 || !less_than(&t, n) {
            sub_assign(&mut t, n);
        }
        t
    }

    fn double_mod<const L: usize>(a: &mut [u32; L], n: &[u32; L]) {
        let mut carry = 0u32;
        for digit in a.iter_mut() {
            let doubled = (*digit << 1) | carry;
            *digit = doubled & DIGIT_MASK;
            carry = doubled >> DIGIT_BITS;
        }
        if carry != 0 || !less_than(a, n) {
            sub_assign(a, n);
        }
    }
}
