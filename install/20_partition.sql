-- Time-range partition management: the prediction store, adoption of existing range-partitioned
-- tables, and maintenance (premake, retention by drop / detach / tier, rescue of default rows).
-- Which ranges to touch is decided by the C++ planner (src/partition/planner.cpp, behind
-- ai_scale._plan); bounds are read from pg_class.relpartbound (ai_scale._bounds), never from
-- partition names. The DDL below runs with a short lock_timeout so that it never queues
-- readers and writers behind a long-running query: a lock it cannot get is reported as skipped
-- and retried on the next run.

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

-- Internals in C++ (src/partition/sql_functions.cpp).

CREATE FUNCTION ai_scale._check_config(partition_interval interval, premake int,
                                       retention interval, retention_mode text,
                                       cold_after interval)
    RETURNS void LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_check_config';

CREATE FUNCTION ai_scale._plan(partition_interval interval, premake int, retention interval,
                               retention_mode text, cold_after interval, now_local timestamp,
                               lowers timestamp[], uppers timestamp[], cold boolean[],
                               retain_before timestamp DEFAULT NULL,
                               cold_before timestamp DEFAULT NULL,
                               OUT action text, OUT idx int, OUT lower timestamp,
                               OUT upper timestamp, OUT suffix text)
    RETURNS SETOF record LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_plan';

CREATE FUNCTION ai_scale._cells(partition_interval interval, from_local timestamp,
                                to_local timestamp,
                                OUT lower timestamp, OUT upper timestamp, OUT suffix text)
    RETURNS SETOF record LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_cells';

-- Called once per row of the default partition by rescue_default, so it carries no SET clause
-- (that would cost a GUC save and restore per row); it is C and names nothing.
CREATE FUNCTION ai_scale._cell_lower(partition_interval interval, t timestamp) RETURNS timestamp
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ai_scale_partition_cell_lower';

CREATE FUNCTION ai_scale._bounds(parent regclass, zone text,
                                 upper_after timestamp DEFAULT NULL,
                                 lower_before timestamp DEFAULT NULL,
                                 upper_until timestamp DEFAULT NULL,
                                 OUT partition regclass, OUT lower timestamp,
                                 OUT upper timestamp, OUT is_default boolean)
    RETURNS SETOF record LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_bounds';

CREATE FUNCTION ai_scale._detach_pending(parent regclass) RETURNS boolean
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_detach_pending';

CREATE FUNCTION ai_scale._count_maintenance(runs int, actions int, errors int)
    RETURNS void LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_count';

-- Runs one statement as the owner of rel, in a security-restricted operation
-- (src/partition/owner_scope.cpp): the statements that move rows out of a default partition,
-- which fire the table's triggers and rules and evaluate its constraints, domains, generated
-- columns and index expressions with the rights of the owner, never of whoever runs
-- maintenance. Returns the rows processed.
CREATE FUNCTION ai_scale._as_owner(rel regclass, statement text) RETURNS bigint
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_as_owner';

-- The same for a query, returning its rows (the caller names their columns: AS t(...)). A
-- table's whole maintenance runs so (_run_maintenance, rescue_default, check_default): planning
-- any query on the table, and copying its index definitions into a new partition, evaluates
-- the constant parts of its index expressions and predicates, code of the owner's too.
CREATE FUNCTION ai_scale._as_owner_rows(rel regclass, query text) RETURNS SETOF record
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_as_owner_rows';

-- Internals in SQL.

CREATE FUNCTION ai_scale._require_primary(what text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF pg_is_in_recovery() THEN
        RAISE EXCEPTION 'cannot run % on a hot standby', what
            USING ERRCODE = 'read_only_sql_transaction',
                  HINT = 'Run it on the primary; its changes reach the standby through WAL.';
    END IF;
END $$;

-- Maintenance of one table and rescues from its default partition serialize on this
-- transaction-scoped advisory lock, waited for with the caller's lock_timeout. It is
-- re-entrant: run_maintenance holds it when it calls rescue_default.
CREATE FUNCTION ai_scale._lock_for_maintenance(parent regclass) RETURNS void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT pg_advisory_xact_lock(hashtext('ai_scale.maintenance'), parent::oid::int) $$;

-- 42501 when the owner of parent may not create in its schema: all of a table's maintenance
-- runs as its owner (see _as_owner_rows), who makes its partitions there.
CREATE FUNCTION ai_scale._require_owner_create(parent regclass) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    nsp name;
    owner oid;
BEGIN
    SELECT n.nspname, c.relowner INTO nsp, owner
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = parent;
    IF NOT has_schema_privilege(owner, nsp, 'CREATE') THEN
        RAISE EXCEPTION 'the owner of table % (%) may not create in schema %',
                        parent, owner::regrole, quote_ident(nsp)
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'ai_scale makes and drops partitions as the table''s owner.',
                  HINT = format('GRANT CREATE ON SCHEMA %I TO %s;', nsp, owner::regrole);
    END IF;
END $$;

-- A grantee of aclexplode as GRANT and REVOKE name it.
CREATE FUNCTION ai_scale._grantee(role oid) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT CASE WHEN role = 0 THEN 'PUBLIC' ELSE role::regrole::text END $$;

-- inherit_privileges: the parent's grants (but its owner's) given on a partition, for direct
-- access to it. Grants made on the parent later are not copied.
CREATE FUNCTION ai_scale._copy_grants(parent regclass, partition text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT a.privilege_type, a.grantee, a.is_grantable
               FROM pg_class c, aclexplode(c.relacl) a
              WHERE c.oid = parent AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON %s TO %s%s', g.privilege_type, partition,
                       ai_scale._grantee(g.grantee),
                       CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
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
    SELECT c.relkind, p.partstrat, p.partnatts, p.partattrs[0]
      INTO kind, strategy, natts, key_attnum
      FROM pg_class c LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid
     WHERE c.oid = parent;
    IF kind IS DISTINCT FROM 'p' THEN
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
        RAISE EXCEPTION 'partition key column % of % has type %', key_column, parent, key_type
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'The key must be timestamptz, timestamp or date.';
    END IF;
END $$;

-- The first instant whose local time in zone is t or later: t's own instant (for a local time
-- that a fall-back change repeats, the later one, as Postgres reads it), or, for a local time
-- that a spring-forward change skips, the instant of the change. Postgres would read a skipped
-- time with the offset from before the change, an instant past it, so that cells starting
-- inside the skipped span would overlap the cells after it.
CREATE FUNCTION ai_scale._local_start(t timestamp, zone text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    existing timestamp := t;
BEGIN
    -- Changes happen on whole minutes: the first whole minute after t that exists starts the
    -- local times after the skipped span.
    WHILE ((existing AT TIME ZONE zone) AT TIME ZONE zone) <> existing LOOP
        existing := date_trunc('minute', existing) + interval '1 minute';
    END LOOP;
    RETURN existing AT TIME ZONE zone;
END $$;

-- The local time in zone before which a timestamptz partition is older than span at instant
-- at: a partition whose local upper bound is at or before it ends at or before at - span. As
-- Postgres subtracts an interval from a timestamptz, its months and days count on the local
-- calendar and its time part in elapsed time: 2 hours before 03:30 on a spring-forward night
-- is 00:30, where the wall clock says 01:30 (and a partition ending at 01:00 still holds rows
-- younger than 2 hours). An instant in the first pass of a local time that a fall-back change
-- repeats has the local time of its second pass, an hour later; the cutoff is then taken an
-- hour earlier than its local time, so that no partition ending after the instant is chosen.
CREATE FUNCTION ai_scale._cutoff(at timestamptz, span interval, zone text) RETURNS timestamp
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    calendar interval := date_trunc('day', span); -- months and days
    instant timestamptz := at;
    cutoff timestamp;
    ahead interval;
BEGIN
    IF calendar <> interval '0' THEN
        instant := ai_scale._local_start((at AT TIME ZONE zone) - calendar, zone);
    END IF;
    instant := instant - (span - calendar);
    cutoff := instant AT TIME ZONE zone;
    ahead := ai_scale._local_start(cutoff, zone) - instant;
    IF ahead > interval '0' THEN
        cutoff := (instant - ahead) AT TIME ZONE zone;
    END IF;
    RETURN cutoff;
END $$;

-- ' BC' for a time before year 1, else nothing: to_char's YYYY leaves the era out, and a bound
-- literal without it would be read as a year AD.
CREATE FUNCTION ai_scale._era(t timestamp) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT CASE WHEN t < timestamp '0001-01-01 00:00' THEN ' BC' ELSE '' END $$;

-- A local wall-clock time as a bound literal of the key type (unambiguous: UTC with offset);
-- an infinite one as such.
CREATE FUNCTION ai_scale._bound_literal(t timestamp, key_type regtype, zone text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT quote_literal(CASE
        WHEN NOT isfinite(t) THEN t::text
        WHEN key_type = 'timestamptz'::regtype
            THEN to_char(ai_scale._local_start(t, zone) AT TIME ZONE 'UTC',
                         'YYYY-MM-DD HH24:MI:SS.US') || '+00'
                 || ai_scale._era(ai_scale._local_start(t, zone) AT TIME ZONE 'UTC')
        WHEN key_type = 'date'::regtype THEN to_char(t, 'YYYY-MM-DD') || ai_scale._era(t)
        ELSE to_char(t, 'YYYY-MM-DD HH24:MI:SS.US') || ai_scale._era(t) END)
$$;

-- An error's message for a maintenance 'error' row, with its hint when it has one (out of
-- shared memory, for instance, is only useful with its hint to raise max_locks_per_transaction).
CREATE FUNCTION ai_scale._error_text(message text, hint text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE WHEN coalesce(hint, '') = '' THEN message ELSE message || ' (hint: ' || hint || ')' END
$$;

-- A local bound as text of the key type, in the session's time zone for timestamptz keys.
CREATE FUNCTION ai_scale._bound_text(t timestamp, key_type regtype, zone text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE
        WHEN key_type = 'timestamptz'::regtype THEN ai_scale._local_start(t, zone)::text
        WHEN key_type = 'date'::regtype THEN t::date::text
        ELSE t::text END
$$;

-- A free name <table>_p<suffix> in the parent's schema, shortening the table part (never the
-- suffix) to stay within 63 bytes.
CREATE FUNCTION ai_scale._partition_name(nsp name, base name, suffix text) RETURNS name
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    tail text;
    head text;
    n int := 0;
BEGIN
    LOOP
        tail := '_' || suffix || CASE WHEN n = 0 THEN '' ELSE '_' || n END;
        head := base;
        WHILE octet_length(head) + octet_length(tail) > 63 LOOP
            head := left(head, -1);
        END LOOP;
        IF to_regclass(format('%I.%I', nsp, head || tail)) IS NULL THEN
            RETURN head || tail;
        END IF;
        n := n + 1;
    END LOOP;
END $$;

-- Creates the partition [lo, hi) (local times in zone) next to parent and attaches it, first
-- moving into it any rows of that range sitting in the default partition, so that the attach
-- can never fail on them. Built standalone and attached, rather than CREATE ... PARTITION OF,
-- because ATTACH takes only SHARE UPDATE EXCLUSIVE on the parent: inserts into the other
-- partitions go on meanwhile. With in_place, for a parent the caller holds in ACCESS EXCLUSIVE
-- mode anyway, it is made with CREATE ... PARTITION OF, which costs a quarter less. With stage
-- given (rescue_default), the table is made without indexes and attached to stage instead; the
-- caller fills it and attaches it to parent, which then builds its indexes in bulk. The table
-- goes to the parent's tablespace when it has one, as Postgres places the partitions it makes.
-- Returns the new name (NULL for a range a DST change makes empty), the rows moved, the bounds
-- for people and as literals of the key type.
CREATE FUNCTION ai_scale._create_partition(parent regclass, key_column name, key_type regtype,
                                           zone text, lo timestamp, hi timestamp, suffix text,
                                           default_partition regclass, stage regclass,
                                           copy_grants boolean, in_place boolean,
                                           through_parent boolean DEFAULT false,
                                           OUT partition text, OUT rows_moved bigint,
                                           OUT bounds text, OUT lo_lit text, OUT hi_lit text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    nsp name;
    nsp_oid oid;
    rel name;
    spc name;
    name text;
    cols text;
    holding text;
    lo_at timestamptz;
    hi_at timestamptz;
    bc constant timestamp := '0001-01-01 00:00'; -- to_char's YYYY leaves the era out (see _era)
    arrived bigint;
BEGIN
    -- Written out here rather than through the small helpers above: this runs once per
    -- partition, and every call of a function with its own search_path costs a GUC save and
    -- restore.
    rows_moved := 0;
    IF key_type = 'timestamptz'::regtype THEN
        lo_at := lo AT TIME ZONE zone;
        IF (lo_at AT TIME ZONE zone) <> lo THEN
            lo_at := ai_scale._local_start(lo, zone);
        END IF;
        hi_at := hi AT TIME ZONE zone;
        IF (hi_at AT TIME ZONE zone) <> hi THEN
            hi_at := ai_scale._local_start(hi, zone);
        END IF;
        IF lo_at >= hi_at THEN
            RETURN; -- local times that a DST change skips
        END IF;
        lo_lit := quote_literal(to_char(lo_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')
                                || '+00' || CASE WHEN lo_at AT TIME ZONE 'UTC' < bc THEN ' BC' ELSE '' END);
        hi_lit := quote_literal(to_char(hi_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')
                                || '+00' || CASE WHEN hi_at AT TIME ZONE 'UTC' < bc THEN ' BC' ELSE '' END);
        bounds := format('from %s to %s', lo_at, hi_at);
    ELSIF key_type = 'date'::regtype THEN
        lo_lit := quote_literal(to_char(lo, 'YYYY-MM-DD') || CASE WHEN lo < bc THEN ' BC' ELSE '' END);
        hi_lit := quote_literal(to_char(hi, 'YYYY-MM-DD') || CASE WHEN hi < bc THEN ' BC' ELSE '' END);
        bounds := format('from %s to %s', lo::date, hi::date);
    ELSE
        lo_lit := quote_literal(to_char(lo, 'YYYY-MM-DD HH24:MI:SS.US')
                                || CASE WHEN lo < bc THEN ' BC' ELSE '' END);
        hi_lit := quote_literal(to_char(hi, 'YYYY-MM-DD HH24:MI:SS.US')
                                || CASE WHEN hi < bc THEN ' BC' ELSE '' END);
        bounds := format('from %s to %s', lo, hi);
    END IF;
    SELECT n.nspname, c.relname, c.relnamespace, t.spcname
      INTO nsp, rel, nsp_oid, spc
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
     WHERE c.oid = parent;
    name := rel || '_' || suffix;
    IF octet_length(name) > 63
       OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = name AND c.relnamespace = nsp_oid) THEN
        name := ai_scale._partition_name(nsp, rel, suffix);
    END IF;
    partition := format('%I.%I', nsp, name);
    -- For a rescue, without indexes (the attach builds them in bulk) and with its bounds as a
    -- CHECK constraint, which spares the attach its scan of the rows; rescue_default drops it.
    IF in_place THEN
        EXECUTE format('CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%s) TO (%s)',
                       partition, parent, lo_lit, hi_lit);
    ELSE
        EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING ALL%s)%s', partition, parent,
                       CASE WHEN stage IS NOT NULL
                            THEN format(' EXCLUDING INDEXES, CONSTRAINT ai_scale_rescue_bounds '
                                        'CHECK (%I >= %s AND %I < %s)',
                                        key_column, lo_lit, key_column, hi_lit)
                            ELSE '' END,
                       CASE WHEN spc IS NOT NULL THEN format(' TABLESPACE %I', spc) ELSE '' END);
    END IF;
    IF copy_grants THEN
        PERFORM ai_scale._copy_grants(parent, partition);
    END IF;
    IF in_place THEN
        RETURN;
    END IF;
    IF stage IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                       stage, partition, lo_lit, hi_lit);
        RETURN;
    END IF;
    IF default_partition IS NOT NULL AND NOT through_parent THEN
        cols := ai_scale._insert_columns(parent);
        rows_moved := ai_scale._as_owner(parent, format(
            'WITH moved AS (DELETE FROM ONLY %s WHERE %I >= %s AND %I < %s RETURNING %s) '
            'INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM moved',
            default_partition, key_column, lo_lit, key_column, hi_lit, cols, partition, cols,
            cols));
    ELSIF default_partition IS NOT NULL THEN
        -- Moves that publications and triggers must see (see _moves_through_parent): out of
        -- the default into a holding table, and, once the partition is attached, into the
        -- parent, which routes them there. The holding table has just the columns an INSERT
        -- names (a generated column is computed again), without their constraints; it lives
        -- in the parent's schema (maintenance runs as the owner in a security-restricted
        -- operation, which may not make a temporary table) and is dropped before the
        -- transaction ends, so no other session ever sees it. Unlogged, as a temporary one
        -- was: a publication FOR ALL TABLES (or for the schema) publishes every permanent
        -- table, and a subscriber, which has no such table, stopped on its rows for good.
        cols := ai_scale._insert_columns(parent);
        holding := format('%I.%I', nsp, ai_scale._partition_name(nsp, rel, 'moving'));
        EXECUTE format('CREATE UNLOGGED TABLE %s AS SELECT %s FROM ONLY %s WITH NO DATA', holding,
                       cols, default_partition);
        rows_moved := ai_scale._as_owner(parent, format(
            'WITH moved AS (DELETE FROM ONLY %s WHERE %I >= %s AND %I < %s RETURNING %s) '
            'INSERT INTO %s (%s) SELECT %s FROM moved',
            default_partition, key_column, lo_lit, key_column, hi_lit, cols, holding, cols, cols));
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                   parent, partition, lo_lit, hi_lit);
    IF default_partition IS NOT NULL AND through_parent THEN
        arrived := ai_scale._as_owner(parent, format(
            'INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s',
            parent, cols, cols, holding));
        -- A BEFORE INSERT trigger that skips rows (returns NULL) would lose them here: they
        -- have left the default already. Nothing is moved then.
        IF arrived <> rows_moved THEN
            RAISE EXCEPTION 'moving rows out of the default partition of % lost % of them',
                            parent, rows_moved - arrived
                USING ERRCODE = 'triggered_action_exception',
                      DETAIL = format('%s rows left %s, but only %s were inserted through %s: a '
                                      'BEFORE INSERT trigger skipped the others.',
                                      rows_moved, default_partition, arrived, parent),
                      HINT = 'Let the trigger keep rows that are being moved, or disable it while '
                             'rescue_default runs.';
        END IF;
        EXECUTE format('DROP TABLE %s', holding);
    END IF;
