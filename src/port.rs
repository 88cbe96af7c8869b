//! The transport port: what the one Rust front end (`DurableIterator`, `Rpc`, `Options`)
//! needs from whichever driver owns the engine, and the rules both drivers share.
//!
//! Exactly one transport exists in a build: the browser driver on wasm32, the Tokio driver
//! natively (feature `native`). Each provides a [`Port`] handle and a module-level `start`,
//! `poll_event` and `call_procedure`, selected here by `cfg`, so the front end is written
//! once and neither driver pays for an abstraction it does not use.

use durable_iterator_protocol::client::{ConnectionState, EngineOptions};
use durable_iterator_protocol::TokenPayload;

use crate::call::CallPort;

#[cfg(target_arch = "wasm32")]
pub(crate) use crate::browser::{
    call_procedure, poll_event, start, BoxFuture, EventStream, Handle, NoticeFn, RefreshFn, Shared,
    TransportOptions,
};
#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub(crate) use crate::native::port::{
    call_procedure, poll_event, start, BoxFuture, EventStream, Handle, NoticeFn, RefreshFn, Shared,
    TransportOptions,
};

/// A driver's handle, as the front end uses it: stop, state, token payload, client id, and
/// calls through [`CallPort`].
pub(crate) trait Port: CallPort + Clone {
    /// Stops the iterator: the socket closes, timers go, the stream ends.
    fn stop(&self);
    /// The connection state the engine last reported.
    fn state(&self) -> ConnectionState;
    /// The payload of the token in use.
    fn token_payload(&self) -> TokenPayload;
    /// The id the socket presents to the object.
    fn client_id(&self) -> String;
}

/// What a driver starts from besides the engine options and the first token.
pub(crate) struct Start {
    /// The object URL for a token payload.
    pub(crate) object_url: crate::options::ObjectUrl,
    /// How to get a fresh token; `None` when the iterator cannot refresh.
    pub(crate) refresh: Option<RefreshFn>,
    /// Connection notices.
    pub(crate) on_notice: Option<NoticeFn>,
    /// Resume after this id on the first subscribe.
    pub(crate) last_event_id: Option<String>,
    /// The transport's own settings (socket worker, TLS roots).
    pub(crate) transport: TransportOptions,
}

/// The engine options an iterator really runs with. Without a way to get a new token,
/// expiry must end the iterator (`TokenExpired`), not schedule refreshes that cannot succeed.
pub(crate) fn effective_engine_options(
    mut engine: EngineOptions,
    can_refresh: bool,
) -> EngineOptions {
    if !can_refresh {
        engine.refresh_before_expire = None;
    }
    engine
}

/// `Send` natively, where an iterator may move into `tokio::spawn`; nothing in the browser,
/// where everything stays on the page's thread. Implemented for every type that qualifies.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + ?Sized> MaybeSend for T {}
/// `Send` natively, where an iterator may move into `tokio::spawn`; nothing in the browser,
/// where everything stays on the page's thread. Implemented for every type that qualifies.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// `Send + Sync` natively (closures the driver task calls); nothing in the browser.
/// Implemented for every type that qualifies.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}
/// `Send + Sync` natively (closures the driver task calls); nothing in the browser.
/// Implemented for every type that qualifies.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSendSync for T {}
