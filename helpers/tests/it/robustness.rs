//! Faults: bad input from a client we did not write, a broker outage, a killed kernel,
//! loopback-only listeners, and errors that say what to do.

use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use helpers::core::config::{TimeDomain, WindowConfig};
use helpers::kafka::consumer::{BrokerState, Pipeline, PipelineConfig, StartFrom};
use helpers::kafka::producer::{Producer, ProducerConfig};
use helpers::sys::process::pid_alive;

use crate::support::{run_python, temp_dir, wait_gone, wait_until, TestBroker};

fn pipeline(broker: &TestBroker, domain: TimeDomain) -> Pipeline {
    Pipeline::start(PipelineConfig {
        bootstrap: broker.bootstrap.clone(),
        start_from: StartFrom::Earliest,
        window: WindowConfig::tumbling(Duration::from_secs(60))
            .with_watermark(Duration::from_secs(3600))
            .with_time_domain(domain),
        trigger: Duration::from_millis(200),
        state_dir: broker.state_dir.clone(),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn bad_input_corpus_from_kafka_python_is_counted_by_reason() {
    let broker = TestBroker::start(3);
    let pipe = pipeline(&broker, TimeDomain::EventTime);
    // Every kind of bad message, each between two valid events; kafka-python sends raw
    // bytes, so nothing is fixed up on the way.
    let out = run_python(
        r##"
import json, sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1], max_request_size=4 * 1024 * 1024)
now = 1733940000.0
def good(i):
    return json.dumps({"usuario": "@u", "texto": "t", "hashtag_principal": "#Good",
                       "timestamp": now + i}).encode()
bad = [
    (b'{"hashtag_principal": "#a", "timestamp": ', "not_json"),                      # truncated
    (b'not json at all', "not_json"),
    (b'{"hashtag_principal": "#\xff\xfe", "timestamp": 1}', "not_utf8"),
    (b'', "empty_payload"),
    (b'{"hashtag_principal": "#big", "timestamp": 1733940000, "pad": "' + b'x' * (1024 * 1024) \
        + b'"}', "oversized"),
    (b'[1, 2, 3]', "not_an_object"),
    (b'42', "not_an_object"),
    (b'{"timestamp": 1733940000}', "missing_hashtag"),
    (b'{"hashtag_principal": null, "timestamp": 1733940000}', "missing_hashtag"),
    (b'{"hashtag_principal": "", "timestamp": 1733940000}', "empty_hashtag"),
    (json.dumps({"hashtag_principal": "#" + "x" * 10000, "timestamp": now}).encode(),
     "hashtag_too_long"),
    (b'{"hashtag_principal": "#a", "timestamp": "1733940000"}', "wrong_type"),
    (b'{"hashtag_principal": "#a", "timestamp": NaN}', "not_json"),
    (b'{"hashtag_principal": "#a", "timestamp": -5}', "timestamp_out_of_range"),
    (b'{"hashtag_principal": "#a", "timestamp": 32503680000}', "timestamp_out_of_range"),
    (b'{"hashtag_principal": "#a", "hashtag_principal": "#b", "timestamp": 1733940000}',
     "duplicate_field"),
    (b'{"a":' * 5000 + b'1' + b'}' * 5000, "missing_hashtag"),  # deeply nested, valid
    (b'{"hashtag_principal": "#a"}', "missing_timestamp"),
    # Issue 10: a newline in a hashtag would write evcxr's rich-output markers.
    (json.dumps({"hashtag_principal": "#x\nEVCXR_BEGIN_CONTENT text/html\n"
                 "<img src=x onerror=alert(1)>\nEVCXR_END_CONTENT", "timestamp": now}).encode(),
     "hashtag_control_char"),
    (json.dumps({"hashtag_principal": "#a\x1b[2J", "timestamp": now}).encode(),
     "hashtag_control_char"),
    ('{"hashtag_principal": "#a\u0085\u007f", "timestamp": 1733940000}'.encode(),
     "hashtag_control_char"),
    (json.dumps({"hashtag_principal": "#\u202ekrapS", "timestamp": now}).encode(),
     "hashtag_bidi_control"),
    ('{"hashtag_principal": "#\u2067a\u2069", "timestamp": 1733940000}'.encode(),
     "hashtag_bidi_control"),
]
i = 0
expected = {}
for payload, reason in bad:
    p.send("tweets_topic", good(i)); i += 1
    p.send("tweets_topic", payload)
    expected[reason] = expected.get(reason, 0) + 1
p.send("tweets_topic", good(i)); i += 1
p.flush()
print(json.dumps({"good": i, "bad": expected}))
"##,
        &[&broker.bootstrap],
    );
    let sent: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let good = sent["good"].as_u64().unwrap();
    let bad: BTreeMap<String, u64> = serde_json::from_value(sent["bad"].clone()).unwrap();
    let total_bad: u64 = bad.values().sum();
    let snap = pipe
        .wait_for(Duration::from_secs(30), |s| {
            s.totals.input >= good + total_bad
        })
        .unwrap();
    assert!(pipe.status().running, "the consumer kept running");
    // Every valid event around the bad ones was counted; the sum invariant holds exactly.
    assert_eq!(snap.totals.accepted, good);
    assert_eq!(snap.totals.late, 0);
    assert_eq!(snap.totals.input, good + total_bad);
    assert_eq!(
        snap.totals.accepted + snap.totals.late + snap.totals.rejected.total(),
        snap.totals.input
    );
    let by_reason: BTreeMap<String, u64> = snap
        .totals
        .rejected
        .nonzero()
        .map(|(r, n)| (r.name().to_string(), n))
        .collect();
    assert_eq!(by_reason, bad);
    // They show in the metrics view.
    let html = pipe.show_metrics(5).unwrap();
    assert!(html.text.contains("rejected: oversized"), "{}", html.text);
    assert!(html.text.contains("rejected: hashtag_too_long"));
    assert!(html.text.contains("rejected: hashtag_control_char"));
    assert!(html.text.contains("rejected: hashtag_bidi_control"));
}

/// What evcxr makes of a cell's standard output (evcxr 0.22, `eval_context.rs`): lines are
/// split at `\n`; a line *containing* `EVCXR_BEGIN_CONTENT <mime>` opens a rich-output
/// block that lasts until a line equal to `EVCXR_END_CONTENT`; other `EVCXR_` lines are
/// commands. Returns (plain lines, blocks as (mime, content), command lines).
fn evcxr_parse(out: &str) -> (Vec<String>, Vec<(String, String)>, Vec<String>) {
    const COMMANDS: [&str; 5] = [
        "EVCXR_EXECUTION_COMPLETE",
        "EVCXR_PANIC_NOTIFICATION",
        "EVCXR_INPUT_REQUEST",
        "EVCXR_ERROR_OCCURRED",
        "EVCXR_VARIABLE_CHANGED_TYPE:",
    ];
    let begin = |l: &str| {
        l.match_indices("EVCXR_BEGIN_CONTENT ").find_map(|(i, m)| {
            let mime: String = l[i + m.len()..].chars().take_while(|c| *c != ' ').collect();
            (!mime.is_empty()).then_some(mime)
        })
    };
    let (mut plain, mut blocks, mut commands) = (Vec::new(), Vec::new(), Vec::new());
    let mut lines = out.lines();
    while let Some(l) = lines.next() {
        if COMMANDS.iter().any(|c| l.starts_with(c)) {
            commands.push(l.to_string());
        } else if let Some(mime) = begin(l) {
            let content: Vec<&str> = lines
                .by_ref()
                .take_while(|l| *l != "EVCXR_END_CONTENT" && *l != "EVCXR_PANIC_NOTIFICATION")
                .collect();
            blocks.push((mime, content.join("\n")));
        } else {
            plain.push(l.to_string());
        }
    }
    (plain, blocks, commands)
}

/// Issue 10 (item 1): hashtags that try to write evcxr's markers, sent through Kafka to a
/// running pipeline, and the `watch` cell's whole output read the way evcxr reads it.
#[test]
fn issue_10_stream_data_never_opens_a_rich_output_block() {
    let broker = TestBroker::start(1);
    let pipe = Pipeline::start(PipelineConfig {
        bootstrap: broker.bootstrap.clone(),
        start_from: StartFrom::Earliest,
        window: WindowConfig::tumbling(Duration::from_secs(3600)),
        trigger: Duration::from_millis(100),
        state_dir: broker.state_dir.clone(),
        ..Default::default()
    })
    .unwrap();
    let out = run_python(
        r##"
import json, sys, time
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1])
counted = {"<img src=x onerror=alert(1)>": 4, "#Spark": 3}
markers = {"#EVCXR_BEGIN_CONTENT text/html": 5, "#EVCXR_END_CONTENT": 3,
           "#evcxr_panic_notification": 2}
rejected = ["#x\nEVCXR_BEGIN_CONTENT text/html\n<img src=x onerror=alert(1)>\nEVCXR_END_CONTENT",
            "#\nEVCXR_END_CONTENT\n", "#\u202eEVCXR_BEGIN_CONTENT text/html"]
n = 0
for tag, k in list(counted.items()) + list(markers.items()):
    for _ in range(k):
        p.send("tweets_topic", json.dumps({"hashtag_principal": tag,
                                           "timestamp": time.time()}).encode()); n += 1
for tag in rejected:
    p.send("tweets_topic", json.dumps({"hashtag_principal": tag,
                                       "timestamp": time.time()}).encode()); n += 1
# The other text fields a cell could print carry the marker too.
for field in ["usuario", "texto"]:
    p.send("tweets_topic", json.dumps({field: "x EVCXR_BEGIN_CONTENT text/html",
                                       "hashtag_principal": "#ok",
                                       "timestamp": time.time()}).encode()); n += 1
p.flush()
print(n)
"##,
        &[&broker.bootstrap],
    );
    let sent: u64 = out.trim().parse().unwrap();
    pipe.wait_for(Duration::from_secs(30), |s| s.totals.input >= sent)
        .unwrap();
    let mut cell = Vec::new();
    let html = pipe
        .show_stream_to(
            &mut cell,
            Duration::from_millis(1000),
            Duration::from_millis(100),
        )
        .unwrap();
    html.write_evcxr(&mut cell).unwrap();
    let cell = String::from_utf8(cell).unwrap();

    let (plain, blocks, commands) = evcxr_parse(&cell);
    assert!(
        commands.is_empty(),
        "data wrote evcxr commands: {commands:?}\n{cell}"
    );
    assert_eq!(
        blocks.len(),
        1,
        "only our own dashboard is rich output:\n{cell}"
    );
    let (mime, content) = &blocks[0];
    assert_eq!(mime, "text/html");
    assert!(
        content.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{content}"
    );
    assert!(
        !content.contains("<img"),
        "a hashtag became markup: {content}"
    );
    // The watch printed leaderboard lines that show the hostile hashtag as text.
    assert!(!plain.is_empty(), "watch printed no line:\n{cell}");
    assert!(
        plain
            .iter()
            .any(|l| l.contains("<img src=x onerror=alert(1)> 4")),
        "the hashtag is shown as text:\n{cell}"
    );
    assert!(plain.iter().all(|l| !l.contains("EVCXR_")), "{cell}");
    // A cell that prints stream data itself, as a student may (a snapshot's Debug text,
    // a DataFrame, the all-time counts), prints no marker either: markers are rejected
    // at the decoder, so no representation of a counted hashtag holds one.
    let snap = pipe.snapshot().unwrap();
    let printed = format!(
        "{snap:#?}\n{snap:?}\n{}\n{:?}\n",
        helpers::views::table::trending(&snap, Duration::from_secs(3600), 10).unwrap(),
        pipe.all_time_counts()
    );
    let (_, blocks, commands) = evcxr_parse(&printed);
    assert!(blocks.is_empty() && commands.is_empty(), "{printed}");
    assert!(!printed.contains("EVCXR_"), "{printed}");
    let snap = pipe.snapshot().unwrap();
    let reasons: BTreeMap<&str, u64> = snap
        .totals
        .rejected
        .nonzero()
        .map(|(r, n)| (r.name(), n))
        .collect();
    assert_eq!(
        reasons,
        BTreeMap::from([
            ("evcxr_marker", 12),
            ("hashtag_bidi_control", 1),
            ("hashtag_control_char", 2)
        ])
    );
    assert_eq!(snap.totals.accepted, 7);
}

