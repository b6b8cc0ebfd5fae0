//! Radix 2^64 limbs with 64 × 64 → 128-bit products, for 64-bit targets: Montgomery
//! multiplication by the CIOS method (Koç, Acar, Kaliski 1996, §4), squaring by computing the
//! square with each cross product once (HAC Algorithm 14.16) and then reducing (SOS, §3).
//!
//! Indexing: every index below is a loop counter bounded by the const-generic lengths of the
//! arrays it indexes (`j < L`, `i + L < 2L = L2`, `L - 1` with `L ≥ 1`), so none can be out of
//! range; the compiler sees the same bounds and removes most checks.
#![allow(clippy::indexing_slicing)]

use super::{less_than, Radix};

/// Radix 2^64.
#[derive(Debug)]
pub(crate) struct Radix64;

/// `t + a·b + carry` as (low, high) limbs; cannot overflow 128 bits.
#[inline(always)]
fn mac(t: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let wide = u128::from(t) + u128::from(a) * u128::from(b) + u128::from(carry);
    (wide as u64, (wide >> 64) as u64)
}

/// `a −= b`, ignoring the final borrow (the callers know the true result is below `b`'s
/// modulus and non-negative once a carried-out top limb is counted).
#[inline(always)]
fn sub_assign<const L: usize>(a: &mut [u64; L], b: &[u64; L]) {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d, b1) = x.overflowing_sub(y);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        *x = d;
        borrow = b1 | b2;
    }
}

impl Radix for Radix64 {
    type Limb = u64;
    const BITS: u32 = 64;

    fn limb_from_u64(value: u64) -> u64 {
        value
    }

    fn limb_to_u64(limb: u64) -> u64 {
        limb
    }

    fn mont_mul<const L: usize>(a: &[u64; L], b: &[u64; L], n: &[u64; L], n0: u64) -> [u64; L] {
        // t (L limbs) plus t_hi (limb L) is the running sum; it stays below 2n, so t_hi is 0 or 1
        // between rounds.
        let mut t = [0u64; L];
        let mut t_hi = 0u64;
        for &b_i in b {
            let mut carry = 0u64;
            for j in 0..L {
                (t[j], carry) = mac(t[j], a[j], b_i, carry);
            }
            let (top, over) = t_hi.overflowing_add(carry);
            // m makes t + m·n divisible by 2^64; the division is the shift by one limb.
            let m = t[0].wrapping_mul(n0);
            let (_, mut carry) = mac(t[0], m, n[0], 0);
            for j in 1..L {
                (t[j - 1], carry) = mac(t[j], m, n[j], carry);
            }
            let (top, over2) = top.overflowing_add(carry);
            t[L - 1] = top;
            t_hi = u64::from(over) + u64::from(over2);
        }
        if t_hi != 0 || !less_than(&t, n) {
            sub_assign(&mut t, n);
        }
        t
    }

    fn mont_sqr<const L: usize, const L2: usize>(a: &[u64; L], n: &[u64; L], n0: u64) -> [u64; L] {
        // t is the 2L-limb square.
        let mut t = [0u64; L2];
        // Cross products a[i]·a[j], i < j, once each, at positions i + j. Row i ends at
        // position i + L, which no earlier row reached: its carry is that limb.
        for (i, &a_i) in a.iter().enumerate() {
            let mut carry = 0u64;
            for (t_k, &a_j) in t[2 * i + 1..i + L].iter_mut().zip(&a[i + 1..]) {
                (*t_k, carry) = mac(*t_k, a_i, a_j, carry);
            }
            t[i + L] = carry;
        }
        // Double them (a shift by one bit; the square is below R², so nothing leaves t),
        // then add the squares a[i]² at positions 2i and 2i + 1.
        let mut shifted_out = 0u64;
        for limb in t.iter_mut() {
            let next = *limb >> 63;
            *limb = (*limb << 1) | shifted_out;
            shifted_out = next;
        }
        let mut carry = 0u64;
        for (pair, &a_i) in t.chunks_exact_mut(2).zip(a) {
            let (low, high) = mac(0, a_i, a_i, 0);
            for (limb, value) in pair.iter_mut().zip([low, high]) {
                let wide = u128::from(*limb) + u128::from(value) + u128::from(carry);
                *limb = wide as u64;
                carry = (wide >> 64) as u64;
            }
        }
        // Montgomery reduction (SOS), two rounds at a time: rounds i and i + 1 clear limbs i and
        // i + 1 by adding m0·n at position i and m1·n at position i + 1, in one pass that loads
        // and stores each limb once and runs the two carry chains side by side. `overflow` is
        // the carry of weight i + L left by the previous pair; what is left after the last pair
        // is limb 2L, 0 or 1 (the result is below 2n). L is even at every width.
        let mut overflow = 0u64;
        for i in (0..L).step_by(2) {
            let m0 = t[i].wrapping_mul(n0);
            let (_, c0) = mac(t[i], m0, n[0], 0);
            let (v, mut c0) = mac(t[i + 1], m0, n[1], c0);
            let m1 = v.wrapping_mul(n0);
            let (_, mut c1) = mac(v, m1, n[0], 0);
            for j in 2..L {
                let (x, c) = mac(t[i + j], m0, n[j], c0);
                c0 = c;
                let (y, c) = mac(x, m1, n[j - 1], c1);
                c1 = c;
                t[i + j] = y;
            }
            // Position i + L: row 0's carry, row 1's last product, the previous overflow.
            let (x, c) = mac(t[i + L], m1, n[L - 1], c1);
            let wide = u128::from(x) + u128::from(c0) + u128::from(overflow);
            t[i + L] = wide as u64;
            // Position i + L + 1 (at most 2L − 1).
            let wide = u128::from(t[i + L + 1]) + u128::from(c) + (wide >> 64);
            t[i + L + 1] = wide as u64;
            overflow = (wide >> 64) as u64;
        }
        let mut result = [0u64; L];
        result.copy_from_slice(&t[L..]);
        if overflow != 0 || !less_than(&result, n) {
            sub_assign(&mut result, n);
        }
        result
    }

    fn double_mod<const L: usize>(a: &mut [u64; L], n: &[u64; L]) {
        let mut shifted_out = 0u64;
        for limb in a.iter_mut() {
            let next = *limb >> 63;
            *limb = (*limb << 1) | shifted_out;
            shifted_out = next;
        }
        if shifted_out != 0 || !less_than(a, n) {
            sub_assign(a, n);
        }
    }
}
