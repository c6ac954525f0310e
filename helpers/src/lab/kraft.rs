//! Apache Kafka itself, in KRaft mode, hosted by the `broker` program: one node or a
//! cluster of several, each a JVM on 127.0.0.1.
//!
//! The jars are Apache Kafka's own, the version `docker/docker-compose.yml` runs, fetched
//! from Maven Central by `scripts/setup --kafka` (or `--tests`) into `.jvm/kafka/`. No
//! Docker, no ZooKeeper: every node is both a broker (stores and serves messages) and a
//! controller (a voter of the Raft quorum that keeps the cluster's metadata), like the
//! compose file's single node. The storage of each node is formatted afresh at every
//! start in the state folder (`kafka-data/<node>`), so a run starts from an empty log as
//! with the other embedded backends.
//!
//! What is real here, for a class: the election. Taking a broker down
//! ([`crate::lab::infra::Infra::broker_down`]) sends SIGKILL to its node, a crash: no
//! controlled shutdown, no leadership handed over. The quorum notices (the broker's
//! session with the active controller times out: [`SESSION_TIMEOUT_MS`]), elects new
//! leaders among the in-sync replicas and shrinks the ISR; the node that comes back
//! (restarted on the same storage) catches up and rejoins the ISR. An outage stops every node (SIGSTOP) and lets it go on (SIGCONT),
//! data kept, like Tansu's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use rdkafka::consumer::BaseConsumer;

use crate::error::{Component, Error, Result};
use crate::kafka::client::{ensure_topic_with, plain_consumer, wait_for_broker};
use crate::lab::controller::PartitionState;
use crate::sys::binary::crate_dir;
use crate::sys::process::{free_port, signal, spawn_supervised, terminate_child};

/// How long the cluster may take to answer and to create the topics (three JVMs starting
/// on two cores take ~10 s).
const START_WAIT: Duration = Duration::from_secs(90);

/// The broker's session with the active controller: a node that has not heartbeated for
/// this long is fenced and its partitions get new leaders. Kafka's default (9 s), kept:
/// it is what a class measures when a broker crashes.
pub const SESSION_TIMEOUT_MS: u32 = 9_000;

/// Each node's heap: small, for a classroom laptop (the compose file's 512 MB for one
/// node; three nodes share the machine).
const HEAP: &str = "-Xmx384m";

/// One node: its id, ports, storage, and process while it runs.
#[derive(Debug)]
struct Node {
    /// The node id (1..=n), broker and controller.
    id: i32,
    /// The client port (PLAINTEXT).
    port: u16,
    /// Its properties file.
    config: PathBuf,
    /// Its log file.
    log: PathBuf,
    /// The JVM, `None` while killed.
    child: Option<Child>,
}

/// A running KRaft cluster of one or more nodes, stopped (and its storage removed) when
/// dropped.
pub(crate) struct KraftCluster {
    nodes: Vec<Node>,
    /// `java`.
    java: PathBuf,
    /// The jars' class path, `.jvm/kafka/*`.
    classpath: String,
    /// Every node's storage, under the state folder.
    data: PathBuf,
    /// For the metadata: leaders, replicas, ISR.
    metadata: Option<BaseConsumer>,
}

