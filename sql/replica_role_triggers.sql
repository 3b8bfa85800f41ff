-- The extension's own triggers fire whatever session_replication_role says: with it set to
-- replica (a logical replication apply worker, a replication tool's session, a DBA loading
-- data) Postgres fires only triggers enabled ALWAYS or REPLICA. Before, with replica:
-- a managed table dropped left its partition_config row behind (the sql_drop event trigger),
-- a role granted INSERT on partition_config could register a table it does not own (the
-- owner check), a change of ai_scale.models left backends scoring with the model compiled
-- before it (models_changed), and a version row written to the catalog did not make what the
-- cache held under its number unreachable (models_inserted).
SET client_min_messages = warning;
\i sql/include/try.sql
-- The sql_drop event trigger forgets a managed table dropped under replica.
CREATE TABLE replica_gone (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('replica_gone', '1 day', 1);
SET session_replication_role = replica;
DROP TABLE replica_gone;
RESET session_replication_role;
SELECT count(*) AS rows_left FROM ai_scale.partition_config c
 WHERE NOT EXISTS (SELECT FROM pg_class r WHERE r.oid = c.parent);
-- The owner check holds for a role granted INSERT on partition_config.
CREATE ROLE replica_tenant;
GRANT INSERT ON ai_scale.partition_config TO replica_tenant;
CREATE TABLE replica_others (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SET session_replication_role = replica;
SET ROLE replica_tenant;
SELECT pg_temp.try($$INSERT INTO ai_scale.partition_config (parent, partition_interval, premake, time_zone)
                     VALUES ('replica_others', '1 day', 1, 'UTC')$$);
RESET ROLE;
RESET session_replication_role;
SELECT count(*) FROM ai_scale.partition_config WHERE parent = 'replica_others'::regclass;
DROP TABLE replica_others;
REVOKE ALL ON ai_scale.partition_config FROM replica_tenant;
DROP ROLE replica_tenant;
-- A change of the catalog makes this backend compile the model again.
SELECT ai_scale.register_model('replica_m', 'linear', ARRAY['a'], '{"weights": [1]}');
SELECT ai_scale.score('replica_m', '{"a": 2}');
SET session_replication_role = replica;
UPDATE ai_scale.models SET params = '{"weights": [10]}' WHERE model_name = 'replica_m';
RESET session_replication_role;
SELECT ai_scale.score('replica_m', '{"a": 2}');
-- A version row written directly makes the cache's entries under its number unreachable.
SELECT ai_scale.cache_put('replica_n', 1, '{"a": 2}', '{"score": 99}');
SELECT ai_scale.cache_get('replica_n', 1, '{"a": 2}') AS before_insert;
SET session_replication_role = replica;
INSERT INTO ai_scale.models (model_name, model_version, kind, features, params, active)
VALUES ('replica_n', 1, 'linear', ARRAY['a'], '{"weights": [1]}', true);
RESET session_replication_role;
SELECT ai_scale.cache_get('replica_n', 1, '{"a": 2}') AS after_insert;
SELECT ai_scale.drop_model('replica_m');
SELECT ai_scale.drop_model('replica_n');
