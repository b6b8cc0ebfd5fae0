//! `cargo xtask embedded`: the core as a firmware for an emulated Cortex-M3 (issue 18).
//!
//! The firmware, `crates/rfc7523-embedded-test` (its own workspace and lock, built for
//! [`TARGET`] in release), validates committed assertions with its keys and replay store in
//! `static`s and prints one line per verdict and per measured call over semihosting. This
//! module builds it, runs it under Debian's `qemu-system-arm` on each machine of [`MACHINES`]
//! with `-icount shift=0` and a wall-clock timeout, checks every verdict line against
//! [`expected_verdicts`] and prints the figures: flash, static RAM, peak stack per call
//! (painted and sampled) and instruction counts. The verdicts are the test, and so are the
//! stack budgets of [`BUDGETS`] (stack is memory, not time); every other figure is reported,
//! never asserted.
//!
//! * `mps2-an385` (4 MiB of RAM): must pass, verdict by verdict, within the budgets.
//! * `lm3s6965evb` (64 KiB of RAM, the issue's target: 4 KB of statics, keys and replay store
//!   included, leave about 58 KiB of stack): must pass too.
//!
//! `cargo xtask embedded --generate` rewrites the committed test data (`data/` of the firmware
//! crate) with the project's own signer, `rfc7523 sign`, from the committed test-only private
//! keys (made with `openssl genpkey` when missing); see [`generate`].

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{cargo, ensure_target, probe, run, Step};

/// The firmware's target: Cortex-M3 (ARMv7-M), no FPU, as both emulated machines.
pub(crate) const TARGET: &str = "thumbv7m-none-eabi";

/// The firmware crate, from the workspace root.
const CRATE_DIR: &str = "crates/rfc7523-embedded-test";

/// Its target directory, from the workspace root (under the ignored `target/`).
const TARGET_DIR: &str = "target/embedded";

/// The emulator, from Debian's package of the same name.
const QEMU: &str = "qemu-system-arm";

/// The firmware's clock (Unix seconds): the tokens of `data/` were signed around it.
const NOW: u64 = 1_800_000_000;

/// Wall-clock limit of one emulator run (the whole run takes a few seconds).
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// What a machine's run must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Every verdict as expected and a clean exit: the test fails otherwise.
    Pass,
    /// Reported only (today the firmware does not fit this machine).
    Report,
}

/// One emulated machine: QEMU's name for it, which is also the firmware binary's name (each
/// links with its own `memory/<name>.x`).
#[derive(Clone, Copy, Debug)]
struct Machine {
    name: &'static str,
    ram: &'static str,
    expect: Expect,
}

const MACHINES: [Machine; 2] = [
    Machine {
        name: "mps2-an385",
        ram: "4 MiB",
        expect: Expect::Pass,
    },
    Machine {
        name: "lm3s6965evb",
        ram: "64 KiB",
        expect: Expect::Pass,
    },
];

/// The measured calls, in the firmware's order, with what each measures.
const CALLS: [(&str, &str); 9] = [
    (
        "key_from_jwk",
        "`KeyStore::load_text` of a JWK (client key), in place into a static",
    ),
    (
        "key_from_pem",
        "`KeyStore::load_text` of a PEM (issuer key, SPKI), in place into a static",
    ),
    (
        "rsavp1",
        "`RsaKey::rsavp1` alone (2048-bit, e = 65537, the stored key)",
    ),
    (
        "keys_from_jwks",
        "`KeyStore::load_text` of a one-key JWK Set, in place into a static",
    ),
    (
        "client_assertion_valid",
        "`ClientAuthProfile::validate`, valid",
    ),
    (
        "client_assertion_tampered",
        "`ClientAuthProfile::validate`, payload changed after signing",
    ),
    (
        "client_assertion_expired",
        "`ClientAuthProfile::validate`, expired",
    ),
    (
        "client_assertion_replayed",
        "`ClientAuthProfile::validate`, the valid one again",
    ),
    (
        "token_request",
        "`TokenEndpoint::handle`: jwt-bearer grant + client assertion",
    ),
];

/// Stack budget of `ClientAuthProfile::validate` (issue 18): its `DecodeBuffer` (6 KiB) in the
/// call's own frame and RSAVP1 included. The firmware asserts the same figure (its
/// `VALIDATE_STACK_BUDGET`, checked equal through its `budget` lines).
const VALIDATE_STACK_BUDGET: u64 = 16 * 1024;

/// Stack budget of `TokenEndpoint::handle` (issue 18): its `TokenBuffers` (12 KiB) in the
/// call's own frame, the body in the firmware's receive buffer (a static).
const TOKEN_REQUEST_STACK_BUDGET: u64 = 24 * 1024;

/// Stack budget of loading a key in place (`KeyStore::load_text` of a JWK, a PEM or a JWK Set;
/// issue 18): the JSON reader's members or the PEM buffer, the modulus decoded into its place
/// and `R² mod n` computed beside it.
const KEY_LOAD_STACK_BUDGET: u64 = 8 * 1024;

