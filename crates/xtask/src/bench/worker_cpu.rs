//! Workers: CPU time per request in workerd, the example Worker against the same token
//! endpoint written with jose (issue 16) in `cargo xtask bench` (alone: `cargo xtask bench
//! worker-cpu`, which prints the section and writes nothing).
//!
//! It runs `node www/bench/worker-cpu.mjs` with `RFC7523_WORKER_CPU_OUT` set: the script
//! writes its medians there, one `name<TAB>value` a line, and they become the section's rows.
//! The script checks every answer's status and error and fails on any other (a broken copy
//! cannot win); nothing here is asserted in `cargo xtask test`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::wasm;

/// The script's modes (`modes/<name>/…`), with their column heading.
const MODES: [(&str, &str); 3] = [
    ("sequential", "the mix, one at a time"),
    ("concurrent", "the mix, {c} in flight"),
    ("refused", "refused only, one at a time"),
];

/// The mode the goal is judged on.
const GOAL_MODE: &str = "sequential";

/// The script's figures, by name (`modes/sequential/package/cpu_us`, `target`, …).
pub(super) struct WorkerCpuReport {
    values: Vec<(String, String)>,
}

/// Runs the script (needs the npm package and `npm ci` in bindings/wasm/js) and reads its figures.
pub(super) fn measure(root: &Path) -> Result<WorkerCpuReport, String> {
    println!("==> bench: node www/bench/worker-cpu.mjs");
    let out = root.join("target/xtask-bench-worker-cpu.tsv");
    let _ = fs::remove_file(&out);
    let status = Command::new("node")
        .arg("www/bench/worker-cpu.mjs")
        .envs(wasm::node_env())
        .env("WRANGLER_HIDE_BANNER", "true")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("RFC7523_WORKER_CPU_OUT", &out)
        .current_dir(root)
        .stdin(Stdio::null())
        .status()
        .map_err(|err| format!("xtask bench: cannot run node: {err}"))?;
    if !status.success() {
        return Err(format!(
            "xtask bench: www/bench/worker-cpu.mjs failed ({status})"
        ));
    }
    let text = fs::read_to_string(&out)
        .map_err(|err| format!("xtask bench: cannot read {}: {err}", out.display()))?;
    let _ = fs::remove_file(&out);
    Ok(WorkerCpuReport::parse(&text))
}

impl WorkerCpuReport {
    fn parse(text: &str) -> Self {
        Self {
            values: text
                .lines()
                .filter_map(|line| line.split_once('\t'))
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }
    }

    fn text(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map_or("?", |(_, v)| v.as_str())
    }

    fn value(&self, name: &str) -> f64 {
        self.text(name).parse().unwrap_or(f64::NAN)
    }

    fn mode(&self, mode: &str, name: &str) -> f64 {
        self.value(&format!("modes/{mode}/{name}"))
    }

    pub(super) fn render(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "## Workers: CPU time per request in workerd (issue 16)\n"
        );
        let concurrency = self.mode("concurrent", "concurrency");
        let _ = writeln!(
            s,
            "[`www/bench/worker-cpu.mjs`](www/bench/worker-cpu.mjs): wrangler's bundle of the \
             example Worker ([`www/worker/`](www/worker/src/index.js), the npm package) and of a \
             bench-only copy of its token endpoint written with jose {jose} \
             ([`www/bench/jose-worker/`](www/bench/jose-worker/src/index.js): `jwtVerify` with \
             each party's keys imported once per isolate, the same checks, the same Durable \
             Object replay store), each in its own workerd (Miniflare, SQLite on tmpfs, its own \
             127.0.0.1 socket), and a third workerd whose Worker reads the body and answers a \
             constant: workerd's fixed cost of a request, subtracted for the *net* figures. \
             Each Worker gets the same {requests} token requests per round over keep-alive \
             connections (node:http); the mix, per 10: 5 jwt-bearer grants and 2 client \
             assertions (`client_credentials`), valid, fresh `jti`s (each claims a record in the \
             Durable Object), 2 signed by another key, 1 expired; *refused only*: bad signatures \
             and expired ones (the signature checked, the store never reached). CPU time: \
             workerd's, all its threads (`/proc/<pid>/task/*/schedstat`), over the round's \
             requests, per request; {rounds} rounds after {warmup} requests of warm-up, the \
             Workers' order rotating; medians (each ratio: the median of the rounds' ratios). \
             Every answer is checked (status and error): a run with any other answer fails.\n",
            jose = self.text("jose"),
            requests = super::group(self.value("requests")),
            rounds = self.value("rounds"),
            warmup = super::group(self.value("warmup")),
        );

