//! The Python side of the tests: a virtual environment with Google's `google-auth` and
//! `authlib`, pinned with hashes in `tests/google-auth/requirements.txt`. The service-account
//! grants of `rfc7523 sign --service-account` and of the npm package are compared with
//! google-auth's (`crates/rfc7523-cli/tests/google_service_account.rs`,
//! `bindings/wasm/js/test/service-account.test.mjs`); both libraries ask the Worker example
//! for tokens (`www/test/real-clients.test.mjs`, through `www/test/real_clients.py`).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::{apt_install, probe, run};

/// The requirements file (every package `==` pinned, `--hash`ed), relative to the root.
const REQUIREMENTS: &str = "tests/google-auth/requirements.txt";

/// The virtual environment, relative to the root; the tests run its `bin/python`.
const VENV_DIR: &str = "target/google-auth-venv";

/// A copy of the requirements the venv was installed from: the stamp of an install that
/// finished. A missing or different copy means (re)install.
const STAMP: &str = ".rfc7523-requirements.txt";

/// Installs, when missing or when `requirements.txt` changed: `python3 -m venv` (Debian's
/// `python3-venv` first, where the machine's Python has no `venv`), then `pip install
/// --require-hashes --only-binary :all:` of the pinned packages. Idempotent: an unchanged
/// install is left alone.
pub(crate) fn setup(root: &Path) -> Result<(), String> {
    let requirements = read(&root.join(REQUIREMENTS))?;
    let venv = root.join(VENV_DIR);
    let stamp = venv.join(STAMP);
    let python = venv_python(root);
    if python.is_file() && fs::read(&stamp).is_ok_and(|installed| installed == requirements) {
        println!(
            "setup: google-auth venv ({VENV_DIR}): already installed (requirements unchanged)"
        );
        return Ok(());
    }
    if probe(root, "python3", &["-m", "venv", "--help"]).is_none() {
        apt_install(root, &["python3", "python3-venv"])?;
    }
    let start = Instant::now();
    if venv.exists() {
        fs::remove_dir_all(&venv)
            .map_err(|err| format!("xtask setup: cannot remove {}: {err}", venv.display()))?;
    }
    run(root, "python3", &["-m", "venv", VENV_DIR], &[])
        .map_err(|err| format!("xtask setup: `python3 -m venv {VENV_DIR}` failed ({err})"))?;
    let args = [
        "-m",
        "pip",
        "install",
        "--require-hashes",
        "--only-binary",
        ":all:",
        "--no-input",
        "--disable-pip-version-check",
        "-r",
        REQUIREMENTS,
    ];
    println!(
        "setup: google-auth venv: {} {}",
        python.display(),
        args.join(" ")
    );
    let quiet = [("PIP_NO_INPUT", OsString::from("1"))];
    run(root, &python, &args, &quiet).map_err(|err| {
        format!(
            "xtask setup: `{} {}` failed ({err})",
            python.display(),
            args.join(" ")
        )
    })?;
    let version = probe(
        root,
        &python,
        &[
            "-c",
            "import authlib, google.auth, requests; \
             print('google-auth', google.auth.__version__, 'authlib', authlib.__version__)",
        ],
    )
    .ok_or_else(|| {
        "xtask setup: google-auth, authlib or requests does not import after its install".to_owned()
    })?;
    fs::write(&stamp, &requirements)
        .map_err(|err| format!("xtask setup: cannot write {}: {err}", stamp.display()))?;
    println!(
        "setup: google-auth venv: installed ({version}) in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The venv's interpreter.
fn venv_python(root: &Path) -> PathBuf {
    root.join(VENV_DIR).join("bin/python")
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|err| format!("xtask setup: cannot read {}: {err}", path.display()))
}
