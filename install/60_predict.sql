-- predict(): the cache, scoring and the prediction store in one call. See docs/predict.md.

-- predict() runs once per row, so like score() it carries no SET search_path clause: it
-- resolves no names from the search path (the store is ai_scale.store_table, schema-qualified
-- by default, and its INSERT names pg_catalog.unnest), and reads the catalog under a safe path
-- set in C.
-- COST 100 (the planner's unit is one operator, such as ->>, a tenth of a microsecond): an L1
-- hit takes about ten of them, a miss a Redis round trip, scoring and an insert, hundreds. At
-- the default COST 1 the planner put predict() before a cheaper filter written ahead of it,
-- and so scored and stored rows that the filter then dropped (sql/planner_costs.sql).
CREATE FUNCTION ai_scale.predict(model text, input jsonb, version int DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL UNSAFE COST 100
    AS 'MODULE_PATHNAME', 'ai_scale_predict';
COMMENT ON FUNCTION ai_scale.predict(text, jsonb, int) IS
    'the prediction for an input: from L1, Redis or the store when cached, else scored, cached and stored; {"score", "model", "version", "source"}';

-- COST 100, at least predict()'s.
CREATE FUNCTION ai_scale.predict_batch(model text, inputs jsonb[], version int DEFAULT NULL)
    RETURNS jsonb[]
    LANGUAGE c VOLATILE PARALLEL UNSAFE COST 100
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_predict_batch';
COMMENT ON FUNCTION ai_scale.predict_batch(text, jsonb[], int) IS
    'predict() for an array of inputs: one Redis round trip (per 1000 keys), one scoring batch and one insert for the misses';
