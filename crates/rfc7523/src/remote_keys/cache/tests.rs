use super::*;
use crate::remote_keys::freshness::{clamp_max_age, DEFAULT_MAX_AGE};

const T0: u64 = 1_700_000_000;

/// A step without its ticket, for tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum S {
    Verify(bool),
    Fetch(M),
    Wait(M),
    KeyNotFound,
    Unavailable(u64),
}

/// A meanwhile without its cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum M {
    Stale,
    KeyNotFound,
    Unavailable(u64),
}

fn m(meanwhile: Meanwhile) -> M {
    match meanwhile {
        Meanwhile::Verify { stale } => {
            assert!(stale, "fresh keys never wait");
            M::Stale
        }
        Meanwhile::KeyNotFound => M::KeyNotFound,
        Meanwhile::Unavailable(u) => M::Unavailable(u.retry_after),
    }
}

fn s(step: Step) -> S {
    match step {
        Step::Verify { stale } => S::Verify(stale),
        Step::Fetch { meanwhile, .. } => S::Fetch(m(meanwhile)),
        Step::Wait { meanwhile, .. } => S::Wait(m(meanwhile)),
        Step::KeyNotFound => S::KeyNotFound,
        Step::Unavailable(u) => S::Unavailable(u.retry_after),
    }
}

/// A cache with a document fetched at `fetched` (lifetime 600 s), the last fetch started at
/// `last_start`, one in flight since `in_flight`.
fn cache(fetched: Option<u64>, last_start: Option<u64>, in_flight: Option<u64>) -> KeyCache {
    KeyCache {
        entry: fetched.map(|fetched_at| Entry {
            fetched_at,
            max_age: 600,
        }),
        last_start,
        in_flight: in_flight.map(|started_at| InFlight { seq: 7, started_at }),
        last_failure: None,
        next_seq: 8,
    }
}

