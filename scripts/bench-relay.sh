#!/usr/bin/env bash
# Relay throughput for docs/performance.md: N typical events recorded in a
# SQLite file on disk (examples/fill_audit_table.rs), then, alternating:
#  - `auditlog relay --once` (claim a batch, send the lines byte for byte,
#    wait for the acks, mark them delivered, commit; repeat) after every row
#    is marked undelivered again;
#  - `auditlog publish` of the same lines (parse, seal, publish, wait);
# both to librdkafka's in-process mock cluster (-X test.mock.num.brokers=1).
# Medians of RUNS runs, in rows (events) per second, release build.
# Usage: scripts/bench-relay.sh [RUNS] [EVENTS] [BATCH]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
events=${2:-100000}
batch=${3:-500}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
event=docs/samples/typical-event.json
export AUDITLOG_SIGNING_KEY=bench-key

cargo build --release -q -p auditlog-cli
cargo build --release -q -p auditlog-sql --example fill_audit_table
auditlog=target/release/auditlog
db="$work/audit.db"
touch "$db"
target/release/examples/fill_audit_table "sqlite://$db" "$events" "$event"
rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM audit_events').fetchone()[0])" "$db")
python3 -c "
import sqlite3, sys
with open(sys.argv[2], 'w') as f:
    for (line,) in sqlite3.connect(sys.argv[1]).execute('SELECT line FROM audit_events ORDER BY id'):
        f.write(line + '\n')" "$db" "$work/lines.jsonl"

now() { date +%s.%N; }
rate() { python3 -c "print(round($1 / ($3 - $2)))"; }
undeliver() { python3 -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute('UPDATE audit_events SET delivered_at = NULL'); c.commit()" "$db"; }
relay=""; publish=""
for run in $(seq "$runs"); do
  undeliver
  t0=$(now); "$auditlog" relay --db "sqlite://$db" --once --batch "$batch" -X test.mock.num.brokers=1 2>/dev/null; t1=$(now)
  relay+="$(rate "$rows" "$t0" "$t1") "
  t0=$(now); "$auditlog" publish -X test.mock.num.brokers=1 < "$work/lines.jsonl" 2>/dev/null; t1=$(now)
  publish+="$(rate "$rows" "$t0" "$t1") "
done
median() { python3 -c "import statistics,sys; print(round(statistics.median(map(int, sys.argv[1:]))))" $1; }
echo "rows per run: $rows ($events events and their checkpoints); batch $batch; runs: $runs; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "auditlog relay --once (SQLite on disk):  median $(median "$relay") rows/s   (runs: $relay)"
echo "auditlog publish (same lines, resealed): median $(median "$publish") rows/s   (runs: $publish)"
