-- The extension's GPU path through SQL, run by gpu/check_sql.sh against a throwaway server
-- (psql variable rows). For each model kind, score_batched scores the same rows with
-- ai_scale.gpu = off (CPU) and = on (GPU required: an error if it cannot be used), and the
-- two results are compared row by row; ai_scale.stats must count the GPU rows. Under auto,
-- only the mlp and the gbdt must reach the GPU (src/scoring/gpu_worth.hpp). Then each side is
-- timed, best of three.
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ai_scale;
SET ai_scale.score_batch_rows = 1048576;
SET ai_scale.gpu_min_batch = 1000;

SELECT setting, loaded, live, reason, devices FROM ai_scale.gpu_info() \gx
-- Without a usable GPU (a dry run of this script) the GPU side runs under auto, on the CPU.
SELECT live AS gpu_live, CASE WHEN live THEN 'on' ELSE 'auto' END AS gpu_mode FROM ai_scale.gpu_info() \gset

-- 16 features; one value in 20 missing (gbdt takes the default branch; the others a default).
SELECT format('CREATE TABLE check_rows AS SELECT i AS id, jsonb_strip_nulls(jsonb_build_object(%s)) AS input '
              'FROM generate_series(1, %s) AS i',
              string_agg(format('%L, CASE WHEN random() < 0.05 THEN NULL '
                                'ELSE round((random() * 10 - 5)::numeric, 4) END', 'f' || j), ', '),
              :rows)
FROM generate_series(1, 16) AS j \gexec
VACUUM ANALYZE check_rows;

CREATE FUNCTION pg_temp.features() RETURNS text[] LANGUAGE sql AS
    $$ SELECT array_agg('f' || j ORDER BY j) FROM generate_series(1, 16) j $$;
CREATE FUNCTION pg_temp.defaults() RETURNS jsonb LANGUAGE sql AS
    $$ SELECT jsonb_object_agg('f' || j, 0) FROM generate_series(1, 16) j $$;
\i gpu/check_models.sql

SELECT ai_scale.register_model('check_linear', 'linear', pg_temp.features(),
    jsonb_build_object('weights', (SELECT jsonb_agg(round((random() - 0.5)::numeric, 4)) FROM generate_series(1, 16)),
                       'bias', 0.25, 'defaults', pg_temp.defaults())) AS v \gset
SELECT ai_scale.register_model('check_logistic', 'logistic', pg_temp.features(),
    jsonb_build_object('weights', (SELECT jsonb_agg(round((random() - 0.5)::numeric, 4)) FROM generate_series(1, 16)),
                       'bias', -0.1, 'defaults', pg_temp.defaults())) AS v \gset
SELECT ai_scale.register_model('check_mlp', 'mlp', pg_temp.features(),
    jsonb_build_object('layers', jsonb_build_array(pg_temp.layer(64, 16, 'relu'),
                                                   pg_temp.layer(64, 64, 'tanh'),
                                                   pg_temp.layer(1, 64, 'sigmoid')),
                       'defaults', pg_temp.defaults())) AS v \gset
SELECT ai_scale.register_model('check_gbdt', 'gbdt', pg_temp.features(),
    jsonb_build_object('objective', 'binary:logistic', 'base_score', 0.5,
                       'trees', (SELECT jsonb_agg(pg_temp.tree(6)) FROM generate_series(1, 100)))) AS v \gset

CREATE FUNCTION pg_temp.rows_gpu() RETURNS bigint LANGUAGE sql AS
    $$ SELECT value FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_gpu' $$;
CREATE FUNCTION pg_temp.scores(model text, processor text) RETURNS TABLE (id int, score float8)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ai_scale.gpu', processor, true);
    RETURN QUERY SELECT r.id, ai_scale.score_batched(model, r.input) OVER () FROM check_rows r;
