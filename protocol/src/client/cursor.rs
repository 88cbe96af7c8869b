//! The resume cursor: which `last-event-id` to send when (re)subscribing.
//!
//! The object replays stored events with id greater than the cursor (compared as integers).
//! Our server sends them in integer order; the upstream object sends them in *text* order
//! (`10, 11, 12, 5, ..., 9`, PROTOCOL.md section 10). Resending an event is harmless (the
//! delivered-id set drops it); skipping one is not. So the cursor only moves to an id `Y` when,
//! whichever of the two orders the server uses, every event the server could send with an id
//! in `(cursor, Y]` has already arrived.
//!
//! The rule, per subscription started from cursor `C` (ids are canonical decimal `u64`s):
//! - No cursor sent: no replay, events come in integer order: the cursor follows the largest id.
//! - While the stream may still be replaying, after an id `X`:
//!   * integer order would mean everything up to `X` has arrived;
//!   * text order would mean everything *text*-below `X` has arrived, but integers in `(C, X)`
//!     with fewer digits (`5` against `10`) may still come;
//!
//!   so the cursor moves to the largest `Y <= X` such that every integer in `(C, Y]` sorts
//!   text-at-most `X` (e.g. `C = 4`, `X = 12` gives `4`; `C = 4`, `X = 7` gives `7`).
//! - An id that sorts text-below the previous one (`9` then `13`) cannot happen inside a
//!   text-ordered replay, so the replay is over (or the server orders by integer): from then on
//!   the cursor follows the largest id received.
//! - An id below the previous one as an integer but above it as text (`12` then `5`) proves a
//!   text-ordered replay: the rule above keeps holding.
//! - An id that goes down both ways: neither order explains it, so the cursor stops moving
//!   for the rest of that subscription.
//!
//! Non-numeric ids (custom ids, resume off) cannot be compared: the cursor is the last one.

use super::wire::{digits as decimal_digits, push_decimal};
use crate::prelude::*;

/// Where the next subscription resumes from, and whether it can resume at all.
#[derive(Debug, Clone)]
pub struct ResumeCursor {
    cursor: Option<String>,
    tracker: Tracker,
    last_event_had_id: bool,
}

impl ResumeCursor {
    /// Starts from the caller's `lastEventId`, if any.
    pub fn new(initial: Option<String>) -> Self {
        ResumeCursor {
            cursor: initial,
            tracker: Tracker::live(),
            last_event_had_id: true,
        }
    }

    /// The id the next subscription would send as `last-event-id`.
    pub fn last_event_id(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Whether a resubscribe can get missed events back: there is a cursor and the last event
    /// carried an id (events without ids mean the server keeps nothing to replay).
    pub fn can_resume(&self) -> bool {
        self.cursor.is_some() && self.last_event_had_id
    }

    /// Starts watching a new subscription; returns the `last-event-id` to send with it.
    pub fn begin_subscription(&mut self) -> Option<String> {
        self.begin();
        self.cursor.clone()
    }

    /// [`Self::begin_subscription`] without a copy of the id (the engine reads it in place
    /// with [`Self::last_event_id`]).
    pub(super) fn begin(&mut self) {
        self.tracker = match self.cursor.as_deref() {
            None => Tracker::live(),
            Some(cursor) => Tracker::replay(numeric(cursor).map_or(0, |c| c.saturating_add(1))),
        };
    }

    /// Records the id (or its absence) of an event of the current subscription, duplicates
    /// included: their order is evidence too.
    pub fn observe(&mut self, id: Option<&str>) {
        let Some(id) = id else {
            self.last_event_had_id = false;
            return;
        };
        self.last_event_had_id = true;
        let Some(value) = numeric(id) else {
            self.cursor = Some(id.to_owned());
            return;
        };
        let Some(candidate) = self.tracker.step(value) else {
            return;
        };
        // No cursor, or one that is not numeric, is always passed.
        let current = self.cursor.as_deref().and_then(numeric);
        if current.is_none_or(|current| candidate > current) {
            // Written into the cursor's own buffer: no allocation per event.
            let cursor = self.cursor.get_or_insert_with(String::new);
            cursor.clear();
            push_decimal(cursor, candidate);
        }
    }
}

/// A canonical decimal id that fits `u64` (the object's ids are SQLite integers).
pub(super) fn numeric(id: &str) -> Option<u64> {
    // One pass that checks and parses: what `is_numeric_event_id` accepts (digits, no
    // leading zero), read in the same loop.
    if id.is_empty() || (id.len() > 1 && id.starts_with('0')) {
        return None;
    }
    let mut value = 0u64;
    for digit in id.bytes() {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = times_ten(value)?.checked_add(u64::from(digit - b'0'))?;
    }
    Some(value)
}

/// Whether `a` sorts before `b` as text (their decimal forms compared byte by byte).
fn text_below(a: u64, b: u64) -> bool {
    let mut a_digits = [0u8; 20];
    let mut b_digits = [0u8; 20];
    decimal_digits(a, &mut a_digits) < decimal_digits(b, &mut b_digits)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The stream may still be replaying stored events.
    Replay,
    /// Replay over (or none): ids come in integer order.
    Live,
    /// Neither order explains what arrived: stop moving the cursor.
    Confused,
}

/// What one subscription has shown so far.
#[derive(Debug, Clone)]
struct Tracker {
    phase: Phase,
    /// The smallest id the replay may contain (cursor + 1; saturating, so a cursor at
    /// `u64::MAX` can only be matched by itself, which de-duplication drops anyway).
    first: u64,
    prev: Option<u64>,
    max: Option<u64>,
}

impl Tracker {
    fn live() -> Self {
        Tracker {
            phase: Phase::Live,
            first: 0,
            prev: None,
            max: None,
        }
    }

