//! Helpers for the conformance tests: locating and loading the vectors in `vectors/`, hex and
//! base64url, the `openssl` command-line tool as an independent RSA implementation, a
//! temporary directory removed on drop, and a loopback HTTP server ([`http`]).
//!
//! Everything here panics with a message naming what failed: these are test helpers, and a
//! missing vector file or a missing `openssl` must fail the run, never skip it.

use std::ffi::OsStr;
use std::fmt;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64ct::{Base64UrlUnpadded, Encoding};

pub mod http;

/// The `vectors/` folder of this test crate (from `CARGO_MANIFEST_DIR`, so it does not depend
/// on the working directory).
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Reads `vectors/<rel>` as text.
///
/// # Panics
/// When the file cannot be read.
pub fn read_vector_text(rel: &str) -> String {
    let path = vectors_dir().join(rel);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()))
}

/// Reads and parses `vectors/<rel>` as JSON.
///
/// # Panics
/// When the file cannot be read or is not JSON.
pub fn load_json(rel: &str) -> serde_json::Value {
    let text = read_vector_text(rel);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("vectors/{rel} is not JSON: {e}"))
}

/// The SHA-256 groups of Wycheproof's RSA-2048 PKCS#1 v1.5 generation vectors, in file order.
/// Each carries a private key (`privateKeyPem`, PKCS#1) with its public forms (`keyPem`,
/// `keyJwk`, …): the tests sign with the first group's key and use a second one as "another
/// key".
pub fn sig_gen_2048_sha256_groups() -> Vec<serde_json::Value> {
    let doc = load_json("wycheproof/rsa_pkcs1_2048_sig_gen_test.json");
    let groups: Vec<serde_json::Value> = json_array(&doc["testGroups"], "testGroups")
        .iter()
        .filter(|group| group["sha"] == "SHA-256")
        .cloned()
        .collect();
    assert!(
        groups.len() >= 2,
        "expected two SHA-256 key groups, found {}",
        groups.len()
    );
    groups
}

/// Decodes a hex string (either case; Wycheproof writes lower case). An empty string is an
/// empty message.
///
/// # Panics
/// When `s` is not hex.
pub fn hex(s: &str) -> Vec<u8> {
    ::hex::decode(s).unwrap_or_else(|e| panic!("not hex ({e}): {s:?}"))
}

/// Encodes bytes as unpadded base64url (RFC 7515 §2), as in a compact JWS.
pub fn b64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Decodes canonical unpadded base64url; `None` when `s` is not that.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(s).ok()
}

/// A JSON value as a string slice.
///
/// # Panics
/// When `value` is not a JSON string; `what` names it in the message.
pub fn json_str<'v>(value: &'v serde_json::Value, what: &str) -> &'v str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a JSON string: {value}"))
}

/// A JSON value as an array.
///
/// # Panics
/// When `value` is not a JSON array; `what` names it in the message.
pub fn json_array<'v>(value: &'v serde_json::Value, what: &str) -> &'v [serde_json::Value] {
    value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("{what} is not a JSON array: {value}"))
}

/// A JSON value as an unsigned integer.
///
/// # Panics
/// When `value` is not a non-negative JSON integer; `what` names it in the message.
pub fn json_u64(value: &serde_json::Value, what: &str) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{what} is not an unsigned integer: {value}"))
}

/// Runs the `openssl` command-line tool with `args`, feeding it `stdin` (when given), and
/// returns its output whatever the exit status: the caller judges it.
///
/// `openssl` is the independent implementation the signature tests compare against; `cargo
/// xtask setup` installs it.
///
/// # Panics
/// When `openssl` cannot be started (in particular when it is not installed): the tests that
/// need it must fail, not skip.
pub fn openssl<I, S>(args: I, stdin: Option<&[u8]>) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new("openssl");
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "the `openssl` command-line tool is not installed (or not on PATH); \
             run `cargo xtask setup` to install it. These tests need it and never skip."
        ),
        Err(e) => panic!("cannot start `openssl`: {e}"),
    };
    if let Some(input) = stdin {
        // Take the pipe so that it is closed (EOF) once written.
        let mut pipe = child
            .stdin
            .take()
            .unwrap_or_else(|| panic!("openssl: no stdin pipe"));
        pipe.write_all(input)
            .unwrap_or_else(|e| panic!("cannot write to openssl's stdin: {e}"));
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for openssl failed: {e}"))
}

