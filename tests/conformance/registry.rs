//! Loading the registry document: each refusal at its boundary, with the field and party it
//! names, and the limits (`MAX_REGISTRY_LEN`, `MAX_REGISTRY_PARTIES`, `MAX_LIFETIME_SETTING`,
//! `MAX_LEEWAY_SETTING`, the id length) at the limit and one past it.

use rfc7523::limits::MAX_URL_LEN;
use rfc7523::limits::{
    MAX_CLAIM_STRING_LEN, MAX_LEEWAY_SETTING, MAX_LIFETIME_SETTING, MAX_REGISTRY_LEN,
    MAX_REGISTRY_PARTIES,
};
use rfc7523::registry::{KeyLocation, PartyKind, RegistryProblem as P};
use rfc7523::remote_keys::{UrlError, WellKnown};
use rfc7523::{KeyError, KeySource};
use rfc7523::{KeyLookup, Registry, Subjects, TypRule};
use rfc7523_conformance::{b64url, distinct_2048_key_pairs, public_jwk};
use serde_json::{json, Value};

/// Three public JWKs of distinct keys, plus the cookbook key's.
fn jwks() -> Vec<Value> {
    distinct_2048_key_pairs(3)
        .iter()
        .enumerate()
        .map(|(i, (_, public))| {
            serde_json::from_str(&public_jwk(public, &format!("k{i}")))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

fn base() -> Value {
    let k = jwks();
    json!({
        "issuer": "https://as.example",
        "token_endpoint": "https://as.example/token",
        "clients": [
            { "client_id": "client-a", "token_endpoint_auth_method": "private_key_jwt",
              "jwks": { "keys": [k[0]] } },
            { "client_id": "client-b", "token_endpoint_auth_method": "private_key_jwt",
              "jwks": { "keys": [k[1]] }, "require_typ": true, "max_lifetime": 300,
              "leeway": 5, "max_age": 600, "require_iat": true, "require_jti": false,
              "token_endpoint_auth_signing_alg": "RS256",
              "compat": ["token_endpoint_audience"] }
        ],
        "issuers": [
            { "issuer": "https://idp.example", "jwks": { "keys": [k[2]] },
              "subjects": ["alice", "batch-7"], "compat": ["missing_sub"] }
        ]
    })
}

/// `base()` with `edit` applied.
fn with(edit: impl FnOnce(&mut Value)) -> String {
    let mut doc = base();
    edit(&mut doc);
    doc.to_string()
}

/// `base()` with client-a's `jwks` replaced by `jwks_uri`.
fn remote_client(jwks_uri: Value) -> String {
    with(|d| {
        if let Some(o) = d["clients"][0].as_object_mut() {
            o.remove("jwks");
        }
        d["clients"][0]["jwks_uri"] = jwks_uri;
    })
}

/// `base()` with the issuer `id` found by `discovery` in place of its `jwks`.
fn discovering_issuer(id: &str, discovery: Value) -> String {
    with(|d| {
        if let Some(o) = d["issuers"][0].as_object_mut() {
            o.remove("jwks");
        }
        d["issuers"][0]["issuer"] = json!(id);
        d["issuers"][0]["discovery"] = discovery;
    })
}

/// An https URL of exactly `len` bytes.
fn long_url(len: usize) -> String {
    let head = "https://keys.example/";
    format!("{head}{}", "k".repeat(len - head.len()))
}

fn load(text: &str) -> Result<Registry, (String, P, String)> {
    Registry::from_json(text).map_err(|e| (e.at().to_owned(), e.problem().clone(), e.to_string()))
}

#[test]
fn the_base_document_loads_with_each_party_policy() {
    let registry = load(&base().to_string()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(registry.issuer(), "https://as.example");
    assert_eq!(registry.token_endpoint(), Some("https://as.example/token"));
    assert_eq!((registry.clients().len(), registry.issuers().len()), (2, 1));
    let a = registry
        .clients()
        .party("client-a")
        .unwrap_or_else(|| panic!("a"));
    let b = registry
        .clients()
        .party("client-b")
        .unwrap_or_else(|| panic!("b"));
    // Defaults for a: the safe ones.
    assert_eq!(a.policy.checks, rfc7523::Checks::default());
    assert_eq!(a.policy.typ, TypRule::NotAnotherType);
    // b's own settings.
    assert_eq!(b.policy.typ, TypRule::RequireExplicit);
    assert_eq!(b.policy.checks.max_lifetime, Some(300));
    assert_eq!(b.policy.checks.leeway, 5);
    assert_eq!(b.policy.checks.max_age, Some(600));
    assert!(b.policy.checks.require_iat && !b.policy.checks.require_jti);
    // Compatibility relaxations: none by default; b's and the issuer's own.
    assert_eq!(a.policy.compat, rfc7523::Compat::default());
    assert!(b.policy.compat.token_endpoint_audience && !b.policy.compat.missing_sub);
    let idp = registry
        .issuers()
        .party("https://idp.example")
        .unwrap_or_else(|| panic!("idp"));
    assert!(matches!(idp.policy.subjects, Subjects::OneOfOwned(_)));
    assert!(idp.policy.subjects.allows("batch-7") && !idp.policy.subjects.allows("admin"));
    assert!(idp.policy.compat.missing_sub && !idp.policy.compat.token_endpoint_audience);
    // Ids are exact: no party for a near miss, and clients and issuers are apart.
    for id in ["Client-a", "client-a ", "https://idp.example/"] {
        assert!(registry.clients().party(id).is_none(), "{id}");
    }
    assert!(registry.issuers().party("client-a").is_none());
    assert!(registry.clients().party("https://idp.example").is_none());
}

#[test]
fn refusals_name_the_field_and_the_party() {
    let k = jwks();
    let shared = k[0].clone();
    let mut small = k[0].clone();
    // A 1024-bit modulus.
    small["n"] = Value::String(b64url(&{
        let mut n = vec![0xc5u8; 128];
        n[127] |= 1;
        n
    }));
    let mut private = k[0].clone();
    private["d"] = Value::String("AQAB".into());
    let long_id = "c".repeat(MAX_CLAIM_STRING_LEN + 1);
    let a = r#"clients[0] "client-a""#;
    let idp = r#"issuers[0] "https://idp.example""#;
    // (what, document, at, problem)
    let cases: Vec<(&str, String, String, P)> = vec![
        ("not JSON", "{".into(), "registry".into(), P::NotJson),
        (
            "duplicate member names",
            r#"{"issuer":"a","issuer":"b"}"#.into(),
            "registry".into(),
            P::NotJson,
        ),
        ("not an object", "[]".into(), "registry".into(), P::NotJson),
        (
            "unknown top-level field",
            with(|d| d["issuers_"] = json!([])),
            "registry".into(),
            P::UnknownField("issuers_".into()),
        ),
        (
            "unknown client field (a typo)",
            with(|d| d["clients"][0]["require_jit"] = json!(true)),
            a.into(),
            P::UnknownField("require_jit".into()),
        ),
        (
            "a client's subjects (issuers only)",
            with(|d| d["clients"][0]["subjects"] = json!(["x"])),
            a.into(),
            P::UnknownField("subjects".into()),
        ),
        (
            "unknown issuer field",
            with(|d| d["issuers"][0]["subject"] = json!("alice")),
            idp.into(),
            P::UnknownField("subject".into()),
        ),
        (
            "an issuer's require_typ (clients only)",
            with(|d| d["issuers"][0]["require_typ"] = json!(true)),
            idp.into(),
            P::UnknownField("require_typ".into()),
        ),
        (
            "issuer missing",
            with(|d| {
                if let Some(o) = d.as_object_mut() {
                    o.remove("issuer");
                }
            }),
            "issuer".into(),
            P::Missing,
        ),
        (
            "issuer empty",
            with(|d| d["issuer"] = json!("")),
            "issuer".into(),
            P::Empty,
        ),
        (
            "issuer not a string",
            with(|d| d["issuer"] = json!(7)),
            "issuer".into(),
            P::WrongType("a string"),
        ),
        (
            "clients not an array",
            with(|d| d["clients"] = json!({})),
            "clients".into(),
            P::WrongType("an array of objects"),
        ),
        (
            "a client not an object",
            with(|d| d["clients"][1] = json!("client-c")),
            "clients[1]".into(),
            P::WrongType("an object"),
        ),
        (
            "no parties",
            r#"{"issuer":"https://as.example"}"#.into(),
            "registry".into(),
            P::NoParties,
        ),
        (
            "client_id missing",
            with(|d| {
                d["clients"][0]
                    .as_object_mut()
                    .map(|o| o.remove("client_id"));
            }),
            "clients[0].client_id".into(),
            P::Missing,
        ),
        (
            "client_id too long",
            with(|d| d["clients"][0]["client_id"] = json!(long_id)),
            "clients[0].client_id".into(),
            P::TooLong {
                max: MAX_CLAIM_STRING_LEN,
            },
        ),
        (
            "duplicate client_id",
            with(|d| d["clients"][1]["client_id"] = json!("client-a")),
            r#"clients[1] "client-a".client_id"#.into(),
            P::Duplicate {
                first: "clients[0]".into(),
            },
        ),
        (
            "duplicate issuer",
            with(|d| {
                let mut second = d["issuers"][0].clone();
                second["jwks"] = json!({"keys": [k[1]]});
                if let Some(l) = d["issuers"].as_array_mut() {
                    l.push(second);
                }
            }),
            r#"issuers[1] "https://idp.example".issuer"#.into(),
            P::Duplicate {
                first: "issuers[0]".into(),
            },
        ),
        (
            "no keys",
            with(|d| {
                if let Some(o) = d["clients"][0].as_object_mut() {
                    o.remove("jwks");
                }
            }),
            format!("{a}.jwks"),
            P::NoKeys,
        ),
        (
            "an empty key set",
            with(|d| d["clients"][0]["jwks"] = json!({"keys": []})),
            format!("{a}.jwks"),
            P::Key(KeyError::NoUsableKeys),
        ),
        (
            "jwks not a JWK Set",
            with(|d| d["clients"][0]["jwks"] = json!([k[0]])),
            format!("{a}.jwks"),
            P::WrongType("a JWK Set object ({\"keys\": [...]})"),
        ),
        (
            "jwks_uri over http to another host",
            remote_client(json!("http://c.example/jwks")),
            format!("{a}.jwks_uri"),
            P::Url(UrlError::HttpNotLoopback),
        ),
        (
            "jwks_uri with a fragment",
            remote_client(json!("https://c.example/jwks#k")),
            format!("{a}.jwks_uri"),
            P::Url(UrlError::Fragment),
        ),
        (
            "jwks_uri with userinfo",
            remote_client(json!("https://c.example@evil.example/jwks")),
            format!("{a}.jwks_uri"),
            P::Url(UrlError::Userinfo),
        ),
        (
            "jwks_uri one byte over MAX_URL_LEN",
            remote_client(json!(long_url(MAX_URL_LEN + 1))),
            format!("{a}.jwks_uri"),
            P::Url(UrlError::TooLong {
                len: MAX_URL_LEN + 1,
            }),
        ),
        (
            "jwks_uri empty",
            remote_client(json!("")),
            format!("{a}.jwks_uri"),
            P::Empty,
        ),
        (
            "jwks_uri not a string",
            remote_client(json!({"url": "https://c.example/jwks"})),
            format!("{a}.jwks_uri"),
            P::WrongType("a string"),
        ),
        (
            "one jwks_uri for a client and an issuer",
            with(|d| {
                for array in ["clients", "issuers"] {
                    let party = &mut d[array][0];
                    if let Some(o) = party.as_object_mut() {
                        o.remove("jwks");
                    }
                    party["jwks_uri"] = json!("https://keys.example/jwks");
                }
            }),
            format!("{idp}.jwks_uri"),
            P::SharedJwksUri { other: a.into() },
        ),
        (
            "a client's discovery (issuers only)",
            with(|d| d["clients"][0]["discovery"] = json!("openid-configuration")),
            a.into(),
            P::UnknownField("discovery".into()),
        ),
        (
            "discovery true",
            discovering_issuer("https://idp.example", json!(true)),
            format!("{idp}.discovery"),
            P::UnsupportedDiscovery,
        ),
        (
            "discovery of an unknown document",
            discovering_issuer("https://idp.example", json!("openid")),
            format!("{idp}.discovery"),
            P::UnsupportedDiscovery,
        ),
        (
            "discovery beside jwks",
            with(|d| d["issuers"][0]["discovery"] = json!("openid-configuration")),
            format!("{idp}.discovery"),
            P::DiscoveryWithKeys,
        ),
        (
            "discovery beside jwks_uri",
            with(|d| {
                if let Some(o) = d["issuers"][0].as_object_mut() {
                    o.remove("jwks");
                }
                d["issuers"][0]["jwks_uri"] = json!("https://idp.example/jwks");
                d["issuers"][0]["discovery"] = json!("openid-configuration");
            }),
            format!("{idp}.discovery"),
            P::DiscoveryWithKeys,
        ),
        (
            "discovery for an issuer that is not a URL",
            discovering_issuer("idp", json!("openid-configuration")),
            r#"issuers[0] "idp".discovery"#.into(),
            P::DiscoveryIssuer(UrlError::UnsupportedScheme),
        ),
        (
            "discovery for an issuer with a query",
            discovering_issuer(
                "https://idp.example/?tenant=1",
                json!("openid-configuration"),
            ),
            r#"issuers[0] "https://idp.example/?tenant=1".discovery"#.into(),
            P::DiscoveryIssuer(UrlError::Query),
        ),
        (
            "discovery for an http issuer on another host",
            discovering_issuer("http://idp.example", json!("oauth-authorization-server")),
            r#"issuers[0] "http://idp.example".discovery"#.into(),
            P::DiscoveryIssuer(UrlError::HttpNotLoopback),
        ),
        (
            "jwks and jwks_uri",
            with(|d| d["clients"][0]["jwks_uri"] = json!("https://c.example/jwks")),
            format!("{a}.jwks"),
            P::JwksAndJwksUri,
        ),
        (
            "a key under 2048 bits",
            with(|d| d["clients"][0]["jwks"] = json!({"keys": [small]})),
            format!("{a}.jwks"),
            P::Key(KeyError::ModulusTooSmall { bits: 1024 }),
        ),
        (
            "private key material",
            with(|d| d["clients"][0]["jwks"] = json!({"keys": [private]})),
            format!("{a}.jwks"),
            P::Key(KeyError::PrivateKeyMaterial),
        ),
        (
            "one key for two clients",
            with(|d| d["clients"][1]["jwks"] = json!({"keys": [shared]})),
            r#"clients[1] "client-b".jwks"#.into(),
            P::SharedKey { other: a.into() },
        ),
        (
            "one key for a client and an issuer",
            with(|d| d["issuers"][0]["jwks"] = json!({"keys": [k[0]]})),
            format!("{idp}.jwks"),
            P::SharedKey { other: a.into() },
        ),
        (
            "one key twice under two kids",
            with(|d| {
                let mut again = k[1].clone();
                again["kid"] = json!("other");
                d["clients"][0]["jwks"] = json!({"keys": [k[0], again]});
            }),
            r#"clients[1] "client-b".jwks"#.into(),
            P::SharedKey { other: a.into() },
        ),
        (
            "token_endpoint_auth_method missing (RFC 7591 default client_secret_basic)",
            with(|d| {
                d["clients"][0]
                    .as_object_mut()
                    .map(|o| o.remove("token_endpoint_auth_method"));
            }),
            format!("{a}.token_endpoint_auth_method"),
            P::UnsupportedAuthMethod,
        ),
        (
            "token_endpoint_auth_method client_secret_basic",
            with(|d| d["clients"][0]["token_endpoint_auth_method"] = json!("client_secret_basic")),
            format!("{a}.token_endpoint_auth_method"),
            P::UnsupportedAuthMethod,
        ),
        (
            "signing alg HS256",
            with(|d| d["clients"][0]["token_endpoint_auth_signing_alg"] = json!("HS256")),
            format!("{a}.token_endpoint_auth_signing_alg"),
            P::UnsupportedAlgorithm,
        ),
        (
            "signing alg ES256 for an RSA key",
            with(|d| d["clients"][0]["token_endpoint_auth_signing_alg"] = json!("ES256")),
            format!("{a}.jwks"),
            P::KeyNotForAlgorithm {
                index: 0,
                alg: rfc7523::Algorithm::Es256,
            },
        ),
        (
            "signing alg rs256 (case-sensitive)",
            with(|d| d["issuers"][0]["token_endpoint_auth_signing_alg"] = json!("rs256")),
            format!("{idp}.token_endpoint_auth_signing_alg"),
            P::UnsupportedAlgorithm,
        ),
        (
            "max_lifetime 0",
            with(|d| d["clients"][0]["max_lifetime"] = json!(0)),
            format!("{a}.max_lifetime"),
            P::OutOfRange {
                min: 1,
                max: MAX_LIFETIME_SETTING,
            },
        ),
        (
            "max_lifetime one past the limit",
            with(|d| d["clients"][0]["max_lifetime"] = json!(MAX_LIFETIME_SETTING + 1)),
            format!("{a}.max_lifetime"),
            P::OutOfRange {
                min: 1,
                max: MAX_LIFETIME_SETTING,
            },
        ),
        (
            "max_lifetime as a string",
            with(|d| d["clients"][0]["max_lifetime"] = json!("300")),
            format!("{a}.max_lifetime"),
            P::OutOfRange {
                min: 1,
                max: MAX_LIFETIME_SETTING,
            },
        ),
        (
            "max_lifetime with a fraction",
            with(|d| d["clients"][0]["max_lifetime"] = json!(300.5)),
            format!("{a}.max_lifetime"),
            P::OutOfRange {
                min: 1,
                max: MAX_LIFETIME_SETTING,
            },
        ),
        (
            "max_lifetime negative",
            with(|d| d["clients"][0]["max_lifetime"] = json!(-1)),
            format!("{a}.max_lifetime"),
            P::OutOfRange {
                min: 1,
                max: MAX_LIFETIME_SETTING,
            },
        ),
        (
            "max_age one past the limit",
            with(|d| d["issuers"][0]["max_age"] = json!(MAX_LIFETIME_SETTING + 1)),
            format!("{idp}.max_age"),
            P::OutOfRange {
                min: 1,
                max: MAX_LIFETIME_SETTING,
            },
        ),
        (
            "leeway one past the limit",
            with(|d| d["issuers"][0]["leeway"] = json!(MAX_LEEWAY_SETTING + 1)),
            format!("{idp}.leeway"),
            P::OutOfRange {
                min: 0,
                max: MAX_LEEWAY_SETTING,
            },
        ),
        (
            "require_jti as a string",
            with(|d| d["clients"][0]["require_jti"] = json!("false")),
            format!("{a}.require_jti"),
            P::WrongType("true or false"),
        ),
        (
            "subjects empty",
            with(|d| d["issuers"][0]["subjects"] = json!([])),
            format!("{idp}.subjects"),
            P::Empty,
        ),
        (
            "subjects repeated",
            with(|d| d["issuers"][0]["subjects"] = json!(["alice", "alice"])),
            format!("{idp}.subjects"),
            P::DuplicateValue,
        ),
        (
            "subjects a string",
            with(|d| d["issuers"][0]["subjects"] = json!("alice")),
            format!("{idp}.subjects"),
            P::WrongType("an array of strings"),
        ),
        (
            "subjects with a number",
            with(|d| d["issuers"][0]["subjects"] = json!(["alice", 7])),
            format!("{idp}.subjects"),
            P::WrongType("an array of strings"),
        ),
        (
            "subjects with an empty string",
            with(|d| d["issuers"][0]["subjects"] = json!([""])),
            format!("{idp}.subjects"),
            P::Empty,
        ),
        (
            "a client's unknown compat value",
            with(|d| d["clients"][0]["compat"] = json!(["lenient_audience"])),
            format!("{a}.compat"),
            P::UnknownCompat {
                value: "lenient_audience".into(),
                accepted: rfc7523::registry::CLIENT_COMPAT,
            },
        ),
        (
            "missing_sub on a client (issuers only)",
            with(|d| d["clients"][0]["compat"] = json!(["missing_sub"])),
            format!("{a}.compat"),
            P::UnknownCompat {
                value: "missing_sub".into(),
                accepted: rfc7523::registry::CLIENT_COMPAT,
            },
        ),
        (
            "token_endpoint_audience on an issuer (clients only)",
            with(|d| d["issuers"][0]["compat"] = json!(["token_endpoint_audience"])),
            format!("{idp}.compat"),
            P::UnknownCompat {
                value: "token_endpoint_audience".into(),
                accepted: rfc7523::registry::ISSUER_COMPAT,
            },
        ),
        (
            "missing_jti as a compat value (it is require_jti: false)",
            with(|d| d["issuers"][0]["compat"] = json!(["missing_jti"])),
            format!("{idp}.compat"),
            P::UnknownCompat {
                value: "missing_jti".into(),
                accepted: rfc7523::registry::ISSUER_COMPAT,
            },
        ),
        (
            "token_endpoint_audience without the document's token_endpoint",
            with(|d| {
                d.as_object_mut().map(|o| o.remove("token_endpoint"));
                d["clients"][0]["compat"] = json!(["token_endpoint_audience"]);
            }),
            format!("{a}.compat"),
            P::CompatNeedsTokenEndpoint,
        ),
        (
            "compat twice the same",
            with(|d| d["issuers"][0]["compat"] = json!(["missing_sub", "missing_sub"])),
            format!("{idp}.compat"),
            P::DuplicateValue,
        ),
        (
            "compat empty",
            with(|d| d["issuers"][0]["compat"] = json!([])),
            format!("{idp}.compat"),
            P::Empty,
        ),
        (
            "compat not an array",
            with(|d| d["issuers"][0]["compat"] = json!("missing_sub")),
            format!("{idp}.compat"),
            P::WrongType("an array of strings"),
        ),
    ];
    let mut failures = Vec::new();
    for (what, text, at, problem) in &cases {
        match load(text) {
            Ok(_) => failures.push(format!("{what}: loaded")),
            Err((got_at, got_problem, message)) => {
                if (&got_at, &got_problem) != (at, problem) {
                    failures.push(format!(
                        "{what}: expected {at} / {problem:?}, got {got_at} / {got_problem:?}"
                    ));
                }
                // The message names the place (the party) and says what is wrong.
                if !message.starts_with(&format!("{at}: ")) || message.len() <= at.len() + 2 {
                    failures.push(format!("{what}: message {message:?}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} refusals wrong:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

#[test]
fn limits_at_the_boundary() {
    let ok = |what: &str, text: String| {
        if let Err(e) = load(&text) {
            panic!("{what}: {e:?}");
        }
    };
    ok(
        "max_lifetime 1",
        with(|d| d["clients"][0]["max_lifetime"] = json!(1)),
    );
    ok(
        "max_lifetime at the limit",
        with(|d| d["clients"][0]["max_lifetime"] = json!(MAX_LIFETIME_SETTING)),
    );
    ok(
        "max_age at the limit",
        with(|d| d["issuers"][0]["max_age"] = json!(MAX_LIFETIME_SETTING)),
    );
    ok("leeway 0", with(|d| d["issuers"][0]["leeway"] = json!(0)));
    ok(
        "leeway at the limit",
        with(|d| d["issuers"][0]["leeway"] = json!(MAX_LEEWAY_SETTING)),
    );
    ok(
        "client_id at the length limit",
        with(|d| d["clients"][0]["client_id"] = json!("c".repeat(MAX_CLAIM_STRING_LEN))),
    );
    ok(
        "a client and an issuer with the same id (two namespaces)",
        with(|d| d["issuers"][0]["issuer"] = json!("client-a")),
    );
    ok(
        "only clients",
        with(|d| {
            if let Some(o) = d.as_object_mut() {
                o.remove("issuers");
            }
        }),
    );
    ok(
        "only issuers",
        with(|d| {
            if let Some(o) = d.as_object_mut() {
                o.remove("clients");
            }
        }),
    );
    ok(
        "escapes decoded",
        with(|d| d["clients"][0]["client_id"] = json!("caf\u{e9}")),
    );

    // The document length: padded with white space to exactly the limit, then one more byte.
    let text = base().to_string();
    let at_limit = format!("{text}{}", " ".repeat(MAX_REGISTRY_LEN - text.len()));
    assert_eq!(at_limit.len(), MAX_REGISTRY_LEN);
    ok("document at MAX_REGISTRY_LEN", at_limit.clone());
    assert_eq!(
        load(&format!("{at_limit} ")).map(|_| ()),
        Err((
            "registry".into(),
            P::TooLarge,
            format!("registry: the registry is longer than {MAX_REGISTRY_LEN} bytes")
        ))
    );
}

/// Remote key sets load: `jwks_uri` for a client and an issuer (up to `MAX_URL_LEN`, loopback
/// `http` allowed), `discovery` for an issuer with both documents at their RFC places; the
/// registry lists them, with no keys until a layer installs some.
#[test]
fn remote_parties_load_and_are_listed() {
    let at_limit = long_url(MAX_URL_LEN);
    let text = with(|d| {
        if let Some(o) = d["clients"][0].as_object_mut() {
            o.remove("jwks");
        }
        d["clients"][0]["jwks_uri"] = json!(at_limit);
        if let Some(o) = d["clients"][1].as_object_mut() {
            o.remove("jwks");
        }
        d["clients"][1]["jwks_uri"] = json!("http://127.0.0.1:8080/jwks?client=b");
        if let Some(o) = d["issuers"][0].as_object_mut() {
            o.remove("jwks");
        }
        d["issuers"][0]["issuer"] = json!("https://idp.example/tenant/");
        d["issuers"][0]["discovery"] = json!("openid-configuration");
        let mut second = d["issuers"][0].clone();
        second["issuer"] = json!("https://idp.example/tenant-2");
        second["discovery"] = json!("oauth-authorization-server");
        if let Some(l) = d["issuers"].as_array_mut() {
            l.push(second);
        }
    });
    let registry = load(&text).unwrap_or_else(|e| panic!("{e:?}"));
    let listed: Vec<(PartyKind, &str, KeyLocation)> = registry
        .remote_parties()
        .map(|p| (p.kind(), p.id(), p.location().clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (
                PartyKind::Client,
                "client-a",
                KeyLocation::JwksUri(long_url(MAX_URL_LEN))
            ),
            (
                PartyKind::Client,
                "client-b",
                KeyLocation::JwksUri("http://127.0.0.1:8080/jwks?client=b".into())
            ),
            (
                PartyKind::Issuer,
                "https://idp.example/tenant/",
                KeyLocation::Discovery {
                    well_known: WellKnown::OpenIdConfiguration,
                    url: "https://idp.example/tenant/.well-known/openid-configuration".into()
                }
            ),
            (
                PartyKind::Issuer,
                "https://idp.example/tenant-2",
                KeyLocation::Discovery {
                    well_known: WellKnown::OAuthAuthorizationServer,
                    url: "https://idp.example/.well-known/oauth-authorization-server/tenant-2"
                        .into()
                }
            ),
        ]
    );
    for party in registry.remote_parties() {
        assert!(party.fetched().is_none());
        let lookup = registry.parties(party.kind());
        let core = lookup
            .party(party.id())
            .unwrap_or_else(|| panic!("{}", party.id()));
        assert!(core.keys.is_empty());
        assert_eq!(core.key_source, KeySource::Fetched { usable_until: None });
    }
    assert!(registry
        .remote_party(PartyKind::Issuer, "client-a")
        .is_none());
    // An inline party is not remote, and its keys are configured.
    let inline = load(&base().to_string()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(inline.remote_parties().count(), 0);
    let a = inline
        .clients()
        .party("client-a")
        .unwrap_or_else(|| panic!("a"));
    assert_eq!(a.key_source, KeySource::Configured);
}

/// A registry of `n` clients, each with its own synthetic 2048-bit key (any odd modulus with
/// the top bit set passes the key checks: no primality test is made on public keys).
fn many_clients(n: usize) -> String {
    let clients: Vec<Value> = (0..n)
        .map(|i| {
            let mut modulus = vec![0u8; 256];
            modulus[0] = 0xc0;
            modulus[248..].copy_from_slice(&((i as u64) * 2 + 1).to_be_bytes());
            json!({
                "client_id": format!("client-{i}"),
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": { "keys": [ { "kty": "RSA", "n": b64url(&modulus), "e": "AQAB" } ] },
            })
        })
        .collect();
    json!({ "issuer": "https://as.example", "clients": clients }).to_string()
}

#[test]
fn party_count_at_the_boundary() {
    let registry = load(&many_clients(MAX_REGISTRY_PARTIES)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(registry.clients().len(), MAX_REGISTRY_PARTIES);
    let last = format!("client-{}", MAX_REGISTRY_PARTIES - 1);
    assert!(registry.clients().party(&last).is_some());
    let over = load(&many_clients(MAX_REGISTRY_PARTIES + 1)).map(|_| ());
    assert_eq!(
        over.map_err(|(at, p, _)| (at, p)),
        Err(("registry".into(), P::TooManyParties))
    );
}

/// `registry.schema.json` and the loader agree: the same fields at every level, no other
/// field allowed, the same limits and required fields.
#[test]
fn the_json_schema_matches_the_loader() {
    use rfc7523::registry::{CLIENT_FIELDS, ISSUER_FIELDS, TOP_LEVEL_FIELDS};
    let path = rfc7523_conformance::vectors_dir().join("../../registry.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("schema: {e}"));
    let names = |object: &Value| -> Vec<String> {
        let mut names: Vec<String> = object["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("properties"))
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    };
    let sorted = |list: &[&str]| -> Vec<String> {
        let mut list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        list.sort();
        list
    };
    let defs = &schema["$defs"];
    for (what, object, fields) in [
        ("document", &schema, TOP_LEVEL_FIELDS),
        ("client", &defs["client"], CLIENT_FIELDS),
        ("issuer", &defs["issuer"], ISSUER_FIELDS),
    ] {
        assert_eq!(names(object), sorted(fields), "{what} fields");
        assert_eq!(object["additionalProperties"], json!(false), "{what}");
    }
    assert_eq!(schema["required"], json!(["issuer"]));
    assert_eq!(
        defs["client"]["required"],
        json!(["client_id", "token_endpoint_auth_method"])
    );
    assert_eq!(defs["issuer"]["required"], json!(["issuer"]));
    let limit = |def: &str, bound: &str| defs[def][bound].as_u64();
    assert_eq!(limit("max_lifetime", "maximum"), Some(MAX_LIFETIME_SETTING));
    assert_eq!(limit("max_age", "maximum"), Some(MAX_LIFETIME_SETTING));
    assert_eq!(limit("leeway", "maximum"), Some(MAX_LEEWAY_SETTING));
    assert_eq!(limit("id", "maxLength"), Some(MAX_CLAIM_STRING_LEN as u64));
    assert_eq!(
        defs["signing_alg"]["enum"],
        json!(rfc7523::registry::SUPPORTED_SIGNING_ALGS)
    );
    for (kind, accepted) in [
        ("client", rfc7523::registry::CLIENT_COMPAT),
        ("issuer", rfc7523::registry::ISSUER_COMPAT),
    ] {
        assert_eq!(
            defs[kind]["properties"]["compat"]["items"]["enum"],
            json!(accepted),
            "{kind} compat"
        );
    }
    assert_eq!(
        defs["client"]["properties"]["token_endpoint_auth_method"]["const"],
        json!(rfc7523::registry::PRIVATE_KEY_JWT)
    );
    assert_eq!(
        defs["discovery"]["enum"],
        json!(rfc7523::registry::DISCOVERY_VALUES)
    );
    assert_eq!(limit("jwks_uri", "maxLength"), Some(MAX_URL_LEN as u64));
    // Claim conditions: their count, names and values.
    use rfc7523::conditions::{GOVERNED_CLAIMS, MAX_CLAIM_CONDITIONS, MAX_CONDITION_NAME_LEN};
    let claims = &defs["claims"];
    assert_eq!(claims["maxProperties"], json!(MAX_CLAIM_CONDITIONS));
    assert_eq!(claims["minProperties"], json!(1));
    assert_eq!(
        claims["propertyNames"]["maxLength"],
        json!(MAX_CONDITION_NAME_LEN)
    );
    assert_eq!(
        claims["propertyNames"]["not"]["enum"],
        json!(GOVERNED_CLAIMS
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>())
    );
    assert_eq!(
        claims["additionalProperties"]["maxLength"],
        json!(MAX_CLAIM_STRING_LEN)
    );
    assert_eq!(
        defs["issuer"]["properties"]["claims"]["$ref"],
        json!("#/$defs/claims")
    );
    // Exactly one key source: a client has three, an issuer four.
    assert_eq!(
        defs["client"]["oneOf"],
        json!([{ "required": ["jwks"] }, { "required": ["jwks_uri"] }, { "required": ["x509"] }])
    );
    assert_eq!(
        defs["issuer"]["oneOf"],
        json!([
            { "required": ["jwks"] },
            { "required": ["jwks_uri"] },
            { "required": ["x509"] },
            { "required": ["discovery"] }
        ])
    );
    // The X.509 map's bound is the loader's.
    assert_eq!(
        defs["x509"]["maxProperties"],
        json!(rfc7523::keys::MAX_X509_MAP_MEMBERS)
    );
}
