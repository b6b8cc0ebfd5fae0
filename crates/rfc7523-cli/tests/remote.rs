//! The `rfc7523` binary with remote key sets (issue 14), against loopback HTTP servers the
//! tests start themselves (`rfc7523_conformance::http`): a batch fetches once, an unknown
//! `kid` within the cooldown is refused without a fetch, every failed fetch (status,
//! redirect, content type, size, timeout, body, keys) fails closed as `keys_unavailable`
//! (503's `temporarily_unavailable`, `retry_after`, exit status 3, the cause on standard
//! error), discovery with a matching and a mismatching `issuer`, and token requests.
//! The cache over time (refetch after the cooldown, expiry, stale keys, the grace) is
//! tested in `src/remote.rs` with the same servers and the time given.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rfc7523::limits::{FETCH_TIMEOUT, MAX_DOCUMENT_LEN, REFETCH_COOLDOWN};
use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523_conformance::http::{Reply, TestServer};
use rfc7523_conformance::{distinct_2048_key_pairs, public_jwk, TempDir};
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
const AS: &str = "https://as.example";
/// A client with inline keys (key 2).
const INLINE: &str = "client-a";
/// A client whose keys are fetched (key 0; key 1 after a rotation).
const CLIENT: &str = "client-r";

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }
}

/// Runs `rfc7523 args…` with `stdin`.
fn rfc7523(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rfc7523"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start rfc7523: {e}"));
    let mut pipe = child.stdin.take().unwrap_or_else(|| panic!("stdin"));
    // An argument TOKEN means standard input is never read: not an error here.
    let _ = pipe.write_all(stdin.as_bytes());
    drop(pipe);
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for rfc7523: {e}"));
    Run {
        code: output.status.code().unwrap_or_else(|| panic!("a signal")),
        stdout: String::from_utf8(output.stdout).unwrap_or_else(|e| panic!("{e}")),
        stderr: String::from_utf8(output.stderr).unwrap_or_else(|e| panic!("{e}")),
    }
}

struct Keys {
    signers: Vec<AssertionSigner>,
    /// Public JWKs, `kid` "k{i}".
    jwks: Vec<Value>,
    dir: TempDir,
}

impl Keys {
    fn new() -> Self {
        let pairs = distinct_2048_key_pairs(3);
        Keys {
            signers: pairs
                .iter()
                .map(|(private, _)| {
                    AssertionSigner::from_pem(private).unwrap_or_else(|e| panic!("{e}"))
                })
                .collect(),
            jwks: pairs
                .iter()
                .enumerate()
                .map(|(i, (_, public))| {
                    serde_json::from_str(&public_jwk(public, &format!("k{i}")))
                        .unwrap_or_else(|e| panic!("{e}"))
                })
                .collect(),
            dir: TempDir::new("cli-remote"),
        }
    }

    /// A JWK Set of keys `which`.
    fn set(&self, which: &[usize]) -> Value {
        json!({ "keys": which.iter().map(|&i| self.jwks[i].clone()).collect::<Vec<_>>() })
    }

    /// An assertion of `party` (a client when it is not a URL) signed with key `key` under
    /// header `kid`.
    fn token(&self, key: usize, party: &str, kid: &str, jti: &str) -> String {
        let client = !party.starts_with("http");
        let request = AssertionRequest {
            issuer: party,
            subject: if client { party } else { "alice" },
            audience: AS,
            lifetime: Some(300),
            jti: Some(jti),
            kid: Some(kid),
            client_authentication: client,
        };
        self.signers[key]
            .sign(&request, NOW)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string()
    }

    /// A registry file: the inline client, `CLIENT` with `jwks_uri`, and `issuers`.
    fn registry(&self, name: &str, jwks_uri: &str, issuers: Value) -> PathBuf {
        let doc = json!({
            "issuer": AS,
            "clients": [
                { "client_id": INLINE, "token_endpoint_auth_method": "private_key_jwt",
                  "jwks": self.set(&[2]) },
                { "client_id": CLIENT, "token_endpoint_auth_method": "private_key_jwt",
                  "jwks_uri": jwks_uri },
            ],
            "issuers": issuers,
        });
        self.dir.write(name, doc.to_string())
    }
}

