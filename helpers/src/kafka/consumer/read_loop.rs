//! The reading thread: a single-threaded tokio runtime running [`ConsumerLoop`], which
//! follows partitions, reads messages and hands them to the counting thread, checks the
//! broker and, at every trigger, ticks the engine, publishes the snapshot and saves the
//! checkpoint.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaResult;
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};

use crate::core::time::Timestamp;
use crate::core::window::{top_with_other, Arrival, WindowEngine, SNAPSHOT_TOP};
use crate::error::{Error, Result};
use crate::kafka::checkpoint::{self, Checkpoint, ClusterIdentity};
use crate::kafka::client::{find_bootstrap, partitions_of, published_log_id};
use crate::sys::lock;

use super::config::{PipelineConfig, StartFrom};
use super::connection::{connect, lag_of, PipelineConsumer};
use super::counting::{Counter, Counting};
use super::shared::{BrokerState, Shared};

/// The consumer thread's body: a single-threaded tokio runtime running [`ConsumerLoop`].
pub(super) fn run(
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
pub(super) enum Wake<'c> {
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
pub(super) struct ConsumerLoop<'s> {
    /// The settings.
    pub(super) config: &'s PipelineConfig,
    /// Whether the broker address was found rather than given: only then is it looked up
    /// again when the broker disappears (the embedded broker comes back on a new port).
    pub(super) auto_bootstrap: bool,
    /// What the loop publishes for the handle.
    pub(super) shared: &'s Shared,
    /// The Kafka client; replaced when the embedded broker restarts elsewhere.
    pub(super) consumer: PipelineConsumer,
    /// The address `consumer` talks to.
    pub(super) bootstrap: String,
    /// Where reading starts on the partitions we assign next.
    pub(super) start_from: StartFrom,
    /// The partitions we read now (empty until the topic is found or the group assigns),
    /// sorted.
    pub(super) assigned: Vec<i32>,
    /// Where each partition was assigned from (raw offsets), for the checkpoint of a
    /// partition nothing was read from yet.
    pub(super) assigned_at: BTreeMap<i32, i64>,
    /// The offsets a checkpoint saved: those partitions are read from there.
    pub(super) resume_at: BTreeMap<i32, i64>,
    /// The cluster the resumed checkpoint was written for (`None`: no checkpoint resumed,
    /// one too old to say, or a log we moved away from on purpose).
    pub(super) resumed_cluster: Option<ClusterIdentity>,
    /// With a checkpoint folder, the cluster we read, once checked against
    /// `resumed_cluster` (before any partition is assigned): until then nothing is read,
    /// and no checkpoint saved.
    pub(super) cluster: Option<ClusterIdentity>,
    /// Whether the broker has answered whether the topic exists (with this client):
    /// partitions found after that are new, and read from their start.
    pub(super) looked: bool,
    /// When to look for new partitions next (alone, not in a group).
    pub(super) next_partition_check: Instant,
    /// When the broker was first seen unreachable in the current outage.
    pub(super) unreachable_since: Option<Instant>,
    /// Whether a trigger has counted events yet. Until one has, the loop fires a trigger
    /// at the first health check after events arrive (within a second), not a whole
    /// interval later: the first chart comes as soon as there is something to show.
    pub(super) counted_once: bool,
    /// Messages read before this start, by the consumer whose checkpoint we resumed (0
    /// without one): the first trigger comes early once messages arrive after them.
    pub(super) resumed_at: u64,
    /// The engine and the counters, on their own thread (a separate field, so it can be
    /// borrowed mutably while a message still borrows `consumer`).
    pub(super) counting: Counting,
}

