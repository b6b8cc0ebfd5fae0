//! `cargo xtask bench`: the benchmarks of issue 6, in one run, written to `BENCHMARKS.md`.
//!
//! 1. The npm package is built (`cargo xtask wasm`) only when `bindings/wasm/pkg/` or jose is
//!    missing; otherwise the existing build is measured (its age is printed).
//! 2. `openssl speed -seconds N rsa2048 rsa4096 ecdsap256 ed25519`, three times, interleaved
//!    with the rest (before criterion, between criterion and Node, after Node); the median
//!    verify/s is the baseline.
//! 3. `cargo bench` in `benches/` (its own workspace: criterion, ring, aws-lc-rs,
//!    jsonwebtoken): `rs256` (RSA) and `algorithms` (PS256, ES256, EdDSA, issue 13); the
//!    criterion medians are read from `benches/target/criterion/`.
//! 4. `node bindings/wasm/js/bench/rs256.mjs`: the package vs jose vs WebCrypto, the cold load
//!    time, the package sizes and the process's memory; then `bench/algorithms.mjs`: the
//!    package vs jose per algorithm (RS256, PS256, ES256, EdDSA; issue 13).
//! 5. The heap allocations of one verification and one validation, counted by
//!    `tests/allocations.rs` (run here with `--nocapture`; the test itself asserts zero).
//! 6. The replay stores and `verify --jobs` (issue 16, [`replay`]; alone, printed and not
//!    written: `cargo xtask bench replay`).
//! 7. The Worker example under load in workerd (issue 17, [`worker`]; alone, printed and not
//!    written: `cargo xtask bench worker`).
//! 8. Workers: CPU time per request in workerd, the example Worker against a jose copy
//!    (issue 16, [`worker_cpu`]; alone, printed and not written: `cargo xtask bench worker-cpu`).
//! 9. The embedded firmware under QEMU (`cargo xtask embedded`'s build and runs): flash, static
//!    RAM, peak stack and guest instructions per call (deterministic, a few seconds).
//! 10. `BENCHMARKS.md`: machine, load, tables, ratios, goals, what stands in the way.
//!
//! Nothing here is part of `cargo xtask test`: timings are never assertions.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use crate::{cargo, embedded, probe, run, wasm};

mod replay;
mod worker;
mod worker_cpu;

/// Seconds per `openssl speed` measurement (each of sign and verify, per key size).
const OPENSSL_SECONDS: &str = "3";

/// Seconds per Node measurement (three of them, median).
const NODE_SECONDS: &str = "2";

/// Key sizes measured.
const BITS: [u32; 2] = [2048, 4096];

/// What `openssl speed` measures, in the order of [`Report::openssl`]'s index: the argument,
/// the start of its result line (after leading spaces), and the name in the tables. The RSA
/// sizes come first, in the order of [`BITS`].
const OPENSSL: [(&str, &str, &str); 4] = [
    ("rsa2048", "rsa 2048 bits ", "RSA-2048"),
    ("rsa4096", "rsa 4096 bits ", "RSA-4096"),
    ("ecdsap256", "256 bits ecdsa (nistp256) ", "ECDSA P-256"),
    ("ed25519", "253 bits EdDSA (Ed25519) ", "Ed25519"),
];

/// Index in [`OPENSSL`] of each key type's baseline.
const OPENSSL_RSA2048: usize = 0;
const OPENSSL_P256: usize = 2;
const OPENSSL_ED25519: usize = 3;

/// The algorithms of `benches/benches/algorithms.rs`: criterion group, `alg` and key, the
/// `openssl speed` figure it is compared with ([`OPENSSL`] index), and what its
/// `rfc7523_verify` row measures.
const ALGORITHMS: [(&str, &str, usize, &str); 3] = [
    (
        "alg_ps256",
        "PS256 (RSA-2048)",
        OPENSSL_RSA2048,
        "rfc7523 `alg::ps256::verify_message` (SHA-256, RSAVP1, EMSA-PSS-VERIFY only)",
    ),
    (
        "alg_es256",
        "ES256 (P-256)",
        OPENSSL_P256,
        "rfc7523 `P256VerifyingKey::verify_message` (SHA-256 + `p256` 0.13 ECDSA only)",
    ),
    (
        "alg_eddsa",
        "EdDSA (Ed25519)",
        OPENSSL_ED25519,
        "rfc7523 `Ed25519VerifyingKey::verify_message` (`ed25519-dalek` 2.2 `verify_strict` only)",
    ),
];

/// The benchmarks of each algorithm in `benches/benches/algorithms.rs`, with what they measure
/// (`rfc7523_verify`: the algorithm's own line in [`ALGORITHMS`]).
const ALGORITHM_ROWS: [(&str, &str); 4] = [
    (
        "rfc7523_validate",
        "rfc7523 `ClientAuthProfile::validate` (parse, verify, claims, replay key)",
    ),
    ("rfc7523_verify", "rfc7523, the signature step alone"),
    (
        "ring",
        "ring 0.17.14 `UnparsedPublicKey::verify` (parses the key per call)",
    ),
    (
        "aws_lc_rs",
        "aws-lc-rs 1.19.0 `ParsedPublicKey::verify_sig` (key parsed once)",
    ),
];

/// The criterion benchmarks of `benches/benches/rs256.rs`, with what they measure.
const NATIVE: [(&str, &str); 7] = [
    (
        "rfc7523_validate",
        "rfc7523 `ClientAuthProfile::validate` (parse, RS256, claims, replay key)",
    ),
    (
        "rfc7523_rs256",
        "rfc7523 `RsaVerifyingKey::verify_rs256` (SHA-256 + RSA only)",
    ),
    (
        "rfc7523_rsavp1",
        "rfc7523-rsavp1 `rsavp1` alone (RSA only: the key stored as bytes, no SHA-256)",
    ),
    (
        "rsa_0.9",
        "`rsa` 0.9.10 `pkcs1v15::VerifyingKey<Sha256>` (key built once)",
    ),
    (
        "ring",
        "ring 0.17.14 `UnparsedPublicKey::verify` (parses the key per call)",
    ),
    (
        "aws_lc_rs",
        "aws-lc-rs 1.19.0 `ParsedPublicKey::verify_sig` (key parsed once)",
    ),
    (
        "jsonwebtoken",
        "jsonwebtoken 9.3.1 (ring) `decode`, iss/sub/aud/exp checked",
    ),
];

/// The Node measurements of `bindings/wasm/js/bench/rs256.mjs`.
const NODE: [(&str, &str); 7] = [
    (
        "rfc7523_verify",
        "npm `rfc7523` `AssertionVerifier.verify` (sync, full validation; RSA by node:crypto, the default in Node)",
    ),
    (
        "rfc7523_verify_wasm",
        "the same with `rsa: \"wasm\"` (all in wasm, as in browsers and Workers)",
    ),
    ("jose_await", "jose `jwtVerify`, await each"),
    ("jose_64", "jose `jwtVerify`, 64 in flight"),
    (
        "webcrypto_await",
        "WebCrypto `subtle.verify` only, await each",
    ),
    (
        "crypto_verify",
        "node:crypto `crypto.verify` only (sync, `KeyObject`): the ceiling of a path that hands RSA to node:crypto",
    ),
    (
        "node_rsavp1",
        "node:crypto `publicDecrypt` without padding only: RSAVP1 as the package calls it",
    ),
];

