//! The end-to-end benchmark: how fast the pipeline is, measured on this machine. Run on
//! demand (a normal build never compiles it):
//!
//! ```sh
//! cargo bench --bench pipeline              # everything (a few minutes)
//! cargo bench --bench pipeline -- engine    # one part: engine, producer, consumer,
//!                                           # latency, views, memory, scaling, checkpoint
//! ```
//!
//! `benches/engine.rs` has the window engine's micro-benchmarks (criterion).
//!
//! Machines are noisy, so every comparison is a ratio of two things measured in the same
//! run, alternating, and each figure is the median of several runs. Kafka parts use an
//! in-process embedded broker (librdkafka's mock cluster) on 127.0.0.1, or Tansu with
//! `BENCH_ENGINE=tansu` (run by the `broker` program). BENCHMARKS.md records the method and
//! the figures.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
use rdkafka::{Offset, TopicPartitionList};

#[path = "common/mod.rs"]
mod common;

use common::messages;
use helpers::core::config::{TimeDomain, WindowConfig};
use helpers::core::event::decode;
use helpers::core::generator::{Generator, GeneratorConfig};
use helpers::core::time::Timestamp;
use helpers::core::window::WindowEngine;
use helpers::kafka::consumer::{Pipeline, PipelineConfig, StartFrom};
use helpers::kafka::producer::ProducerConfig;
use helpers::sys::signal::Shutdown;

/// Median of the values (sorted copy).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[s.len() / 2]
}

/// Percentile `p` (0..100) of the values.
fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p / 100.0).round() as usize]
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn engine(config: WindowConfig) -> WindowEngine {
    WindowEngine::new(config.with_time_domain(TimeDomain::EventTime)).expect("engine")
}

/// Partitions of the consumer benchmark's topic.
const PARTITIONS: i32 = 16;

/// 1. Decode + window update, in one thread, on pre-generated messages.
fn bench_engine() {
    let n = 1_000_000;
    let msgs = messages(n, 4);
    let bytes: usize = msgs.iter().map(Vec::len).sum();
    println!(
        "## 1. Window engine alone ({n} messages, {:.0} B on average, one core)",
        bytes as f64 / n as f64
    );
    let (mut dec, mut tum, mut sli) = (vec![], vec![], vec![]);
    for _ in 0..5 {
        let t = Instant::now();
        for m in &msgs {
            black_box(decode(black_box(m)).is_ok());
        }
        dec.push(n as f64 / secs(t));
        for (config, out) in [
            (WindowConfig::tumbling(Duration::from_secs(60)), &mut tum),
            (
                WindowConfig::sliding(Duration::from_secs(60), Duration::from_secs(10)),
                &mut sli,
            ),
        ] {
            let mut e = engine(config);
            let t = Instant::now();
            for (i, m) in msgs.iter().enumerate() {
                e.ingest_raw(m, Timestamp(0));
                if i % 10_000 == 9_999 {
                    // A trigger every 10 s of event time.
                    black_box(e.tick(Timestamp(0)));
                }
            }
            out.push(n as f64 / secs(t));
        }
    }
    let (d, t, s) = (median(&dec), median(&tum), median(&sli));
    println!("decode only:              {:>12.0} events/s", d);
    println!(
        "decode + tumbling 60 s:   {:>12.0} events/s   (decode share of the time: {:.0}%)",
        t,
        100.0 * t / d
    );
    println!(
        "decode + sliding 60/10 s: {:>12.0} events/s   (decode share of the time: {:.0}%)",
        s,
        100.0 * s / d
    );
    println!(
        "reference: PySpark local ~380k/s per core here, DBSP ~570k/s, Flink ~20k/s; goal \
        >= 4M/s\n"
    );
}

