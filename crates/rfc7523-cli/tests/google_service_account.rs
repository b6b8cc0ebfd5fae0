//! `rfc7523 sign --service-account` (issue 15 item 3), run as a process: the grant of a Google
//! service-account key file compared field by field, and byte for byte, with what Google's
//! own Python library signs and sends (`google-auth`, pinned in
//! `tests/google-auth/requirements.txt` and installed by `cargo xtask setup` into
//! `target/google-auth-venv`: missing, the comparison fails, it never skips); verified by
//! `openssl` and by this project's verifier under the registry settings such grants need;
//! and every refusal of the flags and of the key file.
//!
//! The key files are made here: a fresh RSA-2048 key from `openssl genpkey` (PKCS#8, as in
//! Google's files) in Google's JSON with the members Google writes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rfc7523::sign::{GOOGLE_TOKEN_URI, MAX_SCOPE_LEN, MAX_SERVICE_ACCOUNT_LEN};
use rfc7523_conformance::{b64url_decode, openssl, openssl_key_pair, public_jwk, TempDir};
use serde_json::{json, Value};

/// The fixed time of the grants (2023-11-14T22:13:20Z).
const NOW: u64 = 1_700_000_000;
const NOW_ARG: &str = "1700000000";
const EMAIL: &str = "robot@project-1.iam.gserviceaccount.com";
const KEY_ID: &str = "5f0c4bd0a5c3e3f5b1d2e3f4a5b6c7d8e9f0a1b2";
const CLOUD: &str = "https://www.googleapis.com/auth/cloud-platform";
const STORAGE: &str = "https://www.googleapis.com/auth/devstorage.read_only";
/// A token endpoint that is not Google's (a key file for this project's own server).
const OWN_TOKEN_URI: &str = "https://as.example/token";
const FORM_TYPE: &str = "application/x-www-form-urlencoded";
const GRANT_TYPE_FORM: &str = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";

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

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The single line of standard output, without its newline.
    fn out(&self) -> &str {
        assert_eq!(self.code, 0, "{self:?}");
        assert!(
            self.stdout.ends_with('\n') && self.stdout.lines().count() == 1,
            "{self:?}"
        );
        self.stdout.trim_end()
    }

    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim_end())
            .unwrap_or_else(|e| panic!("not one JSON line ({e}): {self:?}"))
    }

    /// Status 2, nothing on standard output, one `rfc7523: ` line holding `needle`.
    fn assert_usage_error(&self, needle: &str) {
        assert_eq!(self.code, 2, "{self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
        assert!(
            self.stderr.starts_with("rfc7523: ") && self.stderr.lines().count() == 1,
            "not one error line: {self:?}"
        );
        assert!(self.stderr.contains(needle), "{needle:?} not in {self:?}");
    }
}

fn rfc7523<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<&str>) -> Run {
    run(
        Command::new(env!("CARGO_BIN_EXE_rfc7523")).args(args),
        stdin,
    )
}

fn run(command: &mut Command, stdin: Option<&str>) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .or_panic("cannot start the command");
    let mut pipe = child.stdin.take().or_panic("stdin pipe");
    pipe.write_all(stdin.unwrap_or_default().as_bytes())
        .or_panic("writing standard input");
    drop(pipe);
    let output = child.wait_with_output().or_panic("waiting for the command");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).or_panic("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).or_panic("UTF-8 stderr"),
    }
}

/// A service account: its key file (as Google writes one), public key and registry.
struct Account {
    dir: TempDir,
    key_file: PathBuf,
    public_pem: String,
    token_uri: &'static str,
}

