//! The stream's parts as a class sees them: the settings, the events, the producer's
//! counters, and the pipeline's trending window, charts, metrics and checkpoint.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::core::config::TimeDomain;
use crate::core::event::decode;
use crate::core::generator::Generator;
use crate::core::lang::{tr, yes_no};
use crate::core::time::Timestamp;
use crate::core::window::{Snapshot, OTHER};
use crate::error::{Error, Result};
use crate::kafka::checkpoint;
use crate::kafka::consumer::{Pipeline, PipelineConfig, StartFrom};
use crate::kafka::producer::{self, Producer, ProducerConfig, ProducerStats};
use crate::settings::{Environment, Settings};
use crate::sys::signal::Shutdown;
use crate::sys::wait::until;
use crate::views::chart::{time_svg, top_svg, totals_svg, trend_svg};
use crate::views::console::write_line;
use crate::views::dashboard::{dashboard, leaderboard, trend_windows, TOP, TREND_TOP};
use crate::views::html::Html;
use crate::views::table;

impl Settings {
    /// The settings as a table, and which Kafka Docker runs (`DOCKER_BROKERS`).
    pub fn show(&self) -> Result<Html> {
        let mut rows = self.rows();
        rows.extend(Environment::current().rows());
        Ok(table::show(
            &table::two_columns((tr("setting", "ajuste"), tr("value", "valor")), &rows)?,
            tr(
                "Settings (from environment variables)",
                "Configuración (de las variables de entorno)",
            ),
        ))
    }

    /// `n` sample events from the generator: the decoded fields and the JSON on the wire.
    pub fn show_events(&self, n: usize) -> Result<Html> {
        let mut g = Generator::new(self.producer()?.generator)?;
        let mut buf = Vec::new();
        let mut events = Vec::new();
        let now = Timestamp::now().as_secs_f64().floor();
        for i in 0..n {
            let d = g.next_json(now + i as f64, &mut buf);
            events.push((g.event(&d), String::from_utf8_lossy(&buf).into_owned()));
        }
        Ok(table::events_on_the_wire(&events))
    }

    /// Sends `n` more events with these settings, as fast as Kafka takes them, from this
    /// process (the producer's own loop, without a background process); returns its final
    /// counters once every event is acknowledged or failed.
    pub fn send_events(&self, n: u64) -> Result<ProducerStats> {
        let config = ProducerConfig {
            count: Some(n),
            rate: 0.0,
            ..self.producer()?
        };
        producer::run(&config, &Shutdown::new(), None)
    }

    /// A consumer-group name never used before (`class-<microseconds>`), for
    /// [`Settings::group_member`].
    pub fn new_group(&self) -> String {
        format!("class-{}", Timestamp::now().micros())
    }
}

/// Sets the language of every label the views write from now on (table headers and
/// captions, chart titles and axes, statuses): `"en"` or `"es"`. Each lesson's first cell
/// sets its own; data from the stream is never translated.
pub fn set_language(code: &str) -> Result<()> {
    crate::core::lang::set(code.parse()?);
    Ok(())
}

/// What the decoder says of each message: the event's hashtag, or why it is rejected.
pub fn show_decoded(messages: &[&[u8]]) -> Result<Html> {
    let rows: Vec<(String, String)> = messages
        .iter()
        .map(|m| {
            let outcome = match decode(m) {
                Ok(e) => format!(
                    "{}: {} {} {}",
                    tr("event", "evento"),
                    e.hashtag_principal,
                    tr("at", "a las"),
                    Timestamp::from_secs_f64(e.timestamp)
                ),
                Err(r) => format!("{}: {r}", tr("rejected", "rechazado")),
            };
            (String::from_utf8_lossy(m).into_owned(), outcome)
        })
        .collect();
    Ok(table::show(
        &table::two_columns(
            (tr("message", "mensaje"), tr("decoded", "decodificado")),
            &rows,
        )?,
        tr("The decoder", "El decodificador"),
    ))
}

