-- One maintenance run, part three: the default partition's phase (its rows rescued), a table's
-- whole run (_maintain, its phases in order) and run_maintenance, for one table or all.

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
    err_context text;
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
                GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT,
                                        err_context = PG_EXCEPTION_CONTEXT;
                failure := ai_scale._error_text(SQLERRM, err_hint, SQLSTATE, err_context);
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
-- details, see _make_ahead_each) stopped on the same rows: no second row says so. After
-- creations of this run skipped on a lock not free in time (locked_out), no rescue is tried.
CREATE FUNCTION ai_scale._maintain_default_partition(cfg ai_scale.partition_config,
                                                     defer_detach boolean, dflt regclass,
                                                     default_has_rows boolean,
                                                     nested_default_rows boolean,
                                                     reported text[],
                                                     locked_out boolean)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    victim regclass;
    rescue_rows int;
    err_hint text;
    err_context text;
BEGIN
    parent_table := cfg.parent;
    IF dflt IS NOT NULL AND default_has_rows AND locked_out THEN
        -- The creations of this run gave up on the locks a rescue takes (the parent SHARE
        -- UPDATE EXCLUSIVE, the default ACCESS EXCLUSIVE): it would wait as long again for
        -- them, and new queries of the table with it. (A partitioned default's rows are never
        -- rescued: the error below says so at every run.)
        action := 'skipped';
        partition := dflt::text;
        detail := 'rescue: not tried after the lock wait of the creations above, whose locks '
                  'it takes; retried on the next run';
        RETURN NEXT;
    ELSIF dflt IS NOT NULL AND (default_has_rows OR nested_default_rows) THEN
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
                    GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT,
                                            err_context = PG_EXCEPTION_CONTEXT;
                    action := 'error';
                    partition := dflt::text;
                    detail := ai_scale._error_text(SQLERRM, err_hint, SQLSTATE, err_context);
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
-- or the default partition's phase have work, and 'rest' runs those. The worker moves one
-- partition to the cold tablespace a transaction (_maintain_retention): an 'again' row says
-- more are due, from the lower bound in its detail, and phase 'tier' with tier_from that
-- bound, which moves the next one alone, is run until none is. A drop or detach holds the
-- parent ACCESS EXCLUSIVE to the end of its transaction: in the same transaction as the
-- creations and the rescue, inserts into every partition waited for them too (an attach takes
-- only SHARE UPDATE EXCLUSIVE on the parent, which writers do not wait for).
-- owed_drops: whether the worker's run drops what earlier runs detached and did not drop
-- (_maintain_owed_drops); its run passes false for a table no mark names (_owed_drop_parents).
CREATE FUNCTION ai_scale._maintain(cfg ai_scale.partition_config, defer_detach boolean,
                                   phase text, tier_from timestamp, owed_drops boolean)
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
    locked_out boolean := false; -- the creations gave up on their locks, for the rescue
    owed record;
    retired record;
    checked ai_scale._maintenance_action[] := '{}'; -- the cold tablespace's check
    finalized ai_scale._maintenance_action[] := '{}'; -- by hand, the interrupted detaches
    dropping regclass[]; -- by hand, the partitions retention drops
    retaining boolean := phase IS DISTINCT FROM 'rest'; -- this call applies retention
    retention_only boolean; -- this call stops after retention (phase 'first')
    tier_only boolean := phase IS NOT DISTINCT FROM 'tier'; -- moves, no more
    locks_full boolean := false; -- a step of retention found the lock table full
