//! What the firmware measures, and how.
//!
//! **Stack, sampled** (the sample pass). SysTick interrupts every [`SAMPLE_PERIOD`] ticks
//! (about 2,000 instructions on mps2-an385) and records the interrupted code's stack pointer
//! (from the exception frame), so frames that are reserved but never written count too. A
//! sample can miss the deepest moment of a call: a lower bound.
//!
//! **Stack, painted** (the paint pass). Before a call, every word between the bottom of the
//! stack region (or [`PAINT_WINDOW`] below the current stack pointer, whichever is higher) and
//! the current stack pointer is set to [`PAINT`]; after it, the lowest word that no longer
//! holds it marks the deepest write. No interrupt runs in between, so only the call wrote
//! there. It misses stack that is reserved but never written: a lower bound too. The peak of a
//! call is the larger of the two, bytes below the stack pointer of the code that calls it.
//!
//! **Overflow.** The firmware runs on the process stack (PSP), from [`HANDLER_STACK`] below
//! the top of RAM down to the end of `.bss`; exception handlers run on the main stack (MSP),
//! in that top [`HANDLER_STACK`] bytes, which an overflow never reaches. When the sampler finds
//! the stack pointer below the region's bottom, the stack has run into the statics: it reports
//! the call (`overflow call=…`) and exits with failure at once. When the stack runs off the
//! bottom of RAM, the write faults and so does stacking the exception frame on the process
//! stack; the HardFault handler still has its own stack and reports the call (`hardfault
//! call=…`) with the fault status. The monitor's own state is in `.data`, below `.bss`, which
//! an overflow reaches last. The sample pass runs first, so an overflow shows there.
//!
//! **Instructions** (the paint pass). QEMU runs with `-icount shift=0`: its virtual clock
//! advances exactly one nanosecond per guest instruction, and SysTick, clocked from the CPU
//! clock that QEMU derives from the virtual clock, counts one tick per 1e9 / f_cpu
//! instructions (40 on mps2-an385, whose CPU clock is 25 MHz). SysTick runs free (period 2^24
//! ticks, wraps counted) and is read before and after a call; ticks are converted with the
//! ratio [`Monitor::calibrate`] measures on a loop of known length. Resolution: one tick. The
//! figure is guest instructions, not cycles: QEMU models no pipeline, wait states or caches.

use core::arch::{asm, global_asm};
use core::fmt::Write as _;
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_semihosting::{debug, hio};

/// The main stack's share of the top of RAM: exception handlers only (reports included).
pub const HANDLER_STACK: u32 = 2048;

/// The word a free stack holds after painting.
pub const PAINT: u32 = 0xC0DE_5AC5;

/// At most this much stack below the caller is painted and scanned per call (the largest
/// call measured so far used about 221 KiB).
pub const PAINT_WINDOW: u32 = 1024 * 1024;

/// SysTick ticks between two stack-pointer samples in the sample pass.
pub const SAMPLE_PERIOD: u32 = 50;

/// SysTick's longest period (a 24-bit counter): the paint pass, where it only counts.
pub const COUNT_PERIOD: u32 = 1 << 24;

/// Iterations of the calibration loop (two instructions each: `subs`, `bne`).
pub const CALIBRATION_ITERATIONS: u32 = 1_000_000;

// The monitor's state, shared with the SysTick handler. In `.data` on purpose (see the module
// docs): an overflowing stack runs through `.bss` first.
/// The lowest stack pointer sampled since the last reset.
#[link_section = ".data.monitor"]
static MIN_SP: AtomicU32 = AtomicU32::new(u32::MAX);
/// Samples taken since the last reset.
#[link_section = ".data.monitor"]
static SAMPLES: AtomicU32 = AtomicU32::new(0);
/// Completed SysTick periods since the period was set.
#[link_section = ".data.monitor"]
static WRAPS: AtomicU32 = AtomicU32::new(0);
/// The SysTick period in force, ticks.
#[link_section = ".data.monitor"]
static PERIOD: AtomicU32 = AtomicU32::new(COUNT_PERIOD);
/// The call being measured, an index into the table given to [`set_current`].
#[link_section = ".data.monitor"]
static CURRENT: AtomicU32 = AtomicU32::new(u32::MAX);
/// That table (a `&'static [&'static str]`), as address and length.
#[link_section = ".data.monitor"]
static NAMES: AtomicU32 = AtomicU32::new(0);
#[link_section = ".data.monitor"]
static NAMES_LEN: AtomicU32 = AtomicU32::new(0);

