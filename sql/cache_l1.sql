-- L1: the shared-memory table. Hits, misses, TTL, invalidation, the size limit, bad input.
-- Levels are told apart by the stats counters, reset before each step.
\i sql/include/levels.sql
\i sql/include/wait_for_replica.sql

-- input_hash: XXH3-64 of the jsonb binary, so spelling differences do not matter.
SELECT ai_scale.input_hash('{"a": 1, "b": [1, 2]}') = ai_scale.input_hash('{"b":[1,2],"a":1}') AS same_value_same_hash,
       ai_scale.input_hash('{"a": 1}') <> ai_scale.input_hash('{"a": 2}') AS different_value_different_hash,
       ai_scale.input_hash(NULL) IS NULL AS null_in_null_out;

SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 1}') AS before_put;
SELECT * FROM pg_temp.levels();

SELECT ai_scale.cache_put('l1_model', 1, '{"x": 1}', '{"score": 0.25}');
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 1}') AS after_put;
SELECT * FROM pg_temp.levels();

-- The key covers model, version and input.
SELECT ai_scale.cache_get('l1_model', 2, '{"x": 1}') AS other_version,
       ai_scale.cache_get('l1_modelx', 1, '{"x": 1}') AS other_model,
       ai_scale.cache_get('l1_model', 1, '{"x": 2}') AS other_input;
-- Key order, whitespace and the decimals a number is written with do not matter (docs/cache.md,
-- Keys; cache_number_scale).
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 1.0, "y": 2}', '{"score": 0.75}');
SELECT ai_scale.cache_get('l1_model', 1, '{ "y":2,"x":1.0 }') AS same_value_reordered,
       ai_scale.cache_get('l1_model', 1, '{"x": 1.00, "y": 2}') AS other_scale;

-- A put replaces the value.
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 1}', '{"score": 0.5}');
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 1}') AS replaced;

-- cache_put and cache_invalidate act outside the transaction: a rollback undoes neither.
BEGIN;
SELECT ai_scale.cache_put('l1_model', 3, '{"x": 1}', '{"score": 9}');
ROLLBACK;
SELECT ai_scale.cache_get('l1_model', 3, '{"x": 1}') AS put_kept;
BEGIN;
SELECT ai_scale.cache_invalidate('l1_model', 3);
ROLLBACK;
SELECT ai_scale.cache_get('l1_model', 3, '{"x": 1}') AS invalidation_kept;

-- Polls until cache_get('l1_model', 1, input) misses; raises complaint after 60 s.
CREATE FUNCTION pg_temp.wait_until_missed(input jsonb, complaint text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
    WHILE ai_scale.cache_get('l1_model', 1, input) IS NOT NULL LOOP
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION '%', complaint;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;

-- TTL: an entry put for 2 s is gone after it (in L1 and in Redis). (Put for 200 ms, it was read
-- back as a hit only when the statement after the put began within those 200 ms.)
-- Gone half a second after its TTL, not merely some time later: a wait longer than asked (a
-- busy machine) only finds it gone the surer.
SELECT ai_scale.cache_put('l1_model', 1, '{"x": "short"}', '{"score": 1}', interval '2 seconds');
SELECT ai_scale.cache_get('l1_model', 1, '{"x": "short"}') AS before_expiry;
SELECT pg_sleep(2.5);
SELECT ai_scale.cache_get('l1_model', 1, '{"x": "short"}') IS NULL AS gone_after_its_ttl;
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l1_model', 1, '{"x": "short"}') AS after_expiry;
SELECT * FROM pg_temp.levels();

-- An L2 hit is copied to L1 until the Redis entry's own expiry (docs/cache.md), not for
-- ai_scale.cache_ttl: put for 2 s with L1 off, read once from Redis, then with L2 off the
-- copy answers from L1 until the put's TTL runs out.
SET ai_scale.cache_use_l1 = off;
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.cache_put('l1_model', 1, '{"x": "via_l2"}', '{"score": 4}', interval '2 seconds');
RESET ai_scale.cache_use_l1;
SELECT ai_scale.cache_get('l1_model', 1, '{"x": "via_l2"}') AS l2_hit;
SET ai_scale.redis_primary = '';
SELECT ai_scale.cache_get('l1_model', 1, '{"x": "via_l2"}') AS l1_copy;
SELECT pg_temp.wait_until_missed('{"x": "via_l2"}', 'the L1 copy of an L2 hit outlived the Redis entry');
RESET ai_scale.redis_primary;
RESET ai_scale.redis_read_from;

-- Invalidation of one version leaves the others; of the model, every version.
SELECT ai_scale.cache_put('l1_model', 2, '{"x": 1}', '{"score": 2}');
SELECT ai_scale.cache_invalidate('l1_model', 2);
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 1}') AS v1_kept, ai_scale.cache_get('l1_model', 2, '{"x": 1}') AS v2_gone;
SELECT ai_scale.cache_put('l1_model', 2, '{"x": 1}', '{"score": 2}');
SELECT ai_scale.cache_invalidate('l1_model');
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 1}') AS v1_gone, ai_scale.cache_get('l1_model', 2, '{"x": 1}') AS v2_gone;
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 1}', '{"score": 3}');
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 1}') AS usable_after_invalidate;
-- An explicit null version is the default's: every version (docs/cache.md).
SELECT ai_scale.cache_put('l1_model', 2, '{"x": 1}', '{"score": 2}');
SELECT ai_scale.cache_invalidate('l1_model', NULL);
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 1}') AS v1_gone, ai_scale.cache_get('l1_model', 2, '{"x": 1}') AS v2_gone;
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 1}', '{"score": 3}');

