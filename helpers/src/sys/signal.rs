//! Signals and shutdown: how a loop learns it must stop (SIGTERM/SIGINT, a handle's
//! `stop()`, or the parent process gone), and the embedded broker's outage signals.
//!
//! Handlers are registered through `signal-hook`, which only sets atomics in the handler
//! (the one thing a signal handler may safely do); loops poll them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1, SIGUSR2};

use crate::error::{Error, Result};
use crate::sys::process::pid_alive;

/// Set when SIGTERM or SIGINT arrives (once [`Shutdown::on_signals`] registered it): every
/// [`Shutdown`] of the process reads it.
static SIGNALLED: LazyLock<Arc<AtomicBool>> = LazyLock::new(Arc::default);

/// The last outage request received by signal: 0 none, 1 down (SIGUSR1), 2 up (SIGUSR2).
/// One value rather than two flags, so the last signal sent wins.
static OUTAGE: LazyLock<Arc<AtomicUsize>> = LazyLock::new(Arc::default);

/// What an outage signal asks of the embedded broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageRequest {
    /// SIGUSR1: take the brokers down (connections refused, data kept).
    Down,
    /// SIGUSR2: bring them back.
    Up,
}

/// Makes SIGUSR1/SIGUSR2 request a broker outage / recovery (the `broker` program only).
pub fn on_outage_signals() -> std::io::Result<()> {
    signal_hook::flag::register_usize(SIGUSR1, Arc::clone(&OUTAGE), 1)?;
    signal_hook::flag::register_usize(SIGUSR2, Arc::clone(&OUTAGE), 2)?;
    Ok(())
}

/// Takes the pending outage request, if any.
pub(crate) fn take_outage_request() -> Option<OutageRequest> {
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
    pub fn on_signals() -> std::io::Result<()> {
        for sig in [SIGTERM, SIGINT] {
            signal_hook::flag::register(sig, Arc::clone(&SIGNALLED))?;
        }
        Ok(())
    }
}

/// Starts a thread that triggers `shutdown` when process `parent` is gone (checked every
/// 200 ms). Children call this with the `--parent-pid` they were given, so a killed kernel
/// never leaves them behind.
pub(crate) fn exit_with_parent(parent: u32, shutdown: Shutdown) -> Result<()> {
    std::thread::Builder::new()
        .name("parent-watch".into())
        .spawn(move || loop {
            // A child is re-parented (to init or a subreaper) when its parent dies.
            if std::os::unix::process::parent_id() != parent || !pid_alive(parent) {
                shutdown.trigger();
                // The parent is gone (a killed kernel, say): nobody waits for a clean
                // ending. If the main loop has not stopped within 2 s, stop hard.
                std::thread::sleep(Duration::from_secs(2));
                std::process::exit(3);
            }
            std::thread::sleep(Duration::from_millis(200));
        })
        .map(drop)
        .map_err(|e| Error::os("cannot start the parent-watch thread", e))
}

/// What every background program does first: logs to stderr (`RUST_LOG` filters them),
/// SIGTERM/SIGINT stop it cleanly, and, given `--parent-pid`, it exits with its parent.
/// Returns the shutdown signal its main loop watches.
pub fn start_program(parent_pid: Option<u32>) -> Result<Shutdown> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let shutdown = Shutdown::new();
    Shutdown::on_signals().map_err(|e| Error::os("cannot install the signal handlers", e))?;
    if let Some(parent) = parent_pid {
        exit_with_parent(parent, shutdown.clone())?;
    }
    Ok(shutdown)
}