/// Runs [`openssl`] and returns its standard output.
///
/// # Panics
/// When `openssl` is missing or exits with a failure status (its stderr is in the message).
pub fn openssl_ok<I, S>(args: I, stdin: Option<&[u8]>) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let output = openssl(args.iter().map(AsRef::as_ref), stdin);
    if !output.status.success() {
        let shown: Vec<_> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        panic!(
            "`openssl {}` failed ({}): {}",
            shown.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output.stdout
}

/// A fresh directory under [`std::env::temp_dir`], removed with its contents on drop. Made
/// with `std` only; the name is unique per process, call and time.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates the directory; `prefix` makes it recognizable (`<prefix>-<pid>-<n>-<nanos>`).
    ///
    /// # Panics
    /// When no directory can be created.
    pub fn new(prefix: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::temp_dir();
        for _ in 0..16 {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default();
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
            // `create_dir`, not `create_dir_all`: it fails if the name is taken, so the
            // directory is ours alone.
            match std::fs::create_dir(&path) {
                Ok(()) => return Self { path },
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => panic!(
                    "cannot create a temporary directory {}: {e}",
                    path.display()
                ),
            }
        }
        panic!(
            "cannot find a free temporary directory name under {}",
            base.display()
        );
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `contents` to `name` inside the directory and returns its path.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }
}

impl fmt::Debug for TempDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TempDir").field(&self.path).finish()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover directory in the system temp dir is harmless, and panicking
        // in drop would hide the test's own failure.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Collects per-case failures of a table-driven test, so that one run reports every failing
/// case, then checks them together with the number of cases run.
#[derive(Debug, Default)]
pub struct Failures {
    family: String,
    failures: Vec<String>,
}

impl Failures {
    /// A collector for the vector family `family` (used in the final message).
    pub fn new(family: &str) -> Self {
        Self {
            family: family.to_owned(),
            failures: Vec::new(),
        }
    }

    /// Records a failure of case `case` (a tcId, a fixture id, …).
    pub fn push(&mut self, case: impl fmt::Display, what: impl fmt::Display) {
        self.failures.push(format!("{case}: {what}"));
    }

    /// Records a failure of `case` when `ok` is false.
    pub fn check(&mut self, ok: bool, case: impl fmt::Display, what: impl fmt::Display) {
        if !ok {
            self.push(case, what);
        }
    }

    /// The failures so far.
    pub fn as_slice(&self) -> &[String] {
        &self.failures
    }

    /// Asserts that no case failed, listing every failure otherwise.
    ///
    /// # Panics
    /// When a case failed.
    pub fn assert_none(&self) {
        assert!(
            self.failures.is_empty(),
            "{}: {} failing case(s):\n  {}",
            self.family,
            self.failures.len(),
            self.failures.join("\n  ")
        );
    }
}

/// `count` distinct RSA-2048 key pairs from Wycheproof's signature-generation vectors
/// (`rsa_pkcs1_2048_sig_gen_test.json`, every group, whatever its hash: only the keys are
/// used), as (PKCS#1 private key PEM, SPKI public key PEM), in file order.
///
/// # Panics
/// When the file has fewer distinct keys.
/// `R || S` (32 bytes each, RFC 7518 §3.4) from an ASN.1 DER `Ecdsa-Sig-Value` as
/// `openssl dgst` writes it.
pub fn der_to_raw(der: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> (&[u8], &[u8]) {
        assert_eq!(bytes[0], 0x02, "INTEGER expected: {bytes:02x?}");
        let len = usize::from(bytes[1]);
        (&bytes[2..2 + len], &bytes[2 + len..])
    }
    assert_eq!(der[0], 0x30, "SEQUENCE expected: {der:02x?}");
    assert_eq!(
        usize::from(der[1]),
        der.len() - 2,
        "short-form SEQUENCE length"
    );
    let (r, rest) = integer(&der[2..]);
    let (s, rest) = integer(rest);
    assert!(rest.is_empty(), "trailing bytes after s");
    let mut raw = vec![0u8; 64];
    let (r_half, s_half) = raw.split_at_mut(32);
    for (value, half) in [(r, r_half), (s, s_half)] {
        let value = &value[value.len().saturating_sub(32)..];
        half[32 - value.len()..].copy_from_slice(value);
    }
    raw
}