END $$;
CREATE FUNCTION pg_temp.best_of(model text, processor text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    best float8 := 'Infinity';
    t0 timestamptz;
BEGIN
    PERFORM set_config('ai_scale.gpu', processor, true);
    FOR i IN 1..3 LOOP
        t0 := clock_timestamp();
        PERFORM sum(s) FROM (SELECT ai_scale.score_batched(model, input) OVER () AS s FROM check_rows) x;
        best := least(best, extract(epoch FROM clock_timestamp() - t0)::float8);
    END LOOP;
    RETURN best;
END $$;

CREATE TEMP TABLE results (model text, rows bigint, gpu_rows bigint, auto_gpu_rows bigint,
                           mismatched bigint,
                           max_abs_diff float8, cpu_s float8, gpu_s float8);
CREATE FUNCTION pg_temp.check(model text, gpu_mode text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    before bigint;
    r results;
BEGIN
    r.model := model;
    CREATE TEMP TABLE cpu_scores AS SELECT * FROM pg_temp.scores(model, 'off');
    before := pg_temp.rows_gpu();
    CREATE TEMP TABLE gpu_scores AS SELECT * FROM pg_temp.scores(model, gpu_mode);
    r.gpu_rows := pg_temp.rows_gpu() - before;
    before := pg_temp.rows_gpu();
    PERFORM count(*) FROM pg_temp.scores(model, 'auto');
    r.auto_gpu_rows := pg_temp.rows_gpu() - before;
    -- Same float4 formulas in the same order, rounded the same way (src/scoring/model_math.hpp):
    -- equal bit for bit.
    SELECT count(*), count(*) FILTER (WHERE g.score IS DISTINCT FROM c.score),
           max(abs(g.score - c.score))
      INTO r.rows, r.mismatched, r.max_abs_diff
      FROM cpu_scores c FULL JOIN gpu_scores g USING (id);
    r.cpu_s := pg_temp.best_of(model, 'off');
    r.gpu_s := pg_temp.best_of(model, gpu_mode);
    INSERT INTO results SELECT (r).*;
    DROP TABLE cpu_scores, gpu_scores;
END $$;

SELECT pg_temp.check(m, :'gpu_mode')
FROM unnest(ARRAY['check_linear', 'check_logistic', 'check_mlp', 'check_gbdt']) m;
SELECT model, rows, gpu_rows, auto_gpu_rows, mismatched, max_abs_diff,
       round(cpu_s::numeric, 3) AS cpu_s, round(gpu_s::numeric, 3) AS gpu_s,
       round((rows / cpu_s)::numeric) AS cpu_rows_per_s, round((rows / gpu_s)::numeric) AS gpu_rows_per_s,
       round((cpu_s / gpu_s)::numeric, 2) AS gpu_speedup
FROM results ORDER BY model;
SELECT * FROM ai_scale.stats WHERE section = 'scoring';
CREATE FUNCTION pg_temp.assert_none_failed(failed text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF failed <> '' THEN
        RAISE EXCEPTION 'GPU check failed for %', failed;
    END IF;
END $$;
SELECT coalesce(string_agg(model, ', '), '') AS failed FROM results
 WHERE mismatched > 0 OR rows <> :rows
    OR (:'gpu_live' AND (gpu_rows <> rows OR auto_gpu_rows <> CASE WHEN model IN ('check_mlp', 'check_gbdt')
                                                                   THEN rows ELSE 0 END)) \gset
SELECT pg_temp.assert_none_failed(:'failed');

-- _gpu_score_test keeps its model on the device under a fingerprint of the weights' bits:
-- weights a millionth apart or less (one key when it was taken in millionths, so the second
-- call scored with the first's weights) score each with its own.
SET ai_scale.gpu = :'gpu_mode';
SELECT scores[1] AS tiny_a FROM ai_scale._gpu_score_test(array_fill(1e6::float8, ARRAY[2000, 1]), ARRAY[1e-7::float8]) \gset
SELECT scores[1] AS tiny_b, path AS tiny_path
  FROM ai_scale._gpu_score_test(array_fill(1e6::float8, ARRAY[2000, 1]), ARRAY[4e-7::float8]) \gset
RESET ai_scale.gpu;
SELECT pg_temp.assert_none_failed(CASE
    WHEN abs(:tiny_a - 0.1) > 1e-6 OR abs(:tiny_b - 0.4) > 1e-6 OR (:'gpu_live' AND :'tiny_path' <> 'gpu')
    THEN format('_gpu_score_test: weights 1e-7 then 4e-7 on rows of 1e6 scored %s and %s (%s)',
                :tiny_a, :tiny_b, :'tiny_path')
    ELSE '' END);
-- Subnormal floats: the GPU does not flush them to zero (no --use_fast_math, whose -ftz=true
-- would), as the CPU does not: a weight of 1e-20 times an input of 1e-20 scores about 1e-40.
-- Random inputs never came near, and a build that flushed would have passed every check above.
SELECT ai_scale.register_model('check_tiny', 'linear', ARRAY['x'], '{"weights": [1e-20], "bias": 0}') AS v \gset
CREATE TEMP TABLE tiny_rows AS
    SELECT i AS id, jsonb_build_object('x', 1e-20 * (1 + i % 7)) AS input FROM generate_series(1, 2000) i;
SET ai_scale.gpu = off;
CREATE TEMP TABLE tiny_cpu AS SELECT id, ai_scale.score_batched('check_tiny', input) OVER () AS s FROM tiny_rows;
SET ai_scale.gpu = :'gpu_mode';
CREATE TEMP TABLE tiny_gpu AS SELECT id, ai_scale.score_batched('check_tiny', input) OVER () AS s FROM tiny_rows;
RESET ai_scale.gpu;
SELECT count(*) FILTER (WHERE c.s IS DISTINCT FROM g.s) AS tiny_mismatched, min(c.s) AS tiny_min
  FROM tiny_cpu c JOIN tiny_gpu g USING (id) \gset
SELECT pg_temp.assert_none_failed(CASE WHEN :tiny_mismatched > 0 OR NOT (:tiny_min > 0)
    THEN format('subnormal scores: %s of 2000 differ between the GPU and the CPU (smallest on the CPU %s)',
                :tiny_mismatched, :tiny_min)
    ELSE '' END);

-- A model of three outputs through score_multi_batch, the whole table in one array: every
-- output of every row equal on both sides, every row on the GPU when it is live.
SELECT ai_scale.register_model('check_mlp3', 'mlp', pg_temp.features(),
    jsonb_build_object('layers', jsonb_build_array(pg_temp.layer(32, 16, 'relu'),
                                                   pg_temp.layer(3, 32, 'identity')),
                       'defaults', pg_temp.defaults())) AS v \gset
SET ai_scale.gpu = off;
CREATE TEMP TABLE multi_cpu AS
    SELECT ai_scale.score_multi_batch('check_mlp3', array_agg(input ORDER BY id)) AS m FROM check_rows;
SELECT pg_temp.rows_gpu() AS multi_before \gset
SET ai_scale.gpu = :'gpu_mode';
CREATE TEMP TABLE multi_gpu AS
    SELECT ai_scale.score_multi_batch('check_mlp3', array_agg(input ORDER BY id)) AS m FROM check_rows;
RESET ai_scale.gpu;
SELECT c.m IS DISTINCT FROM g.m AS multi_differs, pg_temp.rows_gpu() - :multi_before AS multi_gpu_rows,
       array_length(c.m, 1) AS multi_rows, array_length(c.m, 2) AS multi_outputs
  FROM multi_cpu c, multi_gpu g \gset
SELECT pg_temp.assert_none_failed(CASE
    WHEN :'multi_differs'::boolean OR :multi_rows <> :rows OR :multi_outputs <> 3
         OR (:'gpu_live' AND :multi_gpu_rows <> :rows)
    THEN format('score_multi_batch: %s rows of %s outputs, %s on the GPU, equal to the CPU''s: %s',
                :multi_rows, :multi_outputs, :multi_gpu_rows, NOT :'multi_differs'::boolean)
    ELSE '' END);

\if :gpu_live
\echo PASSED: every model scored the same on the GPU and the CPU, every row on the GPU under on, only the mlp and gbdt under auto
\else
\echo CPU only: no usable GPU, so both sides ran on the CPU (see gpu_info above)
\endif
