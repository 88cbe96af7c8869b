//! RPC calls over `/call`: request encoding, pending calls, per-call retries.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::time::Instant;
use crate::consts::{CONTENT_TYPE_HEADER, PATH_CALL};
use crate::error::{Error, Result};
use crate::ids::RequestIdGenerator;
use crate::message::{ClientMessage, RawJson, RequestPayload, ResponsePayload};
use crate::orpc_error::{OrpcError, COMMON_CODES};
use crate::rich_json::{MetaEntry, MetaType, PathSegment, RichBody};

/// Names one call for its whole life, across retries and reconnects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// An RPC call to an object method the token allows.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRequest {
    /// `[method, ...nested]`: `iterator.m.a.b(input)` is `["m", "a", "b"]`.
    pub path: Vec<String>,
    /// The input as a rich-JSON body; `None` is "no input" (`undefined`).
    pub input: Option<RichBody>,
    /// Extra attempts after a failure (an error answer or a lost socket). Default 0 (as
    /// upstream's `context.retry`).
    pub retries: u32,
    /// Pause before each extra attempt. Default 2 s (as upstream).
    pub retry_delay: Duration,
}

impl CallRequest {
    /// A call of `path` with `input`, no retries.
    pub fn new<S: Into<String>>(
        path: impl IntoIterator<Item = S>,
        input: Option<RichBody>,
    ) -> Self {
        CallRequest {
            path: path.into_iter().map(Into::into).collect(),
            input,
            retries: 0,
            retry_delay: Duration::from_secs(2),
        }
    }

    /// Sets the retry count and the pause before each retry.
    pub fn with_retries(mut self, retries: u32, retry_delay: Duration) -> Self {
        self.retries = retries;
        self.retry_delay = retry_delay;
        self
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

/// What became of one answer to a call.
pub enum Answer {
    /// The call succeeded with this body.
    Ok(RawJson),
    /// The call failed; `abort` is set when the object opened a stream that must be stopped.
    Failed { error: Error, abort: bool },
}

/// Sorts an answer into success or failure.
pub fn classify(payload: &ResponsePayload) -> Answer {
    if payload.status >= 400 || payload.status < 200 {
        return Answer::Failed {
            error: Error::Rpc(Box::new(error_from_response(payload))),
            abort: false,
        };
    }
    if payload.is_event_stream() {
        let kind = payload.headers.get(CONTENT_TYPE_HEADER).unwrap_or_default();
        return Answer::Failed {
            error: Error::UnexpectedResponse {
                reason: format!("a call answered with a stream ({kind}), which is not supported"),
            },
            abort: true,
        };
    }
    let body = payload
        .body
        .clone()
        .or_else(|| RawJson::from_string("{}".to_owned()).ok());
    match body {
        Some(body) => Answer::Ok(body),
        None => Answer::Failed {
            error: Error::malformed("empty answer"),
            abort: false,
        },
    }
}

#[derive(Debug)]
enum CallState {
    /// Waiting for an open socket.
    Queued,
    /// Sent on the current socket with this request id.
    InFlight(String),
    /// Failed; tries again at this instant.
    RetryAt(Instant),
}

#[derive(Debug)]
struct PendingCall {
    body: RawJson,
    retries_left: u32,
    retry_delay: Duration,
    state: CallState,
}

/// The calls not yet settled.
#[derive(Debug, Default)]
pub struct Calls {
    pending: BTreeMap<CallId, PendingCall>,
    next_id: u64,
}

impl Calls {
    /// Registers an encoded call; it goes out with the next [`Calls::send_queued`].
    pub fn add(&mut self, body: RawJson, retries: u32, retry_delay: Duration) -> CallId {
        self.next_id += 1;
        let id = CallId(self.next_id);
        self.pending.insert(
            id,
            PendingCall {
                body,
                retries_left: retries,
                retry_delay,
                state: CallState::Queued,
            },
        );
        id
    }

    /// Requests for every queued call, now marked in flight.
    pub fn send_queued(&mut self, ids: &mut RequestIdGenerator) -> Vec<ClientMessage> {
        let mut out = Vec::new();
        for call in self.pending.values_mut() {
            if matches!(call.state, CallState::Queued) {
                let id = ids.next_id();
                call.state = CallState::InFlight(id.clone());
                out.push(ClientMessage::Request {
                    id,
                    payload: RequestPayload::post(PATH_CALL, call.body.clone()),
                });
            }
        }
        out
    }

    /// The call a request id belongs to, if it is in flight.
    pub fn by_request(&self, request: &str) -> Option<CallId> {
        self.pending
            .iter()
            .find_map(|(id, call)| match &call.state {
                CallState::InFlight(sent) if sent == request => Some(*id),
                _ => None,
            })
    }

    /// Settles a call as succeeded.
    pub fn succeed(&mut self, id: CallId) -> bool {
        self.pending.remove(&id).is_some()
    }

    /// One attempt failed: schedule a retry, or give the error back when none is left.
    pub fn fail_attempt(&mut self, id: CallId, error: Error, now: Instant) -> Option<Error> {
        let call = self.pending.get_mut(&id)?;
        if call.retries_left > 0 {
            call.retries_left -= 1;
            call.state = CallState::RetryAt(now + call.retry_delay);
            None
        } else {
            self.pending.remove(&id);
            Some(error)
        }
    }

    /// The socket is gone: every call in flight failed this attempt.
    pub fn socket_lost(&mut self, error: &Error, now: Instant) -> Vec<(CallId, Error)> {
        let in_flight: Vec<CallId> = self
            .pending
            .iter()
            .filter(|(_, call)| matches!(call.state, CallState::InFlight(_)))
            .map(|(id, _)| *id)
            .collect();
        in_flight
            .into_iter()
            .filter_map(|id| {
                self.fail_attempt(id, error.clone(), now)
                    .map(|error| (id, error))
            })
            .collect()
    }

    /// Moves calls whose retry time has come back to the queue.
    pub fn requeue_due(&mut self, now: Instant) {
        for call in self.pending.values_mut() {
            if matches!(call.state, CallState::RetryAt(at) if at <= now) {
                call.state = CallState::Queued;
            }
        }
    }

    /// The earliest retry time.
    pub fn next_retry(&self) -> Option<Instant> {
        self.pending
            .values()
            .filter_map(|call| match call.state {
                CallState::RetryAt(at) => Some(at),
                _ => None,
            })
            .min()
    }

    /// Whether any call waits for a socket.
    pub fn has_queued(&self) -> bool {
        self.pending
            .values()
            .any(|call| matches!(call.state, CallState::Queued))
    }

    /// Forgets a call; `Some(Some(request))` when it was in flight and the object should be told.
    pub fn remove(&mut self, id: CallId) -> Option<Option<String>> {
        self.pending.remove(&id).map(|call| match call.state {
            CallState::InFlight(request) => Some(request),
            _ => None,
        })
    }

    /// Forgets every call, returning their ids.
    pub fn drain(&mut self) -> Vec<CallId> {
        std::mem::take(&mut self.pending).into_keys().collect()
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
}
