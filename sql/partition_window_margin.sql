-- A maintenance run reads only the partitions near its window (now, premake, the retention and
-- tiering cutoffs: _maintain_read_bounds), which _bounds picks by the key's own values, with
-- no time zone conversion per partition, against limits widened by a margin: what the limit
-- needs, none for timestamp and date keys (their values are the local times compared), and for
-- a timestamptz key the change of the zone's UTC offset near the limit (an hour near a DST
-- change, a day where a zone crossed the date line), so that no partition whose local bounds
-- are in the window is left out. A fixed two days each side, which covers any usual zone, would
-- read up to 5,760 partitions (2,880 a side) at every run of a 1-minute table for nothing (10 ms
-- a no-op run at premake 3000, 14 ms at premake 60); the counts below fail with it.
SET client_min_messages = warning;
SET TimeZone = 'UTC';

-- Partitions of tbl of a minute each at the instants t0 + offsets[i], named tbl_names[i], made
-- in that order.
CREATE FUNCTION pg_temp.minute_partitions(tbl text, t0 timestamptz, names text[],
                                          offsets interval[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. cardinality(names) LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       tbl || '_' || names[i], tbl, t0 + offsets[i],
                       t0 + offsets[i] + interval '1 minute');
    END LOOP;
END $$;
-- Partitions around 01:00 UTC on 2026-10-25, where Berlin goes from 03:00 CEST (+2) back to
-- 02:00 CET (+1), named by their distance from it.
CREATE TABLE wm (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.minute_partitions('wm', '2026-10-25 01:00Z',
    '{m3d, m1d, m3h, m70, m45, m15, p0, p15, p45, p70, p3h, p1d, p3d}',
    '{-3 days, -1 day, -3 hours, -70 min, -45 min, -15 min, 0, 15 min, 45 min, 70 min, 3 hours,
      1 day, 3 days}');
-- What _bounds returns for a window (upper_after, lower_before, upper_until, in zone), how
-- many partitions of those whose local bounds are in it (compared exactly) it left out, and how
-- many it returned besides (which the run's exact filter drops).
CREATE FUNCTION pg_temp.window_of(tbl regclass, zone text, upper_after timestamp,
                                  lower_before timestamp, upper_until timestamp DEFAULT NULL)
    RETURNS TABLE (returned text, missed bigint, extra bigint) LANGUAGE sql AS $$
    WITH got AS (SELECT b.partition FROM ai_scale._bounds(tbl, zone, upper_after, lower_before,
                                                          upper_until) b
                  WHERE NOT b.is_default),
         exact AS (SELECT b.partition FROM ai_scale._bounds(tbl, zone) b
                    WHERE NOT b.is_default
                      AND ((b.upper > upper_after AND b.lower < lower_before)
                           OR b.upper <= upper_until))
    SELECT (SELECT string_agg(regexp_replace(g.partition::text, '^[a-z]+_', ''), ' '
                              ORDER BY g.partition::oid) FROM got g),
           (SELECT count(*) FROM exact e WHERE e.partition NOT IN (SELECT partition FROM got)),
           (SELECT count(*) FROM got g WHERE g.partition NOT IN (SELECT partition FROM exact)) $$;
-- window_of at every limit from first to last, step apart, on each side of the window alone
-- (upper_after, lower_before, upper_until): the partitions left out in all, and the most
-- returned besides at one limit.
CREATE FUNCTION pg_temp.sweep(tbl regclass, zone text, first timestamp, last timestamp,
                              step interval)
    RETURNS TABLE (missed numeric, most_extra bigint) LANGUAGE sql AS $$
    SELECT sum(w.missed), max(w.extra)
      FROM generate_series(first, last, step) x,
           LATERAL (SELECT * FROM pg_temp.window_of(tbl, zone, x, 'infinity')
                    UNION ALL SELECT * FROM pg_temp.window_of(tbl, zone, '-infinity', x)
                    UNION ALL SELECT * FROM pg_temp.window_of(tbl, zone, 'infinity',
                                                              '-infinity', x)) w $$;
-- In UTC no offset changes: the window is exact (it read all but m3d and p3d).
SELECT * FROM pg_temp.window_of('wm', 'UTC', '2026-10-25 00:30', '2026-10-25 01:30');
-- A limit in the repeated hour: 02:30 in Berlin reads as its second pass, 01:30 UTC; m15
-- (00:45 UTC) ends at 02:46 CEST, later than 02:30, and is there though its instant is 45
-- minutes before the limit's. p0 and p15 (02:00 and 02:15 CET, ending before 02:30) are read
-- within the hour's margin, m45 (02:15 CEST) and m70 (01:50 CEST) are not.
SELECT * FROM pg_temp.window_of('wm', 'Europe/Berlin', '2026-10-25 02:30', '2026-10-25 03:00');
-- Around the change, every limit every 5 minutes, on each side: nothing left out, and at most
-- the partitions within the hour's margin read besides (two days each side read all of them
-- but m3d and p3d).
SELECT * FROM pg_temp.sweep('wm', 'Europe/Berlin', '2026-10-24 23:00', '2026-10-25 05:00',
                             '5 min');
-- The same in spring (2026-03-29, 02:00 CET is 03:00 CEST at 01:00 UTC), with a limit in
-- the hour that does not exist (02:30 reads as 01:30 UTC, 03:30 CEST).
CREATE TABLE wm_spring (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.minute_partitions('wm_spring', '2026-03-29 01:00Z', '{m1d, m40, m10, p0, p1d}',
                                 '{-1 day, -40 min, -10 min, 0, 1 day}');
SELECT * FROM pg_temp.window_of('wm_spring', 'Europe/Berlin', '2026-03-29 02:30', '2026-03-29 04:00');
SELECT * FROM pg_temp.window_of('wm_spring', 'Europe/Berlin', '-infinity', '2026-03-29 02:30');
SELECT * FROM pg_temp.sweep('wm_spring', 'Europe/Berlin', '2026-03-28 23:00',
                             '2026-03-29 05:00', '5 min');
-- Pacific/Apia skipped 2011-12-30 (-10 to +14 at 10:00 UTC): a bound an instant after the
-- change reads a day later. Its margin is the day the zone moved, and no partition is left out.
CREATE TABLE wm_apia (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.minute_partitions('wm_apia', '2011-12-30 10:00Z', '{m20h, p0, p20h}',
                                 '{-20 hours, 0, 20 hours}');
SELECT missed FROM pg_temp.sweep('wm_apia', 'Pacific/Apia', '2011-12-29 00:00',
                                  '2012-01-01 00:00', '30 min');
-- Noon on the skipped day (22:00 UTC read at -10): p0, at 00:00 on the 31st local, ends after
-- it, 12 hours before the limit's instant.
SELECT * FROM pg_temp.window_of('wm_apia', 'Pacific/Apia', '2011-12-30 12:00', '2011-12-31 12:00');

-- timestamp and date keys: the bounds are the local times, and the window is exact.
CREATE TABLE wm_ts (at timestamp NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE wm_ts_m1d PARTITION OF wm_ts FOR VALUES FROM ('2026-10-24 02:00') TO ('2026-10-24 02:01');
CREATE TABLE wm_ts_m1 PARTITION OF wm_ts FOR VALUES FROM ('2026-10-25 01:59') TO ('2026-10-25 02:00');
CREATE TABLE wm_ts_p0 PARTITION OF wm_ts FOR VALUES FROM ('2026-10-25 02:00') TO ('2026-10-25 02:01');
CREATE TABLE wm_ts_p1 PARTITION OF wm_ts FOR VALUES FROM ('2026-10-25 02:01') TO ('2026-10-25 02:02');
CREATE TABLE wm_ts_p1d PARTITION OF wm_ts FOR VALUES FROM ('2026-10-26 02:00') TO ('2026-10-26 02:01');
SELECT * FROM pg_temp.window_of('wm_ts', 'Europe/Berlin', '2026-10-25 02:00', '2026-10-25 02:01');
SELECT * FROM pg_temp.window_of('wm_ts', 'Europe/Berlin', '2026-10-24 00:00', '2026-10-24 00:00',
                                '2026-10-25 02:00');
CREATE TABLE wm_d (at date NOT NULL) PARTITION BY RANGE (at);
DO $$
BEGIN
    FOR i IN 8..12 LOOP
        EXECUTE format('CREATE TABLE wm_d_%s PARTITION OF wm_d FOR VALUES FROM (%L) TO (%L)', i,
                       date '2026-01-01' + (i - 1), date '2026-01-01' + i);
    END LOOP;
END $$;
SELECT * FROM pg_temp.window_of('wm_d', 'Europe/Berlin', '2026-01-10', '2026-01-11');
-- Infinite limits take every partition (limit + margin wrapped around: 'infinity' as
-- lower_before took none).
SELECT * FROM pg_temp.window_of('wm_d', 'UTC', '-infinity', 'infinity');

-- What a maintenance run of a 1-minute table reads: its premade partitions and the one before
-- now, not the partitions of the hours before (sparse here, one each 30 minutes: the two days
-- the window was widened by held 2,880 at 1-minute partitions).
-- (One transaction: one now(), so that the run's horizon is the one premade.)
BEGIN;
CREATE TABLE wm_run (at timestamptz NOT NULL) PARTITION BY RANGE (at);
DO $$
DECLARE
    base timestamptz := date_trunc('minute', now());
BEGIN
    FOR k IN 1..12 LOOP
        EXECUTE format('CREATE TABLE wm_run_old%s PARTITION OF wm_run FOR VALUES FROM (%L) TO (%L)',
                       k, base - k * interval '30 min', base - k * interval '30 min' + interval '1 minute');
    END LOOP;
END $$;
SELECT count(*) > 0 AS made
  FROM ai_scale.manage_partitions('wm_run', '1 minute', 10, time_zone => 'UTC');
SELECT count(*) FILTER (WHERE b.partition::text LIKE 'wm\_run\_old%') AS old_read,
       count(*) FILTER (WHERE b.partition::text NOT LIKE 'wm\_run\_old%') >= 10 AS premade_read
  FROM ai_scale.partition_config c,
       LATERAL (SELECT (now() AT TIME ZONE c.time_zone)::timestamp AS now_local) n,
       LATERAL ai_scale._bounds(c.parent, c.time_zone, n.now_local - c.partition_interval,
                                n.now_local + c.partition_interval * (c.premake + 2)) b
 WHERE c.parent = 'wm_run'::regclass AND NOT b.is_default;
SELECT count(*) AS actions FROM ai_scale.run_maintenance('wm_run');
COMMIT;

DROP TABLE wm, wm_spring, wm_apia, wm_ts, wm_d, wm_run;
