//! The replay store of one run: every token of a `verify` batch, and both assertions of a
//! `token-request`, share it.
//!
//! The core's [`MemoryReplayStore`](rfc7523::MemoryReplayStore) has its capacity as a const
//! generic and looks entries up by a linear scan, which suits a server's fixed-size cache but
//! not a command that may read millions of tokens at thousands per second, nor an operator
//! choosing the capacity at run time. [`ReplayCache`] keeps the core's semantics exactly
//! (the same [`ReplayKey`] digests; an entry is live until its `expires_at`; only expired
//! entries are evicted; a store full of live entries refuses, fail closed) with a hash map and
//! a capacity chosen by `--replay-capacity`.

use std::collections::HashMap;

use rfc7523::{ReplayEntry, ReplayError, ReplayKey, ReplayStore};

/// Default number of live (`iss`, `jti`) pairs one run remembers: 65,536 (about 3 MB at most).
/// At 1,000 accepted assertions per second with 5-minute lifetimes and the default 30 s leeway,
/// 330,000 are live at once: raise it with `--replay-capacity` for such batches. When the
/// cache is full of live entries, further assertions with a `jti` are refused
/// (`replay_store_full`), never accepted unchecked.
pub const DEFAULT_REPLAY_CAPACITY: u64 = 65_536;

/// A fixed-capacity, fail-closed replay store with O(1) lookups.
#[derive(Debug)]
pub struct ReplayCache {
    /// Digest → `expires_at` (exclusive).
    entries: HashMap<ReplayKey, u64>,
    capacity: usize,
    /// No entry expires before this time (`u64::MAX` when empty): eviction is skipped until
    /// then, so a cache full of live entries refuses in O(1).
    next_expiry: u64,
}

impl ReplayCache {
    /// An empty cache holding at most `capacity` live entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity,
            next_expiry: u64::MAX,
        }
    }

    /// Forgets the entries that expired at `now`.
    fn evict_expired(&mut self, now: u64) {
        if now < self.next_expiry {
            return;
        }
        self.entries.retain(|_, expires_at| *expires_at > now);
        self.next_expiry = self.entries.values().copied().min().unwrap_or(u64::MAX);
    }
}

impl ReplayStore for ReplayCache {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        let held = self.entries.get(&entry.key).copied();
        if held.is_some_and(|expires_at| expires_at > now) {
            return Err(ReplayError::Replayed);
        }
        if entry.expires_at <= now {
            // Already expired: nothing to remember (as the core's store does).
            return Ok(());
        }
        if held.is_none() && self.entries.len() >= self.capacity {
            self.evict_expired(now);
            if self.entries.len() >= self.capacity {
                return Err(ReplayError::Full);
            }
        }
        self.entries.insert(entry.key, entry.expires_at);
        self.next_expiry = self.next_expiry.min(entry.expires_at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(jti: &str, expires_at: u64) -> ReplayEntry {
        ReplayEntry {
            key: ReplayKey::new("iss", jti),
            expires_at,
        }
    }

    #[test]
    fn replayed_until_expiry_then_accepted_again() {
        let mut cache = ReplayCache::new(4);
        assert_eq!(cache.check_and_insert(entry("a", 100), 10), Ok(()));
        assert_eq!(
            cache.check_and_insert(entry("a", 100), 99),
            Err(ReplayError::Replayed)
        );
        assert_eq!(cache.check_and_insert(entry("a", 200), 100), Ok(()));
        assert_eq!(
            cache.check_and_insert(entry("a", 200), 150),
            Err(ReplayError::Replayed)
        );
    }

    #[test]
    fn full_of_live_entries_refuses_and_expired_ones_make_room() {
        let mut cache = ReplayCache::new(2);
        assert_eq!(cache.check_and_insert(entry("a", 100), 10), Ok(()));
        assert_eq!(cache.check_and_insert(entry("b", 50), 10), Ok(()));
        assert_eq!(
            cache.check_and_insert(entry("c", 100), 10),
            Err(ReplayError::Full)
        );
        // A replay is still reported as such when the cache is full.
        assert_eq!(
            cache.check_and_insert(entry("a", 100), 10),
            Err(ReplayError::Replayed)
        );
        // At 50 "b" has expired: its room is reused.
        assert_eq!(cache.check_and_insert(entry("c", 100), 50), Ok(()));
        assert_eq!(
            cache.check_and_insert(entry("d", 100), 60),
            Err(ReplayError::Full)
        );
        assert_eq!(cache.entries.len(), 2);
    }

    #[test]
    fn expired_entries_are_not_stored() {
        let mut cache = ReplayCache::new(1);
        assert_eq!(cache.check_and_insert(entry("a", 10), 10), Ok(()));
        assert!(cache.entries.is_empty());
        assert_eq!(cache.check_and_insert(entry("b", 11), 10), Ok(()));
    }
}
