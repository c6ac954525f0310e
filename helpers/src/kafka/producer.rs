//! The producer: streams generated events to `tweets_topic` at a set rate.
//!
//! [`run`] is the loop (used by the `producer` program); [`Producer::spawn`] starts that
//! program in the background from a notebook cell and returns a handle. The loop:
//! draws an event from the [`Generator`], writes its JSON into a reused buffer, and sends
//! it keyed by user (so all of one user's posts land in one partition, in order). The
//! producer is idempotent with `acks=all`: a retried send is never stored twice. Counters
//! (sent, acknowledged, failed, per hashtag) go to a stats file twice a second, never to
//! stdout.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::ClientContext;
use serde::{Deserialize, Serialize};

use crate::core::config::{DEFAULT_RATE, TWEETS_TOPIC};
use crate::core::generator::{Generator, GeneratorConfig, TrendShift};
use crate::core::time::Timestamp;
use crate::error::{Component, Error, Result};
use crate::kafka::client::{fallback_bootstrap, find_bootstrap, producer_config};
use crate::sys::binary::binary;
use crate::sys::lock;
use crate::sys::process::read_live_record;
use crate::sys::process::spawn_child;
use crate::sys::process::terminate_child;
use crate::sys::process::terminate_recorded;
use crate::sys::process::ProcessRecord;
use crate::sys::signal::Shutdown;
use crate::sys::state::default_state_dir;
use crate::sys::state::ensure_dir;
use crate::sys::state::write_atomic;
use crate::sys::validate_name;
use crate::sys::wait::until;

/// Settings of the producer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProducerConfig {
    /// Broker address; empty means "find it" (the notebook's settings fill it from
    /// `KAFKA_BOOTSTRAP` when set: [`crate::settings::Environment::place_producer`]): the address a running broker program
    /// published in `state_dir`, else `fallback_bootstrap` (see
    /// [`crate::kafka::client::find_bootstrap`]).
    pub bootstrap: String,
    /// Where to connect when `bootstrap` is empty and no broker program published its
    /// address: Docker's Kafka (`127.0.0.1:9092`; the settings give its three addresses
    /// with `DOCKER_BROKERS=3`).
    #[serde(default = "fallback_bootstrap")]
    pub fallback_bootstrap: String,
    /// Topic to write to.
    pub topic: String,
    /// Events per second; 0 means as fast as possible. The original sent 1 per second.
    pub rate: f64,
    /// Stop after this many events (`None`: run until stopped).
    pub count: Option<u64>,
    /// What to generate.
    pub generator: GeneratorConfig,
    /// Share of events (0..1) stamped in the past, to show late data in event time.
    pub late_share: f64,
    /// How far in the past such a late event is stamped, at most.
    pub max_lateness: Duration,
    /// Where the pid, config, stats and log files go.
    pub state_dir: PathBuf,
    /// Let [`Producer::spawn`] start another producer while one runs (default: replace it).
    pub allow_multiple: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            bootstrap: String::new(),
            fallback_bootstrap: fallback_bootstrap(),
            topic: TWEETS_TOPIC.to_string(),
            rate: DEFAULT_RATE,
            count: None,
            generator: GeneratorConfig::default(),
            late_share: 0.0,
            max_lateness: Duration::from_secs(120),
            state_dir: default_state_dir(),
            allow_multiple: false,
        }
    }
}

/// The slowest rate a producer paces at: one event every 1,000 s. (Slower rates are
/// refused: pacing at 1e-30 events/s would wait longer than a clock can count.)
pub const MIN_RATE: f64 = 0.001;

/// The fastest rate a producer is asked for, in events per second.
pub const MAX_RATE: f64 = 10_000_000.0;

/// Checks an event rate: 0 (as fast as possible), or [`MIN_RATE`] to [`MAX_RATE`] events
/// per second. The settings, the producer's flags and [`Producer::set_rate`] all use it.
pub fn check_rate(rate: f64) -> Result<()> {
    if rate == 0.0 || (rate.is_finite() && (MIN_RATE..=MAX_RATE).contains(&rate)) {
        Ok(())
    } else {
        Err(Error::config(
            "rate",
            rate,
            &format!("use 0 (as fast as possible) or {MIN_RATE} to {MAX_RATE} events per second"),
        ))
    }
}

impl ProducerConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        validate_name("topic", &self.topic)?;
        check_rate(self.rate)?;
        if !(0.0..=1.0).contains(&self.late_share) {
            return Err(Error::config(
                "late_share",
                self.late_share,
                "use a share between 0 and 1",
            ));
        }
        self.generator.validate()
    }
}

