-- Partitioning: the table owner's rights, as which all of a table's maintenance runs: running a
-- statement or query as the owner (src/partition/owner_scope.cpp), the refusals of an owner who
-- may not create in the table's schema or lacks the rights of a partition's owner, and the
-- parent's grants copied to a partition (inherit_privileges).

-- Runs one statement as the owner of rel, in a security-restricted operation
-- (src/partition/owner_scope.cpp): the statements that move rows out of a default partition,
-- which fire the table's triggers and rules and evaluate its constraints, domains, generated
-- columns and index expressions with the rights of the owner, never of whoever runs
-- maintenance. Returns the rows processed.
CREATE FUNCTION ai_scale._as_owner(rel regclass, statement text) RETURNS bigint
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_as_owner';

-- _as_owner's check alone (42501 when a table under rel, or code on one, belongs to a role
-- without its owner's rights), for a step to ask again once it holds its locks: a foreign key
-- that a role with REFERENCES committed after the run's check, on a table of its own, would
-- otherwise have a DETACH plan over that table as the owner.
CREATE FUNCTION ai_scale._require_acting_owner(rel regclass) RETURNS void
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_require_acting_owner';

-- The same for a query, returning its rows (the caller names their columns: AS t(...)). A
-- table's whole maintenance runs so (_run_maintenance, rescue_default, check_default): planning
-- any query on the table, and copying its index definitions into a new partition, evaluates
-- the constant parts of its index expressions and predicates, code of the owner's too.
CREATE FUNCTION ai_scale._as_owner_rows(rel regclass, query text) RETURNS SETOF record
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_as_owner_rows';

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
