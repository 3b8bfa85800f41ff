-- One maintenance run: the planner's steps carried out as DDL (premake, retention by drop,
-- detach or tier, rows rescued), per table and for all managed tables (run_maintenance).

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

-- The word that DROP and COMMENT ON take for rel: a partition may be a foreign table, which
-- DROP TABLE and COMMENT ON TABLE refuse ("use DROP FOREIGN TABLE"); DROP TABLE of its parent
-- drops it too. In C (src/partition/table_word.cpp): the maintenance worker's own statements
-- ask the same function.
CREATE FUNCTION ai_scale._table_word(rel regclass) RETURNS text
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_table_word';

-- Drops the partition rel, with DROP FOREIGN TABLE when it is a foreign table.
CREATE FUNCTION ai_scale._drop_partition(rel regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$ BEGIN EXECUTE format('DROP %s %s', ai_scale._table_word(rel), rel); END $$;

-- Whether rel still exists once locked for its DROP by OID (the parent first, when it is a
-- partition), waiting at most lock_timeout; for a role that may not drop it, true, and nothing
-- is locked (its DROP refuses it).
CREATE FUNCTION ai_scale._lock_to_drop(rel regclass) RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_lock_to_drop';

-- The statement that sets the comment of the partition rel to note (NULL removes it), with
-- COMMENT ON FOREIGN TABLE when it is a foreign table: run as it is, or as the table's owner
-- (_as_owner).
CREATE FUNCTION ai_scale._comment_statement(rel regclass, note text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT format('COMMENT ON %s %s IS %L', ai_scale._table_word(rel), rel, note) $$;

-- What the detail of a drop adds for a foreign table (else ''): dropping it removes only its
-- definition here, its rows stay on the foreign server. Read before the drop.
CREATE FUNCTION ai_scale._foreign_drop_note(rel regclass) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT coalesce((SELECT format('; a foreign table: its rows stay on server %I',
                                         s.srvname)
                             FROM pg_foreign_table f
                             JOIN pg_foreign_server s ON s.oid = f.ftserver
                            WHERE f.ftrelid = rel), '') $$;

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
-- the mark and whether the table is a partition, in OID order (a run's rows, and the order its
-- locks are taken in, the same at each run). Anyone may write the mark on a table of their own:
-- only the owner's count.
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
       AND c.relkind IN ('r', 'p', 'f') -- a partition may be partitioned itself, or foreign
     ORDER BY c.oid
$$;

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
-- itself and whether its partitions have rows (a partitioned default).
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
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', dflt) INTO default_has_rows;
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
-- writers of the default wait from here (the attaches lock it fully anyway).
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
        EXECUTE format('LOCK TABLE ONLY %s IN EXCLUSIVE MODE', dflt);
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s)', dflt) INTO default_has_rows;
    END IF;
END $$;

-- Whether parent has a partition other than its default (dflt, or NULL).
CREATE FUNCTION ai_scale._has_partitions_besides(parent regclass, dflt regclass)
    RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT EXISTS (SELECT 1 FROM pg_inherits i
                WHERE i.inhparent = parent AND i.inhrelid IS DISTINCT FROM dflt)
$$;

-- Whether the creations (steps) move rows out of the default partition, which has rows. A
-- table a foreign key references can have no rows moved out of its default
-- (_require_no_references), but its partitions are made while no row of the default lies in
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
    IF NOT EXISTS (SELECT 1 FROM pg_constraint c
                    WHERE c.contype = 'f' AND c.confrelid IN (parent, plan.dflt)) THEN
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
    held_up text; -- the message of a lock not free in time, with what held it
    done ai_scale._maintenance_action[];
BEGIN
    -- The parent: all of it for partitions made in place (a table with no other partition than
    -- an empty default), else what ATTACH takes; the default: what ATTACH takes (after LOCK
    -- TABLE ONLY ... IN EXCLUSIVE MODE, a weaker one).
    held_up := ai_scale._lock_timeout_text(message, ARRAY[parent, plan.dflt], ARRAY[
        CASE WHEN NOT default_has_rows
                  AND NOT ai_scale._has_partitions_besides(parent, plan.dflt)
             THEN 'AccessExclusiveLock' ELSE 'ShareUpdateExclusiveLock' END,
        'AccessExclusiveLock'], current_setting('lock_timeout'));
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
-- foreign key referencing the table) stop their own range only: it gets an 'error' row with
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
BEGIN
    done := '{}';
    looked := ai_scale._make_ahead_lock(cfg.parent, plan.dflt, default_has_rows);
    default_has_rows := looked.default_has_rows;
    FOREACH p IN ARRAY steps LOOP
        CONTINUE WHEN p.action <> 'create';
        has_rows := false;
        IF default_has_rows THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM ONLY %s WHERE %I >= %s AND %I < %s)',
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
    through_parent := ai_scale._moves_through_parent(cfg.parent, plan.dflt);
    FOREACH p IN ARRAY holding LOOP
        BEGIN
            PERFORM ai_scale._require_no_references(cfg.parent, plan.dflt);
            done := done || ai_scale._make_ahead_create(cfg, plan, ARRAY[p], true, false,
                                                        through_parent);
        EXCEPTION
            WHEN lock_not_available OR out_of_memory THEN
                RAISE;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT;
                done := done || ('error', NULL,
                    format('create from %s to %s: %s',
                           ai_scale._bound_text(p.lower, plan.key_type, plan.create_zone),
                           ai_scale._bound_text(p.upper, plan.key_type, plan.create_zone),
                           ai_scale._error_text(SQLERRM, err_hint, SQLSTATE)))::ai_scale._maintenance_action;
        END;
    END LOOP;
END $$;

-- One try at the creations (steps), all in one subtransaction: they need the same locks, so
-- when one cannot get them in time none could; they are then all reported as skipped
-- (_make_ahead_skipped), and retried next run. Returns the rows, whether the default had rows
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
                                         OUT done ai_scale._maintenance_action[])
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    looked record;
    moving boolean;
    in_place boolean := false;
    through_parent boolean := false;
    each record;
BEGIN
    out_of_locks := false;
    moving := false;
    FOR one_at_a_time IN 0 .. 1 LOOP
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
                PERFORM ai_scale._require_no_references(cfg.parent, plan.dflt);
                through_parent := ai_scale._moves_through_parent(cfg.parent, plan.dflt);
            END IF;
            done := ai_scale._make_ahead_create(cfg, plan, steps, moving, in_place,
                                                through_parent);
            RETURN;
        EXCEPTION
            WHEN lock_not_available THEN
                done := ai_scale._make_ahead_skipped(cfg.parent, plan, steps, default_has_rows,
                                                     SQLERRM);
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
-- the run and whether the default had rows when last looked at (under the lock taken here,
-- when it made any).
--
-- The worker's 200 need about 2,200 locks, more than a small lock table holds (it has
-- max_locks_per_transaction times the number of backends, shared by all): with
-- max_locks_per_transaction = 10 every run failed with out of shared memory and made none,
-- nor did the run's retention. There the worker tries again with half as many, the nearest.
CREATE FUNCTION ai_scale._maintain_make_ahead(cfg ai_scale.partition_config,
                                              defer_detach boolean,
                                              plan ai_scale._maintenance_plan,
                                              OUT default_has_rows boolean,
                                              OUT done ai_scale._maintenance_action[])
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

