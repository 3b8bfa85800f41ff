-- The store renamed, or moved to another schema, under a session that has used it: predict()
-- and cache_get() follow ai_scale.store_table to the table it names now. Their plans name the
-- table in their text, and Postgres parses that text again once the table is altered: a plan
-- kept for the same table under its old name looked the old name up (42P01, or another table
-- that took the name, which was then read and written as the store).
SET client_min_messages = warning;
\i sql/include/try.sql
SET ai_scale.store_table = 'public.renamed_store';
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.create_prediction_store('public.renamed_store') AS store;
SELECT ai_scale.register_model('rn_lin', 'linear', ARRAY['a'], '{"weights": [2], "bias": 1}') AS v \gset
SELECT ai_scale.predict('rn_lin', '{"a": 1}') AS first;
SELECT ai_scale.cache_get_many('rn_lin', :v, ARRAY['{"a": 1}']::jsonb[]) AS first_many;

-- Renamed, and the setting follows it; a new table takes the old name.
ALTER TABLE public.renamed_store RENAME TO renamed_store_2;
SET ai_scale.store_table = 'public.renamed_store_2';
SELECT ai_scale.create_prediction_store('public.renamed_store') AS squatter;
SELECT ai_scale.predict('rn_lin', '{"a": 2}') ->> 'source' AS after_rename;
SELECT ai_scale.cache_invalidate('rn_lin');
SELECT ai_scale.cache_get('rn_lin', :v, '{"a": 1}') AS l3_after_rename;
SELECT ai_scale.cache_invalidate('rn_lin');
SELECT ai_scale.cache_get_many('rn_lin', :v, ARRAY['{"a": 1}']::jsonb[]) AS l3_many_after_rename;
SELECT 'renamed_store_2' AS store, input_data FROM public.renamed_store_2
UNION ALL
SELECT 'renamed_store', input_data FROM public.renamed_store
ORDER BY 1, 2;

-- Moved to another schema, with no table under the old name.
DROP TABLE public.renamed_store;
CREATE SCHEMA rn_other;
ALTER TABLE public.renamed_store_2 SET SCHEMA rn_other;
SET ai_scale.store_table = 'rn_other.renamed_store_2';
SELECT pg_temp.try($$SELECT ai_scale.predict('rn_lin', '{"a": 3}')$$) AS after_set_schema;
SELECT ai_scale.cache_invalidate('rn_lin');
SELECT ai_scale.cache_get('rn_lin', :v, '{"a": 3}') AS l3_value_after_set_schema;
SELECT input_data FROM rn_other.renamed_store_2 ORDER BY 1;

DROP SCHEMA rn_other CASCADE;
SELECT ai_scale.drop_model('rn_lin');
RESET ai_scale.redis_read_from;
RESET ai_scale.store_table;
