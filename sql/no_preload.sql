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

DROP EXTENSION ai_scale;