/// `verify --use client_authentication` of the lines of `stdin` at `NOW`.
fn verify_clients(registry: &Path, jobs: &str, stdin: &str) -> Run {
    let registry = registry.to_str().unwrap_or_else(|| panic!("path"));
    rfc7523(
        &[
            "verify",
            "--registry",
            registry,
            "--use",
            "client_authentication",
            "--now",
            &NOW.to_string(),
            "--jobs",
            jobs,
        ],
        stdin,
    )
}

/// Asserts a `keys_unavailable` line: 503's code, the cooldown as `retry_after`, exit 3, and
/// one line on standard error naming the cause.
fn assert_unavailable(what: &str, run: &Run, cause: &str) {
    let lines = run.lines();
    assert_eq!(lines.len(), 1, "{what}: {run:?}");
    let line = &lines[0];
    assert_eq!(line["valid"], false, "{what}: {run:?}");
    assert_eq!(line["reason"], "keys_unavailable", "{what}: {run:?}");
    assert_eq!(line["error"], "temporarily_unavailable", "{what}: {run:?}");
    assert_eq!(line["retry_after"], REFETCH_COOLDOWN, "{what}: {run:?}");
    assert_eq!(
        line["description"],
        format!("the party's keys cannot be fetched now; retry in {REFETCH_COOLDOWN} s"),
        "{what}"
    );
    assert_eq!(run.code, 3, "{what}: {run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{what}: {run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "rfc7523: client \"{CLIENT}\": GET http://127.0.0.1:"
        )) && run.stderr.contains(cause),
        "{what}: {cause:?} not in {:?}",
        run.stderr
    );
}

/// One fetch serves a whole batch, on one thread and on two; nothing is printed on standard
/// error; the inline client beside it is untouched.
#[test]
fn a_batch_fetches_the_key_set_once() {
    let keys = Keys::new();
    for jobs in ["1", "2"] {
        let set = keys.set(&[0]);
        let server = TestServer::start(move |_, _| Reply::json(&set));
        let registry = keys.registry("batch.json", &server.url("/jwks"), json!([]));
        let mut stdin = String::new();
        for i in 0..6 {
            stdin.push_str(&keys.token(0, CLIENT, "k0", &format!("b-{i}")));
            stdin.push('\n');
        }
        stdin.push_str(&keys.token(2, INLINE, "k2", "b-inline"));
        stdin.push('\n');
        let run = verify_clients(&registry, jobs, &stdin);
        assert_eq!(run.code, 0, "--jobs {jobs}: {run:?}");
        assert_eq!(run.stderr, "", "--jobs {jobs}");
        let lines = run.lines();
        assert_eq!(lines.len(), 7, "--jobs {jobs}: {run:?}");
        assert!(
            lines.iter().all(|l| l["valid"] == true),
            "--jobs {jobs}: {run:?}"
        );
        assert_eq!(server.hits("/jwks"), 1, "--jobs {jobs}");
    }
}

/// A `kid` naming none of the fetched keys, right after they were fetched (the same `now`,
/// within the cooldown): no refetch, `unknown_key` — invalid, not an outage. The server has
/// the rotated set by then, and is not asked. (The refetch once the cooldown is over:
/// `src/remote.rs`.)
#[test]
fn an_unknown_kid_within_the_cooldown_is_refused_without_a_fetch() {
    let keys = Keys::new();
    let (first, rotated) = (keys.set(&[0]), keys.set(&[0, 1]));
    let server = TestServer::start(move |_, n| Reply::json(if n == 1 { &first } else { &rotated }));
    let registry = keys.registry("rotation.json", &server.url("/jwks"), json!([]));
    let stdin = format!(
        "{}\n{}\n{}\n",
        keys.token(0, CLIENT, "k0", "r-1"),
        keys.token(1, CLIENT, "k1", "r-2"),
        keys.token(1, CLIENT, "k9", "r-3"),
    );
    let run = verify_clients(&registry, "1", &stdin);
    let lines = run.lines();
    assert_eq!(lines.len(), 3, "{run:?}");
    assert_eq!(lines[0]["valid"], true, "{run:?}");
    for line in &lines[1..] {
        assert_eq!(
            (&line["reason"], &line["error"]),
            (&json!("unknown_key"), &json!("invalid_client")),
            "{run:?}"
        );
        assert!(line.get("retry_after").is_none(), "{line}");
    }
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(server.hits("/jwks"), 1);
}

