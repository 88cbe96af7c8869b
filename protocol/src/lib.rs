//! Wire protocol of oRPC's Durable Iterator, shared by the wasm client and the reference
//! server: peer messages, rich JSON, tokens, oRPC errors, ids.
//!
//! No IO, no clock, no async runtime: every function that needs the time takes it as an
//! argument, so the same code runs natively and in `wasm32-unknown-unknown`.
//!
//! Feature `codec` (default) adds everything that needs serde: the peer message codec, rich
//! JSON, oRPC errors, token signing and parsing, and [`client::CodecEngine`]. Without it the
//! crate is the client engine alone, fed with decoded envelopes, free of serde and of the
//! formatting machinery (what the npm wasm build links).
#![deny(missing_docs)]
// Without the codec the crate is `no_std` (with `alloc`): the npm wasm then links neither
// std's panic and formatting machinery nor its hash maps.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

/// What std's prelude gives and `no_std` code must import.
#[allow(unused_imports)]
mod prelude {
    pub(crate) use alloc::borrow::ToOwned;
    pub(crate) use alloc::boxed::Box;
    pub(crate) use alloc::string::{String, ToString};
    pub(crate) use alloc::vec;
    pub(crate) use alloc::vec::Vec;
}

pub mod client;
pub mod consts;
pub mod error;
pub mod ids;
#[cfg(feature = "codec")]
mod json_scan;
#[cfg(feature = "codec")]
pub mod message;
#[cfg(feature = "codec")]
pub mod orpc_error;
#[cfg(feature = "codec")]
mod plain_run;
#[cfg(feature = "codec")]
pub mod rich_json;
#[cfg(feature = "codec")]
mod server_frame;
#[cfg(feature = "codec")]
pub mod token;

pub use client::{
    CallId, CallRequest, ConnectionState, Engine, EngineOptions, EventKind, Incoming, Input,
    Output, Payload, SocketId, TokenClaims,
};
#[cfg(feature = "codec")]
pub use client::{CodecEngine, CodecOutput, Event};
pub use error::{Error, Result};
pub use ids::{compare_event_ids, RequestIdGenerator};
#[cfg(feature = "codec")]
pub use message::{
    ClientMessage, EventMeta, EventPayload, Frame, HeaderValue, Headers, RawJson, RequestPayload,
    ResponsePayload, ServerMessage,
};
#[cfg(feature = "codec")]
pub use orpc_error::OrpcError;
#[cfg(feature = "codec")]
pub use rich_json::{MetaEntry, MetaType, PathSegment, RichBody};
#[cfg(feature = "codec")]
pub use token::{parse_token, sign, sign_token, signed_value, unsign, verify_token, TokenPayload};
