#!/usr/bin/env bash
# confsync against dlt, side by side: one simulator, one PostgreSQL server,
# two fresh databases, confsync first and dlt second. Prints wall time, rows,
# rows/s, HTTP requests (the simulator's own counters) and peak RSS of each,
# the ratios, the machine, and a Markdown table for BENCHMARKS.md.
#
# PROFILE picks the server (default limit-off):
#   limit-off   no limits, no latency: the tools' own speed; also times
#               `confsync bench pages` (the same pages, no database) as the
#               simulator's serving limit.
#   documented  the document's limits (300/min on the two list endpoints,
#               none elsewhere) and 30 ms of latency, both tools at their
#               default settings.
#   video-120   as documented, plus an unstated 120/min on video/{confId}:
#               confsync only; prints its 429 share and the floor
#               (video calls / 120 per minute).
# The shape can be changed with CONFERENCES, HISTORY and
# RECORDINGS_PER_CONFERENCE (defaults: seed 42's 2000 / 20000 / 2).
#
# Run from anywhere: bash bench/compare_dlt.sh
# Needs: cargo, python3 (with venv), psql, a PostgreSQL server reachable as
# $PGUSER@$PGHOST:$PGPORT (default postgres@127.0.0.1:5432) that may create
# databases. Fails when the two tools do not load the same rows.
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH=bench
OUT=$BENCH/out
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
PG_URL="postgresql://$PGUSER@$PGHOST:$PGPORT"

SEED=42
PROFILE=${PROFILE:-limit-off}
CONFERENCES=${CONFERENCES:-2000}
HISTORY=${HISTORY:-20000}
RECORDINGS_PER_CONFERENCE=${RECORDINGS_PER_CONFERENCE:-2}
case "$PROFILE" in
    limit-off) SIM_FLAGS=(--list-requests-per-minute 0)
        # No budget on the lists either: the client as fast as it goes.
        CONFSYNC_BUDGETS=(CONFSYNC_CLOUDROOM__RATE_LIMITS__CONFERENCE_LIST=0
            CONFSYNC_CLOUDROOM__RATE_LIMITS__CONFERENCE_HISTORY=0) ;;
    documented) SIM_FLAGS=(--latency-ms 30); CONFSYNC_BUDGETS=() ;;
    video-120) SIM_FLAGS=(--latency-ms 30 --other-requests-per-minute video.list=120); CONFSYNC_BUDGETS=() ;;
    *) echo "PROFILE must be limit-off, documented or video-120" >&2; exit 2 ;;
esac
EXPECTED_RECORDINGS=$((HISTORY * RECORDINGS_PER_CONFERENCE))
SECRET_ID=6mioUaDlFdf3Bagt3s
SECRET_KEY=t02npiEZn82WqRl26Nfb0stD89bZkwTT
# A week more than the three years the simulator spreads its history over.
HISTORY_START=$(date -u -d '3 years ago 7 days ago' +%F)

say() { printf '\n== %s ==\n' "$*"; }

need_tools() {
    if ! command -v psql >/dev/null; then
        say "installing the PostgreSQL client"
        apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null
    fi
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        say "installing python3-venv"
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    fi
}

