//! The JSON lines the commands print: one object per line, built with serde_json.
//!
//! A token's header and claims are re-emitted as they were signed, member order and number
//! text included (a NumericDate such as `1.7e9`, or an integer too large for a double, keeps
//! its exact text), with only the white space between tokens removed so that every object
//! stays on one line.

use std::io::{self, Write};

use rfc7523::{Error, Relaxations, TokenError, Use};
use serde::Serialize;
use serde_json::value::RawValue;

/// `{"valid":true,"header":{...},"claims":{...}}`, with `"compat":[...]` when the assertion
/// relied on a party's compatibility relaxation.
#[derive(Debug, Serialize)]
pub struct Valid {
    /// Always `true`.
    pub valid: bool,
    /// The verified protected header.
    pub header: Box<RawValue>,
    /// The verified claims set.
    pub claims: Box<RawValue>,
    /// The compatibility relaxations it relied on (`rfc7523::compat`); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compat: Vec<&'static str>,
}

/// The names of `relaxations`, in reporting order.
pub fn compat_names(relaxations: Relaxations) -> Vec<&'static str> {
    relaxations.iter().map(|r| r.as_str()).collect()
}

/// `{"valid":false,"reason":"...","error":"invalid_grant|invalid_client","description":"..."}`,
/// with `"retry_after":N` for `keys_unavailable` (`error` `temporarily_unavailable`).
#[derive(Debug, Serialize)]
pub struct Invalid {
    /// Always `false`.
    pub valid: bool,
    /// The core's stable reason code.
    pub reason: &'static str,
    /// The OAuth error for the profile's use.
    pub error: &'static str,
    /// The core's description (never attacker text).
    pub description: String,
    /// `keys_unavailable`: seconds until the party's keys are fetched again (what a token
    /// endpoint sends as `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Invalid {
    /// The object for `error` judged as `use_`.
    pub fn new(error: &Error, use_: Use) -> Self {
        Self {
            valid: false,
            reason: error.reason().as_str(),
            error: error.oauth_error(use_).code(),
            description: error.to_string(),
            retry_after: error.retry_after(),
        }
    }
}

/// `{"ok":true,"use":"grant"|"client_authentication","grant_type":"...","claims":{...},
/// "client_authentication":"...","client_claims":{...}}`
#[derive(Debug, Serialize)]
pub struct Accepted<'a> {
    /// Always `true`.
    pub ok: bool,
    /// `grant` or `client_authentication`.
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// The request's `grant_type`.
    pub grant_type: &'a str,
    /// The claims of the assertion of that use: the grant's, else the client assertion's;
    /// absent when no assertion was judged (another grant type, the client authenticated by
    /// a method the caller verifies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Box<RawValue>>,
    /// The compatibility relaxations that assertion relied on; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compat: Vec<&'static str>,
    /// How the client authenticated: `none`, `client_assertion`, or `client_secret` /
    /// `authorization_header`, which the caller must verify.
    pub client_authentication: &'static str,
    /// The client assertion's claims, when the client authenticated with one (beside the
    /// grant's `claims` in a request that has both).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_claims: Option<Box<RawValue>>,
    /// The compatibility relaxations the client assertion relied on (beside a grant's
    /// `compat`); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_compat: Vec<&'static str>,
    /// The request's `client_id` parameter, when it had one: the client whose `client_secret`
    /// or `Authorization` credential the caller must verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
}

/// `{"ok":false,"status":400|401|503,"error":"...","error_description":"...","reason":"..."}`,
/// with `"retry_after":N` for `keys_unavailable`.
#[derive(Debug, Serialize)]
pub struct Refused {
    /// Always `false`.
    pub ok: bool,
    /// The HTTP status a token endpoint answers with.
    pub status: u16,
    /// The RFC 6749 §5.2 `error`.
    pub error: &'static str,
    /// The RFC 6749 §5.2 `error_description`, as the core renders it.
    pub error_description: String,
    /// The reason code, when an assertion was judged, and for a client authentication
    /// method this endpoint does not verify (`unsupported_client_authentication`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The HTTP `Retry-After` (seconds), for `keys_unavailable` (status 503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Refused {
    /// The object for a refused request.
    pub fn new(error: &TokenError) -> Self {
        let response = error.response();
        Self {
            ok: false,
            status: response.status(),
            error: response.error().code(),
            error_description: response.description().to_owned(),
            reason: match error {
                TokenError::UnsupportedClientAuthentication => Some(error.reason().as_str()),
                _ => error.assertion_error().map(|e| e.reason().as_str()),
            },
            retry_after: response.retry_after(),
        }
    }
}

/// `{"verified":false,"header":...,"claims":...}` (`inspect`).
#[derive(Debug, Serialize)]
pub struct Inspected {
    /// Always `false`: `inspect` checks nothing.
    pub verified: bool,
    /// The decoded header: its JSON, its text when it is not JSON, `null` when it could not be
    /// decoded.
    pub header: Option<Box<RawValue>>,
    /// The decoded payload, the same way.
    pub claims: Option<Box<RawValue>>,
}

/// Writes `value` as one line of JSON.
pub fn write_line(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// `text` as a JSON value on one line: itself without white space between tokens when it is
/// JSON, else a JSON string holding it.
pub fn json_or_string(text: &str) -> Box<RawValue> {
    // Checked before compacting: removing white space could join `1 2` into the JSON `12`.
    if serde_json::from_str::<&RawValue>(text).is_err() {
        return string_value(text);
    }
    RawValue::from_string(compact(text)).unwrap_or_else(|_| string_value(text))
}

/// `text` as a JSON string value.
pub fn string_value(text: &str) -> Box<RawValue> {
    let quoted = serde_json::to_string(text).unwrap_or_else(|_| String::from("\"\""));
    RawValue::from_string(quoted).unwrap_or_else(|_| empty_object())
}

/// `{}`.
pub fn empty_object() -> Box<RawValue> {
    // A constant literal: the fallback cannot fail, but stays panic-free all the same.
    RawValue::from_string(String::from("{}")).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// Removes the JSON white space (RFC 8259 §2: space, tab, `\n`, `\r`) outside strings. The
/// result is JSON exactly when `text` is; callers check it with serde_json.
pub fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_outside_strings_only() {
        assert_eq!(
            compact("{ \"a b\" :\r\n [1 , \"x\\\" y\" ,\t1.7e9 ] }"),
            "{\"a b\":[1,\"x\\\" y\",1.7e9]}"
        );
        assert_eq!(compact(r#"{"a":"\\", "b" : 1}"#), r#"{"a":"\\","b":1}"#);
    }

    #[test]
    fn json_is_kept_exactly_other_text_becomes_a_string() {
        assert_eq!(
            json_or_string("{\"exp\": 123456789012345678901234567890, \"z\":1, \"a\":2}").get(),
            r#"{"exp":123456789012345678901234567890,"z":1,"a":2}"#
        );
        assert_eq!(json_or_string(" {\"x\" : 1e400}\n").get(), r#"{"x":1e400}"#);
        assert_eq!(json_or_string("not json").get(), r#""not json""#);
        assert_eq!(json_or_string("1 2").get(), r#""1 2""#);
        assert_eq!(json_or_string("{\"a\":1} x").get(), r#""{\"a\":1} x""#);
        assert_eq!(empty_object().get(), "{}");
    }
}
