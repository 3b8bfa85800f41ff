-- Rows in the default partition: finding their cells, moving them into partitions of their
-- own in batches (rescue_default, rescue_default_proc), and counting them (check_default).

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

-- For _default_cells: the condition (SQL over key_column, a key of key_type) that a key a
-- partition can hold meets: not NULL, finite, and away from the ends of the timestamp range,
-- where a cell's bounds (and their conversions between time zones) would overflow.
CREATE FUNCTION ai_scale._placeable_keys(key_column name, key_type regtype,
                                         partition_interval interval) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    lowest timestamp;
    highest timestamp;
BEGIN
    BEGIN
        lowest := timestamp '4713-01-01 00:00 BC' + interval '2 days' + partition_interval * 2;
        highest := timestamp '294276-12-31 00:00' - interval '2 days' - partition_interval * 2;
    EXCEPTION WHEN datetime_field_overflow THEN
        lowest := 'infinity'; -- an interval of millennia: no key is safe
        highest := '-infinity';
    END;
    -- As literals that read the same in every DateStyle (a timestamp's text in 'SQL, YMD' is
    -- one that style cannot read back).
    RETURN format('%1$I >= %2$s AND %1$I < %3$s', key_column,
                  ai_scale._bound_literal(lowest, key_type, 'UTC'),
                  ai_scale._bound_literal(highest, key_type, 'UTC'));
END $$;

