#!/usr/bin/env bash
# Runs every test suite: Catch2 natively and as wasm (ctest), then the Node suites (package,
# server), then the browser suite in headless Chromium. Runs them all; fails if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=/usr/share/nodejs

bash scripts/build.sh all || { echo "build failed"; exit 1; }

status=0
run() { echo; echo "=== $1"; shift; "$@" || status=1; }

run "C++ core and sync, native (ctest)" ctest --test-dir build/native --output-on-failure
run "C++ core and sync, wasm under Node (ctest)" ctest --test-dir build/wasm --output-on-failure
for suite in js server browser bundlers; do
  files=$(ls tests/$suite/*.test.mjs 2>/dev/null || true)
  [ -n "$files" ] || continue
  if [ $suite = server ]; then
    # The whole server suite runs on both storage back-ends; PostgreSQL is a private cluster that
    # scripts/with-postgres.sh starts on a random port and removes afterwards.
    run "Node: tests/server on SQLite" env DC_TEST_DATABASE=sqlite node --test --test-concurrency=1 $files
    run "Node: tests/server on PostgreSQL" bash scripts/with-postgres.sh \
      env DC_TEST_DATABASE=postgres node --test --test-concurrency=1 $files
  else
    run "Node: tests/$suite" node --test --test-concurrency=1 $files
  fi
done
echo
if [ $status = 0 ]; then echo "all suites passed"; else echo "SOME SUITES FAILED"; fi
exit $status
