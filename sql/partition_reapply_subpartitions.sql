-- reapply_privileges gives the parent's grants to every partition at every level: the
-- partitions of a partition partitioned itself, where its rows are, kept theirs before, and a
-- role revoked on the parent still read their rows directly.
SET client_min_messages = warning;
CREATE ROLE reapply_sub_reader;
CREATE TABLE reapply_sub (id int, kind text, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE reapply_sub_2001 PARTITION OF reapply_sub
    FOR VALUES FROM ('2001-01-01') TO ('2002-01-01') PARTITION BY LIST (kind);
CREATE TABLE reapply_sub_2001_a PARTITION OF reapply_sub_2001 FOR VALUES IN ('a');
CREATE TABLE reapply_sub_2001_rest PARTITION OF reapply_sub_2001 DEFAULT;
INSERT INTO reapply_sub VALUES (1, 'a', '2001-05-05'), (2, 'b', '2001-06-06');
GRANT SELECT ON reapply_sub, reapply_sub_2001, reapply_sub_2001_a, reapply_sub_2001_rest
    TO reapply_sub_reader;
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('reapply_sub', '1 year', 1);
REVOKE SELECT ON reapply_sub FROM reapply_sub_reader;
-- Every level, the direct partitions first, each level in name order.
SELECT p FROM ai_scale.reapply_privileges('reapply_sub') p
 WHERE p::text LIKE 'reapply_sub_2001%';
SELECT t.relid, t.level,
       has_table_privilege('reapply_sub_reader', t.relid, 'SELECT') AS reader_selects
  FROM pg_partition_tree('reapply_sub') t WHERE t.relid::text LIKE 'reapply_sub_2001%'
 ORDER BY t.level, t.relid::text;
SET ROLE reapply_sub_reader;
SELECT count(*) FROM reapply_sub_2001_rest;
RESET ROLE;
-- A grant on the parent reaches them too.
GRANT SELECT ON reapply_sub TO reapply_sub_reader;
SELECT count(*) AS partitions FROM ai_scale.reapply_privileges('reapply_sub');
SET ROLE reapply_sub_reader;
SELECT count(*) FROM reapply_sub_2001_rest;
RESET ROLE;
DROP TABLE reapply_sub;
DROP ROLE reapply_sub_reader;
