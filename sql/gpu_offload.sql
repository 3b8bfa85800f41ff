-- GPU offload on a server without a usable GPU (CI): gpu_info() says why the GPU path is not
-- live, batches fall back to the CPU under ai_scale.gpu = auto and fail under on. The library
-- is pointed at known paths so the output does not depend on whether ai_scale_gpu.so is
-- installed here.

-- A library that is not there.
SET ai_scale.gpu_library = '/nonexistent/ai_scale_gpu.so';
SELECT setting, library, loaded, live, reason, devices FROM ai_scale.gpu_info();

-- A file that is not a shared library (PG_VERSION, in the backend's working directory).
SET ai_scale.gpu_library = './PG_VERSION';
SELECT loaded, live, reason FROM ai_scale.gpu_info();

-- A shared library that is not the GPU module ($libdir is expanded).
SET ai_scale.gpu_library = '$libdir/plpgsql.so';
SELECT library LIKE '/%/plpgsql.so' AS libdir_expanded, loaded, live,
       replace(reason, library, '$libdir/plpgsql.so') AS reason
FROM ai_scale.gpu_info();

-- The default library: installed or not, no GPU is usable on this machine.
RESET ai_scale.gpu_library;
SELECT library LIKE '/%/ai_scale_gpu.so' AS default_library, live, devices
FROM ai_scale.gpu_info();

SET ai_scale.gpu = off;
SELECT setting, live, reason FROM ai_scale.gpu_info();
RESET ai_scale.gpu;

-- Under auto (the default) the hook's model, a linear one, never asks for the GPU: its
-- arithmetic costs less than the copy would (docs/gpu.md). Its batches are scored on the CPU
-- and no fallback is counted, below and above ai_scale.gpu_min_batch, whole or streamed.
-- (sql/gpu_scoring.sql has an mlp falling back under auto.)
SET ai_scale.gpu_library = '/nonexistent/ai_scale_gpu.so';
SET ai_scale.gpu_min_batch = 3;
SELECT ai_scale.reset_stats();
SELECT * FROM ai_scale._gpu_score_test(ARRAY[[1, 2], [3, 4]], ARRAY[0.5, -1], 0.25);
SELECT * FROM ai_scale._gpu_score_test(ARRAY[[1, 2], [3, 4], [5, 6]], ARRAY[0.5, -1], 0.25);
SELECT * FROM ai_scale._gpu_score_test(ARRAY[[1, 2], [3, 4], [5, 6]], ARRAY[0.5, -1], 0.25, streamed => true);
SELECT metric, value FROM ai_scale.stats
WHERE section = 'scoring' AND metric IN ('gpu_fallbacks', 'rows_gpu', 'gpu_ms') ORDER BY metric;

-- Under on, a batch that needs the GPU is an error (55000) saying why; small batches still run
-- on the CPU.
SET ai_scale.gpu = on;
SELECT * FROM ai_scale._gpu_score_test(ARRAY[[1, 2], [3, 4], [5, 6]], ARRAY[0.5, -1], 0.25);
SELECT * FROM ai_scale._gpu_score_test(ARRAY[[1, 2], [3, 4], [5, 6]], ARRAY[0.5, -1], 0.25, streamed => true);
SELECT * FROM ai_scale._gpu_score_test(ARRAY[[1, 2], [3, 4]], ARRAY[0.5, -1], 0.25);
SET ai_scale.gpu_library = './PG_VERSION';
SELECT * FROM ai_scale._gpu_score_test(ARRAY[[1, 2], [3, 4], [5, 6]], ARRAY[0.5, -1], 0.25);
-- With the default library the cause depends on this machine (no module, driver or device);
-- the SQLSTATE does not.
RESET ai_scale.gpu_library;
DO $$
BEGIN
    PERFORM ai_scale._gpu_score_test(ARRAY[[1, 2], [3, 4], [5, 6]], ARRAY[0.5, -1], 0.25);
    RAISE NOTICE 'scored on the GPU';
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RAISE NOTICE 'not scored on the GPU: SQLSTATE %', SQLSTATE;
END $$;
RESET ai_scale.gpu;
RESET ai_scale.gpu_min_batch;

-- Bad input to the test hook.
SELECT * FROM ai_scale._gpu_score_test(ARRAY[1, 2], ARRAY[0.5, -1]);
SELECT * FROM ai_scale._gpu_score_test(ARRAY[[1, 2]], ARRAY[0.5]);

-- Only superusers choose the library a backend loads; the test hook is not for PUBLIC;
-- anyone may ask gpu_info().
CREATE ROLE ai_scale_gpu_user;
SET ROLE ai_scale_gpu_user;
SET ai_scale.gpu_library = '/tmp/evil.so';
SELECT * FROM ai_scale._gpu_score_test(ARRAY[[1, 2]], ARRAY[0.5, -1]);
SELECT live FROM ai_scale.gpu_info();
RESET ROLE;
DROP ROLE ai_scale_gpu_user;

-- Under off, gpu_info() loads nothing (anyone may call it, and on a GPU host a load makes a
-- CUDA context in the caller's backend): a new session's sees the module not loaded.
\c
SET ai_scale.gpu = off;
SELECT setting, loaded, live, reason FROM ai_scale.gpu_info();
RESET ai_scale.gpu;
