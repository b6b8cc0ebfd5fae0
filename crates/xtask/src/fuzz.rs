//! `cargo xtask fuzz [SECONDS]` and the fuzz smoke step of `cargo xtask test`.
//!
//! The cargo-fuzz project in `fuzz/` is its own workspace, built with nightly. Before a run,
//! the seed corpora are (re)written from `tests/vectors/` into `fuzz/corpus/<target>/` (not
//! committed): tokens, payloads, keys, DER, request bodies and signed-mode inputs found in
//! the vectors, plus a few synthetic edge cases. Files libFuzzer adds to a corpus stay there
//! between runs. Each target then runs for a bounded time; a crash, leak or timeout fails
//! the run and leaves its input in `fuzz/artifacts/<target>/`.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The fuzz targets, in run order, with their libFuzzer `-max_len` (a little over the
/// largest input the crate accepts, so that the limits themselves get exercised).
pub const TARGETS: [(&str, usize); 5] = [
    ("jws_parse", 8_300),
    ("claims_parse", 6_300),
    ("key_import", 16_384),
    ("form_parse", 21_000),
    ("verify_full", 8_300),
];

/// The fixed configuration of `fuzz/src/lib.rs`, for seeds that get past its checks.
const NOW: u64 = 1_700_000_000;
const AS_ISSUER: &str = "https://as.example";
const TOKEN_ENDPOINT: &str = "https://as.example/token";
const ISSUER: &str = "https://issuer.example";
const CLIENT: &str = "s6BhdRkqt3";
const GRANT_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";
const CLIENT_ASSERTION_TYPE: &str =
    "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

/// What one target's run did, from libFuzzer's last lines.
#[derive(Debug, Clone)]
pub struct FuzzStats {
    pub target: &'static str,
    pub executions: u64,
    pub seconds: f64,
    pub corpus_files: usize,
}

/// Runs every target for `seconds` each; `Ok` with the statistics when none crashed.
pub fn run_all(root: &Path, seconds: u64) -> Result<Vec<FuzzStats>, String> {
    let fuzz_dir = root.join("fuzz");
    let counts = write_seeds(root)?;
    for (target, count) in &counts {
        println!("fuzz: {count} seed inputs for {target}");
    }
    build(&fuzz_dir)?;
    let mut stats = Vec::new();
    let mut failures = Vec::new();
    for (target, max_len) in TARGETS {
        match run_target(&fuzz_dir, target, max_len, seconds) {
            Ok(s) => stats.push(s),
            Err(e) => failures.push(e),
        }
    }
    print_stats(&stats);
    if failures.is_empty() {
        Ok(stats)
    } else {
        Err(format!("xtask fuzz: {}", failures.join("; ")))
    }
}

fn nightly_cargo(dir: &Path) -> Command {
    let mut command = Command::new("cargo");
    command.arg("+nightly").current_dir(dir);
    // Cargo and rustup set these for the stable toolchain that runs xtask.
    for var in [
        "CARGO",
        "RUSTUP_TOOLCHAIN",
        "RUSTC",
        "RUSTDOC",
        "CARGO_TARGET_DIR",
    ] {
        command.env_remove(var);
    }
    command
}