impl Producer {
    /// The producer's counters, once the broker has acknowledged its first event (or after
    /// 10 s, whatever they are then).
    pub fn show(&self) -> Result<Html> {
        until(Duration::from_secs(10), Duration::from_millis(50), || {
            self.stats().acked > 0 || !self.is_running()
        });
        let s = self.stats();
        let mut rows = vec![
            ("pid".to_string(), self.pid().to_string()),
            (
                tr("running", "en marcha").to_string(),
                yes_no(self.is_running()).to_string(),
            ),
            (tr("sent", "enviados").to_string(), s.sent.to_string()),
            (
                tr("acknowledged", "confirmados").to_string(),
                s.acked.to_string(),
            ),
            (tr("failed", "fallidos").to_string(), s.failed.to_string()),
            (
                tr("rate (target)", "ritmo (objetivo)").to_string(),
                format!("{} {}", s.rate_target, tr("events/s", "eventos/s")),
            ),
            (
                tr("rate (measured)", "ritmo (medido)").to_string(),
                format!("{:.1} {}", s.rate_actual, tr("events/s", "eventos/s")),
            ),
        ];
        for (h, c) in s.hashtags.iter().zip(&s.acked_per_hashtag) {
            rows.push((
                format!("{} {h}", tr("acknowledged", "confirmados")),
                c.to_string(),
            ));
        }
        if let Some(e) = &s.last_error {
            rows.push((tr("last error", "último error").into(), e.clone()));
        }
        Ok(table::show(
            &table::key_values(&rows)?,
            tr("Producer", "Productor"),
        ))
    }
}

impl Pipeline {
    /// Waits up to `wait` for the consumer's first snapshot with data.
    fn snapshot_with_data(&self, wait: Duration) -> Result<Arc<Snapshot>> {
        self.wait_for(wait, |s| s.trending().is_some())
            .map_err(|_| {
                let st = self.status();
                Error::Timeout {
                    what: format!(
                        "the first counted event (consumer: {}, {} messages received); is the \
                     producer running?",
                        st.broker, st.consumed
                    ),
                    secs: wait.as_secs(),
                }
            })
    }

    /// Shows the stream for `duration`: a leaderboard line every `every` (these lines
    /// appear while the cell runs), then the dashboard of the last snapshot, the cell's
    /// lasting record.
    pub fn show_stream(&self, duration: Duration, every: Duration) -> Result<Html> {
        self.show_stream_to(&mut std::io::stdout(), duration, every)
    }

    /// [`Pipeline::show_stream`], writing its lines to `out`. Each line goes through
    /// [`crate::views::console::line()`]: data never writes evcxr's rich-output markers.
    pub fn show_stream_to(
        &self,
        out: &mut impl std::io::Write,
        duration: Duration,
        every: Duration,
    ) -> Result<Html> {
        let every = every.max(Duration::from_millis(100));
        self.follow(
            duration,
            every,
            || false,
            |s| {
                // A closed stdout (the cell was interrupted) must not stop the watch.
                let _ = write_line(out, &leaderboard(s));
                let _ = out.flush();
            },
        );
        let snap = self.snapshot_with_data(Duration::from_secs(30))?;
        dashboard(&snap, self.config().window.slide)
    }

    /// The trending window as a table (a Polars DataFrame shown as HTML).
    pub fn show_trending(&self) -> Result<Html> {
        let snap = self.snapshot_with_data(Duration::from_secs(60))?;
        let df = table::trending(&snap, self.config().window.slide, TOP)?;
        let w = snap.trending().expect("snapshot has data");
        let data = json!({
            "window": [w.start.micros(), w.end.micros()],
            "hashtags": w.counts.iter().take(TOP).map(|(h, c)| json!({ "hashtag": h, "count": c }))
                .collect::<Vec<_>>(),
        });
        Ok(table::show(
            &df,
            &format!(
                "{}: {} {}–{}",
                tr("Trending", "En tendencia"),
                tr("window", "ventana"),
                w.start.clock(),
                w.end.clock()
            ),
        )
        .with_data("trending", &data))
    }

