//! The persistent-cache record: what a layer stores in a cache shared by verifier instances
//! (the npm package's `jwksCache`-like option, a Workers KV value or Cache API entry, a file
//! for the CLI) so that short-lived instances reuse one fetch.
//!
//! A record is the fetched document with its URI, fetch time and (clamped) lifetime, in a
//! versioned, line-oriented format with a SHA-256 over everything after its digest line:
//!
//! ```text
//! rfc7523-key-cache 1\n
//! sha-256 <64 lowercase hex digits: SHA-256 of the bytes after this line>\n
//! uri <the URI the document was fetched from>\n
//! fetched-at <Unix seconds, decimal>\n
//! max-age <seconds, decimal, 60..=86400>\n
//! length <document length, decimal, ≤ 65536>\n
//! \n
//! <the document, exactly `length` bytes>
//! ```
//!
//! Decimal numbers have no sign and no leading zeros. The reader ([`Record::read`]) is strict:
//! anything else — another format or version, a digest that does not match (a truncated or
//! altered record), a field out of order or out of range, bytes after the document, a record
//! for another URI — is refused. Even an accepted record is never trusted beyond what a fresh
//! response would be: its document goes through the same document rules and key loader as a
//! fetched one, and the cache adopts its time only within bounds
//! ([`KeyCache::adopt`](super::KeyCache::adopt)). The digest detects corruption, not
//! forgery: whoever can write the shared cache can write keys, as whoever can write the
//! registry can; the shared cache must be as private as the registry.

use core::fmt;

use sha2::{Digest, Sha256};

use super::document::MAX_DOCUMENT_LEN;
use super::freshness::{MAX_MAX_AGE, MIN_MAX_AGE};
use super::url::{KeyUrl, UrlError, MAX_URL_LEN};

/// The first line of a record of this format: its name and version.
pub const RECORD_MAGIC: &str = "rfc7523-key-cache 1\n";

const NAME: &str = "rfc7523-key-cache ";
const DIGEST_FIELD: &str = "sha-256 ";
const DIGEST_HEX_LEN: usize = 64;
const URI_FIELD: &str = "uri ";
const FETCHED_AT_FIELD: &str = "fetched-at ";
const MAX_AGE_FIELD: &str = "max-age ";
const LENGTH_FIELD: &str = "length ";
/// Digits of `u64::MAX`.
const MAX_U64_DIGITS: usize = 20;

/// Longest header of a record: every field at its longest.
pub const MAX_RECORD_HEADER_LEN: usize = RECORD_MAGIC.len()
    + DIGEST_FIELD.len()
    + DIGEST_HEX_LEN
    + 1
    + URI_FIELD.len()
    + MAX_URL_LEN
    + 1
    + FETCHED_AT_FIELD.len()
    + MAX_U64_DIGITS
    + 1
    + MAX_AGE_FIELD.len()
    + decimal_len(MAX_MAX_AGE)
    + 1
    + LENGTH_FIELD.len()
    + decimal_len(MAX_DOCUMENT_LEN as u64)
    + 1
    + 1;

/// Longest record read or written.
pub const MAX_RECORD_LEN: usize = MAX_RECORD_HEADER_LEN + MAX_DOCUMENT_LEN;

/// Why a record is refused (read) or cannot be made (written).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Longer than [`MAX_RECORD_LEN`].
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// Not a record of this crate (another format, or foreign bytes).
    NotARecord,
    /// A record of this crate in a version this one does not read.
    UnsupportedVersion,
    /// The digest does not match, or the structure is broken (truncated, a field missing, out
    /// of order or malformed, bytes after the document).
    Corrupt,
    /// A record for another URI.
    OtherUri,
    /// Its URI does not pass the URL rules.
    InvalidUri(UrlError),
    /// Its lifetime is outside [`MIN_MAX_AGE`]..=[`MAX_MAX_AGE`].
    InvalidMaxAge,
    /// Its document is longer than [`MAX_DOCUMENT_LEN`].
    DocumentTooLarge,
    /// The output buffer is shorter than [`Record::encoded_len`].
    BufferTooSmall,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RecordError::TooLarge { len } => {
                write!(
                    f,
                    "the cache record is {len} bytes, more than {MAX_RECORD_LEN}"
                )
            }
            RecordError::NotARecord => f.write_str("not a key cache record"),
            RecordError::UnsupportedVersion => {
                f.write_str("a key cache record of an unsupported version")
            }
            RecordError::Corrupt => f.write_str("the key cache record is corrupt"),
            RecordError::OtherUri => f.write_str("the key cache record is for another URI"),
            RecordError::InvalidUri(e) => write!(f, "the key cache record's URI: {e}"),
            RecordError::InvalidMaxAge => {
                f.write_str("the key cache record's max-age is out of range")
            }
            RecordError::DocumentTooLarge => {
                write!(
                    f,
                    "the key cache record's document is longer than {MAX_DOCUMENT_LEN} bytes"
                )
            }
            RecordError::BufferTooSmall => f.write_str("the buffer is too small for the record"),
        }
    }
}

