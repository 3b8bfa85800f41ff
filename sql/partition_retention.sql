-- Retention by drop, detach and tier; partitions made by hand for 2020 are always expired.
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.old_months(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR m IN 1..3 LOOP
        EXECUTE format('CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                       t::text || '_old' || m, t,
                       make_timestamptz(2020, m, 1, 0, 0, 0, 'UTC'),
                       make_timestamptz(2020, m + 1, 1, 0, 0, 0, 'UTC'));
    END LOOP;
END $$;

CREATE TABLE r_drop (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT pg_temp.old_months('r_drop');
INSERT INTO r_drop VALUES ('2020-02-10', 1);
SELECT action, partition, detail FROM ai_scale.manage_partitions('r_drop', '1 month', 1, '6 months', time_zone => 'UTC')
 WHERE action <> 'created' ORDER BY partition;
SELECT count(*) AS old_left FROM pg_class WHERE relname LIKE 'r_drop_old%';
SELECT count(*) FROM r_drop;

CREATE TABLE r_detach (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.old_months('r_detach');
SELECT action, partition, detail FROM ai_scale.manage_partitions('r_detach', '1 month', 0, '1 year', 'detach', time_zone => 'UTC')
 WHERE action <> 'created' ORDER BY partition;
-- Detached tables remain, as plain tables.
SELECT relname, relispartition FROM pg_class WHERE relname LIKE 'r_detach_old%' ORDER BY 1;

-- Tier mode: partitions older than retention move to the cold tablespace, once.
SET allow_in_place_tablespaces = true;
CREATE TABLESPACE ai_scale_cold LOCATION '';
CREATE TABLE r_tier (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.old_months('r_tier');
SELECT action, partition, detail FROM ai_scale.manage_partitions('r_tier', '1 month', 0, '2 months', 'tier',
       cold_tablespace => 'ai_scale_cold', time_zone => 'UTC')
 WHERE action <> 'created' ORDER BY partition;
SELECT partition, tier, tablespace FROM ai_scale.partitions('r_tier') WHERE partition::text LIKE '%old%';
SELECT count(*) AS second_run FROM ai_scale.run_maintenance('r_tier');
-- Partitions move to the cold tablespace as their owner, who must be allowed to create there:
-- maintenance run by a superuser (the worker, say) does not move them for a role that is not.
CREATE ROLE r_tier_owner;
GRANT CREATE ON SCHEMA public TO r_tier_owner; -- maintenance makes partitions as the owner
CREATE TABLE r_tier_owned (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.old_months('r_tier_owned');
ALTER TABLE r_tier_owned OWNER TO r_tier_owner;
ALTER TABLE r_tier_owned_old1 OWNER TO r_tier_owner;
ALTER TABLE r_tier_owned_old2 OWNER TO r_tier_owner;
ALTER TABLE r_tier_owned_old3 OWNER TO r_tier_owner;
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('r_tier_owned', '1 month', 0, time_zone => 'UTC');
UPDATE ai_scale.partition_config SET retention = '2 months', retention_mode = 'tier',
       cold_tablespace = 'ai_scale_cold' WHERE parent = 'r_tier_owned'::regclass;
-- (One error row for the table, the moves counted in one skipped row, none tried: before, an
-- error row for each partition due.)
SELECT action, partition, detail FROM ai_scale.run_maintenance('r_tier_owned')
 WHERE partition LIKE '%old1' OR partition IS NULL;
GRANT CREATE ON TABLESPACE ai_scale_cold TO r_tier_owner;
SELECT action, partition, detail FROM ai_scale.run_maintenance('r_tier_owned')
 WHERE partition LIKE '%old1';
DROP TABLE r_tier_owned;
REVOKE CREATE ON TABLESPACE ai_scale_cold FROM r_tier_owner;
REVOKE CREATE ON SCHEMA public FROM r_tier_owner;
DROP ROLE r_tier_owner;

-- A parent given a tablespace has its partitions made there, as Postgres places those it makes:
-- the first ones (made in place) and later ones (built standalone, then attached) alike.
CREATE TABLE r_placed (at timestamptz NOT NULL) PARTITION BY RANGE (at) TABLESPACE ai_scale_cold;
SELECT count(*) AS created FROM ai_scale.manage_partitions('r_placed', '1 day', 1, time_zone => 'UTC');
UPDATE ai_scale.partition_config SET premake = 2 WHERE parent = 'r_placed'::regclass;
SELECT action, count(*) FROM ai_scale.run_maintenance('r_placed') GROUP BY 1;
SELECT coalesce(t.spcname, 'pg_default') AS tablespace, count(*) AS partitions
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
 WHERE i.inhparent = 'r_placed'::regclass GROUP BY 1;
DROP TABLE r_placed;

-- Maintenance hands the planner only the partitions near now and past the retention cutoff:
-- _bounds with a window skips the rest (a year ahead, the middle of the past) unconverted, so a
-- run costs the same at any number of partitions; what it must see still gets done: the
-- missing cells near now are made around a partition that exists, the expired ones dropped.
CREATE TABLE r_window (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.old_months('r_window');
-- (UTC's days, as the table's are cut: a day added to a timestamptz in pg_regress's PST8PDT
-- was 23 or 25 hours on the days it changes, and tomorrow's partition then ended an hour off
-- UTC's midnight, where maintenance made a cell of one hour.)
DO $$
DECLARE
    today timestamp := date_trunc('day', now() AT TIME ZONE 'UTC');
BEGIN
    EXECUTE format('CREATE TABLE r_window_tomorrow PARTITION OF r_window FOR VALUES FROM (%L) TO (%L)',
                   (today + interval '1 day') AT TIME ZONE 'UTC',
                   (today + interval '2 days') AT TIME ZONE 'UTC');
    EXECUTE format('CREATE TABLE r_window_far PARTITION OF r_window FOR VALUES FROM (%L) TO (%L)',
                   (today + interval '400 days') AT TIME ZONE 'UTC',
                   (today + interval '401 days') AT TIME ZONE 'UTC');
    EXECUTE format('CREATE TABLE r_window_past PARTITION OF r_window FOR VALUES FROM (%L) TO (%L)',
                   (today - interval '20 days') AT TIME ZONE 'UTC',
                   (today - interval '19 days') AT TIME ZONE 'UTC');
END $$;
SELECT count(*) FROM ai_scale.manage_partitions('r_window', '1 day', 0, time_zone => 'UTC');
UPDATE ai_scale.partition_config SET premake = 3, retention = '30 days' WHERE parent = 'r_window'::regclass;
SELECT regexp_replace(b.partition::text, '_\d{8}$', '_<today>') AS partition, b.is_default
  FROM ai_scale._bounds('r_window', 'UTC', now()::timestamp - interval '1 day',
                        now()::timestamp + interval '5 days', now()::timestamp - interval '30 days') b
 ORDER BY b.lower NULLS LAST;
SELECT action, partition ~ 'r_window_old' AS old, partition LIKE '%tomorrow' AS kept
  FROM ai_scale.run_maintenance('r_window') ORDER BY action, partition;
SELECT count(*) FILTER (WHERE tier = 'hot') AS hot, bool_or(partition::text = 'r_window_far') AS far_kept,
       bool_or(partition::text = 'r_window_past') AS past_kept
  FROM ai_scale.partitions('r_window');
DROP TABLE r_window;

-- A retention step that fails (here a view still uses the expired partition, and the tier's
-- tablespace is gone) is an error row of its own: the partitions the run made stand, the other
-- steps run, and the error is counted.
CREATE TABLE r_fails (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.old_months('r_fails');
SELECT count(*) FROM ai_scale.manage_partitions('r_fails', '1 day', 2, time_zone => 'UTC');
CREATE VIEW r_fails_uses_old AS SELECT * FROM r_fails_old1;
UPDATE ai_scale.partition_config SET retention = '30 days' WHERE parent = 'r_fails'::regclass;
-- The newest partition gone, as if a day had passed: the run has one to make.
CREATE FUNCTION pg_temp.drop_newest(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TABLE %s', (SELECT partition FROM ai_scale.partitions(t)
                                      WHERE tier <> 'default' ORDER BY lower::timestamptz DESC LIMIT 1));
END $$;
SELECT pg_temp.drop_newest('r_fails');
SELECT ai_scale.reset_stats();
SELECT action, regexp_replace(partition, '_\d{8}$', '_<day>') AS partition,
       regexp_replace(detail, 'from .*', 'from <bounds>') AS detail
  FROM ai_scale.run_maintenance('r_fails') ORDER BY action, partition;
SELECT value AS errors FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'errors';
DROP VIEW r_fails_uses_old;
-- A cold tablespace dropped: one error row (42704) and one skipped row, not one per partition.
CREATE TABLESPACE ai_scale_gone LOCATION '';
CREATE TABLE r_fails_tier (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.old_months('r_fails_tier');
SELECT count(*) FROM ai_scale.manage_partitions('r_fails_tier', '1 day', 1, cold_after => '30 days',
                                                cold_tablespace => 'ai_scale_gone', time_zone => 'UTC');
ALTER TABLE r_fails_tier_old1 SET TABLESPACE pg_default;
ALTER TABLE r_fails_tier_old2 SET TABLESPACE pg_default;
ALTER TABLE r_fails_tier_old3 SET TABLESPACE pg_default;
DROP TABLESPACE ai_scale_gone;
SELECT pg_temp.drop_newest('r_fails_tier');
SELECT action, regexp_replace(partition, '_\d{8}$', '_<day>') AS partition,
       regexp_replace(detail, 'from .*', 'from <bounds>') AS detail
  FROM ai_scale.run_maintenance('r_fails_tier') ORDER BY action, partition;
-- Tiering set in partition_config by hand with no tablespace, or with pg_global (both refused by
-- manage_partitions): one error row saying so (22023). With none, it blamed a tablespace ""
-- dropped or renamed; with pg_global, each partition was an error row, at every run.
UPDATE ai_scale.partition_config SET cold_tablespace = NULL WHERE parent = 'r_fails_tier'::regclass;
SELECT action, regexp_replace(partition, '_\d{8}$', '_<day>') AS partition, detail
  FROM ai_scale.run_maintenance('r_fails_tier') ORDER BY action, partition;
UPDATE ai_scale.partition_config SET cold_tablespace = 'pg_global' WHERE parent = 'r_fails_tier'::regclass;
SELECT action, regexp_replace(partition, '_\d{8}$', '_<day>') AS partition, detail
  FROM ai_scale.run_maintenance('r_fails_tier') ORDER BY action, partition;
-- The table moved into its cold tablespace after manage_partitions (which refuses that): the
-- partitions made there are cold from birth. An error row says so, and no move is tried.
CREATE TABLESPACE ai_scale_cold_here LOCATION '';
UPDATE ai_scale.partition_config SET cold_tablespace = 'ai_scale_cold_here' WHERE parent = 'r_fails_tier'::regclass;
ALTER TABLE r_fails_tier SET TABLESPACE ai_scale_cold_here;
SELECT action, regexp_replace(partition, '_\d{8}$', '_<day>') AS partition, detail
  FROM ai_scale.run_maintenance('r_fails_tier') ORDER BY action, partition;
DROP TABLE r_fails, r_fails_tier;
DROP TABLESPACE ai_scale_cold_here;

-- A partition is old enough when its upper bound is at or before now() - retention: the one
-- ending exactly there goes, the one ending a microsecond later stays (days counted in UTC,
-- the table's zone, here as there).
BEGIN;
SET LOCAL TimeZone = 'UTC';
CREATE TABLE r_edge (at timestamptz NOT NULL) PARTITION BY RANGE (at);
DO $$
BEGIN
    EXECUTE format('CREATE TABLE r_edge_at PARTITION OF r_edge FOR VALUES FROM (%L) TO (%L)',
                   now() - interval '2 days', now() - interval '1 day');
    EXECUTE format('CREATE TABLE r_edge_after PARTITION OF r_edge FOR VALUES FROM (%L) TO (%L)',
                   now() - interval '1 day', now() - interval '1 day' + interval '1 microsecond');
END $$;
SELECT action, partition FROM ai_scale.manage_partitions('r_edge', '1 hour', 0, '1 day', time_zone => 'UTC')
 WHERE action <> 'created';
ROLLBACK;

-- A managed table that is dropped leaves no config behind.
DROP TABLE r_drop, r_detach, r_tier, r_detach_old1, r_detach_old2, r_detach_old3;
SELECT count(*) FROM ai_scale.partition_config WHERE parent::text LIKE 'r_%';
DROP TABLESPACE ai_scale_cold;
