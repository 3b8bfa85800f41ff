-- Partitions ai_scale makes get the parent's replica identity when it is FULL or NOTHING:
-- Postgres gives a new partition its default (the primary key, or nothing), and a published
-- store without a key, set to FULL with its partitions, then had every UPDATE and DELETE over
-- it fail (55000, no replica identity) once maintenance had made a partition.
SET client_min_messages = error; -- (CREATE PUBLICATION warns of wal_level)
CREATE TABLE ri_full (id int, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
ALTER TABLE ri_full REPLICA IDENTITY FULL;
CREATE PUBLICATION ri_pub FOR TABLE ri_full WITH (publish_via_partition_root = true);
-- Made while manage_partitions holds the table (CREATE ... PARTITION OF, the default too),
-- then by a run (built, then attached), then by a rescue of a row in the default.
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('ri_full', '1 day', 1, time_zone => 'UTC');
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'ri_full'::regclass;
SELECT count(*) AS made FROM ai_scale.run_maintenance('ri_full') WHERE action = 'created';
INSERT INTO ri_full VALUES (1, now() + interval '30 days'), (2, now());
SELECT count(*) AS rescued FROM ai_scale.rescue_default('ri_full');
SELECT c.relreplident, count(*) AS partitions
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'ri_full'::regclass GROUP BY 1;
-- The same for the partitions of a rescue around the parent (built, then attached), as a
-- publication of inserts alone has it.
ALTER PUBLICATION ri_pub SET (publish = 'insert');
INSERT INTO ri_full VALUES (3, now() + interval '40 days');
SELECT count(*) AS rescued FROM ai_scale.rescue_default('ri_full');
ALTER PUBLICATION ri_pub SET (publish = 'insert, update, delete, truncate');
SELECT c.relreplident, count(*) AS partitions
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'ri_full'::regclass GROUP BY 1;
-- Updates and deletes over every partition go on.
UPDATE ri_full SET id = id + 10;
DELETE FROM ri_full WHERE id = 12;
SELECT id FROM ri_full ORDER BY id;
-- NOTHING alike; a parent with the default identity leaves its partitions theirs.
CREATE TABLE ri_none (id int, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
ALTER TABLE ri_none REPLICA IDENTITY NOTHING;
CREATE TABLE ri_keyed (id int, created_at timestamptz NOT NULL, PRIMARY KEY (id, created_at))
    PARTITION BY RANGE (created_at);
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('ri_none', '1 day', 1);
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('ri_keyed', '1 day', 1);
SELECT i.inhparent::regclass AS parent, c.relreplident, count(*) AS partitions
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent IN ('ri_none'::regclass, 'ri_keyed'::regclass) GROUP BY 1, 2 ORDER BY 1;
-- USING INDEX: each partition's own index of the parent's identity index, once attached (a run
-- builds a partition, then attaches it; a rescue attaches its partitions at the end).
CREATE TABLE ri_idx (id int NOT NULL, created_at timestamptz NOT NULL, v text)
    PARTITION BY RANGE (created_at);
CREATE UNIQUE INDEX ri_idx_key ON ri_idx (id, created_at);
ALTER TABLE ri_idx REPLICA IDENTITY USING INDEX ri_idx_key;
CREATE PUBLICATION ri_idx_pub FOR TABLE ri_idx WITH (publish_via_partition_root = true);
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('ri_idx', '1 day', 1, time_zone => 'UTC');
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'ri_idx'::regclass;
SELECT count(*) AS made FROM ai_scale.run_maintenance('ri_idx') WHERE action = 'created';
INSERT INTO ri_idx VALUES (1, now() + interval '30 days'), (2, now()), (3, now() - interval '30 days');
SELECT count(*) AS rescued FROM ai_scale.rescue_default('ri_idx');
-- And a rescue around the parent, as a publication of inserts alone has it.
ALTER PUBLICATION ri_idx_pub SET (publish = 'insert');
INSERT INTO ri_idx VALUES (4, now() + interval '40 days');
SELECT count(*) AS rescued FROM ai_scale.rescue_default('ri_idx');
ALTER PUBLICATION ri_idx_pub SET (publish = 'insert, update, delete, truncate');
SELECT c.relreplident, count(*) AS partitions,
       count(*) FILTER (WHERE h.inhparent = 'ri_idx_key'::regclass) AS identity_of_the_key
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  LEFT JOIN pg_index x ON x.indrelid = c.oid AND x.indisreplident
  LEFT JOIN pg_inherits h ON h.inhrelid = x.indexrelid
 WHERE i.inhparent = 'ri_idx'::regclass GROUP BY 1;
UPDATE ri_idx SET v = 'x';
DELETE FROM ri_idx WHERE id = 2;
SELECT id, v FROM ri_idx ORDER BY id;
DROP PUBLICATION ri_pub, ri_idx_pub;
DROP TABLE ri_full, ri_none, ri_keyed, ri_idx;