/// Issue 10 (item 3): the state directory is not trusted as found. A stale pid file that
/// names an unrelated process leaves that process alive; a log file planted as a symbolic
/// link is refused and its target left untouched; a directory anyone can write is refused.
#[test]
fn issue_10_the_state_dir_is_not_trusted_as_found() {
    use std::os::unix::fs::PermissionsExt;

    let state = temp_dir("stale-pid");
    let config = || ProducerConfig {
        // Nothing is sent (count 0): the program starts, finds nothing to do, and ends.
        bootstrap: "127.0.0.1:1".into(),
        count: Some(0),
        state_dir: state.clone(),
        ..Default::default()
    };
    let mut unrelated = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = unrelated.id();
    let started = helpers::sys::process::ProcessRecord::of(pid, "sleep")
        .unwrap()
        .start_time;
    let stale = [
        pid.to_string(),
        serde_json::json!({"pid": pid, "start_time": started + 1, "program": "producer"})
            .to_string(),
        serde_json::json!({"pid": pid, "start_time": started, "program": "producer"}).to_string(),
    ];
    for content in stale {
        std::fs::write(state.join("producer.pid"), &content).unwrap();
        let p = Producer::spawn(config()).unwrap();
        assert!(
            pid_alive(pid),
            "pid file {content} made us signal an unrelated process"
        );
        assert_ne!(p.pid(), pid);
        p.stop();
    }
    assert!(pid_alive(pid));
    let _ = unrelated.kill();
    let _ = unrelated.wait();

    let precious = state.join("precious.txt");
    std::fs::write(&precious, "precious").unwrap();
    let log = state.join("producer.log");
    let _ = std::fs::remove_file(&log);
    std::os::unix::fs::symlink(&precious, &log).unwrap();
    let err = Producer::spawn(config()).unwrap_err().to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "precious");

    let open = temp_dir("open-state");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = Producer::spawn(ProducerConfig {
        state_dir: open.clone(),
        ..config()
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("other users can write to it (mode 777)"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(&open).unwrap().next().is_none(),
        "nothing written there"
    );
    let _ = std::fs::remove_dir_all(&state);
    let _ = std::fs::remove_dir_all(&open);
}

/// The hosted broker of this run (embedded, Tansu or Kafka) in a fresh state folder named
/// after `name`, and a consumer of it with `config` (its address, folder and a 200 ms
/// trigger filled in).
fn hosted_with_consumer(
    name: &str,
    config: PipelineConfig,
) -> (helpers::lab::infra::Infra, Pipeline) {
    let state = temp_dir(name);
    let infra = helpers::lab::infra::start_with(helpers::lab::infra::InfraConfig {
        backend: Some(crate::support::hosted_backend()),
        state_dir: state.clone(),
        wait: Duration::from_secs(30),
        ..Default::default()
    })
    .unwrap();
    let pipe = Pipeline::start(PipelineConfig {
        bootstrap: infra.bootstrap.clone(),
        trigger: Duration::from_millis(200),
        state_dir: state,
        ..config
    })
    .unwrap();
    (infra, pipe)
}

/// Issue 23: `stop` joined the consumer thread with no time limit, so a group member
/// stopped during an outage could hang the cell. It now returns within
/// [`helpers::kafka::consumer::STOP_WAIT`], whatever the broker does.
#[test]
fn stopping_a_group_member_during_an_outage_does_not_hang() {
    let (infra, pipe) = hosted_with_consumer(
        "stop-outage",
        PipelineConfig {
            group: Some("stop-during-outage".into()),
            start_from: StartFrom::Earliest,
            ..Default::default()
        },
    );
    pipe.wait_ready(Duration::from_secs(60)).unwrap();
    infra.outage(true).unwrap();
    // Every broker is frozen (SIGSTOP): connections hang rather than fail, the worst case.
    // Some seconds in the outage, as a student would be (the embedded broker's status says
    // unreachable by then; a frozen Tansu or Kafka may still look connected).
    std::thread::sleep(Duration::from_secs(3));
    let started = std::time::Instant::now();
    pipe.stop();
    let took = started.elapsed();
    eprintln!("stop during an outage took {took:?}");
    assert!(
        took < helpers::kafka::consumer::STOP_WAIT + Duration::from_secs(3),
        "stop took {took:?}"
    );
    infra.outage(false).unwrap();
    infra.down(false).unwrap();
}

#[test]
fn outage_with_data_kept_loses_nothing_and_counts_nothing_twice() {
    let (infra, pipe) = hosted_with_consumer("outage", PipelineConfig::default());
    let state = infra.config.state_dir.clone();
    pipe.wait_ready(Duration::from_secs(30)).unwrap();
    let producer = Producer::spawn(ProducerConfig {
        bootstrap: infra.bootstrap.clone(),
        rate: 200.0,
        state_dir: state.clone(),
        ..Default::default()
    })
    .unwrap();
    wait_until("the first events counted", Duration::from_secs(30), || {
        pipe.totals().input > 0
    });
    infra.outage(true).unwrap();
    assert!(
        !infra.is_up(),
        "the broker refuses connections during the outage"
    );
    // The consumer says so instead of hanging or panicking.
    wait_until(
        "the status to say unreachable",
        Duration::from_secs(15),
        || matches!(pipe.status().broker, BrokerState::Unreachable(_)),
    );
    match pipe.status().broker {
        BrokerState::Unreachable(why) => assert!(why.starts_with("broker unreachable"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(pipe.status().running);
    // The producer goes on generating meanwhile: its events wait in its buffer.
    let sent_before = producer.stats().sent;
    wait_until(
        "the producer to buffer 200 events",
        Duration::from_secs(15),
        || producer.stats().sent >= sent_before + 200,
    );
    let counted_during = pipe.totals().input;
    infra.outage(false).unwrap();
    wait_until(
        "the buffered events to arrive",
        Duration::from_secs(30),
        || pipe.totals().input > counted_during + 200,
    );
    let sent = producer.stop();
    assert_eq!(
        sent.failed, 0,
        "retried within the delivery timeout: {sent:?}"
    );
    assert!(sent.acked > 300, "{sent:?}");
    let html = helpers::notebook::show_reconcile(&sent, &pipe).unwrap();
    assert!(
        html.text
            .contains("Every acknowledged event was stored once and counted once."),
        "{}",
        html.text
    );
    wait_until("the status to recover", Duration::from_secs(10), || {
        pipe.status().broker == BrokerState::Connected
    });
    infra.down(false).unwrap();
}

/// Pids of the listening TCP sockets of `pid`, with their local addresses (IPv4 and IPv6).
fn listening_addresses(pid: u32) -> Vec<String> {
    let mut inodes = HashSet::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        if let Ok(target) = std::fs::read_link(fd.path()) {
            let t = target.to_string_lossy().to_string();
            if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                inodes.insert(inode.to_string());
            }
        }
    }
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address, state 0A = LISTEN, inode at column 9.
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                out.push(f[1].to_string());
            }
        }
    }
    out
}

