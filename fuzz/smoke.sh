#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS (default 10) each. Needs nightly and cargo-fuzz;
# without them it says so and exits 0 (the stable proptest smoke runs in `cargo test`).
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-10}"
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz smoke skipped: no nightly toolchain"; exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz smoke skipped: cargo-fuzz is not installed (cargo install cargo-fuzz)"; exit 0
fi
for target in $(cargo +nightly fuzz list); do
  echo "== $target (${SECONDS_EACH}s)"
  cargo +nightly fuzz run "$target" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048
done
