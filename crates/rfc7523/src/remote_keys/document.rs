//! The fetched documents: the response rules (status, `Content-Type`, size), an issuer's
//! discovery document (RFC 8414 §3.2–3.3, OIDC Discovery 1.0 §4.2–4.3) and the shape of a
//! JWK Set (RFC 7517 §5) before the key loader reads it.

use core::fmt;

use super::url::{IssuerUrl, KeyUrl, UrlError, MAX_URL_LEN};
use crate::json::{self, JsonError, Value};

/// Largest response body read, in bytes, for a discovery document and a JWK Set alike. A
/// layer stops reading (and refuses) past it rather than buffering the whole response. It is
/// at most the key loader's bound on key text, so a body that passes here is never refused
/// there for its length.
pub const MAX_DOCUMENT_LEN: usize = 64 * 1024;

/// Most keys in a fetched JWK Set: the most one key set holds.
pub const MAX_REMOTE_KEYS: usize = crate::limits::MAX_JWKS_KEYS;

const _: () = assert!(MAX_DOCUMENT_LEN <= crate::limits::MAX_KEY_TEXT_LEN);

/// Which document a response should hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// An issuer's metadata (`openid-configuration` or `oauth-authorization-server`):
    /// `application/json` (OIDC Discovery 1.0 §4.2, RFC 8414 §3.2).
    Discovery,
    /// A JWK Set: `application/jwk-set+json` (RFC 7517 §8.5.2) or `application/json`.
    JwkSet,
}

/// The media type a `Content-Type` was judged to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`.
    Json,
    /// `application/jwk-set+json`.
    JwkSetJson,
}

/// Why a `Content-Type` header value is refused.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentTypeError {
    /// The response has no `Content-Type`.
    Missing,
    /// Not `type/subtype *( OWS ";" OWS [ parameter ] )` (RFC 9110 §8.3.1, §5.6.6).
    Malformed,
    /// A media type this kind of document may not have.
    Unsupported,
    /// A `charset` other than `utf-8` (JSON is UTF-8: RFC 8259 §8.1).
    Charset,
}

impl fmt::Display for ContentTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContentTypeError::Missing => "the response has no Content-Type",
            ContentTypeError::Malformed => "the response's Content-Type is malformed",
            ContentTypeError::Unsupported => {
                "the response's Content-Type is not application/json (or application/jwk-set+json for a key set)"
            }
            ContentTypeError::Charset => "the response's charset is not utf-8",
        })
    }
}

/// Judges a response's `Content-Type` (`None` when the response has none) for `kind`.
///
/// Type and subtype compare case-insensitively (RFC 9110 §8.3.1); a `charset` parameter, if
/// any, must be `utf-8` (any case, quoted or not); other parameters are read for syntax and
/// ignored (`application/json` defines none).
pub fn check_content_type(
    kind: DocumentKind,
    value: Option<&str>,
) -> Result<MediaType, ContentTypeError> {
    let value = value.ok_or(ContentTypeError::Missing)?;
    let mut c = Cursor::new(value);
    c.skip_ows();
    let ty = c.token().ok_or(ContentTypeError::Malformed)?;
    if !c.eat(b'/') {
        return Err(ContentTypeError::Malformed);
    }
    let subtype = c.token().ok_or(ContentTypeError::Malformed)?;
    let mut charset_ok = true;
    loop {
        c.skip_ows();
        if c.at_end() {
            break;
        }
        if !c.eat(b';') {
            return Err(ContentTypeError::Malformed);
        }
        c.skip_ows();
        if c.at_end() || c.peek() == Some(b';') {
            continue; // an empty parameter (RFC 9110 §5.6.6)
        }
        let name = c.token().ok_or(ContentTypeError::Malformed)?;
        if !c.eat(b'=') {
            return Err(ContentTypeError::Malformed);
        }
        let arg = c.argument().ok_or(ContentTypeError::Malformed)?;
        if name.eq_ignore_ascii_case("charset") && !arg.eq_ignore_ascii_case("utf-8") {
            charset_ok = false;
        }
    }
    let media = if !ty.eq_ignore_ascii_case("application") {
        return Err(ContentTypeError::Unsupported);
    } else if subtype.eq_ignore_ascii_case("json") {
        MediaType::Json
    } else if subtype.eq_ignore_ascii_case("jwk-set+json") && kind == DocumentKind::JwkSet {
        MediaType::JwkSetJson
    } else {
        return Err(ContentTypeError::Unsupported);
    };
    if !charset_ok {
        return Err(ContentTypeError::Charset);
    }
    Ok(media)
}

