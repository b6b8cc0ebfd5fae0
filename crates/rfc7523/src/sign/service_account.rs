//! Google service accounts (feature `sign`): the JSON key file Google issues for a service
//! account, and the authorization grant its client libraries sign with it for Google's OAuth
//! 2.0 token endpoint (RFC 7523 §2.1 as Google profiles it).
//!
//! **The key file** ([`ServiceAccount::from_json`]) is Google's published format, not this
//! crate's configuration: its members are read by name and every other member (`project_id`,
//! `client_id`, `auth_uri`, `universe_domain`, …) is ignored, so files that gain members keep
//! working. Of the members read, every one is required and checked: `type` must be
//! `service_account` ([`SERVICE_ACCOUNT_TYPE`]); `private_key_id` (the header `kid`, 1 to
//! [`MAX_HEADER_STRING_LEN`] bytes); `private_key` (a PEM RSA key, 2048 to 8192 bits, read like
//! any other key: Google's are PKCS#8 `PRIVATE KEY`); `client_email` (`iss`) and `token_uri`
//! (`aud`), 1 to [`MAX_CLAIM_STRING_LEN`] bytes. The whole file is at most
//! [`MAX_SERVICE_ACCOUNT_LEN`] bytes, and must be strict JSON (no repeated member names).
//! Refusals are [`ServiceAccountError`]s naming the member.
//!
//! **The grant** ([`ServiceAccount::sign`]) is the one Google's own libraries send
//! (`google-auth` for Python, `service_account.Credentials`), member for member and byte for
//! byte when `token_uri` is Google's endpoint:
//!
//! - header `{"typ": "JWT", "alg": "RS256", "kid": private_key_id}`;
//! - claims `iat` (now), `exp` (now + [`SERVICE_ACCOUNT_LIFETIME`], one hour, fixed), `iss`
//!   (client_email), `aud` (token_uri), `scope` (the scopes joined by single spaces, at least
//!   one, each an RFC 6749 §3.3 scope-token, at most [`MAX_SCOPE_LEN`] bytes in all), and
//!   `sub` only with a subject (the user a domain-wide delegation acts for);
//! - **no `jti`**: google-auth sends none, and Google's endpoint does not ask for one;
//! - both objects written as Python's `json.dumps` writes them by default (members in that
//!   order, `", "` and `": "` between them, every character outside printable ASCII escaped
//!   as `\uXXXX` in lower-case hex). RS256 is deterministic (PKCS#1 v1.5), so the whole token
//!   is then identical to google-auth's.
//!
//! One difference, on purpose: google-auth (since 2.0, 2021) puts Google's endpoint
//! (`https://oauth2.googleapis.com/token`, [`GOOGLE_TOKEN_URI`]) in `aud` whatever the file's
//! `token_uri` says, and only posts to `token_uri`; this signer puts `token_uri` in `aud`, as
//! RFC 7523 §3 item 3 asks of a grant for the server at that endpoint. For every key file
//! Google issues the two are the same value.
//!
//! **Accepting such grants** (this crate's verifier, a trusted issuer per service account):
//! the grant has no `sub` without delegation and no `jti`, so the issuer's policy needs
//! `compat: ["missing_sub"]` ([`Compat::missing_sub`](crate::Compat)) and
//! `require_jti: false` ([`Checks::require_jti`](crate::Checks)), and a `max_lifetime` of at
//! least 3600 s (the default is exactly that).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::claims::MAX_CLAIM_STRING_LEN;
use crate::json::{self, JsonError, JsonStr, Value};
use crate::jws::{MAX_HEADER_LEN, MAX_HEADER_STRING_LEN, MAX_PAYLOAD_LEN, MAX_TOKEN_LEN};

use super::{check_value, AssertionSigner, KeyType, SignError};

/// Longest service-account key file accepted, in bytes (Google's are about 2.4 KB; an
/// 8192-bit key's would be about 7 KB).
pub const MAX_SERVICE_ACCOUNT_LEN: usize = 32 * 1024;

/// Longest `scope` claim, in bytes: the scopes joined by single spaces. With the other claims
/// at their own limits the claims set stays within [`MAX_PAYLOAD_LEN`].
pub const MAX_SCOPE_LEN: usize = 4096;

