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
//! # Triggers
//! Like Spark's micro-batches, the engine works in *triggers*: events come in with
//! [`WindowEngine::ingest`], and every few seconds [`WindowEngine::tick`] ends the batch:
//! it moves the watermark, closes finished windows and returns a [`Snapshot`]. The events
//! ingested between two ticks are one micro-batch.
//!
//! # Time domains
//! * **Processing time**: an event belongs to the moment the consumer *received* it. The
//!   original Spark job used `current_timestamp()`, which is **one value per micro-batch**
//!   (the time the batch started), so by default ([`ProcessingClock::PerTrigger`]) every
//!   event of a batch is stamped with the time of the tick that ends it: the moment our
//!   consumer publishes it, as Spark's batch starts when it reads it.
//!   [`ProcessingClock::PerMessage`] stamps each message with its own arrival time
//!   instead. Simple either way; a delayed event is counted in the wrong minute.
//! * **Event time**: an event belongs to the moment it *happened* (its `timestamp`
//!   field). Correct minutes, but events can arrive out of order or late.
//!
//! # The watermark
//! How long should we wait for late events before we call a window final? The watermark is
//! the answer: `max event time seen − delay` (default delay 60 s). It only moves forward and
//! is recomputed at the end of each trigger. It decides two things: which windows are
//! *closed* (their counts are final, they are reported once in [`Snapshot::closed`] and
//! their state is freed, so memory stays bounded on an endless stream), and which data is
//! *late* (dropped and counted in `late`). This is Spark's `withWatermark("ts", "60
//! seconds")`.
//!
//! Three watermarks meet at each trigger, and the lessons give each one name
//! ([`TriggerMetrics`] reports all three):
//!
//! * the **judging watermark** decides which rows of the batch are late: the previous
//!   trigger's closing watermark;
//! * the **closing watermark** closes windows at this trigger: the previous trigger's new
//!   watermark. Spark reports it as the batch's `eventTime.watermark`;
//! * the **new watermark** is computed at the end of this trigger from the newest event
//!   time seen; it becomes the next trigger's closing watermark.
//!
//! So a batch's rows are judged against the watermark computed two triggers back, and a
//! window closes one trigger after the watermark passes its end. That is Spark 3.4 and
//! later (SPARK-40925 split the watermark for late events from the one for eviction);
//! Spark's programming guide still draws the older, single-watermark picture (its 12:04
//! figure). The exact rule is a setting, [`LateRule`]:
//!
//! * **[`LateRule::SparkWindowEnd`]** (the default): what Spark does (checked against
//!   PySpark 4.3 by `scripts/spark_conformance.py`). A row is dropped from a window only
//!   when the **end of that window** is at or before the judging watermark. With sliding
//!   windows each (row, window) pair is judged on its own: a row can be too late for its
//!   oldest window and still count in the others.
//! * **[`LateRule::PerEvent`]**: drop an event whose own time is before the newest
//!   watermark, from all its windows; a window closes at the trigger that moves the
//!   watermark past its end. Simpler to say, and allowed by Spark's contract ("data older
//!   than the watermark *may* be dropped"), but it drops rows Spark keeps.
//!
//! A worked example: 60 s tumbling windows, a 60 s delay, one trigger per line.
//!
//! 1. `#Spark` at 18:02:10 arrives; the new watermark is 18:01:10. Both rules count it in
//!    `[18:02, 18:03)`.
//! 2. `#IA` at 18:00:50 arrives (new watermark still 18:01:10).
//!    * Spark rule: **counted** in `[18:00, 18:01)`: the judging watermark is none yet;
//!      the window then closes (closing watermark 18:01:10).
//!    * Per-event rule: **late**: 18:00:50 is before the newest watermark, 18:01:10.
//! 3. `#IA` at 18:00:40 arrives.
//!    * Spark rule: **late**: its window ends at 18:01:00, at or before the judging
//!      watermark 18:01:10.
//!    * Per-event rule: late.
//!
//! # Output modes
//! Spark writes a streaming aggregation in one of three output modes; each snapshot holds
//! what each would write at that trigger:
//! * `update`: [`Snapshot::updated`], the (window, hashtag) counts that changed;
//! * `complete`: [`Snapshot::windows`], every window in state. Spark's complete mode
//!   keeps every window forever and applies no watermark filter to input rows: late rows
//!   are counted. With [`OutputMode::Complete`] the engine does the same (nothing is
//!   late, nothing closes); with the default [`OutputMode::Update`] `windows` holds only
//!   the open windows.
//! * `append`: [`Snapshot::closed`], each window once, when the watermark finalises it.
//!
//! # How it is computed
//! Counts are kept per *pane*: a slice of time `slide` long. A window is the sum of the
//! `width / slide` panes it covers, so an event costs one hash-map update whatever the
//! overlap. The engine is pure: it never reads a clock; time comes in as arguments, so
//! tests can replay any timeline. [`crate::core::replay`] runs a list of micro-batches through
//! the engine under each rule.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::config::{LateRule, OutputMode, ProcessingClock, TimeDomain, WindowConfig};
use crate::core::event::{decode, Event, Rejection, RejectionCounts};
use crate::core::lang::tr;
use crate::core::time::{duration_micros, Timestamp};
use crate::error::Error;

/// One counter of a pane: how many times a hashtag was seen, and the trigger that last
/// added to it (so a trigger can list what changed: Spark's update mode).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Cell {
    /// Events counted.
    count: u64,
    /// Id of the trigger whose batch last added to `count`.
    trigger: u64,
}

/// Counters per hashtag. foldhash is several times faster than the default SipHash on
/// short keys and is seeded at random per process, so crafted hashtags cannot force
/// collisions.
type Counts = HashMap<Box<str>, Cell, foldhash::fast::RandomState>;

/// The row that counts the events of hashtags beyond [`WindowConfig::max_hashtags`] in a
/// pane. (A data hashtag spelled the same is counted in that row too.)
pub const OTHER: &str = "(other hashtags)";

/// How many hashtags each window of a [`Snapshot`] lists (the highest counts); the others
/// are summed in one [`OTHER`] row, so a snapshot stays small, and quick to build and to
/// show, whatever the stream sends. Totals stay exact.
pub const SNAPSHOT_TOP: usize = 1_000;

/// How many hashtags of each closed window the history keeps (the highest counts).
pub const HISTORY_TOP: usize = 100;

/// How many `(hashtag, count)` rows each list of a [`Snapshot`] (open windows, closed ones,
/// updated ones) holds at most: the newest windows are listed until this is reached, the
/// others counted in [`TriggerMetrics::windows_omitted`]. A stream of 1970 timestamps or
/// hour-long windows sliding every second cannot make a snapshot huge.
pub const SNAPSHOT_ROWS: usize = 20_000;

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

    /// The same window with only its `n` highest counts (`total` stays the full total).
    pub fn leaders(&self, n: usize) -> WindowCounts {
        WindowCounts {
            start: self.start,
            end: self.end,
            counts: self.counts.iter().take(n).cloned().collect(),
            total: self.total,
        }
    }

    /// Whether `t` falls in this window.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }
}

/// What happened to one ingested message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counted in this many windows: `width / slide`, or fewer when the row came too late
    /// for its oldest sliding windows (Spark rule).
    Counted(u32),
    /// Too late for every one of its windows: dropped and counted as late.
    Late,
    /// Could not be decoded: counted under its reason.
    Rejected(Rejection),
}

/// In words, for a student: `counted in 2 windows`, `late: dropped from every window`,
/// `rejected: empty_hashtag`.
impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Counted(1) => f.write_str(tr("counted in 1 window", "contado en 1 ventana")),
            Outcome::Counted(n) => {
                write!(
                    f,
                    "{} {n} {}",
                    tr("counted in", "contado en"),
                    tr("windows", "ventanas")
                )
            }
            Outcome::Late => f.write_str(tr(
                "late: dropped from every window",
                "tardío: descartado de todas sus ventanas",
            )),
            Outcome::Rejected(reason) => write!(f, "{}: {reason}", tr("rejected", "rechazado")),
        }
    }
}

/// What happened to one event in event time, and when: a point of the picture of time
/// (event time against arrival time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrival {
    /// When the consumer received it (processing time).
    pub arrived: Timestamp,
    /// When it happened (its `timestamp` field).
    pub happened: Timestamp,
    /// The windows it was counted in: all of them (`width / slide`), fewer when it came
    /// too late for its oldest ones, 0 when it was late for every one.
    pub windows: u32,
}

