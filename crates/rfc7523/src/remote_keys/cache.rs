//! The cache policy of one URI (a JWK Set or a discovery document) as a pure state machine:
//! the caller supplies every time (Unix seconds), does the fetching, and keeps the keys; the
//! machine says, for each assertion, whether to verify with the cached keys, to fetch, to
//! wait for a fetch in flight, or to refuse — and why.
//!
//! # States and steps
//!
//! The cached document, if any, is in one of three states at time `now`
//! (`age = now − fetched_at`):
//!
//! - **fresh**: `age < max_age`;
//! - **stale**: `max_age ≤ age < max_age + STALE_GRACE` — usable only while a refresh cannot
//!   be had (one is in flight, or the last one failed and the cooldown is not over);
//! - **expired** (or none): unusable.
//!
//! Fetches of one URI start at least [`REFETCH_COOLDOWN`] apart, whatever triggers them
//! (expiry, an unknown key, a retry after a failure), and at most one is in flight
//! (single-flight); a fetch in flight and unreported after [`ABANDONED_AFTER`] is taken as
//! failed ([`FetchFailure::Abandoned`]).
//!
//! [`KeyCache::decide`] for [`Need::Keys`] (an assertion arrives):
//!
//! | document | fetch in flight | cooldown over | step |
//! |---|---|---|---|
//! | fresh | any | any | `Verify { stale: false }` |
//! | stale | yes | – | `Wait`, meanwhile `Verify { stale: true }` |
//! | stale | no | yes | `Fetch`, meanwhile `Verify { stale: true }` |
//! | stale | no | no | `Verify { stale: true }` |
//! | expired / none | yes | – | `Wait`, meanwhile `Unavailable` |
//! | expired / none | no | yes | `Fetch`, meanwhile `Unavailable` |
//! | expired / none | no | no | `Unavailable` |
//!
//! [`Need::UnknownKey`] (the usable keys have no key for the assertion's `kid` /
//! `x5t#S256`): `Wait` (meanwhile `KeyNotFound`) when a fetch is in flight, `Fetch`
//! (meanwhile `KeyNotFound`) when the cooldown is over, `KeyNotFound` otherwise — so a flood
//! of assertions with unknown `kid`s costs at most one fetch per cooldown. Without usable
//! keys it is the same as [`Need::Keys`].
//!
//! After a `Fetch`, the caller reports [`KeyCache::fetched`] or [`KeyCache::failed`] and asks
//! again; after a `Wait`, it asks again when the fetch in flight has ended (or it stops
//! waiting and takes the `meanwhile` step). `Meanwhile` is what the caller may do instead of
//! waiting — the caller decides how it waits (a shared promise within a Workers request, a
//! condition variable in the CLI) and whether it waits at all (stale-while-revalidate).

use super::document::FetchFailure;
use super::freshness::{Freshness, MAX_MAX_AGE, MIN_MAX_AGE};

/// Least time between two fetch starts of one URI, in seconds (issue 14: "at most once per
/// cooldown (default 30 s)", jose's `cooldownDuration`). It bounds the fetches caused by
/// unknown `kid`s and the retries of a failing server alike.
pub const REFETCH_COOLDOWN: u64 = 30;

/// How long stale keys stay usable past their freshness lifetime while refreshes fail, in
/// seconds (1 h). Long enough to ride out a key server's restart or a short outage without
/// refusing a single good assertion; short enough that a key removed from the set (a
/// rotation, a revocation) is honoured within `max_age` + 1 h even when the key server is
/// down. After it, the party's assertions are refused as [`Step::Unavailable`].
pub const STALE_GRACE: u64 = 60 * 60;

/// The fetch timeout a layer applies, in seconds (issue 14: "a timeout (default 5 s)").
pub const FETCH_TIMEOUT: u64 = 5;

/// A fetch in flight for this long without a report is taken as failed, in seconds: twice
/// [`FETCH_TIMEOUT`], because a layer's timer may fire late under load and a late report
/// should not race a new fetch.
pub const ABANDONED_AFTER: u64 = 2 * FETCH_TIMEOUT;

