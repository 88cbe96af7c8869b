//! What travels from a channel object to a socket task: event frames built once per event,
//! the subscription they belong to, and the "please end" signal.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

/// An active `/subscribe` stream: the request id its events are sent under.
#[derive(Debug)]
pub(crate) struct Subscription {
    request_id: String,
    /// `{"i":"<id>"`, JSON-escaped once, so a frame is two copies and no serialisation.
    prefix: String,
}

impl Subscription {
    pub fn new(request_id: &str) -> Self {
        let quoted = serde_json::to_string(request_id).unwrap_or_else(|_| "\"\"".to_owned());
        Subscription {
            request_id: request_id.to_owned(),
            prefix: format!("{{\"i\":{quoted}"),
        }
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The complete event frame for a tail made by [`event_tail`].
    pub fn frame(&self, tail: &str) -> String {
        let mut frame = String::with_capacity(self.prefix.len() + tail.len());
        frame.push_str(&self.prefix);
        frame.push_str(tail);
        frame
    }
}

/// Everything of an event frame after the request id: `,"t":3,"p":{...}}`. Built once per
/// event and shared by every recipient.
pub(crate) fn event_tail(data: &str, id: Option<u64>) -> Arc<str> {
    let mut tail = String::with_capacity(data.len() + 48);
    tail.push_str(",\"t\":3,\"p\":{\"e\":\"message\",\"d\":");
    tail.push_str(data);
    if let Some(id) = id {
        let _ = write!(tail, ",\"m\":{{\"id\":\"{id}\"}}");
    }
    tail.push_str("}}");
    tail.into()
}

/// What the object hands to a socket's task.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// One live event of subscription `sub`.
    Event {
        sub: Arc<Subscription>,
        tail: Arc<str>,
    },
    /// The replay for a new subscription: one queue slot, however many events.
    Replay {
        sub: Arc<Subscription>,
        tails: Vec<Arc<str>>,
    },
}

/// Why the object wants a connection to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kick {
    /// Its queue overflowed: close with 1013 so it resumes.
    TooSlow,
    /// Test endpoint: drop the TCP connection without a close frame.
    Drop,
    /// The server is stopping: close with 1001.
    Shutdown,
}

/// Lets the object wake a socket task that may be busy writing, and tracks the socket's
/// queued replay.
#[derive(Debug, Default)]
pub(crate) struct Control {
    notify: Notify,
    reason: Mutex<Option<Kick>>,
    /// A replay sits in the queue, not yet taken by the socket task.
    replay_queued: AtomicBool,
}

impl Control {
    /// Asks the socket to end; the first reason wins.
    pub fn kick(&self, kick: Kick) {
        let mut reason = self.reason.lock().unwrap_or_else(PoisonError::into_inner);
        if reason.is_none() {
            *reason = Some(kick);
        }
        drop(reason);
        self.notify.notify_one();
    }

    /// Marks a replay as queued; `false` when one already is. A replay is one queue slot
    /// however many events it holds, so without this one cheap request after another could
    /// pile up copies of the whole retention in memory before the task writes any of them.
    pub fn claim_replay(&self) -> bool {
        !self.replay_queued.swap(true, Ordering::AcqRel)
    }

    /// Whether a replay sits in the queue.
    pub fn replay_queued(&self) -> bool {
        self.replay_queued.load(Ordering::Acquire)
    }

    /// The socket task took the queued replay out of the queue (to write or to drop it).
    pub fn replay_taken(&self) {
        self.replay_queued.store(false, Ordering::Release);
    }

    /// Resolves once [`Control::kick`] was called.
    pub async fn kicked(&self) -> Kick {
        loop {
            if let Some(kick) = *self.reason.lock().unwrap_or_else(PoisonError::into_inner) {
                return kick;
            }
            self.notify.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_match_the_upstream_event_shape() {
        let sub = Subscription::new("1");
        let tail = event_tail(r#"{"json":{"message":"hi"}}"#, Some(2));
        assert_eq!(
            sub.frame(&tail),
            r#"{"i":"1","t":3,"p":{"e":"message","d":{"json":{"message":"hi"}},"m":{"id":"2"}}}"#
        );
        let odd = Subscription::new("a\"b");
        assert_eq!(
            odd.frame(&event_tail("{}", None)),
            r#"{"i":"a\"b","t":3,"p":{"e":"message","d":{}}}"#
        );
    }
}