    /// The trending window as a Polars DataFrame, to explore by hand.
    pub fn trending_frame(&self) -> Result<polars::prelude::DataFrame> {
        let snap = self.snapshot_with_data(Duration::from_secs(60))?;
        table::trending(&snap, self.config().window.slide, TOP)
    }

    /// The picture of time (an event-time consumer): each recent event's event time
    /// against its arrival, the watermark after each trigger as a line, late events
    /// marked, window boundaries drawn. A processing-time consumer has no such picture:
    /// every event's time *is* its arrival; it says so.
    pub fn show_time(&self) -> Result<Html> {
        let window = self.config().window.clone();
        if window.time_domain != TimeDomain::EventTime {
            return Ok(Html::preformatted(tr(
                "This consumer counts in processing time: each event's time is its arrival, \
                 so no event is ever late. Start one in event time \
                 (settings.event_time_pipeline()) to see the picture.",
                "Este consumidor cuenta en tiempo de procesamiento: la hora de cada evento es \
                 su llegada, así que ningún evento llega tarde. Arranca uno en tiempo de \
                 evento (settings.event_time_pipeline()) para ver la imagen.",
            )));
        }
        let arrivals = self.arrivals();
        let marks: Vec<(Timestamp, Timestamp)> = self
            .metrics()
            .iter()
            .filter_map(|m| m.watermark.map(|w| (m.at, w)))
            .collect();
        let overlap = (window.width.as_micros() / window.slide.as_micros().max(1)) as u32;
        let svg = time_svg(&arrivals, &marks, window.width, overlap)?;
        let count = |f: &dyn Fn(u32) -> bool| arrivals.iter().filter(|a| f(a.windows)).count();
        let data = json!({
            "events": arrivals.len(),
            "on_time": count(&|w| w >= overlap),
            "partly_late": count(&|w| w > 0 && w < overlap),
            "late": count(&|w| w == 0),
            "watermarks": marks.len(),
        });
        Ok(Html::new(svg, String::new()).with_data("time", &data))
    }

    /// The bar chart of the top hashtags now.
    pub fn show_top(&self) -> Result<Html> {
        let snap = self.snapshot_with_data(Duration::from_secs(60))?;
        let svg = top_svg(snap.trending(), TOP)?;
        Ok(Html::new(svg, leaderboard(&snap)))
    }

    /// The line chart of each hashtag's count per window.
    pub fn show_trend(&self) -> Result<Html> {
        let snap = self.snapshot_with_data(Duration::from_secs(60))?;
        let svg = trend_svg(&trend_windows(&snap), TREND_TOP)?;
        Ok(Html::new(svg, leaderboard(&snap)))
    }

    /// The per-trigger metrics (the last `last` triggers), and the totals since the start
    /// with the rejection reasons seen.
    pub fn show_metrics(&self, last: usize) -> Result<Html> {
        let rows = self.metrics();
        let from = rows.len().saturating_sub(last);
        let df = table::metrics(&rows[from..])?;
        let mut parts = vec![table::show(
            &df,
            tr(
                "Per-trigger metrics (like Spark's query progress)",
                "Métricas por disparador (como el progreso de una consulta de Spark)",
            ),
        )];
        if let Some(s) = self.snapshot() {
            let mut rows = vec![
                (
                    tr("messages in", "mensajes recibidos").to_string(),
                    s.totals.input.to_string(),
                ),
                (
                    tr("counted", "contados").to_string(),
                    s.totals.accepted.to_string(),
                ),
                (
                    tr(
                        "late (behind the watermark)",
                        "tardíos (detrás de la marca de agua)",
                    )
                    .to_string(),
                    s.totals.late.to_string(),
                ),
                (
                    tr("rejected", "rechazados").to_string(),
                    s.totals.rejected.total().to_string(),
                ),
            ];
            rows.extend(s.totals.rejected.nonzero().map(|(r, n)| {
                (
                    format!("{}: {r}", tr("rejected", "rechazados")),
                    n.to_string(),
                )
            }));
            if s.totals.overflow > 0 {
                rows.push((
                    format!(
                        "{} \"{OTHER}\" {}",
                        tr("counted as", "contados como"),
                        tr(
                            "(the state was full: too many distinct hashtags)",
                            "(el estado estaba lleno: demasiados hashtags distintos)"
                        )
                    ),
                    (s.totals.overflow - s.totals.unwindowed).to_string(),
                ));
            }
            rows.push((
                tr(
                    "window state in use, in rows [MAX_STATE_ROWS]",
                    "estado de las ventanas en uso, en filas [MAX_STATE_ROWS]",
                )
                .to_string(),
                format!(
                    "{} / {}",
                    s.metrics.state_rows,
                    self.config().window.max_state_rows
                ),
            ));
            if s.totals.unwindowed > 0 {
                rows.push((
                    tr(
                        "counted in the totals only (the state was full: no room for their window)",
                        "contados solo en los totales (el estado estaba lleno: sin sitio para su ventana)",
                    )
                    .to_string(),
                    s.totals.unwindowed.to_string(),
                ));
            }
            parts.push(table::show(
                &table::two_columns((tr("measure", "medida"), tr("value", "valor")), &rows)?,
                tr(
                    "Totals since the consumer started",
                    "Totales desde que arrancó el consumidor",
                ),
            ));
        }
        Ok(Html::concat(parts))
    }

