//! The rows of issue 16 in `cargo xtask bench` (alone: `cargo xtask bench replay`, which
//! prints them and writes nothing):
//!
//! 1. `cargo bench --bench replay` in `benches/`: `check_and_insert` on a 65,536-entry
//!    `BoxedReplayStore` at 0, 50 and 95 % live, a replay, a refusal when full, and a
//!    validation with its replay key into the 95 % store beside one into a store that
//!    accepts everything.
//! 2. The SQLite store (`rfc7523-replay-sqlite`'s `accepts` example, release build): new keys
//!    offered by one process, by two processes on disjoint keys, and by two processes racing
//!    on the same keys (exactly one accept each), with `synchronous = FULL` (the default) and
//!    `NORMAL`. Accepts/s is the accepts of the run over its wall time, process starts
//!    included.
//!    Beside them, the time of one `fsync` of a small file in the same directory: `FULL`
//!    waits for one per accepted entry, and on a shared machine it varies with the other
//!    work's disk traffic.
//! 3. `rfc7523 verify` (release build) on a batch of distinct grants signed by `benches/`'s
//!    `tokens` example: `--jobs 1` and `--jobs 2`, with the in-memory store and with a fresh
//!    `--replay-db`, five runs each, interleaved; the median and the best, and the CPU time the
//!    runs used (from `/proc/self/stat`: a run whose CPU time is near its wall time had one
//!    core, whatever `--jobs` asked for).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{group, median, median_point_estimate};
use crate::{cargo, run};

/// The criterion benchmarks of `benches/benches/replay.rs`, with what they measure.
const CRITERION: [(&str, &str); 7] = [
    (
        "replay_65536/insert_live_0",
        "`check_and_insert`, a new key, store 0 % live",
    ),
    (
        "replay_65536/insert_live_50",
        "`check_and_insert`, a new key, store 50 % live",
    ),
    (
        "replay_65536/insert_live_95",
        "`check_and_insert`, a new key, store 95 % live",
    ),
    (
        "replay_65536/replayed_95",
        "`check_and_insert`, a key held and live (95 %): `Replayed`",
    ),
    (
        "replay_65536/refused_full_100",
        "`check_and_insert`, every entry live: `Full`",
    ),
    (
        "validate_2048/accept_all",
        "`ClientAuthProfile::validate` (RSA-2048), replay key to a store that accepts all",
    ),
    (
        "validate_2048/store_95",
        "the same, replay key checked and inserted into the 95 % store",
    ),
];

/// Keys offered per SQLite run: (durability, per process).
const SQLITE_KEYS: [(&str, u64); 2] = [("full", 2_000), ("normal", 10_000)];

/// Tokens in the `verify --jobs` batch.
const BATCH: usize = 8_000;

/// Of which with `--replay-db` (its rate is that of the store's syncs).
const SQLITE_BATCH: usize = 1_000;

/// Runs per `verify` configuration.
const VERIFY_RUNS: usize = 5;

/// `fsync`s timed for the baseline.
const FSYNCS: u32 = 200;

/// Everything measured here.
pub(super) struct ReplayReport {
    criterion: Vec<(&'static str, &'static str, f64)>,
    sqlite: Vec<StoreRun>,
    fsync_us: f64,
    verify: Vec<VerifyRun>,
}

/// One SQLite measurement.
struct StoreRun {
    durability: &'static str,
    what: &'static str,
    offered: u64,
    accepted: u64,
    seconds: f64,
}

/// One `verify` configuration: its wall times and CPU times.
struct VerifyRun {
    store: &'static str,
    jobs: usize,
    /// Tokens in its batch.
    tokens: usize,
    seconds: Vec<f64>,
    cpu_seconds: Vec<f64>,
}

