#!/usr/bin/env bash
# CPU per request, for docs/performance.md ("CPU per request"): the server's
# own CPU time (utime + stime of every thread, from /proc/PID/stat) divided
# by the requests wrk got answered, for a minimal axum app
# (crates/auditlog-axum/examples/bench_server.rs) in four modes:
#   bare    the app alone
#   kafka   + AuditLayer (capture off) + KafkaPublisher (HMAC); the broker is
#           librdkafka's mock cluster in ANOTHER process (examples/embedded_kafka)
#   jsonl   + AuditLayer (capture off) + JsonLinesSink appending to a file (HMAC)
#   trace   + tower-http TraceLayer, one JSON log line per request through
#           tracing-subscriber and tracing-appender's non-blocking writer (the peer)
# Load: wrk -t1 -c16 (closed loop) on GET /orders/1, 127.0.0.1. Runs alternate
# (bare, kafka, jsonl, trace, bare, ...); medians of RUNS runs; the delta vs
# bare is the median of the per-run deltas.
# A mode written old:MODE runs $BENCH_OLD_SERVER (another build of bench_server)
# instead: a before/after comparison in the same run.
# Usage: scripts/bench-cpu-per-request.sh [RUNS] [SECONDS] [MODES...]  (apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
duration=${2:-10}
shift $(( $# > 2 ? 2 : $# ))
modes=${*:-bare kafka jsonl trace}
port=${BENCH_PORT:-18282}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
work=$(mktemp -d)
server= broker=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  [ -n "$broker" ] && kill "$broker" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${BENCH_NO_BUILD:-}" ]; then
  cargo build --release -q -p auditlog-axum --example bench_server
  cargo build --release -q -p auditlog-kafka --example embedded_kafka
fi
tck=$(getconf CLK_TCK)

# The broker: a mock cluster held open by a process of its own.
mkfifo "$work/broker.in"
target/release/examples/embedded_kafka 1 audit-logs <"$work/broker.in" >"$work/broker.out" 2>/dev/null &
broker=$!
exec 3>"$work/broker.in"
for _ in $(seq 100); do [ -s "$work/broker.out" ] && break; sleep 0.1; done
bootstrap=$(head -n 1 "$work/broker.out")

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

declare -A results
for run in $(seq "$runs"); do
  for mode in $modes; do
    bin=target/release/examples/bench_server
    case $mode in old:*) bin=$BENCH_OLD_SERVER ;; esac
    case ${mode#old:} in
      bare)  "$bin" "127.0.0.1:$port" bare 2>"$work/server.err" & ;;
      kafka) "$bin" "127.0.0.1:$port" kafka "$bootstrap" 2>"$work/server.err" & ;;
      jsonl) rm -f "$work/events.jsonl"; "$bin" "127.0.0.1:$port" jsonl "$work/events.jsonl" 2>"$work/server.err" & ;;
      trace) rm -f "$work/requests.log"; "$bin" "127.0.0.1:$port" trace "$work/requests.log" 2>"$work/server.err" & ;;
      *) echo "unknown mode $mode" >&2; exit 2 ;;
    esac
    server=$!
    for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/orders/1" && break; sleep 0.1; done
    wrk -t1 -c16 -d2s "http://127.0.0.1:$port/orders/1" >/dev/null
    before=$(cpu_ticks "$server")
    wrk -t1 -c16 -d"${duration}s" "http://127.0.0.1:$port/orders/1" >"$work/wrk.out"
    after=$(cpu_ticks "$server")
    requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$work/wrk.out")
    kill -TERM "$server"; wait "$server" || { echo "server failed:" >&2; cat "$work/server.err" >&2; }
    server=
    us=$(python3 -c "print(f'{($after - $before) * 1e6 / $tck / $requests:.2f}')")
    results[$mode]+="$us "
    echo "run $run $mode: $us µs CPU/request ($requests requests, $(( (after - before) )) ticks); $(tail -n 1 "$work/server.err" | cut -c1-160)"
  done
done

echo "runs: $runs x ${duration}s; $(nproc) cores; load after: $(cut -d' ' -f1-3 /proc/loadavg)"
args=()
for mode in $modes; do args+=("$mode=${results[$mode]}"); done
python3 - "${args[@]}" <<'PY'
import statistics, sys
rows = {a.split("=")[0]: list(map(float, a.split("=")[1].split())) for a in sys.argv[1:]}
print("| mode | CPU µs/request (median) | added vs bare (median of per-run deltas) | runs |")
print("|---|---|---|---|")
for mode, xs in rows.items():
    # old:MODE is compared with old:bare when there is one.
    prefix = mode[:mode.index(":") + 1] if ":" in mode else ""
    bare = rows.get(prefix + "bare", rows.get("bare"))
    delta = "" if bare is None or mode.endswith("bare") else \
        f"{statistics.median(x - b for x, b in zip(xs, bare)):+.2f} µs"
    print(f"| {mode} | {statistics.median(xs):.2f} | {delta} | {' '.join(f'{x:.1f}' for x in xs)} |")
PY
