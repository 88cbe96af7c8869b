//! Browser-first client for oRPC's Durable Iterator.
//!
//! The protocol decisions live in the IO-free engine of `durable-iterator-protocol`; this
//! crate drives it for Rust code: a [`DurableIterator`] is a `Stream` of typed events with
//! typed calls ([`Rpc`]), configured by [`Options`]. The front end is written once over a
//! small transport port; in the browser (wasm32) the page's WebSocket, timers and page events
//! drive it, for Rust UI frameworks (Leptos, Yew); with the `native` feature Tokio drives it
//! (also reachable as the `native` module), for Rust services, the CLI and tests, with TLS
//! through rustls. JavaScript users get the npm package instead: the same engine compiled
//! alone (`js-engine/`) and driven by the JS in `js/`.
#![deny(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
mod clock;
#[cfg(target_arch = "wasm32")]
pub mod driver;
#[cfg(target_arch = "wasm32")]
mod page;
#[cfg(target_arch = "wasm32")]
mod socket;
#[cfg(target_arch = "wasm32")]
mod socket_worker;

// The one front end and what both transports share.
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod call;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod decode;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod iterator;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod notice;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod options;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod port;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
mod procedure;

pub mod error;
#[cfg(target_arch = "wasm32")]
pub mod link;
#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub mod native;

pub use durable_iterator_protocol::client::ConnectionState;
pub use error::Error;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
pub use iterator::{DurableIterator, Rpc};
#[cfg(any(target_arch = "wasm32", feature = "native"))]
pub use notice::Notice;
#[cfg(any(target_arch = "wasm32", feature = "native"))]
pub use options::{ObjectUrl, Options};
#[cfg(any(target_arch = "wasm32", feature = "native"))]
pub use port::{MaybeSend, MaybeSendSync};
#[cfg(any(target_arch = "wasm32", feature = "native"))]
pub use procedure::{ProcedureCall, ProcedureOutput};
