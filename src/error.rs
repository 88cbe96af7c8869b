//! The one error type of the client crate.

use durable_iterator_protocol::OrpcError;
use thiserror::Error;

/// Everything the client reports; JavaScript sees the same cases as one error class whose
/// `code` is [`Error::code`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an oRPC error (status, code, message, data).
    #[error("{0}")]
    Rpc(OrpcError),
    /// The server answered with a non-oRPC HTTP error.
    #[error("HTTP {status}: {body}")]
    Http {
        /// HTTP status.
        status: u16,
        /// The body text, for diagnostics.
        body: String,
    },
    /// The request never got an answer (network down, CORS, DNS, ...).
    #[error("network error: {0}")]
    Network(String),
    /// The caller aborted.
    #[error("aborted")]
    Aborted,
    /// A procedure marked as a durable iterator returned something that is not a valid token.
    #[error("Expected valid token for procedure {procedure}: {reason}")]
    InvalidToken {
        /// The procedure path, dot-joined.
        procedure: String,
        /// What was wrong with the token.
        reason: String,
    },
    /// Bad data from the server or from the caller.
    #[error(transparent)]
    Protocol(#[from] durable_iterator_protocol::Error),
}

impl Error {
    /// A stable machine-readable code, the same in Rust and JavaScript.
    pub fn code(&self) -> &str {
        match self {
            Error::Rpc(error) => &error.code,
            Error::Http { .. } => "HTTP_ERROR",
            Error::Network(_) => "NETWORK_ERROR",
            Error::Aborted => "ABORTED",
            Error::InvalidToken { .. } => "INVALID_TOKEN",
            Error::Protocol(_) => "PROTOCOL_ERROR",
        }
    }
}
