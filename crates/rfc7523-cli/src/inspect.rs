//! `rfc7523 inspect`: decode a token's header and claims, verifying nothing.
//!
//! Lenient on purpose (it is for looking at broken tokens): padding, the standard base64
//! alphabet and non-canonical final bits are accepted. It never says a token is valid:
//! the output always has `"verified":false`.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Args;
use serde_json::value::RawValue;

use crate::input::{read_bounded, Body};
use crate::output::{json_or_string, string_value, write_line, Inspected};
use crate::{Fatal, EXIT_INVALID, EXIT_VALID};

/// Longest input `inspect` reads from standard input: far more than any assertion (the
/// verifier's limit is 8 KiB), so that oversized tokens can be looked at too.
const MAX_INSPECT_LEN: usize = 1024 * 1024;

#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  rfc7523 inspect eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UifQ.c2ln
  {\"verified\":false,\"header\":{\"alg\":\"RS256\"},\"claims\":{\"iss\":\"joe\"}}

NOTHING IS VERIFIED: not the signature, not a single claim. Use `rfc7523 verify` to judge a
token. A part that is not JSON is shown as a string, one that cannot be decoded as null.
Exit status: 0 header and claims decoded as JSON, 1 otherwise (what failed on standard
error), 2 usage error.")]
pub struct InspectArgs {
    /// The token. Without it, standard input is read (surrounding white space ignored).
    #[arg(value_name = "TOKEN")]
    token: Option<String>,
}

pub fn run(args: &InspectArgs) -> Result<ExitCode, Fatal> {
    let input = match &args.token {
        Some(token) => token.clone(),
        None => {
            match read_bounded(io::stdin().lock(), MAX_INSPECT_LEN).map_err(|e| Fatal::input(&e))? {
                Body::Complete(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Body::TooLong => {
                    return Err(Fatal::usage(format_args!(
                        "the input is longer than {MAX_INSPECT_LEN} bytes"
                    )))
                }
            }
        }
    };
    let mut segments = input.trim().split('.');
    let mut problems = Vec::new();
    let header = decode_part(segments.next(), "header", &mut problems);
    let claims = decode_part(segments.next(), "claims", &mut problems);
    let inspected = Inspected {
        verified: false,
        header,
        claims,
    };
    let mut out = io::stdout().lock();
    write_line(&mut out, &inspected)
        .and_then(|()| out.flush())
        .map_err(|e| Fatal::output(&e))?;
    if problems.is_empty() {
        return Ok(ExitCode::from(EXIT_VALID));
    }
    // Best effort, like the error line of every command.
    let _ = writeln!(
        io::stderr(),
        "rfc7523: cannot decode the token: {}",
        problems.join("; ")
    );
    Ok(ExitCode::from(EXIT_INVALID))
}

/// One segment as JSON (or as a string, or `null`), noting what kept it from being JSON.
fn decode_part(
    segment: Option<&str>,
    name: &str,
    problems: &mut Vec<String>,
) -> Option<Box<RawValue>> {
    let Some(segment) = segment else {
        problems.push(format!("there is no {name} segment"));
        return None;
    };
    let Some(bytes) = base64url_lenient(segment) else {
        problems.push(format!("the {name} segment is not base64url"));
        return None;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        problems.push(format!("the {name} segment is not UTF-8"));
        return Some(string_value(&String::from_utf8_lossy(&bytes)));
    };
    if serde_json::from_str::<&RawValue>(text).is_err() {
        problems.push(format!("the {name} segment is not JSON"));
    }
    Some(json_or_string(text))
}

/// Decodes base64url leniently: `=` padding stripped, `+` and `/` accepted as `-` and `_`,
/// leftover bits ignored. `None` for any other character or an impossible length.
fn base64url_lenient(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from(acc >> bits).unwrap_or_default());
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_base64() {
        assert_eq!(base64url_lenient("aGk").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64url_lenient("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64url_lenient("aGl").as_deref(), Some(&b"hi"[..]));
        assert_eq!(
            base64url_lenient("-_+/").as_deref(),
            Some(&[0xfb, 0xff, 0xbf][..])
        );
        assert_eq!(base64url_lenient("").as_deref(), Some(&b""[..]));
        assert_eq!(base64url_lenient("a"), None);
        assert_eq!(base64url_lenient("a.b"), None);
    }
}