-- The worker's phase for the tables it detached to drop and did not drop (see
-- _owed_drop_note). Returns the rows of the run, and in handled the partitions still marked
-- (their unmark not free in time), which this run must not finalize.
--
-- Tables the worker detached to drop and did not drop (see _owed_drop_note): dropped now
-- while the retention that chose them still holds; kept, unmarked, when it changed (as the
-- worker keeps a table whose retention changed during its detach); the owner's tables only
-- (_owed_drop_marked). A table a view still uses gives an error row at every run, until it
-- can go. A marked table still a partition of the parent (its detach never started, or was
-- interrupted) loses the mark: retention (_maintain_retention) marks it again when it still
-- drops it; kept, it would be dropped once detached (a detach the worker finalizes to keep
-- it, or one by hand).
CREATE FUNCTION ai_scale._maintain_owed_drops(cfg ai_scale.partition_config,
                                              OUT handled regclass[],
                                              OUT done ai_scale._maintenance_action[])
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    victim regclass;
    attached boolean;
    still_owed boolean;
    err_hint text;
    err_message text;
    action text;
    partition text;
    detail text;
BEGIN
    handled := '{}';
    -- (Each named as the run read the marks: a table dropped since has no name.)
    FOR victim, partition, attached, still_owed IN
                 SELECT m.rel, m.rel::text, m.attached, ai_scale._owed_drop_due(cfg.parent, m.note)
                   FROM ai_scale._owed_drop_marked(cfg.parent) m
                  WHERE NOT m.attached
                     OR EXISTS (SELECT 1 FROM pg_inherits i
                                 WHERE i.inhrelid = m.rel AND i.inhparent = cfg.parent)
    LOOP
        IF attached THEN
            BEGIN
                EXECUTE ai_scale._comment_statement(victim, NULL);
                CONTINUE;
            EXCEPTION
                WHEN lock_not_available THEN
                    -- Still marked: not finalized in this run (it would be kept, marked).
                    handled := handled || victim;
                    action := 'skipped';
                    detail := format('unmark %s: %s; retried on the next run', victim,
                                     ai_scale._lock_timeout_text(SQLERRM, ARRAY[victim],
                                         '{ShareUpdateExclusiveLock}',
                                         current_setting('lock_timeout')));
                    done := done || (action, partition, detail)::ai_scale._maintenance_action;
                    CONTINUE;
            END;
        END IF;
        BEGIN
            -- Locked by OID before the DROP names it, its mark read again under the lock: the
            -- worker (or a DBA) may have dropped it since the run read the marks, and made
            -- another table of its name, which the DROP by name then dropped, or unmarked it.
            -- (A partition retention drops is not locked so: the run's lock on the parent keeps
            -- it, and an event trigger of the DROP runs before the DROP's locks. A rename during
            -- its DROP's wait is a skipped row: _retire_partition.)
            IF still_owed THEN
                IF NOT ai_scale._lock_to_drop(victim) THEN
                    RAISE EXCEPTION 'relation with OID % does not exist', victim::oid
                          USING ERRCODE = 'undefined_table';
                END IF;
                still_owed := ai_scale._owed_drop_due(cfg.parent,
                                                      obj_description(victim, 'pg_class'));
            END IF;
            IF still_owed THEN
                detail := 'detached by retention earlier, and not dropped then'
                          || ai_scale._foreign_drop_note(victim);
                PERFORM ai_scale._drop_partition(victim);
                action := 'dropped';
            ELSE
                EXECUTE ai_scale._comment_statement(victim, NULL);
                action := 'skipped';
                detail := 'detached by retention earlier; kept, as the retention settings changed';
            END IF;
        EXCEPTION
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT;
                -- Dropped by another session since the run read the marks: its DROP found no
                -- such table (42P01). Nothing is owed any more. (A table renamed meanwhile still
                -- exists: an error row, and the next run drops it by its new name.)
                IF SQLSTATE = '42P01'
                   AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = victim) THEN
                    done := done || ('skipped', partition,
                                     format('drop %s, detached by retention earlier: dropped by '
                                            'another session since the run read it', partition))
                                    ::ai_scale._maintenance_action;
                    CONTINUE;
                END IF;
                action := CASE WHEN SQLSTATE = '55P03' THEN 'skipped' ELSE 'error' END;
                err_message := SQLERRM;
                IF SQLSTATE = '55P03' THEN
                    err_message := ai_scale._lock_timeout_text(SQLERRM, ARRAY[victim],
                                       '{AccessExclusiveLock}', current_setting('lock_timeout'));
                END IF;
                detail := format('drop %s, detached by retention earlier: %s', partition,
                                 ai_scale._error_text(err_message, err_hint, SQLSTATE));
        END;
        done := done || (action, partition, detail)::ai_scale._maintenance_action;
    END LOOP;
END $$;

-- Before a run moves partitions to the cold tablespace (cold_oid, as _maintain_plan read it;
-- owner, the table's owner): an error row when no move can succeed, after which the run tries
-- none.
--
-- What every move to the cold tablespace needs is checked once: the tablespace (dropped or
-- renamed since manage_partitions named it) and the owner's right to create in it (revoked
-- since). Each move failed on it before, an error row per partition, up to 100 each run,
-- logged by the worker at every naptime. The moves are then left for the next runs.
CREATE FUNCTION ai_scale._maintain_check_cold_tablespace(cfg ai_scale.partition_config,
                                                         cold_oid oid, owner oid)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    parent_table := cfg.parent;
    partition := NULL;
    IF cold_oid IS NULL THEN
        action := 'error';
        detail := 'tier: ' || ai_scale._error_text(
            format('tablespace "%s" does not exist', cfg.cold_tablespace),
            format('It was dropped or renamed since manage_partitions named it: create it, '
                   'or name another with manage_partitions(%L, ..., cold_tablespace => ...).',
                   cfg.parent::text),
            '42704');
        RETURN NEXT;
    ELSIF cold_oid <> 0 AND NOT has_tablespace_privilege(owner, cold_oid, 'CREATE') THEN
        action := 'error';
        detail := 'tier: ' || ai_scale._error_text(
            format('the owner of table %s (%s) may not create in tablespace %s', cfg.parent,
                   owner::regrole, quote_ident(cfg.cold_tablespace)),
            format('GRANT CREATE ON TABLESPACE %I TO %s;', cfg.cold_tablespace, owner::regrole),
            '42501');
        RETURN NEXT;
    END IF;
END $$;

-- Drops the partition victim, older than the retention. Postgres refuses to drop a partition
-- of a table that a foreign key references (referenced; the key's constraint on it depends on
-- it), whether a row references it or not: it is detached first, which is refused (23503)
-- only while one does.
CREATE FUNCTION ai_scale._retire_drop(cfg ai_scale.partition_config, victim regclass,
                                      referenced boolean)
    RETURNS ai_scale._maintenance_action
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    partition text := victim::text; -- named before a drop
    detail text;
BEGIN
    IF referenced THEN
        EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', cfg.parent, victim);
    END IF;
    detail := 'older than retention ' || cfg.retention::text || ai_scale._foreign_drop_note(victim);
    PERFORM ai_scale._drop_partition(victim);
    RETURN ('dropped', partition, detail)::ai_scale._maintenance_action;
END $$;

-- What a DETACH ... FINALIZE that gave up (55P03) with no session holding its tables waited
-- for: the transactions of this database whose snapshot is as old as its own (it waits for
-- each to end, whichever tables they read; not for a VACUUM, which is left out), begun before
-- its wait (waited, the lock_timeout it waited with), each by pid and the age of its
-- transaction, the oldest three and how many more; null when none is left. As _lock_holders,
-- from the function behind pg_stat_activity, and null on any error.
CREATE FUNCTION ai_scale._older_transactions(waited text) RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    holders text[];
    total int;
