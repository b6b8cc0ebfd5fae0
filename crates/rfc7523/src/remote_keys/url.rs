//! Where keys may come from: the URL rules for key sets (`jwks_uri`, RFC 7591 §2, RFC 7517
//! §5) and issuers found by discovery (RFC 8414 §2, OIDC Discovery 1.0 §3), and the discovery
//! URL of an issuer (RFC 8414 §3.1, OIDC Discovery 1.0 §4).
//!
//! Only what the rules need is parsed, strictly, in the RFC 3986 §3 shape
//! `scheme "://" host [ ":" port ] path [ "?" query ]`:
//!
//! - **Scheme**: exactly `https`; `http` only for a loopback host (`localhost`, 127.0.0.0/8,
//!   `::1`), for development and tests. Lowercase only: an upper-case scheme is legal URI
//!   syntax (RFC 3986 §3.1) but never needed in configuration, and refusing it keeps one
//!   spelling per URL.
//! - **Characters**: printable ASCII of RFC 3986 §2 only (unreserved, reserved and `%`); no
//!   white space, no `\` (WHATWG parsers read it as `/`), no non-ASCII (an IRI must be given
//!   in its URI form). `%` must start a `%HH` triplet.
//! - **Authority**: required; no userinfo (`https://a.example@b.example/` is refused, not read
//!   as host `b.example`); the host is a DNS name (letters, digits, `-`, labels of 1..=63
//!   characters, 253 at most, no empty label so no trailing dot), a dotted-quad IPv4 address
//!   in its one canonical spelling (four decimal parts 0..=255 without leading zeros), or a
//!   bracketed IPv6 address without a zone identifier (RFC 6874 zones are host-local).
//!   A host whose last label is numeric (`example.123`, `127.1`, `0x7f.1`, `2130706433`) but
//!   is not a canonical dotted quad is refused: WHATWG URL parsers (browsers, Node, Workers)
//!   read such hosts as IPv4 addresses in legacy notations, other parsers as names, and a key
//!   URL must mean the same host to every layer. Percent-encoding in the host is refused for
//!   the same reason. The port, when present, is 1..=65535 in decimal without leading zeros.
//! - **No fragment** (`#`, even empty): a fragment is never sent, so it can only mislead.
//!   Queries are allowed in key-set URLs (some providers select keys by query), never in an
//!   issuer (RFC 8414 §2: "no query or fragment components").
//! - **Bounded**: [`MAX_URL_LEN`] bytes.
//!
//! Loopback means exactly: the name `localhost` (ASCII case-insensitive; not its subdomains,
//! which RFC 6761 §6.3 lets resolvers answer as they like), an IPv4 address in 127.0.0.0/8, or
//! the IPv6 address `::1` (IPv4-mapped forms such as `::ffff:127.0.0.1` are not loopback
//! here). `http://127.0.0.1.evil.example/` names the host `127.0.0.1.evil.example` and is
//! refused.

use core::fmt;

/// Longest URL accepted, in bytes (key-set URLs, issuers and the discovery URLs built from
/// them). Well beyond real ones (GitHub's and Google's are under 60 bytes) and within what
/// every HTTP stack accepts in a request line.
pub const MAX_URL_LEN: usize = 2048;

/// Longest host name accepted, in bytes (RFC 1035 §2.3.4: 255 octets on the wire, 253 in
/// text).
pub const MAX_HOST_LEN: usize = 253;

