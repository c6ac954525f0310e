//! The live consumer: Kafka → decoder → window engine → snapshots, in the background.
//!
//! [`Pipeline::start`] spawns one `std::thread` that owns a single-threaded tokio
//! runtime and an rdkafka `StreamConsumer`; it starts a second, counting thread. The
//! first reads messages and hands them over in batches; the second decodes them and
//! counts them in the [`WindowEngine`] as they arrive (on two cores, reading and
//! counting overlap). Every `trigger` interval (default 10 s, like the original Spark
//! job) the reading thread ticks the engine, even when no input arrived (the first
//! trigger with events comes early: within a second of the first events, so the first
//! chart need not wait a whole interval), and the snapshot, the metrics (with the
//! consumer's lag behind the newest offsets) and the status are published behind a
//! mutex. Notebook cells read them through the cheap, cloneable, synchronous
//! [`Pipeline`] handle: nothing async leaks out. The threads stop on [`Pipeline::stop`]
//! or when the last handle is dropped. Given a checkpoint folder
//! ([`PipelineConfig::checkpoint`]), it saves its offsets and counts there at every
//! trigger and goes on from them when started again.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_core::Stream;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::core::config::{WindowConfig, DEFAULT_BOOTSTRAP, TWEETS_TOPIC};
use crate::core::event::{decode, MAX_PAYLOAD_BYTES};
use crate::core::time::Timestamp;
use crate::core::window::{
    top_with_other, Outcome, Snapshot, TriggerMetrics, WindowEngine, OTHER, SNAPSHOT_TOP,
};
use crate::error::{Error, Result};
use crate::kafka::checkpoint::{self, Checkpoint};
use crate::kafka::client::{consumer_config, find_bootstrap, partitions_of};
use crate::sys::lock;
use crate::sys::state::default_state_dir;
use crate::sys::validate_name;
use crate::sys::wait::poll;

/// Where a new consumer starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum StartFrom {
    /// Only events produced from now on (the original's `startingOffsets: latest`).
    #[default]
    Latest,
    /// Everything the topic still holds.
    Earliest,
}

/// Settings of the live consumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineConfig {
    /// Broker address; empty means "find it": the address a running broker program
    /// published in `state_dir`, else `fallback_bootstrap` (see
    /// [`crate::kafka::client::find_bootstrap`]), looked up again if the broker goes away.
    pub bootstrap: String,
    /// Where to connect when `bootstrap` is empty and no broker program published its
    /// address: Docker's Kafka (`127.0.0.1:9092`; the settings give its three addresses
    /// with `DOCKER_BROKERS=3`).
    #[serde(default = "default_bootstrap")]
    pub fallback_bootstrap: String,
    /// Topic to read.
    pub topic: String,
    /// Where to start reading.
    pub start_from: StartFrom,
    /// Windows, time domain and watermark.
    pub window: WindowConfig,
    /// How often the engine ticks (Spark's trigger interval).
    pub trigger: Duration,
    /// How many per-trigger metrics rows to keep.
    pub metrics_history: usize,
    /// Where the embedded broker's address is published.
    pub state_dir: PathBuf,
    /// Join this consumer group instead of reading every partition: consumers with the same
    /// group share the topic's partitions (each reads its own), which scales out. `None`
    /// (the default): this consumer reads all partitions itself, with no group to wait for.
    #[serde(default)]
    pub group: Option<String>,
    /// A folder for the consumer's checkpoint (Spark's `checkpointLocation`): at every
    /// trigger the consumer saves its offsets and its counts there, and a consumer started
    /// again with the same folder goes on from them, losing nothing and counting nothing
    /// twice (see [`crate::kafka::checkpoint`]). `None` (the default): no checkpoint. Only
    /// for a consumer alone: a group keeps its offsets in Kafka.
    #[serde(default)]
    pub checkpoint: Option<PathBuf>,
    /// Test hook: the loop panics at its first trigger (how a test shows that a panic in
    /// the consumer thread is reported, not hidden). Not a setting; always false otherwise.
    #[doc(hidden)]
    #[serde(skip)]
    pub panic_on_trigger: bool,
}

/// Docker's Kafka's address, [`DEFAULT_BOOTSTRAP`].
fn default_bootstrap() -> String {
    DEFAULT_BOOTSTRAP.to_string()
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            bootstrap: String::new(),
            fallback_bootstrap: default_bootstrap(),
            topic: TWEETS_TOPIC.to_string(),
            start_from: StartFrom::Latest,
            window: WindowConfig::default(),
            trigger: Duration::from_secs(10),
            metrics_history: 360,
            state_dir: default_state_dir(),
            group: None,
            checkpoint: None,
            panic_on_trigger: false,
        }
    }
}

/// The consumer's connection to the broker, as the status table shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BrokerState {
    /// Not connected yet, or the topic does not exist yet.
    Connecting,
    /// Reading.
    Connected,
    /// The last request failed; the consumer keeps retrying.
    Unreachable(String),
}

/// In words, for a status table: `connecting`, `connected`, or the reason it is not.
impl std::fmt::Display for BrokerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerState::Connecting => f.write_str("connecting"),
            BrokerState::Connected => f.write_str("connected"),
            BrokerState::Unreachable(reason) => f.write_str(reason),
        }
    }
}

/// What the consumer is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineStatus {
    /// False once the thread has ended.
    pub running: bool,
    /// The address used.
    pub bootstrap: String,
    /// Connection state.
    pub broker: BrokerState,
    /// Partitions read.
    pub partitions: Vec<i32>,
    /// Messages received so far.
    pub consumed: u64,
    /// The last error the consumer saw (it goes on after errors).
    pub last_error: Option<String>,
}

/// What the thread publishes.
#[derive(Debug)]
struct State {
    /// The newest snapshot (after the first trigger).
    snapshot: Option<Arc<Snapshot>>,
    /// Recent per-trigger metrics, oldest first.
    metrics: VecDeque<TriggerMetrics>,
    /// The status.
    status: PipelineStatus,
    /// Events counted per hashtag since the start (as of the last trigger), highest first.
    all_time: Vec<(String, u64)>,
}