/// Running totals since the engine started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Every message ingested (accepted + late + rejected).
    pub input: u64,
    /// Events counted in at least one window.
    pub accepted: u64,
    /// Events dropped from all their windows because they came too late.
    pub late: u64,
    /// (event, window) pairs dropped as late: `late × width / slide`, plus the windows
    /// that events counted elsewhere were too late for (sliding windows, Spark rule).
    #[serde(default)]
    pub late_windows: u64,
    /// Messages that could not be decoded, by reason.
    pub rejected: RejectionCounts,
    /// Events not counted under their own hashtag because the state was full: their pane
    /// already held [`WindowConfig::max_hashtags`] distinct hashtags, or the whole state
    /// [`WindowConfig::max_state_rows`] rows. Counted under [`OTHER`], or in no window (see
    /// `unwindowed`).
    #[serde(default)]
    pub overflow: u64,
    /// Events counted in the totals but in no window: the state was full and their pane
    /// had no room, not even for an [`OTHER`] row. Part of `accepted`.
    #[serde(default)]
    pub unwindowed: u64,
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
    /// The **new watermark**: computed at the end of this trigger from the newest event
    /// time seen (`max event time − delay`); `None` before any event. It closes windows at
    /// the next trigger.
    pub watermark: Option<Timestamp>,
    /// The **closing watermark**: the one that closed windows at this trigger, i.e. the
    /// previous trigger's new watermark (Spark's `eventTime.watermark` of this batch);
    /// under [`LateRule::PerEvent`], the new one. It judges the next batch's rows.
    #[serde(default)]
    pub closing_watermark: Option<Timestamp>,
    /// The **judging watermark**: the one this batch's rows were judged late against,
    /// i.e. the previous trigger's closing watermark (Spark 3.4+: the watermark for late
    /// events is the previous batch's); under [`LateRule::PerEvent`], the newest one.
    #[serde(default)]
    pub judging_watermark: Option<Timestamp>,
    /// Newest event time seen so far (`eventTime.max`).
    pub max_event_time: Option<Timestamp>,
    /// `(pane, hashtag)` counters held in memory (`stateOperators.numRowsTotal`).
    pub rows_in_state: usize,
    /// Windows still open.
    pub open_windows: usize,
    /// Events dropped as late from all their windows in this trigger.
    pub late_rows: u64,
    /// Distinct (window, hashtag) groups that late data of this trigger fell in: what
    /// Spark reports as `numRowsDroppedByWatermark`, which counts rows *after* the
    /// batch's partial aggregation (3 late `#IA` in one window count 1).
    #[serde(default)]
    pub late_groups: u64,
    /// Messages rejected in this trigger, by reason.
    pub rejected: RejectionCounts,
    /// Events of this trigger not counted under their own hashtag (the state was full):
    /// under [`OTHER`], or in no window.
    #[serde(default)]
    pub overflow_rows: u64,
    /// Events of this trigger counted in the totals but in no window (the state was full).
    #[serde(default)]
    pub unwindowed_rows: u64,
    /// Rows of state in use after this trigger, of [`WindowConfig::max_state_rows`].
    #[serde(default)]
    pub state_rows: usize,
    /// Windows left out of this snapshot's lists (open, closed or updated) to keep it
    /// within [`SNAPSHOT_ROWS`] rows; their counts are still in the state.
    #[serde(default)]
    pub windows_omitted: u64,
    /// How far the consumer is behind the newest offsets, in messages; filled in by the
    /// consumer, `None` from the engine alone.
    pub lag: Option<i64>,
}

/// What a trigger returns: the windows to show and the progress figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Progress figures of this trigger.
    pub metrics: TriggerMetrics,
    /// Every open window with data, oldest first; each `counts` sorted by count, at most
    /// [`SNAPSHOT_TOP`] hashtags and an [`OTHER`] row for the rest. What
    /// Spark's `complete` output mode writes when the engine runs with
    /// [`OutputMode::Complete`] (otherwise the windows already closed are not in it).
    pub windows: Vec<WindowCounts>,
    /// Windows that closed at this trigger (final counts), oldest first: Spark's `append`
    /// output mode.
    pub closed: Vec<WindowCounts>,
    /// Windows that got data in this trigger, oldest first, each with only the hashtags
    /// that got data and their running counts (`total` is the sum of those): Spark's
    /// `update` output mode. Includes windows that also closed at this trigger.
    #[serde(default)]
    pub updated: Vec<WindowCounts>,
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

/// What [`WindowEngine::emit_windows`] finds at a trigger.
struct Emitted {
    /// Windows still open (listed or not).
    open_windows: usize,
    /// Windows closing now, oldest first (the newest, within [`SNAPSHOT_ROWS`]).
    closed: Vec<WindowCounts>,
    /// Open windows, oldest first (the newest, within [`SNAPSHOT_ROWS`]).
    windows: Vec<WindowCounts>,
    /// Windows that changed in this batch, oldest first (the newest, within
    /// [`SNAPSHOT_ROWS`]).
    updated: Vec<WindowCounts>,
    /// Windows left out of the three lists.
    omitted: u64,
}

/// The distinct window starts of `panes` (given newest first) that lie in `(lo, hi]`, newest
/// first. The windows holding pane `p` start at `p − span ..= p`, one `slide` apart.
fn starts_desc(
    mut panes: impl Iterator<Item = i64>,
    span: i64,
    slide: i64,
    hi: i64,
    lo: i64,
) -> impl Iterator<Item = i64> {
    let hi = hi.div_euclid(slide).saturating_mul(slide); // starts are on the slide's grid
    let mut next: Option<i64> = None; // the next start to give
    let mut floor = i64::MAX; // the oldest start of the current pane
    let mut last: Option<i64> = None; // the last start given
    std::iter::from_fn(move || loop {
        if let Some(s) = next {
            if s <= lo {
                return None;
            }
            if s >= floor {
                next = Some(s - slide);
                last = Some(s);
                return Some(s);
            }
        }
        let p = panes.next()?;
        let top = last.map_or(p.min(hi), |l| p.min(hi).min(l - slide));
        floor = p - span;
        next = Some(top);
    })
}

/// How many distinct window starts of `panes` (any order) lie in `(lo, hi]`: the union of
/// their runs, counted without listing them.
fn count_starts(panes: impl Iterator<Item = i64>, span: i64, slide: i64, lo: i64, hi: i64) -> u64 {
    let first = (lo.div_euclid(slide) + 1).saturating_mul(slide);
    let last = hi.div_euclid(slide).saturating_mul(slide);
    let mut runs: Vec<(i64, i64)> = panes
        .map(|p| ((p - span).max(first), p.min(last)))
        .filter(|(a, b)| a <= b)
        .collect();
    runs.sort_unstable();
    let mut count = 0u64;
    let mut done: Option<i64> = None; // the newest start counted
    for (a, b) in runs {
        let a = done.map_or(a, |d| a.max(d + slide));
        if b >= a {
            count += ((b - a) / slide + 1) as u64;
            done = Some(b);
        }
    }
    count
}

/// Where [`WindowEngine::place`] put events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placed {
    /// Under their own hashtag.
    Own,
    /// Under the pane's [`OTHER`] row.
    Other,
    /// In no window: the state was full.
    Nowhere,
}

/// Counters collected between two triggers.
#[derive(Debug, Default)]
struct Batch {
    /// Messages ingested.
    input: u64,
    /// Events dropped from all their windows.
    late: u64,
    /// Where late data fell, for `late_groups`: per `(pane, hashtag)`, how many of the
    /// pane's oldest windows it was too late for (the most seen). One row per pane and
    /// hashtag, not per window, and within the state's budget.
    late_spans: HashMap<Box<str>, HashMap<i64, i64>, foldhash::fast::RandomState>,
    /// Entries in `late_spans`.
    late_rows: usize,
    /// Rejections by reason.
    rejected: RejectionCounts,
    /// Events not counted under their own hashtag.
    overflow: u64,
    /// Events counted in no window.
    unwindowed: u64,
    /// Processing time reported by the caller.
    busy: Duration,
    /// Panes that got events in this batch (to find the windows that changed).
    panes: BTreeSet<i64>,
    /// The last pane added to `panes`: consecutive events mostly share a pane, so this
    /// spares a set insert per event.
    last_pane: Option<i64>,
    /// Per-trigger processing time: events waiting for the trigger's time, per hashtag.
    pending: HashMap<Box<str>, u64, foldhash::fast::RandomState>,
}

/// What a [`WindowEngine`] knows at a trigger, to save and restore (a checkpoint, like the
/// state store Spark keeps in its `checkpointLocation`): [`WindowEngine::state`] right
/// after [`WindowEngine::tick`], [`WindowEngine::from_state`] to go on from there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineState {
    config: WindowConfig,
    panes: BTreeMap<i64, Counts>,
    max_event_time: Option<i64>,
    watermark: Option<i64>,
    late_watermark: Option<i64>,
    closed_through: Option<i64>,
    history: VecDeque<WindowCounts>,
    next_trigger: u64,
    last_tick: Option<Timestamp>,
    totals: Totals,
}

