//! Radix 2^57 digits in `u64`, for 64-bit targets: Montgomery multiplication by product
//! scanning (Koç, Acar, Kaliski 1996, §6, "FIPS") into one `u128` accumulator per column, two
//! columns per step: the method of `radix27` one size up.
//!
//! Why 57 bits and not 64: a digit product is below 2^114 and a column of the product and the
//! reduction together has at most 2L + 1 products (289 at 8192 bits, L = 144), so a column sums
//! below 2^123 and the inner loop is a multiply and a 128-bit add (`mul`, `add`, `adc` on
//! x86-64), with no carry out of the accumulator. Radix 2^64 needs a third accumulator word or
//! a carry per product (`add`, `adc`, `add`, `adc`): measured on the project's machine (AMD
//! EPYC, Zen 4), the radix 2^64 CIOS/SOS code this replaces ran a 2048-bit RSAVP1 in about
//! 1.2× the time of this one despite 1.27× fewer digit products (32 limbs against 36), and
//! radix 2^64 product scanning with a three-word accumulator was no faster than it. Every
//! variant here is portable, safe Rust; what is left to assembly (`mulx`/`adcx`/`adox`, two
//! carry chains) is out of reach of both.
//!
//! [`MAX_COLUMN_TERMS`] states the bound, checked at compile time against the widest key. 57
//! is also the widest digit the generic byte conversions take (`pending_fits`).
//!
//! Indexing: every index is a loop counter bounded by the const-generic length `L` of the
//! arrays (`j < i < L`, `i − j ≤ L − 1`, `i − L < L`), so none can be out of range.
#![allow(clippy::indexing_slicing)]

use super::{less_than, Radix};

/// Radix 2^57.
#[derive(Debug)]
pub(crate) struct Radix57;

const DIGIT_BITS: u32 = 57;
const DIGIT_MASK: u64 = (1 << DIGIT_BITS) - 1;

/// Most digit products one column may sum without overflowing the `u128` accumulator (with the
/// carry from the previous column, below 2^71, added).
const MAX_COLUMN_TERMS: u128 = (u128::MAX - (1 << 71)) / ((1 << 114) - 1);

// The widest key's columns (2L + 1 products, L = 144 at 8192 bits) fit, checked at compile time.
const _: () =
    assert!(2 * (super::limbs_for(super::MAX_MODULUS_BITS, DIGIT_BITS) as u128) < MAX_COLUMN_TERMS);

/// `a −= b` in radix 2^57, ignoring the final borrow (the callers know the true result is below
/// the modulus and non-negative once a carried-out top digit is counted).
#[inline(always)]
fn sub_assign<const L: usize>(a: &mut [u64; L], b: &[u64; L]) {
    let mut borrow = 0u64;
    for (x, &y) in a.iter_mut().zip(b) {
        let d = x.wrapping_sub(y).wrapping_sub(borrow);
        *x = d & DIGIT_MASK;
        borrow = d >> 63;
    }
}

/// A digit product (below 2^114).
#[inline(always)]
fn product(a: u64, b: u64) -> u128 {
    u128::from(a) * u128::from(b)
}

