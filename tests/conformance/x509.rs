//! X.509 certificates as key sources (the core's `x509` feature), against certificates made by
//! the `openssl` CLI at test time (`openssl req -x509`: RSA-2048, P-256, Ed25519; P-384 and
//! RSA-1024 for the refusals): Google's X.509 map (`kid` → PEM certificate) built from them,
//! assertions signed with their private keys verified through it, the validity each key
//! reports compared with `openssl x509 -dates`, the `x5t#S256` of a JWK's `x5c[0]` with
//! `openssl x509 -fingerprint -sha256`, and each limit at its boundary.

use rfc7523::keys::{Validity, MAX_CERTIFICATE_LEN, MAX_KEY_TEXT_LEN, MAX_X509_MAP_MEMBERS};
use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::{
    Algorithm, DecodeBuffer, GrantProfile, KeyError, KeyLookup, KeySet, MemoryReplayStore, Party,
    Reason, VerifyingKey,
};
use rfc7523_conformance::{b64url, openssl_ok, TempDir};

const ISSUER: &str = "svc@project.iam.gserviceaccount.com";
const AUDIENCE: &str = "https://as.example/token";

/// The key types of the certificates made for the tests.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Rsa2048,
    P256,
    Ed25519,
    /// Refused at load: under 2048 bits.
    Rsa1024,
    /// Another curve: skipped in a map, as in a JWK Set.
    P384,
}

impl Kind {
    fn newkey(self) -> &'static [&'static str] {
        match self {
            Kind::Rsa2048 => &["-newkey", "rsa:2048"],
            Kind::Rsa1024 => &["-newkey", "rsa:1024"],
            Kind::P256 => &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            Kind::P384 => &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            Kind::Ed25519 => &["-newkey", "ed25519"],
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            Kind::Rsa2048 | Kind::Rsa1024 => Algorithm::Rs256,
            Kind::P256 | Kind::P384 => Algorithm::Es256,
            Kind::Ed25519 => Algorithm::EdDsa,
        }
    }
}

/// A self-signed certificate made by `openssl req -x509`, with its private key.
struct Made {
    /// The private key, PKCS#8 PEM.
    private: String,
    /// The certificate, PEM, as openssl wrote it.
    pem: String,
    /// The certificate, DER.
    der: Vec<u8>,
    /// The public key, SPKI PEM (`openssl x509 -pubkey`).
    public: String,
}

fn make(dir: &TempDir, kind: Kind, name: &str, extra: &[&str]) -> Made {
    let key = dir.join(&format!("{name}.key"));
    let cert = dir.join(&format!("{name}.pem"));
    let mut args: Vec<String> = ["req", "-x509", "-noenc", "-subj", &format!("/CN={name}")]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(kind.newkey().iter().map(|s| s.to_string()));
    args.extend(["-days", "30", "-keyout"].iter().map(|s| s.to_string()));
    args.push(key.display().to_string());
    args.push("-out".into());
    args.push(cert.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    openssl_ok(&args, None);
    let cert_arg = cert.display().to_string();
    let der = openssl_ok(["x509", "-in", &cert_arg, "-outform", "DER"], None);
    let public = openssl_ok(["x509", "-in", &cert_arg, "-noout", "-pubkey"], None);
    Made {
        private: std::fs::read_to_string(&key).unwrap_or_else(|e| panic!("{name}: {e}")),
        pem: std::fs::read_to_string(&cert).unwrap_or_else(|e| panic!("{name}: {e}")),
        der,
        public: String::from_utf8(public).unwrap_or_else(|e| panic!("{name}: {e}")),
    }
}

/// The certificate's validity as `openssl x509 -dates` reads it (ISO 8601), in Unix seconds.
fn openssl_validity(made: &Made) -> Validity {
    let out = openssl_ok(
        [
            "x509",
            "-inform",
            "DER",
            "-noout",
            "-startdate",
            "-enddate",
            "-dateopt",
            "iso_8601",
        ],
        Some(&made.der),
    );
    let out = String::from_utf8(out).unwrap_or_else(|e| panic!("openssl x509 -dates: {e}"));
    let field = |name: &str| {
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {out}"));
        unix_seconds(line)
    };
    Validity {
        not_before: field("notBefore="),
        not_after: field("notAfter="),
    }
}

/// `YYYY-MM-DD HH:MM:SSZ` to Unix seconds (days from the civil date, proleptic Gregorian).
fn unix_seconds(iso: &str) -> u64 {
    let n = |range: std::ops::Range<usize>| -> i64 {
        iso[range].parse().unwrap_or_else(|e| panic!("{iso}: {e}"))
    };
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (hh, mm, ss) = (n(11..13), n(14..16), n(17..19));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).unwrap_or_else(|e| panic!("{iso}: {e}"))
}