fn build(fuzz_dir: &Path) -> Result<(), String> {
    println!("==> fuzz build: cargo +nightly fuzz build");
    let start = Instant::now();
    let status = nightly_cargo(fuzz_dir)
        .args(["fuzz", "build"])
        .status()
        .map_err(|e| format!("cannot start `cargo +nightly fuzz build`: {e}"))?;
    println!("fuzz build: {:.1} s", start.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo +nightly fuzz build` failed ({status})"))
    }
}

fn run_target(
    fuzz_dir: &Path,
    target: &'static str,
    max_len: usize,
    seconds: u64,
) -> Result<FuzzStats, String> {
    let corpus = format!("corpus/{target}");
    let args = [
        "fuzz".to_owned(),
        "run".to_owned(),
        target.to_owned(),
        corpus.clone(),
        "--".to_owned(),
        format!("-max_total_time={seconds}"),
        format!("-max_len={max_len}"),
        "-timeout=20".to_owned(),
        "-rss_limit_mb=2048".to_owned(),
        "-dict=jose.dict".to_owned(),
        "-print_final_stats=1".to_owned(),
    ];
    println!("==> fuzz {target}: cargo +nightly {}", args.join(" "));
    let start = Instant::now();
    let mut child = nightly_cargo(fuzz_dir)
        .args(&args)
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start cargo fuzz run {target}: {e}"))?;
    // libFuzzer reports on stderr: pass it through, keeping the lines we read.
    let mut executions = None;
    let mut log_tail: Vec<String> = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            // Skip the per-input progress lines (`#1234 NEW ...`), keep everything else.
            let progress = line.starts_with('#') && !line.contains("DONE");
            if !progress || line.contains("pulse") {
                println!("{line}");
            }
            if let Some(n) = final_execs(&line) {
                executions = Some(n);
            }
            log_tail.push(line);
            if log_tail.len() > 40 {
                log_tail.remove(0);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo fuzz run {target}: {e}"))?;
    let elapsed = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!(
            "target {target} failed ({status}); the input is in fuzz/artifacts/{target}/"
        ));
    }
    let corpus_files = fs::read_dir(fuzz_dir.join(&corpus))
        .map(|entries| entries.count())
        .unwrap_or_default();
    Ok(FuzzStats {
        target,
        executions: executions.ok_or_else(|| {
            format!(
                "target {target}: no execution count in libFuzzer's output:\n{}",
                log_tail.join("\n")
            )
        })?,
        seconds: elapsed,
        corpus_files,
    })
}

/// `stat::number_of_executed_units: N` (from -print_final_stats) or `Done N runs in S s`.
fn final_execs(line: &str) -> Option<u64> {
    if let Some(rest) = line.strip_prefix("stat::number_of_executed_units:") {
        return rest.trim().parse().ok();
    }
    let rest = line.strip_prefix("Done ")?;
    rest.split_whitespace().next()?.parse().ok()
}

