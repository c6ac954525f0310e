//! The consumer's checkpoint against real brokers: a checkpoint of another cluster is
//! refused before anything is counted, a second consumer on one folder is refused, and a
//! consumer program killed with SIGKILL at random moments while a producer writes, then
//! started again with the same folder each time, ends with exactly the acknowledged counts.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use helpers::kafka::checkpoint::{self, Checkpoint};
use helpers::kafka::consumer::{Pipeline, PipelineConfig, StartFrom};
use helpers::kafka::producer::{Producer, ProducerConfig, ProducerStats};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::support::{temp_dir, wait_until, TestBroker};

/// The checkpoint in `folder` as it is on disk (the newest generation), if whole.
fn on_disk(folder: &Path) -> Option<Checkpoint> {
    serde_json::from_slice(&std::fs::read(checkpoint::path(folder)).ok()?).ok()
}

/// What the producer had acknowledged, per hashtag (those with at least one).
fn acked(stats: &ProducerStats) -> BTreeMap<String, u64> {
    stats
        .hashtags
        .iter()
        .cloned()
        .zip(stats.acked_per_hashtag.iter().copied())
        .filter(|(_, c)| *c > 0)
        .collect()
}

/// Writes `n` events to `broker` (as fast as it takes them); returns the producer's stats.
fn produce(broker: &TestBroker, n: u64, rate: f64) -> Producer {
    Producer::spawn(ProducerConfig {
        bootstrap: broker.bootstrap.clone(),
        rate,
        count: Some(n),
        state_dir: temp_dir("checkpoint-producer"),
        ..Default::default()
    })
    .unwrap()
}

/// A program started by a test: killed (SIGKILL) when dropped, if it still runs, so that a
/// failed assertion leaves no consumer behind.
struct Program(Child);

