-- A run drops, detaches or moves at most 100 partitions of a table, oldest first; the next runs
-- take the others. Each keeps its locks until the run's transaction ends: a table with
-- thousands of partitions past retention (3,000 hourly ones, retention set afterwards) made
-- every run fail on the lock table ("out of shared memory"), dropping none, run after run.
SET client_min_messages = warning;
CREATE TABLE rb (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
DO $$
BEGIN
    FOR d IN 0..129 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF rb FOR VALUES FROM (%L) TO (%L)',
                       'rb_old' || d,
                       make_timestamptz(2020, 1, 1, 0, 0, 0, 'UTC') + d * interval '1 day',
                       make_timestamptz(2020, 1, 1, 0, 0, 0, 'UTC') + (d + 1) * interval '1 day');
    END LOOP;
END $$;
-- Adopting it drops the 100 oldest (rb_old0 to rb_old99).
SELECT action, count(*), min(partition COLLATE "C"), max(partition COLLATE "C")
  FROM ai_scale.manage_partitions('rb', '1 day', 1, '1 year', time_zone => 'UTC')
 WHERE action <> 'created' GROUP BY action ORDER BY action;
SELECT count(*) AS old_left FROM pg_class WHERE relname LIKE 'rb_old%';
-- The next run drops the other 30 (rb_old100 to rb_old129), and the one after has nothing to do.
SELECT action, count(*), min(partition COLLATE "C"), max(partition COLLATE "C")
  FROM ai_scale.run_maintenance('rb') WHERE action <> 'created' GROUP BY action ORDER BY action;
SELECT count(*) AS old_left FROM pg_class WHERE relname LIKE 'rb_old%';
SELECT count(*) AS actions FROM ai_scale.run_maintenance('rb') WHERE action <> 'created';
DROP TABLE rb;
