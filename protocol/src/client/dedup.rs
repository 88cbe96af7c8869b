//! The bounded set of event ids already delivered.
//!
//! A high-water mark is not enough: the upstream object replays in text order of ids
//! (`10, 11, 12, 5, ..., 9`, PROTOCOL.md section 10), so an unseen event may carry a lower id
//! than one already delivered. Only exact ids are dropped; the oldest are forgotten first.

use std::collections::{HashSet, VecDeque};

/// Remembers the last `capacity` delivered ids.
#[derive(Debug, Clone)]
pub struct DeliveredIds {
    capacity: usize,
    order: VecDeque<String>,
    members: HashSet<String>,
}

impl DeliveredIds {
    /// An empty set that remembers at most `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        DeliveredIds {
            capacity,
            order: VecDeque::new(),
            members: HashSet::new(),
        }
    }

    /// Records `id`; `false` when it was already there (a duplicate to drop).
    pub fn insert(&mut self, id: &str) -> bool {
        if self.members.contains(id) {
            return false;
        }
        if self.order.len() >= self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.members.remove(&oldest);
            }
        }
        self.order.push_back(id.to_owned());
        self.members.insert(id.to_owned());
        true
    }

    /// Whether `id` was delivered (and not yet forgotten).
    pub fn contains(&self, id: &str) -> bool {
        self.members.contains(id)
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
