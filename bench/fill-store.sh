#!/usr/bin/env bash
# Fills a SQLite store with COUNT already-processed deliveries, for the growth
# scenario. It does not send COUNT HTTP requests: `bookme migrate` creates the
# schema, then sqlite3 inserts rows in large transactions.
#
#   bench/fill-store.sh BOOKME_BIN DB_FILE [COUNT]    (COUNT default 1000000)
#
# Each row is one of tests/fixtures/deliveries/*.json with its booking uid
# replaced by a unique one, so row sizes are those of real deliveries. Rows are
# 'processed' (as old deliveries are), so the worker has nothing to catch up
# on. body_sha256 is 32 random bytes rather than the body's hash: the unique
# index sees the same size and spread of keys, and sqlite3 has no SHA-256.
# The fill runs with synchronous=OFF; the server opens the file with FULL.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:?bookme binary}; DB=${2:?database file}; COUNT=${3:-1000000}
BATCH=100000
command -v sqlite3 >/dev/null || { echo "sqlite3 missing: apt-get install -y sqlite3" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq missing: apt-get install -y jq" >&2; exit 2; }
[[ $COUNT =~ ^[0-9]+$ ]] || { echo "COUNT must be a number" >&2; exit 2; }

rm -f "$DB" "$DB-wal" "$DB-shm"
DATABASE_URL="sqlite://$DB" "$BIN" migrate >/dev/null

# One row per fixture: its body as a SQL literal and the uid to replace.
sql_text() { sed "s/'/''/g" "$1"; }
{
  echo "CREATE TEMP TABLE fixture (k INTEGER PRIMARY KEY, body TEXT, uid TEXT, trig TEXT);"
  k=0
  for f in "$ROOT"/tests/fixtures/deliveries/*.json; do
    uid=$(jq -r '.payload.uid // ""' "$f"); trig=$(jq -r '.triggerEvent' "$f")
    printf "INSERT INTO fixture VALUES (%d, '%s', '%s', '%s');\n" "$k" "$(sql_text "$f")" "$uid" "$trig"
    k=$((k + 1))
  done
  echo "PRAGMA synchronous = OFF;"
  now_us=$(( $(date +%s) * 1000000 ))
  for ((start = 0; start < COUNT; start += BATCH)); do
    end=$(( start + BATCH < COUNT ? start + BATCH : COUNT ))
    cat <<SQL
BEGIN;
WITH RECURSIVE n(i) AS (SELECT $start UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $end)
INSERT INTO deliveries (id, body_sha256, body, received_at, content_type, shape,
  trigger_event, booking_uid, status, attempts, process_count, processed_at, note)
SELECT printf('00000000-0000-7000-8000-%012d', i), randomblob(32),
  CAST(CASE WHEN f.uid = '' THEN f.body ELSE replace(f.body, f.uid, printf('fill%018d', i)) END AS BLOB),
  $now_us - ($COUNT - i) * 30000000, 'application/json', 'envelope', f.trig,
  CASE WHEN f.uid = '' THEN NULL ELSE printf('fill%018d', i) END,
  'processed', 0, 1, $now_us - ($COUNT - i) * 30000000 + 5000, NULL
FROM n JOIN fixture f ON f.k = n.i % (SELECT COUNT(*) FROM fixture);
COMMIT;
SQL
  done
  echo "PRAGMA wal_checkpoint(TRUNCATE);"
} | sqlite3 "$DB" >/dev/null
echo "filled $DB: $(sqlite3 "$DB" 'SELECT COUNT(*) FROM deliveries') deliveries, $(du -h "$DB" | cut -f1)"
