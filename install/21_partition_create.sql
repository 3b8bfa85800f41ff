-- Making one partition: built standalone and attached (see install/20_partition_config.sql
-- for the component as a whole).

-- For _create_partition: the bounds [lo, hi) (local times in zone) as literals of key_type
-- (lo_lit, hi_lit) and for people (bounds); all NULL for a range a DST change makes empty.
-- Written out here rather than through the small helpers in
-- install/20_partition_time.sql: this runs once per partition, and every call of a function
-- with its own search_path costs a GUC save and restore.
CREATE FUNCTION ai_scale._partition_literals(key_type regtype, zone text, lo timestamp,
                                             hi timestamp, OUT lo_lit text, OUT hi_lit text,
                                             OUT bounds text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    lo_at timestamptz;
    hi_at timestamptz;
    bc constant timestamp := '0001-01-01 00:00'; -- to_char's YYYY leaves the era out (see _era)
BEGIN
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
END $$;

-- The statement that gives a new partition of parent the parent's replica identity, where it is
-- FULL, NOTHING or USING INDEX; NULL otherwise. Postgres copies none into a partition (CREATE
-- ... PARTITION OF and LIKE make it DEFAULT: its primary key, or nothing), and a published store
-- without a key, set to FULL with each of its partitions, had every UPDATE and DELETE over it
-- fail (55000, no replica identity) once maintenance made a partition. For USING INDEX, the
-- partition's index attached to the parent's identity index: NULL until the partition is
-- attached (its indexes are attached with it), so the callers that attach ask again after.
-- PL/pgSQL, which keeps the query's plan for the session: as a SQL function (its SET clause
-- keeps Postgres from inlining it) the join was planned afresh at every partition made, 0.4 ms
-- of the 7 an add takes at 1,000 partitions.
CREATE FUNCTION ai_scale._replica_identity_statement(parent regclass, partition text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    identity text;
BEGIN
    SELECT format('ALTER TABLE %s REPLICA IDENTITY %s', partition,
                  CASE c.relreplident WHEN 'f' THEN 'FULL' WHEN 'n' THEN 'NOTHING'
                                      ELSE format('USING INDEX %I', own.relname) END)
      INTO identity
      -- (The identity as it is now: see _pg_class_now.)
      FROM ai_scale._pg_class_now(parent) c
      -- (The parent's identity index as it is now too; the partition's index attached to it
      -- is this transaction's, which its snapshot shows.)
      LEFT JOIN LATERAL (
          SELECT x.relname
            FROM pg_inherits h
            JOIN pg_index ci ON ci.indexrelid = h.inhrelid
            JOIN pg_class x ON x.oid = ci.indexrelid
           WHERE h.inhparent = c.replident_index
             AND ci.indrelid = partition::regclass) own ON c.relreplident = 'i'
     WHERE (c.relreplident IN ('f', 'n') OR (c.relreplident = 'i' AND own.relname IS NOT NULL));
    RETURN identity;
END $$;

-- For the callers that attach a partition they made: the parent's replica identity, where it
-- names an index (USING INDEX), given to the partition now that its indexes are attached.
CREATE FUNCTION ai_scale._replica_identity_after_attach(parent regclass, partition text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    identity text;
BEGIN
    IF (SELECT c.relreplident FROM ai_scale._pg_class_now(parent) c) = 'i' THEN
        identity := ai_scale._replica_identity_statement(parent, partition);
        IF identity IS NOT NULL THEN
            EXECUTE identity;
        END IF;
    END IF;
END $$;

-- For _create_partition: makes the table of the partition [lo_lit, hi_lit) of parent, named
-- after parent and suffix in parent's schema, and returns its name. With in_place, as a
-- partition of parent (CREATE ... PARTITION OF); otherwise standalone, to be attached, and
-- with stage given (rescue_default) without indexes. The table goes to the parent's tablespace
-- when it has one, as Postgres places the partitions it makes. With copy_grants, it gets the
-- parent's grants.
-- The table is empty, so its indexes (and its TOAST table's) are built without parallel
-- workers anyway; with max_parallel_maintenance_workers above 0, Postgres still weighs them,
-- looking up the statistics of each of the table's columns (pg_statistic rows that cannot exist
-- yet), and a session keeps those misses in its catalog caches for good, after the partition's
-- drop too: 5.5 kB a partition of 31 columns with one index, 460 bytes with none (the
-- maintenance worker lives as long as the server; TAP 254, docs/partitioning.md).
CREATE FUNCTION ai_scale._new_partition_table(parent regclass, key_column name, suffix text,
                                              lo_lit text, hi_lit text, stage regclass,
                                              in_place boolean, copy_grants boolean)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET max_parallel_maintenance_workers = 0
    AS $$
DECLARE
    nsp name;
    nsp_oid oid;
    rel name;
    spc name;
    name text;
    partition text;
    identity text;
BEGIN
    SELECT n.nspname, c.relname, c.relnamespace
      INTO nsp, rel, nsp_oid
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = parent;
    -- The parent's tablespace as it is now (see _pg_class_now), by its name now: read under
    -- the snapshot of a REPEATABLE READ caller's, one renamed since was not found (42704).
    SELECT c.spcname INTO spc FROM ai_scale._pg_class_now(parent) c;
    name := rel || '_' || suffix;
    -- A name a type has is taken too (see _partition_name): checked against pg_class alone, a
    -- domain or enum of the name failed CREATE TABLE at every run, and no partition was made.
    IF octet_length(name) > 63
       OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = name AND c.relnamespace = nsp_oid)
       OR EXISTS (SELECT 1 FROM pg_type t WHERE t.typname = name AND t.typnamespace = nsp_oid) THEN
        name := ai_scale._partition_name(nsp, rel, suffix);
    END IF;
    partition := format('%I.%I', nsp, name);
    -- For a rescue, without indexes (the attach builds them in bulk) and with its bounds as a
    -- CHECK constraint, which spares the attach its scan of the rows; rescue_default drops it.
    -- As CREATE ... PARTITION OF makes it: without identity (the parent's sequence numbers the
    -- rows; one of its own gave a row inserted into the partition directly a number the
    -- parent's had given already), extended statistics or comments of its own.
    IF in_place THEN
        EXECUTE format('CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%s) TO (%s)',
                       partition, parent, lo_lit, hi_lit);
    ELSE
        EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING ALL EXCLUDING IDENTITY '
                       'EXCLUDING STATISTICS EXCLUDING COMMENTS%s)%s', partition, parent,
                       CASE WHEN stage IS NOT NULL
                            THEN format(' EXCLUDING INDEXES, CONSTRAINT ai_scale_rescue_bounds '
                                        'CHECK (%I >= %s AND %I < %s)',
                                        key_column, lo_lit, key_column, hi_lit)
                            ELSE '' END,
                       CASE WHEN spc IS NOT NULL THEN format(' TABLESPACE %I', spc) ELSE '' END);
    END IF;
    identity := ai_scale._replica_identity_statement(parent, partition);
    IF identity IS NOT NULL THEN
        EXECUTE identity;
    END IF;
    IF copy_grants THEN
        PERFORM ai_scale._copy_grants(parent, partition);
    END IF;
    RETURN partition;
END $$;

-- For a move of the rows of default_partition in range (a condition on its key) that copies
-- them out (copy: the INSERT ... SELECT that does) and then deletes them: runs both as the
-- table's owner and returns the rows copied, which the move holds. Raises 09000 where the
-- rows the copy holds and those the DELETE removed differ but by rows deleted otherwise:
-- * where the default has a DO ALSO rule on DELETE (its action runs before the DELETE), told
--   apart by their ctid: rows the action wrote into the range were deleted uncopied, lost
--   without a word (a count missed a row written beside one the rule deleted); rows it updated
--   out of the range, or into another partition, would be both moved and kept changed, twice;
--   rows a BEFORE DELETE trigger kept (returned NULL for) would be twice too. Rows the action
--   deleted, a cascade to related rows of the range, take nothing from the move: the copy holds
--   them. (A row the action deleted and wrote again out of the range, an INSERT beside the
--   DELETE, is not told from such a cascade: twice, docs/partitioning.md);
-- * otherwise, where BEFORE DELETE FOR EACH ROW triggers fire and the DELETE removed fewer rows
--   than were copied: a trigger kept them, or changed them.
CREATE FUNCTION ai_scale._copy_then_delete(parent regclass, default_partition regclass,
                                           range text, copy text) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    ruled boolean;
    copied bigint;
    deleted bigint;
    copied_rows tid[];
    deleted_rows tid[];
    missing tid[];
    uncopied bigint := 0;
    kept bigint := 0;
    changed bigint := 0;
BEGIN
    ruled := ai_scale._delete_rule_fired(default_partition);
    IF ruled THEN
        SELECT array_agg(t.c) INTO copied_rows
          FROM ai_scale._as_owner_rows(parent, format('SELECT ctid FROM ONLY %s WHERE %s',
                                                      default_partition, range)) AS t(c tid);
    END IF;
    copied := ai_scale._as_owner(parent, copy);
    IF NOT ruled THEN
        -- Counted alone: more deleted than copied, a rule the catalog did not show ran (the
        -- checks of the catalog as it is now should have caught it); fewer, where a BEFORE
        -- DELETE row trigger fires, it kept or changed them (not told apart without the rows).
        deleted := ai_scale._as_owner(parent, format('DELETE FROM ONLY %s WHERE %s',
                                                     default_partition, range));
        uncopied := greatest(deleted - copied, 0);
        IF deleted < copied AND ai_scale._row_delete_trigger_fired(default_partition) THEN
            kept := copied - deleted;
        END IF;
    ELSE
        SELECT array_agg(t.c) INTO deleted_rows
          FROM ai_scale._as_owner_rows(parent, format(
                   'DELETE FROM ONLY %s WHERE %s RETURNING ctid', default_partition, range))
            AS t(c tid);
        SELECT count(*) INTO uncopied
          FROM (SELECT unnest(deleted_rows) EXCEPT SELECT unnest(copied_rows)) x;
        -- Copied rows the DELETE did not remove (none uncopied, fewer deleted than copied):
        -- deleted by the rule's action (a cascade), which is well, or kept, or changed. (Not
        -- asked of a default, not a heap table, under a rule that deletes none, whose rows
        -- _rows_left cannot tell of; nor the difference made, 0.7 s of 200,000 rows.)
        IF uncopied = 0 AND coalesce(cardinality(deleted_rows), 0) < cardinality(copied_rows) THEN
            missing := ARRAY(SELECT unnest(copied_rows) EXCEPT SELECT unnest(deleted_rows));
            SELECT t.k, t.c INTO kept, changed
              FROM ai_scale._as_owner_rows(parent, format(
                       'SELECT kept, changed FROM ai_scale._rows_left(%s::oid, %L)',
                       default_partition::oid, missing)) AS t(k bigint, c bigint);
        END IF;
    END IF;
    IF uncopied > 0 THEN
        RAISE EXCEPTION 'moving rows out of the default partition of % deleted % not copied out',
                        parent, ai_scale._count(uncopied, 'row', 'rows')
            USING ERRCODE = 'triggered_action_exception',
                  DETAIL = format('A rule on DELETE from %s wrote or changed rows of their range '
                                  'before the DELETE, which would remove them uncopied.',
                                  default_partition),
                  HINT = 'Let the rule write elsewhere, or disable it while maintenance or '
                         'rescue_default runs.';
    END IF;
    IF changed > 0 THEN
        RAISE EXCEPTION 'moving rows out of the default partition of % would make % twice',
                        parent, ai_scale._count(changed, 'row', 'rows')
            USING ERRCODE = 'triggered_action_exception',
                  DETAIL = format('A rule or trigger on DELETE from %s updated rows being moved '
                                  'before the DELETE: they would be moved as they were and kept '
                                  'as changed.', default_partition),
                  HINT = 'Let the rule or trigger leave rows of the default alone, or disable '
                         'it while maintenance or rescue_default runs.';
    END IF;
    IF kept > 0 THEN
        RAISE EXCEPTION 'moving rows out of the default partition of % deleted % of the % '
                        'copied out', parent, copied - kept, copied
            USING ERRCODE = 'triggered_action_exception',
                  DETAIL = format('The DELETE from %s that moves them kept some: a BEFORE DELETE '
                                  'trigger returned NULL for them%s.', default_partition,
                                  CASE WHEN ruled THEN '' ELSE ' or changed them' END),
                  HINT = 'Let the trigger delete rows that are being moved, or disable it while '
                         'maintenance or rescue_default runs.';
    END IF;
    RETURN copied;
END $$;

-- For _create_partition, for moves that publications and triggers must see (see
-- _moves_through_parent), before the attach: the rows [lo_lit, hi_lit) of default_partition
-- moved out into a holding table, whose name it returns with the rows moved. The holding table
-- has just the columns an INSERT names (a generated column is computed again), without their
-- constraints; it lives in the parent's schema (maintenance runs as the owner in a
-- security-restricted operation, which may not make a temporary table) and is dropped before
-- the transaction ends (_release_held_rows), so no other session ever sees it. Unlogged, as a
-- temporary one was: a publication FOR ALL TABLES (or for the schema) publishes every permanent
-- table, and a subscriber, which has no such table, stopped on its rows for good. Where the
-- default has a DO ALSO rule on DELETE that the session fires, the rows are copied, then
-- deleted by a plain DELETE, which runs it (Postgres refuses such a rule for a DELETE in a WITH
-- query), the default locked against writers in between (a row written after the copy would
-- be deleted uncopied): _copy_then_delete, which refuses the moves it can tell would lose or
-- double rows.
CREATE FUNCTION ai_scale._hold_default_rows(parent regclass, key_column name,
                                            default_partition regclass, lo_lit text,
                                            hi_lit text, OUT holding text,
                                            OUT rows_moved bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    nsp name;
    rel name;
    cols text := ai_scale._insert_columns(parent);
    range text := format('%I >= %s AND %I < %s', key_column, lo_lit, key_column, hi_lit);
BEGIN
    SELECT n.nspname, c.relname INTO nsp, rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
    holding := format('%I.%I', nsp, ai_scale._partition_name(nsp, rel, 'moving'));
    EXECUTE format('CREATE UNLOGGED TABLE %s AS SELECT %s FROM ONLY %s WITH NO DATA', holding,
                   cols, default_partition);
    IF ai_scale._delete_rule_fired(default_partition) THEN
        EXECUTE format('LOCK TABLE ONLY %s IN SHARE ROW EXCLUSIVE MODE', default_partition);
        -- (A BEFORE DELETE trigger that kept a row, or moved its key out of the range, left it
        -- copied too, and the move failed saying a BEFORE INSERT trigger had lost "-1" rows.)
        rows_moved := ai_scale._copy_then_delete(parent, default_partition, range, format(
            'INSERT INTO %s (%s) SELECT %s FROM ONLY %s WHERE %s', holding, cols, cols,
            default_partition, range));
        RETURN;
    END IF;
    rows_moved := ai_scale._as_owner(parent, format(
        'WITH moved AS (DELETE FROM ONLY %s WHERE %s RETURNING %s) '
        'INSERT INTO %s (%s) SELECT %s FROM moved',
        default_partition, range, cols, holding, cols, cols));
END $$;

-- For _create_partition, once the partition is attached: the rows_moved rows that
-- _hold_default_rows moved out of default_partition into holding go into parent, which routes
-- them there; holding is dropped.
CREATE FUNCTION ai_scale._release_held_rows(parent regclass, default_partition regclass,
                                            holding text, rows_moved bigint) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cols text := ai_scale._insert_columns(parent);
    arrived bigint;
BEGIN
    arrived := ai_scale._as_owner(parent, format(
        'INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s',
        parent, cols, cols, holding));
    -- A BEFORE INSERT trigger that skips rows (returns NULL) would lose them here: they
    -- have left the default already. Nothing is moved then.
    IF arrived <> rows_moved THEN
        RAISE EXCEPTION 'moving rows out of the default partition of % lost % of them',
                        parent, rows_moved - arrived
            USING ERRCODE = 'triggered_action_exception',
                  DETAIL = format('%s left %s, but only %s inserted through %s: a '
                                  'BEFORE INSERT trigger skipped the others.',
                                  ai_scale._count(rows_moved, 'row', 'rows'), default_partition,
                                  CASE WHEN arrived = 1 THEN '1 was' ELSE arrived || ' were' END,
                                  parent),
                  HINT = 'Let the trigger keep rows that are being moved, or disable it while '
                         'rescue_default runs.';
    END IF;
    EXECUTE format('DROP TABLE %s', holding);
END $$;

-- Creates the partition [lo, hi) (local times in zone) next to parent and attaches it, first
-- moving into it any rows of that range sitting in the default partition, so that the attach
-- can never fail on them. Built standalone and attached, rather than CREATE ... PARTITION OF,
-- because ATTACH takes only SHARE UPDATE EXCLUSIVE on the parent: inserts into the other
-- partitions go on meanwhile. With in_place, for a parent the caller holds in ACCESS EXCLUSIVE
-- mode anyway, it is made with CREATE ... PARTITION OF, which costs a quarter less. With stage
-- given (rescue_default), the table is made without indexes and attached to stage instead; the
-- caller fills it and attaches it to parent, which then builds its indexes in bulk. With
-- through_parent, the default's rows go through the parent (_hold_default_rows, then
-- _release_held_rows). Returns the new name (NULL for a range a DST change makes empty), the
-- rows moved, the bounds for people and as literals of the key type.
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
    lits record;
    cols text;
    held record;
    kept bigint;
    err_schema text;
    err_table text;
    err_constraint text;
