//! What the notebook's cells call. Each function is one step of the lesson and returns a
//! value that shows itself ([`Html`]): a table, a chart, or both.

use std::time::{Duration, Instant};

use crate::core::config::{TimeDomain, WindowConfig, TWEETS_TOPIC};
use crate::core::event::Event;
use crate::core::generator::Generator;
use crate::core::time::Timestamp;
use crate::core::window::{Snapshot, WindowEngine, OTHER};
use crate::error::{Error, Result};
use crate::kafka::consumer::{BrokerState, Pipeline, PipelineConfig};
use crate::kafka::producer::Producer;
use crate::lab::infra::Infra;
use crate::settings::{Environment, Settings};
use crate::sys::process::pid_alive;
use crate::sys::wait::until;
use crate::views::chart::{top_svg, trend_svg};
use crate::views::console::write_line;
use crate::views::dashboard::{dashboard, leaderboard, trend_windows, TOP, TREND_TOP};
use crate::views::html::{escape, Html};
pub use crate::views::lesson::{at, late_data, output_modes};
use crate::views::table;

/// Starting the classroom's Kafka from a cell: `infra::start()`.
pub mod infra {
    use crate::error::Result;
    use crate::lab::infra::{start_with, Infra};
    use crate::settings::Environment;

    /// Starts Kafka for the notebook: the classroom's cluster
    /// ([`crate::lab::infra::InfraConfig::classroom`]) where the environment says
    /// (`STREAM_DEMO_BACKEND`, `DOCKER_BROKERS`, `STREAM_DEMO_DIR`). See
    /// [`crate::lab::infra::start_with`].
    pub fn start() -> Result<Infra> {
        start_with(Environment::current().infra_config())
    }
}

/// The settings as a table, and which Kafka Docker runs (`DOCKER_BROKERS`).
pub fn settings_table(s: &Settings) -> Result<Html> {
    let mut rows = s.rows();
    rows.extend(Environment::current().rows());
    Ok(table::show(
        &table::two_columns(("setting", "value"), &rows)?,
        "Settings (from environment variables)",
    ))
}

