//! # helpers: the engine room of the streaming notebook
//!
//! `Notebook.ipynb` shows a live stream-processing pipeline to a class. Every cell in it is
//! one to five lines long; this crate does the work behind them. It is written to be read.
//!
//! ```text
//!  producer process ──JSON──▶ Kafka topic tweets_topic ──▶ consumer thread
//!  (generator)                (Docker, or embedded)         │ window engine
//!                                                           ▼
//!                          notebook cells ◀── snapshots (tables, charts)
//! ```
//!
//! # Layout
//! The folders follow the pipeline, in order; each one's docs say what lives there.
//!
//! * [`core`]: what a stream is and how it is counted: the wire schema and decoder, the
//!   synthetic generator, timestamps, the window engine, replays of fixed micro-batches.
//!   Pure: no I/O, no Kafka, no clock.
//! * [`kafka`]: the pipeline's Kafka clients: client settings, the producer process and
//!   the live consumer, its checkpoint.
//! * [`lab`]: the classroom's Kafka: the embedded broker, Tansu, Docker, the embedded
//!   cluster's controller, the health check.
//! * [`views`]: what a class looks at: Polars tables, plotters charts, the live page.
//! * [`sys`]: plumbing: the state directory, child processes that never outlive the
//!   notebook, signals, finding the helper programs.
//! * [`settings`]: every classroom setting, defined once (flags and environment variables).
//! * [`notebook`]: the facade: the functions the notebook's cells call.
//! * [`error`]: the one error type; its messages say what to do.
//!
//! # Layers
//! Each layer uses only the layers below it (and files of its own folder, with no import
//! cycle between files). The integration test `tests/it/layers.rs` reads every
//! `crate::` path of the library's code against this table and fails on a wrong-way or
//! circular import.
//!
//! | layer | may use |
//! |---|---|
//! | [`notebook`] (the facade) | everything below |
//! | [`settings`] (flags and environment variables, read once) | everything below |
//! | [`views`] (tables, charts, the live page: render data they are given) | lab, kafka, core, sys, error |
//! | [`lab`] (embedded broker, Tansu, Docker, controller, health) | kafka, core, sys, error |
//! | [`kafka`] (client settings, producer, consumer, checkpoint) | core, sys, error |
//! | [`core`] (event, generator, time, window, replay: pure) | error |
//! | [`sys`] (state folder, processes, signals, programs: knows no stream) | error |
//! | [`error`] | nothing of this crate, and no Kafka type |
//!
//! The programs (`src/bin/*`) sit above all of it.
//!
//! The [`prelude`] brings in what a notebook cell needs.

pub mod core;
pub mod error;
pub mod kafka;
pub mod lab;
pub mod notebook;
pub mod settings;
pub mod sys;
pub mod views;

/// The Kafka client library, for cells that write their own consumer (the notebook's
/// section 7b): `use helpers::rdkafka::...`, the same version the helpers use.
pub use rdkafka;

/// Everything a notebook cell needs: `use helpers::prelude::*;`. A small vocabulary
/// (see [`notebook`] for its rules): the values a cell keeps and the settings that start
/// them, the engine's types for the section that writes its own consumer, and the few
/// free functions: starting Kafka, `show…` views of fixed timelines or of several running
/// parts, and `at` for times of day. Everything else a cell calls is a method of these
/// values.
pub mod prelude {
    pub use crate::core::config::{TimeDomain, WindowConfig, TWEETS_TOPIC};
    pub use crate::core::time::Timestamp;
    pub use crate::core::window::WindowEngine;
    pub use crate::kafka::consumer::Pipeline;
    pub use crate::kafka::producer::Producer;
    pub use crate::notebook::{
        at, check_append_trigger, check_late_event, check_watermark_delay, clean_up, set_language,
        show_cluster, show_compare, show_decoded, show_group, show_late_data, show_micro_batches,
        show_output_modes, show_reconcile, show_status, show_timeline, start_kafka,
    };
    pub use crate::settings::Settings;
    pub use crate::views::live::LivePage;
    pub use std::time::Duration;
}