extern "C" {
    // cortex-m-rt's linker script (link.x): the stack region, and the section bounds.
    static _stack_start: u32;
    static _ram_start: u32;
    static _stack_end: u32;
    static __vector_table: u32;
    static __stext: u32;
    static __etext: u32;
    static __srodata: u32;
    static __erodata: u32;
    static __sdata: u32;
    static __edata: u32;
    static __sbss: u32;
    static __ebss: u32;
    static __suninit: u32;
    static __euninit: u32;
}

macro_rules! symbol {
    ($name:ident) => {
        // Only the address of the linker symbol: nothing is read.
        core::ptr::addr_of!($name) as u32
    };
}

/// The section sizes of the image, from the linker script's symbols.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// The vector table.
    pub vectors: u32,
    /// `.text`.
    pub text: u32,
    /// `.rodata`.
    pub rodata: u32,
    /// `.data` (in RAM, and its initial image in flash).
    pub data: u32,
    /// `.bss`.
    pub bss: u32,
    /// `.uninit`.
    pub uninit: u32,
    /// The firmware's stack region: from the end of the statics to [`HANDLER_STACK`] below the
    /// top of RAM.
    pub stack: u32,
}

impl Sizes {
    /// Reads them.
    pub fn read() -> Self {
        Self {
            vectors: symbol!(__stext) - symbol!(__vector_table),
            text: symbol!(__etext) - symbol!(__stext),
            rodata: symbol!(__erodata) - symbol!(__srodata),
            data: symbol!(__edata) - symbol!(__sdata),
            bss: symbol!(__ebss) - symbol!(__sbss),
            uninit: symbol!(__euninit) - symbol!(__suninit),
            stack: process_stack_top() - stack_bottom(),
        }
    }

    /// What is programmed into flash: vectors, code, constants and `.data`'s image.
    pub fn flash(&self) -> u32 {
        self.vectors + self.text + self.rodata + self.data
    }

    /// RAM taken by statics.
    pub fn static_ram(&self) -> u32 {
        self.data + self.bss + self.uninit
    }
}

/// The lowest address of the stack region.
fn stack_bottom() -> u32 {
    symbol!(_stack_end)
}

/// The top of the firmware's (process) stack.
fn process_stack_top() -> u32 {
    (symbol!(_stack_start) - HANDLER_STACK) & !7
}

/// Moves thread mode to the process stack (PSP), from [`HANDLER_STACK`] below the top of RAM
/// down, leaving the main stack (MSP) to exception handlers, and calls `f(arg)` there.
pub fn on_process_stack(f: extern "C" fn(usize) -> !, arg: usize) -> ! {
    // SAFETY: sets PSP to the top of the stack region (free: nothing lives there yet; the
    // caller's few words are on the main stack), selects it for thread mode, and jumps to `f`,
    // never coming back, so no local of this function is used on the new stack.
    unsafe {
        asm!(
            "msr psp, {top}",
            "mrs r12, control",
            "orr r12, r12, #2",
            "msr control, r12",
            "isb",
            "bx {f}",
            top = in(reg) process_stack_top(),
            f = in(reg) f,
            in("r0") arg,
            options(noreturn),
        )
    }
}

/// The current stack pointer.
#[inline(always)]
fn sp() -> u32 {
    let sp: u32;
    // SAFETY: reads a register.
    unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Names the call in progress (for the overflow report).
pub fn set_current(names: &'static [&'static str], index: usize) {
    NAMES.store(names.as_ptr() as u32, Relaxed);
    NAMES_LEN.store(names.len() as u32, Relaxed);
    CURRENT.store(index as u32, Relaxed);
}

