-- A backend keeps the heap a large answer used (src/pg/kept_heap.hpp). Written out as text, the
-- 100 values of 1 kB below take blocks of 128 kB and more, which glibc, at its starting
-- thresholds, gave back to the system after each call and faulted in again at the next: about
-- 100 page faults a call. Counted with this backend's minor page faults (Linux's /proc), not
-- with time. A new session, so that nothing before raised glibc's thresholds.
\c
\i sql/include/faults.sql
SELECT count(ai_scale.cache_put('kept_heap', 1, jsonb_build_object('id', i),
                                jsonb_build_object('blob', repeat('x', 1000))))
FROM generate_series(1, 100) i;
CREATE TEMP TABLE inputs AS
    SELECT array_agg(jsonb_build_object('id', i) ORDER BY i) AS a FROM generate_series(1, 100) i;
-- The first call takes its pages, whatever it keeps.
SELECT length(ai_scale.cache_get_many('kept_heap', 1, a)::text) AS text_length FROM inputs;
CREATE TEMP TABLE before AS SELECT pg_temp.faults() AS faults;
-- Twenty more, each answer written out and freed before the next.
SELECT count(*) AS calls, min(length(ai_scale.cache_get_many('kept_heap', 1, a)::text)) AS text_length
FROM inputs, generate_series(1, 20);
SELECT pg_temp.faults() - faults < 200 AS under_10_faults_a_call FROM before;

-- The same for one large value: cache_get of a 200 kB output.
SELECT ai_scale.cache_put('kept_heap', 2, '{"id": 1}', jsonb_build_object('blob', repeat('y', 200000)));
SELECT length(ai_scale.cache_get('kept_heap', 2, '{"id": 1}')::text) AS text_length;
UPDATE before SET faults = pg_temp.faults();
SELECT count(*) AS calls, min(length(ai_scale.cache_get('kept_heap', 2, '{"id": 1}')::text)) AS text_length
FROM generate_series(1, 20);
SELECT pg_temp.faults() - faults < 200 AS under_10_faults_a_call FROM before;