/// The budgeted calls and their budgets, asserted on the machines that must pass.
const BUDGETS: [(&str, u64); 8] = [
    ("key_from_jwk", KEY_LOAD_STACK_BUDGET),
    ("key_from_pem", KEY_LOAD_STACK_BUDGET),
    ("keys_from_jwks", KEY_LOAD_STACK_BUDGET),
    ("client_assertion_valid", VALIDATE_STACK_BUDGET),
    ("client_assertion_tampered", VALIDATE_STACK_BUDGET),
    ("client_assertion_expired", VALIDATE_STACK_BUDGET),
    ("client_assertion_replayed", VALIDATE_STACK_BUDGET),
    ("token_request", TOKEN_REQUEST_STACK_BUDGET),
];

/// The firmware's two passes: `sample` (SysTick samples the stack pointer; overflows are
/// caught) and `paint` (painted stack, instructions counted).
const PASSES: [&str; 2] = ["sample", "paint"];

/// `cargo xtask embedded [--generate | --markdown]` (`--markdown`: the section of
/// `BENCHMARKS.md` that `cargo xtask bench` writes, printed).
pub(crate) fn main(root: &Path, args: &[String]) -> Result<(), String> {
    match args {
        [] => {
            setup(root)?;
            test(root)
        }
        [flag] if flag == "--generate" => generate(root),
        [flag] if flag == "--markdown" => {
            print!("{}", bench_section(root)?);
            Ok(())
        }
        _ => Err("xtask: `embedded` takes no argument, `--generate` or `--markdown`".to_owned()),
    }
}

/// The embedded part of `setup`: the target and `qemu-system-arm`.
pub(crate) fn setup(root: &Path) -> Result<(), String> {
    ensure_target(root, TARGET)?;
    ensure_qemu(root)
}

/// The step of `cargo xtask test`.
pub(crate) fn test_steps() -> Vec<Step> {
    vec![Step::task("embedded (qemu)", "cargo xtask embedded", test)]
}

