//! The SQLite replay store: its answers against the core's in-memory store, persistence,
//! concurrent connections, the purge, failing closed, and every refusal at open (the file
//! left as it was).

use std::path::Path;
use std::time::Duration;

use rfc7523::{BoxedReplayStore, ReplayEntry, ReplayError, ReplayKey, ReplayStore};
use rfc7523_conformance::TempDir;
use rfc7523_replay_sqlite::{
    Durability, OpenError, Options, SqliteReplayStore, APPLICATION_ID, SCHEMA, SCHEMA_VERSION,
};
use rusqlite::Connection;

fn entry(jti: &str, expires_at: u64) -> ReplayEntry {
    ReplayEntry {
        key: ReplayKey::new("https://issuer.example", jti),
        expires_at,
    }
}

/// Fast options for tests that insert many entries (the answers do not depend on it).
fn normal() -> Options {
    Options::default().with_durability(Durability::Normal)
}

fn open(path: &Path) -> SqliteReplayStore {
    open_with(path, Options::default())
}

fn open_with(path: &Path, options: Options) -> SqliteReplayStore {
    SqliteReplayStore::open_with(path, options)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_new_file_gets_the_documented_schema_in_wal_mode() {
    let dir = TempDir::new("replay-sqlite");
    let path = dir.join("replay.db");
    let store = open(&path);
    assert_eq!(store.path(), path);
    assert_eq!(store.len().unwrap(), 0);
    drop(store);

    let conn = Connection::open(&path).unwrap();
    let pragma = |name: &str| -> i64 { conn.pragma_query_value(None, name, |r| r.get(0)).unwrap() };
    assert_eq!(pragma("application_id"), i64::from(APPLICATION_ID));
    assert_eq!(pragma("user_version"), i64::from(SCHEMA_VERSION));
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let rows: Vec<(String, String, String, String)> = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<(String, String, String, String)> = SCHEMA
        .iter()
        .map(|&(a, b, c, d)| (a.into(), b.into(), c.into(), d.into()))
        .collect();
    assert_eq!(rows, expected);
    // "7523" at offset 68 of the file; WAL: read and write versions 2.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[68..72], b"7523");
    assert_eq!((bytes[18], bytes[19]), (2, 2));
    // The key is stored as its 32 digest bytes.
    let mut store = open(&path);
    store.check_and_insert(entry("a", 200), 100).unwrap();
    let key: Vec<u8> = conn
        .query_row("SELECT key FROM replay", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        key,
        ReplayKey::new("https://issuer.example", "a").as_bytes()
    );
}

#[test]
fn answers_as_the_core_store_and_survives_reopening() {
    let dir = TempDir::new("replay-sqlite");
    let path = dir.join("replay.db");
    let mut store = SqliteReplayStore::open_with(&path, normal()).unwrap();
    store.check_and_insert(entry("a", 100), 10).unwrap();
    assert_eq!(
        store.check_and_insert(entry("a", 100), 99),
        Err(ReplayError::Replayed)
    );
    // Expired at 100: its row is overwritten.
    store.check_and_insert(entry("a", 200), 100).unwrap();
    assert_eq!(
        store.check_and_insert(entry("a", 300), 150),
        Err(ReplayError::Replayed)
    );
    // An entry already expired is not stored, but a live copy is still a replay.
    assert_eq!(store.check_and_insert(entry("b", 150), 150), Ok(()));
    assert_eq!(store.len().unwrap(), 1);
    assert_eq!(
        store.check_and_insert(entry("a", 150), 150),
        Err(ReplayError::Replayed)
    );
    drop(store);
    let mut store = open(&path);
    assert_eq!(
        store.check_and_insert(entry("a", 300), 199),
        Err(ReplayError::Replayed)
    );
    assert_eq!(store.live(199).unwrap(), 1);
    assert_eq!(store.live(200).unwrap(), 0);
    assert!(store.take_error().is_none());

    // A pseudo-random sequence of (key, now, lifetime) against `BoxedReplayStore` (never
    // full here): the same answer to every call.
    let mut memory = BoxedReplayStore::with_capacity(4096);
    let mut sqlite = SqliteReplayStore::open_with(dir.join("model.db"), normal()).unwrap();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut now = 1_000;
    for _ in 0..2_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        now += x % 3;
        let lifetime = (x >> 8) % 40;
        let e = entry(&format!("k{}", (x >> 20) % 300), now + lifetime);
        let expected = memory.check_and_insert(e, now);
        assert_eq!(sqlite.check_and_insert(e, now), expected, "at {now}");
    }
    assert_eq!(sqlite.live(now).unwrap() as usize, memory.live(now));
}

