//! Model-based property tests (proptest) of the in-memory replay stores: random sequences of
//! calls to `check_and_insert` on [`MemoryReplayStore`] (array) and [`BoxedReplayStore`]
//! (heap), at capacities 1, 2, 3, 8 and 64, give exactly the answers of [`Model`], a plain list
//! scanned in full with the same semantics and capacity:
//!
//! - `Replayed` when the key is held and live at `now` (`expires_at > now`);
//! - otherwise `Ok` without storing anything when the entry has already expired;
//! - otherwise `Full` when the capacity's worth of entries are live, else stored and `Ok`.
//!
//! Keys come from a small pool (so keys repeat): digests of (`iss`, `jti`), and digests that
//! are equal but for their first bytes (equal low bits). `now` never goes back; it mostly
//! stays, sometimes steps, sometimes jumps past every entry; expiries range from the past to
//! far ahead, so the stores fill, refuse, empty and reuse their slots. The seed is random.
//! After every call the live counts agree and `len` stays within `live..=capacity`.
//!
//! The stores' bucket bound (`MAX_REPLAY_BUCKET_LEN`, 32) is the one place where they may
//! refuse what the model accepts; random keys never come near it (the unit tests in
//! `replay.rs` aim keys at one bucket). Failures are not persisted to files.

use proptest::prelude::*;
use proptest::test_runner::Config;
use rfc7523::{
    BoxedReplayStore, MemoryReplayStore, ReplayEntry, ReplayError, ReplayKey, ReplayStore,
};

/// Distinct keys the calls draw from: more than the largest capacity tested, so that a
/// store of 64 can be full of distinct live keys.
const POOL: usize = 96;

fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    }
}

/// The key pool: even numbers are SHA-256 digests of (`iss`, `jti`), odd ones digests that
/// differ only in their first eight bytes.
fn key(n: usize) -> ReplayKey {
    if n % 2 == 0 {
        ReplayKey::new("https://client.example", &format!("jti-{n}"))
    } else {
        let mut bytes = [0x5a; 32];
        bytes[..8].copy_from_slice(&(n as u64).to_be_bytes());
        ReplayKey::from_bytes(bytes)
    }
}

/// The reference: a list of (key, expires_at), scanned in full.
struct Model {
    capacity: usize,
    entries: Vec<(ReplayKey, u64)>,
}

impl Model {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        if self
            .entries
            .iter()
            .any(|&(key, expires_at)| key == entry.key && expires_at > now)
        {
            return Err(ReplayError::Replayed);
        }
        if entry.expires_at <= now {
            return Ok(());
        }
        self.entries.retain(|&(_, expires_at)| expires_at > now);
        if self.entries.len() >= self.capacity {
            return Err(ReplayError::Full);
        }
        self.entries.push((entry.key, entry.expires_at));
        Ok(())
    }

    fn live(&self, now: u64) -> usize {
        self.entries.iter().filter(|&&(_, e)| e > now).count()
    }
}

/// One call: a key of the pool, how far `now` moves first, and the entry's expiry relative
/// to the new `now`.
#[derive(Clone, Copy, Debug)]
struct Call {
    key: usize,
    step: u64,
    lifetime: i64,
}

/// A call, at one of three paces: `0` churns (time moves often, jumps now and then), `1`
/// fills (time mostly stands, long lifetimes), `2` fills and then jumps past everything.
fn call(pace: u32) -> impl Strategy<Value = Call> {
    let (stay, jump, long) = match pace {
        0 => (12, 1, 3),
        1 => (60, 0, 12),
        _ => (60, 1, 12),
    };
    let step = prop_oneof![
        stay => Just(0u64),
        6 => 1u64..4,
        jump => 100u64..6_000,
    ];
    let lifetime = prop_oneof![
        2 => -20i64..=0,
        10 => 1i64..40,
        long => 200i64..5_000,
    ];
    (0..POOL, step, lifetime).prop_map(|(key, step, lifetime)| Call {
        key,
        step,
        lifetime,
    })
}

/// The stores answer as the model does, call after call.
fn run<S: ReplayStore>(
    store: &mut S,
    live: impl Fn(&S, u64) -> usize,
    len: impl Fn(&S) -> usize,
    capacity: usize,
    calls: &[Call],
) -> Result<(), TestCaseError> {
    let mut model = Model {
        capacity,
        entries: Vec::new(),
    };
    let mut now = 1_700_000_000u64;
    for (i, c) in calls.iter().enumerate() {
        now += c.step;
        let entry = ReplayEntry {
            key: key(c.key),
            expires_at: now.saturating_add_signed(c.lifetime),
        };
        let expected = model.check_and_insert(entry, now);
        prop_assert_eq!(
            store.check_and_insert(entry, now),
            expected,
            "call {} ({:?}) at {}",
            i,
            c,
            now
        );
        prop_assert_eq!(live(store, now), model.live(now), "live after call {}", i);
        prop_assert!(len(store) >= model.live(now) && len(store) <= capacity);
    }
    Ok(())
}

