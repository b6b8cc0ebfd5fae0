//! Statics for values a firmware loads at run time (keys, the replay store), without a heap
//! and without `static mut`: each type hands out only what is sound on one core, with
//! interrupt handlers that never touch them.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

/// Written once, then shared for the rest of the program (a key).
#[derive(Debug)]
pub struct Slot<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    taken: AtomicBool,
}

// SAFETY: `set` writes once (`taken` lets one caller in), before the only reference to the
// contents exists, and that reference is shared.
unsafe impl<T: Sync> Sync for Slot<T> {}

impl<T> Slot<T> {
    /// An empty slot (in `.bss`).
    pub const fn new() -> Self {
        Self {
            value: UnsafeCell::new(MaybeUninit::uninit()),
            taken: AtomicBool::new(false),
        }
    }

    /// Stores `value` and returns it, shared, for the rest of the program.
    ///
    /// # Panics
    /// When called twice.
    pub fn set(&'static self, value: T) -> &'static T {
        assert!(
            !self.taken.swap(true, Ordering::AcqRel),
            "Slot::set called twice"
        );
        // SAFETY: the first and only writer (`taken`); no reference to the contents exists yet.
        unsafe { (*self.value.get()).write(value) }
    }
}

/// Written any number of times and never read back: where a measured call puts what it
/// loaded, so that the store is real work (not optimised away) without keeping a reference.
#[derive(Debug)]
pub struct Sink<T> {
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: no reference to the contents is ever handed out; `put` is called from thread mode
// only (interrupt handlers never touch a `Sink`).
unsafe impl<T> Sync for Sink<T> {}

impl<T> Sink<T> {
    /// An empty sink (in `.bss`).
    pub const fn new() -> Self {
        Self {
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Moves `value` in (a previous value is forgotten, not dropped).
    pub fn put(&'static self, value: T) {
        let slot = self.value.get();
        // SAFETY: nobody holds a reference into the sink (see the `Sync` impl).
        unsafe { (*slot).write(value) };
        // The pointer escapes, so the store above is kept.
        core::hint::black_box(slot);
    }
}

/// Borrowed mutably by one caller at a time (the replay store).
#[derive(Debug)]
pub struct Exclusive<T> {
    value: UnsafeCell<T>,
    borrowed: AtomicBool,
}

// SAFETY: `with` hands out `&mut T` to one caller at a time (`borrowed`).
unsafe impl<T: Send> Sync for Exclusive<T> {}

impl<T> Exclusive<T> {
    /// Wraps `value` (a `const` initialiser keeps an all-zero value in `.bss`).
    pub const fn new(value: T) -> Self {
        Self {
            value: UnsafeCell::new(value),
            borrowed: AtomicBool::new(false),
        }
    }

    /// Runs `f` with the value.
    ///
    /// # Panics
    /// When called from inside `f`.
    pub fn with<R>(&'static self, f: impl FnOnce(&mut T) -> R) -> R {
        assert!(
            !self.borrowed.swap(true, Ordering::Acquire),
            "Exclusive::with re-entered"
        );
        // SAFETY: the only borrow (`borrowed`), ended before `borrowed` is cleared.
        let result = f(unsafe { &mut *self.value.get() });
        self.borrowed.store(false, Ordering::Release);
        result
    }
}
