//! Classroom settings, read from environment variables (the notebook's only input: a
//! headless run sets them to make the demo short).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PRODUCER_RATE` | 5 | events per second (0 = as fast as possible) |
//! | `HASHTAG_WEIGHTS` | `#Spark=4,#BigData=2,#RealTime=2,#IA=2` | hashtags and weights |
//! | `PRODUCER_SEED` | 42 | random seed |
//! | `TREND_EVERY` | (off) | rotate the weights every N seconds |
//! | `LATE_SHARE` | 0 | share of events stamped up to 2 minutes in the past |
//! | `WINDOW_SECS` | 60 | window width |
//! | `SLIDE_SECS` | 10 | window slide (= width: tumbling) |
//! | `WATERMARK_SECS` | 60 | watermark delay |
//! | `TIME_DOMAIN` | processing | `processing` or `event` |
//! | `TRIGGER_SECS` | 10 | how often the consumer ticks |
//! | `WATCH_SECS` | 60 | how long a watch cell runs |
//! | `WATCH_EVERY_SECS` | 10 | how often it prints |

use std::time::Duration;

use crate::config::{TimeDomain, WindowConfig};
use crate::error::{Error, Result};
use crate::generator::TrendShift;
use crate::pipeline::PipelineConfig;
use crate::producer::ProducerConfig;

/// Every setting of the demo.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Producer events per second.
    pub rate: f64,
    /// Hashtags and weights, `#A=2,#B=1`.
    pub weights: String,
    /// Random seed.
    pub seed: u64,
    /// Rotate the weights every this often.
    pub trend_every: Option<Duration>,
    /// Share of late events.
    pub late_share: f64,
    /// Window width.
    pub window: Duration,
    /// Window slide.
    pub slide: Duration,
    /// Watermark delay.
    pub watermark: Duration,
    /// Processing or event time.
    pub time_domain: TimeDomain,
    /// Trigger interval.
    pub trigger: Duration,
    /// Length of a watch cell.
    pub watch: Duration,
    /// Print interval of a watch cell.
    pub watch_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rate: 5.0,
            weights: "#Spark=4,#BigData=2,#RealTime=2,#IA=2".into(),
            seed: 42,
            trend_every: None,
            late_share: 0.0,
            window: Duration::from_secs(60),
            slide: Duration::from_secs(10),
            watermark: Duration::from_secs(60),
            time_domain: TimeDomain::ProcessingTime,
            trigger: Duration::from_secs(10),
            watch: Duration::from_secs(60),
            watch_every: Duration::from_secs(10),
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number(name: &str, default: f64, min: f64) -> Result<f64> {
    match var(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x >= min => Ok(x),
            _ => Err(Error::config(name, &v, &format!("use a number >= {min}"))),
        },
    }
}

fn secs(name: &str, default: Duration) -> Result<Duration> {
    let s = number(name, default.as_secs_f64(), 0.0)?;
    Ok(Duration::from_secs_f64(s))
}

impl Settings {
    /// Reads the environment (see the module docs); a bad value is an error naming it.
    pub fn from_env() -> Result<Settings> {
        let d = Settings::default();
        let trend = number("TREND_EVERY", 0.0, 0.0)?;
        let s = Settings {
            rate: number("PRODUCER_RATE", d.rate, 0.0)?,
            weights: var("HASHTAG_WEIGHTS").unwrap_or(d.weights),
            seed: number("PRODUCER_SEED", d.seed as f64, 0.0)? as u64,
            trend_every: (trend > 0.0).then(|| Duration::from_secs_f64(trend)),
            late_share: number("LATE_SHARE", d.late_share, 0.0)?,
            window: secs("WINDOW_SECS", d.window)?,
            slide: secs("SLIDE_SECS", d.slide)?,
            watermark: secs("WATERMARK_SECS", d.watermark)?,
            time_domain: match var("TIME_DOMAIN") {
                Some(v) => v.parse()?,
                None => d.time_domain,
            },
            trigger: secs("TRIGGER_SECS", d.trigger)?,
            watch: secs("WATCH_SECS", d.watch)?,
            watch_every: secs("WATCH_EVERY_SECS", d.watch_every)?,
        };
        s.producer()?;
        s.window_config().validate()?;
        Ok(s)
    }

    /// The window settings.
    pub fn window_config(&self) -> WindowConfig {
        WindowConfig::sliding(self.window, self.slide)
            .with_watermark(self.watermark)
            .with_time_domain(self.time_domain)
    }

    /// The producer settings.
    pub fn producer(&self) -> Result<ProducerConfig> {
        let mut c = ProducerConfig {
            rate: self.rate,
            late_share: self.late_share,
            ..Default::default()
        };
        c.generator = c.generator.with_weights_spec(&self.weights)?;
        c.generator.seed = self.seed;
        c.generator.trend = self.trend_every.map(|every| TrendShift { every });
        c.validate()?;
        Ok(c)
    }

    /// The consumer settings.
    pub fn pipeline(&self) -> PipelineConfig {
        PipelineConfig {
            window: self.window_config(),
            trigger: self.trigger,
            ..Default::default()
        }
    }

    /// The settings as `(name [VARIABLE], value)` rows.
    pub fn rows(&self) -> Vec<(String, String)> {
        let kind = if self.slide < self.window {
            "sliding"
        } else {
            "tumbling"
        };
        let secs = |d: Duration| format!("{} s", d.as_secs_f64());
        vec![
            (
                "producer rate [PRODUCER_RATE]".into(),
                format!("{} events/s", self.rate),
            ),
            (
                "hashtags and weights [HASHTAG_WEIGHTS]".into(),
                self.weights.clone(),
            ),
            ("seed [PRODUCER_SEED]".into(), self.seed.to_string()),
            (
                "trend shift [TREND_EVERY]".into(),
                self.trend_every
                    .map_or("off".into(), |d| format!("every {}", secs(d))),
            ),
            (
                "late events [LATE_SHARE]".into(),
                format!("{:.0}%", self.late_share * 100.0),
            ),
            (
                "window width [WINDOW_SECS]".into(),
                format!("{} ({kind} windows)", secs(self.window)),
            ),
            ("window slide [SLIDE_SECS]".into(), secs(self.slide)),
            (
                "watermark delay [WATERMARK_SECS]".into(),
                secs(self.watermark),
            ),
            (
                "time domain [TIME_DOMAIN]".into(),
                format!("{:?}", self.time_domain),
            ),
            ("trigger interval [TRIGGER_SECS]".into(), secs(self.trigger)),
            ("watch cell length [WATCH_SECS]".into(), secs(self.watch)),
            (
                "watch cell print interval [WATCH_EVERY_SECS]".into(),
                secs(self.watch_every),
            ),
        ]
    }
}
