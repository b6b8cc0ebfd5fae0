//! PS256, ES256 and EdDSA: rfc7523's full validation against the raw verify of ring and
//! aws-lc-rs, in one run, on the same signature and key (issue 13, "Measured").
//!
//! For each algorithm one typical client assertion (as in `rs256.rs`: `iat` = the clock at
//! start-up, one hour of lifetime, a fixed `jti`) is signed at start-up by rfc7523's
//! `AssertionSigner` (`with_algorithm`) with a published key:
//!
//! * PS256 — the RSA-2048 key of `rs256.rs` (Wycheproof `rsa_pkcs1_2048_sig_gen`, SHA-256,
//!   e = 65537; the party allows PS256 alone, so the key serves PS256); a 32-byte random salt.
//! * ES256 — the P-256 key of RFC 7515 Appendix A.3 (its JWK; the private key wrapped in
//!   PKCS#8 here); RFC 6979 nonces.
//! * EdDSA — the Ed25519 key of RFC 8037 Appendix A.1 (`tests/vectors/rfc/rfc8037_A4_eddsa.json`).
//!
//! and measured by:
//!
//! * `rfc7523_validate` — `ClientAuthProfile::validate` with a `DecodeBuffer`: parse, verify,
//!   claims, typ, iss/sub/aud, time checks with a fixed `now`, the replay key handed to a
//!   store that accepts everything (its cost is `replay.rs`'s).
//! * `rfc7523_verify` — the signature step alone: `alg::ps256::verify_message` (SHA-256,
//!   RSAVP1, EMSA-PSS-VERIFY), `P256VerifyingKey::verify_message` (SHA-256, ECDSA with
//!   RustCrypto `p256`), `Ed25519VerifyingKey::verify_message` (`ed25519-dalek`
//!   `verify_strict`).
//! * `ring` — `UnparsedPublicKey::verify` (`RSA_PSS_2048_8192_SHA256`,
//!   `ECDSA_P256_SHA256_FIXED`, `ED25519`): ring has no parsed-key type, it reads the key on
//!   every call.
//! * `aws_lc_rs` — `ParsedPublicKey::verify_sig` with the same algorithms (key parsed once).
//!
//! The raw verifies get the signing input and the decoded signature: no JWT work. Run with
//! `cargo xtask bench` (writes BENCHMARKS.md, beside `openssl speed ecdsap256 ed25519
//! rsa2048`) or `cargo bench --bench algorithms` here. Timings are never assertions; the
//! start-up checks only make sure every implementation accepts its token.

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion};
use rfc7523::alg::eddsa::Ed25519VerifyingKey;
use rfc7523::alg::es256::P256VerifyingKey;
use rfc7523::alg::ps256;
use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::{
    Algorithm, Algorithms, Checks, ClientAuthProfile, DecodeBuffer, KeySet, Party, Policy,
    ReplayEntry, ReplayError, ReplayStore, RsaVerifyingKey,
};

const CLIENT_ID: &str = "s6BhdRkqt3";
const AUDIENCE: &str = "https://as.example";
const JTI: &str = "4m_FvXseA5rCNdbF52es8A";
const LIFETIME: u64 = 3600;

/// RFC 7515 Appendix A.3.1: the P-256 key of the ES256 example, public part.
const RFC7515_A3_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
/// Its private scalar `d`.
const RFC7515_A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

/// PKCS#8 `PrivateKeyInfo` of a P-256 key without the optional members (RFC 5208, RFC 5915):
/// version 0, `id-ecPublicKey` + `prime256v1`, `ECPrivateKey { 1, d }`; `d` follows.
const P256_PKCS8_PREFIX: [u8; 35] = [
    0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01,
    0x01, 0x04, 0x20,
];
/// PKCS#8 `PrivateKeyInfo` of an Ed25519 key (RFC 8410 §7): the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A store that accepts every entry: the replay key is still computed by `validate`.
struct AcceptAll;

impl ReplayStore for AcceptAll {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        black_box((entry, now));
        Ok(())
    }
}

