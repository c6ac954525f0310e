//! Settings: named constants and the `*Config` structs, each with classroom defaults.
//!
//! Values are read from flags or environment variables only in [`crate::settings`]; the
//! library takes these structs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::lang::tr;
use crate::error::Error;

/// The topic events travel on (the original system's name).
pub const TWEETS_TOPIC: &str = "tweets_topic";

/// Where Docker's Kafka listens: where a client connects when it is given no address and
/// finds no broker program's published one.
pub const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:9092";

/// Where Docker's three brokers listen (`docker/docker-compose.cluster.yml`,
/// `DOCKER_BROKERS=3`): each broker's own advertised address.
pub const CLUSTER_BOOTSTRAP: &str = "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096";

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

/// How a setting's value is compared with the names it accepts: case, spaces, `-` and `_`
/// do not matter (`Processing-Time` = `processingtime`).
fn spelling(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace(['-', '_', ' '], "")
}

/// Which clock decides the window an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TimeDomain {
    /// When the consumer received the event (what the original Spark job did).
    #[default]
    ProcessingTime,
    /// The event's own `timestamp` field.
    EventTime,
}

/// In words: `processing time`, `event time`.
impl std::fmt::Display for TimeDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeDomain::ProcessingTime => tr("processing time", "tiempo de procesamiento"),
            TimeDomain::EventTime => tr("event time", "tiempo de evento"),
        })
    }
}

impl std::str::FromStr for TimeDomain {
    type Err = Error;
    fn from_str(s: &str) -> Result<TimeDomain, Error> {
        match spelling(s).as_str() {
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

/// Which rule decides that data came too late (the `window` module docs explain both with
/// an example).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LateRule {
    /// What Spark Structured Streaming does (checked against PySpark 4.3): a row is dropped
    /// from a window only when the window's *end* is at or before the watermark of the
    /// previous trigger; with sliding windows each (row, window) pair is judged on its own.
    /// Windows close one trigger after the watermark passes their end.
    #[default]
    SparkWindowEnd,
    /// Drop an event whose time is before the current watermark, from all its windows;
    /// windows close at the trigger that moves the watermark past their end. Stricter than
    /// Spark (it drops rows Spark would still count) but within Spark's documented contract.
    PerEvent,
}

impl std::str::FromStr for LateRule {
    type Err = Error;
    fn from_str(s: &str) -> Result<LateRule, Error> {
        match spelling(s).as_str() {
            "spark" | "sparkwindowend" | "windowend" => Ok(LateRule::SparkWindowEnd),
            "event" | "perevent" => Ok(LateRule::PerEvent),
            _ => Err(Error::config(
                "late_rule",
                s,
                "use `spark` (a window's end against the previous watermark) or `per-event`",
            )),
        }
    }
}

/// Which of Spark's output modes the engine keeps state for. `update` and `append` count
/// the same way (each [`crate::core::window::Snapshot`] carries what both would write);
/// `complete` changes what is kept and what is late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OutputMode {
    /// Spark's `update` (the original job's): write the (window, hashtag) counts that
    /// changed. The watermark judges late rows and frees closed windows.
    #[default]
    Update,
    /// Spark's `append`: write each window once, when the watermark makes it final.
    /// Counted exactly like `update`.
    Append,
    /// Spark's `complete`: write every window at every trigger. Spark keeps every window
    /// forever and applies no watermark filter to input rows (checked against PySpark
    /// 4.3): late rows are counted and nothing is ever closed, so state grows with the
    /// stream's length. For short lessons only.
    Complete,
}

impl std::str::FromStr for OutputMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<OutputMode, Error> {
        match spelling(s).as_str() {
            "update" => Ok(OutputMode::Update),
            "append" => Ok(OutputMode::Append),
            "complete" => Ok(OutputMode::Complete),
            _ => Err(Error::config(
                "output_mode",
                s,
                "use `update`, `append` or `complete`",
            )),
        }
    }
}

/// In processing time, which clock stamps an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ProcessingClock {
    /// One time per trigger, like Spark's `current_timestamp()`: every event taken in since
    /// the previous trigger is stamped with the time of the trigger that publishes it (in
    /// Spark, the start of the micro-batch that reads it).
    #[default]
    PerTrigger,
    /// Each message is stamped with its own arrival time.
    PerMessage,
}

