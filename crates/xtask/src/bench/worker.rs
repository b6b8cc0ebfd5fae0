//! The Worker example under load (issue 17) in `cargo xtask bench` (alone: `cargo xtask bench
//! worker`, which prints the rows and writes nothing).
//!
//! It runs the suite's own load test, `node --test www/test/worker-load.test.mjs` (a step of
//! `cargo xtask test` too, where it asserts exactly-once, the refusals and no 5xx, never a
//! timing), with `RFC7523_WORKER_LOAD_OUT` set: the test writes its figures there, one
//! `name<TAB>value` a line, and they become the rows of `BENCHMARKS.md`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use super::group;
use crate::wasm;

/// The kinds of request of the test's mix, in its order (`PLAN` of worker-load.test.mjs).
const KINDS: [&str; 11] = [
    "valid grant",
    "valid client assertion",
    "same grant to both instances at once",
    "replayed grant (accepted earlier, other instance)",
    "expired grant",
    "bad signature (grant)",
    "bad signature (client assertion)",
    "malformed assertion",
    "malformed form body",
    "oversize body (21 KiB)",
    "wrong content type (JSON)",
];

/// The test's figures, by name (`load/p50_ms`, `constant/rss/end`, ...).
pub(super) struct WorkerReport {
    values: Vec<(String, String)>,
}

/// Runs the load test (needs the npm package: `cargo xtask wasm`) and reads its figures.
pub(super) fn measure(root: &Path) -> Result<WorkerReport, String> {
    println!("==> bench: node --test www/test/worker-load.test.mjs");
    let out = root.join("target/xtask-bench-worker-load.tsv");
    let _ = fs::remove_file(&out);
    let status = Command::new("node")
        .args(["--test", "www/test/worker-load.test.mjs"])
        .envs(wasm::node_env())
        .env("WRANGLER_HIDE_BANNER", "true")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("RFC7523_WORKER_LOAD_OUT", &out)
        .current_dir(root)
        .stdin(Stdio::null())
        .status()
        .map_err(|err| format!("xtask bench: cannot run node: {err}"))?;
    if !status.success() {
        return Err(format!(
            "xtask bench: www/test/worker-load.test.mjs failed ({status})"
        ));
    }
    let text = fs::read_to_string(&out)
        .map_err(|err| format!("xtask bench: cannot read {}: {err}", out.display()))?;
    let _ = fs::remove_file(&out);
    Ok(WorkerReport::parse(&text))
}

impl WorkerReport {
    fn parse(text: &str) -> Self {
        Self {
            values: text
                .lines()
                .filter_map(|line| line.split_once('\t'))
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }
    }

    fn value(&self, name: &str) -> f64 {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(f64::NAN)
    }

    /// `key status` pairs under `prefix/` (e.g. the statuses), in the file's order.
    fn under(&self, prefix: &str) -> Vec<(&str, f64)> {
        self.values
            .iter()
            .filter_map(|(n, v)| {
                n.strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .map(|rest| (rest, v.parse().unwrap_or(f64::NAN)))
            })
            .collect()
    }

