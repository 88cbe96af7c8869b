//! The engine for Rust drivers (feature `codec`): frames decoded with the serde decoder,
//! payload handles resolved to the bodies they name, tokens parsed, call inputs encoded.
//!
//! The engine itself never sees JSON: it reads envelopes ([`Incoming`]) and names each
//! message's payload by a handle ([`Payload`]). [`decode_incoming`] makes the envelope of a
//! frame and keeps the decoded message; [`event_of`] and [`call_result_of`] read what an
//! output names from that message. [`CodecEngine`] does all of it around an [`Engine`], so the
//! browser and native drivers only move frames, tokens and typed values.

use std::collections::VecDeque;

use serde_json::Value;

use super::calls::{CallId, CallRequest};
use super::claims::TokenClaims;
use super::engine::Engine;
use super::events::{Input, Output, SocketId};
use super::incoming::{Incoming, Payload};
use super::options::EngineOptions;
use super::time::Instant;
use crate::error::{Error, Result};
use crate::message::{EventMeta, Frame, Headers, RawJson, ResponsePayload, ServerMessage};
use crate::orpc_error::{OrpcError, COMMON_CODES};
use crate::rich_json::{MetaEntry, MetaType, PathSegment, RichBody};
use crate::token::{parse_token, TokenPayload};

/// One event the iterator yields.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event id (`m.id`), if the object sent one.
    pub id: Option<String>,
    /// The event's rich-JSON body `{json, meta}`, untouched (`{}` when absent): JS hands it
    /// to the oRPC deserializer, Rust to [`crate::RichBody`].
    pub data: RawJson,
    /// The whole event meta (id, retry, comments).
    pub meta: EventMeta,
}

impl From<&TokenPayload> for TokenClaims {
    fn from(payload: &TokenPayload) -> Self {
        TokenClaims {
            chn: payload.chn.clone(),
            tags: payload.tags.clone(),
            rpc: payload.rpc.clone(),
            iat: payload.iat,
            exp: payload.exp,
        }
    }
}

impl CallRequest {
    /// A call of `path` with `input` (`None` is "no input", `undefined`), no retries: the
    /// `/call` body is encoded with [`encode_call_body`]. `InvalidCall` when the path names no
    /// method or the input's meta does not fit its JSON.
    pub fn with_input<S: Into<String>>(
        path: impl IntoIterator<Item = S>,
        input: Option<RichBody>,
    ) -> Result<Self> {
        let path: Vec<String> = path.into_iter().map(Into::into).collect();
        let body = encode_call_body(&path, input.as_ref())?;
        Ok(CallRequest::new(path, body.get().to_owned()))
    }
}

/// The `/call` body: `{"json":{"path":[...],"input":...},"meta":[...]}`.
///
/// The input's meta paths are moved under `input`. No input is sent as `"input": null` with
/// meta `[3, "input"]` (undefined at `input`): the upstream object requires the key, and
/// reads this as "no input" (its own client's `ping()` omits the key and fails with 400).
pub fn encode_call_body(path: &[String], input: Option<&RichBody>) -> Result<RawJson> {
    if path.first().is_none_or(String::is_empty) {
        return Err(Error::InvalidCall {
            reason: "the path needs a method name".to_owned(),
        });
    }
    let input_key = || PathSegment::Key("input".to_owned());
    let (input_json, meta) = match input {
        Some(RichBody {
            json: Some(json),
            meta,
        }) => {
            let body = RichBody {
                json: Some(json.clone()),
                meta: meta.clone(),
            };
            body.validate().map_err(|e| Error::InvalidCall {
                reason: format!("input: {e}"),
            })?;
            let meta = meta
                .iter()
                .map(|entry| {
                    let mut path = Vec::with_capacity(entry.path.len() + 1);
                    path.push(input_key());
                    path.extend(entry.path.iter().cloned());
                    MetaEntry::new(entry.kind, path)
                })
                .collect();
            (json.clone(), meta)
        }
        _ => (
            Value::Null,
            vec![MetaEntry::new(MetaType::Undefined, vec![input_key()])],
        ),
    };
    let mut object = serde_json::Map::new();
    object.insert("path".to_owned(), Value::from(path.to_vec()));
    object.insert("input".to_owned(), input_json);
    let body = RichBody {
        json: Some(Value::Object(object)),
        meta,
    };
    RawJson::from_string(body.to_json_string())
}

