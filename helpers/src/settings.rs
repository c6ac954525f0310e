//! Every setting of the demo, defined once: a flag, an environment variable, a default and
//! a range, in one clap definition that the binaries flatten into their command lines and
//! the notebook reads from its environment ([`Settings::from_env`]).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PRODUCER_RATE` | 5 | events per second (0 = as fast as possible) |
//! | `HASHTAG_WEIGHTS` | `#Spark=4,#BigData=2,#RealTime=2,#IA=2` | hashtags and weights |
//! | `PRODUCER_SEED` | 42 | random seed |
//! | `TREND_EVERY` | 0 (off) | rotate the weights every N seconds |
//! | `LATE_SHARE` | 0.1 | share of events stamped in the past (up to `MAX_LATENESS_SECS`): what an event-time consumer sees as late data |
//! | `MAX_LATENESS_SECS` | 120 | how far in the past a late event is stamped, at most |
//! | `WINDOW_SECS` | 60 | window width |
//! | `SLIDE_SECS` | 10 | window slide (= width: tumbling) |
//! | `WATERMARK_SECS` | 60 | watermark delay |
//! | `TIME_DOMAIN` | processing | `processing` or `event` |
//! | `TRIGGER_SECS` | 10 | how often the consumer ticks |
//! | `MAX_STATE_ROWS` | 100000 | the window state's memory budget, in rows |
//! | `WATCH_SECS` | 60 | how long a watch cell runs |
//! | `WATCH_EVERY_SECS` | 10 | how often it prints |
//!
//! Where things run ([`Environment`]): `KAFKA_BOOTSTRAP` (the broker's address),
//! `STREAM_DEMO_DIR` (the state directory), `STREAM_DEMO_BACKEND` (`docker`, `embedded`,
//! `tansu` or `kafka`), `DOCKER_BROKERS` (Docker's Kafka: 1 broker, or 3 from
//! `docker/docker-compose.cluster.yml`), `TANSU_BIN` (where Tansu is),
//! `HELPERS_BIN_DIR` and `HELPERS_NO_BUILD` (where the helper programs are, and whether the
//! library may build them). No other code reads environment variables.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, ValueEnum};

use crate::core::config::{
    TimeDomain, WindowConfig, DEFAULT_RATE, DEFAULT_SEED, DEFAULT_WEIGHTS_SPEC,
};
use crate::core::generator::TrendShift;
use crate::core::lang::tr;
use crate::error::{Error, Result};
use crate::kafka::consumer::PipelineConfig;
use crate::kafka::producer::ProducerConfig;
use crate::lab::infra::{Backend, InfraConfig};

/// The longest duration any setting takes: one day (a classroom never needs more, and it
/// keeps `Instant` arithmetic far from overflowing).
pub(crate) const MAX_SECS: f64 = 86_400.0;

/// Parses seconds (`"2.5"`) into a duration between 0 and [`MAX_SECS`].
fn secs(value: &str) -> std::result::Result<Duration, String> {
    match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=MAX_SECS).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("use a number of seconds from 0 to {MAX_SECS}")),
    }
}

/// Parses a positive number of seconds (a trigger or print interval: 0 would spin).
fn positive_secs(value: &str) -> std::result::Result<Duration, String> {
    let d = secs(value)?;
    if d < Duration::from_millis(10) {
        return Err("use at least 0.01 seconds".into());
    }
    Ok(d)
}

/// Parses a number in `min..=max`.
fn number_in(value: &str, min: f64, max: f64) -> std::result::Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && (min..=max).contains(&x) => Ok(x),
        _ => Err(format!("use a number from {min} to {max}")),
    }
}

/// Parses an event rate: 0 (as fast as possible), or one event every 1,000 s to ten million
/// events per second ([`crate::kafka::producer::check_rate`]).
fn rate(value: &str) -> std::result::Result<f64, String> {
    let r = number_in(value, 0.0, crate::kafka::producer::MAX_RATE)?;
    crate::kafka::producer::check_rate(r).map_err(|_| {
        format!(
            "use 0 (as fast as possible) or {} to {} events per second",
            crate::kafka::producer::MIN_RATE,
            crate::kafka::producer::MAX_RATE
        )
    })?;
    Ok(r)
}

/// Parses a share between 0 and 1.
fn share(value: &str) -> std::result::Result<f64, String> {
    number_in(value, 0.0, 1.0)
}

