//! # Stages 2 and 3: the pipeline's Kafka clients
//!
//! What talks to a broker on the stream's behalf, whichever broker it is:
//!
//! * [`client`]: one small function per Kafka client, with a reason for every
//!   non-obvious setting, and the questions we ask a broker (metadata, offsets).
//! * [`producer`]: the producer loop and its background-process handle.
//! * [`consumer`]: the live consumer thread: Kafka → window engine → snapshots.
//! * [`checkpoint`]: the consumer's checkpoint, to restart without loss.
//!
//! The brokers themselves (Docker, embedded, Tansu) are the classroom's Kafka lab,
//! [`crate::lab`], one layer up: the clients here get a broker's address from their
//! caller.
//!
//! May use: [`crate::core`], [`crate::sys`], [`crate::error`], rdkafka and tokio. Async
//! code stays inside this folder, on threads it owns: what it hands out is synchronous.

pub mod checkpoint;
pub mod client;
pub mod consumer;
pub mod producer;
