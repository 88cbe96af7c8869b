//! Drives the sans-IO engine with Tokio: one task owns the [`Engine`] and the socket; the
//! iterator and its RPC handles talk to it over channels, so they are `Send + 'static` and
//! can move into `tokio::spawn`.
//!
//! The task waits for whichever comes first — a command, the engine's timer, a refreshed
//! token, a socket event — feeds it to the engine, and does what the outputs say. Dropping
//! every handle (or a stop) ends the engine, which closes the socket and ends the stream.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use durable_iterator_protocol::client::{
    upgrade_url, CallId, CallRequest, CodecEngine, CodecOutput, ConnectionState, EngineOptions,
    Event, Input, Instant, Output, SocketId,
};
use durable_iterator_protocol::{RawJson, TokenPayload};
use tokio::sync::{mpsc, oneshot};

use super::clock::{self, Clock};
use super::socket::{NativeSocket, SocketEvent};
use crate::call::CallPort;
use crate::error::Error;
use crate::notice::Notice;
use crate::port::Port;

/// A boxed `Send` future, as token sources return them.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Computes the object URL for a token payload.
pub(crate) type UrlFn = Arc<dyn Fn(&TokenPayload) -> String + Send + Sync>;

/// Re-runs the procedure that produced the token; `Err` carries a reason for diagnostics.
pub(crate) type RefreshFn = Arc<dyn Fn() -> BoxFuture<Result<String, String>> + Send + Sync>;

/// Told about connection changes, in order, on the driver task (so it must not block).
pub(crate) type NoticeFn = Arc<dyn Fn(&Notice) + Send + Sync>;

/// What a driver needs besides the engine options.
pub(crate) struct DriverConfig {
    pub(crate) url: UrlFn,
    pub(crate) refresh: Option<RefreshFn>,
    pub(crate) on_notice: Option<NoticeFn>,
    /// For `wss://` object URLs.
    pub(crate) tls: Arc<rustls::ClientConfig>,
}

/// Events as the driver yields them; an `Err` is the last item.
pub(crate) type EventStream = mpsc::UnboundedReceiver<Result<Event, Error>>;

/// The answer to a call: the rich-JSON body, or why it failed.
pub(crate) type CallAnswer = oneshot::Receiver<Result<RawJson, Error>>;

enum Command {
    Call {
        key: u64,
        request: CallRequest,
        reply: oneshot::Sender<Result<RawJson, Error>>,
    },
    Abort(u64),
    Stop,
}

/// What handles may read without asking the task.
struct Snapshot {
    state: ConnectionState,
    payload: TokenPayload,
}

/// A handle on the driver task; cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub(crate) struct Handle {
    commands: mpsc::UnboundedSender<Command>,
    snapshot: Arc<Mutex<Snapshot>>,
    client_id: Arc<str>,
    next_key: Arc<AtomicU64>,
}

