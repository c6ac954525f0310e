//! `broker`: the embedded Kafka-protocol broker (librdkafka's mock cluster on 127.0.0.1).
//!
//! Prints its bootstrap address, publishes it in `<state-dir>/broker.json`, and runs until
//! SIGTERM/SIGINT or until its parent (`--parent-pid`) is gone. SIGUSR1 takes the broker
//! down (connections refused, messages kept), SIGUSR2 brings it back: an outage to show.

use std::path::PathBuf;

use clap::Parser;
use helpers::broker::{run, BrokerConfig};
use helpers::config::TWEETS_TOPIC;
use helpers::process::{default_state_dir, start_program};

/// Embedded Kafka-protocol broker for machines without Docker.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Partitions of the topic created at start.
    #[arg(long, default_value_t = 3, env = "TWEETS_PARTITIONS")]
    partitions: i32,
    /// Topic created at start (repeat the flag for more).
    #[arg(long = "topic", default_values_t = [TWEETS_TOPIC.to_string()])]
    topics: Vec<String>,
    /// Brokers in the mock cluster.
    #[arg(long, default_value_t = 1)]
    brokers: i32,
    /// Where to publish broker.json [default: $STREAM_DEMO_DIR or /tmp/streaming-demo-<uid>].
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Exit when this process is gone (set by the library when it starts the broker).
    #[arg(long)]
    parent_pid: Option<u32>,
}

fn main() {
    let args = Args::parse();
    let shutdown = start_program(args.parent_pid);
    helpers::process::on_outage_signals();
    let config = BrokerConfig {
        brokers: args.brokers,
        topics: args
            .topics
            .iter()
            .map(|t| (t.clone(), args.partitions))
            .collect(),
        state_dir: Some(args.state_dir.unwrap_or_else(default_state_dir)),
    };
    let result = run(&config, &shutdown, |info| {
        println!("broker ready at {} (pid {})", info.bootstrap, info.pid);
    });
    if let Err(e) = result {
        eprintln!("broker: {e}");
        std::process::exit(1);
    }
}
