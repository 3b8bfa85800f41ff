-- Bad input: each a clear error with its SQLSTATE, and nothing left half-created.
SET client_min_messages = warning;
\i sql/include/try.sql
CREATE TABLE plain (at timestamptz);
CREATE TABLE by_list (at timestamptz, k int) PARTITION BY LIST (k);
CREATE TABLE by_hash (at timestamptz, k int) PARTITION BY HASH (k);
CREATE TABLE by_int (at int) PARTITION BY RANGE (at);
CREATE TABLE by_two (a timestamptz, b timestamptz) PARTITION BY RANGE (a, b);
CREATE TABLE by_expr (a timestamp) PARTITION BY RANGE ((a + interval '1 day'));
CREATE TABLE by_date (d date) PARTITION BY RANGE (d);
CREATE TABLE good (at timestamptz) PARTITION BY RANGE (at);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('plain', '1 day')$$);
-- What is not a table is named for what it is (it was "table ... is not partitioned", with the
-- hint to make it with PARTITION BY).
CREATE VIEW not_a_table AS SELECT now() AS at;
CREATE SEQUENCE not_a_table_seq;
SELECT * FROM ai_scale.manage_partitions('not_a_table', '1 day');
SELECT pg_temp.try($$SELECT * FROM ai_scale.partitions('not_a_table_seq')$$);
DROP VIEW not_a_table;
DROP SEQUENCE not_a_table_seq;
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('by_list', '1 day')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('by_hash', '1 day')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('by_int', '1 day')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('by_two', '1 day')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('by_expr', '1 day')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('by_date', '1 hour')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('by_date', '24 hours')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('no_such_table', '1 day')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '0 days')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '-1 day')$$);
-- Positive as Postgres compares intervals, but with a negative part.
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day -1 hour')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', retention => '1 mon -29 days')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 month 1 day')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '30 seconds')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '90 seconds')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', NULL)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', -1)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 10001)$$);
-- Partitions made ahead end before the last timestamp (294276 AD): premake + 1 intervals of at
-- most 5000 years (the second failed with 22008, timestamp out of range, after checking the table).
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1000 years', 5)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '100000 years', 0)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions(NULL, '1 day')$$);
-- A null premake or retention_mode is refused (22004), not a failed insert into
-- partition_config (23502).
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', NULL)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, '30 days', NULL)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, '12 hours')$$);
-- A temporary table (its config row would outlive it: no event trigger fires at session end).
CREATE TEMP TABLE temp_parted (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('temp_parted', '1 day')$$);
DROP TABLE temp_parted;
-- Timestamps begin in 4713 BC: a longer span has no cutoff (it failed with 22008, out of range).
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, '5001 years')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, cold_after => '6000 years', cold_tablespace => 'pg_default')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, '30 days', 'archive')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, '30 days', 'tier')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, '30 days', 'tier', cold_tablespace => 'no_such_space')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, '30 days', 'tier', cold_tablespace => 'pg_global')$$);
-- The tablespace the table's partitions are made in (here the database's, the table having
-- none of its own): every partition was cold when made, and tiering moved none.
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, '30 days', 'tier', cold_tablespace => 'pg_default')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, '30 days', cold_after => '40 days', cold_tablespace => 'pg_default')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, '30 days', cold_after => '30 days', cold_tablespace => 'pg_default')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', 7, cold_after => '30 days')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', time_zone => 'Mars/Olympus_Mons')$$);
-- An abbreviation means what the reading session's timezone_abbreviations says (IST: +02 in the
-- default set, +05:30 in 'India'); the worker and the session registering a table need not
-- agree, and a table's days were cut into pieces.
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', time_zone => 'IST')$$);
-- Nor a zone that keeps summer time whose name is an abbreviation too (CET, EET, MET, WET):
-- Postgres reads it as the abbreviation, +01 all year for CET, and a July partition began at
-- 23:00 UTC, not at Paris's 22:00.
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 month', time_zone => 'CET')$$);
-- Nor a zone that counts leap seconds (right/..., which Postgres refuses as TimeZone): its
-- conversions to and from local time disagree by 27 s, and a row by a midnight stayed in the
-- default, each rescue "moving" it again. Nor the host's zone (localtime), which moves with it.
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', time_zone => 'right/UTC')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('good', '1 day', time_zone => 'localtime')$$);
-- The setting is checked at SET: zone names and POSIX specs, as AT TIME ZONE takes them, and a
-- name that is both a zone of one offset and an abbreviation of that offset (EST); not an
-- abbreviation alone, nor CET.
SELECT pg_temp.try($$SET ai_scale.partition_time_zone = 'Mars/Olympus_Mons'$$);
SELECT pg_temp.try($$SET ai_scale.partition_time_zone = 'IST'$$);
SELECT pg_temp.try($$SET ai_scale.partition_time_zone = 'CET'$$);
SELECT pg_temp.try($$SET ai_scale.partition_time_zone = 'right/Europe/Paris'$$);
SELECT pg_temp.try($$SET ai_scale.partition_time_zone = 'localtime'$$);
SELECT pg_temp.try($$SET ai_scale.partition_time_zone = ':LocalTime'$$);
SELECT pg_temp.try($$SET ai_scale.partition_time_zone = 'posix/localtime'$$);
SELECT pg_temp.try($$SET ai_scale.partition_time_zone = ''$$);
SET ai_scale.partition_time_zone = 'europe/berlin';
SET ai_scale.partition_time_zone = 'UTC+3';
SET ai_scale.partition_time_zone = 'EST';
SHOW ai_scale.partition_time_zone;
RESET ai_scale.partition_time_zone;
SELECT pg_temp.try($$SELECT * FROM ai_scale.create_prediction_store('preds', '0 days')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.create_prediction_store('preds', '1 day', NULL)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.create_prediction_store('a.b.c')$$);
-- So is one that is no SQL name at all (it was parse_ident's 22023).
SELECT n, pg_temp.try(format('SELECT * FROM ai_scale.create_prediction_store(%L)', n))
  FROM unnest(ARRAY['', 'public.', '1abc', 'ab c']) n;
SELECT pg_temp.try($$SELECT * FROM ai_scale.create_prediction_store(NULL)$$);
-- A null parent is named as such (22004), not as a table <NULL> that is not partitioned
-- (42809) or not managed (55000).
SELECT pg_temp.try($$SELECT * FROM ai_scale.partitions(NULL)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.check_default(NULL)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.rescue_default(NULL)$$);
SELECT pg_temp.try($$SELECT ai_scale.unmanage_partitions(NULL)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.reapply_privileges(NULL)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.create_prediction_store(repeat('x', 64))$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.create_prediction_store(repeat('s', 64) || '.good')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.create_prediction_store('good')$$);
-- The hint of a name taken: by a range-partitioned table (manage it, with the settings the call
-- gave) or by another table (one managed already: partition_store).
\set SHOW_CONTEXT never
SELECT ai_scale.create_prediction_store('good', '1 hour');
SELECT ai_scale.create_prediction_store('good', '1 day', 3, '30 days');
SELECT ai_scale.create_prediction_store('plain');
SELECT ai_scale.create_prediction_store('by_list');
\set SHOW_CONTEXT errors
SELECT pg_temp.try($$SELECT * FROM ai_scale.create_prediction_store('no_such_schema.preds')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.run_maintenance('good')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.rescue_default('good')$$);
SELECT pg_temp.try($$CALL ai_scale.rescue_default_proc('good')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.unmanage_partitions('good')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.check_default('plain')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.partitions('by_list')$$);

-- Nothing was created or registered by any of the above.
SELECT count(*) AS partitions FROM pg_inherits
 WHERE inhparent IN ('plain'::regclass, 'by_list'::regclass, 'by_hash'::regclass, 'by_int'::regclass,
                     'by_two'::regclass, 'by_expr'::regclass, 'by_date'::regclass, 'good'::regclass);
SELECT to_regclass('public.preds') IS NULL AS no_preds;
SELECT count(*) AS configs FROM ai_scale.partition_config WHERE parent::text NOT LIKE '%model_predictions';

-- Errors are catchable by SQLSTATE.
DO $$
BEGIN
    PERFORM ai_scale.manage_partitions('good', '1 day', -1);
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE WARNING 'caught 22023: %', SQLERRM;
END $$;

-- A failure on one table does not stop maintenance of the others: a config edited by hand
-- into something invalid fails only its own table, reported as an error row.
CREATE TABLE victim (at timestamptz) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('victim', '1 day', 1);
SELECT count(*) FROM ai_scale.manage_partitions('good', '1 day', 1);
UPDATE ai_scale.partition_config SET partition_interval = '1 month 1 day' WHERE parent = 'victim'::regclass;
UPDATE ai_scale.partition_config SET premake = 2 WHERE parent = 'good'::regclass;
SELECT parent_table, action, CASE WHEN action = 'error' THEN detail END AS error
  FROM ai_scale.run_maintenance()
 WHERE parent_table IN ('victim'::regclass, 'good'::regclass) ORDER BY 1, 2;
SELECT value > 0 AS error_counted FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'errors';

-- An error row keeps the error's hint, which is often the useful part (out of shared memory
-- says to raise max_locks_per_transaction only there). Here a DBA's event trigger refuses new
-- tables while maintenance would make one.
CREATE TABLE frozen_new (at timestamptz) PARTITION BY RANGE (at);
CREATE TABLE frozen_new_default PARTITION OF frozen_new DEFAULT;
CREATE FUNCTION freeze_tables() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'new tables are frozen' USING HINT = 'Ask the DBA to thaw them.';
END $$;
CREATE EVENT TRIGGER freeze_tables ON ddl_command_start WHEN TAG IN ('CREATE TABLE')
    EXECUTE FUNCTION freeze_tables();
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'good'::regclass;
SELECT action, detail FROM ai_scale.run_maintenance('good') WHERE action = 'error';
-- A manage_partitions whose first run fails raises the row's hint as its HINT, not inside its
-- message ("could not maintain ...: new tables are frozen (hint: Ask the DBA to thaw them.)").
\set SHOW_CONTEXT never
SELECT * FROM ai_scale.manage_partitions('frozen_new', '1 day');
\set SHOW_CONTEXT errors
SELECT count(*) AS frozen_new_kept FROM ai_scale.partition_config
 WHERE parent = 'frozen_new'::regclass;