impl Handle {
    fn read<R>(&self, read: impl FnOnce(&Snapshot) -> R) -> R {
        // Every update is one assignment, so even a poisoned lock holds whole values.
        read(&self.snapshot.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Port for Handle {
    fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
    }

    fn state(&self) -> ConnectionState {
        self.read(|s| s.state.clone())
    }

    fn token_payload(&self) -> TokenPayload {
        self.read(|s| s.payload.clone())
    }

    fn client_id(&self) -> String {
        self.client_id.to_string()
    }
}

impl CallPort for Handle {
    /// Names the call for an abort; the task maps it to the engine's call id.
    type Ticket = u64;
    type Answer = CallAnswer;

    /// Queues the call for the task. A call the engine refuses (`RpcNotAllowed`,
    /// `IteratorEnded`) settles at once, before anything is sent; a driver that has ended
    /// drops the answer's sender, which reads as `IteratorEnded`.
    fn start(&self, request: CallRequest) -> Result<(u64, CallAnswer), Error> {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        let _ = self.commands.send(Command::Call {
            key,
            request,
            reply,
        });
        Ok((key, answer))
    }

    fn abort(&self, key: u64) {
        let _ = self.commands.send(Command::Abort(key));
    }
}

/// Starts the driver task of an iterator from `token` on the current Tokio runtime; the
/// socket opens right away.
pub(crate) fn start(
    options: EngineOptions,
    token: String,
    last_event_id: Option<String>,
    config: DriverConfig,
) -> Result<(Handle, EventStream), Error> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::Options {
        reason: "the native transport runs on Tokio: start it inside a Tokio runtime".to_owned(),
    })?;
    let clock = Clock::start();
    let client_id = clock::random_client_id()?;
    let max_frame_bytes = options.max_frame_bytes;
    let engine = CodecEngine::new(
        options,
        client_id.clone(),
        clock::jitter_seed()?,
        token,
        last_event_id,
        clock.now(),
    )?;
    let snapshot = Arc::new(Mutex::new(Snapshot {
        state: engine.engine().state().clone(),
        payload: engine.token_payload().clone(),
    }));
    let (commands, command_receiver) = mpsc::unbounded_channel();
    let (events, event_receiver) = mpsc::unbounded_channel();
    let (socket_events, socket_event_receiver) = mpsc::unbounded_channel();
    let driver = Driver {
        engine,
        clock,
        config,
        socket: None,
        socket_events,
        events,
        calls: HashMap::new(),
        keys: HashMap::new(),
        refreshing: None,
        snapshot: snapshot.clone(),
        max_frame_bytes,
    };
    runtime.spawn(driver.run(command_receiver, socket_event_receiver));
    let handle = Handle {
        commands,
        snapshot,
        client_id: client_id.into(),
        next_key: Arc::new(AtomicU64::new(0)),
    };
    Ok((handle, event_receiver))
}

