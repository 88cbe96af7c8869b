//! Browser-first client for oRPC's Durable Iterator.
//!
//! The protocol decisions live in the IO-free engine of `durable-iterator-protocol`; this
//! crate drives it with the browser's WebSocket, timers and page events, and exposes it to
//! JavaScript and to Rust UI frameworks.
#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod clock;
#[cfg(target_arch = "wasm32")]
pub mod driver;
#[cfg(target_arch = "wasm32")]
mod iterator;
#[cfg(target_arch = "wasm32")]
pub mod js_api;
#[cfg(target_arch = "wasm32")]
mod options;
#[cfg(target_arch = "wasm32")]
mod page;
#[cfg(target_arch = "wasm32")]
mod socket;

pub mod error;
#[cfg(target_arch = "wasm32")]
pub mod link;

pub use durable_iterator_protocol::client::ConnectionState;
#[cfg(target_arch = "wasm32")]
pub use driver::Notice;
pub use error::Error;
#[cfg(target_arch = "wasm32")]
pub use iterator::{DurableIterator, Rpc};
#[cfg(target_arch = "wasm32")]
pub use options::{ObjectUrl, Options};
