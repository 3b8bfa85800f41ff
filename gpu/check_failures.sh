#!/usr/bin/env bash
# The extension's GPU path when things go wrong, on a machine with a GPU and a Postgres 15 with
# ai_scale and ai_scale_gpu.so installed for $PG_CONFIG (gpu/device_checks.sh runs it there):
#   1. gpu/check_failures.sql: a bad row mid-batch, a float4 overflow and a statement_timeout
#      fail under ai_scale.gpu = on as on the CPU, and the next batch is on the GPU and equal;
#      a batch on the GPU counts in the scoring latency figures;
#   2. four backends scoring on the GPU at once each get the CPU's scores bit for bit;
#   3. a backend terminated while its batch is on the GPU exits without taking the server
#      down (no crash restart), and the next backend scores on the GPU;
#   4. the scoring regress files under ai_scale.gpu = on with gpu_min_batch = 1 (every batch on
#      the GPU); their differences from the expected files (reviewed on the CPU path) go to
#      $OUT/gpu_regress.diffs, to be read: GPU-only lines in stats and the tests of a missing
#      module are expected there, a different score is a defect.
# Usage: bash gpu/check_failures.sh [ROWS]   (default 400000; as root the server runs as postgres)
# The server runs on a free port (scripts/lib/bench.sh) and is stopped on exit.
# Exit status: 0 passed on a GPU, 1 a check failed, 2 no usable GPU (everything ran on the CPU).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
source scripts/lib/bench.sh
rows=${1:-400000}
out=${OUT:-}

# The server's log goes to $OUT too.
cleanup() { bench_stop "${out:+$out/gpu_failures.server.log}"; }
trap cleanup EXIT
bench_work gpu_fail || exit 1
bench_pg_start || exit 1
sql() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres "$@"; }
failed=0
fail() { echo "FAILED: $*"; failed=1; }

sql -c 'CREATE EXTENSION ai_scale' || exit 1
live=$(sql -Atc 'SELECT live FROM ai_scale.gpu_info()')
mode=auto
[ "$live" = t ] && mode=on
echo "== GPU live: $live; GPU side runs under ai_scale.gpu = $mode"

echo "== 1. failures inside a batch"
sql -v rows="$rows" -v gpu_mode="$mode" -f gpu/check_failures.sql || fail "gpu/check_failures.sql"

echo "== 2. four backends on the GPU at once"
sql -c "SET ai_scale.gpu = off; CREATE TABLE cpu_scores AS
        SELECT id, ai_scale.score_batched('fail_mlp', input) OVER () AS score FROM fail_rows" || exit 1
for i in 1 2 3 4; do
    sql -c "SET ai_scale.gpu = $mode; SET ai_scale.score_batch_rows = 65536;
            CREATE TABLE gpu_scores_$i AS
            SELECT id, ai_scale.score_batched('fail_mlp', input) OVER () AS score FROM fail_rows" &
done
wait
for i in 1 2 3 4; do
    bad=$(sql -Atc "SELECT count(*) FILTER (WHERE g.score IS DISTINCT FROM c.score)
                    FROM cpu_scores c FULL JOIN gpu_scores_$i g USING (id)")
    [ "$bad" = 0 ] && echo "ok: backend $i equal to the CPU" || fail "backend $i: $bad rows differ"
done

echo "== 3. a backend terminated while its batch is on the GPU"
started=$(sql -Atc 'SELECT pg_postmaster_start_time()')
sql -c "SET application_name = 'gpu_victim'; SET ai_scale.gpu = $mode;
        SELECT sum(s) FROM (SELECT ai_scale.score_batched('fail_mlp', input) OVER () AS s FROM fail_rows,
                                     generate_series(1, 20)) x" >/dev/null 2>&1 &
victim=$!
for _ in $(seq 1 50); do
    sql -Atc "SELECT 1 FROM pg_stat_activity WHERE application_name = 'gpu_victim' AND state = 'active'" |
        grep -q 1 && break
    sleep 0.1
done
sleep 0.5
sql -Atc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gpu_victim'" |
    grep -q t || fail "no backend to terminate"
wait "$victim" && fail "the batch finished before it was terminated"
sleep 1
[ "$(sql -Atc 'SELECT pg_postmaster_start_time()')" = "$started" ] &&
    echo "ok: the server did not restart" || fail "the server restarted after the termination"
grep -E "terminated by signal|was terminated by|server process .* exited with exit code [^01]" "$work/pg.log" &&
    fail "a server process died abnormally"
bad=$(sql -Atc "SET ai_scale.gpu = $mode; CREATE TABLE after_kill AS
                SELECT id, ai_scale.score_batched('fail_mlp', input) OVER () AS score FROM fail_rows;
                SELECT count(*) FILTER (WHERE g.score IS DISTINCT FROM c.score)
                FROM cpu_scores c FULL JOIN after_kill g USING (id)")
[ "$bad" = 0 ] && echo "ok: a new backend scores equal to the CPU" || fail "after the termination: $bad"

echo "== 4. the scoring regress files, every batch on the GPU"
files=(extension scoring_kinds scoring_xgboost scoring_catalog predict_async stats)
# From a copy the server (as postgres) can read: scoring_xgboost reads test/data with pg_read_file.
regress_out="$work/regress"
mkdir -p "$regress_out/test/data"
cp -r sql expected "$regress_out/" && cp -r test/data/scoring "$regress_out/test/data/" || exit 1
chmod -R a+rX "$regress_out"
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$regress_out"
pg_regress=$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress
(cd "$regress_out" && PGOPTIONS="-c ai_scale.gpu=$mode -c ai_scale.gpu_min_batch=1" \
    "$pg_regress" --inputdir=. --outputdir=. --bindir="$PG_BIN" --host=127.0.0.1 --port="$pg_port" \
    --user=postgres --dbname=ai_scale_gpu_regress "${files[@]}")
echo "== pg_regress exit $? (differences are read by hand, see the header)"
if [ -f "$regress_out/regression.diffs" ]; then
    grep -c '^[-+][^-+]' "$regress_out/regression.diffs" | sed 's/^/changed lines: /'
    [ -n "$out" ] && cp "$regress_out/regression.diffs" "$out/gpu_regress.diffs"
fi

[ "$failed" -ne 0 ] && exit 1
[ "$live" = t ] && echo "PASSED: failures on the GPU path behave as on the CPU" && exit 0
echo "CPU only: no usable GPU, so every check ran on the CPU"
exit 2
