//! The JavaScript side: `cargo xtask wasm` builds the npm package `rfc7523` from
//! `bindings/wasm`, [`setup`] installs its tools, and [`test_steps`] are its checks in
//! `cargo xtask test`.
//!
//! The binding crate gives three WebAssembly modules ([`MODULES`]): the main one,
//! verification only with every algorithm (`--features all-algorithms`); the `rfc7523/rs256`
//! one, the same verifier with RS256 only (default features, `compact-sha256` and `fewer-rsa-widths`: the
//! smallest, for the 64 KiB budget); and the `rfc7523/sign` one, `signAssertion` only (`--no-default-features
//! --features sign`), so that verifiers never download the signing code. The package (`bindings/wasm/pkg/`, git-ignored) is one npm package with a folder per
//! wasm-bindgen target and module, and an `exports` map that picks one:
//!
//! | folder (main / sign) | wasm-bindgen target | chosen by |
//! |---|---|---|
//! | `nodejs/`, `sign/nodejs/` | `nodejs` (CommonJS, loads the `.wasm` with `fs`) | the `node` condition |
//! | `workers/`, `sign/workers/` | `web` glue + `initSync` on an imported `WebAssembly.Module` (main: a build of its own, with `platform-rsa`; sign: its `web/`) | `workerd` (wrangler, workerd) |
//! | `web/`, `sign/web/` | `web` (ES module, `init()` / `initSync()`) | the `./web`, `./sign/web` subpaths |
//! | `bundler/`, `sign/bundler/` | `bundler` (ES module importing the `.wasm`) | everything else |
//!
//! `AssertionError` is one class per target: it is defined once, in the main module's
//! `inline_js` snippet, and the sign entry points re-export that very file (which loads no
//! WebAssembly), so `instanceof` holds whichever entry it was imported from. The rs256 module
//! has the same snippet (the same Rust source): its copy becomes a re-export of the main
//! module's file ([`relink_snippets`]), so it throws that one class too.
//!
//! Steps: `wasm-pack build` per module and target with the size-tuned `wasm-release` profile
//! (wasm-pack uses the pinned `wasm-bindgen` CLI on `PATH` and downloads nothing: `--mode
//! no-install`, `--no-opt`), then `wasm-opt -Oz` from the pinned npm `binaryen` (not Debian's,
//! which breaks the externref table), then the packaging (see [`assemble`]), then a load test
//! of every optimised module and target and the size table
//! (`bindings/wasm/js/tools/check-package.mjs`).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::{apt_install, cargo, ensure_target, probe, run, Step};

/// Rust target of the bindings.
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The wasm-bindgen CLI: exactly the `wasm-bindgen = "=…"` pin of the root `Cargo.toml`
/// (checked against `Cargo.lock` by [`setup`]).
const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// wasm-pack, pinned.
const WASM_PACK_VERSION: &str = "0.15.1";

/// The cargo profile of the package (root `Cargo.toml`: `opt-level = "z"`, LTO, one codegen
/// unit, `panic = "abort"`).
const PROFILE: &str = "wasm-release";

/// The cargo profile of the builds with `platform-rsa` (root `Cargo.toml`: [`PROFILE`] at
/// `opt-level = 3`): no size budget there, and the JWT work around node:crypto's RSA is most
/// of what is left of a verification.
const SPEED_PROFILE: &str = "wasm-speed";

/// The binding crate, relative to the workspace root.
const CRATE_DIR: &str = "bindings/wasm";

/// The npm side (tests, tools, pinned `package-lock.json`), relative to the workspace root.
const JS_DIR: &str = "bindings/wasm/js";

/// The built package, relative to the workspace root (git-ignored).
const PKG_DIR: &str = "bindings/wasm/pkg";

/// File names of the main module's generated files (`rfc7523.js`, `rfc7523_bg.wasm`, …).
const OUT_NAME: &str = "rfc7523";

/// One WebAssembly module built from the binding crate.
#[derive(Clone, Copy, Debug)]
struct WasmModule {
    /// File names of its generated files (`<out_name>.js`, `<out_name>_bg.wasm`, …).
    out_name: &'static str,
    /// Its folder in the package (`""`: the package root), holding one folder per target.
    dir: &'static str,
    /// Cargo arguments selecting its features.
    cargo_args: &'static [&'static str],
    /// Builds (folders) with the `platform-rsa` feature too (node:crypto's RSA where it
    /// exists), built with [`SPEED_PROFILE`].
    platform_rsa_targets: &'static [&'static str],
    /// Whether `workers/` holds a build of its own (`web` glue, [`WORKERS_BUILD`]); otherwise
    /// the Workers entry uses the `web` build.
    own_workers_build: bool,
    /// Whether its `inline_js` snippets (the verifier's `AssertionError` and helpers) become
    /// re-exports of the main module's identical files of the same folder, so that one class
    /// is thrown and exported whichever entry is used ([`relink_snippets`]). Its `workers/`
    /// folder then holds only glue (over the main module's Workers snippets) and instantiates
    /// the `web` build's `.wasm`.
    shares_snippets: bool,
    /// What the Workers entry and the TypeScript re-export (besides `AssertionError`).
    exports: &'static str,
}