impl Account {
    fn new(token_uri: &'static str) -> Self {
        let dir = TempDir::new("rfc7523-service-account");
        let (private, public_pem) = openssl_key_pair(&dir, rfc7523::Algorithm::Rs256, "sa");
        let private_key = std::fs::read_to_string(private).or_panic("the private key");
        assert!(private_key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let file = json!({
            "type": "service_account",
            "project_id": "project-1",
            "private_key_id": KEY_ID,
            "private_key": private_key,
            "client_email": EMAIL,
            "client_id": "123456789012345678901",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url":
                "https://www.googleapis.com/robot/v1/metadata/x509/robot%40project-1.iam.gserviceaccount.com",
            "universe_domain": "googleapis.com",
        });
        let key_file = dir.write(
            "key.json",
            serde_json::to_string_pretty(&file).or_panic("JSON"),
        );
        Self {
            dir,
            key_file,
            public_pem,
            token_uri,
        }
    }

    /// `rfc7523 sign --service-account KEY.json --now NOW extra…`.
    fn sign(&self, extra: &[&str]) -> Run {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "sign".as_ref(),
            "--service-account".as_ref(),
            self.key_file.as_os_str(),
            "--now".as_ref(),
            NOW_ARG.as_ref(),
        ];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        rfc7523(&args, None)
    }

    /// A registry trusting this service account as an issuer of grants, with `settings` on
    /// its entry; `token_endpoint` = the key file's `token_uri`.
    fn registry(&self, settings: Value) -> PathBuf {
        let mut issuer = json!({
            "issuer": EMAIL,
            "jwks": {"keys": [serde_json::from_str::<Value>(&public_jwk(&self.public_pem, KEY_ID)).or_panic("JWK")]},
        });
        for (name, value) in settings.as_object().or_panic("settings") {
            issuer[name] = value.clone();
        }
        let doc = json!({
            "issuer": "https://as.example",
            "token_endpoint": self.token_uri,
            "issuers": [issuer],
        });
        self.dir.write("registry.json", doc.to_string())
    }

    /// What this project's verifier says of `token` under `registry` (a JSON line).
    fn verify(&self, registry: &Path, token: &str) -> Value {
        rfc7523(
            &[
                "verify".as_ref(),
                "--registry".as_ref(),
                registry.as_os_str(),
                "--now".as_ref(),
                NOW_ARG.as_ref(),
                token.as_ref(),
            ],
            None,
        )
        .json()
    }

    /// What this project's token endpoint says of a whole request body.
    fn token_request(&self, registry: &Path, body: &str) -> Value {
        rfc7523(
            &[
                "token-request".as_ref(),
                "--registry".as_ref(),
                registry.as_os_str(),
                "--now".as_ref(),
                NOW_ARG.as_ref(),
            ],
            Some(body),
        )
        .json()
    }

    /// The registry settings Google's grants need.
    fn lenient_registry(&self) -> PathBuf {
        self.registry(json!({"compat": ["missing_sub"], "require_jti": false}))
    }

    /// `openssl dgst -sha256 -verify` of an RS256 token with the public key.
    fn openssl_verifies(&self, token: &str) -> bool {
        let (input, signature) = token.rsplit_once('.').or_panic("a compact JWS");
        let public = self.dir.write("public.pem", &self.public_pem);
        let input = self.dir.write("input", input);
        let signature = self.dir.write(
            "signature.bin",
            b64url_decode(signature).or_panic("base64url signature"),
        );
        openssl(
            [
                "dgst".as_ref(),
                "-sha256".as_ref(),
                "-verify".as_ref(),
                public.as_os_str(),
                "-signature".as_ref(),
                signature.as_os_str(),
                input.as_os_str(),
            ],
            None,
        )
        .status
        .success()
    }
}

/// A token's decoded header or claims segment, as text.
fn segment(token: &str, i: usize) -> String {
    let part = token.split('.').nth(i).or_panic("a segment");
    String::from_utf8(b64url_decode(part).or_panic("base64url")).or_panic("UTF-8")
}

/// A token's header or claims as a JSON object.
fn object(token: &str, i: usize) -> Value {
    serde_json::from_str(&segment(token, i)).or_panic("a JSON segment")
}

