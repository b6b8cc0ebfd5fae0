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

/// The in-isolate verifications of `www/bench/verify-loop/` (`loop/ops/<name>/…`), with their row.
const LOOP_OPS: [(&str, &str); 5] = [
    (
        "package",
        "npm `rfc7523` `verify` (RSA by {rsa}, as in the example Worker)",
    ),
    (
        "package-wasm",
        "npm `rfc7523` `verify`, all in wasm (`rsa: \"wasm\"`)",
    ),
    ("jose", "jose `jwtVerify` (`createLocalJWKSet`, key imported once)"),
    (
        "webcrypto",
        "WebCrypto `subtle.verify` alone (key imported once)",
    ),
    (
        "node-publicdecrypt",
        "node:crypto `publicDecrypt` alone, as the package calls it in workerd (the JWK imported on every call)",
    ),
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

        let _ = writeln!(
            s,
            "Inside the isolate (no HTTP, no store: [`www/bench/verify-loop/`]\
             (www/bench/verify-loop/src/index.js), a Worker in a fourth workerd that runs one \
             verification of a valid grant {n} times per request, {requests} requests per \
             verification and round, less the same requests doing nothing), CPU time per \
             verification:\n",
            n = self.value("loop/n"),
            requests = self.value("loop/requests"),
        );
        let _ = writeln!(s, "| CPU time per verification | |\n|---|---:|");
        for (op, what) in LOOP_OPS {
            let what = what.replace("{rsa}", self.text("loop/rsa"));
            let _ = writeln!(
                s,
                "| {what} | {:.1} µs |",
                self.value(&format!("loop/ops/{op}/cpu_us"))
            );
        }
        let _ = writeln!(
            s,
            "| package / jose | {:.3}× |\n| package all in wasm / jose | {:.3}× |\n",
            self.value("loop/ratio"),
            self.value("loop/wasm_ratio"),
        );

        let target = self.value("target");
        let ratio = self.mode(GOAL_MODE, "ratio");
        let net_ratio = self.mode(GOAL_MODE, "net_ratio");
        let met = ratio <= target;
        let _ = writeln!(
            s,
            "| goal | measured | |\n|---|---:|:---:|\n| Workers CPU time ≤ {target}× the jose \
             copy (the mix, one at a time) | {ratio:.3}× (net {net_ratio:.3}×) | {} |\n\
             | (the verification alone, inside the isolate) | {:.3}× | |\n",
            if met { "✓" } else { "✗" },
            self.value("loop/ratio"),
        );
        if !met {
            self.render_obstacle(s, target);
        }
    }

    /// What stands in the way, from the figures: the verification's cost inside the isolate
    /// next to a request's, and what the package's verification spends its time on.
    fn render_obstacle(&self, s: &mut String, target: f64) {
        let m = |mode: &str, name: &str| self.mode(mode, name);
        let op = |name: &str| self.value(&format!("loop/ops/{name}/cpu_us"));
        let package_raw = m(GOAL_MODE, "package/cpu_us");
        let jose_raw = m(GOAL_MODE, "jose/cpu_us");
        let constant = m(GOAL_MODE, "constant/cpu_us");
        let package_verify = op("package");
        // The package's CPU per request of the mix if its verification cost nothing.
        let floor = (package_raw - package_verify) / jose_raw;
        let _ = write!(
            s,
            "What stands in the way: a verification is a small part of a request's CPU time in \
             workerd. Per request (the mix, one at a time) the example Worker uses {package_raw:.0} µs, \
             of which {constant:.0} µs is workerd's own handling of a request (the constant \
             Worker) and {package_verify:.1} µs the verification (inside the isolate); the rest \
             is the Worker's own HTTP work and the Durable Object's claim, which the jose copy \
             does alike. A verification costing nothing would leave it at about {floor:.2}× the \
             jose copy's {jose_raw:.0} µs",
        );
        if floor > target {
            let _ = write!(
                s,
                ", above the {target}× target: the goal cannot be met by the verification while \
                 workerd, the Durable Object and the HTTP work cost what they do"
            );
        }
        let _ = writeln!(
            s,
            ". And the verification itself is {:.2}× jose's in workerd ({package_verify:.1} µs \
             against {:.1} µs): of the package's, {:.1} µs is node:crypto's `publicDecrypt` as \
             the package calls it there (workerd's `publicDecrypt` takes no `KeyObject`, so the \
             key's JWK is imported on every call), where WebCrypto's `verify` with a key \
             imported once (what jose uses) takes {:.1} µs; the rest, about {:.1} µs, is the \
             wasm core and its calls (jose's JavaScript around WebCrypto: about {:.1} µs). All in \
             wasm the package takes {:.1} µs.\n",
            self.value("loop/ratio"),
            op("jose"),
            op("node-publicdecrypt"),
            op("webcrypto"),
            package_verify - op("node-publicdecrypt"),
            op("jose") - op("webcrypto"),
            op("package-wasm"),
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
        modes/refused/net_ratio\t0.841\nmodes/refused/busiest_thread_ratio\t1.017\n\
        loop/n\t100\nloop/requests\t10\nloop/rsa\tnode:crypto\nloop/ops/package/cpu_us\t44.6\n\
        loop/ops/package-wasm/cpu_us\t90.7\nloop/ops/jose/cpu_us\t38.9\n\
        loop/ops/webcrypto/cpu_us\t18.8\nloop/ops/node-publicdecrypt/cpu_us\t25.5\n\
        loop/ratio\t1.147\nloop/wasm_ratio\t2.332\n";

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
        assert!(s.contains("500 token requests per round"), "{s}");
        assert!(
            s.contains("| npm `rfc7523` `verify` (RSA by node:crypto, as in the example Worker) | 44.6 µs |"),
            "{s}"
        );
        assert!(
            s.contains("| package / jose | 1.147× |\n| package all in wasm / jose | 2.332× |"),
            "{s}"
        );
        assert!(
            s.contains("| (the verification alone, inside the isolate) | 1.147× | |"),
            "{s}"
        );
        // (653 − 44.6) / 489 = 1.244; 44.6 − 25.5 = 19.1; 38.9 − 18.8 = 20.1.
        assert!(
            s.contains("about 1.24× the jose copy's 489 µs, above the 0.5× target"),
            "{s}"
        );
        assert!(
            s.contains("the rest, about 19.1 µs, is the wasm core"),
            "{s}"
        );
        assert!(
            s.contains("about 20.1 µs). All in wasm the package takes 90.7 µs."),
            "{s}"
        );
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
