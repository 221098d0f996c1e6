#!/usr/bin/env bash
# The import benchmark of issue 6: `rural-registry import assets --bulk` of a million-row CSV into a
# registry that has its places and parties but no assets, on PostgreSQL and on SQLite, against
# PostgreSQL's own COPY of the same file into a plain table plus indexes like idle_asset's.
# Targets: PostgreSQL import ≤ 3× COPY + indexes; SQLite import ≤ the PostgreSQL import. Then
# the SQLite import again with synchronous=normal, against the default (full), for durability's cost.
# Prints one line each (wall time, ratio, the importer's peak RSS) and the machine's conditions,
# and appends them to $BENCH_DIR/results.txt.
#
#   bench/import.sh                          # 1,000,000 rows
#   BENCH_ROWS=20000 bench/import.sh         # a quick check of the script
#   BENCH_REUSE=1 bench/import.sh            # again, on the source data of an earlier run
#
# Settings (environment):
#   BENCH_ROWS (1000000)  BENCH_SEED (1)
#   BENCH_DIR (/tmp/rr-import-bench: assets.csv, the SQLite files, logs, results.txt)
#   BENCH_PG (postgres://postgres@127.0.0.1:5432)
#   BENCH_PG_DB (rr_import: the source is $BENCH_PG_DB, kept; ${BENCH_PG_DB}_copy and
#     ${BENCH_PG_DB}_target are made anew and dropped at the end unless BENCH_KEEP=1)
#   BENCH_REUSE (0; 1 keeps the source database, assets.csv and the SQLite template made by an
#     earlier run with the same rows and seed)
#   BENCH_KEEP (0; 1 keeps the imported databases for inspection)
#   CARGO_TARGET_DIR (target)
# Needs: cargo, python3, psql, GNU time (/usr/bin/time) and a running PostgreSQL 15 (trust or
# a password in BENCH_PG); installs GNU time (apt) when missing and run as root.
#
# The data: `gen-synthetic --assets $BENCH_ROWS --seed $BENCH_SEED` into the source database,
# exported with `export assets`, keeping the synthetic rows only (the demo district's 400 assets
# are left out), so the file holds exactly BENCH_ROWS rows. The registry's targets hold the same
# places and parties with no assets: the PostgreSQL one is a copy of the source with idle_asset
# and what refers to it truncated; the SQLite one is the same seed generated into a fresh file
# (the generator is deterministic) with the assets and what refers to them deleted.
set -euo pipefail

ROWS=${BENCH_ROWS:-1000000}
SEED=${BENCH_SEED:-1}
WORK=${BENCH_DIR:-/tmp/rr-import-bench}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PG_DB=${BENCH_PG_DB:-rr_import}
COPY_DB=${PG_DB}_copy
TARGET_DB=${PG_DB}_target
REUSE=${BENCH_REUSE:-0}
KEEP=${BENCH_KEEP:-0}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/rural-registry
CSV=$WORK/assets.csv
SQLITE_TEMPLATE=$WORK/template.db
SQLITE_TARGET=$WORK/target.db
# Loopback: no TLS (sqlx would ask for it by default).
registry_pg() { echo "$PG/$1?sslmode=disable"; }
mkdir -p "$WORK/logs"
RESULTS=$WORK/results.txt

