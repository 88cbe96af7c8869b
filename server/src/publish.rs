//! The publishing API: what [`crate::Server::publish_event`] takes and returns.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// Which sockets of a channel an event goes to (PROTOCOL.md section 8). All fields empty means
/// every subscribed socket. Each socket receives a given event at most once.
#[derive(Clone, Default)]
pub struct PublishOptions {
    /// Only sockets whose token has at least one of these tags.
    pub tags: Option<Vec<String>>,
    /// Only these sockets. A predicate is evaluated once, at publish time, over the channel's
    /// current sockets (after the tag filter); the matching client ids are what is stored for
    /// replay, so a client that connects later is not included. Use this for anything secret.
    pub targets: Option<Recipients>,
    /// All sockets but these. Not a security boundary: clients choose their own ids.
    pub exclude: Option<Recipients>,
}

impl PublishOptions {
    /// No filter: every subscribed socket.
    pub fn everyone() -> Self {
        Self::default()
    }

    /// Only sockets holding one of `tags`.
    pub fn tags<I, S>(tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PublishOptions {
            tags: Some(tags.into_iter().map(Into::into).collect()),
            ..Self::default()
        }
    }
}

impl fmt::Debug for PublishOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishOptions")
            .field("tags", &self.tags)
            .field("targets", &self.targets)
            .field("exclude", &self.exclude)
            .finish()
    }
}

/// A set of sockets, named by client id or chosen by a predicate.
#[derive(Clone)]
pub enum Recipients {
    /// These client ids (the `id` a client gave at upgrade; every socket of that client).
    Ids(Vec<String>),
    /// The sockets for which this returns true. It runs under the channel's lock: keep it
    /// quick, and never publish from inside it.
    Matching(Arc<dyn Fn(&SocketView<'_>) -> bool + Send + Sync>),
}

impl Recipients {
    /// The sockets of these client ids.
    pub fn ids<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Recipients::Ids(ids.into_iter().map(Into::into).collect())
    }

    /// The sockets `predicate` accepts.
    pub fn matching(predicate: impl Fn(&SocketView<'_>) -> bool + Send + Sync + 'static) -> Self {
        Recipients::Matching(Arc::new(predicate))
    }
}

impl fmt::Debug for Recipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipients::Ids(ids) => f.debug_tuple("Ids").field(ids).finish(),
            Recipients::Matching(_) => f.write_str("Matching(..)"),
        }
    }
}

/// What a [`Recipients::Matching`] predicate sees of a socket.
#[derive(Debug, Clone, Copy)]
pub struct SocketView<'a> {
    /// Connection serial number, unique for the life of the process.
    pub conn: u64,
    /// The client id given at upgrade.
    pub client_id: &'a str,
    /// The token's tags.
    pub tags: Option<&'a [String]>,
    /// The token's attachment.
    pub att: Option<&'a Value>,
}

/// A snapshot of one socket of a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketInfo {
    /// Connection serial number, unique for the life of the process: a reconnect gets a new
    /// one, a token refresh over the open socket keeps it.
    pub conn: u64,
    /// The client id given at upgrade.
    pub client_id: String,
    /// The token's tags.
    pub tags: Option<Vec<String>>,
    /// The token's attachment.
    pub att: Option<Value>,
    /// The current token's expiry, seconds since the epoch.
    pub exp: f64,
    /// Whether the socket has an active `/subscribe` stream.
    pub subscribed: bool,
    /// Events and answers waiting in the socket's queue (not yet written to it).
    pub queued: usize,
}

/// The outcome of a publish.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishReceipt {
    /// Id of the first event published; `None` when resume is off (events carry no id).
    pub first_id: Option<u64>,
    /// Id of the last event published; `None` when resume is off.
    pub last_id: Option<u64>,
    /// Events handed to socket queues, summed over sockets.
    pub deliveries: usize,
    /// Sockets closed by this publish because their queue was full.
    pub overflowed: usize,
}
