#!/usr/bin/env bash
# predict() benchmark, side by side in one run (pgbench, 2 clients, prepared):
#   1. predict() on a repeated input (an L1 hit every time) against SELECT 1;
#   2. predict() on fresh inputs (every call misses L1, Redis and the store, scores an XGBoost
#      model and stores the prediction) with ai_scale.store_mode = async against sync, once
#      with Postgres's durable defaults (fsync, synchronous_commit on: a sync insert waits for
#      its WAL flush at commit) and once with synchronous_commit = off;
#   3. 1000 fresh inputs in one statement: predict_batch() against predict() per row;
#   4. fresh inputs spread over 100 models (a service hosting many), async against sync, and
#      how many async predictions were still queued when the clients stopped.
# Starts its own Postgres (preloading ai_scale) and Redis on free ports (scripts/lib/bench.sh),
# and stops them on exit.
# Usage: bash bench/predict/run.sh [seconds per run, default 10]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source scripts/lib/bench.sh
bench_hold_lock "$root/bench/predict/run.sh" "$@"
require_current_install
export PATH="$PG_BIN:$PATH"
secs=${1:-10}

cleanup() { [ -s "${work:-}/pgbench.err" ] && tail -5 "$work/pgbench.err"; bench_stop; }
trap cleanup EXIT
# Durable, as in production (the test harness turns fsync, synchronous_commit and
# full_page_writes off).
bench_servers_start predict "ai_scale.l1_entries = 65536" "fsync = on" "synchronous_commit = on" \
    "full_page_writes = on"

psql_() { psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 "$@"; }
AI_SCALE_BENCH_MODEL="$root/test/data/scoring/xgb_regression.json" psql_ <<'SQL' >/dev/null
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
\set model_json `cat "$AI_SCALE_BENCH_MODEL"`
SELECT ai_scale.import_xgboost('bench', :'model_json'::jsonb);
SQL

scripts=$work/scripts
mkdir -p "$scripts"
input='{"f0": 1.535, "f1": -1.764, "f2": 1.865, "f3": -3.082, "f4": 1.333, "f5": 1.89}'
echo 'SELECT 1;' >"$scripts/select1.sql"
echo "SELECT ai_scale.predict('bench', '$input');" >"$scripts/repeated.sql"
# Inputs drawn from 9e15 values per client (below 2^53, so exact as JSON numbers): no two calls
# of the runs share one (with 2e9 a few did, and a repeat is answered from the cache, not stored).
printf '%s\n' '\set id random(1, 9000000000000000)' \
    "SELECT ai_scale.predict('bench', jsonb_build_object('f0', :id::bigint, 'f1', :client_id::int, 'f2', 0.5, 'f3', -1, 'f4', 2, 'f5', 0.25));" \
    >"$scripts/fresh.sql"

tps() { # pgbench script [PGOPTIONS]; its output stays in $work/pgbench.out
    PGOPTIONS=${2:-} pgbench -n -M prepared -c 2 -j 2 -T "$secs" -h 127.0.0.1 -p "$pg_port" \
        -U postgres -f "$scripts/$1" postgres >"$work/pgbench.out" 2>"$work/pgbench.err" || exit 1
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench.out"
}
stored_rows() { psql_ -At -c "SELECT count(*) FROM public.model_predictions"; }
# Every fresh input is a prediction to store, in either mode: async is only faster if it stores
# as many (a row it lost or did not write would be work the sync side did and it did not).
check_stored() { # rows in the store before the last pgbench run, which store_mode
    local calls now
    calls=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.out")
    now=$(stored_rows)
    if [ "$now" -ne $(($1 + calls)) ]; then
        echo "bench/predict: $2 stored $((now - $1)) predictions for $calls fresh inputs" >&2
        exit 1
    fi
}
wait_for_queue() { # until the async worker has written everything queued
    local n=-1 m
    while :; do
        m=$(psql_ -At -c "SELECT count(*) FROM public.model_predictions")
        [ "$m" = "$n" ] && break
        n=$m
        sleep 1
    done
}

# Make sure L1 is what answers the repeated input before timing it.
psql_ -At -c "SELECT ai_scale.predict('bench', '$input') ->> 'source'" >/dev/null
echo "repeated input answered from: $(psql_ -At -c "SELECT ai_scale.predict('bench', '$input') ->> 'source'")"

select1=$(tps select1.sql)
repeated=$(tps repeated.sql)
n=$(stored_rows)
sync_durable=$(tps fresh.sql "-c ai_scale.store_mode=sync")
check_stored "$n" sync
n=$(stored_rows)
async_durable=$(tps fresh.sql "-c ai_scale.store_mode=async")
wait_for_queue
check_stored "$n" async
n=$(stored_rows)
sync_nowait=$(tps fresh.sql "-c ai_scale.store_mode=sync -c synchronous_commit=off")
check_stored "$n" "sync, synchronous_commit = off,"
n=$(stored_rows)
async_nowait=$(tps fresh.sql "-c ai_scale.store_mode=async -c synchronous_commit=off")
wait_for_queue
check_stored "$n" "async, synchronous_commit = off,"

