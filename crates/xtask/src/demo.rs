//! `cargo xtask demo`: builds the npm package (the `web` build is what the page loads) and
//! serves the demo page `www/` on loopback, with the package under `/pkg/`.
//!
//! The server is a small static file server in std: `GET`/`HEAD` only, one request per
//! connection, a thread per connection, files only from `www/` and `bindings/wasm/pkg/`,
//! correct MIME types (`application/wasm` for `instantiateStreaming`), and a
//! Content-Security-Policy that allows nothing but this origin, so the page provably makes no
//! external requests. It binds 127.0.0.1 only and runs until interrupted (Ctrl-C).
//!
//! `--port 0` picks a free port; the address line (`rfc7523 demo: http://127.0.0.1:PORT/`)
//! is printed once the socket listens, which is what the browser test waits for.
//! `--no-build` serves the package as it is (the tests build it in an earlier step).
//!
//! [`setup`] installs Debian's `chromium` for the browser test, and [`test_steps`] are the
//! browser and Worker tests of `cargo xtask test` (`www/test/`).

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::thread;
use std::time::Duration;

use super::{apt_install, cargo, probe, run, wasm, Step, WORKSPACE_TEST};

/// The port of `cargo xtask demo` without `--port`.
const DEFAULT_PORT: u16 = 8080;

/// The demo page, relative to the workspace root.
const WWW_DIR: &str = "www";

/// The built npm package, served under [`PKG_PREFIX`].
const PKG_DIR: &str = "bindings/wasm/pkg";

/// URL prefix of the package.
const PKG_PREFIX: &str = "/pkg/";

/// Debian's Chromium, driven by playwright-core in the browser test.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Longest request head read (request line and headers).
const MAX_REQUEST_HEAD: u64 = 16 * 1024;

/// Only this origin: scripts, styles, images, the `.wasm` fetch. `'wasm-unsafe-eval'` lets
/// the page compile WebAssembly; nothing else is relaxed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

const USAGE: &str = "usage: cargo xtask demo [--port PORT] [--no-build]";

/// `cargo xtask demo [--port PORT] [--no-build]`.
pub(crate) fn main(root: &Path, args: &[String]) -> Result<(), String> {
    let mut port = DEFAULT_PORT;
    let mut build = true;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|value| value.parse().ok())
                    .ok_or_else(|| format!("xtask demo: --port takes a port number\n{USAGE}"))?;
            }
            "--no-build" => build = false,
            other => return Err(format!("xtask demo: unknown argument `{other}`\n{USAGE}")),
        }
    }
    if build {
        wasm::setup(root)?;
        wasm::build(root)?;
    }
    let site = Site::new(root)?;
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .map_err(|err| format!("xtask demo: cannot listen on 127.0.0.1:{port}: {err}"))?;
    let address = listener
        .local_addr()
        .map_err(|err| format!("xtask demo: {err}"))?;
    println!(
        "rfc7523 demo: http://{address}/ (serving {WWW_DIR}/ and {PKG_DIR}/ as {PKG_PREFIX}; Ctrl-C stops)"
    );
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let site = site.clone();
        thread::spawn(move || {
            // A broken connection concerns only its client.
            let _ = serve(&site, stream);
        });
    }
    Ok(())
}

/// Installs Debian's Chromium (`apt-get`) when `/usr/bin/chromium` is missing.
pub(crate) fn setup(root: &Path) -> Result<(), String> {
    if Path::new(CHROMIUM).is_file() {
        let version = probe(root, CHROMIUM, &["--version"]).unwrap_or_default();
        println!("setup: chromium: already present ({version})");
        return Ok(());
    }
    apt_install(root, &["chromium"])?;
    let version = probe(root, CHROMIUM, &["--version"]).ok_or_else(|| {
        format!("xtask setup: `{CHROMIUM} --version` fails after apt-get install")
    })?;
    println!("setup: chromium: installed (apt-get install -y chromium; {version})");
    Ok(())
}

