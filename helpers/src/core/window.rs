//! The window engine: counts hashtags in time windows, with a watermark.
//!
//! # Windows
//! A stream never ends, so "how many times was `#Spark` used?" has no final answer. A
//! *window* asks a question that does: "how many times between 18:00:00 and 18:01:00?".
//! Windows are aligned to the Unix epoch and include their start but not their end:
//! `[18:00:00, 18:01:00)`. So an event at 18:00:59.999 is in that window and one at
//! 18:01:00.000 is in the next.
//!
//! * **Tumbling** windows (`width` = `slide`, e.g. 60 s) tile time: each event is in
//!   exactly one window.
//! * **Sliding** windows (`width` 60 s, `slide` 10 s) overlap: a new window starts every
//!   10 s and each event is in `width / slide` = 6 windows. The newest window answers
//!   "what is trending in the last minute?", updated every 10 s.
//!
//! # Time domains
//! * **Processing time**: an event belongs to the moment the consumer *received* it (what
//!   the original Spark job did with `current_timestamp()`). Simple; a delayed event is
//!   counted in the wrong minute.
//! * **Event time**: an event belongs to the moment it *happened* (its `timestamp`
//!   field). Correct minutes, but events can arrive out of order or late.
//!
//! # The watermark
//! How long should we wait for late events before we call a window final? The watermark is
//! the answer: `max event time seen − delay` (default delay 60 s). It only moves forward and
//! is recomputed at each trigger ([`WindowEngine::tick`]). An event older than the
//! watermark is *late*: it is dropped and counted in `late`. A window whose end is at or
//! behind the watermark is *closed*: its counts are final, it is reported once in
//! [`Snapshot::closed`], and its state is freed, so memory stays bounded on an endless
//! stream. This is Spark's `withWatermark("ts", "60 seconds")`.
//!
//! # How it is computed
//! Counts are kept per *pane*: a slice of time `slide` long. A window is the sum of the
//! `width / slide` panes it covers, so an event costs one hash-map update whatever the
//! overlap. The engine is pure: it never reads a clock; time comes in as arguments, so
//! tests can replay any timeline.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::config::{TimeDomain, WindowConfig};
use crate::core::event::{decode, Event, Rejection, RejectionCounts};
use crate::core::time::{duration_micros, Timestamp};
use crate::error::Error;

/// Counters per hashtag. foldhash is several times faster than the default SipHash on
/// short keys and is seeded at random per process, so crafted hashtags cannot force
/// collisions.
type Counts = HashMap<Box<str>, u64, foldhash::fast::RandomState>;

/// How many hashtags of each closed window the history keeps (the highest counts).
pub const HISTORY_TOP: usize = 100;

/// The final or running counts of one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowCounts {
    /// First moment in the window (inclusive).
    pub start: Timestamp,
    /// First moment after the window (exclusive).
    pub end: Timestamp,
    /// `(hashtag, count)`, highest count first, ties in hashtag order.
    pub counts: Vec<(String, u64)>,
    /// Sum of `counts`.
    pub total: u64,
}

impl WindowCounts {
    /// The count of one hashtag (0 if absent).
    pub fn count(&self, hashtag: &str) -> u64 {
        self.counts
            .iter()
            .find(|(h, _)| h == hashtag)
            .map_or(0, |(_, c)| *c)
    }

    /// Whether `t` falls in this window.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }
}

/// What happened to one ingested message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counted in this many windows (1 for tumbling, `width / slide` for sliding).
    Counted(u32),
    /// Older than the watermark: dropped and counted as late.
    Late,
    /// Could not be decoded: counted under its reason.
    Rejected(Rejection),
}

/// Running totals since the engine started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Every message ingested (accepted + late + rejected).
    pub input: u64,
    /// Events counted in their windows.
    pub accepted: u64,
    /// Events dropped because they were behind the watermark.
    pub late: u64,
    /// Messages that could not be decoded, by reason.
    pub rejected: RejectionCounts,
}