/// Runs the three measurements.
pub(super) fn measure(root: &Path) -> Result<ReplayReport, String> {
    println!("==> bench: cargo bench --bench replay (benches/)");
    run(
        &root.join("benches"),
        cargo(),
        &["bench", "--bench", "replay"],
        &[],
    )
    .map_err(|err| format!("xtask bench: `cargo bench --bench replay` failed ({err})"))?;
    let mut criterion = Vec::new();
    for (name, what) in CRITERION {
        let path = root.join(format!(
            "benches/target/criterion/{name}/new/estimates.json"
        ));
        let text = fs::read_to_string(&path)
            .map_err(|err| format!("xtask bench: cannot read {}: {err}", path.display()))?;
        let ns = median_point_estimate(&text)
            .ok_or_else(|| format!("xtask bench: no median in {}", path.display()))?;
        criterion.push((name, what, ns));
    }

    println!("==> bench: release build of rfc7523 and rfc7523-replay-sqlite's `accepts`");
    run(
        root,
        cargo(),
        &[
            "build",
            "--release",
            "-p",
            "rfc7523-cli",
            "--bin",
            "rfc7523",
            "-p",
            "rfc7523-replay-sqlite",
            "--example",
            "accepts",
        ],
        &[],
    )
    .map_err(|err| format!("xtask bench: release build failed ({err})"))?;
    let scratch = root.join("target/xtask-bench-replay");
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch)
        .map_err(|err| format!("xtask bench: cannot create {}: {err}", scratch.display()))?;

    println!("==> bench: SQLite replay store");
    let fsync_us = fsync_baseline(&scratch)?;
    println!("    fsync of a small file: {fsync_us:.0} µs");
    let sqlite = measure_sqlite(root, &scratch)?;

    println!("==> bench: rfc7523 verify --jobs ({BATCH} tokens from benches/examples/tokens.rs)");
    let verify = measure_verify(root, &scratch)?;
    let _ = fs::remove_dir_all(&scratch);
    Ok(ReplayReport {
        criterion,
        sqlite,
        fsync_us,
        verify,
    })
}

/// Microseconds per `write` + `fsync` of a small file in `dir`.
fn fsync_baseline(dir: &Path) -> Result<f64, String> {
    use std::io::Write as _;
    let path = dir.join("fsync-baseline");
    let mut file =
        fs::File::create(&path).map_err(|err| format!("xtask bench: {}: {err}", path.display()))?;
    let start = Instant::now();
    for _ in 0..FSYNCS {
        file.write_all(&[0; 100])
            .and_then(|()| file.sync_all())
            .map_err(|err| format!("xtask bench: fsync: {err}"))?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(FSYNCS))
}

/// CPU seconds (user and system) of this process's waited-for children so far:
/// `/proc/self/stat`'s `cutime` and `cstime`, in clock ticks of 1/100 s.
fn children_cpu_seconds() -> f64 {
    let stat = fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name in parentheses (which may hold spaces): state is field 3, and
    // cutime, cstime are fields 16 and 17.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |field: usize| -> f64 {
        fields
            .get(field - 3)
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(16) + ticks(17)) / 100.0
}

