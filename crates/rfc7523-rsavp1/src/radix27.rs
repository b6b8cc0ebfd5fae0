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

/// `a −= b` in radix 2^27, ignoring the final borrow (see `radix57::sub_assign`).
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

/// The products of columns `col` and `col + 1` with `x[j]` for `j` in `start..end`:
/// `(Σ x[j]·y[col − j], Σ x[j]·y[col + 1 − j])`. Walking j upwards, the y digit of column
/// `col` at j is the one of column `col + 1` at j + 1, so each x and y digit is loaded once for
/// both sums. Needs `col + 1 − start < L` and `col + 1 ≥ end`.
#[inline(always)]
fn two_columns<const L: usize>(
    x: &[u32; L],
    y: &[u32; L],
    col: usize,
    start: usize,
    end: usize,
) -> (u64, u64) {
    let (mut same, mut next) = (0u64, 0u64);
    if start >= end {
        return (same, next);
    }
    let mut previous = y[col + 1 - start];
    for j in start..end {
        let current = y[col - j];
        same += product(x[j], current);
        next += product(x[j], previous);
        previous = current;
    }
    (same, next)
}

/// Columns `col` and `col + 1` (`col` even, below 2L) of the square of `a`: each cross
/// product `a[j]·a[c − j]`, `j < c − j`, once and doubled, plus `a[col / 2]²` in the even
/// column. The cross products the two columns share a j range for go through
/// [`two_columns`]; column `col` has one more at the low end once `col ≥ L`, column `col + 1`
/// one more at the high end.
#[inline(always)]
fn square_columns<const L: usize>(a: &[u32; L], col: usize) -> (u64, u64) {
    let half = col / 2;
    let first_same = (col + 1).saturating_sub(L);
    let first_next = (col + 2).saturating_sub(L);
    let (mut same, mut next) = two_columns(a, a, col, first_next, half);
    if first_same < first_next && first_same < half {
        same += product(a[first_same], a[col - first_same]);
    }
    if first_next <= half && half + 1 < L {
        next += product(a[half], a[half + 1]);
    }
    (2 * same + product(a[half], a[half]), 2 * next)
}

/// The Montgomery product of mont_mul and mont_sqr, by product scanning: column by column, low
/// columns first, the columns of the product (`low(i)` below L and `high(i)` from L on give
/// columns i and i + 1, i even; two closures, so neither loop tests which half it is in) plus
/// those of m·n. Column i < L fixes digit `m[i]` so that the column is divisible by
/// 2^27; columns L..2L are the result's digits. Columns go in pairs so each digit loaded
/// serves both (`two_columns`); L is even at every width, checked when compiled.
#[inline(always)]
fn reduce_columns<const L: usize>(
    n: &[u32; L],
    n0: u32,
    low: impl Fn(usize) -> (u64, u64),
    high: impl Fn(usize) -> (u64, u64),
) -> [u32; L] {
    const { assert!(L % 2 == 0 && L >= 2) };
    let mut m = [0u32; L];
    let mut t = [0u32; L];
    let mut carry = 0u64;
    for i in (0..L).step_by(2) {
        let (p0, p1) = low(i);
        let (mn0, mn1) = two_columns(&m, n, i, 0, i);
        let mut column = carry + p0 + mn0;
        m[i] = (column as u32).wrapping_mul(n0) & DIGIT_MASK;
        column += product(m[i], n[0]);
        let mut next = (column >> DIGIT_BITS) + p1 + mn1 + product(m[i], n[1]);
        m[i + 1] = (next as u32).wrapping_mul(n0) & DIGIT_MASK;
        next += product(m[i + 1], n[0]);
        carry = next >> DIGIT_BITS;
    }
    for i in (L..2 * L).step_by(2) {
        let first = i + 2 - L;
        let (p0, p1) = high(i);
        let (mn0, mn1) = two_columns(&m, n, i, first, L);
        let column = carry + p0 + mn0 + product(m[first - 1], n[L - 1]);
        t[i - L] = (column as u32) & DIGIT_MASK;
        let next = (column >> DIGIT_BITS) + p1 + mn1;
        t[i + 1 - L] = (next as u32) & DIGIT_MASK;
        carry = next >> DIGIT_BITS;
    }
    // carry is digit L of a result below 2n: 0 or 1.
    if carry != 0 || !less_than(&t, n) {
        sub_assign(&mut t, n);
    }
    t
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
        // Columns i and i + 1 of a·b: Σ a[j]·b[c − j] over 0 ≤ j, c − j < L. Below L the pair
        // shares j ≤ i and column i + 1 adds a[i + 1]·b[0]; from L on they share
        // j ≥ i + 2 − L and column i adds the term below that.
        reduce_columns(
            n,
            n0,
            |i| {
                let (ab0, ab1) = two_columns(a, b, i, 0, i + 1);
                (ab0, ab1 + product(a[i + 1], b[0]))
            },
            |i| {
                let first = i + 2 - L;
                let (ab0, ab1) = two_columns(a, b, i, first, L);
                (ab0 + product(a[first - 1], b[L - 1]), ab1)
            },
        )
    }

    fn mont_sqr<const L: usize, const L2: usize>(a: &[u32; L], n: &[u32; L], n0: u32) -> [u32; L] {
        // As mont_mul with b = a, but each cross product a[j]·a[i−j], j < i − j, is taken once
        // and doubled (`square_columns`): half the multiplications of the square.
        reduce_columns(n, n0, |i| square_columns(a, i), |i| square_columns(a, i))
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
