-- Partitions whose bounds fall in the first pass of a local hour that a fall-back change
-- repeats (01:00-02:00 EDT on 2026-11-01 in New York, 05:00-06:00 UTC): made by hand, by
-- another tool, or by ai_scale in another zone. Read as local times they take the time of the
-- second pass, an hour later; compared that way, partitions() showed them an hour off, and
-- rescue_default and maintenance made partitions overlapping them ("would overlap", at every
-- run: a default that could not be emptied, premaking failed).
SET client_min_messages = warning;
SET TimeZone = 'UTC';

CREATE TABLE first_pass (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE first_pass_default PARTITION OF first_pass DEFAULT;
CREATE TABLE first_pass_edt PARTITION OF first_pass
    FOR VALUES FROM ('2026-11-01 05:00Z') TO ('2026-11-01 05:30Z');
INSERT INTO first_pass VALUES ('2026-11-01 04:30Z', 1), ('2026-11-01 04:59Z', 2),
                              ('2026-11-01 05:45Z', 3), ('2026-11-01 06:30Z', 4);
INSERT INTO ai_scale.partition_config (parent, partition_interval, premake, retention_mode, time_zone)
VALUES ('first_pass', '1 hour', 0, 'drop', 'America/New_York');
-- partitions() shows each bound as the instant it is.
SELECT partition, lower, upper FROM ai_scale.partitions('first_pass');
-- The rescue makes the free parts of the cells around it: 00:00-01:00 EDT, the rest of the
-- first pass, and the second pass (01:00-02:00 EST).
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('first_pass');
SELECT partition, lower, upper FROM ai_scale.partitions('first_pass');
SELECT * FROM ai_scale.check_default('first_pass');
SELECT tableoid::regclass AS partition, v FROM first_pass ORDER BY v;
DROP TABLE first_pass;

-- Maintenance simulated every 15 minutes from the evening before, next to partitions made
-- by hand in UTC from a given instant on: the planner's creations, cut by _instant_steps as
-- _maintain cuts them, are all made, none overlaps, and no gap is left from the start.
CREATE FUNCTION pg_temp.simulate(zone text, step interval, built_step interval,
                                 built_from timestamptz, start timestamptz) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    lowers timestamp[];
    uppers timestamp[];
    steps ai_scale._partition_step[];
    p ai_scale._partition_step;
    made int := 0;
    errors int := 0;
    gaps bigint;
BEGIN
    CREATE TABLE sim (at timestamptz NOT NULL) PARTITION BY RANGE (at);
    FOR i IN 0 .. 7 LOOP
        EXECUTE format('CREATE TABLE sim_by_hand_%s PARTITION OF sim FOR VALUES FROM (%L) TO (%L)',
                       i, built_from + i * built_step, built_from + (i + 1) * built_step);
    END LOOP;
    FOR i IN 0 .. 48 LOOP
        SELECT array_agg(b.lower ORDER BY b.lower), array_agg(b.upper ORDER BY b.lower)
          INTO lowers, uppers FROM ai_scale._bounds('sim', zone) b WHERE NOT b.is_default;
        SELECT array_agg((pl.action, pl.idx, pl.lower, pl.upper, pl.suffix)::ai_scale._partition_step)
          INTO steps
          FROM ai_scale._plan(step, 8, NULL, 'drop', NULL,
                              (start + i * interval '15 minutes') AT TIME ZONE zone,
                              lowers, uppers, array_fill(false, ARRAY[cardinality(lowers)])) pl;
        CONTINUE WHEN steps IS NULL;
        FOREACH p IN ARRAY ai_scale._instant_steps('sim', zone, steps) LOOP
            BEGIN
                made := made + (SELECT count(*) FROM ai_scale._create_partition(
                    'sim', 'at', 'timestamptz', 'UTC', p.lower, p.upper, p.suffix, NULL, NULL,
                    false, false) c WHERE c.partition IS NOT NULL);
            EXCEPTION WHEN invalid_object_definition THEN
                errors := errors + 1;
            END;
        END LOOP;
    END LOOP;
    SELECT count(*) INTO gaps FROM (
        SELECT b.lower, lag(b.upper) OVER (ORDER BY b.lower) AS previous_upper
          FROM ai_scale._bounds('sim', 'UTC') b WHERE NOT b.is_default) s
     WHERE s.previous_upper <> s.lower;
    DROP TABLE sim;
    RETURN format('%s made, %s failed, %s gaps', made, errors, gaps);
END $$;
SELECT zone, step, built_step, built_from, pg_temp.simulate(zone, step, built_step, built_from, start)
  FROM (VALUES ('America/New_York', interval '30 minutes', interval '30 minutes',
                timestamptz '2026-11-01 05:00Z', timestamptz '2026-11-01 02:00Z'),
               ('America/New_York', '30 minutes', '30 minutes', '2026-11-01 05:30Z', '2026-11-01 02:00Z'),
               ('America/New_York', '1 hour', '1 hour', '2026-11-01 05:00Z', '2026-11-01 01:00Z'),
               ('America/New_York', '1 hour', '15 minutes', '2026-11-01 05:15Z', '2026-11-01 01:00Z'),
               ('Australia/Lord_Howe', '30 minutes', '15 minutes', '2026-04-04 14:45Z', '2026-04-04 11:00Z'),
               ('Europe/London', '1 day', '1 day', '2026-10-25 00:00Z', '2026-10-20 00:00Z'))
       v(zone, step, built_step, built_from, start)
 ORDER BY 1, 4, 2;

-- A change that does not fall on a whole minute (Amsterdam went from +01:19:32 to +01:20 at
-- local midnight on 1937-07-01, skipping 00:00:00 to 00:00:28): the days on either side meet
-- at the instant of the change, 22:40:28 UTC. The first whole minute that exists was taken as
-- the start before, and rows of the 32 seconds after the change went into the day before.
CREATE TABLE amsterdam (x int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('amsterdam', '1 day', 0,
                                                time_zone => 'Europe/Amsterdam');
INSERT INTO amsterdam VALUES (1, '1937-06-30 22:40:27.999999 UTC'), (2, '1937-06-30 22:40:28 UTC'),
                             (3, '1937-06-30 22:40:59 UTC');
SELECT partition, lower, upper FROM ai_scale.rescue_default('amsterdam') ORDER BY partition;
SELECT x, tableoid::regclass FROM amsterdam ORDER BY x;
DROP TABLE amsterdam;