fn current() -> &'static str {
    let (ptr, len) = (NAMES.load(Relaxed), NAMES_LEN.load(Relaxed) as usize);
    let index = CURRENT.load(Relaxed) as usize;
    if ptr == 0 || index >= len {
        return "setup";
    }
    // SAFETY: `ptr` and `len` come from a `&'static [&'static str]` (`set_current`).
    let names = unsafe { core::slice::from_raw_parts(ptr as *const &'static str, len) };
    names.get(index).copied().unwrap_or("setup")
}

/// Owns SysTick.
#[allow(missing_debug_implementations)]
pub struct Monitor {
    syst: SYST,
}

/// What the sample pass measured of one call.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sampled {
    /// Deepest stack pointer sampled, bytes below the caller's (0 when no sample fell inside
    /// the call).
    pub depth: u32,
    /// Samples that fell inside the call.
    pub samples: u32,
}

/// What the paint pass measured of one call.
#[derive(Debug, Clone, Copy, Default)]
pub struct Painted {
    /// Deepest word written, bytes below the caller's stack pointer.
    pub depth: u32,
    /// The painted window was used up to its last word: `depth` is a lower bound.
    pub window_full: bool,
    /// SysTick ticks the call took.
    pub ticks: u64,
}

impl Monitor {
    /// Takes SysTick and starts it in counting mode.
    pub fn new(syst: SYST) -> Self {
        let mut monitor = Self { syst };
        monitor.set_period(COUNT_PERIOD);
        monitor
    }

    /// Restarts SysTick from the CPU clock with `period` ticks between interrupts.
    pub fn set_period(&mut self, period: u32) {
        self.syst.disable_interrupt();
        self.syst.disable_counter();
        self.syst.set_clock_source(SystClkSource::Core);
        self.syst.set_reload(period - 1);
        self.syst.clear_current();
        PERIOD.store(period, Relaxed);
        self.syst.enable_interrupt();
        self.syst.enable_counter();
        // The counter reads 0 until its first tick loads the reload value (QEMU does so too):
        // count from there.
        while SYST::get_current() == 0 {}
        WRAPS.store(0, Relaxed);
    }

    /// SysTick ticks since the period was set.
    pub fn ticks(&self) -> u64 {
        loop {
            let wraps = WRAPS.load(Relaxed);
            let current = SYST::get_current();
            if WRAPS.load(Relaxed) == wraps {
                let period = PERIOD.load(Relaxed);
                return u64::from(wraps) * u64::from(period) + u64::from(period - 1 - current);
            }
        }
    }

    /// Ticks taken by [`CALIBRATION_ITERATIONS`] iterations of a two-instruction loop.
    pub fn calibrate(&mut self) -> u64 {
        self.set_period(COUNT_PERIOD);
        let start = self.ticks();
        // SAFETY: a register-only loop.
        unsafe {
            asm!(
                "2:",
                "subs {n}, #1",
                "bne 2b",
                n = inout(reg) CALIBRATION_ITERATIONS => _,
                options(nomem, nostack),
            );
        }
        self.ticks() - start
    }

    /// Runs `f` with SysTick sampling the stack pointer every [`SAMPLE_PERIOD`] ticks (and
    /// stopping the firmware on an overflow); returns its result and the deepest sample.
    #[inline(never)]
    pub fn sampled<R>(&mut self, f: impl FnOnce() -> R) -> (R, Sampled) {
        let base = sp();
        self.set_period(SAMPLE_PERIOD);
        MIN_SP.store(u32::MAX, Relaxed);
        SAMPLES.store(0, Relaxed);
        let result = call(f);
        let min_sp = MIN_SP.load(Relaxed);
        let samples = SAMPLES.load(Relaxed);
        self.set_period(COUNT_PERIOD);
        let depth = base.saturating_sub(min_sp);
        (result, Sampled { depth, samples })
    }

