-- Cache keys and input_hash give equal inputs one value, numbers written with different scales
-- too ('{"a": 9}' from JSON.stringify, '{"a": 9.0}' from Python's json.dumps: equal jsonb, but
-- different bytes): docs/cache.md, Keys.
SET client_min_messages = warning;
\i sql/include/levels.sql

-- An input whose numbers are all written minimally (the common case) hashes its bytes as they
-- are: input_hash and the cache keys of such inputs are what they were.
SELECT ai_scale.input_hash('{"a": 9}') AS minimal_input_unchanged;

-- jsonb equality and input_hash agree: pairs that are equal (=) hash alike, others do not. The
-- input with more decimals than needed is rebuilt with each number at its minimal scale, which
-- are the bytes jsonb_in makes of the minimal text (hashed as they are).
SELECT a, b, a = b AS equal, ai_scale.input_hash(a) = ai_scale.input_hash(b) AS same_hash
FROM (VALUES
    ('{"a": 9.0}'::jsonb, '{"a": 9}'::jsonb),
    ('{"a": [1.50, {"b": 2.000}], "c": 0.00, "d": -0.0, "e": 1e3, "f": 1.0e-2}',
     '{"a": [1.5, {"b": 2}], "c": 0, "d": 0, "e": 1000, "f": 0.01}'),
    ('[0.10, [0.100, [{"x": 0.1000}]]]', '[0.1, [0.1, [{"x": 0.1}]]]'),
    ('9.0', '9'),
    ('9.0', '[9]'),
    ('-1.50', '-1.5'),
    ('-1.5', '1.5'),
    ('-0', '0'),
    ('1.51', '1.5'),
    ('{"a": 1e-3}', '{"a": 0.0010}'),
    ('{"a": 1.000001}', '{"a": 1.0000010}'),
    ('{"a": 1.000001}', '{"a": 1}'),
    ('{"s": "9.0"}', '{"s": "9"}'),
    ('{"n": null, "t": true, "v": 2.50}', '{"n": null, "t": true, "v": 2.5}')
) AS t(a, b);
-- Numerics in the long format (a display scale over 63): 1 written with 70 decimals, then
-- 1.(69 zeros)1 written with one zero more, then that against 1.
SELECT a = b AS equal, ai_scale.input_hash(a) = ai_scale.input_hash(b) AS same_hash
FROM (VALUES
    (('{"x": 1.' || repeat('0', 70) || '}')::jsonb, '{"x": 1}'::jsonb),
    (('{"x": [-1.' || repeat('0', 69) || '10]}')::jsonb, ('{"x": [-1.' || repeat('0', 69) || '1]}')::jsonb),
    (('{"x": 1.' || repeat('0', 69) || '1}')::jsonb, '{"x": 1}')
) AS t(a, b);

-- L1: a value put under one writing is found under the other, both ways, alone and in a batch.
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_put('scale_model', 1, '{"x": 9.0, "y": [0.50]}', '{"out": 1}'),
       ai_scale.cache_put('scale_model', 1, '{"x": 2}', '{"out": 2}');
SELECT ai_scale.cache_get('scale_model', 1, '{"y": [0.5], "x": 9}') AS js_finds_py,
       ai_scale.cache_get('scale_model', 1, '{"x": 2.000}') AS py_finds_js,
       ai_scale.cache_get('scale_model', 1, '{"x": 2.001}') AS other_value;
SELECT ai_scale.cache_get_many('scale_model', 1,
    ARRAY['{"x": 9, "y": [0.5]}', '{"x": 2.0}', '{"x": 3.0}']::jsonb[]) AS batch;
SELECT * FROM pg_temp.levels() WHERE level = 'l1';

-- L2 (Redis) with L1 off, read from the primary so that a put is readable at once.
SET ai_scale.cache_use_l1 = off;
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_put('scale_model', 1, '{"z": 1.50}', '{"out": 3}');
SELECT ai_scale.cache_get('scale_model', 1, '{"z": 1.5}') AS l2_js_finds_py,
       ai_scale.cache_get('scale_model', 1, '{"z": 1.500}') AS l2_other_writing,
       ai_scale.cache_get('scale_model', 1, '{"z": 1.55}') AS l2_other_value;
SELECT * FROM pg_temp.levels() WHERE level IN ('l1', 'l2');
RESET ai_scale.cache_use_l1;

-- predict(): the store (L3) finds a prediction under another writing of its input (it compares
-- input_hash, then input_data with jsonb =), and the row keeps the input as it was written.
SET ai_scale.store_table = 'public.scale_store';
SELECT ai_scale.create_prediction_store('public.scale_store') AS store;
SELECT ai_scale.register_model('scale_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
SELECT ai_scale.predict('scale_lin', '{"a": 1, "b": 2}') ->> 'source' AS scored;
SELECT ai_scale.predict('scale_lin', '{"a": 1.0, "b": 2.00}') ->> 'source' AS l1_other_writing;
SELECT ai_scale.cache_invalidate('scale_lin');
SELECT ai_scale.predict('scale_lin', '{"a": 1.00, "b": 2.0}') AS l3_third_writing;
SELECT input_data, input_hash = ai_scale.input_hash('{"a": 1.00, "b": 2.0}') AS hash_of_all
FROM public.scale_store;

-- predict_batch: elements equal but written differently are one input, scored and stored once;
-- an element of another value is its own.
SELECT ai_scale.reset_stats();
SELECT i, p ->> 'source' AS source, p ->> 'score' AS score
FROM unnest(ai_scale.predict_batch('scale_lin', ARRAY['{"a": 5, "b": 5}', '{"a": 5.0, "b": 5.00}',
                                                      '{"b": 5, "a": 5.000}', '{"a": 5.1, "b": 5}']::jsonb[]))
     WITH ORDINALITY AS t(p, i);
SELECT value AS rows_scored FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_cpu';
SELECT input_data FROM public.scale_store WHERE input_data <> '{"a": 1, "b": 2}' ORDER BY input_data;
-- The store answers the batch under yet another writing (one query for the batch, l3_get_many).
SELECT ai_scale.cache_invalidate('scale_lin');
SELECT i, p ->> 'source' AS source, p ->> 'score' AS score
FROM unnest(ai_scale.predict_batch('scale_lin', ARRAY['{"a": 5.00, "b": 5.0}', '{"a": 5.10, "b": 5}']::jsonb[]))
     WITH ORDINALITY AS t(p, i);
SELECT count(*) AS stored_rows FROM public.scale_store;

DROP TABLE public.scale_store;
SELECT ai_scale.drop_model('scale_lin');
RESET ai_scale.redis_read_from;
RESET ai_scale.store_table;