/// The lifetime of a service-account grant, in seconds: one hour, what google-auth signs and
/// the most Google's token endpoint accepts.
pub const SERVICE_ACCOUNT_LIFETIME: u64 = 3600;

/// The `type` of a service-account key file.
pub const SERVICE_ACCOUNT_TYPE: &str = "service_account";

/// Google's OAuth 2.0 token endpoint: the `token_uri` of the key files Google issues (and the
/// `aud` google-auth always signs, see the module docs).
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The grant type of RFC 7523 §2.1, the token request's `grant_type`.
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Why a service-account key file was refused. Each variant that concerns a member names it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceAccountError {
    /// The file is longer than [`MAX_SERVICE_ACCOUNT_LEN`].
    TooLarge {
        /// Its length in bytes.
        len: usize,
        /// [`MAX_SERVICE_ACCOUNT_LEN`].
        max: usize,
    },
    /// Not JSON (RFC 8259), or not UTF-8.
    NotJson,
    /// JSON, but not an object.
    NotAnObject,
    /// A member name appears twice: which one counts would be ambiguous.
    DuplicateMember,
    /// Nested deeper than [`MAX_JSON_DEPTH`](crate::limits::MAX_JSON_DEPTH), more than
    /// [`MAX_JSON_MEMBERS`](crate::limits::MAX_JSON_MEMBERS) members, or a number longer than
    /// [`MAX_NUMBER_LEN`](crate::limits::MAX_NUMBER_LEN).
    JsonLimit,
    /// A required member is absent (or `null`).
    MissingMember(&'static str),
    /// A member is not a JSON string.
    NotAString(&'static str),
    /// `type` is not `service_account` (an `authorized_user` file holds a user's refresh
    /// token, not a key).
    NotServiceAccount,
    /// A member is empty or longer than its limit (`private_key_id`:
    /// [`MAX_HEADER_STRING_LEN`]; `client_email`, `token_uri`: [`MAX_CLAIM_STRING_LEN`]).
    InvalidMember {
        /// The member.
        member: &'static str,
        /// Its longest allowed length in bytes.
        max: usize,
    },
    /// `private_key` could not be used (its reason).
    PrivateKey(SignError),
    /// `private_key` is not an RSA key: service-account grants are RS256.
    NotRsa(KeyType),
}

impl fmt::Display for ServiceAccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ServiceAccountError::TooLarge { len, max } => write!(
                f,
                "a service account key file of {len} bytes is longer than {max} bytes"
            ),
            ServiceAccountError::NotJson => f.write_str("not a JSON service account key file"),
            ServiceAccountError::NotAnObject => {
                f.write_str("a service account key file must be a JSON object")
            }
            ServiceAccountError::DuplicateMember => {
                f.write_str("a member of the service account key file appears twice")
            }
            ServiceAccountError::JsonLimit => f.write_str(
                "the service account key file is nested too deeply, has too many members \
                 or too long a number",
            ),
            ServiceAccountError::MissingMember(member) => write!(f, "\"{member}\" is missing"),
            ServiceAccountError::NotAString(member) => write!(f, "\"{member}\" must be a string"),
            ServiceAccountError::NotServiceAccount => write!(
                f,
                "\"type\" must be \"{SERVICE_ACCOUNT_TYPE}\" (a key file of a service account)"
            ),
            ServiceAccountError::InvalidMember { member, max } => {
                write!(f, "\"{member}\" must be 1 to {max} bytes long")
            }
            ServiceAccountError::PrivateKey(e) => write!(f, "\"private_key\": {e}"),
            ServiceAccountError::NotRsa(key_type) => write!(
                f,
                "\"private_key\": service account grants are RS256 and need an RSA key, not {} key",
                super::article(key_type)
            ),
        }
    }
}

impl core::error::Error for ServiceAccountError {}

/// A service account read from its key file: the RSA key and what the grant says with it.
#[derive(Clone)]
pub struct ServiceAccount {
    signer: AssertionSigner,
    private_key_id: String,
    client_email: String,
    token_uri: String,
}

