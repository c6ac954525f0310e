//! Whatever runs, in one list: its status, and its clean-up with a check by process id
//! that nothing is left.

use serde_json::{json, Value};

use crate::core::lang::{tr, yes_no};
use crate::error::Result;
use crate::kafka::consumer::{BrokerState, Pipeline};
use crate::kafka::producer::Producer;
use crate::lab::broker::BrokerInfo;
use crate::lab::infra::Infra;
use crate::settings::Environment;
use crate::sys::process::{pid_alive, running_programs, threads_named};
use crate::views::html::Html;
use crate::views::live::LivePage;
use crate::views::table;

/// A part of the class's pipeline that runs until stopped: Kafka, the producer, a
/// consumer ([`Pipeline`]), the live page. [`show_status`] and [`clean_up`] take a list
/// of them, in any number and order.
pub trait Part {
    /// Its row in the status table: what it is, and its state now.
    fn status_row(&self) -> Row;
    /// Stops it (Kafka: takes it down, keeping no data) and says how it ended; its data
    /// says whether it still runs (`running`).
    fn stop_part(&self) -> Result<Row>;
}

/// One part's row in a table: its name, its state in words, and the same state as data
/// (what the notebook's checks read, whatever the words).
pub struct Row {
    /// What it is (`kafka`, `producer`, `consumer`, ...).
    pub name: String,
    /// Its state, in words.
    pub text: String,
    /// Its state, as data.
    pub data: Value,
}

impl Row {
    /// A row named `name` (in the labels' language); `data` gets `part`, the English key
    /// (what the checks read, whatever the language).
    fn new(part: &str, name: impl Into<String>, text: impl Into<String>, mut data: Value) -> Row {
        data["part"] = json!(part);
        Row {
            name: name.into(),
            text: text.into(),
            data,
        }
    }
}

/// `running: yes` (or its translation): whether a stopped part still runs.
fn still_running(left: bool) -> String {
    format!("{}: {}", tr("running", "en marcha"), yes_no(left))
}

impl Part for Infra {
    fn status_row(&self) -> Row {
        let up = self.is_up();
        let answering = if up {
            tr("answering", "responde")
        } else {
            tr("not answering", "no responde")
        };
        Row::new(
            "kafka",
            "kafka",
            format!(
                "{} {} {} ({answering})",
                self.backend,
                tr("at", "en"),
                self.bootstrap
            ),
            json!({ "backend": self.backend.to_string(), "up": up }),
        )
    }

    fn stop_part(&self) -> Result<Row> {
        self.down(false)?;
        let left =
            self.broker_pid.is_some_and(pid_alive) || (self.backend.is_hosted() && self.is_up());
        Ok(Row::new(
            &format!("kafka ({})", self.backend),
            format!("kafka ({})", self.backend),
            format!("{}; {}", tr("down", "detenido"), still_running(left)),
            json!({ "running": left }),
        ))
    }
}

impl Part for Producer {
    fn status_row(&self) -> Row {
        let s = self.stats();
        let running = self.is_running();
        Row::new(
            "producer",
            tr("producer", "productor"),
            format!(
                "pid {} {} · {} {} · {} {} · {} {}",
                self.pid(),
                if running {
                    tr("running", "en marcha")
                } else {
                    tr("stopped", "detenido")
                },
                tr("sent", "enviados"),
                s.sent,
                tr("acked", "confirmados"),
                s.acked,
                tr("failed", "fallidos"),
                s.failed
            ),
            json!({ "running": running, "sent": s.sent, "acked": s.acked, "failed": s.failed }),
        )
    }

    fn stop_part(&self) -> Result<Row> {
        let pid = self.pid();
        let s = self.stop();
        let left = pid_alive(pid);
        Ok(Row::new(
            &format!("producer (pid {pid})"),
            format!("{} (pid {pid})", tr("producer", "productor")),
            format!(
                "{} {} {}, {} {}; {}",
                tr("stopped after", "detenido tras"),
                s.sent,
                tr("events", "eventos"),
                s.acked,
                tr("acknowledged", "confirmados"),
                still_running(left)
            ),
            json!({ "running": left, "sent": s.sent, "acked": s.acked }),
        ))
    }
}

impl Part for Pipeline {
    fn status_row(&self) -> Row {
        Row::new(
            "consumer",
            tr("consumer", "consumidor"),
            consumer_line(self),
            consumer_data(self),
        )
    }

    fn stop_part(&self) -> Result<Row> {
        self.stop();
        let left = self.status().running;
        Ok(Row::new(
            "consumer thread",
            tr("consumer thread", "hilo consumidor"),
            format!("{}; {}", tr("stopped", "detenido"), still_running(left)),
            json!({ "running": left }),
        ))
    }
}

impl Part for LivePage {
    fn status_row(&self) -> Row {
        Row::new(
            "live page",
            tr("live page", "página en vivo"),
            self.url(),
            json!({ "url": self.url() }),
        )
    }

