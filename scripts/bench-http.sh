#!/usr/bin/env bash
# HTTP overhead of the audit middleware, for docs/performance.md: the demo
# (`auditlog demo --listen`, embedded Kafka, events read back and verified)
# against the same app with `--no-audit`, under wrk, on 127.0.0.1 only.
#   GET  /orders/1            layer with capture off  vs --no-audit
#   POST /orders (1 KiB JSON) layer with capture on   vs --no-audit
# Two loads: "saturation" (closed loop, CONNECTIONS connections, as fast as
# the server answers) and "offered" (RATE_CONNECTIONS connections, each
# waiting RATE_DELAY_MS between requests: a fixed offered load well below
# capacity). Runs alternate (off, on, off, on, ...); medians of RUNS runs.
# BENCH_MODE=write-ahead compares instead the audited GET with and without
# write-ahead (a durable spool, each response after its event's fsync).
# BENCH_BROKER=external runs the audited demo as a service runs: the broker
# (librdkafka's mock cluster, `auditlog-kafka`'s example embedded_kafka) in a
# process of its own, fresh for each run, and `--no-readback` (no consumer
# verifying and printing the events in the demo's process).
# Usage: scripts/bench-http.sh [RUNS] [SECONDS] [CONNECTIONS]   (apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
duration=${2:-10}
connections=${3:-32}
port=${BENCH_PORT:-18181}
rate_connections=${RATE_CONNECTIONS:-100}
rate_delay_ms=${RATE_DELAY_MS:-10}
mode=${BENCH_MODE:-overhead}
broker_mode=${BENCH_BROKER:-embedded}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
work=$(mktemp -d)
server=
broker=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  [ -n "$broker" ] && kill "$broker" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q -p auditlog-cli
bin=target/release/auditlog
case $broker_mode in
  embedded) ;;
  external) cargo build --release -q -p auditlog-kafka --example embedded_kafka ;;
  *) echo "BENCH_BROKER: embedded or external" >&2; exit 2 ;;
esac
export AUDITLOG_SIGNING_KEY=bench-key

python3 - "$work" "$rate_delay_ms" <<'PY'
import json, sys
order = {"item": "coffee beans", "quantity": 2, "customer": "alice",
         "payment": {"card": "4111-1111-1111-1111", "token": "tok_visa_42"}}
order["notes"] = ""
order["notes"] = "x" * (1024 - len(json.dumps(order, separators=(",", ":"))))
body = json.dumps(order, separators=(",", ":"))
assert len(body) == 1024, len(body)
post = ('wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        "wrk.body = %s\n" % json.dumps(body))
delay = "function delay() return %s end\n" % sys.argv[2]
for name, text in [("post", post), ("get-rate", delay), ("post-rate", post + delay)]:
    with open(f"{sys.argv[1]}/{name}.lua", "w") as f:
        f.write(text)
PY

# start_broker: a mock cluster in a process of its own, alive while fd 3
# (its stdin) is open; sets $brokers.
start_broker() {
  rm -f "$work/broker.in"; mkfifo "$work/broker.in"
  target/release/examples/embedded_kafka 1 audit-events <"$work/broker.in" >"$work/broker.out" &
  broker=$!
  exec 3>"$work/broker.in"
  for _ in $(seq 100); do
    brokers=$(head -n 1 "$work/broker.out")
    [ -n "$brokers" ] && return
    sleep 0.1
  done
  echo "the broker did not start" >&2; exit 1
}
stop_broker() { exec 3>&-; wait "$broker" || true; broker=; }

# start ARGS...: serves the demo on $port, waits until it answers. With an
# external broker, an audited demo gets a fresh one and no read-back.
start() {
  if [ "$broker_mode" = external ] && [[ " $* " != *" --no-audit "* ]]; then
    start_broker
    set -- "$@" --brokers "$brokers" --no-readback
  fi
  "$bin" demo --listen "127.0.0.1:$port" "$@" >"$work/server.out" 2>"$work/server.err" &
  server=$!
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/orders/1" && return
    sleep 0.1
  done
  echo "the demo did not start:" >&2; cat "$work/server.err" >&2; exit 1
}
# stop: SIGTERM, then the graceful drain; prints the demo's last line (how
# many events were published, read back and verified) to stderr.
stop() {
  kill -TERM "$server"
  if ! wait "$server"; then
    echo "  the demo reported a problem on shutdown:" >&2
    tail -n 2 "$work/server.err" >&2
  fi
  server=
  echo "  $(tail -n 1 "$work/server.out")" >&2
  [ -n "$broker" ] && stop_broker
  return 0
}
# load CONNECTIONS PATH [wrk args...] -> "requests/s p99_ms", after a 2 s warm-up.
load() {
  local c=$1 path=$2; shift 2
  wrk -t1 -c"$c" -d2s "$@" "http://127.0.0.1:$port$path" >/dev/null
  wrk -t1 -c"$c" -d"${duration}s" --latency "$@" "http://127.0.0.1:$port$path" >"$work/wrk.out"
  python3 - "$work/wrk.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", text).groups()
p99 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors: print(f"warning: {errors.group(1)} non-2xx responses", file=sys.stderr)
print(f"{rps:.0f} {p99:.3f}")
PY
}

