-- An L3 hit on a row another transaction only locked, or deleted and rolled back, is cached as
-- any other. Such a row keeps its xmax until its page is frozen (50 million transactions
-- later, by default; a plain VACUUM leaves it), and read from the xmax alone it was answered
-- from the store at every call, never cached: every row a foreign key references is locked
-- FOR KEY SHARE by the insert that references it (a table of labels for the predictions).
SET client_min_messages = warning;
\i sql/include/levels.sql
SET ai_scale.store_table = 'public.lk_store';
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.create_prediction_store('public.lk_store') AS store;
SELECT ai_scale.register_model('lk_m', 'linear', ARRAY['a'], '{"weights": [1]}') AS version;
INSERT INTO public.lk_store (model_name, model_version, input_data, output_data, input_hash)
SELECT 'lk_m', 1, i, jsonb_build_object('score', n * 10), ai_scale.input_hash(i)
FROM generate_series(1, 3) n, LATERAL (SELECT jsonb_build_object('a', n)) AS v(i);
CREATE TABLE public.lk_labels (prediction_id uuid, created_at timestamptz, label int,
    FOREIGN KEY (prediction_id, created_at) REFERENCES public.lk_store);
-- A label for {"a": 1}: its insert locks that row. {"a": 2} deleted, and the delete rolled
-- back. {"a": 3} untouched. (No VACUUM between: it would mark the first two rows' xmax as
-- invalid, and the lookups would never read their headers; specs/cache_l3_row_header has the
-- multixacts.)
INSERT INTO public.lk_labels SELECT prediction_id, created_at, 1 FROM public.lk_store
 WHERE input_data = '{"a": 1}';
BEGIN;
DELETE FROM public.lk_store WHERE input_data = '{"a": 2}';
ROLLBACK;
SELECT input_data, xmax <> '0' AS xmax_set FROM public.lk_store ORDER BY input_data ->> 'a';
SELECT ai_scale.reset_stats();
SELECT n, ai_scale.cache_get('lk_m', 1, jsonb_build_object('a', n)) AS first
FROM generate_series(1, 3) n;
SELECT n, ai_scale.cache_get('lk_m', 1, jsonb_build_object('a', n)) AS again
FROM generate_series(1, 3) n;
SELECT * FROM pg_temp.levels();
-- predict() alike: the labelled input is answered from L1 after one read of the store.
SELECT ai_scale.cache_invalidate('lk_m', 1);
SELECT ai_scale.predict('lk_m', '{"a": 1}') ->> 'source' AS first,
       ai_scale.predict('lk_m', '{"a": 1}') ->> 'source' AS again;
DROP TABLE public.lk_labels;
DROP TABLE public.lk_store;
