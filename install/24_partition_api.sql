-- Taking tables into management and out of it, the prediction store, the partitions() view of
-- a table, and who may change partition_config.

-- Registering a table writes partition_config, which only its owner may change unless they
-- grant it (see below). Checked before anything is made, so that a role without the grant is
-- told what to ask for rather than meeting a bare "permission denied" after the work. rights:
-- the privileges the calling function needs on the table ('INSERT, UPDATE' to register,
-- 'DELETE' to unregister).
CREATE FUNCTION ai_scale._require_config_rights(rights text[], fn text) RETURNS void
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT ai_scale._require_table_rights(
        'ai_scale.partition_config', rights, fn,
        format('A superuser can grant them with GRANT INSERT, UPDATE, DELETE ON '
               'ai_scale.partition_config TO %s; the role then manages the tables it owns.',
               quote_ident(current_user)))
$$;

-- manage_partitions checks everything it can before it writes or makes anything
-- (_require_manageable, _check_manage_settings, _require_owner_can_manage), then, under the
-- table's maintenance lock, adds a default partition where there is none
-- (_add_default_partition), writes the table's row in partition_config
-- (_write_partition_config) and runs the first maintenance (_adopting_run), all in the
-- caller's transaction.

-- For manage_partitions: the key of parent, a table it can take into management, or an error
-- saying why not.
CREATE FUNCTION ai_scale._require_manageable(parent regclass,
                                             OUT key_column name, OUT key_type regtype)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k record;
BEGIN
    IF _require_manageable.parent IS NULL THEN
        RAISE EXCEPTION 'parent must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    k := ai_scale._partition_key(_require_manageable.parent);
    -- The worker cannot reach another session's temporary table, and no event trigger fires
    -- when one goes at the end of its session: its row would stay behind.
    IF (SELECT c.relpersistence FROM pg_class c WHERE c.oid = _require_manageable.parent) = 't' THEN
        RAISE EXCEPTION 'cannot manage temporary table %', _require_manageable.parent
            USING ERRCODE = 'feature_not_supported';
    END IF;
    PERFORM ai_scale._require_not_partman(_require_manageable.parent);
    PERFORM ai_scale._require_not_time_in_time(_require_manageable.parent, k.key_column);
    key_column := k.key_column;
    key_type := k.key_type;
END $$;

