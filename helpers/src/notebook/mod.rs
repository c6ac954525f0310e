//! # The facade: what the notebook's cells call
//!
//! A student meets a small vocabulary, with three rules:
//!
//! * **What renders is named `show…`.** A method or function whose name starts with
//!   `show` returns what the cell displays: a table or a chart ([`Html`]), or a report
//!   that shows itself (the health check's); no other method renders, so `pipeline.metrics()` (the numbers) and `pipeline.show_metrics(8)`
//!   (the table) never mean the same thing by two names.
//! * **The running parts are values a cell keeps:** `kafka` ([`Infra`]), `producer`
//!   ([`Producer`]), `pipeline` ([`Pipeline`]: the consumer and its window engine, Spark's
//!   streaming query), `live` ([`LivePage`]). Status and clean-up take any of them as a
//!   list: `show_status(&[&kafka, &producer, &pipeline])`, `clean_up(&[&live, &pipeline,
//!   &producer, &kafka])`.
//! * **Nothing sleeps a fixed time:** every wait is for a condition, with a bound.
//!
//! The files, one job each:
//! * [`kafka`]: starting Kafka, its table, the health check, a failover, consumer groups;
//! * [`stream`]: the settings, the producer and the pipeline, as tables and charts;
//! * the lesson's fixed timelines (windows, late data, output modes) and the checks of
//!   its exercises are views of the engine alone: [`crate::views::lesson`];
//! * [`parts`]: the status and the clean-up of whatever runs.
//!
//! The facade composes: the tables and charts are drawn in [`crate::views`], the
//! questions asked of Kafka are in [`crate::lab`] and [`crate::kafka`].

pub mod kafka;
pub mod parts;
pub mod stream;

pub use crate::views::lesson::{
    at, check_append_trigger, check_late_event, check_watermark_delay, show_late_data,
    show_output_modes, show_timeline,
};
pub use kafka::{show_cluster, show_group, start_kafka};
pub use parts::{clean_up, show_status, Part};
pub use stream::{set_language, show_compare, show_decoded, show_micro_batches, show_reconcile};

#[cfg(doc)]
use crate::{
    kafka::consumer::Pipeline, kafka::producer::Producer, lab::infra::Infra, views::html::Html,
    views::live::LivePage,
};
