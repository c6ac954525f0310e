//! Runs micro-batch files through the window engine, one trigger per file, under both
//! late-data rules and in Spark's complete output mode, and prints what happened as JSON: the other half of the Spark
//! conformance test (`scripts/spark_conformance.py` runs PySpark on the same files).
//!
//! ```sh
//! cargo run --example replay --locked -q -- manifest.json
//! ```
//!
//! `manifest.json` lists the scenarios: `[{"name": .., "dir": .., "width_s": 60,
//! "slide_s": 60, "delay_s": 60, "extra_ticks": 0}]`. Each `dir` holds one JSON-lines file
//! per batch; files are taken in name order. `extra_ticks` idle triggers follow the last
//! batch (Spark's trailing no-data batches). Times in the output are µs since the epoch.
//!
//! Instead of `dir`, a scenario may give `"kafka": {"bootstrap": .., "topic": ..,
//! "batches": [[[partition, from, to], ..], ..]}`: each batch is then the messages our
//! Kafka client (rdkafka) reads from those offset ranges (`from` included, `to` not), as
//! Spark's Kafka source read them in its micro-batches (`scripts/spark_kafka.py`).

mod common;

use std::time::Duration;

use helpers::core::config::{LateRule, OutputMode, TimeDomain, WindowConfig};
use helpers::core::replay::{count_rows, replay, Replay};
use helpers::core::time::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};

/// One scenario of the manifest.
#[derive(Deserialize)]
struct Scenario {
    /// Its name, echoed in the output.
    name: String,
    /// Folder of batch files.
    #[serde(default)]
    dir: String,
    /// Or: offset ranges of a Kafka topic, one list per batch.
    #[serde(default)]
    kafka: Option<KafkaBatches>,
    /// Window width, s.
    width_s: u64,
    /// Window slide, s.
    slide_s: u64,
    /// Watermark delay, s.
    delay_s: u64,
    /// Idle triggers after the last batch.
    extra_ticks: usize,
}

/// Micro-batches as offset ranges of a topic.
#[derive(Deserialize)]
struct KafkaBatches {
    /// The broker.
    bootstrap: String,
    /// The topic.
    topic: String,
    /// Per batch: (partition, first offset, offset after the last).
    batches: Vec<Vec<(i32, i64, i64)>>,
}

/// Reads each batch's offset ranges with our Kafka client: the payloads, in partition
/// order, each partition in offset order (the engine's counts do not depend on the order
/// within a batch).
fn read_kafka(k: &KafkaBatches) -> Result<Vec<Vec<Vec<u8>>>, Box<dyn std::error::Error>> {
    use helpers::rdkafka::consumer::{BaseConsumer, Consumer};
    use helpers::rdkafka::{Message, Offset, TopicPartitionList};
    let consumer: BaseConsumer = helpers::kafka::client::base_config(&k.bootstrap)
        .set("group.id", "spark-kafka-replay")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut out = Vec::new();
    for ranges in &k.batches {
        let mut batch = Vec::new();
        for &(partition, from, to) in ranges {
            if to <= from {
                continue;
            }
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&k.topic, partition, Offset::Offset(from))?;
            consumer.assign(&tpl)?;
            let mut next = from;
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while next < to {
                if std::time::Instant::now() > deadline {
                    return Err(format!(
                        "partition {partition}: offsets {next}..{to} not read in 30 s"
                    )
                    .into());
                }
                let Some(m) = consumer.poll(Duration::from_millis(200)) else {
                    continue;
                };
                let m = m?;
                if m.partition() != partition || m.offset() < next {
                    continue;
                }
                next = m.offset() + 1;
                if m.offset() < to {
                    batch.push(m.payload().unwrap_or_default().to_vec());
                }
            }
        }
        out.push(batch);
    }
    Ok(out)
}

/// The JSON of one run.
fn describe(r: &Replay) -> Value {
    let rows = |rows: Vec<helpers::core::replay::CountRow>| -> Value {
        rows.iter()
            .map(|r| json!([r.start.micros(), r.end.micros(), r.hashtag, r.count]))
            .collect()
    };
    let batches: Vec<Value> = r
        .snapshots
        .iter()
        .map(|s| {
            json!({
                "input_rows": s.metrics.input_rows,
                "updated": rows(count_rows(&s.updated)),
                "closed": rows(count_rows(&s.closed)),
                "windows": rows(count_rows(&s.windows)),
                "late_rows": s.metrics.late_rows,
                "late_groups": s.metrics.late_groups,
                "watermark": s.metrics.watermark.map(|w| w.micros()),
                "closing_watermark": s.metrics.closing_watermark.map(|w| w.micros()),
            })
        })
        .collect();
    json!({
        "batches": batches,
        "finals": rows(r.finals.clone()),
        "late_rows": r.totals.late,
        "late_windows": r.totals.late_windows,
        "accepted": r.totals.accepted,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = std::env::args()
        .nth(1)
        .ok_or("usage: replay <manifest.json>")?;
    let scenarios: Vec<Scenario> = serde_json::from_slice(&std::fs::read(&manifest)?)?;
    let mut out = serde_json::Map::new();
    for s in scenarios {
        let batches = match &s.kafka {
            Some(k) => read_kafka(k)?,
            None => common::read_batches(&s.dir).map_err(|e| format!("reading {}: {e}", s.dir))?,
        };
        let mut runs = serde_json::Map::new();
        for (name, rule, mode) in [
            ("spark", LateRule::SparkWindowEnd, OutputMode::Update),
            ("per_event", LateRule::PerEvent, OutputMode::Update),
            ("complete", LateRule::SparkWindowEnd, OutputMode::Complete),
        ] {
            let config = WindowConfig::sliding(
                Duration::from_secs(s.width_s),
                Duration::from_secs(s.slide_s),
            )
            .with_watermark(Duration::from_secs(s.delay_s))
            .with_time_domain(TimeDomain::EventTime)
            .with_late_rule(rule)
            .with_output_mode(mode);
            let r = replay(
                config,
                &batches,
                s.extra_ticks,
                Timestamp(0),
                Duration::from_secs(1),
            )?;
            runs.insert(name.into(), describe(&r));
        }
        out.insert(s.name, Value::Object(runs));
    }
    println!("{}", Value::Object(out));
    Ok(())
}