impl fmt::Debug for ServiceAccount {
    /// The identifiers and the key's size only: never the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri)
            .field("bits", &self.signer.bits())
            .finish_non_exhaustive()
    }
}

/// What to put in a service-account grant besides what the key file says.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServiceAccountRequest<'a> {
    /// The scopes asked for, at least one, each an RFC 6749 §3.3 scope-token (printable ASCII
    /// except space, `"` and `\`); `scope` is them joined by single spaces, in this order.
    pub scopes: &'a [&'a str],
    /// `sub`: the user a domain-wide delegation acts for; no `sub` when `None`.
    pub subject: Option<&'a str>,
}

impl ServiceAccount {
    /// Reads Google's service-account key file (JSON text): see the module docs.
    pub fn from_json(text: &str) -> Result<Self, ServiceAccountError> {
        if text.len() > MAX_SERVICE_ACCOUNT_LEN {
            return Err(ServiceAccountError::TooLarge {
                len: text.len(),
                max: MAX_SERVICE_ACCOUNT_LEN,
            });
        }
        let object = json::parse_object(text.as_bytes()).map_err(|e| match e {
            JsonError::Syntax => ServiceAccountError::NotJson,
            JsonError::NotAnObject => ServiceAccountError::NotAnObject,
            JsonError::Duplicate => ServiceAccountError::DuplicateMember,
            JsonError::Depth | JsonError::Members | JsonError::NumberLength => {
                ServiceAccountError::JsonLimit
            }
        })?;
        let member = |name: &'static str| -> Result<JsonStr<'_>, ServiceAccountError> {
            match object.get(name) {
                None | Some(Value::Null) => Err(ServiceAccountError::MissingMember(name)),
                Some(Value::String(s)) => Ok(s),
                Some(_) => Err(ServiceAccountError::NotAString(name)),
            }
        };
        // In the order a reader fixes them: what the file is, then the key, then the claims.
        if !member("type")?.eq_str(SERVICE_ACCOUNT_TYPE) {
            return Err(ServiceAccountError::NotServiceAccount);
        }
        let private_key_id = bounded(
            member("private_key_id")?,
            "private_key_id",
            MAX_HEADER_STRING_LEN,
        )?;
        let pem: String = member("private_key")?.chars().collect();
        let signer = AssertionSigner::from_pem(&pem).map_err(ServiceAccountError::PrivateKey)?;
        if signer.key_type() != KeyType::Rsa {
            return Err(ServiceAccountError::NotRsa(signer.key_type()));
        }
        let client_email = bounded(
            member("client_email")?,
            "client_email",
            MAX_CLAIM_STRING_LEN,
        )?;
        let token_uri = bounded(member("token_uri")?, "token_uri", MAX_CLAIM_STRING_LEN)?;
        Ok(Self {
            signer,
            private_key_id,
            client_email,
            token_uri,
        })
    }

    /// `private_key_id`: the header's `kid`.
    pub fn private_key_id(&self) -> &str {
        &self.private_key_id
    }

    /// `client_email`: the grant's `iss`.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// `token_uri`: the grant's `aud`, and where its token request goes.
    pub fn token_uri(&self) -> &str {
        &self.token_uri
    }

    /// The RSA key (RS256), for anything else it should sign.
    pub fn signer(&self) -> &AssertionSigner {
        &self.signer
    }

    /// Builds and signs the grant at time `now` (Unix seconds): see the module docs.
    pub fn sign(
        &self,
        request: &ServiceAccountRequest<'_>,
        now: u64,
    ) -> Result<heapless::String<MAX_TOKEN_LEN>, SignError> {
        let scope = join_scopes(request.scopes)?;
        if let Some(subject) = request.subject {
            check_value("subject", subject)?;
        }
        let mut header = PyJson::new();
        header.member("typ", Field::Str("JWT"));
        header.member("alg", Field::Str(self.signer.algorithm().as_str()));
        header.member("kid", Field::Str(&self.private_key_id));
        let mut claims = PyJson::new();
        claims.member("iat", Field::Number(now));
        claims.member(
            "exp",
            Field::Number(now.saturating_add(SERVICE_ACCOUNT_LIFETIME)),
        );
        claims.member("iss", Field::Str(&self.client_email));
        claims.member("aud", Field::Str(&self.token_uri));
        claims.member("scope", Field::Str(&scope));
        if let Some(subject) = request.subject {
            claims.member("sub", Field::Str(subject));
        }
        let header = header
            .finish(MAX_HEADER_LEN)
            .ok_or(SignError::InvalidValue("kid"))?;
        let claims = claims
            .finish(MAX_PAYLOAD_LEN)
            .ok_or(SignError::InvalidValue("claims"))?;
        self.signer.sign_json(header.as_bytes(), claims.as_bytes())
    }
}

