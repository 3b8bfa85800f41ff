-- Where the planner puts the functions that run once per row, which it decides by their COST:
-- cheaper filters first, and with a LIMIT, expensive select-list expressions evaluated after
-- the sort. At the default COST 1 (one operator), predict() and cache_get() went before a
-- filter written ahead of them, and score() ran for every row of a table under ORDER BY ...
-- LIMIT 3.
SET client_min_messages = warning;
SET ai_scale.store_table = 'public.planner_store';
SELECT ai_scale.create_prediction_store('public.planner_store') AS store;
SELECT ai_scale.register_model('pc_lin', 'linear', ARRAY['a'], '{"weights": [2], "bias": 1}');
SET ai_scale.redis_read_from = 'primary';
CREATE TABLE pc_rows AS SELECT i AS id, jsonb_build_object('a', i) AS attrs
FROM generate_series(1, 200) i;
ANALYZE pc_rows;
SET max_parallel_workers_per_gather = 0;

-- predict() stores what it scores: behind a cheaper filter, only the rows that pass it are
-- scored and stored (20, not 200).
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM pc_rows WHERE id % 10 = 0 AND ai_scale.predict('pc_lin', attrs) IS NOT NULL;
SELECT count(*) AS answered FROM pc_rows
WHERE id % 10 = 0 AND ai_scale.predict('pc_lin', attrs) IS NOT NULL;
SELECT count(*) AS stored_rows FROM public.planner_store;

-- cache_get(): a Redis round trip on an L1 miss.
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM pc_rows WHERE id % 10 = 0 AND ai_scale.cache_get('pc_lin', 1, attrs) IS NULL;

-- score() and score_multi() after a cheaper filter, and after the sort of a query with a
-- LIMIT: 3 rows scored, not 200.
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id FROM pc_rows WHERE id % 10 = 0 AND ai_scale.score('pc_lin', attrs) > 0
                         AND (ai_scale.score_multi('pc_lin', attrs))[1] > 0;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id, ai_scale.score('pc_lin', attrs) FROM pc_rows ORDER BY id DESC LIMIT 3;
SELECT ai_scale.reset_stats();
SELECT id, ai_scale.score('pc_lin', attrs) AS score FROM pc_rows ORDER BY id DESC LIMIT 3;
SELECT value AS rows_scored FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_cpu';

-- score_batch() likewise, over a table of arrays: 2 batches of 3 rows scored, not all 12.
CREATE TABLE pc_batches AS
SELECT id % 4 AS batch, array_agg(attrs ORDER BY id) AS inputs FROM pc_rows WHERE id <= 12
GROUP BY id % 4;
ANALYZE pc_batches;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT batch, ai_scale.score_batch('pc_lin', inputs) FROM pc_batches ORDER BY batch LIMIT 2;
SELECT ai_scale.reset_stats();
SELECT batch, ai_scale.score_batch('pc_lin', inputs) FROM pc_batches ORDER BY batch LIMIT 2;
SELECT value AS rows_scored FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_cpu';
-- unnest() of score_batch() with constant arguments, in the select list or in FROM: the
-- planner evaluates the stable call to estimate how many rows unnest returns, and the batch
-- is scored twice, as docs/scoring.md says (12 rows for two batches of 3); in a scalar
-- subquery, which the planner does not evaluate, once.
SELECT ai_scale.reset_stats();
SELECT unnest(ai_scale.score_batch('pc_lin', ARRAY['{"a": 1}', '{"a": 2}', '{"a": 3}']::jsonb[]));
SELECT count(*) FROM unnest(ai_scale.score_batch('pc_lin', ARRAY['{"a": 1}', '{"a": 2}', '{"a": 3}']::jsonb[]));
SELECT value AS rows_scored FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_cpu';
SELECT ai_scale.reset_stats();
SELECT count(*) FROM unnest((SELECT ai_scale.score_batch('pc_lin', ARRAY['{"a": 1}', '{"a": 2}', '{"a": 3}']::jsonb[])));
SELECT value AS rows_scored FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_cpu';
-- predict_batch() and cache_get_many() after a cheaper filter, as predict() and cache_get().
EXPLAIN (VERBOSE, COSTS OFF)
SELECT batch FROM pc_batches WHERE batch % 2 = 0 AND ai_scale.predict_batch('pc_lin', inputs) IS NOT NULL
                               AND ai_scale.cache_get_many('pc_lin', 1, inputs) IS NOT NULL;
DROP TABLE pc_batches;

-- check_default() returns one row, and says so (the default estimate of a set-returning
-- function is 1000 rows).
CREATE FUNCTION pg_temp.plan_rows(query text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
END $$;
SELECT pg_temp.plan_rows('SELECT * FROM ai_scale.check_default(''public.planner_store'')')
    AS check_default_rows_planned,
    (SELECT count(*) FROM ai_scale.check_default('public.planner_store')) AS check_default_rows;

RESET max_parallel_workers_per_gather;
DROP TABLE pc_rows;
DROP TABLE public.planner_store;
SELECT ai_scale.drop_model('pc_lin');
RESET ai_scale.redis_read_from;
RESET ai_scale.store_table;
