//! The rdkafka side of the consumer: the client and its context (global errors,
//! rebalances), how it is created and connected, what a fetch error means, and the lag
//! read from the client's cached end offsets.

use std::sync::Mutex;
use std::time::Instant;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Offset;

use crate::core::time::Timestamp;
use crate::error::{Error, Result};
use crate::kafka::client::consumer_config;
use crate::sys::lock;

use super::config::{PipelineConfig, StartFrom};

/// The consumer of the pipeline: reads assigned partitions, no group coordination.
/// Receives the client's global errors (broker down, connection refused), which a
/// consumer loop never sees as messages, so the status can say "unreachable".
#[derive(Default)]
pub(super) struct Watch {
    /// The latest global error and when it came.
    pub(super) last_error: Mutex<Option<(Instant, String)>>,
    /// In a consumer group: the partitions the group gave us.
    pub(super) assigned: Mutex<Vec<i32>>,
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
pub(super) type PipelineConsumer = StreamConsumer<Watch>;

pub(super) fn create_consumer(
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
    // Part of the consumer's memory ceiling (issue 23): librdkafka prefetches up to 64 MB of
    // messages before we read them; 16 MB keeps hundreds of thousands of events a second
    // flowing.
    config.set("queued.max.messages.kbytes", "16384");
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

/// A fetch error, said for the status (a lost broker is reported by the client context,
/// not here).
pub(super) fn fetch_error_text(e: &rdkafka::error::KafkaError) -> String {
    if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::OffsetOutOfRange) {
        "offsets out of range: the topic's log was reset (a broker restarted without its \
         data); reading it again from its start"
            .to_string()
    } else {
        e.to_string()
    }
}

/// A client for `bootstrap` that joins the group, if the settings name one.
pub(super) fn connect(
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

/// Messages between the consumer's positions and the partitions' end offsets, from the
/// end offsets the client caches from its fetch responses: no network round trip, so a
/// trigger never waits on the broker. `None` until every partition has been fetched once.
pub(super) fn lag_of(consumer: &PipelineConsumer, topic: &str, partitions: &[i32]) -> Option<i64> {
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