say() { echo "== $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
psql_q() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# --- Tools ---------------------------------------------------------------------------------
if [[ ! -x /usr/bin/time ]]; then
    [[ $(id -u) == 0 ]] || { echo "install GNU time first (apt-get install time)" >&2; exit 1; }
    say "installing GNU time"
    apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

say "building the release binary"
(cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release --quiet)

# --- Source data ---------------------------------------------------------------------------
# A marker per artefact says which dataset it holds, so BENCH_REUSE=1 never times other data.
DATASET="$ROWS assets, seed $SEED"
held=$(psql -X "$PG/$PG_DB" -tAc "SELECT description FROM pg_shdescription JOIN pg_database d ON d.oid = objoid WHERE d.datname = current_database()" 2>/dev/null || true)
if [[ $REUSE == 1 && $held == "$DATASET" && -s $CSV && $(cat "$CSV.dataset" 2>/dev/null) == "$DATASET" ]]; then
    say "reusing database $PG_DB and $CSV ($DATASET)"
else
    rm -f "$CSV" "$CSV.dataset"
    psql_q "$PG/postgres" -c "DROP DATABASE IF EXISTS \"$PG_DB\"" -c "CREATE DATABASE \"$PG_DB\""
    say "generating $DATASET into $PG_DB"
    "$BIN" --database-url "$(registry_pg "$PG_DB")" --log warn gen-synthetic --assets "$ROWS" --seed "$SEED" 2>&1 |
        tr '\r' '\n' | tail -n 3 | tee "$WORK/logs/generate-postgres.txt" >&2
    psql_q "$PG/$PG_DB" -c "COMMENT ON DATABASE \"$PG_DB\" IS '$DATASET'"
    say "exporting the assets"
    "$BIN" --database-url "$(registry_pg "$PG_DB")" --log warn export assets --format csv --output "$WORK/export.csv"
    # One record a line (no field of the export holds a line break): the header, then the
    # synthetic rows, byte for byte.
    { head -n 1 "$WORK/export.csv"; grep -a "^SYN-$SEED-" "$WORK/export.csv"; } >"$CSV"
    rm -f "$WORK/export.csv"
    echo "$DATASET" >"$CSV.dataset"
fi
csv_rows=$(($(wc -l <"$CSV") - 1))
[[ $csv_rows == "$ROWS" ]] || { echo "$CSV has $csv_rows rows, not $ROWS" >&2; exit 1; }
csv_bytes=$(stat -c %s "$CSV")
CSV_SIZE="$(awk -v b="$csv_bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }') ($csv_bytes bytes, $csv_rows rows)"
say "$CSV: $CSV_SIZE"

if [[ $REUSE == 1 && -f $SQLITE_TEMPLATE && $(cat "$SQLITE_TEMPLATE.dataset" 2>/dev/null) == "$DATASET" ]]; then
    say "reusing $SQLITE_TEMPLATE ($DATASET, assets removed)"
else
    rm -f "$SQLITE_TEMPLATE"* "$SQLITE_TEMPLATE.dataset"
    say "generating $DATASET into SQLite, for its places and parties"
    "$BIN" --database-url "sqlite://$SQLITE_TEMPLATE?mode=rwc" --log warn gen-synthetic --assets "$ROWS" --seed "$SEED" 2>&1 |
        tr '\r' '\n' | tail -n 3 | tee "$WORK/logs/generate-sqlite.txt" >&2
    say "removing its assets and what refers to them"
    python3 - "$SQLITE_TEMPLATE" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
refers = {t: {r[2] for r in db.execute(f'PRAGMA foreign_key_list("{t}")')} for t in tables}
# idle_asset and every table that refers to it, directly or through another (as TRUNCATE
# idle_asset CASCADE does on PostgreSQL); parties and places refer to none of them.
emptied, grew = {"idle_asset"}, True
while grew:
    more = {t for t in tables if refers[t] & emptied} - emptied
    emptied |= more
    grew = bool(more)
assert "party" not in emptied and "village" not in emptied, emptied
db.execute("PRAGMA foreign_keys = OFF")
db.execute("BEGIN")
for t in emptied:
    db.execute(f'DELETE FROM "{t}"')
db.execute("COMMIT")
db.execute("VACUUM")
db.execute("ANALYZE")
print("emptied", ", ".join(sorted(emptied)), "; parties kept:",
      db.execute("SELECT count(*) FROM party").fetchone()[0], file=sys.stderr)
EOF
    echo "$DATASET" >"$SQLITE_TEMPLATE.dataset"
fi

# --- Measure -------------------------------------------------------------------------------
{
    echo "# rural-registry import benchmark (issue 6), $(date -u '+%F %H:%M UTC'), $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "# machine: nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
    echo "# $(psql -X "$PG/postgres" -tAc "SELECT split_part(version(), ' on ', 1) || ', shared_buffers ' || current_setting('shared_buffers') || ', maintenance_work_mem ' || current_setting('maintenance_work_mem') || ', synchronous_commit ' || current_setting('synchronous_commit')")"
    echo "# file: $CSV, $CSV_SIZE, $DATASET"
    echo "# load average before: $(load)"
} | tee -a "$RESULTS"

