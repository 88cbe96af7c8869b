//! Options of the Rust API, as a builder whose every setter names its default; one type for
//! both transports (the closures are `Send + Sync` natively, so an iterator can run in
//! `tokio::spawn`; the few transport-only settings are marked as such).

use durable_iterator_protocol::client::EngineOptions;
use durable_iterator_protocol::{RichBody, TokenPayload};

use crate::notice::Notice;
use crate::port::{MaybeSendSync, NoticeFn, Shared, TransportOptions};

/// Computes the object URL from the token payload (to route by channel, for example).
#[cfg(target_arch = "wasm32")]
pub type ObjectUrl = std::rc::Rc<dyn Fn(&TokenPayload) -> String>;
/// Computes the object URL from the token payload (to route by channel, for example).
#[cfg(not(target_arch = "wasm32"))]
pub type ObjectUrl = std::sync::Arc<dyn Fn(&TokenPayload) -> String + Send + Sync>;

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
    pub(crate) on_notice: Option<NoticeFn>,
    pub(crate) transport: TransportOptions,
}

impl Options {
    /// Calls `procedure` (dot-separated, e.g. `"onMessage"` or `"chat.subscribe"`) on the
    /// oRPC app server at `rpc_url` (e.g. `http://localhost:8787/rpc`) and opens its
    /// durable iterator at `object_url` (e.g. `ws://localhost:8787/chat-room`). Natively,
    /// `https://` and `wss://` are verified against the webpki roots (see
    /// `root_certificates_pem` for private CAs).
    pub fn new(rpc_url: impl Into<String>, procedure: &str, object_url: impl Into<String>) -> Self {
        let object_url = object_url.into();
        Options {
            rpc_url: rpc_url.into(),
            procedure: procedure.split('.').map(str::to_owned).collect(),
            input: RichBody::undefined(),
            headers: Vec::new(),
            object_url: Shared::new(move |_: &TokenPayload| object_url.clone()),
            last_event_id: None,
            engine: EngineOptions::default(),
            on_notice: None,
            transport: TransportOptions::default(),
        }
    }

    /// The procedure's input. Default: none (`undefined`).
    pub fn input<I: serde::Serialize + ?Sized>(
        mut self,
        input: &I,
    ) -> Result<Self, crate::error::Error> {
        self.input = crate::call::plain_body(input)?;
        Ok(self)
    }

    /// A header sent with every procedure call (the first and each refresh). Default: none.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Resume after this event id (sent as `last-event-id` on the first subscribe).
    /// Default: none, only live events.
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.last_event_id = Some(id.into());
        self
    }

    /// Refresh the token this long before it expires, by calling the procedure again with
    /// the same input. Default: off (as upstream), so an expired token ends the iterator
    /// with `TokenExpired`.
    pub fn refresh_before_expire(mut self, before: std::time::Duration) -> Self {
        self.engine.refresh_before_expire = Some(before);
        self
    }

    /// Pause after a failed refresh attempt; it doubles with each further failure in a row,
    /// up to the reconnect backoff's `max`. Also the least time between two refreshes.
    /// Default 2 s.
    pub fn refresh_retry_delay(mut self, delay: std::time::Duration) -> Self {
        self.engine.refresh_retry_delay = delay;
        self
    }

    /// Reconnect backoff: full jitter up to `initial * factor^(attempt-1)`, capped at
    /// `max`. Default 200 ms, x2, 10 s.
    pub fn backoff(
        mut self,
        initial: std::time::Duration,
        factor: f64,
        max: std::time::Duration,
    ) -> Self {
        self.engine.backoff = durable_iterator_protocol::client::Backoff {
            initial,
            factor: factor.max(1.0),
            max,
        };
        self
    }

    /// How long an opening socket may take. Default 4 s.
    pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.engine.connect_timeout = timeout;
        self
    }

    /// How long a socket must stay up before the attempt counter resets. Default 5 s.
    pub fn stable_after(mut self, after: std::time::Duration) -> Self {
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
    pub fn liveness(
        mut self,
        liveness: Option<(std::time::Duration, std::time::Duration)>,
    ) -> Self {
        self.engine.liveness = liveness
            .map(|(idle, timeout)| durable_iterator_protocol::client::Liveness { idle, timeout });
        self
    }

    /// How many delivered event ids are remembered to drop replayed duplicates. Default
    /// 4096.
    pub fn dedup_capacity(mut self, capacity: usize) -> Self {
        self.engine.dedup_capacity = capacity;
        self
    }

    /// Largest frame read from the object, in bytes. In the browser a larger frame is
    /// dropped unread (a `FrameIgnored` notice) and the stream goes on; natively the socket
    /// never buffers more than this, so a larger message breaks the connection (close
    /// 1009) and the iterator reconnects and resumes. Default 16 MiB.
    pub fn max_frame_bytes(mut self, bytes: usize) -> Self {
        self.engine.max_frame_bytes = bytes;
        self
    }

    /// The call of the options' procedure that produces the first token.
    pub(crate) fn procedure_call(&self) -> crate::procedure::ProcedureCall {
        crate::procedure::ProcedureCall {
            base_url: self.rpc_url.clone(),
            path: self.procedure.clone(),
            body: self.input.to_json_string(),
            headers: self.headers.clone(),
            last_event_id: self.last_event_id.clone(),
        }
    }

    /// Derives the object URL from the token payload instead of a fixed address.
    pub fn object_url_fn(
        mut self,
        url: impl Fn(&TokenPayload) -> String + MaybeSendSync + 'static,
    ) -> Self {
        self.object_url = Shared::new(url);
        self
    }

    /// Called with every connection notice (state changes, resumes, gaps, refresh failures),
    /// in order. Natively it runs on the iterator's task: keep it short and never block in
    /// it. Default: none.
    pub fn on_notice(mut self, listener: impl Fn(&Notice) + MaybeSendSync + 'static) -> Self {
        self.on_notice = Some(Shared::new(listener));
        self
    }

    /// Browser only: whether the socket lives in the page's socket worker, which hands
    /// frames to the page in batches (one task per batch instead of one per message). Where
    /// workers are unavailable or blocked by a Content-Security-Policy the socket opens on
    /// the page anyway. Default: `true`.
    #[cfg(target_arch = "wasm32")]
    pub fn off_main_thread(mut self, enabled: bool) -> Self {
        self.transport.off_main_thread = enabled;
        self
    }

    /// Native only: also trust the root certificates in `pem` (one or more PEM
    /// `CERTIFICATE` blocks) for `https://` and `wss://`, besides the webpki roots; for
    /// private certificate authorities and tests. Fails with `INVALID_OPTION` when `pem`
    /// holds no certificate or a malformed one.
    #[cfg(all(feature = "native", not(target_arch = "wasm32")))]
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, crate::error::Error> {
        self.transport.add_root_certificates_pem(pem)?;
        Ok(self)
    }
}
