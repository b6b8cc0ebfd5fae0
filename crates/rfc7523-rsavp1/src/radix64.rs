//! Radix 2^64 limbs with 64 × 64 → 128-bit products, for 64-bit targets: Montgomery
//! multiplication by the CIOS method (Koç, Acar, Kaliski 1996, §4), squaring by computing the
//! square with each cross product once (HAC Algorithm 14.16) and then reducing (SOS, §3) four
//! rows per pass. Of the variants measured here (CIOS squaring, product scanning with a 192-bit
//! column accumulator, one, two or four reduction rows per pass, two cross-product rows per
//! pass), this was the fastest.
//!
//! Indexing: every index below is a loop counter bounded by the const-generic lengths of the
//! arrays it indexes (`j < L`, `i + L + 3 < 2L = L2` for `i ≤ L − 4`, `L − 1` with `L ≥ 4`), so
//! none can be out of range; the compiler sees the same bounds and removes most checks.
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
        // The reduction takes four rows per pass and t has 2L limbs: checked when compiled.
        const { assert!(L % 4 == 0 && L >= 4 && L2 == 2 * L) };
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
        // Montgomery reduction (SOS), four rounds at a time: rounds i..i + 4 clear limbs
        // i..i + 4 by adding m_r·n at position i + r, in one pass that loads and stores each limb
        // once and runs the four carry chains side by side. m_r depends on the limb as the
        // earlier rows left it, so the first four positions are a triangle, then every position
        // takes one product of each row, then the rows end one by one. `overflow` is the carry
        // of weight i + L left by the previous group; after the last group it is limb 2L, 0 or 1
        // (the result is below 2n). L is a multiple of 4 at every width.
        let mut overflow = 0u64;
        for i in (0..L).step_by(4) {
            let m0 = t[i].wrapping_mul(n0);
            let (_, c0) = mac(t[i], m0, n[0], 0);
            let (v, c0) = mac(t[i + 1], m0, n[1], c0);
            let m1 = v.wrapping_mul(n0);
            let (_, c1) = mac(v, m1, n[0], 0);
            let (v, c0) = mac(t[i + 2], m0, n[2], c0);
            let (v, c1) = mac(v, m1, n[1], c1);
            let m2 = v.wrapping_mul(n0);
            let (_, c2) = mac(v, m2, n[0], 0);
            let (v, mut c0) = mac(t[i + 3], m0, n[3], c0);
            let (v, mut c1) = mac(v, m1, n[2], c1);
            let (v, mut c2) = mac(v, m2, n[1], c2);
            let m3 = v.wrapping_mul(n0);
            let (_, mut c3) = mac(v, m3, n[0], 0);
            for k in 4..L {
                let v = t[i + k];
                let (v, c) = mac(v, m0, n[k], c0);
                c0 = c;
                let (v, c) = mac(v, m1, n[k - 1], c1);
                c1 = c;
                let (v, c) = mac(v, m2, n[k - 2], c2);
                c2 = c;
                let (v, c) = mac(v, m3, n[k - 3], c3);
                c3 = c;
                t[i + k] = v;
            }
            // Positions i + L..i + L + 4 (at most 2L − 1): each row's carry where it ends, the
            // remaining rows' last products, and `extra`, the carry between these positions.
            let wide = u128::from(t[i + L]) + u128::from(c0) + u128::from(overflow);
            let (v, extra) = (wide as u64, (wide >> 64) as u64);
            let (v, c1) = mac(v, m1, n[L - 1], c1);
            let (v, c2) = mac(v, m2, n[L - 2], c2);
            let (v, c3) = mac(v, m3, n[L - 3], c3);
            t[i + L] = v;
            let wide = u128::from(t[i + L + 1]) + u128::from(c1) + u128::from(extra);
            let (v, extra) = (wide as u64, (wide >> 64) as u64);
            let (v, c2) = mac(v, m2, n[L - 1], c2);
            let (v, c3) = mac(v, m3, n[L - 2], c3);
            t[i + L + 1] = v;
            let wide = u128::from(t[i + L + 2]) + u128::from(c2) + u128::from(extra);
            let (v, extra) = (wide as u64, (wide >> 64) as u64);
            let (v, c3) = mac(v, m3, n[L - 1], c3);
            t[i + L + 2] = v;
            let wide = u128::from(t[i + L + 3]) + u128::from(c3) + u128::from(extra);
            t[i + L + 3] = wide as u64;
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
