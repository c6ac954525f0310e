//! The lesson on late data and output modes: small, fixed timelines (one micro-batch per
//! trigger, as Spark runs them) through the window engine, shown event by event.
//!
//! * [`show_timeline`]: a few events through tumbling and sliding windows, event by event.
//! * [`show_late_data`]: each event under Spark's rule and under the per-event rule: counted,
//!   or dropped, and why (which watermark judged it, where its window ends).
//! * [`show_output_modes`]: one trigger as Spark's `update`, `complete` and `append` output
//!   modes would write it.
//! * [`at`]: a time of day on the demo's day, so cells can write `at("18:00:50")`.
//! * [`check_late_event`], [`check_watermark_delay`], [`check_append_trigger`]: the
//!   lesson's exercises 1 to 3, checked: right, or a hint computed by the engine.

use std::time::Duration;

use crate::core::config::{LateRule, OutputMode, TimeDomain, WindowConfig};
use crate::core::event::{decode, Event};
use crate::core::lang::tr;
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
        // The lesson's timelines are on the demo's day, in the past of any clock.
        .with_max_future(None)
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
        .map(|((event, s), (_, p))| {
            (
                event.clone(),
                format!("Spark: {s} · {}: {p}", tr("per-event", "por evento")),
            )
        })
        .collect();
    let events = table::show(
        &table::two_columns(
            (
                tr("trigger · event", "disparador · evento"),
                tr("what each rule does", "qué hace cada regla"),
            ),
            &rows,
        )?,
        tr(
            "Late data, event by event (60 s windows, 60 s watermark delay, event time)",
            "Datos tardíos, evento a evento (ventanas de 60 s, margen de 60 s, tiempo de evento)",
        ),
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
                "{} {} · {} {} {}",
                tr("trigger", "disparador"),
                i + 1,
                event.hashtag_principal,
                tr("at", "a las"),
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
        return tr(
            "counted (no judging watermark yet)",
            "contado (todavía no hay marca de agua de descarte)",
        )
        .into();
    };
    let (counted, why) = match rule {
        LateRule::SparkWindowEnd => (
            matches!(o, Outcome::Counted(_)),
            format!(
                "{} {}, {} {}",
                tr("its window ends at", "su ventana termina a las"),
                end.clock(),
                tr("judging watermark", "marca de agua de descarte"),
                w.clock()
            ),
        ),
        LateRule::PerEvent => (
            matches!(o, Outcome::Counted(_)),
            format!(
                "{} {}, {} {}",
                tr("event time", "tiempo de evento"),
                t.clock(),
                tr("newest watermark", "marca de agua más reciente"),
                w.clock()
            ),
        ),
    };
    let verb = if counted {
        tr("counted", "contado")
    } else {
        tr("LATE, dropped", "TARDÍO, descartado")
    };
    format!("{verb} ({why})")
}

/// The final counts of `batches` under each rule, where they differ.
fn finals(batches: &[&[(&str, f64)]]) -> Result<Html> {
    let cmp = crate::core::replay::compare_rules(&original_job(), &to_messages(batches))?;
    let rows: Vec<(String, String)> = if cmp.differences.is_empty() {
        vec![(
            tr("(every window)", "(todas las ventanas)").into(),
            tr("the two rules agree", "las dos reglas coinciden").into(),
        )]
    } else {
        cmp.differences
            .iter()
            .map(|d| {
                (
                    format!("[{}, {}) {}", d.start.clock(), d.end.clock(), d.hashtag),
                    format!(
                        "Spark: {} · {}: {}",
                        d.spark,
                        tr("per-event", "por evento"),
                        d.per_event
                    ),
                )
            })
            .collect()
    };
    Ok(table::show(
        &table::two_columns(
            (
                tr("window · hashtag", "ventana · hashtag"),
                tr("final count", "recuento final"),
            ),
            &rows,
        )?,
        tr(
            "Where the two rules end with different counts",
            "Dónde acaban las dos reglas con recuentos distintos",
        ),
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
            rows.push((tr("(nothing)", "(nada)").into(), String::new()));
        }
        Ok(table::show(
            &table::two_columns(
                (
                    tr("window", "ventana"),
                    tr("hashtag count", "hashtag recuento"),
                ),
                &rows,
            )?,
            name,
        ))
    };
    Ok(Html::concat([
        mode(
            &format!(
                "update ({} {trigger}): {}",
                tr("trigger", "disparador"),
                tr("windows changed now", "ventanas que cambian ahora")
            ),
            &snap.updated,
        )?,
        mode(
            &format!(
                "complete ({} {trigger}): {}",
                tr("trigger", "disparador"),
                tr("every window so far", "todas las ventanas hasta ahora")
            ),
            complete,
        )?,
        mode(
            &format!(
                "append ({} {trigger}): {}",
                tr("trigger", "disparador"),
                tr("windows final now", "ventanas definitivas ahora")
            ),
            &snap.closed,
        )?,
    ]))
}