/// The pids of the children of `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn everything_listens_on_loopback_only() {
    let broker = TestBroker::start(1);
    // The broker program, or the Tansu process it hosts.
    let broker_addrs: Vec<String> = std::iter::once(broker.child.id())
        .chain(children_of(broker.child.id()))
        .flat_map(listening_addresses)
        .collect();
    assert!(!broker_addrs.is_empty());
    for a in &broker_addrs {
        assert!(
            a.starts_with("0100007F:"),
            "broker listens on {a}, not 127.0.0.1"
        );
    }
    let pipe = pipeline(&broker, TimeDomain::ProcessingTime);
    let page = helpers::views::live::LivePage::start(&pipe, Duration::from_secs(1)).unwrap();
    let mine = listening_addresses(std::process::id());
    let port = format!("{:04X}", page.addr().port());
    let page_addr = mine
        .iter()
        .find(|a| a.ends_with(&port))
        .expect("the page listens");
    assert_eq!(page_addr, &format!("0100007F:{port}"));
    // Docker publishes Kafka on loopback only.
    let compose = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docker/docker-compose.yml"
    ))
    .unwrap();
    let ports: Vec<&str> = compose
        .lines()
        .filter(|l| l.trim_start().starts_with("- \"") && l.contains(":9092"))
        .collect();
    assert_eq!(ports, vec!["      - \"127.0.0.1:9092:9092\""]);
}

