//! What travels on an open socket: the subscription, its events, call answers, probes.

use super::calls::{classify, Answer};
use super::engine::{Engine, Link, Subscription, CLOSE_NORMAL};
use super::events::{Output, SocketId};
use super::incoming::{EventKind, Incoming, Payload};
use super::order::{Arrival, BARRIER_TIMEOUT};
use super::time::Instant;
use super::wire;
use crate::consts::{PATH_LIVENESS_PROBE, PATH_SUBSCRIBE};
use crate::error::Error;
use crate::prelude::*;

/// The longest `retry` hint of the object the engine honours: a larger one (a bug, or a
/// hostile object) would otherwise stall every reconnect for as long as it says.
pub const MAX_SERVER_RETRY: core::time::Duration = core::time::Duration::from_secs(60);

/// The longest event id the engine accepts, in bytes. The object's ids are decimal integers
/// and custom ids are short; the engine remembers thousands of delivered ids, so without a
/// bound a hostile object could make it hold thousands of huge ones.
pub const MAX_EVENT_ID_BYTES: usize = 1024;

/// How many expiry probes' request ids are remembered, so that their answers (404) are not
/// reported as frames for unknown requests; older answers are long overdue.
pub(super) const EXPIRY_PROBES_KEPT: usize = 8;

/// The body of `/subscribe` and of the liveness probe.
const EMPTY_BODY: &str = "{}";

impl Engine {
    /// Sends `/subscribe` from the resume cursor.
    pub(super) fn subscribe(&mut self) {
        self.cursor.begin();
        if !self.order.begin(self.cursor.last_event_id()) {
            // This subscription cannot bring lower ids than what an earlier one left held.
            self.release_held(false);
        }
        let last_event_id = self.cursor.last_event_id();
        let signal = self.subscribed_before.then(|| match last_event_id {
            Some(id) if self.cursor.can_resume() => Output::Resumed {
                last_event_id: id.to_owned(),
            },
            _ => Output::PossibleGap,
        });
        let request = self.request_ids.next_id();
        let text = wire::request(&request, PATH_SUBSCRIBE, EMPTY_BODY, last_event_id);
        if let Link::Open(open) = &mut self.link {
            open.subscription = Subscription::Requested { request, signal };
        }
        self.send(text);
    }

    /// Sends a request for a path that names no procedure; any frame that follows proves the
    /// socket alive.
    pub(super) fn send_probe(&mut self, now: Instant) {
        let Some(timeout) = self.options.liveness.as_ref().map(|l| l.timeout) else {
            return;
        };
        let request = self.request_ids.next_id();
        let text = wire::request(&request, PATH_LIVENESS_PROBE, EMPTY_BODY, None);
        if let Link::Open(open) = &mut self.link {
            open.probe_deadline = Some(now + timeout);
            open.probe_request = Some(request);
        }
        self.send(text);
    }

    /// Sends the barrier that tells when the replay asked for is complete (see `order`).
    fn send_barrier(&mut self, now: Instant) {
        let request = self.request_ids.next_id();
        let text = wire::request(&request, PATH_LIVENESS_PROBE, EMPTY_BODY, None);
        if let Link::Open(open) = &mut self.link {
            open.barrier = Some((request, now + BARRIER_TIMEOUT));
        }
        self.send(text);
    }

    /// The replay is complete (the barrier was answered), or the engine gave up waiting for
    /// it: yield what is held, in order.
    pub(super) fn barrier_done(&mut self) {
        if let Link::Open(open) = &mut self.link {
            open.barrier = None;
        }
        self.release_held(false);
    }

    /// Yields the held events in order; ordering goes on if `keep_ordering`.
    pub(super) fn release_held(&mut self, keep_ordering: bool) {
        for held in self.order.release(keep_ordering) {
            self.push(Output::Event {
                id: held.id,
                payload: held.payload,
            });
        }
    }

    /// Sends a probe that makes the object check the token (it closes with 1008 after `exp`);
    /// its 404 answer is expected. Leaves the liveness deadline as it is.
    pub(super) fn send_expiry_probe(&mut self) {
        let request = self.request_ids.next_id();
        let text = wire::request(&request, PATH_LIVENESS_PROBE, EMPTY_BODY, None);
        if let Link::Open(open) = &mut self.link {
            let place = open.expiry_probes_sent % EXPIRY_PROBES_KEPT;
            open.expiry_probes_sent = open.expiry_probes_sent.wrapping_add(1);
            match open.expiry_probes.get_mut(place) {
                Some(oldest) => *oldest = request,
                None => open.expiry_probes.push(request),
            }
        }
        self.send(text);
    }

    pub(super) fn on_message(
        &mut self,
        socket: SocketId,
        message: Result<Incoming, Error>,
        now: Instant,
    ) {
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
        let message = match message {
            Ok(message) => message,
            Err(reason) => return self.ignore(reason),
        };
        match message {
            Incoming::Response {
                ref id,
                status,
                event_stream,
                has_body,
                payload,
            } => self.on_response(id, status, event_stream, has_body, payload, now),
            Incoming::Event {
                id,
                kind,
                event_id,
                retry_ms,
                data,
            } => self.on_stream_event(&id, kind, event_id, retry_ms, data, now),
            Incoming::Abort { ref id } => self.on_server_abort(id, now),
        }
    }

