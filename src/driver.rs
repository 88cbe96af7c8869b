//! Drives the sans-IO engine with the browser: socket events, one timer and page signals go
//! in; sockets, sends, events, notices and call results come out.
//!
//! Everything runs on the page's single thread, so the driver is an `Rc` with `RefCell`
//! state. Callbacks reach it through `Weak` references: dropping the last handle drops the
//! driver, which stops the engine and releases the socket, the timer and every listener.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};

use durable_iterator_protocol::client::{
    upgrade_url, CallId, CallRequest, CodecEngine, CodecOutput, EngineOptions, Event, Input,
    Instant, Output, SocketId,
};
use durable_iterator_protocol::{Frame, RawJson, TokenPayload};
use futures_channel::{mpsc, oneshot};
use gloo_timers::callback::Timeout;

use crate::clock;
use crate::error::Error;
pub use crate::notice::Notice;
use crate::page::{PageSignal, PageSignals};
use crate::socket::{BrowserSocket, SocketEvent};

/// Computes the object URL for a token payload (the caller's `url` option).
pub type UrlFn = Rc<dyn Fn(&TokenPayload) -> Result<String, String>>;

/// Re-runs the procedure that produced the token; `Err` carries a reason for diagnostics.
pub type RefreshFn = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<String, String>>>>>;

/// Told about connection changes, in order, outside any borrow of the driver (so it may call
/// back into the iterator, even stop it).
pub type NoticeFn = Rc<dyn Fn(&Notice)>;

/// What a driver needs besides the engine options.
pub struct DriverConfig {
    /// The object URL for a token payload.
    pub url: UrlFn,
    /// How to get a fresh token, when refresh is possible.
    pub refresh: Option<RefreshFn>,
    /// A `WebSocket`-compatible class for hosts without a global one.
    pub websocket: Option<js_sys::Function>,
    /// Whether the socket may live in the page's socket worker (when `websocket` is `None`).
    pub off_main_thread: bool,
    /// Connection notices.
    pub on_notice: Option<NoticeFn>,
    /// The id the socket presents to the object; `None` draws `crypto.randomUUID()`. It must
    /// be unguessable: the object recognises the client by it.
    pub client_id: Option<String>,
}

/// Events as the driver yields them; an `Err` is the last item.
pub type EventStream = mpsc::UnboundedReceiver<Result<Event, Error>>;

/// The browser driver of one durable iterator.
pub struct Driver {
    inner: RefCell<Inner>,
    pumping: Cell<bool>,
    me: Weak<Driver>,
}

struct Inner {
    engine: CodecEngine,
    socket: Option<(SocketId, BrowserSocket)>,
    timer: Option<(Instant, Timeout)>,
    page: Option<PageSignals>,
    events: mpsc::UnboundedSender<Result<Event, Error>>,
    calls: HashMap<CallId, oneshot::Sender<Result<RawJson, Error>>>,
    config: DriverConfig,
}

impl Driver {
    /// Starts an iterator from `token`: the socket opens right away.
    pub fn start(
        options: EngineOptions,
        token: String,
        last_event_id: Option<String>,
        config: DriverConfig,
    ) -> Result<(Rc<Driver>, EventStream), Error> {
        let client_id = match config.client_id.clone() {
            Some(id) => id,
            None => clock::random_client_id()
                .map_err(|e| Error::Network(format!("crypto.randomUUID failed: {e:?}")))?,
        };
        let engine = CodecEngine::new(
            options,
            client_id,
            clock::jitter_seed(),
            token,
            last_event_id,
            clock::now(),
        )?;
        let (sender, receiver) = mpsc::unbounded();
        let driver = Rc::new_cyclic(|me: &Weak<Driver>| Driver {
            inner: RefCell::new(Inner {
                engine,
                socket: None,
                timer: None,
                page: None,
                events: sender,
                calls: HashMap::new(),
                config,
            }),
            pumping: Cell::new(false),
            me: me.clone(),
        });
        let me = driver.me.clone();
        let page = PageSignals::listen(Rc::new(move |signal| {
            if let Some(driver) = me.upgrade() {
                match signal {
                    PageSignal::Online => driver.input(Input::Online),
                    PageSignal::Offline => driver.input(Input::Offline),
                    PageSignal::Visible => {
                        // A page that slept may have missed `online`; `Wake` alone does not
                        // clear the engine's offline state.
                        if !PageSignals::is_offline() {
                            driver.input(Input::Online);
                        }
                        driver.input(Input::Wake);
                    }
                }
            }
        }));
        driver.inner.borrow_mut().page = Some(page);
        if PageSignals::is_offline() {
            driver.input(Input::Offline);
        }
        driver.pump();
        Ok((driver, receiver))
    }

