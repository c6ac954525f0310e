//! Time as the pipeline sees it: microseconds since the Unix epoch.
//!
//! Events carry their `timestamp` as float seconds; the window engine works on whole
//! microseconds ([`Timestamp`]) so that window boundaries are exact: 59.999 s belongs to
//! the window `[0 s, 60 s)` and 60.000 s to `[60 s, 120 s)`, with no floating-point doubt.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A moment, in whole microseconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Converts float seconds (the wire format) to the nearest microsecond.
    pub fn from_secs_f64(secs: f64) -> Timestamp {
        Timestamp((secs * 1e6).round() as i64)
    }

    /// Whole seconds since the epoch.
    pub fn from_secs(secs: i64) -> Timestamp {
        Timestamp(secs * 1_000_000)
    }

    /// Milliseconds since the epoch.
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms * 1_000)
    }

    /// The wall clock now.
    pub fn now() -> Timestamp {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_micros() as i64)
    }

    /// Microseconds since the epoch.
    pub fn micros(self) -> i64 {
        self.0
    }

    /// Float seconds since the epoch (the wire format).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub(crate) fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0).max(0) as u64)
    }

    /// `HH:MM:SS` (UTC), with milliseconds when they are not zero: how tables show times.
    pub fn clock(self) -> String {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let day = secs.rem_euclid(86_400);
        let (h, m, s) = (day / 3600, day / 60 % 60, day % 60);
        if micros == 0 {
            format!("{h:02}:{m:02}:{s:02}")
        } else {
            format!("{h:02}:{m:02}:{s:02}.{:03}", micros / 1000)
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.clock())
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    /// This moment plus `d` (saturating).
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(duration_micros(d)))
    }
}

impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;
    /// This moment minus `d` (saturating).
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(duration_micros(d)))
    }
}

/// A duration in whole microseconds (saturating).
pub(crate) fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_seconds_round_to_the_microsecond() {
        let cases = [
            (59.999, 59_999_000),
            (60.0, 60_000_000),
            (1733940059.999, 1_733_940_059_999_000),
            (1733940060.0, 1_733_940_060_000_000),
            (0.0000004, 0),
            (0.0000006, 1),
        ];
        for (secs, micros) in cases {
            assert_eq!(Timestamp::from_secs_f64(secs).micros(), micros, "{secs}");
        }
    }

    #[test]
    fn clock_shows_utc_time_of_day() {
        assert_eq!(Timestamp::from_secs(1733940000).clock(), "18:00:00");
        assert_eq!(
            Timestamp::from_millis(1_733_940_000_250).clock(),
            "18:00:00.250"
        );
        assert_eq!(Timestamp(0).since(Timestamp(5)), Duration::ZERO);
    }
}
