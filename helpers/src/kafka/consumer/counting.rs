//! The counting thread: decodes and counts the batches of payloads the reading thread
//! hands over, into the window engine and the all-time totals ([`Counter`]).

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_core::Stream;
use rdkafka::error::KafkaResult;
use rdkafka::message::{BorrowedMessage, Message};

use crate::core::config::TimeDomain;
use crate::core::event::{decode, MAX_PAYLOAD_BYTES};
use crate::core::ledger::OffsetLedger;
use crate::core::time::Timestamp;
use crate::core::window::{Arrival, Outcome, WindowEngine, OTHER};
use crate::error::{Component, Error, Result};
use crate::sys::lock;

use super::connection::{fetch_error_text, PipelineConsumer};
use super::shared::{panic_message, Shared};

/// Counts what arrives: the window engine and the all-time totals.
pub(super) struct Counter {
    /// The window engine.
    pub(super) engine: WindowEngine,
    /// Events counted per hashtag since the start.
    pub(super) all_time: AllTime,
    /// Messages counted (decoded, or rejected) since the start.
    pub(super) consumed: u64,
    /// In event time, the newest events' arrival and event times and fates (at most
    /// [`ARRIVALS_KEPT`]): the picture of time.
    pub(super) arrivals: VecDeque<Arrival>,
}

/// Events kept for the picture of time (a few minutes of the classroom's stream).
pub(super) const ARRIVALS_KEPT: usize = 3000;

impl Counter {
    /// A counter of `engine`, with the totals of an earlier run (none for a new one).
    pub(super) fn new(engine: WindowEngine, all_time: AllTime, consumed: u64) -> Counter {
        Counter {
            engine,
            all_time,
            consumed,
            arrivals: VecDeque::new(),
        }
    }

    /// Decodes and counts one message received at `now`.
    pub(super) fn ingest(&mut self, payload: &[u8], now: Timestamp) {
        self.consumed += 1;
        match decode(payload) {
            Ok(event) => {
                let outcome = self.engine.ingest(&event, now);
                if let Outcome::Counted(_) = outcome {
                    // All-time counters share the window state's bounds.
                    let config = self.engine.config();
                    let max = config.max_hashtags.min(config.max_state_rows);
                    count_all_time(&mut self.all_time, &event.hashtag_principal, max);
                }
                if self.engine.config().time_domain == TimeDomain::EventTime {
                    let windows = match outcome {
                        Outcome::Counted(n) => n,
                        Outcome::Late => 0,
                        Outcome::Rejected(_) => return,
                    };
                    if self.arrivals.len() >= ARRIVALS_KEPT {
                        self.arrivals.pop_front();
                    }
                    self.arrivals.push_back(Arrival {
                        arrived: now,
                        happened: Timestamp::from_secs_f64(event.timestamp),
                        windows,
                    });
                }
            }
            Err(reason) => {
                self.engine.reject(reason);
            }
        }
    }
}

/// Most messages handled per wake-up before the loop looks at its timer and stop signal.
pub(super) const MAX_BATCH: usize = 4096;

/// Messages per batch handed to the counting thread while a wake-up's messages are still
/// being read (so both threads work at once); fewer when fewer are waiting.
pub(super) const SEND_AT: usize = 1024;

/// A batch is handed over sooner if its payloads reach this many bytes (with payloads
/// kept to [`MAX_PAYLOAD_BYTES`] + 1, a batch never holds much more).
pub(super) const SEND_BYTES: usize = 1 << 20;

/// Batches waiting for the counting thread before the reading thread waits for it: with
/// [`SEND_BYTES`] and [`SPARE_BATCHES`], the batches hold under 50 MiB however far
/// counting falls behind and however large the messages.
pub(super) const QUEUED_BATCHES: usize = 16;

/// Emptied batches kept for reuse (more are freed).
pub(super) const SPARE_BATCHES: usize = 4;

