-- One maintenance run, part two: retention and tiering. Each partition the plan retires is
-- dropped, detached (concurrently by the worker, which marks a partition to drop first and drops
-- it after its detach) or moved to the cold tablespace, a step at a time; a detach left pending
-- is finalized; tables the worker detached and did not drop are dropped (_maintain_owed_drops).

-- The word that DROP and COMMENT ON take for rel: a partition may be a foreign table, which
-- DROP TABLE and COMMENT ON TABLE refuse ("use DROP FOREIGN TABLE"); DROP TABLE of its parent
-- drops it too. In C (src/partition/table_word.cpp): the maintenance worker's own statements
-- ask the same function.
CREATE FUNCTION ai_scale._table_word(rel regclass) RETURNS text
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_table_word';

-- Whether the worker's concurrent detach of the partition rel, which runs as the worker's role,
-- would run code of the owner's with the worker's rights (in C, src/partition/owner_code.cpp:
-- a CHECK constraint of rel calling a function that is not built in, a foreign key referencing
-- rel, a table above partitioned by an expression calling one), so the run drops or detaches
-- such a partition itself, as the owner. False when rel does not exist.
CREATE FUNCTION ai_scale._detach_runs_owner_code(rel regclass) RETURNS boolean
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_detach_runs_owner_code';