# COPY's baseline: the CSV's columns, typed, in a plain table with a bigint identity key as
# idle_asset has, and indexes standing in for idle_asset's (the registry keeps ids where the
# file has codes: township, village and owner are bigint there, text here):
#   idle_asset                                 here
#   PRIMARY KEY (id)                           PRIMARY KEY (id)
#   UNIQUE (code)                              UNIQUE (code)
#   (township_id, status)                      (township_code, status)
#   (township_id, id)                          (township_code, id)
#   (village_id, id)                           (village_code, id)
#   (owner_id)                                 (owner_key)
#   (idle_since, id)                           (idle_since, id)
#   (floor_area_m2, id)                        (floor_area_m2, id)
#   (cell, lon, lat, id)                       (lon, lat, id)
psql_q "$PG/postgres" -c "DROP DATABASE IF EXISTS \"$COPY_DB\"" -c "CREATE DATABASE \"$COPY_DB\""
psql_q "$PG/$COPY_DB" -c "CREATE TABLE asset_copy (
    id bigint GENERATED ALWAYS AS IDENTITY,
    code text NOT NULL, kind text NOT NULL, status text, township_code text, village_code text,
    owner_key text NOT NULL, lon double precision NOT NULL, lat double precision NOT NULL,
    footprint text, land_area_m2 double precision, floor_area_m2 double precision,
    structure text, year_built integer, condition text, idle_since date, idle_cause text,
    owner_willingness text, address text)"
cat >"$WORK/copy.sql" <<EOF
\\timing on
BEGIN;
\\copy asset_copy (code, kind, status, township_code, village_code, owner_key, lon, lat, footprint, land_area_m2, floor_area_m2, structure, year_built, condition, idle_since, idle_cause, owner_willingness, address) FROM '$CSV' WITH (FORMAT csv, HEADER true)
ALTER TABLE asset_copy ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX asset_copy_code ON asset_copy (code);
CREATE INDEX asset_copy_township_status ON asset_copy (township_code, status);
CREATE INDEX asset_copy_township ON asset_copy (township_code, id);
CREATE INDEX asset_copy_village ON asset_copy (village_code, id);
CREATE INDEX asset_copy_owner ON asset_copy (owner_key);
CREATE INDEX asset_copy_idle_since ON asset_copy (idle_since, id);
CREATE INDEX asset_copy_floor_area ON asset_copy (floor_area_m2, id);
CREATE INDEX asset_copy_location ON asset_copy (lon, lat, id);
COMMIT;
EOF
say "COPY + indexes"
sync
start=$(now)
psql_q "$PG/$COPY_DB" -f "$WORK/copy.sql" >"$WORK/logs/copy.txt"
COPY_S=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
copied=$(psql -X "$PG/$COPY_DB" -tAc "SELECT count(*) FROM asset_copy")
[[ $copied == "$ROWS" ]] || { echo "COPY loaded $copied rows, not $ROWS" >&2; exit 1; }
printf '%-13s %7s s  (%s rows)\n' copy+indexes "$COPY_S" "$copied" | tee -a "$RESULTS"