pub(crate) fn main(root: &Path, args: &[String]) -> Result<(), String> {
    match args {
        [] => {}
        [only] if only == "replay" => {
            return run_one_section("replay", || {
                replay::measure(root).map(|report| render_to_string(|s| report.render(s)))
            })
        }
        [only] if only == "worker" => {
            ensure_package(root)?;
            return run_one_section("worker", || {
                worker::measure(root).map(|report| render_to_string(|s| report.render(s)))
            });
        }
        [only] if only == "worker-cpu" => {
            ensure_package(root)?;
            return run_one_section("worker-cpu", || {
                worker_cpu::measure(root).map(|report| render_to_string(|s| report.render(s)))
            });
        }
        _ => {
            return Err(
                "xtask: `bench` takes no arguments, or `replay`, `worker` or `worker-cpu`"
                    .to_owned(),
            )
        }
    }
    let start = Instant::now();
    let load_start = loadavg();
    let date = probe(root, "date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();

    ensure_package(root)?;

    let mut openssl_runs: Vec<[f64; 4]> = Vec::new();
    println!("==> bench: openssl speed (1 of 3)");
    openssl_runs.push(openssl_speed(root)?);

    println!("==> bench: cargo bench (benches/)");
    run(
        &root.join("benches"),
        cargo(),
        &["bench", "--bench", "rs256", "--bench", "algorithms"],
        &[],
    )
    .map_err(|err| format!("xtask bench: `cargo bench` in benches/ failed ({err})"))?;
    let native = read_criterion(root)?;
    let algorithms = read_criterion_algorithms(root)?;

    println!("==> bench: openssl speed (2 of 3)");
    openssl_runs.push(openssl_speed(root)?);

    println!("==> bench: node bindings/wasm/js/bench/rs256.mjs {NODE_SECONDS}");
    let mut node = run_node(root, "bench/rs256.mjs")?;
    println!("==> bench: node bindings/wasm/js/bench/algorithms.mjs {NODE_SECONDS}");
    node.extend(run_node(root, "bench/algorithms.mjs")?);

    println!("==> bench: openssl speed (3 of 3)");
    openssl_runs.push(openssl_speed(root)?);

    println!("==> bench: heap allocations (tests/allocations.rs)");
    let allocations = count_allocations(root)?;

    let replay = replay::measure(root)?;
    let worker = worker::measure(root)?;
    let worker_cpu = worker_cpu::measure(root)?;
    println!("==> bench: the embedded firmware under QEMU (cargo xtask embedded)");
    let embedded = embedded::bench_section(root)?;

    let load_end = loadavg();
    let report = Report {
        date,
        load_start,
        load_end,
        openssl_runs,
        native,
        algorithms,
        node,
        allocations,
        replay,
        worker,
        worker_cpu,
        embedded,
        wall_seconds: start.elapsed().as_secs_f64(),
    };
    let text = report.render(root);
    fs::write(root.join("BENCHMARKS.md"), &text)
        .map_err(|err| format!("xtask bench: cannot write BENCHMARKS.md: {err}"))?;
    println!("{text}");
    println!(
        "xtask bench: wrote BENCHMARKS.md ({:.0} s)",
        report.wall_seconds
    );
    Ok(())
}

/// Builds the npm package when it (or the pinned jose) is missing.
fn ensure_package(root: &Path) -> Result<(), String> {
    let wasm_file = root.join("bindings/wasm/pkg/nodejs/rfc7523_bg.wasm");
    let jose = root.join("bindings/wasm/js/node_modules/jose/package.json");
    if wasm_file.is_file() && jose.is_file() {
        let age = fs::metadata(&wasm_file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .map_or_else(
                || "unknown age".to_owned(),
                |d| format!("built {} min ago", d.as_secs() / 60),
            );
        println!(
            "==> bench: using the existing npm package in bindings/wasm/pkg ({age}; `cargo xtask wasm` rebuilds it)"
        );
        return Ok(());
    }
    println!("==> bench: building the npm package (cargo xtask wasm)");
    wasm::setup(root)?;
    wasm::build(root)
}

/// The lines of `tests/allocations.rs` that count the allocations of the verify path, as
/// (what, count): `UnverifiedAssertion::verify (RS256, 2048 bits): 0 allocations`, ….
fn count_allocations(root: &Path) -> Result<Vec<(String, u64)>, String> {
    let output = Command::new(cargo())
        .args([
            "test",
            "-p",
            "rfc7523-conformance",
            "--test",
            "allocations",
            "--",
            "--nocapture",
            "--test-threads=1",
        ])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("xtask bench: cannot run cargo test: {err}"))?;
    if !output.status.success() {
        return Err("xtask bench: tests/allocations.rs failed".to_owned());
    }
    let counts: Vec<(String, u64)> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            // The harness's `test name ... ` may precede the first count on its line.
            let line = line.rsplit_once(" ... ").map_or(line, |(_, after)| after);
            let (what, rest) = line.rsplit_once(": ")?;
            let count = rest.strip_suffix(" allocations")?.parse().ok()?;
            Some((what.to_owned(), count))
        })
        .collect();
    if counts.is_empty() {
        return Err("xtask bench: tests/allocations.rs printed no counts".to_owned());
    }
    Ok(counts)
}

/// `cargo xtask bench NAME`: one section measured and printed with the load average at its
/// start and end; BENCHMARKS.md is written only by the whole `cargo xtask bench`.
fn run_one_section(
    name: &str,
    measure: impl FnOnce() -> Result<String, String>,
) -> Result<(), String> {
    let load_start = loadavg();
    let section = measure()?;
    println!("\n{section}");
    println!(
        "xtask bench {name}: load average {load_start} at start, {} at end (BENCHMARKS.md not \
         written: `cargo xtask bench` writes it)",
        loadavg()
    );
    Ok(())
}

/// What `render` writes, as a string.
fn render_to_string(render: impl FnOnce(&mut String)) -> String {
    let mut s = String::new();
    render(&mut s);
    s
}

/// `/proc/loadavg`'s first three fields.
fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Verify/s of each of [`OPENSSL`] from one `openssl speed` run.
fn openssl_speed(root: &Path) -> Result<[f64; 4], String> {
    let output = Command::new("openssl")
        .args(["speed", "-seconds", OPENSSL_SECONDS])
        .args(OPENSSL.map(|(arg, _, _)| arg))
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|err| format!("xtask bench: cannot run `openssl speed`: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "xtask bench: `openssl speed` failed ({})",
            output.status
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut rates = [0.0; 4];
    for (rate, (arg, prefix, _)) in rates.iter_mut().zip(OPENSSL) {
        *rate = openssl_verify_rate(&text, prefix).ok_or_else(|| {
            format!("xtask bench: no `{prefix}` verify/s column in `openssl speed` output")
        })?;
        println!("    openssl {arg} verify/s: {rate:.0}");
    }
    Ok(rates)
}

/// The verify/s column (the last) of the `openssl speed` result line starting with `prefix`
/// (the EC lines are indented).
fn openssl_verify_rate(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.trim_start().starts_with(prefix))
        .and_then(|line| line.split_whitespace().last())
        .and_then(|value| value.parse().ok())
}

