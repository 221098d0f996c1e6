#!/usr/bin/env bash
# A streaming replica of the local PostgreSQL cluster on 127.0.0.1:5433, for the tests of
# `DATABASE_READ_URL` (tests/api/replica.rs): a second cluster made by `pg_basebackup -R` from the
# main one, replaying its write-ahead log as a hot standby. Idempotent; needs root.
set -euo pipefail
port=5433
if pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null; then
    exit 0
fi
version=$(ls /etc/postgresql | sort -n | tail -n 1)
main_conf=/etc/postgresql/$version/main
# Replication connections from this machine, as the tests' other connections already are.
if ! grep -q '^host replication all 127.0.0.1/32 trust' "$main_conf/pg_hba.conf"; then
    echo 'host replication all 127.0.0.1/32 trust' >> "$main_conf/pg_hba.conf"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
fi
data=/var/lib/postgresql/$version/replica
if [ ! -d "/etc/postgresql/$version/replica" ]; then
    pg_createcluster "$version" replica -p "$port" >/dev/null
    cp "$main_conf/pg_hba.conf" "/etc/postgresql/$version/replica/pg_hba.conf"
fi
if [ ! -f "$data/standby.signal" ]; then
    # The new cluster's own files give way to a copy of the main one's.
    rm -rf "$data"
    install -d -o postgres -g postgres -m 700 "$data"
    su postgres -c "pg_basebackup -h 127.0.0.1 -p 5432 -U postgres -D '$data' -R -X stream"
fi
pg_ctlcluster --skip-systemctl-redirect "$version" replica start
for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p "$port" -q && break
    sleep 1
done
pg_isready -h 127.0.0.1 -p "$port"
psql -h 127.0.0.1 -p "$port" -U postgres -Atc 'SELECT pg_is_in_recovery()' | grep -q t