/// How far in the future a persisted record's fetch time may be and still be adopted (clocks
/// of instances sharing a cache differ a little), in seconds. Later ones are refused.
pub const MAX_CLOCK_SKEW: u64 = 60;

const _: () = assert!(REFETCH_COOLDOWN < MIN_MAX_AGE && ABANDONED_AFTER < REFETCH_COOLDOWN);

/// What the caller needs from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Keys to verify an assertion with.
    Keys,
    /// The keys the last [`Step::Verify`] allowed have no key for the assertion's `kid` /
    /// `x5t#S256`: a refetch may bring it (a rotation).
    UnknownKey,
}

/// What to do now.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Verify with the cached keys; `stale` when they are past their lifetime but within
    /// [`STALE_GRACE`].
    Verify {
        /// The keys are stale.
        stale: bool,
    },
    /// Fetch the document now: this caller owns the fetch and must report it with the ticket
    /// ([`KeyCache::fetched`], [`KeyCache::failed`]), then ask again.
    Fetch {
        /// The fetch's ticket.
        ticket: FetchTicket,
        /// What the caller may do instead of waiting for its own fetch.
        meanwhile: Meanwhile,
    },
    /// A fetch is in flight (started by another caller): ask again when it has ended, or take
    /// the `meanwhile` step.
    Wait {
        /// When that fetch started.
        started_at: u64,
        /// What the caller may do instead of waiting.
        meanwhile: Meanwhile,
    },
    /// The usable keys have no key for the assertion and no refetch is due: the assertion's
    /// key is unknown (the ordinary refusal of an assertion, not an outage).
    KeyNotFound,
    /// No usable keys and none can be had now: refuse the party's assertions as an outage
    /// (`keys_unavailable`).
    Unavailable(Unavailable),
}

/// What a caller may do instead of waiting for a fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meanwhile {
    /// Verify with the cached keys (always stale here: fresh keys need no fetch).
    Verify {
        /// The keys are stale.
        stale: bool,
    },
    /// Refuse the assertion: its key is unknown.
    KeyNotFound,
    /// Refuse: no usable keys.
    Unavailable(Unavailable),
}

/// A refusal because the party's keys cannot be had: an outage, not a bad assertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unavailable {
    /// Seconds until a fetch may start (at least 1): the HTTP `Retry-After`.
    pub retry_after: u64,
    /// Why the last fetch failed, when one did.
    pub cause: Option<FetchFailure>,
}

/// The right (and the duty) to report one fetch.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub struct FetchTicket {
    seq: u32,
    started_at: u64,
}

impl FetchTicket {
    /// When the fetch started: the document's fetch time if it succeeds.
    pub fn started_at(&self) -> u64 {
        self.started_at
    }
}

/// The cached document's metadata (the caller keeps the document and its keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// When its fetch started (Unix seconds).
    pub fetched_at: u64,
    /// Its freshness lifetime, in seconds, within [`MIN_MAX_AGE`]..=[`MAX_MAX_AGE`].
    pub max_age: u64,
}

impl Entry {
    /// Its state at `now`.
    pub fn state(&self, now: u64) -> KeysState {
        let age = now.saturating_sub(self.fetched_at);
        if age < self.max_age {
            KeysState::Fresh
        } else if age < self.max_age.saturating_add(STALE_GRACE) {
            KeysState::Stale
        } else {
            KeysState::Expired
        }
    }

    /// When it stops being fresh.
    pub fn stale_at(&self) -> u64 {
        self.fetched_at.saturating_add(self.max_age)
    }

    /// When it stops being usable at all.
    pub fn expires_at(&self) -> u64 {
        self.stale_at().saturating_add(STALE_GRACE)
    }
}

/// The state of the cached keys at some time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeysState {
    /// Within their lifetime.
    Fresh,
    /// Past their lifetime, within [`STALE_GRACE`].
    Stale,
    /// Past both (or none cached).
    Expired,
}

