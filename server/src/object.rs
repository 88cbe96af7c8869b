//! The channel object: one per `chn`, the equivalent of upstream's `DurableIteratorObject`.
//!
//! All state of a channel sits behind one lock, and every operation that orders events takes
//! it: publish (assign ids, store, fan out) and subscribe (mark subscribed, read the replay,
//! queue it). So a subscribe that races with publishes sees every event exactly once: an event
//! is either in the replay (stored before the subscribe took the lock) or in the live tail
//! (published after), never both, never neither.
//!
//! Fan-out never waits: each socket has a bounded queue, and a socket whose queue is full is
//! unsubscribed and told to close (code 1013) so it reconnects and resumes from its last id.
//! One slow client therefore costs the others nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use durable_iterator_protocol::TokenPayload;
use serde_json::Value;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::filter::EventFilter;
use crate::publish::{PublishOptions, PublishReceipt, Recipients, SocketInfo, SocketView};
use crate::queue::{event_tail, Control, Kick, Outgoing, Subscription};
use crate::resume::{NewEvent, ResumeStore};

/// A connection as the object sees it.
pub(crate) struct SocketEntry {
    pub client_id: Arc<str>,
    pub tags: Option<Vec<String>>,
    pub att: Option<Value>,
    pub exp: f64,
    pub subscription: Option<Arc<Subscription>>,
    pub tx: mpsc::Sender<Outgoing>,
    pub control: Arc<Control>,
}

impl SocketEntry {
    fn view(&self, conn: u64) -> SocketView<'_> {
        SocketView {
            conn,
            client_id: &self.client_id,
            tags: self.tags.as_deref(),
            att: self.att.as_ref(),
        }
    }

    /// Queues `item`; a full queue unsubscribes the socket and asks it to close.
    fn offer(&mut self, item: Outgoing) -> Offer {
        match self.tx.try_send(item) {
            Ok(()) => Offer::Queued,
            Err(TrySendError::Full(_)) => {
                self.subscription = None;
                self.control.kick(Kick::TooSlow);
                Offer::Overflowed
            }
            Err(TrySendError::Closed(_)) => {
                self.subscription = None;
                Offer::Gone
            }
        }
    }
}

enum Offer {
    Queued,
    Overflowed,
    Gone,
}

struct ChannelState {
    /// The last id handed out (resume on only).
    last_id: u64,
    sockets: BTreeMap<u64, SocketEntry>,
}

/// One channel's object.
pub(crate) struct Channel {
    name: String,
    state: Mutex<ChannelState>,
    store: Option<Arc<ResumeStore>>,
}

impl Channel {
    pub fn new(name: &str, store: Option<Arc<ResumeStore>>) -> Self {
        let last_id = match &store {
            Some(store) => store.last_id(name).unwrap_or_else(|e| {
                tracing::error!(channel = name, error = %e, "cannot read the last event id");
                0
            }),
            None => 0,
        };
        Channel {
            name: name.to_owned(),
            state: Mutex::new(ChannelState {
                last_id,
                sockets: BTreeMap::new(),
            }),
            store,
        }
    }