/// The answer to an exercise, checked: right, or not yet with a hint computed from the
/// engine (never the answer itself). The data block says only whether it was right.
fn verdict_of(exercise: &str, right: bool, said: String) -> Html {
    let head = if right {
        tr("Right.", "Correcto.")
    } else {
        tr("Not yet.", "Todavía no.")
    };
    Html::preformatted(format!("{exercise}: {head}\n{said}")).with_data(
        "answer",
        &serde_json::json!({ "exercise": exercise, "right": right }),
    )
}

/// Whether `rule` counts `my_event` at `t` in the "your turn" timeline of the late-data
/// lesson: `#Spark` at 18:02:10, then `#Spark` at 18:03:30, then `my_event`, one batch
/// each.
fn counts_my_event(rule: LateRule, t: f64) -> Result<bool> {
    let spark = [("#Spark", at("18:02:10")?)];
    let later = [("#Spark", at("18:03:30")?)];
    let mine = [("#IA", t)];
    // Judged in English whatever the labels' language: the verdict's first word decides.
    let verdicts = crate::core::lang::with(crate::core::lang::Lang::En, || {
        judge(&[&spark, &later, &mine], rule)
    })?;
    Ok(verdicts
        .last()
        .is_some_and(|(_, v)| v.starts_with("counted")))
}

/// Lesson 1, exercise 1, checked: `spark_from` is the earliest time of `my_event` (to the
/// second) that Spark's rule counts, `per_event_from` the earliest the per-event rule
/// counts. Each is judged by running the engine at that time and one second before.
pub fn check_late_event(spark_from: f64, per_event_from: f64) -> Result<Html> {
    let mut right = true;
    let mut said = Vec::new();
    for (rule, name, t) in [
        (
            LateRule::SparkWindowEnd,
            tr("Spark's rule", "La regla de Spark"),
            spark_from,
        ),
        (
            LateRule::PerEvent,
            tr("The per-event rule", "La regla por evento"),
            per_event_from,
        ),
    ] {
        let clock = Timestamp::from_secs_f64(t).clock();
        let (now, before) = (counts_my_event(rule, t)?, counts_my_event(rule, t - 1.0)?);
        let line = match (now, before) {
            (true, false) => format!(
                "{name}: {clock} {}",
                tr(
                    "is the earliest time it counts",
                    "es la hora más temprana que cuenta"
                )
            ),
            (true, true) => {
                format!(
                    "{name} {} {clock} {}",
                    tr(
                        "counts an event one second before",
                        "cuenta también un evento un segundo antes de las"
                    ),
                    tr("too: try earlier", "prueba antes")
                )
            }
            (false, _) => format!(
                "{name} {} {clock}: {}",
                tr(
                    "still drops an event at",
                    "todavía descarta un evento a las"
                ),
                tr("try later", "prueba más tarde")
            ),
        };
        right &= now && !before;
        said.push(line);
    }
    Ok(verdict_of(
        tr("Exercise 1", "Ejercicio 1"),
        right,
        said.join("\n"),
    ))
}