# Fresh inputs spread over 100 linear models at random: the worker's passes hold rows of many
# models interleaved.
psql_ -c "SELECT count(ai_scale.register_model('bench_m' || i, 'linear',
          ARRAY['f0', 'f1', 'f2', 'f3', 'f4', 'f5'], '{\"weights\": [1, 1, 1, 1, 1, 1]}'))
          FROM generate_series(1, 100) i" >/dev/null
printf '%s\n' '\set id random(1, 9000000000000000)' '\set m random(1, 100)' \
    "SELECT ai_scale.predict('bench_m' || :m, jsonb_build_object('f0', :id::bigint, 'f1', :client_id::int, 'f2', 0.5, 'f3', -1, 'f4', 2, 'f5', 0.25));" \
    >"$scripts/fresh_many.sql"
n=$(stored_rows)
many_sync=$(tps fresh_many.sql "-c ai_scale.store_mode=sync")
check_stored "$n" "sync, 100 models,"
n=$(stored_rows)
many_async=$(tps fresh_many.sql "-c ai_scale.store_mode=async")
many_calls=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.out")
many_queued=$((n + many_calls - $(stored_rows)))
wait_for_queue
check_stored "$n" "async, 100 models,"
stored=$(stored_rows)

# 1000 fresh inputs in one statement: predict_batch (one Redis round trip to read, one scoring
# batch, one INSERT, one pipelined Redis write) against predict() called per row; median of 5
# runs each, in turn, every run on inputs not seen before.
medians=$(psql_ -At <<'SQL'
CREATE FUNCTION pg_temp.ms(stmt text) RETURNS float8 LANGUAGE plpgsql AS $f$
    DECLARE t0 timestamptz := clock_timestamp();
    BEGIN EXECUTE stmt; RETURN extract(epoch FROM clock_timestamp() - t0) * 1000; END $f$;
CREATE TEMP TABLE batch_runs (how text, ms float8);
SET ai_scale.store_mode = async;
DO $d$ BEGIN FOR r IN 1..5 LOOP
    INSERT INTO batch_runs SELECT 'batch', pg_temp.ms(format($q$SELECT ai_scale.predict_batch('bench',
        array_agg(jsonb_build_object('f0', i, 'f1', %s, 'f2', 0.5, 'f3', -1, 'f4', 2, 'f5', 0.25)))
        FROM generate_series(1, 1000) i$q$, -r));
    INSERT INTO batch_runs SELECT 'rows', pg_temp.ms(format($q$SELECT count(ai_scale.predict('bench',
        jsonb_build_object('f0', i, 'f1', %s, 'f2', 0.5, 'f3', -1, 'f4', 2, 'f5', 0.25)))
        FROM generate_series(1, 1000) i$q$, -100 - r));
END LOOP; END $d$;
SELECT how || ' ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1)
  FROM batch_runs GROUP BY how;
SQL
)
batch_ms=$(echo "$medians" | sed -n 's/^batch //p')
rows_ms=$(echo "$medians" | sed -n 's/^rows //p')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "machine: $(nproc) cores, $(date -u +%F), ${secs}s per run, 2 clients, pgbench -M prepared"
printf '%-66s %10s\n' \
    "SELECT 1 (tps)" "$select1" \
    "predict(), repeated input: L1 hit (tps)" "$repeated" \
    "predict(), fresh inputs, store_mode=sync (tps)" "$sync_durable" \
    "predict(), fresh inputs, store_mode=async (tps)" "$async_durable" \
    "predict(), fresh inputs, sync, synchronous_commit=off (tps)" "$sync_nowait" \
    "predict(), fresh inputs, async, synchronous_commit=off (tps)" "$async_nowait" \
    "predict(), fresh inputs of 100 models, store_mode=sync (tps)" "$many_sync" \
    "predict(), fresh inputs of 100 models, store_mode=async (tps)" "$many_async"
echo "rows in the store after the runs: $stored"
echo "ratio predict() L1 hit / SELECT 1:                     $(ratio "$repeated" "$select1")   (target >= 0.8)"
echo "ratio async / sync, fresh inputs:                      $(ratio "$async_durable" "$sync_durable")   (target >= 2)"
echo "ratio async / sync, fresh inputs, synchronous_commit=off: $(ratio "$async_nowait" "$sync_nowait")"
echo "ratio async / sync, fresh inputs of 100 models:        $(ratio "$many_async" "$many_sync")   (async predictions still queued when the clients stopped: $many_queued)"
echo "1000 fresh inputs in one statement, async: predict_batch $batch_ms ms, predict() per row $rows_ms ms, ratio $(ratio "$rows_ms" "$batch_ms")"