    fn lock(&self) -> MutexGuard<'_, ChannelState> {
        // Nothing under this lock leaves the state half-updated on panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn register(&self, conn: u64, entry: SocketEntry) {
        self.lock().sockets.insert(conn, entry);
    }

    pub fn remove(&self, conn: u64) {
        self.lock().sockets.remove(&conn);
    }

    /// `/updateToken` succeeded: the socket now lives by the new payload (same chn and tags).
    pub fn update_token(&self, conn: u64, payload: &TokenPayload) {
        if let Some(entry) = self.lock().sockets.get_mut(&conn) {
            entry.exp = payload.exp;
            entry.att.clone_from(&payload.att);
        }
    }

    /// Makes `sub` the socket's stream and queues the replay of events after `last_event_id`
    /// that the socket may see, atomically with respect to publishes.
    pub fn subscribe(
        &self,
        conn: u64,
        sub: Arc<Subscription>,
        last_event_id: Option<&str>,
        now_ms: i64,
    ) {
        let mut state = self.lock();
        let Some(entry) = state.sockets.get_mut(&conn) else {
            return;
        };
        entry.subscription = Some(Arc::clone(&sub));
        let (Some(store), Some(after)) = (&self.store, last_event_id.and_then(replay_after)) else {
            return;
        };
        let stored = match store.events_after(&self.name, after, now_ms) {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(channel = %self.name, error = %e, "cannot read events to replay");
                return;
            }
        };
        let tails: Vec<Arc<str>> = stored
            .iter()
            .filter(|event| event.filter.admits(&entry.client_id, entry.tags.as_deref()))
            .map(|event| event_tail(&event.data, Some(event.id)))
            .collect();
        if tails.is_empty() {
            return;
        }
        if !entry.control.claim_replay() {
            // A second replay before the first was even taken: the client asks faster than it
            // reads. Close it (1013) rather than hold another copy; it may resume later.
            entry.subscription = None;
            entry.control.kick(Kick::TooSlow);
            return;
        }
        entry.offer(Outgoing::Replay { sub, tails });
    }

    /// An abort for `request_id` ends the stream if it is the socket's current one.
    pub fn unsubscribe(&self, conn: u64, request_id: &str) {
        if let Some(entry) = self.lock().sockets.get_mut(&conn) {
            if entry
                .subscription
                .as_ref()
                .is_some_and(|sub| sub.request_id() == request_id)
            {
                entry.subscription = None;
            }
        }
    }

    /// Publishes `payloads` (rich-JSON body texts) in order, all under `options`.
    pub fn publish(
        &self,
        payloads: &[String],
        options: &PublishOptions,
        now_ms: i64,
    ) -> PublishReceipt {
        let mut state = self.lock();
        let filter = resolve_filter(&state.sockets, options);
        let mut receipt = PublishReceipt::default();

        let ids: Vec<Option<u64>> = match &self.store {
            Some(store) => {
                let first = state.last_id + 1;
                state.last_id += payloads.len() as u64;
                receipt.first_id = (!payloads.is_empty()).then_some(first);
                receipt.last_id = (!payloads.is_empty()).then_some(state.last_id);
                let events: Vec<NewEvent<'_>> = payloads
                    .iter()
                    .zip(first..)
                    .map(|(data, id)| NewEvent {
                        id,
                        data,
                        filter: &filter,
                    })
                    .collect();
                if let Err(e) = store.insert(&self.name, &events, now_ms) {
                    // Live delivery still happens; only resume loses these events.
                    tracing::error!(channel = %self.name, error = %e, "cannot store events");
                }
                (first..=state.last_id).map(Some).collect()
            }
            None => vec![None; payloads.len()],
        };
        let tails: Vec<Arc<str>> = payloads
            .iter()
            .zip(ids)
            .map(|(data, id)| event_tail(data, id))
            .collect();

        for entry in state.sockets.values_mut() {
            let Some(sub) = entry.subscription.clone() else {
                continue; // not subscribed yet: it will get stored events by replay
            };
            if !filter.admits(&entry.client_id, entry.tags.as_deref()) {
                continue;
            }
            for tail in &tails {
                let item = Outgoing::Event {
                    sub: Arc::clone(&sub),
                    tail: Arc::clone(tail),
                };
                match entry.offer(item) {
                    Offer::Queued => receipt.deliveries += 1,
                    Offer::Overflowed => {
                        receipt.overflowed += 1;
                        break;
                    }
                    Offer::Gone => break,
                }
            }
        }
        receipt
    }

    /// Snapshot of the sockets, in connection order.
    pub fn sockets(&self) -> Vec<SocketInfo> {
        self.lock()
            .sockets
            .iter()
            .map(|(conn, entry)| SocketInfo {
                conn: *conn,
                client_id: entry.client_id.to_string(),
                tags: entry.tags.clone(),
                att: entry.att.clone(),
                exp: entry.exp,
                subscribed: entry.subscription.is_some(),
                queued: entry.tx.max_capacity() - entry.tx.capacity(),
            })
            .collect()
    }

    pub fn socket_count(&self) -> usize {
        self.lock().sockets.len()
    }

    /// Asks every socket to end; returns how many were asked.
    pub fn kick_all(&self, kick: Kick) -> usize {
        self.kick_where(kick, |_| true)
    }

    /// Kicks the sockets of one client id; returns how many.
    pub fn kick_client(&self, kick: Kick, client_id: &str) -> usize {
        self.kick_where(kick, |entry| &*entry.client_id == client_id)
    }

    fn kick_where(&self, kick: Kick, selected: impl Fn(&SocketEntry) -> bool) -> usize {
        let state = self.lock();
        let mut kicked = 0;
        for entry in state.sockets.values().filter(|entry| selected(entry)) {
            entry.control.kick(kick);
            kicked += 1;
        }
        kicked
    }

    /// The fullest queue among subscribed sockets, in events (paced publishers wait on it).
    pub fn max_queued(&self) -> usize {
        self.lock()
            .sockets
            .values()
            .filter(|entry| entry.subscription.is_some())
            .map(|entry| entry.tx.max_capacity() - entry.tx.capacity())
            .max()
            .unwrap_or(0)
    }
}

/// Turns publish options into the stored rule: predicates become the client ids they match
/// now, evaluated over the sockets that pass the tag filter (as upstream does).
fn resolve_filter(sockets: &BTreeMap<u64, SocketEntry>, options: &PublishOptions) -> EventFilter {
    let tag_filter = EventFilter {
        tags: options.tags.clone(),
        ..EventFilter::default()
    };
    let resolve = |recipients: &Recipients| -> Vec<String> {
        let mut ids: Vec<String> = match recipients {
            Recipients::Ids(ids) => ids.clone(),
            Recipients::Matching(predicate) => sockets
                .iter()
                .filter(|(_, entry)| tag_filter.admits_tags(entry.tags.as_deref()))
                .filter(|(conn, entry)| predicate(&entry.view(**conn)))
                .map(|(_, entry)| entry.client_id.to_string())
                .collect(),
        };
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        ids
    };
    EventFilter {
        tags: options.tags.clone(),
        targets: options.targets.as_ref().map(resolve),
        exclude: options.exclude.as_ref().map(resolve),
    }
}

/// The id to replay after, read like upstream's SQLite comparison `id > ?` reads the header:
/// numbers count (fractions round down, negatives mean "everything"), other text replays
/// nothing.
fn replay_after(last_event_id: &str) -> Option<u64> {
    let text = last_event_id.trim();
    if let Ok(id) = text.parse::<u64>() {
        return Some(id);
    }
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x < 0.0 => Some(0),
        Ok(x) if x.is_finite() => Some(x.floor() as u64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_event_id_reads_like_sqlite_numeric_affinity() {
        assert_eq!(replay_after("4"), Some(4));
        assert_eq!(replay_after("4.7"), Some(4));
        assert_eq!(replay_after("-3"), Some(0));
        assert_eq!(replay_after("abc"), None);
        assert_eq!(replay_after(""), None);
        assert_eq!(replay_after("NaN"), None);
    }
}
