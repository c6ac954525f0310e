//! # Plumbing: processes, signals and files
//!
//! What keeps a classroom machine clean and the background programs honest:
//!
//! * [`state`]: the state directory where running pieces publish addresses, pids and logs.
//! * [`process`]: starting children without a shell, signalling them, and counting what
//!   still runs.
//! * [`signal`]: how a loop learns it must stop (signals, a handle, a dead parent), and
//!   the embedded broker's outage signals.
//! * [`binary`]: finding our helper programs, building them once if absent.
//! * [`command`]: running a command with a time bound (how the lab asks Docker).
//! * [`wait`]: waiting on a condition with a bound (never a fixed sleep).
//!
//! May use: the standard library, libc, signal-hook and [`crate::error`]; nothing about
//! streams or Kafka.

pub mod binary;
pub mod command;
pub mod process;
pub mod signal;
pub mod state;
pub mod wait;

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::{Error, Result};

/// Locks `m`, also when a thread panicked while holding it: every value we guard stays
/// valid between statements (counters, snapshots, child handles), so the data is still
/// worth reading, and a panic elsewhere must not cascade into every later call.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Checks a name that will reach a command line or a file name (a topic, a program):
/// Kafka's own rule, `[A-Za-z0-9._-]{1,249}`, and not `.` or `..`.
pub(crate) fn validate_name(what: &str, name: &str) -> Result<()> {
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
