-- unmanage_partitions drops the index on the key that rescue_default_proc builds on the default
-- partition (<default>_rescue_key, marked by its comment), as an interrupted procedure leaves it
-- (here built the way the procedure builds it, and left). Its next call or a maintenance run
-- dropped it before, but neither looks at an unmanaged table: it stayed on the default for good,
-- maintained by every insert there.
SET client_min_messages = warning;
CREATE TABLE unmanage_idx (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('unmanage_idx', '1 day', premake => 1);
INSERT INTO unmanage_idx SELECT g, now() - interval '20 days' - g * interval '1 minute'
  FROM generate_series(1, 300) g;
SELECT ai_scale._make_rescue_index('unmanage_idx', 100) AS built;
SELECT indexrelid::regclass AS rescue_index FROM pg_index
 WHERE indrelid = 'unmanage_idx_default'::regclass;
SELECT ai_scale.unmanage_partitions('unmanage_idx');
SELECT count(*) AS indexes_on_default FROM pg_index
 WHERE indrelid = 'unmanage_idx_default'::regclass;
-- The rows stay where they were.
SELECT count(*) AS rows_in_default FROM unmanage_idx_default;
DROP TABLE unmanage_idx;
