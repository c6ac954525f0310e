//! The live page against clients that do not play by the rules (issue 10, item 2): real
//! TCP on 127.0.0.1, raw requests, bounded in count and time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use helpers::core::config::{TimeDomain, WindowConfig};
use helpers::core::time::Timestamp;
use helpers::core::window::{OTHER, SNAPSHOT_TOP};
use helpers::kafka::client::producer_config;
use helpers::kafka::consumer::{Pipeline, PipelineConfig, StartFrom};
use helpers::views::live::{LivePage, HEADER_TIMEOUT, MAX_HEAD_BYTES};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

use crate::support::{temp_dir, TestBroker};

/// A live page over a consumer that has no broker (the page answers all the same).
fn page() -> (Pipeline, LivePage) {
    let pipe = Pipeline::start(PipelineConfig {
        bootstrap: "127.0.0.1:1".into(),
        trigger: Duration::from_millis(200),
        state_dir: temp_dir("live-page"),
        ..Default::default()
    })
    .unwrap();
    let page = LivePage::start(&pipe, Duration::from_secs(1)).unwrap();
    (pipe, page)
}

/// Sends `request` as is; returns the whole answer and how long it took.
fn exchange(addr: SocketAddr, request: &str) -> (String, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        start.elapsed(),
    )
}

/// A GET of `path` with `Host: host`.
fn get(addr: SocketAddr, path: &str, host: &str) -> (String, Duration) {
    exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
}

/// The page's path prefix with its secret, `/<secret>/` (from its address).
fn secret_path(page: &LivePage) -> String {
    let url = page.url();
    let path = &url[url.find("//").unwrap() + 2..];
    path[path.find('/').unwrap()..].to_string()
}