-- Drops the partition rel, with DROP FOREIGN TABLE when it is a foreign table.
CREATE FUNCTION ai_scale._drop_partition(rel regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$ BEGIN EXECUTE format('DROP %s %s', ai_scale._table_word(rel), rel); END $$;

-- After a retention step's statement named the partition by the name the run read
-- (partition), which the statement looks up again after its lock wait, and found that it hit
-- another table: a session that renamed the partition and made another table of its name,
-- committed while the statement waited, had that table dropped (or moved to the cold
-- tablespace), with its rows, where the partition stayed. Raises what
-- the statement's lookup of a name gone raises (42P01): the step is rolled back, and
-- _retire_partition's handler gives the skipped row of a rename. (The partition is not locked
-- by its OID ahead of the statement instead: an event trigger of the statement, at
-- ddl_command_start, then ran with the partition and its parent held.)
CREATE FUNCTION ai_scale._raise_step_missed(partition text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RAISE EXCEPTION 'relation "%" does not exist', partition
          USING ERRCODE = 'undefined_table',
                DETAIL = 'Another table took its name while the step waited for its lock.';
END $$;

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

-- The tables named by a mark (_owed_drop_note) on any table, whoever owns it, as the mark
-- writes their OIDs: in one scan of pg_description, which no index serves, for the worker's
-- whole run. Each table's run then looks for its marks (_owed_drop_marked, the same scan) only
-- when this names it: a scan a table, at every run, took most of a run of many tables in a
-- database with many comments. Kept as text: any role may write the comment on a table of its
-- own, and a number past an OID's range, cast, failed every run of the worker.
CREATE FUNCTION ai_scale._owed_drop_parents() RETURNS text[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT coalesce(array_agg(DISTINCT m[1]), '{}')
      FROM pg_description d,
           regexp_match(d.description, '^ai_scale: detached from table ([0-9]+) by retention ') m
     WHERE d.classoid = 'pg_class'::regclass AND d.objsubid = 0
       AND starts_with(d.description, 'ai_scale: detached from table ')
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
    err_context text;
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
                GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT,
                                        err_context = PG_EXCEPTION_CONTEXT;
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
                                 ai_scale._error_text(err_message, err_hint, SQLSTATE,
                                                      err_context));
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
    -- Written so into partition_config by hand (manage_partitions refuses both): no
    -- tablespace was named, "tablespace "" does not exist" blamed a drop or a rename; or one
    -- no table may be moved to, an error row for every partition at every run.
    IF cfg.cold_tablespace IS NULL OR cfg.cold_tablespace = 'pg_global' THEN
        action := 'error';
        detail := 'tier: ' || ai_scale._error_text(
            CASE WHEN cfg.cold_tablespace IS NULL
                 THEN 'cold_tablespace is required for retention_mode tier or cold_after'
                 ELSE 'only shared relations can be placed in pg_global tablespace' END,
            format('Set it with manage_partitions(%L, ..., cold_tablespace => ...).',
                   cfg.parent::text),
            '22023');
        RETURN NEXT;
    ELSIF cold_oid IS NULL THEN
        action := 'error';
        detail := 'tier: ' || ai_scale._error_text(
            format('tablespace "%s" does not exist', cfg.cold_tablespace),
            format('It was dropped or renamed since manage_partitions named it: create it, '
                   'or name another with manage_partitions(%L, ..., cold_tablespace => ...).',
                   cfg.parent::text),
            '42704');
        RETURN NEXT;
    ELSIF cold_oid = ai_scale._partition_birth_tablespace(cfg.parent) THEN
        -- The table moved there since manage_partitions, which refuses it, or the run's
        -- default_tablespace names it: every partition made since is cold from birth, and
        -- nothing said so.
        action := 'error';
        detail := 'tier: ' || ai_scale._error_text(
            format('cold_tablespace %s is where the partitions of %s are made',
                   quote_ident(cfg.cold_tablespace), cfg.parent),
            format('New partitions go to the table''s tablespace, else to default_tablespace, '
                   'else to the database''s: give the table another (ALTER TABLE %s SET '
                   'TABLESPACE ...), or name another cold tablespace with manage_partitions.',
                   cfg.parent),
            '22023');
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
    IF EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = victim) THEN
        PERFORM ai_scale._raise_step_missed(partition);
    END IF;
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
BEGIN
    PERFORM pg_stat_clear_snapshot(); -- the sessions as they are now (see _lock_holders)
    RETURN 'waiting for the transactions older than it to end: ' || ai_scale._sessions_text(ARRAY(
        SELECT a.pid FROM pg_stat_get_activity(NULL) a
         WHERE a.datid = (SELECT m.datid FROM pg_stat_get_activity(pg_backend_pid()) m)
           AND a.pid <> pg_backend_pid() AND a.backend_xmin IS NOT NULL
           AND a.backend_type <> 'autovacuum worker' -- (not waited for)
           AND a.pid NOT IN (SELECT v.pid FROM pg_stat_get_progress_info('VACUUM') v) -- (nor VACUUM)
           AND age(a.backend_xmin) >= age(xid(pg_snapshot_xmin(pg_current_snapshot())))
           AND (a.xact_start IS NULL OR a.xact_start < clock_timestamp() - waited::interval)));
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
-- Before, a run by hand only said how to complete it. by_run: whether a run will try again,
-- which a 'skipped' row then says (not for unmanage_partitions, whose table no run looks at).
CREATE FUNCTION ai_scale._finalize_detach(parent regclass, victim regclass, note text,
                                          by_run boolean DEFAULT true)
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
                || 'writers it would wait for'
                || CASE WHEN by_run THEN '; finalized by the next run' ELSE '' END)
               ::ai_scale._maintenance_action;
    END IF;
    EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE', parent);
    -- (Read as it is now: in REPEATABLE READ, a FINALIZE that this lock waited for, committed,
    -- is not in the transaction's snapshot, and a FINALIZE of a table no longer a partition
    -- fails, 42P01.)
    IF NOT ai_scale._pending_detach_now(parent, victim) THEN
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
            format('finalize the detach: %s; %s%s', SQLERRM,
                   coalesce(held_by, 'a transaction older than it is still open'),
                   CASE WHEN by_run THEN '; retried on the next run' ELSE '' END))
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
    leaf_name text;
