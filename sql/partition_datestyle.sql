-- Maintenance and rescue_default in a session whose DateStyle writes timestamps in a form it
-- cannot read back: 'SQL, YMD' writes month/day/year and reads year/month/day. The limits of
-- the keys a partition can hold were written into the rescue's query as timestamps in the
-- session's style: every rescue failed (22008 "date/time field value out of range") and the
-- default's rows stayed there, with a database or role set to that style (the worker too).
SET client_min_messages = warning;
SET datestyle = 'SQL, YMD';
CREATE TABLE styled (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('styled', '1 day', 1);
CREATE TABLE styled_local (at timestamp NOT NULL, v int) PARTITION BY RANGE (at);
CREATE INDEX ON styled_local (at);   -- the default's rows are found through its index
SELECT count(*) FROM ai_scale.manage_partitions('styled_local', '1 hour', 1);
CREATE TABLE styled_date (at date NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('styled_date', '1 month', 1);
INSERT INTO styled SELECT now() + g * interval '1 day', g FROM generate_series(5, 7) g;
-- (Hours ahead of UTC's wall clock, the zone its hours are cut in: from localtimestamp, in
-- pg_regress's PST8PDT, the third row fell in the hour premade from March to November.)
INSERT INTO styled_local SELECT now() AT TIME ZONE 'UTC' + g * interval '1 hour', g FROM generate_series(5, 7) g;
-- Three months apart and past the months premade, whatever today is (62 days apart from 100
-- days on: on some days 62 fell in the premade next month, and two rows were rescued, not 3).
INSERT INTO styled_date SELECT current_date + 100 + g * 62, g FROM generate_series(1, 3) g;
-- A run moves them all home.
SELECT parent_table, action, count(*) FROM ai_scale.run_maintenance()
 WHERE parent_table::text LIKE 'styled%' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT t, (ai_scale.check_default(t)).rows
  FROM unnest('{styled,styled_local,styled_date}'::regclass[]) t;
-- And so does rescue_default.
INSERT INTO styled SELECT now() + g * interval '1 day', g FROM generate_series(9, 10) g;
SELECT count(*), sum(rows_moved) FROM ai_scale.rescue_default('styled');
SELECT (ai_scale.check_default('styled')).rows;
RESET datestyle;
DROP TABLE styled, styled_local, styled_date;
