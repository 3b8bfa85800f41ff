-- Shared counters and latency histograms (needs shared_preload_libraries).

CREATE FUNCTION ai_scale.stats_snapshot(OUT section text, OUT metric text, OUT value float8)
    RETURNS SETOF record
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_stats_snapshot';
COMMENT ON FUNCTION ai_scale.stats_snapshot() IS
    'the counters and latency percentiles the stats view shows, one row per section and metric';

-- In the function's order (section by section), which the ORDER BY keeps through any plan.
CREATE VIEW ai_scale.stats AS
    SELECT s.section, s.metric, s.value
      FROM ai_scale.stats_snapshot() WITH ORDINALITY AS s(section, metric, value, n)
     ORDER BY s.n;
COMMENT ON VIEW ai_scale.stats IS
    'cache hits, misses and latency per level, Redis errors and breaker trips, rows scored, maintenance runs';

CREATE FUNCTION ai_scale.reset_stats() RETURNS void
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_reset_stats';
REVOKE ALL ON FUNCTION ai_scale.reset_stats() FROM PUBLIC;
COMMENT ON FUNCTION ai_scale.reset_stats() IS
    'zeroes every counter and latency histogram of the stats view';

GRANT USAGE ON SCHEMA ai_scale TO PUBLIC;
GRANT SELECT ON ai_scale.stats TO PUBLIC;