build() {
    say "building confsync (release)"
    cargo build --release --quiet
    say "python venv with dlt ($BENCH/requirements.txt)"
    [ -x $BENCH/.venv/bin/python ] || python3 -m venv $BENCH/.venv
    $BENCH/.venv/bin/pip install --quiet --disable-pip-version-check -r $BENCH/requirements.txt
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

SIM_PID=
stop_simulator() {
    if [ -n "$SIM_PID" ]; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
        SIM_PID=
    fi
}
trap stop_simulator EXIT

start_simulator() {
    PORT=$(free_port)
    SIM="http://127.0.0.1:$PORT"
    say "simulator on port $PORT: seed $SEED, $CONFERENCES conferences, $HISTORY history rows, $RECORDINGS_PER_CONFERENCE recordings each, profile $PROFILE (${SIM_FLAGS[*]})"
    target/release/confsync simulate --port "$PORT" --seed $SEED \
        --conferences $CONFERENCES --history $HISTORY \
        --recordings-per-conference $RECORDINGS_PER_CONFERENCE \
        "${SIM_FLAGS[@]}" >"$OUT/simulator.log" 2>&1 &
    SIM_PID=$!
    for _ in $(seq 1 300); do
        grep -q 'simulator listening' "$OUT/simulator.log" && return 0
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$OUT/simulator.log" >&2
    echo "the simulator did not start" >&2
    exit 1
}

fresh_database() {
    psql -d postgres -v ON_ERROR_STOP=1 -q \
        -c "drop database if exists $1 with (force)" -c "create database $1" 2>&1 |
        { grep -v 'does not exist, skipping' || true; }
}

# Runs one tool under measure.py, between two readings of the counters.
# $1 tool name; the rest is the command.
measured() {
    local tool=$1
    shift
    python3 $BENCH/report.py counters "$SIM" "$OUT/$tool.counters-before.json"
    local status=0
    python3 $BENCH/measure.py --out "$OUT/$tool.measure.json" -- "$@" \
        >"$OUT/$tool.stdout" 2>"$OUT/$tool.stderr" || status=$?
    python3 $BENCH/report.py counters "$SIM" "$OUT/$tool.counters-after.json"
    python3 $BENCH/report.py requests "$OUT/$tool.counters-before.json" \
        "$OUT/$tool.counters-after.json" >"$OUT/$tool.requests.json"
    cat "$OUT/$tool.stdout"
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$OUT/$tool.stderr" >&2
        echo "$tool failed with exit status $status" >&2
        exit 1
    fi
    echo "measured: $(cat "$OUT/$tool.measure.json")"
    echo "requests: $(cat "$OUT/$tool.requests.json")"
}

# $1: the name results are filed under ("confsync", or "confsync-resync" for
# a second run against the database the first one filled).
run_confsync() {
    local tool=${1:-confsync}
    say "$tool: confsync sync mirror --json"
    [ "$tool" = confsync ] && fresh_database bench_confsync
    measured "$tool" env -u CONFSYNC_CONFIG \
        CONFSYNC_DATABASE__URL="$PG_URL/bench_confsync" \
        CONFSYNC_CLOUDROOM__BASE_URL="$SIM/CLOUDROOM-SERVER" \
        CONFSYNC_CLOUDROOM__SECRET_ID=$SECRET_ID \
        CONFSYNC_CLOUDROOM__SECRET_KEY=$SECRET_KEY \
        "${CONFSYNC_BUDGETS[@]}" \
        CONFSYNC_CLOUDROOM__HISTORY_START="$HISTORY_START" \
        CONFSYNC_LOGGING__LEVEL=warn \
        target/release/confsync sync mirror --json
}

# $1: as for run_confsync; a re-sync keeps dlt's pipeline state and database.
run_dlt() {
    local tool=${1:-dlt}
    if [ "$PROFILE" != limit-off ]; then
        # The simulator counts requests per secretId over a sliding minute:
        # dlt starts once confsync's requests have left that window, or it
        # would pay for confsync's (it did, once confsync got fast enough).
        say "waiting 61 s for the simulator's rate window to clear"
        sleep 61
    fi
    say "$tool: $BENCH/dlt_mirror.py"
    if [ "$tool" = dlt ]; then
        fresh_database bench_dlt
        rm -rf "$OUT/dlt-pipelines"
    fi
    # The same CONFSYNC_CLOUDROOM__* variables, read by dlt_mirror.py.
    measured "$tool" env \
        CONFSYNC_CLOUDROOM__BASE_URL="$SIM/CLOUDROOM-SERVER" \
        CONFSYNC_CLOUDROOM__SECRET_ID=$SECRET_ID \
        CONFSYNC_CLOUDROOM__SECRET_KEY=$SECRET_KEY \
        CONFSYNC_CLOUDROOM__HISTORY_START="$HISTORY_START" \
        $BENCH/.venv/bin/python $BENCH/dlt_mirror.py \
        --database-url "$PG_URL/bench_dlt" --pipelines-dir "$OUT/dlt-pipelines"
}

# One line per table: rows and a digest of the sorted keys, so equal counts
# of different rows would still be caught.
table_facts() {
    local db=$1 start_epoch=$2
    psql -d "$db" -v ON_ERROR_STOP=1 -At -F ' ' <<SQL
select 'conferences', count(*), md5(coalesce(string_agg(conf_id::text, ',' order by conf_id), ''))
  from cloudroom.conferences;
select 'meeting_history', count(*),
       md5(coalesce(string_agg(conf_id::text || '@' || ($start_epoch)::text, ',' order by conf_id, $start_epoch), ''))
  from cloudroom.meeting_history;
select 'recordings', count(*), md5(coalesce(string_agg(file_id, ',' order by file_id), ''))
  from cloudroom.recordings;
SQL
}

machine_json() {
    python3 - "$@" <<'PY'
import json, sys
keys = ["date", "nproc", "cpu", "memory", "kernel", "postgres", "rustc", "python", "load_before", "load_after"]
print(json.dumps(dict(zip(keys, sys.argv[1:]))))
PY
}

# The same pages without a database: the simulator's serving limit.
run_pages() {
    say "confsync bench pages (no database)"
    measured pages env -u CONFSYNC_CONFIG CONFSYNC_LOGGING__LEVEL=warn \
        target/release/confsync bench pages --base-url "$SIM/CLOUDROOM-SERVER" \
        --history-start "$HISTORY_START"
}

# video-120: confsync alone, its 429 share and its wall time against the floor.
video_profile() {
    start_simulator
    run_confsync
    stop_simulator
    python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
with open(f"{out}/confsync.measure.json") as f:
    seconds = json.load(f)["seconds"]
with open(f"{out}/confsync.requests.json") as f:
    r = json.load(f)
ok = r["by_endpoint_status"].get("video.list 200", 0)
refused = r["by_endpoint_status"].get("video.list 429", 0)
floor = ok / 120 * 60
print()
print("| video/{confId} at 120/min | confsync |")
print("|---|---:|")
print(f"| video calls answered 200 | {ok} |")
print(f"| video calls answered 429 | {refused} ({100 * refused / max(ok, 1):.1f} % of the calls) |")
print(f"| floor (calls / 120 per min) | {floor:.1f} s |")
print(f"| wall time | {seconds:.1f} s ({seconds / floor:.2f}× the floor) |")
PY
}

main() {
    mkdir -p $OUT
    need_tools
    build
    if [ "$PROFILE" = video-120 ]; then
        video_profile
        return
    fi
    local load_before
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    start_simulator
    [ "$PROFILE" = limit-off ] && run_pages
    run_confsync
    run_dlt
    # Nothing changed at the source: what does each tool ask for a second time?
    run_confsync confsync-resync
    run_dlt dlt-resync
    stop_simulator
    local load_after
    load_after=$(cut -d' ' -f1-3 /proc/loadavg)

    say "checking both databases"
    table_facts bench_confsync 'extract(epoch from start_time)::bigint' >"$OUT/confsync.tables"
    table_facts bench_dlt 'start_time' >"$OUT/dlt.tables"
    paste -d' ' "$OUT/confsync.tables" "$OUT/dlt.tables" |
        awk '{ printf "%-16s confsync %6s rows (keys %s)   dlt %6s rows (keys %s)\n", $1, $2, substr($3,1,12), $5, substr($6,1,12) }'
    local failed=0
    if ! diff -q "$OUT/confsync.tables" "$OUT/dlt.tables" >/dev/null; then
        echo "FAIL: the two databases differ" >&2
        failed=1
    fi
    local expected="conferences $CONFERENCES
meeting_history $HISTORY
recordings $EXPECTED_RECORDINGS"
    if [ "$(cut -d' ' -f1-2 "$OUT/confsync.tables")" != "$expected" ]; then
        echo "FAIL: confsync did not load the expected rows:" >&2
        echo "$expected" >&2
        failed=1
    fi
    [ "$failed" -eq 0 ] || exit 1

    local cpu memory
    cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    memory=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
    machine_json "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$cpu" "$memory" \
        "Linux $(uname -r)" "$(psql -d postgres -Atc 'show server_version' | cut -d' ' -f1)" \
        "$(rustc --version | cut -d' ' -f1-2)" \
        "$($BENCH/.venv/bin/python -c 'import platform; print(platform.python_version())')" \
        "$load_before" "$load_after" >"$OUT/machine.json"

    python3 - "$OUT" <<PY >"$OUT/results.json"
import json, sys
out = sys.argv[1]
def load(name):
    with open(f"{out}/{name}") as f:
        return json.load(f)
def rows(tool):
    with open(f"{out}/{tool}.tables") as f:
        return {line.split()[0]: int(line.split()[1]) for line in f if line.strip()}
result = {
    "sim": {"seed": $SEED, "conferences": $CONFERENCES, "history": $HISTORY,
            "recordings_per_conference": $RECORDINGS_PER_CONFERENCE},
    "expected": {"conferences": $CONFERENCES, "meeting_history": $HISTORY,
                 "recordings": $EXPECTED_RECORDINGS},
    "machine": load("machine.json"),
    "versions": {
        "confsync": "$(target/release/confsync --version | cut -d' ' -f2)",
        "dlt": "$($BENCH/.venv/bin/python -c 'import dlt; print(dlt.__version__)')",
    },
}
for tool in ("confsync", "dlt"):
    result[tool] = {"rows": rows(tool), "measure": load(f"{tool}.measure.json"),
                    "requests": load(f"{tool}.requests.json")}
print(json.dumps(result, indent=1))
PY
    python3 $BENCH/report.py compare "$OUT/results.json"
    python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def fig(tool):
    with open(f"{out}/{tool}.measure.json") as f:
        m = json.load(f)
    with open(f"{out}/{tool}.requests.json") as f:
        r = json.load(f)
    return m["seconds"], r["total"], m["peak_rss_kib"] / 1024
(cs, cr, cm), (ds, dr, dm) = fig("confsync-resync"), fig("dlt-resync")
print()
print("| no-change re-sync | confsync | dlt | confsync vs dlt |")
print("|---|---:|---:|---:|")
print(f"| wall time | {cs:.2f} s | {ds:.2f} s | {ds / cs:.1f}× faster |")
print(f"| HTTP requests | {cr} | {dr} | {cr / dr:.4f}× ({dr - cr} fewer) |")
print(f"| peak RSS | {cm:.1f} MiB | {dm:.1f} MiB | {cm / dm:.2f}× |")
PY
}

main "$@"
