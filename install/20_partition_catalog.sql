-- Partitioning: reads of the catalog the DDL in 21_partition_create.sql to 24_partition_api.sql
-- shares. Most read it as it is now, not under the statement's snapshot (also in REPEATABLE
-- READ, where the snapshot may still show a partition dropped or detached since): a partition
-- pending detach, a table's pg_class row, its default partition, whether it was dropped, which
-- foreign key references it, whether it holds a row; and the columns an INSERT into a table
-- names, and the tablespace a new partition goes to. The C functions are in
-- src/partition/catalog_now.cpp and unlocked_look.cpp.

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
-- the C function), with its tablespace's name and its replica identity index, as they are now
-- too; NULL when rel is gone.
CREATE FUNCTION ai_scale._pg_class_now(rel regclass, OUT relkind "char", OUT reltuples real,
                                       OUT reltablespace oid, OUT relowner oid,
                                       OUT relreplident "char", OUT relacl aclitem[],
                                       OUT spcname name, OUT replident_index oid)
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_pg_class_now';

-- The oldest foreign key constraint that references rel (a key on a partitioned table has one
-- on each partition too), or NULL when none does. In C (src/partition/foreign_keys.cpp), through
-- pg_depend's index: pg_constraint has no index on confrelid, and its scan grew with every
-- constraint in the database.
CREATE FUNCTION ai_scale._referencing_foreign_key(rel regclass) RETURNS oid
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_referencing_foreign_key';

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

-- Whether rel holds a row of its own (SELECT EXISTS (SELECT 1 FROM ONLY rel)), looked at under
-- a lock released again at once (see the C function). The answer is a hint: the steps that act
-- on it look again under their lock.
CREATE FUNCTION ai_scale._has_rows_unlocked(rel regclass) RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_has_rows_unlocked';