impl<'s> ConsumerLoop<'s> {
    /// Creates the Kafka client (and joins the group, if any).
    pub(super) fn new(
        config: &'s PipelineConfig,
        auto_bootstrap: bool,
        engine: WindowEngine,
        resume: Option<Checkpoint>,
        shared: &'s Shared,
    ) -> Result<ConsumerLoop<'s>> {
        let (resume_at, resumed_cluster, all_time, consumed) = match resume {
            Some(cp) => (
                cp.offsets,
                // An old checkpoint without one: noted when the cluster is checked.
                Some(cp.cluster.unwrap_or_default()),
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
            resumed_cluster,
            cluster: None,
            looked: false,
            next_partition_check: Instant::now(),
            unreachable_since: None,
            counted_once: false,
            resumed_at: consumed,
            counting: Counting::start(Counter::new(engine, all_time, consumed))?,
        })
    }

    /// Runs until stopped. Each turn waits for whichever comes first: stop, a trigger, or
    /// a message (only once there are partitions to read).
    pub(super) async fn run(mut self, mut ticker: tokio::time::Interval) -> Result<()> {
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
                    let read = self.counting.ledger.partitions();
                    self.shared.status(|s| {
                        s.consumed = consumed;
                        s.read = read;
                    });
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
    pub(super) fn commit(&self, mode: rdkafka::consumer::CommitMode) {
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
    pub(super) fn sync_partitions(&mut self) -> Result<()> {
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
                if !self.check_cluster()? {
                    return Ok(());
                }
                self.add_new_partitions(&parts)?;
                self.looked = true;
            }
            Ok(None) => {
                self.looked = true;
                self.shared.status(|s| s.broker = BrokerState::Connecting)
            }
            Err(e) => {
                let msg = format!("broker unreachable: {e}");
                // Noted for `check_broker` too, which looks for a broker that restarted
                // elsewhere: a client that never connected (an address nobody listens
                // on) may report no error of its own.
                lock(&self.consumer.context().last_error)
                    .get_or_insert_with(|| (Instant::now(), e.to_string()));
                self.shared.status(|s| {
                    s.broker = BrokerState::Unreachable(msg.clone());
                    s.last_error = Some(msg);
                });
            }
        }
        Ok(())
    }

    /// With a checkpoint folder, before the first partition is assigned: is the cluster we
    /// reached the one the checkpoint was written for? Its offsets mean nothing in another
    /// log (they would skip, or count again, messages of a log it never read), so another
    /// cluster ends the consumer with an error before anything is counted. Returns false
    /// while the cluster's id is not known yet (asked again at the next turn).
    pub(super) fn check_cluster(&mut self) -> Result<bool> {
        let Some(dir) = &self.config.checkpoint else {
            return Ok(true);
        };
        if self.cluster.is_some() {
            return Ok(true);
        }
        // The metadata that found the topic carried it: known at once, unless the broker
        // reports none (then `None`, and only the log's identity can tell) or the answer
        // was lost (then asked again at the next turn, below).
        let now = ClusterIdentity {
            cluster_id: self
                .consumer
                .client()
                .fetch_cluster_id(Duration::from_millis(1000)),
            log_id: published_log_id(&self.config.state_dir, &self.bootstrap),
        };
        if let Some(then) = &self.resumed_cluster {
            if then.cluster_id.is_some() && now.cluster_id.is_none() {
                // The checkpoint's cluster reported an id: this one will too, once its
                // answer comes. Nothing is read until it can be compared.
                return Ok(false);
            }
            if let Some(why) = then.mismatch(&now) {
                return Err(Error::config(
                    "checkpoint",
                    dir.display(),
                    &format!(
                        "{why}: its offsets mean nothing in the log at {}, so nothing was \
                         read. Delete that folder, or give another one, to start counting \
                         afresh on this broker",
                        self.bootstrap
                    ),
                ));
            }
            if then.cluster_id.is_none() && then.log_id.is_none() {
                let note = format!(
                    "checkpoint {}: written before checkpoints recorded their cluster; \
                     assumed to be this one ({}), recorded from now on",
                    dir.display(),
                    now.cluster_id.as_deref().unwrap_or("?")
                );
                tracing::warn!("{note}");
                self.shared.status(|s| s.last_error = Some(note));
            }
        }
        self.cluster = Some(now);
        Ok(true)
    }

    /// Reads the partitions of `parts` we do not read yet. The first ones seen, if the
    /// topic was there when we first looked, start where `start_from` says; any seen
    /// later are new, and read from their start.
    pub(super) fn add_new_partitions(&mut self, parts: &[i32]) -> Result<()> {
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
    pub(super) fn assign(&mut self, parts: &[i32], from: StartFrom) -> Result<()> {
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
                self.counting.ledger.start(*p, raw);
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
    pub(super) fn check_broker(&mut self) -> Result<bool> {
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
    pub(super) fn reconnect(&mut self, fresh: String) -> Result<()> {
        self.consumer = connect(self.config, &fresh, StartFrom::Earliest)?;
        self.assigned.clear();
        // The offsets of the old log mean nothing in the new one.
        self.assigned_at.clear();
        self.counting.ledger.clear();
        self.resume_at.clear();
        // A new log, on purpose: its identity is recorded afresh, not compared.
        self.resumed_cluster = None;
        self.cluster = None;
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
    pub(super) fn trigger(&mut self) -> Result<()> {
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
    pub(super) fn save_checkpoint(&mut self) -> Result<()> {
        let Some(dir) = &self.config.checkpoint else {
            return Ok(());
        };
        let Some(cluster) = self.cluster.clone() else {
            // The cluster is not checked yet: nothing was read, and the checkpoint we
            // resumed (perhaps another cluster's) stays as it is.
            return Ok(());
        };
        let counter = self.counting.settled()?;
        // The offset after the last message handed to us, per partition; where it was
        // assigned from if none was; the resumed one for a partition not assigned yet.
        let mut offsets = self.resume_at.clone();
        offsets.extend(&self.assigned_at);
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
            cluster: Some(cluster),
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
    pub(super) fn tick_and_publish(&mut self) -> Result<()> {
        #[cfg(test)]
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
        let arrivals: Vec<Arrival> = counter.arrivals.iter().copied().collect();
        drop(counter);
        let mut st = lock(&self.shared.state);
        st.arrivals = Arc::new(arrivals);
        if st.metrics.len() >= self.config.metrics_history.max(1) {
            st.metrics.pop_front();
        }
        st.metrics.push_back(snap.metrics.clone());
        if consumed > st.status.consumed && st.status.broker != BrokerState::Connected {
            st.status.broker = BrokerState::Connected;
        }
        st.status.consumed = consumed;
        st.status.read = self.counting.ledger.partitions();
        st.snapshot = Some(Arc::new(snap));
        st.all_time = all_time;
        Ok(())
    }
}

/// How often a consumer that reads all partitions itself asks whether the topic gained
/// partitions.
pub(super) const PARTITION_CHECK: Duration = Duration::from_secs(1);

/// How often the consumer checks the broker between triggers (for its status).
pub(super) const HEALTH_CHECK: Duration = Duration::from_secs(1);