/// The main module (verification only, every algorithm) first: the others re-export its
/// `AssertionError`.
const MODULES: [WasmModule; 3] = [
    WasmModule {
        out_name: OUT_NAME,
        dir: "",
        cargo_args: &["--features", "all-algorithms,remote,claim-conditions"],
        // Not `web`: browsers have no node:crypto to use. Workers have it with the
        // `nodejs_compat` flag: their own build.
        platform_rsa_targets: &["nodejs", "bundler", "workers"],
        own_workers_build: true,
        shares_snippets: false,
        exports: "AssertionVerifier, errorClass",
    },
    // `rfc7523/rs256`: the same verifier with RS256 only, for deployments that count bytes
    // (browsers, bundles): the 64 KiB budget. One cargo build serves its three targets (no
    // `platform-rsa`: in Node, where bytes do not count, the main module is the one to use),
    // so it costs one extra build, not four; its Workers entry is glue over the `web` .wasm.
    WasmModule {
        out_name: "rfc7523_rs256",
        dir: "rs256",
        cargo_args: &["--features", "compact-sha256,fewer-rsa-widths"],
        platform_rsa_targets: &[],
        own_workers_build: true,
        shares_snippets: true,
        exports: "AssertionVerifier, errorClass",
    },
    WasmModule {
        out_name: "rfc7523_sign",
        dir: "sign",
        cargo_args: &["--no-default-features", "--features", "sign"],
        platform_rsa_targets: &[],
        own_workers_build: false,
        shares_snippets: false,
        exports: "signAssertion",
    },
];

/// The npm package name.
const PACKAGE_NAME: &str = "rfc7523";

/// wasm-bindgen targets built (each into the folder of its name), and whether their glue is
/// an ES module.
const TARGETS: [(&str, Glue); 3] = [
    ("web", Glue::Esm),
    ("nodejs", Glue::CommonJs),
    ("bundler", Glue::Esm),
];

/// The folder of a module's own Workers build ([`WasmModule::own_workers_build`]): the `web`
/// target's glue, instantiated by `workers/index.js`.
const WORKERS_BUILD: &str = "workers";

/// Features of the wasm that `wasm-opt` must keep (Rust's defaults for `wasm32-unknown-unknown`;
/// wasm-bindgen's glue relies on reference types for its externref table).
const WASM_OPT_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Glue {
    Esm,
    CommonJs,
}

/// Installs, if missing: the wasm32 target, `wasm-bindgen-cli` (with
/// `wasm-bindgen-test-runner`) at [`WASM_BINDGEN_VERSION`], wasm-pack at
/// [`WASM_PACK_VERSION`], and the npm dependencies of `bindings/wasm/js` (`npm ci`: jose,
/// miniflare/workerd, typescript, binaryen).
pub(crate) fn setup(root: &Path) -> Result<(), String> {
    ensure_target(root, WASM_TARGET)?;
    check_lock_pin(root)?;
    // TOOLCHAIN.md: `--locked` fails for wasm-bindgen-cli (a locked dependency version is
    // not served), so it is installed without it.
    ensure_binary(
        root,
        "wasm-bindgen",
        "wasm-bindgen-cli",
        WASM_BINDGEN_VERSION,
        false,
    )?;
    ensure_binary(root, "wasm-pack", "wasm-pack", WASM_PACK_VERSION, true)?;
    ensure_node(root)?;
    ensure_npm_ci(root)
}

