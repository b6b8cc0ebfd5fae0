//! The verification primitives of PS256, ES256 and EdDSA/Ed25519 (`rfc7523::alg`, not public
//! API yet: the JWS layer still accepts RS256 only) against Project Wycheproof, RFC 8037,
//! the RFC 7520 cookbook, public fixtures and signatures made by the `openssl` command-line
//! tool at test time.
//!
//! Each test walks one vector family, collects every disagreement (named by file and tcId or
//! fixture id), and asserts at the end both that none occurred and that exactly the expected
//! number of cases ran, by label, so that an empty, truncated or mis-filtered file cannot
//! pass. Sources and counts: `vectors/README.md`, section "PS256, ES256, EdDSA".
//!
//! Every key is read from each form its file gives (SPKI DER, the JWK, the raw point or
//! modulus), and the forms must give the same key. Choices worth knowing, each asserted below:
//! - None of these Wycheproof files has an `acceptable` case; one would fail the run (it would
//!   need its own decision).
//! - `rsa_pss_misc_test.json` labels every case `valid` for its own parameters. Only tcId 76
//!   (SHA-256, MGF1-SHA-256, salt 32) is PS256; the other SHA-256/MGF1-SHA-256 salt lengths are
//!   expected to **fail** (RFC 7518 §3.5 fixes the salt at 32 bytes); the 144 cases with other
//!   hashes are not PS256 vectors and are skipped as such, but each must still be refused by
//!   the PS256 verifier.
//! - The PS256 files' JWKs carry `"alg":"PS256"`, which today's RS256-only JWK reader refuses
//!   (`KeyError::NotForRs256("alg")`): asserted, then the JWK is read without its `alg` and
//!   compared with the DER key. The wiring of PS256 keys must lift this.
//! - Fixture outcomes are those of a verifier that allows exactly RS256, PS256, ES256, `EdDSA`
//!   and `Ed25519`: `alg_policy_dependent` (jwt.io's `"alg":"Ed25519"`, RFC 9864) verifies;
//!   `salt_policy_dependent` (golang-jwt's PS256 with the maximum salt) is refused.

use rfc7523::alg::eddsa::Ed25519VerifyingKey;
use rfc7523::alg::es256::P256VerifyingKey;
use rfc7523::alg::{ps256, Algorithm, KeyMaterialError, KeyType};
use rfc7523::{RsaVerifyingKey, VerifyingKey};
use rfc7523_conformance::{
    b64url, b64url_decode, der_to_raw, hex, json_array, json_str, json_u64, load_json, openssl_ok,
    read_vector_text, Failures, TempDir,
};
use serde_json::{json, Value};

/// A public key of any of the three types. (An RSA key is about 2 KiB, the others under
/// 200 bytes: a test value, not worth boxing.)
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
enum Key {
    Rsa(RsaVerifyingKey),
    P256(P256VerifyingKey),
    Ed25519(Ed25519VerifyingKey),
}

impl Key {
    fn key_type(&self) -> KeyType {
        match self {
            Key::Rsa(_) => KeyType::Rsa,
            Key::P256(_) => KeyType::P256,
            Key::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// Reads a DER SubjectPublicKeyInfo as the key type `key_type`.
    fn from_spki(key_type: KeyType, der: &[u8]) -> Result<Key, String> {
        match key_type {
            KeyType::Rsa => RsaVerifyingKey::from_spki_der(der)
                .map(Key::Rsa)
                .map_err(|e| format!("{e:?}")),
            KeyType::P256 => P256VerifyingKey::from_spki_der(der)
                .map(Key::P256)
                .map_err(|e| format!("{e:?}")),
            KeyType::Ed25519 => Ed25519VerifyingKey::from_spki_der(der)
                .map(Key::Ed25519)
                .map_err(|e| format!("{e:?}")),
        }
    }

    /// Reads a public JWK as the key type `key_type` (an RSA JWK with its `alg` removed: the
    /// RS256-only reader refuses any other `alg`).
    fn from_jwk(key_type: KeyType, jwk: &Value) -> Result<Key, String> {
        match key_type {
            KeyType::Rsa => {
                let mut jwk = jwk.clone();
                if let Some(object) = jwk.as_object_mut() {
                    object.remove("alg");
                }
                RsaVerifyingKey::from_jwk(&jwk.to_string())
                    .map(Key::Rsa)
                    .map_err(|e| format!("{e:?}"))
            }
            KeyType::P256 => P256VerifyingKey::from_jwk(&jwk.to_string())
                .map(Key::P256)
                .map_err(|e| format!("{e:?}")),
            KeyType::Ed25519 => Ed25519VerifyingKey::from_jwk(&jwk.to_string())
                .map(Key::Ed25519)
                .map_err(|e| format!("{e:?}")),
        }
    }

    /// Reads a PEM `PUBLIC KEY` (SPKI) block, decoded here, as `key_type`.
    fn from_pem(key_type: KeyType, pem: &str) -> Result<Key, String> {
        Key::from_spki(key_type, &pem_der(pem))
    }

    /// The same key without its `kid` (an RSA JWK's `kid` stays on the key).
    fn without_kid(self) -> Key {
        match self {
            Key::Rsa(key) => {
                let (mut n, e) = (vec![0u8; key.modulus_len()], key.exponent());
                let n = key.modulus(&mut n).unwrap_or_default().to_vec();
                Key::Rsa(RsaVerifyingKey::from_components(&n, &e.to_be_bytes()).unwrap_or(key))
            }
            other => other,
        }
    }
}

/// Verifies `signature` over `message` with `alg` under `key`: the algorithm's key type must
/// be the key's (checked before any cryptography, as the JWS layer will), then the primitive.
fn verify(alg: Algorithm, key: &Key, message: &[u8], signature: &[u8]) -> bool {
    if alg.key_type() != key.key_type() {
        return false;
    }
    match (alg, key) {
        (Algorithm::Rs256, Key::Rsa(key)) => key.verify_rs256(message, signature),
        (Algorithm::Ps256, Key::Rsa(key)) => ps256::verify_message(key, message, signature),
        (Algorithm::Es256, Key::P256(key)) => key.verify_message(message, signature),
        (Algorithm::EdDsa | Algorithm::Ed25519, Key::Ed25519(key)) => {
            key.verify_message(message, signature)
        }
        _ => false,
    }
}

/// A compact JWS split for verification: (signing input, header `alg`, signature). `None`
/// when it has not three segments, or a segment is not canonical base64url, or the header is
/// not a JSON object with a string `alg`. (The JWS layer's own rules on the header come with
/// the wiring; this is the part the primitives need.)
fn split_jws(jws: &str) -> Option<(&str, String, Vec<u8>)> {
    let segments: Vec<&str> = jws.split('.').collect();
    let [header, payload, signature] = segments.as_slice() else {
        return None;
    };
    b64url_decode(payload)?;
    let header: Value = serde_json::from_slice(&b64url_decode(header)?).ok()?;
    let alg = header.get("alg")?.as_str()?.to_owned();
    let signing_input = jws.get(..jws.rfind('.')?)?;
    Some((signing_input, alg, b64url_decode(signature)?))
}

/// Verifies a compact JWS under `key` by its header `alg` (unknown `alg`: refused).
fn verify_jws(jws: &str, key: &Key) -> bool {
    let Some((input, alg, signature)) = split_jws(jws) else {
        return false;
    };
    Algorithm::from_header(&alg).is_some_and(|alg| verify(alg, key, input.as_bytes(), &signature))
}

/// The DER inside a PEM block (standard base64 between the BEGIN and END lines).
fn pem_der(pem: &str) -> Vec<u8> {
    use base64ct::{Base64, Encoding};
    let body: String = pem
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN "))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END "))
        .map(str::trim)
        .collect();
    Base64::decode_vec(&body).unwrap_or_else(|e| panic!("PEM body is not base64 ({e}): {pem}"))
}

