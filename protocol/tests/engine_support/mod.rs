//! A simulated world for the client engine: a clock that only moves when told to, a scripted
//! object that answers with frames built by the protocol codec, and a log of every output.
#![allow(dead_code)]

use std::time::Duration;

use durable_iterator_protocol::client::{
    upgrade_url, CallId, CallRequest, ConnectionState, Engine, EngineOptions, Input, Instant,
    Output, SocketId,
};
use durable_iterator_protocol::consts::LAST_EVENT_ID_HEADER;
use durable_iterator_protocol::{
    sign_token, ClientMessage, Error, EventKind, EventMeta, EventPayload, RawJson, ResponsePayload,
    ServerMessage, TokenPayload,
};

pub const SECRET: &str = "test-secret";
pub const CLIENT_ID: &str = "5f0c6b0e-6a43-4d1a-9c55-2d7d8e0d1f00";
pub const BASE_URL: &str = "ws://127.0.0.1:8800/chat-room";

/// A token for `chn` with an `rpc` list, issued at `iat` (seconds) for `ttl` seconds.
pub fn token_with(chn: &str, tags: Option<&[&str]>, rpc: &[&str], iat: f64, ttl: f64) -> String {
    let mut payload = TokenPayload::new(chn, iat, ttl);
    payload.tags = tags.map(|tags| tags.iter().map(|t| t.to_string()).collect());
    payload.rpc = Some(rpc.iter().map(|m| m.to_string()).collect());
    sign_token(&payload, SECRET)
}

/// The usual test token: room `some-room`, methods `singleClient` and `routerClient`, 1 h.
pub fn token() -> String {
    token_with(
        "some-room",
        None,
        &["singleClient", "routerClient"],
        1_795_345_028.0,
        3600.0,
    )
}

pub fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

pub fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

/// Options without liveness probes, so tests that do not look at them see no extra frames.
pub fn quiet_options() -> EngineOptions {
    EngineOptions::default().with_liveness(None)
}

pub struct Sim {
    pub engine: Engine,
    pub now: Instant,
    /// Every output so far, in order.
    pub log: Vec<Output>,
    /// Index in `log` up to which `take` has returned outputs.
    seen: usize,
    /// Every message sent, decoded once.
    sent_log: Vec<ClientMessage>,
    /// The request id of the latest `/subscribe`.
    last_subscribe: Option<String>,
}

impl Sim {
    pub fn new(options: EngineOptions, token: String, last_event_id: Option<&str>) -> Sim {
        Sim::with_seed(options, token, last_event_id, 42)
    }

    pub fn with_seed(
        options: EngineOptions,
        token: String,
        last_event_id: Option<&str>,
        seed: u64,
    ) -> Sim {
        let now = Instant::ZERO;
        let engine = Engine::new(
            options,
            CLIENT_ID.to_owned(),
            seed,
            token,
            last_event_id.map(str::to_owned),
            now,
        )
        .expect("a valid token starts an engine");
        let mut sim = Sim {
            engine,
            now,
            log: Vec::new(),
            seen: 0,
            sent_log: Vec::new(),
            last_subscribe: None,
        };
        sim.pump();
        sim
    }

    fn pump(&mut self) {
        while let Some(output) = self.engine.poll_output() {
            if let Output::Send { text, .. } = &output {
                let message =
                    ClientMessage::decode_text(text).expect("the engine sends valid frames");
                if let ClientMessage::Request { id, payload } = &message {
                    if payload.url == "/subscribe" {
                        self.last_subscribe = Some(id.clone());
                    }
                }
                self.sent_log.push(message);
            }
            self.log.push(output);
        }
    }

    /// Outputs produced since the last call.
    pub fn take(&mut self) -> Vec<Output> {
        self.pump();
        let fresh = self.log[self.seen..].to_vec();
        self.seen = self.log.len();
        fresh
    }

    pub fn input(&mut self, input: Input) {
        self.engine.handle_input(input, self.now);
        self.pump();
    }

    pub fn call(&mut self, request: CallRequest) -> Result<CallId, Error> {
        let result = self.engine.call(request, self.now);
        self.pump();
        result
    }

    pub fn abort_call(&mut self, call: CallId) {
        self.engine.abort_call(call, self.now);
        self.pump();
    }

    pub fn stop(&mut self) {
        self.engine.stop(self.now);
        self.pump();
    }

