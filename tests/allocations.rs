//! Heap allocations of the verification pipeline, counted.
//!
//! The crate's claim (`lib.rs`): verification uses no heap at all, RSA included (fixed-width
//! Montgomery arithmetic). Here that is measured with `allocation-counter`, which installs a counting
//! global allocator (its own `unsafe`, none in this workspace) and counts the allocations of
//! the **current thread** inside `measure`, so each `#[test]` can measure on its own.
//!
//! - Parsing a compact JWS, reading the claims, parsing a token request body, the replay
//!   store, and rendering error responses: **zero** allocations.
//! - Loading keys (PEM, JWK, JWK Set), verifying a signature, a whole `validate` of either
//!   profile, accepted or refused at any step, and a whole token request: **zero**.
//! - The PS256, ES256 and EdDSA primitives (`rfc7523::alg`, before their wiring): key import
//!   from SPKI DER and JWK, verification: **zero**.
//! - An issuer's claim conditions (workload identity), met or not: **zero**.
//! - The same at the largest sizes: an 8192-bit key and a token of exactly `MAX_TOKEN_LEN`
//!   bytes: zero allocations, zero bytes of peak heap.
//!
//! Only signing (the `sign` feature, the `rsa` crate's private-key operation) allocates; the
//! crate without it does not even link `alloc` (the `thumbv7em-none-eabihf` build of
//! `cargo xtask test` proves it). Counts are asserted, never timings.

use std::sync::OnceLock;

use allocation_counter::measure;
use base64ct::{Base64UrlUnpadded, Encoding};
use rfc7523::form::TokenParams;
use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::token_request::{JWT_BEARER_CLIENT_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE};
use rfc7523::{
    ClientAuthProfile, DecodeBuffer, Error, GrantProfile, KeySet, MemoryReplayStore,
    OtherClientAuthentication, Party, Policy, Registry, ReplayEntry, ReplayError, ReplayKey,
    ReplayStore, RsaVerifyingKey, TokenBuffers, TokenEndpoint, TypRule, UnverifiedAssertion, Use,
};

const NOW: u64 = 1_700_000_000;
const AS_ISSUER: &str = "https://as.example";
const TOKEN_ENDPOINT: &str = "https://as.example/token";
const ISSUER: &str = "https://issuer.example";
const CLIENT: &str = "s6BhdRkqt3";

/// Runs `f` and returns its result with the number of heap allocations it made.
fn count<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let mut out = None;
    let info = measure(|| out = Some(f()));
    (
        out.unwrap_or_else(|| panic!("measure did not run the closure")),
        info.count_total,
    )
}

struct Fixtures {
    signer: AssertionSigner,
    public_pem: String,
    public_jwk: String,
    keys: KeySet,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let groups = rfc7523_conformance::sig_gen_2048_sha256_groups();
        let group = &groups[0];
        let text_of =
            |member: &str| rfc7523_conformance::json_str(&group[member], member).to_owned();
        let public_pem = text_of("keyPem");
        Fixtures {
            signer: AssertionSigner::from_pem(&text_of("privateKeyPem"))
                .unwrap_or_else(|e| panic!("private key: {e}")),
            keys: KeySet::from_pem(&public_pem).unwrap_or_else(|e| panic!("public key: {e}")),
            public_pem,
            public_jwk: group["keyJwk"].to_string(),
        }
    })
}

/// A realistic 2048-bit RS256 grant assertion (typ JWT, iss/sub/aud/exp/iat/random jti).
fn grant_token(f: &Fixtures) -> String {
    f.signer
        .sign(
            &AssertionRequest {
                issuer: ISSUER,
                subject: "alice@example.com",
                audience: TOKEN_ENDPOINT,
                ..AssertionRequest::default()
            },
            NOW,
        )
        .unwrap_or_else(|e| panic!("sign: {e}"))
        .as_str()
        .to_owned()
}

/// A client assertion (typ client-authentication+jwt).
fn client_token(f: &Fixtures) -> String {
    f.signer
        .sign(
            &AssertionRequest {
                issuer: CLIENT,
                subject: CLIENT,
                audience: AS_ISSUER,
                client_authentication: true,
                ..AssertionRequest::default()
            },
            NOW,
        )
        .unwrap_or_else(|e| panic!("sign: {e}"))
        .as_str()
        .to_owned()
}

