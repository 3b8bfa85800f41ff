-- ai_scale install script, assembled from install/*.sql in name order.
\echo Use "CREATE EXTENSION ai_scale" to load this file. \quit

-- CREATE EXTENSION installs into a schema named ai_scale that exists already, whoever owns it.
-- Its owner could then rename it and make a schema ai_scale of its own, whose functions the
-- extension's code, naming ours as ai_scale.<name>, would call, with the rights of whoever runs
-- it (the maintenance worker's superuser): only a schema owned by a superuser is used.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
                     JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
                    WHERE n.nspname OPERATOR(pg_catalog.=) 'ai_scale'::pg_catalog.name
                      AND r.rolsuper) THEN
        RAISE EXCEPTION 'schema "ai_scale" is owned by a role that is not a superuser'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Its owner could replace the functions the extension calls.',
                  HINT = 'Drop the schema, or ALTER SCHEMA ai_scale OWNER TO a superuser, then CREATE EXTENSION ai_scale.';
    END IF;
END $$;

-- One that holds another extension's functions is warned of: installed beside them, a call of
-- ai_scale.run_maintenance() was ambiguous, and run_maintenance('t') ran pg_partman's. Not
-- refused: pg_restore creates extensions in the order of their names, and one put into the
-- schema after ai_scale was made would come first and leave the restored database without it.
DO $$
DECLARE
    other pg_catalog.name;
BEGIN
    SELECT e.extname INTO other
      FROM pg_catalog.pg_proc p
      JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                                 AND d.objid OPERATOR(pg_catalog.=) p.oid
                                 AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
                                 AND d.deptype OPERATOR(pg_catalog.=) 'e'
      JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
     WHERE p.pronamespace OPERATOR(pg_catalog.=) 'ai_scale'::pg_catalog.regnamespace
     LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE WARNING 'schema "ai_scale" holds functions of extension "%"', other
            USING DETAIL = 'Installed beside them, calls of ai_scale''s functions could run the other extension''s.',
                  HINT = pg_catalog.format('Move that extension to another schema (ALTER EXTENSION %I SET SCHEMA ..., or drop it and create it again in another).', other);
    END IF;
END $$;

-- Every function below is schema-qualified and pins its search_path, so a user's objects in
-- another schema can never be picked up in place of ours; except those run once per row
-- (input_hash, cache_get, score, score_multi, score_batched, predict, _cell_lower), which name
-- nothing by an unqualified name and pin the path in C where they run SQL, and the procedure
-- rescue_default_proc, which sets it in each of its transactions.

-- STABLE, as Postgres's version(): a library installed over this one answers otherwise.
CREATE FUNCTION ai_scale.version() RETURNS text
    LANGUAGE c STABLE PARALLEL SAFE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_version';
COMMENT ON FUNCTION ai_scale.version() IS 'version of the ai_scale library';

CREATE FUNCTION ai_scale.build_info() RETURNS jsonb
    LANGUAGE c STABLE PARALLEL SAFE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_build_info';
COMMENT ON FUNCTION ai_scale.build_info() IS
    'compiler, Postgres, hiredis and xxHash versions ai_scale was built with; GPU module and preload state';

-- An ai_scale.* setting, for PL/pgSQL: calling it loads the library, which defines the settings
-- (current_setting() fails on them in a session that has not loaded it yet).
CREATE FUNCTION ai_scale._setting(name text) RETURNS text
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_setting';

-- A count and its noun for messages: '1 row', '2 rows' (what errmsg_plural does for C).
CREATE FUNCTION ai_scale._count(n bigint, one text, many text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    RETURN n::text || ' ' || CASE WHEN n = 1 THEN one ELSE many END;

-- Refuses the caller of fn unless it holds every one of rights on tbl, which fn writes: 42501
-- naming the rights it lacks, with hint saying how to get them. Checked before fn does anything,
-- so that a role without them is told what to ask for rather than meeting a bare "permission
-- denied for table" from whichever statement needs them first.
CREATE FUNCTION ai_scale._require_table_rights(tbl regclass, rights text[], fn text, hint text)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    missing text[];
BEGIN
    SELECT array_agg(r ORDER BY o) INTO missing
      FROM unnest(rights) WITH ORDINALITY AS x(r, o)
     WHERE NOT has_table_privilege(tbl, r);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'permission denied to call %', fn
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('%s writes %s, on which role %s lacks %s.', fn, tbl,
                                  quote_ident(current_user), array_to_string(missing, ', ')),
                  HINT = hint;
    END IF;
END $$;

-- Exercises the C++/Postgres error bridge; for the regression tests and for diagnosing a build.
CREATE FUNCTION ai_scale._bridge_selftest(kind text) RETURNS text
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_bridge_selftest';
REVOKE ALL ON FUNCTION ai_scale._bridge_selftest(text) FROM PUBLIC;
COMMENT ON FUNCTION ai_scale._bridge_selftest(text) IS
    'diagnosis: raises one kind of error across the C++/Postgres boundary (ok, runtime_error, '
    'bad_alloc, user_error, postgres_error, exception_in_call; destructors counts destructors run)';