/// The producer's counters, as written to its stats file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProducerStats {
    /// The producer's pid.
    pub pid: u32,
    /// False once the loop ended and everything was flushed.
    pub running: bool,
    /// Events handed to the Kafka client.
    pub sent: u64,
    /// Events the broker acknowledged (stored on all in-sync replicas).
    pub acked: u64,
    /// Events that failed for good (delivery timeout, or an error).
    pub failed: u64,
    /// The hashtags, in generator order.
    pub hashtags: Vec<String>,
    /// Events acknowledged per hashtag (same order): what a consumer must count.
    pub acked_per_hashtag: Vec<u64>,
    /// The target rate (events/s, 0 = max).
    pub rate_target: f64,
    /// Acknowledged events per second over the last stats interval.
    pub rate_actual: f64,
    /// The last delivery error, if any.
    pub last_error: Option<String>,
    /// When the producer started.
    pub started: Timestamp,
    /// When these stats were written.
    pub updated: Timestamp,
}

/// Live changes to a running producer, written by [`Producer::set_rate`] and
/// [`Producer::set_trend`] and read by the loop twice a second.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProducerControl {
    /// New target rate (events/s, 0 = max).
    pub rate: Option<f64>,
    /// Trend shift period in seconds; `Some(0.0)` turns it off.
    pub trend_every_secs: Option<f64>,
}

/// Delivery reports: counted per hashtag (the message's opaque is its hashtag index).
struct Counting {
    /// Acknowledged events per hashtag.
    acked: Vec<AtomicU64>,
    /// Failed events.
    failed: AtomicU64,
    /// Last delivery error.
    last_error: Mutex<Option<String>>,
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = usize;
    fn delivery(&self, result: &DeliveryResult<'_>, hashtag: usize) {
        match result {
            Ok(_) => {
                self.acked[hashtag].fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                *lock(&self.last_error) = Some(e.to_string());
            }
        }
    }
}

/// The Kafka producer of the demo.
fn create_producer(bootstrap: &str, hashtags: usize) -> Result<BaseProducer<Counting>> {
    let context = Counting {
        acked: (0..hashtags).map(|_| AtomicU64::new(0)).collect(),
        failed: AtomicU64::new(0),
        last_error: Mutex::new(None),
    };
    producer_config(bootstrap)
        .create_with_context(context)
        .map_err(|e| Error::kafka("creating the producer", e))
}

/// Runs the producer loop until `shutdown`, or until `config.count` events are sent; then
/// flushes and returns the final counters. Writes them to `stats_file` twice a second.
pub fn run(
    config: &ProducerConfig,
    shutdown: &Shutdown,
    stats_file: Option<&Path>,
) -> Result<ProducerStats> {
    run_controlled(config, shutdown, stats_file, None)
}

/// [`run`], also applying the [`ProducerControl`] found in `control_file` (if any) twice a
/// second.
pub fn run_controlled(
    config: &ProducerConfig,
    shutdown: &Shutdown,
    stats_file: Option<&Path>,
    control_file: Option<&Path>,
) -> Result<ProducerStats> {
    config.validate()?;
    let bootstrap = if config.bootstrap.is_empty() {
        find_bootstrap(&config.state_dir, &config.fallback_bootstrap)
    } else {
        config.bootstrap.clone()
    };
    let mut l = ProducerLoop::new(config, &bootstrap, stats_file, control_file)?;
    l.write_stats();
    while !shutdown.is_triggered() && config.count.is_none_or(|n| l.stats.sent < n) {
        if l.wait_until_due() {
            continue;
        }
        l.send_one(shutdown)?;
        if l.last_stats.elapsed() >= Duration::from_millis(500) {
            l.every_half_second()?;
        }
    }
    // Whatever is in flight is delivered (or fails) before we report.
    let _ = l.producer.flush(Duration::from_secs(35));
    l.stats.running = false;
    l.write_stats();
    Ok(l.stats)
}

