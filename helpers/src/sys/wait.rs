//! Waiting on a condition with a bound: the one loop every "is it ready yet?" uses.
//!
//! Nothing in this crate sleeps a fixed time hoping something happened; it polls the
//! condition itself, at a short interval, until it holds or the bound passes.

use std::time::{Duration, Instant};

/// Calls `check` every `every` until it returns `Some`, or until `bound` has passed (it is
/// always called at least once, and once more at the bound). Returns what it returned.
pub fn poll<T>(
    bound: Duration,
    every: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now().checked_add(bound);
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        let left = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => every,
        };
        if left.is_zero() {
            return None;
        }
        std::thread::sleep(every.min(left));
    }
}

/// Polls `cond` every `every` until it holds or `bound` passes; whether it held.
pub fn until(bound: Duration, every: Duration, mut cond: impl FnMut() -> bool) -> bool {
    poll(bound, every, || cond().then_some(())).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_as_soon_as_the_condition_holds() {
        let mut calls = 0;
        let got = poll(Duration::from_secs(10), Duration::from_millis(1), || {
            calls += 1;
            (calls == 3).then_some(calls)
        });
        assert_eq!(got, Some(3));
    }

    #[test]
    fn gives_up_at_the_bound_after_a_last_check() {
        let start = Instant::now();
        let mut calls = 0;
        assert!(!until(
            Duration::from_millis(30),
            Duration::from_millis(10),
            || {
                calls += 1;
                false
            }
        ));
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert!(calls >= 2, "{calls}");
        // A zero bound still checks once; an endless one does not overflow.
        assert!(until(Duration::ZERO, Duration::from_millis(1), || true));
        assert!(until(Duration::MAX, Duration::from_millis(1), || true));
    }
}