END $$;

-- Rows cannot be moved out of the default partition of a table that a foreign key references:
-- deleting them fires the key's ON DELETE action (CASCADE would delete the referencing rows)
-- before they are back in the table. Raises 0A000 naming the key.
CREATE FUNCTION ai_scale._require_no_references(parent regclass, dflt regclass) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    con record;
BEGIN
    SELECT c.conrelid::regclass AS referrer, c.conname INTO con
      FROM pg_constraint c
     WHERE c.contype = 'f' AND c.confrelid IN (parent, dflt)
     ORDER BY c.oid LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'rows cannot be moved out of the default partition of %', parent
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('Table %s references it (foreign key %I): deleting the rows '
                                  'from the default partition would fire the key''s ON DELETE '
                                  'action before they are back.', con.referrer, con.conname),
                  HINT = 'Make the partitions before their rows arrive (premake), or move the '
                         'rows by hand with the foreign key dropped.';
    END IF;
END $$;

-- Whether rows moved out of the default partition of parent must go through the parent, as
-- deletes and inserts that logical replication and triggers see: when the table (or a table
-- it is a partition of, published with publish_via_partition_root) or its default partition
-- is in a publication, or either has triggers of its own. Otherwise a move
-- writes the rows into a new table before it becomes a partition, which is faster, and which
-- a publication and the parent's triggers would see as deletes only (a subscriber would lose
-- the rows).
CREATE FUNCTION ai_scale._moves_through_parent(parent regclass, dflt regclass) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT EXISTS (SELECT 1 FROM pg_publication_tables p
                     JOIN pg_namespace n ON n.nspname = p.schemaname
                     JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
                    WHERE c.oid = dflt
                       OR c.oid IN (SELECT a.relid FROM pg_partition_ancestors(parent) a))
        OR EXISTS (SELECT 1 FROM pg_trigger t
                    WHERE t.tgrelid IN (parent, dflt) AND NOT t.tgisinternal)
$$;

-- The quoted, comma-separated columns of rel that an INSERT can name (not generated, not
-- dropped), in column order.
CREATE FUNCTION ai_scale._insert_columns(rel regclass) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
      FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
$$;

CREATE FUNCTION ai_scale._default_partition(parent regclass) RETURNS regclass
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT c.oid::regclass FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
$$;

CREATE FUNCTION ai_scale._config(parent regclass) RETURNS ai_scale.partition_config
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cfg ai_scale.partition_config;
BEGIN
    SELECT * INTO cfg FROM ai_scale.partition_config c WHERE c.parent = _config.parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not managed by ai_scale', parent
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Call ai_scale.manage_partitions first.';
    END IF;
    RETURN cfg;
END $$;

-- Whether rel has a valid, whole-table btree index whose first column is key_column.
CREATE FUNCTION ai_scale._key_indexed(rel regclass, key_column name) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT EXISTS (SELECT 1 FROM pg_index i
                     JOIN pg_class ic ON ic.oid = i.indexrelid
                     JOIN pg_am am ON am.oid = ic.relam
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                    WHERE i.indrelid = rel AND i.indisvalid AND i.indpred IS NULL
                      AND am.amname = 'btree' AND a.attname = key_column)
$$;

-- The local lower bound of the cell whose instants hold t. That is the cell of t's local time,
-- except for an instant in the first pass of a local time that a DST change repeats: Postgres
-- reads an ambiguous local time as the later (standard time) instant, so a cell starting in
-- the repeated span starts after such an instant, and an earlier cell, ending there, holds it.
CREATE FUNCTION ai_scale._cell_holding(partition_interval interval, t timestamptz, zone text)
    RETURNS timestamp
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cell timestamp := ai_scale._cell_lower(partition_interval, t AT TIME ZONE zone);
BEGIN
    WHILE ai_scale._local_start(cell, zone) > t LOOP
        cell := ai_scale._cell_lower(partition_interval, cell - interval '1 microsecond');
    END LOOP;
    RETURN cell;
END $$;

