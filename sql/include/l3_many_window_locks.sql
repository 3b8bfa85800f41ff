-- For sql/cache_l3_partitions.sql, once before and once after an ANALYZE of its store: a
-- cache_get, then (after eight batches, past the five custom plans) a cache_get_many, each in a
-- transaction that then counts the store's partitions it locked: today's (and tomorrow's
-- within cache_ttl of midnight), not all 121 and the default.
CREATE FUNCTION pg_temp.partitions_locked() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
     WHERE l.pid = pg_backend_pid() AND c.relkind = 'r' AND c.relname LIKE 'l3\_many\_%'
$$;
BEGIN;
SELECT ai_scale.cache_get('l3_many', 1, '{"f": 9}') AS answer;
SELECT pg_temp.partitions_locked() BETWEEN 1 AND 2 AS window_partitions_only;
COMMIT;
-- The same for a batch (one query for all the inputs the other levels missed).
SELECT count(ai_scale.cache_get_many('l3_many', 1, ARRAY[jsonb_build_object('f', g), '{"f": 20}'])) AS batches
  FROM generate_series(1, 8) g;
BEGIN;
SELECT ai_scale.cache_get_many('l3_many', 1, ARRAY['{"f": 1}', '{"f": 21}']::jsonb[]) AS answers;
SELECT pg_temp.partitions_locked() BETWEEN 1 AND 2 AS window_partitions_only;
COMMIT;
