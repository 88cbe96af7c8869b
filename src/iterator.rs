//! The Rust API, written once for both transports: a durable iterator is a
//! `futures::Stream` of typed events with typed RPC calls, ready to feed a Leptos or Yew
//! signal in the browser or to move into `tokio::spawn` natively.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use durable_iterator_protocol::client::{
    CallRequest, ConnectionState, Event, DEFAULT_RPC_RETRY_DELAY,
};
use durable_iterator_protocol::{RichBody, TokenPayload};
use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::call::{plain_body, typed_call};
use crate::decode::decode;
use crate::error::Error;
use crate::options::Options;
use crate::port::{
    self, effective_engine_options, BoxFuture, EventStream, Handle, MaybeSend, MaybeSendSync, Port,
    RefreshFn, Shared, Start,
};
use crate::procedure::ProcedureCall;

/// A live durable iterator yielding events of type `T` (use `serde_json::Value` for
/// untyped events). Dropping it stops it.
///
/// Each item is one event. An event whose body does not decode into `T` (its rich-JSON meta
/// points at nothing, a field has the wrong type) is one `Err` item (`META_PATH_NOT_FOUND`,
/// `DECODE_ERROR`, ...) and the stream goes on with the next event; its id still counts as
/// seen. The stream ends with `None` after a stop or the object's `done`, or with one last
/// `Err` when the iterator fails (token expired, reconnects exhausted, a certificate the
/// native transport does not trust).
///
/// Natively it is `Send + 'static` (it may move into `tokio::spawn`), and events wait in an
/// unbounded queue until the stream is polled (RPC answers share the socket, so the socket
/// is always read): a consumer that falls far behind holds them all in memory.
///
/// ```no_run
/// # #[cfg(any(target_arch = "wasm32", feature = "native"))]
/// # async fn run() -> Result<(), durable_iterator_wasm::Error> {
/// use durable_iterator_wasm::{DurableIterator, Options};
/// use futures_util::StreamExt;
///
/// let options = Options::new("http://127.0.0.1:8787/rpc", "onMessage", "ws://127.0.0.1:8787/chat-room")
///     .input(&serde_json::json!({ "tags": ["news"] }))?;
/// let mut messages = DurableIterator::<serde_json::Value>::connect(options).await?;
/// let echo: String = messages
///     .rpc(["routerClient", "echo"])
///     .call(&serde_json::json!({ "text": "hi" }))
///     .await?;
/// while let Some(message) = messages.next().await {
///     println!("{echo} {message:?}");
/// }
/// # Ok(()) }
/// ```
pub struct DurableIterator<T> {
    handle: Handle,
    events: EventStream,
    last_event_id: Option<String>,
    _events_of: PhantomData<fn() -> T>,
}

impl<T> DurableIterator<T> {
    /// Calls the procedure of `options` and opens the durable iterator it returns. Fails with
    /// `INVALID_TOKEN` when the output is not a durable iterator. Natively it must run inside
    /// a Tokio runtime.
    pub async fn connect(options: Options) -> Result<Self, Error> {
        let call = options.procedure_call();
        let token = port::call_procedure(&call, &options.transport)
            .await?
            .into_token(&call.path)?;
        // A refresh asks for a token, not for a resume point.
        let call = Shared::new(ProcedureCall {
            last_event_id: None,
            ..call
        });
        let transport = options.transport.clone();
        let refresh: RefreshFn = Shared::new(move || -> BoxFuture<Result<String, String>> {
            let call = call.clone();
            let transport = transport.clone();
            Box::pin(async move {
                let output = port::call_procedure(&call, &transport)
                    .await
                    .map_err(|e| e.to_string())?;
                output.into_token(&call.path).map_err(|e| e.to_string())
            })
        });
        Self::start(token, options, Some(refresh))
    }

