//! `consumer`: the live consumer in a terminal. Counts hashtags in windows and prints a
//! leaderboard line at every trigger, like the original Spark job's console output.
//!
//! ```sh
//! consumer                                  # 60 s tumbling windows, processing time
//! consumer --slide 10 --time-domain event   # sliding windows in event time
//! ```

use std::time::{Duration, Instant};

use clap::Parser;
use helpers::config::WindowConfig;
use helpers::dashboard::leaderboard;
use helpers::pipeline::{Pipeline, PipelineConfig, StartFrom};
use helpers::process::Shutdown;

/// Live hashtag counts from Kafka.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Broker address [default: $KAFKA_BOOTSTRAP, the embedded broker's, or 127.0.0.1:9092].
    #[arg(long, env = "KAFKA_BOOTSTRAP")]
    bootstrap: Option<String>,
    /// Topic to read.
    #[arg(long, default_value = helpers::config::TWEETS_TOPIC)]
    topic: String,
    /// Window width in seconds.
    #[arg(long, default_value_t = 60)]
    width: u64,
    /// Window slide in seconds (= width: tumbling windows).
    #[arg(long)]
    slide: Option<u64>,
    /// Watermark delay in seconds.
    #[arg(long, default_value_t = 60)]
    watermark: u64,
    /// `processing` or `event`.
    #[arg(long, default_value = "processing")]
    time_domain: String,
    /// Trigger interval in seconds.
    #[arg(long, default_value_t = 10.0)]
    trigger: f64,
    /// Read the topic from the beginning instead of only new events.
    #[arg(long)]
    from_beginning: bool,
    /// Stop after this many seconds.
    #[arg(long)]
    duration: Option<f64>,
}

fn main() {
    let args = Args::parse();
    let shutdown = Shutdown::new();
    Shutdown::on_signals();
    let domain = match args.time_domain.parse() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("consumer: {e}");
            std::process::exit(2);
        }
    };
    let window = WindowConfig::sliding(
        Duration::from_secs(args.width),
        Duration::from_secs(args.slide.unwrap_or(args.width)),
    )
    .with_watermark(Duration::from_secs(args.watermark))
    .with_time_domain(domain);
    let config = PipelineConfig {
        bootstrap: args.bootstrap.unwrap_or_default(),
        topic: args.topic,
        start_from: if args.from_beginning {
            StartFrom::Earliest
        } else {
            StartFrom::Latest
        },
        window,
        trigger: Duration::from_secs_f64(args.trigger.max(0.01)),
        ..Default::default()
    };
    let pipeline = match Pipeline::start(config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("consumer: {e}");
            std::process::exit(2);
        }
    };
    eprintln!(
        "consumer: reading {} at {}",
        pipeline.config().topic,
        pipeline.config().bootstrap
    );
    let end = args
        .duration
        .map(|d| Instant::now() + Duration::from_secs_f64(d.max(0.0)));
    let mut last = None;
    while !shutdown.is_triggered() && end.is_none_or(|e| Instant::now() < e) {
        if let Some(s) = pipeline.snapshot() {
            if last != Some(s.metrics.trigger_id) {
                println!("{}", leaderboard(&s));
                last = Some(s.metrics.trigger_id);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    pipeline.stop();
}
