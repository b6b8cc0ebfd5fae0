//! Statics for values a firmware loads at run time (keys, the replay store), without a heap
//! and without `static mut`: each type hands out only what is sound on one core, with
//! interrupt handlers that never touch them.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// Initialised once where it lives, then shared for the rest of the program: keys loaded in
/// place into a `KeyStore` in `.bss`, never moved.
#[derive(Debug)]
pub struct Once<T> {
    value: UnsafeCell<T>,
    taken: AtomicBool,
}

// SAFETY: `init` hands out the only `&mut T`, once (`taken` lets one caller in), before any
// shared reference exists; afterwards only shared references are handed out.
unsafe impl<T: Sync> Sync for Once<T> {}

impl<T> Once<T> {
    /// Wraps `value` (a `const` initialiser keeps an all-zero value in `.bss`).
    pub const fn new(value: T) -> Self {
        Self {
            value: UnsafeCell::new(value),
            taken: AtomicBool::new(false),
        }
    }

    /// Runs `init` on the value in place, then shares it for the rest of the program; an
    /// error from `init` is returned and the value is never shared.
    ///
    /// # Panics
    /// When called twice.
    pub fn init<E>(
        &'static self,
        init: impl FnOnce(&mut T) -> Result<(), E>,
    ) -> Result<&'static T, E> {
        assert!(
            !self.taken.swap(true, Ordering::AcqRel),
            "Once::init called twice"
        );
        // SAFETY: the first and only caller (`taken`); no other reference exists yet.
        let value = unsafe { &mut *self.value.get() };
        init(value)?;
        Ok(value)
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
