-- reapply_privileges gives every partition the parent's grants and takes away the others, but
-- never the owner's own rights (docs/partitioning.md, Privileges). Run by an owner that is no
-- superuser, twice (the second time over the ACLs the first wrote): the owner can still read
-- and write every partition, and a rescue of the default partition, which reads and deletes its
-- rows, works. Every other test of it ran as a superuser, whom a lost right does not stop.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE ROLE nonsuper_reapply_owner;
CREATE ROLE nonsuper_reapply_reader;
GRANT INSERT, UPDATE, DELETE ON ai_scale.partition_config TO nonsuper_reapply_owner;
CREATE SCHEMA nonsuper_reapply AUTHORIZATION nonsuper_reapply_owner;
SET ROLE nonsuper_reapply_owner;
CREATE TABLE nonsuper_reapply.t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
GRANT SELECT ON nonsuper_reapply.t TO nonsuper_reapply_reader;
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('nonsuper_reapply.t', '1 day', 1, time_zone => 'UTC',
                                  inherit_privileges => true);
SELECT count(*) > 0 AS reapplied FROM ai_scale.reapply_privileges('nonsuper_reapply.t');
SELECT count(*) > 0 AS reapplied_again FROM ai_scale.reapply_privileges('nonsuper_reapply.t');
SELECT count(*) AS partitions,
       bool_and((SELECT bool_and(has_table_privilege('nonsuper_reapply_owner', i.inhrelid, r))
                   FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) r))
           AS owner_keeps_all, -- each right (a list of them says whether any is held)
       bool_and(has_table_privilege('nonsuper_reapply_reader', i.inhrelid, 'SELECT')) AS reader_selects,
       bool_or(has_table_privilege('nonsuper_reapply_reader', i.inhrelid, 'INSERT')) AS reader_inserts
  FROM pg_inherits i WHERE i.inhparent = 'nonsuper_reapply.t'::regclass;
-- A row of five days ago lands in the default partition; the owner's rescue moves it.
INSERT INTO nonsuper_reapply.t VALUES (now() - interval '5 days', 1);
SELECT sum(rows_moved) AS moved FROM ai_scale.rescue_default('nonsuper_reapply.t');
SELECT count(*) AS left_in_default FROM nonsuper_reapply.t_default;
SELECT v FROM nonsuper_reapply.t;
SELECT ai_scale.unmanage_partitions('nonsuper_reapply.t');
DROP TABLE nonsuper_reapply.t;
RESET ROLE;
REVOKE ALL ON ai_scale.partition_config FROM nonsuper_reapply_owner;
DROP SCHEMA nonsuper_reapply;
DROP ROLE nonsuper_reapply_owner, nonsuper_reapply_reader;
