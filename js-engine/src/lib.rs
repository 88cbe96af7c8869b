//! The wasm module of the npm package: the sans-IO durable iterator engine of
//! `durable-iterator-protocol` behind a single entry point, for the JavaScript driver in `js/`.
//!
//! Everything with a size or a copy cost stays in JavaScript: sockets, timers, `fetch`, the one
//! `JSON.parse` of each frame, rich JSON, and error names and messages (the engine reports an
//! error by number, [`ErrorCode`]). The driver hands the engine only the envelope fields it
//! decides on (packed as numbers plus one string, see [`Core::input`]), and names each
//! message's payload by its index in the batch; the engine answers with a compact JSON list of
//! outputs. No serde, no `core::fmt`, no float parsing or printing, and no wasm-bindgen: five
//! plain exports ([`exports`]) and a loader of a few lines in `js/engine.js` cost less than its
//! glue.
#![deny(missing_docs)]
// In the browser the module is `no_std`: std's panic hook and formatting would be most of its
// size. Native builds (the tests) keep std.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod core;
#[cfg(target_arch = "wasm32")]
pub mod exports;
mod fields;
// Native builds use std's allocator; the tests exercise this one on a plain buffer.
#[cfg(any(target_arch = "wasm32", test))]
mod heap;
mod kinds;
mod out;

pub use crate::core::Core;

/// A panic cannot be reported anywhere useful and must not unwind into JS: trap. Nothing in
/// this crate or the engine panics on any input (untrusted data is never indexed or
/// unwrapped); this is the last line.
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo) -> ! {
    ::core::arch::wasm32::unreachable()
}

/// Size classes with free lists ([`heap`]): constant-time allocation however many short ids
/// the engine keeps (de-duplication) while it allocates and frees per frame, in a few hundred
/// bytes of code.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: heap::global::Allocator = heap::global::Allocator::new();
pub use kinds::{ErrorCode, InputKind, OutputOp};
