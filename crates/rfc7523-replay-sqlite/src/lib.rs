//! A persistent replay store for [`rfc7523`] on SQLite: one file that separate runs and
//! concurrent processes share, so that an assertion accepted by one of them is refused by all
//! the others until it expires (RFC 7523 §3 item 7, RFC 7519 §4.1.7).
//!
//! [`SqliteReplayStore`] implements the core's [`ReplayStore`]: each
//! [`check_and_insert`](ReplayStore::check_and_insert) is one SQLite write transaction
//! (`BEGIN IMMEDIATE`), so two processes racing on one key are serialised by SQLite's write
//! lock and exactly one of them stores it. It **fails closed**: any SQLite error (the lock not
//! had within the busy timeout, a full disk, an I/O error, corruption found on the way) refuses
//! the assertion with [`ReplayError::Full`], the core's answer for "cannot remember it", and is
//! kept for the caller to report ([`SqliteReplayStore::take_error`]).
//!
//! # The file
//!
//! ```sql
//! PRAGMA application_id = 926233139;  -- 0x37353233, "7523" in ASCII
//! PRAGMA user_version = 1;            -- SCHEMA_VERSION
//! PRAGMA journal_mode = WAL;
//! CREATE TABLE replay (
//!     key BLOB PRIMARY KEY NOT NULL CHECK (length(key) = 32),
//!     expires_at INTEGER NOT NULL
//! ) STRICT, WITHOUT ROWID;
//! CREATE INDEX replay_expires_at ON replay (expires_at);
//! ```
//!
//! - `key` is the entry's [`ReplayKey`](rfc7523::ReplayKey) digest, its 32 bytes
//!   ([`as_bytes`](rfc7523::ReplayKey::as_bytes)): SHA-256 of the issuer and the `jti`, so the
//!   file holds no attacker-chosen text and every row has one size.
//! - `expires_at` is the entry's `expires_at` in Unix seconds (exclusive: the row is live while
//!   `expires_at > now`), clamped to `i64::MAX`.
//!
//! [`SqliteReplayStore::open`] creates this schema in a new or empty file (under SQLite's write
//! lock, so two processes opening one new file agree), and accepts a file only when its
//! `application_id`, its `user_version` and its schema (the `sqlite_schema` rows, SQL text
//! included) are exactly these, and the pages at both ends of the table and of its index can
//! be read. Anything else is refused with an [`OpenError`] and left as it is, never recreated:
//! a file that is not SQLite, a damaged one, a database of another application, a replay store
//! of another schema version, one altered by hand, a path that cannot be a file, or a file
//! that cannot be written (open ends with a write transaction, which also proves the WAL and
//! the lock usable). Damage elsewhere in a large file is found by
//! [`Options::integrity_check`] (`PRAGMA quick_check`, which reads every page), or else by the
//! check that reaches it, which refuses.
//!
//! # A check
//!
//! ```sql
//! BEGIN IMMEDIATE;
//! INSERT INTO replay (key, expires_at) VALUES (:key, :expires_at)
//!     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
//!     WHERE replay.expires_at <= :now;
//! -- 0 rows changed: a live row holds the key, the assertion is replayed.
//! DELETE FROM replay WHERE key IN
//!     (SELECT key FROM replay WHERE expires_at <= :now ORDER BY expires_at LIMIT 4);
//! COMMIT;
//! ```
//!
//! The answers are those of the core's in-memory stores: a key held by a live row is
//! [`Replayed`](ReplayError::Replayed); an expired row of the same key is overwritten; an entry
//! that has already expired at `now` is not stored (but a live copy is still a replay). The
//! store has no capacity of its own: it refuses only on an error (a full disk among them).
//!
//! Expired rows are purged as it goes, at most [`PURGE_BATCH`] (4) per accepted entry, in the
//! same transaction, so the work per call is bounded. An accepted entry adds one row and
//! removes up to four expired ones: expired rows drain three times as fast as entries come,
//! the table holds about the most entries ever live at once, and since SQLite reuses the pages
//! of deleted rows the file stops growing.
//!
//! # Durability
//!
//! WAL with `synchronous = FULL` by default ([`Durability::Full`]): an entry is on disk when
//! its call returns `Ok`, so neither a killed process nor a power loss forgets an accepted
//! assertion. [`Durability::Normal`] skips the sync at each commit (SQLite syncs at
//! checkpoints): a killed process still loses nothing, an operating system crash or a power
//! loss may forget the last entries.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rfc7523::{ReplayEntry, ReplayError, ReplayStore};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, TransactionBehavior};