#[test]
fn a_killed_kernel_leaves_no_process_behind() {
    // `demo` does what the notebook does (broker, consumer, producer, live page); SIGKILL
    // it as a kernel restart would, then every child must be gone within a few seconds.
    let state = temp_dir("killed-kernel");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--watch", "120", "--live"])
        .env("STREAM_DEMO_DIR", &state)
        .env(
            "STREAM_DEMO_BACKEND",
            crate::support::hosted_backend().to_string(),
        )
        .env("TRIGGER_SECS", "0.5")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(demo.stdout.take().unwrap()).lines();
    let (mut broker, mut producer, mut page) = (None, None, None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(p) = line.strip_prefix("broker pid ") {
            broker = p.trim().parse::<u32>().ok();
        } else if let Some(p) = line.strip_prefix("producer pid ") {
            producer = p.trim().parse::<u32>().ok();
        } else if let Some(u) = line.strip_prefix("live page http://") {
            // `127.0.0.1:<port>/<secret>/`: the address to connect to.
            page = u.split('/').next().map(str::to_string);
        } else if line.starts_with('[') {
            break; // the first leaderboard line: everything runs
        }
    }
    let (broker, producer, page) = (broker.unwrap(), producer.unwrap(), page.unwrap());
    assert!(pid_alive(broker) && pid_alive(producer));
    assert!(std::net::TcpStream::connect(&page).is_ok());
    demo.kill().unwrap(); // SIGKILL: no destructor runs
    demo.wait().unwrap();
    assert!(
        wait_gone(producer, Duration::from_secs(8)),
        "the producer outlived its kernel"
    );
    assert!(
        wait_gone(broker, Duration::from_secs(8)),
        "the broker outlived its kernel"
    );
    assert!(
        std::net::TcpStream::connect(&page).is_err(),
        "the live page outlived its kernel"
    );
}

