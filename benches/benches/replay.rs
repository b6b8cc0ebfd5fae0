//! The replay store (issue 16): `check_and_insert` on a `BoxedReplayStore` of 65,536 entries
//! at several fills of live entries, and a whole validation with and without the store.
//!
//! * `replay_65536/insert_live_{0,50,95}` — a new key into a store holding 0 %, 50 % or 95 %
//!   of its capacity in live entries, and expired entries in most other slots, as in a store
//!   that has run for a while: inserts mostly reuse expired entries. Each iteration's
//!   entry expires at the next iteration's `now`, so the fill stays where it is. The key is
//!   64 bits of a counter spread to 32 bytes (a few ns, included).
//! * `replay_65536/refused_full_100` — every entry live: each new key is refused (`Full`).
//! * `replay_65536/replayed_95` — a key already held and live: refused (`Replayed`).
//! * `validate_2048/accept_all` — `ClientAuthProfile::validate` handing the replay key to a
//!   store that accepts everything (the `rfc7523_validate` row of `rs256.rs`);
//!   `validate_2048/store_95` — the same validation with its replay key (made unique per
//!   iteration) checked and inserted into the 95 % store.
//!
//! The store used to be a linear scan, at 4,096 entries at most; there is nothing left of it
//! to compare with, so compare the rows with each other: a flat cost is the same time at
//! 0 % and 95 %.

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion};
use rfc7523::sign::{AssertionRequest, AssertionSigner};
use rfc7523::{
    BoxedReplayStore, Checks, ClientAuthProfile, DecodeBuffer, KeySet, Party, Policy, ReplayEntry,
    ReplayError, ReplayKey, ReplayStore,
};

const CAPACITY: usize = 65_536;
const SEED: [u8; 16] = *b"bench-replay-sd!";
const START: u64 = 1_700_000_000;
/// Far beyond any `now` a run reaches: the background entries stay live.
const LONG: u64 = START + 1_000_000_000;

/// 32 bytes from a counter (splitmix64): distinct, uniformly spread digests.
fn key(n: u64) -> ReplayKey {
    let mut bytes = [0u8; 32];
    let mut x = n;
    for chunk in bytes.chunks_exact_mut(8) {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    ReplayKey::from_bytes(bytes)
}

/// A store holding `live` entries live until [`LONG`] and, in most other slots, expired ones;
/// and the state that keeps it so: each [`Churn::insert`] adds a new key that expires at the
/// next call.
struct Churn {
    store: BoxedReplayStore,
    next: u64,
    now: u64,
}

impl Churn {
    fn new(live: usize) -> Self {
        let mut store = BoxedReplayStore::with_capacity_and_seed(CAPACITY, SEED);
        for n in 0..live as u64 {
            let entry = ReplayEntry {
                key: key(n),
                expires_at: LONG,
            };
            store.check_and_insert(entry, START).expect("room");
        }
        let mut churn = Self {
            store,
            next: 1 << 40,
            now: START,
        };
        if live < CAPACITY {
            // Two capacities' worth of churn: the steady state of a store that has run for a
            // while (a new key reuses an expired entry of its bucket, else a free slot, else
            // the heap's root).
            for _ in 0..2 * CAPACITY {
                churn.insert(key(0)).expect("room");
            }
            assert_eq!(churn.store.live(churn.now), live + 1);
        }
        churn
    }

    /// Inserts a new key (the digest `base` made unique), expiring at the next call.
    fn insert(&mut self, base: ReplayKey) -> Result<(), ReplayError> {
        self.next += 1;
        self.now += 1;
        let mut bytes = *key(self.next).as_bytes();
        for (b, k) in bytes.iter_mut().zip(base.as_bytes()) {
            *b ^= k;
        }
        let entry = ReplayEntry {
            key: ReplayKey::from_bytes(bytes),
            expires_at: self.now + 1,
        };
        self.store.check_and_insert(entry, self.now)
    }
}

impl ReplayStore for Churn {
    fn check_and_insert(&mut self, entry: ReplayEntry, _now: u64) -> Result<(), ReplayError> {
        self.insert(entry.key)
    }
}

/// A store that accepts every entry: the replay key is still computed by `validate`.
struct AcceptAll;

impl ReplayStore for AcceptAll {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        black_box((entry, now));
        Ok(())
    }
}

fn store_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay_65536");
    for percent in [0, 50, 95] {
        let mut churn = Churn::new(CAPACITY * percent / 100);
        println!(
            "{percent} % live: {} of {CAPACITY} slots hold entries",
            churn.store.len()
        );
        group.bench_function(format!("insert_live_{percent}"), |b| {
            b.iter(|| churn.insert(black_box(key(0))).expect("room"))
        });
        if percent == 95 {
            let held = key(7);
            group.bench_function("replayed_95", |b| {
                b.iter(|| {
                    let entry = ReplayEntry {
                        key: black_box(held),
                        expires_at: LONG,
                    };
                    let answer = churn.store.check_and_insert(entry, churn.now);
                    assert_eq!(answer, Err(ReplayError::Replayed));
                })
            });
        }
    }
    let mut full = Churn::new(CAPACITY);
    group.bench_function("refused_full_100", |b| {
        b.iter(|| assert_eq!(full.insert(black_box(key(0))), Err(ReplayError::Full)))
    });
    group.finish();
}

fn validate_benches(c: &mut Criterion) {
    const CLIENT_ID: &str = "s6BhdRkqt3";
    const AUDIENCE: &str = "https://as.example";
    const LIFETIME: u64 = 3600;

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
    let keys = KeySet::from_pem(group["keyPem"].as_str().expect("keyPem")).expect("SPKI");
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
    let token = token.as_str();
    let mut churn = Churn::new(CAPACITY * 95 / 100);
    // The token's decoded parts: one buffer, reused by every iteration.
    let mut buffer = DecodeBuffer::new();
    profile
        .validate(token, None, now, &mut churn, &mut buffer)
        .expect("rfc7523 accepts the token");

    let mut group = c.benchmark_group("validate_2048");
    group.bench_function("accept_all", |b| {
        b.iter(|| {
            profile
                .validate(black_box(token), None, now, &mut AcceptAll, &mut buffer)
                .map(|valid| valid.replay_entry())
        })
    });
    group.bench_function("store_95", |b| {
        b.iter(|| {
            profile
                .validate(black_box(token), None, now, &mut churn, &mut buffer)
                .map(|valid| valid.replay_entry())
                .expect("valid")
        })
    });
    group.finish();
}

fn config() -> Criterion {
    // As rs256.rs: modest defaults, the command line overrides them.
    Criterion::default()
        .warm_up_time(Duration::from_secs(3))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .without_plots()
}

criterion_group! {
    name = group;
    config = config();
    targets = store_benches, validate_benches
}
criterion_main!(group);