-- For manage_partitions: refuses settings that cannot work for a table keyed on key_column, of
-- key_type (zone is the time_zone given, or ai_scale.partition_time_zone).
CREATE FUNCTION ai_scale._check_manage_settings(key_column name, key_type regtype,
                                                partition_interval interval, premake int,
                                                retention interval, retention_mode text,
                                                cold_after interval, cold_tablespace name,
                                                zone text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM ai_scale._check_config(partition_interval, premake, retention, retention_mode,
                                   cold_after);
    IF key_type = 'date'::regtype THEN
        PERFORM ai_scale._check_date_interval(partition_interval, key_column);
    END IF;
    IF (retention_mode = 'tier' OR cold_after IS NOT NULL) AND cold_tablespace IS NULL THEN
        RAISE EXCEPTION 'cold_tablespace is required for retention_mode tier or cold_after'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF cold_tablespace IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_tablespace t WHERE t.spcname = cold_tablespace) THEN
        RAISE EXCEPTION 'tablespace "%" does not exist', cold_tablespace
            USING ERRCODE = 'undefined_object';
    END IF;
    -- (Postgres's own words for a table moved there, which every run that tiered would report.)
    IF cold_tablespace = 'pg_global' THEN
        RAISE EXCEPTION 'only shared relations can be placed in pg_global tablespace'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'cold_tablespace must be a tablespace a table can be moved to.';
    END IF;
    PERFORM ai_scale._check_time_zone(zone);
END $$;

-- For manage_partitions: refuses a cold_tablespace that is where the table's partitions are
-- made (_partition_birth_tablespace): each was cold from birth, and tiering moved nothing.
CREATE FUNCTION ai_scale._require_cold_elsewhere(parent regclass, cold_tablespace name)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF cold_tablespace IS NOT NULL
       AND (SELECT CASE WHEN t.oid = d.dattablespace THEN 0 ELSE t.oid END
              FROM pg_tablespace t, pg_database d
             WHERE t.spcname = cold_tablespace AND d.datname = current_database())
           = ai_scale._partition_birth_tablespace(parent) THEN
        RAISE EXCEPTION 'cold_tablespace % is where the partitions of % are made',
                        quote_ident(cold_tablespace), parent
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Every partition would be cold when made, and none would be moved.',
                  HINT = format('Name another tablespace, or give the table one of its own: '
                                'ALTER TABLE %s SET TABLESPACE ...;', parent);
    END IF;
END $$;

-- For manage_partitions: whether the table's owner may do what maintenance will do as the
-- owner; an error saying what to grant when not.
CREATE FUNCTION ai_scale._require_owner_can_manage(parent regclass, cold_tablespace name)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    owner oid := (SELECT c.relowner FROM pg_class c WHERE c.oid = parent);
BEGIN
    PERFORM ai_scale._require_owner_create(parent);
    -- Partitions are moved to cold_tablespace as the owner too (Postgres asks no privilege for
    -- the database's default tablespace): refused now rather than by every run that tiers.
    IF cold_tablespace IS NOT NULL
       AND (SELECT t.oid FROM pg_tablespace t WHERE t.spcname = cold_tablespace)
           <> (SELECT d.dattablespace FROM pg_database d WHERE d.datname = current_database())
       AND NOT has_tablespace_privilege(owner, cold_tablespace, 'CREATE') THEN
        RAISE EXCEPTION 'the owner of table % (%) may not create in tablespace %',
                        parent, owner::regrole, quote_ident(cold_tablespace)
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'ai_scale moves partitions to cold_tablespace as the table''s owner.',
                  HINT = format('GRANT CREATE ON TABLESPACE %I TO %s;', cold_tablespace,
                                owner::regrole);
    END IF;
END $$;

-- For manage_partitions, on a table without a default partition: adds one, in schema nsp
-- (the table's) and named after rel (the table's name), with the table's grants when
-- inherit_privileges.
-- Empty, it is made without parallel index builds, as every partition (_new_partition_table):
-- with them weighed (a small min_parallel_table_scan_size), the owner's index expressions were
-- evaluated in parallel mode, and one that writes failed manage_partitions.
CREATE FUNCTION ai_scale._add_default_partition(parent regclass, nsp name, rel name,
                                                inherit_privileges boolean)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET max_parallel_maintenance_workers = 0
    AS $$
DECLARE
    dflt_name text;
    caller_lock_timeout text;
    identity text;
BEGIN
    dflt_name := format('%I.%I', nsp, ai_scale._partition_name(nsp, rel, 'default'));
    -- Adding a partition this way locks the whole table: with the short timeout of all
    -- maintenance DDL, so that new queries never queue behind a long-running one.
    caller_lock_timeout := current_setting('lock_timeout');
    PERFORM set_config('lock_timeout',
                       ai_scale._setting('ai_scale.maintenance_lock_timeout'), true);
    BEGIN
        -- As the owner (see _as_owner_rows), who then owns it, as every partition.
        PERFORM ai_scale._as_owner(parent,
                                   format('CREATE TABLE %s PARTITION OF %s DEFAULT',
                                          dflt_name, parent));
    EXCEPTION WHEN lock_not_available THEN
        RAISE EXCEPTION 'could not lock table % to add its default partition', parent
            USING ERRCODE = 'lock_not_available',
                  DETAIL = format('The lock was not free within '
                                  'ai_scale.maintenance_lock_timeout (%s)%s.',
                                  current_setting('lock_timeout'),
                                  ': ' || ai_scale._lock_holders(
                                      ARRAY[parent],
                                      '{AccessExclusiveLock}',
                                      current_setting('lock_timeout'))),
                  HINT = 'A transaction holds the table; call manage_partitions again once it ends.';
    END;
    PERFORM set_config('lock_timeout', caller_lock_timeout, true);
    identity := ai_scale._replica_identity_statement(parent, dflt_name);
    IF identity IS NOT NULL THEN
        PERFORM ai_scale._as_owner(parent, identity);
    END IF;
    IF inherit_privileges THEN
        PERFORM ai_scale._copy_grants(parent, dflt_name);
    END IF;
END $$;

-- For manage_partitions: the table's row in partition_config, added or replaced.
CREATE FUNCTION ai_scale._write_partition_config(parent regclass, partition_interval interval,
                                                 premake int, retention interval,
                                                 retention_mode text, cold_after interval,
                                                 cold_tablespace name, zone text,
                                                 inherit_privileges boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    was ai_scale.partition_config;
    changed text;
BEGIN
    SELECT * INTO was FROM ai_scale.partition_config c
     WHERE c.parent = _write_partition_config.parent;
    INSERT INTO ai_scale.partition_config AS c
        (parent, partition_interval, premake, retention, retention_mode, cold_after,
         cold_tablespace, time_zone, inherit_privileges)
    VALUES (_write_partition_config.parent, partition_interval, premake, retention,
            retention_mode, cold_after, cold_tablespace, zone,
            coalesce(_write_partition_config.inherit_privileges, false))
    ON CONFLICT ON CONSTRAINT partition_config_pkey DO UPDATE
       SET partition_interval = EXCLUDED.partition_interval, premake = EXCLUDED.premake,
           retention = EXCLUDED.retention, retention_mode = EXCLUDED.retention_mode,
           cold_after = EXCLUDED.cold_after, cold_tablespace = EXCLUDED.cold_tablespace,
           time_zone = EXCLUDED.time_zone, inherit_privileges = EXCLUDED.inherit_privileges;
    IF was.parent IS NULL THEN
        RETURN;
    END IF;
    -- Said, each setting that changed: a call to raise premake took retention away and the
    -- time zone back to the setting's, without a word, and partitions on the new bounds stayed
    -- beside the old ones for good. (A NOTICE: a change the caller meant is no fault.)
    SELECT string_agg(format('%s %s to %s', s.name, coalesce(s.was, 'none'),
                             coalesce(s.now, 'none')), ', ' ORDER BY s.n)
      INTO changed
      FROM (VALUES (1, 'partition_interval', was.partition_interval::text,
                    partition_interval::text),
                   (2, 'premake', was.premake::text, premake::text),
                   (3, 'retention', was.retention::text, retention::text),
                   (4, 'retention_mode', was.retention_mode, retention_mode),
                   (5, 'cold_after', was.cold_after::text, cold_after::text),
                   (6, 'cold_tablespace', was.cold_tablespace::text, cold_tablespace::text),
                   (7, 'time_zone', was.time_zone, zone),
                   (8, 'inherit_privileges', was.inherit_privileges::text,
                    coalesce(_write_partition_config.inherit_privileges, false)::text))
           AS s(n, name, was, now)
     -- (A zone's name in other letters, 'utc' for 'UTC', is no change.)
     WHERE CASE WHEN s.name = 'time_zone' THEN lower(s.was) IS DISTINCT FROM lower(s.now)
                ELSE s.was IS DISTINCT FROM s.now END;
    IF changed IS NOT NULL THEN
        RAISE NOTICE 'manage_partitions changed the settings of %: %', parent, changed
            USING DETAIL = 'Called on a managed table, it replaces every setting it takes: an '
                           'argument left out takes its default again.',
                  HINT = 'To change one setting, give the others as they are in '
                         'ai_scale.partition_config, or UPDATE that row.';
    END IF;
END $$;

-- For manage_partitions: the first maintenance run of the table, whose rows it returns. The
-- first run is part of adopting the table: if it fails, nothing is kept (an error row becomes
-- an error, with the row's message, SQLSTATE and hint). Then a WARNING when a query reading
-- every partition could not lock them all (_warn_lock_table).
CREATE FUNCTION ai_scale._adopting_run(parent regclass)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
    made int := 0;
    d record;
    kept bigint;
BEGIN
    FOR r IN SELECT * FROM ai_scale._run_maintenance(_adopting_run.parent, false) LOOP
        IF r.action = 'error' AND ai_scale._error_hint(r.detail) IS NOT NULL THEN
            RAISE EXCEPTION 'could not maintain %: %', _adopting_run.parent,
                  ai_scale._error_message(r.detail)
                USING ERRCODE = ai_scale._error_state(r.detail),
                      HINT = ai_scale._error_hint(r.detail);
        ELSIF r.action = 'error' THEN
            RAISE EXCEPTION 'could not maintain %: %', _adopting_run.parent,
                  ai_scale._error_message(r.detail)
                USING ERRCODE = ai_scale._error_state(r.detail);
        END IF;
        IF r.action = 'created' THEN
            made := made + 1;
        END IF;
        parent_table := r.parent_table;
        action := r.action;
        partition := r.partition;
        detail := r.detail;
        RETURN NEXT;
    END LOOP;
    -- Warned of already by the run, which made partitions past the lock table
    -- (_run_maintenance); else warned of now, when the table has or will keep at its retention
    -- more partitions than a query can lock at once.
    d := ai_scale._lock_demand(_adopting_run.parent, NULL);
    IF made > 0 AND d.locks > d.slots THEN
        RETURN;
    END IF;
    kept := ai_scale._partitions_kept(ai_scale._config(_adopting_run.parent));
    PERFORM ai_scale._warn_lock_table(_adopting_run.parent,
                                      CASE WHEN kept > d.partitions THEN kept END);
END $$;

CREATE FUNCTION ai_scale.manage_partitions(parent regclass, partition_interval interval,
                                           premake int DEFAULT 7,
                                           retention interval DEFAULT NULL,
                                           retention_mode text DEFAULT 'drop',
                                           cold_after interval DEFAULT NULL,
                                           cold_tablespace name DEFAULT NULL,
                                           time_zone text DEFAULT NULL,
                                           inherit_privileges boolean DEFAULT false)
    RETURNS TABLE (parent_table regclass, action text, partition text, detail text)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
    AS $$
DECLARE
    k record;
    zone text := coalesce(time_zone, ai_scale._setting('ai_scale.partition_time_zone'));
    nsp name;
    rel name;
BEGIN
    PERFORM ai_scale._require_primary('manage_partitions');
    k := ai_scale._require_manageable(manage_partitions.parent);
    PERFORM ai_scale._check_manage_settings(k.key_column, k.key_type, partition_interval,
                                            premake, retention, retention_mode, cold_after,
                                            cold_tablespace, zone);
    -- Partitions are made as the table's owner (see _as_owner_rows), in the table's schema.
    SELECT n.nspname, c.relname INTO nsp, rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = manage_partitions.parent;
    PERFORM ai_scale._require_cold_elsewhere(manage_partitions.parent, cold_tablespace);
    PERFORM ai_scale._require_owner_can_manage(manage_partitions.parent, cold_tablespace);

    -- After any other manage_partitions or maintenance run of the table: two first calls at
    -- once would both add a default partition, and the second fail (42P07).
    PERFORM ai_scale._lock_for_maintenance_by_hand(manage_partitions.parent, 'manage_partitions');
    -- After the owner check above, which is what a role managing another's table must hear.
    PERFORM ai_scale._require_config_rights('{INSERT,UPDATE}', 'manage_partitions');
    PERFORM ai_scale._require_plain_default(manage_partitions.parent,
                                            ai_scale._default_partition(manage_partitions.parent));
    IF ai_scale._default_partition(manage_partitions.parent) IS NULL THEN
        PERFORM ai_scale._add_default_partition(manage_partitions.parent, nsp, rel,
                                                manage_partitions.inherit_privileges);
    END IF;
    PERFORM ai_scale._write_partition_config(manage_partitions.parent, partition_interval,
                                             premake, retention, retention_mode, cold_after,
                                             cold_tablespace, zone,
                                             manage_partitions.inherit_privileges);
    RETURN QUERY SELECT * FROM ai_scale._adopting_run(manage_partitions.parent);
    -- Without the preload no worker runs: said, or the partitions made ahead ran out unseen.
    IF NOT (ai_scale.build_info() ->> 'preloaded')::boolean THEN
        RAISE NOTICE 'no maintenance worker runs on this server: ai_scale is not in shared_preload_libraries'
            USING DETAIL = format('%s gets partitions made ahead, retention and rescues only '
                                  'from run_maintenance(); once the partitions made now are '
                                  'past, its rows go to the default partition.',
                                  manage_partitions.parent),
                  HINT = 'Schedule SELECT ai_scale.run_maintenance() (cron, pg_cron), or preload '
                         'ai_scale and list the database in ai_scale.maintenance_databases.';
    END IF;
END $$;
COMMENT ON FUNCTION ai_scale.manage_partitions(regclass, interval, int, interval, text, interval, name, text, boolean) IS
    'adopts a table range-partitioned on a timestamptz, timestamp or date column and maintains it';

CREATE FUNCTION ai_scale.unmanage_partitions(parent regclass) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
    AS $$
DECLARE
    marked regclass;
    pending regclass;
    step ai_scale._maintenance_action;
    caller_lock_timeout text := current_setting('lock_timeout');
BEGIN
    PERFORM ai_scale._require_primary('unmanage_partitions');
    PERFORM ai_scale._config(parent);
    -- After any maintenance run on the table in progress (a run waiting for it then finds the
    -- table no longer managed).
    PERFORM ai_scale._lock_for_maintenance_by_hand(parent, 'unmanage_partitions');
    PERFORM ai_scale._require_config_rights('{DELETE}', 'unmanage_partitions');
    DELETE FROM ai_scale.partition_config c WHERE c.parent = unmanage_partitions.parent;
    -- A detach left pending (the worker's DETACH ... CONCURRENTLY cut short: a crash, a cancel)
    -- is completed, as the next run would have: left so, its rows were read through the table
    -- no more and a row of its range found no partition, for good, since no run looks at an
    -- unmanaged table. With maintenance's short lock wait, and before the DDL below (see
    -- _finalize_detach); one not completed is a WARNING that says how to complete it.
    PERFORM set_config('lock_timeout', ai_scale._maintenance_lock_wait(caller_lock_timeout), true);
    FOR pending IN SELECT i.inhrelid::regclass FROM pg_inherits i
                    WHERE i.inhparent = unmanage_partitions.parent AND i.inhdetachpending
                    ORDER BY i.inhrelid LOOP
        BEGIN
            step := ai_scale._finalize_detach(parent, pending, NULL, by_run => false);
        EXCEPTION WHEN OTHERS THEN
            step := ('error', pending::text, SQLERRM)::ai_scale._maintenance_action;
        END;
        IF step.action IN ('skipped', 'error') THEN
            RAISE WARNING 'partition % of % is still pending detach', pending, parent
                USING DETAIL = step.detail,
                      HINT = format('Complete it with ALTER TABLE %s DETACH PARTITION %s FINALIZE. '
                                    'Until then its rows are not read through %s, and rows of '
                                    'its range have no partition.', parent, pending, parent);
        END IF;
    END LOOP;
    -- The index an interrupted rescue_default_proc left on the default partition
    -- (_make_rescue_index), which its next call or a run would have dropped: neither looks at an
    -- unmanaged table, and every insert into the default kept maintaining the index for good.
    -- Kept, with a WARNING, when its lock is not free in time.
    BEGIN
        PERFORM ai_scale._drop_rescue_index(parent);
    EXCEPTION WHEN lock_not_available THEN
        RAISE WARNING 'the index ai_scale built on the default partition of % stays: %',
                      parent, SQLERRM
            USING HINT = format('Drop it once no query reads the table: DROP INDEX %s;',
                                (SELECT string_agg(i.indexrelid::regclass::text, ', ')
                                   FROM pg_index i
                                  WHERE i.indrelid = ai_scale._default_partition_unlocked(parent)
                                    AND obj_description(i.indexrelid, 'pg_class')
                                        = ai_scale._rescue_index_comment()));
    END;
    PERFORM set_config('lock_timeout', caller_lock_timeout, true);
    -- The tables the worker detached to drop and did not drop (see _owed_drop_note) are kept,
    -- as the worker keeps one whose table is unmanaged during its detach: no run looks at
    -- them while the table is unmanaged, and one after it was managed again with the same
    -- retention dropped them. As the owner, whose tables they are (see _maintain).
    FOR marked IN SELECT m.rel FROM ai_scale._owed_drop_marked(parent) m LOOP
        PERFORM ai_scale._as_owner(parent, ai_scale._comment_statement(marked, NULL));
    END LOOP;
END $$;
COMMENT ON FUNCTION ai_scale.unmanage_partitions(regclass) IS
    'stops maintaining a table; its partitions and rows stay as they are';

-- Gives every partition of parent, at every level, exactly the parent's table-level grants
-- (revoking the others; the owner's rights stay), e.g. after grants on the parent changed.
-- Returns the partitions. The partitions of a partition partitioned itself, where its rows are,
-- kept their grants before: a role revoked on the parent still read them. And a run making
-- partitions meanwhile, which copies the parent's grants as they were when it read them, is
-- waited for (the table's maintenance lock): its partitions, not yet committed when this read
-- the list, kept a grant revoked on the parent before.
CREATE FUNCTION ai_scale.reapply_privileges(parent regclass) RETURNS SETOF regclass
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
    AS $$
DECLARE
    part regclass;
    part_owner oid;
    grantee oid;
    owner oid;
BEGIN
    PERFORM ai_scale._require_primary('reapply_privileges');
    PERFORM ai_scale._partition_key(parent);
    -- GRANT and REVOKE by a role that holds some privileges on a partition but not the owner's
    -- only warn and change nothing: say so plainly instead of returning the partitions as done.
    owner := (SELECT c.relowner FROM pg_class c WHERE c.oid = parent);
    IF NOT pg_has_role(owner, 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to reapply the privileges of %', parent
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Only the table''s owner (%s), its members and superusers may.',
                                  owner::regrole);
    END IF;
    PERFORM ai_scale._lock_for_maintenance_by_hand(parent, 'reapply_privileges');
    -- The same of each partition: one that belongs to a role whose rights the caller lacks would
    -- be returned as done, unchanged.
    SELECT p.oid::regclass, p.relowner INTO part, part_owner
      FROM pg_partition_tree(parent) t JOIN pg_class p ON p.oid = t.relid
     WHERE t.level > 0 AND NOT pg_has_role(p.relowner, 'USAGE')
     ORDER BY t.level, p.oid::regclass::text LIMIT 1;
    IF part IS NOT NULL THEN
        RAISE EXCEPTION 'permission denied to reapply the privileges of partition % of table %',
                        part, parent
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('It belongs to %s, whose rights %s lacks.', part_owner::regrole,
                                  current_user),
                  HINT = format('Give it to the table''s owner: ALTER TABLE %s OWNER TO %s;',
                                part, owner::regrole);
    END IF;
    FOR part IN SELECT t.relid FROM pg_partition_tree(parent) t
                 WHERE t.level > 0 ORDER BY t.level, t.relid::text
    LOOP
        FOR grantee IN SELECT DISTINCT a.grantee
                         FROM pg_class c, aclexplode(c.relacl) a
                        WHERE c.oid = part AND a.grantee <> c.relowner
        LOOP
            EXECUTE format('REVOKE ALL ON %s FROM %s CASCADE', part, ai_scale._grantee(grantee));
        END LOOP;
        PERFORM ai_scale._copy_grants(parent, part::text);
        RETURN NEXT part;
    END LOOP;
END $$;
COMMENT ON FUNCTION ai_scale.reapply_privileges(regclass) IS
    'gives every partition exactly the parent''s table-level grants; returns the partitions';

CREATE FUNCTION ai_scale.create_prediction_store(name text DEFAULT 'public.model_predictions',
                                                 partition_interval interval DEFAULT '1 day',
                                                 premake int DEFAULT 7,
                                                 retention interval DEFAULT NULL)
    RETURNS regclass
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
    AS $$
DECLARE
    parts text[];
    nsp text;
    rel text;
    tbl regclass;
    taken_index text;
BEGIN
    PERFORM ai_scale._require_primary('create_prediction_store');
    IF name IS NULL THEN
        RAISE EXCEPTION 'name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM ai_scale._check_config(partition_interval, premake, retention, 'drop', NULL);
    PERFORM ai_scale._require_config_rights('{INSERT,UPDATE}', 'create_prediction_store');
    -- A name parse_ident refuses (empty, a part missing, a space) is as invalid as one of
    -- three parts: 42602, not parse_ident's 22023.
    BEGIN
        parts := parse_ident(name);
    EXCEPTION WHEN invalid_parameter_value THEN
        RAISE EXCEPTION 'invalid table name "%"', name
            USING ERRCODE = 'invalid_name', DETAIL = SQLERRM || '.',
                  HINT = 'Write it as SQL does: a name, or schema.name, double-quoted where needed.';
    END;
    IF array_length(parts, 1) = 1 THEN
        nsp := 'public';
        rel := parts[1];
    ELSIF array_length(parts, 1) = 2 THEN
        nsp := parts[1];
        rel := parts[2];
    ELSE
        RAISE EXCEPTION 'invalid table name "%"', name USING ERRCODE = 'invalid_name';
    END IF;
    IF octet_length(rel) > 63 THEN
        RAISE EXCEPTION 'table name "%" is longer than 63 bytes', rel
            USING ERRCODE = 'name_too_long';
    END IF;
    -- (Not cut to 63 bytes, as a name would be: the store was made in the schema of the cut
    -- name, or 3F000 named a schema never written.)
    IF octet_length(nsp) > 63 THEN
        RAISE EXCEPTION 'schema name "%" is longer than 63 bytes', nsp
            USING ERRCODE = 'name_too_long';
    END IF;
    -- A table of the name (the quick start run again, e.g. after DROP EXTENSION, which keeps
    -- the store but forgets that it was managed): the hint says how to manage it. One made by
    -- another session whose transaction was still open (two deploys at once) was found by the
    -- unique index on the catalog's names once that committed: 23505 on pg_type's or pg_class's
    -- index, said as the same 42P07.
    BEGIN
        EXECUTE format($ddl$
            CREATE TABLE %I.%I (
                prediction_id uuid        NOT NULL DEFAULT gen_random_uuid(),
                model_name    text        NOT NULL,
                model_version int         NOT NULL,
                input_data    jsonb,
                output_data   jsonb,
                input_hash    bigint,
                created_at    timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (prediction_id, created_at)
            ) PARTITION BY RANGE (created_at)$ddl$, nsp, rel);
    EXCEPTION WHEN duplicate_table OR unique_violation THEN
        GET STACKED DIAGNOSTICS taken_index = CONSTRAINT_NAME;
        IF SQLSTATE = '23505'
           AND taken_index NOT IN ('pg_type_typname_nsp_index', 'pg_class_relname_nsp_index') THEN
            RAISE;
        END IF;
        tbl := to_regclass(format('%I.%I', nsp, rel));
        RAISE EXCEPTION '%', CASE WHEN SQLSTATE = '23505'
                                  THEN format('relation "%s" already exists', rel)
                                  ELSE SQLERRM END
            USING ERRCODE = 'duplicate_table',
                  HINT = CASE
                      WHEN tbl IS NULL OR NOT EXISTS (SELECT 1 FROM pg_partitioned_table p
                                                       WHERE p.partrelid = tbl
                                                         AND p.partstrat = 'r')
                          THEN 'Choose another name.'
                      WHEN EXISTS (SELECT 1 FROM ai_scale.partition_config c
                                    WHERE c.parent = tbl)
                          THEN format('Table %s is managed already: ai_scale.partitions(%L) '
                                      'lists its partitions.', tbl, tbl::text)
                      ELSE format('To manage an existing range-partitioned table, call '
                                  'ai_scale.manage_partitions(%L, %L, premake => %s%s).',
                                  tbl::text, partition_interval, premake,
                                  CASE WHEN retention IS NOT NULL
                                       THEN format(', retention => %L', retention) END)
                  END;
    END;
    tbl := format('%I.%I', nsp, rel)::regclass;
    EXECUTE format('CREATE INDEX ON %s (model_name, model_version, input_hash, created_at)', tbl);
    PERFORM ai_scale.manage_partitions(tbl, partition_interval, premake, retention);
    RETURN tbl;
END $$;
COMMENT ON FUNCTION ai_scale.create_prediction_store(text, interval, int, interval) IS
    'creates the prediction table, range-partitioned on created_at (daily by default), and manages it';

CREATE FUNCTION ai_scale.partitions(parent regclass)
    RETURNS TABLE (partition regclass, lower text, upper text, tier text, tablespace name,
                   rows_estimate bigint, bytes bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
    AS $$
DECLARE
    k record;
    zone text;
    cold name;
    -- The tablespace of a table whose reltablespace is 0.
    dflt_space name := (SELECT d.spcname FROM pg_database db
                          JOIN pg_tablespace d ON d.oid = db.dattablespace
                         WHERE db.datname = current_database());
    -- Partitions a DETACH ... CONCURRENTLY left pending (interrupted, or still waiting): new
    -- queries no longer see them, and a row of their range finds no partition, yet their
    -- bounds are still there. Shown as hot, such a partition hid why inserts into its range
    -- failed.
    pending oid[] := '{}';
BEGIN
    k := ai_scale._partition_key(parent);
    IF ai_scale._detach_pending(parent) THEN
        pending := ARRAY(SELECT i.inhrelid FROM pg_inherits i
                          WHERE i.inhparent = parent AND i.inhdetachpending);
    END IF;
    SELECT c.time_zone, c.cold_tablespace INTO zone, cold
      FROM ai_scale.partition_config c WHERE c.parent = partitions.parent;
    zone := coalesce(zone, ai_scale._setting('ai_scale.partition_time_zone'));
    -- A timestamptz bound is shown as the instant it is (read as a UTC wall-clock time): read
    -- in the table's zone, one in the first pass of a local hour that a fall-back change
    -- repeats came back as the second pass, an hour off.
    IF k.key_type = 'timestamptz'::regtype THEN
        zone := 'UTC';
    END IF;
    RETURN QUERY
    SELECT b.partition,
           CASE WHEN b.is_default THEN NULL ELSE coalesce(ai_scale._bound_text(b.lower, k.key_type, zone), 'MINVALUE') END,
           CASE WHEN b.is_default THEN NULL ELSE coalesce(ai_scale._bound_text(b.upper, k.key_type, zone), 'MAXVALUE') END,
           CASE WHEN b.is_default THEN 'default'
                WHEN b.partition::oid = ANY (pending) THEN 'detach pending'
                -- Its rows are on its server: no tablespace of this one holds them.
                WHEN c.relkind = 'f' THEN 'foreign'
                WHEN cold IS NOT NULL AND coalesce(t.spcname, dflt_space) = cold THEN 'cold'
                ELSE 'hot' END,
           CASE WHEN c.relkind = 'f' THEN NULL ELSE coalesce(t.spcname, dflt_space) END,
           CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END,
           -- A partition partitioned itself keeps its rows in its own partitions (its size is 0).
           CASE WHEN c.relkind = 'p'
                THEN (SELECT sum(pg_total_relation_size(l.relid))::bigint
                        FROM pg_partition_tree(b.partition) l)
                ELSE pg_total_relation_size(b.partition) END
      FROM ai_scale._bounds(parent, zone) b
      -- (As it is now, as the bounds are: see _pg_class_now.)
      JOIN LATERAL ai_scale._pg_class_now(b.partition) c ON true
      LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
     ORDER BY b.is_default, b.lower NULLS FIRST;
END $$;
COMMENT ON FUNCTION ai_scale.partitions(regclass) IS
    'each partition of a table: bounds, tier, tablespace, estimated rows and bytes, by bound';

-- Nothing here runs with elevated rights: maintenance does only the DDL its caller may do
-- (table owners). Who may register tables is decided by privileges on partition_config, which
-- everyone may read and only its owner (the superuser who created the extension) may change
-- unless they grant it; and a role granted that may still change only the rows of tables it
-- owns (or whose owner it is a member of), since maintenance acts on them with the rights of
-- whoever runs it, often the worker's superuser.
GRANT SELECT ON ai_scale.partition_config TO PUBLIC;

CREATE FUNCTION ai_scale._check_config_owner() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    rel regclass;
    owner oid;
    persistence "char";
BEGIN
    -- A row written for a table must name one that exists now, and lasts until a DROP forgets
    -- its row: one for an OID no table has, or for a temporary table (gone at the end of its
    -- session with no event to forget it by), would manage whichever table is made with that
    -- OID later, another role's, with the settings (retention) of whoever wrote the row.
    -- (A null parent is left to the column's NOT NULL.)
    IF TG_OP <> 'DELETE' AND NEW.parent IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.parent <> OLD.parent) THEN
        persistence := ai_scale._lock_config_parent(NEW.parent);
        IF persistence IS NULL THEN
            RAISE EXCEPTION 'relation with OID % does not exist', NEW.parent::oid
                USING ERRCODE = 'undefined_table';
        ELSIF persistence = 't' THEN
            RAISE EXCEPTION 'cannot manage temporary table %', NEW.parent
                USING ERRCODE = 'feature_not_supported';
        END IF;
    END IF;
    FOREACH rel IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW.parent]
                                    WHEN 'DELETE' THEN ARRAY[OLD.parent]
                                    ELSE ARRAY[OLD.parent, NEW.parent] END
    LOOP
        -- No owner: the table is being dropped (see _forget_dropped_tables).
        owner := (SELECT c.relowner FROM pg_class c WHERE c.oid = rel);
        IF owner IS NOT NULL AND NOT pg_has_role(owner, 'USAGE') THEN
            RAISE EXCEPTION 'permission denied to manage the partitions of %', rel
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('Only the table''s owner (%s), its members and superusers '
                                      'may change its row in ai_scale.partition_config.',
                                      owner::regrole);
        END IF;
    END LOOP;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER partition_config_owner BEFORE INSERT OR UPDATE OR DELETE
    ON ai_scale.partition_config FOR EACH ROW EXECUTE FUNCTION ai_scale._check_config_owner();
-- Also under session_replication_role = replica, which fires only triggers enabled ALWAYS or
-- REPLICA (as does the event trigger below): a session set so is no reason to skip the check.
ALTER TABLE ai_scale.partition_config ENABLE ALWAYS TRIGGER partition_config_owner;
-- Not to be put on other tables (see _models_changed): on a table with a parent column of its
-- choosing, a role with TRIGGER had it lock that table as the owner.
REVOKE EXECUTE ON FUNCTION ai_scale._check_config_owner() FROM PUBLIC;

-- A managed table that is dropped leaves no config row behind. The one function here that
-- runs with its owner's rights (the superuser who created the extension): the event trigger
-- fires on every DROP in the database, by any role, and a role that may drop a table need
-- not be allowed to write partition_config; Postgres checks that right even when no row
-- matches, so without it every DROP by such a role would fail. It deletes only the rows of
-- tables being dropped, and an event trigger function cannot be called directly.
CREATE FUNCTION ai_scale._forget_dropped_tables() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM ai_scale.partition_config c
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.parent::oid
       AND d.objsubid = 0; -- not a column of it
END $$;
REVOKE EXECUTE ON FUNCTION ai_scale._forget_dropped_tables() FROM PUBLIC;
CREATE EVENT TRIGGER ai_scale_forget_dropped_tables ON sql_drop
    EXECUTE FUNCTION ai_scale._forget_dropped_tables();
-- A table dropped under session_replication_role = replica is forgotten too.
ALTER EVENT TRIGGER ai_scale_forget_dropped_tables ENABLE ALWAYS;