/// Per-trigger progress figures, modelled on Spark's `StreamingQueryProgress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerMetrics {
    /// Trigger number, from 0 (Spark's `batchId`).
    pub trigger_id: u64,
    /// When the trigger fired.
    pub at: Timestamp,
    /// Messages ingested since the previous trigger (`numInputRows`).
    pub input_rows: u64,
    /// `input_rows` / wall time since the previous trigger (`inputRowsPerSecond`).
    pub input_rows_per_second: f64,
    /// `input_rows` / time spent processing them (`processedRowsPerSecond`); `None` when
    /// the caller reported no processing time.
    pub processed_rows_per_second: Option<f64>,
    /// Time spent processing since the previous trigger, tick included (`batchDuration`).
    pub trigger_duration: Duration,
    /// The watermark after this trigger (`eventTime.watermark`); `None` before any event.
    pub watermark: Option<Timestamp>,
    /// Newest event time seen so far (`eventTime.max`).
    pub max_event_time: Option<Timestamp>,
    /// `(pane, hashtag)` counters held in memory (`stateOperators.numRowsTotal`).
    pub rows_in_state: usize,
    /// Windows still open.
    pub open_windows: usize,
    /// Events dropped as late in this trigger (`numRowsDroppedByWatermark`).
    pub late_rows: u64,
    /// Messages rejected in this trigger, by reason.
    pub rejected: RejectionCounts,
    /// How far the consumer is behind the newest offsets, in messages; filled in by the
    /// consumer, `None` from the engine alone.
    pub lag: Option<i64>,
}

/// What a trigger returns: the windows to show and the progress figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Progress figures of this trigger.
    pub metrics: TriggerMetrics,
    /// Every open window with data, oldest first; each `counts` sorted by count.
    pub windows: Vec<WindowCounts>,
    /// Windows that closed at this trigger (final counts), oldest first.
    pub closed: Vec<WindowCounts>,
    /// The most recently closed windows (up to `WindowConfig::history`), oldest first,
    /// each with its [`HISTORY_TOP`] highest counts (`total` stays the full total): what
    /// trend charts draw.
    pub history: Vec<WindowCounts>,
    /// Totals since the start.
    pub totals: Totals,
}

impl Snapshot {
    /// The newest open window (greatest start): what Spark's console showed each batch.
    pub fn latest(&self) -> Option<&WindowCounts> {
        self.windows.last()
    }

    /// What a "trending now" view shows: the oldest open window that contains the newest
    /// event time, i.e. the window covering the last `width` of the stream (for sliding
    /// windows the newest one would hold only the last `slide`). Falls back to the newest
    /// open window, then to the most recently closed one.
    pub fn trending(&self) -> Option<&WindowCounts> {
        self.metrics
            .max_event_time
            .and_then(|t| self.windows.iter().find(|w| w.contains(t)))
            .or(self.windows.last())
            .or(self.history.last())
    }
}

/// Counters collected between two triggers.
#[derive(Debug, Default)]
struct Batch {
    /// Messages ingested.
    input: u64,
    /// Late events dropped.
    late: u64,
    /// Rejections by reason.
    rejected: RejectionCounts,
    /// Processing time reported by the caller.
    busy: Duration,
}

/// Counts hashtags per window, with a watermark. See the module docs.
#[derive(Debug)]
pub struct WindowEngine {
    /// The settings, validated.
    config: WindowConfig,
    /// Window width, µs.
    width: i64,
    /// Window slide (= pane size), µs.
    slide: i64,
    /// Watermark delay, µs.
    delay: i64,
    /// Counts per pane start, then per hashtag. Only panes that an open window needs.
    panes: BTreeMap<i64, Counts>,
    /// Newest event time seen.
    max_event_time: Option<i64>,
    /// Current watermark; moves only forward, at ticks.
    watermark: Option<i64>,
    /// Every window ending at or before this has been closed and reported.
    closed_through: Option<i64>,
    /// Recently closed windows, oldest first, at most `config.history`.
    history: VecDeque<WindowCounts>,
    /// Next trigger id.
    next_trigger: u64,
    /// When the previous trigger fired.
    last_tick: Option<Timestamp>,
    /// Counters since the previous trigger.
    batch: Batch,
    /// Counters since the start.
    totals: Totals,
}

