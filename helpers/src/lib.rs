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
//! The modules follow the pipeline, in order:
//!
//! * [`config`]: named constants (`TWEETS_TOPIC`, the default vocabulary) and the
//!   `*Config` structs with classroom defaults.
//! * [`event`]: the wire schema (`usuario`, `texto`, `hashtag_principal`, `timestamp`),
//!   the decoder and the reasons a message is rejected.
//! * [`generator`]: the synthetic social network (seeded, weighted, with trend shifts).
//! * [`time`]: timestamps in microseconds, so window boundaries are exact.
//! * [`window`]: the window engine: tumbling and sliding windows, processing or event
//!   time, the watermark, late data, per-trigger metrics. Start here to learn windows.
//! * [`replay`]: fixed micro-batches through the engine, one trigger each; compares the
//!   late-data rules (and feeds the Spark conformance test).
//! * [`kafka`]: small functions that build Kafka clients and ask the broker questions.
//! * [`broker`]: the embedded Kafka-protocol broker for machines without Docker.
//! * [`infra`]: start, check, stop and tear down Kafka (Docker or embedded).
//! * [`producer`]: the producer loop and its background-process handle.
//! * [`pipeline`]: the live consumer thread: Kafka → window engine → snapshots.
//! * [`health`]: the health check (produce N messages, read them back).
//! * [`process`]: child processes that never outlive the notebook.
//! * [`table`], [`chart`], [`dashboard`], [`html`]: the views: Polars tables, plotters
//!   charts, and HTML for notebook cells.
//! * [`live`]: the live page (a loopback web server the notebook shows in an iframe).
//! * [`settings`]: classroom settings from environment variables.
//! * [`notebook`]: the functions the notebook's cells call.
//! * [`error`]: the one error type; its messages say what to do.
//!
//! The [`prelude`] brings in what a notebook cell needs.

pub mod broker;
pub mod chart;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod event;
pub mod generator;
pub mod health;
pub mod html;
pub mod infra;
pub mod kafka;
pub mod live;
pub mod notebook;
pub mod pipeline;
pub mod process;
pub mod producer;
pub mod replay;
pub mod settings;
pub mod table;
pub mod time;
pub mod window;

/// Everything a notebook cell needs: `use helpers::prelude::*;`.
pub mod prelude {
    pub use crate::config::{
        LateRule, ProcessingClock, TimeDomain, WindowConfig, DEFAULT_BOOTSTRAP, DEFAULT_HASHTAGS,
        TWEETS_TOPIC,
    };
    pub use crate::error::{Error, Result};
    pub use crate::event::{decode, Event, Rejection};
    pub use crate::generator::{Generator, GeneratorConfig, TrendShift};
    pub use crate::html::Html;
    pub use crate::infra::{self, Backend, Infra};
    pub use crate::live::LivePage;
    pub use crate::notebook::*;
    pub use crate::pipeline::{Pipeline, PipelineConfig, StartFrom};
    pub use crate::producer::{Producer, ProducerConfig};
    pub use crate::settings::Settings;
    pub use crate::time::Timestamp;
    pub use crate::window::{Snapshot, WindowCounts, WindowEngine};
    pub use std::time::Duration;
}