-- The cells (local lower bounds, oldest first) holding rows of the default partition dflt, with
-- their row counts, and how many rows no partition can take (their key is NULL or infinite).
-- One scan groups the whole default by the cell of each row's local time; in the rare case
-- that a group holds an instant its cell does not (see _cell_holding), a second scan groups
-- those rows right. With a valid btree index on dflt leading with the key (rescue_default_proc
-- builds one for a large default), the cells are instead walked from the oldest row, a few
-- index probes each, and only as many as a batch of batch_rows takes: a batch then costs
-- about its own rows, not the whole default.
CREATE FUNCTION ai_scale._default_cells(dflt regclass, key_column name, key_type regtype,
                                        zone text, partition_interval interval, batch_rows int,
                                        OUT cell_lows timestamp[], OUT cell_rows bigint[],
                                        OUT unplaceable bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    tz boolean := key_type = 'timestamptz'::regtype;
    local_cell text := format('ai_scale._cell_lower(%L, %s)', partition_interval,
                              CASE WHEN tz THEN format('%I AT TIME ZONE %L', key_column, zone)
                                   ELSE format('%I::timestamp', key_column) END);
    -- The cells, their row counts, the rows without a cell, and whether a row lies before the
    -- start of its cell: %s the last check, %s the cell of a row, %I the key, %s the table.
    grouping constant text :=
        'SELECT array_agg(cell ORDER BY cell) FILTER (WHERE cell IS NOT NULL), '
        '       array_agg(n ORDER BY cell) FILTER (WHERE cell IS NOT NULL), '
        '       sum(n) FILTER (WHERE cell IS NULL), coalesce(bool_or(%s), false) '
        '  FROM (SELECT %s AS cell, count(*) AS n, min(%I) AS oldest '
        '          FROM ONLY %s GROUP BY 1) c';
    misplaced_check text := CASE WHEN tz THEN format('oldest < (cell AT TIME ZONE %L)', zone)
                                 ELSE 'false' END;
    after text := format('%I > %L', key_column, '-infinity');
    lowest timestamp;
    highest timestamp;
    placeable text;
    gap_lows timestamp[];
    gap_highs timestamp[];
    in_gap text;
    misplaced boolean;
    lo timestamp;
    lo_lit text;
    hi_lit text;
    n bigint;
    taken bigint := 0;
BEGIN
    -- The keys a partition can hold: not NULL, finite, and away from the ends of the timestamp
    -- range, where a cell's bounds (and their conversions between time zones) would overflow.
    BEGIN
        lowest := timestamp '4713-01-01 00:00 BC' + interval '2 days' + partition_interval * 2;
        highest := timestamp '294276-12-31 00:00' - interval '2 days' - partition_interval * 2;
    EXCEPTION WHEN datetime_field_overflow THEN
        lowest := 'infinity'; -- an interval of millennia: no key is safe
        highest := '-infinity';
    END;
    placeable := format(CASE WHEN tz THEN '%1$I >= (%2$L::timestamp AT TIME ZONE ''UTC'') AND '
                                          '%1$I < (%3$L::timestamp AT TIME ZONE ''UTC'')'
                             ELSE '%1$I >= %2$L::timestamp AND %1$I < %3$L::timestamp' END,
                        key_column, lowest, highest);
    local_cell := format('CASE WHEN %s THEN %s END', placeable, local_cell);
    IF ai_scale._key_indexed(dflt, key_column) THEN
        EXECUTE format('SELECT count(*) FROM ONLY %s WHERE %I IS NULL OR NOT (%s)',
                       dflt, key_column, placeable) INTO unplaceable;
        -- The spans no partition covers, oldest first (instants, as UTC wall-clock times for a
        -- timestamptz key): the default's rows can only lie there. Probing them alone keeps the
        -- walk off the index entries of rows earlier batches moved out (dead until a VACUUM),
        -- which lie in ranges partitions now cover.
        WITH b AS (
            SELECT coalesce(x.lower, '-infinity') AS lo, coalesce(x.upper, 'infinity') AS hi
              FROM ai_scale._bounds((SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid = dflt),
                                    'UTC') x
             WHERE NOT x.is_default),
        covered AS (
            SELECT b.lo, max(b.hi) OVER (ORDER BY b.lo ROWS BETWEEN UNBOUNDED PRECEDING
                                                       AND 1 PRECEDING) AS until
              FROM b),
        gaps AS (
            SELECT coalesce(c.until, '-infinity') AS lo, c.lo AS hi
              FROM covered c WHERE c.lo > coalesce(c.until, '-infinity')
            UNION ALL
            SELECT coalesce(max(b.hi), '-infinity'), 'infinity' FROM b
            HAVING coalesce(max(b.hi), '-infinity') < 'infinity')
        SELECT array_agg(g.lo ORDER BY g.lo), array_agg(g.hi ORDER BY g.lo)
          INTO gap_lows, gap_highs FROM gaps g;
        FOR gap IN 1 .. coalesce(array_length(gap_lows, 1), 0) LOOP
            in_gap := format('%I >= %s AND %I < %s', key_column,
                             ai_scale._bound_literal(gap_lows[gap], key_type, 'UTC'), key_column,
                             ai_scale._bound_literal(gap_highs[gap], key_type, 'UTC'));
            LOOP
                EXECUTE format('SELECT %s FROM (SELECT min(%I) AS %I FROM ONLY %s WHERE %s AND %s AND %s) m',
                               CASE WHEN tz THEN format('ai_scale._cell_holding(%L, %I, %L)',
                                                        partition_interval, key_column, zone)
                                    ELSE local_cell END,
                               key_column, key_column, dflt, after, in_gap, placeable)
                   INTO lo;
                EXIT WHEN lo IS NULL; -- on to the next gap
                lo_lit := ai_scale._bound_literal(lo, key_type, zone);
                hi_lit := ai_scale._bound_literal(
                    (SELECT c.upper FROM ai_scale._cells(partition_interval, lo, lo) c), key_type, zone);
                EXECUTE format('SELECT count(*) FROM ONLY %s WHERE %I >= %s AND %I < %s',
                               dflt, key_column, lo_lit, key_column, hi_lit) INTO n;
                cell_lows := cell_lows || lo;
                cell_rows := cell_rows || n;
                taken := taken + n;
                IF taken >= batch_rows OR array_length(cell_lows, 1) >= 100 THEN
                    RETURN;
                END IF;
                after := format('%I >= %s', key_column, hi_lit);
            END LOOP;
        END LOOP;
        RETURN;
    END IF;
    -- Grouped by the cell of each row's local time; when a group holds an instant before its
    -- cell starts, grouped again with that cell expression corrected where it must be.
    EXECUTE format(grouping, misplaced_check, local_cell, key_column, dflt)
       INTO cell_lows, cell_rows, unplaceable, misplaced;
    IF misplaced THEN
        EXECUTE format(grouping, 'false',
                       format('CASE WHEN NOT (%5$s) THEN NULL '
                              'WHEN %1$I >= (%2$s AT TIME ZONE %3$L) THEN %2$s '
                              'ELSE ai_scale._cell_holding(%4$L, %1$I, %3$L) END',
                              key_column, local_cell, zone, partition_interval, placeable),
                       key_column, dflt)
           INTO cell_lows, cell_rows, unplaceable, misplaced;
    END IF;
END $$;

-- rescue_default: moves rows out of the default partition into the partitions they belong in,
-- creating those. _default_cells finds the cells holding the default's rows (one scan, or a
-- walk through an index on the key); a call takes whole cells, oldest first, until it holds at
-- least batch_rows rows (or makes 100 partitions), and moves them as one atomic batch: the new
-- partitions are made without indexes as partitions of a private staging table, filled by one
-- INSERT ... SELECT from the default (rows routed by Postgres) and one DELETE, detached from
-- the stage and attached to parent, which builds their indexes in bulk. Calling again resumes
-- with the rows left, so an interrupted run loses and duplicates nothing. Rows whose cell
-- overlaps an existing partition only partly go to partitions covering just the free parts.
-- Rows whose key is NULL or +-infinity stay: no finite partition can hold them. A table that
-- is published or has triggers gets its rows moved through the parent (_moves_through_parent).
-- rescue_default's work, as the table's owner (rescue_default runs it through _as_owner_rows;
-- maintenance, already the owner, calls it directly).
CREATE FUNCTION ai_scale._rescue_default(parent regclass, batch_rows int)
    RETURNS TABLE (partition text, lower text, upper text, rows_moved bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cfg ai_scale.partition_config;
    k record;
    dflt regclass;
    cell_lows timestamp[];
    cell_rows bigint[];
    unplaceable bigint;
    taken bigint := 0;
    lo timestamp;
    hi timestamp;
    sfx text;
    cursor timestamp;
    bound_lo timestamp[];
    bound_hi timestamp[];
    m int;
    piece_lo timestamp[] := '{}';
    piece_hi timestamp[] := '{}';
    piece_sfx text[] := '{}';
    piece_rows bigint[] := '{}';
    pieces_before int;
    nsp name;
    rel name;
    stage text;
    made record;
    parts text[] := '{}';
    lo_lits text[] := '{}';
    hi_lits text[] := '{}';
    kept int[] := '{}';
    cols text;
    i int;
    j int;
    caller_lock_timeout text;
    found boolean := false;
    piece_zone text;
BEGIN
    PERFORM ai_scale._require_primary('rescue_default');
    IF batch_rows IS NULL OR batch_rows < 1 THEN
        RAISE EXCEPTION 'batch_rows must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cfg := ai_scale._config(parent);
    k := ai_scale._partition_key(parent);
    dflt := ai_scale._default_partition(parent);
    IF dflt IS NULL THEN
        RETURN;
    END IF;
    -- Not beside a maintenance run of the same table: both make partitions.
    PERFORM ai_scale._lock_for_maintenance(parent);
    cfg := ai_scale._config(parent); -- as it is now, not before the wait
    piece_zone := CASE WHEN k.key_type = 'timestamptz'::regtype THEN 'UTC' ELSE cfg.time_zone END;
    -- Then every lock on the table and its partitions with the short wait of all maintenance
    -- DDL, or the caller's if shorter: queued behind a long-running query, the attaches would
    -- queue every new query on the table behind them. Giving up raises 55P03.
    caller_lock_timeout := current_setting('lock_timeout');
    IF caller_lock_timeout::interval = interval '0'
       OR caller_lock_timeout::interval
          > ai_scale._setting('ai_scale.maintenance_lock_timeout')::interval THEN
        PERFORM set_config('lock_timeout',
                           ai_scale._setting('ai_scale.maintenance_lock_timeout'), true);
    END IF;
    -- Writers of the default wait from here to the end (readers do not, until the attaches):
    -- the rows counted, copied and deleted below are then the same rows.
    EXECUTE format('LOCK TABLE ONLY %s IN EXCLUSIVE MODE', dflt);
    -- The default was found before the lock, which may have waited for a DETACH of it: a
    -- detached table is no longer the table's, and its rows are not moved into it.
    IF ai_scale._default_partition(parent) IS DISTINCT FROM dflt THEN
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        RETURN;
    END IF;
    -- A partition pending detach still takes its range, and rows of that range can be in the
    -- default; no partition can be made for them until the detach is finalized.
    IF ai_scale._detach_pending(parent) THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', dflt) INTO found;
    END IF;
    IF found THEN
        RAISE NOTICE 'rows stay in the default partition of % while a partition of it is pending detach',
                     parent
            USING HINT = 'The maintenance worker finalizes the detach, or ALTER TABLE ... DETACH '
                         'PARTITION ... FINALIZE does; then call rescue_default again.';
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        RETURN;
    END IF;

    SELECT c.cell_lows, c.cell_rows, c.unplaceable INTO cell_lows, cell_rows, unplaceable
      FROM ai_scale._default_cells(dflt, k.key_column, k.key_type, cfg.time_zone,
                                   cfg.partition_interval, batch_rows) c;
    IF cell_lows IS NOT NULL THEN
        PERFORM ai_scale._require_no_references(parent, dflt);
    END IF;
    IF unplaceable > 0 THEN
        RAISE NOTICE '% rows stay in the default partition of %: their % is NULL, infinite or at an end of the timestamp range',
                     unplaceable, parent, quote_ident(k.key_column)
            USING DETAIL = 'No partition with finite bounds can hold them: a cell within two '
                           'partition intervals of 4713 BC or 294276 AD has bounds Postgres '
                           'cannot represent.';
    END IF;
    IF cell_lows IS NULL THEN
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        RETURN;
    END IF;

    -- The existing partitions' bounds, read once for all the cells below, ordered by lower.
    -- For a timestamptz key, cells and bounds are compared as instants (UTC wall-clock times,
    -- and the pieces are made in 'UTC'): a bound in the first pass of a local hour that a
    -- fall-back change repeats (a partition made by hand, or in another zone) has the local
    -- time of the second pass, and compared as local times the free part next to it was
    -- misjudged, its partition overlapped the one there and the rescue failed at every run.
    SELECT coalesce(array_agg(coalesce(x.lower, '-infinity') ORDER BY x.lower NULLS FIRST), '{}'),
           coalesce(array_agg(coalesce(x.upper, 'infinity') ORDER BY x.lower NULLS FIRST), '{}')
      INTO bound_lo, bound_hi
      FROM ai_scale._bounds(parent, piece_zone) x WHERE NOT x.is_default;

    -- This batch: whole cells until batch_rows, each cut down to the parts no partition covers.
    FOR i IN 1 .. array_length(cell_lows, 1) LOOP
        lo := cell_lows[i];
        SELECT c.upper, c.suffix INTO hi, sfx FROM ai_scale._cells(cfg.partition_interval, lo, lo) c;
        IF piece_zone <> cfg.time_zone THEN
            lo := ai_scale._local_start(lo, cfg.time_zone) AT TIME ZONE 'UTC';
            hi := ai_scale._local_start(hi, cfg.time_zone) AT TIME ZONE 'UTC';
        END IF;
        pieces_before := array_length(piece_lo, 1);
        cursor := lo;
        FOR m IN 1 .. coalesce(array_length(bound_lo, 1), 0) LOOP
            CONTINUE WHEN bound_lo[m] >= hi OR bound_hi[m] <= lo;
            IF bound_lo[m] > cursor THEN
                piece_lo := piece_lo || cursor;
                piece_hi := piece_hi || bound_lo[m];
            END IF;
            cursor := greatest(cursor, bound_hi[m]);
        END LOOP;
        IF cursor < hi THEN
            piece_lo := piece_lo || cursor;
            piece_hi := piece_hi || hi;
        END IF;
        FOR j IN coalesce(pieces_before, 0) + 1 .. coalesce(array_length(piece_lo, 1), 0) LOOP
            piece_sfx := piece_sfx || CASE WHEN piece_lo[j] = lo THEN sfx
                                           WHEN piece_zone <> cfg.time_zone
                                           THEN to_char((piece_lo[j] AT TIME ZONE 'UTC') AT TIME ZONE cfg.time_zone,
                                                        'YYYYMMDD_HH24MI')
                                           ELSE to_char(piece_lo[j], 'YYYYMMDD_HH24MI') END;
            -- A cell cut in several pieces: their counts are taken after the move.
            piece_rows := piece_rows || CASE WHEN array_length(piece_lo, 1) - coalesce(pieces_before, 0) = 1
                                             THEN cell_rows[i] END;
        END LOOP;
        taken := taken + cell_rows[i];
        -- A batch holds its new tables' locks until it commits: at most 100 of them, so that
        -- rows spread thinly over many cells cannot exhaust the lock table.
        EXIT WHEN taken >= batch_rows OR array_length(piece_lo, 1) >= 100;
    END LOOP;

    -- Moves that publications and triggers must see go through the parent, a partition at a
    -- time, as maintenance moves the rows of a partition it makes (_create_partition): slower
    -- (each scans the default twice, and the rows go into indexed tables), but a subscriber
    -- gets the inserts as well as the deletes.
    IF ai_scale._moves_through_parent(parent, dflt) THEN
        FOR j IN 1 .. array_length(piece_lo, 1) LOOP
            made := ai_scale._create_partition(parent, k.key_column, k.key_type, piece_zone,
                                               piece_lo[j], piece_hi[j], piece_sfx[j], dflt,
                                               NULL, cfg.inherit_privileges, false, true);
            CONTINUE WHEN made.partition IS NULL;
            partition := made.partition;
            lower := ai_scale._bound_text(piece_lo[j], k.key_type, piece_zone);
            upper := ai_scale._bound_text(piece_hi[j], k.key_type, piece_zone);
            rows_moved := made.rows_moved;
            RETURN NEXT;
        END LOOP;
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        RETURN;
    END IF;

    SELECT n.nspname, c.relname INTO nsp, rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
    stage := format('%I.%I', nsp, ai_scale._partition_name(nsp, rel, 'rescue_stage'));
    EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING ALL EXCLUDING INDEXES) PARTITION BY RANGE (%I)',
                   stage, parent, k.key_column);
    FOR j IN 1 .. array_length(piece_lo, 1) LOOP
        made := ai_scale._create_partition(parent, k.key_column, k.key_type, piece_zone,
                                           piece_lo[j], piece_hi[j], piece_sfx[j], NULL,
                                           stage::regclass, cfg.inherit_privileges, false,
                                           false);
        CONTINUE WHEN made.partition IS NULL; -- local times a DST change skips hold no rows
        parts := parts || made.partition;
        lo_lits := lo_lits || made.lo_lit;
        hi_lits := hi_lits || made.hi_lit;
        kept := kept || j;
    END LOOP;

    -- Every default row of the batch lies in [first piece, last piece): no other cell is there.
    -- A copy then a delete is faster than one DELETE ... RETURNING feeding the INSERT, and the
    -- lock above makes the two statements see the same rows. Both run as the table's owner
    -- (_as_owner): they evaluate its constraints and fire its rules.
    cols := ai_scale._insert_columns(parent);
    PERFORM ai_scale._as_owner(parent, format(
        'INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM ONLY %s '
        'WHERE %I >= %s AND %I < %s',
        stage, cols, cols, dflt, k.key_column, lo_lits[1], k.key_column,
        hi_lits[array_length(hi_lits, 1)]));
    PERFORM ai_scale._as_owner(parent, format(
        'DELETE FROM ONLY %s WHERE %I >= %s AND %I < %s',
        dflt, k.key_column, lo_lits[1], k.key_column, hi_lits[array_length(hi_lits, 1)]));
    FOR i IN 1 .. array_length(parts, 1) LOOP
        EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', stage, parts[i]);
    END LOOP;
    EXECUTE format('DROP TABLE %s', stage);
    -- Each attach would scan the default for rows of the new range; one validated constraint
    -- saying it holds none of the batch's range lets them all skip that scan.
    EXECUTE format('ALTER TABLE ONLY %s ADD CONSTRAINT ai_scale_rescue_moved '
                   'CHECK (%I < %s OR %I >= %s)', dflt, k.key_column, lo_lits[1], k.key_column,
                   hi_lits[array_length(hi_lits, 1)]);

    FOR i IN 1 .. array_length(parts, 1) LOOP
        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                       parent, parts[i], lo_lits[i], hi_lits[i]);
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT ai_scale_rescue_bounds', parts[i]);
        partition := parts[i];
        lower := ai_scale._bound_text(piece_lo[kept[i]], k.key_type, piece_zone);
        upper := ai_scale._bound_text(piece_hi[kept[i]], k.key_type, piece_zone);
        rows_moved := piece_rows[kept[i]];
        IF rows_moved IS NULL THEN
            EXECUTE format('SELECT count(*) FROM %s', parts[i]) INTO rows_moved;
        END IF;
        RETURN NEXT;
    END LOOP;
    EXECUTE format('ALTER TABLE ONLY %s DROP CONSTRAINT ai_scale_rescue_moved', dflt);
    PERFORM set_config('lock_timeout', caller_lock_timeout, true);