/// A persisted document: the URI it was fetched from, its fetch time, its lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    uri: &'a str,
    fetched_at: u64,
    max_age: u64,
    document: &'a [u8],
}

impl<'a> Record<'a> {
    /// A record to write: `uri` must pass the URL rules, `max_age` be a clamped lifetime
    /// ([`Freshness::max_age`](super::Freshness::max_age)), `document` at most
    /// [`MAX_DOCUMENT_LEN`] bytes.
    pub fn new(
        uri: &'a str,
        fetched_at: u64,
        max_age: u64,
        document: &'a [u8],
    ) -> Result<Self, RecordError> {
        KeyUrl::parse(uri).map_err(RecordError::InvalidUri)?;
        if !(MIN_MAX_AGE..=MAX_MAX_AGE).contains(&max_age) {
            return Err(RecordError::InvalidMaxAge);
        }
        if document.len() > MAX_DOCUMENT_LEN {
            return Err(RecordError::DocumentTooLarge);
        }
        Ok(Record {
            uri,
            fetched_at,
            max_age,
            document,
        })
    }

    /// Reads a record from the shared cache for `expected_uri` (the URI the caller would
    /// fetch). See the module docs for what is refused.
    pub fn read(bytes: &'a [u8], expected_uri: &str) -> Result<Self, RecordError> {
        if bytes.len() > MAX_RECORD_LEN {
            return Err(RecordError::TooLarge { len: bytes.len() });
        }
        let rest = bytes
            .strip_prefix(NAME.as_bytes())
            .ok_or(RecordError::NotARecord)?;
        let (version, rest) = line(rest).ok_or(RecordError::UnsupportedVersion)?;
        if version != b"1" {
            return Err(RecordError::UnsupportedVersion);
        }
        let (digest, signed) = field(rest, DIGEST_FIELD).ok_or(RecordError::Corrupt)?;
        if digest.len() != DIGEST_HEX_LEN || Hex(&Sha256::digest(signed)) != digest {
            return Err(RecordError::Corrupt);
        }
        let (uri, rest) = field(signed, URI_FIELD).ok_or(RecordError::Corrupt)?;
        let (fetched_at, rest) = field(rest, FETCHED_AT_FIELD).ok_or(RecordError::Corrupt)?;
        let (max_age, rest) = field(rest, MAX_AGE_FIELD).ok_or(RecordError::Corrupt)?;
        let (length, rest) = field(rest, LENGTH_FIELD).ok_or(RecordError::Corrupt)?;
        let document = rest.strip_prefix(b"\n").ok_or(RecordError::Corrupt)?;
        let uri = core::str::from_utf8(uri).map_err(|_| RecordError::Corrupt)?;
        KeyUrl::parse(uri).map_err(RecordError::InvalidUri)?;
        if uri != expected_uri {
            return Err(RecordError::OtherUri);
        }
        let fetched_at = decimal(fetched_at).ok_or(RecordError::Corrupt)?;
        let max_age = decimal(max_age).ok_or(RecordError::Corrupt)?;
        if !(MIN_MAX_AGE..=MAX_MAX_AGE).contains(&max_age) {
            return Err(RecordError::InvalidMaxAge);
        }
        let length = decimal(length).ok_or(RecordError::Corrupt)?;
        if length > MAX_DOCUMENT_LEN as u64 {
            return Err(RecordError::DocumentTooLarge);
        }
        if document.len() as u64 != length {
            return Err(RecordError::Corrupt);
        }
        Ok(Record {
            uri,
            fetched_at,
            max_age,
            document,
        })
    }

