//! Key import: JWK Set, JWK, PEM (SPKI and PKCS#1) and DER of every key type (RSA, P-256,
//! Ed25519), and X.509 certificates (DER, PEM `CERTIFICATE`, Google's X.509 map, a JWK's
//! `x5c`), all from the same bytes, owned and loaded in place into a small `KeyStore`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc7523::limits::{MAX_CERTIFICATE_LEN, MAX_JWKS_KEYS, MAX_RSA_BITS, MIN_RSA_BITS};
use rfc7523::{
    Algorithm, Algorithms, KeyHint, KeyLookup, KeyMaterial, KeyRef, KeySet, KeyStore, MaterialRef,
    Registry, RsaVerifyingKey, VerifyingKey,
};

fn check_rsa(key: &RsaVerifyingKey, full_rsa: bool) {
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

fn check_key(key: &VerifyingKey, full_rsa: bool) {
    if let KeyMaterial::Rsa(rsa) = key.material() {
        check_rsa(rsa, full_rsa);
    }
    // A key serves at most the algorithms of its type, and the algorithm its JWK names.
    let key_type = key.material().key_type();
    if let Some(alg) = key.algorithm() {
        assert_eq!(alg.key_type(), key_type);
    }
    // Stored and read back: the same key.
    if let Ok(stored) = KeySet::from_key(key) {
        let read = stored.iter().next().expect("a stored key reads back");
        assert_eq!(read.kid(), key.kid());
        assert_eq!(read.pinned_algorithm(), key.algorithm());
        assert_eq!(read.validity(), key.validity());
        assert_eq!(read.x5t_s256(), key.x5t_s256());
        assert_eq!(read.material().key_type(), key_type);
        if let (MaterialRef::Rsa(a), KeyMaterial::Rsa(b)) = (read.material(), key.material()) {
            assert_eq!(a, b.as_key());
        }
    }
}

fn check_stored(key: KeyRef<'_>) {
    for alg in Algorithm::ALL {
        if key.serves_algorithm(alg, Algorithms::ALL) {
            assert_eq!(alg.key_type(), key.material().key_type());
            if let Some(pinned) = key.pinned_algorithm() {
                assert_eq!(pinned, alg);
            }
        }
    }
    if let MaterialRef::Rsa(rsa) = key.material() {
        assert!((MIN_RSA_BITS..=MAX_RSA_BITS).contains(&rsa.bits()));
    }
}

fn check_set<const N: usize>(set: &KeyStore<N>) {
    assert!(!set.is_empty() && set.len() <= MAX_JWKS_KEYS);
    assert!(set.bytes_used() <= N);
    for key in set.iter() {
        check_stored(key);
    }
    // Key selection never yields a key with another kid (unless it serves any).
    let hint = KeyHint {
        kid: Some("k1"),
        ..KeyHint::default()
    };
    for key in set.iter().filter(|k| k.selected_by(&hint)) {
        assert!(key.kid().is_none() || key.kid() == Some("k1"));
    }
}

fuzz_target!(|data: &[u8]| {
    let full_rsa = data.len() % 8 == 0;
    // A certificate: only a DER of at most the limit can be one.
    if let Ok(key) = VerifyingKey::from_certificate_der(data) {
        assert!(data.len() <= MAX_CERTIFICATE_LEN);
        assert!(key.validity().is_some() && key.kid().is_none());
    }
    for key in [
        VerifyingKey::from_spki_der(data),
        RsaVerifyingKey::from_pkcs1_der(data).map(|k| VerifyingKey::new(KeyMaterial::Rsa(k))),
    ]
    .into_iter()
    .flatten()
    {
        check_key(&key, full_rsa);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for key in [VerifyingKey::from_jwk(text), VerifyingKey::from_pem(text)]
        .into_iter()
        .flatten()
    {
        check_key(&key, full_rsa);
    }
    for result in [KeySet::from_text(text), KeySet::from_jwks(text)] {
        match result {
            Ok(set) => check_set(&set),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    // In place into a small store: all or nothing, never past its bytes.
    let mut small = KeyStore::<1024>::new();
    match small.load_text(text) {
        Ok(()) => check_set(&small),
        Err(_) => assert!(small.is_empty() && small.bytes_used() == 0),
    }
    // As an X.509 map: every key has its member's name as kid and its certificate's
    // validity; a refusal leaves the store as it was, and names a member or none.
    let mut map = KeySet::new();
    match map.load_x509_map(text) {
        Ok(()) => {
            check_set(&map);
            for key in map.iter() {
                assert!(key.kid().is_some() && key.validity().is_some() && !key.serves_any_kid());
            }
        }
        Err(e) => {
            assert!(map.is_empty() && map.bytes_used() == 0);
            let text = e.to_string();
            assert!(text.ends_with(&e.error.to_string()));
            if e.kid.is_some() {
                assert!(text.starts_with("X.509 map member \""));
                assert!(!text.chars().any(char::is_control));
            }
        }
    }
    // The detailed loader agrees with the plain one.
    let mut detailed = KeySet::new();
    let mut plain = KeySet::new();
    assert_eq!(
        detailed.load_text_detailed(text).map_err(|e| e.error),
        plain.load_text(text)
    );
    assert_eq!(detailed, plain);
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
            let keys: Vec<(usize, MaterialRef<'_>)> = parties
                .iter()
                .flat_map(|list| list.iter())
                .enumerate()
                .flat_map(|(n, p)| p.keys().iter().map(move |k| (n, k.material())))
                .collect();
            for (i, (a, ka)) in keys.iter().enumerate() {
                for (b, kb) in keys.iter().skip(i + 1) {
                    let same = match (ka, kb) {
                        (MaterialRef::Rsa(x), MaterialRef::Rsa(y)) => {
                            x.modulus() == y.modulus() && x.exponent() == y.exponent()
                        }
                        (x, y) => x == y,
                    };
                    assert!(a == b || !same, "parties {a} and {b} share a key");
                }
            }
        }
    }
}