/// Every way a fetch can fail refuses the party's assertion as `keys_unavailable` (fail
/// closed), never as valid and never by following the server elsewhere.
#[test]
fn failed_fetches_fail_closed() {
    let keys = Keys::new();
    let good = keys.set(&[0]);
    let padded = {
        let mut text = good.to_string().into_bytes();
        text.resize(MAX_DOCUMENT_LEN + 1, b' ');
        text
    };
    let shares_inline = keys.set(&[0, 2]);
    let mut private = keys.jwks[0].clone();
    private["d"] = json!("AQAB");
    let with_private = json!({ "keys": [private] });
    let too_large = format!(
        "the document is {} bytes, more than {MAX_DOCUMENT_LEN}",
        MAX_DOCUMENT_LEN + 1
    );
    let shared_key = format!("the set holds a public key of clients[0] \"{INLINE}\"");
    // (what, the reply at /jwks, the cause on standard error)
    let cases: Vec<(&str, Reply, &str)> = vec![
        (
            "HTTP 500",
            Reply::status(500),
            "the server answered HTTP 500",
        ),
        (
            "HTTP 404",
            Reply::status(404),
            "the server answered HTTP 404",
        ),
        (
            "a redirect (not followed)",
            Reply::status(302).header("Location", "/good"),
            "the server redirected (HTTP 302); redirects are not followed",
        ),
        (
            "text/html",
            Reply::ok("text/html", good.to_string()),
            "Content-Type is not application/json",
        ),
        (
            "no Content-Type",
            Reply {
                headers: Vec::new(),
                ..Reply::json(&good)
            },
            "the response has no Content-Type",
        ),
        (
            "a charset other than utf-8",
            Reply::ok("application/json; charset=iso-8859-1", good.to_string()),
            "the response's charset is not utf-8",
        ),
        (
            "one byte over MAX_DOCUMENT_LEN, announced",
            Reply::ok("application/jwk-set+json", padded.clone()),
            &too_large,
        ),
        (
            "one byte over MAX_DOCUMENT_LEN, chunked",
            Reply {
                chunked: true,
                ..Reply::ok("application/json", padded)
            },
            &too_large,
        ),
        (
            "not JSON",
            Reply::ok("application/json", "<html></html>"),
            "the document is not JSON",
        ),
        (
            "private key material",
            Reply::json(&with_private),
            "the key set's keys were refused",
        ),
        (
            "the inline client's key",
            Reply::json(&shares_inline),
            &shared_key,
        ),
    ];
    for (what, reply, cause) in cases {
        let server = TestServer::start(move |path, _| match path {
            "/good" => Reply::json(&json!({ "keys": [] })),
            _ => reply.clone(),
        });
        let registry = keys.registry("failing.json", &server.url("/jwks"), json!([]));
        let run = verify_clients(&registry, "1", &keys.token(0, CLIENT, "k0", "f-1"));
        assert_unavailable(what, &run, cause);
        assert_eq!(server.hits("/jwks"), 1, "{what}");
        assert_eq!(server.hits("/good"), 0, "{what}: followed");
    }
}

/// A server that never answers: the fetch gives up after `FETCH_TIMEOUT`, and the assertion is
/// `keys_unavailable`.
#[test]
fn a_stalled_fetch_times_out() {
    let keys = Keys::new();
    let good = keys.set(&[0]);
    let server = TestServer::start(move |_, _| Reply {
        stall: Some(Duration::from_secs(2 * FETCH_TIMEOUT + 2)),
        ..Reply::json(&good)
    });
    let registry = keys.registry("stall.json", &server.url("/jwks"), json!([]));
    let started = Instant::now();
    let run = verify_clients(&registry, "1", &keys.token(0, CLIENT, "k0", "s-1"));
    let took = started.elapsed();
    assert_unavailable("stalled", &run, "the fetch timed out");
    assert!(
        took >= Duration::from_secs(FETCH_TIMEOUT) && took < Duration::from_secs(2 * FETCH_TIMEOUT),
        "{took:?}"
    );
}

