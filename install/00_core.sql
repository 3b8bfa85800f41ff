-- ai_scale install script, assembled from install/*.sql in name order.
\echo Use "CREATE EXTENSION ai_scale" to load this file. \quit

-- Every function below is schema-qualified and pins its search_path, so a user's objects in
-- another schema can never be picked up in place of ours.

CREATE FUNCTION ai_scale.version() RETURNS text
    LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT
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

-- Exercises the C++/Postgres error bridge; for the regression tests and for diagnosing a build.
CREATE FUNCTION ai_scale._bridge_selftest(kind text) RETURNS text
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_bridge_selftest';
REVOKE ALL ON FUNCTION ai_scale._bridge_selftest(text) FROM PUBLIC;
