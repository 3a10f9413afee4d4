#!/usr/bin/env bash
# The mirror against its fetch-only floor (as bench/mirror_floor.sh), with
# the CPU each process used: confsync (user + system, from time), the
# simulator and every PostgreSQL process (from /proc, children included),
# read around each command. Tells whether a run is bound by waiting or by
# the 2 cores it shares with the simulator and PostgreSQL.
#
# Run from anywhere: bash bench/mirror_cpu.sh   (ROUNDS="1 2 3" by default)
# Needs: cargo, python3, psql, bc, GNU time and a local PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=target/release/confsync
DB=bench_mirror_floor
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SIM="http://127.0.0.1:$PORT/CLOUDROOM-SERVER"
LOG=$(mktemp)
$BIN simulate --port "$PORT" --seed 42 --conferences 2000 --history 20000 \
    --recordings-per-conference 2 --list-requests-per-minute 0 >"$LOG" 2>&1 &
SIMPID=$!
trap 'kill $SIMPID; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do grep -q 'simulator listening' "$LOG" && break; sleep 0.1; done
START=$(date -u -d '3 years ago 7 days ago' +%F)
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export CONFSYNC_DATABASE__URL=postgres://$PGUSER@$PGHOST:$PGPORT/$DB \
    CONFSYNC_CLOUDROOM__BASE_URL=$SIM \
    CONFSYNC_CLOUDROOM__SECRET_ID=6mioUaDlFdf3Bagt3s \
    CONFSYNC_CLOUDROOM__SECRET_KEY=t02npiEZn82WqRl26Nfb0stD89bZkwTT \
    CONFSYNC_CLOUDROOM__HISTORY_START=$START \
    CONFSYNC_CLOUDROOM__RATE_LIMITS__CONFERENCE_LIST=0 \
    CONFSYNC_CLOUDROOM__RATE_LIMITS__CONFERENCE_HISTORY=0 \
    CONFSYNC_LOGGING__LEVEL=warn
unset CONFSYNC_CONFIG
# CPU seconds of a process (children included) from /proc/PID/stat.
cpu_of_pid() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15+$16+$17)/hz}' "/proc/$1/stat"; }
cpu_of_postgres() {
    local total=0 pid
    for pid in $(pgrep -x postgres); do
        total=$(echo "$total + $(cpu_of_pid "$pid" 2>/dev/null || echo 0)" | bc)
    done
    echo "$total"
}
for round in ${ROUNDS:-1 2 3}; do
    s0=$(cpu_of_pid $SIMPID)
    /usr/bin/time -f "round $round: bench pages  wall %e s, confsync %U + %S s" \
        $BIN bench pages --base-url "$SIM" --history-start "$START" >/dev/null
    echo "  simulator $(echo "$(cpu_of_pid $SIMPID) - $s0" | bc) s"
    psql -d postgres -q -c "drop database if exists $DB with (force)" -c "create database $DB" 2>/dev/null
    $BIN migrate >/dev/null
    s0=$(cpu_of_pid $SIMPID) p0=$(cpu_of_postgres)
    /usr/bin/time -f "round $round: sync mirror  wall %e s, confsync %U + %S s" \
        $BIN sync mirror >/dev/null
    sleep 1 # the postmaster adds an ended backend's CPU once it has reaped it
    echo "  simulator $(echo "$(cpu_of_pid $SIMPID) - $s0" | bc) s, PostgreSQL $(echo "$(cpu_of_postgres) - $p0" | bc) s"
done