/// Longest label of a host name (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a URL is refused.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlError {
    /// The URL is empty.
    Empty,
    /// The URL is longer than [`MAX_URL_LEN`].
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A byte that RFC 3986 does not allow in a URI (white space, control, `\`, `"`, `<`,
    /// `>`, `^`, `` ` ``, `{`, `|`, `}`, non-ASCII).
    InvalidCharacter {
        /// Its byte offset.
        at: usize,
    },
    /// A `%` not followed by two hexadecimal digits.
    PercentEncoding {
        /// The byte offset of the `%`.
        at: usize,
    },
    /// The scheme is neither `https` nor `http`.
    UnsupportedScheme,
    /// The scheme is `https` or `http` spelled with upper-case letters.
    SchemeNotLowercase,
    /// `http` for a host that is not loopback.
    HttpNotLoopback,
    /// No `//` authority after the scheme.
    MissingAuthority,
    /// The authority has userinfo (`user@host`).
    Userinfo,
    /// The host is empty.
    EmptyHost,
    /// The host is not a DNS name of letters, digits and `-` (bad character, empty label,
    /// label or name too long, `-` at the start or end of a label).
    InvalidHost,
    /// The host is percent-encoded.
    PercentEncodedHost,
    /// The host's last label is numeric but the host is not a canonical dotted-quad IPv4
    /// address.
    AmbiguousNumericHost,
    /// A bracketed IPv6 literal that is not a valid IPv6 address (RFC 4291 §2.2).
    InvalidIpv6,
    /// An IPv6 literal with a zone identifier (RFC 6874).
    Ipv6ZoneId,
    /// An `IPvFuture` literal (`[v1.x]`).
    IpvFuture,
    /// The port is empty, not decimal, has leading zeros, or is outside 1..=65535.
    InvalidPort,
    /// The URL has a fragment.
    Fragment,
    /// A query where none is allowed (an issuer identifier).
    Query,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            UrlError::Empty => f.write_str("the URL is empty"),
            UrlError::TooLong { len } => {
                write!(f, "the URL is {len} bytes, longer than {MAX_URL_LEN}")
            }
            UrlError::InvalidCharacter { at } => {
                write!(
                    f,
                    "the URL has a character not allowed in a URI at byte {at}"
                )
            }
            UrlError::PercentEncoding { at } => {
                write!(f, "the URL has an invalid percent-encoding at byte {at}")
            }
            UrlError::UnsupportedScheme => f.write_str("the URL's scheme must be https"),
            UrlError::SchemeNotLowercase => f.write_str("the URL's scheme must be lowercase"),
            UrlError::HttpNotLoopback => {
                f.write_str("http is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1)")
            }
            UrlError::MissingAuthority => f.write_str("the URL has no //host"),
            UrlError::Userinfo => f.write_str("the URL must not have userinfo (user@host)"),
            UrlError::EmptyHost => f.write_str("the URL's host is empty"),
            UrlError::InvalidHost => f.write_str("the URL's host is not a valid DNS name"),
            UrlError::PercentEncodedHost => f.write_str("the URL's host is percent-encoded"),
            UrlError::AmbiguousNumericHost => f.write_str(
                "the URL's host is numeric but not a dotted-quad IPv4 address in canonical form",
            ),
            UrlError::InvalidIpv6 => f.write_str("the URL's IPv6 address is invalid"),
            UrlError::Ipv6ZoneId => f.write_str("the URL's IPv6 address has a zone identifier"),
            UrlError::IpvFuture => f.write_str("the URL's host is an IPvFuture literal"),
            UrlError::InvalidPort => f.write_str("the URL's port is invalid"),
            UrlError::Fragment => f.write_str("the URL must not have a fragment"),
            UrlError::Query => f.write_str("an issuer identifier must not have a query"),
        }
    }
}

/// `https`, or `http` (loopback hosts only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `https`.
    Https,
    /// `http`: only ever with a loopback host.
    Http,
}

/// The host of a [`KeyUrl`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host<'a> {
    /// A DNS name, as written (case preserved).
    Name(&'a str),
    /// A dotted-quad IPv4 address.
    Ipv4([u8; 4]),
    /// A bracketed IPv6 address, as its eight 16-bit groups.
    Ipv6([u16; 8]),
}

impl Host<'_> {
    /// True for `localhost`, 127.0.0.0/8 and `::1`.
    pub fn is_loopback(&self) -> bool {
        match *self {
            Host::Name(name) => name.eq_ignore_ascii_case("localhost"),
            Host::Ipv4([a, ..]) => a == 127,
            Host::Ipv6(groups) => groups == [0, 0, 0, 0, 0, 0, 0, 1],
        }
    }
}

/// A URL that passed the rules of this module: where a key set or a discovery document may be
/// fetched from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUrl<'a> {
    text: &'a str,
    scheme: Scheme,
    host: Host<'a>,
    port: Option<u16>,
    /// Byte offset of the path (the end of the authority).
    path_start: usize,
}