#[test]
fn the_grant_verifies_with_openssl_and_with_the_settings_google_grants_need() {
    let account = Account::new(GOOGLE_TOKEN_URI);
    let token = account
        .sign(&["--scope", CLOUD, "--scope", STORAGE])
        .out()
        .to_owned();
    assert_eq!(
        object(&token, 0),
        json!({"typ": "JWT", "alg": "RS256", "kid": KEY_ID})
    );
    assert_eq!(
        object(&token, 1),
        json!({
            "iat": NOW, "exp": NOW + 3600, "iss": EMAIL, "aud": GOOGLE_TOKEN_URI,
            "scope": format!("{CLOUD} {STORAGE}"),
        })
    );
    // One --scope holding both, space-separated, is the same grant.
    assert_eq!(
        account
            .sign(&["--scope", &format!("{CLOUD} {STORAGE}")])
            .out(),
        token
    );
    assert!(account.openssl_verifies(&token));
    // Another signing input (a claims segment one character longer): refused.
    assert!(!account.openssl_verifies(&token.replacen('.', ".e", 1)));

    // Accepted as a trusted issuer's grant with missing_sub and require_jti: false, and
    // reported as relying on both.
    let registry = account.lenient_registry();
    let line = account.verify(&registry, &token);
    assert_eq!(line["valid"], true, "{line}");
    assert_eq!(line["compat"], json!(["missing_sub", "missing_jti"]));
    assert_eq!(line["claims"], object(&token, 1));
    // With a subject (domain-wide delegation), sub is there: only missing_jti.
    let delegated = account
        .sign(&["--scope", CLOUD, "--subject", "alice@example.com"])
        .out()
        .to_owned();
    assert_eq!(object(&delegated, 1)["sub"], "alice@example.com");
    let line = account.verify(&registry, &delegated);
    assert_eq!(line["valid"], true, "{line}");
    assert_eq!(line["compat"], json!(["missing_jti"]));
    // The token request of --form, judged whole.
    let body = account.sign(&["--scope", CLOUD, "--form"]).out().to_owned();
    assert!(body.starts_with("assertion=") && body.ends_with(&format!("&{GRANT_TYPE_FORM}")));
    let line = account.token_request(&registry, &body);
    assert_eq!(line["ok"], true, "{line}");
    assert_eq!(line["use"], "grant");
    assert_eq!(line["compat"], json!(["missing_sub", "missing_jti"]));

    // Each setting is needed: without it the strict default refuses.
    for (settings, reason) in [
        (json!({"require_jti": false}), "missing_claim"),
        (json!({"compat": ["missing_sub"]}), "missing_claim"),
        (
            json!({"compat": ["missing_sub"], "require_jti": false, "max_lifetime": 3599}),
            "lifetime_too_long",
        ),
    ] {
        let line = account.verify(&account.registry(settings.clone()), &token);
        assert_eq!(line["reason"], reason, "{settings}: {line}");
    }
}

#[test]
fn flags_beside_service_account_are_usage_errors() {
    let account = Account::new(GOOGLE_TOKEN_URI);
    let key = account.dir.write("other.pem", "not used");
    let key = key.to_str().or_panic("UTF-8 path");
    for (flags, other) in [
        (&["--key", key][..], "--key"),
        (&["--issuer", EMAIL][..], "--issuer"),
        (&["--audience", GOOGLE_TOKEN_URI][..], "--audience"),
        (&["--client-auth"][..], "--client-auth"),
        (&["--apple"][..], "--apple"),
        (&["--jwt"][..], "--jwt"),
        (&["--alg", "PS256"][..], "--alg"),
        (&["--kid", "k"][..], "--kid"),
        (&["--jti", "j"][..], "--jti"),
        (&["--lifetime", "60"][..], "--lifetime"),
    ] {
        let mut args = vec!["--scope", CLOUD];
        args.extend(flags);
        let run = account.sign(&args);
        run.assert_usage_error("--service-account");
        run.assert_usage_error(other);
    }
    account.sign(&[]).assert_usage_error("--scope");
    let plain = |extra: &[&str]| {
        let mut args = vec!["sign", "--key", key, "--issuer", "i", "--subject", "s"];
        args.extend(["--audience", "a"]);
        args.extend(extra);
        rfc7523(&args, None)
    };
    plain(&["--scope", CLOUD]).assert_usage_error("--scope applies to --service-account only");
    plain(&["--form"]).assert_usage_error("--service-account");
    // The scope and the subject, named.
    account
        .sign(&["--scope", &format!("{CLOUD}  {STORAGE}")])
        .assert_usage_error("--scope: scope 2 is not an RFC 6749 scope");
    account
        .sign(&["--scope", "caf\u{e9}"])
        .assert_usage_error("--scope: scope 1");
    let at = "s".repeat(MAX_SCOPE_LEN);
    assert_eq!(account.sign(&["--scope", &at]).code, 0);
    account
        .sign(&["--scope", &format!("{at}s")])
        .assert_usage_error(&format!(
            "--scope: the scopes take {} bytes",
            MAX_SCOPE_LEN + 1
        ));
    account
        .sign(&["--scope", CLOUD, "--subject", ""])
        .assert_usage_error("--subject: subject must be 1 to 256 bytes long");
}

