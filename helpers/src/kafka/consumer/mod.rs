//! The live consumer: Kafka → decoder → window engine → snapshots, in the background.
//!
//! [`Pipeline::start`] spawns one `std::thread` that owns a single-threaded tokio
//! runtime and an rdkafka `StreamConsumer`; it starts a second, counting thread. The
//! first reads messages and hands them over in batches; the second decodes them and
//! counts them in the [`WindowEngine`] as they arrive (on two cores, reading and
//! counting overlap). Every `trigger` interval (default 10 s, like the original Spark
//! job) the reading thread ticks the engine, even when no input arrived (the first
//! trigger with events comes early: within a second of the first events, so the first
//! chart need not wait a whole interval), and the snapshot, the metrics (with the
//! consumer's lag behind the newest offsets) and the status are published behind a
//! mutex. Notebook cells read them through the cheap, cloneable, synchronous
//! [`Pipeline`] handle: nothing async leaks out. The threads stop on [`Pipeline::stop`]
//! or when the last handle is dropped. Given a checkpoint folder
//! ([`PipelineConfig::checkpoint`]), it saves its offsets and counts there at every
//! trigger and goes on from them when started again.
//!
//! # Why "pipeline"
//! [`Pipeline`] is more than a Kafka consumer: it is the consumer, the window engine
//! behind it and what it publishes, the whole processing stage that Spark calls a
//! streaming query. The name says what a class starts with `Pipeline::start`: reading,
//! counting and publishing together. (The raw rdkafka client inside it is the consumer,
//! in `connection.rs`.)
//!
//! # Files, one job each
//! * this file: the [`Pipeline`] handle that starts, reads and stops it;
//! * `config.rs`: its settings ([`PipelineConfig`], [`StartFrom`]);
//! * `shared.rs`: what its threads publish for the handle ([`PipelineStatus`], the
//!   snapshot, the metrics) and the signal that stops them;
//! * `read_loop.rs`: the reading thread, a tokio loop with one named step per job
//!   (follow partitions, read, check the broker, trigger, checkpoint);
//! * `counting.rs`: the counting thread, fed with batches of payloads;
//! * `connection.rs`: the rdkafka side (client, its context, connecting, the lag).

mod config;
mod connection;
mod counting;
mod read_loop;
mod shared;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::core::window::{Arrival, Snapshot, TriggerMetrics, WindowEngine};
use crate::error::{Component, Error, Result};
use crate::kafka::checkpoint;
use crate::kafka::client::find_bootstrap;
use crate::sys::lock;
use crate::sys::validate_name;
use crate::sys::wait::poll;

pub use self::config::{PipelineConfig, StartFrom};
use self::read_loop::run;
use self::shared::{panic_message, Shared, State};
pub use self::shared::{BrokerState, PipelineStatus};