    /// This consumer, which keeps a checkpoint, beside one that never stopped: a second
    /// consumer, started now without a checkpoint, reads the topic from its start. Waits
    /// (up to 30 s, or three triggers) until both have caught up and read the same number
    /// of messages; then, or at the end of the wait, shows the checkpoint (the file, the
    /// offsets it saved) and both consumers' counts, and whether they counted the same
    /// events hashtag by hashtag (in event time, late data can differ: the two saw
    /// different watermarks).
    pub fn show_checkpoint(&self) -> Result<Html> {
        let Some(folder) = self.config().checkpoint.clone() else {
            return Err(Error::config(
                "checkpoint",
                "none",
                "start the consumer with settings.with_checkpoint(folder)",
            ));
        };
        let Comparison {
            me,
            reference,
            agreed,
            wait,
        } = self.beside_a_reference()?;
        let saved = checkpoint::load(&folder, &self.config().topic, &self.config().window)?;
        let offsets = saved.as_ref().map_or_else(
            || {
                tr(
                    "none yet (it is written at the first trigger)",
                    "ninguno todavía (se escribe en el primer disparador)",
                )
                .to_string()
            },
            |cp| {
                let each: Vec<String> = cp
                    .offsets
                    .iter()
                    .map(|(part, at)| format!("{} {part}: {at}", tr("partition", "partición")))
                    .collect();
                each.join(" · ")
            },
        );
        let together = match (agreed, me.counts == reference.counts) {
            (true, true) => tr(
                "the same messages, the same counts hashtag by hashtag: nothing lost, nothing \
                 counted twice",
                "los mismos mensajes, los mismos recuentos hashtag por hashtag: nada perdido, \
                 nada contado dos veces",
            )
            .to_string(),
            (true, false) => tr(
                "the same messages; the counts differ by late data (event time: each judged \
                 it against its own watermark)",
                "los mismos mensajes; los recuentos difieren en datos tardíos (tiempo de \
                 evento: cada uno los juzgó con su propia marca de agua)",
            )
            .to_string(),
            (false, _) => format!(
                "{} {} s",
                tr("not the same after", "no coinciden tras"),
                wait.as_secs()
            ),
        };
        let rows = vec![
            (
                tr("checkpoint", "punto de control").to_string(),
                checkpoint::path(&folder).display().to_string(),
            ),
            (
                tr(
                    "offsets saved at the last trigger",
                    "desplazamientos guardados en el último disparador",
                )
                .to_string(),
                offsets,
            ),
            (
                tr("this consumer", "este consumidor").to_string(),
                me.to_string(),
            ),
            (
                tr("one that never stopped", "uno que nunca se detuvo").to_string(),
                format!(
                    "{reference} ({} {} {})",
                    tr("it read", "leyó"),
                    self.config().topic,
                    tr(
                        "from its start just now",
                        "desde el principio hace un momento"
                    )
                ),
            ),
            (tr("together", "juntos").to_string(), together),
        ];
        let data = json!({
            "consumed": me.consumed,
            "counted": me.counted(),
            "reference": { "consumed": reference.consumed, "counted": reference.counted() },
            "agreed": agreed,
            "same_counts": me.counts == reference.counts,
        });
        Ok(table::show(
            &table::two_columns((tr("what", "qué"), tr("state", "estado")), &rows)?,
            tr(
                "A consumer with a checkpoint",
                "Un consumidor con punto de control",
            ),
        )
        .with_data("checkpoint", &data))
    }