    /// Whether `id` is the subscription's request: `Some(true)` once its stream is open.
    fn subscription_request(&self, id: &str) -> Option<bool> {
        let (request, streaming) = match &self.link {
            Link::Open(open) => match &open.subscription {
                Subscription::Requested { request, .. } => (request, false),
                Subscription::Streaming { request } => (request, true),
                Subscription::RetryAt(_) => return None,
            },
            _ => return None,
        };
        (request == id).then_some(streaming)
    }

    fn on_response(
        &mut self,
        id: &str,
        status: u16,
        event_stream: bool,
        has_body: bool,
        payload: Payload,
        now: Instant,
    ) {
        if self.subscription_request(id) == Some(false) {
            if status < 400 && event_stream {
                self.on_stream_open(id, now);
            } else {
                self.subscription_failed(now);
            }
            return;
        }
        let is_barrier = matches!(
            &self.link,
            Link::Open(open) if open.barrier.as_ref().is_some_and(|(request, _)| request == id)
        );
        if is_barrier {
            return self.barrier_done();
        }
        let is_update = matches!(
            &self.link,
            Link::Open(open) if open.update.as_ref().is_some_and(|request| request == id)
        );
        if is_update {
            self.on_update_answer((200..400).contains(&status), now);
            return;
        }
        let Some(call) = self.calls.by_request(id) else {
            let probe = matches!(
                &self.link,
                Link::Open(open) if open.probe_request.as_ref().is_some_and(|probe| probe == id)
                    || open.expiry_probes.iter().any(|probe| probe == id)
            );
            if !probe {
                self.ignore_unknown("response", id);
            }
            return;
        };
        // Sorted only now: only a call's answer can be a failure to report.
        match classify(status, event_stream, has_body, payload) {
            Answer::Ok(payload) => {
                self.calls.succeed(call);
                self.push(Output::CallSettled {
                    call,
                    result: Ok(payload),
                });
            }
            Answer::Failed { error, abort } => {
                if abort {
                    self.send(wire::abort(id));
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

    fn on_stream_open(&mut self, id: &str, now: Instant) {
        let Link::Open(open) = &mut self.link else {
            return;
        };
        let previous = core::mem::replace(
            &mut open.subscription,
            Subscription::Streaming {
                request: id.to_owned(),
            },
        );
        self.subscribed_before = true;
        if self.order.is_ordering() {
            self.send_barrier(now);
        }
        if let Subscription::Requested {
            signal: Some(signal),
            ..
        } = previous
        {
            self.push(signal);
        }
    }

    fn on_stream_event(
        &mut self,
        id: &str,
        kind: EventKind,
        event_id: Option<String>,
        retry_ms: Option<u64>,
        data: Payload,
        now: Instant,
    ) {
        if self.subscription_request(id) != Some(true) {
            return self.ignore_unknown("event", id);
        }
        if let Some(retry) = retry_ms {
            let retry = core::time::Duration::from_millis(retry);
            self.server_retry = Some(retry.min(MAX_SERVER_RETRY));
        }
        match kind {
            EventKind::Message => self.deliver(event_id, data),
            EventKind::Error => self.subscription_failed(now),
            EventKind::Done => self.end(Ok(()), CLOSE_NORMAL, String::new()),
        }
    }

    /// Yields an event unless its id was delivered before; its id moves the resume cursor
    /// either way.
    fn deliver(&mut self, id: Option<String>, payload: Payload) {
        if let Some(long) = id.as_ref().filter(|id| id.len() > MAX_EVENT_ID_BYTES) {
            let mut reason = String::from("event id of ");
            wire::push_decimal(&mut reason, long.len() as u64);
            reason.push_str(" bytes exceeds ");
            wire::push_decimal(&mut reason, MAX_EVENT_ID_BYTES as u64);
            return self.ignore(Error::malformed(reason));
        }
        self.cursor.observe(id.as_deref());
        if let Some(id) = &id {
            if !self.delivered.insert(id) {
                return;
            }
        }
        if let Link::Open(open) = &mut self.link {
            open.delivered = true;
        }
        match self.order.arrive(id, payload) {
            Arrival::Yield(id, payload) => self.push(Output::Event { id, payload }),
            Arrival::Held(payload) => self.push(Output::Keep { payload }),
            Arrival::Full(payload) => {
                self.push(Output::Keep { payload });
                self.release_held(true);
            }
        }
    }

    fn on_server_abort(&mut self, id: &str, now: Instant) {
        if self.subscription_request(id).is_some() {
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
        // The id comes from the object: quote at most 40 characters of it. Counted on the
        // bytes (a byte that is not a continuation starts a character): decoding them would
        // add core's character iterator to the wasm module for this one message.
        let mut chars = 0;
        let mut end = 0;
        while let Some(byte) = id.as_bytes().get(end) {
            if byte & 0xc0 != 0x80 {
                if chars == 40 {
                    break;
                }
                chars += 1;
            }
            end += 1;
        }
        // SAFETY: `end` is the id's length or the index of a byte that starts a character.
        let shown = unsafe { id.get_unchecked(..end) };
        let mut reason = String::from(what);
        reason.push_str(" for request id ");
        wire::push_json_string(&mut reason, shown);
        if shown.len() < id.len() {
            // The closing quote goes after the ellipsis. Taken off as a byte: `String::pop`
            // decodes a character.
            // SAFETY: the last byte is the ASCII quote push_json_string closed with.
            unsafe { reason.as_mut_vec().pop() };
            reason.push_str("...\"");
        }
        reason.push_str(", which is not in use");
        self.ignore(Error::UnexpectedResponse { reason });
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
