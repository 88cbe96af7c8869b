//! Browser-first client for oRPC's Durable Iterator.
//!
//! The protocol decisions live in the IO-free engine of `durable-iterator-protocol`; this
//! crate drives it with the browser's WebSocket, timers and page events, and exposes it to
//! JavaScript and to Rust UI frameworks.
#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
#[allow(dead_code)] // Used by the browser driver, which lands with the client-engine work.
mod page;
#[cfg(target_arch = "wasm32")]
#[allow(dead_code)] // Used by the browser driver, which lands with the client-engine work.
mod socket;

pub mod error;
#[cfg(target_arch = "wasm32")]
pub mod link;

pub use error::Error;
