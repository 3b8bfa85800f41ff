-- A default partition that is a foreign table. Postgres cannot lock one, and a partition made
-- beside a default needs that lock once the table has partitions: manage_partitions made the
-- first ones (Postgres warning that it skipped checking the foreign table's rows) or failed with
-- "could not maintain ...: cannot lock relation" (42809, the reason left out), and every later
-- run reported that error and made no partition. Refused, as a partitioned default is.
SET client_min_messages = warning;
\i sql/include/try.sql
-- A wrapper without a handler (no contrib module needed; the assert build has none): nothing
-- here may read the foreign table.
CREATE FOREIGN DATA WRAPPER foreign_default_fdw;
CREATE SERVER foreign_default_server FOREIGN DATA WRAPPER foreign_default_fdw;

-- Adopting such a table: refused before anything is made.
CREATE TABLE fdef (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE FOREIGN TABLE fdef_default PARTITION OF fdef DEFAULT SERVER foreign_default_server;
SELECT pg_temp.try($$SELECT ai_scale.manage_partitions('fdef', '1 day', 2)$$);
SELECT count(*) AS config_rows FROM ai_scale.partition_config WHERE parent = 'fdef'::regclass;
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'fdef'::regclass;

-- A managed table whose default is replaced by a foreign one afterwards: a run says why it
-- makes no partition, and the rescues refuse it.
CREATE TABLE fdef2 (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('fdef2', '1 day', 1);
ALTER TABLE fdef2 DETACH PARTITION fdef2_default;
CREATE FOREIGN TABLE fdef2_foreign PARTITION OF fdef2 DEFAULT SERVER foreign_default_server;
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'fdef2'::regclass;
SELECT action, partition, detail FROM ai_scale.run_maintenance('fdef2');
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('fdef2')$$);
SELECT pg_temp.try($$CALL ai_scale.rescue_default_proc('fdef2')$$);

DROP TABLE fdef, fdef2, fdef2_default;
DROP SERVER foreign_default_server CASCADE;
DROP FOREIGN DATA WRAPPER foreign_default_fdw;
