//! A seeded chaos TCP proxy for the soak tests of the durable iterator client: it sits between
//! client and server on loopback and makes the network misbehave on purpose.
//!
//! Faults, all reproducible from one seed (the *schedule* is; timing on a real machine is not):
//!
//! - **drops**: every live connection is cut at random intervals ([`ChaosConfig::drop_every`])
//!   or on demand ([`ChaosProxy::drop_all`]), by FIN or RST;
//! - **latency and jitter** on every chunk, order kept ([`ChaosProxy::set_latency`]);
//! - **half-open black-holing**: connections stay open but forward nothing, in either
//!   direction, not even a close ([`ChaosProxy::blackhole`]);
//! - **frame truncation**: the proxy forwards raw TCP bytes, so to cut a WebSocket frame it
//!   follows frame headers in each direction ([`FrameTracker`]) and sends only part of the
//!   next frame, then closes the connection ([`ChaosProxy::truncate_all`], or a share of the
//!   scheduled drops: [`ChaosConfig::truncate_probability`]);
//! - **refusals**: new connections are accepted and reset at once for a while
//!   ([`ChaosProxy::refuse_for`]); a real refusal happens at SYN, which a listening socket
//!   cannot do, but the client sees the same thing: a connection that fails before a byte.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::time::Duration;
//! use durable_iterator_chaos::{ChaosConfig, ChaosProxy};
//!
//! let config = ChaosConfig {
//!     seed: 7,
//!     drop_every: Some((Duration::from_millis(200), Duration::from_secs(3))),
//!     truncate_probability: 0.3,
//!     ..ChaosConfig::default()
//! };
//! let proxy = ChaosProxy::start("127.0.0.1:0".parse().unwrap(), "127.0.0.1:8787".parse().unwrap(), config).await?;
//! println!("connect to ws://{}/chat-room", proxy.addr());
//! proxy.blackhole(true);
//! # Ok(()) }
//! ```
//!
//! The `chaos-proxy` binary runs the same proxy as a process (`chaos-proxy --help`), for the
//! browser soak test that `cargo xtask test` runs.

#![deny(missing_docs)]

mod config;
mod frames;
mod link;
mod proxy;
mod rng;
#[cfg(feature = "tls")]
mod tls;

pub use config::{parse_range_ms, ChaosConfig};
pub use frames::FrameTracker;
pub use proxy::{ChaosProxy, Stats};
pub use rng::Rng;
#[cfg(feature = "tls")]
pub use tls::TlsTerminator;