    fn replay(first: u64) -> Self {
        Tracker {
            phase: Phase::Replay,
            first,
            prev: None,
            max: None,
        }
    }

    /// Takes the next id; returns the id the cursor may now move to.
    fn step(&mut self, id: u64) -> Option<u64> {
        if let Some(prev) = self.prev.filter(|&prev| prev != id) {
            let integer_down = id < prev;
            let text_down = text_below(id, prev);
            self.phase = match (self.phase, integer_down, text_down) {
                (Phase::Confused, _, _) => Phase::Confused,
                (_, true, true) => Phase::Confused,
                (Phase::Replay, false, true) => Phase::Live,
                (Phase::Live, true, false) => Phase::Confused,
                (phase, _, _) => phase,
            };
        }
        self.prev = Some(id);
        let max = self.max.map_or(id, |max| max.max(id));
        self.max = Some(max);
        match self.phase {
            Phase::Live => Some(max),
            Phase::Replay => covered_by_text_order(self.first, id),
            Phase::Confused => None,
        }
    }
}

/// `value * 10` unless it overflows; `checked_mul` would detect that with a 128-bit
/// multiplication, a call into compiler-builtins on wasm32.
fn times_ten(value: u64) -> Option<u64> {
    (value <= u64::MAX / 10).then(|| value * 10)
}

/// `10^exponent` unless it overflows `u64` (see [`times_ten`]).
fn pow10(exponent: u32) -> Option<u64> {
    (0..exponent).try_fold(1, |power, _| times_ten(power))
}

fn digits(n: u64) -> u32 {
    n.checked_ilog10().map_or(1, |log| log + 1)
}

/// The largest `Y <= x` such that every integer in `[first, Y]` sorts text-at-most `x`, or
/// `None` when there is none (`x < first`, or nothing at or above `first` qualifies).
///
/// An integer with as many digits as `x` sorts by text as by value; one with fewer digits,
/// `n` of `l` digits, sorts text-above `x` exactly when `n` exceeds the first `l` digits of
/// `x`. So the first integer that breaks the run is found per digit count, smallest first.
///
/// In `u64` (ids have at most 20 digits, so every power of ten used is at most 10^19):
/// 128-bit division would add a kilobyte of runtime code to the wasm module.
pub(super) fn covered_by_text_order(first: u64, x: u64) -> Option<u64> {
    if x < first {
        return None;
    }
    let x_digits = digits(x);
    let first_digits = digits(first);
    for length in first_digits..x_digits {
        let lowest = if length == first_digits {
            first
        } else {
            pow10(length - 1)?
        };
        let prefix = x.checked_div(pow10(x_digits - length)?)?;
        let breaker = lowest.max(prefix + 1);
        if breaker < pow10(length)? {
            return breaker.checked_sub(1).filter(|&y| y >= first);
        }
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_and_decimal_ids_stop_at_u64() {
        for exponent in 0..25 {
            assert_eq!(
                pow10(exponent),
                10u64.checked_pow(exponent),
                "10^{exponent}"
            );
        }
        assert_eq!(numeric("18446744073709551615"), Some(u64::MAX));
        assert_eq!(numeric("18446744073709551616"), None);
        assert_eq!(numeric("99999999999999999999"), None);
        for id in [
            "", "0", "00", "01", "7", "10", "1a", "-1", " 1", "1 ", "+1", "٣", "12345",
        ] {
            assert_eq!(
                numeric(id).is_some(),
                crate::ids::is_numeric_event_id(id),
                "{id:?}"
            );
        }
    }

    fn feed(cursor: &mut ResumeCursor, ids: &[&str]) {
        for id in ids {
            cursor.observe(Some(id));
        }
    }

    #[test]
    fn numbers_and_text_order_without_formatting() {
        for (a, b) in [
            (5, 10),
            (10, 5),
            (9, 13),
            (12, 5),
            (0, 0),
            (7, 7),
            (u64::MAX, 1),
            (1, u64::MAX),
        ] {
            assert_eq!(text_below(a, b), a.to_string() < b.to_string(), "{a} {b}");
        }
        assert_eq!(numeric("18446744073709551615"), Some(u64::MAX));
        assert_eq!(numeric("18446744073709551616"), None);
        assert_eq!(numeric("0"), Some(0));
        assert_eq!(numeric("007"), None);
        assert_eq!(numeric("1a"), None);
    }

    #[test]
    fn text_order_bound() {
        assert_eq!(covered_by_text_order(5, 10), None);
        assert_eq!(covered_by_text_order(5, 12), None);
        assert_eq!(covered_by_text_order(5, 7), Some(7));
        assert_eq!(covered_by_text_order(1, 10), Some(1));
        assert_eq!(covered_by_text_order(96, 100), None);
        assert_eq!(covered_by_text_order(5, 990), Some(990));
        assert_eq!(covered_by_text_order(10, 20), Some(20));
        assert_eq!(covered_by_text_order(0, 10), Some(1));
        assert_eq!(covered_by_text_order(9, 5), None);
        assert_eq!(covered_by_text_order(0, u64::MAX), Some(1));
    }

    #[test]
    fn upstream_text_order_replay_keeps_the_cursor_until_safe() {
        let mut cursor = ResumeCursor::new(None);
        assert_eq!(cursor.begin_subscription(), None);
        feed(&mut cursor, &["2", "3", "4"]);
        assert_eq!(cursor.last_event_id(), Some("4"));
        assert_eq!(cursor.begin_subscription().as_deref(), Some("4"));
        feed(&mut cursor, &["10", "11", "12"]);
        // A drop here must resume from 4, or 5..9 are lost on the upstream object.
        assert_eq!(cursor.last_event_id(), Some("4"));
        feed(&mut cursor, &["5", "6"]);
        assert_eq!(cursor.last_event_id(), Some("6"));
        feed(&mut cursor, &["7", "8", "9"]);
        assert_eq!(cursor.last_event_id(), Some("9"));
        feed(&mut cursor, &["13"]);
        assert_eq!(cursor.last_event_id(), Some("13"));
    }

    #[test]
    fn integer_order_replay_advances_at_every_event() {
        let mut cursor = ResumeCursor::new(Some("4".into()));
        assert_eq!(cursor.begin_subscription().as_deref(), Some("4"));
        feed(&mut cursor, &["5", "6", "7", "8", "9"]);
        assert_eq!(cursor.last_event_id(), Some("9"));
        feed(&mut cursor, &["10", "11"]);
        assert_eq!(cursor.last_event_id(), Some("11"));
    }

    #[test]
    fn ambiguous_digit_jump_waits_for_proof() {
        let mut cursor = ResumeCursor::new(Some("4".into()));
        cursor.begin_subscription();
        feed(&mut cursor, &["10", "11", "19"]);
        assert_eq!(cursor.last_event_id(), Some("4"));
        feed(&mut cursor, &["100"]);
        assert_eq!(cursor.last_event_id(), Some("100"));
    }

    #[test]
    fn ids_both_orders_would_have_sent_count_as_absent() {
        // After 10 and 50, a text-ordered replay would already have sent 5 ("5" < "50"), and an
        // integer-ordered one too: 5 does not exist for this subscriber, 6..9 may still come.
        let mut cursor = ResumeCursor::new(Some("4".into()));
        cursor.begin_subscription();
        feed(&mut cursor, &["10", "50"]);
        assert_eq!(cursor.last_event_id(), Some("5"));
        feed(&mut cursor, &["98"]);
        assert_eq!(cursor.last_event_id(), Some("98"));
    }

    #[test]
    fn contradictory_order_freezes_the_cursor() {
        let mut cursor = ResumeCursor::new(Some("4".into()));
        cursor.begin_subscription();
        feed(&mut cursor, &["6", "5"]);
        assert_eq!(cursor.last_event_id(), Some("6"));
        feed(&mut cursor, &["50"]);
        assert_eq!(cursor.last_event_id(), Some("6"));
        cursor.begin_subscription();
        feed(&mut cursor, &["7"]);
        assert_eq!(cursor.last_event_id(), Some("7"));
    }

    #[test]
    fn never_moves_backwards_and_handles_custom_ids() {
        let mut cursor = ResumeCursor::new(Some("40".into()));
        cursor.begin_subscription();
        feed(&mut cursor, &["3"]);
        assert_eq!(cursor.last_event_id(), Some("40"));
        feed(&mut cursor, &["abc"]);
        assert_eq!(cursor.last_event_id(), Some("abc"));
        assert!(cursor.can_resume());
        cursor.observe(None);
        assert!(!cursor.can_resume());
        cursor.begin_subscription();
        feed(&mut cursor, &["3"]);
        assert_eq!(cursor.last_event_id(), Some("3"));
    }
}
