//! What travels on an open socket: the subscription, its events, call answers, probes.

use super::calls::{classify, Answer};
use super::engine::{Engine, Link, Subscription, CLOSE_NORMAL};
use super::events::{Event, Output, SocketId};
use super::time::Instant;
use crate::consts::{LAST_EVENT_ID_HEADER, PATH_LIVENESS_PROBE, PATH_SUBSCRIBE};
use crate::error::Error;
use crate::message::{
    ClientMessage, EventKind, EventPayload, Frame, RawJson, RequestPayload, ResponsePayload,
    ServerMessage,
};

/// The longest `retry` hint of the object the engine honours: a larger one (a bug, or a
/// hostile object) would otherwise stall every reconnect for as long as it says.
pub const MAX_SERVER_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

/// The longest event id the engine accepts, in bytes. The object's ids are decimal integers
/// and custom ids are short; the engine remembers thousands of delivered ids, so without a
/// bound a hostile object could make it hold thousands of huge ones.
pub const MAX_EVENT_ID_BYTES: usize = 1024;

fn empty_body() -> Option<RawJson> {
    RawJson::from_string("{}".to_owned()).ok()
}

impl Engine {
    /// Sends `/subscribe` from the resume cursor.
    pub(super) fn subscribe(&mut self) {
        let Some(body) = empty_body() else {
            return;
        };
        let last_event_id = self.cursor.begin_subscription();
        let signal = self.subscribed_before.then(|| match &last_event_id {
            Some(id) if self.cursor.can_resume() => Output::Resumed {
                last_event_id: id.clone(),
            },
            _ => Output::PossibleGap,
        });
        let mut payload = RequestPayload::post(PATH_SUBSCRIBE, body);
        if let Some(id) = last_event_id {
            payload.headers.set(LAST_EVENT_ID_HEADER, id);
        }
        let request = self.request_ids.next_id();
        if let Link::Open(open) = &mut self.link {
            open.subscription = Subscription::Requested {
                request: request.clone(),
                signal,
            };
        }
        self.send(&ClientMessage::Request {
            id: request,
            payload,
        });
    }

    /// Sends a request for a path that names no procedure; any frame that follows proves the
    /// socket alive.
    pub(super) fn send_probe(&mut self, now: Instant) {
        let Some(timeout) = self.options.liveness.as_ref().map(|l| l.timeout) else {
            return;
        };
        let Some(body) = empty_body() else {
            return;
        };
        let request = self.request_ids.next_id();
        if let Link::Open(open) = &mut self.link {
            open.probe_deadline = Some(now + timeout);
            open.probe_request = Some(request.clone());
        }
        self.send(&ClientMessage::Request {
            id: request,
            payload: RequestPayload::post(PATH_LIVENESS_PROBE, body),
        });
    }

    pub(super) fn on_frame(&mut self, socket: SocketId, frame: &Frame, now: Instant) {
        let Link::Open(open) = &mut self.link else {
            return;
        };
        if open.socket != socket {
            return;
        }
        open.last_received = now;
        open.probe_deadline = None;
        // A frame the engine cannot use is the object's bug; the socket itself is fine, and
        // closing it would only make the object send the same frame again after the resume.
        let size = match frame {
            Frame::Text(text) => text.len(),
            Frame::Binary(bytes) => bytes.len(),
        };
        let limit = self.options.max_frame_bytes;
        if size > limit {
            self.ignore(Error::FrameTooLarge { size, limit });
            return;
        }
        let message = match ServerMessage::decode(frame) {
            Ok(message) => message,
            Err(reason) => return self.ignore(reason),
        };
        match message {
            ServerMessage::Response { id, payload } => self.on_response(&id, &payload, now),
            ServerMessage::Event { id, payload } => self.on_stream_event(&id, payload, now),
            ServerMessage::Abort { id } => self.on_server_abort(&id, now),
        }
    }

    fn subscription_request(&self) -> Option<(&str, bool)> {
        match &self.link {
            Link::Open(open) => match &open.subscription {
                Subscription::Requested { request, .. } => Some((request, false)),
                Subscription::Streaming { request } => Some((request, true)),
                Subscription::RetryAt(_) => None,
            },
            _ => None,
        }
    }

