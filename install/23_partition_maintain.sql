-- One maintenance run, part one: the plan of a table's run (its partitions and default read,
-- the planner's steps) and its creations, the partitions made ahead (_maintain_make_ahead).
-- Retention and tiering are in 23_partition_retention.sql, the rescue phase and the run itself
-- (_maintain, run_maintenance) in 23_partition_run.sql.

-- One step of a plan, as ai_scale._plan returns them.
CREATE TYPE ai_scale._partition_step AS (action text, idx int, lower timestamp, upper timestamp,
                                         suffix text);

-- steps with only the first n of their creations (in their order), and every other step.
CREATE FUNCTION ai_scale._first_creations(steps ai_scale._partition_step[], n bigint)
    RETURNS ai_scale._partition_step[]
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT ARRAY(
    SELECT ROW(w.action, w.idx, w.lower, w.upper, w.suffix)::ai_scale._partition_step
      FROM (SELECT u.*, count(*) FILTER (WHERE u.action = 'create') OVER (ORDER BY u.ord) AS nth
              FROM unnest(steps) WITH ORDINALITY AS u(action, idx, lower, upper, suffix, ord)) w
     WHERE w.action <> 'create' OR w.nth <= n
     ORDER BY w.ord)
$$;

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
    gap_end timestamp;
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
        -- Each free part [cursor, gap_end) before a bound, and the last one before b (the
        -- pass one past the bounds).
        FOR m IN first .. cardinality(bound_lo) + 1 LOOP
            gap_end := CASE WHEN m <= cardinality(bound_lo) THEN least(bound_lo[m], b) ELSE b END;
            IF gap_end > cursor THEN
                out := out || ('create', NULL, cursor, gap_end,
                               CASE WHEN cursor = a THEN s.suffix
                                    ELSE ai_scale._piece_suffix(
                                             cursor AT TIME ZONE 'UTC' AT TIME ZONE zone)
                                    END)::ai_scale._partition_step;
            END IF;
            EXIT WHEN gap_end = b;
            cursor := greatest(cursor, bound_hi[m]);
        END LOOP;
    END LOOP;
    RETURN out;
END $$;

-- One action row of a maintenance phase that hands state on to the next phases too, and so
-- returns its rows as an array (a set-returning function returns nothing else); _maintain adds
-- the table.
CREATE TYPE ai_scale._maintenance_action AS (action text, partition text, detail text);

-- What _maintain_plan read of one table and planned for it, and what _maintain saw of its
-- default partition (_maintain_look_at_default), which the phases of its run act on.
CREATE TYPE ai_scale._maintenance_plan AS (
    key_column name,
    key_type regtype,
    dflt regclass,                 -- the default partition, if any
    dflt_kind "char",              -- NULL when not looked at (no default, or the worker's
                                   -- retention transaction: see _maintain)
    default_has_rows boolean,      -- rows in the default itself, looked at before any DDL
    nested_default_rows boolean,   -- rows in the partitions of a partitioned default
    parts regclass[],              -- the partitions the steps name by idx
    cold_oid oid,                  -- cold_tablespace: 0 for the database's default, NULL if gone
    pending regclass[],            -- the partitions pending detach
    steps ai_scale._partition_step[],
    creating boolean,              -- a step creates a partition
    create_zone text,              -- the zone the creations' bounds are in
    postponed bigint,              -- creations left to the worker's next runs
    tiering boolean,               -- a step moves a partition to cold_tablespace
    retiring boolean               -- a step drops, detaches or moves a partition
);

