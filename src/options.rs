//! Options of the Rust API, as a builder whose every setter names its default.

use std::rc::Rc;
use std::time::Duration;

use durable_iterator_protocol::client::{Backoff, EngineOptions, Liveness};
use durable_iterator_protocol::{RichBody, TokenPayload};
use serde::Serialize;

use crate::error::Error;

/// Computes the object URL from the token payload (to route by channel, for example).
pub type ObjectUrl = Rc<dyn Fn(&TokenPayload) -> String>;

/// How to reach the app server and the object, and how to behave.
#[derive(Clone)]
pub struct Options {
    pub(crate) rpc_url: String,
    pub(crate) procedure: Vec<String>,
    pub(crate) input: RichBody,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) object_url: ObjectUrl,
    pub(crate) last_event_id: Option<String>,
    pub(crate) engine: EngineOptions,
    pub(crate) on_notice: Option<crate::driver::NoticeFn>,
}

impl Options {
    /// Calls `procedure` (dot-separated, e.g. `"onMessage"` or `"chat.subscribe"`) on the
    /// oRPC app server at `rpc_url` (e.g. `http://localhost:8787/rpc`) and opens its
    /// durable iterator at `object_url` (e.g. `ws://localhost:8787/chat-room`).
    pub fn new(rpc_url: impl Into<String>, procedure: &str, object_url: impl Into<String>) -> Self {
        let object_url = object_url.into();
        Options {
            rpc_url: rpc_url.into(),
            procedure: procedure.split('.').map(str::to_owned).collect(),
            input: RichBody::undefined(),
            headers: Vec::new(),
            object_url: Rc::new(move |_| object_url.clone()),
            last_event_id: None,
            engine: EngineOptions::default(),
            on_notice: None,
        }
    }

    /// The procedure's input. Default: none (`undefined`).
    pub fn input<I: Serialize + ?Sized>(mut self, input: &I) -> Result<Self, Error> {
        let value = serde_json::to_value(input).map_err(|e| Error::Options {
            reason: format!("input does not serialize: {e}"),
        })?;
        self.input = RichBody::plain(value);
        Ok(self)
    }

    /// A header sent with every procedure call (the first and each refresh). Default: none.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Derives the object URL from the token payload instead of a fixed address.
    pub fn object_url_fn(mut self, url: impl Fn(&TokenPayload) -> String + 'static) -> Self {
        self.object_url = Rc::new(url);
        self
    }

    /// Resume after this event id (sent as `last-event-id` on the first subscribe). Default:
    /// none, only live events.
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.last_event_id = Some(id.into());
        self
    }

    /// Refresh the token this long before it expires, by calling the procedure again with
    /// the same input. Default: off (as upstream), so an expired token ends the iterator
    /// with `TokenExpired`.
    pub fn refresh_before_expire(mut self, before: Duration) -> Self {
        self.engine.refresh_before_expire = Some(before);
        self
    }

    /// Pause between failed refresh attempts. Default 2 s.
    pub fn refresh_retry_delay(mut self, delay: Duration) -> Self {
        self.engine.refresh_retry_delay = delay;
        self
    }

    /// Reconnect backoff: full jitter up to `initial * factor^(attempt-1)`, capped at `max`.
    /// Default 200 ms, x2, 10 s.
    pub fn backoff(mut self, initial: Duration, factor: f64, max: Duration) -> Self {
        self.engine.backoff = Backoff {
            initial,
            factor: factor.max(1.0),
            max,
        };
        self
    }

    /// How long an opening socket may take. Default 4 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.engine.connect_timeout = timeout;
        self
    }

    /// How long a socket must stay up before the attempt counter resets. Default 5 s.
    pub fn stable_after(mut self, after: Duration) -> Self {
        self.engine.stable_after = after;
        self
    }

    /// Give up after this many failed reconnects in a row. Default: never.
    pub fn max_reconnect_attempts(mut self, attempts: u32) -> Self {
        self.engine.max_reconnect_attempts = Some(attempts);
        self
    }

    /// Probe a silent socket after `idle` and reconnect when no answer comes within
    /// `timeout`; `None` switches probing off. Default 20 s and 10 s.
    pub fn liveness(mut self, liveness: Option<(Duration, Duration)>) -> Self {
        self.engine.liveness = liveness.map(|(idle, timeout)| Liveness { idle, timeout });
        self
    }

    /// How many delivered event ids are remembered to drop replayed duplicates. Default 4096.
    pub fn dedup_capacity(mut self, capacity: usize) -> Self {
        self.engine.dedup_capacity = capacity;
        self
    }

    /// Called with every connection notice (state changes, resumes, gaps, refresh failures),
    /// in order. Default: none.
    pub fn on_notice(mut self, listener: impl Fn(&crate::driver::Notice) + 'static) -> Self {
        self.on_notice = Some(Rc::new(listener));
        self
    }
}
