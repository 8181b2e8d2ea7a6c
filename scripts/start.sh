#!/usr/bin/env bash
# The demo: builds the package if needed, then runs the reference sync server, which also serves
# the offline-first PWA, on http://localhost:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/datacollect.wasm ] || bash scripts/build.sh wasm
# --seed-demo: the demo account (demo@example.org / demo-password) is created if it does not
# exist; the plain server command (npm run server) creates no account.
exec node web/server/cli.js --seed-demo "$@"
