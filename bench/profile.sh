#!/usr/bin/env bash
# Instruction counts (callgrind: repeatable on a loaded, shared machine) for the two native paths
# that decide most targets: submitForm into a memory store, and opening a directory store.
# Usage: bench/profile.sh [events=1000]   (needs valgrind and build/h-bench/bench/native_bench)
# Prints instructions per event and the top inclusive functions; keeps the callgrind files in
# bench/results/profile/ (git-ignored) for callgrind_annotate / kcachegrind.
set -eu
cd "$(dirname "$0")/.."
n="${1:-1000}"
bin="${DC_NATIVE_BENCH:-build/h-bench/bench/native_bench}"
out=bench/results/profile
mkdir -p "$out"
for what in submit open; do
  case $what in
    submit) fn='profiledSubmits' ;;
    open) fn='profiledOpen' ;;
  esac
  file="$out/callgrind.$what.out"
  nice valgrind --tool=callgrind --callgrind-out-file="$file" "--toggle-collect=*${fn}*" \
    "$bin" --sizes "$n" --only "$what-profile" >/dev/null 2>"$out/callgrind.$what.log"
  total=$(grep -E '^(summary|totals):' "$file" | head -1 | awk '{print $2}')
  echo "## $what: $total instructions for $n events = $((total / n)) per event"
  callgrind_annotate --inclusive=yes "$file" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | sed -n '2,40p' |
    grep -vE 'libc-start|below main|ld-linux|::main|profiled|Engine::open' | head -22 |
    sed -E 's/nlohmann::json_abi_v3_11_2::basic_json<[^ ]*/json/g; s/std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >/string/g' | cut -c1-160 || true
  echo
done
