//! # Stages 1 to 3: Kafka, the producer and the consumer
//!
//! Everything that talks to a broker, in the order the notebook starts it:
//!
//! * [`client`]: one small function per Kafka client, with a reason for every
//!   non-obvious setting, and the questions we ask a broker (metadata, offsets).
//! * [`broker`]: the embedded Kafka-protocol broker for machines without Docker.
//! * [`tansu`]: a second, independent broker (Tansu) the `broker` program can host.
//! * [`controller`]: the embedded cluster's controller: leaders, replicas, failover.
//! * [`infra`]: start, check, stop and tear down Kafka (Docker or embedded).
//! * [`health`]: the health check (produce N messages, read them back).
//! * [`producer`]: the producer loop and its background-process handle.
//! * [`consumer`]: the live consumer thread: Kafka → window engine → snapshots.
//! * [`checkpoint`]: the consumer's checkpoint, to restart without loss.
//!
//! May use: [`crate::core`], [`crate::sys`], rdkafka and tokio. Async code stays inside
//! this folder, on threads it owns: what it hands out is synchronous.

pub mod broker;
pub mod checkpoint;
pub mod client;
pub mod consumer;
pub mod controller;
pub mod health;
pub mod infra;
pub mod producer;
pub mod tansu;