#[test]
fn key_file_refusals_name_the_file_and_the_member() {
    let account = Account::new(GOOGLE_TOKEN_URI);
    let text = std::fs::read_to_string(&account.key_file).or_panic("key file");
    let file: Value = serde_json::from_str(&text).or_panic("JSON");
    let sign = |name: &str, contents: &str| {
        let path = account.dir.write(name, contents);
        rfc7523(
            &[
                "sign".as_ref(),
                "--service-account".as_ref(),
                path.as_os_str(),
                "--scope".as_ref(),
                CLOUD.as_ref(),
            ],
            None,
        )
    };
    let changed = |member: &str, value: Option<Value>| {
        let mut file = file.clone();
        match value {
            Some(value) => file[member] = value,
            None => {
                file.as_object_mut().or_panic("object").remove(member);
            }
        }
        file.to_string()
    };
    for (contents, message) in [
        (changed("type", Some(json!("authorized_user"))), "\"type\" must be \"service_account\""),
        (changed("private_key_id", None), "\"private_key_id\" is missing"),
        (changed("client_email", Some(json!(7))), "\"client_email\" must be a string"),
        (changed("token_uri", Some(json!(""))), "\"token_uri\" must be 1 to 256 bytes long"),
        (
            changed("private_key", Some(json!("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA==\n-----END ENCRYPTED PRIVATE KEY-----\n"))),
            "\"private_key\": the private key is encrypted",
        ),
        ("[]".to_owned(), "a service account key file must be a JSON object"),
        ("{\"type\": ".to_owned(), "not a JSON service account key file"),
    ] {
        sign("bad.json", &contents).assert_usage_error(&format!("bad.json: {message}"));
    }
    // The file's size: white space up to MAX_SERVICE_ACCOUNT_LEN is read, one byte more is not.
    let at = format!("{text}{}", " ".repeat(MAX_SERVICE_ACCOUNT_LEN - text.len()));
    assert_eq!(sign("at.json", &at).code, 0);
    sign("past.json", &format!("{at} ")).assert_usage_error(&format!(
        "past.json: the file is longer than {MAX_SERVICE_ACCOUNT_LEN} bytes"
    ));
    rfc7523(
        &[
            "sign",
            "--service-account",
            "/nonexistent/key.json",
            "--scope",
            CLOUD,
        ],
        None,
    )
    .assert_usage_error("/nonexistent/key.json: ");
}

// ---------------------------------------------------------------------------------------------
// google-auth
// ---------------------------------------------------------------------------------------------

/// What google-auth signed and sent (`tests/google-auth/grant.py`).
struct GoogleAuth {
    version: String,
    assertion: String,
    method: String,
    url: String,
    content_type: String,
    body: String,
}

/// Runs google-auth (its venv's Python, `cargo xtask setup`) on `account`'s key file.
fn google_auth(account: &Account, scopes: &[&str], subject: Option<&str>) -> GoogleAuth {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join("target/google-auth-venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run `cargo xtask setup` (it installs google-auth from \
         tests/google-auth/requirements.txt). This test needs it and never skips.",
        python.display()
    );
    let job = json!({
        "key_file": account.key_file, "scopes": scopes, "subject": subject, "now": NOW,
    });
    let done = run(
        Command::new(python).arg(root.join("tests/google-auth/grant.py")),
        Some(&job.to_string()),
    );
    assert_eq!(done.code, 0, "google-auth: {done:?}");
    let out = done.json();
    let text = |v: &Value| v.as_str().or_panic("a string").to_owned();
    GoogleAuth {
        version: text(&out["google_auth"]),
        assertion: text(&out["assertion"]),
        method: text(&out["request"]["method"]),
        url: text(&out["request"]["url"]),
        content_type: text(&out["request"]["content_type"]),
        body: text(&out["request"]["body"]),
    }
}