/// An X.509 map as Google serves it: `kid` → PEM certificate, the line breaks escaped.
fn x509_map(members: &[(&str, &str)]) -> String {
    let object: serde_json::Map<String, serde_json::Value> = members
        .iter()
        .map(|(kid, pem)| (kid.to_string(), serde_json::Value::String(pem.to_string())))
        .collect();
    serde_json::Value::Object(object).to_string()
}

/// A grant signed by `made`'s private key at `now`, with `kid` in its header when given.
fn grant(made: &Made, kind: Kind, kid: Option<&str>, now: u64) -> String {
    AssertionSigner::from_pem(&made.private)
        .and_then(|s| s.with_algorithm(kind.algorithm()))
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"))
        .sign(
            &AssertionRequest {
                issuer: ISSUER,
                subject: ISSUER,
                audience: AUDIENCE,
                kid,
                ..AssertionRequest::default()
            },
            now,
        )
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"))
        .to_string()
}

/// Validates `token` as a grant of the one issuer holding `keys`, at `now`.
fn validate(keys: &KeySet, token: &str, now: u64) -> Result<(), Reason> {
    validate_grant(&[Party::new(ISSUER, keys)], token, now)
}

/// Validates `token` as a grant of `issuers`, at `now`.
fn validate_grant<L: KeyLookup + ?Sized>(issuers: &L, token: &str, now: u64) -> Result<(), Reason> {
    let profile = GrantProfile {
        issuers,
        audiences: &[AUDIENCE],
    };
    let mut replay = MemoryReplayStore::<4>::new();
    let mut buffer = DecodeBuffer::new();
    profile
        .validate(token, now, &mut replay, &mut buffer)
        .map(|_| ())
        .map_err(|e| e.reason())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_else(|e| panic!("the clock: {e}"))
        .as_secs()
}