-- An output over ai_scale.l1_max_value_bytes (2 kB) skips L1 and is served by Redis.
SELECT ai_scale.cache_put('l1_model', 1, '{"x": "big"}', jsonb_build_object('blob', repeat('z', 4000)));
SELECT pg_temp.wait_for_replica();
SELECT ai_scale.reset_stats();
SELECT length(ai_scale.cache_get('l1_model', 1, '{"x": "big"}') ->> 'blob') AS big_len;
SELECT * FROM pg_temp.levels();

-- A large input is fine: only its hash is part of the key.
SELECT ai_scale.cache_put('l1_model', 1, jsonb_build_object('doc', repeat('y', 2000000)), '{"big_input": true}');
SELECT ai_scale.cache_get('l1_model', 1, jsonb_build_object('doc', repeat('y', 2000000))) AS big_input,
       ai_scale.cache_get('l1_model', 1, jsonb_build_object('doc', repeat('y', 1999999))) AS shorter_input;

-- Bad input: clear errors, nothing stored.
SELECT ai_scale.cache_get(NULL, 1, '{}');
SELECT ai_scale.cache_get('l1_model', NULL, '{}');
SELECT ai_scale.cache_get('l1_model', 1, NULL) AS null_input_is_a_miss;
SELECT ai_scale.cache_get('', 1, '{}');
SELECT ai_scale.cache_get('l1_model', 0, '{}');
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 9}', NULL);
SELECT ai_scale.cache_put('l1_model', 1, NULL, '{}');
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 9}', '{}', interval '-1 second');
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 9}', '{}', interval '0');
-- A positive ttl under a millisecond, which Redis and L1 cannot keep, is refused as such, not
-- as a ttl that is not positive.
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 9}', '{}', interval '0.5 ms');
-- A month counts as 30 days, a year as 360, as Postgres compares intervals: a year and five
-- days is 365 days, and a day more is refused.
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 10}', '{"y": 1}', interval '1 year 5 days');
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 10}') AS stored_for_365_days;
-- The fraction of a millisecond is dropped before the check (365 days and 0.5 ms was refused);
-- a whole millisecond more is refused, with the ttl given.
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 11}', '{"y": 2}', interval '1 year 5 days 0.5 ms');
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 11}') AS stored_for_365_days_and_a_fraction;
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 9}', '{}', interval '1 year 5 days 1 ms');
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 9}', '{}', interval '1 year 6 days');
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 9}', '{}', interval '2 years');
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 9}') AS nothing_stored;
SELECT ai_scale.cache_invalidate(NULL);
SELECT ai_scale.cache_invalidate('');
SELECT ai_scale.cache_invalidate('l1_model', -5);
SELECT ai_scale.cache_invalidate('l1_model', 0);
\i sql/include/try.sql
-- An output over ai_scale.redis_max_value_bytes (1 MB by default) is refused (54000), and
-- nothing is stored; at the setting's largest, 64 MB, the most ai_scale reads back from Redis as
-- one value, too.
SELECT ai_scale.cache_put('l1_model', 1, '{"x": 12}', jsonb_build_object('v', repeat('x', 1024 * 1024)));
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 12}') IS NULL AS nothing_stored;
SET ai_scale.redis_max_value_bytes = '64MB';
SELECT pg_temp.try(format('SELECT ai_scale.cache_put(%L, 1, %L, %L)', 'l1_model', '{"x": 12}',
                          jsonb_build_object('v', repeat('x', 64 * 1024 * 1024)))) AS over_64_mb;
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 12}') IS NULL AS nothing_stored;
RESET ai_scale.redis_max_value_bytes;
-- Their SQLSTATEs, as docs/cache.md gives them: 22004 for a null argument, 22023 for a bad one.
SELECT call, pg_temp.try('SELECT ' || call) AS error FROM (VALUES
    ($$ai_scale.cache_get(NULL, 1, '{}')$$),
    ($$ai_scale.cache_get('l1_model', NULL, '{}')$$),
    ($$ai_scale.cache_get('', 1, '{}')$$),
    ($$ai_scale.cache_get('l1_model', 0, '{}')$$),
    ($$ai_scale.cache_put('l1_model', 1, '{"x": 9}', NULL)$$),
    ($$ai_scale.cache_put('l1_model', 1, '{"x": 9}', '{}', interval '0')$$),
    ($$ai_scale.cache_put('l1_model', 1, '{"x": 9}', '{}', interval '0.5 ms')$$),
    ($$ai_scale.cache_put('l1_model', 1, '{"x": 9}', '{}', interval '2 years')$$),
    ($$ai_scale.cache_invalidate(NULL)$$),
    ($$ai_scale.cache_invalidate('l1_model', 0)$$)
) AS calls(call);

