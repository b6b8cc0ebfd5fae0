//! Key files: the public keys of the one party of `verify` and `token-request` without a
//! registry (`--keys`, merged into one set, loaded once per run), the private key of `sign`
//! (`--key`), and the bounded text reader the registry file shares.

use std::fs::File;
use std::path::{Path, PathBuf};

use rfc7523::limits::MAX_KEY_TEXT_LEN;
use rfc7523::sign::{AssertionSigner, MAX_PRIVATE_KEY_PEM_LEN};
use rfc7523::KeySet;

use crate::input::{read_bounded, Body};
use crate::Fatal;

/// Reads every `--keys` file (a JWK Set, a JWK, an X.509 map, an SPKI `PUBLIC KEY` PEM, a
/// PKCS#1 `RSA PUBLIC KEY` PEM or a `CERTIFICATE` PEM, detected from the content) into one set
/// of at most [`MAX_JWKS_KEYS`](rfc7523::limits::MAX_JWKS_KEYS) keys.
pub fn load_public(paths: &[PathBuf]) -> Result<Box<KeySet>, Fatal> {
    let mut merged: Box<KeySet> = Box::default();
    for path in paths {
        load_into(&mut merged, path)?;
    }
    Ok(merged)
}

/// The keys of one file (`rfc7523 keys`).
pub fn load_one(path: &Path) -> Result<Box<KeySet>, Fatal> {
    let mut set: Box<KeySet> = Box::default();
    load_into(&mut set, path)?;
    Ok(set)
}

/// Adds a file's keys to `set`; a refusal names the file (and an X.509 map's member).
fn load_into(set: &mut KeySet, path: &Path) -> Result<(), Fatal> {
    let text = read_text(path, MAX_KEY_TEXT_LEN)?;
    set.load_text_detailed(&text)
        .map_err(|e| Fatal::file(path, e))
}

/// Reads the private key of `sign`: a PKCS#8 `PRIVATE KEY` (RSA, P-256, Ed25519) or PKCS#1
/// `RSA PRIVATE KEY` PEM.
pub fn load_private(path: &Path) -> Result<AssertionSigner, Fatal> {
    let text = read_text(path, MAX_PRIVATE_KEY_PEM_LEN)?;
    AssertionSigner::from_pem(&text).map_err(|e| Fatal::file(path, e))
}

/// A file's text, refused past `max` bytes (without reading further) or when not UTF-8.
pub fn read_text(path: &Path, max: usize) -> Result<String, Fatal> {
    let file = File::open(path).map_err(|e| Fatal::file(path, e))?;
    match read_bounded(file, max).map_err(|e| Fatal::file(path, e))? {
        Body::Complete(bytes) => {
            String::from_utf8(bytes).map_err(|_| Fatal::file(path, "the file is not UTF-8 text"))
        }
        Body::TooLong => Err(Fatal::file(
            path,
            format!("the file is longer than {max} bytes"),
        )),
    }
}
