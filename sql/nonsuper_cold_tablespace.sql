-- Partitions are moved to cold_tablespace as the table's owner: manage_partitions refuses (42501,
-- with the GRANT to make) a cold_tablespace the owner may not create in, as it refuses a schema
-- the owner may not create in. Before, it accepted it when no partition was old enough yet,
-- and every maintenance run from then on (the worker's, each naptime) reported an error row.
SET client_min_messages = warning;
\i sql/include/try.sql
SET allow_in_place_tablespaces = true;
CREATE TABLESPACE nonsuper_cold LOCATION '';
CREATE ROLE nonsuper_owner;
GRANT CREATE ON SCHEMA public TO nonsuper_owner;
GRANT INSERT, UPDATE, DELETE ON ai_scale.partition_config TO nonsuper_owner;
SET ROLE nonsuper_owner;
CREATE TABLE nonsuper_events (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
-- The owner itself, and a superuser managing the owner's table, are told alike.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT * FROM ai_scale.manage_partitions('nonsuper_events', '1 day', 1, cold_after => '30 days',
                                         cold_tablespace => 'nonsuper_cold', time_zone => 'UTC');
\set VERBOSITY terse
RESET ROLE;
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('nonsuper_events', '1 day', 1, '30 days', 'tier', cold_tablespace => 'nonsuper_cold', time_zone => 'UTC')$$);
SELECT count(*) AS managed FROM ai_scale.partition_config WHERE parent = 'nonsuper_events'::regclass;
-- The database's default tablespace needs no grant (Postgres asks none to move a table there),
-- for a table whose partitions are made in a tablespace of its own (with none, they are made
-- in the default one, which then cannot be the cold one: partition_errors.sql).
CREATE TABLESPACE nonsuper_hot LOCATION '';
GRANT CREATE ON TABLESPACE nonsuper_hot TO nonsuper_owner;
SET ROLE nonsuper_owner;
CREATE TABLE nonsuper_hot_events (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at)
    TABLESPACE nonsuper_hot;
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('nonsuper_hot_events', '1 day', 1, cold_after => '30 days', cold_tablespace => 'pg_default', time_zone => 'UTC')$$);
DROP TABLE nonsuper_hot_events;
RESET ROLE;
REVOKE CREATE ON TABLESPACE nonsuper_hot FROM nonsuper_owner;
DROP TABLESPACE nonsuper_hot;
-- Once granted, accepted.
GRANT CREATE ON TABLESPACE nonsuper_cold TO nonsuper_owner;
SET ROLE nonsuper_owner;
SELECT pg_temp.try($$SELECT * FROM ai_scale.manage_partitions('nonsuper_events', '1 day', 1, cold_after => '30 days', cold_tablespace => 'nonsuper_cold', time_zone => 'UTC')$$);
SELECT cold_after, cold_tablespace FROM ai_scale.partition_config WHERE parent = 'nonsuper_events'::regclass;
DROP TABLE nonsuper_events;
RESET ROLE;
REVOKE CREATE ON TABLESPACE nonsuper_cold FROM nonsuper_owner;
REVOKE ALL ON ai_scale.partition_config FROM nonsuper_owner;
REVOKE CREATE ON SCHEMA public FROM nonsuper_owner;
DROP ROLE nonsuper_owner;
DROP TABLESPACE nonsuper_cold;
