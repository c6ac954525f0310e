//! Child processes: finding (or building) our binaries, starting them without a shell,
//! and making sure none outlives the notebook.
//!
//! Three rules keep a classroom machine clean:
//! 1. A child started by the library gets `--parent-pid <our pid>` and exits by itself
//!    when that process is gone ([`exit_with_parent`]): this covers a killed or restarted
//!    kernel, where no destructor runs.
//! 2. Handles kill their child on `Drop` and on `stop()`.
//! 3. Each kind of child records its pid in the state directory, so a new handle can stop
//!    an old one it never owned (re-running a cell never leaves two producers).
//!
//! Commands are argument vectors, never shell strings; names that reach a command line are
//! checked by [`validate_name`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Where the running pieces publish their addresses, pids, stats and logs.
///
/// `STREAM_DEMO_DIR` if set, else `<tmp>/streaming-demo-<uid>`.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STREAM_DEMO_DIR") {
        return PathBuf::from(dir);
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    std::env::temp_dir().join(format!("streaming-demo-{uid}"))
}

/// Creates `dir` (and parents) if needed.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create the state directory", dir, e))
}

/// Writes `contents` to `path` atomically (write to a temporary file, then rename), so a
/// reader never sees half a file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, contents).map_err(|e| Error::io("cannot write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io("cannot rename into place", path, e))
}

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
pub fn terminate_pid(pid: u32, grace: Duration) -> bool {
    if !pid_alive(pid) {
        return true;
    }
    signal(pid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !pid_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(pid, libc::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if !pid_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Stops a child we own: SIGTERM, wait up to `grace`, then SIGKILL; always reaps it.
pub fn terminate_child(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    signal(child.id(), libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Checks a name that will reach a command line or a file name (a topic, a program):
/// Kafka's own rule, `[A-Za-z0-9._-]{1,249}`, and not `.` or `..`.
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!("{name:?}"),
            "use 1 to 249 characters among letters, digits, `.`, `_` and `-`",
        ))
    }
}

/// A flag set when SIGTERM or SIGINT arrives, for the binaries' main loops.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// The last outage request received by signal: 0 none, 1 down (SIGUSR1), 2 up (SIGUSR2).
static OUTAGE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

extern "C" fn on_outage_down(_: libc::c_int) {
    OUTAGE.store(1, Ordering::SeqCst);
}

extern "C" fn on_outage_up(_: libc::c_int) {
    OUTAGE.store(2, Ordering::SeqCst);
}

/// What an outage signal asks of the embedded broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageRequest {
    /// SIGUSR1: take the brokers down (connections refused, data kept).
    Down,
    /// SIGUSR2: bring them back.
    Up,
}

/// Makes SIGUSR1/SIGUSR2 request a broker outage / recovery (the `broker` program only).
pub fn on_outage_signals() {
    // SAFETY: the handlers only store to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGUSR1,
            on_outage_down as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGUSR2,
            on_outage_up as *const () as libc::sighandler_t,
        );
    }
}

/// Takes the pending outage request, if any.
pub fn take_outage_request() -> Option<OutageRequest> {
    match OUTAGE.swap(0, Ordering::SeqCst) {
        1 => Some(OutageRequest::Down),
        2 => Some(OutageRequest::Up),
        _ => None,
    }
}

