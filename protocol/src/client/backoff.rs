//! Reconnect delays: exponential backoff with full jitter, and the tiny PRNG behind the jitter.
//!
//! Full jitter (a uniform delay between zero and the exponential ceiling) spreads a crowd of
//! clients that lost the same server over the whole window instead of making them return in
//! waves, and keeps the first retry fast. The PRNG is SplitMix64 seeded by the driver: the
//! engine has no random source of its own, and a seed makes every test reproducible.

use core::time::Duration;

use super::time::{duration_from_secs_f64, saturating_micros};

/// Exponential backoff with full jitter; all values documented with their defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// Ceiling of the first retry delay. Default 200 ms, so the first retry comes within
    /// 200 ms of the failure (the upstream client waits 1-5 s).
    pub initial: Duration,
    /// How much the ceiling grows per failed attempt. Default 2.
    pub factor: f64,
    /// The largest ceiling, reached after a few failures. Default 10 s (as upstream).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(200),
            factor: 2.0,
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The largest delay of failed attempt number `attempt` (1 = the first failure).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(1024) as i32;
        let factor = if self.factor.is_finite() && self.factor >= 1.0 {
            self.factor
        } else {
            1.0
        };
        // Multiplied out instead of `powi`, which core lacks; it stops at the cap.
        let max = self.max.as_secs_f64();
        let mut secs = self.initial.as_secs_f64();
        for _ in 0..exponent {
            if secs.is_nan() || secs >= max {
                break;
            }
            secs *= factor;
        }
        if secs.is_finite() && secs < max {
            duration_from_secs_f64(secs)
        } else {
            self.max
        }
    }

    /// A delay drawn uniformly from `[0, ceiling(attempt)]`.
    pub fn delay(&self, attempt: u32, rng: &mut SplitMix64) -> Duration {
        let ceiling = saturating_micros(self.ceiling(attempt));
        Duration::from_micros(rng.below_inclusive(ceiling))
    }
}

/// SplitMix64: a 64-bit generator with good statistical quality in four lines, ample for
/// jitter. Not for anything secret.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `[0, max]`; the modulo bias is below 2^-40 for the ranges used here.
    pub fn below_inclusive(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(span) => self.next_u64() % span,
            None => self.next_u64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_grows_then_caps() {
        let backoff = Backoff::default();
        assert_eq!(backoff.ceiling(1), Duration::from_millis(200));
        assert_eq!(backoff.ceiling(2), Duration::from_millis(400));
        assert_eq!(backoff.ceiling(6), Duration::from_millis(6400));
        assert_eq!(backoff.ceiling(7), Duration::from_secs(10));
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn nonsense_factor_does_not_shrink_or_panic() {
        let backoff = Backoff {
            factor: f64::NAN,
            ..Backoff::default()
        };
        assert_eq!(backoff.ceiling(9), Duration::from_millis(200));
    }

    #[test]
    fn splitmix_is_deterministic_per_seed() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut rng = SplitMix64::new(7);
                move |_| rng.next_u64()
            })
            .collect();
        let mut rng = SplitMix64::new(7);
        assert_eq!(a, (0..4).map(|_| rng.next_u64()).collect::<Vec<_>>());
        assert_ne!(SplitMix64::new(8).next_u64(), a[0]);
    }
}
