//! Infrastructure control: start, check, stop and tear down Kafka from a notebook cell.
//!
//! [`start_with`] uses Docker (`docker compose -f docker/docker-compose.yml up --wait`: real
//! Apache Kafka on 127.0.0.1:9092; with `DOCKER_BROKERS=3`, three brokers from
//! `docker/docker-compose.cluster.yml` on 127.0.0.1:9092, 9094 and 9096) when a Docker
//! engine answers, and otherwise starts the embedded broker ([`crate::lab::broker`]); it
//! says which it chose and why. Readiness is a metadata request with a bounded wait, never
//! a fixed sleep. The embedded broker lives until [`Infra::stop`], [`Infra::down`], or the
//! end of the process that started it (it watches our pid), so a failing cell that drops a
//! handle does not take Kafka down with it.
//!
//! Docker's outage ([`Infra::outage`]) pauses the container (all three with
//! `DOCKER_BROKERS=3`: an outage of the whole cluster), and a pause outlives the
//! kernel that asked for it; so the pausing process is recorded in the state directory and
//! [`start_with`] unpauses a paused container unless that process still runs elsewhere.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::core::config::{CLUSTER_BOOTSTRAP, DEFAULT_BOOTSTRAP, TWEETS_TOPIC};
use crate::core::lang::tr;
use crate::error::{Component, Error, Result};
use crate::kafka::client::{describe_topics, ensure_topic, wait_for_broker, TopicInfo};
use crate::lab::broker::{BrokerInfo, Engine, BROKER_FILE};
use crate::lab::controller::{ClusterControl, PartitionState, CONTROL_FILE};
use crate::sys::binary::binary;
use crate::sys::binary::crate_dir;
use crate::sys::command::{run_bounded, CommandError};
use crate::sys::lock;
use crate::sys::process::spawn_child;
use crate::sys::process::{signal_recorded, terminate_recorded, ProcessRecord};
use crate::sys::state::default_state_dir;
use crate::sys::state::{ensure_dir, write_atomic};
use crate::sys::wait::until;

/// Which Kafka runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    /// Apache Kafka in Docker, from `docker/docker-compose.yml` (or, with
    /// `DOCKER_BROKERS=3`, `docker/docker-compose.cluster.yml`).
    Docker,
    /// The embedded broker (librdkafka's mock cluster in the `broker` program).
    Embedded,
    /// Tansu, an independent Kafka-compatible broker, hosted by the `broker` program.
    Tansu,
    /// Apache Kafka itself (KRaft, as many nodes as the embedded cluster has brokers),
    /// hosted by the `broker` program: no Docker, Java 17 and the jars
    /// `scripts/setup --kafka` fetches.
    Kafka,
}

impl Backend {
    /// Whether our `broker` program hosts it (embedded, Tansu or Apache Kafka), rather
    /// than Docker.
    pub fn is_hosted(self) -> bool {
        self != Backend::Docker
    }

    /// Whether it is a cluster of several brokers whose leaders can fail over (the
    /// embedded mock, simulated; Apache Kafka's nodes, for real).
    pub fn is_cluster(self) -> bool {
        matches!(self, Backend::Embedded | Backend::Kafka)
    }

    /// The engine the `broker` program runs for this backend.
    fn engine(self) -> Engine {
        match self {
            Backend::Tansu => Engine::Tansu,
            Backend::Kafka => Engine::Kafka,
            Backend::Docker | Backend::Embedded => Engine::Mock,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Docker => "docker",
            Backend::Embedded => "embedded",
            Backend::Tansu => "tansu",
            Backend::Kafka => "kafka",
        })
    }
}

