//! Shared test fixtures: a real embedded broker on 127.0.0.1, temp state directories,
//! and the paths of clients we did not write.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use helpers::lab::broker::BrokerInfo;
use helpers::sys::wait::{poll, until};

/// The broker the tests run against: `HELPERS_TEST_ENGINE=tansu` for Tansu, `kafka` for
/// Apache Kafka, else the mock cluster (`scripts/test` runs the Kafka tests against all
/// three).
pub fn engine() -> &'static str {
    match std::env::var("HELPERS_TEST_ENGINE").as_deref() {
        Ok("tansu") => "tansu",
        Ok("kafka") => "kafka",
        _ => "mock",
    }
}

/// The infrastructure backend that hosts [`engine`].
pub fn hosted_backend() -> helpers::lab::infra::Backend {
    match engine() {
        "tansu" => helpers::lab::infra::Backend::Tansu,
        "kafka" => helpers::lab::infra::Backend::Kafka,
        _ => helpers::lab::infra::Backend::Embedded,
    }
}

/// A fresh, empty state directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "helpers-test-{name}-{}-{}",
        std::process::id(),
        helpers::core::time::Timestamp::now().micros()
    ));
    // Private, as the library wants its state directories (whatever the umask).
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .recursive(true)
        .create(&dir)
        .unwrap();
    dir
}

/// The embedded broker program, started by the test and killed when dropped.
pub struct TestBroker {
    pub child: Child,
    pub bootstrap: String,
    pub state_dir: PathBuf,
}

impl TestBroker {
    /// A broker with `tweets_topic` of `partitions` partitions.
    pub fn start(partitions: i32) -> TestBroker {
        TestBroker::start_with(partitions, &["tweets_topic"])
    }

    /// A broker with these topics (others are created when a producer first writes).
    pub fn start_with(partitions: i32, topics: &[&str]) -> TestBroker {
        let state_dir = temp_dir("broker");
        let child = Command::new(env!("CARGO_BIN_EXE_broker"))
            .args(["--partitions", &partitions.to_string(), "--state-dir"])
            .arg(&state_dir)
            .args(topics.iter().flat_map(|t| ["--topic", t]))
            .args(["--engine", engine()])
            // Gone with the test process, even when it is killed and Drop never runs.
            .args(["--parent-pid", &std::process::id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let info = poll(Duration::from_secs(90), Duration::from_millis(20), || {
            BrokerInfo::read(&state_dir)
        })
        .expect("broker did not publish its address");
        assert!(
            info.bootstrap.starts_with("127.0.0.1:"),
            "{}",
            info.bootstrap
        );
        TestBroker {
            child,
            bootstrap: info.bootstrap,
            state_dir,
        }
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// Python with kafka-python: `$PYTHON`, else the project's `.venv`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        venv.exists(),
        "kafka-python is needed: run `bash scripts/setup` (creates .venv) or set PYTHON"
    );
    venv
}

/// Runs a Python snippet with arguments; returns stdout, panics with stderr on failure.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Waits until `pid` is gone, at most `wait`.
pub fn wait_gone(pid: u32, wait: Duration) -> bool {
    until(wait, Duration::from_millis(20), || {
        !helpers::sys::process::pid_alive(pid)
    })
}

/// Waits until `cond` holds, at most `wait`; fails the test saying `what` did not happen.
pub fn wait_until(what: &str, wait: Duration, cond: impl FnMut() -> bool) {
    assert!(
        until(wait, Duration::from_millis(20), cond),
        "waited {wait:?} in vain for {what}"
    );
}
