//! RS256 verification: rfc7523 against its peers, in one run, on the same token and key.
//!
//! For each key size (2048 and 4096 bits, the Wycheproof `rsa_pkcs1_*_sig_gen` SHA-256 groups
//! with e = 65537, whose private keys are in `tests/vectors/`), one typical client assertion
//! is signed at start-up by rfc7523's `AssertionSigner` (`iat` = the clock at start-up,
//! one hour of lifetime, a fixed `jti`) and every implementation checks that same token:
//!
//! * `rfc7523_validate` — `ClientAuthProfile::validate`: parse, RS256 verify, claims, typ,
//!   iss/sub/aud, time checks with a fixed `now`, the replay key (SHA-256 of iss and jti)
//!   handed to a store. The store accepts every entry (the same `jti` comes back on every
//!   iteration); the store's own cost is left out (`replay.rs` measures it).
//! * `rfc7523_rs256` — `RsaVerifyingKey::verify_rs256`: SHA-256 of the signing input and the
//!   RSA step, nothing else.
//! * `rfc7523_rsavp1` — `rfc7523_rsavp1::rsavp1` alone: `s^e mod n` over the key stored as
//!   bytes (`n` and `R² mod n`, converted at each call, as the core's key storage does), the
//!   RSA step of `rfc7523_rs256` without SHA-256 and the PKCS#1 v1.5 comparison.
//! * `rsa_0.9` — the `rsa` crate's `pkcs1v15::VerifyingKey<Sha256>` (key built once).
//! * `ring` — `UnparsedPublicKey::verify` (ring parses the PKCS#1 key on every call: it has
//!   no parsed-key type for RSA).
//! * `aws_lc_rs` — `ParsedPublicKey::verify_sig` (key parsed once).
//! * `jsonwebtoken` — `jsonwebtoken::decode` (ring) with iss, sub, aud and exp required and
//!   checked: the full-JWT peer of `rfc7523_validate`. It reads the system clock itself.
//!
//! Run with `cargo xtask bench` (writes BENCHMARKS.md) or `cargo bench` in this directory.
//! Timings are never assertions; the start-up checks only make sure every implementation
//! accepts the token, so nothing measures an early rejection.

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion};
use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::{
    Checks, ClientAuthProfile, DecodeBuffer, KeySet, Party, Policy, ReplayEntry, ReplayError,
    ReplayStore, RsaVerifyingKey,
};
use rsa::signature::Verifier;

const CLIENT_ID: &str = "s6BhdRkqt3";
const AUDIENCE: &str = "https://as.example";
const JTI: &str = "4m_FvXseA5rCNdbF52es8A";
const LIFETIME: u64 = 3600;

/// A store that accepts every entry: the replay key is still computed by `validate`.
struct AcceptAll;

impl ReplayStore for AcceptAll {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        black_box((entry, now));
        Ok(())
    }
}

