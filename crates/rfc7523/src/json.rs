//! A strict, non-allocating JSON reader (RFC 8259) for JOSE headers, claims sets and JWKs.
//!
//! Why not a general deserializer: RFC 7515 §5.2 and RFC 7519 §4 ask us to reject duplicate
//! member names, including names we do not know; unknown members of any shape must be
//! skipped without recursion and within a depth bound; `\u` escapes with surrogate pairs must
//! decode exactly before names and values are compared; and numbers must be read exactly.
//! This reader does all four in one pass over a byte slice, with no heap and no recursion.
//!
//! The reader works in two steps. [`parse_object`] validates a whole top-level object
//! (syntax, depth, member count, duplicates) and returns its members as borrowed spans;
//! callers then read the members they know. Strings stay escaped in the input and are
//! decoded on demand ([`JsonStr`]), so nothing is copied until a caller asks for a value.

use core::str;

/// Deepest nesting of objects and arrays accepted, the top-level object counting as 1.
///
/// Deeper input is refused with [`Limit::JsonDepth`](crate::Limit::JsonDepth) before it is
/// read further. Registered claims need depth 2 (`aud` arrays); 16 leaves room for
/// structured extension claims such as `cnf` or `authorization_details`.
pub const MAX_JSON_DEPTH: usize = 16;

/// Most members accepted in one top-level object (header, claims set or JWK).
pub const MAX_JSON_MEMBERS: usize = 64;

/// Longest JSON number text accepted, in bytes.
pub const MAX_NUMBER_LEN: usize = 32;

/// Why JSON was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not RFC 8259 JSON (includes invalid escapes and lone surrogates).
    Syntax,
    /// Valid JSON, but the top-level value is not an object.
    NotAnObject,
    /// [`MAX_JSON_DEPTH`] exceeded.
    Depth,
    /// [`MAX_JSON_MEMBERS`] exceeded.
    Members,
    /// [`MAX_NUMBER_LEN`] exceeded.
    NumberLength,
    /// A member name appears twice in the top-level object.
    Duplicate,
}

/// The contents of a JSON string (between the quotes), still escaped, already validated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JsonStr<'a> {
    raw: &'a [u8],
}

/// A validated JSON value, borrowed from the input.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value<'a> {
    String(JsonStr<'a>),
    /// The number's text, grammar-checked.
    Number(&'a str),
    Bool(#[cfg_attr(not(feature = "alloc"), allow(dead_code))] bool),
    Null,
    /// The whole object text, braces included (validated; parse it again with
    /// [`parse_object`] to read its members).
    Object(&'a [u8]),
    /// The whole array text, brackets included, and its nesting depth.
    Array(ArraySpan<'a>),
}

/// An array validated as part of an object, to be iterated later.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArraySpan<'a> {
    text: &'a [u8],
    depth: usize,
}

/// A validated top-level object: its members in input order, names unique.
#[derive(Debug)]
pub(crate) struct Object<'a> {
    members: heapless::Vec<(JsonStr<'a>, Value<'a>), MAX_JSON_MEMBERS>,
}

impl<'a> Object<'a> {
    /// The value of member `name`, if present.
    pub(crate) fn get(&self, name: &str) -> Option<Value<'a>> {
        self.members
            .iter()
            .find(|(n, _)| n.eq_str(name))
            .map(|(_, v)| *v)
    }

    /// All members, in input order.
    pub(crate) fn members(&self) -> impl Iterator<Item = &(JsonStr<'a>, Value<'a>)> {
        self.members.iter()
    }
}

/// Parses and validates `input` as one JSON object (optionally surrounded by whitespace).
pub(crate) fn parse_object(input: &[u8]) -> Result<Object<'_>, JsonError> {
    if str::from_utf8(input).is_err() {
        return Err(JsonError::Syntax);
    }
    let mut r = Reader { input, pos: 0 };
    r.skip_ws();
    if r.peek() != Some(b'{') {
        // Tell "valid JSON, wrong type" from "not JSON" (RFC 7519 §7.2 step 10).
        r.scan_value(0)?;
        r.skip_ws();
        return Err(if r.pos == input.len() {
            JsonError::NotAnObject
        } else {
            JsonError::Syntax
        });
    }
    r.pos += 1;
    let mut members: heapless::Vec<(JsonStr<'_>, Value<'_>), MAX_JSON_MEMBERS> =
        heapless::Vec::new();
    r.skip_ws();
    if r.peek() == Some(b'}') {
        r.pos += 1;
    } else {
        loop {
            r.skip_ws();
            let name = r.scan_string()?;
            r.skip_ws();
            r.expect(b':')?;
            let value = r.scan_value(1)?;
            if members.iter().any(|(seen, _)| seen.eq(&name)) {
                // Keep scanning for syntax errors first: they take precedence.
                r.finish_object()?;
                return Err(JsonError::Duplicate);
            }
            if members.push((name, value)).is_err() {
                return Err(JsonError::Members);
            }
            r.skip_ws();
            match r.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(JsonError::Syntax),
            }
        }
    }
    r.skip_ws();
    if r.pos != input.len() {
        return Err(JsonError::Syntax);
    }
    Ok(Object { members })
}

