//! Every Wycheproof RSASSA-PKCS1-v1_5 SHA-256 verify case (2048, 3072, 4096 and 8192 bits) through
//! the core compiled for wasm32, under Node (wasm-bindgen-test, a step of `cargo xtask test`).
//! On wasm32 the RSA step runs the radix-2^27 representation of `rfc7523-rsavp1`, which native
//! test runs only reach through unit tests: this runs it on the real vectors, where it ships.
#![cfg(target_arch = "wasm32")]
// Test helpers outside `#[test]` functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use js_sys::{Array, Reflect, JSON};
use rfc7523::RsaVerifyingKey;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn get(value: &JsValue, name: &str) -> JsValue {
    Reflect::get(value, &name.into()).unwrap()
}

fn hex(value: &JsValue) -> Vec<u8> {
    let text = value.as_string().unwrap();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs one file: (cases, cases whose verdict differs from Wycheproof's `valid`).
fn run(text: &str) -> (usize, Vec<String>) {
    let doc = JSON::parse(text).unwrap();
    let mut count = 0;
    let mut wrong = Vec::new();
    for group in Array::from(&get(&doc, "testGroups")).iter() {
        let key = RsaVerifyingKey::from_spki_der(&hex(&get(&group, "publicKeyDer"))).unwrap();
        for test in Array::from(&get(&group, "tests")).iter() {
            count += 1;
            // "acceptable" (a DigestInfo without NULL) is refused by design, like "invalid".
            let expected = get(&test, "result").as_string().unwrap() == "valid";
            let verified = key.verify_rs256(&hex(&get(&test, "msg")), &hex(&get(&test, "sig")));
            if verified != expected {
                wrong.push(format!("tcId {:?}", get(&test, "tcId").as_f64()));
            }
        }
    }
    (count, wrong)
}

#[wasm_bindgen_test]
fn wycheproof_rsa_pkcs1_sha256_verify_on_wasm32() {
    for (name, text, expected_count) in [
        (
            "2048",
            include_str!("../../../tests/vectors/wycheproof/rsa_signature_2048_sha256_test.json"),
            259,
        ),
        (
            "3072",
            include_str!("../../../tests/vectors/wycheproof/rsa_signature_3072_sha256_test.json"),
            259,
        ),
        (
            "4096",
            include_str!("../../../tests/vectors/wycheproof/rsa_signature_4096_sha256_test.json"),
            258,
        ),
        (
            "8192",
            include_str!("../../../tests/vectors/wycheproof/rsa_signature_8192_sha256_test.json"),
            258,
        ),
    ] {
        let (count, wrong) = run(text);
        assert_eq!(count, expected_count, "{name}: cases run");
        assert!(wrong.is_empty(), "{name}: wrong verdicts: {wrong:?}");
    }
}