/// Median ns/op per (bits, benchmark), from criterion's `estimates.json` files.
fn read_criterion(root: &Path) -> Result<Vec<(u32, &'static str, f64)>, String> {
    let mut results = Vec::new();
    for bits in BITS {
        for (name, _) in NATIVE {
            let path = root.join(format!(
                "benches/target/criterion/rs256_{bits}/{name}/new/estimates.json"
            ));
            let text = fs::read_to_string(&path)
                .map_err(|err| format!("xtask bench: cannot read {}: {err}", path.display()))?;
            let ns = median_point_estimate(&text)
                .ok_or_else(|| format!("xtask bench: no median in {}", path.display()))?;
            results.push((bits, name, ns));
        }
    }
    Ok(results)
}

/// Median ns/op per (criterion group, benchmark) of `benches/benches/algorithms.rs`.
fn read_criterion_algorithms(root: &Path) -> Result<Vec<AlgorithmRow>, String> {
    let mut results = Vec::new();
    for (group, _, _, _) in ALGORITHMS {
        for (name, _) in ALGORITHM_ROWS {
            let path = root.join(format!(
                "benches/target/criterion/{group}/{name}/new/estimates.json"
            ));
            let text = fs::read_to_string(&path)
                .map_err(|err| format!("xtask bench: cannot read {}: {err}", path.display()))?;
            let ns = median_point_estimate(&text)
                .ok_or_else(|| format!("xtask bench: no median in {}", path.display()))?;
            results.push((group, name, ns));
        }
    }
    Ok(results)
}

/// (criterion group, benchmark, median ns/op) of `benches/benches/algorithms.rs`.
type AlgorithmRow = (&'static str, &'static str, f64);

/// `"median":{…,"point_estimate":X,…}` of criterion's estimates.json.
fn median_point_estimate(json: &str) -> Option<f64> {
    let rest = json.get(json.find("\"median\":")?..)?;
    let rest = rest.get(rest.find("\"point_estimate\":")? + "\"point_estimate\":".len()..)?;
    let end = rest.find([',', '}'])?;
    rest.get(..end)?.trim().parse().ok()
}

