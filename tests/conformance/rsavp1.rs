//! The new RSA path against the old one: RSAVP1 (RFC 8017 §5.2.2) of
//! [`RsaVerifyingKey::rsavp1`] (fixed-width Montgomery arithmetic, `crates/rfc7523/src/rsavp1`)
//! against `rsa::hazmat::rsa_encrypt` (the `rsa` crate's num-bigint-dig, which the verifier
//! used before), byte for byte:
//!
//! - every signature of every Wycheproof RSA file whose key we accept (the four
//!   `rsa_signature_*_sha256` files and the `rsa_pkcs1_*_sig_gen` files, every hash: RSAVP1
//!   does not depend on it);
//! - random signatures (below and above n) under every one of those keys;
//! - random odd moduli of random sizes from 2048 to 8192 bits with random odd exponents up to
//!   2^33 − 1 (proptest), including sizes between the fixed widths.
//!
//! Both paths must agree on the result and on refusing a representative not below n.

use proptest::prelude::*;
use proptest::test_runner::Config;
use rfc7523::limits::{MAX_PUBLIC_EXPONENT, MAX_RSA_BITS, MAX_SIGNATURE_LEN, MIN_RSA_BITS};
use rfc7523::RsaVerifyingKey;
use rfc7523_conformance::{hex, json_array, json_str, load_json, Failures};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};

/// The old path: OS2IP, the range check, `s^e mod n` with the rsa crate, I2OSP.
fn old_rsavp1(key: &RsaPublicKey, signature: &[u8]) -> Option<Vec<u8>> {
    let k = key.size();
    if signature.len() != k {
        return None;
    }
    let s = BigUint::from_bytes_be(signature);
    if &s >= key.n() {
        return None;
    }
    let m = rsa::hazmat::rsa_encrypt(key, &s).ok()?.to_bytes_be();
    let mut out = vec![0u8; k - m.len()];
    out.extend_from_slice(&m);
    Some(out)
}

/// The new path.
fn new_rsavp1(key: &RsaVerifyingKey, signature: &[u8]) -> Option<Vec<u8>> {
    let mut out = [0u8; MAX_SIGNATURE_LEN];
    key.rsavp1(signature, &mut out).map(<[u8]>::to_vec)
}

fn old_key(n: &[u8], e: &[u8]) -> RsaPublicKey {
    RsaPublicKey::new_with_max_size(
        BigUint::from_bytes_be(n),
        BigUint::from_bytes_be(e),
        MAX_RSA_BITS,
    )
    .unwrap_or_else(|err| panic!("rsa crate refused the key: {err}"))
}

/// A small deterministic generator (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// One Wycheproof group: its key and every signature in it.
struct Group {
    file: String,
    n: Vec<u8>,
    e: Vec<u8>,
    signatures: Vec<Vec<u8>>,
}

fn wycheproof_keys() -> Vec<Group> {
    let mut keys = Vec::new();
    for bits in [2048, 3072, 4096, 8192] {
        let file = format!("wycheproof/rsa_signature_{bits}_sha256_test.json");
        let doc = load_json(&file);
        for group in json_array(&doc["testGroups"], "testGroups") {
            let public = &group["publicKey"];
            let sigs = json_array(&group["tests"], "tests")
                .iter()
                .map(|t| hex(json_str(&t["sig"], "sig")))
                .collect();
            keys.push(Group {
                file: file.clone(),
                n: hex(json_str(&public["modulus"], "modulus")),
                e: hex(json_str(&public["publicExponent"], "publicExponent")),
                signatures: sigs,
            });
        }
    }
    for bits in [2048, 3072, 4096] {
        let file = format!("wycheproof/rsa_pkcs1_{bits}_sig_gen_test.json");
        let doc = load_json(&file);
        for group in json_array(&doc["testGroups"], "testGroups") {
            let sigs = json_array(&group["tests"], "tests")
                .iter()
                .map(|t| hex(json_str(&t["sig"], "sig")))
                .collect();
            let private = &group["privateKey"];
            keys.push(Group {
                file: file.clone(),
                n: hex(json_str(&private["modulus"], "modulus")),
                e: hex(json_str(&private["publicExponent"], "publicExponent")),
                signatures: sigs,
            });
        }
    }
    keys
}