/// Shared between the handle and the thread.
#[derive(Debug)]
struct Shared {
    /// Published state.
    state: Mutex<State>,
    /// Wakes the thread to stop.
    stop: Notify,
}

impl Shared {
    /// Nothing published yet: a consumer connecting to `bootstrap`.
    fn new(bootstrap: &str) -> Shared {
        Shared {
            state: Mutex::new(State {
                snapshot: None,
                metrics: VecDeque::new(),
                all_time: Vec::new(),
                status: PipelineStatus {
                    running: true,
                    bootstrap: bootstrap.to_string(),
                    broker: BrokerState::Connecting,
                    partitions: Vec::new(),
                    consumed: 0,
                    last_error: None,
                },
            }),
            stop: Notify::new(),
        }
    }

    /// Changes the published status.
    fn status(&self, change: impl FnOnce(&mut PipelineStatus)) {
        change(&mut lock(&self.state).status);
    }
}

/// Owns the thread; stops it when the last [`Pipeline`] clone goes away.
#[derive(Debug)]
struct Guard {
    /// Shared state.
    shared: Arc<Shared>,
    /// The consumer thread.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Guard {
    fn stop(&self) {
        self.shared.stop.notify_one();
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Handle to the live consumer. Cheap to clone; every method is synchronous.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The thread's owner.
    guard: Arc<Guard>,
    /// The settings used.
    config: PipelineConfig,
}

impl Pipeline {
    /// Starts the consumer thread. Returns at once; the first snapshot comes after the
    /// first trigger. Fails only on bad settings.
    pub fn start(config: PipelineConfig) -> Result<Pipeline> {
        let mut config = config;
        validate_name("topic", &config.topic)?;
        let resume = match &config.checkpoint {
            Some(dir) if config.group.is_some() => {
                return Err(Error::config(
                    "checkpoint",
                    dir.display(),
                    "a consumer group keeps its offsets in Kafka: use a checkpoint with a \
                     consumer alone (group: None)",
                ))
            }
            Some(dir) => checkpoint::load(dir, &config.topic, &config.window)?,
            None => None,
        };
        let engine = match &resume {
            Some(cp) => WindowEngine::from_state(cp.engine.clone())?,
            None => WindowEngine::new(config.window.clone())?,
        };
        if config.trigger < Duration::from_millis(10) {
            return Err(Error::config(
                "trigger",
                format!("{:?}", config.trigger),
                "use at least 10 ms",
            ));
        }
        // An address found (not given) is looked up again if the broker disappears: the
        // embedded broker comes back on a new port after a restart.
        let auto_bootstrap = config.bootstrap.is_empty();
        if auto_bootstrap {
            config.bootstrap = find_bootstrap(&config.state_dir, &config.fallback_bootstrap);
        }
        let shared = Arc::new(Shared::new(&config.bootstrap));
        let thread_shared = shared.clone();
        let thread_config = config.clone();
        let thread = std::thread::Builder::new()
            .name("pipeline".into())
            .spawn(move || {
                // A panic must not leave a handle that looks alive: catch it, and say so.
                // (`AssertUnwindSafe`: after a panic we only read the status, which every
                // lock keeps valid between statements; see `sys::lock`.)
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(
                        &thread_config,
                        auto_bootstrap,
                        engine,
                        resume,
                        &thread_shared,
                    )
                }));
                let mut st = lock(&thread_shared.state);
                st.status.running = false;
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => st.status.last_error = Some(e.to_string()),
                    Err(panic) => {
                        st.status.last_error = Some(format!(
                            "the consumer thread panicked: {}",
                            panic_message(panic.as_ref())
                        ))
                    }
                }
            })
            .map_err(|e| Error::os("cannot start the consumer thread", e))?;
        Ok(Pipeline {
            guard: Arc::new(Guard {
                shared,
                thread: Mutex::new(Some(thread)),
            }),
            config,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.guard.shared.state)
    }

    /// The settings used.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// The newest snapshot (`None` before the first trigger). Shared, not copied: the lock
    /// the consumer publishes under is held only to clone the pointer, so a page refresh or
    /// a `watch` poll never stalls the consumer, however many hashtags a snapshot holds.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.state().snapshot.clone()
    }

    /// Calls `each` with the snapshot of every new trigger, checking every `poll`, for
    /// `length` or until `stop()` says so: how the `watch` cell and the terminal programs
    /// print a leaderboard line per trigger. Returns how many triggers it saw.
    pub fn follow(
        &self,
        length: Duration,
        poll: Duration,
        stop: impl Fn() -> bool,
        mut each: impl FnMut(&Snapshot),
    ) -> usize {
        let mut last = None;
        let mut seen = 0;
        crate::sys::wait::until(length, poll, || {
            if let Some(s) = self.snapshot() {
                if last != Some(s.metrics.trigger_id) {
                    each(&s);
                    last = Some(s.metrics.trigger_id);
                    seen += 1;
                }
            }
            stop()
        });
        seen
    }

    /// Recent per-trigger metrics, oldest first.
    pub fn metrics(&self) -> Vec<TriggerMetrics> {
        self.state().metrics.iter().cloned().collect()
    }

    /// Totals of the newest snapshot (cheap: no windows are copied).
    pub fn totals(&self) -> crate::core::window::Totals {
        self.state()
            .snapshot
            .as_ref()
            .map(|s| s.totals)
            .unwrap_or_default()
    }

    /// What the consumer is doing.
    pub fn status(&self) -> PipelineStatus {
        self.state().status.clone()
    }

    /// Events counted per hashtag since the consumer started (all windows together, each
    /// event once), highest first, as of the last trigger: the
    /// [`SNAPSHOT_TOP`] leaders, the rest summed as [`OTHER`].
    pub fn all_time_counts(&self) -> Vec<(String, u64)> {
        self.state().all_time.clone()
    }

    /// Waits (at most `wait`) until the consumer has its partitions and reads from them;
    /// events produced after this returns are all counted. Fails at once, with the
    /// consumer's last error, if the consumer thread has ended.
    pub fn wait_ready(&self, wait: Duration) -> Result<()> {
        // Ready (partitions found) or ended (with its error): either way, stop waiting.
        let settled = poll(wait, Duration::from_millis(20), || {
            let st = self.status();
            (!st.partitions.is_empty() || !st.running).then_some(st)
        });
        match settled {
            Some(st) if st.running => Ok(()),
            Some(st) => Err(Error::Process {
                what: "the consumer".into(),
                detail: st.last_error.unwrap_or_else(|| "stopped".into()),
            }),
            None => Err(Error::Timeout {
                what: format!(
                    "the consumer to find topic {:?} at {} ({})",
                    self.config.topic,
                    self.config.bootstrap,
                    self.status().broker
                ),
                secs: wait.as_secs(),
            }),
        }
    }

    /// Waits (at most `wait`) for a snapshot for which `pred` holds; returns it. Fails at
    /// once, with the consumer's last error, if the consumer thread has ended.
    pub fn wait_for(
        &self,
        wait: Duration,
        pred: impl Fn(&Snapshot) -> bool,
    ) -> Result<Arc<Snapshot>> {
        let settled = poll(wait, Duration::from_millis(20), || {
            let st = self.state();
            match &st.snapshot {
                Some(s) if pred(s) => Some(Ok(s.clone())),
                _ if !st.status.running => Some(Err(st.status.last_error.clone())),
                _ => None,
            }
        });
        match settled {
            Some(Ok(snap)) => Ok(snap),
            Some(Err(last_error)) => Err(Error::Process {
                what: "the consumer".into(),
                detail: last_error.unwrap_or_else(|| "stopped".into()),
            }),
            None => Err(Error::Timeout {
                what: "the consumer's snapshot to reach the expected state".into(),
                secs: wait.as_secs(),
            }),
        }
    }

    /// Stops the consumer thread and waits for it.
    pub fn stop(&self) {
        self.guard.stop();
    }
}

