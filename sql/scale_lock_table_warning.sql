-- A query reading every partition of a table (no condition on the key that prunes at planning)
-- locks each partition and each of its indexes, and the lock table is sized for
-- max_locks_per_transaction times the server's processes and prepared transactions: 5120 on
-- the test server (64 times 80). Past that, such queries fail with out of shared memory, and
-- so does pg_dump (docs/partitioning.md, Many partitions). manage_partitions warns when the
-- table will keep at its retention more partitions than that allows, and goes on. (The
-- warnings of a table that has them already, and of a run that made partitions past it:
-- test/tap/232_partition_lock_table_warning.pl.)
CREATE TABLE "Lock Table" (id int, "At" timestamptz NOT NULL) PARTITION BY RANGE ("At");
CREATE INDEX ON "Lock Table" (id);
SELECT * FROM ai_scale._lock_demand('"Lock Table"', NULL);
SELECT * FROM ai_scale._lock_demand('"Lock Table"', 100);
-- A count of partitions kept below 0 is refused; one whose locks pass int64 needs them all.
SELECT * FROM ai_scale._lock_demand('"Lock Table"', -5);
SELECT * FROM ai_scale._lock_demand('"Lock Table"', 9223372036854775807);
-- A null parent is refused, not counted as a table with no partitions (kept or not).
SELECT * FROM ai_scale._lock_demand(NULL, NULL);
SELECT * FROM ai_scale._lock_demand(NULL, 5);
-- Ten years of daily partitions: 3,653, with the 7 premade, the current one and the default
-- 3,662, and 7,324 locks. Warned, and managed all the same.
SELECT count(*) AS created
  FROM ai_scale.manage_partitions('"Lock Table"', '1 day', 7, '10 years', time_zone => 'UTC');
SELECT partition_interval, premake, retention, retention_mode
  FROM ai_scale.partition_config WHERE parent = '"Lock Table"'::regclass;
-- Detached rather than dropped, the same.
SELECT count(*) AS created
  FROM ai_scale.manage_partitions('"Lock Table"', '1 day', 7, '10 years', 'detach',
                                  time_zone => 'UTC');
-- Five years: 1,836 partitions, 3,672 locks. No warning.
SELECT count(*) AS created
  FROM ai_scale.manage_partitions('"Lock Table"', '1 day', 7, '5 years', time_zone => 'UTC');
-- With another index, 5,508 locks: warned.
CREATE INDEX ON "Lock Table" ("At");
SELECT count(*) AS created
  FROM ai_scale.manage_partitions('"Lock Table"', '1 day', 7, '5 years', time_zone => 'UTC');
-- Without retention, only the partitions there are count (9): no warning.
SELECT count(*) AS created
  FROM ai_scale.manage_partitions('"Lock Table"', '1 day', 7, time_zone => 'UTC');
DROP TABLE "Lock Table";
