//! Canonical unpadded base64url (RFC 7515 §2, RFC 4648 §5), and the padded standard
//! alphabet (RFC 4648 §4) for PEM bodies (RFC 7468).
//!
//! Only the URL-safe alphabet, no padding, no white space, and no non-canonical trailing bits
//! (RFC 4648 §3.5: the unused low bits of the last character must be zero), so every byte
//! string has exactly one accepted encoding. A table decoder, not a constant-time one: a JWS is
//! public data (a constant-time decoder such as `base64ct`'s took about 50 instructions a
//! character here, a quarter of a validation's non-RSA work). The unit tests check it against
//! `base64ct` on every length and on mutated inputs.

/// Why a segment did not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The decoded form would not fit the buffer.
    TooLong,
    /// Not canonical unpadded base64url.
    Invalid,
}

/// Decoded length of `encoded_len` characters of unpadded base64 (ignoring validity).
pub(crate) const fn decoded_len(encoded_len: usize) -> usize {
    encoded_len / 4 * 3 + (encoded_len % 4).saturating_sub(1)
}

/// Most encoded characters whose decoded form fits in `decoded_max` bytes.
#[cfg(test)]
const fn encoded_len_for(decoded_max: usize) -> usize {
    decoded_max / 3 * 4
        + match decoded_max % 3 {
            0 => 0,
            1 => 2,
            _ => 3,
        }
}

/// Marks a byte outside the alphabet in [`SEXTETS`].
const INVALID: u8 = 0xff;

/// The 6-bit value of each byte of `alphabet`, [`INVALID`] for every other byte.
// Evaluated at compile time: an index out of range would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
const fn sextets(alphabet: &[u8; 64]) -> [u8; 256] {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
}

/// The base64url alphabet (RFC 4648 §5).
const SEXTETS: [u8; 256] =
    sextets(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

/// The standard alphabet (RFC 4648 §4), for PEM.
const STANDARD_SEXTETS: [u8; 256] =
    sextets(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

/// True when `src` is canonical unpadded base64url, exactly what [`decode`] accepts, checked
/// without decoding (to decode it later, straight into its place).
pub(crate) fn is_canonical(src: &[u8]) -> bool {
    let sextet = |c: u8| SEXTETS.get(usize::from(c)).copied().unwrap_or(INVALID);
    if src.len() % 4 == 1 || src.iter().any(|&c| sextet(c) == INVALID) {
        return false;
    }
    // RFC 4648 §3.5: the unused low bits of the last character are zero.
    match (src.len() % 4, src.last()) {
        (2, Some(&c)) => sextet(c) & 0x0f == 0,
        (3, Some(&c)) => sextet(c) & 0x03 == 0,
        _ => true,
    }
}

/// Decodes canonical unpadded base64url `src` into `dst`, returning the decoded bytes.
pub(crate) fn decode<'d>(src: &[u8], dst: &'d mut [u8]) -> Result<&'d [u8], DecodeError> {
    decode_with(&SEXTETS, src, dst)
}

/// Decodes canonical padded standard base64 (RFC 4648 §4: `=` padding to a multiple of four
/// characters, exactly as many as needed, and zero unused bits), as in a PEM body.
pub(crate) fn decode_standard_padded<'d>(
    src: &[u8],
    dst: &'d mut [u8],
) -> Result<&'d [u8], DecodeError> {
    if src.len() % 4 != 0 {
        return Err(DecodeError::Invalid);
    }
    let pads = src.iter().rev().take_while(|&&c| c == b'=').count();
    let unpadded = src.get(..src.len() - pads).ok_or(DecodeError::Invalid)?;
    // Two characters need two `=`, three need one, a full quad none.
    let expected = match unpadded.len() % 4 {
        0 => 0,
        2 => 2,
        3 => 1,
        _ => return Err(DecodeError::Invalid),
    };
    if pads != expected {
        return Err(DecodeError::Invalid);
    }
    decode_with(&STANDARD_SEXTETS, unpadded, dst)
}