-- What a run reads of one table's partitions (key_type: the type of its key) before it plans:
-- now and the retention and tiering cutoffs as local times (now_local, retain_before,
-- cold_before), the cold tablespace (cold_oid: 0 for the database's default, NULL if gone), the
-- partitions a decision can concern by lower bound (parts, lowers, uppers, and whether each is
-- cold), the default partition (dflt), and whether a bound near now ends in the first pass of
-- a local hour that a fall-back change repeats (first_pass_upper).
CREATE FUNCTION ai_scale._maintain_read_bounds(cfg ai_scale.partition_config, key_type regtype,
                                               OUT now_local timestamp,
                                               OUT retain_before timestamp,
                                               OUT cold_before timestamp, OUT cold_oid oid,
                                               OUT parts regclass[], OUT lowers timestamp[],
                                               OUT uppers timestamp[], OUT cold boolean[],
                                               OUT dflt regclass, OUT first_pass_upper boolean)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan
    AS $$
BEGIN
    -- A table in the database's default tablespace has reltablespace 0, also after a move to
    -- it: a cold_tablespace that is the default (the hot partitions in one of their own) is 0
    -- here, or a partition moved there read as not cold and was moved again at every run.
    cold_oid := (SELECT CASE WHEN t.oid = d.dattablespace THEN 0 ELSE t.oid END
                   FROM pg_tablespace t, pg_database d
                  WHERE t.spcname = cfg.cold_tablespace AND d.datname = current_database());
    now_local := (now() AT TIME ZONE cfg.time_zone)::timestamp;
    -- Retention and tiering cutoffs: for a timestamptz key, now() minus the interval as
    -- Postgres computes it (the time part in elapsed time), as local times (_cutoff); for
    -- timestamp and date keys, local wall-clock arithmetic.
    IF key_type = 'timestamptz'::regtype THEN
        retain_before := ai_scale._cutoff(now(), cfg.retention, cfg.time_zone);
        cold_before := ai_scale._cutoff(now(), cfg.cold_after, cfg.time_zone);
    ELSE
        retain_before := now_local - cfg.retention;
        cold_before := now_local - cfg.cold_after;
    END IF;
    IF cfg.cold_after IS NULL AND cfg.retention_mode = 'tier' THEN
        cold_before := retain_before;
    END IF;
    -- now() in the first pass of a local hour that a fall-back change repeats has the local
    -- time of the second pass, whose cell starts after now() (Postgres reads a repeated local
    -- time as the later instant): the plan then starts at the cell that holds now() (the one
    -- before), which a first run otherwise left unmade, sending the rows of the moment to the
    -- default partition.
    IF key_type = 'timestamptz'::regtype AND (now_local AT TIME ZONE cfg.time_zone) > now() THEN
        now_local := ai_scale._cell_holding(cfg.partition_interval, now(), cfg.time_zone);
    END IF;
    -- Only the partitions a decision can concern reach the planner: those between the start of
    -- the current cell and the premake horizon (premake fills around them) and those ending
    -- before the oldest cutoff (retention, tiering). _bounds skips the others without
    -- converting them, so a no-op run costs about the same whatever the number of partitions.
    -- Each partition's pg_class row is looked up by its oid, not joined: the planner, which
    -- expects 1000 rows of _bounds, hashed all of pg_class for the join (five rows a
    -- partition; 1 ms a run at 1000 partitions). It runs on its generic plan (plan_cache_mode
    -- in the SET clause above; the same shape as a custom one): a custom plan, with the run's
    -- values in it, expects fewer partitions (without retention and tiering the cutoff's test
    -- drops out), so the planner costed it below the generic one and planned this statement
    -- afresh at every run, a tenth of a no-op run. Nothing here reads a user's table.
    -- Of the partitions past the tiering cutoff, those cold already are left out (cold_oid)
    -- unless retention may drop or detach them (retain_until; in tier mode it only moves
    -- them): they have no step to take, and a store tiered for months has thousands.
    SELECT array_agg(b.partition ORDER BY b.lower) FILTER (WHERE NOT b.is_default),
           array_agg(b.lower ORDER BY b.lower) FILTER (WHERE NOT b.is_default),
           array_agg(b.upper ORDER BY b.lower) FILTER (WHERE NOT b.is_default),
           -- A foreign partition has no storage here to move: read as cold, it is never
           -- offered for tiering (SET TABLESPACE refuses it, an error row at every run).
           array_agg(coalesce((SELECT c.reltablespace = cold_oid OR c.relkind = 'f'
                                 FROM pg_class c WHERE c.oid = b.partition), false)
                     ORDER BY b.lower)
               FILTER (WHERE NOT b.is_default),
           max(b.partition::oid) FILTER (WHERE b.is_default),
           -- (only near now: one old tiered partition ending so made every run redo premake)
           coalesce(bool_or(b.upper_first_pass)
                        FILTER (WHERE b.upper > now_local - cfg.partition_interval), false)
      INTO parts, lowers, uppers, cold, dflt, first_pass_upper
      FROM ai_scale._bounds(cfg.parent, cfg.time_zone, now_local - cfg.partition_interval,
                            now_local + cfg.partition_interval * (cfg.premake + 2),
                            greatest(retain_before, cold_before), cold_oid,
                            CASE WHEN cfg.retention_mode <> 'tier' THEN retain_before END) b
     WHERE b.is_default OR b.upper IS NULL OR b.upper > now_local - cfg.partition_interval
        OR b.upper <= greatest(retain_before, cold_before);
END $$;

-- What a run sees of the default partition dflt before any DDL: its kind, whether it has rows
-- itself and whether its partitions have rows (a partitioned default). The first keeps no lock
-- on it (_has_rows_unlocked); the second, a query of its partitions, keeps its locks.
CREATE FUNCTION ai_scale._maintain_look_at_default(dflt regclass, OUT dflt_kind "char",
                                                   OUT default_has_rows boolean,
                                                   OUT nested_default_rows boolean)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    default_has_rows := false;
    nested_default_rows := false;
    dflt_kind := (SELECT c.relkind FROM pg_class c WHERE c.oid = dflt);
    -- A foreign default is not read (a query to its server at every run): the creations
    -- (_maintain_make_ahead) report it (_require_plain_default).
    IF dflt_kind <> 'f' THEN
        default_has_rows := ai_scale._has_rows_unlocked(dflt);
    END IF;
    -- A partitioned default holds its rows in its partitions, where the look above does not
    -- reach: the rescue (_maintain_default_partition) then reports it
    -- (_require_plain_default), at every run, and the partitions are made as long as none of
    -- its rows lies in their ranges.
    IF dflt_kind = 'p' THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', dflt) INTO nested_default_rows;
    END IF;
END $$;

-- The creations of the planner's steps (steps, for a key of type key_type; now_local as the
-- plan read it) as a run makes them: the steps, whether one creates (creating), the zone
-- their bounds are in (create_zone) and how many are left to the worker's next runs
-- (postponed).
CREATE FUNCTION ai_scale._maintain_creations(cfg ai_scale.partition_config, key_type regtype,
                                             now_local timestamp,
                                             INOUT steps ai_scale._partition_step[],
                                             first_pass_upper boolean, defer_detach boolean,
                                             OUT creating boolean, OUT create_zone text,
                                             OUT postponed bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    postponed := 0;
    -- A partition ending in the first pass of a local hour that a fall-back change repeats has
    -- the local upper bound of the second pass: the planner took the instants from its end to
    -- the second pass as covered, and they never got a partition. Every cell premake wants is
    -- then cut to its free parts as instants (_instant_steps), not just the ones the planner
    -- saw gaps in.
    IF first_pass_upper THEN
        steps := ARRAY(SELECT ROW('create', NULL, c.lower, c.upper, c.suffix)::ai_scale._partition_step
                         FROM ai_scale._cells(cfg.partition_interval, now_local,
                                              now_local + cfg.partition_interval * cfg.premake) c
                        ORDER BY c.lower)
                 || ARRAY(SELECT s FROM unnest(steps) s WHERE s.action <> 'create');
    END IF;
    creating := EXISTS (SELECT 1 FROM unnest(steps) s WHERE s.action = 'create');
    create_zone := cfg.time_zone;
    IF creating AND key_type = 'timestamptz'::regtype AND cfg.time_zone <> 'UTC' THEN
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
            steps := ai_scale._first_creations(steps, 200);
        END IF;
    END IF;
END $$;

-- The first phase of one table's maintenance (_maintain): its partitions' bounds read
-- (_maintain_read_bounds) and the planner's steps for them (ai_scale._plan,
-- _maintain_creations), with what the other phases need to know of the table; _maintain
-- fills in what the default partition holds. Nothing is changed here.
CREATE FUNCTION ai_scale._maintain_plan(cfg ai_scale.partition_config, defer_detach boolean)
    RETURNS ai_scale._maintenance_plan
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
    seen record;
    pending regclass[] := '{}';
    steps ai_scale._partition_step[];
    creating boolean := false;
    create_zone text := cfg.time_zone;
    postponed bigint := 0;
    tiering boolean;
    retiring boolean;
