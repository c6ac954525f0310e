//! The lesson on late data and output modes: small, fixed timelines (one micro-batch per
//! trigger, as Spark runs them) through the window engine, shown event by event.
//!
//! * [`show_timeline`]: a few events through tumbling and sliding windows, event by event.
//! * [`show_late_data`]: each event under Spark's rule and under the per-event rule: counted,
//!   or dropped, and why (which watermark judged it, where its window ends).
//! * [`show_output_modes`]: one trigger as Spark's `update`, `complete` and `append` output
//!   modes would write it.
//! * [`at`]: a time of day on the demo's day, so cells can write `at("18:00:50")`.

use std::time::Duration;

use crate::core::config::{LateRule, OutputMode, TimeDomain, WindowConfig};
use crate::core::event::{decode, Event};
use crate::core::replay::{batches as to_messages, replay};
use crate::core::time::Timestamp;
use crate::core::window::{Outcome, WindowCounts, WindowEngine};
use crate::error::{Error, Result};
use crate::views::html::Html;
use crate::views::table;

/// Midnight (UTC) of the demo's day, 2024-12-11: the original project's timestamps.
const DEMO_DAY: f64 = 1_733_875_200.0;

/// The original job's windows: 60 s tumbling, 60 s watermark delay, in event time.
fn original_job() -> WindowConfig {
    WindowConfig::tumbling(Duration::from_secs(60))
        .with_watermark(Duration::from_secs(60))
        .with_time_domain(TimeDomain::EventTime)
}

/// Seconds since 1970 of a time of day (`"18:00:50"`, UTC) on the demo's day.
pub fn at(clock: &str) -> Result<f64> {
    let parts: Vec<Option<f64>> = clock.split(':').map(|p| p.trim().parse().ok()).collect();
    match parts.as_slice() {
        [Some(h), Some(m), Some(s)]
            if (0.0..24.0).contains(h) && (0.0..60.0).contains(m) && (0.0..60.0).contains(s) =>
        {
            Ok(DEMO_DAY + h * 3600.0 + m * 60.0 + s)
        }
        _ => Err(Error::config(
            "time of day",
            format!("{clock:?}"),
            "write hours:minutes:seconds, e.g. \"18:00:50\"",
        )),
    }
}

/// Each event of `batches` (one micro-batch per trigger; `(hashtag, event time)`) under
/// Spark's late-data rule and under the per-event rule, in the original job's windows
/// (60 s tumbling, 60 s watermark delay, event time); then the final counts where the
/// rules disagree.
pub fn show_late_data(batches: &[&[(&str, f64)]]) -> Result<Html> {
    let spark = judge(batches, LateRule::SparkWindowEnd)?;
    let per_event = judge(batches, LateRule::PerEvent)?;
    let rows: Vec<(String, String)> = spark
        .iter()
        .zip(&per_event)
        .map(|((event, s), (_, p))| (event.clone(), format!("Spark: {s} · per-event: {p}")))
        .collect();
    let events = table::show(
        &table::two_columns(("trigger · event", "what each rule does"), &rows)?,
        "Late data, event by event (60 s windows, 60 s watermark delay, event time)",
    );
    Ok(Html::concat([events, finals(batches)?]))
}

/// What `rule` does with each event: `("trigger N · #tag at hh:mm:ss", verdict)`.
fn judge(batches: &[&[(&str, f64)]], rule: LateRule) -> Result<Vec<(String, String)>> {
    let mut engine = WindowEngine::new(original_job().with_late_rule(rule))?;
    let mut out = Vec::new();
    for (i, batch) in to_messages(batches).iter().enumerate() {
        let now = Timestamp::from_secs(i as i64 * 10);
        for message in batch {
            let event = decode(message).map_err(|r| Error::View {
                what: "the late-data lesson".into(),
                detail: format!("an event did not decode: {r:?}"),
            })?;
            let t = Timestamp::from_secs_f64(event.timestamp);
            let judged_by = engine.late_watermark();
            let outcome = engine.ingest(&event, now);
            let verdict = verdict(rule, t, judged_by, outcome);
            let name = format!(
                "trigger {} · {} at {}",
                i + 1,
                event.hashtag_principal,
                t.clock()
            );
            out.push((name, verdict));
        }
        engine.tick(now);
    }
    Ok(out)
}

