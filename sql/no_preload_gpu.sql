-- Without shared_preload_libraries the GPU path behaves the same: the module is loaded on first
-- use in the backend, and a batch falls back to the CPU (stats are simply not counted).
CREATE EXTENSION ai_scale;
SET ai_scale.gpu_library = '/nonexistent/ai_scale_gpu.so';
SET ai_scale.gpu_min_batch = 1;
SELECT setting, loaded, live, reason FROM ai_scale.gpu_info();
SELECT * FROM ai_scale._gpu_score_test(ARRAY[[1, 2], [3, 4]], ARRAY[0.5, -1], 0.25);
SET ai_scale.gpu = on;
SELECT * FROM ai_scale._gpu_score_test(ARRAY[[1, 2], [3, 4]], ARRAY[0.5, -1], 0.25);
RESET ai_scale.gpu;
DROP EXTENSION ai_scale;
