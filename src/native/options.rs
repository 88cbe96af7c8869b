//! Options of the native iterator: the browser builder's setters, with closures that are
//! `Send + Sync` so the iterator can run in `tokio::spawn`.

use std::sync::Arc;

use durable_iterator_protocol::client::EngineOptions;
use durable_iterator_protocol::{RichBody, TokenPayload};

use super::driver::NoticeFn;
use crate::notice::Notice;

/// Computes the object URL from the token payload (to route by channel, for example).
pub type ObjectUrl = Arc<dyn Fn(&TokenPayload) -> String + Send + Sync>;

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
}

impl Options {
    /// Calls `procedure` (dot-separated, e.g. `"onMessage"` or `"chat.subscribe"`) on the
    /// oRPC app server at `rpc_url` (e.g. `http://localhost:8787/rpc`) and opens its
    /// durable iterator at `object_url` (e.g. `ws://localhost:8787/chat-room`). Plain
    /// `http://` and `ws://` only: this transport has no TLS.
    pub fn new(rpc_url: impl Into<String>, procedure: &str, object_url: impl Into<String>) -> Self {
        let object_url = object_url.into();
        Options {
            rpc_url: rpc_url.into(),
            procedure: procedure.split('.').map(str::to_owned).collect(),
            input: RichBody::undefined(),
            headers: Vec::new(),
            object_url: Arc::new(move |_| object_url.clone()),
            last_event_id: None,
            engine: EngineOptions::default(),
            on_notice: None,
        }
    }

    crate::option_setters::shared_option_setters!();

    /// Derives the object URL from the token payload instead of a fixed address.
    pub fn object_url_fn(
        mut self,
        url: impl Fn(&TokenPayload) -> String + Send + Sync + 'static,
    ) -> Self {
        self.object_url = Arc::new(url);
        self
    }

    /// Called with every connection notice (state changes, resumes, gaps, refresh failures),
    /// in order, on the iterator's task: keep it short and never block in it. Default: none.
    pub fn on_notice(mut self, listener: impl Fn(&Notice) + Send + Sync + 'static) -> Self {
        self.on_notice = Some(Arc::new(listener));
        self
    }
}