fn decode_with<'d>(
    table: &[u8; 256],
    src: &[u8],
    dst: &'d mut [u8],
) -> Result<&'d [u8], DecodeError> {
    let len = decoded_len(src.len());
    if len > dst.len() {
        return Err(DecodeError::TooLong);
    }
    // One character alone carries 6 bits: no byte.
    if src.len() % 4 == 1 {
        return Err(DecodeError::Invalid);
    }
    let out = dst.get_mut(..len).ok_or(DecodeError::TooLong)?;
    // A u8 indexes a 256-entry table: never out of range.
    let sextet = |c: u8| table.get(usize::from(c)).copied().unwrap_or(INVALID);
    let mut invalid = 0u8;
    let mut quads = src.chunks_exact(4);
    let mut triples = out.chunks_exact_mut(3);
    for (quad, triple) in (&mut quads).zip(&mut triples) {
        let (&[a, b, c, d], [x, y, z]) = (quad, triple) else {
            return Err(DecodeError::Invalid); // chunks_exact: never
        };
        let (a, b, c, d) = (sextet(a), sextet(b), sextet(c), sextet(d));
        invalid |= (a | b | c | d) & 0x80;
        *x = a << 2 | b >> 4;
        *y = b << 4 | c >> 2;
        *z = c << 6 | d;
    }
    let tail = quads.remainder();
    let rest = triples.into_remainder();
    match (tail, rest) {
        ([], []) => {}
        (&[a, b], [x]) => {
            let (a, b) = (sextet(a), sextet(b));
            // 12 bits carry 8: the low 4 bits of the second character must be zero.
            invalid |= (a | b) & 0x80 | b & 0x0f;
            *x = a << 2 | b >> 4;
        }
        (&[a, b, c], [x, y]) => {
            let (a, b, c) = (sextet(a), sextet(b), sextet(c));
            // 18 bits carry 16: the low 2 bits of the third character must be zero.
            invalid |= (a | b | c) & 0x80 | c & 0x03;
            *x = a << 2 | b >> 4;
            *y = b << 4 | c >> 2;
        }
        _ => return Err(DecodeError::Invalid),
    }
    if invalid == 0 {
        Ok(out)
    } else {
        Err(DecodeError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64, Base64UrlUnpadded, Encoding};

    /// The padded standard decoder against `base64ct`'s, on every length up to 100 and every
    /// single-character change of those encodings.
    #[test]
    fn standard_padded_agrees_with_base64ct() {
        let mut checked = 0;
        for len in 0..100u8 {
            let bytes: Vec<u8> = (0..len)
                .map(|i| i.wrapping_mul(97).wrapping_add(len))
                .collect();
            let text = Base64::encode_string(&bytes).into_bytes();
            let mut ours = [0u8; 128];
            assert_eq!(decode_standard_padded(&text, &mut ours), Ok(&bytes[..]));
            for position in 0..text.len() {
                for replacement in [b'-', b'_', b'=', b'A', b'+', b'/', b' '] {
                    let mut mutated = text.clone();
                    mutated[position] = replacement;
                    let mut theirs = [0u8; 128];
                    let a = decode_standard_padded(&mutated, &mut ours).map(<[u8]>::to_vec);
                    let b = Base64::decode(&mutated, &mut theirs)
                        .map(<[u8]>::to_vec)
                        .map_err(|_| DecodeError::Invalid);
                    assert_eq!(a, b, "{:?}", String::from_utf8_lossy(&mutated));
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000);
        for bad in [&b"QQ="[..], b"QQ", b"QR==", b"Q===", b"====", b"QUI=QUI="] {
            assert!(
                decode_standard_padded(bad, &mut [0u8; 8]).is_err(),
                "{bad:?}"
            );
        }
    }

    /// The decoder (and [`is_canonical`]) against `base64ct` (canonical unpadded base64url,
    /// constant time): every
    /// encoding of random bytes of every length up to 200, and every single-character
    /// replacement of some of them by any byte, must get the same verdict and bytes.
    #[test]
    fn agrees_with_base64ct() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let same = |text: &[u8]| {
            let mut ours = [0u8; 256];
            let mut theirs = [0u8; 256];
            let a = decode(text, &mut ours).map(<[u8]>::to_vec);
            let b = Base64UrlUnpadded::decode(text, &mut theirs)
                .map(<[u8]>::to_vec)
                .map_err(|_| DecodeError::Invalid);
            assert_eq!(a, b, "{:?}", String::from_utf8_lossy(text));
            // The check without decoding gives the same verdict.
            assert_eq!(
                is_canonical(text),
                b.is_ok(),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        };
        let mut checked = 0;
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let text = Base64UrlUnpadded::encode_string(&bytes).into_bytes();
            same(&text);
            for position in 0..text.len() {
                for replacement in [0u8, b'+', b'/', b'=', b' ', b'A', b'_', next() as u8] {
                    let mut mutated = text.clone();
                    mutated[position] = replacement;
                    same(&mutated);
                    checked += 1;
                }
            }
            // Every last character: the canonical trailing-bits rule.
            if let Some(last) = text.len().checked_sub(1) {
                for replacement in 0..=255u8 {
                    let mut mutated = text.clone();
                    mutated[last] = replacement;
                    same(&mutated);
                    checked += 1;
                }
            }
            // One character more or fewer.
            same(&text[..text.len().saturating_sub(1)]);
            let mut longer = text.clone();
            longer.push(b'A');
            same(&longer);
        }
        assert!(checked > 100_000, "{checked}");
    }

    #[test]
    fn lengths_round_trip() {
        for n in 0..50 {
            assert_eq!(decoded_len(encoded_len_for(n)), n);
            assert_eq!(
                encoded_len_for(n),
                Base64UrlUnpadded::encoded_len(&vec![0u8; n])
            );
        }
    }

    #[test]
    fn refuses_non_canonical_forms() {
        let mut buf = [0u8; 16];
        assert_eq!(decode(b"QUJD", &mut buf), Ok(&b"ABC"[..]));
        assert_eq!(decode(b"QUI", &mut buf), Ok(&b"AB"[..]));
        for bad in [
            &b"QUI="[..], // padding
            b"QUJ",       // non-zero trailing bits (canonical is QUI)
            b"Q",         // impossible length
            b"QU+D",      // standard alphabet
            b"QU/D",      // standard alphabet
            b"QU D",      // whitespace
            b"QUJD\n",    // trailing newline
        ] {
            assert_eq!(decode(bad, &mut buf), Err(DecodeError::Invalid), "{bad:?}");
        }
        assert_eq!(decode(b"QUJDRA", &mut buf[..3]), Err(DecodeError::TooLong));
    }
}