BEGIN
    plan := ai_scale._maintain_plan(cfg, defer_detach);
    retention_only := (phase = 'first' AND defer_detach AND plan.retiring) OR tier_only;
    -- What the default partition holds, for the creations and the rescue; not in the worker's
    -- retention transaction, which has neither. The look at the default's own rows keeps no
    -- lock on it (_has_rows_unlocked): kept to the end of the transaction, a drop or detach
    -- after it, asking for the parent ACCESS EXCLUSIVE, and a DBA's ATTACH PARTITION (or CREATE
    -- TABLE ... PARTITION OF) between the two, holding the parent and waiting for the default,
    -- waited for each other (TAP 280).
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
    IF defer_detach AND retaining AND NOT tier_only AND owed_drops THEN
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
          FROM ai_scale._maintain_retention(cfg, defer_detach, plan, tier_blocked, owner,
                                            tier_only,
                                            CASE WHEN defer_detach AND phase IS NOT NULL THEN 1 END,
                                            tier_from, handled);
        handled := retired.handled;
        locks_full := retired.lock_table_full;
    END IF;
    -- After a step of retention found the lock table full (the steps before it keep their
    -- locks to the run's end), the creations and the default partition's phase are left to the
    -- next run, with a skipped row when they had work: any lock they took, even on a catalog to
    -- plan a statement, could fail the table's whole run, undoing the drops that fit (TAP 225).
    IF locks_full AND NOT retention_only THEN
        RETURN QUERY SELECT cfg.parent, d.action, d.partition, d.detail
                       FROM unnest(checked || retired.done || finalized) d;
        IF plan.creating OR default_has_rows OR plan.nested_default_rows THEN
            RETURN QUERY SELECT cfg.parent, 'skipped', NULL::text,
                                concat_ws(' and ',
                                          CASE WHEN plan.creating THEN 'making partitions' END,
                                          CASE WHEN default_has_rows OR plan.nested_default_rows
                                               THEN 'moving rows out of the default partition'
                                          END)
                                || ' not tried after the error above; retried on the next run';
        END IF;
        RETURN;
    END IF;
    -- The default's rows as the creations last looked at them, under their lock: the rescue
    -- goes by them.
    IF plan.creating AND NOT retention_only THEN
        SELECT * INTO made FROM ai_scale._maintain_make_ahead(cfg, defer_detach, plan);
        default_has_rows := made.default_has_rows;
        locked_out := made.locked_out;
        IF default_has_rows THEN -- (only then a rescue runs, and a move could fail)
            reported := ARRAY(SELECT d.detail FROM unnest(made.done) d WHERE d.action = 'error');
        END IF;
        RETURN QUERY SELECT cfg.parent, d.action, d.partition, d.detail FROM unnest(made.done) d;
    END IF;
    IF defer_detach AND retaining AND NOT tier_only AND owed_drops THEN
        RETURN QUERY SELECT cfg.parent, d.action, d.partition, d.detail FROM unnest(owed.done) d;
    END IF;
    RETURN QUERY SELECT cfg.parent, d.action, d.partition, d.detail FROM unnest(checked) d;
    IF plan.retiring AND retaining THEN
        RETURN QUERY SELECT cfg.parent, d.action, d.partition, d.detail FROM unnest(retired.done) d;
    END IF;
    IF defer_detach AND retaining AND NOT tier_only AND cardinality(plan.pending) > 0 THEN
        RETURN QUERY SELECT * FROM ai_scale._maintain_finish_detaches(
                         cfg, defer_detach, plan.pending, handled);
    END IF;
    IF plan.retiring AND retaining THEN
        IF retired.next_move IS NOT NULL THEN
            RETURN QUERY SELECT cfg.parent, 'again', NULL::text,
                                ai_scale._timestamp_text(retired.next_move);
        END IF;
    END IF;
    -- The worker's retention transaction ends here: the creations and the default partition's
    -- phase, when they have work, in the next ('rest').
    IF retention_only THEN
        IF NOT tier_only AND (plan.creating OR plan.dflt IS NOT NULL) THEN
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
                         reported, locked_out);
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
    grants text; -- of the CREATE rights the owner lacks
