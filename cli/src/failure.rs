//! How a run fails: a message for stderr and an exit code a script can test.

use durable_iterator_wasm::Error;

/// The engine's codes that mean the token itself is the problem.
const TOKEN_CODES: &[&str] = &["INVALID_TOKEN", "BAD_SIGNATURE", "TOKEN_EXPIRED"];
/// Reconnects gave up (`--max-attempts`): the object stayed out of reach.
const CONNECTION_CLOSED: &str = "CONNECTION_CLOSED";

/// The kinds of failure, as exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anything not below.
    Other = 1,
    /// Bad arguments (clap uses the same code for its own).
    Usage = 2,
    /// The app server refused the call (401/403) or its token, or the object refused the
    /// token.
    TokenRefused = 3,
    /// The app server or the object could not be reached.
    Unreachable = 4,
    /// A TLS certificate the client does not trust.
    UntrustedCertificate = 5,
}

/// A failed run.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub kind: Kind,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }

    /// A bad argument.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(Kind::Usage, message)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let kind = match &error {
            Error::UntrustedCertificate { .. } => Kind::UntrustedCertificate,
            Error::Network(_) => Kind::Unreachable,
            Error::InvalidToken { .. } => Kind::TokenRefused,
            Error::Options { .. } => Kind::Usage,
            _ if error.rpc().is_some_and(|e| matches!(e.status, 401 | 403)) => Kind::TokenRefused,
            _ if TOKEN_CODES.contains(&error.code()) => Kind::TokenRefused,
            _ if error.code() == CONNECTION_CLOSED => Kind::Unreachable,
            _ => Kind::Other,
        };
        let what = match kind {
            Kind::Unreachable => "cannot reach the server: ",
            Kind::TokenRefused => "token refused: ",
            _ => "",
        };
        let message = format!("{what}{error} ({})", error.code());
        Failure { kind, message }
    }
}
