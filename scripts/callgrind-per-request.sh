#!/usr/bin/env bash
# Instructions per request, for docs/performance.md ("CPU per request"): the
# bench server (crates/auditlog-axum/examples/bench_server.rs) under
# callgrind, counters zeroed after a warm-up, then dumped after a fixed
# number of requests from curl's keep-alive loop; every thread counted
# (callgrind runs them one at a time). Unlike CPU time, the count does not
# move with the machine's load. The kafka mode is left out: librdkafka's
# threads poll on timers, so its count depends on the wall time valgrind takes.
# A mode written old:MODE runs $BENCH_OLD_SERVER instead; CALLGRIND_KEEP=DIR
# keeps each mode's profile there (DIR/MODE.callgrind, for callgrind_annotate).
# Usage: scripts/callgrind-per-request.sh [REQUESTS] [MODES...]   (default 2000 bare jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-2000}
shift $(( $# > 1 ? 1 : $# ))
modes=${*:-bare jsonl}
port=${BENCH_PORT:-18283}
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 2; }
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  cargo build --release -q -p auditlog-axum --example bench_server
fi
# One curl process, keep-alive, the URL repeated: REQUESTS requests on one connection.
load() { seq "$1" | sed "s|.*|url = \"http://127.0.0.1:$port/orders/1\"\noutput = /dev/null|" >"$work/urls"; curl -s -K "$work/urls"; }
for mode in $modes; do
  bin=target/release/examples/bench_server
  case $mode in old:*) bin=$BENCH_OLD_SERVER ;; esac
  args=()
  case ${mode#old:} in
    bare) ;;
    jsonl) rm -f "$work/events.jsonl"; args=("$work/events.jsonl") ;;
    *) echo "unknown mode $mode (bare or jsonl)" >&2; exit 2 ;;
  esac
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "$bin" "127.0.0.1:$port" "${mode#old:}" "${args[@]}" 2>"$work/server.err" &
  server=$!
  for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/orders/1" && break; sleep 0.2; done
  load 500
  callgrind_control -z "$server" >/dev/null 2>&1
  load "$requests"
  callgrind_control -d "$server" >/dev/null 2>&1
  kill -TERM "$server"; wait "$server" || true
  server=
  # The dump after zeroing is the one numbered .1.
  total=$(sed -n 's/^summary: //p' "$work"/cg.*.1 | head -n 1)
  python3 -c "print(f'$mode: {$total / $requests:,.0f} instructions/request ($requests requests)')"
  if [ -n "${CALLGRIND_KEEP:-}" ]; then cp "$work"/cg.*.1 "$CALLGRIND_KEEP/${mode/:/-}.callgrind"; fi
  rm -f "$work"/cg.*
done
