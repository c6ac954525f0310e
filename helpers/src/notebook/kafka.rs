//! Kafka as a class sees it: starting it, its table, the health check, a failover, a
//! consumer group, and a folder for a checkpoint.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::core::config::TWEETS_TOPIC;
use crate::core::lang::tr;
use crate::core::time::Timestamp;
use crate::error::Result;
use crate::kafka::consumer::{BrokerState, Pipeline, PipelineStatus};
use crate::kafka::producer::Producer;
use crate::lab::controller::PartitionState;
use crate::lab::health::{self, HealthReport};
use crate::lab::infra::{start_with, Infra};
use crate::lab::probe::GroupProbe;
use crate::settings::Environment;
use crate::sys::wait::until;
use crate::views::console::write_line;
use crate::views::html::Html;
use crate::views::table;

use super::parts::{consumer_data, consumer_line, list};
use super::stream::settle_wait;

/// Starts Kafka for the notebook: the classroom's cluster
/// ([`crate::lab::infra::InfraConfig::classroom`]) where the environment says
/// (`STREAM_DEMO_BACKEND`, `DOCKER_BROKERS`, `STREAM_DEMO_DIR`): Docker if an engine
/// answers, else the embedded broker. See [`crate::lab::infra::start_with`].
pub fn start_kafka() -> Result<Infra> {
    start_with(Environment::current().infra_config())
}

impl Infra {
    /// Kafka's status (backend, brokers, topics with partitions and end offsets) as a
    /// table.
    pub fn show(&self) -> Result<Html> {
        let st = self.status()?;
        let mut rows = vec![
            (
                tr("backend", "servidor").to_string(),
                st.backend.to_string(),
            ),
            (
                tr("bootstrap", "dirección de arranque").to_string(),
                st.bootstrap.clone(),
            ),
            ("brokers".to_string(), st.brokers.to_string()),
        ];
        if let Some(pid) = st.broker_pid {
            rows.push((tr("broker pid", "pid del broker").into(), pid.to_string()));
        }
        for t in &st.topics {
            let ends: Vec<String> = t.end_offsets.iter().map(i64::to_string).collect();
            rows.push((
                format!("topic {}", t.name),
                format!(
                    "{} {}, {} {}, {} {}",
                    t.partitions(),
                    tr("partitions", "particiones"),
                    t.messages(),
                    tr("messages", "mensajes"),
                    tr("end offsets", "desplazamientos finales"),
                    ends.join(", ")
                ),
            ));
        }
        let data = json!({
            "backend": st.backend.to_string(),
            "brokers": st.brokers,
            "topics": st.topics.iter().map(|t| json!({
                "name": t.name, "partitions": t.partitions(), "messages": t.messages(),
            })).collect::<Vec<_>>(),
        });
        Ok(table::show(&table::key_values(&rows)?, "Kafka").with_data("kafka", &data))
    }

    /// The health check (the original project's `tester.py`): writes `n` numbered
    /// messages to a fresh topic and reads them back, each step with its verdict, waiting
    /// at most 15 s for each.
    pub fn show_health(&self, n: u32) -> HealthReport {
        health::check(&self.bootstrap, n, Duration::from_secs(15))
    }