/// The demo's checks in `cargo xtask test` (after `wasm package`, which builds the package):
/// the page in headless Chromium, served by this very server (the test starts this xtask
/// binary with `demo --no-build --port 0`), and the Worker example in workerd (wrangler's
/// bundle in Miniflare, two instances sharing the Durable Object, then `wrangler dev`; its
/// clients in D1, set up with `wrangler d1`; the injected faults; the hostile-HTTP table; remote
/// key sets from a loopback key server, shared through the Cache API), real
/// OAuth client libraries against the Worker (Python's from the venv of [`crate::python`],
/// Node's from `npm ci`), the README's flows (its `sh` blocks run with bash against `wrangler
/// dev`, see [`readme_flows`]), then the Worker under load.
pub(crate) fn test_steps() -> Vec<Step> {
    let env = node_env();
    let worker_env = worker_env();
    vec![
        Step {
            program: "node".into(),
            args: vec!["--test", "www/test/browser.test.mjs"],
            env,
            ..Step::cargo("demo page (chromium)", &[])
        },
        Step {
            program: "node".into(),
            args: vec![
                "--test",
                "www/test/worker.test.mjs",
                "www/test/worker-d1.test.mjs",
                "www/test/worker-faults.test.mjs",
                "www/test/worker-hostile.test.mjs",
                // Remote key sets, a loopback key server: about 12 s (5 of them a hang).
                "www/test/worker-remote.test.mjs",
            ],
            env: worker_env.clone(),
            ..Step::cargo("worker (workerd)", &[])
        },
        // google-auth, authlib, google-auth-library, oauth4webapi and openid-client asking the
        // Worker for tokens: about 15 s here.
        Step {
            program: "node".into(),
            args: vec!["--test", "www/test/real-clients.test.mjs"],
            env: worker_env.clone(),
            ..Step::cargo("real clients (workerd)", &[])
        },
        // The README's flows, its sh blocks run with bash against `wrangler dev`: about 4 s.
        Step::task(
            "README flows (workerd)",
            "node --test www/test/readme-flows.test.mjs",
            readme_flows,
        ),
        // Bounded (about 20-40 s here, 60 s at most: the test's own timeout), and alone, so
        // that nothing else shares the two cores while it measures.
        Step {
            program: "node".into(),
            args: vec!["--test", "www/test/worker-load.test.mjs"],
            env: worker_env,
            ..Step::cargo("worker load (workerd)", &[])
        },
    ]
}

/// The environment of the `node --test` steps: no telemetry, and this xtask binary (the browser
/// test starts its demo server).
fn node_env() -> Vec<(&'static str, OsString)> {
    let mut env = wasm::node_env();
    if let Ok(exe) = std::env::current_exe() {
        env.push(("RFC7523_XTASK", exe.into_os_string()));
    }
    env
}

/// [`node_env`] for the Worker tests' tools: no banner (so no update check), no `request.cf`
/// fetch.
fn worker_env() -> Vec<(&'static str, OsString)> {
    let mut env = node_env();
    env.push(("WRANGLER_HIDE_BANNER", "true".into()));
    env.push(("CLOUDFLARE_CF_FETCH_ENABLED", "false".into()));
    env
}

/// `www/test/readme-flows.test.mjs`, whose bash scripts (the README's flows) run `rfc7523`:
/// the command of the workspace tests' build (`cargo test` with [`WORKSPACE_TEST`]'s arguments,
/// `--no-run`: nothing to build after the `test` step), given as `RFC7523_CLI`. Without it the
/// test would `cargo build -p rfc7523-cli`, another feature set, so a second build of the core.
fn readme_flows(root: &Path) -> Result<(), String> {
    let mut args = WORKSPACE_TEST.to_vec();
    args.extend(["--no-run", "--quiet"]);
    run(root, cargo(), &args, &[]).map_err(|err| format!("cargo {}: {err}", args.join(" ")))?;
    let cli = root.join("target/debug/rfc7523");
    if !cli.is_file() {
        return Err(format!(
            "{} is missing after `cargo {}`",
            cli.display(),
            args.join(" ")
        ));
    }
    let mut env = worker_env();
    env.push(("RFC7523_CLI", cli.into_os_string()));
    run(
        root,
        "node",
        &["--test", "www/test/readme-flows.test.mjs"],
        &env,
    )
}

/// Where files come from.
#[derive(Clone, Debug)]
struct Site {
    www: PathBuf,
    pkg: PathBuf,
}