/// The producer loop's state, one named step per job: pacing, sending one event, and
/// (twice a second) applying live changes and writing the counters.
struct ProducerLoop<'a> {
    /// The settings.
    config: &'a ProducerConfig,
    /// Where the counters go, if anywhere.
    stats_file: Option<&'a Path>,
    /// Where live changes come from, if anywhere.
    control_file: Option<&'a Path>,
    /// The Kafka client (counts acknowledgements per hashtag in its context).
    producer: BaseProducer<Counting>,
    /// The synthetic social network.
    generator: Generator,
    /// Decides which events are stamped in the past (its own seed: the stream of events
    /// stays the same whatever the late share).
    late_rng: StdRng,
    /// Most a late event is stamped in the past, µs.
    max_late: i64,
    /// The counters, as written to the stats file.
    stats: ProducerStats,
    /// Target events per second (0 = as fast as possible).
    rate: f64,
    /// When pacing at `rate` started, and how many had been sent then: event i is due at
    /// `start + (i - sent_at_start) / rate`.
    start: Instant,
    /// See `start`.
    sent_at_start: u64,
    /// When the counters were last written, and the acknowledged count then.
    last_stats: Instant,
    /// See `last_stats`.
    last_acked: u64,
    /// The last control file content applied.
    control_seen: Option<ProducerControl>,
    /// The JSON of the event being sent (reused).
    buf: Vec<u8>,
}

impl<'a> ProducerLoop<'a> {
    /// Creates the client and the generator.
    fn new(
        config: &'a ProducerConfig,
        bootstrap: &str,
        stats_file: Option<&'a Path>,
        control_file: Option<&'a Path>,
    ) -> Result<ProducerLoop<'a>> {
        let generator = Generator::new(config.generator.clone())?;
        let producer = create_producer(bootstrap, generator.config().hashtags.len())?;
        let stats = ProducerStats {
            pid: std::process::id(),
            running: true,
            hashtags: generator.config().hashtags.clone(),
            rate_target: config.rate,
            started: Timestamp::now(),
            ..Default::default()
        };
        Ok(ProducerLoop {
            config,
            stats_file,
            control_file,
            producer,
            generator,
            late_rng: StdRng::seed_from_u64(config.generator.seed ^ 0x5eed),
            max_late: crate::core::time::duration_micros(config.max_lateness),
            stats,
            rate: config.rate,
            start: Instant::now(),
            sent_at_start: 0,
            last_stats: Instant::now(),
            last_acked: 0,
            control_seen: None,
            buf: Vec::with_capacity(256),
        })
    }

    /// Pacing: if the next event is not due yet, serve the client and sleep a little
    /// (at most 50 ms, so stop requests are seen); returns whether it waited.
    fn wait_until_due(&mut self) -> bool {
        if self.rate <= 0.0 {
            return false;
        }
        let sent = (self.stats.sent - self.sent_at_start) as f64;
        // Never a panic, whatever the rate: a due time past what the clock can hold is
        // "not yet".
        let due = Duration::try_from_secs_f64(sent / self.rate)
            .ok()
            .and_then(|d| self.start.checked_add(d));
        let now = Instant::now();
        let Some(due) = due else {
            std::thread::sleep(Duration::from_millis(50));
            return true;
        };
        if due <= now {
            return false;
        }
        self.producer.poll(Duration::ZERO);
        std::thread::sleep((due - now).min(Duration::from_millis(50)));
        true
    }

    /// Generates one event (stamped in the past for a `late_share` of them) and hands it
    /// to the client, waiting while the client's queue is full.
    fn send_one(&mut self, shutdown: &Shutdown) -> Result<()> {
        let mut ts = Timestamp::now();
        if self.config.late_share > 0.0 && self.late_rng.random::<f64>() < self.config.late_share {
            ts = Timestamp(ts.micros() - self.late_rng.random_range(0..=self.max_late));
        }
        let draw = self.generator.next_json(ts.as_secs_f64(), &mut self.buf);
        let key = self.generator.config().users[draw.user].as_bytes();
        let mut record = BaseRecord::with_opaque_to(&self.config.topic, draw.hashtag)
            .payload(&self.buf[..])
            .key(key);
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    // The client's queue is full: let it deliver, then retry.
                    self.producer.poll(Duration::from_millis(5));
                    record = r;
                    if shutdown.is_triggered() {
                        break;
                    }
                }
                Err((e, _)) => return Err(Error::kafka("sending an event", e)),
            }
        }
        self.stats.sent += 1;
        if self.stats.sent % 1024 == 0 {
            self.producer.poll(Duration::ZERO);
        }
        Ok(())
    }

    /// Twice a second: apply live changes, write the counters, measure the actual rate.
    fn every_half_second(&mut self) -> Result<()> {
        self.producer.poll(Duration::ZERO);
        self.apply_control()?;
        self.write_stats();
        let secs = self.last_stats.elapsed().as_secs_f64();
        self.stats.rate_actual = (self.stats.acked - self.last_acked) as f64 / secs;
        self.last_acked = self.stats.acked;
        self.last_stats = Instant::now();
        Ok(())
    }

    /// Applies a new rate or trend found in the control file (once per change).
    fn apply_control(&mut self) -> Result<()> {
        let Some(control) = self
            .control_file
            .and_then(|p| crate::sys::state::read(p).ok())
            .and_then(|b| serde_json::from_slice::<ProducerControl>(&b).ok())
        else {
            return Ok(());
        };
        if self.control_seen.as_ref() == Some(&control) {
            return Ok(());
        }
        if let Some(r) = control.rate.filter(|r| check_rate(*r).is_ok()) {
            self.rate = r;
            self.stats.rate_target = r;
            self.start = Instant::now();
            self.sent_at_start = self.stats.sent;
        }
        if let Some(every) = control.trend_every_secs.filter(|e| e.is_finite()) {
            let trend = (every > 0.0).then(|| TrendShift {
                every: Duration::from_secs_f64(every),
            });
            self.generator.set_trend(trend)?;
        }
        self.control_seen = Some(control);
        Ok(())
    }

    /// Copies the client's counters into `stats` and writes them to the stats file.
    fn write_stats(&mut self) {
        let ctx = self.producer.context();
        let stats = &mut self.stats;
        stats.acked_per_hashtag = ctx
            .acked
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .collect();
        stats.acked = stats.acked_per_hashtag.iter().sum();
        stats.failed = ctx.failed.load(Ordering::Relaxed);
        stats.last_error = lock(&ctx.last_error).clone();
        stats.updated = Timestamp::now();
        if let Some(path) = self.stats_file {
            let _ = write_atomic(
                path,
                &serde_json::to_vec_pretty(stats).expect("stats serialise"),
            );
        }
    }
}