/// The consumer of the pipeline: reads assigned partitions, no group coordination.
/// Receives the client's global errors (broker down, connection refused), which a
/// consumer loop never sees as messages, so the status can say "unreachable".
#[derive(Default)]
struct Watch {
    /// The latest global error and when it came.
    last_error: Mutex<Option<(Instant, String)>>,
    /// In a consumer group: the partitions the group gave us.
    assigned: Mutex<Vec<i32>>,
}

impl rdkafka::ClientContext for Watch {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        let text = if reason.is_empty() {
            error.to_string()
        } else {
            reason.to_string()
        };
        *lock(&self.last_error) = Some((Instant::now(), text));
    }
}

impl rdkafka::consumer::ConsumerContext for Watch {
    /// In a group, before partitions are taken away: commit how far we read them, so
    /// their next reader starts exactly there.
    fn pre_rebalance(
        &self,
        consumer: &rdkafka::consumer::BaseConsumer<Self>,
        rebalance: &rdkafka::consumer::Rebalance<'_>,
    ) {
        if let rdkafka::consumer::Rebalance::Revoke(_) = rebalance {
            // Nothing read yet is not an error worth reporting.
            let _ = consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync);
        }
    }

    fn post_rebalance(
        &self,
        _: &rdkafka::consumer::BaseConsumer<Self>,
        rebalance: &rdkafka::consumer::Rebalance<'_>,
    ) {
        let mut mine = lock(&self.assigned);
        match rebalance {
            rdkafka::consumer::Rebalance::Assign(tpl) => {
                *mine = tpl.elements().iter().map(|e| e.partition()).collect();
                mine.sort_unstable();
            }
            rdkafka::consumer::Rebalance::Revoke(_) => mine.clear(),
            rdkafka::consumer::Rebalance::Error(_) => {}
        }
    }
}

/// The consumer type of the pipeline.
type PipelineConsumer = StreamConsumer<Watch>;

fn create_consumer(
    bootstrap: &str,
    group: Option<&str>,
    start_from: StartFrom,
) -> Result<PipelineConsumer> {
    let mut config = consumer_config(bootstrap);
    // If the log was reset under us (a broker restarted without its data), read the new
    // log from its start. In a group, this is also where a new group starts.
    let reset = match (group, start_from) {
        (Some(_), StartFrom::Latest) => "latest",
        _ => "earliest",
    };
    config.set("auto.offset.reset", reset);
    if group.is_some() {
        // Group members send heartbeats every second; one silent for 6 s is dropped and its
        // partitions go to the others (short, so rebalances are quick in a classroom).
        config
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "1000");
    }
    // Alone, we never commit: each pipeline starts from `latest` or `earliest` by choice.
    // In a group, the group's committed offsets are how a partition changes hands without
    // losing or repeating events; we commit them ourselves (see `ConsumerLoop::commit`): at
    // each trigger, before partitions are taken away, and when the member leaves.
    // (librdkafka's auto-commit, tried first, left a leaver's last offsets uncommitted: its
    // successor read them again.)
    config
        .set(
            "group.id",
            group.map_or_else(
                || {
                    format!(
                        "stream-demo-{}-{}",
                        std::process::id(),
                        Timestamp::now().micros()
                    )
                },
                str::to_string,
            ),
        )
        .create_with_context(Watch::default())
        .map_err(|e| Error::kafka("creating the consumer", e))
}

/// The consumer thread's body: a single-threaded tokio runtime running [`ConsumerLoop`].
fn run(
    config: &PipelineConfig,
    auto_bootstrap: bool,
    engine: WindowEngine,
    resume: Option<Checkpoint>,
    shared: &Shared,
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::os("cannot start the consumer runtime", e))?;
    rt.block_on(async {
        let mut ticker = tokio::time::interval(config.trigger);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ConsumerLoop::new(config, auto_bootstrap, engine, resume, shared)?
            .run(ticker)
            .await
    })
}

/// What woke the consumer loop.
enum Wake<'c> {
    /// [`Pipeline::stop`], or the last handle dropped.
    Stop,
    /// The trigger interval passed: tick the engine and publish.
    Trigger,
    /// A second passed: check the broker (the status), without a trigger.
    Health,
    /// A message (or a fetch error) arrived.
    Message(KafkaResult<BorrowedMessage<'c>>),
}