/// The `application_id` of a replay store file (`PRAGMA application_id`): `0x37353233`, the
/// ASCII of "7523", at offset 68 of the file.
pub const APPLICATION_ID: i32 = 0x3735_3233;

/// The schema version this crate reads and writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i32 = 1;

/// The schema of [`SCHEMA_VERSION`], as SQLite keeps it in `sqlite_schema` (`type`, `name`,
/// `tbl_name`, `sql`), ordered by name.
pub const SCHEMA: [(&str, &str, &str, &str); 2] = [
    (
        "table",
        "replay",
        "replay",
        "CREATE TABLE replay (\n    \
         key BLOB PRIMARY KEY NOT NULL CHECK (length(key) = 32),\n    \
         expires_at INTEGER NOT NULL\n\
         ) STRICT, WITHOUT ROWID",
    ),
    (
        "index",
        "replay_expires_at",
        "replay",
        "CREATE INDEX replay_expires_at ON replay (expires_at)",
    ),
];

/// Expired rows deleted at most per accepted entry.
pub const PURGE_BATCH: u32 = 4;

/// How long a call waits for another connection's write lock before it fails (and the
/// assertion is refused): [`Options::busy_timeout`]'s default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const INSERT: &str = "INSERT INTO replay (key, expires_at) VALUES (?1, ?2) \
     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at \
     WHERE replay.expires_at <= ?3";
const PURGE: &str = "DELETE FROM replay WHERE key IN \
     (SELECT key FROM replay WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)";
const LIVE_COPY: &str = "SELECT EXISTS (SELECT 1 FROM replay WHERE key = ?1 AND expires_at > ?2)";

/// When an accepted entry is on disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous = FULL`: each accepted entry is synced to disk before its call returns.
    #[default]
    Full,
    /// `synchronous = NORMAL`: synced at WAL checkpoints. A killed process loses nothing; an
    /// operating system crash or a power loss may lose the last accepted entries.
    Normal,
}

/// How [`SqliteReplayStore::open_with`] opens a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Options {
    /// How long a call waits for another connection's lock ([`DEFAULT_BUSY_TIMEOUT`]).
    pub busy_timeout: Duration,
    /// When an accepted entry is on disk ([`Durability::Full`]).
    pub durability: Durability,
    /// Run SQLite's `PRAGMA quick_check` over the whole file at open (default: off). It reads
    /// every page, about 24 ms for 65,536 rows and 120 ms for 500,000 here; without it, open
    /// reads the header, the schema and both ends of the table and of its index, and damage
    /// elsewhere is found by the check that reaches it (which then refuses, fail closed).
    pub integrity_check: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            durability: Durability::Full,
            integrity_check: false,
        }
    }
}

impl Options {
    /// These options with `busy_timeout`.
    #[must_use]
    pub const fn with_busy_timeout(mut self, busy_timeout: Duration) -> Self {
        self.busy_timeout = busy_timeout;
        self
    }

    /// These options with `durability`.
    #[must_use]
    pub const fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// These options with `integrity_check`.
    #[must_use]
    pub const fn with_integrity_check(mut self, integrity_check: bool) -> Self {
        self.integrity_check = integrity_check;
        self
    }
}

/// A replay store in a SQLite file (see the [crate documentation](crate)).
pub struct SqliteReplayStore {
    conn: Connection,
    path: PathBuf,
    error: Option<SqliteError>,
}