# One timed `import assets`: sets SECS, RSS_MB, CPU (user+sys s of the importer) and OK.
run_import() { # engine url
    local log=$WORK/logs/import-$1.txt tv=$WORK/logs/time-$1.txt start rc=0
    say "import on $1"
    sync
    start=$(now)
    /usr/bin/time -v -o "$tv" "$BIN" --database-url "$2" --log warn import assets --bulk "$CSV" >"$log" 2>&1 || rc=$?
    SECS=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
    RSS_MB=$(awk -F: '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$tv")
    CPU=$(awk -F: '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$tv")
    OK=1
    if ((rc != 0)); then
        OK=0
        echo "$1: the import failed (exit $rc$(grep -q 'signal' "$tv" && grep -m1 'signal' "$tv" | sed 's/^[[:space:]]*/, /')) after $SECS s, peak RSS $RSS_MB MB; its last output:" >&2
        tr '\r' '\n' <"$log" | grep -v '^[[:space:]]*$' | tail -n 5 >&2
    fi
    tr '\r' '\n' <"$log" | grep -v '^[[:space:]]*$' | tail -n 1 >&2
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t ? "met" : "MISSED") }'; }

# The registry on PostgreSQL: the source's places and parties, no assets.
psql_q "$PG/postgres" -c "DROP DATABASE IF EXISTS \"$TARGET_DB\"" -c "CREATE DATABASE \"$TARGET_DB\" TEMPLATE \"$PG_DB\""
psql_q "$PG/$TARGET_DB" -c "TRUNCATE idle_asset CASCADE" -c "VACUUM ANALYZE"
[[ $(psql -X "$PG/$TARGET_DB" -tAc "SELECT count(*) > 0 FROM party") == t ]] || { echo "no parties left in $TARGET_DB" >&2; exit 1; }
run_import postgres "$(registry_pg "$TARGET_DB")"
PG_OK=$OK PG_S=$SECS
if ((OK)); then
    n=$(psql -X "$PG/$TARGET_DB" -tAc "SELECT count(*) FROM idle_asset")
    [[ $n == "$ROWS" ]] || { echo "postgres: $n assets after the import, not $ROWS" >&2; PG_OK=0; }
fi
if ((PG_OK)); then
    r=$(ratio "$PG_S" "$COPY_S")
    printf '%-13s %7s s  %5s× COPY (target ≤ 3×: %s)  peak RSS %s MB  CPU %s s\n' postgres "$PG_S" "$r" "$(verdict "$r" 3)" "$RSS_MB" "$CPU" | tee -a "$RESULTS"
else
    printf '%-13s FAILED after %s s  peak RSS %s MB  (see %s)\n' postgres "$PG_S" "$RSS_MB" "$WORK/logs/import-postgres.txt" | tee -a "$RESULTS"
fi

# The registry on SQLite: a copy of the template (places and parties, no assets).
rm -f "$SQLITE_TARGET"*
cp "$SQLITE_TEMPLATE" "$SQLITE_TARGET"
run_import sqlite "sqlite://$SQLITE_TARGET?mode=rwc"
SQ_OK=$OK SQ_S=$SECS
if ((OK)); then
    n=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM idle_asset").fetchone()[0])' "$SQLITE_TARGET")
    [[ $n == "$ROWS" ]] || { echo "sqlite: $n assets after the import, not $ROWS" >&2; SQ_OK=0; }
fi
if ((SQ_OK && PG_OK)); then
    r=$(ratio "$SQ_S" "$PG_S")
    printf '%-13s %7s s  %5s× PostgreSQL (target ≤ 1×: %s)  peak RSS %s MB  CPU %s s\n' sqlite "$SQ_S" "$r" "$(verdict "$r" 1)" "$RSS_MB" "$CPU" | tee -a "$RESULTS"
elif ((SQ_OK)); then
    printf '%-13s %7s s  (no PostgreSQL figure to compare)  peak RSS %s MB  CPU %s s\n' sqlite "$SQ_S" "$RSS_MB" "$CPU" | tee -a "$RESULTS"
else
    printf '%-13s FAILED after %s s  peak RSS %s MB  (see %s)\n' sqlite "$SQ_S" "$RSS_MB" "$WORK/logs/import-sqlite.txt" | tee -a "$RESULTS"
fi

# Durability's cost: the same SQLite import with synchronous=normal (the default is full: every
# commit synced; see the README's "Backups and durability").
if ((SQ_OK)); then
    rm -f "$SQLITE_TARGET"*
    cp "$SQLITE_TEMPLATE" "$SQLITE_TARGET"
    run_import sqlite-normal "sqlite://$SQLITE_TARGET?mode=rwc&synchronous=normal"
    if ((OK)); then
        printf '%-13s %7s s  %5s× synchronous=full  peak RSS %s MB  CPU %s s\n' "sqlite normal" "$SECS" "$(ratio "$SECS" "$SQ_S")" "$RSS_MB" "$CPU" | tee -a "$RESULTS"
    fi
fi
echo "# load average after: $(load); logs in $WORK/logs" | tee -a "$RESULTS"

if [[ $KEEP != 1 ]]; then
    psql_q "$PG/postgres" -c "DROP DATABASE IF EXISTS \"$COPY_DB\"" -c "DROP DATABASE IF EXISTS \"$TARGET_DB\""
    rm -f "$SQLITE_TARGET"*
fi
((PG_OK && SQ_OK))
