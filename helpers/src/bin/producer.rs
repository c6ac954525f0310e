//! `producer`: streams synthetic social-network events to Kafka.
//!
//! ```sh
//! producer --rate 5                      # 5 events/s to tweets_topic, until Ctrl-C
//! producer --rate 0 --count 100000       # as fast as possible, 100k events
//! producer --weights '#Rust=3,#Kafka=1'  # other hashtags
//! ```

use std::path::PathBuf;

use clap::Parser;
use helpers::error::{Error, Result};
use helpers::kafka::producer::{run_controlled, ProducerConfig};
use helpers::settings::{ChildArgs, Environment, ProducerSettings};
use helpers::sys::signal::start_program;

/// Synthetic social-network event producer.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where Kafka is.
    #[command(flatten)]
    env: Environment,
    /// What to generate.
    #[command(flatten)]
    producer: ProducerSettings,
    /// Topic to write to.
    #[arg(long, default_value = helpers::core::config::TWEETS_TOPIC)]
    topic: String,
    /// Stop after this many events.
    #[arg(long)]
    count: Option<u64>,
    /// Read all settings from this JSON file (written by the library).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Write counters to this JSON file twice a second.
    #[arg(long)]
    stats_file: Option<PathBuf>,
    /// Apply live changes (rate, trend) found in this JSON file.
    #[arg(long)]
    control_file: Option<PathBuf>,
    /// Set by the library that starts this program.
    #[command(flatten)]
    child: ChildArgs,
}

/// The producer's settings: the `--config` file's, or the flags'.
fn config_from(args: &Args) -> Result<ProducerConfig> {
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read the producer's settings", path, e))?;
        return serde_json::from_str(&text).map_err(|e| {
            Error::config(
                "--config",
                path.display(),
                &format!("not producer settings: {e}"),
            )
        });
    }
    let mut c = args.env.place_producer(args.producer.config()?);
    c.topic = args.topic.clone();
    c.count = args.count;
    c.validate()?;
    Ok(c)
}

/// Runs until stopped, counted out, or the parent is gone.
fn run(args: &Args) -> Result<()> {
    let shutdown = start_program(args.child.parent_pid)?;
    let config = config_from(args)?;
    let stats = run_controlled(
        &config,
        &shutdown,
        args.stats_file.as_deref(),
        args.control_file.as_deref(),
    )?;
    eprintln!(
        "producer: sent {}, acknowledged {}, failed {}",
        stats.sent, stats.acked, stats.failed
    );
    Ok(())
}

fn main() {
    if let Err(e) = run(&helpers::settings::parse_args::<Args>("producer")) {
        eprintln!("producer: {e}");
        std::process::exit(1);
    }
}