/// Debian's `qemu-system-arm`, without recommended packages (a GUI, firmware images), when
/// missing. Where the machine has a newer `qemu-utils` than the suite's `qemu-system-arm`
/// (Debian 12 with qemu-utils from backports: its `Breaks` would remove it), apt installs the
/// suite's `qemu-utils` beside it rather than removing it.
fn ensure_qemu(root: &Path) -> Result<(), String> {
    if let Some(version) = probe(root, QEMU, &["--version"]) {
        println!("setup: {QEMU}: already present ({version})");
        return Ok(());
    }
    let start = Instant::now();
    let noninteractive = [("DEBIAN_FRONTEND", "noninteractive".into())];
    run(root, "apt-get", &["update"], &noninteractive)
        .map_err(|err| format!("xtask setup: `apt-get update` failed ({err})"))?;
    let base = ["install", "-y", "--no-install-recommends", "--no-remove"];
    let mut args: Vec<String> = base.iter().map(|s| (*s).to_owned()).collect();
    args.push(QEMU.to_owned());
    if run(root, "apt-get", &strs(&args), &noninteractive).is_err() {
        let candidate = apt_candidate(root, QEMU)
            .ok_or_else(|| format!("xtask setup: apt has no candidate for {QEMU}"))?;
        args.push("--allow-downgrades".to_owned());
        args.push(format!("qemu-utils={candidate}"));
        println!(
            "setup: {QEMU}: installing qemu-utils {candidate} beside it (apt would remove the newer one)"
        );
        run(root, "apt-get", &strs(&args), &noninteractive)
            .map_err(|err| format!("xtask setup: `apt-get {}` failed ({err})", args.join(" ")))?;
    }
    let version = probe(root, QEMU, &["--version"])
        .ok_or_else(|| format!("xtask setup: `{QEMU} --version` fails after apt-get install"))?;
    println!(
        "setup: {QEMU}: installed in {:.1} s (apt-get {}; {version})",
        start.elapsed().as_secs_f64(),
        args.join(" ")
    );
    Ok(())
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The `Candidate:` version of `apt-cache policy PACKAGE`.
fn apt_candidate(root: &Path, package: &str) -> Option<String> {
    let output = Command::new("apt-cache")
        .args(["policy", package])
        .current_dir(root)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let candidate = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Candidate:"))?
        .trim();
    (!candidate.is_empty() && candidate != "(none)").then(|| candidate.to_owned())
}

/// Checks the firmware crate (format, clippy, cargo deny), builds it, runs it on every
/// machine, checks the verdicts and prints the figures.
fn test(root: &Path) -> Result<(), String> {
    let start = Instant::now();
    check_format(root)?;
    lint(root)?;
    let reports = measure(root)?;
    let mut failures = Vec::new();
    let asserted = reports.iter().find(|r| r.machine.expect == Expect::Pass);
    for report in &reports {
        print!("{}", report.render());
        match (report.machine.expect, asserted) {
            (Expect::Pass, _) => {
                if let Err(problems) = report.verdict_problems() {
                    failures.push(format!("{}: {problems}", report.machine.name));
                }
                match report.budget_problems() {
                    Ok(line) => println!("{line}"),
                    Err(problems) => failures.push(format!("{}: {problems}", report.machine.name)),
                }
            }
            (Expect::Report, Some(asserted)) => {
                if let Some(line) = report.fit(asserted) {
                    println!("{line}");
                }
            }
            (Expect::Report, None) => {}
        }
    }
    println!(
        "embedded: {:.1} s in all (build and emulation)",
        start.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// The `BENCHMARKS.md` section of `cargo xtask bench`: the firmware built and run on every
/// machine, as in the test step (its verdicts are not asserted here: the test step does that).
pub(crate) fn bench_section(root: &Path) -> Result<String, String> {
    setup(root)?;
    let reports = measure(root)?;
    let qemu = probe(root, QEMU, &["--version"]).unwrap_or_default();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Embedded (Cortex-M3 under QEMU)
"
    );
    let _ = writeln!(
        s,
        "[`crates/rfc7523-embedded-test`]({CRATE_DIR}/src/lib.rs), built for `{TARGET}` \
         (`opt-level = \"z\"`, the RSA arithmetic at 3, LTO) and run by `cargo xtask embedded` \
         under {qemu} with `-icount shift=0`: the core with no features, its two 2048-bit keys \
         and a 16-entry replay store in statics. Peak stack: bytes below the caller's stack \
         pointer, the larger of the painted depth (deepest word written) and the sampled one \
         (SysTick reading the stack pointer every ~2,000 instructions, which also sees frames \
         reserved but never written). Instructions: guest instructions counted by QEMU's \
         `-icount` (through SysTick), not cycles. Deterministic: they do not depend on the \
         machine's load. Each validation decodes into its `DecodeBuffer` (6 KiB) and the token \
         request into its `TokenBuffers` (12 KiB) in the measured call's own frame (the request \
         body in a static receive buffer); `cargo xtask test` asserts the stack budgets: {} B \
         for loading a key, {} B for `ClientAuthProfile::validate`, {} B for \
         `TokenEndpoint::handle`.\n",
        group(KEY_LOAD_STACK_BUDGET),
        group(VALIDATE_STACK_BUDGET),
        group(TOKEN_REQUEST_STACK_BUDGET),
    );
    let _ = writeln!(
        s,
        "| machine | RAM | flash (.text + .rodata, of which test data) | static RAM (.data + .bss) | stack region | run |\n|---|---|---:|---:|---:|---|"
    );
    for r in &reports {
        let outcome = match (r.machine.expect, r.verdict_problems()) {
            (_, Ok(())) => "every verdict as expected".to_owned(),
            (Expect::Pass, Err(problems)) => format!("FAILED: {problems}"),
            (Expect::Report, Err(_)) => format!(
                "does not fit: {}",
                r.failure.as_deref().unwrap_or("wrong verdicts")
            ),
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} B ({} + {}, {}) | {} B ({} + {}) | {} B | {outcome} |",
            r.machine.name,
            r.machine.ram,
            group(r.size("text").unwrap_or_default() + r.size("rodata").unwrap_or_default()),
            group(r.size("text").unwrap_or_default()),
            group(r.size("rodata").unwrap_or_default()),
            group(r.size("test_data").unwrap_or_default()),
            group(r.size("static_ram").unwrap_or_default()),
            group(r.size("data").unwrap_or_default()),
            group(r.size("bss").unwrap_or_default()),
            group(r.stack_region.unwrap_or_default()),
        );
    }
    let _ = writeln!(s);
    let Some(measured) = reports.iter().find(|r| r.machine.expect == Expect::Pass) else {
        return Ok(s);
    };
    // The other machine (the smallest), whose stack region the peaks are compared with.
    let small = reports
        .iter()
        .find(|r| r.machine.name != measured.machine.name);
    let small_region = small.and_then(|r| r.stack_region);
    let _ = writeln!(
        s,
        "Per call, on `{}`{}:\n",
        measured.machine.name,
        small.map_or_else(String::new, |r| format!(
            " (and whether its peak fits the {} B stack region of `{}`)",
            group(r.stack_region.unwrap_or_default()),
            r.machine.name
        ))
    );
    let _ = writeln!(
        s,
        "| call | what | peak stack | painted | sampled | instructions | fits {} |\n|---|---|---:|---:|---:|---:|:---:|",
        small.map_or("-", |r| r.machine.name)
    );
    for ((name, what), (_, f)) in CALLS.iter().zip(&measured.calls) {
        let bytes = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), group);
        let fits = match (f.peak(), small_region) {
            (Some(peak), Some(region)) if peak <= region => "✓",
            (Some(_), Some(_)) => "✗",
            _ => "",
        };
        let _ = writeln!(
            s,
            "| `{name}` | {what} | {} B | {} | {} | {} | {fits} |",
            bytes(f.peak()),
            bytes(f.painted),
            bytes(f.sampled),
            bytes(f.instructions),
        );
    }
    let _ = writeln!(s);
    Ok(s)
}