/// The token request body for `assertion` (RFC 7523 §2.1, RFC 6749 Appendix B), as
/// google-auth sends it: `assertion=…&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer`.
/// A compact JWS needs no percent-encoding (base64url and dots).
pub fn grant_request_body(assertion: &str) -> String {
    let mut body = String::with_capacity(assertion.len() + 80);
    body.push_str("assertion=");
    body.push_str(assertion);
    body.push_str("&grant_type=");
    for c in JWT_BEARER_GRANT_TYPE.chars() {
        match c {
            ':' => body.push_str("%3A"),
            c => body.push(c),
        }
    }
    body
}

/// The scopes of a space-separated `scope` value, as the layers take them (a CLI `--scope`,
/// an npm `scope` string): split on single spaces, so `"a  b"` gives an empty scope, refused.
pub fn split_scopes(value: &str) -> Vec<&str> {
    value.split(' ').collect()
}

/// The member decoded, 1 to `max` bytes long.
fn bounded(
    value: JsonStr<'_>,
    member: &'static str,
    max: usize,
) -> Result<String, ServiceAccountError> {
    let len = value.decoded_len();
    if len == 0 || len > max {
        return Err(ServiceAccountError::InvalidMember { member, max });
    }
    Ok(value.chars().collect())
}

/// The scopes joined by single spaces: at least one, each an RFC 6749 §3.3 scope-token
/// (`%x21 / %x23-5B / %x5D-7E`), at most [`MAX_SCOPE_LEN`] bytes in all.
fn join_scopes(scopes: &[&str]) -> Result<String, SignError> {
    if scopes.is_empty() {
        return Err(SignError::NoScope);
    }
    let len = scopes
        .iter()
        .fold(scopes.len() - 1, |len, s| len.saturating_add(s.len()));
    if len > MAX_SCOPE_LEN {
        return Err(SignError::ScopeTooLong {
            len,
            max: MAX_SCOPE_LEN,
        });
    }
    let mut joined = String::with_capacity(len);
    for (i, scope) in scopes.iter().enumerate() {
        let token = |b: &u8| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E);
        if scope.is_empty() || !scope.bytes().all(|b| token(&b)) {
            return Err(SignError::InvalidScope { index: i });
        }
        if i > 0 {
            joined.push(' ');
        }
        joined.push_str(scope);
    }
    Ok(joined)
}

/// A member value of [`PyJson`].
enum Field<'a> {
    Str(&'a str),
    Number(u64),
}

/// A flat JSON object written as Python's `json.dumps(obj)` writes it with its defaults:
/// `{"a": 1, "b": "c"}`, and strings with `ensure_ascii` (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`,
/// `\t`, and every other character outside U+0020..U+007E as `\uXXXX` in lower-case hex,
/// characters above U+FFFF as their UTF-16 surrogate pair). One type for the header and the
/// claims (not one per capacity: the npm sign module has no code to spare); the bound is
/// checked by [`PyJson::finish`].
struct PyJson {
    out: String,
    members: usize,
}

impl PyJson {
    fn new() -> Self {
        Self {
            out: String::new(),
            members: 0,
        }
    }

    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn member(&mut self, name: &str, value: Field<'_>) {
        self.push(if self.members == 0 { "{" } else { ", " });
        self.members += 1;
        self.string(name);
        self.push(": ");
        match value {
            Field::Str(s) => self.string(s),
            Field::Number(n) => {
                let mut digits = [0u8; 20];
                self.push(decimal(n, &mut digits));
            }
        }
    }