fn issuers(f: &Fixtures) -> [Party<'_>; 1] {
    [Party::new(ISSUER, &f.keys)]
}

fn clients(f: &Fixtures) -> [Party<'_>; 1] {
    [Party::new(CLIENT, &f.keys).with_policy(Policy {
        typ: TypRule::RequireExplicit,
        ..Policy::default()
    })]
}

fn grant_profile<'a>(issuers: &'a [Party<'a>]) -> GrantProfile<'a> {
    GrantProfile {
        issuers,
        audiences: &[AS_ISSUER, TOKEN_ENDPOINT],
    }
}

fn client_profile<'a>(clients: &'a [Party<'a>]) -> ClientAuthProfile<'a> {
    ClientAuthProfile {
        clients,
        issuer: AS_ISSUER,
        token_endpoint: None,
    }
}

/// Allocations of the signature verification alone (parse done outside the measurement).
fn verify_count(token: &str, keys: &KeySet) -> u64 {
    let mut buffer = DecodeBuffer::new();
    let unverified =
        UnverifiedAssertion::parse(token, &mut buffer).unwrap_or_else(|e| panic!("{e}"));
    let (verified, n) = count(|| unverified.verify(keys));
    verified.unwrap_or_else(|e| panic!("verify: {e}"));
    n
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn parse_claims_form_replay_and_errors_allocate_nothing() {
    let f = fixtures();
    let token = grant_token(f);
    assert!(
        token.len() > 550,
        "a realistic 2048-bit assertion: {} bytes",
        token.len()
    );

    // (a) Structure and header.
    let mut buffer = DecodeBuffer::new();
    let (parsed, parse_allocs) = count(|| UnverifiedAssertion::parse(&token, &mut buffer));
    let parsed = parsed.unwrap_or_else(|e| panic!("parse: {e}"));
    println!(
        "UnverifiedAssertion::parse ({} bytes): {parse_allocs} allocations",
        token.len()
    );
    assert_eq!(parse_allocs, 0, "parse");
    let (hint, hint_allocs) = count(|| parsed.issuer_hint());
    assert_eq!(hint.unwrap_or_else(|e| panic!("{e}")), ISSUER);
    assert_eq!(hint_allocs, 0, "issuer_hint");

    // (b) Claims of a verified assertion.
    let verified = parsed
        .verify(&f.keys)
        .unwrap_or_else(|e| panic!("verify: {e}"));
    let (claims, claims_allocs) = count(|| verified.claims());
    let claims = claims.unwrap_or_else(|e| panic!("claims: {e}"));
    println!("VerifiedAssertion::claims: {claims_allocs} allocations");
    assert_eq!(claims_allocs, 0, "claims");
    assert!(claims.iss().is_some_and(|iss| iss == ISSUER));

    // (c) A full token request body: grant, client assertion, client_id, scope.
    let body = format!(
        "grant_type={}&assertion={token}&client_assertion_type={}&client_assertion={}\
         &client_id={CLIENT}&scope=read+write%20admin",
        form_encode(JWT_BEARER_GRANT_TYPE),
        form_encode(JWT_BEARER_CLIENT_ASSERTION_TYPE),
        client_token(f),
    );
    let mut body_bytes = body.clone().into_bytes();
    let (params, form_allocs) = count(|| TokenParams::parse(&mut body_bytes));
    let params = params.unwrap_or_else(|e| panic!("form: {e:?}"));
    println!(
        "TokenParams::parse ({} bytes): {form_allocs} allocations",
        body.len()
    );
    assert_eq!(form_allocs, 0, "form");
    assert_eq!(params.scope, Some("read write admin"));
    let mut bad_body = *b"grant_type=a&grant_type=b";
    let (bad, bad_form_allocs) = count(|| TokenParams::parse(&mut bad_body));
    assert!(bad.is_err());
    assert_eq!(bad_form_allocs, 0, "form error");

    // (d) Replay store: insert, replay, full, slot reuse.
    let mut store = MemoryReplayStore::<2>::new();
    let entry = |jti: &str, expires_at| ReplayEntry {
        key: ReplayKey::new(ISSUER, jti),
        expires_at,
    };
    let (results, replay_allocs) = count(|| {
        [
            store.check_and_insert(entry("a", NOW + 10), NOW),
            store.check_and_insert(entry("b", NOW + 100), NOW),
            store.check_and_insert(entry("a", NOW + 10), NOW + 1),
            store.check_and_insert(entry("c", NOW + 100), NOW + 1),
            store.check_and_insert(entry("c", NOW + 100), NOW + 10),
        ]
    });
    println!("MemoryReplayStore::check_and_insert x5: {replay_allocs} allocations");
    assert_eq!(
        results,
        [
            Ok(()),
            Ok(()),
            Err(ReplayError::Replayed),
            Err(ReplayError::Full),
            Ok(())
        ]
    );
    assert_eq!(replay_allocs, 0, "replay store");

    // (e) Error responses.
    let error = Error::Expired {
        exp: NOW - 100,
        now: NOW,
        leeway: 30,
    };
    let (json, response_allocs) = count(|| error.response(Use::ClientAuthentication).to_json());
    println!("Error::response + ErrorResponse::to_json: {response_allocs} allocations");
    assert_eq!(response_allocs, 0, "error response");
    assert_eq!(
        json.as_str(),
        r#"{"error":"invalid_client","error_description":"the assertion expired 100 s ago (leeway 30 s)"}"#
    );
    let response = rfc7523::TokenError::Grant(error).response();
    let (json, to_json_allocs) = count(|| response.to_json());
    assert_eq!(to_json_allocs, 0, "to_json");
    assert!(json.starts_with(r#"{"error":"invalid_grant","#), "{json}");
}

#[test]
fn keys_verification_and_validation_allocate_nothing() {
    let f = fixtures();

    // Loading keys: fixed-width Montgomery form, no big-integer heap.
    let (pem_keys, pem_allocs) = count(|| KeySet::from_pem(&f.public_pem));
    pem_keys.unwrap_or_else(|e| panic!("{e}"));
    let (jwk_keys, jwk_allocs) = count(|| KeySet::from_jwk(&f.public_jwk));
    assert_eq!(jwk_keys.unwrap_or_else(|e| panic!("{e}")).len(), 1);
    let jwks = format!(r#"{{"keys":[{}]}}"#, f.public_jwk);
    let (jwks_keys, jwks_allocs) = count(|| KeySet::from_text(&jwks));
    assert_eq!(jwks_keys.unwrap_or_else(|e| panic!("{e}")).len(), 1);
    println!(
        "KeySet::from_pem: {pem_allocs} allocations; from_jwk: {jwk_allocs}; from_text (JWKS): \
         {jwks_allocs}"
    );
    assert_eq!(
        (pem_allocs, jwk_allocs, jwks_allocs),
        (0, 0, 0),
        "key loading"
    );

    let issuers = issuers(f);
    let clients = clients(f);
    let grant = grant_profile(&issuers);
    let client = client_profile(&clients);
    let token = grant_token(f);
    let c_token = client_token(f);

    // The RSA step alone.
    let verify_allocs = verify_count(&token, &f.keys);
    println!("UnverifiedAssertion::verify (RS256, 2048 bits): {verify_allocs} allocations");
    assert_eq!(verify_allocs, 0, "RSA verification");
    assert_eq!(verify_count(&c_token, &f.keys), 0, "RSA verification");

    // Whole validations, accepted.
    let mut store = MemoryReplayStore::<8>::new();
    let mut buffer = DecodeBuffer::new();
    let (validated, validate_allocs) =
        count(|| grant.validate(&token, NOW, &mut store, &mut buffer));
    validated.unwrap_or_else(|e| panic!("validate: {e}"));
    println!("GrantProfile::validate (accepted): {validate_allocs} allocations");
    assert_eq!(validate_allocs, 0, "grant validate");
    let (validated, c_validate_allocs) =
        count(|| client.validate(&c_token, Some(CLIENT), NOW, &mut store, &mut buffer));
    validated.unwrap_or_else(|e| panic!("client validate: {e}"));
    println!("ClientAuthProfile::validate (accepted): {c_validate_allocs} allocations");
    assert_eq!(c_validate_allocs, 0, "client validate");

    // Refused after the signature step (replayed, expired).
    let (replayed, replayed_allocs) =
        count(|| grant.validate(&token, NOW, &mut store, &mut buffer));
    assert_eq!(replayed.unwrap_err(), Error::Replayed);
    assert_eq!(replayed_allocs, 0, "replayed");
    let mut fresh = MemoryReplayStore::<8>::new();
    let (expired, expired_allocs) =
        count(|| grant.validate(&token, NOW + 10_000, &mut fresh, &mut buffer));
    assert!(matches!(expired.unwrap_err(), Error::Expired { .. }));
    assert_eq!(expired_allocs, 0, "expired");
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap_or_else(|e| panic!("{e}"));
    let (refused, tampered_allocs) =
        count(|| grant.validate(&tampered, NOW, &mut fresh, &mut buffer));
    assert_eq!(refused.unwrap_err(), Error::InvalidSignature);
    assert_eq!(tampered_allocs, 0, "bad signature");

    // Refused before the signature step: nothing at all.
    let b64 = |s: &str| Base64UrlUnpadded::encode_string(s.as_bytes());
    let payload = token.split('.').nth(1).unwrap_or_default();
    let alg_none = format!("{}.{payload}.", b64(r#"{"alg":"none"}"#));
    let too_large = "a".repeat(10_000);
    let untrusted = f
        .signer
        .sign(
            &AssertionRequest {
                issuer: "https://evil.example",
                subject: "alice",
                audience: AS_ISSUER,
                ..AssertionRequest::default()
            },
            NOW,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let crit = format!(
        "{}.{payload}.{}",
        b64(r#"{"alg":"RS256","crit":["x"]}"#),
        token.rsplit('.').next().unwrap_or_default()
    );
    for (what, bad) in [
        ("alg none", alg_none.as_str()),
        ("too large", too_large.as_str()),
        ("untrusted issuer", untrusted.as_str()),
        ("crit header", crit.as_str()),
        ("not a JWS", "not-a-jwt"),
    ] {
        let (result, n) = count(|| grant.validate(bad, NOW, &mut fresh, &mut buffer));
        let err = result.unwrap_err();
        println!("GrantProfile::validate refused before the signature ({what}: {err:?}): {n}");
        assert_eq!(n, 0, "{what}");
    }
    let (result, n) =
        count(|| client.validate(&token, Some("unknown-client"), NOW, &mut fresh, &mut buffer));
    assert_eq!(result.unwrap_err(), Error::IssuerMismatch);
    assert_eq!(n, 0, "unknown client");

    // A token endpoint request with both assertions.
    let endpoint = TokenEndpoint {
        grant: Some(grant),
        client_auth: Some(client),
        other_client_auth: Default::default(),
    };
    let body = format!(
        "grant_type={}&assertion={token}&client_assertion_type={}&client_assertion={c_token}",
        form_encode(JWT_BEARER_GRANT_TYPE),
        form_encode(JWT_BEARER_CLIENT_ASSERTION_TYPE),
    );
    let mut store = MemoryReplayStore::<8>::new();
    let mut buffers = TokenBuffers::new();
    let mut body = body.into_bytes();
    let (outcome, handle_allocs) =
        count(|| endpoint.handle(&mut body, NOW, &mut store, &mut buffers));
    outcome.unwrap_or_else(|e| panic!("handle: {e}"));
    println!("TokenEndpoint::handle (grant + client assertion): {handle_allocs} allocations");
    assert_eq!(handle_allocs, 0, "token request");
    let mut bad_body = *b"grant_type=x&grant_type=y";
    let (refused, n) = count(|| endpoint.handle(&mut bad_body, NOW, &mut store, &mut buffers));
    let refused = refused.unwrap_err();
    let (json, m) = count(|| refused.response().to_json());
    assert!(json.contains("invalid_request"), "{json}");
    assert_eq!((n, m), (0, 0), "invalid request and its response");
}

/// A registry allocates when it loads; validating against it allocates nothing.
#[test]
fn validation_against_a_loaded_registry_allocates_nothing() {
    let f = fixtures();
    let jwks = format!(r#"{{"keys":[{}]}}"#, f.public_jwk);
    let (clients, load_allocs) = count(|| {
        Registry::from_json(&format!(
            r#"{{"issuer":"{AS_ISSUER}","clients":[{{"client_id":"{CLIENT}",
              "token_endpoint_auth_method":"private_key_jwt","jwks":{jwks}}}]}}"#
        ))
    });
    let clients = clients.unwrap_or_else(|e| panic!("registry: {e}"));
    println!("Registry::from_json (one client): {load_allocs} allocations");
    let issuers = Registry::from_json(&format!(
        r#"{{"issuer":"{AS_ISSUER}","token_endpoint":"{TOKEN_ENDPOINT}",
          "issuers":[{{"issuer":"{ISSUER}","jwks":{jwks}}}]}}"#
    ))
    .unwrap_or_else(|e| panic!("registry: {e}"));
    // The same issuer with its keys fetched (issue 14): installed, then judged as inline ones.
    let mut remote = Registry::from_json(&format!(
        r#"{{"issuer":"{AS_ISSUER}","token_endpoint":"{TOKEN_ENDPOINT}",
          "issuers":[{{"issuer":"{ISSUER}","jwks_uri":"https://keys.example/jwks"}}]}}"#
    ))
    .unwrap_or_else(|e| panic!("registry: {e}"));
    let unfetched = remote.clone();
    remote
        .install_jwk_set(
            rfc7523::registry::PartyKind::Issuer,
            ISSUER,
            jwks.as_bytes(),
            rfc7523::remote_keys::Entry {
                fetched_at: NOW,
                max_age: 600,
            },
        )
        .unwrap_or_else(|e| panic!("install: {e}"));
    let c_token = client_token(f);
    let token = grant_token(f);
    let client_body = format!(
        "grant_type=client_credentials&client_assertion_type={}&client_assertion={c_token}",
        form_encode(JWT_BEARER_CLIENT_ASSERTION_TYPE),
    );
    let grant_body = format!(
        "grant_type={}&assertion={token}",
        form_encode(JWT_BEARER_GRANT_TYPE)
    );
    // Keys not fetched yet: refused `keys_unavailable`, without the heap either.
    let mut bytes = grant_body.clone().into_bytes();
    let mut store = MemoryReplayStore::<8>::new();
    let mut buffers = TokenBuffers::new();
    let (refused, n) = count(|| {
        unfetched.with_token_endpoint(OtherClientAuthentication::Refuse, |endpoint| {
            endpoint
                .handle(&mut bytes, NOW, &mut store, &mut buffers)
                .map(|_| ())
                .map_err(|e| e.response().retry_after().is_none() && e.status() == 503)
        })
    });
    assert_eq!((refused, n), (Err(true), 0), "keys_unavailable");
    for (what, registry, body) in [
        ("client assertion", &clients, &client_body),
        ("grant", &issuers, &grant_body),
        ("grant, fetched keys", &remote, &grant_body),
    ] {
        let mut store = MemoryReplayStore::<8>::new();
        let mut buffers = TokenBuffers::new();
        let mut bytes = body.clone().into_bytes();
        let (outcome, n) = count(|| {
            registry.with_token_endpoint(OtherClientAuthentication::Refuse, |endpoint| {
                endpoint
                    .handle(&mut bytes, NOW, &mut store, &mut buffers)
                    .map(|_| ())
            })
        });
        outcome.unwrap_or_else(|e| panic!("{what}: {e}"));
        println!("Registry token endpoint ({what}): {n} allocations");
        assert_eq!(n, 0, "{what}");
        // Refused (a replay): no allocation either.
        let mut bytes = body.clone().into_bytes();
        let (again, n) = count(|| {
            registry.with_token_endpoint(OtherClientAuthentication::Refuse, |endpoint| {
                endpoint
                    .handle(&mut bytes, NOW, &mut store, &mut buffers)
                    .map(|_| ())
            })
        });
        assert!(again.is_err(), "{what}: replay accepted");
        assert_eq!(n, 0, "{what} refused");
    }
}

/// Claim conditions (an issuer's `claims`, workload identity): checking them, met or not,
/// allocates nothing, through a loaded registry and through a slice of parties.
#[test]
fn claim_conditions_allocate_nothing() {
    use rfc7523::{ClaimCondition, ClaimConditions, ConditionProblem};
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};

    let f = fixtures();
    let groups = rfc7523_conformance::sig_gen_2048_sha256_groups();
    let private = rfc7523_conformance::json_str(&groups[0]["privateKeyPem"], "privateKeyPem");
    let key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(
        rsa::RsaPrivateKey::from_pkcs1_pem(private).unwrap_or_else(|e| panic!("{e}")),
    );
    let b64 = |bytes: &[u8]| Base64UrlUnpadded::encode_string(bytes);
    let sign = |jti: &str, repository: &str| {
        let payload = format!(
            r#"{{"iss":"{ISSUER}","sub":"repo:octo-org/octo-repo:ref:refs/heads/main","aud":"{AS_ISSUER}","exp":{},"jti":"{jti}","repository":"{repository}","ref":"refs\/heads\/main"}}"#,
            NOW + 60
        );
        let input = format!(
            "{}.{}",
            b64(br#"{"alg":"RS256","typ":"JWT"}"#),
            b64(payload.as_bytes())
        );
        format!("{input}.{}", b64(&key.sign(input.as_bytes()).to_bytes()))
    };
    let registry = Registry::from_json(&format!(
        r#"{{"issuer":"{AS_ISSUER}","issuers":[{{"issuer":"{ISSUER}","jwks":{{"keys":[{}]}},
          "claims":{{"repository":"octo-org/octo-repo","ref":"refs/heads/main"}}}}]}}"#,
        f.public_jwk
    ))
    .unwrap_or_else(|e| panic!("registry: {e}"));
    let list = [
        ClaimCondition {
            claim: "repository",
            value: "octo-org/octo-repo",
        },
        ClaimCondition {
            claim: "ref",
            value: "refs/heads/main",
        },
    ];
    let parties = [Party::new(ISSUER, &f.keys).with_policy(Policy {
        claims: ClaimConditions::new(&list).unwrap_or_else(|e| panic!("{e}")),
        ..Policy::default()
    })];
    for (what, token, expected) in [
        ("met", sign("a", "octo-org/octo-repo"), Ok(())),
        (
            "not met",
            sign("b", "octo-org/other-repo"),
            Err(Some(ConditionProblem::Different)),
        ),
    ] {
        for (lookup, n, result) in [
            {
                let mut store = MemoryReplayStore::<8>::new();
                let mut buffer = DecodeBuffer::new();
                let (result, n) = count(|| {
                    registry.with_profiles(|grant, _| {
                        grant.map(|g| g.validate(&token, NOW, &mut store, &mut buffer).map(|_| ()))
                    })
                });
                ("registry", n, result.unwrap_or_else(|| panic!("no grants")))
            },
            {
                let mut store = MemoryReplayStore::<8>::new();
                let mut buffer = DecodeBuffer::new();
                let (result, n) = count(|| {
                    GrantProfile {
                        issuers: &parties[..],
                        audiences: &[AS_ISSUER],
                    }
                    .validate(&token, NOW, &mut store, &mut buffer)
                    .map(|_| ())
                });
                ("parties", n, result)
            },
        ] {
            let result = result.map_err(|e| match e {
                Error::ClaimMismatch { claim, problem } if claim.as_str() == "repository" => {
                    Some(problem)
                }
                _ => None,
            });
            assert_eq!(result, expected, "{what} ({lookup})");
            assert_eq!(n, 0, "{what} ({lookup})");
        }
    }
}