BEGIN
    -- A partition that belongs to a role whose rights the owner lacks (one pg_partman made, say)
    -- first: a run reads the default partition before it makes anything, and such a partition
    -- is what failed it then; told to grant CREATE on the schema when that was missing too,
    -- the owner granted it and met the same error. Then CREATE where partitions go (its
    -- schema, _partition_birth_tablespace: the database's default needs none). An owner with
    -- all of them may have been refused by the operating system (a tablespace's directory the
    -- server may not write: Postgres reports that as 42501 too), and was told to grant what it
    -- had.
    BEGIN
        PERFORM ai_scale._require_owner_partitions(parent);
    EXCEPTION WHEN insufficient_privilege THEN
        GET STACKED DIAGNOSTICS err_message = MESSAGE_TEXT, err_hint = PG_EXCEPTION_HINT;
        RETURN format('Maintenance acts as the table''s owner, and %s. %s', err_message,
                      err_hint);
    END;
    -- With the GRANTs of what it lacks, as _require_owner_create gives them: where the
    -- partitions go, and where their indexes go, which is default_tablespace's whatever the
    -- table's own is (a table with one, its indexes refused there, got no hint), or the
    -- tablespace of the table's index they copy, where it has one (no hint either).
    SELECT concat_ws(' ',
               CASE WHEN NOT has_schema_privilege(owner, c.relnamespace, 'CREATE')
                    THEN format('GRANT CREATE ON SCHEMA %I TO %s;', n.nspname, owner::regrole)
               END,
               (SELECT string_agg(format('GRANT CREATE ON TABLESPACE %I TO %s;', t.spcname,
                                         owner::regrole), ' ' ORDER BY t.spcname)
                  FROM pg_tablespace t, pg_database d
                 WHERE d.datname = current_database() AND t.oid <> d.dattablespace
                   AND (t.oid = ai_scale._partition_birth_tablespace(parent)
                        OR t.spcname = current_setting('default_tablespace')
                        OR t.oid IN (SELECT ic.reltablespace
                                       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                                      WHERE i.indrelid = parent))
                   AND NOT has_tablespace_privilege(owner, t.oid, 'CREATE')))
      INTO grants
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = parent;
    IF grants <> '' THEN
        err_hint := format('Maintenance acts as the table''s owner (%s), who needs '
                           'CREATE on its schema and on the tablespaces partitions '
                           'go to (the table''s own, else default_tablespace''s, which '
                           'their indexes go to unless the table''s index has one, and '
                           'cold_tablespace to tier): %s',
                           owner::regrole, grants);
    -- (Postgres's messages for a file it may not open begin so; another 42501, or one in
    -- another language, keeps its own message alone.)
    ELSIF message LIKE 'could not %' THEN
        err_hint := format('The owner (%s) has the rights maintenance needs: the operating '
                           'system refused the server a file or directory, such as a '
                           'tablespace''s. Give the server''s user access to it.',
                           owner::regrole);
    END IF;
    RETURN err_hint;
END $$;

-- The detail of the error row of a table's run (the error: message, err_code, hint, context;
-- owner: the table's owner). (PG_EXCEPTION_HINT is '' when the error has none, never NULL.)
-- Which right the owner lacks, when an error 42501 does not say (_maintenance_rights_hint).
CREATE FUNCTION ai_scale._maintenance_error_text(parent regclass, owner oid, message text,
                                                 err_code text, hint text, context text)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF err_code = '42501' AND coalesce(hint, '') = '' THEN
        hint := coalesce(ai_scale._maintenance_rights_hint(parent, owner, message), hint);
    END IF;
    RETURN ai_scale._error_text(message, hint, err_code, context);
END $$;

-- One table's run (cfg, the settings as read before its lock; owner, the table's owner;
-- caller_lock_timeout, the caller's lock_timeout; phase, tier_from and owed_drops, as
-- _maintain's), as its owner: its rows, or the one row that says why it did not run. All of it
-- in a subtransaction: a table's error is its row, and the other tables' runs go on.
CREATE FUNCTION ai_scale._run_maintenance_table(cfg ai_scale.partition_config,
                                                defer_detach boolean, owner oid,
                                                caller_lock_timeout text, phase text,
                                                tier_from timestamp, owed_drops boolean)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    managed regclass := cfg.parent;
    err_hint text;
    err_context text;
BEGIN
    parent_table := cfg.parent;
    partition := NULL;
    BEGIN
        -- Concurrent runs on the same table serialize here, waiting as long as the caller's
        -- lock_timeout allows (held to the end of the transaction); after an earlier table's
        -- run in the same transaction, at most maintenance's short wait (_run_maintenance).
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
                         'WHERE c.parent = %s::oid::regclass), %L, %L, %L::timestamp, %L)',
                         cfg.parent::oid, defer_detach, phase, ai_scale._timestamp_text(tier_from),
                         owed_drops))
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
            GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT,
                                    err_context = PG_EXCEPTION_CONTEXT;
            -- Dropped while this run waited for it: nothing to maintain, nothing wrong. (Told
            -- by _dropped: in REPEATABLE READ, pg_class under the run's snapshot still showed
            -- it, and the run made an error row.)
            IF ai_scale._dropped(cfg.parent)
               OR NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = cfg.parent) THEN
                RETURN;
            END IF;
            action := 'error';
            detail := ai_scale._maintenance_error_text(cfg.parent, owner, SQLERRM, SQLSTATE,
                                                       err_hint, err_context);
            RETURN NEXT;
    END;