/// The checks of `cargo xtask test`, in order: build the package (which load-tests it), the
/// `wasm-bindgen-test` tests under Node (with `--features sign`: verification and signing in
/// one test module; and the Wycheproof RSA vectors through the core on wasm32), and the
/// `node --test` suite (API, jose interop, `tsc`, workerd).
pub(crate) fn test_steps() -> Vec<Step> {
    let runner = cargo_bin("wasm-bindgen-test-runner");
    vec![
        Step::cargo("wasm package", &["xtask", "wasm"]),
        Step {
            env: vec![
                ("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", runner),
                ("WASM_BINDGEN_TEST_ONLY_NODE", "1".into()),
            ],
            ..Step::cargo(
                "wasm-bindgen-test",
                &[
                    "test",
                    "-p",
                    "rfc7523-wasm",
                    "--target",
                    WASM_TARGET,
                    // Both modules' exports: the tests sign, then verify; the node:crypto
                    // RSA of the nodejs build; every algorithm of the main module.
                    "--features",
                    "sign,platform-rsa,all-algorithms,claim-conditions",
                    "--test",
                    "node",
                    // Every Wycheproof RSA verify case on wasm32 (the radix-2^27 arithmetic),
                    // and the PS256, ES256 and Ed25519 files.
                    "--test",
                    "wycheproof",
                ],
            )
        },
        Step {
            program: "npm".into(),
            args: vec!["--prefix", JS_DIR, "test"],
            env: node_env(),
            ..Step::cargo("node tests", &[])
        },
    ]
}

/// `cargo xtask wasm`: builds, optimises, packages and load-tests `bindings/wasm/pkg/`.
pub(crate) fn build(root: &Path) -> Result<(), String> {
    let pkg = root.join(PKG_DIR);
    if pkg.exists() {
        fs::remove_dir_all(&pkg)
            .map_err(|err| format!("xtask wasm: cannot remove {}: {err}", pkg.display()))?;
    }
    let wasm_opt = root.join(JS_DIR).join("node_modules/.bin/wasm-opt");
    if !wasm_opt.is_file() {
        return Err(format!(
            "xtask wasm: {} is missing: run `cargo xtask setup` (npm ci in {JS_DIR})",
            wasm_opt.display()
        ));
    }
    let path = path_with_cargo_bin();
    let wasm_pack = cargo_bin("wasm-pack");
    for module in MODULES {
        let mut optimised: Option<(Vec<u8>, Vec<u8>)> = None;
        let workers = module
            .own_workers_build
            .then_some((WORKERS_BUILD, "web", Glue::Esm));
        let builds = TARGETS
            .iter()
            .map(|&(target, glue)| (target, target, glue))
            .chain(workers);
        for (folder, target, kind) in builds {
            let out_dir = pkg.join(module.dir).join(folder);
            let out = out_dir.to_string_lossy().into_owned();
            let platform_rsa = module.platform_rsa_targets.contains(&folder);
            let mut args = vec![
                "build",
                CRATE_DIR,
                "--target",
                target,
                "--out-dir",
                &out,
                "--out-name",
                module.out_name,
                "--profile",
                if platform_rsa { SPEED_PROFILE } else { PROFILE },
                "--no-opt",
                "--no-pack",
                "--no-gitignore",
                "--mode",
                "no-install",
            ];
            let mut cargo_args = module.cargo_args.to_vec();
            if platform_rsa {
                cargo_args.extend(["--features", "platform-rsa"]);
            }
            if !cargo_args.is_empty() {
                // wasm-pack hands what follows `--` to `cargo build`.
                args.push("--");
                args.extend(cargo_args);
            }
            println!("xtask wasm: wasm-pack {}", args.join(" "));
            run(root, &wasm_pack, &args, &[("PATH", path.clone())]).map_err(|err| {
                format!("xtask wasm: `wasm-pack {}` failed ({err})", args.join(" "))
            })?;
            let wasm_file = out_dir.join(format!("{}_bg.wasm", module.out_name));
            let raw = read(&wasm_file)?;
            // Targets with the same features differ only in their JS glue; optimise one
            // identical module once.
            match &optimised {
                Some((input, output)) if *input == raw => write(&wasm_file, output)?,
                _ => {
                    optimise(root, &wasm_opt, &wasm_file)?;
                    optimised = Some((raw, read(&wasm_file)?));
                }
            }
            finish_target(&pkg, module, folder, kind)?;
            if module.shares_snippets && folder == WORKERS_BUILD {
                // Glue only: the Workers entry instantiates the `web` build's identical .wasm.
                for file in [
                    format!("{}_bg.wasm", module.out_name),
                    format!("{}_bg.wasm.d.ts", module.out_name),
                ] {
                    let path = out_dir.join(file);
                    fs::remove_file(&path).map_err(|err| {
                        format!("xtask wasm: cannot remove {}: {err}", path.display())
                    })?;
                }
            }
        }
    }
    assemble(root, &pkg)?;
    run(
        root,
        "node",
        &[&format!("{JS_DIR}/tools/check-package.mjs"), PKG_DIR],
        &node_env(),
    )
    .map_err(|err| format!("xtask wasm: the optimised package fails its load test ({err})"))?;
    println!("xtask wasm: package ready in {PKG_DIR}/ (npm pack / npm publish from there)");
    Ok(())
}

