//! The textual encoding of public keys (RFC 7468): one `-----BEGIN label-----` …
//! `-----END label-----` block of base64, found in a text that may carry explanatory text
//! before and after it (RFC 7468 §2, §5.2).
//!
//! The body is read leniently where RFC 7468 §3 lets parsers be (white space of any kind
//! between characters, lines of any length), strictly elsewhere: the labels must match, no
//! RFC 1421 header lines, canonical padded base64 (RFC 4648 §4) and nothing after the END
//! line's closing dashes but white space. Our own small decoder rather than a PEM crate: the
//! npm package's WebAssembly module is size-budgeted, and the base64 table is shared with the
//! JWS decoder.

use crate::base64url;

/// Most base64 characters a block may carry: enough for [`MAX_DER`] bytes.
const MAX_BASE64: usize = MAX_DER.div_ceil(3) * 4;

/// Largest DER a PEM public key may carry (an 8192-bit SPKI is about 1,060 bytes).
pub(crate) const MAX_DER: usize = 2 * crate::jws::MAX_SIGNATURE_LEN;

/// Why a PEM block was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PemError {
    /// No `-----BEGIN …-----` / `-----END …-----` pair with matching labels, header lines,
    /// characters outside base64, or non-canonical base64.
    Malformed,
    /// More than [`MAX_DER`] bytes.
    TooLong,
}

/// Decodes the first PEM block of `text` into `buf`: its label and its DER (what the key
/// loaders do in two steps, [`block`] then [`decode_body`], so as to read the label first).
#[cfg(test)]
pub(crate) fn decode<'t, 'b>(
    text: &'t str,
    buf: &'b mut [u8; MAX_DER],
) -> Result<(&'t str, &'b [u8]), PemError> {
    let (label, body) = block(text)?;
    Ok((label, decode_key_body(body, buf)?))
}

/// Decodes a public key block's body ([`block`]) into `buf`, at most [`MAX_DER`] bytes. Not
/// inlined: its staging buffer lives in this frame only, not in the key loader's.
#[inline(never)]
pub(crate) fn decode_key_body<'b>(
    body: &str,
    buf: &'b mut [u8; MAX_DER],
) -> Result<&'b [u8], PemError> {
    let mut staging = [0u8; MAX_BASE64];
    decode_body(body, &mut staging, buf)
}

/// The first PEM block of `text`: its label and its body (the base64 text between the BEGIN
/// and END lines, not decoded), the lines checked.
pub(crate) fn block(text: &str) -> Result<(&str, &str), PemError> {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    const DASHES: &str = "-----";
    let start = find(text, BEGIN).ok_or(PemError::Malformed)?;
    let after_begin = text.get(start + BEGIN.len()..).ok_or(PemError::Malformed)?;
    let label_len = find(after_begin, DASHES).ok_or(PemError::Malformed)?;
    let label = after_begin.get(..label_len).ok_or(PemError::Malformed)?;
    if !is_label(label) {
        return Err(PemError::Malformed);
    }
    let rest = after_begin
        .get(label_len + DASHES.len()..)
        .ok_or(PemError::Malformed)?;
    let body_len = find(rest, END).ok_or(PemError::Malformed)?;
    let body = rest.get(..body_len).ok_or(PemError::Malformed)?;
    let end_line = rest
        .get(body_len + END.len()..)
        .ok_or(PemError::Malformed)?;
    // `-----END <same label>-----`.
    let end_label = end_line
        .get(..label.len())
        .filter(|l| *l == label)
        .ok_or(PemError::Malformed)?;
    let closing = end_line
        .get(end_label.len()..end_label.len() + DASHES.len())
        .ok_or(PemError::Malformed)?;
    if closing != DASHES {
        return Err(PemError::Malformed);
    }
    // The BEGIN line ends right after its dashes (a line break follows).
    if !body.starts_with(['\n', '\r']) {
        return Err(PemError::Malformed);
    }
    Ok((label, body))
}

/// Decodes a block's body ([`block`]) into `out`: its characters other than white space are
/// gathered in `staging`, which bounds them ([`PemError::TooLong`] past its length), then
/// decoded as canonical padded base64.
pub(crate) fn decode_body<'b>(
    body: &str,
    staging: &mut [u8],
    out: &'b mut [u8],
) -> Result<&'b [u8], PemError> {
    let mut len = 0usize;
    for c in body.bytes() {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {}
            c => {
                let slot = staging.get_mut(len).ok_or(PemError::TooLong)?;
                *slot = c;
                len += 1;
            }
        }
    }
    let base64 = staging.get(..len).ok_or(PemError::Malformed)?;
    if base64.is_empty() {
        return Err(PemError::Malformed);
    }
    base64url::decode_standard_padded(base64, out).map_err(|e| match e {
        base64url::DecodeError::TooLong => PemError::TooLong,
        base64url::DecodeError::Invalid => PemError::Malformed,
    })
}

/// RFC 7468 §3: `label = [ labelchar *( ["-" / SP] labelchar ) ]`, labelchar any printable
/// ASCII but `-`.
fn is_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    let printable = |c: u8| (0x21..=0x7e).contains(&c) && c != b'-';
    let ends_ok =
        bytes.first().is_none_or(|&c| printable(c)) && bytes.last().is_none_or(|&c| printable(c));
    ends_ok
        && bytes.windows(2).all(|w| match w {
            [a, b] => {
                (printable(*a) || *a == b'-' || *a == b' ')
                    && (printable(*b) || *b == b'-' || *b == b' ')
                    && !((*a == b'-' || *a == b' ') && (*b == b'-' || *b == b' '))
            }
            _ => true,
        })
        && bytes
            .iter()
            .all(|&c| printable(c) || c == b'-' || c == b' ')
}

