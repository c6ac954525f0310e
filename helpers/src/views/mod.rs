//! # Stage 4: the views, what a class looks at
//!
//! * [`html`]: HTML for notebook cells, with every string from the stream escaped.
//! * [`console`]: lines for standard output, made safe for evcxr's output protocol and
//!   for terminals.
//! * [`table`]: Polars DataFrames of windows, metrics and status, shown as HTML tables.
//! * [`chart`]: plotters charts (top hashtags, counts per window), drawn as SVG.
//! * [`dashboard`]: the table and the charts together, for the live page.
//! * [`lesson`]: the lesson on late data and output modes, event by event.
//! * [`live`]: the live page, a loopback web server the notebook shows in an iframe.
//!
//! May use: [`crate::core`], the snapshots of [`crate::kafka::consumer`], Polars and
//! plotters. Nothing here talks to Kafka.

pub mod chart;
pub mod console;
pub mod dashboard;
pub mod html;
pub mod lesson;
pub mod live;
pub mod table;
