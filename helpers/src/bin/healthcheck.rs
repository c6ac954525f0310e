//! `healthcheck`: produce N numbered messages to a fresh topic, read them back, report.
//! Exit code 0 when Kafka works, 1 when it does not.

use std::time::Duration;

use clap::Parser;
use helpers::lab::health;
use helpers::settings::Environment;

/// Checks that Kafka stores and delivers messages.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where Kafka is.
    #[command(flatten)]
    env: Environment,
    /// Messages to send and read back.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    messages: u32,
    /// Seconds to wait for each step.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    wait: u64,
}

fn main() {
    let args = helpers::settings::parse_args::<Args>("healthcheck");
    let bootstrap = args.env.bootstrap(&args.env.state_dir());
    let report = health::check(&bootstrap, args.messages, Duration::from_secs(args.wait));
    println!("{report}");
    std::process::exit(if report.passed() { 0 } else { 1 });
}