/// For the same key file, scopes, subject and time, `rfc7523 sign --service-account` signs
/// what google-auth signs, byte for byte (RS256 is deterministic and both write the JSON as
/// Python's `json.dumps` does), and `--form` is the body google-auth posts to `token_uri`.
/// Its grant is also accepted by this project's verifier under the settings such grants need.
#[test]
fn google_auth_signs_and_sends_the_same_grant() {
    let account = Account::new(GOOGLE_TOKEN_URI);
    let registry = account.lenient_registry();
    // An unusual subject: every escape of json.dumps (quote, backslash, control characters,
    // DEL, non-ASCII, a character beyond U+FFFF as a surrogate pair).
    let odd = "\"o'dd\"\\\u{1}\u{7f}\u{e9}\u{20ac}\u{1d11e}@example.com";
    for (scopes, subject) in [
        (&[CLOUD][..], None),
        (&[CLOUD, STORAGE][..], Some("alice@example.com")),
        (&["email", "openid"][..], Some(odd)),
    ] {
        let google = google_auth(&account, scopes, subject);
        assert_eq!(google.version, "2.63.0");
        let mut args: Vec<&str> = scopes.iter().flat_map(|s| ["--scope", s]).collect();
        if let Some(subject) = subject {
            args.extend(["--subject", subject]);
        }
        let ours = account.sign(&args).out().to_owned();
        let case = format!("{scopes:?} {subject:?}");
        // Field by field first, so that a difference says where it is.
        assert_eq!(object(&ours, 0), object(&google.assertion, 0), "{case}");
        assert_eq!(object(&ours, 1), object(&google.assertion, 1), "{case}");
        assert_eq!(segment(&ours, 0), segment(&google.assertion, 0), "{case}");
        assert_eq!(segment(&ours, 1), segment(&google.assertion, 1), "{case}");
        assert_eq!(ours, google.assertion, "{case}: the whole token");
        // What google-auth sends: one POST to token_uri, the body --form prints.
        assert_eq!(
            (
                google.method.as_str(),
                google.url.as_str(),
                google.content_type.as_str()
            ),
            ("POST", GOOGLE_TOKEN_URI, FORM_TYPE)
        );
        args.push("--form");
        assert_eq!(account.sign(&args).out(), google.body, "{case}");
        // google-auth's grant, verified by this project.
        let line = account.verify(&registry, &google.assertion);
        assert_eq!(line["valid"], true, "{case}: {line}");
        let compat = if subject.is_some() {
            json!(["missing_jti"])
        } else {
            json!(["missing_sub", "missing_jti"])
        };
        assert_eq!(line["compat"], compat, "{case}");
        assert_eq!(account.token_request(&registry, &google.body)["ok"], true);
    }
}

/// A key file whose `token_uri` is not Google's: google-auth posts there but still signs
/// `aud` = Google's endpoint (google-auth ≥ 2.0); `rfc7523 sign` signs `aud` = `token_uri`.
/// That is the one difference, and it decides whether this project's server (whose
/// `token_endpoint` is that `token_uri`) accepts the grant.
#[test]
fn with_another_token_uri_only_aud_differs() {
    let account = Account::new(OWN_TOKEN_URI);
    let google = google_auth(&account, &[CLOUD], None);
    assert_eq!(google.url, OWN_TOKEN_URI);
    let ours = account.sign(&["--scope", CLOUD]).out().to_owned();
    let (mut theirs, mut mine) = (object(&google.assertion, 1), object(&ours, 1));
    assert_eq!(theirs["aud"], GOOGLE_TOKEN_URI);
    assert_eq!(mine["aud"], OWN_TOKEN_URI);
    theirs["aud"] = Value::Null;
    mine["aud"] = Value::Null;
    assert_eq!(mine, theirs);
    assert_eq!(object(&ours, 0), object(&google.assertion, 0));
    let registry = account.lenient_registry();
    assert_eq!(account.verify(&registry, &ours)["valid"], true);
    assert_eq!(
        account.verify(&registry, &google.assertion)["reason"],
        "audience_mismatch"
    );
}