#[test]
fn connections_racing_on_one_new_file_accept_each_key_once() {
    let dir = TempDir::new("replay-sqlite");
    let path = dir.join("replay.db");
    let accepted: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut store = SqliteReplayStore::open_with(&path, normal()).unwrap();
                    (0..100)
                        .filter(|i| {
                            match store.check_and_insert(entry(&format!("j{i}"), 2_000), 1_000) {
                                Ok(()) => true,
                                Err(ReplayError::Replayed) => false,
                                Err(ReplayError::Full) => {
                                    panic!("{:?}", store.take_error())
                                }
                            }
                        })
                        .count()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(accepted, 100);
}

#[test]
fn expired_rows_are_purged_and_the_file_stops_growing() {
    let dir = TempDir::new("replay-sqlite");
    let path = dir.join("replay.db");
    let mut store = SqliteReplayStore::open_with(&path, normal()).unwrap();
    let checkpoint = Connection::open(&path).unwrap();
    let mut sizes = Vec::new();
    // Rounds of 500 entries; each round's entries have expired when the next one starts.
    for round in 0..12u64 {
        let now = 1_000 + round * 100;
        for i in 0..500 {
            store
                .check_and_insert(entry(&format!("r{round}-{i}"), now + 50), now)
                .unwrap();
        }
        // Each insert purged up to four expired rows: the previous round is gone.
        assert_eq!(store.len().unwrap(), 500, "round {round}");
        checkpoint
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        sizes.push(std::fs::metadata(&path).unwrap().len());
    }
    // The pages of deleted rows are reused: the file holds about one round (6,000 rows
    // kept would take some 560 KB).
    assert!(
        sizes[11] <= sizes[1] + 2 * 4096 && sizes[11] <= 80 * 1024,
        "grew: {sizes:?}"
    );
}

#[test]
fn an_error_refuses_fail_closed_and_is_kept() {
    let dir = TempDir::new("replay-sqlite");
    let path = dir.join("replay.db");
    let mut store = SqliteReplayStore::open_with(
        &path,
        Options::default().with_busy_timeout(Duration::from_millis(50)),
    )
    .unwrap();
    // Another connection holds the write lock past the busy timeout.
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert_eq!(
        store.check_and_insert(entry("a", 200), 100),
        Err(ReplayError::Full)
    );
    let error = store.take_error().expect("the error is kept");
    assert_eq!(error.to_string(), "database is locked");
    assert!(store.take_error().is_none());
    other.execute_batch("ROLLBACK").unwrap();
    // The lock released, the same entry is accepted: nothing was stored by the refusal.
    assert_eq!(store.check_and_insert(entry("a", 200), 100), Ok(()));
}

/// Opens `path`, expects the refusal `check` accepts and its message, and that the file is
/// unchanged.
fn assert_refused(path: &Path, message: &str, check: impl Fn(&OpenError) -> bool) {
    let before = std::fs::read(path).ok();
    let Err(error) = SqliteReplayStore::open(path) else {
        panic!("{} was opened", path.display())
    };
    assert!(check(&error), "{error:?}");
    assert!(
        error.to_string().contains(message),
        "{message:?} not in {error}"
    );
    assert_eq!(std::fs::read(path).ok(), before, "the file was changed");
}