BEGIN
    SELECT array_agg(format('pid %s (%s)', a.pid, ai_scale._transaction_age_text(a.xact_start))
                     ORDER BY a.xact_start NULLS LAST, a.pid),
           count(*)
      INTO holders, total
      FROM pg_stat_get_activity(NULL) a
     WHERE a.datid = (SELECT m.datid FROM pg_stat_get_activity(pg_backend_pid()) m)
       AND a.pid <> pg_backend_pid() AND a.backend_xmin IS NOT NULL
       AND a.backend_type <> 'autovacuum worker' -- (not waited for)
       AND a.pid NOT IN (SELECT v.pid FROM pg_stat_get_progress_info('VACUUM') v) -- (nor VACUUM)
       AND age(a.backend_xmin) >= age(xid(pg_snapshot_xmin(pg_current_snapshot())))
       AND (a.xact_start IS NULL OR a.xact_start < clock_timestamp() - waited::interval);
    IF total = 0 THEN
        RETURN NULL;
    END IF;
    RETURN 'waiting for the transactions older than it to end: '
           || ai_scale._first_sessions_text(holders, total);
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END $$;

-- For a run by hand: ALTER TABLE parent DETACH PARTITION victim FINALIZE, which completes a
-- detach that was interrupted (DETACH ... CONCURRENTLY cancelled, or its session ended). It
-- takes SHARE UPDATE EXCLUSIVE on parent and ACCESS EXCLUSIVE on victim, and waits for the
-- queries older than it, all within the run's lock_timeout: a 'skipped' row when one is not
-- done in time, retried on the next run (it stays pending detach meanwhile, as it was); else a
-- 'detached' row, with note as its detail. NULL when the detach was completed since the run
-- read it (by the worker, whose FINALIZE takes the same lock on parent first, or by hand).
-- Before, a run by hand only said how to complete it.
CREATE FUNCTION ai_scale._finalize_detach(parent regclass, victim regclass, note text)
    RETURNS ai_scale._maintenance_action
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    partition text := victim::text;
    held_by text;
