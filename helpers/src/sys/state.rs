//! The state directory: where the running pieces publish their addresses, pids, stats
//! and logs (`<tmp>/streaming-demo-<uid>`, or `STREAM_DEMO_DIR`), and how files there are
//! written so a reader never sees half of one.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::settings::Environment;
use crate::sys::process::pid_alive;

/// Where the running pieces publish their addresses, pids, stats and logs.
///
/// `STREAM_DEMO_DIR` if set, else `<tmp>/streaming-demo-<uid>`.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = Environment::current().state_dir {
        return dir;
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    std::env::temp_dir().join(format!("streaming-demo-{uid}"))
}

/// Creates `dir` (and parents) if needed.
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create the state directory", dir, e))
}

/// Writes `contents` to `path` atomically (write to a temporary file, then rename), so a
/// reader never sees half a file.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, contents).map_err(|e| Error::io("cannot write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io("cannot rename into place", path, e))
}

/// Reads a pid file (`<state>/<name>.pid`); `None` if absent, unreadable or dead.
pub(crate) fn read_live_pid(path: &Path) -> Option<u32> {
    let pid: u32 = fs::read_to_string(path).ok()?.trim().parse().ok()?;
    pid_alive(pid).then_some(pid)
}
