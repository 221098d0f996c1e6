#!/usr/bin/env bash
# Two builds of the registry, alternated on the same data, under the same load: what a change
# bought, measured in one run so that the machine's load falls on both alike.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY            # Q4 (signed in) and an OGC page, 3 rounds
#
# Each round starts OLD, then NEW, on the same SQLite file (and on PostgreSQL when BENCH_PG is
# set), and runs each query for BENCH_SECONDS with wrk at BENCH_CONNECTIONS, after a warm-up;
# prints one line per binary, query and round (req/s, p50, p99, errors), the load average, and
# the NEW/OLD ratio of the median req/s of each query.
#
# Settings (environment): BENCH_ASSETS (200000), BENCH_SECONDS (10), BENCH_WARMUP (2),
#   BENCH_CONNECTIONS (32), BENCH_ROUNDS (3), BENCH_DIR (/tmp/rr-ab), BENCH_PG (unset: SQLite only;
#   e.g. postgres://postgres@127.0.0.1:5432 adds PostgreSQL, database rr_ab, made anew).
# Needs wrk (apt-get install wrk), python3 and curl.
set -euo pipefail

OLD=${1:?the old binary}
NEW=${2:?the new binary}
ASSETS=${BENCH_ASSETS:-200000}
DURATION=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
ROUNDS=${BENCH_ROUNDS:-3}
WORK=${BENCH_DIR:-/tmp/rr-ab}
PORT=5061
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK/bodies"

say() { echo "== $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# The queries: Q4 of bench/geo.sh (500 assets in a polygon, as GeoJSON, signed in, which names
# each asset's township and village), and a signed-in OGC page of 500 assets.
python3 - "$WORK/bodies" <<'EOF'
import json, sys
polygon = {"type": "Polygon", "coordinates": [[[117.1195, 28.1175], [117.1705, 28.1175],
          [117.1705, 28.1625], [117.145, 28.15], [117.1195, 28.1625], [117.1195, 28.1175]]]}
literal = json.dumps(polygon).replace('"type"', "type").replace('"coordinates"', "coordinates")
q4 = f'{{ idleAssetsGeoJson(within: {{polygon: {{geometry: {literal}}}}}, limit: 500) }}'
with open(f"{sys.argv[1]}/Q4.json", "w") as f:
    json.dump({"query": q4}, f)
EOF

databases=("sqlite://$WORK/registry.db?mode=rwc")
if [ ! -s "$WORK/registry.db" ]; then
    say "a SQLite district of $ASSETS synthetic assets"
    "$NEW" --database-url "${databases[0]}" --log warn gen-synthetic --assets "$ASSETS" --seed 1 >/dev/null
fi
if [ -n "${BENCH_PG:-}" ]; then
    psql "$BENCH_PG/postgres" -qc "DROP DATABASE IF EXISTS rr_ab" -c "CREATE DATABASE rr_ab" >/dev/null
    databases+=("$BENCH_PG/rr_ab?sslmode=disable")
    say "a PostgreSQL district of $ASSETS synthetic assets"
    "$NEW" --database-url "${databases[1]}" --log warn gen-synthetic --assets "$ASSETS" --seed 1 >/dev/null
fi

run() { # binary label database
    local token pid
    token=$("$1" --database-url "$3" --log warn token create --role admin --label "ab $(date +%F)" 2>/dev/null)
    RATE_LIMIT_PER_MINUTE=0 "$1" --database-url "$3" --listen "127.0.0.1:$PORT" --log warn serve --no-demo \
        >"$WORK/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 120); do
        curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
            --data '{"query":"{ __typename }"}' "http://127.0.0.1:$PORT/graphql" && break
        sleep 0.5
    done
    local engine=${3%%:*}
    # Q4 over GraphQL.
    BODY=$WORK/bodies/Q4.json AUTH="Bearer $token" wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" \
        -s "$ROOT/bench/geo/post.lua" "http://127.0.0.1:$PORT/graphql" >/dev/null
    BODY=$WORK/bodies/Q4.json AUTH="Bearer $token" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" \
        -s "$ROOT/bench/geo/post.lua" "http://127.0.0.1:$PORT/graphql" |
        awk -v b="$2" -v e="$engine" '/^RESULT/ { print b, e, "Q4", $3, $4, $5, $6 }'
    # A page of an OGC collection, signed in.
    local items="http://127.0.0.1:$PORT/ogc/collections/idle-assets/items?limit=500&bbox=117.1195,28.1175,117.1705,28.1625"
    wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -H "Authorization: Bearer $token" "$items" >/dev/null
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $token" \
        -s "$ROOT/bench/ab/get.lua" "$items" |
        awk -v b="$2" -v e="$engine" '/^RESULT/ { print b, e, "OGC", $3, $4, $5, $6 }'
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

echo "# $ASSETS assets, $CONNECTIONS connections, ${DURATION} s a query after ${WARMUP} s; load before: $(load)"
echo "# binary engine query req/s p50_ms p99_ms errors"
{
    for round in $(seq 1 "$ROUNDS"); do
        for db in "${databases[@]}"; do
            run "$OLD" old "$db"
            run "$NEW" new "$db"
        done
        say "round $round done; load $(load)"
    done
} | tee "$WORK/results.txt"
echo "# load after: $(load)"
python3 - "$WORK/results.txt" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if not l.startswith("#")]
for engine in sorted({r[1] for r in rows}):
    for q in sorted({r[2] for r in rows}):
        rate = {b: statistics.median(float(r[3]) for r in rows if r[:3] == [b, engine, q])
                for b in ("old", "new")}
        print(f"# {engine} {q}: median req/s old {rate['old']:.0f}, new {rate['new']:.0f}, "
              f"new/old {rate['new'] / rate['old']:.2f}")
EOF
