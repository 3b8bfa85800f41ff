-- predict() and predict_batch() with store_mode = sync cache their predictions when the
-- transaction commits, and by then Postgres has put back the settings of a function's SET
-- clause: the fill followed the session's, and filled the L1 and the Redis a function had
-- turned off for its calls. It follows the call's now.
SET client_min_messages = warning;
SELECT ai_scale.create_prediction_store('public.fill_settings_store') AS store;
SET ai_scale.store_table = 'public.fill_settings_store';
SET ai_scale.store_mode = sync;
SET ai_scale.redis_read_from = 'primary'; -- a write is readable at once
SELECT ai_scale.register_model('fill_settings', 'linear', ARRAY['a'], '{"weights": [2], "bias": 0}');
CREATE FUNCTION no_l1(j jsonb) RETURNS jsonb LANGUAGE sql
    SET ai_scale.cache_use_l1 = off AS $$ SELECT ai_scale.predict('fill_settings', j) $$;
CREATE FUNCTION no_l2(j jsonb) RETURNS jsonb LANGUAGE sql
    SET ai_scale.redis_primary = '' AS $$ SELECT ai_scale.predict('fill_settings', j) $$;
CREATE FUNCTION batch_no_l1(j jsonb[]) RETURNS jsonb[] LANGUAGE sql
    SET ai_scale.cache_use_l1 = off AS $$ SELECT ai_scale.predict_batch('fill_settings', j) $$;
SELECT no_l1('{"a": 1}') ->> 'source' AS no_l1,
       no_l2('{"a": 2}') ->> 'source' AS no_l2;
SELECT array_length(batch_no_l1(ARRAY['{"a": 3}', '{"a": 4}']::jsonb[]), 1) AS batch_no_l1;
-- Stored, each of them.
SELECT input_data ->> 'a' AS a FROM public.fill_settings_store ORDER BY 1;
-- Which level holds which: with the store emptied, L1 alone, then Redis alone. (Not with
-- store_table = '': that is another store's cache.)
DELETE FROM public.fill_settings_store;
BEGIN;
SET LOCAL ai_scale.redis_primary = '';
SELECT a, ai_scale.cache_get('fill_settings', 1, jsonb_build_object('a', a)) IS NOT NULL AS in_l1
  FROM generate_series(1, 4) a;
COMMIT;
BEGIN;
SET LOCAL ai_scale.cache_use_l1 = off;
SELECT a, ai_scale.cache_get('fill_settings', 1, jsonb_build_object('a', a)) IS NOT NULL AS in_redis
  FROM generate_series(1, 4) a;
COMMIT;
DROP FUNCTION no_l1(jsonb), no_l2(jsonb), batch_no_l1(jsonb[]);
SELECT ai_scale.drop_model('fill_settings');
DROP TABLE public.fill_settings_store;
RESET ai_scale.store_table;
RESET ai_scale.store_mode;
RESET ai_scale.redis_read_from;