/// The oRPC error an error answer carries; a bare string body (the 404 of an unknown path)
/// or a malformed one becomes an error with the status's common code.
pub fn error_from_response(payload: &ResponsePayload) -> OrpcError {
    let body = payload.body.as_ref().map(RawJson::get);
    let parsed = body
        .and_then(|text| RichBody::from_json_str(text).ok())
        .and_then(|body| body.json)
        .and_then(|json| OrpcError::from_value(&json).ok());
    if let Some(error) = parsed {
        return error;
    }
    let message = body
        .and_then(|text| serde_json::from_str::<String>(text).ok())
        .unwrap_or_default();
    let code = COMMON_CODES
        .iter()
        .find(|(_, status, _)| *status == payload.status)
        .map_or("INTERNAL_SERVER_ERROR", |(code, _, _)| code);
    let mut error = OrpcError::new(code, message);
    error.status = payload.status;
    error
}

/// Decodes a frame for [`Input::SocketMessage`]: its envelope, with `handle` naming it, and
/// the decoded message (kept to resolve what the outputs name). A frame over
/// `max_frame_bytes` is `FrameTooLarge`, unread; one that does not decode is the decoder's
/// error (`MalformedMessage`, `UnknownMessageType`).
pub fn decode_incoming(
    frame: &Frame,
    max_frame_bytes: usize,
    handle: Payload,
) -> (Result<Incoming>, Option<ServerMessage>) {
    let size = match frame {
        Frame::Text(text) => text.len(),
        Frame::Binary(bytes) => bytes.len(),
    };
    if size > max_frame_bytes {
        let error = Error::FrameTooLarge {
            size,
            limit: max_frame_bytes,
        };
        return (Err(error), None);
    }
    match ServerMessage::decode(frame) {
        Ok(message) => (Ok(incoming_of(&message, handle)), Some(message)),
        Err(error) => (Err(error), None),
    }
}

/// The envelope of a decoded message, with `handle` naming it.
pub fn incoming_of(message: &ServerMessage, handle: Payload) -> Incoming {
    match message {
        ServerMessage::Response { id, payload } => Incoming::Response {
            id: id.clone(),
            status: payload.status,
            event_stream: payload.is_event_stream(),
            has_body: payload.body.is_some(),
            payload: handle,
        },
        ServerMessage::Event { id, payload } => Incoming::Event {
            id: id.clone(),
            kind: payload.event,
            event_id: payload.meta.as_ref().and_then(|meta| meta.id.clone()),
            retry_ms: payload.meta.as_ref().and_then(|meta| meta.retry),
            data: handle,
        },
        ServerMessage::Abort { id } => Incoming::Abort { id: id.clone() },
    }
}

/// The event an [`Output::Event`] names: `message`'s data (`{}` when absent) and meta.
pub fn event_of(id: Option<String>, message: Option<&ServerMessage>) -> Event {
    match message {
        Some(ServerMessage::Event { payload, .. }) => Event {
            id,
            data: payload.data.clone().unwrap_or_else(RawJson::empty_object),
            meta: payload.meta.clone().unwrap_or_default(),
        },
        _ => Event {
            id,
            data: RawJson::empty_object(),
            meta: EventMeta::default(),
        },
    }
}

/// The result an [`Output::CallSettled`] names: the answer's body (`{}` when absent), or the
/// error, with [`Error::Rejected`] read into [`Error::Rpc`] from the answer's body.
pub fn call_result_of(
    result: Result<Payload, Error>,
    message: Option<&ServerMessage>,
) -> Result<RawJson, Error> {
    let response = match message {
        Some(ServerMessage::Response { payload, .. }) => Some(payload),
        _ => None,
    };
    match result {
        Ok(_) => Ok(response
            .and_then(|payload| payload.body.clone())
            .unwrap_or_else(RawJson::empty_object)),
        Err(Error::Rejected { status, .. }) => {
            let error = match response {
                Some(payload) => error_from_response(payload),
                None => error_from_response(&ResponsePayload {
                    status,
                    headers: Headers::new(),
                    body: None,
                    attachment: None,
                }),
            };
            Err(Error::Rpc(Box::new(error)))
        }
        Err(error) => Err(error),
    }
}