/// `wasm-opt -Oz` in place, twice: the second pass finds more to fold in the first one's
/// output (measured on the web module: 65,551 -> 65,372 B gzip -9; a third pass adds nothing,
/// `--converge` made it larger).
fn optimise(root: &Path, wasm_opt: &Path, wasm_file: &Path) -> Result<(), String> {
    let file = wasm_file.to_string_lossy().into_owned();
    let mut args = vec![file.as_str(), "-Oz", "--strip-debug", "--strip-producers"];
    args.extend(WASM_OPT_FEATURES);
    args.extend(["-o", file.as_str()]);
    for _ in 0..2 {
        println!("xtask wasm: wasm-opt {}", args.join(" "));
        run(root, wasm_opt, &args, &[])
            .map_err(|err| format!("xtask wasm: wasm-opt failed on {file} ({err})"))?;
    }
    Ok(())
}

/// Per module and target: exports `AssertionError` from the entry point (wasm-bindgen keeps
/// `inline_js` classes private), makes the nodejs snippets CommonJS (so Node before 20.19 /
/// 22.12, without `require(esm)`, loads it), and marks the folder's module type. The class
/// is the main module's snippet of the same target; the sign module (which has no snippet
/// of its own) re-exports that file, so both entry points hand out one class.
fn finish_target(pkg: &Path, module: WasmModule, target: &str, glue: Glue) -> Result<(), String> {
    let out_dir = pkg.join(module.dir).join(target);
    let main_dir = pkg.join(target);
    if module.shares_snippets {
        relink_snippets(&out_dir, &main_dir, module, target, glue)?;
    }
    let snippet = find_error_snippet(&main_dir)?;
    let own = module.dir.is_empty();
    if !own && !module.shares_snippets && out_dir.join("snippets").exists() {
        return Err(format!(
            "xtask wasm: {} has snippets of its own; AssertionError must come from {}",
            out_dir.display(),
            main_dir.display()
        ));
    }
    // From `<dir>/<target>/` back to the package root.
    let up = "../".repeat(Path::new(module.dir).components().count() + 1);
    let in_target = snippet
        .strip_prefix(&main_dir)
        .map_err(|_| "xtask wasm: snippet outside its package".to_owned())?
        .to_string_lossy()
        .replace('\\', "/");
    let relative = if own {
        format!("./{in_target}")
    } else {
        format!("{up}{target}/{in_target}")
    };
    let entry = out_dir.join(format!("{}.js", module.out_name));
    let mut text = fs::read_to_string(&entry)
        .map_err(|err| format!("xtask wasm: cannot read {}: {err}", entry.display()))?;
    let module_type = match glue {
        Glue::Esm => {
            text.push_str(&format!(
                "\n// Added by `cargo xtask wasm`: the error class, for `instanceof`.\nexport {{ AssertionError }} from '{relative}';\n"
            ));
            "module"
        }
        Glue::CommonJs => {
            if own {
                // Every snippet: the error class's, and the node:crypto RSA's (platform-rsa).
                for dir in read_dir(&out_dir.join("snippets"))? {
                    for file in read_dir(&dir)? {
                        let source = fs::read_to_string(&file).map_err(|err| {
                            format!("xtask wasm: cannot read {}: {err}", file.display())
                        })?;
                        write(&file, to_commonjs(&source)?.as_bytes())?;
                    }
                }
            }
            text.push_str(&format!(
                "\n// Added by `cargo xtask wasm`: the error class, for `instanceof`.\nexports.AssertionError = require('{relative}').AssertionError;\n"
            ));
            "commonjs"
        }
    };
    write(&entry, text.as_bytes())?;
    let types = out_dir.join(format!("{}.d.ts", module.out_name));
    add_disposable_reference(&types)?;
    if !own && !module.shares_snippets {
        // The declaration of the class is the main module's (a module with the verifier's
        // snippets declares the same class itself, in its TypeScript section).
        let mut text = fs::read_to_string(&types)
            .map_err(|err| format!("xtask wasm: cannot read {}: {err}", types.display()))?;
        text.push_str(&format!(
            "export {{ AssertionError }} from '{up}{target}/{OUT_NAME}.js';\n"
        ));
        write(&types, text.as_bytes())?;
    }
    write(
        &out_dir.join("package.json"),
        format!("{{\n  \"type\": \"{module_type}\"\n}}\n").as_bytes(),
    )
}

