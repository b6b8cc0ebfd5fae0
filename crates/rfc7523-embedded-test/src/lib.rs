//! The core `rfc7523` in a Cortex-M3 firmware, run under QEMU by `cargo xtask embedded`
//! (issue 18).
//!
//! The firmware validates committed assertions (`data/`, signed by `rfc7523 sign`) with the
//! keys and the replay store in `static`s, prints every verdict over semihosting, and measures
//! each call: peak stack (painted and sampled, [`monitor`]) and guest instructions (QEMU
//! `-icount`). One binary per emulated machine (`src/bin/`), each linked with its own
//! `memory/<machine>.x`. xtask checks the verdict lines and prints the figures.
//!
//! Its own workspace (excluded from the main one, its own `Cargo.lock`): it builds only for
//! `thumbv7m-none-eabi`, and its release profile is a firmware's (`opt-level = "s"`, LTO).
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod monitor;
mod scenario;
mod statics;
mod text;

pub use scenario::run;

/// Reports the panic over semihosting and exits with failure.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    monitor::emergency(format_args!("panic {info}"))
}