/// The live consumer's loop, one named step per job:
///
/// 1. [`ConsumerLoop::sync_partitions`]: know which partitions we read (assign them
///    ourselves, or follow the consumer group's rebalances);
/// 2. on a trigger, [`ConsumerLoop::check_broker`] (is it reachable? did the embedded
///    broker restart elsewhere?), then [`ConsumerLoop::tick_and_publish`] and, with a
///    checkpoint folder, [`ConsumerLoop::save_checkpoint`];
/// 3. on a message, [`Counting::ingest_batch`]: that message and every one already
///    waiting, handed to the counting thread ([`Counting`]) in batches.
struct ConsumerLoop<'s> {
    /// The settings.
    config: &'s PipelineConfig,
    /// Whether the broker address was found rather than given: only then is it looked up
    /// again when the broker disappears (the embedded broker comes back on a new port).
    auto_bootstrap: bool,
    /// What the loop publishes for the handle.
    shared: &'s Shared,
    /// The Kafka client; replaced when the embedded broker restarts elsewhere.
    consumer: PipelineConsumer,
    /// The address `consumer` talks to.
    bootstrap: String,
    /// Where reading starts on the partitions we assign next.
    start_from: StartFrom,
    /// The partitions we read now (empty until the topic is found or the group assigns),
    /// sorted.
    assigned: Vec<i32>,
    /// Where each partition was assigned from (raw offsets), for the checkpoint of a
    /// partition nothing was read from yet.
    assigned_at: BTreeMap<i32, i64>,
    /// The offsets a checkpoint saved: those partitions are read from there.
    resume_at: BTreeMap<i32, i64>,
    /// Whether the broker has answered whether the topic exists (with this client):
    /// partitions found after that are new, and read from their start.
    looked: bool,
    /// When to look for new partitions next (alone, not in a group).
    next_partition_check: Instant,
    /// When the broker was first seen unreachable in the current outage.
    unreachable_since: Option<Instant>,
    /// Whether a trigger has counted events yet. Until one has, the loop fires a trigger
    /// at the first health check after events arrive (within a second), not a whole
    /// interval later: the first chart comes as soon as there is something to show.
    counted_once: bool,
    /// Messages read before this start, by the consumer whose checkpoint we resumed (0
    /// without one): the first trigger comes early once messages arrive after them.
    resumed_at: u64,
    /// The engine and the counters, on their own thread (a separate field, so it can be
    /// borrowed mutably while a message still borrows `consumer`).
    counting: Counting,
}

/// Counts what arrives: the window engine and the all-time totals.
struct Counter {
    /// The window engine.
    engine: WindowEngine,
    /// Events counted per hashtag since the start.
    all_time: AllTime,
    /// Messages counted (decoded, or rejected) since the start.
    consumed: u64,
}

