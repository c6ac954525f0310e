//! Micro-batches through the window engine: run a fixed list of batches (one trigger per
//! batch, as Spark runs one micro-batch per trigger) and compare the late-data rules.
//!
//! What the notebook's lesson on late data calls, and what the Spark conformance test
//! (`scripts/spark_conformance.py`, via `examples/replay.rs`) runs: the same batches that
//! PySpark reads one file per trigger.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::config::{LateRule, WindowConfig};
use crate::core::time::Timestamp;
use crate::core::window::{Snapshot, Totals, WindowEngine};
use crate::error::Error;

/// One output row, as Spark writes a windowed count: `(window start, window end,
/// hashtag, count)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CountRow {
    /// The window's first moment (inclusive).
    pub start: Timestamp,
    /// The first moment after the window (exclusive).
    pub end: Timestamp,
    /// The hashtag.
    pub hashtag: String,
    /// Its count in the window.
    pub count: u64,
}

/// Flattens windows into rows, sorted by window, then hashtag.
pub fn count_rows(windows: &[crate::core::window::WindowCounts]) -> Vec<CountRow> {
    let mut rows: Vec<CountRow> = windows
        .iter()
        .flat_map(|w| {
            w.counts.iter().map(|(h, c)| CountRow {
                start: w.start,
                end: w.end,
                hashtag: h.clone(),
                count: *c,
            })
        })
        .collect();
    rows.sort();
    rows
}

/// Micro-batches of messages from `(hashtag, event time in seconds)` pairs, one inner
/// slice per batch: the shortest way to write a timeline in a notebook cell.
///
/// ```
/// use helpers::core::replay::batches;
/// let b = batches(&[&[("#Spark", 1733940130.0)], &[], &[("#IA", 1733940050.0)]]);
/// assert_eq!(b.len(), 3);
/// assert!(b[1].is_empty());
/// ```
pub fn batches(events: &[&[(&str, f64)]]) -> Vec<Vec<Vec<u8>>> {
    events
        .iter()
        .map(|batch| {
            batch
                .iter()
                .map(|(tag, t)| {
                    serde_json::json!({
                        "usuario": "@DataFan",
                        "texto": format!("proyecto sobre {tag}"),
                        "hashtag_principal": tag,
                        "timestamp": t,
                    })
                    .to_string()
                    .into_bytes()
                })
                .collect()
        })
        .collect()
}

/// What a list of micro-batches did in the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replay {
    /// The snapshot of each trigger, one per batch (then one per extra idle trigger).
    pub snapshots: Vec<Snapshot>,
    /// The final count of every (window, hashtag): the windows closed along the way, then
    /// those still open after the last trigger.
    pub finals: Vec<CountRow>,
    /// Totals after the last trigger.
    pub totals: Totals,
}

/// Runs `batches` of raw messages (JSON events, one per message) through an engine with
/// `config`: every message of a batch is ingested, then the engine ticks once; then
/// `extra_ticks` idle triggers follow. Trigger `i` fires at `first_trigger + i × every`
/// (this is the processing time; event-time runs ignore it). Spark has no bound on future
/// timestamps, so neither has a replay ([`WindowConfig::max_future`] is set to `None`).
pub fn replay<M: AsRef<[u8]>>(
    config: WindowConfig,
    batches: &[Vec<M>],
    extra_ticks: usize,
    first_trigger: Timestamp,
    every: std::time::Duration,
) -> Result<Replay, Error> {
    let mut engine = WindowEngine::new(config.with_max_future(None))?;
    let step = crate::core::time::duration_micros(every);
    let mut snapshots = Vec::new();
    let empty: Vec<M> = Vec::new();
    let all = batches
        .iter()
        .chain(std::iter::repeat_n(&empty, extra_ticks));
    for (i, batch) in all.enumerate() {
        let now = Timestamp(first_trigger.micros() + i as i64 * step);
        for m in batch {
            engine.ingest_raw(m.as_ref(), now);
        }
        snapshots.push(engine.tick(now));
    }
    let mut finals: Vec<CountRow> = snapshots
        .iter()
        .flat_map(|s| count_rows(&s.closed))
        .collect();
    if let Some(last) = snapshots.last() {
        finals.extend(count_rows(&last.windows));
    }
    finals.sort();
    Ok(Replay {
        totals: engine.totals(),
        snapshots,
        finals,
    })
}

