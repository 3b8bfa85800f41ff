-- The extension's GPU path when a batch goes wrong, run by gpu/check_failures.sh against a
-- throwaway server with ai_scale.gpu = on (psql variables rows and gpu_mode): a bad row in the
-- middle of a batch meant for the GPU, a score that overflows, and a statement_timeout
-- while a batch is on the GPU must each fail as they do on the CPU (same SQLSTATE and message),
-- and the batch after each must run on the GPU and equal the CPU's scores bit for bit. Then a
-- batch on the GPU must count in the scoring latency figures as one on the CPU does.
-- Every check raises an exception when it fails (ON_ERROR_STOP).
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ai_scale;
SET ai_scale.score_batch_rows = 65536;
SET ai_scale.gpu_min_batch = 1000;

-- 8 features; the mlp (8-32-1) is worth the GPU under auto too.
CREATE TABLE fail_rows AS
SELECT i AS id, jsonb_build_object('f1', round((random() * 4 - 2)::numeric, 3), 'f2', i % 17,
                                   'f3', round(random()::numeric, 3), 'f4', (i % 5) - 2,
                                   'f5', round((random() * 100)::numeric, 1), 'f6', i % 2 = 0,
                                   'f7', 0.5, 'f8', round((random() - 0.5)::numeric, 4)) AS input
FROM generate_series(1, :rows) i;
\i gpu/check_models.sql
SELECT ai_scale.register_model('fail_mlp', 'mlp', ARRAY['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'],
    jsonb_build_object('layers', jsonb_build_array(pg_temp.layer(32, 8, 'relu'),
                                                   pg_temp.layer(1, 32, 'sigmoid')))) IS NOT NULL AS registered;
-- A linear model whose sum overflows float4 for one row (weights 2 and 2, inputs 1e38).
SELECT ai_scale.register_model('fail_linear', 'linear', ARRAY['a', 'b'],
                               '{"weights": [2, 2]}') IS NOT NULL AS registered;

CREATE FUNCTION pg_temp.rows_gpu() RETURNS bigint LANGUAGE sql AS
    $$ SELECT value FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_gpu' $$;
