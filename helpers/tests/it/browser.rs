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
            "--window-size=1400,1000",
        ])
        // Let the page's script fetch its fragment before the DOM is read.
        .args(
            (!extra.iter().any(|a| a.starts_with("--virtual-time-budget")))
                .then_some("--virtual-time-budget=4000"),
        )
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

    // The page is under its secret path (as behind jupyter-server-proxy, under a longer
    // prefix), and its links stay under it: without the secret, nothing.
    let secret = page
        .proxy_path()
        .splitn(3, '/')
        .nth(2)
        .expect("proxy/<port>/<secret>/")
        .to_string();
    assert!(
        page.url().ends_with(&format!("/{secret}")),
        "{}",
        page.url()
    );
    let bare = format!("http://{}/", page.addr());
    let dom = headless(&bare, &["--dump-dom"]);
    assert!(
        !dom.contains("stream-demo-table") && !dom.contains("#Spark"),
        "the page without its secret:\n{dom}"
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

/// What a stand-in server answers to the n-th request for `/fragment` (from 0): a status,
/// whether it carries the live page's id header, and a body.
type Script = fn(usize) -> (u16, bool, &'static str);

/// A stand-in at the page's address: it serves a real live page's HTML and script (so the
/// page id is the real one) and answers `/fragment` as `script` says. Returns its address
/// and how many `/fragment` requests came.
fn stand_in(
    page: &LivePage,
    script: Script,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let real = page.addr();
    let fetch = |path: &str| {
        let mut s = std::net::TcpStream::connect(real).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {real}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let id = head
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{}: ", helpers::views::live::PAGE_ID_HEADER)))
            .unwrap()
            .to_string();
        (id, body.to_string())
    };
    // The page's own path, with its secret: `/<secret>/`.
    let url = page.url();
    let path = url.trim_start_matches("http://").split_once('/').unwrap().1;
    let (id, html) = fetch(&format!("/{path}"));
    let (_, js) = fetch(&format!("/{path}live.js"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, ours, kind, body) = match path.as_str() {
                "/live.js" => (200, true, "text/javascript", js.clone()),
                "/fragment" => {
                    let (status, ours, body) = script(counter.fetch_add(1, Ordering::SeqCst));
                    (status, ours, "text/html", body.to_string())
                }
                _ => (200, true, "text/html", html.clone()),
            };
            let header = if ours {
                format!("{}: {id}\r\n", helpers::views::live::PAGE_ID_HEADER)
            } else {
                String::new()
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
                 {header}Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, count)
}

/// Issue 23: after three failures the page stopped refreshing for good. It now tries again
/// later and later, and recovers when the page answers; and it stops at once, after one
/// request, when another program answers at its address (behind a proxy each request
/// carries the browser's Jupyter cookies).
#[test]
fn the_live_page_recovers_after_failures_and_stops_for_a_foreign_answer() {
    use std::sync::atomic::Ordering;
    let pipe = Pipeline::start(PipelineConfig {
        bootstrap: "127.0.0.1:1".into(),
        state_dir: temp_dir("recover"),
        ..Default::default()
    })
    .unwrap();
    let page = LivePage::start(&pipe, Duration::from_secs(1)).unwrap();
    // Four failures (a proxy's "nothing listens here"), then the page answers again.
    let (addr, count) = stand_in(&page, |n| {
        if n < 4 {
            (503, false, "nothing listens")
        } else {
            (200, true, "<p>recovered after failures</p>")
        }
    });
    let dom = headless(
        &format!("http://{addr}/"),
        &["--dump-dom", "--virtual-time-budget=90000"],
    );
    assert!(dom.contains("recovered after failures"), "{dom}");
    assert!(count.load(Ordering::SeqCst) >= 5);
    // Another program at the address: one request, then nothing more.
    let (addr, count) = stand_in(&page, |_| (200, false, "<p>a foreign page</p>"));
    let dom = headless(
        &format!("http://{addr}/"),
        &["--dump-dom", "--virtual-time-budget=30000"],
    );
    assert!(!dom.contains("a foreign page"), "{dom}");
    assert!(
        dom.contains("another program answers at this address"),
        "{dom}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
    page.stop();
}
