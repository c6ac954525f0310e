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
use crate::lab::infra::{start_with, Backend, Infra};
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

    /// Takes down the broker that leads `partition` of `tweets_topic`, and prints what
    /// happened: the new leader and how long the partition had none. On the embedded
    /// cluster it is simulated (its controller moves the leadership first, then the broker
    /// is cut off); on Apache Kafka's nodes it is a crash (SIGKILL), and Kafka's quorum
    /// elects the new leader once the node's session has timed out (about 9 s). Returns the broker taken down, or `None` (and says why) where Kafka keeps no
    /// second copy to fail over to.
    pub fn fail_leader(&self, partition: i32) -> Result<Option<i32>> {
        let mut out = std::io::stdout();
        let state = |p: i32| {
            self.partitions()
                .into_iter()
                .find(|s| s.topic == TWEETS_TOPIC && s.partition == p)
        };
        // A cluster publishes its partitions within a moment of starting (Apache Kafka's
        // are read from its metadata): wait that moment, not more.
        if self.backend.is_cluster() {
            until(Duration::from_secs(5), Duration::from_millis(50), || {
                state(partition).is_some()
            });
        }
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
            let _ = write_line(
                &mut out,
                &format!(
                    "broker {id} was still down from an earlier run of this cell: it is back \
                     first"
                ),
            );
            // Back and in sync (Apache Kafka's node catches up first), before another goes.
            self.recover(Some(id))?;
        }
        let Some(leader) = state(partition).and_then(|s| s.leader) else {
            return Ok(None);
        };
        let down_at = Instant::now();
        self.broker_down(leader)?;
        // Apache Kafka elects once the node's session times out (9 s); the mock's
        // controller has moved the leader before the broker went.
        let real = self.backend == Backend::Kafka;
        let patience = Duration::from_secs(if real { 40 } else { 10 });
        let moved = until(patience, Duration::from_millis(10), || {
            state(partition).is_some_and(|s| s.leader.is_some_and(|l| l != leader))
        });
        let new = state(partition).and_then(|s| s.leader);
        let how = if real {
            tr(
                "is killed (SIGKILL: a real crash, Apache Kafka's controller elects)",
                "ha muerto (SIGKILL: una caída real, elige el controlador de Apache Kafka)",
            )
        } else {
            tr(
                "is shut down (simulated: its leadership was moved first)",
                "se ha detenido (simulado: primero se movió su liderazgo)",
            )
        };
        let _ = write_line(
            &mut out,
            &format!(
                "broker {leader} ({} {partition}) {}; {}",
                tr("the leader of partition", "la líder de la partición"),
                how,
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
    /// comes back as a follower: the partitions it led keep their new leaders. Apache
    /// Kafka's node is restarted on its storage; this waits (up to 60 s) until it has
    /// caught up and is in every partition's in-sync replicas again, and says how long
    /// that took.
    pub fn recover(&self, broker: Option<i32>) -> Result<()> {
        if let Some(id) = broker {
            let started = Instant::now();
            self.broker_up(id)?;
            if self.backend == Backend::Kafka {
                // A real node restarts, catches up from the leaders, and only then is it
                // back in every partition's in-sync replicas.
                let in_sync = until(Duration::from_secs(60), Duration::from_millis(50), || {
                    let parts = self.partitions();
                    !parts.is_empty()
                        && parts
                            .iter()
                            .filter(|p| p.replicas.contains(&id))
                            .all(|p| p.isr.contains(&id))
                });
                let _ = write_line(
                    &mut std::io::stdout(),
                    &format!(
                        "broker {id} {} {:.1} s",
                        if in_sync {
                            tr(
                                "restarted, caught up and is in sync again, as a follower, after",
                                "ha rearrancado, se ha puesto al día y vuelve a estar sincronizado, \
                                 como seguidor, tras",
                            )
                        } else {
                            tr(
                                "restarted but is not in sync yet after",
                                "ha rearrancado pero aún no está sincronizado tras",
                            )
                        },
                        started.elapsed().as_secs_f64()
                    ),
                );
                return Ok(());
            }
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

    /// Runs one of Apache Kafka's own command-line tools against this Kafka, whatever the
    /// backend, and prints its output: `kafka-topics` (`--describe`: leader, replicas,
    /// ISR of each partition) or `kafka-consumer-groups` (`--describe --group G`: each
    /// partition's committed offset, log-end offset and lag). Needs Java 17 and Kafka's
    /// jars (`bash scripts/setup --kafka`); without them, or if the tool fails, one
    /// sentence says why and what to do.
    pub fn kafka_tool(&self, tool: &str, args: &[&str]) {
        let mut out = std::io::stdout();
        let shown = format!(
            "{tool} --bootstrap-server {} {}",
            self.bootstrap,
            args.join(" ")
        );
        let _ = write_line(&mut out, &format!("$ {shown}"));
        if self.backend == Backend::Embedded {
            let _ = write_line(
                &mut out,
                tr(
                    "Kafka's tools are Java clients, and the embedded broker (librdkafka's mock \
                     cluster) does not answer them: run this lesson with \
                     STREAM_DEMO_BACKEND=kafka (Apache Kafka itself) or tansu to see their output.",
                    "Las herramientas de Kafka son clientes Java y el broker embebido (el clúster \
                     simulado de librdkafka) no les responde: ejecuta esta lección con \
                     STREAM_DEMO_BACKEND=kafka (Apache Kafka) o tansu para ver su salida.",
                ),
            );
            return;
        }
        match crate::lab::kraft::run_tool(&self.bootstrap, tool, args, Duration::from_secs(60)) {
            Ok(text) => {
                // Tabs as spaces: a safe line shows a tab as `\t`.
                for l in text.lines().filter(|l| !l.trim().is_empty()) {
                    let _ = write_line(&mut out, &l.replace('\t', "  "));
                }
            }
            Err(e) => {
                let _ = write_line(
                    &mut out,
                    &format!(
                        "{}: {e}",
                        tr(
                            "Kafka's tool did not run",
                            "La herramienta de Kafka no se ejecutó"
                        )
                    ),
                );
            }
        }
    }

    /// Runs the original project's PySpark job on this Kafka, through Spark's own Kafka
    /// source (`scripts/spark_kafka.py`): it reads `tweets_topic` from its latest offsets
    /// while our producer writes `events` new events (10 % late), counts hashtags in 60 s
    /// windows with a 60 s watermark in event time, update mode, `foreachBatch`. Then our
    /// Kafka client reads the offsets of each of Spark's micro-batches and our engine counts
    /// them. Prints Spark's progress as it goes (about a minute); shows each micro-batch,
    /// Spark's rows beside ours, and whether they are the same. Needs Java 17, PySpark and
    /// Spark's Kafka source (`bash scripts/setup --spark`), and a broker Spark's Java
    /// client can talk to (Apache Kafka or Tansu, not the embedded mock); otherwise one
    /// sentence says so.
    pub fn show_spark(&self, events: u32) -> Result<Html> {
        let mut out = std::io::stdout();
        let skip = |why: String| {
            let _ = write_line(&mut std::io::stdout(), &why);
            Ok(Html::new(
                format!("<p>{}</p>", crate::views::html::escape(&why)),
                why.clone(),
            )
            .with_data("spark", &json!({"ran": false, "why": why})))
        };
        if self.backend == Backend::Embedded {
            return skip(
                tr(
                    "Spark's Kafka source is a Java client, and the embedded broker (librdkafka's \
                 mock cluster) does not answer it: run this lesson with \
                 STREAM_DEMO_BACKEND=kafka (Apache Kafka itself) to see the original job run.",
                    "La fuente Kafka de Spark es un cliente Java y el broker embebido (el clúster \
                 simulado de librdkafka) no le responde: ejecuta esta lección con \
                 STREAM_DEMO_BACKEND=kafka (Apache Kafka) para ver el trabajo original.",
                )
                .to_string(),
            );
        }
        let root = crate::sys::binary::crate_dir().join("..");
        let python = root.join(".venv").join("bin").join("python");
        let producer = crate::sys::binary::binary("producer")?;
        let bins = producer.parent().map(PathBuf::from).unwrap_or_default();
        let result = self
            .config
            .state_dir
            .join(format!("spark-{}.json", Timestamp::now().micros()));
        let mut cmd = std::process::Command::new(&python);
        cmd.arg(root.join("scripts").join("spark_kafka.py"))
            .args([
                "--bootstrap",
                &self.bootstrap,
                "--events",
                &events.to_string(),
            ])
            .arg("--json")
            .arg(&result)
            .env("HELPERS_BIN_DIR", &bins)
            .stdout(std::process::Stdio::piped());
        // Spark's own log (warnings) goes to a file, not to the cell.
        let log = self.config.state_dir.join("spark.log");
        cmd.stderr(crate::sys::state::open_log(&log)?);
        crate::sys::process::never_outlive_me(&mut cmd);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return skip(format!(
                    "{} ({e}): {}",
                    tr("PySpark could not start", "PySpark no pudo arrancar"),
                    tr(
                        "run `bash scripts/setup --spark`",
                        "ejecuta `bash scripts/setup --spark`"
                    )
                ))
            }
        };
        // Its report, line by line, as it comes (each line made safe for the cell).
        let mut last = String::new();
        if let Some(stdout) = child.stdout.take() {
            use std::io::BufRead;
            for l in std::io::BufReader::new(stdout)
                .lines()
                .map_while(|l| l.ok())
            {
                let _ = write_line(&mut out, &l);
                if !l.trim().is_empty() {
                    last = l;
                }
            }
        }
        let status = child
            .wait()
            .map_err(|e| crate::error::Error::os("cannot wait for the Spark job", e))?;
        let Some(data) = crate::sys::state::read(&result)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        else {
            let tail = crate::sys::state::read(&log)
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .lines()
                        .last()
                        .unwrap_or("")
                        .to_string()
                })
                .unwrap_or_default();
            return skip(format!(
                "{} ({status}): {} {tail}",
                tr(
                    "The Spark job did not finish",
                    "El trabajo de Spark no terminó"
                ),
                if last.is_empty() { "" } else { &last }
            ));
        };
        let _ = std::fs::remove_file(&result);
        Ok(spark_view(&data)?.with_data("spark", &data))
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

/// The Spark job's micro-batches beside ours (what [`Infra::show_spark`] shows).
fn spark_view(data: &serde_json::Value) -> Result<Html> {
    let n = |v: &serde_json::Value| v.as_i64().unwrap_or(0).to_string();
    let rows: Vec<Vec<String>> = data["batches"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let offsets = b["offsets"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|r| format!("{}: {}–{}", n(&r[0]), n(&r[1]), n(&r[2])))
                .collect::<Vec<_>>()
                .join(" · ");
            vec![
                i.to_string(),
                offsets,
                n(&b["rows"]),
                n(&b["dropped"]),
                n(&b["spark_rows"]),
                n(&b["our_rows"]),
                crate::core::lang::yes_no(b["same"].as_bool().unwrap_or(false)).to_string(),
            ]
        })
        .collect();
    let df = table::text_columns(
        &[
            tr("micro-batch", "microlote"),
            tr(
                "offsets read (partition: from–to)",
                "offsets leídos (partición: desde–hasta)",
            ),
            tr("events", "eventos"),
            tr(
                "dropped by the watermark",
                "descartados por la marca de agua",
            ),
            tr("rows Spark wrote", "filas que escribió Spark"),
            tr("rows we wrote", "filas que escribimos"),
            tr("same", "iguales"),
        ],
        &rows,
    )?;
    let identical = data["identical"].as_bool().unwrap_or(false);
    let caption = format!(
        "{} {} · {} {} · {}",
        tr("Spark", "Spark"),
        data["spark"].as_str().unwrap_or("?"),
        n(&data["events"]),
        tr("events", "eventos"),
        if identical {
            tr(
                "every micro-batch and every final count identical to ours",
                "cada micro-lote y cada recuento final idénticos a los nuestros",
            )
        } else {
            tr("DIFFERENT from ours", "DISTINTO de lo nuestro")
        }
    );
    Ok(table::show(&df, &caption))
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