/// Decoding and counting, on a thread of their own: the consumer's thread only reads
/// messages and copies their payloads into batches (~0.5 µs of librdkafka's own work per
/// message, against ~0.25 µs to decode and count one), so on two cores reading and
/// counting overlap. The [`Counter`] sits behind a mutex that the counting thread holds
/// while it counts a batch; [`Counting::settled`] waits until every batch handed over is
/// counted and then lends the counter to a trigger or a checkpoint.
pub(super) struct Counting {
    /// The engine and the counters.
    pub(super) counter: Arc<Mutex<Counter>>,
    /// Where batches go (`None` once closed).
    pub(super) jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    /// The counting thread.
    pub(super) thread: Option<JoinHandle<()>>,
    /// The batch being filled.
    pub(super) batch: Batch,
    /// Since when the reading thread has been filling it (for [`Batch::reading`]).
    pub(super) reading_since: Instant,
    /// Emptied batches the counting thread gave back, to fill again.
    pub(super) spare: std::sync::mpsc::Receiver<Batch>,
    /// Messages handed over so far (with those of the checkpoint resumed, like
    /// [`Counter::consumed`], which equals it once every batch is counted).
    pub(super) received: u64,
    /// Whether batches were handed over since the counting thread last said it had
    /// counted everything (a trigger and its checkpoint then wait only once).
    pub(super) unsettled: bool,
    /// Which offsets of each partition were handed over: once, twice, or never.
    pub(super) ledger: OffsetLedger,
}

/// Work for the counting thread, done in order.
pub(super) enum Job {
    /// Decode and count these messages.
    Count(Batch),
    /// Say that every batch sent before this one is counted.
    Flush(std::sync::mpsc::SyncSender<()>),
    /// Test hook: panic (how a test shows that a panic there is reported, not hidden).
    #[cfg(test)]
    Panic,
}

/// Payloads received together, copied end to end into one buffer.
#[derive(Default)]
pub(super) struct Batch {
    /// The payloads, one after another.
    pub(super) bytes: Vec<u8>,
    /// Where each payload ends in `bytes`.
    pub(super) ends: Vec<usize>,
    /// When they were received (the processing time they are counted at).
    pub(super) now: Timestamp,
    /// How long the reading thread took to read them.
    pub(super) reading: Duration,
}

impl Counting {
    /// Starts the counting thread with `counter`.
    pub(super) fn start(counter: Counter) -> Result<Counting> {
        let received = counter.consumed;
        let counter = Arc::new(Mutex::new(counter));
        let (jobs, todo) = std::sync::mpsc::sync_channel::<Job>(QUEUED_BATCHES);
        // Counted batches come back empty, to be filled again: no allocation per batch.
        let (give_back, spare) = std::sync::mpsc::sync_channel::<Batch>(SPARE_BATCHES);
        let mine = counter.clone();
        let thread = std::thread::Builder::new()
            .name("pipeline-count".into())
            .spawn(move || {
                for job in todo {
                    match job {
                        Job::Count(mut batch) => {
                            let mut c = lock(&mine);
                            let t0 = Instant::now();
                            let mut start = 0;
                            for &end in &batch.ends {
                                c.ingest(&batch.bytes[start..end], batch.now);
                                start = end;
                            }
                            // The processing time of the metrics: reading and counting.
                            c.engine.add_busy(batch.reading + t0.elapsed());
                            drop(c);
                            batch.bytes.clear();
                            batch.ends.clear();
                            // If the reader has enough spares, this one is dropped.
                            let _ = give_back.try_send(batch);
                        }
                        Job::Flush(done) => {
                            let _ = done.send(());
                        }
                        #[cfg(test)]
                        Job::Panic => panic!("test hook"),
                    }
                }
            })
            .map_err(|e| Error::os("cannot start the counting thread", e))?;
        Ok(Counting {
            counter,
            jobs: Some(jobs),
            thread: Some(thread),
            batch: Batch::default(),
            reading_since: Instant::now(),
            spare,
            received,
            unsettled: false,
            ledger: OffsetLedger::default(),
        })
    }

    /// Step 3: hands `first` and every message already waiting (up to [`MAX_BATCH`]) to
    /// the counting thread, without going back through `select!`: far fewer wake-ups. A
    /// fetch error is published, never fatal.
    pub(super) fn ingest_batch(
        &mut self,
        consumer: &PipelineConsumer,
        first: KafkaResult<BorrowedMessage<'_>>,
        shared: &Shared,
    ) -> Result<()> {
        let now = Timestamp::now();
        self.reading_since = Instant::now();
        // One stream for the whole batch: each `recv` would register and drop a waker.
        let mut stream = consumer.stream();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut next = Some(first);
        let mut batch = 0;
        while let Some(msg) = next.take() {
            match msg {
                Ok(m) => {
                    self.ledger.record(m.partition(), m.offset());
                    self.push(m.payload().unwrap_or(&[]), now)?;
                }
                Err(e) => {
                    let text = fetch_error_text(&e);
                    shared.status(|s| s.last_error = Some(text));
                }
            }
            batch += 1;
            if batch < MAX_BATCH {
                // `Pending`: nothing waiting, or an event other than a message (a
                // rebalance, a commit's result) was served; the batch ends, and the next
                // turn's `recv` goes on. No message is lost.
                if let std::task::Poll::Ready(m) = Pin::new(&mut stream).poll_next(&mut cx) {
                    next = m;
                }
            }
        }
        self.send()
    }