/// Why an event was counted or dropped, in one phrase.
fn verdict(rule: LateRule, t: Timestamp, judged_by: Option<Timestamp>, o: Outcome) -> String {
    let end = Timestamp((t.micros().div_euclid(60_000_000) + 1) * 60_000_000);
    let Some(w) = judged_by else {
        return "counted (no judging watermark yet)".into();
    };
    let (counted, why) = match rule {
        LateRule::SparkWindowEnd => (
            matches!(o, Outcome::Counted(_)),
            format!(
                "its window ends at {}, judging watermark {}",
                end.clock(),
                w.clock()
            ),
        ),
        LateRule::PerEvent => (
            matches!(o, Outcome::Counted(_)),
            format!("event time {}, newest watermark {}", t.clock(), w.clock()),
        ),
    };
    let verb = if counted { "counted" } else { "LATE, dropped" };
    format!("{verb} ({why})")
}

/// The final counts of `batches` under each rule, where they differ.
fn finals(batches: &[&[(&str, f64)]]) -> Result<Html> {
    let cmp = crate::core::replay::compare_rules(&original_job(), &to_messages(batches))?;
    let rows: Vec<(String, String)> = if cmp.differences.is_empty() {
        vec![("(every window)".into(), "the two rules agree".into())]
    } else {
        cmp.differences
            .iter()
            .map(|d| {
                (
                    format!("[{}, {}) {}", d.start.clock(), d.end.clock(), d.hashtag),
                    format!("Spark: {} · per-event: {}", d.spark, d.per_event),
                )
            })
            .collect()
    };
    Ok(table::show(
        &table::two_columns(("window · hashtag", "final count"), &rows)?,
        "Where the two rules end with different counts",
    ))
}

/// Trigger `trigger` (from 1) of `batches` through the original job's windows (Spark's
/// rule), as each output mode would write it: `update` (the windows this trigger
/// changed; what the original job used), `complete` (every window so far, from an engine
/// in [`OutputMode::Complete`]: like Spark, it keeps every window and applies no
/// watermark filter, so a late row is counted there) and `append` (windows the watermark
/// has just made final, written once).
pub fn show_output_modes(batches: &[&[(&str, f64)]], trigger: usize) -> Result<Html> {
    let run_in = |mode: OutputMode| {
        replay(
            original_job().with_output_mode(mode),
            &to_messages(batches),
            0,
            Timestamp(0),
            Duration::from_secs(10),
        )
    };
    let run = run_in(OutputMode::Update)?;
    let index = trigger
        .checked_sub(1)
        .filter(|i| *i < run.snapshots.len())
        .ok_or_else(|| {
            Error::config(
                "trigger",
                trigger,
                &format!("use 1 to {} (one per batch)", run.snapshots.len()),
            )
        })?;
    let snap = &run.snapshots[index];
    let complete = &run_in(OutputMode::Complete)?.snapshots[index].windows;
    let mode = |name: &str, windows: &[WindowCounts]| -> Result<Html> {
        let mut rows: Vec<(String, String)> = windows
            .iter()
            .flat_map(|w| {
                w.counts.iter().map(move |(h, c)| {
                    (
                        format!("[{}, {})", w.start.clock(), w.end.clock()),
                        format!("{h} {c}"),
                    )
                })
            })
            .collect();
        if rows.is_empty() {
            rows.push(("(nothing)".into(), String::new()));
        }
        Ok(table::show(
            &table::two_columns(("window", "hashtag count"), &rows)?,
            name,
        ))
    };
    Ok(Html::concat([
        mode(
            &format!("update (trigger {trigger}): windows changed now"),
            &snap.updated,
        )?,
        mode(
            &format!("complete (trigger {trigger}): every window so far"),
            complete,
        )?,
        mode(
            &format!("append (trigger {trigger}): windows final now"),
            &snap.closed,
        )?,
    ]))
}