END $$;
CREATE FUNCTION ai_scale.rescue_default(parent regclass, batch_rows int DEFAULT 10000)
    RETURNS TABLE (partition text, lower text, upper text, rows_moved bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF parent IS NULL THEN
        RETURN QUERY SELECT * FROM ai_scale._rescue_default(NULL, batch_rows);
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM ai_scale._as_owner_rows(parent, format(
        'SELECT * FROM ai_scale._rescue_default(%s::oid::regclass, %s)', parent::oid,
        coalesce(batch_rows::text, 'NULL')))
        AS t(partition text, lower text, upper text, rows_moved bigint);
EXCEPTION WHEN insufficient_privilege THEN
    -- Partitions are made as the owner: a caller who may create in the schema was told only
    -- "permission denied for schema", as if it were about them.
    PERFORM ai_scale._require_owner_create(parent);
    RAISE;
END $$;
COMMENT ON FUNCTION ai_scale.rescue_default(regclass, int) IS
    'moves rows out of the default partition into partitions it creates; whole cells in atomic batches, resumable';

-- Marks the index _make_rescue_index builds.
CREATE FUNCTION ai_scale._rescue_index_comment() RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT 'built by ai_scale.rescue_default_proc, which drops it when it ends' $$;

-- For rescue_default_proc: when the default partition of parent holds more than two batches
-- of rows and no index leads with the key, one is built on it (writers into the default wait
-- for the build, readers do not), so that each batch finds and moves its rows through the
-- index instead of scanning the whole default three times; the comment marks it for
-- _drop_rescue_index. Returns whether it built one.
CREATE FUNCTION ai_scale._make_rescue_index(parent regclass, batch_rows int) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
    dflt regclass := ai_scale._default_partition(parent);
    nsp name;
    rel name;
    name name;
    n bigint;
BEGIN
    -- rescue_default's own checks, before anything is built.
    PERFORM ai_scale._require_primary('rescue_default_proc');
    PERFORM ai_scale._config(parent);
    k := ai_scale._partition_key(parent);
    IF dflt IS NULL THEN
        RETURN false;
    END IF;
    -- Locks in the order rescue_default and maintenance take them (the table's advisory lock,
    -- then the default), or a rescue holding the default while waiting to attach beside it
    -- and this build waiting for the rescue would deadlock.
    PERFORM ai_scale._lock_for_maintenance(parent);
    IF ai_scale._key_indexed(dflt, k.key_column) THEN
        RETURN false;
    END IF;
    -- Both as the owner (see _as_owner_rows).
    SELECT t.n INTO n FROM ai_scale._as_owner_rows(parent, format(
        'SELECT count(*) FROM (SELECT FROM ONLY %s LIMIT %s) s', dflt,
        2 * batch_rows::bigint + 1)) AS t(n bigint);
    IF n <= 2 * batch_rows::bigint THEN
        RETURN false;
    END IF;
    SELECT s.nspname, c.relname INTO nsp, rel
      FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE c.oid = dflt;
    name := ai_scale._partition_name(nsp, rel, 'rescue_key');
    PERFORM ai_scale._as_owner(parent, format('CREATE INDEX %I ON %s (%I)', name, dflt,
                                              k.key_column));
    EXECUTE format('COMMENT ON INDEX %I.%I IS %L', nsp, name, ai_scale._rescue_index_comment());
    RETURN true;
END $$;

-- Drops the indexes _make_rescue_index built on the default partition of parent, including one
-- an interrupted rescue_default_proc left behind.
CREATE FUNCTION ai_scale._drop_rescue_index(parent regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    idx regclass;
BEGIN
    PERFORM ai_scale._lock_for_maintenance(parent); -- as in _make_rescue_index
    FOR idx IN SELECT i.indexrelid::regclass FROM pg_index i
                WHERE i.indrelid = ai_scale._default_partition(parent)
                  AND obj_description(i.indexrelid, 'pg_class') = ai_scale._rescue_index_comment()
    LOOP
        EXECUTE format('DROP INDEX %s', idx);
    END LOOP;
END $$;

-- rescue_default_proc: rescue_default in a loop, each batch in a transaction of its own, until
-- the default partition holds no row a partition could take. For a large default: each batch's
-- locks (writers into the default wait on them) end at its commit, and an interruption keeps
-- the batches committed before it. A procedure cannot commit under a SET clause, so it pins
-- its search_path with set_config at the start of every transaction instead. CALL it outside
-- a transaction block.
CREATE PROCEDURE ai_scale.rescue_default_proc(parent regclass, batch_rows int DEFAULT 10000,
                                              pause interval DEFAULT '0')
    LANGUAGE plpgsql
    AS $$
DECLARE
    caller_path text := pg_catalog.current_setting('search_path');
    moved bigint;
    total bigint := 0;
    batches int := 0;
    waits int := 0;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF parent IS NULL THEN
        RAISE EXCEPTION 'parent must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch_rows IS NULL OR batch_rows < 1 THEN
        RAISE EXCEPTION 'batch_rows must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pause IS NULL OR pause < interval '0' THEN
        RAISE EXCEPTION 'pause must be zero or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF ai_scale._make_rescue_index(parent, batch_rows) THEN
        COMMIT;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    END IF;
    LOOP
        -- A batch that cannot get its locks in time (ai_scale.maintenance_lock_timeout) is
        -- tried again after a pause, doubling up to 5 s, ten times in a row at most.
        BEGIN
            SELECT coalesce(sum(r.rows_moved), 0) INTO moved
              FROM ai_scale.rescue_default(parent, batch_rows) r;
            waits := 0;
        EXCEPTION WHEN lock_not_available THEN
            waits := waits + 1;
            IF waits > 10 THEN
                RAISE;
            END IF;
            RAISE NOTICE 'batch %: the table is busy (%); trying again', batches + 1, SQLERRM;
            PERFORM pg_sleep(least(0.1 * 2 ^ (waits - 1), 5));
            CONTINUE;
        END;
        EXIT WHEN moved = 0;
        total := total + moved;
        batches := batches + 1;
        COMMIT;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        RAISE NOTICE 'batch %: % rows moved out of the default partition of %', batches, moved,
                     parent;
        IF pause > interval '0' THEN
            PERFORM pg_sleep(extract(epoch FROM pause)::float8);
        END IF;
    END LOOP;
    PERFORM ai_scale._drop_rescue_index(parent);
    -- The transaction the caller goes on with (the CALL's own, when nothing was moved) keeps
    -- the caller's path.
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
    RAISE NOTICE '% rows moved in % batches', total, batches;
END $$;
COMMENT ON PROCEDURE ai_scale.rescue_default_proc(regclass, int, interval) IS
    'rescue_default until the default partition is empty, committing after each batch';

CREATE FUNCTION ai_scale.check_default(parent regclass)
    RETURNS TABLE (default_partition regclass, rows bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM ai_scale._partition_key(parent);
    default_partition := ai_scale._default_partition(parent);
    IF default_partition IS NULL THEN
        rows := 0;
    ELSIF pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = parent), 'USAGE') THEN
        -- As the owner (see _as_owner_rows), when the caller may act as the owner; anyone else
        -- with the right to read the default counts with their own rights.
        SELECT t.n INTO rows FROM ai_scale._as_owner_rows(parent, format(
            'SELECT count(*) FROM ONLY %s', default_partition)) AS t(n bigint);
    ELSE
        EXECUTE format('SELECT count(*) FROM ONLY %s', default_partition) INTO rows;
    END IF;
    RETURN NEXT;
END $$;
COMMENT ON FUNCTION ai_scale.check_default(regclass) IS 'rows sitting in the default partition';

-- One step of a plan, as ai_scale._plan returns them.
CREATE TYPE ai_scale._partition_step AS (action text, idx int, lower timestamp, upper timestamp,
                                         suffix text);

-- The creations of a plan for a timestamptz key as instants (UTC wall-clock times, to be
-- made in 'UTC'), cut to the parts no partition of parent covers; the other steps as they
-- are. The planner compares bounds as local times in zone, where a bound in the first pass of
-- a local hour that a fall-back change repeats (a partition made by hand, or in another zone)
-- reads as the second pass: a cell next to it was taken as free where a partition stood, and
-- its creation failed the table's run with "would overlap" at every run until the cell was
-- past.
CREATE FUNCTION ai_scale._instant_steps(parent regclass, zone text,
                                        steps ai_scale._partition_step[])
    RETURNS ai_scale._partition_step[]
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    s ai_scale._partition_step;
    out ai_scale._partition_step[] := '{}';
    lows timestamp[] := '{}';
    highs timestamp[] := '{}';
    bound_lo timestamp[];
    bound_hi timestamp[];
    a timestamp;
    b timestamp;
    cursor timestamp;
    n int := 0;
    first int := 1;
BEGIN
    FOREACH s IN ARRAY steps LOOP
        CONTINUE WHEN s.action <> 'create';
        lows := lows || (ai_scale._local_start(s.lower, zone) AT TIME ZONE 'UTC');
        highs := highs || (ai_scale._local_start(s.upper, zone) AT TIME ZONE 'UTC');
    END LOOP;
    SELECT coalesce(array_agg(coalesce(x.lower, '-infinity') ORDER BY x.lower NULLS FIRST), '{}'),
           coalesce(array_agg(coalesce(x.upper, 'infinity') ORDER BY x.lower NULLS FIRST), '{}')
      INTO bound_lo, bound_hi
      FROM ai_scale._bounds(parent, 'UTC', (SELECT min(l) FROM unnest(lows) l),
                            (SELECT max(h) FROM unnest(highs) h)) x
     WHERE NOT x.is_default;
    FOREACH s IN ARRAY steps LOOP
        IF s.action <> 'create' THEN
            out := out || s;
            CONTINUE;
        END IF;
        n := n + 1;
        a := lows[n];
        b := highs[n];
        cursor := a;
        -- Both in order, and partitions do not overlap: the bounds before this step's are
        -- passed for good.
        WHILE first <= cardinality(bound_lo) AND bound_hi[first] <= a LOOP
            first := first + 1;
        END LOOP;
        FOR m IN first .. cardinality(bound_lo) LOOP
            EXIT WHEN bound_lo[m] >= b;
            CONTINUE WHEN bound_hi[m] <= cursor;
            IF bound_lo[m] > cursor THEN
                out := out || ('create', NULL, cursor, bound_lo[m],
                               CASE WHEN cursor = a THEN s.suffix
                                    ELSE to_char(cursor AT TIME ZONE 'UTC' AT TIME ZONE zone,
                                                 'YYYYMMDD_HH24MI') END)::ai_scale._partition_step;
            END IF;
            cursor := greatest(cursor, bound_hi[m]);
        END LOOP;
        IF cursor < b THEN
            out := out || ('create', NULL, cursor, b,
                           CASE WHEN cursor = a THEN s.suffix
                                ELSE to_char(cursor AT TIME ZONE 'UTC' AT TIME ZONE zone,
                                             'YYYYMMDD_HH24MI') END)::ai_scale._partition_step;
        END IF;
    END LOOP;
    RETURN out;
END $$;

-- The comment that marks a partition the worker detaches concurrently to drop it: set before
-- the detach (in the transaction that chose it), so that a table whose drop did not follow
-- (the DROP failed, or the server stopped between the detach's commit and the drop's) is found
-- and dropped by a later run of the worker, while the table's retention is still the one that
-- chose it (the worker keeps a table whose retention changed during its detach, too). The
-- retention is written in one IntervalStyle: the worker's, which a database or role setting
-- changes from its next start, made a table owed its drop look kept by another retention.
CREATE FUNCTION ai_scale._owed_drop_note(parent regclass, retention interval) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    SET intervalstyle = 'postgres'
    AS $$ SELECT format('ai_scale: detached from table %s by retention %s, to be dropped by the '
                        'maintenance worker', parent::oid, retention) $$;

-- Whether a table marked with note is still owed its drop: parent is managed with retention
-- mode drop, and the note names the retention it has now, the one that chose the table (a
-- table whose retention changed since is kept). The worker's drop after its detach and the
-- later runs' sweep both ask this.
CREATE FUNCTION ai_scale._owed_drop_due(parent regclass, note text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT EXISTS (SELECT 1 FROM ai_scale.partition_config c
                    WHERE c.parent = _owed_drop_due.parent AND c.retention_mode = 'drop'
                      AND note = ai_scale._owed_drop_note(c.parent, c.retention))
$$;

-- The tables of parent's owner that carry a mark naming parent (whatever its retention), with
-- the mark and whether the table is a partition. Anyone may write the mark on a table of their
-- own: only the owner's count.
CREATE FUNCTION ai_scale._owed_drop_marked(parent regclass, OUT rel regclass,
                                           OUT attached boolean, OUT note text)
    RETURNS SETOF record
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT c.oid::regclass, c.relispartition, d.description
      FROM pg_description d
      JOIN pg_class c ON c.oid = d.objoid
     WHERE d.classoid = 'pg_class'::regclass AND d.objsubid = 0
       AND starts_with(d.description,
                       format('ai_scale: detached from table %s by retention ', parent::oid))
       AND c.relowner = (SELECT o.relowner FROM pg_class o WHERE o.oid = parent)
       AND c.relkind IN ('r', 'p') -- a partition may be partitioned itself
$$;

-- One table's maintenance. defer_detach (the worker's mode) returns drops and detaches as
-- 'detach_pending' rows instead of doing them: the worker then runs DETACH PARTITION ...
-- CONCURRENTLY in transactions of its own, which a function cannot do. Postgres refuses a
-- concurrent detach while the table has a default partition; such tables get a plain DETACH /
-- DROP under the short lock_timeout, skipped and retried when a long query holds the table.
-- A 'detach_pending' row's detail says what the worker does: 'drop' or 'detach' (concurrently,
-- then DROP TABLE for 'drop'), or, for a partition already pending detach, 'finalize',
-- 'finalize detach' or 'finalize drop' (DETACH ... FINALIZE, then DROP TABLE for the last);
-- a partition to drop is marked first (_owed_drop_note), and in this mode a run drops the
-- marked tables a detach left behind.
CREATE FUNCTION ai_scale._maintain(cfg ai_scale.partition_config, defer_detach boolean)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
    dflt regclass;
    parts regclass[];
    lowers timestamp[];
    uppers timestamp[];
    cold boolean[];
    cold_oid oid;
    p record;
    made record;
    victim regclass;
    default_has_rows boolean := false;
    r record;
    now_local timestamp;
    retain_before timestamp;
    cold_before timestamp;
    steps ai_scale._partition_step[];
    created text[] := '{}';
    created_detail text[] := '{}';
    in_place boolean := false;
    pending regclass[] := '{}';
    handled regclass[] := '{}';
    through_parent boolean := false;
    creating boolean;
    create_zone text;
    moving boolean;
    in_ranges text;
    err_hint text;
    retired int := 0;
    attached boolean;
    still_owed boolean;
    postponed bigint := 0;
BEGIN
    parent_table := cfg.parent;
    k := ai_scale._partition_key(cfg.parent);
    cold_oid := (SELECT t.oid FROM pg_tablespace t WHERE t.spcname = cfg.cold_tablespace);
    -- Only the partitions a decision can concern reach the planner: those between the start of
    -- the current cell and the premake horizon (premake fills around them) and those ending
    -- before the oldest cutoff (retention, tiering). _bounds skips the others without
    -- converting them, so a no-op run costs about the same whatever the number of partitions.
    now_local := (now() AT TIME ZONE cfg.time_zone)::timestamp;
    -- Retention and tiering cutoffs: for a timestamptz key, now() minus the interval as
    -- Postgres computes it (the time part in elapsed time), as local times (_cutoff); for
    -- timestamp and date keys, local wall-clock arithmetic.
    IF k.key_type = 'timestamptz'::regtype THEN
        retain_before := ai_scale._cutoff(now(), cfg.retention, cfg.time_zone);
        cold_before := ai_scale._cutoff(now(), cfg.cold_after, cfg.time_zone);
    ELSE
        retain_before := now_local - cfg.retention;
        cold_before := now_local - cfg.cold_after;
    END IF;
    IF cfg.cold_after IS NULL AND cfg.retention_mode = 'tier' THEN
        cold_before := retain_before;
    END IF;
    SELECT array_agg(b.partition ORDER BY b.lower) FILTER (WHERE NOT b.is_default),
           array_agg(b.lower ORDER BY b.lower) FILTER (WHERE NOT b.is_default),
           array_agg(b.upper ORDER BY b.lower) FILTER (WHERE NOT b.is_default),
           array_agg(coalesce(c.reltablespace = cold_oid, false) ORDER BY b.lower)
               FILTER (WHERE NOT b.is_default),
           max(b.partition::oid) FILTER (WHERE b.is_default)
      INTO parts, lowers, uppers, cold, dflt
      FROM ai_scale._bounds(cfg.parent, cfg.time_zone, now_local - cfg.partition_interval,
                            now_local + cfg.partition_interval * (cfg.premake + 2),
                            greatest(retain_before, cold_before)) b
      LEFT JOIN pg_class c ON c.oid = b.partition AND NOT b.is_default
     WHERE b.is_default OR b.upper IS NULL OR b.upper > now_local - cfg.partition_interval
        OR b.upper <= greatest(retain_before, cold_before);
    IF dflt IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', dflt) INTO default_has_rows;
    END IF;
    -- A DETACH ... CONCURRENTLY interrupted earlier leaves its partition pending detach (reported
    -- last). Asked now, while the parent's partition descriptors are cached: once a partition has
    -- been made, the question would rebuild them, parsing every bound twice (2.7 ms at 1000
    -- partitions). The check first: reading pg_inherits costs a row per partition.
    IF ai_scale._detach_pending(cfg.parent) THEN
        pending := ARRAY(SELECT i.inhrelid::regclass FROM pg_inherits i
                          WHERE i.inhparent = cfg.parent AND i.inhdetachpending);
    END IF;

    SELECT array_agg((pl.action, pl.idx, pl.lower, pl.upper, pl.suffix)::ai_scale._partition_step
                     ORDER BY pl.ord) INTO steps
      FROM ai_scale._plan(cfg.partition_interval, cfg.premake, cfg.retention,
                          cfg.retention_mode, cfg.cold_after, now_local,
                          coalesce(lowers, '{}'), coalesce(uppers, '{}'),
                          coalesce(cold, '{}'), retain_before, cold_before) WITH ORDINALITY AS pl(action, idx, lower, upper, suffix, ord);
    creating := EXISTS (SELECT 1 FROM unnest(steps) s WHERE s.action = 'create');
    create_zone := cfg.time_zone;
    IF creating AND k.key_type = 'timestamptz'::regtype AND cfg.time_zone <> 'UTC' THEN
        steps := ai_scale._instant_steps(cfg.parent, cfg.time_zone, steps);
        create_zone := 'UTC';
        creating := EXISTS (SELECT 1 FROM unnest(steps) s WHERE s.action = 'create');
    END IF;
    -- The worker makes at most 200 partitions of a table per run, the nearest first (the plan
    -- lists them by bound), and the others at its next runs: a premake of thousands does not
    -- fit one transaction's share of the lock table, and every run failed on it (out of shared
    -- memory) after a minute's work, making none. By hand, a run makes them all or fails.
    IF defer_detach THEN
        SELECT count(*) FILTER (WHERE s.action = 'create') - 200 INTO postponed FROM unnest(steps) s;
        IF postponed > 0 THEN
            steps := ARRAY(
                SELECT ROW(w.action, w.idx, w.lower, w.upper, w.suffix)::ai_scale._partition_step
                  FROM (SELECT u.*, count(*) FILTER (WHERE u.action = 'create')
                                    OVER (ORDER BY u.ord) AS nth
                          FROM unnest(steps) WITH ORDINALITY
                               AS u(action, idx, lower, upper, suffix, ord)) w
                 WHERE w.action <> 'create' OR w.nth <= 200
                 ORDER BY w.ord);
        END IF;
    END IF;

    -- All creations in one subtransaction: they need the same locks, so when one cannot get
    -- them in time none could; they are then all reported as skipped, and retried next run.
    BEGIN
        -- A table without partitions, but an empty default, holds no rows: no query on it can
        -- be served from a partition, so locking all of it while the first partitions are made
        -- holds up no more than the attaches' lock on the default would. They are then made in
        -- place, a quarter faster. Checked again under the lock: a row may have come meanwhile.
        IF creating AND NOT default_has_rows
           AND NOT EXISTS (SELECT 1 FROM pg_inherits i
                            WHERE i.inhparent = cfg.parent AND i.inhrelid IS DISTINCT FROM dflt) THEN
            EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', cfg.parent);
            IF dflt IS NOT NULL THEN
                EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', dflt) INTO default_has_rows;
            END IF;
            in_place := NOT default_has_rows
                        AND NOT EXISTS (SELECT 1 FROM pg_inherits i
                                         WHERE i.inhparent = cfg.parent
                                           AND i.inhrelid IS DISTINCT FROM dflt);
        ELSIF creating AND dflt IS NOT NULL THEN
            -- A row written to the default after the look above, in the range of a partition
            -- made below, would make its attach fail: writers of the default wait from here
            -- (the attaches lock it fully anyway), and it is looked at again.
            EXECUTE format('LOCK TABLE ONLY %s IN EXCLUSIVE MODE', dflt);
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', dflt) INTO default_has_rows;
        END IF;
        moving := creating AND default_has_rows;
        IF moving AND EXISTS (SELECT 1 FROM pg_constraint c
                               WHERE c.contype = 'f' AND c.confrelid IN (cfg.parent, dflt)) THEN
            -- A table a foreign key references can have no rows moved out of its default
            -- (_require_no_references), but its partitions are made while no row of the
            -- default lies in their ranges: a row that no partition can hold (a NULL or
            -- infinite key), or one of an older range, must not stop premaking for good.
            SELECT string_agg(format('(%I >= %s AND %I < %s)',
                                     k.key_column, ai_scale._bound_literal(s.lower, k.key_type, create_zone),
                                     k.key_column, ai_scale._bound_literal(s.upper, k.key_type, create_zone)),
                              ' OR ')
              INTO in_ranges FROM unnest(steps) s WHERE s.action = 'create';
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s WHERE %s)', dflt, in_ranges)
               INTO moving;
        END IF;
        IF moving THEN
            PERFORM ai_scale._require_no_references(cfg.parent, dflt);
            through_parent := ai_scale._moves_through_parent(cfg.parent, dflt);
        END IF;
        FOREACH p IN ARRAY coalesce(steps, '{}') LOOP
            CONTINUE WHEN p.action <> 'create';
            made := ai_scale._create_partition(cfg.parent, k.key_column, k.key_type,
                                               create_zone, p.lower, p.upper, p.suffix,
                                               CASE WHEN moving THEN dflt END, NULL,
                                               cfg.inherit_privileges, in_place, through_parent);
            CONTINUE WHEN made.partition IS NULL;
            created := created || made.partition;
            created_detail := created_detail || (made.bounds
                || CASE WHEN made.rows_moved > 0
                        THEN format('; moved %s rows from the default partition', made.rows_moved)
                        ELSE '' END);
        END LOOP;
    EXCEPTION
        WHEN lock_not_available THEN
            created := '{}';
            created_detail := '{}';
            FOREACH p IN ARRAY steps LOOP
                CONTINUE WHEN p.action <> 'create';
                action := 'skipped';
                partition := NULL;
                detail := format('create from %s to %s: %s; retried on the next run',
                                 ai_scale._bound_text(p.lower, k.key_type, create_zone),
                                 ai_scale._bound_text(p.upper, k.key_type, create_zone), SQLERRM);
                RETURN NEXT;
            END LOOP;
    END;
    FOR i IN 1 .. coalesce(array_length(created, 1), 0) LOOP
        action := 'created';
        partition := created[i];
        detail := created_detail[i];
        RETURN NEXT;
    END LOOP;
    IF postponed > 0 THEN
        action := 'skipped';
        partition := NULL;
        detail := format('%s more partitions to make; the worker makes at most 200 of a table per '
                         'run, the rest at its next runs', postponed);
        RETURN NEXT;
    END IF;

    -- Tables the worker detached to drop and did not drop (see _owed_drop_note): dropped now
    -- while the retention that chose them still holds; kept, unmarked, when it changed (as the
    -- worker keeps a table whose retention changed during its detach); the owner's tables only
    -- (_owed_drop_marked). A table a view still uses gives an error row at every run, until it
    -- can go. A marked table still a partition
    -- of the parent (its detach never started, or was interrupted) loses the mark: retention
    -- below marks it again when it still drops it; kept, it would be dropped once detached (a
    -- detach the worker finalizes to keep it, or one by hand).
    IF defer_detach THEN
        FOR victim, attached, still_owed IN
                     SELECT m.rel, m.attached, ai_scale._owed_drop_due(cfg.parent, m.note)
                       FROM ai_scale._owed_drop_marked(cfg.parent) m
                      WHERE NOT m.attached
                         OR EXISTS (SELECT 1 FROM pg_inherits i
                                     WHERE i.inhrelid = m.rel AND i.inhparent = cfg.parent)
        LOOP
            partition := victim::text;
            IF attached THEN
                BEGIN
                    EXECUTE format('COMMENT ON TABLE %s IS NULL', victim);
                    CONTINUE;
                EXCEPTION
                    WHEN lock_not_available THEN
                        -- Still marked: not finalized in this run (it would be kept, marked).
                        handled := handled || victim;
                        action := 'skipped';
                        detail := format('unmark %s: %s; retried on the next run', victim, SQLERRM);
                        RETURN NEXT;
                        CONTINUE;
                END;
            END IF;
            BEGIN
                IF still_owed THEN
                    EXECUTE format('DROP TABLE %s', victim);
                    action := 'dropped';
                    detail := 'detached by retention earlier, and not dropped then';
                ELSE
                    EXECUTE format('COMMENT ON TABLE %s IS NULL', victim);
                    action := 'skipped';
                    detail := 'detached by retention earlier; kept, as the retention settings changed';
                END IF;
            EXCEPTION
                WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT;
                    action := CASE WHEN SQLSTATE = '55P03' THEN 'skipped' ELSE 'error' END;
                    detail := format('drop %s, detached by retention earlier: %s', victim,
                                     ai_scale._error_text(SQLERRM, err_hint));
            END;
            RETURN NEXT;
        END LOOP;
    END IF;

    -- Retention and tiering, each its own subtransaction: one that fails is reported, and the
    -- partitions made above and the other steps stand.
    FOREACH p IN ARRAY coalesce(steps, '{}') LOOP
        CONTINUE WHEN p.action = 'create';
        victim := parts[p.idx];
        -- At most 100 partitions dropped, detached or moved here per run, oldest first, the
        -- others at the next runs: each keeps its locks until the run's transaction ends, and
        -- a table with thousands of partitions past retention (retention set or shortened on a
        -- long history) failed every run on the lock table (out of shared memory), dropping
        -- none. Those the worker detaches itself, one transaction each, are not counted.
        IF NOT (defer_detach AND (victim = ANY (pending)
                                  OR (dflt IS NULL AND p.action IN ('drop', 'detach')))) THEN
            CONTINUE WHEN retired >= 100;
            retired := retired + 1;
        END IF;
        partition := victim::text;
        detail := NULL;
        BEGIN
            IF victim = ANY (pending) AND p.action IN ('drop', 'detach') THEN
                -- Pending detach already: the worker finalizes it (and drops it for 'drop');
                -- by hand, it can be dropped, not detached (only FINALIZE completes it).
                handled := handled || victim;
                IF defer_detach THEN
                    action := 'detach_pending';
                    detail := 'finalize ' || p.action;
                    IF p.action = 'drop' THEN
                        EXECUTE format('COMMENT ON TABLE %s IS %L', victim,
                                       ai_scale._owed_drop_note(cfg.parent, cfg.retention));
                    END IF;
                ELSIF p.action = 'drop' THEN
                    EXECUTE format('DROP TABLE %s', victim);
                    action := 'dropped';
                    detail := 'older than retention ' || cfg.retention::text;
                ELSE
                    action := 'skipped';
                    detail := format('detach pending; the maintenance worker, or ALTER TABLE %s '
                                     'DETACH PARTITION %s FINALIZE, completes it', cfg.parent,
                                     victim);
                END IF;
            ELSIF defer_detach AND dflt IS NULL AND p.action IN ('drop', 'detach') THEN
                action := 'detach_pending';
                partition := victim::text;
                detail := p.action;
                IF p.action = 'drop' THEN
                    EXECUTE format('COMMENT ON TABLE %s IS %L', victim,
                                   ai_scale._owed_drop_note(cfg.parent, cfg.retention));
                END IF;
            ELSIF p.action = 'drop' THEN
                partition := victim::text;
                EXECUTE format('DROP TABLE %s', victim);
                action := 'dropped';
                detail := 'older than retention ' || cfg.retention::text;
            ELSIF p.action = 'detach' THEN
                partition := victim::text;
                EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', cfg.parent, victim);
                action := 'detached';
                detail := 'older than retention ' || cfg.retention::text;
            ELSE
                partition := victim::text;
                -- As the owner: it must have the right to create in the cold tablespace (the
                -- worker's superuser would move anyone's partitions into any tablespace).
                PERFORM ai_scale._as_owner(cfg.parent, format('ALTER TABLE %s SET TABLESPACE %I',
                                                              victim, cfg.cold_tablespace));
                action := 'moved_to_cold';
                detail := 'tablespace ' || quote_ident(cfg.cold_tablespace);
            END IF;
        EXCEPTION
            WHEN lock_not_available THEN
                action := 'skipped';
                detail := format('%s %s: %s; retried on the next run', p.action,
                                 coalesce(victim::text, format('from %s to %s',
                                     ai_scale._bound_text(p.lower, k.key_type, cfg.time_zone),
                                     ai_scale._bound_text(p.upper, k.key_type, cfg.time_zone))),
                                 SQLERRM);
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT;
                action := 'error';
                detail := format('%s %s: %s', p.action, victim, ai_scale._error_text(SQLERRM, err_hint));
        END;
        RETURN NEXT;
    END LOOP;

    -- The other partitions pending detach (a DETACH ... CONCURRENTLY interrupted, by the worker
    -- or by someone else): the worker completes the detach with DETACH ... FINALIZE, and keeps
    -- the table, since retention did not choose it.
    FOR victim IN SELECT i.inhrelid::regclass FROM pg_inherits i
                   WHERE cardinality(pending) > 0 AND i.inhrelid = ANY (pending)
                     AND NOT i.inhrelid = ANY (handled)
                     AND i.inhparent = cfg.parent AND i.inhdetachpending
    LOOP
        partition := victim::text;
        IF defer_detach THEN
            action := 'detach_pending';
            detail := 'finalize';
        ELSE
            action := 'skipped';
            detail := format('detach pending; the maintenance worker, or ALTER TABLE %s DETACH '
                             'PARTITION %s FINALIZE, completes it', cfg.parent, victim);
        END IF;
        RETURN NEXT;
    END LOOP;

    -- Rows left in the default partition (e.g. old rows inserted late): rescue them.
    IF dflt IS NOT NULL AND default_has_rows THEN
        BEGIN
            FOR r IN SELECT * FROM ai_scale._rescue_default(cfg.parent, cfg.rescue_batch_rows) LOOP
                action := 'rescued';
                partition := r.partition;
                detail := format('moved %s rows from the default partition', r.rows_moved);
                RETURN NEXT;
            END LOOP;
        EXCEPTION
            WHEN lock_not_available THEN
                action := 'skipped';
                partition := dflt::text;
                detail := format('rescue: %s; retried on the next run', SQLERRM);
                RETURN NEXT;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT;
                action := 'error';
                partition := dflt::text;
                detail := format('rescue: %s', ai_scale._error_text(SQLERRM, err_hint));
                RETURN NEXT;
        END;
    ELSIF dflt IS NOT NULL THEN
        -- An empty default keeps no index that an interrupted rescue_default_proc built for
        -- its batches and left behind (writers into the default would go on updating it). An
        -- index attached to one of the parent's is not such an index, and the comment that marks
        -- one is read only for the others (reading it costs a no-op run a fifth more).
        FOR victim IN SELECT i.indexrelid::regclass FROM pg_index i
                       WHERE i.indrelid = dflt
                         AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
        LOOP
            CONTINUE WHEN obj_description(victim, 'pg_class')
                          IS DISTINCT FROM ai_scale._rescue_index_comment();
            partition := victim::text;
            BEGIN
                EXECUTE format('DROP INDEX %s', victim);
                action := 'dropped';
                detail := 'index an interrupted rescue_default_proc left on the empty default partition';
            EXCEPTION
                WHEN lock_not_available THEN
                    action := 'skipped';
                    detail := format('dropping the index rescue_default_proc left: %s; retried on '
                                     'the next run', SQLERRM);
            END;
            RETURN NEXT;
        END LOOP;
    END IF;