    fn on_response(&mut self, id: &str, payload: &ResponsePayload, now: Instant) {
        if self.subscription_request() == Some((id, false)) {
            if payload.status < 400 && payload.is_event_stream() {
                self.on_stream_open(id);
            } else {
                self.subscription_failed(now);
            }
            return;
        }
        let is_update = matches!(
            &self.link,
            Link::Open(open) if open.update.as_ref().is_some_and(|(request, _)| request == id)
        );
        if is_update {
            self.on_update_answer((200..400).contains(&payload.status), now);
            return;
        }
        let Some(call) = self.calls.by_request(id) else {
            let probe = matches!(
                &self.link,
                Link::Open(open) if open.probe_request.as_deref() == Some(id)
            );
            if !probe {
                self.ignore_unknown("response", id);
            }
            return;
        };
        match classify(payload) {
            Answer::Ok(body) => {
                self.calls.succeed(call);
                self.push(Output::CallSettled {
                    call,
                    result: Ok(body),
                });
            }
            Answer::Failed { error, abort } => {
                if abort {
                    self.send(&ClientMessage::Abort { id: id.to_owned() });
                }
                self.call_attempt_failed(call, error, now);
            }
        }
    }

    fn call_attempt_failed(&mut self, call: super::calls::CallId, error: Error, now: Instant) {
        if let Some(error) = self.calls.fail_attempt(call, error, now) {
            self.push(Output::CallSettled {
                call,
                result: Err(error),
            });
        }
    }

    fn on_stream_open(&mut self, id: &str) {
        let Link::Open(open) = &mut self.link else {
            return;
        };
        let previous = std::mem::replace(
            &mut open.subscription,
            Subscription::Streaming {
                request: id.to_owned(),
            },
        );
        self.subscribed_before = true;
        if let Subscription::Requested {
            signal: Some(signal),
            ..
        } = previous
        {
            self.push(signal);
        }
    }

    fn on_stream_event(&mut self, id: &str, payload: EventPayload, now: Instant) {
        if self.subscription_request() != Some((id, true)) {
            return self.ignore_unknown("event", id);
        }
        if let Some(retry) = payload.meta.as_ref().and_then(|meta| meta.retry) {
            let retry = std::time::Duration::from_millis(retry);
            self.server_retry = Some(retry.min(MAX_SERVER_RETRY));
        }
        match payload.event {
            EventKind::Message => self.deliver(payload),
            EventKind::Error => self.subscription_failed(now),
            EventKind::Done => self.end(Ok(()), CLOSE_NORMAL, String::new()),
        }
    }

    /// Yields an event unless its id was delivered before; its id moves the resume cursor
    /// either way.
    fn deliver(&mut self, payload: EventPayload) {
        let meta = payload.meta.unwrap_or_default();
        if let Some(long) = meta.id.as_ref().filter(|id| id.len() > MAX_EVENT_ID_BYTES) {
            return self.ignore(Error::malformed(format!(
                "event id of {} bytes exceeds {MAX_EVENT_ID_BYTES}",
                long.len()
            )));
        }
        let id = meta.id.clone();
        self.cursor.observe(id.as_deref());
        if let Some(id) = &id {
            if !self.delivered.insert(id) {
                return;
            }
        }
        let Some(data) = payload.data.or_else(empty_body) else {
            return;
        };
        self.push(Output::Event(Event { id, data, meta }));
    }

    fn on_server_abort(&mut self, id: &str, now: Instant) {
        if self
            .subscription_request()
            .is_some_and(|(request, _)| request == id)
        {
            self.subscription_failed(now);
        } else if let Some(call) = self.calls.by_request(id) {
            let error = Error::UnexpectedResponse {
                reason: "the object aborted the call".to_owned(),
            };
            self.call_attempt_failed(call, error, now);
        } else {
            self.ignore_unknown("abort", id);
        }
    }

    /// Reports a dropped frame.
    fn ignore(&mut self, reason: Error) {
        self.push(Output::FrameIgnored { reason });
    }

    /// Reports a frame for a request id that is not in use (never sent, already settled, or
    /// a stream already replaced).
    fn ignore_unknown(&mut self, what: &str, id: &str) {
        // The id comes from the object: quote at most a few dozen characters of it.
        let mut quoted: String = id.chars().take(40).collect();
        if quoted.len() < id.len() {
            quoted.push_str("...");
        }
        self.ignore(Error::UnexpectedResponse {
            reason: format!("{what} for request id {quoted:?}, which is not in use"),
        });
    }

    /// The stream failed on a live socket: subscribe again after the backoff delay (at least
    /// the object's `retry`), resuming from the cursor.
    fn subscription_failed(&mut self, now: Instant) {
        self.attempt = self.attempt.saturating_add(1);
        let delay = self.retry_delay();
        if let Link::Open(open) = &mut self.link {
            open.subscription = Subscription::RetryAt(now + delay);
            open.healthy_since = now;
        }
    }
}