BEGIN
    -- The zone as an UPDATE of partition_config left it: an abbreviation, which manage_partitions
    -- refuses, would be read through this session's timezone_abbreviations (an error row).
    PERFORM ai_scale._check_time_zone(cfg.time_zone);
    k := ai_scale._partition_key(cfg.parent);
    IF k.key_type = 'date'::regtype THEN
        PERFORM ai_scale._check_date_interval(cfg.partition_interval, k.key_column);
    END IF;
    seen := ai_scale._maintain_read_bounds(cfg, k.key_type);
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
                          cfg.retention_mode, cfg.cold_after, seen.now_local,
                          coalesce(seen.lowers, '{}'), coalesce(seen.uppers, '{}'),
                          coalesce(seen.cold, '{}'), seen.retain_before, seen.cold_before)
           WITH ORDINALITY AS pl(action, idx, lower, upper, suffix, ord);
    -- (Without a creation, as it is: nothing to make, in the table's zone.)
    IF seen.first_pass_upper
       OR EXISTS (SELECT 1 FROM unnest(steps) s WHERE s.action = 'create') THEN
        SELECT * INTO steps, creating, create_zone, postponed
          FROM ai_scale._maintain_creations(cfg, k.key_type, seen.now_local, steps,
                                            seen.first_pass_upper, defer_detach);
    END IF;
    -- Which of the later phases have work: a no-op run calls none of them but the default
    -- partition's (the call of a phase with nothing to do costs about 0.04 ms, some 5% of a
    -- no-op run).
    SELECT coalesce(bool_or(s.action = 'tier'), false),
           coalesce(bool_or(s.action <> 'create'), false)
      INTO tiering, retiring FROM unnest(steps) s;
    RETURN ROW(k.key_column, k.key_type, seen.dflt, NULL, false, false, seen.parts, seen.cold_oid,
               pending, steps, creating, create_zone, postponed, tiering, retiring)
           ::ai_scale._maintenance_plan;
