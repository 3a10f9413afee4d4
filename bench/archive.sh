#!/usr/bin/env bash
# The archive against the simulator's full-size files, side by side in one
# run with two baselines of the same files, as many at once as the
# archive's concurrency: the fair one, curl to the same disk and then
# sha256sum of each file (what the archive does: store the bytes and hash
# them), and the raw one, curl to /dev/null with no checks (the network's
# ceiling); then the peak RSS of archiving one 2 GiB file. Prints MB/s,
# the ratios and peak RSS for BENCHMARKS.md.
#
# Run from anywhere: bash bench/archive.sh
# Needs: cargo, python3, curl, psql and a PostgreSQL server as in
# compare_dlt.sh; about 4 GiB of free disk under $TMPDIR (the archive is
# removed at the end).
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH=bench
OUT=$BENCH/out/archive
mkdir -p "$OUT"
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
DB=bench_archive
HISTORY=${HISTORY:-6}
CONCURRENCY=4
WORK=$(mktemp -d)
SIM_PID=
cleanup() {
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n== %s ==\n' "$*"; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

say "building confsync (release)"
cargo build --release --quiet
PORT=$(free_port)
SIM="http://127.0.0.1:$PORT"
target/release/confsync simulate --port "$PORT" --conferences 5 --history "$HISTORY" \
    --recordings-per-conference 1 --serve-files --full-size-files >"$OUT/simulator.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 100); do grep -q 'simulator listening' "$OUT/simulator.log" && break; sleep 0.1; done

psql -d postgres -q -c "drop database if exists $DB with (force)" -c "create database $DB" 2>/dev/null
export CONFSYNC_DATABASE__URL=postgres://$PGUSER@$PGHOST:$PGPORT/$DB \
    CONFSYNC_CLOUDROOM__BASE_URL=$SIM/CLOUDROOM-SERVER \
    CONFSYNC_CLOUDROOM__SECRET_ID=6mioUaDlFdf3Bagt3s \
    CONFSYNC_CLOUDROOM__SECRET_KEY=t02npiEZn82WqRl26Nfb0stD89bZkwTT \
    CONFSYNC_CLOUDROOM__HISTORY_START=$(date -u -d '3 years ago 7 days ago' +%F) \
    CONFSYNC_ARCHIVE__CONCURRENCY=$CONCURRENCY \
    CONFSYNC_LOGGING__LEVEL=warn
unset CONFSYNC_CONFIG
target/release/confsync sync mirror >/dev/null
URLS=$WORK/urls
psql -d $DB -Atc "select download_url from cloudroom.recordings" >"$URLS"
BYTES=$(psql -d $DB -Atc "select sum(size_bytes) from cloudroom.recordings")
FILES=$(wc -l <"$URLS")

say "raw download: $FILES files, $BYTES bytes, $CONCURRENCY at once, no checks"
python3 $BENCH/measure.py --out "$OUT/raw.json" -- \
    sh -c "xargs -P $CONCURRENCY -n 1 curl -s -o /dev/null <'$URLS'"
say "fair baseline: curl to the same disk, then sha256sum, $CONCURRENCY at once"
mkdir -p "$WORK/curl"
# Each URL is .../files/{fileId}/f0.mp4?download: the file id names the copy.
python3 $BENCH/measure.py --out "$OUT/fair.json" -- \
    sh -c "xargs -P $CONCURRENCY -n 1 sh -c 'f=$WORK/curl/\$(echo \"\$0\" | cut -d/ -f5).mp4; curl -s -o \"\$f\" \"\$0\" && sha256sum \"\$f\" >/dev/null' <'$URLS'"
rm -rf "$WORK/curl"
say "confsync archive run (file:// store)"
CONFSYNC_ARCHIVE__LOCATION=file://$WORK/archive \
    python3 $BENCH/measure.py --out "$OUT/archive.json" -- target/release/confsync archive run
ARCHIVED=$(psql -d $DB -Atc "select count(*) from cloudroom.recording_files where archived_at is not null")
rm -rf "$WORK/archive"

say "one 2 GiB file"
CONF=$(psql -d $DB -Atc "select conf_id from cloudroom.meeting_history limit 1")
curl -s -X POST "$SIM/__admin/recordings" -H 'content-type: application/json' \
    -d "{\"confId\": $CONF, \"fileId\": \"bench2gib\", \"size\": 2147483648}" >/dev/null
target/release/confsync sync recordings --full >/dev/null
CONFSYNC_ARCHIVE__LOCATION=file://$WORK/archive \
    python3 $BENCH/measure.py --out "$OUT/big.json" -- target/release/confsync archive run
BIG=$(psql -d $DB -Atc "select bytes from cloudroom.recording_files where file_id = 'bench2gib' and archived_at is not null")

python3 - "$OUT" "$BYTES" "$FILES" "$ARCHIVED" "${BIG:-0}" <<'EOF'
import json, sys
out, total, files, archived, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
raw, fair, arch, large = (json.load(open(f"{out}/{n}.json")) for n in ("raw", "fair", "archive", "big"))
mb = total / 1e6
print(f"\n{files} files, {mb:.0f} MB; archived {archived}")
print(f"raw download : {raw['seconds']:.2f} s, {mb / raw['seconds']:.0f} MB/s")
print(f"curl + sha256sum: {fair['seconds']:.2f} s, {mb / fair['seconds']:.0f} MB/s")
print(f"archive run  : {arch['seconds']:.2f} s, {mb / arch['seconds']:.0f} MB/s "
      f"({fair['seconds'] / arch['seconds']:.2f}x the rate of curl + sha256sum, "
      f"{raw['seconds'] / arch['seconds']:.2f}x the raw download's), peak RSS {arch['peak_rss_kib'] / 1024:.1f} MiB")
print(f"2 GiB file   : {big} bytes archived in {large['seconds']:.2f} s, peak RSS {large['peak_rss_kib'] / 1024:.1f} MiB")
EOF
