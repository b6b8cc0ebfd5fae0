//! Workload identity with GitHub Actions (issue 14 item 5): the registry document of the
//! README's "Workload identity: GitHub Actions" section, read from the README itself, run by
//! the `rfc7523` binary against a loopback issuer (`rfc7523_conformance::http`) that serves a
//! discovery document and a JWK Set as `https://token.actions.githubusercontent.com` does.
//! Tokens are shaped like GitHub's documented ones (header `typ`, `alg` RS256, `x5t`, `kid`;
//! every claim of GitHub's example, IDs as strings, `nbf` 600 s before `iat`, 300 s of life)
//! and posted as jwt-bearer grants without any client authentication: no static secret in the
//! flow. Accepted as configured; refused with a typed reason from another branch, repository,
//! environment, owner, or signed by another key.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use rfc7523_conformance::http::{Reply, TestServer};
use rfc7523_conformance::{distinct_2048_key_pairs, public_jwk, TempDir};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
/// The issuer of the README's document, replaced by the loopback server's URL.
const GITHUB: &str = "https://token.actions.githubusercontent.com";
/// This server (the README's document).
const AS: &str = "https://as.example";
const KID: &str = "38826b17-6a30-5f9b-b169-8beb8202f723";
const GRANT_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";

/// The README's registry document for GitHub Actions: the first `json` block of its section.
fn readme_registry() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let section = readme
        .split("### Workload identity: GitHub Actions")
        .nth(1)
        .unwrap_or_else(|| panic!("no GitHub Actions section in the README"));
    let block = section
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("no json block in the GitHub Actions section"));
    serde_json::from_str(block).unwrap_or_else(|e| panic!("the README's registry: {e}"))
}

struct Issuer {
    /// The loopback server, serving discovery and keys.
    server: TestServer,
    /// Its URL: the issuer identifier of the tokens and the registry.
    url: String,
    github_key: SigningKey<Sha256>,
    other_key: SigningKey<Sha256>,
    x5t: String,
    dir: TempDir,
}

fn b64(bytes: &[u8]) -> String {
    rfc7523_conformance::b64url(bytes)
}

impl Issuer {
    fn start() -> Self {
        let pairs = distinct_2048_key_pairs(2);
        let signing = |pem: &str| {
            SigningKey::<Sha256>::new(
                rsa::RsaPrivateKey::from_pkcs1_pem(pem).unwrap_or_else(|e| panic!("{e}")),
            )
        };
        // GitHub's keys carry `use`, `alg`, `kid` and the certificate's SHA-1 thumbprint.
        let x5t = b64(&[0x5a; 20]);
        let mut jwk: Value =
            serde_json::from_str(&public_jwk(&pairs[0].1, KID)).unwrap_or_else(|e| panic!("{e}"));
        jwk["use"] = json!("sig");
        jwk["alg"] = json!("RS256");
        jwk["x5t"] = json!(x5t);
        let set = json!({ "keys": [jwk] }).to_string();
        let base = Arc::new(OnceLock::<String>::new());
        let seen = Arc::clone(&base);
        let server = TestServer::start(move |path, _| {
            let issuer = seen.get().cloned().unwrap_or_default();
            match path {
                // GitHub's document, its members as it publishes them.
                "/.well-known/openid-configuration" => Reply::json(&json!({
                    "issuer": issuer,
                    "jwks_uri": format!("{issuer}/.well-known/jwks"),
                    "subject_types_supported": ["public", "pairwise"],
                    "response_types_supported": ["id_token"],
                    "claims_supported": [
                        "sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha",
                        "repository", "repository_id", "repository_owner",
                        "repository_owner_id", "run_id", "run_number", "run_attempt", "actor",
                        "actor_id", "workflow", "workflow_ref", "workflow_sha", "head_ref",
                        "base_ref", "event_name", "ref_type", "environment",
                        "job_workflow_ref", "job_workflow_sha", "repository_visibility",
                        "runner_environment"
                    ],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "scopes_supported": ["openid"],
                })),
                "/.well-known/jwks" => Reply::ok("application/json", set.clone())
                    .header("Cache-Control", "max-age=300"),
                _ => Reply::status(404),
            }
        });
        let url = server.url("");
        let _ = base.set(url.clone());
        Issuer {
            server,
            url,
            github_key: signing(&pairs[0].0),
            other_key: signing(&pairs[1].0),
            x5t,
            dir: TempDir::new("cli-github-actions"),
        }
    }

    /// The README's document with this issuer's URL for GitHub's, and `edit` applied.
    fn registry(&self, name: &str, edit: impl FnOnce(&mut Value)) -> String {
        let text = readme_registry().to_string().replace(GITHUB, &self.url);
        let mut doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        edit(&mut doc);
        let path = self.dir.write(name, doc.to_string());
        path.to_str().unwrap_or_else(|| panic!("path")).to_owned()
    }

