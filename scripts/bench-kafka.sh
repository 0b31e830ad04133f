#!/usr/bin/env bash
# Kafka publishing figures for docs/performance.md, measured in one run:
#  - auditlog-kafka's KafkaPublisher (examples/bench_publish.rs): typical events
#    sealed and published to an in-process single-broker mock cluster, delivery
#    confirmed (shutdown waits for every acknowledgement); events built before
#    the clock starts ("publisher") and built as it goes ("with building");
#  - `auditlog publish -X test.mock.num.brokers=1` over JSON lines (parse, seal,
#    publish);
#  - `kcat -P -X test.mock.num.brokers=1` producing the same already-sealed
#    lines to its own mock cluster, with its defaults and with the publisher's
#    settings (idempotence, acks=all, lz4, linger 5 ms);
#  runs alternate; medians and ratios to kcat. Then peak memory (RSS) for
#  1,000,000 events at two queue capacities.
# Usage: scripts/bench-kafka.sh [RUNS] [EVENTS]   (needs kcat: apt-get install kcat)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
events=${2:-200000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
event=docs/samples/typical-event.json

cargo build --release -q -p auditlog-kafka --example bench_publish
cargo build --release -q -p auditlog-cli
bench=target/release/examples/bench_publish
auditlog=target/release/auditlog

python3 - "$work/raw.jsonl" "$events" "$event" <<'PY'
import json, sys, uuid
event = json.load(open(sys.argv[3]))
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        event["id"] = str(uuid.UUID(int=i)); event["transactionid"] = f"txn-{i}"
        f.write(json.dumps(event, separators=(",", ":")) + "\n")
PY
AUDITLOG_SIGNING_KEY=bench-key "$auditlog" seal < "$work/raw.jsonl" > "$work/sealed.jsonl" 2>/dev/null

now() { date +%s.%N; }
rate() { python3 -c "print(round($1 / ($3 - $2)))"; }
declare -A results
record() { results[$1]+="$2 "; }

for run in $(seq "$runs"); do
  r=$(AUDITLOG_SIGNING_KEY=bench-key BENCH_PREBUILT=1 "$bench" "$event" "$events" 2 | sed 's/.*events_per_s=\([0-9]*\).*/\1/')
  record publisher "$r"
  r=$(AUDITLOG_SIGNING_KEY=bench-key "$bench" "$event" "$events" 2 | sed 's/.*events_per_s=\([0-9]*\).*/\1/')
  record building "$r"
  t0=$(now); kcat -P -b localhost:9092 -X test.mock.num.brokers=1 -t audit-logs -l "$work/sealed.jsonl" 2>/dev/null; t1=$(now)
  record kcat "$(rate "$events" "$t0" "$t1")"
  t0=$(now); kcat -P -b localhost:9092 -X test.mock.num.brokers=1 -X enable.idempotence=true -X acks=all -z lz4 -X linger.ms=5 \
    -t audit-logs -l "$work/sealed.jsonl" 2>/dev/null; t1=$(now)
  record kcat_settings "$(rate "$events" "$t0" "$t1")"
  t0=$(now); AUDITLOG_SIGNING_KEY=bench-key "$auditlog" publish -X test.mock.num.brokers=1 < "$work/sealed.jsonl" 2>/dev/null; t1=$(now)
  record cli "$(rate "$events" "$t0" "$t1")"
  echo "run $run: publisher ${results[publisher]##* } ..." >/dev/null
done

median() { python3 -c "import statistics,sys; print(round(statistics.median(map(int, sys.argv[1:]))))" $1; }
kcat_median=$(median "${results[kcat]}")
echo "events per run: $events; runs: $runs; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-52s %12s %s\n' "method" "median ev/s" "ratio to kcat -P (defaults)"
for name in publisher building cli kcat_settings kcat; do
  m=$(median "${results[$name]}")
  printf '%-52s %12s %s   (runs: %s)\n' "$name" "$m" "$(python3 -c "print(f'{$m / $kcat_median:.2f}x')")" "${results[$name]}"
done

echo "peak memory, 1,000,000 events built as they go (RSS):"
for capacity in 50000 5000; do
  rss=$( { AUDITLOG_KAFKA_BENCH_CAPACITY=$capacity /usr/bin/time -v "$bench" "$event" 1000000 2 >/dev/null; } 2>&1 \
    | sed -n 's/.*Maximum resident set size (kbytes): //p')
  echo "  capacity $capacity: $((rss / 1024)) MiB"
done
rss=$( { /usr/bin/time -v "$bench" "$event" 100000 2 >/dev/null; } 2>&1 | sed -n 's/.*Maximum resident set size (kbytes): //p')
echo "  capacity 50000, 100,000 events: $((rss / 1024)) MiB"
