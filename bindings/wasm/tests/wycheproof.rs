//! Every Wycheproof RSASSA-PKCS1-v1_5 SHA-256 verify case (2048, 3072, 4096 and 8192 bits) through
//! the core compiled for wasm32, under Node (wasm-bindgen-test, a step of `cargo xtask test`).
//! On wasm32 the RSA step runs the radix-2^27 representation of `rfc7523-rsavp1`, which native
//! test runs only reach through unit tests: this runs it on the real vectors, where it ships.
//! With `all-algorithms` (the main module's features), also every RSASSA-PSS (PS256: 2048, 3072,
//! 4096 bits), ECDSA P-256 P1363 (ES256) and Ed25519 case, as the npm package's main module
//! runs them. None of these files has an `acceptable` case (the count is checked against each
//! file's `numberOfTests`).
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
    run_with(text, |der, msg, sig| {
        RsaVerifyingKey::from_spki_der(der)
            .unwrap()
            .verify_rs256(msg, sig)
    })
}

/// [`run`] with `verify(publicKeyDer, msg, sig)`.
fn run_with(text: &str, verify: impl Fn(&[u8], &[u8], &[u8]) -> bool) -> (usize, Vec<String>) {
    let doc = JSON::parse(text).unwrap();
    let mut count = 0;
    let mut wrong = Vec::new();
    for group in Array::from(&get(&doc, "testGroups")).iter() {
        let der = hex(&get(&group, "publicKeyDer"));
        for test in Array::from(&get(&group, "tests")).iter() {
            count += 1;
            // "acceptable" (a DigestInfo without NULL) is refused by design, like "invalid".
            let expected = get(&test, "result").as_string().unwrap() == "valid";
            let verified = verify(&der, &hex(&get(&test, "msg")), &hex(&get(&test, "sig")));
            if verified != expected {
                wrong.push(format!("tcId {:?}", get(&test, "tcId").as_f64()));
            }
        }
    }
    (count, wrong)
}

/// PS256, ES256 and Ed25519: every case of each file, on wasm32.
#[cfg(feature = "all-algorithms")]
#[wasm_bindgen_test]
fn wycheproof_ps256_es256_ed25519_on_wasm32() {
    use rfc7523::alg::{eddsa::Ed25519VerifyingKey, es256::P256VerifyingKey, ps256};
    let pss = |der: &[u8], msg: &[u8], sig: &[u8]| {
        ps256::verify_message(&RsaVerifyingKey::from_spki_der(der).unwrap(), msg, sig)
    };
    let es256 = |der: &[u8], msg: &[u8], sig: &[u8]| {
        P256VerifyingKey::from_spki_der(der)
            .unwrap()
            .verify_message(msg, sig)
    };
    let ed25519 = |der: &[u8], msg: &[u8], sig: &[u8]| {
        // Keys Wycheproof uses that `verify_strict` refuses at load (small order) verify
        // nothing: every case with them is invalid.
        Ed25519VerifyingKey::from_spki_der(der).is_ok_and(|key| key.verify_message(msg, sig))
    };
    /// `verify(publicKeyDer, msg, sig)`.
    type Verify = dyn Fn(&[u8], &[u8], &[u8]) -> bool;
    let files: [(&str, &str, &Verify); 5] = [
        (
            "PS256 2048",
            include_str!("../../../tests/vectors/wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json"),
            &pss,
        ),
        (
            "PS256 3072",
            include_str!("../../../tests/vectors/wycheproof/rsa_pss_3072_sha256_mgf1_32_test.json"),
            &pss,
        ),
        (
            "PS256 4096",
            include_str!("../../../tests/vectors/wycheproof/rsa_pss_4096_sha256_mgf1_32_test.json"),
            &pss,
        ),
        (
            "ES256",
            include_str!(
                "../../../tests/vectors/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json"
            ),
            &es256,
        ),
        (
            "Ed25519",
            include_str!("../../../tests/vectors/wycheproof/ed25519_test.json"),
            &ed25519,
        ),
    ];
    for (name, text, verify) in files {
        let (count, wrong) = run_with(text, verify);
        let expected = get(&JSON::parse(text).unwrap(), "numberOfTests").as_f64();
        assert_eq!(Some(count as f64), expected, "{name}: cases run");
        assert!(wrong.is_empty(), "{name}: wrong verdicts: {wrong:?}");
    }
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
