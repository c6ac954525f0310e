//! Settings: named constants and the `*Config` structs, each with classroom defaults.
//!
//! Values are read from flags or environment variables only in [`crate::settings`]; the
//! library takes these structs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The topic events travel on (the original system's name).
pub const TWEETS_TOPIC: &str = "tweets_topic";

/// Where Docker's Kafka listens (and where clients look first).
pub const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:9092";

/// The original generator's users.
pub(crate) const DEFAULT_USERS: [&str; 3] = ["@DataFan", "@SparkGuru", "@PythonDev"];

/// The original generator's hashtags.
pub const DEFAULT_HASHTAGS: [&str; 4] = ["#Spark", "#BigData", "#RealTime", "#IA"];

/// Default weights of [`DEFAULT_HASHTAGS`]: `#Spark` is favoured so the demo has a clear
/// leader (the original picked it about twice as often as each other tag).
pub(crate) const DEFAULT_WEIGHTS: [f64; 4] = [0.4, 0.2, 0.2, 0.2];

/// [`DEFAULT_HASHTAGS`] with their default weights, as `HASHTAG_WEIGHTS` writes them.
pub const DEFAULT_WEIGHTS_SPEC: &str = "#Spark=4,#BigData=2,#RealTime=2,#IA=2";

/// Events per second the producer sends by default (the original sent 1; 5 fills the
/// windows of a classroom demo faster).
pub const DEFAULT_RATE: f64 = 5.0;

/// The generator's default seed: same seed, same stream.
pub const DEFAULT_SEED: u64 = 42;

/// The original generator's phrases; the text of an event is `"<phrase> <hashtag>"`.
pub(crate) const DEFAULT_PHRASES: [&str; 3] = [
    "increíble la velocidad de",
    "mañana examen de",
    "proyecto sobre",
];

/// Which clock decides the window an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TimeDomain {
    /// When the consumer received the event (what the original Spark job did).
    #[default]
    ProcessingTime,
    /// The event's own `timestamp` field.
    EventTime,
}

impl std::str::FromStr for TimeDomain {
    type Err = Error;
    fn from_str(s: &str) -> Result<TimeDomain, Error> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_', ' '], "")
            .as_str()
        {
            "processing" | "processingtime" => Ok(TimeDomain::ProcessingTime),
            "event" | "eventtime" => Ok(TimeDomain::EventTime),
            _ => Err(Error::config(
                "time_domain",
                s,
                "use `processing` or `event`",
            )),
        }
    }
}

/// Settings of the window engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowConfig {
    /// How long each window is (Spark's `window(ts, "60 seconds")`).
    pub width: Duration,
    /// How often a new window starts; equal to `width` for tumbling windows.
    pub slide: Duration,
    /// How far behind the newest event time the watermark trails.
    pub watermark_delay: Duration,
    /// Processing time or event time.
    pub time_domain: TimeDomain,
    /// How many closed windows to keep for trend charts.
    pub history: usize,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig::tumbling(Duration::from_secs(60))
    }
}

impl WindowConfig {
    /// Tumbling windows of `width`, 60 s watermark delay, processing time.
    pub fn tumbling(width: Duration) -> WindowConfig {
        WindowConfig {
            width,
            slide: width,
            watermark_delay: Duration::from_secs(60),
            time_domain: TimeDomain::ProcessingTime,
            history: 30,
        }
    }

    /// Sliding windows of `width`, a new one every `slide`.
    pub fn sliding(width: Duration, slide: Duration) -> WindowConfig {
        WindowConfig {
            slide,
            ..WindowConfig::tumbling(width)
        }
    }

    /// The same settings with another watermark delay.
    pub fn with_watermark(mut self, delay: Duration) -> WindowConfig {
        self.watermark_delay = delay;
        self
    }

    /// The same settings in another time domain.
    pub fn with_time_domain(mut self, domain: TimeDomain) -> WindowConfig {
        self.time_domain = domain;
        self
    }

    /// Checks that width and slide are whole, positive milliseconds and that the slide
    /// divides the width.
    pub fn validate(&self) -> Result<(), Error> {
        let w = self.width.as_micros();
        let s = self.slide.as_micros();
        if w == 0 || w % 1000 != 0 {
            return Err(Error::config(
                "window.width",
                format!("{:?}", self.width),
                "use a positive whole number of milliseconds, e.g. 60 s",
            ));
        }
        if s == 0 || s % 1000 != 0 || s > w || w % s != 0 {
            return Err(Error::config(
                "window.slide",
                format!("{:?}", self.slide),
                "use a positive slide that divides the width, e.g. 10 s for 60 s windows",
            ));
        }
        if w / s > 3600 {
            return Err(Error::config(
                "window.slide",
                format!("{:?}", self.slide),
                "a window may overlap at most 3600 others; use a longer slide",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_table() {
        let s = Duration::from_secs;
        let ok = [
            WindowConfig::default(),
            WindowConfig::sliding(s(60), s(10)),
            WindowConfig::sliding(s(60), s(60)),
            WindowConfig::tumbling(Duration::from_millis(1)),
        ];
        for c in ok {
            assert!(c.validate().is_ok(), "{c:?}");
        }
        let bad = [
            WindowConfig::tumbling(s(0)),
            WindowConfig::sliding(s(60), s(0)),
            WindowConfig::sliding(s(60), s(7)),
            WindowConfig::sliding(s(60), s(120)),
            WindowConfig::tumbling(Duration::from_micros(1500)),
        ];
        for c in bad {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.starts_with("invalid setting window."), "{e}");
        }
    }

    #[test]
    fn time_domain_parses() {
        assert_eq!(
            "event".parse::<TimeDomain>().unwrap(),
            TimeDomain::EventTime
        );
        assert_eq!(
            "Processing-Time".parse::<TimeDomain>().unwrap(),
            TimeDomain::ProcessingTime
        );
        assert!("wall".parse::<TimeDomain>().is_err());
    }
}