/// Builds the firmware and runs it on every machine (for `test` and `bench`).
fn measure(root: &Path) -> Result<Vec<Report>, String> {
    let elves = build(root)?;
    MACHINES
        .iter()
        .zip(&elves)
        .map(|(machine, elf)| Ok(Report::parse(machine, &run_machine(root, machine, elf)?)))
        .collect()
}

/// `cargo clippy` (warnings denied) and `cargo deny check licenses bans sources` (the root
/// `deny.toml`) on the firmware's own workspace, which the workspace steps do not reach.
/// cargo-deny comes with `cargo xtask setup`; without it (`cargo xtask embedded` on a machine
/// never set up) the check is skipped with a message, except under `CI=true`.
fn lint(root: &Path) -> Result<(), String> {
    let manifest = root.join(CRATE_DIR).join("Cargo.toml");
    let target_dir = root.join(TARGET_DIR);
    let (manifest, target_dir) = (manifest.to_string_lossy(), target_dir.to_string_lossy());
    let clippy = [
        "clippy",
        "--release",
        "--locked",
        "--manifest-path",
        &manifest,
        "--target",
        TARGET,
        "--target-dir",
        &target_dir,
        "--",
        "-D",
        "warnings",
    ];
    run(root, cargo(), &clippy, &[])
        .map_err(|err| format!("`cargo {}` failed ({err})", clippy.join(" ")))?;
    let deny = [
        "deny",
        "--log-level",
        "error",
        "--manifest-path",
        &manifest,
        "check",
        "licenses",
        "bans",
        "sources",
    ];
    if probe(root, cargo(), &["deny", "--version"]).is_none() {
        if crate::is_ci() {
            return Err("cargo-deny is missing (run `cargo xtask setup`)".to_owned());
        }
        println!("embedded: cargo deny skipped: cargo-deny is not installed (cargo xtask setup)");
        return Ok(());
    }
    run(root, cargo(), &deny, &[])
        .map_err(|err| format!("`cargo {}` failed ({err})", deny.join(" ")))
}

/// `cargo fmt --check` on the firmware crate (the workspace's `fmt` step does not reach it).
fn check_format(root: &Path) -> Result<(), String> {
    let manifest = root.join(CRATE_DIR).join("Cargo.toml");
    let manifest = manifest.to_string_lossy();
    run(
        root,
        cargo(),
        &["fmt", "--manifest-path", &manifest, "--check"],
        &[],
    )
    .map_err(|err| format!("`cargo fmt --check` of {CRATE_DIR} failed ({err})"))
}

/// `cargo build --release --locked` of the firmware (both binaries), then the ELF of each
/// machine.
fn build(root: &Path) -> Result<Vec<PathBuf>, String> {
    let manifest = root.join(CRATE_DIR).join("Cargo.toml");
    let target_dir = root.join(TARGET_DIR);
    let manifest = manifest.to_string_lossy();
    let target_dir_arg = target_dir.to_string_lossy();
    let args = [
        "build",
        "--release",
        "--locked",
        "--manifest-path",
        &manifest,
        "--target",
        TARGET,
        "--target-dir",
        &target_dir_arg,
        "--bins",
    ];
    println!("embedded: cargo {}", args.join(" "));
    run(root, cargo(), &args, &[]).map_err(|err| {
        format!(
            "the firmware build failed ({err}): cargo {}",
            args.join(" ")
        )
    })?;
    Ok(MACHINES
        .iter()
        .map(|m| target_dir.join(TARGET).join("release").join(m.name))
        .collect())
}

/// What one emulator run printed, and how it ended.
#[derive(Debug)]
struct Run {
    stdout: String,
    stderr: String,
    /// `Some(code)` when QEMU exited (semihosting exit: 0 success, 1 failure), `None` when it
    /// was killed at [`RUN_TIMEOUT`].
    exit: Option<i32>,
    seconds: f64,
}