/// What the producer generates, and how fast.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct ProducerSettings {
    /// Events per second (0 = as fast as possible).
    #[arg(long, env = "PRODUCER_RATE", default_value_t = DEFAULT_RATE, value_parser = rate)]
    pub rate: f64,
    /// Hashtags and their weights, e.g. '#Spark=4,#BigData=2,#IA=1'.
    #[arg(
        long,
        env = "HASHTAG_WEIGHTS",
        default_value = DEFAULT_WEIGHTS_SPEC
    )]
    pub weights: String,
    /// Random seed (same seed, same stream).
    #[arg(long, env = "PRODUCER_SEED", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Rotate the hashtag weights every this many seconds (a changing trend; 0 = off).
    #[arg(long, env = "TREND_EVERY", default_value = "0", value_parser = secs)]
    pub trend_every: Duration,
    /// Share of events stamped up to --max-lateness in the past (late data).
    #[arg(long, env = "LATE_SHARE", default_value = "0.1", value_parser = share)]
    pub late_share: f64,
    /// Seconds a late event is stamped in the past, at most.
    #[arg(long, env = "MAX_LATENESS_SECS", default_value = "120", value_parser = secs)]
    pub max_lateness: Duration,
}

/// How the consumer cuts the stream into windows, and how often it reports.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct WindowSettings {
    /// Window width in seconds.
    #[arg(long, env = "WINDOW_SECS", default_value = "60", value_parser = positive_secs)]
    pub width: Duration,
    /// Window slide in seconds (equal to the width: tumbling windows).
    #[arg(long, env = "SLIDE_SECS", default_value = "10", value_parser = positive_secs)]
    pub slide: Duration,
    /// Watermark delay in seconds: how long to wait for late events.
    #[arg(long, env = "WATERMARK_SECS", default_value = "60", value_parser = secs)]
    pub watermark: Duration,
    /// Which clock places an event in a window: `processing` or `event`.
    #[arg(long, env = "TIME_DOMAIN", default_value = "processing", value_parser = time_domain)]
    pub time_domain: TimeDomain,
    /// Trigger interval in seconds: how often the engine ticks and reports.
    #[arg(long, env = "TRIGGER_SECS", default_value = "10", value_parser = positive_secs)]
    pub trigger: Duration,
    /// Event time: reject events stamped more than this many seconds ahead of the
    /// consumer's clock (0: accept any).
    #[arg(long, env = "MAX_FUTURE_SECS", default_value = "300", value_parser = secs)]
    pub max_future: Duration,
    /// Distinct hashtags kept per pane; the events of any further hashtag are counted as
    /// "(other hashtags)".
    #[arg(long, env = "MAX_HASHTAGS", default_value = "100000", value_parser = max_hashtags)]
    pub max_hashtags: usize,
    /// The window state's memory budget, in rows (counters, waiting hashtags, late-data
    /// groups); beyond it events are counted under "(other hashtags)" or in the totals
    /// only, and reported. About 330 bytes a row at most.
    #[arg(long, env = "MAX_STATE_ROWS", default_value = "100000", value_parser = max_state_rows)]
    pub max_state_rows: usize,
}

/// Parses the number of Docker's Kafka brokers: 1 or 3 (the two compose files).
fn docker_brokers(value: &str) -> std::result::Result<u8, String> {
    match value.trim() {
        "1" => Ok(1),
        "3" => Ok(3),
        _ => {
            Err("use 1 (docker/docker-compose.yml) or 3 (docker/docker-compose.cluster.yml)".into())
        }
    }
}

/// Parses the number of hashtags kept per pane: 1 to ten million.
fn max_hashtags(value: &str) -> std::result::Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=10_000_000).contains(&n) => Ok(n),
        _ => Err("use a whole number from 1 to 10000000".into()),
    }
}

/// Parses the window state's budget: 1,000 to 1,000,000 rows.
fn max_state_rows(value: &str) -> std::result::Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if crate::core::config::STATE_ROWS_RANGE.contains(&n) => Ok(n),
        _ => Err("use a whole number from 1000 to 1000000".into()),
    }
}

/// Parses a time domain (see [`TimeDomain`]'s `FromStr`).
fn time_domain(value: &str) -> std::result::Result<TimeDomain, String> {
    value
        .parse()
        .map_err(|_| "use `processing` or `event`".into())
}

