//! The sans-IO durable iterator client: every decision, no IO, no clock.
//!
//! The driver (browser or native) feeds in what happened ([`Engine::handle_input`], the
//! commands [`Engine::call`], [`Engine::abort_call`], [`Engine::stop`]) and the time, wakes the
//! engine at [`Engine::poll_timeout`] with [`Engine::handle_timeout`], and after each of these
//! drains [`Engine::poll_output`] until it returns `None`, doing what each output says.

use crate::prelude::*;
use core::time::Duration;

use super::backoff::SplitMix64;
use super::calls::{CallId, CallRequest, Calls};
use super::claims::TokenClaims;
use super::cursor::ResumeCursor;
use super::dedup::DeliveredIds;
use super::events::{ConnectionState, Input, Output, SocketId};
use super::options::EngineOptions;
use super::order::ReplayOrder;
use super::refresh::{RefreshState, TokenState};
use super::time::{earliest, Instant};
use super::wire;
use crate::error::{Error, Result};
use crate::ids::RequestIdGenerator;

/// Close code the engine uses for a normal close (stop, or a deliberate reconnect).
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code the engine uses when it gives up on a socket that stopped answering.
pub const CLOSE_UNRESPONSIVE: u16 = 4000;

/// Where the one socket of the iterator stands.
#[derive(Debug)]
pub(super) enum Link {
    /// A socket is opening; it counts as failed at `deadline`.
    Connecting { socket: SocketId, deadline: Instant },
    /// A socket is open.
    Open(Box<OpenLink>),
    /// No socket; the next attempt is at `until`.
    Waiting { until: Instant },
    /// No socket; waiting for [`Input::Online`].
    Offline,
    /// No socket; waiting for a refreshed token.
    AwaitingToken,
    /// The iterator ended.
    Ended,
}

/// The subscription on an open socket.
#[derive(Debug)]
pub(super) enum Subscription {
    /// `/subscribe` sent; `signal` is emitted once the stream opens (resumed or possible gap).
    Requested {
        request: String,
        signal: Option<Output>,
    },
    /// The stream is open.
    Streaming { request: String },
    /// The stream failed; subscribe again at this instant.
    RetryAt(Instant),
}

/// State that only exists while a socket is open.
#[derive(Debug)]
pub(super) struct OpenLink {
    pub(super) socket: SocketId,
    /// Since when the socket has worked without a failure (for the attempt reset).
    pub(super) healthy_since: Instant,
    /// Whether the stream on this socket yielded at least one event: losing such a socket
    /// starts the attempt count over (see `socket_lost`).
    pub(super) delivered: bool,
    /// When the last frame arrived (for liveness).
    pub(super) last_received: Instant,
    /// When an unanswered liveness probe times out.
    pub(super) probe_deadline: Option<Instant>,
    /// The request id of the latest probe, whose 404 answer is expected and not reported.
    pub(super) probe_request: Option<String>,
    /// The request ids of the latest expiry probes (refresh off), whose 404 answers are
    /// expected too; at most [`super::stream::EXPIRY_PROBES_KEPT`], in a ring (only whether
    /// an id is among them matters; `Vec::remove` would link a panic).
    pub(super) expiry_probes: Vec<String>,
    /// Expiry probes sent on this socket: the next one's place in the ring.
    pub(super) expiry_probes_sent: usize,
    /// The request id of the barrier sent after a replay was asked for, and when the engine
    /// stops waiting for its answer (see `order`).
    pub(super) barrier: Option<(String, Instant)>,
    pub(super) subscription: Subscription,
    /// The claims the object holds for this socket (change with `/updateToken`); `None`
    /// while they are the current token's. The claims are moved here when a new token comes,
    /// never cloned: their clone costs the wasm module a few hundred bytes.
    pub(super) socket_claims: Option<TokenClaims>,
    /// The request id of an `/updateToken` in flight. It pushes the current token's claims:
    /// any newer token replaces it (or the socket).
    pub(super) update: Option<String>,
}

