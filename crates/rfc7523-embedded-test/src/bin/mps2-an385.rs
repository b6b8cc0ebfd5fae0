//! The firmware for QEMU's `mps2-an385` (linked with `memory/mps2-an385.x`).
#![no_std]
#![no_main]

#[cortex_m_rt::entry]
fn main() -> ! {
    rfc7523_embedded_test::run(&"mps2-an385")
}
