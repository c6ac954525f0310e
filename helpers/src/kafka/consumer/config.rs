//! The live consumer's settings: where it reads, from where, and how it counts.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::config::{WindowConfig, TWEETS_TOPIC};
use crate::kafka::client::fallback_bootstrap;
use crate::sys::state::default_state_dir;

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
    /// Broker address; empty means "find it" (the notebook's settings fill it from
    /// `KAFKA_BOOTSTRAP` when set: [`crate::settings::Environment::place_pipeline`]): the address a running broker program
    /// published in `state_dir`, else `fallback_bootstrap` (see
    /// [`crate::kafka::client::find_bootstrap`]), looked up again if the broker goes away.
    pub bootstrap: String,
    /// Where to connect when `bootstrap` is empty and no broker program published its
    /// address: Docker's Kafka (`127.0.0.1:9092`; the settings give its three addresses
    /// with `DOCKER_BROKERS=3`).
    #[serde(default = "fallback_bootstrap")]
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
    /// for a consumer alone: a group keeps its offsets in Kafka. One consumer at a time per
    /// folder (a second is refused), and one cluster per folder (a checkpoint written on
    /// another cluster, or another start of the embedded broker, is refused).
    #[serde(default)]
    pub checkpoint: Option<PathBuf>,
    /// Test hook (unit tests only): the loop panics at its first trigger, to show that a
    /// panic in the consumer thread is reported, not hidden.
    #[cfg(test)]
    #[serde(skip)]
    pub(crate) panic_on_trigger: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            bootstrap: String::new(),
            fallback_bootstrap: fallback_bootstrap(),
            topic: TWEETS_TOPIC.to_string(),
            start_from: StartFrom::Latest,
            window: WindowConfig::default(),
            trigger: Duration::from_secs(10),
            metrics_history: 360,
            state_dir: default_state_dir(),
            group: None,
            checkpoint: None,
            #[cfg(test)]
            panic_on_trigger: false,
        }
    }
}
