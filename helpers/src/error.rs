//! The error type of every call that can fail.
//!
//! Each message stands alone in a notebook cell: it says what is wrong, quotes the bad
//! value, and says what to do. (A message that cannot be counted is not an error: see
//! [`crate::core::event::Rejection`].)

use std::path::PathBuf;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting has a value that cannot work.
    #[error("invalid setting {name} = {value}: {hint}")]
    Config {
        /// The setting's name, e.g. `window.slide` or `HASHTAG_WEIGHTS`.
        name: String,
        /// The value given.
        value: String,
        /// What would be accepted.
        hint: String,
    },
    /// No Kafka broker answered at the bootstrap address.
    #[error(
        "no Kafka broker answered at {bootstrap} within {waited_secs} s: start one with \
        `start_kafka()` (or `cargo run --bin broker`) and check the address"
    )]
    BrokerUnreachable {
        /// The address tried.
        bootstrap: String,
        /// How long we waited.
        waited_secs: u64,
    },
    /// A Kafka client call failed.
    #[error("kafka: {context}: {source}")]
    Kafka {
        /// What we were doing.
        context: String,
        /// The client's error (rdkafka's `KafkaError`; boxed, so that this bottom layer
        /// carries no Kafka type and `core` stays free of one).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A helper program could not be found or built.
    #[error("cannot find or build the `{name}` program: {hint}")]
    MissingBinary {
        /// The program's name.
        name: String,
        /// What to do.
        hint: String,
    },
    /// A running part of the pipeline (a thread, a program, a command) failed or ended:
    /// match on `component` to know which.
    #[error("{component} failed: {detail}")]
    Failed {
        /// Which part.
        component: Component,
        /// What it said, or what ended it.
        detail: String,
    },
    /// Reading or writing a file or socket failed.
    #[error("{context}{}: {source}", in_path(path.as_deref()))]
    Io {
        /// What we were doing.
        context: String,
        /// The file or address concerned, if there is one.
        path: Option<PathBuf>,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The state directory (or a file in it) cannot be trusted: another user could have
    /// planted what we would read, or redirect what we write.
    #[error(
        "the state directory {} cannot be trusted: {problem}. Remove it, or set \
        STREAM_DEMO_DIR to a directory only you can write",
        path.display()
    )]
    UnsafeStateDir {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Something took longer than its bound.
    #[error("timed out after {secs} s: {what}")]
    Timeout {
        /// What we waited for.
        what: String,
        /// How long we waited.
        secs: u64,
    },
    /// A view (table or chart) could not be built.
    #[error("cannot draw {what}: {detail}")]
    View {
        /// The table or chart.
        what: String,
        /// Why.
        detail: String,
    },
}

impl Error {
    /// An [`Error::Config`] for `name = value`.
    pub fn config(name: &str, value: impl ToString, hint: &str) -> Error {
        Error::Config {
            name: name.to_string(),
            value: value.to_string(),
            hint: hint.to_string(),
        }
    }

    /// An [`Error::Io`] about `path`.
    pub fn io(context: &str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.to_string(),
            path: Some(path.into()),
            source,
        }
    }

    /// An [`Error::Io`] that concerns no file (a thread, a runtime, a socket we hold).
    pub fn os(context: &str, source: std::io::Error) -> Error {
        Error::Io {
            context: context.to_string(),
            path: None,
            source,
        }
    }

    /// An [`Error::Kafka`] while doing `context`.
    pub fn kafka(context: &str, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Kafka {
            context: context.to_string(),
            source: Box::new(source),
        }
    }
}

/// The running part of the class's pipeline an [`Error::Failed`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Component {
    /// The consumer's reading thread (the pipeline).
    Consumer,
    /// The consumer's counting thread.
    CountingThread,
    /// The producer program.
    Producer,
    /// The embedded broker program.
    EmbeddedBroker,
    /// The Tansu broker the `broker` program hosts.
    Tansu,
    /// Apache Kafka's nodes the `broker` program hosts.
    ApacheKafka,
    /// A Docker command, with its arguments (`docker compose up --wait`).
    Docker(String),
    /// Starting Kafka (at this address, when one is concerned).
    KafkaStart(Option<String>),
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Component::Consumer => f.write_str("the consumer"),
            Component::CountingThread => f.write_str("the consumer's counting thread"),
            Component::Producer => f.write_str("the producer"),
            Component::EmbeddedBroker => f.write_str("the embedded broker"),
            Component::Tansu => f.write_str("tansu"),
            Component::ApacheKafka => f.write_str("Apache Kafka"),
            Component::Docker(command) => f.write_str(command),
            Component::KafkaStart(None) => f.write_str("starting Kafka"),
            Component::KafkaStart(Some(addr)) => write!(f, "starting Kafka on {addr}"),
        }
    }
}

/// ` (<path>)` after an I/O error's context, or nothing when it concerns no file.
fn in_path(path: Option<&std::path::Path>) -> String {
    path.map(|p| format!(" ({})", p.display()))
        .unwrap_or_default()
}

/// The result of a call that can fail.
pub type Result<T, E = Error> = std::result::Result<T, E>;
