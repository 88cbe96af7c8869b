//! The engine's notion of time: a monotonic instant supplied by the driver.
//!
//! `core::time::Instant` panics on `wasm32-unknown-unknown`, and reading a clock would make the
//! engine untestable, so the driver passes "now" as the time elapsed since an origin of its
//! choosing (`performance.now()` in the browser, a start `Instant` natively, a counter in tests).

use core::ops::Add;
use core::time::Duration;

/// A point on the driver's monotonic clock, as the time elapsed since the driver's origin.
///
/// Kept as whole microseconds: one `u64` compares and adds in a few instructions, where a
/// `Duration` (seconds and nanoseconds) costs the wasm module its normalising arithmetic at
/// every deadline the engine computes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The driver's origin.
    pub const ZERO: Instant = Instant(0);

    /// The instant `elapsed` after the origin (to the microsecond, saturating).
    pub const fn from_elapsed(elapsed: Duration) -> Self {
        Instant(saturating_micros(elapsed))
    }

    /// The instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(saturating_mul(millis, 1000))
    }

    /// From fractional milliseconds (`performance.now()`), to the microsecond; NaN and
    /// negatives count as zero, and huge values saturate.
    pub fn from_millis_f64(millis: f64) -> Self {
        Instant(saturating_micros(duration_from_secs_f64(millis / 1000.0)))
    }

    /// The time elapsed since the origin.
    ///
    /// The saturated instant (`u64::MAX` microseconds) reads as `Duration::MAX`: "never" stays
    /// the largest duration there is.
    pub const fn elapsed(self) -> Duration {
        match self.0 {
            u64::MAX => Duration::MAX,
            micros => Duration::from_micros(micros),
        }
    }

    /// Milliseconds since the origin, for timers that take milliseconds.
    pub fn as_millis_f64(self) -> f64 {
        self.elapsed().as_secs_f64() * 1000.0
    }

    /// This instant plus `micros` microseconds, saturating.
    pub(crate) fn plus_micros(self, micros: u64) -> Instant {
        Instant(self.0.saturating_add(micros))
    }

    /// How long after `earlier` this instant is; zero if it is not later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

/// The earliest of some optional deadlines. A plain fold: `flatten().min()` over them
/// instantiates core's generic iterator machinery at each use (larger wasm).
pub(crate) fn earliest<const N: usize>(deadlines: [Option<Instant>; N]) -> Option<Instant> {
    let mut first: Option<Instant> = None;
    for deadline in deadlines.into_iter().flatten() {
        if first.is_none_or(|first| deadline < first) {
            first = Some(deadline);
        }
    }
    first
}

/// `secs` as a duration, to the microsecond: NaN and negatives are zero, huge values
/// saturate to `Duration::MAX` (beyond about 584,000 years). Unlike `Duration::from_secs_f64` it cannot panic, and unlike
/// `try_from_secs_f64` it adds no float decomposition code to the wasm module.
// Out of line: its saturating float-to-integer conversion is otherwise copied into each
// caller (the token lifetime, the backoff, the driver's clock; 9 B gzip, measured).
#[inline(never)]
pub fn duration_from_secs_f64(secs: f64) -> Duration {
    // `as` saturates and maps NaN to 0.
    match (secs * 1_000_000.0) as u64 {
        u64::MAX => Duration::MAX,
        micros => Duration::from_micros(micros),
    }
}

/// `saturating_micros(a.saturating_sub(b + Duration::from_secs(whole_secs)))`, worked out on
/// the parts: core's `Duration::saturating_sub` normalises through `Duration::new`, whose
/// overflow panic (message and location) would stay linked into the wasm module.
pub(crate) fn micros_less(a: Duration, b: Duration, whole_secs: u64) -> u64 {
    let Some(b_secs) = b.as_secs().checked_add(whole_secs) else {
        return 0;
    };
    let (a_nanos, b_nanos) = (a.subsec_nanos(), b.subsec_nanos());
    let (borrow, nanos) = if a_nanos < b_nanos {
        (1, a_nanos + 1_000_000_000 - b_nanos)
    } else {
        (0, a_nanos - b_nanos)
    };
    match a
        .as_secs()
        .checked_sub(b_secs)
        .and_then(|secs| secs.checked_sub(borrow))
    {
        Some(secs) => saturating_mul(secs, 1_000_000).saturating_add(u64::from(nanos / 1000)),
        None => 0,
    }
}

/// `a.saturating_mul(1 << doublings)` for `doublings < 32`, by shifts: core's multiplies
/// the seconds with an overflow check (a 128-bit multiply on wasm32) and normalises through
/// `Duration::new`.
pub(crate) fn doubled(a: Duration, doublings: u32) -> Duration {
    let nanos = u64::from(a.subsec_nanos()) << doublings;
    let secs = match a.as_secs().checked_shl(doublings) {
        Some(secs) if secs >> doublings == a.as_secs() => secs.checked_add(nanos / 1_000_000_000),
        _ => None,
    };
    match secs {
        Some(secs) => Duration::new(secs, (nanos % 1_000_000_000) as u32),
        None => Duration::MAX,
    }
}