    pub(super) fn render(&self, s: &mut String) {
        let _ = writeln!(s, "## The Worker example under load (issue 17)\n");
        let requests = self.value("load/requests");
        let _ = writeln!(
            s,
            "[`www/test/worker-load.test.mjs`](www/test/worker-load.test.mjs), also a step of \
             `cargo xtask test` (which asserts the counts, never the timings): wrangler's bundle of \
             [`www/worker/`](www/worker/src/index.js) as two Workers in one workerd (Miniflare; \
             the Durable Objects' SQLite on tmpfs, so no request waits for the disk of a shared \
             machine), each on its own 127.0.0.1 socket; {} token requests, {} in flight over \
             keep-alive connections (node:http), the mix below; 40 % carry a fresh valid \
             assertion (signed before the clock starts). Latency: from the request's first byte \
             to the end of its answer, client side, queueing included.\n",
            group(requests),
            self.value("load/concurrency"),
        );
        let statuses = self
            .under("load/statuses")
            .iter()
            .map(|(status, count)| format!("{status}: {}", group(*count)))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(s, "| | |\n|---|---:|");
        let _ = writeln!(s, "| requests | {} |", group(requests));
        let _ = writeln!(
            s,
            "| wall time of the load | {:.1} s ({} requests/s) |",
            self.value("load/load_seconds"),
            group(self.value("load/requests_per_second"))
        );
        let _ = writeln!(s, "| statuses | {statuses} |");
        let _ = writeln!(
            s,
            "| valid `jti`s accepted exactly once (over both instances) | {} of {} |",
            group(self.value("load/accepted_exactly_once")),
            group(self.value("load/valid_jtis"))
        );
        let _ = writeln!(s, "| latency p50 | {:.1} ms |", self.value("load/p50_ms"));
        let _ = writeln!(s, "| latency p99 | {:.1} ms |", self.value("load/p99_ms"));
        let _ = writeln!(s, "| latency max | {:.1} ms |\n", self.value("load/max_ms"));

        let _ = writeln!(
            s,
            "| kind of request | requests | p50 | p99 |\n|---|---:|---:|---:|"
        );
        for kind in KINDS {
            let _ = writeln!(
                s,
                "| {kind} | {} | {:.1} ms | {:.1} ms |",
                group(self.value(&format!("load/kinds/{kind}/requests"))),
                self.value(&format!("load/kinds/{kind}/p50_ms")),
                self.value(&format!("load/kinds/{kind}/p99_ms")),
            );
        }
        let _ = writeln!(s);

        let mib = |name: &str| self.value(name) / 1024.0;
        let target = self.value("load/memory_target");
        let ratio = self.value("load/memory_ratio");
        let constant_ratio = self.value("constant/memory_ratio");
        let warmup = self.value("load/workerd_rss_kib/warmup_requests");
        let _ = writeln!(
            s,
            "workerd's resident memory (VmRSS) at the start, after {} requests (warm-up) and \
             at the end; beside it, another workerd serving the same number of requests at the \
             same concurrency from a Worker that answers a constant and keeps nothing:\n",
            group(warmup)
        );
        let _ = writeln!(
            s,
            "| workerd serving | start | after warm-up | end | end / after warm-up |\n|---|---:|---:|---:|---:|"
        );
        let _ = writeln!(
            s,
            "| the token endpoint (two Workers, the Durable Objects) | {:.1} MiB | {:.1} MiB | {:.1} MiB | {ratio:.2}× {} |",
            mib("load/workerd_rss_kib/start"),
            mib("load/workerd_rss_kib/after_warmup"),
            mib("load/workerd_rss_kib/end"),
            if ratio <= target { "✓" } else { "✗" },
        );
        let _ = writeln!(
            s,
            "| a constant answer | {:.1} MiB | {:.1} MiB | {:.1} MiB | {constant_ratio:.2}× |\n",
            mib("constant/rss/start"),
            mib("constant/rss/after_warmup"),
            mib("constant/rss/end"),
        );
        let _ = writeln!(
            s,
            "The target of issue 17 is ≤ {target}× from warm-up to the end. workerd's memory \
             grows under load whatever the Worker does, as the constant one shows; see \
             [www/README.md](www/README.md) (the Worker under load) for what was measured \
             beside it.\n"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_rows() {
        let text = "load/requests\t20000\nload/concurrency\t64\nload/load_seconds\t17.3\n\
                    load/requests_per_second\t1156\nload/p50_ms\t42.3\nload/p99_ms\t228.8\n\
                    load/max_ms\t448.9\nload/statuses/200\t8000\nload/statuses/400\t11000\n\
                    load/valid_jtis\t8000\nload/accepted_exactly_once\t8000\n\
                    load/workerd_rss_kib/start\t56692\nload/workerd_rss_kib/after_warmup\t123672\n\
                    load/workerd_rss_kib/end\t188132\nload/workerd_rss_kib/warmup_requests\t2000\n\
                    load/memory_ratio\t1.52\nload/memory_target\t1.2\n\
                    load/kinds/valid grant/requests\t6000\nload/kinds/valid grant/p50_ms\t56.8\n\
                    load/kinds/valid grant/p99_ms\t264.6\nconstant/rss/start\t50000\n\
                    constant/rss/after_warmup\t67000\nconstant/rss/end\t114000\n\
                    constant/memory_ratio\t1.7\n";
        let mut s = String::new();
        WorkerReport::parse(text).render(&mut s);
        assert!(s.contains("| statuses | 200: 8,000, 400: 11,000 |"), "{s}");
        assert!(s.contains("| 8,000 of 8,000 |"), "{s}");
        assert!(s.contains("| latency p99 | 228.8 ms |"), "{s}");
        assert!(
            s.contains("| valid grant | 6,000 | 56.8 ms | 264.6 ms |"),
            "{s}"
        );
        assert!(s.contains("| 120.8 MiB | 183.7 MiB | 1.52× ✗ |"), "{s}");
        assert!(s.contains("| 1.70× |"), "{s}");
    }
}
