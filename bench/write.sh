#!/usr/bin/env bash
# The write benchmark: what durability costs. Concurrent clients register idle assets
# (registerIdleAsset, one transaction each: the asset, its audit event, the tally's cell) on the
# release server, on SQLite with synchronous=full (the default: every commit synced, a power cut
# loses nothing acknowledged), on SQLite with synchronous=normal (the WAL synced at checkpoints
# only: a power cut can lose the last commits), and on PostgreSQL (synchronous_commit as the
# server has it) for reference. Prints one line each (writes/s, p50, p99, errors) and the ratio
# normal ÷ full, with the machine's load, and appends them to $BENCH_DIR/results.txt.
#
#   bench/write.sh                            # 16 connections, 20 s a run after a 5 s warm-up
#   BENCH_DURATION=5 BENCH_WARMUP=1 bench/write.sh   # a quick check of the script
#
# Settings (environment):
#   BENCH_CONNECTIONS (16)  BENCH_THREADS (2, wrk's)  BENCH_DURATION (20)  BENCH_WARMUP (5)
#   BENCH_ENGINES ("sqlite-full sqlite-normal postgres")
#   BENCH_DIR (/tmp/rr-write-bench: the SQLite files, logs, results.txt)
#   BENCH_PG (postgres://postgres@127.0.0.1:5432)  BENCH_PG_DB (rr_write, made anew each run)
#   BENCH_PORT (18090)  CARGO_TARGET_DIR (target)
# Needs: cargo, curl, wrk (installed with apt when missing and run as root), and for the
# PostgreSQL run a running PostgreSQL (trust or a password in BENCH_PG).
#
# Each run starts from the demo district in a new database: the registry's own writes, not a
# growing table, are what is timed. The disk matters more than the CPU here: a synced commit
# costs what the disk's flush costs (on a laptop SSD ~0.1–1 ms, on a VM's network disk
# several ms), so compare the ratio on one machine, never figures across machines.
set -euo pipefail

CONNECTIONS=${BENCH_CONNECTIONS:-16}
THREADS=${BENCH_THREADS:-2}
DURATION=${BENCH_DURATION:-20}
WARMUP=${BENCH_WARMUP:-5}
ENGINES=${BENCH_ENGINES:-sqlite-full sqlite-normal postgres}
WORK=${BENCH_DIR:-/tmp/rr-write-bench}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PG_DB=${BENCH_PG_DB:-rr_write}
PORT=${BENCH_PORT:-18090}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/rural-registry
mkdir -p "$WORK/logs"
RESULTS=$WORK/results.txt

say() { echo "== $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

if ! command -v wrk >/dev/null; then
    [[ $(id -u) == 0 ]] || { echo "install wrk first (apt-get)" >&2; exit 1; }
    say "installing wrk"
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

say "building the release server"
(cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release --quiet)

SERVER_PID=
stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
trap stop_server EXIT

url_of() { # engine
    case $1 in
        sqlite-full) echo "sqlite://$WORK/full.db?mode=rwc" ;;
        sqlite-normal) echo "sqlite://$WORK/normal.db?mode=rwc&synchronous=normal" ;;
        postgres) echo "$PG/$PG_DB?sslmode=disable" ;;
        *) echo "unknown engine $1" >&2; exit 1 ;;
    esac
}

# Party 1's global ID: base64url("Party:1") without padding.
OWNER=$(printf 'Party:1' | base64 | tr '+/' '-_' | tr -d '=')
declare -A RPS=()
{
    echo "# $(date -u +%FT%TZ) write benchmark: registerIdleAsset, $CONNECTIONS connections, wrk -t$THREADS, ${DURATION} s after ${WARMUP} s warm-up"
    echo "# machine: $(nproc) cores, load before $(load)"
} | tee -a "$RESULTS"
for engine in $ENGINES; do
    url=$(url_of "$engine")
    case $engine in
        sqlite-*) rm -f "$WORK/${engine#sqlite-}.db"* ;;
        postgres) psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\"" -c "CREATE DATABASE \"$PG_DB\"" ;;
    esac
    say "$engine: the demo district"
    "$BIN" --database-url "$url" --log warn seed >/dev/null
    token=$("$BIN" --database-url "$url" --log warn token create --role admin --label "write bench" 2>/dev/null)
    RATE_LIMIT_PER_MINUTE=0 "$BIN" --database-url "$url" --listen "127.0.0.1:$PORT" \
        --log warn serve --no-demo >"$WORK/logs/server-$engine.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 120); do
        curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
            --data '{"query":"{ __typename }"}' "http://127.0.0.1:$PORT/graphql" && break
        sleep 0.5
    done
    export AUTH="Bearer $token" OWNER
    RUN=warm wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$ROOT/bench/write/register.lua" \
        "http://127.0.0.1:$PORT/graphql" >/dev/null
    before=$(load)
    read -r _ requests rps p50 p99 errors < <(RUN=w wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
        --timeout 10s -s "$ROOT/bench/write/register.lua" "http://127.0.0.1:$PORT/graphql" | grep '^RESULT')
    RPS[$engine]=$rps
    stop_server
    printf '%-14s %8s writes/s  p50 %7s ms  p99 %7s ms  %s writes, %s errors  (load %s → %s)\n' \
        "$engine" "$rps" "$p50" "$p99" "$requests" "$errors" "$before" "$(load)" | tee -a "$RESULTS"
    # Every acknowledged write is in the database, and the registry's rules still hold.
    "$BIN" --database-url "$url" --log warn check >"$WORK/logs/check-$engine.txt" ||
        { echo "$engine: the check failed; see $WORK/logs/check-$engine.txt" >&2; exit 1; }
done
if [[ -n ${RPS[sqlite-full]:-} && -n ${RPS[sqlite-normal]:-} ]]; then
    python3 -c "import sys; f, n = map(float, sys.argv[1:]); print(f'sqlite normal ÷ full: {n / f:.2f}× the writes/s')" \
        "${RPS[sqlite-full]}" "${RPS[sqlite-normal]}" | tee -a "$RESULTS"
fi
if [[ $ENGINES == *postgres* ]]; then
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\""
fi
