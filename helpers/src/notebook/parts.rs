//! Whatever runs, in one list: its status, and its clean-up with a check by process id
//! that nothing is left.

use std::path::Path;

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
    fn status_row(&self) -> (String, String);
    /// Stops it (Kafka: takes it down, keeping no data) and says how it ended: what it
    /// is, how it ended, and whether it still runs.
    fn stop_part(&self) -> Result<(String, String, bool)>;
}

impl Part for Infra {
    fn status_row(&self) -> (String, String) {
        let answering = if self.is_up() {
            "answering"
        } else {
            "not answering"
        };
        (
            "kafka".into(),
            format!("{} at {} ({answering})", self.backend, self.bootstrap),
        )
    }

    fn stop_part(&self) -> Result<(String, String, bool)> {
        self.down(false)?;
        let left =
            self.broker_pid.is_some_and(pid_alive) || (self.backend.is_hosted() && self.is_up());
        Ok((format!("kafka ({})", self.backend), "down".into(), left))
    }
}

impl Part for Producer {
    fn status_row(&self) -> (String, String) {
        let s = self.stats();
        let running = if self.is_running() {
            "running"
        } else {
            "stopped"
        };
        (
            "producer".into(),
            format!(
                "pid {} {running} · sent {} · acked {} · failed {}",
                self.pid(),
                s.sent,
                s.acked,
                s.failed
            ),
        )
    }

    fn stop_part(&self) -> Result<(String, String, bool)> {
        let pid = self.pid();
        let s = self.stop();
        Ok((
            format!("producer (pid {pid})"),
            format!("stopped after {} events, {} acknowledged", s.sent, s.acked),
            pid_alive(pid),
        ))
    }
}

impl Part for Pipeline {
    fn status_row(&self) -> (String, String) {
        ("consumer".into(), consumer_line(self))
    }

    fn stop_part(&self) -> Result<(String, String, bool)> {
        self.stop();
        Ok((
            "consumer thread".into(),
            "stopped".into(),
            self.status().running,
        ))
    }
}

impl Part for LivePage {
    fn status_row(&self) -> (String, String) {
        ("live page".into(), self.url())
    }

    fn stop_part(&self) -> Result<(String, String, bool)> {
        self.stop();
        Ok(("live page".into(), "stopped".into(), false))
    }
}

/// One table of what runs (`parts`, e.g. `&[&kafka, &producer, &pipeline]`), and the
/// processes and consumer threads of this notebook's state folder, found by pid and
/// thread name.
pub fn show_status(parts: &[&dyn Part]) -> Result<Html> {
    let mut rows: Vec<(String, String)> = parts.iter().map(|p| p.status_row()).collect();
    rows.push((
        "processes".into(),
        processes_line(&Environment::current().state_dir()),
    ));
    Ok(table::show(&table::key_values(&rows)?, "Status"))
}

/// Stops `parts` in the order given (e.g. `&[&live, &pipeline, &producer, &kafka]`: the
/// readers before the writer, Kafka last), then checks by pid that nothing is left.
pub fn clean_up(parts: &[&dyn Part]) -> Result<Html> {
    let mut stopped = Vec::new();
    for p in parts {
        stopped.push(p.stop_part()?);
    }
    let left = stopped.iter().filter(|(_, _, running)| *running).count();
    let mut rows: Vec<(String, String)> = stopped
        .into_iter()
        .map(|(what, how, running)| (what, format!("{how}; running: {running}")))
        .collect();
    rows.push(("processes left running".into(), left.to_string()));
    Ok(table::show(&table::key_values(&rows)?, "Clean-up"))
}

/// A consumer's row: running or not, its connection, its partitions, what it read. While
/// it cannot reach Kafka and an embedded cluster runs from its state folder, it says how
/// many brokers are really down (librdkafka's own reason counts its connections, twice
/// the brokers).
pub(crate) fn consumer_line(p: &Pipeline) -> String {
    let st = p.status();
    let embedded = || {
        BrokerInfo::read(&p.config().state_dir)
            .filter(|i| i.process().is_some())
            .map(|i| i.down_count())
    };
    let broker = match &st.broker {
        BrokerState::Unreachable(why) => match embedded() {
            Some((down, of)) if down > 0 => {
                format!("broker unreachable: {down} of {of} brokers down")
            }
            _ => why.clone(),
        },
        state => state.to_string(),
    };
    format!(
        "{} · {broker} · partitions {} · {} messages",
        if st.running { "running" } else { "stopped" },
        list(&st.partitions),
        st.consumed
    )
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

/// The status table's row of what runs from `state_dir`, found by pid and thread name.
fn processes_line(state_dir: &Path) -> String {
    let (producers, brokers) = running_programs(state_dir);
    format!(
        "producers running: {producers} · consumer threads: {} · embedded brokers: {brokers}",
        threads_named("pipeline")
    )
}