impl KraftCluster {
    /// Formats and starts `nodes` nodes on free loopback ports, creates `topics` (name,
    /// partitions) with `min(nodes, 3)` copies each and waits until the cluster answers.
    /// `state_dir` holds the storage, the properties and the logs.
    pub(crate) fn start(
        nodes: i32,
        topics: &[(String, i32)],
        state_dir: &Path,
    ) -> Result<KraftCluster> {
        if !(1..=5).contains(&nodes) {
            return Err(Error::config(
                "brokers",
                nodes,
                "use 1 to 5 with Apache Kafka",
            ));
        }
        let java = java_program()?;
        let classpath = format!("{}/*", kafka_libs()?.display());
        let data = state_dir.join("kafka-data");
        let _ = std::fs::remove_dir_all(&data);
        crate::sys::state::ensure_dir(&data)?;
        let ports: Vec<(u16, u16)> = (0..nodes)
            .map(|_| Ok((free_port()?, free_port()?)))
            .collect::<Result<_>>()?;
        let voters = ports
            .iter()
            .enumerate()
            .map(|(i, (_, ctl))| format!("{}@127.0.0.1:{ctl}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let copies = nodes.min(3);
        let log4j = data.join("log4j2.properties");
        write(&log4j, LOG4J)?;
        let mut cluster = KraftCluster {
            nodes: Vec::new(),
            java,
            classpath,
            data: data.clone(),
            metadata: None,
        };
        let cluster_id = cluster_id();
        let mut formats = Vec::new();
        for (i, (port, ctl)) in ports.iter().enumerate() {
            let id = i as i32 + 1;
            let dir = data.join(format!("node-{id}"));
            let config = data.join(format!("node-{id}.properties"));
            write(&config, &properties(id, *port, *ctl, &voters, &dir, copies))?;
            // Every node's storage formatted with the same cluster id, in parallel.
            let mut cmd = cluster.java_command(&log4j);
            cmd.args(["kafka.tools.StorageTool", "format", "-t", &cluster_id, "-c"])
                .arg(&config);
            let log = state_dir.join(format!("kafka-{id}.log"));
            formats.push((
                spawn_supervised(cmd, Some(&log), "Kafka's storage tool")?,
                log,
            ));
            cluster.nodes.push(Node {
                id,
                port: *port,
                config,
                log: state_dir.join(format!("kafka-{id}.log")),
                child: None,
            });
        }
        for (mut child, log) in formats {
            let status = child
                .wait()
                .map_err(|e| Error::os("cannot wait for Kafka's storage tool", e))?;
            if !status.success() {
                return Err(Error::Failed {
                    component: Component::ApacheKafka,
                    detail: format!(
                        "formatting its storage failed ({status}): see {}",
                        log.display()
                    ),
                });
            }
        }
        for id in 1..=nodes {
            cluster.restart(id)?;
        }
        let bootstrap = cluster.bootstrap();
        wait_for_broker(&bootstrap, START_WAIT)?;
        // Every node registered before the topics are made: a topic gets as many copies
        // as there are brokers when it is created.
        let all = crate::sys::wait::until(START_WAIT, Duration::from_millis(100), || {
            wait_for_broker(&bootstrap, Duration::from_secs(2))
                .is_ok_and(|md| md.brokers().len() == nodes as usize)
        });
        if !all {
            return Err(Error::Timeout {
                what: format!("all {nodes} of Apache Kafka's nodes to join the cluster"),
                secs: START_WAIT.as_secs(),
            });
        }
        // With `copies` named: a metadata answer from a node that has not yet seen every
        // registration would give fewer. A node fenced for a moment (a slow machine)
        // makes the creation fail: try again until the deadline.
        let deadline = std::time::Instant::now() + START_WAIT;
        for (topic, partitions) in topics {
            loop {
                match ensure_topic_with(&bootstrap, topic, *partitions, Some(copies), START_WAIT) {
                    Ok(_) => break,
                    Err(e) if std::time::Instant::now() > deadline => return Err(e),
                    Err(_) => std::thread::sleep(Duration::from_millis(500)),
                }
            }
        }
        cluster.metadata = Some(plain_consumer(&bootstrap)?);
        // Ready when every partition has a leader and all its copies in sync: what the
        // lessons show first.
        let settled = crate::sys::wait::until(START_WAIT, Duration::from_millis(100), || {
            cluster
                .partitions(Duration::from_secs(2))
                .is_some_and(|ps| {
                    !ps.is_empty()
                        && ps.iter().all(|p| {
                            p.leader.is_some()
                                && p.replicas.len() == copies as usize
                                && p.isr.len() == p.replicas.len()
                        })
                })
        });
        if !settled {
            return Err(Error::Timeout {
                what: "every partition of Apache Kafka to have a leader and its copies in sync"
                    .into(),
                secs: START_WAIT.as_secs(),
            });
        }
        Ok(cluster)
    }

    /// `java` with the cluster's class path and logging.
    fn java_command(&self, log4j: &Path) -> Command {
        let mut cmd = Command::new(&self.java);
        // IPv4 sockets: the listeners are 127.0.0.1, and a JVM's default IPv6 socket
        // would show them as ::ffff:127.0.0.1.
        cmd.arg(HEAP)
            .arg("-Djava.net.preferIPv4Stack=true")
            .arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
            .arg("-cp")
            .arg(&self.classpath);
        cmd
    }

    /// Every node's address, comma-separated: what clients bootstrap from (any one that
    /// answers will do).
    pub(crate) fn bootstrap(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Starts node `id` on its storage (after a kill: same data, same ports).
    pub(crate) fn restart(&mut self, id: i32) -> Result<()> {
        let log4j = self.data.join("log4j2.properties");
        let mut cmd = self.java_command(&log4j);
        let node = self.node(id)?;
        if node.child.is_some() {
            return Ok(());
        }
        cmd.arg("kafka.Kafka").arg(&node.config);
        let log = node.log.clone();
        let child = spawn_supervised(cmd, Some(&log), "Apache Kafka")?;
        let node = self.node_mut(id)?;
        node.child = Some(child);
        Ok(())
    }

    /// Kills node `id` with SIGKILL: a crash, with no controlled shutdown.
    pub(crate) fn kill(&mut self, id: i32) -> Result<()> {
        let node = self.node_mut(id)?;
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        Ok(())
    }

    /// The nodes killed now.
    pub(crate) fn down(&self) -> BTreeSet<i32> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_none())
            .map(|n| n.id)
            .collect()
    }

    /// An outage: stops every node (their data is kept) or lets them go on.
    pub(crate) fn set_available(&self, up: bool) -> Result<()> {
        let sig = if up { libc::SIGCONT } else { libc::SIGSTOP };
        for node in &self.nodes {
            if let Some(child) = &node.child {
                if !signal(child.id(), sig) {
                    return Err(Error::Failed {
                        component: Component::ApacheKafka,
                        detail: format!("node {} is not running", node.id),
                    });
                }
            }
        }
        Ok(())
    }

    /// Each partition's leader, replicas and in-sync replicas, as the cluster's metadata
    /// says now (`None` if no node answered within `wait`).
    pub(crate) fn partitions(&self, wait: Duration) -> Option<Vec<PartitionState>> {
        use rdkafka::consumer::Consumer;
        let md = self.metadata.as_ref()?.fetch_metadata(None, wait).ok()?;
        let mut out = Vec::new();
        for t in md.topics() {
            if t.name().starts_with("__") || t.error().is_some() {
                continue;
            }
            for p in t.partitions() {
                let mut replicas = p.replicas().to_vec();
                replicas.sort_unstable();
                let mut isr = p.isr().to_vec();
                isr.sort_unstable();
                out.push(PartitionState {
                    topic: t.name().to_string(),
                    partition: p.id(),
                    leader: (p.leader() >= 0).then_some(p.leader()),
                    replicas,
                    isr,
                });
            }
        }
        out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Some(out)
    }

    fn node(&self, id: i32) -> Result<&Node> {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .ok_or_else(|| Error::config("broker", id, &format!("use 1 to {}", self.nodes.len())))
    }

    fn node_mut(&mut self, id: i32) -> Result<&mut Node> {
        let n = self.nodes.len();
        self.nodes
            .iter_mut()
            .find(|node| node.id == id)
            .ok_or_else(|| Error::config("broker", id, &format!("use 1 to {n}")))
    }
}

impl Drop for KraftCluster {
    fn drop(&mut self) {
        self.metadata = None;
        // Stopped processes handle no SIGTERM: let them go on, then ask them all to stop
        // at once (one by one, the last ones would wait for a quorum that is gone).
        for node in &self.nodes {
            if let Some(child) = &node.child {
                signal(child.id(), libc::SIGCONT);
                signal(child.id(), libc::SIGTERM);
            }
        }
        for node in &mut self.nodes {
            if let Some(child) = node.child.as_mut() {
                terminate_child(child, Duration::from_secs(3));
            }
        }
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// One node's `server.properties`: broker and controller on 127.0.0.1, `copies` copies of
/// every internal topic, and `min.insync.replicas` one less than that (at least 1).
fn properties(id: i32, port: u16, ctl: u16, voters: &str, dir: &Path, copies: i32) -> String {
    let min_isr = (copies - 1).max(1);
    format!(
        "# Written by the broker program (helpers/src/lab/kraft.rs) at every start.
node.id={id}
process.roles=broker,controller
controller.quorum.voters={voters}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctl}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs={dir}
num.partitions=3
auto.create.topics.enable=true
default.replication.factor={copies}
min.insync.replicas={min_isr}
offsets.topic.replication.factor={copies}
transaction.state.log.replication.factor={copies}
transaction.state.log.min.isr={min_isr}
group.initial.rebalance.delay.ms=0
# 4 MiB instead of 1 MiB: the tests send an oversized event (over 1 MiB) to see the
# consumer count and skip it, as the other backends accept it.
message.max.bytes=4194304
replica.fetch.max.bytes=4194304
broker.session.timeout.ms={SESSION_TIMEOUT_MS}
",
        dir = dir.display()
    )
}

/// Log4j 2: INFO and above to the node's log file (its standard output), quieter for
/// the chattiest loggers.
const LOG4J: &str = "status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.state.name = state.change.logger
logger.state.level = warn
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = warn
";

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io("cannot write", path, e))
}

