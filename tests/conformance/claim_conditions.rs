//! Claim conditions (issue 14 item 5, workload identity federation): an issuer's `claims` in
//! the registry, and `Policy::claims` for a slice of parties, each outcome a row.
//!
//! The issuer is shaped like GitHub Actions (`repository`, `ref`, `environment`), its
//! conditions given in a registry document whose member order is the order they are checked.
//! Tokens are signed over raw payload text (escapes, member names and types exactly as
//! written) with a hand-built RS256 signer. Rows cover: a match; escaped and `\u`-escaped
//! values and names equal after unescaping; mismatches (value, case, white space, Unicode
//! forms); a missing claim; non-string values (number, boolean, null, object, array); a claim
//! of that name only nested deeper; the order of checks (the signature first, then the
//! standard claims, then the conditions in configured order, and replay last: a refused
//! assertion takes no `jti`). The registry's refusals and the limits
//! (`MAX_CLAIM_CONDITIONS`, `MAX_CONDITION_NAME_LEN`) are at the boundary.

use std::sync::OnceLock;

use base64ct::{Base64UrlUnpadded, Encoding};
use rfc7523::conditions::{
    ClaimCondition, ClaimConditions, ConditionError, GOVERNED_CLAIMS, MAX_CLAIM_CONDITIONS,
    MAX_CONDITION_NAME_LEN,
};
use rfc7523::limits::MAX_CLAIM_STRING_LEN;
use rfc7523::registry::RegistryProblem as P;
use rfc7523::token_request::JWT_BEARER_GRANT_TYPE;
use rfc7523::{
    Claim, ClaimName, ConditionProblem, DecodeBuffer, Error, GrantProfile, KeyLookup, KeySet,
    MemoryReplayStore, OAuthError, Party, Policy, Reason, Registry, Subjects, TokenBuffers,
    TokenEndpoint,
};
use rfc7523_conformance::{distinct_2048_key_pairs, public_jwk};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha2::Sha256;

const NOW: u64 = 1_700_000_000;
const AS_ISSUER: &str = "https://as.example";
const GITHUB: &str = "https://token.actions.githubusercontent.com";
const SUBJECT: &str = "repo:octo-org/octo-repo:environment:prod";
/// The environment's name: a non-ASCII value, to compare `\u` escapes (a surrogate pair
/// included) with the configured text.
const ENVIRONMENT: &str = "prod-\u{e9}-\u{1F680}";

/// The conditions, in the order of the registry document (the order they are checked).
const CONDITIONS: [(&str, &str); 3] = [
    ("repository", "octo-org/octo-repo"),
    ("ref", "refs/heads/main"),
    ("environment", ENVIRONMENT),
];