/// Kafka's status (backend, brokers, topics with partitions and end offsets) as a table.
pub fn kafka_status(infra: &Infra) -> Result<Html> {
    let st = infra.status()?;
    let mut rows = vec![
        ("backend".to_string(), st.backend.to_string()),
        ("bootstrap".to_string(), st.bootstrap.clone()),
        ("brokers".to_string(), st.brokers.to_string()),
    ];
    if let Some(pid) = st.broker_pid {
        rows.push(("broker pid".into(), pid.to_string()));
    }
    for t in &st.topics {
        rows.push((
            format!("topic {}", t.name),
            format!(
                "{} partitions, {} messages, end offsets {}",
                t.partitions(),
                t.messages(),
                t.end_offsets
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(table::show(&table::key_values(&rows)?, "Kafka"))
}

/// `n` sample events from the generator: the decoded fields and the JSON on the wire.
pub fn sample_events(s: &Settings, n: usize) -> Result<Html> {
    let mut g = Generator::new(s.producer()?.generator)?;
    let mut buf = Vec::new();
    let mut rows = Vec::new();
    let now = Timestamp::now().as_secs_f64().floor();
    for i in 0..n {
        let d = g.next_json(now + i as f64, &mut buf);
        let e = g.event(&d);
        rows.push((e, String::from_utf8_lossy(&buf).into_owned()));
    }
    let mut markup = String::from(
        "<table style=\"font-family:monospace\"><tr><th \
        style=\"text-align:left\">usuario (user)</th><th style=\"text-align:left\">texto \
            (text)</th><th style=\"text-align:left\">hashtag_principal (main \
                hashtag)</th><th>timestamp (s since 1970)</th></tr>",
    );
    let mut text = String::new();
    for (e, json) in &rows {
        markup.push_str(&format!(
            "<tr><td style=\"text-align:left\">{}</td><td style=\"text-align:left\">{}</td><td \
                style=\"text-align:left\">{}</td><td>{:.1}</td></tr>",
            escape(&e.usuario),
            escape(&e.texto),
            escape(&e.hashtag_principal),
            e.timestamp
        ));
        text.push_str(json);
        text.push('\n');
    }
    markup.push_str(
        "</table><p>On the wire (one Kafka message each):</p><pre style=\"font-family:monospace\">",
    );
    markup.push_str(&escape(&text));
    markup.push_str("</pre>");
    Ok(Html::new(markup, text))
}

/// What the decoder says of each message: the event's hashtag, or why it is rejected.
pub fn decode_table(messages: &[&[u8]]) -> Result<Html> {
    let rows: Vec<(String, String)> = messages
        .iter()
        .map(|m| {
            let outcome = match crate::core::event::decode(m) {
                Ok(e) => format!(
                    "event: {} at {}",
                    e.hashtag_principal,
                    Timestamp::from_secs_f64(e.timestamp)
                ),
                Err(r) => format!("rejected: {r}"),
            };
            (String::from_utf8_lossy(m).into_owned(), outcome)
        })
        .collect();
    Ok(table::show(
        &table::two_columns(("message", "decoded"), &rows)?,
        "The decoder",
    ))
}

/// The producer's counters.
pub fn producer_status(p: &Producer) -> Result<Html> {
    let s = p.stats();
    let mut rows = vec![
        ("pid".to_string(), p.pid().to_string()),
        ("running".to_string(), p.is_running().to_string()),
        ("sent".to_string(), s.sent.to_string()),
        ("acknowledged".to_string(), s.acked.to_string()),
        ("failed".to_string(), s.failed.to_string()),
        (
            "rate (target)".to_string(),
            format!("{} events/s", s.rate_target),
        ),
        (
            "rate (measured)".to_string(),
            format!("{:.1} events/s", s.rate_actual),
        ),
    ];
    for (h, c) in s.hashtags.iter().zip(&s.acked_per_hashtag) {
        rows.push((format!("acknowledged {h}"), c.to_string()));
    }
    if let Some(e) = &s.last_error {
        rows.push(("last error".into(), e.clone()));
    }
    Ok(table::show(&table::key_values(&rows)?, "Producer"))
}

/// Waits up to `wait` for the consumer's first snapshot with data.
fn snapshot_with_data(p: &Pipeline, wait: Duration) -> Result<std::sync::Arc<Snapshot>> {
    p.wait_for(wait, |s| s.trending().is_some()).map_err(|_| {
        let st = p.status();
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

/// Prints a leaderboard line every `every` for `duration` (these lines appear while the
/// cell runs), then returns the dashboard of the last snapshot: the cell's lasting record.
pub fn watch(p: &Pipeline, duration: Duration, every: Duration) -> Result<Html> {
    watch_to(&mut std::io::stdout(), p, duration, every)
}

/// [`watch`], writing its lines to `out`. Each line goes through
/// [`crate::views::console::line()`]: data never writes evcxr's rich-output markers.
pub fn watch_to(
    out: &mut impl std::io::Write,
    p: &Pipeline,
    duration: Duration,
    every: Duration,
) -> Result<Html> {
    let every = every.max(Duration::from_millis(100));
    p.follow(
        duration,
        every,
        || false,
        |s| {
            // A closed stdout (the cell was interrupted) must not stop the watch.
            let _ = write_line(out, &leaderboard(s));
            let _ = out.flush();
        },
    );
    let snap = snapshot_with_data(p, Duration::from_secs(30))?;
    dashboard(&snap, p.config().window.slide)
}

/// The trending window as a table (a Polars DataFrame shown as HTML).
pub fn trending(p: &Pipeline) -> Result<Html> {
    let snap = snapshot_with_data(p, Duration::from_secs(60))?;
    let df = table::trending(&snap, p.config().window.slide, TOP)?;
    let w = snap.trending().expect("snapshot has data");
    Ok(table::show(
        &df,
        &format!("Trending: window {}–{}", w.start.clock(), w.end.clock()),
    ))
}

/// The trending window as a Polars DataFrame, to explore by hand.
pub fn trending_frame(p: &Pipeline) -> Result<polars::prelude::DataFrame> {
    let snap = snapshot_with_data(p, Duration::from_secs(60))?;
    table::trending(&snap, p.config().window.slide, TOP)
}

/// What the original job's `foreachBatch` printed, for micro-batches a cell ran itself:
/// for each trigger, the newest window that got data (Spark's `update` output) and its top
/// hashtags with their running counts.
pub fn micro_batches(batches: &[Snapshot]) -> Result<Html> {
    Ok(table::show(
        &table::micro_batches(batches, TOP)?,
        "Each micro-batch: the newest window that got data and its top hashtags (update mode)",
    ))
}

/// The bar chart of the top hashtags now.
pub fn top_chart(p: &Pipeline) -> Result<Html> {
    let snap = snapshot_with_data(p, Duration::from_secs(60))?;
    let svg = top_svg(snap.trending(), TOP)?;
    Ok(Html::new(svg, leaderboard(&snap)))
}

/// The line chart of each hashtag's count per window.
pub fn trend_chart(p: &Pipeline) -> Result<Html> {
    let snap = snapshot_with_data(p, Duration::from_secs(60))?;
    let svg = trend_svg(&trend_windows(&snap), TREND_TOP)?;
    Ok(Html::new(svg, leaderboard(&snap)))
}

/// The per-trigger metrics (the last `last` triggers), and the rejection reasons seen.
pub fn metrics(p: &Pipeline, last: usize) -> Result<Html> {
    let rows = p.metrics();
    let from = rows.len().saturating_sub(last);
    let df = table::metrics(&rows[from..])?;
    let mut parts = vec![table::show(
        &df,
        "Per-trigger metrics (like Spark's query progress)",
    )];
    if let Some(s) = p.snapshot() {
        let reasons: Vec<(String, String)> = s
            .totals
            .rejected
            .nonzero()
            .map(|(r, n)| (format!("rejected: {r}"), n.to_string()))
            .collect();
        let mut rows = vec![
            ("messages in".to_string(), s.totals.input.to_string()),
            ("counted".to_string(), s.totals.accepted.to_string()),
            (
                "late (behind the watermark)".to_string(),
                s.totals.late.to_string(),
            ),
            (
                "rejected".to_string(),
                s.totals.rejected.total().to_string(),
            ),
        ];
        rows.extend(reasons);
        if s.totals.overflow > 0 {
            rows.push((
                format!("counted as {OTHER:?} (a pane held too many distinct hashtags)"),
                s.totals.overflow.to_string(),
            ));
        }
        parts.push(table::show(
            &table::two_columns(("measure", "value"), &rows)?,
            "Totals since the consumer started",
        ));
    }
    Ok(Html::concat(parts))
}

/// One table of what runs: Kafka, the producer, the consumer.
pub fn status(
    infra: Option<&Infra>,
    producer: Option<&Producer>,
    pipeline: Option<&Pipeline>,
) -> Result<Html> {
    let not_started = || "not started".to_string();
    let state_dir = producer
        .map(|p| p.state_dir().to_path_buf())
        .unwrap_or_else(crate::sys::state::default_state_dir);
    let rows = vec![
        ("kafka".into(), infra.map_or_else(not_started, kafka_line)),
        (
            "producer".into(),
            producer.map_or_else(not_started, producer_line),
        ),
        (
            "consumer".into(),
            pipeline.map_or_else(not_started, |p| consumer_line(p, infra)),
        ),
        ("processes".into(), processes_line(&state_dir)),
    ];
    Ok(table::show(&table::key_values(&rows)?, "Status"))
}

/// The status table's Kafka row.
fn kafka_line(i: &Infra) -> String {
    let answering = if i.is_up() {
        "answering"
    } else {
        "not answering"
    };
    format!("{} at {} ({answering})", i.backend, i.bootstrap)
}

/// The status table's producer row.
fn producer_line(p: &Producer) -> String {
    let s = p.stats();
    let running = if p.is_running() { "running" } else { "stopped" };
    format!(
        "pid {} {running} · sent {} · acked {} · failed {}",
        p.pid(),
        s.sent,
        s.acked,
        s.failed
    )
}

/// The status table's consumer row. While the consumer cannot reach Kafka, and `kafka` is
/// the embedded cluster, it says how many brokers are really down (librdkafka's own
/// reason counts its connections, twice the brokers).
fn consumer_line(p: &Pipeline, kafka: Option<&Infra>) -> String {
    let st = p.status();
    let broker = match (&st.broker, kafka.and_then(Infra::brokers_down_count)) {
        (BrokerState::Unreachable(_), Some((down, of))) => {
            format!("broker unreachable: {down} of {of} brokers down")
        }
        (state, _) => state.to_string(),
    };
    format!(
        "{} · {broker} · partitions {} · {} messages",
        if st.running { "running" } else { "stopped" },
        list(&st.partitions),
        st.consumed
    )
}

/// `0, 1, 2` (or `none`): a list of numbers in words, not Rust's `[0, 1, 2]`.
fn list(items: &[i32]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The status table's row of what runs from `state_dir`, found by pid and thread name.
fn processes_line(state_dir: &std::path::Path) -> String {
    let (producers, brokers) = crate::sys::process::running_programs(state_dir);
    format!(
        "producers running: {producers} · consumer threads: {} · embedded brokers: {brokers}",
        crate::sys::process::threads_named("pipeline")
    )
}

/// Takes down the broker that leads `partition` of `tweets_topic`, as a crash would (the
/// embedded cluster only: its controller moves the leadership at once), and prints what
/// happened: the new leader and how long the partition had none. Returns the broker taken
/// down, or `None` (and says why) where Kafka keeps no second copy to fail over to.
pub fn fail_leader(infra: &Infra, partition: i32) -> Result<Option<i32>> {
    let mut out = std::io::stdout();
    let state = |p: i32| {
        infra
            .partitions()
            .into_iter()
            .find(|s| s.topic == TWEETS_TOPIC && s.partition == p)
    };
    if !state(partition).is_some_and(|s| s.replicas.len() > 1 && s.leader.is_some()) {
        let _ = write_line(
            &mut out,
            &format!(
                "Kafka ({}) keeps one copy of partition {partition}: there is nothing to \
                 fail over to. The embedded cluster (3 brokers, the default backend without Docker) \
                 shows a failover; with DOCKER_BROKERS=3, stop a broker with `docker compose \
                 -f docker/docker-compose.cluster.yml stop kafka-1`.",
                infra.backend
            ),
        );
        return Ok(None);
    }
    // One broker down at a time: one left down by an earlier run of this cell comes back
    // first (with two of three down, the partitions would have one copy left).
    for id in infra.brokers_down() {
        infra.broker_up(id)?;
        let _ = write_line(
            &mut out,
            &format!(
                "broker {id} was still down from an earlier run of this cell: it is back first"
            ),
        );
    }
    let Some(leader) = state(partition).and_then(|s| s.leader) else {
        return Ok(None);
    };
    let down_at = Instant::now();
    infra.broker_down(leader)?;
    let moved = until(Duration::from_secs(10), Duration::from_millis(10), || {
        state(partition).is_some_and(|s| s.leader.is_some_and(|l| l != leader))
    });
    let new = state(partition).and_then(|s| s.leader);
    let _ = write_line(
        &mut out,
        &format!(
            "broker {leader}, the leader of partition {partition}, is down; {}",
            match new {
                Some(n) if moved => format!(
                    "broker {n} leads it now, {:.2} s later",
                    down_at.elapsed().as_secs_f64()
                ),
                _ => "no replica in sync took over: the partition has no leader".into(),
            }
        ),
    );
    Ok(Some(leader))
}

/// Brings back the broker [`fail_leader`] took down (nothing for `None`). It comes back as
/// a follower: the partitions it led keep their new leaders.
pub fn recover(infra: &Infra, broker: Option<i32>) -> Result<()> {
    if let Some(id) = broker {
        infra.broker_up(id)?;
        let _ = write_line(
            &mut std::io::stdout(),
            &format!("broker {id} is back, in sync again, as a follower"),
        );
    }
    Ok(())
}

/// Kafka's partitions as a table (leader, replicas, in-sync replicas, brokers down, for
/// the embedded cluster), then the producer's and the consumer's counters: what a failover
/// moves, and what it must not lose.
pub fn cluster_status(infra: &Infra, producer: &Producer, pipeline: &Pipeline) -> Result<Html> {
    let parts: Vec<_> = infra
        .partitions()
        .into_iter()
        .filter(|p| p.topic == TWEETS_TOPIC)
        .collect();
    let ids = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(", ");
    let mut views = vec![];
    if !parts.is_empty() {
        let rows: Vec<(String, String)> = parts
            .iter()
            .map(|p| {
                (
                    format!("partition {}", p.partition),
                    format!(
                        "leader {} · replicas [{}] · in sync [{}]",
                        p.leader.map_or("none".into(), |l| l.to_string()),
                        ids(&p.replicas),
                        ids(&p.isr)
                    ),
                )
            })
            .collect();
        views.push(table::show(
            &table::two_columns(("partition", "leader · replicas · in-sync replicas"), &rows)?,
            &format!("{TWEETS_TOPIC} on the {} cluster", infra.backend),
        ));
    }
    let s = producer.stats();
    let counted = pipeline.snapshot().map_or(0, |s| s.totals.accepted);
    let mut rows = vec![(
        "producer (acks=all, idempotent)".to_string(),
        format!(
            "sent {} · acknowledged {} · failed {}",
            s.sent, s.acked, s.failed
        ),
    )];
    rows.push((
        "consumer".into(),
        format!(
            "{} · counted {counted}",
            consumer_line(pipeline, Some(infra))
        ),
    ));
    if parts.is_empty() {
        rows.push((
            "partitions".into(),
            format!("{}: one broker, one copy of each partition", infra.backend),
        ));
    }
    views.push(table::show(
        &table::key_values(&rows)?,
        "Producer and consumer",
    ));
    Ok(Html::concat(views))
}

/// Sends `n` more events with the classroom settings, as fast as Kafka takes them, from
/// this process (the producer's own loop, without a background process); returns its
/// final counters once every event is acknowledged or failed.
pub fn send_events(s: &Settings, n: u64) -> Result<crate::kafka::producer::ProducerStats> {
    let config = crate::kafka::producer::ProducerConfig {
        count: Some(n),
        rate: 0.0,
        ..s.producer()?
    };
    crate::kafka::producer::run(&config, &crate::sys::signal::Shutdown::new(), None)
}

/// The members of one consumer group: the partitions each one reads and the messages it
/// read, against the messages `tweets_topic` holds. Waits (up to 30 s, or three triggers)
/// until every partition is read by exactly one running member, every running member has
/// partitions, and the members together have read every message; then, or at the end of
/// the wait, shows the table.
pub fn group_status(infra: &Infra, members: &[&Pipeline]) -> Result<Html> {
    let group = members
        .first()
        .and_then(|m| m.config().group.clone())
        .unwrap_or_default();
    let probe = GroupProbe::new(infra, &group)?;
    let wait = settle_wait(members);
    let settled = until(wait, Duration::from_millis(200), || probe.settled(members));
    let (partitions, _) = retry_once(|| probe.topic())?;
    let done = retry_once(|| probe.committed(partitions))?;
    let mut rows: Vec<(String, String)> = members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let s = m.status();
            (
                format!("consumer {}", i + 1),
                format!(
                    "{} · partitions {} · read {} messages",
                    if s.running {
                        "running"
                    } else {
                        "left the group"
                    },
                    list(if s.running { &s.partitions } else { &[] }),
                    s.consumed
                ),
            )
        })
        .collect();
    let together: u64 = members.iter().map(|m| m.status().consumed).sum();
    rows.push((
        "together".into(),
        if settled {
            format!(
                "read {together} messages of {TWEETS_TOPIC}; the group's committed offsets \
                 cover {done}: each one once"
            )
        } else {
            format!(
                "read {together} messages of {TWEETS_TOPIC}; the group's committed offsets \
                 cover {done}: not settled after {} s",
                wait.as_secs()
            )
        },
    ));
    Ok(table::show(
        &table::two_columns(("member", "state"), &rows)?,
        &format!("Consumer group {group:?}"),
    ))
}

/// A new, empty folder for a consumer's checkpoint, in this run's state folder. (Each run
/// needs its own: the embedded broker's log is new at every start, and a checkpoint's
/// offsets belong to one log.)
pub fn new_checkpoint_folder(infra: &Infra) -> std::path::PathBuf {
    infra
        .config
        .state_dir
        .join(format!("checkpoint-{}", Timestamp::now().micros()))
}

/// A consumer with a checkpoint (`p`) beside one that never stopped: a second consumer,
/// started now without a checkpoint, reads `tweets_topic` from its start. Waits (up to
/// 30 s, or three triggers) until both have caught up and read the same number of
/// messages; then, or at the end of the wait, shows `p`'s checkpoint (the file, the
/// offsets it saved) and both consumers' counts, and whether they counted the same events
/// hashtag by hashtag (in event time, late data can differ: the two saw different
/// watermarks).
pub fn checkpoint_status(p: &Pipeline) -> Result<Html> {
    let Some(folder) = p.config().checkpoint.clone() else {
        return Err(Error::config(
            "checkpoint",
            "none",
            "start the consumer with settings.with_checkpoint(folder)",
        ));
    };
    let reference = Pipeline::start(PipelineConfig {
        start_from: crate::kafka::consumer::StartFrom::Earliest,
        checkpoint: None,
        group: None,
        ..p.config().clone()
    })?;
    let wait = settle_wait(&[p]);
    let caught_up = |q: &Pipeline| q.snapshot().is_some_and(|s| s.metrics.lag == Some(0));
    let same = || {
        let (a, b) = (p.status().consumed, reference.status().consumed);
        a > 0 && a == b && caught_up(p) && caught_up(&reference)
    };
    let agreed = until(wait, Duration::from_millis(200), same);
    let same_counts = p.all_time_counts() == reference.all_time_counts();
    let saved = crate::kafka::checkpoint::load(&folder, &p.config().topic, &p.config().window)?;
    let offsets = saved.as_ref().map_or_else(
        || "none yet (it is written at the first trigger)".to_string(),
        |cp| {
            cp.offsets
                .iter()
                .map(|(part, at)| format!("partition {part}: {at}"))
                .collect::<Vec<_>>()
                .join(" · ")
        },
    );
    let counts = |q: &Pipeline| {
        let counted: u64 = q.all_time_counts().iter().map(|(_, c)| c).sum();
        format!(
            "read {} messages, counted {counted} events",
            q.status().consumed
        )
    };
    let rows = vec![
        (
            "checkpoint".to_string(),
            crate::kafka::checkpoint::path(&folder)
                .display()
                .to_string(),
        ),
        ("offsets saved at the last trigger".to_string(), offsets),
        ("this consumer".to_string(), counts(p)),
        (
            "one that never stopped".to_string(),
            format!(
                "{} (it read {} from its start just now)",
                counts(&reference),
                p.config().topic
            ),
        ),
        (
            "together".to_string(),
            match (agreed, same_counts) {
                (true, true) => "the same messages, the same counts hashtag by hashtag: \
                                 nothing lost, nothing counted twice"
                    .to_string(),
                (true, false) => "the same messages; the counts differ by late data (event \
                                  time: each judged it against its own watermark)"
                    .to_string(),
                (false, _) => format!("not the same after {} s", wait.as_secs()),
            },
        ),
    ];
    reference.stop();
    Ok(table::show(
        &table::two_columns(("what", "state"), &rows)?,
        "A consumer with a checkpoint",
    ))
}

/// How long a table waits for consumers to settle: three of their longest trigger, and at
/// least 30 s.
fn settle_wait(members: &[&Pipeline]) -> Duration {
    members
        .iter()
        .map(|m| m.config().trigger * 3)
        .max()
        .unwrap_or_default()
        .max(Duration::from_secs(30))
}

/// Calls `f`, and once more a second later if it failed: metadata and offsets can be
/// briefly unavailable (a rebalance, a leader that just moved).
fn retry_once<T>(f: impl Fn() -> Result<T>) -> Result<T> {
    f().or_else(|_| {
        std::thread::sleep(Duration::from_secs(1));
        f()
    })
}

/// What [`group_status`] asks the broker: how big `tweets_topic` is, and how far a group
/// has committed. A client of the group that does not join it.
struct GroupProbe<'a> {
    infra: &'a Infra,
    consumer: rdkafka::consumer::BaseConsumer,
}

impl<'a> GroupProbe<'a> {
    fn new(infra: &'a Infra, group: &str) -> Result<Self> {
        let consumer = crate::kafka::client::base_config(&infra.bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| Error::kafka("creating a consumer", e))?;
        Ok(GroupProbe { infra, consumer })
    }

    /// The topic's partitions and the messages it holds.
    fn topic(&self) -> Result<(usize, i64)> {
        let st = self.infra.status()?;
        Ok(st
            .topics
            .iter()
            .find(|t| t.name == TWEETS_TOPIC)
            .map_or((0, 0), |t| (t.partitions(), t.messages())))
    }

    /// The sum of the group's committed offsets over `partitions`. The group started at the
    /// beginning of every partition, so this is how many messages it has read, counting
    /// each once. (Not the end offsets: Tansu reports some too low.)
    fn committed(&self, partitions: usize) -> Result<i64> {
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in 0..partitions as i32 {
            tpl.add_partition(TWEETS_TOPIC, p);
        }
        let got = rdkafka::consumer::Consumer::committed_offsets(
            &self.consumer,
            tpl,
            Duration::from_secs(5),
        )
        .map_err(|e| Error::kafka("reading the group's committed offsets", e))?;
        Ok(got
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                rdkafka::Offset::Offset(o) => Some(o),
                _ => None,
            })
            .sum())
    }

    /// Whether the group has settled: every partition has one running owner, every
    /// running member has some (as long as there are enough partitions: one who joined has
    /// been given its share), and the members together have read, and committed, every
    /// message the topic holds. A question the broker cannot answer now (a rebalance, a
    /// leader that just moved) means "not yet".
    fn settled(&self, members: &[&Pipeline]) -> bool {
        let Ok((partitions, held)) = self.topic() else {
            return false;
        };
        let running: Vec<_> = members
            .iter()
            .map(|m| m.status())
            .filter(|s| s.running)
            .collect();
        let mut owned: Vec<i32> = running.iter().flat_map(|s| s.partitions.clone()).collect();
        owned.sort_unstable();
        let shared = running.len() > partitions || running.iter().all(|s| !s.partitions.is_empty());
        let together: u64 = members.iter().map(|m| m.status().consumed).sum();
        let Ok(done) = self.committed(partitions) else {
            return false;
        };
        owned == (0..partitions as i32).collect::<Vec<_>>()
            && shared
            && together == done as u64
            && done >= held
    }
}

/// Checks the whole pipeline end to end: what the producer had acknowledged (its final
/// counters, after `stop`) against what the consumer counted, per hashtag. Waits up to
/// `wait` for the consumer to catch up.
pub fn reconcile(
    sent: &crate::kafka::producer::ProducerStats,
    p: &Pipeline,
    wait: Duration,
) -> Result<Html> {
    // Wait (bounded) until the consumer has counted as many events as were acknowledged.
    until(wait, Duration::from_millis(50), || {
        p.all_time_counts().iter().map(|(_, c)| c).sum::<u64>() >= sent.acked
    });
    let counted = p.all_time_counts();
    let mut rows = Vec::new();
    let mut all_equal = true;
    for (h, acked) in sent.hashtags.iter().zip(&sent.acked_per_hashtag) {
        let c = counted.iter().find(|(t, _)| t == h).map_or(0, |(_, c)| *c);
        all_equal &= c == *acked;
        rows.push((
            h.clone(),
            format!(
                "produced {acked} · counted {c} · {}",
                if c == *acked { "equal" } else { "DIFFERENT" }
            ),
        ));
    }
    let total: u64 = counted.iter().map(|(_, c)| c).sum();
    all_equal &= total == sent.acked;
    rows.push((
        "all hashtags".into(),
        format!(
            "produced {} · counted {} · {}",
            sent.acked,
            total,
            if total == sent.acked {
                "equal"
            } else {
                "DIFFERENT"
            }
        ),
    ));
    let verdict = if all_equal {
        "Every acknowledged event was counted exactly once."
    } else {
        "The counts differ: see the rows marked DIFFERENT."
    };
    rows.push(("verdict".into(), verdict.into()));
    Ok(table::show(
        &table::two_columns(("hashtag", "check"), &rows)?,
        "Producer vs consumer",
    ))
}

/// Stops the producer, the consumer and Kafka, then checks by pid that nothing is left.
pub fn clean_up(
    infra: Option<&Infra>,
    producer: Option<&Producer>,
    pipeline: Option<&Pipeline>,
) -> Result<Html> {
    // (what, how it ended, whether it still runs)
    let mut stopped: Vec<(String, String, bool)> = Vec::new();
    if let Some(p) = producer {
        let pid = p.pid();
        let s = p.stop();
        stopped.push((
            format!("producer (pid {pid})"),
            format!("stopped after {} events, {} acknowledged", s.sent, s.acked),
            pid_alive(pid),
        ));
    }
    if let Some(p) = pipeline {
        p.stop();
        stopped.push((
            "consumer thread".into(),
            "stopped".into(),
            p.status().running,
        ));
    }
    if let Some(i) = infra {
        i.down(false)?;
        let left = i.broker_pid.is_some_and(pid_alive) || (i.backend.is_hosted() && i.is_up());
        stopped.push((format!("kafka ({})", i.backend), "down".into(), left));
    }
    let left = stopped.iter().filter(|(_, _, running)| *running).count();
    let mut rows: Vec<(String, String)> = stopped
        .into_iter()
        .map(|(what, how, running)| (what, format!("{how}; running: {running}")))
        .collect();
    rows.push(("processes left running".into(), left.to_string()));
    Ok(table::show(&table::key_values(&rows)?, "Clean-up"))
}

/// A small, fixed timeline through the window engine, for the lesson on windows: the same
/// events in tumbling and sliding windows, in event time, with one event far behind the
/// watermark (late under [`crate::core::config::LateRule::PerEvent`]; Spark's rule, the default,
/// still counts it: its window ends after the previous trigger's watermark).
pub fn window_timeline() -> Result<Html> {
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
        out.push(Html::new(
            format!(
                "<pre style=\"font-family:monospace\">{}</pre>",
                escape(&log.join("\n"))
            ),
            log.join("\n"),
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
/// a log line per event, and a `(window, counts)` row per window, closed or open.
fn timeline(cfg: WindowConfig, t0: f64, events: &[(&str, f64)]) -> Result<(Vec<String>, Rows)> {
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
        log.push(format!(
            "event {} {tag} at {} → {}; watermark now {}",
            i + 1,
            Timestamp::from_secs_f64(t0 + dt).clock(),
            outcome,
            snap.metrics.watermark.map_or("-".into(), |w| w.clock())
        ));
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