/// A new cluster id: 16 random bytes in URL-safe Base64 without padding (22 characters),
/// Kafka's format (`kafka-storage random-uuid`).
fn cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 16];
    // The kernel's randomness; the clock if it cannot be read (any unique id will do).
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        bytes = crate::core::time::Timestamp::now()
            .micros()
            .to_le_bytes()
            .repeat(2)[..16]
            .try_into()
            .expect("16 bytes");
    }
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = String::new();
    for b in bytes {
        bits = (bits << 8) | u32::from(b);
        n += 8;
        while n >= 6 {
            n -= 6;
            out.push(ALPHABET[((bits >> n) & 63) as usize] as char);
        }
    }
    if n > 0 {
        out.push(ALPHABET[((bits << (6 - n)) & 63) as usize] as char);
    }
    // Like Kafka's own ids, never one that starts with '-': the storage tool would take
    // it for an option.
    if out.starts_with('-') {
        out.replace_range(..1, "K");
    }
    out
}

/// Where Apache Kafka's jars are: `.jvm/kafka/` in the project folder, fetched by
/// `scripts/setup --kafka`.
pub fn kafka_libs() -> Result<PathBuf> {
    let dir = crate_dir().join("..").join(".jvm").join("kafka");
    if dir.join("ok").is_file() {
        Ok(dir)
    } else {
        Err(Error::MissingBinary {
            name: "Apache Kafka's jars".into(),
            hint: "run `bash scripts/setup --kafka` (it fetches them with Maven, once)".into(),
        })
    }
}