struct Fixtures {
    signer: SigningKey<Sha256>,
    other: SigningKey<Sha256>,
    jwk: String,
    keys: KeySet,
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let pairs = distinct_2048_key_pairs(2);
        let signing = |pem: &str| {
            SigningKey::<Sha256>::new(
                rsa::RsaPrivateKey::from_pkcs1_pem(pem)
                    .unwrap_or_else(|e| panic!("PKCS#1 private key: {e}")),
            )
        };
        let jwk = public_jwk(&pairs[0].1, "gh-1");
        Fixtures {
            signer: signing(&pairs[0].0),
            other: signing(&pairs[1].0),
            keys: KeySet::from_jwks(&format!(r#"{{"keys":[{jwk}]}}"#))
                .unwrap_or_else(|e| panic!("{e}")),
            jwk,
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// An RS256 JWS over `payload` as written, with GitHub's header (`typ` JWT, a `kid`).
fn sign(key: &SigningKey<Sha256>, payload: &str) -> String {
    let input = format!(
        "{}.{}",
        b64(br#"{"typ":"JWT","alg":"RS256","kid":"gh-1"}"#),
        b64(payload.as_bytes())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

/// The standard claims of a valid grant (`jti` given), then `rest` (JSON members as
/// written, without the leading comma).
fn payload(jti: &str, rest: &str) -> String {
    let rest = if rest.is_empty() {
        String::new()
    } else {
        format!(",{rest}")
    };
    format!(
        r#"{{"iss":"{GITHUB}","sub":"{SUBJECT}","aud":"{AS_ISSUER}","exp":{},"iat":{},"nbf":{},"jti":"{jti}"{rest}}}"#,
        NOW + 300,
        NOW - 5,
        NOW - 5,
    )
}

/// The three claims that meet the conditions, as JSON members.
const MATCHING: &str =
    r#""repository":"octo-org/octo-repo","ref":"refs/heads/main","environment":"prod-é-🚀""#;

/// The registry document: the GitHub-shaped issuer with `claims` (JSON object text, member
/// order kept) and `subjects`.
fn document(claims: &str) -> String {
    let f = fixtures();
    format!(
        r#"{{"issuer":"{AS_ISSUER}","issuers":[{{"issuer":"{GITHUB}","jwks":{{"keys":[{}]}},
        "subjects":["{SUBJECT}"],"claims":{claims}}}]}}"#,
        f.jwk
    )
}

fn conditions_json() -> String {
    let members: Vec<String> = CONDITIONS
        .iter()
        .map(|(claim, value)| format!(r#""{claim}":{}"#, serde_json::json!(value)))
        .collect();
    format!("{{{}}}", members.join(","))
}

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        Registry::from_json(&document(&conditions_json())).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn mismatch(claim: &str, problem: ConditionProblem) -> Result<(), Error> {
    Err(Error::ClaimMismatch {
        claim: ClaimName::new(claim),
        problem,
    })
}

fn validate<L: KeyLookup + ?Sized>(
    issuers: &L,
    token: &str,
    store: &mut MemoryReplayStore<8>,
) -> Result<(), Error> {
    GrantProfile {
        issuers,
        audiences: &[AS_ISSUER],
    }
    .validate(token, NOW, store, &mut DecodeBuffer::new())
    .map(|_| ())
}

/// Every outcome, through the registry and through a slice of parties with the same
/// conditions (`ClaimConditions::new`, no heap).
#[test]
fn each_outcome_of_a_condition() {
    use ConditionProblem::{Different, Missing, NotAString};
    let f = fixtures();
    let member = |claim: &str, value: &str| -> String {
        CONDITIONS
            .iter()
            .map(|(c, v)| {
                if *c == claim {
                    format!(r#""{c}":{value}"#)
                } else {
                    format!(r#""{c}":{}"#, serde_json::json!(v))
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let without = |claim: &str| -> String {
        CONDITIONS
            .iter()
            .filter(|(c, _)| *c != claim)
            .map(|(c, v)| format!(r#""{c}":{}"#, serde_json::json!(v)))
            .collect::<Vec<_>>()
            .join(",")
    };
    // (what, the members after the standard claims, expected)
    let rows: Vec<(&str, String, Result<(), Error>)> = vec![
        ("all three match", MATCHING.into(), Ok(())),
        (
            "GitHub's other claims beside them",
            format!(
                r#"{MATCHING},"sha":"0123abcd","repository_owner":"octo-org","repository_owner_id":"65","run_id":"42","job_workflow_ref":"octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main""#
            ),
            Ok(()),
        ),
        (
            "an escaped solidus equals the configured value",
            member("ref", r#""refs\/heads\/main""#),
            Ok(()),
        ),
        (
            "\\u escapes of ASCII",
            member("repository", r#""octo\u002dorg\u002Focto-repo""#),
            Ok(()),
        ),
        (
            "\\u escapes of U+00E9 and a surrogate pair",
            member("environment", r#""prod-\u00e9-\ud83d\ude80""#),
            Ok(()),
        ),
        (
            "the claim's name written with an escape",
            r#""repository":"octo-org/octo-repo","r\u0065f":"refs/heads/main","environment":"prod-é-🚀""#
                .into(),
            Ok(()),
        ),
        (
            "another repository",
            member("repository", r#""octo-org/other-repo""#),
            mismatch("repository", Different),
        ),
        (
            "another branch",
            member("ref", r#""refs/heads/dev""#),
            mismatch("ref", Different),
        ),
        (
            "a tag of the same name",
            member("ref", r#""refs/tags/main""#),
            mismatch("ref", Different),
        ),
        (
            "case differs",
            member("repository", r#""Octo-org/octo-repo""#),
            mismatch("repository", Different),
        ),
        (
            "a trailing space",
            member("ref", r#""refs/heads/main ""#),
            mismatch("ref", Different),
        ),
        (
            "a prefix of the value",
            member("ref", r#""refs/heads/mai""#),
            mismatch("ref", Different),
        ),
        (
            "the value as a prefix",
            member("ref", r#""refs/heads/main2""#),
            mismatch("ref", Different),
        ),
        (
            "the empty string",
            member("ref", r#""""#),
            mismatch("ref", Different),
        ),
        (
            "another Unicode form (e + combining acute: no normalization)",
            member("environment", r#""prod-e\u0301-\ud83d\ude80""#),
            mismatch("environment", Different),
        ),
        (
            "another astral character",
            member("environment", r#""prod-\u00e9-\ud83d\ude81""#),
            mismatch("environment", Different),
        ),
        (
            "missing",
            without("environment"),
            mismatch("environment", Missing),
        ),
        (
            "only nested deeper",
            format!(
                r#"{},"context":{{"environment":"prod-é-🚀"}}"#,
                without("environment")
            ),
            mismatch("environment", Missing),
        ),
        (
            "a number",
            member("repository", "42"),
            mismatch("repository", NotAString),
        ),
        ("true", member("ref", "true"), mismatch("ref", NotAString)),
        ("null", member("ref", "null"), mismatch("ref", NotAString)),
        (
            "an object",
            member("repository", r#"{"name":"octo-org/octo-repo"}"#),
            mismatch("repository", NotAString),
        ),
        (
            "an array holding the value",
            member("repository", r#"["octo-org/octo-repo"]"#),
            mismatch("repository", NotAString),
        ),
        (
            "two failing: the first in configured order",
            r#""environment":"dev","ref":"refs/heads/dev","repository":"x/y""#.into(),
            mismatch("repository", Different),
        ),
        (
            "none of them",
            String::new(),
            mismatch("repository", Missing),
        ),
    ];
    let conditions: Vec<ClaimCondition<'_>> = CONDITIONS
        .iter()
        .map(|&(claim, value)| ClaimCondition { claim, value })
        .collect();
    let parties = [Party::new(GITHUB, &f.keys).with_policy(Policy {
        subjects: Subjects::OneOf(&[SUBJECT]),
        claims: ClaimConditions::new(&conditions).unwrap_or_else(|e| panic!("{e}")),
        ..Policy::default()
    })];
    let mut failures = Vec::new();
    for (i, (what, rest, expected)) in rows.iter().enumerate() {
        let token = sign(&f.signer, &payload(&format!("row-{i}"), rest));
        for (lookup, got) in [
            (
                "registry",
                validate(registry().issuers(), &token, &mut MemoryReplayStore::new()),
            ),
            (
                "parties",
                validate(&parties[..], &token, &mut MemoryReplayStore::new()),
            ),
        ] {
            if got != *expected {
                failures.push(format!(
                    "{what} ({lookup}): expected {expected:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The signature first (no oracle on unsigned input), then the standard claims, then the
/// conditions; a refused assertion takes no replay entry.
#[test]
fn conditions_come_after_the_signature_and_the_standard_claims() {
    let f = fixtures();
    let wrong =
        r#""repository":"octo-org/other-repo","ref":"refs/heads/main","environment":"prod-é-🚀""#;
    let issuers = registry().issuers();
    let mut store = MemoryReplayStore::new();
    // Signed by a key that is not the issuer's.
    let forged = sign(&f.other, &payload("a", wrong));
    assert_eq!(
        validate(issuers, &forged, &mut store),
        Err(Error::InvalidSignature)
    );
    // The issuer's signature, one byte of it changed.
    let good = sign(&f.signer, &payload("a", wrong));
    let mut tampered = good.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        validate(issuers, &tampered, &mut store),
        Err(Error::InvalidSignature)
    );
    // Standard claims first.
    let expired = format!(
        r#"{{"iss":"{GITHUB}","sub":"{SUBJECT}","aud":"{AS_ISSUER}","exp":{},"jti":"b",{wrong}}}"#,
        NOW - 600
    );
    assert!(matches!(
        validate(issuers, &sign(&f.signer, &expired), &mut store),
        Err(Error::Expired { .. })
    ));
    let other_audience = payload("c", wrong).replace(AS_ISSUER, "https://elsewhere.example");
    assert_eq!(
        validate(issuers, &sign(&f.signer, &other_audience), &mut store),
        Err(Error::AudienceMismatch)
    );
    let other_subject = payload("d", wrong).replace(SUBJECT, "repo:octo-org/other-repo:ref:x");
    assert_eq!(
        validate(issuers, &sign(&f.signer, &other_subject), &mut store),
        Err(Error::SubjectMismatch)
    );
    // Then the condition; no replay entry was taken by any refusal: the same `jti`s pass.
    assert_eq!(
        validate(issuers, &good, &mut store),
        mismatch("repository", ConditionProblem::Different)
    );
    for jti in ["a", "b", "c", "d"] {
        let token = sign(&f.signer, &payload(jti, MATCHING));
        assert_eq!(validate(issuers, &token, &mut store), Ok(()), "{jti}");
        assert_eq!(
            validate(issuers, &token, &mut store),
            Err(Error::Replayed),
            "{jti}"
        );
    }
}

/// Through the token endpoint: `invalid_grant`, 400, reason `claim_mismatch`, the claim named
/// and the token's value nowhere in the response.
#[test]
fn a_mismatch_is_invalid_grant() {
    let f = fixtures();
    let token = sign(
        &f.signer,
        &payload(
            "e",
            r#""repository":"evil-org/octo-repo","ref":"refs/heads/main","environment":"prod-é-🚀""#,
        ),
    );
    let body = format!(
        "grant_type={}&assertion={token}",
        JWT_BEARER_GRANT_TYPE.replace(':', "%3A")
    );
    let error = registry()
        .with_token_endpoint(Default::default(), |endpoint: &TokenEndpoint<'_, _, _>| {
            endpoint
                .handle(
                    &mut body.clone().into_bytes(),
                    NOW,
                    &mut MemoryReplayStore::<8>::new(),
                    &mut TokenBuffers::new(),
                )
                .map(|_| ())
        })
        .expect_err("refused");
    assert_eq!(error.reason(), Reason::ClaimMismatch);
    assert_eq!(error.reason().as_str(), "claim_mismatch");
    let response = error.response();
    assert_eq!(
        (response.error(), response.status()),
        (OAuthError::InvalidGrant, 400)
    );
    let assertion_error = error
        .assertion_error()
        .unwrap_or_else(|| panic!("{error:?}"));
    assert_eq!(
        assertion_error.claim().as_ref().map(Claim::as_str),
        Some("repository")
    );
    let json = response.to_json();
    assert!(
        json.contains("the repository claim is not the required value"),
        "{json}"
    );
    assert!(!json.contains("evil-org"), "{json}");
    assert!(!error.to_string().contains("evil-org"), "{error}");
}

/// The registry's `claims`: each refusal names the issuer and the field; the limits at the
/// boundary.
#[test]
fn registry_refusals_and_limits() {
    let at = format!(r#"issuers[0] "{GITHUB}".claims"#);
    let names: Vec<String> = (0..=MAX_CLAIM_CONDITIONS)
        .map(|i| format!("c{i}"))
        .collect();
    let object = |n: usize| -> String {
        let members: Vec<String> = names
            .iter()
            .take(n)
            .map(|name| format!(r#""{name}":"v""#))
            .collect();
        format!("{{{}}}", members.join(","))
    };
    let long_name = "n".repeat(MAX_CONDITION_NAME_LEN);
    let too_long_name = "n".repeat(MAX_CONDITION_NAME_LEN + 1);
    let long_value = "v".repeat(MAX_CLAIM_STRING_LEN);
    let too_long_value = "v".repeat(MAX_CLAIM_STRING_LEN + 1);
    // Loads, with the conditions kept in document order.
    for (what, claims, expected) in [
        ("one", r#"{"ref":"refs/heads/main"}"#.to_owned(), 1),
        (
            "at MAX_CLAIM_CONDITIONS",
            object(MAX_CLAIM_CONDITIONS),
            MAX_CLAIM_CONDITIONS,
        ),
        (
            "a name at its limit",
            format!(r#"{{"{long_name}":"v"}}"#),
            1,
        ),
        (
            "a value at its limit",
            format!(r#"{{"ref":"{long_value}"}}"#),
            1,
        ),
        (
            "names are case-sensitive",
            r#"{"ISS":"v","Sub":"v"}"#.to_owned(),
            2,
        ),
    ] {
        let registry =
            Registry::from_json(&document(&claims)).unwrap_or_else(|e| panic!("{what}: {e}"));
        let party = registry
            .issuers()
            .party(GITHUB)
            .unwrap_or_else(|| panic!("{what}"));
        assert_eq!(party.policy.claims.len(), expected, "{what}");
    }
    let order: Vec<String> = Registry::from_json(&document(&conditions_json()))
        .unwrap_or_else(|e| panic!("{e}"))
        .issuers()
        .party(GITHUB)
        .map(|p| p.policy.claims.iter().map(|c| c.claim.to_owned()).collect())
        .unwrap_or_default();
    assert_eq!(order, ["repository", "ref", "environment"]);

    let condition = P::ClaimCondition;
    let mut cases: Vec<(String, String, String, P)> = vec![
        (
            "more than MAX_CLAIM_CONDITIONS".into(),
            object(MAX_CLAIM_CONDITIONS + 1),
            at.clone(),
            condition(ConditionError::TooMany),
        ),
        ("empty".into(), "{}".into(), at.clone(), P::Empty),
        (
            "an array".into(),
            r#"[{"ref":"refs/heads/main"}]"#.into(),
            at.clone(),
            P::WrongType("an object of claim names to strings"),
        ),
        (
            "a string".into(),
            r#""ref=refs/heads/main""#.into(),
            at.clone(),
            P::WrongType("an object of claim names to strings"),
        ),
        (
            "an empty name".into(),
            r#"{"":"v"}"#.into(),
            at.clone(),
            condition(ConditionError::EmptyName),
        ),
        (
            "a name past its limit".into(),
            format!(r#"{{"{too_long_name}":"v"}}"#),
            at.clone(),
            condition(ConditionError::NameTooLong),
        ),
        (
            "the same name twice".into(),
            r#"{"ref":"a","sha":"b","ref":"c"}"#.into(),
            at.clone(),
            condition(ConditionError::Duplicate),
        ),
        (
            "the same name twice, once escaped".into(),
            r#"{"ref":"a","r\u0065f":"a"}"#.into(),
            at.clone(),
            condition(ConditionError::Duplicate),
        ),
        (
            "an empty value".into(),
            r#"{"ref":""}"#.into(),
            format!("{at}.ref"),
            P::Empty,
        ),
        (
            "a value past its limit".into(),
            format!(r#"{{"ref":"{too_long_value}"}}"#),
            at.clone(),
            condition(ConditionError::ValueTooLong),
        ),
    ];
    for (what, value) in [
        ("a number", "1"),
        ("true", "true"),
        ("null", "null"),
        ("an object", r#"{"v":"w"}"#),
        ("an array", r#"["refs/heads/main"]"#),
    ] {
        cases.push((
            format!("a value that is {what}"),
            format!(r#"{{"ref":{value}}}"#),
            format!("{at}.ref"),
            P::WrongType("a string"),
        ));
    }
    for claim in GOVERNED_CLAIMS {
        let name = claim.as_str().to_owned();
        cases.push((
            format!("the governed claim {name}"),
            format!(r#"{{"repository":"o/r","{name}":"v"}}"#),
            at.clone(),
            condition(ConditionError::Governed(claim)),
        ));
    }
    let mut failures = Vec::new();
    for (what, claims, at, problem) in &cases {
        match Registry::from_json(&document(claims)) {
            Ok(_) => failures.push(format!("{what}: loaded")),
            Err(e) => {
                if (e.at(), e.problem()) != (at.as_str(), problem) {
                    failures.push(format!(
                        "{what}: expected {at} / {problem:?}, got {} / {:?}",
                        e.at(),
                        e.problem()
                    ));
                }
                if !e.to_string().starts_with(&format!("{at}: ")) {
                    failures.push(format!("{what}: message {e}"));
                }
            }
        }
    }
    // A client cannot have conditions: its assertions are signed by itself about itself.
    let f = fixtures();
    let client = format!(
        r#"{{"issuer":"{AS_ISSUER}","clients":[{{"client_id":"c","token_endpoint_auth_method":"private_key_jwt",
        "jwks":{{"keys":[{}]}},"claims":{{"ref":"refs/heads/main"}}}}]}}"#,
        f.jwk
    );
    match Registry::from_json(&client) {
        Err(e) if e.problem() == &P::UnknownField("claims".into()) => {}
        other => failures.push(format!("a client's claims: {other:?}")),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
