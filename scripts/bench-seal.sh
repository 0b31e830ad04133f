#!/usr/bin/env bash
# Sealing and verifying figures for docs/performance.md, measured in one run:
#  1. criterion: sealing the typical event on one core, and the SHA-256+HMAC floor
#     (skipped with BENCH_CRITERION=0);
#  2. on the same 500,000 lines of the typical event, alternating runs:
#     `auditlog seal`, `auditlog verify` of its output (strict, with the key),
#     `auditlog seal --chain` and `auditlog verify --chain` of that, `auditlog
#     verify` of the chained lines (what `verify --chain` does less the links
#     and the chain bookkeeping: its floor, with the link's HMAC), and the
#     Python reference sealing (parse, seal, serialize; 30,000 lines: it is
#     slow); medians of wall-clock events/s and of CPU (user+sys) per event,
#     each as a ratio to `auditlog seal`.
# With AUDITLOG_OLD_BIN=path/to/auditlog, that binary's seal, verify and
# verify --chain run too (rows `old:...`), alternating with the new ones.
# Minor page faults per 1,000 events are printed beside the CPU (fresh heap
# pages the kernel had to zero).
# Usage: scripts/bench-seal.sh [RUNS]   (needs pydantic: pip install 'pydantic>=2')
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "${BENCH_CRITERION:-1}" != 0 ]; then
  cargo bench -p auditlog-seal --bench seal -- --warm-up-time 2 --measurement-time 5 2>&1 \
    | grep -E '^typical_event|time:|thrpt:' | grep -v change || true
fi

cargo build --release -q -p auditlog-cli
bin=target/release/auditlog
lines=500000
python_lines=30000
python3 - "$work" "$lines" "$python_lines" <<'PY'
import json, sys, uuid
event = json.load(open("docs/samples/typical-event.json"))
def write(path, n):
    with open(path, "w") as f:
        for i in range(n):
            event["id"] = str(uuid.UUID(int=i)); event["transactionid"] = f"txn-{i}"
            f.write(json.dumps(event, separators=(",", ":")) + "\n")
write(sys.argv[1] + "/rust.jsonl", int(sys.argv[2]))
write(sys.argv[1] + "/python.jsonl", int(sys.argv[3]))
PY
export AUDITLOG_SIGNING_KEY=bench
# Inputs for the verifiers: sealed, and sealed into a chain (checkpoints
# every 1000 events, between the events).
$bin seal < "$work/rust.jsonl" > "$work/sealed.jsonl"
$bin seal --chain bench-chain < "$work/rust.jsonl" > "$work/chained.jsonl" 2>/dev/null

# Wall time gives events/s; user+sys CPU time gives the CPU each event costs,
# which other work on a shared machine disturbs far less.
declare -A rates cpus faults
measure() { # name lines command...
  local name=$1 n=$2 wall user sys minor
  shift 2
  /usr/bin/time -f '%e %U %S %R' -o "$work/time" "$@"
  read -r wall user sys minor < "$work/time"
  rates[$name]="${rates[$name]:-} $(python3 -c "print(round($n / max($wall, 0.01)))")"
  cpus[$name]="${cpus[$name]:-} $(python3 -c "print(round(($user + $sys) * 1e6 / $n, 2))")"
  faults[$name]="${faults[$name]:-} $(python3 -c "print(round($minor * 1000 / $n, 1))")"
}
names=(seal verify seal-chain verify-chain verify-chained python)
old=${AUDITLOG_OLD_BIN:-}
[ -n "$old" ] && names+=(old:seal old:verify old:verify-chain)
for _ in $(seq "$runs"); do
  if [ -n "$old" ]; then
    measure old:seal $lines sh -c "$old seal < $work/rust.jsonl > $work/old.out"
    measure old:verify $lines sh -c "$old verify < $work/sealed.jsonl > /dev/null"
    measure old:verify-chain $lines sh -c "$old verify --chain < $work/chained.jsonl > /dev/null"
  fi
  measure seal $lines sh -c "$bin seal < $work/rust.jsonl > $work/rust.out"
  measure verify $lines sh -c "$bin verify < $work/sealed.jsonl > /dev/null"
  measure seal-chain $lines sh -c "$bin seal --chain bench-chain < $work/rust.jsonl > /dev/null 2>&1"
  measure verify-chain $lines sh -c "$bin verify --chain < $work/chained.jsonl > /dev/null"
  measure verify-chained $lines sh -c "$bin verify < $work/chained.jsonl > /dev/null 2>&1"
  measure python $python_lines sh -c "python3 scripts/python_seal.py bench < $work/python.jsonl > $work/python.out"
done
head -n $python_lines "$work/rust.out" | cmp -s - "$work/python.out" && same=identical || same=DIFFERENT
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { python3 -c "print(round($1 / $2, 3))"; }
# shellcheck disable=SC2086 # the figures are space-separated lists
seal_rate=$(median ${rates[seal]}); seal_cpu=$(median ${cpus[seal]})
printf '%-17s %-44s %-10s %-38s %-8s %s\n' what "wall events/s (runs)" median "CPU µs/event (runs)" median "faults/1k events"
for name in "${names[@]}"; do
  # shellcheck disable=SC2086
  r=$(median ${rates[$name]}); c=$(median ${cpus[$name]}); f=$(median ${faults[$name]})
  printf '%-17s %-44s %-10s %-38s %-8s %s\n' "$name" "${rates[$name]# }" "$r" "${cpus[$name]# }" "$c" "$f"
done
for name in verify seal-chain verify-chain; do
  # shellcheck disable=SC2086
  echo "$name vs seal: $(ratio "$(median ${rates[$name]})" "$seal_rate")x the events/s, $(ratio "$seal_cpu" "$(median ${cpus[$name]})")x less CPU per event"
done
# shellcheck disable=SC2086
echo "verify-chain vs verify-chained: $(python3 -c "print(round($(median ${cpus[verify-chain]}) - $(median ${cpus[verify-chained]}), 2))") µs more CPU per event (the links and the chain bookkeeping)"
# shellcheck disable=SC2086
echo "seal vs python: $(ratio "$seal_rate" "$(median ${rates[python]})")x the events/s, $(ratio "$(median ${cpus[python]})" "$seal_cpu")x less CPU per event; output for the first $python_lines lines: $same"
echo "cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
