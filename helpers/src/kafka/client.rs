//! Small functions that build Kafka clients and ask the broker questions.
//!
//! One function per client, with a comment on every setting that is not obvious. All
//! calls here are blocking with a bound; the async consumer lives in [`crate::kafka::consumer`].

use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::metadata::Metadata;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sys::process::ProcessRecord;
use crate::sys::validate_name;
use crate::sys::wait::until;

/// The file in which a broker program ([`crate::lab::broker`]) publishes its address, in
/// its state folder: the contract between the lab that runs brokers and the clients here.
pub const BROKER_FILE: &str = "broker.json";

/// What a client needs of the record a broker program publishes (the lab writes more).
#[derive(Deserialize)]
struct Published {
    /// The address.
    bootstrap: String,
    /// The broker program's pid ...
    pid: u32,
    /// ... and its start time, so a reused pid is never taken for it.
    start_time: Option<u64>,
    /// Which start of the program this is: the identity of its log.
    #[serde(default)]
    log_id: Option<String>,
}

/// The record a broker program that still runs published in `state_dir`, if any (and if
/// the folder can be trusted: see [`crate::sys::state::check_dir`]). The lab reads the
/// whole record (`lab::broker::BrokerInfo`); a client needs only these fields.
fn published(state_dir: &Path) -> Option<Published> {
    let bytes = crate::sys::state::read_trusted(state_dir, BROKER_FILE)?;
    let p: Published = serde_json::from_slice(&bytes).ok()?;
    let record = ProcessRecord {
        pid: p.pid,
        start_time: p.start_time?,
        program: "broker".into(),
    };
    record.is_running().then_some(p)
}

/// The address a broker program that still runs published in `state_dir`, if any.
pub fn published_bootstrap(state_dir: &Path) -> Option<String> {
    published(state_dir).map(|p| p.bootstrap)
}

/// The identity of the log of the broker program that runs at `bootstrap`, if it published
/// itself in `state_dir` (else `None`: a broker the program does not run).
pub fn published_log_id(state_dir: &Path, bootstrap: &str) -> Option<String> {
    published(state_dir)
        .filter(|p| p.bootstrap == bootstrap)
        .and_then(|p| p.log_id)
}

/// Where a client connects when it is given no address and finds none published: Docker's
/// Kafka, [`crate::core::config::DEFAULT_BOOTSTRAP`] (the clients' configs' default).
pub fn fallback_bootstrap() -> String {
    crate::core::config::DEFAULT_BOOTSTRAP.to_string()
}

/// Where a client given no address connects: the address a running broker program
/// published in `state_dir` (the embedded broker, or Tansu), else `otherwise` (Docker's
/// Kafka).
pub fn find_bootstrap(state_dir: &Path, otherwise: &str) -> String {
    published_bootstrap(state_dir).unwrap_or_else(|| otherwise.to_string())
}

/// Settings shared by every client: where the brokers are, and quiet logs.
pub fn base_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        // Fail fast on a wrong address instead of retrying for minutes.
        .set("socket.connection.setup.timeout.ms", "5000")
        // librdkafka logs through `tracing` at warn and above only.
        .set("log_level", "4");
    c
}

/// Settings of every producer of the demo (ours, the health check's, the benchmark's).
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut c = base_config(bootstrap);
    // Exactly-once storage per partition: retries never duplicate an event.
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        // Wait up to 5 ms to batch events: high throughput, low latency.
        .set("linger.ms", "5")
        // Give up on an event after 30 s without a broker (then it counts as failed).
        .set("message.timeout.ms", "30000");
    c
}

