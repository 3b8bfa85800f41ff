-- store_mode = sync: what predict() stores in a transaction is cached (L1 and Redis) when the
-- transaction commits, so a rolled back statement, transaction or savepoint leaves nothing
-- cached that the store does not have: every prediction served is stored or scored again.
SET client_min_messages = warning;
\i sql/include/try.sql
\i sql/include/wait_for_replica.sql
SET ai_scale.store_table = 'public.rb_store';
SELECT ai_scale.create_prediction_store('public.rb_store') AS store;
SELECT ai_scale.register_model('rb_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
SET ai_scale.redis_read_from = 'primary';
CREATE FUNCTION pg_temp.sources(first int, last int, b int) RETURNS TABLE (source text, n bigint)
LANGUAGE sql AS $$
    SELECT p ->> 'source', count(*)
    FROM (SELECT ai_scale.predict('rb_lin', jsonb_build_object('a', i, 'b', b)) AS p
          FROM generate_series(first, last) i) s
    GROUP BY 1 ORDER BY 1
$$;

-- A statement over 100 rows fails at row 100 (a feature of the wrong type).
SELECT ai_scale.predict('rb_lin', jsonb_build_object('a', i, 'b', CASE WHEN i = 100 THEN to_jsonb('x'::text) ELSE to_jsonb(1) END))
FROM generate_series(1, 100) i;
SELECT count(*) AS stored FROM public.rb_store;
-- Run again: the 99 are scored again, not served from a cache the store never matched.
SELECT * FROM pg_temp.sources(1, 99, 1);
SELECT count(*) AS stored FROM public.rb_store;
SELECT * FROM pg_temp.sources(1, 99, 1);

-- The same inside a subtransaction (a PL/pgSQL exception block) that rolls back.
SELECT pg_temp.try($$SELECT ai_scale.predict('rb_lin', jsonb_build_object('a', i, 'b', CASE WHEN i = 100 THEN to_jsonb('x'::text) ELSE to_jsonb(2) END))
                     FROM generate_series(1, 100) i$$);
SELECT * FROM pg_temp.sources(1, 99, 2);
SELECT count(*) AS stored FROM public.rb_store WHERE input_data ->> 'b' = '2';

-- Savepoints: what a rolled back savepoint stored is scored again; what a released one stored
-- is cached at commit with the rest.
BEGIN;
SAVEPOINT s;
SELECT ai_scale.predict('rb_lin', '{"a": 1, "b": 3}') ->> 'source' AS rolled_back;
ROLLBACK TO s;
SELECT ai_scale.predict('rb_lin', '{"a": 2, "b": 3}') ->> 'source' AS kept;
SAVEPOINT t;
SELECT ai_scale.predict('rb_lin', '{"a": 3, "b": 3}') ->> 'source' AS released;
RELEASE t;
COMMIT;
SELECT input_data ->> 'a' AS a, (SELECT ai_scale.predict('rb_lin', input_data) ->> 'source') AS source
FROM (VALUES ('{"a": 1, "b": 3}'::jsonb), ('{"a": 2, "b": 3}'), ('{"a": 3, "b": 3}')) v(input_data);
SELECT input_data ->> 'a' AS a, count(*) AS stored FROM public.rb_store
WHERE input_data ->> 'b' = '3' GROUP BY 1 ORDER BY 1;

-- A rolled back savepoint frees what it stored for the commit: a transaction of 200 blocks
-- that store and fail, then 2,000 more, holds no more for them (the copies stayed to the
-- transaction's end, about 80 bytes a block, past the 100,000 fills a transaction keeps).
CREATE FUNCTION pg_temp.failing_blocks(first int, last int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN first..last LOOP
    BEGIN
      PERFORM ai_scale.predict('rb_lin', jsonb_build_object('a', i, 'b', 10));
      RAISE EXCEPTION 'rolled back';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
  END LOOP;
  RETURN (SELECT sum(total_bytes) FROM pg_backend_memory_contexts
          WHERE name = 'ai_scale pending cache fills');
END $$;
BEGIN;
SELECT ai_scale.predict('rb_lin', '{"a": 0, "b": 10}') ->> 'source' AS kept;
SELECT pg_temp.failing_blocks(1, 200) AS after_200 \gset
SELECT pg_temp.failing_blocks(201, 2200) - :after_200 < 8192 AS fills_not_grown;
COMMIT;
SELECT count(*) AS stored FROM public.rb_store WHERE input_data ->> 'b' = '10';

-- Within its transaction, an input predicted twice is scored and stored once: the second
-- call answers the transaction's own stored row ("l3", counted as an L3 hit) until the commit
-- caches it.
SELECT ai_scale.reset_stats();
BEGIN;
SELECT ai_scale.predict('rb_lin', '{"a": 1, "b": 4}') ->> 'source' AS first;
SELECT p ->> 'source' AS again
FROM (SELECT ai_scale.predict('rb_lin', '{"a": 1, "b": 4}') AS p FROM generate_series(1, 2)) s;
SELECT array_agg(p ->> 'source') AS batch
FROM unnest(ai_scale.predict_batch('rb_lin', ARRAY['{"a": 1, "b": 4}', '{"a": 2, "b": 4}']::jsonb[])) p;
SELECT ai_scale.predict('rb_lin', '{"a": 2, "b": 4}') ->> 'source' AS batch_row_again;
COMMIT;
SELECT value AS l3_hits FROM ai_scale.stats WHERE section = 'l3' AND metric = 'hits';
SELECT count(*) AS stored FROM public.rb_store WHERE input_data ->> 'b' = '4';
SELECT ai_scale.predict('rb_lin', '{"a": 1, "b": 4}') ->> 'source' AS after_commit;

-- A statement that stores thousands is cached at commit a thousand keys per Redis round trip
-- (one pipeline for all could outlast ai_scale.redis_timeout_ms): the next statement finds
-- every one of them in the cache (L1, or Redis for the few that other tests' entries pushed
-- out of their L1 set, once the Redis replica has them), none scored again or read from the
-- store.
SELECT count(*) AS stored_now
FROM (SELECT ai_scale.predict('rb_lin', jsonb_build_object('a', i, 'b', 9)) FROM generate_series(1, 3000) i) s;
SELECT pg_temp.wait_for_replica(); -- the few read from Redis are read from the replica
SELECT p ->> 'source' IN ('l1', 'l2') AS cached, count(*)
FROM (SELECT ai_scale.predict('rb_lin', jsonb_build_object('a', i, 'b', 9)) AS p
      FROM generate_series(1, 3000) i) s
GROUP BY 1;

-- Each prediction cached at commit keeps the ttl it was made with: here an hour, then a
-- second; after the second, the one is still in L1, the other read from the store again.
BEGIN;
SET LOCAL ai_scale.cache_ttl = 3600;
SELECT ai_scale.predict('rb_lin', '{"a": 1, "b": 7}') ->> 'source' AS for_an_hour;
SET LOCAL ai_scale.cache_ttl = 1;
SELECT ai_scale.predict('rb_lin', '{"a": 2, "b": 7}') ->> 'source' AS for_a_second;
COMMIT;
SELECT pg_sleep(1.5);
SELECT ai_scale.predict('rb_lin', '{"a": 1, "b": 7}') ->> 'source' AS hour_later,
       ai_scale.predict('rb_lin', '{"a": 2, "b": 7}') ->> 'source' AS second_later;

-- async keeps what it queued when the transaction rolls back, so it caches at once.
SET ai_scale.store_mode = async;
BEGIN;
SELECT ai_scale.predict('rb_lin', '{"a": 1, "b": 5}') ->> 'source' AS async_first;
ROLLBACK;
SELECT ai_scale.predict('rb_lin', '{"a": 1, "b": 5}') ->> 'source' AS async_cached;
RESET ai_scale.store_mode;

-- Nor is what a model row this transaction wrote computes, when nothing is stored: the row
-- may yet roll back. Cached, an UPDATE of the model, a predict() and a ROLLBACK put any answer
-- in the cache for every role (a role allowed to UPDATE ai_scale.models, not to cache_put).
SET ai_scale.store_mode = off;
BEGIN;
UPDATE ai_scale.models SET params = '{"weights": [0, 0], "bias": -999}' WHERE model_name = 'rb_lin';
SELECT ai_scale.predict('rb_lin', '{"a": 1, "b": 6}') AS in_transaction;
SELECT ai_scale.predict_batch('rb_lin', ARRAY['{"a": 2, "b": 6}']::jsonb[]) AS batch_in_transaction;
ROLLBACK;
SELECT ai_scale.predict('rb_lin', '{"a": 1, "b": 6}') AS after_rollback;
SELECT ai_scale.predict_batch('rb_lin', ARRAY['{"a": 2, "b": 6}']::jsonb[]) AS batch_after_rollback;
SELECT ai_scale.predict('rb_lin', '{"a": 1, "b": 6}') ->> 'source' AS cached_after_rollback;
RESET ai_scale.store_mode;

DROP TABLE public.rb_store;
SELECT ai_scale.drop_model('rb_lin');
RESET ai_scale.redis_read_from;
RESET ai_scale.store_table;
