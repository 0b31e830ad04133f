#!/usr/bin/env bash
# Peak memory (RSS, /usr/bin/time -f %M) under the byte budgets, for
# docs/performance.md ("Memory"):
#  1. `auditlog publish` of EVENTS typical events to a mock cluster
#     (-X test.mock.num.brokers=1, in the process), capacity 50,000 (the
#     library's default), 20,000 (publish's) and 5,000;
#  2. a flood of large captures through the middleware: bench_server
#     (crates/auditlog-axum/examples/bench_server.rs) with capture on and a
#     JSON-lines sink, wrk posting 1 MiB JSON bodies on 16 connections for
#     SECONDS, with the default queue budget (64 MiB) and with 16 MiB; the
#     server prints the layer's counters (drops by reason, peak queued bytes).
# Usage: scripts/bench-memory.sh [EVENTS] [SECONDS]   (apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
seconds=${2:-20}
port=${BENCH_PORT:-18283}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p auditlog-cli
cargo build --release -q -p auditlog-axum --example bench_server
auditlog=target/release/auditlog
bin=target/release/examples/bench_server

python3 - "$work/raw.jsonl" "$events" docs/samples/typical-event.json <<'PY'
import json, sys, uuid
event = json.load(open(sys.argv[3]))
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        event["id"] = str(uuid.UUID(int=i)); event["transactionid"] = f"txn-{i}"
        f.write(json.dumps(event, separators=(",", ":")) + "\n")
PY
echo "1. auditlog publish, $events typical events, mock cluster in the process:"
for capacity in 50000 20000 5000; do
  out=$( { AUDITLOG_SIGNING_KEY=bench-key /usr/bin/time -f "%M %U %S" "$auditlog" publish \
    -X test.mock.num.brokers=1 --capacity "$capacity" < "$work/raw.jsonl"; } 2>&1 | tail -n 2)
  rss=$(echo "$out" | tail -n 1 | cut -d' ' -f1)
  echo "  capacity $capacity: peak RSS $((rss / 1024)) MiB; $(echo "$out" | head -n 1)"
done

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"item":"coffee","notes":"' .. string.rep("x", 1048576 - 28) .. '"}'
LUA
echo "2. flood of 1 MiB JSON POSTs, capture on, JSON-lines sink, wrk -c16 for ${seconds}s:"
for budget in default 16777216; do
  rm -f "$work/events.jsonl"
  if [ "$budget" = default ]; then unset BENCH_QUEUE_BYTES; else export BENCH_QUEUE_BYTES=$budget; fi
  BENCH_CAPTURE=1 /usr/bin/time -f "%M" -o "$work/rss" "$bin" "127.0.0.1:$port" jsonl "$work/events.jsonl" 2>"$work/server.err" &
  timer=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/orders/1" && break; sleep 0.1; done
  wrk -t1 -c16 -d"${seconds}s" -s "$work/post.lua" "http://127.0.0.1:$port/orders" >"$work/wrk.out"
  kill -TERM "$(pgrep -P "$timer")"
  wait "$timer" || true
  requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$work/wrk.out")
  echo "  queue budget $budget: peak RSS $(( $(cat "$work/rss") / 1024 )) MiB; $requests requests; $(grep -o 'dropped_queue_bytes: [0-9]*\|peak_queued_bytes: [0-9]*\|published: [0-9]*' "$work/server.err" | tr '\n' ' ')"
done
