//! Running a command (an argument vector, never a shell) with a time bound, reading both
//! of its pipes while it runs: how the lab asks Docker questions.

use std::fmt;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::sys::wait::poll;

/// Why a command run by [`run_bounded`] gave no output.
#[derive(Debug)]
pub enum CommandError {
    /// The program could not be started (not installed, not executable).
    CannotRun(String),
    /// It did not finish within its bound (it was killed).
    TimedOut(String),
    /// It ran and failed: the last line of its standard error.
    Failed(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::CannotRun(s) | CommandError::TimedOut(s) | CommandError::Failed(s) => {
                f.write_str(s)
            }
        }
    }
}

/// Reads a child's pipe to its end on a thread of its own, so a chatty child never blocks
/// on a full pipe while we wait for it.
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

/// Runs a command (argument vector, no shell) with a time bound; returns its standard
/// output. Both pipes are read while it runs.
pub fn run_bounded(
    program: &str,
    args: &[&str],
    bound: Duration,
) -> std::result::Result<String, CommandError> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CommandError::CannotRun(format!("`{program}` cannot be run ({e})")))?;
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let finished = poll(bound, Duration::from_millis(50), || {
        child.try_wait().ok().flatten()
    });
    let Some(status) = finished else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(CommandError::TimedOut(format!(
            "`{program} {}` did not finish within {} s",
            args.join(" "),
            bound.as_secs()
        )));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if status.success() {
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&err);
        let last = err.lines().rev().find(|l| !l.trim().is_empty());
        Err(CommandError::Failed(
            last.unwrap_or("failed").trim().to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_errors_say_what_happened() {
        let bound = Duration::from_secs(5);
        assert!(matches!(
            run_bounded("/nonexistent/program", &[], bound),
            Err(CommandError::CannotRun(_))
        ));
        match run_bounded(
            "sh",
            &["-c", "echo first >&2; echo 'last words' >&2; exit 3"],
            bound,
        ) {
            Err(CommandError::Failed(e)) => assert_eq!(e, "last words"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            run_bounded("sleep", &["5"], Duration::from_millis(200)),
            Err(CommandError::TimedOut(_))
        ));
    }
}
