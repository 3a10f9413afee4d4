#!/usr/bin/env bash
# Gives the local PostgreSQL a throwaway CA of its own, for the TLS tests
# (tests/it/database_tls.rs):
# - a CA made here, and a server certificate it signs for `localhost`;
# - a client certificate for the role confsync_tls, which pg_hba.conf admits
#   by certificate only (`hostssl ... cert`).
# The files live in /etc/confsync-ci-tls; the server's
# ssl_ca_file points there, which is how the tests find them. Run as root;
# a second run keeps the certificates it made.
set -euo pipefail

dir=/etc/confsync-ci-tls
version=$(ls /etc/postgresql | head -n1)
hba=/etc/postgresql/$version/main/pg_hba.conf

psql_admin() { psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

make_certificates() {
    local work
    work=$(mktemp -d)
    cd "$work"
    openssl req -x509 -new -nodes -newkey rsa:2048 -days 3650 \
        -subj "/CN=confsync CI throwaway CA" -keyout ca.key -out ca.crt 2>/dev/null
    sign() { # name, subject, extended key usage, subjectAltName or empty
        openssl req -new -nodes -newkey rsa:2048 -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
        {
            echo "basicConstraints=CA:FALSE"
            echo "keyUsage=digitalSignature,keyEncipherment"
            echo "extendedKeyUsage=$3"
            [ -n "$4" ] && echo "subjectAltName=$4"
        } >"$1.ext"
        openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
            -days 3650 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    }
    sign server "/CN=localhost" serverAuth "DNS:localhost"
    sign client "/CN=confsync_tls" clientAuth ""
    install -d -m 0755 "$dir" "$dir/client"
    install -m 0644 ca.crt server.crt "$dir/"
    install -m 0600 -o postgres -g postgres server.key "$dir/server.key"
    install -m 0644 ca.crt client.crt "$dir/client/"
    install -m 0600 client.key "$dir/client/client.key"
    cd / && rm -rf "$work"
}

[ -f "$dir/client/client.key" ] || make_certificates

if ! grep -q '^hostssl all confsync_tls' "$hba"; then
    sed -i "1i hostssl all confsync_tls 127.0.0.1/32 cert" "$hba"
fi
psql_admin <<SQL
alter system set ssl = on;
alter system set ssl_cert_file = '$dir/server.crt';
alter system set ssl_key_file = '$dir/server.key';
alter system set ssl_ca_file = '$dir/ca.crt';
select pg_reload_conf() \gset
do \$\$ begin
  if not exists (select 1 from pg_roles where rolname = 'confsync_tls') then
    create role confsync_tls login superuser;
  end if;
end \$\$;
SQL
# The reload is asynchronous: wait until the server serves the new files.
for _ in $(seq 1 50); do
    [ "$(psql_admin -c 'show ssl_ca_file')" = "$dir/ca.crt" ] && exit 0
    sleep 0.1
done
echo "PostgreSQL did not load $dir (see its log)" >&2
exit 1
