//! What a class asks Kafka about a consumer group: how big the topic is, and how far the
//! group has committed. A client of the group that does not join it (Kafka's
//! `kafka-consumer-groups --describe` asks the same questions).

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::error::{Error, Result};
use crate::kafka::client::base_config;
use crate::lab::infra::Infra;

/// Asks the broker about one group and one topic.
pub struct GroupProbe<'a> {
    /// The Kafka the group reads.
    infra: &'a Infra,
    /// The topic the group reads.
    topic: String,
    /// A client with the group's id that never joins it (it only reads its offsets).
    consumer: BaseConsumer,
}

impl<'a> GroupProbe<'a> {
    /// A probe of `group` reading `topic` on `infra`.
    pub fn new(infra: &'a Infra, group: &str, topic: &str) -> Result<Self> {
        let consumer = base_config(&infra.bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| Error::kafka("creating a consumer", e))?;
        Ok(GroupProbe {
            infra,
            topic: topic.to_string(),
            consumer,
        })
    }

    /// The topic's partitions and the messages it holds.
    pub fn topic(&self) -> Result<(usize, i64)> {
        let st = self.infra.status()?;
        Ok(st
            .topics
            .iter()
            .find(|t| t.name == self.topic)
            .map_or((0, 0), |t| (t.partitions(), t.messages())))
    }

    /// The sum of the group's committed offsets over `partitions`. A group that started at
    /// the beginning of every partition has read this many messages, each once. (Not the
    /// end offsets: Tansu reports some too low.)
    pub fn committed(&self, partitions: usize) -> Result<i64> {
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions as i32 {
            tpl.add_partition(&self.topic, p);
        }
        let got = self
            .consumer
            .committed_offsets(tpl, Duration::from_secs(5))
            .map_err(|e| Error::kafka("reading the group's committed offsets", e))?;
        Ok(got
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            })
            .sum())
    }
}