/// What [`KeyCache::fetched`] did with a fetched document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// It is now the cached document: replace the keys. `persist`: also write it to the
    /// shared cache (false after `no-store`).
    Replaced {
        /// Write it to the shared, persistent cache.
        persist: bool,
    },
    /// A newer document is already cached (this fetch started before it): keep the keys.
    Superseded,
}

/// What [`KeyCache::adopt`] did with a persisted record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adopted {
    /// It is now the cached document: load its keys.
    Adopted,
    /// The cached document is as new or newer: ignore the record.
    NotNewer,
    /// It is past its grace: ignore it (and fetch).
    Expired,
    /// Its lifetime is outside [`MIN_MAX_AGE`]..=[`MAX_MAX_AGE`], or its fetch time is more
    /// than [`MAX_CLOCK_SKEW`] in the future: refused, never trusted.
    Refused,
}

/// The cache policy state of one URI. Pure: no clock, no I/O, no heap; 80 bytes or so.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyCache {
    entry: Option<Entry>,
    /// Start of the last fetch of this URI (by this instance, or by another one whose record
    /// was adopted): the cooldown counts from it.
    last_start: Option<u64>,
    in_flight: Option<InFlight>,
    last_failure: Option<FetchFailure>,
    next_seq: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InFlight {
    seq: u32,
    started_at: u64,
}

impl KeyCache {
    /// No document cached, nothing fetched.
    pub const fn new() -> Self {
        KeyCache {
            entry: None,
            last_start: None,
            in_flight: None,
            last_failure: None,
            next_seq: 0,
        }
    }

    /// The cached document's metadata, if any.
    pub fn entry(&self) -> Option<Entry> {
        self.entry
    }

    /// The state of the cached keys at `now`.
    pub fn state(&self, now: u64) -> KeysState {
        self.entry.map_or(KeysState::Expired, |e| e.state(now))
    }

    /// Why the last fetch failed, if the last fetch reported failed.
    pub fn last_failure(&self) -> Option<FetchFailure> {
        self.last_failure
    }

    /// The next step at `now` (see the module docs for the table).
    pub fn decide(&mut self, now: u64, need: Need) -> Step {
        self.observe(now);
        let state = self.state(now);
        if need == Need::Keys && state == KeysState::Fresh {
            return Step::Verify { stale: false };
        }
        if let Some(f) = self.in_flight {
            return Step::Wait {
                started_at: f.started_at,
                meanwhile: self.meanwhile(state, need, now),
            };
        }
        if self.cooldown_over(now) {
            let ticket = self.start(now);
            return Step::Fetch {
                ticket,
                meanwhile: self.meanwhile(state, need, now),
            };
        }
        match self.meanwhile(state, need, now) {
            Meanwhile::Verify { stale } => Step::Verify { stale },
            Meanwhile::KeyNotFound => Step::KeyNotFound,
            Meanwhile::Unavailable(u) => Step::Unavailable(u),
        }
    }

    /// What to do without (new) keys: use the stale ones, refuse the key, or refuse the
    /// party.
    fn meanwhile(&self, state: KeysState, need: Need, now: u64) -> Meanwhile {
        match (state, need) {
            (KeysState::Expired, _) => Meanwhile::Unavailable(self.unavailable(now)),
            (_, Need::UnknownKey) => Meanwhile::KeyNotFound,
            (KeysState::Fresh, Need::Keys) => Meanwhile::Verify { stale: false },
            (KeysState::Stale, Need::Keys) => Meanwhile::Verify { stale: true },
        }
    }

    /// Reports a successful fetch: the document passed every check (status, `Content-Type`,
    /// size, the document rules, the key loader) and its response headers gave `freshness`.
    /// Its fetch time is the ticket's start (the conservative choice of RFC 9111 §4.2.3).
    pub fn fetched(&mut self, ticket: FetchTicket, now: u64, freshness: Freshness) -> Stored {
        self.observe(now);
        self.end(&ticket);
        let fetched_at = ticket.started_at.min(now);
        if self.entry.is_some_and(|e| e.fetched_at > fetched_at) {
            return Stored::Superseded;
        }
        self.entry = Some(Entry {
            fetched_at,
            max_age: freshness.max_age(),
        });
        self.last_failure = None;
        Stored::Replaced {
            persist: freshness.persist(),
        }
    }