-- The error a query raises under the given ai_scale.gpu, as 'SQLSTATE: message'.
CREATE FUNCTION pg_temp.error_of(query text, processor text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
BEGIN
    PERFORM set_config('ai_scale.gpu', processor, true);
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
    RETURN state || ': ' || message;
END $$;
CREATE FUNCTION pg_temp.expect(what text, got text, want text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF got IS DISTINCT FROM want THEN
        RAISE EXCEPTION 'GPU failure check "%": got %, expected %', what, got, want;
    END IF;
    RAISE NOTICE 'ok: % (%)', what, got;
END $$;
-- The batch after a failure: scored on the GPU (when there is one) and equal to the CPU.
CREATE FUNCTION pg_temp.expect_recovered(what text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    before bigint;
    on_gpu bigint;
    mismatched bigint;
BEGIN
    PERFORM set_config('ai_scale.gpu', 'off', true);
    CREATE TEMP TABLE cpu_scores AS
        SELECT id, ai_scale.score_batched('fail_mlp', input) OVER () AS score FROM fail_rows;
    PERFORM set_config('ai_scale.gpu', current_setting('gpu.mode'), true);
    before := pg_temp.rows_gpu();
    CREATE TEMP TABLE gpu_scores AS
        SELECT id, ai_scale.score_batched('fail_mlp', input) OVER () AS score FROM fail_rows;
    on_gpu := pg_temp.rows_gpu() - before;
    SELECT count(*) FILTER (WHERE g.score IS DISTINCT FROM c.score) INTO mismatched
      FROM cpu_scores c FULL JOIN gpu_scores g USING (id);
    DROP TABLE cpu_scores, gpu_scores;
    PERFORM pg_temp.expect(what || ': rows differing from the CPU', mismatched::text, '0');
    IF current_setting('gpu.live')::boolean THEN
        PERFORM pg_temp.expect(what || ': rows on the GPU', on_gpu::text,
                               (SELECT count(*) FROM fail_rows)::text);
    END IF;
END $$;
SELECT live::text AS gpu_live FROM ai_scale.gpu_info() \gset
SET gpu.live = :'gpu_live';
SET gpu.mode = :'gpu_mode';

-- 1. A row that cannot be scored (a string feature), three quarters into the batch: its
-- extraction fails before the batch reaches the GPU module (score_batched and score_batch
-- extract a whole batch first; only _gpu_score_test streams rows through the fill callback).
UPDATE fail_rows SET input = input || '{"f3": "oops"}' WHERE id = (:rows * 3) / 4;
SELECT pg_temp.error_of($q$SELECT sum(s) FROM (SELECT ai_scale.score_batched('fail_mlp', input) OVER () AS s
                           FROM fail_rows) x$q$, 'off') AS cpu_error \gset
SELECT pg_temp.expect('bad row mid-batch: same error as the CPU',
    pg_temp.error_of($q$SELECT sum(s) FROM (SELECT ai_scale.score_batched('fail_mlp', input) OVER () AS s
                        FROM fail_rows) x$q$, :'gpu_mode'), :'cpu_error');
SELECT pg_temp.expect('bad row mid-batch: the CPU error', left(:'cpu_error', 5), '22P02');
-- The same through score_batch (one array, extracted before the GPU).
SELECT pg_temp.expect('bad row in score_batch: same error as the CPU',
    pg_temp.error_of($q$SELECT ai_scale.score_batch('fail_mlp', array_agg(input ORDER BY id)) FROM fail_rows$q$, :'gpu_mode'),
    pg_temp.error_of($q$SELECT ai_scale.score_batch('fail_mlp', array_agg(input ORDER BY id)) FROM fail_rows$q$, 'off'));
UPDATE fail_rows SET input = input || '{"f3": 0.25}' WHERE id = (:rows * 3) / 4;
SELECT pg_temp.expect_recovered('after a bad row');

-- 2. A score that is not finite (float4 overflow) on the last row of a batch: 22003 on both.
\set overflow 'SELECT ai_scale.score_batch(''fail_linear'', array_agg(CASE WHEN g = 5000 THEN ''{"a": 1e38, "b": 1e38}''::jsonb ELSE jsonb_build_object(''a'', g, ''b'', -g) END)) FROM generate_series(1, 5000) g'
SELECT pg_temp.error_of(:'overflow', 'off') AS cpu_error \gset
SELECT pg_temp.expect('overflow: same error as the CPU', pg_temp.error_of(:'overflow', :'gpu_mode'), :'cpu_error');
SELECT pg_temp.expect('overflow: the CPU error', left(:'cpu_error', 5), '22003');
SELECT pg_temp.expect_recovered('after an overflow');

-- 3. A statement_timeout while the batch is being scored: 57014, and the backend's GPU state
-- still serves the next batch. (The timeout is armed at a top-level statement's start.)
SET ai_scale.gpu = :'gpu_mode';
SET statement_timeout = '200ms';
\set ON_ERROR_STOP off
SELECT sum(s) FROM (SELECT ai_scale.score_batched('fail_mlp', input) OVER () AS s
                    FROM fail_rows, generate_series(1, 10)) x;
\set ON_ERROR_STOP on
RESET statement_timeout;
RESET ai_scale.gpu;
SELECT pg_temp.expect('timeout during a GPU batch', :'LAST_ERROR_SQLSTATE', '57014');
SELECT pg_temp.expect_recovered('after a timeout');

-- 4. A batch scored on the GPU counts in the latency figures as one on the CPU does: one sample.
SELECT ai_scale.reset_stats();
SET ai_scale.gpu = :'gpu_mode';
SELECT cardinality(ai_scale.score_batch('fail_mlp', array_agg(input))) AS scored
FROM (SELECT input FROM fail_rows LIMIT 5000) x;
RESET ai_scale.gpu;
SELECT pg_temp.expect('one batch, one latency sample',
    (SELECT value FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'samples')::text, '1');
SELECT pg_temp.expect('one batch: its rows counted where they were scored',
    (SELECT string_agg(metric || '=' || value, ' ' ORDER BY metric) FROM ai_scale.stats
      WHERE section = 'scoring' AND metric IN ('rows_cpu', 'rows_gpu')),
    CASE WHEN current_setting('gpu.live')::boolean THEN 'rows_cpu=0 rows_gpu=5000'
         ELSE 'rows_cpu=5000 rows_gpu=0' END);

\echo FAILURE CHECKS PASSED
