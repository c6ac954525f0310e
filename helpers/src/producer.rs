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

use crate::config::TWEETS_TOPIC;
use crate::error::{Error, Result};
use crate::generator::{Generator, GeneratorConfig, TrendShift};
use crate::kafka::base_config;
use crate::process::{
    binary, default_state_dir, ensure_dir, read_live_pid, spawn_child, terminate_child,
    terminate_pid, validate_name, write_atomic, Shutdown,
};
use crate::time::Timestamp;

/// Settings of the producer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProducerConfig {
    /// Broker address; empty means "find it" (see [`crate::infra::bootstrap`]).
    pub bootstrap: String,
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
            topic: TWEETS_TOPIC.to_string(),
            rate: 1.0,
            count: None,
            generator: GeneratorConfig::default(),
            late_share: 0.0,
            max_lateness: Duration::from_secs(120),
            state_dir: default_state_dir(),
            allow_multiple: false,
        }
    }
}

impl ProducerConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        validate_name("topic", &self.topic)?;
        if !self.rate.is_finite() || self.rate < 0.0 {
            return Err(Error::config(
                "rate",
                self.rate,
                "use events per second >= 0 (0 = as fast as possible)",
            ));
        }
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
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
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
    base_config(bootstrap)
        // Exactly-once storage per partition: retries never duplicate an event.
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // Wait up to 5 ms to batch events: high throughput, low latency.
        .set("linger.ms", "5")
        // Give up on an event after 30 s without a broker (then it counts as failed).
        .set("message.timeout.ms", "30000")
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
    let mut rate = config.rate;
    let mut control_seen: Option<ProducerControl> = None;
    let bootstrap = if config.bootstrap.is_empty() {
        crate::infra::bootstrap(&config.state_dir)
    } else {
        config.bootstrap.clone()
    };
    let mut generator = Generator::new(config.generator.clone())?;
    let producer = create_producer(&bootstrap, generator.config().hashtags.len())?;
    let mut late_rng = StdRng::seed_from_u64(config.generator.seed ^ 0x5eed);
    let mut stats = ProducerStats {
        pid: std::process::id(),
        running: true,
        hashtags: generator.config().hashtags.clone(),
        rate_target: config.rate,
        started: Timestamp::now(),
        ..Default::default()
    };
    let write_stats = |stats: &mut ProducerStats, producer: &BaseProducer<Counting>| {
        let ctx = producer.context();
        stats.acked_per_hashtag = ctx
            .acked
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .collect();
        stats.acked = stats.acked_per_hashtag.iter().sum();
        stats.failed = ctx.failed.load(Ordering::Relaxed);
        stats.last_error = ctx
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        stats.updated = Timestamp::now();
        if let Some(path) = stats_file {
            let _ = write_atomic(
                path,
                &serde_json::to_vec_pretty(stats).expect("stats serialise"),
            );
        }
    };
    write_stats(&mut stats, &producer);

    let mut start = Instant::now();
    let mut sent_at_start = 0u64;
    let mut last_stats = Instant::now();
    let mut last_acked = 0u64;
    let mut buf = Vec::with_capacity(256);
    let max_late = crate::time::duration_micros(config.max_lateness);
    while !shutdown.is_triggered() && config.count.is_none_or(|n| stats.sent < n) {
        // Pacing: event i is due at start + i / rate.
        if rate > 0.0 {
            let due = start + Duration::from_secs_f64((stats.sent - sent_at_start) as f64 / rate);
            let now = Instant::now();
            if due > now {
                producer.poll(Duration::ZERO);
                std::thread::sleep((due - now).min(Duration::from_millis(50)));
                continue;
            }
        }
        let mut ts = Timestamp::now();
        if config.late_share > 0.0 && late_rng.random::<f64>() < config.late_share {
            ts = Timestamp(ts.micros() - late_rng.random_range(0..=max_late));
        }
        let draw = generator.next_json(ts.as_secs_f64(), &mut buf);
        let key = generator.config().users[draw.user].as_bytes();
        let mut record = BaseRecord::with_opaque_to(&config.topic, draw.hashtag)
            .payload(&buf[..])
            .key(key);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    // The client's queue is full: let it deliver, then retry.
                    producer.poll(Duration::from_millis(5));
                    record = r;
                    if shutdown.is_triggered() {
                        break;
                    }
                }
                Err((e, _)) => return Err(Error::kafka("sending an event", e)),
            }
        }
        stats.sent += 1;
        if stats.sent % 1024 == 0 {
            producer.poll(Duration::ZERO);
        }
        if last_stats.elapsed() >= Duration::from_millis(500) {
            producer.poll(Duration::ZERO);
            if let Some(control) = control_file
                .and_then(|p| fs::read(p).ok())
                .and_then(|b| serde_json::from_slice::<ProducerControl>(&b).ok())
            {
                if control_seen.as_ref() != Some(&control) {
                    if let Some(r) = control.rate.filter(|r| r.is_finite() && *r >= 0.0) {
                        rate = r;
                        stats.rate_target = r;
                        start = Instant::now();
                        sent_at_start = stats.sent;
                    }
                    if let Some(every) = control.trend_every_secs.filter(|e| e.is_finite()) {
                        let trend = (every > 0.0).then(|| TrendShift {
                            every: Duration::from_secs_f64(every),
                        });
                        generator.set_trend(trend)?;
                    }
                    control_seen = Some(control);
                }
            }
            write_stats(&mut stats, &producer);
            let secs = last_stats.elapsed().as_secs_f64();
            stats.rate_actual = (stats.acked - last_acked) as f64 / secs;
            last_acked = stats.acked;
            last_stats = Instant::now();
        }
    }
    // Whatever is in flight is delivered (or fails) before we report.
    let _ = producer.flush(Duration::from_secs(35));
    stats.running = false;
    write_stats(&mut stats, &producer);
    Ok(stats)
}

