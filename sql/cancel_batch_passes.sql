-- cache_get_many and predict_batch notice a cancel at every element of each pass over the
-- batch, the key and L1 passes included. Those passes never wait, so a cancel that came while
-- they ran was only seen at the next level's wait, after every element had been looked up in
-- L1: a predict_batch of 800,000 inputs answered from L1 took seconds to stop. Here the
-- cancel is already pending when the call begins (pg_cancel_backend of this backend,
-- evaluated in the argument, where nothing looks for it before the call): no element may be
-- looked up.
SET client_min_messages = warning;
SET ai_scale.redis_primary = '';   -- no L2 wait to notice the cancel for the L1 pass
SET ai_scale.store_mode = off;
SELECT ai_scale.register_model('cb_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
CREATE TEMP TABLE cb_inputs AS
    SELECT ARRAY(SELECT jsonb_build_object('a', g, 'b', 1) FROM generate_series(1, 5000) g) AS arr;
-- The model loaded (its catalog read would notice the cancel first).
SELECT ai_scale.predict('cb_lin', '{"a": 0, "b": 0}') ->> 'source' AS source;

SELECT ai_scale.reset_stats();
SELECT cardinality(ai_scale.cache_get_many('cb_lin', 1,
    CASE WHEN pg_cancel_backend(pg_backend_pid()) THEN arr END)) FROM cb_inputs;
SELECT cardinality(ai_scale.predict_batch('cb_lin',
    CASE WHEN pg_cancel_backend(pg_backend_pid()) THEN arr END)) FROM cb_inputs;
SELECT section, metric, value FROM ai_scale.stats
 WHERE section IN ('l1', 'l3') AND metric IN ('hits', 'misses') ORDER BY section, metric;

-- Not cancelled, the same calls look up every element.
SELECT ai_scale.reset_stats();
SELECT cardinality(ai_scale.cache_get_many('cb_lin', 1, arr)) FROM cb_inputs;
SELECT value AS l1_lookups FROM ai_scale.stats WHERE section = 'l1' AND metric = 'misses';

SELECT ai_scale.drop_model('cb_lin');
RESET ai_scale.store_mode;
RESET ai_scale.redis_primary;