/// A Node script's `name<TAB>value` lines.
fn run_node(root: &Path, script: &str) -> Result<Vec<(String, String)>, String> {
    let dir = root.join("bindings/wasm/js");
    let output = Command::new("node")
        .args([script, NODE_SECONDS])
        // One thread for WebCrypto's RSA work (libuv's pool, 4 by default): single thread
        // like the rest, except that the JS work of the main thread overlaps it.
        .env("UV_THREADPOOL_SIZE", "1")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("xtask bench: cannot run node: {err}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    print!("{text}");
    if !output.status.success() {
        return Err(format!(
            "xtask bench: node {script} failed ({})",
            output.status
        ));
    }
    Ok(text
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// A number printed by the Node benchmark, NaN when missing.
fn node_value(node: &[(String, String)], key: &str) -> f64 {
    node.iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// A value printed by the Node benchmark as it was printed, `?` when missing.
fn node_text(node: &[(String, String)], key: &str) -> String {
    node.iter()
        .find(|(k, _)| k == key)
        .map_or_else(|| "?".to_owned(), |(_, v)| v.clone())
}

/// The Node part of issue 16: the default replay store of the package at three fill
/// levels, the cost of a verifier, and the two Node goals.
fn render_node_issue_16(node: &[(String, String)], s: &mut String) {
    let value = |key: &str| node_value(node, key);
    let text = |key: &str| node_text(node, key);
    let _ = writeln!(
        s,
        "Default replay store of the package (65,536 entries), RSA-2048, node:crypto RSA: \
         `verify` with distinct `jti`s, the store filled through `verify` to each level \
         (5 rounds of 500 tokens per store, stores alternating, median):\n"
    );
    let _ = writeln!(
        s,
        "| store | verify/s | µs/op | vs empty |\n|---|---:|---:|---:|"
    );
    let empty = value("replay/2048/fill_0");
    for level in [0, 50, 95] {
        let rate = value(&format!("replay/2048/fill_{level}"));
        let _ = writeln!(
            s,
            "| {level} % live | {} | {:.1} | {:.3} |",
            group(rate),
            1e6 / rate,
            rate / empty
        );
    }
    let _ = writeln!(
        s,
        "\nA verifier (`new AssertionVerifier({{ keys, clientId, audience }})`, then `free()`: \
         the key loaded, node:crypto's `KeyObject` imported and checked on a known value): \
         {} /s with the default store (3.5 MiB allocated), {} /s with `replay: \"external\"`.\n",
        group(value("construct/default_store")),
        group(value("construct/external")),
    );
    let ours = value("node/2048/rfc7523_verify");
    let await_ratio = ours / value("node/2048/jose_await");
    let in_flight_ratio = ours / value("node/2048/jose_64");
    let mark = |ok: bool| if ok { "✓" } else { "✗" };
    let _ = writeln!(s, "### Goals (issue 16, Node), RSA-2048\n");
    let _ = writeln!(s, "| goal | measured | |\n|---|---:|:---:|");
    let _ = writeln!(
        s,
        "| the package ≥ 2× jose `jwtVerify`, await each | {await_ratio:.3}× | {} |",
        mark(await_ratio >= 2.0)
    );
    let _ = writeln!(
        s,
        "| the package ≥ 1.5× jose `jwtVerify`, 64 in flight | {in_flight_ratio:.3}× | {} |",
        mark(in_flight_ratio >= 1.5)
    );
    let rsavp1 = value("node/2048/node_rsavp1");
    let _ = writeln!(
        s,
        "\nThe package's `verify` is synchronous: all of it runs on the calling thread, \
         node:crypto's RSAVP1 included ({:.1} µs of its {:.1} µs here, measured alone). \
         jose with 64 in flight runs its RSA on a libuv thread beside the main thread, so \
         it uses more than one core ({} CPU µs per verification for {:.1} µs of wall time). \
         1.5× jose there leaves the package {:.1} µs per verification on one thread.\n",
        1e6 / rsavp1,
        1e6 / ours,
        text("node/2048/jose_64_cpu_us"),
        1e6 / value("node/2048/jose_64"),
        1e6 / (1.5 * value("node/2048/jose_64")),
    );
}

/// The "Algorithms (native)" section (issue 13): per algorithm, rfc7523's full validation and
/// signature step beside ring's and aws-lc-rs's raw verify, against `openssl speed`; then the
/// goal of each algorithm, RS256 included. `openssl`: the median verify/s of each of
/// [`OPENSSL`]; `rs256`: ops/s of RS256 (RSA-2048) `rfc7523_validate` and `aws_lc_rs`.
fn render_algorithms(openssl: &[f64; 4], rows: &[AlgorithmRow], rs256: [f64; 2], s: &mut String) {
    let rate = |group: &str, name: &str| {
        rows.iter()
            .find(|(g, n, _)| *g == group && *n == name)
            .map_or(f64::NAN, |(_, _, ns)| 1e9 / ns)
    };
    let _ = writeln!(s, "## Algorithms (native)\n");
    let _ = writeln!(
        s,
        "[`benches/benches/algorithms.rs`](benches/benches/algorithms.rs), same criterion \
         settings: for each algorithm one client assertion, signed at start-up by rfc7523's \
         `AssertionSigner` (`with_algorithm`), PS256 with the RSA-2048 key above, ES256 with the \
         P-256 key of RFC 7515 Appendix A.3, EdDSA with the Ed25519 key of RFC 8037 Appendix \
         A.1. rfc7523 validates it in full (the party allows that one algorithm); ring and \
         aws-lc-rs verify its signature raw (signing input and decoded signature, no JWT work). \
         OpenSSL: the median verify/s of the three `openssl speed` runs above, over its own short \
         fixed input. For PS256 that is `rsa2048`: this OpenSSL's `openssl speed` has no PSS \
         option and times PKCS #1 v1.5; PSS verification is the same RSA public operation plus \
         MGF1 and a few SHA-256 blocks, so the figure stands for PS256, a little in OpenSSL's \
         favour. Each ratio is against OpenSSL or aws-lc-rs measured in this run.\n"
    );
    let mut goals = vec![(
        "RS256 (RSA-2048, tables above)",
        rs256[0],
        rs256[1],
        openssl[OPENSSL_RSA2048],
    )];
    for &(group_name, title, base_index, verify_what) in &ALGORITHMS {
        let base = openssl[base_index];
        let aws = rate(group_name, "aws_lc_rs");
        let (speed_arg, _, _) = OPENSSL[base_index];
        let _ = writeln!(s, "### {title}\n");
        let _ = writeln!(
            s,
            "| implementation | ops/s | µs/op | vs OpenSSL | vs aws-lc-rs |\n|---|---:|---:|---:|---:|"
        );
        let _ = writeln!(
            s,
            "| OpenSSL `openssl speed {speed_arg}`, raw verify | {} | {:.1} | 1.00 | {:.3} |",
            group(base),
            1e6 / base,
            base / aws
        );
        for (name, what) in ALGORITHM_ROWS {
            let what = if name == "rfc7523_verify" {
                verify_what
            } else {
                what
            };
            let ops = rate(group_name, name);
            let _ = writeln!(
                s,
                "| {what} | {} | {:.1} | {:.3} | {:.3} |",
                group(ops),
                1e6 / ops,
                ops / base,
                ops / aws
            );
        }
        let _ = writeln!(s);
        goals.push((title, rate(group_name, "rfc7523_validate"), aws, base));
    }
    let mark = |ok: bool| if ok { "✓" } else { "✗" };
    let _ = writeln!(s, "### Goals (issue 13, native)\n");
    let _ = writeln!(
        s,
        "| full validation ≥ 0.5× OpenSSL raw verify | µs/op | vs OpenSSL | vs aws-lc-rs | |\n\
         |---|---:|---:|---:|:---:|"
    );
    for (alg, validate, aws, base) in &goals {
        let ratio = validate / base;
        let _ = writeln!(
            s,
            "| {alg} | {:.1} | {ratio:.3}× | {:.3}× | {} |",
            1e6 / validate,
            validate / aws,
            mark(ratio >= 0.5)
        );
    }
    let _ = writeln!(s);
    let es256_validate = rate("alg_es256", "rfc7523_validate");
    let es256_verify = rate("alg_es256", "rfc7523_verify");
    if es256_validate / openssl[OPENSSL_P256] < 0.5 {
        let _ = writeln!(
            s,
            "What stands in the way for ES256: the signature step alone takes {:.1} µs of the \
             {:.1} µs of a validation, {:.1}× the {:.1} µs of aws-lc-rs. RustCrypto `p256` 0.13 \
             (portable Rust) computes ECDSA's u₁·G + u₂·Q as two separate constant-time scalar \
             multiplications (`elliptic-curve` 0.13's default `LinearCombination::lincomb`, which \
             `primeorder` 0.13 does not override) with no precomputed table for the generator \
             (`primeorder`'s `mul_by_generator`: \"TODO: precomputed basepoint tables\"), where \
             OpenSSL and aws-lc-rs run P-256 assembly with a precomputed generator table. \
             `p256` 0.14 does not close the gap (measured for issue 13): its verification is \
             one variable-time wNAF linear combination, but its field arithmetic makes a point \
             doubling or addition about 1.8× slower than 0.13's, and `verify_prehash` about \
             1.3× slower overall; its `precomputed-tables` feature serves multiplications by \
             the generator alone (signing, not verification). Even 0.14's linear combination on \
             0.13's field arithmetic would take about 3× OpenSSL's time (an estimate from \
             those two measurements).\n",
            1e6 / es256_verify,
            1e6 / es256_validate,
            rate("alg_es256", "aws_lc_rs") / es256_verify,
            1e6 / rate("alg_es256", "aws_lc_rs"),
        );
    }
}

/// Per algorithm (issue 13): the package against jose `jwtVerify`, awaited one at a time and
/// 64 in flight (`bench/algorithms.mjs`), with its goal of at least 1.0× each.
fn render_node_algorithms(node: &[(String, String)], s: &mut String) {
    let value = |key: &str| node_value(node, key);
    let _ = writeln!(
        s,
        "### Per algorithm (issue 13, Node)\n\n\
         One jose-signed client assertion per algorithm (RSA-2048, P-256, Ed25519), checked by \
         the package's `nodejs` build and by jose `jwtVerify` with the same checks, with one \
         libuv thread beside the main thread (`UV_THREADPOOL_SIZE=1`). The package: `verify` \
         (synchronous: RS256 and PS256 by node:crypto's RSAVP1, ES256 and EdDSA by its \
         `verify`), `verifyAsync` awaited one at a time and with 64 in flight (the signature by \
         node:crypto's asynchronous `verify` on the threadpool, or by the main thread while \
         more wait), and all in wasm (`rsa` and `ec` `\"wasm\"`); a replay hook that accepts \
         every key. Goal: the package ≥ 1.0× jose, one at a time (the better of `verify` and \
         `verifyAsync` awaited, against jose awaited) and with 64 in flight (the better of \
         `verify` and `verifyAsync` with 64 in flight, against jose with 64 in flight).\n"
    );
    let _ = writeln!(
        s,
        "| alg | `verify` /s | µs/op | `verifyAsync` await /s | `verifyAsync` 64 in flight /s | all in wasm /s | jose await /s | jose 64 in flight /s | one at a time vs jose | 64 in flight vs jose | |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"
    );
    let rate = |v: f64| {
        if v.is_nan() {
            "–".to_owned()
        } else {
            group(v)
        }
    };
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        let ours = value(&format!("{alg}/rfc7523"));
        let ours_await = value(&format!("{alg}/rfc7523_async"));
        let ours_64 = value(&format!("{alg}/rfc7523_async_64"));
        let wasm = value(&format!("{alg}/rfc7523_wasm"));
        let jose_await = value(&format!("{alg}/jose_await"));
        let jose_64 = value(&format!("{alg}/jose_64"));
        // The better of the two methods (a missing figure counts for nothing).
        let best = |a: f64, b: f64| if b.is_nan() { a } else { a.max(b) };
        let a = best(ours, ours_await) / jose_await;
        let b = best(ours, ours_64) / jose_64;
        let _ = writeln!(
            s,
            "| {alg} | {} | {:.1} | {} | {} | {} | {} | {} | {a:.3}× | {b:.3}× | {} |",
            group(ours),
            1e6 / ours,
            rate(ours_await),
            rate(ours_64),
            rate(wasm),
            group(jose_await),
            group(jose_64),
            if a >= 1.0 && b >= 1.0 { "✓" } else { "✗" },
        );
    }
    let _ = writeln!(s);
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

struct Report {
    date: String,
    load_start: String,
    load_end: String,
    openssl_runs: Vec<[f64; 4]>,
    native: Vec<(u32, &'static str, f64)>,
    algorithms: Vec<AlgorithmRow>,
    node: Vec<(String, String)>,
    allocations: Vec<(String, u64)>,
    replay: replay::ReplayReport,
    worker: worker::WorkerReport,
    worker_cpu: worker_cpu::WorkerCpuReport,
    /// The embedded section, rendered by [`embedded::bench_section`].
    embedded: String,
    wall_seconds: f64,
}

impl Report {
    fn openssl(&self, index: usize) -> f64 {
        let runs: Vec<f64> = self
            .openssl_runs
            .iter()
            .filter_map(|r| r.get(index).copied())
            .collect();
        median(&runs)
    }

    /// ops/s of a native benchmark.
    fn native_rate(&self, bits: u32, name: &str) -> f64 {
        self.native
            .iter()
            .find(|(b, n, _)| *b == bits && *n == name)
            .map_or(f64::NAN, |(_, _, ns)| 1e9 / ns)
    }

    fn node_value(&self, key: &str) -> f64 {
        node_value(&self.node, key)
    }

    fn node_text(&self, key: &str) -> String {
        node_text(&self.node, key)
    }

    fn render(&self, root: &Path) -> String {
        let mut s = String::new();
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let rustc = probe(root, "rustc", &["--version"]).unwrap_or_default();
        let openssl = probe(root, "openssl", &["version"]).unwrap_or_default();
        let node = self.node_text("versions/node");
        let jose = self.node_text("versions/jose");

        let _ = writeln!(s, "# Benchmarks\n");
        let _ = writeln!(
            s,
            "Written by `cargo xtask bench` ({}); do not edit by hand. Sources: \
             [`benches/`](benches/benches/rs256.rs) (criterion, its own workspace) and \
             [`bindings/wasm/js/bench/rs256.mjs`](bindings/wasm/js/bench/rs256.mjs). Every \
             implementation checks the same RS256 client assertion (signed at start-up by \
             rfc7523's signer, one hour of lifetime) under the same Wycheproof key \
             (`rsa_pkcs1_{{2048,4096}}_sig_gen`, SHA-256, e = 65537); PS256, ES256 and EdDSA \
             have their own section ([`algorithms.rs`](benches/benches/algorithms.rs)). Single thread. \
             The machine is shared: compare the ratios (measured in the same run), not the \
             absolute numbers.\n",
            self.date
        );
        let _ = writeln!(s, "## Machine\n");
        let _ = writeln!(s, "| | |\n|---|---|");
        let _ = writeln!(s, "| CPU | {cpu} ({cores} cores) |");
        let _ = writeln!(s, "| rustc | {rustc} |");
        let _ = writeln!(s, "| Node | {node} (jose {jose}) |");
        let _ = writeln!(s, "| OpenSSL | {openssl} |");
        let _ = writeln!(
            s,
            "| load average (1, 5, 15 min) | {} at start, {} at end |",
            self.load_start, self.load_end
        );
        let _ = writeln!(
            s,
            "| wall time of `cargo xtask bench` | {:.0} s (build of benches/ included when needed) |\n",
            self.wall_seconds
        );
        let busy = [&self.load_start, &self.load_end].iter().any(|load| {
            load.split_whitespace()
                .next()
                .and_then(|one| one.parse::<f64>().ok())
                .is_some_and(|one| one >= cores as f64)
        });
        if busy {
            let _ = writeln!(
                s,
                "**The machine was busy** (a 1-minute load average at or above its {cores} cores): \
                 every measurement shared its core with other work, and the same ratio can move by \
                 tens of percent from one run to the next. Rerun on a quiet machine before drawing \
                 fine conclusions; the orders of magnitude hold.\n"
            );
        }

        let _ = writeln!(s, "## OpenSSL baseline\n");
        let _ = writeln!(
            s,
            "`openssl speed -seconds {OPENSSL_SECONDS} {}`, verify/s column, three runs \
             spread over the whole benchmark (before criterion, between criterion and Node, after \
             Node); the median is the denominator of every \"vs OpenSSL\" ratio.\n",
            OPENSSL.map(|(arg, _, _)| arg).join(" ")
        );
        let _ = writeln!(
            s,
            "| key | run 1 | run 2 | run 3 | median |\n|---|---:|---:|---:|---:|"
        );
        for (i, (_, _, key)) in OPENSSL.iter().enumerate() {
            let runs: Vec<String> = self
                .openssl_runs
                .iter()
                .map(|r| group(r.get(i).copied().unwrap_or(f64::NAN)))
                .collect();
            let _ = writeln!(
                s,
                "| {key} | {} | {} |",
                runs.join(" | "),
                group(self.openssl(i))
            );
        }
        let _ = writeln!(s);

        let _ = writeln!(s, "## Native (criterion)\n");
        let _ = writeln!(
            s,
            "Median time per operation from criterion (20 samples, 3 s each after 3 s of warm-up). \
             `rfc7523_validate` hands the replay key to a store that accepts everything (the same \
             `jti` comes back on every iteration): the SHA-256 replay digest is included, a \
             `MemoryReplayStore` scan is not.\n"
        );
        for (i, bits) in BITS.iter().enumerate() {
            let base = self.openssl(i);
            let _ = writeln!(s, "### RSA-{bits}\n");
            let _ = writeln!(
                s,
                "| implementation | ops/s | µs/op | vs OpenSSL |\n|---|---:|---:|---:|"
            );
            let _ = writeln!(
                s,
                "| OpenSSL `openssl speed`, raw verify | {} | {:.1} | 1.00 |",
                group(base),
                1e6 / base
            );
            for (name, what) in NATIVE {
                let rate = self.native_rate(*bits, name);
                let _ = writeln!(
                    s,
                    "| {what} | {} | {:.1} | {:.3} |",
                    group(rate),
                    1e6 / rate,
                    rate / base
                );
            }
            let _ = writeln!(s);
        }

        let openssl: [f64; 4] = std::array::from_fn(|i| self.openssl(i));
        let rs256 = [
            self.native_rate(2048, "rfc7523_validate"),
            self.native_rate(2048, "aws_lc_rs"),
        ];
        render_algorithms(&openssl, &self.algorithms, rs256, &mut s);

        let _ = writeln!(s, "## Node (WebAssembly)\n");
        let _ = writeln!(
            s,
            "`node bench/rs256.mjs {NODE_SECONDS}`: each row is the median of three {NODE_SECONDS}-second \
             measurements after a warm-up. The package is its `nodejs` build; its replay hook \
             accepts every key. jose checks iss, sub, aud, exp and jti presence with a `CryptoKey` \
             imported once. `UV_THREADPOOL_SIZE=1`: WebCrypto (jose's and the raw one) runs its RSA \
             work on one libuv thread, beside the main thread, so with 64 in flight the JS work of \
             the main thread overlaps the RSA work of the other. CPU µs/op: the process's CPU \
             time (every thread) per operation, median of the same three runs.\n"
        );
        for (i, bits) in BITS.iter().enumerate() {
            let base = self.openssl(i);
            let jose_rate = self.node_value(&format!("node/{bits}/jose_await"));
            let _ = writeln!(
                s,
                "### RSA-{bits} (token of {} bytes)\n",
                self.node_text(&format!("node/{bits}/token_bytes"))
            );
            let jose_64 = self.node_value(&format!("node/{bits}/jose_64"));
            let _ = writeln!(
                s,
                "| implementation | ops/s | µs/op | CPU µs/op | vs jose (await each) | vs jose (64 in flight) | vs OpenSSL |\n\
                 |---|---:|---:|---:|---:|---:|---:|"
            );
            for (name, what) in NODE {
                let rate = self.node_value(&format!("node/{bits}/{name}"));
                let _ = writeln!(
                    s,
                    "| {what} | {} | {:.1} | {} | {:.3} | {:.3} | {:.3} |",
                    group(rate),
                    1e6 / rate,
                    self.node_text(&format!("node/{bits}/{name}_cpu_us")),
                    rate / jose_rate,
                    rate / jose_64,
                    rate / base
                );
            }
            let _ = writeln!(s);
        }
        render_node_issue_16(&self.node, &mut s);
        render_node_algorithms(&self.node, &mut s);

        let _ = writeln!(s, "## Package size, load time, memory\n");
        let _ = writeln!(
            s,
            "Sizes of the built package (`bindings/wasm/pkg/`, as `cargo xtask wasm` left it), gzip -9. \
             `workers` is the main module's own Workers build (the `web` glue, with node:crypto's \
             RSA) plus its entry file.\n"
        );
        let _ = writeln!(
            s,
            "| target | `.wasm` raw | `.wasm` gzip | JS raw | JS gzip |\n|---|---:|---:|---:|---:|"
        );
        for target in ["web", "workers", "nodejs", "bundler"] {
            let kib = |key: &str| self.node_value(&format!("size/{target}/{key}")) / 1024.0;
            let _ = writeln!(
                s,
                "| `{target}` | {:.1} KiB | {:.1} KiB | {:.1} KiB | {:.1} KiB |",
                kib("wasm_raw"),
                kib("wasm_gzip"),
                kib("js_raw"),
                kib("js_gzip")
            );
        }
        let mib = |key: &str| self.node_value(key) / (1024.0 * 1024.0);
        let _ = writeln!(
            s,
            "\nCold load in 7 fresh Node processes: instantiation of the `.wasm` (the glue's \
             `new WebAssembly.Module` and `new WebAssembly.Instance`, timed inside the require) \
             median {} ms (min {}, max {}); the whole `require` of the `nodejs` entry (also \
             Node's loading of the glue and its snippets, and reading the file) median {} ms \
             (min {}, max {}).\n",
            self.node_text("instantiate/wasm_median_ms"),
            self.node_text("instantiate/wasm_min_ms"),
            self.node_text("instantiate/wasm_max_ms"),
            self.node_text("instantiate/median_ms"),
            self.node_text("instantiate/min_ms"),
            self.node_text("instantiate/max_ms")
        );
        let _ = writeln!(
            s,
            "Memory of the Node benchmark process (package, jose, both key sizes): RSS {:.1} MiB \
             before loading anything, {:.1} MiB after, peak (maxRSS) {:.1} MiB; JS heap used \
             {:.1} → {:.1} MiB.\n",
            mib("memory/rss_before_bytes"),
            mib("memory/rss_after_bytes"),
            mib("memory/max_rss_bytes"),
            mib("memory/heap_used_before_bytes"),
            mib("memory/heap_used_after_bytes"),
        );

        let _ = writeln!(s, "## Heap allocations (native, counted)\n");
        let _ = writeln!(
            s,
            "`tests/allocations.rs` (a counting global allocator, this thread only), run by \
             `cargo xtask bench` with `--nocapture`:\n\n| operation | allocations |\n|---|---:|"
        );
        for (what, count) in &self.allocations {
            let _ = writeln!(s, "| `{what}` | {count} |");
        }
        let _ = writeln!(s);
        let verify_allocations = self
            .allocations
            .iter()
            .filter(|(what, _)| what.contains("verify") || what.contains("validate"))
            .map(|(_, count)| *count)
            .max();

        self.replay.render(&mut s);
        self.worker.render(&mut s);
        self.worker_cpu.render(&mut s);
        s.push_str(&self.embedded);

        // Goals of issue 6.
        let native_ratio = self.native_rate(2048, "rfc7523_validate") / self.openssl(0);
        let npm_ratio =
            self.node_value("node/2048/rfc7523_verify") / self.node_value("node/2048/jose_await");
        let wasm_ratio = self.node_value("node/2048/rfc7523_verify_wasm")
            / self.node_value("node/2048/jose_await");
        let web_gzip_kib = self.node_value("size/web/wasm_gzip") / 1024.0;
        let load_ms = self.node_value("instantiate/wasm_median_ms");
        let require_ms = self.node_value("instantiate/median_ms");
        let mark = |ok: bool| if ok { "✓" } else { "✗" };
        let _ = writeln!(s, "## Goals (issue 6), RSA-2048\n");
        let _ = writeln!(s, "| goal | measured | |\n|---|---:|:---:|");
        let _ = writeln!(
            s,
            "| native full validation ≥ 0.5× OpenSSL raw verify | {native_ratio:.3}× | {} |",
            mark(native_ratio >= 0.5)
        );
        let _ = writeln!(
            s,
            "| npm package full validation ≥ 1.0× jose `jwtVerify` (await each), in Node as installed (RSA by node:crypto) | {npm_ratio:.3}× | {} |",
            mark(npm_ratio >= 1.0)
        );
        let _ = writeln!(
            s,
            "| the same with the package's wasm RSA (`rsa: \"wasm\"`, the arithmetic of browsers and Workers) | {wasm_ratio:.3}× | {} |",
            mark(wasm_ratio >= 1.0)
        );
        let _ = writeln!(
            s,
            "| zero heap allocations on the verify path, RSA included | {} | {} |",
            verify_allocations.map_or_else(|| "?".to_owned(), |n| n.to_string()),
            mark(verify_allocations == Some(0))
        );
        let _ = writeln!(
            s,
            "| `.wasm` ≤ 64 KiB gzip (web target) | {web_gzip_kib:.1} KiB | {} |",
            mark(web_gzip_kib <= 64.0)
        );
        let _ = writeln!(
            s,
            "| instantiate < 5 ms in Node (compile + instantiate of the `.wasm`, median) | {load_ms:.2} ms | {} |",
            mark(load_ms < 5.0)
        );
        let _ = writeln!(
            s,
            "| (the whole cold `require` of the package, for reference) | {require_ms:.2} ms | |\n"
        );

        let validate = self.native_rate(2048, "rfc7523_validate");
        let rs256 = self.native_rate(2048, "rfc7523_rs256");
        let rsa = self.native_rate(2048, "rsa_0.9");
        let openssl = self.openssl(0);
        let ours_node = self.node_value("node/2048/rfc7523_verify");
        let ours_wasm = self.node_value("node/2048/rfc7523_verify_wasm");
        let jose_node = self.node_value("node/2048/jose_await");
        let webcrypto_node = self.node_value("node/2048/webcrypto_await");
        let _ = writeln!(s, "## What stands in the way\n");
        let _ = writeln!(
            s,
            "Natively, RSA is our own fixed-width Montgomery arithmetic (`crates/rfc7523-rsavp1`, \
             18 modular multiplications for e = 65537): the RS256 step runs at {} /s against the \
             `rsa` crate's {} /s ({:.1}×) and OpenSSL's {} /s, and full validation at {} /s: \
             the JWT work around RSA (parsing, SHA-256, claims, the replay key) is about {:.0} % \
             of a validation. What is left \
             to OpenSSL is code generation: \
             portable Rust has one carry flag, so the arithmetic uses 57-bit digits whose column \
             sums fit a `u128` (a multiply and an add a digit product, but 1.27× the products of \
             64-bit limbs), where OpenSSL's assembly uses `mulx`/`adcx`/`adox`: full 64-bit limbs \
             with two carry chains. `cargo run --profile bench --example rsa_share` in `benches/` \
             gives the same split round-robin, steadier on a loaded machine.\n",
            group(rs256),
            group(rsa),
            rs256 / rsa,
            group(openssl),
            group(validate),
            100.0 * (1.0 - validate / rs256).max(0.0),
        );
        let _ = writeln!(
            s,
            "In Node the package hands the modular exponentiation (RSAVP1) to node:crypto, \
             OpenSSL's assembly, as jose does through WebCrypto; parsing, the length and range \
             checks, the PKCS #1 encoding comparison, claims and replay stay in the wasm core. \
             It verifies {} /s against jose's {} /s ({:.2}×): both pay for the same native RSA, \
             and the package's synchronous call costs less than a WebCrypto promise ({} /s for \
             `subtle.verify` alone, await each).\n",
            group(ours_node),
            group(jose_node),
            ours_node / jose_node,
            group(webcrypto_node),
        );
        let _ = writeln!(
            s,
            "All in wasm (`rsa: \"wasm\"`, what browsers and Workers run) the package verifies \
             {} /s ({:.2}× jose): 27-bit digits (wasm has no 64 × 64 → 128 multiply), about \
             160,000 digit products per 2048-bit verification, each a load pair, a multiply and \
             an add, three quarters of the time. Matching jose there needs about {:.1}× more \
             from the wasm arithmetic or from the JWT work around it; wasm SIMD does not offer \
             it on x86 (V8 lowers `i64x2.extmul` to two shuffles and a `pmuludq` per two \
             products, and LLVM turned a first attempt into `i64x2.mul`, which was slower).\n",
            group(ours_wasm),
            ours_wasm / jose_node,
            jose_node / ours_wasm,
        );
        let _ = writeln!(
            s,
            "Cold load: V8 compiles the whole `.wasm` eagerly on `new WebAssembly.Module` (its \
             baseline compiler: time in proportion to the code, {:.0} KiB for the `nodejs` build), \
             and the first instantiation in a process builds the import wrappers; a second \
             instantiation takes about a tenth. Node's loading of the glue and its snippets \
             comes on top in the whole `require`. These are V8's and Node's fixed costs, and on \
             this shared machine they vary by about 2× between processes (instantiation min \
             {} ms, max {} ms in this run).\n",
            self.node_value("size/nodejs/wasm_raw") / 1024.0,
            self.node_text("instantiate/wasm_min_ms"),
            self.node_text("instantiate/wasm_max_ms"),
        );
        let _ = writeln!(
            s,
            "Builds: every implementation above built here from crates.io (aws-lc-rs 1.19.0 \
             compiles its C code with the system `cc`, no cmake needed)."
        );
        s
    }
}

/// `12345.6` → `12,346`.
fn group(value: f64) -> String {
    if !value.is_finite() {
        return "?".to_owned();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_algorithm_rows_are_a_markdown_table() {
        let node: Vec<(String, String)> = ["RS256", "PS256", "ES256", "EdDSA"]
            .iter()
            .flat_map(|alg| {
                [
                    ("rfc7523", "20000"),
                    ("rfc7523_async", "9000"),
                    ("rfc7523_async_64", "30000"),
                    ("jose_await", "10000"),
                    ("jose_64", "25000"),
                ]
                .map(|(what, v)| (format!("{alg}/{what}"), v.to_owned()))
            })
            // One run without the asynchronous figures.
            .filter(|(key, _)| !key.starts_with("EdDSA/rfc7523_async"))
            .chain([("RS256/rfc7523_wasm".to_owned(), "10000".to_owned())])
            .collect();
        let mut s = String::new();
        render_node_algorithms(&node, &mut s);
        // Markdown reads an indented line as code: every line starts at column 0.
        assert!(s.lines().all(|l| !l.starts_with(' ')), "{s}");
        assert!(s.contains("\n|---|---:|"), "{s}");
        // Header and separator have as many columns as the rows.
        let columns = |line: &str| line.matches('|').count();
        let table: Vec<&str> = s.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(table.len(), 6, "{s}");
        assert!(table.iter().all(|l| columns(l) == columns(table[0])), "{s}");
        // One at a time: the better of verify (20,000) and verifyAsync awaited (9,000) against
        // jose awaited; 64 in flight: the better of verify and verifyAsync 64 (30,000).
        assert!(
            s.contains(
                "| ES256 | 20,000 | 50.0 | 9,000 | 30,000 | – | 10,000 | 25,000 | 2.000× | 1.200× | ✓ |"
            ),
            "{s}"
        );
        assert!(
            s.contains(
                "| RS256 | 20,000 | 50.0 | 9,000 | 30,000 | 10,000 | 10,000 | 25,000 | 2.000× | 1.200× | ✓ |"
            ),
            "{s}"
        );
        // Without the asynchronous figures, verify alone: 20,000 / 25,000.
        assert!(
            s.contains(
                "| EdDSA | 20,000 | 50.0 | – | – | – | 10,000 | 25,000 | 2.000× | 0.800× | ✗ |"
            ),
            "{s}"
        );
    }

    #[test]
    fn reads_the_criterion_median() {
        let json = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.5,"standard_error":0.1},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":80969.7,"upper_bound":83002.3},"point_estimate":81487.475,"standard_error":577.2}}"#;
        assert_eq!(median_point_estimate(json), Some(81487.475));
        assert_eq!(median_point_estimate("{}"), None);
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(61_354.4), "61,354");
        assert_eq!(group(925.0), "925");
        assert_eq!(group(1_000.0), "1,000");
        assert_eq!(group(f64::NAN), "?");
    }

    #[test]
    fn renders_the_node_goals_of_issue_16() {
        let node: Vec<(String, String)> = [
            ("node/2048/rfc7523_verify", "30000.0"),
            ("node/2048/jose_await", "10000.0"),
            ("node/2048/jose_64", "25000.0"),
            ("node/2048/jose_64_cpu_us", "45.00"),
            ("node/2048/node_rsavp1", "50000.0"),
            ("replay/2048/fill_0", "20000.0"),
            ("replay/2048/fill_50", "19000.0"),
            ("replay/2048/fill_95", "18000.0"),
            ("construct/default_store", "900.0"),
            ("construct/external", "4000.0"),
        ]
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut s = String::new();
        render_node_issue_16(&node, &mut s);
        assert!(s.contains("| 95 % live | 18,000 | 55.6 | 0.900 |"), "{s}");
        assert!(s.contains("900 /s with the default store"), "{s}");
        assert!(s.contains("await each | 3.000× | ✓ |"), "{s}");
        assert!(s.contains("64 in flight | 1.200× | ✗ |"), "{s}");
        assert!(s.contains("(20.0 µs of its 33.3 µs here"), "{s}");
        assert!(s.contains("leaves the package 26.7 µs"), "{s}");
    }

    #[test]
    fn reads_the_verify_column_of_openssl_speed() {
        let text = "\
                  sign    verify    sign/s verify/s
rsa 2048 bits 0.000581s 0.000017s   1722.2  58823.5
rsa 4096 bits 0.004000s 0.000060s    250.0  16666.7
                              sign    verify    sign/s verify/s
 256 bits ecdsa (nistp256)   0.0000s   0.0001s  41895.7  13630.4
                              sign    verify    sign/s verify/s
 253 bits EdDSA (Ed25519)   0.0000s   0.0001s  20197.0   7674.2
";
        let rates: Vec<Option<f64>> = OPENSSL
            .iter()
            .map(|(_, prefix, _)| openssl_verify_rate(text, prefix))
            .collect();
        assert_eq!(
            rates,
            [Some(58823.5), Some(16666.7), Some(13630.4), Some(7674.2)]
        );
        assert_eq!(openssl_verify_rate(text, "rsa 3072 bits "), None);
    }

    #[test]
    fn renders_the_algorithms_section_of_issue_13() {
        // ns/op: validate, verify, ring, aws-lc-rs per algorithm.
        let rows: Vec<AlgorithmRow> = [
            ("alg_ps256", [40_000.0, 38_000.0, 30_000.0, 25_000.0]),
            ("alg_es256", [400_000.0, 390_000.0, 80_000.0, 50_000.0]),
            ("alg_eddsa", [60_000.0, 58_000.0, 62_000.0, 50_000.0]),
        ]
        .iter()
        .flat_map(|&(group, ns)| {
            ALGORITHM_ROWS
                .iter()
                .zip(ns)
                .map(move |(&(name, _), ns)| (group, name, ns))
        })
        .collect();
        // OpenSSL verify/s: RSA-2048, RSA-4096, P-256, Ed25519.
        let openssl = [50_000.0, 15_000.0, 20_000.0, 10_000.0];
        let mut s = String::new();
        render_algorithms(&openssl, &rows, [30_000.0, 60_000.0], &mut s);
        assert!(s.starts_with("## Algorithms (native)\n"), "{s}");
        assert!(s.contains("### ES256 (P-256)\n"), "{s}");
        assert!(
            s.contains("| rfc7523 `P256VerifyingKey::verify_message` (SHA-256 + `p256` 0.13 ECDSA only) | 2,564 | 390.0 | 0.128 | 0.128 |"),
            "{s}"
        );
        // OpenSSL's own row: 1.00 and its ratio to aws-lc-rs (20,000 / 20,000 per s).
        assert!(
            s.contains(
                "| OpenSSL `openssl speed ecdsap256`, raw verify | 20,000 | 50.0 | 1.00 | 1.000 |"
            ),
            "{s}"
        );
        // PS256 against `rsa2048`: 25,000/s validate = 0.5× of 50,000, 0.625× of 40,000.
        assert!(
            s.contains(
                "| OpenSSL `openssl speed rsa2048`, raw verify | 50,000 | 20.0 | 1.00 | 1.250 |"
            ),
            "{s}"
        );
        assert!(
            s.contains("(parse, verify, claims, replay key) | 25,000 | 40.0 | 0.500 | 0.625 |"),
            "{s}"
        );
        assert!(s.contains("| ring 0.17.14 `UnparsedPublicKey::verify` (parses the key per call) | 16,129 | 62.0 | 1.613 | 0.806 |"), "{s}");
        // The goals, RS256 included.
        assert!(
            s.contains("| RS256 (RSA-2048, tables above) | 33.3 | 0.600× | 0.500× | ✓ |"),
            "{s}"
        );
        assert!(
            s.contains("| PS256 (RSA-2048) | 40.0 | 0.500× | 0.625× | ✓ |"),
            "{s}"
        );
        assert!(
            s.contains("| ES256 (P-256) | 400.0 | 0.125× | 0.125× | ✗ |"),
            "{s}"
        );
        assert!(
            s.contains("| EdDSA (Ed25519) | 60.0 | 1.667× | 0.833× | ✓ |"),
            "{s}"
        );
        // ES256 misses: the split of its time.
        assert!(
            s.contains("the signature step alone takes 390.0 µs of the 400.0 µs of a validation, 7.8× the 50.0 µs of aws-lc-rs"),
            "{s}"
        );
        assert!(s.contains("`p256` 0.14 does not close the gap"), "{s}");
    }

    #[test]
    fn renders_the_rows_per_algorithm() {
        let node: Vec<(String, String)> = [
            ("ES256/rfc7523", "12000"),
            ("ES256/jose_await", "10000"),
            ("ES256/jose_64", "15000"),
            ("PS256/rfc7523", "30000"),
            ("PS256/rfc7523_wasm", "9000"),
            ("PS256/jose_await", "10000"),
            ("PS256/jose_64", "20000"),
        ]
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut s = String::new();
        render_node_algorithms(&node, &mut s);
        assert!(
            s.contains(
                "| ES256 | 12,000 | 83.3 | – | – | – | 10,000 | 15,000 | 1.200× | 0.800× | ✗ |"
            ),
            "{s}"
        );
        assert!(
            s.contains(
                "| PS256 | 30,000 | 33.3 | – | – | 9,000 | 10,000 | 20,000 | 3.000× | 1.500× | ✓ |"
            ),
            "{s}"
        );
    }

    #[test]
    fn median_of_three() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    }
}