/// How long a watch cell runs, and how often it prints.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct WatchSettings {
    /// How long a watch cell (or the `consumer`/`demo` program) runs, in seconds.
    #[arg(long = "watch", env = "WATCH_SECS", default_value = "60", value_parser = secs)]
    pub length: Duration,
    /// How often a watch cell prints a leaderboard line, in seconds.
    #[arg(
        long = "watch-every",
        env = "WATCH_EVERY_SECS",
        default_value = "10",
        value_parser = positive_secs
    )]
    pub every: Duration,
}

/// Every classroom setting: what the notebook's first table shows.
#[derive(Parser, Debug, Clone, PartialEq)]
#[command(name = "helpers", about = "The streaming demo's settings")]
pub struct Settings {
    /// What the producer generates.
    #[command(flatten)]
    pub producer: ProducerSettings,
    /// How the consumer counts.
    #[command(flatten)]
    pub window: WindowSettings,
    /// How long watch cells run.
    #[command(flatten)]
    pub watch: WatchSettings,
}

/// Which Kafka [`crate::notebook::start_kafka`] runs.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// Apache Kafka in Docker (`docker/docker-compose.yml`).
    Docker,
    /// The embedded broker (librdkafka's mock cluster).
    Embedded,
    /// Tansu, an independent Kafka-compatible broker, hosted like the embedded one.
    Tansu,
    /// Apache Kafka itself (KRaft, 3 nodes), hosted like the embedded one (Java 17 and
    /// `bash scripts/setup --kafka`).
    Kafka,
}

/// Where things run: the broker, the state directory, the helper programs. Hidden from
/// `--help` but for `--bootstrap`; set by environment variables in a notebook.
#[derive(Args, Debug, Clone, PartialEq, Default)]
pub struct Environment {
    /// Broker address (default: the embedded broker's, else 127.0.0.1:9092).
    #[arg(long, env = "KAFKA_BOOTSTRAP")]
    pub bootstrap: Option<String>,
    /// Where running pieces publish addresses, pids and logs
    /// (default: `<tmp>/streaming-demo-<uid>`).
    #[arg(long, env = "STREAM_DEMO_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Force a Kafka backend instead of "Docker if it answers, else embedded".
    #[arg(long, env = "STREAM_DEMO_BACKEND", hide = true)]
    pub backend: Option<BackendChoice>,
    /// Brokers of Docker's Kafka: 1 (`docker/docker-compose.yml`, the default) or 3
    /// (`docker/docker-compose.cluster.yml`: replication factor 3, min in-sync replicas 2).
    #[arg(long, env = "DOCKER_BROKERS", hide = true, value_parser = docker_brokers)]
    pub docker_brokers: Option<u8>,
    /// The `tansu` program (default: the one in `.venv`, installed by `scripts/setup`).
    #[arg(long, env = "TANSU_BIN", hide = true)]
    pub tansu_bin: Option<PathBuf>,
    // Where the helper programs are found (`HELPERS_BIN_DIR`, `HELPERS_NO_BUILD`, and
    // cargo's `CARGO_TARGET_DIR` and `CARGO`) is read by `sys::binary` itself, where it
    // is used: plumbing, not a classroom setting.
}

/// Flags every background program takes from the library that starts it.
#[derive(Args, Debug, Clone, PartialEq, Default)]
pub struct ChildArgs {
    /// Exit when this process is gone (set by the library when it starts the program).
    #[arg(long)]
    pub parent_pid: Option<u32>,
}

/// Parses `T` from the environment alone (no command-line arguments); a bad variable is an
/// error naming it, its value and what is allowed (every bad one, not only the first).
/// The variables of the commands in `also` are checked with `T`'s, in the same message.
fn from_env_only<T: Parser>(also: &[&clap::Command]) -> Result<T> {
    let ours = T::command();
    check_env(&[&[&ours], also].concat())?;
    T::try_parse_from(["helpers"]).map_err(|e| clap_error(&e))
}

