//! The wasm-bindgen surface that `js/index.js` wraps into an async iterator and RPC proxy.
//!
//! It deals in strings: event bodies leave as one JSON array text per batch (one boundary
//! crossing and one `JSON.parse` for many events), call inputs arrive as rich-JSON text made
//! by the JS serializer. Errors leave as plain `{code, message, ...}` objects that the glue
//! turns into `DurableIteratorError`.

use std::rc::Rc;
use std::time::Duration;

use durable_iterator_protocol::client::{
    Backoff, CallRequest, ConnectionState, EngineOptions, Liveness,
};
use durable_iterator_protocol::{RichBody, TokenPayload};
use futures_core::Stream;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::driver::{Driver, DriverConfig, EventStream, Notice, NoticeFn, RefreshFn, UrlFn};
use crate::error::Error;
use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll};

/// One durable iterator, driven from JavaScript.
#[wasm_bindgen]
pub struct WasmIterator {
    driver: Rc<Driver>,
    events: Rc<RefCell<Option<EventStream>>>,
}

#[wasm_bindgen]
impl WasmIterator {
    /// Starts an iterator from a token. `config` fields (all optional but `url`): `url`
    /// (string, or function of the token payload returning a string or URL), `lastEventId`,
    /// `refresh` (function returning a Promise of a fresh token), `WebSocket` (a constructor),
    /// `offMainThread` (default `true`: the socket lives in the page's socket worker),
    /// `onNotice(type, detail)`, `refreshTokenBeforeExpireInSeconds`,
    /// `refreshTokenDelayInSeconds`, `reconnect: {initialDelayMs, maxDelayMs, factor,
    /// connectTimeoutMs, stableAfterMs, maxAttempts}`, `liveness: false | {idleMs, timeoutMs}`,
    /// `dedupCapacity`, `maxFrameBytes`, `clientId` (default `crypto.randomUUID()`).
    pub fn start(token: String, config: JsValue) -> Result<WasmIterator, JsValue> {
        let mut options = engine_options(&config).map_err(to_js_error)?;
        let refresh = get(&config, "refresh")
            .dyn_into::<Function>()
            .ok()
            .map(refresh_fn);
        if refresh.is_none() {
            // Without a way to get a new token, expiry must end the iterator, not retry.
            options.refresh_before_expire = None;
        }
        let last_event_id = get(&config, "lastEventId").as_string();
        let driver_config = DriverConfig {
            url: url_fn(get(&config, "url")).map_err(to_js_error)?,
            refresh,
            websocket: get(&config, "WebSocket").dyn_into::<Function>().ok(),
            off_main_thread: get(&config, "offMainThread").as_bool().unwrap_or(true),
            on_notice: get(&config, "onNotice")
                .dyn_into::<Function>()
                .ok()
                .map(notice_fn),
            client_id: get(&config, "clientId").as_string(),
        };
        let (driver, events) =
            Driver::start(options, token, last_event_id, driver_config).map_err(to_js_error)?;
        Ok(WasmIterator {
            driver,
            events: Rc::new(RefCell::new(Some(events))),
        })
    }

    /// Resolves with the next events as the JSON text of `[[id|null, body], ...]` once at
    /// least one is available, with `null` when the iterator ended normally, and rejects with
    /// the error that ended it. Only one may be pending at a time.
    #[wasm_bindgen(js_name = nextBatch)]
    pub fn next_batch(&self) -> Promise {
        let slot = self.events.clone();
        future_to_promise(async move {
            let Some(mut events) = slot.borrow_mut().take() else {
                return Err(to_js_error(Error::Busy));
            };
            let first = NextItem(&mut events).await;
            let result = match first {
                None => Ok(JsValue::NULL),
                Some(Err(error)) => Err(to_js_error(error)),
                Some(Ok(event)) => {
                    let mut text = String::with_capacity(event.data.get().len() + 32);
                    text.push('[');
                    push_event(&mut text, &event);
                    // Drain what is already queued: one crossing for the whole burst.
                    let mut failure = None;
                    while let Ok(next) = events.try_recv() {
                        match next {
                            Ok(event) => {
                                text.push(',');
                                push_event(&mut text, &event);
                            }
                            Err(error) => {
                                failure = Some(error);
                                break;
                            }
                        }
                    }
                    text.push(']');
                    // An error behind delivered events waits for the next call.
                    if let Some(error) = failure {
                        let (sender, receiver) = futures_channel::mpsc::unbounded();
                        let _ = sender.unbounded_send(Err(error));
                        events = receiver;
                    }
                    Ok(JsValue::from_str(&text))
                }
            };
            *slot.borrow_mut() = Some(events);
            result
        })
    }

