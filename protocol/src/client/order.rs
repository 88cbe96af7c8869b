//! In-order delivery over a text-ordered replay.
//!
//! The upstream object replays stored events in *text* order of their ids (its SQL orders by
//! the `CAST(id AS TEXT)` alias, PROTOCOL.md section 10): a resume after 98 sends 100, 101,
//! then 99. The resume cursor already keeps such a replay lossless; this keeps it in order.
//! After a subscription that asked for a replay from an integer cursor, an event is yielded at
//! once only when no event with a lower id can still come; the others are held, and released
//! in integer order once the replay is known to be complete.
//!
//! When the replay is complete: right after the stream opens, the engine sends a *barrier*, a
//! request for a path that names no procedure. The object answers it (404) after everything it
//! sent before reading it, so once the answer is in, the whole replay is in. Why that holds on
//! the upstream object (oRPC 1.x): the stream head goes out from `ServerPeer.response`
//! (`packages/standard-server-peer/src/server.ts`) with `await this.send(...)`, whose
//! `websocket.send` is synchronous, and the hibernation callback of `/subscribe`
//! (`packages/durable-iterator/src/durable-object/handler.ts`) then sends every stored event
//! in one synchronous loop; between the two there are only promise continuations, which run
//! before the object can take the next WebSocket message. The client sends the barrier only
//! after the stream head arrived, so the object reads it after the loop. Live events published
//! meanwhile get ids above every replayed one, so they never need reordering among
//! themselves. Our reference server writes a subscription's replay before it reads the next
//! message too.
//!
//! Which events may go at once, for a subscription from cursor `C` (ids compared as integers,
//! the replay starts at `C + 1`): `X` when every integer in `(C, X)` sorts text-below `X`.
//! Then whichever order the object uses, anything it still sends below `X` would contradict
//! it (integer order sends nothing lower later; text order sends only text-higher ids later).
//! Resume within one digit count (the common case) therefore holds nothing.
//!
//! Held events outlive their input: the engine emits [`Output::Keep`] for each, and later an
//! [`Output::Event`] naming the same handle. A drop before the barrier's answer keeps them
//! held through the next subscription (whose replay may bring the ids still missing). Events
//! without an integer id cannot be ordered: while events are held they queue behind them in
//! arrival order. So that an object that never answers the barrier (not one we know of)
//! cannot stall the stream, the hold also ends after [`BARRIER_TIMEOUT`], and at most
//! [`MAX_HELD`] events are held (then they go, sorted, and holding goes on).

use core::time::Duration;

use super::cursor::{covered_by_text_order, numeric};
use super::incoming::Payload;
use crate::prelude::*;

/// How long the engine waits for the barrier's answer before it gives up ordering the replay
/// and yields what it holds.
pub const BARRIER_TIMEOUT: Duration = Duration::from_secs(10);

/// The most events held at once; beyond it the held ones are yielded in order.
pub const MAX_HELD: usize = 1 << 16;

/// One event waiting for its turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Held {
    /// Where it goes: integer ids by value, then (`true`) the others by arrival.
    rank: (bool, u64),
    pub(super) id: Option<String>,
    pub(super) payload: Payload,
}

/// What to do with an event that arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Arrival {
    /// Yield it now.
    Yield(Option<String>, Payload),
    /// It is held: keep its payload until it is released.
    Held(Payload),
    /// It is held, and the held events must go now (the cap was reached).
    Full(Payload),
}

/// The replay ordering state of one iterator (it spans sockets).
#[derive(Debug, Default)]
pub(super) struct ReplayOrder {
    /// The smallest id the current subscription's replay may hold, while ordering it.
    first: Option<u64>,
    held: Vec<Held>,
    /// Events held so far (the arrival rank of those without an integer id).
    arrivals: u64,
    /// The lowest integer id held: an event below it may go at once (no scan of `held`).
    lowest_held: Option<u64>,
}

impl ReplayOrder {
    /// A subscription starts from `last_event_id`: returns whether its replay must be ordered
    /// (then the engine sends a barrier once the stream opens). A subscription that cannot
    /// have a text-ordered replay (no cursor, or a cursor that is not an integer) ends any
    /// ordering still under way; the engine then releases what is held.
    pub(super) fn begin(&mut self, last_event_id: Option<&str>) -> bool {
        self.first = last_event_id
            .and_then(numeric)
            .map(|cursor| cursor.saturating_add(1));
        self.first.is_some()
    }

