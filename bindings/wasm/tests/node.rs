//! The binding's exports called from Rust inside wasm, under Node (wasm-bindgen-test):
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test -p
//! rfc7523-wasm --target wasm32-unknown-unknown --features sign` (a step of `cargo xtask
//! test`; `required-features` skips it without `sign`). The tests sign and verify, so they
//! build one module with both features; the package ships them as two (`cargo xtask wasm`).
//! The npm package's own suite (`bindings/wasm/js/test`) covers the JavaScript side in depth.
#![cfg(target_arch = "wasm32")]
// Test helpers outside `#[test]` functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use js_sys::{Array, Date, Function, Object, Reflect, JSON};
use rfc7523_wasm::{error_class, sign_assertion, AssertionVerifier};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const AS: &str = "https://as.example";
const CLIENT: &str = "s6BhdRkqt3";
/// 2026-01-01T00:00:00Z.
const NOW: f64 = 1_767_225_600.0;

/// `(private PKCS#1 PEM, public SPKI PEM)` of a Wycheproof RSA-2048 key.
fn key() -> (String, String) {
    let text = include_str!("../../../tests/vectors/wycheproof/rsa_pkcs1_2048_sig_gen_test.json");
    let vectors = JSON::parse(text).unwrap();
    let group = Reflect::get(
        &Reflect::get(&vectors, &"testGroups".into()).unwrap(),
        &2.into(),
    )
    .unwrap();
    let get = |name: &str| {
        Reflect::get(&group, &name.into())
            .unwrap()
            .as_string()
            .unwrap()
    };
    (get("privateKeyPem"), get("keyPem"))
}

/// A JS object from `(name, value)` pairs.
fn object(members: &[(&str, JsValue)]) -> JsValue {
    let out = Object::new();
    for (name, value) in members {
        Reflect::set(&out, &(*name).into(), value).unwrap();
    }
    out.into()
}

fn at(seconds: f64) -> JsValue {
    object(&[("currentDate", Date::new(&(seconds * 1000.0).into()).into())])
}

fn get(value: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(value.clone(), |v, name| {
        Reflect::get(&v, &(*name).into()).unwrap()
    })
}

fn client_assertion(private_pem: &str, issued_at: f64) -> String {
    sign_assertion(
        object(&[
            ("privateKey", private_pem.into()),
            ("issuer", CLIENT.into()),
            ("subject", CLIENT.into()),
            ("audience", AS.into()),
            ("clientAuth", true.into()),
            ("lifetime", 60.into()),
            (
                "currentDate",
                Date::new(&(issued_at * 1000.0).into()).into(),
            ),
        ])
        .unchecked_into(),
    )
    .unwrap()
}

fn client_verifier(public_pem: &str, extra: &[(&str, JsValue)]) -> AssertionVerifier {
    let mut members = vec![
        ("keys", JsValue::from(public_pem)),
        ("clientId", CLIENT.into()),
        ("audience", AS.into()),
    ];
    members.extend(extra.iter().cloned());
    AssertionVerifier::new(object(&members).unchecked_into()).unwrap()
}

#[wasm_bindgen_test]
fn signs_and_verifies_a_client_assertion() {
    let (private_pem, public_pem) = key();
    let token = client_assertion(&private_pem, NOW);
    let mut verifier = client_verifier(&public_pem, &[("requireTyp", true.into())]);
    let result: JsValue = verifier
        .verify(&token, Some(at(NOW + 10.0).unchecked_into()))
        .unwrap()
        .into();
    assert_eq!(
        get(&result, &["claims", "sub"]).as_string().as_deref(),
        Some(CLIENT)
    );
    assert_eq!(get(&result, &["claims", "exp"]).as_f64(), Some(NOW + 60.0));
    assert_eq!(
        get(&result, &["header", "typ"]).as_string().as_deref(),
        Some("client-authentication+jwt")
    );
}