/// File names in the state directory.
const PID_FILE: &str = "producer.pid";
/// The config handed to the background producer.
const CONFIG_FILE: &str = "producer-config.json";
/// Its counters.
pub(crate) const STATS_FILE: &str = "producer-stats.json";
/// Its log (stderr).
const LOG_FILE: &str = "producer.log";
/// Live changes for it.
const CONTROL_FILE: &str = "producer-control.json";

/// A producer running in the background. Cheap to clone; the process is stopped when
/// [`Producer::stop`] is called, when the last clone is dropped, or when this process dies.
#[derive(Debug, Clone)]
pub struct Producer {
    /// The child process, shared by the clones.
    inner: Arc<ProducerProcess>,
}

/// The owned child; stopping it on drop is the point.
#[derive(Debug)]
struct ProducerProcess {
    /// The `producer` program.
    child: Mutex<Child>,
    /// Where it writes its counters.
    stats_path: PathBuf,
    /// Its pid file (removed when it stops).
    pid_path: PathBuf,
    /// Where live changes are written.
    control_path: PathBuf,
    /// The changes asked so far.
    control: Mutex<ProducerControl>,
}

impl Drop for ProducerProcess {
    fn drop(&mut self) {
        let mut child = lock(&self.child);
        terminate_child(&mut child, Duration::from_secs(40));
        if read_live_record(&self.pid_path).is_none() {
            let _ = fs::remove_file(&self.pid_path);
        }
    }
}