DROP EVENT TRIGGER freeze_tables;
DROP FUNCTION freeze_tables();

-- The internal helpers that read a table's partitions are callable by any role: a table that
-- does not exist (dropped since its OID was read) is 42P01, not an internal error.
CREATE TABLE gone (at timestamptz) PARTITION BY RANGE (at);
SELECT 'gone'::regclass::oid AS gone_oid \gset
DROP TABLE gone;
SELECT split_part(pg_temp.try(format('SELECT ai_scale._detach_pending(%s)', :gone_oid)), ':', 1)
       AS detach_pending_gone;
SELECT split_part(pg_temp.try(format('SELECT ai_scale._bounds(%s, %L)', :gone_oid, 'UTC')), ':', 1)
       AS bounds_gone;
-- Worded as Postgres words it (the OID varies from run to run).
SELECT replace(pg_temp.try(format('SELECT ai_scale._as_owner(%s, %L)', :gone_oid, 'SELECT 1')),
               :'gone_oid', 'N') AS as_owner_gone;
-- So does the API given such a regclass (one a script kept while the table was dropped): it
-- was "table 16384 is not partitioned" (42809) or "... is not managed by ai_scale" (55000).
SELECT f AS api_function_gone,
       replace(pg_temp.try(format('SELECT * FROM ai_scale.%s(%s::oid::regclass%s)', f, :gone_oid,
                                  CASE WHEN f = 'manage_partitions' THEN ', ''1 day''' ELSE '' END)),
               :'gone_oid', 'N') AS error
  FROM unnest(ARRAY['manage_partitions', 'partitions', 'check_default', 'reapply_privileges',
                    'run_maintenance', 'unmanage_partitions', 'rescue_default']) f;