/// Lesson 1, exercise 3, checked: the trigger at which `append` writes the `#Spark` window
/// `[18:02, 18:03)` when the late-data batches are followed by `#IA` at 18:04:00 and an
/// empty batch (found by replaying them through the engine).
pub fn check_append_trigger(trigger: usize) -> Result<Html> {
    let batches: [&[(&str, f64)]; 5] = [
        &[("#Spark", at("18:02:10")?)],
        &[("#IA", at("18:00:50")?)],
        &[("#IA", at("18:00:40")?)],
        &[("#IA", at("18:04:00")?)],
        &[],
    ];
    let run = replay(
        original_job(),
        &to_messages(&batches),
        0,
        Timestamp(0),
        Duration::from_secs(10),
    )?;
    let start = Timestamp::from_secs_f64(at("18:02:00")?);
    let writes = |i: usize| {
        run.snapshots.get(i.wrapping_sub(1)).is_some_and(|s| {
            s.closed
                .iter()
                .any(|w| w.start == start && w.count("#Spark") > 0)
        })
    };
    let closing = |i: usize| {
        run.snapshots
            .get(i.wrapping_sub(1))
            .and_then(|s| s.metrics.closing_watermark)
            .map_or(tr("none yet", "ninguna todavía").into(), |w| w.clock())
    };
    let first = (1..=run.snapshots.len()).find(|i| writes(*i));
    let right = first == Some(trigger);
    let said = if trigger == 0 || trigger > run.snapshots.len() {
        format!(
            "{} {}",
            tr("Choose a trigger from 1 to", "Elige un disparador del 1 al"),
            run.snapshots.len()
        )
    } else if right {
        format!(
            "{} {trigger}, {} ({}) {}",
            tr(
                "Append writes #Spark 1 at trigger",
                "Append escribe #Spark 1 en el disparador"
            ),
            tr(
                "when the closing watermark",
                "cuando la marca de agua de cierre"
            ),
            closing(trigger),
            tr("reaches the window's end", "llega al final de la ventana")
        )
    } else if first.is_some_and(|f| trigger < f) {
        format!(
            "{} {trigger} {} {}: {}",
            tr("At trigger", "En el disparador"),
            tr("the closing watermark is", "la marca de agua de cierre es"),
            closing(trigger),
            tr(
                "the window [18:02, 18:03) is not final yet; try later",
                "la ventana [18:02, 18:03) todavía no es definitiva; prueba más tarde"
            )
        )
    } else {
        format!(
            "{} {trigger} {}",
            tr("At trigger", "En el disparador"),
            tr(
                "the window was already written: try earlier",
                "la ventana ya estaba escrita: prueba antes"
            )
        )
    };
    Ok(verdict_of(tr("Exercise 3", "Ejercicio 3"), right, said))
}

/// Late events lost, out of the late events sent, with a watermark delay of `delay` s:
/// a synthetic stream through the classroom's windows (60 s sliding every 10 s, event
/// time, a trigger every 10 s), two events a second for ten minutes, every tenth stamped
/// 0 to 120 s in the past (evenly spread).
fn late_lost(delay: u64) -> Result<(u64, u64)> {
    let cfg = WindowConfig::sliding(Duration::from_secs(60), Duration::from_secs(10))
        .with_watermark(Duration::from_secs(delay))
        .with_time_domain(TimeDomain::EventTime);
    let mut e = WindowEngine::new(cfg)?;
    let t0 = at("18:00:00")?;
    let (mut sent, mut lost) = (0, 0);
    for i in 0..1200u64 {
        let now = t0 + i as f64 * 0.5;
        let late = i % 10 == 9;
        let lateness = if late { (i / 10 % 121) as f64 } else { 0.0 };
        let ev = Event {
            usuario: "@DataFan".into(),
            texto: "".into(),
            hashtag_principal: "#Spark".into(),
            timestamp: now - lateness,
        };
        let outcome = e.ingest(&ev, Timestamp::from_secs_f64(now));
        // After the first two minutes, once the watermark runs.
        if late && i >= 240 {
            sent += 1;
            lost += u64::from(matches!(outcome, Outcome::Late));
        }
        if i % 20 == 19 {
            e.tick(Timestamp::from_secs_f64(now));
        }
    }
    Ok((lost, sent))
}