impl WindowEngine {
    /// A new engine; fails if the settings make no sense (see [`WindowConfig::validate`]).
    pub fn new(config: WindowConfig) -> Result<WindowEngine, Error> {
        config.validate()?;
        Ok(WindowEngine {
            width: duration_micros(config.width),
            slide: duration_micros(config.slide),
            delay: duration_micros(config.watermark_delay),
            config,
            panes: BTreeMap::new(),
            max_event_time: None,
            watermark: None,
            closed_through: None,
            history: VecDeque::new(),
            next_trigger: 0,
            last_tick: None,
            batch: Batch::default(),
            totals: Totals::default(),
        })
    }

    /// The settings this engine runs with.
    pub fn config(&self) -> &WindowConfig {
        &self.config
    }

    /// The current watermark (`None` until the first trigger after the first event).
    pub fn watermark(&self) -> Option<Timestamp> {
        self.watermark.map(Timestamp)
    }

    /// Totals since the start.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// `(pane, hashtag)` counters in memory.
    pub fn rows_in_state(&self) -> usize {
        self.panes.values().map(HashMap::len).sum()
    }

    /// Decodes a raw message and counts it; `now` is the processing time.
    pub fn ingest_raw(&mut self, payload: &[u8], now: Timestamp) -> Outcome {
        match decode(payload) {
            Ok(event) => self.ingest(&event, now),
            Err(reason) => self.reject(reason),
        }
    }

    /// Counts a message that could not be decoded.
    pub(crate) fn reject(&mut self, reason: Rejection) -> Outcome {
        self.batch.input += 1;
        self.batch.rejected.add(reason);
        self.totals.input += 1;
        self.totals.rejected.add(reason);
        Outcome::Rejected(reason)
    }

    /// Counts one decoded event; `now` is the processing time.
    pub fn ingest(&mut self, event: &Event<'_>, now: Timestamp) -> Outcome {
        let t = match self.config.time_domain {
            TimeDomain::ProcessingTime => now.micros(),
            TimeDomain::EventTime => Timestamp::from_secs_f64(event.timestamp).micros(),
        };
        self.count(&event.hashtag_principal, t)
    }

    /// Counts `hashtag` at time `t` (µs): the core of [`WindowEngine::ingest`].
    fn count(&mut self, hashtag: &str, t: i64) -> Outcome {
        self.batch.input += 1;
        self.totals.input += 1;
        if self.watermark.is_some_and(|w| t < w) {
            self.batch.late += 1;
            self.totals.late += 1;
            return Outcome::Late;
        }
        self.max_event_time = Some(self.max_event_time.map_or(t, |m| m.max(t)));
        let pane = t.div_euclid(self.slide) * self.slide;
        let counts = self.panes.entry(pane).or_default();
        match counts.get_mut(hashtag) {
            Some(c) => *c += 1,
            None => {
                counts.insert(hashtag.into(), 1);
            }
        }
        self.totals.accepted += 1;
        Outcome::Counted((self.width / self.slide) as u32)
    }

    /// Adds processing time spent on the current batch (for `processed_rows_per_second`).
    pub(crate) fn add_busy(&mut self, d: Duration) {
        self.batch.busy += d;
    }