/// One environment variable `cmd` reads that holds a value it refuses: `(variable, value,
/// what is allowed)`. Each variable is parsed on its own, so one bad value never hides
/// another, nor is blamed on another.
fn env_problems(cmd: &clap::Command) -> Vec<(String, String, String)> {
    let mut problems = Vec::new();
    for arg in cmd.get_arguments() {
        let Some(var) = arg.get_env() else { continue };
        let Some(value) = std::env::var_os(var) else {
            continue;
        };
        let id = arg.get_id().clone();
        let alone = cmd
            .clone()
            .mut_args(|a| if a.get_id() == &id { a } else { a.env(None) });
        let Err(e) = alone.try_get_matches_from(["helpers"]) else {
            continue;
        };
        if e.kind() == clap::error::ErrorKind::MissingRequiredArgument {
            continue; // nothing to do with this variable
        }
        problems.push((
            var.to_string_lossy().into_owned(),
            format!("{:?}", value.to_string_lossy()),
            allowed(&e),
        ));
    }
    problems
}

/// What clap's error says is allowed: the parser's own sentence (e.g. "use a number of
/// seconds from 0 to 86400"), or the possible values of a choice.
fn allowed(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    if let Some(source) = std::error::Error::source(e) {
        return source.to_string();
    }
    if let Some(ContextValue::Strings(values)) = e.get(ContextKind::ValidValue) {
        return format!("use one of: {}", values.join(", "));
    }
    clap_error(e).to_string()
}

/// Fails with every environment variable of `commands` that holds a refused value, each
/// named with its value and what is allowed.
fn check_env(commands: &[&clap::Command]) -> Result<()> {
    let mut problems: Vec<(String, String, String)> = Vec::new();
    for cmd in commands {
        for p in env_problems(cmd) {
            if !problems.iter().any(|q| q.0 == p.0) {
                problems.push(p);
            }
        }
    }
    let Some((var, value, hint)) = problems.first() else {
        return Ok(());
    };
    let others: String = problems[1..]
        .iter()
        .map(|(v, value, hint)| format!("; and {v} = {value}: {hint}"))
        .collect();
    Err(Error::config(
        var,
        value,
        &format!("{hint}{others} (fix or unset the variable)"),
    ))
}

/// Parses a program's command line; a bad environment variable or flag ends the program
/// with a message naming it, its value and what is allowed (exit status 2, as clap does).
/// Every program parses its arguments through this. The variables of [`Environment`] are
/// checked too, since every program reads them (the state folder, the backend), flattened
/// into its arguments or not.
pub fn parse_args<T: Parser>(program: &str) -> T {
    if let Err(e) = check_env(&[&T::command(), &EnvironmentOnly::command()]) {
        eprintln!("{program}: {e}");
        std::process::exit(2);
    }
    T::parse()
}

/// Turns clap's error (a bad environment variable) into the crate's one-line error.
fn clap_error(e: &clap::Error) -> Error {
    let text = e.to_string();
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let first = first.trim_start_matches("error: ");
    Error::config(
        "(environment)",
        first,
        "fix or unset that environment variable",
    )
}

/// [`Environment`] as a parser of its own.
#[derive(Parser)]
struct EnvironmentOnly {
    /// The settings.
    #[command(flatten)]
    env: Environment,
}

impl Environment {
    /// Reads the environment; an unusable value is an error naming it.
    pub fn from_env() -> Result<Environment> {
        from_env_only::<EnvironmentOnly>(&[]).map(|e| e.env)
    }

    /// Reads the environment for callers that cannot fail (a default folder, a status
    /// table): a variable holding a refused value is left out, *and only that one*, and
    /// said on stderr, which a notebook shows under the cell. ([`Settings::from_env`], the
    /// notebook's first cell, refuses such a value outright.)
    pub fn current() -> Environment {
        let cmd = EnvironmentOnly::command();
        let problems = env_problems(&cmd);
        for (var, value, hint) in &problems {
            eprintln!("warning: {var}={value} is ignored: {hint}");
        }
        let bad: Vec<&str> = problems.iter().map(|(v, _, _)| v.as_str()).collect();
        let cmd = cmd.mut_args(|a| {
            let refused = a
                .get_env()
                .is_some_and(|v| bad.iter().any(|b| v == std::ffi::OsStr::new(b)));
            if refused {
                a.env(None)
            } else {
                a
            }
        });
        cmd.try_get_matches_from(["helpers"])
            .ok()
            .and_then(|m| EnvironmentOnly::from_arg_matches(&m).ok())
            .map(|e| e.env)
            .unwrap_or_default()
    }

