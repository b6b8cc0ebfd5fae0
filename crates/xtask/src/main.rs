//! Project automation for the `rfc7523` workspace, run as `cargo xtask <subcommand>`.
//!
//! Std-only on purpose: it must build on a fresh machine before anything else is set up.
//!
//! * `cargo xtask setup` installs (idempotently) what the tests need: extra rustup targets,
//!   the rustfmt/clippy components, the `openssl`, `curl` and `jq` CLIs, and the rest (see [`setup`]; Python's
//!   google-auth in [`python`]).
//! * `cargo xtask test` runs `setup`, then every [`Step`] of [`test_steps`] in order and stops
//!   at the first failure.
//! * `cargo xtask demo [--port PORT] [--no-build]` builds the npm package and serves the demo
//!   page `www/` on 127.0.0.1 (see [`demo`]).
//! * `cargo xtask fuzz [SECONDS]` runs every cargo-fuzz target of `fuzz/` for SECONDS each
//!   (default [`DEFAULT_FUZZ_SECONDS`]), seeded from `tests/vectors/` (see [`fuzz`]).
//! * `cargo xtask embedded [--generate | --markdown]` builds the Cortex-M3 firmware and runs it
//!   under QEMU, rewrites its committed test data, or prints its `BENCHMARKS.md` section (see
//!   [`embedded`]).
//! * `cargo xtask bench` runs the benchmarks (`benches/`, the Node script, `openssl speed`) and
//!   writes `BENCHMARKS.md` (see [`mod@bench`]). Not part of `test`: timings are never assertions.
//!
//! To add a check (wasm, JS, browser, ...), append a [`Step`] to [`test_steps`] and, if it
//! needs a tool, a probe/install to [`setup`].

#![forbid(unsafe_code)]

mod bench;
mod demo;
mod embedded;
mod fuzz;
mod python;
mod wasm;

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Cross target on which the core crate must build without `std`.
const EMBEDDED_TARGET: &str = "thumbv7em-none-eabihf";

/// cargo-fuzz, pinned (installed with `cargo install --locked` when missing or different).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// cargo-deny, pinned: the newest release at the time, which builds with our stable Rust.
const CARGO_DENY_VERSION: &str = "0.20.2";

/// The arguments of the `test` step: every workspace test, every feature. The README flows
/// step runs the `rfc7523` command this builds.
const WORKSPACE_TEST: &[&str] = &["test", "--workspace", "--all-features"];

/// Seconds per target of `cargo xtask fuzz` without an argument.
const DEFAULT_FUZZ_SECONDS: u64 = 60;

/// Seconds per target of the fuzz smoke step of `cargo xtask test`.
const SMOKE_FUZZ_SECONDS: u64 = 30;

/// Overrides [`SMOKE_FUZZ_SECONDS`] outside CI (`0` skips the step locally). Ignored when
/// `CI=true`: CI always runs the full smoke.
const FUZZ_SECONDS_VAR: &str = "RFC7523_FUZZ_SECONDS";

const USAGE: &str = "\
usage: cargo xtask <subcommand>