/// An engine output with what it names resolved, as [`CodecEngine`] gives them.
#[derive(Debug, Clone, PartialEq)]
pub enum CodecOutput {
    /// [`Output::OpenSocket`], with the payload of the token (for a URL that depends on it).
    OpenSocket {
        /// The name of this socket in later inputs.
        socket: SocketId,
        /// The token to put in the URL.
        token: String,
        /// Its payload.
        payload: TokenPayload,
    },
    /// [`Output::Event`]: yield this event.
    Event(Event),
    /// [`Output::CallSettled`]: the answer's rich-JSON body `{json, meta}`, or why it failed
    /// (an error answer is [`Error::Rpc`]).
    CallSettled {
        /// The call.
        call: CallId,
        /// The answer or the error.
        result: Result<RawJson, Error>,
    },
    /// [`Output::TokenUpdated`], with the token's payload.
    TokenUpdated {
        /// The token now in use.
        token: String,
        /// Its payload.
        payload: TokenPayload,
    },
    /// Every other output, as the engine gave it.
    Other(Output),
}

/// An [`Engine`] fed with frames and token strings: it decodes frames with the serde decoder,
/// parses tokens, and resolves what outputs name, right after each input (handles are only
/// valid then). Drive it as the engine: an input, then [`CodecEngine::poll_output`] until
/// `None`, then a timer for [`CodecEngine::poll_timeout`].
#[derive(Debug)]
pub struct CodecEngine {
    engine: Engine,
    /// The payload of the token in use.
    payload: TokenPayload,
    /// The payload of a refreshed token the engine is about to adopt.
    fresh: Option<(String, TokenPayload)>,
    max_frame_bytes: usize,
    ready: VecDeque<CodecOutput>,
    /// The handle of the next message (one message per input; unique among kept messages).
    next_handle: u32,
    /// Messages the engine asked to keep ([`Output::Keep`]), by handle.
    kept: alloc::collections::BTreeMap<Payload, ServerMessage>,
}

impl CodecEngine {
    /// Starts an iterator from `token` (see [`Engine::new`]); a token whose payload does not
    /// parse is an `InvalidToken` error.
    pub fn new(
        options: EngineOptions,
        client_id: String,
        seed: u64,
        token: String,
        last_event_id: Option<String>,
        now: Instant,
    ) -> Result<Self> {
        let payload = parse_token(&token)?;
        let max_frame_bytes = options.max_frame_bytes;
        let engine = Engine::new(
            options,
            client_id,
            seed,
            token,
            TokenClaims::from(&payload),
            last_event_id,
            now,
        )?;
        let mut codec = CodecEngine {
            engine,
            payload,
            fresh: None,
            max_frame_bytes,
            ready: VecDeque::new(),
            next_handle: 0,
            kept: alloc::collections::BTreeMap::new(),
        };
        codec.collect(None);
        Ok(codec)
    }

    /// Takes in something that happened ([`Engine::handle_input`]). Frames go through
    /// [`CodecEngine::handle_frame`], refreshed tokens through
    /// [`CodecEngine::handle_refreshed`].
    pub fn handle_input(&mut self, input: Input, now: Instant) {
        self.engine.handle_input(input, now);
        self.collect(None);
    }

    /// The socket received `frame`.
    pub fn handle_frame(&mut self, socket: SocketId, frame: &Frame, now: Instant) {
        let handle = Payload(self.next_handle);
        self.next_handle = self.next_handle.wrapping_add(1);
        let (message, decoded) = decode_incoming(frame, self.max_frame_bytes, handle);
        self.engine
            .handle_input(Input::SocketMessage { socket, message }, now);
        self.collect(decoded.map(|message| (handle, message)));
    }

