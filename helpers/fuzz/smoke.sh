#!/usr/bin/env bash
# A fuzz smoke test, for local use (scripts/test does not run it: it needs cargo-fuzz;
# `cargo test` replays every committed corpus input through its target's oracle instead,
# tests/it/fuzz_corpora.rs). Each target replays its corpus
# (helpers/fuzz/corpus/<target>/), then fuzzes for $FUZZ_SMOKE_SECS seconds (default 10).
# Quick to build: the dev profile, no sanitizer (`-s none`; overflow checks stay on).
# cargo-fuzz needs nightly features: RUSTC_BOOTSTRAP=1 lets the stable compiler use them.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SMOKE_SECS:-10}
targets=(decode console_line html_escape dashboard)
export RUSTC_BOOTSTRAP=1
cargo fuzz build --dev -s none
for t in "${targets[@]}"; do
  echo "== fuzz smoke: $t ($(ls "fuzz/corpus/$t" | wc -l) corpus inputs, then ${secs}s)"
  # A copy of the corpus to grow, so the one in the repository stays as committed.
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$t/." "$work/"
  log="$work.log"
  if ! cargo fuzz run --dev -s none "$t" "$work" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz target $t failed: the input is in helpers/fuzz/artifacts/$t/"
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)|^INFO: seed corpus' "$log" || true
  rm -rf "$work" "$log"
done
