#!/usr/bin/env bash
# Runs every fuzz target for $1 seconds, one after the other (local use; scripts/test does not run it).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
for t in decode console_line html_escape dashboard; do
  echo "== fuzz $t for ${secs}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 -max_len=4096 2>&1 |
    grep -E "stat::|Done|ERROR|panicked|SUMMARY|INFO: seed corpus" || true
done