/// Why a fetch of a key set or a discovery document gave nothing usable: what a layer reports
/// to [`KeyCache::failed`](super::KeyCache::failed) and what a refusal for unavailable keys
/// carries.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchFailure {
    /// The connection failed (DNS, TCP, TLS).
    Network,
    /// No complete response within the layer's timeout
    /// ([`FETCH_TIMEOUT`](super::FETCH_TIMEOUT) by default).
    Timeout,
    /// A redirect (3xx other than 304): never followed.
    Redirect {
        /// The HTTP status.
        status: u16,
    },
    /// A status other than 200.
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The `Content-Type` was refused.
    ContentType(ContentTypeError),
    /// The body was refused.
    Document(DocumentError),
    /// The body is a JWK Set, but the key loader refused its keys.
    Keys,
    /// The fetch was started and never reported within
    /// [`ABANDONED_AFTER`](super::ABANDONED_AFTER) (the task that owned it died or hung).
    Abandoned,
}

impl fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FetchFailure::Network => f.write_str("the connection failed"),
            FetchFailure::Timeout => f.write_str("the fetch timed out"),
            FetchFailure::Redirect { status } => {
                write!(
                    f,
                    "the server redirected (HTTP {status}); redirects are not followed"
                )
            }
            FetchFailure::Status { status } => write!(f, "the server answered HTTP {status}"),
            FetchFailure::ContentType(e) => e.fmt(f),
            FetchFailure::Document(e) => e.fmt(f),
            FetchFailure::Keys => f.write_str("the key set's keys were refused"),
            FetchFailure::Abandoned => f.write_str("the fetch was abandoned"),
        }
    }
}

/// Judges a response's status: 200 only. Redirects are refused, not followed: a key URL
/// means exactly that URL (RFC 8414 §3.2 and OIDC Discovery 1.0 §4.2 define the answer as a
/// 200 response).
pub fn check_status(status: u16) -> Result<(), FetchFailure> {
    match status {
        200 => Ok(()),
        300..=303 | 305..=399 => Err(FetchFailure::Redirect { status }),
        _ => Err(FetchFailure::Status { status }),
    }
}

/// Judges a body's length (or a `Content-Length` announced before the body is read).
pub fn check_len(len: u64) -> Result<(), DocumentError> {
    if len > MAX_DOCUMENT_LEN as u64 {
        return Err(DocumentError::TooLarge {
            len: usize::try_from(len).unwrap_or(usize::MAX),
        });
    }
    Ok(())
}

/// A member of a document, named by an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    /// `issuer` (discovery).
    Issuer,
    /// `jwks_uri` (discovery).
    JwksUri,
    /// `keys` (JWK Set).
    Keys,
}

impl Member {
    /// The member's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Member::Issuer => "issuer",
            Member::JwksUri => "jwks_uri",
            Member::Keys => "keys",
        }
    }
}

