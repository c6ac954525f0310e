//! The integration tests, one binary. Modules:
//!
//! * `window_props`: property tests of the window engine against a naive reference.
//! * `checkpoint`: the consumer's checkpoint against real brokers: another cluster's
//!   refused, one consumer per folder, and a consumer killed (SIGKILL) a dozen times while
//!   a producer writes that ends with exactly the acknowledged counts.
//! * `kafka`: producer process, live consumer, health check, infra and interop with
//!   kcat and kafka-python, over TCP against the embedded broker.
//! * `browser`: the live page in headless Chromium (DOM and a screenshot).
//! * `live_page`: the live page against hostile clients (raw TCP): foreign `Host`
//!   headers, bodies, endless headers, slow and idle connections, memory, stop time; two
//!   million distinct hashtags.
//! * `robustness`: bad input via kafka-python, broker outage, killed kernel, loopback
//!   only, clear errors.
//! * `fuzz_corpora`: every committed fuzz corpus input through its target's oracle
//!   (`fuzz/checks.rs`), without libFuzzer.
//! * `layers`: the crate's layers (the table in `src/lib.rs`) and no import cycle,
//!   read from the source.
//! * `settings`: the programs' `--help` defaults against the notebook's settings table.
//! * `support`: fixtures (a real broker per test, temp dirs, Python).
mod browser;
mod checkpoint;
mod fuzz_corpora;
mod kafka;
mod layers;
mod live_page;
mod robustness;
mod settings;
mod support;
mod window_props;