/// Settings of [`start_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct InfraConfig {
    /// Force a backend (`STREAM_DEMO_BACKEND=docker|embedded|tansu|kafka`); `None`: Docker if it
    /// answers, else embedded.
    pub backend: Option<Backend>,
    /// The compose file: `docker/docker-compose.yml`, or `docker/docker-compose.cluster.yml`
    /// with `DOCKER_BROKERS=3` (see [`docker_kafka`]).
    pub compose_file: PathBuf,
    /// Where Docker's Kafka answers: the addresses its brokers advertise, comma-separated
    /// (`127.0.0.1:9092`; three addresses with `DOCKER_BROKERS=3`).
    pub docker_bootstrap: String,
    /// Partitions of `tweets_topic`.
    pub partitions: i32,
    /// Brokers of the embedded cluster (a real cluster's size comes from Docker's file).
    pub brokers: i32,
    /// Copies of each partition in the embedded cluster (at most `brokers`).
    pub replication: i32,
    /// How long to wait for the broker to answer.
    pub wait: Duration,
    /// Where the embedded broker publishes its address.
    pub state_dir: PathBuf,
}

impl InfraConfig {
    /// The notebook's Kafka: [`InfraConfig::default`], with an embedded cluster of 3
    /// brokers holding every partition on all 3 (replication factor 3), so that a broker
    /// can fail and its partitions move to another leader (the notebook's section 9b).
    pub fn classroom() -> InfraConfig {
        InfraConfig {
            brokers: 3,
            replication: 3,
            ..InfraConfig::default()
        }
    }
}

impl InfraConfig {
    /// The same settings with Docker's Kafka of `brokers` brokers (3: the cluster's compose
    /// file; else the single node's), see [`docker_kafka`].
    pub fn with_docker_brokers(self, brokers: u8) -> InfraConfig {
        let (file, docker_bootstrap) = docker_kafka(brokers);
        InfraConfig {
            compose_file: crate_dir().join("..").join(file),
            docker_bootstrap: docker_bootstrap.to_string(),
            ..self
        }
    }
}

impl Default for InfraConfig {
    /// Docker if an engine answers, else one embedded broker; Docker's single-node Kafka.
    /// (The settings' [`crate::settings::Environment::infra_config`] applies
    /// `STREAM_DEMO_BACKEND` and `DOCKER_BROKERS` to the classroom's.)
    fn default() -> Self {
        InfraConfig {
            backend: None,
            compose_file: PathBuf::new(),
            docker_bootstrap: String::new(),
            partitions: 3,
            brokers: 1,
            replication: 1,
            wait: Duration::from_secs(90),
            state_dir: default_state_dir(),
        }
        .with_docker_brokers(1)
    }
}

/// A running Kafka: which one, where, and why it was chosen.
#[derive(Debug, Clone)]
pub struct Infra {
    /// Docker or embedded.
    pub backend: Backend,
    /// The address clients use.
    pub bootstrap: String,
    /// Why this backend (one sentence for the class).
    pub reason: String,
    /// The embedded broker's pid.
    pub broker_pid: Option<u32>,
    /// The settings used.
    pub config: InfraConfig,
    /// The embedded broker's process (pid, start time, program): signals go to it only
    /// while it is still that process.
    broker: Option<ProcessRecord>,
    /// The embedded broker we started (reaped on stop; not killed on drop).
    child: Arc<Mutex<Option<std::process::Child>>>,
}

impl fmt::Display for Infra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {} {}",
            tr("Kafka is up", "Kafka está en marcha"),
            self.backend,
            tr("broker at", "broker en"),
            self.bootstrap
        )?;
        if let Some(pid) = self.broker_pid {
            write!(f, " (pid {pid})")?;
        }
        write!(f, ". {}", self.reason)
    }
}

/// Docker's Kafka with `brokers` brokers (`DOCKER_BROKERS`: 3, else 1): its compose file,
/// relative to the project folder, and the addresses its brokers advertise to clients.
pub fn docker_kafka(brokers: u8) -> (&'static str, &'static str) {
    if brokers == 3 {
        ("docker/docker-compose.cluster.yml", CLUSTER_BOOTSTRAP)
    } else {
        ("docker/docker-compose.yml", DEFAULT_BOOTSTRAP)
    }
}

