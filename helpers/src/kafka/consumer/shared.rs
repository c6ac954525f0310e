//! What the consumer's threads publish for its handle: the status, the snapshot, the
//! metrics, behind one mutex, and the signal that stops them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::core::lang::tr;
use crate::core::ledger::PartitionRead;
use crate::core::window::{Arrival, Snapshot, TriggerMetrics};
use crate::sys::lock;

/// The consumer's connection to the broker, as the status table shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BrokerState {
    /// Not connected yet, or the topic does not exist yet.
    Connecting,
    /// Reading.
    Connected,
    /// The last request failed; the consumer keeps retrying.
    Unreachable(String),
}

/// In words, for a status table: `connecting`, `connected`, or the reason it is not.
impl std::fmt::Display for BrokerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerState::Connecting => f.write_str(tr("connecting", "conectando")),
            BrokerState::Connected => f.write_str(tr("connected", "conectado")),
            BrokerState::Unreachable(reason) => f.write_str(reason),
        }
    }
}

/// What the consumer is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineStatus {
    /// False once the thread has ended.
    pub running: bool,
    /// The address used.
    pub bootstrap: String,
    /// Connection state.
    pub broker: BrokerState,
    /// Partitions read.
    pub partitions: Vec<i32>,
    /// Messages received so far.
    pub consumed: u64,
    /// The last error the consumer saw (it goes on after errors).
    pub last_error: Option<String>,
    /// Which offsets of each partition it read (as of its last trigger): where it
    /// started, how far it got, what it read twice or skipped.
    pub read: Vec<PartitionRead>,
}

/// What the thread publishes.
#[derive(Debug)]
pub(super) struct State {
    /// The newest snapshot (after the first trigger).
    pub(super) snapshot: Option<Arc<Snapshot>>,
    /// Recent per-trigger metrics, oldest first.
    pub(super) metrics: VecDeque<TriggerMetrics>,
    /// The status.
    pub(super) status: PipelineStatus,
    /// Events counted per hashtag since the start (as of the last trigger), highest first.
    pub(super) all_time: Vec<(String, u64)>,
    /// In event time, the newest events' arrival and event times (as of the last
    /// trigger), oldest first.
    pub(super) arrivals: Arc<Vec<Arrival>>,
}

/// Shared between the handle and the thread.
#[derive(Debug)]
pub(super) struct Shared {
    /// Published state.
    pub(super) state: Mutex<State>,
    /// Wakes the thread to stop.
    pub(super) stop: Notify,
}

impl Shared {
    /// Nothing published yet: a consumer connecting to `bootstrap`.
    pub(super) fn new(bootstrap: &str) -> Shared {
        Shared {
            state: Mutex::new(State {
                snapshot: None,
                metrics: VecDeque::new(),
                all_time: Vec::new(),
                arrivals: Arc::default(),
                status: PipelineStatus {
                    running: true,
                    bootstrap: bootstrap.to_string(),
                    broker: BrokerState::Connecting,
                    partitions: Vec::new(),
                    consumed: 0,
                    last_error: None,
                    read: Vec::new(),
                },
            }),
            stop: Notify::new(),
        }
    }

    /// Changes the published status.
    pub(super) fn status(&self, change: impl FnOnce(&mut PipelineStatus)) {
        change(&mut lock(&self.state).status);
    }
}

/// The message a panic was raised with (`panic!("...")` gives a `&str` or a `String`).
pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
