-- A maintenance run of a table whose owner may no longer create in the table's schema (its
-- CREATE revoked after manage_partitions) reports an error row that says what to grant: the
-- run acts as the owner. The hint was never given: PL/pgSQL reads the missing hint of
-- "permission denied for schema" as '', and the run added its own only for NULL.
SET client_min_messages = warning;
CREATE ROLE nonsuper_hint_owner;
CREATE SCHEMA nonsuper_hint;
GRANT USAGE, CREATE ON SCHEMA nonsuper_hint TO nonsuper_hint_owner;
GRANT INSERT, UPDATE, DELETE ON ai_scale.partition_config TO nonsuper_hint_owner;
SET ROLE nonsuper_hint_owner;
CREATE TABLE nonsuper_hint.events (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('nonsuper_hint.events', '1 day', 1, time_zone => 'UTC');
RESET ROLE;
REVOKE CREATE ON SCHEMA nonsuper_hint FROM nonsuper_hint_owner;
SET ROLE nonsuper_hint_owner;
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'nonsuper_hint.events'::regclass;
-- The owner's run, and a superuser's (the worker's by default) alike.
SELECT action, partition, detail FROM ai_scale.run_maintenance('nonsuper_hint.events');
RESET ROLE;
SELECT action, partition, detail FROM ai_scale.run_maintenance('nonsuper_hint.events');
-- rescue_default (and rescue_default_proc, through it) makes partitions as the owner too: a
-- caller who may create in the schema (here a superuser; a member of the owner's role alike)
-- was told only "permission denied for schema", as if it were about them.
INSERT INTO nonsuper_hint.events VALUES (1, '2022-03-01 12:00 UTC');
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT * FROM ai_scale.rescue_default('nonsuper_hint.events');
CALL ai_scale.rescue_default_proc('nonsuper_hint.events');
\set VERBOSITY terse
SELECT * FROM ai_scale.check_default('nonsuper_hint.events');
GRANT CREATE ON SCHEMA nonsuper_hint TO nonsuper_hint_owner;
SET ROLE nonsuper_hint_owner;
SELECT partition, rows_moved FROM ai_scale.rescue_default('nonsuper_hint.events');
SELECT count(*) AS made FROM ai_scale.run_maintenance('nonsuper_hint.events') WHERE action = 'created';
-- A run whose default_tablespace names a tablespace the owner may not create in (the table has
-- none of its own, so its partitions go there): the hint gives that GRANT (it gave none).
RESET ROLE;
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE nonsuper_hint_space LOCATION '';
SET default_tablespace = nonsuper_hint_space;
UPDATE ai_scale.partition_config SET premake = 5 WHERE parent = 'nonsuper_hint.events'::regclass;
SELECT action, partition, detail FROM ai_scale.run_maintenance('nonsuper_hint.events');
-- Nor when the table has a tablespace of its own, which the owner may use: its partitions'
-- indexes go where default_tablespace says all the same (the run had no hint then either).
RESET default_tablespace;
CREATE TABLESPACE nonsuper_hint_own LOCATION '';
GRANT CREATE ON TABLESPACE nonsuper_hint_own TO nonsuper_hint_owner;
ALTER TABLE nonsuper_hint.events SET TABLESPACE nonsuper_hint_own;
CREATE INDEX ON nonsuper_hint.events (id);
SET default_tablespace = nonsuper_hint_space;
SELECT action, partition, detail FROM ai_scale.run_maintenance('nonsuper_hint.events');
RESET default_tablespace;
-- Nor when an index of the table has a tablespace of its own that the owner may not use: each
-- new partition's copy of it goes there (the run gave no hint).
CREATE INDEX events_at_elsewhere ON nonsuper_hint.events (at) TABLESPACE nonsuper_hint_space;
SELECT action, partition, detail FROM ai_scale.run_maintenance('nonsuper_hint.events');
GRANT CREATE ON TABLESPACE nonsuper_hint_space TO nonsuper_hint_owner;
SELECT count(*) AS made FROM ai_scale.run_maintenance('nonsuper_hint.events') WHERE action = 'created';
DROP TABLE nonsuper_hint.events;
DROP TABLESPACE nonsuper_hint_space;
DROP TABLESPACE nonsuper_hint_own;
-- Partitions of another role's than the table's owner: pg_partman makes them as the role that
-- runs it (a superuser, often). Every run reads the default as the owner, and failed with
-- "permission denied for table", hinted at the owner's CREATE rights, which it had.
CREATE TABLE nonsuper_hint.taken (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
ALTER TABLE nonsuper_hint.taken OWNER TO nonsuper_hint_owner;
CREATE TABLE nonsuper_hint.taken_p2020_01_01 PARTITION OF nonsuper_hint.taken
    FOR VALUES FROM ('2020-01-01 00:00 UTC') TO ('2020-01-02 00:00 UTC');
CREATE TABLE nonsuper_hint.taken_default PARTITION OF nonsuper_hint.taken DEFAULT;
CREATE ROLE nonsuper_hint_partman; -- the role pg_partman ran as
ALTER TABLE nonsuper_hint.taken_p2020_01_01 OWNER TO nonsuper_hint_partman;
ALTER TABLE nonsuper_hint.taken_default OWNER TO nonsuper_hint_partman;
\set VERBOSITY default
SELECT count(*) FROM ai_scale.manage_partitions('nonsuper_hint.taken', '1 day', 1,
                                                time_zone => 'UTC');
SELECT * FROM ai_scale.check_default('nonsuper_hint.taken');
\set VERBOSITY terse
ALTER TABLE nonsuper_hint.taken_default OWNER TO nonsuper_hint_owner;
ALTER TABLE nonsuper_hint.taken_p2020_01_01 OWNER TO nonsuper_hint_owner;
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('nonsuper_hint.taken', '1 day', 1, time_zone => 'UTC');
-- A partition given to that role after, past retention: the table's whole run fails, naming
-- it (maintenance acting as the owner would run that role's code on it with the owner's
-- rights: partition_owner_trust).
ALTER TABLE nonsuper_hint.taken_p2020_01_01 OWNER TO nonsuper_hint_partman;
UPDATE ai_scale.partition_config SET retention = '30 days'
 WHERE parent = 'nonsuper_hint.taken'::regclass;
SELECT action, partition, detail FROM ai_scale.run_maintenance('nonsuper_hint.taken');
ALTER TABLE nonsuper_hint.taken_p2020_01_01 OWNER TO nonsuper_hint_owner;
SELECT action, partition FROM ai_scale.run_maintenance('nonsuper_hint.taken');
-- rescue_default, for a default given to another role later.
ALTER TABLE nonsuper_hint.taken_default OWNER TO nonsuper_hint_partman;
INSERT INTO nonsuper_hint.taken VALUES (1, '2021-06-01 12:00 UTC');
\set VERBOSITY default
SELECT * FROM ai_scale.rescue_default('nonsuper_hint.taken');
\set VERBOSITY terse
-- A run of it when the owner may not create in the schema either: what failed it is that
-- default, read first, and its hint names that (it named the schema's grant, and once that was
-- given the run failed the same).
REVOKE CREATE ON SCHEMA nonsuper_hint FROM nonsuper_hint_owner;
SELECT action, detail FROM ai_scale.run_maintenance('nonsuper_hint.taken');
GRANT CREATE ON SCHEMA nonsuper_hint TO nonsuper_hint_owner;
-- Seven partitions of that role's: check_default's hint gives the ALTER of each of the first
-- five and says how many there are (it gave the default's alone, under a detail that counted
-- them all).
DO $$
BEGIN
    FOR d IN 1..6 LOOP
        EXECUTE format('CREATE TABLE nonsuper_hint.taken_p2019_01_0%s PARTITION OF '
                       'nonsuper_hint.taken FOR VALUES FROM (%L) TO (%L)', d,
                       make_timestamptz(2019, 1, d, 0, 0, 0, 'UTC'),
                       make_timestamptz(2019, 1, d + 1, 0, 0, 0, 'UTC'));
        EXECUTE format('ALTER TABLE nonsuper_hint.taken_p2019_01_0%s OWNER TO '
                       'nonsuper_hint_partman', d);
    END LOOP;
END $$;
\set VERBOSITY default
SELECT * FROM ai_scale.check_default('nonsuper_hint.taken');
\set VERBOSITY terse
ALTER TABLE nonsuper_hint.taken_default OWNER TO nonsuper_hint_owner;
-- A run by a role that is not a member of the owner's (a maintenance_role not granted it) says
-- which GRANT would let it.
CREATE ROLE nonsuper_hint_maint;
GRANT USAGE ON SCHEMA nonsuper_hint TO nonsuper_hint_maint;
SET ROLE nonsuper_hint_maint;
SELECT action, partition, detail FROM ai_scale.run_maintenance('nonsuper_hint.taken');
-- Of a table a superuser owns, no GRANT of that superuser, which would make the role one.
RESET ROLE;
ALTER TABLE nonsuper_hint.taken OWNER TO CURRENT_USER;
SET ROLE nonsuper_hint_maint;
SELECT action, partition, regexp_replace(detail, 'owner is \S+\)', 'owner is the superuser)') AS detail
  FROM ai_scale.run_maintenance('nonsuper_hint.taken');
RESET ROLE;
REVOKE USAGE ON SCHEMA nonsuper_hint FROM nonsuper_hint_maint;
DROP ROLE nonsuper_hint_maint;
DROP TABLE nonsuper_hint.taken;
DROP ROLE nonsuper_hint_partman;
REVOKE ALL ON ai_scale.partition_config FROM nonsuper_hint_owner;
DROP SCHEMA nonsuper_hint;
DROP ROLE nonsuper_hint_owner;