/// Makes each `inline_js` snippet of `module` (a module with [`WasmModule::shares_snippets`])
/// a re-export of the main module's identical file in `main_dir` (for CommonJS glue, once
/// made CommonJS), so that the `AssertionError` it throws is the class the main entry exports.
/// The snippet files stay where the glue and, for the `bundler` target, the .wasm's own
/// imports look for them.
fn relink_snippets(
    out_dir: &Path,
    main_dir: &Path,
    module: WasmModule,
    target: &str,
    glue: Glue,
) -> Result<(), String> {
    // From `<dir>/<target>/snippets/<crate>/` back to the package root.
    let up = "../".repeat(Path::new(module.dir).components().count() + 3);
    let mut main_files = Vec::new();
    for dir in read_dir(&main_dir.join("snippets"))? {
        for file in read_dir(&dir)? {
            let text = fs::read_to_string(&file)
                .map_err(|err| format!("xtask wasm: cannot read {}: {err}", file.display()))?;
            main_files.push((file, text));
        }
    }
    for dir in read_dir(&out_dir.join("snippets"))? {
        for file in read_dir(&dir)? {
            let mut text = fs::read_to_string(&file)
                .map_err(|err| format!("xtask wasm: cannot read {}: {err}", file.display()))?;
            if glue == Glue::CommonJs {
                text = to_commonjs(&text)?;
            }
            let (same, _) = main_files
                .iter()
                .find(|(_, main)| *main == text)
                .ok_or_else(|| {
                    format!(
                        "xtask wasm: {} has no identical snippet in {}",
                        file.display(),
                        main_dir.display()
                    )
                })?;
            let path = same
                .strip_prefix(main_dir)
                .map_err(|_| "xtask wasm: snippet outside its folder".to_owned())?
                .to_string_lossy()
                .replace('\\', "/");
            let relative = format!("{up}{target}/{path}");
            let text = match glue {
                Glue::Esm => format!(
                    "// Added by `cargo xtask wasm`: the main module's snippet, one class.\nexport * from '{relative}';\n"
                ),
                Glue::CommonJs => format!(
                    "'use strict';\n// Added by `cargo xtask wasm`: the main module's snippet, one class.\nmodule.exports = require('{relative}');\n"
                ),
            };
            write(&file, text.as_bytes())?;
        }
    }
    Ok(())
}

/// The generated classes declare `[Symbol.dispose]()`, which TypeScript knows only with the
/// `esnext.disposable` lib (TS ≥ 5.2): reference it from the declarations, so that users'
/// projects type-check with any `lib` setting and without `skipLibCheck`.
fn add_disposable_reference(types: &Path) -> Result<(), String> {
    let text = fs::read_to_string(types)
        .map_err(|err| format!("xtask wasm: cannot read {}: {err}", types.display()))?;
    if !text.contains("Symbol.dispose") || text.contains("esnext.disposable") {
        return Ok(());
    }
    let text = format!("/// <reference lib=\"esnext.disposable\" />\n{text}");
    write(types, text.as_bytes())
}

