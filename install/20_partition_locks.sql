-- Partitioning: maintenance's own locks and waits (the config parent's lock, the maintenance
-- lock of a table, the lock_timeout of maintenance DDL), and what held up a step that gave up
-- on a lock, for its 'skipped' row and the error of a call by hand: the sessions holding or
-- waiting for the lock, or a table not committed yet. The maintenance lock is in C
-- (src/partition/maintenance_lock.cpp).

-- rel's relpersistence, NULL when rel is gone; locks rel until the transaction ends for a role
-- with its owner's rights (see the C function and _check_config_owner).
CREATE FUNCTION ai_scale._lock_config_parent(rel regclass) RETURNS "char"
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_lock_config_parent';

-- Maintenance of one table and rescues from its default partition serialize on this
-- transaction-scoped lock, waited for with the caller's lock_timeout. It is re-entrant:
-- run_maintenance holds it when it calls rescue_default. An advisory lock of a class SQL's
-- pg_advisory_* functions cannot take, and only for a caller with the table owner's
-- privileges (src/partition/maintenance_lock.cpp): no other role can keep a table's
-- maintenance waiting.
CREATE FUNCTION ai_scale._lock_for_maintenance(parent regclass) RETURNS void
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_lock_for_maintenance';

-- The lock_timeout of maintenance DDL for a caller whose own is caller: the short wait of
-- ai_scale.maintenance_lock_timeout, or the caller's when shorter (0, the default, waits
-- forever). Queued behind a long-running query, DDL queues every new query on its table
-- behind it. This only says the value (a STABLE function sets nothing); the caller sets it, as
-- PERFORM set_config('lock_timeout', ai_scale._maintenance_lock_wait(...), true). The wait
-- then lasts to the end of the transaction (or of a subtransaction that fails), not of the
-- calling function (only a SET clause naming lock_timeout would end it there): a caller that
-- must give its caller's wait back sets it back itself. The value carries its unit
-- (_setting gives the setting in milliseconds without one): _lock_holders reads it as an
-- interval, where a bare number is seconds. (PL/pgSQL, whose expression is kept: a SQL function
-- with a SET clause is planned at every call, as each run's is.)
CREATE FUNCTION ai_scale._maintenance_lock_wait(caller text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN CASE WHEN caller::interval <> interval '0'
                     AND caller::interval
                         <= (ai_scale._setting('ai_scale.maintenance_lock_timeout')
                             || 'ms')::interval
                THEN caller
                ELSE ai_scale._setting('ai_scale.maintenance_lock_timeout') || 'ms' END;
END $$;

-- For _lock_holders and _older_transactions: how long the transaction of a session has been
-- open (xact_start, as pg_stat_activity gives it: NULL to a role that may not see it).
CREATE FUNCTION ai_scale._transaction_age_text(xact_start timestamptz) RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT coalesce('transaction open ' || round(extract(epoch FROM clock_timestamp() - xact_start), 1)
                || ' s', 'transaction age not visible')
$$;

-- For _lock_holders and _older_transactions: the first three of sessions (the total of them),
-- and how many more.
CREATE FUNCTION ai_scale._first_sessions_text(sessions text[], total int) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT array_to_string(sessions[1:3], ', ')
       || CASE WHEN total > 3 THEN format(' and %s more', total - 3) ELSE '' END
$$;

-- What _lock_holders says when no session holds or waits for the locks any more: the holder
-- has gone since the step gave up. Named once, for the callers that tell it apart
-- (_finalize_detach, whose wait may have been for older transactions instead).
CREATE FUNCTION ai_scale._lock_released_text() RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT 'the session that held the lock has released it since'::text $$;

-- For a run's creations that gave up on a lock with no session holding one
-- (_lock_released_text): the sessions holding a table this transaction's catalog does not show
-- (ACCESS EXCLUSIVE: one being made, not committed yet; it may also be a temporary table or a
-- rewrite of another session's), whose name may be the one the step makes: its CREATE waits for that transaction on the catalog's
-- unique index, no lock on a table. Said so, each by pid and the age of its transaction; null
-- when there is none, or on any error (as _lock_holders). Before, the row said the holder had
-- released its lock, at every run while that transaction stayed open.
CREATE FUNCTION ai_scale._uncommitted_creators_text() RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    creators int[];
    sessions text;
BEGIN
    PERFORM pg_stat_clear_snapshot(); -- the sessions as they are now (see _lock_holders)
    creators := ARRAY(
        SELECT DISTINCT l.pid FROM pg_lock_status() l
         WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.granted
           AND l.database = (SELECT s.datid FROM pg_stat_get_activity(pg_backend_pid()) s)
           AND l.pid IS DISTINCT FROM pg_backend_pid()
           AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = l.relation));
    sessions := ai_scale._sessions_text(creators);
    IF sessions IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN format('no session holds a lock on the table; %s %s a table not committed yet '
                  '(one being made, whose name may be the one this step makes)',
                  sessions,
                  CASE WHEN cardinality(creators) = 1 THEN 'holds' ELSE 'hold' END);
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END $$;

-- For _uncommitted_creators_text and _older_transactions: the sessions of pids still there,
-- each by pid and the age of its transaction, the oldest transactions first, the first three
-- and how many more; null when none is.
CREATE FUNCTION ai_scale._sessions_text(pids int[]) RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT ai_scale._first_sessions_text(
           array_agg(format('pid %s (%s)', a.pid, ai_scale._transaction_age_text(a.xact_start))
                     ORDER BY a.xact_start NULLS LAST, a.pid),
           count(*)::int)
  FROM pg_stat_get_activity(NULL) a
 WHERE a.pid = ANY (pids)
HAVING count(*) > 0
$$;

-- What held up a maintenance step that gave up on a lock (55P03), for its 'skipped' row and the
-- worker's log: the sessions holding a lock on rels[i] that conflicts with modes[i] (the mode
-- the step asks for it, as pg_locks names modes; the last one for the rels after), or waiting
-- for one since before the step began to wait (waitstart older than waited, the lock_timeout
-- it waited with), each by pid and the age of its transaction. The first relation of rels with
-- such sessions is named, with the first three (holders first, the oldest transaction first)
-- and how many more. With maintenance_lock, the lock asked for is _lock_for_maintenance's on
-- rels[1].
-- pg_blocking_pids() cannot be asked: the step's wait has ended. The holder may have gone
-- since, which is said. Never a query text or a role: a maintenance role need not see them
-- (pg_stat_activity shows a transaction's start only to a member of its role, or of
-- pg_read_all_stats; the age is then said not to be visible). It reads the functions behind
-- pg_locks and pg_stat_activity, which take no lock (the views would lock the catalogs they
-- join), and gives null on any error: the row then says what it said before.
CREATE FUNCTION ai_scale._lock_holders(rels regclass[], modes text[], waited text,
                                       maintenance_lock boolean DEFAULT false) RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '10ms'
    AS $$
DECLARE
    rel regclass;
    holders text[];
    total int;
    db oid;
    queued_before timestamptz;
BEGIN
    -- The sessions as they are now: Postgres keeps the first read of them for the rest of
    -- the transaction, and rescue_default_proc's retries, one transaction, named sessions
    -- whose transactions had ended long before, with growing ages, and none that came since.
    PERFORM pg_stat_clear_snapshot();
    -- (Set here, not in DECLARE: the handler below catches no error raised there.)
    db := (SELECT a.datid FROM pg_stat_get_activity(pg_backend_pid()) a);
    -- A waiter queued before the step did (waiting longer than the step waited) was ahead of it.
    queued_before :=
        CASE WHEN waited::interval > interval '0' THEN clock_timestamp() - waited::interval END;
    WITH locks AS MATERIALIZED (SELECT * FROM pg_lock_status()),
    conflicts(mode, blocked_by) AS (VALUES
        ('AccessShareLock', '{AccessExclusiveLock}'::text[]),
        ('RowShareLock', '{ExclusiveLock,AccessExclusiveLock}'),
        ('RowExclusiveLock', '{ShareLock,ShareRowExclusiveLock,ExclusiveLock,AccessExclusiveLock}'),
        ('ShareUpdateExclusiveLock', '{ShareUpdateExclusiveLock,ShareLock,ShareRowExclusiveLock,'
                                     'ExclusiveLock,AccessExclusiveLock}'),
        ('ShareLock', '{RowExclusiveLock,ShareUpdateExclusiveLock,ShareRowExclusiveLock,'
                      'ExclusiveLock,AccessExclusiveLock}'),
        ('ShareRowExclusiveLock', '{RowExclusiveLock,ShareUpdateExclusiveLock,ShareLock,'
                                  'ShareRowExclusiveLock,ExclusiveLock,AccessExclusiveLock}'),
        ('ExclusiveLock', '{RowShareLock,RowExclusiveLock,ShareUpdateExclusiveLock,ShareLock,'
                          'ShareRowExclusiveLock,ExclusiveLock,AccessExclusiveLock}'),
        ('AccessExclusiveLock', '{AccessShareLock,RowShareLock,RowExclusiveLock,'
                                'ShareUpdateExclusiveLock,ShareLock,ShareRowExclusiveLock,'
                                'ExclusiveLock,AccessExclusiveLock}')),
    blockers AS (
        SELECT w.ord, w.rel, l.pid, l.granted, l.waitstart, l.virtualtransaction
          FROM unnest(rels) WITH ORDINALITY AS w(rel, ord)
          JOIN conflicts c ON c.mode = coalesce(modes[w.ord], modes[cardinality(modes)])
          JOIN locks l
            ON l.database = db AND l.mode = ANY (c.blocked_by)
           AND CASE WHEN maintenance_lock
                    THEN l.locktype = 'advisory' AND l.classid = 0 AND l.objid = w.rel::oid
                         AND l.objsubid = 16713 -- maintenance_lock.cpp's class
                    ELSE l.locktype = 'relation' AND l.relation = w.rel::oid END
         WHERE w.rel IS NOT NULL AND l.pid IS DISTINCT FROM pg_backend_pid()
           AND (l.granted OR l.waitstart < queued_before)),
    first_rel AS (SELECT b.rel FROM blockers b ORDER BY b.ord LIMIT 1),
    -- Each session once (it may hold several conflicting modes), its strongest claim first.
    sessions AS (
        SELECT DISTINCT ON (coalesce(b.pid::text, b.virtualtransaction))
               b.pid, b.granted, b.waitstart, a.xact_start, p.prepared
          FROM blockers b
          LEFT JOIN pg_stat_get_activity(NULL) a ON a.pid = b.pid
          -- (A prepared transaction's locks have no pid; its xid is the one it holds.)
          LEFT JOIN pg_prepared_xact() p
            ON b.pid IS NULL
           AND p.transaction = (SELECT x.transactionid FROM locks x
                                 WHERE x.locktype = 'transactionid' AND x.pid IS NULL
                                   AND x.virtualtransaction = b.virtualtransaction LIMIT 1)
         WHERE b.rel = (SELECT f.rel FROM first_rel f)
         ORDER BY coalesce(b.pid::text, b.virtualtransaction), b.granted DESC)
    SELECT (SELECT f.rel FROM first_rel f),
           array_agg(CASE
                         WHEN s.pid IS NULL
                         THEN 'a prepared transaction' || coalesce(' (prepared '
                             || round(extract(epoch FROM clock_timestamp() - s.prepared), 1)
                             || ' s ago)', '')
                         ELSE format('pid %s (%s%s)', s.pid,
                                     CASE WHEN NOT s.granted THEN 'waiting ahead, ' ELSE '' END,
                                     ai_scale._transaction_age_text(s.xact_start))
                     END
                     ORDER BY s.granted DESC, coalesce(s.xact_start, s.prepared) NULLS LAST,
                              s.waitstart, s.pid),
           count(*)
      INTO rel, holders, total
      FROM sessions s;
    IF rel IS NULL THEN
        RETURN ai_scale._lock_released_text();
    END IF;
    RETURN format('%slock on %s held by %s',
                  CASE WHEN maintenance_lock THEN 'maintenance ' ELSE '' END,
                  rel, ai_scale._first_sessions_text(holders, total));
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END $$;

-- _lock_for_maintenance for a call by hand (manage_partitions, unmanage_partitions,
-- reapply_privileges, named by what): a lock not free within the caller's lock_timeout raises
-- 55P03 naming the run that holds it, as a maintenance run's 'skipped' row does (the bare
-- "canceling statement due to lock timeout" said nothing of who). The lock, taken in the block's subtransaction, stays to the end
-- of the caller's transaction.
CREATE FUNCTION ai_scale._lock_for_maintenance_by_hand(parent regclass, what text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    held_up text;
BEGIN
    PERFORM ai_scale._lock_for_maintenance(parent);
EXCEPTION WHEN lock_not_available THEN
    held_up := ai_scale._lock_holders(ARRAY[parent], '{ExclusiveLock}',
                                      current_setting('lock_timeout'), true);
    RAISE EXCEPTION USING ERRCODE = 'lock_not_available', MESSAGE = SQLERRM,
        DETAIL = 'Another maintenance run holds this table' || coalesce(': ' || held_up, '')
                 || '.',
        HINT = format('Call %s again once that run ends.', what);
END $$;

-- The message of a step that gave up on a lock (SQLERRM of a 55P03) and what held it up
-- (_lock_holders), for a 'skipped' row's detail; the message alone when that is not known.
CREATE FUNCTION ai_scale._lock_timeout_text(message text, rels regclass[], modes text[],
                                            waited text) RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT message || coalesce('; ' || ai_scale._lock_holders(rels, modes, waited), '') $$;