/// The broker of a Kafka part of the bench: librdkafka's mock cluster in this process, or
/// (with `BENCH_ENGINE=tansu`) Tansu, started by our `broker` program, stopped on drop.
enum Broker {
    /// The mock cluster (dropping it stops it).
    Mock(#[allow(dead_code)] MockCluster<'static, rdkafka::producer::DefaultProducerContext>),
    /// The `broker` program running Tansu.
    Tansu(std::process::Child),
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Broker::Tansu(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Which broker the Kafka parts use: `mock` (the default) or `tansu` (`BENCH_ENGINE`).
fn engine_name() -> String {
    std::env::var("BENCH_ENGINE").unwrap_or_else(|_| "mock".into())
}

/// A broker with one 3-partition topic; returns it and its address.
fn cluster(topic: &str) -> (Broker, String) {
    cluster_with(topic, 3)
}

/// A broker with one topic of `partitions` partitions.
fn cluster_with(topic: &str, partitions: i32) -> (Broker, String) {
    if engine_name() != "tansu" {
        let c = MockCluster::new(1).expect("mock cluster");
        c.create_topic(topic, partitions, 1).expect("topic");
        let b = c.bootstrap_servers();
        return (Broker::Mock(c), b);
    }
    let dir = std::env::temp_dir().join(format!(
        "bench-tansu-{}-{}",
        std::process::id(),
        Timestamp::now().micros()
    ));
    std::fs::create_dir_all(&dir).expect("state dir");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_broker"))
        .args(["--engine", "tansu", "--topic", topic])
        .args(["--partitions", &partitions.to_string(), "--state-dir"])
        .arg(&dir)
        .args(["--parent-pid", &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the broker program (cargo bench builds it)");
    // Stopped (killed and waited for) when dropped, also if it never starts.
    let broker = Broker::Tansu(child);
    let t = Instant::now();
    loop {
        if let Some(info) = helpers::lab::broker::BrokerInfo::read(&dir) {
            return (broker, info.bootstrap);
        }
        assert!(t.elapsed() < Duration::from_secs(30), "Tansu did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The bare produce loop: the same settings as our producer, pre-generated payloads.
fn bare_produce(bootstrap: &str, topic: &str, msgs: &[Vec<u8>], keys: &[&str]) -> f64 {
    let p: BaseProducer = helpers::kafka::client::producer_config(bootstrap)
        .create()
        .expect("producer");
    let t = Instant::now();
    for (i, m) in msgs.iter().enumerate() {
        let mut rec = BaseRecord::to(topic)
            .payload(&m[..])
            .key(keys[i % keys.len()]);
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((_, r)) => {
                    p.poll(Duration::from_millis(5));
                    rec = r;
                }
            }
        }
        if i % 1024 == 0 {
            p.poll(Duration::ZERO);
        }
    }
    p.flush(Duration::from_secs(60)).expect("flush");
    msgs.len() as f64 / secs(t)
}

/// 2. Our producer (generator + JSON + send) against the bare loop.
fn bench_producer() {
    let n = 300_000u64;
    println!("## 2. Producer into the embedded broker ({n} events, as fast as possible)");
    let msgs = messages(n as usize, 4);
    let keys = ["@DataFan", "@SparkGuru", "@PythonDev"];
    let (mut ours, mut bare) = (vec![], vec![]);
    for run in 0..3 {
        let (_c, b) = cluster("bench");
        let config = ProducerConfig {
            bootstrap: b.clone(),
            topic: "bench".into(),
            rate: 0.0,
            count: Some(n),
            ..Default::default()
        };
        let t = Instant::now();
        let stats =
            helpers::kafka::producer::run(&config, &Shutdown::new(), None).expect("producer");
        assert_eq!(stats.acked, n, "run {run}: every event acknowledged");
        ours.push(n as f64 / secs(t));
        let (_c2, b2) = cluster("bench");
        bare.push(bare_produce(&b2, "bench", &msgs, &keys));
    }
    let (o, b) = (median(&ours), median(&bare));
    println!("ours (generate + serialise + send): {o:>10.0} events/s");
    println!("bare rdkafka loop, same payloads:    {b:>10.0} events/s");
    println!("ratio ours / bare: {:.2} (goal >= 0.8)\n", o / b);
}

/// Fills `topic` with `msgs`.
fn fill(bootstrap: &str, topic: &str, msgs: &[Vec<u8>]) {
    // Many keys, so every partition gets its share.
    let keys: Vec<String> = (0..256).map(|i| format!("@user{i}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    bare_produce(bootstrap, topic, msgs, &keys);
}

/// Assigns every partition of `topic` from its start. Asks for the topic's metadata first,
/// as the pipeline does: a consumer assigned partitions whose leaders it does not know yet
/// waits ~0.5 s before its first fetch (measured on the mock: 0.5 s of 0.65).
fn assign_all<X: rdkafka::consumer::ConsumerContext, C: Consumer<X>>(c: &C, topic: &str) {
    c.fetch_metadata(Some(topic), Duration::from_secs(5))
        .expect("metadata");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("tpl");
    }
    c.assign(&tpl).expect("assign");
}

/// The pipeline's own client settings (`client::consumer_config`): the bare loops below
/// differ from ours only in the loop.
fn consumer_config(bootstrap: &str) -> rdkafka::ClientConfig {
    let mut c = helpers::kafka::client::consumer_config(bootstrap);
    c.set("group.id", "bench");
    c
}

/// librdkafka's defaults, for reference.
fn default_consumer_config(bootstrap: &str) -> rdkafka::ClientConfig {
    let mut c = helpers::kafka::client::base_config(bootstrap);
    c.set("group.id", "bench")
        .set("enable.auto.commit", "false");
    c
}

/// A new BaseConsumer made from `config` reads `n` events of the bench topic, handing each
/// payload to `each`; returns events/s from the first poll to the last event.
fn poll_all(config: &rdkafka::ClientConfig, n: usize, mut each: impl FnMut(&[u8])) -> f64 {
    let t0 = Instant::now();
    let c: BaseConsumer = config.create().expect("consumer");
    assign_all(&c, "bench");
    let mut got = 0;
    while got < n {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "only {got} of {n} events came back"
        );
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            each(m.payload().unwrap_or(&[]));
            got += 1;
        }
    }
    n as f64 / secs(t0)
}

/// 3. The live consumer against bare consume loops, from a pre-filled topic.
fn bench_consumer() {
    // The embedded broker keeps at most ~5 MiB per partition: 250k events of ~150 B in 16.
    let n = 250_000usize;
    println!(
        "## 3. Consumer end to end ({n} events already in a {PARTITIONS}-partition topic; clock \
            from creating the consumer to the last event; median of 5)"
    );
    let msgs = messages(n, 4);
    let (_c, b) = cluster_with("bench", PARTITIONS);
    fill(&b, "bench", &msgs);
    let (mut defaults, mut base, mut stream, mut base_engine, mut ours) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..5 {
        // Bare BaseConsumer with librdkafka's default settings: poll and count.
        defaults.push(poll_all(&default_consumer_config(&b), n, |payload| {
            black_box(payload);
        }));
        // Bare BaseConsumer with the pipeline's settings: poll and count.
        base.push(poll_all(&consumer_config(&b), n, |payload| {
            black_box(payload);
        }));
        // Bare BaseConsumer feeding the window engine (decode + count), one message per poll.
        let mut e = engine(WindowConfig::sliding(
            Duration::from_secs(60),
            Duration::from_secs(10),
        ));
        base_engine.push(poll_all(&consumer_config(&b), n, |payload| {
            e.ingest_raw(payload, Timestamp(0));
        }));
        black_box(e.tick(Timestamp(0)));
        // Bare StreamConsumer: recv and count.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let _in_rt = rt.enter();
        let t0 = Instant::now();
        let c: StreamConsumer = consumer_config(&b).create().expect("consumer");
        assign_all(&c, "bench");
        rt.block_on(async {
            let mut got = 0;
            while got < n {
                assert!(
                    t0.elapsed() < Duration::from_secs(60),
                    "only {got} of {n} events came back"
                );
                if let Ok(m) = c.recv().await {
                    black_box(m.payload());
                    got += 1;
                }
            }
        });
        stream.push(n as f64 / secs(t0));
        // Ours: the pipeline (its thread reads with a StreamConsumer; its counting thread
        // decodes and counts in sliding windows).
        let t0 = Instant::now();
        let p = Pipeline::start(PipelineConfig {
            bootstrap: b.clone(),
            topic: "bench".into(),
            start_from: StartFrom::Earliest,
            window: WindowConfig::sliding(Duration::from_secs(60), Duration::from_secs(10)),
            trigger: Duration::from_millis(10),
            ..Default::default()
        })
        .expect("pipeline");
        while p.totals().input < n as u64 {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "the pipeline did not catch up"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        ours.push(n as f64 / secs(t0));
        p.stop();
    }
    let (dd, bb, be, ss, o) = (
        median(&defaults),
        median(&base),
        median(&base_engine),
        median(&stream),
        median(&ours),
    );
    println!("bare BaseConsumer, librdkafka defaults: {dd:>9.0} events/s   (for reference)");
    println!(
        "bare BaseConsumer poll loop:          {bb:>10.0} events/s   (the pipeline's settings, \
        as below)"
    );
    println!(
        "bare StreamConsumer recv loop:        {ss:>10.0} events/s   (StreamConsumer / \
        BaseConsumer: {:.2})",
        ss / bb
    );
    println!("BaseConsumer + decode + windows:      {be:>10.0} events/s");
    println!(
        "ours (Pipeline, StreamConsumer):      {o:>10.0} events/s   (ours / bare \
        BaseConsumer: {:.2})\n",
        o / bb
    );
}

/// 4. Produce time → count visible in `snapshot()`, at a fixed rate.
fn bench_latency() {
    println!("## 4. Latency: produce → count visible in snapshot() (trigger 10 ms)");
    for (rate, seconds) in [(1_000.0, 5.0), (100_000.0, 3.0)] {
        let (_c, b) = cluster("lat");
        let p = Pipeline::start(PipelineConfig {
            bootstrap: b.clone(),
            topic: "lat".into(),
            trigger: Duration::from_millis(10),
            ..Default::default()
        })
        .expect("pipeline");
        p.wait_ready(Duration::from_secs(30)).expect("ready");
        let n = (rate * seconds) as usize;
        let msgs = messages(n, 4);
        let producer: BaseProducer = helpers::kafka::client::producer_config(&b)
            .set("linger.ms", "1")
            .create()
            .expect("producer");
        // Warm up: the idempotent producer's first sends wait for its producer id, and the
        // consumer's first fetch for its connection; neither belongs in a steady-state figure.
        let warm = 100;
        for m in msgs.iter().take(warm) {
            producer
                .send(BaseRecord::<str, [u8]>::to("lat").payload(&m[..]).key("k"))
                .expect("send");
        }
        producer.flush(Duration::from_secs(30)).expect("flush");
        while (p.totals().input as usize) < warm {
            std::thread::sleep(Duration::from_millis(1));
        }
        let sent_at: std::sync::Arc<std::sync::Mutex<Vec<Instant>>> = Default::default();
        let sent2 = sent_at.clone();
        let sender = std::thread::spawn(move || {
            let start = Instant::now();
            for (i, m) in msgs.iter().enumerate() {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                while Instant::now() < due {
                    producer.poll(Duration::ZERO);
                    std::hint::spin_loop();
                }
                let mut rec = BaseRecord::<str, [u8]>::to("lat").payload(&m[..]).key("k");
                while let Err((_, r)) = producer.send(rec) {
                    producer.poll(Duration::from_millis(1));
                    rec = r;
                }
                sent2.lock().unwrap().push(Instant::now());
            }
            producer.flush(Duration::from_secs(30)).expect("flush");
        });
        // Watch the snapshot: when the count passes k, events up to k became visible.
        let mut seen_at: Vec<Instant> = Vec::with_capacity(n);
        let deadline = Instant::now() + Duration::from_secs_f64(seconds + 30.0);
        while seen_at.len() < n && Instant::now() < deadline {
            let c = (p.totals().input as usize).saturating_sub(warm).min(n);
            let now = Instant::now();
            while seen_at.len() < c {
                seen_at.push(now);
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        sender.join().expect("sender");
        let sent = sent_at.lock().unwrap();
        let mut lat: Vec<f64> = seen_at
            .iter()
            .zip(sent.iter())
            .map(|(s, p)| s.saturating_duration_since(*p).as_secs_f64() * 1e3)
            .collect();
        let got = lat.len();
        let (p50, p99) = (percentile(&mut lat, 50.0), percentile(&mut lat, 99.0));
        println!(
            "{rate:>8.0} events/s: p50 {p50:>7.2} ms   p99 {p99:>7.2} ms   ({got} of {n} \
            events seen)"
        );
        p.stop();
    }
    println!(
        "goal: p99 < 20 ms at 100k events/s (Spark micro-batch floor ~100 ms; Kafka on a \
        LAN ~2 ms median)\n"
    );
}

/// Events over `hashtags` distinct hashtags, `#tag0`, `#tag1`..., all equally likely.
fn uniform_generator(hashtags: usize) -> Generator {
    Generator::new(GeneratorConfig {
        hashtags: (0..hashtags).map(|i| format!("#tag{i}")).collect(),
        weights: vec![1.0; hashtags],
        ..Default::default()
    })
    .expect("generator")
}

/// 5. Building the table and both charts, and the live page's response time.
fn bench_views() {
    println!("## 5. Views: DataFrame + both charts per snapshot, and the live page");
    for hashtags in [10, 1_000, 100_000] {
        // A snapshot through the real engine: 30 windows of history.
        let mut e =
            engine(WindowConfig::tumbling(Duration::from_secs(60)).with_watermark(Duration::ZERO));
        let mut g = uniform_generator(hashtags);
        let mut buf = Vec::new();
        let per_window = (hashtags * 2).max(1000);
        let mut tick = Duration::ZERO;
        let mut snap = None;
        for w in 0..31 {
            for i in 0..per_window {
                g.next_json(
                    w as f64 * 60.0 + i as f64 * 59.0 / per_window as f64,
                    &mut buf,
                );
                e.ingest_raw(&buf, Timestamp(0));
            }
            let t = Instant::now();
            snap = Some(e.tick(Timestamp(0)));
            tick = t.elapsed();
        }
        let snap = snap.expect("snapshot");
        let mut times = vec![];
        for _ in 0..5 {
            let t = Instant::now();
            black_box(
                helpers::views::dashboard::dashboard(&snap, Duration::from_secs(60))
                    .expect("views"),
            );
            times.push(secs(t) * 1e3);
        }
        println!(
            "{hashtags:>7} hashtags: table + 2 charts {:>8.2} ms (median of 5); the trigger \
                that built the snapshot {:>8.2} ms",
            median(&times),
            tick.as_secs_f64() * 1e3
        );
    }
    // The live page: GET /fragment over TCP.
    let (_c, b) = cluster("views");
    let p = Pipeline::start(PipelineConfig {
        bootstrap: b.clone(),
        topic: "views".into(),
        start_from: StartFrom::Earliest,
        trigger: Duration::from_millis(50),
        ..Default::default()
    })
    .expect("pipeline");
    fill(&b, "views", &messages(10_000, 4));
    p.wait_for(Duration::from_secs(30), |s| s.totals.input >= 10_000)
        .expect("filled");
    let page = helpers::views::live::LivePage::start(&p, Duration::from_secs(2)).expect("page");
    let mut times = vec![];
    for _ in 0..20 {
        use std::io::{Read, Write};
        let t = Instant::now();
        let mut s = std::net::TcpStream::connect(page.addr()).expect("connect");
        // The page answers only its loopback names (`Host` checked against DNS rebinding).
        let request = format!("GET /fragment HTTP/1.1\r\nHost: {}\r\n\r\n", page.addr());
        s.write_all(request.as_bytes()).expect("write");
        let mut body = Vec::new();
        s.read_to_end(&mut body).expect("read");
        assert!(body.starts_with(b"HTTP/1.1 200"));
        times.push(secs(t) * 1e3);
    }
    println!(
        "live page GET /fragment: median {:.2} ms, p99 {:.2} ms (20 requests)\n",
        median(&times),
        percentile(&mut times, 99.0)
    );
}

/// 7. One consumer vs two in one group, on a 3-partition topic.
fn bench_scaling() {
    let n = 75_000usize;
    println!(
        "## 7. Scaling: 1 vs 2 consumers in one group, 3 partitions ({n} events produced \
        once the group has settled; median of 3)"
    );
    let msgs = messages(n, 4);
    let (mut one, mut two) = (vec![], vec![]);
    for run in 0..3 {
        for members in [1usize, 2] {
            let (_c, b) = cluster("scale");
            let group = format!("bench-{run}-{members}");
            let ps: Vec<Pipeline> = (0..members)
                .map(|_| {
                    Pipeline::start(PipelineConfig {
                        bootstrap: b.clone(),
                        topic: "scale".into(),
                        start_from: StartFrom::Earliest,
                        trigger: Duration::from_millis(10),
                        group: Some(group.clone()),
                        ..Default::default()
                    })
                    .expect("pipeline")
                })
                .collect();
            let t = Instant::now();
            loop {
                let mut parts: Vec<i32> = ps.iter().flat_map(|p| p.status().partitions).collect();
                parts.sort_unstable();
                if parts == vec![0, 1, 2] && ps.iter().all(|p| !p.status().partitions.is_empty()) {
                    break;
                }
                assert!(
                    t.elapsed() < Duration::from_secs(60),
                    "the group never settled"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let t = Instant::now();
            fill(&b, "scale", &msgs);
            while ps.iter().map(|p| p.totals().input).sum::<u64>() < n as u64 {
                assert!(
                    t.elapsed() < Duration::from_secs(60),
                    "not all events were read"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            let rate = n as f64 / secs(t);
            if members == 1 {
                one.push(rate)
            } else {
                two.push(rate)
            }
            for p in &ps {
                p.stop();
            }
        }
    }
    let (o, t) = (median(&one), median(&two));
    println!(
        "1 consumer:  {o:>10.0} events/s (produce + consume, from the first send to the \
        last count)"
    );
    println!(
        "2 consumers: {t:>10.0} events/s   (2 / 1: {:.2}; both share this machine's 2 \
        cores with the broker and the producer)\n",
        t / o
    );
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// 6. Peak memory of the engine over 10M events, 100k hashtags, 10 minutes of event time.
fn bench_memory() {
    let n = 10_000_000usize;
    let hashtags = 100_000;
    println!(
        "## 6. Memory: {n} events, {hashtags} distinct hashtags, 10 minutes of event time, \
        sliding 60/10 s"
    );
    let mut g = Generator::new(GeneratorConfig {
        hashtags: (0..hashtags).map(|i| format!("#tag{i}")).collect(),
        weights: vec![1.0; hashtags],
        ..Default::default()
    })
    .expect("generator");
    let mut e = engine(WindowConfig::sliding(
        Duration::from_secs(60),
        Duration::from_secs(10),
    ));
    let mut buf = Vec::new();
    let base = rss_kib("VmRSS:");
    let t = Instant::now();
    let mut max_rows = 0;
    let mut rss_at = vec![];
    for i in 0..n {
        let ts = 1_733_940_000.0 + 600.0 * i as f64 / n as f64;
        g.next_json(ts, &mut buf);
        e.ingest_raw(&buf, Timestamp(0));
        if i % (n / 60) == n / 60 - 1 {
            // A trigger every 10 s of event time.
            let s = e.tick(Timestamp(0));
            max_rows = max_rows.max(s.metrics.rows_in_state);
            if rss_at.len() < 60 {
                rss_at.push(rss_kib("VmRSS:"));
            }
        }
    }
    let elapsed = secs(t);
    println!(
        "{:.1} s ({:.0} events/s incl. generation); rows in state at most {max_rows} (≤ 7 panes \
            × {hashtags} hashtags)",
        elapsed,
        n as f64 / elapsed
    );
    let at = |minute: usize| rss_at.get(minute * 6 - 1).copied().unwrap_or(0) / 1024;
    println!(
        "RSS: {} MiB before; after 1, 2, 5, 8 minutes of event time: {}, {}, {}, {} MiB; at the \
            end {} MiB; peak {} MiB",
        base / 1024,
        at(1),
        at(2),
        at(5),
        at(8),
        rss_kib("VmRSS:") / 1024,
        rss_kib("VmHWM:") / 1024
    );
    println!(
        "bounded: state holds only the open windows' panes; it does not grow with the stream\n"
    );
}

/// 8. A checkpoint (section 10c): saving the engine's state at a trigger, and restoring it.
fn bench_checkpoint() {
    println!(
        "## 8. Checkpoint: state + write (fsync, rename) at a trigger, and read + restore \
         (sliding 60/10 s, one minute of events; median of 5)"
    );
    let dir = std::env::temp_dir().join(format!("helpers-bench-checkpoint-{}", std::process::id()));
    for hashtags in [10, 1_000, 100_000] {
        let config = WindowConfig::sliding(Duration::from_secs(60), Duration::from_secs(10))
            .with_time_domain(helpers::core::config::TimeDomain::EventTime);
        let mut e = engine(config.clone());
        let mut g = uniform_generator(hashtags);
        let mut buf = Vec::new();
        let n = (hashtags * 6).max(6_000);
        for i in 0..n {
            g.next_json(i as f64 * 60.0 / n as f64, &mut buf);
            e.ingest_raw(&buf, Timestamp(0));
        }
        black_box(e.tick(Timestamp(0)));
        let (mut save, mut load) = (vec![], vec![]);
        for _ in 0..5 {
            let t = Instant::now();
            let cp = helpers::kafka::checkpoint::Checkpoint {
                topic: "bench".into(),
                offsets: (0..PARTITIONS).map(|p| (p, 1_000_000)).collect(),
                engine: e.state(),
                all_time: vec![],
                consumed: n as u64,
                cluster: None,
            };
            helpers::kafka::checkpoint::save(&dir, &cp).expect("save");
            save.push(secs(t) * 1e3);
            let t = Instant::now();
            let cp = helpers::kafka::checkpoint::load(&dir, "bench", &config)
                .expect("load")
                .expect("a checkpoint");
            black_box(WindowEngine::from_state(cp.engine).expect("restore"));
            load.push(secs(t) * 1e3);
        }
        let size = std::fs::metadata(helpers::kafka::checkpoint::path(&dir)).map_or(0, |m| m.len());
        println!(
            "{hashtags:>7} hashtags: save {:>8.2} ms   restore {:>8.2} ms   file {:>10} bytes",
            median(&save),
            median(&load),
            size
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!();
}

fn main() {
    // `cargo bench` adds `--bench`; the other arguments name the parts to run.
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = which.is_empty();
    let want = |name: &str| all || which.iter().any(|w| w == name);
    println!(
        "# helpers bench ({} cores; release build: {}; broker: {})\n",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        !cfg!(debug_assertions),
        engine_name()
    );
    if want("engine") {
        bench_engine();
    }
    if want("producer") {
        bench_producer();
    }
    if want("consumer") {
        bench_consumer();
    }
    if want("latency") {
        bench_latency();
    }
    if want("views") {
        bench_views();
    }
    if want("memory") {
        bench_memory();
    }
    if want("scaling") {
        bench_scaling();
    }
    if want("checkpoint") {
        bench_checkpoint();
    }
}