fn run_machine(root: &Path, machine: &Machine, elf: &Path) -> Result<Run, String> {
    let elf = elf.to_string_lossy();
    let args = [
        "-M",
        machine.name,
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "none",
        "-semihosting-config",
        "enable=on,target=native",
        // One instruction per virtual nanosecond: SysTick, clocked from the virtual clock,
        // then counts instructions (see the firmware's `monitor` module).
        "-icount",
        "shift=0",
        "-kernel",
        &elf,
    ];
    println!("embedded: {QEMU} {}", args.join(" "));
    let start = Instant::now();
    let mut child = Command::new(QEMU)
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot start {QEMU}: {err}"))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = thread::spawn(move || read_all(stdout.as_mut()));
    let err_reader = thread::spawn(move || read_all(stderr.as_mut()));
    let exit = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if start.elapsed() >= RUN_TIMEOUT => {
                // Our own child, by its handle.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(err) => return Err(format!("waiting for {QEMU}: {err}")),
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(Run {
        stdout,
        stderr,
        exit,
        seconds,
    })
}

fn read_all(stream: Option<&mut impl std::io::Read>) -> String {
    let mut bytes = Vec::new();
    if let Some(stream) = stream {
        let _ = stream.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The exact verdict lines of one pass, in order.
fn expected_verdicts(pass: &str) -> Vec<String> {
    [
        ("key_from_jwk", "ok bits=2048 kid=gw-2026"),
        ("key_from_pem", "ok bits=2048"),
        ("rsavp1", "ok em=emsa-pkcs1-v1_5-sha256"),
        ("keys_from_jwks", "ok keys=1"),
        (
            "client_assertion_valid",
            "ok iss=gateway-7 sub=gateway-7 jti=emb-valid",
        ),
        ("client_assertion_tampered", "err invalid_signature"),
        ("client_assertion_expired", "err expired"),
        ("client_assertion_replayed", "err replayed"),
        (
            "token_request",
            "ok grant_iss=https://idp.example grant_sub=alice client=gateway-7 auth=client_assertion",
        ),
    ]
    .iter()
    .map(|(call, verdict)| format!("verdict pass={pass} call={call} {verdict}"))
    .collect()
}

/// The figures of one call.
#[derive(Debug, Default, Clone)]
struct CallFigures {
    painted: Option<u64>,
    sampled: Option<u64>,
    samples: Option<u64>,
    instructions: Option<u64>,
}

impl CallFigures {
    /// The larger of the painted and the sampled depth.
    fn peak(&self) -> Option<u64> {
        self.painted.max(self.sampled)
    }
}

/// One machine's run, parsed.
#[derive(Debug)]
struct Report {
    machine: Machine,
    exit: Option<i32>,
    seconds: f64,
    lines: Vec<String>,
    stderr: String,
    sizes: Vec<(String, u64)>,
    stack_region: Option<u64>,
    calibration: Option<(u64, u64)>,
    calls: Vec<(String, CallFigures)>,
    failure: Option<String>,
}

/// The value of `key=` among the space-separated words of `line`.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ')
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}

fn number(line: &str, key: &str) -> Option<u64> {
    field(line, key)?.parse().ok()
}

impl Report {
    fn parse(machine: &Machine, run: &Run) -> Self {
        let lines: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
        let mut report = Report {
            machine: *machine,
            exit: run.exit,
            seconds: run.seconds,
            lines: lines.clone(),
            stderr: run.stderr.clone(),
            sizes: Vec::new(),
            stack_region: None,
            calibration: None,
            calls: CALLS
                .iter()
                .map(|(name, _)| ((*name).to_owned(), CallFigures::default()))
                .collect(),
            failure: None,
        };
        for line in &lines {
            let mut words = line.split(' ');
            match words.next() {
                Some("rfc7523-embedded") => report.stack_region = number(line, "stack_region"),
                Some("size") => {
                    report.sizes = words
                        .filter_map(|w| {
                            let (k, v) = w.split_once('=')?;
                            Some((k.to_owned(), v.parse().ok()?))
                        })
                        .collect();
                }
                Some("calibration") => {
                    report.calibration = number(line, "loop_instructions")
                        .zip(number(line, "ticks"))
                        .filter(|(_, ticks)| *ticks > 0);
                }
                Some(kind @ ("sampled" | "measure")) => {
                    let Some(call) = field(line, "call") else {
                        continue;
                    };
                    let Some((_, figures)) = report.calls.iter_mut().find(|(n, _)| n == call)
                    else {
                        continue;
                    };
                    figures.samples = number(line, "samples");
                    if kind == "sampled" {
                        figures.sampled = number(line, "depth");
                    } else {
                        figures.sampled = number(line, "sampled");
                        figures.painted = number(line, "painted");
                        figures.instructions = number(line, "instructions");
                    }
                }
                Some("overflow" | "hardfault" | "panic" | "fail") => {
                    report.failure.get_or_insert_with(|| describe_failure(line));
                }
                _ => {}
            }
        }
        if report.failure.is_none() {
            report.failure = match run.exit {
                Some(0) => None,
                Some(code) => Some(format!("exit code {code}")),
                None => Some(format!(
                    "no exit within {} s (killed)",
                    RUN_TIMEOUT.as_secs()
                )),
            };
        }
        report
    }

    fn size(&self, key: &str) -> Option<u64> {
        self.sizes.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// `Err` with what is wrong, unless every expected verdict line is there exactly once, no
    /// other verdict line is, the firmware said `done` and exited with success.
    fn verdict_problems(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let verdicts: Vec<&String> = self
            .lines
            .iter()
            .filter(|l| l.starts_with("verdict "))
            .collect();
        let mut expected = Vec::new();
        for pass in PASSES {
            expected.extend(expected_verdicts(pass));
        }
        for line in &expected {
            match verdicts.iter().filter(|v| **v == line).count() {
                1 => {}
                0 => problems.push(format!("missing `{line}`")),
                n => problems.push(format!("`{line}` {n} times")),
            }
        }
        for line in &verdicts {
            if !expected.iter().any(|e| e == *line) {
                problems.push(format!("unexpected `{line}`"));
            }
        }
        if !self.lines.iter().any(|l| l == "done") {
            problems.push("no `done` line".to_owned());
        }
        if let Some(failure) = &self.failure {
            problems.push(failure.clone());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            if !self.stderr.trim().is_empty() {
                problems.push(format!("qemu stderr: {}", self.stderr.trim()));
            }
            Err(problems.join(", "))
        }
    }

    /// `Err` with what is wrong unless every call of [`BUDGETS`] has a peak within its budget
    /// and the firmware reported the same budget; `Ok` with a summary line.
    fn budget_problems(&self) -> Result<String, String> {
        let mut problems = Vec::new();
        let mut summary = Vec::new();
        for (name, limit) in BUDGETS {
            let peak = self
                .calls
                .iter()
                .find(|(call, _)| call == name)
                .and_then(|(_, f)| f.peak());
            match peak {
                Some(peak) if peak <= limit => {
                    summary.push(format!("{name} {} ≤ {}", group(peak), group(limit)));
                }
                Some(peak) => problems.push(format!(
                    "`{name}` needs {} B of stack, over its budget of {} B",
                    group(peak),
                    group(limit)
                )),
                None => problems.push(format!("no stack figure for `{name}`")),
            }
            let reported = self
                .lines
                .iter()
                .find(|l| l.starts_with("budget ") && field(l, "call") == Some(name))
                .and_then(|l| number(l, "limit"));
            if reported != Some(limit) {
                problems.push(format!(
                    "the firmware's budget for `{name}` is {reported:?}, not {limit}"
                ));
            }
        }
        if problems.is_empty() {
            Ok(format!("  stack budgets (B): {}", summary.join(", ")))
        } else {
            Err(problems.join(", "))
        }
    }

    /// The verdicts that came out as expected, of one pass.
    fn passed_calls(&self, pass: &str) -> Vec<&'static str> {
        let expected = expected_verdicts(pass);
        CALLS
            .iter()
            .zip(&expected)
            .filter(|(_, line)| self.lines.iter().any(|l| l == *line))
            .map(|((name, _), _)| *name)
            .collect()
    }

    fn render(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let outcome = match (m.expect, self.verdict_problems()) {
            (Expect::Pass, Ok(())) => "every verdict as expected".to_owned(),
            (Expect::Pass, Err(problems)) => format!("FAILED: {problems}"),
            (Expect::Report, Ok(())) => {
                "every verdict as expected: it fits now (make this machine asserted)".to_owned()
            }
            (Expect::Report, Err(_)) => format!(
                "reported, not asserted: {} (exit {}; verdicts as expected in the sample pass: {})",
                self.failure.as_deref().unwrap_or("wrong verdicts"),
                self.exit
                    .map_or_else(|| "none".to_owned(), |c| c.to_string()),
                match self.passed_calls("sample").join(", ") {
                    calls if calls.is_empty() => "none".to_owned(),
                    calls => calls,
                }
            ),
        };
        let _ = writeln!(
            s,
            "embedded: {} ({} RAM), {:.1} s: {outcome}",
            m.name, m.ram, self.seconds
        );
        if let (Some(text), Some(rodata)) = (self.size("text"), self.size("rodata")) {
            let _ = writeln!(
                s,
                "  flash {} B (.text {} + .rodata {}; of which test data {}; + vectors {} + .data image {}); static RAM {} B (.data {} + .bss {}); stack region {} B",
                group(self.size("flash").unwrap_or_default()),
                group(text),
                group(rodata),
                group(self.size("test_data").unwrap_or_default()),
                group(self.size("vectors").unwrap_or_default()),
                group(self.size("data").unwrap_or_default()),
                group(self.size("static_ram").unwrap_or_default()),
                group(self.size("data").unwrap_or_default()),
                group(self.size("bss").unwrap_or_default()),
                group(self.stack_region.unwrap_or_default()),
            );
        }
        if let Some((instructions, ticks)) = self.calibration {
            let _ = writeln!(
                s,
                "  calibration: a {instructions}-instruction loop = {ticks} SysTick ticks ({:.2} instructions per tick)",
                instructions as f64 / ticks as f64
            );
        }
        let _ = writeln!(
            s,
            "  {:<26} {:>9} {:>9} {:>9} {:>13}",
            "call", "painted", "sampled", "peak", "instructions"
        );
        for (name, f) in &self.calls {
            if f.peak().is_none() && f.instructions.is_none() {
                continue;
            }
            let bytes = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), group);
            let peak = f.peak();
            let _ = writeln!(
                s,
                "  {name:<26} {:>9} {:>9} {:>9} {:>13}",
                bytes(f.painted),
                bytes(f.sampled),
                bytes(peak),
                bytes(f.instructions),
            );
        }
        if m.expect == Expect::Report && self.failure.is_some() && !self.stderr.trim().is_empty() {
            let _ = writeln!(s, "  | qemu: {}", self.stderr.trim().replace('\n', " / "));
        }
        s
    }

    /// Which calls' peaks (measured on `measured`) fit this machine's stack region.
    fn fit(&self, measured: &Report) -> Option<String> {
        let region = self.stack_region?;
        let (mut fit, mut not) = (Vec::new(), Vec::new());
        for (name, figures) in &measured.calls {
            match figures.peak() {
                Some(peak) if peak <= region => fit.push(name.as_str()),
                Some(peak) => not.push(format!("{name} ({} B)", group(peak))),
                None => {}
            }
        }
        Some(format!(
            "  by the peaks on {}, its {} B stack region holds: {}; not: {}",
            measured.machine.name,
            group(region),
            if fit.is_empty() {
                "none".to_owned()
            } else {
                fit.join(", ")
            },
            if not.is_empty() {
                "none".to_owned()
            } else {
                not.join(", ")
            },
        ))
    }
}