/// The byte offset of the first `needle` in `text`: a plain scan (key texts are short), which
/// keeps `str::find`'s two-way searcher out of the size-budgeted WebAssembly module.
pub(crate) fn find(text: &str, needle: &str) -> Option<usize> {
    text.as_bytes()
        .windows(needle.len())
        .position(|window| window == needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPKI_BODY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\nq9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n";

    fn block(label: &str, body: &str) -> String {
        format!("-----BEGIN {label}-----\n{body}-----END {label}-----\n")
    }

    /// Our decoder and `pem-rfc7468` agree on what both accept.
    #[test]
    fn agrees_with_pem_rfc7468_on_valid_blocks() {
        for text in [
            block("PUBLIC KEY", SPKI_BODY),
            block("RSA PUBLIC KEY", SPKI_BODY),
            block("PUBLIC KEY", &SPKI_BODY.replace('\n', "\r\n")),
        ] {
            let mut ours = [0u8; MAX_DER];
            let mut theirs = [0u8; MAX_DER];
            let (label, der) = decode(&text, &mut ours).unwrap();
            let (their_label, their_der) =
                pem_rfc7468::decode(text.as_bytes(), &mut theirs).unwrap();
            assert_eq!((label, der), (their_label, their_der), "{text}");
        }
    }

    #[test]
    fn lenient_where_rfc_7468_allows() {
        let expected = {
            let mut buf = [0u8; MAX_DER];
            decode(&block("PUBLIC KEY", SPKI_BODY), &mut buf)
                .unwrap()
                .1
                .to_vec()
        };
        let one_line = SPKI_BODY.replace('\n', "") + "\n";
        let spaced = SPKI_BODY.replace('\n', " \t\n ");
        for text in [
            format!(
                "explanatory text\n{}trailing text\n",
                block("PUBLIC KEY", SPKI_BODY)
            ),
            block("PUBLIC KEY", &one_line),
            block("PUBLIC KEY", &spaced),
            block("PUBLIC KEY", SPKI_BODY).trim_end().to_owned(),
        ] {
            let mut buf = [0u8; MAX_DER];
            assert_eq!(
                decode(&text, &mut buf).map(|(_, d)| d.to_vec()),
                Ok(expected.clone()),
                "{text}"
            );
        }
    }

    #[test]
    fn strict_elsewhere() {
        let good = block("PUBLIC KEY", SPKI_BODY);
        let cases = [
            good.replace("-----END PUBLIC KEY", "-----END RSA PUBLIC KEY"),
            good.replace("-----END PUBLIC KEY-----", "-----END PUBLIC KEY----"),
            good.replace(
                "-----BEGIN PUBLIC KEY-----\n",
                "-----BEGIN PUBLIC KEY-----MFkw",
            ),
            good.replace("-----END", "----END"),
            block(
                "PUBLIC KEY",
                &format!("Proc-Type: 4,ENCRYPTED\n\n{SPKI_BODY}"),
            ),
            block("PUBLIC KEY", &SPKI_BODY.replace("==", "=")),
            block("PUBLIC KEY", &SPKI_BODY.replace("==", "")),
            block("PUBLIC KEY", &SPKI_BODY.replace("Oxg==", "Oxh==")),
            block("PUBLIC KEY", &SPKI_BODY.replace('+', "-")),
            block("PUBLIC KEY", "\n"),
            block("PUBLIC  KEY", SPKI_BODY),
            block(" PUBLIC KEY", SPKI_BODY),
            block("PUBLIC KEY", &format!("{SPKI_BODY}QUJD\n")),
            "-----BEGIN PUBLIC KEY-----\nMFkw\n".to_owned(),
            String::new(),
        ];
        for text in &cases {
            let mut buf = [0u8; MAX_DER];
            assert_eq!(
                decode(text, &mut buf).map(|_| ()),
                Err(PemError::Malformed),
                "{text}"
            );
        }
        // Over the limit: refused as too long, without writing past the buffer.
        let huge = block("PUBLIC KEY", &"QUJD".repeat(MAX_BASE64 / 4 + 1));
        let mut buf = [0u8; MAX_DER];
        assert_eq!(decode(&huge, &mut buf).map(|_| ()), Err(PemError::TooLong));
        // 682 × 3 + 2 = 2,048 bytes: exactly MAX_DER.
        let at_limit = block(
            "PUBLIC KEY",
            &format!("{}QUI=\n", "QUJD".repeat(MAX_DER / 3)),
        );
        assert_eq!(
            decode(&at_limit, &mut buf).map(|(_, d)| d.len()),
            Ok(MAX_DER)
        );
    }

    #[test]
    fn labels() {
        for (label, ok) in [
            ("PUBLIC KEY", true),
            ("RSA PUBLIC KEY", true),
            ("X509-CRL", true),
            ("", true),
            ("A  B", false),
            ("A--B", false),
            ("-A", false),
            ("A ", false),
            ("A\tB", false),
        ] {
            assert_eq!(is_label(label), ok, "{label:?}");
        }
    }
}