/// `a * b`, saturating at `u64::MAX`. `u64::saturating_mul` detects overflow with a 128-bit
/// multiplication, a call into compiler-builtins on wasm32 at every use; against a constant
/// `b` this comparison is one instruction.
pub(crate) const fn saturating_mul(a: u64, b: u64) -> u64 {
    if b != 0 && a > u64::MAX / b {
        u64::MAX
    } else {
        a * b
    }
}

/// Whole microseconds of `duration`, saturating at `u64::MAX` (no 128-bit arithmetic).
// Out of line: its overflow check and sub-second division would be copied into every caller
// (28 B gzip less out of line, with `Instant + Duration` out of line too; measured).
#[inline(never)]
pub const fn saturating_micros(duration: Duration) -> u64 {
    saturating_mul(duration.as_secs(), 1_000_000).saturating_add(duration.subsec_micros() as u64)
}

/// Whole milliseconds of `duration`, rounded up, saturating at `u64::MAX`.
pub fn ceil_millis(duration: Duration) -> u64 {
    let millis = saturating_mul(duration.as_secs(), 1000)
        .saturating_add(u64::from(duration.subsec_millis()));
    if duration.subsec_nanos() % 1_000_000 == 0 {
        millis
    } else {
        millis.saturating_add(1)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates instead of overflowing: a timer "never" is still a valid instant.
    // Out of line, like `saturating_micros`: inlined at each of the engine's dozen deadlines,
    // the conversion's overflow checks cost the wasm module 225 B gzip (measured).
    #[inline(never)]
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(saturating_micros(rhs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturating_mul_agrees_with_core() {
        for a in [
            0,
            1,
            7,
            u64::MAX / 1000,
            u64::MAX / 1000 + 1,
            u64::MAX / 3,
            u64::MAX,
        ] {
            for b in [0, 1, 3, 10, 1000, 1_000_000, u64::MAX] {
                assert_eq!(saturating_mul(a, b), a.saturating_mul(b), "{a} * {b}");
            }
        }
        assert_eq!(saturating_micros(Duration::MAX), u64::MAX);
        assert_eq!(ceil_millis(Duration::MAX), u64::MAX);
        assert_eq!(ceil_millis(Duration::from_nanos(1_000_001)), 2);
    }

    #[test]
    fn part_arithmetic_agrees_with_core() {
        let samples = [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_nanos(999),
            Duration::from_nanos(1_500),
            Duration::from_micros(999_999),
            Duration::from_millis(1500),
            Duration::from_secs(1),
            Duration::new(3, 999_999_999),
            Duration::new(u64::MAX / 1_000_000, 999_999_999),
            Duration::new(u64::MAX / 1_000_000 + 1, 0),
            Duration::new(u64::MAX >> 20, 7),
            Duration::new(u64::MAX - 1, 5),
            Duration::MAX,
        ];
        for a in samples {
            for b in samples {
                for whole in [0, 1, u64::MAX] {
                    let expected = b
                        .checked_add(Duration::from_secs(whole))
                        .map_or(0, |b| saturating_micros(a.saturating_sub(b)));
                    assert_eq!(
                        micros_less(a, b, whole),
                        expected,
                        "{a:?} - {b:?} - {whole}"
                    );
                    // The engine's use: the whole seconds first, then `b`.
                    let chained = a
                        .saturating_sub(Duration::from_secs(whole))
                        .saturating_sub(b);
                    assert_eq!(micros_less(a, b, whole), saturating_micros(chained));
                }
            }
            for doublings in [0, 1, 2, 19, 20, 31] {
                assert_eq!(
                    doubled(a, doublings),
                    a.saturating_mul(1 << doublings),
                    "{a:?} * 2^{doublings}"
                );
            }
        }
    }

    #[test]
    fn earliest_skips_the_absent() {
        let at = Instant::from_millis;
        assert_eq!(
            earliest([None, Some(at(9)), Some(at(3)), None]),
            Some(at(3))
        );
        assert_eq!(earliest([Some(at(4)), Some(at(4))]), Some(at(4)));
        assert_eq!(earliest::<2>([None, None]), None);
    }

    #[test]
    fn conversions_and_saturation() {
        assert_eq!(Instant::from_millis_f64(1500.0), Instant::from_millis(1500));
        assert_eq!(Instant::from_millis_f64(f64::NAN), Instant::ZERO);
        assert_eq!(Instant::from_millis_f64(-3.0), Instant::ZERO);
        assert_eq!(Instant::from_millis_f64(1e300).elapsed(), Duration::MAX);
        // Kept to the microsecond.
        assert_eq!(
            Instant::from_elapsed(Duration::from_nanos(1_999)),
            Instant::from_millis_f64(0.001)
        );
        assert_eq!(
            Instant::from_elapsed(Duration::from_nanos(1_999)).elapsed(),
            Duration::from_micros(1)
        );
        let late = Instant::from_elapsed(Duration::MAX) + Duration::from_secs(1);
        assert_eq!(late.elapsed(), Duration::MAX);
        assert_eq!(
            Instant::from_millis(5).saturating_duration_since(Instant::from_millis(9)),
            Duration::ZERO
        );
    }
}