END $$;

-- run_maintenance, and the worker's run of one table (defer_detach, phase, tier_from and
-- owed_drops, see _maintain): each managed table's run in turn (_run_maintenance_table), its
-- rows counted as actions and errors (_count_maintenance).
CREATE FUNCTION ai_scale._run_maintenance(parent regclass, defer_detach boolean,
                                           phase text DEFAULT NULL,
                                           tier_from timestamp DEFAULT NULL,
                                           owed_drops boolean DEFAULT true)
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
    -- The wait for a table's maintenance lock: the caller's for the first table; for the next
    -- ones, when the transaction holds what the earlier tables' runs locked (their default
    -- partitions, their parents), maintenance's short wait, or the caller's if shorter. With
    -- the caller's (none by default), a run of every table waiting for a table another
    -- session held (an open transaction that called rescue_default) kept the earlier tables'
    -- writers and readers waiting as long (specs/maintenance_lock_wait.spec).
    table_lock_wait text := caller_lock_timeout;
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
            -- The GRANT that would let the caller act as the owner, unless the owner is a
            -- superuser: that GRANT would make the caller one.
            detail := format('role %s does not own table %s (its owner is %s); maintenance '
                             'needs the owner''s rights (for the worker: ai_scale.maintenance_role) '
                             '(hint: %s)',
                             quote_ident(current_user), cfg.parent, owner::regrole,
                             CASE WHEN (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = owner)
                                  THEN 'The owner is a superuser: maintain the table as one, '
                                       'or give it to an owner that is not one.'
                                  ELSE format('GRANT %s TO %s;', owner::regrole,
                                              quote_ident(current_user))
                             END);
            RETURN NEXT;
            CONTINUE;
        END IF;
        made := 0;
        FOR parent_table, action, partition, detail IN
            SELECT * FROM ai_scale._run_maintenance_table(cfg, defer_detach, owner,
                                                          table_lock_wait, phase,
                                                          tier_from, owed_drops)
        LOOP
            IF action = 'error' THEN
                errors := errors + 1;
            ELSIF action NOT IN ('skipped', 'detach_pending', 'continue', 'again') THEN
                actions := actions + 1;
            END IF;
            IF action = 'created' THEN
                made := made + 1;
            END IF;
            RETURN NEXT;
        END LOOP;
        table_lock_wait := ai_scale._maintenance_lock_wait(caller_lock_timeout);
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
    SET jit = off
    SET force_parallel_mode = off
    AS $$ SELECT * FROM ai_scale._run_maintenance(parent, false) $$;
COMMENT ON FUNCTION ai_scale.run_maintenance(regclass) IS
    'creates, drops, detaches and tiers partitions of one managed table (or all), and rescues rows from its default partition; one row per action';