#[wasm_bindgen_test]
fn refusals_are_assertion_errors_with_jose_codes() {
    let (private_pem, public_pem) = key();
    let token = client_assertion(&private_pem, NOW);
    let mut verifier = client_verifier(&public_pem, &[]);
    let err = verifier
        .verify(&token, Some(at(NOW + 90.0).unchecked_into()))
        .map(|_| ())
        .unwrap_err();
    let class: Function = JsValue::from(error_class()).unchecked_into();
    assert!(err.is_instance_of::<js_sys::Error>());
    let prototype = Reflect::get(&class, &"prototype".into()).unwrap();
    assert!(Object::is(
        &Object::get_prototype_of(&err).into(),
        &prototype
    ));
    assert_eq!(
        get(&err, &["name"]).as_string().as_deref(),
        Some("AssertionError")
    );
    assert_eq!(
        get(&err, &["code"]).as_string().as_deref(),
        Some("ERR_JWT_EXPIRED")
    );
    assert_eq!(
        get(&err, &["reason"]).as_string().as_deref(),
        Some("expired")
    );
    assert_eq!(get(&err, &["claim"]).as_string().as_deref(), Some("exp"));
    assert_eq!(get(&err, &["status"]).as_f64(), Some(401.0));
    assert_eq!(
        get(&err, &["oauthError"]).as_string().as_deref(),
        Some("invalid_client")
    );
    let body = JSON::parse(&get(&err, &["body"]).as_string().unwrap()).unwrap();
    assert_eq!(
        get(&body, &["error"]).as_string().as_deref(),
        Some("invalid_client")
    );
}

#[wasm_bindgen_test]
fn the_default_store_refuses_a_replay() {
    let (private_pem, public_pem) = key();
    let token = client_assertion(&private_pem, NOW);
    let mut verifier = client_verifier(&public_pem, &[]);
    verifier
        .verify(&token, Some(at(NOW).unchecked_into()))
        .unwrap();
    let err = verifier
        .verify(&token, Some(at(NOW).unchecked_into()))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        get(&err, &["reason"]).as_string().as_deref(),
        Some("replayed")
    );
}

#[wasm_bindgen_test]
fn a_replay_hook_gets_the_key_and_expiry() {
    let (private_pem, public_pem) = key();
    let calls = Array::new();
    let hook = object(&[
        (
            "checkAndInsert",
            Function::new_with_args(
                "key, expiresAt",
                "this.calls.push([key, expiresAt]); return this.calls.length === 1;",
            )
            .into(),
        ),
        ("calls", calls.clone().into()),
    ]);
    let mut verifier = client_verifier(&public_pem, &[("replay", hook)]);
    let token = client_assertion(&private_pem, NOW);
    verifier
        .verify(&token, Some(at(NOW).unchecked_into()))
        .unwrap();
    let err = verifier
        .verify(&token, Some(at(NOW).unchecked_into()))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        get(&err, &["reason"]).as_string().as_deref(),
        Some("replayed")
    );
    assert_eq!(calls.length(), 2);
    let first: Array = calls.get(0).unchecked_into();
    assert_eq!(first.get(0).as_string().map(|key| key.len()), Some(43));
    assert_eq!(first.get(1).as_f64(), Some(NOW + 60.0 + 30.0));
}

#[wasm_bindgen_test]
fn external_mode_returns_the_record() {
    let (private_pem, public_pem) = key();
    let mut verifier = client_verifier(&public_pem, &[("replay", "external".into())]);
    let token = client_assertion(&private_pem, NOW);
    let result: JsValue = verifier
        .verify(&token, Some(at(NOW).unchecked_into()))
        .unwrap()
        .into();
    assert_eq!(
        get(&result, &["replay", "iss"]).as_string().as_deref(),
        Some(CLIENT)
    );
    assert_eq!(
        get(&result, &["replay", "expiresAt"]).as_f64(),
        Some(NOW + 90.0)
    );
    // Nothing stored: the same token passes again.
    assert!(verifier
        .verify(&token, Some(at(NOW).unchecked_into()))
        .is_ok());
}

#[wasm_bindgen_test]
fn token_request_with_client_authentication() {
    let (private_pem, public_pem) = key();
    let mut verifier = client_verifier(&public_pem, &[]);
    let token = client_assertion(&private_pem, NOW);
    let body = format!(
        "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={token}"
    );
    let result: JsValue = verifier
        .verify_token_request(&body, Some(at(NOW).unchecked_into()))
        .unwrap()
        .into();
    assert_eq!(
        get(&result, &["use"]).as_string().as_deref(),
        Some("client_authentication")
    );
    assert_eq!(
        get(&result, &["grantType"]).as_string().as_deref(),
        Some("client_credentials")
    );
    assert_eq!(
        get(&result, &["clientClaims", "sub"])
            .as_string()
            .as_deref(),
        Some(CLIENT)
    );
    let err = verifier
        .verify_token_request("grant_type=password", Some(at(NOW).unchecked_into()))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(get(&err, &["status"]).as_f64(), Some(400.0));
    assert_eq!(
        get(&err, &["reason"]).as_string().as_deref(),
        Some("unsupported_grant_type")
    );
}