/// Why a fetched body is refused.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentError {
    /// Longer than [`MAX_DOCUMENT_LEN`].
    TooLarge {
        /// Its length in bytes (or the announced `Content-Length`).
        len: usize,
    },
    /// Not JSON (RFC 8259), or not UTF-8.
    NotJson,
    /// JSON, but not an object.
    NotAnObject,
    /// Nested deeper than [`MAX_JSON_DEPTH`](crate::limits::MAX_JSON_DEPTH).
    TooDeep,
    /// More members in the top-level object than
    /// [`MAX_JSON_MEMBERS`](crate::limits::MAX_JSON_MEMBERS).
    TooManyMembers,
    /// A number longer than [`MAX_NUMBER_LEN`](crate::limits::MAX_NUMBER_LEN).
    NumberTooLong,
    /// A member name twice in the top-level object.
    DuplicateMember,
    /// A required member is missing.
    MemberMissing(Member),
    /// A member has the wrong JSON type (`issuer` and `jwks_uri` are strings, `keys` an
    /// array).
    MemberType(Member),
    /// The discovery document's `issuer` is not exactly the configured issuer (RFC 8414
    /// §3.3, OIDC Discovery 1.0 §4.3).
    IssuerMismatch,
    /// The discovery document's `jwks_uri` is refused by the URL rules.
    JwksUri(UrlError),
    /// The discovery document of an issuer that is not loopback names a loopback
    /// `jwks_uri`: a remote document never points the verifier at its own machine.
    LoopbackJwksUri,
    /// An element of `keys` is not an object (RFC 7517 §5: an array of JWKs).
    KeyNotObject,
    /// More keys than [`MAX_REMOTE_KEYS`].
    TooManyKeys {
        /// How many the set has.
        count: usize,
    },
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DocumentError::TooLarge { len } => {
                write!(
                    f,
                    "the document is {len} bytes, more than {MAX_DOCUMENT_LEN}"
                )
            }
            DocumentError::NotJson => f.write_str("the document is not JSON"),
            DocumentError::NotAnObject => f.write_str("the document is not a JSON object"),
            DocumentError::TooDeep => f.write_str("the document is nested too deeply"),
            DocumentError::TooManyMembers => f.write_str("the document has too many members"),
            DocumentError::NumberTooLong => f.write_str("the document has a number too long"),
            DocumentError::DuplicateMember => f.write_str("the document has a duplicate member"),
            DocumentError::MemberMissing(m) => write!(f, "the document has no {}", m.as_str()),
            DocumentError::MemberType(m) => {
                write!(f, "the document's {} has the wrong type", m.as_str())
            }
            DocumentError::IssuerMismatch => {
                f.write_str("the discovery document's issuer is not the configured issuer")
            }
            DocumentError::JwksUri(e) => write!(f, "the discovery document's jwks_uri: {e}"),
            DocumentError::LoopbackJwksUri => f.write_str(
                "the discovery document's jwks_uri is a loopback URL but the issuer is not",
            ),
            DocumentError::KeyNotObject => f.write_str("an element of keys is not an object"),
            DocumentError::TooManyKeys { count } => {
                write!(
                    f,
                    "the key set has {count} keys, more than {MAX_REMOTE_KEYS}"
                )
            }
        }
    }
}

fn json_error(e: JsonError) -> DocumentError {
    match e {
        JsonError::Syntax => DocumentError::NotJson,
        JsonError::NotAnObject => DocumentError::NotAnObject,
        JsonError::Depth => DocumentError::TooDeep,
        JsonError::Members => DocumentError::TooManyMembers,
        JsonError::NumberLength => DocumentError::NumberTooLong,
        JsonError::Duplicate => DocumentError::DuplicateMember,
    }
}

/// What the verifier takes from an issuer's discovery document: its `jwks_uri`, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryDocument {
    jwks_uri: heapless::String<MAX_URL_LEN>,
}

impl DiscoveryDocument {
    /// Reads a discovery document fetched for `issuer`, with the crate's strict JSON reader:
    /// its `issuer` must be a string equal to the configured issuer code point for code
    /// point after JSON unescaping (no normalisation: RFC 8414 §3.3 "MUST be identical", OIDC
    /// Discovery 1.0 §4.3 "MUST exactly match"), and its `jwks_uri` (required here: OIDC
    /// Discovery 1.0 §3 makes it REQUIRED, and without it there are no keys) must pass the
    /// [URL rules](super::url), and be loopback only when the issuer is. Other members are
    /// read for syntax and ignored.
    pub fn read(body: &[u8], issuer: &IssuerUrl<'_>) -> Result<Self, DocumentError> {
        check_len(body.len() as u64)?;
        let object = json::parse_object(body).map_err(json_error)?;
        match object.get(Member::Issuer.as_str()) {
            None => return Err(DocumentError::MemberMissing(Member::Issuer)),
            Some(Value::String(s)) if s.eq_str(issuer.as_str()) => {}
            Some(Value::String(_)) => return Err(DocumentError::IssuerMismatch),
            Some(_) => return Err(DocumentError::MemberType(Member::Issuer)),
        }
        let jwks_uri = match object.get(Member::JwksUri.as_str()) {
            None => return Err(DocumentError::MemberMissing(Member::JwksUri)),
            Some(Value::String(s)) => {
                let mut out = heapless::String::<MAX_URL_LEN>::new();
                if s.decode_into(&mut out).is_err() {
                    let len = s.chars().map(char::len_utf8).sum();
                    return Err(DocumentError::JwksUri(UrlError::TooLong { len }));
                }
                out
            }
            Some(_) => return Err(DocumentError::MemberType(Member::JwksUri)),
        };
        let url = KeyUrl::parse(&jwks_uri).map_err(DocumentError::JwksUri)?;
        if url.is_loopback() && !issuer.url().is_loopback() {
            return Err(DocumentError::LoopbackJwksUri);
        }
        Ok(DiscoveryDocument { jwks_uri })
    }

