//! Replay protection (RFC 7523 §3 item 7, RFC 7519 §4.1.7): each (`iss`, `jti`) is accepted
//! once, and remembered until the assertion could no longer be accepted anyway
//! (`exp + leeway`).
//!
//! The store keeps a fixed-size digest ([`ReplayKey`], SHA-256 of the issuer and the `jti`,
//! length-prefixed), never the raw `jti`: entries have one size whatever the input, and the
//! store holds no attacker-chosen text.
//!
//! [`MemoryReplayStore`] is a fixed-capacity store that evicts only expired entries. When it is
//! full of live entries it **refuses** the new assertion ([`ReplayError::Full`]) instead of
//! forgetting a live one early: forgetting would let that assertion be replayed.

use sha2::{Digest, Sha256};

/// The digest a store keeps for one (`iss`, `jti`) pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReplayKey([u8; 32]);

impl ReplayKey {
    /// `SHA-256("rfc7523-replay-v1" || len(iss) as u64 BE || iss || jti)`: the length prefix
    /// keeps (`"ab"`, `"c"`) and (`"a"`, `"bc"`) apart.
    pub fn new(issuer: &str, jti: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"rfc7523-replay-v1");
        hash.update((issuer.len() as u64).to_be_bytes());
        hash.update(issuer.as_bytes());
        hash.update(jti.as_bytes());
        Self(hash.finalize().into())
    }

    /// A digest read back from a store that persisted it (the inverse of [`as_bytes`]).
    ///
    /// [`as_bytes`]: Self::as_bytes
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest bytes (for stores that persist them, e.g. as a hex or base64url key).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// What a store must remember: the key, until `expires_at` (Unix seconds, exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReplayEntry {
    /// The (`iss`, `jti`) digest.
    pub key: ReplayKey,
    /// The first second at which the entry may be forgotten (`exp + leeway`).
    pub expires_at: u64,
}

/// Why a store refused an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReplayError {
    /// The key is already present and live.
    Replayed,
    /// No room without forgetting a live entry: refused (fail closed).
    Full,
}

/// A store of used (`iss`, `jti`) pairs.
///
/// `check_and_insert` must be atomic: either the key was absent and is now stored until
/// `entry.expires_at`, or nothing changed. Implementations backed by shared storage must do
/// the check and the insert as one operation (a compare-and-set, a unique insert, a
/// transaction), or two concurrent requests could both pass.
pub trait ReplayStore {
    /// Stores `entry` unless its key is present and live at `now`.
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError>;
}

impl<S: ReplayStore + ?Sized> ReplayStore for &mut S {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        (**self).check_and_insert(entry, now)
    }
}

/// A fixed-capacity in-memory store of at most `N` live entries (40 bytes each).
///
/// Lookups are a linear scan, fine for the hundreds to low thousands of entries one process
/// sees within an assertion lifetime. Size `N` for the peak number of assertions accepted
/// within `max lifetime + leeway`; when it is too small, assertions are refused, not replayed.
#[derive(Clone, Debug)]
pub struct MemoryReplayStore<const N: usize> {
    entries: heapless::Vec<ReplayEntry, N>,
}

impl<const N: usize> Default for MemoryReplayStore<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> MemoryReplayStore<N> {
    /// An empty store.
    pub const fn new() -> Self {
        Self {
            entries: heapless::Vec::new(),
        }
    }

    /// Entries held, live or expired but not yet reused.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries still live at `now`.
    pub fn live(&self, now: u64) -> usize {
        self.entries.iter().filter(|e| e.expires_at > now).count()
    }
}

impl<const N: usize> ReplayStore for MemoryReplayStore<N> {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        let mut free_slot = None;
        for (i, held) in self.entries.iter().enumerate() {
            let live = held.expires_at > now;
            if held.key == entry.key && live {
                return Err(ReplayError::Replayed);
            }
            if !live && free_slot.is_none() {
                free_slot = Some(i);
            }
        }
        if entry.expires_at <= now {
            // Already expired: nothing to remember (the assertion cannot pass the exp check).
            return Ok(());
        }
        if let Some(slot) = free_slot.and_then(|i| self.entries.get_mut(i)) {
            *slot = entry;
            return Ok(());
        }
        self.entries.push(entry).map_err(|_| ReplayError::Full)
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
    fn keys_are_length_prefixed() {
        assert_ne!(ReplayKey::new("ab", "c"), ReplayKey::new("a", "bc"));
        assert_eq!(ReplayKey::new("a", "b"), ReplayKey::new("a", "b"));
    }

    #[test]
    fn keys_round_trip_through_bytes() {
        let key = ReplayKey::new("iss", "jti");
        assert_eq!(ReplayKey::from_bytes(*key.as_bytes()), key);
    }

    #[test]
    fn replay_is_refused_until_expiry() {
        let mut store = MemoryReplayStore::<4>::new();
        assert_eq!(store.check_and_insert(entry("a", 100), 10), Ok(()));
        assert_eq!(
            store.check_and_insert(entry("a", 100), 99),
            Err(ReplayError::Replayed)
        );
        // At expires_at the entry is dead, and the slot is reused.
        assert_eq!(store.check_and_insert(entry("a", 200), 100), Ok(()));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn full_store_refuses_and_keeps_live_entries() {
        let mut store = MemoryReplayStore::<2>::new();
        assert_eq!(store.check_and_insert(entry("a", 100), 0), Ok(()));
        assert_eq!(store.check_and_insert(entry("b", 50), 0), Ok(()));
        // Full of live entries: refused, and neither live entry was forgotten.
        assert_eq!(
            store.check_and_insert(entry("c", 100), 10),
            Err(ReplayError::Full)
        );
        assert_eq!(
            store.check_and_insert(entry("a", 100), 10),
            Err(ReplayError::Replayed)
        );
        assert_eq!(
            store.check_and_insert(entry("b", 50), 10),
            Err(ReplayError::Replayed)
        );
        // Once b expired, its slot takes c.
        assert_eq!(store.check_and_insert(entry("c", 100), 50), Ok(()));
        assert_eq!(
            store.check_and_insert(entry("c", 100), 51),
            Err(ReplayError::Replayed)
        );
        assert_eq!(
            store.check_and_insert(entry("a", 100), 51),
            Err(ReplayError::Replayed)
        );
        assert_eq!(store.live(51), 2);
    }

    #[test]
    fn capacity_boundary() {
        let mut store = MemoryReplayStore::<8>::new();
        for i in 0..8 {
            assert_eq!(
                store.check_and_insert(entry(&i.to_string(), 1000), 0),
                Ok(())
            );
        }
        assert_eq!(
            store.check_and_insert(entry("8", 1000), 0),
            Err(ReplayError::Full)
        );
    }
}