    /// Fires a trigger at `now`: moves the watermark, closes and frees finished windows,
    /// and returns the snapshot. Call it on every trigger, with or without new input.
    pub fn tick(&mut self, now: Timestamp) -> Snapshot {
        // 1. The watermark: max event time - delay, never backwards.
        if let Some(max) = self.max_event_time {
            let candidate = max.saturating_sub(self.delay);
            self.watermark = Some(self.watermark.map_or(candidate, |w| w.max(candidate)));
        }
        // 2. Close windows that end at or before the watermark, oldest first.
        let mut closed = Vec::new();
        if let Some(w) = self.watermark {
            let after = self.closed_through.unwrap_or(i64::MIN);
            let starts: BTreeSet<i64> = self
                .window_starts()
                .filter(|s| {
                    let end = s + self.width;
                    end > after && end <= w
                })
                .collect();
            for s in starts {
                closed.push(self.window(s));
            }
            self.closed_through = Some(after.max(w));
            // 3. Free panes that no open window needs: the last window holding pane p
            //    ends at p + width.
            let width = self.width;
            self.panes.retain(|p, _| p + width > w);
        }
        for c in &closed {
            if self.config.history > 0 {
                if self.history.len() == self.config.history {
                    self.history.pop_front();
                }
                // Charts need only the leaders: keep each closed window's top hashtags, so
                // the history stays small even with 100k distinct hashtags.
                let mut kept = c.clone();
                kept.counts.truncate(HISTORY_TOP);
                self.history.push_back(kept);
            }
        }
        // 4. The open windows, oldest first.
        let open_starts: BTreeSet<i64> = self
            .window_starts()
            .filter(|s| self.watermark.is_none_or(|w| s + self.width > w))
            .collect();
        let windows: Vec<WindowCounts> = open_starts.into_iter().map(|s| self.window(s)).collect();
        // 5. Metrics.
        let batch = std::mem::take(&mut self.batch);
        let elapsed = self.last_tick.map(|prev| now.since(prev));
        let input_rows_per_second = match elapsed {
            Some(e) if e > Duration::ZERO => batch.input as f64 / e.as_secs_f64(),
            _ => 0.0,
        };
        let processed_rows_per_second =
            (batch.busy > Duration::ZERO).then(|| batch.input as f64 / batch.busy.as_secs_f64());
        let metrics = TriggerMetrics {
            trigger_id: self.next_trigger,
            at: now,
            input_rows: batch.input,
            input_rows_per_second,
            processed_rows_per_second,
            trigger_duration: batch.busy,
            watermark: self.watermark.map(Timestamp),
            max_event_time: self.max_event_time.map(Timestamp),
            rows_in_state: self.rows_in_state(),
            open_windows: windows.len(),
            late_rows: batch.late,
            rejected: batch.rejected,
            lag: None,
        };
        self.next_trigger += 1;
        self.last_tick = Some(now);
        Snapshot {
            metrics,
            windows,
            closed,
            history: self.history.iter().cloned().collect(),
            totals: self.totals,
        }
    }

