-- wait_for_replica(): waits until the Redis replica test/run.sh started has applied all its
-- primary had (asked with redis_status(), counted as no cache hit or miss), up to 60 s. A read
-- from the replica right after a put, or after a pause of a fixed length, missed when the
-- replica lagged on a loaded machine. Shared by the regression tests that read from the
-- replica what they just wrote (\i sql/include/wait_for_replica.sql).
CREATE FUNCTION pg_temp.wait_for_replica() RETURNS text LANGUAGE plpgsql
SET ai_scale.redis_replica_max_lag = 0 AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '60 seconds';
BEGIN
    -- With no lag allowed, a replica short of any byte the primary wrote says how far behind.
    WHILE NOT EXISTS (SELECT FROM ai_scale.redis_status()
                      WHERE configured_as = 'replica' AND reported_role = 'replica (link up)') LOOP
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'the Redis replica did not catch up with its primary';
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    RETURN 'caught up';
END $$;
