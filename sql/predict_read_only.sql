-- predict() in a read-only transaction behaves as on a hot standby: it reads every level,
-- scores a miss and caches it, and stores nothing, whatever ai_scale.store_mode says.
SET client_min_messages = warning;
SET ai_scale.store_table = 'public.ro_store';
SELECT ai_scale.create_prediction_store('public.ro_store') AS store;
SELECT ai_scale.register_model('ro_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
SET ai_scale.redis_read_from = 'primary';

-- sync: no 25006, nothing stored; the next call finds it in L1.
BEGIN READ ONLY;
SELECT ai_scale.predict('ro_lin', '{"a": 1, "b": 1}') AS sync_read_only;
SELECT array_agg(p ->> 'source') AS batch_sources
FROM unnest(ai_scale.predict_batch('ro_lin', ARRAY['{"a": 1, "b": 2}', '{"a": 1, "b": 3}']::jsonb[])) p;
COMMIT;
SELECT count(*) AS stored_sync FROM public.ro_store;
SELECT ai_scale.predict('ro_lin', '{"a": 1, "b": 1}') ->> 'source' AS cached;
-- What such a call cached stays cached when a later error rolls the transaction back: it
-- stored nothing that the rollback could take from the store.
BEGIN READ ONLY;
SELECT ai_scale.predict('ro_lin', i) ->> 'source' AS before_error
FROM (VALUES ('{"a": 1, "b": 5}'::jsonb), ('[1]')) v(i);
ROLLBACK;
SELECT ai_scale.predict('ro_lin', '{"a": 1, "b": 5}') ->> 'source' AS cached_after_rollback;

-- async: nothing queued either (the worker would write behind the transaction's back).
SET ai_scale.store_mode = async;
BEGIN;
SET TRANSACTION READ ONLY;
SELECT ai_scale.predict('ro_lin', '{"a": 2, "b": 1}') AS async_read_only;
SELECT array_agg(p ->> 'source') AS batch_sources
FROM unnest(ai_scale.predict_batch('ro_lin', ARRAY['{"a": 2, "b": 2}', '{"a": 2, "b": 3}']::jsonb[])) p;
COMMIT;
SET default_transaction_read_only = on;
SELECT ai_scale.predict('ro_lin', '{"a": 2, "b": 4}') ->> 'source' AS default_read_only;
RESET default_transaction_read_only;
-- A row the worker had been given would be in the store by now: give it the time to write
-- one it was given afterwards (the queue is written in order).
SELECT ai_scale.predict('ro_lin', '{"a": 2, "b": 9}') ->> 'source' AS read_write;
CREATE FUNCTION pg_temp.wait_for_rows(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    c bigint;
BEGIN
    FOR i IN 1..600 LOOP
        SELECT count(*) INTO c FROM public.ro_store;
        EXIT WHEN c >= n;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN c;
END $$;
SELECT pg_temp.wait_for_rows(1) AS stored_rows;
SELECT input_data FROM public.ro_store;
SELECT ai_scale.predict('ro_lin', '{"a": 2, "b": 1}') ->> 'source' AS cached;
RESET ai_scale.store_mode;

DROP TABLE public.ro_store;
SELECT ai_scale.drop_model('ro_lin');
RESET ai_scale.redis_read_from;
RESET ai_scale.store_table;
