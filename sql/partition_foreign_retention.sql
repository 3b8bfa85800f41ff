-- Foreign partitions past retention or cold_after. DROP TABLE refuses a foreign table, and
-- SET TABLESPACE has nothing to move in one: with retention_mode 'drop' every run reported
-- "use DROP FOREIGN TABLE" for it, and with cold_after (or retention_mode 'tier') every run
-- reported an error trying to move it. It is dropped with DROP FOREIGN TABLE (as DROP TABLE of
-- its parent drops it; its rows stay on the foreign server), and never offered for tiering.
SET client_min_messages = warning;
SET allow_in_place_tablespaces = on;
-- A wrapper without a handler (no contrib module needed; the assert build has none): nothing
-- here may read the foreign tables.
CREATE FOREIGN DATA WRAPPER foreign_retention_fdw;
CREATE SERVER foreign_retention_server FOREIGN DATA WRAPPER foreign_retention_fdw;

-- Drop mode: the foreign partition is dropped, the detail says what became of its rows, and a
-- second run has nothing left to do. The server stays.
CREATE TABLE frd (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('frd', '1 day', 1, retention => '30 days');
CREATE FOREIGN TABLE frd_2020 PARTITION OF frd
    FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00') SERVER foreign_retention_server;
CREATE TABLE frd_2021 PARTITION OF frd FOR VALUES FROM ('2021-01-01 00:00+00') TO ('2021-01-02 00:00+00');
SELECT action, partition, detail FROM ai_scale.run_maintenance('frd')
 WHERE action <> 'created' ORDER BY partition;
SELECT action, partition, detail FROM ai_scale.run_maintenance('frd') WHERE action <> 'created';
SELECT to_regclass('frd_2020') AS foreign_partition, to_regclass('frd_2021') AS plain_partition;
SELECT count(*) AS servers FROM pg_foreign_server WHERE srvname = 'foreign_retention_server';

-- Detach mode: detached, as before; it stays a foreign table of the server.
CREATE TABLE frx (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('frx', '1 day', 1, retention => '30 days',
                                  retention_mode => 'detach');
CREATE FOREIGN TABLE frx_2020 PARTITION OF frx
    FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00') SERVER foreign_retention_server;
SELECT action, partition, detail FROM ai_scale.run_maintenance('frx') WHERE action <> 'created';
SELECT c.relkind, c.relispartition FROM pg_class c WHERE c.oid = 'frx_2020'::regclass;

-- Tiering: the plain partition is moved to the cold tablespace, the foreign one is not a
-- candidate (no error, no skipped row), at this run and the next; with retention_mode 'tier'
-- (tiering at the retention) too.
CREATE TABLESPACE foreign_retention_cold LOCATION '';
CREATE TABLE frt (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('frt', '1 day', 1, cold_after => '7 days',
                                  cold_tablespace => 'foreign_retention_cold');
CREATE FOREIGN TABLE frt_2020 PARTITION OF frt
    FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00') SERVER foreign_retention_server;
CREATE TABLE frt_2021 PARTITION OF frt FOR VALUES FROM ('2021-01-01 00:00+00') TO ('2021-01-02 00:00+00');
SELECT action, partition, detail FROM ai_scale.run_maintenance('frt') WHERE action <> 'created';
SELECT action, partition, detail FROM ai_scale.run_maintenance('frt') WHERE action <> 'created';
-- partitions() shows it as foreign, in no tablespace of this server (it said hot, in the
-- database's default tablespace).
SELECT partition, tier, tablespace FROM ai_scale.partitions('frt')
 WHERE partition IN ('frt_2020'::regclass, 'frt_2021'::regclass);
UPDATE ai_scale.partition_config
   SET cold_after = NULL, retention = '7 days', retention_mode = 'tier'
 WHERE parent = 'frt'::regclass;
CREATE TABLE frt_2022 PARTITION OF frt FOR VALUES FROM ('2022-01-01 00:00+00') TO ('2022-01-02 00:00+00');
SELECT action, partition, detail FROM ai_scale.run_maintenance('frt') WHERE action <> 'created';
SELECT action, partition, detail FROM ai_scale.run_maintenance('frt') WHERE action <> 'created';

-- A partition partitioned itself, with a foreign partition of its own: its plain partitions
-- are moved, the foreign one is left as it is.
CREATE TABLE frt_2023 PARTITION OF frt
    FOR VALUES FROM ('2023-01-01 00:00+00') TO ('2023-01-03 00:00+00') PARTITION BY RANGE (at);
CREATE TABLE frt_2023_a PARTITION OF frt_2023
    FOR VALUES FROM ('2023-01-01 00:00+00') TO ('2023-01-02 00:00+00');
CREATE FOREIGN TABLE frt_2023_b PARTITION OF frt_2023
    FOR VALUES FROM ('2023-01-02 00:00+00') TO ('2023-01-03 00:00+00') SERVER foreign_retention_server;
SELECT action, partition, detail FROM ai_scale.run_maintenance('frt') WHERE action <> 'created';
SELECT c.relname, coalesce(t.spcname, 'default') AS tablespace
  FROM pg_class c LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
 WHERE c.relname LIKE 'frt\_2023%' ORDER BY c.relname;

-- A foreign table the worker detached to drop and did not drop yet, marked as it marks one
-- (COMMENT ON FOREIGN TABLE): unmanage_partitions keeps it, unmarked, as it does a plain one.
CREATE TABLE fru (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('fru', '1 day', 1, retention => '30 days');
CREATE FOREIGN TABLE fru_2020 (id int, at timestamptz NOT NULL) SERVER foreign_retention_server;
DO $$ BEGIN
    EXECUTE format('COMMENT ON FOREIGN TABLE fru_2020 IS %L',
                   ai_scale._owed_drop_note('fru', '30 days'));
END $$;
SELECT ai_scale.unmanage_partitions('fru');
SELECT obj_description('fru_2020'::regclass, 'pg_class') IS NULL AS unmarked;

DROP TABLE frd, frx, frt, fru;
DROP FOREIGN TABLE fru_2020;
DROP FOREIGN TABLE frx_2020;
DROP TABLESPACE foreign_retention_cold;
DROP SERVER foreign_retention_server CASCADE;
DROP FOREIGN DATA WRAPPER foreign_retention_fdw;