    /// Whether events are being ordered.
    pub(super) fn is_ordering(&self) -> bool {
        self.first.is_some()
    }

    /// Whether events are waiting.
    #[cfg(test)]
    pub(super) fn has_held(&self) -> bool {
        !self.held.is_empty()
    }

    /// Takes an event that passed de-duplication.
    pub(super) fn arrive(&mut self, id: Option<String>, payload: Payload) -> Arrival {
        let Some(first) = self.first else {
            return Arrival::Yield(id, payload);
        };
        let key = id.as_deref().and_then(numeric);
        if let Some(key) = key {
            let below_held = self.lowest_held.is_none_or(|lowest| key < lowest);
            let nothing_lower_can_come =
                key < first || covered_by_text_order(first, key) == Some(key);
            if below_held && nothing_lower_can_come {
                return Arrival::Yield(id, payload);
            }
        } else if self.held.is_empty() {
            return Arrival::Yield(id, payload);
        }
        self.arrivals += 1;
        let rank = match key {
            Some(key) => {
                self.lowest_held = Some(self.lowest_held.map_or(key, |lowest| lowest.min(key)));
                (false, key)
            }
            None => (true, self.arrivals),
        };
        self.held.push(Held { rank, id, payload });
        if self.held.len() >= MAX_HELD {
            Arrival::Full(payload)
        } else {
            Arrival::Held(payload)
        }
    }

    /// The held events in the order to yield them: integer ids ascending, then the others in
    /// arrival order. Ordering of the current subscription goes on if `keep_ordering`.
    pub(super) fn release(&mut self, keep_ordering: bool) -> Vec<Held> {
        if !keep_ordering {
            self.first = None;
        }
        self.lowest_held = None;
        let mut held = core::mem::take(&mut self.held);
        heap_sort(&mut held);
        held
    }

    /// Forgets everything (the iterator was stopped).
    pub(super) fn clear(&mut self) {
        self.first = None;
        self.lowest_held = None;
        self.held.clear();
    }
}

