//! The command line, as clap reads it (the help text is the reference).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Follow an oRPC durable iterator, or call a method of its object, from a terminal.
///
/// Exit codes: 0 done, 1 any other failure, 2 bad arguments, 3 token refused (by the app
/// server or the object), 4 server unreachable, 5 TLS certificate not trusted.
#[derive(Debug, Parser)]
#[command(name = "durable-iterator", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print each event as one JSON line `{"id":..,"data":..}` on stdout; connection
    /// changes, resumes and gaps go to stderr.
    Tail(Tail),
    /// Call a method of the iterator's object and print the answer as JSON.
    Call(Call),
}

/// `tail`'s options.
#[derive(Debug, Args)]
pub struct Tail {
    /// How to connect.
    #[command(flatten)]
    pub connection: Connection,
    /// The procedure's input, as JSON.
    #[arg(long, value_name = "JSON", visible_alias = "procedure-input")]
    pub input: Option<String>,
    /// Resume after this event id (the object replays what it kept since).
    #[arg(long, value_name = "ID")]
    pub last_event_id: Option<String>,
    /// Exit 0 after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// `call`'s options.
#[derive(Debug, Args)]
pub struct Call {
    /// How to connect.
    #[command(flatten)]
    pub connection: Connection,
    /// The procedure's input, as JSON (`--input` is the method's).
    #[arg(long, value_name = "JSON")]
    pub procedure_input: Option<String>,
    /// The method, dot-separated: `routerClient.echo`.
    #[arg(long, value_name = "A.B")]
    pub path: String,
    /// The method's input, as JSON; without it the call has no input.
    #[arg(long, value_name = "JSON")]
    pub input: Option<String>,
}

/// Where the app server and the object are, and how to reach them.
#[derive(Debug, Args)]
pub struct Connection {
    /// The oRPC RPC base URL: `http://localhost:8787/rpc` (or `https://`).
    #[arg(long, value_name = "URL")]
    pub rpc_url: String,
    /// The procedure that returns the durable iterator, dot-separated: `onMessage`.
    #[arg(long, value_name = "NAME")]
    pub procedure: String,
    /// The object's WebSocket URL: `ws://localhost:8787/chat-room` (or `wss://`).
    #[arg(long, value_name = "OBJECT_URL")]
    pub url: String,
    /// A header for the procedure call, `'Name: value'`; repeat for more.
    #[arg(long = "header", value_name = "'K: V'")]
    pub headers: Vec<String>,
    /// Refresh the token this many seconds before it expires (default: no refresh, so the
    /// iterator ends when the token does).
    #[arg(long, value_name = "SECS")]
    pub refresh_before: Option<f64>,
    /// Also trust the certificate authorities in this PEM file (private CAs, tests).
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Give up after this many failed reconnects in a row (default: never).
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
}