struct Fixture {
    bits: usize,
    token: String,
    spki_pem: String,
    pkcs1_der: Vec<u8>,
    n: Vec<u8>,
    e: Vec<u8>,
    now: u64,
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn fixture(bits: usize) -> Fixture {
    let path = format!(
        "{}/../tests/vectors/wycheproof/rsa_pkcs1_{bits}_sig_gen_test.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("Wycheproof vector file");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let group = json["testGroups"]
        .as_array()
        .expect("testGroups")
        .iter()
        .find(|g| g["sha"] == "SHA-256" && g["privateKey"]["publicExponent"] == "010001")
        .expect("a SHA-256 group with e = 65537");
    let signer = AssertionSigner::from_pem(group["privateKeyPem"].as_str().expect("PEM"))
        .expect("private key");
    assert_eq!(signer.bits(), bits);
    let (n, e) = signer.public_components();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let request = AssertionRequest {
        issuer: CLIENT_ID,
        subject: CLIENT_ID,
        audience: AUDIENCE,
        lifetime: Some(LIFETIME),
        jti: Some(JTI),
        kid: None,
        client_authentication: true,
    };
    let token = signer.sign(&request, now).expect("sign").to_string();
    Fixture {
        bits,
        token,
        spki_pem: group["keyPem"].as_str().expect("keyPem").to_owned(),
        pkcs1_der: hex(group["keyAsn"].as_str().expect("keyAsn")),
        n,
        e,
        now,
    }
}

fn bench_size(c: &mut Criterion, f: &Fixture) {
    let token = f.token.as_str();
    let (signing_input, signature_b64) = token.rsplit_once('.').expect("three segments");
    let signature = base64url_decode(signature_b64);
    let message = signing_input.as_bytes();

    // rfc7523
    let keys = KeySet::from_pem(&f.spki_pem).expect("SPKI");
    let clients = [Party::new(CLIENT_ID, &keys).with_policy(Policy {
        checks: Checks {
            max_lifetime: Some(LIFETIME),
            require_jti: true,
            ..Checks::default()
        },
        ..Policy::default()
    })];
    let profile = ClientAuthProfile {
        clients: &clients[..],
        issuer: AUDIENCE,
        token_endpoint: None,
    };
    let now = f.now + 1;
    // The token's decoded parts: one buffer, reused by every iteration.
    let mut buffer = DecodeBuffer::new();
    profile
        .validate(token, None, now, &mut AcceptAll, &mut buffer)
        .expect("rfc7523 accepts the token");
    let verifying_key = RsaVerifyingKey::from_pem(&f.spki_pem).expect("SPKI");
    assert!(verifying_key.verify_rs256(message, &signature));

    // rfc7523-rsavp1 alone
    let mut rr = vec![0u8; f.n.len()];
    let e = f.e.iter().fold(0u64, |e, &byte| (e << 8) | u64::from(byte));
    let constants = rfc7523_rsavp1::precompute(&f.n, e, &mut rr).expect("rsavp1 key");
    let mut em = vec![0u8; f.n.len()];
    let rsavp1 =
        |sig: &[u8], out: &mut [u8]| rfc7523_rsavp1::rsavp1(&f.n, &rr, constants, e, sig, out);
    rsavp1(&signature, &mut em).expect("rsavp1 accepts");

    // rsa 0.9
    let rsa_key = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(
        rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&f.n),
            rsa::BigUint::from_bytes_be(&f.e),
        )
        .expect("rsa key"),
    );
    let rsa_verify = |sig: &[u8]| {
        let sig = rsa::pkcs1v15::Signature::try_from(sig).map_err(|_| ())?;
        rsa_key.verify(message, &sig).map_err(|_| ())
    };
    rsa_verify(&signature).expect("rsa accepts");

    // ring
    let ring_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        f.pkcs1_der.as_slice(),
    );
    ring_key.verify(message, &signature).expect("ring accepts");

    // aws-lc-rs
    let aws_key = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        f.pkcs1_der.as_slice(),
    )
    .expect("aws-lc-rs key");
    aws_key
        .verify_sig(message, &signature)
        .expect("aws-lc-rs accepts");

    // jsonwebtoken
    let jwt_key = jsonwebtoken::DecodingKey::from_rsa_raw_components(&f.n, &f.e);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[CLIENT_ID]);
    validation.sub = Some(CLIENT_ID.to_owned());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let jwt_decode = |t: &str| {
        jsonwebtoken::decode::<serde_json::Value>(t, &jwt_key, &validation).map(|d| d.claims)
    };
    jwt_decode(token).expect("jsonwebtoken accepts");

    let mut group = c.benchmark_group(format!("rs256_{}", f.bits));
    group.bench_function("rfc7523_validate", |b| {
        b.iter(|| {
            profile
                .validate(black_box(token), None, now, &mut AcceptAll, &mut buffer)
                .map(|valid| valid.replay_entry())
        })
    });
    group.bench_function("rfc7523_rs256", |b| {
        b.iter(|| verifying_key.verify_rs256(black_box(message), black_box(&signature)))
    });
    group.bench_function("rfc7523_rsavp1", |b| {
        b.iter(|| rsavp1(black_box(&signature), black_box(&mut em)))
    });
    group.bench_function("rsa_0.9", |b| b.iter(|| rsa_verify(black_box(&signature))));
    group.bench_function("ring", |b| {
        b.iter(|| ring_key.verify(black_box(message), black_box(&signature)))
    });
    group.bench_function("aws_lc_rs", |b| {
        b.iter(|| aws_key.verify_sig(black_box(message), black_box(&signature)))
    });
    group.bench_function("jsonwebtoken", |b| b.iter(|| jwt_decode(black_box(token))));
    group.finish();
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
    for bits in [2048, 4096] {
        bench_size(c, &fixture(bits));
    }
}

fn config() -> Criterion {
    // Modest defaults (the whole `cargo xtask bench` takes a few minutes on 2 cores); the
    // command line (`-- --measurement-time N` …) overrides them. A 3 s warm-up: with 1 s the
    // first benchmark after `openssl speed` came out up to 1.8× slow in some runs (57.6 µs
    // against 32.8 µs measured alone right after).
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