END $$;

CREATE FUNCTION ai_scale._run_maintenance(parent regclass, defer_detach boolean)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cfg ai_scale.partition_config;
    managed regclass;
    r record;
    actions int := 0;
    errors int := 0;
    owner oid;
    caller_lock_timeout text := current_setting('lock_timeout');
    err_hint text;
BEGIN
    PERFORM ai_scale._require_primary('run_maintenance');
    IF _run_maintenance.parent IS NOT NULL THEN
        PERFORM ai_scale._config(_run_maintenance.parent);
    END IF;
    FOR cfg IN SELECT * FROM ai_scale.partition_config c
                WHERE _run_maintenance.parent IS NULL OR c.parent = _run_maintenance.parent
                ORDER BY c.parent::oid
    LOOP
        -- Making and dropping partitions needs the owner's rights: say so plainly, rather than
        -- with whichever statement fails first.
        owner := (SELECT c.relowner FROM pg_class c WHERE c.oid = cfg.parent);
        IF NOT pg_has_role(owner, 'USAGE') THEN
            errors := errors + 1;
            parent_table := cfg.parent;
            action := 'error';
            partition := NULL;
            detail := format('role %s does not own table %s (its owner is %s); maintenance '
                             'needs the owner''s rights (for the worker: ai_scale.maintenance_role)',
                             quote_ident(current_user), cfg.parent, owner::regrole);
            RETURN NEXT;
            CONTINUE;
        END IF;
        BEGIN
            -- Concurrent runs on the same table serialize here, waiting as long as the
            -- caller's lock_timeout allows (held to the end of the transaction).
            PERFORM set_config('lock_timeout', caller_lock_timeout, true);
            BEGIN
                PERFORM ai_scale._lock_for_maintenance(cfg.parent);
            EXCEPTION WHEN lock_not_available THEN
                parent_table := cfg.parent;
                action := 'skipped';
                partition := NULL;
                detail := 'another maintenance run holds this table; retried on the next run';
                RETURN NEXT;
                CONTINUE;
            END;
            -- The settings read above may have changed while this run waited for the lock (a
            -- manage_partitions that took retention away, an unmanage_partitions): a run that
            -- went on with them dropped partitions a committed change said to keep.
            managed := cfg.parent;
            SELECT * INTO cfg FROM ai_scale.partition_config c WHERE c.parent = managed;
            IF NOT FOUND THEN
                CONTINUE;
            END IF;
            -- Then short lock waits for all DDL.
            PERFORM set_config('lock_timeout',
                               ai_scale._setting('ai_scale.maintenance_lock_timeout'), true);
            -- All of it as the table's owner (see _as_owner_rows), with the settings as they
            -- are now.
            FOR r IN SELECT * FROM ai_scale._as_owner_rows(cfg.parent, format(
                         'SELECT * FROM ai_scale._maintain((SELECT c FROM ai_scale.partition_config c '
                         'WHERE c.parent = %s::oid::regclass), %L)', cfg.parent::oid, defer_detach))
                         AS t(parent_table regclass, action text, partition text, detail text)
            LOOP
                parent_table := r.parent_table;
                action := r.action;
                partition := r.partition;
                detail := r.detail;
                IF r.action = 'error' THEN
                    errors := errors + 1;
                ELSIF r.action NOT IN ('skipped', 'detach_pending') THEN
                    actions := actions + 1;
                END IF;
                RETURN NEXT;
            END LOOP;
        EXCEPTION
            -- A lock on the table itself, before any step (reading its partitions), not free
            -- in time: a transaction holds the table (an ALTER TABLE not committed yet).
            WHEN lock_not_available THEN
                parent_table := cfg.parent;
                action := 'skipped';
                partition := NULL;
                detail := SQLERRM || '; retried on the next run';
                RETURN NEXT;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT;
                -- Dropped while this run waited for it: nothing to maintain, nothing wrong.
                CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = cfg.parent);
                -- (PG_EXCEPTION_HINT is '' when the error has none, never NULL.)
                IF SQLSTATE = '42501' AND coalesce(err_hint, '') = '' THEN
                    err_hint := format('Maintenance acts as the table''s owner (%s), who needs '
                                       'CREATE on its schema and on the tablespace partitions '
                                       'go to (the table''s own, and cold_tablespace to tier).',
                                       owner::regrole);
                END IF;
                errors := errors + 1;
                parent_table := cfg.parent;
                action := 'error';
                partition := NULL;
                detail := ai_scale._error_text(SQLERRM, err_hint);
                RETURN NEXT;
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', caller_lock_timeout, true);
    -- The worker (defer_detach) calls this once per table and counts its runs itself.
    PERFORM ai_scale._count_maintenance(CASE WHEN defer_detach THEN 0 ELSE 1 END, actions, errors);