/// The durable iterator client state machine. See the module documentation.
#[derive(Debug)]
pub struct Engine {
    pub(super) options: EngineOptions,
    pub(super) client_id: String,
    pub(super) rng: SplitMix64,
    pub(super) token: TokenState,
    pub(super) refresh: RefreshState,
    /// With refresh off, the next step of noticing the token's expiry (see `expiry_step`).
    pub(super) expiry_check: Option<Instant>,
    pub(super) link: Link,
    pub(super) next_socket: u64,
    /// Failed attempts in a row (connects and subscriptions); reset after `stable_after`, or
    /// when a socket that delivered events is lost.
    pub(super) attempt: u32,
    /// Sockets in a row that never opened; a hint that the token is refused.
    pub(super) failed_opens: u32,
    pub(super) offline: bool,
    pub(super) request_ids: RequestIdGenerator,
    pub(super) cursor: ResumeCursor,
    pub(super) delivered: DeliveredIds,
    /// Events held back until a text-ordered replay is complete.
    pub(super) order: ReplayOrder,
    /// The latest `retry` the object put in an event's meta: a floor for reconnect delays.
    pub(super) server_retry: Option<Duration>,
    pub(super) subscribed_before: bool,
    pub(super) calls: Calls,
    pub(super) state: ConnectionState,
    /// Outputs in order; those before `next_output` were taken (left as placeholders). A
    /// plain vector costs the wasm module less than a `VecDeque`, whose ring indexing is
    /// linked for every push and pop.
    pub(super) outputs: Vec<Output>,
    pub(super) next_output: usize,
}

impl Engine {
    /// Starts an iterator: the first outputs open its socket.
    ///
    /// `client_id` must be random and unguessable (the driver uses `crypto.randomUUID()`); it
    /// is kept for the iterator's life so the object recognises the client across reconnects.
    /// `seed` feeds the backoff jitter. `token` is the procedure's output and `claims` what
    /// its payload says (the driver parses it); claims whose `iat` or `exp` is not a finite
    /// number are an `InvalidToken` error. `last_event_id` is the caller's resume point, if any.
    pub fn new(
        options: EngineOptions,
        client_id: String,
        seed: u64,
        token: String,
        claims: TokenClaims,
        last_event_id: Option<String>,
        now: Instant,
    ) -> Result<Engine> {
        claims.check()?;
        let mut engine = Engine {
            rng: SplitMix64::new(seed),
            client_id,
            token: TokenState::new(token, claims, now),
            refresh: RefreshState::default(),
            expiry_check: None,
            link: Link::Waiting { until: now },
            next_socket: 0,
            attempt: 0,
            failed_opens: 0,
            offline: false,
            request_ids: RequestIdGenerator::new(),
            cursor: ResumeCursor::new(last_event_id),
            delivered: DeliveredIds::new(options.dedup_capacity),
            order: ReplayOrder::default(),
            server_retry: None,
            subscribed_before: false,
            calls: Calls::default(),
            state: ConnectionState::Connecting { attempt: 0 },
            outputs: Vec::new(),
            next_output: 0,
            options,
        };
        // The first state is reported even though `connect` finds it unchanged (built again,
        // not cloned: the clone is linked into the entry point for this line otherwise).
        engine.push(Output::State(ConnectionState::Connecting { attempt: 0 }));
        engine.schedule_refresh(now);
        engine.schedule_expiry_check();
        engine.connect(now);
        Ok(engine)
    }

    /// Takes in something that happened. Inputs after the end are ignored.
    pub fn handle_input(&mut self, input: Input, now: Instant) {
        if self.is_ended() {
            return;
        }
        match input {
            Input::SocketOpened { socket } => self.on_socket_opened(socket, now),
            Input::SocketMessage { socket, message } => self.on_message(socket, message, now),
            Input::SocketClosed {
                socket,
                code,
                reason,
            } => self.on_socket_closed(socket, code, reason, now),
            Input::Offline => self.on_offline(),
            Input::Online => self.on_online(now),
            Input::Wake => self.on_wake(now),
            Input::Refreshed(result) => self.on_refreshed(result, now),
        }
    }

    /// Starts an RPC call. Refused at once, before anything is sent, when the iterator has
    /// ended (`IteratorEnded`), the path names no method (`InvalidCall`) or the current
    /// token's `rpc` list does not name `path[0]` (`RpcNotAllowed`). The call goes out as
    /// soon as a socket is open and settles with [`Output::CallSettled`].
    pub fn call(&mut self, request: CallRequest, now: Instant) -> Result<CallId> {
        let _ = now;
        if self.is_ended() {
            return Err(Error::IteratorEnded);
        }
        let method = request.path.first().map_or("", String::as_str);
        if method.is_empty() {
            return Err(Error::InvalidCall {
                reason: "the path needs a method name".to_owned(),
            });
        }
        if !self.token.claims.allows_rpc(method) {
            return Err(Error::RpcNotAllowed {
                method: method.to_owned(),
            });
        }
        let id = self
            .calls
            .add(request.body, request.retries, request.retry_delay);
        self.flush_calls();
        Ok(id)
    }