impl SqliteReplayStore {
    /// Opens the store at `path` with the default [`Options`], creating the file and its schema
    /// when it does not exist or is empty.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, Options::default())
    }

    /// Opens the store at `path` with `options`, creating the file and its schema when it does
    /// not exist or is empty. A file that is not an intact replay store of
    /// [`SCHEMA_VERSION`] is refused and left unchanged.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Self, OpenError> {
        let path = path.as_ref();
        // No URI names ("file:…" is a file name here), no mutex (a `Connection` is used by one
        // thread at a time).
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(OpenError::from_sqlite)?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(OpenError::from_sqlite)?;
        // SQLite opens a file it may not write read-only, without an error.
        if conn.is_readonly("main").map_err(OpenError::from_sqlite)? {
            return Err(OpenError::ReadOnly);
        }
        // What the file is, before anything is written to it (in one read transaction: the
        // header fields and the schema of one moment).
        {
            let read = conn
                .unchecked_transaction()
                .map_err(OpenError::from_sqlite)?;
            probe(&read)?;
        }
        enable_wal(&conn, options.busy_timeout)?;
        let synchronous = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(OpenError::from_sqlite)?;
        let mut store = Self {
            conn,
            path: path.to_owned(),
            error: None,
        };
        store.create_schema(options.integrity_check)?;
        Ok(store)
    }

    /// Creates the schema in an empty file, under the write lock: two processes opening one
    /// new file both see it empty at first, then one creates the schema and the other finds it.
    /// A successful write transaction also proves the file, its directory (for the WAL) and
    /// its lock are usable.
    fn create_schema(&mut self, integrity_check: bool) -> Result<(), OpenError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(OpenError::from_sqlite)?;
        match probe(&tx)? {
            Found::Empty => {
                for (_, _, _, sql) in SCHEMA {
                    tx.execute_batch(sql).map_err(OpenError::from_sqlite)?;
                }
                tx.pragma_update(None, "application_id", APPLICATION_ID)
                    .map_err(OpenError::from_sqlite)?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                    .map_err(OpenError::from_sqlite)?;
            }
            Found::Store => check_pages(&tx, integrity_check)?,
        }
        tx.commit().map_err(OpenError::from_sqlite)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The SQLite error behind the last refusal with [`ReplayError::Full`], if that refusal
    /// came from an error (this store refuses only then), and forgets it.
    pub fn take_error(&mut self) -> Option<SqliteError> {
        self.error.take()
    }

    /// Rows held, live or expired but not yet purged.
    pub fn len(&self) -> Result<u64, SqliteError> {
        self.conn
            .query_row("SELECT count(*) FROM replay", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(count)
            .map_err(SqliteError)
    }

    /// True when the store holds no row.
    pub fn is_empty(&self) -> Result<bool, SqliteError> {
        self.len().map(|len| len == 0)
    }

    /// Rows live at `now`.
    pub fn live(&self, now: u64) -> Result<u64, SqliteError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM replay WHERE expires_at > ?1",
                [sql_time(now)],
                |row| row.get::<_, i64>(0),
            )
            .map(count)
            .map_err(SqliteError)
    }

    /// The check and insert, or the SQLite error that stopped it.
    fn try_check_and_insert(
        &mut self,
        entry: ReplayEntry,
        now: u64,
    ) -> rusqlite::Result<Result<(), ReplayError>> {
        let key = &entry.key.as_bytes()[..];
        let now = sql_time(now);
        let expires_at = sql_time(entry.expires_at);
        if expires_at <= now {
            // Already expired: nothing to remember (the assertion cannot pass the time
            // checks), but a live copy is still a replay, as in the core's stores.
            let live: bool = self
                .conn
                .prepare_cached(LIVE_COPY)?
                .query_row(params![key, now], |row| row.get(0))?;
            return Ok(if live {
                Err(ReplayError::Replayed)
            } else {
                Ok(())
            });
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = tx
            .prepare_cached(INSERT)?
            .execute(params![key, expires_at, now])?;
        if stored == 0 {
            // A live row holds the key; nothing was written.
            tx.commit()?;
            return Ok(Err(ReplayError::Replayed));
        }
        tx.prepare_cached(PURGE)?
            .execute(params![now, PURGE_BATCH])?;
        tx.commit()?;
        Ok(Ok(()))
    }
}