    /// Calls an object method. `path` is `[method, ...nested]`, `body` the rich-JSON text of
    /// the input (`{}` for none). Resolves with the answer body text; rejects with a
    /// `RPC_NOT_ALLOWED` error before sending when the token does not allow the method.
    pub fn call(
        &self,
        path: Vec<String>,
        body: &str,
        retries: u32,
        retry_delay_ms: f64,
        signal: Option<web_sys::AbortSignal>,
    ) -> Promise {
        let started = (|| {
            let input = RichBody::from_json_str(body)?;
            let input = (input.json.is_some() || !input.meta.is_empty()).then_some(input);
            let request = CallRequest::with_input(path, input)?
                .with_retries(retries, millis(retry_delay_ms, Duration::from_secs(2)));
            self.driver.call(request)
        })();
        let (call, receiver) = match started {
            Ok(started) => started,
            Err(error) => return Promise::reject(&to_js_error(error)),
        };
        let abort_listener = signal.map(|signal| {
            let driver = Rc::downgrade(&self.driver);
            let listener = gloo_events::EventListener::once(&signal, "abort", move |_| {
                if let Some(driver) = driver.upgrade() {
                    driver.abort_call(call);
                }
            });
            if signal.aborted() {
                self.driver.abort_call(call);
            }
            listener
        });
        future_to_promise(async move {
            let answer = receiver.await;
            drop(abort_listener);
            match answer {
                Ok(Ok(body)) => Ok(JsValue::from_str(body.get())),
                Ok(Err(error)) => Err(to_js_error(error)),
                Err(_) => Err(to_js_error(Error::Protocol(
                    durable_iterator_protocol::Error::IteratorEnded,
                ))),
            }
        })
    }

    /// Stops the iterator: closes the socket, clears every timer; a pending batch resolves
    /// with `null`.
    pub fn stop(&self) {
        self.driver.stop();
    }

    /// Whether the current token lets the iterator call `method`.
    pub fn allows(&self, method: &str) -> bool {
        self.driver
            .with_engine(|engine| engine.engine().allows_rpc(method))
    }

    /// The methods the current token allows.
    #[wasm_bindgen(js_name = rpcNames)]
    pub fn rpc_names(&self) -> Vec<String> {
        self.driver
            .with_engine(|engine| engine.token_payload().rpc.clone().unwrap_or_default())
    }

    /// The connection state: `connecting`, `open`, `reconnecting`, `offline`, `refreshing`
    /// or `closed`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        self.driver
            .with_engine(|engine| state_name(engine.engine().state()).to_owned())
    }

    /// The resume cursor: the id a resubscribe would send as `last-event-id`.
    #[wasm_bindgen(getter, js_name = lastEventId)]
    pub fn last_event_id(&self) -> Option<String> {
        self.driver
            .with_engine(|engine| engine.engine().last_event_id().map(str::to_owned))
    }

    /// The token in use.
    #[wasm_bindgen(getter)]
    pub fn token(&self) -> String {
        self.driver
            .with_engine(|engine| engine.engine().token().to_owned())
    }

    /// The current token's payload as a plain object.
    #[wasm_bindgen(getter, js_name = tokenPayload)]
    pub fn token_payload(&self) -> JsValue {
        self.driver
            .with_engine(|engine| json_to_js(&engine.token_payload().to_json()))
    }

    /// The id this iterator's socket presents to the object.
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.driver
            .with_engine(|engine| engine.engine().client_id().to_owned())
    }
}

/// Parses a token's payload without verifying it; throws on a malformed token.
#[wasm_bindgen(js_name = parseToken)]
pub fn parse_token(token: &str) -> Result<JsValue, JsValue> {
    durable_iterator_protocol::parse_token(token)
        .map(|payload| json_to_js(&payload.to_json()))
        .map_err(|e| to_js_error(e.into()))
}

struct NextItem<'a>(&'a mut EventStream);

impl Future for NextItem<'_> {
    type Output = Option<Result<durable_iterator_protocol::client::Event, Error>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.0).poll_next(cx)
    }
}

use std::future::Future;

fn push_event(text: &mut String, event: &durable_iterator_protocol::client::Event) {
    text.push('[');
    match &event.id {
        Some(id) => text.push_str(&serde_json::to_string(id).unwrap_or_else(|_| "null".into())),
        None => text.push_str("null"),
    }
    text.push(',');
    text.push_str(event.data.get());
    text.push(']');
}

