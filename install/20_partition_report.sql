-- Partitioning: what a maintenance run reports besides its rows' actions: the counters of the
-- stats view, and the detail of an 'error' row (the message, where in code not ai_scale's it
-- was raised, the hint and the SQLSTATE), read back by manage_partitions to raise it again.

-- Adds a run's counts to the maintenance counters of the stats view. Executable by PUBLIC, unlike
-- the other internal helpers: run_maintenance runs with its caller's rights and calls it, so a
-- REVOKE failed the run of a table's own owner ("permission denied for function
-- _count_maintenance"); any role can therefore raise the counters, never lower them
-- (sql/security_counters.sql, docs/partitioning.md).
CREATE FUNCTION ai_scale._count_maintenance(runs int, actions int, errors int)
    RETURNS void LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_count_maintenance';

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