impl<'a> KeyUrl<'a> {
    /// Checks `text` against the rules of this module (see the module docs).
    pub fn parse(text: &'a str) -> Result<Self, UrlError> {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Err(UrlError::Empty);
        }
        if bytes.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong { len: bytes.len() });
        }
        for (at, &b) in bytes.iter().enumerate() {
            if !is_uri_char(b) {
                return Err(UrlError::InvalidCharacter { at });
            }
            if b == b'%' {
                let hex = bytes.get(at + 1..at + 3).unwrap_or(&[]);
                if hex.len() != 2 || !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(UrlError::PercentEncoding { at });
                }
            }
        }
        if bytes.contains(&b'#') {
            return Err(UrlError::Fragment);
        }
        let (scheme_text, rest) = text.split_once(':').ok_or(UrlError::UnsupportedScheme)?;
        let scheme = match scheme_text {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            s if s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("http") => {
                return Err(UrlError::SchemeNotLowercase)
            }
            _ => return Err(UrlError::UnsupportedScheme),
        };
        let after_slashes = rest.strip_prefix("//").ok_or(UrlError::MissingAuthority)?;
        let authority_start = scheme_text.len() + 3;
        let authority_len = after_slashes
            .find(['/', '?'])
            .unwrap_or(after_slashes.len());
        let authority = after_slashes
            .get(..authority_len)
            .ok_or(UrlError::MissingAuthority)?;
        if authority.contains('@') {
            return Err(UrlError::Userinfo);
        }
        let (host, port_text) = split_host_port(authority)?;
        let port = match port_text {
            None => None,
            Some(p) => Some(parse_port(p)?),
        };
        if scheme == Scheme::Http && !host.is_loopback() {
            return Err(UrlError::HttpNotLoopback);
        }
        Ok(KeyUrl {
            text,
            scheme,
            host,
            port,
            path_start: authority_start + authority_len,
        })
    }

    /// The URL as given.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host.
    pub fn host(&self) -> Host<'a> {
        self.host
    }

    /// The port, when the URL names one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// True when the host is loopback (the only case where `http` is allowed).
    pub fn is_loopback(&self) -> bool {
        self.host.is_loopback()
    }

    /// The path and query, as given (empty when the URL ends after the authority).
    pub fn path_and_query(&self) -> &'a str {
        self.text.get(self.path_start..).unwrap_or("")
    }

    /// `scheme://authority`, as given.
    fn origin(&self) -> &'a str {
        self.text.get(..self.path_start).unwrap_or("")
    }

    /// The path, as given (no query).
    fn path(&self) -> &'a str {
        let pq = self.path_and_query();
        pq.split_once('?').map_or(pq, |(path, _)| path)
    }
}

impl fmt::Display for KeyUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

/// An issuer identifier to discover: a [`KeyUrl`] without a query (RFC 8414 §2, OIDC
/// Discovery 1.0 §3: "URL using the https scheme with no query or fragment component").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuerUrl<'a> {
    url: KeyUrl<'a>,
}

impl<'a> IssuerUrl<'a> {
    /// Checks `text` as an issuer identifier.
    pub fn parse(text: &'a str) -> Result<Self, UrlError> {
        let url = KeyUrl::parse(text)?;
        if url.path_and_query().contains('?') {
            return Err(UrlError::Query);
        }
        Ok(IssuerUrl { url })
    }

    /// The issuer identifier as given: what a discovery document's `issuer` must equal.
    pub fn as_str(&self) -> &'a str {
        self.url.as_str()
    }

    /// The issuer as a URL.
    pub fn url(&self) -> KeyUrl<'a> {
        self.url
    }

    /// Where this issuer's metadata is (see [`WellKnown`]).
    pub fn discovery_url(&self, well_known: WellKnown) -> Result<DiscoveryUrl, UrlError> {
        // OIDC Discovery 1.0 §4.1 and RFC 8414 §3.1: "any terminating / MUST be removed".
        let path = self.url.path().trim_end_matches('/');
        let origin = self.url.origin();
        let mut out = heapless::String::<MAX_URL_LEN>::new();
        let len = origin.len() + path.len() + well_known.path().len();
        let parts = match well_known {
            WellKnown::OpenIdConfiguration => [origin, path, well_known.path()],
            WellKnown::OAuthAuthorizationServer => [origin, well_known.path(), path],
        };
        for part in parts {
            out.push_str(part).map_err(|()| UrlError::TooLong { len })?;
        }
        Ok(DiscoveryUrl { text: out })
    }
}

