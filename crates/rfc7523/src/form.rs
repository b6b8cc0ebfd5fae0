//! A strict, non-allocating `application/x-www-form-urlencoded` parser for OAuth token
//! request bodies.
//!
//! Token requests are sent as form-encoded bodies (RFC 6749 §3.2 and Appendix B); RFC 7521
//! §4.1 (assertion authorization grants: `grant_type`, `assertion`, `scope`) and §4.2
//! (client authentication: `client_assertion_type`, `client_assertion`, `client_id`) name
//! the parameters this module extracts into [`TokenParams`].
//!
//! Strictness:
//! - RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
//!   Every parameter name, known or unknown, is compared after percent-decoding, so
//!   `grant_type` and `grant%5Ftype` are the same name; a repeat is
//!   [`FormError::RepeatedParameter`]. The one exception is `resource` (RFC 8707 §2: "may be
//!   used multiple times"), counted in [`TokenParams::resources`].
//! - RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted
//!   from the request": a recognised parameter with an empty value leaves its field `None`
//!   (it still counts as present for the repetition check).
//! - Decoding follows Appendix B: `+` is a space, `%XX` (hex digits of either case) is one
//!   byte, and a `%` not followed by two hex digits is [`FormError::BadEncoding`]. Decoded
//!   names and recognised values must be UTF-8.
//! - Input size is bounded: [`MAX_FORM_BODY_LEN`], [`MAX_FORM_PARAMETERS`],
//!   [`MAX_FORM_VALUE_LEN`] and [`MAX_FORM_SHORT_VALUE_LEN`].
//!
//! Nothing is allocated and nothing is copied: names are remembered as still-encoded spans
//! of the body and compared by decoding both sides on the fly; recognised values are
//! percent-decoded in place in the caller's body (decoding never lengthens a value), so
//! [`TokenParams`] is a handful of spans over it.

use heapless::Vec;

/// Longest request body accepted, bytes (two 8 KiB assertions plus the other parameters).
pub const MAX_FORM_BODY_LEN: usize = 20 * 1024;

/// Most parameters (name=value pairs) accepted in one body.
///
/// Empty pieces (as in `a=1&&b=2`, or a leading or trailing `&`) are not parameters and do
/// not count.
pub const MAX_FORM_PARAMETERS: usize = 16;

/// Longest decoded value accepted for `assertion` / `client_assertion`, bytes (= the token
/// length limit).
pub const MAX_FORM_VALUE_LEN: usize = 8 * 1024;

/// Longest decoded value accepted for every other recognised parameter (`grant_type`,
/// `client_assertion_type`, `client_id`, `client_secret`, `scope`), bytes.
pub const MAX_FORM_SHORT_VALUE_LEN: usize = 512;

/// Why a form-encoded request body was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FormError {
    /// Body longer than [`MAX_FORM_BODY_LEN`].
    BodyTooLong,
    /// More than [`MAX_FORM_PARAMETERS`] pairs.
    TooManyParameters,
    /// A recognised value is longer than its limit ([`MAX_FORM_VALUE_LEN`] or
    /// [`MAX_FORM_SHORT_VALUE_LEN`]).
    ValueTooLong,
    /// Bad percent-encoding (`%` not followed by two hex digits), or a decoded name/value
    /// that is not UTF-8.
    BadEncoding,
    /// A parameter name occurs more than once (RFC 6749 §3.2: "MUST NOT be included more
    /// than once"). Names are compared after decoding, and the rule applies to all names,
    /// known or unknown.
    RepeatedParameter,
    /// A pair with an empty name (e.g. `=x`), or a body that is not name=value pairs.
    EmptyName,
}

