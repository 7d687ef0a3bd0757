#!/usr/bin/env bash
# A private PostgreSQL cluster on loopback for the relay's tests and benchmarks.
#   scripts/postgres.sh install   apt-get install postgresql if no server binaries are found
#   scripts/postgres.sh start     initdb (first time) and start; prints `export MANO_TEST_POSTGRES_*=…`
#   scripts/postgres.sh stop      stop it (fast shutdown)
#   scripts/postgres.sh restart   stop then start (the relay tests use it to simulate an outage)
#   scripts/postgres.sh status    exit 0 if it runs
#   scripts/postgres.sh dsn       print its DSN
# Settings (environment): MANO_PG_PORT (default 54329), MANO_PG_DIR (default
# ${TMPDIR:-/tmp}/mano-pg-<uid>-<port>). The cluster trusts loopback connections of user "mano":
# it is a throw-away test cluster, never a production setup (see docs/operations.md).
set -euo pipefail

port="${MANO_PG_PORT:-54329}"
base="${MANO_PG_DIR:-${TMPDIR:-/tmp}/mano-pg-$(id -u)-$port}"
data="$base/data"
sock="$base/run"
logfile="$base/postgres.log"
dsn="postgresql://mano@127.0.0.1:$port/postgres"

find_bin() {
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return
    fi
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then
        echo "$d"
    fi
}

# PostgreSQL refuses to run as root: as root, run its tools as the "postgres" system user.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cmd_install() {
    if [ -n "$(find_bin)" ]; then
        return
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "postgres.sh: no PostgreSQL server found; install Debian's postgresql package" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
}

running() {
    local bin="$1"
    [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

cmd_start() {
    local bin
    bin="$(find_bin)"
    if [ -z "$bin" ]; then
        echo "postgres.sh: no PostgreSQL server binaries (run: scripts/postgres.sh install)" >&2
        exit 1
    fi
    if ! running "$bin"; then
        mkdir -p "$base" "$sock"
        if [ "$(id -u)" = 0 ]; then
            chown -R postgres: "$base"
        fi
        if [ ! -f "$data/PG_VERSION" ]; then
            as_owner "$bin/initdb" -D "$data" --username=mano --auth=trust --encoding=UTF8 \
                --no-locale >"$base/initdb.log" 2>&1 || { cat "$base/initdb.log" >&2; exit 1; }
        fi
        # Each relay node holds a pool plus a listener connection: allow plenty.
        as_owner "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t 60 start \
            -o "-k $sock -p $port -c listen_addresses=127.0.0.1 -c max_connections=200" \
            >/dev/null || { tail -n 20 "$logfile" >&2; exit 1; }
    fi
    echo "export MANO_TEST_POSTGRES_DSN=$dsn"
    echo "export MANO_TEST_POSTGRES_CTL=$(cd "$(dirname "$0")" && pwd)/postgres.sh"
}

cmd_stop() {
    local bin
    bin="$(find_bin)"
    if [ -n "$bin" ] && running "$bin"; then
        as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop; cmd_start >/dev/null ;;
    status) bin="$(find_bin)"; [ -n "$bin" ] && running "$bin" ;;
    dsn) echo "$dsn" ;;
    *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