    fn stop_part(&self) -> Result<Row> {
        self.stop();
        Ok(Row::new(
            "live page",
            tr("live page", "página en vivo"),
            format!("{}; {}", tr("stopped", "detenida"), still_running(false)),
            json!({ "running": false }),
        ))
    }
}

/// One table of what runs (`parts`, e.g. `&[&kafka, &producer, &pipeline]`), and the
/// processes and consumer threads of this notebook's state folder, found by pid and
/// thread name.
pub fn show_status(parts: &[&dyn Part]) -> Result<Html> {
    let status: Vec<Row> = parts.iter().map(|p| p.status_row()).collect();
    let (producers, brokers) = running_programs(&Environment::current().state_dir());
    let threads = threads_named("pipeline");
    let mut rows: Vec<(String, String)> = status
        .iter()
        .map(|r| (r.name.clone(), r.text.clone()))
        .collect();
    rows.push((
        tr("processes", "procesos").into(),
        format!(
            "{}: {producers} · {}: {threads} · {}: {brokers}",
            tr("producers running", "productores en marcha"),
            tr("consumer threads", "hilos consumidores"),
            tr("embedded brokers", "brokers embebidos")
        ),
    ));
    let data = json!({
        "parts": status.iter().map(|r| r.data.clone()).collect::<Vec<_>>(),
        "processes": { "producers": producers, "consumer_threads": threads, "brokers": brokers },
    });
    Ok(table::show(&table::key_values(&rows)?, tr("Status", "Estado")).with_data("status", &data))
}

/// Stops `parts` in the order given (e.g. `&[&live, &pipeline, &producer, &kafka]`: the
/// readers before the writer, Kafka last), then checks by pid that nothing is left.
pub fn clean_up(parts: &[&dyn Part]) -> Result<Html> {
    let mut stopped = Vec::new();
    for p in parts {
        stopped.push(p.stop_part()?);
    }
    let left = stopped.iter().filter(|r| r.data["running"] == true).count();
    let mut rows: Vec<(String, String)> = stopped
        .iter()
        .map(|r| (r.name.clone(), r.text.clone()))
        .collect();
    rows.push((
        tr("processes left running", "procesos que siguen en marcha").into(),
        left.to_string(),
    ));
    let data = json!({
        "parts": stopped.iter().map(|r| r.data.clone()).collect::<Vec<_>>(),
        "left": left,
    });
    Ok(
        table::show(&table::key_values(&rows)?, tr("Clean-up", "Limpieza"))
            .with_data("clean_up", &data),
    )
}

/// A consumer's row: running or not, its connection, its partitions, what it read. While
/// it cannot reach Kafka and an embedded cluster runs from its state folder, it says how
/// many brokers are really down (librdkafka's own reason counts its connections, twice
/// the brokers).
pub(crate) fn consumer_line(p: &Pipeline) -> String {
    let st = p.status();
    let broker = match &st.broker {
        BrokerState::Unreachable(why) => match embedded_down(p) {
            Some((down, of)) if down > 0 => {
                format!(
                    "{}: {down} {} {of} {}",
                    tr("broker unreachable", "broker inalcanzable"),
                    tr("of", "de"),
                    tr("brokers down", "brokers caídos")
                )
            }
            _ => why.clone(),
        },
        state => state.to_string(),
    };
    format!(
        "{} · {} · {broker} · {} {} · {} {}",
        if st.running {
            tr("running", "en marcha")
        } else {
            tr("stopped", "detenido")
        },
        p.config().window.time_domain,
        tr("partitions", "particiones"),
        list(&st.partitions),
        st.consumed,
        tr("messages", "mensajes")
    )
}

/// A consumer's state as data: running, its connection (`connecting`, `connected`,
/// `unreachable`, with the embedded cluster's brokers down when it knows), its partitions,
/// the messages it read.
pub(crate) fn consumer_data(p: &Pipeline) -> Value {
    let st = p.status();
    let (broker, down) = match &st.broker {
        BrokerState::Connecting => ("connecting", None),
        BrokerState::Connected => ("connected", None),
        BrokerState::Unreachable(_) => ("unreachable", embedded_down(p)),
    };
    json!({
        "running": st.running,
        "broker": broker,
        "brokers_down": down.map(|(d, _)| d),
        "brokers": down.map(|(_, of)| of),
        "partitions": st.partitions,
        "consumed": st.consumed,
    })
}

/// How many brokers of the embedded cluster that runs from `p`'s state folder are down,
/// and how many it has (`None`: no embedded cluster runs there).
fn embedded_down(p: &Pipeline) -> Option<(usize, usize)> {
    BrokerInfo::read(&p.config().state_dir)
        .filter(|i| i.process().is_some())
        .map(|i| i.down_count())
}

/// `0, 1, 2` (or `none`): a list of numbers in words, not Rust's `[0, 1, 2]`.
pub(crate) fn list(items: &[i32]) -> String {
    if items.is_empty() {
        return tr("none", "ninguna").into();
    }
    items
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