BEGIN
    -- A FINALIZE waits for the transactions older than it, holding the partition (and the
    -- default partition) ACCESS EXCLUSIVE. After other DDL in this transaction (a table's
    -- partitions dropped or made, a default partition added by manage_partitions, another
    -- table's run), a writer of those tables whose statement began before it waits for this
    -- transaction while the FINALIZE waits for it: the deadlock detector cancelled one of them,
    -- often the writer's insert (found by the soak of 274_partition_chaos_soak.pl). Left to a
    -- run that starts with it (a run does its FINALIZEs first, see _maintain).
    IF EXISTS (SELECT 1 FROM pg_lock_status() l
                WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
                  AND l.mode NOT IN ('AccessShareLock', 'RowShareLock', 'RowExclusiveLock')) THEN
        RETURN ('skipped', partition,
                'finalize the detach: not after other DDL in the same transaction, whose '
                || 'writers it would wait for; finalized by the next run')
               ::ai_scale._maintenance_action;
    END IF;
    EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE', parent);
    IF NOT EXISTS (SELECT 1 FROM pg_inherits i
                    WHERE i.inhrelid = victim AND i.inhparent = parent AND i.inhdetachpending) THEN
        RETURN NULL;
    END IF;
    EXECUTE format('ALTER TABLE %s DETACH PARTITION %s FINALIZE', parent, victim);
    RETURN ('detached', partition, note)::ai_scale._maintenance_action;
EXCEPTION WHEN lock_not_available THEN
    held_by := ai_scale._lock_holders(ARRAY[parent, victim],
                                      '{ShareUpdateExclusiveLock,AccessExclusiveLock}',
                                      current_setting('lock_timeout'));
    -- No session holding either table (_lock_holders's words for none): the wait was for the
    -- transactions older than the FINALIZE, named. Before, the row said that a session had
    -- released its lock, of a transaction on another table still open, and named none.
    IF held_by IS NULL OR held_by = ai_scale._lock_released_text() THEN
        held_by := coalesce(ai_scale._older_transactions(current_setting('lock_timeout')),
                            held_by);
    END IF;
    RETURN ('skipped', partition,
            format('finalize the detach: %s; %s; retried on the next run', SQLERRM,
                   coalesce(held_by, 'a transaction older than it is still open')))
           ::ai_scale._maintenance_action;
END $$;

-- A partition already pending detach that the plan drops or detaches (action): the worker
-- (defer_detach) finalizes it, as a 'detach_pending' row, marking it first for 'drop'; by
-- hand, it is dropped (_retire_drop), or its detach finalized (_finalize_detach).
CREATE FUNCTION ai_scale._retire_pending(cfg ai_scale.partition_config, defer_detach boolean,
                                         action text, victim regclass)
    RETURNS ai_scale._maintenance_action
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    partition text := victim::text;
BEGIN
    IF defer_detach THEN
        IF action = 'drop' THEN
            EXECUTE ai_scale._comment_statement(
                        victim, ai_scale._owed_drop_note(cfg.parent, cfg.retention));
        END IF;
        RETURN ('detach_pending', partition,
                'finalize ' || action)::ai_scale._maintenance_action;
    ELSIF action = 'drop' THEN
        RETURN ai_scale._retire_drop(cfg, victim, false);
    END IF;
    RETURN ai_scale._finalize_detach(cfg.parent, victim,
                                     'older than retention ' || cfg.retention::text);
END $$;

-- Moves the partition victim to the cold tablespace (cold_oid, as _maintain_plan read it), as
-- the table's owner: it must have the right to create there (the worker's superuser would
-- move anyone's partitions into any tablespace). A partition partitioned itself holds its rows
-- in its partitions: each is moved (it alone only names the tablespace of partitions made later
-- in it, and read as cold, its rows stayed where they were for good). (Its foreign partitions,
-- which have no storage here, stay as they are.)
CREATE FUNCTION ai_scale._tier_partition(cfg ai_scale.partition_config, victim regclass,
                                         cold_oid oid)
    RETURNS ai_scale._maintenance_action
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    leaf regclass;
BEGIN
    FOR leaf IN SELECT l.relid FROM pg_partition_tree(victim) l
                  JOIN pg_class c ON c.oid = l.relid AND c.relkind <> 'f'
                 ORDER BY l.level LOOP
        PERFORM ai_scale._as_owner(cfg.parent, format('ALTER TABLE %s SET TABLESPACE %I',
                                                      leaf, cfg.cold_tablespace));
    END LOOP;
    -- And their indexes, which ALTER TABLE leaves where they are: the primary key and the cache
    -- lookup index of a prediction store stayed in the hot tablespace, about as big as the rows
    -- moved.
    FOR leaf IN SELECT i.indexrelid FROM pg_partition_tree(victim) l
                  JOIN pg_index i ON i.indrelid = l.relid
                  JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE c.reltablespace <> cold_oid
                 ORDER BY l.level, i.indexrelid LOOP
        PERFORM ai_scale._as_owner(cfg.parent, format('ALTER INDEX %s SET TABLESPACE %I',
                                                      leaf, cfg.cold_tablespace));
    END LOOP;
    RETURN ('moved_to_cold', victim::text,
            'tablespace ' || quote_ident(cfg.cold_tablespace))::ai_scale._maintenance_action;
END $$;

-- What held up a retention or tiering step (action, on the partition victim) whose lock was
-- not free in time (message: the error's), with the locks the step takes.
CREATE FUNCTION ai_scale._retire_lock_text(cfg ai_scale.partition_config, defer_detach boolean,
                                           plan ai_scale._maintenance_plan, action text,
                                           victim regclass, message text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF action = 'tier' THEN
        -- SET TABLESPACE of each table and index of the partition's tree, read from the
        -- catalogs (pg_partition_tree would lock the tables, and wait).
        RETURN ai_scale._lock_timeout_text(message, ARRAY(
            WITH RECURSIVE tree(rel, level) AS (
                SELECT victim::oid, 0
                UNION ALL
                SELECT i.inhrelid, t.level + 1
                  FROM pg_inherits i JOIN tree t ON i.inhparent = t.rel)
            SELECT x.rel::regclass
              FROM (SELECT t.rel, t.level, 0 AS idx FROM tree t
                    UNION ALL
                    SELECT i.indexrelid, t.level, 1
                      FROM tree t JOIN pg_index i ON i.indrelid = t.rel) x
             ORDER BY x.idx, x.level, x.rel),
            '{AccessExclusiveLock}', current_setting('lock_timeout'));
    ELSIF defer_detach AND (victim = ANY (plan.pending) OR plan.dflt IS NULL) THEN
        -- Only the mark of a drop the worker does itself (COMMENT ON).
        RETURN ai_scale._lock_timeout_text(message, ARRAY[victim], '{ShareUpdateExclusiveLock}',
                                           current_setting('lock_timeout'));
    END IF;
    -- DROP and DETACH lock the partition, its parent and the default.
    RETURN ai_scale._lock_timeout_text(message, ARRAY[victim, cfg.parent, plan.dflt],
                                       '{AccessExclusiveLock}', current_setting('lock_timeout'));
END $$;

-- Whether a move to the cold tablespace that failed with sqlstate (on the partition victim of
-- the table owned by owner) failed on the tablespace rather than on its partition, so that
-- every other move would fail too: its directory gone (58P01), or not writable by the server
-- (42501 on a partition the owner owns all of), the lock table full (53200). A full disk
-- (53100) is not: a smaller partition may still fit.
CREATE FUNCTION ai_scale._tier_fails_all(sqlstate text, victim regclass, owner oid)
    RETURNS boolean
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT left(sqlstate, 2) = '58' OR (left(sqlstate, 2) = '53' AND sqlstate <> '53100')
       OR (sqlstate = '42501'
           AND NOT EXISTS (SELECT 1 FROM pg_partition_tree(victim) l
                             JOIN pg_class c ON c.oid = l.relid
                            WHERE c.relowner <> owner))
$$;

-- One step of retention or tiering (p, on the partition victim), in a subtransaction of its
-- own: one that fails is reported, and the partitions made before (_maintain_make_ahead) and
-- the other steps stand. Returns its row, whether its error says that no other move to the
-- cold tablespace can succeed (blocks_tiering), and whether it says that the lock table is
-- full (lock_table_full: out of shared memory, 53200), which no other step can pass either.
-- referenced: whether a foreign key references the table, asked before a drop.
CREATE FUNCTION ai_scale._retire_partition(cfg ai_scale.partition_config, defer_detach boolean,
                                           plan ai_scale._maintenance_plan,
                                           p ai_scale._partition_step, victim regclass,
                                           referenced boolean, owner oid,
                                           OUT done ai_scale._maintenance_action,
                                           OUT blocks_tiering boolean,
                                           OUT lock_table_full boolean)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    err_hint text;
    partition text := victim::text; -- named before the step: a drop meanwhile leaves the OID
    parent_name text := cfg.parent::text;
BEGIN
    blocks_tiering := false;
    lock_table_full := false;
    BEGIN
        IF victim = ANY (plan.pending) AND p.action IN ('drop', 'detach') THEN
            done := ai_scale._retire_pending(cfg, defer_detach, p.action, victim);
        ELSIF defer_detach AND plan.dflt IS NULL AND p.action IN ('drop', 'detach') THEN
            -- The worker detaches it concurrently, in a transaction of its own (see _maintain),
            -- and drops it for 'drop': marked first.
            IF p.action = 'drop' THEN
                EXECUTE ai_scale._comment_statement(
                            victim, ai_scale._owed_drop_note(cfg.parent, cfg.retention));
            END IF;
            done := ('detach_pending', victim::text, p.action)::ai_scale._maintenance_action;
        ELSIF p.action = 'drop' THEN
            done := ai_scale._retire_drop(cfg, victim, referenced);
        ELSIF p.action = 'detach' THEN
            EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', cfg.parent, victim);
            done := ('detached', victim::text,
                     'older than retention ' || cfg.retention::text)::ai_scale._maintenance_action;
        ELSE
            done := ai_scale._tier_partition(cfg, victim, plan.cold_oid);
        END IF;
    EXCEPTION
        WHEN lock_not_available THEN
            done := ('skipped', victim::text,
                     format('%s %s: %s; retried on the next run', p.action,
                            coalesce(victim::text, format('from %s to %s',
                                ai_scale._bound_text(p.lower, plan.key_type, cfg.time_zone),
                                ai_scale._bound_text(p.upper, plan.key_type, cfg.time_zone))),
                            ai_scale._retire_lock_text(cfg, defer_detach, plan, p.action,
                                                       victim, SQLERRM)))
                    ::ai_scale._maintenance_action;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT;
            -- The partition went since the plan read it: the worker completed its concurrent
            -- detach and dropped the table (neither takes the maintenance lock), or a session
            -- dropped it. Its step found it gone ('table ... does not exist'), an error row.
            -- (Asked only then: after other errors, a full lock table (53200) among them, the
            -- catalog read could fail too, and fail the table's whole run.)
            IF SQLSTATE = '42P01'
               AND NOT EXISTS (SELECT 1 FROM pg_inherits i
                                WHERE i.inhrelid = victim AND i.inhparent = cfg.parent) THEN
                done := ('skipped', partition,
                         format('%s %s: no longer a partition of %s: dropped or detached by '
                                'another session since the run read it', p.action, partition,
                                cfg.parent))::ai_scale._maintenance_action;
                RETURN;
            END IF;
            -- A session renamed the partition (or its table: a DETACH names both) and committed
            -- while the step waited for its lock: the step's statement, which named it as it
            -- was before the wait, then found no table of that name. The partition is still
            -- there: the next run retires it by its new name. (ALTER TABLE ... RENAME locks the
            -- partition alone, which the run does not hold before the step.)
            IF SQLSTATE = '42P01'
               AND (victim::text <> partition OR cfg.parent::text <> parent_name) THEN
                done := ('skipped', victim::text,
                         format('%s %s: %s renamed to %s by another session while the step '
                                'waited for its lock; retried on the next run', p.action,
                                victim, CASE WHEN victim::text <> partition THEN partition
                                             ELSE parent_name END,
                                CASE WHEN victim::text <> partition THEN victim::text
                                     ELSE cfg.parent::text END))::ai_scale._maintenance_action;
                RETURN;
            END IF;
            -- Another session's DETACH ... CONCURRENTLY began on it since: Postgres refuses to
            -- alter it (55000, "cannot detach partition ..."). Its detach is finalized, or the
            -- partition dropped, by the next run.
            IF SQLSTATE = '55000' AND NOT victim = ANY (plan.pending)
               AND EXISTS (SELECT 1 FROM pg_inherits i
                            WHERE i.inhrelid = victim AND i.inhparent = cfg.parent
                              AND i.inhdetachpending) THEN
                done := ('skipped', partition,
                         format('%s %s: another session began to detach it concurrently since '
                                'the run read it; retried on the next run', p.action, partition))
                        ::ai_scale._maintenance_action;
                RETURN;
            END IF;
            done := ('error', victim::text,
                     format('%s %s: %s', p.action, victim,
                            ai_scale._error_text(SQLERRM, err_hint, SQLSTATE)))
                    ::ai_scale._maintenance_action;
            blocks_tiering := p.action = 'tier'
                              AND ai_scale._tier_fails_all(SQLSTATE, victim, owner);
            lock_table_full := SQLSTATE = '53200';
    END;
END $$;

-- Drops, detaches and moves to the cold tablespace the partitions the plan retires (the
-- worker's detaches as 'detach_pending' rows, see _maintain), each step in a subtransaction of
-- its own (_retire_partition). tier_blocked: the cold tablespace check failed
-- (_maintain_check_cold_tablespace), no move is tried; owner: the table's owner, read when a
-- step tiers. Returns the rows of the run, and in handled the partitions pending detach it
-- dealt with, added to those given.
-- After a step that found the lock table full (the steps before it keep their locks to the
-- run's end), no other is tried: each failed the same way, an error row apiece (up to 99 more
-- a run, logged by the worker at every naptime). They are counted in one skipped row.
CREATE FUNCTION ai_scale._maintain_retention(cfg ai_scale.partition_config,
                                            defer_detach boolean,
                                            plan ai_scale._maintenance_plan,
                                            tier_blocked boolean, owner oid,
                                            INOUT handled regclass[],
                                            OUT done ai_scale._maintenance_action[])
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p ai_scale._partition_step;
    victim regclass;
    referenced boolean;
    retired int := 0;
    tier_left bigint := 0;
    locks_full boolean := false;
    retire_left bigint := 0;
    retire_word text;
    step record;
    pending boolean; -- the step's partition is pending detach
BEGIN
    FOREACH p IN ARRAY coalesce(plan.steps, '{}') LOOP
        CONTINUE WHEN p.action = 'create';
        -- Moves not tried after one failed on the tablespace (see below): counted, one row.
        IF p.action = 'tier' AND tier_blocked THEN
            tier_left := tier_left + 1;
            CONTINUE;
        END IF;
        victim := plan.parts[p.idx];
        pending := victim = ANY (plan.pending);
        -- A partition pending detach is not moved: Postgres refuses to alter it (55000, an
        -- error row whose hint said to FINALIZE, which the run then did); its detach is
        -- completed (_maintain_finish_detaches) and the table kept where it is.
        CONTINUE WHEN p.action = 'tier' AND pending;
        -- By hand, one that retention detaches was finalized first (see _maintain: handled).
        CONTINUE WHEN NOT defer_detach AND pending AND p.action = 'detach'
                      AND victim = ANY (handled);
        -- A partition pending detach that retention chooses is left to it, also when it is
        -- past this run's 100 (below): _maintain_finish_detaches would finalize it to keep it,
        -- a plain table retention no longer sees, never dropped.
        IF pending AND p.action IN ('drop', 'detach') THEN
            handled := handled || victim; -- whether or not its step succeeds
        END IF;
        -- At most 100 partitions dropped, detached or moved here per run, oldest first, the
        -- others at the next runs: each keeps its locks until the run's transaction ends, and
        -- a table with thousands of partitions past retention (retention set or shortened on a
        -- long history) failed every run on the lock table (out of shared memory), dropping
        -- none. Those the worker detaches itself, one transaction each, are not counted.
        IF NOT (defer_detach AND (pending
                                  OR (plan.dflt IS NULL AND p.action IN ('drop', 'detach')))) THEN
            CONTINUE WHEN retired >= 100;
            retired := retired + 1;
        END IF;
        IF p.action = 'drop' AND NOT pending AND NOT (defer_detach AND plan.dflt IS NULL)
           AND referenced IS NULL THEN
            -- Asked once, when a run drops something: pg_constraint has no index on confrelid,
            -- and its scan doubled a no-op run at 1000 children.
            referenced := EXISTS (SELECT 1 FROM pg_constraint c
                                   WHERE c.contype = 'f' AND c.confrelid = cfg.parent);
        END IF;
        IF locks_full THEN
            retire_left := retire_left + 1;
            retire_word := p.action;
            CONTINUE;
        END IF;
        SELECT * INTO step
          FROM ai_scale._retire_partition(cfg, defer_detach, plan, p, victim, referenced, owner);
        tier_blocked := tier_blocked OR step.blocks_tiering OR step.lock_table_full;
        locks_full := step.lock_table_full;
        CONTINUE WHEN (step.done).action IS NULL; -- a detach completed meanwhile
        done := done || step.done;
    END LOOP;
    IF retire_left > 0 THEN
        done := done || ('skipped', NULL,
                         format('%s to %s not tried after the error above; retried on the next '
                                'run', ai_scale._count(retire_left, 'partition', 'partitions'),
                                retire_word))::ai_scale._maintenance_action;
    END IF;
    IF tier_left > 0 THEN
        done := done || ('skipped', NULL,
                         format('%s to move to tablespace %s not tried after the error above; '
                                'retried on the next run',
                                ai_scale._count(tier_left, 'partition', 'partitions'),
                                quote_ident(cfg.cold_tablespace)))::ai_scale._maintenance_action;
    END IF;
END $$;

-- The partitions of the table pending detach (pending, as _maintain_plan read them) that no
-- earlier phase dealt with (handled).
--
-- The other partitions pending detach (a DETACH ... CONCURRENTLY interrupted, by the worker
-- or by someone else): the detach is completed with DETACH ... FINALIZE (_finalize_detach;
-- the worker's in a transaction of its own), and the table kept, since retention did not
-- choose it, or chose to detach it (retention_detaches: said so in its row).
CREATE FUNCTION ai_scale._maintain_finish_detaches(cfg ai_scale.partition_config,
                                                   defer_detach boolean, pending regclass[],
                                                   handled regclass[],
                                                   retention_detaches regclass[] DEFAULT '{}')
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    victim regclass;
    err_hint text;
BEGIN
    parent_table := cfg.parent;
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
            -- In a subtransaction of its own: a FINALIZE that fails otherwise than on a lock (a
            -- deadlock, an event trigger refusing it) is its own 'error' row, and the partitions
            -- the run made and its other steps stand. It failed the table's whole run.
            BEGIN
                SELECT f.action, f.detail INTO action, detail
                  FROM ai_scale._finalize_detach(
                           cfg.parent, victim,
                           CASE WHEN victim = ANY (retention_detaches)
                                THEN 'older than retention ' || cfg.retention::text
                                ELSE 'an interrupted detach, finalized' END) f;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT;
                action := 'error';
                detail := 'finalize the detach: '
                          || ai_scale._error_text(SQLERRM, err_hint, SQLSTATE);
            END;
            CONTINUE WHEN action IS NULL; -- completed meanwhile
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

-- For the rescue phase: the rows of a batch of rescue_default (_rescue_default, with only_cell,
-- that cell alone) as the run's 'rescued' rows, a partition each.
CREATE FUNCTION ai_scale._rescued_rows(parent regclass, batch_rows int,
                                       only_cell timestamp DEFAULT NULL)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT parent, 'rescued', r.partition,
       format('moved %s from the default partition', ai_scale._count(r.rows_moved, 'row', 'rows'))
  FROM ai_scale._rescue_default(parent, batch_rows, only_cell) r
$$;

-- For the rescue phase: the detail of its 'skipped' row when a lock was not free in time
-- (message: the error's), naming what held the locks its attaches take on the default (dflt)
-- and on parent.
CREATE FUNCTION ai_scale._rescue_lock_text(parent regclass, dflt regclass, message text)
    RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT format('rescue: %s; retried on the next run',
              ai_scale._lock_timeout_text(message, ARRAY[dflt, parent],
                                          '{AccessExclusiveLock,ShareUpdateExclusiveLock}',
                                          current_setting('lock_timeout')))
$$;

-- For the rescue phase: whether failure (an error's text, as _error_text writes it) is one that a
-- creation of this run reported already (reported: those rows' details, see _make_ahead_each),
-- on the same rows: no second row says so.
CREATE FUNCTION ai_scale._reported_already(reported text[], failure text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT EXISTS (SELECT 1 FROM unnest(reported) d WHERE right(d, length(failure) + 2) = ': ' || failure)
$$;

-- For _maintain_default_partition, once a batch of the rescue failed on a row (an error a row's
-- data or a trigger raises: a data exception, class 22; an integrity constraint's, class 23; a
-- trigger's 09000, or a PL/pgSQL RAISE, class P0): the batch's cells (as batch_rows takes them,
-- at most 100) rescued again, each in a subtransaction of its own, so that rows that cannot
-- move (a CHECK constraint added NOT VALID or a foreign key they break, a trigger that refuses
-- them) keep only their own cell in the default: an 'error' row for it, with its bounds (none
-- for an error a creation of this run reported), tried again at the next run. A lock not free
-- in time ends it with a 'skipped' row. Past max_error_rows failed cells (a constraint that
-- every row breaks: each cell fails), the others are counted in one more row, so that the
-- worker's log, which has a line per row, gets a few lines a run, not a hundred.
CREATE FUNCTION ai_scale._rescue_each(cfg ai_scale.partition_config, dflt regclass,
                                      batch_rows int, reported text[])
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record := ai_scale._partition_key(cfg.parent);
    cells record;
    err_hint text;
    failure text;
    max_error_rows constant int := 3;
    errors int := 0;
    last_failure text;
BEGIN
    parent_table := cfg.parent;
    cells := ai_scale._default_cells(dflt, k.key_column, k.key_type, cfg.time_zone,
                                     cfg.partition_interval, batch_rows);
    FOR i IN 1 .. least(coalesce(array_length(cells.cell_lows, 1), 0), 100) LOOP
        BEGIN
            RETURN QUERY SELECT * FROM ai_scale._rescued_rows(cfg.parent, batch_rows,
                                                              cells.cell_lows[i]);
        EXCEPTION
            WHEN lock_not_available THEN
                action := 'skipped';
                partition := dflt::text;
                detail := ai_scale._rescue_lock_text(cfg.parent, dflt, SQLERRM);
                RETURN NEXT;
                RETURN;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT;
                failure := ai_scale._error_text(SQLERRM, err_hint, SQLSTATE);
                CONTINUE WHEN ai_scale._reported_already(reported, failure);
                errors := errors + 1;
                last_failure := failure;
                CONTINUE WHEN errors > max_error_rows;
                action := 'error';
                partition := dflt::text;
                detail := format('rescue from %s to %s: %s',
                                 ai_scale._bound_text(cells.cell_lows[i], k.key_type,
                                                      cfg.time_zone),
                                 ai_scale._bound_text((SELECT c.upper
                                                         FROM ai_scale._cells(
                                                             cfg.partition_interval,
                                                             cells.cell_lows[i],
                                                             cells.cell_lows[i]) c),
                                                      k.key_type, cfg.time_zone),
                                 failure);
                RETURN NEXT;
        END;
    END LOOP;
    IF errors > max_error_rows THEN
        action := 'error';
        partition := dflt::text;
        detail := format('rescue: %s could not move either (the last: %s)',
                         ai_scale._count(errors - max_error_rows, 'more cell', 'more cells'),
                         last_failure);
        RETURN NEXT;
    END IF;
END $$;

-- The last phase, for a table with a default partition (dflt): its rows (default_has_rows,
-- as the partitions' creation last saw them; nested_default_rows, rows in its partitions)
-- rescued into partitions, or, when it is empty, the indexes a rescue left on it dropped.
--
-- Rows left in the default partition (e.g. old rows inserted late): rescue them. A batch
-- makes up to 100 partitions, whose locks a small lock table did not hold: the worker's
-- rescue failed at every run (out of shared memory) and the default never emptied. The
-- worker tries again with fewer rows, so fewer partitions (at most one per row), down to one.
-- A rescue that fails with the error a creation of this run reported (reported: those rows'
-- details, see _make_ahead_each) stopped on the same rows: no second row says so.
CREATE FUNCTION ai_scale._maintain_default_partition(cfg ai_scale.partition_config,
                                                     defer_detach boolean, dflt regclass,
                                                     default_has_rows boolean,
                                                     nested_default_rows boolean,
                                                     reported text[])
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    victim regclass;
    rescue_rows int;
    err_hint text;
BEGIN
    parent_table := cfg.parent;
    IF dflt IS NOT NULL AND (default_has_rows OR nested_default_rows) THEN
        rescue_rows := cfg.rescue_batch_rows;
        LOOP
            BEGIN
                RETURN QUERY SELECT * FROM ai_scale._rescued_rows(cfg.parent, rescue_rows);
            EXCEPTION
                WHEN lock_not_available THEN
                    action := 'skipped';
                    partition := dflt::text;
                    detail := ai_scale._rescue_lock_text(cfg.parent, dflt, SQLERRM);
                    RETURN NEXT;
                WHEN OTHERS THEN
                    IF SQLSTATE = '53200' AND defer_detach AND rescue_rows > 1 THEN
                        rescue_rows := least(rescue_rows, 100) / 2;
                        CONTINUE;
                    END IF;
                    -- A row that cannot move fails its whole batch, at every run: the batch
                    -- again, a cell at a time.
                    IF left(SQLSTATE, 2) IN ('09', '22', '23', 'P0') THEN
                        RETURN QUERY SELECT * FROM ai_scale._rescue_each(cfg, dflt, rescue_rows,
                                                                         reported);
                        EXIT;
                    END IF;
                    GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT;
                    action := 'error';
                    partition := dflt::text;
                    detail := ai_scale._error_text(SQLERRM, err_hint, SQLSTATE);
                    IF NOT ai_scale._reported_already(reported, detail) THEN
                        detail := 'rescue: ' || detail;
                        RETURN NEXT;
                    END IF;
            END;
            EXIT;
        END LOOP;
    ELSIF dflt IS NOT NULL THEN
        -- An empty default keeps no index that an interrupted rescue_default_proc built for
        -- its batches and left behind (writers into the default would go on updating it). An
        -- index attached to one of the parent's is not such an index, and the comment that marks
        -- one is read only for the others (reading it costs a no-op run a fifth more). Two
        -- lookups of one catalog each, not a join of pg_index and pg_inherits: the planner
        -- costed the join's generic plan a little above its custom plans (two indexes a table
        -- where the default's oid says one), so it planned the join afresh at every run, a
        -- fifth of a no-op run.
        FOR victim IN SELECT i.indexrelid::regclass FROM pg_index i WHERE i.indrelid = dflt LOOP
            CONTINUE WHEN EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = victim);
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
                                     'the next run',
                                     ai_scale._lock_timeout_text(SQLERRM, ARRAY[dflt, victim],
                                         '{AccessExclusiveLock}',
                                         current_setting('lock_timeout')));
            END;
            RETURN NEXT;
        END LOOP;
    END IF;
END $$;

-- One table's maintenance. defer_detach (the worker's mode) returns drops and detaches as
-- 'detach_pending' rows instead of doing them: the worker then runs DETACH PARTITION ...
-- CONCURRENTLY in transactions of its own, which a function cannot do. Postgres refuses a
-- concurrent detach while the table has a default partition; such tables get a plain DETACH /
-- DROP under the short lock_timeout, skipped and retried when a long query holds the table.
-- A 'detach_pending' row's detail says what the worker does: 'drop' or 'detach' (concurrently,
-- then DROP TABLE, or DROP FOREIGN TABLE, for 'drop'), or, for a partition already pending
-- detach, 'finalize', 'finalize detach' or 'finalize drop' (DETACH ... FINALIZE, then DROP
-- TABLE for the last);
-- a partition to drop is marked first (_owed_drop_note), and in this mode a run drops the
-- marked tables a detach left behind.
-- The run's phases are functions of their own, called in turn, each only when it has work: a
-- no-op run calls _maintain_plan and, for a table with a default partition,
-- _maintain_default_partition. The rows come in the order of the phases, creations first,
-- though retention runs before the creations (see below).
-- phase: NULL, the whole run (a run by hand, in the caller's transaction); for the worker,
-- which commits between the two, 'first' and then 'rest'. 'first' is the whole run too, unless
-- retention has steps: it then stops after retention, with a 'continue' row when the creations
-- or the default partition's phase have work, and 'rest' runs those. A drop or detach holds the
-- parent ACCESS EXCLUSIVE to the end of its transaction: in the same transaction as the
-- creations and the rescue, inserts into every partition waited for them too (an attach takes
-- only SHARE UPDATE EXCLUSIVE on the parent, which writers do not wait for).
CREATE FUNCTION ai_scale._maintain(cfg ai_scale.partition_config, defer_detach boolean,
                                   phase text)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    plan ai_scale._maintenance_plan;
    default_has_rows boolean;
    handled regclass[] := '{}';
    tier_blocked boolean := false;
    owner oid; -- the table's owner, read when the run moves partitions to the cold tablespace
    made record;
    reported text[] := '{}'; -- the creations' error rows (_make_ahead_each), for the rescue
    owed record;
    retired record;
    checked ai_scale._maintenance_action[] := '{}'; -- the cold tablespace's check
    finalized ai_scale._maintenance_action[] := '{}'; -- by hand, the interrupted detaches
    dropping regclass[]; -- by hand, the partitions retention drops
    retaining boolean := phase IS DISTINCT FROM 'rest'; -- this call applies retention
    retention_only boolean; -- this call stops after retention (phase 'first')
BEGIN
    plan := ai_scale._maintain_plan(cfg, defer_detach);
    retention_only := phase = 'first' AND defer_detach AND plan.retiring;
    -- What the default partition holds, for the creations and the rescue; not in the worker's
    -- retention transaction, which has neither. The look keeps ACCESS SHARE on the default to
    -- the end of the transaction, and a drop or detach then asks for the parent ACCESS
    -- EXCLUSIVE: a DBA's ATTACH PARTITION (or CREATE TABLE ... PARTITION OF) between the two,
    -- holding the parent and waiting for the default, and the run waited for each other, and
    -- the deadlock detector cancelled one of them (TAP 280). A run by hand still looks before
    -- its drops; it stays one transaction.
    IF plan.dflt IS NOT NULL AND NOT retention_only THEN
        SELECT * INTO plan.dflt_kind, plan.default_has_rows, plan.nested_default_rows
          FROM ai_scale._maintain_look_at_default(plan.dflt);
    END IF;
    default_has_rows := plan.default_has_rows;
    -- By hand, a detach interrupted earlier is finalized first, before any step of the run locks
    -- the table: a FINALIZE waits for the transactions older than it, and after the run's drops
    -- or creations, their writers waited for the run (see _finalize_detach). Its rows come
    -- last, as before. One that retention drops is left to it (a DROP waits for no one). The
    -- worker finalizes in a transaction of its own.
    IF NOT defer_detach AND cardinality(plan.pending) > 0 THEN
        dropping := ARRAY(SELECT plan.parts[s.idx] FROM unnest(plan.steps) s
                           WHERE s.action = 'drop' AND plan.parts[s.idx] IS NOT NULL);
        finalized := ARRAY(
            SELECT ROW(f.action, f.partition, f.detail)::ai_scale._maintenance_action
              FROM ai_scale._maintain_finish_detaches(
                       cfg, false, plan.pending, dropping,
                       ARRAY(SELECT plan.parts[s.idx] FROM unnest(plan.steps) s
                              WHERE s.action = 'detach')) f);
        handled := ARRAY(SELECT v FROM unnest(plan.pending) v WHERE NOT v = ANY (dropping));
    END IF;
    -- Retention before the creations, its rows returned after theirs. A drop or detach in the
    -- run locks the parent ACCESS EXCLUSIVE (and then the default partition), and each attach
    -- of a new partition the default partition ACCESS EXCLUSIVE, to the run's end: the other
    -- way round, a query holding the parent and waiting for the default partition (a writer of
    -- a row no partition holds, a reader of the whole table) and the run's drop waited for
    -- each other, and the deadlock detector cancelled one of them, the query as often as not
    -- (TAP 277). Queries lock the parent first too.
    -- A partition whose mark stays (its unmark not free in time) is not finalized (handled).
    IF defer_detach AND retaining THEN
        SELECT * INTO owed FROM ai_scale._maintain_owed_drops(cfg);
        handled := owed.handled;
    END IF;
    -- A row from the check says no move can succeed: none is tried (tier_blocked).
    IF plan.tiering AND retaining THEN
        owner := (SELECT c.relowner FROM pg_class c WHERE c.oid = cfg.parent);
        checked := ARRAY(SELECT ROW(c.action, c.partition, c.detail)::ai_scale._maintenance_action
                           FROM ai_scale._maintain_check_cold_tablespace(
                                    cfg, plan.cold_oid, owner) c);
        tier_blocked := cardinality(checked) > 0;
    END IF;
    IF plan.retiring AND retaining THEN
        SELECT * INTO retired
          FROM ai_scale._maintain_retention(cfg, defer_detach, plan, tier_blocked, owner, handled);
        handled := retired.handled;
    END IF;
    -- The default's rows as the creations last looked at them, under their lock: the rescue
    -- goes by them.
    IF plan.creating AND NOT retention_only THEN
        SELECT * INTO made FROM ai_scale._maintain_make_ahead(cfg, defer_detach, plan);
        default_has_rows := made.default_has_rows;
        IF default_has_rows THEN -- (only then a rescue runs, and a move could fail)
            reported := ARRAY(SELECT d.detail FROM unnest(made.done) d WHERE d.action = 'error');
        END IF;
        RETURN QUERY SELECT cfg.parent, d.action, d.partition, d.detail FROM unnest(made.done) d;
    END IF;
    IF defer_detach AND retaining THEN
        RETURN QUERY SELECT cfg.parent, d.action, d.partition, d.detail FROM unnest(owed.done) d;
    END IF;
    RETURN QUERY SELECT cfg.parent, d.action, d.partition, d.detail FROM unnest(checked) d;
    IF plan.retiring AND retaining THEN
        RETURN QUERY SELECT cfg.parent, d.action, d.partition, d.detail FROM unnest(retired.done) d;
    END IF;
    IF defer_detach AND retaining AND cardinality(plan.pending) > 0 THEN
        RETURN QUERY SELECT * FROM ai_scale._maintain_finish_detaches(
                         cfg, defer_detach, plan.pending, handled);
    END IF;
    -- The worker's retention transaction ends here: the creations and the default partition's
    -- phase, when they have work, in the next ('rest').
    IF retention_only THEN
        IF plan.creating OR plan.dflt IS NOT NULL THEN
            RETURN QUERY SELECT cfg.parent, 'continue', NULL::text, NULL::text;
        END IF;
        RETURN;
    END IF;
    IF cardinality(finalized) > 0 THEN
        RETURN QUERY SELECT cfg.parent, d.action, d.partition, d.detail FROM unnest(finalized) d;
    END IF;
    IF plan.dflt IS NOT NULL THEN
        RETURN QUERY SELECT * FROM ai_scale._maintain_default_partition(
                         cfg, defer_detach, plan.dflt, default_has_rows, plan.nested_default_rows,
                         reported);
    END IF;
END $$;

-- The hint of a maintenance run's error 42501 that came without one: which right the table's
-- owner (owner) lacks, or that the operating system refused the server a file; NULL when
-- neither. message: the error's.
CREATE FUNCTION ai_scale._maintenance_rights_hint(parent regclass, owner oid, message text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    err_message text;
    err_hint text;
BEGIN
    -- The owner lacks CREATE where partitions go (its schema, the table's own tablespace: the
    -- database's default needs none), or, where it may create there, a partition belongs to a
    -- role whose rights it lacks (one pg_partman made, say). An owner with all of them may have
    -- been refused by the operating system (a tablespace's directory the server may not write:
    -- Postgres reports that as 42501 too), and was told to grant what it had.
    IF NOT has_schema_privilege(owner, (SELECT c.relnamespace FROM pg_class c
                                         WHERE c.oid = parent), 'CREATE')
       OR EXISTS (SELECT 1 FROM pg_class c
                   WHERE c.oid = parent AND c.reltablespace <> 0
                     AND NOT has_tablespace_privilege(owner, c.reltablespace,
                                                      'CREATE')) THEN
        err_hint := format('Maintenance acts as the table''s owner (%s), who needs '
                           'CREATE on its schema and on the tablespace partitions '
                           'go to (the table''s own, and cold_tablespace to tier).',
                           owner::regrole);
    ELSE
        -- (Postgres's messages for a file it may not open begin so; another 42501, or one in
        -- another language, keeps its own message alone.)
        err_message := message;
        BEGIN
            PERFORM ai_scale._require_owner_partitions(parent);
            IF err_message LIKE 'could not %' THEN
                err_hint := format('The owner (%s) has the rights maintenance '
                                   'needs: the operating system refused the '
                                   'server a file or directory, such as a '
                                   'tablespace''s. Give the server''s user access '
                                   'to it.', owner::regrole);
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            GET STACKED DIAGNOSTICS err_message = MESSAGE_TEXT,
                                    err_hint = PG_EXCEPTION_HINT;
            err_hint := format('Maintenance acts as the table''s owner, and %s. %s',
                               err_message, err_hint);
        END;
    END IF;
    RETURN err_hint;
END $$;

-- The detail of the error row of a table's run (the error: message, err_code, hint; owner: the
-- table's owner). (PG_EXCEPTION_HINT is '' when the error has none, never NULL.) Which right
-- the owner lacks, when an error 42501 does not say (_maintenance_rights_hint).
CREATE FUNCTION ai_scale._maintenance_error_text(parent regclass, owner oid, message text,
                                                 err_code text, hint text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF err_code = '42501' AND coalesce(hint, '') = '' THEN
        hint := coalesce(ai_scale._maintenance_rights_hint(parent, owner, message), hint);
    END IF;
    RETURN ai_scale._error_text(message, hint, err_code);
END $$;

-- One table's run (cfg, the settings as read before its lock; owner, the table's owner;
-- caller_lock_timeout, the caller's lock_timeout; phase, as _maintain's), as its owner: its
-- rows, or the one row that says why it did not run. All of it in a subtransaction: a table's
-- error is its row, and the other tables' runs go on.
CREATE FUNCTION ai_scale._run_maintenance_table(cfg ai_scale.partition_config,
                                                defer_detach boolean, owner oid,
                                                caller_lock_timeout text, phase text)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    managed regclass := cfg.parent;
    err_hint text;
BEGIN
    parent_table := cfg.parent;
    partition := NULL;
    BEGIN
        -- Concurrent runs on the same table serialize here, waiting as long as the caller's
        -- lock_timeout allows (held to the end of the transaction).
        PERFORM set_config('lock_timeout', caller_lock_timeout, true);
        BEGIN
            PERFORM ai_scale._lock_for_maintenance(cfg.parent);
        EXCEPTION WHEN lock_not_available THEN
            action := 'skipped';
            detail := 'another maintenance run holds this table; '
                      || coalesce(ai_scale._lock_holders(ARRAY[cfg.parent], '{ExclusiveLock}',
                                                         caller_lock_timeout, true) || '; ', '')
                      || 'retried on the next run';
            RETURN NEXT;
            RETURN;
        END;
        -- The settings read above may have changed while this run waited for the lock (a
        -- manage_partitions that took retention away, an unmanage_partitions): a run that went
        -- on with them dropped partitions a committed change said to keep.
        SELECT * INTO cfg FROM ai_scale.partition_config c WHERE c.parent = managed;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        -- Then short lock waits for all DDL.
        PERFORM set_config('lock_timeout',
                           ai_scale._setting('ai_scale.maintenance_lock_timeout'), true);
        -- All of it as the table's owner (see _as_owner_rows), with the settings as they are now.
        RETURN QUERY SELECT * FROM ai_scale._as_owner_rows(cfg.parent, format(
                         'SELECT * FROM ai_scale._maintain((SELECT c FROM ai_scale.partition_config c '
                         'WHERE c.parent = %s::oid::regclass), %L, %L)', cfg.parent::oid,
                         defer_detach, phase))
                         AS t(parent_table regclass, action text, partition text, detail text);
    EXCEPTION
        -- A lock on the table itself, before any step (reading its partitions), not free in
        -- time: a transaction holds the table (an ALTER TABLE not committed yet).
        WHEN lock_not_available THEN
            action := 'skipped';
            -- (Reading the table and its default partition.)
            detail := ai_scale._lock_timeout_text(SQLERRM,
                          ARRAY[cfg.parent, ai_scale._default_partition_unlocked(cfg.parent)],
                          '{AccessShareLock}',
                          ai_scale._setting('ai_scale.maintenance_lock_timeout') || 'ms')
                      || '; retried on the next run';
            RETURN NEXT;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT;
            -- Dropped while this run waited for it: nothing to maintain, nothing wrong.
            IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = cfg.parent) THEN
                RETURN;
            END IF;
            action := 'error';
            detail := ai_scale._maintenance_error_text(cfg.parent, owner, SQLERRM, SQLSTATE,
                                                       err_hint);
            RETURN NEXT;
    END;
END $$;

-- run_maintenance, and the worker's run of one table (defer_detach and phase, see _maintain):
-- each managed table's run in turn (_run_maintenance_table), its rows counted as actions and
-- errors (_count_maintenance).
CREATE FUNCTION ai_scale._run_maintenance(parent regclass, defer_detach boolean,
                                           phase text DEFAULT NULL)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cfg ai_scale.partition_config;
    actions int := 0;
    errors int := 0;
    made int;
    owner oid;
    caller_lock_timeout text := current_setting('lock_timeout');
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
        made := 0;
        FOR parent_table, action, partition, detail IN
            SELECT * FROM ai_scale._run_maintenance_table(cfg, defer_detach, owner,
                                                          caller_lock_timeout, phase)
        LOOP
            IF action = 'error' THEN
                errors := errors + 1;
            ELSIF action NOT IN ('skipped', 'detach_pending', 'continue') THEN
                actions := actions + 1;
            END IF;
            IF action = 'created' THEN
                made := made + 1;
            END IF;
            RETURN NEXT;
        END LOOP;
        -- Each run that made partitions past what the lock table can lock at once says so.
        IF made > 0 AND (SELECT d.locks > d.slots FROM ai_scale._lock_demand(cfg.parent, NULL) d)
        THEN
            PERFORM ai_scale._warn_lock_table(cfg.parent, NULL);
        END IF;
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