/// File names in the state directory.
const PID_FILE: &str = "producer.pid";
/// The config handed to the background producer.
const CONFIG_FILE: &str = "producer-config.json";
/// Its counters.
pub const STATS_FILE: &str = "producer-stats.json";
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
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        terminate_child(&mut child, Duration::from_secs(40));
        if read_live_pid(&self.pid_path).is_none() {
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
            config.bootstrap = crate::infra::bootstrap(&config.state_dir);
        }
        let dir = config.state_dir.clone();
        ensure_dir(&dir)?;
        let pid_path = dir.join(PID_FILE);
        if !config.allow_multiple {
            if let Some(old) = read_live_pid(&pid_path) {
                terminate_pid(old, Duration::from_secs(40));
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
        let args = vec![
            "--config".to_string(),
            cfg_path.display().to_string(),
            "--stats-file".to_string(),
            stats_path.display().to_string(),
            "--control-file".to_string(),
            control_path.display().to_string(),
        ];
        let child = spawn_child(&program, &args, &dir.join(LOG_FILE))?;
        write_atomic(&pid_path, child.id().to_string().as_bytes())?;
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
        self.inner
            .child
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .id()
    }

    /// Whether the process still runs.
    pub fn is_running(&self) -> bool {
        let mut child = self.inner.child.lock().unwrap_or_else(|p| p.into_inner());
        matches!(child.try_wait(), Ok(None))
    }

    /// The latest counters (all zero until the producer wrote its first stats).
    pub fn stats(&self) -> ProducerStats {
        fs::read(&self.inner.stats_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Waits until the producer has ended by itself (a `count` was set), up to `wait`;
    /// returns its final counters.
    pub fn wait(&self, wait: Duration) -> Result<ProducerStats> {
        let deadline = Instant::now() + wait;
        while self.is_running() {
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: "the producer to finish".into(),
                    secs: wait.as_secs(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(self.stats())
    }

    /// Changes the rate of the running producer (events/s, 0 = as fast as possible); it
    /// takes effect within half a second.
    pub fn set_rate(&self, rate: f64) -> Result<()> {
        if !rate.is_finite() || rate < 0.0 {
            return Err(Error::config("rate", rate, "use events per second >= 0"));
        }
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
        let mut c = self.inner.control.lock().unwrap_or_else(|p| p.into_inner());
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
            let mut child = self.inner.child.lock().unwrap_or_else(|p| p.into_inner());
            terminate_child(&mut child, Duration::from_secs(40));
        }
        let _ = fs::remove_file(&self.inner.pid_path);
        self.stats()
    }
}