/// An issuer by discovery: its document at `{issuer}/.well-known/openid-configuration`, whose
/// `issuer` must be exactly the configured one; then the `jwks_uri` it names. A mismatching
/// document (a trailing `/`) is refused and its `jwks_uri` never fetched.
#[test]
fn discovery_with_a_matching_and_a_mismatching_issuer() {
    let keys = Keys::new();
    for (claimed_suffix, valid) in [("", true), ("/", false)] {
        let set = keys.set(&[1]);
        let base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
        let seen = std::sync::Arc::clone(&base);
        let server = TestServer::start(move |path, _| match path {
            "/.well-known/openid-configuration" => {
                let issuer = seen.get().cloned().unwrap_or_default();
                Reply::json(&json!({
                    "issuer": format!("{issuer}{claimed_suffix}"),
                    "jwks_uri": format!("{issuer}/keys"),
                    "token_endpoint": format!("{issuer}/token"),
                }))
            }
            "/keys" => Reply::ok("application/jwk-set+json", set.to_string()),
            _ => Reply::status(404),
        });
        let issuer = server.url("");
        let _ = base.set(issuer.clone());
        let registry = keys.registry(
            "discovery.json",
            "http://127.0.0.1:9/unused",
            json!([{ "issuer": issuer, "discovery": "openid-configuration" }]),
        );
        let run = rfc7523(
            &[
                "verify",
                "--registry",
                registry.to_str().unwrap_or_else(|| panic!("path")),
                "--use",
                "grant",
                "--now",
                &NOW.to_string(),
                &keys.token(1, &issuer, "k1", "d-1"),
            ],
            "",
        );
        let line = &run.lines()[0];
        assert_eq!(server.hits("/.well-known/openid-configuration"), 1);
        if valid {
            assert_eq!(line["valid"], true, "{run:?}");
            assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
            assert_eq!(server.hits("/keys"), 1);
        } else {
            assert_eq!(line["reason"], "keys_unavailable", "{run:?}");
            assert_eq!(line["retry_after"], REFETCH_COOLDOWN, "{run:?}");
            assert_eq!(run.code, 3, "{run:?}");
            assert!(
                run.stderr.contains(&format!(
                    "issuer \"{issuer}\": GET {issuer}/.well-known/openid-configuration: the \
                     discovery document's issuer is not the configured issuer"
                )),
                "{run:?}"
            );
            assert_eq!(server.hits("/keys"), 0);
        }
    }
}

/// `token-request` with both parties remote: accepted when both sets are had (one fetch
/// each); 503 `temporarily_unavailable` with `retry_after` and exit 3 when the grant issuer's
/// cannot be, the client's assertion having passed.
#[test]
fn token_requests_with_remote_parties() {
    let keys = Keys::new();
    let (client_set, issuer_set) = (keys.set(&[0]), keys.set(&[1]));
    let server = TestServer::start(move |path, _| match path {
        "/client" => Reply::json(&client_set),
        "/issuer" => Reply::json(&issuer_set),
        _ => Reply::status(503),
    });
    let issuer = "https://idp.example";
    for (issuer_path, accepted) in [("/issuer", true), ("/down", false)] {
        let registry = keys.registry(
            "endpoint.json",
            &server.url("/client"),
            json!([{ "issuer": issuer, "jwks_uri": server.url(issuer_path) }]),
        );
        let body = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion={}",
            keys.token(1, issuer, "k1", &format!("g-{issuer_path}")),
            keys.token(0, CLIENT, "k0", &format!("c-{issuer_path}")),
        );
        let run = rfc7523(
            &[
                "token-request",
                "--registry",
                registry.to_str().unwrap_or_else(|| panic!("path")),
                "--now",
                &NOW.to_string(),
                &body,
            ],
            "",
        );
        let line = &run.lines()[0];
        if accepted {
            assert_eq!(line["ok"], true, "{run:?}");
            assert_eq!(line["client_authentication"], "client_assertion", "{run:?}");
            assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
        } else {
            assert_eq!(
                line,
                &json!({
                    "ok": false,
                    "status": 503,
                    "error": "temporarily_unavailable",
                    "error_description": format!(
                        "grant assertion: the party's keys cannot be fetched now; retry in \
                         {REFETCH_COOLDOWN} s"
                    ),
                    "reason": "keys_unavailable",
                    "retry_after": REFETCH_COOLDOWN,
                }),
                "{run:?}"
            );
            assert_eq!(run.code, 3, "{run:?}");
            assert!(
                run.stderr.contains("the server answered HTTP 503"),
                "{run:?}"
            );
        }
    }
    assert_eq!(server.hits("/client"), 2, "one fetch per run");
    assert_eq!(server.hits("/issuer"), 1);
    assert_eq!(server.hits("/down"), 1);
}