/// One algorithm's token, its party's keys, and what the raw verifiers need.
struct Fixture {
    alg: Algorithm,
    token: String,
    /// What the party's `KeySet` reads: an SPKI PEM or a JWK.
    public_text: String,
    /// The public key as ring and aws-lc-rs take it: PKCS#1 `RSAPublicKey` DER, the
    /// uncompressed P-256 point, the 32-byte Ed25519 key.
    raw_public: Vec<u8>,
    now: u64,
}

fn vector_json(relative: &str) -> serde_json::Value {
    let path = format!("{}/../tests/vectors/{relative}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("vector file");
    serde_json::from_str(&text).expect("JSON")
}

fn sign(signer: &AssertionSigner, now: u64) -> String {
    let request = AssertionRequest {
        issuer: CLIENT_ID,
        subject: CLIENT_ID,
        audience: AUDIENCE,
        lifetime: Some(LIFETIME),
        jti: Some(JTI),
        kid: None,
        client_authentication: true,
    };
    signer.sign(&request, now).expect("sign").to_string()
}

fn fixture(alg: Algorithm, now: u64) -> Fixture {
    let (signer, public_text, raw_public) = match alg {
        Algorithm::Ps256 => {
            let json = vector_json("wycheproof/rsa_pkcs1_2048_sig_gen_test.json");
            let group = json["testGroups"]
                .as_array()
                .expect("testGroups")
                .iter()
                .find(|g| g["sha"] == "SHA-256" && g["privateKey"]["publicExponent"] == "010001")
                .expect("a SHA-256 group with e = 65537")
                .clone();
            let signer = AssertionSigner::from_pem(group["privateKeyPem"].as_str().expect("PEM"))
                .expect("private key");
            (
                signer,
                group["keyPem"].as_str().expect("keyPem").to_owned(),
                hex(group["keyAsn"].as_str().expect("keyAsn")),
            )
        }
        Algorithm::Es256 => {
            let der = [&P256_PKCS8_PREFIX[..], &base64url_decode(RFC7515_A3_D)].concat();
            let signer = AssertionSigner::from_pkcs8_der(&der).expect("P-256 key");
            let (x, y) = signer.public_components();
            let jwk: serde_json::Value = serde_json::from_str(RFC7515_A3_JWK).expect("JWK");
            // The private key is the one of the published public key.
            assert_eq!(x, base64url_decode(jwk["x"].as_str().expect("x")));
            assert_eq!(y, base64url_decode(jwk["y"].as_str().expect("y")));
            let point = [&[0x04][..], &x, &y].concat();
            (signer, RFC7515_A3_JWK.to_owned(), point)
        }
        Algorithm::EdDsa => {
            let json = vector_json("rfc/rfc8037_A4_eddsa.json");
            let seed = hex(json["A1_secret_key_hex"].as_str().expect("secret key"));
            let der = [&ED25519_PKCS8_PREFIX[..], &seed].concat();
            let signer = AssertionSigner::from_pkcs8_der(&der).expect("Ed25519 key");
            let (x, _) = signer.public_components();
            assert_eq!(
                x,
                hex(json["A1_public_key_hex"].as_str().expect("public key"))
            );
            (
                signer,
                json["A2_public_jwk_text"]
                    .as_str()
                    .expect("public JWK")
                    .to_owned(),
                x,
            )
        }
        other => panic!("no fixture for {other}"),
    };
    let signer = signer
        .with_algorithm(alg)
        .expect("the key serves the algorithm");
    Fixture {
        alg,
        token: sign(&signer, now),
        public_text,
        raw_public,
        now,
    }
}

/// rfc7523's verifying key of each algorithm, for the signature step alone.
#[allow(clippy::large_enum_variant)] // one value at a time, kept as the library stores them
enum OurKey {
    Ps256(RsaVerifyingKey),
    Es256(P256VerifyingKey),
    EdDsa(Ed25519VerifyingKey),
}

impl OurKey {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Ps256(key) => ps256::verify_message(key, message, signature),
            Self::Es256(key) => key.verify_message(message, signature),
            Self::EdDsa(key) => key.verify_message(message, signature),
        }
    }
}