/// The `inline_js` snippet that defines `AssertionError` (exactly one).
fn find_error_snippet(out_dir: &Path) -> Result<PathBuf, String> {
    let snippets = out_dir.join("snippets");
    let mut found = Vec::new();
    for dir in read_dir(&snippets)? {
        for file in read_dir(&dir)? {
            let text = fs::read_to_string(&file).unwrap_or_default();
            // ESM as generated, or CommonJS once `to_commonjs` has rewritten it (nodejs).
            if text.contains("class AssertionError extends Error ") {
                found.push(file);
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        n => Err(format!(
            "xtask wasm: expected one snippet defining AssertionError in {}, found {n}",
            snippets.display()
        )),
    }
}

/// Rewrites an `inline_js` snippet's `export class X` / `export function f` into CommonJS.
fn to_commonjs(source: &str) -> Result<String, String> {
    let mut names = Vec::new();
    let mut out = String::from("'use strict';\n");
    for line in source.lines() {
        let rest = line.strip_prefix("export ");
        match rest {
            Some(rest) if rest.starts_with("class ") || rest.starts_with("function ") => {
                let name = rest
                    .split_whitespace()
                    .nth(1)
                    .and_then(|word| word.split('(').next())
                    .filter(|name| !name.is_empty())
                    .ok_or_else(|| format!("xtask wasm: cannot read the export in {line:?}"))?;
                names.push(name.to_owned());
                out.push_str(rest);
            }
            Some(_) => {
                return Err(format!(
                    "xtask wasm: unexpected export in an inline_js snippet: {line:?}"
                ))
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out.push_str(&format!("module.exports = {{ {} }};\n", names.join(", ")));
    Ok(out)
}

/// The package root: `package.json` (name, version, `exports` map), the Workers entry of
/// each module and the README.
fn assemble(root: &Path, pkg: &Path) -> Result<(), String> {
    let version = workspace_version(root)?;
    for module in MODULES {
        write_workers_entry(pkg, module)?;
    }
    let exports: Vec<String> = MODULES.iter().map(|module| exports_of(*module)).collect();
    let mut files: Vec<String> = ["web/", "nodejs/", "bundler/", "workers/"]
        .iter()
        .map(|dir| format!("\"{dir}\""))
        .collect();
    let mut side_effects = Vec::new();
    for module in MODULES {
        if !module.dir.is_empty() {
            files.push(format!("\"{}/\"", module.dir));
        }
        side_effects.push(format!(
            "\"./{}\"",
            module_path(module, "workers", "index.js")
        ));
    }
    files.push("\"README.md\"".to_owned());
    let package_json = format!(
        r#"{{
  "name": "{PACKAGE_NAME}",
  "version": "{version}",
  "description": "RFC 7523 JWT bearer assertion validation (authorization grants and private_key_jwt client authentication), RS256, PS256, ES256 and EdDSA (and an RS256-only module), in WebAssembly: Node, Cloudflare Workers, browsers",
  "license": "MIT OR Apache-2.0",
  "keywords": ["oauth", "jwt", "rfc7523", "private_key_jwt", "client-assertion", "jose", "cloudflare-workers", "wasm"],
  "sideEffects": [{side_effects}],
  "types": "./bundler/{OUT_NAME}.d.ts",
  "main": "./nodejs/{OUT_NAME}.js",
  "module": "./bundler/{OUT_NAME}.js",
  "exports": {{
{exports},
    "./package.json": "./package.json"
  }},
  "files": [{files}]
}}
"#,
        side_effects = side_effects.join(", "),
        exports = exports.join(",\n"),
        files = files.join(", "),
    );
    write(&pkg.join("package.json"), package_json.as_bytes())?;
    let readme = read(&root.join(CRATE_DIR).join("README.md"))?;
    write(&pkg.join("README.md"), &readme)
}

/// `<dir>/<target>/<file>` of a module, relative to the package root.
fn module_path(module: WasmModule, target: &str, file: &str) -> String {
    if module.dir.is_empty() {
        format!("{target}/{file}")
    } else {
        format!("{}/{target}/{file}", module.dir)
    }
}

/// `workers/index.js` (and `.d.ts`) of a module: wrangler and workerd import a `.wasm` file as
/// a compiled `WebAssembly.Module`, instantiated synchronously here with the `web` glue: the
/// module's own Workers build, or its `web` build. `AssertionError` is the main module's
/// Workers class either way, so that it is one class in a Worker whichever entry it came from.
fn write_workers_entry(pkg: &Path, module: WasmModule) -> Result<(), String> {
    let workers = pkg.join(module.dir).join("workers");
    fs::create_dir_all(&workers)
        .map_err(|err| format!("xtask wasm: cannot create {}: {err}", workers.display()))?;
    let out = module.out_name;
    let exports = module.exports;
    let glue = if module.own_workers_build {
        format!("./{out}")
    } else {
        format!("../web/{out}")
    };
    let wasm = if module.shares_snippets {
        format!("../web/{out}")
    } else {
        glue.clone()
    };
    // The main module's Workers glue exports the class (finish_target); every entry hands
    // out that one.
    let error_glue = if module.dir.is_empty() {
        format!("./{OUT_NAME}")
    } else {
        let up = "../".repeat(Path::new(module.dir).components().count() + 1);
        format!("{up}{WORKERS_BUILD}/{OUT_NAME}")
    };
    let error_class = format!("export {{ AssertionError }} from '{error_glue}.js';\n");
    write(
        &workers.join("index.js"),
        format!(
            "// Cloudflare Workers / workerd entry (added by `cargo xtask wasm`). wrangler and workerd\n\
             // import a `.wasm` file as a compiled WebAssembly.Module, so the module is instantiated\n\
             // synchronously here, once per isolate, with no bundler step.\n\
             import wasmModule from '{wasm}_bg.wasm';\n\
             import {{ initSync }} from '{glue}.js';\n\
             \n\
             initSync({{ module: wasmModule }});\n\
             \n\
             export {{ {exports} }} from '{glue}.js';\n\
             {error_class}"
        )
        .as_bytes(),
    )?;
    write(
        &workers.join("index.d.ts"),
        format!(
            "export {{ {exports} }} from '{glue}.js';\n\
             {error_class}\
             export type * from '{glue}.js';\n"
        )
        .as_bytes(),
    )?;
    write(
        &workers.join("package.json"),
        b"{\n  \"type\": \"module\"\n}\n",
    )
}

/// The `exports` entries of a module: its subpath (`.`, `./sign`) with the `workerd`, `node`
/// and default conditions, one subpath per build (`./web`, `./sign/web`, …), and its `.wasm`.
fn exports_of(module: WasmModule) -> String {
    let out = module.out_name;
    let base = if module.dir.is_empty() {
        ".".to_owned()
    } else {
        format!("./{}", module.dir)
    };
    let sub = |name: &str| {
        if module.dir.is_empty() {
            format!("./{name}")
        } else {
            format!("./{}/{name}", module.dir)
        }
    };
    let build = |target: &str| {
        let file = if target == "workers" {
            "index".to_owned()
        } else {
            out.to_owned()
        };
        (
            format!("./{}", module_path(module, target, &format!("{file}.d.ts"))),
            format!("./{}", module_path(module, target, &format!("{file}.js"))),
        )
    };
    let condition = |name: &str, target: &str| {
        let (types, default) = build(target);
        format!(
            "      \"{name}\": {{\n        \"types\": \"{types}\",\n        \"default\": \"{default}\"\n      }}"
        )
    };
    let mut entries = vec![format!(
        "    \"{base}\": {{\n{},\n{},\n{}\n    }}",
        condition("workerd", "workers"),
        condition("node", "nodejs"),
        condition("default", "bundler"),
    )];
    for target in ["web", "workers", "nodejs", "bundler"] {
        let (types, default) = build(target);
        entries.push(format!(
            "    \"{}\": {{\n      \"types\": \"{types}\",\n      \"default\": \"{default}\"\n    }}",
            sub(target)
        ));
    }
    entries.push(format!(
        "    \"./{out}_bg.wasm\": \"./{}\"",
        module_path(module, "web", &format!("{out}_bg.wasm"))
    ));
    entries.join(",\n")
}

/// `version` of `[workspace.package]` in the root `Cargo.toml`.
fn workspace_version(root: &Path) -> Result<String, String> {
    let manifest = fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|err| format!("xtask wasm: cannot read Cargo.toml: {err}"))?;
    let mut in_section = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if let (true, Some(value)) = (in_section, line.strip_prefix("version")) {
            let value = value.trim_start().trim_start_matches('=').trim();
            return Ok(value.trim_matches('"').to_owned());
        }
    }
    Err("xtask wasm: no version in [workspace.package] of Cargo.toml".to_owned())
}

/// `Cargo.lock` must resolve `wasm-bindgen` to [`WASM_BINDGEN_VERSION`]: the CLI and the
/// library have to match exactly, or wasm-bindgen refuses the module.
fn check_lock_pin(root: &Path) -> Result<(), String> {
    let lock = fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|err| format!("xtask setup: cannot read Cargo.lock: {err}"))?;
    let wanted = format!("name = \"wasm-bindgen\"\nversion = \"{WASM_BINDGEN_VERSION}\"");
    if lock.replace("\r\n", "\n").contains(&wanted) {
        Ok(())
    } else {
        Err(format!(
            "xtask setup: Cargo.lock does not pin wasm-bindgen {WASM_BINDGEN_VERSION}; update \
             WASM_BINDGEN_VERSION in crates/xtask/src/wasm.rs together with the `=` pin in Cargo.toml"
        ))
    }
}

