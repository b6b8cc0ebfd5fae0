//! The registered claims of a JWT (RFC 7519 §4.1), read as spans over the verified payload.
//!
//! Only `iss`, `sub`, `aud`, `exp`, `nbf`, `iat` and `jti` are read; every other claim, of
//! any shape, is validated as JSON and skipped. Duplicate claim names are refused (RFC 7519 §4:
//! "MUST either reject … or use a JSON parser that returns only the lexically last"; we reject).
//! String values stay where they are in the payload ([`ClaimStr`]): nothing is copied, and
//! escapes are decoded on demand, before any comparison, so `"https:\/\/as.example"` equals
//! `https://as.example`.
//!
//! ## NumericDate policy (RFC 7519 §2)
//! A NumericDate must be a JSON number (a numeric *string* is [`Error::InvalidClaim`]). It may
//! have a fraction and an exponent (`1.7e9`), and is read exactly, without floating point.
//! Refused as [`Error::InvalidClaim`]: negative values (including `-0`), and values above
//! [`MAX_NUMERIC_DATE`] = 2^53 − 1 (I-JSON, RFC 7493 §2.2: larger integers are not exact in
//! most JSON implementations). Fractions are kept exactly: comparisons with the integral `now`
//! round in the strict direction (see [`NumericDate::ceil`]), and a lifetime `exp − iat` is
//! computed exactly ([`NumericDate::ceil_seconds_since`]).

use core::fmt::{self, Write as _};

use crate::error::{Claim, Error, Limit, Malformed, Part};
use crate::json::{self, ArrayElements, ArraySpan, JsonStr, Value};
use crate::jws::json_error;

/// Longest `iss`, `sub`, `jti` or `aud` value accepted, in bytes (decoded).
pub const MAX_CLAIM_STRING_LEN: usize = 256;

/// Most values in an `aud` array.
pub const MAX_AUDIENCE_VALUES: usize = 16;

/// Largest NumericDate accepted: 2^53 − 1 (year 285,428,751).
pub const MAX_NUMERIC_DATE: u64 = (1 << 53) - 1;

/// Room for one decoded claim string ([`ClaimStr::decode`]).
pub type ClaimString = heapless::String<MAX_CLAIM_STRING_LEN>;

/// A NumericDate (RFC 7519 §2): whole seconds since the epoch and the fraction that follows,
/// kept exactly to 38 decimal places (every fraction a 32-byte number can carry after a
/// non-zero whole part; only pure fractions below 10^-7 written with an exponent can have
/// more, and for them a marker records that more digits followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NumericDate {
    seconds: u64,
    /// The fraction × 10^38, truncated.
    fraction: u128,
    /// Digits beyond the 38th decimal place were dropped (the value is a little more).
    inexact: bool,
}

/// The scale of [`NumericDate`]'s fraction: 10^38 (below 2^127).
const FRACTION_SCALE_DIGITS: u32 = 38;

impl NumericDate {
    /// A whole-second date.
    pub const fn from_seconds(seconds: u64) -> Self {
        Self {
            seconds,
            fraction: 0,
            inexact: false,
        }
    }

    /// `self − earlier` in seconds, exactly, rounded up; 0 when `earlier` is not before it.
    /// For an integral maximum m, `self − earlier > m` ⇔ `ceil_seconds_since(earlier) > m`, so
    /// a lifetime `exp − iat` compared with it is exact: `exp` rounded up and `iat` rounded
    /// down separately could make it up to 2 s too long.
    pub fn ceil_seconds_since(self, earlier: NumericDate) -> u64 {
        let whole = i128::from(self.seconds) - i128::from(earlier.seconds);
        // Equal truncated fractions with digits dropped from both cannot be ordered: count the
        // difference as a little more (the strict direction for a lifetime).
        let more = (self.fraction, self.inexact) > (earlier.fraction, earlier.inexact)
            || (self.fraction == earlier.fraction && self.inexact && earlier.inexact);
        u64::try_from((whole + i128::from(more)).max(0)).unwrap_or(u64::MAX)
    }

    /// The value rounded down.
    pub const fn floor(self) -> u64 {
        self.seconds
    }

