-- A maintenance run at an instant in the first pass of a local hour that a fall-back change
-- repeats. Postgres reads that local time as its second pass, an hour later, so the cell of
-- now()'s local time starts after now(): planned from it, a first run (manage_partitions)
-- left the cell holding now() unmade, and rows written meanwhile went to the default.
-- No real zone falls back while the test runs: a POSIX zone is made that falls back at the
-- next whole hour of its wall clock, so that now() is in the first pass of the hour it
-- repeats (standard time UTC+h, h chosen to put its wall clock near noon; daylight time an
-- hour ahead, from the midnight of the day before to today's change: a zone whose daylight
-- time began at the year's first midnight fell back the same day on January 1, and Postgres,
-- which reads a local time with the offset of the one change within a day of it, read the
-- hours after that fall-back with the daylight offset, so that planned cells ran to 20:00).
SET client_min_messages = warning;
SET TimeZone = 'UTC';
BEGIN;
SELECT format('XST%sXDT,%s/0,%s/%s', -h, (extract(doy from dst_local)::int + 363) % 365,
              extract(doy from dst_local)::int - 1,
              to_char(date_trunc('hour', dst_local) + interval '1 hour', 'HH24:MI')) AS zone
  FROM (SELECT h, now() AT TIME ZONE 'UTC' + make_interval(hours => h + 1) AS dst_local
          FROM (SELECT 12 - extract(hour from now() AT TIME ZONE 'UTC')::int AS h) x) y \gset
-- now() is in the first pass: the same local time comes again an hour later.
SELECT now() AT TIME ZONE :'zone' = (now() + interval '1 hour') AT TIME ZONE :'zone'
       AS in_first_pass;
CREATE TABLE first_pass_now (at timestamptz NOT NULL DEFAULT now(), v int)
    PARTITION BY RANGE (at);
SELECT count(*) > 0 AS made
  FROM ai_scale.manage_partitions('first_pass_now', '1 hour', premake => 0, time_zone => :'zone');
INSERT INTO first_pass_now (v) VALUES (1);
-- The row is in a partition, and the run after makes nothing more.
SELECT tableoid::regclass::text = 'first_pass_now_default' AS in_default FROM first_pass_now;
SELECT count(*) AS actions FROM ai_scale.run_maintenance('first_pass_now');
-- One partition: the cell holding now(), the hour before now()'s local hour, which it
-- ends at the second pass of (the first pass falls in it).
SELECT count(*) AS partitions FROM ai_scale.partitions('first_pass_now') WHERE tier = 'hot';
SELECT lower::timestamptz = date_trunc('hour', now()) - interval '1 hour'
       AS starts_an_hour_before,
       upper::timestamptz = date_trunc('hour', now()) + interval '1 hour' AS ends_at_second_pass
  FROM ai_scale.partitions('first_pass_now') WHERE tier = 'hot';
ROLLBACK;
