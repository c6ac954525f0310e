//! `producer`: streams synthetic social-network events to Kafka.
//!
//! ```sh
//! producer --rate 5                      # 5 events/s to tweets_topic, until Ctrl-C
//! producer --rate 0 --count 100000       # as fast as possible, 100k events
//! producer --weights '#Rust=3,#Kafka=1'  # other hashtags
//! ```

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use helpers::generator::TrendShift;
use helpers::process::start_program;
use helpers::producer::{run_controlled, ProducerConfig};

/// Synthetic social-network event producer.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Broker address [default: $KAFKA_BOOTSTRAP, the embedded broker's, or 127.0.0.1:9092].
    #[arg(long, env = "KAFKA_BOOTSTRAP")]
    bootstrap: Option<String>,
    /// Topic to write to.
    #[arg(long, default_value = helpers::config::TWEETS_TOPIC)]
    topic: String,
    /// Events per second (0 = as fast as possible).
    #[arg(long, default_value_t = 1.0, env = "PRODUCER_RATE")]
    rate: f64,
    /// Stop after this many events.
    #[arg(long)]
    count: Option<u64>,
    /// Hashtags and weights, e.g. '#Spark=4,#BigData=2,#IA=1'.
    #[arg(long, env = "HASHTAG_WEIGHTS")]
    weights: Option<String>,
    /// Random seed (same seed, same stream).
    #[arg(long, default_value_t = 42, env = "PRODUCER_SEED")]
    seed: u64,
    /// Rotate the hashtag weights every this many seconds (a changing trend).
    #[arg(long)]
    trend_every: Option<f64>,
    /// Share of events stamped up to --max-lateness in the past (late data).
    #[arg(long, default_value_t = 0.0)]
    late_share: f64,
    /// Seconds a late event is stamped in the past, at most.
    #[arg(long, default_value_t = 120.0)]
    max_lateness: f64,
    /// Read all settings from this JSON file (written by the library).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Write counters to this JSON file twice a second.
    #[arg(long)]
    stats_file: Option<PathBuf>,
    /// Apply live changes (rate, trend) found in this JSON file.
    #[arg(long)]
    control_file: Option<PathBuf>,
    /// Exit when this process is gone (set by the library).
    #[arg(long)]
    parent_pid: Option<u32>,
}

fn config_from(args: &Args) -> Result<ProducerConfig, String> {
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return serde_json::from_str(&text)
            .map_err(|e| format!("bad config {}: {e}", path.display()));
    }
    let mut c = ProducerConfig {
        bootstrap: args.bootstrap.clone().unwrap_or_default(),
        topic: args.topic.clone(),
        rate: args.rate,
        count: args.count,
        late_share: args.late_share,
        max_lateness: Duration::from_secs_f64(args.max_lateness.max(0.0)),
        ..Default::default()
    };
    c.generator.seed = args.seed;
    if let Some(spec) = &args.weights {
        c.generator = c
            .generator
            .with_weights_spec(spec)
            .map_err(|e| e.to_string())?;
    }
    if let Some(every) = args.trend_every {
        if !(every.is_finite() && every > 0.0) {
            return Err(format!(
                "invalid setting trend_every = {every}: use seconds > 0"
            ));
        }
        c.generator.trend = Some(TrendShift {
            every: Duration::from_secs_f64(every),
        });
    }
    Ok(c)
}

fn main() {
    let args = Args::parse();
    let shutdown = start_program(args.parent_pid);
    let config = match config_from(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("producer: {e}");
            std::process::exit(2);
        }
    };
    match run_controlled(
        &config,
        &shutdown,
        args.stats_file.as_deref(),
        args.control_file.as_deref(),
    ) {
        Ok(stats) => eprintln!(
            "producer: sent {}, acknowledged {}, failed {}",
            stats.sent, stats.acked, stats.failed
        ),
        Err(e) => {
            eprintln!("producer: {e}");
            std::process::exit(1);
        }
    }
}