END $$;

-- Locks the table for the creations of a run and looks at its default partition (dflt) again:
-- a row may have come since _maintain looked (default_has_rows). Returns what it saw and
-- whether the partitions are made in place (in_place).
--
-- A table without partitions, but an empty default, holds no rows: no query on it can be
-- served from a partition, so locking all of it while the first partitions are made holds up
-- no more than the attaches' lock on the default would. They are then made in place, a
-- quarter faster. Checked again under the lock: a row may have come meanwhile. Otherwise a row
-- written to the default in the range of a partition made here would make its attach fail:
-- readers and writers of the default wait from here, in the ACCESS EXCLUSIVE mode each attach
-- takes on it anyway. A weaker lock first (EXCLUSIVE, which lets readers in) made the attach an
-- upgrade: a transaction that had read the table (ACCESS SHARE on the default) and then wrote
-- a row to the default (as predict() does: its lookup, then its store) waited for the run, the
-- run's attach for it, and the deadlock detector failed the run, at every try while such
-- writes went on (specs/default_reader_then_writer.spec). Taken first, the lock waits for that
-- transaction (which goes ahead of the wait), or gives up within maintenance_lock_timeout.
CREATE FUNCTION ai_scale._make_ahead_lock(parent regclass, dflt regclass,
                                          INOUT default_has_rows boolean, OUT in_place boolean)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    in_place := false;
    IF NOT default_has_rows AND NOT ai_scale._has_partitions_besides(parent, dflt) THEN
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', parent);
        IF dflt IS NOT NULL THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', dflt) INTO default_has_rows;
        END IF;
        in_place := NOT default_has_rows AND NOT ai_scale._has_partitions_besides(parent, dflt);
    ELSIF dflt IS NOT NULL THEN
        -- The parent first, in the mode the attaches take, as queries and Postgres's own DDL
        -- lock it before a partition: the default first, a session that held the parent (a
        -- CREATE STATISTICS, an ANALYZE) and then read the table waited for the run, and the
        -- run for it.
        EXECUTE format('LOCK TABLE ONLY %s IN SHARE UPDATE EXCLUSIVE MODE', parent);
        EXECUTE format('LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE', dflt);
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', dflt) INTO default_has_rows;
    END IF;
END $$;