/// The command-line tools of a Kafka course, from Apache Kafka's jars: the name the
/// distribution's script has (`kafka-topics.sh`), and the class it runs.
pub const TOOLS: [(&str, &str); 3] = [
    ("kafka-topics", "org.apache.kafka.tools.TopicCommand"),
    (
        "kafka-consumer-groups",
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    ),
    (
        "kafka-broker-api-versions",
        "kafka.admin.BrokerApiVersionsCommand",
    ),
];

/// Runs Kafka's tool `tool` (one of [`TOOLS`]) with `args` against `bootstrap`, as
/// `kafka-topics.sh --bootstrap-server <bootstrap> <args>` would, within `bound`; its
/// standard output, or an error with the end of its standard error.
pub fn run_tool(bootstrap: &str, tool: &str, args: &[&str], bound: Duration) -> Result<String> {
    let Some((_, class)) = TOOLS.iter().find(|(name, _)| *name == tool) else {
        let names: Vec<&str> = TOOLS.iter().map(|(n, _)| *n).collect();
        return Err(Error::config(
            "tool",
            tool,
            &format!("use one of {}", names.join(", ")),
        ));
    };
    let java = java_program()?;
    let classpath = format!("{}/*", kafka_libs()?.display());
    let mut all = vec![
        "-Xmx256m",
        // The tools log through Log4j 2, to standard output: errors only (a warning per
        // node down would mix with the table).
        "-Dlog4j2.level=ERROR",
        "-cp",
        &classpath,
        class,
        "--bootstrap-server",
        bootstrap,
    ];
    all.extend_from_slice(args);
    crate::sys::command::run_bounded(&java.to_string_lossy(), &all, bound).map_err(|e| {
        Error::Failed {
            component: Component::ApacheKafka,
            detail: format!("{tool}: {e}"),
        }
    })
}

/// `java`: `$JAVA_HOME/bin/java` if set, else `java` on the `PATH`, if it runs.
fn java_program() -> Result<PathBuf> {
    let java = std::env::var_os("JAVA_HOME")
        .map(|h| PathBuf::from(h).join("bin").join("java"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("java"));
    let runs = Command::new(&java)
        .arg("-version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if runs {
        Ok(java)
    } else {
        Err(Error::MissingBinary {
            name: "java".into(),
            hint: "Apache Kafka needs Java 17 or newer: install it (apt-get install \
                   openjdk-17-jre-headless) or use another backend (STREAM_DEMO_BACKEND=embedded)"
                .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ids_are_kafkas_format() {
        let a = cluster_id();
        assert_eq!(a.len(), 22, "{a}");
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(a, cluster_id());
        assert!((0..2000).all(|_| !cluster_id().starts_with('-')));
    }

    #[test]
    fn a_three_node_cluster_keeps_two_copies_in_sync() {
        let p = properties(2, 9092, 9093, "1@a,2@b,3@c", Path::new("/d"), 3);
        assert!(p.contains("node.id=2\n"));
        assert!(p.contains("min.insync.replicas=2\n"));
        assert!(p.contains("offsets.topic.replication.factor=3\n"));
        let one = properties(1, 9092, 9093, "1@a", Path::new("/d"), 1);
        assert!(one.contains("min.insync.replicas=1\n"));
    }
}