/// `Ok(version)` if a Docker engine answers, else one sentence saying why not.
pub fn docker_engine() -> std::result::Result<String, String> {
    match run_bounded(
        "docker",
        &["info", "--format", "{{.ServerVersion}}"],
        Duration::from_secs(15),
    ) {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => Err(tr(
            "Docker answered without a server version, so the embedded broker is used",
            "Docker respondió sin versión del servidor, así que se usa el broker embebido",
        )
        .into()),
        Err(CommandError::CannotRun(_)) => Err(tr(
            "Docker is not installed, so the embedded broker is used",
            "Docker no está instalado, así que se usa el broker embebido",
        )
        .into()),
        Err(e) => {
            tracing::debug!("docker info: {e}");
            Err(tr(
                "no Docker engine answers (`docker info` failed), so the embedded broker is used",
                "ningún motor de Docker responde (`docker info` falló), así que se usa el broker \
                 embebido",
            )
            .into())
        }
    }
}

/// How a command is run: [`run_bounded`], or a fake in tests (no Docker engine runs on
/// our machines and CI, so Docker decisions are tested against recorded answers).
type Runner<'a> = &'a dyn Fn(&str, &[&str], Duration) -> std::result::Result<String, CommandError>;

/// The compose command: `docker compose` (v2) or `docker-compose` (v1).
fn compose(config: &InfraConfig, args: &[&str], bound: Duration) -> Result<String> {
    compose_with(&run_bounded, config, args, bound)
}

/// [`compose`], run by `run`.
fn compose_with(
    run_bounded: Runner<'_>,
    config: &InfraConfig,
    args: &[&str],
    bound: Duration,
) -> Result<String> {
    let file = config.compose_file.display().to_string();
    let v2: Vec<&str> = ["compose", "-f", file.as_str()]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    match run_bounded("docker", &v2, bound) {
        Ok(out) => Ok(out),
        // Docker's own words when the `compose` plugin (v2) is missing: fall back to v1.
        Err(CommandError::Failed(e))
            if e.contains("is not a docker command") || e.contains("unknown") =>
        {
            let v1: Vec<&str> = ["-f", file.as_str()]
                .into_iter()
                .chain(args.iter().copied())
                .collect();
            run_bounded("docker-compose", &v1, bound).map_err(|e| Error::Failed {
                component: Component::Docker(format!("docker-compose {}", args.join(" "))),
                detail: e.to_string(),
            })
        }
        Err(e) => Err(Error::Failed {
            component: Component::Docker(format!("docker compose {}", args.join(" "))),
            detail: e.to_string(),
        }),
    }
}

