//! `demo`: the whole pipeline in a terminal, as the notebook runs it: Kafka (Docker or the
//! embedded broker), the consumer, the producer, a leaderboard line per trigger, then the
//! clean-up. Prints the pids of what it started, so tests can check that a killed `demo`
//! leaves nothing behind.
//!
//! ```sh
//! demo --watch 30
//! ```

use std::time::Duration;

use clap::Parser;
use helpers::error::{Error, Result};
use helpers::kafka::consumer::Pipeline;
use helpers::kafka::producer::Producer;
use helpers::settings::Settings;
use helpers::sys::signal::Shutdown;
use helpers::views::console::line;
use helpers::views::dashboard::leaderboard;
use helpers::views::live::LivePage;

/// The streaming pipeline in a terminal (the same settings as the notebook: flags or
/// environment variables).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Every classroom setting; `--watch` is how long the demo runs before cleaning up.
    #[command(flatten)]
    settings: Settings,
    /// Also serve the live page and print its address.
    #[arg(long)]
    live: bool,
}

/// Starts everything, prints a line per trigger for `--watch`, then cleans up.
fn run(args: &Args) -> Result<()> {
    let shutdown = Shutdown::new();
    Shutdown::on_signals().map_err(|e| Error::os("cannot install the signal handlers", e))?;
    let settings = &args.settings;
    settings.validate()?;
    let kafka = helpers::notebook::start_kafka()?;
    println!("{kafka}");
    if let Some(pid) = kafka.broker_pid {
        println!("broker pid {pid}");
    }
    let pipeline = Pipeline::start(settings.pipeline())?;
    pipeline.wait_ready(Duration::from_secs(60))?;
    let producer = Producer::spawn(settings.producer()?)?;
    println!("producer pid {}", producer.pid());
    let live = if args.live {
        let page = LivePage::start(&pipeline, Duration::from_secs(2))?;
        println!("live page {}", page.url());
        Some(page)
    } else {
        None
    };
    let poll = settings.watch.every.min(Duration::from_millis(100));
    pipeline.follow(
        settings.watch.length,
        poll,
        || shutdown.is_triggered(),
        |s| println!("{}", line(&leaderboard(s))),
    );
    if let Some(page) = live {
        page.stop();
    }
    let sent = producer.stop();
    println!(
        "producer stopped: sent {}, acknowledged {}",
        sent.sent, sent.acked
    );
    pipeline.stop();
    kafka.down(false)?;
    println!("clean-up done");
    Ok(())
}

fn main() {
    if let Err(e) = run(&helpers::settings::parse_args::<Args>("demo")) {
        eprintln!("demo: {e}");
        std::process::exit(1);
    }
}