    /// The value rounded up. For an integral `now`, `now < exp` ⇔ `now < ceil(exp)` and
    /// `nbf <= now` ⇔ `ceil(nbf) <= now`, so the checks on `exp`, `nbf` and `iat` stay exact.
    pub const fn ceil(self) -> u64 {
        self.seconds + self.is_fractional() as u64
    }

    /// True when the value had a non-zero fractional part.
    pub const fn is_fractional(self) -> bool {
        self.fraction != 0 || self.inexact
    }

    /// Reads a JSON number's text (already grammar-checked) under the policy above.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.first() == Some(&b'-') {
            return None;
        }
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(i) => (text.get(..i)?, parse_exponent(text.get(i + 1..)?)?),
            None => (text, 0i64),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (mantissa.get(..i)?, mantissa.get(i + 1..)?),
            None => (mantissa, ""),
        };
        // All digits as one integer: at most MAX_NUMBER_LEN (32) digits < 10^32 < 2^128.
        let mut digits: u128 = 0;
        for d in int_part.bytes().chain(frac_part.bytes()) {
            digits = digits
                .checked_mul(10)?
                .checked_add(u128::from(d.checked_sub(b'0')?))?;
        }
        let scale = exponent - i64::try_from(frac_part.len()).ok()?;
        let (seconds, fraction, inexact) = if digits == 0 {
            (0, 0, false)
        } else if scale >= 0 {
            let factor = 10u128.checked_pow(u32::try_from(scale).ok()?)?;
            (digits.checked_mul(factor)?, 0, false)
        } else {
            let places = u32::try_from(-scale).ok()?;
            match 10u128.checked_pow(places) {
                // places <= 38 here (10^39 exceeds every u128): the remainder scales exactly.
                Some(divisor) => {
                    let widen = 10u128.checked_pow(FRACTION_SCALE_DIGITS.checked_sub(places)?)?;
                    (
                        digits / divisor,
                        (digits % divisor).checked_mul(widen)?,
                        false,
                    )
                }
                // A pure fraction below 10^-7 (digits < 10^32): its first 38 places, and
                // whether anything followed.
                None => {
                    let drop = places - FRACTION_SCALE_DIGITS;
                    match 10u128.checked_pow(drop) {
                        Some(divisor) => (0, digits / divisor, digits % divisor != 0),
                        None => (0, 0, true),
                    }
                }
            }
        };
        let seconds = u64::try_from(seconds).ok()?;
        let date = Self {
            seconds,
            fraction,
            inexact,
        };
        if seconds > MAX_NUMERIC_DATE || (seconds == MAX_NUMERIC_DATE && date.is_fractional()) {
            return None;
        }
        Some(date)
    }
}

fn parse_exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, text.get(1..)?),
        b'+' => (false, text.get(1..)?),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for d in digits.bytes() {
        // Saturate: any exponent past 10^6 is far outside the accepted range either way.
        value = (value * 10 + i64::from(d.checked_sub(b'0')?)).min(1_000_000);
    }
    Some(if negative { -value } else { value })
}

/// A string value of the token: a claim (a span over the payload) or a header parameter (a
/// span over the header), its JSON escapes (RFC 8259 §7) still in place and decoded on
/// demand, so reading it copies nothing.
///
/// Comparisons are exact and made on the decoded text (RFC 7519 §4.1: the values are
/// case-sensitive strings), so `"https:\/\/as.example"` equals `https://as.example`. Its decoded
/// length was checked when it was read: at most [`MAX_CLAIM_STRING_LEN`] bytes for a claim, so
/// [`decode`](Self::decode) always fits a [`ClaimString`], and at most
/// [`MAX_HEADER_STRING_LEN`](crate::jws::MAX_HEADER_STRING_LEN) for a header parameter (a
/// [`HeaderString`](crate::jws::HeaderString)).
#[derive(Clone, Copy)]
pub struct ClaimStr<'b> {
    raw: JsonStr<'b>,
}