/// A small, fixed timeline through the window engine, for the lesson on windows: the same
/// events in tumbling and sliding windows, in event time, with one event far behind the
/// watermark (late under [`crate::core::config::LateRule::PerEvent`]; Spark's rule, the default,
/// still counts it: its window ends after the previous trigger's watermark).
pub fn show_timeline() -> Result<Html> {
    let t0 = 1_733_940_000.0; // 18:00:00 UTC
    let events = [
        ("#Spark", 5.0),
        ("#IA", 42.0),
        ("#Spark", 59.999),
        ("#Spark", 60.0),
        ("#IA", 75.0),
        ("#Spark", 130.0),
        ("#IA", 20.0), // arrives last, 110 s behind the newest event: see the doc comment
    ];
    let mut out = Vec::new();
    for (name, cfg) in [
        (
            "Tumbling 60 s",
            WindowConfig::tumbling(Duration::from_secs(60)),
        ),
        (
            "Sliding 60 s every 30 s",
            WindowConfig::sliding(Duration::from_secs(60), Duration::from_secs(30)),
        ),
    ] {
        let cfg = cfg
            .with_watermark(Duration::from_secs(60))
            .with_time_domain(TimeDomain::EventTime);
        let (log, rows) = timeline(cfg, t0, &events)?;
        out.push(table::show(
            &table::text_columns(
                &[
                    "event",
                    "judging watermark",
                    "outcome",
                    "closing watermark",
                    "new watermark",
                ],
                &log,
            )?,
            &format!("{name}: one trigger after each event"),
        ));
        out.push(table::show(
            &table::two_columns(("window", "counts"), &rows)?,
            name,
        ));
    }
    Ok(Html::concat(out))
}

/// `(window, counts)` rows of a two-column table.
type Rows = Vec<(String, String)>;

