-- Partitioning: which tables ai_scale can manage, and where: refusals on a hot standby, of a
-- table not partitioned by range on one time column (_partition_key, which also names that
-- column), of a default partition that is not a plain table, of time partitions inside a time
-- range, and of a table pg_partman maintains too.

CREATE FUNCTION ai_scale._require_primary(what text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF pg_is_in_recovery() THEN
        RAISE EXCEPTION 'cannot run % on a hot standby', what
            USING ERRCODE = 'read_only_sql_transaction',
                  HINT = 'Run it on the primary; its changes reach the standby through WAL.';
    END IF;
END $$;

-- The single range-partition key column of parent and its type, or a clear error.
CREATE FUNCTION ai_scale._partition_key(parent regclass, OUT key_column name,
                                        OUT key_type regtype)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    kind "char";
    strategy "char";
    natts int;
    key_attnum int;
BEGIN
    IF parent IS NULL THEN -- not "table <NULL> is not partitioned"
        RAISE EXCEPTION 'parent must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT c.relkind, p.partstrat, p.partnatts, p.partattrs[0]
      INTO kind, strategy, natts, key_attnum
      FROM pg_class c LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid
     WHERE c.oid = parent;
    -- A regclass can outlive its table (a value kept while the table was dropped): say so, as
    -- Postgres does, rather than "table 16384 is not partitioned".
    IF kind IS NULL THEN
        RAISE EXCEPTION 'relation with OID % does not exist', parent::oid
            USING ERRCODE = 'undefined_table';
    END IF;
    -- (A view, a sequence, an index or a type was called a table not partitioned, with the hint
    -- to make it with PARTITION BY.)
    IF kind NOT IN ('p', 'r', 'f') THEN
        RAISE EXCEPTION '% is not a table', parent
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = format('It is %s.', CASE kind WHEN 'v' THEN 'a view'
                                                         WHEN 'm' THEN 'a materialized view'
                                                         WHEN 'S' THEN 'a sequence'
                                                         WHEN 'i' THEN 'an index'
                                                         WHEN 'I' THEN 'a partitioned index'
                                                         WHEN 'c' THEN 'a composite type'
                                                         WHEN 't' THEN 'a TOAST table'
                                                         ELSE format('of relkind %s', kind) END),
                  HINT = 'Name a table partitioned BY RANGE on a timestamptz, timestamp or date column.';
    END IF;
    IF kind <> 'p' THEN
        RAISE EXCEPTION 'table % is not partitioned', parent
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Create it with PARTITION BY RANGE on a timestamptz, timestamp or date column.';
    END IF;
    IF strategy <> 'r' THEN
        RAISE EXCEPTION 'table % is % partitioned, not by range', parent,
                        CASE strategy WHEN 'l' THEN 'list' ELSE 'hash' END
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'ai_scale manages tables partitioned by RANGE on one time column.';
    END IF;
    IF natts <> 1 OR key_attnum = 0 THEN
        RAISE EXCEPTION 'table % must be partitioned on exactly one column', parent
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Multi-column and expression partition keys are not supported.';
    END IF;
    SELECT a.attname, a.atttypid::regtype INTO key_column, key_type
      FROM pg_attribute a WHERE a.attrelid = parent AND a.attnum = key_attnum;
    IF key_type NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
        RAISE EXCEPTION 'partition key column "%" of % has type %', key_column, parent, key_type
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'The key must be timestamptz, timestamp or date.';
    END IF;
END $$;

-- Refuses a default partition that is partitioned itself: ai_scale reads, moves and counts
-- its rows with statements on it alone (FROM ONLY), which find none in a partitioned table, so
-- its rows went uncounted, and the partitions made over their ranges were refused by Postgres
-- at every run ("updated partition constraint for default partition would be violated").
-- And one that is a foreign table, which Postgres cannot lock.
CREATE FUNCTION ai_scale._require_plain_default(parent regclass, dflt regclass) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    kind "char" := (SELECT c.relkind FROM pg_class c WHERE c.oid = dflt);
BEGIN
    IF kind = 'p' THEN
        RAISE EXCEPTION 'the default partition % of % is partitioned', dflt, parent
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'ai_scale moves rows out of a default partition that is a plain table only.',
                  HINT = 'Detach it, make a plain one (CREATE TABLE ... PARTITION OF ... DEFAULT), '
                         'and insert the detached table''s rows through the table.';
    END IF;
    -- Postgres can neither lock a foreign table nor check its rows when a partition is attached
    -- beside it (it warns that it skipped them): once the table had partitions, every run
    -- failed on "cannot lock relation", making none.
    IF kind = 'f' THEN
        RAISE EXCEPTION 'the default partition % of % is a foreign table', dflt, parent
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'ai_scale moves rows out of a default partition that is a plain table only.',
                  HINT = 'Detach it and make a plain one (CREATE TABLE ... PARTITION OF ... DEFAULT).';
    END IF;
END $$;

-- Refuses a table that is itself a partition (at any depth) of a table partitioned by RANGE on
-- its key column, alone, first or in an expression (time within time): ai_scale does not read
-- the bounds the table has there, and made partitions outside them (premake around now, the
-- default's rows rescued) that could never hold a row. A partition of a table partitioned by
-- LIST or HASH, or by RANGE on other columns (a store list-partitioned by model, each model's
-- table by time), is managed as any table.
CREATE FUNCTION ai_scale._require_not_time_in_time(parent regclass, key_column name)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    outer_table regclass;
BEGIN
    -- The ancestors have the table's column names (Postgres attaches by name); a column in a
    -- key expression depends internally on its table (pg_depend).
    SELECT a.relid INTO outer_table
      FROM pg_partition_ancestors(parent) WITH ORDINALITY a(relid, nearest)
      JOIN pg_partitioned_table p ON p.partrelid = a.relid
     WHERE a.relid <> parent AND p.partstrat = 'r'
       AND EXISTS (SELECT 1 FROM pg_attribute att
                    WHERE att.attrelid = a.relid AND att.attname = key_column
                      AND (att.attnum = ANY (p.partattrs::int2[])
                           OR EXISTS (SELECT 1 FROM pg_depend d
                                       WHERE d.classid = 'pg_class'::regclass
                                         AND d.objid = a.relid AND d.objsubid = att.attnum
                                         AND d.refclassid = 'pg_class'::regclass
                                         AND d.refobjid = a.relid AND d.refobjsubid = 0
                                         AND d.deptype = 'i')))
     ORDER BY a.nearest LIMIT 1;
    IF outer_table IS NOT NULL THEN
        RAISE EXCEPTION 'table % is a partition of %, which is partitioned by range on "%" too',
                        parent, outer_table, key_column
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('Sub-partitioning by time inside a time range is not '
                                  'supported: partitions made by ai_scale would not keep to '
                                  'the bounds %s has in %s, and a row outside them could never '
                                  'reach one.', parent, outer_table),
                  HINT = format('Manage the table %s instead.', outer_table);
    END IF;
END $$;

-- Refuses a table that pg_partman maintains too (a row of its part_config with
-- automatic_maintenance on, which its background worker and its run_maintenance() follow): each
-- would make the partitions of the same ranges under names of its own, and pg_partman's
-- run_maintenance() then fails on the first one ai_scale made ("would overlap partition"), and
-- with it the run of every table it maintains in the database (pg_partman 4.7: one
-- transaction). Only when pg_partman is installed here and the caller may read its part_config.
CREATE FUNCTION ai_scale._require_not_partman(parent regclass) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    part_config regclass;
    qualified text;
    automatic text;
BEGIN
    -- pg_partman's own part_config (a table of the extension, owned by whoever created it), in
    -- a schema the caller may use.
    SELECT c.oid INTO part_config
      FROM pg_extension e
      JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
                      AND d.deptype = 'e' AND d.classid = 'pg_class'::regclass
      JOIN pg_class c ON c.oid = d.objid
     WHERE e.extname = 'pg_partman' AND c.relname = 'part_config' AND c.relkind = 'r';
    IF part_config IS NULL
       OR NOT has_schema_privilege((SELECT c.relnamespace FROM pg_class c
                                     WHERE c.oid = part_config), 'USAGE')
       OR NOT has_table_privilege(part_config, 'SELECT') THEN
        RETURN;
    END IF;
    -- pg_partman names a table schema.table, unquoted.
    SELECT n.nspname || '.' || c.relname INTO qualified
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = parent;
    EXECUTE format('SELECT p.automatic_maintenance FROM %s p WHERE p.parent_table = $1',
                   part_config)
       INTO automatic USING qualified;
    IF automatic IS NOT NULL AND automatic <> 'off' THEN
        RAISE EXCEPTION 'table % is maintained by pg_partman', parent
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Both would make its partitions, each under names of its own, and '
                           'pg_partman''s run_maintenance() then fails on the first partition '
                           'ai_scale made ("would overlap partition"), leaving every table it '
                           'maintains in this database unmaintained.',
                  HINT = format('Stop pg_partman maintaining it first: UPDATE %s SET '
                                'automatic_maintenance = ''off'' WHERE parent_table = %L; (or '
                                'delete the row).', part_config, qualified);
    END IF;
END $$;