    /// The URI the document was fetched from.
    pub fn uri(&self) -> &'a str {
        self.uri
    }

    /// When it was fetched (the fetch's start, Unix seconds).
    pub fn fetched_at(&self) -> u64 {
        self.fetched_at
    }

    /// Its freshness lifetime in seconds.
    pub fn max_age(&self) -> u64 {
        self.max_age
    }

    /// The document, as fetched.
    pub fn document(&self) -> &'a [u8] {
        self.document
    }

    /// The length of the encoded record.
    pub fn encoded_len(&self) -> usize {
        RECORD_MAGIC.len() + DIGEST_FIELD.len() + DIGEST_HEX_LEN + 1 + self.signed_len()
    }

    fn signed_len(&self) -> usize {
        URI_FIELD.len()
            + self.uri.len()
            + 1
            + FETCHED_AT_FIELD.len()
            + decimal_len(self.fetched_at)
            + 1
            + MAX_AGE_FIELD.len()
            + decimal_len(self.max_age)
            + 1
            + LENGTH_FIELD.len()
            + decimal_len(self.document.len() as u64)
            + 1
            + 1
            + self.document.len()
    }

    /// Encodes the record into `out` (at least [`Record::encoded_len`] bytes); returns the
    /// encoded bytes.
    pub fn write<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], RecordError> {
        let len = self.encoded_len();
        let out = out.get_mut(..len).ok_or(RecordError::BufferTooSmall)?;
        let head_len = RECORD_MAGIC.len() + DIGEST_FIELD.len();
        let (head, rest) = out.split_at_mut(head_len);
        let (digest_hex, rest) = rest.split_at_mut(DIGEST_HEX_LEN);
        let (newline, signed) = rest.split_at_mut(1);
        let mut w = Writer { out: head, pos: 0 };
        w.text(RECORD_MAGIC.as_bytes());
        w.text(DIGEST_FIELD.as_bytes());
        newline.copy_from_slice(b"\n");
        let mut w = Writer {
            out: signed,
            pos: 0,
        };
        w.text(URI_FIELD.as_bytes());
        w.text(self.uri.as_bytes());
        w.text(b"\n");
        w.text(FETCHED_AT_FIELD.as_bytes());
        w.decimal(self.fetched_at);
        w.text(b"\n");
        w.text(MAX_AGE_FIELD.as_bytes());
        w.decimal(self.max_age);
        w.text(b"\n");
        w.text(LENGTH_FIELD.as_bytes());
        w.decimal(self.document.len() as u64);
        w.text(b"\n\n");
        w.text(self.document);
        let digest = Sha256::digest(&*signed);
        for (pair, byte) in digest_hex.chunks_exact_mut(2).zip(digest.iter()) {
            for (slot, nibble) in pair.iter_mut().zip([byte >> 4, byte & 0xF]) {
                *slot = HEX_DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
            }
        }
        Ok(out)
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// A digest compared with its lowercase hex text.
struct Hex<'a>(&'a [u8]);

impl PartialEq<&[u8]> for Hex<'_> {
    fn eq(&self, text: &&[u8]) -> bool {
        text.len() == self.0.len() * 2
            && self.0.iter().zip(text.chunks_exact(2)).all(|(byte, pair)| {
                pair.first().and_then(|&c| nibble(c)) == Some(byte >> 4)
                    && pair.get(1).and_then(|&c| nibble(c)) == Some(byte & 0xF)
            })
    }
}

/// A lowercase hex digit's value.
fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// The text up to the next `\n`, and what follows it.
fn line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    Some((bytes.get(..end)?, bytes.get(end + 1..)?))
}

/// The value of the line `name value\n` at the start of `bytes`, and what follows it. The
/// value is printable ASCII.
fn field<'a>(bytes: &'a [u8], name: &str) -> Option<(&'a [u8], &'a [u8])> {
    let rest = bytes.strip_prefix(name.as_bytes())?;
    let (value, rest) = line(rest)?;
    value
        .iter()
        .all(|b| (0x21..=0x7E).contains(b))
        .then_some((value, rest))
}

