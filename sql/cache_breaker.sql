-- Primary down: a Redis primary that refuses connections. Cache calls return misses without
-- errors, the breaker opens after ai_scale.breaker_failures failures and then skips the
-- endpoint; ai_scale.cache_strict = on turns the outage into an error.
SET ai_scale.cache_use_l1 = off;
-- A loopback address of its own each run (every 127.x.y.z is this host; nothing listens on
-- port 2): a breaker left open by an earlier run on the same server is not this one.
SELECT '127.0.2.' || (2 + floor(random() * 250))::int || ':2' AS refusing \gset
SET ai_scale.redis_primary = :'refusing';
SET ai_scale.redis_replicas = '';
SET ai_scale.breaker_failures = 3;
SET ai_scale.breaker_reset_ms = 60000;
SELECT ai_scale.reset_stats();
SELECT clock_timestamp() AS before_errors \gset

SELECT ai_scale.cache_put('breaker_model', 1, '{"i": 1}', '{"out": 1}');
SELECT ai_scale.cache_get('breaker_model', 1, '{"i": 1}') AS miss_1,
       ai_scale.cache_get('breaker_model', 1, '{"i": 2}') AS miss_2,
       ai_scale.cache_get('breaker_model', 1, '{"i": 3}') AS miss_3;
SELECT endpoint = :'refusing' AS refusing_endpoint, configured_as, reported_role, breaker, failures, trips,
       last_error LIKE 'connect:%' AS connect_error,
       last_error_at BETWEEN :'before_errors' AND clock_timestamp() AS error_time_known
FROM ai_scale.redis_status();
SELECT metric, value FROM ai_scale.stats
WHERE section = 'l2' AND metric IN ('errors', 'breaker_trips', 'hits', 'misses') ORDER BY metric;
-- A lookup the open breaker skips is no round trip: not an L2 latency sample either (each was
-- one, of a fraction of a microsecond, and samples grew with every call while p50 and p99
-- fell to nothing). Counted from a reset: how many of the failed calls before the breaker
-- opened were lookups depends on the clock (a call a second or more after the put syncs the
-- model's generations from the primary first, and that failure opens the breaker).
SELECT ai_scale.reset_stats();
SELECT count(ai_scale.cache_get('breaker_model', 1, jsonb_build_object('i', g)))
FROM generate_series(1, 100) g;
SELECT value AS l2_samples FROM ai_scale.stats WHERE section = 'l2' AND metric = 'samples';

-- The error of a statement, the primary in its detail written as <primary>.
CREATE FUNCTION pg_temp.strict_error(stmt text)
RETURNS TABLE (state text, message text, detail text, hint text) LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    state := 'no error';
    RETURN NEXT;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    detail := replace(detail, current_setting('ai_scale.redis_primary'), '<primary>');
    RETURN NEXT;
END $$;
SET ai_scale.cache_strict = on;
\x on
SELECT * FROM pg_temp.strict_error($$SELECT ai_scale.cache_get('breaker_model', 1, '{"i": 1}')$$);
SELECT * FROM pg_temp.strict_error($$SELECT ai_scale.cache_put('breaker_model', 1, '{"i": 1}', '{"out": 1}')$$);
\x off
RESET ai_scale.cache_strict;

-- L1 still serves while Redis is down.
RESET ai_scale.cache_use_l1;
SELECT ai_scale.cache_put('breaker_model', 1, '{"i": 4}', '{"out": 4}');
SELECT ai_scale.cache_get('breaker_model', 1, '{"i": 4}') AS l1_serves;

RESET ai_scale.redis_primary;
RESET ai_scale.redis_replicas;
RESET ai_scale.breaker_failures;
RESET ai_scale.breaker_reset_ms;

-- A breaker per Redis database and ACL user: a database (or role) whose ai_scale.redis_db is
-- wrong opens a breaker of its own, and the endpoint keeps serving every other database. Redis
-- has 16 databases unless told otherwise, so it refuses SELECT of any number from 16 up (a new
-- one each run: a breaker left open by an earlier run on the same server is not this one's).
-- Before, the wrong number opened the endpoint's one breaker, and every database's cache calls
-- skipped Redis while it was open.
SET ai_scale.cache_use_l1 = off;
SET ai_scale.redis_read_from = 'primary';
SET ai_scale.breaker_failures = 2;
SET ai_scale.breaker_reset_ms = 60000;
SELECT (16 + floor(random() * 1000))::int AS wrong_db \gset
SET ai_scale.redis_db = :wrong_db;
SELECT ai_scale.cache_get('breaker_model', 1, '{"i": 6}') AS refused_1,
       ai_scale.cache_get('breaker_model', 1, '{"i": 6}') AS refused_2,
       ai_scale.cache_get('breaker_model', 1, '{"i": 6}') AS skipped;
SELECT breaker, failures, trips, last_error FROM ai_scale.redis_status()
WHERE configured_as = 'primary';
RESET ai_scale.redis_db;
SELECT breaker, failures FROM ai_scale.redis_status() WHERE configured_as = 'primary';
SELECT ai_scale.cache_put('breaker_model', 1, '{"i": 6}', '{"out": 6}');
SELECT ai_scale.cache_get('breaker_model', 1, '{"i": 6}') AS db_0_served;
SET ai_scale.cache_strict = on;
SET ai_scale.redis_db = :wrong_db;
\x on
SELECT state, message, replace(detail, :'wrong_db', '<wrong_db>') AS detail, hint
FROM pg_temp.strict_error($$SELECT ai_scale.cache_get('breaker_model', 1, '{"i": 6}')$$);
\x off
RESET ai_scale.redis_db;
RESET ai_scale.cache_strict;
RESET ai_scale.redis_read_from;
RESET ai_scale.cache_use_l1;
RESET ai_scale.breaker_failures;
RESET ai_scale.breaker_reset_ms;

-- The registry holds 32 breakers. Filled with open ones (40 endpoints that refuse connections,
-- each opening its breaker at its first failure), a healthy endpoint gets a breaker of its own:
-- it used to share the last slot, open, and was skipped. The 40 are drawn from a block of
-- addresses chosen at random, so that a second run on the same server does not find them with
-- breakers the first one opened.
SET ai_scale.cache_use_l1 = off;
SET ai_scale.breaker_failures = 1;
SET ai_scale.breaker_reset_ms = 60000;
DO $$
DECLARE
    block int := 3 + floor(random() * 250)::int;
BEGIN
    FOR n IN 1..40 LOOP
        PERFORM set_config('ai_scale.redis_primary', '127.' || block || '.1.' || n || ':2', false);
        PERFORM ai_scale.cache_get('breaker_model', 1, '{"i": 1}');
    END LOOP;
END $$;
SELECT breaker, failures FROM ai_scale.redis_status() WHERE configured_as = 'primary';
RESET ai_scale.redis_primary;
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.cache_put('breaker_model', 1, '{"i": 5}', '{"out": 5}');
SELECT ai_scale.cache_get('breaker_model', 1, '{"i": 5}') AS healthy_endpoint_served;
SELECT configured_as, breaker, failures FROM ai_scale.redis_status() WHERE configured_as = 'primary';
RESET ai_scale.redis_read_from;
RESET ai_scale.cache_use_l1;
RESET ai_scale.breaker_failures;
RESET ai_scale.breaker_reset_ms;