/// `accepts FILE COUNT FIRST DURABILITY` processes started together; their summed accepts
/// and the wall time until the last has exited.
fn accepts(
    root: &Path,
    file: &Path,
    runs: &[(u64, u64)],
    durability: &str,
) -> Result<(u64, f64), String> {
    let program = root.join("target/release/examples/accepts");
    let start = Instant::now();
    let children = runs
        .iter()
        .map(|(count, first)| {
            Command::new(&program)
                .arg(file)
                .args([count.to_string(), first.to_string(), durability.to_owned()])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|err| format!("xtask bench: cannot start {}: {err}", program.display()))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut accepted = 0;
    for child in children {
        let output = child
            .wait_with_output()
            .map_err(|err| format!("xtask bench: accepts: {err}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!("xtask bench: accepts failed: {text}"));
        }
        // `accepted <n> replayed <n> refused <n> seconds <s>`
        let words: Vec<&str> = text.split_whitespace().collect();
        let n: u64 = words
            .get(1)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("xtask bench: odd `accepts` output {text:?}"))?;
        if words.get(5) != Some(&"0") {
            return Err(format!(
                "xtask bench: the store refused entries (an error): {text:?}"
            ));
        }
        accepted += n;
    }
    Ok((accepted, start.elapsed().as_secs_f64()))
}

fn measure_sqlite(root: &Path, scratch: &Path) -> Result<Vec<StoreRun>, String> {
    let mut rows = Vec::new();
    for (durability, keys) in SQLITE_KEYS {
        let shapes: [(&str, Vec<(u64, u64)>); 3] = [
            ("1 process, new keys", vec![(keys, 0)]),
            (
                "2 processes, new keys (disjoint)",
                vec![(keys / 2, 0), (keys / 2, keys / 2)],
            ),
            (
                "2 processes racing on the same keys",
                vec![(keys / 2, 0), (keys / 2, 0)],
            ),
        ];
        for (what, runs) in shapes {
            let file = scratch.join(format!("{durability}-{}.db", rows.len()));
            let (accepted, seconds) = accepts(root, &file, &runs, durability)?;
            let offered: u64 = runs.iter().map(|(count, _)| count).sum();
            let distinct = if what.contains("racing") {
                keys / 2
            } else {
                offered
            };
            if accepted != distinct {
                return Err(format!(
                    "xtask bench: {what} ({durability}): {accepted} accepted, expected exactly \
                     {distinct}"
                ));
            }
            println!(
                "    sqlite {durability}, {what}: {accepted} of {offered} accepted in {seconds:.3} s"
            );
            rows.push(StoreRun {
                durability,
                what,
                offered,
                accepted,
                seconds,
            });
        }
    }
    Ok(rows)
}

fn measure_verify(root: &Path, scratch: &Path) -> Result<Vec<VerifyRun>, String> {
    let benches = root.join("benches");
    let count = BATCH.to_string();
    let dir = scratch.to_str().ok_or("xtask bench: a non-UTF-8 path")?;
    run(
        &benches,
        cargo(),
        &[
            "run",
            "--profile",
            "bench",
            "--example",
            "tokens",
            "--",
            &count,
            dir,
        ],
        &[],
    )
    .map_err(|err| format!("xtask bench: benches/examples/tokens.rs failed ({err})"))?;
    let tokens = scratch.join("tokens.txt");
    let text = fs::read_to_string(&tokens)
        .map_err(|err| format!("xtask bench: {}: {err}", tokens.display()))?;
    let first: String = text
        .lines()
        .take(SQLITE_BATCH)
        .flat_map(|line| [line, "\n"])
        .collect();
    let sqlite_tokens = scratch.join("tokens-sqlite.txt");
    fs::write(&sqlite_tokens, first)
        .map_err(|err| format!("xtask bench: {}: {err}", sqlite_tokens.display()))?;
    let mut runs: Vec<VerifyRun> = Vec::new();
    for store in ["memory", "sqlite"] {
        for jobs in [1, 2] {
            runs.push(VerifyRun {
                store,
                jobs,
                tokens: if store == "sqlite" {
                    SQLITE_BATCH
                } else {
                    BATCH
                },
                seconds: Vec::new(),
                cpu_seconds: Vec::new(),
            });
        }
    }
    for round in 0..VERIFY_RUNS {
        for configuration in &mut runs {
            let db = scratch.join(format!("verify-{round}-{}.db", configuration.jobs));
            let cpu_before = children_cpu_seconds();
            let batch = if configuration.store == "sqlite" {
                &sqlite_tokens
            } else {
                &tokens
            };
            let seconds = verify(root, scratch, batch, configuration, &db)?;
            let cpu = children_cpu_seconds() - cpu_before;
            println!(
                "    verify --jobs {} ({}): {} tokens in {seconds:.3} s, {cpu:.2} CPU s",
                configuration.jobs, configuration.store, configuration.tokens
            );
            configuration.seconds.push(seconds);
            configuration.cpu_seconds.push(cpu);
        }
    }
    Ok(runs)
}

/// One `rfc7523 verify` of the batch: its wall time. Every token must be valid (so the
/// replay store saw each once and stored it).
fn verify(
    root: &Path,
    scratch: &Path,
    tokens: &Path,
    configuration: &VerifyRun,
    db: &Path,
) -> Result<f64, String> {
    let input = fs::File::open(tokens)
        .map_err(|err| format!("xtask bench: {}: {err}", tokens.display()))?;
    let mut command = Command::new(root.join("target/release/rfc7523"));
    command
        .args(["verify", "--keys"])
        .arg(scratch.join("public.pem"))
        .args([
            "--issuer",
            "https://issuer.example",
            "--audience",
            "https://as.example",
            "--jobs",
            &configuration.jobs.to_string(),
        ]);
    if configuration.store == "sqlite" {
        command.arg("--replay-db").arg(db);
    }
    let start = Instant::now();
    let output = command
        .stdin(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("xtask bench: cannot run rfc7523: {err}"))?;
    let seconds = start.elapsed().as_secs_f64();
    let lines = output
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty());
    let valid = lines
        .clone()
        .filter(|l| l.starts_with(b"{\"valid\":true"))
        .count();
    let batch = configuration.tokens;
    if !output.status.success() || valid != batch || lines.count() != batch {
        return Err(format!(
            "xtask bench: rfc7523 verify --jobs {}: {valid} of {batch} valid ({})",
            configuration.jobs, output.status
        ));
    }
    Ok(seconds)
}

