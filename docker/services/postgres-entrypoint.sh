#!/bin/sh
# Initialise PGDATA on first start (like the official image), then run the server in front.
set -eu

# Arbitrary UID (like the official image): initdb and `postgres --single` look the running user
# up and fail ("could not look up effective user ID 10003: user does not exist") when it has no
# passwd entry. nss_wrapper supplies one from files in a temporary directory.
if ! getent passwd "$(id -u)" >/dev/null 2>&1; then
    wrapper=$(find /usr/lib -name libnss_wrapper.so -print -quit)
    if [ -n "$wrapper" ]; then
        nss_dir=$(mktemp -d)
        echo "postgres:x:$(id -u):$(id -g):PostgreSQL:${PGDATA}:/bin/false" > "$nss_dir/passwd"
        echo "postgres:x:$(id -g):" > "$nss_dir/group"
        export LD_PRELOAD="$wrapper" NSS_WRAPPER_PASSWD="$nss_dir/passwd" \
            NSS_WRAPPER_GROUP="$nss_dir/group"
    fi
fi

user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"

if [ "${1:-postgres}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
        echo "POSTGRES_PASSWORD is required (or POSTGRES_HOST_AUTH_METHOD=trust)" >&2
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
    initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust \
        --auth-host="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" --no-sync >/dev/null
    rm -f "$pwfile"
    echo "host all all all ${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >> "$PGDATA/pg_hba.conf"
    if [ "$db" != postgres ]; then
        echo "CREATE DATABASE \"$db\" OWNER \"$user\";" \
            | postgres --single -D "$PGDATA" -j postgres >/dev/null
    fi
    echo "initialised $PGDATA (user $user, database $db)"
fi

if [ "${1:-postgres}" = postgres ]; then
    [ "$#" -gt 0 ] && shift
    exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