subcommands:
  test     run `setup`, then fmt, clippy, the API docs (no warnings), the
           workspace tests, the no_std (thumbv7em-none-eabihf) build,
           `cargo deny check licenses bans sources`,
           the npm package (`cargo xtask wasm`, wasm-bindgen-test under Node,
           the node --test suite with jose, tsc and workerd), the demo page in
           headless Chromium and the Worker example in workerd (faults, hostile
           HTTP, real client libraries, the README's flows run as written, and
           20,000 requests under load), the embedded
           firmware under qemu-system-arm (`cargo xtask embedded`), and a fuzz smoke
           (every target for 30 s; RFC7523_FUZZ_SECONDS=N changes that locally,
           0 skips it; CI=true always runs 30 s); stops at the first failure
  demo [--port PORT] [--no-build]
           build the npm package (as `wasm` does) and serve the demo page www/
           on http://127.0.0.1:8080/ (PORT 0: any free port), until Ctrl-C
  fuzz [SECONDS]
           run every fuzz target of fuzz/ for SECONDS each (default 60) with
           `cargo +nightly fuzz run`, after writing the seed corpora from
           tests/vectors/ into fuzz/corpus/; prints executions per target
  embedded [--generate | --markdown]
           build the Cortex-M3 firmware (crates/rfc7523-embedded-test, thumbv7m-none-eabi),
           run it under qemu-system-arm on mps2-an385 (its verdicts must all be as
           expected) and lm3s6965evb (reported only), print flash, static RAM, stack
           and instruction counts per call; --generate rewrites its test data
           (data/) with `rfc7523 sign`; --markdown prints its BENCHMARKS.md section
  setup    install what the tests need, if missing: the thumbv7em-none-eabihf
           and thumbv7m-none-eabi targets, qemu-system-arm (apt-get), rustfmt and
           clippy, the openssl, curl and jq CLIs (apt-get), the nightly toolchain, cargo-fuzz
           0.13.2 and cargo-deny 0.20.2 (cargo install --locked),
           the wasm32-unknown-unknown target, wasm-bindgen-cli 0.2.130, wasm-pack
           0.15.1, `npm ci` in bindings/wasm/js, Debian's chromium (apt-get), and
           google-auth and authlib in a venv (target/google-auth-venv, pip --require-hashes from
           tests/google-auth/requirements.txt)
  wasm     run the wasm part of `setup`, then build the npm package `rfc7523`
           (two modules, verify and `rfc7523/sign`, each for web, nodejs, bundler
           and workers) into bindings/wasm/pkg/ with wasm-pack and wasm-opt,
           load-test them and print their sizes
  bench    run the benchmarks in one run and write BENCHMARKS.md: criterion
           in benches/ (rfc7523, rsa 0.9, ring, aws-lc-rs, jsonwebtoken; RSA-2048
           and 4096; PS256, ES256, EdDSA), the npm package vs jose and WebCrypto in Node, the Worker
           example under load in workerd, its CPU time per request against a jose
           copy (www/bench/), the embedded firmware under QEMU, and
           `openssl speed` three times; builds the npm package only if missing;
           takes a few minutes; not part of `test`. `bench replay`,
           `bench worker` and `bench worker-cpu` print those rows alone and
           write nothing
  help     print this message";

/// A step that runs inside xtask, from the workspace root.
type Task = fn(&Path) -> Result<(), String>;

/// One command of `cargo xtask test`, run from the workspace root with inherited stdio.
#[derive(Debug, Clone)]
struct Step {
    /// Short name used in the banner, the timing summary and the failure message.
    name: &'static str,
    /// Program to run (for cargo: the `CARGO` path, see [`cargo`]).
    program: OsString,
    /// Its arguments.
    args: Vec<&'static str>,
    /// Extra environment variables (e.g. a target runner for wasm tests later).
    env: Vec<(&'static str, OsString)>,
    /// Instead of a command: the fuzz smoke, every target for this many seconds.
    fuzz_seconds: Option<u64>,
    /// Instead of a command: this function of xtask's, shown as `program` in banners.
    task: Option<Task>,
}

impl Step {
    fn cargo(name: &'static str, args: &[&'static str]) -> Self {
        Self {
            name,
            program: cargo(),
            args: args.to_vec(),
            env: Vec::new(),
            fuzz_seconds: None,
            task: None,
        }
    }

    /// A step run inside xtask (`task`), shown as `command` (the subcommand that does the same).
    fn task(name: &'static str, command: &'static str, task: Task) -> Self {
        Self {
            program: command.into(),
            task: Some(task),
            ..Self::cargo(name, &[])
        }
    }

