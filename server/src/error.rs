//! The one error type of the server crate.

use std::path::PathBuf;

use thiserror::Error;

/// What can stop the server from starting or an operation on it from completing.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The signing key is empty: every token would verify with a key anyone can guess.
    #[error("the signing key is empty; pass --signing-key (or DURABLE_ITERATOR_SIGNING_KEY)")]
    EmptySigningKey,
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The directory that should hold the database file could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The resume store (SQLite) failed.
    #[error("resume storage: {0}")]
    Storage(#[from] rusqlite::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
