//! The `rfc7523` binary, run as a process: its JSON lines, exit codes and error lines are a
//! public contract (issue 3), so they are checked here exactly, from the outside.
//!
//! Keys: the first SHA-256 group of Wycheproof's `rsa_pkcs1_2048_sig_gen_test.json` (the same
//! key pair as the conformance tests) signs; another group's key plays "a different key";
//! `rsa_pkcs1_1024_sig_gen_test.json` supplies a key that is too small. The registry's four
//! parties each have their own 2048-bit key: those two, the third SHA-256 group's, and the
//! RFC 7520 (JOSE cookbook) example key; `rsa_pkcs1_3072_sig_gen_test.json` supplies an
//! impostor's key of another size. Tokens come from `rfc7523 sign` itself where it can make
//! them, and from a hand-built RS256 signer (the `rsa` crate over arbitrary header and
//! payload bytes) for the claim sets it cannot.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use rfc7523::limits::{
    MAX_FORM_BODY_LEN, MAX_LEEWAY_SETTING, MAX_LIFETIME_SETTING, MAX_REGISTRY_LEN, MAX_TOKEN_LEN,
};
use rfc7523::Reason;
use rfc7523_conformance::{b64url, b64url_decode, load_json, openssl, openssl_ok, TempDir};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePublicKey, EncodePrivateKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};

/// The fixed time of the checks (2023-11-14T22:13:20Z).
const NOW: u64 = 1_700_000_000;
const NOW_ARG: &str = "1700000000";
/// The authorization server's issuer identifier.
const AS: &str = "https://as.example";
/// Its token endpoint (a registry's `token_endpoint`: also an accepted `aud` of grants).
const TOKEN_ENDPOINT: &str = "https://as.example/token";
/// A trusted grant issuer and its subject.
const ISSUER: &str = "https://issuer.example";
const SUBJECT: &str = "alice";
/// A registered client.
const CLIENT: &str = "s6BhdRkqt3";

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Panics with a message naming what failed (clippy's test exemption covers `#[test]`
/// functions, not these helpers; see `tests/support`).
trait OrPanic<T> {
    fn or_panic(self, what: &str) -> T;
}

impl<T, E: std::fmt::Debug> OrPanic<T> for Result<T, E> {
    fn or_panic(self, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{what}: {e:?}"))
    }
}

impl<T> OrPanic<T> for Option<T> {
    fn or_panic(self, what: &str) -> T {
        self.unwrap_or_else(|| panic!("{what}: missing"))
    }
}

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Each line of standard output as JSON.
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}\n{self:?}"))
            })
            .collect()
    }

    /// The single JSON line of standard output.
    fn line(&self) -> Value {
        let lines = self.lines();
        assert_eq!(lines.len(), 1, "expected one line: {self:?}");
        lines.into_iter().next().or_panic("a line")
    }

    /// Asserts a usage or configuration error: status 2, nothing on standard output, and
    /// exactly one `rfc7523: ` line on standard error containing `needle`.
    fn assert_usage_error(&self, needle: &str) {
        assert_eq!(self.code, 2, "{self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
        assert!(
            self.stderr.starts_with("rfc7523: ")
                && self.stderr.ends_with('\n')
                && self.stderr.lines().count() == 1,
            "not one error line: {self:?}"
        );
        assert!(self.stderr.contains(needle), "{needle:?} not in {self:?}");
    }
}