/// A canonical decimal `u64`: digits, no leading zero (but `0`).
fn decimal(text: &[u8]) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.len() <= MAX_U64_DIGITS
        && text.iter().all(u8::is_ascii_digit)
        && (text == b"0" || !text.starts_with(b"0"));
    if !canonical {
        return None;
    }
    text.iter().try_fold(0u64, |v, &d| {
        v.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The number of decimal digits of `n`.
const fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// Writes into a buffer whose length was computed beforehand (`encoded_len`).
struct Writer<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn text(&mut self, text: &[u8]) {
        let end = self.pos + text.len();
        if let Some(dst) = self.out.get_mut(self.pos..end) {
            dst.copy_from_slice(text);
        }
        self.pos = end;
    }

    fn decimal(&mut self, n: u64) {
        let mut digits = [0u8; MAX_U64_DIGITS];
        let len = decimal_len(n);
        let mut v = n;
        for slot in digits.get_mut(..len).unwrap_or_default().iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        self.text(digits.get(..len).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "https://keys.example/jwks";
    const DOC: &[u8] = br#"{"keys":[]}"#;

    fn encode(record: &Record<'_>) -> Vec<u8> {
        let mut out = vec![0u8; record.encoded_len()];
        let len = record.write(&mut out).unwrap().len();
        assert_eq!(len, out.len());
        out
    }

    fn valid() -> Vec<u8> {
        encode(&Record::new(URI, 1_700_000_000, 600, DOC).unwrap())
    }

    /// Rewrites the digest so that a change to the signed part is judged on its own merits.
    fn resign(mut bytes: Vec<u8>) -> Vec<u8> {
        let start = RECORD_MAGIC.len() + DIGEST_FIELD.len();
        let signed = bytes[start + DIGEST_HEX_LEN + 1..].to_vec();
        let hex: String = Sha256::digest(&signed)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        bytes[start..start + DIGEST_HEX_LEN].copy_from_slice(hex.as_bytes());
        bytes
    }

    #[test]
    fn round_trip_and_exact_format() {
        let bytes = valid();
        let digest: String = Sha256::digest(
            b"uri https://keys.example/jwks\nfetched-at 1700000000\nmax-age 600\nlength 11\n\n{\"keys\":[]}",
        )
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
        let expected = format!(
            "rfc7523-key-cache 1\nsha-256 {digest}\nuri https://keys.example/jwks\nfetched-at 1700000000\nmax-age 600\nlength 11\n\n{{\"keys\":[]}}"
        );
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
        let record = Record::read(&bytes, URI).unwrap();
        assert_eq!(record.uri(), URI);
        assert_eq!(record.fetched_at(), 1_700_000_000);
        assert_eq!(record.max_age(), 600);
        assert_eq!(record.document(), DOC);
        // Edge values round-trip too.
        for (fetched_at, max_age, doc) in [
            (0, MIN_MAX_AGE, &b""[..]),
            (u64::MAX, MAX_MAX_AGE, &b"\n\n\0\xff"[..]),
        ] {
            let r = Record::new(URI, fetched_at, max_age, doc).unwrap();
            assert_eq!(Record::read(&encode(&r), URI), Ok(r));
        }
    }

    #[test]
    fn the_longest_record_is_max_record_len() {
        let uri = format!("https://a.example/{}", "a".repeat(MAX_URL_LEN - 18));
        let doc = vec![b'x'; MAX_DOCUMENT_LEN];
        let r = Record::new(&uri, u64::MAX, MAX_MAX_AGE, &doc).unwrap();
        assert_eq!(r.encoded_len(), MAX_RECORD_LEN);
        let bytes = encode(&r);
        assert!(Record::read(&bytes, &uri).is_ok());
        let mut longer = bytes.clone();
        longer.push(b'x');
        assert_eq!(
            Record::read(&longer, &uri),
            Err(RecordError::TooLarge {
                len: MAX_RECORD_LEN + 1
            })
        );
        assert_eq!(
            Record::new(URI, 0, 600, &vec![0; MAX_DOCUMENT_LEN + 1]),
            Err(RecordError::DocumentTooLarge)
        );
    }

    #[test]
    fn write_needs_room() {
        let r = Record::new(URI, 1, 600, DOC).unwrap();
        let mut short = vec![0u8; r.encoded_len() - 1];
        assert_eq!(r.write(&mut short), Err(RecordError::BufferTooSmall));
    }

    #[test]
    fn new_checks_its_fields() {
        assert_eq!(
            Record::new("http://keys.example/", 0, 600, DOC),
            Err(RecordError::InvalidUri(UrlError::HttpNotLoopback))
        );
        assert_eq!(
            Record::new(URI, 0, MIN_MAX_AGE - 1, DOC),
            Err(RecordError::InvalidMaxAge)
        );
        assert_eq!(
            Record::new(URI, 0, MAX_MAX_AGE + 1, DOC),
            Err(RecordError::InvalidMaxAge)
        );
    }

    #[test]
    fn refusals() {
        use RecordError::*;
        let valid = valid();
        let text = String::from_utf8(valid.clone()).unwrap();
        let replace = |from: &str, to: &str| -> Vec<u8> {
            assert!(text.contains(from), "{from}");
            text.replacen(from, to, 1).into_bytes()
        };
        let resigned = |from: &str, to: &str| resign(replace(from, to));
        let mut flipped = valid.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let mut extra = valid.clone();
        extra.push(b'\n');
        let truncated = valid[..valid.len() - 1].to_vec();
        let table: Vec<(Vec<u8>, RecordError)> = vec![
            (b"".to_vec(), NotARecord),
            (b"{\"keys\":[]}".to_vec(), NotARecord),
            (DOC.to_vec(), NotARecord),
            (
                replace("rfc7523-key-cache 1", "RFC7523-key-cache 1"),
                NotARecord,
            ),
            (
                replace("rfc7523-key-cache 1", "rfc7523-key-cache 2"),
                UnsupportedVersion,
            ),
            (
                replace("rfc7523-key-cache 1", "rfc7523-key-cache 01"),
                UnsupportedVersion,
            ),
            (b"rfc7523-key-cache 1".to_vec(), UnsupportedVersion),
            // Any change to the signed part without a new digest.
            (flipped, Corrupt),
            (extra, Corrupt),
            (truncated, Corrupt),
            (
                replace("fetched-at 1700000000", "fetched-at 1700000001"),
                Corrupt,
            ),
            (replace("max-age 600", "max-age 86400"), Corrupt),
            (replace(URI, "https://keys.example/jwkz"), Corrupt),
            // The digest line itself.
            (replace("sha-256 ", "sha-512 "), Corrupt),
            (replace("sha-256 ", "sha-256  "), Corrupt),
            (
                {
                    let i = text.find("sha-256 ").unwrap() + 8;
                    let mut upper = valid.clone();
                    upper[i..i + 64].make_ascii_uppercase();
                    if upper == valid {
                        // All digits: change nothing else, the test is moot.
                        upper[i] = b'x';
                    }
                    upper
                },
                Corrupt,
            ),
            // Well signed but malformed or out of range.
            (resigned("\n\n{", "\n{"), Corrupt),
            (resigned("length 11", "length 12"), Corrupt),
            (resigned("length 11", "length 10"), Corrupt),
            (resigned("length 11", "length 011"), Corrupt),
            (resigned("length 11", "length 65537"), DocumentTooLarge),
            (
                resigned("fetched-at 1700000000", "fetched-at 01700000000"),
                Corrupt,
            ),
            (
                resigned("fetched-at 1700000000", "fetched-at +1700000000"),
                Corrupt,
            ),
            (
                resigned("fetched-at 1700000000", "fetched-at 18446744073709551616"),
                Corrupt,
            ),
            (resigned("fetched-at 1700000000", "fetched-at "), Corrupt),
            (resigned("fetched-at 1700000000", "fetched-at 1 7"), Corrupt),
            (
                resigned(
                    "fetched-at 1700000000\nmax-age 600",
                    "max-age 600\nfetched-at 1700000000",
                ),
                Corrupt,
            ),
            (resigned("max-age 600", "max-age 59"), InvalidMaxAge),
            (resigned("max-age 600", "max-age 86401"), InvalidMaxAge),
            (resigned("max-age 600", "max_age 600"), Corrupt),
            (resigned("uri ", "url "), Corrupt),
            (resigned("uri ", "uri  "), Corrupt),
            (resigned(URI, "https://other.example/jwks"), OtherUri),
            (
                resigned(URI, "http://keys.example/jwks"),
                InvalidUri(UrlError::HttpNotLoopback),
            ),
            (
                resigned(URI, "https://a@keys.example/jwks"),
                InvalidUri(UrlError::Userinfo),
            ),
        ];
        for (bytes, expected) in table {
            assert_eq!(
                Record::read(&bytes, URI),
                Err(expected),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
        // A valid record read for another URI.
        assert_eq!(
            Record::read(&valid, "https://keys.example/jwks/"),
            Err(OtherUri)
        );
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal(b"0"), Some(0));
        assert_eq!(decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(decimal(b"18446744073709551616"), None);
        assert_eq!(decimal(b"00"), None);
        assert_eq!(decimal(b""), None);
        assert_eq!(decimal_len(0), 1);
        assert_eq!(decimal_len(9), 1);
        assert_eq!(decimal_len(10), 2);
        assert_eq!(decimal_len(u64::MAX), MAX_U64_DIGITS);
    }
}
