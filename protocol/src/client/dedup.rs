//! The bounded set of event ids already delivered.
//!
//! A high-water mark is not enough: the upstream object replays in text order of ids
//! (`10, 11, 12, 5, ..., 9`, PROTOCOL.md section 10), so an unseen event may carry a lower id
//! than one already delivered. Only exact ids are dropped; the oldest are forgotten first.
//!
//! A small open-addressing table over a ring of ids instead of a `HashSet`: ids come from the
//! object, but the set is bounded and lookups are per event, and this costs the wasm module a
//! few hundred bytes where std's hash map (with SipHash and its random keys) costs kilobytes.

use crate::prelude::*;

/// Remembers the last `capacity` delivered ids.
#[derive(Debug, Clone)]
pub struct DeliveredIds {
    capacity: usize,
    /// The remembered ids in a ring: a new id takes the place of the oldest once it is full.
    /// A plain vector: a `VecDeque` would link its ring arithmetic a second time.
    ring: Vec<String>,
    /// Where in `ring` the next id goes.
    next: usize,
    /// Open addressing with linear probing: `EMPTY`, `GONE` (a forgotten id: probes go on),
    /// or the place of an id in `ring`. Its length is a power of two at least twice the
    /// capacity, so probes stay short and always find a free slot.
    slots: Vec<usize>,
    /// `GONE` slots; the table is rebuilt when they pile up.
    gone: usize,
}

const EMPTY: usize = usize::MAX;
const GONE: usize = usize::MAX - 1;

/// FNV-1a: a hostile object can make ids collide, which costs it only the probes of its own
/// bounded set.
fn hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl DeliveredIds {
    /// An empty set that remembers at most `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, 1 << 24);
        DeliveredIds {
            capacity,
            ring: Vec::new(),
            next: 0,
            slots: vec![EMPTY; (capacity * 2).next_power_of_two()],
            gone: 0,
        }
    }

    /// Records `id`; `false` when it was already there (a duplicate to drop).
    pub fn insert(&mut self, id: &str) -> bool {
        let free = match self.find(id) {
            Ok(_) => return false,
            Err(free) => free,
        };
        let at = self.next;
        self.next = if at + 1 >= self.capacity { 0 } else { at + 1 };
        // Full: the oldest id leaves the table before the new one takes its place.
        if let Some(Ok(oldest)) = self.ring.get(at).map(|oldest| self.find(oldest)) {
            self.set(oldest, GONE);
        }
        match self.ring.get_mut(at) {
            Some(place) => *place = id.to_owned(),
            None => self.ring.push(id.to_owned()),
        }
        self.set(free, at);
        if self.gone > self.slots.len() / 4 {
            self.rebuild();
        }
        true
    }

    /// Whether `id` was delivered (and not yet forgotten).
    pub fn contains(&self, id: &str) -> bool {
        self.find(id).is_ok()
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Sets a slot, keeping the count of `GONE` ones.
    fn set(&mut self, slot: usize, value: usize) {
        if let Some(slot) = self.slots.get_mut(slot) {
            if *slot == GONE {
                self.gone -= 1;
            }
            if value == GONE {
                self.gone += 1;
            }
            *slot = value;
        }
    }

    /// `Ok(slot)` holding `id`, or `Err(slot)` where it would go.
    fn find(&self, id: &str) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut at = hash(id) as usize & mask;
        let mut reusable = None;
        // The table is never full (twice the capacity), so the loop ends at an EMPTY slot.
        for _ in 0..self.slots.len() {
            match self.slots.get(at).copied().unwrap_or(EMPTY) {
                EMPTY => return Err(reusable.unwrap_or(at)),
                GONE => {
                    reusable.get_or_insert(at);
                }
                place => {
                    if self.ring.get(place).is_some_and(|known| known == id) {
                        return Ok(at);
                    }
                }
            }
            at = (at + 1) & mask;
        }
        Err(reusable.unwrap_or(at))
    }

    /// Clears the forgotten slots by inserting every remembered id again.
    fn rebuild(&mut self) {
        self.slots.fill(EMPTY);
        self.gone = 0;
        let mask = self.slots.len() - 1;
        for (place, id) in self.ring.iter().enumerate() {
            let mut at = hash(id) as usize & mask;
            while self.slots.get(at).is_some_and(|slot| *slot != EMPTY) {
                at = (at + 1) & mask;
            }
            if let Some(slot) = self.slots.get_mut(at) {
                *slot = place;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::VecDeque;
    use std::collections::HashSet;

    #[test]
    fn drops_exact_duplicates_and_forgets_the_oldest() {
        let mut ids = DeliveredIds::new(2);
        assert!(ids.insert("10"));
        assert!(ids.insert("5"));
        assert!(!ids.insert("10"));
        assert!(ids.insert("6"));
        assert!(!ids.contains("10"));
        assert!(ids.contains("5") && ids.contains("6"));
        assert_eq!(ids.len(), 2);
    }

    /// The table against a plain model (a ring and a `HashSet`) over long runs with many
    /// repeats, forgetting and rebuilds.
    #[test]
    fn agrees_with_a_plain_model() {
        for capacity in [1usize, 2, 3, 7, 64, 100] {
            let mut ids = DeliveredIds::new(capacity);
            let mut order = VecDeque::new();
            let mut members = HashSet::new();
            let mut state = 0x2545_f491_4f6c_dd1du64;
            for step in 0..20_000u64 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let id = (state % (capacity as u64 * 3 + 5)).to_string();
                let fresh = !members.contains(&id);
                assert_eq!(ids.insert(&id), fresh, "step {step}, capacity {capacity}");
                if fresh {
                    order.push_back(id.clone());
                    members.insert(id);
                    if order.len() > capacity {
                        let oldest = order.pop_front().unwrap();
                        members.remove(&oldest);
                    }
                }
                assert_eq!(ids.len(), order.len());
            }
            for id in 0..capacity as u64 * 3 + 5 {
                let id = id.to_string();
                assert_eq!(ids.contains(&id), members.contains(&id));
            }
        }
    }
}
