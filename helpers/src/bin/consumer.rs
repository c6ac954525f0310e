//! `consumer`: the live consumer in a terminal. Counts hashtags in windows and prints a
//! leaderboard line at every trigger, like the original Spark job's console output.
//!
//! ```sh
//! consumer                                  # the notebook's settings (WINDOW_SECS, ...)
//! consumer --slide 60 --watch 600           # tumbling windows, for 10 minutes
//! consumer --time-domain event              # windows in event time
//! consumer --checkpoint ckpt                # stop it and start it again: nothing lost
//! ```

use std::time::Duration;

use clap::Parser;
use helpers::error::{Component, Error, Result};
use helpers::kafka::consumer::{Pipeline, StartFrom};
use helpers::settings::{Environment, WatchSettings, WindowSettings};
use helpers::sys::signal::Shutdown;
use helpers::views::console::line;
use helpers::views::dashboard::leaderboard;

/// Live hashtag counts from Kafka.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where Kafka is.
    #[command(flatten)]
    env: Environment,
    /// How to count.
    #[command(flatten)]
    window: WindowSettings,
    /// How long to run (`--watch`) and how often to look for a new trigger.
    #[command(flatten)]
    watch: WatchSettings,
    /// Topic to read.
    #[arg(long, default_value = helpers::core::config::TWEETS_TOPIC)]
    topic: String,
    /// Read the topic from the beginning instead of only new events.
    #[arg(long)]
    from_beginning: bool,
    /// A folder where the consumer saves its offsets and counts at every trigger (Spark's
    /// `checkpointLocation`): started again with the same folder, it goes on from there,
    /// losing nothing and counting nothing twice. One consumer per folder, and one
    /// cluster: a folder of another broker is refused (delete it, or give another).
    #[arg(long, value_name = "FOLDER")]
    checkpoint: Option<std::path::PathBuf>,
}

/// Prints a leaderboard line per trigger until `--watch` passes or Ctrl-C.
fn run(args: Args) -> Result<()> {
    let shutdown = Shutdown::new();
    Shutdown::on_signals().map_err(|e| Error::os("cannot install the signal handlers", e))?;
    let mut config = args.env.place_pipeline(args.window.pipeline());
    config.window.validate()?;
    config.topic = args.topic;
    if args.from_beginning {
        config.start_from = StartFrom::Earliest;
    }
    config.checkpoint = args.checkpoint;
    let pipeline = Pipeline::start(config)?;
    eprintln!(
        "consumer: reading {} at {}",
        pipeline.config().topic,
        pipeline.config().bootstrap
    );
    // Say so when the checkpoint's previous generation had to be used.
    if let Some(note) = pipeline.status().last_error {
        eprintln!("consumer: {note}");
    }
    let poll = args.watch.every.min(Duration::from_millis(100));
    // Until `--watch` passes, Ctrl-C, or the consumer ends by itself (an error, such as a
    // checkpoint written for another cluster): then it says why, and the program fails.
    pipeline.follow(
        args.watch.length,
        poll,
        || shutdown.is_triggered() || !pipeline.status().running,
        |s| println!("{}", line(&leaderboard(s))),
    );
    let ended = pipeline.status();
    pipeline.stop();
    if !ended.running {
        return Err(Error::Failed {
            component: Component::Consumer,
            detail: ended.last_error.unwrap_or_else(|| "stopped".into()),
        });
    }
    Ok(())
}

fn main() {
    if let Err(e) = run(helpers::settings::parse_args::<Args>("consumer")) {
        eprintln!("consumer: {e}");
        std::process::exit(2);
    }
}