/// `tcId` of a Wycheproof test.
fn tc_id(test: &Value) -> u64 {
    json_u64(&test["tcId"], "tcId")
}

/// The file name without folder and `.json`, to name cases in messages.
fn short_name(file: &str) -> &str {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.strip_suffix(".json").unwrap_or(name)
}

/// Counts of one run, by expected outcome.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Counts {
    valid: usize,
    invalid: usize,
    acceptable: usize,
    skipped: usize,
}

impl Counts {
    fn total(&self) -> usize {
        self.valid + self.invalid + self.acceptable + self.skipped
    }
}

/// Runs every test of a Wycheproof group with `alg` under `key` (`None`: the group key was
/// refused, so nothing verifies), recording disagreements with the label. `acceptable` is a
/// failure here: none of these files has one.
fn run_group(
    failures: &mut Failures,
    counts: &mut Counts,
    name: &str,
    alg: Algorithm,
    key: Option<&Key>,
    group: &Value,
) {
    for test in json_array(&group["tests"], "tests") {
        let id = format!("{name} tcId {}", tc_id(test));
        let result = json_str(&test["result"], "result");
        let expected = match result {
            "valid" => {
                counts.valid += 1;
                true
            }
            "invalid" => {
                counts.invalid += 1;
                false
            }
            other => {
                counts.acceptable += usize::from(other == "acceptable");
                failures.push(&id, format!("result {other:?}: no decision made for it"));
                continue;
            }
        };
        let msg = hex(json_str(&test["msg"], "msg"));
        let sig = hex(json_str(&test["sig"], "sig"));
        let verified = key.is_some_and(|key| verify(alg, key, &msg, &sig));
        failures.check(
            verified == expected,
            &id,
            format!(
                "{result} ({:?}, flags {}): verified {verified}",
                test["comment"].as_str().unwrap_or_default(),
                test["flags"]
            ),
        );
    }
}