    /// `cargo clippy` on `selection` (packages, features), all targets, warnings denied.
    fn clippy(name: &'static str, selection: &[&'static str]) -> Self {
        let mut args = vec!["clippy"];
        args.extend(selection);
        args.extend(["--all-targets", "--", "-D", "warnings"]);
        Self {
            args,
            ..Self::cargo(name, &[])
        }
    }

    fn fuzz(name: &'static str, seconds: u64) -> Self {
        Self {
            fuzz_seconds: Some(seconds),
            ..Self::cargo(name, &[])
        }
    }

    /// Runs the step from `root`.
    fn run(&self, root: &Path) -> Result<(), String> {
        match (self.fuzz_seconds, self.task) {
            (Some(seconds), _) => fuzz::run_all(root, seconds).map(|_| ()),
            (None, Some(task)) => task(root),
            (None, None) => run(root, &self.program, &self.args, &self.env),
        }
    }

    /// The command as typed in a shell (environment included), for banners and messages.
    fn command_line(&self) -> String {
        if let Some(seconds) = self.fuzz_seconds {
            return format!("cargo xtask fuzz {seconds}");
        }
        if self.task.is_some() {
            return self.program.to_string_lossy().into_owned();
        }
        let mut parts: Vec<String> = self
            .env
            .iter()
            .map(|(key, value)| format!("{key}={}", value.to_string_lossy()))
            .collect();
        // Cargo runs us with `CARGO` set to its full path; show it as typed.
        if self.program == cargo() {
            parts.push("cargo".to_owned());
        } else {
            parts.push(self.program.to_string_lossy().into_owned());
        }
        parts.extend(self.args.iter().map(|arg| (*arg).to_owned()));
        parts.join(" ")
    }
}

/// The steps of `cargo xtask test`, in order.
fn test_steps() -> Vec<Step> {
    let mut steps = vec![
        Step::cargo("fmt", &["fmt", "--all", "--check"]),
        Step::clippy("clippy", &["--workspace"]),
        Step::clippy("clippy (sign)", &["-p", "rfc7523", "--features", "sign"]),
        // The binding's `rfc7523/sign` module (signing only); the workspace clippy above
        // checks its default, verify-only build.
        Step::clippy(
            "clippy (wasm sign)",
            &[
                "-p",
                "rfc7523-wasm",
                "--no-default-features",
                "--features",
                "sign",
            ],
        ),
        // And its main module's nodejs/bundler/workers builds (node:crypto's RSA), with the
        // tests' features.
        Step::clippy(
            "clippy (wasm platform-rsa)",
            &["-p", "rfc7523-wasm", "--features", "sign,platform-rsa"],
        ),
        // API docs build without warnings: no broken or private intra-doc links.
        Step {
            env: vec![("RUSTDOCFLAGS", "-D warnings".into())],
            ..Step::cargo("doc", &["doc", "--workspace", "--no-deps"])
        },
        // Plain `cargo test` (unit, integration and doc tests), so the "test result:" lines show.
        Step::cargo("test", WORKSPACE_TEST),
        // `--all-features` turns on rfc7523-rsavp1's `fewer-widths` (the rs256 npm module's):
        // its own tests again with the four widths every other build has.
        Step::cargo(
            "test rsavp1 (four widths)",
            &["test", "-p", "rfc7523-rsavp1"],
        ),
        // No features: `sign` needs getrandom, which has no backend on this target.
        Step::cargo(
            "no_std build",
            &["build", "-p", "rfc7523", "--target", EMBEDDED_TARGET],
        ),
        // Licenses, banned/duplicate crates and sources (deny.toml). `advisories` needs the
        // RustSec database, which cannot be fetched on the project's machines.
        Step::cargo(
            "cargo deny",
            &["deny", "check", "licenses", "bans", "sources"],
        ),
    ];
    // The core in a Cortex-M3 firmware under QEMU: every verdict checked; flash, static RAM,
    // stack and instruction counts reported, never asserted (crates/rfc7523-embedded-test).
    steps.extend(embedded::test_steps());
    // The npm package: build + load test, wasm-bindgen-test, node --test (jose, tsc, workerd).
    steps.extend(wasm::test_steps());
    // The demo page in headless Chromium, the Worker example in workerd.
    steps.extend(demo::test_steps());
    match smoke_fuzz_seconds() {
        0 => println!("xtask test: fuzz smoke skipped ({FUZZ_SECONDS_VAR}=0)"),
        seconds => steps.push(Step::fuzz("fuzz smoke", seconds)),
    }
    steps
}

