// They use every key type.
#![cfg(all(feature = "es256", feature = "eddsa"))]

use super::*;
use crate::alg::Algorithms;

const RFC7515_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
// RFC 7515 Appendix A.3.1.
const EC_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const EC_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
// RFC 8037 Appendix A.2.
const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

fn rsa(extra: &str) -> String {
    format!(r#"{{"kty":"RSA","n":"{RFC7515_N}","e":"AQAB"{extra}}}"#)
}
fn ec(extra: &str) -> String {
    format!(r#"{{"kty":"EC","crv":"P-256","x":"{EC_X}","y":"{EC_Y}"{extra}}}"#)
}
fn okp(extra: &str) -> String {
    format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}"{extra}}}"#)
}
fn set_of(jwks: &[String]) -> String {
    format!(r#"{{"keys":[{}]}}"#, jwks.join(","))
}
fn first(set: &KeySet) -> KeyRef<'_> {
    set.keys().iter().next().unwrap()
}

#[test]
fn reads_each_key_type_from_a_jwk() {
    let key = VerifyingKey::from_jwk(&rsa(r#","kid":"k1","alg":"RS256","use":"sig""#)).unwrap();
    let KeyMaterial::Rsa(material) = key.material() else {
        panic!("not RSA")
    };
    assert_eq!(material.bits(), 2048);
    assert_eq!(key.kid(), Some("k1"));
    assert_eq!(key.algorithm(), Some(Algorithm::Rs256));
    for (text, key_type) in [
        (rsa(""), KeyType::Rsa),
        (ec(""), KeyType::P256),
        (okp(""), KeyType::Ed25519),
    ] {
        let key = VerifyingKey::from_jwk(&text).unwrap();
        assert_eq!(key.material().key_type(), key_type, "{text}");
        let set = KeySet::from_jwk(&text).unwrap();
        assert_eq!(first(&set).material().key_type(), key_type);
    }
}

#[test]
fn refuses_unusable_single_jwks() {
    use KeyError::*;
    for (text, err) in [
        (rsa(r#","alg":"RS512""#), UnsupportedAlgorithm),
        (
            rsa(r#","alg":"ES256""#),
            AlgorithmMismatch {
                alg: Algorithm::Es256,
                key_type: KeyType::Rsa,
            },
        ),
        (
            ec(r#","alg":"RS256""#),
            AlgorithmMismatch {
                alg: Algorithm::Rs256,
                key_type: KeyType::P256,
            },
        ),
        (
            okp(r#","alg":"ES256""#),
            AlgorithmMismatch {
                alg: Algorithm::Es256,
                key_type: KeyType::Ed25519,
            },
        ),
        (rsa(r#","alg":7"#), InvalidMember("alg")),
        (rsa(r#","use":"enc""#), NotForSignatures("use")),
        (ec(r#","key_ops":["encrypt"]"#), NotForSignatures("key_ops")),
        (rsa(r#","d":"AQAB""#), PrivateKeyMaterial),
        (ec(r#","d":"AQAB""#), PrivateKeyMaterial),
        (okp(r#","d":"AQAB""#), PrivateKeyMaterial),
        (rsa(r#","kid":7"#), InvalidMember("kid")),
        (ec("").replace("P-256", "P-384"), UnsupportedCurve),
        (okp("").replace("Ed25519", "Ed448"), UnsupportedCurve),
        (okp("").replace("Ed25519", "X25519"), UnsupportedCurve),
        (r#"{"kty":"oct","k":"AA"}"#.to_owned(), PrivateKeyMaterial),
        (r#"{"kty":"oct"}"#.to_owned(), UnsupportedKeyType),
        (ec("").replace(EC_X, &EC_X[..40]), InvalidMember("x")),
        (ec("").replace(&EC_X[40..], "AAA"), InvalidPoint),
        (rsa(r#","x5t#S256":"AAAA""#), InvalidMember("x5t#S256")),
        (rsa(r#","x5c":"AAAA""#), InvalidMember("x5c")),
        (rsa(r#","x5c":[]"#), InvalidMember("x5c")),
        (rsa(r#","x5c":["AA*A"]"#), InvalidMember("x5c")),
    ] {
        assert_eq!(VerifyingKey::from_jwk(&text), Err(err), "{text}");
    }
}

#[test]
fn spki_and_pem_of_every_key_type() {
    // The RFC 8410 §10.1 Ed25519 public key and an RSA key, as PEM.
    let ed_pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    let key = VerifyingKey::from_pem(ed_pem).unwrap();
    assert_eq!(key.material().key_type(), KeyType::Ed25519);
    assert!(key.algorithm().is_none());
    for (label, err) in [
        ("PRIVATE KEY", KeyError::PrivateKeyMaterial),
        ("EC PRIVATE KEY", KeyError::PrivateKeyMaterial),
        ("CERTIFICATE", KeyError::UnsupportedPemLabel),
    ] {
        let pem = ed_pem.replace("PUBLIC KEY", label);
        assert_eq!(VerifyingKey::from_pem(&pem), Err(err), "{label}");
    }
    // An SPKI of another algorithm (id-X25519, RFC 8410 §3).
    let x25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    assert_eq!(
        VerifyingKey::from_pem(x25519),
        Err(KeyError::UnsupportedKeyType)
    );
}

/// One algorithm per key: every algorithm against every key type, with and without a JWK
/// `alg`, under every single-algorithm allow-list and the default one.
#[test]
fn one_algorithm_per_key_table() {
    use Algorithm::*;
    let keys = [
        (rsa(""), KeyType::Rsa, None),
        (rsa(r#","alg":"RS256""#), KeyType::Rsa, Some(Rs256)),
        (rsa(r#","alg":"PS256""#), KeyType::Rsa, Some(Ps256)),
        (ec(""), KeyType::P256, None),
        (ec(r#","alg":"ES256""#), KeyType::P256, Some(Es256)),
        (okp(""), KeyType::Ed25519, None),
        (okp(r#","alg":"EdDSA""#), KeyType::Ed25519, Some(EdDsa)),
        (okp(r#","alg":"Ed25519""#), KeyType::Ed25519, Some(Ed25519)),
    ];
    let mut policies = vec![Algorithms::ALL];
    policies.extend(Algorithm::ALL.iter().map(|&a| Algorithms::only(a)));
    policies.push(Algorithms::only(Rs256).with(Ps256));
    for (text, key_type, pinned) in &keys {
        let set = KeySet::from_jwk(text).unwrap();
        let key = first(&set);
        for &allowed in &policies {
            for alg in Algorithm::ALL {
                let expected = alg.key_type() == *key_type
                    && allowed.contains(alg)
                    && match pinned {
                        Some(p) => *p == alg,
                        None => match key_type {
                            KeyType::Ed25519 => true,
                            _ => match allowed.only_one_of(*key_type) {
                                Some(one) => one == alg,
                                None => alg == key_type.default_algorithm(),
                            },
                        },
                    };
                assert_eq!(
                    key.serves_algorithm(alg, allowed),
                    expected,
                    "{text} {alg} {allowed:?}"
                );
            }
        }
    }
    // The rules spelled out: an RSA key without alg is RS256 unless the party allows PS256
    // alone; a key whose JWK says RS256 never verifies PS256; an RSA key never ES256.
    let plain = KeySet::from_jwk(&rsa("")).unwrap();
    let plain = first(&plain);
    assert!(plain.serves_algorithm(Rs256, Algorithms::ALL));
    assert!(!plain.serves_algorithm(Ps256, Algorithms::ALL));
    assert!(plain.serves_algorithm(Ps256, Algorithms::only(Ps256)));
    assert!(!plain.serves_algorithm(Es256, Algorithms::ALL));
    let pinned = KeySet::from_jwk(&rsa(r#","alg":"RS256""#)).unwrap();
    assert!(!first(&pinned).serves_algorithm(Ps256, Algorithms::only(Ps256)));
}

#[test]
fn kid_and_thumbprint_selection() {
    let s256 = [7u8; 32];
    let sha1 = [9u8; 20];
    let b64 = |b: &[u8]| {
        use base64ct::{Base64UrlUnpadded, Encoding};
        Base64UrlUnpadded::encode_string(b)
    };
    let in_set = KeySet::from_jwks(&set_of(&[rsa("")])).unwrap();
    let lone_jwk = KeySet::from_jwk(&rsa("")).unwrap();
    let lone_named = KeySet::from_jwk(&rsa(r#","kid":"k""#)).unwrap();
    let thumbprinted = KeySet::from_jwks(&set_of(&[rsa(&format!(
        r#","x5t#S256":"{}","x5t":"{}""#,
        b64(&s256),
        b64(&sha1)
    ))]))
    .unwrap();
    let hint = |kid: Option<&'static str>, t256: bool, t1: bool| KeyHint {
        kid,
        x5t_s256: t256.then_some(&s256),
        x5t: t1.then_some(&sha1),
    };
    let other256 = [8u8; 32];
    // (key, hint, selected)
    for (set, hint, selected) in [
        (&in_set, hint(None, false, false), true),
        (&in_set, hint(Some("k"), false, false), false),
        (&in_set, hint(None, true, false), false),
        (&lone_jwk, hint(None, false, false), true),
        (&lone_jwk, hint(Some("anything"), false, false), true),
        (&lone_jwk, hint(None, true, true), true),
        (&lone_named, hint(Some("k"), false, false), true),
        (&lone_named, hint(Some("other"), false, false), false),
        (&lone_named, hint(None, false, false), true),
        (&thumbprinted, hint(None, true, false), true),
        (&thumbprinted, hint(None, false, true), true),
        (
            &thumbprinted,
            hint(Some("hex-thumbprint"), false, true),
            true,
        ),
        (
            &thumbprinted,
            hint(Some("hex-thumbprint"), false, false),
            false,
        ),
        (
            &thumbprinted,
            KeyHint {
                kid: None,
                x5t_s256: Some(&other256),
                x5t: None,
            },
            false,
        ),
    ] {
        assert_eq!(first(set).selected_by(&hint), selected, "{hint:?}");
    }
}

#[test]
fn x5c_gives_the_thumbprint_and_must_agree_with_x5t_s256() {
    use sha2::{Digest, Sha256};
    // Any DER bytes: the certificate is not parsed, only hashed (standard base64, padded).
    let der = b"\x30\x03\x02\x01\x01 not really a certificate";
    let b64 = {
        use base64ct::{Base64, Encoding};
        Base64::encode_string(der)
    };
    let digest: [u8; 32] = Sha256::digest(der).into();
    let key = VerifyingKey::from_jwk(&rsa(&format!(r#","x5c":["{b64}","ignored"]"#))).unwrap();
    assert_eq!(key.x5t_s256(), Some(&digest));
    // JSON escapes of `/` are read as `/`.
    let escaped = b64.replace('/', "\\/");
    let key = VerifyingKey::from_jwk(&rsa(&format!(r#","x5c":["{escaped}"]"#))).unwrap();
    assert_eq!(key.x5t_s256(), Some(&digest));
    let other = {
        use base64ct::{Base64UrlUnpadded, Encoding};
        Base64UrlUnpadded::encode_string(&[1u8; 32])
    };
    assert_eq!(
        VerifyingKey::from_jwk(&rsa(&format!(r#","x5c":["{b64}"],"x5t#S256":"{other}""#))),
        Err(KeyError::InvalidMember("x5t#S256"))
    );
}

#[test]
fn jwks_skips_foreign_keys_and_keeps_the_rest() {
    let set = KeySet::from_jwks(&set_of(&[
        ec("").replace("P-256", "P-521"),
        rsa(r#","kid":"a""#),
        rsa(r#","kid":"enc","use":"enc""#),
        rsa(r#","alg":"RS384""#),
        r#"{"kty":"oct","kid":"sym"}"#.to_owned(),
        ec(r#","kid":"e""#),
        okp(r#","kid":"o""#),
        rsa(""),
    ]))
    .unwrap();
    assert_eq!(set.len(), 4);
    let kids: Vec<Option<&str>> = set.iter().map(|k| k.kid()).collect();
    assert_eq!(kids, [Some("a"), Some("e"), Some("o"), None]);
    assert_eq!(
        KeySet::from_jwks(r#"{"keys":[]}"#),
        Err(KeyError::NoUsableKeys)
    );
    assert_eq!(
        KeySet::from_jwks(r#"{"kty":"RSA"}"#),
        Err(KeyError::MissingMember("keys"))
    );
    // An unsafe key of a supported type fails the whole set.
    assert_eq!(
        KeySet::from_jwks(&set_of(&[rsa(""), ec("").replace(&EC_X[40..], "AAA")])),
        Err(KeyError::InvalidPoint)
    );
}

#[test]
fn jwks_key_count_limit() {
    let list = |n: usize| set_of(&vec![okp(""); n]);
    assert_eq!(
        KeySet::from_jwks(&list(MAX_JWKS_KEYS)).unwrap().len(),
        MAX_JWKS_KEYS
    );
    assert_eq!(
        KeySet::from_jwks(&list(MAX_JWKS_KEYS + 1)),
        Err(KeyError::TooManyKeys)
    );
}

#[test]
fn key_text_limit() {
    let mut big = rsa("");
    big.insert_str(1, &format!(r#""pad":"{}","#, "x".repeat(MAX_KEY_TEXT_LEN)));
    assert_eq!(KeySet::from_text(&big), Err(KeyError::TooLarge));
}

#[test]
fn non_canonical_base64_members_are_refused() {
    let padded = format!(r#"{{"kty":"RSA","n":"{RFC7515_N}","e":"AQAB="}}"#);
    assert_eq!(
        VerifyingKey::from_jwk(&padded),
        Err(KeyError::InvalidMember("e"))
    );
}

/// Issue 18: a key takes what it needs. A 2048-bit RSA key in at most 600 bytes, a P-256 or
/// Ed25519 key in at most 100, each with a short `kid`; and the storage bound is exact.
#[test]
fn storage_is_sized_to_the_key() {
    let cases = [
        (rsa(r#","kid":"2024-01""#), 600),
        (ec(r#","kid":"2024-01""#), 100),
        (okp(r#","kid":"2024-01""#), 100),
    ];
    for (text, budget) in &cases {
        let set = KeyStore::<1024>::from_jwk(text).unwrap();
        let used = set.bytes_used();
        assert!(used <= *budget, "{used} bytes for {text}");
    }
    let sizes: Vec<usize> = cases
        .iter()
        .map(|(text, _)| KeyStore::<1024>::from_jwk(text).unwrap().bytes_used())
        .collect();
    // Head 6, kid 7, then n and R² mod n with e and n0 (16 + 512), x || y (64), or 32 bytes.
    assert_eq!(sizes, [541, 77, 45]);
    // The byte boundary of a const-sized set, with the 2048-bit key without a kid.
    let key = VerifyingKey::from_jwk(&rsa("")).unwrap();
    let used = KeyStore::<1024>::from_key(&key).unwrap().bytes_used();
    assert_eq!(used, 6 + 16 + 2 * 256);
    assert!(KeyStore::<534>::from_key(&key).is_ok());
    assert_eq!(
        KeyStore::<533>::from_key(&key),
        Err(KeyError::StorageFull {
            needed: 534,
            left: 533
        })
    );
    // Three small keys fit where one RSA key would not.
    let mut small = KeyStore::<256>::new();
    for text in [ec(""), okp(""), ec(r#","kid":"x""#)] {
        small.push(&VerifyingKey::from_jwk(&text).unwrap()).unwrap();
    }
    assert_eq!(small.len(), 3);
    assert_eq!(
        small.push(&key),
        Err(KeyError::StorageFull {
            needed: 534,
            left: 256 - small.bytes_used()
        })
    );
    // The default set holds MAX_JWKS_KEYS of the largest records.
    assert_eq!(DEFAULT_KEY_SET_BYTES, MAX_JWKS_KEYS * MAX_KEY_RECORD_LEN);
}

#[test]
fn loading_is_all_or_nothing_and_round_trips() {
    let mut set = KeyStore::<4096>::new();
    set.load_text(&rsa(r#","kid":"first""#)).unwrap();
    let before = set.clone();
    // The second key of this set is broken: nothing of it stays.
    let broken = set_of(&[
        ec(r#","kid":"e""#),
        r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#.to_owned(),
    ]);
    assert_eq!(
        set.load_text(&broken),
        Err(KeyError::ModulusTooSmall { bits: 17 })
    );
    assert_eq!(set, before);
    set.load_text(&set_of(&[ec(r#","kid":"e""#), okp(r#","alg":"Ed25519""#)]))
        .unwrap();
    assert_eq!(set.len(), 3);
    // What is read back is what was loaded.
    let original: Vec<VerifyingKey> = [
        rsa(r#","kid":"first""#),
        ec(r#","kid":"e""#),
        okp(r#","alg":"Ed25519""#),
    ]
    .iter()
    .map(|t| VerifyingKey::from_jwk(t).unwrap())
    .collect();
    for (stored, key) in set.iter().zip(&original) {
        assert_eq!(stored.kid(), key.kid());
        assert_eq!(stored.pinned_algorithm(), key.algorithm());
        match (stored.material(), key.material()) {
            (MaterialRef::Rsa(a), KeyMaterial::Rsa(b)) => assert_eq!(a, b.as_key()),
            (MaterialRef::P256(a), KeyMaterial::P256(b)) => {
                let (x, y) = b.coordinates();
                assert_eq!(&a[..32], x);
                assert_eq!(&a[32..], y);
            }
            (MaterialRef::Ed25519(a), KeyMaterial::Ed25519(b)) => assert_eq!(*a, b.to_bytes()),
            other => panic!("{other:?}"),
        }
    }
    set.clear();
    assert!(set.is_empty() && set.keys().iter().next().is_none());
}
