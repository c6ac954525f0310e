//! `demo`: the whole pipeline in a terminal, as the notebook runs it: Kafka (Docker or the
//! embedded broker), the consumer, the producer, a leaderboard line per trigger, then the
//! clean-up. Prints the pids of what it started, so tests can check that a killed `demo`
//! leaves nothing behind.
//!
//! ```sh
//! demo --duration 30
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use helpers::dashboard::leaderboard;
use helpers::live::LivePage;
use helpers::pipeline::Pipeline;
use helpers::process::Shutdown;
use helpers::producer::Producer;
use helpers::settings::Settings;

/// The streaming pipeline in a terminal (settings from the same environment variables as
/// the notebook).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Seconds to run before cleaning up.
    #[arg(long, default_value_t = 60.0)]
    duration: f64,
    /// Also serve the live page and print its address.
    #[arg(long)]
    live: bool,
}

fn run(args: &Args) -> helpers::error::Result<()> {
    let shutdown = Shutdown::new();
    Shutdown::on_signals();
    let settings = Settings::from_env()?;
    let kafka = helpers::infra::start()?;
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
    let end = Instant::now() + Duration::from_secs_f64(args.duration.max(0.0));
    let mut last = None;
    while Instant::now() < end && !shutdown.is_triggered() {
        if let Some(s) = pipeline.snapshot() {
            if last != Some(s.metrics.trigger_id) {
                println!("{}", leaderboard(&s));
                last = Some(s.metrics.trigger_id);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
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
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("demo: {e}");
        std::process::exit(1);
    }
}