    /// Starts a reference consumer that never stopped (no checkpoint, from the topic's
    /// start) beside this one, waits (up to 30 s, or three triggers) until both have caught
    /// up and read the same messages, stops it, and compares the two.
    fn beside_a_reference(&self) -> Result<Comparison> {
        let reference = Pipeline::start(PipelineConfig {
            start_from: StartFrom::Earliest,
            checkpoint: None,
            group: None,
            ..self.config().clone()
        })?;
        let wait = settle_wait(&[self]);
        let caught_up = |q: &Pipeline| q.snapshot().is_some_and(|s| s.metrics.lag == Some(0));
        let agreed = until(wait, Duration::from_millis(200), || {
            let (a, b) = (self.status().consumed, reference.status().consumed);
            a > 0 && a == b && caught_up(self) && caught_up(&reference)
        });
        let comparison = Comparison {
            me: Reading::of(self),
            reference: Reading::of(&reference),
            agreed,
            wait,
        };
        reference.stop();
        Ok(comparison)
    }
}

/// A consumer beside a reference that never stopped.
struct Comparison {
    /// What the consumer read and counted.
    me: Reading,
    /// What the reference read and counted.
    reference: Reading,
    /// Whether both caught up and read the same messages within `wait`.
    agreed: bool,
    /// How long it waited at most.
    wait: Duration,
}

/// What a consumer has read and counted.
struct Reading {
    /// Messages read.
    consumed: u64,
    /// Events counted, per hashtag.
    counts: Vec<(String, u64)>,
}

impl Reading {
    /// What `p` has read and counted now.
    fn of(p: &Pipeline) -> Reading {
        Reading {
            consumed: p.status().consumed,
            counts: p.all_time_counts(),
        }
    }

    /// Events counted, all hashtags.
    fn counted(&self) -> u64 {
        self.counts.iter().map(|(_, c)| c).sum()
    }
}

impl std::fmt::Display for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}, {} {} {}",
            tr("read", "leyó"),
            self.consumed,
            tr("messages", "mensajes"),
            tr("counted", "contó"),
            self.counted(),
            tr("events", "eventos")
        )
    }
}

/// What the original job's `foreachBatch` printed, for micro-batches a cell ran itself:
/// for each trigger, the newest window that got data (Spark's `update` output) and its top
/// hashtags with their running counts.
pub fn show_micro_batches(batches: &[Snapshot]) -> Result<Html> {
    let data = json!({
        "batches": batches.iter().map(|s| json!({
            "trigger": s.metrics.trigger_id,
            "input_rows": s.metrics.input_rows,
            "updated": s.updated.last().map(|w| &w.counts),
        })).collect::<Vec<_>>(),
    });
    Ok(table::show(
        &table::micro_batches(batches, TOP)?,
        tr(
            "Each micro-batch: the newest window that got data and its top hashtags (update mode)",
            "Cada microlote: la ventana más reciente con datos y sus hashtags principales (modo update)",
        ),
    )
    .with_data("micro_batches", &data))
}