    /// Feeds one input to the engine and acts on what follows.
    pub fn input(&self, input: Input) {
        self.inner
            .borrow_mut()
            .engine
            .handle_input(input, clock::now());
        self.pump();
    }

    /// Feeds a frame the socket received.
    fn frame(&self, socket: SocketId, frame: Frame) {
        self.inner
            .borrow_mut()
            .engine
            .handle_frame(socket, &frame, clock::now());
        self.pump();
    }

    /// Feeds the token source's answer.
    fn refreshed(&self, result: Result<String, String>) {
        self.inner
            .borrow_mut()
            .engine
            .handle_refreshed(result, clock::now());
        self.pump();
    }

    /// Starts an RPC call; the receiver settles with the answer body or the error.
    pub fn call(
        &self,
        request: CallRequest,
    ) -> Result<(CallId, oneshot::Receiver<Result<RawJson, Error>>), Error> {
        let (sender, receiver) = oneshot::channel();
        let call = {
            let mut inner = self.inner.borrow_mut();
            let call = inner.engine.call(request, clock::now())?;
            inner.calls.insert(call, sender);
            call
        };
        self.pump();
        Ok((call, receiver))
    }

    /// Aborts a pending call; it settles with `Aborted`.
    pub fn abort_call(&self, call: CallId) {
        self.inner
            .borrow_mut()
            .engine
            .abort_call(call, clock::now());
        self.pump();
    }

    /// Stops the iterator: the socket closes, every timer and listener goes, the stream ends.
    pub fn stop(&self) {
        self.inner.borrow_mut().engine.stop(clock::now());
        self.pump();
    }

    /// Reads engine state without changing it.
    pub fn with_engine<R>(&self, read: impl FnOnce(&CodecEngine) -> R) -> R {
        read(&self.inner.borrow().engine)
    }

    fn on_socket_event(&self, event: SocketEvent) {
        match event {
            SocketEvent::Opened(socket) => self.input(Input::SocketOpened { socket }),
            SocketEvent::Text(socket, text) => self.frame(socket, Frame::Text(text)),
            SocketEvent::Binary(socket, bytes) => self.frame(socket, Frame::Binary(bytes)),
            SocketEvent::Closed(socket, code, reason) => self.input(Input::SocketClosed {
                socket,
                code,
                reason,
            }),
        }
    }

    fn on_timer(&self) {
        {
            let mut inner = self.inner.borrow_mut();
            inner.timer = None;
            inner.engine.handle_timeout(clock::now());
        }
        self.pump();
    }

    /// Drains the engine's outputs. Acting on an output may feed new inputs or run
    /// application callbacks that call back in: the outer loop picks those outputs up, so
    /// they are handled in order and never under a live borrow.
    fn pump(&self) {
        if self.pumping.replace(true) {
            return;
        }
        loop {
            let output = self.inner.borrow_mut().engine.poll_output();
            match output {
                Some(output) => self.act(output),
                None => break,
            }
        }
        self.arm_timer();
        self.pumping.set(false);
    }

    fn act(&self, output: CodecOutput) {
        let output = match output {
            CodecOutput::OpenSocket {
                socket,
                token,
                payload,
            } => return self.open_socket(socket, &token, &payload),
            CodecOutput::Event(event) => {
                let _ = self.inner.borrow().events.unbounded_send(Ok(event));
                return;
            }
            CodecOutput::CallSettled { call, result } => {
                let waiter = self.inner.borrow_mut().calls.remove(&call);
                if let Some(waiter) = waiter {
                    let _ = waiter.send(result.map_err(Error::from));
                }
                return;
            }
            CodecOutput::TokenUpdated { .. } => return self.notify(Notice::TokenUpdated),
            CodecOutput::Other(output) => output,
        };
        match output {
            Output::Send { socket, text } => {
                let inner = self.inner.borrow();
                if let Some((current, open)) = &inner.socket {
                    if *current == socket {
                        // A send that fails means the socket is going away; its close event
                        // tells the engine, which resends what matters on the next socket.
                        let _ = open.send_text(&text);
                    }
                }
            }
            Output::CloseSocket {
                socket,
                code,
                reason,
            } => {
                let closing = {
                    let mut inner = self.inner.borrow_mut();
                    match &inner.socket {
                        Some((current, _)) if *current == socket => inner.socket.take(),
                        _ => None,
                    }
                };
                if let Some((_, mut open)) = closing {
                    open.close(code, &reason);
                }
            }
            Output::RefreshToken => self.refresh(),
            Output::Ended(result) => self.end(result.map_err(Error::from)),
            // State changes, resumes, gaps, refresh failures, token updates.
            other => {
                if let Some(notice) = Notice::of(&other) {
                    self.notify(notice);
                }
            }
        }
    }

