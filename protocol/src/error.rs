//! The one error type of the protocol crate.

use thiserror::Error;

/// Everything that can go wrong while decoding, encoding or checking protocol data.
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
    #[error("malformed rich-JSON meta: {reason}")]
    MalformedMeta {
        /// What was wrong.
        reason: String,
    },
    /// A rich-JSON meta path names something that is not in the JSON value.
    #[error("rich-JSON meta path {path} does not exist in the value")]
    MetaPathNotFound {
        /// The path, rendered as JSON.
        path: String,
    },
    /// A rich-JSON meta entry cannot be applied to the value it points at.
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
    #[error("invalid token signature")]
    BadSignature,
    /// A token whose `exp` is in the past.
    #[error("token expired at {exp} (now {now})")]
    TokenExpired {
        /// The token's expiry, seconds since the epoch.
        exp: f64,
        /// The time it was checked at, seconds since the epoch.
        now: f64,
    },
    /// An oRPC error body that does not have the `{defined, code, status, message}` shape.
    #[error("malformed oRPC error: {reason}")]
    MalformedOrpcError {
        /// What was wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Error::MalformedMessage {
            reason: reason.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
