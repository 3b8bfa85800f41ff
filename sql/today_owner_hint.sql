-- A run whose owner lacks a right that making partitions needs reports an error row that says
-- which rights maintenance needs (it acts as the table's owner): CREATE on the schema, and on
-- the tablespace of a table that has one. The hint was never added: the error's missing hint
-- reads as '' (not NULL) in PL/pgSQL.
SET client_min_messages = warning;
CREATE ROLE hint_owner;
GRANT CREATE ON SCHEMA public TO hint_owner;
CREATE TABLE hinted (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
ALTER TABLE hinted OWNER TO hint_owner;
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('hinted', '1 day', 1);
-- The right to create in the schema taken away: the next partitions cannot be made.
REVOKE CREATE ON SCHEMA public FROM hint_owner;
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'hinted'::regclass;
SELECT action, partition, detail FROM ai_scale.run_maintenance('hinted');
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'hinted'::regclass;
GRANT CREATE ON SCHEMA public TO hint_owner;
SELECT count(*) AS created FROM ai_scale.run_maintenance('hinted') WHERE action = 'created';
DROP TABLE hinted;
REVOKE CREATE ON SCHEMA public FROM hint_owner;
DROP ROLE hint_owner;
RESET client_min_messages;