END $$;

CREATE FUNCTION ai_scale.run_maintenance(parent regclass DEFAULT NULL)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT * FROM ai_scale._run_maintenance(parent, false) $$;
COMMENT ON FUNCTION ai_scale.run_maintenance(regclass) IS
    'creates, drops, detaches and tiers partitions of one managed table (or all); one row per action';

CREATE FUNCTION ai_scale.manage_partitions(parent regclass, partition_interval interval,
                                           premake int DEFAULT 7,
                                           retention interval DEFAULT NULL,
                                           retention_mode text DEFAULT 'drop',
                                           cold_after interval DEFAULT NULL,
                                           cold_tablespace name DEFAULT NULL,
                                           time_zone text DEFAULT NULL,
                                           inherit_privileges boolean DEFAULT false)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
    zone text := coalesce(time_zone, ai_scale._setting('ai_scale.partition_time_zone'));
    nsp name;
    rel name;
    owner oid;
    dflt_name text;
    caller_lock_timeout text;
    r record;
BEGIN
    PERFORM ai_scale._require_primary('manage_partitions');
    IF manage_partitions.parent IS NULL THEN
        RAISE EXCEPTION 'parent must not be null' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    k := ai_scale._partition_key(manage_partitions.parent);
    -- The worker cannot reach another session's temporary table, and no event trigger fires
    -- when one goes at the end of its session: its row would stay behind.
    IF (SELECT c.relpersistence FROM pg_class c WHERE c.oid = manage_partitions.parent) = 't' THEN
        RAISE EXCEPTION 'cannot manage temporary table %', manage_partitions.parent
            USING ERRCODE = 'feature_not_supported';
    END IF;
    PERFORM ai_scale._check_config(partition_interval, premake, retention, retention_mode,
                                   cold_after);
    IF k.key_type = 'date'::regtype
       AND partition_interval <> date_trunc('day', partition_interval) THEN
        RAISE EXCEPTION 'partition_interval % is finer than the date key %', partition_interval,
                        k.key_column
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use whole days, weeks, months or years for a date key.';
    END IF;
    IF (retention_mode = 'tier' OR cold_after IS NOT NULL) AND cold_tablespace IS NULL THEN
        RAISE EXCEPTION 'cold_tablespace is required for retention_mode tier or cold_after'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF cold_tablespace IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_tablespace t WHERE t.spcname = cold_tablespace) THEN
        RAISE EXCEPTION 'tablespace "%" does not exist', cold_tablespace
            USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM now() AT TIME ZONE zone; -- 22023 for an unknown zone
    -- Partitions are made as the table's owner (see _as_owner_rows), in the table's schema.
    SELECT n.nspname, c.relname, c.relowner INTO nsp, rel, owner
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = manage_partitions.parent;
    PERFORM ai_scale._require_owner_create(manage_partitions.parent);
    -- Partitions are moved to cold_tablespace as the owner too (Postgres asks no privilege for
    -- the database's default tablespace): refused now rather than by every run that tiers.
    IF cold_tablespace IS NOT NULL
       AND (SELECT t.oid FROM pg_tablespace t WHERE t.spcname = cold_tablespace)
           <> (SELECT d.dattablespace FROM pg_database d WHERE d.datname = current_database())
       AND NOT has_tablespace_privilege(owner, cold_tablespace, 'CREATE') THEN
        RAISE EXCEPTION 'the owner of table % (%) may not create in tablespace %',
                        manage_partitions.parent, owner::regrole, quote_ident(cold_tablespace)
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'ai_scale moves partitions to cold_tablespace as the table''s owner.',
                  HINT = format('GRANT CREATE ON TABLESPACE %I TO %s;', cold_tablespace,
                                owner::regrole);
    END IF;

    -- After any other manage_partitions or maintenance run of the table: two first calls at
    -- once would both add a default partition, and the second fail (42P07).
    PERFORM ai_scale._lock_for_maintenance(manage_partitions.parent);
    IF ai_scale._default_partition(manage_partitions.parent) IS NULL THEN
        dflt_name := format('%I.%I', nsp, ai_scale._partition_name(nsp, rel, 'default'));
        -- Adding a partition this way locks the whole table: with the short timeout of all
        -- maintenance DDL, so that new queries never queue behind a long-running one.
        caller_lock_timeout := current_setting('lock_timeout');
        PERFORM set_config('lock_timeout',
                           ai_scale._setting('ai_scale.maintenance_lock_timeout'), true);
        BEGIN
            -- As the owner (see _as_owner_rows), who then owns it, as every partition.
            PERFORM ai_scale._as_owner(manage_partitions.parent,
                                       format('CREATE TABLE %s PARTITION OF %s DEFAULT',
                                              dflt_name, manage_partitions.parent));
        EXCEPTION WHEN lock_not_available THEN
            RAISE EXCEPTION 'could not lock table % to add its default partition',
                            manage_partitions.parent
                USING ERRCODE = 'lock_not_available',
                      DETAIL = format('The lock was not free within '
                                      'ai_scale.maintenance_lock_timeout (%s).',
                                      current_setting('lock_timeout')),
                      HINT = 'A transaction holds the table; call manage_partitions again once it ends.';
        END;
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        IF manage_partitions.inherit_privileges THEN
            PERFORM ai_scale._copy_grants(manage_partitions.parent, dflt_name);
        END IF;
    END IF;
    INSERT INTO ai_scale.partition_config AS c
        (parent, partition_interval, premake, retention, retention_mode, cold_after,
         cold_tablespace, time_zone, inherit_privileges)
    VALUES (manage_partitions.parent, partition_interval, premake, retention, retention_mode,
            cold_after, cold_tablespace, zone, coalesce(manage_partitions.inherit_privileges, false))
    ON CONFLICT ON CONSTRAINT partition_config_pkey DO UPDATE
       SET partition_interval = EXCLUDED.partition_interval, premake = EXCLUDED.premake,
           retention = EXCLUDED.retention, retention_mode = EXCLUDED.retention_mode,
           cold_after = EXCLUDED.cold_after, cold_tablespace = EXCLUDED.cold_tablespace,
           time_zone = EXCLUDED.time_zone, inherit_privileges = EXCLUDED.inherit_privileges;
    -- The first run is part of adopting the table: if it fails, nothing is kept.
    FOR r IN SELECT * FROM ai_scale._run_maintenance(manage_partitions.parent, false) LOOP
        IF r.action = 'error' THEN
            RAISE EXCEPTION 'could not maintain %: %', manage_partitions.parent, r.detail
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        parent_table := r.parent_table;
        action := r.action;
        partition := r.partition;
        detail := r.detail;
        RETURN NEXT;
    END LOOP;
END $$;
COMMENT ON FUNCTION ai_scale.manage_partitions(regclass, interval, int, interval, text, interval, name, text, boolean) IS
    'adopts a table range-partitioned on a timestamptz, timestamp or date column and maintains it';

CREATE FUNCTION ai_scale.unmanage_partitions(parent regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    marked regclass;
BEGIN
    PERFORM ai_scale._require_primary('unmanage_partitions');
    PERFORM ai_scale._config(parent);
    -- After any maintenance run on the table in progress (a run waiting for it then finds the
    -- table no longer managed).
    PERFORM ai_scale._lock_for_maintenance(parent);
    DELETE FROM ai_scale.partition_config c WHERE c.parent = unmanage_partitions.parent;
    -- The tables the worker detached to drop and did not drop (see _owed_drop_note) are kept,
    -- as the worker keeps one whose table is unmanaged during its detach: no run looks at
    -- them while the table is unmanaged, and one after it was managed again with the same
    -- retention dropped them. As the owner, whose tables they are (see _maintain).
    FOR marked IN SELECT m.rel FROM ai_scale._owed_drop_marked(parent) m LOOP
        PERFORM ai_scale._as_owner(parent, format('COMMENT ON TABLE %s IS NULL', marked));
    END LOOP;
END $$;
COMMENT ON FUNCTION ai_scale.unmanage_partitions(regclass) IS
    'stops maintaining a table; its partitions and rows stay as they are';

-- Gives every partition of parent exactly the parent's table-level grants (revoking the others;
-- the owner's rights stay), e.g. after grants on the parent changed. Returns the partitions.
CREATE FUNCTION ai_scale.reapply_privileges(parent regclass) RETURNS SETOF regclass
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    part regclass;
    grantee oid;
    owner oid;
BEGIN
    PERFORM ai_scale._require_primary('reapply_privileges');
    PERFORM ai_scale._partition_key(parent);
    -- GRANT and REVOKE by a role that holds some privileges on a partition but not the owner's
    -- only warn and change nothing: say so plainly instead of returning the partitions as done.
    owner := (SELECT c.relowner FROM pg_class c WHERE c.oid = parent);
    IF NOT pg_has_role(owner, 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to reapply the privileges of %', parent
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Only the table''s owner (%s), its members and superusers may.',
                                  owner::regrole);
    END IF;
    FOR part IN SELECT i.inhrelid::regclass FROM pg_inherits i
                 WHERE i.inhparent = reapply_privileges.parent ORDER BY i.inhrelid::regclass::text
    LOOP
        FOR grantee IN SELECT DISTINCT a.grantee
                         FROM pg_class c, aclexplode(c.relacl) a
                        WHERE c.oid = part AND a.grantee <> c.relowner
        LOOP
            EXECUTE format('REVOKE ALL ON %s FROM %s CASCADE', part, ai_scale._grantee(grantee));
        END LOOP;
        PERFORM ai_scale._copy_grants(parent, part::text);
        RETURN NEXT part;
    END LOOP;
END $$;
COMMENT ON FUNCTION ai_scale.reapply_privileges(regclass) IS
    'gives every partition exactly the parent''s table-level grants; returns the partitions';

CREATE FUNCTION ai_scale.create_prediction_store(name text DEFAULT 'public.model_predictions',
                                                 partition_interval interval DEFAULT '1 day',
                                                 premake int DEFAULT 7,
                                                 retention interval DEFAULT NULL)
    RETURNS regclass
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    parts text[];
    nsp text;
    rel text;
    tbl regclass;
BEGIN
    PERFORM ai_scale._require_primary('create_prediction_store');
    PERFORM ai_scale._check_config(partition_interval, premake, retention, 'drop', NULL);
    parts := parse_ident(name);
    IF array_length(parts, 1) = 1 THEN
        nsp := 'public';
        rel := parts[1];
    ELSIF array_length(parts, 1) = 2 THEN
        nsp := parts[1];
        rel := parts[2];
    ELSE
        RAISE EXCEPTION 'invalid table name "%"', name USING ERRCODE = 'invalid_name';
    END IF;
    IF octet_length(rel) > 63 THEN
        RAISE EXCEPTION 'table name "%" is longer than 63 bytes', rel
            USING ERRCODE = 'name_too_long';
    END IF;
    EXECUTE format($ddl$
        CREATE TABLE %I.%I (
            prediction_id uuid        NOT NULL DEFAULT gen_random_uuid(),
            model_name    text        NOT NULL,
            model_version int         NOT NULL,
            input_data    jsonb,
            output_data   jsonb,
            input_hash    bigint,
            created_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (prediction_id, created_at)
        ) PARTITION BY RANGE (created_at)$ddl$, nsp, rel);
    tbl := format('%I.%I', nsp, rel)::regclass;
    EXECUTE format('CREATE INDEX ON %s (model_name, model_version, input_hash, created_at)', tbl);
    PERFORM ai_scale.manage_partitions(tbl, partition_interval, premake, retention);
    RETURN tbl;
END $$;
COMMENT ON FUNCTION ai_scale.create_prediction_store(text, interval, int, interval) IS
    'creates the prediction table, range-partitioned by day on created_at, and manages it';

CREATE FUNCTION ai_scale.partitions(parent regclass)
    RETURNS TABLE (partition regclass, lower text, upper text, tier text, tablespace name,
                   rows_estimate bigint, bytes bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
    zone text;
    cold name;
BEGIN
    k := ai_scale._partition_key(parent);
    SELECT c.time_zone, c.cold_tablespace INTO zone, cold
      FROM ai_scale.partition_config c WHERE c.parent = partitions.parent;
    zone := coalesce(zone, ai_scale._setting('ai_scale.partition_time_zone'));
    -- A timestamptz bound is shown as the instant it is (read as a UTC wall-clock time): read
    -- in the table's zone, one in the first pass of a local hour that a fall-back change
    -- repeats came back as the second pass, an hour off.
    IF k.key_type = 'timestamptz'::regtype THEN
        zone := 'UTC';
    END IF;
    RETURN QUERY
    SELECT b.partition,
           CASE WHEN b.is_default THEN NULL ELSE coalesce(ai_scale._bound_text(b.lower, k.key_type, zone), 'MINVALUE') END,
           CASE WHEN b.is_default THEN NULL ELSE coalesce(ai_scale._bound_text(b.upper, k.key_type, zone), 'MAXVALUE') END,
           CASE WHEN b.is_default THEN 'default'
                WHEN cold IS NOT NULL AND t.spcname = cold THEN 'cold' ELSE 'hot' END,
           coalesce(t.spcname, (SELECT d.spcname FROM pg_database db
                                  JOIN pg_tablespace d ON d.oid = db.dattablespace
                                 WHERE db.datname = current_database())),
           CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END,
           pg_total_relation_size(b.partition)
      FROM ai_scale._bounds(parent, zone) b
      JOIN pg_class c ON c.oid = b.partition
      LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
     ORDER BY b.is_default, b.lower NULLS FIRST;
END $$;
COMMENT ON FUNCTION ai_scale.partitions(regclass) IS
    'each partition of a table: bounds, tier, tablespace, estimated rows and bytes, by bound';

-- Nothing here runs with elevated rights: maintenance does only the DDL its caller may do
-- (table owners). Who may register tables is decided by privileges on partition_config, which
-- everyone may read and only its owner (the superuser who created the extension) may change
-- unless they grant it; and a role granted that may still change only the rows of tables it
-- owns (or whose owner it is a member of), since maintenance acts on them with the rights of
-- whoever runs it, often the worker's superuser.
GRANT SELECT ON ai_scale.partition_config TO PUBLIC;

CREATE FUNCTION ai_scale._check_config_owner() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    rel regclass;
    owner oid;
BEGIN
    FOREACH rel IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW.parent]
                                    WHEN 'DELETE' THEN ARRAY[OLD.parent]
                                    ELSE ARRAY[OLD.parent, NEW.parent] END
    LOOP
        -- No owner: the table is being dropped (see _forget_dropped_tables).
        owner := (SELECT c.relowner FROM pg_class c WHERE c.oid = rel);
        IF owner IS NOT NULL AND NOT pg_has_role(owner, 'USAGE') THEN
            RAISE EXCEPTION 'permission denied to manage the partitions of %', rel
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('Only the table''s owner (%s), its members and superusers '
                                      'may change its row in ai_scale.partition_config.',
                                      owner::regrole);
        END IF;
    END LOOP;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER partition_config_owner BEFORE INSERT OR UPDATE OR DELETE
    ON ai_scale.partition_config FOR EACH ROW EXECUTE FUNCTION ai_scale._check_config_owner();

-- A managed table that is dropped leaves no config row behind. The one function here that
-- runs with its owner's rights (the superuser who created the extension): the event trigger
-- fires on every DROP in the database, by any role, and a role that may drop a table need
-- not be allowed to write partition_config; Postgres checks that right even when no row
-- matches, so without it every DROP by such a role would fail. It deletes only the rows of
-- tables being dropped, and an event trigger function cannot be called directly.
CREATE FUNCTION ai_scale._forget_dropped_tables() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM ai_scale.partition_config c
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.parent::oid
       AND d.objsubid = 0; -- not a column of it
END $$;
REVOKE EXECUTE ON FUNCTION ai_scale._forget_dropped_tables() FROM PUBLIC;
CREATE EVENT TRIGGER ai_scale_forget_dropped_tables ON sql_drop
    EXECUTE FUNCTION ai_scale._forget_dropped_tables();
