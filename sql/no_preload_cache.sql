-- The cache on a server without shared_preload_libraries: no L1 (a NOTICE says so once per
-- session); Redis (configured in this server's postgresql.conf) still serves, and breakers are
-- kept per session.
CREATE EXTENSION ai_scale;
SELECT current_setting('ai_scale.redis_primary') <> '' AS redis_configured;
SELECT ai_scale.node_role();
SELECT ai_scale.input_hash('{"a": 1}') = ai_scale.input_hash('{ "a":1 }') AS stable_hash;
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.cache_put('np_model', 1, '{"x": 1}', '{"y": 1}');
SELECT ai_scale.cache_get('np_model', 1, '{"x": 1}') AS from_redis;
SELECT ai_scale.cache_get_many('np_model', 1, ARRAY['{"x": 1}', '{"x": 2}']::jsonb[]) AS batch;
SELECT ai_scale.cache_invalidate('np_model');
SELECT ai_scale.cache_get('np_model', 1, '{"x": 1}') AS invalidated;
SELECT configured_as, breaker FROM ai_scale.redis_status() ORDER BY configured_as;

-- An invalidation Redis does not take holds in this session only, without the shared memory and
-- the file a preloaded server keeps it in until Redis answers: a WARNING says so (it was lost
-- silently at the end of the session).
SET ai_scale.redis_primary = '127.0.0.1:1';
SELECT ai_scale.cache_invalidate('np_model');
-- Said once a slot: again for the same model, nothing; in a transaction that writes, once for
-- the commit's bumps of the models the call did not mark, not once a model at the call and once
-- more at the commit (two WARNINGs a model, each saying what the other did).
SELECT ai_scale.cache_invalidate('np_model');
CREATE TEMP TABLE np_changes (n int);
BEGIN;
INSERT INTO np_changes VALUES (1);
SELECT count(ai_scale.cache_invalidate('np_model_' || g)) FROM generate_series(1, 3) g;
COMMIT;
-- A registration's invalidation of the version's cached outputs alike.
SELECT ai_scale.register_model('np_registered', 'linear', ARRAY['a'], '{"weights": [1]}');
SELECT ai_scale.drop_model('np_registered');

-- Without Redis either, the cache is all misses, never errors.
SET ai_scale.redis_primary = '';
SELECT ai_scale.cache_put('np_model', 1, '{"x": 1}', '{"y": 1}');
SELECT ai_scale.cache_get('np_model', 1, '{"x": 1}') AS nothing_configured;
DROP EXTENSION ai_scale;