impl std::str::FromStr for ProcessingClock {
    type Err = Error;
    fn from_str(s: &str) -> Result<ProcessingClock, Error> {
        match spelling(s).as_str() {
            "trigger" | "pertrigger" => Ok(ProcessingClock::PerTrigger),
            "message" | "permessage" => Ok(ProcessingClock::PerMessage),
            _ => Err(Error::config(
                "processing_clock",
                s,
                "use `per-trigger` (Spark's current_timestamp()) or `per-message`",
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
    /// Which data counts as late (Spark's rule by default).
    #[serde(default)]
    pub late_rule: LateRule,
    /// Spark's output mode: `complete` keeps every window and drops no late row.
    #[serde(default)]
    pub output_mode: OutputMode,
    /// In processing time: one stamp per trigger (Spark's `current_timestamp()`, the
    /// default) or one per message.
    #[serde(default)]
    pub processing_clock: ProcessingClock,
    /// How many closed windows to keep for trend charts.
    pub history: usize,
    /// Distinct hashtags kept per pane (a `slide` of time); the events of any further
    /// hashtag are counted under [`crate::core::window::OTHER`], so memory stays bounded
    /// whatever the stream sends.
    #[serde(default = "default_max_hashtags")]
    pub max_hashtags: usize,
    /// In event time: reject an event stamped more than this ahead of the consumer's
    /// clock (`None`: accept any). The watermark follows the newest event, so without a
    /// bound one event stamped in 2100 would make every real event late.
    #[serde(default)]
    pub max_future: Option<Duration>,
    /// The memory budget of the engine's state, in rows: `(pane, hashtag)` counters, the
    /// hashtags waiting for their trigger (per-trigger processing time) and the late-data
    /// groups of the batch, together. When it is full, events of a new hashtag are counted
    /// under [`crate::core::window::OTHER`], and events of a pane that has no room are
    /// counted in the totals only; both are reported. A row holds at most one hashtag of
    /// [`crate::core::event::MAX_HASHTAG_BYTES`], so memory stays under about 330 bytes a
    /// row (see BENCHMARKS.md).
    #[serde(default = "default_max_state_rows")]
    pub max_state_rows: usize,
}

/// Default of [`WindowConfig::max_state_rows`]: about 33 MB of counters at most.
pub const DEFAULT_MAX_STATE_ROWS: usize = 100_000;

/// The range [`WindowConfig::max_state_rows`] may take.
pub const STATE_ROWS_RANGE: std::ops::RangeInclusive<usize> = 1_000..=1_000_000;

fn default_max_state_rows() -> usize {
    DEFAULT_MAX_STATE_ROWS
}

/// Default of [`WindowConfig::max_future`]: five minutes, as the settings' `MAX_FUTURE_SECS`.
/// Without a bound, one event stamped in 2099 would make every real event late.
pub const DEFAULT_MAX_FUTURE: Duration = Duration::from_secs(300);

/// Default of [`WindowConfig::max_hashtags`].
pub const DEFAULT_MAX_HASHTAGS: usize = 100_000;

fn default_max_hashtags() -> usize {
    DEFAULT_MAX_HASHTAGS
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig::tumbling(Duration::from_secs(60))
    }
}

impl WindowConfig {
    /// Tumbling windows of `width`, 60 s watermark delay, processing time stamped once per
    /// trigger, Spark's late-data rule: the original job's settings.
    pub fn tumbling(width: Duration) -> WindowConfig {
        WindowConfig {
            width,
            slide: width,
            watermark_delay: Duration::from_secs(60),
            time_domain: TimeDomain::ProcessingTime,
            late_rule: LateRule::SparkWindowEnd,
            output_mode: OutputMode::Update,
            processing_clock: ProcessingClock::PerTrigger,
            history: 30,
            max_hashtags: DEFAULT_MAX_HASHTAGS,
            max_future: Some(DEFAULT_MAX_FUTURE),
            max_state_rows: DEFAULT_MAX_STATE_ROWS,
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

    /// The same settings with another late-data rule.
    pub fn with_late_rule(mut self, rule: LateRule) -> WindowConfig {
        self.late_rule = rule;
        self
    }

    /// The same settings for another of Spark's output modes.
    pub fn with_output_mode(mut self, mode: OutputMode) -> WindowConfig {
        self.output_mode = mode;
        self
    }

    /// The same settings with another processing-time clock.
    pub fn with_processing_clock(mut self, clock: ProcessingClock) -> WindowConfig {
        self.processing_clock = clock;
        self
    }

    /// The same settings, rejecting event-time events stamped more than `skew` ahead of
    /// the consumer's clock.
    pub fn with_max_future(mut self, skew: Option<Duration>) -> WindowConfig {
        self.max_future = skew;
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
        if self.max_hashtags == 0 {
            return Err(Error::config(
                "window.max_hashtags",
                "0".to_string(),
                "keep at least one hashtag per pane, e.g. 100000",
            ));
        }
        if !STATE_ROWS_RANGE.contains(&self.max_state_rows) {
            return Err(Error::config(
                "window.max_state_rows",
                self.max_state_rows.to_string(),
                "use 1000 to 1000000 rows (the default is 100000)",
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

    #[test]
    fn late_rule_and_clock_parse_and_default_to_spark() {
        assert_eq!(
            "Spark".parse::<LateRule>().unwrap(),
            LateRule::SparkWindowEnd
        );
        assert_eq!("per_event".parse::<LateRule>().unwrap(), LateRule::PerEvent);
        assert!("never".parse::<LateRule>().is_err());
        assert_eq!(
            "per-message".parse::<ProcessingClock>().unwrap(),
            ProcessingClock::PerMessage
        );
        assert!("sundial".parse::<ProcessingClock>().is_err());
        assert_eq!(
            "Complete".parse::<OutputMode>().unwrap(),
            OutputMode::Complete
        );
        assert!("all".parse::<OutputMode>().is_err());
        let d = WindowConfig::default();
        assert_eq!(
            (d.late_rule, d.processing_clock),
            (LateRule::SparkWindowEnd, ProcessingClock::PerTrigger)
        );
        // Settings saved before these fields existed still load, with the defaults.
        let old = r#"{"width":{"secs":60,"nanos":0},"slide":{"secs":60,"nanos":0},
            "watermark_delay":{"secs":60,"nanos":0},"time_domain":"EventTime","history":30}"#;
        let c: WindowConfig = serde_json::from_str(old).unwrap();
        assert_eq!(c.late_rule, LateRule::SparkWindowEnd);
        assert_eq!(c.output_mode, OutputMode::Update);
    }
}
