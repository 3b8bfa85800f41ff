-- Time-range partition management: the prediction store, adoption of existing range-partitioned
-- tables, and maintenance (premake, retention by drop / detach / tier, rescue of default rows).
-- Which ranges to touch is decided by the C++ planner (src/partition/planner.cpp, behind
-- ai_scale._plan); bounds are read from pg_class.relpartbound (ai_scale._bounds), never from
-- partition names. The DDL in these files runs with a short lock_timeout so that it never queues
-- readers and writers behind a long-running query: a lock it cannot get is reported as skipped
-- and retried on the next run.
--
-- The partition component is install/20_partition_*.sql (what its DDL shares: this file, the
-- catalog reads, the checks of a table, the lock table's demand, maintenance's locks and what
-- held them, moves out of the default partition, names, the owner's rights, a run's report,
-- time and bounds) and 21_partition_create.sql to 24_partition_api.sql (the DDL itself).
--
-- This file: the config table, the checks of its values, and a table's row of it.

CREATE TABLE ai_scale.partition_config (
    parent             regclass    PRIMARY KEY,
    partition_interval interval    NOT NULL,
    premake            int         NOT NULL,
    retention          interval,
    retention_mode     text        NOT NULL DEFAULT 'drop'
                                   CHECK (retention_mode IN ('drop', 'detach', 'tier')),
    cold_after         interval,
    cold_tablespace    name,
    time_zone          text        NOT NULL,
    rescue_batch_rows  int         NOT NULL DEFAULT 10000 CHECK (rescue_batch_rows > 0),
    managed_since      timestamptz NOT NULL DEFAULT now(),
    inherit_privileges boolean     NOT NULL DEFAULT false
);
COMMENT ON TABLE ai_scale.partition_config IS
    'tables whose partitions ai_scale maintains; one row per partitioned table';
SELECT pg_catalog.pg_extension_config_dump('ai_scale.partition_config', '');

CREATE FUNCTION ai_scale._check_config(partition_interval interval, premake int,
                                       retention interval, retention_mode text,
                                       cold_after interval)
    RETURNS void LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_check_config';

-- 22023 unless zone can align a table's partitions: a tz database name or POSIX spec, not an
-- abbreviation (which each session reads through its own timezone_abbreviations).
CREATE FUNCTION ai_scale._check_time_zone(zone text) RETURNS void
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_check_time_zone';

-- 22023 unless partition_interval is whole days (or months), as a date key needs: manage_partitions
-- refuses another, and a run or a rescue refuses one an UPDATE of partition_config wrote, where
-- they made empty ranges (42P17) or partitions of one and two days by turns, named by hours.
CREATE FUNCTION ai_scale._check_date_interval(partition_interval interval, key_column name)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF partition_interval <> date_trunc('day', partition_interval) THEN
        RAISE EXCEPTION 'partition_interval % is not whole days, as the date key "%" needs',
                        partition_interval, key_column
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use days, weeks, months or years for a date key (''1 day'', not '
                         '''24 hours'').';
    END IF;
END $$;

CREATE FUNCTION ai_scale._config(parent regclass) RETURNS ai_scale.partition_config
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cfg ai_scale.partition_config;
BEGIN
    IF parent IS NULL THEN -- not "table <NULL> is not managed by ai_scale"
        RAISE EXCEPTION 'parent must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO cfg FROM ai_scale.partition_config c WHERE c.parent = _config.parent;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = _config.parent) THEN
        RAISE EXCEPTION 'relation with OID % does not exist', parent::oid -- as _partition_key
            USING ERRCODE = 'undefined_table';
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not managed by ai_scale', parent
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Call ai_scale.manage_partitions first.';
    END IF;
    RETURN cfg;
END $$;