impl<'s> ConsumerLoop<'s> {
    /// Creates the Kafka client (and joins the group, if any).
    fn new(
        config: &'s PipelineConfig,
        auto_bootstrap: bool,
        engine: WindowEngine,
        resume: Option<Checkpoint>,
        shared: &'s Shared,
    ) -> Result<ConsumerLoop<'s>> {
        let (resume_at, all_time, consumed) = match resume {
            Some(cp) => (
                cp.offsets,
                cp.all_time
                    .into_iter()
                    .map(|(h, c)| (h.into(), c))
                    .collect(),
                cp.consumed,
            ),
            None => Default::default(),
        };
        Ok(ConsumerLoop {
            consumer: connect(config, &config.bootstrap, config.start_from)?,
            bootstrap: config.bootstrap.clone(),
            start_from: config.start_from,
            config,
            auto_bootstrap,
            shared,
            assigned: Vec::new(),
            assigned_at: BTreeMap::new(),
            resume_at,
            looked: false,
            next_partition_check: Instant::now(),
            unreachable_since: None,
            counted_once: false,
            resumed_at: consumed,
            counting: Counting::start(Counter {
                engine,
                all_time,
                consumed,
            })?,
        })
    }

    /// Runs until stopped. Each turn waits for whichever comes first: stop, a trigger, or
    /// a message (only once there are partitions to read).
    async fn run(mut self, mut ticker: tokio::time::Interval) -> Result<()> {
        // The broker's state is checked every second, not only at triggers: with a 10 s
        // trigger, an outage would otherwise show in the status up to 10 s late.
        let mut health = tokio::time::interval(HEALTH_CHECK);
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.sync_partitions()?;
            let reading = self.config.group.is_some() || !self.assigned.is_empty();
            // `recv` is cancellation safe: when another branch wins, no message is lost.
            let wake = tokio::select! {
                _ = self.shared.stop.notified() => Wake::Stop,
                _ = ticker.tick() => Wake::Trigger,
                _ = health.tick() => Wake::Health,
                m = self.consumer.recv(), if reading => Wake::Message(m),
            };
            match wake {
                Wake::Stop => {
                    // A group member that leaves commits what it read, and says how much
                    // that was (also since its last trigger), once it is all counted.
                    self.commit(rdkafka::consumer::CommitMode::Sync);
                    let consumed = self.counting.settled()?.consumed;
                    self.shared.status(|s| s.consumed = consumed);
                    return Ok(());
                }
                Wake::Trigger => self.trigger()?,
                Wake::Health if !self.counted_once && self.counting.received > self.resumed_at => {
                    // The first events arrived: trigger now, then every interval from here.
                    self.trigger()?;
                    ticker.reset();
                }
                Wake::Health => {
                    self.check_broker()?;
                }
                Wake::Message(m) => self.counting.ingest_batch(&self.consumer, m, self.shared)?,
            }
        }
    }

    /// In a group: commits how far this member has read each of its partitions (the
    /// offset after the last message handed to us; each is handed to the counting thread
    /// as soon as it is read, and counted before any trigger reads the counts).
    fn commit(&self, mode: rdkafka::consumer::CommitMode) {
        if self.config.group.is_some() {
            // Nothing read yet is not an error worth reporting.
            let _ = self.consumer.commit_consumer_state(mode);
        }
    }

    /// Step 1: which partitions are ours. In a group, the group decides (we follow its
    /// rebalances); alone, we look the topic up (each turn until it exists, then every
    /// [`PARTITION_CHECK`]) and read every partition it has, including partitions and
    /// topics that appear after we started: those hold only events produced since, so
    /// they are read from their start and nothing produced after `start` is missed.
    fn sync_partitions(&mut self) -> Result<()> {
        if self.config.group.is_some() {
            let mine = lock(&self.consumer.context().assigned).clone();
            if mine != self.assigned {
                self.assigned = mine.clone();
                self.shared.status(|s| {
                    if !mine.is_empty() {
                        s.broker = BrokerState::Connected;
                    }
                    s.partitions = mine;
                });
            }
            return Ok(());
        }
        let reading = !self.assigned.is_empty();
        if reading
            && (Instant::now() < self.next_partition_check
                || lock(&self.consumer.context().last_error).is_some())
        {
            // Not due yet, or the broker is in trouble: `check_broker` deals with that.
            return Ok(());
        }
        self.next_partition_check = Instant::now() + PARTITION_CHECK;
        // A short question while reading (this loop also fetches), a patient one before.
        let patience = Duration::from_millis(if reading { 300 } else { 2000 });
        let topic = &self.config.topic;
        match partitions_of(&self.consumer, topic, patience) {
            Ok(Some(parts)) => {
                self.add_new_partitions(&parts)?;
                self.looked = true;
            }
            Ok(None) => {
                self.looked = true;
                self.shared.status(|s| s.broker = BrokerState::Connecting)
            }
            Err(e) => {
                let msg = format!("broker unreachable: {e}");
                self.shared.status(|s| {
                    s.broker = BrokerState::Unreachable(msg.clone());
                    s.last_error = Some(msg);
                });
            }
        }
        Ok(())
    }

    /// Reads the partitions of `parts` we do not read yet. The first ones seen, if the
    /// topic was there when we first looked, start where `start_from` says; any seen
    /// later are new, and read from their start.
    fn add_new_partitions(&mut self, parts: &[i32]) -> Result<()> {
        let new: Vec<i32> = parts
            .iter()
            .filter(|p| !self.assigned.contains(p))
            .copied()
            .collect();
        if new.is_empty() {
            // The broker answered: whatever said it was unreachable is over.
            self.shared.status(|s| {
                if matches!(s.broker, BrokerState::Unreachable(_)) {
                    s.broker = BrokerState::Connected;
                }
            });
            return Ok(());
        }
        let from = if self.looked {
            StartFrom::Earliest
        } else {
            self.start_from
        };
        self.assign(&new, from)?;
        self.assigned.extend(&new);
        self.assigned.sort_unstable();
        let all = self.assigned.clone();
        self.shared.status(|s| {
            s.partitions = all;
            s.broker = BrokerState::Connected;
        });
        Ok(())
    }

    /// Adds `parts` of the topic to what we read, from their start or from the end
    /// offsets of this moment: "latest" is pinned, so an event produced right after
    /// `start` returns is never skipped.
    fn assign(&mut self, parts: &[i32], from: StartFrom) -> Result<()> {
        let topic = &self.config.topic;
        let mut tpl = TopicPartitionList::new();
        for p in parts {
            let at = match (self.resume_at.get(p), from) {
                (Some(saved), _) => Offset::from_raw(*saved),
                (None, StartFrom::Earliest) => Offset::Beginning,
                (None, StartFrom::Latest) => self
                    .consumer
                    .fetch_watermarks(topic, *p, Duration::from_secs(5))
                    .map_or(Offset::End, |(_, high)| Offset::Offset(high)),
            };
            if let Some(raw) = at.to_raw() {
                self.assigned_at.insert(*p, raw);
            }
            tpl.add_partition_offset(topic, *p, at)
                .map_err(|e| Error::kafka("assigning partitions", e))?;
        }
        self.consumer
            .incremental_assign(&tpl)
            .map_err(|e| Error::kafka("assigning partitions", e))
    }

    /// Step 2a: is the broker reachable? An error reported since it last was means
    /// trouble; a short metadata request then tells when it is back. If the embedded
    /// broker restarted at another address, reconnect there. Returns false when it
    /// reconnected (this trigger publishes nothing: the next one will).
    fn check_broker(&mut self) -> Result<bool> {
        let Some((at, text)) = lock(&self.consumer.context().last_error).clone() else {
            return Ok(true);
        };
        let topic = Some(self.config.topic.as_str());
        let answered = self
            .consumer
            .fetch_metadata(topic, Duration::from_millis(300))
            .is_ok();
        if answered {
            // The cluster answers, perhaps without one of its brokers (a leader that
            // failed: its partitions moved, reading goes on): connected. The error is
            // forgotten once it is older than a trigger.
            if at.elapsed() > self.config.trigger.min(Duration::from_secs(2)) {
                *lock(&self.consumer.context().last_error) = None;
            }
            self.unreachable_since = None;
            self.shared.status(|s| s.broker = BrokerState::Connected);
            return Ok(true);
        }
        let since = *self.unreachable_since.get_or_insert_with(Instant::now);
        self.shared.status(|s| {
            s.broker = BrokerState::Unreachable(format!("broker unreachable: {text}"));
            s.last_error = Some(text);
        });
        let fresh = find_bootstrap(&self.config.state_dir, &self.config.fallback_bootstrap);
        if self.auto_bootstrap
            && fresh != self.bootstrap
            && since.elapsed() > Duration::from_secs(2)
        {
            self.reconnect(fresh)?;
            return Ok(false);
        }
        Ok(true)
    }

    /// The embedded broker restarted at `fresh`: its log is new, so read it from its
    /// start with a new client.
    fn reconnect(&mut self, fresh: String) -> Result<()> {
        self.consumer = connect(self.config, &fresh, StartFrom::Earliest)?;
        self.assigned.clear();
        // The offsets of the old log mean nothing in the new one.
        self.assigned_at.clear();
        self.resume_at.clear();
        self.looked = false;
        self.start_from = StartFrom::Earliest;
        self.unreachable_since = None;
        let note = format!(
            "the broker restarted at {fresh} with a new, empty log (the embedded broker keeps \
             no data); reading the new log from its start"
        );
        self.bootstrap = fresh.clone();
        self.shared.status(|s| {
            s.bootstrap = fresh;
            s.broker = BrokerState::Connecting;
            s.partitions.clear();
            s.last_error = Some(note);
        });
        Ok(())
    }

    /// A trigger: if the broker answers, commit (a group member), then tick and publish.
    fn trigger(&mut self) -> Result<()> {
        if self.check_broker()? {
            // Committed first, synchronously: once the status says how much a member
            // read, that much is committed.
            self.commit(rdkafka::consumer::CommitMode::Sync);
            self.tick_and_publish()?;
            self.save_checkpoint()?;
            self.counted_once |= self.counting.received > self.resumed_at;
        }
        Ok(())
    }

    /// Step 2c: with a checkpoint folder, save where reading stands and the counts up to
    /// there, right after the trigger (the engine's trigger batch is empty then). A failure is
    /// reported in the status, and the next trigger tries again.
    fn save_checkpoint(&mut self) -> Result<()> {
        let Some(dir) = &self.config.checkpoint else {
            return Ok(());
        };
        let counter = self.counting.settled()?;
        // The offset after the last message handed to us, per partition; where it was
        // assigned from if none was.
        let mut offsets = self.assigned_at.clone();
        if let Ok(position) = self.consumer.position() {
            for e in position.elements_for_topic(&self.config.topic) {
                if let Offset::Offset(o) = e.offset() {
                    offsets.insert(e.partition(), o);
                }
            }
        }
        let cp = Checkpoint {
            topic: self.config.topic.clone(),
            offsets,
            engine: counter.engine.state(),
            all_time: counter
                .all_time
                .iter()
                .map(|(h, c)| (h.to_string(), *c))
                .collect(),
            consumed: counter.consumed,
        };
        drop(counter);
        if let Err(e) = checkpoint::save(dir, &cp) {
            let text = e.to_string();
            self.shared.status(|s| s.last_error = Some(text));
        }
        Ok(())
    }

    /// Step 2b: fire the engine's trigger and publish the snapshot, its metrics (with the
    /// lag behind the newest offsets), the status and the all-time totals.
    fn tick_and_publish(&mut self) -> Result<()> {
        if self.config.panic_on_trigger {
            panic!("test hook: panic_on_trigger");
        }
        let mut counter = self.counting.settled()?;
        let t0 = Instant::now();
        let mut snap = counter.engine.tick(Timestamp::now());
        snap.metrics.trigger_duration += t0.elapsed();
        snap.metrics.lag = lag_of(&self.consumer, &self.config.topic, &self.assigned);
        let all_time = top_with_other(
            counter.all_time.iter().map(|(h, c)| (&**h, *c)).collect(),
            SNAPSHOT_TOP,
        );
        let consumed = counter.consumed;
        drop(counter);
        let mut st = lock(&self.shared.state);
        if st.metrics.len() >= self.config.metrics_history.max(1) {
            st.metrics.pop_front();
        }
        st.metrics.push_back(snap.metrics.clone());
        if consumed > st.status.consumed && st.status.broker != BrokerState::Connected {
            st.status.broker = BrokerState::Connected;
        }
        st.status.consumed = consumed;
        st.snapshot = Some(Arc::new(snap));
        st.all_time = all_time;
        Ok(())
    }
}

