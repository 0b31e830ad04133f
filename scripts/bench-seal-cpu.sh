#!/usr/bin/env bash
# CPU time (user+sys) per seal of the typical event, and per SHA-256+HMAC
# floor, on a shared machine: CPU time is disturbed far less than criterion's
# wall clock by the other work beside it. Alternating runs of
# `crates/auditlog-seal/examples/seal_loop.rs` (modes seal, canonical,
# floor); medians per event, and seal ÷ floor from the same run.
# With SEAL_LOOP_OLD=path/to/an/older/seal_loop, its seal and canonical run
# too (rows `old:...`), alternating with the new ones.
# Usage: scripts/bench-seal-cpu.sh [RUNS] [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
count=${2:-2000000}
cargo build --release -q -p auditlog-seal --example seal_loop
new=${CARGO_TARGET_DIR:-target}/release/examples/seal_loop
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A cpus
measure() { # name binary mode
  local user sys
  /usr/bin/time -f '%U %S' -o "$work/time" "$2" "$3" "$count"
  read -r user sys < "$work/time"
  cpus[$1]="${cpus[$1]:-} $(python3 -c "print(round(($user + $sys) * 1e6 / $count, 3))")"
}
names=(seal canonical floor)
for _ in $(seq "$runs"); do
  for mode in seal canonical floor; do
    measure "$mode" "$new" "$mode"
    if [ -n "${SEAL_LOOP_OLD:-}" ] && [ "$mode" != floor ]; then
      measure "old:$mode" "$SEAL_LOOP_OLD" "$mode"
    fi
  done
done
[ -n "${SEAL_LOOP_OLD:-}" ] && names+=(old:seal old:canonical)

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $runs runs of $count events"
median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
floor=$(median ${cpus[floor]})
printf '%-14s %12s %12s %10s\n' name 'CPU µs/ev' 'events/s' '÷ floor'
for name in "${names[@]}"; do
  # shellcheck disable=SC2086
  m=$(median ${cpus[$name]})
  python3 -c "print(f'{\"$name\":<14} {$m:>12.3f} {round(1e6 / $m):>12,} {$m / $floor:>10.2f}')"
done