/// A store at `path` with `rows` entries, closed (checkpointed into the file).
fn filled(path: &Path, rows: usize) {
    let mut store = open_with(path, normal());
    for i in 0..rows {
        let answer = store.check_and_insert(entry(&format!("f{i}"), 10_000), 100);
        assert_eq!(answer, Ok(()));
    }
}

#[test]
fn files_that_are_not_an_intact_store_are_refused_at_open() {
    let dir = TempDir::new("replay-sqlite");

    let text = dir.write(
        "text.db",
        "this is not a database, but it is long enough to look at\n",
    );
    assert_refused(&text, "not a SQLite database", |e| {
        matches!(e, OpenError::NotADatabase)
    });

    let foreign = dir.join("foreign.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT)")
        .unwrap();
    assert_refused(&foreign, "another application (application_id 0x0", |e| {
        matches!(e, OpenError::ForeignDatabase { application_id: 0 })
    });

    let other_app = dir.join("other-app.db");
    Connection::open(&other_app)
        .unwrap()
        .execute_batch("PRAGMA application_id = 1234")
        .unwrap();
    assert_refused(&other_app, "application_id 0x4d2", |e| {
        matches!(
            e,
            OpenError::ForeignDatabase {
                application_id: 1234
            }
        )
    });

    let future = dir.join("future.db");
    drop(open(&future));
    Connection::open(&future)
        .unwrap()
        .execute_batch("PRAGMA user_version = 2")
        .unwrap();
    assert_refused(
        &future,
        "schema version 2; this program reads version 1",
        |e| matches!(e, OpenError::SchemaVersion { found: 2 }),
    );

    let altered = dir.join("altered.db");
    drop(open(&altered));
    Connection::open(&altered)
        .unwrap()
        .execute_batch("ALTER TABLE replay ADD COLUMN note TEXT")
        .unwrap();
    assert_refused(&altered, "altered by hand", |e| {
        matches!(e, OpenError::SchemaMismatch)
    });

    // Damage: the table's and the index's root pages (2 and 3) overwritten.
    let damaged = dir.join("damaged.db");
    filled(&damaged, 2_000);
    let mut bytes = std::fs::read(&damaged).unwrap();
    assert!(bytes.len() > 4 * 4096);
    bytes[4096..3 * 4096].fill(0xA5);
    std::fs::write(&damaged, &bytes).unwrap();
    assert_refused(&damaged, "damaged", |e| matches!(e, OpenError::Corrupt(_)));

    // Damage in the header of page 1.
    let header = dir.join("header.db");
    filled(&header, 10);
    let mut bytes = std::fs::read(&header).unwrap();
    bytes[16..24].fill(0xFF);
    std::fs::write(&header, &bytes).unwrap();
    assert_refused(&header, "not a SQLite database", |e| {
        matches!(e, OpenError::NotADatabase)
    });

    // Damage in a leaf, away from both ends: found by the integrity check when asked for,
    // else by the check that reaches it, which refuses.
    let leaf = dir.join("leaf.db");
    filled(&leaf, 5_000);
    let mut bytes = std::fs::read(&leaf).unwrap();
    let middle = bytes.len() / 4096 / 2 * 4096;
    bytes[middle + 8..middle + 4096].fill(0xA5);
    std::fs::write(&leaf, &bytes).unwrap();
    let error = SqliteReplayStore::open_with(&leaf, Options::default().with_integrity_check(true))
        .expect_err("quick_check");
    assert!(
        matches!(
            error,
            OpenError::IntegrityCheck { .. } | OpenError::Corrupt(_)
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("damaged"), "{error}");

    // Paths that cannot be a file: a missing directory, a directory, a path through a file.
    for path in [
        dir.join("missing/replay.db"),
        dir.path().to_owned(),
        text.join("replay.db"),
    ] {
        assert_refused(&path, "cannot open the replay store", |e| {
            matches!(e, OpenError::CannotOpen(_))
        });
    }
}
