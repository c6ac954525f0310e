//! The live page in a real browser: headless Chromium (Debian's) loads it, runs its
//! script, and the DOM holds the trending table and both charts; a screenshot is kept in
//! `artifacts/live-page.png` (git-ignored) for a person to look at.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use helpers::core::config::WindowConfig;
use helpers::kafka::consumer::{Pipeline, PipelineConfig, StartFrom};
use helpers::kafka::producer::{Producer, ProducerConfig};
use helpers::views::live::LivePage;

use crate::support::{temp_dir, TestBroker};

fn chromium() -> PathBuf {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("Chromium is needed for this test: run `bash scripts/setup` (apt-get install chromium)");
}

/// Runs headless Chromium on `url` with `extra` arguments; returns stdout.
fn headless(url: &str, extra: &[&str]) -> String {
    let profile = temp_dir("chromium-profile");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Let the page's script fetch its fragment before the DOM is read.
            "--virtual-time-budget=4000",
            "--window-size=1400,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn chromium_shows_the_table_and_both_charts() {
    let broker = TestBroker::start(3);
    let pipe = Pipeline::start(PipelineConfig {
        bootstrap: broker.bootstrap.clone(),
        start_from: StartFrom::Earliest,
        window: WindowConfig::sliding(Duration::from_secs(10), Duration::from_secs(2)),
        trigger: Duration::from_millis(200),
        ..Default::default()
    })
    .unwrap();
    let mut config = ProducerConfig {
        bootstrap: broker.bootstrap.clone(),
        rate: 0.0,
        count: Some(3000),
        state_dir: temp_dir("producer-browser"),
        ..Default::default()
    };
    // A hostile hashtag must show as text, never as markup.
    config.generator = config
        .generator
        .with_weights_spec(concat!(
            "#Spark=4,#BigData=2,#<script>alert(1)</script>=1,",
            "#مرحبا=1,#🚀Rust=1"
        ))
        .unwrap();
    Producer::spawn(config)
        .unwrap()
        .wait(Duration::from_secs(60))
        .unwrap();
    pipe.wait_for(Duration::from_secs(30), |s| s.totals.accepted >= 3000)
        .unwrap();
    let page = LivePage::start(&pipe, Duration::from_secs(1)).unwrap();
    assert!(
        page.addr().ip().is_loopback(),
        "the page listens on loopback only"
    );

    let dom = headless(&page.url(), &["--dump-dom"]);
    assert!(
        dom.contains("stream-demo-table"),
        "no table in the DOM:\n{dom}"
    );
    assert!(dom.contains(">#Spark<"), "the table names #Spark");
    assert!(dom.contains("chart-top") && dom.contains("chart-trend"));
    assert_eq!(dom.matches("<svg").count(), 2, "two charts");
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "hostile hashtag shown escaped"
    );
    assert!(
        !dom.contains("<script>alert(1)"),
        "hostile hashtag never becomes markup"
    );

    // Under a path prefix (as behind jupyter-server-proxy) the page's links stay under it.
    let secret = page
        .proxy_path()
        .splitn(3, '/')
        .nth(2)
        .expect("proxy/<port>/<secret>/")
        .to_string();
    let dom = headless(&format!("{}{secret}", page.url()), &["--dump-dom"]);
    assert!(
        dom.contains("stream-demo-table") && dom.contains(">#Spark<"),
        "no table under the prefix:\n{dom}"
    );

    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../artifacts/live-page.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&shot);
    headless(&page.url(), &[&format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot is a real image"
    );
    page.stop();
    assert!(
        std::net::TcpStream::connect(page.addr()).is_err(),
        "stopped page no longer answers"
    );
}