    /// The issuer's `jwks_uri`, which passed the URL rules ([`KeyUrl::parse`] gives its
    /// parts again).
    pub fn jwks_uri(&self) -> &str {
        &self.jwks_uri
    }
}

/// Checks the shape of a fetched JWK Set (RFC 7517 §5) before the key loader reads it: at
/// most [`MAX_DOCUMENT_LEN`] bytes of strict JSON, a top-level object whose `keys` is an
/// array of at most [`MAX_REMOTE_KEYS`] objects. Returns the body as text for the key loader,
/// which applies the same key rules as to inline keys. An empty `keys` array passes here
/// (RFC 7517 §5 allows it); whether a set without usable keys is an error is the loader's
/// rule.
pub fn check_jwk_set(body: &[u8]) -> Result<&str, DocumentError> {
    check_len(body.len() as u64)?;
    let object = json::parse_object(body).map_err(json_error)?;
    let keys = match object.get(Member::Keys.as_str()) {
        None => return Err(DocumentError::MemberMissing(Member::Keys)),
        Some(Value::Array(keys)) => keys,
        Some(_) => return Err(DocumentError::MemberType(Member::Keys)),
    };
    let mut count = 0usize;
    for key in keys.elements() {
        match key {
            Ok(Value::Object(_)) => count += 1,
            Ok(_) => return Err(DocumentError::KeyNotObject),
            Err(e) => return Err(json_error(e)),
        }
    }
    if count > MAX_REMOTE_KEYS {
        return Err(DocumentError::TooManyKeys { count });
    }
    // `parse_object` validated the body as UTF-8.
    core::str::from_utf8(body).map_err(|_| DocumentError::NotJson)
}

/// A cursor over an HTTP header field value (RFC 9110 §5.6 syntax), shared with
/// `Cache-Control` parsing.
#[derive(Debug)]
pub(super) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    pub(super) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// OWS: spaces and horizontal tabs.
    pub(super) fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// `token = 1*tchar` (RFC 9110 §5.6.2).
    pub(super) fn token(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        (self.pos > start)
            .then(|| self.text.get(start..self.pos))
            .flatten()
    }

    /// `token / quoted-string` (RFC 9110 §5.6.4): the token, or the quoted string's text with
    /// its quoted pairs resolved (an [`Argument`]).
    pub(super) fn argument(&mut self) -> Option<Argument<'a>> {
        if !self.eat(b'"') {
            return self.token().map(|t| Argument {
                raw: t,
                quoted: false,
            });
        }
        let start = self.pos;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    self.pos += 1;
                    match self.peek()? {
                        b'\t' | b' ' | 0x21..=0x7E | 0x80..=0xFF => self.pos += 1,
                        _ => return None,
                    }
                }
                b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF => self.pos += 1,
                _ => return None,
            }
        }
        let raw = self.text.get(start..self.pos)?;
        self.pos += 1; // the closing quote
        Some(Argument { raw, quoted: true })
    }
}

/// A parameter or directive argument: a token, or a quoted string still escaped.
#[derive(Clone, Copy, Debug)]
pub(super) struct Argument<'a> {
    raw: &'a str,
    quoted: bool,
}

