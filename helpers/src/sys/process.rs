//! Child processes: starting them without a shell, signalling them, and making sure none
//! outlives the notebook.
//!
//! Three rules keep a classroom machine clean:
//! 1. A child started by the library gets `--parent-pid <our pid>` and exits by itself
//!    when that process is gone (`sys::signal::exit_with_parent`): this covers a
//!    killed or restarted kernel, where no destructor runs. Under evcxr, our process
//!    exits in turn when the kernel's is gone, even in the middle of a cell.
//! 2. Handles kill their child on `Drop` and on `stop()`.
//! 3. Each kind of child records its pid in the state directory, so a new handle can stop
//!    an old one it never owned (re-running a cell never leaves two producers).
//!
//! Commands are argument vectors, never shell strings; names that reach a command line are
//! checked by `kafka::client::validate_name`.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

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

/// A process we started, as recorded in a pid file or in `broker.json`: its pid, when it
/// started and its program name. A pid alone is not enough: once the process ends, the
/// system can give its number to any other process, and a stale pid file would make us
/// signal that one. The start time (field 22 of `/proc/<pid>/stat`, in clock ticks since
/// boot) tells a reused pid apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// The process id.
    pub pid: u32,
    /// When it started, in clock ticks since boot.
    pub start_time: u64,
    /// Its program name (`/proc/<pid>/comm`, e.g. `producer`).
    pub program: String,
}

impl ProcessRecord {
    /// The record of the running process `pid` (`None` if it is gone), if its program name
    /// is `program`.
    pub fn of(pid: u32, program: &str) -> Option<ProcessRecord> {
        let record = ProcessRecord {
            pid,
            start_time: start_time(pid)?,
            program: program.to_string(),
        };
        record.is_running().then_some(record)
    }

    /// The record of this process (what a pid file written by us names).
    pub fn current() -> Option<ProcessRecord> {
        let pid = std::process::id();
        ProcessRecord::of(pid, &program_name(pid)?)
    }

    /// Whether the recorded process still runs: the pid is alive, started at the recorded
    /// time, and runs the recorded program.
    pub fn is_running(&self) -> bool {
        pid_alive(self.pid)
            && start_time(self.pid) == Some(self.start_time)
            && program_name(self.pid).is_some_and(|p| same_program(&p, &self.program))
    }
}

/// The start time of `pid` (field 22 of `/proc/<pid>/stat`, clock ticks since boot).
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let (_, rest) = stat.rsplit_once(')')?;
    // `rest` starts with field 3 (the state), so field 22 is its 20th word.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The program name of `pid` (`/proc/<pid>/comm`).
fn program_name(pid: u32) -> Option<String> {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim_end_matches('\n').to_string())
}

/// Whether a `comm` name is `program`'s (the kernel keeps 15 bytes of it).
fn same_program(comm: &str, program: &str) -> bool {
    comm.as_bytes() == &program.as_bytes()[..program.len().min(15)]
}

/// Signals the recorded process if, and only if, it is still the one recorded; true if the
/// signal was delivered.
pub(crate) fn signal_recorded(record: &ProcessRecord, sig: i32) -> bool {
    record.is_running() && signal(record.pid, sig)
}

/// Stops the recorded process (SIGTERM, wait up to `grace`, then SIGKILL), only while it is
/// the one recorded: a pid reused by another process is left alone. True once it is gone
/// (or was never ours).
pub(crate) fn terminate_recorded(record: &ProcessRecord, grace: Duration) -> bool {
    if !signal_recorded(record, libc::SIGTERM) {
        return true;
    }
    let gone = || !record.is_running();
    if until(grace, Duration::from_millis(20), gone) {
        return true;
    }
    signal_recorded(record, libc::SIGKILL);
    until(Duration::from_secs(2), Duration::from_millis(10), gone)
}

