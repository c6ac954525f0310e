//! Whatever runs, in one list: its status, and its clean-up with a check by process id
//! that nothing is left.

use serde_json::{json, Value};

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
    /// A row; `data` gets the name as `part`.
    fn new(name: impl Into<String>, text: impl Into<String>, mut data: Value) -> Row {
        let name = name.into();
        data["part"] = json!(name);
        Row {
            name,
            text: text.into(),
            data,
        }
    }
}

impl Part for Infra {
    fn status_row(&self) -> Row {
        let up = self.is_up();
        let answering = if up { "answering" } else { "not answering" };
        Row::new(
            "kafka",
            format!("{} at {} ({answering})", self.backend, self.bootstrap),
            json!({ "backend": self.backend.to_string(), "up": up }),
        )
    }

    fn stop_part(&self) -> Result<Row> {
        self.down(false)?;
        let left =
            self.broker_pid.is_some_and(pid_alive) || (self.backend.is_hosted() && self.is_up());
        Ok(Row::new(
            format!("kafka ({})", self.backend),
            format!("down; running: {left}"),
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
            format!(
                "pid {} {} · sent {} · acked {} · failed {}",
                self.pid(),
                if running { "running" } else { "stopped" },
                s.sent,
                s.acked,
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
            format!("producer (pid {pid})"),
            format!(
                "stopped after {} events, {} acknowledged; running: {left}",
                s.sent, s.acked
            ),
            json!({ "running": left, "sent": s.sent, "acked": s.acked }),
        ))
    }
}

impl Part for Pipeline {
    fn status_row(&self) -> Row {
        Row::new("consumer", consumer_line(self), consumer_data(self))
    }

    fn stop_part(&self) -> Result<Row> {
        self.stop();
        let left = self.status().running;
        Ok(Row::new(
            "consumer thread",
            format!("stopped; running: {left}"),
            json!({ "running": left }),
        ))
    }
}

impl Part for LivePage {
    fn status_row(&self) -> Row {
        Row::new("live page", self.url(), json!({ "url": self.url() }))
    }

    fn stop_part(&self) -> Result<Row> {
        self.stop();
        Ok(Row::new(
            "live page",
            "stopped; running: false",
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
        "processes".into(),
        format!(
            "producers running: {producers} · consumer threads: {threads} · embedded brokers: \
             {brokers}"
        ),
    ));
    let data = json!({
        "parts": status.iter().map(|r| r.data.clone()).collect::<Vec<_>>(),
        "processes": { "producers": producers, "consumer_threads": threads, "brokers": brokers },
    });
    Ok(table::show(&table::key_values(&rows)?, "Status").with_data("status", &data))
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
    rows.push(("processes left running".into(), left.to_string()));
    let data = json!({
        "parts": stopped.iter().map(|r| r.data.clone()).collect::<Vec<_>>(),
        "left": left,
    });
    Ok(table::show(&table::key_values(&rows)?, "Clean-up").with_data("clean_up", &data))
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
                format!("broker unreachable: {down} of {of} brokers down")
            }
            _ => why.clone(),
        },
        state => state.to_string(),
    };
    format!(
        "{} · {} · {broker} · partitions {} · {} messages",
        if st.running { "running" } else { "stopped" },
        p.config().window.time_domain,
        list(&st.partitions),
        st.consumed
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
        return "none".into();
    }
    items
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
