-- ai_scale._count_maintenance is executable by every role (run_maintenance calls it as its
-- caller). A negative count, which no run makes, wrapped the cluster's shared maintenance
-- counters to about 1.8e19 for any role (reset_stats is not granted to PUBLIC): refused.
SET client_min_messages = warning;
CREATE ROLE security_counter_role;
CREATE TEMP TABLE counters_before AS
    SELECT metric, value FROM ai_scale.stats WHERE section = 'maintenance';
GRANT SELECT ON counters_before TO security_counter_role;
SET ROLE security_counter_role;
SELECT ai_scale._count_maintenance(-1, 0, 0);
SELECT ai_scale._count_maintenance(0, -2147483648, 0);
SELECT ai_scale._count_maintenance(0, 0, -1);
-- (The maintenance worker may add a run or two meanwhile.)
SELECT s.metric, s.value - b.value BETWEEN 0 AND 1000 AS not_wrapped
  FROM ai_scale.stats s JOIN counters_before b USING (metric)
 WHERE s.section = 'maintenance' ORDER BY s.metric;
RESET ROLE;
DROP TABLE counters_before;
DROP ROLE security_counter_role;