fn bench_algorithm(c: &mut Criterion, f: &Fixture) {
    let token = f.token.as_str();
    let (signing_input, signature_b64) = token.rsplit_once('.').expect("three segments");
    let signature = base64url_decode(signature_b64);
    let message = signing_input.as_bytes();

    // rfc7523: full validation.
    let keys = KeySet::from_text(&f.public_text).expect("public key");
    let clients = [Party::new(CLIENT_ID, &keys).with_policy(Policy {
        checks: Checks {
            max_lifetime: Some(LIFETIME),
            require_jti: true,
            ..Checks::default()
        },
        algorithms: Algorithms::only(f.alg),
        ..Policy::default()
    })];
    let profile = ClientAuthProfile {
        clients: &clients[..],
        issuer: AUDIENCE,
        token_endpoint: None,
    };
    let now = f.now + 1;
    let mut buffer = DecodeBuffer::new();
    let validated = profile
        .validate(token, None, now, &mut AcceptAll, &mut buffer)
        .expect("rfc7523 accepts the token");
    assert_eq!(validated.header().alg(), f.alg.as_str());

    // rfc7523: the signature step alone, and ring's and aws-lc-rs's algorithm.
    let (our_key, ring_alg, aws_alg): (
        OurKey,
        &'static dyn ring::signature::VerificationAlgorithm,
        &'static dyn aws_lc_rs::signature::VerificationAlgorithm,
    ) = match f.alg {
        Algorithm::Ps256 => (
            OurKey::Ps256(RsaVerifyingKey::from_pem(&f.public_text).expect("SPKI")),
            &ring::signature::RSA_PSS_2048_8192_SHA256,
            &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA256,
        ),
        Algorithm::Es256 => (
            OurKey::Es256(P256VerifyingKey::from_jwk(&f.public_text).expect("EC JWK")),
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        ),
        _ => (
            OurKey::EdDsa(Ed25519VerifyingKey::from_jwk(&f.public_text).expect("OKP JWK")),
            &ring::signature::ED25519,
            &aws_lc_rs::signature::ED25519,
        ),
    };
    assert!(our_key.verify(message, &signature), "rfc7523 verify");
    let ring_key = ring::signature::UnparsedPublicKey::new(ring_alg, f.raw_public.as_slice());
    ring_key.verify(message, &signature).expect("ring accepts");
    let aws_key = aws_lc_rs::signature::ParsedPublicKey::new(aws_alg, f.raw_public.as_slice())
        .expect("aws-lc-rs key");
    aws_key
        .verify_sig(message, &signature)
        .expect("aws-lc-rs accepts");

    let name = match f.alg {
        Algorithm::Ps256 => "alg_ps256",
        Algorithm::Es256 => "alg_es256",
        _ => "alg_eddsa",
    };
    let mut group = c.benchmark_group(name);
    group.bench_function("rfc7523_validate", |b| {
        b.iter(|| {
            profile
                .validate(black_box(token), None, now, &mut AcceptAll, &mut buffer)
                .map(|valid| valid.replay_entry())
        })
    });
    group.bench_function("rfc7523_verify", |b| {
        b.iter(|| our_key.verify(black_box(message), black_box(&signature)))
    });
    group.bench_function("ring", |b| {
        b.iter(|| ring_key.verify(black_box(message), black_box(&signature)))
    });
    group.bench_function("aws_lc_rs", |b| {
        b.iter(|| aws_key.verify_sig(black_box(message), black_box(&signature)))
    });
    group.finish();
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn base64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = ALPHABET.iter().position(|&a| a == byte).expect("base64url") as u32;
        acc = (acc << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn benches(c: &mut Criterion) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    for alg in [Algorithm::Ps256, Algorithm::Es256, Algorithm::EdDsa] {
        bench_algorithm(c, &fixture(alg, now));
    }
}

fn config() -> Criterion {
    // As `rs256.rs`: 3 s of warm-up, 3 s of measurement, 20 samples (12 benchmarks, about
    // 75 s); the command line overrides them.
    Criterion::default()
        .warm_up_time(Duration::from_secs(3))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .without_plots()
}

criterion_group! {
    name = group;
    config = config();
    targets = benches
}
criterion_main!(group);
