//! The module's exports: the whole interface between `js/engine.js` and [`Core`].
//!
//! JS writes an input into the scratch buffer (its numbers as `f64`s, then its text as UTF-8),
//! calls [`core_input`], and reads the output text at [`output_ptr`]. The module runs on one
//! thread and JS never calls back in while an export runs, so the two buffers are plain
//! globals.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;

use crate::Core;

/// A global of this single-threaded module.
struct Global<T>(UnsafeCell<T>);

// SAFETY: wasm32-unknown-unknown without the atomics feature has exactly one thread.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    /// # Safety
    /// No other reference to the value may be alive: true of every export below, which takes
    /// it once and does not call out of the module while it holds it.
    #[allow(clippy::mut_from_ref)]
    unsafe fn get(&self) -> &mut T {
        unsafe { &mut *self.0.get() }
    }
}

/// Where JS writes each input: `u64`s so that its start suits the `f64`s.
static SCRATCH: Global<Vec<u64>> = Global(UnsafeCell::new(Vec::new()));
/// The last input's output.
static OUTPUT: Global<String> = Global(UnsafeCell::new(String::new()));

/// A new engine (not started: its first input is `Init`).
#[no_mangle]
pub extern "C" fn core_new() -> *mut Core {
    Box::into_raw(Box::new(Core::new()))
}

/// Frees an engine made by [`core_new`].
///
/// # Safety
/// `core` comes from [`core_new`] and is not used again.
#[no_mangle]
pub unsafe extern "C" fn core_free(core: *mut Core) {
    if !core.is_null() {
        drop(unsafe { Box::from_raw(core) });
    }
}

/// The scratch buffer, grown to at least `bytes`; valid until the next call into the module.
#[no_mangle]
pub extern "C" fn scratch(bytes: usize) -> *mut u8 {
    // SAFETY: see `Global::get`.
    let scratch = unsafe { SCRATCH.get() };
    let words = bytes.div_ceil(8);
    // Push by push: `Vec::resize` carries its own reserve-and-fill (more wasm), and the
    // buffer only grows a few times in a page's life.
    while scratch.len() < words {
        scratch.push(0);
    }
    scratch.as_mut_ptr().cast()
}

/// Feeds the input in the scratch buffer (`nums` numbers, then `text_bytes` of UTF-8) to
/// `core` and returns the length of the output at [`output_ptr`]. Text that does not fit the
/// buffer reads as no text: the input is then dropped as unreadable.
///
/// # Safety
/// `core` comes from [`core_new`] and was not freed, and the text is UTF-8. JS writes it with
/// `TextEncoder.encodeInto`, which writes nothing else (a lone surrogate becomes U+FFFD, and
/// a cut falls between characters); checking it again would link core's UTF-8 validation
/// (650 B of wasm) for a promise the host, which can write anywhere in this memory, keeps
/// anyway.
#[no_mangle]
pub unsafe extern "C" fn core_input(
    core: *mut Core,
    kind: u32,
    nums: usize,
    text_bytes: usize,
) -> usize {
    // SAFETY: see `Global::get`; `core` is live by this function's contract.
    let (scratch, output, core) = unsafe { (SCRATCH.get(), OUTPUT.get(), &mut *core) };
    let words: &[u64] = scratch.get(..nums).unwrap_or_default();
    // SAFETY: f64 and u64 have the same size and alignment, and every bit pattern is an f64.
    let numbers: &[f64] =
        unsafe { core::slice::from_raw_parts(words.as_ptr().cast(), words.len()) };
    let bytes: &[u8] = match scratch.get(nums..) {
        // SAFETY: any initialised u64s may be viewed as bytes.
        Some(rest) => unsafe { core::slice::from_raw_parts(rest.as_ptr().cast(), rest.len() * 8) },
        None => &[],
    };
    let text = bytes
        .get(..text_bytes)
        // SAFETY: UTF-8 by this function's contract.
        .map(|bytes| unsafe { core::str::from_utf8_unchecked(bytes) })
        .unwrap_or_default();
    *output = core.input(kind, numbers, text);
    output.len()
}

/// Where the output of the last [`core_input`] is (valid until the next call into the module).
#[no_mangle]
pub extern "C" fn output_ptr() -> *const u8 {
    // SAFETY: see `Global::get`.
    unsafe { OUTPUT.get() }.as_ptr()
}
