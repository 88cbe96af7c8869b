//! The wasm module of the npm package: the sans-IO durable iterator engine of
//! `durable-iterator-protocol` behind a single entry point, for the JavaScript driver in `js/`.
//!
//! Everything with a size or a copy cost stays in JavaScript: sockets, timers, `fetch`, the one
//! `JSON.parse` of each frame, rich JSON and error messages. The driver hands the engine only
//! the envelope fields it decides on (packed as numbers plus one string, see [`Core::input`]),
//! and names each message's payload by its index in the batch; the engine answers with a
//! compact JSON list of outputs. No serde, no `core::fmt`, no float parsing or printing.
#![deny(missing_docs)]

mod core;
mod fields;
mod kinds;
mod out;

pub use crate::core::Core;
pub use kinds::{InputKind, OutputOp};
