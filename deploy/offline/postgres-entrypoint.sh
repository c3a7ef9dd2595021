#!/bin/sh
# First start: create the cluster with POSTGRES_USER as its superuser (password login from
# the network) and the database POSTGRES_DB; then run the server in the foreground.
set -eu
data=/var/lib/postgresql/data
if [ ! -s "$data/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
    user="${POSTGRES_USER:-postgres}"
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb -D "$data" -U "$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust \
        --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$data/pg_hba.conf"
    echo "host all all ::/0 scram-sha-256" >>"$data/pg_hba.conf"
    echo "CREATE DATABASE \"${POSTGRES_DB:-$user}\" OWNER \"$user\";" |
        postgres --single -D "$data" postgres >/dev/null
fi
exec postgres -D "$data" -c listen_addresses='*'
