//! Server configuration, and the command line that fills it.
//!
//! [`Config`] is what [`crate::app`] takes; [`Cli`] is only the binary's way of building one,
//! so tests and embedders never go through argument parsing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use durable_iterator_protocol::consts::DEFAULT_TOKEN_TTL_SECONDS;

use crate::error::{Error, Result};

/// Signing key used when none is given. It is public (it is in this source file), so it is only
/// fit for the local demo; the binary warns loudly when it falls back to it.
pub const DEV_SIGNING_KEY: &str = "INSECURE-dev-only-signing-key-do-not-deploy";

/// Default largest incoming WebSocket message, in bytes (Cloudflare's historical limit, 1 MiB).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1024 * 1024;

/// Default number of events that may wait in one socket's send queue before the socket is
/// judged too slow and closed (it then resumes from its last event id).
pub const DEFAULT_MAX_QUEUED_EVENTS: usize = 4096;

/// Default database file, relative to the working directory.
pub const DEFAULT_DB_PATH: &str = "data/durable-iterator.sqlite3";

/// Where resume storage lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// A private in-memory database: events survive neither a restart nor this process.
    Memory,
    /// A SQLite file; its directory is created if missing.
    File(PathBuf),
}

impl DbLocation {
    /// `:memory:` means [`DbLocation::Memory`]; anything else is a file path.
    pub fn parse(text: &str) -> Self {
        if text == ":memory:" {
            DbLocation::Memory
        } else {
            DbLocation::File(PathBuf::from(text))
        }
    }
}

/// Whose behaviour the object follows where the real oRPC 1.x object differs from ours
/// (PROTOCOL.md section 10).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Compat {
    /// Ours: integer-ordered replay, close at `exp`, 404 for an unknown `/call` path, `/call`
    /// input optional.
    #[default]
    Ours,
    /// The real object's: text-ordered replay, 1008 only on the next send or receive after
    /// `exp`, 500 for an unknown `/call` path, 400 for a `/call` without `input`. For testing
    /// clients against it.
    Upstream,
}

impl Compat {
    /// Whether the real object's behaviour is asked for.
    pub fn upstream(self) -> bool {
        self == Compat::Upstream
    }
}

/// Everything the server needs to run, with the defaults the binary uses.
#[derive(Debug, Clone)]
pub struct Config {
    /// HMAC key that tokens are signed and verified with. Must not be empty.
    pub signing_key: String,
    /// How long published events are kept for resume; `None` (the default, like upstream)
    /// turns resume off: events then carry no id and nothing is stored.
    pub resume_retention: Option<Duration>,
    /// Where events are stored when resume is on. Default: [`DEFAULT_DB_PATH`].
    pub db: DbLocation,
    /// Directory served at `/` (the demo page). Default: none.
    pub static_dir: Option<PathBuf>,
    /// Largest incoming WebSocket message and frame, in bytes. Default: 1 MiB.
    pub max_frame_bytes: usize,
    /// Lifetime of tokens issued by the demo `onMessage` procedure. Default: 24 hours.
    pub token_ttl: Duration,
    /// Whether the test-only endpoints under `/test` are mounted. Default: off.
    pub test_endpoints: bool,
    /// Per-socket send queue bound, in events. Default: [`DEFAULT_MAX_QUEUED_EVENTS`].
    pub max_queued_events: usize,
    /// Whose behaviour to follow where the real object differs. Default: ours.
    pub compat: Compat,
}

impl Config {
    /// A configuration with `signing_key` and every other field at its default.
    pub fn new(signing_key: impl Into<String>) -> Self {
        Config {
            signing_key: signing_key.into(),
            resume_retention: None,
            db: DbLocation::File(PathBuf::from(DEFAULT_DB_PATH)),
            static_dir: None,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            token_ttl: Duration::from_secs(DEFAULT_TOKEN_TTL_SECONDS),
            test_endpoints: false,
            max_queued_events: DEFAULT_MAX_QUEUED_EVENTS,
            compat: Compat::Ours,
        }
    }

    /// Checks the values that would make the server unsafe or unable to work.
    pub fn validate(&self) -> Result<()> {
        if self.signing_key.trim().is_empty() {
            return Err(Error::EmptySigningKey);
        }
        if self.max_frame_bytes < 1024 {
            return Err(Error::Config(
                "max frame size must be at least 1024 bytes".into(),
            ));
        }
        if self.max_queued_events == 0 {
            return Err(Error::Config(
                "the socket queue bound must be at least 1".into(),
            ));
        }
        if self.token_ttl.is_zero() {
            return Err(Error::Config("the token TTL must be positive".into()));
        }
        Ok(())
    }