#[test]
fn assertions_verify_through_an_x509_map_of_openssl_certificates() {
    let dir = TempDir::new("rfc7523-x509-map");
    let kinds = [
        ("rsa-2048", Kind::Rsa2048),
        ("p-256", Kind::P256),
        ("ed25519", Kind::Ed25519),
    ];
    let made: Vec<Made> = kinds
        .iter()
        .map(|(kid, kind)| make(&dir, *kind, kid, &[]))
        .collect();
    let members: Vec<(&str, &str)> = kinds
        .iter()
        .zip(&made)
        .map(|((kid, _), m)| (*kid, m.pem.as_str()))
        .collect();
    let map = x509_map(&members);
    let keys = KeySet::from_text(&map).unwrap();
    assert_eq!(keys.len(), 3);
    let now = now();
    for ((kid, kind), made) in kinds.iter().zip(&made) {
        let key = keys.iter().find(|k| k.kid() == Some(*kid)).unwrap();
        // Stored with its member's name, the certificate's key, and openssl's dates.
        assert!(!key.serves_any_kid());
        assert_eq!(key.validity(), Some(openssl_validity(made)), "{kid}");
        assert!(key.validity().unwrap().contains(now));
        let spki = VerifyingKey::from_pem(&made.public).unwrap();
        let alone = KeySet::from_key(&spki).unwrap();
        let spki_key = alone.iter().next().unwrap();
        assert_eq!(key.material(), spki_key.material(), "{kid}");
        assert_eq!(key.thumbprint(), spki_key.thumbprint(), "{kid}");
        // The PEM certificate alone, and its DER: the same key and dates.
        let from_pem = VerifyingKey::from_pem(&made.pem).unwrap();
        assert!(from_pem.same_public_key(&spki));
        assert_eq!(from_pem.validity(), key.validity());
        assert_eq!(
            VerifyingKey::from_certificate_der(&made.der).unwrap(),
            from_pem
        );
        // Signed with the certificate's private key: verified through the map, with the
        // member's kid or none; another member's kid is not this key.
        for header_kid in [Some(*kid), None] {
            let token = grant(made, *kind, header_kid, now);
            assert_eq!(validate(&keys, &token, now), Ok(()), "{kid} {header_kid:?}");
        }
        let other = kinds.iter().find(|(k, _)| k != kid).unwrap().0;
        let token = grant(made, *kind, Some(other), now);
        assert!(validate(&keys, &token, now).is_err(), "{kid} as {other}");
        let token = grant(made, *kind, Some("no-such-kid"), now);
        assert_eq!(validate(&keys, &token, now), Err(Reason::UnknownKey));
    }
}

/// The decision: a certificate's dates are reported, not enforced. A key whose certificate
/// expired (or is not valid yet) still verifies; `validity()` tells the operator.
#[test]
fn expired_certificates_are_reported_not_enforced() {
    let dir = TempDir::new("rfc7523-x509-expired");
    let made = make(&dir, Kind::P256, "short", &["-days", "1"]);
    let keys = KeySet::from_text(&x509_map(&[("short", &made.pem)])).unwrap();
    let validity = keys.iter().next().unwrap().validity().unwrap();
    assert_eq!(validity, openssl_validity(&made));
    assert_eq!(validity.not_after - validity.not_before, 86_400);
    let year_later = validity.not_after + 365 * 86_400;
    let before = validity.not_before - 86_400;
    for at in [year_later, validity.not_after + 1, before] {
        assert!(!validity.contains(at));
        let token = grant(&made, Kind::P256, Some("short"), at);
        assert_eq!(validate(&keys, &token, at), Ok(()), "at {at}");
    }
    assert!(validity.contains(validity.not_before) && validity.contains(validity.not_after));
}