/// Sorts by rank. Heapsort, written out: `sort` and `sort_unstable` from `core` would add about
/// 2 KB (gzip) to the browser's wasm, for a list sorted once per replay; ranks are unique, so
/// an unstable sort gives one order.
fn heap_sort(held: &mut [Held]) {
    // Checked reads and slice patterns: no index can panic (nor link the panic's formatting).
    fn swap_ends(held: &mut [Held], first: usize, last: usize) {
        if let Some([a, .., b]) = held.get_mut(first..=last) {
            core::mem::swap(a, b);
        }
    }
    fn sift_down(held: &mut [Held], mut root: usize) {
        let rank = |held: &[Held], at: usize| held.get(at).map(|h| h.rank);
        loop {
            let mut child = 2 * root + 1;
            let Some(mut child_rank) = rank(held, child) else {
                return;
            };
            if let Some(right) = rank(held, child + 1).filter(|&right| right > child_rank) {
                child += 1;
                child_rank = right;
            }
            if rank(held, root).is_none_or(|root_rank| root_rank >= child_rank) {
                return;
            }
            swap_ends(held, root, child);
            root = child;
        }
    }
    for root in (0..held.len() / 2).rev() {
        sift_down(held, root);
    }
    for end in (1..held.len()).rev() {
        swap_ends(held, 0, end);
        if let Some(heap) = held.get_mut(..end) {
            sift_down(heap, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(order: &mut ReplayOrder, ids: &[&str]) -> Vec<String> {
        let mut yielded = Vec::new();
        for (n, id) in ids.iter().enumerate() {
            if let Arrival::Yield(Some(id), _) =
                order.arrive(Some((*id).to_owned()), Payload(n as u32))
            {
                yielded.push(id);
            }
        }
        yielded
    }

    fn released(order: &mut ReplayOrder) -> Vec<String> {
        order
            .release(false)
            .into_iter()
            .filter_map(|held| held.id)
            .collect()
    }

    #[test]
    fn a_text_ordered_replay_comes_out_in_integer_order() {
        let mut order = ReplayOrder::default();
        assert!(order.begin(Some("98")));
        assert_eq!(feed(&mut order, &["100", "101", "99"]), ["99"]);
        assert_eq!(feed(&mut order, &["102"]), Vec::<String>::new());
        assert_eq!(released(&mut order), ["100", "101", "102"]);
        assert!(!order.is_ordering());
        assert_eq!(feed(&mut order, &["103"]), ["103"]);
    }

    #[test]
    fn a_replay_within_one_digit_count_is_not_held() {
        let mut order = ReplayOrder::default();
        assert!(order.begin(Some("4")));
        assert_eq!(feed(&mut order, &["5", "7", "9"]), ["5", "7", "9"]);
        assert!(!order.has_held());
        assert!(order.begin(Some("120")));
        assert_eq!(feed(&mut order, &["121", "500"]), ["121", "500"]);
    }

    #[test]
    fn the_low_ids_of_a_text_order_replay_go_at_once() {
        let mut order = ReplayOrder::default();
        order.begin(Some("4"));
        assert_eq!(feed(&mut order, &["10", "11", "12"]), Vec::<String>::new());
        assert_eq!(
            feed(&mut order, &["5", "6", "7", "8", "9"]),
            ["5", "6", "7", "8", "9"]
        );
        assert_eq!(released(&mut order), ["10", "11", "12"]);
    }

    #[test]
    fn what_is_held_survives_a_new_subscription_and_merges_with_its_replay() {
        let mut order = ReplayOrder::default();
        order.begin(Some("4"));
        feed(&mut order, &["10", "11"]);
        // The socket dropped before the barrier's answer; the cursor stayed at 4.
        assert!(order.begin(Some("4")));
        assert_eq!(
            feed(&mut order, &["5", "6", "7", "8", "9", "12"]),
            ["5", "6", "7", "8", "9"]
        );
        assert_eq!(released(&mut order), ["10", "11", "12"]);
    }

    #[test]
    fn no_integer_cursor_means_no_ordering() {
        let mut order = ReplayOrder::default();
        assert!(!order.begin(None));
        assert_eq!(feed(&mut order, &["10", "5"]), ["10", "5"]);
        assert!(!order.begin(Some("abc")));
        assert_eq!(feed(&mut order, &["x", "y"]), ["x", "y"]);
    }

    #[test]
    fn ids_that_are_not_integers_queue_behind_held_ones_in_arrival_order() {
        let mut order = ReplayOrder::default();
        order.begin(Some("8"));
        assert_eq!(feed(&mut order, &["b"]), ["b"]);
        assert_eq!(feed(&mut order, &["10", "z", "a", "9"]), ["9"]);
        assert_eq!(released(&mut order), ["10", "z", "a"]);
    }

    #[test]
    fn the_cap_asks_for_a_release_and_ordering_goes_on() {
        let mut order = ReplayOrder::default();
        order.begin(Some("5"));
        let mut last = Arrival::Yield(None, Payload(0));
        for n in 0..MAX_HELD {
            last = order.arrive(Some(decimal(100 + n)), Payload(n as u32));
        }
        assert_eq!(last, Arrival::Full(Payload((MAX_HELD - 1) as u32)));
        let held = order.release(true);
        assert_eq!(held.len(), MAX_HELD);
        assert!(order.is_ordering());
    }

    #[test]
    fn heap_sort_orders_by_rank() {
        let mut rng = crate::client::SplitMix64::new(3);
        for len in 0..40usize {
            let mut held: Vec<Held> = (0..len)
                .map(|n| {
                    let numeric = rng.below_inclusive(3) != 0;
                    let value = rng.below_inclusive(1000);
                    Held {
                        rank: (!numeric, value * 100 + n as u64),
                        id: None,
                        payload: Payload(n as u32),
                    }
                })
                .collect();
            let mut expected: Vec<(bool, u64)> = held.iter().map(|h| h.rank).collect();
            expected.sort();
            heap_sort(&mut held);
            let sorted: Vec<(bool, u64)> = held.iter().map(|h| h.rank).collect();
            assert_eq!(sorted, expected, "{len}");
        }
    }

    fn decimal(n: usize) -> String {
        super::super::wire::decimal(n as u64)
    }
}
