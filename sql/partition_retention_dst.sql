-- Retention and tiering cutoffs across DST changes, with fixed instants as now. For a
-- timestamptz key, now() minus retention is computed as Postgres computes it: months and days
-- on the local calendar, the time part in elapsed time. Wall-clock arithmetic dropped an hourly
-- partition an hour early on a spring-forward night (2 hours before 03:30 EDT is 00:30 EST,
-- not 01:30), while it still held rows younger than its retention.
SET client_min_messages = warning;
SET TimeZone = 'UTC';

-- The cutoffs as local times in the zone: a partition whose local upper bound is at or before
-- one is old enough.
SELECT zone, span, at, ai_scale._cutoff(at, span, zone) AS cutoff,
       (at AT TIME ZONE zone) - span AS wall_clock
  FROM (VALUES ('America/New_York', interval '2 hours', timestamptz '2026-03-08 07:30Z'),
               ('America/New_York', '1 day 02:00', '2026-03-09 07:30Z'),
               ('America/New_York', '1 day', '2026-03-09 07:30Z'),
               -- 06:30Z is 01:30 EST; an hour before is 01:30 EDT, whose local time Postgres
               -- reads as EST: the cutoff is taken an hour earlier.
               ('America/New_York', '1 hour', '2026-11-01 06:30Z'),
               ('America/New_York', '24 hours', '2026-11-02 06:30Z'),
               ('Australia/Lord_Howe', '1 hour', '2026-04-04 15:45Z'),
               ('Australia/Lord_Howe', '3 hours', '2026-10-03 17:00Z'),
               ('Asia/Kathmandu', '90 minutes', '2026-06-01 00:00Z'),
               ('UTC', '1 mon', '2026-03-31 12:00Z')) v(zone, span, at)
 ORDER BY zone, at;

-- Maintenance simulated every 15 minutes through DST nights: the partitions the planner drops
-- at each moment, given the cutoff as _maintain computes it, against those whose upper bound
-- is at or before now() - retention in Postgres's arithmetic in that zone. "early" counts
-- partitions dropped while younger than retention (what wall-clock arithmetic did, shown
-- beside), "late" the moments a partition old enough was kept (only in the first pass of a
-- repeated hour, where the cutoff is taken an hour earlier).
CREATE FUNCTION pg_temp.retention_check(zone text, step interval, span interval,
                                        start timestamptz, wall_clock boolean) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    lowers timestamp[];
    uppers timestamp[];
    upper_instants timestamptz[];
    at timestamptz;
    dropped int[];
    early int := 0;
    late int := 0;
BEGIN
    CREATE TABLE sim (at timestamptz NOT NULL) PARTITION BY RANGE (at);
    PERFORM ai_scale._create_partition('sim', 'at', 'timestamptz', zone, c.lower, c.upper,
                                       c.suffix, NULL, NULL, false, false)
       FROM ai_scale._cells(step, (start AT TIME ZONE zone) - interval '1 day',
                            (start AT TIME ZONE zone) + interval '1 day') c;
    SELECT array_agg(l.lower ORDER BY u.upper), array_agg(l.upper ORDER BY u.upper),
           array_agg(u.upper AT TIME ZONE 'UTC' ORDER BY u.upper)
      INTO lowers, uppers, upper_instants
      FROM ai_scale._bounds('sim', zone) l JOIN ai_scale._bounds('sim', 'UTC') u USING (partition);
    FOR i IN 0 .. 96 LOOP
        at := start + i * interval '15 minutes';
        SELECT array_agg(p.idx) INTO dropped
          FROM ai_scale._plan(step, 0, span, 'drop', NULL, at AT TIME ZONE zone, lowers, uppers,
                              array_fill(false, ARRAY[cardinality(lowers)]),
                              CASE WHEN NOT wall_clock THEN ai_scale._cutoff(at, span, zone) END)
               p
         WHERE p.action = 'drop';
        PERFORM set_config('TimeZone', zone, true);
        FOR j IN 1 .. cardinality(uppers) LOOP
            IF j = ANY (coalesce(dropped, '{}')) AND upper_instants[j] > at - span THEN
                early := early + 1;
            ELSIF NOT j = ANY (coalesce(dropped, '{}')) AND upper_instants[j] <= at - span THEN
                late := late + 1;
            END IF;
        END LOOP;
        PERFORM set_config('TimeZone', 'UTC', true);
    END LOOP;
    DROP TABLE sim;
    RETURN format('%s early, %s late', early, late);
END $$;
SELECT zone, step, span, start, pg_temp.retention_check(zone, step, span, start, false) AS cutoff,
       pg_temp.retention_check(zone, step, span, start, true) AS wall_clock
  FROM (VALUES ('America/New_York', timestamptz '2026-03-08 04:00Z'),
               ('America/New_York', timestamptz '2026-11-01 02:00Z'),
               ('Australia/Lord_Howe', timestamptz '2026-04-04 12:00Z'),
               ('Australia/Lord_Howe', timestamptz '2026-10-03 12:00Z')) v(zone, start),
       (VALUES (interval '1 hour', interval '2 hours'), ('30 minutes', '90 minutes'),
               ('1 hour', '1 day 01:00')) s(step, span)
 ORDER BY 1, 4, 2, 3;

-- run_maintenance on a timestamptz key and on timestamp and date keys (those keep wall-clock
-- arithmetic) with retention: partitions of 2020 are dropped, today's are kept.
SET allow_in_place_tablespaces = true;
CREATE TABLESPACE dst_cold LOCATION '';
CREATE TABLE dst_tz (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE dst_tz_2020 PARTITION OF dst_tz FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
CREATE TABLE dst_ts (at timestamp NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE dst_ts_2020 PARTITION OF dst_ts FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
CREATE TABLE dst_date (at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE dst_date_2020 PARTITION OF dst_date FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
SELECT parent_table, action, partition, detail
  FROM ai_scale.manage_partitions('dst_tz', '1 hour', 0, '48 hours', time_zone => 'America/New_York')
 WHERE action <> 'created'
UNION ALL
SELECT parent_table, action, partition, detail
  FROM ai_scale.manage_partitions('dst_ts', '1 day', 0, '2 days 12:00', 'tier', cold_tablespace => 'dst_cold',
                                  time_zone => 'Europe/Paris')
 WHERE action <> 'created'
UNION ALL
SELECT parent_table, action, partition, detail
  FROM ai_scale.manage_partitions('dst_date', '1 day', 0, '2 days', 'detach', time_zone => 'Asia/Kolkata')
 WHERE action <> 'created'
 ORDER BY 1;
SELECT inhparent::regclass AS parent, count(*) AS partitions FROM pg_inherits
 WHERE inhparent IN ('dst_tz'::regclass, 'dst_ts'::regclass, 'dst_date'::regclass) GROUP BY 1 ORDER BY 1;
DROP TABLE dst_tz, dst_ts, dst_date, dst_date_2020;
DROP TABLESPACE dst_cold;
