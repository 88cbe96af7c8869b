//! RPC calls over `/call`: pending calls, per-call retries, how answers settle them.

use crate::prelude::*;
use core::time::Duration;

use super::incoming::Payload;
use super::time::Instant;
use super::wire;
use crate::consts::PATH_CALL;
use crate::error::Error;
use crate::ids::RequestIdGenerator;

/// The pause before each retry of a call when the caller names none (upstream's default).
pub const DEFAULT_RPC_RETRY_DELAY: Duration = Duration::from_secs(2);

/// Names one call for its whole life, across retries and reconnects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// An RPC call to an object method the token allows.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRequest {
    /// `[method, ...nested]`: `iterator.m.a.b(input)` is `["m", "a", "b"]`.
    pub path: Vec<String>,
    /// The whole `/call` body JSON, `{"json":{"path":[...],"input":...},"meta":[...]}`
    /// (`encode_call_body` writes it from a rich-JSON input); sent as it is.
    pub body: String,
    /// Extra attempts after a failure (an error answer or a lost socket). Default 0 (as
    /// upstream's `context.retry`).
    pub retries: u32,
    /// Pause before each extra attempt. Default 2 s (as upstream).
    pub retry_delay: Duration,
}

impl CallRequest {
    /// A call of `path` with an encoded `/call` body, no retries.
    pub fn new<S: Into<String>>(path: impl IntoIterator<Item = S>, body: String) -> Self {
        CallRequest {
            path: path.into_iter().map(Into::into).collect(),
            body,
            retries: 0,
            retry_delay: DEFAULT_RPC_RETRY_DELAY,
        }
    }

    /// Sets the retry count and the pause before each retry.
    pub fn with_retries(mut self, retries: u32, retry_delay: Duration) -> Self {
        self.retries = retries;
        self.retry_delay = retry_delay;
        self
    }
}

/// What became of one answer to a call.
pub enum Answer {
    /// The call succeeded; the answer is this message.
    Ok(Payload),
    /// The call failed; `abort` is set when the object opened a stream that must be stopped.
    Failed { error: Error, abort: bool },
}

/// Sorts an answer (a response's status and whether it opens a stream) into success or failure.
pub fn classify(status: u16, event_stream: bool, has_body: bool, payload: Payload) -> Answer {
    if !(200..400).contains(&status) {
        return Answer::Failed {
            error: Error::Rejected {
                status,
                body: has_body.then_some(payload),
            },
            abort: false,
        };
    }
    if event_stream {
        return Answer::Failed {
            error: Error::UnexpectedResponse {
                reason: "a call answered with a stream (text/event-stream), which is not supported"
                    .to_owned(),
            },
            abort: true,
        };
    }
    Answer::Ok(payload)
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
    body: String,
    retries_left: u32,
    retry_delay: Duration,
    state: CallState,
}

impl PendingCall {
    /// One attempt failed: schedules a retry; `false` when none is left.
    fn retry(&mut self, now: Instant) -> bool {
        if self.retries_left == 0 {
            return false;
        }
        self.retries_left -= 1;
        self.state = CallState::RetryAt(now + self.retry_delay);
        true
    }
}

/// The calls not yet settled, oldest first. A handful at a time: a vector is enough, and a
/// map would cost the wasm module several kilobytes of code.
#[derive(Debug, Default)]
pub struct Calls {
    pending: Vec<(CallId, PendingCall)>,
    next_id: u64,
}

impl Calls {
    /// Registers an encoded call; it goes out with the next [`Calls::send_queued`].
    pub fn add(&mut self, body: String, retries: u32, retry_delay: Duration) -> CallId {
        self.next_id += 1;
        let id = CallId(self.next_id);
        self.pending.push((
            id,
            PendingCall {
                body,
                retries_left: retries,
                retry_delay,
                state: CallState::Queued,
            },
        ));
        id
    }

    /// Hands `send` the frame of every queued call, now marked in flight (a callback, not a
    /// vector of frames: one allocation and loop less per flush).
    pub fn send_queued(&mut self, ids: &mut RequestIdGenerator, mut send: impl FnMut(String)) {
        for (_, call) in &mut self.pending {
            if matches!(call.state, CallState::Queued) {
                let id = ids.next_id();
                send(wire::request(&id, PATH_CALL, &call.body, None));
                call.state = CallState::InFlight(id);
            }
        }
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
        self.take(id).is_some()
    }

