-- levels(): hits and misses per cache level from the stats view, one row per level.
-- Shared by the cache regression tests (\i sql/include/levels.sql).
CREATE FUNCTION pg_temp.levels() RETURNS TABLE (level text, hits float8, misses float8)
LANGUAGE sql AS $$
    SELECT section, max(value) FILTER (WHERE metric = 'hits'), max(value) FILTER (WHERE metric = 'misses')
    FROM ai_scale.stats WHERE section IN ('l1', 'l2', 'l3') AND metric IN ('hits', 'misses')
    GROUP BY section ORDER BY section
$$;
