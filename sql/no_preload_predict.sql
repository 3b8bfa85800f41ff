-- predict() on a server without shared_preload_libraries: no L1 (the cache's NOTICE says so),
-- no write-behind queue, so store_mode = async stores synchronously; Redis and the store serve.
CREATE EXTENSION ai_scale;
SET ai_scale.store_table = 'public.np_store';
SELECT ai_scale.create_prediction_store('public.np_store') AS store;
SELECT ai_scale.register_model('np_lin', 'linear', ARRAY['a'], '{"weights": [2]}');
SET ai_scale.redis_read_from = 'primary';
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('np_lin', '{"a": 3}') AS scored;
-- Stored at once: without the queue, async is sync.
SELECT input_data, output_data FROM public.np_store;
SELECT ai_scale.predict('np_lin', '{"a": 3}') ->> 'source' AS without_l1_redis_answers;
SELECT ai_scale.predict_batch('np_lin', ARRAY['{"a": 3}', '{"a": 4}']::jsonb[]) AS batch;
SELECT count(*) AS stored FROM public.np_store;
DROP TABLE public.np_store;
DROP EXTENSION ai_scale;