/// A firmware's failure line (`overflow`, `hardfault`, `panic`, `fail`), in words.
fn describe_failure(line: &str) -> String {
    let call = field(line, "call").unwrap_or("?");
    match line.split(' ').next() {
        Some("overflow") => format!(
            "the stack ran into the statics (.bss) during `{call}` (SP {} below the region's bottom {})",
            field(line, "sp").unwrap_or("?"),
            field(line, "stack_bottom").unwrap_or("?"),
        ),
        Some("hardfault") if field(line, "below_ram") == Some("1") => format!(
            "the stack ran off the bottom of RAM during `{call}` (HardFault: PSP {}, CFSR {})",
            field(line, "psp").unwrap_or("?"),
            field(line, "cfsr").unwrap_or("?"),
        ),
        _ => line.to_owned(),
    }
}

/// `12345678` → `12,345,678`.
fn group(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Test data

/// The client (its id, the `kid` of its key) and the issuer of grants, as the firmware knows
/// them.
const CLIENT_ID: &str = "gateway-7";
const CLIENT_KID: &str = "gw-2026";
const AS_ISSUER: &str = "https://as.example";
const TOKEN_ENDPOINT: &str = "https://as.example/token";
const GRANT_ISSUER: &str = "https://idp.example";

/// Rewrites `data/`: the public keys from the committed private ones (made when missing), and
/// every token signed by `rfc7523 sign` (the CLI of this workspace) at fixed times around
/// [`NOW`] with fixed `jti`s, so the files only change when the keys do.
fn generate(root: &Path) -> Result<(), String> {
    let data = root.join(CRATE_DIR).join("data");
    fs::create_dir_all(&data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
    for name in ["client-private.pem", "issuer-private.pem"] {
        let path = data.join(name);
        if !path.is_file() {
            let path_arg = path.to_string_lossy();
            run(
                root,
                "openssl",
                &[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                    "-out",
                    &path_arg,
                ],
                &[],
            )
            .map_err(|err| format!("openssl genpkey failed ({err})"))?;
        }
    }
    let client_private = data.join("client-private.pem");
    let issuer_private = data.join("issuer-private.pem");

    // The client's key as a JWK and as a one-key JWK Set.
    let n = modulus(root, &client_private)?;
    let jwk = format!(
        r#"{{"kty":"RSA","kid":"{CLIENT_KID}","use":"sig","alg":"RS256","n":"{}","e":"AQAB"}}"#,
        b64url(&n)
    );
    write(&data.join("client.jwk.json"), &format!("{jwk}\n"))?;
    write(
        &data.join("client.jwks.json"),
        &format!("{{\"keys\":[{jwk}]}}\n"),
    )?;
    // The issuer's as a PEM SubjectPublicKeyInfo.
    let issuer_pem = output(
        root,
        "openssl",
        &["pkey", "-in", &issuer_private.to_string_lossy(), "-pubout"],
    )?;
    write(&data.join("issuer.pem"), &issuer_pem)?;

    let now = |offset: i64| (NOW as i64 + offset).to_string();
    let client = |jti: &str, iat: String| -> Result<String, String> {
        sign(
            root,
            &[
                "--key",
                &client_private.to_string_lossy(),
                "--issuer",
                CLIENT_ID,
                "--audience",
                AS_ISSUER,
                "--client-auth",
                "--kid",
                CLIENT_KID,
                "--lifetime",
                "300",
                "--jti",
                jti,
                "--now",
                &iat,
            ],
        )
    };
    let valid = client("emb-valid", now(-10))?;
    let expired = client("emb-expired", now(-1000))?;
    let request_client = client("emb-request", now(-5))?;
    let grant = sign(
        root,
        &[
            "--key",
            &issuer_private.to_string_lossy(),
            "--issuer",
            GRANT_ISSUER,
            "--subject",
            "alice",
            "--audience",
            TOKEN_ENDPOINT,
            "--lifetime",
            "120",
            "--jti",
            "emb-grant",
            "--now",
            &now(-5),
        ],
    )?;
    let tampered = tamper(&valid)?;
    write(&data.join("client-valid.jwt"), &valid)?;
    write(&data.join("client-expired.jwt"), &expired)?;
    write(&data.join("client-tampered.jwt"), &tampered)?;
    let body = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={grant}\
         &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
         &client_assertion={request_client}"
    );
    write(&data.join("token-request.form"), &body)?;
    println!("embedded: test data written to {}", data.display());
    Ok(())
}

/// The valid assertion with its payload changed after signing: `exp` one day later.
fn tamper(token: &str) -> Result<String, String> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("not a compact JWS: {token}"));
    };
    let payload = b64url_decode(payload).ok_or("the payload is not base64url")?;
    let payload = String::from_utf8(payload).map_err(|_| "the payload is not UTF-8")?;
    let exp_start = payload.find("\"exp\":").ok_or("no exp")? + "\"exp\":".len();
    let exp_len = payload[exp_start..]
        .find(|c: char| !c.is_ascii_digit())
        .ok_or("exp is last")?;
    let exp: u64 = payload[exp_start..exp_start + exp_len]
        .parse()
        .map_err(|_| "exp is not a number")?;
    let changed = format!(
        "{}{}{}",
        &payload[..exp_start],
        exp + 86_400,
        &payload[exp_start + exp_len..]
    );
    Ok(format!(
        "{header}.{}.{signature}",
        b64url(changed.as_bytes())
    ))
}

