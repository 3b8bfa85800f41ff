-- L2: Redis, with writes to the primary and reads from the replica (ai_scale.redis_primary and
-- ai_scale.redis_replicas come from the test server's postgresql.conf). L1 is switched off so
-- every read reaches Redis.
CREATE FUNCTION pg_temp.levels() RETURNS TABLE (level text, hits float8, misses float8, errors float8)
LANGUAGE sql AS $$
    SELECT section, max(value) FILTER (WHERE metric = 'hits'), max(value) FILTER (WHERE metric = 'misses'),
           max(value) FILTER (WHERE metric = 'errors')
    FROM ai_scale.stats WHERE section IN ('l1', 'l2') AND metric IN ('hits', 'misses', 'errors')
    GROUP BY section ORDER BY section
$$;
SET ai_scale.cache_use_l1 = off;
\i sql/include/wait_for_replica.sql

-- The replica test/run.sh started may still be syncing with its primary: wait (up to 10 s).
DO $$
BEGIN
    FOR i IN 1..100 LOOP
        EXIT WHEN EXISTS (SELECT FROM ai_scale.redis_status() WHERE reported_role = 'replica (link up)');
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT endpoint <> '' AS has_endpoint, configured_as, reported_role, breaker
FROM ai_scale.redis_status() ORDER BY configured_as;

SELECT ai_scale.cache_put('l2_model', 1, jsonb_build_object('i', i), jsonb_build_object('out', i * 10))
FROM generate_series(1, 5) i;
SELECT pg_temp.wait_for_replica();

SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 3}') AS hit, ai_scale.cache_get('l2_model', 1, '{"i": 6}') AS miss;
SELECT * FROM pg_temp.levels();

-- One round trip for the whole batch; misses and null inputs are null elements.
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get_many('l2_model', 1,
    ARRAY['{"i": 1}', '{"i": 2}', NULL, '{"i": 99}', '{"i": 5}']::jsonb[]) AS batch;
SELECT value AS l2_round_trips FROM ai_scale.stats WHERE section = 'l2' AND metric = 'samples';
SELECT * FROM pg_temp.levels();
SELECT ai_scale.cache_get_many('l2_model', 1, '{}'::jsonb[]) AS empty_batch,
       ai_scale.cache_get_many('l2_model', 1, NULL) AS null_batch;
-- The answers keep the inputs' subscripts (as array_replace keeps them), so that answers[i]
-- answers inputs[i]: an array from 0 came back from 1.
SELECT ai_scale.cache_get_many('l2_model', 1, '[0:2]={"{\"i\": 99}",NULL,"{\"i\": 2}"}'::jsonb[]) AS from_zero;
-- A multi-dimensional array is 2202E, as in predict_batch and score_batch.
\set VERBOSITY sqlstate
SELECT ai_scale.cache_get_many('l2_model', 1, ARRAY[['{}']]::jsonb[]);
\set VERBOSITY default

-- Redis keys are namespaced by version and invalidated by generation.
SELECT ai_scale.cache_get('l2_model', 2, '{"i": 3}') AS other_version;
SELECT ai_scale.cache_invalidate('l2_model');
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 3}') AS after_invalidate;

-- A value put with a short ttl is a hit until it runs out: its expiry, which the value carries
-- in milliseconds, is read against the clock in the same unit (a clock in microseconds made
-- nearly every such value a miss 50 ms after its put).
SET ai_scale.redis_read_from = 'primary';
SELECT count(ai_scale.cache_put('l2_model', 1, jsonb_build_object('short', i), '{"out": 1}',
                                ttl => interval '5 seconds')) AS short_puts
FROM generate_series(1, 20) i;
SELECT pg_sleep(0.1);
SELECT count(ai_scale.cache_get('l2_model', 1, jsonb_build_object('short', i))) AS short_hits
FROM generate_series(1, 20) i;

-- Reads from the primary only.
SELECT ai_scale.cache_put('l2_model', 1, '{"i": 7}', '{"out": 70}');
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 7}') AS read_from_primary;
RESET ai_scale.redis_read_from;
SELECT pg_temp.wait_for_replica(); -- read from the replica below

