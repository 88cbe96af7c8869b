//! Browser-first client for oRPC's Durable Iterator.
//!
//! The protocol decisions live in the IO-free engine of `durable-iterator-protocol`; this
//! crate drives it with the browser's WebSocket, timers and page events for Rust UI frameworks
//! (Leptos, Yew): a `Stream` of typed events and typed calls. With the `native` feature, the
//! `native` module drives the same engine with Tokio, for Rust services and tests outside a
//! browser. JavaScript users get the npm package instead: the same engine compiled alone
//! (`js-engine/`) and driven by the JS in `js/`.
#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod clock;
#[cfg(target_arch = "wasm32")]
pub mod driver;
#[cfg(target_arch = "wasm32")]
mod iterator;
#[cfg(target_arch = "wasm32")]
mod options;
#[cfg(target_arch = "wasm32")]
mod page;
#[cfg(target_arch = "wasm32")]
mod socket;
#[cfg(target_arch = "wasm32")]
mod socket_worker;

// What the browser driver and the native transport share.
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod call;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod decode;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod notice;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod option_setters;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod procedure;

pub mod error;
#[cfg(target_arch = "wasm32")]
pub mod link;
#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub mod native;

pub use durable_iterator_protocol::client::ConnectionState;
pub use error::Error;
#[cfg(target_arch = "wasm32")]
pub use iterator::{DurableIterator, Rpc};
#[cfg(any(target_arch = "wasm32", feature = "native"))]
pub use notice::Notice;
#[cfg(target_arch = "wasm32")]
pub use options::{ObjectUrl, Options};
