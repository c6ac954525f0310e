//! For random event sequences (out of order, late, garbage, idle triggers), the window
//! engine agrees with a naive reference that keeps every window forever, under both
//! late-data rules and both processing-time clocks, and input = accepted + late + rejected.
//! Spark's `update` output (the last value written per key) adds up to the same counts.

use std::collections::BTreeMap;
use std::time::Duration;

use helpers::core::config::{LateRule, ProcessingClock, TimeDomain, WindowConfig};
use helpers::core::event::Event;
use helpers::core::time::Timestamp;
use helpers::core::window::WindowEngine;
use proptest::prelude::*;

/// One step of a test timeline.
#[derive(Debug, Clone)]
enum Step {
    /// The clock moves forward by `advance` ms, then an event with hashtag `tag` arrives,
    /// stamped `skew` ms from the clock (negative: it happened earlier).
    Event { advance: u32, skew: i32, tag: u8 },
    /// A message that is not an event.
    Garbage(Vec<u8>),
    /// A trigger fires after `advance` ms.
    Tick { advance: u32 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        // Whole seconds, so events land exactly on window ends and on the watermark often.
        8 => (0u32..5, -150i32..10, 0u8..5)
            .prop_map(|(advance, skew, tag)| Step::Event {
                advance: advance * 1000,
                skew: skew * 1000,
                tag,
            }),
        1 => proptest::collection::vec(any::<u8>(), 0..20).prop_map(Step::Garbage),
        2 => (0u32..30).prop_map(|advance| Step::Tick { advance: advance * 1000 }),
    ]
}

/// (width s, slide s, watermark delay s)
fn shape() -> impl Strategy<Value = (u64, u64, u64)> {
    prop_oneof![
        Just((60, 60, 60)),
        Just((60, 10, 60)),
        Just((20, 5, 0)),
        Just((1, 1, 3)),
        Just((30, 10, 15)),
    ]
}

/// The reference: every window of every accepted event, counted one by one.
#[derive(Default)]
struct Naive {
    counts: BTreeMap<(i64, String), u64>,
    max_t: Option<i64>,
    /// Newest watermark.
    watermark: Option<i64>,
    /// The watermark the current batch is judged against (and that closed windows at the
    /// last tick).
    judge: Option<i64>,
    late: u64,
    late_windows: u64,
    accepted: u64,
    /// Per-trigger processing time: hashtags waiting for the tick's time.
    pending: Vec<String>,
}

impl Naive {
    fn event(&mut self, rule: LateRule, tag: &str, t: i64, width: i64, slide: i64) {
        // Every aligned start s with s <= t < s + width, found by brute force.
        let mut starts = Vec::new();
        let mut s = t.div_euclid(slide) * slide - width;
        while s <= t {
            if s <= t && t < s + width {
                starts.push(s);
            }
            s += slide;
        }
        // Which (event, window) pairs are too late, spelled out for each rule.
        let late = |s: i64| match (rule, self.judge) {
            (_, None) => false,
            (LateRule::PerEvent, Some(w)) => t < w,
            (LateRule::SparkWindowEnd, Some(w)) => s + width <= w,
        };
        let kept: Vec<i64> = starts.iter().copied().filter(|s| !late(*s)).collect();
        self.late_windows += (starts.len() - kept.len()) as u64;
        if kept.is_empty() {
            self.late += 1;
            return;
        }
        self.accepted += 1;
        self.max_t = Some(self.max_t.map_or(t, |m| m.max(t)));
        for s in kept {
            *self.counts.entry((s, tag.to_string())).or_default() += 1;
        }
    }

    fn tick(&mut self, rule: LateRule, delay: i64, now: i64, width: i64, slide: i64) {
        for tag in std::mem::take(&mut self.pending) {
            self.event(rule, &tag, now, width, slide);
        }
        let previous = self.watermark;
        if let Some(m) = self.max_t {
            let c = m - delay;
            self.watermark = Some(self.watermark.map_or(c, |w| w.max(c)));
        }
        self.judge = match rule {
            LateRule::SparkWindowEnd => previous,
            LateRule::PerEvent => self.watermark,
        };
    }
}