#[wasm_bindgen_test]
fn bad_input_is_a_type_error() {
    let (_, public_pem) = key();
    let typo = object(&[
        ("keys", public_pem.as_str().into()),
        ("clientId", CLIENT.into()),
        ("audience", AS.into()),
        ("requireJTI", true.into()),
    ]);
    let err = AssertionVerifier::new(typo.unchecked_into())
        .map(|_| ())
        .unwrap_err();
    assert!(err.is_instance_of::<js_sys::TypeError>());
    let mut verifier = client_verifier(&public_pem, &[]);
    let bad_date = object(&[("currentDate", Date::new(&f64::NAN.into()).into())]);
    let err = verifier
        .verify("a.b.c", Some(bad_date.unchecked_into()))
        .map(|_| ())
        .unwrap_err();
    assert!(err.is_instance_of::<js_sys::TypeError>());
}

/// The public key of `key()` as a JWK (through Node's crypto), for a registry document.
fn public_jwk(public_pem: &str) -> JsValue {
    let export = Function::new_with_args(
        "pem",
        "return process.getBuiltinModule('node:crypto').createPublicKey(pem).export({ format: 'jwk' });",
    );
    export.call1(&JsValue::NULL, &public_pem.into()).unwrap()
}

#[wasm_bindgen_test]
fn a_registry_verifier_and_other_client_authentication() {
    let (private_pem, public_pem) = key();
    let client = object(&[
        ("client_id", CLIENT.into()),
        ("token_endpoint_auth_method", "private_key_jwt".into()),
        (
            "jwks",
            object(&[("keys", Array::of1(&public_jwk(&public_pem)).into())]),
        ),
    ]);
    let registry = object(&[
        ("issuer", AS.into()),
        ("clients", Array::of1(&client).into()),
    ]);
    let mut verifier =
        AssertionVerifier::new(object(&[("registry", registry.clone())]).unchecked_into()).unwrap();
    let token = client_assertion(&private_pem, NOW);
    let body = format!(
        "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={token}"
    );
    let result: JsValue = verifier
        .verify_token_request(&body, Some(at(NOW).unchecked_into()))
        .unwrap()
        .into();
    assert_eq!(
        get(&result, &["clientAuthentication"])
            .as_string()
            .as_deref(),
        Some("client_assertion")
    );
    assert_eq!(
        get(&result, &["clientClaims", "sub"])
            .as_string()
            .as_deref(),
        Some(CLIENT)
    );
    // A client secret: refused by default, the caller's to verify when it says so.
    let secret = "grant_type=client_credentials&client_id=s6BhdRkqt3&client_secret=x";
    let err = verifier
        .verify_token_request(secret, Some(at(NOW).unchecked_into()))
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        get(&err, &["reason"]).as_string().as_deref(),
        Some("unsupported_client_authentication")
    );
    assert_eq!(get(&err, &["status"]).as_f64(), Some(401.0));
    let mut by_caller = AssertionVerifier::new(
        object(&[
            ("registry", registry.clone()),
            ("otherClientAuthentication", "verified-by-caller".into()),
        ])
        .unchecked_into(),
    )
    .unwrap();
    let result: JsValue = by_caller
        .verify_token_request(secret, Some(at(NOW).unchecked_into()))
        .unwrap()
        .into();
    assert_eq!(
        get(&result, &["clientAuthentication"])
            .as_string()
            .as_deref(),
        Some("client_secret")
    );
    assert!(get(&result, &["claims"]).is_undefined());
    // Per-party options belong in the registry.
    let err = AssertionVerifier::new(
        object(&[("registry", registry), ("requireJti", false.into())]).unchecked_into(),
    )
    .map(|_| ())
    .unwrap_err();
    assert!(err.is_instance_of::<js_sys::TypeError>());
}
