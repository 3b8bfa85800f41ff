-- The scoring functions reach the GPU seam: with gpu = on a batch the GPU cannot take is an
-- error in both batch forms; with auto a model worth the GPU falls back to the CPU with the
-- same scores, and one that is not stays on the CPU.
SELECT ai_scale.register_model('gpu_wired', 'logistic', ARRAY['a', 'b'],
                               '{"weights": [1, 2], "bias": 0.5}');
-- A module path that cannot exist keeps this output the same with and without a GPU module.
SET ai_scale.gpu_library = '/nonexistent/ai_scale_gpu.so';
SET ai_scale.gpu_min_batch = 1;
SELECT ai_scale.reset_stats();

SET ai_scale.gpu = on;
\set VERBOSITY terse
SELECT ai_scale.score_batch('gpu_wired', ARRAY['{"a": 1, "b": 2}'::jsonb, '{"a": 0, "b": 0}']);
SELECT ai_scale.score_batched('gpu_wired', x) OVER () FROM (VALUES ('{"a": 1, "b": 2}'::jsonb)) v(x);
\set VERBOSITY default

-- Under auto a logistic model is not worth the GPU (docs/gpu.md): scored on the CPU, and not
-- counted as a fallback.
SET ai_scale.gpu = auto;
SELECT round(s::numeric, 6) AS score
FROM unnest(ai_scale.score_batch('gpu_wired', ARRAY['{"a": 1, "b": 2}'::jsonb, '{"a": 0, "b": 0}'])) s;
SELECT round(ai_scale.score_batched('gpu_wired', x) OVER ()::numeric, 6) AS score
FROM (VALUES ('{"a": 1, "b": 2}'::jsonb)) v(x);
SELECT value AS fallbacks FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'gpu_fallbacks';

-- An mlp doing 12 multiply-adds per feature (2 -> 8 -> 1) is: it asks for the GPU, finds none,
-- and falls back to the CPU with the same scores. Each hidden unit is relu(0.5a + 0.25b), the
-- output 0.125 times their sum: 1 for (1, 2), 0 for (0, 0).
SELECT ai_scale.register_model('gpu_heavy', 'mlp', ARRAY['a', 'b'],
    jsonb_build_object('layers', jsonb_build_array(
        jsonb_build_object('weights', (SELECT jsonb_agg('[0.5, 0.25]'::jsonb) FROM generate_series(1, 8)),
                           'bias', (SELECT jsonb_agg(0) FROM generate_series(1, 8)), 'activation', 'relu'),
        jsonb_build_object('weights', jsonb_build_array((SELECT jsonb_agg(0.125) FROM generate_series(1, 8))),
                           'bias', '[0]'::jsonb, 'activation', 'identity'))));
SELECT ai_scale.score_batch('gpu_heavy', ARRAY['{"a": 1, "b": 2}'::jsonb, '{"a": 0, "b": 0}']);
SELECT round(ai_scale.score_batched('gpu_heavy', x) OVER ()::numeric, 6) AS score
FROM (VALUES ('{"a": 1, "b": 2}'::jsonb)) v(x);

-- Both mlp batches fell back to the CPU: counted as fallbacks, no GPU rows.
SELECT metric, value FROM ai_scale.stats
WHERE section = 'scoring' AND metric IN ('rows_gpu', 'gpu_fallbacks') ORDER BY metric;
SELECT value > 0 AS rows_cpu_positive FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_cpu';

-- At the default settings score_batched's batches (score_batch_rows: 4096 rows) stay below
-- gpu_min_batch (10000 rows) and never ask for the GPU; with score_batch_rows raised to 10000,
-- a batch of 10000 rows does (docs/gpu.md, 2).
RESET ai_scale.gpu_min_batch;
CREATE TEMP TABLE gpu_rows AS
SELECT jsonb_build_object('a', i % 3, 'b', i % 5) AS x FROM generate_series(1, 10000) i;
SELECT ai_scale.reset_stats();
SELECT count(s) FROM (SELECT ai_scale.score_batched('gpu_heavy', x) OVER () AS s FROM gpu_rows) q;
SELECT value AS fallbacks_at_defaults FROM ai_scale.stats
WHERE section = 'scoring' AND metric = 'gpu_fallbacks';
SET ai_scale.score_batch_rows = 10000;
SELECT count(s) FROM (SELECT ai_scale.score_batched('gpu_heavy', x) OVER () AS s FROM gpu_rows) q;
SELECT value AS fallbacks_with_batches_of_10000 FROM ai_scale.stats
WHERE section = 'scoring' AND metric = 'gpu_fallbacks';
RESET ai_scale.score_batch_rows;

SET ai_scale.gpu = off;
SELECT round(ai_scale.score('gpu_wired', '{"a": 1, "b": 2}')::numeric, 6) AS score;
RESET ai_scale.gpu;
RESET ai_scale.gpu_min_batch;
RESET ai_scale.gpu_library;
SELECT ai_scale.drop_model('gpu_wired');
SELECT ai_scale.drop_model('gpu_heavy');