    /// Opens a durable iterator with tokens from `source`, for apps that get tokens some
    /// other way than the options' procedure: `source` gives the first token now and fresh
    /// ones when a refresh is due (`Err` carries a reason; the refresh is retried).
    pub async fn from_token_source<F, Fut>(source: F, options: Options) -> Result<Self, Error>
    where
        F: Fn() -> Fut + MaybeSendSync + 'static,
        Fut: Future<Output = Result<String, String>> + MaybeSend + 'static,
    {
        let token = source().await.map_err(|reason| Error::InvalidToken {
            procedure: "token source".to_owned(),
            reason,
        })?;
        let refresh: RefreshFn =
            Shared::new(move || -> BoxFuture<Result<String, String>> { Box::pin(source()) });
        Self::start(token, options, Some(refresh))
    }

    /// Opens a durable iterator from a token obtained some other way; the options' procedure
    /// is not called, so the token cannot be refreshed. Natively it must run inside a Tokio
    /// runtime.
    pub fn from_token(token: String, options: Options) -> Result<Self, Error> {
        Self::start(token, options, None)
    }

    fn start(token: String, options: Options, refresh: Option<RefreshFn>) -> Result<Self, Error> {
        let engine = effective_engine_options(options.engine, refresh.is_some());
        let last_event_id = options.last_event_id;
        let start = Start {
            object_url: options.object_url,
            refresh,
            on_notice: options.on_notice,
            last_event_id: last_event_id.clone(),
            transport: options.transport,
        };
        let (handle, events) = port::start(engine, token, start)?;
        Ok(DurableIterator {
            handle,
            events,
            last_event_id,
            _events_of: PhantomData,
        })
    }

    /// A call of the object method at `path` (`["routerClient", "echo"]`), allowed only when
    /// the current token's `rpc` list names `path[0]`.
    pub fn rpc<S: Into<String>>(&self, path: impl IntoIterator<Item = S>) -> Rpc {
        Rpc {
            handle: self.handle.clone(),
            path: path.into_iter().map(Into::into).collect(),
            retries: 0,
            retry_delay: DEFAULT_RPC_RETRY_DELAY,
        }
    }

    /// The connection state now.
    pub fn state(&self) -> ConnectionState {
        self.handle.state()
    }

    /// The id of the last event this stream yielded.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The id this iterator's socket presents to the object (random, fixed for its life).
    pub fn client_id(&self) -> String {
        self.handle.client_id()
    }

    /// The payload of the token in use.
    pub fn token_payload(&self) -> TokenPayload {
        self.handle.token_payload()
    }

    /// Stops the iterator: the socket closes, timers go, the stream ends.
    pub fn close(&self) {
        self.handle.stop();
    }

    /// The next raw event (id and rich-JSON body), without decoding.
    pub fn poll_next_raw(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, Error>>> {
        let polled = port::poll_event(&mut self.events, cx);
        if let Poll::Ready(Some(Ok(Event { id: Some(id), .. }))) = &polled {
            self.last_event_id = Some(id.clone());
        }
        polled
    }
}

impl<T: DeserializeOwned> Stream for DurableIterator<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .poll_next_raw(cx)
            .map(|item| item.map(|event| event.and_then(|event| decode(event.data.get()))))
    }
}

impl<T> Drop for DurableIterator<T> {
    fn drop(&mut self) {
        self.handle.stop();
    }
}

/// A typed RPC call on the iterator's socket; natively it may outlive a `spawn` boundary.
pub struct Rpc {
    handle: Handle,
    path: Vec<String>,
    retries: u32,
    retry_delay: Duration,
}

impl Rpc {
    /// Retry a failed call `retries` more times, `delay` apart. Default: no retry, 2 s.
    pub fn retries(mut self, retries: u32, delay: Duration) -> Self {
        self.retries = retries;
        self.retry_delay = delay;
        self
    }

    /// Calls with `input`; dropping the future aborts the call.
    pub async fn call<I: Serialize + ?Sized, O: DeserializeOwned>(
        self,
        input: &I,
    ) -> Result<O, Error> {
        self.send(Some(plain_body(input)?)).await
    }

    /// Calls without input (`undefined`).
    pub async fn call_without_input<O: DeserializeOwned>(self) -> Result<O, Error> {
        self.send(None).await
    }

    async fn send<O: DeserializeOwned>(self, input: Option<RichBody>) -> Result<O, Error> {
        let request =
            CallRequest::with_input(self.path, input)?.with_retries(self.retries, self.retry_delay);
        typed_call(&self.handle, request).await
    }
}
