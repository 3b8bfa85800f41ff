-- A partition of a timestamptz key ending in the first pass of a local hour that a fall-back
-- change repeats (made by hand, by another tool, or by ai_scale in another zone), with no
-- partition after it. The planner compares bounds as local times, where that upper bound
-- reads as its second pass, up to an hour later: the cell around it looked covered to its
-- end, and the instants from the bound to the second pass were never given a partition (rows
-- written there went to the default, at every run).
-- No real zone falls back while the test runs: a POSIX zone is made that falls back at the
-- next whole hour of its wall clock, as in calendar_first_pass_now.sql (which says why its
-- daylight time begins the day before): the hour from date_trunc('hour', now()) is the first
-- pass of the hour it repeats.
SET client_min_messages = warning;
SET TimeZone = 'UTC';
BEGIN;
SELECT format('XST%sXDT,%s/0,%s/%s', -h, (extract(doy from dst_local)::int + 363) % 365,
              extract(doy from dst_local)::int - 1,
              to_char(date_trunc('hour', dst_local) + interval '1 hour', 'HH24:MI')) AS zone
  FROM (SELECT h, now() AT TIME ZONE 'UTC' + make_interval(hours => h + 1) AS dst_local
          FROM (SELECT 12 - extract(hour from now() AT TIME ZONE 'UTC')::int AS h) x) y \gset
CREATE TABLE first_pass_bound (at timestamptz NOT NULL DEFAULT now(), v int)
    PARTITION BY RANGE (at);
-- By hand, up to the start of the first pass: its local time is the same as the second
-- pass's, an hour later.
DO $$ BEGIN
    EXECUTE format('CREATE TABLE first_pass_bound_by_hand PARTITION OF first_pass_bound '
                   'FOR VALUES FROM (%L) TO (%L)',
                   date_trunc('hour', now()) - interval '1 hour', date_trunc('hour', now()));
END $$;
SELECT date_trunc('hour', now()) AT TIME ZONE :'zone'
       = (date_trunc('hour', now()) + interval '1 hour') AT TIME ZONE :'zone' AS bound_in_first_pass;
SELECT count(*) > 0 AS made
  FROM ai_scale.manage_partitions('first_pass_bound', '1 hour', premake => 1, time_zone => :'zone');
INSERT INTO first_pass_bound (v) VALUES (1);
-- The row is in a partition; the partitions run on from the one made by hand, without a gap.
SELECT tableoid::regclass::text = 'first_pass_bound_default' AS in_default FROM first_pass_bound;
SELECT count(*) AS gaps
  FROM (SELECT upper, lead(lower) OVER (ORDER BY lower::timestamptz) AS next
          FROM ai_scale.partitions('first_pass_bound') WHERE tier = 'hot') p
 WHERE next IS NOT NULL AND next::timestamptz <> upper::timestamptz;
SELECT min(lower::timestamptz) = date_trunc('hour', now()) - interval '1 hour' AS from_by_hand,
       max(upper::timestamptz) = date_trunc('hour', now()) + interval '2 hours' AS to_premake
  FROM ai_scale.partitions('first_pass_bound') WHERE tier = 'hot';
SELECT count(*) AS actions FROM ai_scale.run_maintenance('first_pass_bound');
ROLLBACK;