impl ReplayStore for SqliteReplayStore {
    /// One write transaction; any SQLite error refuses ([`ReplayError::Full`]) and is kept for
    /// [`take_error`](SqliteReplayStore::take_error).
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        match self.try_check_and_insert(entry, now) {
            Ok(answer) => answer,
            Err(error) => {
                self.error = Some(SqliteError(error));
                Err(ReplayError::Full)
            }
        }
    }
}

/// The file, not the connection.
impl fmt::Debug for SqliteReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteReplayStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Puts the file in WAL mode (a no-op when it is already). The switch from SQLite's default
/// rollback journal takes an exclusive lock without calling the busy handler, so two
/// processes opening one new file at once can see `SQLITE_BUSY` here: retried until the busy
/// timeout has passed.
fn enable_wal(conn: &Connection, busy_timeout: Duration) -> Result<(), OpenError> {
    let start = Instant::now();
    loop {
        match conn
            .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get::<_, String>(0))
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(_) => return Err(OpenError::NoWal),
            Err(e)
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && start.elapsed() < busy_timeout =>
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(OpenError::from_sqlite(e)),
        }
    }
}

/// Unix seconds as SQLite's `INTEGER` (a signed 64-bit number): clamped to `i64::MAX`, some
/// 292 billion years from now.
fn sql_time(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// A `count(*)`, never negative.
fn count(rows: i64) -> u64 {
    u64::try_from(rows).unwrap_or_default()
}

/// What [`probe`] found in a file it accepts.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// A new or empty database: no schema, no `application_id`, no `user_version`.
    Empty,
    /// A replay store of [`SCHEMA_VERSION`] with exactly [`SCHEMA`].
    Store,
}

/// Reads the file's header fields and schema, and refuses anything but an empty database or
/// a replay store of this version.
fn probe(conn: &Connection) -> Result<Found, OpenError> {
    let read = || -> rusqlite::Result<(i32, i32, Vec<SchemaRow>)> {
        let application_id = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
        let user_version = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let mut statement =
            conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name")?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<rusqlite::Result<Vec<SchemaRow>>>()?;
        Ok((application_id, user_version, rows))
    };
    let (application_id, user_version, rows) = read().map_err(OpenError::from_sqlite)?;
    if application_id == 0 && user_version == 0 && rows.is_empty() {
        return Ok(Found::Empty);
    }
    if application_id != APPLICATION_ID {
        return Err(OpenError::ForeignDatabase { application_id });
    }
    if user_version != SCHEMA_VERSION {
        return Err(OpenError::SchemaVersion {
            found: user_version,
        });
    }
    let expected = SCHEMA.iter().map(|&(kind, name, table, sql)| {
        (
            kind.to_owned(),
            name.to_owned(),
            table.to_owned(),
            Some(sql.to_owned()),
        )
    });
    if !rows.iter().cloned().eq(expected) {
        return Err(OpenError::SchemaMismatch);
    }
    Ok(Found::Store)
}

/// Reads both ends of the table and of its index (their root pages and the pages down to
/// their first and last leaves), and with `integrity_check` every page (`PRAGMA
/// quick_check`): damage there is refused at open rather than found by a later check.
fn check_pages(conn: &Connection, integrity_check: bool) -> Result<(), OpenError> {
    conn.query_row(
        "SELECT (SELECT key FROM replay ORDER BY key LIMIT 1), \
                (SELECT key FROM replay ORDER BY key DESC LIMIT 1), \
                (SELECT expires_at FROM replay ORDER BY expires_at LIMIT 1), \
                (SELECT expires_at FROM replay ORDER BY expires_at DESC LIMIT 1)",
        [],
        |_| Ok(()),
    )
    .map_err(OpenError::from_sqlite)?;
    if integrity_check {
        let mut statement = conn
            .prepare("PRAGMA quick_check")
            .map_err(OpenError::from_sqlite)?;
        let report = statement
            .query_map([], |row| row.get::<_, String>(0))
            .and_then(Iterator::collect::<rusqlite::Result<Vec<String>>>)
            .map_err(OpenError::from_sqlite)?;
        if report != ["ok"] {
            return Err(OpenError::IntegrityCheck {
                first_problem: report.into_iter().next().unwrap_or_default(),
            });
        }
    }
    Ok(())
}