BEGIN
    rows_moved := 0;
    lits := ai_scale._partition_literals(key_type, zone, lo, hi);
    lo_lit := lits.lo_lit;
    hi_lit := lits.hi_lit;
    bounds := lits.bounds;
    -- No bounds: local times that a DST change skips (bounds is never NULL otherwise).
    IF bounds IS NULL THEN
        RETURN;
    END IF;
    partition := ai_scale._new_partition_table(parent, key_column, suffix, lo_lit, hi_lit, stage,
                                               in_place, copy_grants);
    IF in_place THEN
        -- (Asked again of the tree with the partition in it: see the end.)
        PERFORM ai_scale._require_acting_owner(parent);
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
        held := ai_scale._hold_default_rows(parent, key_column, default_partition, lo_lit,
                                            hi_lit);
        rows_moved := held.rows_moved;
    END IF;
    IF default_partition IS NULL THEN
        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                       parent, partition, lo_lit, hi_lit);
    ELSE
        BEGIN
            EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                           parent, partition, lo_lit, hi_lit);
        EXCEPTION WHEN check_violation THEN
            -- Rows of the range still in the default after their DELETE: a BEFORE DELETE
            -- trigger on it returned NULL for them, or a trigger or rule the DELETE fired
            -- wrote them back (a soft delete). Postgres's words named the default's partition
            -- constraint alone, at every run.
            EXECUTE format('SELECT count(*) FROM ONLY %s WHERE %I >= %s AND %I < %s',
                           default_partition, key_column, lo_lit, key_column, hi_lit)
               INTO kept;
            IF kept = 0 THEN
                -- None the snapshot sees: in REPEATABLE READ or SERIALIZABLE, one committed
                -- after it, before the lock (40001; a rescue through the parent raised this
                -- 23514, which no client's retry catches).
                GET STACKED DIAGNOSTICS err_schema = SCHEMA_NAME, err_table = TABLE_NAME,
                                        err_constraint = CONSTRAINT_NAME;
                PERFORM ai_scale._raise_if_default_row_unseen(default_partition, SQLSTATE,
                                                              err_schema, err_table,
                                                              err_constraint);
                RAISE;
            END IF;
            RAISE EXCEPTION 'moving rows out of the default partition of % left % there',
                            parent, ai_scale._count(kept, 'row', 'rows')
                USING ERRCODE = 'triggered_action_exception',
                      DETAIL = format('The DELETE that moves them out of %s kept them, or wrote '
                                      'them back: a BEFORE DELETE trigger on it returned NULL, '
                                      'or a trigger or rule on DELETE wrote rows of their '
                                      'range into it.', default_partition),
                      HINT = 'Let the trigger delete rows that are being moved, or write '
                             'elsewhere, or disable it while maintenance or rescue_default '
                             'runs.';
        END;
    END IF;
    PERFORM ai_scale._replica_identity_after_attach(parent, partition);
    IF default_partition IS NOT NULL AND through_parent THEN
        PERFORM ai_scale._release_held_rows(parent, default_partition, held.holding, rows_moved);
    END IF;
    -- The tree asked again with the partition in it: the owner's default privileges may have
    -- given it a grant (TRIGGER to a role without the owner's rights) that the run's check at
    -- its start did not see, and which the run would otherwise commit.
    PERFORM ai_scale._require_acting_owner(parent);
END $$;