    /// Takes down the broker that leads `partition` of `tweets_topic` (the embedded
    /// cluster only: its controller moves the leadership first, then the broker is cut
    /// off), and prints what happened: the new leader and how long the partition had
    /// none. Returns the broker taken down, or `None` (and says why) where Kafka keeps no
    /// second copy to fail over to.
    pub fn fail_leader(&self, partition: i32) -> Result<Option<i32>> {
        let mut out = std::io::stdout();
        let state = |p: i32| {
            self.partitions()
                .into_iter()
                .find(|s| s.topic == TWEETS_TOPIC && s.partition == p)
        };
        if !state(partition).is_some_and(|s| s.replicas.len() > 1 && s.leader.is_some()) {
            let _ = write_line(
                &mut out,
                &format!(
                    "Kafka ({}) {partition}{}",
                    self.backend,
                    tr(
                        ": one copy of this partition, nothing to fail over to. The embedded \
                         cluster (3 brokers, the default backend without Docker) shows a \
                         failover; with DOCKER_BROKERS=3, stop a broker with `docker compose \
                         -f docker/docker-compose.cluster.yml stop kafka-1`.",
                        ": una sola copia de esta partición, no hay a quién pasar el relevo. El \
                         clúster embebido (3 brokers, el servidor por defecto sin Docker) \
                         muestra un relevo; con DOCKER_BROKERS=3, detén un broker con \
                         `docker compose -f docker/docker-compose.cluster.yml stop kafka-1`.",
                    )
                ),
            );
            return Ok(None);
        }
        // One broker down at a time: one left down by an earlier run of this cell comes
        // back first (with two of three down, the partitions would have one copy left).
        for id in self.brokers_down() {
            self.broker_up(id)?;
            let _ = write_line(
                &mut out,
                &format!(
                    "broker {id} was still down from an earlier run of this cell: it is back \
                     first"
                ),
            );
        }
        let Some(leader) = state(partition).and_then(|s| s.leader) else {
            return Ok(None);
        };
        let down_at = Instant::now();
        self.broker_down(leader)?;
        let moved = until(Duration::from_secs(10), Duration::from_millis(10), || {
            state(partition).is_some_and(|s| s.leader.is_some_and(|l| l != leader))
        });
        let new = state(partition).and_then(|s| s.leader);
        let _ = write_line(
            &mut out,
            &format!(
                "broker {leader} ({} {partition}) {}; {}",
                tr("the leader of partition", "la líder de la partición"),
                tr(
                    "is shut down (simulated: its leadership was moved first)",
                    "se ha detenido (simulado: primero se movió su liderazgo)"
                ),
                match new {
                    Some(n) if moved =>
                        format!(
                            "{} {n} {} {:.2} s",
                            tr(
                                "the clients' metadata showed broker",
                                "los metadatos mostraron al broker"
                            ),
                            tr("leading it", "liderándola"),
                            down_at.elapsed().as_secs_f64()
                        ) + tr(" later", " después"),
                    _ => tr(
                        "no replica in sync took over: the partition has no leader",
                        "ninguna réplica sincronizada tomó el relevo: la partición no tiene líder",
                    )
                    .into(),
                }
            ),
        );
        Ok(Some(leader))
    }

    /// Brings back the broker [`Infra::fail_leader`] took down (nothing for `None`). It
    /// comes back as a follower: the partitions it led keep their new leaders.
    pub fn recover(&self, broker: Option<i32>) -> Result<()> {
        if let Some(id) = broker {
            self.broker_up(id)?;
            let _ = write_line(
                &mut std::io::stdout(),
                &format!(
                    "broker {id} {}",
                    tr(
                        "is back, in sync again, as a follower",
                        "ha vuelto, sincronizado de nuevo, como seguidor"
                    )
                ),
            );
        }
        Ok(())
    }

    /// A new, empty folder for a consumer's checkpoint, in this run's state folder. (Each
    /// run needs its own: the embedded broker's log is new at every start, and a
    /// checkpoint's offsets belong to one log.)
    pub fn new_checkpoint_folder(&self) -> PathBuf {
        self.config
            .state_dir
            .join(format!("checkpoint-{}", Timestamp::now().micros()))
    }
}