    /// Starts of every window that covers at least one pane in memory (may repeat).
    fn window_starts(&self) -> impl Iterator<Item = i64> + '_ {
        let n = self.width / self.slide;
        let slide = self.slide;
        self.panes
            .keys()
            .flat_map(move |p| (0..n).map(move |k| p - k * slide))
    }

    /// The counts of the window starting at `start`, summed from its panes.
    fn window(&self, start: i64) -> WindowCounts {
        let mut sums: HashMap<&str, u64, foldhash::fast::RandomState> = HashMap::default();
        for (_, pane) in self.panes.range(start..start + self.width) {
            for (tag, c) in pane {
                *sums.entry(tag).or_default() += c;
            }
        }
        let mut counts: Vec<(String, u64)> =
            sums.into_iter().map(|(t, c)| (t.to_string(), c)).collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        WindowCounts {
            start: Timestamp(start),
            end: Timestamp(start + self.width),
            total: counts.iter().map(|(_, c)| c).sum(),
            counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Timestamp {
        Timestamp::from_secs_f64(s)
    }

    fn ev(tag: &str, t: f64) -> Event<'static> {
        Event {
            usuario: "@u".into(),
            texto: "".into(),
            hashtag_principal: tag.to_string().into(),
            timestamp: t,
        }
    }

    fn event_time(width: u64, slide: u64, delay: u64) -> WindowEngine {
        WindowEngine::new(
            WindowConfig::sliding(Duration::from_secs(width), Duration::from_secs(slide))
                .with_watermark(Duration::from_secs(delay))
                .with_time_domain(TimeDomain::EventTime),
        )
        .unwrap()
    }

    fn starts(ws: &[WindowCounts]) -> Vec<f64> {
        ws.iter().map(|w| w.start.as_secs_f64()).collect()
    }

    #[test]
    fn tumbling_boundaries_start_inclusive_end_exclusive() {
        // (event time, expected window start)
        let cases = [
            (0.0, 0.0),
            (59.999, 0.0),
            (59.999999, 0.0),
            (60.0, 60.0),
            (60.000001, 60.0),
            (119.999, 60.0),
            (1733940059.999, 1733940000.0),
            (1733940060.0, 1733940060.0),
        ];
        for (t, start) in cases {
            let mut e = event_time(60, 60, 3600);
            assert_eq!(e.ingest(&ev("#a", t), secs(0.0)), Outcome::Counted(1));
            let snap = e.tick(secs(0.0));
            assert_eq!(starts(&snap.windows), vec![start], "event at {t}");
            assert_eq!(snap.windows[0].end.as_secs_f64(), start + 60.0);
            assert!(snap.windows[0].contains(secs(t)));
        }
    }

    #[test]
    fn sliding_windows_overlap() {
        // An event at 65 s with 60 s windows sliding by 10 s is in the windows starting at
        // 10, 20, 30, 40, 50 and 60 s.
        let mut e = event_time(60, 10, 3600);
        assert_eq!(e.ingest(&ev("#a", 65.0), secs(0.0)), Outcome::Counted(6));
        let snap = e.tick(secs(0.0));
        assert_eq!(
            starts(&snap.windows),
            vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
        );
        assert!(snap
            .windows
            .iter()
            .all(|w| w.count("#a") == 1 && w.contains(secs(65.0))));
        // Boundary: 59.999 s is in windows starting at 0..50; 60.0 s in 10..60.
        let mut e = event_time(60, 10, 3600);
        e.ingest(&ev("#a", 59.999), secs(0.0));
        e.ingest(&ev("#b", 60.0), secs(0.0));
        let snap = e.tick(secs(0.0));
        let first = &snap.windows[0];
        assert_eq!(
            (
                first.start.as_secs_f64(),
                first.count("#a"),
                first.count("#b")
            ),
            (0.0, 1, 0)
        );
        let last = snap.latest().unwrap();
        assert_eq!(
            (last.start.as_secs_f64(), last.count("#a"), last.count("#b")),
            (60.0, 0, 1)
        );
        for w in &snap.windows[1..6] {
            assert_eq!((w.count("#a"), w.count("#b")), (1, 1), "window {}", w.start);
        }
    }

    #[test]
    fn counts_sorted_by_count_then_hashtag() {
        let mut e = event_time(60, 60, 60);
        for tag in ["#b", "#c", "#a", "#c", "#b", "#d"] {
            e.ingest(&ev(tag, 1.0), secs(0.0));
        }
        let snap = e.tick(secs(0.0));
        let w = snap.latest().unwrap();
        assert_eq!(
            w.counts,
            vec![
                ("#b".to_string(), 2),
                ("#c".to_string(), 2),
                ("#a".to_string(), 1),
                ("#d".to_string(), 1)
            ]
        );
        assert_eq!(w.total, 6);
    }

    #[test]
    fn watermark_moves_at_ticks_and_only_forward() {
        let mut e = event_time(60, 60, 30);
        assert_eq!(e.watermark(), None);
        e.ingest(&ev("#a", 100.0), secs(0.0));
        // Not yet: the watermark is recomputed at the trigger, like Spark.
        assert_eq!(e.watermark(), None);
        assert_eq!(e.tick(secs(1.0)).metrics.watermark, Some(secs(70.0)));
        // An older event does not move it back.
        e.ingest(&ev("#a", 80.0), secs(0.0));
        assert_eq!(e.tick(secs(2.0)).metrics.watermark, Some(secs(70.0)));
        e.ingest(&ev("#a", 200.0), secs(0.0));
        assert_eq!(e.tick(secs(3.0)).metrics.watermark, Some(secs(170.0)));
        assert_eq!(e.tick(secs(4.0)).metrics.max_event_time, Some(secs(200.0)));
    }

    #[test]
    fn late_events_are_dropped_and_counted() {
        let mut e = event_time(60, 60, 10);
        e.ingest(&ev("#a", 100.0), secs(0.0));
        e.tick(secs(0.0)); // watermark 90
                           // (event time, outcome)
        let cases = [
            (89.999, Outcome::Late),
            (90.0, Outcome::Counted(1)),
            (95.0, Outcome::Counted(1)),
            (0.0, Outcome::Late),
        ];
        for (t, want) in cases {
            assert_eq!(e.ingest(&ev("#a", t), secs(0.0)), want, "event at {t}");
        }
        let snap = e.tick(secs(0.0));
        assert_eq!(snap.metrics.late_rows, 2);
        assert_eq!(snap.totals.late, 2);
        assert_eq!(snap.totals.accepted, 3);
        assert_eq!(snap.latest().unwrap().count("#a"), 3);
    }

    #[test]
    fn windows_close_behind_the_watermark_and_state_is_freed() {
        let mut e = event_time(60, 60, 10);
        e.ingest(&ev("#a", 30.0), secs(0.0));
        e.ingest(&ev("#a", 50.0), secs(0.0));
        e.ingest(&ev("#b", 65.0), secs(0.0));
        let snap = e.tick(secs(0.0)); // watermark 55: [0,60) still open
        assert!(snap.closed.is_empty());
        assert_eq!(starts(&snap.windows), vec![0.0, 60.0]);
        assert_eq!(snap.metrics.rows_in_state, 2);
        e.ingest(&ev("#b", 70.0), secs(0.0));
        let snap = e.tick(secs(0.0)); // watermark 60: [0,60) closes, exactly at its end
        assert_eq!(starts(&snap.closed), vec![0.0]);
        assert_eq!(snap.closed[0].count("#a"), 2);
        assert_eq!(starts(&snap.windows), vec![60.0]);
        assert_eq!(snap.metrics.rows_in_state, 1);
        assert_eq!(starts(&snap.history), vec![0.0]);
        // Closed windows are reported once.
        let snap = e.tick(secs(0.0));
        assert!(snap.closed.is_empty());
        assert_eq!(snap.trending().unwrap().start, secs(60.0));
    }

    #[test]
    fn trending_is_the_window_covering_the_last_width() {
        let mut e = event_time(60, 10, 3600);
        e.ingest(&ev("#a", 5.0), secs(0.0));
        e.ingest(&ev("#b", 65.0), secs(0.0));
        let snap = e.tick(secs(0.0));
        // Windows holding 65 s start at 10..60; the fullest is [10, 70).
        let t = snap.trending().unwrap();
        assert_eq!((t.start, t.count("#a"), t.count("#b")), (secs(10.0), 0, 1));
        assert_eq!(snap.latest().unwrap().start, secs(60.0));
    }

    #[test]
    fn sliding_panes_are_freed_only_when_their_last_window_closes() {
        let mut e = event_time(60, 10, 0);
        e.ingest(&ev("#a", 5.0), secs(0.0)); // pane [0,10): windows -50..0 → last ends at 60
        e.ingest(&ev("#a", 59.0), secs(0.0));
        let snap = e.tick(secs(0.0)); // watermark 59
                                      // Windows starting at -50..0 hold the event at 5; -50..-10 end by 50 ≤ 59: closed.
        assert_eq!(
            starts(&snap.closed),
            vec![-50.0, -40.0, -30.0, -20.0, -10.0]
        );
        assert_eq!(snap.metrics.rows_in_state, 2);
        e.ingest(&ev("#a", 60.0), secs(0.0));
        let snap = e.tick(secs(0.0)); // watermark 60: window [0,60) closes, pane [0,10) freed
        assert_eq!(starts(&snap.closed), vec![0.0]);
        assert_eq!(snap.closed[0].count("#a"), 2);
        assert_eq!(snap.metrics.rows_in_state, 2); // panes [50,60) and [60,70)
    }

    #[test]
    fn idle_ticks_keep_firing_and_close_nothing_new() {
        let mut e = event_time(60, 60, 60);
        let first = e.tick(secs(0.0));
        assert_eq!(first.metrics.trigger_id, 0);
        assert!(first.windows.is_empty() && first.latest().is_none());
        assert_eq!(first.metrics.watermark, None);
        e.ingest(&ev("#a", 10.0), secs(10.0));
        let s1 = e.tick(secs(10.0));
        assert_eq!(s1.metrics.input_rows, 1);
        assert!((s1.metrics.input_rows_per_second - 0.1).abs() < 1e-9);
        for i in 0..5 {
            let s = e.tick(secs(20.0 + 10.0 * i as f64));
            assert_eq!(s.metrics.trigger_id, 2 + i);
            assert_eq!(s.metrics.input_rows, 0);
            assert_eq!(s.metrics.input_rows_per_second, 0.0);
            assert_eq!(s.windows, s1.windows);
        }
    }

    #[test]
    fn processing_time_uses_the_arrival_clock() {
        let mut e = WindowEngine::new(WindowConfig::default()).unwrap();
        // The event says 1970, but it arrived at 125 s: it counts in [120, 180).
        e.ingest(&ev("#a", 1.0), secs(125.0));
        e.ingest(&ev("#b", 1733940000.0), secs(179.999));
        let snap = e.tick(secs(180.0));
        assert_eq!(starts(&snap.windows), vec![120.0]);
        assert_eq!(snap.latest().unwrap().total, 2);
        // Watermark trails arrival time by 60 s: nothing arriving now is late.
        assert_eq!(snap.metrics.watermark, Some(secs(119.999)));
        assert_eq!(e.ingest(&ev("#a", 0.0), secs(181.0)), Outcome::Counted(1));
    }

    #[test]
    fn rejections_are_counted_by_reason_in_input() {
        let mut e = event_time(60, 60, 60);
        assert_eq!(
            e.ingest_raw(b"{oops", secs(0.0)),
            Outcome::Rejected(Rejection::NotJson)
        );
        assert_eq!(
            e.ingest_raw(br#"{"hashtag_principal":"","timestamp":1}"#, secs(0.0)),
            Outcome::Rejected(Rejection::EmptyHashtag)
        );
        assert_eq!(
            e.ingest_raw(br##"{"hashtag_principal":"#a","timestamp":1}"##, secs(0.0)),
            Outcome::Counted(1)
        );
        e.add_busy(Duration::from_millis(2));
        let snap = e.tick(secs(0.0));
        assert_eq!(snap.metrics.input_rows, 3);
        assert_eq!(snap.metrics.rejected.get(Rejection::NotJson), 1);
        assert_eq!(snap.metrics.rejected.total(), 2);
        assert_eq!(snap.metrics.processed_rows_per_second, Some(1500.0));
        assert_eq!(snap.totals.input, 3);
        assert_eq!(snap.totals.accepted, 1);
    }

    #[test]
    fn history_is_bounded() {
        let mut cfg = WindowConfig::tumbling(Duration::from_secs(1))
            .with_watermark(Duration::ZERO)
            .with_time_domain(TimeDomain::EventTime);
        cfg.history = 3;
        let mut e = WindowEngine::new(cfg).unwrap();
        for t in 0..10 {
            e.ingest(&ev("#a", t as f64), secs(0.0));
            e.tick(secs(0.0));
        }
        let snap = e.tick(secs(0.0));
        assert_eq!(starts(&snap.history), vec![6.0, 7.0, 8.0]);
        assert_eq!(snap.metrics.rows_in_state, 1);
    }

    #[test]
    fn bad_config_is_refused() {
        let e = WindowEngine::new(WindowConfig::sliding(
            Duration::from_secs(60),
            Duration::from_secs(7),
        ));
        assert!(e.unwrap_err().to_string().contains("window.slide"));
    }
}