impl<'b> ClaimStr<'b> {
    /// The empty string.
    const EMPTY: ClaimStr<'static> = ClaimStr {
        raw: JsonStr::EMPTY,
    };

    /// A validated string whose decoded length the caller checked against its limit.
    pub(crate) const fn new(raw: JsonStr<'b>) -> Self {
        Self { raw }
    }

    /// The text itself when it has no escape (the common case): then nothing needs decoding.
    pub fn as_str(&self) -> Option<&'b str> {
        self.raw.unescaped_str()
    }

    /// The decoded characters.
    pub fn chars(&self) -> impl Iterator<Item = char> + 'b {
        self.raw.chars()
    }

    /// The decoded length, in bytes.
    pub fn len(&self) -> usize {
        self.raw.decoded_len()
    }

    /// True for the empty string (never a registered claim's value: those are refused).
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The decoded text: the span itself when it has no escape, else decoded into `out`
    /// (a [`ClaimString`] for a claim, a [`HeaderString`](crate::jws::HeaderString) for a
    /// header parameter: the length was checked against that limit when it was read; into a
    /// smaller buffer the text is cut short).
    pub fn decode<'o, const N: usize>(&self, out: &'o mut heapless::String<N>) -> &'o str
    where
        'b: 'o,
    {
        if let Some(text) = self.as_str() {
            return text;
        }
        out.clear();
        for c in self.chars() {
            if out.push(c).is_err() {
                break;
            }
        }
        out.as_str()
    }
}

impl PartialEq for ClaimStr<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.raw.eq(&other.raw)
    }
}

impl Eq for ClaimStr<'_> {}

impl PartialEq<str> for ClaimStr<'_> {
    fn eq(&self, other: &str) -> bool {
        self.raw.eq_str(other)
    }
}

impl PartialEq<&str> for ClaimStr<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.raw.eq_str(other)
    }
}

impl PartialEq<ClaimStr<'_>> for str {
    fn eq(&self, other: &ClaimStr<'_>) -> bool {
        other.raw.eq_str(self)
    }
}

impl PartialEq<ClaimStr<'_>> for &str {
    fn eq(&self, other: &ClaimStr<'_>) -> bool {
        other.raw.eq_str(self)
    }
}

impl fmt::Display for ClaimStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(text) => f.write_str(text),
            None => self.chars().try_for_each(|c| f.write_char(c)),
        }
    }
}

impl fmt::Debug for ClaimStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.chars() {
            for e in c.escape_debug() {
                f.write_char(e)?;
            }
        }
        f.write_char('"')
    }
}

/// The `aud` claim: one string or an array of strings (RFC 7519 §4.1.3), as a span over the
/// verified payload. Every value was checked to be a string of at most
/// [`MAX_CLAIM_STRING_LEN`] bytes, and there are at most [`MAX_AUDIENCE_VALUES`].
#[derive(Clone, Copy, Debug)]
pub struct Audience<'b> {
    values: AudienceSpan<'b>,
    len: usize,
}

#[derive(Clone, Copy, Debug)]
enum AudienceSpan<'b> {
    One(JsonStr<'b>),
    Array(ArraySpan<'b>),
}

impl<'b> Audience<'b> {
    /// The values, in order.
    pub fn iter(&self) -> AudienceValues<'b> {
        AudienceValues {
            inner: match self.values {
                AudienceSpan::One(value) => AudienceValuesInner::One(Some(value)),
                AudienceSpan::Array(array) => AudienceValuesInner::Array(array.elements()),
            },
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no values (`"aud": []`).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when the claim was a JSON array (even of one value).
    pub const fn is_array(&self) -> bool {
        matches!(self.values, AudienceSpan::Array(_))
    }

    /// True when any value equals `expected` exactly (RFC 7519 §4.1.3: case-sensitive).
    pub fn contains(&self, expected: &str) -> bool {
        self.iter().any(|v| v == expected)
    }

    /// The single value, when there is exactly one (as a string or a one-element array).
    pub fn sole_value(&self) -> Option<ClaimStr<'b>> {
        match self.len {
            1 => self.iter().next(),
            _ => None,
        }
    }
}

impl PartialEq for Audience<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.is_array() == other.is_array() && self.iter().eq(other.iter())
    }
}

impl Eq for Audience<'_> {}

