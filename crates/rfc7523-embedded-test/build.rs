//! Links each binary with the memory layout of its machine: `memory/<bin>.x`, copied as
//! `memory.x` (the name cortex-m-rt's `link.x` includes) into a folder of its own that only
//! that binary's link searches.

use std::env;
use std::fs;
use std::path::PathBuf;

/// The binaries, each named after the QEMU machine it runs on.
const MACHINES: [&str; 2] = ["mps2-an385", "lm3s6965evb"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for machine in MACHINES {
        let source = format!("memory/{machine}.x");
        let dir = out.join(machine);
        fs::create_dir_all(&dir).expect("cannot create the linker script folder");
        fs::copy(&source, dir.join("memory.x")).expect("cannot copy the memory layout");
        println!("cargo:rerun-if-changed={source}");
        println!("cargo:rustc-link-arg-bin={machine}=-L{}", dir.display());
        println!("cargo:rustc-link-arg-bin={machine}=-Tlink.x");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