impl Site {
    fn new(root: &Path) -> Result<Self, String> {
        let www = root.join(WWW_DIR);
        let pkg = root.join(PKG_DIR);
        if !www.join("index.html").is_file() {
            return Err(format!(
                "xtask demo: {}/index.html is missing",
                www.display()
            ));
        }
        // The page imports both web builds: verification and the signer of its samples.
        for file in ["web/rfc7523.js", "sign/web/rfc7523_sign.js"] {
            if !pkg.join(file).is_file() {
                return Err(format!(
                    "xtask demo: {}/{file} is missing: run `cargo xtask demo` without --no-build (or `cargo xtask wasm`)",
                    pkg.display()
                ));
            }
        }
        Ok(Self { www, pkg })
    }

    /// The file for a URL path, or `None` when the path is not one we serve.
    fn resolve(&self, url_path: &str) -> Option<PathBuf> {
        let decoded = percent_decode(url_path)?;
        let (base, rest) = match decoded.strip_prefix(PKG_PREFIX) {
            Some(rest) => (&self.pkg, rest),
            None => (&self.www, decoded.strip_prefix('/')?),
        };
        let relative = Path::new(rest);
        // Plain names only: no `..`, no root, no drive, no backslashes, no hidden files.
        let plain = relative.components().all(|c| match c {
            Component::Normal(name) => name
                .to_str()
                .is_some_and(|name| !name.starts_with('.') && !name.contains('\\')),
            _ => false,
        });
        if !plain {
            return None;
        }
        let path = base.join(relative);
        if path.is_dir() {
            return Some(path.join("index.html"));
        }
        Some(path)
    }
}

/// Answers one request and closes the connection.
fn serve(site: &Site, stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?.take(MAX_REQUEST_HEAD));
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers (nothing in them matters here).
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return respond(
            stream,
            400,
            "text/plain; charset=utf-8",
            b"bad request\n",
            false,
        );
    };
    let head = method == "HEAD";
    if method != "GET" && !head {
        return respond(
            stream,
            405,
            "text/plain; charset=utf-8",
            b"only GET and HEAD\n",
            false,
        );
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let file = site
        .resolve(path)
        .and_then(|file| fs::read(&file).ok().map(|bytes| (file, bytes)));
    match file {
        Some((file, bytes)) => respond(stream, 200, content_type(&file), &bytes, head),
        None => respond(
            stream,
            404,
            "text/plain; charset=utf-8",
            b"not found\n",
            head,
        ),
    }
}

fn respond(
    mut stream: TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    head: bool,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "",
    };
    let allow = if status == 405 {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let header = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Content-Type: {content_type}\r\n\
         Content-Length: {}\r\n\
         Cache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Content-Security-Policy: {CONTENT_SECURITY_POLICY}\r\n\
         Referrer-Policy: no-referrer\r\n\
         {allow}Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes())?;
    if !head {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// The MIME type by extension (`application/wasm` matters: `instantiateStreaming` needs it).
fn content_type(path: &Path) -> &'static str {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let extension = name.rsplit('.').next().unwrap_or_default();
    match extension {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "toml" | "md" | "ts" | "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `%XX` decoding of a URL path; `None` for bad escapes, NUL or non-UTF-8 results.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    if out.contains(&0) {
        return None;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            www: PathBuf::from("/srv/www"),
            pkg: PathBuf::from("/srv/pkg"),
        }
    }

    #[test]
    fn paths_map_to_www_and_pkg_only() {
        let site = site();
        assert_eq!(
            site.resolve("/app.js"),
            Some(PathBuf::from("/srv/www/app.js"))
        );
        assert_eq!(
            site.resolve("/pkg/web/rfc7523_bg.wasm"),
            Some(PathBuf::from("/srv/pkg/web/rfc7523_bg.wasm"))
        );
        assert_eq!(
            site.resolve("/pkg/sign/web/rfc7523_sign_bg.wasm"),
            Some(PathBuf::from("/srv/pkg/sign/web/rfc7523_sign_bg.wasm"))
        );
        assert_eq!(
            site.resolve("/a%20b.css"),
            Some(PathBuf::from("/srv/www/a b.css"))
        );
        for bad in [
            "/../Cargo.toml",
            "/pkg/../../Cargo.toml",
            "/%2e%2e/Cargo.toml",
            "/.git/config",
            "//etc/passwd",
            "/a%5c..%5cb",
            "/a%00",
            "/%zz",
            "relative",
        ] {
            assert_eq!(site.resolve(bad), None, "{bad}");
        }
    }

    #[test]
    fn mime_types() {
        assert_eq!(content_type(Path::new("x/a.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("a.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("index.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
    }
}
