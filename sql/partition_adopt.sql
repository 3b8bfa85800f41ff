-- manage_partitions adopts hand-made tables, reading existing bounds from the catalog.
SET client_min_messages = warning;
\i sql/include/try.sql

-- The seed DDL typed by hand, with one partition whose name says nothing about its bounds,
-- covering noon to noon around today: adoption makes only the uncovered parts.
CREATE TABLE seed (
    prediction_id uuid NOT NULL DEFAULT gen_random_uuid(),
    model_version int,
    input_data jsonb,
    output_data jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (created_at);
DO $$
BEGIN
    EXECUTE format('CREATE TABLE seed_misleading_2001 PARTITION OF seed FOR VALUES FROM (%L) TO (%L)',
                   date_trunc('day', now(), 'UTC') + interval '12 hours',
                   date_trunc('day', now(), 'UTC') + interval '36 hours');
END $$;
SELECT action, count(*) FROM ai_scale.manage_partitions('seed', '1 day', 2, time_zone => 'UTC') GROUP BY 1;
-- Contiguous from today 00:00 to 3 days ahead: the half days either side, then whole days.
SELECT partition::text ~ '^seed_' AS named, upper::timestamptz - lower::timestamptz AS span, tier
  FROM ai_scale.partitions('seed');
SELECT bool_and(lower = lag) AS contiguous FROM (
    SELECT lower, lag(upper) OVER (ORDER BY lower::timestamptz) FROM ai_scale.partitions('seed')
     WHERE tier = 'hot') s WHERE lag IS NOT NULL;

-- timestamp (without time zone) and date keys; monthly and yearly steps.
CREATE TABLE events_ts (id int, at timestamp NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('events_ts', '1 month', 2);
SELECT bool_and(extract(day FROM lower::timestamp) = 1 AND lower::timestamp::time = '00:00')
  FROM ai_scale.partitions('events_ts') WHERE tier = 'hot';
CREATE TABLE events_date (id int, d date NOT NULL) PARTITION BY RANGE (d);
SELECT count(*) FROM ai_scale.manage_partitions('events_date', '1 year', 1);
SELECT bool_and(extract(month FROM lower::date) = 1 AND extract(day FROM lower::date) = 1)
           AS january_firsts,
       bool_and(partition::text ~ '^events_date_\d{4}$') AS named_by_year
  FROM ai_scale.partitions('events_date') WHERE tier = 'hot';
-- Weekly partitions start on Monday.
CREATE TABLE weekly (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('weekly', '1 week', 1);
SELECT bool_and(extract(isodow FROM lower::timestamptz AT TIME ZONE 'UTC') = 1) AS mondays
  FROM ai_scale.partitions('weekly') WHERE tier = 'hot';
-- Steps of several units count from 2000-01-01 (weeks from Monday 2000-01-03, months from
-- January 2000), whatever today is.
CREATE TABLE steps_2d (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('steps_2d', '2 days', 1, time_zone => 'UTC');
SELECT bool_and(((lower::timestamptz AT TIME ZONE 'UTC')::date - date '2000-01-01') % 2 = 0)
           AS from_2000
  FROM ai_scale.partitions('steps_2d') WHERE tier = 'hot';
CREATE TABLE steps_2w (d date NOT NULL) PARTITION BY RANGE (d);
SELECT count(*) FROM ai_scale.manage_partitions('steps_2w', '2 weeks', 1);
SELECT bool_and((lower::date - date '2000-01-03') % 14 = 0) AS from_monday_2000
  FROM ai_scale.partitions('steps_2w') WHERE tier = 'hot';
CREATE TABLE steps_5m (d date NOT NULL) PARTITION BY RANGE (d);
SELECT count(*) FROM ai_scale.manage_partitions('steps_5m', '5 months', 1);
SELECT bool_and(((extract(year FROM lower::date) - 2000) * 12
                 + extract(month FROM lower::date) - 1)::int % 5 = 0
                AND extract(day FROM lower::date) = 1) AS from_january_2000
  FROM ai_scale.partitions('steps_5m') WHERE tier = 'hot';
DROP TABLE steps_2d, steps_2w, steps_5m;

-- A name already taken (here by tables that are no partitions, and by a type, which a table's
-- row type needs the name of) gets a number after it.
CREATE TABLE taken (d date NOT NULL) PARTITION BY RANGE (d);
CREATE TABLE taken_default (x int);
CREATE TABLE taken_20200105 (x int);
CREATE TABLE taken_20200105_1 (x int);
CREATE TYPE taken_20200105_2 AS ENUM ('a');
SELECT count(*) FROM ai_scale.manage_partitions('taken', '1 day', 0);
INSERT INTO taken VALUES ('2020-01-05');
SELECT partition, rows_moved FROM ai_scale.rescue_default('taken');
SELECT partition, tier FROM ai_scale.partitions('taken')
 WHERE tier = 'default' OR lower::date < '2021-01-01';
DROP TABLE taken, taken_default, taken_20200105, taken_20200105_1;
DROP TYPE taken_20200105_2;
-- A type of the very name a partition would have, and no table of it: the name after it.
-- Only tables were looked for there, and CREATE TABLE failed on the type at every run.
CREATE TABLE typed (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE DOMAIN typed_20200105 AS int;
SELECT count(*) FROM ai_scale.manage_partitions('typed', '1 day', 0);
INSERT INTO typed VALUES ('2020-01-05');
SELECT partition, rows_moved FROM ai_scale.rescue_default('typed');
DROP TABLE typed;
DROP DOMAIN typed_20200105;

-- A name that needs quoting, 63 bytes long: partition names keep their suffix and fit.
CREATE TABLE "Quoted ""Name"" with spaces and CAPITALS padded to sixty-three by" (
    at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT octet_length(relname) FROM pg_class WHERE relname LIKE 'Quoted%';
SELECT count(*) FROM ai_scale.manage_partitions('"Quoted ""Name"" with spaces and CAPITALS padded to sixty-three by"', '1 day', 1);
SELECT (SELECT octet_length(relname) FROM pg_class WHERE oid = partition) AS bytes,
       partition::text ~ '_(\d{8}|default)"$' AS suffixed
  FROM ai_scale.partitions('"Quoted ""Name"" with spaces and CAPITALS padded to sixty-three by"');
INSERT INTO "Quoted ""Name"" with spaces and CAPITALS padded to sixty-three by" VALUES (now());
SELECT * FROM ai_scale.check_default('"Quoted ""Name"" with spaces and CAPITALS padded to sixty-three by"');
-- The name's suffix is never shortened; one too long to leave room for the table's name is
-- refused rather than looped on, as a name too long (42622): anyone may call this helper.
SELECT ai_scale._partition_name('public', 'taken', repeat('s', 48)) AS longest_suffix;
SELECT ai_scale._partition_name('public', 'taken', repeat('s', 49));
\set VERBOSITY sqlstate
SELECT ai_scale._partition_name('public', 'taken', repeat('s', 49));
\set VERBOSITY default

-- Boundaries follow local midnights across DST in the stated zone: the rows of the spring and
-- fall change days in New York are rescued into 23- and 25-hour partitions.
CREATE TABLE ny (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('ny', '1 day', 0, time_zone => 'America/New_York');
INSERT INTO ny VALUES ('2026-03-08 12:00 America/New_York'), ('2026-11-01 12:00 America/New_York');
SET TimeZone = 'America/New_York';
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('ny');
SELECT lower, upper::timestamptz - lower::timestamptz AS length
  FROM ai_scale.partitions('ny') WHERE lower::timestamptz < '2026-11-15' ORDER BY lower::timestamptz;
RESET TimeZone;
-- Called again on a managed table, manage_partitions replaces every setting, an argument left
-- out taking its default again: said, each setting that changed (a NOTICE). A call to raise
-- premake took the retention away and the zone back to UTC without a word.
UPDATE ai_scale.partition_config SET retention = '400 days' WHERE parent = 'ny'::regclass;
SELECT count(*) FROM ai_scale.manage_partitions('ny', '1 day', 2, time_zone => 'America/New_York',
                                                retention => '400 days');
SET client_min_messages = notice;
SELECT count(*) >= 0 AS again FROM ai_scale.manage_partitions('ny', '1 day', 3);
RESET client_min_messages;
SELECT premake, retention, time_zone FROM ai_scale.partition_config WHERE parent = 'ny'::regclass;
-- Hourly cells are local too: 02:00-03:00 on the spring-forward day maps to an empty range of
-- instants, which maintenance skips instead of creating.
SELECT lower, upper FROM ai_scale._cells('1 hour', '2026-03-08 01:30', '2026-03-08 03:30');
SELECT (timestamp '2026-03-08 02:00' AT TIME ZONE 'America/New_York')
     = (timestamp '2026-03-08 03:00' AT TIME ZONE 'America/New_York') AS empty_cell;
-- 15-minute cells that night: every cell starting inside the skipped hour is empty (Postgres
-- would read 02:15 as 07:15 UTC, past the change at 07:00, and the cell would overlap the one
-- from 03:00); the cells around the change are created, meeting at it.
CREATE TABLE spring (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('spring', '15 minutes', 0, time_zone => 'America/New_York');
SET TimeZone = 'UTC';
SELECT c.lower AS local_lower, m.partition IS NOT NULL AS created, m.bounds
  FROM ai_scale._cells('15 minutes', '2026-03-08 01:45', '2026-03-08 03:15') c,
       LATERAL ai_scale._create_partition('spring', 'at', 'timestamptz', 'America/New_York', c.lower,
                                          c.upper, c.suffix, NULL, NULL, false, false) m
 ORDER BY c.lower;
RESET TimeZone;
DROP TABLE spring;

-- Maintenance simulated through DST nights, every 15 minutes for a day, the planner given each
-- moment as now: every cell it asks for is created or found empty, the partitions meet with
-- no gap, and none fails to attach (30-minute changes in Lord Howe, an hour in New York).
CREATE FUNCTION pg_temp.simulate(zone text, step interval, start timestamptz) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    lowers timestamp[];
    uppers timestamp[];
    p record;
    made int := 0;
    gaps bigint;
BEGIN
    CREATE TABLE sim (at timestamptz NOT NULL) PARTITION BY RANGE (at);
    CREATE TABLE sim_default PARTITION OF sim DEFAULT;
    FOR i IN 0 .. 96 LOOP
        SELECT array_agg(b.lower ORDER BY b.lower), array_agg(b.upper ORDER BY b.lower)
          INTO lowers, uppers FROM ai_scale._bounds('sim', zone) b WHERE NOT b.is_default;
        FOR p IN SELECT * FROM ai_scale._plan(step, 3, NULL, 'drop', NULL,
                                              (start + i * interval '15 minutes') AT TIME ZONE zone,
                                              coalesce(lowers, '{}'), coalesce(uppers, '{}'),
                                              array_fill(false, ARRAY[coalesce(cardinality(lowers), 0)]))
                  WHERE action = 'create' LOOP
            made := made + (SELECT count(*) FROM ai_scale._create_partition(
                'sim', 'at', 'timestamptz', zone, p.lower, p.upper, p.suffix, NULL, NULL, false, false) c
                WHERE c.partition IS NOT NULL);
        END LOOP;
    END LOOP;
    SELECT count(*) INTO gaps FROM (
        SELECT b.lower, lag(b.upper) OVER (ORDER BY b.lower) AS previous_upper
          FROM ai_scale._bounds('sim', 'UTC') b WHERE NOT b.is_default) s
     WHERE s.previous_upper <> s.lower;
    DROP TABLE sim;
    RETURN format('%s partitions, %s gaps', made, gaps);
END $$;
SELECT zone, step, start, pg_temp.simulate(zone, step, start) AS result
  FROM (VALUES ('America/New_York', timestamptz '2026-03-07 12:00 UTC'),
               ('America/New_York', timestamptz '2026-10-31 12:00 UTC'),
               ('Australia/Lord_Howe', timestamptz '2026-04-04 00:00 UTC'),
               ('Australia/Lord_Howe', timestamptz '2026-10-03 00:00 UTC')) v(zone, start),
       (VALUES (interval '15 minutes'), (interval '1 hour')) s(step)
 ORDER BY 1, 3, 2;

-- A table without partitions, or with only an empty default, holds no rows: its first
-- partitions are made in place (CREATE TABLE ... PARTITION OF), under a lock on the whole
-- table. Later ones, and those of a table holding rows, are built standalone and attached, so
-- queries on the other partitions go on. An event trigger records which commands ran.
CREATE TABLE ddl_log (n serial, tag text);
CREATE FUNCTION pg_temp.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.ddl_log (tag) SELECT command_tag FROM pg_event_trigger_ddl_commands()
     WHERE object_type = 'table' AND object_identity <> 'public.ddl_log';
END $$;
CREATE TABLE fresh (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE fresh_with_default (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE fresh_with_default_default PARTITION OF fresh_with_default DEFAULT;
CREATE TABLE holding_row (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE holding_row_default PARTITION OF holding_row DEFAULT;
INSERT INTO holding_row VALUES (now());
CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION pg_temp.log_ddl();
SELECT count(*) AS created FROM ai_scale.manage_partitions('fresh', '1 day', 2, time_zone => 'UTC');
SELECT tag, count(*) FROM ddl_log GROUP BY 1 ORDER BY 1;
TRUNCATE ddl_log;
SELECT count(*) AS created FROM ai_scale.manage_partitions('fresh_with_default', '1 day', 2, time_zone => 'UTC');
SELECT tag, count(*) FROM ddl_log GROUP BY 1 ORDER BY 1;
TRUNCATE ddl_log;
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'fresh'::regclass;
SELECT action, count(*) FROM ai_scale.run_maintenance('fresh') GROUP BY 1;
SELECT tag, count(*) FROM ddl_log GROUP BY 1 ORDER BY 1;
TRUNCATE ddl_log;
SELECT action, detail ~ 'moved 1 row\M' AS moved_the_row, count(*)
  FROM ai_scale.manage_partitions('holding_row', '1 day', 2, time_zone => 'UTC') GROUP BY 1, 2;
SELECT tag, count(*) FROM ddl_log GROUP BY 1 ORDER BY 1;
DROP EVENT TRIGGER log_ddl;
-- Both ways the partitions come out the same, indexes included.
CREATE TABLE fresh_indexed (id int, at timestamptz NOT NULL, PRIMARY KEY (id, at))
    PARTITION BY RANGE (at);
CREATE INDEX ON fresh_indexed (at);
SELECT count(*) AS created FROM ai_scale.manage_partitions('fresh_indexed', '1 day', 0, time_zone => 'UTC');
UPDATE ai_scale.partition_config SET premake = 1 WHERE parent = 'fresh_indexed'::regclass;
SELECT count(*) AS created FROM ai_scale.run_maintenance('fresh_indexed');
SELECT i.inhrelid::regclass::text ~ '_default$' AS is_default, count(*) AS partitions,
       min(x.n) AS min_indexes, max(x.n) AS max_indexes
  FROM pg_inherits i,
       LATERAL (SELECT count(*) AS n FROM pg_inherits j WHERE j.inhparent IN
                    (SELECT indexrelid FROM pg_index WHERE indrelid = 'fresh_indexed'::regclass)
                  AND j.inhrelid IN (SELECT indexrelid FROM pg_index WHERE indrelid = i.inhrelid)) x
 WHERE i.inhparent = 'fresh_indexed'::regclass GROUP BY 1 ORDER BY 1;
DROP TABLE ddl_log, fresh, fresh_with_default, holding_row, fresh_indexed;

-- Partitions belong to the parent's owner, not to whoever ran maintenance (here a superuser),
-- both those premade and those a rescue makes.
CREATE ROLE adopt_owner;
CREATE TABLE owned (at timestamptz NOT NULL) PARTITION BY RANGE (at);
ALTER TABLE owned OWNER TO adopt_owner;
-- They are made as the owner (a superuser's maintenance would otherwise run code of the
-- owner's, see partition_owner_rights), who must be allowed to create in the schema.
\set SHOW_CONTEXT never
SELECT count(*) FROM ai_scale.manage_partitions('owned', '1 day', 2, time_zone => 'UTC');
\set SHOW_CONTEXT errors
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'owned'::regclass;
GRANT CREATE ON SCHEMA public TO adopt_owner;
SELECT count(*) > 0 AS created FROM ai_scale.manage_partitions('owned', '1 day', 2, time_zone => 'UTC');
INSERT INTO owned VALUES ('2020-02-02 12:00 UTC');
SELECT count(*) AS rescued FROM ai_scale.rescue_default('owned');
SELECT c.relowner::regrole AS owner, count(*) AS partitions
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'owned'::regclass GROUP BY 1;
-- Maintenance by a role that does not own the table: an error row saying so, nothing made.
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'owned'::regclass;
CREATE ROLE adopt_stranger;
SET ROLE adopt_stranger;
SELECT parent_table, action, partition, detail FROM ai_scale.run_maintenance('owned');
RESET ROLE;
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'owned'::regclass;
-- A role granted writes on partition_config changes only the rows of tables it owns: not
-- another owner's (retention set there would run with the worker's rights), whether
-- registering, changing or removing it.
CREATE ROLE adopt_manager;
GRANT INSERT, UPDATE, DELETE ON ai_scale.partition_config TO adopt_manager;
GRANT CREATE ON SCHEMA public TO adopt_manager;
SET ROLE adopt_manager;
UPDATE ai_scale.partition_config SET retention = '1 day' WHERE parent = 'owned'::regclass;
SELECT ai_scale.unmanage_partitions('owned');
DELETE FROM ai_scale.partition_config WHERE parent = 'owned'::regclass;
CREATE TABLE managers (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE managers_default PARTITION OF managers DEFAULT;
UPDATE ai_scale.partition_config SET parent = 'managers' WHERE parent = 'owned'::regclass;
SELECT count(*) > 0 AS created FROM ai_scale.manage_partitions('managers', '1 day', 1, time_zone => 'UTC');
UPDATE ai_scale.partition_config SET premake = 2 WHERE parent = 'managers'::regclass;
-- Nor a row naming no table (an OID whose table was dropped, or that none has had): the next
-- table made with that OID, another role's, would be maintained with its settings (retention).
-- Nor one naming a temporary table, which goes at the end of its session without the DROP that
-- would forget its row.
CREATE TABLE gone_soon (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT 'gone_soon'::regclass::oid AS gone_soon \gset
DROP TABLE gone_soon;
SELECT regexp_replace(pg_temp.try(format(
    $$INSERT INTO ai_scale.partition_config (parent, partition_interval, premake, retention)
      VALUES (%s, '1 day', 0, '1 day')$$, :gone_soon)), 'OID [0-9]+', 'OID N') AS insert_gone;
SELECT regexp_replace(pg_temp.try(format(
    $$UPDATE ai_scale.partition_config SET parent = %s WHERE parent = 'managers'::regclass$$,
    :gone_soon)), 'OID [0-9]+', 'OID N') AS update_gone;
CREATE TEMPORARY TABLE managers_temp (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.try($$INSERT INTO ai_scale.partition_config (parent, partition_interval, premake)
                     VALUES ('managers_temp', '1 day', 0)$$) AS insert_temporary;
SELECT pg_temp.try($$UPDATE ai_scale.partition_config SET parent = 'managers_temp'
                      WHERE parent = 'managers'::regclass$$) AS update_temporary;
DROP TABLE managers_temp;
RESET ROLE;
SET ROLE adopt_stranger;
\set SHOW_CONTEXT never
SELECT count(*) > 0 AS created FROM ai_scale.manage_partitions('managers', '1 day', 3, time_zone => 'UTC');
\set SHOW_CONTEXT errors
RESET ROLE;
SELECT parent, premake, retention FROM ai_scale.partition_config
 WHERE parent IN ('owned'::regclass, 'managers'::regclass) ORDER BY parent::text;
-- The owner, who may drop the table, drops its config row with it, through the event trigger,
-- without a right on partition_config; and a role with none can drop anything of its own.
ALTER TABLE managers OWNER TO adopt_stranger;
GRANT CREATE ON SCHEMA public TO adopt_stranger;
SET ROLE adopt_stranger;
DROP TABLE managers;
CREATE TABLE scratch (a int, b int);
ALTER TABLE scratch DROP COLUMN b;
DROP TABLE scratch;
RESET ROLE;
SELECT count(*) AS managers_rows FROM ai_scale.partition_config WHERE parent::text = 'managers';
-- Dropping a column of a managed table is not dropping the table: it stays managed.
CREATE TABLE with_junk (at timestamptz NOT NULL, junk int) PARTITION BY RANGE (at);
SELECT count(*) > 0 AS created FROM ai_scale.manage_partitions('with_junk', '1 day', 1, time_zone => 'UTC');
ALTER TABLE with_junk DROP COLUMN junk;
SELECT count(*) AS still_managed FROM ai_scale.partition_config WHERE parent = 'with_junk'::regclass;
DROP TABLE with_junk;
REVOKE CREATE ON SCHEMA public FROM adopt_manager, adopt_stranger, adopt_owner;
REVOKE ALL ON ai_scale.partition_config FROM adopt_manager;
DROP TABLE owned;
DROP ROLE adopt_owner;
DROP ROLE adopt_stranger;
DROP ROLE adopt_manager;

-- inherit_privileges: new partitions (premade, rescued and the default) get the parent's
-- grants, for direct access to a partition; by default they get none (queries through the
-- parent need none).
CREATE ROLE adopt_reader;
CREATE ROLE "Adopt Writer";
CREATE TABLE granted (at timestamptz NOT NULL) PARTITION BY RANGE (at);
GRANT SELECT ON granted TO adopt_reader;
GRANT INSERT, UPDATE ON granted TO "Adopt Writer" WITH GRANT OPTION;
GRANT REFERENCES ON granted TO PUBLIC;
CREATE TABLE plain_grants (at timestamptz NOT NULL) PARTITION BY RANGE (at);
GRANT SELECT ON plain_grants TO adopt_reader;
SELECT count(*) > 0 AS created
  FROM ai_scale.manage_partitions('granted', '1 day', 1, time_zone => 'UTC', inherit_privileges => true);
SELECT count(*) > 0 AS created FROM ai_scale.manage_partitions('plain_grants', '1 day', 1, time_zone => 'UTC');
INSERT INTO granted VALUES ('2020-02-02 12:00 UTC');
SELECT count(*) AS rescued FROM ai_scale.rescue_default('granted');
SELECT i.inhparent::regclass AS parent, count(*) AS partitions,
       count(*) FILTER (WHERE has_table_privilege('adopt_reader', i.inhrelid, 'SELECT')) AS reader_selects,
       count(*) FILTER (WHERE has_table_privilege('Adopt Writer', i.inhrelid, 'INSERT WITH GRANT OPTION'))
         AS writer_grants,
       count(*) FILTER (WHERE has_table_privilege('public', i.inhrelid, 'REFERENCES')) AS public_references
  FROM pg_inherits i
 WHERE i.inhparent IN ('granted'::regclass, 'plain_grants'::regclass)
 GROUP BY 1 ORDER BY i.inhparent::regclass::text;
SELECT parent, inherit_privileges FROM ai_scale.partition_config
 WHERE parent IN ('granted'::regclass, 'plain_grants'::regclass) ORDER BY parent::text;
-- reapply_privileges: every partition gets exactly the parent's grants (here after they changed),
-- returned in name order (the rescued 2020 partition was made last); a table that is not
-- range-partitioned is an error.
REVOKE SELECT ON granted FROM adopt_reader;
GRANT DELETE ON granted TO adopt_reader;
SELECT count(*) AS partitions, bool_and(n = by_name) AS in_name_order
  FROM (SELECT n, rank() OVER (ORDER BY p::text) AS by_name
          FROM ai_scale.reapply_privileges('granted') WITH ORDINALITY AS t(p, n)) r;
SELECT count(*) AS partitions,
       count(*) FILTER (WHERE has_table_privilege('adopt_reader', i.inhrelid, 'SELECT')) AS reader_selects,
       count(*) FILTER (WHERE has_table_privilege('adopt_reader', i.inhrelid, 'DELETE')) AS reader_deletes,
       count(*) FILTER (WHERE has_table_privilege('Adopt Writer', i.inhrelid, 'INSERT WITH GRANT OPTION'))
         AS writer_grants,
       count(*) FILTER (WHERE has_table_privilege('public', i.inhrelid, 'REFERENCES')) AS public_references
  FROM pg_inherits i WHERE i.inhparent = 'granted'::regclass;
-- Only the owner (its members, superusers) may: adopt_reader, who holds SELECT on every
-- partition, is refused (42501) and changes nothing. (Before, its REVOKEs and GRANTs only
-- warned, and the call returned the partitions as if it had reapplied the grants.)
GRANT SELECT ON granted TO adopt_reader;
SELECT count(*) AS partitions FROM ai_scale.reapply_privileges('granted');
REVOKE DELETE ON granted FROM adopt_reader;
SET ROLE adopt_reader;
SELECT pg_temp.try($$SELECT ai_scale.reapply_privileges('granted')$$);
RESET ROLE;
SELECT count(*) FILTER (WHERE has_table_privilege('adopt_reader', i.inhrelid, 'SELECT')) AS reader_selects,
       count(*) FILTER (WHERE has_table_privilege('adopt_reader', i.inhrelid, 'DELETE')) AS reader_deletes
  FROM pg_inherits i WHERE i.inhparent = 'granted'::regclass;
-- So is the owner, for a partition of another role's whose rights it lacks (42501, with the
-- ALTER TABLE that gives the partition to it): holding SELECT on it, its GRANTs and REVOKEs
-- there only warned, and the call returned the partition as done.
CREATE ROLE adopt_parent_owner;
CREATE ROLE adopt_part_owner;
CREATE TABLE reapplied (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE reapplied_2020 PARTITION OF reapplied
    FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2021-01-01 00:00+00');
ALTER TABLE reapplied OWNER TO adopt_parent_owner;
ALTER TABLE reapplied_2020 OWNER TO adopt_part_owner;
GRANT SELECT ON reapplied_2020 TO adopt_parent_owner;
GRANT SELECT ON reapplied TO adopt_reader;
SET ROLE adopt_parent_owner;
\set SHOW_CONTEXT never
SELECT * FROM ai_scale.reapply_privileges('reapplied');
\set SHOW_CONTEXT errors
RESET ROLE;
SELECT has_table_privilege('adopt_reader', 'reapplied_2020', 'SELECT') AS reader_selects_partition;
DROP TABLE reapplied;
DROP ROLE adopt_parent_owner, adopt_part_owner;
CREATE TABLE not_partitioned (at timestamptz);
SELECT * FROM ai_scale.reapply_privileges('not_partitioned');
DROP TABLE not_partitioned;
DROP TABLE granted, plain_grants;
DROP ROLE adopt_reader;
DROP ROLE "Adopt Writer";

DROP TABLE seed, events_ts, events_date, weekly, ny,
           "Quoted ""Name"" with spaces and CAPITALS padded to sixty-three by";
SELECT count(*) FROM ai_scale.partition_config WHERE parent::text NOT LIKE '%model_predictions';

-- A partition bounded at an end of the timestamp range, where the instant has no local time
-- in the table's zone (4714-11-24 00:00 BC UTC is the evening before in New York; the last
-- hour of 294276 UTC is the next year in Tokyo): the bound reads as the first or the last local
-- time. Both stopped every run of the table with 22008, "timestamp out of range", naming
-- neither the partition nor the bound.
SET TimeZone = 'UTC';
CREATE TABLE range_ends (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE range_ends_first PARTITION OF range_ends
    FOR VALUES FROM ('4714-11-24 00:00 UTC BC') TO ('2000-01-01 00:00 UTC');
CREATE TABLE range_ends_last PARTITION OF range_ends
    FOR VALUES FROM ('2200-01-01 00:00 UTC') TO ('294276-12-31 23:00 UTC');
SELECT partition, lower, upper, upper_first_pass
  FROM ai_scale._bounds('range_ends', 'America/New_York') WHERE NOT is_default;
SELECT partition, lower, upper, upper_first_pass
  FROM ai_scale._bounds('range_ends', 'Asia/Tokyo') WHERE NOT is_default;
-- Retention drops the first (it ended in 2000); the last is kept.
SELECT action, count(*) FROM ai_scale.manage_partitions('range_ends', '1 month', 2,
    retention => '1 year', time_zone => 'America/New_York') GROUP BY action ORDER BY action;
SELECT action, count(*) FROM ai_scale.run_maintenance('range_ends') GROUP BY action;
UPDATE ai_scale.partition_config SET time_zone = 'Asia/Tokyo' WHERE parent = 'range_ends'::regclass;
SELECT action, count(*) FROM ai_scale.run_maintenance('range_ends')
 WHERE action <> 'created' GROUP BY action;
SELECT relname FROM pg_class WHERE relname IN ('range_ends_first', 'range_ends_last');
DROP TABLE range_ends;
RESET TimeZone;
-- A date key's bound past the last timestamp (dates go on to 5874897 AD): read as the last
-- local time too. It stopped manage_partitions, every run, rescue_default and partitions() of
-- the table with 22008, "date out of range for timestamp".
CREATE TABLE far_dates (id int, d date NOT NULL) PARTITION BY RANGE (d);
CREATE TABLE far_dates_far PARTITION OF far_dates FOR VALUES FROM ('3000-01-01') TO ('300000-01-01');
CREATE TABLE far_dates_farther PARTITION OF far_dates FOR VALUES FROM ('300000-01-01') TO ('400000-01-01');
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('far_dates', '1 day', 1);
SELECT partition, lower, upper FROM ai_scale.partitions('far_dates')
 WHERE partition::text LIKE 'far_dates_far%';
INSERT INTO far_dates VALUES (1, '2001-02-03');
SELECT * FROM ai_scale.rescue_default('far_dates');
SELECT count(*) AS errors FROM ai_scale.run_maintenance('far_dates') WHERE action = 'error';
DROP TABLE far_dates;
-- manage_partitions' NOTICE of changed settings: none at the first call, none for a zone
-- written in other letters, none for inherit_privileges given as NULL (stored as false).
SET client_min_messages = notice;
CREATE TABLE noted (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) >= 0 AS first FROM ai_scale.manage_partitions('noted', '1 day', 1, time_zone => 'UTC');
SELECT count(*) >= 0 AS again FROM ai_scale.manage_partitions('noted', '1 day', 1, time_zone => 'utc');
SELECT count(*) >= 0 AS again FROM ai_scale.manage_partitions('noted', '1 day', 1, time_zone => 'UTC',
                                                              inherit_privileges => NULL);
RESET client_min_messages;
DROP TABLE noted;
