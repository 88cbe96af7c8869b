//! Reference oRPC Durable Iterator server: the object (`DurableIteratorObject` +
//! `upgradeDurableIteratorRequest`), the app procedures behind `DurableIteratorHandlerPlugin`,
//! and the demo of the oRPC docs, indistinguishable on the wire from upstream
//! (PROTOCOL.md sections 2-8).
//!
//! # Where it differs from upstream, and why the wire stays compatible
//!
//! - Replay is in integer id order (upstream sorts ids as text, `"10" < "5"`); same frames,
//!   better order, and clients written for upstream already accept any order.
//! - A `/call` path naming no procedure is NOT_FOUND (404), not a crash (500).
//! - A `/call` without an `input` key means "no input" (upstream answers 400).
//! - An idle socket is closed with 1008 "Token expired" when `exp` passes (upstream waits for
//!   the next message or send); same close code and reason.
//! - An abort (`t: 4`) of the subscription id ends that stream (upstream keeps sending).
//! - A socket whose bounded queue overflows is closed with 1013 so it resumes (upstream has
//!   no queue of its own and leaves buffering to the platform).
//! - A replay (`/subscribe` with `last-event-id`) is written before the socket's next request
//!   is read, as upstream sends it in one turn; so a client that asks for replays faster than
//!   it reads stalls its own socket behind the first, and the server holds one copy of the
//!   retained events for it where upstream would buffer every copy. (A second replay queued
//!   before the first was taken would close the socket with 1013.)
//! - A message over `--max-frame-bytes` closes the socket with 1009.
//! - The client's close frame is answered at once (workerd drops the TCP link ~10 s later).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use durable_iterator_server::{app, Config};
//!
//! let mut config = Config::new("my-signing-key");
//! config.resume_retention = Some(std::time::Duration::from_secs(120));
//! let router = app(config)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, router).await?;
//! # Ok(()) }
//! ```
//!
//! To publish from Rust, keep the [`Server`] handle: `Server::open(config)?` then
//! `server.router()` and `server.publish_event(...)`.
#![deny(missing_docs)]

mod clock;
pub mod config;
mod demo;
mod error;
mod filter;
mod hub;
mod input;
mod object;
mod peer;
mod publish;
mod queue;
mod resume;
mod routes;
mod rpc_http;
mod socket;
mod test_endpoints;
mod upgrade;

pub use config::{Cli, Compat, Config, DbLocation};
pub use demo::{DEFAULT_USER_ID, DEMO_CHANNEL, DEMO_RPC};
pub use error::{Error, Result};
pub use hub::Server;
pub use publish::{PublishOptions, PublishReceipt, Recipients, SocketInfo, SocketView};
pub use routes::OBJECT_PATH;
pub use socket::{CLOSE_CODE_GOING_AWAY, CLOSE_CODE_TOO_BIG, CLOSE_CODE_TOO_SLOW};

/// The server's routes for `config` (tests start it on port 0). Fails when the configuration
/// is unsafe (empty signing key) or resume storage cannot be opened.
pub fn app(config: Config) -> Result<axum::Router> {
    Ok(Server::open(config)?.router())
}
