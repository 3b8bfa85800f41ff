-- predict(): L1 -> Redis -> the store (L3) -> scoring, filling the levels it missed and storing
-- new predictions (ai_scale.store_mode); predict_batch(); errors.
SET client_min_messages = warning;
\i sql/include/try.sql
CREATE FUNCTION pg_temp.levels() RETURNS TABLE (section text, metric text, value float8)
LANGUAGE sql AS $$
    SELECT section, metric, value FROM ai_scale.stats
    WHERE (section IN ('l1', 'l2', 'l3') AND metric IN ('hits', 'misses'))
       OR (section = 'scoring' AND metric = 'rows_cpu')
    ORDER BY section, metric
$$;
SET ai_scale.store_table = 'public.predict_store';
SELECT ai_scale.create_prediction_store('public.predict_store') AS store;
SELECT ai_scale.register_model('p_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2], "bias": 0.5}');
-- Reads from the Redis primary, so a write is readable at once (no replication wait).
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.reset_stats();

-- A new input is scored, cached and stored.
SELECT ai_scale.predict('p_lin', '{"a": 1, "b": 2}') AS first;
SELECT model_name, model_version, input_data, output_data,
       input_hash = ai_scale.input_hash(input_data) AS hash_ok,
       prediction_id IS NOT NULL AS has_id, created_at <= now() AS created_before_now
FROM public.predict_store;
-- The same input again: the shared-memory L1.
SELECT ai_scale.predict('p_lin', '{"a": 1, "b": 2}') AS again;
-- Without L1: Redis.
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.predict('p_lin', '{"a": 1, "b": 2}') ->> 'source' AS without_l1;
-- After cache_invalidate no L1 or Redis key is reachable: the store answers, and fills Redis.
SELECT ai_scale.cache_invalidate('p_lin');
SELECT ai_scale.predict('p_lin', '{"a": 1, "b": 2}') AS from_store;
RESET ai_scale.cache_use_l1;
SELECT ai_scale.predict('p_lin', '{"a": 1, "b": 2}') ->> 'source' AS l1_was_off_so_redis;
SELECT ai_scale.predict('p_lin', '{"a": 1, "b": 2}') ->> 'source' AS now_l1;
-- Scored once, stored once; each level counted.
SELECT count(*) AS stored_rows FROM public.predict_store;
SELECT * FROM pg_temp.levels();

-- store_mode = off: scored and cached, not stored.
SET ai_scale.store_mode = off;
SELECT ai_scale.predict('p_lin', '{"a": 2, "b": 2}') ->> 'source' AS off_source;
SELECT ai_scale.predict('p_lin', '{"a": 2, "b": 2}') ->> 'source' AS off_cached;
SELECT count(*) AS stored_when_off FROM public.predict_store WHERE input_data = '{"a": 2, "b": 2}';
RESET ai_scale.store_mode;

-- Versions: the active one by default, or the one asked for; each its own cache key.
SELECT ai_scale.register_model('p_lin', 'linear', ARRAY['a', 'b'], '{"weights": [10, 20]}');
SELECT ai_scale.predict('p_lin', '{"a": 1, "b": 2}') AS active_v2;
SELECT ai_scale.predict('p_lin', '{"a": 1, "b": 2}', 1) AS asked_v1;

-- A model with several outputs answers "scores".
SELECT ai_scale.register_model('p_two', 'mlp', ARRAY['a', 'b'],
    '{"layers": [{"weights": [[1, 0], [0, 2]], "bias": [0, 0], "activation": "relu"}]}');
SELECT ai_scale.predict('p_two', '{"a": 1, "b": 2}') AS two_outputs;
SELECT output_data FROM public.predict_store WHERE model_name = 'p_two';