impl Program {
    /// Waits (at most `wait`) for it to exit; its status and what it wrote on stderr.
    fn finish(&mut self, wait: Duration) -> (std::process::ExitStatus, String) {
        let status = helpers::sys::wait::poll(wait, Duration::from_millis(20), || {
            self.0.try_wait().unwrap()
        })
        .unwrap_or_else(|| panic!("the consumer program did not exit within {wait:?}"));
        let mut said = String::new();
        if let Some(mut err) = self.0.stderr.take() {
            std::io::Read::read_to_string(&mut err, &mut said).unwrap();
        }
        (status, said)
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `consumer` program on `broker`, keeping its checkpoint in `folder`, reading the
/// topic from its start when the folder holds none, with a 200 ms trigger.
fn consumer_program(broker: &TestBroker, folder: &Path, stderr: Stdio) -> Program {
    let child = Command::new(env!("CARGO_BIN_EXE_consumer"))
        .arg("--checkpoint")
        .arg(folder)
        .args(["--from-beginning", "--watch", "600"])
        .env("KAFKA_BOOTSTRAP", &broker.bootstrap)
        .env("STREAM_DEMO_DIR", &broker.state_dir)
        .env("TRIGGER_SECS", "0.2")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    Program(child)
}

#[test]
fn a_checkpoint_of_another_cluster_is_refused_and_nothing_is_counted() {
    // The case: a checkpoint made on broker A, reused on a new broker B holding
    // more events, skipped B's first messages and counted the rest on top of A's counts,
    // without a word.
    let a = TestBroker::start(3);
    let folder = temp_dir("checkpoint-cluster");
    let config = |broker: &TestBroker| PipelineConfig {
        bootstrap: broker.bootstrap.clone(),
        start_from: StartFrom::Earliest,
        // The windows the `consumer` program counts in (the settings' defaults).
        window: helpers::settings::Settings::from_env()
            .unwrap()
            .window_config(),
        trigger: Duration::from_millis(200),
        state_dir: broker.state_dir.clone(),
        checkpoint: Some(folder.clone()),
        ..Default::default()
    };
    let stats = produce(&a, 300, 0.0).wait(Duration::from_secs(60)).unwrap();
    assert_eq!(stats.acked, 300);
    let first = Pipeline::start(config(&a)).unwrap();
    wait_until(
        "a checkpoint with A's 300 events",
        Duration::from_secs(30),
        || on_disk(&folder).is_some_and(|cp| cp.consumed == 300),
    );
    // A second consumer on the same folder is refused while the first runs.
    let e = Pipeline::start(config(&a)).unwrap_err().to_string();
    assert!(e.contains("another consumer (pid"), "{e}");
    assert!(e.contains("is using this checkpoint folder"), "{e}");
    first.stop();
    let saved = on_disk(&folder).unwrap();
    let on_a = saved.cluster.clone().expect("the cluster is recorded");
    assert!(on_a.cluster_id.is_some(), "{on_a:?}");
    assert!(on_a.log_id.is_some(), "{on_a:?}");

    let b = TestBroker::start(3);
    assert_eq!(
        produce(&b, 600, 0.0)
            .wait(Duration::from_secs(60))
            .unwrap()
            .acked,
        600
    );
    let second = Pipeline::start(config(&b)).unwrap();
    let e = second
        .wait_ready(Duration::from_secs(30))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("the consumer failed: invalid setting checkpoint"),
        "{e}"
    );
    println!("refused: {e}");
    // The mock draws a cluster id at each start; Tansu's is the same, its log is not.
    assert!(
        e.contains("it was written for Kafka cluster")
            || e.contains("it was written for another start of the broker program"),
        "{e}"
    );
    assert!(
        e.contains(&format!("mean nothing in the log at {}", b.bootstrap)),
        "{e}"
    );
    assert!(e.contains("Delete that folder, or give another one"), "{e}");
    assert!(!second.status().running);
    // Nothing of B was counted: the checkpoint is left as A's consumer wrote it (and the
    // folder is free again, as the program below shows).
    let after = on_disk(&folder).unwrap();
    assert_eq!((after.consumed, after.cluster), (300, Some(on_a.clone())));

    // The `consumer` program says the same, and fails.
    let (status, said) =
        consumer_program(&b, &folder, Stdio::piped()).finish(Duration::from_secs(30));
    assert_eq!(status.code(), Some(2), "{said}");
    assert!(
        said.contains("Delete that folder, or give another one"),
        "{said}"
    );

    // On A again, the checkpoint goes on: nothing new, nothing twice.
    let again = Pipeline::start(config(&a)).unwrap();
    again.wait_ready(Duration::from_secs(30)).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert!(again.status().running, "{:?}", again.status());
    let all_time: BTreeMap<String, u64> = again.all_time_counts().into_iter().collect();
    assert_eq!(all_time, acked(&stats));
    again.stop();
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn a_consumer_killed_at_random_moments_and_restarted_from_its_checkpoint_counts_what_was_acked() {
    let seed = std::env::var("HELPERS_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| helpers::core::time::Timestamp::now().micros() as u64);
    println!("seed {seed} (HELPERS_TEST_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let broker = TestBroker::start(3);
    let folder = temp_dir("checkpoint-sigkill");
    let started = Instant::now();
    let k = 15_000;
    // About 10 s of events, while the consumer is killed a dozen times.
    let producer = produce(&broker, k, 1500.0);
    let kills = 12;
    let mut saved = Vec::new();
    for _ in 0..kills {
        let mut consumer = consumer_program(&broker, &folder, Stdio::null());
        std::thread::sleep(Duration::from_millis(rng.random_range(150..1300)));
        // SIGKILL: no goodbye, perhaps halfway through a write.
        consumer.0.kill().unwrap();
        consumer.0.wait().unwrap();
        saved.push(on_disk(&folder).map_or(0, |cp| cp.consumed));
    }
    println!("messages in the checkpoint at each kill: {saved:?}");
    assert!(
        saved.iter().filter(|n| (1..k).contains(*n)).count() >= kills / 2,
        "most kills came mid-stream, after a checkpoint: {saved:?}"
    );
    let killed_after = started.elapsed();
    let mut last = consumer_program(&broker, &folder, Stdio::piped());
    // Its pid in the lock: it holds the folder, and handles SIGTERM (installed before).
    let pid = last.0.id().to_string();
    wait_until(
        "the last consumer to lock its folder",
        Duration::from_secs(30),
        || std::fs::read_to_string(folder.join(checkpoint::LOCK_FILE)).is_ok_and(|p| p == pid),
    );
    let stats = producer.wait(Duration::from_secs(60)).unwrap();
    assert_eq!((stats.acked, stats.failed), (k, 0), "{stats:?}");
    wait_until(
        "the last consumer's checkpoint to hold every acknowledged event",
        Duration::from_secs(60),
        || on_disk(&folder).is_some_and(|cp| cp.consumed >= k),
    );
    // A clean stop (SIGTERM) ends it, and the checkpoint holds the final counts.
    helpers::sys::process::signal(last.0.id(), libc::SIGTERM);
    let (status, said) = last.finish(Duration::from_secs(30));
    assert!(status.success(), "{status:?}: {said}");
    let cp = on_disk(&folder).unwrap();
    assert_eq!(
        cp.consumed, k,
        "each message read once, all restarts together"
    );
    let all_time: BTreeMap<String, u64> = cp.all_time.into_iter().filter(|(_, c)| *c > 0).collect();
    assert_eq!(all_time, acked(&stats), "seed {seed}");
    println!(
        "{kills} kills in {killed_after:?}, done in {:?}",
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&folder);
}