/// A shutdown signal shared by a loop and whoever may stop it.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Asks the loop to stop.
    pub fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether stop was asked (directly, or by SIGTERM/SIGINT once
    /// [`Shutdown::on_signals`] was called).
    pub fn is_triggered(&self) -> bool {
        self.0.load(Ordering::SeqCst) || SIGNALLED.load(Ordering::SeqCst)
    }

    /// Makes SIGTERM and SIGINT trigger every `Shutdown` of this process (binaries only).
    pub fn on_signals() {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
            libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// Starts a thread that triggers `shutdown` when process `parent` is gone (checked every
/// 200 ms). Children call this with the `--parent-pid` they were given, so a killed kernel
/// never leaves them behind.
pub fn exit_with_parent(parent: u32, shutdown: Shutdown) {
    std::thread::Builder::new()
        .name("parent-watch".into())
        .spawn(move || loop {
            // SAFETY: getppid has no preconditions.
            let ppid = unsafe { libc::getppid() } as u32;
            if ppid != parent || !pid_alive(parent) {
                shutdown.trigger();
                // The parent is gone (a killed kernel, say): nobody waits for a clean
                // ending. If the main loop has not stopped within 2 s, stop hard.
                std::thread::sleep(Duration::from_secs(2));
                std::process::exit(3);
            }
            std::thread::sleep(Duration::from_millis(200));
        })
        .expect("spawning a thread");
}

/// What every background program does first: logs to stderr (`RUST_LOG` filters them),
/// SIGTERM/SIGINT stop it cleanly, and, given `--parent-pid`, it exits with its parent.
/// Returns the shutdown signal its main loop watches.
pub fn start_program(parent_pid: Option<u32>) -> Shutdown {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let shutdown = Shutdown::new();
    Shutdown::on_signals();
    if let Some(parent) = parent_pid {
        exit_with_parent(parent, shutdown.clone());
    }
    shutdown
}

/// The directory of the `helpers` crate (where `cargo build` can rebuild the binaries).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Only one build of the binaries at a time in this process.
static BUILD_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Finds the helper binary `name` (`broker`, `producer`, ...), building it once if absent.
///
/// Looks in `HELPERS_BIN_DIR`, next to the running program (and its parent: where test
/// binaries live), then in the crate's `target/release` and `target/debug`. If none has it,
/// runs `cargo build --release --bins` once (a few minutes the first time) and says so on
/// stderr.
pub fn binary(name: &str) -> Result<PathBuf> {
    let build = std::env::var_os("HELPERS_NO_BUILD").is_none();
    find_binary(name, &search_dirs(), build)
}

/// Where [`binary`] looks, in order.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("HELPERS_BIN_DIR") {
        dirs.push(PathBuf::from(dir));
    }
    // Next to the running program, when it is itself a build product (a test or one of
    // our binaries): never an unrelated folder like ~/.cargo/bin.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            let named = |d: &Path, n: &[&str]| {
                d.file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| n.contains(&f))
            };
            if named(dir, &["debug", "release"]) {
                dirs.push(dir.to_path_buf());
            } else if named(dir, &["deps"]) {
                if let Some(up) = dir.parent() {
                    dirs.push(up.to_path_buf());
                }
            }
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir().join("target"));
    dirs.push(target.join("release"));
    dirs.push(target.join("debug"));
    dirs
}

/// Finds `name` in `dirs`; if absent and `build`, builds the binaries once (release).
pub fn find_binary(name: &str, dirs: &[PathBuf], build: bool) -> Result<PathBuf> {
    validate_name("binary", name)?;
    let find = |dirs: &[PathBuf]| dirs.iter().map(|d| d.join(name)).find(|p| p.is_file());
    if let Some(p) = find(dirs) {
        return Ok(p);
    }
    if !build {
        return Err(Error::MissingBinary {
            name: name.into(),
            hint: format!(
                "it is not built; run `cargo build --bins` in {}",
                crate_dir().display()
            ),
        });
    }
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = find(dirs) {
        return Ok(p);
    }
    eprintln!(
        "helpers: the `{name}` program is not built yet; building the helper programs \
         (cargo build --release --bins). The first time takes a few minutes..."
    );
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--bins", "--manifest-path"])
        .arg(crate_dir().join("Cargo.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Error::MissingBinary {
            name: name.into(),
            hint: format!("running cargo failed ({e}); install Rust from rustup.rs"),
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        return Err(Error::MissingBinary {
            name: name.into(),
            hint: format!(
                "`cargo build --release --bins` in {} failed: {}",
                crate_dir().display(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        });
    }
    find(dirs).ok_or_else(|| Error::MissingBinary {
        name: name.into(),
        hint: "the build succeeded but the program is not in target/release".into(),
    })
}

/// Starts `program` with `args`, stdin closed, stdout and stderr to `log` (never to the
/// notebook's pipe), and `--parent-pid` so it dies with us.
pub fn spawn_child(program: &Path, args: &[String], log: &Path) -> Result<Child> {
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

/// Reads a pid file (`<state>/<name>.pid`); `None` if absent, unreadable or dead.
pub fn read_live_pid(path: &Path) -> Option<u32> {
    let pid: u32 = fs::read_to_string(path).ok()?.trim().parse().ok()?;
    pid_alive(pid).then_some(pid)
}

/// How many of our programs run from `state_dir`: `(producers, embedded brokers)`, found
/// by their command lines (what a clean-up check or a re-run check counts).
pub fn running_programs(state_dir: &Path) -> (usize, usize) {
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
pub fn threads_named(name: &str) -> usize {
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
    fn names_that_reach_a_command_line_are_checked() {
        for ok in ["tweets_topic", "a", "health-check.1", &"x".repeat(249)] {
            assert!(validate_name("topic", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a b",
            "a;rm -rf",
            "$(x)",
            "tópico",
            "a/b",
            &"x".repeat(250),
        ] {
            let e = validate_name("topic", bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid setting topic"), "{e}");
        }
    }

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