/// `binary --version` must print `<binary> <version>`; otherwise `cargo install krate
/// --version version --force` (with `--locked` when `locked`).
fn ensure_binary(
    root: &Path,
    binary: &str,
    krate: &str,
    version: &str,
    locked: bool,
) -> Result<(), String> {
    let wanted = format!("{binary} {version}");
    let program = cargo_bin(binary);
    let found = probe(root, &program, &["--version"]);
    if found.as_deref() == Some(wanted.as_str()) {
        println!("setup: {krate}: already present ({wanted})");
        return Ok(());
    }
    let mut args = vec!["install", krate, "--version", version, "--force"];
    if locked {
        args.push("--locked");
    }
    println!(
        "setup: {krate}: installing {version} (found {}): cargo {}",
        found.as_deref().unwrap_or("none"),
        args.join(" ")
    );
    run(root, cargo(), &args, &[])
        .map_err(|err| format!("xtask setup: `cargo {}` failed ({err})", args.join(" ")))?;
    let found = probe(root, cargo_bin(binary), &["--version"]);
    if found.as_deref() != Some(wanted.as_str()) {
        return Err(format!(
            "xtask setup: after installing, `{binary} --version` says {found:?}, not {wanted}"
        ));
    }
    println!("setup: {krate}: installed ({wanted})");
    Ok(())
}

