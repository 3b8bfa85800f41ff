-- score_batch and predict_batch extract a whole array's features into one float4 matrix. An
-- element that lacks its features (a gbdt scores a missing one as NaN) is 8 bytes of jsonb but
-- 40 kB of features for a model of 10,000: a 480 kB array took 2.3 GB, and an 8 MB one asked
-- for 40 GB. A batch whose features and scores would take more than 1 GB (Postgres's limit on
-- one allocation) is refused with 54000 before anything is extracted, scored or stored
-- (src/scoring/batch_limit.hpp). Each refused array here is a few hundred kB.
SET client_min_messages = warning;
SELECT ai_scale.register_model('wide_gbdt', 'gbdt',
    ARRAY(SELECT 'f' || i FROM generate_series(1, 10000) i),
    '{"trees": [{"left_children": [1, -1, -1], "right_children": [2, -1, -1],
                 "split_indices": [9999, 0, 0], "split_conditions": [0.5, 1, 2],
                 "default_left": [1, 0, 0]}]}') AS version;
-- A missing feature is NaN: '{}' scores.
SELECT ai_scale.score_batch('wide_gbdt', ARRAY['{}'::jsonb, '{"f10000": 1}']);
SELECT ai_scale.reset_stats();

-- 26,840 rows of 10,000 features and one score (40,004 bytes a row) fit in 1 GB; 26,841 do not.
-- Null elements take no room and are not counted.
SELECT pg_column_size(array_fill('{}'::jsonb, ARRAY[26841])) AS input_bytes;
SELECT ai_scale.score_batch('wide_gbdt',
    array_fill('{}'::jsonb, ARRAY[26841]) || array_fill(NULL::jsonb, ARRAY[100]));

-- predict_batch: counted after equal elements are merged; nothing is scored, cached or stored.
SET ai_scale.store_table = 'public.limits_store';
SELECT ai_scale.create_prediction_store('public.limits_store') AS store;
SET ai_scale.store_mode = sync;
SELECT ai_scale.predict_batch('wide_gbdt',
    ARRAY(SELECT jsonb_build_object('id', g % 26841) FROM generate_series(1, 30000) g));
SELECT count(*) AS stored FROM public.limits_store;
SELECT metric, value FROM ai_scale.stats
WHERE section = 'scoring' AND metric IN ('rows_cpu', 'rows_gpu') ORDER BY metric;
-- One of them alone is scored, and stored.
SELECT (ai_scale.predict_batch('wide_gbdt', ARRAY['{"id": 1}'::jsonb]))[1] AS answer;
SELECT count(*) AS stored FROM public.limits_store;
RESET ai_scale.store_mode;
DROP TABLE public.limits_store;
RESET ai_scale.store_table;
SELECT ai_scale.drop_model('wide_gbdt');

-- score_multi_batch answers a float8 for each output of each element, null elements included:
-- for an mlp of 256 outputs, 516,222 rows fit in 1 GB (8 bytes an output, a bit for its null
-- flag, a header of 32 bytes), 516,223 do not, an array of as many nulls (a 64 kB input).
-- Refused before anything is extracted or scored.
SELECT ai_scale.register_model('wide_out', 'mlp', ARRAY['x'],
    jsonb_build_object('layers', jsonb_build_array(jsonb_build_object(
        'weights', (SELECT jsonb_agg(jsonb_build_array(i)) FROM generate_series(1, 256) i),
        'bias', (SELECT jsonb_agg(0) FROM generate_series(1, 256)),
        'activation', 'identity')))) AS version;
SELECT ai_scale.reset_stats();
SELECT ai_scale.score_multi_batch('wide_out', array_fill(NULL::jsonb, ARRAY[516223]));
SELECT metric, value FROM ai_scale.stats
WHERE section = 'scoring' AND metric IN ('rows_cpu', 'rows_gpu') ORDER BY metric;
-- (The largest that fits would take 2 GB of the server's memory at once: its boundary is in
-- test/unit/test_scoring_batch_limit.cpp.) A small one: output i is 0.5 * i.
SELECT array_dims(m) AS dims, m[1][1] AS first, m[1][256] AS last, m[2][256] IS NULL AS null_row
FROM (SELECT ai_scale.score_multi_batch('wide_out', ARRAY['{"x": 0.5}', NULL]::jsonb[]) AS m) x;
SELECT ai_scale.drop_model('wide_out');
