#!/usr/bin/env bash
# The benchmarks: bench/run.mjs (the main suite), then bench/watch_bench.mjs (live queries and
# paged reads at 100,000 entities; 10,000 with --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
for arg in "$@"; do [[ "$arg" == --quick ]] && quick=(--quick); done
status=0
if [ -f bench/run.mjs ]; then node bench/run.mjs "$@" || status=$?; fi
node bench/watch_bench.mjs "${quick[@]}" || status=$?
exit $status
