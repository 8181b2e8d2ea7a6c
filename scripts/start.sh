#!/usr/bin/env bash
# The demo: builds the package if needed, then runs the reference sync server, which also serves
# the offline-first PWA, on http://localhost:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/datacollect.wasm ] || bash scripts/build.sh wasm
exec node web/server/cli.js "$@"