/// Settings of every consumer that reads the stream (the pipeline's, and the bench's bare
/// loops, so the bench compares loops, not settings). The caller adds `group.id` and
/// `auto.offset.reset`.
pub fn consumer_config(bootstrap: &str) -> ClientConfig {
    let mut c = base_config(bootstrap);
    // The pipeline commits offsets itself, when it wants to (see `ConsumerLoop::commit`).
    c.set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        // Fetch as soon as data is there: low latency for a live view.
        .set("fetch.wait.max.ms", "5")
        // After a failed fetch (a broker going away), retry within 10 ms, not 500.
        .set("fetch.error.backoff.ms", "10")
        // When the consumer's local queue is full (it reads slower than the broker
        // sends), fetch again 10 ms after it has room, not 1 s later: with the default,
        // a consumer that decodes and counts sat idle ~1 s in every 1.6 s of catching up
        // (bench part 3).
        .set("fetch.queue.backoff.ms", "10")
        // Notice a lost broker within seconds, and retry it every second at most.
        .set("reconnect.backoff.max.ms", "1000")
        // In a group, partitions added to the topic are noticed within seconds (the
        // default is five minutes), so a rebalance hands them out.
        .set("topic.metadata.refresh.interval.ms", "2000");
    c
}

/// A consumer for one-off questions (metadata, offsets, health checks). No group
/// coordination is used: callers `assign` partitions themselves.
pub(crate) fn plain_consumer(bootstrap: &str) -> Result<BaseConsumer> {
    base_config(bootstrap)
        .set(
            "group.id",
            format!("stream-demo-probe-{}", std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .map_err(|e| Error::kafka("creating a consumer", e))
}

/// Waits until a broker at `bootstrap` answers a metadata request, for at most `wait`.
/// Never sleeps blindly: it asks, and asks again until the bound.
pub fn wait_for_broker(bootstrap: &str, wait: Duration) -> Result<Metadata> {
    let consumer = plain_consumer(bootstrap)?;
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match consumer.fetch_metadata(None, left.min(Duration::from_secs(2))) {
            Ok(md) if !md.brokers().is_empty() => return Ok(md),
            _ if Instant::now() >= deadline => {
                return Err(Error::BrokerUnreachable {
                    bootstrap: bootstrap.to_string(),
                    waited_secs: wait.as_secs().max(1),
                })
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// One topic as the broker describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// End offset (next offset to be written) of each partition, by partition id.
    pub end_offsets: Vec<i64>,
}

impl TopicInfo {
    /// Number of partitions.
    pub fn partitions(&self) -> usize {
        self.end_offsets.len()
    }

    /// Messages stored (sum of end offsets; the demo never deletes data).
    pub fn messages(&self) -> i64 {
        self.end_offsets.iter().sum()
    }
}

/// Partition ids of `topic`, or `None` if the broker does not know it.
pub fn partitions(
    consumer: &BaseConsumer,
    topic: &str,
    wait: Duration,
) -> Result<Option<Vec<i32>>> {
    partitions_of(consumer, topic, wait)
}

/// [`partitions`] for any kind of consumer.
pub(crate) fn partitions_of<C: Consumer<X>, X: rdkafka::consumer::ConsumerContext>(
    consumer: &C,
    topic: &str,
    wait: Duration,
) -> Result<Option<Vec<i32>>> {
    let md = consumer
        .fetch_metadata(Some(topic), wait)
        .map_err(|e| Error::kafka("reading topic metadata", e))?;
    Ok(md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .and_then(|t| {
            if t.error().is_some() || t.partitions().is_empty() {
                None
            } else {
                let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
                ids.sort_unstable();
                Some(ids)
            }
        }))
}

/// The topics on the broker (internal ones, starting with `__`, left out) with their end
/// offsets.
pub(crate) fn describe_topics(bootstrap: &str, wait: Duration) -> Result<Vec<TopicInfo>> {
    let consumer = plain_consumer(bootstrap)?;
    let md = consumer
        .fetch_metadata(None, wait)
        .map_err(|e| Error::kafka("reading metadata", e))?;
    let mut out = Vec::new();
    for t in md.topics() {
        if t.name().starts_with("__") || t.error().is_some() {
            continue;
        }
        let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
        ids.sort_unstable();
        let mut ends = Vec::new();
        for p in ids {
            ends.push(end_offset(&consumer, t.name(), p, wait)?);
        }
        out.push(TopicInfo {
            name: t.name().to_string(),
            end_offsets: ends,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The end offset of one partition. Right after a partition's leader changes (a broker
/// failed), the client's metadata can still name the old leader and the broker answers
/// `NotLeaderForPartition`: asked again a moment later, within `wait` in all, the client
/// has learnt the new leader.
fn end_offset(consumer: &BaseConsumer, topic: &str, partition: i32, wait: Duration) -> Result<i64> {
    let deadline = Instant::now() + wait;
    loop {
        match consumer.fetch_watermarks(topic, partition, wait) {
            Ok((_, high)) => return Ok(high),
            Err(e)
                if matches!(
                    e.rdkafka_error_code(),
                    Some(
                        RDKafkaErrorCode::NotLeaderForPartition
                            | RDKafkaErrorCode::LeaderNotAvailable
                    )
                ) && Instant::now() + Duration::from_millis(200) < deadline =>
            {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(Error::kafka("reading end offsets", e)),
        }
    }
}

/// How a topic came to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicCreation {
    /// Created now through the admin API.
    Created,
    /// It was already there.
    Existed,
    /// The broker has no admin API (the embedded broker): it was created by a metadata
    /// request (auto-creation), with the broker's default partition count.
    AutoCreated,
}

/// In words, for the health check's report.
impl std::fmt::Display for TopicCreation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TopicCreation::Created => "created",
            TopicCreation::Existed => "already there",
            TopicCreation::AutoCreated => "created on first use",
        })
    }
}

/// Makes sure `topic` exists with `partitions` partitions: through the Kafka admin API
/// where the broker supports it, else by auto-creation. Waits until the broker lists it.
pub(crate) fn ensure_topic(
    bootstrap: &str,
    topic: &str,
    partitions_wanted: i32,
    wait: Duration,
) -> Result<TopicCreation> {
    ensure_topic_with(bootstrap, topic, partitions_wanted, None, wait)
}

/// [`ensure_topic`] with `copies` copies of each partition if given (else one per broker
/// the metadata lists, at most 3).
pub(crate) fn ensure_topic_with(
    bootstrap: &str,
    topic: &str,
    partitions_wanted: i32,
    copies: Option<i32>,
    wait: Duration,
) -> Result<TopicCreation> {
    validate_name("topic", topic)?;
    if partitions(&plain_consumer(bootstrap)?, topic, wait)?.is_some() {
        return Ok(TopicCreation::Existed);
    }
    let how = create_topic(bootstrap, topic, partitions_wanted, copies, wait)?;
    let consumer: BaseConsumer = base_config(bootstrap)
        .set(
            "group.id",
            format!("stream-demo-probe-{}", std::process::id()),
        )
        // A metadata request for a missing topic creates it, where the broker allows.
        .set("allow.auto.create.topics", "true")
        .create()
        .map_err(|e| Error::kafka("creating a consumer", e))?;
    let mut failure = None;
    let found = until(wait, Duration::from_millis(100), || {
        match partitions(&consumer, topic, Duration::from_secs(2)) {
            Ok(found) => found.is_some(),
            Err(e) => {
                failure = Some(e);
                true
            }
        }
    });
    match failure {
        Some(e) => Err(e),
        None if found => Ok(how),
        None => Err(Error::Timeout {
            what: format!("topic {topic:?} to appear on the broker at {bootstrap}"),
            secs: wait.as_secs(),
        }),
    }
}

/// An admin client of `bootstrap`, options that wait at most `wait`, and a runtime to wait
/// for its answers on.
fn admin(
    bootstrap: &str,
    wait: Duration,
) -> Result<(
    AdminClient<DefaultClientContext>,
    AdminOptions,
    tokio::runtime::Runtime,
)> {
    let admin = base_config(bootstrap)
        .create()
        .map_err(|e| Error::kafka("creating an admin client", e))?;
    let opts = AdminOptions::new()
        .operation_timeout(Some(wait))
        .request_timeout(Some(wait));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::os("cannot start a runtime", e))?;
    Ok((admin, opts, rt))
}

/// Asks the broker to create `topic` through the admin API, briefly: a broker without
/// the admin API (the embedded one) never answers, and then auto-creation is the way.
fn create_topic(
    bootstrap: &str,
    topic: &str,
    partitions_wanted: i32,
    copies: Option<i32>,
    wait: Duration,
) -> Result<TopicCreation> {
    // A broker without the admin API (the embedded one) never answers: try briefly. A
    // real broker answers in milliseconds; if it takes longer, auto-creation (below) or
    // the topic it was creating anyway is found by the caller's metadata requests. A
    // caller that names the copies knows the broker has the admin API: it waits longer.
    let admin_wait = wait.min(Duration::from_secs(if copies.is_some() { 10 } else { 1 }));
    // One copy of each partition per broker, at most 3. Docker's three brokers
    // (`docker/docker-compose.cluster.yml`) refuse `acks=all` writes to a partition with
    // fewer in-sync copies than min.insync.replicas (2): one copy would refuse them all.
    let replication = copies.unwrap_or_else(|| {
        wait_for_broker(bootstrap, admin_wait).map_or(1, |md| md.brokers().len().clamp(1, 3) as i32)
    });
    let new = NewTopic::new(
        topic,
        partitions_wanted,
        TopicReplication::Fixed(replication),
    );
    let (admin, opts, rt) = admin(bootstrap, admin_wait)?;
    let outcome = rt.block_on(async {
        tokio::time::timeout(admin_wait, admin.create_topics([&new], &opts)).await
    });
    match outcome {
        Ok(Ok(results)) => match results.into_iter().next() {
            Some(Ok(_)) => Ok(TopicCreation::Created),
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(TopicCreation::Existed),
            Some(Err((_, code))) => Err(Error::kafka("creating topic", KafkaError::AdminOp(code))),
            None => Ok(TopicCreation::Created),
        },
        // No CreateTopics support (librdkafka's mock cluster) or a timeout: fall back to
        // auto-creation, which a metadata request for the topic triggers.
        Ok(Err(_)) | Err(_) => Ok(TopicCreation::AutoCreated),
    }
}

/// Deletes `topic` through the admin API, waiting at most `wait`: `Ok(true)` when the broker
/// deleted it, `Ok(false)` when it has no admin API (the embedded broker never answers; its
/// topics live in memory and go with it).
pub fn delete_topic(bootstrap: &str, topic: &str, wait: Duration) -> Result<bool> {
    validate_name("topic", topic)?;
    let (admin, opts, rt) = admin(bootstrap, wait)?;
    let outcome = rt
        .block_on(async { tokio::time::timeout(wait, admin.delete_topics(&[topic], &opts)).await });
    match outcome {
        Ok(Ok(results)) => match results.into_iter().next() {
            Some(Ok(_)) | None => Ok(true),
            Some(Err((_, RDKafkaErrorCode::UnknownTopicOrPartition))) => Ok(true),
            Some(Err((_, code))) => Err(Error::kafka("deleting topic", KafkaError::AdminOp(code))),
        },
        Ok(Err(_)) | Err(_) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_reach_a_command_line_are_checked() {
        for ok in ["tweets_topic", "a", "health-check.1", &"x".repeat(249)] {
            assert!(validate_name("topic", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a b",
            "a;rm -rf",
            "$(x)",
            "tópico",
            "a/b",
            &"x".repeat(250),
        ] {
            let e = validate_name("topic", bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid setting topic"), "{e}");
        }
    }
}
