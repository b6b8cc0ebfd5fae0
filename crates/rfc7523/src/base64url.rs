//! Canonical unpadded base64url (RFC 7515 §2, RFC 4648 §5).
//!
//! `base64ct` refuses `=`, `+`, `/`, whitespace and non-canonical trailing bits, and decodes in
//! constant time. This wrapper only adds the length arithmetic.

use base64ct::{Base64UrlUnpadded, Encoding};

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

/// Decodes `src` into `dst`, returning the decoded bytes.
pub(crate) fn decode<'d>(src: &[u8], dst: &'d mut [u8]) -> Result<&'d [u8], DecodeError> {
    if decoded_len(src.len()) > dst.len() {
        return Err(DecodeError::TooLong);
    }
    Base64UrlUnpadded::decode(src, dst).map_err(|_| DecodeError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

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
