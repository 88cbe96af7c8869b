//! The Rust API: a durable iterator is a `futures::Stream` of typed events with typed RPC
//! calls, ready to feed a Leptos or Yew signal.

use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use durable_iterator_protocol::client::{
    CallId, CallRequest, ConnectionState, Event, DEFAULT_RPC_RETRY_DELAY,
};
use durable_iterator_protocol::{RawJson, RichBody, TokenPayload};
use futures_channel::oneshot;
use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::call::{plain_body, typed_call, CallPort};
use crate::decode::{decode_polled, remember_id};
use crate::driver::{Driver, DriverConfig, EventStream, RefreshFn};
use crate::error::Error;
use crate::link::ProcedureCall;
use crate::options::Options;

/// A live durable iterator yielding events of type `T` (use `serde_json::Value` for
/// untyped events). Dropping it stops it.
///
/// Each item is one event. An event whose body does not decode into `T` (its rich-JSON meta
/// points at nothing, a field has the wrong type) is one `Err` item (`META_PATH_NOT_FOUND`,
/// `DECODE_ERROR`, ...) and the stream goes on with the next event; its id still counts as
/// seen. The stream ends with `None` after a stop or the object's `done`, or with one last
/// `Err` when the iterator fails (token expired, reconnects exhausted).
pub struct DurableIterator<T> {
    driver: Rc<Driver>,
    events: EventStream,
    last_event_id: Option<String>,
    _events_of: PhantomData<fn() -> T>,
}

impl<T> DurableIterator<T> {
    /// Calls the procedure of `options` and opens the durable iterator it returns. Fails with
    /// `INVALID_TOKEN` when the output is not a durable iterator.
    pub async fn connect(options: Options) -> Result<Self, Error> {
        let call = options.procedure_call();
        let token = call.send(None).await?.into_token(&call.path)?;
        let refresh: RefreshFn = Rc::new(move || {
            let call = ProcedureCall {
                last_event_id: None,
                ..call.clone()
            };
            Box::pin(async move {
                let output = call.send(None).await.map_err(|e| e.to_string())?;
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
        F: Fn() -> Fut + 'static,
        Fut: std::future::Future<Output = Result<String, String>> + 'static,
    {
        let token = source().await.map_err(|reason| Error::InvalidToken {
            procedure: "token source".to_owned(),
            reason,
        })?;
        let refresh: RefreshFn = Rc::new(move || Box::pin(source()));
        Self::start(token, options, Some(refresh))
    }

    /// Opens a durable iterator from a token obtained some other way; the options' procedure
    /// is not called, so the token cannot be refreshed.
    pub fn from_token(token: String, options: Options) -> Result<Self, Error> {
        Self::start(token, options, None)
    }

    fn start(token: String, options: Options, refresh: Option<RefreshFn>) -> Result<Self, Error> {
        let mut engine = options.engine;
        if refresh.is_none() {
            engine.refresh_before_expire = None;
        }
        let object_url = options.object_url;
        let config = DriverConfig {
            url: Rc::new(move |payload| Ok(object_url(payload))),
            refresh,
            websocket: None,
            off_main_thread: options.off_main_thread,
            on_notice: options.on_notice,
            client_id: None,
        };
        let (driver, events) = Driver::start(engine, token, options.last_event_id.clone(), config)?;
        Ok(DurableIterator {
            driver,
            events,
            last_event_id: options.last_event_id,
            _events_of: PhantomData,
        })
    }

    /// A call of the object method at `path` (`["routerClient", "echo"]`), allowed only when
    /// the current token's `rpc` list names `path[0]`.
    pub fn rpc<S: Into<String>>(&self, path: impl IntoIterator<Item = S>) -> Rpc {
        Rpc {
            driver: self.driver.clone(),
            path: path.into_iter().map(Into::into).collect(),
            retries: 0,
            retry_delay: DEFAULT_RPC_RETRY_DELAY,
        }
    }

    /// The connection state now.
    pub fn state(&self) -> ConnectionState {
        self.driver
            .with_engine(|engine| engine.engine().state().clone())
    }

    /// The id of the last event this stream yielded.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The id this iterator's socket presents to the object (random, fixed for its life).
    pub fn client_id(&self) -> String {
        self.driver
            .with_engine(|engine| engine.engine().client_id().to_owned())
    }

    /// The payload of the token in use.
    pub fn token_payload(&self) -> TokenPayload {
        self.driver
            .with_engine(|engine| engine.token_payload().clone())
    }

    /// Stops the iterator: the socket closes, timers go, the stream ends.
    pub fn close(&self) {
        self.driver.stop();
    }

    /// The next raw event (id and rich-JSON body), without decoding.
    pub fn poll_next_raw(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, Error>>> {
        let polled = Pin::new(&mut self.events).poll_next(cx);
        remember_id(&mut self.last_event_id, &polled);
        polled
    }
}

impl<T: DeserializeOwned> Stream for DurableIterator<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        decode_polled(self.get_mut().poll_next_raw(cx))
    }
}

impl<T> Drop for DurableIterator<T> {
    fn drop(&mut self) {
        self.driver.stop();
    }
}

/// A typed RPC call on the iterator's socket.
pub struct Rpc {
    driver: Rc<Driver>,
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
        typed_call(&*self.driver, request).await
    }
}

impl CallPort for Driver {
    type Ticket = CallId;
    type Answer = oneshot::Receiver<Result<RawJson, Error>>;

    fn start(&self, request: CallRequest) -> Result<(CallId, Self::Answer), Error> {
        self.call(request)
    }

    fn abort(&self, call: CallId) {
        self.abort_call(call);
    }
}
