//! Child processes: starting them without a shell, signalling them, and making sure none
//! outlives the notebook.
//!
//! Three rules keep a classroom machine clean:
//! 1. A child started by the library gets `--parent-pid <our pid>` and exits by itself
//!    when that process is gone (`sys::signal::exit_with_parent`): this covers a
//!    killed or restarted kernel, where no destructor runs.
//! 2. Handles kill their child on `Drop` and on `stop()`.
//! 3. Each kind of child records its pid in the state directory, so a new handle can stop
//!    an old one it never owned (re-running a cell never leaves two producers).
//!
//! Commands are argument vectors, never shell strings; names that reach a command line are
//! checked by `kafka::client::validate_name`.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::sys::wait::until;

/// Whether a process with this pid exists (and is not a zombie we could reap).
pub fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // A zombie still answers kill(0); look at its state to tell.
    if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) {
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r.trim_start()) {
            if rest.starts_with('Z') || rest.starts_with('X') {
                return false;
            }
        }
    }
    // SAFETY: kill with signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

/// Sends `signal` to `pid`; true if it was delivered.
pub fn signal(pid: u32, signal: i32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: plain kill(2) on a positive pid.
    unsafe { libc::kill(pid as i32, signal) == 0 }
}

/// Asks `pid` to stop (SIGTERM), waits up to `grace`, then kills it (SIGKILL).
/// Returns true if the process is gone.
pub(crate) fn terminate_pid(pid: u32, grace: Duration) -> bool {
    if !pid_alive(pid) {
        return true;
    }
    signal(pid, libc::SIGTERM);
    let gone = || !pid_alive(pid);
    if until(grace, Duration::from_millis(20), gone) {
        return true;
    }
    signal(pid, libc::SIGKILL);
    until(Duration::from_secs(2), Duration::from_millis(10), gone)
}

/// Stops a child we own: SIGTERM, wait up to `grace`, then SIGKILL; always reaps it.
pub(crate) fn terminate_child(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    signal(child.id(), libc::SIGTERM);
    if until(grace, Duration::from_millis(20), || {
        matches!(child.try_wait(), Ok(Some(_)))
    }) {
        return;
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts `program` with `args`, stdin closed, stdout and stderr to `log` (never to the
/// notebook's pipe), and `--parent-pid` so it dies with us.
pub(crate) fn spawn_child(program: &Path, args: &[String], log: &Path) -> Result<Child> {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| Error::io("cannot open the log file", log, e))?;
    let err = out
        .try_clone()
        .map_err(|e| Error::io("cannot open the log file", log, e))?;
    Command::new(program)
        .args(args)
        .arg("--parent-pid")
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| Error::io("cannot start", program, e))
}

/// How many of our programs run from `state_dir`: `(producers, embedded brokers)`, found
/// by their command lines (what a clean-up check or a re-run check counts).
pub(crate) fn running_programs(state_dir: &Path) -> (usize, usize) {
    let dir = state_dir.display().to_string();
    let (mut producers, mut brokers) = (0, 0);
    let Ok(entries) = fs::read_dir("/proc") else {
        return (0, 0);
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(raw) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let Some(program) = args
            .first()
            .and_then(|a| Path::new(a).file_name())
            .and_then(|f| f.to_str())
        else {
            continue;
        };
        let mentions_dir = args
            .iter()
            .any(|a| a == &dir || a.starts_with(&format!("{dir}/")));
        if !mentions_dir || !pid_alive(pid) {
            continue;
        }
        match program {
            "producer" => producers += 1,
            "broker" => brokers += 1,
            _ => {}
        }
    }
    (producers, brokers)
}

/// Threads of this process with the given name (e.g. `pipeline`: live consumers).
pub(crate) fn threads_named(name: &str) -> usize {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_checks() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
        assert!(!pid_alive(u32::MAX));
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        assert!(pid_alive(pid));
        terminate_child(&mut child, Duration::from_secs(1));
        assert!(!pid_alive(pid));
    }
}