/// The status code of an answer.
fn status(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The resident memory of this process, in kB (`VmRSS` in `/proc/self/status`).
fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A client that sends a header line that never ends, 4 KiB at a time (at most 8 MiB or
/// 10 s); returns how much it sent and how long until the server cut it off.
fn endless_header(addr: SocketAddr) -> (usize, Duration) {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let host = addr.to_string();
    let mut sent = 0;
    let head = format!("GET /fragment HTTP/1.1\r\nHost: {host}\r\nX-Endless: ");
    if s.write_all(head.as_bytes()).is_ok() {
        let chunk = [b'a'; 4096];
        while sent < 8 << 20 && start.elapsed() < Duration::from_secs(10) {
            if s.write_all(&chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
    }
    (sent, start.elapsed())
}

/// A client that sends its request one byte a second (at most 20 bytes); returns how long
/// until the server closed the connection (`None`: it never did).
fn one_byte_a_second(addr: SocketAddr) -> Option<Duration> {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    // Waiting for the server to close is the pause between bytes: no sleep.
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let request = format!("GET /fragment HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    for b in request.bytes().take(20) {
        if s.write_all(&[b]).is_err() {
            return Some(start.elapsed());
        }
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(_) => return Some(start.elapsed()), // an answer (408) or the end
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

#[test]
fn the_page_answers_only_under_its_secret_and_only_bare_gets() {
    let (_pipe, page) = page();
    let addr = page.addr();
    let port = addr.port();
    let sp = secret_path(&page);
    assert_eq!(page.url(), format!("http://127.0.0.1:{port}{sp}"));
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let (answer, _) = get(addr, &format!("{sp}fragment"), &host);
        assert_eq!(status(&answer), 200, "Host {host}: {answer}");
        let lower = answer.to_ascii_lowercase();
        assert!(
            lower.contains("x-content-type-options: nosniff"),
            "{answer}"
        );
        assert!(
            lower.contains("content-security-policy: default-src 'none'; script-src 'self';"),
            "{answer}"
        );
    }
    // Without the secret nothing is answered, whatever the Host: another user's program
    // on the machine, or a page of evil.example resolved to 127.0.0.1 (DNS rebinding).
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "evil.example".to_string(),
        format!("127.0.0.2:{port}"),
    ] {
        for path in ["/", "/fragment", "/snapshot.json", "/live.js"] {
            let (answer, _) = get(addr, path, &host);
            assert_eq!(status(&answer), 403, "Host {host} {path}: {answer}");
            assert!(
                !answer.contains("null") && !answer.contains("{\"") && !answer.contains("<table"),
                "{answer}"
            );
        }
    }
    let (answer, _) = exchange(addr, &format!("GET {sp} HTTP/1.0\r\n\r\n"));
    assert_eq!(status(&answer), 400, "no Host: {answer}");
    let (answer, _) = exchange(
        addr,
        &format!(
            "POST {sp}fragment HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 5\r\n\r\nhello"
        ),
    );
    assert_eq!(status(&answer), 405, "{answer}");
    let (answer, _) = exchange(
        addr,
        &format!("GET {sp} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 100000\r\n\r\n"),
    );
    assert_eq!(status(&answer), 413, "{answer}");
    let long = "a".repeat(MAX_HEAD_BYTES);
    let (answer, _) = exchange(
        addr,
        &format!("GET {sp} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX: {long}\r\n\r\n"),
    );
    assert_eq!(status(&answer), 431, "{answer}");
    // The page runs no inline script: its one script is a file of ours.
    let (answer, _) = get(addr, &sp, &format!("127.0.0.1:{port}"));
    assert!(
        answer.contains("<script src=\"live.js\"></script>"),
        "{answer}"
    );
    assert!(!answer.contains("<script>"), "{answer}");
    let (answer, _) = get(addr, &format!("{sp}live.js"), &format!("127.0.0.1:{port}"));
    assert_eq!(status(&answer), 200);
    assert!(answer.contains("fetch('fragment'"), "{answer}");
    // A client that sends a byte a second is cut off after the header timeout.
    let closed = one_byte_a_second(addr).expect("the slow client was never cut off");
    assert!(
        closed < HEADER_TIMEOUT + Duration::from_secs(2),
        "{closed:?}"
    );
    page.stop();
}

/// Through `jupyter-server-proxy` a request arrives with Jupyter's own `Host`: answered
/// under the page's secret path only, and the page's links are relative so they stay under
/// it.
#[test]
fn under_its_secret_path_the_page_answers_any_host() {
    let (_pipe, page) = page();
    let addr = page.addr();
    let port = addr.port();
    let proxy_path = page.proxy_path();
    let secret = proxy_path
        .strip_prefix(&format!("proxy/{port}/"))
        .and_then(|s| s.strip_suffix('/'))
        .expect("proxy/<port>/<secret>/");
    assert_eq!(secret.len(), 32, "{secret}");
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()), "{secret}");
    let other = LivePage::start(&_pipe, Duration::from_secs(1)).unwrap();
    assert_ne!(other.proxy_path(), proxy_path, "a new secret for each page");
    other.stop();
    for host in ["hub.example.org", "127.0.0.1:8888", "localhost:8888"] {
        for path in ["", "live.js", "fragment", "snapshot.json"] {
            let (answer, _) = get(addr, &format!("/{secret}/{path}"), host);
            assert_eq!(
                status(&answer),
                200,
                "Host {host} /{secret}/{path}: {answer}"
            );
            assert!(
                answer
                    .to_ascii_lowercase()
                    .contains("content-security-policy: default-src 'none'"),
                "{answer}"
            );
        }
        let (answer, _) = get(addr, &format!("/{secret}/nothing"), host);
        assert_eq!(status(&answer), 404, "{answer}");
        // Without the secret, a wrong one, or the secret not followed by `/`: refused.
        let mut wrong = secret.to_string();
        wrong.replace_range(..1, if secret.starts_with('0') { "1" } else { "0" });
        for path in [
            "/fragment".to_string(),
            format!("/{wrong}/fragment"),
            format!("/{secret}"),
            format!("/{secret}fragment"),
            format!("/x/{secret}/fragment"),
            format!("/{}/fragment", &secret[..31]),
        ] {
            let (answer, _) = get(addr, &path, host);
            assert_eq!(status(&answer), 403, "Host {host} {path}: {answer}");
        }
    }
    // The page under the secret loads its script and fragment from under the secret too.
    let (answer, _) = get(addr, &format!("/{secret}/"), "hub.example.org");
    assert!(answer.contains("<script src=\"live.js\">"), "{answer}");
    // Methods and bodies are refused as anywhere else.
    let (answer, _) = exchange(
        addr,
        &format!("POST /{secret}/fragment HTTP/1.1\r\nHost: hub.example.org\r\nContent-Length: 0\r\n\r\n"),
    );
    assert_eq!(status(&answer), 405, "{answer}");
    // The notebook's frame: the direct address, the proxy path and the script that picks.
    let frame = page.show().markup;
    assert!(
        frame.contains(&format!(
            "data-direct=\"http://127.0.0.1:{port}/{secret}/\""
        )) && frame.contains("<iframe src=\"about:blank\""),
        "{frame}"
    );
    assert!(
        frame.contains(&format!("data-proxy-path=\"{proxy_path}\"")),
        "{frame}"
    );
    assert!(frame.contains("jupyter-config-data"), "{frame}");
    assert!(!frame.contains("EVCXR_"), "{frame}");
    page.stop();
}

/// Runs [`hostile_clients_in_this_process`] in a process of its own, so the memory and
/// file descriptors measured are the page's and its clients' only.
#[test]
fn the_page_answers_and_stops_whatever_hostile_clients_do() {
    in_own_process("live_page::hostile_clients_in_this_process");
}

/// Runs the ignored test `name` in a process of its own (so the memory it measures is
/// its own) and passes on its `hostile:` lines.
fn in_own_process(name: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
    for line in text.lines().filter_map(|l| l.split_once("hostile:")) {
        println!("hostile:{}", line.1);
    }
}

#[test]
#[ignore = "run in its own process by the_page_answers_and_stops_whatever_hostile_clients_do"]
fn hostile_clients_in_this_process() {
    let rss_start = rss_kb();
    let (_pipe, page) = page();
    let addr = page.addr();
    let host = addr.to_string();
    let endless = std::thread::spawn(move || endless_header(addr));
    let slow = std::thread::spawn(move || one_byte_a_second(addr));
    let mut idle = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut rss_max = rss_kb();
    for i in 0..1000 {
        idle.push(TcpStream::connect(addr).unwrap());
        if i % 200 == 199 {
            // A normal request, in the middle of it all.
            let (answer, took) = get(addr, &format!("{}fragment", secret_path(&page)), &host);
            assert_eq!(status(&answer), 200, "{answer}");
            assert!(answer.contains("Waiting for the first trigger"), "{answer}");
            slowest = slowest.max(took);
            rss_max = rss_max.max(rss_kb());
        }
    }
    let (sent, cut_after) = endless.join().unwrap();
    let slow_cut = slow.join().unwrap();
    for _ in 0..5 {
        let (answer, took) = get(addr, &format!("{}fragment", secret_path(&page)), &host);
        assert_eq!(status(&answer), 200, "{answer}");
        slowest = slowest.max(took);
    }
    rss_max = rss_max.max(rss_kb());
    let start = Instant::now();
    page.stop(); // 1,000 connections still open on our side.
    let stop_took = start.elapsed();
    let growth_mb = rss_max.saturating_sub(rss_start) as f64 / 1024.0;
    println!(
        "hostile: slowest GET /fragment {slowest:?}; RSS growth {growth_mb:.1} MB; stop() \
         {stop_took:?}; endless header cut off after {sent} bytes in {cut_after:?}; \
         one-byte-a-second client cut off after {slow_cut:?}"
    );
    assert!(slowest < Duration::from_secs(1), "{slowest:?}");
    assert!(growth_mb < 50.0, "{growth_mb} MB");
    assert!(stop_took < Duration::from_secs(2), "{stop_took:?}");
    assert!(sent < 8 << 20, "the endless header was never cut off");
    assert!(cut_after < Duration::from_secs(5), "{cut_after:?}");
    assert!(
        slow_cut.is_some_and(|d| d < Duration::from_secs(8)),
        "{slow_cut:?}"
    );
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(),
        "a stopped page no longer accepts connections"
    );
    assert!(
        std::net::TcpListener::bind(addr).is_err(),
        "a stopped page's port stays held while its process runs (no other program listens there)"
    );
    drop(idle);
}

/// Issue 10, item 3: two million distinct hashtags in one window, through Kafka into a
/// running consumer with its live page. Runs in a process of its own.
#[test]
fn two_million_distinct_hashtags_keep_memory_bounded_and_the_page_answering() {
    in_own_process("live_page::distinct_hashtags_in_this_process");
}

/// Events per producer run: a third of it per partition stays below the mock broker's
/// retention (100,000 messages per partition).
const DISTINCT_CHUNK: u64 = 150_000;

/// How much the consumer's process may grow while it counts two million distinct hashtags
/// (its counters are capped at `max_hashtags` per pane; without the cap it grew by far more).
const DISTINCT_RSS_BOUND_MB: f64 = 150.0;

#[test]
#[ignore = "run in its own process by two_million_distinct_hashtags_keep_memory_bounded_and_the_page_answering"]
fn distinct_hashtags_in_this_process() {
    // 2 million; fewer with DISTINCT_EVENTS=<n> (to try the test quickly).
    let n: u64 = std::env::var("DISTINCT_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let broker = TestBroker::start(3);
    let dir = temp_dir("distinct");
    let window = WindowConfig::default().with_time_domain(TimeDomain::EventTime);
    // One pane: it keeps hashtags up to the state's budget, less the row kept for OTHER.
    let kept = window.max_hashtags.min(window.max_state_rows - 1) as u64;
    let pipe = Pipeline::start(PipelineConfig {
        bootstrap: broker.bootstrap.clone(),
        trigger: Duration::from_secs(2),
        state_dir: dir.clone(),
        window,
        ..Default::default()
    })
    .unwrap();
    pipe.wait_ready(Duration::from_secs(30)).unwrap();
    let page = LivePage::start(&pipe, Duration::from_secs(1)).unwrap();
    let (addr, host) = (page.addr(), page.addr().to_string());
    let rss_start = rss_kb();
    let started = Instant::now();
    // One event time for all: one pane, one window.
    let now = Timestamp::now().as_secs_f64().to_string();
    // The events come from another process, so this one's memory is the consumer's; in
    // chunks, because the mock broker keeps only the newest 100,000 messages of a partition.
    let (mut slowest, mut gets, mut rss_max) = (Duration::ZERO, 0, rss_start);
    let mut sent = 0;
    while sent < n {
        let k = DISTINCT_CHUNK.min(n - sent);
        let produced = Command::new(std::env::current_exe().unwrap())
            .args([
                "live_page::produce_distinct_hashtags",
                "--exact",
                "--ignored",
            ])
            .env("DISTINCT_BOOTSTRAP", &broker.bootstrap)
            .env("DISTINCT_FROM", sent.to_string())
            .env("DISTINCT_TIME", &now)
            .env("DISTINCT_EVENTS", k.to_string())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(produced.success(), "the producer process failed");
        sent += k;
        // The page answers while the consumer catches up.
        while pipe.totals().input < sent && started.elapsed() < Duration::from_secs(600) {
            let (answer, took) = get(addr, &format!("{}fragment", secret_path(&page)), &host);
            assert_eq!(status(&answer), 200, "{answer}");
            slowest = slowest.max(took);
            gets += 1;
            rss_max = rss_max.max(rss_kb());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let snap = pipe
        .wait_for(Duration::from_secs(60), |s| s.totals.input >= n)
        .unwrap();
    let took = started.elapsed();
    rss_max = rss_max.max(rss_kb());
    let growth_mb = rss_max.saturating_sub(rss_start) as f64 / 1024.0;
    println!(
        "hostile: {n} distinct hashtags counted in {took:?} ({:.0} events/s); RSS growth \
         {growth_mb:.1} MB; {gets} GET /fragment, slowest {slowest:?}",
        n as f64 / took.as_secs_f64()
    );
    // Every event is counted: the first `kept` hashtags on their own, the rest as "other";
    // the snapshot lists the SNAPSHOT_TOP leaders and sums the rest.
    assert_eq!(snap.totals.accepted, n);
    assert_eq!(snap.totals.overflow, n - kept);
    let w = snap.trending().unwrap();
    let top = SNAPSHOT_TOP as u64;
    assert_eq!(w.total, n);
    assert_eq!(w.count(OTHER), n - top);
    assert_eq!(w.counts.len() as u64, top + 1);
    assert!(gets > 0 && slowest < Duration::from_secs(2), "{slowest:?}");
    assert!(growth_mb < DISTINCT_RSS_BOUND_MB, "{growth_mb} MB");
    page.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The producer of [`distinct_hashtags_in_this_process`], in a process of its own:
/// `DISTINCT_EVENTS` events to `DISTINCT_BOOTSTRAP`, each with a hashtag of its own
/// (numbered from `DISTINCT_FROM`) and the event time `DISTINCT_TIME`.
#[test]
#[ignore = "started as a process of its own by distinct_hashtags_in_this_process"]
fn produce_distinct_hashtags() {
    let (Ok(bootstrap), Ok(from), Ok(n), Ok(now)) = (
        std::env::var("DISTINCT_BOOTSTRAP"),
        std::env::var("DISTINCT_FROM"),
        std::env::var("DISTINCT_EVENTS"),
        std::env::var("DISTINCT_TIME"),
    ) else {
        return;
    };
    let from: u64 = from.parse().unwrap();
    // DISTINCT_LONG=1: hashtags of 280 bytes (the longest allowed); DISTINCT_SPREAD=<s>:
    // the i-th event stamped i × s seconds after 1970 instead of DISTINCT_TIME.
    let long = std::env::var("DISTINCT_LONG").is_ok();
    let spread: Option<u64> = std::env::var("DISTINCT_SPREAD")
        .ok()
        .and_then(|v| v.parse().ok());
    let producer: BaseProducer = producer_config(&bootstrap).create().unwrap();
    for i in from..from + n.parse::<u64>().unwrap() {
        let tag = if long {
            format!("#{i:0>279}")
        } else {
            format!("#h{i}")
        };
        let time = spread.map_or(now.clone(), |s| (i * s).to_string());
        let event = format!(r##"{{"hashtag_principal":"{tag}","timestamp":{time}}}"##);
        let mut record = BaseRecord::<(), _>::to("tweets_topic").payload(&event);
        // A full local queue: wait for deliveries, then send again.
        while let Err((e, back)) = producer.send(record) {
            assert_eq!(
                e.rdkafka_error_code(),
                Some(RDKafkaErrorCode::QueueFull),
                "{e}"
            );
            producer.poll(Duration::from_millis(10));
            record = back;
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(120)).unwrap();
}

/// Sends `n` events from another process (see [`produce_distinct_hashtags`]), numbered from
/// `from`, with the extra `vars`.
fn produce_from_another_process(
    bootstrap: &str,
    from: u64,
    n: u64,
    time: &str,
    vars: &[(&str, &str)],
) {
    let produced = Command::new(std::env::current_exe().unwrap())
        .args([
            "live_page::produce_distinct_hashtags",
            "--exact",
            "--ignored",
        ])
        .env("DISTINCT_BOOTSTRAP", bootstrap)
        .env("DISTINCT_FROM", from.to_string())
        .env("DISTINCT_TIME", time)
        .env("DISTINCT_EVENTS", n.to_string())
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(produced.success(), "the producer process failed");
}

/// Issue 23: the window state's memory under the workloads that had no ceiling, each in a
/// process of its own, through Kafka into a consumer: its growth stays under
/// [`BUDGET_RSS_BOUND_MB`] (figures in BENCHMARKS.md).
#[test]
fn the_window_state_stays_within_its_budget_under_every_workload() {
    // (The third workload, 300,000 distinct 280-byte hashtags within one trigger, is the
    // unit test `one_trigger_of_distinct_hashtags_waits_within_the_budget`: through the
    // embedded broker, 150,000 such messages stalled the consumer at about 113,000, a
    // problem of its own, not yet understood.)
    for workload in ["late-hour-windows", "since-1970"] {
        let started = Instant::now();
        std::env::set_var("BUDGET_WORKLOAD", workload);
        in_own_process("live_page::budget_workload_in_this_process");
        println!("hostile: workload {workload} took {:?}", started.elapsed());
    }
}

/// The growth allowed for each workload of
/// [`the_window_state_stays_within_its_budget_under_every_workload`], with a 10,000-row
/// budget: at most ~330 bytes a row, in the engine, the all-time counts and a snapshot,
/// and the consumer's buffers. Without the budget: +100 MB, +400 MB and +1 GB.
const BUDGET_RSS_BOUND_MB: f64 = 64.0;

#[test]
#[ignore = "run in its own process by the_window_state_stays_within_its_budget_under_every_workload"]
fn budget_workload_in_this_process() {
    let workload = std::env::var("BUDGET_WORKLOAD").unwrap_or_default();
    let broker = TestBroker::start(3);
    let dir = temp_dir("budget");
    let mut window = match workload.as_str() {
        "since-1970" => WindowConfig::default()
            .with_time_domain(TimeDomain::EventTime)
            .with_max_future(None),
        _ => WindowConfig::sliding(Duration::from_secs(3600), Duration::from_secs(1))
            .with_time_domain(TimeDomain::EventTime)
            .with_watermark(Duration::ZERO),
    };
    window.max_state_rows = 10_000;
    window.max_hashtags = 10_000;
    let pipe = Pipeline::start(PipelineConfig {
        bootstrap: broker.bootstrap.clone(),
        trigger: Duration::from_secs(1),
        state_dir: dir.clone(),
        start_from: StartFrom::Earliest,
        window,
        ..Default::default()
    })
    .unwrap();
    pipe.wait_ready(Duration::from_secs(30)).unwrap();
    let rss_start = rss_kb();
    let now = Timestamp::now().as_secs_f64();
    let n: u64 = match workload.as_str() {
        "since-1970" => {
            // Before any watermark every time is on time: 200,000 events, each in a
            // 10-second slice of its own, from 1970 on.
            produce_from_another_process(
                &broker.bootstrap,
                0,
                200_000,
                "0",
                &[("DISTINCT_SPREAD", "10")],
            );
            200_000
        }
        _ => {
            // One event now, then 1,000 late ones (60 bytes each), each too late for 3,600
            // windows.
            produce_from_another_process(&broker.bootstrap, 0, 1, &now.to_string(), &[]);
            pipe.wait_for(Duration::from_secs(30), |s| {
                s.metrics.judging_watermark.is_some()
            })
            .unwrap();
            produce_from_another_process(
                &broker.bootstrap,
                1,
                1_000,
                &(now - 7200.0).to_string(),
                &[],
            );
            1_001
        }
    };
    let mut rss_max = rss_start;
    let started = Instant::now();
    while pipe.totals().input < n && started.elapsed() < Duration::from_secs(300) {
        rss_max = rss_max.max(rss_kb());
        std::thread::sleep(Duration::from_millis(100));
    }
    let snap = pipe
        .wait_for(Duration::from_secs(90), |s| s.totals.input >= n)
        .unwrap();
    rss_max = rss_max.max(rss_kb());
    let growth_mb = rss_max.saturating_sub(rss_start) as f64 / 1024.0;
    println!(
        "hostile: workload {workload}: {n} events, RSS growth {growth_mb:.1} MB, state rows {} \
         of 10000, overflow {}, counted in no window {}, late {}",
        snap.metrics.state_rows, snap.totals.overflow, snap.totals.unwindowed, snap.totals.late
    );
    assert_eq!(snap.totals.input, n);
    assert_eq!(
        snap.totals.accepted + snap.totals.late + snap.totals.rejected.total(),
        n
    );
    assert!(snap.metrics.state_rows <= 10_000);
    assert!(
        growth_mb < BUDGET_RSS_BOUND_MB,
        "{workload}: {growth_mb} MB"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 23: slow readers of `/snapshot.json` each pinned a copy of the snapshot (megabytes
/// with many hashtags) and could keep real clients waiting. Answers are now made once per
/// trigger and shared; 200 readers that never read cost one copy, and a real client is
/// answered at once. Runs in a process of its own.
#[test]
fn slow_snapshot_readers_pin_no_memory_and_real_clients_are_served() {
    in_own_process("live_page::slow_readers_in_this_process");
}

#[test]
#[ignore = "run in its own process by slow_snapshot_readers_pin_no_memory_and_real_clients_are_served"]
fn slow_readers_in_this_process() {
    let broker = TestBroker::start(3);
    let dir = temp_dir("slow-readers");
    let pipe = Pipeline::start(PipelineConfig {
        bootstrap: broker.bootstrap.clone(),
        trigger: Duration::from_millis(200),
        state_dir: dir.clone(),
        window: WindowConfig::sliding(Duration::from_secs(60), Duration::from_secs(10))
            .with_time_domain(TimeDomain::EventTime),
        ..Default::default()
    })
    .unwrap();
    pipe.wait_ready(Duration::from_secs(30)).unwrap();
    // 5,000 distinct 280-byte hashtags: each open window lists 1,000 of them, so the
    // snapshot's JSON is megabytes.
    let now = Timestamp::now().as_secs_f64().to_string();
    produce_from_another_process(&broker.bootstrap, 0, 5_000, &now, &[("DISTINCT_LONG", "1")]);
    pipe.wait_for(Duration::from_secs(60), |s| s.totals.input >= 5_000)
        .unwrap();
    let page = LivePage::start(&pipe, Duration::from_secs(1)).unwrap();
    let (addr, host) = (page.addr(), page.addr().to_string());
    let (answer, _) = get(addr, &format!("{}snapshot.json", secret_path(&page)), &host);
    let size_mb = answer.len() as f64 / 1e6;
    assert!(size_mb > 1.0, "the snapshot is only {size_mb} MB");
    let rss_start = rss_kb();
    let (mut slowest, mut rss_max) = (Duration::ZERO, rss_start);
    let mut readers = Vec::new();
    for i in 0..200 {
        // Asks for the snapshot and never reads the answer.
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(
            format!(
                "GET {}snapshot.json HTTP/1.1\r\nHost: {host}\r\n\r\n",
                secret_path(&page)
            )
            .as_bytes(),
        )
        .unwrap();
        readers.push(s);
        if i % 20 == 19 {
            let (answer, took) = get(addr, &format!("{}fragment", secret_path(&page)), &host);
            assert_eq!(status(&answer), 200, "{answer}");
            slowest = slowest.max(took);
            rss_max = rss_max.max(rss_kb());
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    rss_max = rss_max.max(rss_kb());
    let growth_mb = rss_max.saturating_sub(rss_start) as f64 / 1024.0;
    println!(
        "hostile: 200 readers of a {size_mb:.1} MB /snapshot.json that never read: RSS growth \
         {growth_mb:.1} MB, slowest GET /fragment meanwhile {slowest:?}"
    );
    assert!(slowest < Duration::from_secs(1), "{slowest:?}");
    // 64 connections at once, each with its own copy, would be 64 × size_mb.
    assert!(growth_mb < 4.0 * size_mb + 10.0, "{growth_mb} MB");
    drop(readers);
    page.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