/// RFC 7517 §4.7: a JWK's `x5c[0]` must hold the JWK's key; its SHA-256 is the `x5t#S256`.
#[test]
fn jwk_x5c_must_match_its_key() {
    use base64ct::{Base64, Encoding};
    let dir = TempDir::new("rfc7523-x509-x5c");
    let kinds = [Kind::Rsa2048, Kind::P256, Kind::Ed25519];
    let made: Vec<Made> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| make(&dir, *kind, &format!("x5c-{i}"), &[]))
        .collect();
    let now = now();
    for (i, (kind, one)) in kinds.iter().zip(&made).enumerate() {
        let fingerprint = String::from_utf8(openssl_ok(
            [
                "x509",
                "-inform",
                "DER",
                "-noout",
                "-fingerprint",
                "-sha256",
            ],
            Some(&one.der),
        ))
        .unwrap();
        let fingerprint: Vec<u8> = fingerprint
            .trim()
            .rsplit('=')
            .next()
            .unwrap()
            .split(':')
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect();
        let x5c = Base64::encode_string(&one.der);
        let with_x5c = |jwk: String| {
            let mut value: serde_json::Value = serde_json::from_str(&jwk).unwrap();
            value["x5c"] = serde_json::json!([x5c, "MIIB"]);
            value.to_string()
        };
        let jwk = with_x5c(jwk_of(&one.public, "k"));
        let key = VerifyingKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.x5t_s256().map(|t| t.to_vec()), Some(fingerprint));
        assert_eq!(key.validity(), Some(openssl_validity(one)));
        let keys = KeySet::from_jwks(&format!(r#"{{"keys":[{jwk}]}}"#)).unwrap();
        let token = grant(one, *kind, Some("k"), now);
        assert_eq!(validate(&keys, &token, now), Ok(()));
        // The members of another key (of the same type, and of another) with this
        // certificate: refused at load, alone and in a set.
        let same_type = made_other(&dir, *kind, i);
        for other_public in [&same_type, &made_next(&made, i).public] {
            let mismatched = with_x5c(jwk_of(other_public, "k"));
            assert_eq!(
                VerifyingKey::from_jwk(&mismatched),
                Err(KeyError::CertificateKeyMismatch),
                "{kind:?}"
            );
            assert_eq!(
                KeySet::from_jwks(&format!(r#"{{"keys":[{mismatched}]}}"#)),
                Err(KeyError::CertificateKeyMismatch)
            );
        }
    }
}

/// The public key of another certificate of the same kind.
fn made_other(dir: &TempDir, kind: Kind, i: usize) -> String {
    make(dir, kind, &format!("other-{i}"), &[]).public
}

fn made_next(made: &[Made], i: usize) -> &Made {
    &made[(i + 1) % made.len()]
}

/// The public JWK of an SPKI PEM: RSA from its modulus and exponent; P-256 and Ed25519 from
/// the fixed layout of their SPKI DER (the point, or the key, ends it).
fn jwk_of(public_pem: &str, kid: &str) -> String {
    if rfc7523::RsaVerifyingKey::from_pem(public_pem).is_ok() {
        return rfc7523_conformance::public_jwk(public_pem, kid);
    }
    let body: String = public_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = {
        use base64ct::{Base64, Encoding};
        Base64::decode_vec(&body).unwrap_or_else(|e| panic!("{public_pem}: {e}"))
    };
    match der.len() {
        // SEQUENCE { AlgorithmIdentifier { id-ecPublicKey, prime256v1 }, BIT STRING 04 || x || y }
        91 => {
            let point = &der[der.len() - 64..];
            serde_json::json!({
                "kty": "EC", "crv": "P-256", "kid": kid,
                "x": b64url(&point[..32]), "y": b64url(&point[32..]),
            })
            .to_string()
        }
        // SEQUENCE { AlgorithmIdentifier { id-Ed25519 }, BIT STRING key }
        44 => serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64url(&der[12..]),
        })
        .to_string(),
        n => panic!("unexpected SPKI of {n} bytes"),
    }
}

