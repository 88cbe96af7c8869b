//! Options of the Rust API, as a builder whose every setter names its default. The setters
//! without closures are shared with the native `Options` (`crate::option_setters`).

use std::rc::Rc;

use durable_iterator_protocol::client::EngineOptions;
use durable_iterator_protocol::{RichBody, TokenPayload};

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
    pub(crate) off_main_thread: bool,
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
            off_main_thread: true,
        }
    }

    crate::option_setters::shared_option_setters!();

    /// Derives the object URL from the token payload instead of a fixed address.
    pub fn object_url_fn(mut self, url: impl Fn(&TokenPayload) -> String + 'static) -> Self {
        self.object_url = Rc::new(url);
        self
    }

    /// Whether the socket lives in the page's socket worker, which hands frames to the page in
    /// batches (one task per batch instead of one per message). Where workers are unavailable
    /// or blocked by a Content-Security-Policy the socket opens on the page anyway. Default:
    /// `true`.
    pub fn off_main_thread(mut self, enabled: bool) -> Self {
        self.off_main_thread = enabled;
        self
    }

    /// Called with every connection notice (state changes, resumes, gaps, refresh failures),
    /// in order. Default: none.
    pub fn on_notice(mut self, listener: impl Fn(&crate::driver::Notice) + 'static) -> Self {
        self.on_notice = Some(Rc::new(listener));
        self
    }
}
