//! # Stage 0: the core, what a stream *is* and how it is counted
//!
//! Pure code: no I/O, no Kafka, no clock (time always comes in as an argument), so every
//! piece here can be tested by replaying any timeline. The other stages build on it.
//!
//! * [`config`]: named constants (`TWEETS_TOPIC`, the original vocabulary) and the window
//!   settings ([`config::WindowConfig`], [`config::TimeDomain`]).
//! * [`event`]: the wire schema (`usuario`, `texto`, `hashtag_principal`, `timestamp`),
//!   the decoder and the reasons a message is rejected.
//! * [`generator`]: the synthetic social network (seeded, weighted, with trend shifts).
//! * [`time`]: timestamps in microseconds, so window boundaries are exact.
//! * [`window`]: the window engine: tumbling and sliding windows, processing or event
//!   time, the watermark, late data, per-trigger metrics. Start here to learn windows.
//! * [`lang`]: the language the outputs' labels are written in (English or Spanish).
//! * [`ledger`]: which offsets of each partition a consumer read, once, twice or never
//!   (the end-to-end check's evidence).
//! * [`replay`]: fixed micro-batches through the engine, one trigger each; compares the
//!   late-data rules (and feeds the Spark conformance test).
//!
//! May use: the standard library, serde, rand, foldhash, and [`crate::error`].

pub mod config;
pub mod event;
pub mod generator;
pub mod lang;
pub mod ledger;
pub mod replay;
pub mod time;
pub mod window;