/// Consumers of the same stream side by side (say, one in processing time and one in
/// event time): a chart of each one's events per window, and a table of what each read,
/// counted and dropped as late.
pub fn show_compare(pipelines: &[&Pipeline]) -> Result<Html> {
    let mut series = Vec::new();
    let mut rows = Vec::new();
    let mut data = Vec::new();
    for p in pipelines {
        let domain = p.config().window.time_domain;
        let snap = p.snapshot();
        let totals = p.totals();
        let points: Vec<(Timestamp, u64)> = snap
            .as_deref()
            .map(|s| {
                trend_windows(s)
                    .iter()
                    .map(|w| (w.start, w.counts.iter().map(|(_, c)| c).sum()))
                    // Windows before the first event counted are left out.
                    .skip_while(|(_, total): &(Timestamp, u64)| *total == 0)
                    .collect()
            })
            .unwrap_or_default();
        let name = match domain {
            TimeDomain::ProcessingTime => domain.to_string(),
            TimeDomain::EventTime => format!(
                "{domain}, {} {} s",
                tr("watermark delay", "margen de la marca de agua"),
                p.config().window.watermark_delay.as_secs_f64()
            ),
        };
        rows.push((
            name.clone(),
            format!(
                "{} {} · {} {} · {} {}",
                tr("read", "leídos"),
                p.status().consumed,
                tr("counted", "contados"),
                totals.accepted,
                tr("late, dropped", "tardíos, descartados"),
                totals.late
            ),
        ));
        let key = match domain {
            TimeDomain::ProcessingTime => "processing",
            TimeDomain::EventTime => "event",
        };
        data.push(json!({
            "time_domain": key, "label": name, "consumed": p.status().consumed,
            "counted": totals.accepted, "late": totals.late, "windows": points.len(),
            "watermark_delay_s": p.config().window.watermark_delay.as_secs_f64(),
        }));
        series.push((name, points));
    }
    let svg = totals_svg(&series)?;
    Ok(Html::concat([
        Html::new(svg, String::new()),
        table::show(
            &table::two_columns(
                (tr("consumer", "consumidor"), tr("events", "eventos")),
                &rows,
            )?,
            tr("The same stream, two clocks", "El mismo flujo, dos relojes"),
        ),
    ])
    .with_data("compare", &json!({ "consumers": data })))
}