/// Checks the file's `numberOfTests` and the count run.
fn check_count(failures: &mut Failures, doc: &Value, name: &str, ran: usize, expected: usize) {
    failures.check(
        ran == expected && doc["numberOfTests"] == json!(ran),
        name,
        format!(
            "ran {ran} cases, expected {expected}, numberOfTests {}",
            doc["numberOfTests"]
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Wycheproof ECDSA P-256 SHA-256, IEEE P1363 signatures (ES256).

/// Every case with the key from `publicKeyDer`, checked equal to the key from `publicKeyJwk`
/// (where the group has one: 103 of 112) and from the raw coordinates `wx`, `wy`.
#[test]
fn wycheproof_es256_p1363() {
    const FILE: &str = "wycheproof/ecdsa_secp256r1_sha256_p1363_test.json";
    let name = short_name(FILE);
    let doc = load_json(FILE);
    let mut failures = Failures::new("Wycheproof ECDSA P-256 SHA-256 P1363 (ES256)");
    let mut counts = Counts::default();
    let (mut groups, mut with_jwk) = (0usize, 0usize);
    for group in json_array(&doc["testGroups"], "testGroups") {
        groups += 1;
        let first = json_array(&group["tests"], "tests")
            .first()
            .map_or(0, tc_id);
        let group_id = format!("{name} group of tcId {first}");
        failures.check(
            group["type"] == "EcdsaP1363Verify"
                && group["sha"] == "SHA-256"
                && group["publicKey"]["curve"] == "secp256r1",
            &group_id,
            "unexpected group parameters",
        );
        let der = hex(json_str(&group["publicKeyDer"], "publicKeyDer"));
        let key = Key::from_spki(KeyType::P256, &der);
        // Raw coordinates: hex integers, possibly with a leading 00 or shorter than 32 bytes.
        let coordinate = |name: &str| -> [u8; 32] {
            let bytes = hex(json_str(&group["publicKey"][name], name));
            let bytes = &bytes[bytes.len().saturating_sub(32)..];
            let mut out = [0u8; 32];
            out[32 - bytes.len()..].copy_from_slice(bytes);
            out
        };
        let raw = P256VerifyingKey::from_coordinates(&coordinate("wx"), &coordinate("wy"));
        failures.check(
            matches!((&key, &raw), (Ok(Key::P256(a)), Ok(b)) if a == b),
            &group_id,
            format!("publicKeyDer {key:?} and wx/wy {raw:?} differ"),
        );
        if group.get("publicKeyJwk").is_some() {
            with_jwk += 1;
            let jwk = Key::from_jwk(KeyType::P256, &group["publicKeyJwk"]);
            failures.check(
                jwk.is_ok() && jwk == key,
                &group_id,
                format!("publicKeyJwk {jwk:?} differs from publicKeyDer {key:?}"),
            );
        }
        run_group(
            &mut failures,
            &mut counts,
            name,
            Algorithm::Es256,
            key.as_ref().ok(),
            group,
        );
    }
    check_count(&mut failures, &doc, name, counts.total(), 262);
    failures.assert_none();
    assert_eq!(
        (groups, with_jwk),
        (112, 103),
        "(groups, groups with a JWK)"
    );
    assert_eq!(
        counts,
        Counts {
            valid: 173,
            invalid: 89,
            acceptable: 0,
            skipped: 0
        }
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Wycheproof Ed25519.

/// Every case with the key from `publicKeyDer`, checked equal to the key from `publicKeyJwk`
/// and from the raw `pk`.
#[test]
fn wycheproof_ed25519() {
    const FILE: &str = "wycheproof/ed25519_test.json";
    let name = short_name(FILE);
    let doc = load_json(FILE);
    let mut failures = Failures::new("Wycheproof Ed25519 (EdDSA)");
    let mut counts = Counts::default();
    let mut groups = 0usize;
    for group in json_array(&doc["testGroups"], "testGroups") {
        groups += 1;
        let first = json_array(&group["tests"], "tests")
            .first()
            .map_or(0, tc_id);
        let group_id = format!("{name} group of tcId {first}");
        failures.check(
            group["type"] == "EddsaVerify" && group["publicKey"]["curve"] == "edwards25519",
            &group_id,
            "unexpected group parameters",
        );
        let der = hex(json_str(&group["publicKeyDer"], "publicKeyDer"));
        let key = Key::from_spki(KeyType::Ed25519, &der);
        let pk: [u8; 32] = hex(json_str(&group["publicKey"]["pk"], "pk"))
            .try_into()
            .unwrap_or_else(|pk| panic!("{group_id}: pk is not 32 bytes: {pk:02x?}"));
        let raw = Ed25519VerifyingKey::from_bytes(&pk);
        let jwk = Key::from_jwk(KeyType::Ed25519, &group["publicKeyJwk"]);
        failures.check(
            matches!((&key, &raw), (Ok(Key::Ed25519(a)), Ok(b)) if a == b) && jwk == key,
            &group_id,
            format!("publicKeyDer {key:?}, pk {raw:?} and publicKeyJwk {jwk:?} differ"),
        );
        run_group(
            &mut failures,
            &mut counts,
            name,
            Algorithm::EdDsa,
            key.as_ref().ok(),
            group,
        );
        // The fully-specified name (RFC 9864) is the same algorithm.
        run_group(
            &mut failures,
            &mut Counts::default(),
            name,
            Algorithm::Ed25519,
            key.as_ref().ok(),
            group,
        );
    }
    check_count(&mut failures, &doc, name, counts.total(), 151);
    failures.assert_none();
    assert_eq!(groups, 78, "groups");
    assert_eq!(
        counts,
        Counts {
            valid: 88,
            invalid: 63,
            acceptable: 0,
            skipped: 0
        }
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Wycheproof RSASSA-PSS SHA-256, MGF1-SHA-256, salt 32 (PS256).

/// The three PS256 files and their number of tests.
const PSS_FILES: [(&str, usize); 3] = [
    ("wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json", 108),
    ("wycheproof/rsa_pss_3072_sha256_mgf1_32_test.json", 108),
    ("wycheproof/rsa_pss_4096_sha256_mgf1_32_test.json", 108),
];

/// Every case with the key from `publicKeyDer`, checked equal to the key from `publicKeyAsn`
/// (PKCS#1) and `publicKeyJwk` (whose `alg` PS256 the RS256-only reader refuses, asserted).
/// No valid PS256 signature may verify as RS256.
#[test]
fn wycheproof_ps256() {
    let mut failures = Failures::new("Wycheproof RSASSA-PSS SHA-256 MGF1-SHA-256 salt 32 (PS256)");
    let mut counts = Counts::default();
    for (file, expected) in PSS_FILES {
        let name = short_name(file);
        let doc = load_json(file);
        let mut file_counts = Counts::default();
        for group in json_array(&doc["testGroups"], "testGroups") {
            let group_id = format!("{name} group");
            failures.check(
                group["type"] == "RsassaPssVerify"
                    && group["sha"] == "SHA-256"
                    && group["mgf"] == "MGF1"
                    && group["mgfSha"] == "SHA-256"
                    && group["sLen"] == 32,
                &group_id,
                "unexpected group parameters",
            );
            let der = hex(json_str(&group["publicKeyDer"], "publicKeyDer"));
            let key = Key::from_spki(KeyType::Rsa, &der);
            let pkcs1 =
                RsaVerifyingKey::from_pkcs1_der(&hex(json_str(&group["publicKeyAsn"], "asn")));
            failures.check(
                matches!((&key, &pkcs1), (Ok(Key::Rsa(a)), Ok(b)) if a == b),
                &group_id,
                format!("publicKeyDer {key:?} and publicKeyAsn {pkcs1:?} differ"),
            );
            let jwk_text = group["publicKeyJwk"].to_string();
            // Its JWK says alg PS256: the key serves PS256 and nothing else.
            let pinned = VerifyingKey::from_jwk(&jwk_text).map(|k| k.algorithm());
            failures.check(
                pinned == Ok(Some(Algorithm::Ps256)),
                &group_id,
                format!("the PS256 JWK loads as {pinned:?}"),
            );
            let jwk = Key::from_jwk(KeyType::Rsa, &group["publicKeyJwk"]).map(Key::without_kid);
            failures.check(
                jwk.is_ok() && jwk == key,
                &group_id,
                format!("publicKeyJwk {jwk:?} differs from publicKeyDer {key:?}"),
            );
            run_group(
                &mut failures,
                &mut file_counts,
                name,
                Algorithm::Ps256,
                key.as_ref().ok(),
                group,
            );
            // RS256/PS256 confusion: no PSS signature verifies as PKCS#1 v1.5.
            for test in json_array(&group["tests"], "tests") {
                let (msg, sig) = (
                    hex(json_str(&test["msg"], "msg")),
                    hex(json_str(&test["sig"], "sig")),
                );
                if let Ok(key) = &key {
                    failures.check(
                        !verify(Algorithm::Rs256, key, &msg, &sig)
                            || test["flags"] == json!(["WrongPrimitive"]),
                        format!("{name} tcId {}", tc_id(test)),
                        "a PSS vector verifies as RS256",
                    );
                }
            }
        }
        check_count(&mut failures, &doc, name, file_counts.total(), expected);
        counts.valid += file_counts.valid;
        counts.invalid += file_counts.invalid;
        counts.acceptable += file_counts.acceptable;
    }
    failures.assert_none();
    assert_eq!(
        counts,
        Counts {
            valid: 189,
            invalid: 135,
            acceptable: 0,
            skipped: 0
        }
    );
}

/// The PSS parameter grid (2048 bits): SHA-256/MGF1-SHA-256 with salt 32 (tcId 76) verifies;
/// the same hashes with salt 0, 20, 28, 48 or 64 are expected to fail, against the file's
/// `valid` (their own parameters); the other hash pairs are skipped as vectors, yet each must
/// be refused by the PS256 verifier.
#[test]
fn wycheproof_pss_misc_salt_lengths() {
    const FILE: &str = "wycheproof/rsa_pss_misc_test.json";
    let name = short_name(FILE);
    let doc = load_json(FILE);
    let mut failures = Failures::new("Wycheproof RSASSA-PSS parameter grid, as PS256");
    let mut counts = Counts::default();
    let mut salt_lengths = Vec::new();
    for group in json_array(&doc["testGroups"], "testGroups") {
        let key = Key::from_spki(
            KeyType::Rsa,
            &hex(json_str(&group["publicKeyDer"], "publicKeyDer")),
        );
        let ps256_hashes = group["sha"] == "SHA-256" && group["mgfSha"] == "SHA-256";
        let salt = json_u64(&group["sLen"], "sLen");
        for test in json_array(&group["tests"], "tests") {
            let id = format!(
                "{name} tcId {} ({} / MGF1-{} / sLen {salt})",
                tc_id(test),
                group["sha"],
                group["mgfSha"]
            );
            failures.check(
                test["result"] == "valid",
                &id,
                "the file's label is not valid",
            );
            let expected = ps256_hashes && salt == 32;
            if ps256_hashes {
                salt_lengths.push((tc_id(test), salt));
                if expected {
                    counts.valid += 1;
                } else {
                    counts.invalid += 1;
                }
            } else {
                counts.skipped += 1;
            }
            let msg = hex(json_str(&test["msg"], "msg"));
            let sig = hex(json_str(&test["sig"], "sig"));
            let verified = key
                .as_ref()
                .is_ok_and(|key| verify(Algorithm::Ps256, key, &msg, &sig));
            failures.check(
                verified == expected,
                &id,
                format!("PS256 verification returned {verified}, expected {expected}"),
            );
        }
    }
    check_count(&mut failures, &doc, name, counts.total(), 150);
    failures.assert_none();
    salt_lengths.sort_unstable();
    assert_eq!(
        salt_lengths,
        [(73, 0), (74, 20), (75, 28), (76, 32), (77, 48), (78, 64)],
        "SHA-256/MGF1-SHA-256 cases (tcId, sLen)"
    );
    assert_eq!(
        counts,
        Counts {
            valid: 1,
            invalid: 5,
            acceptable: 0,
            skipped: 144
        }
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Wycheproof JWS: the ES256 and PS256 groups, at the primitive level.

/// The groups of `json_web_signature_test.json` whose key is P-256 or PS256 (RSA), checked
/// here with the header `alg` read independently ([`split_jws`]) and the primitive of that
/// `alg` (others refused). `ec_key_for_encryption` (a key whose `use` or `key_ops` forbids
/// verification: the key layer's rule) and the `rfc7520*` and `ps512` groups (keys whose
/// JWK `alg` is PS256 or PS512 serving PS384 or other tokens: also the key layer's rule) are
/// skipped, counted.
#[test]
fn wycheproof_jws_es256_ps256_groups() {
    const FILE: &str = "wycheproof/json_web_signature_test.json";
    let doc = load_json(FILE);
    let mut failures = Failures::new("Wycheproof JWS, ES256 and PS256 groups");
    let mut counts = Counts::default();
    for group in json_array(&doc["testGroups"], "testGroups") {
        let comment = group["comment"].as_str().unwrap_or_default();
        let tests = json_array(&group["tests"], "tests");
        let key_type = match comment {
            "es256" | "SpecialCaseEs256" => KeyType::P256,
            "ps256" => KeyType::Rsa,
            "ec_key_for_encryption" | "rfc7520" | "rfc7520WithKeyOps" | "ps512" => {
                counts.skipped += tests.len();
                continue;
            }
            _ => continue,
        };
        let key = Key::from_jwk(key_type, &group["public"]).map(Key::without_kid);
        failures.check(key.is_ok(), comment, format!("public key refused: {key:?}"));
        for test in tests {
            let id = format!("json_web_signature tcId {} ({comment})", tc_id(test));
            let expected = match json_str(&test["result"], "result") {
                "valid" => {
                    counts.valid += 1;
                    true
                }
                "invalid" => {
                    counts.invalid += 1;
                    false
                }
                other => {
                    failures.push(&id, format!("result {other:?}"));
                    continue;
                }
            };
            let verified = match (&key, test["jws"].as_str()) {
                (Ok(key), Some(jws)) => verify_jws(jws, key),
                _ => false,
            };
            failures.check(
                verified == expected,
                &id,
                format!(
                    "{expected} expected ({:?}): verified {verified}",
                    test["comment"].as_str().unwrap_or_default()
                ),
            );
        }
    }
    failures.assert_none();
    assert_eq!(
        counts,
        Counts {
            valid: 8,
            invalid: 79,
            acceptable: 0,
            skipped: 30
        }
    );
}

// ---------------------------------------------------------------------------------------------
// 5. RFC 8037 Appendix A.4, the RFC 7520 cookbook.

/// RFC 8037 A.4 verifies under the A.2 key (from the wrapper file and from the cookbook's
/// copy), as `EdDSA` and as `Ed25519`; `openssl` re-signing the A.4 signing input with the
/// A.1 secret reproduces the signature; the A.1 private JWK is refused as a public key.
#[test]
fn rfc8037_a4_eddsa() {
    let doc = load_json("rfc/rfc8037_A4_eddsa.json");
    let mut failures = Failures::new("RFC 8037 A.4");
    let key = Key::from_jwk(KeyType::Ed25519, &doc["A2_public_jwk"]);
    let raw: [u8; 32] = hex(json_str(&doc["A1_public_key_hex"], "pk"))
        .try_into()
        .unwrap_or([0; 32]);
    failures.check(
        matches!((&key, Ed25519VerifyingKey::from_bytes(&raw)), (Ok(Key::Ed25519(a)), Ok(b)) if *a == b),
        "A.2",
        format!("A.2 JWK {key:?} is not the A.1 public key"),
    );
    let Ok(key) = key else {
        failures.assert_none();
        return;
    };
    let jws = json_str(&doc["A4_jws_compact"], "A4_jws_compact");
    failures.check(doc["expected_result"] == "valid", "A.4", "expected_result");
    failures.check(
        verify_jws(jws, &key),
        "A.4",
        "the compact JWS does not verify",
    );
    let (input, alg, signature) = split_jws(jws).unwrap_or_default();
    failures.check(
        alg == "EdDSA" && input == doc["A4_signing_input"],
        "A.4",
        "split",
    );
    failures.check(
        verify(Algorithm::Ed25519, &key, input.as_bytes(), &signature),
        "A.4",
        "refused under the name Ed25519",
    );
    failures.check(
        hex(json_str(&doc["A4_signature_hex"], "hex")) == signature,
        "A.4",
        "A4_signature_hex differs from the compact form",
    );
    for alg in [Algorithm::Rs256, Algorithm::Ps256, Algorithm::Es256] {
        failures.check(
            !verify(alg, &key, input.as_bytes(), &signature),
            "A.4",
            format!("verifies as {alg}"),
        );
    }
    failures.check(
        Ed25519VerifyingKey::from_jwk(json_str(&doc["A1_private_jwk_text"], "A1"))
            == Err(KeyMaterialError::PrivateKeyMaterial),
        "A.1",
        "the private JWK is not refused",
    );
    // The cookbook's copy (its key also has "use":"sig" and the private "d": read x alone).
    let cookbook = load_json("rfc/ietf-jose-cookbook/curve25519/jws.json");
    let public = json!({
        "kty": cookbook["input"]["key"]["kty"],
        "crv": cookbook["input"]["key"]["crv"],
        "x": cookbook["input"]["key"]["x"],
    });
    failures.check(
        Key::from_jwk(KeyType::Ed25519, &public).as_ref() == Ok(&key)
            && verify_jws(json_str(&cookbook["output"]["compact"], "compact"), &key),
        "cookbook curve25519",
        "key or signature differs",
    );
    // openssl, an independent Ed25519 signer: Ed25519 is deterministic (RFC 8032 §5.1.6).
    let seed = hex(json_str(&doc["A1_secret_key_hex"], "secret"));
    let pkcs8 = [hex("302e020100300506032b657004220420"), seed].concat();
    let dir = TempDir::new("rfc7523-rfc8037");
    let private = dir.write("a1.der", &pkcs8);
    let message = dir.write("a4.txt", input);
    let resigned = openssl_ok(
        [
            "pkeyutl".as_ref(),
            "-sign".as_ref(),
            "-rawin".as_ref(),
            "-keyform".as_ref(),
            "DER".as_ref(),
            "-inkey".as_ref(),
            private.as_os_str(),
            "-in".as_ref(),
            message.as_os_str(),
        ],
        None,
    );
    failures.check(
        resigned == signature,
        "A.4",
        "openssl's signature differs from A.4's",
    );
    failures.assert_none();
}

/// RFC 7520 §4.2 (PS384) and §4.3 (ES512 on P-521): algorithms outside the table, and keys
/// of the wrong size or curve.
#[test]
fn rfc7520_cookbook_other_algorithms() {
    let mut failures = Failures::new("RFC 7520 cookbook 4.2, 4.3, 3.1, 3.2");
    let pss = load_json("rfc/ietf-jose-cookbook/jws/4_2.rsa-pss_signature.json");
    let rsa_jwk = load_json("rfc/ietf-jose-cookbook/jwk/3_3.rsa_public_key.json");
    let rsa = Key::from_jwk(KeyType::Rsa, &rsa_jwk).map(Key::without_kid);
    let compact = json_str(&pss["output"]["compact"], "compact");
    let (input, alg, signature) = split_jws(compact).unwrap_or_default();
    failures.check(
        alg == "PS384" && Algorithm::from_header(&alg).is_none(),
        "4.2",
        "alg",
    );
    failures.check(
        rsa.as_ref()
            .is_ok_and(|key| !verify(Algorithm::Ps256, key, input.as_bytes(), &signature)),
        "4.2",
        format!("a PS384 signature verifies as PS256 (key {rsa:?})"),
    );
    let ecdsa = load_json("rfc/ietf-jose-cookbook/jws/4_3.ecdsa_signature.json");
    let (_, alg, signature) =
        split_jws(json_str(&ecdsa["output"]["compact"], "compact")).unwrap_or_default();
    failures.check(
        alg == "ES512" && Algorithm::from_header(&alg).is_none() && signature.len() == 132,
        "4.3",
        format!("alg {alg}, {} signature bytes", signature.len()),
    );
    let p521 = read_vector_text("rfc/ietf-jose-cookbook/jwk/3_1.ec_public_key.json");
    failures.check(
        P256VerifyingKey::from_jwk(&p521) == Err(KeyMaterialError::WrongCurve),
        "3.1",
        "a P-521 JWK is not refused as P-256",
    );
    let private = read_vector_text("rfc/ietf-jose-cookbook/jwk/3_2.ec_private_key.json");
    failures.check(
        P256VerifyingKey::from_jwk(&private) == Err(KeyMaterialError::PrivateKeyMaterial),
        "3.2",
        "a private EC JWK is not refused",
    );
    failures.assert_none();
}

// ---------------------------------------------------------------------------------------------
// 6. Public fixtures.

/// The key of a fixture: from its PEM file and its JWK (both must agree), or from its
/// OpenSSH text and its JWK. `None` (recorded) when a form is refused or they differ.
fn fixture_key(failures: &mut Failures, id: &str, key_type: KeyType, key: &Value) -> Option<Key> {
    let jwk = Key::from_jwk(key_type, &key["jwk"]).map(Key::without_kid);
    let other = if let Some(file) = key["pem_file"].as_str() {
        Key::from_pem(key_type, &read_vector_text(&format!("fixtures/{file}")))
    } else if let Some(openssh) = key["openssh"].as_str() {
        openssh_key(openssh)
    } else {
        jwk.clone()
    };
    if jwk.is_err() || jwk != other {
        failures.push(id, format!("JWK {jwk:?} and PEM/OpenSSH {other:?} differ"));
        return None;
    }
    jwk.ok()
}

/// An OpenSSH public key line (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4): `ssh-ed25519` or
/// `ecdsa-sha2-nistp256`, read from its wire form.
fn openssh_key(line: &str) -> Result<Key, String> {
    use base64ct::{Base64, Encoding};
    let mut fields = line.split_whitespace();
    let (Some(kind), Some(blob)) = (fields.next(), fields.next()) else {
        return Err(format!("not an OpenSSH key line: {line}"));
    };
    let blob = Base64::decode_vec(blob).map_err(|e| e.to_string())?;
    let mut strings = Vec::new();
    let mut rest = blob.as_slice();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = u32::from_be_bytes(*len) as usize;
        let (string, tail) = tail.split_at_checked(len).ok_or("truncated OpenSSH blob")?;
        strings.push(string);
        rest = tail;
    }
    match (kind, strings.as_slice()) {
        ("ssh-ed25519", [name, pk]) if *name == kind.as_bytes() => {
            let pk: [u8; 32] = (*pk).try_into().map_err(|_| "pk length")?;
            Ed25519VerifyingKey::from_bytes(&pk)
                .map(Key::Ed25519)
                .map_err(|e| format!("{e:?}"))
        }
        ("ecdsa-sha2-nistp256", [name, b"nistp256", q]) if *name == kind.as_bytes() => {
            let (tag, xy) = q.split_first().ok_or("empty point")?;
            let (x, y) = xy.split_at_checked(32).ok_or("point length")?;
            if *tag != 4 || y.len() != 32 {
                return Err("not an uncompressed P-256 point".into());
            }
            P256VerifyingKey::from_coordinates(
                x.try_into().unwrap_or(&[0; 32]),
                y.try_into().unwrap_or(&[0; 32]),
            )
            .map(Key::P256)
            .map_err(|e| format!("{e:?}"))
        }
        _ => Err(format!("unsupported OpenSSH key {kind}")),
    }
}

/// Every row of `es_ps_eddsa_fixtures.json` with its expected outcome for a verifier of
/// exactly RS256, PS256, ES256, EdDSA and Ed25519 (see the module docs for the two
/// policy-dependent rows).
#[test]
fn es_ps_eddsa_fixtures() {
    let doc = load_json("fixtures/es_ps_eddsa_fixtures.json");
    let mut failures = Failures::new("ES256/PS256/EdDSA fixtures");
    let mut by_outcome = std::collections::BTreeMap::<String, usize>::new();
    let mut refused_at_parse = 0usize;
    for row in json_array(&doc["fixtures"], "fixtures") {
        let id = json_str(&row["id"], "id");
        let expected = json_str(&row["expected"], "expected");
        *by_outcome.entry(expected.to_owned()).or_default() += 1;
        let token = json_str(&row["token"], "token");
        let Some((input, alg_name, signature)) = split_jws(token) else {
            // Refused before any key is used: right only for a token expected to fail.
            failures.check(
                expected == "invalid",
                id,
                "not a compact JWS of canonical base64url with an alg",
            );
            refused_at_parse += 1;
            continue;
        };
        let alg = Algorithm::from_header(&alg_name);
        let (should_know_alg, should_verify) = match expected {
            "valid" | "alg_policy_dependent" => (true, true),
            "invalid" => (alg.is_some(), false),
            "salt_policy_dependent" => (true, false),
            "reject_alg_not_allowed" | "reject_alg_not_registered" => (false, false),
            other => {
                failures.push(id, format!("unknown expected outcome {other:?}"));
                continue;
            }
        };
        failures.check(
            alg.is_some() == should_know_alg,
            id,
            format!("alg {alg_name:?} read as {alg:?}"),
        );
        // golang-jwt's "ED25519" (not registered) with a changed payload: refused on its alg,
        // and its signature must not verify as Ed25519 either.
        let alg = match (alg, expected, alg_name.eq_ignore_ascii_case("Ed25519")) {
            (Some(alg), _, _) => alg,
            (None, "invalid", true) => Algorithm::Ed25519,
            (None, _, _) => continue,
        };
        let Some(key) = fixture_key(&mut failures, id, alg.key_type(), &row["key"]) else {
            continue;
        };
        let verified = verify(alg, &key, input.as_bytes(), &signature);
        failures.check(
            verified == should_verify,
            id,
            format!("{expected}: {alg} verification returned {verified}"),
        );
    }
    failures.assert_none();
    let counts: Vec<(&str, usize)> = by_outcome.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        counts,
        [
            ("alg_policy_dependent", 1),
            ("invalid", 3),
            ("reject_alg_not_allowed", 6),
            ("reject_alg_not_registered", 1),
            ("salt_policy_dependent", 1),
            ("valid", 8),
        ]
    );
    // golang-jwt's DER ES256 signature and its changed PS256 signature are not canonical
    // base64url (their last character was edited).
    assert_eq!(
        refused_at_parse, 2,
        "invalid fixtures refused before verification"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Signatures made by `openssl` at test time.

/// The signing input of a JWS with `alg`, as a JWT issuer would build it.
fn signing_input(alg: &str, jti: &str) -> String {
    let header = json!({ "alg": alg, "typ": "JWT" });
    let claims = json!({
        "iss": "https://issuer.example",
        "sub": "subject-4711",
        "aud": "https://as.example/token",
        "exp": 1_750_000_300u64,
        "iat": 1_750_000_000u64,
        "jti": jti,
    });
    format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// Changes one character of the payload segment (`"jti":"openssl-` → `Openssl-`), so the
/// signature no longer covers the signing input.
fn tampered(input: &str) -> String {
    let segments: Vec<&str> = input.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&b64url_decode(segments[1]).unwrap_or_default()).unwrap_or_default();
    payload["jti"] = json!(payload["jti"]
        .as_str()
        .unwrap_or_default()
        .replacen('o', "O", 1));
    format!("{}.{}", segments[0], b64url(payload.to_string().as_bytes()))
}

/// Runs `openssl dgst -sha256 -sign KEY [sigopts]` over `input`.
fn openssl_sign(key: &std::path::Path, sigopts: &[&str], input: &str) -> Vec<u8> {
    let mut args: Vec<std::ffi::OsString> =
        vec!["dgst".into(), "-sha256".into(), "-sign".into(), key.into()];
    for opt in sigopts {
        args.push("-sigopt".into());
        args.push((*opt).into());
    }
    openssl_ok(args, Some(input.as_bytes()))
}

/// The SPKI DER of a private key PEM file, by `openssl pkey -pubout`.
fn openssl_spki(key: &std::path::Path) -> Vec<u8> {
    openssl_ok(
        [
            "pkey".as_ref(),
            "-in".as_ref(),
            key.as_os_str(),
            "-pubout".as_ref(),
            "-outform".as_ref(),
            "DER".as_ref(),
        ],
        None,
    )
}

/// ES256, Ed25519 and PS256 signatures of JWS signing inputs made by `openssl` with fresh
/// keys (and, for PS256, the Wycheproof 2048/3072/4096 generation keys and fresh keys of
/// 2049, 3073 and 4097 bits, where EMSA-PSS works on one byte less than the modulus) verify; a
/// changed payload does not; PS256 with another salt length (20, 64, the maximum) does not.
#[test]
fn openssl_signatures_verify() {
    let version = openssl_ok(["version"], None);
    assert!(
        String::from_utf8_lossy(&version).starts_with("OpenSSL"),
        "unexpected `openssl version` output: {}",
        String::from_utf8_lossy(&version)
    );
    let mut failures = Failures::new("openssl -> rfc7523 primitives");
    let dir = TempDir::new("rfc7523-algorithms");
    let mut checked = 0usize;
    let mut check = |failures: &mut Failures,
                     id: &str,
                     alg: Algorithm,
                     key: &Key,
                     input: &str,
                     signature: &[u8]| {
        checked += 1;
        failures.check(verify(alg, key, input.as_bytes(), signature), id, "refused");
        failures.check(
            !verify(alg, key, tampered(input).as_bytes(), signature),
            id,
            "verifies a changed payload",
        );
        // One algorithm per key type: no other algorithm accepts it.
        for other in Algorithm::ALL {
            if other.key_type() != alg.key_type()
                || other == Algorithm::Rs256 && alg == Algorithm::Ps256
            {
                failures.check(
                    !verify(other, key, input.as_bytes(), signature),
                    id,
                    format!("also verifies as {other}"),
                );
            }
        }
    };

    // ES256: a fresh P-256 key; openssl writes DER, JWS carries R || S.
    let ec = dir.join("p256.pem");
    openssl_ok(
        [
            "genpkey".as_ref(),
            "-algorithm".as_ref(),
            "EC".as_ref(),
            "-pkeyopt".as_ref(),
            "ec_paramgen_curve:P-256".as_ref(),
            "-out".as_ref(),
            ec.as_os_str(),
        ],
        None,
    );
    match Key::from_spki(KeyType::P256, &openssl_spki(&ec)) {
        Ok(key) => {
            for i in 0..8 {
                let input = signing_input("ES256", &format!("openssl-es256-{i}"));
                let der = openssl_sign(&ec, &[], &input);
                let raw = der_to_raw(&der);
                check(
                    &mut failures,
                    &format!("ES256 #{i}"),
                    Algorithm::Es256,
                    &key,
                    &input,
                    &raw,
                );
                failures.check(
                    !verify(Algorithm::Es256, &key, input.as_bytes(), &der),
                    format!("ES256 #{i}"),
                    "the DER signature verifies",
                );
            }
        }
        Err(e) => failures.push("ES256", format!("openssl's SPKI refused: {e}")),
    }

    // Ed25519: a fresh key; `pkeyutl -rawin` signs the message itself (PureEdDSA).
    let ed = dir.join("ed25519.pem");
    openssl_ok(
        [
            "genpkey".as_ref(),
            "-algorithm".as_ref(),
            "ed25519".as_ref(),
            "-out".as_ref(),
            ed.as_os_str(),
        ],
        None,
    );
    match Key::from_spki(KeyType::Ed25519, &openssl_spki(&ed)) {
        Ok(key) => {
            for (i, alg) in [Algorithm::EdDsa, Algorithm::Ed25519]
                .into_iter()
                .enumerate()
            {
                let input = signing_input(alg.as_str(), &format!("openssl-eddsa-{i}"));
                let message = dir.write("ed-input.txt", &input);
                let signature = openssl_ok(
                    [
                        "pkeyutl".as_ref(),
                        "-sign".as_ref(),
                        "-rawin".as_ref(),
                        "-inkey".as_ref(),
                        ed.as_os_str(),
                        "-in".as_ref(),
                        message.as_os_str(),
                    ],
                    None,
                );
                check(
                    &mut failures,
                    &format!("{alg} #{i}"),
                    alg,
                    &key,
                    &input,
                    &signature,
                );
            }
        }
        Err(e) => failures.push("Ed25519", format!("openssl's SPKI refused: {e}")),
    }

    // PS256: the Wycheproof generation keys (PKCS#1 PEM) and fresh keys of odd sizes.
    let mut rsa_keys = Vec::new();
    for file in [
        "wycheproof/rsa_pkcs1_2048_sig_gen_test.json",
        "wycheproof/rsa_pkcs1_3072_sig_gen_test.json",
        "wycheproof/rsa_pkcs1_4096_sig_gen_test.json",
    ] {
        let doc = load_json(file);
        let group = json_array(&doc["testGroups"], "testGroups")
            .iter()
            .find(|g| g["privateKey"]["publicExponent"] == "010001")
            .unwrap_or_else(|| panic!("{file}: no key with e = 65537"));
        let bits = json_u64(&group["keySize"], "keySize");
        rsa_keys.push((
            bits,
            dir.write(
                &format!("rsa{bits}.pem"),
                json_str(&group["privateKeyPem"], "pem"),
            ),
        ));
    }
    // Sizes of 8m + 1 bits, where EMSA-PSS's encoded message is one byte shorter than the
    // modulus. Three primes: OpenSSL 3.0 makes a two-prime key of an odd size one bit short
    // (2049 gives 2048). The public key is an ordinary (n, e) either way.
    for bits in [2049u64, 3073, 4097] {
        let path = dir.join(&format!("rsa{bits}.pem"));
        openssl_ok(
            [
                "genpkey".as_ref(),
                "-algorithm".as_ref(),
                "RSA".as_ref(),
                "-pkeyopt".as_ref(),
                format!("rsa_keygen_bits:{bits}").as_ref(),
                "-pkeyopt".as_ref(),
                "rsa_keygen_primes:3".as_ref(),
                "-out".as_ref(),
                path.as_os_str(),
            ],
            None,
        );
        rsa_keys.push((bits, path));
    }
    for (bits, path) in &rsa_keys {
        let key = match Key::from_spki(KeyType::Rsa, &openssl_spki(path)) {
            Ok(Key::Rsa(key)) if key.bits() as u64 == *bits => Key::Rsa(key),
            other => {
                failures.push(format!("PS256 {bits}"), format!("key: {other:?}"));
                continue;
            }
        };
        let input = signing_input("PS256", &format!("openssl-ps256-{bits}"));
        let pss = |salt: &str| {
            openssl_sign(
                path,
                &[
                    "rsa_padding_mode:pss",
                    &format!("rsa_pss_saltlen:{salt}"),
                    "rsa_mgf1_md:sha256",
                ],
                &input,
            )
        };
        check(
            &mut failures,
            &format!("PS256 {bits} bits"),
            Algorithm::Ps256,
            &key,
            &input,
            &pss("32"),
        );
        for salt in ["20", "64", "max", "0"] {
            failures.check(
                !verify(Algorithm::Ps256, &key, input.as_bytes(), &pss(salt)),
                format!("PS256 {bits} bits"),
                format!("a salt of {salt} verifies"),
            );
        }
        // The other direction of the confusion: openssl's RS256 is not PS256.
        let pkcs1 = openssl_sign(path, &[], &input);
        failures.check(
            !verify(Algorithm::Ps256, &key, input.as_bytes(), &pkcs1)
                && verify(Algorithm::Rs256, &key, input.as_bytes(), &pkcs1),
            format!("PS256 {bits} bits"),
            "a PKCS#1 v1.5 signature: RS256 must verify it, PS256 must not",
        );
    }
    failures.assert_none();
    assert_eq!(checked, 8 + 2 + rsa_keys.len(), "signatures checked");
}
