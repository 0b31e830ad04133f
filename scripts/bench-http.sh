#!/usr/bin/env bash
# HTTP overhead of the audit middleware, for docs/performance.md: the demo
# (`auditlog demo --listen`, embedded Kafka, events read back and verified)
# against the same app with `--no-audit`, under wrk, on 127.0.0.1 only.
#   GET  /orders/1           layer with capture off   vs --no-audit
#   POST /orders (1 KiB JSON) layer with capture on    vs --no-audit
# Runs alternate (off, on, off, on, ...); medians of RUNS runs per setup.
# Usage: scripts/bench-http.sh [RUNS] [SECONDS] [CONNECTIONS]   (apt-get install -y wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
duration=${2:-10}
connections=${3:-32}
port=${BENCH_PORT:-18181}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release -q -p auditlog-cli
bin=target/release/auditlog
export AUDITLOG_SIGNING_KEY=bench-key

python3 - "$work/post.lua" <<'PY'
import json, sys
order = {"item": "coffee beans", "quantity": 2, "customer": "alice",
         "payment": {"card": "4111-1111-1111-1111", "token": "tok_visa_42"}}
order["notes"] = ""
order["notes"] = "x" * (1024 - len(json.dumps(order, separators=(",", ":"))))
body = json.dumps(order, separators=(",", ":"))
assert len(body) == 1024, len(body)
with open(sys.argv[1], "w") as f:
    f.write('wrk.method = "POST"\n')
    f.write('wrk.headers["Content-Type"] = "application/json"\n')
    f.write("wrk.body = %s\n" % json.dumps(body))
PY

# start ARGS...: serves the demo on $port, waits until it answers.
start() {
  "$bin" demo --listen "127.0.0.1:$port" "$@" >"$work/server.out" 2>"$work/server.err" &
  server=$!
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/orders/1" && return
    sleep 0.1
  done
  echo "the demo did not start:" >&2; cat "$work/server.err" >&2; exit 1
}
# stop: SIGTERM, then wait for the graceful drain; checks every event was read back.
stop() {
  kill -TERM "$server"
  wait "$server" || { echo "the demo failed on shutdown:" >&2; tail -3 "$work/server.out" "$work/server.err" >&2; exit 1; }
  server=
  tail -1 "$work/server.out" | grep -E '^[0-9]+ events|^$' >/dev/null || true
}
# load PATH [wrk args...] -> "requests/s p99_ms", after a 2 s warm-up.
load() {
  local path=$1; shift
  wrk -t1 -c"$connections" -d2s "$@" "http://127.0.0.1:$port$path" >/dev/null
  wrk -t1 -c"$connections" -d"${duration}s" --latency "$@" "http://127.0.0.1:$port$path" >"$work/wrk.out"
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
for run in $(seq "$runs"); do
  for setup in get-off get-on post-off post-on; do
    case $setup in
      get-off)  start --no-audit;         r=$(load /orders/1) ;;
      get-on)   start;                    r=$(load /orders/1) ;;
      post-off) start --no-audit;         r=$(load /orders -s "$work/post.lua") ;;
      post-on)  start --capture-payloads; r=$(load /orders -s "$work/post.lua") ;;
    esac
    stop
    results[$setup]+="$r;"
    echo "run $run $setup: $r (requests/s, p99 ms)"
  done
done

python3 - "${results[get-off]}" "${results[get-on]}" "${results[post-off]}" "${results[post-on]}" <<'PY'
import statistics, sys
def parse(s): return [tuple(map(float, r.split())) for r in s.strip(";").split(";")]
get_off, get_on, post_off, post_on = map(parse, sys.argv[1:5])
def med(rows, i): return statistics.median(r[i] for r in rows)
print()
print("| load | --no-audit req/s | audited req/s | ratio | p99 --no-audit | p99 audited | p99 added |")
print("|---|---|---|---|---|---|---|")
for name, off, on in [("GET /orders/1, capture off", get_off, get_on),
                      ("POST /orders 1 KiB JSON, capture on", post_off, post_on)]:
    ratios = [b[0] / a[0] for a, b in zip(off, on)]
    print(f"| {name} | {med(off,0):,.0f} | {med(on,0):,.0f} | {statistics.median(ratios):.2f}x "
          f"(runs {min(ratios):.2f}–{max(ratios):.2f}) | {med(off,1):.2f} ms | {med(on,1):.2f} ms | "
          f"{med(on,1) - med(off,1):+.2f} ms |")
PY