-- Whether parent has a partition other than its default (dflt, or NULL). (PL/pgSQL, whose plan
-- is kept: a SQL function with a SET clause is planned at every call, as each add's is.)
CREATE FUNCTION ai_scale._has_partitions_besides(parent regclass, dflt regclass)
    RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM pg_inherits i
                    WHERE i.inhparent = parent AND i.inhrelid IS DISTINCT FROM dflt);
END $$;

-- Raises the serialization failure of a stale snapshot (_rescue_snapshot_stale) for an error
-- just caught (its SQLSTATE, schema, table and constraint) that is Postgres's check of the rows
-- of the default partition dflt against a new partition's range (23514 naming the default and
-- no constraint), in a transaction that is not READ COMMITTED: the run looked at the default
-- under the transaction's snapshot, and a row committed into it since (after the snapshot,
-- before the lock) was not moved. Raised as it is, that was Postgres's own message, the error
-- pg_partman's users know, with a SQLSTATE no retry of a client's catches.
CREATE FUNCTION ai_scale._raise_if_default_row_unseen(dflt regclass, state text, nsp text,
                                                      tbl text, constraint_name text)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF state = '23514' AND coalesce(constraint_name, '') = ''
       AND current_setting('transaction_isolation') <> 'read committed'
       AND EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.oid = dflt AND c.relname = tbl AND n.nspname = nsp) THEN
        PERFORM ai_scale._rescue_snapshot_stale(dflt, 'A row was committed into it');
    END IF;
END $$;

-- Whether the creations (steps) move rows out of the default partition, which has rows. A
-- table a foreign key references can have no rows moved out of its default
-- (_require_movable_default), but its partitions are made while no row of the default lies in
-- their ranges: a row that no partition can hold (a NULL or infinite key), or one of an older
-- range, must not stop premaking for good.
CREATE FUNCTION ai_scale._make_ahead_moves_rows(parent regclass,
                                                plan ai_scale._maintenance_plan,
                                                steps ai_scale._partition_step[])
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    in_ranges text;
    moving boolean;
BEGIN
    IF ai_scale._referencing_foreign_key(parent) IS NULL
       AND ai_scale._referencing_foreign_key(plan.dflt) IS NULL THEN
        RETURN true;
    END IF;
    SELECT string_agg(format('(%I >= %s AND %I < %s)',
                             plan.key_column,
                             ai_scale._bound_literal(s.lower, plan.key_type, plan.create_zone),
                             plan.key_column,
                             ai_scale._bound_literal(s.upper, plan.key_type, plan.create_zone)),
                      ' OR ')
      INTO in_ranges FROM unnest(steps) s WHERE s.action = 'create';
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s WHERE %s)', plan.dflt, in_ranges)
       INTO moving;
    RETURN moving;
END $$;

-- Makes the partitions of the creations (steps), moving into them the default's rows in their
-- ranges when moving; returns a 'created' row for each.
CREATE FUNCTION ai_scale._make_ahead_create(cfg ai_scale.partition_config,
                                            plan ai_scale._maintenance_plan,
                                            steps ai_scale._partition_step[], moving boolean,
                                            in_place boolean, through_parent boolean)
    RETURNS ai_scale._maintenance_action[]
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p ai_scale._partition_step;
    made record;
    done ai_scale._maintenance_action[] := '{}';
BEGIN
    FOREACH p IN ARRAY coalesce(steps, '{}') LOOP
        CONTINUE WHEN p.action <> 'create';
        made := ai_scale._create_partition(cfg.parent, plan.key_column, plan.key_type,
                                           plan.create_zone, p.lower, p.upper, p.suffix,
                                           CASE WHEN moving THEN plan.dflt END, NULL,
                                           cfg.inherit_privileges, in_place, through_parent);
        CONTINUE WHEN made.partition IS NULL;
        done := done || ('created', made.partition, made.bounds
            || CASE WHEN made.rows_moved > 0
                    THEN format('; moved %s from the default partition',
                                ai_scale._count(made.rows_moved, 'row', 'rows'))
                    ELSE '' END)::ai_scale._maintenance_action;
    END LOOP;
    IF moving THEN
        PERFORM ai_scale._require_path_unchanged(cfg.parent, plan.dflt, through_parent);
    END IF;
    RETURN done;
END $$;