impl Producer {
    /// Starts the `producer` program in the background with `config` (building it first if
    /// needed). A producer already running from the same state directory is stopped first,
    /// unless `config.allow_multiple`.
    pub fn spawn(config: ProducerConfig) -> Result<Producer> {
        let mut config = config;
        config.validate()?;
        if config.bootstrap.is_empty() {
            config.bootstrap = find_bootstrap(&config.state_dir, &config.fallback_bootstrap);
        }
        let dir = config.state_dir.clone();
        ensure_dir(&dir)?;
        let pid_path = dir.join(PID_FILE);
        if !config.allow_multiple {
            // Only the producer the pid file names, if it still runs: never a process
            // that was given its pid since.
            if let Some(old) = read_live_record(&pid_path) {
                terminate_recorded(&old, Duration::from_secs(40));
            }
        }
        let program = binary("producer")?;
        let cfg_path = dir.join(CONFIG_FILE);
        write_atomic(
            &cfg_path,
            &serde_json::to_vec_pretty(&config).expect("config serialises"),
        )?;
        let stats_path = dir.join(STATS_FILE);
        let _ = fs::remove_file(&stats_path);
        let control_path = dir.join(CONTROL_FILE);
        let _ = fs::remove_file(&control_path);
        // Paths travel as they are (OsString): a folder's name need not be UTF-8.
        let args: Vec<std::ffi::OsString> = vec![
            "--config".into(),
            cfg_path.into(),
            "--stats-file".into(),
            stats_path.clone().into(),
            "--control-file".into(),
            control_path.clone().into(),
        ];
        let child = spawn_child(&program, &args, &dir.join(LOG_FILE))?;
        // The child is ours and not reaped yet: its pid cannot have been reused.
        let record = ProcessRecord::of(child.id(), "producer").ok_or_else(|| Error::Failed {
            component: Component::Producer,
            detail: format!("pid {} ended at once: see {}", child.id(), LOG_FILE),
        })?;
        write_atomic(
            &pid_path,
            &serde_json::to_vec(&record).expect("record serialises"),
        )?;
        Ok(Producer {
            inner: Arc::new(ProducerProcess {
                child: Mutex::new(child),
                stats_path,
                pid_path,
                control_path,
                control: Mutex::new(ProducerControl::default()),
            }),
        })
    }

    /// The state directory it runs from (its pid, stats and log files).
    pub fn state_dir(&self) -> &Path {
        self.inner.pid_path.parent().unwrap_or(Path::new("."))
    }

    /// The producer's pid.
    pub fn pid(&self) -> u32 {
        lock(&self.inner.child).id()
    }

    /// Whether the process still runs.
    pub fn is_running(&self) -> bool {
        let mut child = lock(&self.inner.child);
        matches!(child.try_wait(), Ok(None))
    }

    /// The latest counters (all zero until the producer wrote its first stats).
    pub fn stats(&self) -> ProducerStats {
        crate::sys::state::read(&self.inner.stats_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Waits until the producer has ended by itself (a `count` was set), up to `wait`;
    /// returns its final counters.
    pub fn wait(&self, wait: Duration) -> Result<ProducerStats> {
        if !until(wait, Duration::from_millis(20), || !self.is_running()) {
            return Err(Error::Timeout {
                what: "the producer to finish".into(),
                secs: wait.as_secs(),
            });
        }
        Ok(self.stats())
    }

    /// Changes the rate of the running producer (events/s, 0 = as fast as possible); it
    /// takes effect within half a second.
    pub fn set_rate(&self, rate: f64) -> Result<()> {
        check_rate(rate)?;
        self.update_control(|c| c.rate = Some(rate))
    }

    /// Turns the trend shift on (the hashtag weights rotate every `every`) or off (`None`).
    pub fn set_trend(&self, every: Option<Duration>) -> Result<()> {
        if every.is_some_and(|e| e < Duration::from_millis(1)) {
            return Err(Error::config(
                "trend",
                format!("{every:?}"),
                "use a period of at least 1 ms",
            ));
        }
        self.update_control(|c| c.trend_every_secs = Some(every.map_or(0.0, |e| e.as_secs_f64())))
    }

    fn update_control(&self, f: impl FnOnce(&mut ProducerControl)) -> Result<()> {
        let mut c = lock(&self.inner.control);
        f(&mut c);
        write_atomic(
            &self.inner.control_path,
            &serde_json::to_vec(&*c).expect("control serialises"),
        )
    }

    /// Stops the producer (it flushes what is in flight first) and returns its final
    /// counters.
    pub fn stop(&self) -> ProducerStats {
        {
            let mut child = lock(&self.inner.child);
            terminate_child(&mut child, Duration::from_secs(40));
        }
        let _ = fs::remove_file(&self.inner.pid_path);
        self.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 23: `--rate 1e-30` (or `set_rate(1e-30)`) made the producer panic on
    /// `Duration::from_secs_f64` overflow. Every rate is now 0 or within a range the
    /// pacing can count, and the same check guards the config, the flag and `set_rate`.
    #[test]
    fn rates_are_zero_or_within_a_countable_range() {
        for ok in [0.0, MIN_RATE, 1.0, 5.0, MAX_RATE] {
            assert!(check_rate(ok).is_ok(), "{ok}");
        }
        for bad in [1e-30, 1e-4, -1.0, f64::NAN, f64::INFINITY, MAX_RATE * 2.0] {
            let e = check_rate(bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid setting rate = "), "{e}");
        }
        let config = ProducerConfig {
            rate: 1e-30,
            ..Default::default()
        };
        assert!(config.validate().is_err());
    }
}