/// `CI=true` (or `1`): nothing may be skipped.
fn is_ci() -> bool {
    env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Seconds per target for the fuzz smoke: 30, or `RFC7523_FUZZ_SECONDS` outside CI.
fn smoke_fuzz_seconds() -> u64 {
    if is_ci() {
        return SMOKE_FUZZ_SECONDS;
    }
    match env::var(FUZZ_SECONDS_VAR) {
        Ok(value) => value.trim().parse().unwrap_or_else(|_| {
            eprintln!("xtask: ignoring {FUZZ_SECONDS_VAR}={value:?} (not a number of seconds)");
            SMOKE_FUZZ_SECONDS
        }),
        Err(_) => SMOKE_FUZZ_SECONDS,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") if args.len() == 1 => test(),
        Some("setup") if args.len() == 1 => setup_from_root(),
        Some("wasm") if args.len() == 1 => wasm_from_root(),
        Some("demo") => workspace_root().and_then(|root| demo::main(&root, &args[1..])),
        Some("bench") => workspace_root().and_then(|root| bench::main(&root, &args[1..])),
        Some("embedded") => workspace_root().and_then(|root| embedded::main(&root, &args[1..])),
        Some("fuzz") if args.len() <= 2 => match args.get(1).map(|s| s.parse::<u64>()) {
            None => fuzz_from_root(DEFAULT_FUZZ_SECONDS),
            Some(Ok(seconds)) if seconds > 0 => fuzz_from_root(seconds),
            Some(_) => {
                eprintln!("xtask: `fuzz` takes a positive number of seconds\n\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other @ ("test" | "setup" | "wasm")) => {
            eprintln!("xtask: `{other}` takes no arguments\n\n{USAGE}");
            return ExitCode::from(2);
        }
        Some(other) => {
            eprintln!("xtask: unknown subcommand `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
        None => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The cargo that runs us (`CARGO`), or `cargo` from `PATH`.
fn cargo() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// The workspace root: two levels above this crate's manifest directory, or what
/// `cargo locate-project --workspace` says.
fn workspace_root() -> Result<PathBuf, String> {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    if let Some(root) = manifest_dir.ancestors().nth(2) {
        if root.join("Cargo.toml").is_file() && root.join("crates/xtask/Cargo.toml").is_file() {
            return Ok(root.to_path_buf());
        }
    }
    let output = Command::new(cargo())
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .current_dir(&manifest_dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("xtask: cannot run `cargo locate-project`: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "xtask: `cargo locate-project --workspace` failed ({})",
            output.status
        ));
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    manifest
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("xtask: odd workspace manifest path {}", manifest.display()))
}

/// Runs `program args` in `dir` with inherited stdio; `Ok` only on exit status 0.
fn run(
    dir: &Path,
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    envs: &[(&str, OsString)],
) -> Result<(), String> {
    let program = program.as_ref();
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().map(|(key, value)| (key, value)))
        .current_dir(dir)
        .status()
        .map_err(|err| format!("cannot start {}: {err}", program.to_string_lossy()))?;
    if status.success() {
        Ok(())
    } else {
        Err(match status.code() {
            Some(code) => format!("exit code {code}"),
            None => format!("{status}"),
        })
    }
}

/// Runs `program args` quietly; the first line of its stdout if it exited with status 0.
/// `apt-get update`, then `apt-get install -y PACKAGES`, non-interactive (set-up runs as root).
pub(crate) fn apt_install(root: &Path, packages: &[&str]) -> Result<(), String> {
    let noninteractive = [("DEBIAN_FRONTEND", OsString::from("noninteractive"))];
    run(root, "apt-get", &["update"], &noninteractive)
        .map_err(|err| format!("xtask setup: `apt-get update` failed ({err})"))?;
    let mut args = vec!["install", "-y"];
    args.extend_from_slice(packages);
    run(root, "apt-get", &args, &noninteractive)
        .map_err(|err| format!("xtask setup: `apt-get {}` failed ({err})", args.join(" ")))
}

fn probe(dir: &Path, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Option<String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Some(stdout.lines().next().unwrap_or_default().trim().to_owned())
}

fn setup_from_root() -> Result<(), String> {
    let root = workspace_root()?;
    setup(&root)
}

fn wasm_from_root() -> Result<(), String> {
    let root = workspace_root()?;
    wasm::setup(&root)?;
    wasm::build(&root)
}

fn fuzz_from_root(seconds: u64) -> Result<(), String> {
    let root = workspace_root()?;
    ensure_nightly(&root)?;
    ensure_cargo_tool(&root, "fuzz", "cargo-fuzz", CARGO_FUZZ_VERSION)?;
    let start = Instant::now();
    let stats = fuzz::run_all(&root, seconds)?;
    let cpu_seconds: f64 = stats.iter().map(|s| s.seconds).sum();
    println!(
        "xtask fuzz: {} targets, {:.1} min of fuzzing (one core each, in turn), {:.1} min wall",
        stats.len(),
        cpu_seconds / 60.0,
        start.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// Idempotent set-up: each item is probed first and installed only if missing.
fn setup(root: &Path) -> Result<(), String> {
    ensure_target(root, EMBEDDED_TARGET)?;
    ensure_cargo_component(root, "fmt", "rustfmt")?;
    ensure_cargo_component(root, "clippy", "clippy")?;
    ensure_apt_tool(root, "openssl", &["version"])?;
    ensure_apt_tool(root, "curl", &["--version"])?;
    ensure_apt_tool(root, "jq", &["--version"])?;
    ensure_nightly(root)?;
    ensure_cargo_tool(root, "fuzz", "cargo-fuzz", CARGO_FUZZ_VERSION)?;
    ensure_cargo_tool(root, "deny", "cargo-deny", CARGO_DENY_VERSION)?;
    embedded::setup(root)?;
    wasm::setup(root)?;
    demo::setup(root)?;
    python::setup(root)?;
    Ok(())
}

/// The nightly toolchain, for cargo-fuzz (`-Zsanitizer`, SanitizerCoverage).
fn ensure_nightly(root: &Path) -> Result<(), String> {
    if let Some(version) = probe(root, "rustc", &["+nightly", "--version"]) {
        println!("setup: nightly toolchain: already present ({version})");
        return Ok(());
    }
    run(
        root,
        "rustup",
        &["toolchain", "install", "nightly", "--profile", "minimal"],
        &[],
    )
    .map_err(|err| format!("xtask setup: `rustup toolchain install nightly` failed ({err})"))?;
    let version = probe(root, "rustc", &["+nightly", "--version"])
        .ok_or_else(|| "xtask setup: `rustc +nightly --version` fails after install".to_owned())?;
    println!("setup: nightly toolchain: installed ({version})");
    Ok(())
}

/// A cargo subcommand installed from crates.io at exactly `version` (`cargo install --locked`
/// when it is missing or reports another version).
fn ensure_cargo_tool(
    root: &Path,
    subcommand: &str,
    krate: &str,
    version: &str,
) -> Result<(), String> {
    let wanted = format!("{krate} {version}");
    let found = probe(root, cargo(), &[subcommand, "--version"]);
    if found.as_deref() == Some(wanted.as_str()) {
        println!("setup: {krate}: already present ({wanted})");
        return Ok(());
    }
    let args = [
        "install",
        krate,
        "--version",
        version,
        "--locked",
        "--force",
    ];
    println!(
        "setup: {krate}: installing {version} (found {}): cargo {}",
        found.as_deref().unwrap_or("none"),
        args.join(" ")
    );
    run(root, cargo(), &args, &[])
        .map_err(|err| format!("xtask setup: `cargo {}` failed ({err})", args.join(" ")))?;
    let found = probe(root, cargo(), &[subcommand, "--version"]);
    if found.as_deref() != Some(wanted.as_str()) {
        return Err(format!(
            "xtask setup: after installing, `cargo {subcommand} --version` says {found:?}, not {wanted}"
        ));
    }
    println!("setup: {krate}: installed ({wanted})");
    Ok(())
}

fn ensure_target(root: &Path, target: &str) -> Result<(), String> {
    let output = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("xtask setup: cannot run `rustup`: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "xtask setup: `rustup target list --installed` failed ({})",
            output.status
        ));
    }
    let installed = String::from_utf8_lossy(&output.stdout);
    if installed.lines().any(|line| line.trim() == target) {
        println!("setup: rust target {target}: already installed");
        return Ok(());
    }
    run(root, "rustup", &["target", "add", target], &[])
        .map_err(|err| format!("xtask setup: `rustup target add {target}` failed ({err})"))?;
    println!("setup: rust target {target}: installed (rustup target add {target})");
    Ok(())
}

/// `subcommand` is the cargo subcommand (`fmt`), `component` the rustup component (`rustfmt`).
fn ensure_cargo_component(root: &Path, subcommand: &str, component: &str) -> Result<(), String> {
    if let Some(version) = probe(root, cargo(), &[subcommand, "--version"]) {
        println!("setup: {component}: already present ({version})");
        return Ok(());
    }
    run(root, "rustup", &["component", "add", component], &[])
        .map_err(|err| format!("xtask setup: `rustup component add {component}` failed ({err})"))?;
    let version = probe(root, cargo(), &[subcommand, "--version"]).ok_or_else(|| {
        format!(
            "xtask setup: `cargo {subcommand} --version` still fails after installing {component}"
        )
    })?;
    println!("setup: {component}: installed (rustup component add {component}; {version})");
    Ok(())
}

/// A command-line tool from Debian's package of the same name, when `program version_args`
/// fails: the `openssl` CLI, and `curl` and `jq`, which the README's flows use (run by
/// `www/test/readme-flows.test.mjs`).
fn ensure_apt_tool(root: &Path, program: &str, version_args: &[&str]) -> Result<(), String> {
    if let Some(version) = probe(root, program, version_args) {
        println!("setup: {program}: already present ({version})");
        return Ok(());
    }
    apt_install(root, &[program])?;
    let version = probe(root, program, version_args).ok_or_else(|| {
        format!(
            "xtask setup: `{program} {}` still fails after apt-get install",
            version_args.join(" ")
        )
    })?;
    println!("setup: {program}: installed (apt-get install -y {program}; {version})");
    Ok(())
}

fn test() -> Result<(), String> {
    let root = workspace_root()?;
    let setup_start = Instant::now();
    println!("==> setup: cargo xtask setup");
    setup(&root)?;
    let setup_time = setup_start.elapsed();

    let steps = test_steps();
    let mut timings: Vec<(&'static str, Duration)> = Vec::with_capacity(steps.len());
    for step in &steps {
        let command = step.command_line();
        println!("==> {}: {command}", step.name);
        let start = Instant::now();
        let result = step.run(&root);
        timings.push((step.name, start.elapsed()));
        if let Err(err) = result {
            print_timings(setup_time, &timings);
            return Err(format!(
                "xtask test: step `{}` failed ({err}): {command}",
                step.name
            ));
        }
    }
    print_timings(setup_time, &timings);
    println!("xtask test: all {} steps passed", steps.len());
    Ok(())
}

fn print_timings(setup_time: Duration, timings: &[(&'static str, Duration)]) {
    let width = timings
        .iter()
        .map(|(name, _)| name.len())
        .chain(core::iter::once("setup".len()))
        .max()
        .unwrap_or_default();
    println!("==> wall time per step");
    println!(
        "    {:<width$}  {:>8.1} s",
        "setup",
        setup_time.as_secs_f64()
    );
    let mut total = setup_time;
    for (name, elapsed) in timings {
        println!("    {name:<width$}  {:>8.1} s", elapsed.as_secs_f64());
        total += *elapsed;
    }
    println!("    {:<width$}  {:>8.1} s", "total", total.as_secs_f64());
}