-- Errors, and nothing stored by them.
SELECT pg_temp.try($$SELECT ai_scale.predict('no_such_model', '{"a": 1}')$$);
SELECT pg_temp.try($$SELECT ai_scale.predict('p_lin', '{"a": 1, "b": 2}', 7)$$);
SELECT pg_temp.try($$SELECT ai_scale.predict('p_lin', '{"a": 1, "b": 2}', 0)$$);
SELECT pg_temp.try($$SELECT ai_scale.predict(NULL, '{"a": 1}')$$);
SELECT pg_temp.try($$SELECT ai_scale.predict('p_lin', NULL)$$);
SELECT pg_temp.try($$SELECT ai_scale.predict('p_lin', '{"a": 1}')$$);
SELECT pg_temp.try($$SELECT ai_scale.predict('p_lin', '[1, 2]')$$);
SELECT pg_temp.try($$SELECT ai_scale.predict('p_lin', '{"a": "x", "b": 1}')$$);
-- A model with no active version: 55000, as score() (docs/predict.md, docs/scoring.md).
SELECT ai_scale.register_model('p_inactive', 'linear', ARRAY['a'], '{"weights": [1]}', activate => false);
SELECT pg_temp.try($$SELECT ai_scale.predict('p_inactive', '{"a": 1}')$$);
SELECT pg_temp.try($$SELECT ai_scale.predict_batch('p_inactive', ARRAY['{"a": 1}']::jsonb[])$$);
SELECT pg_temp.try($$SELECT ai_scale.predict_batch('p_lin', NULL)$$);
SELECT pg_temp.try($$SELECT ai_scale.predict_batch('p_lin', ARRAY[['{"a": 1, "b": 2}']]::jsonb[])$$);
SELECT pg_temp.try($$SELECT ai_scale.predict_batch('p_lin', ARRAY['{"a": 7, "b": 7}', '{"a": 8}']::jsonb[])$$);
SELECT count(*) AS stored_rows FROM public.predict_store;

-- predict_batch: per element the level that had it; the misses scored together and stored in
-- one INSERT; a null element answers null.
SELECT ai_scale.reset_stats();
SELECT i, p ->> 'source' AS source, p ->> 'score' AS score, p ->> 'version' AS version
FROM unnest(ai_scale.predict_batch('p_lin', ARRAY['{"a": 1, "b": 2}', NULL, '{"a": 5, "b": 5}',
                                                  '{"a": 6, "b": 6}']::jsonb[], 1))
     WITH ORDINALITY AS t(p, i)
ORDER BY i;
SELECT input_data, output_data FROM public.predict_store
WHERE model_name = 'p_lin' AND model_version = 1 ORDER BY input_data;
SELECT * FROM pg_temp.levels();
SELECT i, p ->> 'source' AS source
FROM unnest(ai_scale.predict_batch('p_lin', ARRAY['{"a": 5, "b": 5}', '{"a": 6, "b": 6}']::jsonb[], 1))
     WITH ORDINALITY AS t(p, i)
ORDER BY i;
SELECT ai_scale.predict_batch('p_lin', ARRAY[]::jsonb[]) AS empty;
-- The answers keep the inputs' subscripts (as array_replace keeps them), so that answers[i]
-- answers inputs[i]: an array from 5 came back from 1.
SELECT array_lower(p, 1) AS lower, array_upper(p, 1) AS upper, p[5] ->> 'score' AS fifth,
       p[6] IS NULL AS sixth, p[7] ->> 'score' AS seventh
FROM (SELECT ai_scale.predict_batch('p_lin', '[5:7]={"{\"a\": 5, \"b\": 5}",NULL,"{\"a\": 1, \"b\": 2}"}'::jsonb[], 1) p) b;
-- An error names the element by its subscript too (it said "inputs element 2" here).
SELECT pg_temp.try($$SELECT ai_scale.predict_batch('p_lin', '[5:6]={"{\"a\": 6, \"b\": 6}","{\"a\": 1}"}'::jsonb[], 1)$$) AS sixth_named;
-- Equal inputs in one batch (the same jsonb, however written) are looked up, scored, stored and
-- cached once; every copy gets that answer.
SELECT ai_scale.reset_stats();
SELECT i, p FROM unnest(ai_scale.predict_batch('p_lin', ARRAY['{"a": 11, "b": 1}', '{"b": 1, "a": 11}',
                                                        NULL, '{"a": 11, "b": 1}']::jsonb[], 1))
     WITH ORDINALITY AS t(p, i)
ORDER BY i;
SELECT count(*) AS stored_once FROM public.predict_store WHERE input_data = '{"a": 11, "b": 1}';
SELECT * FROM pg_temp.levels();

-- The misses of a batch go through the GPU seam: with gpu = on and no usable GPU module the
-- batch is an error, and nothing of it is stored or cached; with gpu = auto the CPU scores it.
SET ai_scale.gpu_library = '/nonexistent/ai_scale_gpu.so';
SET ai_scale.gpu_min_batch = 2;
SET ai_scale.gpu = on;
SELECT pg_temp.try($$SELECT ai_scale.predict_batch('p_lin', ARRAY['{"a": 9, "b": 1}', '{"a": 9, "b": 2}']::jsonb[], 1)$$);
SELECT count(*) AS stored_by_failed_batch FROM public.predict_store WHERE input_data ->> 'a' = '9';
SET ai_scale.gpu = auto;
SELECT array_agg(p ->> 'source') AS sources
FROM unnest(ai_scale.predict_batch('p_lin', ARRAY['{"a": 9, "b": 1}', '{"a": 9, "b": 2}']::jsonb[], 1)) p;
RESET ai_scale.gpu;
RESET ai_scale.gpu_min_batch;
RESET ai_scale.gpu_library;