/// `rfc7523 sign ARGS` through `cargo run`, its token without the newline.
fn sign(root: &Path, args: &[&str]) -> Result<String, String> {
    let mut full = vec!["run", "--quiet", "--package", "rfc7523-cli", "--", "sign"];
    full.extend_from_slice(args);
    let program = cargo();
    let token = output(root, &program, &full)?;
    Ok(token.trim().to_owned())
}

/// The modulus of a private key, big-endian bytes (`openssl rsa -modulus`), e = 65537 checked.
fn modulus(root: &Path, key: &Path) -> Result<Vec<u8>, String> {
    let key = key.to_string_lossy();
    let text = output(root, "openssl", &["rsa", "-in", &key, "-noout", "-text"])?;
    if !text.contains("publicExponent: 65537") {
        return Err(format!("{key}: the public exponent is not 65537"));
    }
    let line = output(root, "openssl", &["rsa", "-in", &key, "-noout", "-modulus"])?;
    let hex = line
        .trim()
        .strip_prefix("Modulus=")
        .ok_or_else(|| format!("odd `openssl rsa -modulus` output: {line}"))?;
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("?"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| format!("the modulus is not hex: {hex}"))
}

/// The standard output of a command that must succeed.
fn output(
    root: &Path,
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
) -> Result<String, String> {
    let program = program.as_ref();
    let out = Command::new(program)
        .args(args)
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("cannot start {}: {err}", program.to_string_lossy()))?;
    if !out.status.success() {
        return Err(format!(
            "`{} {}` failed ({})",
            program.to_string_lossy(),
            args.join(" "),
            out.status
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| "output is not UTF-8".to_owned())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url (RFC 4648 §5).
fn b64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(B64URL[(v >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = B64URL.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips() {
        for len in 0..10 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
            assert_eq!(b64url_decode(&b64url(&bytes)), Some(bytes));
        }
        assert_eq!(b64url(b"\xfb\xff"), "-_8");
    }

    #[test]
    fn tampering_changes_only_exp() {
        let payload = b64url(br#"{"iss":"a","exp":100,"jti":"x"}"#);
        let tampered = tamper(&format!("h.{payload}.s")).unwrap_or_default();
        let parts: Vec<&str> = tampered.split('.').collect();
        assert_eq!(parts[0], "h");
        assert_eq!(parts[2], "s");
        assert_eq!(
            b64url_decode(parts[1]).unwrap_or_default(),
            br#"{"iss":"a","exp":86500,"jti":"x"}"#.to_vec()
        );
    }

    #[test]
    fn reads_fields() {
        let line = "measure call=rsavp1 painted=6144 sampled=6100 instructions=712345";
        assert_eq!(field(line, "call"), Some("rsavp1"));
        assert_eq!(number(line, "painted"), Some(6144));
        assert_eq!(number(line, "instructions"), Some(712_345));
        assert_eq!(number(line, "ticks"), None);
    }

    #[test]
    fn a_complete_run_passes_and_a_short_one_does_not() {
        let mut out = String::from("rfc7523-embedded machine=mps2-an385 stack_region=100\n");
        for pass in PASSES {
            for line in expected_verdicts(pass) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out.push_str("done\n");
        let run = Run {
            stdout: out.clone(),
            stderr: String::new(),
            exit: Some(0),
            seconds: 1.0,
        };
        assert_eq!(Report::parse(&MACHINES[0], &run).verdict_problems(), Ok(()));
        let short = Run {
            stdout: out.replace(
                "verdict pass=paint call=client_assertion_expired err expired\n",
                "",
            ),
            ..run
        };
        assert!(Report::parse(&MACHINES[0], &short)
            .verdict_problems()
            .is_err());
    }
}