/// Checks the whole pipeline end to end: what the producer had acknowledged (its final
/// counters, after `stop`) against what the consumer counted, per hashtag; and by offset,
/// that the consumer read every offset of each partition once, from where it started to
/// the end of the log, and that the log holds as many messages since then as were
/// acknowledged (equal totals alone would not show a lost and a doubled event). Waits up
/// to 60 s for the consumer to catch up.
pub fn show_reconcile(sent: &ProducerStats, p: &Pipeline) -> Result<Html> {
    // Wait (bounded) until the consumer has counted as many events as were acknowledged.
    until(Duration::from_secs(60), Duration::from_millis(50), || {
        p.all_time_counts().iter().map(|(_, c)| c).sum::<u64>() >= sent.acked
    });
    let counted = p.all_time_counts();
    let verdict = |equal: bool| {
        if equal {
            tr("equal", "iguales")
        } else {
            tr("DIFFERENT", "DISTINTOS")
        }
    };
    let (produced_w, counted_w) = (tr("produced", "producidos"), tr("counted", "contados"));
    let mut rows = Vec::new();
    let mut per_hashtag = Vec::new();
    let mut all_equal = true;
    for (h, acked) in sent.hashtags.iter().zip(&sent.acked_per_hashtag) {
        let c = counted.iter().find(|(t, _)| t == h).map_or(0, |(_, c)| *c);
        per_hashtag.push(json!({ "hashtag": h, "produced": acked, "counted": c }));
        all_equal &= c == *acked;
        rows.push((
            h.clone(),
            format!(
                "{produced_w} {acked} · {counted_w} {c} · {}",
                verdict(c == *acked)
            ),
        ));
    }
    let total: u64 = counted.iter().map(|(_, c)| c).sum();
    all_equal &= total == sent.acked;
    rows.push((
        tr("all hashtags", "todos los hashtags").into(),
        format!(
            "{produced_w} {} · {counted_w} {} · {}",
            sent.acked,
            total,
            verdict(total == sent.acked)
        ),
    ));
    // By offset: the consumer read every offset of each partition once, from where it
    // started to the end of the log; and the log holds as many messages since then as
    // the producer had acknowledged (an idempotent producer's retries stored once).
    let status = p.status();
    let ends = crate::kafka::client::describe_topics(&status.bootstrap, Duration::from_secs(10))
        .ok()
        .and_then(|topics| topics.into_iter().find(|t| t.name == p.config().topic))
        .map(|t| t.end_offsets)
        .unwrap_or_default();
    let mut partitions = Vec::new();
    let mut offsets_ok = !status.read.is_empty() && status.read.len() == ends.len();
    let mut stored = 0;
    for r in &status.read {
        // The end of the log: where the broker says it is, or past the last offset the
        // consumer read, if that is further (Tansu 0.6 reports end offsets too low: the
        // last batch's first offset + 1).
        let reported = ends.get(r.partition as usize).copied().unwrap_or(-1);
        let end = reported.max(r.next.unwrap_or(reported));
        let start = r.start.unwrap_or(0);
        let once = r.start.is_some() && r.read_once_to(end);
        offsets_ok &= once;
        stored += (end - start).max(0) as u64;
        partitions.push(json!({
            "partition": r.partition, "start": r.start, "end": end, "reported_end": reported,
            "read": r.read,
            "repeated": r.repeated, "skipped": r.skipped, "once": once,
        }));
        rows.push((
            format!("{} {}", tr("partition", "partición"), r.partition),
            if once {
                format!(
                    "{} {start} {} {} {}",
                    tr("offsets", "desplazamientos"),
                    tr("to", "a"),
                    end - 1,
                    tr("read once each", "leídos una vez cada uno")
                )
            } else {
                format!(
                    "{} {start} {} {}: {} {}, {} {}, {} {} · {}",
                    tr("offsets", "desplazamientos"),
                    tr("to", "a"),
                    end - 1,
                    r.read,
                    tr("read", "leídos"),
                    r.repeated,
                    tr("read again", "leídos otra vez"),
                    r.skipped,
                    tr("skipped", "saltados"),
                    verdict(false)
                )
            },
        ));
    }
    offsets_ok &= stored == sent.acked;
    rows.push((
        tr("stored by Kafka", "guardados por Kafka").into(),
        format!(
            "{stored} {} · {} {} · {}",
            tr(
                "messages since the consumer started",
                "mensajes desde que arrancó el consumidor"
            ),
            tr("acknowledged", "confirmados"),
            sent.acked,
            verdict(stored == sent.acked)
        ),
    ));
    let said = match (all_equal, offsets_ok) {
        (true, true) => tr(
            "Every acknowledged event was stored once and counted once.",
            "Cada evento confirmado se guardó una vez y se contó una vez.",
        ),
        (true, false) => tr(
            "The totals agree, but the offsets do not: see the rows marked DIFFERENT.",
            "Los totales coinciden, pero los desplazamientos no: mira las filas DISTINTOS.",
        ),
        _ => tr(
            "The counts differ: see the rows marked DIFFERENT.",
            "Los recuentos difieren: mira las filas DISTINTOS.",
        ),
    };
    rows.push((tr("verdict", "veredicto").into(), said.into()));
    let data = json!({
        "hashtags": per_hashtag,
        "produced": sent.acked,
        "counted": total,
        "equal": all_equal,
        "partitions": partitions,
        "stored": stored,
        "offsets_ok": offsets_ok,
    });
    Ok(table::show(
        &table::two_columns((tr("what", "qué"), tr("check", "comprobación")), &rows)?,
        tr("Producer vs consumer", "Productor frente a consumidor"),
    )
    .with_data("reconcile", &data))
}

/// How long a table waits for consumers to settle: three of their longest trigger, and at
/// least 30 s.
pub(crate) fn settle_wait(members: &[&Pipeline]) -> Duration {
    members
        .iter()
        .map(|m| m.config().trigger * 3)
        .max()
        .unwrap_or_default()
        .max(Duration::from_secs(30))
}