-- A store whose DO INSTEAD rule makes an insert another kind of statement (here, it counts the
-- rows): what the rule does is the store's insert, as for the same INSERT from a client (SPI
-- says SPI_OK_REWRITTEN, which was taken for a failure: XX000).
CREATE TABLE public.predict_ruled (LIKE public.predict_store INCLUDING DEFAULTS);
CREATE TABLE public.predict_counted (n int);
INSERT INTO public.predict_counted VALUES (0);
CREATE RULE predict_count AS ON INSERT TO public.predict_ruled
    DO INSTEAD UPDATE public.predict_counted SET n = n + 1;
SET ai_scale.store_table = 'public.predict_ruled';
SELECT ai_scale.predict('p_lin', '{"a": 1234, "b": 7}', 1) ->> 'source' AS ruled_source;
SELECT count(*) AS in_ruled, (SELECT n FROM public.predict_counted) AS counted
FROM public.predict_ruled;
-- The rule dropped, the same session's next predict() stores its row. And after a DO INSTEAD
-- NOTHING rule, made and dropped: the insert's plan, which that rule had made into no statement
-- at all, depended on no table, and was kept for the session's life, storing nothing (where
-- a new session stored).
DROP RULE predict_count ON public.predict_ruled;
SELECT ai_scale.predict('p_lin', '{"a": 1235, "b": 7}', 1) ->> 'source' AS unruled_source;
CREATE RULE predict_nothing AS ON INSERT TO public.predict_ruled DO INSTEAD NOTHING;
SELECT ai_scale.predict('p_lin', '{"a": 1236, "b": 7}', 1) ->> 'source' AS nothing_source;
DROP RULE predict_nothing ON public.predict_ruled;
SELECT ai_scale.predict('p_lin', '{"a": 1237, "b": 7}', 1) ->> 'source' AS unruled_source;
-- A rule replaced (CREATE OR REPLACE RULE keeps its OID): DO INSTEAD NOTHING, then DO ALSO
-- NOTHING, whose insert stores the row. The plan was kept when the new rules landed where the
-- old ones had been in memory, and the session stored nothing after the replace.
CREATE RULE predict_nothing AS ON INSERT TO public.predict_ruled DO INSTEAD NOTHING;
SELECT ai_scale.predict('p_lin', '{"a": 1238, "b": 7}', 1) ->> 'source' AS nothing_source;
CREATE OR REPLACE RULE predict_nothing AS ON INSERT TO public.predict_ruled DO ALSO NOTHING;
SELECT ai_scale.predict('p_lin', '{"a": 1239, "b": 7}', 1) ->> 'source' AS replaced_source;
-- And replaced again with other actions alone (both INSTEAD): it counts the next row.
CREATE OR REPLACE RULE predict_nothing AS ON INSERT TO public.predict_ruled DO INSTEAD NOTHING;
SELECT ai_scale.predict('p_lin', '{"a": 1240, "b": 7}', 1) ->> 'source' AS nothing_source;
CREATE OR REPLACE RULE predict_nothing AS ON INSERT TO public.predict_ruled
    DO INSTEAD UPDATE public.predict_counted SET n = n + 1;
SELECT ai_scale.predict('p_lin', '{"a": 1241, "b": 7}', 1) ->> 'source' AS counted_source;
SELECT input_data ->> 'a' AS stored_a FROM public.predict_ruled ORDER BY 1;
SELECT n AS counted FROM public.predict_counted;
SET ai_scale.store_table = 'public.predict_store';
DROP TABLE public.predict_ruled, public.predict_counted;

-- A store's constraint refusing a prediction fails predict() with the constraint's SQLSTATE, and
-- the error names the constraint, its table and schema as the INSERT's own error does (they
-- were lost on the way out of the C++ code), so a client can tell which rule refused it.
ALTER TABLE public.predict_store ADD CONSTRAINT "score below 1000"
    CHECK ((output_data ->> 'score')::float8 < 1000);
