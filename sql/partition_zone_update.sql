-- manage_partitions refuses a time zone abbreviation (each session reads one through its own
-- timezone_abbreviations), and so does a run that finds one an UPDATE of partition_config
-- wrote: before, the run went by the abbreviation as its session read it, and cut the table's
-- days into pieces (IST: +02 in the default set, +05:30 under 'India').
SET client_min_messages = warning;
\i sql/include/try.sql
CREATE TABLE zoned (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('zoned', '1 day', 1, time_zone => 'UTC');
UPDATE ai_scale.partition_config SET time_zone = 'IST', premake = 3
 WHERE parent = 'zoned'::regclass;
SET timezone_abbreviations = 'India';
SELECT action, detail FROM ai_scale.run_maintenance('zoned');
SELECT pg_temp.try($$SELECT * FROM ai_scale.rescue_default('zoned')$$);
RESET timezone_abbreviations;
-- Nothing was made: today, tomorrow and the default, as before the UPDATE.
SELECT count(*) FROM pg_inherits WHERE inhparent = 'zoned'::regclass;
-- A zone name is taken again.
UPDATE ai_scale.partition_config SET time_zone = 'Asia/Kolkata'
 WHERE parent = 'zoned'::regclass;
SELECT count(*) > 0 FROM ai_scale.run_maintenance('zoned') WHERE action = 'created';
SELECT count(*) FROM ai_scale.run_maintenance('zoned') WHERE action = 'error';
DROP TABLE zoned;