        let headings: Vec<String> = MODES
            .iter()
            .map(|(_, heading)| heading.replace("{c}", &format!("{concurrency}")))
            .collect();
        let _ = writeln!(
            s,
            "| CPU time per request | {} |\n|---|{}",
            headings.join(" | "),
            "---:|".repeat(MODES.len())
        );
        for (worker, what) in [
            ("package", "the example Worker (npm `rfc7523`)"),
            ("jose", "the jose copy (`jwtVerify`)"),
        ] {
            let cells: Vec<String> = MODES
                .iter()
                .map(|(mode, _)| {
                    format!(
                        "{:.0} µs (net {:.0} µs)",
                        self.mode(mode, &format!("{worker}/cpu_us")),
                        self.mode(mode, &format!("{worker}/net_cpu_us")),
                    )
                })
                .collect();
            let _ = writeln!(s, "| {what} | {} |", cells.join(" | "));
        }
        let cells: Vec<String> = MODES
            .iter()
            .map(|(mode, _)| format!("{:.0} µs", self.mode(mode, "constant/cpu_us")))
            .collect();
        let _ = writeln!(
            s,
            "| a constant answer (reads the body) | {} |",
            cells.join(" | ")
        );
        for (name, what) in [
            ("ratio", "package / jose"),
            ("net_ratio", "package / jose, net of the constant"),
            (
                "busiest_thread_ratio",
                "package / jose, workerd's busiest thread only",
            ),
        ] {
            let cells: Vec<String> = MODES
                .iter()
                .map(|(mode, _)| format!("{:.3}×", self.mode(mode, name)))
                .collect();
            let _ = writeln!(s, "| {what} | {} |", cells.join(" | "));
        }
        let _ = writeln!(s);