impl Counter {
    /// Decodes and counts one message received at `now`.
    fn ingest(&mut self, payload: &[u8], now: Timestamp) {
        self.consumed += 1;
        match decode(payload) {
            Ok(event) => {
                if let Outcome::Counted(_) = self.engine.ingest(&event, now) {
                    let max = self.engine.config().max_hashtags;
                    count_all_time(&mut self.all_time, &event.hashtag_principal, max);
                }
            }
            Err(reason) => {
                self.engine.reject(reason);
            }
        }
    }
}

/// The message a panic was raised with (`panic!("...")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// A fetch error, said for the status (a lost broker is reported by the client context,
/// not here).
fn fetch_error_text(e: &rdkafka::error::KafkaError) -> String {
    if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::OffsetOutOfRange) {
        "offsets out of range: the topic's log was reset (a broker restarted without its \
         data); reading it again from its start"
            .to_string()
    } else {
        e.to_string()
    }
}

/// A client for `bootstrap` that joins the group, if the settings name one.
fn connect(
    config: &PipelineConfig,
    bootstrap: &str,
    start_from: StartFrom,
) -> Result<PipelineConsumer> {
    let group = config.group.as_deref();
    let consumer = create_consumer(bootstrap, group, start_from)?;
    if group.is_some() {
        consumer
            .subscribe(&[&config.topic])
            .map_err(|e| Error::kafka("joining the consumer group", e))?;
    }
    Ok(consumer)
}

/// How often a consumer that reads all partitions itself asks whether the topic gained
/// partitions.
const PARTITION_CHECK: Duration = Duration::from_secs(1);

/// How often the consumer checks the broker between triggers (for its status).
const HEALTH_CHECK: Duration = Duration::from_secs(1);

/// Most messages handled per wake-up before the loop looks at its timer and stop signal.
const MAX_BATCH: usize = 4096;

/// Messages per batch handed to the counting thread while a wake-up's messages are still
/// being read (so both threads work at once); fewer when fewer are waiting.
const SEND_AT: usize = 1024;

/// A batch is handed over sooner if its payloads reach this many bytes (with payloads
/// kept to [`MAX_PAYLOAD_BYTES`] + 1, a batch never holds much more).
const SEND_BYTES: usize = 1 << 20;

/// Batches waiting for the counting thread before the reading thread waits for it: with
/// [`SEND_BYTES`] and [`SPARE_BATCHES`], the batches hold under 50 MiB however far
/// counting falls behind and however large the messages.
const QUEUED_BATCHES: usize = 16;

/// Emptied batches kept for reuse (more are freed).
const SPARE_BATCHES: usize = 4;