impl<'b> IntoIterator for &Audience<'b> {
    type Item = ClaimStr<'b>;
    type IntoIter = AudienceValues<'b>;

    fn into_iter(self) -> AudienceValues<'b> {
        self.iter()
    }
}

/// The values of an [`Audience`], in order.
#[derive(Debug)]
pub struct AudienceValues<'b> {
    inner: AudienceValuesInner<'b>,
}

#[derive(Debug)]
enum AudienceValuesInner<'b> {
    One(Option<JsonStr<'b>>),
    Array(ArrayElements<'b>),
}

impl<'b> Iterator for AudienceValues<'b> {
    type Item = ClaimStr<'b>;

    fn next(&mut self) -> Option<ClaimStr<'b>> {
        let raw = match &mut self.inner {
            AudienceValuesInner::One(value) => value.take()?,
            // Every element was checked to be a string when the claims were read.
            AudienceValuesInner::Array(elements) => match elements.next()? {
                Ok(Value::String(raw)) => raw,
                _ => return None,
            },
        };
        Some(ClaimStr { raw })
    }
}

/// The registered claims of a verified assertion: spans over its payload (nothing copied),
/// read by [`VerifiedAssertion::claims`](crate::VerifiedAssertion::claims).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Claims<'b> {
    iss: Option<ClaimStr<'b>>,
    sub: Option<ClaimStr<'b>>,
    aud: Option<Audience<'b>>,
    exp: Option<NumericDate>,
    nbf: Option<NumericDate>,
    iat: Option<NumericDate>,
    jti: Option<ClaimStr<'b>>,
}

impl<'b> Claims<'b> {
    /// `iss` (RFC 7519 §4.1.1).
    pub fn iss(&self) -> Option<ClaimStr<'b>> {
        self.iss
    }
    /// `sub` (RFC 7519 §4.1.2).
    pub fn sub(&self) -> Option<ClaimStr<'b>> {
        self.sub
    }
    /// `aud` (RFC 7519 §4.1.3).
    pub fn aud(&self) -> Option<&Audience<'b>> {
        self.aud.as_ref()
    }
    /// `exp` (RFC 7519 §4.1.4).
    pub fn exp(&self) -> Option<NumericDate> {
        self.exp
    }
    /// `nbf` (RFC 7519 §4.1.5).
    pub fn nbf(&self) -> Option<NumericDate> {
        self.nbf
    }
    /// `iat` (RFC 7519 §4.1.6).
    pub fn iat(&self) -> Option<NumericDate> {
        self.iat
    }
    /// `jti` (RFC 7519 §4.1.7).
    pub fn jti(&self) -> Option<ClaimStr<'b>> {
        self.jti
    }

    /// Reads the claims set (RFC 7519 §7.2 step 10: UTF-8, a JSON object).
    pub(crate) fn parse(payload: &'b [u8]) -> Result<Self, Error> {
        if core::str::from_utf8(payload).is_err() {
            return Err(Error::Malformed(Malformed::Utf8(Part::Payload)));
        }
        let object = json::parse_object(payload).map_err(|e| json_error(e, Part::Payload))?;
        let mut claims = Claims::default();
        for (name, value) in object.members() {
            let Some(claim) = registered(name) else {
                continue;
            };
            match claim {
                Claim::Iss => claims.iss = Some(claim_string(claim, *value)?),
                Claim::Sub => claims.sub = Some(claim_string(claim, *value)?),
                Claim::Jti => claims.jti = Some(claim_string(claim, *value)?),
                Claim::Aud => claims.aud = Some(audience(*value)?),
                Claim::Exp => claims.exp = Some(numeric_date(claim, *value)?),
                Claim::Nbf => claims.nbf = Some(numeric_date(claim, *value)?),
                Claim::Iat => claims.iat = Some(numeric_date(claim, *value)?),
                // `registered` finds only the seven above.
                #[cfg(feature = "claim-conditions")]
                Claim::Other(_) => {}
            }
        }
        Ok(claims)
    }
}

impl Default for ClaimStr<'_> {
    fn default() -> Self {
        ClaimStr::EMPTY
    }
}