impl ReplayReport {
    /// ops/s of a criterion row.
    fn rate(&self, name: &str) -> f64 {
        self.criterion
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or(f64::NAN, |(_, _, ns)| 1e9 / ns)
    }

    fn verify_run(&self, store: &str, jobs: usize) -> Option<&VerifyRun> {
        self.verify
            .iter()
            .find(|r| r.store == store && r.jobs == jobs)
    }

    /// Tokens/s of a `verify` configuration (median run).
    fn verify_rate(&self, store: &str, jobs: usize) -> f64 {
        self.verify_run(store, jobs)
            .map_or(f64::NAN, |r| r.tokens as f64 / median(&r.seconds))
    }

    /// Tokens/s of a `verify` configuration (best run).
    fn verify_best(&self, store: &str, jobs: usize) -> f64 {
        self.verify_run(store, jobs).map_or(f64::NAN, |r| {
            r.tokens as f64 / r.seconds.iter().copied().fold(f64::INFINITY, f64::min)
        })
    }

    /// Cores a configuration used: its CPU time over its wall time, all runs.
    fn verify_cores(&self, store: &str, jobs: usize) -> f64 {
        self.verify_run(store, jobs).map_or(f64::NAN, |r| {
            r.cpu_seconds.iter().sum::<f64>() / r.seconds.iter().sum::<f64>()
        })
    }

