//! The native transport (feature `native`): the same engine and the same Rust API as in the
//! browser (the crate root's [`DurableIterator`], [`Rpc`] and [`Options`], re-exported here
//! for existing users), driven by Tokio, tokio-tungstenite and hyper-util with rustls, so
//! Rust services, command-line tools and soak tests can follow a durable iterator outside a
//! page.
//!
//! One Tokio task per iterator owns the engine and its socket; [`DurableIterator`] and
//! [`Rpc`] are handles that talk to it over channels, so both are `Send + 'static`. The
//! engine decides everything as in the browser — reconnect with backoff, resume without loss
//! or duplicates, token refresh, liveness probes, RPC calls, stop. There is no page here, so
//! no offline or wake signals. URLs may be `http://`/`ws://` or `https://`/`wss://`; TLS
//! trusts the webpki roots plus those given to [`Options::root_certificates_pem`], and a
//! certificate it does not trust ends the iterator at once with `UNTRUSTED_CERTIFICATE`.
//!
//! ```no_run
//! use durable_iterator_wasm::native::{DurableIterator, Options};
//! use futures_util::StreamExt;
//!
//! # async fn run() -> Result<(), durable_iterator_wasm::Error> {
//! let options = Options::new("http://127.0.0.1:8787/rpc", "onMessage", "ws://127.0.0.1:8787/chat-room")
//!     .input(&serde_json::json!({ "tags": ["news"] }))?;
//! let mut messages = DurableIterator::<serde_json::Value>::connect(options).await?;
//! let echo: String = messages
//!     .rpc(["routerClient", "echo"])
//!     .call(&serde_json::json!({ "text": "hi" }))
//!     .await?;
//! tokio::spawn(async move {
//!     while let Some(message) = messages.next().await {
//!         println!("{message:?}");
//!     }
//! });
//! # let _ = echo;
//! # Ok(()) }
//! ```

mod clock;
mod driver;
mod http;
pub(crate) mod port;
mod socket;
mod tls;

pub use crate::iterator::{DurableIterator, Rpc};
pub use crate::notice::Notice;
pub use crate::options::{ObjectUrl, Options};
pub use crate::procedure::{ProcedureCall, ProcedureOutput};
