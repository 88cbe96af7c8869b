//! A small seeded generator (SplitMix64), so that a run's fault schedule — drop intervals,
//! which drops truncate, jitter — is the same for the same seed. Not for cryptography.

use std::time::Duration;

/// SplitMix64: tiny, fast, and every 64-bit seed gives a good stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A generator for one part of a run (a connection, a direction), derived from the run's
    /// seed so the parts do not share one stream and stay reproducible on their own.
    pub fn derive(seed: u64, part: u64) -> Self {
        let mut mixer = Rng(seed ^ part.wrapping_mul(0xA24B_AED4_963E_E407));
        Rng(mixer.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p.clamp(0.0, 1.0)
    }

    /// Uniform in `[low, high]` (either order).
    pub fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let (low, high) = if low <= high {
            (low, high)
        } else {
            (high, low)
        };
        low + (high - low).mul_f64(self.unit())
    }

    /// Uniform in `[low, high)`; `low` when the range is empty.
    pub fn index(&mut self, low: usize, high: usize) -> usize {
        if high <= low {
            return low;
        }
        let span = (high - low) as u64;
        low + (self.next_u64() % span) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream_and_parts_differ() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut one = Rng::derive(7, 1);
        let mut two = Rng::derive(7, 2);
        assert_ne!(one.next_u64(), two.next_u64());
        assert_eq!(Rng::derive(7, 1).next_u64(), Rng::derive(7, 1).next_u64());
    }

    #[test]
    fn ranges_hold() {
        let mut rng = Rng::new(42);
        let (low, high) = (Duration::from_millis(200), Duration::from_millis(600));
        for _ in 0..1000 {
            let d = rng.between(low, high);
            assert!(d >= low && d <= high, "{d:?}");
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
            let i = rng.index(3, 9);
            assert!((3..9).contains(&i));
        }
        assert_eq!(rng.index(5, 5), 5);
        assert!(!rng.chance(0.0));
        assert!(rng.chance(1.0));
    }
}
