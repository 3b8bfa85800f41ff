#!/usr/bin/env bash
# The ai_scale demo: installs what is missing, builds and installs the extension, starts a
# local Postgres (preloading ai_scale) and Redis under .run/ in this checkout, creates the
# extension in database ai_scale_demo and shows what it can do.
# Usage: bash scripts/demo.sh [start|stop|status]   (start is the default)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
run="$root/.run"
action=${1:-start}

stop() {
    [ -f "$run/env" ] || { echo "demo: nothing running"; return 0; }
    # shellcheck source=/dev/null
    source "$run/env"
    source scripts/lib/services.sh
    pg_stop "$DEMO_PGDATA"
    redis_stop "$run/redis"
    rm -f "$run/env"
    echo "demo: stopped Postgres and Redis (data kept in $run; delete it to start afresh)"
}

status() {
    [ -f "$run/env" ] || { echo "demo: not running"; return 1; }
    # shellcheck source=/dev/null
    source "$run/env"
    echo "demo: Postgres on 127.0.0.1:$DEMO_PGPORT (data $DEMO_PGDATA), Redis on 127.0.0.1:$DEMO_REDIS_PORT"
    echo "      psql -h 127.0.0.1 -p $DEMO_PGPORT -U postgres ai_scale_demo"
}

psql_demo() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$DEMO_PGPORT" -U postgres "$@"; }

start() {
    if [ -f "$run/env" ]; then
        echo "demo: already running"
        status
        return 0
    fi
    bash scripts/setup.sh
    source scripts/lib/services.sh
    mkdir -p "$run"
    chmod 755 "$run"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$run"
    # The cluster lives in the checkout when the postgres user can reach it, else in /var/tmp.
    DEMO_PGDATA="$run/pg"
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$run"; then
        DEMO_PGDATA=/var/tmp/ai_scale_demo/pg
        mkdir -p /var/tmp/ai_scale_demo
        chown postgres:postgres /var/tmp/ai_scale_demo
        echo "demo: the postgres user cannot enter $run; keeping the cluster in $DEMO_PGDATA"
    fi
    DEMO_PGPORT=$(free_port)
    DEMO_REDIS_PORT=$(free_port)
    if [ ! -f "$DEMO_PGDATA/PG_VERSION" ]; then
        pg_init "$DEMO_PGDATA" "$DEMO_PGPORT" yes
    else
        sed -i "s/^port = .*/port = $DEMO_PGPORT/" "$DEMO_PGDATA/postgresql.conf"
    fi
    sed -i '/^ai_scale\./d' "$DEMO_PGDATA/postgresql.conf"
    redis_start "$run/redis" "$DEMO_REDIS_PORT"
    pg_start "$DEMO_PGDATA" || { cat "$DEMO_PGDATA.log"; exit 1; }
    cat >"$run/env" <<ENV
DEMO_PGDATA=$DEMO_PGDATA
DEMO_PGPORT=$DEMO_PGPORT
DEMO_REDIS_PORT=$DEMO_REDIS_PORT
ENV
    export DEMO_PGPORT
    echo "demo: Postgres 15 on 127.0.0.1:$DEMO_PGPORT (shared_preload_libraries = ai_scale), Redis on 127.0.0.1:$DEMO_REDIS_PORT"

    psql_demo -d postgres -c "DROP DATABASE IF EXISTS ai_scale_demo" -c "CREATE DATABASE ai_scale_demo"
    psql_demo -d ai_scale_demo -c "CREATE EXTENSION ai_scale"
    echo "demo: CREATE EXTENSION ai_scale in database ai_scale_demo"
    psql_demo -d ai_scale_demo -P pager=off <<'SQL'
\echo
\echo '== ai_scale.version() and build_info()'
SELECT ai_scale.version();
SELECT key, value FROM jsonb_each_text(ai_scale.build_info()) ORDER BY key;
\echo '== the stats view (counters in shared memory, shared by all backends)'
SELECT section, metric, value FROM ai_scale.stats WHERE metric IN ('hits', 'misses', 'runs') ORDER BY 1, 2;
SQL
    echo
    status
    echo "      stop with: bash scripts/demo.sh stop"
}

case "$action" in
start) start ;;
stop) stop ;;
status) status ;;
*) echo "usage: bash scripts/demo.sh [start|stop|status]" >&2; exit 2 ;;
esac
