-- Runs on a server WITHOUT shared_preload_libraries = 'ai_scale': the extension still installs
-- and its plain functions work; features that need shared memory say so clearly.
CREATE EXTENSION ai_scale;
SELECT ai_scale.version() = extversion AS version_matches_catalog
FROM pg_extension WHERE extname = 'ai_scale';
SELECT (ai_scale.build_info() ->> 'preloaded')::boolean AS preloaded;
SELECT ai_scale._bridge_selftest('ok');

SELECT * FROM ai_scale.stats;
SELECT ai_scale.reset_stats();

DO $$
BEGIN
    PERFORM ai_scale.reset_stats();
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    RAISE NOTICE 'reset_stats without preload -> SQLSTATE %', SQLSTATE;
END
$$;

-- Scoring needs no shared memory (docs/scoring.md): every form scores.
SET ai_scale.redis_primary = '';
SELECT ai_scale.register_model('np_lin', 'linear', ARRAY['a', 'b'], '{"weights": [2, 3], "bias": 1}');
SELECT ai_scale.score('np_lin', '{"a": 1, "b": 1}') AS score,
       ai_scale.score_multi('np_lin', '{"a": 1, "b": 2}') AS score_multi,
       ai_scale.score_batch('np_lin', ARRAY['{"a": 0, "b": 0}', '{"a": 2, "b": 0}']::jsonb[]) AS score_batch;
SELECT a, ai_scale.score_batched('np_lin', jsonb_build_object('a', a, 'b', 0)) OVER () AS score_batched
  FROM generate_series(1, 3) a ORDER BY a;
SELECT ai_scale.drop_model('np_lin');
RESET ai_scale.redis_primary;

DROP EXTENSION ai_scale;