/// Owns the thread; stops it when the last [`Pipeline`] clone goes away.
#[derive(Debug)]
struct Guard {
    /// Shared state.
    shared: Arc<Shared>,
    /// The consumer thread.
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// How long [`Pipeline::stop`] waits for the consumer thread to end. It ends within a
/// trigger or so; leaving a consumer group while Kafka is unreachable can take longer
/// (librdkafka waits for the group's answer), and a notebook cell must not hang on that.
pub const STOP_WAIT: Duration = Duration::from_secs(10);

impl Guard {
    /// Asks the thread to end and waits for it, at most [`STOP_WAIT`]; a thread still
    /// running then is left to end by itself (it holds no more than its connection), and the
    /// status says so.
    fn stop(&self) {
        self.shared.stop.notify_one();
        let Some(t) = lock(&self.thread).take() else {
            return;
        };
        if crate::sys::wait::until(STOP_WAIT, Duration::from_millis(10), || t.is_finished()) {
            let _ = t.join();
        } else {
            self.shared.status(|s| {
                s.last_error = Some(format!(
                    "the consumer did not end within {} s (is Kafka unreachable?): it was \
                     left to end by itself",
                    STOP_WAIT.as_secs()
                ))
            });
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Handle to the live consumer. Cheap to clone; every method is synchronous.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The thread's owner.
    guard: Arc<Guard>,
    /// The settings used.
    config: PipelineConfig,
}

impl Pipeline {
    /// Starts the consumer thread. Returns at once; the first snapshot comes after the
    /// first trigger. Fails only on bad settings.
    pub fn start(config: PipelineConfig) -> Result<Pipeline> {
        let mut config = config;
        validate_name("topic", &config.topic)?;
        // The folder is locked first (a second consumer on it is refused), then read; the
        // lock goes with the consumer thread and is released when it ends.
        let (folder_lock, loaded) = match &config.checkpoint {
            Some(dir) if config.group.is_some() => {
                return Err(Error::config(
                    "checkpoint",
                    dir.display(),
                    "a consumer group keeps its offsets in Kafka: use a checkpoint with a \
                     consumer alone (group: None)",
                ))
            }
            Some(dir) => {
                let folder_lock = checkpoint::lock(dir)?;
                let loaded = checkpoint::load_noting(dir, &config.topic, &config.window)?;
                (Some(folder_lock), loaded)
            }
            None => (None, None),
        };
        let (resume, note) = match loaded {
            Some(l) => (Some(l.checkpoint), l.note),
            None => (None, None),
        };
        let engine = match &resume {
            Some(cp) => WindowEngine::from_state(cp.engine.clone())?,
            None => WindowEngine::new(config.window.clone())?,
        };
        if config.trigger < Duration::from_millis(10) {
            return Err(Error::config(
                "trigger",
                format!("{:?}", config.trigger),
                "use at least 10 ms",
            ));
        }
        // An address found (not given) is looked up again if the broker disappears: the
        // embedded broker comes back on a new port after a restart.
        let auto_bootstrap = config.bootstrap.is_empty();
        if auto_bootstrap {
            config.bootstrap = find_bootstrap(&config.state_dir, &config.fallback_bootstrap);
        }
        let shared = Arc::new(Shared::new(&config.bootstrap));
        if let Some(note) = note {
            tracing::warn!("{note}");
            lock(&shared.state).status.last_error = Some(note);
        }
        let thread_shared = shared.clone();
        let thread_config = config.clone();
        let thread = std::thread::Builder::new()
            .name("pipeline".into())
            .spawn(move || {
                // A panic must not leave a handle that looks alive: catch it, and say so.
                // (`AssertUnwindSafe`: after a panic we only read the status, which every
                // lock keeps valid between statements; see `sys::lock`.)
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(
                        &thread_config,
                        auto_bootstrap,
                        engine,
                        resume,
                        &thread_shared,
                    )
                }));
                // The checkpoint folder is free again before the status says we stopped.
                drop(folder_lock);
                let mut st = lock(&thread_shared.state);
                st.status.running = false;
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => st.status.last_error = Some(e.to_string()),
                    Err(panic) => {
                        st.status.last_error = Some(format!(
                            "the consumer thread panicked: {}",
                            panic_message(panic.as_ref())
                        ))
                    }
                }
            })
            .map_err(|e| Error::os("cannot start the consumer thread", e))?;
        Ok(Pipeline {
            guard: Arc::new(Guard {
                shared,
                thread: Mutex::new(Some(thread)),
            }),
            config,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.guard.shared.state)
    }

