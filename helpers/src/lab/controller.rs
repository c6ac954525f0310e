//! The embedded cluster's controller: which broker leads each partition, and what happens
//! when a broker goes down.
//!
//! In real Kafka a **controller** (since Kafka 4, a Raft quorum of controller processes)
//! watches the brokers. When the leader of a partition stops answering, it picks a new
//! leader among the partition's **in-sync replicas** (ISR: the replicas that have every
//! acknowledged message) and tells everyone through the metadata. With `acks=all` a
//! message is acknowledged only once every in-sync replica has it, so the new leader has
//! it too: nothing acknowledged is lost.
//!
//! librdkafka's mock cluster keeps one log per partition whatever the leader, and leaves
//! leadership to whoever drives it ("broker_down does not trigger a leader change"). So
//! the `broker` program plays the controller: it assigns leaders at start (partition `p`
//! on broker `p % brokers + 1`), and when asked to take a broker down it moves that
//! broker's partitions to the next replica that is up, as a controller would, then
//! disconnects the broker (`DRAIN` says why in that order). It cannot
//! show a replica falling behind: the ISR it reports is "the replicas that are up".
//!
//! Requests come through a small JSON file in the state directory
//! ([`CONTROL_FILE`]: `{"down": [2]}`), written by
//! [`crate::lab::infra::Infra::broker_down`]; the state is published in `broker.json`.

use std::collections::BTreeSet;
use std::path::Path;

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How long a broker taken down keeps its connections after its partitions have moved:
/// long enough for the answers to requests it already accepted to reach the clients.
///
/// The mock checks an idempotent producer's sequence numbers only for transactional
/// producers, so a batch it stored whose answer was lost with the connection comes back
/// as a retry and is stored twice (a test saw 4,003 of 4,000, one run in six). Real
/// Kafka keeps the producer's state with the replicas and drops such a retry. Moving the
/// leadership first, like Kafka's controlled shutdown, sends later requests to the new
/// leader, and the wait lets earlier answers arrive.
const DRAIN: std::time::Duration = std::time::Duration::from_millis(200);

/// File name, in the state directory, of the brokers asked to be down.
pub const CONTROL_FILE: &str = "broker-control.json";

/// What the controller is asked: which brokers must be down.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterControl {
    /// Broker ids (from 1) to take down; the others are up.
    pub down: BTreeSet<i32>,
}

impl ClusterControl {
    /// Reads the request in `state_dir`, if any (absent or unreadable: none).
    pub fn read(state_dir: &Path) -> Option<ClusterControl> {
        let text = std::fs::read_to_string(state_dir.join(CONTROL_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// One partition as the controller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    /// The topic.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
    /// The broker that serves reads and writes (`None`: no replica is up).
    pub leader: Option<i32>,
    /// The brokers holding a copy.
    pub replicas: Vec<i32>,
    /// The replicas in sync (here: those that are up).
    pub isr: Vec<i32>,
}

/// The controller of the mock cluster: leaders, replicas, brokers down.
#[derive(Debug)]
pub(crate) struct Controller {
    /// Brokers in the cluster, 1..=brokers.
    brokers: i32,
    /// Every partition of every topic.
    partitions: Vec<PartitionState>,
    /// Brokers down now.
    down: BTreeSet<i32>,
}

impl Controller {
    /// Creates the topics on `cluster` with `replication` copies each and assigns leaders
    /// round robin.
    pub(crate) fn start(
        cluster: &MockCluster<'static, DefaultProducerContext>,
        brokers: i32,
        replication: i32,
        topics: &[(String, i32)],
    ) -> Result<Controller> {
        if !(1..=brokers).contains(&replication) {
            return Err(Error::config(
                "replication",
                replication,
                &format!("use 1 to {brokers} (the number of brokers)"),
            ));
        }
        let mut partitions = Vec::new();
        for (topic, parts) in topics {
            cluster
                .create_topic(topic, *parts, replication)
                .map_err(|e| Error::kafka(&format!("creating topic {topic:?}"), e))?;
            for p in 0..*parts {
                let leader = p % brokers + 1;
                // The leader and the next brokers, round the ring: like Kafka's placement.
                let replicas: Vec<i32> = (0..replication)
                    .map(|k| (leader - 1 + k) % brokers + 1)
                    .collect();
                cluster
                    .partition_leader(topic, p, Some(leader))
                    .map_err(|e| Error::kafka("setting a partition leader", e))?;
                partitions.push(PartitionState {
                    topic: topic.clone(),
                    partition: p,
                    leader: Some(leader),
                    isr: replicas.clone(),
                    replicas,
                });
            }
        }
        Ok(Controller {
            brokers,
            partitions,
            down: BTreeSet::new(),
        })
    }

    /// The partitions, as published.
    pub(crate) fn partitions(&self) -> &[PartitionState] {
        &self.partitions
    }

    /// The brokers down now.
    pub(crate) fn down(&self) -> &BTreeSet<i32> {
        &self.down
    }

    /// Applies a request: brokers newly down are disconnected and their partitions get a
    /// new leader among the replicas that are up; brokers newly up accept connections
    /// again and lead the partitions that had no leader. Returns whether anything changed.
    pub(crate) fn apply(
        &mut self,
        cluster: &MockCluster<'static, DefaultProducerContext>,
        want: &ClusterControl,
    ) -> Result<bool> {
        let want: BTreeSet<i32> = want
            .down
            .iter()
            .copied()
            .filter(|b| (1..=self.brokers).contains(b))
            .collect();
        if want == self.down {
            return Ok(false);
        }
        let going_down: Vec<i32> = want.difference(&self.down).copied().collect();
        for b in self.down.difference(&want) {
            cluster
                .broker_up(*b)
                .map_err(|e| Error::kafka("bringing a broker up", e))?;
        }
        self.down = want;
        // New leaders first, then the broker goes: see DRAIN.
        self.elect(cluster)?;
        if !going_down.is_empty() {
            std::thread::sleep(DRAIN);
            for b in going_down {
                cluster
                    .broker_down(b)
                    .map_err(|e| Error::kafka("taking a broker down", e))?;
            }
        }
        Ok(true)
    }

    /// Gives every partition whose leader is down (or that has none) the first replica
    /// that is up, and recomputes the in-sync replicas.
    fn elect(&mut self, cluster: &MockCluster<'static, DefaultProducerContext>) -> Result<()> {
        for p in &mut self.partitions {
            p.isr = p
                .replicas
                .iter()
                .copied()
                .filter(|r| !self.down.contains(r))
                .collect();
            let leader_ok = p.leader.is_some_and(|l| !self.down.contains(&l));
            if !leader_ok {
                let next = p.isr.first().copied();
                cluster
                    .partition_leader(&p.topic, p.partition, next)
                    .map_err(|e| Error::kafka("moving a partition's leader", e))?;
                p.leader = next;
            }
        }
        Ok(())
    }
}
