-- Time-range partition management: the prediction store, adoption of existing range-partitioned
-- tables, and maintenance (premake, retention by drop / detach / tier, rescue of default rows).
-- Which ranges to touch is decided by the C++ planner (src/partition/planner.cpp, behind
-- ai_scale._plan); bounds are read from pg_class.relpartbound (ai_scale._bounds), never from
-- partition names. The DDL in these files runs with a short lock_timeout so that it never queues
-- readers and writers behind a long-running query: a lock it cannot get is reported as skipped
-- and retried on the next run.
--
-- This file: the config table, the C internals, and the checks, names and bound literals the
-- DDL in 21_partition_create.sql to 24_partition_api.sql share.

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

-- 22023 unless zone can align a table's partitions: a tz database name or POSIX spec, not an
-- abbreviation (which each session reads through its own timezone_abbreviations).
CREATE FUNCTION ai_scale._check_time_zone(zone text) RETURNS void
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_check_time_zone';

-- 22023 unless partition_interval is whole days (or months), as a date key needs: manage_partitions
-- refuses another, and a run or a rescue refuses one an UPDATE of partition_config wrote, where
-- they made empty ranges (42P17) or partitions of one and two days by turns, named by hours.
CREATE FUNCTION ai_scale._check_date_interval(partition_interval interval, key_column name)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF partition_interval <> date_trunc('day', partition_interval) THEN
        RAISE EXCEPTION 'partition_interval % is not whole days, as the date key "%" needs',
                        partition_interval, key_column
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use days, weeks, months or years for a date key (''1 day'', not '
                         '''24 hours'').';
    END IF;
END $$;

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
                                 cold_oid oid DEFAULT NULL,
                                 retain_until timestamp DEFAULT NULL,
                                 OUT partition regclass, OUT lower timestamp,
                                 OUT upper timestamp, OUT is_default boolean,
                                 OUT upper_first_pass boolean)
    RETURNS SETOF record LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_bounds';

CREATE FUNCTION ai_scale._detach_pending(parent regclass) RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_detach_pending';

-- Whether child is a partition of parent pending detach, in pg_inherits as it is now: also in
-- REPEATABLE READ, whose snapshot misses a concurrent detach begun or finalized since it was
-- taken (see the C function).
CREATE FUNCTION ai_scale._pending_detach_now(parent regclass, child regclass) RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_pending_detach_now';

-- These columns of rel's row in pg_class as it is now, not under the statement's snapshot (see
-- the C function); NULL when rel is gone.
CREATE FUNCTION ai_scale._pg_class_now(rel regclass, OUT relkind "char", OUT reltuples real,
                                       OUT reltablespace oid, OUT relowner oid,
                                       OUT relreplident "char", OUT relacl aclitem[])
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_pg_class_now';

-- rel's relpersistence, NULL when rel is gone; locks rel until the transaction ends for a role
-- with its owner's rights (see the C function and _check_config_owner).
CREATE FUNCTION ai_scale._lock_config_parent(rel regclass) RETURNS "char"
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_lock_config_parent';

CREATE FUNCTION ai_scale._count_maintenance(runs int, actions int, errors int)
    RETURNS void LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_count_maintenance';

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
-- interval, where a bare number is seconds.
CREATE FUNCTION ai_scale._maintenance_lock_wait(caller text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE WHEN caller::interval <> interval '0'
             AND caller::interval
                 <= (ai_scale._setting('ai_scale.maintenance_lock_timeout') || 'ms')::interval
            THEN caller
            ELSE ai_scale._setting('ai_scale.maintenance_lock_timeout') || 'ms' END
$$;

-- The name suffix of a piece of a cell (a partition that starts inside one, where another
-- partition takes the rest) starting at local time at: YYYYMMDD_HHMI, with the years before 1
-- written as the cells' names write them (planner.cpp, name_suffix): astronomical, 1 BC is
-- 0000, 44 BC -043. to_char's year dropped the era, and a piece of 44 BC was named as one of
-- AD 44.
CREATE FUNCTION ai_scale._piece_suffix(at timestamp) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE WHEN at >= '0001-01-01' THEN to_char(at, 'YYYYMMDD_HH24MI')
            WHEN y = 0 THEN '0000' || to_char(at, 'MMDD_HH24MI')
            ELSE '-' || lpad((-y)::text, greatest(3, length((-y)::text)), '0')
                 || to_char(at, 'MMDD_HH24MI') END
  FROM (SELECT extract(year FROM at)::int + 1 AS y) a
$$;

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

-- 42501 when a partition of parent belongs to a role whose rights the owner of parent lacks:
-- maintenance acts as the table's owner, which may not read the rows of such a default
-- partition, nor move such a partition (nor drop it, unless it owns the schema). pg_partman,
-- for one, makes its partitions as the role that runs it (a superuser, often), not as the
-- table's owner: every run of a table taken from it failed on reading the default, with a
-- hint about CREATE rights only.
-- The default partition is named first (every run reads it), then the others by name;
-- with only_default (for check_default and rescue_default, which read no other), only it.
CREATE FUNCTION ai_scale._require_owner_partitions(parent regclass,
                                                   only_default boolean DEFAULT false)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    owner oid;
    first_part regclass;
    first_owner oid;
    first_is_default boolean;
    n bigint;
    alters text;
BEGIN
    SELECT c.relowner INTO owner FROM pg_class c WHERE c.oid = parent;
    -- The hint gives the ALTER of each (the detail counted five partitions, the hint named the
    -- first alone), at most five of them.
    SELECT (array_agg(p.oid ORDER BY pg_get_expr(p.relpartbound, p.oid) = 'DEFAULT' DESC,
                      p.relname))[1]::regclass,
           (array_agg(p.relowner ORDER BY pg_get_expr(p.relpartbound, p.oid) = 'DEFAULT' DESC,
                      p.relname))[1],
           bool_or(pg_get_expr(p.relpartbound, p.oid) = 'DEFAULT'),
           count(*),
           array_to_string((array_agg(format('ALTER TABLE %s OWNER TO %s;', p.oid::regclass,
                                             owner::regrole)
                                      ORDER BY pg_get_expr(p.relpartbound, p.oid) = 'DEFAULT'
                                               DESC, p.relname))[1:5], ' ')
      INTO first_part, first_owner, first_is_default, n, alters
      FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
     WHERE i.inhparent = parent AND NOT pg_has_role(owner, p.relowner, 'USAGE');
    IF first_part IS NOT NULL AND (first_is_default OR NOT only_default) THEN
        RAISE EXCEPTION 'partition % of table % belongs to %, not to the table''s owner %',
                        first_part, parent, first_owner::regrole, owner::regrole
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('ai_scale maintains a table as its owner; %s of the table '
                                  '%s to roles whose rights the owner lacks.',
                                  ai_scale._count(n, 'partition', 'partitions'),
                                  CASE WHEN n = 1 THEN 'belongs' ELSE 'belong' END),
                  HINT = format('Give %s to the table''s owner: %s%s',
                                CASE WHEN n = 1 THEN 'it' ELSE 'them' END, alters,
                                CASE WHEN n > 5 THEN format(' (the first five of %s)', n) END);
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
    -- (The grants as they are now: see _pg_class_now.)
    FOR g IN SELECT a.privilege_type, a.grantee, a.is_grantable
               FROM ai_scale._pg_class_now(parent) c, aclexplode(c.relacl) a
              WHERE a.grantee <> c.relowner
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
    hi timestamptz := t AT TIME ZONE zone;
    lo timestamptz;
    span bigint := 86400000000; -- microseconds from lo to hi
    half bigint;
    mid timestamptz;
BEGIN
    IF (hi AT TIME ZONE zone) = t THEN
        RETURN hi;
    END IF;
    -- Skipped: hi, read with the offset from before the change, lies past it, and its local
    -- time after t; a day before, the local time is before t (hi lies less than the skipped
    -- span past the change, and no change skips more than a day: Apia skipped one). The
    -- change is found to the microsecond between them, for changes need not fall on a whole
    -- minute (Amsterdam's clocks went from +01:19:32 to +01:20 in 1937, skipping 28 seconds:
    -- the next whole minute made the cells there meet 32 seconds late). Intervals of
    -- microseconds alone add elapsed time, whatever the session's zone.
    lo := hi - interval '24 hours';
    WHILE span > 1 LOOP
        half := span / 2;
        mid := lo + interval '1 microsecond' * half;
        IF (mid AT TIME ZONE zone) >= t THEN
            hi := mid;
            span := half;
        ELSE
            lo := mid;
            span := span - half;
        END IF;
    END LOOP;
    RETURN hi;
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

-- t as text that reads back as t in every DateStyle (YYYY-MM-DD first, the era when BC); an
-- infinite one as such. t::text is in the session's DateStyle, which 'SQL, YMD' writes
-- month first and reads year first.
CREATE FUNCTION ai_scale._timestamp_text(t timestamp) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE WHEN NOT isfinite(t) THEN t::text
                ELSE to_char(t, 'YYYY-MM-DD HH24:MI:SS.US') || ai_scale._era(t) END
$$;

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
        ELSE ai_scale._timestamp_text(t) END)
$$;

-- The innermost PL/pgSQL frame of an error's context (PG_EXCEPTION_CONTEXT, innermost first)
-- when it is not ai_scale's, such as 'PL/pgSQL function audit_ddl() line 6 at SQL statement':
-- a user's event trigger, or a trigger the table's DDL or rows run; null otherwise. Not a frame
-- outside ours (the caller's function or DO block that called maintenance). Ours are always
-- named with their schema (compiled under search_path = pg_catalog, pg_temp).
CREATE FUNCTION ai_scale._foreign_code_line(context text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE WHEN NOT starts_with(l, 'PL/pgSQL function ai_scale.') THEN l END
      FROM regexp_split_to_table(context, chr(10)) WITH ORDINALITY AS t(l, n)
     WHERE starts_with(l, 'PL/pgSQL function ')
     ORDER BY n LIMIT 1
$$;

-- An error's message for a maintenance 'error' row, with where in code not ai_scale's it was
-- raised (_foreign_code_line of its context: an event trigger with a name the pinned
-- search_path does not find failed every run, and the row said only 'relation "ddl_audit" does
-- not exist'), its hint when it has one (out of shared memory, for instance, is only useful
-- with its hint to raise max_locks_per_transaction) and its SQLSTATE last, which
-- manage_partitions raises again (_error_state).
-- A deadlock's hint ("See server log for query details.") is left out: the error was caught,
-- and the server log has nothing of it.
CREATE FUNCTION ai_scale._error_text(message text, hint text, state text,
                                     context text DEFAULT NULL) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT message
           || coalesce(' (in ' || ai_scale._foreign_code_line(context) || ')', '')
           || CASE WHEN coalesce(hint, '') = '' OR state = '40P01' THEN ''
                   ELSE ' (hint: ' || hint || ')' END
           || ' (SQLSTATE ' || state || ')'
$$;

-- The SQLSTATE at the end of an 'error' row's detail (_error_text); 55000 when there is none.
-- The patterns take parentheses as bracket expressions, not with backslashes: the body is
-- parsed under the caller's standard_conforming_strings, and with it off (a database or role
-- setting of older applications) '\(' read as '(' and no SQLSTATE was ever found.
CREATE FUNCTION ai_scale._error_state(detail text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT coalesce(substring(detail FROM '[(]SQLSTATE ([0-9A-Z]{5})[)]$'), '55000') $$;

-- An 'error' row's detail without its hint and the SQLSTATE at its end, for a message raised
-- with them: the hint is raised as the error's HINT, not left in its message.
CREATE FUNCTION ai_scale._error_message(detail text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT regexp_replace(regexp_replace(detail, ' [(]SQLSTATE [0-9A-Z]{5}[)]$', ''),
                          ' [(]hint: .*[)]$', '')
$$;

-- The hint in an 'error' row's detail (_error_text); null when it has none.
CREATE FUNCTION ai_scale._error_hint(detail text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT substring(regexp_replace(detail, ' [(]SQLSTATE [0-9A-Z]{5}[)]$', '')
                     FROM ' [(]hint: (.*)[)]$')
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

-- A free name <table>_<suffix> (then <table>_<suffix>_1, _2, ... while taken) in the parent's
-- schema, shortening the table part (never the suffix) to stay within 63 bytes. A suffix that
-- leaves no byte of the table's name is refused (42622): every caller's suffix is short, but
-- anyone may call this one with any.
CREATE FUNCTION ai_scale._partition_name(nsp name, base name, suffix text) RETURNS name
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    tail text;
    head text;
    qualified text;
    n int := 0;
BEGIN
    IF octet_length(suffix) > 48 THEN
        RAISE EXCEPTION 'partition name suffix "%" is longer than 48 bytes', suffix
            USING ERRCODE = 'name_too_long';
    END IF;
    LOOP
        tail := '_' || suffix || CASE WHEN n = 0 THEN '' ELSE '_' || n END;
        head := base;
        WHILE octet_length(head) + octet_length(tail) > 63 LOOP
            head := left(head, -1);
        END LOOP;
        -- A table needs its name free for its row type too: a type of that name (an enum, a
        -- domain) made CREATE TABLE fail, at every run.
        qualified := format('%I.%I', nsp, head || tail);
        IF to_regclass(qualified) IS NULL AND to_regtype(qualified) IS NULL THEN
            RETURN head || tail;
        END IF;
        n := n + 1;
    END LOOP;
END $$;

-- The parts of [lo, hi) that no range [bound_lo[m], bound_hi[m]) covers, oldest first: the
-- ranges of a table's partitions, ordered by their lower bound (partitions do not overlap).
CREATE FUNCTION ai_scale._uncovered_parts(lo timestamp, hi timestamp, bound_lo timestamp[],
                                          bound_hi timestamp[],
                                          OUT lows timestamp[], OUT highs timestamp[])
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cursor timestamp := lo;
BEGIN
    lows := '{}';
    highs := '{}';
    FOR m IN 1 .. coalesce(array_length(bound_lo, 1), 0) LOOP
        EXIT WHEN bound_lo[m] >= hi; -- (ordered: no range after it reaches [lo, hi) either)
        CONTINUE WHEN bound_hi[m] <= lo;
        IF bound_lo[m] > cursor THEN
            lows := lows || cursor;
            highs := highs || bound_lo[m];
        END IF;
        cursor := greatest(cursor, bound_hi[m]);
    END LOOP;
    IF cursor < hi THEN
        lows := lows || cursor;
        highs := highs || hi;
    END IF;
END $$;

-- The oldest foreign key constraint that references rel (a key on a partitioned table has one
-- on each partition too), or NULL when none does. In C (src/partition/foreign_keys.cpp), through
-- pg_depend's index: pg_constraint has no index on confrelid, and its scan grew with every
-- constraint in the database.
CREATE FUNCTION ai_scale._referencing_foreign_key(rel regclass) RETURNS oid
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_referencing_foreign_key';

-- The enabled states of the triggers and rules this session fires: 'O' (ENABLE) or 'A'
-- (ALWAYS), or 'R' (REPLICA) or 'A' where session_replication_role is replica. The worker runs
-- as origin.
CREATE FUNCTION ai_scale._fired_here() RETURNS "char"[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE current_setting('session_replication_role')
                WHEN 'replica' THEN '{R,A}'::"char"[] ELSE '{O,A}'::"char"[] END
$$;

-- Whether rel (a default partition) has a DO ALSO rule on DELETE that this session fires: its
-- action runs before a DELETE that moves rows out (_hold_default_rows, _copy_then_delete).
CREATE FUNCTION ai_scale._delete_rule_fired(rel regclass) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT EXISTS (SELECT 1 FROM pg_rewrite r
                    WHERE r.ev_class = rel AND r.ev_type = '4' AND NOT r.is_instead
                      AND r.ev_enabled = ANY (ai_scale._fired_here()))
$$;

-- Whether rel (a default partition) has a BEFORE DELETE FOR EACH ROW trigger that this session
-- fires, which may keep a row a move deletes, or change it (tgtype bits 0, 1 and 3: ROW,
-- BEFORE, DELETE): _path_through_parent, _copy_then_delete.
CREATE FUNCTION ai_scale._row_delete_trigger_fired(rel regclass) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT EXISTS (SELECT 1 FROM pg_trigger t
                    WHERE NOT t.tgisinternal AND t.tgenabled = ANY (ai_scale._fired_here())
                      AND t.tgrelid = rel AND t.tgtype & 11 = 11)
$$;

-- Of rows of rel (a heap table) named by their ctid, those the statement's snapshot still shows
-- (kept), and those gone with a later version it shows (changed: updated, also into another
-- partition), where SQL sees a deleted and an updated row alike gone
-- (src/partition/rows_left.cpp): _copy_then_delete.
CREATE FUNCTION ai_scale._rows_left(rel regclass, rows tid[], OUT kept bigint,
                                    OUT changed bigint)
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_rows_left';

-- Rows cannot be moved out of the default partition of parent when the move would not put them
-- back as they were. Raises 0A000, naming the cause:
-- * a foreign key references the table: deleting them fires the key's ON DELETE action
--   (CASCADE would delete the referencing rows) before they are back in the table;
-- * a DO INSTEAD rule on DELETE from the default partition: the rows would stay there, and
--   the attach failed on them with a check constraint of ours named as the cause (23514);
--   with deletes_in_with (the move deletes in a WITH query: making a partition ahead around
--   the parent), a DO ALSO one too: Postgres refuses such rules there (0A000, naming no rule).
--   A rescue, and a move through the parent (_hold_default_rows), run it. Rules the session
--   does not fire (disabled; ENABLE REPLICA but in a replica session) are not in the way;
-- * with through_parent (the move goes through the parent: _moves_through_parent, which the
--   caller has asked already), a DO INSTEAD rule on INSERT into the parent: the rows went where the rule sent them, as many as left the default, and the
--   move was reported made into partitions that stayed empty. (A DO ALSO one runs its action
--   beside the move, as a trigger does.)
CREATE FUNCTION ai_scale._require_movable_default(parent regclass, dflt regclass,
                                                  through_parent boolean,
                                                  deletes_in_with boolean) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    con record;
    rule record;
BEGIN
    SELECT c.conrelid::regclass AS referrer, c.conname INTO con
      FROM pg_constraint c
     WHERE c.oid = least(ai_scale._referencing_foreign_key(parent),
                         ai_scale._referencing_foreign_key(dflt));
    IF FOUND THEN
        RAISE EXCEPTION 'rows cannot be moved out of the default partition of %', parent
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('Table %s references it (foreign key %I): deleting the rows '
                                  'from the default partition would fire the key''s ON DELETE '
                                  'action before they are back.', con.referrer, con.conname),
                  HINT = 'Make the partitions before their rows arrive (premake), or move the '
                         'rows by hand with the foreign key dropped.';
    END IF;
    SELECT r.rulename, r.ev_class::regclass AS rel, r.ev_type = '4' AS on_delete,
           r.is_instead
      INTO rule
      FROM pg_rewrite r
     WHERE r.ev_enabled = ANY (ai_scale._fired_here())
       AND ((r.ev_class = dflt AND r.ev_type = '4' AND (r.is_instead OR deletes_in_with))
            OR (r.ev_class = parent AND r.ev_type = '3' AND r.is_instead AND through_parent))
     ORDER BY r.ev_type DESC, r.rulename LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'rows cannot be moved out of the default partition of %', parent
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('Rule %I on %s rewrites the %s %s that moves them (%s)%s.',
                                  rule.rulename, rule.rel,
                                  CASE WHEN rule.on_delete THEN 'DELETE from' ELSE 'INSERT into' END,
                                  rule.rel, CASE WHEN rule.is_instead THEN 'DO INSTEAD' ELSE 'DO ALSO' END,
                                  CASE WHEN NOT rule.on_delete
                                       THEN ': they would go where the rule sends them, not '
                                            'into the partitions made for them'
                                       WHEN rule.is_instead
                                       THEN ': they would stay where they are'
                                       ELSE ': Postgres runs no such rule for the DELETE in a '
                                            'WITH query that moves them' END),
                  HINT = CASE WHEN rule.on_delete
                              THEN 'Drop the rule while the rows are moved (a trigger may do '
                                   'its work), or make the partitions before their rows arrive '
                                   '(premake).'
                              ELSE 'Make the rule DO ALSO or drop it while the rows are moved, '
                                   'or make the partitions before their rows arrive (premake).' END;
    END IF;
END $$;

-- Whether rows moved out of the default partition of parent must go through the parent, as deletes
-- and inserts that logical replication and triggers see: when the table (or a table it is a
-- partition of, published with publish_via_partition_root) or its default partition is in a
-- publication that sends inserts and deletes, or the table has triggers or DO ALSO rules on INSERT
-- (a move around it ran no such rule), or its default partition BEFORE DELETE FOR EACH ROW
-- triggers (enabled; of their own or cloned from a table above).
-- Otherwise a move writes the rows into a new table before it becomes a partition, which is faster,
-- and which a publication of the table and the parent's INSERT triggers would see as deletes only
-- (a subscriber would lose the rows); a BEFORE DELETE trigger of the default that keeps rows is
-- told apart only on the way through the parent (09000 naming it; around it, the batch fails on a
-- check constraint of ours, or with 40001 in REPEATABLE READ, at every try). Triggers on other
-- events, and the default's other DELETE triggers, fire alike either way: any trigger sent every
-- move the slow way, and with a publication of inserts alone refused it (an AFTER DELETE audit of
-- the store, beside an append-only subscriber, kept every row in the default for good). A
-- publication of the table's inserts alone sees nothing of the move around the parent, as its
-- subscribers need: through the parent, they got every moved row a second time (a subscriber with a
-- key stopped there for good); so does one of the schema of a table above it (the parent a partition
-- of a root in another schema), which was not counted so; one of the default partition alone sees
-- no insert either way. One of all tables, or of the table's schema, sees the new table's
-- rows under its own name, which its subscribers do not have (their apply stopped for good) and,
-- through the parent, the rows twice. One of deletes without inserts loses the rows on its
-- subscribers either way. Where no move is right for every publication, none is made: 0A000, naming
-- them. As the snapshot of the statement that asks sees the publications: _moves_through_parent
-- asks it. The publications of the default are those pg_publication_tables lists it or a table
-- above it in (of all tables: the default itself, a permanent table, or with
-- publish_via_partition_root the root; of a table: the default or a table above; of a schema:
-- the default's, a permanent table, or a table above's), read without listing every table of
-- every publication, which that view does: at 3,000 partitions, with a publication of the
-- table, 12-50 ms a question (asked two or three times a partition a move makes), 1 ms now.
CREATE FUNCTION ai_scale._path_through_parent(parent regclass, dflt regclass) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    with_deletes text;
    inserts_only text;
    deletes_only text;
    inserts_everywhere text; -- of inserts alone, FOR ALL TABLES or the parent's schema
    insert_triggers boolean;
    insert_rules boolean;     -- DO ALSO on INSERT (a DO INSTEAD one refuses the move)
    keeping_triggers boolean; -- the default's BEFORE DELETE FOR EACH ROW, which may keep a row
    fired "char"[];
BEGIN
    SELECT string_agg(DISTINCT quote_ident(b.pubname), ', ')
               FILTER (WHERE b.pubinsert AND b.pubdelete),
           string_agg(DISTINCT quote_ident(b.pubname), ', ')
               FILTER (WHERE b.pubinsert AND NOT b.pubdelete
                         AND (EXISTS (SELECT 1 FROM pg_publication_rel r
                                       WHERE r.prpubid = b.oid
                                         AND r.prrelid IN (SELECT a.relid
                                                             FROM pg_partition_ancestors(parent) a))
                              OR EXISTS (SELECT 1 FROM pg_publication_namespace pn
                                           JOIN pg_class c ON c.relnamespace = pn.pnnspid
                                          WHERE pn.pnpubid = b.oid
                                            AND c.oid IN (SELECT a.relid
                                                            FROM pg_partition_ancestors(parent) a)))),
           string_agg(DISTINCT quote_ident(b.pubname), ', ')
               FILTER (WHERE b.pubdelete AND NOT b.pubinsert)
      INTO with_deletes, inserts_only, deletes_only
      FROM pg_publication b
     WHERE (b.puballtables
            AND (b.pubviaroot OR (SELECT c.relkind = 'r' AND c.relpersistence = 'p'
                                    FROM pg_class c WHERE c.oid = dflt)))
        OR EXISTS (SELECT 1 FROM pg_publication_rel r
                    WHERE r.prpubid = b.oid
                      AND r.prrelid IN (SELECT a.relid FROM pg_partition_ancestors(dflt) a))
        OR EXISTS (SELECT 1 FROM pg_publication_namespace pn
                     JOIN pg_class c ON c.relnamespace = pn.pnnspid
                    WHERE pn.pnpubid = b.oid
                      AND c.oid IN (SELECT a.relid FROM pg_partition_ancestors(dflt) a)
                      AND (c.relkind = 'p' OR (c.relkind = 'r' AND c.relpersistence = 'p')));
    SELECT string_agg(DISTINCT quote_ident(b.pubname), ', ') INTO inserts_everywhere
      FROM pg_publication b
     WHERE b.pubinsert AND NOT b.pubdelete
       AND (b.puballtables
            OR EXISTS (SELECT 1 FROM pg_publication_namespace pn JOIN pg_class c
                                ON c.relnamespace = pn.pnnspid
                        WHERE pn.pnpubid = b.oid AND c.oid = parent));
    -- (tgtype bit 0: ROW, bit 1: BEFORE, bit 2: INSERT, bit 3: DELETE. Those the move fires in
    -- this session (_fired_here): counted as origin in a replica session, a default's BEFORE
    -- DELETE trigger ENABLE REPLICA that kept a row failed the move on a constraint of ours,
    -- and an INSERT trigger ENABLE REPLICA never saw the moved rows.)
    fired := ai_scale._fired_here();
    insert_triggers := EXISTS (SELECT 1 FROM pg_trigger t
                                WHERE NOT t.tgisinternal AND t.tgenabled = ANY (fired)
                                  AND t.tgrelid = parent AND t.tgtype & 4 <> 0);
    insert_rules := EXISTS (SELECT 1 FROM pg_rewrite r
                             WHERE r.ev_class = parent AND r.ev_type = '3' AND NOT r.is_instead
                               AND r.ev_enabled = ANY (fired));
    keeping_triggers := ai_scale._row_delete_trigger_fired(dflt);
    IF deletes_only IS NOT NULL THEN
        RAISE EXCEPTION 'rows cannot be moved out of the default partition of %: publication % '
                        'sends its deletes alone', parent, deletes_only
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Moved either way, its subscribers would lose the rows.',
                  HINT = 'Make the partitions before their rows arrive (premake), or move the '
                         'rows by hand.';
    ELSIF inserts_everywhere IS NOT NULL
          OR (inserts_only IS NOT NULL
              AND (with_deletes IS NOT NULL OR insert_triggers OR insert_rules
                   OR keeping_triggers)) THEN
        RAISE EXCEPTION 'rows cannot be moved out of the default partition of %: publication % '
                        'sends its inserts alone%', parent,
                        coalesce(inserts_everywhere, inserts_only),
                        CASE WHEN inserts_everywhere IS NOT NULL
                             THEN ', of all tables or of the table''s schema'
                             WHEN with_deletes IS NOT NULL
                             THEN format(', and publication %s its deletes', with_deletes)
                             WHEN insert_triggers
                             THEN ', and the table has INSERT triggers that the move must fire'
                             WHEN insert_rules
                             THEN ', and the table has DO ALSO rules on INSERT that the move '
                                  'must run'
                             ELSE ', and its default partition has BEFORE DELETE triggers, '
                                  'which may keep rows' END
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = CASE WHEN inserts_everywhere IS NOT NULL
                                THEN 'Moved through the table, its subscribers would get the '
                                     'rows twice; moved around it, they would get them under the '
                                     'name of a table they do not have.'
                                WHEN with_deletes IS NOT NULL
                                THEN 'Moved through the table, the first one''s subscribers '
                                     'would get the rows twice; moved around it, the other''s '
                                     'would lose them.'
                                WHEN insert_triggers
                                THEN 'Moved through the table, its subscribers would get the '
                                     'rows twice; moved around it, its INSERT triggers would not '
                                     'see them.'
                                WHEN insert_rules
                                THEN 'Moved through the table, its subscribers would get the '
                                     'rows twice; moved around it, its rules would not run.'
                                ELSE 'Moved through the table, its subscribers would get the '
                                     'rows twice; moved around it, a row such a trigger kept '
                                     'would fail the move without a word of the trigger.' END,
                  HINT = 'Make the partitions before their rows arrive (premake), or move the '
                         'rows by hand.';
    END IF;
    RETURN with_deletes IS NOT NULL OR insert_triggers OR insert_rules OR keeping_triggers;
END $$;

-- _path_through_parent asked with the latest snapshot: the publications as logical decoding
-- applies them to rows written now (src/partition/sql_functions.cpp).
CREATE FUNCTION ai_scale._path_through_parent_now(parent regclass, dflt regclass)
    RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_path_through_parent_now';

-- Raises 40001 when the path a move out of dflt would take now is not the one it took or is
-- about to take (through, with the parent or around it), or refuses the move now (0A000). The
-- path is chosen from the publications a snapshot sees, and logical decoding applies them as
-- they are when the rows are written: a publication changed in between (ALTER PUBLICATION ...
-- SET (publish = ...) locks no table) got the wrong move, and its subscribers got every moved
-- row twice (the apply stopped for good on a key) or lost them, silently. Asked after a move's
-- writes (the move rolls back with the error), and before them where the transaction's
-- snapshot may be older than the publications (REPEATABLE READ, SERIALIZABLE).
-- (In REPEATABLE READ or SERIALIZABLE, also when the rules, triggers, foreign keys or columns
-- of parent and dflt a move reads, as the snapshot shows them, are not those Postgres applies
-- to its statements once their locks are taken: _move_catalog.)
CREATE FUNCTION ai_scale._require_path_unchanged(parent regclass, dflt regclass,
                                                 through boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF ai_scale._path_through_parent_now(parent, dflt) IS DISTINCT FROM through THEN
        -- (Triggers and rules choose the path too: a trigger made after a REPEATABLE READ
        -- snapshot was reported as a change of publications where there were none.)
        RAISE EXCEPTION 'the publications, triggers or rules of % changed while rows were '
                        'moved out of its default partition', parent
            USING ERRCODE = 'serialization_failure',
                  DETAIL = 'Moved as they were chosen for, subscribers could get the rows twice '
                           'or not at all, or triggers and rules not see them.',
                  HINT = 'Run it again.';
    END IF;
    -- A DO ALSO rule on DELETE made after the snapshot ran unchecked, and the rows it wrote
    -- into the range were deleted uncopied; a DO INSTEAD rule on INSERT sent the rows moved
    -- out of the table; a column added was left out of the copy (the rows moved took its
    -- default, not their value).
    IF current_setting('transaction_isolation') <> 'read committed'
       AND ai_scale._move_catalog_now(parent, dflt) IS DISTINCT FROM
           ai_scale._move_catalog(parent, dflt) THEN
        RAISE EXCEPTION 'the rules, triggers, foreign keys or columns of % changed after this '
                        'transaction''s snapshot was taken', parent
            USING ERRCODE = 'serialization_failure',
                  DETAIL = 'Moving rows out of its default partition reads them as the snapshot '
                           'shows them, and Postgres applies them as they are now: rows could '
                           'be lost, written twice or written elsewhere.',
                  HINT = 'Run it again, or in a READ COMMITTED transaction.';
    END IF;
END $$;

-- How rows moved out of dflt go (_path_through_parent), as the caller's snapshot sees the
-- publications, which in REPEATABLE READ or SERIALIZABLE must be as they are now: asked here to
-- fail before any write (a snapshot from before a change sees the old path for the whole
-- transaction); the check after the writes (_require_path_unchanged), which every move makes,
-- would fail it too, after the copy.
CREATE FUNCTION ai_scale._moves_through_parent(parent regclass, dflt regclass) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    through boolean := ai_scale._path_through_parent(parent, dflt);
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        PERFORM ai_scale._require_path_unchanged(parent, dflt, through);
    END IF;
    RETURN through;
END $$;

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

-- A stored expression tree's text without the places of its nodes in the command that made it
-- (":location 42"): the same rule made again by CREATE OR REPLACE RULE, or with other spacing,
-- read as another, and a REPEATABLE READ move over it failed with a needless 40001.
CREATE FUNCTION ai_scale._unplaced(tree text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT regexp_replace(tree, ' :location -?[0-9]+', '', 'g') $$;

-- What of parent and its default partition dflt a move out of dflt reads from the catalog and
-- Postgres applies to its statements: their rules and triggers, as what they do (event, action
-- or function and its arguments, condition, columns, enabled or not: a CREATE OR REPLACE keeps
-- the OID; not their names, whose change by ALTER ... RENAME gave a needless 40001; not the
-- internal triggers of a foreign key of theirs, which a move does not fire), the foreign keys
-- that reference them, and the columns an INSERT names, with their types. Compared, in
-- REPEATABLE READ or SERIALIZABLE, with the same read with the latest snapshot
-- (_move_catalog_now).
CREATE FUNCTION ai_scale._move_catalog(parent regclass, dflt regclass) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT concat_ws(' | ',
        coalesce((SELECT string_agg(format('%s %s %s %s %s %s', r.oid, r.ev_type, r.ev_enabled,
                                           r.is_instead, ai_scale._unplaced(r.ev_qual::text),
                                           ai_scale._unplaced(r.ev_action::text)),
                                    ', ' ORDER BY r.oid)
                    FROM pg_rewrite r WHERE r.ev_class IN (parent, dflt)), ''),
        coalesce((SELECT string_agg(format('%s %s %s %s %s %s %s %s %s %s', t.oid, t.tgfoid,
                                           t.tgtype, t.tgenabled, t.tgargs, t.tgattr,
                                           ai_scale._unplaced(t.tgqual::text), t.tgoldtable,
                                           t.tgnewtable,
                                           t.tgdeferrable::text || t.tginitdeferred::text),
                                    ', ' ORDER BY t.oid)
                    FROM pg_trigger t
                   WHERE t.tgrelid IN (parent, dflt) AND NOT t.tgisinternal), ''),
        coalesce((SELECT string_agg(c.oid::text, ', ' ORDER BY c.oid)
                    FROM pg_constraint c
                   WHERE c.contype = 'f' AND c.confrelid IN (parent, dflt)), ''),
        coalesce((SELECT string_agg(format('%s %s %s %s %s', a.attrelid, a.attnum, a.attname,
                                           a.atttypid, a.atttypmod), ', '
                                    ORDER BY a.attrelid, a.attnum)
                    FROM pg_attribute a
                   WHERE a.attrelid IN (parent, dflt) AND a.attnum > 0 AND NOT a.attisdropped
                     AND a.attgenerated = ''), ''))
$$;

-- _move_catalog with the latest snapshot (src/partition/sql_functions.cpp).
CREATE FUNCTION ai_scale._move_catalog_now(parent regclass, dflt regclass) RETURNS text
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_move_catalog_now';

-- Whether rel, read earlier, has been dropped since, in any isolation level: regclass's output
-- looks the table up afresh, not under the transaction's snapshot (which in REPEATABLE READ
-- still shows a table another session dropped since, in pg_class and pg_inherits), and gives a
-- dropped table's OID, digits alone; a table so named is quoted. A statement that names rel
-- with %s then names it by that OID.
CREATE FUNCTION ai_scale._dropped(rel regclass) RETURNS boolean
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT rel::text ~ '^[0-9]+$'
$$;

-- The tablespace a partition of parent made in this session goes to, 0 for the database's:
-- the parent's, else the one default_tablespace names (a name that is no tablespace, or the
-- database's, is the database's), as Postgres places a new partition. The worker's
-- default_tablespace is its role's and database's.
CREATE FUNCTION ai_scale._partition_birth_tablespace(parent regclass) RETURNS oid
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT coalesce(nullif(c.reltablespace, 0),
                    (SELECT nullif(t.oid, d.dattablespace)
                       FROM pg_tablespace t, pg_database d
                      WHERE t.spcname = current_setting('default_tablespace')
                        AND d.datname = current_database()),
                    0)
      FROM pg_class c WHERE c.oid = parent
$$;

-- The default partition of parent, from the catalog as it is now, also in REPEATABLE READ: a
-- DROP or DETACH of it under way is waited for, and the catalog read again after it; no lock is
-- kept (see the C function).
CREATE FUNCTION ai_scale._default_partition(parent regclass) RETURNS regclass
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_default_partition';

-- The default partition of parent as the catalog names it, waiting for no lock: for a message
-- about a lock not free in time, where _default_partition would wait for it. (Maintenance
-- itself keeps _default_partition: a concurrent DROP TABLE is waited for there, and the table
-- then found gone.)
CREATE FUNCTION ai_scale._default_partition_unlocked(parent regclass) RETURNS regclass
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT nullif(p.partdefid, 0)::regclass FROM pg_partitioned_table p WHERE p.partrelid = parent
$$;

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

CREATE FUNCTION ai_scale._config(parent regclass) RETURNS ai_scale.partition_config
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cfg ai_scale.partition_config;
BEGIN
    IF parent IS NULL THEN -- not "table <NULL> is not managed by ai_scale"
        RAISE EXCEPTION 'parent must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO cfg FROM ai_scale.partition_config c WHERE c.parent = _config.parent;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = _config.parent) THEN
        RAISE EXCEPTION 'relation with OID % does not exist', parent::oid -- as _partition_key
            USING ERRCODE = 'undefined_table';
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not managed by ai_scale', parent
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Call ai_scale.manage_partitions first.';
    END IF;
    RETURN cfg;
END $$;

-- Partitions (kept, or when null those parent has), the locks a query reading them all takes
-- (one for each partition and each of its indexes), and what the lock table is sized for
-- (src/partition/lock_demand.cpp).
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

-- Whether rel holds a row of its own (SELECT EXISTS (SELECT 1 FROM ONLY rel)), looked at under
-- a lock released again at once (see the C function). The answer is a hint: the steps that act
-- on it look again under their lock.
CREATE FUNCTION ai_scale._has_rows_unlocked(rel regclass) RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_has_rows_unlocked';