    /// Adds one payload received at `now` to the batch; sends the batch once it is full.
    pub(super) fn push(&mut self, payload: &[u8], now: Timestamp) -> Result<()> {
        if self.batch.ends.is_empty() {
            self.batch.now = now;
        }
        // Beyond the decoder's limit, one byte more is as good as the rest: it is rejected
        // as oversized all the same, and a huge message costs no memory here.
        let keep = payload.len().min(MAX_PAYLOAD_BYTES + 1);
        self.batch.bytes.extend_from_slice(&payload[..keep]);
        self.batch.ends.push(self.batch.bytes.len());
        self.received += 1;
        if self.batch.ends.len() >= SEND_AT || self.batch.bytes.len() >= SEND_BYTES {
            self.send()?;
        }
        Ok(())
    }

    /// Hands the batch being filled (if any) to the counting thread.
    pub(super) fn send(&mut self) -> Result<()> {
        if self.batch.ends.is_empty() {
            return Ok(());
        }
        self.batch.reading = self.reading_since.elapsed();
        self.reading_since = Instant::now();
        let next = self.spare.try_recv().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, next);
        self.unsettled = true;
        self.job(Job::Count(batch))
    }

    /// Sends `job`; if the counting thread has ended (it panicked), says so as an error
    /// ([`Counting::ended`]).
    pub(super) fn job(&mut self, job: Job) -> Result<()> {
        match &self.jobs {
            Some(jobs) if jobs.send(job).is_ok() => Ok(()),
            _ => Err(self.ended()),
        }
    }

    /// The counting thread has ended (it only ends early by panicking): waits for it and
    /// says why, as the consumer's error.
    pub(super) fn ended(&mut self) -> Error {
        self.jobs = None;
        let detail = match self.thread.take().map(JoinHandle::join) {
            Some(Err(panic)) => format!("it panicked: {}", panic_message(panic.as_ref())),
            _ => "it stopped".into(),
        };
        Error::Failed {
            component: Component::CountingThread,
            detail,
        }
    }

    /// The counter, once every message handed over is counted.
    pub(super) fn settled(&mut self) -> Result<std::sync::MutexGuard<'_, Counter>> {
        self.send()?;
        if self.unsettled {
            let (done, wait) = std::sync::mpsc::sync_channel(1);
            self.job(Job::Flush(done))?;
            if wait.recv().is_err() {
                // It ended before answering.
                return Err(self.ended());
            }
            self.unsettled = false;
        }
        Ok(lock(&self.counter))
    }
}