/// A fresh key pair made by `openssl genpkey` in `dir` for `alg` (RSA-2048 for RS256 and PS256,
/// P-256 for ES256, Ed25519 for EdDSA and Ed25519): the private key file (PKCS#8 PEM) and the
/// public key as `openssl pkey -pubout` writes it (SPKI PEM).
pub fn openssl_key_pair(dir: &TempDir, alg: rfc7523::Algorithm, name: &str) -> (PathBuf, String) {
    use rfc7523::Algorithm;
    let private = dir.join(&format!("{name}.pem"));
    let options: &[&str] = match alg {
        Algorithm::Rs256 | Algorithm::Ps256 => {
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        }
        Algorithm::Es256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        Algorithm::EdDsa | Algorithm::Ed25519 => &["-algorithm", "ed25519"],
    };
    let mut args: Vec<&OsStr> = vec!["genpkey".as_ref()];
    args.extend(options.iter().map(OsStr::new));
    args.extend(["-out".as_ref(), private.as_os_str()]);
    openssl_ok(args, None);
    let public = openssl_ok(
        [
            "pkey".as_ref(),
            "-in".as_ref(),
            private.as_os_str(),
            "-pubout".as_ref(),
        ],
        None,
    );
    let public = String::from_utf8(public).unwrap_or_else(|e| panic!("openssl's PEM: {e}"));
    (private, public)
}

pub fn distinct_2048_key_pairs(count: usize) -> Vec<(String, String)> {
    let doc = load_json("wycheproof/rsa_pkcs1_2048_sig_gen_test.json");
    let mut pairs: Vec<(String, String)> = Vec::new();
    for group in json_array(&doc["testGroups"], "testGroups") {
        let private = json_str(&group["privateKeyPem"], "privateKeyPem").to_owned();
        let public = json_str(&group["keyPem"], "keyPem").to_owned();
        if !pairs.iter().any(|(p, _)| *p == private) {
            pairs.push((private, public));
        }
    }
    assert!(
        pairs.len() >= count,
        "wanted {count} distinct keys, the file has {}",
        pairs.len()
    );
    pairs.truncate(count);
    pairs
}

/// The public JWK (RFC 7517, RFC 7518 §6.3.1) of an SPKI or PKCS#1 public key PEM, with
/// `kid`, as JSON text.
///
/// # Panics
/// When the PEM is not a usable RSA public key.
pub fn public_jwk(public_pem: &str, kid: &str) -> String {
    let key = rfc7523::RsaVerifyingKey::from_pem(public_pem)
        .unwrap_or_else(|e| panic!("public key PEM: {e}"));
    let mut n = vec![0u8; key.modulus_len()];
    let n = key
        .modulus(&mut n)
        .unwrap_or_else(|| panic!("modulus"))
        .to_vec();
    let e = key.exponent().to_be_bytes();
    let first = e.iter().position(|&b| b != 0).unwrap_or(e.len() - 1);
    serde_json::json!({
        "kty": "RSA",
        "kid": kid,
        "n": b64url(&n),
        "e": b64url(&e[first..]),
    })
    .to_string()
}

/// A claim's decoded text (claims are spans over the payload, decoded on demand), for
/// comparing with expected strings.
pub fn text(value: Option<rfc7523::ClaimStr<'_>>) -> Option<String> {
    value.map(|v| v.to_string())
}
