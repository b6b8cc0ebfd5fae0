//! `rfc7523 keys`: what key files hold, as the verifier reads them, one JSON line per key: its
//! `kid`, type, the algorithm it serves, its JWK thumbprint (RFC 7638), its certificate
//! thumbprint, and for a key from a certificate (a `CERTIFICATE` PEM, an X.509 map, a JWK's
//! `x5c`) the certificate's validity and whether `--now` is within it. Reported only: a key
//! whose certificate expired still verifies (see the README's "Keys from certificates").

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use base64ct::{Base64UrlUnpadded, Encoding};
use clap::Args;
use rfc7523::{KeyRef, KeySet, KeyType, MaterialRef, Validity};
use serde::Serialize;

use crate::output::write_line;
use crate::{keys, now, Fatal, EXIT_VALID};

#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  curl -s https://www.googleapis.com/service_accounts/v1/metadata/x509/$EMAIL > sa.json
  rfc7523 keys sa.json
  {\"file\":\"sa.json\",\"kid\":\"2f6c…\",\"kty\":\"RSA\",\"bits\":2048,\"alg\":\"RS256\",\
\"thumbprint\":\"…\",\"x5t#S256\":\"…\",\"not_before\":1767225600,\"not_after\":1769817600,\
\"validity\":\"valid\"}

Each FILE is what --keys and a registry's keys accept: a JWK Set, a JWK, an X.509 map (a JSON
object of kid -> PEM certificate, as Google publishes a service account's keys), a PEM PUBLIC
KEY, RSA PUBLIC KEY or CERTIFICATE. A certificate is never trusted as a chain: only its public
key and validity are read. \"validity\" (valid, expired, not_yet_valid, at --now) is reported,
not enforced: a key from an expired certificate still verifies.
Exit status: 0 every file read, 2 a file that cannot be (one line on standard error).")]
pub struct KeysArgs {
    /// Key files, each read on its own.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// The time certificates' validity is judged at, in Unix seconds [default: the system
    /// clock].
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<u64>,
}

/// One key, as printed.
#[derive(Debug, Serialize)]
struct KeyLine<'a> {
    file: String,
    /// `null` for a key without one.
    kid: Option<&'a str>,
    kty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    crv: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bits: Option<usize>,
    /// The algorithm it verifies when the party does not narrow it: its JWK `alg`, else its
    /// type's default.
    alg: &'static str,
    /// Serves tokens whatever their `kid` (a key given on its own without one).
    any_kid: bool,
    /// RFC 7638 JWK thumbprint, base64url.
    thumbprint: String,
    #[serde(rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    x5t_s256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    validity: Option<&'static str>,
}

pub fn run(args: &KeysArgs) -> Result<ExitCode, Fatal> {
    let now = now(args.now);
    let mut lines = Vec::new();
    // Every file is read before anything is printed: a bad file prints nothing.
    let sets: Vec<(String, Box<KeySet>)> = args
        .files
        .iter()
        .map(|path| Ok((path.display().to_string(), keys::load_one(path)?)))
        .collect::<Result<_, Fatal>>()?;
    for (file, set) in &sets {
        for key in set.iter() {
            lines.push(line(file, &key, now));
        }
    }
    let mut out = io::stdout().lock();
    for line in &lines {
        write_line(&mut out, line).map_err(|e| Fatal::output(&e))?;
    }
    out.flush().map_err(|e| Fatal::output(&e))?;
    Ok(ExitCode::from(EXIT_VALID))
}

fn line<'a>(file: &str, key: &KeyRef<'a>, now: u64) -> KeyLine<'a> {
    let material = key.material();
    let (kty, crv, bits) = match material {
        MaterialRef::Rsa(rsa) => ("RSA", None, Some(rsa.bits())),
        MaterialRef::P256(_) => ("EC", Some("P-256"), None),
        MaterialRef::Ed25519(_) => ("OKP", Some("Ed25519"), None),
    };
    let key_type: KeyType = material.key_type();
    let validity = key.validity();
    KeyLine {
        file: file.to_owned(),
        kid: key.kid(),
        kty,
        crv,
        bits,
        alg: key
            .pinned_algorithm()
            .unwrap_or_else(|| key_type.default_algorithm())
            .as_str(),
        any_kid: key.serves_any_kid(),
        thumbprint: b64url(&key.thumbprint()),
        x5t_s256: key.x5t_s256().map(|t| b64url(t)),
        not_before: validity.map(|v| v.not_before),
        not_after: validity.map(|v| v.not_after),
        validity: validity.map(|v| judge(&v, now)),
    }
}

/// Where `now` stands against a certificate's validity (RFC 5280 §4.1.2.5: both ends
/// included).
fn judge(validity: &Validity, now: u64) -> &'static str {
    if now < validity.not_before {
        "not_yet_valid"
    } else if now > validity.not_after {
        "expired"
    } else {
        "valid"
    }
}

fn b64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}
