//! What the engine reads from the socket: one decoded envelope per message. The driver decodes
//! frames (serde in Rust, `JSON.parse` in JavaScript) and keeps each message's payload (event
//! data and meta, response body); the engine only sees the envelope and names the payload by
//! the handle the driver chose.

use crate::prelude::*;
#[cfg(feature = "codec")]
use serde::{Deserialize, Serialize};

/// A handle the driver chose for one received message (its payload stays with the driver).
/// Outputs name it only while the engine processes the input that carried it, unless the
/// engine asks to keep it ([`super::Output::Keep`]): handles must then stay unique among the
/// messages kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Payload(pub u32);

/// What an event-iterator message means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "codec", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "codec", serde(rename_all = "lowercase"))]
pub enum EventKind {
    /// A yielded value.
    Message,
    /// A thrown error; the data is an oRPC error JSON.
    Error,
    /// The iterator returned; the data is its return value.
    Done,
}

/// One message from the object, decoded down to what the engine decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// The answer to a request (peer message type 2).
    Response {
        /// The id of the request answered (`i`).
        id: String,
        /// The status (`p.s`, 200 when absent).
        status: u16,
        /// Whether the `content-type` header starts with `text/event-stream` (the answer
        /// opens a stream whose events follow).
        event_stream: bool,
        /// Whether the response has a body (`p.b`, which may be JSON `null`).
        has_body: bool,
        /// This message: a successful call answer, or the body of an error answer, is it.
        payload: Payload,
    },
    /// One event of the stream a response opened (peer message type 3).
    Event {
        /// The id of the request the stream belongs to (`i`).
        id: String,
        /// message, error or done (`p.e`).
        kind: EventKind,
        /// The event id (`p.m.id`), if any.
        event_id: Option<String>,
        /// The object's reconnect hint in milliseconds (`p.m.retry`), if any.
        retry_ms: Option<u64>,
        /// This message: its data (`p.d`, `{}` when absent) and meta are the event.
        data: Payload,
    },
    /// The object stopped the stream or request with this id (peer message type 4).
    Abort {
        /// The id of the stream stopped (`i`).
        id: String,
    },
}

impl Incoming {
    /// The request id this message belongs to.
    pub fn id(&self) -> &str {
        match self {
            Incoming::Response { id, .. } | Incoming::Event { id, .. } | Incoming::Abort { id } => {
                id
            }
        }
    }
}
