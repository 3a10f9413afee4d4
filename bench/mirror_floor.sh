#!/usr/bin/env bash
# The first `sync mirror` against the fetch-only floor, side by side in one
# run: `confsync bench pages` fetches the same pages from the same
# simulator with the same client and no database. Seed 42, 2,000
# conferences, 20,000 history rows, 2 recordings each, limits off. Each
# pair runs ROUNDS times (default 3) on a fresh database; prints the
# seconds of each and the ratio of the medians, for BENCHMARKS.md, with the
# CPU each process used: confsync (from measure.py), the simulator and every
# PostgreSQL process (from /proc, children included), read around each
# command, which tells whether a run waits or is bound by the 2 cores it
# shares with the simulator and PostgreSQL.
#
# LATENCY_MS (default 0) adds that much latency to each of the simulator's
# answers, as a vendor that is not on localhost does; CONCURRENCY (default
# 16) is `bench pages --concurrency`. The floor is the fastest fetch-only
# walk: 16 at no latency (more only adds contention on 2 cores), the
# mirror's own 256 (`cloudroom.recordings_concurrency`) with latency, where
# 16 would leave the floor slower than the mirror.
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
LATENCY_MS=${LATENCY_MS:-0}
CONCURRENCY=${CONCURRENCY:-16}
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
    --recordings-per-conference 2 --list-requests-per-minute 0 --latency-ms "$LATENCY_MS" \
    >"$OUT/simulator.log" 2>&1 &
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
: >"$OUT/cpu"
# CPU seconds of a process (children included) from /proc/PID/stat.
cpu_of_pid() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15+$16+$17)/hz}' "/proc/$1/stat"; }
cpu_of_postgres() {
    local total=0 pid
    for pid in $(pgrep -x postgres); do
        total=$(python3 -c "print($total + $(cpu_of_pid "$pid" 2>/dev/null || echo 0))")
    done
    echo "$total"
}
for round in $(seq 1 "$ROUNDS"); do
    s0=$(cpu_of_pid $SIM_PID)
    python3 $BENCH/measure.py --out "$OUT/pages-$round.json" -- \
        target/release/confsync bench pages --base-url "$SIM" --history-start "$START" \
        --concurrency "$CONCURRENCY" >/dev/null
    echo "pages $(cpu_of_pid $SIM_PID) $s0 0 0" >>"$OUT/cpu"
    psql -d postgres -q -c "drop database if exists $DB with (force)" -c "create database $DB" 2>/dev/null
    target/release/confsync migrate >/dev/null
    s0=$(cpu_of_pid $SIM_PID) p0=$(cpu_of_postgres)
    python3 $BENCH/measure.py --out "$OUT/mirror-$round.json" -- \
        target/release/confsync sync mirror >/dev/null
    sleep 1 # the postmaster adds an ended backend's CPU once it has reaped it
    echo "mirror $(cpu_of_pid $SIM_PID) $s0 $(cpu_of_postgres) $p0" >>"$OUT/cpu"
done
LATENCY_MS=$LATENCY_MS CONCURRENCY=$CONCURRENCY python3 - "$OUT" "$ROUNDS" <<'PY'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
load = lambda kind: [json.load(open(f"{out}/{kind}-{r}.json")) for r in range(1, rounds + 1)]
pages, mirror = load("pages"), load("mirror")
p = [x["seconds"] for x in pages]; m = [x["seconds"] for x in mirror]
print("bench pages (fetch only): " + ", ".join(f"{s:.2f} s" for s in p))
print("sync mirror (first sync): " + ", ".join(f"{s:.2f} s" for s in m)
      + f"; peak RSS {max(x['peak_rss_kib'] for x in mirror) / 1024:.1f} MiB")
print(f"mirror / floor: {statistics.median(m) / statistics.median(p):.2f}x (medians)")
print(f"(simulator latency {os.environ.get('LATENCY_MS', '0')} ms, bench pages concurrency "
      f"{os.environ.get('CONCURRENCY', '16')})")
cpu = {"pages": [], "mirror": []}
for line in open(f"{out}/cpu"):
    kind, s1, s0, p1, p0 = line.split()
    cpu[kind].append((float(s1) - float(s0), float(p1) - float(p0)))
for kind, runs in (("pages", pages), ("mirror", mirror)):
    own = statistics.median(r["user_seconds"] + r["system_seconds"] for r in runs)
    sim = statistics.median(c[0] for c in cpu[kind])
    pg = statistics.median(c[1] for c in cpu[kind])
    print(f"{kind} CPU (medians): confsync {own:.2f} s, simulator {sim:.2f} s, "
          f"PostgreSQL {pg:.2f} s, all {own + sim + pg:.2f} s")
PY
