//! The one error type of the protocol crate.

use crate::prelude::*;
use thiserror::Error;

use crate::client::Payload;
#[cfg(feature = "codec")]
use crate::orpc_error::OrpcError;

/// Everything that can go wrong while decoding, encoding or checking protocol data.
///
/// The variants only the codec produces (rich JSON, tokens, oRPC errors) exist with the
/// `codec` feature: the engine alone never builds them, and their codes would only add text
/// to the wasm module.
///
/// Untrusted input (frames, bodies, tokens) only ever produces one of these; nothing in this
/// crate panics on bad input.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame or body is not valid JSON or does not have the expected shape.
    #[error("malformed message: {reason}")]
    MalformedMessage {
        /// What was wrong, for diagnostics.
        reason: String,
    },
    /// A message type number (`t`) that this protocol does not know.
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    /// A frame larger than the configured limit.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// Size of the offending frame.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// A rich-JSON meta entry is not `[type, ...path]` with a numeric type.
    #[cfg(feature = "codec")]
    #[error("malformed rich-JSON meta: {reason}")]
    MalformedMeta {
        /// What was wrong.
        reason: String,
    },
    /// A rich-JSON meta path names something that is not in the JSON value.
    #[cfg(feature = "codec")]
    #[error("rich-JSON meta path {path} does not exist in the value")]
    MetaPathNotFound {
        /// The path, rendered as JSON.
        path: String,
    },
    /// A rich-JSON meta entry cannot be applied to the value it points at.
    #[cfg(feature = "codec")]
    #[error("rich-JSON meta type {kind} cannot apply to the value at {path}: {reason}")]
    MetaTypeMismatch {
        /// The meta type number.
        kind: u32,
        /// The path, rendered as JSON.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A token that does not have the `payload.signature` form or whose payload is not valid.
    #[error("invalid token: {reason}")]
    InvalidToken {
        /// What was wrong.
        reason: String,
    },
    /// A token whose signature does not match its payload for the given key.
    #[cfg(feature = "codec")]
    #[error("invalid token signature")]
    BadSignature,
    /// A token whose `exp` is in the past. The client engine also ends an iterator with this
    /// when its token expired and no refresh can replace it; `now` is then measured on the
    /// token's own clock (`iat` plus the time since the token was received).
    #[error("token expired at {exp} (now {now})")]
    TokenExpired {
        /// The token's expiry, seconds since the epoch.
        exp: f64,
        /// The time it was checked at, seconds since the epoch.
        now: f64,
    },
    /// An oRPC error body that does not have the `{defined, code, status, message}` shape.
    #[cfg(feature = "codec")]
    #[error("malformed oRPC error: {reason}")]
    MalformedOrpcError {
        /// What was wrong.
        reason: String,
    },
    /// The client tried to call an object method that the current token's `rpc` list does not
    /// name; refused before anything was sent, as the object would refuse it anyway.
    #[error("method {method:?} is not allowed by the token")]
    RpcNotAllowed {
        /// The method (first path segment) that was refused.
        method: String,
    },
    /// A call the client cannot even send (empty path, input that does not encode).
    #[error("invalid call: {reason}")]
    InvalidCall {
        /// What was wrong.
        reason: String,
    },
    /// The object answered a call with an oRPC error (boxed: it is much larger than the rest).
    /// The engine reports an error answer as [`Error::Rejected`]; the Rust drivers read its
    /// body into this.
    #[cfg(feature = "codec")]
    #[error("RPC failed: {0}")]
    Rpc(Box<OrpcError>),
    /// The object answered a call with an error status (`>= 400` or `< 200`), as the engine
    /// reports it: the oRPC error is in the body of the message `body` names (absent when the
    /// answer had none), which the driver reads.
    #[error("the call was rejected with status {status}")]
    Rejected {
        /// The answer's status.
        status: u16,
        /// The message of the input that carried the answer, when it has a body.
        body: Option<Payload>,
    },
    /// The caller aborted the call.
    #[error("aborted")]
    Aborted,
    /// The iterator ended (stopped, expired or finished) while the call was pending, or a
    /// call was started after it ended.
    #[error("the durable iterator has ended")]
    IteratorEnded,
    /// The socket closed and the reconnect policy gave up (or a call ran out of retries).
    #[error("connection closed ({code}): {reason}")]
    ConnectionClosed {
        /// The WebSocket close code (1006 when the socket never opened).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The object answered with something this client cannot use (e.g. a stream to a call).
    #[error("unexpected response: {reason}")]
    UnexpectedResponse {
        /// What was unexpected.
        reason: String,
    },
}

impl Error {
    /// A stable, machine-readable name of the variant, for the JS error's `code`.
    ///
    /// These strings are part of the public API: they never change once released.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MalformedMessage { .. } => "MALFORMED_MESSAGE",
            Error::UnknownMessageType(_) => "UNKNOWN_MESSAGE_TYPE",
            Error::FrameTooLarge { .. } => "FRAME_TOO_LARGE",
            #[cfg(feature = "codec")]
            Error::MalformedMeta { .. } => "MALFORMED_META",
            #[cfg(feature = "codec")]
            Error::MetaPathNotFound { .. } => "META_PATH_NOT_FOUND",
            #[cfg(feature = "codec")]
            Error::MetaTypeMismatch { .. } => "META_TYPE_MISMATCH",
            Error::InvalidToken { .. } => "INVALID_TOKEN",
            #[cfg(feature = "codec")]
            Error::BadSignature => "BAD_SIGNATURE",
            Error::TokenExpired { .. } => "TOKEN_EXPIRED",
            #[cfg(feature = "codec")]
            Error::MalformedOrpcError { .. } => "MALFORMED_ORPC_ERROR",
            Error::RpcNotAllowed { .. } => "RPC_NOT_ALLOWED",
            Error::InvalidCall { .. } => "INVALID_CALL",
            #[cfg(feature = "codec")]
            Error::Rpc(_) => "RPC_ERROR",
            Error::Rejected { .. } => "REJECTED",
            Error::Aborted => "ABORTED",
            Error::IteratorEnded => "ITERATOR_ENDED",
            Error::ConnectionClosed { .. } => "CONNECTION_CLOSED",
            Error::UnexpectedResponse { .. } => "UNEXPECTED_RESPONSE",
        }
    }
}

impl Error {
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Error::MalformedMessage {
            reason: reason.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
