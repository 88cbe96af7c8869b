//! Wire protocol of oRPC's Durable Iterator, shared by the wasm client and the reference
//! server: peer messages, rich JSON, tokens, oRPC errors, ids.
//!
//! No IO, no clock, no async runtime: every function that needs the time takes it as an
//! argument, so the same code runs natively and in `wasm32-unknown-unknown`.
#![deny(missing_docs)]

pub mod client;
pub mod consts;
pub mod error;
pub mod ids;
mod json_scan;
pub mod message;
pub mod orpc_error;
mod plain_run;
pub mod rich_json;
mod server_frame;
pub mod token;

pub use client::{
    CallId, CallRequest, ConnectionState, Engine, EngineOptions, Event, Input, Output, SocketId,
};
pub use error::{Error, Result};
pub use ids::{compare_event_ids, RequestIdGenerator};
pub use message::{
    ClientMessage, EventKind, EventMeta, EventPayload, Frame, HeaderValue, Headers, RawJson,
    RequestPayload, ResponsePayload, ServerMessage,
};
pub use orpc_error::OrpcError;
pub use rich_json::{MetaEntry, MetaType, PathSegment, RichBody};
pub use token::{parse_token, sign, sign_token, signed_value, unsign, verify_token, TokenPayload};