SELECT replace(pg_temp.try(format('CALL ai_scale.rescue_default_proc(%s::oid::regclass)', :gone_oid)),
               :'gone_oid', 'N') AS rescue_default_proc_gone;

-- An error row's text: the message, the hint, the SQLSTATE; a deadlock's hint, which points to
-- a server log that holds nothing of an error the run caught, left out.
SELECT ai_scale._error_text('out of shared memory', 'You might need to increase max_locks_per_transaction.', '53200') AS with_hint,
       ai_scale._error_text('deadlock detected', 'See server log for query details.', '40P01') AS deadlock;

-- The worker's read of the owed-drop marks takes any role's comment as text: a number past an
-- OID's range in one (any role may write it on a table of its own) failed every worker run.
COMMENT ON TABLE plain IS 'ai_scale: detached from table 99999999999 by retention x';
SELECT ai_scale._owed_drop_parents() AS owed_drop_parents;
COMMENT ON TABLE plain IS NULL;

-- A date key's interval an UPDATE of partition_config made hours: a run reports it as an error
-- row and makes nothing, rescue_default refuses it (they made empty ranges, 42P17, or
-- partitions of one and two days by turns).
CREATE TABLE by_day (id int, d date) PARTITION BY RANGE (d);
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('by_day', '1 day', 1);
SELECT count(*) AS partitions_before FROM pg_inherits WHERE inhparent = 'by_day'::regclass \gset
UPDATE ai_scale.partition_config SET partition_interval = '36 hours', premake = 3
 WHERE parent = 'by_day'::regclass;
SELECT action, partition, detail FROM ai_scale.run_maintenance('by_day');
INSERT INTO by_day VALUES (1, '2031-01-05');
SELECT pg_temp.try($$SELECT * FROM ai_scale.rescue_default('by_day')$$);
SELECT count(*) = :partitions_before AS nothing_made
  FROM pg_inherits WHERE inhparent = 'by_day'::regclass;
DROP TABLE by_day;
DROP TABLE plain, by_list, by_hash, by_int, by_two, by_expr, by_date, good, victim, frozen_new;