/// Decoding and counting, on a thread of their own: the consumer's thread only reads
/// messages and copies their payloads into batches (~0.5 µs of librdkafka's own work per
/// message, against ~0.25 µs to decode and count one), so on two cores reading and
/// counting overlap. The [`Counter`] sits behind a mutex that the counting thread holds
/// while it counts a batch; [`Counting::settled`] waits until every batch handed over is
/// counted and then lends the counter to a trigger or a checkpoint.
struct Counting {
    /// The engine and the counters.
    counter: Arc<Mutex<Counter>>,
    /// Where batches go (`None` once closed).
    jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    /// The counting thread.
    thread: Option<JoinHandle<()>>,
    /// The batch being filled.
    batch: Batch,
    /// Since when the reading thread has been filling it (for [`Batch::reading`]).
    reading_since: Instant,
    /// Emptied batches the counting thread gave back, to fill again.
    spare: std::sync::mpsc::Receiver<Batch>,
    /// Messages handed over so far (with those of the checkpoint resumed, like
    /// [`Counter::consumed`], which equals it once every batch is counted).
    received: u64,
    /// Whether batches were handed over since the counting thread last said it had
    /// counted everything (a trigger and its checkpoint then wait only once).
    unsettled: bool,
}

/// Work for the counting thread, done in order.
enum Job {
    /// Decode and count these messages.
    Count(Batch),
    /// Say that every batch sent before this one is counted.
    Flush(std::sync::mpsc::SyncSender<()>),
    /// Test hook: panic (how a test shows that a panic there is reported, not hidden).
    #[cfg(test)]
    Panic,
}

/// Payloads received together, copied end to end into one buffer.
#[derive(Default)]
struct Batch {
    /// The payloads, one after another.
    bytes: Vec<u8>,
    /// Where each payload ends in `bytes`.
    ends: Vec<usize>,
    /// When they were received (the processing time they are counted at).
    now: Timestamp,
    /// How long the reading thread took to read them.
    reading: Duration,
}

impl Counting {
    /// Starts the counting thread with `counter`.
    fn start(counter: Counter) -> Result<Counting> {
        let received = counter.consumed;
        let counter = Arc::new(Mutex::new(counter));
        let (jobs, todo) = std::sync::mpsc::sync_channel::<Job>(QUEUED_BATCHES);
        // Counted batches come back empty, to be filled again: no allocation per batch.
        let (give_back, spare) = std::sync::mpsc::sync_channel::<Batch>(SPARE_BATCHES);
        let mine = counter.clone();
        let thread = std::thread::Builder::new()
            .name("pipeline-count".into())
            .spawn(move || {
                for job in todo {
                    match job {
                        Job::Count(mut batch) => {
                            let mut c = lock(&mine);
                            let t0 = Instant::now();
                            let mut start = 0;
                            for &end in &batch.ends {
                                c.ingest(&batch.bytes[start..end], batch.now);
                                start = end;
                            }
                            // The processing time of the metrics: reading and counting.
                            c.engine.add_busy(batch.reading + t0.elapsed());
                            drop(c);
                            batch.bytes.clear();
                            batch.ends.clear();
                            // If the reader has enough spares, this one is dropped.
                            let _ = give_back.try_send(batch);
                        }
                        Job::Flush(done) => {
                            let _ = done.send(());
                        }
                        #[cfg(test)]
                        Job::Panic => panic!("test hook"),
                    }
                }
            })
            .map_err(|e| Error::os("cannot start the counting thread", e))?;
        Ok(Counting {
            counter,
            jobs: Some(jobs),
            thread: Some(thread),
            batch: Batch::default(),
            reading_since: Instant::now(),
            spare,
            received,
            unsettled: false,
        })
    }

    /// Step 3: hands `first` and every message already waiting (up to [`MAX_BATCH`]) to
    /// the counting thread, without going back through `select!`: far fewer wake-ups. A
    /// fetch error is published, never fatal.
    fn ingest_batch(
        &mut self,
        consumer: &PipelineConsumer,
        first: KafkaResult<BorrowedMessage<'_>>,
        shared: &Shared,
    ) -> Result<()> {
        let now = Timestamp::now();
        self.reading_since = Instant::now();
        // One stream for the whole batch: each `recv` would register and drop a waker.
        let mut stream = consumer.stream();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut next = Some(first);
        let mut batch = 0;
        while let Some(msg) = next.take() {
            match msg {
                Ok(m) => self.push(m.payload().unwrap_or(&[]), now)?,
                Err(e) => {
                    let text = fetch_error_text(&e);
                    shared.status(|s| s.last_error = Some(text));
                }
            }
            batch += 1;
            if batch < MAX_BATCH {
                // `Pending`: nothing waiting, or an event other than a message (a
                // rebalance, a commit's result) was served; the batch ends, and the next
                // turn's `recv` goes on. No message is lost.
                if let std::task::Poll::Ready(m) = Pin::new(&mut stream).poll_next(&mut cx) {
                    next = m;
                }
            }
        }
        self.send()
    }

    /// Adds one payload received at `now` to the batch; sends the batch once it is full.
    fn push(&mut self, payload: &[u8], now: Timestamp) -> Result<()> {
        if self.batch.ends.is_empty() {
            self.batch.now = now;
        }
        // Beyond the decoder's limit, one byte more is as good as the rest: it is rejected
        // as oversized all the same, and a huge message costs no memory here.
        let keep = payload.len().min(MAX_PAYLOAD_BYTES + 1);
        self.batch.bytes.extend_from_slice(&payload[..keep]);
        self.batch.ends.push(self.batch.bytes.len());
        self.received += 1;
        if self.batch.ends.len() >= SEND_AT || self.batch.bytes.len() >= SEND_BYTES {
            self.send()?;
        }
        Ok(())
    }

