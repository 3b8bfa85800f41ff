-- A row of the store that the current transaction wrote (a plain INSERT, or predict() in sync
-- mode) is answered from L3 in that transaction but not copied to L1 or Redis: the transaction
-- may roll it back, and the cache must not keep serving an output the store never had.
SET client_min_messages = warning;
\i sql/include/levels.sql
SET ai_scale.store_table = 'public.uc_store';
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.create_prediction_store('public.uc_store') AS store;
SELECT ai_scale.register_model('uc_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}') AS version;
CREATE FUNCTION pg_temp.put_row(input jsonb, output jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO public.uc_store (model_name, model_version, input_data, output_data, input_hash)
    VALUES ('uc_lin', 1, input, output, ai_scale.input_hash(input))
$$;

-- A row inserted and read in a transaction that rolls back: a miss everywhere afterwards,
-- and predict() scores the input instead of answering the rolled back output.
BEGIN;
SELECT pg_temp.put_row('{"a": 1, "b": 1}', '{"score": 999}');
SELECT ai_scale.cache_get('uc_lin', 1, '{"a": 1, "b": 1}') AS in_transaction;
SELECT ai_scale.cache_get_many('uc_lin', 1, ARRAY['{"a": 1, "b": 1}']::jsonb[]) AS many_in_transaction;
ROLLBACK;
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('uc_lin', 1, '{"a": 1, "b": 1}') AS after_rollback;
SELECT * FROM pg_temp.levels();
SELECT ai_scale.predict('uc_lin', '{"a": 1, "b": 1}') AS predicted;

-- predict() then cache_get() of the same input in a transaction that rolls back: predict()
-- leaves its fill for the commit, and cache_get()'s L3 hit on that row does not make it early.
BEGIN;
SELECT ai_scale.predict('uc_lin', '{"a": 2, "b": 2}') ->> 'source' AS scored;
SELECT ai_scale.cache_get('uc_lin', 1, '{"a": 2, "b": 2}') AS read_back;
ROLLBACK;
SELECT ai_scale.predict('uc_lin', '{"a": 2, "b": 2}') ->> 'source' AS scored_again;

-- predict_batch() and predict() on a row inserted in the transaction: answered as L3, cached
-- by neither.
BEGIN;
SELECT pg_temp.put_row('{"a": 3, "b": 3}', '{"score": 777}');
SELECT pg_temp.put_row('{"a": 4, "b": 4}', '{"score": 444}');
SELECT ai_scale.predict_batch('uc_lin', ARRAY['{"a": 3, "b": 3}']::jsonb[]) AS batch;
SELECT ai_scale.predict('uc_lin', '{"a": 4, "b": 4}') AS single;
ROLLBACK;
SELECT ai_scale.predict('uc_lin', '{"a": 3, "b": 3}') ->> 'score' AS scored_3,
       ai_scale.predict('uc_lin', '{"a": 4, "b": 4}') ->> 'score' AS scored_4;

-- The same within a savepoint (the row's xmin is the subtransaction's), released, then the
-- whole transaction rolled back.
BEGIN;
SAVEPOINT s;
SELECT pg_temp.put_row('{"a": 5, "b": 5}', '{"score": 555}');
RELEASE s;
SAVEPOINT t;
SELECT ai_scale.cache_get('uc_lin', 1, '{"a": 5, "b": 5}') AS in_savepoint;
RELEASE t;
ROLLBACK;
SELECT ai_scale.cache_get('uc_lin', 1, '{"a": 5, "b": 5}') AS after_rollback;

-- Committed, the row is L3 for everyone, and the first read after the commit fills L1 and L2.
BEGIN;
SELECT pg_temp.put_row('{"a": 6, "b": 6}', '{"score": 666}');
SELECT ai_scale.cache_get('uc_lin', 1, '{"a": 6, "b": 6}') AS in_transaction;
COMMIT;
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('uc_lin', 1, '{"a": 6, "b": 6}') AS committed,
       ai_scale.cache_get('uc_lin', 1, '{"a": 6, "b": 6}') AS again;
SELECT * FROM pg_temp.levels();

DROP TABLE public.uc_store;
SELECT ai_scale.drop_model('uc_lin');
RESET ai_scale.store_table;
RESET ai_scale.redis_read_from;
