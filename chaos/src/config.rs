//! What faults the proxy injects: fixed at start by [`ChaosConfig`], and changeable while it
//! runs through the proxy's setters (they all write one [`Settings`] value).

use std::time::Duration;

/// How the proxy misbehaves from the start. Every field defaults to "behave": no latency, no
/// scheduled drops, so a default proxy is a plain TCP relay until told otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct ChaosConfig {
    /// Seed of every random choice (drop intervals, which drops truncate or reset, jitter):
    /// the same seed gives the same fault schedule. Timing on a real machine still varies, so
    /// the same seed does not promise the same bytes on the wire.
    pub seed: u64,
    /// Added to every chunk of bytes in both directions.
    pub latency: Duration,
    /// Up to this much more, uniform, per chunk (order is kept: a chunk never overtakes the
    /// one before it).
    pub jitter: Duration,
    /// Drop every live connection at intervals drawn uniformly from this range; `None`: only
    /// when asked ([`crate::ChaosProxy::drop_all`]).
    pub drop_every: Option<(Duration, Duration)>,
    /// Share of the connections a scheduled drop ends by cutting a WebSocket frame in the
    /// middle (then closing) rather than cutting between frames.
    pub truncate_probability: f64,
    /// Share of plain cuts that reset the connection (RST) instead of closing it (FIN).
    pub reset_probability: f64,
}

impl Default for ChaosConfig {
    fn default() -> Self {
        ChaosConfig {
            seed: 0,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            drop_every: None,
            truncate_probability: 0.0,
            reset_probability: 0.5,
        }
    }
}

/// The faults in force now (the configuration, as changed since).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub latency: Duration,
    pub jitter: Duration,
    pub drop_every: Option<(Duration, Duration)>,
    pub truncate_probability: f64,
    pub reset_probability: f64,
    /// Links forward nothing while this is on.
    pub blackhole: bool,
    /// New connections are refused until then.
    pub refuse_until: Option<tokio::time::Instant>,
}

impl Settings {
    pub(crate) fn from_config(config: &ChaosConfig) -> Self {
        Settings {
            latency: config.latency,
            jitter: config.jitter,
            drop_every: config.drop_every,
            truncate_probability: config.truncate_probability,
            reset_probability: config.reset_probability,
            blackhole: false,
            refuse_until: None,
        }
    }

    pub(crate) fn refusing(&self, now: tokio::time::Instant) -> bool {
        self.refuse_until.is_some_and(|until| now < until)
    }
}

/// Parses a drop range: `"200..3000"` (milliseconds, inclusive bounds) or one number for a
/// fixed interval. Both bounds must be positive.
pub fn parse_range_ms(text: &str) -> Result<(Duration, Duration), String> {
    let parse = |part: &str| -> Result<Duration, String> {
        let ms: u64 = part
            .trim()
            .parse()
            .map_err(|_| format!("`{part}` is not a number of milliseconds"))?;
        if ms == 0 {
            return Err("a drop interval must be at least 1 ms".to_owned());
        }
        Ok(Duration::from_millis(ms))
    };
    match text.split_once("..") {
        Some((low, high)) => {
            let (low, high) = (parse(low)?, parse(high)?);
            if low > high {
                return Err(format!(
                    "empty range {text}: the low bound is above the high one"
                ));
            }
            Ok((low, high))
        }
        None => parse(text).map(|d| (d, d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        let ms = Duration::from_millis;
        assert_eq!(parse_range_ms("200..3000"), Ok((ms(200), ms(3000))));
        assert_eq!(parse_range_ms("500"), Ok((ms(500), ms(500))));
        assert!(parse_range_ms("3000..200").is_err());
        assert!(parse_range_ms("0..5").is_err());
        assert!(parse_range_ms("fast").is_err());
    }

    #[test]
    fn refusal_ends_at_its_deadline() {
        let now = tokio::time::Instant::now();
        let mut settings = Settings::from_config(&ChaosConfig::default());
        assert!(!settings.refusing(now));
        settings.refuse_until = Some(now + Duration::from_secs(1));
        assert!(settings.refusing(now));
        assert!(!settings.refusing(now + Duration::from_secs(1)));
    }
}
