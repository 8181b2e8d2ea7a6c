#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f bench/run.mjs ]; then exec node bench/run.mjs "$@"; fi
echo "bench: bench/run.mjs is missing"