    /// The state folder: `STREAM_DEMO_DIR`, else `<tmp>/streaming-demo-<uid>`.
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(crate::sys::state::default_state_dir)
    }

    /// Docker's Kafka's addresses (`DOCKER_BROKERS`: one broker or three).
    pub fn docker_bootstrap(&self) -> String {
        crate::lab::infra::docker_kafka(self.docker_brokers.unwrap_or(1))
            .1
            .to_string()
    }

    /// Where clients should connect: `KAFKA_BOOTSTRAP` if set, else the running broker
    /// program's address published in `state_dir`, else Docker's (`127.0.0.1:9092`, or
    /// its three brokers' addresses with `DOCKER_BROKERS=3`).
    pub fn bootstrap(&self, state_dir: &std::path::Path) -> String {
        self.kafka_bootstrap().unwrap_or_else(|| {
            crate::kafka::client::find_bootstrap(state_dir, &self.docker_bootstrap())
        })
    }

    /// `KAFKA_BOOTSTRAP`, if set to something other than blanks.
    fn kafka_bootstrap(&self) -> Option<String> {
        let given = self.bootstrap.as_deref().map(str::trim)?;
        (!given.is_empty()).then(|| given.to_string())
    }

    /// The notebook's Kafka ([`InfraConfig::classroom`]) with this environment's backend
    /// (`STREAM_DEMO_BACKEND`), Docker's size (`DOCKER_BROKERS`) and state folder.
    pub fn infra_config(&self) -> InfraConfig {
        InfraConfig {
            backend: self.backend.map(|b| match b {
                BackendChoice::Docker => Backend::Docker,
                BackendChoice::Embedded => Backend::Embedded,
                BackendChoice::Tansu => Backend::Tansu,
                BackendChoice::Kafka => Backend::Kafka,
            }),
            state_dir: self.state_dir(),
            ..InfraConfig::classroom()
        }
        .with_docker_brokers(self.docker_brokers.unwrap_or(1))
    }

    /// A consumer's settings where this environment runs: its broker (`KAFKA_BOOTSTRAP`,
    /// else found at start: the published address, else Docker's) and state folder.
    pub fn place_pipeline(&self, config: PipelineConfig) -> PipelineConfig {
        PipelineConfig {
            bootstrap: self.kafka_bootstrap().unwrap_or_default(),
            fallback_bootstrap: self.docker_bootstrap(),
            state_dir: self.state_dir(),
            ..config
        }
    }

    /// A producer's settings where this environment runs (as [`Environment::place_pipeline`]).
    pub fn place_producer(&self, config: ProducerConfig) -> ProducerConfig {
        ProducerConfig {
            bootstrap: self.kafka_bootstrap().unwrap_or_default(),
            fallback_bootstrap: self.docker_bootstrap(),
            state_dir: self.state_dir(),
            ..config
        }
    }

    /// What the notebook's settings table shows of where things run (which Kafka Docker
    /// runs), as `(name [VARIABLE], value)` rows.
    pub fn rows(&self) -> Vec<(String, String)> {
        let brokers = self.docker_brokers.unwrap_or(1);
        let (file, _) = crate::lab::infra::docker_kafka(brokers);
        vec![(
            tr(
                "Kafka brokers, when Docker runs Kafka [DOCKER_BROKERS]",
                "brokers de Kafka, si Kafka va en Docker [DOCKER_BROKERS]",
            )
            .to_string(),
            format!("{brokers} ({file})"),
        )]
    }
}

impl Default for Settings {
    /// The defaults of the one definition above, ignoring the environment.
    fn default() -> Self {
        let cmd = Settings::command().mut_args(|a| a.env(None));
        let matches = cmd
            .try_get_matches_from(["helpers"])
            .expect("the defaults parse");
        Settings::from_arg_matches(&matches).expect("the defaults are settings")
    }
}

impl Settings {
    /// Reads the environment (see the module docs); a bad value is an error naming it.
    /// Where things run ([`Environment`]) is read too, so a bad `STREAM_DEMO_BACKEND` or
    /// `STREAM_DEMO_DIR` stops the first cell instead of sending the demo elsewhere.
    pub fn from_env() -> Result<Settings> {
        let s: Settings = from_env_only(&[&EnvironmentOnly::command()])?;
        s.validate()?;
        Ok(s)
    }