/// Kafka's partitions as a table (leader, replicas, in-sync replicas, for the embedded
/// cluster), then the producer's and the consumer's counters: what a failover moves, and
/// what it must not lose. Waits first (up to three triggers, at least 30 s) until the
/// consumer is connected and its last trigger counted every event the producer had
/// acknowledged when the call began (a consumer that started later, from `latest`, may
/// never: the table then says so).
pub fn show_cluster(kafka: &Infra, producer: &Producer, pipeline: &Pipeline) -> Result<Html> {
    let acked = producer.stats().acked;
    let wait = settle_wait(&[pipeline]);
    let caught_up = || {
        pipeline.status().broker == BrokerState::Connected
            && pipeline.snapshot().is_some_and(|s| s.totals.input >= acked)
    };
    until(wait, Duration::from_millis(100), || {
        caught_up() || !pipeline.status().running
    });
    let caught_up = caught_up();
    let parts: Vec<_> = kafka
        .partitions()
        .into_iter()
        .filter(|p| p.topic == TWEETS_TOPIC)
        .collect();
    let mut views = vec![];
    if !parts.is_empty() {
        views.push(table::show(
            &table::two_columns(
                (
                    tr("partition", "partición"),
                    tr(
                        "leader · replicas · in-sync replicas",
                        "líder · réplicas · réplicas sincronizadas",
                    ),
                ),
                &partition_rows(&parts),
            )?,
            &format!(
                "{TWEETS_TOPIC} {} {}",
                tr("on the cluster", "en el clúster"),
                kafka.backend
            ),
        ));
    }
    let s = producer.stats();
    let counted = pipeline.snapshot().map_or(0, |s| s.totals.accepted);
    let mut rows = vec![
        (
            tr(
                "producer (acks=all, idempotent)",
                "productor (acks=all, idempotente)",
            )
            .to_string(),
            format!(
                "{} {} · {} {} · {} {}",
                tr("sent", "enviados"),
                s.sent,
                tr("acknowledged", "confirmados"),
                s.acked,
                tr("failed", "fallidos"),
                s.failed
            ),
        ),
        (
            tr("consumer", "consumidor").into(),
            format!(
                "{} · {} {counted}",
                consumer_line(pipeline),
                tr("counted", "contados")
            ),
        ),
    ];
    if !caught_up {
        rows.push((
            tr("consumer, caught up", "consumidor, al día").into(),
            format!(
                "{} {} s: {} {acked} {}",
                tr("not after", "no tras"),
                wait.as_secs(),
                tr("it has not counted the", "no ha contado los"),
                tr("events acknowledged before", "eventos confirmados antes")
            ),
        ));
    }
    if parts.is_empty() {
        rows.push((
            tr("partitions", "particiones").into(),
            format!(
                "{}: {}",
                kafka.backend,
                tr(
                    "one broker, one copy of each partition",
                    "un broker, una copia de cada partición"
                )
            ),
        ));
    }
    views.push(table::show(
        &table::key_values(&rows)?,
        tr("Producer and consumer", "Productor y consumidor"),
    ));
    let data = json!({
        "backend": kafka.backend.to_string(),
        "brokers_down": kafka.brokers_down(),
        "partitions": parts.iter().map(|p| json!({
            "partition": p.partition, "leader": p.leader, "replicas": p.replicas, "isr": p.isr,
        })).collect::<Vec<_>>(),
        "producer": { "sent": s.sent, "acked": s.acked, "failed": s.failed },
        "consumer": consumer_data(pipeline),
        "counted": counted,
        "caught_up": caught_up,
    });
    Ok(Html::concat(views).with_data("cluster", &data))
}

/// A row per partition: its leader, its replicas, those in sync.
fn partition_rows(parts: &[PartitionState]) -> Vec<(String, String)> {
    parts
        .iter()
        .map(|p| {
            (
                format!("{} {}", tr("partition", "partición"), p.partition),
                format!(
                    "{} {} · {} {} · {} {}",
                    tr("leader", "líder"),
                    p.leader
                        .map_or(tr("none", "ninguna").to_string(), |l| l.to_string()),
                    tr("replicas", "réplicas"),
                    list(&p.replicas),
                    tr("in sync", "sincronizadas"),
                    list(&p.isr)
                ),
            )
        })
        .collect()
}

