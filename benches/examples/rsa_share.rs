//! Where a native RSA-2048 validation's time goes, robust to a shared machine:
//! `cargo run --release --example rsa_share [ROUNDS]` (from `benches/`).
//!
//! criterion measures one implementation after the other in wall-clock time, so on a machine
//! whose load changes by the second its ratios move by ±50 %; and `openssl speed` divides by
//! CPU time (no `-elapsed`), which a preempted process does not accumulate, so under load the
//! criterion rows lose against it. Here each round times a short batch (10 operations) of each
//! implementation back to back, and each implementation's 10th percentile over the rounds is
//! its speed when it had the core; `openssl speed -seconds 1 rsa2048` runs at the start, the
//! middle and the end (median):
//!
//! * `validate` — `ClientAuthProfile::validate` (as `rfc7523_validate` in `rs256.rs`);
//! * `rs256` — `RsaVerifyingKey::verify_rs256` (SHA-256 + RSA);
//! * `rsavp1` — `rfc7523_rsavp1::rsavp1` over the key stored as bytes (RSA alone);
//! * `aws_lc_rs`, `ring` — the peers' verify, as in `rs256.rs`.
//!
//! The split printed last: the RSA share of a validation (`rsavp1 / validate`) and what is
//! outside RSA (`validate − rsavp1`: parsing, base64url, JSON, SHA-256 of the signing input and
//! of the replay key, claims). Printed, never asserted.

use std::hint::black_box;
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::{
    Checks, ClientAuthProfile, DecodeBuffer, KeySet, Party, Policy, ReplayEntry, ReplayError,
    ReplayStore, RsaVerifyingKey,
};

const CLIENT_ID: &str = "s6BhdRkqt3";
const AUDIENCE: &str = "https://as.example";
const LIFETIME: u64 = 3600;

/// A store that accepts every entry (as in `rs256.rs`).
struct AcceptAll;

impl ReplayStore for AcceptAll {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        black_box((entry, now));
        Ok(())
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `openssl speed -seconds 1 rsa2048`: µs per verification.
fn openssl_us() -> f64 {
    let output = Command::new("openssl")
        .args(["speed", "-seconds", "1", "rsa2048"])
        .output()
        .expect("openssl speed");
    let text = String::from_utf8_lossy(&output.stdout);
    let rate: f64 = text
        .lines()
        .find(|l| l.starts_with("rsa 2048 bits"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .expect("verify/s column");
    1e6 / rate
}

fn median(v: Vec<f64>) -> f64 {
    percentile(&v, 50)
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(2000);
    let path = format!(
        "{}/../tests/vectors/wycheproof/rsa_pkcs1_2048_sig_gen_test.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("vectors")).expect("JSON");
    let group = json["testGroups"]
        .as_array()
        .expect("testGroups")
        .iter()
        .find(|g| g["sha"] == "SHA-256" && g["privateKey"]["publicExponent"] == "010001")
        .expect("a SHA-256 group with e = 65537");
    let signer = AssertionSigner::from_pem(group["privateKeyPem"].as_str().expect("PEM"))
        .expect("private key");
    let spki_pem = group["keyPem"].as_str().expect("keyPem");
    let pkcs1_der = hex(group["keyAsn"].as_str().expect("keyAsn"));
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
        jti: Some("4m_FvXseA5rCNdbF52es8A"),
        kid: None,
        client_authentication: true,
    };
    let token = signer.sign(&request, now).expect("sign").to_string();
    let (signing_input, signature_b64) = token.rsplit_once('.').expect("three segments");
    let signature = {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
        for byte in signature_b64.bytes() {
            acc = (acc << 6) | ALPHABET.iter().position(|&a| a == byte).expect("b64") as u32;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    };
    let message = signing_input.as_bytes();

    let keys = KeySet::from_pem(spki_pem).expect("SPKI");
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
    let now = now + 1;
    let verifying_key = RsaVerifyingKey::from_pem(spki_pem).expect("SPKI");
    let e64 = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let mut rr = vec![0u8; n.len()];
    let constants = rfc7523_rsavp1::precompute(&n, e64, &mut rr).expect("key");
    let mut em = vec![0u8; n.len()];
    let ring_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        pkcs1_der.as_slice(),
    );
    let aws_key = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        pkcs1_der.as_slice(),
    )
    .expect("aws-lc-rs key");

    type Op<'a> = Box<dyn FnMut() + 'a>;
    let mut ops: Vec<(&str, Op)> = vec![
        (
            "validate",
            Box::new(|| {
                let mut buffer = DecodeBuffer::new();
                profile
                    .validate(black_box(&token), None, now, &mut AcceptAll, &mut buffer)
                    .map(|_| ())
                    .expect("valid");
            }),
        ),
        (
            "rs256",
            Box::new(|| {
                assert!(verifying_key.verify_rs256(black_box(message), black_box(&signature)))
            }),
        ),
        (
            "rsavp1",
            Box::new(|| {
                rfc7523_rsavp1::rsavp1(&n, &rr, constants, e64, black_box(&signature), &mut em)
                    .expect("rsavp1");
            }),
        ),
        (
            "aws_lc_rs",
            Box::new(|| {
                aws_key
                    .verify_sig(black_box(message), black_box(&signature))
                    .expect("aws-lc-rs")
            }),
        ),
        (
            "ring",
            Box::new(|| {
                ring_key
                    .verify(black_box(message), black_box(&signature))
                    .expect("ring")
            }),
        ),
    ];
    for (_, op) in ops.iter_mut() {
        for _ in 0..200 {
            op();
        }
    }
    // Short batches, round-robin; a batch the scheduler preempted is only ever slower, so the
    // low percentile of each implementation's batches is its speed when it had the core.
    const BATCH: u32 = 10;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
    let mut openssl = vec![openssl_us()];
    for round in 0..rounds {
        if round == rounds / 2 {
            openssl.push(openssl_us());
        }
        for ((_, op), column) in ops.iter_mut().zip(times.iter_mut()) {
            let start = Instant::now();
            for _ in 0..BATCH {
                op();
            }
            column.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(BATCH));
        }
    }
    openssl.push(openssl_us());
    let openssl = median(openssl);
    let low: Vec<f64> = times.iter().map(|column| percentile(column, 10)).collect();
    println!(
        "RSA-2048: {rounds} rounds of {BATCH} operations each, round-robin; `openssl speed` \
         (CPU time) 3 runs, median"
    );
    println!(
        "{:<10} {:>11} {:>10} {:>12} {:>13}",
        "", "p10 µs/op", "median", "vs OpenSSL", "vs aws-lc-rs"
    );
    println!(
        "{:<10} {:>11.2} {:>10} {:>12.3}",
        "openssl", openssl, "", 1.0
    );
    for ((name, _), (column, &us)) in ops.iter().zip(times.iter().zip(&low)) {
        println!(
            "{name:<10} {us:>11.2} {:>10.2} {:>12.3} {:>13.3}",
            percentile(column, 50),
            openssl / us,
            low[3] / us
        );
    }
    println!(
        "split of validate (p10): RSAVP1 {:.2} µs ({:.0} %), the rest {:.2} µs",
        low[2],
        100.0 * low[2] / low[0],
        low[0] - low[2]
    );
}

fn percentile(column: &[f64], p: usize) -> f64 {
    let mut v = column.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[(v.len() - 1) * p / 100]
}
