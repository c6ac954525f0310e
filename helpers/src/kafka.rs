//! Small functions that build Kafka clients and ask the broker questions.
//!
//! One function per client, with a comment on every setting that is not obvious. All
//! calls here are blocking with a bound; the async consumer lives in [`crate::pipeline`].

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::metadata::Metadata;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::process::validate_name;

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

/// A consumer for one-off questions (metadata, offsets, health checks). No group
/// coordination is used: callers `assign` partitions themselves.
pub fn plain_consumer(bootstrap: &str) -> Result<BaseConsumer> {
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
pub fn partitions_of<C: Consumer<X>, X: rdkafka::consumer::ConsumerContext>(
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
pub fn describe_topics(bootstrap: &str, wait: Duration) -> Result<Vec<TopicInfo>> {
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
            let (_, high) = consumer
                .fetch_watermarks(t.name(), p, wait)
                .map_err(|e| Error::kafka("reading end offsets", e))?;
            ends.push(high);
        }
        out.push(TopicInfo {
            name: t.name().to_string(),
            end_offsets: ends,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
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

/// Makes sure `topic` exists with `partitions` partitions: through the Kafka admin API
/// where the broker supports it, else by auto-creation. Waits until the broker lists it.
pub fn ensure_topic(
    bootstrap: &str,
    topic: &str,
    partitions_wanted: i32,
    wait: Duration,
) -> Result<TopicCreation> {
    validate_name("topic", topic)?;
    if partitions(&plain_consumer(bootstrap)?, topic, wait)?.is_some() {
        return Ok(TopicCreation::Existed);
    }
    let admin: AdminClient<DefaultClientContext> = base_config(bootstrap)
        .create()
        .map_err(|e| Error::kafka("creating an admin client", e))?;
    let new = NewTopic::new(topic, partitions_wanted, TopicReplication::Fixed(1));
    // A broker without the admin API (the embedded one) never answers: try briefly.
    let admin_wait = wait.min(Duration::from_secs(3));
    let opts = AdminOptions::new()
        .operation_timeout(Some(admin_wait))
        .request_timeout(Some(admin_wait));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start a runtime", "", e))?;
    let outcome = rt.block_on(async {
        tokio::time::timeout(admin_wait, admin.create_topics([&new], &opts)).await
    });
    let how = match outcome {
        Ok(Ok(results)) => match results.into_iter().next() {
            Some(Ok(_)) => TopicCreation::Created,
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => TopicCreation::Existed,
            Some(Err((_, code))) => {
                return Err(Error::kafka("creating topic", KafkaError::AdminOp(code)))
            }
            None => TopicCreation::Created,
        },
        // No CreateTopics support (librdkafka's mock cluster) or a timeout: fall back to
        // auto-creation, which a metadata request for the topic triggers.
        Ok(Err(_)) | Err(_) => TopicCreation::AutoCreated,
    };
    let consumer: BaseConsumer = base_config(bootstrap)
        .set(
            "group.id",
            format!("stream-demo-probe-{}", std::process::id()),
        )
        // A metadata request for a missing topic creates it, where the broker allows.
        .set("allow.auto.create.topics", "true")
        .create()
        .map_err(|e| Error::kafka("creating a consumer", e))?;
    let deadline = Instant::now() + wait;
    loop {
        if partitions(&consumer, topic, Duration::from_secs(2))?.is_some() {
            return Ok(how);
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("topic {topic:?} to appear on the broker at {bootstrap}"),
                secs: wait.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