/// Reads only `iss` from an unverified payload, for key selection.
pub(crate) fn issuer_hint(payload: &[u8]) -> Result<ClaimStr<'_>, Error> {
    if core::str::from_utf8(payload).is_err() {
        return Err(Error::Malformed(Malformed::Utf8(Part::Payload)));
    }
    let object = json::parse_object(payload).map_err(|e| json_error(e, Part::Payload))?;
    match object.get("iss") {
        None => Err(Error::MissingClaim(Claim::Iss)),
        Some(value) => claim_string(Claim::Iss, value),
    }
}

/// The registered claim a member name is, if any. By name, then a `match`: a `Claim` can hold a
/// condition's name (31 bytes), so an array of them, built per member or kept as a table, would
/// cost stack and instructions per member of every claims set, or read-only data.
fn registered(name: &JsonStr<'_>) -> Option<Claim> {
    let index = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]
        .iter()
        .position(|text| name.eq_str(text))?;
    Some(match index {
        0 => Claim::Iss,
        1 => Claim::Sub,
        2 => Claim::Aud,
        3 => Claim::Exp,
        4 => Claim::Nbf,
        5 => Claim::Iat,
        _ => Claim::Jti,
    })
}

fn claim_string(claim: Claim, value: Value<'_>) -> Result<ClaimStr<'_>, Error> {
    let Value::String(s) = value else {
        return Err(Error::InvalidClaim(claim));
    };
    if s.is_empty() {
        return Err(Error::InvalidClaim(claim));
    }
    checked_length(s)
}

/// A string value within [`MAX_CLAIM_STRING_LEN`] once decoded.
fn checked_length(raw: JsonStr<'_>) -> Result<ClaimStr<'_>, Error> {
    if raw.decoded_len() > MAX_CLAIM_STRING_LEN {
        return Err(Error::TooLarge(Limit::StringLength));
    }
    Ok(ClaimStr { raw })
}

/// Checks every value (each a string within [`MAX_CLAIM_STRING_LEN`], at most
/// [`MAX_AUDIENCE_VALUES`] of them, the first failure in input order reported) and keeps the
/// span.
fn audience(value: Value<'_>) -> Result<Audience<'_>, Error> {
    match value {
        Value::String(s) => {
            checked_length(s)?;
            Ok(Audience {
                values: AudienceSpan::One(s),
                len: 1,
            })
        }
        Value::Array(items) => {
            let mut len = 0;
            for item in items.elements() {
                match item.map_err(|e| json_error(e, Part::Payload))? {
                    Value::String(s) => {
                        checked_length(s)?;
                        if len == MAX_AUDIENCE_VALUES {
                            return Err(Error::TooLarge(Limit::AudienceValues));
                        }
                        len += 1;
                    }
                    _ => return Err(Error::InvalidClaim(Claim::Aud)),
                }
            }
            Ok(Audience {
                values: AudienceSpan::Array(items),
                len,
            })
        }
        _ => Err(Error::InvalidClaim(Claim::Aud)),
    }
}

fn numeric_date(claim: Claim, value: Value<'_>) -> Result<NumericDate, Error> {
    match value {
        Value::Number(text) => NumericDate::parse(text).ok_or(Error::InvalidClaim(claim)),
        _ => Err(Error::InvalidClaim(claim)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Option<(u64, bool)> {
        NumericDate::parse(text).map(|d| (d.floor(), d.is_fractional()))
    }

    #[test]
    fn numeric_date_policy() {
        assert_eq!(date("0"), Some((0, false)));
        assert_eq!(date("1700000000"), Some((1_700_000_000, false)));
        assert_eq!(date("1700000000.5"), Some((1_700_000_000, true)));
        assert_eq!(date("1700000000.000"), Some((1_700_000_000, false)));
        assert_eq!(date("1.7e9"), Some((1_700_000_000, false)));
        assert_eq!(date("1.7E+9"), Some((1_700_000_000, false)));
        assert_eq!(date("17000000000e-1"), Some((1_700_000_000, false)));
        assert_eq!(date("17000000005e-1"), Some((1_700_000_000, true)));
        assert_eq!(date("1e-400"), Some((0, true)));
        assert_eq!(date("0e999999999"), Some((0, false)));
        assert_eq!(date("0.0"), Some((0, false)));
        // Negative values are refused, -0 included.
        assert_eq!(date("-1"), None);
        assert_eq!(date("-0"), None);
        assert_eq!(date("-0.5"), None);
        // 2^53 - 1 is the largest accepted; beyond it, refused.
        assert_eq!(date("9007199254740991"), Some((MAX_NUMERIC_DATE, false)));
        assert_eq!(date("9007199254740991.5"), None);
        assert_eq!(date("9007199254740992"), None);
        assert_eq!(date("1e16"), None);
        assert_eq!(date("1e999999999999999999"), None);
        assert_eq!(date("99999999999999999999999999999999"), None);
    }

    #[test]
    fn ceil_and_floor() {
        let d = NumericDate::parse("10.2").unwrap();
        assert_eq!((d.floor(), d.ceil()), (10, 11));
        let d = NumericDate::parse("10").unwrap();
        assert_eq!((d.floor(), d.ceil()), (10, 10));
    }

    fn claims(json: &str) -> Result<Claims<'_>, Error> {
        Claims::parse(json.as_bytes())
    }

    /// A claim's decoded text.
    fn text(value: Option<ClaimStr<'_>>) -> Option<String> {
        value.map(|v| v.to_string())
    }

    #[test]
    fn reads_registered_claims_and_skips_the_rest() {
        let c = claims(
            r#"{"iss":"https:\/\/client.example","sub":"c\u00e9","aud":["a","b"],"exp":1e3,"nbf":1,"iat":2.5,"jti":"j",
                "cnf":{"jwk":{"kty":"RSA","n":[1,{"x":null}]}},"scope":["a",{"b":[true]}],"x":null}"#,
        )
        .unwrap();
        assert_eq!(text(c.iss()).as_deref(), Some("https://client.example"));
        assert_eq!(text(c.sub()).as_deref(), Some("c\u{e9}"));
        assert_eq!(c.aud().unwrap().iter().collect::<Vec<_>>(), ["a", "b"]);
        // Spans, not copies: an escaped value has no plain text, a plain one is its own.
        assert_eq!(c.iss().unwrap().as_str(), None);
        assert_eq!(c.iss().unwrap().len(), "https://client.example".len());
        assert_eq!(c.jti().unwrap().as_str(), Some("j"));
        let mut out = ClaimString::new();
        assert_eq!(c.sub().unwrap().decode(&mut out), "c\u{e9}");
        assert_eq!(
            format!("{:?}", c.iss().unwrap()),
            r#""https://client.example""#
        );
        assert!(c.aud().unwrap().is_array());
        assert_eq!(c.exp(), Some(NumericDate::from_seconds(1000)));
        assert_eq!(c.iat().unwrap().ceil(), 3);
        assert_eq!(text(c.jti()).as_deref(), Some("j"));
    }

    #[test]
    fn spans_compare_and_display_decoded() {
        let c = claims(
            r#"{"iss":"https:\/\/as.example","sub":"https://as.example","aud":["x","https:\/\/as.example"],"jti":"\ud83d\ude00"}"#,
        )
        .unwrap();
        let (iss, sub) = (c.iss().unwrap(), c.sub().unwrap());
        // Escaped and plain spellings of one string are equal, both ways and to a `str`.
        assert_eq!(iss, sub);
        assert_eq!(sub, iss);
        assert!(iss == "https://as.example");
        assert!("https://as.example" == iss);
        assert!(iss != "https://as.example/" && iss != "https:\\/\\/as.example");
        assert_eq!(
            (iss.as_str(), sub.as_str()),
            (None, Some("https://as.example"))
        );
        assert_eq!(iss.to_string(), "https://as.example");
        assert_eq!(iss.chars().count(), "https://as.example".len());
        let jti = c.jti().unwrap();
        assert_eq!((jti.len(), jti.to_string().as_str()), (4, "\u{1F600}"));
        let aud = c.aud().unwrap();
        assert!(aud.contains("https://as.example") && !aud.contains("https:\\/\\/as.example"));
        assert_eq!(aud.iter().collect::<Vec<_>>(), ["x", "https://as.example"]);
        assert_eq!(aud.sole_value(), None);
        let one = claims(r#"{"aud":"https:\/\/as.example"}"#).unwrap();
        let one = one.aud().unwrap();
        assert!(!one.is_array() && one.sole_value().is_some_and(|v| v == iss));
        // Into a buffer too small, the text is cut short (never for a checked claim).
        let mut short = heapless::String::<5>::new();
        assert_eq!(iss.decode(&mut short), "https");
    }

    #[test]
    fn claim_type_errors() {
        for (json, claim) in [
            (r#"{"iss":123}"#, Claim::Iss),
            (r#"{"iss":["client-id"]}"#, Claim::Iss),
            (r#"{"iss":""}"#, Claim::Iss),
            (r#"{"sub":{"a":1}}"#, Claim::Sub),
            (r#"{"jti":7}"#, Claim::Jti),
            (r#"{"aud":1}"#, Claim::Aud),
            (r#"{"aud":["a",1]}"#, Claim::Aud),
            (r#"{"aud":null}"#, Claim::Aud),
            (r#"{"exp":"1700000000"}"#, Claim::Exp),
            (r#"{"exp":null}"#, Claim::Exp),
            (r#"{"nbf":true}"#, Claim::Nbf),
            (r#"{"iat":-5}"#, Claim::Iat),
        ] {
            assert_eq!(claims(json), Err(Error::InvalidClaim(claim)), "{json}");
        }
        assert_eq!(
            claims(r#"{"exp":1,"e\u0078p":2}"#),
            Err(Error::Malformed(Malformed::DuplicateMember(Part::Payload)))
        );
        assert_eq!(
            claims("[\"client-id\"]"),
            Err(Error::Malformed(Malformed::NotAnObject(Part::Payload)))
        );
        assert_eq!(
            Claims::parse(b"{\"iss\":\"\xC0\xAF\"}"),
            Err(Error::Malformed(Malformed::Utf8(Part::Payload)))
        );
    }

    #[test]
    fn string_claim_length_limit_is_exact() {
        let at = "s".repeat(MAX_CLAIM_STRING_LEN);
        let over = "s".repeat(MAX_CLAIM_STRING_LEN + 1);
        let json = format!(r#"{{"sub":"{at}"}}"#);
        assert_eq!(text(claims(&json).unwrap().sub()), Some(at.clone()));
        assert_eq!(
            claims(&format!(r#"{{"sub":"{over}"}}"#)),
            Err(Error::TooLarge(Limit::StringLength))
        );
        // The limit applies to the decoded form: 256 escaped characters fit.
        let escaped = "\\u0073".repeat(MAX_CLAIM_STRING_LEN);
        let json = format!(r#"{{"sub":"{escaped}"}}"#);
        let sub = claims(&json).unwrap().sub().unwrap();
        let mut out = ClaimString::new();
        assert_eq!(sub.decode(&mut out), at);
        let escaped_over = "\\u0073".repeat(MAX_CLAIM_STRING_LEN + 1);
        assert_eq!(
            claims(&format!(r#"{{"sub":"{escaped_over}"}}"#)),
            Err(Error::TooLarge(Limit::StringLength))
        );
        // And to every value of `aud`.
        assert!(claims(&format!(r#"{{"aud":["a","{at}"]}}"#)).is_ok());
        assert_eq!(
            claims(&format!(r#"{{"aud":["a","{over}"]}}"#)),
            Err(Error::TooLarge(Limit::StringLength))
        );
    }

    #[test]
    fn audience_count_limit_is_exact() {
        let list = |n: usize| {
            let items: Vec<String> = (0..n).map(|i| format!("\"a{i}\"")).collect();
            format!(r#"{{"aud":[{}]}}"#, items.join(","))
        };
        assert_eq!(
            claims(&list(MAX_AUDIENCE_VALUES))
                .unwrap()
                .aud()
                .unwrap()
                .len(),
            MAX_AUDIENCE_VALUES
        );
        assert_eq!(
            claims(&list(MAX_AUDIENCE_VALUES + 1)),
            Err(Error::TooLarge(Limit::AudienceValues))
        );
    }
}
