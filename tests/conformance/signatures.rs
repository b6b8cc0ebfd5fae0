//! Signature-layer conformance: RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 §8.2,
//! RFC 7518 §3.3) against Project Wycheproof, the RFC 7515 and RFC 7520 examples and public
//! RS256 fixtures, plus interoperability with the `openssl` command-line tool in both
//! directions.
//!
//! Each test walks one vector family, collects every failing case (named by its tcId or id),
//! and asserts at the end both that none failed and that exactly the expected number of cases
//! ran, so that an empty, truncated or mis-filtered vector file cannot pass. Sources and
//! counts: `vectors/README.md`.
//!
//! Deliberate differences from the vectors' labels (each asserted below, with its reason):
//! - Wycheproof `acceptable` + `MissingNull` (tcId 8 of each verify file): we **reject**. The
//!   verifier compares against the one correct RFC 8017 §9.2 encoding, which has the NULL.
//! - Wycheproof JWS: JWKs whose `alg` is not `RS256`, whose `use` is not `sig` or whose
//!   `key_ops` lacks `verify` are refused at load (`KeyError::NotForRs256`), so their tokens,
//!   including those labelled `valid` (RS384/RS512/PS*), are rejected. Tokens whose header
//!   `alg` is not `RS256` are `Error::UnsupportedAlgorithm`.
//! - Wycheproof JWS tcIds 372 and 373 (HS256, labelled `valid` although a `?` is inserted in
//!   the header or payload segment): refused, being HS256 and not canonical base64url.

use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::DecodeBuffer;
use rfc7523::{
    Algorithm, Claim, Error, GrantProfile, HeaderParameter, KeyError, KeyHint, KeyMaterial, KeySet,
    Malformed, MemoryReplayStore, Part, Party, RsaVerifyingKey, UnverifiedAssertion,
    VerifiedAssertion, VerifyingKey,
};
use rfc7523_conformance::{
    b64url, b64url_decode, hex, json_array, json_str, json_u64, load_json, openssl, openssl_ok,
    read_vector_text, text, Failures, TempDir,
};
use serde_json::{json, Value};

/// The time of every profile check here (Unix seconds): the crate never reads a clock.
const NOW: u64 = 1_750_000_000;
const ISSUER: &str = "https://issuer.example";
const SUBJECT: &str = "subject-4711";
const AUDIENCE: &str = "https://as.example/token";

/// `key` as an RSA key with `kid` (what a JWK with that `kid` loads as).
fn with_kid(key: &RsaVerifyingKey, kid: &str) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::new(KeyMaterial::Rsa(key.clone())).with_kid(kid)
}

/// True when `jwk` loaded as the RSA key `key` with `kid`.
fn is_rsa_with_kid(jwk: &Result<VerifyingKey, KeyError>, key: &RsaVerifyingKey, kid: &str) -> bool {
    jwk.as_ref().is_ok_and(|jwk| {
        jwk.kid() == Some(kid) && matches!(jwk.material(), KeyMaterial::Rsa(k) if k == key)
    })
}

/// Parses and verifies `token` against `keys`: the JWS layer, without claim rules. Each call
/// decodes into a buffer of its own, leaked
/// (a test run's few megabytes) so that the result can outlive the helper.
fn verify_jws(token: &str, keys: &KeySet) -> Result<VerifiedAssertion<'static>, Error> {
    UnverifiedAssertion::parse(token, Box::leak(Box::default()))?.verify(keys)
}

/// Runs `token` through the authorization-grant profile, trusting `issuer` with `keys`, with
/// a fresh replay store.
fn validate_grant(token: &str, issuer: &str, keys: &KeySet, now: u64) -> Result<(), Error> {
    let issuers = [Party::new(issuer, keys)];
    let profile = GrantProfile {
        issuers: &issuers[..],
        audiences: &[AUDIENCE],
    };
    let mut replay = MemoryReplayStore::<8>::new();
    profile
        .validate(token, now, &mut replay, &mut DecodeBuffer::new())
        .map(|_| ())
}

