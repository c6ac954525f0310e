//! Renders the dashboard of a synthetic snapshot to `artifacts/` (for looking at the
//! charts without Kafka): `cargo run --example render`.

use std::time::Duration;

use helpers::core::config::{TimeDomain, WindowConfig};
use helpers::core::generator::{Generator, GeneratorConfig, TrendShift};
use helpers::core::time::Timestamp;
use helpers::core::window::WindowEngine;

fn main() -> Result<(), helpers::error::Error> {
    let mut g = Generator::new(GeneratorConfig {
        trend: Some(TrendShift {
            every: Duration::from_secs(90),
        }),
        ..Default::default()
    })?;
    let mut e = WindowEngine::new(
        WindowConfig::sliding(Duration::from_secs(60), Duration::from_secs(10))
            .with_watermark(Duration::from_secs(10))
            .with_time_domain(TimeDomain::EventTime),
    )?;
    let t0 = 1_733_940_000.0;
    let mut buf = Vec::new();
    let mut snap = None;
    for i in 0..6000 {
        let t = t0 + i as f64 * 0.1;
        g.next_json(t, &mut buf);
        e.ingest_raw(&buf, Timestamp::from_secs_f64(t));
        if i % 100 == 99 {
            snap = Some(e.tick(Timestamp::from_secs_f64(t)));
        }
    }
    let snap = snap.expect("ticked");
    let html = helpers::views::dashboard::dashboard(&snap, Duration::from_secs(10))?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    let page = format!(
        "<!doctype html><meta charset=utf-8><body style=\"font-family:sans-serif\">{}</body>",
        html.markup
    );
    std::fs::write(dir.join("dashboard.html"), page).expect("write");
    println!("{}", html.text);
    println!("wrote {}", dir.join("dashboard.html").display());
    Ok(())
}