fn get(object: &JsValue, key: &str) -> JsValue {
    if object.is_object() {
        Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn number(object: &JsValue, key: &str) -> Option<f64> {
    get(object, key)
        .as_f64()
        .filter(|n| n.is_finite() && *n >= 0.0)
}

fn millis(value: f64, fallback: Duration) -> Duration {
    if value.is_finite() && value >= 0.0 {
        Duration::from_secs_f64(value / 1000.0)
    } else {
        fallback
    }
}

fn engine_options(config: &JsValue) -> Result<EngineOptions, Error> {
    let defaults = EngineOptions::default();
    let mut options = defaults.clone();
    let reconnect = get(config, "reconnect");
    let mut backoff = Backoff::default();
    if let Some(ms) = number(&reconnect, "initialDelayMs") {
        backoff.initial = millis(ms, backoff.initial);
    }
    if let Some(ms) = number(&reconnect, "maxDelayMs") {
        backoff.max = millis(ms, backoff.max);
    }
    if let Some(factor) = number(&reconnect, "factor") {
        backoff.factor = factor.max(1.0);
    }
    options.backoff = backoff;
    if let Some(ms) = number(&reconnect, "connectTimeoutMs") {
        options.connect_timeout = millis(ms, defaults.connect_timeout);
    }
    if let Some(ms) = number(&reconnect, "stableAfterMs") {
        options.stable_after = millis(ms, defaults.stable_after);
    }
    if let Some(attempts) = number(&reconnect, "maxAttempts") {
        options.max_reconnect_attempts = Some(attempts as u32);
    }
    let liveness = get(config, "liveness");
    if liveness == JsValue::FALSE {
        options.liveness = None;
    } else if liveness.is_object() {
        let base = defaults.liveness.clone().unwrap_or_default();
        options.liveness = Some(Liveness {
            idle: number(&liveness, "idleMs").map_or(base.idle, |ms| millis(ms, base.idle)),
            timeout: number(&liveness, "timeoutMs")
                .map_or(base.timeout, |ms| millis(ms, base.timeout)),
        });
    }
    if let Some(seconds) = number(config, "refreshTokenBeforeExpireInSeconds") {
        options.refresh_before_expire = Some(Duration::from_secs_f64(seconds));
    }
    if let Some(seconds) = number(config, "refreshTokenDelayInSeconds") {
        options.refresh_retry_delay = Duration::from_secs_f64(seconds);
    }
    if let Some(capacity) = number(config, "dedupCapacity") {
        options.dedup_capacity = capacity as usize;
    }
    if let Some(bytes) = number(config, "maxFrameBytes") {
        options.max_frame_bytes = bytes as usize;
    }
    Ok(options)
}

fn url_fn(url: JsValue) -> Result<UrlFn, Error> {
    if let Some(fixed) = url.as_string() {
        return Ok(Rc::new(move |_: &TokenPayload| Ok(fixed.clone())));
    }
    let function: Function = url.dyn_into().map_err(|_| Error::Options {
        reason: "`url` must be a string or a function of the token payload".to_owned(),
    })?;
    Ok(Rc::new(move |payload: &TokenPayload| {
        let value = function
            .call1(&JsValue::UNDEFINED, &json_to_js(&payload.to_json()))
            .map_err(|e| crate::link::describe(&e))?;
        // A URL object or a string both print as the address.
        value
            .as_string()
            .or_else(|| {
                value
                    .dyn_ref::<Object>()
                    .map(|o| String::from(o.to_string()))
            })
            .ok_or_else(|| "the `url` function returned neither a string nor a URL".to_owned())
    }))
}

fn refresh_fn(function: Function) -> RefreshFn {
    Rc::new(move || {
        let called = function.call0(&JsValue::UNDEFINED);
        Box::pin(async move {
            let value = match called {
                Ok(value) => match value.dyn_into::<Promise>() {
                    Ok(promise) => JsFuture::from(promise).await,
                    Err(value) => Ok(value),
                },
                Err(error) => Err(error),
            };
            match value {
                Ok(token) => token
                    .as_string()
                    .ok_or_else(|| "the refresh did not produce a token string".to_owned()),
                Err(error) => Err(crate::link::describe(&error)),
            }
        })
    })
}

fn notice_fn(function: Function) -> NoticeFn {
    Rc::new(move |notice: &Notice| {
        let detail = Object::new();
        let set = |key: &str, value: JsValue| {
            let _ = Reflect::set(&detail, &JsValue::from_str(key), &value);
        };
        let kind = match notice {
            Notice::State(state) => {
                set("state", JsValue::from_str(state_name(state)));
                match state {
                    ConnectionState::Connecting { attempt } => {
                        set("attempt", JsValue::from(*attempt));
                    }
                    ConnectionState::Reconnecting {
                        attempt,
                        delay,
                        code,
                        reason,
                    } => {
                        set("attempt", JsValue::from(*attempt));
                        set("delayMs", JsValue::from(delay.as_secs_f64() * 1000.0));
                        set("code", JsValue::from(*code));
                        set("reason", JsValue::from_str(reason));
                    }
                    ConnectionState::Closed { code, reason } => {
                        set("code", JsValue::from(*code));
                        set("reason", JsValue::from_str(reason));
                    }
                    _ => {}
                }
                state_name(state)
            }
            Notice::Resumed { last_event_id } => {
                set("lastEventId", JsValue::from_str(last_event_id));
                "resumed"
            }
            Notice::PossibleGap => "gap",
            Notice::RefreshFailed {
                reason,
                retry_in_ms,
            } => {
                set("reason", JsValue::from_str(reason));
                set("retryInMs", JsValue::from(*retry_in_ms));
                "refreshfailed"
            }
            Notice::TokenUpdated => "token",
            Notice::FrameIgnored { reason } => {
                set("code", JsValue::from_str(reason.code()));
                set("reason", JsValue::from_str(&reason.to_string()));
                "ignored"
            }
        };
        // A throwing listener must not break the driver.
        let _ = function.call2(&JsValue::UNDEFINED, &JsValue::from_str(kind), &detail);
    })
}

fn state_name(state: &ConnectionState) -> &'static str {
    match state {
        ConnectionState::Connecting { .. } => "connecting",
        ConnectionState::Open => "open",
        ConnectionState::Reconnecting { .. } => "reconnecting",
        ConnectionState::Offline => "offline",
        ConnectionState::Refreshing => "refreshing",
        ConnectionState::Closed { .. } => "closed",
    }
}

fn json_to_js(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
}

/// The plain object the glue turns into a `DurableIteratorError`.
pub(crate) fn to_js_error(error: Error) -> JsValue {
    let object = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&object, &JsValue::from_str(key), &value);
    };
    set("code", JsValue::from_str(error.code()));
    // An oRPC error keeps the server's own message, as upstream's `ORPCError.message` does.
    let message = match error.rpc() {
        Some(rpc) => rpc.message.clone(),
        None => error.to_string(),
    };
    set("message", JsValue::from_str(&message));
    if let Some(rpc) = error.rpc() {
        set("status", JsValue::from(rpc.status));
        set("defined", JsValue::from_bool(rpc.defined));
        if let Some(data) = &rpc.data {
            set("data", json_to_js(&data.to_string()));
        }
    }
    if let Error::Http { status, .. } = &error {
        set("status", JsValue::from(*status));
    }
    object.into()
}