    /// Moves the clock forward by `by`, firing every timer that falls due on the way.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(at) = self.engine.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.engine.handle_timeout(self.now);
            self.pump();
        }
        self.now = target;
    }

    /// Moves the clock to the next timer and fires it; returns how far the clock moved.
    pub fn next_timer(&mut self) -> Option<Duration> {
        let at = self.engine.poll_timeout()?;
        let moved = at.saturating_duration_since(self.now);
        self.now = self.now.max(at);
        self.engine.handle_timeout(self.now);
        self.pump();
        Some(moved)
    }

    /// The socket named by the latest `OpenSocket`.
    pub fn socket(&self) -> SocketId {
        self.log
            .iter()
            .rev()
            .find_map(|output| match output {
                Output::OpenSocket { socket, .. } => Some(*socket),
                _ => None,
            })
            .expect("the engine asked for a socket")
    }

    /// The URL the driver would open for the latest `OpenSocket`.
    pub fn socket_url(&self) -> String {
        self.log
            .iter()
            .rev()
            .find_map(|output| match output {
                Output::OpenSocket { token, .. } => {
                    Some(upgrade_url(BASE_URL, self.engine.client_id(), token))
                }
                _ => None,
            })
            .expect("the engine asked for a socket")
    }

    pub fn open_count(&self) -> usize {
        self.log
            .iter()
            .filter(|output| matches!(output, Output::OpenSocket { .. }))
            .count()
    }

    pub fn opened(&mut self) {
        let socket = self.socket();
        self.input(Input::SocketOpened { socket });
    }

    pub fn closed(&mut self, code: u16, reason: &str) {
        let socket = self.socket();
        self.input(Input::SocketClosed {
            socket,
            code,
            reason: reason.to_owned(),
        });
    }

    pub fn receive(&mut self, message: ServerMessage) {
        let socket = self.socket();
        self.input(Input::SocketFrame {
            socket,
            frame: message.encode(),
        });
    }

    pub fn receive_text(&mut self, text: &str) {
        let socket = self.socket();
        self.input(Input::SocketFrame {
            socket,
            frame: durable_iterator_protocol::Frame::Text(text.to_owned()),
        });
    }

    /// Every message the engine sent, decoded, in order.
    pub fn sent(&self) -> Vec<ClientMessage> {
        self.sent_log.clone()
    }

    pub fn sent_texts(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|output| match output {
                Output::Send { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    /// Requests sent to `url`, as (request id, last-event-id header).
    pub fn requests_to(&self, url: &str) -> Vec<(String, Option<String>)> {
        self.sent_log
            .iter()
            .filter_map(|message| match message {
                ClientMessage::Request { id, payload } if payload.url == url => {
                    let id = id.clone();
                    let last = payload.headers.get(LAST_EVENT_ID_HEADER).map(str::to_owned);
                    Some((id, last))
                }
                _ => None,
            })
            .collect()
    }

    /// The id of the latest `/subscribe`.
    pub fn subscribe_id(&self) -> String {
        self.last_subscribe.clone().expect("a subscribe was sent")
    }

    /// Opens the socket and accepts the subscription.
    pub fn connect_and_subscribe(&mut self) {
        self.opened();
        self.accept_subscription();
    }

    pub fn accept_subscription(&mut self) {
        let id = self.subscribe_id();
        self.receive(ServerMessage::Response {
            id,
            payload: ResponsePayload::event_stream(),
        });
    }

    /// The object publishes a message event with this id on the current subscription.
    pub fn event(&mut self, event_id: Option<&str>, message: &str) {
        let id = self.subscribe_id();
        self.receive(message_event(&id, event_id, message));
    }

    /// Delivered events as (id, data text).
    pub fn events(&self) -> Vec<(Option<String>, String)> {
        self.log
            .iter()
            .filter_map(|output| match output {
                Output::Event(event) => Some((event.id.clone(), event.data.get().to_owned())),
                _ => None,
            })
            .collect()
    }

    pub fn event_ids(&self) -> Vec<String> {
        self.events().into_iter().filter_map(|(id, _)| id).collect()
    }

    pub fn states(&self) -> Vec<ConnectionState> {
        self.log
            .iter()
            .filter_map(|output| match output {
                Output::State(state) => Some(state.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn ended(&self) -> Option<Result<(), Error>> {
        self.log.iter().find_map(|output| match output {
            Output::Ended(result) => Some(result.clone()),
            _ => None,
        })
    }

    pub fn settled(&self, call: CallId) -> Option<Result<RawJson, Error>> {
        self.log.iter().find_map(|output| match output {
            Output::CallSettled { call: c, result } if *c == call => Some(result.clone()),
            _ => None,
        })
    }

    pub fn count(&self, matches: impl Fn(&Output) -> bool) -> usize {
        self.log.iter().filter(|output| matches(output)).count()
    }
}

pub fn message_event(stream: &str, event_id: Option<&str>, message: &str) -> ServerMessage {
    ServerMessage::Event {
        id: stream.to_owned(),
        payload: EventPayload {
            event: EventKind::Message,
            data: Some(
                RawJson::from_string(format!(r#"{{"json":{{"message":"{message}"}}}}"#))
                    .expect("valid JSON"),
            ),
            meta: event_id.map(|id| EventMeta {
                id: Some(id.to_owned()),
                ..EventMeta::default()
            }),
        },
    }
}

pub fn json(text: &str) -> RawJson {
    RawJson::from_string(text.to_owned()).expect("valid JSON")
}