impl Argument<'_> {
    /// The argument's characters, quoted pairs resolved.
    fn chars(&self) -> impl Iterator<Item = char> + '_ {
        let quoted = self.quoted;
        let mut escaped = false;
        self.raw.chars().filter(move |&c| {
            if quoted && !escaped && c == '\\' {
                escaped = true;
                return false;
            }
            escaped = false;
            true
        })
    }

    /// ASCII case-insensitive equality with `s`.
    pub(super) fn eq_ignore_ascii_case(&self, s: &str) -> bool {
        let mut mine = self.chars();
        let mut theirs = s.chars();
        loop {
            match (mine.next(), theirs.next()) {
                (None, None) => return true,
                (Some(a), Some(b)) if a.eq_ignore_ascii_case(&b) => {}
                _ => return false,
            }
        }
    }

    /// The argument as delta-seconds (RFC 9111 §1.2.2: `1*DIGIT`), saturated at
    /// [`MAX_DELTA_SECONDS`](super::MAX_DELTA_SECONDS); `None` when it is not digits.
    pub(super) fn delta_seconds(&self) -> Option<u64> {
        let mut value: u64 = 0;
        let mut any = false;
        for c in self.chars() {
            let d = c.to_digit(10)?;
            any = true;
            value = value
                .saturating_mul(10)
                .saturating_add(u64::from(d))
                .min(super::MAX_DELTA_SECONDS);
        }
        any.then_some(value)
    }
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use DocumentKind::*;

    #[test]
    fn content_types() {
        let ok: &[(DocumentKind, &str, MediaType)] = &[
            (Discovery, "application/json", MediaType::Json),
            (Discovery, "Application/JSON", MediaType::Json),
            (
                Discovery,
                "application/json; charset=utf-8",
                MediaType::Json,
            ),
            (Discovery, "application/json;charset=UTF-8", MediaType::Json),
            (
                Discovery,
                "application/json ; charset=\"utf-8\"",
                MediaType::Json,
            ),
            (
                Discovery,
                "application/json; charset=\"u\\tf-8\"",
                MediaType::Json,
            ),
            (Discovery, " application/json ", MediaType::Json),
            (Discovery, "application/json;", MediaType::Json),
            (
                Discovery,
                "application/json;;charset=utf-8;",
                MediaType::Json,
            ),
            (
                Discovery,
                "application/json; foo=bar; baz=\"a;b\"",
                MediaType::Json,
            ),
            (JwkSet, "application/json", MediaType::Json),
            (JwkSet, "application/jwk-set+json", MediaType::JwkSetJson),
            (
                JwkSet,
                "application/JWK-SET+JSON; charset=utf-8",
                MediaType::JwkSetJson,
            ),
        ];
        for &(kind, value, media) in ok {
            assert_eq!(check_content_type(kind, Some(value)), Ok(media), "{value}");
        }
        use ContentTypeError::*;
        let refused: &[(DocumentKind, Option<&str>, ContentTypeError)] = &[
            (JwkSet, None, Missing),
            (JwkSet, Some(""), Malformed),
            (JwkSet, Some("application"), Malformed),
            (JwkSet, Some("application/"), Malformed),
            (JwkSet, Some("/json"), Malformed),
            (JwkSet, Some("application /json"), Malformed),
            (JwkSet, Some("application/json charset=utf-8"), Malformed),
            (JwkSet, Some("application/json; charset"), Malformed),
            (JwkSet, Some("application/json; charset="), Malformed),
            (JwkSet, Some("application/json; charset=\"utf-8"), Malformed),
            (JwkSet, Some("application/json; charset=utf 8"), Malformed),
            (JwkSet, Some("application/json, text/html"), Malformed),
            (JwkSet, Some("application/json\r\n"), Malformed),
            (JwkSet, Some("text/json"), Unsupported),
            (JwkSet, Some("text/plain"), Unsupported),
            (JwkSet, Some("text/html; charset=utf-8"), Unsupported),
            (JwkSet, Some("application/octet-stream"), Unsupported),
            (JwkSet, Some("application/jwk+json"), Unsupported),
            (JwkSet, Some("application/jose+json"), Unsupported),
            (JwkSet, Some("application/json5"), Unsupported),
            (Discovery, Some("application/jwk-set+json"), Unsupported),
            (
                JwkSet,
                Some("application/json; charset=iso-8859-1"),
                Charset,
            ),
            (JwkSet, Some("application/json; charset=utf-16"), Charset),
            (JwkSet, Some("application/json; charset=\"\""), Charset),
            (
                JwkSet,
                Some("application/json; charset=utf-8; charset=latin1"),
                Charset,
            ),
        ];
        for &(kind, value, expected) in refused {
            assert_eq!(check_content_type(kind, value), Err(expected), "{value:?}");
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(check_status(200), Ok(()));
        for status in [301, 302, 303, 305, 307, 308, 300, 399] {
            assert_eq!(check_status(status), Err(FetchFailure::Redirect { status }));
        }
        for status in [
            0, 100, 201, 203, 204, 206, 304, 400, 404, 429, 500, 503, 599,
        ] {
            assert_eq!(check_status(status), Err(FetchFailure::Status { status }));
        }
    }

    #[test]
    fn document_length_bound_is_exact() {
        assert_eq!(check_len(MAX_DOCUMENT_LEN as u64), Ok(()));
        assert_eq!(
            check_len(MAX_DOCUMENT_LEN as u64 + 1),
            Err(DocumentError::TooLarge {
                len: MAX_DOCUMENT_LEN + 1
            })
        );
        assert!(matches!(
            check_len(u64::MAX),
            Err(DocumentError::TooLarge { .. })
        ));
        // A body of exactly MAX_DOCUMENT_LEN bytes is read; one more byte is refused.
        let head = r#"{"keys":[],"pad":""#;
        let mut body = String::from(head);
        body.push_str(&"a".repeat(MAX_DOCUMENT_LEN - head.len() - 2));
        body.push_str("\"}");
        assert_eq!(body.len(), MAX_DOCUMENT_LEN);
        assert!(check_jwk_set(body.as_bytes()).is_ok());
        body.push(' ');
        assert_eq!(
            check_jwk_set(body.as_bytes()),
            Err(DocumentError::TooLarge {
                len: MAX_DOCUMENT_LEN + 1
            })
        );
    }

    fn issuer(s: &str) -> IssuerUrl<'_> {
        IssuerUrl::parse(s).unwrap()
    }

    #[test]
    fn discovery_documents() {
        let gh = issuer("https://token.actions.githubusercontent.com");
        let doc = br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://token.actions.githubusercontent.com/.well-known/jwks","subject_types_supported":["public","pairwise"],"claims_supported":["sub","aud"]}"#;
        let read = DiscoveryDocument::read(doc, &gh).unwrap();
        assert_eq!(
            read.jwks_uri(),
            "https://token.actions.githubusercontent.com/.well-known/jwks"
        );
        // Escaped slashes (as PHP and some Java serialisers write them) decode first.
        let doc = br#"{"issuer":"https:\/\/token.actions.githubusercontent.com","jwks_uri":"https:\/\/keys.example\/jwks"}"#;
        assert_eq!(
            DiscoveryDocument::read(doc, &gh).unwrap().jwks_uri(),
            "https://keys.example/jwks"
        );
        // Loopback issuer, loopback keys.
        let local = issuer("http://127.0.0.1:8080");
        let doc = br#"{"issuer":"http://127.0.0.1:8080","jwks_uri":"http://127.0.0.1:8080/jwks"}"#;
        assert!(DiscoveryDocument::read(doc, &local).is_ok());
        // A loopback issuer may name remote keys.
        let doc = br#"{"issuer":"http://127.0.0.1:8080","jwks_uri":"https://keys.example/"}"#;
        assert!(DiscoveryDocument::read(doc, &local).is_ok());

        use DocumentError::*;
        let long = format!(
            r#"{{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://a.example/{}"}}"#,
            "a".repeat(MAX_URL_LEN)
        );
        let refused: &[(&[u8], DocumentError)] = &[
            (b"", NotJson),
            (b"[]", NotAnObject),
            (b"{\"issuer\":", NotJson),
            (b"\xff", NotJson),
            (b"{}", MemberMissing(Member::Issuer)),
            (br#"{"issuer":null,"jwks_uri":"https://k.example/"}"#, MemberType(Member::Issuer)),
            (br#"{"issuer":["https://token.actions.githubusercontent.com"]}"#, MemberType(Member::Issuer)),
            (br#"{"issuer":"https://token.actions.githubusercontent.com/","jwks_uri":"https://k.example/"}"#, IssuerMismatch),
            (br#"{"issuer":"https://TOKEN.actions.githubusercontent.com","jwks_uri":"https://k.example/"}"#, IssuerMismatch),
            (br#"{"issuer":"https://token.actions.githubusercontent.com ","jwks_uri":"https://k.example/"}"#, IssuerMismatch),
            (br#"{"issuer":"https://evil.example","jwks_uri":"https://k.example/"}"#, IssuerMismatch),
            (br#"{"issuer":"https://token.actions.githubusercontent.com","issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://k.example/"}"#, DuplicateMember),
            (br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://k.example/","jwks_\u0075ri":"https://evil.example/"}"#, DuplicateMember),
            (br#"{"issuer":"https://token.actions.githubusercontent.com"}"#, MemberMissing(Member::JwksUri)),
            (br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":{"u":"https://k.example/"}}"#, MemberType(Member::JwksUri)),
            (br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"http://k.example/"}"#, JwksUri(UrlError::HttpNotLoopback)),
            (br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://a@k.example/"}"#, JwksUri(UrlError::Userinfo)),
            (br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://k.example/#x"}"#, JwksUri(UrlError::Fragment)),
            (br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":""}"#, JwksUri(UrlError::Empty)),
            (br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://k.example/\u0000"}"#, JwksUri(UrlError::InvalidCharacter { at: 18 })),
            (br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"http://127.0.0.1/jwks"}"#, LoopbackJwksUri),
            (br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://localhost/jwks"}"#, LoopbackJwksUri),
            (br#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://[::1]/jwks"}"#, LoopbackJwksUri),
            (long.as_bytes(), JwksUri(UrlError::TooLong { len: MAX_URL_LEN + 18 })),
        ];
        for &(body, expected) in refused {
            assert_eq!(
                DiscoveryDocument::read(body, &gh),
                Err(expected),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let big = vec![b' '; MAX_DOCUMENT_LEN + 1];
        assert_eq!(
            DiscoveryDocument::read(&big, &gh),
            Err(TooLarge {
                len: MAX_DOCUMENT_LEN + 1
            })
        );
    }

    #[test]
    fn discovery_member_bound_is_the_json_readers() {
        let gh = issuer("https://token.actions.githubusercontent.com");
        let build = |members: usize| {
            let mut s = String::from(
                r#"{"issuer":"https://token.actions.githubusercontent.com","jwks_uri":"https://k.example/""#,
            );
            for i in 2..members {
                s.push_str(&format!(",\"m{i}\":[\"x\"]"));
            }
            s.push('}');
            s
        };
        let max = crate::limits::MAX_JSON_MEMBERS;
        assert!(DiscoveryDocument::read(build(max).as_bytes(), &gh).is_ok());
        assert_eq!(
            DiscoveryDocument::read(build(max + 1).as_bytes(), &gh),
            Err(DocumentError::TooManyMembers)
        );
    }

    #[test]
    fn jwk_sets() {
        let ok: &[(&str, usize)] = &[
            (r#"{"keys":[]}"#, 0),
            (r#"{"keys":[{"kty":"RSA"}]}"#, 1),
            (
                r#"{"keys":[{"kty":"RSA"},{"kty":"EC","x5c":["a"]}],"extra":1}"#,
                2,
            ),
        ];
        for &(body, _) in ok {
            assert_eq!(check_jwk_set(body.as_bytes()), Ok(body));
        }
        use DocumentError::*;
        let refused: &[(&str, DocumentError)] = &[
            ("", NotJson),
            ("{", NotJson),
            ("[{\"kty\":\"RSA\"}]", NotAnObject),
            ("{}", MemberMissing(Member::Keys)),
            (r#"{"keys":{}}"#, MemberType(Member::Keys)),
            (r#"{"keys":null}"#, MemberType(Member::Keys)),
            (r#"{"keys":[{"kty":"RSA"},1]}"#, KeyNotObject),
            (r#"{"keys":[[]]}"#, KeyNotObject),
            (r#"{"keys":[],"keys":[]}"#, DuplicateMember),
            (r#"{"keys":[],"k\u0065ys":[]}"#, DuplicateMember),
        ];
        for &(body, expected) in refused {
            assert_eq!(check_jwk_set(body.as_bytes()), Err(expected), "{body}");
        }
    }

    #[test]
    fn key_count_bound_is_exact() {
        let build = |n: usize| {
            let keys: Vec<&str> = (0..n).map(|_| r#"{"kty":"RSA"}"#).collect();
            format!(r#"{{"keys":[{}]}}"#, keys.join(","))
        };
        let fits = build(MAX_REMOTE_KEYS);
        assert!(check_jwk_set(fits.as_bytes()).is_ok());
        let over = build(MAX_REMOTE_KEYS + 1);
        assert_eq!(
            check_jwk_set(over.as_bytes()),
            Err(DocumentError::TooManyKeys {
                count: MAX_REMOTE_KEYS + 1
            })
        );
    }
}