-- A replica that cannot be reached: reads fall back to the primary, with no error.
SET ai_scale.redis_replicas = '127.0.0.1:1';
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 7}') AS replica_down_fallback;
SELECT level, hits, misses FROM pg_temp.levels() WHERE level = 'l2';
RESET ai_scale.redis_replicas;

-- Polling for the reply before sleeping (ai_scale.redis_spin_us) changes how a backend waits,
-- not what it reads; the setting is bounded.
SET ai_scale.redis_read_from = 'primary';
SET ai_scale.redis_spin_us = 300;
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 7}') AS spinning,
       ai_scale.cache_get_many('l2_model', 1, ARRAY['{"i": 7}', '{"i": 8}']::jsonb[]) AS batch_spinning;
RESET ai_scale.redis_spin_us;
RESET ai_scale.redis_read_from;
SET ai_scale.redis_spin_us = -1;
SET ai_scale.redis_spin_us = 1001;
-- How far behind its primary a replica may be and still be read (in bytes of the replication
-- stream; TAP 021 shows a replica of another server skipped): bounded, -1 turns it off.
SHOW ai_scale.redis_replica_max_lag;
SET ai_scale.redis_replica_max_lag = -2;

-- A Redis that answers errors: the replica as "primary" refuses writes with READONLY. The put
-- is dropped without an error (an error when strict) and redis_status shows why.
SELECT set_config('ai_scale.redis_primary', current_setting('ai_scale.redis_replicas'), false) <> '' AS primary_is_replica;
SELECT ai_scale.cache_put('l2_model', 1, '{"i": 8}', '{"out": 80}') AS readonly_put;
SELECT configured_as, breaker, failures, last_error LIKE 'READONLY%' AS readonly_error
FROM ai_scale.redis_status() ORDER BY configured_as;
SET ai_scale.cache_strict = on;
DO $$
DECLARE detail text;
BEGIN
    PERFORM ai_scale.cache_put('l2_model', 1, '{"i": 8}', '{"out": 80}');
EXCEPTION WHEN connection_failure THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'strict: % (SQLSTATE %), detail names READONLY: %', SQLERRM, SQLSTATE, detail LIKE '%READONLY%';
END
$$;
RESET ai_scale.cache_strict;
RESET ai_scale.redis_primary;
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 8}') AS nothing_was_written;

-- Redis database: keys put in db 0 are not seen from db 3, and db 3 serves: a value put there
-- is read back there and is not in db 0 (a miss alone is also what a failing SELECT gives).
SET ai_scale.redis_db = 3;
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 7}') AS other_redis_db;
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.cache_put('l2_model', 1, '{"i": 33}', '{"out": 330}');
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 33}') AS read_in_db3;
RESET ai_scale.redis_db;
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 33}') AS not_in_db0;
RESET ai_scale.redis_read_from;
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 7}') AS back_in_db0;

-- A wrong password: Redis answers an error, which is a miss (or an error when strict).
SET ai_scale.redis_password = 'wrong';
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 7}') AS wrong_password_miss;
SET ai_scale.cache_strict = on;
DO $$
DECLARE detail text;
BEGIN
    PERFORM ai_scale.cache_get('l2_model', 1, '{"i": 7}');
EXCEPTION WHEN connection_failure THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'strict: % (SQLSTATE %), detail names AUTH: %', SQLERRM, SQLSTATE, detail LIKE '%AUTH:%';
END
$$;
RESET ai_scale.cache_strict;
RESET ai_scale.redis_password;
RESET ai_scale.redis_read_from;
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 7}') AS password_reset;

-- Spaces around the primary, which SET takes: the same Redis is reached (taken whole, the
-- setting named no endpoint, and every call failed as "invalid Redis endpoint").
SELECT set_config('ai_scale.redis_primary', ' ' || current_setting('ai_scale.redis_primary') || ' ',
                  false) IS NOT NULL AS primary_with_spaces;
SET ai_scale.redis_read_from = 'primary';
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('l2_model', 1, '{"i": 7}') AS read_through_spaced_primary;
RESET ai_scale.cache_strict;
RESET ai_scale.redis_read_from;
RESET ai_scale.redis_primary;

SELECT ai_scale.reset_stats();
RESET ai_scale.cache_use_l1;