/// The members of one consumer group: the partitions each one reads and the messages it
/// read, against the messages `tweets_topic` holds. Waits (up to 30 s, or three triggers)
/// until every partition is read by exactly one running member, every running member has
/// partitions, and the members together have read every message; then, or at the end of
/// the wait, shows the table.
pub fn show_group(kafka: &Infra, members: &[&Pipeline]) -> Result<Html> {
    let group = members
        .first()
        .and_then(|m| m.config().group.clone())
        .unwrap_or_default();
    let probe = GroupProbe::new(kafka, &group, TWEETS_TOPIC)?;
    let wait = settle_wait(members);
    // Settled, and still so a trigger later: a member publishes what it read, and commits,
    // only at its triggers, and Tansu reports end offsets too low, so a group can look
    // settled before its newest member has read its share.
    let stable = members
        .iter()
        .map(|m| m.config().trigger)
        .max()
        .unwrap_or_default()
        + Duration::from_secs(2);
    let mut since: Option<std::time::Instant> = None;
    let settled = until(wait, Duration::from_millis(200), || {
        if settled(&probe, members) {
            since.get_or_insert_with(std::time::Instant::now).elapsed() >= stable
        } else {
            since = None;
            false
        }
    });
    let (partitions, _) = retry_once(|| probe.topic())?;
    let done = retry_once(|| probe.committed(partitions))?;
    // A member that left reads no partition, whatever it read last.
    let statuses: Vec<_> = members.iter().map(|m| m.status()).collect();
    let owned = |s: &PipelineStatus| {
        if s.running {
            s.partitions.clone()
        } else {
            vec![]
        }
    };
    let mut rows: Vec<(String, String)> = statuses
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let state = if s.running {
                tr("running", "en marcha")
            } else {
                tr("left the group", "ha dejado el grupo")
            };
            (
                format!("{} {}", tr("consumer", "consumidor"), i + 1),
                format!(
                    "{state} · {} {} · {} {} {}",
                    tr("partitions", "particiones"),
                    list(&owned(s)),
                    tr("read", "ha leído"),
                    s.consumed,
                    tr("messages", "mensajes")
                ),
            )
        })
        .collect();
    let together: u64 = statuses.iter().map(|s| s.consumed).sum();
    let data = json!({
        "group": group,
        "members": statuses.iter().map(|s| json!({
            "running": s.running, "partitions": owned(s), "consumed": s.consumed,
        })).collect::<Vec<_>>(),
        "committed": done,
        "settled": settled,
    });
    let how = if settled {
        tr("each one once", "cada uno una vez").to_string()
    } else {
        format!(
            "{} {} s",
            tr("not settled after", "sin asentarse tras"),
            wait.as_secs()
        )
    };
    rows.push((
        tr("together", "juntos").into(),
        format!(
            "{} {together} {} {TWEETS_TOPIC}; {} {done}: {how}",
            tr("read", "han leído"),
            tr("messages of", "mensajes de"),
            tr(
                "the group's committed offsets cover",
                "los desplazamientos registrados del grupo cubren"
            ),
        ),
    ));
    Ok(table::show(
        &table::two_columns((tr("member", "miembro"), tr("state", "estado")), &rows)?,
        &format!(
            "{} \"{group}\"",
            tr("Consumer group", "Grupo de consumidores")
        ),
    )
    .with_data("group", &data))
}

/// Whether the group has settled: every partition has one running owner, every running
/// member has some (as long as there are enough partitions: one who joined has been given
/// its share), and the members together have read, and committed, every message the topic
/// holds. A question the broker cannot answer now (a rebalance, a leader that just moved)
/// means "not yet".
fn settled(probe: &GroupProbe<'_>, members: &[&Pipeline]) -> bool {
    let Ok((partitions, held)) = probe.topic() else {
        return false;
    };
    let running: Vec<_> = members
        .iter()
        .map(|m| m.status())
        .filter(|s| s.running)
        .collect();
    let mut owned: Vec<i32> = running.iter().flat_map(|s| s.partitions.clone()).collect();
    owned.sort_unstable();
    let shared = running.len() > partitions || running.iter().all(|s| !s.partitions.is_empty());
    let together: u64 = members.iter().map(|m| m.status().consumed).sum();
    let Ok(done) = probe.committed(partitions) else {
        return false;
    };
    owned == (0..partitions as i32).collect::<Vec<_>>()
        && shared
        && together == done as u64
        && done >= held
}

/// Calls `f`, and once more a second later if it failed: metadata and offsets can be
/// briefly unavailable (a rebalance, a leader that just moved).
fn retry_once<T>(f: impl Fn() -> Result<T>) -> Result<T> {
    f().or_else(|_| {
        std::thread::sleep(Duration::from_secs(1));
        f()
    })
}
