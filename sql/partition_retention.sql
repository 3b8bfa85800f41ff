-- Retention by drop, detach and tier; partitions made by hand for 2020 are always expired.
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.old_months(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR m IN 1..3 LOOP
        EXECUTE format('CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                       t::text || '_old' || m, t,
                       make_timestamptz(2020, m, 1, 0, 0, 0, 'UTC'),
                       make_timestamptz(2020, m + 1, 1, 0, 0, 0, 'UTC'));
    END LOOP;
END $$;

CREATE TABLE r_drop (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT pg_temp.old_months('r_drop');
INSERT INTO r_drop VALUES ('2020-02-10', 1);
SELECT action, partition, detail FROM ai_scale.manage_partitions('r_drop', '1 month', 1, '6 months', time_zone => 'UTC')
 WHERE action <> 'created' ORDER BY partition;
SELECT count(*) AS old_left FROM pg_class WHERE relname LIKE 'r_drop_old%';
SELECT count(*) FROM r_drop;

CREATE TABLE r_detach (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.old_months('r_detach');
SELECT action, partition, detail FROM ai_scale.manage_partitions('r_detach', '1 month', 0, '1 year', 'detach', time_zone => 'UTC')
 WHERE action <> 'created' ORDER BY partition;
-- Detached tables remain, as plain tables.
SELECT relname, relispartition FROM pg_class WHERE relname LIKE 'r_detach_old%' ORDER BY 1;

-- Tier mode: partitions older than retention move to the cold tablespace, once.
SET allow_in_place_tablespaces = true;
CREATE TABLESPACE ai_scale_cold LOCATION '';
CREATE TABLE r_tier (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT pg_temp.old_months('r_tier');
SELECT action, partition, detail FROM ai_scale.manage_partitions('r_tier', '1 month', 0, '2 months', 'tier',
       cold_tablespace => 'ai_scale_cold', time_zone => 'UTC')
 WHERE action <> 'created' ORDER BY partition;
SELECT partition, tier, tablespace FROM ai_scale.partitions('r_tier') WHERE partition::text LIKE '%old%';
SELECT count(*) AS second_run FROM ai_scale.run_maintenance('r_tier');

-- A managed table that is dropped leaves no config behind.
DROP TABLE r_drop, r_detach, r_tier, r_detach_old1, r_detach_old2, r_detach_old3;
SELECT count(*) FROM ai_scale.partition_config WHERE parent::text LIKE 'r_%';
DROP TABLESPACE ai_scale_cold;