/// Starts Kafka: Docker if an engine answers (or if forced), else the embedded broker;
/// then makes sure `tweets_topic` exists. Re-running it reuses what is already running.
pub fn start_with(config: InfraConfig) -> Result<Infra> {
    let (backend, reason) = match config.backend {
        Some(b) => (
            b,
            format!(
                "{} {b} {}",
                tr("The", "Se ha pedido el servidor"),
                tr(
                    "backend was asked for (STREAM_DEMO_BACKEND).",
                    "(STREAM_DEMO_BACKEND)."
                )
            ),
        ),
        None => match docker_engine() {
            Ok(v) => (
                Backend::Docker,
                format!(
                    "{} {v}) {}",
                    tr("A Docker engine (version", "Un motor de Docker (versión"),
                    tr("answers.", "responde.")
                ),
            ),
            Err(why) => (Backend::Embedded, format!("{}.", capitalise(&why))),
        },
    };
    match backend {
        Backend::Docker => start_docker(config, reason),
        Backend::Embedded | Backend::Tansu | Backend::Kafka => {
            start_embedded(config, backend, reason)
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

/// Checks that Kafka's port is free, or already Kafka's, before Docker tries to bind it:
/// `Ok(true)` a Kafka broker answers there, `Ok(false)` the port is free, `Err` another
/// program holds it (one sentence saying what to do).
pub fn check_kafka_port(addr: &str) -> Result<bool> {
    if std::net::TcpListener::bind(addr).is_ok() {
        return Ok(false);
    }
    if wait_for_broker(addr, Duration::from_secs(3)).is_ok() {
        return Ok(true);
    }
    Err(Error::Failed {
        component: Component::KafkaStart(Some(addr.to_string())),
        detail: format!(
            "port {} is taken by another program that is not Kafka: stop it (`ss -ltnp` shows \
             which; a paused Kafka container holds it too: `docker compose -f \
             docker/docker-compose.yml unpause`), or use the embedded broker with \
             STREAM_DEMO_BACKEND=embedded",
            addr.rsplit(':').next().unwrap_or(addr)
        ),
    })
}

/// File in the state directory naming the process (a [`ProcessRecord`]) that paused
/// Kafka's container for an outage ([`Infra::outage`]).
const PAUSED_BY_FILE: &str = "docker-paused-by.json";

/// Unpauses Kafka's container if an outage left it paused: `docker compose pause` outlives
/// the kernel that asked for it (a killed kernel never ends its outage). Left paused only
/// while the process that paused it still runs and is not us (another notebook's outage
/// demo): then an error says so. Returns a sentence for the class if it unpaused.
fn resume_if_paused(run: Runner<'_>, config: &InfraConfig) -> Result<Option<String>> {
    let record = config.state_dir.join(PAUSED_BY_FILE);
    let ps = compose_with(
        run,
        config,
        &["ps", "--status", "paused", "--quiet"],
        Duration::from_secs(30),
    );
    let paused = match ps {
        Ok(ids) => !ids.trim().is_empty(),
        Err(e) => {
            // An old compose without `ps --status`: carry on as before.
            tracing::debug!("cannot tell whether Kafka's container is paused: {e}");
            return Ok(None);
        }
    };
    if !paused {
        let _ = std::fs::remove_file(&record);
        return Ok(None);
    }
    let pauser: Option<ProcessRecord> =
        crate::sys::state::read_trusted(&config.state_dir, PAUSED_BY_FILE)
            .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(p) = pauser.filter(|p| p.pid != std::process::id() && p.is_running()) {
        return Err(Error::Failed {
            component: Component::KafkaStart(None),
            detail: format!(
                "Kafka's container is paused for an outage by another notebook (pid {}): end \
                 it there with `kafka.outage(false)`, or stop that kernel and start again",
                p.pid
            ),
        });
    }
    compose_with(run, config, &["unpause"], Duration::from_secs(60))?;
    let _ = std::fs::remove_file(&record);
    Ok(Some(
        "Kafka's container was paused by an outage nobody ended (a stopped kernel); it was \
         unpaused."
            .into(),
    ))
}

/// Docker's outage: `docker compose pause` (and a record of who paused, so the next
/// [`start_with`] can tell an abandoned pause from another notebook's demo), or `unpause`.
fn docker_outage(run: Runner<'_>, config: &InfraConfig, down: bool) -> Result<()> {
    let record = config.state_dir.join(PAUSED_BY_FILE);
    if down {
        ensure_dir(&config.state_dir)?;
        if let Some(me) = ProcessRecord::current() {
            let json = serde_json::to_vec(&me).expect("record serialises");
            crate::sys::state::write_atomic(&record, &json)?;
        }
        compose_with(run, config, &["pause"], Duration::from_secs(60)).map(|_| ())
    } else {
        compose_with(run, config, &["unpause"], Duration::from_secs(60))?;
        let _ = std::fs::remove_file(&record);
        Ok(())
    }
}

fn start_docker(config: InfraConfig, reason: String) -> Result<Infra> {
    let reason = match resume_if_paused(&run_bounded, &config)? {
        Some(note) => format!("{reason} {note}"),
        None => reason,
    };
    let bootstrap = config.docker_bootstrap.clone();
    for addr in bootstrap.split(',') {
        check_kafka_port(addr)?;
    }
    compose(
        &config,
        &["up", "--wait", "-d"],
        config.wait + Duration::from_secs(120),
    )?;
    wait_for_broker(&bootstrap, config.wait)?;
    ensure_topic(&bootstrap, TWEETS_TOPIC, config.partitions, config.wait)?;
    Ok(Infra {
        backend: Backend::Docker,
        bootstrap,
        reason,
        broker_pid: None,
        broker: None,
        config,
        child: Arc::new(Mutex::new(None)),
    })
}

fn start_embedded(config: InfraConfig, backend: Backend, reason: String) -> Result<Infra> {
    ensure_dir(&config.state_dir)?;
    // Already running (a re-run cell)? Reuse it if it answers and is the same engine.
    if let Some(info) = BrokerInfo::read(&config.state_dir) {
        let process = info.process();
        if process.is_some()
            && info.engine == backend.engine()
            && (backend == Backend::Tansu || info.brokers == config.brokers)
            && wait_for_broker(&info.bootstrap, Duration::from_secs(5)).is_ok()
        {
            return Ok(Infra {
                backend,
                bootstrap: info.bootstrap,
                reason: format!(
                    "{reason} {}",
                    tr(
                        "It was already running; reusing it.",
                        "Ya estaba en marcha; se reutiliza."
                    )
                ),
                broker_pid: Some(info.pid),
                broker: process,
                config,
                child: Arc::new(Mutex::new(None)),
            });
        }
        if let Some(other) = &process {
            // Another engine runs there: stop it, so one broker serves the notebook.
            terminate_recorded(other, Duration::from_secs(5));
        }
        let _ = std::fs::remove_file(config.state_dir.join(BROKER_FILE));
    }
    let program = binary("broker")?;
    // The folder travels as it is (an OsString): its name need not be UTF-8.
    let args: Vec<std::ffi::OsString> = vec![
        "--state-dir".into(),
        config.state_dir.clone().into(),
        "--partitions".into(),
        config.partitions.to_string().into(),
        "--engine".into(),
        format!("{:?}", backend.engine()).to_lowercase().into(),
        "--brokers".into(),
        config.brokers.to_string().into(),
        "--replication".into(),
        config.replication.to_string().into(),
    ];
    let mut child = spawn_child(&program, &args, &config.state_dir.join("broker.log"))?;
    let info = wait_published(&config, &mut child)?;
    wait_for_broker(&info.bootstrap, config.wait)?;
    let broker = info.process();
    Ok(Infra {
        backend,
        bootstrap: info.bootstrap,
        reason,
        broker_pid: Some(child.id()),
        broker,
        config,
        child: Arc::new(Mutex::new(Some(child))),
    })
}

/// Waits until the broker program we just started publishes its address; fails with its
/// last log line if it exits first, or after `config.wait` (then it is stopped).
fn wait_published(config: &InfraConfig, child: &mut std::process::Child) -> Result<BrokerInfo> {
    let pid = child.id();
    let deadline = Instant::now() + config.wait;
    loop {
        if let Some(info) = BrokerInfo::read(&config.state_dir).filter(|i| i.pid == pid) {
            return Ok(info);
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = crate::sys::state::read(&config.state_dir.join("broker.log"))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            return Err(Error::Failed {
                component: Component::EmbeddedBroker,
                detail: format!("exited with {status}: {}", log.lines().last().unwrap_or("")),
            });
        }
        if Instant::now() > deadline {
            crate::sys::process::terminate_child(child, Duration::from_secs(2));
            return Err(Error::Timeout {
                what: "the embedded broker to publish its address".into(),
                secs: config.wait.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Infra {
    /// The current status: backend, brokers, topics with partitions and end offsets.
    pub fn status(&self) -> Result<Status> {
        status_of(self.backend, &self.bootstrap, self.broker_pid)
    }

    /// Stops Kafka. Docker: `docker compose stop` (data kept). Embedded: the broker
    /// program ends (its data was in memory only).
    pub fn stop(&self) -> Result<()> {
        match self.backend {
            Backend::Docker => {
                compose(&self.config, &["stop"], Duration::from_secs(120)).map(|_| ())
            }
            Backend::Embedded | Backend::Tansu | Backend::Kafka => {
                if let Some(broker) = &self.broker {
                    terminate_recorded(broker, Duration::from_secs(5));
                }
                if let Some(mut child) = lock(&self.child).take() {
                    crate::sys::process::terminate_child(&mut child, Duration::from_secs(5));
                }
                Ok(())
            }
        }
    }

    /// Tears Kafka down. Docker: `docker compose down`, with `-v` if `volumes` (deletes the
    /// stored messages). Embedded: same as [`Infra::stop`].
    pub fn down(&self, volumes: bool) -> Result<()> {
        match self.backend {
            Backend::Docker => {
                let args: &[&str] = if volumes { &["down", "-v"] } else { &["down"] };
                compose(&self.config, args, Duration::from_secs(180)).map(|_| ())
            }
            Backend::Embedded | Backend::Tansu | Backend::Kafka => self.stop(),
        }
    }

    /// Simulates a broker outage (`down = true`) or ends it (`down = false`), keeping the
    /// data: the embedded broker refuses connections (librdkafka's `broker_down`), Docker's
    /// container is paused (`docker compose pause`). Clients retry; nothing is lost.
    pub fn outage(&self, down: bool) -> Result<()> {
        match self.backend {
            Backend::Docker => docker_outage(&run_bounded, &self.config, down),
            Backend::Embedded | Backend::Tansu | Backend::Kafka => {
                let broker = self.broker.as_ref().ok_or_else(|| Error::Failed {
                    component: Component::EmbeddedBroker,
                    detail: "its process is unknown: start it with `start_kafka()`".into(),
                })?;
                let pid = broker.pid;
                let sig = if down { libc::SIGUSR1 } else { libc::SIGUSR2 };
                if !signal_recorded(broker, sig) {
                    return Err(Error::Failed {
                        component: Component::EmbeddedBroker,
                        detail: format!("pid {pid} is not running: start it with `start_kafka()`"),
                    });
                }
                let changed = until(Duration::from_secs(5), Duration::from_millis(20), || {
                    BrokerInfo::read(&self.config.state_dir)
                        .is_some_and(|i| i.pid == pid && i.available != down)
                });
                if changed {
                    return Ok(());
                }
                Err(Error::Timeout {
                    what: "the embedded broker to change its availability".into(),
                    secs: 5,
                })
            }
        }
    }

    /// Takes broker `id` (from 1) of the cluster down. The embedded cluster simulates a
    /// crash: the `broker` program plays Kafka's controller and moves the broker's
    /// partitions to another in-sync replica first (see [`crate::lab::controller`]).
    /// Apache Kafka's node is killed (SIGKILL), a real crash: its own controller elects new
    /// leaders once the node's session times out ([`crate::lab::kraft`]). Returns when the
    /// broker is down, not when the leaders have moved.
    pub fn broker_down(&self, id: i32) -> Result<()> {
        self.set_broker(id, false)
    }

    /// Brings broker `id` back (Apache Kafka's: restarted on its storage, it catches up and
    /// rejoins the in-sync replicas); partitions without a leader get it.
    pub fn broker_up(&self, id: i32) -> Result<()> {
        self.set_broker(id, true)
    }

    /// Asks the embedded cluster's controller to take `id` down or up, and waits for it.
    fn set_broker(&self, id: i32, up: bool) -> Result<()> {
        if !self.backend.is_cluster() || !(1..=self.config.brokers).contains(&id) {
            return Err(Error::config(
                "broker",
                id,
                &format!(
                    "use 1 to {} on the embedded or kafka backend (this one is {})",
                    self.config.brokers, self.backend
                ),
            ));
        }
        let dir = &self.config.state_dir;
        let mut want = ClusterControl::read(dir).unwrap_or_default();
        if up {
            want.down.remove(&id);
        } else {
            want.down.insert(id);
        }
        let json = serde_json::to_vec(&want).expect("control serialises");
        write_atomic(&dir.join(CONTROL_FILE), &json)?;
        let done = until(Duration::from_secs(10), Duration::from_millis(20), || {
            BrokerInfo::read(dir).is_some_and(|i| i.down.contains(&id) != up)
        });
        if done {
            Ok(())
        } else {
            Err(Error::Timeout {
                what: format!(
                    "the embedded cluster to take broker {id} {}",
                    if up { "up" } else { "down" }
                ),
                secs: 10,
            })
        }
    }

    /// Each partition's leader, replicas and in-sync replicas, as the embedded cluster's
    /// controller published them, or as Apache Kafka's metadata said a moment ago (empty
    /// for Docker and Tansu).
    pub fn partitions(&self) -> Vec<PartitionState> {
        BrokerInfo::read(&self.config.state_dir)
            .filter(|i| Some(i.pid) == self.broker_pid)
            .map(|i| i.cluster)
            .unwrap_or_default()
    }

    /// The cluster's brokers that are down now (empty for Docker and Tansu).
    pub fn brokers_down(&self) -> Vec<i32> {
        BrokerInfo::read(&self.config.state_dir)
            .filter(|i| Some(i.pid) == self.broker_pid)
            .map(|i| i.down.into_iter().collect())
            .unwrap_or_default()
    }

    /// Whether the broker still answers (a quick metadata request).
    pub fn is_up(&self) -> bool {
        wait_for_broker(&self.bootstrap, Duration::from_secs(2)).is_ok()
    }
}

/// The state of the running Kafka, as a small table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Docker or embedded.
    pub backend: Backend,
    /// The address clients use.
    pub bootstrap: String,
    /// The embedded broker's pid.
    pub broker_pid: Option<u32>,
    /// Brokers in the cluster (0 if unreachable).
    pub brokers: usize,
    /// Topics with their end offsets.
    pub topics: Vec<TopicInfo>,
}

fn status_of(backend: Backend, bootstrap: &str, pid: Option<u32>) -> Result<Status> {
    let md = wait_for_broker(bootstrap, Duration::from_secs(5))?;
    let topics = describe_topics(bootstrap, Duration::from_secs(5))?;
    Ok(Status {
        backend,
        bootstrap: bootstrap.to_string(),
        broker_pid: pid,
        brokers: md.brokers().len(),
        topics,
    })
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "backend    {}", self.backend)?;
        writeln!(f, "bootstrap  {}", self.bootstrap)?;
        if let Some(pid) = self.broker_pid {
            writeln!(f, "pid        {pid}")?;
        }
        writeln!(f, "brokers    {}", self.brokers)?;
        writeln!(
            f,
            "{:<24} {:>10} {:>10}  end offsets",
            "topic", "partitions", "messages"
        )?;
        for t in &self.topics {
            writeln!(
                f,
                "{:<24} {:>10} {:>10}  {:?}",
                t.name,
                t.partitions(),
                t.messages(),
                t.end_offsets
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    #[test]
    fn a_chatty_command_does_not_block_on_its_pipes() {
        // 200 KB on stderr is more than a pipe holds (64 KiB): reading only after the exit
        // would block until the bound.
        let start = Instant::now();
        let out = run_bounded(
            "sh",
            &["-c", "head -c 200000 /dev/zero | tr '\\0' x >&2; echo done"],
            Duration::from_secs(20),
        );
        assert_eq!(out.unwrap(), "done");
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
    }

    /// The commands a fake Docker was given (`docker <verb>`).
    type Calls = Arc<Mutex<Vec<String>>>;

    /// A command runner that is not [`run_bounded`].
    type Fake = Box<dyn Fn(&str, &[&str], Duration) -> std::result::Result<String, CommandError>>;

    /// A fake Docker: answers `compose ps` with `ps`, records every command it is given.
    fn fake_docker(ps: std::result::Result<&'static str, &'static str>) -> (Fake, Calls) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let run: Fake = Box::new(move |program: &str, args: &[&str], _: Duration| {
            let verb = args.iter().skip_while(|a| **a != "-f").nth(2).copied();
            lock(&seen).push(format!("{program} {}", verb.unwrap_or("")));
            match verb {
                Some("ps") => ps
                    .map(str::to_string)
                    .map_err(|e| CommandError::Failed(e.into())),
                _ => Ok(String::new()),
            }
        });
        (run, calls)
    }

    fn docker_config(name: &str) -> InfraConfig {
        let state_dir = std::env::temp_dir().join(format!(
            "helpers-docker-{name}-{}-{}",
            std::process::id(),
            crate::core::time::Timestamp::now().micros()
        ));
        ensure_dir(&state_dir).unwrap();
        InfraConfig {
            backend: Some(Backend::Docker),
            compose_file: PathBuf::from("docker-compose.yml"),
            state_dir,
            ..Default::default()
        }
    }

    fn record_pauser(config: &InfraConfig, who: &ProcessRecord) {
        let path = config.state_dir.join(PAUSED_BY_FILE);
        crate::sys::state::write_atomic(&path, &serde_json::to_vec(who).unwrap()).unwrap();
    }

    #[test]
    fn a_paused_kafka_container_is_unpaused_when_its_pauser_is_gone() {
        // No Docker engine here: the decisions run against a fake `docker`.
        let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
        let gone = ProcessRecord::of(sleeper.id(), "sleep").unwrap();
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        for pauser in [None, Some(gone), ProcessRecord::current()] {
            let config = docker_config("paused");
            if let Some(p) = &pauser {
                record_pauser(&config, p);
            }
            let (run, calls) = fake_docker(Ok("3f2a9c0d1e"));
            let note = resume_if_paused(&run, &config).unwrap();
            assert!(note.unwrap().contains("unpaused"), "{pauser:?}");
            assert_eq!(*lock(&calls), ["docker ps", "docker unpause"], "{pauser:?}");
            assert!(!config.state_dir.join(PAUSED_BY_FILE).exists());
            std::fs::remove_dir_all(&config.state_dir).unwrap();
        }
    }

    #[test]
    fn another_live_notebooks_outage_is_left_alone_and_named() {
        let mut other = Command::new("sleep").arg("30").spawn().unwrap();
        let config = docker_config("other");
        record_pauser(&config, &ProcessRecord::of(other.id(), "sleep").unwrap());
        let (run, calls) = fake_docker(Ok("3f2a9c0d1e"));
        let err = resume_if_paused(&run, &config).unwrap_err().to_string();
        assert!(
            err.contains(&format!("another notebook (pid {})", other.id())),
            "{err}"
        );
        assert!(err.contains("kafka.outage(false)"), "{err}");
        assert_eq!(*lock(&calls), ["docker ps"], "no unpause");
        let _ = other.kill();
        let _ = other.wait();
        std::fs::remove_dir_all(&config.state_dir).unwrap();
    }

    #[test]
    fn a_running_or_unknown_container_is_left_as_it_is() {
        for ps in [Ok(""), Err("unknown flag: --status")] {
            let config = docker_config("running");
            record_pauser(&config, &ProcessRecord::current().unwrap());
            let (run, calls) = fake_docker(ps);
            assert_eq!(resume_if_paused(&run, &config).unwrap(), None);
            assert!(
                !lock(&calls).iter().any(|c| c.ends_with("unpause")),
                "{ps:?}"
            );
            std::fs::remove_dir_all(&config.state_dir).unwrap();
        }
    }

    #[test]
    fn an_outage_records_who_paused_and_ending_it_forgets() {
        let config = docker_config("outage");
        let (run, calls) = fake_docker(Ok(""));
        docker_outage(&run, &config, true).unwrap();
        let path = config.state_dir.join(PAUSED_BY_FILE);
        let who: ProcessRecord = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(who.pid, std::process::id());
        assert!(who.is_running());
        docker_outage(&run, &config, false).unwrap();
        assert!(!path.exists());
        assert_eq!(*lock(&calls), ["docker pause", "docker unpause"]);
        std::fs::remove_dir_all(&config.state_dir).unwrap();
    }

    #[test]
    fn three_docker_brokers_use_the_cluster_file_and_its_addresses() {
        assert_eq!(
            docker_kafka(1),
            ("docker/docker-compose.yml", DEFAULT_BOOTSTRAP)
        );
        let (file, bootstrap) = docker_kafka(3);
        assert_eq!(file, "docker/docker-compose.cluster.yml");
        let single =
            std::fs::read_to_string(crate_dir().join("..").join(docker_kafka(1).0)).unwrap();
        let cluster = std::fs::read_to_string(crate_dir().join("..").join(file)).unwrap();
        // Clients are given exactly the ports the file publishes, on loopback only, and
        // each broker advertises its own.
        let published: Vec<String> = cluster
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- \"127.0.0.1:"))
            .map(|rest| format!("127.0.0.1:{}", rest.split(':').next().unwrap()))
            .collect();
        assert_eq!(published.join(","), bootstrap);
        for addr in bootstrap.split(',') {
            assert!(cluster.contains(&format!("PLAINTEXT://{addr}")), "{addr}");
        }
        // The same Kafka as the single broker's file.
        let images = |text: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("image: "))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(images(&cluster), vec![images(&single)[0].clone(); 3]);
    }
}