/// Lesson 1, exercise 2, checked: the shortest watermark delay, of 10, 60 and 120 s, that
/// loses no late event when events are up to 120 s late (found by running each through
/// the engine).
pub fn check_watermark_delay(delay: Duration) -> Result<Html> {
    let secs = delay.as_secs();
    if ![10, 60, 120].contains(&secs) {
        return Ok(verdict_of(
            tr("Exercise 2", "Ejercicio 2"),
            false,
            tr(
                "Choose 10, 60 or 120 seconds",
                "Elige 10, 60 o 120 segundos",
            )
            .into(),
        ));
    }
    let mut answer = None;
    for d in [10, 60, 120] {
        if late_lost(d)?.0 == 0 {
            answer = Some(d);
            break;
        }
    }
    let (lost, sent) = late_lost(secs)?;
    let right = answer == Some(secs);
    let said = if right {
        format!(
            "{} {secs} s {} ({} {sent}); {}",
            tr("With", "Con"),
            tr("no late event is lost", "no se pierde ningún evento tardío"),
            tr("of", "de"),
            tr("with less, some are", "con menos, algunos sí")
        )
    } else if lost > 0 {
        format!(
            "{} {secs} s, {lost} {} {sent} {}: {}",
            tr("With", "Con"),
            tr("of", "de"),
            tr("late events are lost", "eventos tardíos se pierden"),
            tr("try longer", "prueba con más")
        )
    } else {
        format!(
            "{} {secs} s {}",
            tr("With", "Con"),
            tr(
                "nothing is lost, but a shorter delay loses nothing either: try shorter",
                "no se pierde nada, pero con un margen más corto tampoco: prueba con menos"
            )
        )
    };
    Ok(verdict_of(tr("Exercise 2", "Ejercicio 2"), right, said))
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
            tr("Tumbling 60 s", "Fijas de 60 s"),
            WindowConfig::tumbling(Duration::from_secs(60)),
        ),
        (
            tr("Sliding 60 s every 30 s", "Deslizantes de 60 s cada 30 s"),
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
                    tr("event", "evento"),
                    tr("judging watermark", "marca de agua de descarte"),
                    tr("outcome", "resultado"),
                    tr("closing watermark", "marca de agua de cierre"),
                    tr("new watermark", "marca de agua nueva"),
                ],
                &log,
            )?,
            &format!(
                "{name}: {}",
                tr(
                    "one trigger after each event",
                    "un disparador después de cada evento"
                )
            ),
        ));
        out.push(table::show(
            &table::two_columns((tr("window", "ventana"), tr("counts", "recuentos")), &rows)?,
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
        let clock = |w: Option<Timestamp>| {
            w.map_or(tr("none yet", "ninguna todavía").into(), |w| w.clock())
        };
        let m = &snap.metrics;
        log.push(vec![
            format!(
                "{} {tag} {} {}",
                i + 1,
                tr("at", "a las"),
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
        .map(|w| (w, tr("closed", "cerrada")))
        .chain(snap.windows.iter().map(|w| (w, tr("open", "abierta"))))
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
    fn a_spanish_class_reads_spanish_labels_and_the_same_verdicts() {
        use crate::core::lang::{with, Lang};
        let es = with(Lang::Es, || show_timeline().unwrap());
        for word in [
            "marca de agua de descarte",
            "contado en 1 ventana",
            "Fijas de 60 s",
        ] {
            assert!(es.text.contains(word), "{word}: {}", es.text);
        }
        assert!(!es.text.contains("judging watermark"), "{}", es.text);
        // The checks decide in any language; only their words change.
        let t = |c: &str| at(c).unwrap();
        let right = with(Lang::Es, || {
            check_late_event(t("18:01:00"), t("18:02:30")).unwrap()
        });
        assert!(right.text.contains("Correcto."), "{}", right.text);
        assert!(right.markup.contains(r#""right":true"#));
    }

    #[test]
    fn the_exercises_check_answers_against_the_engine() {
        let right = |h: &Html| h.text.contains("Right.");
        let t = |c: &str| at(c).unwrap();
        assert!(right(
            &check_late_event(t("18:01:00"), t("18:02:30")).unwrap()
        ));
        let wrong = check_late_event(t("18:00:59"), t("18:02:31")).unwrap();
        assert!(!right(&wrong), "{}", wrong.text);
        assert!(
            wrong.text.contains("try later") && wrong.text.contains("try earlier"),
            "{}",
            wrong.text
        );
        assert!(
            wrong.markup.contains(r#""right":false"#),
            "{}",
            wrong.markup
        );
        assert!(right(&check_append_trigger(5).unwrap()));
        assert!(check_append_trigger(4).unwrap().text.contains("try later"));
        assert!(check_append_trigger(9)
            .unwrap()
            .text
            .contains("Choose a trigger"));
        let lost: Vec<(u64, u64)> = [10, 60, 120]
            .iter()
            .map(|d| late_lost(*d).unwrap())
            .collect();
        eprintln!("late lost with 10, 60, 120 s: {lost:?}");
        // A longer delay never loses more; the shortest delay: the smallest that loses none.
        assert!(
            lost[0].0 > lost[1].0 && lost[1].0 >= lost[2].0 && lost[2].0 == 0,
            "{lost:?}"
        );
        let shortest = [10, 60, 120][lost.iter().position(|l| l.0 == 0).unwrap()];
        assert!(right(
            &check_watermark_delay(Duration::from_secs(shortest)).unwrap()
        ));
        assert!(check_watermark_delay(Duration::from_secs(10))
            .unwrap()
            .text
            .contains("try longer"));
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