    fn open_socket(&self, socket: SocketId, token: &str, payload: &TokenPayload) {
        let (url, constructor, off_main_thread, client_id) = {
            let inner = self.inner.borrow();
            (
                (inner.config.url)(payload),
                inner.config.websocket.clone(),
                inner.config.off_main_thread,
                inner.engine.engine().client_id().to_owned(),
            )
        };
        let me = self.me.clone();
        let opened = url.and_then(|base| {
            BrowserSocket::open(
                &upgrade_url(&base, &client_id, token),
                socket,
                constructor.as_ref(),
                off_main_thread,
                Rc::new(move |event| {
                    if let Some(driver) = me.upgrade() {
                        driver.on_socket_event(event);
                    }
                }),
            )
            .map_err(|e| crate::link::describe(&e))
        });
        match opened {
            Ok(open) => {
                // Replacing drops the previous socket, which detaches and closes it.
                let previous = self.inner.borrow_mut().socket.replace((socket, open));
                drop(previous);
            }
            // A URL the browser refuses fails like a socket that never opened: the engine's
            // backoff and auth rules decide what comes next.
            Err(reason) => self.inner.borrow_mut().engine.handle_input(
                Input::SocketClosed {
                    socket,
                    code: 1006,
                    reason,
                },
                clock::now(),
            ),
        }
    }

    fn refresh(&self) {
        let refresh = self.inner.borrow().config.refresh.clone();
        let Some(refresh) = refresh else {
            self.inner
                .borrow_mut()
                .engine
                .handle_refreshed(Err("no way to refresh the token".to_owned()), clock::now());
            return;
        };
        let me = self.me.clone();
        let pending = refresh();
        wasm_bindgen_futures::spawn_local(async move {
            let result = pending.await;
            if let Some(driver) = me.upgrade() {
                driver.refreshed(result);
            }
        });
    }

    fn notify(&self, notice: Notice) {
        let listener = self.inner.borrow().config.on_notice.clone();
        if let Some(listener) = listener {
            listener(&notice);
        }
    }

    fn end(&self, result: Result<(), Error>) {
        let (socket, timer, page, calls) = {
            let mut inner = self.inner.borrow_mut();
            if let Err(error) = result {
                let _ = inner.events.unbounded_send(Err(error));
            }
            inner.events.close_channel();
            (
                inner.socket.take(),
                inner.timer.take(),
                inner.page.take(),
                std::mem::take(&mut inner.calls),
            )
        };
        for (_, waiter) in calls {
            let _ = waiter.send(Err(Error::Protocol(
                durable_iterator_protocol::Error::IteratorEnded,
            )));
        }
        drop((socket, timer, page));
    }

    fn arm_timer(&self) {
        let mut inner = self.inner.borrow_mut();
        let next = inner.engine.poll_timeout();
        // A timer already armed for no later than the engine's next deadline stays: it fires
        // early, finds nothing due and is re-armed then. Every frame pushes the liveness
        // deadline forward, and re-arming for each would cost a clearTimeout, a setTimeout
        // and a closure per event.
        match (inner.timer.as_ref().map(|(at, _)| *at), next) {
            (Some(armed), Some(next)) if armed <= next => return,
            (None, None) => return,
            _ => {}
        }
        inner.timer = next.map(|at| {
            let delay = at.saturating_duration_since(clock::now()).as_millis();
            // Browsers fire at once for delays past 2^31-1 ms; a timer that fires early just
            // finds nothing due and is re-armed.
            let delay = u32::try_from(delay)
                .unwrap_or(u32::MAX)
                .min(i32::MAX as u32);
            let me = self.me.clone();
            let timeout = Timeout::new(delay, move || {
                if let Some(driver) = me.upgrade() {
                    driver.on_timer();
                }
            });
            (at, timeout)
        });
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let inner = self.inner.get_mut();
        inner.engine.stop(clock::now());
        inner.events.close_channel();
        // The socket, timer and listeners drop with `inner`, releasing their JS resources.
    }
}
