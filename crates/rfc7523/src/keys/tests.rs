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
        ("X509 CRL", KeyError::UnsupportedPemLabel),
        #[cfg(feature = "x509")]
        ("CERTIFICATE", KeyError::InvalidCertificate),
        #[cfg(not(feature = "x509"))]
        ("CERTIFICATE", KeyError::CertificatesNotBuiltIn),
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

/// Without `x509`, `x5c[0]` is hashed, not parsed.
#[cfg(not(feature = "x509"))]
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

/// RFC 7517 Appendix B: an RSA JWK with its certificate in `x5c` (issued 2013-02-21
/// 23:29:15Z, valid until 2018-08-14 22:29:15Z), copied from the RFC.
const RFC7517_B_N: &str = "vrjOfz9Ccdgx5nQudyhdoR17V-IubWMeOZCwX_jj0hgAsz2J_pqYW08PLbK_PdiVGKPrqzmDIsLI7sA25VEnHU1uCLNwBuUiCO11_-7dYbsr4iJmG0Qu2j8DsVyT1azpJC_NG84Ty5KKthuCaPod7iI7w0LK9orSMhBEwwZDCxTWq4aYWAchc8t-emd9qOvWtVMDC2BXksRngh6X5bUYLy6AyHKvj-nUy1wgzjYQDwHMTplCoLtU-o-8SNnZ1tmRoGE9uJkBLdh5gFENabWnU5m1ZqZPdwS-qo-meMvVfJb6jJVWRpl2SUtCnYG2C32qvbWbjZ_jBPD5eunqsIo1vQ";
const RFC7517_B_X5C: &str = "MIIDQjCCAiqgAwIBAgIGATz/FuLiMA0GCSqGSIb3DQEBBQUAMGIxCzAJBgNVBAYTAlVTMQswCQYDVQQIEwJDTzEPMA0GA1UEBxMGRGVudmVyMRwwGgYDVQQKExNQaW5nIElkZW50aXR5IENvcnAuMRcwFQYDVQQDEw5CcmlhbiBDYW1wYmVsbDAeFw0xMzAyMjEyMzI5MTVaFw0xODA4MTQyMjI5MTVaMGIxCzAJBgNVBAYTAlVTMQswCQYDVQQIEwJDTzEPMA0GA1UEBxMGRGVudmVyMRwwGgYDVQQKExNQaW5nIElkZW50aXR5IENvcnAuMRcwFQYDVQQDEw5CcmlhbiBDYW1wYmVsbDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAL64zn8/QnHYMeZ0LncoXaEde1fiLm1jHjmQsF/449IYALM9if6amFtPDy2yvz3YlRij66s5gyLCyO7ANuVRJx1NbgizcAblIgjtdf/u3WG7K+IiZhtELto/A7Fck9Ws6SQvzRvOE8uSirYbgmj6He4iO8NCyvaK0jIQRMMGQwsU1quGmFgHIXPLfnpnfajr1rVTAwtgV5LEZ4Iel+W1GC8ugMhyr4/p1MtcIM42EA8BzE6ZQqC7VPqPvEjZ2dbZkaBhPbiZAS3YeYBRDWm1p1OZtWamT3cEvqqPpnjL1XyW+oyVVkaZdklLQp2Btgt9qr21m42f4wTw+Xrp6rCKNb0CAwEAATANBgkqhkiG9w0BAQUFAAOCAQEAh8zGlfSlcI0o3rYDPBB07aXNswb4ECNIKG0CETTUxmXl9KUL+9gGlqCz5iWLOgWsnrcKcY0vXPG9J1r9AqBNTqNgHq2G03X09266X5CpOe1zFo+Owb1zxtp3PehFdfQJ610CDLEaS9V9Rqp17hCyybEpOGVwe8fnk+fbEL2Bo3UPGrpsHzUoaGpDftmWssZkhpBJKVMJyf/RuP2SmmaIzmnw9JiSlYhzo4tpzd5rFXhjRbg4zW9C+2qok+2+qDM1iJ684gPHMIY8aLWrdgQTxkumGmTqgawR+N5MDtdPTEQ0XfIBc2cJEUyMTY5MPvACWpkA6SdS4xSvdXK3IVfOWA==";
/// Its validity, in Unix seconds (`openssl x509 -noout -dates` on it).
#[cfg_attr(not(feature = "x509"), allow(dead_code))]
const RFC7517_B_VALIDITY: Validity = Validity {
    not_before: 1_361_489_355,
    not_after: 1_534_285_755,
};