impl<'a> ArraySpan<'a> {
    /// The elements of the array, in order. The array was validated when its object was
    /// parsed; an element that fails again (it cannot) ends the iteration with an error.
    pub(crate) fn elements(&self) -> ArrayElements<'a> {
        ArrayElements {
            reader: Reader {
                input: self.text,
                pos: 1,
            },
            depth: self.depth,
            first: true,
            done: false,
        }
    }
}

/// Iterator over an [`ArraySpan`].
#[derive(Clone, Debug)]
pub(crate) struct ArrayElements<'a> {
    reader: Reader<'a>,
    depth: usize,
    first: bool,
    done: bool,
}

impl<'a> Iterator for ArrayElements<'a> {
    type Item = Result<Value<'a>, JsonError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = &mut self.reader;
        r.skip_ws();
        if r.peek() == Some(b']') {
            self.done = true;
            return None;
        }
        if !self.first {
            if let Err(e) = r.expect(b',') {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.first = false;
        let value = r.scan_value(self.depth);
        if value.is_err() {
            self.done = true;
        }
        Some(value)
    }
}

impl<'a> JsonStr<'a> {
    /// The empty string.
    pub(crate) const EMPTY: JsonStr<'static> = JsonStr { raw: b"" };

    /// The decoded characters.
    pub(crate) fn chars(&self) -> Unescape<'a> {
        Unescape { raw: self.raw }
    }

    /// The raw bytes when the string has no escapes: then they are the decoded string (the
    /// input was validated as UTF-8), and comparing bytes is comparing strings.
    fn plain(&self) -> Option<&'a [u8]> {
        (!self.raw.contains(&b'\\')).then_some(self.raw)
    }

    /// True when the decoded string equals `s`.
    pub(crate) fn eq_str(&self, s: &str) -> bool {
        match self.plain() {
            Some(raw) => raw == s.as_bytes(),
            None => self.chars().eq(s.chars()),
        }
    }

    /// True when both decode to the same string.
    pub(crate) fn eq(&self, other: &JsonStr<'_>) -> bool {
        match (self.plain(), other.plain()) {
            (Some(a), Some(b)) => a == b,
            _ => self.chars().eq(other.chars()),
        }
    }

    /// True when the string's text as written (escapes not decoded) contains `needle`.
    pub(crate) fn contains_raw(&self, needle: &[u8]) -> bool {
        !needle.is_empty() && self.raw.windows(needle.len()).any(|w| w == needle)
    }

    /// True when the decoded string is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The length of the decoded string in bytes (UTF-8), without decoding it anywhere.
    pub(crate) fn decoded_len(&self) -> usize {
        match self.plain() {
            Some(raw) => raw.len(),
            None => self.chars().map(char::len_utf8).sum(),
        }
    }

    /// Decodes into a fixed-capacity string; `Err` when it does not fit.
    pub(crate) fn decode_into<const N: usize>(
        &self,
        out: &mut heapless::String<N>,
    ) -> Result<(), ()> {
        out.clear();
        if let Some(text) = self.unescaped_str() {
            return out.push_str(text).map_err(|_| ());
        }
        for c in self.chars() {
            out.push(c).map_err(|_| ())?;
        }
        Ok(())
    }

    /// Decodes into a fresh fixed-capacity string; `Err` when it does not fit.
    pub(crate) fn decoded<const N: usize>(self) -> Result<heapless::String<N>, ()> {
        let mut out = heapless::String::new();
        self.decode_into(&mut out)?;
        Ok(out)
    }

    /// The raw text when it has no escapes (the common case for base64url members).
    pub(crate) fn unescaped_str(&self) -> Option<&'a str> {
        self.plain().and_then(|raw| str::from_utf8(raw).ok())
    }
}