struct Driver {
    engine: CodecEngine,
    clock: Clock,
    config: DriverConfig,
    socket: Option<(SocketId, NativeSocket)>,
    socket_events: mpsc::UnboundedSender<SocketEvent>,
    events: mpsc::UnboundedSender<Result<Event, Error>>,
    calls: HashMap<CallId, (u64, oneshot::Sender<Result<RawJson, Error>>)>,
    keys: HashMap<u64, CallId>,
    refreshing: Option<BoxFuture<Result<String, String>>>,
    snapshot: Arc<Mutex<Snapshot>>,
    /// The engine's frame limit, which the socket enforces while reading.
    max_frame_bytes: usize,
}

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut socket_events: mpsc::UnboundedReceiver<SocketEvent>,
    ) {
        let timer = tokio::time::sleep(std::time::Duration::ZERO);
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        loop {
            self.pump();
            if self.engine.engine().is_ended() {
                return;
            }
            // Re-arm only for an earlier deadline: the liveness deadline moves with every
            // frame, and a timer that fires early just finds nothing due and is re-armed.
            let next = self.engine.poll_timeout();
            if let Some(at) = next.filter(|at| armed.is_none_or(|armed| *at < armed)) {
                timer.as_mut().reset(self.clock.deadline(at));
                armed = Some(at);
            }
            let refreshing = &mut self.refreshing;
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(command) => self.command(command),
                    // Every handle is gone: nobody can read the stream any more.
                    None => self.engine.stop(self.clock.now()),
                },
                () = &mut timer, if armed.is_some() => {
                    armed = None;
                    self.engine.handle_timeout(self.clock.now());
                }
                result = settle(refreshing), if refreshing.is_some() => {
                    self.refreshing = None;
                    self.engine.handle_refreshed(result, self.clock.now());
                }
                Some(event) = socket_events.recv() => self.on_socket_event(event),
            }
        }
    }

    fn command(&mut self, command: Command) {
        let now = self.clock.now();
        match command {
            Command::Call {
                key,
                request,
                reply,
            } => match self.engine.call(request, now) {
                Ok(call) => {
                    self.calls.insert(call, (key, reply));
                    self.keys.insert(key, call);
                }
                Err(error) => {
                    let _ = reply.send(Err(error.into()));
                }
            },
            Command::Abort(key) => {
                if let Some(call) = self.keys.remove(&key) {
                    self.engine.abort_call(call, now);
                }
            }
            Command::Stop => self.engine.stop(now),
        }
    }

    fn on_socket_event(&mut self, event: SocketEvent) {
        let now = self.clock.now();
        let input = match event {
            SocketEvent::Opened(socket) => Input::SocketOpened { socket },
            SocketEvent::Frame(socket, frame) => {
                return self.engine.handle_frame(socket, &frame, now);
            }
            SocketEvent::Closed(socket, code, reason) => Input::SocketClosed {
                socket,
                code,
                reason,
            },
            SocketEvent::Untrusted(socket, error) => {
                // Every attempt would meet the same certificate: end now with the reason
                // instead of reconnecting forever.
                if self.socket.as_ref().is_some_and(|(id, _)| *id == socket) {
                    let _ = self.events.send(Err(error));
                    self.engine.stop(now);
                }
                return;
            }
        };
        self.engine.handle_input(input, now);
    }

    /// Does what the engine's outputs say, until it has nothing more to say.
    fn pump(&mut self) {
        while let Some(output) = self.engine.poll_output() {
            self.act(output);
        }
    }

    fn act(&mut self, output: CodecOutput) {
        let output = match output {
            CodecOutput::OpenSocket {
                socket,
                token,
                payload,
            } => {
                let url = upgrade_url(
                    &(self.config.url)(&payload),
                    self.engine.engine().client_id(),
                    &token,
                );
                let open = NativeSocket::open(
                    url,
                    socket,
                    self.socket_events.clone(),
                    self.max_frame_bytes,
                    self.config.tls.clone(),
                );
                // Replacing drops the previous socket's handle, which closes it.
                self.socket = Some((socket, open));
                return;
            }
            CodecOutput::Event(event) => {
                // A dropped stream means a dropped iterator, whose stop is already queued.
                let _ = self.events.send(Ok(event));
                return;
            }
            CodecOutput::CallSettled { call, result } => {
                if let Some((key, reply)) = self.calls.remove(&call) {
                    self.keys.remove(&key);
                    let _ = reply.send(result.map_err(Error::from));
                }
                return;
            }
            CodecOutput::TokenUpdated { payload, .. } => {
                self.update(|s| s.payload = payload);
                return self.notify(&Notice::TokenUpdated);
            }
            CodecOutput::Other(output) => output,
        };
        match output {
            Output::Send { socket, text } => {
                if let Some((_, open)) = self.socket.as_ref().filter(|(id, _)| *id == socket) {
                    open.send_text(text);
                }
            }
            Output::CloseSocket {
                socket,
                code,
                reason,
            } => {
                if self.socket.as_ref().is_some_and(|(id, _)| *id == socket) {
                    if let Some((_, open)) = self.socket.take() {
                        open.close(code, reason);
                    }
                }
            }
            Output::RefreshToken => match &self.config.refresh {
                Some(refresh) => self.refreshing = Some(refresh()),
                None => self.engine.handle_refreshed(
                    Err("no way to refresh the token".to_owned()),
                    self.clock.now(),
                ),
            },
            Output::Ended(result) => {
                if let Err(error) = result {
                    let _ = self.events.send(Err(error.into()));
                }
                // The task returns after this pump: the stream ends and dropped repliers
                // settle any call left with `IteratorEnded`.
                self.refreshing = None;
            }
            other => {
                if let Output::State(state) = &other {
                    self.update(|s| s.state = state.clone());
                }
                if let Some(notice) = Notice::of(&other) {
                    self.notify(&notice);
                }
            }
        }
    }

    /// Tells the application.
    fn notify(&self, notice: &Notice) {
        if let Some(listener) = &self.config.on_notice {
            listener(notice);
        }
    }

    fn update(&self, write: impl FnOnce(&mut Snapshot)) {
        write(&mut self.snapshot.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// The refresh in progress; never resolves when there is none.
async fn settle(
    refreshing: &mut Option<BoxFuture<Result<String, String>>>,
) -> Result<String, String> {
    match refreshing {
        Some(refresh) => refresh.await,
        None => std::future::pending().await,
    }
}
