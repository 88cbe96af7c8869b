//! Request ids and event ids.

use crate::prelude::*;
use core::cmp::Ordering;

/// Hands out request ids as oRPC does: base36 of a counter starting at 1 (`"1"` ... `"a"`).
#[derive(Debug, Clone, Default)]
pub struct RequestIdGenerator {
    last: u64,
}

impl RequestIdGenerator {
    /// A generator whose first id is `"1"`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next id.
    pub fn next_id(&mut self) -> String {
        self.last = self.last.wrapping_add(1);
        to_base36(self.last)
    }
}

/// `n` in lower-case base 36, as JavaScript's `n.toString(36)`.
pub fn to_base36(n: u64) -> String {
    let mut out = String::new();
    crate::client::wire::push_radix(&mut out, n, 36);
    out
}

/// Whether `id` is a canonical decimal integer (what the object assigns when resume is on).
pub fn is_numeric_event_id(id: &str) -> bool {
    !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id.len() == 1 || !id.starts_with('0'))
}

/// Orders two event ids as integers when both are canonical decimal integers of any length;
/// `None` when either is not, because non-numeric ids only support equality.
///
/// Comparing as text is the upstream object's bug (`"10" < "5"`, PROTOCOL.md section 10).
pub fn compare_event_ids(a: &str, b: &str) -> Option<Ordering> {
    if is_numeric_event_id(a) && is_numeric_event_id(b) {
        Some(a.len().cmp(&b.len()).then_with(|| a.cmp(b)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_base36_from_one() {
        let mut ids = RequestIdGenerator::new();
        let first: Vec<String> = (0..37).map(|_| ids.next_id()).collect();
        assert_eq!(first[0], "1");
        assert_eq!(first[9], "a");
        assert_eq!(first[35], "10");
        assert_eq!(to_base36(u64::MAX), "3w5e11264sgsf");
    }

    #[test]
    fn event_ids_compare_as_integers() {
        assert_eq!(compare_event_ids("10", "5"), Some(Ordering::Greater));
        assert_eq!(compare_event_ids("5", "5"), Some(Ordering::Equal));
        assert_eq!(
            compare_event_ids("100000000000000000000000", "99999999999999999999999"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare_event_ids("a", "5"), None);
        assert_eq!(compare_event_ids("05", "5"), None);
    }
}