    pub(super) fn render(&self, s: &mut String) {
        let _ = writeln!(s, "## Replay stores and `verify --jobs` (issue 16)\n");
        let _ = writeln!(
            s,
            "Criterion medians of [`benches/benches/replay.rs`](benches/benches/replay.rs) \
             (a `BoxedReplayStore` of 65,536 entries, 56 bytes each; at 0 and 50 % live the \
             other slots hold expired entries, as in a store that has run for a while):\n"
        );
        let _ = writeln!(s, "| operation | ops/s | ns/op |\n|---|---:|---:|");
        for (_, what, ns) in &self.criterion {
            let _ = writeln!(s, "| {what} | {} | {} |", group(1e9 / ns), group(*ns));
        }
        let accept_all = self.rate("validate_2048/accept_all");
        let store_95 = self.rate("validate_2048/store_95");
        let _ = writeln!(
            s,
            "\nA validation with its replay check in the 95 % store runs at {:.3}× the rate of \
             one whose store accepts everything; an insert costs {} ns empty and {} ns at \
             95 %.\n",
            store_95 / accept_all,
            group(1e9 / self.rate("replay_65536/insert_live_0")),
            group(1e9 / self.rate("replay_65536/insert_live_95")),
        );

        let _ = writeln!(
            s,
            "SQLite store (`rfc7523-replay-sqlite`, its `accepts` example, release build): keys \
             offered to `check_and_insert`, each new key one `BEGIN IMMEDIATE` transaction \
             (insert, purge, commit) in WAL mode. Accepts/s = accepts over the wall time of \
             the run, process starts included. `FULL` (the default) syncs every accepted entry \
             to disk; `NORMAL` only at checkpoints. One `write` + `fsync` of a small file in \
             the same directory took {:.0} µs during this run: `FULL` pays about that per \
             accepted entry, and it varies with the machine's other disk traffic.\n",
            self.fsync_us
        );
        let _ = writeln!(
            s,
            "| synchronous | processes | offered | accepted | seconds | accepts/s |\n\
             |---|---|---:|---:|---:|---:|"
        );
        for row in &self.sqlite {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.3} | {} |",
                row.durability.to_uppercase(),
                row.what,
                group(row.offered as f64),
                group(row.accepted as f64),
                row.seconds,
                group(row.accepted as f64 / row.seconds),
            );
        }
        let _ = writeln!(
            s,
            "\nRacing processes: each key offered twice, accepted exactly once.\n"
        );

        let _ = writeln!(
            s,
            "`rfc7523 verify` (release build) on {} distinct RSA-2048 grants on standard \
             input ({} with `--replay-db`), output to a pipe; {VERIFY_RUNS} runs each, interleaved, process start and \
             key loading included. With `--replay-db` every run starts from a new file. Cores \
             used: the runs' CPU time over their wall time (below 2 for `--jobs 2` when other \
             work held a core).\n",
            group(BATCH as f64),
            group(SQLITE_BATCH as f64),
        );
        let _ = writeln!(
            s,
            "| replay store | `--jobs` | tokens/s (median) | tokens/s (best) | cores used |\n\
             |---|---:|---:|---:|---:|"
        );
        for (store, label) in [
            ("memory", "in memory (default)"),
            ("sqlite", "`--replay-db` (SQLite, FULL)"),
        ] {
            for jobs in [1, 2] {
                let _ = writeln!(
                    s,
                    "| {label} | {jobs} | {} | {} | {:.2} |",
                    group(self.verify_rate(store, jobs)),
                    group(self.verify_best(store, jobs)),
                    self.verify_cores(store, jobs),
                );
            }
        }
        let jobs_ratio = self.verify_rate("memory", 2) / self.verify_rate("memory", 1);
        let best_ratio = self.verify_best("memory", 2) / self.verify_best("memory", 1);
        let flat = store_95 / accept_all;
        let mark = |ok: bool| if ok { "✓" } else { "✗" };
        let _ = writeln!(s, "\n### Goals (issue 16)\n");
        let _ = writeln!(s, "| goal | measured | |\n|---|---:|:---:|");
        let _ = writeln!(
            s,
            "| validation with the 95 % full 65,536-entry store within 10 % of a store that \
             accepts all | {flat:.3}× | {} |",
            mark(flat >= 1.0 / 1.1)
        );
        let _ = writeln!(
            s,
            "| `verify --jobs 2` ≥ 1.8× `--jobs 1` (in-memory store, {} cores; medians) | \
             {jobs_ratio:.2}× | {} |",
            std::thread::available_parallelism().map_or(0, usize::from),
            mark(jobs_ratio >= 1.8)
        );
        let _ = writeln!(
            s,
            "| (the same, best runs; `--jobs 2` used {:.2} cores) | {best_ratio:.2}× | {} |\n",
            self.verify_cores("memory", 2),
            mark(best_ratio >= 1.8)
        );
        let _ = writeln!(
            s,
            "With `--replay-db` the replay checks run in input order on one thread and, with \
             `FULL`, each accepted entry waits for a sync: the store, not the signatures, sets \
             the pace there.\n"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rows_and_goals() {
        let report = ReplayReport {
            criterion: CRITERION
                .iter()
                .map(|&(name, what)| (name, what, 30_000.0))
                .collect(),
            sqlite: vec![StoreRun {
                durability: "full",
                what: "1 process, new keys",
                offered: 2_000,
                accepted: 2_000,
                seconds: 0.5,
            }],
            fsync_us: 150.0,
            verify: [("memory", 1, 0.26), ("memory", 2, 0.14)]
                .iter()
                .map(|&(store, jobs, seconds)| VerifyRun {
                    store,
                    jobs,
                    tokens: BATCH,
                    seconds: vec![seconds, seconds * 1.1],
                    cpu_seconds: vec![0.26, 0.29],
                })
                .collect(),
        };
        let mut s = String::new();
        report.render(&mut s);
        assert!(s.contains("| FULL | 1 process, new keys | 2,000 | 2,000 | 0.500 | 4,000 |"));
        // Medians of two runs take the slower; cores: 0.55 CPU s over 0.294 s.
        assert!(
            s.contains("| in memory (default) | 2 | 51,948 | 57,143 | 1.87 |"),
            "{s}"
        );
        assert!(s.contains("medians) | 1.86× | ✓ |"), "{s}");
        assert!(s.contains("an insert costs 30,000 ns empty"), "{s}");
        assert!(s.contains("8,000 distinct RSA-2048 grants"));
    }

    #[test]
    fn reads_the_children_cpu_time() {
        let cpu = children_cpu_seconds();
        assert!(cpu.is_finite() && cpu >= 0.0, "{cpu}");
    }
}