fn run_array<const N: usize>(seed: [u8; 16], calls: &[Call]) -> Result<(), TestCaseError> {
    let mut store = MemoryReplayStore::<N>::with_seed(seed);
    prop_assert_eq!(store.capacity(), N);
    run(
        &mut store,
        |s, now| s.live(now),
        MemoryReplayStore::len,
        N,
        calls,
    )
}

fn run_boxed(capacity: usize, seed: [u8; 16], calls: &[Call]) -> Result<(), TestCaseError> {
    let mut store = BoxedReplayStore::with_capacity_and_seed(capacity, seed);
    prop_assert_eq!(store.capacity(), capacity);
    run(
        &mut store,
        |s, now| s.live(now),
        BoxedReplayStore::len,
        capacity,
        calls,
    )
}

fn calls() -> impl Strategy<Value = Vec<Call>> {
    (0u32..3).prop_flat_map(|pace| proptest::collection::vec(call(pace), 1..400))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn array_store_of_1_matches_the_model(seed in any::<[u8; 16]>(), calls in calls()) {
        run_array::<1>(seed, &calls)?;
    }

    #[test]
    fn array_store_of_2_matches_the_model(seed in any::<[u8; 16]>(), calls in calls()) {
        run_array::<2>(seed, &calls)?;
    }

    #[test]
    fn array_store_of_3_matches_the_model(seed in any::<[u8; 16]>(), calls in calls()) {
        run_array::<3>(seed, &calls)?;
    }

    #[test]
    fn array_store_of_8_matches_the_model(seed in any::<[u8; 16]>(), calls in calls()) {
        run_array::<8>(seed, &calls)?;
    }

    #[test]
    fn array_store_of_64_matches_the_model(seed in any::<[u8; 16]>(), calls in calls()) {
        run_array::<64>(seed, &calls)?;
    }

    #[test]
    fn boxed_store_matches_the_model(
        capacity in prop::sample::select(vec![1usize, 2, 3, 8, 64]),
        seed in any::<[u8; 16]>(),
        calls in calls(),
    ) {
        run_boxed(capacity, seed, &calls)?;
    }

    /// The all-zero seed of `new()` and `with_capacity` behaves the same.
    #[test]
    fn unseeded_stores_match_the_model(calls in calls()) {
        let mut array = MemoryReplayStore::<8>::new();
        run(&mut array, |s, now| s.live(now), MemoryReplayStore::len, 8, &calls)?;
        let mut boxed = BoxedReplayStore::with_capacity(64);
        run(&mut boxed, |s, now| s.live(now), BoxedReplayStore::len, 64, &calls)?;
    }
}

/// The sequences do reach every state the properties are about: a store full of live
/// entries, a refusal, a replay, and slots reused after expiry.
#[test]
fn the_calls_reach_full_stores_and_reuse() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let (mut full, mut replayed, mut reused) = (0, 0, 0);
    for _ in 0..64 {
        let calls = calls()
            .new_tree(&mut runner)
            .unwrap_or_else(|e| panic!("{e}"))
            .current();
        for capacity in [1, 2, 3, 8, 64] {
            let mut model = Model {
                capacity,
                entries: Vec::new(),
            };
            let mut now = 0u64;
            let mut stored = 0;
            for c in &calls {
                now += c.step;
                let entry = ReplayEntry {
                    key: key(c.key),
                    expires_at: now.saturating_add_signed(c.lifetime),
                };
                match model.check_and_insert(entry, now) {
                    Err(ReplayError::Full) => full += usize::from(capacity == 64),
                    Err(ReplayError::Replayed) => replayed += 1,
                    Ok(()) if entry.expires_at > now => stored += 1,
                    Ok(()) => {}
                }
            }
            if stored > capacity {
                reused += 1;
            }
        }
    }
    println!("{full} refusals by a full store of 64, {replayed} replays, {reused} reuses");
    assert!(full > 0, "a store of 64 full of live entries");
    assert!(
        replayed > 0 && reused > 0,
        "{replayed} replays, {reused} reuses"
    );
}