/// The header `alg` of a compact JWS, read independently of the crate (serde_json and a
/// strict base64url decoder): `None` when the token has not three segments or the header is
/// not canonical base64url of a JSON object with a string `alg`.
fn header_alg(jws: &str) -> Option<String> {
    let segments: Vec<&str> = jws.split('.').collect();
    let [header, _, _] = segments.as_slice() else {
        return None;
    };
    let header: Value = serde_json::from_slice(&b64url_decode(header)?).ok()?;
    header.get("alg")?.as_str().map(str::to_owned)
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

// ---------------------------------------------------------------------------------------------
// 1. Wycheproof RSASSA-PKCS1-v1_5 SHA-256 verification.

/// The four v1 verify files and their number of tests (README §1).
const RSA_VERIFY_FILES: [(&str, usize); 4] = [
    ("wycheproof/rsa_signature_2048_sha256_test.json", 259),
    ("wycheproof/rsa_signature_3072_sha256_test.json", 259),
    ("wycheproof/rsa_signature_4096_sha256_test.json", 258),
    ("wycheproof/rsa_signature_8192_sha256_test.json", 258),
];

/// Every case of the four files through [`RsaVerifyingKey::verify_rs256`], the primitive
/// under JWS verification, with the group key read from SPKI DER and checked equal when read
/// from PKCS#1 DER, PEM and JWK.
#[test]
fn wycheproof_rsa_pkcs1_sha256_verify() {
    let mut failures = Failures::new("Wycheproof RSASSA-PKCS1-v1_5 SHA-256 verify");
    let (mut total, mut valid, mut acceptable, mut invalid) = (0usize, 0usize, 0usize, 0usize);
    for (file, expected_count) in RSA_VERIFY_FILES {
        let name = short_name(file);
        let doc = load_json(file);
        let mut count = 0usize;
        for group in json_array(&doc["testGroups"], "testGroups") {
            let tests = json_array(&group["tests"], "tests");
            failures.check(
                group["sha"] == "SHA-256" && group["type"] == "RsassaPkcs1Verify",
                name,
                format!(
                    "unexpected group: sha {}, type {}",
                    group["sha"], group["type"]
                ),
            );
            let spki = hex(json_str(&group["publicKeyDer"], "publicKeyDer"));
            let key = match RsaVerifyingKey::from_spki_der(&spki) {
                Ok(key) => key,
                Err(e) => {
                    // Every key here is 2048 to 8192 bits with e = 65537 or 3: all must load.
                    for test in tests {
                        count += 1;
                        failures.push(
                            format!("{name} tcId {}", tc_id(test)),
                            format!("group key refused: {e:?}"),
                        );
                    }
                    continue;
                }
            };
            let group_id = format!("{name} group of tcId {}", tc_id(&tests[0]));
            failures.check(
                key.bits() as u64 == json_u64(&group["keySize"], "keySize"),
                &group_id,
                format!("bits() = {}, keySize {}", key.bits(), group["keySize"]),
            );
            let pkcs1 = RsaVerifyingKey::from_pkcs1_der(&hex(json_str(
                &group["publicKeyAsn"],
                "publicKeyAsn",
            )));
            failures.check(
                pkcs1.as_ref() == Ok(&key),
                &group_id,
                format!("from_pkcs1_der(publicKeyAsn) differs: {pkcs1:?}"),
            );
            let pem = RsaVerifyingKey::from_pem(json_str(&group["publicKeyPem"], "publicKeyPem"));
            failures.check(
                pem.as_ref() == Ok(&key),
                &group_id,
                format!("from_pem(publicKeyPem) differs: {pem:?}"),
            );
            // The JWK carries "kid":"none" and "alg":"RS256": same key, with that kid.
            let jwk = VerifyingKey::from_jwk(&group["keyJwk"].to_string());
            failures.check(
                is_rsa_with_kid(&jwk, &key, "none"),
                &group_id,
                format!("from_jwk(keyJwk) differs: {jwk:?}"),
            );
            for test in tests {
                count += 1;
                let id = format!("{name} tcId {}", tc_id(test));
                let result = json_str(&test["result"], "result");
                let flags = &test["flags"];
                let expected = match result {
                    "valid" => {
                        valid += 1;
                        true
                    }
                    "invalid" => {
                        invalid += 1;
                        false
                    }
                    "acceptable" => {
                        acceptable += 1;
                        // Wycheproof allows either outcome. We REJECT by design: the only
                        // acceptable case is MissingNull (a DigestInfo without the NULL
                        // parameter), and the verifier accepts only the RFC 8017 §9.2
                        // encoding, which has it. Any other acceptable case would need its
                        // own decision, so it fails here.
                        failures.check(
                            *flags == json!(["MissingNull"]),
                            &id,
                            format!("acceptable case with unexpected flags {flags}"),
                        );
                        false
                    }
                    other => {
                        failures.push(&id, format!("unknown result {other:?}"));
                        continue;
                    }
                };
                let msg = hex(json_str(&test["msg"], "msg"));
                let sig = hex(json_str(&test["sig"], "sig"));
                let verified = key.verify_rs256(&msg, &sig);
                failures.check(
                    verified == expected,
                    &id,
                    format!(
                        "{result} ({:?}, flags {flags}): verify_rs256 returned {verified}",
                        test["comment"].as_str().unwrap_or_default()
                    ),
                );
            }
        }
        failures.check(
            count == expected_count,
            name,
            format!("ran {count} cases, expected {expected_count}"),
        );
        failures.check(
            doc["numberOfTests"] == json!(count),
            name,
            format!(
                "ran {count} cases, numberOfTests says {}",
                doc["numberOfTests"]
            ),
        );
        total += count;
    }
    failures.assert_none();
    assert_eq!(
        (total, valid, acceptable, invalid),
        (1034, 31, 4, 999),
        "(cases, valid, acceptable, invalid)"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Wycheproof PKCS#1 v1.5 signature-generation vectors (SHA-256 groups only).

/// The sig_gen files used, with their number of SHA-256 groups and SHA-256 tests (README §1).
const SIG_GEN_FILES: [(&str, usize, usize); 3] = [
    ("wycheproof/rsa_pkcs1_2048_sig_gen_test.json", 3, 10),
    ("wycheproof/rsa_pkcs1_3072_sig_gen_test.json", 2, 9),
    ("wycheproof/rsa_pkcs1_4096_sig_gen_test.json", 1, 8),
];

/// The SHA-256 groups of a sig_gen file, named for messages (`<file> group of tcId <first>`).
fn sha256_groups(doc: &Value, name: &str) -> Vec<(String, Value)> {
    json_array(&doc["testGroups"], "testGroups")
        .iter()
        .filter(|group| group["sha"] == "SHA-256")
        .map(|group| {
            let first = json_array(&group["tests"], "tests")
                .first()
                .map_or(0, tc_id);
            (format!("{name} group of tcId {first}"), group.clone())
        })
        .collect()
}

/// Reads a sig_gen group's public key. Every SHA-256 group has a key of 2048 bits or more
/// with e = 65537 or e = 3, which our policy accepts (README §1: "acceptable" there means
/// e = 3, SmallPublicKey), so none may be refused.
fn sig_gen_public_key(group: &Value) -> Result<RsaVerifyingKey, KeyError> {
    RsaVerifyingKey::from_spki_der(&hex(json_str(&group["keyDer"], "keyDer")))
}

/// Every SHA-256 `sig` (deterministic, correct signatures) verifies under its group key; one
/// flipped bit makes it fail.
#[test]
fn wycheproof_sig_gen_sha256_verify() {
    let mut failures = Failures::new("Wycheproof PKCS#1 v1.5 sig_gen, SHA-256 groups");
    let (mut groups, mut cases) = (0usize, 0usize);
    for (file, expected_groups, expected_tests) in SIG_GEN_FILES {
        let name = short_name(file);
        let doc = load_json(file);
        let (mut file_groups, mut file_tests) = (0usize, 0usize);
        for (group_id, group) in sha256_groups(&doc, name) {
            file_groups += 1;
            let tests = json_array(&group["tests"], "tests");
            let key = match sig_gen_public_key(&group) {
                Ok(key) => key,
                Err(e) => {
                    file_tests += tests.len();
                    failures.push(&group_id, format!("public key refused: {e:?}"));
                    continue;
                }
            };
            // The same key from PKCS#1 DER, PEM and JWK (the JWK carries "kid":"none").
            let jwk = VerifyingKey::from_jwk(&group["keyJwk"].to_string());
            failures.check(
                is_rsa_with_kid(&jwk, &key, "none"),
                &group_id,
                format!("keyJwk gives {jwk:?}"),
            );
            for (form, other, expected) in [
                (
                    "keyAsn",
                    RsaVerifyingKey::from_pkcs1_der(&hex(json_str(&group["keyAsn"], "keyAsn"))),
                    Ok(&key),
                ),
                (
                    "keyPem",
                    RsaVerifyingKey::from_pem(json_str(&group["keyPem"], "keyPem")),
                    Ok(&key),
                ),
            ] {
                failures.check(
                    other.is_ok() && other.as_ref() == expected,
                    &group_id,
                    format!("{form} gives {other:?}"),
                );
            }
            failures.check(
                key.bits() as u64 == json_u64(&group["keySize"], "keySize"),
                &group_id,
                format!("bits() = {}", key.bits()),
            );
            for test in tests {
                file_tests += 1;
                let id = format!("{name} tcId {}", tc_id(test));
                let result = json_str(&test["result"], "result");
                let flags = &test["flags"];
                // "acceptable" here only flags weak parameters (e = 3), not a bad signature.
                failures.check(
                    result == "valid"
                        || (result == "acceptable" && *flags == json!(["SmallPublicKey"])),
                    &id,
                    format!("unexpected result {result} with flags {flags}"),
                );
                let msg = hex(json_str(&test["msg"], "msg"));
                let mut sig = hex(json_str(&test["sig"], "sig"));
                failures.check(
                    key.verify_rs256(&msg, &sig),
                    &id,
                    "a generated signature does not verify",
                );
                if let Some(last) = sig.last_mut() {
                    *last ^= 0x01;
                }
                failures.check(
                    !key.verify_rs256(&msg, &sig),
                    &id,
                    "the signature with its last bit flipped still verifies",
                );
            }
        }
        failures.check(
            (file_groups, file_tests) == (expected_groups, expected_tests),
            name,
            format!(
                "{file_groups} SHA-256 groups and {file_tests} tests, expected \
                 {expected_groups} and {expected_tests}"
            ),
        );
        groups += file_groups;
        cases += file_tests;
    }
    failures.assert_none();
    assert_eq!((groups, cases), (6, 27), "(SHA-256 groups, cases)");
}

/// The RFC 7523 claims used for the JWS built and signed with `openssl`.
fn openssl_claims(jti: &str) -> Value {
    json!({
        "iss": ISSUER,
        "sub": SUBJECT,
        "aud": AUDIENCE,
        "exp": NOW + 300,
        "nbf": NOW - 5,
        "iat": NOW - 5,
        "jti": jti,
    })
}

/// With each SHA-256 group's private key (PKCS#1 PEM): our signer's assertion verifies with
/// our verifier **and** with `openssl dgst -verify`, and equals `openssl dgst -sign`'s
/// signature byte for byte (PKCS#1 v1.5 is deterministic). Conversely a JWS built here and
/// signed by `openssl` verifies with our verifier and passes the grant profile, and fails
/// once one payload byte is changed.
#[test]
fn wycheproof_sig_gen_keys_interoperate_with_openssl() {
    // Fails (never skips) when the CLI is missing: `cargo xtask setup` installs it.
    let version = openssl_ok(["version"], None);
    assert!(
        String::from_utf8_lossy(&version).starts_with("OpenSSL"),
        "unexpected `openssl version` output: {}",
        String::from_utf8_lossy(&version)
    );
    let mut failures = Failures::new("sig_gen keys: rfc7523 <-> openssl");
    let mut groups = 0usize;
    for (file, _, _) in SIG_GEN_FILES {
        let name = short_name(file);
        let doc = load_json(file);
        for (group_id, group) in sha256_groups(&doc, name) {
            groups += 1;
            let bits = json_u64(&group["keySize"], "keySize");
            let Ok(public) = sig_gen_public_key(&group) else {
                failures.push(&group_id, "public key refused");
                continue;
            };
            let private_pem = json_str(&group["privateKeyPem"], "privateKeyPem");
            let signer = match AssertionSigner::from_pem(private_pem) {
                Ok(signer) => signer,
                Err(e) => {
                    failures.push(&group_id, format!("AssertionSigner::from_pem: {e:?}"));
                    continue;
                }
            };
            let (n, e) = signer.public_components();
            failures.check(
                signer.bits() as u64 == bits
                    && RsaVerifyingKey::from_components(&n, &e).as_ref() == Ok(&public),
                &group_id,
                "the signer's public components differ from keyDer",
            );
            let dir = TempDir::new("rfc7523-sig-gen");
            let pub_pem = dir.write("pub.pem", json_str(&group["keyPem"], "keyPem"));
            let priv_pem = dir.write("priv.pem", private_pem);
            // PKCS#1 `RSA PUBLIC KEY` PEM, converted by openssl: the same key as the SPKI PEM.
            let pkcs1_pem = openssl_ok(
                [
                    "rsa".as_ref(),
                    "-pubin".as_ref(),
                    "-in".as_ref(),
                    pub_pem.as_os_str(),
                    "-RSAPublicKey_out".as_ref(),
                ],
                None,
            );
            let pkcs1_pem = String::from_utf8_lossy(&pkcs1_pem);
            failures.check(
                pkcs1_pem.contains("-----BEGIN RSA PUBLIC KEY-----")
                    && RsaVerifyingKey::from_pem(&pkcs1_pem).as_ref() == Ok(&public),
                &group_id,
                "openssl's PKCS#1 PEM does not load as the same key",
            );
            let kid = format!(
                "wycheproof-{bits}-{}",
                group["privateKey"]["publicExponent"]
            );
            let keys = match with_kid(&public, &kid).and_then(|key| KeySet::from_key(&key)) {
                Ok(keys) => keys,
                Err(e) => {
                    failures.push(&group_id, format!("key set: {e:?}"));
                    continue;
                }
            };

            // Our signer -> our verifier, the grant profile, and openssl.
            let jti = format!("ours-{group_id}");
            let request = AssertionRequest {
                issuer: ISSUER,
                subject: SUBJECT,
                audience: AUDIENCE,
                lifetime: Some(120),
                jti: Some(&jti),
                kid: Some(&kid),
                client_authentication: false,
            };
            let token = match signer.sign(&request, NOW) {
                Ok(token) => token,
                Err(e) => {
                    failures.push(&group_id, format!("sign: {e:?}"));
                    continue;
                }
            };
            match verify_jws(&token, &keys) {
                Ok(verified) => {
                    failures.check(
                        verified.key_id() == Some(kid.as_str()),
                        &group_id,
                        format!("verified by kid {:?}", verified.key_id()),
                    );
                    match verified.claims() {
                        Ok(c) => failures.check(
                            c.iss().is_some_and(|v| v == ISSUER)
                                && c.sub().is_some_and(|v| v == SUBJECT)
                                && c.aud()
                                    .and_then(|a| a.sole_value())
                                    .is_some_and(|v| v == AUDIENCE)
                                && c.exp().map(|d| d.floor()) == Some(NOW + 120)
                                && c.iat().map(|d| d.floor()) == Some(NOW)
                                && c.jti().is_some_and(|v| v == jti.as_str()),
                            &group_id,
                            format!("our assertion's claims: {c:?}"),
                        ),
                        Err(e) => failures.push(&group_id, format!("our claims: {e:?}")),
                    }
                }
                Err(e) => failures.push(&group_id, format!("our assertion refused: {e:?}")),
            }
            failures.check(
                validate_grant(&token, ISSUER, &keys, NOW).is_ok(),
                &group_id,
                format!(
                    "grant profile refused our assertion: {:?}",
                    validate_grant(&token, ISSUER, &keys, NOW)
                ),
            );
            let Some((signing_input, signature_b64)) = token.rsplit_once('.') else {
                failures.push(&group_id, "our token has no '.'");
                continue;
            };
            let Some(signature) = b64url_decode(signature_b64) else {
                failures.push(&group_id, "our signature is not base64url");
                continue;
            };
            let input_path = dir.write("ours.txt", signing_input);
            let sig_path = dir.write("ours.sig", &signature);
            let verify = openssl(
                [
                    "dgst".as_ref(),
                    "-sha256".as_ref(),
                    "-verify".as_ref(),
                    pub_pem.as_os_str(),
                    "-signature".as_ref(),
                    sig_path.as_os_str(),
                    input_path.as_os_str(),
                ] as [&std::ffi::OsStr; 7],
                None,
            );
            let stdout = String::from_utf8_lossy(&verify.stdout);
            failures.check(
                verify.status.success() && stdout.trim() == "Verified OK",
                &group_id,
                format!(
                    "openssl does not verify our signature: {} {stdout} {}",
                    verify.status,
                    String::from_utf8_lossy(&verify.stderr)
                ),
            );
            let openssl_signature = openssl_ok(
                [
                    "dgst".as_ref(),
                    "-sha256".as_ref(),
                    "-sign".as_ref(),
                    priv_pem.as_os_str(),
                    input_path.as_os_str(),
                ] as [&std::ffi::OsStr; 5],
                None,
            );
            failures.check(
                openssl_signature == signature,
                &group_id,
                "openssl's signature of our signing input differs from ours (PKCS#1 v1.5 is \
                 deterministic)",
            );

            // openssl signs a JWS built here -> our verifier and the grant profile.
            let header = br#"{"alg":"RS256","typ":"JWT"}"#;
            let claims = openssl_claims(&format!("openssl-{bits}"));
            let payload = claims.to_string().into_bytes();
            let signing_input = format!("{}.{}", b64url(header), b64url(&payload));
            let input_path = dir.write("theirs.txt", &signing_input);
            let signature = openssl_ok(
                [
                    "dgst".as_ref(),
                    "-sha256".as_ref(),
                    "-sign".as_ref(),
                    priv_pem.as_os_str(),
                    input_path.as_os_str(),
                ] as [&std::ffi::OsStr; 5],
                None,
            );
            failures.check(
                public.verify_rs256(signing_input.as_bytes(), &signature),
                &group_id,
                "verify_rs256 refuses openssl's signature",
            );
            let token = format!("{signing_input}.{}", b64url(&signature));
            let outcome = verify_jws(&token, &keys);
            failures.check(
                outcome.is_ok(),
                &group_id,
                format!("openssl-signed JWS refused: {:?}", outcome.err()),
            );
            let grant = validate_grant(&token, ISSUER, &keys, NOW);
            failures.check(
                grant.is_ok(),
                &group_id,
                format!("grant profile refused the openssl-signed JWS: {grant:?}"),
            );
            // One payload byte changed ("openssl-" -> "Openssl-" in jti), signature kept: the
            // payload is still valid JSON with the same iss, so only the signature can fail.
            let mut tampered = payload.clone();
            match tampered.windows(8).position(|w| w == b"openssl-") {
                Some(i) => tampered[i] = b'O',
                None => failures.push(&group_id, "jti not found in the payload"),
            }
            let token = format!(
                "{}.{}.{}",
                b64url(header),
                b64url(&tampered),
                b64url(&signature)
            );
            let outcome = verify_jws(&token, &keys).map(|_| ());
            failures.check(
                outcome == Err(Error::InvalidSignature),
                &group_id,
                format!("tampered payload: verify returned {outcome:?}"),
            );
            let grant = validate_grant(&token, ISSUER, &keys, NOW);
            failures.check(
                grant == Err(Error::InvalidSignature),
                &group_id,
                format!("tampered payload: grant profile returned {grant:?}"),
            );
        }
    }
    failures.assert_none();
    assert_eq!(groups, 6, "SHA-256 sig_gen groups");
}

// ---------------------------------------------------------------------------------------------
// 3. Wycheproof JWS vectors.

/// Every test of `json_web_signature_test.json`, through the JWS layer with every algorithm
/// allowed. The group's public JWK is loaded with [`KeySet::from_jwk`] (RSA, EC or OKP; refused
/// when it is for another algorithm, curve or use), then the token is parsed and verified.
///
/// Expected: a case Wycheproof labels valid verifies exactly when its `alg` is one this crate
/// verifies (RS256, PS256, ES256, EdDSA, Ed25519) and the group key serves it; every other case
/// (invalid, or valid for an algorithm this crate does not verify: RS384/512, PS384/512, ES512,
/// HS256) is refused, on the header, at key load, or at verification.
#[test]
fn wycheproof_json_web_signature() {
    let doc = load_json("wycheproof/json_web_signature_test.json");
    let mut failures = Failures::new("Wycheproof JWS");
    let mut total = 0usize;
    let mut json_serialization = 0usize; // skipped: not a compact JWS (tcId 17)
    let mut no_key = 0usize; // group without an asymmetric key (HS256, none): parse must refuse
    let mut key_refused = 0usize; // group JWK refused at load by design
    let mut verified = 0usize; // valid, known algorithm: verified, per algorithm below
    let mut valid_other_alg = 0usize; // valid for an algorithm this crate does not verify
    let mut rejected = 0usize; // invalid: refused
    let mut by_alg = std::collections::BTreeMap::<&str, usize>::new();
    for group in json_array(&doc["testGroups"], "testGroups") {
        let public = &group["public"];
        let keys = matches!(public["kty"].as_str(), Some("RSA" | "EC" | "OKP"))
            .then(|| KeySet::from_jwk(&public.to_string()));
        for test in json_array(&group["tests"], "tests") {
            total += 1;
            let tc = tc_id(test);
            let id = format!("tcId {tc}");
            let result = json_str(&test["result"], "result");
            let jws = json_str(&test["jws"], "jws");
            let flags = json_array(&test["flags"], "flags");
            if flags.contains(&json!("JsonSerialization")) || jws.starts_with('{') {
                // The JWS JSON Serialization (RFC 7515 §7.2) is not an RFC 7523 assertion
                // form; the compact parser would refuse it (SegmentCount), which says
                // nothing useful.
                json_serialization += 1;
                continue;
            }
            let alg = header_alg(jws);
            let known = alg.as_deref().and_then(Algorithm::from_header);
            let parsed = UnverifiedAssertion::parse(jws, &mut DecodeBuffer::new()).map(|_| ());
            if alg.is_some() && known.is_none() {
                // Refused on the header alone, before any key is consulted.
                failures.check(
                    parsed == Err(Error::UnsupportedAlgorithm),
                    &id,
                    format!("alg {alg:?}: parse returned {parsed:?}"),
                );
            }
            let Some(keys) = &keys else {
                no_key += 1;
                match tc {
                    // Spaces (365), other characters (366) or a `?` (372) inside the header
                    // segment: not base64url, refused before the (HS256) alg is even read.
                    // Wycheproof labels 372 valid.
                    365 | 366 | 372 => failures.check(
                        parsed == Err(Error::Malformed(Malformed::Base64(Part::Header))),
                        &id,
                        format!("parse returned {parsed:?}"),
                    ),
                    // `?` inserted into the payload segment: the HS256 header is refused
                    // first. Labelled valid by Wycheproof.
                    373 => failures.check(
                        parsed == Err(Error::UnsupportedAlgorithm),
                        &id,
                        format!("parse returned {parsed:?}"),
                    ),
                    _ => failures.check(
                        parsed.is_err(),
                        &id,
                        "a token of a group without an asymmetric key parsed",
                    ),
                }
                if result == "valid" {
                    valid_other_alg += 1;
                }
                continue;
            };
            let outcome = match keys {
                Ok(keys) => verify_jws(jws, keys)
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}")),
                Err(e) => {
                    // By design: an alg or curve this crate does not verify, use other than
                    // sig, key_ops without verify.
                    key_refused += 1;
                    let by_design = matches!(
                        e,
                        KeyError::UnsupportedAlgorithm
                            | KeyError::UnsupportedCurve
                            | KeyError::NotForSignatures("use" | "key_ops")
                    );
                    failures.check(by_design, &id, format!("group JWK refused: {e:?}"));
                    Err(format!("key refused: {e:?}"))
                }
            };
            match (result, known) {
                ("valid", Some(alg)) => {
                    verified += 1;
                    *by_alg.entry(alg.as_str()).or_default() += 1;
                    failures.check(
                        outcome.is_ok(),
                        &id,
                        format!("valid {alg} ({}) refused: {outcome:?}", test["comment"]),
                    );
                }
                ("valid", None) => {
                    valid_other_alg += 1;
                    failures.check(
                        outcome.is_err(),
                        &id,
                        format!("valid {alg:?}, an algorithm not verified here, passed"),
                    );
                }
                _ => {
                    rejected += 1;
                    failures.check(
                        result == "invalid" && outcome.is_err(),
                        &id,
                        format!(
                            "{result} ({}): verify returned {outcome:?}",
                            test["comment"]
                        ),
                    );
                }
            }
        }
    }
    failures.assert_none();
    assert_eq!(total, 401, "tests in the file");
    assert_eq!(
        (json_serialization, no_key, key_refused),
        (1, 39, 39),
        "(JSON serialization skipped, groups without a key, group JWK refused at load)"
    );
    assert_eq!(
        (verified, valid_other_alg, rejected),
        (16, 30, 325),
        "(valid with a known alg verified, valid for another alg refused, invalid refused with \
         a group key)"
    );
    // Every case is accounted for: the 29 invalid cases of the groups without a key too.
    assert_eq!(
        json_serialization + verified + valid_other_alg + rejected + 29,
        total
    );
    let by_alg: Vec<(&str, usize)> = by_alg.into_iter().collect();
    assert_eq!(by_alg, [("ES256", 2), ("PS256", 6), ("RS256", 8)]);
}

/// The RSA keys of the JWS file are exactly what our key-metadata policy refuses, not a
/// weakness of the key: three RS256-signed invalid cases verify with the bare n/e and are
/// rejected only because the JWK says PS512, which this crate does not verify (tcId 332),
/// `use: enc` (353) or `key_ops: [encrypt]` (355).
#[test]
fn wycheproof_json_web_signature_key_metadata_is_load_bearing() {
    let doc = load_json("wycheproof/json_web_signature_test.json");
    let mut failures = Failures::new("Wycheproof JWS key metadata");
    let mut seen = 0usize;
    for group in json_array(&doc["testGroups"], "testGroups") {
        let public = &group["public"];
        for test in json_array(&group["tests"], "tests") {
            let tc = tc_id(test);
            let expected = match tc {
                332 => KeyError::UnsupportedAlgorithm,
                353 => KeyError::NotForSignatures("use"),
                355 => KeyError::NotForSignatures("key_ops"),
                _ => continue,
            };
            seen += 1;
            let id = format!("tcId {tc}");
            let refused = KeySet::from_jwk(&public.to_string());
            failures.check(
                refused == Err(expected),
                &id,
                format!("key load returned {refused:?}"),
            );
            let component = |name: &str| b64url_decode(public[name].as_str().unwrap_or_default());
            let bare = match (component("n"), component("e")) {
                (Some(n), Some(e)) => RsaVerifyingKey::from_components(&n, &e),
                _ => Err(KeyError::Malformed),
            };
            let outcome = bare
                .and_then(|key| KeySet::from_key(&VerifyingKey::new(KeyMaterial::Rsa(key))))
                .map_err(|e| format!("{e:?}"))
                .and_then(|keys| {
                    verify_jws(json_str(&test["jws"], "jws"), &keys)
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}"))
                });
            failures.check(
                outcome.is_ok(),
                &id,
                format!("with the bare n/e: {outcome:?}"),
            );
        }
    }
    failures.assert_none();
    assert_eq!(seen, 3);
}

// ---------------------------------------------------------------------------------------------
// 4. RFC examples.

/// RFC 7515 Appendix A.2: verifies; as an RFC 7523 grant it is refused for its missing
/// `sub`; one character changed in the payload breaks the signature.
#[test]
fn rfc7515_appendix_a2() {
    let doc = load_json("rfc/rfc7515_A2_rs256.json");
    let jws = json_str(&doc["jws_compact"], "jws_compact");
    let signing_input = json_str(&doc["signing_input"], "signing_input");
    let payload = json_str(&doc["payload_utf8"], "payload_utf8");
    let keys = KeySet::from_jwk(&doc["public_jwk"].to_string()).unwrap();
    assert_eq!(
        RsaVerifyingKey::from_jwk(&doc["private_jwk"].to_string()),
        Err(KeyError::PrivateKeyMaterial),
        "a private JWK is not a trusted key"
    );

    let (input, signature) = jws.rsplit_once('.').unwrap();
    assert_eq!(input, signing_input);
    let key = RsaVerifyingKey::from_jwk(&doc["public_jwk"].to_string()).unwrap();
    assert_eq!(key.bits(), 2048);
    assert!(key.verify_rs256(input.as_bytes(), &b64url_decode(signature).unwrap()));

    let verified = verify_jws(jws, &keys).unwrap();
    assert_eq!(
        verified.header_json(),
        json_str(&doc["protected_header_json"], "protected_header_json")
    );
    assert_eq!(verified.payload_json(), Some(payload));
    let claims = verified.claims().unwrap();
    assert_eq!(text(claims.iss()).as_deref(), Some("joe"));
    assert_eq!(claims.exp().map(|d| d.floor()), Some(1_300_819_380));
    assert!(!claims.exp().unwrap().is_fractional());
    assert!(claims.sub().is_none() && claims.aud().is_none() && claims.jti().is_none());

    // As an authorization grant (RFC 7523 §3 item 2: sub is required): the missing sub is
    // reported before the missing aud and the 2011 expiry.
    for now in [1_300_819_000, NOW] {
        assert_eq!(
            validate_grant(jws, "joe", &keys, now),
            Err(Error::MissingClaim(Claim::Sub)),
            "now = {now}"
        );
    }

    // One character of the payload changed (exp ...380 -> ...381), still valid JSON.
    let tampered_payload = payload.replace("1300819380", "1300819381");
    assert_ne!(tampered_payload, payload);
    let (header_b64, _) = signing_input.split_once('.').unwrap();
    let tampered = format!(
        "{header_b64}.{}.{signature}",
        b64url(tampered_payload.as_bytes())
    );
    assert_eq!(
        verify_jws(&tampered, &keys).map(|_| ()),
        Err(Error::InvalidSignature)
    );
    assert_eq!(
        validate_grant(&tampered, "joe", &keys, NOW),
        Err(Error::InvalidSignature)
    );
}

/// RFC 7520 §4.1 (the IETF JOSE cookbook): verifies with the bilbo.baggins key selected by
/// `kid` from a set of two keyed JWKs; the payload is plain text, so reading it as claims
/// fails with a precise error.
#[test]
fn rfc7520_section_4_1() {
    let doc = load_json("rfc/rfc7520_4_1_rs256.json");
    let cookbook = load_json("rfc/ietf-jose-cookbook/jws/4_1.rsa_v15_signature.json");
    let cookbook_public = load_json("rfc/ietf-jose-cookbook/jwk/3_3.rsa_public_key.json");
    let cookbook_private = load_json("rfc/ietf-jose-cookbook/jwk/3_4.rsa_private_key.json");
    let jws = json_str(&doc["jws_compact"], "jws_compact");
    let kid = "bilbo.baggins@hobbiton.example";

    // The wrapper agrees with the byte-for-byte cookbook files.
    assert_eq!(cookbook["output"]["compact"], json!(jws));
    assert_eq!(cookbook_public, doc["public_jwk"]);
    assert_eq!(
        RsaVerifyingKey::from_jwk(&cookbook_private.to_string()),
        Err(KeyError::PrivateKeyMaterial)
    );

    // A set of two keys with kids: the header's kid picks bilbo's.
    let mut other = load_json("rfc/rfc7515_A2_rs256.json")["public_jwk"].clone();
    other["kid"] = json!("joe@rfc7515.example");
    let jwks = format!(r#"{{"keys":[{other},{}]}}"#, doc["public_jwk"]);
    let keys = KeySet::from_jwks(&jwks).unwrap();
    assert_eq!(keys.len(), 2);
    let bilbo = VerifyingKey::from_jwk(&cookbook_public.to_string()).unwrap();
    assert_eq!(bilbo.kid(), Some(kid));
    let hint = KeyHint {
        kid: Some(kid),
        ..KeyHint::default()
    };
    let selected: Vec<Option<&str>> = keys
        .iter()
        .filter(|key| key.selected_by(&hint))
        .map(|key| key.kid())
        .collect();
    assert_eq!(selected, [Some(kid)]);

    let mut buffer = DecodeBuffer::new();
    let unverified = UnverifiedAssertion::parse(jws, &mut buffer).unwrap();
    assert_eq!(text(unverified.header().kid()).as_deref(), Some(kid));
    let verified = unverified.verify(&keys).unwrap();
    assert_eq!(verified.key_id(), Some(kid));
    assert!(verified.header().typ().is_none());
    let payload = json_str(&doc["payload_utf8"], "payload_utf8");
    assert_eq!(verified.payload_json(), Some(payload));
    assert_eq!(cookbook["input"]["payload"], json!(payload));
    // "It’s a dangerous business, Frodo, …": valid UTF-8 (with U+2019), but not JSON at all
    // (not even a JSON value of another type), hence Json rather than Utf8 or NotAnObject.
    assert!(payload.starts_with("It\u{2019}s a dangerous business"));
    assert_eq!(
        verified.claims(),
        Err(Error::Malformed(Malformed::Json(Part::Payload)))
    );

    // Only the other key: bilbo's kid matches nothing and every key has a kid, so no key is a
    // candidate.
    let only_other = KeySet::from_jwk(&other.to_string()).unwrap();
    assert_eq!(
        verify_jws(jws, &only_other).map(|_| ()),
        Err(Error::UnknownKey)
    );
    // The other key without a kid is a candidate, and fails.
    let mut other_no_kid = other.clone();
    other_no_kid.as_object_mut().unwrap().remove("kid");
    let wrong = KeySet::from_jwk(&other_no_kid.to_string()).unwrap();
    assert_eq!(
        verify_jws(jws, &wrong).map(|_| ()),
        Err(Error::InvalidSignature)
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Public RS256 fixtures.

/// The precise refusal of each `invalid` fixture.
fn expected_invalid_error(id: &str) -> Option<Error> {
    Some(match id {
        // First signature character changed (golang-jwt "basic invalid: foo => bar").
        "golang-jwt-rsa_test-basic-invalid-foo-bar" => Error::InvalidSignature,
        // `zip: DEF` header (a JWE parameter) with a DEFLATE payload.
        "golang-jwt-parser_test-invalid-json-claim" => {
            Error::UnsupportedHeader(HeaderParameter::Zip)
        }
        // "bearer " before the token: the space is not base64url.
        "golang-jwt-parser_test-bearer-in-jwt" => Error::Malformed(Malformed::Base64(Part::Header)),
        // Payload changed, signature kept.
        "okta-isomorphic-jwt-rs256-invalid" => Error::InvalidSignature,
        _ => return None,
    })
}

/// The 19 fixtures of `fixtures/rs256_fixtures.json`, each against its PEM and/or JWK key.
#[test]
fn public_rs256_fixtures() {
    let doc = load_json("fixtures/rs256_fixtures.json");
    let mut failures = Failures::new("public RS256 fixtures");
    let (mut valid, mut invalid, mut other_alg) = (0usize, 0usize, 0usize);
    let mut other_alg_verified = 0usize;
    let mut key_sets = 0usize;
    for fixture in json_array(&doc["fixtures"], "fixtures") {
        let id = json_str(&fixture["id"], "id");
        let token = json_str(&fixture["token"], "token");
        let expected = json_str(&fixture["expected"], "expected");
        let key = &fixture["key"];

        // The keys: the PEM file and/or the JWK (without the collector's `_jwk_note`).
        let mut keys: Vec<(&str, Result<KeySet, KeyError>)> = Vec::new();
        if let Some(file) = key["pem_file"].as_str() {
            let pem = read_vector_text(&format!("fixtures/{file}"));
            keys.push(("pem", KeySet::from_pem(&pem)));
        }
        if let Some(jwk) = key["jwk"].as_object() {
            let mut jwk = jwk.clone();
            jwk.remove("_jwk_note");
            keys.push(("jwk", KeySet::from_jwk(&Value::Object(jwk).to_string())));
        }
        failures.check(!keys.is_empty(), id, "no key");
        if let [(_, Ok(a)), (_, Ok(b))] = keys.as_slice() {
            failures.check(a == b, id, "the PEM and JWK keys differ");
        }

        let parsed = UnverifiedAssertion::parse(token, &mut DecodeBuffer::new()).map(|_| ());
        for (form, key_set) in &keys {
            key_sets += 1;
            let case = format!("{id} ({form})");
            let key_set = match key_set {
                Ok(key_set) => key_set,
                // Okta's RS384/RS512 JWKs say so in `alg`: refused at load by design.
                Err(KeyError::UnsupportedAlgorithm)
                    if expected == "reject_for_RS256_only_verifier" =>
                {
                    continue;
                }
                Err(e) => {
                    failures.push(&case, format!("key refused: {e:?}"));
                    continue;
                }
            };
            let outcome = verify_jws(token, key_set);
            match expected {
                "valid" => match outcome {
                    Ok(verified) => {
                        // A signature-layer fixture, not an RFC 7523 assertion: no iss.
                        failures.check(
                            verified.claims().is_ok_and(|c| c.iss().is_none()),
                            &case,
                            "claims unreadable or unexpected iss",
                        );
                        let grant = validate_grant(token, ISSUER, key_set, NOW);
                        failures.check(
                            grant == Err(Error::MissingClaim(Claim::Iss)),
                            &case,
                            format!("grant profile returned {grant:?}"),
                        );
                    }
                    Err(e) => failures.push(&case, format!("valid fixture refused: {e:?}")),
                },
                "invalid" => {
                    let outcome = outcome.map(|_| ());
                    let precise = expected_invalid_error(id);
                    failures.check(
                        precise.is_some() && outcome == precise.map(Err).unwrap_or(Ok(())),
                        &case,
                        format!("invalid fixture: {outcome:?}, expected {precise:?}"),
                    );
                }
                "reject_for_RS256_only_verifier" => {
                    let outcome = outcome.map(|_| ());
                    failures.check(
                        outcome == Err(Error::UnsupportedAlgorithm),
                        &case,
                        format!("other-alg fixture: {outcome:?}"),
                    );
                }
                other => failures.push(&case, format!("unknown expectation {other:?}")),
            }
        }
        match expected {
            "valid" => valid += 1,
            "invalid" => invalid += 1,
            "reject_for_RS256_only_verifier" => {
                other_alg += 1;
                match header_alg(token)
                    .as_deref()
                    .and_then(Algorithm::from_header)
                {
                    // RS384, RS512, …: refused on the header alone, whatever key is configured.
                    None => failures.check(
                        parsed == Err(Error::UnsupportedAlgorithm),
                        id,
                        format!("parse returned {parsed:?}"),
                    ),
                    // PS256: a known algorithm, refused above by the RSA key, which serves RS256
                    // only (one algorithm per key); the same key configured for PS256 verifies.
                    Some(alg) => {
                        other_alg_verified += 1;
                        let pem = read_vector_text(&format!(
                            "fixtures/{}",
                            key["pem_file"].as_str().unwrap_or_default()
                        ));
                        let pinned = VerifyingKey::from_pem(&pem)
                            .and_then(|k| k.with_algorithm(alg))
                            .and_then(|k| KeySet::from_key(&k));
                        let outcome = pinned.map_err(|e| format!("{e:?}")).and_then(|keys| {
                            verify_jws(token, &keys).map_err(|e| format!("{e:?}"))
                        });
                        failures.check(
                            parsed.is_ok() && outcome.is_ok(),
                            id,
                            format!(
                                "{alg} under a key for {alg}: parse {parsed:?}, verify {outcome:?}"
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    failures.assert_none();
    assert_eq!(
        (valid, invalid, other_alg, other_alg_verified),
        (5, 4, 10, 1),
        "(valid, invalid, other alg, … of which verified under a key of that algorithm)"
    );
    assert_eq!(key_sets, 28, "key forms tried (PEM and/or JWK per fixture)");
}
