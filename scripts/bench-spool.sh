#!/usr/bin/env bash
# Publishing throughput with the durable spool, for docs/performance.md:
# KafkaPublisher (examples/bench_publish.rs) into an in-process mock cluster,
# delivery confirmed, with no spool, a write-ahead spool fsynced every 10 ms,
# and one fsynced on every write (with 2 and with 32 concurrent publishers:
# group commit). Runs alternate; medians; ratios to "no spool".
# The spool lives under target/ (a real disk, not a tmpfs).
# Usage: scripts/bench-spool.sh [RUNS] [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
events=${2:-100000}
always_events=$((events / 5))
cargo build --release -q -p auditlog-kafka --example bench_publish
bench=target/release/examples/bench_publish
event=docs/samples/typical-event.json
export AUDITLOG_SIGNING_KEY=bench-key BENCH_SPOOL_DIR=target/bench-spool
mkdir -p "$BENCH_SPOOL_DIR"
rate() { sed 's/.*events_per_s=\([0-9]*\).*/\1/'; }
declare -A results
for run in $(seq "$runs"); do
  results[off]+="$("$bench" "$event" "$events" 2 | rate) "
  results[every10]+="$(BENCH_SPOOL=10 "$bench" "$event" "$events" 2 | rate) "
  results[always2]+="$(BENCH_SPOOL=always "$bench" "$event" "$always_events" 2 | rate) "
  results[always32]+="$(BENCH_SPOOL=always "$bench" "$event" "$always_events" 32 | rate) "
done
median() { python3 -c "import statistics,sys; print(round(statistics.median(map(int, sys.argv[1:]))))" $1; }
off=$(median "${results[off]}")
echo "runs: $runs; events: $events ($always_events with fsync always); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for what in off every10 always2 always32; do
  m=$(median "${results[$what]}")
  echo "$what: median $m events/s (runs: ${results[$what]}) ratio $(python3 -c "print(round($m / $off, 2))")"
done