/// One row of `sqlite_schema`: `type`, `name`, `tbl_name`, `sql`.
type SchemaRow = (String, String, String, Option<String>);

/// Why a file was not opened as a replay store. The file is left as it was.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// SQLite could not open or create the file: a missing directory, a directory, a path
    /// through a file, no permission.
    CannotOpen(SqliteError),
    /// The file can be read but not written (a read-only file, directory or file system): a
    /// store must record what it accepts.
    ReadOnly,
    /// The file is not a SQLite database.
    NotADatabase,
    /// SQLite found the file damaged.
    Corrupt(SqliteError),
    /// `PRAGMA quick_check` ([`Options::integrity_check`]) found the file damaged.
    IntegrityCheck {
        /// The first problem it reported.
        first_problem: String,
    },
    /// A SQLite database of another application: another `application_id`, or tables of its
    /// own without one.
    ForeignDatabase {
        /// The file's `application_id` (`PRAGMA application_id`).
        application_id: i32,
    },
    /// A replay store of another schema version.
    SchemaVersion {
        /// The file's `user_version`.
        found: i32,
    },
    /// A replay store of this version whose schema is not [`SCHEMA`]: altered by hand.
    SchemaMismatch,
    /// SQLite would not put the file in WAL mode (a file system without shared memory, say).
    NoWal,
    /// Another SQLite error: a lock not had within the busy timeout, an I/O error.
    Sqlite(SqliteError),
}

impl OpenError {
    fn from_sqlite(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => OpenError::NotADatabase,
            Some(ErrorCode::DatabaseCorrupt) => OpenError::Corrupt(SqliteError(error)),
            Some(ErrorCode::CannotOpen) => OpenError::CannotOpen(SqliteError(error)),
            Some(ErrorCode::ReadOnly) => OpenError::ReadOnly,
            _ => OpenError::Sqlite(SqliteError(error)),
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::CannotOpen(e) => write!(f, "cannot open the replay store: {e}"),
            OpenError::ReadOnly => {
                f.write_str("the replay store cannot be written (read-only file or directory)")
            }
            OpenError::NotADatabase => f.write_str("not a replay store: not a SQLite database"),
            OpenError::Corrupt(e) => write!(f, "the replay store is damaged: {e}"),
            OpenError::IntegrityCheck { first_problem } => write!(
                f,
                "the replay store is damaged: quick_check: {first_problem}"
            ),
            OpenError::ForeignDatabase { application_id } => write!(
                f,
                "not a replay store: a SQLite database of another application \
                 (application_id {application_id:#x}, expected {APPLICATION_ID:#x})"
            ),
            OpenError::SchemaVersion { found } => write!(
                f,
                "a replay store of schema version {found}; this program reads version \
                 {SCHEMA_VERSION}"
            ),
            OpenError::SchemaMismatch => f.write_str(
                "the replay store's schema is not the one of its version (altered by hand?)",
            ),
            OpenError::NoWal => f.write_str("SQLite cannot use WAL mode for this file"),
            OpenError::Sqlite(e) => write!(f, "cannot open the replay store: {e}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::CannotOpen(e) | OpenError::Corrupt(e) | OpenError::Sqlite(e) => Some(e),
            _ => None,
        }
    }
}

/// An error SQLite reported (its message, e.g. "database is locked").
#[derive(Debug)]
pub struct SqliteError(rusqlite::Error);

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SqliteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
