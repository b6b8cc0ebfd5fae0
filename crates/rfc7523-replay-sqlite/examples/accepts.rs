//! The benchmark driver of `cargo xtask bench`: `accepts FILE COUNT FIRST [normal]` offers
//! COUNT keys, numbered FIRST.., to the store in FILE (each live for an hour), and prints
//! `accepted <n> replayed <n> refused <n> seconds <s>` on one line. Two of these on one file
//! measure two processes sharing a store; with the same FIRST they race for the same keys, and
//! exactly COUNT are accepted between them.

use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rfc7523::{ReplayEntry, ReplayError, ReplayKey, ReplayStore};
use rfc7523_replay_sqlite::{Durability, Options, SqliteReplayStore};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(path), Some(count), Some(first)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
        args.get(2).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: accepts FILE COUNT FIRST [normal]");
        return ExitCode::from(2);
    };
    let durability = match args.get(3).map(String::as_str) {
        None | Some("full") => Durability::Full,
        Some("normal") => Durability::Normal,
        Some(other) => {
            eprintln!("accepts: durability is full or normal, not {other}");
            return ExitCode::from(2);
        }
    };
    let mut store =
        match SqliteReplayStore::open_with(path, Options::default().with_durability(durability)) {
            Ok(store) => store,
            Err(e) => {
                eprintln!("accepts: {path}: {e}");
                return ExitCode::from(2);
            }
        };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (mut accepted, mut replayed, mut refused) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    for n in first..first + count {
        let entry = ReplayEntry {
            key: ReplayKey::new("https://bench.example", &format!("jti-{n}")),
            expires_at: now + 3600,
        };
        match store.check_and_insert(entry, now) {
            Ok(()) => accepted += 1,
            Err(ReplayError::Replayed) => replayed += 1,
            Err(ReplayError::Full) => {
                refused += 1;
                if let Some(e) = store.take_error() {
                    eprintln!("accepts: {path}: {e}");
                }
            }
        }
    }
    println!(
        "accepted {accepted} replayed {replayed} refused {refused} seconds {:.6}",
        start.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