    /// The answer to [`Output::RefreshToken`]: a new token, or why there is none. A token
    /// whose payload does not parse is a failed refresh.
    pub fn handle_refreshed(&mut self, result: Result<String, String>, now: Instant) {
        let parsed = result.and_then(|token| match parse_token(&token) {
            Ok(payload) => Ok((token, payload)),
            Err(error) => Err(error.to_string()),
        });
        let input = match parsed {
            Ok((token, payload)) => {
                let claims = TokenClaims::from(&payload);
                self.fresh = Some((token.clone(), payload));
                Ok((token, claims))
            }
            Err(reason) => Err(reason),
        };
        self.engine.handle_input(Input::Refreshed(input), now);
        self.fresh = None;
        self.collect(None);
    }

    /// Starts an RPC call ([`Engine::call`]).
    pub fn call(&mut self, request: CallRequest, now: Instant) -> Result<CallId> {
        let result = self.engine.call(request, now);
        self.collect(None);
        result
    }

    /// Aborts a call ([`Engine::abort_call`]).
    pub fn abort_call(&mut self, call: CallId, now: Instant) {
        self.engine.abort_call(call, now);
        self.collect(None);
    }

    /// Stops the iterator ([`Engine::stop`]).
    pub fn stop(&mut self, now: Instant) {
        self.engine.stop(now);
        self.collect(None);
    }

