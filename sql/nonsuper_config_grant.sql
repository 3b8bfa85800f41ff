-- A role that owns its table but was not granted writes on ai_scale.partition_config (only
-- its owner, the superuser who created the extension, may write it by default) is told what
-- to ask for, before anything is made. It used to get Postgres's bare "permission denied for
-- table partition_config" from the INSERT at the end of manage_partitions, after the default
-- partition was made (and from inside manage_partitions for create_prediction_store).
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE nonsuper_grant_owner;
CREATE SCHEMA nonsuper_grant AUTHORIZATION nonsuper_grant_owner;
SET ROLE nonsuper_grant_owner;
CREATE TABLE nonsuper_grant.events (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT * FROM ai_scale.manage_partitions('nonsuper_grant.events', '1 day', 1);
SELECT ai_scale.create_prediction_store('nonsuper_grant.preds');
-- Nothing was made: no default partition, no store.
SELECT count(*) AS partitions FROM pg_inherits
 WHERE inhparent = 'nonsuper_grant.events'::regclass;
SELECT to_regclass('nonsuper_grant.preds') AS store;
-- Granted only INSERT, the upsert's UPDATE is missing: named alone.
RESET ROLE;
GRANT INSERT ON ai_scale.partition_config TO nonsuper_grant_owner;
SET ROLE nonsuper_grant_owner;
SELECT * FROM ai_scale.manage_partitions('nonsuper_grant.events', '1 day', 1);
-- With the grant the hint gives, both work; unmanage_partitions needs DELETE.
RESET ROLE;
GRANT UPDATE ON ai_scale.partition_config TO nonsuper_grant_owner;
SET ROLE nonsuper_grant_owner;
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('nonsuper_grant.events', '1 day', 1, time_zone => 'UTC');
SELECT ai_scale.create_prediction_store('nonsuper_grant.preds', premake => 1);
SELECT ai_scale.unmanage_partitions('nonsuper_grant.events');
RESET ROLE;
GRANT DELETE ON ai_scale.partition_config TO nonsuper_grant_owner;
SET ROLE nonsuper_grant_owner;
SELECT ai_scale.unmanage_partitions('nonsuper_grant.events');
SELECT parent FROM ai_scale.partition_config WHERE parent::text LIKE 'nonsuper_grant.%';
DROP TABLE nonsuper_grant.events, nonsuper_grant.preds;
RESET ROLE;
REVOKE ALL ON ai_scale.partition_config FROM nonsuper_grant_owner;
DROP SCHEMA nonsuper_grant;
DROP ROLE nonsuper_grant_owner;