    /// Runs `f` on a painted stack with SysTick counting (no interrupt for 2^24 ticks);
    /// returns its result, the deepest word it wrote and the ticks it took.
    ///
    /// `f` runs in a frame of its own (`call`) below this function's, so everything it
    /// keeps on the stack, a large return value included, is measured; keep `R` small (it
    /// lives in this function's frame, which is not).
    #[inline(never)]
    pub fn painted<R>(&mut self, f: impl FnOnce() -> R) -> (R, Painted) {
        self.set_period(COUNT_PERIOD);
        let base = sp() & !3;
        let bottom = stack_bottom().max(base.saturating_sub(PAINT_WINDOW));
        // SAFETY: writes only the free stack below the current stack pointer, which no live
        // frame uses (AAPCS has no red zone).
        unsafe {
            asm!(
                "2:",
                "cmp {p}, {end}",
                "bhs 3f",
                "str {paint}, [{p}], #4",
                "b 2b",
                "3:",
                p = inout(reg) bottom => _,
                end = in(reg) base,
                paint = in(reg) PAINT,
                options(nostack),
            );
        }
        let start = self.ticks();
        let result = call(f);
        let end = self.ticks();
        let mut p = bottom;
        // SAFETY: reads the painted region, below this frame, word by word.
        while p < base && unsafe { (p as *const u32).read_volatile() } == PAINT {
            p += 4;
        }
        let painted = Painted {
            depth: base - p,
            window_full: p == bottom,
            ticks: end - start,
        };
        (result, painted)
    }
}

/// Calls `f` in a frame of its own (never inlined into the measuring function).
#[inline(never)]
fn call<R>(f: impl FnOnce() -> R) -> R {
    f()
}

// SysTick: hands the handler the process stack pointer as the exception entry left it, which is
// where the hardware stacked the interrupted code's r0–r3, r12, lr, pc and xPSR.
global_asm!(
    ".section .text.SysTick,\"ax\",%progbits",
    ".global SysTick",
    ".type SysTick,%function",
    ".thumb_func",
    "SysTick:",
    "    mrs r0, psp",
    "    b {handler}",
    handler = sym on_systick,
);

/// The SysTick handler proper: counts a period, samples the interrupted stack pointer, and
/// stops the firmware when that is below the stack region.
extern "C" fn on_systick(frame: *const u32) {
    // SAFETY: `frame` is the exception frame the hardware just pushed; word 7 is xPSR.
    let xpsr = unsafe { frame.add(7).read_volatile() };
    // The frame is 8 words, plus one of padding when xPSR bit 9 says the stack was realigned.
    let sp = frame as u32 + 32 + if xpsr & (1 << 9) != 0 { 4 } else { 0 };
    WRAPS.store(WRAPS.load(Relaxed).wrapping_add(1), Relaxed);
    SAMPLES.store(SAMPLES.load(Relaxed).wrapping_add(1), Relaxed);
    if sp < MIN_SP.load(Relaxed) {
        MIN_SP.store(sp, Relaxed);
    }
    if sp < stack_bottom() {
        overflow(sp);
    }
}

/// The stack pointer `sp` is below the stack region: report the call and stop.
#[cold]
#[inline(never)]
fn overflow(sp: u32) -> ! {
    emergency(format_args!(
        "overflow call={} sp={sp:#010x} stack_bottom={:#010x} stack_region={}",
        current(),
        stack_bottom(),
        process_stack_top() - stack_bottom(),
    ))
}

/// Prints one line on a fresh semihosting handle (no shared state: the statics may be
/// overwritten by now) and exits with failure.
pub fn emergency(args: core::fmt::Arguments) -> ! {
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_fmt(format_args!("{args}\n"));
    }
    exit(false)
}

/// Ends the emulation: QEMU exits with 0 on success, 1 on failure.
pub fn exit(success: bool) -> ! {
    debug::exit(if success {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::bkpt();
    }
}

/// Reports the fault: the call, the process stack pointer, and the configurable fault status
/// (CFSR; bit 12 STKERR: stacking the exception frame failed, bit 9 PRECISERR with BFAR the
/// faulting address). The frame is not read: after a stack overflow it is not in memory.
#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    const CFSR: *const u32 = 0xE000_ED28 as *const u32;
    const BFAR: *const u32 = 0xE000_ED38 as *const u32;
    // SAFETY: System Control Block registers, always readable.
    let (cfsr, bfar) = unsafe { (CFSR.read_volatile(), BFAR.read_volatile()) };
    let psp = frame as *const _ as u32;
    emergency(format_args!(
        "hardfault call={} psp={psp:#010x} stack_bottom={:#010x} cfsr={cfsr:#010x} bfar={bfar:#010x} below_ram={}",
        current(),
        stack_bottom(),
        u8::from(psp < symbol!(_ram_start)),
    ))
}