-- Invalid settings are refused at SET.
SET ai_scale.redis_primary = 'no-port';
SET ai_scale.redis_primary = 'host:99999';
SET ai_scale.redis_primary = 'a:1,b:2';
SET ai_scale.redis_replicas = '127.0.0.1:6380, :6381';
SET ai_scale.redis_sentinels = '127.0.0.1:26379, sentinel-b';
SET ai_scale.redis_sentinels = '1:1,2:2,3:3,4:4,5:5,6:6,7:7,8:8,9:9';
SET ai_scale.redis_replicas = '127.0.0.1:6380 127.0.0.1:6381';
SET ai_scale.redis_replicas = '127.0.0.1:6380,';
-- Spaces alone, refused as such (its message quoted "", as if '' were refused).
SET ai_scale.redis_primary = '  ';
-- A password in the value is never shown: before an '@', in a query, or holding a space (the
-- value was cut at the space, and its first part shown as the entry).
SET ai_scale.redis_primary = 'redis://:s3cret@127.0.0.1:6379';
SET ai_scale.redis_primary = 'redis://127.0.0.1:6379?password=s3cret';
SET ai_scale.redis_primary = 'redis://:s3c ret@127.0.0.1:6379';
SET ai_scale.redis_replicas = '127.0.0.1:6380, redis://:s3c,ret@127.0.0.1:6381';
-- An endpoint named twice (its reads would take two turns), however its host is written.
SET ai_scale.redis_replicas = '127.0.0.1:6380, redis-b:6380, 127.0.0.1:6380';
SET ai_scale.redis_sentinels = 'Sentinel-A:26379,sentinel-a:26379';
SET ai_scale.redis_replicas = '[::1]:6380, [0:0::1]:6380';
-- The forms an endpoint takes: an IPv6 address in brackets, a Unix-domain socket's absolute
-- path (not for sentinels); no URL.
SET ai_scale.redis_primary = '[::1]:6379';
SHOW ai_scale.redis_primary;
SET ai_scale.redis_replicas = '[2001:db8::5]:6380, redis-b.internal:6380';
SET ai_scale.redis_primary = '/var/run/redis/redis.sock';
SHOW ai_scale.redis_primary;
SET ai_scale.redis_replicas = ' /run/redis/replica-a.sock , 127.0.0.1:6380,/run/redis-b.sock';
SHOW ai_scale.redis_replicas;
RESET ai_scale.redis_replicas;
RESET ai_scale.redis_primary;
SET ai_scale.redis_replicas = '/run/redis/a.sock, /run/redis/b.sock, /run/redis/a.sock';
SET ai_scale.redis_primary = 'run/redis/redis.sock';
SET ai_scale.redis_primary = 'unix:///var/run/redis/redis.sock';
SET ai_scale.redis_primary = '/var/run/redis/';
SET ai_scale.redis_primary = '/tmp/my redis/redis.sock';
SET ai_scale.redis_primary = E'/tmp/redis\t.sock';
SET ai_scale.redis_primary = '/tmp/a,b.sock';
SET ai_scale.redis_replicas = '/tmp/a,b.sock';
SET ai_scale.redis_primary = '/tmp/ai_scale/path-of-107-bytes-the-most-that-sockaddr-un-sun-path-holds-besides-a-nul-at-its-end/r123.sock';
SELECT length(current_setting('ai_scale.redis_primary')) AS longest_path_taken;
SET ai_scale.redis_primary = '/tmp/ai_scale/path-of-108-bytes-one-more-than-sockaddr-un-sun-path-holds-besides-a-nul-at-its-end/r1234.sock';
RESET ai_scale.redis_primary;
SET ai_scale.redis_sentinels = '/run/redis/sentinel.sock';
SET ai_scale.redis_primary = '::1:6379';
SET ai_scale.redis_primary = 'fe80::1';
SET ai_scale.redis_primary = '[redis-a]:6379';
SET ai_scale.redis_primary = 'redis://127.0.0.1:6379';
SET ai_scale.redis_primary = 'rediss://127.0.0.1:6380';
SET ai_scale.redis_primary = '127.0.0.1:0';
SET ai_scale.redis_sentinel_master = 'my master';
SET ai_scale.redis_sentinel_master = '';
SET ai_scale.redis_user = E'cache\nWARNING:  forged';
SET ai_scale.redis_user = 'two words';
SET ai_scale.redis_user = 'cache_user';
RESET ai_scale.redis_user;
SET ai_scale.redis_read_from = 'anywhere';
SET ai_scale.cache_ttl = 0;
SET ai_scale.redis_timeout_ms = 0;
SET ai_scale.l1_entries = 10;
SET ai_scale.store_table = 'a.b.c.d';
SET ai_scale.store_table = 'db.schema.table';
SET ai_scale.store_table = '"unterminated';
SET ai_scale.store_table = 'schema.';
-- A zero-length quoted name, which SQL refuses too (it was taken, and predict() stored nothing).
SET ai_scale.store_table = '""';
SET ai_scale.store_table = '"".store';
-- A name that needs quotes, given without them: the hint says how to write it.
SET ai_scale.store_table = 'My Store';
-- A table, quoted or not, optionally schema-qualified, is accepted.
SET ai_scale.store_table = '"My Schema"."Store.V2"';
SET ai_scale.store_table = 'store';
RESET ai_scale.store_table;
-- Settings whose effects outlive the session or reach other databases are superuser-only: the
-- store, the Redis endpoints, and the ttl of what predict() writes to the shared Redis.
CREATE ROLE ai_scale_l1_plain;
SET ROLE ai_scale_l1_plain;
SET ai_scale.cache_ttl = '365d';
SET ai_scale.store_table = 'mine';
SET ai_scale.redis_primary = '127.0.0.1:1';
SET ai_scale.cache_strict = on;
RESET ai_scale.cache_strict;
-- Every setting's context, as README's Settings table gives it: a setting made settable by
-- anyone (a Redis endpoint or user would let a role pick where other sessions' answers come
-- from) shows here. Each superuser-only one is refused to this role, set to its own value.
RESET ROLE;
SELECT name, context FROM pg_settings WHERE name LIKE 'ai_scale.%' ORDER BY name;
DO $$
DECLARE
    names text[];
    vals text[];
    refused text[] := '{}';
BEGIN
    SELECT array_agg(name ORDER BY name), array_agg(coalesce(reset_val, '') ORDER BY name)
      INTO names, vals
      FROM pg_settings WHERE name LIKE 'ai_scale.%' AND context = 'superuser';
    -- (GUC_NO_SHOW_ALL keeps the password out of pg_settings.)
    names := names || 'ai_scale.redis_password'::text;
    vals := vals || ''::text;
    EXECUTE 'SET LOCAL ROLE ai_scale_l1_plain';
    FOR i IN 1 .. cardinality(names) LOOP
        BEGIN
            PERFORM set_config(names[i], vals[i], false);
        EXCEPTION WHEN insufficient_privilege THEN
            refused := refused || names[i];
        END;
    END LOOP;
    EXECUTE 'RESET ROLE';
    RAISE NOTICE '% of % refused to a plain role: %', cardinality(refused), cardinality(names),
                 array_to_string(refused, ', ');
END $$;
RESET ROLE;
DROP ROLE ai_scale_l1_plain;

-- With L1 switched off for the session, reads go to Redis.
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l1_model', 1, '{"x": 1}') AS from_redis;
SELECT * FROM pg_temp.levels();
RESET ai_scale.cache_use_l1;