-- For _default_cells, with an index on the key: the spans no partition of dflt's parent
-- covers, oldest first (instants, as UTC wall-clock times for a timestamptz key): the
-- default's rows can only lie there. Probing them alone keeps the walk off the index entries of
-- rows earlier batches moved out (dead until a VACUUM), which lie in ranges partitions now
-- cover. The parent is read from the catalog as it is now, as _default_partition reads dflt:
-- in REPEATABLE READ, for a default another session attached after the snapshot was taken,
-- pg_inherits under the snapshot named none, and the rescue failed on a NULL parent.
CREATE FUNCTION ai_scale._uncovered_spans(dflt regclass,
                                          OUT gap_lows timestamp[], OUT gap_highs timestamp[])
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH b AS (
        SELECT coalesce(x.lower, '-infinity') AS lo, coalesce(x.upper, 'infinity') AS hi
          FROM ai_scale._bounds((SELECT a.rel FROM pg_partition_ancestors(dflt)
                                               WITH ORDINALITY a(rel, n) WHERE a.n = 2),
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
    SELECT array_agg(g.lo ORDER BY g.lo), array_agg(g.hi ORDER BY g.lo) FROM gaps g
$$;

-- For _default_cells, with a valid btree index on dflt leading with the key: the cells walked
-- from the oldest row of each uncovered span (_uncovered_spans), a few index probes each, until
-- they hold batch_rows rows (or number 100), with their row counts. placeable is
-- _placeable_keys' condition, local_cell the SQL of the cell of a row's local time.
CREATE FUNCTION ai_scale._default_cells_walked(dflt regclass, key_column name,
                                               key_type regtype, zone text,
                                               partition_interval interval, batch_rows int,
                                               placeable text, local_cell text,
                                               OUT cell_lows timestamp[], OUT cell_rows bigint[])
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    tz boolean := key_type = 'timestamptz'::regtype;
    after text := format('%I > %L', key_column, '-infinity');
    spans record := ai_scale._uncovered_spans(dflt);
    in_gap text;
    lo timestamp;
    lo_lit text;
    hi_lit text;
    n bigint;
    taken bigint := 0;
BEGIN
    FOR gap IN 1 .. coalesce(array_length(spans.gap_lows, 1), 0) LOOP
        in_gap := format('%I >= %s AND %I < %s', key_column,
                         ai_scale._bound_literal(spans.gap_lows[gap], key_type, 'UTC'), key_column,
                         ai_scale._bound_literal(spans.gap_highs[gap], key_type, 'UTC'));
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
END $$;

-- For _default_cells, without such an index: every cell holding rows of dflt, with their row
-- counts, and the rows no partition can take, from one scan grouping the whole default by the
-- cell of each row's local time (local_cell, NULL for a key placeable rejects). When a group
-- holds an instant before its cell starts (see _cell_holding), grouped again with that cell
-- expression corrected where it must be.
CREATE FUNCTION ai_scale._default_cells_grouped(dflt regclass, key_column name,
                                                key_type regtype, zone text,
                                                partition_interval interval, placeable text,
                                                local_cell text,
                                                OUT cell_lows timestamp[], OUT cell_rows bigint[],
                                                OUT unplaceable bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    -- The cells, their row counts, the rows without a cell, and whether a row lies before the
    -- start of its cell: %s the last check, %s the cell of a row, %I the key, %s the table.
    grouping constant text :=
        'SELECT array_agg(cell ORDER BY cell) FILTER (WHERE cell IS NOT NULL), '
        '       array_agg(n ORDER BY cell) FILTER (WHERE cell IS NOT NULL), '
        '       sum(n) FILTER (WHERE cell IS NULL), coalesce(bool_or(%s), false) '
        '  FROM (SELECT %s AS cell, count(*) AS n, min(%I) AS oldest '
        '          FROM ONLY %s GROUP BY 1) c';
    misplaced_check text := CASE WHEN key_type = 'timestamptz'::regtype
                                 THEN format('oldest < (cell AT TIME ZONE %L)', zone)
                                 ELSE 'false' END;
    misplaced boolean;
BEGIN
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

-- The cells (local lower bounds, oldest first) holding rows of the default partition dflt, with
-- their row counts, and how many rows no partition can take (their key is NULL or infinite).
-- One scan groups the whole default by the cell of each row's local time; in the rare case
-- that a group holds an instant its cell does not (see _cell_holding), a second scan groups
-- those rows right (_default_cells_grouped). With a valid btree index on dflt leading with the
-- key (rescue_default_proc builds one for a large default), the cells are instead walked from
-- the oldest row, a few index probes each, and only as many as a batch of batch_rows takes
-- (_default_cells_walked): a batch then costs about its own rows, not the whole default.
CREATE FUNCTION ai_scale._default_cells(dflt regclass, key_column name, key_type regtype,
                                        zone text, partition_interval interval, batch_rows int,
                                        OUT cell_lows timestamp[], OUT cell_rows bigint[],
                                        OUT unplaceable bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    placeable text := ai_scale._placeable_keys(key_column, key_type, partition_interval);
    -- The cell of a row's local time, NULL for a key no partition can hold.
    local_cell text := format('CASE WHEN %s THEN %s END', placeable,
                              format('ai_scale._cell_lower(%L, %s)', partition_interval,
                                     CASE WHEN key_type = 'timestamptz'::regtype
                                          THEN format('%I AT TIME ZONE %L', key_column, zone)
                                          ELSE format('%I::timestamp', key_column) END));
    walked record;
BEGIN
    IF NOT ai_scale._key_indexed(dflt, key_column) THEN
        SELECT g.cell_lows, g.cell_rows, g.unplaceable INTO cell_lows, cell_rows, unplaceable
          FROM ai_scale._default_cells_grouped(dflt, key_column, key_type, zone,
                                               partition_interval, placeable, local_cell) g;
        RETURN;
    END IF;
    EXECUTE format('SELECT count(*) FROM ONLY %s WHERE %I IS NULL OR NOT (%s)',
                   dflt, key_column, placeable) INTO unplaceable;
    walked := ai_scale._default_cells_walked(dflt, key_column, key_type, zone,
                                             partition_interval, batch_rows, placeable,
                                             local_cell);
    cell_lows := walked.cell_lows;
    cell_rows := walked.cell_rows;
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
-- _rescue_default drives a batch: its checks and locks, then the cells (_rescue_cells), the
-- pieces of them to make (_rescue_pieces), and the move, staged (_rescue_fill_stage, then
-- _rescue_attach) or through the parent (_rescue_through_parent). All of them run in the
-- caller's transaction, and none catches an error: a batch is still one atomic step.

-- Refuses a batch_rows of rescue_default or rescue_default_proc that is NULL or below 1.
CREATE FUNCTION ai_scale._require_batch_rows(batch_rows int) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF batch_rows IS NULL THEN
        RAISE EXCEPTION 'batch_rows must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch_rows < 1 THEN
        RAISE EXCEPTION 'batch_rows must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END $$;

-- For _rescue_default, once it holds the default's ACCESS EXCLUSIVE lock: whether the batch must
-- leave the default's rows where they are.
CREATE FUNCTION ai_scale._rescue_blocked(parent regclass, dflt regclass) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    pending_rows boolean := false;
BEGIN
    -- The default was found before the lock, which may have waited for a DETACH of it: a
    -- detached table is no longer the table's, and its rows are not moved into it.
    IF ai_scale._default_partition(parent) IS DISTINCT FROM dflt THEN
        RETURN true;
    END IF;
    -- A partition pending detach still takes its range, and rows of that range can be in the
    -- default; no partition can be made for them until the detach is finalized.
    IF ai_scale._detach_pending(parent) THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', dflt) INTO pending_rows;
    END IF;
    IF pending_rows THEN
        RAISE NOTICE 'rows stay in the default partition of % while a partition of it is pending detach',
                     parent
            USING HINT = 'The maintenance worker finalizes the detach, or ALTER TABLE ... DETACH '
                         'PARTITION ... FINALIZE does; then call rescue_default again.';
    END IF;
    RETURN pending_rows;
END $$;

-- For _rescue_default: the cells of one batch (local lower bounds, oldest first, NULL when
-- there is none) and their row counts, from _default_cells, and (when there are cells) whether
-- the rows go through the parent (_moves_through_parent, asked once a batch). A move is refused
-- (before anything is made) when a foreign key references the table, and the rows no partition
-- can take are reported, unless quiet (a batch tried again a cell at a time, whose first try
-- did).
CREATE FUNCTION ai_scale._rescue_cells(parent regclass, dflt regclass, key_column name,
                                       key_type regtype, zone text, partition_interval interval,
                                       batch_rows int, quiet boolean,
                                       OUT cell_lows timestamp[], OUT cell_rows bigint[],
                                       OUT through_parent boolean)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    unplaceable bigint;
BEGIN
    SELECT c.cell_lows, c.cell_rows, c.unplaceable INTO cell_lows, cell_rows, unplaceable
      FROM ai_scale._default_cells(dflt, key_column, key_type, zone, partition_interval,
                                   batch_rows) c;
    IF cell_lows IS NOT NULL THEN
        -- Neither way deletes in a WITH query where the default has a DO ALSO rule on DELETE
        -- (through the parent: _hold_default_rows; around it, through a staging table).
        through_parent := ai_scale._moves_through_parent(parent, dflt);
        PERFORM ai_scale._require_movable_default(parent, dflt, through_parent, false);
    END IF;
    IF unplaceable > 0 AND NOT quiet THEN
        RAISE NOTICE '% in the default partition of %: % "%" is NULL, infinite or at an end of the timestamp range',
                     CASE WHEN unplaceable = 1 THEN '1 row stays' ELSE unplaceable || ' rows stay' END,
                     parent, CASE WHEN unplaceable = 1 THEN 'its' ELSE 'their' END, key_column
            USING DETAIL = 'No partition with finite bounds can hold them: a cell within two '
                           'partition intervals of 4713 BC or 294276 AD has bounds Postgres '
                           'cannot represent.';
    END IF;
END $$;

-- For _rescue_pieces: the bounds of parent's partitions in zone, ordered by lower (an end
-- without a bound as -infinity or infinity). For a timestamptz key, cells and bounds are
-- compared as instants (UTC wall-clock times, and the pieces are made in 'UTC'): a bound in
-- the first pass of a local hour that a fall-back change repeats (a partition made by hand, or
-- in another zone) has the local time of the second pass, and compared as local times the free
-- part next to it was misjudged, its partition overlapped the one there and the rescue failed
-- at every run.
CREATE FUNCTION ai_scale._rescue_partition_bounds(parent regclass, zone text,
                                                  OUT bound_lo timestamp[],
                                                  OUT bound_hi timestamp[])
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT coalesce(array_agg(coalesce(x.lower, '-infinity') ORDER BY x.lower NULLS FIRST), '{}'),
           coalesce(array_agg(coalesce(x.upper, 'infinity') ORDER BY x.lower NULLS FIRST), '{}')
      FROM ai_scale._bounds(parent, zone) x WHERE NOT x.is_default
$$;

-- Whether dflt holds a row the transaction sees with its key_column in [lo_lit, hi_lit), read as
-- parent's owner: _rescue_fill_stage, _rescue_attach.
CREATE FUNCTION ai_scale._default_holds_range(parent regclass, dflt regclass, key_column name,
                                              lo_lit text, hi_lit text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN ai_scale._as_owner(parent, format('SELECT 1 FROM ONLY %s WHERE %I >= %s AND %I < %s '
                                             'LIMIT 1', dflt, key_column, lo_lit, key_column,
                                             hi_lit)) > 0;
END $$;

-- For a rescue in REPEATABLE READ or SERIALIZABLE: raises the serialization failure (40001) of
-- a batch whose transaction's snapshot, taken before the batch's lock, no longer shows the
-- default's rows as they are (what: which of them it got wrong). A client tries it again; in
-- READ COMMITTED, each statement's snapshot follows the lock.
CREATE FUNCTION ai_scale._rescue_snapshot_stale(dflt regclass, what text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RAISE EXCEPTION 'could not serialize access to default partition %', dflt
        USING ERRCODE = 'serialization_failure',
              -- Upper-cased as English ("C"): in a Turkish collation 'serializable' got
              -- dotted capital Is (U+0130), which a client in an encoding without them cannot
              -- be sent (22P05 came instead of 40001, and a retry loop did not retry).
              DETAIL = format('%s after this %s transaction''s snapshot was taken.', what,
                              upper(current_setting('transaction_isolation') COLLATE "C")),
              HINT = 'Call rescue_default and run_maintenance in READ COMMITTED, or try '
                     'the transaction again.';
END $$;

-- For _rescue_pieces: the pieces of the cell with local lower bound cell_lo, holding cell_rows
-- rows: the parts of it, in piece_zone, that no partition covers (bound_lo, bound_hi, from
-- _rescue_partition_bounds), with their name suffixes (the cell's for a piece at its start,
-- else the piece's local start) and row counts (NULL for the pieces of a cut cell: they are
-- counted after the move). zone and partition_interval are the table's.
CREATE FUNCTION ai_scale._rescue_cell_pieces(cell_lo timestamp, cell_rows bigint, zone text,
                                             partition_interval interval, piece_zone text,
                                             bound_lo timestamp[], bound_hi timestamp[],
                                             OUT piece_lo timestamp[], OUT piece_hi timestamp[],
                                             OUT piece_sfx text[], OUT piece_rows bigint[])
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    lo timestamp := cell_lo;
    hi timestamp;
    sfx text;
    parts record;
BEGIN
    SELECT c.upper, c.suffix INTO hi, sfx FROM ai_scale._cells(partition_interval, lo, lo) c;
    IF piece_zone <> zone THEN
        lo := ai_scale._local_start(lo, zone) AT TIME ZONE 'UTC';
        hi := ai_scale._local_start(hi, zone) AT TIME ZONE 'UTC';
    END IF;
    parts := ai_scale._uncovered_parts(lo, hi, bound_lo, bound_hi);
    piece_lo := parts.lows;
    piece_hi := parts.highs;
    piece_sfx := ARRAY(SELECT CASE WHEN p.low = lo THEN sfx
                                   WHEN piece_zone <> zone
                                   THEN ai_scale._piece_suffix(
                                            (p.low AT TIME ZONE 'UTC') AT TIME ZONE zone)
                                   ELSE ai_scale._piece_suffix(p.low) END
                         FROM unnest(piece_lo) WITH ORDINALITY p(low, n) ORDER BY p.n);
    piece_rows := CASE WHEN cardinality(piece_lo) = 1 THEN ARRAY[cell_rows]
                       ELSE array_fill(NULL::bigint, ARRAY[cardinality(piece_lo)]) END;
END $$;

-- For _rescue_default: the partitions one batch makes, as pieces [piece_lo, piece_hi) in
-- piece_zone with their name suffixes and row counts (NULL for a piece of a cut cell): whole
-- cells, oldest first, until batch_rows rows (or 100 pieces), each cut down to the parts no
-- partition of parent covers (_rescue_cell_pieces). zone, partition_interval and key_type are
-- the table's; dflt its default partition.
CREATE FUNCTION ai_scale._rescue_pieces(parent regclass, dflt regclass, key_type regtype,
                                        zone text, partition_interval interval,
                                        piece_zone text, cell_lows timestamp[],
                                        cell_rows bigint[], batch_rows int,
                                        OUT piece_lo timestamp[], OUT piece_hi timestamp[],
                                        OUT piece_sfx text[], OUT piece_rows bigint[])
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    -- The partitions' bounds, read once for all the cells below.
    spans record := ai_scale._rescue_partition_bounds(parent, piece_zone);
    cell record;
    taken bigint := 0;
BEGIN
    piece_lo := '{}';
    piece_hi := '{}';
    piece_sfx := '{}';
    piece_rows := '{}';
    FOR i IN 1 .. array_length(cell_lows, 1) LOOP
        cell := ai_scale._rescue_cell_pieces(cell_lows[i], cell_rows[i], zone, partition_interval,
                                             piece_zone, spans.bound_lo, spans.bound_hi);
        -- Rows of the default in a range partitions cover: another session moved them out
        -- after the snapshot this transaction reads with (not READ COMMITTED), and made those
        -- partitions. Taken further, the batch failed on a NULL loop bound, or on rows the
        -- stage had no partition for.
        IF cardinality(cell.piece_lo) = 0 THEN
            PERFORM ai_scale._rescue_snapshot_stale(dflt,
                'Its rows from ' || ai_scale._bound_text(cell_lows[i], key_type, zone)
                || ' were moved into partitions by another session');
        END IF;
        piece_lo := piece_lo || cell.piece_lo;
        piece_hi := piece_hi || cell.piece_hi;
        piece_sfx := piece_sfx || cell.piece_sfx;
        piece_rows := piece_rows || cell.piece_rows;
        taken := taken + cell_rows[i];
        -- A batch holds its new tables' locks until it commits: at most 100 of them, so that
        -- rows spread thinly over many cells cannot exhaust the lock table.
        EXIT WHEN taken >= batch_rows OR cardinality(piece_lo) >= 100;
    END LOOP;
END $$;

-- For _rescue_default, when publications and triggers must see the moves
-- (_moves_through_parent): each piece [piece_lo, piece_hi) in piece_zone becomes a partition
-- whose rows go through the parent, a partition at a time, as maintenance moves the rows of a
-- partition it makes (_create_partition): slower (each scans the default twice, and the rows go
-- into indexed tables), but a subscriber gets the inserts as well as the deletes.
CREATE FUNCTION ai_scale._rescue_through_parent(parent regclass, key_column name,
                                                key_type regtype, piece_zone text,
                                                dflt regclass, copy_grants boolean,
                                                piece_lo timestamp[], piece_hi timestamp[],
                                                piece_sfx text[])
    RETURNS TABLE (partition text, lower text, upper text, rows_moved bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    made record;
BEGIN
    FOR j IN 1 .. array_length(piece_lo, 1) LOOP
        made := ai_scale._create_partition(parent, key_column, key_type, piece_zone,
                                           piece_lo[j], piece_hi[j], piece_sfx[j], dflt,
                                           NULL, copy_grants, false, true);
        CONTINUE WHEN made.partition IS NULL;
        partition := made.partition;
        lower := ai_scale._bound_text(piece_lo[j], key_type, piece_zone);
        upper := ai_scale._bound_text(piece_hi[j], key_type, piece_zone);
        rows_moved := made.rows_moved;
        RETURN NEXT;
    END LOOP;
END $$;

-- For _rescue_default: the staged move's first half. Each piece [piece_lo, piece_hi) in
-- piece_zone becomes a table without indexes, attached to a private staging table partitioned
-- like parent; the default's rows of the batch are copied into the stage (Postgres routes them)
-- and deleted from the default; the tables are detached and the stage dropped. Returns the
-- tables made (parts), their bounds as literals of the key type, and for each the index of its
-- piece (kept: a range a DST change makes empty has no table).
CREATE FUNCTION ai_scale._rescue_fill_stage(parent regclass, key_column name, key_type regtype,
                                            piece_zone text, dflt regclass, copy_grants boolean,
                                            piece_lo timestamp[], piece_hi timestamp[],
                                            piece_sfx text[],
                                            OUT parts text[], OUT lo_lits text[],
                                            OUT hi_lits text[], OUT kept int[])
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    nsp name;
    rel name;
    stage text;
    made record;
    cols text;
    range text;
BEGIN
    parts := '{}';
    lo_lits := '{}';
    hi_lits := '{}';
    kept := '{}';
    SELECT n.nspname, c.relname INTO nsp, rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
    stage := format('%I.%I', nsp, ai_scale._partition_name(nsp, rel, 'rescue_stage'));
    EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING ALL EXCLUDING INDEXES) PARTITION BY RANGE (%I)',
                   stage, parent, key_column);
    FOR j IN 1 .. array_length(piece_lo, 1) LOOP
        made := ai_scale._create_partition(parent, key_column, key_type, piece_zone,
                                           piece_lo[j], piece_hi[j], piece_sfx[j], NULL,
                                           stage::regclass, copy_grants, false, false);
        CONTINUE WHEN made.partition IS NULL; -- local times a DST change skips hold no rows
        parts := parts || made.partition;
        lo_lits := lo_lits || made.lo_lit;
        hi_lits := hi_lits || made.hi_lit;
        kept := kept || j;
    END LOOP;

    -- Rows the transaction's snapshot shows between two pieces, in a range a partition covers:
    -- another session moved them out since that snapshot was taken (not READ COMMITTED, whose
    -- statements' snapshots follow the lock), and made that partition. The copy below found
    -- no partition of the stage for them (23514, "no partition of relation ... found for row").
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        FOR i IN 1 .. cardinality(parts) - 1 LOOP
            CONTINUE WHEN hi_lits[i] = lo_lits[i + 1];
            IF ai_scale._default_holds_range(parent, dflt, key_column, hi_lits[i],
                                             lo_lits[i + 1]) THEN
                PERFORM ai_scale._rescue_snapshot_stale(dflt, format(
                    'Its rows from %s to %s were moved into partitions by another session',
                    ai_scale._bound_text(piece_hi[kept[i]], key_type, piece_zone),
                    ai_scale._bound_text(piece_lo[kept[i + 1]], key_type, piece_zone)));
            END IF;
        END LOOP;
    END IF;

    -- Every default row of the batch lies in [first piece, last piece): no other cell is there.
    -- A copy then a delete is faster than one DELETE ... RETURNING feeding the INSERT, and the
    -- lock _rescue_default holds makes the two statements see the same rows. Both run as the
    -- table's owner (_as_owner): they evaluate its constraints and fire its rules.
    -- (A DO ALSO rule on DELETE from the default runs its action first: rows it wrote into the
    -- range were deleted uncopied, lost without a word: _copy_then_delete refuses that.)
    cols := ai_scale._insert_columns(parent);
    range := format('%I >= %s AND %I < %s', key_column, lo_lits[1], key_column,
                    hi_lits[array_length(hi_lits, 1)]);
    PERFORM ai_scale._copy_then_delete(parent, dflt, range, format(
        'INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM ONLY %s WHERE %s',
        stage, cols, cols, dflt, range));
    FOR i IN 1 .. array_length(parts, 1) LOOP
        EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', stage, parts[i]);
    END LOOP;
    EXECUTE format('DROP TABLE %s', stage);
END $$;

-- For _rescue_default: the staged move's second half. Attaches the filled tables parts to
-- parent, whose indexes their attaches build in bulk, with the bounds lo_lits and hi_lits, and
-- drops the CHECK constraint that spared each attach its scan of the table (see
-- _create_partition). Returns a row per table, with the bounds of its piece (piece_lo[kept[i]],
-- piece_hi[kept[i]] in piece_zone) and its rows: the cell's count (piece_rows), or for a piece
-- of a cut cell a count of the table.
CREATE FUNCTION ai_scale._rescue_attach(parent regclass, key_column name, key_type regtype,
                                        piece_zone text, dflt regclass, parts text[],
                                        lo_lits text[], hi_lits text[], kept int[],
                                        piece_lo timestamp[], piece_hi timestamp[],
                                        piece_rows bigint[])
    RETURNS TABLE (partition text, lower text, upper text, rows_moved bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    -- The attaches build the partitions' indexes over their rows: without parallel workers, as
    -- every partition is made (_new_partition_table), where the owner's index expressions
    -- would run in parallel mode (one that writes failed the rescue at every try).
    SET max_parallel_maintenance_workers = 0
    AS $$
BEGIN
    -- Each attach would scan the default for rows of the new range; one validated constraint
    -- saying it holds none of the batch's range lets them all skip that scan.
    BEGIN
        EXECUTE format('ALTER TABLE ONLY %s ADD CONSTRAINT ai_scale_rescue_moved '
                       'CHECK (%I < %s OR %I >= %s)', dflt, key_column, lo_lits[1], key_column,
                       hi_lits[array_length(hi_lits, 1)]);
    EXCEPTION WHEN check_violation THEN
        -- Rows of the range the transaction sees in the default after the batch's DELETE: a
        -- trigger or rule that the DELETE fired wrote them back (a soft delete). Postgres's
        -- 23514 named our constraint, and in REPEATABLE READ the 40001 below said a writer had
        -- committed them: a client trying again failed the same, for ever.
        IF ai_scale._default_holds_range(parent, dflt, key_column, lo_lits[1],
                                         hi_lits[array_length(hi_lits, 1)]) THEN
            RAISE EXCEPTION 'moving rows out of the default partition of % wrote rows of their '
                            'range back into it', parent
                USING ERRCODE = 'triggered_action_exception',
                      DETAIL = format('A trigger or rule on DELETE from %s wrote rows of the '
                                      'range being moved into it (a soft delete, say): they '
                                      'would stay there.', dflt),
                      HINT = 'Let the trigger or rule write elsewhere, or disable it while '
                             'maintenance or rescue_default runs.';
        END IF;
        -- Else the batch's rows left the default under its lock, and the check (with a
        -- snapshot of its own) found one more: a writer committed it while the batch waited
        -- for the lock, after the snapshot that a REPEATABLE READ or SERIALIZABLE transaction
        -- reads with throughout (in READ COMMITTED each statement's follows the lock). A
        -- serialization failure, which a client tries again, not a constraint of the caller's
        -- table.
        IF current_setting('transaction_isolation') = 'read committed' THEN
            RAISE;
        END IF;
        PERFORM ai_scale._rescue_snapshot_stale(dflt, 'A row was committed into it');
    END;

    FOR i IN 1 .. array_length(parts, 1) LOOP
        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                       parent, parts[i], lo_lits[i], hi_lits[i]);
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT ai_scale_rescue_bounds', parts[i]);
        PERFORM ai_scale._replica_identity_after_attach(parent, parts[i]);
        partition := parts[i];
        lower := ai_scale._bound_text(piece_lo[kept[i]], key_type, piece_zone);
        upper := ai_scale._bound_text(piece_hi[kept[i]], key_type, piece_zone);
        rows_moved := piece_rows[kept[i]];
        IF rows_moved IS NULL THEN
            EXECUTE format('SELECT count(*) FROM %s', parts[i]) INTO rows_moved;
        END IF;
        RETURN NEXT;
    END LOOP;
    -- (Asked again of the tree with the partitions in it, as _create_partition does.)
    PERFORM ai_scale._require_acting_owner(parent);
    EXECUTE format('ALTER TABLE ONLY %s DROP CONSTRAINT ai_scale_rescue_moved', dflt);
END $$;

-- rescue_default's work, as the table's owner (rescue_default runs it through _as_owner_rows;
-- maintenance, already the owner, calls it directly): one batch. It shortens lock_timeout and
-- sets the caller's back before it returns: a local setting lasts to the end of the
-- transaction, past the function that made it (its SET clause restores only search_path).
-- With only_cell (maintenance's rescue cell by cell, _rescue_each), the batch is that cell of
-- the ones batch_rows takes, or nothing.
CREATE FUNCTION ai_scale._rescue_default(parent regclass, batch_rows int,
                                         only_cell timestamp DEFAULT NULL)
    RETURNS TABLE (partition text, lower text, upper text, rows_moved bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cfg ai_scale.partition_config;
    k record;
    dflt regclass;
    cells record;
    pieces record;
    staged record;
    caller_lock_timeout text;
    piece_zone text;
BEGIN
    PERFORM ai_scale._require_primary('rescue_default');
    PERFORM ai_scale._require_batch_rows(batch_rows);
    cfg := ai_scale._config(parent);
    k := ai_scale._partition_key(parent);
    dflt := ai_scale._default_partition(parent);
    IF dflt IS NULL THEN
        RETURN;
    END IF;
    PERFORM ai_scale._require_plain_default(parent, dflt);
    -- Not beside a maintenance run of the same table: both make partitions.
    PERFORM ai_scale._lock_for_maintenance(parent);
    cfg := ai_scale._config(parent); -- as it is now, not before the wait
    PERFORM ai_scale._check_time_zone(cfg.time_zone); -- as _maintain
    IF k.key_type = 'date'::regtype THEN
        PERFORM ai_scale._check_date_interval(cfg.partition_interval, k.key_column);
    END IF;
    piece_zone := CASE WHEN k.key_type = 'timestamptz'::regtype THEN 'UTC' ELSE cfg.time_zone END;
    -- Then every lock on the table and its partitions with the short wait of all maintenance
    -- DDL, or the caller's if shorter: queued behind a long-running query, the attaches would
    -- queue every new query on the table behind them. Giving up raises 55P03.
    caller_lock_timeout := current_setting('lock_timeout');
    PERFORM set_config('lock_timeout', ai_scale._maintenance_lock_wait(caller_lock_timeout), true);
    -- The parent first, as the attaches below lock it, and as Postgres's own DDL (ATTACH,
    -- DETACH, CREATE TABLE ... PARTITION OF) and every query lock the parent before the
    -- default: taken after the default's lock, a session holding the parent and waiting for
    -- the default (an ATTACH PARTITION) and the rescue waited for each other (TAP 276).
    EXECUTE format('LOCK TABLE ONLY %s IN SHARE UPDATE EXCLUSIVE MODE', parent);
    -- An empty default: nothing to move, and no wait for the queries that read it. (The look
    -- keeps no lock: see _has_rows_unlocked.)
    IF NOT ai_scale._has_rows_unlocked(dflt) THEN
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        RETURN;
    END IF;
    -- Readers and writers of the default wait from here to the end: the rows counted, copied
    -- and deleted below are then the same rows. In the mode the attaches take: taken weaker
    -- first (EXCLUSIVE, which let readers in), a transaction that had read the table and then
    -- wrote a row to the default waited for the rescue and the attach for it, a deadlock
    -- (see _make_ahead_lock).
    EXECUTE format('LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE', dflt);
    IF ai_scale._rescue_blocked(parent, dflt) THEN
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        RETURN;
    END IF;
    cells := ai_scale._rescue_cells(parent, dflt, k.key_column, k.key_type, cfg.time_zone,
                                    cfg.partition_interval, batch_rows, only_cell IS NOT NULL);
    IF only_cell IS NOT NULL THEN
        SELECT array_agg(c.low), array_agg(c.n) INTO cells.cell_lows, cells.cell_rows
          FROM unnest(cells.cell_lows, cells.cell_rows) c(low, n) WHERE c.low = only_cell;
    END IF;
    IF cells.cell_lows IS NULL THEN
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        RETURN;
    END IF;
    pieces := ai_scale._rescue_pieces(parent, dflt, k.key_type, cfg.time_zone,
                                      cfg.partition_interval, piece_zone, cells.cell_lows,
                                      cells.cell_rows, batch_rows);

    IF cells.through_parent THEN
        RETURN QUERY SELECT * FROM ai_scale._rescue_through_parent(
            parent, k.key_column, k.key_type, piece_zone, dflt, cfg.inherit_privileges,
            pieces.piece_lo, pieces.piece_hi, pieces.piece_sfx);
    ELSE
        staged := ai_scale._rescue_fill_stage(parent, k.key_column, k.key_type, piece_zone, dflt,
                                              cfg.inherit_privileges, pieces.piece_lo,
                                              pieces.piece_hi, pieces.piece_sfx);
        RETURN QUERY SELECT * FROM ai_scale._rescue_attach(
            parent, k.key_column, k.key_type, piece_zone, dflt, staged.parts, staged.lo_lits,
            staged.hi_lits, staged.kept, pieces.piece_lo, pieces.piece_hi, pieces.piece_rows);
    END IF;
    PERFORM ai_scale._require_path_unchanged(parent, dflt, cells.through_parent);
    PERFORM set_config('lock_timeout', caller_lock_timeout, true);
END $$;
CREATE FUNCTION ai_scale.rescue_default(parent regclass, batch_rows int DEFAULT 10000)
    RETURNS TABLE (partition text, lower text, upper text, rows_moved bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
    AS $$
DECLARE
    detail text;
    hint text;
    held_up text;
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
    -- "permission denied for schema", as if it were about them; and, for a default partition
    -- of another role's, only "permission denied for table".
    PERFORM ai_scale._require_owner_create(parent);
    PERFORM ai_scale._require_owner_partitions(parent, only_default => true);
    RAISE;
WHEN lock_not_available THEN
    -- A lock not free in time: the error says what held it (as a maintenance run's 'skipped'
    -- row does): another run's maintenance lock on the table, waited for with the caller's
    -- lock_timeout; else a lock on the default or the parent, which the attaches take within
    -- maintenance_lock_timeout. (Asked about the table's locks alone, a rescue behind another
    -- run said that the holder had released its lock since, while that run still held it.)
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    held_up := ai_scale._lock_holders(ARRAY[parent], '{ExclusiveLock}',
                                      current_setting('lock_timeout'), true);
    IF held_up IS NOT NULL AND held_up <> ai_scale._lock_released_text() THEN
        held_up := 'another maintenance run holds this table: ' || held_up;
        hint := coalesce(nullif(hint, ''),
                         'Call rescue_default again once that run ends.');
    ELSE
        held_up := ai_scale._lock_holders(
            ARRAY[ai_scale._default_partition_unlocked(parent), parent],
            '{AccessExclusiveLock,ShareUpdateExclusiveLock}',
            ai_scale._maintenance_lock_wait(current_setting('lock_timeout')));
    END IF;
    detail := concat_ws(' ', nullif(detail, ''), upper(left(held_up, 1) COLLATE "C") || substr(held_up, 2) || '.');
    hint := coalesce(nullif(hint, ''),
                     'A transaction holds the table; call rescue_default again once it ends.');
    IF detail = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'lock_not_available', MESSAGE = SQLERRM, HINT = hint;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'lock_not_available', MESSAGE = SQLERRM, DETAIL = detail,
        HINT = hint;
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
-- _drop_rescue_index. Returns whether it built one. Its lock on the default is waited for as
-- rescue_default waits for its own (55P03 when not free in time): a build queued behind a
-- transaction that wrote into the default, or behind a VACUUM of it, queued every writer into
-- the default behind it, and cancelled an autovacuum of it after deadlock_timeout.
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
    caller_lock_timeout text := current_setting('lock_timeout');
BEGIN
    -- rescue_default's own checks, before anything is built.
    PERFORM ai_scale._require_primary('rescue_default_proc');
    PERFORM ai_scale._config(parent);
    k := ai_scale._partition_key(parent);
    IF dflt IS NULL THEN
        RETURN false;
    END IF;
    PERFORM ai_scale._require_plain_default(parent, dflt);
    -- Locks in the order rescue_default and maintenance take them (the table's advisory lock,
    -- then the default), or a rescue holding the default while waiting to attach beside it
    -- and this build waiting for the rescue would deadlock.
    PERFORM ai_scale._lock_for_maintenance(parent);
    IF ai_scale._key_indexed(dflt, k.key_column) THEN
        RETURN false;
    END IF;
    -- The short wait of all maintenance DDL, or the caller's if shorter; the caller's is set
    -- back before returning (a local setting outlives the function that made it).
    PERFORM set_config('lock_timeout', ai_scale._maintenance_lock_wait(caller_lock_timeout), true);
    -- Both as the owner (see _as_owner_rows).
    SELECT t.n INTO n FROM ai_scale._as_owner_rows(parent, format(
        'SELECT count(*) FROM (SELECT FROM ONLY %s LIMIT %s) s', dflt,
        2 * batch_rows::bigint + 1)) AS t(n bigint);
    IF n <= 2 * batch_rows::bigint THEN
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        RETURN false;
    END IF;
    -- Whether the rows may be moved at all (publications, a foreign key that references the
    -- table, a rule on DELETE from the default): refused by the first batch, after the build,
    -- the index stayed, and every later call was refused the same. Refused here, no index is
    -- built, and the first batch says why, if it has rows a partition can take: a default
    -- holding only rows none can (a NULL or infinite key) was refused where rescue_default
    -- moves nothing.
    BEGIN
        PERFORM ai_scale._require_movable_default(parent, dflt, through, false)
           FROM ai_scale._moves_through_parent(parent, dflt) through;
    EXCEPTION WHEN feature_not_supported THEN
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        RETURN false;
    END;
    SELECT s.nspname, c.relname INTO nsp, rel
      FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE c.oid = dflt;
    name := ai_scale._partition_name(nsp, rel, 'rescue_key');
    PERFORM ai_scale._as_owner(parent, format('CREATE INDEX %I ON %s (%I)', name, dflt,
                                              k.key_column));
    EXECUTE format('COMMENT ON INDEX %I.%I IS %L', nsp, name, ai_scale._rescue_index_comment());
    PERFORM set_config('lock_timeout', caller_lock_timeout, true);
    RETURN true;
END $$;

-- Drops the indexes _make_rescue_index built on the default partition of parent, including one
-- an interrupted rescue_default_proc left behind. DROP INDEX locks the default fully: it waits
-- as rescue_default's attaches do (55P03 when not free in time). Queued behind a long query on
-- the table, it queued every new query that reads the default behind it.
CREATE FUNCTION ai_scale._drop_rescue_index(parent regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    idx regclass;
    dflt regclass;
    caller_lock_timeout text := current_setting('lock_timeout');
BEGIN
    -- None to drop: no lock taken. Asked first, a table held by another session's DDL gave
    -- unmanage_partitions a WARNING that the index stayed, with a hint to DROP INDEX nothing.
    IF NOT EXISTS (SELECT 1 FROM pg_index i
                    WHERE i.indrelid = ai_scale._default_partition_unlocked(parent)
                      AND obj_description(i.indexrelid, 'pg_class')
                          = ai_scale._rescue_index_comment()) THEN
        RETURN;
    END IF;
    PERFORM ai_scale._lock_for_maintenance(parent); -- as in _make_rescue_index
    -- The short wait of all maintenance DDL, or the caller's if shorter; the caller's is set
    -- back before returning (a local setting outlives the function that made it).
    PERFORM set_config('lock_timeout', ai_scale._maintenance_lock_wait(caller_lock_timeout), true);
    dflt := ai_scale._default_partition(parent); -- once, not for each row of pg_index
    FOR idx IN SELECT i.indexrelid::regclass FROM pg_index i
                WHERE i.indrelid = dflt
                  AND obj_description(i.indexrelid, 'pg_class') = ai_scale._rescue_index_comment()
    LOOP
        EXECUTE format('DROP INDEX %s', idx);
    END LOOP;
    PERFORM set_config('lock_timeout', caller_lock_timeout, true);
END $$;

-- For rescue_default_proc: the value of query (one row, one column, as text; $1 in it is
-- parent, $2 batch_rows), run again while it cannot get its locks in time (55P03, after
-- ai_scale.maintenance_lock_timeout or the caller's shorter lock_timeout): after a pause
-- doubling up to 5 s, ten times in a row at most. Each wait is reported with a NOTICE naming
-- step, and the error's detail (rescue_default's says what held the table, when that is
-- known). Each try runs in a subtransaction, rolled back when it fails on a lock.
CREATE FUNCTION ai_scale._rescue_when_free(step text, query text, parent regclass,
                                            batch_rows int) RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    result text;
    waits int := 0;
    held_up text;
BEGIN
    LOOP
        BEGIN
            EXECUTE query INTO result USING parent, batch_rows;
            RETURN result;
        EXCEPTION WHEN lock_not_available THEN
            waits := waits + 1;
            IF waits > 10 THEN
                RAISE;
            END IF;
            GET STACKED DIAGNOSTICS held_up = PG_EXCEPTION_DETAIL;
            IF coalesce(held_up, '') = '' THEN
                RAISE NOTICE '%: the table is busy (%); trying again', step, SQLERRM;
            ELSE
                RAISE NOTICE '%: the table is busy (%); trying again', step, SQLERRM
                    USING DETAIL = held_up;
            END IF;
            PERFORM pg_sleep(least(0.1 * 2 ^ (waits - 1), 5));
        END;
    END LOOP;
END $$;

-- For rescue_default_proc: _make_rescue_index, tried again while the table is busy
-- (_rescue_when_free). The index's build waits for its lock as a batch does (it needs the
-- default's SHARE lock, which anything that keeps a batch out keeps out too). Returns whether
-- it built one.
CREATE FUNCTION ai_scale._make_rescue_index_when_free(parent regclass, batch_rows int)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
    AS $$
BEGIN
    RETURN ai_scale._rescue_when_free('index on the default partition',
                                      'SELECT ai_scale._make_rescue_index($1, $2)',
                                      parent, batch_rows)::boolean;
END $$;

-- For rescue_default_proc: its batch number batch, one call of rescue_default, in the
-- caller's transaction (the procedure commits it), tried again while the table is busy
-- (_rescue_when_free). Returns the rows it moved, 0 when none were left.
CREATE FUNCTION ai_scale._rescue_batch(parent regclass, batch_rows int, batch int)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
    AS $$
BEGIN
    RETURN ai_scale._rescue_when_free(format('batch %s', batch),
                                      'SELECT coalesce(sum(r.rows_moved), 0) '
                                      '  FROM ai_scale.rescue_default($1, $2) r',
                                      parent, batch_rows)::bigint;
END $$;

-- For rescue_default_proc, once every row is moved and committed: drops the index it built.
-- A long query on the table that keeps the index's drop out leaves the index (the next call
-- drops it, or a maintenance run once the default is empty) rather than failing the call, or
-- queueing every new query on the default.
CREATE FUNCTION ai_scale._drop_rescue_index_when_free(parent regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
    AS $$
BEGIN
    PERFORM ai_scale._drop_rescue_index(parent);
EXCEPTION WHEN lock_not_available THEN
    RAISE NOTICE 'the index built on the default partition of % stays: %', parent, SQLERRM
        USING HINT = 'The next call of rescue_default_proc drops it, or a maintenance run '
                     'once the default partition is empty.';
END $$;

-- rescue_default_proc: rescue_default in a loop, each batch in a transaction of its own, until
-- the default partition holds no row a partition could take. For a large default: each batch's
-- locks (writers into the default wait on them) end at its commit, and an interruption keeps
-- the batches committed before it. A procedure cannot commit under a SET clause, so it pins
-- its search_path with set_config at the start of every transaction instead. CALL it outside
-- a transaction block. The procedure holds what must be in it, the commits; its steps are
-- functions: _make_rescue_index_when_free, _rescue_batch, _drop_rescue_index_when_free.
CREATE PROCEDURE ai_scale.rescue_default_proc(parent regclass, batch_rows int DEFAULT 10000,
                                              pause interval DEFAULT '0')
    LANGUAGE plpgsql
    AS $$
DECLARE
    caller_path text := pg_catalog.current_setting('search_path');
    moved bigint;
    total bigint := 0;
    batches int := 0;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF parent IS NULL THEN
        RAISE EXCEPTION 'parent must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM ai_scale._require_batch_rows(batch_rows);
    IF pause IS NULL THEN
        RAISE EXCEPTION 'pause must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pause < interval '0' THEN
        RAISE EXCEPTION 'pause must be zero or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Every batch in READ COMMITTED, as the worker's: a batch looks again, under its lock, at
    -- the rows it saw before taking it. A transaction's snapshot (REPEATABLE READ or
    -- SERIALIZABLE, which default_transaction_isolation gives the CALL's transaction and each
    -- one the procedure starts, set for the database or role) missed a row a writer committed
    -- into the default while the batch waited, and the batch failed with 23514 (check
    -- constraint "ai_scale_rescue_moved"). The CALL's own transaction is committed first then.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        COMMIT;
        SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    END IF;
    IF ai_scale._make_rescue_index_when_free(parent, batch_rows) THEN
        COMMIT;
        SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    END IF;
    LOOP
        moved := ai_scale._rescue_batch(parent, batch_rows, batches + 1);
        EXIT WHEN moved = 0;
        total := total + moved;
        batches := batches + 1;
        COMMIT;
        SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        RAISE NOTICE 'batch %: % moved out of the default partition of %', batches,
                     ai_scale._count(moved, 'row', 'rows'), parent;
        IF pause > interval '0' THEN
            PERFORM pg_sleep(extract(epoch FROM pause)::float8);
        END IF;
    END LOOP;
    PERFORM ai_scale._drop_rescue_index_when_free(parent);
    -- The transaction the caller goes on with (the CALL's own, when nothing was moved) keeps
    -- the caller's path.
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
    RAISE NOTICE '% moved in %', ai_scale._count(total, 'row', 'rows'),
                 ai_scale._count(batches, 'batch', 'batches');
END $$;
COMMENT ON PROCEDURE ai_scale.rescue_default_proc(regclass, int, interval) IS
    'rescue_default until the default partition is empty, committing after each batch';

-- One row, always (ROWS 1: the planner's default for a set-returning function is 1000).
-- VOLATILE, so that in READ COMMITTED the count takes a snapshot of its own, after the wait
-- for the default's lock (_default_partition): STABLE, a caller counting with its own rights
-- read with the snapshot taken before that wait, and counted the rows a rescue it waited for
-- had moved out (the owner's count, through SPI, took a new one).
CREATE FUNCTION ai_scale.check_default(parent regclass)
    RETURNS TABLE (default_partition regclass, rows bigint)
    LANGUAGE plpgsql VOLATILE ROWS 1
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
    AS $$
DECLARE
    only_kw text;
BEGIN
    PERFORM ai_scale._partition_key(parent);
    default_partition := ai_scale._default_partition(parent);
    -- A partitioned default (which rescue_default refuses) holds its rows in its partitions.
    only_kw := CASE WHEN (SELECT c.relkind FROM pg_class c WHERE c.oid = default_partition) = 'p'
                 THEN '' ELSE 'ONLY ' END;
    IF default_partition IS NULL THEN
        rows := 0;
    ELSIF pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = parent), 'USAGE') THEN
        -- As the owner (see _as_owner_rows), when the caller may act as the owner; anyone else
        -- with the right to read the default counts with their own rights.
        BEGIN
            SELECT t.n INTO rows FROM ai_scale._as_owner_rows(parent, format(
                'SELECT count(*) FROM %s%s', only_kw, default_partition)) AS t(n bigint);
        EXCEPTION WHEN insufficient_privilege THEN
            -- A default of another role's: say so, not only "permission denied for table".
            PERFORM ai_scale._require_owner_partitions(parent, only_default => true);
            RAISE;
        END;
    ELSE
        -- A role that reads the table through its parent (the usual grant) may not read the
        -- default itself: Postgres's bare "permission denied for table ..._default" named a
        -- table the caller never asked about. (Counting through the parent, whose grant it
        -- holds, would read every partition: tableoid does not prune.)
        BEGIN
            EXECUTE format('SELECT count(*) FROM %s%s', only_kw, default_partition) INTO rows;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'permission denied to count the rows of the default partition % of %',
                            default_partition, parent
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('check_default counts them with the rights of its caller, '
                                      '%s, who may not read %s; a grant on %s does not reach '
                                      'its partitions.', quote_ident(current_user),
                                      default_partition, parent),
                      HINT = format('GRANT SELECT ON %s TO %s; or call it as the table''s '
                                    'owner (%s) or one of its members.', default_partition,
                                    quote_ident(current_user),
                                    (SELECT c.relowner FROM pg_class c
                                      WHERE c.oid = parent)::regrole);
        END;
    END IF;
    RETURN NEXT;
END $$;
COMMENT ON FUNCTION ai_scale.check_default(regclass) IS 'rows sitting in the default partition';