    /// When [`CodecEngine::handle_timeout`] is due ([`Engine::poll_timeout`]).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.engine.poll_timeout()
    }

    /// Runs whatever timers are due at `now` ([`Engine::handle_timeout`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.engine.handle_timeout(now);
        self.collect(None);
    }

    /// The next thing the driver must do, or `None` when there is nothing left.
    pub fn poll_output(&mut self) -> Option<CodecOutput> {
        self.ready.pop_front()
    }

    /// The engine, to read its state.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The payload of the token in use.
    pub fn token_payload(&self) -> &TokenPayload {
        &self.payload
    }

    /// Resolves every output the engine has, while `current` is the message of the input.
    fn collect(&mut self, mut current: Option<(Payload, ServerMessage)>) {
        while let Some(output) = self.engine.poll_output() {
            let message = current.as_ref().map(|(_, message)| message);
            let resolved = match output {
                Output::OpenSocket { socket, token } => CodecOutput::OpenSocket {
                    socket,
                    token,
                    payload: self.payload.clone(),
                },
                Output::Keep { payload } => {
                    if let Some((handle, kept)) =
                        current.take().filter(|(handle, _)| *handle == payload)
                    {
                        self.kept.insert(handle, kept);
                    }
                    continue;
                }
                Output::Event { id, payload } => {
                    let event = match message {
                        Some(message) if current.as_ref().is_some_and(|(h, _)| *h == payload) => {
                            event_of(id, Some(message))
                        }
                        _ => event_of(id, self.kept.remove(&payload).as_ref()),
                    };
                    CodecOutput::Event(event)
                }
                Output::CallSettled { call, result } => CodecOutput::CallSettled {
                    call,
                    result: call_result_of(result, message),
                },
                Output::TokenUpdated { token } => {
                    self.payload = self.payload_of(&token);
                    CodecOutput::TokenUpdated {
                        token,
                        payload: self.payload.clone(),
                    }
                }
                Output::Ended(result) => {
                    self.kept.clear();
                    CodecOutput::Other(Output::Ended(result))
                }
                other => CodecOutput::Other(other),
            };
            self.ready.push_back(resolved);
        }
    }

    /// The payload of a token the engine adopted: the one parsed for it, or read again.
    fn payload_of(&mut self, token: &str) -> TokenPayload {
        if let Some((_, payload)) = self.fresh.take().filter(|(fresh, _)| fresh == token) {
            return payload;
        }
        parse_token(token).unwrap_or_else(|_| {
            let claims = self.engine.token_claims();
            TokenPayload {
                chn: claims.chn.clone(),
                tags: claims.tags.clone(),
                att: None,
                rpc: claims.rpc.clone(),
                iat: claims.iat,
                exp: claims.exp,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn no_input_is_null_with_undefined_meta() {
        let body = encode_call_body(&path(&["routerClient", "ping"]), None).unwrap();
        assert_eq!(
            body.get(),
            r#"{"json":{"path":["routerClient","ping"],"input":null},"meta":[[3,"input"]]}"#
        );
        let request = CallRequest::with_input(["routerClient", "ping"], None).unwrap();
        assert_eq!(request.body, body.get());
        assert_eq!(
            (request.retries, request.retry_delay),
            (0, std::time::Duration::from_secs(2))
        );
    }

    #[test]
    fn input_meta_moves_under_input() {
        let input = RichBody {
            json: Some(json!({"at": "2024-01-01T00:00:00.000Z", "text": "Hello"})),
            meta: vec![MetaEntry::new(
                MetaType::Date,
                vec![PathSegment::Key("at".into())],
            )],
        };
        let body = encode_call_body(&path(&["m"]), Some(&input)).unwrap();
        assert_eq!(
            body.get(),
            r#"{"json":{"path":["m"],"input":{"at":"2024-01-01T00:00:00.000Z","text":"Hello"}},"meta":[[1,"input","at"]]}"#
        );
        let plain = RichBody::plain(json!({"text": "Hello"}));
        assert_eq!(
            encode_call_body(&path(&["routerClient", "echo"]), Some(&plain))
                .unwrap()
                .get(),
            r#"{"json":{"path":["routerClient","echo"],"input":{"text":"Hello"}}}"#
        );
    }

    #[test]
    fn bad_calls_are_refused() {
        assert!(matches!(
            encode_call_body(&[], None),
            Err(Error::InvalidCall { .. })
        ));
        assert!(matches!(
            CallRequest::with_input(Vec::<String>::new(), None),
            Err(Error::InvalidCall { .. })
        ));
        let broken = RichBody {
            json: Some(json!({})),
            meta: vec![MetaEntry::new(
                MetaType::Date,
                vec![PathSegment::Key("nope".into())],
            )],
        };
        assert!(matches!(
            encode_call_body(&path(&["m"]), Some(&broken)),
            Err(Error::InvalidCall { .. })
        ));
    }

    #[test]
    fn errors_from_answers() {
        let not_found = ResponsePayload::with_body(
            404,
            RawJson::from_string("\"No procedure matched\"".into()).unwrap(),
        );
        let error = error_from_response(&not_found);
        assert_eq!(
            (error.code.as_str(), error.status, error.message.as_str()),
            ("NOT_FOUND", 404, "No procedure matched")
        );
        let forbidden = ResponsePayload::with_body(
            403,
            RawJson::from_string(
                OrpcError::forbidden("Method \"x\" is not allowed.").to_body_string(),
            )
            .unwrap(),
        );
        assert_eq!(
            error_from_response(&forbidden).message,
            "Method \"x\" is not allowed."
        );
    }

    fn text(frame: &str) -> Frame {
        Frame::Text(frame.to_owned())
    }

    #[test]
    fn frames_decode_to_envelopes() {
        let handle = Payload(7);
        let (incoming, message) = decode_incoming(
            &text(
                r#"{"i":"1","t":3,"p":{"e":"message","d":{"json":1},"m":{"id":"5","retry":300}}}"#,
            ),
            1024,
            handle,
        );
        assert_eq!(
            incoming,
            Ok(Incoming::Event {
                id: "1".into(),
                kind: crate::EventKind::Message,
                event_id: Some("5".into()),
                retry_ms: Some(300),
                data: handle,
            })
        );
        let event = event_of(Some("5".into()), message.as_ref());
        assert_eq!(event.data.get(), r#"{"json":1}"#);
        assert_eq!(event.meta.retry, Some(300));

        let (incoming, _) = decode_incoming(
            &text(r#"{"i":"2","p":{"h":{"content-type":"text/event-stream"}}}"#),
            1024,
            handle,
        );
        assert_eq!(
            incoming,
            Ok(Incoming::Response {
                id: "2".into(),
                status: 200,
                event_stream: true,
                has_body: false,
                payload: handle,
            })
        );
        let (incoming, _) = decode_incoming(&text(r#"{"i":"3","t":4}"#), 1024, handle);
        assert_eq!(incoming, Ok(Incoming::Abort { id: "3".into() }));

        let (incoming, message) = decode_incoming(&text(r#"{"i":"3","t":4}"#), 5, handle);
        assert_eq!(
            (incoming, message),
            (Err(Error::FrameTooLarge { size: 15, limit: 5 }), None)
        );
        let (incoming, _) = decode_incoming(&text(r#"{"i":"3","t":9}"#), 1024, handle);
        assert_eq!(incoming, Err(Error::UnknownMessageType(9)));
        let (incoming, _) = decode_incoming(&text("nope"), 1024, handle);
        assert!(matches!(incoming, Err(Error::MalformedMessage { .. })));
    }

    #[test]
    fn outputs_resolve_against_the_message() {
        let handle = Payload(0);
        assert_eq!(event_of(None, None).data.get(), "{}");
        let (_, answer) =
            decode_incoming(&text(r#"{"i":"4","p":{"b":{"json":"pong"}}}"#), 99, handle);
        assert_eq!(
            call_result_of(Ok(handle), answer.as_ref()).map(|b| b.get().to_owned()),
            Ok(r#"{"json":"pong"}"#.to_owned())
        );
        let (_, bodiless) = decode_incoming(&text(r#"{"i":"4","p":{}}"#), 99, handle);
        assert_eq!(
            call_result_of(Ok(handle), bodiless.as_ref()).map(|b| b.get().to_owned()),
            Ok("{}".to_owned())
        );
        let (_, missing) = decode_incoming(
            &text(r#"{"i":"4","p":{"s":404,"b":"No procedure matched"}}"#),
            99,
            handle,
        );
        let rejected = Error::Rejected {
            status: 404,
            body: Some(handle),
        };
        match call_result_of(Err(rejected), missing.as_ref()) {
            Err(Error::Rpc(error)) => {
                assert_eq!((error.code.as_str(), error.status), ("NOT_FOUND", 404))
            }
            other => panic!("{other:?}"),
        }
        match call_result_of(
            Err(Error::Rejected {
                status: 503,
                body: None,
            }),
            None,
        ) {
            Err(Error::Rpc(error)) => {
                assert_eq!(
                    (error.code.as_str(), error.status),
                    ("SERVICE_UNAVAILABLE", 503)
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            call_result_of(Err(Error::Aborted), None),
            Err(Error::Aborted)
        );
    }

    #[test]
    fn claims_come_from_the_payload() {
        let mut payload = TokenPayload::new("room", 10.0, 60.0);
        payload.tags = Some(vec!["t".into()]);
        payload.rpc = Some(vec!["m".into()]);
        payload.att = Some(json!({"user": 1}));
        let claims = TokenClaims::from(&payload);
        assert_eq!(
            claims,
            TokenClaims {
                chn: "room".into(),
                tags: Some(vec!["t".into()]),
                rpc: Some(vec!["m".into()]),
                iat: 10.0,
                exp: 70.0,
            }
        );
    }

    fn drain(codec: &mut CodecEngine) -> Vec<CodecOutput> {
        std::iter::from_fn(|| codec.poll_output()).collect()
    }

    fn sent(outputs: &[CodecOutput]) -> Vec<String> {
        outputs
            .iter()
            .filter_map(|output| match output {
                CodecOutput::Other(Output::Send { text, .. }) => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    fn token(chn: &str, iat: f64) -> (String, TokenPayload) {
        let mut payload = TokenPayload::new(chn, iat, 3600.0);
        payload.rpc = Some(vec!["m".into()]);
        payload.att = Some(json!({"user": chn}));
        (crate::token::sign_token(&payload, "k"), payload)
    }

    #[test]
    fn the_codec_engine_resolves_what_outputs_name() {
        let options = EngineOptions::default()
            .with_liveness(None)
            .with_refresh_before_expire(Some(std::time::Duration::from_secs(60)));
        let (first, first_payload) = token("room", 1_700_000_000.0);
        let now = Instant::ZERO;
        let mut codec =
            CodecEngine::new(options, "client".into(), 1, first.clone(), None, now).unwrap();
        let socket = match drain(&mut codec).as_slice() {
            [CodecOutput::Other(Output::State(_)), CodecOutput::OpenSocket {
                socket,
                token,
                payload,
            }] => {
                assert_eq!((token, payload), (&first, &first_payload));
                *socket
            }
            other => panic!("{other:?}"),
        };
        codec.handle_input(Input::SocketOpened { socket }, now);
        assert_eq!(
            sent(&drain(&mut codec)),
            [r#"{"i":"1","p":{"u":"/subscribe","b":{}}}"#]
        );
        let frame = |text: &str| Frame::Text(text.to_owned());
        codec.handle_frame(
            socket,
            &frame(r#"{"i":"1","p":{"h":{"content-type":"text/event-stream"}}}"#),
            now,
        );
        assert!(drain(&mut codec).is_empty());
        codec.handle_frame(
            socket,
            &frame(r#"{"i":"1","t":3,"p":{"e":"message","d":{"json":"hi"},"m":{"id":"4","comments":["c"]}}}"#),
            now,
        );
        match drain(&mut codec).as_slice() {
            [CodecOutput::Event(event)] => {
                assert_eq!(event.id.as_deref(), Some("4"));
                assert_eq!(event.data.get(), r#"{"json":"hi"}"#);
                assert_eq!(event.meta.comments, Some(vec!["c".to_owned()]));
            }
            other => panic!("{other:?}"),
        }
        // A message without data is `{}`.
        codec.handle_frame(
            socket,
            &frame(r#"{"i":"1","t":3,"p":{"e":"message"}}"#),
            now,
        );
        assert!(matches!(
            drain(&mut codec).as_slice(),
            [CodecOutput::Event(Event { id: None, data, .. })] if data.get() == "{}"
        ));

        // Calls: an answer's body, an error answer as the oRPC error it carries.
        let call = codec
            .call(CallRequest::with_input(["m"], None).unwrap(), now)
            .unwrap();
        assert_eq!(sent(&drain(&mut codec)).len(), 1);
        codec.handle_frame(socket, &frame(r#"{"i":"2","p":{"b":{"json":1}}}"#), now);
        match drain(&mut codec).as_slice() {
            [CodecOutput::CallSettled {
                call: c,
                result: Ok(body),
            }] => {
                assert_eq!((*c, body.get()), (call, r#"{"json":1}"#))
            }
            other => panic!("{other:?}"),
        }
        let call = codec
            .call(CallRequest::with_input(["m"], None).unwrap(), now)
            .unwrap();
        drain(&mut codec);
        let forbidden = OrpcError::forbidden("no").to_body_string();
        codec.handle_frame(
            socket,
            &frame(&format!(r#"{{"i":"3","p":{{"s":403,"b":{forbidden}}}}}"#)),
            now,
        );
        match drain(&mut codec).as_slice() {
            [CodecOutput::CallSettled {
                call: c,
                result: Err(Error::Rpc(error)),
            }] => {
                assert_eq!(*c, call);
                assert_eq!(
                    (error.code.as_str(), error.message.as_str()),
                    ("FORBIDDEN", "no")
                );
            }
            other => panic!("{other:?}"),
        }

        // Frames the decoder refuses are reported, the stream goes on.
        codec.handle_frame(socket, &frame("not json"), now);
        assert!(matches!(
            drain(&mut codec).as_slice(),
            [CodecOutput::Other(Output::FrameIgnored {
                reason: Error::MalformedMessage { .. }
            })]
        ));

        // Refresh: a token that does not parse fails; a good one arrives with its payload.
        let due = codec.poll_timeout().unwrap();
        codec.handle_timeout(due);
        assert!(drain(&mut codec)
            .iter()
            .any(|o| matches!(o, CodecOutput::Other(Output::RefreshToken))));
        codec.handle_refreshed(Ok("garbage".into()), due);
        match drain(&mut codec).as_slice() {
            [CodecOutput::Other(Output::RefreshFailed { reason, .. })] => {
                assert!(reason.starts_with("invalid token: "), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        let (fresh, fresh_payload) = token("room", 1_700_003_540.0);
        codec.handle_refreshed(Ok(fresh.clone()), due);
        let outputs = drain(&mut codec);
        assert!(outputs.iter().any(|o| matches!(o,
            CodecOutput::TokenUpdated { token, payload }
                if *token == fresh && *payload == fresh_payload)));
        assert_eq!(codec.token_payload(), &fresh_payload);
        assert_eq!(codec.engine().token(), fresh);
        // Same channel and tags: pushed on the open socket.
        assert!(sent(&outputs)[0].contains("/updateToken"));
    }
}