/// Runs `events` (hashtag, seconds after `t0`) through an engine, a trigger after each:
/// a row per event (the event, the judging watermark it met, what happened to it, then
/// the closing and the new watermark of its trigger), and a `(window, counts)` row per
/// window, closed or open.
fn timeline(
    cfg: WindowConfig,
    t0: f64,
    events: &[(&str, f64)],
) -> Result<(Vec<Vec<String>>, Rows)> {
    let mut e = WindowEngine::new(cfg)?;
    let mut log = Vec::new();
    let mut finals = Vec::new();
    for (i, (tag, dt)) in events.iter().enumerate() {
        let ev = Event {
            usuario: "@DataFan".into(),
            texto: "".into(),
            hashtag_principal: (*tag).into(),
            timestamp: t0 + dt,
        };
        let outcome = e.ingest(&ev, Timestamp::from_secs_f64(t0 + dt));
        // A trigger after every event, so the watermark moves as in a live stream.
        let snap = e.tick(Timestamp::from_secs_f64(t0 + 200.0));
        finals.extend(snap.closed.clone());
        let clock = |w: Option<Timestamp>| w.map_or("none yet".into(), |w| w.clock());
        let m = &snap.metrics;
        log.push(vec![
            format!(
                "{} {tag} at {}",
                i + 1,
                Timestamp::from_secs_f64(t0 + dt).clock()
            ),
            clock(m.judging_watermark),
            outcome.to_string(),
            clock(m.closing_watermark),
            clock(m.watermark),
        ]);
    }
    let snap = e.tick(Timestamp::from_secs_f64(t0 + 200.0));
    let rows = finals
        .iter()
        .map(|w| (w, "closed"))
        .chain(snap.windows.iter().map(|w| (w, "open")))
        .map(|(w, state)| {
            let counts: Vec<String> = w.counts.iter().map(|(h, c)| format!("{h} {c}")).collect();
            (
                format!("[{}, {}) {state}", w.start.clock(), w.end.clock()),
                counts.join(", "),
            )
        })
        .collect();
    Ok((log, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of `core::window`'s docs.
    fn example() -> [Vec<(&'static str, f64)>; 3] {
        [
            vec![("#Spark", at("18:02:10").unwrap())],
            vec![("#IA", at("18:00:50").unwrap())],
            vec![("#IA", at("18:00:40").unwrap())],
        ]
    }

    #[test]
    fn times_of_day_are_on_the_demo_day() {
        assert_eq!(at("18:00:00").unwrap(), 1_733_940_000.0);
        assert!(at("25:00:00").is_err() && at("18:00").is_err() && at("x").is_err());
    }

    #[test]
    fn the_worked_example_is_judged_as_the_docs_say() {
        let e = example();
        let b: Vec<&[(&str, f64)]> = e.iter().map(Vec::as_slice).collect();
        let spark = judge(&b, LateRule::SparkWindowEnd).unwrap();
        let per_event = judge(&b, LateRule::PerEvent).unwrap();
        let verdicts = |v: &[(String, String)]| -> Vec<bool> {
            v.iter().map(|(_, s)| s.starts_with("counted")).collect()
        };
        assert_eq!(verdicts(&spark), [true, true, false]);
        assert_eq!(verdicts(&per_event), [true, false, false]);
        assert!(
            spark[2]
                .1
                .contains("ends at 18:01:00, judging watermark 18:01:10"),
            "{:?}",
            spark[2]
        );
        let html = show_late_data(&b).unwrap();
        assert!(
            html.text.contains("Spark: 1 · per-event: 0"),
            "{}",
            html.text
        );
    }

    #[test]
    fn the_timeline_shows_the_watermark_that_judged_each_event() {
        let cfg = WindowConfig::tumbling(Duration::from_secs(60))
            .with_watermark(Duration::from_secs(60))
            .with_time_domain(TimeDomain::EventTime);
        let t0 = 1_733_940_000.0;
        let events = [("#Spark", 75.0), ("#Spark", 130.0), ("#IA", 20.0)];
        let (log, _) = timeline(cfg, t0, &events).unwrap();
        // Event 3 (#IA at 18:00:20) is judged against trigger 1's new watermark
        // (18:01:15 - 60 s = 18:00:15): its window ends at 18:01:00, after that, so it
        // counts. Its trigger closes with trigger 2's new watermark, 18:01:10.
        assert_eq!(
            log[2],
            [
                "3 #IA at 18:00:20",
                "18:00:15",
                "counted in 1 window",
                "18:01:10",
                "18:01:10"
            ]
        );
        assert_eq!(log[0][1], "none yet");
        let html = show_timeline().unwrap();
        assert!(html.text.contains("judging watermark"), "{}", html.text);
    }

    #[test]
    fn output_modes_of_one_trigger() {
        let e = example();
        let b: Vec<&[(&str, f64)]> = e.iter().map(Vec::as_slice).collect();
        // Trigger 1: #Spark's window is new (update) and open: nothing is final yet.
        // Trigger 2: #IA is counted in [18:00, 18:01) (update), and that window is final
        // at once (append): its end is before the watermark of trigger 1, 18:01:10.
        // Trigger 3: the second #IA is late for update and append: nothing changes. Spark's
        // complete mode applies no watermark filter: it counts it (#IA 2).
        let t = |n| show_output_modes(&b, n).unwrap().text;
        let section = |t: &str, mode: &str| -> String {
            let start = t.find(mode).unwrap();
            t[start..].lines().take(5).collect::<Vec<_>>().join("\n")
        };
        let (t1, t2, t3) = (t(1), t(2), t(3));
        assert!(section(&t1, "update").contains("#Spark 1"), "{t1}");
        assert!(section(&t1, "append").contains("(nothing)"), "{t1}");
        assert!(section(&t2, "update").contains("#IA 1"), "{t2}");
        assert!(section(&t2, "append").contains("#IA 1"), "{t2}");
        assert!(section(&t3, "update").contains("(nothing)"), "{t3}");
        let complete = section(&t3, "complete");
        assert!(
            complete.contains("#IA 2") && complete.contains("#Spark 1"),
            "{t3}"
        );
        assert!(section(&t2, "complete").contains("#IA 1"), "{t2}");
        assert!(show_output_modes(&b, 4).is_err() && show_output_modes(&b, 0).is_err());
    }
}