/// Peak heap (bytes held at once) while running `f`, and the bytes still held after it
/// (what its result owns).
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, u64, i64) {
    let mut out = None;
    let info = measure(|| out = Some(f()));
    (
        out.unwrap_or_else(|| panic!("measure did not run the closure")),
        info.bytes_max,
        info.bytes_current,
    )
}

#[test]
fn the_largest_key_and_token_allocate_nothing() {
    use rfc7523::limits::{MAX_RSA_BITS, MAX_SIGNATURE_LEN, MAX_TOKEN_LEN};

    // The largest accepted key: Wycheproof's 8192-bit key (no private half is published, so
    // the full-size token carries a wrong signature: the RSA work is the same, and a valid
    // 8192-bit signature over a Wycheproof message is measured below as well).
    let doc = rfc7523_conformance::load_json("wycheproof/rsa_signature_8192_sha256_test.json");
    let group = &doc["testGroups"][0];
    let pem = group["publicKeyPem"]
        .as_str()
        .unwrap_or_else(|| panic!("no publicKeyPem"));
    let (keys, load_peak, _) = peak_heap(|| KeySet::from_pem(pem));
    let keys = keys.unwrap_or_else(|e| panic!("{e}"));
    let key = RsaVerifyingKey::from_pem(pem).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(key.bits(), MAX_RSA_BITS);

    // The longest accepted token: exactly MAX_TOKEN_LEN bytes, a 1024-byte signature, a
    // claims set padded with an unknown claim.
    let header = Base64UrlUnpadded::encode_string(br#"{"alg":"RS256","typ":"JWT"}"#);
    let signature = Base64UrlUnpadded::encode_string(&[0x5a; MAX_SIGNATURE_LEN]);
    let token = (0..4)
        .map(|extra| {
            let fixed = format!(
                r#"{{"iss":"{ISSUER}","sub":"alice","aud":"{AS_ISSUER}","exp":{},"jti":"big","pad":""}}"#,
                NOW + 60
            );
            let target = MAX_TOKEN_LEN - header.len() - signature.len() - 2;
            let pad_len = (target * 3 / 4).saturating_sub(fixed.len()) + extra;
            let payload = fixed.replace(r#""pad":"""#, &format!(r#""pad":"{}""#, "p".repeat(pad_len)));
            format!(
                "{header}.{}.{signature}",
                Base64UrlUnpadded::encode_string(payload.as_bytes())
            )
        })
        .find(|t| t.len() == MAX_TOKEN_LEN)
        .unwrap_or_else(|| panic!("no padding gives a token of exactly MAX_TOKEN_LEN"));
    let mut buffer = DecodeBuffer::new();
    assert!(UnverifiedAssertion::parse(&token, &mut buffer).is_ok());

    let issuers = [Party::new(ISSUER, &keys)];
    let grant = grant_profile(&issuers);
    let mut store = MemoryReplayStore::<8>::new();
    let (result, validate_peak, left) =
        peak_heap(|| grant.validate(&token, NOW, &mut store, &mut buffer));
    assert_eq!(result.unwrap_err(), Error::InvalidSignature);
    assert_eq!(left, 0, "validate left heap allocated");

    // A valid 8192-bit signature (Wycheproof tcId 2), through the same RS256 check.
    let case = &group["tests"][1];
    assert_eq!(case["result"], "valid");
    let hex_of = |member: &str| {
        rfc7523_conformance::hex(
            case[member]
                .as_str()
                .unwrap_or_else(|| panic!("no {member}")),
        )
    };
    let (msg, sig) = (hex_of("msg"), hex_of("sig"));
    let (valid, valid_peak, left) = peak_heap(|| key.verify_rs256(&msg, &sig));
    assert!(valid);
    assert_eq!(left, 0, "verify left heap allocated");

    println!(
        "peak heap, 8192-bit key: KeySet::from_pem {load_peak} B; GrantProfile::validate of a \
         {}-byte token {validate_peak} B; verify_rs256 (valid) {valid_peak} B",
        token.len()
    );
    assert_eq!(
        (load_peak, validate_peak, valid_peak),
        (0, 0, 0),
        "8192-bit key: load, validate, verify"
    );
    // The signature is checked at that size too: one flipped bit is refused.
    let mut bad = sig.clone();
    bad[MAX_SIGNATURE_LEN / 2] ^= 1;
    assert!(!key.verify_rs256(&msg, &bad));
}

/// The PS256, ES256 and EdDSA primitives (`rfc7523::alg`, not yet wired into the JWS layer):
/// key import from SPKI DER and from a JWK, then verification of a valid and of a changed
/// message, with the first valid case of each Wycheproof file: zero allocations.
#[test]
fn alg_primitives_allocate_nothing() {
    use rfc7523::alg::eddsa::Ed25519VerifyingKey;
    use rfc7523::alg::es256::P256VerifyingKey;
    use rfc7523::alg::ps256;
    use rfc7523::RsaVerifyingKey;
    use rfc7523_conformance::{hex, json_array, json_str, load_json};

    // (group, the first valid test) of a Wycheproof file.
    let first_valid = |file: &str| {
        let doc = load_json(file);
        json_array(&doc["testGroups"], "testGroups")
            .iter()
            .find_map(|group| {
                let test = json_array(&group["tests"], "tests")
                    .iter()
                    .find(|t| t["result"] == "valid" && group.get("publicKeyJwk").is_some())?;
                Some((group.clone(), test.clone()))
            })
            .unwrap_or_else(|| panic!("{file}: no valid case with a JWK"))
    };
    let inputs = |file: &str| {
        let (group, test) = first_valid(file);
        let mut jwk = group["publicKeyJwk"].clone();
        // The RS256-only JWK reader refuses `"alg":"PS256"` until the wiring.
        jwk.as_object_mut().map(|o| o.remove("alg"));
        let der = hex(json_str(&group["publicKeyDer"], "publicKeyDer"));
        let msg = hex(json_str(&test["msg"], "msg"));
        let mut changed = msg.clone();
        changed.push(0);
        (
            der,
            jwk.to_string(),
            msg,
            changed,
            hex(json_str(&test["sig"], "sig")),
        )
    };

    let (der, jwk, msg, changed, sig) = inputs("wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json");
    let (ok, n) = count(|| {
        let a = RsaVerifyingKey::from_spki_der(&der).ok()?;
        let b = RsaVerifyingKey::from_jwk(&jwk).ok()?;
        Some(ps256::verify_message(&a, &msg, &sig) && !ps256::verify_message(&b, &changed, &sig))
    });
    assert_eq!((ok, n), (Some(true), 0), "PS256");

    let (der, jwk, msg, changed, sig) = inputs("wycheproof/ecdsa_secp256r1_sha256_p1363_test.json");
    let (ok, n) = count(|| {
        let a = P256VerifyingKey::from_spki_der(&der).ok()?;
        let b = P256VerifyingKey::from_jwk(&jwk).ok()?;
        Some(a.verify_message(&msg, &sig) && !b.verify_message(&changed, &sig))
    });
    assert_eq!((ok, n), (Some(true), 0), "ES256");

    let (der, jwk, msg, changed, sig) = inputs("wycheproof/ed25519_test.json");
    let (ok, n) = count(|| {
        let a = Ed25519VerifyingKey::from_spki_der(&der).ok()?;
        let b = Ed25519VerifyingKey::from_jwk(&jwk).ok()?;
        Some(a.verify_message(&msg, &sig) && !b.verify_message(&changed, &sig))
    });
    assert_eq!((ok, n), (Some(true), 0), "EdDSA");
}

/// Every algorithm, end to end: key loading (SPKI PEM made by `openssl`, in place), then a
/// whole grant validation of a token our signer made with that key: zero allocations for each.
#[test]
fn every_algorithm_loads_and_validates_without_the_heap() {
    use rfc7523::Algorithm;
    let dir = rfc7523_conformance::TempDir::new("rfc7523-allocations-algorithms");
    let mut rows = Vec::new();
    for alg in Algorithm::ALL {
        let (private, public) = rfc7523_conformance::openssl_key_pair(&dir, alg, &alg.to_string());
        let private = std::fs::read_to_string(&private).unwrap_or_else(|e| panic!("{e}"));
        let signer = AssertionSigner::from_pem(&private)
            .and_then(|s| s.with_algorithm(alg))
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        let token = signer
            .sign(
                &AssertionRequest {
                    issuer: ISSUER,
                    subject: "alice@example.com",
                    audience: TOKEN_ENDPOINT,
                    ..AssertionRequest::default()
                },
                NOW,
            )
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        let mut keys = KeySet::new();
        let (loaded, load_allocs) = count(|| keys.load_text(&public));
        loaded.unwrap_or_else(|e| panic!("{alg}: {e}"));
        // The key serves this algorithm: for PS256 the party allows PS256 alone.
        let policy = Policy {
            algorithms: match alg {
                Algorithm::Ps256 => rfc7523::Algorithms::only(alg),
                _ => rfc7523::Algorithms::ALL,
            },
            ..Policy::default()
        };
        let issuers = [Party::new(ISSUER, &keys).with_policy(policy)];
        let grant = grant_profile(&issuers);
        let mut store = MemoryReplayStore::<8>::new();
        let mut buffer = DecodeBuffer::new();
        let (validated, validate_allocs) =
            count(|| grant.validate(&token, NOW, &mut store, &mut buffer));
        let validated = validated.unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(validated.header().alg(), alg.as_str());
        rows.push((alg, load_allocs, validate_allocs));
    }
    println!("allocations (key load, grant validation) per algorithm: {rows:?}");
    for (alg, load, validate) in rows {
        assert_eq!((load, validate), (0, 0), "{alg}");
    }
}
