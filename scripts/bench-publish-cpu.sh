#!/usr/bin/env bash
# CPU per event of the publish pipeline, for docs/performance.md ("Kafka
# publishing"): user+system CPU (/usr/bin/time -f "%U %S") per event of
#   seal     auditlog seal < raw > sealed
#   kcat     kcat -P of the sealed lines (its defaults, and with the
#            publisher's settings: idempotence, acks=all, lz4, linger 5 ms)
#   kcat, headers   the same with what `publish` adds to each message: the
#            five CloudEvents headers (-H, static values of the typical
#            event's lengths) and the tenant as key (-K) — a row of its own,
#            so the headers' share shows; the target's ratio is against
#            plain kcat
#   publish  auditlog publish < raw (parse, seal, produce, deliveries awaited)
#   publish, no compression   the same with -X compression.type=none, as
#            kcat's defaults send (publish's default is lz4)
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
# The sealed lines with the tenant as key, for `kcat -K` (a tab between).
"$auditlog" seal < "$work/raw.jsonl" > "$work/sealed.jsonl"
python3 - "$work/sealed.jsonl" "$work/keyed.jsonl" <<'PY'
import json, sys
with open(sys.argv[1]) as lines, open(sys.argv[2], "w") as keyed:
    for line in lines:
        keyed.write(json.loads(line)["tenantid"] + "\t" + line)
PY
# -H name=value for each header `publish` sends, values from the sample.
mapfile -t headers < <(python3 - docs/samples/typical-event.json <<'PY'
import json, sys
event = json.load(open(sys.argv[1]))
for name, value in [("content-type", "application/json"), ("ce_id", event["id"]),
                    ("ce_specversion", event["specversion"]), ("ce_time", event["timestamp"]),
                    ("ce_tenantid", event["tenantid"])]:
    print("-H"); print(f"{name}={value}")
PY
)

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
  results[kcat_headers]+="$(cpu kcat -P -b localhost:9092 -X test.mock.num.brokers=1 -X enable.idempotence=true \
    -X acks=all -z lz4 -X linger.ms=5 "${headers[@]}" -K $'\t' -t audit-logs -l "$work/keyed.jsonl") "
  results[publish]+="$(cpu sh -c "\"$auditlog\" publish -X test.mock.num.brokers=1 < \"$work/raw.jsonl\"") "
  results[publish_plain]+="$(cpu sh -c "\"$auditlog\" publish -X test.mock.num.brokers=1 -X compression.type=none < \"$work/raw.jsonl\"") "
  if [ -n "${AUDITLOG_OLD_BIN:-}" ]; then
    results[old]+="$(cpu sh -c "\"$AUDITLOG_OLD_BIN\" publish -X test.mock.num.brokers=1 < \"$work/raw.jsonl\"") "
  fi
  echo "run $run (µs/event): seal ${results[seal]} | kcat ${results[kcat]} | kcat, settings ${results[kcat_settings]} | kcat, headers ${results[kcat_headers]} | publish ${results[publish]} | publish, no compression ${results[publish_plain]}"
done
echo "events: $events; runs: $runs; $(nproc) cores; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "${results[seal]}" "${results[kcat]}" "${results[kcat_settings]}" "${results[kcat_headers]}" "${results[publish]}" "${results[publish_plain]}" "${results[old]:-}" <<'PY'
import statistics, sys
seal, kcat, kcat_s, kcat_h, publish, publish_plain, old = (list(map(float, a.split())) for a in sys.argv[1:])
m = statistics.median
print("| what | CPU µs/event (median) | runs |")
print("|---|---|---|")
for name, xs in [("auditlog seal", seal), ("kcat -P, defaults", kcat),
                 ("kcat -P, the publisher's settings", kcat_s),
                 ("kcat -P, the publisher's settings, five headers and key", kcat_h),
                 ("auditlog publish", publish),
                 ("auditlog publish -X compression.type=none", publish_plain)] \
        + ([("auditlog publish, AUDITLOG_OLD_BIN", old)] if old else []):
    print(f"| {name} | {m(xs):.2f} | {' '.join(f'{x:.2f}' for x in xs)} |")
r1 = [p / (s + k) for p, s, k in zip(publish, seal, kcat)]
r2 = [p / (s + k) for p, s, k in zip(publish, seal, kcat_s)]
print(f"| publish / (seal + kcat defaults) | **{m(r1):.2f}** | {' '.join(f'{x:.2f}' for x in r1)} |")
print(f"| publish / (seal + kcat, publisher's settings) | **{m(r2):.2f}** | {' '.join(f'{x:.2f}' for x in r2)} |")
r3 = [p / (s + k) for p, s, k in zip(publish, seal, kcat_h)]
print(f"| publish / (seal + kcat, settings, five headers and key): not the target's ratio | {m(r3):.2f} | {' '.join(f'{x:.2f}' for x in r3)} |")
r5 = [p / (s + k) for p, s, k in zip(publish_plain, seal, kcat)]
print(f"| publish without compression / (seal + kcat defaults, which do not compress) | {m(r5):.2f} | {' '.join(f'{x:.2f}' for x in r5)} |")
if old:
    r4 = [p / (s + k) for p, s, k in zip(old, seal, kcat)]
    print(f"| AUDITLOG_OLD_BIN publish / (seal + kcat defaults) | {m(r4):.2f} | {' '.join(f'{x:.2f}' for x in r4)} |")
PY
