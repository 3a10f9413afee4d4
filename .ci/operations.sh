#!/usr/bin/env bash
# The daemon as an operator runs it, checked the way their tools check it:
#   1. `promtool check rules` on monitoring/alerts.yml;
#   2. a daemon (mirror and directory push against `confsync simulate`)
#      under strace; its probes must answer, and `promtool check metrics`
#      must accept its real /metrics;
#   3. the unit's hardening, which systemd is not here to apply: the daemon
#      runs in namespaces that do what `ProcSubset=pid`, `ProtectProc=
#      invisible`, `PrivateDevices`/`DevicePolicy=closed` and `PrivateMounts`
#      do (a /proc of its own pids only, a /dev of the pseudo devices only,
#      a mount namespace of its own), and what it did under strace must
#      hold no system call of `SystemCallFilter=~@privileged @resources`,
#      no mount and no System V IPC (`RemoveIPC`).
# Needs: target/debug/confsync built, root (for the namespaces), PostgreSQL
# on 127.0.0.1:5432, curl, unshare, strace and promtool (.ci/run installs
# the last two from Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=$PWD/target/debug/confsync
PROMTOOL=${PROMTOOL:-promtool}
WORK=$(mktemp -d)
DB=confsync_ci_operations
SIM_PID=
DAEMON_PID=
cleanup() {
    [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null || true
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"; [ -n "${KEEP:-}" ] && echo "kept $WORK" >&2; true
}
trap cleanup EXIT

say() { printf '== %s\n' "$*"; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() {
    for _ in $(seq 1 100); do
        curl -fsS "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "no answer from $1" >&2
    exit 1
}

say "promtool check rules monitoring/alerts.yml"
"$PROMTOOL" check rules monitoring/alerts.yml

psql -h 127.0.0.1 -U postgres -qc "drop database if exists $DB" -c "create database $DB" >/dev/null
SIM_PORT=$(free_port)
HTTP_PORT=$(free_port)
"$BIN" simulate --port "$SIM_PORT" --conferences 20 --history 100 >"$WORK/simulator.log" 2>&1 &
SIM_PID=$!
wait_for "http://127.0.0.1:$SIM_PORT/__admin/counters"
CLOUDROOM_URL=$(sed -n 's/.*cloudroom.base_url = "\(.*\)"/\1/p' "$WORK/simulator.log")
ALIYUN_URL=$(sed -n 's/.*aliyun.endpoint *= "\(.*\)"/\1/p' "$WORK/simulator.log")

export CONFSYNC_DATABASE__URL=postgres://postgres@127.0.0.1:5432/$DB
export CONFSYNC_CLOUDROOM__BASE_URL=$CLOUDROOM_URL
export CONFSYNC_CLOUDROOM__SECRET_ID=6mioUaDlFdf3Bagt3s
export CONFSYNC_CLOUDROOM__SECRET_KEY=t02npiEZn82WqRl26Nfb0stD89bZkwTT
export CONFSYNC_ALIYUN__ENDPOINT=$ALIYUN_URL
export CONFSYNC_ALIYUN__ACCESS_KEY_ID=sim-access-key-id
export CONFSYNC_ALIYUN__ACCESS_KEY_SECRET=sim-access-key-secret
export CONFSYNC_ALIYUN__GROUP_ID=88 CONFSYNC_ALIYUN__GROUP_NAME=sample
export CONFSYNC_DIRECTORY__SOURCE=$PWD/config/sample-hr.csv
export CONFSYNC_HTTP__LISTEN=127.0.0.1:$HTTP_PORT
export CONFSYNC_SCHEDULE__CONFERENCES="*/2 * * * * *" CONFSYNC_SCHEDULE__HISTORY="*/2 * * * * *"
export CONFSYNC_SCHEDULE__RECORDINGS="*/2 * * * * *" CONFSYNC_SCHEDULE__DIRECTORY="*/3 * * * * *"
export CONFSYNC_SCHEDULE__DETAILS="*/2 * * * * *" CONFSYNC_SCHEDULE__RECONCILE=off CONFSYNC_SCHEDULE__ARCHIVE=off CONFSYNC_LOGGING__LEVEL=warn
"$BIN" migrate >/dev/null

say "the daemon under strace, with /proc and /dev as the unit leaves them"
TRACE=$WORK/trace BIN=$BIN unshare --pid --fork --mount --propagation private sh -ec '
    mount -t proc -o subset=pid,hidepid=invisible proc /proc
    mount -t tmpfs -o mode=755 dev /dev
    for device in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
        set -- $device
        mknod -m 666 "/dev/$1" c "$2" "$3"
    done
    exec strace -f -qq -o "$TRACE" "$BIN" run' 2>"$WORK/daemon.log" &
DAEMON_PID=$!
wait_for "http://127.0.0.1:$HTTP_PORT/livez"
# Every job gets a few ticks.
sleep 8
curl -fsS "http://127.0.0.1:$HTTP_PORT/readyz" | grep -qx ok
curl -fsS "http://127.0.0.1:$HTTP_PORT/metrics" >"$WORK/metrics.txt"
# strace passes no signal on: stop the daemon itself.
pkill -TERM -f "^$BIN run\$"
wait "$DAEMON_PID"
DAEMON_PID=
grep -q 'confsync_runs_total{confsync_job="directory",outcome="succeeded",tenant="default"} [1-9]' "$WORK/metrics.txt" || {
    echo "the daemon did not complete a directory push:" >&2
    cat "$WORK/daemon.log" >&2
    exit 1
}

say "promtool check metrics (a real /metrics)"
"$PROMTOOL" check metrics <"$WORK/metrics.txt"

say "the daemon's system calls against the unit's filter"
# systemd's sets nest (@privileged holds @chown, ...): expand them all.
expand() {
    local todo=("$@") done_sets=" " out=()
    while [ ${#todo[@]} -gt 0 ]; do
        local set=${todo[0]}
        todo=("${todo[@]:1}")
        case "$done_sets" in *" $set "*) continue ;; esac
        done_sets+="$set "
        while read -r line; do
            case "$line" in
                "" | "#"* | "@"*:) ;;
                @*) todo+=("$line") ;;
                *) out+=("$line") ;;
            esac
        done < <(systemd-analyze syscall-filter "$set" | tail -n +2)
    done
    printf '%s\n' "${out[@]}" | sort -u
}
expand @privileged @resources >"$WORK/denied"
python3 - "$WORK/trace" "$WORK/denied" <<'EOF'
import re, sys
trace, denied = open(sys.argv[1]).read().splitlines(), set(open(sys.argv[2]).read().split())
calls, paths = set(), set()
for line in trace:
    m = re.match(r"\d+\s+(\w+)\((.*)", line)
    if not m:
        continue
    calls.add(m.group(1))
    for path in re.findall(r'"(/(?:proc|dev)/[^"]*)"', m.group(2)):
        paths.add(path)
problems = sorted(f"system call {c} is in ~@privileged @resources" for c in calls & denied)
problems += sorted(f"system call {c} (PrivateMounts/RemoveIPC)" for c in calls
                   & {"mount", "umount2", "pivot_root", "shmget", "semget", "msgget"})
own = re.compile(r"/proc/(self|thread-self|\d+)(/|$)")
hidden = sorted(p for p in paths if p.startswith("/proc/") and not own.match(p))
print(f"{len(calls)} distinct system calls; none denied" if not problems else "denied:")
for p in problems:
    print("  -", p)
# Read and found missing, as under the unit: the run above worked without them.
for p in hidden:
    print(f"  hidden, and done without: {p}")
sys.exit(1 if problems else 0)
EOF
say "operations: ok"