CREATE FUNCTION pg_temp.refused(input jsonb, OUT state text, OUT constraint_name text,
                                 OUT table_name text, OUT schema_name text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ai_scale.predict('p_lin', input, 1);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, constraint_name = CONSTRAINT_NAME,
        table_name = TABLE_NAME, schema_name = SCHEMA_NAME;
END $$;
SELECT state, constraint_name, table_name ~ '^predict_store_\d{8}$' AS a_partition, schema_name
FROM pg_temp.refused('{"a": 5000, "b": 7}');
ALTER TABLE public.predict_store DROP CONSTRAINT "score below 1000";

-- What cache_put stored for the model, version and input is the answer, even when it is not an
-- object (predict() never caches one): it comes back under "output", with model, version and
-- source added as for any answer.
SELECT ai_scale.cache_put('p_lin', 1, '{"a": 5, "b": 5}', '[1, 2]');
SELECT ai_scale.predict('p_lin', '{"a": 5, "b": 5}', 1) AS put_array;
SELECT ai_scale.cache_put('p_lin', 1, '{"a": 6, "b": 6}', '7');
SELECT ai_scale.predict('p_lin', '{"a": 6, "b": 6}', 1) AS put_scalar;
-- An object keeps its keys and nested values as written; its own model, version and source
-- give way to the answer's (the last of equal keys wins in jsonb).
SELECT ai_scale.cache_put('p_lin', 1, '{"a": 7, "b": 7}',
    '{"model": "other", "version": 9, "source": "x", "nested": [1, {"b": 2.50}], "none": null}');
SELECT ai_scale.predict('p_lin', '{"a": 7, "b": 7}', 1) AS put_object;

-- A score that is not finite (a float4 sum overflowed) is 22003 naming the element it came
-- from, not its row in the batch of misses: element 1 is cached, 2 and 3 are one input, so
-- element 4 is the second row scored (it was named "Row 2 of the batch"). The batch stores
-- nothing (the row counted is the first predict()'s).
SELECT ai_scale.register_model('p_over', 'linear', ARRAY['a', 'b'], '{"weights": [2, -2]}');
SELECT ai_scale.predict('p_over', '{"a": 1, "b": 1}') ->> 'source' AS first;
SELECT ai_scale.predict_batch('p_over', ARRAY['{"a": 1, "b": 1}', '{"a": 2, "b": 1}',
                                              '{"a": 2, "b": 1}', '{"a": 3e38, "b": 3e38}']::jsonb[]);
-- Subscript 0 is named too (it said "Inputs element scored NaN").
SELECT ai_scale.predict_batch('p_over', '[0:1]={"{\"a\": 3e38, \"b\": 3e38}","{\"a\": 5, \"b\": 1}"}'::jsonb[]);
-- And the lowest subscript Postgres allows, -2147483648 (it was named "Inputs element
-- 2147483648": the offset from subscript 1 overflowed int).
SELECT ai_scale.predict_batch('p_over', '[-2147483648:-2147483647]={"{\"a\": 3e38, \"b\": 3e38}",NULL}'::jsonb[]);
SELECT count(*) AS stored_rows FROM public.predict_store WHERE model_name = 'p_over';

-- predict() fills L1 with what Redis answers in a session that missed L1 many times before:
-- each call starts its L1 lookups afresh, as cache_get's do. It did not, and the fill was
-- refused whenever the key's stripe of L1 had changed since the session's first miss there (a
-- put, a removal, by any session): after a few hundred calls, nearly always, so that predict()
-- answered from Redis again and again. 500 misses here cover the stripes; the input's own
-- commit-time fill, made with L1 off, removes its key from L1: a change in its stripe.
SELECT count(ai_scale.predict('p_lin', jsonb_build_object('a', g, 'b', 9))) AS misses
  FROM generate_series(1, 500) g;
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.predict('p_lin', '{"a": 8, "b": 8}') ->> 'source' AS scored;
RESET ai_scale.cache_use_l1;
SELECT ai_scale.predict('p_lin', '{"a": 8, "b": 8}') ->> 'source' AS from_redis;
SELECT ai_scale.predict('p_lin', '{"a": 8, "b": 8}') ->> 'source' AS then_from_l1;

DROP TABLE public.predict_store;
SELECT ai_scale.drop_model('p_lin'), ai_scale.drop_model('p_two'), ai_scale.drop_model('p_inactive'),
       ai_scale.drop_model('p_over');
RESET ai_scale.redis_read_from;
RESET ai_scale.store_table;
