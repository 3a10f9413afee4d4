#!/usr/bin/env bash
# The first `sync mirror` against the fetch-only floor, side by side in one
# run: `confsync bench pages` fetches the same pages from the same
# simulator with the same client and no database. Seed 42, 2,000
# conferences, 20,000 history rows, 2 recordings each, limits off. Each
# pair runs ROUNDS times (default 3) on a fresh database; prints the
# seconds of each and the ratio of the medians, for BENCHMARKS.md.
#
# Run from anywhere: bash bench/mirror_floor.sh
# Needs: cargo, python3, psql and a PostgreSQL server as in compare_dlt.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH=bench
OUT=$BENCH/out/mirror_floor
mkdir -p "$OUT"
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
DB=bench_mirror_floor
ROUNDS=${ROUNDS:-3}
SIM_PID=
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null || true; }
trap cleanup EXIT
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cargo build --release --quiet
PORT=$(free_port)
SIM="http://127.0.0.1:$PORT/CLOUDROOM-SERVER"
target/release/confsync simulate --port "$PORT" --seed 42 --conferences 2000 --history 20000 \
    --recordings-per-conference 2 --list-requests-per-minute 0 >"$OUT/simulator.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 100); do grep -q 'simulator listening' "$OUT/simulator.log" && break; sleep 0.1; done
START=$(date -u -d '3 years ago 7 days ago' +%F)
export CONFSYNC_DATABASE__URL=postgres://$PGUSER@$PGHOST:$PGPORT/$DB \
    CONFSYNC_CLOUDROOM__BASE_URL=$SIM \
    CONFSYNC_CLOUDROOM__SECRET_ID=6mioUaDlFdf3Bagt3s \
    CONFSYNC_CLOUDROOM__SECRET_KEY=t02npiEZn82WqRl26Nfb0stD89bZkwTT \
    CONFSYNC_CLOUDROOM__HISTORY_START=$START \
    CONFSYNC_CLOUDROOM__RATE_LIMITS__CONFERENCE_LIST=0 \
    CONFSYNC_CLOUDROOM__RATE_LIMITS__CONFERENCE_HISTORY=0 \
    CONFSYNC_LOGGING__LEVEL=warn
unset CONFSYNC_CONFIG
: >"$OUT/times"
for round in $(seq 1 "$ROUNDS"); do
    python3 $BENCH/measure.py --out "$OUT/pages-$round.json" -- \
        target/release/confsync bench pages --base-url "$SIM" --history-start "$START" >/dev/null
    psql -d postgres -q -c "drop database if exists $DB with (force)" -c "create database $DB" 2>/dev/null
    python3 $BENCH/measure.py --out "$OUT/mirror-$round.json" -- \
        target/release/confsync sync mirror >/dev/null
done
python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
load = lambda kind: [json.load(open(f"{out}/{kind}-{r}.json")) for r in range(1, rounds + 1)]
pages, mirror = load("pages"), load("mirror")
p = [x["seconds"] for x in pages]; m = [x["seconds"] for x in mirror]
print("bench pages (fetch only): " + ", ".join(f"{s:.2f} s" for s in p))
print("sync mirror (first sync): " + ", ".join(f"{s:.2f} s" for s in m)
      + f"; peak RSS {max(x['peak_rss_kib'] for x in mirror) / 1024:.1f} MiB")
print(f"mirror / floor: {statistics.median(m) / statistics.median(p):.2f}x (medians)")
PY
