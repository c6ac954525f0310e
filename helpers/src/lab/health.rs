//! The health check (the original project's `tester.py`): is Kafka really working?
//!
//! It writes N numbered messages to a fresh topic, reads them back, and reports each step
//! with its verdict: the broker answers, a topic can be created, messages are stored and
//! acknowledged, and a consumer gets every one of them back, once.

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::core::lang::tr;
use crate::core::time::Timestamp;
use crate::kafka::client::{
    ensure_topic, partitions, plain_consumer, producer_config, wait_for_broker,
};

/// One step of the check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// What was checked.
    pub name: String,
    /// Whether it worked.
    pub ok: bool,
    /// What happened.
    pub detail: String,
    /// How long it took.
    pub took: Duration,
}

/// The whole check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    /// The address checked.
    pub bootstrap: String,
    /// The fresh topic used.
    pub topic: String,
    /// The steps, in order (it stops at the first failure).
    pub steps: Vec<Step>,
    /// Whether the fresh topic was deleted afterwards: `Some(true)` deleted, `Some(false)`
    /// left (a broker without the admin API: the embedded one, whose topics live in memory
    /// and go with it), `None` never created.
    #[serde(default)]
    pub topic_deleted: Option<bool>,
}

impl HealthReport {
    /// True when every step passed.
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.ok)
    }
}

impl fmt::Display for HealthReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} {} (topic {})",
            tr("health check of", "prueba de salud de"),
            self.bootstrap,
            self.topic
        )?;
        for (i, s) in self.steps.iter().enumerate() {
            let mark = if s.ok { "OK  " } else { "FAIL" };
            writeln!(
                f,
                "  {}. [{mark}] {:<28} {} ({} ms)",
                i + 1,
                s.name,
                s.detail,
                s.took.as_millis()
            )?;
        }
        match self.topic_deleted {
            Some(true) => writeln!(
                f,
                "  {}",
                tr("the topic was deleted afterwards", "el topic se borró al terminar")
            )?,
            Some(false) => writeln!(
                f,
                "  {}",
                tr(
                    "the topic stays: this broker has no admin API (its topics live in memory and go with it)",
                    "el topic se queda: este broker no tiene API de administración (sus topics viven en memoria y se van con él)",
                )
            )?,
            None => {}
        }
        let verdict = if self.passed() {
            tr(
                "PASSED: Kafka stores and delivers messages.",
                "SUPERADA: Kafka guarda y entrega los mensajes.",
            )
        } else {
            tr(
                "FAILED: see the first failing step above.",
                "FALLIDA: mira arriba el primer paso que falla.",
            )
        };
        write!(f, "{}: {verdict}", tr("verdict", "veredicto"))
    }
}

/// Runs the check against `bootstrap` with `n` messages; never panics, never hangs longer
/// than about `wait` per step.
pub fn check(bootstrap: &str, n: u32, wait: Duration) -> HealthReport {
    let topic = format!(
        "health-check-{}-{}",
        std::process::id(),
        Timestamp::now().micros()
    );
    let mut report = HealthReport {
        bootstrap: bootstrap.to_string(),
        topic: topic.clone(),
        steps: Vec::new(),
        topic_deleted: None,
    };
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result<String, String>| -> bool {
        let t0 = Instant::now();
        let r = f();
        let ok = r.is_ok();
        report.steps.push(Step {
            name: name.to_string(),
            ok,
            detail: r.unwrap_or_else(|e| e),
            took: t0.elapsed(),
        });
        ok
    };
    let _ = step(tr("broker answers", "el broker responde"), &mut || {
        wait_for_broker(bootstrap, wait)
            .map(|md| {
                format!(
                    "{} broker(s), {} topic(s)",
                    md.brokers().len(),
                    md.topics().len()
                )
            })
            .map_err(|e| e.to_string())
    }) && step(
        tr("create a fresh topic", "crear un topic nuevo"),
        &mut || {
            ensure_topic(bootstrap, &topic, 1, wait)
                .map(|how| format!("{topic} ({how})"))
                .map_err(|e| e.to_string())
        },
    ) && step(
        &format!(
            "{} {n} {}",
            tr("produce", "producir"),
            tr("messages", "mensajes")
        ),
        &mut || produce(bootstrap, &topic, n, wait),
    ) && step(
        &format!(
            "{} {n} {}",
            tr("consume", "consumir"),
            tr("messages", "mensajes")
        ),
        &mut || consume(bootstrap, &topic, n, wait),
    );
    // Leave no topic behind: a check a minute for a lesson would fill the broker.
    if report.steps.len() >= 2 && report.steps[1].ok {
        report.topic_deleted =
            crate::kafka::client::delete_topic(bootstrap, &topic, wait.min(Duration::from_secs(5)))
                .ok();
    }
    report
}

fn produce(bootstrap: &str, topic: &str, n: u32, wait: Duration) -> Result<String, String> {
    let producer: ThreadedProducer<DefaultProducerContext> = producer_config(bootstrap)
        .set("message.timeout.ms", wait.as_millis().to_string())
        .create()
        .map_err(|e| e.to_string())?;
    for i in 1..=n {
        let payload = format!(r#"{{"n": {i}, "usuario": "User_{i}", "contenido": "Hola Kafka"}}"#);
        producer
            .send(BaseRecord::<(), _>::to(topic).payload(&payload))
            .map_err(|(e, _)| e.to_string())?;
    }
    producer
        .flush(wait)
        .map_err(|e| format!("not acknowledged in time: {e}"))?;
    Ok(format!(
        "{n} {}",
        tr("sent and acknowledged", "enviados y confirmados")
    ))
}

fn consume(bootstrap: &str, topic: &str, n: u32, wait: Duration) -> Result<String, String> {
    let consumer: BaseConsumer = plain_consumer(bootstrap).map_err(|e| e.to_string())?;
    let parts = partitions(&consumer, topic, wait)
        .map_err(|e| e.to_string())?
        .ok_or("the topic disappeared")?;
    let mut tpl = TopicPartitionList::new();
    for p in parts {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .map_err(|e| e.to_string())?;
    }
    consumer.assign(&tpl).map_err(|e| e.to_string())?;
    let mut seen = BTreeSet::new();
    let mut duplicates = 0;
    let deadline = Instant::now() + wait;
    while seen.len() < n as usize && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let v: serde_json::Value = serde_json::from_slice(m.payload().unwrap_or(&[]))
                    .map_err(|e| format!("message is not JSON: {e}"))?;
                let i = v["n"].as_u64().ok_or("message without its number")?;
                if !seen.insert(i) {
                    duplicates += 1;
                }
            }
            Some(Err(e)) => return Err(e.to_string()),
            None => {}
        }
    }
    let expected: BTreeSet<u64> = (1..=n as u64).collect();
    if seen == expected && duplicates == 0 {
        Ok(format!(
            "{} {n} {}",
            tr("all", "los"),
            tr("received, once each", "recibidos, una vez cada uno")
        ))
    } else {
        let missing = expected.difference(&seen).count();
        Err(format!("{missing} missing, {duplicates} duplicated"))
    }
}