-- A 'skipped' row for each of the creations (steps) when a lock they need was not free in
-- time (message: the error's; default_has_rows: as last looked at, which says what was
-- locked).
CREATE FUNCTION ai_scale._make_ahead_skipped(parent regclass, plan ai_scale._maintenance_plan,
                                             steps ai_scale._partition_step[],
                                             default_has_rows boolean, message text)
    RETURNS ai_scale._maintenance_action[]
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p ai_scale._partition_step;
    held_by text; -- what held the lock
    held_up text; -- the message of a lock not free in time, with what held it
    done ai_scale._maintenance_action[];
BEGIN
    -- The parent: all of it for partitions made in place (a table with no other partition than
    -- an empty default), else what ATTACH takes; the default: what ATTACH takes, as
    -- _make_ahead_lock does.
    held_by := ai_scale._lock_holders(ARRAY[parent, plan.dflt], ARRAY[
        CASE WHEN NOT default_has_rows
                  AND NOT ai_scale._has_partitions_besides(parent, plan.dflt)
             THEN 'AccessExclusiveLock' ELSE 'ShareUpdateExclusiveLock' END,
        'AccessExclusiveLock'], current_setting('lock_timeout'));
    IF held_by = ai_scale._lock_released_text() THEN
        held_by := coalesce(ai_scale._uncommitted_creators_text(), held_by);
    END IF;
    held_up := message || coalesce('; ' || held_by, '');
    FOREACH p IN ARRAY steps LOOP
        CONTINUE WHEN p.action <> 'create';
        done := done || ('skipped', NULL,
            format('create from %s to %s: %s; retried on the next run',
                   ai_scale._bound_text(p.lower, plan.key_type, plan.create_zone),
                   ai_scale._bound_text(p.upper, plan.key_type, plan.create_zone),
                   held_up))::ai_scale._maintenance_action;
    END LOOP;
    RETURN done;
END $$;

-- For _make_ahead_try, once its shared attempt failed while moving the default's rows: the
-- creations (steps) again, under the locks taken again. Those whose ranges hold none of the
-- default's rows go together, as in the shared attempt (an error there is the table's, and
-- raised); each of the others in a subtransaction of its own, so that rows that cannot move (a
-- CHECK constraint added NOT VALID or a foreign key they break, a trigger refusing them, a
-- foreign key referencing the table; or a default that is partitioned itself, whose rows
-- are in its partitions) stop their own range only: it gets an 'error' row with
-- its bounds, its rows stay in the default, and the next run tries it again. A lock not free in
-- time is raised, for the caller to report. Returns the rows and whether the default had rows
-- under the lock (default_has_rows, given as last seen).
CREATE FUNCTION ai_scale._make_ahead_each(cfg ai_scale.partition_config,
                                          plan ai_scale._maintenance_plan,
                                          steps ai_scale._partition_step[],
                                          INOUT default_has_rows boolean,
                                          OUT done ai_scale._maintenance_action[])
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    looked record;
    p ai_scale._partition_step;
    rowless ai_scale._partition_step[] := '{}';
    holding ai_scale._partition_step[] := '{}';
    has_rows boolean;
    through_parent boolean;
    err_hint text;
    err_context text;
    err_schema text;
    err_table text;
    err_constraint text;
