#!/bin/sh
# The Rust kernel of a JupyterHub student: scripts/hub writes it, from
# scripts/hub-kernel.sh, to .hub/bin/rust-kernel, which the hub's kernel spec starts.
# It runs as the student, with the toolchain and crates set up once for everyone, and
# gives the student a build folder of their own whose compiled dependencies are links to
# the one build made by `scripts/hub install`: the first `:dep` compiles only the
# student's own cells.
set -eu
export PATH="@HUB_DIR@/rust/bin:@HUB_DIR@/bin:$PATH"
# The crates' sources of the shared build, at the path it was built with (scripts/kernel_env);
# students only read them: nothing is downloaded.
export CARGO_HOME="@REPO@/.cargo-home" CARGO_NET_OFFLINE=true
# The helper programs link Rust's standard library from the toolchain they were built
# with; the students' copy of it is here.
export LD_LIBRARY_PATH="@HUB_DIR@/rust/lib/rustlib/@HOST@/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export HELPERS_BIN_DIR="@BIN_DIR@"
build="$HOME/.stream-demo/evcxr-build"
seed="@SEED@"
# A new build folder when the shared build changed (scripts/hub install writes .warm).
if ! cmp -s "@HUB_DIR@/.warm" "$build/.seed" 2>/dev/null; then
  rm -rf "$build"
  mkdir -p "$build/target/@HOST@/debug" "$build/target/debug"
  chmod 700 "$HOME/.stream-demo"
  for d in "@HOST@/debug" debug; do
    for sub in deps build .fingerprint; do
      if [ -d "$seed/$d/$sub" ]; then
        cp -as "$seed/$d/$sub" "$build/target/$d/"
      fi
    done
  done
  # The kernel's own crate (ctx) is each student's: compiled again, never linked.
  rm -rf "$build/target/@HOST@/debug/.fingerprint"/ctx-* "$build/target/@HOST@/debug/deps/ctx.d" \
    "$build/target/@HOST@/debug/deps/libctx.so"
  cp "@HUB_DIR@/.warm" "$build/.seed"
fi
export EVCXR_TMPDIR="$build"
# The kernel ends with its Jupyter server, however that ends (the hub stops a server with
# SIGINT, then SIGTERM, then SIGKILL, and evcxr does not watch its parent as Python's
# kernel does): its programs then end with it (they watch the kernel).
exec setpriv --pdeathsig TERM -- evcxr_jupyter --control_file "$1"