#[test]
fn errors_say_what_is_wrong_and_what_to_do() {
    // No broker binary (and no build allowed).
    let empty = temp_dir("no-binary");
    let e = helpers::sys::binary::find_binary("broker", &[empty], false, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "cannot find or build the `broker` program: it is not built; run \
        `cargo build --bins` in "
        ),
        "{e}"
    );
    // A port taken by something that is not Kafka.
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = squatter.local_addr().unwrap().to_string();
    let e = helpers::lab::infra::check_kafka_port(&addr)
        .unwrap_err()
        .to_string();
    let port = addr.rsplit(':').next().unwrap();
    assert!(
        e.contains(&format!(
            "port {port} is taken by another program that is not Kafka"
        )),
        "{e}"
    );
    assert!(e.contains("STREAM_DEMO_BACKEND=embedded"), "{e}");
    // A free port is just free; a live broker's port is Kafka's.
    drop(squatter);
    assert!(!helpers::lab::infra::check_kafka_port(&addr).unwrap());
    let broker = TestBroker::start(1);
    assert!(helpers::lab::infra::check_kafka_port(&broker.bootstrap).unwrap());
    // A wrong bootstrap address.
    let e = helpers::kafka::client::wait_for_broker(&addr, Duration::from_secs(1))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "no Kafka broker answered at {addr} within 1 s: start one with `start_kafka()` \
            (or `cargo run --bin broker`) and check the address"
        )
    );
    // A bad setting names itself.
    let e = Producer::spawn(ProducerConfig {
        topic: "tweets topic; rm -rf /".into(),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("invalid setting topic = \"tweets topic; rm -rf /\""),
        "{e}"
    );
    // Docker absent: one sentence, and the embedded broker is chosen.
    if let Err(why) = helpers::lab::infra::docker_engine() {
        assert!(why.ends_with("so the embedded broker is used"), "{why}");
        assert_eq!(why.matches(". ").count(), 0, "one sentence: {why}");
    }
}

