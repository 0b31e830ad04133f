#!/usr/bin/env bash
# What recording an audit event in the caller's transaction costs, for
# docs/performance.md: the same transaction (UPDATE one order row, COMMIT)
# with and without AuditRecorder::record, on SQLite (a file, WAL, synchronous
# FULL) and on PostgreSQL (a throwaway cluster on disk, fsync on, one client
# connection over 127.0.0.1). Medians of RUNS alternating runs.
# Usage: scripts/bench-sql-record.sh [TRANSACTIONS] [RUNS]
# Needs Debian's postgresql package for the PostgreSQL half (skipped if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
transactions=${1:-2000}
runs=${2:-5}
work=$(mktemp -d /tmp/bench-sql.XXXXXX)
chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$pgbin" ] && [ -d "$work/pg" ] && as_pg "$pgbin/pg_ctl" stop -D "$work/pg" -m immediate >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q -p auditlog-sql --example record_cost
bin=target/release/examples/record_cost

echo "== SQLite ($work/bench.db)"
"$bin" "sqlite://$work/bench.db" "$transactions" "$runs"

if [ -n "$pgbin" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir "$work/pg" && { [ "$(id -u)" != 0 ] || chown postgres "$work/pg"; }
  as_pg "$pgbin/initdb" -D "$work/pg" --auth=trust --username=postgres --locale=C >/dev/null
  as_pg "$pgbin/pg_ctl" start -w -D "$work/pg" -l "$work/pg/server.log" \
    -o "-k $work/pg -p $port -h 127.0.0.1" >/dev/null
  echo "== PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') (fsync on)"
  "$bin" "postgres://postgres@127.0.0.1:$port/postgres" "$transactions" "$runs"
else
  echo "== PostgreSQL: skipped (install Debian's postgresql package)"
fi