BEGIN
    FOR leaf IN SELECT l.relid FROM pg_partition_tree(victim) l
                  JOIN pg_class c ON c.oid = l.relid AND c.relkind <> 'f'
                 ORDER BY l.level LOOP
        leaf_name := leaf::text;
        PERFORM ai_scale._as_owner(cfg.parent, format('ALTER TABLE %s SET TABLESPACE %I',
                                                      leaf_name, cfg.cold_tablespace));
        IF NOT EXISTS (SELECT 1 FROM pg_class c
                        WHERE c.oid = leaf AND c.reltablespace = cold_oid) THEN
            PERFORM ai_scale._raise_step_missed(leaf_name);
        END IF;
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
    -- DROP and DETACH lock the partition, its parent and the default, the parent first (a DROP
    -- then the partition, a DETACH the default): the first held is the one waited for.
    RETURN ai_scale._lock_timeout_text(message,
                                       CASE WHEN action = 'drop'
                                            THEN ARRAY[cfg.parent, victim, plan.dflt]
                                            ELSE ARRAY[cfg.parent, plan.dflt, victim] END,
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

-- The tables a drop or a detach of the partition victim that the run does itself locks
-- first (ACCESS EXCLUSIVE, within lock_timeout), in the order its statement locks them (a
-- DROP: the parent, the partition, then the default partition dflt; a DETACH, and a DROP that
-- detaches first (detach_first): the parent, the default, then the partition), up to the last
-- of the parent and the default. Every such step of the table takes those two: locked
-- beforehand, one whose lock is not free in time is told apart from the partition's own (the
-- run then tries none of the others, see _maintain_retention; a timeout of the statement
-- itself may be any lock's). Taken so only in the steps after one that gave up on a lock.
-- The list stops before a table LOCK TABLE cannot take, which the statement then locks itself:
-- a foreign table (LOCK TABLE refuses one), and one on which the owner holds none of UPDATE,
-- DELETE, TRUNCATE (an append-only parent, a default partition pg_partman made: a DROP or a
-- DETACH locks it without that check). A partitioned partition's DROP locks its own partitions
-- before the default, which LOCK TABLE ONLY would not: then only the parent is taken ahead
-- (the default first would wait for a reader of one of those partitions that then reads the
-- default, and that reader for the run).
CREATE FUNCTION ai_scale._retire_first_locks(parent regclass, dflt regclass, victim regclass,
                                             detach_first boolean)
    RETURNS regclass[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
WITH k(rel, kind, lockable) AS (
    SELECT c.oid, c.relkind,
           c.relkind IN ('r', 'p') AND has_table_privilege(c.oid, 'UPDATE, DELETE, TRUNCATE')
      FROM pg_class c
     WHERE c.oid IN (parent, victim, dflt))
SELECT CASE
           WHEN NOT coalesce((SELECT k.lockable FROM k WHERE k.rel = parent), false)
           THEN '{}'::regclass[]
           WHEN NOT coalesce((SELECT k.lockable FROM k WHERE k.rel = dflt), false)
           THEN ARRAY[parent]
           WHEN detach_first THEN ARRAY[parent, dflt]
           WHEN coalesce((SELECT k.lockable AND k.kind = 'r' FROM k WHERE k.rel = victim), false)
           THEN ARRAY[parent, victim, dflt]
           ELSE ARRAY[parent]
       END
$$;

-- The transactions other than this one (pg_locks.virtualtransaction, a prepared one's too)
-- that hold a lock on rel, granted, in one of modes (any mode when null); none when there are
-- none. Read from the functions behind pg_locks and pg_stat_activity, which take no lock (as
-- _lock_holders).
CREATE FUNCTION ai_scale._lock_holding_transactions(rel regclass, modes text[] DEFAULT NULL)
    RETURNS text[]
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT coalesce(array_agg(DISTINCT l.virtualtransaction), '{}')
  FROM pg_lock_status() l
 WHERE l.locktype = 'relation' AND l.relation = rel AND l.granted
   AND l.database = (SELECT a.datid FROM pg_stat_get_activity(pg_backend_pid()) a)
   AND l.pid IS DISTINCT FROM pg_backend_pid()
   AND (modes IS NULL OR l.mode = ANY (modes))
$$;

-- One step of retention or tiering (p, on the partition victim), in a subtransaction of its
-- own: one that fails is reported, and the partitions made before (_maintain_make_ahead) and
-- the other steps stand. Returns its row, whether its error says that no other move to the
-- cold tablespace can succeed (blocks_tiering), and whether it says that the lock table is
-- full (lock_table_full: out of shared memory, 53200), which no other step can pass either.
-- referenced: whether a foreign key references the table, asked before a drop. by_worker: the
-- step is the worker's (see _maintain_retention), returned as a 'detach_pending' row.
-- first_locks: for a drop or a detach the run does itself, take the locks on the parent and
-- the default partition first (_retire_first_locks), so that busy then says, when one of them
-- was not free in time, which: every other such step of the table takes them too (busy is NULL
-- otherwise, and when the step gave up on a lock of the partition's own). timed_out: the step
-- gave up on a lock, whichever.
CREATE FUNCTION ai_scale._retire_partition(cfg ai_scale.partition_config, defer_detach boolean,
                                           by_worker boolean, plan ai_scale._maintenance_plan,
                                           p ai_scale._partition_step, victim regclass,
                                           referenced boolean, owner oid, first_locks boolean,
                                           OUT done ai_scale._maintenance_action,
                                           OUT blocks_tiering boolean,
                                           OUT lock_table_full boolean,
                                           OUT busy regclass, OUT timed_out boolean)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    err_hint text;
    err_context text;
    partition text := victim::text; -- named before the step: a drop meanwhile leaves the OID
    parent_name text := cfg.parent::text;
    renamed text; -- after a 42P01: which of the two was renamed during the step's wait
    waiting_on regclass; -- the lock being waited for before the step's statement, if any
    -- The step detaches: the detach, or the drop of a partition a foreign key references.
    detaches boolean := p.action = 'detach' OR coalesce(referenced, false);
BEGIN
    blocks_tiering := false;
    lock_table_full := false;
    timed_out := false;
    -- Gone since the plan read it (as below, but before the step began): its name went with it,
    -- so the row gives its bounds. Its statement named it by its OID, what victim::text gives
    -- then, and failed on the syntax (42601): an error row. (TAP 274's soak, with four files at
    -- a time; specs/maintenance_detach_races.spec), also in REPEATABLE READ (_dropped).
    IF ai_scale._dropped(victim) THEN
        done := ('skipped', NULL,
                 format('%s of the partition from %s to %s: no longer a partition of %s: dropped '
                        'by another session since the run read it', p.action,
                        ai_scale._bound_text(p.lower, plan.key_type, cfg.time_zone),
                        ai_scale._bound_text(p.upper, plan.key_type, cfg.time_zone), cfg.parent))
                ::ai_scale._maintenance_action;
        RETURN;
    END IF;
    BEGIN
        IF victim = ANY (plan.pending) AND p.action IN ('drop', 'detach') THEN
            done := ai_scale._retire_pending(cfg, defer_detach, p.action, victim);
        ELSIF by_worker THEN
            -- The worker detaches it concurrently, in a transaction of its own (see _maintain),
            -- and drops it for 'drop': marked first.
            IF p.action = 'drop' THEN
                EXECUTE ai_scale._comment_statement(
                            victim, ai_scale._owed_drop_note(cfg.parent, cfg.retention));
            END IF;
            done := ('detach_pending', victim::text, p.action)::ai_scale._maintenance_action;
        ELSIF p.action IN ('drop', 'detach') THEN
            -- The parent's lock (and the default's) first, each told apart from the
            -- partition's own: see _retire_first_locks.
            -- A DETACH (the detach, or the drop of a partition a foreign key references) takes
            -- the parent's lock first in any case, and then asks again whose code it acts on:
            -- it plans a query over every table whose foreign key references the partition,
            -- and a key that a role without the owner's rights committed since the run's check
            -- (made at its start, before any wait) had it run that role's code as the owner.
            FOREACH waiting_on IN ARRAY CASE WHEN first_locks THEN ai_scale._retire_first_locks(
                                            cfg.parent, plan.dflt, victim, detaches)
                                        WHEN detaches THEN ai_scale._retire_first_locks(
                                            cfg.parent, NULL, victim, true)
                                        ELSE '{}' END
            LOOP
                EXECUTE format('LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE', waiting_on);
            END LOOP;
            waiting_on := NULL;
            IF detaches THEN
                PERFORM ai_scale._require_acting_owner(cfg.parent);
            END IF;
            IF p.action = 'drop' THEN
                done := ai_scale._retire_drop(cfg, victim, referenced);
            ELSE
                EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', cfg.parent, victim);
                done := ('detached', victim::text,
                         'older than retention ' || cfg.retention::text)
                        ::ai_scale._maintenance_action;
            END IF;
        ELSE
            done := ai_scale._tier_partition(cfg, victim, plan.cold_oid);
        END IF;
    EXCEPTION
        WHEN lock_not_available THEN
            timed_out := true;
            IF waiting_on = cfg.parent OR waiting_on = plan.dflt THEN
                busy := waiting_on;
            END IF;
            -- What held the lock the step gave up on: the one taken ahead of the statement, when
            -- that was it; else any of those the statement takes (_retire_lock_text).
            done := ('skipped', victim::text,
                     format('%s %s: %s; retried on the next run', p.action,
                            coalesce(victim::text, format('from %s to %s',
                                ai_scale._bound_text(p.lower, plan.key_type, cfg.time_zone),
                                ai_scale._bound_text(p.upper, plan.key_type, cfg.time_zone))),
                            CASE WHEN waiting_on IS NOT NULL
                                 THEN ai_scale._lock_timeout_text(SQLERRM, ARRAY[waiting_on],
                                          '{AccessExclusiveLock}', current_setting('lock_timeout'))
                                 ELSE ai_scale._retire_lock_text(cfg, defer_detach, plan,
                                                                 p.action, victim, SQLERRM)
                            END))
                    ::ai_scale._maintenance_action;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT,
                                    err_context = PG_EXCEPTION_CONTEXT;
            -- The partition went since the plan read it: the worker completed its concurrent
            -- detach and dropped the table (neither takes the maintenance lock), or a session
            -- dropped it. Its step found it gone ('table ... does not exist'), an error row; or,
            -- gone between the check above and its statement, named by its OID (a syntax
            -- error). (Asked only then: after other errors, a full lock table (53200) among
            -- them, the catalog read could fail too, and fail the table's whole run.) Dropped,
            -- as above (_dropped): in REPEATABLE READ pg_inherits still showed it, and the row
            -- said it was renamed to its OID.
            IF SQLSTATE IN ('42P01', '42601')
               AND (ai_scale._dropped(victim)
                    OR NOT EXISTS (SELECT 1 FROM pg_inherits i
                                    WHERE i.inhrelid = victim AND i.inhparent = cfg.parent)) THEN
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
            IF SQLSTATE = '42P01' THEN
                IF victim::text <> partition THEN
                    renamed := format('%s renamed to %s', partition, victim);
                ELSIF cfg.parent::text <> parent_name THEN
                    renamed := format('%s renamed to %s', parent_name, cfg.parent);
                END IF;
                IF renamed IS NOT NULL THEN
                    done := ('skipped', victim::text,
                             format('%s %s: %s by another session while the step waited for its '
                                    'lock; retried on the next run', p.action, victim, renamed))
                            ::ai_scale._maintenance_action;
                    RETURN;
                END IF;
            END IF;
            -- Another session's DETACH ... CONCURRENTLY began on it since: Postgres refuses to
            -- alter it (55000, "cannot detach partition ..."). Its detach is finalized, or the
            -- partition dropped, by the next run.
            -- (Read as it is now: in REPEATABLE READ, the transaction's snapshot predates it.)
            IF SQLSTATE = '55000' AND NOT victim = ANY (plan.pending)
               AND ai_scale._pending_detach_now(cfg.parent, victim) THEN
                done := ('skipped', partition,
                         format('%s %s: another session began to detach it concurrently since '
                                'the run read it; retried on the next run', p.action, partition))
                        ::ai_scale._maintenance_action;
                RETURN;
            END IF;
            done := ('error', victim::text,
                     format('%s %s: %s', p.action, victim,
                            ai_scale._error_text(SQLERRM, err_hint, SQLSTATE, err_context)))
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
-- a run, logged by the worker at every naptime). They are counted in one skipped row (and
-- lock_table_full says so to the run, _maintain), as are the drops and detaches after one whose
-- lock on the parent or the default partition was not free in time (see below).
CREATE FUNCTION ai_scale._maintain_retention(cfg ai_scale.partition_config,
                                            defer_detach boolean,
                                            plan ai_scale._maintenance_plan,
                                            tier_blocked boolean, owner oid,
                                            tier_only boolean, max_moves int,
                                            tier_from timestamp,
                                            INOUT handled regclass[],
                                            OUT done ai_scale._maintenance_action[],
                                            OUT next_move timestamp,
                                            OUT lock_table_full boolean)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p ai_scale._partition_step;
    victim regclass;
    referenced boolean;
    retired int := 0;
    tier_left bigint := 0;
    retire_left bigint := 0;
    retire_word text;
    step record;
    pending boolean; -- the step's partition is pending detach
    -- The worker's, not done by the run: the drop or detach of a partition of a table without
    -- a default partition, in worker mode (defer_detach), which the worker detaches
    -- concurrently, as its own role. Not one whose detach would run code of the owner's (a
    -- CHECK constraint, a foreign key referencing it, a table above partitioned by an
    -- expression) with the worker's rights (a superuser's, often): the run, as the owner, drops
    -- or detaches it itself (_detach_runs_owner_code).
    by_worker boolean;
    moved int := 0;
    busy regclass; -- the parent or the default, its lock not free in time for a step
    timed_out boolean := false; -- a drop or detach of the run's own gave up on a lock
    busy_left bigint := 0;
    busy_word text;
    -- The transactions a move gave up waiting for (_lock_holding_transactions), and how many
    -- moves after it found their partition held by them too.
    tier_holders text[];
    tier_held_left bigint := 0;
    -- The same for the marks of the drops the worker makes itself (by_worker): the marks'
    -- COMMENT ON waits for SHARE UPDATE EXCLUSIVE on its partition, which the holders of these
    -- modes keep from it.
    mark_holders text[];
    mark_held_left bigint := 0;
    mark_conflicts CONSTANT text[] := '{ShareUpdateExclusiveLock,ShareLock,ShareRowExclusiveLock,'
                                      'ExclusiveLock,AccessExclusiveLock}';
BEGIN
    lock_table_full := false;
    FOREACH p IN ARRAY coalesce(plan.steps, '{}') LOOP
        CONTINUE WHEN p.action = 'create' OR (tier_only AND p.action <> 'tier');
        -- The worker moves one partition a transaction (max_moves): each move holds its
        -- partition ACCESS EXCLUSIVE to the end of the transaction, so that its readers waited
        -- for every move after it too, and a crash before the commit left a copy of each
        -- partition moved so far in the cold tablespace, which Postgres never removes. The next
        -- transaction starts where this one stopped (next_move, its tier_from): a move not made
        -- (its lock not free in time, an error) is not tried again in the run, where each try
        -- waited for the lock, holding up the partition's new readers, and logged a row.
        CONTINUE WHEN p.action = 'tier' AND p.lower < tier_from;
        IF p.action = 'tier' AND moved >= max_moves THEN
            next_move := coalesce(next_move, p.lower);
            CONTINUE;
        END IF;
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
        by_worker := defer_detach AND NOT pending AND plan.dflt IS NULL
                     AND p.action IN ('drop', 'detach')
                     AND NOT coalesce(ai_scale._detach_runs_owner_code(victim), false);
        IF NOT ((defer_detach AND pending) OR by_worker) THEN
            CONTINUE WHEN retired >= 100;
            retired := retired + 1;
        END IF;
        IF p.action = 'drop' AND NOT pending AND NOT by_worker AND referenced IS NULL THEN
            -- Asked once, when a run drops something.
            referenced := ai_scale._referencing_foreign_key(cfg.parent) IS NOT NULL;
        END IF;
        IF lock_table_full THEN
            retire_left := retire_left + 1;
            retire_word := p.action;
            CONTINUE;
        END IF;
        -- After a drop or detach that gave up on the parent's lock or the default's (busy),
        -- the others the run does itself are not tried: each would wait for the same lock
        -- (ACCESS EXCLUSIVE) as long again, and new queries of the table queue behind each wait
        -- (tried, a reader of the whole table held up a run of 20 drops for 20 such waits, a
        -- second in all). Counted in one row, retried on the next run. (A partition's own lock,
        -- a reader of that partition alone, stops its step only.) Which lock a step gave up on
        -- is known when it took those two first (first_locks), as the steps after one that gave
        -- up on any lock do. The first step takes no lock ahead of its statement: taken ahead,
        -- the parent's lock would make a concurrent detach or drop of a partition between the
        -- run's plan and its statement wait for the run (specs/maintenance_detach_races.spec).
        IF busy IS NOT NULL AND p.action IN ('drop', 'detach') AND NOT pending
           AND NOT by_worker THEN
            busy_left := busy_left + 1;
            busy_word := p.action;
            CONTINUE;
        END IF;
        -- A move locks its partition alone, and gives up on it after its wait. After one that
        -- gave up, a move whose partition the same transactions hold (a reader of the whole
        -- table holds every partition it read) is not tried: it would wait as long again, and
        -- new readers of that partition behind it (tried, a reader of the whole table held up a
        -- run of 20 moves for 20 waits). A partition they do not hold is moved.
        IF p.action = 'tier' AND tier_holders IS NOT NULL
           AND ai_scale._lock_holding_transactions(victim) && tier_holders THEN
            tier_held_left := tier_held_left + 1;
            CONTINUE;
        END IF;
        -- A drop the worker makes itself is marked first, each mark waiting for its partition's
        -- lock; without a default partition every drop is one, and the run's rule above (busy)
        -- does not hold them. After a mark that gave up, one whose partition the same
        -- transactions hold is not tried, as for moves: a session building an index on the
        -- table (SHARE on every partition) held a run of 200 drops for 200 waits, and logged
        -- each (TAP 304).
        IF by_worker AND p.action = 'drop' AND mark_holders IS NOT NULL
           AND ai_scale._lock_holding_transactions(victim, mark_conflicts) && mark_holders THEN
            mark_held_left := mark_held_left + 1;
            CONTINUE;
        END IF;
        SELECT * INTO step
          FROM ai_scale._retire_partition(cfg, defer_detach, by_worker, plan, p, victim,
                                          referenced, owner, timed_out);
        IF p.action = 'tier' AND step.timed_out AND tier_holders IS NULL THEN
            tier_holders := nullif(ai_scale._lock_holding_transactions(victim), '{}');
        END IF;
        IF by_worker AND p.action = 'drop' AND step.timed_out AND mark_holders IS NULL THEN
            mark_holders := nullif(ai_scale._lock_holding_transactions(victim, mark_conflicts),
                                   '{}');
        END IF;
        tier_blocked := tier_blocked OR step.blocks_tiering OR step.lock_table_full;
        lock_table_full := step.lock_table_full;
        busy := coalesce(busy, step.busy);
        timed_out := timed_out OR (step.timed_out AND p.action IN ('drop', 'detach')
                                   AND NOT pending AND NOT by_worker);
        CONTINUE WHEN (step.done).action IS NULL; -- a detach completed meanwhile
        done := done || step.done;
        IF (step.done).action = 'moved_to_cold' THEN
            moved := moved + 1;
        END IF;
    END LOOP;
    IF busy_left > 0 THEN
        done := done || ('skipped', NULL,
                         format('%s to %s not tried after the lock wait above: each needs the '
                                'lock on %s that was not free; retried on the next run',
                                ai_scale._count(busy_left, 'more partition', 'more partitions'),
                                busy_word, busy))::ai_scale._maintenance_action;
    END IF;
    IF retire_left > 0 THEN
        done := done || ('skipped', NULL,
                         format('%s to %s not tried after the error above; retried on the next '
                                'run', ai_scale._count(retire_left, 'partition', 'partitions'),
                                retire_word))::ai_scale._maintenance_action;
    END IF;
    IF tier_held_left > 0 THEN
        done := done || ('skipped', NULL,
                         format('%s to move to %s not tried after the lock wait above: the '
                                'transactions it waited for hold them too; retried on the next '
                                'run',
                                ai_scale._count(tier_held_left, 'more partition',
                                                'more partitions'),
                                coalesce('tablespace ' || quote_ident(cfg.cold_tablespace),
                                         'the cold tablespace')))::ai_scale._maintenance_action;
    END IF;
    IF mark_held_left > 0 THEN
        done := done || ('skipped', NULL,
                         format('%s to drop not marked for the worker after the lock wait '
                                'above: the transactions it waited for hold them too; retried '
                                'on the next run',
                                ai_scale._count(mark_held_left, 'more partition',
                                                'more partitions')))::ai_scale._maintenance_action;
    END IF;
    IF tier_left > 0 THEN
        done := done || ('skipped', NULL,
                         format('%s to move to %s not tried after the error above; '
                                'retried on the next run',
                                ai_scale._count(tier_left, 'partition', 'partitions'),
                                coalesce('tablespace ' || quote_ident(cfg.cold_tablespace),
                                         'the cold tablespace')))::ai_scale._maintenance_action;
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
    err_context text;
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
                GET STACKED DIAGNOSTICS err_hint = PG_EXCEPTION_HINT,
                                        err_context = PG_EXCEPTION_CONTEXT;
                action := 'error';
                detail := 'finalize the detach: '
                          || ai_scale._error_text(SQLERRM, err_hint, SQLSTATE, err_context);
            END;
            CONTINUE WHEN action IS NULL; -- completed meanwhile
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;
