//! The batch of `cargo xtask bench`'s `rfc7523 verify --jobs` rows: `tokens COUNT DIR` writes
//! `DIR/public.pem` (the Wycheproof RSA-2048 key of `rs256.rs`) and `DIR/tokens.txt`, COUNT
//! grants of `https://issuer.example` for `https://as.example` (subject `alice`, jti
//! `bench-0`.., an hour of lifetime from now), one per line. Signed on two threads.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use rfc7523::sign::{AssertionRequest, AssertionSigner};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(count), Some(dir)) = (
        args.first().and_then(|n| n.parse::<usize>().ok()),
        args.get(1),
    ) else {
        eprintln!("usage: tokens COUNT DIR");
        std::process::exit(2);
    };
    let path = format!(
        "{}/../tests/vectors/wycheproof/rsa_pkcs1_2048_sig_gen_test.json",
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
    std::fs::write(
        format!("{dir}/public.pem"),
        group["keyPem"].as_str().expect("keyPem"),
    )
    .expect("public.pem");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let sign = |range: std::ops::Range<usize>| {
        let mut out = String::new();
        for i in range {
            let jti = format!("bench-{i}");
            let request = AssertionRequest {
                issuer: "https://issuer.example",
                subject: "alice",
                audience: "https://as.example",
                lifetime: Some(3600),
                jti: Some(&jti),
                kid: None,
                client_authentication: false,
            };
            let token = signer.sign(&request, now).expect("sign");
            let _ = writeln!(out, "{token}");
        }
        out
    };
    let half = count / 2;
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| sign(0..half));
        let second = sign(half..count);
        (first.join().expect("signer thread"), second)
    });
    std::fs::write(format!("{dir}/tokens.txt"), first + &second).expect("tokens.txt");
}