    /// One attempt failed: schedule a retry, or give the error back when none is left.
    pub fn fail_attempt(&mut self, id: CallId, error: Error, now: Instant) -> Option<Error> {
        let (_, call) = self.pending.iter_mut().find(|(call, _)| *call == id)?;
        if call.retry(now) {
            None
        } else {
            self.take(id);
            Some(error)
        }
    }

    /// The socket is gone: every call in flight failed this attempt. Hands `failed`, in
    /// order, the calls with no retry left (now forgotten); the caller builds their error, so
    /// no error is cloned per call.
    pub fn socket_lost(&mut self, now: Instant, mut failed: impl FnMut(CallId)) {
        // By index with `take_at`, not `retain_mut`: the same removal as `take`, no second
        // one in the wasm module.
        let mut at = 0;
        while let Some((id, call)) = self.pending.get_mut(at) {
            if matches!(call.state, CallState::InFlight(_)) && !call.retry(now) {
                let id = *id;
                self.take_at(at);
                failed(id);
                continue;
            }
            at += 1;
        }
    }

    /// Moves calls whose retry time has come back to the queue.
    pub fn requeue_due(&mut self, now: Instant) {
        for (_, call) in &mut self.pending {
            if matches!(call.state, CallState::RetryAt(at) if at <= now) {
                call.state = CallState::Queued;
            }
        }
    }

    /// The earliest retry time.
    pub fn next_retry(&self) -> Option<Instant> {
        self.pending
            .iter()
            .filter_map(|(_, call)| match call.state {
                CallState::RetryAt(at) => Some(at),
                _ => None,
            })
            .min()
    }

    /// Removes a call, keeping the others in order.
    fn take(&mut self, id: CallId) -> Option<PendingCall> {
        let at = self.pending.iter().position(|(call, _)| *call == id)?;
        self.take_at(at)
    }

    /// Removes the call at `at` (an index in use), keeping the others in order. Moved to the
    /// end by swaps of neighbours and popped: `Vec::remove` would link its index assertion
    /// and panic message.
    fn take_at(&mut self, mut at: usize) -> Option<PendingCall> {
        if at >= self.pending.len() {
            return None;
        }
        while let Some([call, next]) = self.pending.get_mut(at..at + 2) {
            core::mem::swap(call, next);
            at += 1;
        }
        self.pending.pop().map(|(_, call)| call)
    }

    /// Forgets a call; `Some(Some(request))` when it was in flight and the object should be told.
    pub fn remove(&mut self, id: CallId) -> Option<Option<String>> {
        self.take(id).map(|call| match call.state {
            CallState::InFlight(request) => Some(request),
            _ => None,
        })
    }

    /// Forgets every call, yielding their ids (an iterator: collecting them into a new
    /// vector links std's in-place collection for this one use).
    pub fn drain(&mut self) -> impl Iterator<Item = CallId> {
        core::mem::take(&mut self.pending)
            .into_iter()
            .map(|(id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_sort_by_status_and_stream() {
        let handle = Payload(3);
        assert!(matches!(
            classify(200, false, true, handle),
            Answer::Ok(Payload(3))
        ));
        assert!(matches!(
            classify(204, false, false, handle),
            Answer::Ok(Payload(3))
        ));
        for (status, has_body, body) in [
            (404, true, Some(handle)),
            (500, false, None),
            (101, true, Some(handle)),
        ] {
            match classify(status, false, has_body, handle) {
                Answer::Failed {
                    error: Error::Rejected { status: s, body: b },
                    abort: false,
                } => assert_eq!((s, b), (status, body)),
                _ => panic!("{status} must be rejected"),
            }
        }
        assert!(matches!(
            classify(200, true, false, handle),
            Answer::Failed {
                error: Error::UnexpectedResponse { .. },
                abort: true
            }
        ));
    }

    #[test]
    fn queued_calls_go_out_once_with_fresh_ids() {
        let mut calls = Calls::default();
        let body = r#"{"json":{"path":["m"],"input":null},"meta":[[3,"input"]]}"#;
        let call = calls.add(body.to_owned(), 1, Duration::from_secs(1));
        let mut ids = RequestIdGenerator::new();
        let mut sent = Vec::new();
        calls.send_queued(&mut ids, |text| sent.push(text));
        assert_eq!(
            sent,
            vec![format!(r#"{{"i":"1","p":{{"u":"/call","b":{body}}}}}"#)]
        );
        calls.send_queued(&mut ids, |_| panic!("sent twice"));
        assert_eq!(calls.by_request("1"), Some(call));
    }
}
