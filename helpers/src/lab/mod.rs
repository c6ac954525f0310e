//! # Stage 1: the classroom's Kafka lab
//!
//! The brokers a class runs, and the levers a lesson pulls on them:
//!
//! * [`broker`]: the embedded Kafka-protocol broker for machines without Docker.
//! * [`tansu`]: a second, independent broker (Tansu) the `broker` program can host.
//! * [`kraft`]: Apache Kafka itself (KRaft, one node or a cluster), hosted the same way.
//! * [`controller`]: the embedded cluster's controller: leaders, replicas, failover.
//! * [`infra`]: start, check, stop and tear down Kafka (Docker or embedded).
//! * [`health`]: the health check (produce N messages, read them back), as data.
//! * [`probe`]: what a consumer group has committed, and how big its topic is.
//!
//! May use: [`crate::kafka`] (its clients, to ask a broker questions), [`crate::core`],
//! [`crate::sys`], [`crate::error`], rdkafka. Rendering is not done here: the views
//! draw what these modules return.

pub mod broker;
pub mod controller;
pub mod health;
pub mod infra;
pub mod kraft;
pub mod probe;
pub mod tansu;