impl fmt::Display for IssuerUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which metadata document an issuer publishes, and so where it is. Exactly one is fetched
/// per issuer: no fallback from one to the other (a fallback doubles the fetches of every
/// outage and hides a wrong configuration).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WellKnown {
    /// OIDC Discovery 1.0 §4: `{issuer}/.well-known/openid-configuration`, appended after
    /// the issuer's path (its terminating `/` removed). The default: every OpenID provider
    /// (GitHub Actions, Google, Microsoft Entra, Keycloak, GitLab, Okta) publishes it there.
    #[default]
    OpenIdConfiguration,
    /// RFC 8414 §3.1: `/.well-known/oauth-authorization-server` inserted between the host and
    /// the issuer's path (`https://as.example/tenant` →
    /// `https://as.example/.well-known/oauth-authorization-server/tenant`).
    OAuthAuthorizationServer,
}

impl WellKnown {
    /// The well-known path, with its leading `/`.
    pub const fn path(self) -> &'static str {
        match self {
            WellKnown::OpenIdConfiguration => "/.well-known/openid-configuration",
            WellKnown::OAuthAuthorizationServer => "/.well-known/oauth-authorization-server",
        }
    }
}

/// The URL of an issuer's discovery document, built by [`IssuerUrl::discovery_url`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryUrl {
    text: heapless::String<MAX_URL_LEN>,
}

impl DiscoveryUrl {
    /// The URL to fetch.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }
}

impl fmt::Display for DiscoveryUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RFC 3986 §2: unreserved, reserved, and `%`.
fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b':'
                | b'/'
                | b'?'
                | b'#'
                | b'['
                | b']'
                | b'@'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b'%'
        )
}

/// Splits the authority (no userinfo) into its host and the text of its port.
fn split_host_port(authority: &str) -> Result<(Host<'_>, Option<&str>), UrlError> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (literal, after) = bracketed.split_once(']').ok_or(UrlError::InvalidIpv6)?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(UrlError::InvalidHost)?),
        };
        if literal.starts_with(['v', 'V']) {
            return Err(UrlError::IpvFuture);
        }
        if literal.contains('%') {
            return Err(UrlError::Ipv6ZoneId);
        }
        return Ok((Host::Ipv6(parse_ipv6(literal)?), port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(UrlError::EmptyHost);
    }
    if host.contains('%') {
        return Err(UrlError::PercentEncodedHost);
    }
    if host.contains(['[', ']']) {
        return Err(UrlError::InvalidIpv6);
    }
    if host.len() > MAX_HOST_LEN {
        return Err(UrlError::InvalidHost);
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(UrlError::InvalidHost);
    }
    let last = host.rsplit('.').next().unwrap_or("");
    let numeric = (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
        || last.starts_with("0x")
        || last.starts_with("0X");
    if numeric {
        return parse_ipv4(host)
            .map(|a| (Host::Ipv4(a), port))
            .ok_or(UrlError::AmbiguousNumericHost);
    }
    for label in host.split('.') {
        let ok = (1..=MAX_LABEL_LEN).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(UrlError::InvalidHost);
        }
    }
    Ok((Host::Name(host), port))
}

/// 1..=65535, decimal, no leading zero.
fn parse_port(text: &str) -> Result<u16, UrlError> {
    if text.is_empty()
        || text.len() > 5
        || text.starts_with('0')
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(UrlError::InvalidPort);
    }
    text.parse::<u16>().map_err(|_| UrlError::InvalidPort)
}