/// Runs `rfc7523 args…`, with `stdin` as its standard input (an empty one when `None`).
fn rfc7523<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rfc7523"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .or_panic("cannot start rfc7523");
    let mut pipe = child.stdin.take().or_panic("stdin pipe");
    let input = stdin.unwrap_or_default().to_vec();
    // Written from another thread: a large input must not block on a full output pipe.
    let writer = std::thread::spawn(move || {
        // The child may stop reading early (an argument was given): not an error here.
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().or_panic("waiting for rfc7523");
    writer.join().or_panic("stdin writer");
    Run {
        code: output.status.code().or_panic("exit code (not a signal)"),
        stdout: String::from_utf8(output.stdout).or_panic("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).or_panic("UTF-8 stderr"),
    }
}

/// Builds an argument list from string-like pieces.
fn args(pieces: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<std::ffi::OsString> {
    pieces.iter().map(|p| p.as_ref().to_owned()).collect()
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// Key files in a temporary directory, and the signing keys.
struct Keys {
    dir: TempDir,
    main: SigningKey<Sha256>,
    other: SigningKey<Sha256>,
    main_public: RsaPublicKey,
    other_public: RsaPublicKey,
    /// A third 2048-bit key (Wycheproof) and the RFC 7520 example key: with `main` and
    /// `other`, one key for each of the registry's four parties.
    third: RsaPrivateKey,
    cookbook: RsaPrivateKey,
    /// A 3072-bit key (Wycheproof), of no party.
    wide: RsaPrivateKey,
}

impl Keys {
    fn new() -> Self {
        let doc = load_json("wycheproof/rsa_pkcs1_2048_sig_gen_test.json");
        let groups: Vec<&Value> = doc["testGroups"]
            .as_array()
            .or_panic("testGroups")
            .iter()
            .filter(|g| g["sha"] == "SHA-256")
            .collect();
        let main = groups[0];
        let other = groups
            .iter()
            .find(|g| g["privateKeyPem"] != main["privateKeyPem"])
            .or_panic("a second SHA-256 key");
        let third = groups
            .iter()
            .find(|g| {
                g["privateKeyPem"] != main["privateKeyPem"]
                    && g["privateKeyPem"] != other["privateKeyPem"]
            })
            .or_panic("a third SHA-256 key");
        let text = |g: &Value, member: &str| g[member].as_str().or_panic(member).to_owned();
        let private = |pem: &str| RsaPrivateKey::from_pkcs1_pem(pem).or_panic("PKCS#1 key");
        let main_private = private(&text(main, "privateKeyPem"));
        let other_private = private(&text(other, "privateKeyPem"));
        let third_private = private(&text(third, "privateKeyPem"));
        let main_public = RsaPublicKey::from_public_key_pem(&text(main, "keyPem")).or_panic("SPKI");
        let other_public = other_private.to_public_key();
        let wide_doc = load_json("wycheproof/rsa_pkcs1_3072_sig_gen_test.json");
        let wide = private(&text(&wide_doc["testGroups"][0], "privateKeyPem"));

        let dir = TempDir::new("rfc7523-cli");
        dir.write("private.pem", text(main, "privateKeyPem"));
        dir.write(
            "private-pkcs8.pem",
            main_private
                .to_pkcs8_pem(LineEnding::LF)
                .or_panic("PKCS#8")
                .as_bytes(),
        );
        dir.write("other-private.pem", text(other, "privateKeyPem"));
        dir.write("public.pem", text(main, "keyPem"));
        dir.write("other-public.pem", text(other, "keyPem"));
        dir.write(
            "public-pkcs1.pem",
            main_public.to_pkcs1_pem(LineEnding::LF).or_panic("PKCS#1"),
        );
        let jwk = jwk_of(&main_public, Some("k1"));
        dir.write("public.jwk", jwk.to_string());
        dir.write(
            "public.jwks",
            json!({"keys": [
                // Skipped: a curve this verifier does not support.
                {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"},
                jwk,
            ]})
            .to_string(),
        );
        let small = load_json("wycheproof/rsa_pkcs1_1024_sig_gen_test.json");
        dir.write(
            "small-public.pem",
            small["testGroups"][0]["keyPem"].as_str().or_panic("keyPem"),
        );
        dir.write(
            "small-private.pem",
            small["testGroups"][0]["privateKeyPem"]
                .as_str()
                .or_panic("privateKeyPem"),
        );
        let sixteen: Vec<Value> = (0..16)
            .map(|i| jwk_of(&main_public, Some(&format!("k{i}"))))
            .collect();
        dir.write("sixteen.jwks", json!({ "keys": sixteen }).to_string());
        dir.write("garbage.txt", "this is not a key\n");
        dir.write("not-utf8.pem", b"\xff\xfe\xfd");
        Self {
            dir,
            main: SigningKey::new(main_private),
            other: SigningKey::new(other_private),
            main_public,
            other_public,
            third: third_private,
            cookbook: cookbook_private_key(),
            wide,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        assert!(path.is_file() || name.starts_with("missing"), "{name}");
        path
    }

    /// `verify` of the grant profile with the main key, plus `extra` (at [`NOW`] unless it
    /// sets `--now`).
    fn verify_grant(&self, extra: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut a = args(&[
            &"verify",
            &"--keys",
            &self.path("public.pem"),
            &"--issuer",
            &ISSUER,
            &"--audience",
            &AS,
        ]);
        a.extend(with_now(extra));
        rfc7523(&a, stdin)
    }

    /// `verify` of the client profile with the main key, plus `extra` (at [`NOW`] unless it
    /// sets `--now`).
    fn verify_client(&self, extra: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut a = args(&[
            &"verify",
            &"--keys",
            &self.path("public.pem"),
            &"--client-id",
            &CLIENT,
            &"--audience",
            &AS,
        ]);
        a.extend(with_now(extra));
        rfc7523(&a, stdin)
    }

    /// `rfc7523 sign --key <private.pem>` plus `extra` (at [`NOW`] unless it sets `--now`);
    /// the token.
    fn sign(&self, extra: &[&str]) -> String {
        self.sign_with("private.pem", extra)
    }

    /// `rfc7523 sign --key <private>` plus `extra` (at [`NOW`] unless it sets `--now`); the
    /// token.
    fn sign_with(&self, private: &str, extra: &[&str]) -> String {
        let mut a = args(&[&"sign", &"--key", &self.path(private)]);
        a.extend(with_now(extra));
        let run = rfc7523(&a, None);
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(run.stderr, "", "{run:?}");
        let token = run.stdout.strip_suffix('\n').or_panic("a final newline");
        assert_eq!(token.split('.').count(), 3, "{run:?}");
        token.to_owned()
    }

    /// A grant signed by `rfc7523 sign` (jti `jti`).
    fn grant(&self, jti: &str) -> String {
        self.sign(&[
            "--issuer",
            ISSUER,
            "--subject",
            SUBJECT,
            "--audience",
            AS,
            "--jti",
            jti,
        ])
    }

    /// A client assertion signed by `rfc7523 sign --client-auth` (jti `jti`).
    fn client_assertion(&self, jti: &str) -> String {
        self.sign(&[
            "--issuer",
            CLIENT,
            "--audience",
            AS,
            "--client-auth",
            "--jti",
            jti,
        ])
    }

    /// A client assertion of [`CLIENT`] signed with its key in [`Keys::endpoint_registry`]
    /// (the other key: the main key is the issuer's there).
    fn registered_client_assertion(&self, jti: &str) -> String {
        self.sign_with(
            "other-private.pem",
            &[
                "--issuer",
                CLIENT,
                "--audience",
                AS,
                "--client-auth",
                "--jti",
                jti,
            ],
        )
    }

    /// The registry of the `token-request` tests: [`ISSUER`] with the main key, [`CLIENT`]
    /// with the other key (one key set per party), written as `endpoint-registry.json`.
    fn endpoint_registry(&self) -> PathBuf {
        let doc = json!({
            "issuer": AS,
            "clients": [{
                "client_id": CLIENT,
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [jwk_of(&self.other_public, None)]},
            }],
            "issuers": [{
                "issuer": ISSUER,
                "jwks": {"keys": [jwk_of(&self.main_public, None)]},
            }],
        });
        self.dir.write("endpoint-registry.json", doc.to_string())
    }
}

/// The RFC 7520 §3.4 example private key (the JOSE cookbook's bilbo.baggins key, 2048 bits).
fn cookbook_private_key() -> RsaPrivateKey {
    let jwk = load_json("rfc/ietf-jose-cookbook/jwk/3_4.rsa_private_key.json");
    let int = |member: &str| {
        let text = jwk[member].as_str().or_panic(member);
        BigUint::from_bytes_be(&b64url_decode(text).or_panic(member))
    };
    RsaPrivateKey::from_components(int("n"), int("e"), int("d"), vec![int("p"), int("q")])
        .or_panic("the RFC 7520 key")
}

/// `extra`, preceded by `--now NOW` unless it sets `--now` itself.
fn with_now(extra: &[&str]) -> Vec<std::ffi::OsString> {
    let mut out = Vec::new();
    if !extra.contains(&"--now") {
        out.extend(["--now".into(), NOW_ARG.into()]);
    }
    out.extend(extra.iter().map(Into::into));
    out
}

/// The public JWK of `key`.
fn jwk_of(key: &RsaPublicKey, kid: Option<&str>) -> Value {
    let mut jwk = json!({
        "kty": "RSA",
        "n": b64url(&key.n().to_bytes_be()),
        "e": b64url(&key.e().to_bytes_be()),
    });
    if let Some(kid) = kid {
        jwk["kid"] = json!(kid);
    }
    jwk
}

/// An RS256 compact JWS over arbitrary header and payload bytes.
fn sign_raw(key: &SigningKey<Sha256>, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64url(header), b64url(payload));
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64url(&signature.to_bytes()))
}

/// An RS256 token with header `{"alg":"RS256","typ":"JWT"}` and `claims`.
fn sign_claims(key: &SigningKey<Sha256>, claims: &Value) -> String {
    sign_raw(
        key,
        br#"{"alg":"RS256","typ":"JWT"}"#,
        claims.to_string().as_bytes(),
    )
}

/// The grant claims every hand-built case starts from.
fn grant_claims() -> Value {
    json!({
        "iss": ISSUER, "sub": SUBJECT, "aud": AS, "exp": NOW + 300, "iat": NOW, "jti": "raw-1"
    })
}

/// [`grant_claims`] with `changes` (a `null` removes the claim).
fn grant_with(changes: Value) -> Value {
    let mut claims = grant_claims();
    for (name, value) in changes.as_object().or_panic("an object") {
        if value.is_null() {
            claims.as_object_mut().or_panic("claims").remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Help
// ---------------------------------------------------------------------------------------------

#[test]
fn every_help_has_an_example() {
    for command in [
        &[][..],
        &["verify"][..],
        &["token-request"][..],
        &["sign"][..],
        &["inspect"][..],
        &["keys"][..],
    ] {
        let mut a: Vec<&str> = command.to_vec();
        a.push("--help");
        let run = rfc7523(&a, None);
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(run.stderr, "");
        assert!(
            run.stdout.contains("Example"),
            "{command:?}: {}",
            run.stdout
        );
        assert!(run.stdout.contains("rfc7523 "), "{command:?}");
        assert!(run.stdout.contains("Exit status"), "{command:?}");
        // Where parties are configured, the registry is shown, and --keys only ever serves
        // one party (an example line, its continuation lines joined).
        if command
            .first()
            .is_none_or(|c| *c != "sign" && *c != "inspect" && *c != "keys")
        {
            assert!(
                run.stdout.contains("--registry registry.json"),
                "{command:?}"
            );
        }
        let examples = run.stdout.replace("\\\n", " ");
        for example in examples
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("rfc7523 "))
        {
            if example.contains("--keys") {
                let parties =
                    example.matches("--issuer ").count() + example.matches("--client-id ").count();
                assert_eq!(parties, 1, "{command:?}: {example}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// verify: every reason code, the output objects, exit codes
// ---------------------------------------------------------------------------------------------

#[test]
fn every_assertion_reason_code_is_reachable() {
    let keys = Keys::new();
    let raw = |claims: Value| sign_claims(&keys.main, &claims);
    let header = |header: &str| {
        sign_raw(
            &keys.main,
            header.as_bytes(),
            grant_claims().to_string().as_bytes(),
        )
    };
    let grant = keys.grant("g-1");
    let grant_2 = keys.grant("g-2");
    let two_lines = |a: &str, b: &str| format!("{a}\n{b}\n").into_bytes();

    // (expected reason, expected error, the run). The reason checked is the last line's.
    let cases: Vec<(&str, &str, Run)> = vec![
        (
            "malformed",
            "invalid_grant",
            keys.verify_grant(&["not-a-jwt"], None),
        ),
        (
            "too_large",
            "invalid_grant",
            keys.verify_grant(&[&"a".repeat(MAX_TOKEN_LEN + 1)], None),
        ),
        (
            "unsupported_algorithm",
            "invalid_grant",
            keys.verify_grant(&[&header(r#"{"alg":"HS256","typ":"JWT"}"#)], None),
        ),
        (
            "unsupported_header",
            "invalid_grant",
            keys.verify_grant(&[&header(r#"{"alg":"RS256","crit":["exp"]}"#)], None),
        ),
        (
            // A kid that names no key of the party's JWK Set (no fallback to other keys).
            "unknown_key",
            "invalid_grant",
            rfc7523(
                &args(&[
                    &"verify",
                    &"--keys",
                    &keys.path("public.jwks"),
                    &"--issuer",
                    &ISSUER,
                    &"--audience",
                    &AS,
                    &"--now",
                    &NOW_ARG,
                    &header(r#"{"alg":"RS256","kid":"k9"}"#),
                ]),
                None,
            ),
        ),
        (
            // A client that is not registered: an issuer problem, not a key problem.
            "issuer_mismatch",
            "invalid_client",
            keys.verify_client(
                &[&keys.sign(&["--issuer", "stranger", "--audience", AS, "--client-auth"])],
                None,
            ),
        ),
        (
            "invalid_signature",
            "invalid_grant",
            keys.verify_grant(&[&sign_claims(&keys.other, &grant_claims())], None),
        ),
        (
            "missing_claim",
            "invalid_grant",
            keys.verify_grant(&[&raw(grant_with(json!({"exp": null})))], None),
        ),
        (
            "invalid_claim",
            "invalid_grant",
            keys.verify_grant(&[&raw(grant_with(json!({"exp": "1700000300"})))], None),
        ),
        (
            "issuer_mismatch",
            "invalid_grant",
            keys.verify_grant(
                &[&raw(grant_with(json!({"iss": "https://evil.example"})))],
                None,
            ),
        ),
        (
            "subject_mismatch",
            "invalid_grant",
            keys.verify_grant(&["--subject", "bob", &grant], None),
        ),
        (
            "audience_mismatch",
            "invalid_grant",
            keys.verify_grant(
                &[&raw(grant_with(json!({"aud": "https://other.example"})))],
                None,
            ),
        ),
        (
            "expired",
            "invalid_grant",
            keys.verify_grant(&["--now", "1700001000", &grant], None),
        ),
        (
            "not_yet_valid",
            "invalid_grant",
            keys.verify_grant(&[&raw(grant_with(json!({"nbf": NOW + 1000})))], None),
        ),
        (
            "issued_in_future",
            "invalid_grant",
            keys.verify_grant(&[&raw(grant_with(json!({"iat": NOW + 1000})))], None),
        ),
        (
            "lifetime_too_long",
            "invalid_grant",
            keys.verify_grant(&["--max-lifetime", "60", &grant], None),
        ),
        (
            "too_old",
            "invalid_grant",
            keys.verify_grant(&["--max-age", "10", "--now", "1700000100", &grant], None),
        ),
        (
            "replayed",
            "invalid_grant",
            keys.verify_grant(&[], Some(&two_lines(&grant, &grant))),
        ),
        (
            "replay_store_full",
            "invalid_grant",
            keys.verify_grant(
                &["--replay-capacity", "1"],
                Some(&two_lines(&grant, &grant_2)),
            ),
        ),
        (
            "invalid_type",
            "invalid_grant",
            // A client assertion's type on a grant (RFC 8725 section 3.11).
            keys.verify_grant(
                &[&header(
                    r#"{"alg":"RS256","typ":"client-authentication+jwt"}"#,
                )],
                None,
            ),
        ),
    ];

    let mut seen = BTreeSet::new();
    for (reason, error, run) in &cases {
        assert_eq!(run.code, 1, "{reason}: {run:?}");
        assert_eq!(run.stderr, "", "{reason}: {run:?}");
        let lines = run.lines();
        let last = lines.last().expect("a line");
        assert_eq!(last["valid"], false, "{reason}: {run:?}");
        assert_eq!(last["reason"], *reason, "{run:?}");
        assert_eq!(last["error"], *error, "{reason}: {run:?}");
        assert!(last["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(
            last.as_object().unwrap().len(),
            4,
            "exactly valid, reason, error, description: {last}"
        );
        // Batches: every line before the last was valid.
        for earlier in &lines[..lines.len() - 1] {
            assert_eq!(earlier["valid"], true, "{reason}: {run:?}");
        }
        seen.insert(*reason);
    }

    // The one request-level refusal with a reason: a client_secret this endpoint does not
    // verify.
    let run = rfc7523(
        &args(&[
            &"token-request",
            &"--registry",
            &keys.endpoint_registry(),
            &"grant_type=client_credentials&client_id=s6BhdRkqt3&client_secret=x",
        ]),
        None,
    );
    assert_eq!(run.code, 1, "{run:?}");
    let reason = run.line()["reason"].as_str().or_panic("reason").to_owned();
    assert_eq!(reason, "unsupported_client_authentication");
    seen.insert(Reason::UnsupportedClientAuthentication.as_str());

    // An outage, not a bad assertion: the issuer's keys are fetched from a jwks_uri where
    // nothing answers (port 9, discard, is not served here): keys_unavailable, 503's
    // temporarily_unavailable.
    let unreachable = keys.dir.write(
        "unreachable-registry.json",
        json!({
            "issuer": AS,
            "issuers": [{ "issuer": ISSUER, "jwks_uri": "http://127.0.0.1:9/jwks" }],
        })
        .to_string(),
    );
    let run = rfc7523(
        &args(&[
            &"verify",
            &"--registry",
            &unreachable,
            &"--now",
            &NOW_ARG,
            &keys.grant("g-9"),
        ]),
        None,
    );
    let line = run.line();
    assert_eq!(
        (&line["reason"], &line["error"], &line["retry_after"]),
        (
            &json!("keys_unavailable"),
            &json!("temporarily_unavailable"),
            &json!(rfc7523::limits::REFETCH_COOLDOWN)
        ),
        "{run:?}"
    );
    assert_eq!(run.code, 3, "an outage, not an invalid token: {run:?}");
    assert!(
        run.stderr
            .contains("GET http://127.0.0.1:9/jwks: the connection failed"),
        "{run:?}"
    );
    seen.insert(Reason::KeysUnavailable.as_str());

    // An issuer's claim conditions (workload identity): a grant from another repository is
    // claim_mismatch, its output the same four members as every refusal, the claim named in
    // the description and the token's value nowhere.
    let conditioned = keys.dir.write(
        "conditions-registry.json",
        json!({
            "issuer": AS,
            "issuers": [{
                "issuer": ISSUER,
                "jwks": {"keys": [jwk_of(&keys.main_public, None)]},
                "claims": {"repository": "octo-org/octo-repo"},
            }],
        })
        .to_string(),
    );
    for (claims, valid) in [
        (
            grant_with(json!({"repository": "octo-org/octo-repo"})),
            true,
        ),
        (
            grant_with(json!({"repository": "evil-org/octo-repo"})),
            false,
        ),
    ] {
        let run = rfc7523(
            &args(&[
                &"verify",
                &"--registry",
                &conditioned,
                &"--now",
                &NOW_ARG,
                &raw(claims),
            ]),
            None,
        );
        let line = run.line();
        assert_eq!(line["valid"], valid, "{run:?}");
        if !valid {
            assert_eq!(run.code, 1, "{run:?}");
            assert_eq!(
                (&line["reason"], &line["error"]),
                (&json!("claim_mismatch"), &json!("invalid_grant")),
                "{run:?}"
            );
            assert_eq!(line.as_object().map(|o| o.len()), Some(4), "{line}");
            let description = line["description"].as_str().or_panic("description");
            assert!(description.contains("repository claim"), "{description}");
            assert!(!run.stdout.contains("evil-org"), "{run:?}");
        }
    }
    seen.insert(Reason::ClaimMismatch.as_str());

    // Every reason an assertion can fail with, and unsupported_client_authentication: all of
    // the core's codes but the three that only whole token requests have (those are checked
    // by `token_request_*` below, where they are the `error` of the object, not a `reason`).
    let request_level = [
        Reason::InvalidRequest,
        Reason::UnsupportedGrantType,
        Reason::UnsupportedAssertionType,
    ];
    let expected: BTreeSet<&str> = Reason::ALL
        .iter()
        .filter(|r| !request_level.contains(r))
        .map(|r| r.as_str())
        .collect();
    assert_eq!(seen, expected, "a reason code the CLI tests do not reach");
}

#[test]
fn valid_output_reemits_the_verified_header_and_claims_exactly() {
    let keys = Keys::new();
    // Member order, an unknown nested claim, an exact large number, a fractional date and
    // white space (including CRLF) in the signed JSON.
    let header = "{\"typ\":\"JWT\",\r\n \"alg\":\"RS256\"}";
    let payload = format!(
        "{{ \"sub\": \"{SUBJECT}\", \"iss\": \"{ISSUER}\",\r\n \"aud\": [\"{AS}\", \"x y\"], \
         \"exp\": {}.5, \"ext\": {{\"n\": [1, 2.50, true, null]}}, \"big\": \
         123456789012345678901234567890 }}",
        NOW + 300
    );
    let token = sign_raw(&keys.main, header.as_bytes(), payload.as_bytes());
    let run = keys.verify_grant(&["--jti-optional", &token], None);
    assert_eq!(run.code, 0, "{run:?}");
    // No `jti`, accepted under --jti-optional: reported as `compat`.
    assert_eq!(
        run.stdout,
        format!(
            "{{\"valid\":true,\"header\":{{\"typ\":\"JWT\",\"alg\":\"RS256\"}},\"claims\":\
             {{\"sub\":\"{SUBJECT}\",\"iss\":\"{ISSUER}\",\"aud\":[\"{AS}\",\"x y\"],\"exp\":\
             1700000300.5,\"ext\":{{\"n\":[1,2.50,true,null]}},\"big\":\
             123456789012345678901234567890}},\"compat\":[\"missing_jti\"]}}\n"
        )
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn invalid_output_is_exact() {
    let keys = Keys::new();
    let grant = keys.grant("g-1");
    let run = keys.verify_grant(&["--now", "1700001000", &grant], None);
    assert_eq!(
        run.stdout,
        "{\"valid\":false,\"reason\":\"expired\",\"error\":\"invalid_grant\",\"description\":\
         \"the assertion expired 700 s ago (leeway 30 s)\"}\n"
    );
    let run = keys.verify_client(
        &["--now", "1700001000", &keys.client_assertion("c-1")],
        None,
    );
    assert_eq!(
        run.stdout,
        "{\"valid\":false,\"reason\":\"expired\",\"error\":\"invalid_client\",\"description\":\
         \"the assertion expired 700 s ago (leeway 30 s)\"}\n"
    );
    // --leeway moves the boundary: exp + leeway == now is expired, one second less is not.
    let run = keys.verify_grant(&["--leeway", "600", "--now", "1700000900", &grant], None);
    assert_eq!(run.line()["reason"], "expired");
    let run = keys.verify_grant(&["--leeway", "600", "--now", "1700000899", &grant], None);
    assert_eq!(run.code, 0, "{run:?}");
    let run = keys.verify_grant(&["--leeway", "0", "--now", "1700000299", &grant], None);
    assert_eq!(run.code, 0, "{run:?}");
    let run = keys.verify_grant(&["--leeway", "0", "--now", "1700000300", &grant], None);
    assert_eq!(run.line()["reason"], "expired");
}

#[test]
fn policy_flags_are_applied() {
    let keys = Keys::new();
    let grant = keys.grant("g-1");
    // The subject, when pinned, passes when it matches.
    let run = keys.verify_grant(&["--subject", SUBJECT, &grant], None);
    assert_eq!(run.code, 0, "{run:?}");
    // Several audiences: any one matches.
    let run = rfc7523(
        &args(&[
            &"verify",
            &"--keys",
            &keys.path("public.pem"),
            &"--issuer",
            &ISSUER,
            &"--audience",
            &"https://as.example/token",
            &"--audience",
            &AS,
            &"--now",
            &NOW_ARG,
            &grant,
        ]),
        None,
    );
    assert_eq!(run.code, 0, "{run:?}");
    // jti is required by default (--require-jti says so again); --jti-optional opts out.
    let no_jti = sign_claims(&keys.main, &grant_with(json!({"jti": null})));
    for extra in [&[][..], &["--require-jti"][..]] {
        let mut a = extra.to_vec();
        a.push(&no_jti);
        let run = keys.verify_grant(&a, None);
        assert_eq!(run.line()["reason"], "missing_claim", "{extra:?}");
        assert_eq!(run.line()["description"], "the jti claim is missing");
    }
    assert_eq!(
        keys.verify_grant(&["--jti-optional", &no_jti], None).code,
        0
    );
    let no_iat = sign_claims(&keys.main, &grant_with(json!({"iat": null})));
    assert_eq!(keys.verify_grant(&[&no_iat], None).code, 0);
    let run = keys.verify_grant(&["--require-iat", &no_iat], None);
    assert_eq!(run.line()["description"], "the iat claim is missing");
    // --max-lifetime at the boundary (the lifetime is 300).
    assert_eq!(
        keys.verify_grant(&["--max-lifetime", "300", &grant], None)
            .code,
        0
    );
    // The system clock when --now is absent: a token signed now is valid now.
    let fresh = rfc7523(
        &args(&[
            &"sign",
            &"--key",
            &keys.path("private.pem"),
            &"--issuer",
            &ISSUER,
            &"--subject",
            &SUBJECT,
            &"--audience",
            &AS,
        ]),
        None,
    );
    let run = rfc7523(
        &args(&[
            &"verify",
            &"--keys",
            &keys.path("public.pem"),
            &"--issuer",
            &ISSUER,
            &"--audience",
            &AS,
            &fresh.stdout.trim(),
        ]),
        None,
    );
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn client_authentication_profile() {
    let keys = Keys::new();
    let assertion = keys.client_assertion("c-1");
    let run = keys.verify_client(&["--require-typ", &assertion], None);
    assert_eq!(run.code, 0, "{run:?}");
    let line = run.line();
    assert_eq!(line["header"]["typ"], "client-authentication+jwt");
    assert_eq!(line["claims"]["iss"], CLIENT);
    assert_eq!(line["claims"]["sub"], CLIENT);

    // A plain JWT passes without --require-typ, not with it.
    let plain = keys.sign(&["--issuer", CLIENT, "--subject", CLIENT, "--audience", AS]);
    assert_eq!(keys.verify_client(&[&plain], None).code, 0);
    let run = keys.verify_client(&["--require-typ", &plain], None);
    assert_eq!(run.line()["reason"], "invalid_type");
    assert_eq!(run.line()["error"], "invalid_client");

    // aud must be the single --audience as its sole value (RFC 10070).
    let client_claims = json!({
        "iss": CLIENT, "sub": CLIENT, "aud": [AS, "https://other.example"],
        "exp": NOW + 60, "jti": "c-2"
    });
    let run = keys.verify_client(&[&sign_claims(&keys.main, &client_claims)], None);
    assert_eq!(run.line()["reason"], "audience_mismatch");
    // sub must be the client id.
    let wrong_sub = keys.sign(&["--issuer", CLIENT, "--subject", "alice", "--audience", AS]);
    assert_eq!(
        keys.verify_client(&[&wrong_sub], None).line()["reason"],
        "subject_mismatch"
    );
}

#[test]
fn exit_codes() {
    let keys = Keys::new();
    let valid = keys.grant("g-1");
    let valid_2 = keys.grant("g-2");
    assert_eq!(keys.verify_grant(&[&valid], None).code, 0);
    assert_eq!(keys.verify_grant(&["garbage"], None).code, 1);
    // A batch: 0 when all are valid, 1 when one is not.
    let batch = format!("{valid}\n{valid_2}\n");
    assert_eq!(keys.verify_grant(&[], Some(batch.as_bytes())).code, 0);
    let batch = format!("{valid}\ngarbage\n{valid_2}\n");
    let run = keys.verify_grant(&[], Some(batch.as_bytes()));
    assert_eq!(run.code, 1);
    assert_eq!(run.lines().len(), 3);
}

#[test]
fn usage_and_configuration_errors_exit_2_with_one_line() {
    let keys = Keys::new();
    let token = keys.grant("g-1");
    let public = keys.path("public.pem");
    let verify = |extra: &[&dyn AsRef<std::ffi::OsStr>]| {
        let mut a = args(&[&"verify", &"--now", &NOW_ARG]);
        a.extend(args(extra));
        a.push(token.clone().into());
        rfc7523(&a, None)
    };
    let with_key = |file: &str| {
        verify(&[
            &"--keys",
            &keys.path(file),
            &"--issuer",
            &ISSUER,
            &"--audience",
            &AS,
        ])
    };

    // Flags.
    verify(&[&"--keys", &public, &"--issuer", &ISSUER]).assert_usage_error("--audience");
    verify(&[&"--issuer", &ISSUER, &"--audience", &AS]).assert_usage_error("--keys");
    verify(&[&"--keys", &public, &"--audience", &AS]).assert_usage_error("--issuer");
    verify(&[
        &"--keys",
        &public,
        &"--issuer",
        &ISSUER,
        &"--audience",
        &AS,
        &"--leeway",
        &"soon",
    ])
    .assert_usage_error("--leeway");
    verify(&[
        &"--keys",
        &public,
        &"--issuer",
        &ISSUER,
        &"--audience",
        &AS,
        &"--bogus",
    ])
    .assert_usage_error("--bogus");
    verify(&[
        &"--keys",
        &public,
        &"--issuer",
        &ISSUER,
        &"--audience",
        &AS,
        &"--replay-capacity",
        &"0",
    ])
    .assert_usage_error("--replay-capacity");
    verify(&[
        &"--keys",
        &public,
        &"--issuer",
        &ISSUER,
        &"--audience",
        &AS,
        &"--require-typ",
    ])
    .assert_usage_error("--require-typ");
    // The two profiles are kept apart: --keys serves one party.
    verify(&[
        &"--keys",
        &public,
        &"--client-id",
        &CLIENT,
        &"--issuer",
        &ISSUER,
        &"--audience",
        &AS,
    ])
    .assert_usage_error("--keys serves exactly one party, but 1 --issuer and a --client-id");
    verify(&[
        &"--keys",
        &public,
        &"--client-id",
        &CLIENT,
        &"--subject",
        &SUBJECT,
        &"--audience",
        &AS,
    ])
    .assert_usage_error("--client-id");
    // Client authentication needs exactly one --audience.
    verify(&[
        &"--keys",
        &public,
        &"--client-id",
        &CLIENT,
        &"--audience",
        &AS,
        &"--audience",
        &"https://as.example/token",
    ])
    .assert_usage_error("exactly one --audience");
    rfc7523::<&str>(&[], None).assert_usage_error("a command is required");
    rfc7523(&["frobnicate"], None).assert_usage_error("frobnicate");

    // Key files.
    let missing = keys.dir.join("missing.pem");
    verify(&[
        &"--keys",
        &missing,
        &"--issuer",
        &ISSUER,
        &"--audience",
        &AS,
    ])
    .assert_usage_error("missing.pem: ");
    with_key("garbage.txt")
        .assert_usage_error("garbage.txt: not a readable JWK, JWK Set, PEM or DER key");
    with_key("not-utf8.pem").assert_usage_error("not-utf8.pem: the file is not UTF-8 text");
    with_key("small-public.pem").assert_usage_error(
        "small-public.pem: RSA key of 1024 bits refused: at least 2048 bits are required",
    );
    with_key("private.pem").assert_usage_error("private.pem: the key carries private key material");
    // 16 keys fit; a 17th (from another file) does not.
    assert_eq!(with_key("sixteen.jwks").code, 0);
    verify(&[
        &"--keys",
        &keys.path("sixteen.jwks"),
        &"--keys",
        &public,
        &"--issuer",
        &ISSUER,
        &"--audience",
        &AS,
    ])
    .assert_usage_error("public.pem: more than 16 keys");

    // No token at all is never success.
    let run = keys.verify_grant(&[], Some(b"\n \n"));
    run.assert_usage_error("no token");
    keys.verify_grant(&[], None).assert_usage_error("no token");
}

#[test]
fn every_key_format_is_detected_and_files_merge() {
    let keys = Keys::new();
    let token = keys.grant("g-1");
    for file in [
        "public.pem",
        "public-pkcs1.pem",
        "public.jwk",
        "public.jwks",
    ] {
        let run = rfc7523(
            &args(&[
                &"verify",
                &"--keys",
                &keys.path(file),
                &"--issuer",
                &ISSUER,
                &"--audience",
                &AS,
                &"--now",
                &NOW_ARG,
                &token,
            ]),
            None,
        );
        assert_eq!(run.code, 0, "{file}: {run:?}");
    }
    // Another key alone refuses; merged with the right one, the token verifies.
    let with = |files: &[&str]| {
        let mut a = args(&[
            &"verify",
            &"--issuer",
            &ISSUER,
            &"--audience",
            &AS,
            &"--now",
            &NOW_ARG,
        ]);
        for file in files {
            a.extend(args(&[&"--keys", &keys.path(file)]));
        }
        a.push(token.clone().into());
        rfc7523(&a, None)
    };
    assert_eq!(
        with(&["other-public.pem"]).line()["reason"],
        "invalid_signature"
    );
    assert_eq!(with(&["other-public.pem", "public.jwks"]).code, 0);
}

// ---------------------------------------------------------------------------------------------
// verify: standard input batches
// ---------------------------------------------------------------------------------------------

#[test]
fn stdin_batch_keeps_order_ignores_blank_lines_and_catches_a_replay() {
    let keys = Keys::new();
    let t1 = keys.grant("b-1");
    let t2 = keys.grant("b-2");
    let t3 = keys.grant("b-3");
    let input = format!("{t1}\n\n{t2}\n   \t\n{t1}\nnot-a-token\n{t3}\r\n\n");
    let run = keys.verify_grant(&[], Some(input.as_bytes()));
    assert_eq!(run.code, 1, "{run:?}");
    let lines = run.lines();
    let summary: Vec<String> = lines
        .iter()
        .map(|l| match l["valid"].as_bool() {
            Some(true) => format!("valid {}", l["claims"]["jti"].as_str().unwrap()),
            _ => format!("invalid {}", l["reason"].as_str().unwrap()),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "valid b-1",
            "valid b-2",
            "invalid replayed",
            "invalid malformed",
            "valid b-3"
        ]
    );
}

#[test]
fn an_oversized_line_is_too_large_and_the_next_line_is_still_read() {
    let keys = Keys::new();
    let token = keys.grant("g-1");
    let mut input = vec![b'A'; 200 * 1024];
    input.push(b'\n');
    input.extend_from_slice(token.as_bytes());
    input.push(b'\n');
    let run = keys.verify_grant(&[], Some(&input));
    assert_eq!(run.code, 1, "{run:?}");
    let lines = run.lines();
    assert_eq!(lines.len(), 2, "{run:?}");
    assert_eq!(
        lines[0],
        json!({
            "valid": false, "reason": "too_large", "error": "invalid_grant",
            "description": "the token length limit was exceeded"
        })
    );
    assert_eq!(lines[1]["valid"], true);

    // The boundary: a line of MAX_TOKEN_LEN bytes is judged (here: not a JWS), also with a
    // CR; one byte more is too large.
    let at_limit = "a".repeat(MAX_TOKEN_LEN);
    let input = format!("{at_limit}\n{at_limit}\r\n{at_limit}a\n");
    let reasons: Vec<Value> = keys
        .verify_grant(&[], Some(input.as_bytes()))
        .lines()
        .iter()
        .map(|l| l["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [json!("malformed"), json!("malformed"), json!("too_large")]
    );
}

#[test]
fn a_line_that_is_not_utf8_is_malformed_and_the_batch_goes_on() {
    let keys = Keys::new();
    let token = keys.grant("g-1");
    let mut input = b"eyJ\xff\xfe.x.y\n".to_vec();
    input.extend_from_slice(token.as_bytes());
    let run = keys.verify_grant(&[], Some(&input));
    let lines = run.lines();
    assert_eq!(lines[0]["reason"], "malformed", "{run:?}");
    assert_eq!(
        lines[0]["description"],
        "the header segment is not canonical unpadded base64url"
    );
    assert_eq!(lines[1]["valid"], true, "{run:?}");
}

// ---------------------------------------------------------------------------------------------
// token-request
// ---------------------------------------------------------------------------------------------

/// `token-request` with [`Keys::endpoint_registry`] (both profiles, each party with its own
/// key) at [`NOW`], with `body` as the argument (or on standard input when `stdin`).
fn token_request(keys: &Keys, body: &str, stdin: bool) -> Run {
    token_request_with(keys, &[], body, stdin)
}

/// [`token_request`] with `extra` flags.
fn token_request_with(keys: &Keys, extra: &[&str], body: &str, stdin: bool) -> Run {
    let mut a = args(&[
        &"token-request",
        &"--registry",
        &keys.endpoint_registry(),
        &"--now",
        &NOW_ARG,
    ]);
    a.extend(extra.iter().map(Into::into));
    if stdin {
        rfc7523(&a, Some(body.as_bytes()))
    } else {
        a.push(body.into());
        rfc7523(&a, None)
    }
}

fn grant_body(assertion: &str) -> String {
    format!(
        "grant_type={}&assertion={}",
        form_encode(GRANT_TYPE),
        form_encode(assertion)
    )
}

fn client_body(grant_type: &str, assertion: &str) -> String {
    format!(
        "grant_type={}&client_assertion_type={}&client_assertion={}",
        form_encode(grant_type),
        form_encode(CLIENT_ASSERTION_TYPE),
        form_encode(assertion)
    )
}

#[test]
fn token_request_of_both_uses() {
    let keys = Keys::new();
    // A jwt-bearer grant, from the argument.
    let run = token_request(&keys, &grant_body(&keys.grant("g-1")), false);
    assert_eq!(run.code, 0, "{run:?}");
    let line = run.line();
    assert_eq!(line["ok"], true);
    assert_eq!(line["use"], "grant");
    assert_eq!(line["grant_type"], GRANT_TYPE);
    assert_eq!(line["claims"]["sub"], SUBJECT);
    assert_eq!(line["client_authentication"], "none");
    assert_eq!(line["claims"]["jti"], "g-1");
    assert_eq!(line.as_object().unwrap().len(), 5, "{line}");

    // A client assertion beside another grant, from standard input with a final newline.
    let body = client_body(
        "client_credentials",
        &keys.registered_client_assertion("c-1"),
    );
    let run = token_request(&keys, &format!("{body}\r\n"), true);
    assert_eq!(run.code, 0, "{run:?}");
    let line = run.line();
    assert_eq!(line["use"], "client_authentication");
    assert_eq!(line["grant_type"], "client_credentials");
    assert_eq!(line["claims"]["iss"], CLIENT);
    assert_eq!(line["client_authentication"], "client_assertion");
    assert_eq!(line["client_claims"], line["claims"]);
    assert_eq!(line.as_object().unwrap().len(), 6, "{line}");

    // Both: the grant is the primary use; the client's claims are kept beside it.
    let body = format!(
        "{}&client_assertion_type={}&client_assertion={}",
        grant_body(&keys.grant("g-2")),
        form_encode(CLIENT_ASSERTION_TYPE),
        keys.registered_client_assertion("c-2")
    );
    let run = token_request(&keys, &body, false);
    assert_eq!(run.code, 0, "{run:?}");
    let line = run.line();
    assert_eq!(line["use"], "grant");
    assert_eq!(line["claims"]["iss"], ISSUER);
    assert_eq!(line["claims"]["jti"], "g-2");
    assert_eq!(line["client_authentication"], "client_assertion");
    assert_eq!(line["client_claims"]["iss"], CLIENT);
    assert_eq!(line["client_claims"]["jti"], "c-2");
}

#[test]
fn token_request_errors_are_exact() {
    let keys = Keys::new();
    let cases: Vec<(String, &str)> = vec![
        (
            "assertion=x".to_owned(),
            r#"{"ok":false,"status":400,"error":"invalid_request","error_description":"the grant_type parameter is missing"}"#,
        ),
        (
            format!("grant_type={}", form_encode(GRANT_TYPE)),
            r#"{"ok":false,"status":400,"error":"invalid_request","error_description":"the assertion parameter is missing"}"#,
        ),
        (
            "grant_type=password&grant_type=password".to_owned(),
            r#"{"ok":false,"status":400,"error":"invalid_request","error_description":"a request parameter is repeated"}"#,
        ),
        (
            "grant_type=password&username=a&password=b".to_owned(),
            r#"{"ok":false,"status":400,"error":"unsupported_grant_type","error_description":"the grant type is not supported"}"#,
        ),
        (
            format!(
                "grant_type=client_credentials&client_assertion_type=urn%3Aexample%3Asaml&client_assertion={}",
                keys.registered_client_assertion("c-1")
            ),
            r#"{"ok":false,"status":401,"error":"invalid_client","error_description":"the client assertion type is not supported"}"#,
        ),
        (
            client_body("client_credentials", "not-a-jwt"),
            r#"{"ok":false,"status":401,"error":"invalid_client","error_description":"client assertion: not a compact JWS: expected three dot-separated segments","reason":"malformed"}"#,
        ),
        (
            client_body(
                "client_credentials",
                &keys.sign_with("other-private.pem", &["--issuer", CLIENT, "--audience", AS, "--client-auth", "--lifetime", "1", "--now", "1699990000"]),
            ),
            r#"{"ok":false,"status":401,"error":"invalid_client","error_description":"client assertion: the assertion expired 9999 s ago (leeway 30 s)","reason":"expired"}"#,
        ),
        (
            grant_body(&sign_claims(&keys.main, &grant_with(json!({"aud": "https://other.example"})))),
            r#"{"ok":false,"status":400,"error":"invalid_grant","error_description":"grant assertion: the aud claim does not identify this authorization server","reason":"audience_mismatch"}"#,
        ),
    ];
    for (body, expected) in cases {
        let run = token_request(&keys, &body, false);
        assert_eq!(run.stdout, format!("{expected}\n"), "{body}");
        assert_eq!(run.code, 1, "{run:?}");
        assert_eq!(run.stderr, "");
    }

    // A body over the limit on standard input is not stored, and is invalid_request.
    let huge = format!(
        "grant_type=password&x={}",
        "a".repeat(MAX_FORM_BODY_LEN * 8)
    );
    let run = token_request(&keys, &huge, true);
    assert_eq!(
        run.stdout,
        "{\"ok\":false,\"status\":400,\"error\":\"invalid_request\",\"error_description\":\"the request body is too long\"}\n"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn token_request_configuration_errors() {
    let keys = Keys::new();
    let public = keys.path("public.pem");
    let body = "grant_type=password";
    rfc7523(
        &args(&[
            &"token-request",
            &"--keys",
            &public,
            &"--audience",
            &AS,
            &body,
        ]),
        None,
    )
    .assert_usage_error("--issuer");
    rfc7523(
        &args(&[
            &"token-request",
            &"--keys",
            &public,
            &"--client-id",
            &CLIENT,
            &"--audience",
            &AS,
            &"--subject",
            &SUBJECT,
            &body,
        ]),
        None,
    )
    .assert_usage_error("--subject");
    rfc7523(
        &args(&[
            &"token-request",
            &"--keys",
            &keys.path("small-public.pem"),
            &"--issuer",
            &ISSUER,
            &"--audience",
            &AS,
            &body,
        ]),
        None,
    )
    .assert_usage_error("1024 bits");
    // Only the grant profile: a client assertion is an unsupported method.
    let run = rfc7523(
        &args(&[
            &"token-request",
            &"--keys",
            &public,
            &"--issuer",
            &ISSUER,
            &"--audience",
            &AS,
            &"--now",
            &NOW_ARG,
            &client_body("client_credentials", &keys.client_assertion("c-1")),
        ]),
        None,
    );
    assert_eq!(run.line()["error"], "invalid_client");
    assert_eq!(run.line()["status"], 401);
}

// ---------------------------------------------------------------------------------------------
// --registry: parties, each with its own keys and policy
// ---------------------------------------------------------------------------------------------

const CLIENT_1: &str = "client-1";
const CLIENT_2: &str = "client-2";
const ISSUER_1: &str = "https://issuer-1.example";
const ISSUER_2: &str = "https://issuer-2.example";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Client,
    Issuer,
}

/// One party of the registry tests: its id, its kind, its key and that key's `kid`.
struct TestParty {
    id: &'static str,
    kind: Kind,
    kid: &'static str,
    key: RsaPrivateKey,
}

impl TestParty {
    fn signer(&self) -> SigningKey<Sha256> {
        SigningKey::new(self.key.clone())
    }

    /// `--use` for assertions that claim to be this party.
    fn use_(&self) -> &'static str {
        match self.kind {
            Kind::Client => "client_authentication",
            Kind::Issuer => "grant",
        }
    }

    /// The OAuth error and HTTP status of a refused assertion that claims to be this party.
    fn refusal(&self) -> (&'static str, u16) {
        match self.kind {
            Kind::Client => ("invalid_client", 401),
            Kind::Issuer => ("invalid_grant", 400),
        }
    }

    /// The registry entry: the party's JWK Set of its one key, and `extra` members.
    fn entry(&self, extra: Value) -> Value {
        let public = self.key.to_public_key();
        let mut entry = match self.kind {
            Kind::Client => json!({
                "client_id": self.id,
                "token_endpoint_auth_method": "private_key_jwt",
            }),
            Kind::Issuer => json!({"issuer": self.id}),
        };
        entry["jwks"] = json!({"keys": [jwk_of(&public, Some(self.kid))]});
        for (name, value) in extra.as_object().or_panic("an object") {
            entry[name] = value.clone();
        }
        entry
    }
}

/// Two clients and two trusted issuers, each with its own 2048-bit key.
fn four_parties(keys: &Keys) -> Vec<TestParty> {
    let key = |signing: &SigningKey<Sha256>| signing.as_ref().clone();
    vec![
        TestParty {
            id: CLIENT_1,
            kind: Kind::Client,
            kid: "client-1-key",
            key: key(&keys.main),
        },
        TestParty {
            id: CLIENT_2,
            kind: Kind::Client,
            kid: "client-2-key",
            key: keys.cookbook.clone(),
        },
        TestParty {
            id: ISSUER_1,
            kind: Kind::Issuer,
            kid: "issuer-1-key",
            key: key(&keys.other),
        },
        TestParty {
            id: ISSUER_2,
            kind: Kind::Issuer,
            kid: "issuer-2-key",
            key: keys.third.clone(),
        },
    ]
}

/// The registry document of `parties`.
fn registry_doc(parties: &[TestParty]) -> Value {
    let of = |kind: Kind| -> Vec<Value> {
        parties
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.entry(json!({})))
            .collect()
    };
    json!({
        "issuer": AS,
        "token_endpoint": TOKEN_ENDPOINT,
        "clients": of(Kind::Client),
        "issuers": of(Kind::Issuer),
    })
}

/// An assertion that claims to be `claimed` (its `iss`; a client's `sub` too), signed with
/// `signer`, with header `kid` when given.
fn assertion_as(
    claimed: &TestParty,
    signer: &SigningKey<Sha256>,
    kid: Option<&str>,
    jti: &str,
) -> String {
    let (typ, sub) = match claimed.kind {
        Kind::Client => ("client-authentication+jwt", claimed.id),
        Kind::Issuer => ("JWT", SUBJECT),
    };
    let mut header = json!({"alg": "RS256", "typ": typ});
    if let Some(kid) = kid {
        header["kid"] = json!(kid);
    }
    let claims = json!({
        "iss": claimed.id, "sub": sub, "aud": AS, "exp": NOW + 300, "iat": NOW, "jti": jti
    });
    sign_raw(
        signer,
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    )
}

/// The token request that presents `assertion` as `claimed`'s: a client assertion beside
/// `client_credentials`, or a jwt-bearer grant.
fn request_as(claimed: &TestParty, assertion: &str) -> String {
    match claimed.kind {
        Kind::Client => client_body("client_credentials", assertion),
        Kind::Issuer => grant_body(assertion),
    }
}

/// `verify --registry <registry> --now NOW` plus `extra`.
fn verify_registry(registry: &std::path::Path, extra: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut a = args(&[&"verify", &"--registry", &registry]);
    a.extend(with_now(extra));
    rfc7523(&a, stdin)
}

/// `token-request --registry <registry> --now NOW` plus `extra` (the body last).
fn token_request_registry(registry: &std::path::Path, extra: &[&str]) -> Run {
    let mut a = args(&[&"token-request", &"--registry", &registry]);
    a.extend(with_now(extra));
    rfc7523(&a, None)
}

/// For every ordered pair of parties A ≠ B: an assertion signed with A's key that claims to
/// be B is refused by `verify` and `token-request`, with B's error and status; `unknown_key`
/// when it names A's kid, `invalid_signature` without a kid. Each party's own assertions,
/// with and without its kid, are accepted.
#[test]
fn an_assertion_signed_by_one_party_never_passes_as_another() {
    let keys = Keys::new();
    let parties = four_parties(&keys);
    let registry = keys
        .dir
        .write("registry.json", registry_doc(&parties).to_string());
    let mut checked = 0;
    for claimed in &parties {
        for signer in &parties {
            for kid in [None, Some(signer.kid)] {
                let jti = format!("{}-as-{}-{kid:?}", signer.id, claimed.id);
                let token = assertion_as(claimed, &signer.signer(), kid, &jti);
                let case = format!(
                    "signed by {}, claims {}, kid {kid:?}",
                    signer.id, claimed.id
                );
                let verified = verify_registry(&registry, &["--use", claimed.use_(), &token], None);
                let requested = token_request_registry(&registry, &[&request_as(claimed, &token)]);
                assert_eq!(verified.stderr, "", "{case}: {verified:?}");
                assert_eq!(requested.stderr, "", "{case}: {requested:?}");
                if signer.id == claimed.id {
                    assert_eq!(verified.code, 0, "{case}: {verified:?}");
                    assert_eq!(verified.line()["claims"]["jti"], jti, "{case}");
                    assert_eq!(requested.code, 0, "{case}: {requested:?}");
                    let line = requested.line();
                    assert_eq!(line["ok"], true, "{case}");
                    assert_eq!(line["claims"]["iss"], claimed.id, "{case}");
                    continue;
                }
                let reason = if kid.is_some() {
                    "unknown_key"
                } else {
                    "invalid_signature"
                };
                let (error, status) = claimed.refusal();
                assert_eq!(verified.code, 1, "{case}: {verified:?}");
                let line = verified.line();
                assert_eq!(line["valid"], false, "{case}");
                assert_eq!(line["reason"], reason, "{case}: {line}");
                assert_eq!(line["error"], error, "{case}: {line}");
                assert_eq!(requested.code, 1, "{case}: {requested:?}");
                let line = requested.line();
                assert_eq!(line["ok"], false, "{case}");
                assert_eq!(line["reason"], reason, "{case}: {line}");
                assert_eq!(line["error"], error, "{case}: {line}");
                assert_eq!(line["status"], status, "{case}: {line}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4 * 3 * 2);
}

/// An impostor whose key is of another size (3072 bits) than the claimed party's (2048): the
/// signature cannot even have the party's length. Refused with the claimed party's error and
/// status; the core reports the length as `malformed` (RFC 8017 §8.2.2 step 1).
#[test]
fn an_impostor_key_of_another_size_is_refused() {
    let keys = Keys::new();
    let parties = four_parties(&keys);
    let registry = keys
        .dir
        .write("registry.json", registry_doc(&parties).to_string());
    let impostor = SigningKey::<Sha256>::new(keys.wide.clone());
    for claimed in &parties {
        for (kid, reason) in [(None, "malformed"), (Some("impostor"), "unknown_key")] {
            let token = assertion_as(claimed, &impostor, kid, "impostor-1");
            let (error, status) = claimed.refusal();
            let verified = verify_registry(&registry, &["--use", claimed.use_(), &token], None);
            assert_eq!(verified.code, 1, "{verified:?}");
            assert_eq!(
                verified.line()["reason"],
                reason,
                "{}: {verified:?}",
                claimed.id
            );
            assert_eq!(verified.line()["error"], error);
            let requested = token_request_registry(&registry, &[&request_as(claimed, &token)]);
            assert_eq!(requested.code, 1, "{requested:?}");
            let line = requested.line();
            assert_eq!(line["reason"], reason, "{}: {line}", claimed.id);
            assert_eq!(
                (&line["error"], &line["status"]),
                (&json!(error), &json!(status))
            );
        }
    }
}

/// Each party's policy is its own: a registry setting for one party changes nothing for
/// another, and parties without settings get the safe defaults.
#[test]
fn registry_policy_is_per_party() {
    let keys = Keys::new();
    let parties = four_parties(&keys);
    let mut doc = registry_doc(&parties);
    doc["issuers"][0] = parties[2].entry(json!({"max_lifetime": 60, "subjects": [SUBJECT]}));
    doc["clients"][1] = parties[1].entry(json!({"require_typ": true, "require_jti": false}));
    let registry = keys.dir.write("registry.json", doc.to_string());
    let claims = |party: &TestParty, changes: Value| {
        let mut claims = json!({
            "iss": party.id, "aud": AS, "exp": NOW + 300, "iat": NOW, "jti": "p-1",
            "sub": if party.kind == Kind::Client { party.id } else { SUBJECT },
        });
        for (name, value) in changes.as_object().or_panic("an object") {
            if value.is_null() {
                claims.as_object_mut().or_panic("claims").remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        sign_claims(&party.signer(), &claims)
    };
    let judge = |party: &TestParty, token: &str| {
        let run = verify_registry(&registry, &["--use", party.use_(), token], None);
        match run.code {
            0 => "valid".to_owned(),
            _ => run.line()["reason"].as_str().or_panic("reason").to_owned(),
        }
    };
    let (client_1, client_2, issuer_1, issuer_2) =
        (&parties[0], &parties[1], &parties[2], &parties[3]);
    let cases: Vec<(&TestParty, Value, &str)> = vec![
        // issuer-1: at most 60 s, only SUBJECT.
        (issuer_1, json!({}), "lifetime_too_long"),
        (issuer_1, json!({"exp": NOW + 60}), "valid"),
        (
            issuer_1,
            json!({"exp": NOW + 60, "sub": "bob"}),
            "subject_mismatch",
        ),
        // issuer-2: the defaults (3600 s, any subject, jti required).
        (issuer_2, json!({"sub": "bob"}), "valid"),
        (issuer_2, json!({"exp": NOW + 3600}), "valid"),
        (issuer_2, json!({"exp": NOW + 3601}), "lifetime_too_long"),
        (issuer_2, json!({"jti": null}), "missing_claim"),
        // client-2: typ required (sign_claims says JWT), jti optional.
        (client_2, json!({}), "invalid_type"),
        // client-1: the defaults.
        (client_1, json!({}), "valid"),
        (client_1, json!({"jti": null}), "missing_claim"),
    ];
    for (party, changes, expected) in cases {
        let token = claims(party, changes.clone());
        assert_eq!(judge(party, &token), expected, "{} {changes}", party.id);
    }
    // client-2 with its explicit typ and without jti.
    let token = sign_raw(
        &client_2.signer(),
        br#"{"alg":"RS256","typ":"client-authentication+jwt"}"#,
        json!({"iss": CLIENT_2, "sub": CLIENT_2, "aud": AS, "exp": NOW + 300})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(judge(client_2, &token), "valid");
    // A grant may name the token endpoint as its audience; a client assertion may not.
    let token = claims(issuer_2, json!({"aud": TOKEN_ENDPOINT}));
    assert_eq!(judge(issuer_2, &token), "valid");
    let token = claims(client_1, json!({"aud": TOKEN_ENDPOINT}));
    assert_eq!(judge(client_1, &token), "audience_mismatch");
}

/// Compatibility relaxations (`compat`, `require_jti: false`) apply to the party that has
/// them and to no other, and every assertion that relied on one says so (`"compat"`), in
/// `verify` and in `token-request`.
#[test]
fn registry_compat_is_per_party_and_reported() {
    let keys = Keys::new();
    let parties = four_parties(&keys);
    let (client_1, client_2, issuer_1, issuer_2) =
        (&parties[0], &parties[1], &parties[2], &parties[3]);
    let mut doc = registry_doc(&parties);
    doc["clients"][1] = client_2.entry(json!({"compat": ["token_endpoint_audience"]}));
    doc["issuers"][1] = issuer_2.entry(json!({"compat": ["missing_sub"], "require_jti": false}));
    let registry = keys.dir.write("registry.json", doc.to_string());
    let token = |party: &TestParty, changes: Value| {
        let mut claims = json!({
            "iss": party.id, "aud": AS, "exp": NOW + 300, "iat": NOW, "jti": "c-1",
            "sub": if party.kind == Kind::Client { party.id } else { SUBJECT },
        });
        for (name, value) in changes.as_object().or_panic("an object") {
            if value.is_null() {
                claims.as_object_mut().or_panic("claims").remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        sign_claims(&party.signer(), &claims)
    };
    // (party, claim changes, verdict, compat reported)
    let cases: Vec<(&TestParty, Value, &str, Value)> = vec![
        (
            client_1,
            json!({"aud": TOKEN_ENDPOINT}),
            "audience_mismatch",
            Value::Null,
        ),
        (
            client_2,
            json!({"aud": TOKEN_ENDPOINT}),
            "valid",
            json!(["token_endpoint_audience"]),
        ),
        (
            client_2,
            json!({"aud": [TOKEN_ENDPOINT, AS]}),
            "valid",
            json!(["token_endpoint_audience"]),
        ),
        (client_2, json!({}), "valid", Value::Null),
        (
            client_2,
            json!({"aud": "https://other.example"}),
            "audience_mismatch",
            Value::Null,
        ),
        (client_2, json!({"jti": null}), "missing_claim", Value::Null),
        (issuer_1, json!({"sub": null}), "missing_claim", Value::Null),
        (issuer_1, json!({"jti": null}), "missing_claim", Value::Null),
        (
            issuer_2,
            json!({"sub": null}),
            "valid",
            json!(["missing_sub"]),
        ),
        (
            issuer_2,
            json!({"sub": null, "jti": null, "aud": TOKEN_ENDPOINT}),
            "valid",
            json!(["missing_sub", "missing_jti"]),
        ),
        (issuer_2, json!({}), "valid", Value::Null),
    ];
    for (party, changes, verdict, compat) in cases {
        let assertion = token(party, changes.clone());
        let run = verify_registry(&registry, &["--use", party.use_(), &assertion], None);
        let line = run.line();
        let what = format!("{} {changes}", party.id);
        match run.code {
            0 => assert_eq!("valid", verdict, "{what}"),
            _ => assert_eq!(line["reason"], json!(verdict), "{what}"),
        }
        assert_eq!(line["compat"], compat, "{what}: {line}");
        // The token endpoint reports the same, as `compat` of its primary assertion.
        let run = token_request_registry(&registry, &[&request_as(party, &assertion)]);
        let line = run.line();
        assert_eq!(line["ok"], json!(verdict == "valid"), "{what}: {line}");
        assert_eq!(line["compat"], compat, "{what}: {line}");
    }
    // A grant beside a client assertion: each assertion's own relaxations.
    let grant = token(issuer_2, json!({"sub": null, "jti": "g-2"}));
    let client = token(client_2, json!({"aud": TOKEN_ENDPOINT, "jti": "c-2"}));
    let body = format!(
        "{}&client_assertion_type={}&client_assertion={client}",
        grant_body(&grant),
        form_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    let line = token_request_registry(&registry, &[&body]).line();
    assert_eq!(line["compat"], json!(["missing_sub"]), "{line}");
    assert_eq!(
        line["client_compat"],
        json!(["token_endpoint_audience"]),
        "{line}"
    );
}

/// Every refusal of a registry document at load: exit 2, one line naming the file, the party
/// and the field.
#[test]
fn registry_refusals_at_load_name_the_field_and_party() {
    let keys = Keys::new();
    let parties = four_parties(&keys);
    let base = registry_doc(&parties);
    let client_1_keys = base["clients"][0]["jwks"].clone();
    let mut client_2_key_other_kid = base["clients"][1]["jwks"].clone();
    client_2_key_other_kid["keys"][0]["kid"] = json!("renamed");
    // (what, the change to the valid document, the message).
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "unknown top-level field",
            Box::new(|d| d["token_endpiont"] = json!("https://as.example/t")),
            r#"registry: unknown field "token_endpiont""#,
        ),
        (
            "unknown field in a party",
            Box::new(|d| d["clients"][1]["max_lifetme"] = json!(300)),
            r#"clients[1] "client-2": unknown field "max_lifetme""#,
        ),
        (
            "duplicate client_id",
            Box::new(|d| d["clients"][1]["client_id"] = json!(CLIENT_1)),
            r#"clients[1] "client-1".client_id: is a duplicate of clients[0]"#,
        ),
        (
            "duplicate issuer",
            Box::new(|d| d["issuers"][1]["issuer"] = json!(ISSUER_1)),
            r#"issuers[1] "https://issuer-1.example".issuer: is a duplicate of issuers[0]"#,
        ),
        (
            "a party without keys",
            Box::new(|d| {
                d["issuers"][0]
                    .as_object_mut()
                    .or_panic("issuer")
                    .remove("jwks");
            }),
            r#"issuers[0] "https://issuer-1.example".jwks: the party has no keys"#,
        ),
        (
            "an empty key set",
            Box::new(|d| d["clients"][0]["jwks"] = json!({"keys": []})),
            r#"clients[0] "client-1".jwks: the JWK Set has no key usable for a supported algorithm"#,
        ),
        (
            "one key for a client and an issuer",
            Box::new(move |d| d["issuers"][1]["jwks"] = client_1_keys.clone()),
            r#"issuers[1] "https://issuer-2.example".jwks: the same public key is listed for clients[0] "client-1""#,
        ),
        (
            "one key for two parties, under another kid",
            Box::new(move |d| d["clients"][0]["jwks"] = client_2_key_other_kid.clone()),
            r#"clients[1] "client-2".jwks: the same public key is listed for clients[0] "client-1""#,
        ),
        (
            "jwks_uri over http to another host",
            Box::new(|d| {
                let client = d["clients"][0].as_object_mut().or_panic("client");
                client.remove("jwks");
                client.insert("jwks_uri".into(), json!("http://client.example/jwks"));
            }),
            r#"clients[0] "client-1".jwks_uri: http is allowed only for loopback hosts"#,
        ),
        (
            "discovery for an issuer that is not an https URL",
            Box::new(|d| {
                let issuer = d["issuers"][0].as_object_mut().or_panic("issuer");
                issuer.remove("jwks");
                issuer.insert("issuer".into(), json!("issuer-1"));
                issuer.insert("discovery".into(), json!("openid-configuration"));
            }),
            r#"issuers[0] "issuer-1".discovery: discovery needs the issuer identifier to be an https URL"#,
        ),
        (
            "no token_endpoint_auth_method",
            Box::new(|d| {
                d["clients"][0]
                    .as_object_mut()
                    .or_panic("client")
                    .remove("token_endpoint_auth_method");
            }),
            r#"clients[0] "client-1".token_endpoint_auth_method: must be "private_key_jwt""#,
        ),
        (
            "client_secret_basic",
            Box::new(|d| {
                d["clients"][0]["token_endpoint_auth_method"] = json!("client_secret_basic");
            }),
            r#"clients[0] "client-1".token_endpoint_auth_method: must be "private_key_jwt""#,
        ),
        (
            "max_lifetime 0",
            Box::new(|d| d["issuers"][0]["max_lifetime"] = json!(0)),
            r#"issuers[0] "https://issuer-1.example".max_lifetime: must be a whole number from 1 to 86400"#,
        ),
        (
            "max_lifetime 86401",
            Box::new(|d| d["clients"][1]["max_lifetime"] = json!(MAX_LIFETIME_SETTING + 1)),
            r#"clients[1] "client-2".max_lifetime: must be a whole number from 1 to 86400"#,
        ),
        (
            "leeway 601",
            Box::new(|d| d["clients"][1]["leeway"] = json!(MAX_LEEWAY_SETTING + 1)),
            r#"clients[1] "client-2".leeway: must be a whole number from 0 to 600"#,
        ),
        (
            "no issuer",
            Box::new(|d| {
                d.as_object_mut().or_panic("registry").remove("issuer");
            }),
            "issuer: is required",
        ),
    ];
    for (name, change, message) in &cases {
        let mut doc = base.clone();
        change(&mut doc);
        let file = keys.dir.write("refused.json", doc.to_string());
        let expected = format!("rfc7523: {}: {message}", file.display());
        for run in [
            verify_registry(&file, &["--use", "grant", "x.y.z"], None),
            token_request_registry(&file, &["grant_type=password"]),
        ] {
            run.assert_usage_error(&expected);
            assert!(run.stderr.starts_with(&expected), "{name}: {run:?}");
        }
    }

    // The largest accepted setting loads and applies.
    let mut doc = base.clone();
    doc["issuers"][0]["max_lifetime"] = json!(MAX_LIFETIME_SETTING);
    let file = keys.dir.write("day.json", doc.to_string());
    let mut claims = grant_with(json!({"iss": ISSUER_1, "exp": NOW + MAX_LIFETIME_SETTING}));
    let run = verify_registry(
        &file,
        &["--use", "grant", &sign_claims(&keys.other, &claims)],
        None,
    );
    assert_eq!(run.code, 0, "{run:?}");
    claims["exp"] = json!(NOW + MAX_LIFETIME_SETTING + 1);
    let run = verify_registry(
        &file,
        &["--use", "grant", &sign_claims(&keys.other, &claims)],
        None,
    );
    assert_eq!(run.line()["reason"], "lifetime_too_long");

    // Files: too long (not read past the bound), not JSON, missing.
    let mut huge = base.to_string().into_bytes();
    huge.pop();
    huge.extend(std::iter::repeat_n(b' ', MAX_REGISTRY_LEN));
    huge.push(b'}');
    let file = keys.dir.write("huge.json", &huge);
    verify_registry(&file, &["--use", "grant", "x.y.z"], None).assert_usage_error(&format!(
        "huge.json: the file is longer than {MAX_REGISTRY_LEN} bytes"
    ));
    let file = keys
        .dir
        .write("not-json.json", "issuer = https://as.example");
    verify_registry(&file, &["--use", "grant", "x.y.z"], None)
        .assert_usage_error("not-json.json: registry: not a JSON object");
    verify_registry(&keys.dir.join("missing.json"), &["x.y.z"], None)
        .assert_usage_error("missing.json: ");
}

/// --registry replaces every single-party flag; --keys serves exactly one party; --use.
#[test]
fn registry_and_single_party_flags_do_not_mix() {
    let keys = Keys::new();
    let parties = four_parties(&keys);
    let registry = keys
        .dir
        .write("registry.json", registry_doc(&parties).to_string());
    let public = keys.path("public.pem");
    let public = public.to_str().or_panic("UTF-8 path");
    // Every single-party flag, beside --registry, in both commands.
    for flag in [
        &["--keys", public][..],
        &["--audience", AS][..],
        &["--issuer", ISSUER_1][..],
        &["--subject", SUBJECT][..],
        &["--client-id", CLIENT_1][..],
        &["--require-typ"][..],
        &["--leeway", "30"][..],
        &["--max-lifetime", "3600"][..],
        &["--max-age", "60"][..],
        &["--require-jti"][..],
        &["--jti-optional"][..],
        &["--require-iat"][..],
    ] {
        let message = format!(
            "{} cannot be combined with --registry: keys, audiences and policy are set per \
             party in the registry",
            flag[0]
        );
        let mut extra = vec!["--use", "grant"];
        extra.extend_from_slice(flag);
        extra.push("x.y.z");
        verify_registry(&registry, &extra, None).assert_usage_error(&message);
        let mut extra = flag.to_vec();
        extra.push("grant_type=password");
        token_request_registry(&registry, &extra).assert_usage_error(&message);
    }
    // Several are named together.
    verify_registry(
        &registry,
        &[
            "--use", "grant", "--leeway", "10", "--keys", public, "x.y.z",
        ],
        None,
    )
    .assert_usage_error("--keys, --leeway cannot be combined with --registry");

    // --use: required when the registry has both kinds, inferred when it has one.
    let grant = assertion_as(&parties[2], &parties[2].signer(), None, "u-1");
    verify_registry(&registry, &[&grant], None)
        .assert_usage_error("--use is required: the registry has both clients and issuers");
    assert_eq!(
        verify_registry(&registry, &["--use", "grant", &grant], None).code,
        0
    );
    verify_registry(&registry, &["--use", "both", &grant], None).assert_usage_error("--use");
    let issuers_only = keys
        .dir
        .write("issuers.json", registry_doc(&parties[2..]).to_string());
    let clients_only = keys
        .dir
        .write("clients.json", registry_doc(&parties[..2]).to_string());
    assert_eq!(verify_registry(&issuers_only, &[&grant], None).code, 0);
    let client = assertion_as(&parties[0], &parties[0].signer(), None, "u-2");
    assert_eq!(verify_registry(&clients_only, &[&client], None).code, 0);
    verify_registry(
        &issuers_only,
        &["--use", "client_authentication", &client],
        None,
    )
    .assert_usage_error("--use client_authentication: the registry has no clients");
    verify_registry(&clients_only, &["--use", "grant", &grant], None)
        .assert_usage_error("--use grant: the registry has no issuers");
    let single = |extra: &[&str]| {
        let mut a = vec![
            "verify",
            "--keys",
            public,
            "--audience",
            AS,
            "--now",
            NOW_ARG,
        ];
        a.extend_from_slice(extra);
        rfc7523(&a, None)
    };
    single(&["--issuer", ISSUER, "--use", "grant", &grant])
        .assert_usage_error("--use goes with --registry");
    // Neither --registry nor --keys.
    rfc7523(
        &["verify", "--issuer", ISSUER, "--audience", AS, &grant],
        None,
    )
    .assert_usage_error("--keys is required");

    // --keys with more than one party, in both commands.
    let why = "one key set would be trusted for every party, so each could sign as the others; \
               give every party its own keys in a --registry file";
    single(&["--issuer", ISSUER, "--issuer", ISSUER_1, &grant]).assert_usage_error(&format!(
        "--keys serves exactly one party, but 2 --issuer were given: {why}"
    ));
    for extra in [
        &["--issuer", ISSUER, "--client-id", CLIENT][..],
        &["--issuer", ISSUER, "--issuer", ISSUER_1][..],
    ] {
        let mut a = vec!["token-request", "--keys", public, "--audience", AS];
        a.extend_from_slice(extra);
        a.push("grant_type=password");
        rfc7523(&a, None).assert_usage_error(why);
    }
}

/// The single-party flags have the registry's safe defaults and bounds.
#[test]
fn single_party_defaults_and_bounds() {
    let keys = Keys::new();
    let lifetime =
        |seconds: u64| sign_claims(&keys.main, &grant_with(json!({"exp": NOW + seconds})));
    // At most 3600 s by default (exp - iat, and exp - now without iat).
    assert_eq!(keys.verify_grant(&[&lifetime(3600)], None).code, 0);
    let run = keys.verify_grant(&[&lifetime(3601)], None);
    assert_eq!(
        run.line(),
        json!({
            "valid": false, "reason": "lifetime_too_long", "error": "invalid_grant",
            "description": "the assertion lifetime of 3601 s exceeds the maximum of 3600 s"
        }),
        "{run:?}"
    );
    let no_iat = sign_claims(
        &keys.main,
        &grant_with(json!({"iat": null, "exp": NOW + 3601})),
    );
    assert_eq!(
        keys.verify_grant(&[&no_iat], None).line()["reason"],
        "lifetime_too_long"
    );
    // --max-lifetime up to a day.
    let day = MAX_LIFETIME_SETTING.to_string();
    assert_eq!(
        keys.verify_grant(
            &["--max-lifetime", &day, &lifetime(MAX_LIFETIME_SETTING)],
            None
        )
        .code,
        0
    );
    let over = (MAX_LIFETIME_SETTING + 1).to_string();
    let over_leeway = (MAX_LEEWAY_SETTING + 1).to_string();
    let grant = keys.grant("d-1");
    for (flag, value) in [
        ("--max-lifetime", "0"),
        ("--max-lifetime", over.as_str()),
        ("--max-age", "0"),
        ("--max-age", over.as_str()),
        ("--leeway", over_leeway.as_str()),
    ] {
        keys.verify_grant(&[flag, value, &grant], None)
            .assert_usage_error(&format!("invalid value '{value}' for '{flag} <SECONDS>'"));
    }
    assert_eq!(
        keys.verify_grant(&["--leeway", &MAX_LEEWAY_SETTING.to_string(), &grant], None)
            .code,
        0
    );
    keys.verify_grant(&["--jti-optional", "--require-jti", &grant], None)
        .assert_usage_error("--jti-optional");
}

/// A signer cannot fill the replay cache with far-future assertions: they are refused before
/// the replay check, so they take no entry.
#[test]
fn far_future_assertions_take_no_replay_entry() {
    let keys = Keys::new();
    let far = sign_claims(
        &keys.main,
        &grant_with(json!({"exp": 9_007_199_254_740_991u64})),
    );
    let far_no_iat = sign_claims(
        &keys.main,
        &grant_with(json!({"exp": 9_007_199_254_740_991u64, "iat": null, "jti": "far-2"})),
    );
    let valid = keys.grant("r-1");
    let valid_2 = keys.grant("r-2");
    let input = format!("{far}\n{far_no_iat}\n{valid}\n{valid_2}\n");
    let run = keys.verify_grant(&["--replay-capacity", "1"], Some(input.as_bytes()));
    let reasons: Vec<Value> = run
        .lines()
        .iter()
        .map(|l| l.get("reason").cloned().unwrap_or(json!("valid")))
        .collect();
    // The one entry goes to the first valid assertion; the cache is then full until it
    // expires (exp + leeway: the core's replay tests cover the recovery).
    assert_eq!(
        reasons,
        [
            json!("lifetime_too_long"),
            json!("lifetime_too_long"),
            json!("valid"),
            json!("replay_store_full")
        ],
        "{run:?}"
    );
}

/// client_secret and the Authorization header: refused unless the caller verifies them, and
/// then the output says which one.
#[test]
fn other_client_authentication_methods() {
    let keys = Keys::new();
    let refused =
        "{\"ok\":false,\"status\":401,\"error\":\"invalid_client\",\"error_description\":\
                   \"the client authentication method is not supported; authenticate with a \
                   client assertion\",\"reason\":\"unsupported_client_authentication\"}\n";
    let secret = format!("grant_type=client_credentials&client_id={CLIENT}&client_secret=s3cr3t");
    let grant = grant_body(&keys.grant("o-1"));
    let grant_with_secret = format!("{grant}&client_id={CLIENT}&client_secret=s3cr3t");
    let caller = ["--other-client-auth", "verified-by-caller"];
    let header = "--authorization-header";
    let cases: Vec<(Vec<&str>, &str, Result<Value, &str>)> = vec![
        // Refused by default, before any assertion is judged.
        (vec![], &secret, Err(refused)),
        (vec![header], "grant_type=client_credentials", Err(refused)),
        (vec![header], &grant, Err(refused)),
        (vec![], &grant_with_secret, Err(refused)),
        (vec!["--other-client-auth", "refuse"], &secret, Err(refused)),
        // The caller verifies them: the output says which.
        (
            caller.to_vec(),
            &secret,
            Ok(json!({
                "ok": true, "use": "client_authentication", "grant_type": "client_credentials",
                "client_authentication": "client_secret", "client_id": CLIENT
            })),
        ),
        (
            vec![caller[0], caller[1], header],
            "grant_type=client_credentials",
            Ok(json!({
                "ok": true, "use": "client_authentication", "grant_type": "client_credentials",
                "client_authentication": "authorization_header"
            })),
        ),
        (
            vec![caller[0], caller[1], header],
            &grant,
            Ok(json!({"use": "grant", "client_authentication": "authorization_header"})),
        ),
        (
            caller.to_vec(),
            &grant_with_secret,
            Ok(
                json!({"use": "grant", "client_authentication": "client_secret", "client_id": CLIENT}),
            ),
        ),
        // No client authentication at all: a public client's grant.
        (
            vec![],
            &grant,
            Ok(json!({"use": "grant", "client_authentication": "none"})),
        ),
    ];
    for (extra, body, expected) in cases {
        let run = token_request_with(&keys, &extra, body, false);
        assert_eq!(run.stderr, "", "{extra:?} {body}: {run:?}");
        match expected {
            Err(line) => {
                assert_eq!(run.stdout, line, "{extra:?} {body}");
                assert_eq!(run.code, 1);
            }
            Ok(fields) => {
                assert_eq!(run.code, 0, "{extra:?} {body}: {run:?}");
                let line = run.line();
                if fields.get("ok").is_some() {
                    // Exactly these fields: no claims where no assertion was judged.
                    assert_eq!(line, fields, "{extra:?} {body}");
                } else {
                    for (name, value) in fields.as_object().or_panic("fields") {
                        assert_eq!(&line[name], value, "{name}: {line}");
                    }
                    assert_eq!(line["claims"]["jti"], "o-1", "{line}");
                    assert!(line.get("client_claims").is_none(), "{line}");
                }
            }
        }
    }
    // Two methods at once stay invalid_request, whatever the caller verifies.
    let both = client_body(
        "client_credentials",
        &keys.registered_client_assertion("o-2"),
    );
    for extra in [&[header][..], &[caller[0], caller[1], header][..]] {
        let run = token_request_with(&keys, extra, &both, false);
        assert_eq!(
            run.stdout,
            "{\"ok\":false,\"status\":400,\"error\":\"invalid_request\",\"error_description\":\
             \"more than one client authentication method was used\"}\n"
        );
    }
    token_request_with(&keys, &["--other-client-auth", "trust-me"], &secret, false)
        .assert_usage_error("--other-client-auth");
}

/// RFC 8707 `resource` may repeat; other parameters may not (RFC 6749 §3.2).
#[test]
fn repeated_resource_is_accepted() {
    let keys = Keys::new();
    let body = format!(
        "{}&resource=https%3A%2F%2Frs1.example&resource=https%3A%2F%2Frs2.example",
        grant_body(&keys.grant("res-1"))
    );
    let run = token_request(&keys, &body, false);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.line()["claims"]["jti"], "res-1");
    let body = format!("{}&scope=a&scope=b", grant_body(&keys.grant("res-2")));
    let run = token_request(&keys, &body, false);
    assert_eq!(
        run.line()["error_description"],
        "a request parameter is repeated"
    );
}

/// A request with a client assertion and a grant: both parties' claims; either refused alone
/// refuses the request with its own error.
#[test]
fn client_assertion_and_grant_from_a_registry() {
    let keys = Keys::new();
    let parties = four_parties(&keys);
    let registry = keys
        .dir
        .write("registry.json", registry_doc(&parties).to_string());
    let (client_1, issuer_2) = (&parties[0], &parties[3]);
    let body = |grant: &str, client: &str| {
        format!(
            "{}&client_id={CLIENT_1}&client_assertion_type={}&client_assertion={}",
            grant_body(grant),
            form_encode(CLIENT_ASSERTION_TYPE),
            form_encode(client)
        )
    };
    let grant = assertion_as(issuer_2, &issuer_2.signer(), Some(issuer_2.kid), "b-g");
    let client = assertion_as(client_1, &client_1.signer(), None, "b-c");
    let run = token_request_registry(&registry, &[&body(&grant, &client)]);
    assert_eq!(run.code, 0, "{run:?}");
    let line = run.line();
    assert_eq!(line["use"], "grant");
    assert_eq!(line["client_authentication"], "client_assertion");
    assert_eq!(
        (&line["claims"]["iss"], &line["claims"]["jti"]),
        (&json!(ISSUER_2), &json!("b-g"))
    );
    assert_eq!(
        (&line["client_claims"]["iss"], &line["client_claims"]["jti"]),
        (&json!(CLIENT_1), &json!("b-c"))
    );
    // The client signs the grant itself: refused as a grant.
    let forged = assertion_as(issuer_2, &client_1.signer(), None, "b-g2");
    let line = token_request_registry(&registry, &[&body(&forged, &client)]).line();
    assert_eq!(
        (&line["status"], &line["reason"]),
        (&json!(400), &json!("invalid_signature"))
    );
    // The issuer signs a client assertion: refused as client authentication, first.
    let forged = assertion_as(client_1, &issuer_2.signer(), Some(issuer_2.kid), "b-c2");
    let line = token_request_registry(&registry, &[&body(&grant, &forged)]).line();
    assert_eq!(
        (&line["status"], &line["reason"]),
        (&json!(401), &json!("unknown_key"))
    );
}

// ---------------------------------------------------------------------------------------------
// sign
// ---------------------------------------------------------------------------------------------

#[test]
fn sign_then_verify_round_trips_for_both_profiles() {
    let keys = Keys::new();
    for private in ["private.pem", "private-pkcs8.pem"] {
        let run = rfc7523(
            &args(&[
                &"sign",
                &"--key",
                &keys.path(private),
                &"--issuer",
                &ISSUER,
                &"--subject",
                &SUBJECT,
                &"--audience",
                &AS,
                &"--lifetime",
                &"120",
                &"--kid",
                &"k1",
                &"--now",
                &NOW_ARG,
            ]),
            None,
        );
        assert_eq!(run.code, 0, "{run:?}");
        let token = run.stdout.trim_end();
        // The kid selects the JWK Set's key.
        let run = rfc7523(
            &args(&[
                &"verify",
                &"--keys",
                &keys.path("public.jwks"),
                &"--issuer",
                &ISSUER,
                &"--audience",
                &AS,
                &"--now",
                &NOW_ARG,
                &"--max-lifetime",
                &"120",
                &"--require-jti",
                &"--require-iat",
                &token,
            ]),
            None,
        );
        assert_eq!(run.code, 0, "{private}: {run:?}");
        let line = run.line();
        assert_eq!(
            line["header"],
            json!({"alg": "RS256", "typ": "JWT", "kid": "k1"})
        );
        let claims = &line["claims"];
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["sub"], SUBJECT);
        assert_eq!(claims["aud"], AS);
        assert_eq!(claims["iat"], NOW);
        assert_eq!(claims["exp"], NOW + 120);
        // The default jti: 128 random bits, base64url.
        let jti = claims["jti"].as_str().unwrap();
        assert_eq!(b64url_decode(jti).map(|b| b.len()), Some(16), "{jti}");
    }
    // Two signatures get different random jti values.
    let a = keys.sign(&["--issuer", ISSUER, "--subject", SUBJECT, "--audience", AS]);
    let b = keys.sign(&["--issuer", ISSUER, "--subject", SUBJECT, "--audience", AS]);
    assert_ne!(a, b);

    // Client authentication: the subject defaults to the issuer, the lifetime to 300 s.
    let token = keys.sign(&[
        "--issuer",
        CLIENT,
        "--audience",
        AS,
        "--client-auth",
        "--jti",
        "c-1",
    ]);
    let run = keys.verify_client(&["--require-typ", "--require-jti", &token], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.line()["claims"],
        json!({"iss": CLIENT, "sub": CLIENT, "aud": AS, "exp": NOW + 300, "iat": NOW, "jti": "c-1"})
    );
}

#[test]
fn sign_errors_exit_2() {
    let keys = Keys::new();
    let sign = |key: &str, extra: &[&str]| {
        let mut a = args(&[&"sign", &"--key", &keys.path(key), &"--audience", &AS]);
        a.extend(extra.iter().map(Into::into));
        rfc7523(&a, None)
    };
    sign("private.pem", &["--issuer", ISSUER]).assert_usage_error("--subject is required");
    sign(
        "private.pem",
        &["--issuer", CLIENT, "--subject", "alice", "--client-auth"],
    )
    .assert_usage_error("client authentication requires issuer == subject");
    sign("private.pem", &["--issuer", "", "--subject", "x"]).assert_usage_error("issuer must be");
    sign(
        "small-private.pem",
        &["--issuer", ISSUER, "--subject", SUBJECT],
    )
    .assert_usage_error("small-private.pem: RSA key of 1024 bits refused");
    sign("public.pem", &["--issuer", ISSUER, "--subject", SUBJECT])
        .assert_usage_error("public.pem: ");
    sign("missing.pem", &["--issuer", ISSUER, "--subject", SUBJECT])
        .assert_usage_error("missing.pem: ");
}

/// The signature of `rfc7523 sign` verified by an independent implementation: the `openssl`
/// command-line tool (installed by `cargo xtask setup`; missing, this test fails).
#[test]
fn sign_is_verified_by_openssl() {
    let keys = Keys::new();
    for extra in [
        &["--issuer", ISSUER, "--subject", SUBJECT, "--audience", AS][..],
        &[
            "--issuer",
            CLIENT,
            "--audience",
            AS,
            "--client-auth",
            "--kid",
            "k1",
        ][..],
    ] {
        let token = keys.sign(extra);
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = b64url_decode(signature).expect("base64url signature");
        assert_eq!(signature.len(), 256);
        let dir = &keys.dir;
        let input_file = dir.write("input", input);
        let signature_file = dir.write("signature.bin", &signature);
        let public = keys.path("public.pem");
        let verified = openssl_ok(
            [
                "dgst".as_ref(),
                "-sha256".as_ref(),
                "-verify".as_ref(),
                public.as_os_str(),
                "-signature".as_ref(),
                signature_file.as_os_str(),
                input_file.as_os_str(),
            ],
            None,
        );
        assert_eq!(String::from_utf8_lossy(&verified).trim(), "Verified OK");

        // And openssl refuses it for other bytes: the check is real.
        let tampered = dir.write("tampered", format!("{input}x"));
        let refused = openssl(
            [
                "dgst".as_ref(),
                "-sha256".as_ref(),
                "-verify".as_ref(),
                public.as_os_str(),
                "-signature".as_ref(),
                signature_file.as_os_str(),
                tampered.as_os_str(),
            ],
            None,
        );
        assert!(!refused.status.success());
    }
    // The public key openssl used is the one our JWKs were built from.
    let der = openssl_ok(
        [
            "pkey".as_ref(),
            "-pubin".as_ref(),
            "-in".as_ref(),
            keys.path("public.pem").as_os_str(),
            "-outform".as_ref(),
            "DER".as_ref(),
        ],
        None,
    );
    assert_eq!(
        RsaPublicKey::from_public_key_der(&der).expect("SPKI DER"),
        keys.main_public
    );
}

/// Keys made by `openssl genpkey` in PKCS#8 `PRIVATE KEY` PEM (the form of Apple's `.p8`
/// files), with their SPKI PEM and DER: `rsa`, `p256`, `ed25519` (`<name>.pem`,
/// `<name>-public.pem`, `<name>-public.der`).
fn openssl_keys() -> TempDir {
    let dir = TempDir::new("rfc7523-cli-sign-algs");
    for (name, options) in [
        (
            "rsa",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"][..],
        ),
        (
            "p256",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
        ),
        ("ed25519", &["-algorithm", "ED25519"][..]),
    ] {
        let private = dir.join(&format!("{name}.pem"));
        let mut genpkey: Vec<std::ffi::OsString> = vec!["genpkey".into()];
        genpkey.extend(options.iter().map(Into::into));
        genpkey.extend(["-out".into(), private.clone().into_os_string()]);
        openssl_ok(&genpkey, None);
        for (suffix, form) in [("public.pem", "PEM"), ("public.der", "DER")] {
            let out = dir.join(&format!("{name}-{suffix}"));
            openssl_ok(
                [
                    "pkey".as_ref(),
                    "-in".as_ref(),
                    private.as_os_str(),
                    "-pubout".as_ref(),
                    "-outform".as_ref(),
                    form.as_ref(),
                    "-out".as_ref(),
                    out.as_os_str(),
                ],
                None,
            );
        }
    }
    dir
}

/// An ES256 `R || S` (RFC 7518 §3.4) as the DER `ECDSA-Sig-Value` openssl reads (RFC 3279).
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let integer = |bytes: &[u8]| {
        let mut value: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
        if value.first().is_none_or(|&b| b & 0x80 != 0) {
            value.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(value.len()).or_panic("INTEGER length")];
        out.extend(value);
        out
    };
    assert_eq!(raw.len(), 64);
    let (r, s) = raw.split_at(32);
    let body = [integer(r), integer(s)].concat();
    let mut out = vec![0x30, u8::try_from(body.len()).or_panic("SEQUENCE length")];
    out.extend(body);
    out
}

/// True when `openssl` verifies the JWS `token` signed with `alg` under `public` (SPKI PEM).
fn openssl_verifies(dir: &TempDir, public: &std::path::Path, alg: &str, token: &str) -> bool {
    let (input, signature) = token.rsplit_once('.').or_panic("a compact JWS");
    let signature = b64url_decode(signature).or_panic("base64url signature");
    let input = dir.write("input", input);
    let signature = if alg == "ES256" {
        dir.write("signature.bin", ecdsa_der(&signature))
    } else {
        dir.write("signature.bin", &signature)
    };
    let mut command: Vec<std::ffi::OsString> = match alg {
        "EdDSA" | "Ed25519" => ["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"]
            .map(Into::into)
            .to_vec(),
        _ => ["dgst", "-sha256", "-verify"].map(Into::into).to_vec(),
    };
    command.push(public.into());
    if alg == "PS256" {
        for option in [
            "rsa_padding_mode:pss",
            "rsa_pss_saltlen:32",
            "rsa_mgf1_md:sha256",
        ] {
            command.extend(["-sigopt".into(), option.into()]);
        }
    }
    if alg.starts_with("Ed") {
        command.extend([
            "-in".into(),
            input.into_os_string(),
            "-sigfile".into(),
            signature.into_os_string(),
        ]);
    } else {
        command.extend([
            "-signature".into(),
            signature.into_os_string(),
            input.into_os_string(),
        ]);
    }
    openssl(&command, None).status.success()
}

/// True when the core's own primitive for `alg` (`rfc7523::alg`) verifies `token` under the
/// SPKI DER `public`.
fn core_verifies(public: &[u8], alg: &str, token: &str) -> bool {
    use rfc7523::alg::{eddsa::Ed25519VerifyingKey, es256::P256VerifyingKey, ps256};
    let (input, signature) = token.rsplit_once('.').or_panic("a compact JWS");
    let signature = b64url_decode(signature).or_panic("base64url signature");
    let input = input.as_bytes();
    match alg {
        "RS256" => rfc7523::RsaVerifyingKey::from_spki_der(public)
            .or_panic("RSA SPKI")
            .verify_rs256(input, &signature),
        "PS256" => ps256::verify_message(
            &rfc7523::RsaVerifyingKey::from_spki_der(public).or_panic("RSA SPKI"),
            input,
            &signature,
        ),
        "ES256" => P256VerifyingKey::from_spki_der(public)
            .or_panic("P-256 SPKI")
            .verify_message(input, &signature),
        _ => Ed25519VerifyingKey::from_spki_der(public)
            .or_panic("Ed25519 SPKI")
            .verify_message(input, &signature),
    }
}

/// Every algorithm `rfc7523 sign` makes, in both modes, verified by `openssl` (the
/// independent implementation) and by the core's own primitives, which both refuse the
/// signature over other bytes; the signature lengths of RFC 7518 §3.4 and RFC 8032.
#[test]
fn sign_every_algorithm_is_verified_by_openssl() {
    let dir = openssl_keys();
    for (key, alg, default, signature_len) in [
        ("rsa", "RS256", true, 256),
        ("rsa", "PS256", false, 256),
        ("p256", "ES256", true, 64),
        ("ed25519", "EdDSA", true, 64),
        ("ed25519", "Ed25519", false, 64),
    ] {
        let private = dir.join(&format!("{key}.pem"));
        let public_pem = dir.join(&format!("{key}-public.pem"));
        let public_der = std::fs::read(dir.join(&format!("{key}-public.der"))).or_panic("DER");
        for mode in [
            &["--issuer", CLIENT, "--audience", AS, "--client-auth"][..],
            &[
                "--jwt",
                "--issuer",
                "TEAM",
                "--subject",
                "svc",
                "--audience",
                AS,
            ][..],
        ] {
            let mut a = args(&[&"sign", &"--key", &private, &"--now", &NOW_ARG]);
            a.extend(mode.iter().map(Into::into));
            if !default {
                a.extend(["--alg".into(), alg.into()]);
            }
            let run = rfc7523(&a, None);
            assert_eq!(run.code, 0, "{alg}: {run:?}");
            let token = run.stdout.trim_end();
            let header: Value = serde_json::from_slice(
                &b64url_decode(token.split('.').next().or_panic("header")).or_panic("b64"),
            )
            .or_panic("header JSON");
            assert_eq!(header["alg"], alg, "{token}");
            let signature = b64url_decode(token.rsplit_once('.').or_panic("jws").1);
            assert_eq!(signature.map(|s| s.len()), Some(signature_len), "{alg}");
            assert!(
                openssl_verifies(&dir, &public_pem, alg, token),
                "{alg}: {token}"
            );
            assert!(core_verifies(&public_der, alg, token), "{alg}: {token}");
            // Other bytes under the same signature: refused by both, so the checks are real.
            let (input, signature) = token.rsplit_once('.').or_panic("jws");
            let tampered = format!("{input}x.{signature}");
            assert!(
                !openssl_verifies(&dir, &public_pem, alg, &tampered),
                "{alg}"
            );
            assert!(!core_verifies(&public_der, alg, &tampered), "{alg}");
            if mode.contains(&"--client-auth") {
                verify_round_trip(&public_pem, alg, default, token);
            }
        }
    }
}

/// `rfc7523 verify` of a client assertion `sign` made with `alg`: valid, with the public key
/// as its SPKI PEM; a key that serves another algorithm by default (an RSA key for PS256)
/// needs `--alg`, and without it the token is `unsupported_algorithm` (one algorithm per key).
fn verify_round_trip(public_pem: &std::path::Path, alg: &str, default: bool, token: &str) {
    let verify = |extra: &[&str]| {
        let mut a = args(&[
            &"verify",
            &"--keys",
            &public_pem,
            &"--client-id",
            &CLIENT,
            &"--audience",
            &AS,
            &"--now",
            &NOW_ARG,
        ]);
        a.extend(extra.iter().map(Into::into));
        a.push(token.into());
        rfc7523(&a, None)
    };
    let with_alg = verify(&["--alg", alg]);
    assert_eq!(with_alg.code, 0, "{alg}: {with_alg:?}");
    assert_eq!(with_alg.line()["header"]["alg"], alg);
    let without = verify(&[]);
    if default || alg == "Ed25519" {
        // The key type's default (Ed25519 keys serve both names of the one algorithm).
        assert_eq!(without.code, 0, "{alg}: {without:?}");
    } else {
        assert_eq!(without.code, 1, "{alg}: {without:?}");
        assert_eq!(without.line()["reason"], "unsupported_algorithm", "{alg}");
    }
    // Another algorithm named: refused on the allow-list.
    let other = if alg == "ES256" { "RS256" } else { "ES256" };
    let refused = verify(&["--alg", other]);
    assert_eq!(refused.line()["reason"], "unsupported_algorithm", "{alg}");
}

/// Sign in with Apple's client secret in one command: the exact header and claims (iss the
/// team id, sub the Services ID, no jti), ES256 verified by openssl, the lifetime bound at its
/// boundary, and the RFC 7523 mode's lifetime unchanged.
#[test]
fn sign_apple_client_secret() {
    let dir = openssl_keys();
    let p8 = dir.join("p256.pem");
    let apple = |extra: &[&str]| {
        let mut a = args(&[
            &"sign",
            &"--apple",
            &"--key",
            &p8,
            &"--kid",
            &"ABC123DEFG",
            &"--issuer",
            &"DEF123GHIJ",
            &"--subject",
            &"com.example.web",
            &"--now",
            &NOW_ARG,
        ]);
        a.extend(extra.iter().map(Into::into));
        rfc7523(&a, None)
    };
    let run = apple(&["--lifetime", "15777000"]);
    assert_eq!(run.code, 0, "{run:?}");
    let token = run.stdout.trim_end();
    let part = |i: usize| -> Value {
        let text = token.split('.').nth(i).or_panic("part");
        serde_json::from_slice(&b64url_decode(text).or_panic("b64")).or_panic("JSON")
    };
    assert_eq!(part(0), json!({"alg": "ES256", "kid": "ABC123DEFG"}));
    assert_eq!(
        part(1),
        json!({
            "iss": "DEF123GHIJ", "sub": "com.example.web", "aud": "https://appleid.apple.com",
            "exp": NOW + 15_777_000, "iat": NOW,
        })
    );
    assert!(openssl_verifies(
        &dir,
        &dir.join("p256-public.pem"),
        "ES256",
        token
    ));
    // One second past Apple's six months; --jwt's lower bound; the default lifetime.
    apple(&["--lifetime", "15777001"])
        .assert_usage_error("--lifetime: a lifetime of 15777001 s is outside 1..=15777000 s");
    let run = apple(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    let jwt = |lifetime: &str| {
        rfc7523(
            &args(&[
                &"sign",
                &"--jwt",
                &"--key",
                &p8,
                &"--issuer",
                &"i",
                &"--subject",
                &"s",
                &"--audience",
                &AS,
                &"--lifetime",
                &lifetime,
                &"--now",
                &NOW_ARG,
            ]),
            None,
        )
    };
    assert_eq!(jwt("1").code, 0);
    assert_eq!(jwt("15777000").code, 0);
    jwt("0").assert_usage_error("--lifetime: a lifetime of 0 s is outside 1..=15777000 s");
    jwt("15777001").assert_usage_error("(the limit of --jwt: 15777000 s, six months)");
    // The RFC 7523 mode keeps its rule: any lifetime (the verifier bounds it).
    let run = rfc7523(
        &args(&[
            &"sign",
            &"--key",
            &p8,
            &"--issuer",
            &"i",
            &"--subject",
            &"s",
            &"--audience",
            &AS,
            &"--lifetime",
            &"15777001",
            &"--now",
            &NOW_ARG,
        ]),
        None,
    );
    assert_eq!(run.code, 0, "{run:?}");
}

/// The algorithm and mode refusals of `sign`: exit status 2, one line naming the flag at fault.
#[test]
fn sign_algorithm_and_mode_errors_name_the_flag() {
    let dir = openssl_keys();
    let key = |name: &str| dir.join(&format!("{name}.pem"));
    let sign = |extra: &[&dyn AsRef<std::ffi::OsStr>]| {
        let mut a = args(&[&"sign", &"--issuer", &"i", &"--subject", &"s"]);
        a.extend(args(extra));
        rfc7523(&a, None)
    };
    for (key_name, alg, key_type) in [
        ("p256", "PS256", "a P-256"),
        ("p256", "RS256", "a P-256"),
        ("rsa", "ES256", "an RSA"),
        ("rsa", "EdDSA", "an RSA"),
        ("ed25519", "ES256", "an Ed25519"),
        ("ed25519", "PS256", "an Ed25519"),
    ] {
        sign(&[&"--key", &key(key_name), &"--audience", &AS, &"--alg", &alg])
            .assert_usage_error(&format!("--alg {alg}: {alg} needs"));
        sign(&[&"--key", &key(key_name), &"--audience", &AS, &"--alg", &alg])
            .assert_usage_error(&format!("not {key_type} key ({}", key(key_name).display()));
    }
    sign(&[
        &"--key",
        &key("rsa"),
        &"--audience",
        &AS,
        &"--alg",
        &"ps256",
    ])
    .assert_usage_error("invalid value 'ps256' for '--alg <ALG>'");
    sign(&[
        &"--key",
        &key("rsa"),
        &"--audience",
        &AS,
        &"--alg",
        &"HS256",
    ])
    .assert_usage_error("'--alg <ALG>'");
    // --apple: ES256 with its own aud and a kid.
    sign(&[&"--apple", &"--key", &key("rsa"), &"--kid", &"K"])
        .assert_usage_error("--apple needs a P-256 key (ES256, Apple's .p8 file), not an RSA key");
    sign(&[
        &"--apple",
        &"--key",
        &key("ed25519"),
        &"--kid",
        &"K",
        &"--alg",
        &"Ed25519",
    ])
    .assert_usage_error("--alg Ed25519: --apple signs ES256 only");
    sign(&[&"--apple", &"--key", &key("p256")]).assert_usage_error("--kid");
    sign(&[
        &"--apple",
        &"--key",
        &key("p256"),
        &"--kid",
        &"K",
        &"--audience",
        &AS,
    ])
    .assert_usage_error("'--apple' cannot be used with '--audience <AUD>'");
    sign(&[&"--apple", &"--jwt", &"--key", &key("p256"), &"--kid", &"K"])
        .assert_usage_error("cannot be used with");
    sign(&[
        &"--jwt",
        &"--client-auth",
        &"--key",
        &key("p256"),
        &"--audience",
        &AS,
    ])
    .assert_usage_error("'--jwt' cannot be used with '--client-auth'");
    sign(&[&"--key", &key("p256")]).assert_usage_error("--audience <AUD>");
    sign(&[
        &"--jwt",
        &"--key",
        &key("p256"),
        &"--audience",
        &AS,
        &"--kid",
        &"k".repeat(129),
    ])
    .assert_usage_error("--kid: kid must be");
    // Key formats: encrypted PKCS#8, SEC 1 EC keys (convert to PKCS#8), another curve.
    let p256 = key("p256");
    for (name, command) in [
        (
            "encrypted.pem",
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-passout",
                "pass:x",
            ][..],
        ),
        ("sec1.pem", &["ec"][..]),
    ] {
        let out = dir.join(name);
        let mut a: Vec<std::ffi::OsString> = command.iter().map(Into::into).collect();
        a.extend([
            "-in".into(),
            p256.clone().into_os_string(),
            "-out".into(),
            out.into_os_string(),
        ]);
        openssl_ok(&a, None);
    }
    let p384 = dir.join("p384.pem");
    openssl_ok(
        [
            "genpkey".as_ref(),
            "-algorithm".as_ref(),
            "EC".as_ref(),
            "-pkeyopt".as_ref(),
            "ec_paramgen_curve:P-384".as_ref(),
            "-out".as_ref(),
            p384.as_os_str(),
        ],
        None,
    );
    for (file, message) in [
        (
            "encrypted.pem",
            "encrypted.pem: the private key is encrypted; decrypt it first",
        ),
        (
            "sec1.pem",
            "sec1.pem: not a PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1) PEM",
        ),
        (
            "p384.pem",
            "p384.pem: not an RSA, P-256 or Ed25519 private key",
        ),
    ] {
        sign(&[&"--key", &dir.join(file), &"--audience", &AS]).assert_usage_error(message);
    }
}

// ---------------------------------------------------------------------------------------------
// inspect
// ---------------------------------------------------------------------------------------------

#[test]
fn inspect_decodes_and_never_says_valid() {
    let keys = Keys::new();
    let valid = keys.grant("g-1");
    let forged = sign_claims(&keys.other, &grant_claims());
    for token in [&valid, &forged] {
        let run = rfc7523(&["inspect", token.as_str()], None);
        assert_eq!(run.code, 0, "{run:?}");
        let line = run.line();
        assert_eq!(line["verified"], false);
        assert!(line.get("valid").is_none(), "{line}");
        assert_eq!(line["header"]["alg"], "RS256");
        assert_eq!(line["claims"]["iss"], ISSUER);
    }
    // Standard input, with surrounding white space.
    let run = rfc7523(&["inspect"], Some(format!("\n {valid} \n").as_bytes()));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.line()["claims"]["jti"], "g-1");

    // Lenient: padding, no signature.
    let (header, rest) = valid.split_once('.').unwrap();
    let payload = rest.split('.').next().unwrap();
    let run = rfc7523(&["inspect", &format!("{header}==.{payload}")], None);
    assert_eq!(run.code, 0, "{run:?}");

    // What cannot be decoded is null or a string, with status 1 and one line saying why.
    let run = rfc7523(&["inspect", "bm90IGpzb24.!!!"], None);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "{\"verified\":false,\"header\":\"not json\",\"claims\":null}\n"
    );
    assert_eq!(
        run.stderr,
        "rfc7523: cannot decode the token: the header segment is not JSON; the claims segment \
         is not base64url\n"
    );
    let run = rfc7523(&["inspect", "e30"], None);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.line(),
        json!({"verified": false, "header": {}, "claims": null})
    );
}

// ---------------------------------------------------------------------------------------------
// verify --jobs, --replay-db
// ---------------------------------------------------------------------------------------------

/// A run started and not yet waited for: its standard input is written by another thread.
struct Started {
    child: std::process::Child,
    writer: std::thread::JoinHandle<()>,
}

impl Started {
    fn new<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Vec<u8>) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rfc7523"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .or_panic("cannot start rfc7523");
        let mut pipe = child.stdin.take().or_panic("stdin pipe");
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&stdin);
        });
        Self { child, writer }
    }

    fn finish(self) -> Run {
        let output = self
            .child
            .wait_with_output()
            .or_panic("waiting for rfc7523");
        self.writer.join().or_panic("stdin writer");
        Run {
            code: output.status.code().or_panic("exit code (not a signal)"),
            stdout: String::from_utf8(output.stdout).or_panic("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).or_panic("UTF-8 stderr"),
        }
    }
}

/// The arguments of [`Keys::verify_grant`] with `extra`.
fn verify_grant_args(
    keys: &Keys,
    extra: &[&dyn AsRef<std::ffi::OsStr>],
) -> Vec<std::ffi::OsString> {
    let mut a = args(&[
        &"verify",
        &"--keys",
        &keys.path("public.pem"),
        &"--issuer",
        &ISSUER,
        &"--audience",
        &AS,
        &"--now",
        &NOW_ARG,
    ]);
    a.extend(args(extra));
    a
}

/// A grant of the main key with jti `jti`, signed here (faster than `rfc7523 sign`).
fn grant_jti(keys: &Keys, jti: &str) -> String {
    sign_claims(&keys.main, &grant_with(json!({ "jti": jti })))
}

/// xorshift64: the same "random" batch on every run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// `lines`, each followed by a newline, in an order shuffled by `seed`.
fn shuffled(mut lines: Vec<String>, seed: u64) -> Vec<u8> {
    let mut state = seed;
    for i in (1..lines.len()).rev() {
        let j = (next(&mut state) % (i as u64 + 1)) as usize;
        lines.swap(i, j);
    }
    lines
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect()
}

/// How many lines of `run` are valid, and each valid line's jti.
fn valid_jtis(run: &Run) -> Vec<String> {
    run.lines()
        .iter()
        .filter(|l| l["valid"] == true)
        .map(|l| l["claims"]["jti"].as_str().or_panic("jti").to_owned())
        .collect()
}

#[test]
fn jobs_output_is_one_threads_byte_for_byte() {
    let keys = Keys::new();
    let valid: Vec<String> = (0..100)
        .map(|i| grant_jti(&keys, &format!("v{i}")))
        .collect();
    let expired: Vec<String> = (0..20)
        .map(|i| {
            let claims = json!({"jti": format!("e{i}"), "iat": NOW - 400, "exp": NOW - 100});
            sign_claims(&keys.main, &grant_with(claims))
        })
        .collect();
    // A changed signature character (in the middle: still canonical base64url).
    let forged: Vec<String> = valid
        .iter()
        .take(20)
        .map(|t| {
            let mut bytes = t.clone().into_bytes();
            let at = t.rfind('.').or_panic("a signature") + 100;
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).or_panic("ASCII")
        })
        .collect();
    let oversize = "A".repeat(MAX_TOKEN_LEN + 10);
    let mut state = 0x9e37_79b9_7f4a_7c15;
    let mut input = Vec::new();
    for _ in 0..400 {
        let pick = next(&mut state);
        let n = (pick >> 16) as usize;
        let line: Vec<u8> = match pick % 100 {
            0..=59 => valid[n % valid.len()].clone().into_bytes(),
            60..=69 => expired[n % expired.len()].clone().into_bytes(),
            70..=79 => forged[n % forged.len()].clone().into_bytes(),
            80..=84 => Vec::new(),
            85..=87 => b" \t ".to_vec(),
            88..=91 => b"not-a-token".to_vec(),
            92..=93 => oversize.clone().into_bytes(),
            94..=96 => b"eyJ\xff\xfe.x.y".to_vec(),
            _ => format!("{}\r", valid[n % valid.len()]).into_bytes(),
        };
        input.extend_from_slice(&line);
        input.push(b'\n');
    }

    for capacity in [None, Some("40")] {
        let mut extra: Vec<&str> = Vec::new();
        if let Some(capacity) = capacity {
            extra.extend(["--replay-capacity", capacity]);
        }
        let one = keys.verify_grant(&[&extra[..], &["--jobs", "1"]].concat(), Some(&input));
        assert_eq!(one.code, 1, "{one:?}");
        assert_eq!(one.stderr, "");
        let reasons: BTreeSet<String> = one
            .lines()
            .iter()
            .map(|l| l["reason"].as_str().unwrap_or("valid").to_owned())
            .collect();
        let mut expected = vec![
            "expired",
            "invalid_signature",
            "malformed",
            "replayed",
            "too_large",
            "valid",
        ];
        if capacity.is_some() {
            expected.push("replay_store_full");
        }
        expected.sort_unstable();
        assert_eq!(reasons.iter().collect::<Vec<_>>(), expected);
        for jobs in [Some("2"), Some("4"), Some("16"), None] {
            let mut with = extra.clone();
            with.extend(jobs.iter().flat_map(|j| ["--jobs", j]));
            let many = keys.verify_grant(&with, Some(&input));
            assert_eq!(
                (many.code, many.stderr.as_str()),
                (1, ""),
                "--jobs {jobs:?}"
            );
            assert!(
                many.stdout == one.stdout,
                "--jobs {jobs:?} {capacity:?}: the output differs from --jobs 1"
            );
        }
    }

    // --jobs 0 and an argument that is not a number are usage errors.
    keys.verify_grant(&["--jobs", "0"], Some(&input))
        .assert_usage_error("--jobs");
    keys.verify_grant(&["--jobs", "many"], Some(&input))
        .assert_usage_error("--jobs");
}

#[test]
fn replay_db_two_processes_accept_each_jti_exactly_once() {
    let keys = Keys::new();
    let db = keys.dir.join("shared-replay.db");
    let tokens: Vec<String> = (0..100)
        .map(|i| grant_jti(&keys, &format!("x{i}")))
        .collect();
    // 1,000 submissions: each process gets every token 5 times, in its own order.
    let copies = |n: usize| -> Vec<String> {
        tokens
            .iter()
            .flat_map(|t| std::iter::repeat_n(t.clone(), n))
            .collect()
    };
    let a = Started::new(
        &verify_grant_args(&keys, &[&"--replay-db", &db, &"--jobs", &"1"]),
        shuffled(copies(5), 1),
    );
    let b = Started::new(
        &verify_grant_args(&keys, &[&"--replay-db", &db]),
        shuffled(copies(5), 2),
    );
    let (a, b) = (a.finish(), b.finish());
    for run in [&a, &b] {
        assert_eq!((run.code, run.stderr.as_str()), (1, ""), "{run:?}");
        assert_eq!(run.lines().len(), 500);
        assert!(run
            .lines()
            .iter()
            .all(|l| l["valid"] == true || l["reason"] == "replayed"));
    }
    let mut accepted = valid_jtis(&a);
    accepted.extend(valid_jtis(&b));
    assert_eq!(accepted.len(), 100, "accepted overall");
    let distinct: BTreeSet<&String> = accepted.iter().collect();
    assert_eq!(distinct.len(), 100, "each jti accepted once");

    // A later run refuses them all, and so does token-request with the same store.
    let later = keys.verify_grant(
        &["--replay-db", db.to_str().or_panic("UTF-8 path")],
        Some(tokens.join("\n").as_bytes()),
    );
    assert_eq!(valid_jtis(&later).len(), 0, "{later:?}");
}

#[test]
fn replay_db_a_killed_process_loses_no_accepted_entry() {
    use std::io::{BufRead, BufReader};

    let keys = Keys::new();
    let db = keys.dir.join("crash-replay.db");
    let tokens: Vec<String> = (0..300)
        .map(|i| grant_jti(&keys, &format!("k{i}")))
        .collect();
    let all: Vec<u8> = tokens
        .iter()
        .flat_map(|t| format!("{t}\n").into_bytes())
        .collect();

    // A: tokens in chunks of 50, each answered before the next is written.
    let mut a = Command::new(env!("CARGO_BIN_EXE_rfc7523"))
        .args(verify_grant_args(&keys, &[&"--replay-db", &db]))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .or_panic("cannot start rfc7523");
    let mut a_in = a.stdin.take().or_panic("stdin");
    let mut a_out = BufReader::new(a.stdout.take().or_panic("stdout"));
    let mut a_lines = Vec::new();
    for chunk in tokens.chunks(50).take(3) {
        for token in chunk {
            writeln!(a_in, "{token}").or_panic("write");
        }
        a_in.flush().or_panic("flush");
        for _ in chunk {
            let mut line = String::new();
            a_out.read_line(&mut line).or_panic("read");
            a_lines.push(line);
        }
    }
    // B, the other process, starts on every token; A gets the rest and is killed while it
    // works on it.
    let b = Started::new(
        &verify_grant_args(&keys, &[&"--replay-db", &db]),
        all.clone(),
    );
    for token in &tokens[150..] {
        writeln!(a_in, "{token}").or_panic("write");
    }
    a_in.flush().or_panic("flush");
    std::thread::sleep(std::time::Duration::from_millis(30));
    a.kill().or_panic("kill -9");
    let status = a.wait().or_panic("wait");
    assert_eq!(status.code(), None, "A was killed, not finished");
    // Whatever A wrote before it died.
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut a_out, &mut rest);
    a_lines.extend(rest.lines().map(|l| format!("{l}\n")));
    let a_run = Run {
        code: 1,
        stdout: a_lines.concat(),
        stderr: String::new(),
    };
    let a_accepted: BTreeSet<String> = valid_jtis(&a_run).into_iter().collect();
    assert!(a_accepted.len() >= 150, "{}", a_accepted.len());

    let b = b.finish();
    assert_eq!(b.code, 1, "{b:?}");
    let b_accepted: BTreeSet<String> = valid_jtis(&b).into_iter().collect();
    assert!(
        a_accepted.is_disjoint(&b_accepted),
        "accepted by both: {:?}",
        a_accepted.intersection(&b_accepted).collect::<Vec<_>>()
    );
    // A restarted: the file opens (the kill left it intact), and every token was accepted
    // by A or by B, so all are refused.
    let restarted = keys.verify_grant(
        &["--replay-db", db.to_str().or_panic("UTF-8 path")],
        Some(&all),
    );
    assert_eq!(restarted.code, 1, "{restarted:?}");
    assert_eq!(restarted.stderr, "");
    assert!(restarted.lines().iter().all(|l| l["reason"] == "replayed"));
    assert_eq!(restarted.lines().len(), 300);
}

#[test]
fn replay_db_token_requests_share_one_store() {
    let keys = Keys::new();
    let db = keys.dir.join("endpoint-replay.db");
    let db_arg = db.to_str().or_panic("UTF-8 path");
    let body = grant_body(&keys.grant("tr-1"));
    let first = token_request_with(&keys, &["--replay-db", db_arg], &body, false);
    assert_eq!(first.code, 0, "{first:?}");
    // Without the store, each run starts empty and the same request passes again.
    let again = token_request_with(&keys, &[], &body, false);
    assert_eq!(again.code, 0, "{again:?}");
    let second = token_request_with(&keys, &["--replay-db", db_arg], &body, true);
    assert_eq!(second.code, 1, "{second:?}");
    assert_eq!(second.line()["reason"], "replayed");
    assert_eq!(second.line()["error"], "invalid_grant");
    // verify shares it too.
    let verify = keys.verify_grant(&["--replay-db", db_arg, &keys.grant("tr-1")], None);
    assert_eq!(verify.line()["reason"], "replayed");
}

#[test]
fn replay_db_that_is_not_an_intact_store_exits_2() {
    let keys = Keys::new();
    let grant = keys.grant("db-1");
    let verify = |db: &std::path::Path| {
        keys.verify_grant(
            &["--replay-db", db.to_str().or_panic("UTF-8 path"), &grant],
            None,
        )
    };
    // A store made by a run, then changed: (what, a change of its bytes, the message).
    type Change = fn(&mut Vec<u8>);
    let cases: [(&str, Change, &str); 4] = [
        (
            "damaged",
            |bytes| bytes[4096..3 * 4096].fill(0xA5),
            "the replay store is damaged: database disk image is malformed",
        ),
        (
            "another-version",
            // user_version, offset 60 of the header, big-endian.
            |bytes| bytes[60..64].copy_from_slice(&2u32.to_be_bytes()),
            "a replay store of schema version 2; this program reads version 1",
        ),
        (
            "another-application",
            // application_id, offset 68.
            |bytes| bytes[68..72].copy_from_slice(b"ABCD"),
            "not a replay store: a SQLite database of another application (application_id \
             0x41424344, expected 0x37353233)",
        ),
        (
            "header",
            |bytes| bytes[16..24].fill(0xFF),
            "not a replay store: not a SQLite database",
        ),
    ];
    for (name, change, message) in cases {
        let db = keys.dir.join(&format!("{name}.db"));
        let made = verify(&db);
        assert_eq!(made.code, 0, "{made:?}");
        let mut bytes = std::fs::read(&db).or_panic("the store");
        assert_eq!(bytes.len(), 3 * 4096, "{name}: checkpointed into the file");
        change(&mut bytes);
        std::fs::write(&db, &bytes).or_panic("write");
        verify(&db).assert_usage_error(&format!("rfc7523: {}: {message}", db.display()));
        let run = token_request_with(
            &keys,
            &["--replay-db", db.to_str().or_panic("UTF-8 path")],
            &grant_body(&grant),
            false,
        );
        run.assert_usage_error(message);
        assert_eq!(
            std::fs::read(&db).or_panic("the store"),
            bytes,
            "{name}: changed"
        );
    }

    let text = keys
        .dir
        .write("text.db", "not a database at all, only some text\n");
    verify(&text).assert_usage_error(&format!(
        "rfc7523: {}: not a replay store: not a SQLite database",
        text.display()
    ));
    assert_eq!(
        std::fs::read(&text).or_panic("text.db"),
        b"not a database at all, only some text\n"
    );
    let missing = keys.dir.join("missing/replay.db");
    verify(&missing).assert_usage_error(&format!(
        "rfc7523: {}: cannot open the replay store",
        missing.display()
    ));
    verify(keys.dir.path()).assert_usage_error("cannot open the replay store");

    // Memory or a file, not both.
    keys.verify_grant(
        &["--replay-db", "x.db", "--replay-capacity", "10", &grant],
        None,
    )
    .assert_usage_error("'--replay-db <FILE>' cannot be used with '--replay-capacity <N>'");
}

/// A caller that writes one token and waits gets its answer before writing the next, with one
/// thread and with several.
#[test]
fn each_answer_comes_before_the_next_token_is_written() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;

    let keys = Keys::new();
    let tokens: Vec<String> = (0..3).map(|i| grant_jti(&keys, &format!("i{i}"))).collect();
    for jobs in ["1", "2"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rfc7523"))
            .args(verify_grant_args(&keys, &[&"--jobs", &jobs]))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .or_panic("cannot start rfc7523");
        let mut input = child.stdin.take().or_panic("stdin");
        let mut output = BufReader::new(child.stdout.take().or_panic("stdout"));
        let (lines_tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || loop {
            let mut line = String::new();
            if output.read_line(&mut line).unwrap_or(0) == 0 || lines_tx.send(line).is_err() {
                break;
            }
        });
        for token in &tokens {
            writeln!(input, "{token}").or_panic("write");
            input.flush().or_panic("flush");
            let Ok(line) = lines.recv_timeout(Duration::from_secs(20)) else {
                let _ = child.kill();
                panic!("--jobs {jobs}: no answer while the input stays open");
            };
            assert!(line.starts_with("{\"valid\":true"), "--jobs {jobs}: {line}");
        }
        drop(input);
        assert_eq!(child.wait().or_panic("wait").code(), Some(0));
        reader.join().or_panic("reader");
    }
}

/// A store that fails while running (here: its write lock held by another connection past
/// the 5 s busy timeout) refuses the assertion and says why on standard error; once the lock
/// is released, the same run accepts the next one.
#[test]
fn replay_db_error_while_running_refuses_and_is_reported() {
    use std::io::{BufRead, BufReader, Read};

    let keys = Keys::new();
    let db = keys.dir.join("locked-replay.db");
    let db_arg = db.to_str().or_panic("UTF-8 path");
    let tokens: Vec<String> = (0..3)
        .map(|i| grant_jti(&keys, &format!("lock-{i}")))
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rfc7523"))
        .args(verify_grant_args(&keys, &[&"--replay-db", &db_arg]))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .or_panic("cannot start rfc7523");
    let mut input = child.stdin.take().or_panic("stdin");
    let mut output = BufReader::new(child.stdout.take().or_panic("stdout"));
    let mut answer = |token: &str| -> Value {
        writeln!(input, "{token}").or_panic("write");
        input.flush().or_panic("flush");
        let mut line = String::new();
        output.read_line(&mut line).or_panic("read");
        serde_json::from_str(&line).or_panic("a JSON line")
    };
    // The store is open once the first answer is in.
    assert_eq!(answer(&tokens[0])["valid"], true);
    let other = rusqlite::Connection::open(&db).or_panic("a second connection");
    other
        .execute_batch("BEGIN IMMEDIATE")
        .or_panic("the write lock");
    let refused = answer(&tokens[1]);
    assert_eq!(refused["reason"], "replay_store_full", "{refused}");
    other.execute_batch("ROLLBACK").or_panic("release");
    assert_eq!(answer(&tokens[2])["valid"], true);
    // Not remembered: refused, so offered again later it passes.
    assert_eq!(answer(&tokens[1])["valid"], true);
    drop(input);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .or_panic("stderr")
        .read_to_string(&mut stderr)
        .or_panic("read stderr");
    assert_eq!(child.wait().or_panic("wait").code(), Some(1));
    assert_eq!(
        stderr,
        format!("rfc7523: {db_arg}: replay store error: database is locked\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Keys from certificates: X.509 maps, CERTIFICATE PEMs, `rfc7523 keys`
// ---------------------------------------------------------------------------------------------

/// A self-signed certificate by `openssl req -x509` in `dir` (`newkey`: its key options): the
/// private key file and the certificate PEM.
fn openssl_certificate(dir: &TempDir, name: &str, newkey: &[&str]) -> (PathBuf, String) {
    let key = dir.join(&format!("{name}.key"));
    let cert = dir.join(&format!("{name}.crt"));
    let mut a: Vec<std::ffi::OsString> = ["req", "-x509", "-noenc", "-days", "30", "-subj"]
        .map(Into::into)
        .to_vec();
    a.push(format!("/CN={name}").into());
    a.extend(newkey.iter().map(Into::into));
    a.extend(["-keyout".into(), key.clone().into_os_string()]);
    a.extend(["-out".into(), cert.clone().into_os_string()]);
    openssl_ok(&a, None);
    (key, std::fs::read_to_string(&cert).or_panic("certificate"))
}

/// Google's X.509 map of a service account, from openssl certificates: assertions signed by
/// `rfc7523 sign` with the certificates' private keys verify through it with `--keys`, and
/// `rfc7523 keys` lists its keys with their validity, reported (not enforced) at `--now`.
#[test]
fn x509_maps_serve_as_keys_and_keys_lists_them() {
    let dir = TempDir::new("rfc7523-cli-x509");
    let (rsa_key, rsa_cert) = openssl_certificate(&dir, "rsa", &["-newkey", "rsa:2048"]);
    let (ed_key, ed_cert) = openssl_certificate(&dir, "ed", &["-newkey", "ed25519"]);
    let map = json!({ "kid-rsa": rsa_cert, "kid-ed": ed_cert }).to_string();
    let map_path = dir.write("sa.json", &map);
    let validity = |pem: &str| {
        let out = openssl_ok(
            [
                "x509",
                "-noout",
                "-startdate",
                "-enddate",
                "-dateopt",
                "iso_8601",
            ],
            Some(pem.as_bytes()),
        );
        String::from_utf8(out).or_panic("openssl dates")
    };
    for (key, kid) in [(&rsa_key, "kid-rsa"), (&ed_key, "kid-ed")] {
        let signed = rfc7523(
            &args(&[
                &"sign",
                &"--key",
                key,
                &"--issuer",
                &ISSUER,
                &"--subject",
                &SUBJECT,
                &"--audience",
                &AS,
                &"--kid",
                &kid,
                &"--now",
                &NOW_ARG,
            ]),
            None,
        );
        assert_eq!(signed.code, 0, "{signed:?}");
        // NOW (2023) is before the certificates' notBefore: reported by `keys`, not enforced.
        let verified = rfc7523(
            &args(&[
                &"verify",
                &"--keys",
                &map_path,
                &"--issuer",
                &ISSUER,
                &"--audience",
                &AS,
                &"--now",
                &NOW_ARG,
                &signed.stdout.trim_end(),
            ]),
            None,
        );
        assert_eq!(verified.code, 0, "{kid}: {verified:?}");
        assert_eq!(verified.lines()[0]["valid"], true);
    }
    let listed = rfc7523(&args(&[&"keys", &"--now", &NOW_ARG, &map_path]), None);
    assert_eq!(listed.code, 0, "{listed:?}");
    let lines = listed.lines();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        let kid = line["kid"].as_str().or_panic("kid");
        let (cert, kty, alg) = match kid {
            "kid-rsa" => (&rsa_cert, "RSA", "RS256"),
            "kid-ed" => (&ed_cert, "OKP", "EdDSA"),
            other => panic!("unexpected kid {other}"),
        };
        assert_eq!(line["kty"], kty);
        assert_eq!(line["alg"], alg);
        assert_eq!(line["any_kid"], false);
        assert_eq!(line["validity"], "not_yet_valid");
        assert_eq!(line["thumbprint"].as_str().map(str::len), Some(43));
        let dates = validity(cert);
        let not_before = line["not_before"].as_u64().or_panic("not_before");
        let not_after = line["not_after"].as_u64().or_panic("not_after");
        assert_eq!(not_after - not_before, 30 * 86_400, "{dates}");
        // At notAfter the certificate is still valid (RFC 5280: inclusive); a second later it
        // has expired.
        for (now, expected) in [
            (not_before, "valid"),
            (not_after, "valid"),
            (not_after + 1, "expired"),
        ] {
            let run = rfc7523(
                &args(&[&"keys", &"--now", &now.to_string(), &map_path]),
                None,
            );
            let line = run
                .lines()
                .into_iter()
                .find(|l| l["kid"] == kid)
                .or_panic("the key");
            assert_eq!(line["validity"], expected, "{kid} at {now}");
        }
    }
    // The same key from its CERTIFICATE PEM and its SPKI: one thumbprint, and the certificate
    // alone serves any kid.
    let cert_path = dir.write("rsa.crt.pem", &rsa_cert);
    let spki = openssl_ok(["x509", "-noout", "-pubkey"], Some(rsa_cert.as_bytes()));
    let spki_path = dir.write("rsa.pub.pem", &spki);
    let run = rfc7523(&args(&[&"keys", &cert_path, &spki_path]), None);
    assert_eq!(run.code, 0, "{run:?}");
    let lines = run.lines();
    assert_eq!(lines[0]["thumbprint"], lines[1]["thumbprint"]);
    assert_eq!(lines[0]["any_kid"], true);
    assert_eq!(lines[0]["kid"], Value::Null);
    assert!(lines[0]["not_after"].is_u64() && lines[1].get("not_after").is_none());
    let map_thumbprint = listed
        .lines()
        .into_iter()
        .find(|l| l["kid"] == "kid-rsa")
        .or_panic("kid-rsa")["thumbprint"]
        .clone();
    assert_eq!(lines[0]["thumbprint"], map_thumbprint);
}

/// A refused X.509 map names its member, for `--keys` and `keys` alike.
#[test]
fn x509_map_refusals_name_the_member() {
    let dir = TempDir::new("rfc7523-cli-x509-bad");
    let (_, cert) = openssl_certificate(
        &dir,
        "ec",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let spki = String::from_utf8(openssl_ok(
        ["x509", "-noout", "-pubkey"],
        Some(cert.as_bytes()),
    ))
    .or_panic("SPKI");
    let bad = dir.write(
        "bad.json",
        json!({ "good": cert, "not-a-cert": spki }).to_string(),
    );
    let run = rfc7523(&args(&[&"keys", &bad]), None);
    run.assert_usage_error("X.509 map member \"not-a-cert\": not a PEM CERTIFICATE");
    let run = rfc7523(
        &args(&[
            &"verify",
            &"--keys",
            &bad,
            &"--issuer",
            &ISSUER,
            &"--audience",
            &AS,
            &"x.y.z",
        ]),
        None,
    );
    run.assert_usage_error("bad.json: X.509 map member \"not-a-cert\": not a PEM CERTIFICATE");
}

/// `sign --claim NAME=VALUE`: extra string claims, in order after the standard ones, in
/// assertions and `--jwt` tokens alike; at the core's limits (a name of
/// `MAX_EXTRA_CLAIM_NAME_LEN` bytes, a value of `MAX_CLAIM_STRING_LEN`, `MAX_EXTRA_CLAIMS` of
/// them) signed, one over refused; JSON escapes right (decoded here and by the verifier);
/// the claims the command sets, duplicates, a missing `=` and the modes with fixed claims
/// refused with exit status 2, naming the flag and the claim, never the value.
#[test]
fn sign_claim_adds_string_claims_and_refuses_governed_names() {
    use rfc7523::conditions::GOVERNED_CLAIMS;
    use rfc7523::limits::MAX_CLAIM_STRING_LEN;
    use rfc7523::sign::{MAX_EXTRA_CLAIMS, MAX_EXTRA_CLAIM_NAME_LEN};

    // The help states the limits this test holds the command to.
    let help = rfc7523(&["sign", "--help"], None).stdout;
    assert!(
        help.contains(&format!(
            "at most {MAX_EXTRA_CLAIMS}, names of 1 to {MAX_EXTRA_CLAIM_NAME_LEN} bytes, values of at most {MAX_CLAIM_STRING_LEN} bytes"
        )),
        "{help}"
    );
    let keys = Keys::new();
    let name = "n".repeat(MAX_EXTRA_CLAIM_NAME_LEN);
    let value = "v".repeat(MAX_CLAIM_STRING_LEN);
    let at_limit = format!("{name}={value}");
    // Quotes, backslashes, a control character, non-ASCII text and a second `=`.
    let tricky = "say \"hi\" \\ C:\\path \u{1}\t\n é ✓ 🦀 a=b";
    let tricky_arg = format!("tricky={tricky}");
    let base = ["--issuer", ISSUER, "--subject", SUBJECT, "--audience", AS];
    let claims = [
        "--claim",
        "repository=octo-org/octo-repo",
        "--claim",
        &at_limit,
        "--claim",
        &tricky_arg,
        "--claim",
        "base_ref=",
    ];
    for mode in [&[][..], &["--jwt"][..]] {
        let mut a = base.to_vec();
        a.extend(mode);
        a.extend(claims);
        let token = keys.sign(&a);
        let raw = b64url_decode(token.split('.').nth(1).or_panic("payload")).or_panic("base64url");
        let raw = String::from_utf8(raw).or_panic("UTF-8 payload");
        let payload: Value = serde_json::from_str(&raw).or_panic("JSON payload");
        assert_eq!(payload["repository"], "octo-org/octo-repo", "{mode:?}");
        assert_eq!(payload[name.as_str()], value.as_str(), "{mode:?}");
        assert_eq!(payload["tricky"], tricky, "{mode:?}");
        assert_eq!(payload["base_ref"], "", "{mode:?}");
        assert_eq!(payload["iss"], ISSUER);
        // In order, after the standard claims (the last of which is iat, or jti).
        let at = |needle: &str| raw.find(needle).or_panic(needle);
        let last_standard = if mode.is_empty() {
            "\"jti\":"
        } else {
            "\"iat\":"
        };
        assert!(at(last_standard) < at("\"repository\":"), "{raw}");
        assert!(at("\"repository\":") < at(&format!("\"{name}\":")), "{raw}");
        assert!(at(&format!("\"{name}\":")) < at("\"tricky\":"), "{raw}");
        assert!(raw.ends_with(r#","base_ref":""}"#), "{raw}");
        if mode.is_empty() {
            // The verifier decodes the same values and re-emits them.
            let run = keys.verify_grant(&[&token], None);
            assert_eq!(run.code, 0, "{run:?}");
            assert_eq!(run.line()["claims"]["tricky"], tricky);
            assert_eq!(run.line()["claims"][name.as_str()], value.as_str());
        }
    }
    // The most claims: MAX_EXTRA_CLAIMS signed, one more refused.
    let many: Vec<String> = (0..=MAX_EXTRA_CLAIMS)
        .flat_map(|i| ["--claim".to_owned(), format!("c{i}=v")])
        .collect();
    let mut a = base.to_vec();
    a.extend(many[..2 * MAX_EXTRA_CLAIMS].iter().map(String::as_str));
    let token = keys.sign(&a);
    let payload: Value = serde_json::from_slice(
        &b64url_decode(token.split('.').nth(1).or_panic("payload")).or_panic("base64url"),
    )
    .or_panic("JSON payload");
    assert_eq!(payload[format!("c{}", MAX_EXTRA_CLAIMS - 1)], "v");

    let refused = |extra: &[&str], needle: &str| {
        let mut a = args(&[&"sign", &"--key", &keys.path("private.pem")]);
        a.extend(base.iter().map(Into::into));
        a.extend(extra.iter().map(Into::into));
        let run = rfc7523(&a, None);
        run.assert_usage_error(needle);
        assert!(
            !run.stderr.contains("SECRET"),
            "a value in the message: {run:?}"
        );
    };
    let mut a: Vec<&str> = many.iter().map(String::as_str).collect();
    a.push("--jwt");
    refused(
        &a,
        &format!(
            "--claim: given {} times, at most {MAX_EXTRA_CLAIMS}",
            MAX_EXTRA_CLAIMS + 1
        ),
    );
    let long_name = format!("{}=SECRET", "n".repeat(MAX_EXTRA_CLAIM_NAME_LEN + 1));
    refused(
        &["--claim", &long_name],
        "a claim name longer than 64 bytes",
    );
    let long_value = format!("x=SECRET{}", "v".repeat(MAX_CLAIM_STRING_LEN + 1 - 6));
    refused(
        &["--claim", &long_value],
        "--claim x: a value longer than 256 bytes",
    );
    for claim in GOVERNED_CLAIMS {
        for mode in [&[][..], &["--jwt"][..]] {
            let arg = format!("{}=SECRET", claim.as_str());
            let mut extra = vec!["--claim", "ok=1", "--claim", &arg];
            extra.extend(mode);
            refused(
                &extra,
                &format!(
                    "--claim {}: a registered claim the signer sets itself",
                    claim.as_str()
                ),
            );
        }
    }
    refused(&["--claim", "iss=SECRET"], "(use --issuer)");
    refused(&["--claim", "nbf=SECRET"], "iat, jti)");
    refused(
        &[
            "--claim",
            "ref=SECRET",
            "--claim",
            "x=1",
            "--claim",
            "ref=SECRET",
        ],
        "--claim ref: the same claim name twice",
    );
    refused(&["--claim", "=SECRET"], "--claim: an empty claim name");
    refused(
        &["--claim", "repository"],
        "invalid value 'repository' for '--claim <NAME=VALUE>'",
    );
    // 32 values of 256 bytes: more than a token's 8 KiB, refused before signing.
    let big: Vec<String> = (0..MAX_EXTRA_CLAIMS)
        .flat_map(|i| ["--claim".to_owned(), format!("c{i}={value}")])
        .collect();
    let big: Vec<&str> = big.iter().map(String::as_str).collect();
    refused(
        &big,
        &format!("--claim: the signed token would be longer than {MAX_TOKEN_LEN} bytes"),
    );

    // Apple's and Google's claims are theirs: --claim is refused with both.
    let dir = openssl_keys();
    let run = rfc7523(
        &args(&[
            &"sign",
            &"--apple",
            &"--key",
            &dir.join("p256.pem"),
            &"--kid",
            &"K",
            &"--issuer",
            &"T",
            &"--subject",
            &"s",
            &"--claim",
            &"x=1",
        ]),
        None,
    );
    run.assert_usage_error("'--apple' cannot be used with '--claim <NAME=VALUE>'");
    let run = rfc7523(
        &args(&[
            &"sign",
            &"--service-account",
            &dir.join("p256.pem"),
            &"--scope",
            &"s",
            &"--claim",
            &"x=1",
        ]),
        None,
    );
    run.assert_usage_error("cannot be used with");
    assert!(
        run.stderr.contains("--claim") && run.stderr.contains("--service-account"),
        "{run:?}"
    );
}