    /// A token shaped like GitHub's for a job of `repository` on `git_ref` in `environment`
    /// (none: no `environment` claim, and a `sub` of the ref), with `changes` applied (`null`
    /// removes a claim), signed by `key`.
    fn token(
        &self,
        key: &SigningKey<Sha256>,
        repository: &str,
        git_ref: &str,
        environment: Option<&str>,
        changes: Value,
    ) -> String {
        let owner = repository.split('/').next().unwrap_or_default();
        let sub = match environment {
            Some(name) => format!("repo:{repository}:environment:{name}"),
            None => format!("repo:{repository}:ref:{git_ref}"),
        };
        let iat = NOW - 10;
        let mut claims = json!({
            "jti": "1fe0bd5a-9bd1-4f50-8b5a-2f1c0e3a6b7d",
            "sub": sub,
            "aud": AS,
            "ref": git_ref,
            "sha": "d6d4f2f7b1c3a8e9f0a1b2c3d4e5f60718293a4b",
            "repository": repository,
            "repository_owner": owner,
            "actor_id": "12",
            "repository_visibility": "private",
            "repository_id": "74",
            "repository_owner_id": "65",
            "run_id": "7346290413",
            "run_number": "10",
            "run_attempt": "2",
            "runner_environment": "github-hosted",
            "actor": "octocat",
            "workflow": "deploy",
            "head_ref": "",
            "base_ref": "",
            "event_name": "workflow_dispatch",
            "ref_type": "branch",
            "workflow_ref": format!("{repository}/.github/workflows/deploy.yml@{git_ref}"),
            "workflow_sha": "d6d4f2f7b1c3a8e9f0a1b2c3d4e5f60718293a4b",
            "job_workflow_ref": format!(
                "octo-org/octo-automation/.github/workflows/oidc.yml@{git_ref}"
            ),
            "job_workflow_sha": "a1b2c3d4e5f60718293a4bd6d4f2f7b1c3a8e9f0",
            "iss": self.url,
            "nbf": iat - 600,
            "exp": iat + 300,
            "iat": iat,
        });
        if let Some(name) = environment {
            claims["environment"] = json!(name);
        }
        for (name, value) in changes.as_object().unwrap_or_else(|| panic!("changes")) {
            match (value.is_null(), claims.as_object_mut()) {
                (true, Some(object)) => {
                    object.remove(name);
                }
                _ => claims[name] = value.clone(),
            }
        }
        let header = json!({ "typ": "JWT", "alg": "RS256", "x5t": self.x5t, "kid": KID });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        format!("{input}.{}", b64(&key.sign(input.as_bytes()).to_bytes()))
    }

    /// A token of the job the README's document accepts.
    fn main_prod(&self, changes: Value) -> String {
        self.token(
            &self.github_key,
            "octo-org/octo-repo",
            "refs/heads/main",
            Some("prod"),
            changes,
        )
    }
}

/// One run of the binary: its status and standard output's one JSON line.
fn rfc7523(args: &[&str]) -> (i32, Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rfc7523"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start rfc7523: {e}"));
    let stdout = String::from_utf8(output.stdout).unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8(output.stderr).unwrap_or_else(|e| panic!("{e}"));
    let line = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout:?} (stderr {stderr:?})"));
    (
        output.status.code().unwrap_or_else(|| panic!("a signal")),
        line,
        stderr,
    )
}

fn verify(registry: &str, token: &str) -> (i32, Value, String) {
    rfc7523(&[
        "verify",
        "--registry",
        registry,
        "--use",
        "grant",
        "--now",
        &NOW.to_string(),
        token,
    ])
}