/// Every refusal of an X.509 map names the member at fault; a certificate of another curve
/// is skipped, as a JWK Set skips such a key.
#[test]
fn x509_map_refusals_name_the_member() {
    use base64ct::{Base64, Encoding};
    let dir = TempDir::new("rfc7523-x509-refusals");
    let good = make(&dir, Kind::P256, "good", &[]);
    let weak = make(&dir, Kind::Rsa1024, "weak", &[]);
    let p384 = make(&dir, Kind::P384, "p384", &[]);
    let pem_of = |der: &[u8]| {
        let body = Base64::encode_string(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    };
    let mut trailing = good.der.clone();
    trailing.extend_from_slice(&[0x05, 0x00]);
    let cut = &good.der[..good.der.len() - 1];
    let broken_pem = good.pem.replacen("MII", "M*I", 1);
    let public_key = good.public.clone();
    let cases: [(&str, &str, KeyError); 6] = [
        ("weak", &weak.pem, KeyError::ModulusTooSmall { bits: 1024 }),
        ("trailing", &pem_of(&trailing), KeyError::InvalidCertificate),
        ("cut", &pem_of(cut), KeyError::InvalidCertificate),
        ("broken", &broken_pem, KeyError::Malformed),
        ("spki", &public_key, KeyError::NotACertificate),
        ("private", &good.private, KeyError::NotACertificate),
    ];
    for (kid, pem, error) in &cases {
        let map = x509_map(&[("good", &good.pem), (kid, pem)]);
        let mut keys = KeySet::new();
        let refused = keys.load_text_detailed(&map).unwrap_err();
        assert_eq!(
            (refused.error, refused.kid.as_deref()),
            (*error, Some(*kid)),
            "{kid}"
        );
        assert!(refused
            .to_string()
            .starts_with(&format!("X.509 map member \"{kid}\": ")));
        assert!(keys.is_empty());
    }
    // P-384: skipped like a P-384 JWK in a set; alone, no usable key.
    let keys = KeySet::from_text(&x509_map(&[("p384", &p384.pem), ("good", &good.pem)])).unwrap();
    assert_eq!(
        keys.iter().map(|k| k.kid()).collect::<Vec<_>>(),
        [Some("good")]
    );
    assert_eq!(
        KeySet::from_text(&x509_map(&[("p384", &p384.pem)])),
        Err(KeyError::NoUsableKeys)
    );
    assert_eq!(
        VerifyingKey::from_pem(&p384.pem),
        Err(KeyError::UnsupportedCurve)
    );
    // Members: the limit passes, one more is refused.
    let kids: Vec<String> = (0..=MAX_X509_MAP_MEMBERS)
        .map(|i| format!("k{i}"))
        .collect();
    let members: Vec<(&str, &str)> = kids
        .iter()
        .map(|k| (k.as_str(), good.pem.as_str()))
        .collect();
    let at_limit = KeySet::from_text(&x509_map(&members[..MAX_X509_MAP_MEMBERS])).unwrap();
    assert_eq!(at_limit.len(), MAX_X509_MAP_MEMBERS);
    assert_eq!(
        KeySet::from_text(&x509_map(&members)),
        Err(KeyError::TooManyKeys)
    );
    // The text: MAX_KEY_TEXT_LEN bytes pass (white space after the object), one more is
    // refused before it is read.
    let map = x509_map(&[("good", &good.pem)]);
    let padded = format!("{map}{}", " ".repeat(MAX_KEY_TEXT_LEN - map.len()));
    assert!(KeySet::from_text(&padded).is_ok());
    let mut keys = KeySet::new();
    assert_eq!(keys.load_x509_map(&padded).map(|()| keys.len()), Ok(1));
    let over = format!("{padded} ");
    assert_eq!(KeySet::from_text(&over), Err(KeyError::TooLarge));
    assert_eq!(
        KeySet::new().load_x509_map(&over).map_err(|e| e.error),
        Err(KeyError::TooLarge)
    );
}

/// A real certificate of exactly [`MAX_CERTIFICATE_LEN`] bytes (an Ed25519 one, whose
/// signature has a fixed length, grown with a Netscape comment) loads; one byte more does not.
#[test]
fn certificate_size_limit() {
    let dir = TempDir::new("rfc7523-x509-size");
    let sized = |target: usize| -> Made {
        let mut comment = 100usize;
        for round in 0..8 {
            let ext = format!("nsComment={}", "a".repeat(comment));
            let made = make(
                &dir,
                Kind::Ed25519,
                &format!("sized-{target}-{round}"),
                &["-addext", &ext],
            );
            match made.der.len().cmp(&target) {
                std::cmp::Ordering::Equal => return made,
                std::cmp::Ordering::Less => comment += target - made.der.len(),
                std::cmp::Ordering::Greater => comment -= made.der.len() - target,
            }
        }
        panic!("no certificate of exactly {target} bytes");
    };
    let at = sized(MAX_CERTIFICATE_LEN);
    let key = VerifyingKey::from_certificate_der(&at.der).unwrap();
    assert!(key.same_public_key(&VerifyingKey::from_pem(&at.public).unwrap()));
    assert!(KeySet::from_text(&x509_map(&[("at", &at.pem)])).is_ok());
    let over = sized(MAX_CERTIFICATE_LEN + 1);
    assert_eq!(
        VerifyingKey::from_certificate_der(&over.der),
        Err(KeyError::CertificateTooLarge)
    );
    let refused = KeySet::new()
        .load_text_detailed(&x509_map(&[("over", &over.pem)]))
        .unwrap_err();
    assert_eq!(
        (refused.error, refused.kid.as_deref()),
        (KeyError::CertificateTooLarge, Some("over"))
    );
    assert_eq!(
        VerifyingKey::from_pem(&over.pem),
        Err(KeyError::CertificateTooLarge)
    );
}

/// A registry party whose keys are an X.509 map (`x509`, Google's service-account format):
/// its certificates' keys verify its grants by `kid`, a key of no member is refused, and the
/// refusals of the document name the party, the field and the member.
#[test]
fn a_registry_party_with_an_x509_map() {
    let dir = TempDir::new("rfc7523-x509-registry");
    let rsa = make(&dir, Kind::Rsa2048, "rsa", &[]);
    let p256 = make(&dir, Kind::P256, "p256", &[]);
    let stranger = make(&dir, Kind::Rsa2048, "stranger", &[]);
    let weak = make(&dir, Kind::Rsa1024, "weak", &[]);
    let document = |party: &str| {
        format!(
            r#"{{"issuer":"https://as.example","token_endpoint":"{AUDIENCE}","issuers":[{{"issuer":"{ISSUER}",{party}}}]}}"#
        )
    };
    let map = x509_map(&[("k-rsa", &rsa.pem), ("k-p256", &p256.pem)]);
    let registry = rfc7523::Registry::from_json(&document(&format!(r#""x509":{map}"#)))
        .unwrap_or_else(|e| panic!("{e}"));
    let now = now();
    for (made, kind, kid) in [
        (&rsa, Kind::Rsa2048, "k-rsa"),
        (&p256, Kind::P256, "k-p256"),
    ] {
        assert_eq!(
            validate_grant(registry.issuers(), &grant(made, kind, Some(kid), now), now),
            Ok(()),
            "{kid}"
        );
        // Without a kid: the keys of the party are tried.
        assert_eq!(
            validate_grant(registry.issuers(), &grant(made, kind, None, now), now),
            Ok(()),
            "{kid} without kid"
        );
    }
    // A key of no member, under a member's kid or none: refused.
    for kid in [Some("k-rsa"), None] {
        assert!(matches!(
            validate_grant(
                registry.issuers(),
                &grant(&stranger, Kind::Rsa2048, kid, now),
                now
            ),
            Err(Reason::InvalidSignature | Reason::UnknownKey)
        ));
    }
    // The document's refusals.
    let at = format!(r#"issuers[0] "{ISSUER}".x509"#);
    let weak_map = x509_map(&[("k-rsa", &rsa.pem), ("k-weak", &weak.pem)]);
    for (party, expected_at, expected) in [
        (
            format!(r#""x509":{map},"jwks":{{"keys":[]}}"#),
            at.clone(),
            "x509 must not be combined",
        ),
        (
            format!(r#""x509":{map},"jwks_uri":"https://keys.example/jwks""#),
            at.clone(),
            "x509 must not be combined",
        ),
        (
            r#""x509":"-----BEGIN CERTIFICATE-----""#.to_owned(),
            at.clone(),
            "X.509 map object",
        ),
        (
            format!(r#""x509":{weak_map}"#),
            format!("{at}.k-weak"),
            "RSA",
        ),
        (
            r#""x509":{"k":"not a certificate"}"#.to_owned(),
            format!("{at}.k"),
            "",
        ),
    ] {
        let err = rfc7523::Registry::from_json(&document(&party))
            .err()
            .unwrap_or_else(|| panic!("accepted: {party}"));
        assert_eq!(err.at(), expected_at, "{party}: {err}");
        assert!(err.to_string().contains(expected), "{party}: {err}");
    }
}
