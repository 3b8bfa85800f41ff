#!/usr/bin/env bash
# The ai_scale demo: installs what is missing, builds and installs the extension, starts a
# local Postgres (preloading ai_scale) and Redis under .run/ in this checkout, creates the
# extension in database ai_scale_demo and runs the whole story: a prediction store, an XGBoost
# model, a burst of predict() calls served more and more from the cache, the stats, maintenance.
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
        # The file outlives its servers (the demo interrupted as it started them, a reboot).
        source scripts/lib/services.sh
        # shellcheck source=/dev/null
        source "$run/env"
        if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$DEMO_PGPORT" &&
            redis-cli -p "$DEMO_REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
            echo "demo: already running"
            status
            return 0
        fi
        echo "demo: its Postgres or Redis is not running; starting afresh"
        stop
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
    pg_conf "$DEMO_PGDATA" "ai_scale.redis_primary = '127.0.0.1:$DEMO_REDIS_PORT'"
    # Written before the servers start, so that stop finds whichever did; quoted for source (the
    # checkout's path may have a space in it).
    printf 'DEMO_PGDATA=%q\nDEMO_PGPORT=%q\nDEMO_REDIS_PORT=%q\n' "$DEMO_PGDATA" "$DEMO_PGPORT" \
        "$DEMO_REDIS_PORT" >"$run/env"
    redis_start "$run/redis" "$DEMO_REDIS_PORT" || { stop; exit 1; }
    pg_start "$DEMO_PGDATA" || { cat "$DEMO_PGDATA.log"; stop; exit 1; }
    export DEMO_PGPORT
    echo "demo: Postgres 15 on 127.0.0.1:$DEMO_PGPORT (shared_preload_libraries = ai_scale), Redis on 127.0.0.1:$DEMO_REDIS_PORT"

    psql_demo -d postgres -c "DROP DATABASE IF EXISTS ai_scale_demo" -c "CREATE DATABASE ai_scale_demo"
    psql_demo -d ai_scale_demo -c "CREATE EXTENSION ai_scale"
    echo "demo: CREATE EXTENSION ai_scale in database ai_scale_demo"
    AI_SCALE_DEMO_MODEL="$root/test/data/scoring/xgb_regression.json" \
        psql_demo -d ai_scale_demo -P pager=off <<'SQL'
\set QUIET on
\echo
\echo '== ai_scale.version()'
SELECT ai_scale.version();
\echo '== 1. the prediction store: public.model_predictions, range-partitioned by day, managed by ai_scale'
SELECT ai_scale.create_prediction_store() AS store;
\echo '== 2. a model: the XGBoost dump test/data/scoring/xgb_regression.json (30 trees, 6 features)'
\set model_json `cat "$AI_SCALE_DEMO_MODEL"`
SELECT ai_scale.import_xgboost('house_price', :'model_json'::jsonb) AS version;
\echo '== 3. one prediction, then the same again'
SELECT ai_scale.predict('house_price', '{"f0": 1.535, "f1": -1.764, "f2": 1.865, "f3": -3.082, "f4": 1.333, "f5": 1.89}');
SELECT ai_scale.predict('house_price', '{"f0": 1.535, "f1": -1.764, "f2": 1.865, "f3": -3.082, "f4": 1.333, "f5": 1.89}');
\echo '== 4. a burst: 5 rounds of 2000 predict() calls over 2000 distinct inputs (round 5 with L1 off: Redis answers)'
SELECT ai_scale.reset_stats();
SET client_min_messages = notice;
DO $$
DECLARE
    inputs jsonb[];
    src text;
    counts jsonb;
    t0 timestamptz;
BEGIN
    SELECT array_agg(jsonb_build_object('f0', round((random() * 6 - 3)::numeric, 2),
                                        'f1', round((random() * 6 - 3)::numeric, 2),
                                        'f2', round((random() * 6 - 3)::numeric, 2),
                                        'f3', round((random() * 6 - 3)::numeric, 2),
                                        'f4', round((random() * 6 - 3)::numeric, 2),
                                        'f5', round((random() * 6 - 3)::numeric, 2)))
        INTO inputs FROM generate_series(1, 2000);
    FOR r IN 1..5 LOOP
        IF r = 5 THEN
            PERFORM set_config('ai_scale.cache_use_l1', 'off', true);
        END IF;
        t0 := clock_timestamp();
        SELECT jsonb_object_agg(s, n) INTO counts FROM (
            SELECT ai_scale.predict('house_price', inputs[1 + (random() * 1999)::int]) ->> 'source' AS s,
                   count(*) AS n
            FROM generate_series(1, 2000) GROUP BY 1) c;
        RAISE NOTICE 'round %/5: 2000 predictions in % ms; served by %', r,
            round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000), counts;
        -- Each round its own transaction, as requests are: what a round stores (store_mode
        -- sync) reaches L1 and Redis when it commits.
        COMMIT;
    END LOOP;
END $$;
\echo '== 5. the stats view: hit ratio per level (ai_scale.stats)'
SELECT section AS level, hits, misses,
       round((100 * hits / nullif(hits + misses, 0))::numeric, 1) AS hit_pct
FROM (SELECT section, max(value) FILTER (WHERE metric = 'hits') AS hits,
             max(value) FILTER (WHERE metric = 'misses') AS misses
      FROM ai_scale.stats WHERE section IN ('l1', 'l2', 'l3') GROUP BY section) s
ORDER BY 1;
SELECT value AS rows_scored_on_cpu FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_cpu';
SELECT count(*) AS predictions_stored FROM public.model_predictions;
\echo '== 6. maintenance: premakes partitions ahead and applies retention; no rows when there is nothing to do'
\echo '   (the maintenance worker runs it by itself for the databases in ai_scale.maintenance_databases)'
SELECT * FROM ai_scale.run_maintenance();
\echo '== 7. the partitions of the store (rows as estimated by ANALYZE)'
ANALYZE public.model_predictions;
SELECT partition, lower, upper, tier, rows_estimate FROM ai_scale.partitions('public.model_predictions');
SQL
    echo
    echo "demo: where to look next"
    echo "  docs/predict.md    predict(), store_mode (sync/async/off), what async can lose"
    echo "  docs/cache.md      L1 / Redis / store levels, keys, invalidation, circuit breakers"
    echo "  docs/scoring.md    models (linear, logistic, mlp, XGBoost), GPU offload"
    echo "  docs/scaling.md    hot standbys, Redis replicas, PgBouncer, logical replication, Citus"
    echo "  bench/RESULTS.md   measured figures"
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
