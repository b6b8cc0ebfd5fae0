//! Key import: JWK Set, JWK, PEM (SPKI and PKCS#1) and DER, all from the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc7523::limits::{MAX_JWKS_KEYS, MAX_RSA_BITS, MIN_RSA_BITS};
use rfc7523::{KeyLookup, KeySet, Registry, RsaVerifyingKey};

fn check_key(key: &RsaVerifyingKey, full_rsa: bool) {
    assert!(
        (MIN_RSA_BITS..=MAX_RSA_BITS).contains(&key.bits()),
        "{}",
        key.bits()
    );
    assert_eq!(key.modulus_len(), key.bits().div_ceil(8));
    // A signature of the wrong length is refused before any arithmetic.
    let signature = vec![0x01u8; key.modulus_len()];
    assert!(!key.verify_rs256(b"fuzz", &signature[1..]));
    // RSAVP1 with the fuzzed modulus and exponent (up to 8192 bits and 2^33 - 1: costly, so
    // only for inputs whose length is a multiple of 8). It cannot verify.
    if full_rsa {
        assert!(!key.verify_rs256(b"fuzz", &signature));
    }
}

fn check_set(set: &KeySet, full_rsa: bool) {
    assert!(!set.is_empty() && set.len() <= MAX_JWKS_KEYS);
    for key in set.iter() {
        check_key(key, full_rsa);
    }
    // Key selection never yields a key with another kid.
    for key in set.candidates(Some("k1")) {
        assert!(key.kid().is_none() || key.kid() == Some("k1"));
    }
}

fuzz_target!(|data: &[u8]| {
    let full_rsa = data.len() % 8 == 0;
    for key in [
        RsaVerifyingKey::from_spki_der(data),
        RsaVerifyingKey::from_pkcs1_der(data),
    ]
    .into_iter()
    .flatten()
    {
        check_key(&key, full_rsa);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for key in [
        RsaVerifyingKey::from_jwk(text),
        RsaVerifyingKey::from_pem(text),
    ]
    .into_iter()
    .flatten()
    {
        check_key(&key, full_rsa);
    }
    for result in [KeySet::from_text(text), KeySet::from_jwks(text)] {
        match result {
            Ok(set) => check_set(&set, full_rsa),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    check_registry(text);
});

/// The registry loader on the same text: a refusal names its place; a loaded registry has
/// parties with keys, found by their own ids, and no public key shared between two parties.
fn check_registry(text: &str) {
    match Registry::from_json(text) {
        Err(e) => assert!(e.to_string().starts_with(e.at()) && !e.at().is_empty()),
        Ok(registry) => {
            let parties = [registry.clients(), registry.issuers()];
            for list in parties {
                for party in list.iter() {
                    assert!(!party.keys().is_empty());
                    let found = list.party(party.id()).expect("a party finds itself");
                    assert_eq!(found.id, party.id());
                }
            }
            // (party number, key): a party may list its own key twice, no two parties one.
            let keys: Vec<(usize, &RsaVerifyingKey)> = parties
                .iter()
                .flat_map(|list| list.iter())
                .enumerate()
                .flat_map(|(n, p)| p.keys().iter().map(move |k| (n, k)))
                .collect();
            for (i, (a, ka)) in keys.iter().enumerate() {
                for (b, kb) in keys.iter().skip(i + 1) {
                    assert!(
                        a == b || !ka.same_public_key(kb),
                        "parties {a} and {b} share a key"
                    );
                }
            }
        }
    }
}
