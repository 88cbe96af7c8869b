//! Time and randomness for the native driver, which the engine never reads itself.
//!
//! Time is Tokio's monotonic clock measured from a fixed origin, so timers and the engine
//! agree on "now" (and a paused Tokio clock pauses both). Randomness comes from the operating
//! system through `getrandom`, already in the tree for tungstenite's masking keys.

use std::fmt::Write;

use durable_iterator_protocol::client::Instant;

use crate::error::Error;

/// The engine's clock: Tokio time since the driver started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    /// A clock whose origin is now.
    pub(crate) fn start() -> Self {
        Clock {
            origin: tokio::time::Instant::now(),
        }
    }

    /// The current instant, as the engine counts it.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_elapsed(self.origin.elapsed())
    }

    /// The Tokio instant of an engine instant, for a timer. An instant too far away for Tokio
    /// becomes about 30 years away, which is as good as never.
    pub(crate) fn deadline(&self, at: Instant) -> tokio::time::Instant {
        const FAR: std::time::Duration = std::time::Duration::from_secs(30 * 365 * 86_400);
        self.origin
            .checked_add(at.elapsed())
            .unwrap_or_else(|| tokio::time::Instant::now() + FAR)
    }
}

/// A seed for backoff jitter.
pub(crate) fn jitter_seed() -> Result<u64, Error> {
    getrandom::u64().map_err(|e| Error::Network(format!("no system randomness: {e}")))
}

/// An unguessable client id: a random (version 4) UUID, as `crypto.randomUUID()` makes in the
/// browser. The object recognises the client by it across reconnects.
pub(crate) fn random_client_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Network(format!("no system randomness: {e}")))?;
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let mut id = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        let _ = write!(id, "{byte:02x}");
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_distinct_version_4_uuids() {
        let (a, b) = (random_client_id().unwrap(), random_client_id().unwrap());
        assert_ne!(a, b);
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('4'), "{a}");
        assert!(
            matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{a}"
        );
    }
}