    /// The settings used.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// The newest snapshot (`None` before the first trigger). Shared, not copied: the lock
    /// the consumer publishes under is held only to clone the pointer, so a page refresh or
    /// a `show_stream` poll never stalls the consumer, however many hashtags a snapshot holds.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.state().snapshot.clone()
    }

    /// Calls `each` with the snapshot of every new trigger, checking every `poll`, for
    /// `length` or until `stop()` says so: how the `show_stream` cell and the terminal programs
    /// print a leaderboard line per trigger. Returns how many triggers it saw.
    pub fn follow(
        &self,
        length: Duration,
        poll: Duration,
        stop: impl Fn() -> bool,
        mut each: impl FnMut(&Snapshot),
    ) -> usize {
        let mut last = None;
        let mut seen = 0;
        crate::sys::wait::until(length, poll, || {
            if let Some(s) = self.snapshot() {
                if last != Some(s.metrics.trigger_id) {
                    each(&s);
                    last = Some(s.metrics.trigger_id);
                    seen += 1;
                }
            }
            stop()
        });
        seen
    }

    /// Recent per-trigger metrics, oldest first.
    pub fn metrics(&self) -> Vec<TriggerMetrics> {
        self.state().metrics.iter().cloned().collect()
    }

    /// In event time, the newest events' arrival and event times and the windows each
    /// was counted in (as of the last trigger, at most a few thousand), oldest first;
    /// empty in processing time.
    pub fn arrivals(&self) -> Arc<Vec<Arrival>> {
        self.state().arrivals.clone()
    }

    /// Totals of the newest snapshot (cheap: no windows are copied).
    pub fn totals(&self) -> crate::core::window::Totals {
        self.state()
            .snapshot
            .as_ref()
            .map(|s| s.totals)
            .unwrap_or_default()
    }

    /// What the consumer is doing.
    pub fn status(&self) -> PipelineStatus {
        self.state().status.clone()
    }

    /// Events counted per hashtag since the consumer started (all windows together, each
    /// event once), highest first, as of the last trigger: the
    /// [`crate::core::window::SNAPSHOT_TOP`] leaders, the rest summed as [`crate::core::window::OTHER`].
    pub fn all_time_counts(&self) -> Vec<(String, u64)> {
        self.state().all_time.clone()
    }

    /// Waits (at most `wait`) until the consumer has its partitions and reads from them;
    /// events produced after this returns are all counted. Fails at once, with the
    /// consumer's last error, if the consumer thread has ended.
    pub fn wait_ready(&self, wait: Duration) -> Result<()> {
        self.wait_status(
            wait,
            |st| !st.partitions.is_empty(),
            || {
                format!(
                    "the consumer to find topic {:?} at {} ({})",
                    self.config.topic,
                    self.config.bootstrap,
                    self.status().broker
                )
            },
        )
    }

    /// Waits (at most `wait`) until the consumer finds the broker unreachable (an outage has
    /// begun); fails if it has not by then, or if the consumer thread has ended.
    pub fn wait_unreachable(&self, wait: Duration) -> Result<()> {
        let unreachable = |st: &PipelineStatus| matches!(st.broker, BrokerState::Unreachable(_));
        self.wait_status(wait, unreachable, || {
            format!(
                "the consumer to find {} unreachable (it is {})",
                self.config.bootstrap,
                self.status().broker
            )
        })
    }

    /// Waits (at most `wait`) until `done` holds for the status: `Ok`; or the consumer
    /// thread ends: its last error; or the time runs out: a timeout on `what()`.
    fn wait_status(
        &self,
        wait: Duration,
        done: impl Fn(&PipelineStatus) -> bool,
        what: impl FnOnce() -> String,
    ) -> Result<()> {
        let seen = poll(wait, Duration::from_millis(20), || {
            let st = self.status();
            (done(&st) || !st.running).then_some(st)
        });
        match seen {
            Some(st) if st.running => Ok(()),
            Some(st) => Err(Error::Failed {
                component: Component::Consumer,
                detail: st.last_error.unwrap_or_else(|| "stopped".into()),
            }),
            None => Err(Error::Timeout {
                what: what(),
                secs: wait.as_secs(),
            }),
        }
    }

    /// Waits (at most `wait`) for a snapshot for which `pred` holds; returns it. Fails at
    /// once, with the consumer's last error, if the consumer thread has ended.
    pub fn wait_for(
        &self,
        wait: Duration,
        pred: impl Fn(&Snapshot) -> bool,
    ) -> Result<Arc<Snapshot>> {
        let settled = poll(wait, Duration::from_millis(20), || {
            let st = self.state();
            match &st.snapshot {
                Some(s) if pred(s) => Some(Ok(s.clone())),
                _ if !st.status.running => Some(Err(st.status.last_error.clone())),
                _ => None,
            }
        });
        match settled {
            Some(Ok(snap)) => Ok(snap),
            Some(Err(last_error)) => Err(Error::Failed {
                component: Component::Consumer,
                detail: last_error.unwrap_or_else(|| "stopped".into()),
            }),
            None => Err(Error::Timeout {
                what: "the consumer's snapshot to reach the expected state".into(),
                secs: wait.as_secs(),
            }),
        }
    }

    /// Stops the consumer thread and waits for it, at most [`STOP_WAIT`] (see the status
    /// if it did not end by then).
    pub fn stop(&self) {
        self.guard.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::core::time::Timestamp;

    /// Issue 10 (item 4): a consumer thread that panics is reported as stopped, with the
    /// panic's message, and the calls that wait for it fail at once instead of timing out.
    #[test]
    fn issue_10_a_panicking_consumer_says_so_at_once() {
        let state_dir = std::env::temp_dir().join(format!(
            "helpers-consumer-panic-{}-{}",
            std::process::id(),
            Timestamp::now().micros()
        ));
        let pipe = Pipeline::start(PipelineConfig {
            // No broker needed: the trigger fires whether or not one answers.
            bootstrap: "127.0.0.1:1".into(),
            trigger: Duration::from_millis(50),
            state_dir: state_dir.clone(),
            panic_on_trigger: true,
            ..Default::default()
        })
        .expect("started");
        let ended = poll(Duration::from_secs(20), Duration::from_millis(20), || {
            (!pipe.status().running).then_some(())
        });
        assert!(ended.is_some(), "the consumer thread did not end");
        let said = "the consumer thread panicked: test hook: panic_on_trigger";
        assert_eq!(pipe.status().last_error.as_deref(), Some(said));
        let start = Instant::now();
        let ready = pipe.wait_ready(Duration::from_secs(30)).unwrap_err();
        let snap = pipe
            .wait_for(Duration::from_secs(30), |_| true)
            .unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        for err in [ready, snap] {
            assert_eq!(err.to_string(), format!("the consumer failed: {said}"));
            // A caller matches the kind, not the words.
            assert!(matches!(
                err,
                Error::Failed {
                    component: Component::Consumer,
                    ..
                }
            ));
        }
        pipe.stop();
        let _ = std::fs::remove_dir_all(state_dir);
    }
}
