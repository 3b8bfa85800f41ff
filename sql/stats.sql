-- The stats view lists every metric, section by section (l1, l2, l3, scoring, maintenance),
-- each section's counts before its latency rows; reset_stats() zeroes them.
SELECT section, metric FROM ai_scale.stats;

SELECT ai_scale.reset_stats();
SELECT count(*) FILTER (WHERE value <> 0) AS nonzero_after_reset,
       count(*) FILTER (WHERE value IS NULL OR value < 0) AS invalid
FROM ai_scale.stats;

-- Anyone may read the view; only superusers (or those granted it) may reset it.
CREATE ROLE ai_scale_stats_reader;
SET ROLE ai_scale_stats_reader;
SELECT count(*) > 0 AS can_read FROM ai_scale.stats;
SELECT ai_scale.reset_stats();
RESET ROLE;
DROP ROLE ai_scale_stats_reader;

-- score() of one row times one call in 32 and counts its rows in the backend: the view shows
-- this session's own rows at once, other sessions' from the end of each of their transactions.
SELECT ai_scale.register_model('stats_lin', 'linear', ARRAY['a'], '{"weights": [2], "bias": 1}');
SELECT ai_scale.reset_stats();
BEGIN;
SELECT sum(ai_scale.score('stats_lin', jsonb_build_object('a', i))) FROM generate_series(1, 100) i;
SELECT value AS rows_in_transaction FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_cpu';
SELECT sum(ai_scale.score('stats_lin', jsonb_build_object('a', i))) FROM generate_series(1, 50) i;
COMMIT;
-- A new session (this backend exits) sees the 150 rows the old one committed.
\c
SELECT metric, value FROM ai_scale.stats
 WHERE section = 'scoring' AND metric = 'rows_cpu';
SELECT value BETWEEN 1 AND 149 AS some_calls_timed FROM ai_scale.stats
 WHERE section = 'scoring' AND metric = 'samples';
-- The timed calls' time is in cpu_ms and their latency in p50_ms and p99_ms: a sample of a
-- nanosecond or more lands in a bucket whose bound is above zero, whatever the machine.
SELECT max(value) FILTER (WHERE metric = 'cpu_ms') > 0 AS cpu_time_counted,
       max(value) FILTER (WHERE metric = 'p50_ms') > 0 AS p50_above_zero,
       max(value) FILTER (WHERE metric = 'p99_ms') >= max(value) FILTER (WHERE metric = 'p50_ms')
         AS p99_at_least_p50
FROM ai_scale.stats WHERE section = 'scoring';
-- A rolled back transaction's rows were scored all the same.
BEGIN;
SELECT ai_scale.score('stats_lin', '{"a": 1}');
ROLLBACK;
\c
SELECT value AS rows_after_rollback FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_cpu';
-- reset_stats() also drops what this session had counted and not yet added.
SELECT ai_scale.score('stats_lin', '{"a": 1}') FROM generate_series(1, 3);
BEGIN;
SELECT ai_scale.score('stats_lin', '{"a": 1}');
SELECT ai_scale.reset_stats();
COMMIT;
SELECT value AS rows_after_reset FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_cpu';
SELECT ai_scale.drop_model('stats_lin');

-- L1 lookups are counted the same way: hits and misses per backend, one lookup in 32 timed.
SELECT ai_scale.cache_put('stats_l1', 1, '{"x": 1}', '{"y": 2}');
SELECT ai_scale.reset_stats();
SELECT count(*) FILTER (WHERE ai_scale.cache_get('stats_l1', 1, '{"x": 1}') = '{"y": 2}') AS got
FROM generate_series(1, 100);
SELECT metric, value FROM ai_scale.stats WHERE section = 'l1' AND metric IN ('hits', 'misses')
ORDER BY metric;
SELECT value BETWEEN 1 AND 99 AS some_lookups_timed FROM ai_scale.stats
 WHERE section = 'l1' AND metric = 'samples';
SELECT max(value) FILTER (WHERE metric = 'p50_ms') > 0 AS p50_above_zero,
       max(value) FILTER (WHERE metric = 'p99_ms') >= max(value) FILTER (WHERE metric = 'p50_ms')
         AS p99_at_least_p50
FROM ai_scale.stats WHERE section = 'l1';
-- Each backend starts sampling at a phase of its own: forty sessions of one lookup each are
-- not all timed (when every backend timed its first lookup, cold, they were: samples were as
-- many as the lookups, and p50 that of a cold lookup).
SELECT ai_scale.reset_stats();
\o /dev/null
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\c
SELECT ai_scale.cache_get('stats_l1', 1, '{"x": 1}');
\o
SELECT metric, value FROM ai_scale.stats WHERE section = 'l1' AND metric IN ('hits', 'misses')
ORDER BY metric;
SELECT value < 20 AS not_every_first_lookup_timed FROM ai_scale.stats
 WHERE section = 'l1' AND metric = 'samples';
SELECT ai_scale.cache_invalidate('stats_l1');
