-- An unqualified ai_scale.store_table names a table in public, as create_prediction_store()
-- makes one. The store is looked up under search_path = pg_catalog, pg_temp (pinned), which
-- used to find such a name only in pg_temp: predict() stored nothing and L3 always missed,
-- silently, or a session's temporary table of that name was used as the store.
SET client_min_messages = warning;
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.create_prediction_store('uq_store') AS store;
SELECT ai_scale.register_model('uq_lin', 'linear', ARRAY['a'], '{"weights": [2]}') AS version;
SET ai_scale.store_table = 'uq_store';
SELECT ai_scale._readable_store() AS readable;
SELECT ai_scale.predict('uq_lin', '{"a": 1}') ->> 'source' AS scored;
SELECT input_data, output_data FROM public.uq_store;
-- L3 reads it: after the invalidation L1 and Redis miss, and the store answers.
SELECT ai_scale.cache_invalidate('uq_lin');
SELECT ai_scale.cache_get('uq_lin', 1, '{"a": 1}') AS from_store;
-- A temporary table of the same name is not the store.
CREATE TEMP TABLE uq_store (LIKE public.uq_store);
SELECT ai_scale._readable_store() AS readable_with_temp;
SELECT ai_scale.predict('uq_lin', '{"a": 2}') ->> 'source' AS scored;
SELECT count(*) AS in_public FROM public.uq_store;
SELECT count(*) AS in_temp FROM pg_temp.uq_store;
-- Quoted, the name is taken as written.
ALTER TABLE public.uq_store RENAME TO "Uq Store";
SET ai_scale.store_table = '"Uq Store"';
SELECT ai_scale._readable_store() AS readable_quoted;
SELECT ai_scale.predict('uq_lin', '{"a": 3}') ->> 'source' AS scored;
SELECT count(*) AS stored FROM public."Uq Store";
DROP TABLE pg_temp.uq_store;
DROP TABLE public."Uq Store";
SELECT ai_scale.drop_model('uq_lin');
RESET ai_scale.store_table;
RESET ai_scale.redis_read_from;