/// `verify`: accepted as configured; each other job refused with its reason, the claim named
/// in the description and the token's value nowhere.
#[test]
fn the_readme_registry_accepts_the_configured_job_only() {
    let gh = Issuer::start();
    let registry = gh.registry("github.json", |_| {});
    let (code, line, stderr) = verify(&registry, &gh.main_prod(json!({})));
    assert_eq!(
        (code, line["valid"].clone()),
        (0, json!(true)),
        "{line} {stderr}"
    );
    assert_eq!(line["claims"]["repository"], "octo-org/octo-repo");
    assert_eq!(line["header"]["kid"], KID);
    assert_eq!(stderr, "");
    assert_eq!(gh.server.hits("/.well-known/openid-configuration"), 1);
    assert_eq!(gh.server.hits("/.well-known/jwks"), 1);

    // (what, token, reason, a word of the description, the token's value to never echo)
    let cases = [
        (
            "a job on another branch deploying to prod (same sub)",
            gh.token(
                &gh.github_key,
                "octo-org/octo-repo",
                "refs/heads/dev",
                Some("prod"),
                json!({}),
            ),
            "claim_mismatch",
            "the ref claim",
            "refs/heads/dev",
        ),
        (
            "a tag of the same name",
            gh.main_prod(json!({"ref": "refs/tags/main", "ref_type": "tag"})),
            "claim_mismatch",
            "the ref claim",
            "refs/tags/main",
        ),
        (
            "another repository",
            gh.token(
                &gh.github_key,
                "octo-org/other-repo",
                "refs/heads/main",
                Some("prod"),
                json!({}),
            ),
            "subject_mismatch",
            "sub claim",
            "other-repo",
        ),
        (
            "a repository of another owner with the same name",
            gh.token(
                &gh.github_key,
                "evil-org/octo-repo",
                "refs/heads/main",
                Some("prod"),
                json!({}),
            ),
            "subject_mismatch",
            "sub claim",
            "evil-org",
        ),
        (
            "another environment",
            gh.token(
                &gh.github_key,
                "octo-org/octo-repo",
                "refs/heads/main",
                Some("staging"),
                json!({}),
            ),
            "subject_mismatch",
            "sub claim",
            "staging",
        ),
        (
            "a job without an environment",
            gh.token(
                &gh.github_key,
                "octo-org/octo-repo",
                "refs/heads/main",
                None,
                json!({}),
            ),
            "subject_mismatch",
            "sub claim",
            "ref:refs",
        ),
        (
            "a repository_owner that is not a string",
            gh.main_prod(json!({"repository_owner": ["octo-org"]})),
            "claim_mismatch",
            "the repository_owner claim is not a string",
            "\u{0}",
        ),
        (
            "GitHub's default audience (the owner's URL)",
            gh.main_prod(json!({"aud": "https://github.com/octo-org"})),
            "audience_mismatch",
            "aud claim",
            "github.com",
        ),
        (
            "signed by a key that is not GitHub's, under GitHub's kid",
            gh.token(
                &gh.other_key,
                "octo-org/octo-repo",
                "refs/heads/dev",
                Some("prod"),
                json!({}),
            ),
            "invalid_signature",
            "invalid signature",
            "refs/heads/dev",
        ),
    ];
    for (what, token, reason, words, value) in &cases {
        let (code, line, _) = verify(&registry, token);
        assert_eq!(code, 1, "{what}: {line}");
        assert_eq!(
            (&line["reason"], &line["error"]),
            (&json!(reason), &json!("invalid_grant")),
            "{what}: {line}"
        );
        let description = line["description"].as_str().unwrap_or_default();
        assert!(description.contains(words), "{what}: {description}");
        assert!(!line.to_string().contains(value), "{what}: {line}");
    }

    // Without `subjects`, the conditions alone tell repositories and owners apart.
    let conditions_only = gh.registry("github-claims-only.json", |doc| {
        if let Some(issuer) = doc["issuers"][0].as_object_mut() {
            issuer.remove("subjects");
        }
    });
    for (repository, claim) in [
        ("octo-org/other-repo", "repository"),
        ("evil-org/octo-repo", "repository"),
    ] {
        let token = gh.token(
            &gh.github_key,
            repository,
            "refs/heads/main",
            Some("prod"),
            json!({}),
        );
        let (code, line, _) = verify(&conditions_only, &token);
        assert_eq!(
            (code, &line["reason"]),
            (1, &json!("claim_mismatch")),
            "{line}"
        );
        let description = line["description"].as_str().unwrap_or_default();
        assert!(
            description.contains(&format!("the {claim} claim")),
            "{line}"
        );
    }
    let renamed_owner = gh.main_prod(json!({"repository_owner": "octo-org-renamed"}));
    let (_, line, _) = verify(&conditions_only, &renamed_owner);
    assert_eq!(line["reason"], "claim_mismatch", "{line}");
    assert!(
        line["description"]
            .as_str()
            .is_some_and(|d| d.contains("the repository_owner claim")),
        "{line}"
    );
}

/// `token-request`: the job's grant, posted with no client authentication, is accepted; the
/// same from another branch is 400 `invalid_grant`, reason `claim_mismatch`, the claim named
/// and its value not echoed.
#[test]
fn token_requests_with_github_grants() {
    let gh = Issuer::start();
    let registry = gh.registry("github.json", |_| {});
    let body = |token: &str| format!("grant_type={GRANT_TYPE}&assertion={token}");
    let (code, line, stderr) = rfc7523(&[
        "token-request",
        "--registry",
        &registry,
        "--now",
        &NOW.to_string(),
        &body(&gh.main_prod(json!({}))),
    ]);
    assert_eq!(code, 0, "{line} {stderr}");
    assert_eq!(line["ok"], true, "{line}");
    assert_eq!(line["use"], "grant", "{line}");
    assert_eq!(
        line["claims"]["sub"],
        "repo:octo-org/octo-repo:environment:prod"
    );
    assert!(line.get("client_claims").is_none(), "{line}");

    let dev = gh.token(
        &gh.github_key,
        "octo-org/octo-repo",
        "refs/heads/dev",
        Some("prod"),
        json!({}),
    );
    let (code, line, _) = rfc7523(&[
        "token-request",
        "--registry",
        &registry,
        "--now",
        &NOW.to_string(),
        &body(&dev),
    ]);
    assert_eq!(code, 1, "{line}");
    assert_eq!(
        (
            &line["ok"],
            &line["status"],
            &line["error"],
            &line["reason"]
        ),
        (
            &json!(false),
            &json!(400),
            &json!("invalid_grant"),
            &json!("claim_mismatch")
        ),
        "{line}"
    );
    let description = line["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains("the ref claim is not the required value"),
        "{description}"
    );
    assert!(!description.contains("dev"), "{description}");
}
