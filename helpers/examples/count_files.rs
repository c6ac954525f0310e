//! Counts hashtags in event-time windows over a folder of JSON-lines files, one
//! micro-batch per file, with the window engine, and prints how long it took and the final
//! count of every (window, hashtag) as JSON: our half of the Spark benchmark
//! (`scripts/spark_bench.py` runs PySpark on the same files and compares).
//!
//! ```sh
//! cargo run --release --example count_files --locked -q -- DIR WIDTH_S SLIDE_S DELAY_S
//! ```
//!
//! The time covers reading the files, decoding every event, counting and one trigger per
//! file: what Spark's query does between its start and its end.

mod common;

use std::time::{Duration, Instant};

use helpers::core::config::{TimeDomain, WindowConfig};
use helpers::core::replay::replay;
use helpers::core::time::Timestamp;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, width, slide, delay] = args.as_slice() else {
        return Err("usage: count_files DIR WIDTH_S SLIDE_S DELAY_S".into());
    };
    let secs = |s: &String| s.parse().map(Duration::from_secs);
    let config = WindowConfig::sliding(secs(width)?, secs(slide)?)
        .with_watermark(secs(delay)?)
        .with_time_domain(TimeDomain::EventTime);

    let started = Instant::now();
    let batches = common::read_batches(dir).map_err(|e| format!("reading {dir}: {e}"))?;
    let read = started.elapsed();
    let r = replay(config, &batches, 0, Timestamp(0), Duration::from_secs(1))?;
    let total = started.elapsed();

    let finals: Vec<_> = r
        .finals
        .iter()
        .map(|c| json!([c.start.micros(), c.hashtag, c.count]))
        .collect();
    let out = json!({
        "seconds": total.as_secs_f64(),
        "read_seconds": read.as_secs_f64(),
        "batches": batches.len(),
        "accepted": r.totals.accepted,
        "late": r.totals.late,
        "rejected": r.totals.input - r.totals.accepted - r.totals.late,
        "finals": finals,
    });
    println!("{out}");
    Ok(())
}