impl EngineState {
    /// The settings the state was counted with.
    pub fn config(&self) -> &WindowConfig {
        &self.config
    }
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
    /// Windows each event is in: `width / slide`.
    overlap: i64,
    /// Watermark delay, µs.
    delay: i64,
    /// Counts per pane start, then per hashtag. Only panes that an open window needs.
    panes: BTreeMap<i64, Counts>,
    /// `(pane, hashtag)` counters in `panes`.
    rows: usize,
    /// Newest event time seen.
    max_event_time: Option<i64>,
    /// Newest watermark; moves only forward, at the end of each trigger.
    watermark: Option<i64>,
    /// The watermark data of the current batch is judged against: the newest one
    /// (per-event rule) or the previous trigger's (Spark rule).
    late_watermark: Option<i64>,
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
        let width = duration_micros(config.width);
        let slide = duration_micros(config.slide);
        Ok(WindowEngine {
            width,
            slide,
            overlap: width / slide,
            delay: duration_micros(config.watermark_delay),
            config,
            panes: BTreeMap::new(),
            rows: 0,
            max_event_time: None,
            watermark: None,
            late_watermark: None,
            closed_through: None,
            history: VecDeque::new(),
            next_trigger: 0,
            last_tick: None,
            batch: Batch::default(),
            totals: Totals::default(),
        })
    }

    /// The engine's state, to go on from later with [`WindowEngine::from_state`]. Take it
    /// right after [`WindowEngine::tick`]: what was ingested since (the open batch) is not
    /// in it.
    pub fn state(&self) -> EngineState {
        EngineState {
            config: self.config.clone(),
            panes: self.panes.clone(),
            max_event_time: self.max_event_time,
            watermark: self.watermark,
            late_watermark: self.late_watermark,
            closed_through: self.closed_through,
            history: self.history.clone(),
            next_trigger: self.next_trigger,
            last_tick: self.last_tick,
            totals: self.totals,
        }
    }

    /// An engine that goes on from `state` (see [`WindowEngine::state`]); fails if its
    /// settings make no sense or the state does not fit them (a pane off the slide's grid
    /// or outside the timestamps an event may carry, more rows than the budget, a
    /// watermark out of range): a restored file is checked, not trusted.
    pub fn from_state(state: EngineState) -> Result<WindowEngine, Error> {
        let mut engine = WindowEngine::new(state.config.clone())?;
        engine.check_state(&state)?;
        engine.rows = state.panes.values().map(HashMap::len).sum();
        engine.panes = state.panes;
        engine.max_event_time = state.max_event_time;
        engine.watermark = state.watermark;
        engine.late_watermark = state.late_watermark;
        engine.closed_through = state.closed_through;
        engine.history = state.history;
        engine.next_trigger = state.next_trigger;
        engine.last_tick = state.last_tick;
        engine.totals = state.totals;
        Ok(engine)
    }

    /// The settings this engine runs with.
    pub fn config(&self) -> &WindowConfig {
        &self.config
    }

    /// Checks a state to restore against this engine's settings.
    fn check_state(&self, state: &EngineState) -> Result<(), Error> {
        // Any time an event may carry, with room for a window and a delay on each side.
        let limit = Timestamp::from_secs_f64(crate::core::event::MAX_TIMESTAMP_SECS).micros()
            + 2 * self.width
            + self.delay;
        let in_range = |t: &i64| (-limit..=limit).contains(t);
        let refuse = |why: &str| Err(Error::config("engine state", why, "start counting afresh"));
        if !state
            .panes
            .keys()
            .all(|p| in_range(p) && p.rem_euclid(self.slide) == 0)
        {
            return refuse("a pane is off the slide's grid or out of range");
        }
        let rows: usize = state.panes.values().map(HashMap::len).sum();
        if rows > self.config.max_state_rows + state.panes.len() {
            return refuse("more rows than the state's budget");
        }
        let times = [
            state.max_event_time,
            state.watermark,
            state.late_watermark,
            state.closed_through,
        ];
        if !times.iter().flatten().all(in_range) {
            return refuse("a watermark or event time out of range");
        }
        if state.history.iter().any(|w| {
            !in_range(&w.start.micros()) || w.end.micros() - w.start.micros() != self.width
        }) {
            return refuse("a closed window of another width or out of range");
        }
        Ok(())
    }

    /// Rows of state in use: counters, hashtags waiting for their trigger, late groups.
    pub fn state_rows(&self) -> usize {
        self.rows + self.batch.pending.len() + self.batch.late_rows
    }

    /// Whether one more row fits in the budget, keeping the last row for an [`OTHER`] row
    /// (so the newest pane can always count what no longer fits).
    fn has_room(&self) -> bool {
        self.state_rows() + 1 < self.config.max_state_rows
    }

    /// Whether one more [`OTHER`] row fits in the budget.
    fn has_room_for_other(&self) -> bool {
        self.state_rows() < self.config.max_state_rows
    }

    /// The newest watermark (`None` until the first trigger after the first event).
    pub fn watermark(&self) -> Option<Timestamp> {
        self.watermark.map(Timestamp)
    }

    /// The watermark that data arriving now is judged against: the newest one under
    /// [`LateRule::PerEvent`], the previous trigger's under [`LateRule::SparkWindowEnd`].
    pub fn late_watermark(&self) -> Option<Timestamp> {
        self.late_watermark.map(Timestamp)
    }

    /// Totals since the start.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// `(pane, hashtag)` counters in memory.
    pub fn rows_in_state(&self) -> usize {
        self.rows
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

    /// Counts one decoded event; `now` is the processing time (its arrival). With
    /// [`ProcessingClock::PerTrigger`] a processing-time event waits for the next
    /// [`WindowEngine::tick`], whose time it takes.
    pub fn ingest(&mut self, event: &Event<'_>, now: Timestamp) -> Outcome {
        if self.too_far_ahead(event, now) {
            return self.reject(Rejection::TimestampInFuture);
        }
        self.batch.input += 1;
        self.totals.input += 1;
        let t = match (self.config.time_domain, self.config.processing_clock) {
            (TimeDomain::ProcessingTime, ProcessingClock::PerTrigger) => {
                // Counted at the tick. Never late unless the clock goes backwards, which
                // the tick corrects in the totals.
                let tag: &str = &event.hashtag_principal;
                if let Some(c) = self.batch.pending.get_mut(tag) {
                    *c += 1;
                } else if self.has_room() {
                    self.batch.pending.insert(tag.into(), 1);
                } else {
                    // The state is full: the event waits under OTHER (in the row kept
                    // for it, or one more at most), and is reported as overflow.
                    *self.batch.pending.entry(OTHER.into()).or_default() += 1;
                    self.batch.overflow += 1;
                    self.totals.overflow += 1;
                }
                self.totals.accepted += 1;
                return Outcome::Counted(self.overlap as u32);
            }
            (TimeDomain::ProcessingTime, ProcessingClock::PerMessage) => now.micros(),
            (TimeDomain::EventTime, _) => Timestamp::from_secs_f64(event.timestamp).micros(),
        };
        let counted = self.count(&event.hashtag_principal, t, 1);
        if counted == 0 {
            self.batch.late += 1;
            self.totals.late += 1;
            Outcome::Late
        } else {
            self.totals.accepted += 1;
            Outcome::Counted(counted as u32)
        }
    }

    /// Whether an event-time event is stamped more than [`WindowConfig::max_future`] ahead
    /// of `now`.
    fn too_far_ahead(&self, event: &Event<'_>, now: Timestamp) -> bool {
        match (self.config.time_domain, self.config.max_future) {
            (TimeDomain::EventTime, Some(skew)) => {
                let t = Timestamp::from_secs_f64(event.timestamp).micros();
                t > now.micros().saturating_add(duration_micros(skew))
            }
            _ => false,
        }
    }

    /// How many of the windows of an event at `t` (µs) in pane `pane` are too late for it.
    fn late_windows(&self, t: i64, pane: i64) -> i64 {
        if self.config.output_mode == OutputMode::Complete {
            // Spark's complete mode applies no watermark filter to input rows.
            return 0;
        }
        match (self.late_watermark, self.config.late_rule) {
            (None, _) => 0,
            (Some(w), LateRule::PerEvent) => {
                if t < w {
                    self.overlap
                } else {
                    0
                }
            }
            // The pane's windows end at pane + slide, pane + 2·slide, …, pane + width;
            // those ending at or before the watermark are late.
            (Some(w), LateRule::SparkWindowEnd) => {
                (w - pane).div_euclid(self.slide).clamp(0, self.overlap)
            }
        }
    }

    /// Counts `times` events of `hashtag` at time `t` (µs) in every window not too late
    /// for them; returns in how many windows (0: late for all). The core of
    /// [`WindowEngine::ingest`].
    fn count(&mut self, hashtag: &str, t: i64, times: u64) -> i64 {
        let pane = t.div_euclid(self.slide) * self.slide;
        let late = self.late_windows(t, pane);
        if late > 0 {
            self.note_late(hashtag, pane, late, times);
            if late == self.overlap {
                return 0;
            }
        }
        self.max_event_time = Some(self.max_event_time.map_or(t, |m| m.max(t)));
        let placed = self.place(hashtag, pane, times);
        if placed != Placed::Own && hashtag != OTHER {
            // Memory stays bounded, and the events are still counted in the totals.
            self.batch.overflow += times;
            self.totals.overflow += times;
        }
        if placed == Placed::Nowhere {
            self.batch.unwindowed += times;
            self.totals.unwindowed += times;
            return self.overlap - late;
        }
        if self.batch.last_pane != Some(pane) {
            self.batch.panes.insert(pane);
            self.batch.last_pane = Some(pane);
        }
        self.overlap - late
    }

    /// Adds `times` events of `hashtag` to `pane`, within the budgets: under its own row,
    /// else (its pane or the state full) under the pane's [`OTHER`] row, else nowhere.
    fn place(&mut self, hashtag: &str, pane: i64, times: u64) -> Placed {
        let trigger = self.next_trigger;
        let room = self.has_room();
        let room_for_other = self.has_room_for_other();
        let add = |c: &mut Cell| {
            c.count += times;
            c.trigger = trigger;
        };
        let Some(counts) = self.panes.get_mut(&pane) else {
            let key = if room && hashtag != OTHER {
                hashtag
            } else if room_for_other {
                OTHER
            } else {
                return Placed::Nowhere;
            };
            let mut counts = Counts::default();
            add(counts.entry(key.into()).or_default());
            self.panes.insert(pane, counts);
            self.rows += 1;
            return if key == OTHER {
                Placed::Other
            } else {
                Placed::Own
            };
        };
        if let Some(c) = counts.get_mut(hashtag) {
            add(c);
            return if hashtag == OTHER {
                Placed::Other
            } else {
                Placed::Own
            };
        }
        if room && counts.len() < self.config.max_hashtags {
            add(counts.entry(hashtag.into()).or_default());
            self.rows += 1;
            return Placed::Own;
        }
        if let Some(c) = counts.get_mut(OTHER) {
            add(c);
            return Placed::Other;
        }
        if room_for_other {
            add(counts.entry(OTHER.into()).or_default());
            self.rows += 1;
            return Placed::Other;
        }
        Placed::Nowhere
    }

    /// Records `times` events of `hashtag` in `pane` as too late for its `late` oldest
    /// windows: one row per `(pane, hashtag)`, while the budget has room (beyond it,
    /// `late_groups` is a lower bound; every late event is still counted).
    fn note_late(&mut self, hashtag: &str, pane: i64, late: i64, times: u64) {
        self.totals.late_windows += late as u64 * times;
        let room = self.has_room();
        let spans = match self.batch.late_spans.get_mut(hashtag) {
            Some(spans) => spans,
            None if room => self.batch.late_spans.entry(hashtag.into()).or_default(),
            None => return,
        };
        if let Some(k) = spans.get_mut(&pane) {
            *k = (*k).max(late);
        } else if room {
            spans.insert(pane, late);
            self.batch.late_rows += 1;
        }
    }

    /// Distinct `(window, hashtag)` groups late data fell in this batch (Spark's
    /// `numRowsDroppedByWatermark`): the pane's `late` oldest windows start at
    /// `pane + slide − width`, one slide apart; overlapping runs are counted once.
    fn late_groups(&self) -> u64 {
        let mut groups = 0u64;
        for spans in self.batch.late_spans.values() {
            // Each pane's late windows as a run of window numbers (start / slide).
            let mut runs: Vec<(i64, i64)> = spans
                .iter()
                .map(|(pane, late)| {
                    let first = (pane + self.slide - self.width).div_euclid(self.slide);
                    (first, first + late - 1)
                })
                .collect();
            runs.sort_unstable();
            let mut done: Option<i64> = None; // the newest window counted
            for (first, last) in runs {
                let from = done.map_or(first, |d| first.max(d + 1));
                if last >= from {
                    groups += (last - from + 1) as u64;
                    done = Some(last);
                }
            }
        }
        groups
    }

    /// Adds processing time spent on the current batch (for `processed_rows_per_second`).
    pub(crate) fn add_busy(&mut self, d: Duration) {
        self.batch.busy += d;
    }

    /// Fires a trigger at `now`: ends the batch, closes and frees finished windows, moves
    /// the watermark, and returns the snapshot. Call it on every trigger, with or without
    /// new input.
    pub fn tick(&mut self, now: Timestamp) -> Snapshot {
        let trigger = self.next_trigger;
        // 1. Per-trigger processing time: the batch's events take the trigger's time.
        self.stamp_pending(now);
        let judging = self.late_watermark;
        // 2. The new watermark, and the one that closes windows now.
        let close = self.advance_watermark();
        let closing = self.late_watermark;
        // 3. Close windows that end at or before `close`; list the open ones and those
        //    that changed in this batch.
        let Emitted {
            open_windows,
            closed,
            windows,
            updated,
            omitted,
        } = self.emit_windows(close, trigger);
        self.remember(&closed);
        // 4. Metrics.
        let mut metrics = self.end_batch(now, trigger, open_windows);
        metrics.windows_omitted = omitted;
        metrics.judging_watermark = judging.map(Timestamp);
        metrics.closing_watermark = closing.map(Timestamp);
        Snapshot {
            metrics,
            windows,
            closed,
            updated,
            history: self.history.iter().cloned().collect(),
            totals: self.totals,
        }
    }

    /// Counts the events that wait for their trigger's time (per-trigger processing time).
    fn stamp_pending(&mut self, now: Timestamp) {
        for (tag, n) in std::mem::take(&mut self.batch.pending) {
            if self.count(&tag, now.micros(), n) == 0 {
                self.totals.accepted -= n;
                self.totals.late += n;
                self.batch.late += n;
            }
        }
    }

    /// Moves the watermark to max event time - delay (never backwards), sets the one the
    /// next batch is judged against, and returns the one that closes windows now. Spark
    /// closes with the watermark that was in force during the batch (the previous one)
    /// and judges the next batch against it too. Like Spark, which keeps event-time
    /// statistics in milliseconds, the max event time is cut to the millisecond first
    /// (windows end on whole milliseconds, so under Spark's rule this changes no count,
    /// only the figure).
    fn advance_watermark(&mut self) -> Option<i64> {
        let previous = self.watermark;
        if let Some(max) = self.max_event_time {
            let candidate = (max.div_euclid(1000) * 1000).saturating_sub(self.delay);
            self.watermark = Some(previous.map_or(candidate, |w| w.max(candidate)));
        }
        let close = match self.config.late_rule {
            LateRule::SparkWindowEnd => previous,
            LateRule::PerEvent => self.watermark,
        };
        self.late_watermark = close;
        // Spark's complete mode keeps every window: none is ever closed or freed.
        if self.config.output_mode == OutputMode::Complete {
            return None;
        }
        close
    }

    /// The windows not yet reported as closed, each list oldest first and within
    /// [`SNAPSHOT_ROWS`] rows (the newest windows kept). Frees the panes no open window
    /// needs. Windows are found from the panes in memory, never enumerated whole: with
    /// hour-long windows sliding every second, a pane is in 3,600 of them.
    fn emit_windows(&mut self, close: Option<i64>, trigger: u64) -> Emitted {
        let after = self.closed_through.unwrap_or(i64::MIN);
        let close_at = close.unwrap_or(i64::MIN);
        let (width, slide) = (self.width, self.slide);
        let span = (self.overlap - 1) * slide;
        // Starts above `unreported` are not reported closed yet; of those, the ones up to
        // `last_closing` close now, the others stay open.
        let unreported = after.saturating_sub(width);
        let last_closing = close_at.saturating_sub(width).max(unreported);
        let panes = || self.panes.keys().copied();
        let open_total = count_starts(panes(), span, slide, last_closing, i64::MAX);
        let closed_total = count_starts(panes(), span, slide, unreported, last_closing);
        let updated_total = count_starts(
            self.batch.panes.iter().copied(),
            span,
            slide,
            unreported,
            i64::MAX,
        );
        let list = |lo: i64, hi: i64, changed: Option<u64>, from_batch: bool| {
            let descending: Box<dyn Iterator<Item = i64> + '_> = if from_batch {
                Box::new(
                    self.batch
                        .panes
                        .range(..=hi.saturating_add(span))
                        .rev()
                        .copied(),
                )
            } else {
                Box::new(
                    self.panes
                        .range(..=hi.saturating_add(span))
                        .rev()
                        .map(|(p, _)| *p),
                )
            };
            let mut out = Vec::new();
            let mut rows = 0;
            for start in starts_desc(descending, span, slide, hi, lo) {
                if rows >= SNAPSHOT_ROWS {
                    break;
                }
                let (full, fresh) = self.window(start, changed);
                let w = if changed.is_some() { fresh } else { Some(full) };
                if let Some(w) = w {
                    rows += w.counts.len();
                    out.push(w);
                }
            }
            out.reverse();
            out
        };
        let windows = list(last_closing, i64::MAX, None, false);
        let closed = list(unreported, last_closing, None, false);
        let updated = list(unreported, i64::MAX, Some(trigger), true);
        let listed = (windows.len() + closed.len() + updated.len()) as u64;
        let omitted = open_total + closed_total + updated_total - listed;
        if close.is_some() {
            self.closed_through = Some(after.max(close_at));
            // Free panes that no open window needs: the last window holding pane p ends
            // at p + width.
            let mut freed = 0;
            self.panes.retain(|p, counts| {
                let keep = p + width > close_at;
                if !keep {
                    freed += counts.len();
                }
                keep
            });
            self.rows -= freed;
        }
        Emitted {
            open_windows: open_total as usize,
            closed,
            windows,
            updated,
            omitted,
        }
    }

    /// Keeps the newly closed windows in the history (bounded), each with its leaders.
    fn remember(&mut self, closed: &[WindowCounts]) {
        if self.config.history == 0 {
            return;
        }
        for c in closed {
            if self.history.len() == self.config.history {
                self.history.pop_front();
            }
            // Charts need only the leaders: keep each closed window's top hashtags, so
            // the history stays small even with 100k distinct hashtags.
            self.history.push_back(c.leaders(HISTORY_TOP));
        }
    }

    /// Ends the batch: its progress figures (Spark's query progress), and the next
    /// trigger's number.
    fn end_batch(&mut self, now: Timestamp, trigger: u64, open_windows: usize) -> TriggerMetrics {
        let late_groups = self.late_groups();
        let batch = std::mem::take(&mut self.batch);
        let elapsed = self.last_tick.map(|prev| now.since(prev));
        let input_rows_per_second = match elapsed {
            Some(e) if e > Duration::ZERO => batch.input as f64 / e.as_secs_f64(),
            _ => 0.0,
        };
        let processed_rows_per_second =
            (batch.busy > Duration::ZERO).then(|| batch.input as f64 / batch.busy.as_secs_f64());
        self.next_trigger += 1;
        self.last_tick = Some(now);
        TriggerMetrics {
            trigger_id: trigger,
            at: now,
            input_rows: batch.input,
            input_rows_per_second,
            processed_rows_per_second,
            trigger_duration: batch.busy,
            watermark: self.watermark.map(Timestamp),
            closing_watermark: None,
            judging_watermark: None,
            max_event_time: self.max_event_time.map(Timestamp),
            rows_in_state: self.rows_in_state(),
            open_windows,
            late_rows: batch.late,
            late_groups,
            rejected: batch.rejected,
            overflow_rows: batch.overflow,
            unwindowed_rows: batch.unwindowed,
            state_rows: self.state_rows(),
            windows_omitted: 0,
            lag: None,
        }
    }

    /// The counts of the window starting at `start`, summed from its panes; with
    /// `changed_in: Some(trigger)`, also the counts of the hashtags that trigger added to
    /// (`None` if it added to none).
    fn window(&self, start: i64, changed_in: Option<u64>) -> (WindowCounts, Option<WindowCounts>) {
        let mut sums: HashMap<&str, (u64, bool), foldhash::fast::RandomState> = HashMap::default();
        for (_, pane) in self.panes.range(start..start + self.width) {
            for (tag, cell) in pane {
                let e = sums.entry(tag).or_default();
                e.0 += cell.count;
                e.1 |= changed_in == Some(cell.trigger);
            }
        }
        let fresh: Vec<(&str, u64)> = sums
            .iter()
            .filter(|(_, (_, changed))| *changed)
            .map(|(t, (c, _))| (*t, *c))
            .collect();
        let counts: Vec<(&str, u64)> = sums.into_iter().map(|(t, (c, _))| (t, c)).collect();
        let full = self.window_counts(start, counts);
        let fresh = (!fresh.is_empty()).then(|| self.window_counts(start, fresh));
        (full, fresh)
    }

    /// A [`WindowCounts`] from unsorted `(hashtag, count)` pairs: the [`SNAPSHOT_TOP`]
    /// highest, and the rest as [`OTHER`].
    fn window_counts(&self, start: i64, counts: Vec<(&str, u64)>) -> WindowCounts {
        let counts = top_with_other(counts, SNAPSHOT_TOP);
        WindowCounts {
            start: Timestamp(start),
            end: Timestamp(start + self.width),
            total: counts.iter().map(|(_, c)| c).sum(),
            counts,
        }
    }
}

