//! `healthcheck`: produce N numbered messages to a fresh topic, read them back, report.
//! Exit code 0 when Kafka works, 1 when it does not.

use std::time::Duration;

use clap::Parser;

/// Checks that Kafka stores and delivers messages.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Broker address [default: $KAFKA_BOOTSTRAP, the embedded broker's, or 127.0.0.1:9092].
    #[arg(long, env = "KAFKA_BOOTSTRAP")]
    bootstrap: Option<String>,
    /// Messages to send and read back.
    #[arg(long, default_value_t = 5)]
    messages: u32,
    /// Seconds to wait for each step.
    #[arg(long, default_value_t = 15)]
    wait: u64,
}

fn main() {
    let args = Args::parse();
    let bootstrap = args
        .bootstrap
        .unwrap_or_else(|| helpers::infra::bootstrap(&helpers::process::default_state_dir()));
    let report = helpers::health::check(&bootstrap, args.messages, Duration::from_secs(args.wait));
    println!("{report}");
    std::process::exit(if report.passed() { 0 } else { 1 });
}
