//! Engine options. Every field documents its default; `EngineOptions::default()` is what the
//! JS and Rust surfaces use when the caller sets nothing.

use core::time::Duration;

use super::backoff::Backoff;

/// Idle-socket probing: after `idle` without any frame from the object, send a request that
/// names no procedure (the object answers 404 at once) and reconnect if nothing at all arrives
/// within `timeout`.
///
/// This finds sockets that died silently (sleep, Wi-Fi switch, a proxy that dropped the
/// connection) and, against the upstream object, makes it check the token on an idle socket.
/// Each probe wakes a hibernating Cloudflare Durable Object; switch probing off
/// (`EngineOptions::liveness = None`) or lengthen `idle` if that matters more than detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Liveness {
    /// How long the socket may stay silent before a probe. Default 20 s (under the 60 s idle
    /// limit of common proxies, under Cloudflare's 100 s).
    pub idle: Duration,
    /// How long to wait for any frame after a probe. Default 10 s.
    pub timeout: Duration,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness {
            idle: Duration::from_secs(20),
            timeout: Duration::from_secs(10),
        }
    }
}

/// How the engine connects, resumes, refreshes and checks its socket.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EngineOptions {
    /// Delay between reconnect attempts (and between resubscribes on a live socket).
    /// Default: first retry within 200 ms, doubling, at most 10 s, full jitter. A `retry` in
    /// the server's event meta is honoured as a lower bound, up to
    /// [`super::MAX_SERVER_RETRY`] (one minute).
    pub backoff: Backoff,
    /// How long a socket may take to open before it counts as failed. Default 4 s (as upstream).
    pub connect_timeout: Duration,
    /// How long a socket must stay up before the attempt counter goes back to zero, so a
    /// server that accepts and then drops at once still meets a growing delay. Default 5 s.
    /// A socket whose stream delivered at least one event starts the count over when it is
    /// lost, however short its life, so recovery under flapping stays near the first retry.
    pub stable_after: Duration,
    /// Give up after this many failed attempts in a row and end with `ConnectionClosed`.
    /// Default `None`: retry forever, as upstream (offline time does not count).
    pub max_reconnect_attempts: Option<u32>,
    /// Failed opens in a row (the socket never opened) after which the engine suspects the
    /// token and refreshes it, when refresh is on. Browsers hide the 401 of a rejected
    /// upgrade, so this is the only hint. Default 3.
    pub auth_failure_threshold: u32,
    /// Idle-socket probing; `None` switches it off. Default: on, see [`Liveness`].
    pub liveness: Option<Liveness>,
    /// Refresh the token this long before it expires, counted from when it was received with
    /// its lifetime `exp - iat` (so a wrong client clock does not matter), less a second when
    /// `iat` is a whole number (it was floored, so the token may be that much older). `None`
    /// (default, as upstream) never refreshes: an expired token then ends the iterator with
    /// `TokenExpired`, within a second of `exp` even in a silent room (from the earliest
    /// possible `exp` on, the engine probes the open socket every 250 ms, which makes the
    /// object close with 1008; with no answer it ends by itself half a second after the
    /// expiry the lifetime gives).
    /// When set, an expired token or a 1008 close also triggers a refresh before reconnecting.
    pub refresh_before_expire: Option<Duration>,
    /// Pause after a failed refresh before the next try, doubling with each further failure
    /// in a row up to `backoff.max` (upstream keeps it fixed); also the least time between two
    /// refreshes. Default 2 s (as upstream).
    pub refresh_retry_delay: Duration,
    /// How many delivered event ids are remembered to drop replayed duplicates. Default 4096.
    pub dedup_capacity: usize,
    /// Largest frame the engine reads, in bytes. A larger frame is dropped unread with
    /// [`super::Output::FrameIgnored`] (`FrameTooLarge`) and the socket goes on, so one huge
    /// event cannot take the client down, nor stall it in a reconnect loop that replays the
    /// same event. Default [`DEFAULT_MAX_FRAME_BYTES`] (16 MiB).
    pub max_frame_bytes: usize,
}

/// Default of [`EngineOptions::max_frame_bytes`]: 16 MiB, far above what an event stream
/// needs (the object itself accepts 1 MiB messages), far below what hurts a tab.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(4),
            stable_after: Duration::from_secs(5),
            max_reconnect_attempts: None,
            auth_failure_threshold: 3,
            liveness: Some(Liveness::default()),
            refresh_before_expire: None,
            refresh_retry_delay: Duration::from_secs(2),
            dedup_capacity: 4096,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
    }
}

impl EngineOptions {
    /// Sets [`EngineOptions::backoff`].
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets [`EngineOptions::connect_timeout`].
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`EngineOptions::stable_after`].
    pub fn with_stable_after(mut self, stable_after: Duration) -> Self {
        self.stable_after = stable_after;
        self
    }

    /// Sets [`EngineOptions::max_reconnect_attempts`].
    pub fn with_max_reconnect_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_reconnect_attempts = attempts;
        self
    }

    /// Sets [`EngineOptions::auth_failure_threshold`].
    pub fn with_auth_failure_threshold(mut self, failures: u32) -> Self {
        self.auth_failure_threshold = failures;
        self
    }

    /// Sets [`EngineOptions::liveness`].
    pub fn with_liveness(mut self, liveness: Option<Liveness>) -> Self {
        self.liveness = liveness;
        self
    }

    /// Sets [`EngineOptions::refresh_before_expire`].
    pub fn with_refresh_before_expire(mut self, before: Option<Duration>) -> Self {
        self.refresh_before_expire = before;
        self
    }

    /// Sets [`EngineOptions::refresh_retry_delay`].
    pub fn with_refresh_retry_delay(mut self, delay: Duration) -> Self {
        self.refresh_retry_delay = delay;
        self
    }

    /// Sets [`EngineOptions::dedup_capacity`].
    pub fn with_dedup_capacity(mut self, capacity: usize) -> Self {
        self.dedup_capacity = capacity;
        self
    }

    /// Sets [`EngineOptions::max_frame_bytes`].
    pub fn with_max_frame_bytes(mut self, bytes: usize) -> Self {
        self.max_frame_bytes = bytes;
        self
    }
}