    /// Checks what no single setting can: the slide against the width, the weights.
    pub fn validate(&self) -> Result<()> {
        self.producer.config()?;
        self.window.window_config().validate()
    }

    /// The window settings.
    pub fn window_config(&self) -> WindowConfig {
        self.window.window_config()
    }

    /// The producer settings, placed where the environment says (its broker is found at
    /// start unless `KAFKA_BOOTSTRAP` names it).
    pub fn producer(&self) -> Result<ProducerConfig> {
        Ok(Environment::current().place_producer(self.producer.config()?))
    }

    /// The consumer settings, placed where the environment says.
    pub fn pipeline(&self) -> PipelineConfig {
        Environment::current().place_pipeline(self.window.pipeline())
    }

    /// The consumer settings in event time, the rest as [`Settings::pipeline`]: a second
    /// consumer of the same stream, beside the processing-time one, that meets late data.
    pub fn event_time_pipeline(&self) -> PipelineConfig {
        let mut config = self.pipeline();
        config.window.time_domain = crate::core::config::TimeDomain::EventTime;
        config
    }

    /// The consumer settings of a consumer that keeps a checkpoint in `folder` (see
    /// [`crate::kafka::checkpoint`]). Started with a folder that has none yet, it reads the
    /// topic from its start; started again with the same folder, from its checkpoint.
    pub fn with_checkpoint(&self, folder: impl Into<std::path::PathBuf>) -> PipelineConfig {
        PipelineConfig {
            checkpoint: Some(folder.into()),
            start_from: crate::kafka::consumer::StartFrom::Earliest,
            ..self.pipeline()
        }
    }

    /// The consumer settings of a member of consumer group `group`: the members share the
    /// topic's partitions. A new group starts at the beginning of the topic; a known one
    /// where its members committed.
    pub fn group_member(&self, group: &str) -> PipelineConfig {
        PipelineConfig {
            group: Some(group.to_string()),
            start_from: crate::kafka::consumer::StartFrom::Earliest,
            ..self.pipeline()
        }
    }