#[test]
fn new_and_old_rsavp1_agree_on_every_wycheproof_signature_and_random_ones() {
    let mut failures = Failures::new("RSAVP1: Montgomery vs rsa crate");
    let mut rng = Rng(0x5eed_7523);
    let (mut compared, mut in_range, mut keys, mut vectors) = (0usize, 0usize, 0usize, 0usize);
    for Group {
        file,
        n,
        e,
        signatures,
    } in wycheproof_keys()
    {
        let new = match RsaVerifyingKey::from_components(&n, &e) {
            Ok(key) => key,
            Err(err) => {
                failures.push(&file, format!("key refused: {err:?}"));
                continue;
            }
        };
        let old = old_key(&n, &e);
        keys += 1;
        vectors += signatures.len();
        let k = new.modulus_len();
        let mut random: Vec<Vec<u8>> = (0..24).map(|_| rng.bytes(k)).collect();
        // Around n: n − 1 (in range), n and n + 1 (out of range).
        let n_big = BigUint::from_bytes_be(&n);
        for candidate in [&n_big - 1u32, n_big.clone(), &n_big + 1u32] {
            let bytes = candidate.to_bytes_be();
            if bytes.len() <= k {
                let mut padded = vec![0u8; k - bytes.len()];
                padded.extend_from_slice(&bytes);
                random.push(padded);
            }
        }
        for signature in signatures.iter().chain(&random) {
            compared += 1;
            let (want, got) = (old_rsavp1(&old, signature), new_rsavp1(&new, signature));
            in_range += usize::from(want.is_some());
            failures.check(
                want == got,
                &file,
                format!(
                    "{}-byte signature {}: old {:?}, new {:?}",
                    signature.len(),
                    hex::encode(&signature[..signature.len().min(8)]),
                    want.as_deref().map(hex::encode),
                    got.as_deref().map(hex::encode)
                ),
            );
        }
    }
    println!(
        "RSAVP1: {compared} signatures ({vectors} from the vectors) under {keys} Wycheproof keys, \
         {in_range} in range, old == new"
    );
    // 1034 rsa_signature cases (20 keys) and 93 sig_gen signatures (3 keys of 2048 bits and up).
    assert_eq!(
        (keys, vectors),
        (23, 1034 + 93),
        "keys and vector signatures compared"
    );
    failures.assert_none();
}

/// An odd modulus of exactly `bits` bits from `seed`.
fn random_modulus(bits: usize, seed: u64) -> Vec<u8> {
    let mut n = Rng(seed | 1).bytes(bits.div_ceil(8));
    let top_bits = bits % 8;
    n[0] = if top_bits == 0 {
        n[0] | 0x80
    } else {
        (n[0] & ((1 << top_bits) - 1)) | (1 << (top_bits - 1))
    };
    if let Some(last) = n.last_mut() {
        *last |= 1;
    }
    n
}

proptest! {
    #![proptest_config(Config { cases: 64, failure_persistence: None, ..Config::default() })]

    #[test]
    fn new_and_old_rsavp1_agree_on_random_keys(
        bits in MIN_RSA_BITS..=MAX_RSA_BITS,
        e in (1u64..=MAX_PUBLIC_EXPONENT / 2).prop_map(|h| 2 * h + 1),
        seed in any::<u64>(),
    ) {
        let n = random_modulus(bits, seed);
        let e = e.to_be_bytes();
        let new = RsaVerifyingKey::from_components(&n, &e).unwrap_or_else(|err| panic!("{err:?}"));
        let old = old_key(&n, &e);
        let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
        for _ in 0..3 {
            let mut signature = rng.bytes(new.modulus_len());
            // Mostly below n (clear the top byte's high bit), sometimes not.
            if rng.next() % 4 != 0 {
                signature[0] &= n[0] >> 1;
            }
            prop_assert_eq!(old_rsavp1(&old, &signature), new_rsavp1(&new, &signature));
        }
    }
}