/// The products of columns `col` and `col + 1` with `x[j]` for `j` in `start..end`:
/// `(Σ x[j]·y[col − j], Σ x[j]·y[col + 1 − j])`. Walking j upwards, the y digit of column
/// `col` at j is the one of column `col + 1` at j + 1, so each x and y digit is loaded once for
/// both sums. Needs `col + 1 − start < L` and `col + 1 ≥ end`.
#[inline(always)]
fn two_columns<const L: usize>(
    x: &[u64; L],
    y: &[u64; L],
    col: usize,
    start: usize,
    end: usize,
) -> (u128, u128) {
    let (mut same, mut next) = (0u128, 0u128);
    if start >= end {
        return (same, next);
    }
    // The callers' bounds (col + 1 − start < L, end ≤ col + 1), restated for the optimiser.
    let y = &y[..col + 2 - start];
    let x = &x[..end];
    let end = end.min(col + 1);
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
/// product `a[j]·a[c − j]`, `j < c − j`, once, against `a2` = 2a (digits below 2^58, products
/// below 2^115: a column still sums below 2^123), plus `a[col / 2]²` in the even column. The cross products the two columns share a j range for go through
/// [`two_columns`]; column `col` has one more at the low end once `col ≥ L`, column `col + 1`
/// one more at the high end.
#[inline(always)]
fn square_columns<const L: usize>(a: &[u64; L], a2: &[u64; L], col: usize) -> (u128, u128) {
    let half = col / 2;
    let first_same = (col + 1).saturating_sub(L);
    let first_next = (col + 2).saturating_sub(L);
    let (mut same, mut next) = two_columns(a, a2, col, first_next, half);
    if first_same < first_next && first_same < half {
        same += product(a[first_same], a2[col - first_same]);
    }
    if first_next <= half && half + 1 < L {
        next += product(a[half], a2[half + 1]);
    }
    (same + product(a[half], a[half]), next)
}

/// The Montgomery product of mont_mul and mont_sqr, by product scanning: column by column, low
/// columns first, the columns of the product (`low(i)` below L and `high(i)` from L on give
/// columns i and i + 1, i even; two closures, so neither loop tests which half it is in) plus
/// those of m·n. Column i < L fixes digit `m[i]` so that the column is divisible by
/// 2^57; columns L..2L are the result's digits. Columns go in pairs so each digit loaded
/// serves both (`two_columns`); L is even at every width, checked when compiled.
#[inline(always)]
fn reduce_columns<const L: usize>(
    n: &[u64; L],
    n0: u64,
    low: impl Fn(usize) -> (u128, u128),
    high: impl Fn(usize) -> (u128, u128),
) -> [u64; L] {
    const { assert!(L % 2 == 0 && L >= 2) };
    let mut m = [0u64; L];
    let mut t = [0u64; L];
    let mut carry = 0u128;
    for i in (0..L).step_by(2) {
        let (p0, p1) = low(i);
        let (mn0, mn1) = two_columns(&m, n, i, 0, i);
        let mut column = carry + p0 + mn0;
        m[i] = (column as u64).wrapping_mul(n0) & DIGIT_MASK;
        column += product(m[i], n[0]);
        let mut next = (column >> DIGIT_BITS) + p1 + mn1 + product(m[i], n[1]);
        m[i + 1] = (next as u64).wrapping_mul(n0) & DIGIT_MASK;
        next += product(m[i + 1], n[0]);
        carry = next >> DIGIT_BITS;
    }
    for i in (L..2 * L).step_by(2) {
        let first = i + 2 - L;
        let (p0, p1) = high(i);
        let (mn0, mn1) = two_columns(&m, n, i, first, L);
        let column = carry + p0 + mn0 + product(m[first - 1], n[L - 1]);
        t[i - L] = (column as u64) & DIGIT_MASK;
        let next = (column >> DIGIT_BITS) + p1 + mn1;
        t[i + 1 - L] = (next as u64) & DIGIT_MASK;
        carry = next >> DIGIT_BITS;
    }
    // carry is digit L of a result below 2n: 0 or 1.
    if carry != 0 || !less_than(&t, n) {
        sub_assign(&mut t, n);
    }
    t
}

impl Radix for Radix57 {
    type Limb = u64;
    const BITS: u32 = DIGIT_BITS;

    fn limb_from_u64(value: u64) -> u64 {
        value & DIGIT_MASK
    }

    fn limb_to_u64(limb: u64) -> u64 {
        limb
    }

    /// OS2IP a word at a time (the generic conversion takes a byte at a time): digit k is bits
    /// 57k..57k + 57, inside the 8 bytes that start at byte 57k/8 from the least significant
    /// end (57 + 7 ≤ 64).
    fn from_be_bytes<const L: usize>(bytes: &[u8]) -> Option<[u64; L]> {
        let len = bytes.len();
        let mut digits = [0u64; L];
        for (k, digit) in digits.iter_mut().enumerate() {
            let bit = DIGIT_BITS as usize * k;
            let Some(end) = len.checked_sub(bit / 8) else {
                break;
            };
            let mut word = [0u8; 8];
            match bytes.get(end.wrapping_sub(8)..end) {
                Some(eight) => word.copy_from_slice(eight),
                // The top of the number: fewer than 8 bytes left, zeros above them.
                None => word[8 - end..].copy_from_slice(bytes.get(..end)?),
            }
            *digit = (u64::from_be_bytes(word) >> (bit % 8)) & DIGIT_MASK;
        }
        // Nothing at or above bit 57L: the bytes beyond it are zero, and so are the high bits of
        // the byte it falls in.
        let bits = DIGIT_BITS as usize * L;
        if let Some(beyond) = len.checked_sub(bits / 8).filter(|&b| b > 0) {
            let (above, straddling) = bytes.split_at(beyond - 1);
            if above.iter().any(|&b| b != 0)
                || straddling.first().is_some_and(|&b| b >> (bits % 8) != 0)
            {
                return None;
            }
        }
        Some(digits)
    }

    fn mont_mul<const L: usize>(a: &[u64; L], b: &[u64; L], n: &[u64; L], n0: u64) -> [u64; L] {
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

    fn mont_sqr<const L: usize, const L2: usize>(a: &[u64; L], n: &[u64; L], n0: u64) -> [u64; L] {
        // As mont_mul with b = a, but each cross product a[j]·a[i−j], j < i − j, is taken once
        // against 2a (`square_columns`): half the multiplications of the square. Doubling the
        // digits once here rather than each column's sum measured about 3 % faster.
        let mut a2 = [0u64; L];
        for (d, &x) in a2.iter_mut().zip(a) {
            *d = x << 1;
        }
        reduce_columns(
            n,
            n0,
            |i| square_columns(a, &a2, i),
            |i| square_columns(a, &a2, i),
        )
    }

    fn double_mod<const L: usize>(a: &mut [u64; L], n: &[u64; L]) {
        let mut carry = 0u64;
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