fn rfc7517_b(extra: &str) -> String {
    format!(
        r#"{{"kty":"RSA","use":"sig","kid":"1b94c","n":"{RFC7517_B_N}","e":"AQAB","x5c":["{RFC7517_B_X5C}"]{extra}}}"#
    )
}

#[cfg(feature = "x509")]
fn rfc7517_b_der() -> Vec<u8> {
    use base64ct::{Base64, Encoding};
    Base64::decode_vec(RFC7517_B_X5C).unwrap()
}

/// The certificate as PEM: 64 characters a line (RFC 7468 §2).
#[cfg(feature = "x509")]
fn rfc7517_b_pem() -> String {
    let body: Vec<&str> = RFC7517_B_X5C
        .as_bytes()
        .chunks(64)
        .map(|line| core::str::from_utf8(line).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        body.join("\n")
    )
}

/// A JSON string of `text` (its line breaks escaped, as Google's X.509 map has them).
#[cfg(feature = "x509")]
fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// RFC 7517 §4.7: the key of `x5c[0]` must be the JWK's; its thumbprint and validity are kept.
#[cfg(feature = "x509")]
#[test]
fn x5c_must_hold_the_jwks_key() {
    use sha2::{Digest, Sha256};
    let digest: [u8; 32] = Sha256::digest(rfc7517_b_der()).into();
    let key = VerifyingKey::from_jwk(&rfc7517_b("")).unwrap();
    assert_eq!(key.kid(), Some("1b94c"));
    assert_eq!(key.x5t_s256(), Some(&digest));
    assert_eq!(key.validity(), Some(RFC7517_B_VALIDITY));
    // Stored and read back, in a set: the same validity, in 16 more bytes.
    let set = KeySet::from_jwks(&set_of(&[rfc7517_b("")])).unwrap();
    assert_eq!(first(&set).validity(), Some(RFC7517_B_VALIDITY));
    assert_eq!(first(&set).x5t_s256(), Some(&digest));
    let without = KeySet::from_jwks(&set_of(&[
        rfc7517_b("").replace(&format!(r#","x5c":["{RFC7517_B_X5C}"]"#), "")
    ]))
    .unwrap();
    assert_eq!(first(&without).validity(), None);
    assert_eq!(set.bytes_used(), without.bytes_used() + 32 + 16);
    // `/` escaped in the JSON string: the same certificate.
    let escaped = rfc7517_b("").replace('/', "\\/");
    assert_eq!(VerifyingKey::from_jwk(&escaped).unwrap(), key);
    // A thumbprint member that agrees is kept; one that does not is refused.
    let b64u = {
        use base64ct::{Base64UrlUnpadded, Encoding};
        Base64UrlUnpadded::encode_string(&digest)
    };
    assert!(VerifyingKey::from_jwk(&rfc7517_b(&format!(r#","x5t#S256":"{b64u}""#))).is_ok());
    assert_eq!(
        VerifyingKey::from_jwk(&rfc7517_b(
            r#","x5t#S256":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE""#
        )),
        Err(KeyError::InvalidMember("x5t#S256"))
    );
    // Another key's members with this certificate: a mismatch, alone or in a set (whole set
    // refused, not skipped).
    let other_n = rfc7517_b("").replace(RFC7517_B_N, RFC7515_N);
    assert_eq!(
        VerifyingKey::from_jwk(&other_n),
        Err(KeyError::CertificateKeyMismatch)
    );
    assert_eq!(
        KeySet::from_jwks(&set_of(&[rsa(r#","kid":"a""#), other_n.clone()])),
        Err(KeyError::CertificateKeyMismatch)
    );
    let other_e = rfc7517_b("").replace(r#""e":"AQAB""#, r#""e":"Aw""#);
    assert_eq!(
        VerifyingKey::from_jwk(&other_e),
        Err(KeyError::CertificateKeyMismatch)
    );
    // A key of another type with this (RSA) certificate.
    let ec_with_cert = ec(&format!(r#","x5c":["{RFC7517_B_X5C}"]"#));
    assert_eq!(
        VerifyingKey::from_jwk(&ec_with_cert),
        Err(KeyError::CertificateKeyMismatch)
    );
    // A leading zero octet in `n` (seen, not canonical) is still the same modulus.
    let padded = {
        use base64ct::{Base64UrlUnpadded, Encoding};
        let mut n = Base64UrlUnpadded::decode_vec(RFC7517_B_N).unwrap();
        n.insert(0, 0);
        Base64UrlUnpadded::encode_string(&n)
    };
    assert!(VerifyingKey::from_jwk(&rfc7517_b("").replace(RFC7517_B_N, &padded)).is_ok());
}

/// `x5c[0]` that is not a certificate (or has bytes after it) is refused once it is parsed.
#[cfg(feature = "x509")]
#[test]
fn x5c_that_is_not_one_certificate() {
    use base64ct::{Base64, Encoding};
    let mut der = rfc7517_b_der();
    let with_x5c = |der: &[u8]| rfc7517_b("").replace(RFC7517_B_X5C, &Base64::encode_string(der));
    der.push(0);
    assert_eq!(
        VerifyingKey::from_jwk(&with_x5c(&der)),
        Err(KeyError::InvalidCertificate)
    );
    der.pop();
    der.pop();
    assert_eq!(
        VerifyingKey::from_jwk(&with_x5c(&der)),
        Err(KeyError::InvalidCertificate)
    );
    assert_eq!(
        VerifyingKey::from_jwk(&with_x5c(b"\x30\x03\x02\x01\x01 not really a certificate")),
        Err(KeyError::InvalidCertificate)
    );
    // The base64 rules are those of the thumbprint: standard, padded, at most the limit.
    for bad in ["AA*A", "AAA", "QUJD====", ""] {
        assert_eq!(
            VerifyingKey::from_jwk(&rfc7517_b("").replace(RFC7517_B_X5C, bad)),
            Err(KeyError::InvalidMember("x5c")),
            "{bad}"
        );
    }
    let over = Base64::encode_string(&vec![0u8; MAX_CERTIFICATE_LEN + 1]);
    assert_eq!(
        VerifyingKey::from_jwk(&rfc7517_b("").replace(RFC7517_B_X5C, &over)),
        Err(KeyError::InvalidMember("x5c"))
    );
    let at = Base64::encode_string(&vec![0u8; MAX_CERTIFICATE_LEN]);
    assert_eq!(
        VerifyingKey::from_jwk(&rfc7517_b("").replace(RFC7517_B_X5C, &at)),
        Err(KeyError::InvalidCertificate)
    );
}

/// A certificate as a key: PEM (alone, or first of several blocks) and DER.
#[cfg(feature = "x509")]
#[test]
fn certificates_as_keys() {
    let pem = rfc7517_b_pem();
    let key = VerifyingKey::from_pem(&pem).unwrap();
    let jwk = VerifyingKey::from_jwk(&rfc7517_b("")).unwrap();
    assert!(key.same_public_key(&jwk));
    assert_eq!(key.validity(), Some(RFC7517_B_VALIDITY));
    assert_eq!(key.kid(), None);
    assert_eq!(
        VerifyingKey::from_certificate_der(&rfc7517_b_der()).unwrap(),
        key
    );
    // In a store: a key on its own, serving any kid, with its validity.
    let set = KeySet::from_text(&format!("a certificate:\n{pem}{pem}")).unwrap();
    assert_eq!(set.len(), 1);
    assert!(first(&set).serves_any_kid());
    assert_eq!(first(&set).validity(), Some(RFC7517_B_VALIDITY));
    // Broken PEM bodies, DER with bytes after it, DER cut short.
    let mut der = rfc7517_b_der();
    der.push(0);
    assert_eq!(
        VerifyingKey::from_certificate_der(&der),
        Err(KeyError::InvalidCertificate)
    );
    der.truncate(der.len() - 2);
    assert_eq!(
        VerifyingKey::from_certificate_der(&der),
        Err(KeyError::InvalidCertificate)
    );
    assert_eq!(
        KeySet::from_text(&pem.replace("MIID", "MIID=")),
        Err(KeyError::Malformed)
    );
    assert_eq!(
        KeySet::from_text(&pem.replace("-----END CERTIFICATE", "-----END CERTIFICATES")),
        Err(KeyError::Malformed)
    );
    // The DER size limit, at its boundary: the limit is read (and is no certificate), one byte
    // more is too large.
    assert_eq!(
        VerifyingKey::from_certificate_der(&vec![0u8; MAX_CERTIFICATE_LEN + 1]),
        Err(KeyError::CertificateTooLarge)
    );
    assert_eq!(
        VerifyingKey::from_certificate_der(&vec![0u8; MAX_CERTIFICATE_LEN]),
        Err(KeyError::InvalidCertificate)
    );
    let pem_of = |len: usize| {
        use base64ct::{Base64, Encoding};
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            Base64::encode_string(&vec![0x30u8; len])
        )
    };
    assert_eq!(
        VerifyingKey::from_pem(&pem_of(MAX_CERTIFICATE_LEN + 1)),
        Err(KeyError::CertificateTooLarge)
    );
    assert_eq!(
        VerifyingKey::from_pem(&pem_of(MAX_CERTIFICATE_LEN)),
        Err(KeyError::InvalidCertificate)
    );
}

/// Google's X.509 map: `kid` → PEM certificate.
#[cfg(feature = "x509")]
#[test]
fn x509_maps() {
    let pem = json_string(&rfc7517_b_pem());
    let map = format!(r#"{{"1b94c":{pem}, "second":{pem}}}"#);
    for set in [KeySet::from_text(&map).unwrap(), {
        let mut set = KeySet::new();
        set.load_x509_map(&map).unwrap();
        set
    }] {
        let kids: Vec<_> = set.iter().map(|k| k.kid()).collect();
        assert_eq!(kids, [Some("1b94c"), Some("second")]);
        for key in set.iter() {
            assert_eq!(key.validity(), Some(RFC7517_B_VALIDITY));
            assert!(!key.serves_any_kid());
            assert_eq!(key.pinned_algorithm(), None);
        }
    }
    // Strict: a member that is not a PEM certificate refuses the map, naming the member.
    let public_key = json_string(
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
    );
    for (bad, error) in [
        (public_key.as_str(), KeyError::NotACertificate),
        ("7", KeyError::NotACertificate),
        (r#""""#, KeyError::NotACertificate),
        (
            r#""-----BEGIN CERTIFICATE-----""#,
            KeyError::NotACertificate,
        ),
        (r#"{"kty":"RSA"}"#, KeyError::NotACertificate),
        (
            &json_string(&rfc7517_b_pem().replace("MIID", "MIIE")),
            KeyError::InvalidCertificate,
        ),
    ] {
        let text = format!(r#"{{"ok":{pem},"bad\n":{bad}}}"#);
        let mut set = KeySet::new();
        let refused = set.load_text_detailed(&text).unwrap_err();
        assert_eq!(refused.error, error, "{bad}");
        assert_eq!(refused.kid.as_deref(), Some("bad\n"), "{bad}");
        assert_eq!(
            refused.to_string(),
            format!("X.509 map member \"bad\\n\": {error}")
        );
        assert!(set.is_empty());
        assert_eq!(set.load_text(&text), Err(error));
        assert!(set.is_empty());
    }
    // All or nothing, also in a set that already has keys.
    let mut set = KeySet::from_jwk(&okp("")).unwrap();
    let used = set.bytes_used();
    assert!(set
        .load_text(&format!(r#"{{"ok":{pem},"bad":7}}"#))
        .is_err());
    assert_eq!((set.len(), set.bytes_used()), (1, used));
    // A kid longer than a header's `kid` can be.
    let long = "k".repeat(MAX_HEADER_STRING_LEN + 1);
    assert_eq!(
        KeySet::from_text(&format!(r#"{{"{long}":{pem}}}"#)),
        Err(KeyError::KidTooLong)
    );
    let longest = "k".repeat(MAX_HEADER_STRING_LEN);
    assert!(KeySet::from_text(&format!(r#"{{"{longest}":{pem}}}"#)).is_ok());
    // Members: MAX_X509_MAP_MEMBERS pass, one more is refused before any is read.
    let members = |count: usize| {
        let members: Vec<String> = (0..count).map(|i| format!(r#""k{i}":{pem}"#)).collect();
        format!("{{{}}}", members.join(","))
    };
    let mut set = KeySet::new();
    set.load_text(&members(MAX_X509_MAP_MEMBERS)).unwrap();
    assert_eq!(set.len(), MAX_X509_MAP_MEMBERS);
    assert_eq!(
        KeySet::from_text(&members(MAX_X509_MAP_MEMBERS + 1)),
        Err(KeyError::TooManyKeys)
    );
    // An empty map is read as a JWK (it has no member to say otherwise); a JWK Set or a JWK
    // is never an X.509 map.
    assert_eq!(KeySet::from_text("{}"), Err(KeyError::MissingMember("kty")));
    let mut set = KeySet::new();
    assert_eq!(
        set.load_x509_map("{}").map_err(|e| e.error),
        Err(KeyError::NoUsableKeys)
    );
    assert_eq!(
        set.load_x509_map(&rsa("")).map_err(|e| e.error),
        Err(KeyError::NotACertificate)
    );
    assert!(KeySet::from_text(&rfc7517_b(&format!(r#","note":{pem}"#))).is_ok());
}

#[cfg(not(feature = "x509"))]
#[test]
fn certificates_need_the_x509_feature() {
    let map = r#"{"k1":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}"#;
    assert_eq!(
        KeySet::from_text(map),
        Err(KeyError::CertificatesNotBuiltIn)
    );
    assert_eq!(
        KeySet::new().load_text_detailed(map).map_err(|e| e.error),
        Err(KeyError::CertificatesNotBuiltIn)
    );
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    assert_eq!(
        KeySet::from_text(pem),
        Err(KeyError::CertificatesNotBuiltIn)
    );
    // x5c is only hashed: the RFC 7517 B certificate's key is not compared.
    let other_n = rfc7517_b("").replace(RFC7517_B_N, RFC7515_N);
    let key = VerifyingKey::from_jwk(&other_n).unwrap();
    assert_eq!(key.validity(), None);
}

/// RFC 7638 §3.1 and RFC 8037 Appendix A.3 thumbprints, whatever the format the key came in.
#[test]
fn jwk_thumbprints() {
    use base64ct::{Base64UrlUnpadded, Encoding};
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    let rsa_jwk =
        format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#);
    let set = KeySet::from_jwk(&rsa_jwk).unwrap();
    assert_eq!(
        Base64UrlUnpadded::encode_string(&first(&set).thumbprint()),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    let set = KeySet::from_jwk(&okp("")).unwrap();
    assert_eq!(
        Base64UrlUnpadded::encode_string(&first(&set).thumbprint()),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    // P-256: the members in RFC 7638 §3.2's order, hashed as written.
    use sha2::{Digest, Sha256};
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{EC_X}","y":"{EC_Y}"}}"#);
    let set = KeySet::from_jwk(&ec(r#","kid":"ignored""#)).unwrap();
    assert_eq!(
        first(&set).thumbprint(),
        <[u8; 32]>::from(Sha256::digest(canonical.as_bytes()))
    );
}
