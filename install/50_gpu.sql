-- GPU offload of batch scoring: what was found and why it is or is not live.

CREATE FUNCTION ai_scale.gpu_info(
    OUT setting text, OUT library text, OUT loaded boolean, OUT live boolean, OUT reason text,
    OUT devices jsonb)
    RETURNS record
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_gpu_info';
COMMENT ON FUNCTION ai_scale.gpu_info() IS
    'the GPU module and devices this backend found, and why batches are or are not scored on the GPU';

-- A batch through the GPU seam with an inline linear model (rows: n x f matrix); for the
-- regression tests and for diagnosing a server. path says where it was scored; streamed hands
-- the rows over chunk by chunk, as extraction overlapped with the GPU does.
CREATE FUNCTION ai_scale._gpu_score_test(rows float8[], weights float8[], bias float8 DEFAULT 0,
    streamed boolean DEFAULT false, OUT path text, OUT scores float8[])
    RETURNS record
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_gpu_score_test';
REVOKE ALL ON FUNCTION ai_scale._gpu_score_test(float8[], float8[], float8, boolean) FROM PUBLIC;
COMMENT ON FUNCTION ai_scale._gpu_score_test(float8[], float8[], float8, boolean) IS
    'diagnosis: scores rows (one per input, a 2-D array) with an inline linear model through the '
    'GPU policy; path says where they were scored';