fn print_stats(stats: &[FuzzStats]) {
    if stats.is_empty() {
        return;
    }
    println!("==> fuzz summary");
    println!(
        "    {:<14} {:>14} {:>10} {:>10} {:>8}",
        "target", "executions", "wall s", "exec/s", "corpus"
    );
    for s in stats {
        println!(
            "    {:<14} {:>14} {:>10.1} {:>10.0} {:>8}",
            s.target,
            s.executions,
            s.seconds,
            s.executions as f64 / s.seconds.max(0.001),
            s.corpus_files
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------

/// What the vectors contain, found by scanning their text.
#[derive(Default)]
struct Found {
    tokens: BTreeSet<String>,
    pems: BTreeSet<String>,
    ders: BTreeSet<Vec<u8>>,
    jwks: BTreeSet<String>,
}

/// Writes the seed corpora; returns how many seeds each target got.
pub fn write_seeds(root: &Path) -> Result<Vec<(&'static str, usize)>, String> {
    let mut found = Found::default();
    let mut files = Vec::new();
    collect_files(&root.join("tests/vectors"), &mut files)?;
    for file in &files {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        scan(&text, &mut found);
    }
    if found.tokens.is_empty() || found.pems.is_empty() || found.jwks.is_empty() {
        return Err("xtask fuzz: found no tokens, PEM keys or JWKs in tests/vectors".to_owned());
    }
    let mut counts = Vec::new();
    for (target, _) in TARGETS {
        let mut seeds = seeds_for(target, &found);
        if target == "key_import" {
            seeds.extend(certificate_seeds(root)?);
        }
        let dir = root.join("fuzz/corpus").join(target);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for seed in &seeds {
            let path = dir.join(format!("seed-{:016x}", fnv1a(seed)));
            fs::write(&path, seed).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        counts.push((target, seeds.len()));
    }
    Ok(counts)
}

/// Certificates for `key_import` (the core's `x509` feature): made by `openssl req -x509`
/// (RSA-2048, P-256, Ed25519) into `target/fuzz-certificates/`, each as DER and as PEM, and
/// all three as Google's X.509 map (`kid` -> PEM certificate).
fn certificate_seeds(root: &Path) -> Result<Vec<Vec<u8>>, String> {
    let dir = root.join("target/fuzz-certificates");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut seeds = Vec::new();
    let mut members = Vec::new();
    for (name, newkey) in [
        ("rsa", &["-newkey", "rsa:2048"][..]),
        (
            "p256",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
        ),
        ("ed25519", &["-newkey", "ed25519"][..]),
    ] {
        let key = dir.join(format!("{name}.key"));
        let cert = dir.join(format!("{name}.pem"));
        let status = Command::new("openssl")
            .args(["req", "-x509", "-noenc", "-days", "365", "-subj"])
            .arg(format!("/CN={name}"))
            .args(newkey)
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("xtask fuzz: cannot run openssl ({e})"))?;
        if !status.success() {
            return Err(format!("xtask fuzz: openssl req -x509 failed for {name}"));
        }
        let pem = fs::read_to_string(&cert)
            .map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
        seeds.extend(pem_der(&pem));
        members.push(format!("\"{name}\":\"{}\"", pem.replace('\n', "\\n")));
        seeds.push(pem.into_bytes());
    }
    seeds.push(format!("{{{}}}", members.join(",")).into_bytes());
    Ok(seeds)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn scan(text: &str, found: &mut Found) {
    // Compact JWS: base64url runs with exactly two dots, starting like a JSON header.
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| !is_token_char(c))
            .unwrap_or(candidate.len());
        let token = &candidate[..end];
        if token.matches('.').count() == 2 {
            found.tokens.insert(token.to_owned());
        }
        rest = &candidate[end.max(3)..];
    }
    // PEM blocks, unescaped when they sit in a JSON string.
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let Some(end) = block.find("-----END ") else {
            break;
        };
        let Some(close) = block[end + 9..].find("-----") else {
            break;
        };
        let pem = &block[..end + 9 + close + 5];
        let pem = pem
            .replace("\\n", "\n")
            .replace("\\r", "\r")
            .replace("\\/", "/");
        if let Some(der) = pem_der(&pem) {
            found.ders.insert(der);
        }
        found.pems.insert(pem);
        rest = &block[end + 9 + close + 5..];
    }
    // Hex DER keys of Wycheproof (SPKI and PKCS#1).
    for label in ["\"keyDer\"", "\"keyAsn\""] {
        let mut rest = text;
        while let Some(at) = rest.find(label) {
            let after = &rest[at + label.len()..];
            if let Some(der) = after
                .split('"')
                .nth(1)
                .and_then(|hex| hex_decode(hex.trim()))
            {
                found.ders.insert(der);
            }
            rest = after;
        }
    }
    // JSON objects with a `kty` member (JWKs, public and private), by brace matching.
    let bytes = text.as_bytes();
    let mut stack = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => stack.push(i),
            b'}' => {
                if let Some(start) = stack.pop() {
                    let object = &text[start..=i];
                    if object.len() < 8_192 && object.contains("\"kty\"") {
                        found.jwks.insert(object.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
}

fn seeds_for(target: &str, found: &Found) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let tokens: Vec<&String> = found.tokens.iter().collect();
    match target {
        "jws_parse" => {
            seeds.extend(tokens.iter().map(|t| t.as_bytes().to_vec()));
            for extra in [
                "",
                ".",
                "..",
                "eyJhbGciOiJSUzI1NiJ9..AAAA",
                "eyJhbGciOiJub25lIn0.e30.",
                "eyJhbGciOiJSUzI1NiIsImNyaXQiOlsiZXhwIl19.e30.AAAA",
            ] {
                seeds.push(extra.as_bytes().to_vec());
            }
        }
        "claims_parse" => {
            for token in &tokens {
                if let Some(payload) = token.split('.').nth(1).and_then(b64url_decode) {
                    seeds.push(payload);
                }
            }
            for claims in synthetic_claims() {
                seeds.push(claims.into_bytes());
            }
            for extra in [
                r#"{"aud":["a","b"],"exp":1.7e9,"nbf":0.5,"iat":17000000005e-1}"#,
                r#"{"iss":"\ud83d\ude00","sub":"\u0000","jti":"\/"}"#,
                r#"{"x":[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]}"#,
                r#"{"exp":9007199254740991,"nbf":1e-400,"iat":0e999999999}"#,
                // Found by claims_parse: valid JSON that serde_json refuses (out of range).
                r#"{"+exp":2007199254547e999999999}"#,
            ] {
                seeds.push(extra.as_bytes().to_vec());
            }
        }
        "key_import" => {
            seeds.extend(found.pems.iter().map(|p| p.as_bytes().to_vec()));
            seeds.extend(found.ders.iter().cloned());
            seeds.extend(found.jwks.iter().map(|j| j.as_bytes().to_vec()));
            let publics: Vec<&String> = found
                .jwks
                .iter()
                .filter(|j| j.contains("\"RSA\"") && !j.contains("\"d\""))
                .collect();
            for window in publics.chunks(3) {
                let list: Vec<&str> = window.iter().map(|s| s.as_str()).collect();
                seeds.push(format!("{{\"keys\":[{}]}}", list.join(",")).into_bytes());
            }
        }
        "form_parse" => {
            for token in tokens.iter().take(40) {
                seeds.push(format!("grant_type={GRANT_TYPE}&assertion={token}").into_bytes());
                seeds.push(
                    format!(
                        "grant_type=authorization_code&code=abc&client_assertion_type={CLIENT_ASSERTION_TYPE}\
                         &client_assertion={token}&client_id={CLIENT}"
                    )
                    .into_bytes(),
                );
            }
            seeds.push(b"grant_type=a&grant_type=b&scope=openid+email%20x".to_vec());
            seeds.push(b"client_secret=s&client_assertion_type=x&client_assertion=y".to_vec());
        }
        "verify_full" => {
            for token in &tokens {
                let mut seed = vec![0u8, 0u8];
                seed.extend_from_slice(token.as_bytes());
                seeds.push(seed);
            }
            for (i, claims) in synthetic_claims().into_iter().enumerate() {
                for header in [
                    r#"{"alg":"RS256","typ":"JWT"}"#,
                    r#"{"alg":"RS256","typ":"client-authentication+jwt","kid":"k1"}"#,
                ] {
                    let flags = [0u8, 0x0e, 0x80, 0x41][i % 4];
                    let mut seed = vec![flags, 1u8];
                    seed.extend_from_slice(&NOW.to_le_bytes());
                    let len = u16::try_from(header.len()).unwrap_or_default();
                    seed.extend_from_slice(&len.to_le_bytes());
                    seed.extend_from_slice(header.as_bytes());
                    seed.extend_from_slice(claims.as_bytes());
                    seeds.push(seed);
                }
            }
        }
        _ => {}
    }
    seeds.sort();
    seeds.dedup();
    seeds
}

/// Claim sets that pass (or just miss) the fixed profiles of `fuzz/src/lib.rs`.
fn synthetic_claims() -> Vec<String> {
    let exp = NOW + 120;
    let iat = NOW - 10;
    let mut out = Vec::new();
    for (iss, sub, aud) in [
        (ISSUER, "alice", format!("\"{TOKEN_ENDPOINT}\"")),
        (ISSUER, "alice", format!("[\"{AS_ISSUER}\",\"other\"]")),
        (CLIENT, CLIENT, format!("\"{AS_ISSUER}\"")),
        (CLIENT, CLIENT, format!("[\"{AS_ISSUER}\"]")),
    ] {
        out.push(format!(
            r#"{{"iss":"{iss}","sub":"{sub}","aud":{aud},"exp":{exp},"iat":{iat},"jti":"j-1"}}"#
        ));
        out.push(format!(
            r#"{{"iss":"{iss}","sub":"{sub}","aud":{aud},"exp":{exp}.5,"nbf":{iat}}}"#
        ));
    }
    out
}

fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace())
        .collect();
    base64_decode(body.trim_end_matches('='), false)
}

fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    base64_decode(text, true)
}

/// Lenient base64 (standard or URL alphabet, no padding) for seed extraction only.
fn base64_decode(text: &str, url: bool) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' if url => 62,
            b'_' if url => 63,
            b'+' if !url => 62,
            b'/' if !url => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in text.as_bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.is_empty() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