        let target = self.value("target");
        let ratio = self.mode(GOAL_MODE, "ratio");
        let net_ratio = self.mode(GOAL_MODE, "net_ratio");
        let met = ratio <= target;
        let _ = writeln!(
            s,
            "| goal | measured | |\n|---|---:|:---:|\n| Workers CPU time ≤ {target}× the jose \
             copy (the mix, one at a time) | {ratio:.3}× (net {net_ratio:.3}×) | {} |\n",
            if met { "✓" } else { "✗" }
        );
        if !met {
            self.render_obstacle(s, target);
        }
    }

    /// What stands in the way, from the figures: the verification's share of a request next to
    /// the replay store's and workerd's own.
    fn render_obstacle(&self, s: &mut String, target: f64) {
        let m = |mode: &str, name: &str| self.mode(mode, name);
        let valid_share = m(GOAL_MODE, "valid_share");
        // Net CPU of one valid request (verification, the Durable Object's claim, the token)
        // out of the mix: mix = share × valid + (1 − share) × refused.
        let valid = |worker: &str| {
            (m(GOAL_MODE, &format!("{worker}/net_cpu_us"))
                - (1.0 - valid_share) * m("refused", &format!("{worker}/net_cpu_us")))
                / valid_share
        };
        let (package_valid, jose_valid) = (valid("package"), valid("jose"));
        let package_refused = m("refused", "package/net_cpu_us");
        let jose_refused = m("refused", "jose/net_cpu_us");
        let constant = m(GOAL_MODE, "constant/cpu_us");
        // The package's raw CPU per request of the mix if its verification cost nothing: what
        // is left is workerd's, the store's and the Worker's HTTP work.
        let floor =
            (m(GOAL_MODE, "package/cpu_us") - package_refused) / m(GOAL_MODE, "jose/cpu_us");
        let _ = writeln!(
            s,
            "What stands in the way: in workerd the verification is only part of a request's \
             CPU time. A refused request (signature checked, no replay store) costs {package_refused:.0} µs \
             net for the package and {jose_refused:.0} µs for jose ({:.2}×); a valid one \
             (verification, the Durable Object's claim, the token) {package_valid:.0} µs and \
             {jose_valid:.0} µs ({:.2}×); workerd's own handling of a request (the constant \
             Worker) {constant:.0} µs, paid by both. Even a verification costing nothing would \
             leave the package at about {floor:.2}× jose on the mix (its raw CPU less a refused \
             request's net cost){}.\n",
            package_refused / jose_refused,
            package_valid / jose_valid,
            if floor > target {
                format!(
                    ", above the {target}× target: the goal cannot be met by the verification \
                     alone while workerd, the Durable Object and the Worker's HTTP work cost \
                     what they do"
                )
            } else {
                String::new()
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIGURES: &str = "requests\t500\nrounds\t5\nwarmup\t300\ntarget\t0.5\njose\t6.2.18\n\
        modes/sequential/concurrency\t1\nmodes/sequential/valid_share\t0.7\n\
        modes/sequential/package/cpu_us\t653.0\nmodes/sequential/package/net_cpu_us\t511.0\n\
        modes/sequential/jose/cpu_us\t489.0\nmodes/sequential/jose/net_cpu_us\t347.0\n\
        modes/sequential/constant/cpu_us\t142.0\nmodes/sequential/ratio\t1.334\n\
        modes/sequential/net_ratio\t1.483\nmodes/sequential/busiest_thread_ratio\t1.32\n\
        modes/concurrent/concurrency\t8\nmodes/concurrent/package/cpu_us\t516\n\
        modes/concurrent/package/net_cpu_us\t380\nmodes/concurrent/jose/cpu_us\t483\n\
        modes/concurrent/jose/net_cpu_us\t346\nmodes/concurrent/constant/cpu_us\t136\n\
        modes/concurrent/ratio\t1.081\nmodes/concurrent/net_ratio\t1.114\n\
        modes/concurrent/busiest_thread_ratio\t1.06\n\
        modes/refused/concurrency\t1\nmodes/refused/valid_share\t0\n\
        modes/refused/package/cpu_us\t433\nmodes/refused/package/net_cpu_us\t180\n\
        modes/refused/jose/cpu_us\t453\nmodes/refused/jose/net_cpu_us\t200\n\
        modes/refused/constant/cpu_us\t253\nmodes/refused/ratio\t0.953\n\
        modes/refused/net_ratio\t0.841\nmodes/refused/busiest_thread_ratio\t1.017\n";

    #[test]
    fn renders_the_table_the_goal_and_what_stands_in_the_way() {
        let mut s = String::new();
        WorkerCpuReport::parse(FIGURES).render(&mut s);
        assert!(
            s.contains("| CPU time per request | the mix, one at a time | the mix, 8 in flight | refused only, one at a time |\n|---|---:|---:|---:|\n"),
            "{s}"
        );
        assert!(
            s.contains("| the example Worker (npm `rfc7523`) | 653 µs (net 511 µs) | 516 µs (net 380 µs) | 433 µs (net 180 µs) |"),
            "{s}"
        );
        assert!(
            s.contains("| the jose copy (`jwtVerify`) | 489 µs (net 347 µs) |"),
            "{s}"
        );
        assert!(
            s.contains("| a constant answer (reads the body) | 142 µs | 136 µs | 253 µs |"),
            "{s}"
        );
        assert!(
            s.contains("| package / jose | 1.334× | 1.081× | 0.953× |"),
            "{s}"
        );
        assert!(
            s.contains("| Workers CPU time ≤ 0.5× the jose copy (the mix, one at a time) | 1.334× (net 1.483×) | ✗ |"),
            "{s}"
        );
        assert!(s.contains("jose 6.2.18"), "{s}");
        // 500 requests, (511 − 0.3 × 180) / 0.7 = 653 µs valid for the package; (653 − 180) / 489.
        assert!(s.contains("500 token requests per round"), "{s}");
        assert!(s.contains("653 µs and"), "{s}");
        assert!(s.contains("about 0.97× jose"), "{s}");
        assert!(s.contains("above the 0.5× target"), "{s}");
    }

    #[test]
    fn a_met_goal_has_a_check_and_no_obstacle() {
        let text = FIGURES.replace(
            "modes/sequential/ratio\t1.334",
            "modes/sequential/ratio\t0.45",
        );
        let mut s = String::new();
        WorkerCpuReport::parse(&text).render(&mut s);
        assert!(s.contains("| 0.450× (net 1.483×) | ✓ |"), "{s}");
        assert!(!s.contains("What stands in the way"), "{s}");
    }
}