/// The parameters of a token request that RFC 7521/7523 care about, decoded: spans over the
/// request body, which [`TokenParams::parse`] percent-decodes in place.
///
/// A field is `None` when its parameter is absent or has an empty value (RFC 6749 §3.1).
/// Unknown parameters are checked (encoding, repetition) and otherwise ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenParams<'r> {
    /// `grant_type` (RFC 6749 §4.5, RFC 7521 §4.1), e.g.
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer`.
    pub grant_type: Option<&'r str>,
    /// `assertion` (RFC 7521 §4.1): the authorization grant assertion.
    pub assertion: Option<&'r str>,
    /// `client_assertion_type` (RFC 7521 §4.2), e.g.
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<&'r str>,
    /// `client_assertion` (RFC 7521 §4.2): the client authentication assertion.
    pub client_assertion: Option<&'r str>,
    /// `client_id` (RFC 6749 §2.2, RFC 7521 §4.2).
    pub client_id: Option<&'r str>,
    /// Present when the body also carries `client_secret` (a second client credential).
    pub client_secret_present: bool,
    /// `scope` (RFC 6749 §3.3, RFC 7521 §4.1).
    pub scope: Option<&'r str>,
    /// How many `resource` parameters (RFC 8707 §2) the body has: the only parameter that
    /// may repeat. Their values are the caller's to read.
    pub resources: usize,
}

/// Where a recognised value lies in the body once decoded: `(start, length)`.
type Span = Option<(usize, usize)>;

/// The recognised values found so far, as [`Span`]s (the body is still being decoded).
#[derive(Default)]
struct Spans {
    grant_type: Span,
    assertion: Span,
    client_assertion_type: Span,
    client_assertion: Span,
    client_id: Span,
    scope: Span,
}

impl<'r> TokenParams<'r> {
    /// Parses a whole body, percent-decoding the recognised values **in place** (decoding
    /// never lengthens a value), so that every field is a span over `body` and nothing is
    /// copied. Names and the values of other parameters are left as they were; after an
    /// error the body may be partly decoded.
    ///
    /// Pieces are separated by `&`; each is split at its first `=` (a piece without `=` is a
    /// name with an empty value). Empty pieces are ignored. Errors are reported for the
    /// first offending piece, left to right; [`FormError::BodyTooLong`] is checked before
    /// anything else.
    ///
    /// # Errors
    ///
    /// See [`FormError`].
    pub fn parse(body: &'r mut [u8]) -> Result<Self, FormError> {
        if body.len() > MAX_FORM_BODY_LEN {
            return Err(FormError::BodyTooLong);
        }
        let mut params = TokenParams::default();
        let mut spans = Spans::default();
        // The names seen so far, as (start, end) in the body.
        let mut names: Vec<(usize, usize), MAX_FORM_PARAMETERS> = Vec::new();

        let mut start = 0;
        while start <= body.len() {
            let rest = body.get(start..).unwrap_or_default();
            let end = rest
                .iter()
                .position(|&b| b == b'&')
                .map_or(body.len(), |i| start + i);
            let piece = body.get(start..end).unwrap_or_default();
            let piece_start = start;
            start = end + 1;
            if piece.is_empty() {
                continue;
            }
            let (name_end, value_start) = match piece.iter().position(|&b| b == b'=') {
                Some(eq) => (piece_start + eq, piece_start + eq + 1),
                None => (end, end),
            };
            let name = body.get(piece_start..name_end).unwrap_or_default();
            if name.is_empty() {
                return Err(FormError::EmptyName);
            }
            if names.is_full() {
                return Err(FormError::TooManyParameters);
            }
            // Validates the name's percent-encoding and UTF-8, so the comparisons below
            // cannot meet a decoding error.
            validate_utf8(Decode::new(name))?;
            let field = Field::of(name);
            let seen =
                |&(s, e): &(usize, usize)| decoded_eq(body.get(s..e).unwrap_or_default(), name);
            if field != Field::Resource && names.iter().any(seen) {
                return Err(FormError::RepeatedParameter);
            }
            names
                .push((piece_start, name_end))
                .map_err(|_| FormError::TooManyParameters)?;

            let value = (value_start, end);
            match field {
                Field::GrantType => spans.grant_type = decode_value(body, value, SHORT)?,
                Field::Assertion => spans.assertion = decode_value(body, value, LONG)?,
                Field::ClientAssertionType => {
                    spans.client_assertion_type = decode_value(body, value, SHORT)?;
                }
                Field::ClientAssertion => {
                    spans.client_assertion = decode_value(body, value, LONG)?;
                }
                Field::ClientId => spans.client_id = decode_value(body, value, SHORT)?,
                Field::Scope => spans.scope = decode_value(body, value, SHORT)?,
                Field::ClientSecret => {
                    // Checked like the other short values, but never kept.
                    let raw = body.get(value_start..end).unwrap_or_default();
                    let len = validate_utf8(Decode::new(raw))?;
                    if len > MAX_FORM_SHORT_VALUE_LEN {
                        return Err(FormError::ValueTooLong);
                    }
                    params.client_secret_present = len > 0;
                }
                Field::Resource => {
                    for byte in Decode::new(body.get(value_start..end).unwrap_or_default()) {
                        byte?;
                    }
                    params.resources += 1;
                }
                Field::Unknown => {
                    for byte in Decode::new(body.get(value_start..end).unwrap_or_default()) {
                        byte?;
                    }
                }
            }
        }
        let body: &'r [u8] = body;
        // Each span was checked to be UTF-8 when it was decoded.
        let text = |span: Span| {
            let (start, len) = span?;
            core::str::from_utf8(body.get(start..start + len)?).ok()
        };
        params.grant_type = text(spans.grant_type);
        params.assertion = text(spans.assertion);
        params.client_assertion_type = text(spans.client_assertion_type);
        params.client_assertion = text(spans.client_assertion);
        params.client_id = text(spans.client_id);
        params.scope = text(spans.scope);
        Ok(params)
    }
}

/// The limit of `assertion` and `client_assertion`.
const LONG: usize = MAX_FORM_VALUE_LEN;
/// The limit of the other recognised values.
const SHORT: usize = MAX_FORM_SHORT_VALUE_LEN;

/// The parameters [`TokenParams`] knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    GrantType,
    Assertion,
    ClientAssertionType,
    ClientAssertion,
    ClientId,
    ClientSecret,
    Scope,
    Resource,
    Unknown,
}

impl Field {
    /// Names as they appear decoded. None contains `%` or `+`, so each is also its own
    /// encoding and can be compared with [`decoded_eq`].
    const KNOWN: [(&'static [u8], Field); 8] = [
        (b"grant_type", Field::GrantType),
        (b"assertion", Field::Assertion),
        (b"client_assertion_type", Field::ClientAssertionType),
        (b"client_assertion", Field::ClientAssertion),
        (b"client_id", Field::ClientId),
        (b"client_secret", Field::ClientSecret),
        (b"scope", Field::Scope),
        (b"resource", Field::Resource),
    ];

    /// Classifies a raw (still-encoded, already validated) name.
    fn of(raw_name: &[u8]) -> Field {
        Self::KNOWN
            .iter()
            .find(|(known, _)| decoded_eq(known, raw_name))
            .map_or(Field::Unknown, |&(_, field)| field)
    }
}

/// Iterator over the decoded bytes of a raw form name or value (RFC 6749 Appendix B:
/// `+` is a space, `%XX` is one byte).
///
/// Yields `Err(FormError::BadEncoding)` once, then stops, at a `%` not followed by two hex
/// digits.
#[derive(Clone, Debug)]
struct Decode<'a> {
    rest: &'a [u8],
}

impl<'a> Decode<'a> {
    fn new(raw: &'a [u8]) -> Self {
        Decode { rest: raw }
    }
}

impl Iterator for Decode<'_> {
    type Item = Result<u8, FormError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&first, tail) = self.rest.split_first()?;
        match first {
            b'+' => {
                self.rest = tail;
                Some(Ok(b' '))
            }
            b'%' => {
                let byte = match tail {
                    [hi, lo, ..] => hex_value(*hi)
                        .zip(hex_value(*lo))
                        .map(|(hi, lo)| (hi << 4) | lo),
                    _ => None,
                };
                if let Some(byte) = byte {
                    self.rest = tail.get(2..).unwrap_or_default();
                    Some(Ok(byte))
                } else {
                    self.rest = &[];
                    Some(Err(FormError::BadEncoding))
                }
            }
            other => {
                self.rest = tail;
                Some(Ok(other))
            }
        }
    }
}

/// The value of one hex digit, either case.
fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Whether two raw (still-encoded) spans decode to the same bytes. A decoding error on
/// either side makes them unequal; callers validate first, so that does not happen.
fn decoded_eq(a: &[u8], b: &[u8]) -> bool {
    let mut a = Decode::new(a);
    let mut b = Decode::new(b);
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(Ok(x)), Some(Ok(y))) if x == y => {}
            _ => return false,
        }
    }
}

/// Checks that decoded bytes are well-formed UTF-8 (RFC 3629 §4) without buffering them,
/// and returns how many there are.
///
/// # Errors
///
/// [`FormError::BadEncoding`] for a decoding error or ill-formed UTF-8.
fn validate_utf8(bytes: impl Iterator<Item = Result<u8, FormError>>) -> Result<usize, FormError> {
    // Continuation bytes still expected, and the range allowed for the next one.
    let mut pending = 0u8;
    let mut lower = 0x80u8;
    let mut upper = 0xBFu8;
    let mut len = 0usize;
    for byte in bytes {
        let byte = byte?;
        len += 1;
        if pending == 0 {
            match byte {
                0x00..=0x7F => {}
                0xC2..=0xDF => pending = 1,
                0xE0 => (pending, lower) = (2, 0xA0), // no overlong forms
                0xE1..=0xEC | 0xEE..=0xEF => pending = 2,
                0xED => (pending, upper) = (2, 0x9F), // no surrogates
                0xF0 => (pending, lower) = (3, 0x90), // no overlong forms
                0xF1..=0xF3 => pending = 3,
                0xF4 => (pending, upper) = (3, 0x8F), // nothing above U+10FFFF
                _ => return Err(FormError::BadEncoding),
            }
        } else {
            if byte < lower || byte > upper {
                return Err(FormError::BadEncoding);
            }
            (pending, lower, upper) = (pending - 1, 0x80, 0xBF);
        }
    }
    if pending == 0 {
        Ok(len)
    } else {
        Err(FormError::BadEncoding)
    }
}

/// Decodes the raw value `body[start..end]` in place, at its own start (each byte written
/// lands at or before the bytes still to be read); `None` for an empty value (RFC 6749
/// §3.1).
///
/// # Errors
///
/// [`FormError::ValueTooLong`] if the decoded value is longer than `max` bytes,
/// [`FormError::BadEncoding`] for bad percent-encoding or non-UTF-8; whichever comes first in
/// the value.
fn decode_value(
    body: &mut [u8],
    (start, end): (usize, usize),
    max: usize,
) -> Result<Span, FormError> {
    let mut read = start;
    let mut len = 0;
    loop {
        let rest = body.get(read..end).unwrap_or_default();
        let mut decode = Decode::new(rest);
        let Some(byte) = decode.next() else {
            break;
        };
        read += rest.len() - decode.rest.len();
        let byte = byte?;
        if len == max {
            return Err(FormError::ValueTooLong);
        }
        if let Some(slot) = body.get_mut(start + len) {
            *slot = byte;
        }
        len += 1;
    }
    if len == 0 {
        return Ok(None);
    }
    match core::str::from_utf8(body.get(start..start + len).unwrap_or_default()) {
        Ok(_) => Ok(Some((start, len))),
        Err(_) => Err(FormError::BadEncoding),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::{format, string::String as StdString, vec, vec::Vec as StdVec};

    const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    const CLIENT_JWT: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhIn0.c2ln";

    /// Parses a copy of `body` (leaked: the spans outlive this helper; a test's few bytes).
    fn parse(body: &str) -> Result<TokenParams<'static>, FormError> {
        parse_bytes(body.as_bytes())
    }

    fn parse_bytes(body: &[u8]) -> Result<TokenParams<'static>, FormError> {
        TokenParams::parse(StdVec::leak(body.to_vec()))
    }

    fn decode_all(raw: &[u8]) -> Result<StdVec<u8>, FormError> {
        Decode::new(raw).collect()
    }

    #[test]
    fn jwt_bearer_grant() {
        // RFC 7523 §2.1 example, with the assertion shortened.
        let body = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={TOKEN}"
        );
        let p = parse(&body).unwrap();
        assert_eq!(p.grant_type, Some(JWT_BEARER));
        assert_eq!(p.assertion, Some(TOKEN));
        assert_eq!(p.client_assertion_type, None);
        assert_eq!(p.client_assertion, None);
        assert_eq!(p.client_id, None);
        assert!(!p.client_secret_present);
        assert_eq!(p.scope, None);
    }

    #[test]
    fn jwt_bearer_grant_with_scope_and_unencoded_colons() {
        let body = format!("grant_type={JWT_BEARER}&assertion={TOKEN}&scope=openid+email%20read");
        let p = parse(&body).unwrap();
        assert_eq!(p.grant_type, Some(JWT_BEARER));
        assert_eq!(p.scope, Some("openid email read"));
    }

    #[test]
    fn client_assertion_body() {
        // RFC 7523 §2.2 example, with the assertion shortened.
        let body = format!(
            "grant_type=authorization_code&code=n0esc3NRze7LTCu7iYzS6a5acc3f0ogp4\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion={TOKEN}&client_id=s6BhdRkqt3"
        );
        let p = parse(&body).unwrap();
        assert_eq!(p.grant_type, Some("authorization_code"));
        assert_eq!(p.client_assertion_type, Some(CLIENT_JWT));
        assert_eq!(p.client_assertion, Some(TOKEN));
        assert_eq!(p.client_id, Some("s6BhdRkqt3"));
        assert_eq!(p.assertion, None);
        assert!(!p.client_secret_present);
    }

    #[test]
    fn client_secret_presence() {
        let cases: &[(&str, bool)] = &[
            ("client_secret=s3cr%20et", true),
            ("client_secret=", false),
            ("client_secret", false),
            ("grant_type=x", false),
            ("client%5Fsecret=x", true),
        ];
        for &(body, present) in cases {
            let p = parse(body).unwrap();
            assert_eq!(p.client_secret_present, present, "{body}");
        }
        let long = "s".repeat(MAX_FORM_SHORT_VALUE_LEN);
        assert!(
            parse(&format!("client_secret={long}"))
                .unwrap()
                .client_secret_present
        );
        assert_eq!(
            parse(&format!("client_secret={long}s")).unwrap_err(),
            FormError::ValueTooLong
        );
        assert_eq!(
            parse("client_secret=%FF").unwrap_err(),
            FormError::BadEncoding
        );
    }

    #[test]
    fn value_decoding() {
        let cases: &[(&str, &str)] = &[
            ("a+b", "a b"),
            ("+", " "),
            ("a%2Bb", "a+b"),
            ("a%2bb", "a+b"),
            ("%3a%3A", "::"),
            ("%e2%82%ac", "\u{20ac}"),
            ("%E2%82%AC", "\u{20ac}"),
            ("%c3%A9", "\u{e9}"),
            ("\u{e9}", "\u{e9}"),
            ("a%26b%3Dc", "a&b=c"),
            ("a=b=c", "a=b=c"), // split at the first `=` only
            ("%25", "%"),
            ("%2525", "%25"),
            ("%00", "\0"),
            ("%7e~", "~~"),
        ];
        for &(raw, decoded) in cases {
            let p = parse(&format!("scope={raw}")).unwrap();
            assert_eq!(p.scope, Some(decoded), "{raw}");
        }
    }

    #[test]
    fn bad_encoding() {
        let cases: &[&str] = &[
            "scope=%",
            "scope=%4",
            "scope=%G1",
            "scope=%1G",
            "scope=abc%",
            "scope=abc%4",
            "scope=%%41",
            "scope=%+1",
            "scope=%-1",
            "scope=%FF",
            "scope=%C3",          // truncated sequence
            "scope=%C0%80",       // overlong
            "scope=%ED%A0%80",    // surrogate
            "scope=%F4%90%80%80", // above U+10FFFF
            "assertion=%FF",
            "client_assertion=a%E2%82",
            // Unknown values: percent-encoding is checked.
            "unknown=%",
            "unknown=%4",
            "unknown=%G1",
            // Names: percent-encoding and UTF-8 are checked.
            "%=x",
            "%4=x",
            "a%G1=x",
            "%FF=x",
            "%FF",
            "ok=1&bad%=2",
        ];
        for &body in cases {
            assert_eq!(parse(body).unwrap_err(), FormError::BadEncoding, "{body}");
        }
    }

    #[test]
    fn unknown_values_are_not_checked_for_utf8() {
        let p = parse("code=%FF%FE&grant_type=x").unwrap();
        assert_eq!(p.grant_type, Some("x"));
    }

    #[test]
    fn unknown_values_have_no_value_limit() {
        let long = "x".repeat(MAX_FORM_VALUE_LEN * 2);
        let p = parse(&format!("code={long}&grant_type=g")).unwrap();
        assert_eq!(p.grant_type, Some("g"));
    }

    #[test]
    fn repeated_parameters() {
        let cases: &[&str] = &[
            "grant_type=a&grant_type=b",
            "grant_type=a&grant_type=a",
            "assertion=a&assertion=b",
            "client_assertion=a&x=1&client_assertion=b",
            "client_secret=a&client_secret=b",
            "scope=a&scope=",
            "grant_type=&grant_type=x",
            "grant_type&grant_type",
            "foo=1&foo=2",
            "foo&foo",
            "foo=1&bar=2&foo=",
            // Compared after decoding.
            "grant_type=a&grant%5Ftype=b",
            "grant%5ftype=a&grant_type=b",
            "grant%5Ftype=a&grant%5ftype=b",
            "a+b=1&a%20b=2",
            "%66oo=1&f%6Fo=2",
            "%C3%A9=1&\u{e9}=2",
        ];
        for &body in cases {
            assert_eq!(
                parse(body).unwrap_err(),
                FormError::RepeatedParameter,
                "{body}"
            );
        }
    }

    #[test]
    fn resource_may_repeat() {
        // RFC 8707 §2: several target resources; every other name stays unique.
        for (body, count) in [
            ("grant_type=g", 0),
            ("resource=https%3A%2F%2Fa.example", 1),
            ("resource=a&grant_type=g&resource=b", 2),
            ("resource=a&resourc%65=b&resource=a", 3),
        ] {
            assert_eq!(parse(body).unwrap().resources, count, "{body}");
        }
        assert_eq!(
            parse("resource=a&resource=%zz").unwrap_err(),
            FormError::BadEncoding
        );
        let sixteen = vec!["resource=r"; MAX_FORM_PARAMETERS].join("&");
        assert_eq!(parse(&sixteen).unwrap().resources, MAX_FORM_PARAMETERS);
        assert_eq!(
            parse(&format!("{sixteen}&resource=r")).unwrap_err(),
            FormError::TooManyParameters
        );
        assert_eq!(
            parse("resource=a&scope=x&scope=y").unwrap_err(),
            FormError::RepeatedParameter
        );
    }

    #[test]
    fn similar_names_are_distinct() {
        let p = parse(
            "client_assertion=a&client_assertion_type=b&assertion=c&Assertion=d\
             &client_assertion_typ=e&grant_type_=f&grant_typ=g&grant%2Btype=h&grant+type=i",
        )
        .unwrap();
        assert_eq!(p.client_assertion, Some("a"));
        assert_eq!(p.client_assertion_type, Some("b"));
        assert_eq!(p.assertion, Some("c"));
        assert_eq!(p.grant_type, None);
    }

    #[test]
    fn encoded_known_names_are_recognised() {
        let p = parse("grant%5Ftype=x&%61ssertion=y&client_id=%7A").unwrap();
        assert_eq!(p.grant_type, Some("x"));
        assert_eq!(p.assertion, Some("y"));
        assert_eq!(p.client_id, Some("z"));
    }

    #[test]
    fn empty_value_is_absent() {
        let cases: &[&str] = &[
            "grant_type=",
            "grant_type",
            "assertion=&grant_type=",
            "client_assertion_type=&client_assertion=&client_id=&scope=",
            "client_assertion_type&client_assertion&client_id&scope&assertion",
        ];
        for &body in cases {
            let p = parse(body).unwrap();
            assert_eq!(p.grant_type, None, "{body}");
            assert_eq!(p.assertion, None, "{body}");
            assert_eq!(p.client_assertion_type, None, "{body}");
            assert_eq!(p.client_assertion, None, "{body}");
            assert_eq!(p.client_id, None, "{body}");
            assert_eq!(p.scope, None, "{body}");
            assert!(!p.client_secret_present, "{body}");
        }
        // A value that decodes to a space is not empty.
        assert_eq!(parse("scope=+").unwrap().scope, Some(" "));
    }

    #[test]
    fn empty_pieces_are_ignored() {
        let cases: &[&str] = &[
            "grant_type=g&&assertion=a",
            "&grant_type=g&assertion=a",
            "grant_type=g&assertion=a&",
            "&&&grant_type=g&&&&assertion=a&&&",
        ];
        for &body in cases {
            let p = parse(body).unwrap();
            assert_eq!(p.grant_type, Some("g"), "{body}");
            assert_eq!(p.assertion, Some("a"), "{body}");
        }
        for body in ["", "&", "&&&"] {
            let p = parse(body).unwrap();
            assert_eq!(p.grant_type, None);
            assert_eq!(p.assertion, None);
        }
    }

    #[test]
    fn empty_pieces_do_not_count_toward_the_parameter_limit() {
        let body: StdVec<StdString> = (0..MAX_FORM_PARAMETERS)
            .map(|i| format!("p{i}=v"))
            .collect();
        let body = body.join("&&&");
        assert!(parse(&format!("&{body}&")).is_ok());
    }

    #[test]
    fn empty_name() {
        let cases: &[&str] = &["=x", "=", "==", "a=1&=2", "=&a=1", "grant_type=x&=", "&=&"];
        for &body in cases {
            assert_eq!(parse(body).unwrap_err(), FormError::EmptyName, "{body}");
        }
    }

    #[test]
    fn too_many_parameters() {
        let pairs = |n: usize| -> StdString {
            let pairs: StdVec<StdString> = (0..n).map(|i| format!("p{i}=v")).collect();
            pairs.join("&")
        };
        assert!(parse(&pairs(MAX_FORM_PARAMETERS)).is_ok());
        assert_eq!(
            parse(&pairs(MAX_FORM_PARAMETERS + 1)).unwrap_err(),
            FormError::TooManyParameters
        );
        // Known parameters count too, and so do pairs without `=` or value.
        let body = format!(
            "grant_type=g&assertion=a&scope&{}",
            pairs(MAX_FORM_PARAMETERS - 3)
        );
        assert!(parse(&body).is_ok());
        let body = format!(
            "grant_type=g&assertion=a&scope&{}",
            pairs(MAX_FORM_PARAMETERS - 2)
        );
        assert_eq!(parse(&body).unwrap_err(), FormError::TooManyParameters);
    }

    #[test]
    fn body_length_limit() {
        // `assertion=` + 8 KiB, `client_assertion=` + 8 KiB, padding in an unknown value.
        let base = format!(
            "assertion={}&client_assertion={}&pad=",
            "a".repeat(MAX_FORM_VALUE_LEN),
            "c".repeat(MAX_FORM_VALUE_LEN)
        );
        let exact = format!("{base}{}", "p".repeat(MAX_FORM_BODY_LEN - base.len()));
        assert_eq!(exact.len(), MAX_FORM_BODY_LEN);
        let p = parse(&exact).unwrap();
        assert_eq!(p.assertion.unwrap().len(), MAX_FORM_VALUE_LEN);
        assert_eq!(p.client_assertion.unwrap().len(), MAX_FORM_VALUE_LEN);

        let over = format!("{exact}p");
        assert_eq!(parse(&over).unwrap_err(), FormError::BodyTooLong);
    }

    #[test]
    fn body_length_is_checked_first() {
        // Would be EmptyName / BadEncoding if parsed.
        for filler in [b'=', b'%', b'&'] {
            let body = vec![filler; MAX_FORM_BODY_LEN + 1];
            assert_eq!(parse_bytes(&body).unwrap_err(), FormError::BodyTooLong);
        }
        let body = vec![b'&'; MAX_FORM_BODY_LEN];
        assert!(parse_bytes(&body).is_ok());
    }

    #[test]
    fn value_length_limits() {
        let fits = "a".repeat(MAX_FORM_VALUE_LEN);
        let over = "a".repeat(MAX_FORM_VALUE_LEN + 1);
        for name in ["assertion", "client_assertion"] {
            let p = parse(&format!("{name}={fits}")).unwrap();
            let got = if name == "assertion" {
                p.assertion
            } else {
                p.client_assertion
            };
            assert_eq!(got.unwrap().len(), MAX_FORM_VALUE_LEN, "{name}");
            assert_eq!(
                parse(&format!("{name}={over}")).unwrap_err(),
                FormError::ValueTooLong,
                "{name}"
            );
        }

        let fits = "s".repeat(MAX_FORM_SHORT_VALUE_LEN);
        let over = "s".repeat(MAX_FORM_SHORT_VALUE_LEN + 1);
        for name in [
            "grant_type",
            "client_assertion_type",
            "client_id",
            "client_secret",
            "scope",
        ] {
            assert!(parse(&format!("{name}={fits}")).is_ok(), "{name}");
            assert_eq!(
                parse(&format!("{name}={over}")).unwrap_err(),
                FormError::ValueTooLong,
                "{name}"
            );
        }
    }

    #[test]
    fn value_length_is_measured_decoded() {
        // Each `%61` is three body bytes but one value byte.
        let fits = "%61".repeat(MAX_FORM_SHORT_VALUE_LEN);
        let p = parse(&format!("scope={fits}")).unwrap();
        assert_eq!(p.scope.unwrap().len(), MAX_FORM_SHORT_VALUE_LEN);
        let over = "%61".repeat(MAX_FORM_SHORT_VALUE_LEN + 1);
        assert_eq!(
            parse(&format!("scope={over}")).unwrap_err(),
            FormError::ValueTooLong
        );
        // A multi-byte character counts by its UTF-8 length.
        let over = "\u{e9}".repeat(MAX_FORM_SHORT_VALUE_LEN / 2 + 1);
        assert_eq!(
            parse(&format!("scope={over}")).unwrap_err(),
            FormError::ValueTooLong
        );
    }

    #[test]
    fn values_are_decoded_in_place_and_borrow_the_body() {
        let mut body = *b"client_id=a%2Bb&grant_type=g&scope=x+y%21&code=%41";
        let range = body.as_ptr_range();
        let p = TokenParams::parse(&mut body).unwrap();
        assert_eq!(p.client_id, Some("a+b"));
        assert_eq!(p.grant_type, Some("g"));
        assert_eq!(p.scope, Some("x y!"));
        for value in [p.client_id, p.grant_type, p.scope].into_iter().flatten() {
            assert!(range.contains(&value.as_ptr()), "{value}");
        }
        // Recognised values are decoded at their own start; names and other values stay.
        assert_eq!(
            &body[..],
            b"client_id=a+bBb&grant_type=g&scope=x y!21&code=%41"
        );
        assert_eq!(
            core::mem::size_of::<TokenParams<'_>>(),
            6 * core::mem::size_of::<Option<&str>>() + 2 * core::mem::size_of::<usize>()
        );
    }

    #[test]
    fn decoder() {
        assert_eq!(decode_all(b"").unwrap(), b"");
        assert_eq!(decode_all(b"abc").unwrap(), b"abc");
        assert_eq!(decode_all(b"a+b%20c").unwrap(), b"a b c");
        assert_eq!(decode_all(b"%ff%FF%fF").unwrap(), [0xFF; 3]);
        assert_eq!(decode_all(b"%").unwrap_err(), FormError::BadEncoding);
        // The error ends the iteration.
        let mut d = Decode::new(b"a%zzb");
        assert_eq!(d.next(), Some(Ok(b'a')));
        assert_eq!(d.next(), Some(Err(FormError::BadEncoding)));
        assert_eq!(d.next(), None);
        // Every byte after `%`.
        for hi in 0..=255u8 {
            for lo in [b'0', b'a', b'F', b'g', b' ', 0xFF] {
                let raw = [b'%', hi, lo];
                let expected = match (char::from(hi).to_digit(16), char::from(lo).to_digit(16)) {
                    (Some(h), Some(l)) if hi.is_ascii() => {
                        Ok(vec![u8::try_from(h * 16 + l).unwrap()])
                    }
                    _ => Err(FormError::BadEncoding),
                };
                assert_eq!(decode_all(&raw), expected, "{raw:?}");
            }
        }
    }

    #[test]
    fn decoded_equality() {
        assert!(decoded_eq(b"", b""));
        assert!(decoded_eq(b"abc", b"%61b%63"));
        assert!(decoded_eq(b"a b", b"a+b"));
        assert!(decoded_eq(b"a+b", b"a%20b"));
        assert!(!decoded_eq(b"a+b", b"a%2Bb"));
        assert!(!decoded_eq(b"ab", b"abc"));
        assert!(!decoded_eq(b"abc", b"ab"));
        assert!(!decoded_eq(b"%", b"%"));
    }

    fn utf8_agrees(bytes: &[u8]) {
        let ours = validate_utf8(bytes.iter().copied().map(Ok));
        match core::str::from_utf8(bytes) {
            Ok(_) => assert_eq!(ours, Ok(bytes.len()), "{bytes:02X?}"),
            Err(_) => assert_eq!(ours, Err(FormError::BadEncoding), "{bytes:02X?}"),
        }
    }

    #[test]
    fn utf8_validator_agrees_with_core() {
        const EDGES: [u8; 12] = [
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xFF,
        ];
        for a in 0..=255u8 {
            utf8_agrees(&[a]);
            for b in 0..=255u8 {
                utf8_agrees(&[a, b]);
                if a >= 0xC0 {
                    for c in EDGES {
                        utf8_agrees(&[a, b, c]);
                        if a >= 0xF0 {
                            for d in EDGES {
                                utf8_agrees(&[a, b, c, d]);
                            }
                        }
                    }
                }
            }
        }
        utf8_agrees("h\u{e9}llo \u{20ac} \u{10FFFF} \u{1F600}".as_bytes());
        assert_eq!(
            validate_utf8(Decode::new(b"ok%")),
            Err(FormError::BadEncoding)
        );
    }

    #[test]
    fn field_classification() {
        let cases: &[(&[u8], Field)] = &[
            (b"grant_type", Field::GrantType),
            (b"grant%5Ftype", Field::GrantType),
            (b"assertion", Field::Assertion),
            (b"client_assertion_type", Field::ClientAssertionType),
            (b"client_assertion", Field::ClientAssertion),
            (b"client_id", Field::ClientId),
            (b"client_secret", Field::ClientSecret),
            (b"scope", Field::Scope),
            (b"resource", Field::Resource),
            (b"resourc%65", Field::Resource),
            (b"resources", Field::Unknown),
            (b"SCOPE", Field::Unknown),
            (b"scope ", Field::Unknown),
            (b"scope+", Field::Unknown),
            (b"code", Field::Unknown),
        ];
        for &(name, field) in cases {
            assert_eq!(Field::of(name), field, "{name:?}");
        }
    }
}