#[test]
fn decide_table() {
    use Need::*;
    let stale = T0 + 600;
    let expired = T0 + 600 + STALE_GRACE;
    #[rustfmt::skip]
    type Row = (&'static str, Option<u64>, Option<u64>, Option<u64>, u64, Need, S);
    let table: &[Row] = &[
        // (what, fetched, last start, in flight since, now, need, step)
        (
            "fresh",
            Some(T0),
            Some(T0),
            None,
            T0,
            Keys,
            S::Verify(false),
        ),
        (
            "fresh, last second",
            Some(T0),
            Some(T0),
            None,
            stale - 1,
            Keys,
            S::Verify(false),
        ),
        (
            "fresh, fetch in flight",
            Some(T0),
            Some(T0 + 40),
            Some(T0 + 40),
            T0 + 41,
            Keys,
            S::Verify(false),
        ),
        (
            "stale: refresh",
            Some(T0),
            Some(T0),
            None,
            stale,
            Keys,
            S::Fetch(M::Stale),
        ),
        (
            "stale, refresh in flight",
            Some(T0),
            Some(stale),
            Some(stale),
            stale + 1,
            Keys,
            S::Wait(M::Stale),
        ),
        (
            "stale, refresh failed, cooling",
            Some(T0),
            Some(stale),
            None,
            stale + 29,
            Keys,
            S::Verify(true),
        ),
        (
            "stale, refresh failed, cooled",
            Some(T0),
            Some(stale),
            None,
            stale + 30,
            Keys,
            S::Fetch(M::Stale),
        ),
        (
            "stale, last second of grace",
            Some(T0),
            Some(expired - 10),
            None,
            expired - 1,
            Keys,
            S::Verify(true),
        ),
        (
            "expired, cooling",
            Some(T0),
            Some(expired - 10),
            None,
            expired,
            Keys,
            S::Unavailable(20),
        ),
        (
            "expired, cooled",
            Some(T0),
            Some(expired - 30),
            None,
            expired,
            Keys,
            S::Fetch(M::Unavailable(ABANDONED_AFTER)),
        ),
        (
            "expired, in flight",
            Some(T0),
            Some(expired - 3),
            Some(expired - 3),
            expired,
            Keys,
            S::Wait(M::Unavailable(7)),
        ),
        (
            "none",
            None,
            None,
            None,
            T0,
            Keys,
            S::Fetch(M::Unavailable(ABANDONED_AFTER)),
        ),
        (
            "none, in flight",
            None,
            Some(T0),
            Some(T0),
            T0,
            Keys,
            S::Wait(M::Unavailable(ABANDONED_AFTER)),
        ),
        (
            "none, in flight, last second",
            None,
            Some(T0),
            Some(T0),
            T0 + ABANDONED_AFTER - 1,
            Keys,
            S::Wait(M::Unavailable(1)),
        ),
        (
            "none, abandoned, cooling",
            None,
            Some(T0),
            Some(T0),
            T0 + ABANDONED_AFTER,
            Keys,
            S::Unavailable(REFETCH_COOLDOWN - ABANDONED_AFTER),
        ),
        (
            "none, failed, cooling",
            None,
            Some(T0),
            None,
            T0 + 1,
            Keys,
            S::Unavailable(29),
        ),
        (
            "none, failed, last second",
            None,
            Some(T0),
            None,
            T0 + 29,
            Keys,
            S::Unavailable(1),
        ),
        (
            "none, failed, cooled",
            None,
            Some(T0),
            None,
            T0 + 30,
            Keys,
            S::Fetch(M::Unavailable(ABANDONED_AFTER)),
        ),
        // An unknown kid.
        (
            "unknown, fresh, cooling",
            Some(T0),
            Some(T0),
            None,
            T0 + 29,
            UnknownKey,
            S::KeyNotFound,
        ),
        (
            "unknown, fresh, cooled",
            Some(T0),
            Some(T0),
            None,
            T0 + 30,
            UnknownKey,
            S::Fetch(M::KeyNotFound),
        ),
        (
            "unknown, fresh, in flight",
            Some(T0),
            Some(T0 + 30),
            Some(T0 + 30),
            T0 + 31,
            UnknownKey,
            S::Wait(M::KeyNotFound),
        ),
        (
            "unknown, stale, cooling",
            Some(T0),
            Some(stale),
            None,
            stale + 1,
            UnknownKey,
            S::KeyNotFound,
        ),
        (
            "unknown, stale, cooled",
            Some(T0),
            Some(T0),
            None,
            stale,
            UnknownKey,
            S::Fetch(M::KeyNotFound),
        ),
        (
            "unknown, expired, cooling",
            Some(T0),
            Some(expired - 1),
            None,
            expired,
            UnknownKey,
            S::Unavailable(29),
        ),
        (
            "unknown, none",
            None,
            None,
            None,
            T0,
            UnknownKey,
            S::Fetch(M::Unavailable(ABANDONED_AFTER)),
        ),
    ];
    for &(what, fetched, last_start, in_flight, now, need, expected) in table {
        let mut c = cache(fetched, last_start, in_flight);
        assert_eq!(s(c.decide(now, need)), expected, "{what}");
    }
}

#[test]
fn fetch_then_report() {
    let mut c = KeyCache::new();
    assert_eq!(c.state(T0), KeysState::Expired);
    let Step::Fetch { ticket, .. } = c.decide(T0, Need::Keys) else {
        panic!()
    };
    assert_eq!(ticket.started_at(), T0);
    // Everyone else waits for it.
    assert!(matches!(
        c.decide(T0 + 1, Need::Keys),
        Step::Wait { started_at: T0, .. }
    ));
    let fr = Freshness::from_headers(["max-age=120"], None);
    assert_eq!(
        c.fetched(ticket, T0 + 2, fr),
        Stored::Replaced { persist: true }
    );
    assert_eq!(
        c.entry(),
        Some(Entry {
            fetched_at: T0,
            max_age: 120
        })
    );
    assert_eq!(
        c.decide(T0 + 119, Need::Keys),
        Step::Verify { stale: false }
    );
    // Stale at T0 + 120: a refresh, which fails.
    let Step::Fetch { ticket, .. } = c.decide(T0 + 120, Need::Keys) else {
        panic!()
    };
    c.failed(ticket, T0 + 121, FetchFailure::Status { status: 500 });
    assert_eq!(c.last_failure(), Some(FetchFailure::Status { status: 500 }));
    assert_eq!(c.decide(T0 + 121, Need::Keys), Step::Verify { stale: true });
    // Unknown kids cannot force a retry within the cooldown either.
    assert_eq!(c.decide(T0 + 149, Need::UnknownKey), Step::KeyNotFound);
    let Step::Fetch { ticket, .. } = c.decide(T0 + 150, Need::Keys) else {
        panic!()
    };
    c.fetched(ticket, T0 + 151, Freshness::DEFAULT);
    assert_eq!(c.last_failure(), None);
    assert_eq!(
        c.entry(),
        Some(Entry {
            fetched_at: T0 + 150,
            max_age: DEFAULT_MAX_AGE
        })
    );
}

#[test]
fn no_store_is_not_persisted() {
    let mut c = KeyCache::new();
    let Step::Fetch { ticket, .. } = c.decide(T0, Need::Keys) else {
        panic!()
    };
    let fr = Freshness::from_headers(["no-store"], None);
    assert_eq!(
        c.fetched(ticket, T0, fr),
        Stored::Replaced { persist: false }
    );
}

#[test]
fn the_grace_ends_in_a_typed_refusal() {
    let mut c = cache(Some(T0), Some(T0), None);
    let expired = T0 + 600 + STALE_GRACE;
    // Every refresh fails: the cause is carried to the refusal.
    let mut now = T0 + 600;
    while now < expired + 120 {
        match c.decide(now, Need::Keys) {
            Step::Fetch { ticket, .. } => c.failed(ticket, now, FetchFailure::Timeout),
            Step::Verify { stale: true } => assert!(now < expired, "{now}"),
            Step::Unavailable(u) => {
                assert!(now >= expired, "{now}");
                assert_eq!(u.cause, Some(FetchFailure::Timeout));
                assert!((1..=REFETCH_COOLDOWN).contains(&u.retry_after));
            }
            other => panic!("{other:?}"),
        }
        now += 1;
    }
    assert_eq!(c.state(expired - 1), KeysState::Stale);
    assert_eq!(c.state(expired), KeysState::Expired);
    assert_eq!((STALE_GRACE, REFETCH_COOLDOWN), (3600, 30));
}

#[test]
fn a_flood_of_unknown_kids_costs_one_fetch_per_cooldown() {
    let mut c = cache(Some(T0), Some(T0), None);
    let mut fetches = 0;
    // 1,000 assertions with unknown kids over 300 s; each fetch answers at once, without the
    // kid.
    for i in 0..1000u64 {
        let now = T0 + i * 300 / 1000;
        assert_eq!(c.decide(now, Need::Keys), Step::Verify { stale: false });
        match c.decide(now, Need::UnknownKey) {
            Step::Fetch { ticket, .. } => {
                fetches += 1;
                c.fetched(ticket, now, Freshness::DEFAULT);
            }
            Step::KeyNotFound => {}
            other => panic!("{other:?}"),
        }
    }
    // The cooldown started at T0 (the last fetch): fetches at T0+30, +60, …, +270.
    assert_eq!(fetches, 300 / REFETCH_COOLDOWN - 1);
}

#[test]
fn concurrent_misses_share_one_fetch() {
    let mut c = KeyCache::new();
    let mut tickets = Vec::new();
    let mut waiting = 0;
    for _ in 0..64 {
        match c.decide(T0, Need::Keys) {
            Step::Fetch { ticket, .. } => tickets.push(ticket),
            Step::Wait { started_at, .. } => {
                assert_eq!(started_at, T0);
                waiting += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((tickets.len(), waiting), (1, 63));
    for ticket in tickets {
        c.fetched(ticket, T0 + 1, Freshness::DEFAULT);
    }
    for _ in 0..64 {
        assert_eq!(c.decide(T0 + 1, Need::Keys), Step::Verify { stale: false });
    }
}

#[test]
fn an_abandoned_fetch_is_a_failure_and_its_late_report_is_judged() {
    let mut c = KeyCache::new();
    let Step::Fetch { ticket: late, .. } = c.decide(T0, Need::Keys) else {
        panic!()
    };
    assert!(matches!(
        c.decide(T0 + ABANDONED_AFTER - 1, Need::Keys),
        Step::Wait { .. }
    ));
    assert_eq!(
        c.decide(T0 + ABANDONED_AFTER, Need::Keys),
        Step::Unavailable(Unavailable {
            retry_after: REFETCH_COOLDOWN - ABANDONED_AFTER,
            cause: Some(FetchFailure::Abandoned)
        })
    );
    // A late failure of the abandoned fetch changes nothing.
    let Step::Fetch { ticket, .. } = c.decide(T0 + REFETCH_COOLDOWN, Need::Keys) else {
        panic!()
    };
    c.failed(late, T0 + 31, FetchFailure::Timeout);
    assert!(matches!(c.decide(T0 + 31, Need::Keys), Step::Wait { .. }));
    // The current fetch succeeds; a late success of the older fetch is older: superseded.
    c.fetched(ticket, T0 + 32, Freshness::DEFAULT);
    let Step::Fetch { ticket: older, .. } = KeyCache::new().decide(T0, Need::Keys) else {
        panic!()
    };
    assert_eq!(
        c.fetched(older, T0 + 33, Freshness::DEFAULT),
        Stored::Superseded
    );
    assert_eq!(c.entry().map(|e| e.fetched_at), Some(T0 + REFETCH_COOLDOWN));
}

#[test]
fn adopting_records() {
    let mut c = KeyCache::new();
    // Bounds on the lifetime and the clock skew.
    assert_eq!(c.adopt(T0, T0, MIN_MAX_AGE - 1), Adopted::Refused);
    assert_eq!(c.adopt(T0, T0, MAX_MAX_AGE + 1), Adopted::Refused);
    assert_eq!(c.adopt(T0, T0 + MAX_CLOCK_SKEW + 1, 600), Adopted::Refused);
    assert_eq!(c.entry(), None);
    assert_eq!(c.adopt(T0, T0 + MAX_CLOCK_SKEW, 600), Adopted::Adopted);
    // From the future: taken as fetched now.
    assert_eq!(
        c.entry(),
        Some(Entry {
            fetched_at: T0,
            max_age: 600
        })
    );
    assert_eq!(c.adopt(T0, T0, 600), Adopted::NotNewer);
    assert_eq!(c.adopt(T0 + 10, T0 - 100, 600), Adopted::NotNewer);
    // Past its grace.
    let mut c = KeyCache::new();
    let old = T0 - 600 - STALE_GRACE;
    assert_eq!(c.adopt(T0, old, 600), Adopted::Expired);
    assert_eq!(c.adopt(T0, old + 1, 600), Adopted::Adopted);
    assert!(matches!(
        c.decide(T0, Need::Keys),
        Step::Fetch {
            meanwhile: Meanwhile::Verify { stale: true },
            ..
        }
    ));
    // The record's fetch time starts the cooldown: another instance fetched 10 s ago.
    let mut c = KeyCache::new();
    assert_eq!(c.adopt(T0, T0 - 10, 600), Adopted::Adopted);
    assert_eq!(c.decide(T0, Need::UnknownKey), Step::KeyNotFound);
    assert_eq!(c.decide(T0 + 19, Need::UnknownKey), Step::KeyNotFound);
    assert!(matches!(
        c.decide(T0 + 20, Need::UnknownKey),
        Step::Fetch { .. }
    ));
    for bound in [MIN_MAX_AGE, MAX_MAX_AGE] {
        assert_eq!(KeyCache::new().adopt(T0, T0, bound), Adopted::Adopted);
    }
    assert_eq!(MAX_CLOCK_SKEW, 60);
}

#[test]
fn a_clock_stepping_back_costs_at_most_one_cooldown() {
    let mut c = KeyCache::new();
    let Step::Fetch { ticket, .. } = c.decide(T0, Need::Keys) else {
        panic!()
    };
    c.fetched(ticket, T0, Freshness::DEFAULT);
    // The clock goes back an hour: the document is taken as fetched now, the cooldown as
    // started now.
    let back = T0 - 3600;
    assert_eq!(c.decide(back, Need::Keys), Step::Verify { stale: false });
    assert_eq!(c.decide(back + 29, Need::UnknownKey), Step::KeyNotFound);
    assert!(matches!(
        c.decide(back + 30, Need::UnknownKey),
        Step::Fetch { .. }
    ));
}

#[test]
fn constants() {
    assert_eq!(
        (
            FETCH_TIMEOUT,
            ABANDONED_AFTER,
            REFETCH_COOLDOWN,
            STALE_GRACE
        ),
        (5, 10, 30, 3600)
    );
    assert!(
        core::mem::size_of::<KeyCache>() <= 96,
        "{}",
        core::mem::size_of::<KeyCache>()
    );
}

/// A deterministic random walk over the events a layer can cause (assertions with known and
/// unknown keys, fetch reports in any order, lost reports, records from other instances,
/// time passing and stepping back), checking the policy's promises after each step against
/// a model of what happened.
#[test]
fn random_walk() {
    // Every kind of step, and every kind of record answer, happens somewhere.
    let mut seen = [0usize; 9];
    for seed in 1..=300u64 {
        walk(seed, 2_000, &mut seen);
    }
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn walk(seed: u64, steps: usize, seen: &mut [usize; 9]) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut c = KeyCache::new();
    let mut now = T0;
    // The model: fetch starts since the clock last stepped back, tickets outstanding (with
    // their start), the newest document stored (fetched_at, max_age).
    let mut starts: Vec<u64> = Vec::new();
    let mut outstanding: Vec<FetchTicket> = Vec::new();
    let mut newest: Option<Entry> = None;
    for step in 0..steps {
        let why = format!("seed {seed} step {step} now {now}");
        match rng.below(100) {
            // Time passes (mostly little, sometimes a lot); rarely it steps back.
            0..=29 => {
                now += match rng.below(10) {
                    0 => rng.below(5_000),
                    _ => rng.below(40),
                }
            }
            30..=31 => {
                now -= rng.below(200);
                c.observe(now);
                starts.clear();
                newest = c.entry();
            }
            // An assertion.
            32..=69 => {
                let need = if rng.below(3) == 0 {
                    Need::UnknownKey
                } else {
                    Need::Keys
                };
                let in_flight = c.in_flight;
                let state = newest.map_or(KeysState::Expired, |e| e.state(now));
                let cooled = c.last_start.is_none_or(|s| now >= s + REFETCH_COOLDOWN);
                let step = c.decide(now, need);
                seen[match step {
                    Step::Verify { stale: false } => 0,
                    Step::Verify { stale: true } => 1,
                    Step::Fetch { .. } => 2,
                    Step::Wait { .. } => 3,
                    Step::KeyNotFound => 4,
                    Step::Unavailable(_) => 5,
                }] += 1;
                match &step {
                    Step::Verify { stale } => {
                        let expected = if *stale {
                            KeysState::Stale
                        } else {
                            KeysState::Fresh
                        };
                        assert_eq!(state, expected, "{why}");
                        assert_eq!(need, Need::Keys, "{why}");
                    }
                    Step::Fetch { ticket, .. } => {
                        // Single flight: nothing else in flight unless abandoned.
                        assert!(
                            in_flight.is_none_or(|f| now >= f.started_at + ABANDONED_AFTER),
                            "{why}"
                        );
                        // The cooldown, since the clock last stepped back.
                        if let Some(&last) = starts.last() {
                            assert!(now >= last + REFETCH_COOLDOWN, "{why}: {starts:?}");
                        }
                        assert_eq!(ticket.started_at(), now);
                        starts.push(now);
                    }
                    Step::Wait { started_at, .. } => {
                        let f = in_flight.unwrap();
                        assert_eq!(f.started_at, *started_at, "{why}");
                        assert!(now < f.started_at + ABANDONED_AFTER, "{why}");
                    }
                    Step::KeyNotFound => {
                        assert_eq!(need, Need::UnknownKey, "{why}");
                        assert_ne!(state, KeysState::Expired, "{why}");
                    }
                    Step::Unavailable(u) => {
                        assert_eq!(state, KeysState::Expired, "{why}");
                        assert!((1..=REFETCH_COOLDOWN).contains(&u.retry_after), "{why}");
                    }
                }
                // Fresh keys are always used for a known key.
                if need == Need::Keys && state == KeysState::Fresh {
                    assert_eq!(step, Step::Verify { stale: false }, "{why}");
                }
                // Liveness: no usable keys, nothing in flight, cooled down → fetch.
                if state == KeysState::Expired && in_flight.is_none() && cooled {
                    assert!(matches!(step, Step::Fetch { .. }), "{why}: {step:?}");
                }
                if let Step::Fetch { ticket, .. } = step {
                    outstanding.push(ticket);
                }
            }
            // A fetch ends (any outstanding one, in any order), or is lost.
            70..=89 if !outstanding.is_empty() => {
                let i = rng.below(outstanding.len() as u64) as usize;
                let ticket = outstanding.swap_remove(i);
                match rng.below(10) {
                    0..=4 => {
                        let max_age = match rng.below(4) {
                            0 => rng.below(100),
                            1 => rng.below(200_000),
                            _ => 60 + rng.below(1_000),
                        };
                        let fetched_at = ticket.started_at().min(now);
                        let stored = c.fetched(
                            ticket,
                            now,
                            Freshness::from_headers([format!("max-age={max_age}").as_str()], None),
                        );
                        let replaces = newest.is_none_or(|e| e.fetched_at <= fetched_at);
                        assert_eq!(stored == Stored::Superseded, !replaces, "{why}");
                        if replaces {
                            newest = Some(Entry {
                                fetched_at,
                                max_age: clamp_max_age(max_age),
                            });
                        }
                    }
                    5..=8 => c.failed(ticket, now, FetchFailure::Network),
                    _ => drop(ticket), // lost: abandoned later
                }
                assert_eq!(c.entry(), newest, "{why}");
            }
            // A record from another instance.
            90..=99 => {
                let fetched_at = now + 120 - rng.below(6_000);
                let max_age = 30 + rng.below(2_000);
                let adopted = c.adopt(now, fetched_at, max_age);
                let valid = (MIN_MAX_AGE..=MAX_MAX_AGE).contains(&max_age)
                    && fetched_at <= now + MAX_CLOCK_SKEW;
                let candidate = Entry {
                    fetched_at: fetched_at.min(now),
                    max_age,
                };
                let expected = if !valid {
                    Adopted::Refused
                } else if candidate.state(now) == KeysState::Expired {
                    Adopted::Expired
                } else if newest.is_some_and(|e| e.fetched_at >= candidate.fetched_at) {
                    Adopted::NotNewer
                } else {
                    Adopted::Adopted
                };
                assert_eq!(adopted, expected, "{why}");
                seen[match adopted {
                    Adopted::Adopted => 6,
                    Adopted::NotNewer => 7,
                    Adopted::Expired | Adopted::Refused => 8,
                }] += 1;
                if adopted == Adopted::Adopted {
                    newest = Some(candidate);
                    // The record's fetch counts as a start for the cooldown.
                    if starts.last().is_none_or(|&s| s < candidate.fetched_at) {
                        starts.push(candidate.fetched_at);
                    }
                }
                assert_eq!(c.entry(), newest, "{why}");
            }
            _ => {}
        }
    }
}
