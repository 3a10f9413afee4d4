#!/usr/bin/env bash
# Two PgBouncers (Debian's package) in front of the local PostgreSQL, for
# tests/it/pooler.rs: session mode on 127.0.0.1:6432, transaction mode on
# 127.0.0.1:6433. Every database name passes through (`* =`), and clients
# are trusted as the server trusts them. Run as root: PgBouncer itself runs
# as postgres, since it refuses to run as root. A second run leaves running
# ones alone.
set -euo pipefail

dir=/etc/confsync-ci-pgbouncer
install -d -m 0755 -o postgres -g postgres "$dir"
echo '"postgres" ""' >"$dir/userlist.txt"

start() { # mode, port
    local conf=$dir/$1.ini
    cat >"$conf" <<INI
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $2
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = $1
max_client_conn = 200
default_pool_size = 20
ignore_startup_parameters = extra_float_digits,options
pidfile = $dir/$1.pid
logfile = $dir/$1.log
INI
    chown postgres:postgres "$conf"
    if pg_isready -h 127.0.0.1 -p "$2" -q; then
        return 0
    fi
    pgbouncer -d -u postgres "$conf"
    for _ in $(seq 1 50); do
        pg_isready -h 127.0.0.1 -p "$2" -q && return 0
        sleep 0.1
    done
    echo "PgBouncer ($1 mode) did not come up on 127.0.0.1:$2 (see $dir/$1.log)" >&2
    exit 1
}

start session 6432
start transaction 6433