/// A canonical dotted quad: four decimal parts 0..=255 without leading zeros.
fn parse_ipv4(text: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = text.split('.');
    for slot in out.iter_mut() {
        let part = parts.next()?;
        let canonical = !part.is_empty()
            && part.len() <= 3
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part == "0" || !part.starts_with('0'));
        if !canonical {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// RFC 4291 §2.2: eight groups of 1..=4 hex digits, `::` once for one or more zero groups,
/// the last 32 bits optionally as a dotted quad.
fn parse_ipv6(text: &str) -> Result<[u16; 8], UrlError> {
    let mut head = [0u16; 8];
    let mut tail = [0u16; 8];
    let (head_n, tail_n, compressed) = match text.split_once("::") {
        Some((h, t)) => {
            if t.contains("::") {
                return Err(UrlError::InvalidIpv6);
            }
            let head_n = ipv6_groups(h, &mut head, false)?;
            let tail_n = ipv6_groups(t, &mut tail, true)?;
            (head_n, tail_n, true)
        }
        None => (ipv6_groups(text, &mut head, true)?, 0, false),
    };
    let total = head_n + tail_n;
    if (compressed && total > 7) || (!compressed && total != 8) {
        return Err(UrlError::InvalidIpv6);
    }
    let mut out = [0u16; 8];
    for (o, h) in out.iter_mut().zip(head.iter().take(head_n)) {
        *o = *h;
    }
    for (o, t) in out
        .iter_mut()
        .skip(8 - tail_n)
        .zip(tail.iter().take(tail_n))
    {
        *o = *t;
    }
    Ok(out)
}

/// The groups of one side of `::` (or of a whole uncompressed address) into `out`; returns
/// their number. An empty side has none.
fn ipv6_groups(text: &str, out: &mut [u16; 8], ipv4_last: bool) -> Result<usize, UrlError> {
    if text.is_empty() {
        return Ok(0);
    }
    let mut n = 0;
    let mut pieces = text.split(':').peekable();
    while let Some(piece) = pieces.next() {
        let last = pieces.peek().is_none();
        if piece.contains('.') {
            let quad = parse_ipv4(piece)
                .filter(|_| last && ipv4_last)
                .ok_or(UrlError::InvalidIpv6)?;
            for pair in quad.chunks_exact(2) {
                let group = match *pair {
                    [hi, lo] => u16::from_be_bytes([hi, lo]),
                    _ => return Err(UrlError::InvalidIpv6),
                };
                *out.get_mut(n).ok_or(UrlError::InvalidIpv6)? = group;
                n += 1;
            }
        } else {
            if piece.is_empty() || piece.len() > 4 || !piece.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(UrlError::InvalidIpv6);
            }
            let group = u16::from_str_radix(piece, 16).map_err(|_| UrlError::InvalidIpv6)?;
            *out.get_mut(n).ok_or(UrlError::InvalidIpv6)? = group;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts() {
        let table: &[(&str, Scheme, Host<'_>, Option<u16>, &str)] = &[
            (
                "https://as.example",
                Scheme::Https,
                Host::Name("as.example"),
                None,
                "",
            ),
            (
                "https://as.example/",
                Scheme::Https,
                Host::Name("as.example"),
                None,
                "/",
            ),
            (
                "https://token.actions.githubusercontent.com/.well-known/jwks",
                Scheme::Https,
                Host::Name("token.actions.githubusercontent.com"),
                None,
                "/.well-known/jwks",
            ),
            (
                "https://login.example:8443/common/keys?appid=a%2Fb",
                Scheme::Https,
                Host::Name("login.example"),
                Some(8443),
                "/common/keys?appid=a%2Fb",
            ),
            // A name that starts like an address is a name; https is fine for it.
            (
                "https://127.0.0.1.evil.example/",
                Scheme::Https,
                Host::Name("127.0.0.1.evil.example"),
                None,
                "/",
            ),
            (
                "https://xn--bcher-kva.example/",
                Scheme::Https,
                Host::Name("xn--bcher-kva.example"),
                None,
                "/",
            ),
            (
                "https://AS.Example/",
                Scheme::Https,
                Host::Name("AS.Example"),
                None,
                "/",
            ),
            (
                "https://1.2.3.4:443/k",
                Scheme::Https,
                Host::Ipv4([1, 2, 3, 4]),
                Some(443),
                "/k",
            ),
            (
                "https://a-1.b2/",
                Scheme::Https,
                Host::Name("a-1.b2"),
                None,
                "/",
            ),
            (
                "https://a.example:65535",
                Scheme::Https,
                Host::Name("a.example"),
                Some(65535),
                "",
            ),
            (
                "https://a.example:1?",
                Scheme::Https,
                Host::Name("a.example"),
                Some(1),
                "?",
            ),
            (
                "https://[2001:db8::1]/",
                Scheme::Https,
                Host::Ipv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]),
                None,
                "/",
            ),
            // Loopback over http.
            (
                "http://localhost/jwks",
                Scheme::Http,
                Host::Name("localhost"),
                None,
                "/jwks",
            ),
            (
                "http://LocalHost:3000/",
                Scheme::Http,
                Host::Name("LocalHost"),
                Some(3000),
                "/",
            ),
            (
                "http://127.0.0.1:8080/jwks",
                Scheme::Http,
                Host::Ipv4([127, 0, 0, 1]),
                Some(8080),
                "/jwks",
            ),
            (
                "http://127.255.255.254/",
                Scheme::Http,
                Host::Ipv4([127, 255, 255, 254]),
                None,
                "/",
            ),
            (
                "http://[::1]:8080/",
                Scheme::Http,
                Host::Ipv6([0, 0, 0, 0, 0, 0, 0, 1]),
                Some(8080),
                "/",
            ),
            (
                "http://[0:0:0:0:0:0:0:1]/",
                Scheme::Http,
                Host::Ipv6([0, 0, 0, 0, 0, 0, 0, 1]),
                None,
                "/",
            ),
            (
                "http://[::0:1]/",
                Scheme::Http,
                Host::Ipv6([0, 0, 0, 0, 0, 0, 0, 1]),
                None,
                "/",
            ),
            (
                "https://[::]/",
                Scheme::Https,
                Host::Ipv6([0; 8]),
                None,
                "/",
            ),
            (
                "https://[::ffff:192.0.2.1]/",
                Scheme::Https,
                Host::Ipv6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]),
                None,
                "/",
            ),
            (
                "https://[1:2:3:4:5:6:7::]/",
                Scheme::Https,
                Host::Ipv6([1, 2, 3, 4, 5, 6, 7, 0]),
                None,
                "/",
            ),
            (
                "https://[1:2:3:4:5:6:1.2.3.4]/",
                Scheme::Https,
                Host::Ipv6([1, 2, 3, 4, 5, 6, 0x0102, 0x0304]),
                None,
                "/",
            ),
            (
                "https://a.example/%7euser/?q=%20&x=1",
                Scheme::Https,
                Host::Name("a.example"),
                None,
                "/%7euser/?q=%20&x=1",
            ),
        ];
        for &(text, scheme, host, port, pq) in table {
            let url = KeyUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(url.as_str(), text);
            assert_eq!(url.scheme(), scheme, "{text}");
            assert_eq!(url.host(), host, "{text}");
            assert_eq!(url.port(), port, "{text}");
            assert_eq!(url.path_and_query(), pq, "{text}");
            assert_eq!(url.is_loopback(), scheme == Scheme::Http, "{text}");
        }
    }

    #[test]
    fn refuses() {
        use UrlError::*;
        let long = format!("https://a.example/{}", "a".repeat(MAX_URL_LEN));
        let long_label = format!("https://{}.example/", "a".repeat(MAX_LABEL_LEN + 1));
        let long_host = format!("https://{}a/", "a.".repeat(MAX_HOST_LEN / 2 + 1));
        let table: &[(&str, UrlError)] = &[
            ("", Empty),
            (&long, TooLong { len: long.len() }),
            // Schemes.
            ("HTTPS://as.example/", SchemeNotLowercase),
            ("Https://as.example/", SchemeNotLowercase),
            ("HTTP://localhost/", SchemeNotLowercase),
            ("ftp://as.example/", UnsupportedScheme),
            ("file:///etc/passwd", UnsupportedScheme),
            ("https", UnsupportedScheme),
            ("//as.example/", UnsupportedScheme),
            ("javascript:alert(1)", UnsupportedScheme),
            ("https:as.example/", MissingAuthority),
            ("https:/as.example/", MissingAuthority),
            ("HTTPS://", SchemeNotLowercase),
            ("https://", EmptyHost),
            ("https:///jwks", EmptyHost),
            ("https://:443/", EmptyHost),
            ("https://?x", EmptyHost),
            // http only for loopback.
            ("http://as.example/", HttpNotLoopback),
            ("http://127.0.0.1.evil.example/", HttpNotLoopback),
            ("http://localhost.evil.example/", HttpNotLoopback),
            ("http://foo.localhost/", HttpNotLoopback),
            ("http://128.0.0.1/", HttpNotLoopback),
            ("http://10.0.0.1/", HttpNotLoopback),
            ("http://[::2]/", HttpNotLoopback),
            ("http://[::ffff:127.0.0.1]/", HttpNotLoopback),
            ("http://[::]/", HttpNotLoopback),
            // Userinfo, however spelled.
            ("https://a.example@b.example/", Userinfo),
            ("https://user:pass@as.example/", Userinfo),
            ("https://@as.example/", Userinfo),
            ("http://localhost@evil.example/", Userinfo),
            ("https://a.example%40b.example/", PercentEncodedHost),
            // Characters.
            (
                "https://a.example\\@b.example/",
                InvalidCharacter { at: 17 },
            ),
            ("https://as.example/ jwks", InvalidCharacter { at: 19 }),
            ("https://as.example/\tjwks", InvalidCharacter { at: 19 }),
            (" https://as.example/", InvalidCharacter { at: 0 }),
            ("https://as.example/\n", InvalidCharacter { at: 19 }),
            ("https://as.example/é", InvalidCharacter { at: 19 }),
            ("https://bücher.example/", InvalidCharacter { at: 9 }),
            ("https://as.example/{x}", InvalidCharacter { at: 19 }),
            ("https://as.example/a|b", InvalidCharacter { at: 20 }),
            ("https://as.example/<", InvalidCharacter { at: 19 }),
            ("https://as.example/\"", InvalidCharacter { at: 19 }),
            ("https://as.example/^", InvalidCharacter { at: 19 }),
            ("https://as.example/`", InvalidCharacter { at: 19 }),
            // Percent-encoding.
            ("https://as.example/%", PercentEncoding { at: 19 }),
            ("https://as.example/%4", PercentEncoding { at: 19 }),
            ("https://as.example/%zz", PercentEncoding { at: 19 }),
            ("https://as.example/%%41", PercentEncoding { at: 19 }),
            ("https://%61s.example/", PercentEncodedHost),
            ("http://%6c%6fcalhost/", PercentEncodedHost),
            ("http://127.0.0.%31/", PercentEncodedHost),
            // Fragments.
            ("https://as.example/jwks#", Fragment),
            ("https://as.example/jwks#k1", Fragment),
            ("https://as.example#@evil.example/", Fragment),
            // Hosts.
            ("https://as..example/", InvalidHost),
            ("https://.as.example/", InvalidHost),
            ("https://as.example./", InvalidHost),
            ("http://localhost./", InvalidHost),
            ("https://-as.example/", InvalidHost),
            ("https://as-.example/", InvalidHost),
            ("https://as_1.example/", InvalidHost),
            ("https://as.example!/", InvalidHost),
            ("https://a$b.example/", InvalidHost),
            (&long_label, InvalidHost),
            (&long_host, InvalidHost),
            ("https://as.example]/", InvalidIpv6),
            // Numeric hosts that WHATWG parsers would read as IPv4.
            ("http://127.1/", AmbiguousNumericHost),
            ("http://0177.0.0.1/", AmbiguousNumericHost),
            ("http://0x7f.0.0.1/", AmbiguousNumericHost),
            ("http://2130706433/", AmbiguousNumericHost),
            ("http://127.0.0.01/", AmbiguousNumericHost),
            ("http://127.0.0.1.1/", AmbiguousNumericHost),
            ("https://256.0.0.1/", AmbiguousNumericHost),
            ("https://example.123/", AmbiguousNumericHost),
            ("https://example.0x1/", AmbiguousNumericHost),
            ("https://1.2.3/", AmbiguousNumericHost),
            // IPv6.
            ("http://[::1/", InvalidIpv6),
            ("http://[::1]x/", InvalidHost),
            ("http://[::1]:/", InvalidPort),
            ("http://[fe80::1%25eth0]/", Ipv6ZoneId),
            ("http://[fe80::1%eth0]/", PercentEncoding { at: 15 }),
            ("http://[::1%2525]/", Ipv6ZoneId),
            ("https://[v1.fe]/", IpvFuture),
            ("https://[]/", InvalidIpv6),
            ("https://[1:2:3:4:5:6:7]/", InvalidIpv6),
            ("https://[1:2:3:4:5:6:7:8:9]/", InvalidIpv6),
            ("https://[1:2:3:4:5:6:7:8::]/", InvalidIpv6),
            ("https://[1::2::3]/", InvalidIpv6),
            ("https://[1:::2]/", InvalidIpv6),
            ("https://[12345::]/", InvalidIpv6),
            ("https://[g::]/", InvalidIpv6),
            ("https://[::1.2.3.4:1]/", InvalidIpv6),
            ("https://[::1.2.3]/", InvalidIpv6),
            ("https://[::01.2.3.4]/", InvalidIpv6),
            ("https://[1:2:3:4:5:6:7:1.2.3.4]/", InvalidIpv6),
            ("http://[::127.0.0.1]/", HttpNotLoopback),
            // Ports.
            ("https://as.example:/", InvalidPort),
            ("https://as.example:0/", InvalidPort),
            ("https://as.example:0443/", InvalidPort),
            ("https://as.example:65536/", InvalidPort),
            ("https://as.example:123456/", InvalidPort),
            ("https://as.example:-1/", InvalidPort),
            ("https://as.example:+443/", InvalidPort),
            ("https://as.example:443:443/", InvalidPort),
            ("https://as.example:https/", InvalidPort),
        ];
        for &(text, expected) in table {
            assert_eq!(KeyUrl::parse(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn length_bound_is_exact() {
        let prefix = "https://a.example/";
        let fits = format!("{prefix}{}", "a".repeat(MAX_URL_LEN - prefix.len()));
        assert!(KeyUrl::parse(&fits).is_ok());
        let over = format!("{fits}a");
        assert_eq!(
            KeyUrl::parse(&over),
            Err(UrlError::TooLong {
                len: MAX_URL_LEN + 1
            })
        );
        let label = "a".repeat(MAX_LABEL_LEN);
        assert!(KeyUrl::parse(&format!("https://{label}/")).is_ok());
        // 253 bytes: 63 + 1 + 63 + 1 + 63 + 1 + 61.
        let host = format!("{label}.{label}.{label}.{}", "a".repeat(61));
        assert_eq!(host.len(), MAX_HOST_LEN);
        assert!(KeyUrl::parse(&format!("https://{host}/")).is_ok());
        assert_eq!(
            KeyUrl::parse(&format!("https://{host}a/")),
            Err(UrlError::InvalidHost)
        );
    }

    #[test]
    fn issuers() {
        assert!(IssuerUrl::parse("https://token.actions.githubusercontent.com").is_ok());
        assert!(IssuerUrl::parse("http://127.0.0.1:9000/realms/test").is_ok());
        assert_eq!(
            IssuerUrl::parse("https://as.example/?tenant=1"),
            Err(UrlError::Query)
        );
        assert_eq!(
            IssuerUrl::parse("https://as.example?"),
            Err(UrlError::Query)
        );
        assert_eq!(
            IssuerUrl::parse("https://as.example/#"),
            Err(UrlError::Fragment)
        );
        assert_eq!(
            IssuerUrl::parse("http://as.example"),
            Err(UrlError::HttpNotLoopback)
        );
    }

    #[test]
    fn discovery_urls() {
        use WellKnown::*;
        let table: &[(&str, WellKnown, &str)] = &[
            (
                "https://token.actions.githubusercontent.com",
                OpenIdConfiguration,
                "https://token.actions.githubusercontent.com/.well-known/openid-configuration",
            ),
            (
                "https://accounts.google.com/",
                OpenIdConfiguration,
                "https://accounts.google.com/.well-known/openid-configuration",
            ),
            (
                "https://login.microsoftonline.com/tenant/v2.0",
                OpenIdConfiguration,
                "https://login.microsoftonline.com/tenant/v2.0/.well-known/openid-configuration",
            ),
            (
                "https://kc.example/realms/r/",
                OpenIdConfiguration,
                "https://kc.example/realms/r/.well-known/openid-configuration",
            ),
            (
                "http://127.0.0.1:8080",
                OpenIdConfiguration,
                "http://127.0.0.1:8080/.well-known/openid-configuration",
            ),
            // RFC 8414 §3.1's own example.
            (
                "https://example.com/issuer1",
                OAuthAuthorizationServer,
                "https://example.com/.well-known/oauth-authorization-server/issuer1",
            ),
            (
                "https://example.com/",
                OAuthAuthorizationServer,
                "https://example.com/.well-known/oauth-authorization-server",
            ),
            (
                "https://example.com",
                OAuthAuthorizationServer,
                "https://example.com/.well-known/oauth-authorization-server",
            ),
            (
                "http://[::1]:8080/a/b/",
                OAuthAuthorizationServer,
                "http://[::1]:8080/.well-known/oauth-authorization-server/a/b",
            ),
        ];
        for &(issuer, wk, expected) in table {
            let issuer = IssuerUrl::parse(issuer).unwrap();
            let url = issuer.discovery_url(wk).unwrap();
            assert_eq!(url.as_str(), expected);
            assert!(KeyUrl::parse(url.as_str()).is_ok());
        }
        assert_eq!(WellKnown::default(), OpenIdConfiguration);
        // An issuer that fits but whose discovery URL would not.
        let prefix = "https://a.example/";
        let issuer = format!("{prefix}{}", "a".repeat(MAX_URL_LEN - prefix.len()));
        let issuer = IssuerUrl::parse(&issuer).unwrap();
        assert!(matches!(
            issuer.discovery_url(OpenIdConfiguration),
            Err(UrlError::TooLong { .. })
        ));
    }
}
