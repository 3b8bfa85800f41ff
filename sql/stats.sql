-- The stats view lists every metric; reset_stats() zeroes them.
SELECT section, metric FROM ai_scale.stats ORDER BY section, metric;

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
