#!/usr/bin/env bash
# The rate-limit ceiling: how much of CloudRoom's request allowance a long
# mirror uses, and whether it ever oversteps it.
#
# A simulator limited to 300 requests per sliding minute with 10 ms of latency
# and far more data than 3 minutes can read; `confsync sync mirror` with its
# limiter at the same 300/min, stopped with SIGTERM after 3 minutes. Prints
# requests answered, answers with 429, and the utilisation
#   answered / (300 × minutes the mirror ran)
# against the targets: at least 97 % and no 429 at all.
#
# Run from anywhere: bash bench/rate_limit_ceiling.sh (about 3.5 minutes after
# the build). Needs cargo, python3, psql and PostgreSQL as for compare_dlt.sh.
# Exits 1 when a target is missed.
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH=bench
OUT=$BENCH/out
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
PG_URL="postgresql://$PGUSER@$PGHOST:$PGPORT"
DB=bench_ratelimit

PER_MINUTE=300
LATENCY_MS=10
RUN_SECONDS=${RUN_SECONDS:-180}
CONFERENCES=50
HISTORY=200000

say() { printf '\n== %s ==\n' "$*"; }

SIM_PID=
stop_simulator() {
    if [ -n "$SIM_PID" ]; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
        SIM_PID=
    fi
}
trap stop_simulator EXIT

mkdir -p $OUT
say "building confsync (release)"
cargo build --release --quiet

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SIM="http://127.0.0.1:$PORT"
say "simulator on port $PORT: $PER_MINUTE requests/min, ${LATENCY_MS} ms latency, $CONFERENCES conferences, $HISTORY history rows"
target/release/confsync simulate --port "$PORT" --seed 42 \
    --conferences $CONFERENCES --history $HISTORY --recordings-per-conference 1 \
    --list-requests-per-minute $PER_MINUTE --latency-ms $LATENCY_MS >"$OUT/ratelimit-simulator.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 600); do
    grep -q 'simulator listening' "$OUT/ratelimit-simulator.log" && break
    kill -0 "$SIM_PID" 2>/dev/null || { cat "$OUT/ratelimit-simulator.log" >&2; exit 1; }
    sleep 0.1
done

psql -d postgres -v ON_ERROR_STOP=1 -q -c "drop database if exists $DB with (force)" \
    -c "create database $DB" 2>&1 | { grep -v 'does not exist, skipping' || true; }
# Migrate before the clock starts, so the 3 minutes are all mirror.
env -u CONFSYNC_CONFIG CONFSYNC_DATABASE__URL="$PG_URL/$DB" CONFSYNC_LOGGING__LEVEL=warn \
    target/release/confsync migrate >/dev/null

python3 $BENCH/report.py counters "$SIM" "$OUT/ratelimit.counters-before.json"
say "confsync sync mirror for ${RUN_SECONDS} s (then SIGTERM)"
started=$(date +%s.%N)
status=0
env -u CONFSYNC_CONFIG \
    CONFSYNC_DATABASE__URL="$PG_URL/$DB" \
    CONFSYNC_CLOUDROOM__BASE_URL="$SIM/CLOUDROOM-SERVER" \
    CONFSYNC_CLOUDROOM__SECRET_ID=6mioUaDlFdf3Bagt3s \
    CONFSYNC_CLOUDROOM__SECRET_KEY=t02npiEZn82WqRl26Nfb0stD89bZkwTT \
    CONFSYNC_CLOUDROOM__REQUESTS_PER_MINUTE=$PER_MINUTE \
    CONFSYNC_CLOUDROOM__HISTORY_START="$(date -u -d '3 years ago 7 days ago' +%F)" \
    CONFSYNC_LOGGING__LEVEL=warn \
    timeout -s TERM -k 20 "$RUN_SECONDS" target/release/confsync sync mirror --json \
    >"$OUT/ratelimit.stdout" 2>"$OUT/ratelimit.stderr" || status=$?
ended=$(date +%s.%N)
python3 $BENCH/report.py counters "$SIM" "$OUT/ratelimit.counters-after.json"
stop_simulator
cat "$OUT/ratelimit.stdout"
# Stopped by the timeout, the mirror reports the cancelled job as failed: expected here.
echo "sync exit status: $status (124 = stopped by the timeout)"
tail -n 5 "$OUT/ratelimit.stderr"

python3 $BENCH/report.py requests "$OUT/ratelimit.counters-before.json" \
    "$OUT/ratelimit.counters-after.json" >"$OUT/ratelimit.requests.json"
python3 - "$OUT/ratelimit.requests.json" "$started" "$ended" "$PER_MINUTE" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    requests = json.load(f)
seconds = float(sys.argv[3]) - float(sys.argv[2])
per_minute = int(sys.argv[4])
# The history list is the limited endpoint this run spends its time on.
answered = requests["by_endpoint"].get("conference.history", 0)
allowed = per_minute * seconds / 60
utilisation = answered / allowed
print()
print(f"ran {seconds:.1f} s; requests by endpoint {requests['by_endpoint']}, by status {requests['by_status']}")
print(f"history requests answered:   {answered}")
print(f"answers with 429:            {requests['status_429']}")
print(f"allowed in {seconds / 60:.2f} min:        {allowed:.0f} ({per_minute}/min)")
print(f"utilisation:                 {100 * utilisation:.1f} % (target >= 97 %)")
ok = utilisation >= 0.97 and requests["status_429"] == 0
print("PASS" if ok else "FAIL: below 97 % or some 429")
sys.exit(0 if ok else 1)
PY