    fn string(&mut self, s: &str) {
        self.push("\"");
        for c in s.chars() {
            match c {
                '"' => self.push("\\\""),
                '\\' => self.push("\\\\"),
                '\n' => self.push("\\n"),
                '\r' => self.push("\\r"),
                '\t' => self.push("\\t"),
                '\u{8}' => self.push("\\b"),
                '\u{c}' => self.push("\\f"),
                ' '..='~' => {
                    let mut buf = [0u8; 4];
                    self.push(c.encode_utf8(&mut buf));
                }
                _ => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        self.unicode_escape(*unit);
                    }
                }
            }
        }
        self.push("\"");
    }

    fn unicode_escape(&mut self, unit: u16) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = *b"\\u0000";
        for (i, slot) in text.iter_mut().skip(2).enumerate() {
            let nibble = (unit >> (12 - 4 * i)) & 0xf;
            *slot = HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
        }
        self.push(core::str::from_utf8(&text).unwrap_or_default());
    }

    /// The object's text, or `None` when it is longer than `max` bytes.
    fn finish(mut self, max: usize) -> Option<String> {
        self.push(if self.members == 0 { "{}" } else { "}" });
        (self.out.len() <= max).then_some(self.out)
    }
}

/// `n` in decimal, written into `buf`.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut start = buf.len();
    loop {
        start -= 1;
        if let Some(slot) = buf.get_mut(start) {
            // `n % 10` < 10: the cast cannot truncate.
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    core::str::from_utf8(buf.get(start..).unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    //! The key file's members and refusals (each limit at its boundary), the grant's exact
    //! text (google-auth's `json.dumps` form), its signature, and the scope rules. The
    //! comparison with google-auth itself is `crates/rfc7523-cli/tests/google_auth.rs`.

    use super::*;
    use crate::RsaVerifyingKey;
    use base64ct::{Base64UrlUnpadded, Encoding};
    use serde_json::{json, Value};

    const NOW: u64 = 1_700_000_000;
    const EMAIL: &str = "robot@project-1.iam.gserviceaccount.com";
    const KID: &str = "0123456789abcdef0123456789abcdef01234567";

    /// Wycheproof's first RSA-2048 signature-generation key (PKCS#1 `RSA PRIVATE KEY`).
    fn rsa_pem() -> String {
        let path = format!(
            "{}/../../tests/vectors/wycheproof/rsa_pkcs1_2048_sig_gen_test.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v["testGroups"][0]["privateKeyPem"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A key file as Google writes it, members it adds included.
    fn key_file() -> Value {
        json!({
            "type": "service_account",
            "project_id": "project-1",
            "private_key_id": KID,
            "private_key": rsa_pem(),
            "client_email": EMAIL,
            "client_id": "123456789012345678901",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": GOOGLE_TOKEN_URI,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/robot",
            "universe_domain": "googleapis.com",
            "a_member_google_adds_later": {"nested": [1, 2, 3]},
        })
    }

    fn account() -> ServiceAccount {
        ServiceAccount::from_json(&key_file().to_string()).unwrap()
    }

    fn with(member: &str, value: Value) -> String {
        let mut file = key_file();
        file[member] = value;
        file.to_string()
    }

    fn without(member: &str) -> String {
        let mut file = key_file();
        file.as_object_mut().unwrap().remove(member);
        file.to_string()
    }

    fn decoded(token: &str, part: usize) -> String {
        let text = token.split('.').nth(part).unwrap();
        String::from_utf8(Base64UrlUnpadded::decode_vec(text).unwrap()).unwrap()
    }

    #[test]
    fn reads_googles_members_and_ignores_the_rest() {
        let account = account();
        assert_eq!(account.private_key_id(), KID);
        assert_eq!(account.client_email(), EMAIL);
        assert_eq!(account.token_uri(), GOOGLE_TOKEN_URI);
        assert_eq!(account.signer().algorithm(), crate::Algorithm::Rs256);
        assert_eq!(account.signer().bits(), 2048);
        let debug = format!("{account:?}");
        assert!(
            debug.contains(EMAIL) && !debug.contains("PRIVATE"),
            "{debug}"
        );
    }

    #[test]
    fn refusals_name_the_member() {
        use ServiceAccountError as E;
        let p256 = "-----BEGIN PRIVATE KEY-----\nMEECAQAwEwYHKoZIzj0CAQYIKoZIzj0DAQcEJzAlAgEBBCDJr6nYRboVdWtcIVdn\ntdaTUMPbNuibEnuKYisSDPZnIQ==\n-----END PRIVATE KEY-----\n";
        let cases: Vec<(String, ServiceAccountError)> = vec![
            ("".into(), E::NotJson),
            ("{".into(), E::NotJson),
            ("[]".into(), E::NotAnObject),
            (
                r#"{"type":"service_account","type":"x"}"#.into(),
                E::DuplicateMember,
            ),
            ("\"service_account\"".into(), E::NotAnObject),
            // Depth 16 (the object and 15 arrays) is read; 17 is not.
            (
                format!(r#"{{"a":{}{}}}"#, "[".repeat(15), "]".repeat(15)),
                E::MissingMember("type"),
            ),
            (
                format!(r#"{{"a":{}{}}}"#, "[".repeat(16), "]".repeat(16)),
                E::JsonLimit,
            ),
            (without("type"), E::MissingMember("type")),
            (with("type", Value::Null), E::MissingMember("type")),
            (with("type", json!("authorized_user")), E::NotServiceAccount),
            (
                with("type", json!(["service_account"])),
                E::NotAString("type"),
            ),
            (
                without("private_key_id"),
                E::MissingMember("private_key_id"),
            ),
            (
                with("private_key_id", json!(7)),
                E::NotAString("private_key_id"),
            ),
            (
                with("private_key_id", json!("")),
                E::InvalidMember {
                    member: "private_key_id",
                    max: MAX_HEADER_STRING_LEN,
                },
            ),
            (
                with(
                    "private_key_id",
                    json!("k".repeat(MAX_HEADER_STRING_LEN + 1)),
                ),
                E::InvalidMember {
                    member: "private_key_id",
                    max: MAX_HEADER_STRING_LEN,
                },
            ),
            (without("private_key"), E::MissingMember("private_key")),
            (
                with("private_key", json!("not a key")),
                E::PrivateKey(SignError::Key(crate::keys::KeyError::Malformed)),
            ),
            (
                with(
                    "private_key",
                    json!(rsa_pem().replace("RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY")),
                ),
                E::PrivateKey(SignError::EncryptedKey),
            ),
            (with("private_key", json!(p256)), E::NotRsa(KeyType::P256)),
            (without("client_email"), E::MissingMember("client_email")),
            (
                with("client_email", json!(false)),
                E::NotAString("client_email"),
            ),
            (
                with("client_email", json!("e".repeat(MAX_CLAIM_STRING_LEN + 1))),
                E::InvalidMember {
                    member: "client_email",
                    max: MAX_CLAIM_STRING_LEN,
                },
            ),
            (without("token_uri"), E::MissingMember("token_uri")),
            (
                with("token_uri", json!("")),
                E::InvalidMember {
                    member: "token_uri",
                    max: MAX_CLAIM_STRING_LEN,
                },
            ),
            (
                with("token_uri", json!("u".repeat(MAX_CLAIM_STRING_LEN + 1))),
                E::InvalidMember {
                    member: "token_uri",
                    max: MAX_CLAIM_STRING_LEN,
                },
            ),
        ];
        for (text, expected) in cases {
            let got = ServiceAccount::from_json(&text).unwrap_err();
            assert_eq!(got, expected, "{text:.80}");
            if let E::MissingMember(m) | E::NotAString(m) | E::InvalidMember { member: m, .. } =
                expected
            {
                assert!(got.to_string().contains(&format!("\"{m}\"")), "{got}");
            }
        }
        assert_eq!(
            E::NotRsa(KeyType::P256).to_string(),
            "\"private_key\": service account grants are RS256 and need an RSA key, not a P-256 key"
        );
        assert_eq!(
            E::NotServiceAccount.to_string(),
            "\"type\" must be \"service_account\" (a key file of a service account)"
        );
    }

    /// Each length limit passes at the limit (escapes decoded first) and fails one past it.
    #[test]
    fn limits_at_the_boundary() {
        for (member, max) in [
            ("private_key_id", MAX_HEADER_STRING_LEN),
            ("client_email", MAX_CLAIM_STRING_LEN),
            ("token_uri", MAX_CLAIM_STRING_LEN),
        ] {
            // "é" is 2 bytes decoded and 6 escaped (\u00e9): the limit counts decoded bytes.
            let at = format!("{}{}", "é".repeat(max / 2), "x".repeat(max % 2));
            let text = with(member, json!(at)).replace('é', "\\u00e9");
            assert!(text.contains("\\u00e9"));
            assert!(
                ServiceAccount::from_json(&text).is_ok(),
                "{member} at {max}"
            );
            let past = with(member, json!(format!("{at}x")));
            assert_eq!(
                ServiceAccount::from_json(&past).unwrap_err(),
                ServiceAccountError::InvalidMember { member, max },
            );
        }
        // The file: white space up to the limit passes, one byte more does not.
        let text = key_file().to_string();
        let at = format!("{text}{}", " ".repeat(MAX_SERVICE_ACCOUNT_LEN - text.len()));
        assert!(ServiceAccount::from_json(&at).is_ok());
        assert_eq!(
            ServiceAccount::from_json(&format!("{at} ")).unwrap_err(),
            ServiceAccountError::TooLarge {
                len: MAX_SERVICE_ACCOUNT_LEN + 1,
                max: MAX_SERVICE_ACCOUNT_LEN
            }
        );
    }

    /// The exact text google-auth signs (`json.dumps` defaults, its member order), and an
    /// RS256 signature over it that the verifier's own primitive accepts.
    #[test]
    fn the_grant_is_google_auths_text_and_verifies() {
        let account = account();
        let request = ServiceAccountRequest {
            scopes: &[
                "https://www.googleapis.com/auth/cloud-platform",
                "https://www.googleapis.com/auth/devstorage.read_only",
            ],
            subject: None,
        };
        let token = account.sign(&request, NOW).unwrap();
        assert_eq!(
            decoded(&token, 0),
            format!(r#"{{"typ": "JWT", "alg": "RS256", "kid": "{KID}"}}"#)
        );
        assert_eq!(
            decoded(&token, 1),
            format!(
                r#"{{"iat": 1700000000, "exp": 1700003600, "iss": "{EMAIL}", "aud": "https://oauth2.googleapis.com/token", "scope": "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/devstorage.read_only"}}"#
            )
        );
        let (input, signature) = token.rsplit_once('.').unwrap();
        let (n, e) = account.signer().public_components();
        let key = RsaVerifyingKey::from_components(&n, &e).unwrap();
        let signature = Base64UrlUnpadded::decode_vec(signature).unwrap();
        assert!(key.verify_rs256(input.as_bytes(), &signature));
        assert!(!key.verify_rs256(format!("{input}x").as_bytes(), &signature));
        // PKCS#1 v1.5 is deterministic: the same grant twice is the same token.
        assert_eq!(account.sign(&request, NOW).unwrap(), token);
        // With a subject (domain-wide delegation), `sub` comes last.
        let delegated = ServiceAccountRequest {
            scopes: &["email"],
            subject: Some("alice@example.com"),
        };
        let token = account.sign(&delegated, NOW).unwrap();
        assert!(decoded(&token, 1).ends_with(r#""scope": "email", "sub": "alice@example.com"}"#));
        assert!(!decoded(&token, 1).contains("jti"));
    }

    /// Strings escaped as Python's `json.dumps` escapes them (`ensure_ascii`), output taken
    /// from CPython 3.11.
    #[test]
    fn strings_are_escaped_as_json_dumps_does() {
        let subject = "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}/é€𝄞~ ";
        let token = account()
            .sign(
                &ServiceAccountRequest {
                    scopes: &["s"],
                    subject: Some(subject),
                },
                NOW,
            )
            .unwrap();
        let claims = decoded(&token, 1);
        assert!(
            claims.ends_with(
                r#""sub": "a\"b\\c\n\r\t\b\f\u0001\u001f\u007f/\u00e9\u20ac\ud834\udd1e~ "}"#
            ),
            "{claims}"
        );
        // And it reads back as the same string.
        let value: Value = serde_json::from_str(&claims).unwrap();
        assert_eq!(value["sub"], subject);
        let mut digits = [0u8; 20];
        assert_eq!(decimal(0, &mut digits), "0");
        assert_eq!(decimal(u64::MAX, &mut digits), "18446744073709551615");
    }

    #[test]
    fn scopes_and_subject() {
        let account = account();
        let sign = |scopes: &[&str], subject: Option<&str>| {
            account.sign(&ServiceAccountRequest { scopes, subject }, NOW)
        };
        assert_eq!(sign(&[], None).unwrap_err(), SignError::NoScope);
        for (scopes, index) in [
            (&["a", ""][..], 1),
            (&["a b"][..], 0),
            (&["ok", "ok", "\"q\""][..], 2),
            (&["back\\slash"][..], 0),
            (&["é"][..], 0),
            (&["del\u{7f}"][..], 0),
            (&["tab\t"][..], 0),
        ] {
            assert_eq!(
                sign(scopes, None).unwrap_err(),
                SignError::InvalidScope { index },
                "{scopes:?}"
            );
        }
        // Every scope-token character passes: %x21 / %x23-5B / %x5D-7E.
        let all: String = (0x21u8..=0x7e)
            .filter(|b| *b != b'"' && *b != b'\\')
            .map(char::from)
            .collect();
        assert!(sign(&[&all], None).is_ok());
        // MAX_SCOPE_LEN joined, spaces included: at the limit, and one past it.
        let half = "s".repeat(MAX_SCOPE_LEN / 2);
        let rest = "s".repeat(MAX_SCOPE_LEN - MAX_SCOPE_LEN / 2 - 1);
        let token = sign(&[&half, &rest], None).unwrap();
        let claims: Value = serde_json::from_str(&decoded(&token, 1)).unwrap();
        assert_eq!(claims["scope"].as_str().unwrap().len(), MAX_SCOPE_LEN);
        let past = format!("{rest}s");
        assert_eq!(
            sign(&[&half, &past], None).unwrap_err(),
            SignError::ScopeTooLong {
                len: MAX_SCOPE_LEN + 1,
                max: MAX_SCOPE_LEN
            }
        );
        // The subject: 1 to MAX_CLAIM_STRING_LEN bytes.
        assert_eq!(
            sign(&["s"], Some("")).unwrap_err(),
            SignError::InvalidValue("subject")
        );
        assert!(sign(&["s"], Some(&"u".repeat(MAX_CLAIM_STRING_LEN))).is_ok());
        assert_eq!(
            sign(&["s"], Some(&"u".repeat(MAX_CLAIM_STRING_LEN + 1))).unwrap_err(),
            SignError::InvalidValue("subject")
        );
        // Claims that escape to more than MAX_PAYLOAD_LEN (a control character is 6 bytes
        // escaped) are refused, not cut: every claim at its own limit can get there.
        let wide = "\u{1}".repeat(MAX_CLAIM_STRING_LEN);
        let mut file = key_file();
        file["client_email"] = json!(wide);
        file["token_uri"] = json!(wide);
        let wide_account = ServiceAccount::from_json(&file.to_string()).unwrap();
        let sign_wide = |scope: &str| {
            let request = ServiceAccountRequest {
                scopes: &[scope],
                subject: Some(&wide),
            };
            wide_account.sign(&request, NOW)
        };
        assert!(sign_wide("s").is_ok());
        assert_eq!(
            sign_wide(&"s".repeat(MAX_SCOPE_LEN)).unwrap_err(),
            SignError::InvalidValue("claims")
        );
        assert_eq!(split_scopes("a b"), ["a", "b"]);
        assert_eq!(split_scopes("a  b"), ["a", "", "b"]);
        assert_eq!(
            SignError::InvalidScope { index: 1 }.to_string(),
            "scope 2 is not an RFC 6749 scope (1 or more printable ASCII characters other than \
             space, \" and \\)"
        );
    }

    #[test]
    fn the_token_request_body_is_google_auths() {
        assert_eq!(
            grant_request_body("h.p.s"),
            "assertion=h.p.s&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
        );
    }
}