BEGIN
    done := '{}';
    looked := ai_scale._make_ahead_lock(cfg.parent, plan.dflt, default_has_rows);
    default_has_rows := looked.default_has_rows;
    FOREACH p IN ARRAY steps LOOP
        CONTINUE WHEN p.action <> 'create';
        has_rows := false;
        IF default_has_rows OR plan.dflt_kind = 'p' THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s%s WHERE %I >= %s AND %I < %s)',
                           CASE WHEN plan.dflt_kind = 'p' THEN '' ELSE 'ONLY ' END,
                           plan.dflt, plan.key_column,
                           ai_scale._bound_literal(p.lower, plan.key_type, plan.create_zone),
                           plan.key_column,
                           ai_scale._bound_literal(p.upper, plan.key_type, plan.create_zone))
               INTO has_rows;
        END IF;
        IF has_rows THEN
            holding := holding || p;
        ELSE
            rowless := rowless || p;
        END IF;
    END LOOP;
    IF cardinality(rowless) > 0 THEN
        done := ai_scale._make_ahead_create(cfg, plan, rowless, false, looked.in_place, false);
    END IF;
    IF cardinality(holding) = 0 THEN
        RETURN;
    END IF;
    FOREACH p IN ARRAY holding LOOP
        BEGIN
            -- (Here, where its refusal is this partition's error row: asked before the loop,
            -- it failed the table's whole run, the partitions without rows and retention too.)
            PERFORM ai_scale._require_plain_default(cfg.parent, plan.dflt);
            through_parent := ai_scale._moves_through_parent(cfg.parent, plan.dflt);
            -- (Around the parent, the move deletes in a WITH query; through it, not where
            -- the default has a DO ALSO rule on DELETE: _hold_default_rows.)
            PERFORM ai_scale._require_movable_default(cfg.parent, plan.dflt, through_parent,
                                                      NOT through_parent);
            done := done || ai_scale._make_ahead_create(cfg, plan, ARRAY[p], true, false,
                                                        through_parent);
        EXCEPTION
            WHEN lock_not_available OR out_of_memory THEN
                RAISE;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT, err_schema = SCHEMA_NAME,
                                        err_table = TABLE_NAME, err_constraint = CONSTRAINT_NAME,
                                        err_context = PG_EXCEPTION_CONTEXT;
                PERFORM ai_scale._raise_if_default_row_unseen(plan.dflt, SQLSTATE, err_schema,
                                                              err_table, err_constraint);
                done := done || ('error', NULL,
                    format('create from %s to %s: %s',
                           ai_scale._bound_text(p.lower, plan.key_type, plan.create_zone),
                           ai_scale._bound_text(p.upper, plan.key_type, plan.create_zone),
                           ai_scale._error_text(SQLERRM, err_hint, SQLSTATE, err_context)))
                    ::ai_scale._maintenance_action;
        END;
    END LOOP;
END $$;

-- One try at the creations (steps), all in one subtransaction: they need the same locks, so
-- when one cannot get them in time none could; they are then all reported as skipped
-- (_make_ahead_skipped), and retried next run (locked_out). Returns the rows, whether the default had rows
-- when last looked at (default_has_rows, given as last seen), and, for the worker
-- (defer_detach), out_of_locks when the lock table could not hold them: nothing was made, and
-- fewer may fit. When the attempt fails otherwise while moving rows out of the default, a row
-- that cannot move may be the cause: the creations are tried again, those with such rows one
-- at a time (_make_ahead_each), which is reported and halved as the first try is. Only then:
-- a run that fails on nothing keeps its one subtransaction for all its creations.
CREATE FUNCTION ai_scale._make_ahead_try(cfg ai_scale.partition_config, defer_detach boolean,
                                         plan ai_scale._maintenance_plan,
                                         steps ai_scale._partition_step[],
                                         INOUT default_has_rows boolean,
                                         OUT out_of_locks boolean,
                                         OUT done ai_scale._maintenance_action[],
                                         OUT locked_out boolean)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    looked record;
    moving boolean;
    in_place boolean := false;
    through_parent boolean := false;
    each record;
    err_schema text;
    err_table text;
    err_constraint text;
BEGIN
    out_of_locks := false;
    locked_out := false;
    moving := false;
    FOR one_at_a_time IN 0 .. 1 LOOP
        -- A partitioned default whose partitions hold rows: the ranges holding some cannot be
        -- made (Postgres refuses the attach), the others can; tried together, every run
        -- failed on the first, with Postgres's 23514, and made none.
        CONTINUE WHEN one_at_a_time = 0 AND plan.creating AND plan.dflt_kind = 'p'
                      AND plan.nested_default_rows;
        BEGIN
            IF one_at_a_time = 1 THEN
                SELECT * INTO each
                  FROM ai_scale._make_ahead_each(cfg, plan, steps, default_has_rows);
                default_has_rows := each.default_has_rows;
                done := each.done;
                RETURN;
            END IF;
            -- Postgres cannot lock a foreign default, which the attaches below would need.
            IF plan.creating AND plan.dflt_kind = 'f' THEN
                PERFORM ai_scale._require_plain_default(cfg.parent, plan.dflt);
            END IF;
            IF plan.creating THEN
                SELECT * INTO looked
                  FROM ai_scale._make_ahead_lock(cfg.parent, plan.dflt, default_has_rows);
                default_has_rows := looked.default_has_rows;
                in_place := looked.in_place;
            END IF;
            moving := plan.creating AND default_has_rows;
            IF moving THEN
                moving := ai_scale._make_ahead_moves_rows(cfg.parent, plan, steps);
            END IF;
            IF moving THEN
                through_parent := ai_scale._moves_through_parent(cfg.parent, plan.dflt);
                PERFORM ai_scale._require_movable_default(cfg.parent, plan.dflt, through_parent,
                                                          NOT through_parent);
            END IF;
            done := ai_scale._make_ahead_create(cfg, plan, steps, moving, in_place,
                                                through_parent);
            RETURN;
        EXCEPTION
            WHEN lock_not_available THEN
                done := ai_scale._make_ahead_skipped(cfg.parent, plan, steps, default_has_rows,
                                                     SQLERRM);
                locked_out := true;
                RETURN;
            WHEN out_of_memory THEN
                -- By hand, a run makes them all or fails with the error and its hint. (The
                -- retry one at a time takes every lock, where the shared try may have failed
                -- on a row before it took them all: raised there, the run failed at every
                -- try, none smaller, and made nothing.)
                IF NOT defer_detach
                   OR (SELECT count(*) FROM unnest(steps) s WHERE s.action = 'create') < 2 THEN
                    RAISE;
                END IF;
                out_of_locks := true;
                RETURN;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err_schema = SCHEMA_NAME, err_table = TABLE_NAME,
                                        err_constraint = CONSTRAINT_NAME;
                PERFORM ai_scale._raise_if_default_row_unseen(plan.dflt, SQLSTATE, err_schema,
                                                              err_table, err_constraint);
                -- Without rows to move, the error is the table's, and so is one of the retry.
                -- (moving keeps its value past the rollback.)
                IF NOT moving OR one_at_a_time = 1 THEN
                    RAISE;
                END IF;
        END;
    END LOOP;
END $$;

-- Makes the partitions the plan creates (premake, and the cells rows in the default need),
-- moving the default's rows in their ranges into them (_make_ahead_try). Returns the rows of
-- the run, whether the default had rows when last looked at (under the lock taken here,
-- when it made any) and whether they were skipped on a lock not free in time (locked_out).
--
-- The worker's 200 need about 2,200 locks, more than a small lock table holds (it has
-- max_locks_per_transaction times the number of backends, shared by all): with
-- max_locks_per_transaction = 10 every run failed with out of shared memory and made none,
-- nor did the run's retention. There the worker tries again with half as many, the nearest.
CREATE FUNCTION ai_scale._maintain_make_ahead(cfg ai_scale.partition_config,
                                              defer_detach boolean,
                                              plan ai_scale._maintenance_plan,
                                              OUT default_has_rows boolean,
                                              OUT done ai_scale._maintenance_action[],
                                              OUT locked_out boolean)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    steps ai_scale._partition_step[] := plan.steps;
    postponed bigint := plan.postponed;
    to_make bigint;
    lock_limited boolean := false;
    attempt record;
BEGIN
    default_has_rows := plan.default_has_rows;
    LOOP
        SELECT * INTO attempt
          FROM ai_scale._make_ahead_try(cfg, defer_detach, plan, steps, default_has_rows);
        default_has_rows := attempt.default_has_rows;
        EXIT WHEN NOT attempt.out_of_locks;
        to_make := (SELECT count(*) FROM unnest(steps) s WHERE s.action = 'create');
        postponed := postponed + (to_make - to_make / 2);
        lock_limited := true;
        steps := ai_scale._first_creations(steps, to_make / 2);
    END LOOP;
    done := attempt.done;
    locked_out := attempt.locked_out;
    IF postponed > 0 THEN
        done := done || ('skipped', NULL, CASE WHEN lock_limited
            THEN format('%s more partitions to make; the lock table held %s this run '
                        '(max_locks_per_transaction), the rest at its next runs', postponed,
                        (SELECT count(*) FROM unnest(done) d WHERE d.action = 'created'))
            ELSE format('%s more partitions to make; the worker makes at most 200 of a table '
                        'per run, the rest at its next runs', postponed)
            END)::ai_scale._maintenance_action;
    END IF;
END $$;