    /// Aborts a call: it settles with `Aborted`, and the object is told if it was sent.
    /// Unknown or settled calls are ignored.
    pub fn abort_call(&mut self, call: CallId, now: Instant) {
        let _ = now;
        let Some(in_flight) = self.calls.remove(call) else {
            return;
        };
        if let Some(request) = in_flight {
            self.send(wire::abort(&request));
        }
        self.push(Output::CallSettled {
            call,
            result: Err(Error::Aborted),
        });
    }

    /// Stops the iterator (abort or `return()`): closes the socket, drops every timer, settles
    /// pending calls with `IteratorEnded` and ends with `Ok`.
    pub fn stop(&mut self, now: Instant) {
        let _ = now;
        self.order.clear();
        self.end(Ok(()), CLOSE_NORMAL, String::new());
    }

    /// When the engine wants [`Engine::handle_timeout`]; `None` when no timer is needed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let link = match &self.link {
            Link::Ended => return None,
            Link::Connecting { deadline, .. } => Some(*deadline),
            Link::Waiting { until } => Some(*until),
            Link::Offline | Link::AwaitingToken => None,
            Link::Open(open) => self.open_timeout(open),
        };
        earliest([
            link,
            self.refresh_due(),
            self.expiry_due(),
            self.calls.next_retry(),
        ])
    }

    /// Runs whatever timers are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &self.link {
            Link::Ended => return,
            Link::Connecting { socket, deadline } if *deadline <= now => {
                let socket = *socket;
                self.push(Output::CloseSocket {
                    socket,
                    code: CLOSE_UNRESPONSIVE,
                    reason: "connect timeout".to_owned(),
                });
                self.failed_opens += 1;
                self.socket_lost(CLOSE_UNRESPONSIVE, "connect timeout".to_owned(), now);
            }
            Link::Waiting { until } if *until <= now => self.connect(now),
            Link::Open(_) => self.open_timers(now),
            _ => {}
        }
        if self.is_ended() {
            return;
        }
        if self.refresh_due().is_some_and(|due| due <= now) {
            self.request_refresh(now);
        }
        if self.expiry_due().is_some_and(|due| due <= now) {
            self.expiry_step(now);
            if self.is_ended() {
                return;
            }
        }
        self.calls.requeue_due(now);
        self.flush_calls();
    }

    /// The next thing the driver must do, or `None` when there is nothing left.
    pub fn poll_output(&mut self) -> Option<Output> {
        match self.outputs.get_mut(self.next_output) {
            Some(slot) => {
                self.next_output += 1;
                Some(core::mem::replace(slot, Output::PossibleGap))
            }
            None => {
                // All taken: start over, so the vector does not grow with the engine's life.
                self.outputs.clear();
                self.next_output = 0;
                None
            }
        }
    }

    /// The client id this iterator uses on every connect.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The current token (changes after a refresh).
    pub fn token(&self) -> &str {
        &self.token.token
    }

    /// The current token's claims.
    pub fn token_claims(&self) -> &TokenClaims {
        &self.token.claims
    }

    /// Whether the current token lets the iterator call `method` (for RPC proxies).
    pub fn allows_rpc(&self, method: &str) -> bool {
        self.token.claims.allows_rpc(method)
    }

    /// The `last-event-id` the next resubscribe would send.
    pub fn last_event_id(&self) -> Option<&str> {
        self.cursor.last_event_id()
    }

    /// The connection state last reported.
    pub fn state(&self) -> &ConnectionState {
        &self.state
    }

    /// Whether the iterator has ended.
    pub fn is_ended(&self) -> bool {
        matches!(self.link, Link::Ended)
    }

    pub(super) fn push(&mut self, output: Output) {
        self.outputs.push(output);
    }

    pub(super) fn set_state(&mut self, state: ConnectionState) {
        if self.state != state {
            self.state = state.clone();
            self.push(Output::State(state));
        }
    }

    /// Ends the iterator: closes the socket, forgets timers and settles calls.
    pub(super) fn end(&mut self, result: Result<(), Error>, code: u16, reason: String) {
        let socket = match &self.link {
            Link::Ended => return,
            Link::Connecting { socket, .. } => Some(*socket),
            Link::Open(open) => Some(open.socket),
            _ => None,
        };
        if let Some(socket) = socket {
            self.push(Output::CloseSocket {
                socket,
                code: CLOSE_NORMAL,
                reason: String::new(),
            });
        }
        self.link = Link::Ended;
        // Held events arrived before the end: they are yielded before it.
        self.release_held(false);
        self.refresh = RefreshState::default();
        self.expiry_check = None;
        for call in self.calls.drain() {
            self.push(Output::CallSettled {
                call,
                result: Err(Error::IteratorEnded),
            });
        }
        self.set_state(ConnectionState::Closed { code, reason });
        self.push(Output::Ended(result));
    }
}
