//! Project automation for the `rfc7523` workspace, run as `cargo xtask <subcommand>`.
//!
//! Std-only on purpose: it must build on a fresh machine before anything else is set up.
//!
//! * `cargo xtask setup` installs (idempotently) what the tests need: extra rustup targets,
//!   the rustfmt/clippy components and the `openssl` CLI.
//! * `cargo xtask test` runs `setup`, then every [`Step`] of [`test_steps`] in order and stops
//!   at the first failure.
//!
//! To add a check (wasm, JS, browser, ...), append a [`Step`] to [`test_steps`] and, if it
//! needs a tool, a probe/install to [`setup`].

#![forbid(unsafe_code)]

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Cross target on which the core crate must build without `std`.
const EMBEDDED_TARGET: &str = "thumbv7em-none-eabihf";

const USAGE: &str = "\
usage: cargo xtask <subcommand>

subcommands:
  test     run `setup`, then fmt, clippy, the workspace tests and the no_std
           (thumbv7em-none-eabihf) build; stops at the first failure
  setup    install what the tests need, if missing: the thumbv7em-none-eabihf
           target, rustfmt and clippy, the openssl CLI (apt-get)
  help     print this message

planned (not available yet): wasm, demo, bench, fuzz";

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
}

impl Step {
    fn cargo(name: &'static str, args: &[&'static str]) -> Self {
        Self {
            name,
            program: cargo(),
            args: args.to_vec(),
            env: Vec::new(),
        }
    }

    /// The command as typed in a shell (environment included), for banners and messages.
    fn command_line(&self) -> String {
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
    vec![
        Step::cargo("fmt", &["fmt", "--all", "--check"]),
        Step::cargo(
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        Step::cargo(
            "clippy (sign)",
            &[
                "clippy",
                "-p",
                "rfc7523",
                "--all-targets",
                "--features",
                "sign",
                "--",
                "-D",
                "warnings",
            ],
        ),
        // Plain `cargo test` (unit, integration and doc tests), so the "test result:" lines show.
        Step::cargo("test", &["test", "--workspace", "--all-features"]),
        // No features: `sign` needs getrandom, which has no backend on this target.
        Step::cargo(
            "no_std build",
            &["build", "-p", "rfc7523", "--target", EMBEDDED_TARGET],
        ),
    ]
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") if args.len() == 1 => test(),
        Some("setup") if args.len() == 1 => setup_from_root(),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other @ ("test" | "setup")) => {
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

/// Idempotent set-up: each item is probed first and installed only if missing.
fn setup(root: &Path) -> Result<(), String> {
    ensure_target(root, EMBEDDED_TARGET)?;
    ensure_cargo_component(root, "fmt", "rustfmt")?;
    ensure_cargo_component(root, "clippy", "clippy")?;
    ensure_openssl(root)?;
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

fn ensure_openssl(root: &Path) -> Result<(), String> {
    if let Some(version) = probe(root, "openssl", &["version"]) {
        println!("setup: openssl CLI: already present ({version})");
        return Ok(());
    }
    let noninteractive = [("DEBIAN_FRONTEND", OsString::from("noninteractive"))];
    run(root, "apt-get", &["update"], &noninteractive)
        .map_err(|err| format!("xtask setup: `apt-get update` failed ({err})"))?;
    run(
        root,
        "apt-get",
        &["install", "-y", "openssl"],
        &noninteractive,
    )
    .map_err(|err| format!("xtask setup: `apt-get install -y openssl` failed ({err})"))?;
    let version = probe(root, "openssl", &["version"]).ok_or_else(|| {
        "xtask setup: `openssl version` still fails after apt-get install".to_owned()
    })?;
    println!("setup: openssl CLI: installed (apt-get install -y openssl; {version})");
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
        let result = run(&root, &step.program, &step.args, &step.env);
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