    /// Whether events are stored and get ids.
    pub fn resume_enabled(&self) -> bool {
        self.resume_retention.is_some_and(|d| !d.is_zero())
    }
}

/// Reference oRPC Durable Iterator server: the object (WebSocket at /chat-room), the demo app
/// procedures (/rpc/onMessage, /rpc/sendMessage) and, optionally, the demo page.
///
/// Once bound it prints exactly one line to stdout:
/// `durable-iterator-server listening on http://<addr>` (with the real port when --addr ends
/// in :0). Logs go to stderr (RUST_LOG controls the level).
#[derive(Debug, Parser)]
#[command(name = "durable-iterator-server", version, verbatim_doc_comment)]
pub struct Cli {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, env = "DURABLE_ITERATOR_ADDR", default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,

    /// HMAC key for tokens. Refused when empty. Default: a public development key, with a
    /// warning: fine for the local demo, never for anything else.
    #[arg(long, env = "DURABLE_ITERATOR_SIGNING_KEY", hide_env_values = true)]
    pub signing_key: Option<String>,

    /// Keep events this many seconds so reconnecting clients can resume. Default: off (like
    /// upstream): events carry no id and nothing is stored.
    #[arg(long, env = "DURABLE_ITERATOR_RESUME_RETENTION_SECONDS")]
    pub resume_retention_seconds: Option<u64>,

    /// SQLite database for resume storage: a file path, or ":memory:".
    #[arg(long, env = "DURABLE_ITERATOR_DB", default_value = DEFAULT_DB_PATH)]
    pub db: String,

    /// Directory to serve at / (the demo page). Default: none.
    #[arg(long, env = "DURABLE_ITERATOR_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Largest incoming WebSocket message, in bytes.
    #[arg(long, env = "DURABLE_ITERATOR_MAX_FRAME_BYTES", default_value_t = DEFAULT_MAX_FRAME_BYTES)]
    pub max_frame_bytes: usize,

    /// Lifetime of the tokens that /rpc/onMessage issues (its input may ask for less or more).
    #[arg(long, env = "DURABLE_ITERATOR_TOKEN_TTL_SECONDS", default_value_t = DEFAULT_TOKEN_TTL_SECONDS)]
    pub token_ttl_seconds: u64,

    /// Events that may wait for one slow socket before it is closed (code 1013) to resume.
    #[arg(long, env = "DURABLE_ITERATOR_MAX_QUEUED_EVENTS", default_value_t = DEFAULT_MAX_QUEUED_EVENTS)]
    pub max_queued_events: usize,

    /// Mount test-only endpoints (off by default; never on a shared host):
    ///   POST /test/publish {"channel","count","size","tags"?,"rate"?,"stamp"?} publishes
    ///        count events {"seq":k,"pad":"x..."} of about size bytes (at rate events/s;
    ///        stamp adds "t", the publish time in epoch ms) -> {"published","firstId","lastId"}
    ///        (ids are decimal strings, null when resume is off);
    ///   POST /test/drop {"channel","id"?} drops the channel's sockets (or client id's) without a close frame
    ///        -> {"dropped":n};
    ///   GET  /test/sockets?channel=c
    ///        -> {"sockets":[{"id","conn","tags","att","exp","subscribed"}]}.
    #[arg(long, env = "DURABLE_ITERATOR_TEST_ENDPOINTS", verbatim_doc_comment)]
    pub test_endpoints: bool,

    /// Where the real oRPC 1.x object differs from this server, behave like it ("upstream"),
    /// to test clients against its bugs: replay in text order of ids (100 before 99), close an
    /// expired socket (1008) only on its next send or receive, 500 for an unknown /call path,
    /// 400 for a /call without input. Default: ours.
    #[arg(long, env = "DURABLE_ITERATOR_COMPAT", value_enum, default_value_t = Compat::Ours)]
    pub compat: Compat,
}

impl Cli {
    /// The configuration these arguments describe, and whether it fell back to
    /// [`DEV_SIGNING_KEY`] (so the caller can warn).
    pub fn to_config(&self) -> (Config, bool) {
        let (key, dev_key) = match &self.signing_key {
            Some(key) => (key.clone(), false),
            None => (DEV_SIGNING_KEY.to_owned(), true),
        };
        let mut config = Config::new(key);
        config.resume_retention = self
            .resume_retention_seconds
            .filter(|s| *s > 0)
            .map(Duration::from_secs);
        config.db = DbLocation::parse(&self.db);
        config.static_dir = self.static_dir.clone();
        config.max_frame_bytes = self.max_frame_bytes;
        config.token_ttl = Duration::from_secs(self.token_ttl_seconds);
        config.test_endpoints = self.test_endpoints;
        config.max_queued_events = self.max_queued_events;
        config.compat = self.compat;
        (config, dev_key)
    }
}