#[test]
fn broker_killed_and_restarted_the_consumer_goes_on_with_the_new_log() {
    let state = temp_dir("restart");
    let config = helpers::lab::infra::InfraConfig {
        backend: Some(crate::support::hosted_backend()),
        state_dir: state.clone(),
        wait: Duration::from_secs(30),
        ..Default::default()
    };
    let first = helpers::lab::infra::start_with(config.clone()).unwrap();
    // The address is found, not given: the consumer may look it up again.
    let pipe = Pipeline::start(PipelineConfig {
        trigger: Duration::from_millis(200),
        state_dir: state.clone(),
        ..Default::default()
    })
    .unwrap();
    pipe.wait_ready(Duration::from_secs(30)).unwrap();
    let produce = |bootstrap: &str, n: u64| {
        Producer::spawn(ProducerConfig {
            bootstrap: bootstrap.to_string(),
            rate: 0.0,
            count: Some(n),
            state_dir: temp_dir("restart-producer"),
            ..Default::default()
        })
        .unwrap()
        .wait(Duration::from_secs(60))
        .unwrap()
    };
    assert_eq!(produce(&first.bootstrap, 300).acked, 300);
    pipe.wait_for(Duration::from_secs(20), |s| s.totals.accepted >= 300)
        .unwrap();
    // Kill it (SIGKILL: no goodbye), start a new one: new port, empty log.
    helpers::sys::process::signal(first.broker_pid.unwrap(), libc::SIGKILL);
    assert!(wait_gone(first.broker_pid.unwrap(), Duration::from_secs(5)));
    let second = helpers::lab::infra::start_with(config).unwrap();
    assert_ne!(second.bootstrap, first.bootstrap);
    assert_eq!(produce(&second.bootstrap, 200).acked, 200);
    let snap = pipe
        .wait_for(Duration::from_secs(30), |s| s.totals.accepted >= 500)
        .unwrap_or_else(|e| panic!("{e}: {:?}", pipe.status()));
    assert_eq!(
        snap.totals.accepted, 500,
        "the new log was read once, from its start"
    );
    let st = pipe.status();
    assert!(st.running);
    assert_eq!(st.bootstrap, second.bootstrap);
    let note = st.last_error.unwrap_or_default();
    assert!(
        note.contains("the broker restarted at") && note.contains("new, empty log"),
        "{note}"
    );
    second.down(false).unwrap();
}
