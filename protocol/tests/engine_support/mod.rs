//! A simulated world for the client engine: a clock that only moves when told to, a scripted
//! object that answers with frames built by the protocol codec, and a log of every output.
#![allow(dead_code)]

use std::time::Duration;

use durable_iterator_protocol::client::{
    call_result_of, decode_incoming, event_of, upgrade_url, CallId, CallRequest, ConnectionState,
    Engine, EngineOptions, Input, Instant, Output, Payload, SocketId, TokenClaims,
};
use durable_iterator_protocol::consts::{LAST_EVENT_ID_HEADER, PATH_LIVENESS_PROBE};
use durable_iterator_protocol::{
    parse_token, sign_token, ClientMessage, Error, EventKind, EventMeta, EventPayload, Frame,
    RawJson, ResponsePayload, RichBody, ServerMessage, TokenPayload,
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

/// The claims of a token, as a driver reads them from its payload.
pub fn claims_of(token: &str) -> Result<TokenClaims, Error> {
    parse_token(token).map(|payload| TokenClaims::from(&payload))
}

/// A call as the tests write it: a path and a rich-JSON input, which the driver encodes.
pub struct Call {
    path: Vec<String>,
    input: Option<RichBody>,
    retries: u32,
    retry_delay: Duration,
}

impl Call {
    /// A call of `path` with `input`, no retries.
    pub fn new<S: Into<String>>(
        path: impl IntoIterator<Item = S>,
        input: Option<RichBody>,
    ) -> Self {
        Call {
            path: path.into_iter().map(Into::into).collect(),
            input,
            retries: 0,
            retry_delay: secs(2),
        }
    }

    /// Sets the retry count and the pause before each retry.
    pub fn with_retries(mut self, retries: u32, retry_delay: Duration) -> Self {
        self.retries = retries;
        self.retry_delay = retry_delay;
        self
    }
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
    /// The engine's frame limit, which the driver's decoder applies.
    max_frame_bytes: usize,
    /// Every event delivered, resolved against the message that carried it.
    events_log: Vec<(Option<String>, RawJson)>,
    /// Every call settled, resolved against the message that answered it.
    settled_log: Vec<(CallId, Result<RawJson, Error>)>,
    /// The handle of the next message (one message per input, unique among kept ones).
    next_handle: u32,
    /// Messages the engine asked to keep, by handle.
    kept: std::collections::BTreeMap<Payload, ServerMessage>,
    /// Barriers and probes answered by [`Sim::answer_barrier`].
    answered: Vec<String>,
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
        let max_frame_bytes = options.max_frame_bytes;
        let claims = claims_of(&token).expect("a valid token");
        let engine = Engine::new(
            options,
            CLIENT_ID.to_owned(),
            seed,
            token,
            claims,
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
            max_frame_bytes,
            events_log: Vec::new(),
            settled_log: Vec::new(),
            next_handle: 0,
            kept: std::collections::BTreeMap::new(),
            answered: Vec::new(),
        };
        sim.pump();
        sim
    }

    fn pump(&mut self) {
        self.pump_with(None);
    }

    /// Logs every output; resolves events and call answers against `current`, the message
    /// of the input just fed, or a message the engine asked to keep.
    fn pump_with(&mut self, current: Option<(Payload, &ServerMessage)>) {
        while let Some(output) = self.engine.poll_output() {
            let message = current.map(|(_, message)| message);
            match &output {
                Output::Keep { payload } => {
                    let (handle, message) = current.expect("only a message is kept");
                    assert_eq!(*payload, handle, "the engine keeps the input's message");
                    self.kept.insert(handle, message.clone());
                }
                Output::Event { id, payload } => {
                    let event = match current {
                        Some((handle, message)) if handle == *payload => {
                            event_of(id.clone(), Some(message))
                        }
                        _ => {
                            let kept = self.kept.remove(payload);
                            assert!(kept.is_some(), "an event names a kept message");
                            event_of(id.clone(), kept.as_ref())
                        }
                    };
                    self.events_log.push((event.id, event.data));
                }
                Output::Ended(_) => self.kept.clear(),
                Output::CallSettled { call, result } => {
                    let resolved = call_result_of(result.clone(), message);
                    self.settled_log.push((*call, resolved));
                }
                _ => {}
            }
            if let Output::Send { text, .. } = &output {
                let message =
                    ClientMessage::decode_text(text).expect("the engine sends valid frames");
                // The engine's hand-written encoder writes what the serde encoder writes.
                assert_eq!(
                    message.encode_text(),
                    *text,
                    "a frame serde re-encodes alike"
                );
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

    /// `socket` received `frame`: the driver decodes it and feeds the envelope.
    pub fn frame(&mut self, socket: SocketId, frame: Frame) {
        let handle = Payload(self.next_handle);
        self.next_handle += 1;
        let (message, decoded) = decode_incoming(&frame, self.max_frame_bytes, handle);
        self.engine
            .handle_input(Input::SocketMessage { socket, message }, self.now);
        self.pump_with(decoded.as_ref().map(|message| (handle, message)));
    }

    /// The token source answered: the driver reads the new token's claims (a token it cannot
    /// read is a failed refresh) and feeds them.
    pub fn refreshed(&mut self, result: Result<String, String>) {
        let result = result.and_then(|token| match claims_of(&token) {
            Ok(claims) => Ok((token, claims)),
            Err(error) => Err(error.to_string()),
        });
        self.input(Input::Refreshed(result));
    }

    /// Starts a call as the Rust drivers do: the input encoded into the `/call` body first.
    pub fn call(&mut self, call: Call) -> Result<CallId, Error> {
        let request = CallRequest::with_input(call.path, call.input)?
            .with_retries(call.retries, call.retry_delay);
        self.call_request(request)
    }

    /// Starts a call with an encoded body.
    pub fn call_request(&mut self, request: CallRequest) -> Result<CallId, Error> {
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
        self.frame(socket, message.encode());
    }

    pub fn receive_text(&mut self, text: &str) {
        let socket = self.socket();
        self.frame(socket, Frame::Text(text.to_owned()));
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

    /// How many messages the engine keeps for later events now.
    pub fn kept_count(&self) -> usize {
        self.kept.len()
    }

    /// The object answers the latest request for an unknown path (the engine's replay
    /// barrier, or a probe) with its 404, as it does once everything sent before is out;
    /// nothing when that request was answered already.
    pub fn answer_barrier(&mut self) {
        let Some((id, _)) = self.requests_to(PATH_LIVENESS_PROBE).pop() else {
            return;
        };
        if self.answered.contains(&id) {
            return;
        }
        self.answered.push(id.clone());
        self.receive(ServerMessage::Response {
            id,
            payload: ResponsePayload::with_body(
                404,
                RawJson::from_string("\"No procedure matched\"".to_owned()).expect("JSON"),
            ),
        });
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
        self.events_log
            .iter()
            .map(|(id, data)| (id.clone(), data.get().to_owned()))
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

    /// How `call` settled, with its answer read from the message that carried it.
    pub fn settled(&self, call: CallId) -> Option<Result<RawJson, Error>> {
        self.settled_log
            .iter()
            .find_map(|(c, result)| (*c == call).then(|| result.clone()))
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
