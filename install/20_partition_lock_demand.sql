-- Partitioning: the locks a query reading every partition of a table takes, against what the
-- lock table is sized for, and the warning when they do not fit (manage_partitions, a run that
-- made partitions). Counted in C (src/partition/lock_demand.cpp).

-- Partitions (kept, or when null those parent has; a null parent is an error), the locks a query
-- reading them all takes (one for each partition and each of its indexes), and what the lock
-- table is sized for (src/partition/lock_demand.cpp).
CREATE FUNCTION ai_scale._lock_demand(parent regclass, kept bigint, OUT partitions bigint,
                                      OUT locks bigint, OUT slots bigint)
    RETURNS record LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_lock_demand';

-- About how many partitions cfg's table keeps at its retention (those it premakes, the current
-- one, those retention keeps, the default); NULL when retention drops or detaches none.
CREATE FUNCTION ai_scale._partitions_kept(cfg ai_scale.partition_config) RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE WHEN cfg.retention IS NOT NULL AND cfg.retention_mode IN ('drop', 'detach')
            THEN cfg.premake + 2 + ceil(extract(epoch FROM cfg.retention)
                                        / extract(epoch FROM cfg.partition_interval))::bigint
       END
$$;

-- A WARNING when a query reading every partition of parent would need more locks than the lock
-- table is sized for: the partitions it has, or kept, the number its retention keeps.
CREATE FUNCTION ai_scale._warn_lock_table(parent regclass, kept bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    d record := ai_scale._lock_demand(parent, kept);
BEGIN
    IF d.locks <= d.slots THEN
        RETURN;
    END IF;
    RAISE WARNING 'a query reading every partition of % would need more locks than the lock '
                  'table is sized for', parent
        USING DETAIL = format('%s %s partitions. A query reading all of them takes %s locks (one '
                              'for each partition and each of its indexes); the lock table is '
                              'sized for %s (max_locks_per_transaction = %s, times %s for the '
                              'server''s processes and prepared transactions).',
                              CASE WHEN kept IS NULL THEN 'The table has'
                                   ELSE 'At its retention the table will keep about' END,
                              d.partitions, d.locks, d.slots,
                              current_setting('max_locks_per_transaction'),
                              d.slots / current_setting('max_locks_per_transaction')::bigint),
              HINT = format('Raise max_locks_per_transaction (it takes a restart), and give '
                            'queries of the table a range on %I that prunes its partitions.',
                            (ai_scale._partition_key(parent)).key_column);
END $$;