/// Sends `signal` to `pid`; true if it was delivered.
pub fn signal(pid: u32, signal: i32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: plain kill(2) on a positive pid.
    unsafe { libc::kill(pid as i32, signal) == 0 }
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

/// Under evcxr our code runs in a child of the kernel's process (evcxr's runtime), which
/// ends with the kernel only when it next reads a command: a cell still running (a stream
/// being watched) kept it, and so the programs it started, alive after the kernel had gone
/// (a hub stopping a student's server). So the first program started here also starts a
/// watch: once the kernel's process is gone, this process exits, and its programs follow
/// (rule 1 above). Outside evcxr's runtime (`EVCXR_IS_RUNTIME`) it does nothing.
fn exit_with_the_kernel() {
    static WATCH: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("EVCXR_IS_RUNTIME").is_none() {
        return;
    }
    WATCH.call_once(|| {
        let kernel = std::os::unix::process::parent_id();
        let _ = std::thread::Builder::new()
            .name("kernel-watch".into())
            .spawn(move || loop {
                // Re-parented (to init or a subreaper): the kernel's process is gone.
                if std::os::unix::process::parent_id() != kernel {
                    std::process::exit(3);
                }
                std::thread::sleep(Duration::from_millis(500));
            });
    });
}

/// Starts `program` with `args`, stdin closed, stdout and stderr to `log` (never to the
/// notebook's pipe), and `--parent-pid` so it dies with us.
pub(crate) fn spawn_child(program: &Path, args: &[OsString], log: &Path) -> Result<Child> {
    exit_with_the_kernel();
    let out = crate::sys::state::open_log(log)?;
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

/// Starts `cmd` as a child that never outlives this thread: stdin closed, stdout and
/// stderr appended to `log` (or dropped), and a parent-death signal (see
/// [`never_outlive_me`]). For the brokers the `broker` program hosts (Tansu, Apache Kafka's
/// JVMs). `what` names it in errors.
pub(crate) fn spawn_supervised(mut cmd: Command, log: Option<&Path>, what: &str) -> Result<Child> {
    match log {
        Some(path) => {
            let out = crate::sys::state::open_log(path)?;
            let err = out
                .try_clone()
                .map_err(|e| Error::io(&format!("cannot open {what}'s log"), path, e))?;
            cmd.stdout(out).stderr(err);
        }
        None => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    never_outlive_me(&mut cmd);
    let program = cmd.get_program().to_owned();
    cmd.spawn()
        .map_err(|e| Error::io(&format!("cannot start {what}"), Path::new(&program), e))
}

/// Makes the child `cmd` starts never outlive the thread that starts it: stdin closed, and
/// the kernel sends it SIGKILL when that thread ends, however it ends (PR_SET_PDEATHSIG).
pub(crate) fn never_outlive_me(cmd: &mut Command) {
    cmd.stdin(Stdio::null());
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches only the child.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A TCP port on 127.0.0.1 that is free now (the OS picks it; we release it for a child).
pub(crate) fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::os("cannot find a free port on 127.0.0.1", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::os("cannot find a free port on 127.0.0.1", e))
}

/// How many of our programs run from `state_dir`: `(producers, embedded brokers)`, found
/// by their command lines (what a clean-up check or a re-run check counts).
pub(crate) fn running_programs(state_dir: &Path) -> (usize, usize) {
    let dir = state_dir.as_os_str().as_bytes();
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
        // Compared as bytes: a folder's name need not be UTF-8.
        let args: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
        let Some(program) = args
            .first()
            .and_then(|a| Path::new(OsStr::from_bytes(a)).file_name())
            .and_then(|f| f.to_str())
        else {
            continue;
        };
        let mentions_dir = args
            .iter()
            .any(|a| *a == dir || (a.starts_with(dir) && a.get(dir.len()) == Some(&b'/')));
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

/// Reads a pid file (`<state>/<name>.pid`, a [`ProcessRecord`] as JSON): the record if
/// that process still runs. `None` if absent, unreadable, in the old format (a bare pid,
/// which cannot tell a reused pid apart), or if the process is gone or is another one.
pub(crate) fn read_live_record(path: &Path) -> Option<ProcessRecord> {
    let rec: ProcessRecord = serde_json::from_slice(&crate::sys::state::read(path).ok()?).ok()?;
    rec.is_running().then_some(rec)
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

    #[test]
    fn a_record_names_one_process_and_no_other() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        let rec = ProcessRecord::of(pid, "sleep").expect("a running sleep");
        assert!(rec.is_running());
        assert!(
            ProcessRecord::of(pid, "producer").is_none(),
            "another program"
        );
        // The same pid with another start time (a reused pid) or program is not ours.
        for other in [
            ProcessRecord {
                start_time: rec.start_time + 1,
                ..rec.clone()
            },
            ProcessRecord {
                program: "producer".into(),
                ..rec.clone()
            },
        ] {
            assert!(!other.is_running());
            assert!(!signal_recorded(&other, libc::SIGKILL));
            assert!(terminate_recorded(&other, Duration::from_millis(100)));
            assert!(pid_alive(pid), "a process that is not ours was signalled");
        }
        assert!(terminate_recorded(&rec, Duration::from_secs(2)));
        let _ = child.wait();
        assert!(!rec.is_running());
        assert!(same_program("a-very-long-pro", "a-very-long-program-name"));
    }
}
