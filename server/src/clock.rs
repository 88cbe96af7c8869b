//! Wall-clock time, read in one place: tokens and retention are in Unix time.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, with a fraction (tokens compare `exp` against this).
pub(crate) fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Milliseconds since the Unix epoch (retention bookkeeping).
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