/// The `top` highest `(hashtag, count)` pairs, highest count first, ties in hashtag order,
/// and the sum of all the others in an [`OTHER`] row (merged with an `OTHER` row already
/// there) at its place in that order. Selecting the top first makes this linear in the
/// number of pairs, plus a sort of `top`.
pub(crate) fn top_with_other(mut pairs: Vec<(&str, u64)>, top: usize) -> Vec<(String, u64)> {
    let order = |a: &(&str, u64), b: &(&str, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
    let mut other = 0;
    if let Some(i) = pairs.iter().position(|(t, _)| *t == OTHER) {
        other += pairs.swap_remove(i).1;
    }
    if pairs.len() > top {
        pairs.select_nth_unstable_by(top, order);
        other += pairs[top..].iter().map(|(_, c)| c).sum::<u64>();
        pairs.truncate(top);
    }
    pairs.sort_unstable_by(order);
    let mut out: Vec<(String, u64)> = pairs.into_iter().map(|(t, c)| (t.to_string(), c)).collect();
    if other > 0 {
        let at = out.partition_point(|(t, c)| *c > other || (*c == other && t.as_str() < OTHER));
        out.insert(at, (OTHER.to_string(), other));
    }
    out
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

    /// An event-time engine with the default (Spark) late rule.
    fn event_time(width: u64, slide: u64, delay: u64) -> WindowEngine {
        event_time_with(width, slide, delay, LateRule::SparkWindowEnd)
    }

    fn event_time_with(width: u64, slide: u64, delay: u64, rule: LateRule) -> WindowEngine {
        WindowEngine::new(
            WindowConfig::sliding(Duration::from_secs(width), Duration::from_secs(slide))
                .with_watermark(Duration::from_secs(delay))
                .with_time_domain(TimeDomain::EventTime)
                .with_late_rule(rule)
                .with_max_future(None),
        )
        .unwrap()
    }

    #[test]
    fn an_engine_restored_from_its_saved_state_goes_on_exactly_like_the_original() {
        // Batches of events, some late, over several windows; the state saved after the
        // third trigger (through JSON, as the checkpoint file holds it) and restored.
        let batches: Vec<Vec<(&str, f64)>> = vec![
            vec![("#a", 5.0), ("#b", 12.0), ("#a", 15.0)],
            vec![("#a", 31.0), ("#c", 44.0)],
            vec![("#b", 71.0), ("#a", 20.0)],
            vec![("#a", 95.0), ("#b", 2.0), ("#c", 100.0)],
            vec![("#c", 130.0), ("#a", 88.0)],
            vec![],
            vec![("#b", 200.0), ("#a", 3.0)],
        ];
        let mut original = event_time(60, 20, 10);
        let mut restored = None;
        for (i, batch) in batches.iter().enumerate() {
            let now = secs(1000.0 + i as f64);
            for (tag, t) in batch {
                original.ingest(&ev(tag, *t), now);
            }
            let a = original.tick(now);
            if let Some(r) = restored.as_mut() {
                let r: &mut WindowEngine = r;
                for (tag, t) in batch {
                    r.ingest(&ev(tag, *t), now);
                }
                let b = r.tick(now);
                assert_eq!(a.windows, b.windows, "trigger {i}");
                assert_eq!(a.closed, b.closed, "trigger {i}");
                assert_eq!(a.updated, b.updated, "trigger {i}");
                assert_eq!(a.history, b.history, "trigger {i}");
                assert_eq!(a.totals, b.totals, "trigger {i}");
                assert_eq!(a.metrics.watermark, b.metrics.watermark, "trigger {i}");
                assert_eq!(a.metrics.trigger_id, b.metrics.trigger_id, "trigger {i}");
            }
            if i == 2 {
                let json = serde_json::to_string(&original.state()).unwrap();
                let state: EngineState = serde_json::from_str(&json).unwrap();
                assert_eq!(state.config(), original.config());
                restored = Some(WindowEngine::from_state(state).unwrap());
            }
        }
        let totals = original.totals();
        assert!(
            totals.late_windows > 0,
            "some data came too late: {totals:?}"
        );
    }

    /// `(window start s, hashtag, count)` rows, sorted: how Spark prints an output.
    fn rows(ws: &[WindowCounts]) -> Vec<(f64, String, u64)> {
        let mut out: Vec<(f64, String, u64)> = ws
            .iter()
            .flat_map(|w| {
                w.counts
                    .iter()
                    .map(|(h, c)| (w.start.as_secs_f64(), h.clone(), *c))
            })
            .collect();
        out.sort_by(|a, b| a.partial_cmp(b).unwrap());
        out
    }

    fn row(start: f64, tag: &str, count: u64) -> (f64, String, u64) {
        (start, tag.to_string(), count)
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
    fn each_trigger_reports_its_judging_closing_and_new_watermark() {
        let mut e = event_time(60, 60, 60);
        let mut marks = Vec::new();
        for t in [130.0, 250.0, 400.0, 410.0] {
            e.ingest(&ev("#a", t), secs(0.0));
            let m = e.tick(secs(0.0)).metrics;
            marks.push((m.judging_watermark, m.closing_watermark, m.watermark));
        }
        let w = |s: f64| Some(secs(s));
        // The new watermark of trigger k closes windows at k+1 and judges batch k+2.
        assert_eq!(
            marks,
            [
                (None, None, w(70.0)),
                (None, w(70.0), w(190.0)),
                (w(70.0), w(190.0), w(340.0)),
                (w(190.0), w(340.0), w(350.0)),
            ]
        );
    }

    #[test]
    fn per_event_rule_drops_events_behind_the_current_watermark() {
        let mut e = event_time_with(60, 60, 10, LateRule::PerEvent);
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
    fn per_event_rule_closes_windows_at_the_trigger_that_passes_their_end() {
        let mut e = event_time_with(60, 60, 10, LateRule::PerEvent);
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
    fn spark_rule_judges_a_window_end_against_the_previous_watermark() {
        // The worked example of the module docs: 60 s windows, 60 s delay.
        let t0 = 1_733_940_000.0; // 18:00:00
        for rule in [LateRule::SparkWindowEnd, LateRule::PerEvent] {
            let mut e = event_time_with(60, 60, 60, rule);
            assert_eq!(
                e.ingest(&ev("#Spark", t0 + 130.0), secs(0.0)),
                Outcome::Counted(1)
            );
            let s1 = e.tick(secs(1.0));
            assert_eq!(s1.metrics.watermark, Some(secs(t0 + 70.0)));
            // 18:00:50: behind the watermark 18:01:10, but its window ends at 18:01:00,
            // after the watermark of the previous trigger (none).
            let second = e.ingest(&ev("#IA", t0 + 50.0), secs(0.0));
            let s2 = e.tick(secs(2.0));
            // 18:00:40: its window ends at 18:01:00 <= 18:01:10, the previous watermark.
            let third = e.ingest(&ev("#IA", t0 + 40.0), secs(0.0));
            let s3 = e.tick(secs(3.0));
            assert_eq!(third, Outcome::Late, "{rule:?}");
            assert_eq!(s3.metrics.late_rows, 1);
            match rule {
                LateRule::SparkWindowEnd => {
                    assert_eq!(second, Outcome::Counted(1));
                    assert_eq!(s2.metrics.late_rows, 0);
                    // Counted, shown in update mode, then closed at the same trigger.
                    assert_eq!(rows(&s2.updated), vec![row(t0, "#IA", 1)]);
                    assert_eq!(rows(&s2.closed), vec![row(t0, "#IA", 1)]);
                    assert_eq!(s3.totals.late, 1);
                }
                LateRule::PerEvent => {
                    assert_eq!(second, Outcome::Late);
                    assert_eq!(s2.metrics.late_rows, 1);
                    assert!(s2.updated.is_empty() && s2.closed.is_empty());
                    assert_eq!(s3.totals.late, 2);
                }
            }
        }
    }

    #[test]
    fn spark_rule_drops_only_rows_whose_window_ended_before_the_previous_watermark() {
        let mut e = event_time(60, 60, 10);
        e.ingest(&ev("#a", 100.0), secs(0.0));
        e.tick(secs(0.0)); // watermark 90, previous: none
        e.ingest(&ev("#a", 30.0), secs(0.0)); // window [0,60): nothing to judge against yet
        e.tick(secs(0.0)); // late rows are now judged against 90
                           // (event time, outcome): late iff the window's end <= 90.
        let cases = [
            (59.999, Outcome::Late),
            (0.0, Outcome::Late),
            (60.0, Outcome::Counted(1)),
            (89.999, Outcome::Counted(1)),
            (119.0, Outcome::Counted(1)),
        ];
        for (t, want) in cases {
            assert_eq!(e.ingest(&ev("#a", t), secs(0.0)), want, "event at {t}");
        }
        let snap = e.tick(secs(0.0));
        assert_eq!(snap.metrics.late_rows, 2);
        assert_eq!(snap.metrics.late_groups, 1); // both in ([0,60), #a)
        assert_eq!(snap.totals.late, 2);
        assert_eq!(snap.totals.late_windows, 2);
        assert_eq!(snap.totals.accepted, 5);
        assert_eq!(snap.latest().unwrap().count("#a"), 4);
    }

    #[test]
    fn spark_rule_closes_windows_one_trigger_after_the_watermark_passes() {
        let mut e = event_time(60, 60, 10);
        e.ingest(&ev("#a", 30.0), secs(0.0));
        e.ingest(&ev("#a", 50.0), secs(0.0));
        e.ingest(&ev("#b", 65.0), secs(0.0));
        let snap = e.tick(secs(0.0)); // watermark 55
        assert!(snap.closed.is_empty());
        e.ingest(&ev("#b", 70.0), secs(0.0));
        let snap = e.tick(secs(0.0)); // watermark 60; closing uses 55: [0,60) stays open
        assert!(snap.closed.is_empty());
        assert_eq!(starts(&snap.windows), vec![0.0, 60.0]);
        // Still counted: judged against 55.
        assert_eq!(e.ingest(&ev("#a", 59.0), secs(0.0)), Outcome::Counted(1));
        let snap = e.tick(secs(0.0)); // closing uses 60: [0,60) closes with 3
        assert_eq!(rows(&snap.closed), vec![row(0.0, "#a", 3)]);
        assert_eq!(rows(&snap.updated), vec![row(0.0, "#a", 3)]);
        assert_eq!(starts(&snap.windows), vec![60.0]);
        assert_eq!(snap.metrics.rows_in_state, 1);
        assert_eq!(e.ingest(&ev("#a", 59.0), secs(0.0)), Outcome::Late);
        // Closed windows are reported once.
        let snap = e.tick(secs(0.0));
        assert!(snap.closed.is_empty() && snap.updated.is_empty());
        assert_eq!(starts(&snap.history), vec![0.0]);
    }

    #[test]
    fn spark_rule_judges_each_sliding_window_on_its_own() {
        // 60 s windows every 10 s, no delay: an event at 75 s is in the windows starting
        // at 20..70. With the previous watermark at 100, those ending at or before 100
        // (starting at 20, 30, 40) are late; those starting at 50, 60, 70 count it.
        let mut e = event_time(60, 10, 0);
        e.ingest(&ev("#a", 100.0), secs(0.0));
        e.tick(secs(0.0)); // watermark 100
        e.tick(secs(0.0)); // now the previous watermark is 100
        assert_eq!(e.ingest(&ev("#b", 75.0), secs(0.0)), Outcome::Counted(3));
        assert_eq!(e.ingest(&ev("#b", 79.0), secs(0.0)), Outcome::Counted(3));
        assert_eq!(e.ingest(&ev("#c", 35.0), secs(0.0)), Outcome::Late);
        let snap = e.tick(secs(0.0));
        assert_eq!(
            rows(&snap.updated),
            vec![row(50.0, "#b", 2), row(60.0, "#b", 2), row(70.0, "#b", 2)]
        );
        // Late (window, hashtag) groups: #b in 3 windows, #c in all 6 of its windows.
        assert_eq!(snap.metrics.late_groups, 3 + 6);
        assert_eq!(snap.metrics.late_rows, 1);
        assert_eq!(snap.totals.late_windows, 2 * 3 + 6);
        assert_eq!(snap.totals.accepted, 3);
        // The per-event rule drops both #b rows outright (75 < 100).
        let mut e = event_time_with(60, 10, 0, LateRule::PerEvent);
        e.ingest(&ev("#a", 100.0), secs(0.0));
        e.tick(secs(0.0));
        assert_eq!(e.ingest(&ev("#b", 75.0), secs(0.0)), Outcome::Late);
    }

    #[test]
    fn spark_rule_frees_sliding_panes_only_when_their_last_window_closes() {
        let mut e = event_time(60, 10, 0);
        e.ingest(&ev("#a", 5.0), secs(0.0));
        e.ingest(&ev("#a", 59.0), secs(0.0));
        let snap = e.tick(secs(0.0)); // watermark 59, nothing closes yet
        assert!(snap.closed.is_empty());
        e.ingest(&ev("#a", 60.0), secs(0.0));
        let snap = e.tick(secs(0.0)); // closing with 59: windows -50..-10 end by 50
        assert_eq!(
            starts(&snap.closed),
            vec![-50.0, -40.0, -30.0, -20.0, -10.0]
        );
        assert_eq!(snap.metrics.rows_in_state, 3);
        let snap = e.tick(secs(0.0)); // closing with 60: [0,60) closes, pane [0,10) freed
        assert_eq!(starts(&snap.closed), vec![0.0]);
        assert_eq!(snap.closed[0].count("#a"), 2);
        assert_eq!(snap.metrics.rows_in_state, 2); // panes [50,60) and [60,70)
    }

    #[test]
    fn output_modes_update_complete_append() {
        let mut e = event_time(60, 60, 0);
        e.ingest(&ev("#a", 10.0), secs(0.0));
        e.ingest(&ev("#b", 20.0), secs(0.0));
        let s0 = e.tick(secs(0.0));
        assert_eq!(
            rows(&s0.updated),
            vec![row(0.0, "#a", 1), row(0.0, "#b", 1)]
        );
        // Only #a changes in the next batch: update mode shows #a alone, with its running
        // count; complete mode shows everything.
        e.ingest(&ev("#a", 30.0), secs(0.0));
        e.ingest(&ev("#c", 70.0), secs(0.0));
        let s1 = e.tick(secs(0.0));
        assert_eq!(
            rows(&s1.updated),
            vec![row(0.0, "#a", 2), row(60.0, "#c", 1)]
        );
        assert_eq!(s1.updated[0].total, 2);
        assert_eq!(
            rows(&s1.windows),
            vec![row(0.0, "#a", 2), row(0.0, "#b", 1), row(60.0, "#c", 1)]
        );
        assert!(s1.closed.is_empty());
        // An idle trigger: nothing updated; [0,60) is final (watermark 70): append mode.
        let s2 = e.tick(secs(0.0));
        assert!(s2.updated.is_empty());
        assert_eq!(rows(&s2.closed), vec![row(0.0, "#a", 2), row(0.0, "#b", 1)]);
        assert_eq!(rows(&s2.windows), vec![row(60.0, "#c", 1)]);
    }

    #[test]
    fn complete_mode_keeps_every_window_and_counts_late_rows_as_spark_does() {
        // The same timeline under update and complete: after the watermark passes 60 s,
        // update closes [0, 60) and drops a late #a from it; complete counts it there and
        // closes nothing (Spark's complete mode applies no watermark filter).
        let run = |mode: OutputMode| {
            let config = event_time(60, 60, 0)
                .config()
                .clone()
                .with_output_mode(mode);
            let mut e = WindowEngine::new(config).unwrap();
            e.ingest(&ev("#a", 10.0), secs(0.0));
            e.ingest(&ev("#c", 130.0), secs(0.0));
            e.tick(secs(0.0)); // watermark 130
            e.tick(secs(0.0)); // [0, 60) closes under update
            let late = e.ingest(&ev("#a", 20.0), secs(0.0));
            (late, e.tick(secs(0.0)))
        };
        let (late, update) = run(OutputMode::Update);
        assert_eq!(late, Outcome::Late);
        assert_eq!(rows(&update.windows), vec![row(120.0, "#c", 1)]);
        assert_eq!(
            (update.metrics.late_rows, update.metrics.late_groups),
            (1, 1)
        );
        let (counted, complete) = run(OutputMode::Complete);
        assert_eq!(counted, Outcome::Counted(1));
        assert_eq!(
            rows(&complete.windows),
            vec![row(0.0, "#a", 2), row(120.0, "#c", 1)]
        );
        assert!(complete.closed.is_empty() && complete.history.is_empty());
        assert_eq!(
            (complete.metrics.late_rows, complete.metrics.late_groups),
            (0, 0)
        );
        // The watermark still moves (Spark reports it), it just decides nothing.
        assert_eq!(complete.metrics.watermark, Some(secs(130.0)));
    }

    #[test]
    fn outcomes_read_as_words() {
        assert_eq!(Outcome::Counted(1).to_string(), "counted in 1 window");
        assert_eq!(Outcome::Counted(6).to_string(), "counted in 6 windows");
        assert_eq!(Outcome::Late.to_string(), "late: dropped from every window");
        assert!(Outcome::Rejected(Rejection::NotJson)
            .to_string()
            .starts_with("rejected: "));
    }

    #[test]
    fn processing_time_per_trigger_stamps_the_batch_with_the_trigger_time() {
        // Spark's current_timestamp(): one value per micro-batch.
        let mut e = WindowEngine::new(WindowConfig::default()).unwrap();
        assert_eq!(e.ingest(&ev("#a", 1.0), secs(100.0)), Outcome::Counted(1));
        e.ingest(&ev("#b", 1.0), secs(119.0));
        e.ingest(&ev("#a", 1.0), secs(119.999));
        // The trigger at 125 s publishes all three: they count in [120, 180), not [60, 120).
        let snap = e.tick(secs(125.0));
        assert_eq!(starts(&snap.windows), vec![120.0]);
        assert_eq!(
            rows(&snap.updated),
            vec![row(120.0, "#a", 2), row(120.0, "#b", 1)]
        );
        assert_eq!(snap.metrics.max_event_time, Some(secs(125.0)));
        assert_eq!(snap.metrics.watermark, Some(secs(65.0)));
        // An idle trigger does not move the clock of the data.
        let snap = e.tick(secs(200.0));
        assert_eq!(snap.metrics.max_event_time, Some(secs(125.0)));
        e.ingest(&ev("#c", 1.0), secs(201.0));
        let snap = e.tick(secs(240.0));
        assert_eq!(rows(&snap.updated), vec![row(240.0, "#c", 1)]);
        assert_eq!(snap.totals.accepted, 4);
        // A clock that goes backwards makes the batch late; the totals say so.
        let mut e = WindowEngine::new(
            WindowConfig::tumbling(Duration::from_secs(60)).with_watermark(Duration::ZERO),
        )
        .unwrap();
        e.ingest(&ev("#a", 1.0), secs(500.0));
        e.tick(secs(500.0));
        e.tick(secs(500.0));
        e.ingest(&ev("#a", 1.0), secs(10.0));
        let snap = e.tick(secs(10.0));
        assert_eq!((snap.totals.accepted, snap.totals.late), (1, 1));
        assert_eq!(snap.metrics.late_rows, 1);
    }

    /// The late-data example of Spark's Structured Streaming programming guide ("Handling
    /// Late Data and Watermarking", figure "Watermarking in Windowed Grouped Aggregation
    /// with Update Mode"): word counts in 10 minute windows sliding every 5 minutes, a
    /// 10 minute watermark, triggers every 5 minutes.
    #[test]
    fn spark_guide_late_data_example() {
        // A clock time, in seconds.
        let m = |hh: u64, mm: u64| (hh * 3600 + mm * 60) as f64;
        // The words of each trigger, as the figure draws them (event time, word).
        let batches: [&[(f64, &str)]; 4] = [
            &[(m(12, 7), "dog"), (m(12, 8), "owl")],
            &[(m(12, 14), "dog"), (m(12, 9), "cat")],
            &[
                (m(12, 15), "cat"),
                (m(12, 8), "dog"),
                (m(12, 13), "owl"),
                (m(12, 21), "owl"),
            ],
            &[(m(12, 4), "donkey"), (m(12, 17), "owl")],
        ];
        for rule in [LateRule::PerEvent, LateRule::SparkWindowEnd] {
            let mut e = event_time_with(600, 300, 600, rule);
            let mut snaps = Vec::new();
            for batch in batches {
                for (t, word) in batch {
                    e.ingest(&ev(word, *t), secs(0.0));
                }
                snaps.push(e.tick(secs(0.0)));
            }
            // The purple (updated) rows of the figure's result tables; rows the figure hides
            // behind "..." are marked.
            assert_eq!(
                rows(&snaps[0].updated),
                vec![
                    row(m(12, 0), "dog", 1),
                    row(m(12, 0), "owl", 1),
                    row(m(12, 5), "dog", 1),
                    row(m(12, 5), "owl", 1)
                ]
            );
            assert_eq!(
                rows(&snaps[1].updated),
                vec![
                    row(m(12, 0), "cat", 1),
                    row(m(12, 5), "cat", 1),
                    row(m(12, 5), "dog", 2),
                    row(m(12, 10), "dog", 1)
                ]
            );
            // "wm = 12:14 - 10m = 12:04"
            assert_eq!(snaps[1].metrics.watermark, Some(secs(m(12, 4))));
            // The figure also marks "12:05 - 12:15 cat 2", but the cat at 12:15 is not in
            // that window: windows exclude their end (PySpark agrees, scenario "guide").
            assert_eq!(
                rows(&snaps[2].updated),
                vec![
                    row(m(12, 0), "dog", 2),
                    row(m(12, 5), "dog", 3),
                    row(m(12, 5), "owl", 2),
                    row(m(12, 10), "cat", 1),
                    row(m(12, 10), "owl", 1),
                    row(m(12, 15), "cat", 1), // "..."
                    row(m(12, 15), "owl", 1), // "..."
                    row(m(12, 20), "owl", 1), // "..."
                ]
            );
            let w1205 = snaps[2]
                .windows
                .iter()
                .find(|w| w.start == secs(m(12, 5)))
                .unwrap();
            assert_eq!(w1205.count("cat"), 1);
            // "wm = 12:21 - 10m = 12:11"
            assert_eq!(snaps[2].metrics.watermark, Some(secs(m(12, 11))));
            let last = &snaps[3];
            let owl = [row(m(12, 10), "owl", 2), row(m(12, 15), "owl", 2)];
            match rule {
                // The figure: "(12:04, donkey)" is "data too late, ignored in counts".
                // That is the per-event rule, and Spark before 3.4.
                LateRule::PerEvent => {
                    assert_eq!(rows(&last.updated), owl.to_vec());
                    assert_eq!(last.metrics.late_rows, 1);
                }
                // Spark 3.4 and later judge late rows against the watermark of the previous
                // trigger, 12:04: donkey's windows [11:55, 12:05) and [12:00, 12:10) end
                // after it, so donkey counts in both (then both close). PySpark 4.3 agrees:
                // scenario "guide" of scripts/spark_conformance.py.
                LateRule::SparkWindowEnd => {
                    let mut want = vec![row(m(11, 55), "donkey", 1), row(m(12, 0), "donkey", 1)];
                    want.extend(owl);
                    assert_eq!(rows(&last.updated), want);
                    assert_eq!(last.metrics.late_rows, 0);
                    assert!(rows(&last.closed).contains(&row(m(12, 0), "donkey", 1)));
                }
            }
            // "intermediate state for 12:00 - 12:10 dropped as watermark > 12:10": by the
            // last trigger, under both rules, that window is final.
            let closed: Vec<_> = snaps.iter().flat_map(|s| rows(&s.closed)).collect();
            assert!(
                closed.contains(&row(m(12, 0), "dog", 2)),
                "{rule:?}: {closed:?}"
            );
            assert!(closed.contains(&row(m(12, 0), "cat", 1)));
            assert!(closed.contains(&row(m(12, 0), "owl", 1)));
        }
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
    fn per_event_rule_frees_sliding_panes_only_when_their_last_window_closes() {
        let mut e = event_time_with(60, 10, 0, LateRule::PerEvent);
        e.ingest(&ev("#a", 5.0), secs(0.0)); // pane [0,10): windows -50..0 → last ends at 60
        e.ingest(&ev("#a", 59.0), secs(0.0));
        // Watermark 59. Windows starting at -50..0 hold the event at 5; -50..-10 end by
        // 50 ≤ 59: closed.
        let snap = e.tick(secs(0.0));
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
    fn processing_time_per_message_uses_the_arrival_clock() {
        let mut e = WindowEngine::new(
            WindowConfig::default().with_processing_clock(ProcessingClock::PerMessage),
        )
        .unwrap();
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

    /// The state never holds more rows than its budget (plus the one kept for OTHER), and
    /// every event is still in the totals.
    fn assert_within_budget(e: &WindowEngine, snap: &Snapshot, events: u64) {
        let budget = e.config().max_state_rows;
        assert!(
            snap.metrics.state_rows <= budget,
            "{} rows",
            snap.metrics.state_rows
        );
        assert!(e.state_rows() <= budget);
        let t = snap.totals;
        assert_eq!(t.input, events);
        assert_eq!(t.accepted + t.late + t.rejected.total(), events);
        for list in [&snap.windows, &snap.closed, &snap.updated] {
            let rows: usize = list.iter().map(|w| w.counts.len()).sum();
            assert!(
                rows <= SNAPSHOT_ROWS + SNAPSHOT_TOP + 1,
                "{rows} rows listed"
            );
        }
    }

    #[test]
    fn one_trigger_of_distinct_hashtags_waits_within_the_budget() {
        // Issue 23: per-trigger processing time kept every distinct hashtag of a trigger
        // (300,000 of 280 bytes: +100 MB) whatever the cap.
        let cfg = WindowConfig {
            max_state_rows: 1_000,
            ..Default::default()
        };
        let mut e = WindowEngine::new(cfg).unwrap();
        const N: u64 = 300_000;
        for i in 0..N {
            let tag = format!("#{i:0>279}");
            assert_eq!(e.ingest(&ev(&tag, 0.0), secs(5.0)), Outcome::Counted(1));
            assert!(e.state_rows() <= 1_000);
        }
        let snap = e.tick(secs(10.0));
        assert_within_budget(&e, &snap, N);
        let w = snap.latest().unwrap();
        assert_eq!(w.total, N, "every event is in its window");
        // 998 hashtags kept, the budget's last row for OTHER.
        assert_eq!(snap.totals.overflow, N - 998);
        assert_eq!(w.count(OTHER), N - 998);
        assert_eq!(snap.totals.unwindowed, 0);
    }

    #[test]
    fn timestamps_from_1970_on_cannot_grow_the_state_or_the_snapshot() {
        // Issue 23: before the first watermark any time is on time; each distinct slide
        // of time became a pane, and the first snapshot listed panes × overlap windows.
        for (width, slide) in [(60, 10), (3600, 1)] {
            let mut cfg =
                WindowConfig::sliding(Duration::from_secs(width), Duration::from_secs(slide))
                    .with_time_domain(TimeDomain::EventTime)
                    .with_max_future(None);
            cfg.max_state_rows = 5_000;
            let mut e = WindowEngine::new(cfg).unwrap();
            const N: u64 = 50_000;
            for i in 0..N {
                let t = (i * 7919 % 1_700_000_000) as f64; // spread over 54 years
                let tag = format!("#t{}", i % 3);
                assert!(matches!(
                    e.ingest(&ev(&tag, t), secs(0.0)),
                    Outcome::Counted(_)
                ));
            }
            let snap = e.tick(secs(0.0));
            assert_within_budget(&e, &snap, N);
            assert!(snap.totals.unwindowed > 0 && snap.metrics.windows_omitted > 0);
            assert_eq!(snap.totals.accepted, N);
            // The listed windows are the newest ones, oldest first.
            let starts: Vec<i64> = snap.windows.iter().map(|w| w.start.micros()).collect();
            assert!(starts.windows(2).all(|p| p[0] < p[1]));
            // Every open window is listed or counted as omitted.
            let unlisted = (snap.metrics.open_windows - snap.windows.len()) as u64;
            assert!(unlisted > 0 && snap.metrics.windows_omitted >= unlisted);
        }
    }

    #[test]
    fn late_data_is_tracked_per_pane_not_per_window() {
        // Issue 23: each late event was recorded once per late window (3,600 with
        // hour-long windows sliding every second): 1,000 late messages took 1 GB.
        let mut cfg = WindowConfig::sliding(Duration::from_secs(3600), Duration::from_secs(1))
            .with_time_domain(TimeDomain::EventTime)
            .with_watermark(Duration::ZERO)
            .with_max_future(None);
        cfg.max_state_rows = 2_000;
        let mut e = WindowEngine::new(cfg).unwrap();
        e.ingest(&ev("#now", 100_000.0), secs(0.0));
        e.tick(secs(0.0));
        e.tick(secs(0.0)); // the judging watermark is now 100,000
        for i in 0..1_000u64 {
            let t = 10_000.0 + i as f64 * 50.0; // all late for their every window
            assert_eq!(
                e.ingest(&ev(&format!("#late{i}"), t), secs(0.0)),
                Outcome::Late
            );
        }
        assert!(e.state_rows() <= 2_000);
        let snap = e.tick(secs(0.0));
        assert_within_budget(&e, &snap, 1_001);
        assert_eq!(snap.metrics.late_rows, 1_000);
        assert_eq!(snap.metrics.late_groups, 1_000 * 3_600);
        assert_eq!(snap.totals.late_windows, 1_000 * 3_600);
    }

    #[test]
    fn late_groups_count_each_window_and_hashtag_once() {
        // Two late #a 1 s apart in 10 s panes share their oldest windows: Spark counts the
        // distinct (window, hashtag) groups after its partial aggregation.
        let mut e = event_time(60, 10, 0);
        e.ingest(&ev("#a", 1_000.0), secs(0.0));
        e.tick(secs(0.0));
        e.tick(secs(0.0));
        for t in [900.0, 901.0, 915.0, 985.0] {
            e.ingest(&ev("#a", t), secs(0.0));
        }
        e.ingest(&ev("#b", 900.0), secs(0.0));
        let snap = e.tick(secs(0.0));
        // Brute force: every (window start, hashtag) the late rows were too late for.
        let mut groups = std::collections::HashSet::new();
        for (tag, t) in [
            ("#a", 900),
            ("#a", 901),
            ("#a", 915),
            ("#a", 985),
            ("#b", 900),
        ] {
            let pane = t / 10 * 10;
            for k in 0..6 {
                let start = pane - k * 10;
                if start + 60 <= 1_000 {
                    groups.insert((start, tag));
                }
            }
        }
        assert_eq!(snap.metrics.late_groups, groups.len() as u64);
    }

    #[test]
    fn window_starts_are_listed_and_counted_without_enumerating_them_all() {
        // starts_desc and count_starts against a brute-force list, on pseudo-random panes.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as i64
        };
        for _ in 0..300 {
            let slide = 1 + next() % 5;
            let overlap = 1 + next() % 6;
            let span = (overlap - 1) * slide;
            let mut panes: Vec<i64> = (0..next() % 8)
                .map(|_| (next() % 40 - 20) * slide)
                .collect();
            panes.sort_unstable();
            panes.dedup();
            let (lo, hi) = (next() % 120 - 60, next() % 120 - 30);
            let mut brute: Vec<i64> = panes
                .iter()
                .flat_map(|p| (0..overlap).map(move |k| p - k * slide))
                .filter(|s| *s > lo && *s <= hi)
                .collect();
            brute.sort_unstable_by(|a, b| b.cmp(a));
            brute.dedup();
            let listed: Vec<i64> =
                starts_desc(panes.iter().rev().copied(), span, slide, hi, lo).collect();
            assert_eq!(
                listed, brute,
                "panes {panes:?} slide {slide} overlap {overlap} ({lo}, {hi}]"
            );
            assert_eq!(
                count_starts(panes.iter().copied(), span, slide, lo, hi),
                brute.len() as u64
            );
        }
    }

    #[test]
    fn a_restored_state_is_checked_not_trusted() {
        let mut e = event_time(60, 10, 0);
        e.ingest(&ev("#a", 100.0), secs(0.0));
        e.tick(secs(0.0));
        let good = serde_json::to_value(e.state()).unwrap();
        assert!(WindowEngine::from_state(serde_json::from_value(good.clone()).unwrap()).is_ok());
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            WindowEngine::from_state(serde_json::from_value(v).unwrap())
        };
        // A pane near i64::MAX (window arithmetic would overflow), off the grid, a watermark
        // out of range: each refused with a sentence.
        let near_max = i64::MAX / 10 * 10;
        for bad in [near_max.to_string(), "100000001".into()] {
            let err = edit(&|v| {
                let panes = v["panes"].as_object_mut().unwrap();
                let cell = panes.values().next().unwrap().clone();
                panes.insert(bad.clone(), cell);
            })
            .unwrap_err();
            assert!(err.to_string().contains("pane"), "{err}");
        }
        let err = edit(&|v| v["watermark"] = serde_json::json!(i64::MAX)).unwrap_err();
        assert!(err.to_string().contains("watermark"), "{err}");
    }

    #[test]
    fn distinct_hashtags_per_pane_are_capped_and_the_rest_counted_as_other() {
        // Issue 10, item 3: two million distinct hashtags in one window.
        const N: u64 = 2_000_000;
        let mut cfg = WindowConfig::sliding(Duration::from_secs(60), Duration::from_secs(30))
            .with_time_domain(TimeDomain::EventTime);
        cfg.max_state_rows = 1_000_000; // the pane's cap is the limit here, not the state's
        let kept = cfg.max_hashtags as u64;
        let mut e = WindowEngine::new(cfg).unwrap();
        for i in 0..N {
            let tag = format!("#h{i}");
            assert_eq!(e.ingest(&ev(&tag, 15.0), secs(0.0)), Outcome::Counted(2));
        }
        let snap = e.tick(secs(0.0));
        // One pane, `kept` hashtags and the "other" row; every event still counted.
        assert_eq!(snap.metrics.rows_in_state as u64, kept + 1);
        assert_eq!(snap.metrics.overflow_rows, N - kept);
        assert_eq!(snap.totals.overflow, N - kept);
        assert_eq!(snap.totals.accepted, N);
        // A snapshot lists the SNAPSHOT_TOP leaders and sums the rest as "other".
        let top = SNAPSHOT_TOP as u64;
        for w in &snap.windows {
            assert_eq!((w.total, w.count(OTHER)), (N, N - top));
            assert_eq!(w.counts.len() as u64, top + 1);
            assert_eq!(w.counts[0].0, OTHER);
            assert_eq!(w.counts[1], ("#h0".to_string(), 1));
        }
        // Hashtags already kept keep counting; the next pane starts empty.
        e.ingest(&ev("#h0", 16.0), secs(0.0));
        e.ingest(&ev("#new", 31.0), secs(0.0));
        let snap = e.tick(secs(0.0));
        assert_eq!(snap.latest().unwrap().counts, vec![("#new".to_string(), 1)]);
        assert_eq!(snap.windows[0].counts[1], ("#h0".to_string(), 2));
        assert_eq!(snap.totals.overflow, N - kept);
    }

    #[test]
    fn events_stamped_too_far_ahead_are_rejected_and_leave_the_watermark_alone() {
        // Issue 10, item 4: one event stamped in 2099 would make every real event late.
        let now = 1_733_940_000.0;
        let cfg = WindowConfig::tumbling(Duration::from_secs(60))
            .with_time_domain(TimeDomain::EventTime)
            .with_max_future(Some(Duration::from_secs(300)));
        let mut e = WindowEngine::new(cfg.clone()).unwrap();
        let far = 4_070_000_000.0; // 2098
        assert_eq!(
            e.ingest(&ev("#x", far), secs(now)),
            Outcome::Rejected(Rejection::TimestampInFuture)
        );
        // Within the allowed skew (a producer clock a little ahead) is fine.
        assert_eq!(
            e.ingest(&ev("#a", now + 299.0), secs(now)),
            Outcome::Counted(1)
        );
        let snap = e.tick(secs(now));
        assert_eq!(snap.metrics.watermark, Some(secs(now + 299.0 - 60.0)));
        assert_eq!(snap.metrics.rejected.get(Rejection::TimestampInFuture), 1);
        assert_eq!((snap.totals.input, snap.totals.accepted), (2, 1));
        assert_eq!(
            e.ingest(&ev("#a", now + 250.0), secs(now + 1.0)),
            Outcome::Counted(1)
        );
        // Without the bound the same event poisons event time: the next real one is late.
        let mut open = WindowEngine::new(cfg.with_max_future(None)).unwrap();
        assert_eq!(open.ingest(&ev("#x", far), secs(now)), Outcome::Counted(1));
        open.tick(secs(now));
        open.tick(secs(now));
        assert_eq!(open.ingest(&ev("#a", now), secs(now)), Outcome::Late);
        // In processing time the event's own stamp is not used, so it is not judged.
        let mut proc = WindowEngine::new(
            WindowConfig::default().with_max_future(Some(Duration::from_secs(300))),
        )
        .unwrap();
        assert_eq!(proc.ingest(&ev("#x", far), secs(now)), Outcome::Counted(1));
    }

    #[test]
    fn snapshots_list_the_leaders_and_sum_the_rest() {
        let pairs = vec![("#c", 1), (OTHER, 2), ("#a", 5), ("#b", 1), ("#d", 3)];
        let row = |t: &str, c| (t.to_string(), c);
        assert_eq!(
            top_with_other(pairs.clone(), 2),
            vec![row("#a", 5), row(OTHER, 4), row("#d", 3)]
        );
        assert_eq!(
            top_with_other(pairs.clone(), 10),
            vec![
                row("#a", 5),
                row("#d", 3),
                row(OTHER, 2),
                row("#b", 1),
                row("#c", 1)
            ]
        );
        assert_eq!(top_with_other(vec![("#a", 1)], 0), vec![row(OTHER, 1)]);
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