impl Drop for Counting {
    /// Ends the counting thread (what it was given is dropped with it).
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// All-time counters per hashtag.
pub(super) type AllTime = HashMap<Box<str>, u64, foldhash::fast::RandomState>;

/// Counts one event of `hashtag`; beyond `max` distinct hashtags (the engine's
/// [`WindowConfig::max_hashtags`] or [`WindowConfig::max_state_rows`], the smaller), under
/// [`OTHER`], so memory stays bounded.
pub(super) fn count_all_time(totals: &mut AllTime, hashtag: &str, max: usize) {
    if let Some(c) = totals.get_mut(hashtag) {
        *c += 1;
    } else if totals.len() < max {
        totals.insert(hashtag.into(), 1);
    } else {
        *totals.entry(OTHER.into()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::WindowConfig;
    use crate::core::event::Rejection;

    /// In event time the counter keeps each event's arrival, event time and windows
    /// (0 for a late one), for the picture of time; in processing time, nothing.
    #[test]
    fn an_event_time_counter_keeps_the_picture_of_time() {
        let cfg = WindowConfig::tumbling(Duration::from_secs(60))
            .with_watermark(Duration::from_secs(10))
            .with_time_domain(crate::core::config::TimeDomain::EventTime);
        let mut c = Counter::new(
            WindowEngine::new(cfg).expect("engine"),
            AllTime::default(),
            0,
        );
        let msg = |t: f64| {
            format!(r##"{{"usuario":"@a","texto":"x","hashtag_principal":"#a","timestamp":{t}}}"##)
        };
        c.ingest(msg(1000.0).as_bytes(), Timestamp::from_secs(1001));
        c.engine.tick(Timestamp::from_secs(1002));
        c.engine.tick(Timestamp::from_secs(1003));
        c.ingest(msg(900.0).as_bytes(), Timestamp::from_secs(1004));
        let got: Vec<(i64, u32)> = c
            .arrivals
            .iter()
            .map(|a| (a.happened.micros() / 1_000_000, a.windows))
            .collect();
        assert_eq!(got, [(1000, 1), (900, 0)]);
        let mut p = Counter::new(
            WindowEngine::new(WindowConfig::default()).expect("engine"),
            AllTime::default(),
            0,
        );
        p.ingest(msg(1000.0).as_bytes(), Timestamp::from_secs(1001));
        assert!(p.arrivals.is_empty());
    }

    /// What the reading thread hands over is all counted, in order, once `settled`
    /// returns: full batches, the partial last one, and malformed payloads (counted as
    /// rejected), on top of the counts of a checkpoint resumed.
    #[test]
    fn the_counting_thread_counts_every_payload_handed_over() {
        let mut engine =
            WindowEngine::new(WindowConfig::tumbling(Duration::from_secs(60))).expect("engine");
        let mut counting = Counting::start(Counter::new(
            {
                engine.ingest_raw(b"not json", Timestamp(0));
                engine
            },
            AllTime::default(),
            1,
        ))
        .expect("counting thread");
        let n = 3 * SEND_AT + 7;
        let huge = vec![b'{'; 4 * MAX_PAYLOAD_BYTES];
        let now = Timestamp::now();
        for i in 0..n {
            let payload = if i % 100 == 99 {
                b"{\"broken".to_vec()
            } else {
                format!(
                    r##"{{"usuario":"@a","texto":"t","hashtag_principal":"#T{}","timestamp":{}.0}}"##,
                    i % 3,
                    now.micros() / 1_000_000
                )
                .into_bytes()
            };
            counting.push(&payload, now).expect("push");
        }
        // Kept to one byte over the limit, and still rejected as oversized.
        counting.push(&huge, now).expect("push");
        assert!(counting.batch.bytes.len() < 3 * SEND_AT * 200 + MAX_PAYLOAD_BYTES + 2);
        assert_eq!(counting.received, n as u64 + 2);
        let c = counting.settled().expect("settled");
        assert_eq!(c.consumed, n as u64 + 2);
        let totals = c.engine.totals();
        assert_eq!(totals.input, n as u64 + 2);
        let broken = (n / 100) as u64;
        assert_eq!(totals.rejected.0.iter().sum::<u64>(), broken + 2);
        assert_eq!(totals.rejected.0[Rejection::Oversized.index()], 1);
        assert_eq!(totals.accepted, n as u64 - broken);
        let per_tag: u64 = c.all_time.values().sum();
        assert_eq!(per_tag, n as u64 - broken);
        assert_eq!(c.all_time.len(), 3);
    }

    /// A panic on the counting thread ends the consumer with an error that says so; the
    /// reading thread neither hangs nor goes on as if nothing was wrong.
    #[test]
    fn a_panic_on_the_counting_thread_is_reported() {
        let engine = WindowEngine::new(WindowConfig::default()).expect("engine");
        let mut counting =
            Counting::start(Counter::new(engine, AllTime::default(), 0)).expect("counting thread");
        counting.job(Job::Panic).expect("sent");
        // Whether the batch goes before or after the thread has ended: the same error.
        let err = counting
            .push(b"{}", Timestamp(0))
            .and_then(|_| counting.settled().map(|_| ()))
            .expect_err("an error");
        assert!(matches!(
            err,
            Error::Failed {
                component: Component::CountingThread,
                ..
            }
        ));
        let said = err.to_string();
        assert_eq!(
            said,
            "the consumer's counting thread failed: it panicked: test hook"
        );
        assert!(counting.thread.is_none(), "joined");
        let again = counting
            .push(b"{}", Timestamp(0))
            .and_then(|_| counting.send());
        assert!(again.is_err(), "later batches fail too");
    }
}
