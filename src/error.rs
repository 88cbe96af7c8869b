//! The one error type of the client crate.

use durable_iterator_protocol::OrpcError;
use thiserror::Error;

/// Everything the client reports; JavaScript sees the same cases as one error class whose
/// `code` is [`Error::code`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an oRPC error (status, code, message, data). Boxed, as in the
    /// protocol crate, to keep every `Result` of this crate small.
    #[error("{0}")]
    Rpc(Box<OrpcError>),
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
    /// A `https://` or `wss://` server presented a certificate the client does not trust
    /// (unknown issuer, wrong name, expired, ...). Not retried: every attempt would fail the
    /// same way. Natively, `Options::root_certificates_pem` adds a private CA.
    #[error("the TLS certificate of {server} is not trusted: {reason}")]
    UntrustedCertificate {
        /// The server's host and port.
        server: String,
        /// What was wrong with the certificate.
        reason: String,
    },
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
    /// Bad data from the server or from the caller, or an engine decision such as
    /// `TokenExpired` or `RpcNotAllowed`.
    #[error(transparent)]
    Protocol(#[from] durable_iterator_protocol::Error),
    /// An option has a value the client cannot use.
    #[error("invalid option: {reason}")]
    Options {
        /// What was wrong.
        reason: String,
    },
    /// An event or answer did not deserialize into the requested Rust type.
    #[error("cannot decode into the requested type: {reason}")]
    Decode {
        /// The deserializer's message.
        reason: String,
    },
    /// A second `next()` was started while one was still pending.
    #[error("another next() is already pending on this iterator")]
    Busy,
}

impl Error {
    /// A stable machine-readable code, the same in Rust and JavaScript.
    pub fn code(&self) -> &str {
        match self {
            Error::Rpc(error) => &error.code,
            Error::Http { .. } => "HTTP_ERROR",
            Error::Network(_) => "NETWORK_ERROR",
            Error::UntrustedCertificate { .. } => "UNTRUSTED_CERTIFICATE",
            Error::Aborted => "ABORTED",
            Error::InvalidToken { .. } => "INVALID_TOKEN",
            Error::Protocol(durable_iterator_protocol::Error::Rpc(error)) => &error.code,
            Error::Protocol(error) => error.code(),
            Error::Options { .. } => "INVALID_OPTION",
            Error::Decode { .. } => "DECODE_ERROR",
            Error::Busy => "BUSY",
        }
    }

    /// The oRPC error the server answered with, if that is what this is.
    pub fn rpc(&self) -> Option<&OrpcError> {
        match self {
            Error::Rpc(error) => Some(error),
            Error::Protocol(durable_iterator_protocol::Error::Rpc(error)) => Some(error),
            _ => None,
        }
    }
}
