//! Micro-benchmarks of the window engine (criterion): decoding a message, and counting it
//! in tumbling and sliding windows, with a trigger every 10 s of event time.
//!
//! ```sh
//! cargo bench --bench engine
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use helpers::core::config::{TimeDomain, WindowConfig};
use helpers::core::event::decode;
use helpers::core::time::Timestamp;
use helpers::core::window::WindowEngine;

#[path = "common/mod.rs"]
mod common;

/// Messages per measured iteration (100 s of event time at 1,000 events/s).
const N: usize = 100_000;

/// Decode alone, then decode + count in tumbling and in sliding windows.
fn engine(c: &mut Criterion) {
    let msgs = common::messages(N, 4);
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    g.bench_function("decode", |b| {
        b.iter(|| {
            for m in &msgs {
                black_box(decode(black_box(m)).is_ok());
            }
        })
    });
    let s = Duration::from_secs;
    for (name, config) in [
        ("tumbling 60 s", WindowConfig::tumbling(s(60))),
        ("sliding 60/10 s", WindowConfig::sliding(s(60), s(10))),
    ] {
        let config = config.with_time_domain(TimeDomain::EventTime);
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut e = WindowEngine::new(config.clone()).expect("engine");
                for (i, m) in msgs.iter().enumerate() {
                    e.ingest_raw(m, Timestamp(0));
                    if i % 10_000 == 9_999 {
                        black_box(e.tick(Timestamp(0)));
                    }
                }
                black_box(e.tick(Timestamp(0)))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
