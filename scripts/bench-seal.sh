#!/usr/bin/env bash
# Sealing figures for docs/performance.md, measured in one run:
#  1. criterion: sealing the typical event on one core, and the SHA-256+HMAC floor;
#  2. `auditlog seal` over JSON lines vs the Python reference doing the same
#     (parse, seal, serialize), alternating runs, medians and their ratio.
# Usage: scripts/bench-seal.sh [RUNS]   (needs pydantic: pip install 'pydantic>=2')
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo bench -p auditlog-seal --bench seal -- --warm-up-time 2 --measurement-time 5 2>&1 \
  | grep -E '^typical_event|time:|thrpt:' | grep -v change || true

cargo build --release -q -p auditlog-cli
python3 - "$work" <<'PY'
import json, sys, uuid
event = json.load(open("docs/samples/typical-event.json"))
def write(path, n):
    with open(path, "w") as f:
        for i in range(n):
            event["id"] = str(uuid.UUID(int=i)); event["transactionid"] = f"txn-{i}"
            f.write(json.dumps(event, separators=(",", ":")) + "\n")
write(sys.argv[1] + "/rust.jsonl", 500_000)
write(sys.argv[1] + "/python.jsonl", 30_000)
PY

rate() { # lines seconds -> events/s
  python3 -c "print(round($1 / $2))"
}
seconds() { # command... -> wall seconds
  local start end
  start=$(date +%s.%N); "$@"; end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}
rust_rates=(); python_rates=()
for _ in $(seq "$runs"); do
  s=$(seconds sh -c "AUDITLOG_SIGNING_KEY=bench target/release/auditlog seal < $work/rust.jsonl > $work/rust.out")
  rust_rates+=("$(rate 500000 "$s")")
  s=$(seconds sh -c "python3 scripts/python_seal.py bench < $work/python.jsonl > $work/python.out")
  python_rates+=("$(rate 30000 "$s")")
done
head -n 30000 "$work/rust.out" | cmp -s - "$work/python.out" && same=identical || same=DIFFERENT
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
r=$(median "${rust_rates[@]}"); p=$(median "${python_rates[@]}")
echo "auditlog seal: ${rust_rates[*]} events/s (median $r)"
echo "python reference: ${python_rates[*]} events/s (median $p)"
echo "ratio: $(python3 -c "print(round($r / $p, 1))")x; output for the first 30000 lines: $same"
echo "cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
