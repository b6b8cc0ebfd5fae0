//! The firmware for QEMU's `lm3s6965evb` (linked with `memory/lm3s6965evb.x`).
#![no_std]
#![no_main]

#[cortex_m_rt::entry]
fn main() -> ! {
    rfc7523_embedded_test::run(&"lm3s6965evb")
}