    /// Hands the batch being filled (if any) to the counting thread.
    fn send(&mut self) -> Result<()> {
        if self.batch.ends.is_empty() {
            return Ok(());
        }
        self.batch.reading = self.reading_since.elapsed();
        self.reading_since = Instant::now();
        let next = self.spare.try_recv().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, next);
        self.unsettled = true;
        self.job(Job::Count(batch))
    }

    /// Sends `job`; if the counting thread has ended (it panicked), says so as an error
    /// ([`Counting::ended`]).
    fn job(&mut self, job: Job) -> Result<()> {
        match &self.jobs {
            Some(jobs) if jobs.send(job).is_ok() => Ok(()),
            _ => Err(self.ended()),
        }
    }

    /// The counting thread has ended (it only ends early by panicking): waits for it and
    /// says why, as the consumer's error.
    fn ended(&mut self) -> Error {
        self.jobs = None;
        let detail = match self.thread.take().map(JoinHandle::join) {
            Some(Err(panic)) => format!("it panicked: {}", panic_message(panic.as_ref())),
            _ => "it stopped".into(),
        };
        Error::Process {
            what: "the consumer's counting thread".into(),
            detail,
        }
    }

    /// The counter, once every message handed over is counted.
    fn settled(&mut self) -> Result<std::sync::MutexGuard<'_, Counter>> {
        self.send()?;
        if self.unsettled {
            let (done, wait) = std::sync::mpsc::sync_channel(1);
            self.job(Job::Flush(done))?;
            if wait.recv().is_err() {
                // It ended before answering.
                return Err(self.ended());
            }
            self.unsettled = false;
        }
        Ok(lock(&self.counter))
    }
}

impl Drop for Counting {
    /// Ends the counting thread (what it was given is dropped with it).
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// All-time counters per hashtag.
type AllTime = HashMap<Box<str>, u64, foldhash::fast::RandomState>;

/// Counts one event of `hashtag`; beyond `max` distinct hashtags (the engine's
/// [`WindowConfig::max_hashtags`]), under [`OTHER`], so memory stays bounded.
fn count_all_time(totals: &mut AllTime, hashtag: &str, max: usize) {
    if let Some(c) = totals.get_mut(hashtag) {
        *c += 1;
    } else if totals.len() < max {
        totals.insert(hashtag.into(), 1);
    } else {
        *totals.entry(OTHER.into()).or_default() += 1;
    }
}

/// Messages between the consumer's positions and the partitions' end offsets, from the
/// end offsets the client caches from its fetch responses: no network round trip, so a
/// trigger never waits on the broker. `None` until every partition has been fetched once.
fn lag_of(consumer: &PipelineConsumer, topic: &str, partitions: &[i32]) -> Option<i64> {
    if partitions.is_empty() {
        return None;
    }
    let positions = consumer.position().ok()?;
    let topic_c = std::ffi::CString::new(topic).ok()?;
    let mut lag = 0;
    for p in partitions {
        let (mut low, mut high) = (-1i64, -1i64);
        // SAFETY: the client pointer is valid while `consumer` lives; the topic is a valid
        // C string; low/high are valid out-pointers.
        let err = unsafe {
            rdkafka::bindings::rd_kafka_get_watermark_offsets(
                consumer.client().native_ptr(),
                topic_c.as_ptr(),
                *p,
                &mut low,
                &mut high,
            )
        };
        if err != rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || high < 0 {
            return None;
        }
        let pos = positions
            .find_partition(topic, *p)
            .and_then(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            })
            .unwrap_or(high);
        lag += (high - pos).max(0);
    }
    Some(lag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::Rejection;

    /// What the reading thread hands over is all counted, in order, once `settled`
    /// returns: full batches, the partial last one, and malformed payloads (counted as
    /// rejected), on top of the counts of a checkpoint resumed.
    #[test]
    fn the_counting_thread_counts_every_payload_handed_over() {
        let mut engine =
            WindowEngine::new(WindowConfig::tumbling(Duration::from_secs(60))).expect("engine");
        let mut counting = Counting::start(Counter {
            engine: {
                engine.ingest_raw(b"not json", Timestamp(0));
                engine
            },
            all_time: AllTime::default(),
            consumed: 1,
        })
        .expect("counting thread");
        let n = 3 * SEND_AT + 7;
        let huge = vec![b'{'; 4 * MAX_PAYLOAD_BYTES];
        let now = Timestamp::now();
        for i in 0..n {
            let payload = if i % 100 == 99 {
                b"{\"broken".to_vec()
            } else {
                format!(
                    r##"{{"usuario":"@a","texto":"t","hashtag_principal":"#T{}","timestamp":{}.0}}"##,
                    i % 3,
                    now.micros() / 1_000_000
                )
                .into_bytes()
            };
            counting.push(&payload, now).expect("push");
        }
        // Kept to one byte over the limit, and still rejected as oversized.
        counting.push(&huge, now).expect("push");
        assert!(counting.batch.bytes.len() < 3 * SEND_AT * 200 + MAX_PAYLOAD_BYTES + 2);
        assert_eq!(counting.received, n as u64 + 2);
        let c = counting.settled().expect("settled");
        assert_eq!(c.consumed, n as u64 + 2);
        let totals = c.engine.totals();
        assert_eq!(totals.input, n as u64 + 2);
        let broken = (n / 100) as u64;
        assert_eq!(totals.rejected.0.iter().sum::<u64>(), broken + 2);
        assert_eq!(totals.rejected.0[Rejection::Oversized.index()], 1);
        assert_eq!(totals.accepted, n as u64 - broken);
        let per_tag: u64 = c.all_time.values().sum();
        assert_eq!(per_tag, n as u64 - broken);
        assert_eq!(c.all_time.len(), 3);
    }

    /// A panic on the counting thread ends the consumer with an error that says so; the
    /// reading thread neither hangs nor goes on as if nothing was wrong.
    #[test]
    fn a_panic_on_the_counting_thread_is_reported() {
        let engine = WindowEngine::new(WindowConfig::default()).expect("engine");
        let mut counting = Counting::start(Counter {
            engine,
            all_time: AllTime::default(),
            consumed: 0,
        })
        .expect("counting thread");
        counting.job(Job::Panic).expect("sent");
        // Whether the batch goes before or after the thread has ended: the same error.
        let said = counting
            .push(b"{}", Timestamp(0))
            .and_then(|_| counting.settled().map(|_| ()))
            .expect_err("an error")
            .to_string();
        assert_eq!(
            said,
            "the consumer's counting thread failed: it panicked: test hook"
        );
        assert!(counting.thread.is_none(), "joined");
        let again = counting
            .push(b"{}", Timestamp(0))
            .and_then(|_| counting.send());
        assert!(again.is_err(), "later batches fail too");
    }
}