    /// Reports a failed fetch. The cached document, if any, is kept as it was: fresh keys
    /// stay fresh, stale ones usable until their grace ends.
    pub fn failed(&mut self, ticket: FetchTicket, now: u64, cause: FetchFailure) {
        self.observe(now);
        if self.end(&ticket) {
            self.last_failure = Some(cause);
        }
    }

    /// Offers a document read from the shared, persistent cache (a [`Record`](super::Record)
    /// whose body passed the document rules and the key loader), fetched at `fetched_at` with
    /// lifetime `max_age`. Adopted when newer than the cached one; its fetch time then also
    /// starts the cooldown, so instances sharing a cache share the bound on refetches.
    pub fn adopt(&mut self, now: u64, fetched_at: u64, max_age: u64) -> Adopted {
        self.observe(now);
        if !(MIN_MAX_AGE..=MAX_MAX_AGE).contains(&max_age)
            || fetched_at > now.saturating_add(MAX_CLOCK_SKEW)
        {
            return Adopted::Refused;
        }
        let entry = Entry {
            fetched_at: fetched_at.min(now),
            max_age,
        };
        if entry.state(now) == KeysState::Expired {
            return Adopted::Expired;
        }
        if self.entry.is_some_and(|e| e.fetched_at >= entry.fetched_at) {
            return Adopted::NotNewer;
        }
        self.entry = Some(entry);
        self.last_start = Some(
            self.last_start
                .map_or(entry.fetched_at, |s| s.max(entry.fetched_at)),
        );
        self.last_failure = None;
        Adopted::Adopted
    }

    /// Forgets the document (its URI changed, or its keys were refused on reload); the
    /// cooldown and any fetch in flight are kept.
    pub fn clear(&mut self) {
        self.entry = None;
    }

    /// Times from the future (the caller's clock stepped back) are brought to `now`, so a
    /// clock step costs at most one lifetime or cooldown, never a stall; a fetch in flight
    /// for [`ABANDONED_AFTER`] is taken as failed.
    fn observe(&mut self, now: u64) {
        if let Some(e) = self.entry.as_mut() {
            e.fetched_at = e.fetched_at.min(now);
        }
        if let Some(s) = self.last_start.as_mut() {
            *s = (*s).min(now);
        }
        if let Some(f) = self.in_flight.as_mut() {
            f.started_at = f.started_at.min(now);
            if now - f.started_at >= ABANDONED_AFTER {
                self.in_flight = None;
                self.last_failure = Some(FetchFailure::Abandoned);
            }
        }
    }

    fn cooldown_over(&self, now: u64) -> bool {
        self.last_start
            .is_none_or(|s| now.saturating_sub(s) >= REFETCH_COOLDOWN)
    }

    fn unavailable(&self, now: u64) -> Unavailable {
        let next = match (self.in_flight, self.last_start) {
            (Some(f), _) => f.started_at.saturating_add(ABANDONED_AFTER),
            (None, Some(s)) => s.saturating_add(REFETCH_COOLDOWN),
            (None, None) => now,
        };
        Unavailable {
            retry_after: next.saturating_sub(now).max(1),
            cause: self.last_failure,
        }
    }

    fn start(&mut self, now: u64) -> FetchTicket {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        self.in_flight = Some(InFlight {
            seq,
            started_at: now,
        });
        self.last_start = Some(now);
        FetchTicket {
            seq,
            started_at: now,
        }
    }

    /// Ends the fetch in flight if `ticket` is its; true when it was.
    fn end(&mut self, ticket: &FetchTicket) -> bool {
        let current = self.in_flight.is_some_and(|f| f.seq == ticket.seq);
        if current {
            self.in_flight = None;
        }
        current
    }
}

#[cfg(test)]
mod tests;
