//! The durable iterator client as a sans-IO state machine ([`Engine`]), in the style of
//! str0m and quinn-proto: no IO, no clock, no randomness of its own. The browser driver, the
//! native transport and the JS and Rust surfaces sit on top and only move bytes and timers.
//!
//! What the engine decides: one socket per iterator with a fixed client id; reconnects with
//! jittered exponential backoff; subscribe and resubscribe from a resume cursor that is safe
//! against the upstream object's text-ordered replay; exactly-once delivery of event ids;
//! token refresh over `/updateToken` or by reconnecting; ending with `TokenExpired` instead of
//! looping on a dead token; liveness probes; RPC calls gated by the token's `rpc` list.
//!
//! A driver is a loop around four calls:
//!
//! ```
//! use durable_iterator_protocol::client::{
//!     upgrade_url, Engine, EngineOptions, Incoming, Input, Instant, Output, Payload, TokenClaims,
//! };
//! let now = Instant::ZERO; // the driver's monotonic clock, e.g. performance.now()
//! // The token's text, and the claims its payload holds (the driver reads them).
//! let token = r#"{"chn":"room","iat":1700000000,"exp":1700003600}.signature"#.to_owned();
//! let claims = TokenClaims::new("room", 1_700_000_000.0, 1_700_003_600.0);
//! let mut engine =
//!     Engine::new(EngineOptions::default(), "random-uuid".into(), 7, token, claims, None, now)?;
//! while let Some(output) = engine.poll_output() {
//!     match output {
//!         Output::OpenSocket { socket, token } => {
//!             // The caller's URL option may depend on the token's payload.
//!             let url = upgrade_url("wss://example.com/room", engine.client_id(), &token);
//!             // Open a WebSocket to `url`; later report what it does:
//!             // engine.handle_input(Input::SocketOpened { socket }, now), SocketMessage
//!             // (each message decoded into an `Incoming` that names it by a `Payload`
//!             // handle), SocketClosed.
//!             # let _ = (socket, url, Input::Online);
//!             # let _: Option<(Incoming, Payload)> = None;
//!         }
//!         Output::Event { id, payload } => { /* yield the data of message `payload` */ }
//!         Output::Keep { payload } => { /* keep message `payload`: a later Event names it */ }
//!         Output::Ended(_) => break,
//!         _ => { /* send, close, refresh, settle calls, show state */ }
//!     }
//! }
//! // Then arm one timer for `engine.poll_timeout()` that calls `engine.handle_timeout(now)`,
//! // and drain `poll_output` again after every input and timeout.
//! # Ok::<(), durable_iterator_protocol::Error>(())
//! ```
//!
//! Rust drivers use [`CodecEngine`] (feature `codec`), which decodes frames with the serde
//! decoder and resolves the handles; the wasm binding decodes frames in JavaScript.

mod backoff;
mod calls;
pub(crate) mod claims;
#[cfg(feature = "codec")]
mod codec;
mod connection;
mod cursor;
mod dedup;
mod engine;
mod events;
mod incoming;
mod options;
mod order;
mod refresh;
mod stream;
mod time;
mod url;
pub mod wire;

pub use backoff::{Backoff, SplitMix64};
pub use calls::{CallId, CallRequest, DEFAULT_RPC_RETRY_DELAY};
pub use claims::TokenClaims;
#[cfg(feature = "codec")]
pub(crate) use claims::NOT_FINITE;
#[cfg(feature = "codec")]
pub use codec::{
    call_result_of, decode_incoming, encode_call_body, error_from_response, event_of, incoming_of,
    CodecEngine, CodecOutput, Event,
};
pub use cursor::ResumeCursor;
pub use dedup::DeliveredIds;
pub use engine::{Engine, CLOSE_NORMAL, CLOSE_UNRESPONSIVE};
pub use events::{ConnectionState, Input, Output, SocketId};
pub use incoming::{EventKind, Incoming, Payload};
pub use options::{EngineOptions, Liveness, DEFAULT_MAX_FRAME_BYTES};
pub use order::{BARRIER_TIMEOUT, MAX_HELD};
pub use stream::{MAX_EVENT_ID_BYTES, MAX_SERVER_RETRY};
pub use time::{ceil_millis, duration_from_secs_f64, saturating_micros, Instant};
pub use url::{encode_uri_component, form_urlencode, upgrade_url};