/// Decodes a validated JSON string's escapes (RFC 8259 §7).
#[derive(Debug, Clone)]
pub(crate) struct Unescape<'a> {
    raw: &'a [u8],
}

impl Iterator for Unescape<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let (&first, rest) = self.raw.split_first()?;
        if first != b'\\' {
            // The input was checked to be UTF-8: decode one scalar value.
            let len = utf8_len(first);
            let (head, tail) = self.raw.split_at(len.min(self.raw.len()));
            self.raw = tail;
            return str::from_utf8(head)
                .ok()
                .and_then(|s| s.chars().next())
                .or(Some(char::REPLACEMENT_CHARACTER));
        }
        let (&esc, rest) = rest.split_first()?;
        self.raw = rest;
        let c = match esc {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.take_hex4()?;
                if (0xD800..0xDC00).contains(&hi) {
                    // Validation guaranteed a following `\uDC00`-`\uDFFF`.
                    self.raw = self.raw.get(2..).unwrap_or_default();
                    let lo = self.take_hex4()?;
                    let code = 0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF);
                    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
                } else {
                    char::from_u32(hi).unwrap_or(char::REPLACEMENT_CHARACTER)
                }
            }
            _ => char::REPLACEMENT_CHARACTER,
        };
        Some(c)
    }
}

impl Unescape<'_> {
    fn take_hex4(&mut self) -> Option<u32> {
        let digits = self.raw.get(..4)?;
        self.raw = self.raw.get(4..)?;
        hex4(digits)
    }
}

fn hex4(digits: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &d in digits {
        v = (v << 4) | char::from(d).to_digit(16)?;
    }
    Some(v)
}

const fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[derive(Clone, Debug)]
struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Result<(), JsonError> {
        self.skip_ws();
        if self.next() == Some(b) {
            Ok(())
        } else {
            Err(JsonError::Syntax)
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn slice(&self, start: usize, end: usize) -> Result<&'a [u8], JsonError> {
        self.input.get(start..end).ok_or(JsonError::Syntax)
    }

    /// Reads the rest of an object whose members are being skipped (after a duplicate).
    fn finish_object(&mut self) -> Result<(), JsonError> {
        loop {
            self.skip_ws();
            match self.next() {
                Some(b',') => {
                    self.skip_ws();
                    self.scan_string()?;
                    self.expect(b':')?;
                    self.scan_value(1)?;
                }
                Some(b'}') => break,
                _ => return Err(JsonError::Syntax),
            }
        }
        self.skip_ws();
        if self.pos == self.input.len() {
            Ok(())
        } else {
            Err(JsonError::Syntax)
        }
    }

    /// Scans one value; `depth` is the nesting depth of the container holding it.
    fn scan_value(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        self.skip_ws();
        match self.peek().ok_or(JsonError::Syntax)? {
            b'"' => self.scan_string().map(Value::String),
            b'-' | b'0'..=b'9' => self.scan_number().map(Value::Number),
            b't' => self.literal(b"true").map(|()| Value::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Value::Bool(false)),
            b'n' => self.literal(b"null").map(|()| Value::Null),
            b'{' => {
                let start = self.pos;
                self.skip_container(depth)?;
                Ok(Value::Object(self.slice(start, self.pos)?))
            }
            b'[' => {
                let start = self.pos;
                self.skip_container(depth)?;
                Ok(Value::Array(ArraySpan {
                    text: self.slice(start, self.pos)?,
                    depth: depth + 1,
                }))
            }
            _ => Err(JsonError::Syntax),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        let end = self.pos + word.len();
        if self.input.get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(())
        } else {
            Err(JsonError::Syntax)
        }
    }

    /// Validates a string and returns its contents (RFC 8259 §7).
    fn scan_string(&mut self) -> Result<JsonStr<'a>, JsonError> {
        if self.next() != Some(b'"') {
            return Err(JsonError::Syntax);
        }
        let start = self.pos;
        loop {
            match self.next().ok_or(JsonError::Syntax)? {
                b'"' => {
                    let raw = self.slice(start, self.pos - 1)?;
                    return Ok(JsonStr { raw });
                }
                b'\\' => match self.next().ok_or(JsonError::Syntax)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        let unit = self.hex_unit()?;
                        if (0xDC00..0xE000).contains(&unit) {
                            return Err(JsonError::Syntax); // lone low surrogate
                        }
                        if (0xD800..0xDC00).contains(&unit) {
                            // A high surrogate must be followed by an escaped low surrogate.
                            if self.next() != Some(b'\\') || self.next() != Some(b'u') {
                                return Err(JsonError::Syntax);
                            }
                            let low = self.hex_unit()?;
                            if !(0xDC00..0xE000).contains(&low) {
                                return Err(JsonError::Syntax);
                            }
                        }
                    }
                    _ => return Err(JsonError::Syntax),
                },
                0x00..=0x1F => return Err(JsonError::Syntax),
                _ => {}
            }
        }
    }

    fn hex_unit(&mut self) -> Result<u32, JsonError> {
        let digits = self.slice(self.pos, self.pos + 4)?;
        let v = hex4(digits).ok_or(JsonError::Syntax)?;
        self.pos += 4;
        Ok(v)
    }

    /// Validates a number against RFC 8259 §6 and returns its text.
    fn scan_number(&mut self) -> Result<&'a str, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.next() {
            Some(b'0') => {}
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(JsonError::Syntax),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(JsonError::Syntax);
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(JsonError::Syntax);
            }
            self.digits();
        }
        if self.pos - start > MAX_NUMBER_LEN {
            return Err(JsonError::NumberLength);
        }
        let text = self.slice(start, self.pos)?;
        str::from_utf8(text).map_err(|_| JsonError::Syntax)
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    /// Validates an object or array without recursion. `depth` is the depth of the
    /// container holding it; the stack of open containers is one bit per level.
    fn skip_container(&mut self, depth: usize) -> Result<(), JsonError> {
        const _: () = assert!(MAX_JSON_DEPTH <= 64);
        let mut stack: u64 = 0; // bit i set: level i is an object
        let mut level = 0usize;
        let mut first = true;
        self.open(&mut stack, &mut level, depth)?;
        loop {
            self.skip_ws();
            let is_object = (stack >> (level - 1)) & 1 == 1;
            let close = if is_object { b'}' } else { b']' };
            let b = self.peek().ok_or(JsonError::Syntax)?;
            if b == close {
                self.pos += 1;
                level -= 1;
                if level == 0 {
                    return Ok(());
                }
                first = false;
                continue;
            }
            if !first {
                if b != b',' {
                    return Err(JsonError::Syntax);
                }
                self.pos += 1;
                self.skip_ws();
            }
            if is_object {
                self.scan_string()?;
                self.expect(b':')?;
                self.skip_ws();
            }
            match self.peek() {
                Some(b'{' | b'[') => {
                    self.open(&mut stack, &mut level, depth)?;
                    first = true;
                }
                _ => {
                    self.scan_scalar()?;
                    first = false;
                }
            }
        }
    }

    fn open(&mut self, stack: &mut u64, level: &mut usize, depth: usize) -> Result<(), JsonError> {
        if depth + *level + 1 > MAX_JSON_DEPTH {
            return Err(JsonError::Depth);
        }
        match self.next() {
            Some(b'{') => *stack |= 1 << *level,
            Some(b'[') => *stack &= !(1 << *level),
            _ => return Err(JsonError::Syntax),
        }
        *level += 1;
        Ok(())
    }

    fn scan_scalar(&mut self) -> Result<(), JsonError> {
        match self.peek().ok_or(JsonError::Syntax)? {
            b'"' => self.scan_string().map(|_| ()),
            b'-' | b'0'..=b'9' => self.scan_number().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => Err(JsonError::Syntax),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(s: &str) -> Result<Object<'_>, JsonError> {
        parse_object(s.as_bytes())
    }

    fn string_member(s: &str, name: &str) -> heapless::String<64> {
        match obj(s).map(|o| o.get(name)) {
            Ok(Some(Value::String(v))) => v.decoded().unwrap_or_default(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accepts_valid_objects() {
        for ok in [
            "{}",
            " {\"a\":1} ",
            "{\"a\":[1,2,{\"b\":null}],\"c\":{\"d\":[true,false]},\"e\":-0.5e+10}",
            "{\r\n \"iss\":\"joe\",\r\n \"exp\":1300819380}",
            "{\"a\":[],\"b\":{},\"c\":[[]]}",
        ] {
            assert!(obj(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":[1,]}",
            "{\"a\":[1,,2]}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":+1}",
            "{\"a\":tru}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"\\udc00\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\ud800\\u0041\"}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":\"nul\u{0}\"}",
            "{'a':1}",
            "{\"a\":1} x",
            "{\"a\":{\"b\":1,}}",
            "{\"a\":[}",
            "{\"a\":{]}",
            "{\"a\":1}{",
        ] {
            assert_eq!(obj(bad).err(), Some(JsonError::Syntax), "{bad:?}");
        }
        assert_eq!(
            parse_object(b"{\"a\":\"\xC0\xAF\"}").err(),
            Some(JsonError::Syntax)
        );
    }

    #[test]
    fn tells_not_an_object() {
        for v in [
            "0",
            "1",
            "-1",
            "true",
            "null",
            "[]",
            "\"\"",
            "[\"client-id\"]",
        ] {
            assert_eq!(obj(v).err(), Some(JsonError::NotAnObject), "{v}");
        }
    }

    #[test]
    fn rejects_duplicates_after_decoding() {
        assert_eq!(obj("{\"a\":1,\"a\":2}").err(), Some(JsonError::Duplicate));
        assert_eq!(
            obj("{\"iss\":1,\"i\\u0073s\":2}").err(),
            Some(JsonError::Duplicate)
        );
        // Syntax errors after a duplicate still win.
        assert_eq!(obj("{\"a\":1,\"a\":2,}").err(), Some(JsonError::Syntax));
        // Nested objects are separate scopes and are only validated.
        assert!(obj("{\"a\":{\"x\":1},\"b\":{\"x\":1}}").is_ok());
    }

    #[test]
    fn comparisons_agree_with_and_without_escapes() {
        let s = |raw: &'static str| JsonStr {
            raw: raw.as_bytes(),
        };
        // Plain, escaped and mixed spellings of the same and of different strings.
        let same = [
            "s6Bh/é",
            "s6Bh\\/é",
            "\\u0073\\u0036Bh/\\u00e9",
            "s6Bh\\/\\u00E9",
        ];
        for a in same {
            assert!(s(a).eq_str("s6Bh/é"), "{a}");
            assert_eq!(s(a).decoded_len(), "s6Bh/é".len(), "{a}");
            assert!(!s(a).eq_str("s6Bh/e"), "{a}");
            assert!(!s(a).eq_str("s6Bh/é "), "{a}");
            for b in same {
                assert!(s(a).eq(&s(b)), "{a} = {b}");
            }
            assert!(!s(a).eq(&s("s6Bh\\u002f")), "{a}");
            let mut out = heapless::String::<16>::new();
            assert_eq!(s(a).decode_into(&mut out), Ok(()));
            assert_eq!(out.as_str(), "s6Bh/é");
            let mut short = heapless::String::<4>::new();
            assert_eq!(s(a).decode_into(&mut short), Err(()), "{a} does not fit");
        }
        assert!(s("").eq_str(""));
        assert!(!s("a").eq(&s("")));
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(
            string_member(r#"{"u":"https:\/\/as.example\/"}"#, "u").as_str(),
            "https://as.example/"
        );
        assert_eq!(
            string_member(r#"{"u":"\u00e9\ud83d\ude00\n\"\\"}"#, "u").as_str(),
            "\u{e9}\u{1F600}\n\"\\"
        );
        assert_eq!(string_member(r#"{"\u0061":"x"}"#, "a").as_str(), "x");
    }

    #[test]
    fn depth_limit_is_exact() {
        // The top-level object is depth 1, so MAX_JSON_DEPTH - 1 nested arrays fit.
        let fits = MAX_JSON_DEPTH - 1;
        let mut s = heapless::String::<256>::new();
        let build = |s: &mut heapless::String<256>, n: usize| {
            s.clear();
            s.push_str("{\"a\":").unwrap();
            for _ in 0..n {
                s.push('[').unwrap();
            }
            for _ in 0..n {
                s.push(']').unwrap();
            }
            s.push('}').unwrap();
        };
        build(&mut s, fits);
        assert!(obj(&s).is_ok());
        build(&mut s, fits + 1);
        assert_eq!(obj(&s).err(), Some(JsonError::Depth));
        let mut deep = [b'['; 10_000];
        deep[0] = b'{';
        assert_eq!(parse_object(&deep).err(), Some(JsonError::Syntax));
        let mut deep = heapless::Vec::<u8, 20_010>::new();
        deep.extend_from_slice(b"{\"a\":").unwrap();
        deep.extend_from_slice(&[b'['; 10_000]).unwrap();
        assert_eq!(parse_object(&deep).err(), Some(JsonError::Depth));
    }

    #[test]
    fn member_limit_is_exact() {
        let mut s = heapless::String::<2048>::new();
        let build = |s: &mut heapless::String<2048>, n: usize| {
            s.clear();
            s.push('{').unwrap();
            for i in 0..n {
                if i > 0 {
                    s.push(',').unwrap();
                }
                core::fmt::write(s, format_args!("\"m{i}\":0")).unwrap();
            }
            s.push('}').unwrap();
        };
        build(&mut s, MAX_JSON_MEMBERS);
        assert!(obj(&s).is_ok());
        build(&mut s, MAX_JSON_MEMBERS + 1);
        assert_eq!(obj(&s).err(), Some(JsonError::Members));
    }

    #[test]
    fn number_length_limit_is_exact() {
        let fits = "1".repeat(MAX_NUMBER_LEN);
        let over = "1".repeat(MAX_NUMBER_LEN + 1);
        assert!(parse_object(format!("{{\"a\":{fits}}}").as_bytes()).is_ok());
        assert_eq!(
            parse_object(format!("{{\"a\":{over}}}").as_bytes()).err(),
            Some(JsonError::NumberLength)
        );
    }

    #[test]
    fn iterates_arrays() {
        let o = obj(r#"{"aud":["a", "b\/c" ,{"x":[1]}]}"#).unwrap();
        let Some(Value::Array(arr)) = o.get("aud") else {
            panic!()
        };
        let items: heapless::Vec<Value<'_>, 4> = arr.elements().map(|v| v.unwrap()).collect();
        assert_eq!(items.len(), 3);
        assert!(matches!(items[0], Value::String(s) if s.eq_str("a")));
        assert!(matches!(items[1], Value::String(s) if s.eq_str("b/c")));
        assert!(matches!(items[2], Value::Object(b"{\"x\":[1]}")));
    }
}