/// Calls an app-server procedure over oRPC's RPC-over-HTTP protocol. Resolves with
/// `{ token }` when the response carries the durable iterator marker, else `{ body }` (the
/// rich-JSON text of the output, passed through untouched).
#[wasm_bindgen(js_name = callProcedure)]
pub fn call_procedure(
    base_url: String,
    path: Vec<String>,
    body: String,
    headers: JsValue,
    last_event_id: Option<String>,
    signal: Option<web_sys::AbortSignal>,
) -> Promise {
    let headers = if headers.is_object() {
        Object::entries(headers.unchecked_ref())
            .iter()
            .filter_map(|pair| {
                let pair: js_sys::Array = pair.dyn_into().ok()?;
                Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
            })
            .collect()
    } else {
        Vec::new()
    };
    let call = crate::link::ProcedureCall {
        base_url,
        path,
        body,
        headers,
        last_event_id,
    };
    future_to_promise(async move {
        let output = call.send(signal.as_ref()).await.map_err(to_js_error)?;
        let result = Object::new();
        let (key, value) = match output {
            crate::link::ProcedureOutput::DurableIterator(token) => ("token", token),
            crate::link::ProcedureOutput::Plain(body) => ("body", body.to_json_string()),
        };
        Reflect::set(&result, &JsValue::from_str(key), &JsValue::from_str(&value))?;
        Ok(result.into())
    })
}