fn garbage_is_rejected(bytes: &[u8]) -> bool {
    helpers::core::event::decode(bytes).is_err()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_naive_reference(
        (width, slide, delay) in shape(),
        event_time in any::<bool>(),
        spark_rule in any::<bool>(),
        per_trigger in any::<bool>(),
        steps in proptest::collection::vec(step(), 0..300),
    ) {
        let domain = if event_time { TimeDomain::EventTime } else { TimeDomain::ProcessingTime };
        let rule = if spark_rule { LateRule::SparkWindowEnd } else { LateRule::PerEvent };
        let clock_kind = if per_trigger {
            ProcessingClock::PerTrigger
        } else {
            ProcessingClock::PerMessage
        };
        let config = WindowConfig::sliding(Duration::from_secs(width), Duration::from_secs(slide))
            .with_watermark(Duration::from_secs(delay))
            .with_time_domain(domain)
            .with_late_rule(rule)
            .with_processing_clock(clock_kind);
        let mut engine = WindowEngine::new(config).unwrap();
        let mut naive = Naive::default();
        let us = |secs: u64| secs as i64 * 1_000_000;
        let (w_us, s_us, d_us) = (us(width), us(slide), us(delay));
        let mut clock: i64 = 1_733_940_000_000_000;
        let mut inputs = 0u64;
        let mut rejected = 0u64;
        let mut finals: BTreeMap<(i64, String), u64> = BTreeMap::new();
        // Spark's update mode: the last count written per (window, hashtag).
        let mut updates: BTreeMap<(i64, String), u64> = BTreeMap::new();
        let tags = ["#Spark", "#BigData", "#RealTime", "#IA", "#<b>"];
        let absorb = |snap: &helpers::core::window::Snapshot,
                      finals: &mut BTreeMap<(i64, String), u64>,
                      updates: &mut BTreeMap<(i64, String), u64>| {
            for w in &snap.closed {
                for (tag, c) in &w.counts {
                    let prev = finals.insert((w.start.micros(), tag.clone()), *c);
                    assert!(prev.is_none(), "window {} closed twice", w.start);
                }
            }
            for w in &snap.updated {
                assert_eq!(w.total, w.counts.iter().map(|(_, c)| c).sum::<u64>());
                for (tag, c) in &w.counts {
                    let prev = updates.insert((w.start.micros(), tag.clone()), *c);
                    assert!(prev.is_none_or(|p| p < *c), "an update must raise the count");
                }
            }
        };
        for step in &steps {
            match step {
                Step::Event { advance, skew, tag } => {
                    clock += *advance as i64 * 1000;
                    let t = clock + *skew as i64 * 1000;
                    let tag = tags[*tag as usize];
                    let ev = Event {
                        usuario: "@u".into(),
                        texto: "".into(),
                        hashtag_principal: tag.into(),
                        timestamp: Timestamp(t).as_secs_f64(),
                    };
                    engine.ingest(&ev, Timestamp(clock));
                    if !event_time && per_trigger {
                        naive.pending.push(tag.to_string());
                    } else {
                        let counted_at = if event_time {
                            Timestamp::from_secs_f64(ev.timestamp).micros()
                        } else {
                            clock
                        };
                        naive.event(rule, tag, counted_at, w_us, s_us);
                    }
                    inputs += 1;
                }
                Step::Garbage(bytes) => {
                    engine.ingest_raw(bytes, Timestamp(clock));
                    prop_assert!(garbage_is_rejected(bytes));
                    inputs += 1;
                    rejected += 1;
                }
                Step::Tick { advance } => {
                    clock += *advance as i64 * 1000;
                    let snap = engine.tick(Timestamp(clock));
                    naive.tick(rule, d_us, clock, w_us, s_us);
                    prop_assert_eq!(snap.metrics.watermark.map(|w| w.micros()), naive.watermark);
                    prop_assert_eq!(engine.late_watermark().map(|w| w.micros()), naive.judge);
                    absorb(&snap, &mut finals, &mut updates);
                    // Memory is bounded by the open windows: nothing closed stays in state.
                    if let Some(w) = naive.judge {
                        for win in &snap.windows {
                            prop_assert!(win.end.micros() > w);
                        }
                    }
                    let open_rows: usize = snap.windows.iter().map(|w| w.counts.len()).sum();
                    prop_assert!(snap.metrics.rows_in_state <= open_rows);
                }
            }
        }
        let last = engine.tick(Timestamp(clock));
        naive.tick(rule, d_us, clock, w_us, s_us);
        absorb(&last, &mut finals, &mut updates);
        for w in &last.windows {
            for (tag, c) in &w.counts {
                let prev = finals.insert((w.start.micros(), tag.clone()), *c);
                prop_assert!(prev.is_none(), "window {} both closed and open", w.start);
            }
        }
        prop_assert_eq!(&finals, &naive.counts);
        prop_assert_eq!(&updates, &naive.counts);
        let t = last.totals;
        prop_assert_eq!(t.input, inputs);
        prop_assert_eq!(t.accepted + t.late + t.rejected.total(), inputs);
        prop_assert_eq!(t.rejected.total(), rejected);
        prop_assert_eq!(t.late, naive.late);
        prop_assert_eq!(t.accepted, naive.accepted);
        prop_assert_eq!(t.late_windows, naive.late_windows);
        // Each event is counted once in each of the width/slide windows holding it, unless
        // it came too late for that window.
        let sum: u64 = finals.values().sum();
        prop_assert_eq!(sum + t.late_windows, (t.accepted + t.late) * (width / slide));
    }
}
