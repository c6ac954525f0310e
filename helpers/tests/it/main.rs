//! The integration tests, one binary. Modules:
//!
//! * `window_props`: property tests of the window engine against a naive reference.
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
mod fuzz_corpora;
mod kafka;
mod layers;
mod live_page;
mod robustness;
mod settings;
mod support;
mod window_props;
