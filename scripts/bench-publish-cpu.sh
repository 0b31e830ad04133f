#!/usr/bin/env bash
# CPU per event of the publish pipeline, for docs/performance.md ("Kafka
# publishing"): user+system CPU (/usr/bin/time -f "%U %S") per event of
#   seal     auditlog seal < raw > sealed
#   kcat     kcat -P of the sealed lines (its defaults, and with the
#            publisher's settings: idempotence, acks=all, lz4, linger 5 ms)
#   publish  auditlog publish < raw (parse, seal, produce, deliveries awaited)
# each against librdkafka's mock cluster in its own process
# (-X test.mock.num.brokers=1), on EVENTS typical events with distinct ids.
# Runs alternate; medians of RUNS. The target: publish <= seal + kcat.
# AUDITLOG_OLD_BIN=PATH adds `publish` of another build, alternating too.
# Usage: scripts/bench-publish-cpu.sh [RUNS] [EVENTS]   (needs kcat: apt-get install kcat)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
events=${2:-200000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
auditlog=${AUDITLOG_BIN:-target/release/auditlog}
[ -n "${AUDITLOG_BIN:-}" ] || cargo build --release -q -p auditlog-cli
export AUDITLOG_SIGNING_KEY=bench-key

python3 - "$work/raw.jsonl" "$events" docs/samples/typical-event.json <<'PY'
import json, sys, uuid
event = json.load(open(sys.argv[3]))
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        event["id"] = str(uuid.UUID(int=i)); event["transactionid"] = f"txn-{i}"
        f.write(json.dumps(event, separators=(",", ":")) + "\n")
PY

# cpu COMMAND... -> CPU µs per event (user + system).
cpu() {
  /usr/bin/time -f "%U %S" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  python3 -c "u, s = map(float, open('$work/time').read().split()[-2:]); print(f'{(u + s) * 1e6 / $events:.2f}')"
}
declare -A results
results[old]=
for run in $(seq "$runs"); do
  results[seal]+="$(cpu sh -c "\"$auditlog\" seal < \"$work/raw.jsonl\" > \"$work/sealed.jsonl\"") "
  results[kcat]+="$(cpu kcat -P -b localhost:9092 -X test.mock.num.brokers=1 -t audit-logs -l "$work/sealed.jsonl") "
  results[kcat_settings]+="$(cpu kcat -P -b localhost:9092 -X test.mock.num.brokers=1 -X enable.idempotence=true \
    -X acks=all -z lz4 -X linger.ms=5 -t audit-logs -l "$work/sealed.jsonl") "
  results[publish]+="$(cpu sh -c "\"$auditlog\" publish -X test.mock.num.brokers=1 < \"$work/raw.jsonl\"") "
  if [ -n "${AUDITLOG_OLD_BIN:-}" ]; then
    results[old]+="$(cpu sh -c "\"$AUDITLOG_OLD_BIN\" publish -X test.mock.num.brokers=1 < \"$work/raw.jsonl\"") "
  fi
  echo "run $run (µs/event): seal ${results[seal]} | kcat ${results[kcat]} | kcat, settings ${results[kcat_settings]} | publish ${results[publish]}"
done
echo "events: $events; runs: $runs; $(nproc) cores; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "${results[seal]}" "${results[kcat]}" "${results[kcat_settings]}" "${results[publish]}" "${results[old]:-}" <<'PY'
import statistics, sys
seal, kcat, kcat_s, publish, old = (list(map(float, a.split())) for a in sys.argv[1:])
m = statistics.median
print("| what | CPU µs/event (median) | runs |")
print("|---|---|---|")
for name, xs in [("auditlog seal", seal), ("kcat -P, defaults", kcat),
                 ("kcat -P, the publisher's settings", kcat_s), ("auditlog publish", publish)] \
        + ([("auditlog publish, AUDITLOG_OLD_BIN", old)] if old else []):
    print(f"| {name} | {m(xs):.2f} | {' '.join(f'{x:.2f}' for x in xs)} |")
r1 = [p / (s + k) for p, s, k in zip(publish, seal, kcat)]
r2 = [p / (s + k) for p, s, k in zip(publish, seal, kcat_s)]
print(f"| publish / (seal + kcat defaults) | **{m(r1):.2f}** | {' '.join(f'{x:.2f}' for x in r1)} |")
print(f"| publish / (seal + kcat, publisher's settings) | **{m(r2):.2f}** | {' '.join(f'{x:.2f}' for x in r2)} |")
PY