/// Node.js and npm (the machines ship Node 20; Debian's `nodejs`/`npm` otherwise).
fn ensure_node(root: &Path) -> Result<(), String> {
    if let (Some(node), Some(npm)) = (
        probe(root, "node", &["--version"]),
        probe(root, "npm", &["--version"]),
    ) {
        println!("setup: node {node}, npm {npm}: already present");
        return Ok(());
    }
    apt_install(root, &["nodejs", "npm"])?;
    let node = probe(root, "node", &["--version"])
        .ok_or_else(|| "xtask setup: `node --version` fails after apt-get install".to_owned())?;
    println!("setup: node {node}: installed (apt-get install -y nodejs npm)");
    Ok(())
}

/// `npm ci` in `bindings/wasm/js` unless `node_modules` was installed from this very
/// `package-lock.json` (a copy is kept in `node_modules/` as the stamp). Install scripts are
/// not run: nothing pinned needs them (workerd and binaryen ship their binaries as packages).
fn ensure_npm_ci(root: &Path) -> Result<(), String> {
    let js = root.join(JS_DIR);
    let lock = read(&js.join("package-lock.json"))?;
    let stamp = js.join("node_modules/.rfc7523-package-lock.json");
    if fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        println!(
            "setup: npm packages of {JS_DIR}: already installed (package-lock.json unchanged)"
        );
        return Ok(());
    }
    let args = [
        "ci",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--prefix",
        JS_DIR,
    ];
    println!("setup: npm packages of {JS_DIR}: npm {}", args.join(" "));
    run(root, "npm", &args, &node_env())
        .map_err(|err| format!("xtask setup: `npm {}` failed ({err})", args.join(" ")))?;
    write(&stamp, &lock)?;
    println!("setup: npm packages of {JS_DIR}: installed");
    Ok(())
}

/// Environment of every node/npm command: no telemetry, no update checks.
pub(crate) fn node_env() -> Vec<(&'static str, OsString)> {
    vec![
        ("WRANGLER_SEND_METRICS", "false".into()),
        ("npm_config_update_notifier", "false".into()),
        ("npm_config_fund", "false".into()),
        ("npm_config_audit", "false".into()),
    ]
}

/// `$CARGO_HOME/bin` (default `~/.cargo/bin`), where `cargo install` puts binaries.
fn cargo_home_bin() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin"))
}

/// The installed binary's full path when it is in `$CARGO_HOME/bin`, else its bare name.
fn cargo_bin(binary: &str) -> OsString {
    cargo_home_bin()
        .map(|bin| bin.join(binary))
        .filter(|path| path.is_file())
        .map_or_else(|| binary.into(), PathBuf::into_os_string)
}

/// `PATH` with `$CARGO_HOME/bin` first, so that wasm-pack finds the pinned `wasm-bindgen`.
fn path_with_cargo_bin() -> OsString {
    let mut paths: Vec<PathBuf> = cargo_home_bin().into_iter().collect();
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|err| format!("xtask wasm: cannot read {}: {err}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    fs::write(path, bytes)
        .map_err(|err| format!("xtask wasm: cannot write {}: {err}", path.display()))
}

/// The entries of `dir`, sorted.
fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|err| format!("xtask wasm: cannot list {}: {err}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::to_commonjs;

    #[test]
    fn snippet_becomes_commonjs() {
        let esm = "export class AssertionError extends Error {\n  x() {}\n}\nexport function assertionErrorClass() { return AssertionError; }\n";
        let cjs = to_commonjs(esm).unwrap_or_default();
        assert!(cjs.contains("\nclass AssertionError extends Error {"));
        assert!(cjs.contains("\nfunction assertionErrorClass() {"));
        assert!(cjs.ends_with("module.exports = { AssertionError, assertionErrorClass };\n"));
        assert!(!cjs.contains("export "));
        assert!(to_commonjs("export default 1;\n").is_err());
    }
}