    /// The settings as `(name [VARIABLE], value)` rows.
    pub fn rows(&self) -> Vec<(String, String)> {
        let (p, w) = (&self.producer, &self.window);
        let kind = if w.slide < w.width {
            tr("sliding windows", "ventanas deslizantes")
        } else {
            tr("tumbling windows", "ventanas fijas")
        };
        let secs = |d: Duration| format!("{} s", d.as_secs_f64());
        let off = || format!("0 s ({})", tr("off", "desactivado"));
        let trend = if p.trend_every.is_zero() {
            off()
        } else {
            format!("{} {}", tr("every", "cada"), secs(p.trend_every))
        };
        let domain = match w.time_domain {
            TimeDomain::ProcessingTime => tr(
                "processing (when the consumer receives an event)",
                "procesamiento (cuando el consumidor recibe el evento)",
            ),
            TimeDomain::EventTime => tr(
                "event (the event's own timestamp)",
                "evento (la marca de tiempo del propio evento)",
            ),
        };
        let rows = [
            (
                tr("producer rate [PRODUCER_RATE]", "ritmo del productor [PRODUCER_RATE]"),
                format!("{} {}", p.rate, tr("events/s", "eventos/s")),
            ),
            (
                tr("hashtags and weights [HASHTAG_WEIGHTS]", "hashtags y pesos [HASHTAG_WEIGHTS]"),
                p.weights.clone(),
            ),
            (tr("seed [PRODUCER_SEED]", "semilla [PRODUCER_SEED]"), p.seed.to_string()),
            (tr("trend shift [TREND_EVERY]", "cambio de tendencia [TREND_EVERY]"), trend),
            (
                tr("late events [LATE_SHARE]", "eventos tardíos [LATE_SHARE]"),
                format!("{} ({:.0} %)", p.late_share, p.late_share * 100.0),
            ),
            (
                tr(
                    "lateness of a late event, at most [MAX_LATENESS_SECS]",
                    "retraso de un evento tardío, como máximo [MAX_LATENESS_SECS]",
                ),
                secs(p.max_lateness),
            ),
            (
                tr("window width [WINDOW_SECS]", "ancho de la ventana [WINDOW_SECS]"),
                format!("{} ({kind})", secs(w.width)),
            ),
            (
                tr("window slide [SLIDE_SECS]", "deslizamiento [SLIDE_SECS]"),
                secs(w.slide),
            ),
            (
                tr(
                    "watermark delay [WATERMARK_SECS]",
                    "margen de la marca de agua [WATERMARK_SECS]",
                ),
                secs(w.watermark),
            ),
            (
                tr("time domain [TIME_DOMAIN]", "tiempo [TIME_DOMAIN]"),
                domain.to_string(),
            ),
            (
                tr("trigger interval [TRIGGER_SECS]", "intervalo del disparador [TRIGGER_SECS]"),
                secs(w.trigger),
            ),
            (
                tr(
                    "event time: future events rejected beyond [MAX_FUTURE_SECS]",
                    "tiempo de evento: se rechazan los eventos adelantados más de [MAX_FUTURE_SECS]",
                ),
                if w.max_future.is_zero() {
                    off()
                } else {
                    secs(w.max_future)
                },
            ),
            (
                tr(
                    "hashtags kept per pane, at most [MAX_HASHTAGS]",
                    "hashtags guardados por tramo, como máximo [MAX_HASHTAGS]",
                ),
                w.max_hashtags.to_string(),
            ),
            (
                tr(
                    "window state, at most, in rows [MAX_STATE_ROWS]",
                    "estado de las ventanas, como máximo, en filas [MAX_STATE_ROWS]",
                ),
                w.max_state_rows.to_string(),
            ),
            (
                tr(
                    "watch cell length [WATCH_SECS]",
                    "duración de una celda de observación [WATCH_SECS]",
                ),
                secs(self.watch.length),
            ),
            (
                tr(
                    "watch cell print interval [WATCH_EVERY_SECS]",
                    "intervalo de impresión de la observación [WATCH_EVERY_SECS]",
                ),
                secs(self.watch.every),
            ),
        ];
        rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

impl ProducerSettings {
    /// The producer's settings (broker and topic: found at start, `tweets_topic`).
    pub fn config(&self) -> Result<ProducerConfig> {
        let mut c = ProducerConfig {
            rate: self.rate,
            late_share: self.late_share,
            max_lateness: self.max_lateness,
            ..Default::default()
        };
        c.generator = c.generator.with_weights_spec(&self.weights)?;
        c.generator.seed = self.seed;
        c.generator.trend = (!self.trend_every.is_zero()).then_some(TrendShift {
            every: self.trend_every,
        });
        c.validate()?;
        Ok(c)
    }
}

impl WindowSettings {
    /// The window engine's settings.
    pub fn window_config(&self) -> WindowConfig {
        let mut c = WindowConfig::sliding(self.width, self.slide)
            .with_watermark(self.watermark)
            .with_time_domain(self.time_domain)
            .with_max_future((!self.max_future.is_zero()).then_some(self.max_future));
        c.max_hashtags = self.max_hashtags;
        c.max_state_rows = self.max_state_rows;
        c
    }

    /// The live consumer's settings (broker: found at start; topic `tweets_topic`).
    pub fn pipeline(&self) -> PipelineConfig {
        PipelineConfig {
            window: self.window_config(),
            trigger: self.trigger,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> std::result::Result<Settings, clap::Error> {
        let cmd = Settings::command().mut_args(|a| a.env(None));
        let m = cmd.try_get_matches_from(std::iter::once("helpers").chain(args.iter().copied()))?;
        Settings::from_arg_matches(&m)
    }

    #[test]
    fn defaults_are_the_classroom_ones() {
        let s = Settings::default();
        assert_eq!(s.producer.rate, 5.0);
        assert_eq!(s.producer.seed, 42);
        assert_eq!(s.window.width, Duration::from_secs(60));
        assert_eq!(s.window.slide, Duration::from_secs(10));
        assert_eq!(s.window.trigger, Duration::from_secs(10));
        assert_eq!(s.window.time_domain, TimeDomain::ProcessingTime);
        assert!(s.validate().is_ok());
        assert_eq!(s.producer().unwrap().generator.hashtags.len(), 4);
    }

    #[test]
    fn the_library_defaults_are_the_same_settings() {
        let s = Settings::default();
        let (p, lib) = (s.producer().unwrap(), ProducerConfig::default());
        assert_eq!(p.rate, lib.rate);
        assert_eq!(p.generator.seed, lib.generator.seed);
        assert_eq!(p.generator.hashtags, lib.generator.hashtags);
        let share =
            |w: &[f64]| -> Vec<f64> { w.iter().map(|x| x / w.iter().sum::<f64>()).collect() };
        assert_eq!(share(&p.generator.weights), share(&lib.generator.weights));
        assert_eq!(p.max_lateness, lib.max_lateness);
        let (c, lib) = (s.pipeline(), PipelineConfig::default());
        assert_eq!(c.trigger, lib.trigger);
        assert_eq!(c.window.width, lib.window.width);
        assert_eq!(c.window.watermark_delay, lib.window.watermark_delay);
        assert_eq!(c.window.time_domain, lib.window.time_domain);
        // The deliberate differences: the library's windows are the original job's
        // (tumbling), the classroom's slide every 10 s to show overlap; the library
        // stamps no event in the past, the classroom 10 %, so that the lesson's
        // event-time consumer meets late data (a processing-time one counts them all).
        assert_eq!(lib.window.slide, lib.window.width);
        assert_eq!(
            (p.late_share, ProducerConfig::default().late_share),
            (0.1, 0.0)
        );
    }

    #[test]
    fn every_setting_has_a_range() {
        // (flag, value): each must be refused with an error, never a panic.
        let bad = [
            ("--rate", "-1"),
            ("--rate", "NaN"),
            ("--rate", "1e300"),
            // Issue 23: a tiny positive rate made the producer's pacing panic.
            ("--rate", "1e-30"),
            ("--seed", "42.7"),
            ("--seed", "-1"),
            ("--trend-every", "inf"),
            ("--late-share", "1.5"),
            ("--max-lateness", "-3"),
            ("--width", "0"),
            ("--width", "1e20"),
            ("--slide", ""),
            ("--watermark", "1e20"),
            ("--time-domain", "wall"),
            ("--trigger", "0"),
            ("--watch", "1e20"),
            ("--watch-every", "0"),
            ("--max-future", "-1"),
            ("--max-hashtags", "0"),
            ("--max-hashtags", "1e3"),
        ];
        for (flag, value) in bad {
            assert!(
                parse(&[flag, value]).is_err(),
                "{flag} {value} was accepted"
            );
        }
        let s = parse(&["--seed", "18446744073709551615", "--watch", "86400"]).unwrap();
        assert_eq!(s.producer.seed, u64::MAX);
        assert_eq!(s.watch.length, Duration::from_secs(86_400));
    }

    fn parse_environment(args: &[&str]) -> std::result::Result<Environment, clap::Error> {
        let cmd = EnvironmentOnly::command().mut_args(|a| a.env(None));
        let m = cmd.try_get_matches_from(std::iter::once("helpers").chain(args.iter().copied()))?;
        EnvironmentOnly::from_arg_matches(&m).map(|e| e.env)
    }

    #[test]
    fn docker_brokers_are_one_or_three() {
        let env = parse_environment(&[]).unwrap();
        assert_eq!(env.docker_brokers, None);
        assert_eq!(env.rows()[0].1, "1 (docker/docker-compose.yml)");
        let env = parse_environment(&["--docker-brokers", "3"]).unwrap();
        assert_eq!(env.docker_brokers, Some(3));
        assert_eq!(env.rows()[0].1, "3 (docker/docker-compose.cluster.yml)");
        for bad in ["0", "2", "5", "three", "-1"] {
            assert!(
                parse_environment(&["--docker-brokers", bad]).is_err(),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn combinations_are_checked() {
        let s = parse(&["--width", "60", "--slide", "7"]).unwrap();
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("window.slide"), "{e}");
        let s = parse(&["--weights", "#a=x"]).unwrap();
        assert!(s.validate().is_err());
    }

    proptest::proptest! {
        /// Arbitrary text in any setting gives a value or an error, never a panic; and an
        /// accepted value builds producer and window settings without panicking.
        #[test]
        fn arbitrary_values_never_panic(flag in 0usize..15, value in ".{0,24}") {
            let flags = [
                "--rate", "--weights", "--seed", "--trend-every", "--late-share",
                "--max-lateness", "--width", "--slide", "--watermark", "--time-domain",
                "--trigger", "--watch", "--watch-every", "--max-future", "--max-hashtags",
            ];
            let arg = format!("{}={value}", flags[flag]);
            if let Ok(s) = parse(&[&arg]) {
                let _ = s.validate();
                let _ = s.rows();
            }
        }
    }
}
