-- An L3 hit in parallel mode (cache_get above a Gather, or any query under
-- force_parallel_mode) is cached when nothing has ended since the statement's snapshot, as
-- outside it. Postgres takes no new latest snapshot there, and every such hit was answered
-- uncached: the next run of the query went to the store again, row by row.
SET client_min_messages = warning;
\i sql/include/levels.sql
SET ai_scale.store_table = 'public.par_store';
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.create_prediction_store('public.par_store') AS store;
-- Five rows in the store and in no cache, and a table of their inputs.
INSERT INTO public.par_store (model_name, model_version, input_data, output_data, input_hash)
SELECT 'par_m', 1, i, jsonb_build_object('score', n * 10), ai_scale.input_hash(i)
FROM generate_series(1, 5) n, LATERAL (SELECT jsonb_build_object('a', n)) AS v(i);
CREATE TABLE public.par_inputs AS SELECT n FROM generate_series(1, 5) n;
ANALYZE public.par_inputs;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT ai_scale.cache_get('par_m', 1, jsonb_build_object('a', n)) FROM public.par_inputs;
SELECT ai_scale.reset_stats();
SELECT sum((ai_scale.cache_get('par_m', 1, jsonb_build_object('a', n)) ->> 'score')::int) AS total
FROM public.par_inputs;
SELECT level, hits, misses FROM pg_temp.levels() WHERE level = 'l3';
-- The same query again: its rows come from L1. (A transaction ended between a hit's lookup and
-- its check leaves that hit uncached, rightly; the background workers may end one at any time,
-- so the test asks for some L1 hits, where there were none.)
SELECT sum((ai_scale.cache_get('par_m', 1, jsonb_build_object('a', n)) ->> 'score')::int) AS total
FROM public.par_inputs;
SELECT hits > 0 AS from_l1 FROM pg_temp.levels() WHERE level = 'l1';
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- Every query in parallel mode: a single input, read three times (its L3 hit is cached at the
-- first read, or at the second where a transaction ended meanwhile).
INSERT INTO public.par_store (model_name, model_version, input_data, output_data, input_hash)
VALUES ('par_m', 1, '{"a": 6}', '{"score": 60}', ai_scale.input_hash('{"a": 6}'));
SET force_parallel_mode = regress;
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('par_m', 1, '{"a": 6}') AS first;
SELECT ai_scale.cache_get('par_m', 1, '{"a": 6}') AS second;
SELECT ai_scale.cache_get('par_m', 1, '{"a": 6}') AS third;
RESET force_parallel_mode;
SELECT hits > 0 AS from_l3 FROM pg_temp.levels() WHERE level = 'l3';
SELECT hits > 0 AS from_l1 FROM pg_temp.levels() WHERE level = 'l1';

DROP TABLE public.par_inputs;
DROP TABLE public.par_store;