declare -A results
case $mode in
  overhead) setups="sat-get-off sat-get-on sat-post-off sat-post-on rate-get-off rate-get-on rate-post-off rate-post-on" ;;
  write-ahead) setups="sat-get-on sat-get-wa rate-get-on rate-get-wa" ;;
  *) echo "BENCH_MODE: overhead or write-ahead" >&2; exit 2 ;;
esac
for run in $(seq "$runs"); do
  for setup in $setups; do
    case $setup in
      *-get-off)  start --no-audit ;;
      *-get-on)   start ;;
      *-post-off) start --no-audit ;;
      *-post-on)  start --capture-payloads ;;
      *-get-wa)   rm -rf "$work/spool"; start --spool "$work/spool" --write-ahead ;;
    esac
    case $setup in
      sat-get-*)   r=$(load "$connections" /orders/1) ;;
      sat-post-*)  r=$(load "$connections" /orders -s "$work/post.lua") ;;
      rate-get-*)  r=$(load "$rate_connections" /orders/1 -s "$work/get-rate.lua") ;;
      rate-post-*) r=$(load "$rate_connections" /orders -s "$work/post-rate.lua") ;;
    esac
    stop
    results[$setup]+="$r;"
    echo "run $run $setup: $r (requests/s, p99 ms)"
  done
done

args=()
for setup in $setups; do args+=("${results[$setup]}"); done
python3 - "$mode" "$connections" "$rate_connections" "$rate_delay_ms" "${args[@]}" <<'PY'
import os, statistics, sys
mode, c, rc, delay = sys.argv[1:5]
def parse(s): return [tuple(map(float, r.split())) for r in s.strip(";").split(";")]
rows = list(map(parse, sys.argv[5:]))
def med(rows, i): return statistics.median(r[i] for r in rows)
print()
if os.environ.get("BENCH_BROKER") == "external":
    print("audited demo: broker in another process (fresh per run), --no-readback")
if mode == "overhead":
    print("| load | --no-audit req/s | audited req/s | ratio (min–max) | p99 --no-audit | p99 audited | p99 added |")
    names = [f"saturation ({c} conn.): GET /orders/1, capture off",
             f"saturation ({c} conn.): POST /orders 1 KiB JSON, capture on",
             f"offered ({rc} conn. x 1 req/{delay} ms): GET /orders/1, capture off",
             f"offered ({rc} conn. x 1 req/{delay} ms): POST /orders 1 KiB JSON, capture on"]
else:
    print("| load | audited req/s | write-ahead req/s | ratio (min–max) | p99 audited | p99 write-ahead | p99 added |")
    names = [f"saturation ({c} conn.): GET /orders/1",
             f"offered ({rc} conn. x 1 req/{delay} ms): GET /orders/1"]
print("|---|---|---|---|---|---|---|")
for k, name in enumerate(names):
    off, on = rows[2 * k], rows[2 * k + 1]
    ratios = [b[0] / a[0] for a, b in zip(off, on)]
    print(f"| {name} | {med(off,0):,.0f} | {med(on,0):,.0f} | {statistics.median(ratios):.2f}x "
          f"({min(ratios):.2f}–{max(ratios):.2f}) | {med(off,1):.2f} ms | {med(on,1):.2f} ms | "
          f"{med(on,1) - med(off,1):+.2f} ms |")
PY
