#!/bin/sh
# The cost of a page of `auditlog query --db` near the newest rows and deep
# in the table (keyset cursor), on 200,000 synthetic rows: the statements
# auditlog_sql::page issues, timed by the database itself.
#
#   scripts/query-pages.sh [POSTGRES_URL]
#
# SQLite always (a file in a temporary directory, sqlite3 needed);
# PostgreSQL when a URL of an empty database is given (psql needed).
set -eu
AUDITLOG=${AUDITLOG:-target/debug/auditlog}
ROWS=200000
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

FIRST="SELECT id FROM audit_events WHERE NOT is_checkpoint AND ts IS NOT NULL ORDER BY ts DESC, id DESC LIMIT 101"
DEEP="SELECT id FROM audit_events WHERE NOT is_checkpoint AND ts IS NOT NULL AND (ts, id) < ('2026-01-01T00:10:00+00:00', 600) ORDER BY ts DESC, id DESC LIMIT 101"
TENANT="SELECT id FROM audit_events WHERE NOT is_checkpoint AND tenant = 'acme' AND ts IS NOT NULL AND (ts, id) < ('2026-01-01T00:10:00+00:00', 600) ORDER BY ts DESC, id DESC LIMIT 101"

echo "== SQLite, $ROWS rows"
"$AUDITLOG" migrate --db "sqlite://$dir/pages.db" >/dev/null
sqlite3 "$dir/pages.db" "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM g WHERE n < $ROWS)
  INSERT INTO audit_events (stream, seq, event_id, line, ts, tenant, action, resource, severity, severity_rank, status, hash, link)
  SELECT 's', n, 'e'||n, '{}', strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-01-01', '+'||n||' seconds'),
         CASE WHEN n % 10 = 0 THEN 'acme' ELSE 'other' END, 'orders.ship', 'order', 'INFO', 0, 'SUCCESS', 'h', 'l' FROM g; ANALYZE;"
for q in "$FIRST" "$DEEP" "$TENANT"; do
  printf '.timer on\nEXPLAIN QUERY PLAN %s;\nSELECT count(*) FROM (%s);\n' "$q" "$q" | sqlite3 "$dir/pages.db"
done

if [ $# -ge 1 ]; then
  echo "== PostgreSQL, $ROWS rows"
  "$AUDITLOG" migrate --db "$1" >/dev/null
  psql "$1" -q -c "INSERT INTO audit_events (stream, seq, event_id, line, ts, tenant, action, resource, severity, severity_rank, status, hash, link)
    SELECT 's', g, 'e'||g, '{}', to_char(timestamp '2026-01-01' + g * interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'),
           CASE WHEN g % 10 = 0 THEN 'acme' ELSE 'other' END, 'orders.ship', 'order', 'INFO', 0, 'SUCCESS', 'h', 'l'
    FROM generate_series(1, $ROWS) g; ANALYZE audit_events;"
  for q in "$FIRST" "$DEEP" "$TENANT"; do
    psql "$1" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) $q" | grep -E "Scan|Execution"
  done
fi
