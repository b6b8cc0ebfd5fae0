//! The replay store of one run: every token of a `verify` batch, and both assertions of a
//! `token-request`, share it.
//!
//! - In memory (the default): the core's [`BoxedReplayStore`] of `--replay-capacity` entries,
//!   56 bytes each, allocated once; O(1) checks whether it is empty or full; fail closed when
//!   full of live entries. Its buckets are chosen under a seed of 16 bytes from the operating
//!   system's random source (getrandom, as the core's signer already uses): std's
//!   `RandomState` is also randomly keyed, but gives no bytes, only hashes of its own, and a
//!   seed made of those would be a secret derived through a hasher built for other uses.
//! - `--replay-db FILE`: [`SqliteReplayStore`], shared by every run and process given the
//!   same file. A SQLite error refuses the assertion (`replay_store_full`, fail closed) and is
//!   reported on standard error, `rfc7523: FILE: replay store error: …`.

use std::io::{self, Write};
use std::path::Path;

use rfc7523::{BoxedReplayStore, ReplayEntry, ReplayError, ReplayStore};
use rfc7523_replay_sqlite::SqliteReplayStore;

use crate::Fatal;

/// Default number of live (`iss`, `jti`) pairs one run remembers: 65,536 (56 bytes each,
/// 3.5 MiB). At 1,000 accepted assertions per second with 5-minute lifetimes and the default
/// 30 s leeway, 330,000 are live at once: raise it with `--replay-capacity` for such batches.
/// When the store is full of live entries, further assertions with a `jti` are refused
/// (`replay_store_full`), never accepted unchecked.
pub const DEFAULT_REPLAY_CAPACITY: u64 = 65_536;

/// The replay store of a run.
#[derive(Debug)]
pub enum Replay {
    /// In memory, for this run only.
    Memory(BoxedReplayStore),
    /// A SQLite file (`--replay-db`).
    Sqlite(SqliteReplayStore),
}

impl Replay {
    /// An in-memory store of `capacity` entries under a random seed.
    pub fn memory(capacity: usize) -> Result<Self, Fatal> {
        let mut seed = [0u8; 16];
        getrandom::getrandom(&mut seed).map_err(|e| {
            Fatal::usage(format_args!(
                "cannot seed the replay store from the system's random source: {e}"
            ))
        })?;
        Ok(Replay::Memory(BoxedReplayStore::with_capacity_and_seed(
            capacity, seed,
        )))
    }

    /// The store in the SQLite file `path`, created when it does not exist or is empty; any
    /// other file that is not an intact replay store is refused (exit status 2).
    pub fn sqlite(path: &Path) -> Result<Self, Fatal> {
        SqliteReplayStore::open(path)
            .map(Replay::Sqlite)
            .map_err(|e| Fatal::file(path, e))
    }
}

impl ReplayStore for Replay {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        match self {
            Replay::Memory(store) => store.check_and_insert(entry, now),
            Replay::Sqlite(store) => {
                let answer = store.check_and_insert(entry, now);
                if let Some(error) = store.take_error() {
                    // The assertion is refused (fail closed); say why. Nothing better to do
                    // when standard error itself fails.
                    let _ = writeln!(
                        io::stderr(),
                        "rfc7523: {}",
                        crate::one_line(&format!(
                            "{}: replay store error: {error}",
                            store.path().display()
                        ))
                    );
                }
                answer
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfc7523::ReplayKey;

    fn entry(jti: &str, expires_at: u64) -> ReplayEntry {
        ReplayEntry {
            key: ReplayKey::new("iss", jti),
            expires_at,
        }
    }

    #[test]
    fn memory_store_keeps_the_core_semantics() {
        let mut store = Replay::memory(2).unwrap();
        assert_eq!(store.check_and_insert(entry("a", 100), 10), Ok(()));
        assert_eq!(
            store.check_and_insert(entry("a", 100), 99),
            Err(ReplayError::Replayed)
        );
        assert_eq!(store.check_and_insert(entry("b", 50), 10), Ok(()));
        assert_eq!(
            store.check_and_insert(entry("c", 100), 10),
            Err(ReplayError::Full)
        );
        // At 50 "b" has expired: its room is reused.
        assert_eq!(store.check_and_insert(entry("c", 100), 50), Ok(()));
    }
}
