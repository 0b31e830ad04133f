#!/usr/bin/env bash
# How fast reading one published line can be: our parser against serde_json
# and simd-json on the typical event's sealed line (982 bytes), beside the
# seal and its SHA-256+HMAC floor, one core, modes alternating, medians of the
# CPU time of the thread per line.
# The figures behind target 3 of issue 14 (`auditlog seal` >= 100x Python):
# see "The parse against other parsers" in docs/performance.md.
# Builds benches/parse-floor, a workspace of its own (simd-json is not a
# dependency of the main build).
# Usage: scripts/bench-parse-floor.sh [RUNS] [LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
lines=${2:-500000}
cargo build --release -q --manifest-path benches/parse-floor/Cargo.toml
bin=benches/parse-floor/target/release/auditlog-parse-floor
modes=(ours ours-fresh serde-owned serde-borrowed serde-syntax simd-tape seal sha-floor)
declare -A times
for _ in $(seq "$runs"); do
  for mode in "${modes[@]}"; do
    times[$mode]="${times[$mode]:-} $("$bin" "$mode" "$lines" | awk "{print \$2}")"
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# shellcheck disable=SC2086 # the figures are space-separated lists
ours=$(median ${times[ours]})
printf "%-15s %-40s %-8s %s\n" mode "CPU µs per line (runs)" median "÷ ours"
for mode in "${modes[@]}"; do
  # shellcheck disable=SC2086
  m=$(median ${times[$mode]})
  printf '%-15s %-40s %-8s %s\n' "$mode" "${times[$mode]# }" "$m" "$(python3 -c "print(round($m / $ours, 2))")"
done
echo "cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