/// One (window, hashtag) whose final count depends on the late-data rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDifference {
    /// The window's first moment.
    pub start: Timestamp,
    /// The first moment after the window.
    pub end: Timestamp,
    /// The hashtag.
    pub hashtag: String,
    /// Final count under [`LateRule::SparkWindowEnd`] (0: absent).
    pub spark: u64,
    /// Final count under [`LateRule::PerEvent`] (0: absent).
    pub per_event: u64,
}

/// The same batches under both late-data rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleComparison {
    /// The run with Spark's rule.
    pub spark: Replay,
    /// The run with the per-event rule.
    pub per_event: Replay,
    /// Every (window, hashtag) whose final count differs, in window order.
    pub differences: Vec<RuleDifference>,
}

/// Runs `batches` (see [`replay`]) under each late-data rule, with `config`'s other
/// settings, and lists the counts that differ.
pub fn compare_rules<M: AsRef<[u8]>>(
    config: &WindowConfig,
    batches: &[Vec<M>],
) -> Result<RuleComparison, Error> {
    let run = |rule| {
        replay(
            config.clone().with_late_rule(rule),
            batches,
            0,
            Timestamp(0),
            std::time::Duration::from_secs(10),
        )
    };
    let spark = run(LateRule::SparkWindowEnd)?;
    let per_event = run(LateRule::PerEvent)?;
    type Key = (Timestamp, Timestamp, String);
    let mut both: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
    for r in &spark.finals {
        both.entry((r.start, r.end, r.hashtag.clone()))
            .or_default()
            .0 = r.count;
    }
    for r in &per_event.finals {
        both.entry((r.start, r.end, r.hashtag.clone()))
            .or_default()
            .1 = r.count;
    }
    let differences = both
        .into_iter()
        .filter(|(_, (a, b))| a != b)
        .map(
            |((start, end, hashtag), (spark, per_event))| RuleDifference {
                start,
                end,
                hashtag,
                spark,
                per_event,
            },
        )
        .collect();
    Ok(RuleComparison {
        spark,
        per_event,
        differences,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::TimeDomain;
    use std::time::Duration;

    fn msg(tag: &str, t: f64) -> Vec<u8> {
        format!(r#"{{"usuario":"@u","texto":"","hashtag_principal":"{tag}","timestamp":{t}}}"#)
            .into_bytes()
    }

    #[test]
    fn rules_differ_on_a_row_behind_the_watermark_whose_window_is_still_open() {
        let t0 = 1_733_940_000.0;
        let mut batches = batches(&[
            &[("#Spark", t0 + 130.0)],
            &[("#IA", t0 + 50.0)],
            &[("#IA", t0 + 40.0)],
        ]);
        batches[1].push(b"not json".to_vec());
        let config =
            WindowConfig::tumbling(Duration::from_secs(60)).with_time_domain(TimeDomain::EventTime);
        let c = compare_rules(&config, &batches).unwrap();
        assert_eq!(c.spark.snapshots.len(), 3);
        assert_eq!(
            c.differences,
            vec![RuleDifference {
                start: Timestamp::from_secs_f64(t0),
                end: Timestamp::from_secs_f64(t0 + 60.0),
                hashtag: "#IA".into(),
                spark: 1,
                per_event: 0,
            }]
        );
        assert_eq!((c.spark.totals.late, c.per_event.totals.late), (1, 2));
        assert_eq!(c.spark.totals.rejected.total(), 1);
        // Finals: closed windows plus the ones still open, each (window, hashtag) once.
        assert_eq!(c.spark.finals.len(), 2);
        assert_eq!(c.per_event.finals.len(), 1);
    }

    #[test]
    fn extra_ticks_close_what_the_last_watermark_passed() {
        let batches = vec![vec![msg("#a", 10.0)], vec![msg("#a", 200.0)]];
        let config =
            WindowConfig::tumbling(Duration::from_secs(60)).with_time_domain(TimeDomain::EventTime);
        let r = replay(config, &batches, 1, Timestamp(0), Duration::from_secs(1)).unwrap();
        assert_eq!(r.snapshots.len(), 3);
        // Watermark 140 after the second batch; the idle trigger closes [0, 60).
        assert_eq!(count_rows(&r.snapshots[2].closed).len(), 1);
        assert!(r.snapshots[1].closed.is_empty());
        assert_eq!(r.finals.len(), 2);
    }
}
