#!/usr/bin/env bash
# Builds the native tree (core, sync, Catch2 tests, benchmarks) and the wasm tree (same core and
# tests as wasm, plus the npm package's module in dist/). Usage: build.sh [native|wasm|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
jobs="${JOBS:-$(nproc)}"
export NODE_PATH=/usr/share/nodejs  # acorn for Emscripten 3.1.6 (docs/toolchain.md, 'acorn and NODE_PATH')

if [[ "$what" == all || "$what" == native ]]; then
  cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/native -j "$jobs"
fi
if [[ "$what" == all || "$what" == wasm ]]; then
  cmake -S . -B build/wasm -DCMAKE_TOOLCHAIN_FILE="$PWD/emsdk-toolchain.cmake" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/wasm -j "$jobs"
  if [ -f scripts/size-report.mjs ] && [ -f dist/datacollect.wasm ]; then node scripts/size-report.mjs; fi
fi
