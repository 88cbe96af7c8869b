//! The durable iterator client as a sans-IO state machine ([`Engine`]), in the style of
//! str0m and quinn-proto: no IO, no clock, no randomness of its own. The browser driver, the
//! native transport and the JS and Rust surfaces sit on top and only move bytes and timers.
//!
//! What the engine decides: one socket per iterator with a fixed client id; reconnects with
//! jittered exponential backoff; subscribe and resubscribe from a resume cursor that is safe
//! against the upstream object's text-ordered replay; exactly-once delivery of event ids;
//! token refresh over `/updateToken` or by reconnecting; ending with `TokenExpired` instead of
//! looping on a dead token; liveness probes; RPC calls gated by the token's `rpc` list.

mod backoff;
mod calls;
mod connection;
mod cursor;
mod dedup;
mod engine;
mod events;
mod options;
mod refresh;
mod stream;
mod time;
mod url;

pub use backoff::{Backoff, SplitMix64};
pub use calls::{encode_call_body, error_from_response, CallId, CallRequest};
pub use cursor::ResumeCursor;
pub use dedup::DeliveredIds;
pub use engine::{Engine, CLOSE_NORMAL, CLOSE_UNRESPONSIVE};
pub use events::{ConnectionState, Event, Input, Output, SocketId};
pub use options::{EngineOptions, Liveness};
pub use time::Instant;
pub use url::{form_urlencode, upgrade_url};
