-- The scoring functions reach the GPU seam: with gpu = on a batch the GPU cannot take is an
-- error in both batch forms; with auto the same batch falls back to the CPU with the same scores.
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

SET ai_scale.gpu = auto;
SELECT round(s::numeric, 6) AS score
FROM unnest(ai_scale.score_batch('gpu_wired', ARRAY['{"a": 1, "b": 2}'::jsonb, '{"a": 0, "b": 0}'])) s;
SELECT round(ai_scale.score_batched('gpu_wired', x) OVER ()::numeric, 6) AS score
FROM (VALUES ('{"a": 1, "b": 2}'::jsonb)) v(x);

-- Both fell back to the CPU: counted as fallbacks (the first opened the breaker), no GPU rows.
SELECT metric, value > 0 AS positive FROM ai_scale.stats
WHERE section = 'scoring' AND metric IN ('rows_cpu', 'rows_gpu', 'gpu_fallbacks') ORDER BY metric;

SET ai_scale.gpu = off;
SELECT round(ai_scale.score('gpu_wired', '{"a": 1, "b": 2}')::numeric, 6) AS score;
RESET ai_scale.gpu;
RESET ai_scale.gpu_min_batch;
RESET ai_scale.gpu_library;
SELECT ai_scale.drop_model('gpu_wired');
