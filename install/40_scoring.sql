-- Scoring: the model catalog and the functions that score JSONB inputs with its models.

CREATE TABLE ai_scale.models (
    model_name    text        NOT NULL CHECK (model_name <> ''),
    model_version int         NOT NULL CHECK (model_version > 0),
    kind          text        NOT NULL CHECK (kind IN ('linear', 'logistic', 'mlp', 'gbdt')),
    features      text[]      NOT NULL,
    params        jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    active        boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (model_name, model_version)
);
CREATE UNIQUE INDEX models_one_active ON ai_scale.models (model_name) WHERE active;
-- For the hint of an unknown model's error (_unknown_model_hint), which looks for the name in
-- other letter case: without it, every such error read the whole catalog (1.4 s at a million
-- versions, 15 ms with it), a cost paid by each call that names a model not registered.
CREATE INDEX models_name_lower ON ai_scale.models (pg_catalog.lower(model_name));
COMMENT ON TABLE ai_scale.models IS
    'registered models: one row per version; score() uses the active version unless told otherwise';
SELECT pg_catalog.pg_extension_config_dump('ai_scale.models', '');

-- The highest version ever given to each model name. Versions are never given twice, even
-- after drop_model: the cache and the prediction store key outputs by name and version, so a
-- reused number would serve the dropped model's predictions as the new one's.
CREATE TABLE ai_scale.model_last_versions (
    model_name   text PRIMARY KEY,
    last_version int  NOT NULL CHECK (last_version > 0)
);
COMMENT ON TABLE ai_scale.model_last_versions IS
    'the highest version given to each model name; dropped versions are not given again';
SELECT pg_catalog.pg_extension_config_dump('ai_scale.model_last_versions', '');

-- Backends cache compiled models; any change to the catalog tells them to drop their copies.
CREATE FUNCTION ai_scale._models_changed() RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_models_changed';
CREATE TRIGGER models_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ai_scale.models
    FOR EACH STATEMENT EXECUTE FUNCTION ai_scale._models_changed();
-- Also for a change under session_replication_role = replica (a logical replication apply
-- worker writing the catalog, say), which fires only triggers enabled ALWAYS or REPLICA.
ALTER TABLE ai_scale.models ENABLE ALWAYS TRIGGER models_changed;
-- Not to be put on other tables: a role with TRIGGER on a prediction store put
-- _models_inserted there, and maintenance moving the store's rows ran it as the owner,
-- invalidating any model's cached outputs past the registration right it lacks. A trigger's
-- function is checked for EXECUTE when the trigger is made, not when it fires.
REVOKE EXECUTE ON FUNCTION ai_scale._models_changed() FROM PUBLIC;

-- STABLE, not IMMUTABLE: both check the caller's INSERT right on ai_scale.models first, which a
-- plan that folded an IMMUTABLE call with constant arguments kept for any later role.
CREATE FUNCTION ai_scale._validate_model(kind text, features text[], params jsonb) RETURNS void
    LANGUAGE c STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_validate_model';

CREATE FUNCTION ai_scale._xgboost_params(model jsonb) RETURNS jsonb
    LANGUAGE c STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_xgboost_params';

-- Makes what the cache holds under a version number just given unreachable
-- (src/scoring/registration_sql.cpp says why); for roles with INSERT on ai_scale.models.
CREATE FUNCTION ai_scale._version_registered(model text, version int) RETURNS void
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_version_registered';

-- Every version written to the catalog, by register_model or otherwise (a pg_restore of another
-- database's dump, whose versions may have the numbers of different models here, or a direct
-- INSERT), makes what the cache holds under its number unreachable: the cache keys outputs by
-- database, name and version, and keeps them across DROP EXTENSION and pg_restore --clean.
CREATE FUNCTION ai_scale._models_inserted() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM ai_scale._version_registered(NEW.model_name, NEW.model_version);
    RETURN NULL;
END $$;
CREATE TRIGGER models_inserted
    AFTER INSERT ON ai_scale.models
    FOR EACH ROW EXECUTE FUNCTION ai_scale._models_inserted();
ALTER TABLE ai_scale.models ENABLE ALWAYS TRIGGER models_inserted; -- as models_changed
REVOKE EXECUTE ON FUNCTION ai_scale._models_inserted() FROM PUBLIC; -- as _models_changed

-- The highest version of model in store, null when none; as its owner (for a caller with the
-- owner's rights, in a security-restricted operation) or as the caller. A store partitioned by
-- range on created_at is read about 64 partitions at a time, each window's locks let go before
-- the next: one query locked every partition and its indexes until the registration ended, and
-- failed with "out of shared memory" past what the lock table holds
-- (src/scoring/store_highest_version.cpp). Each window is planned with its bounds, which
-- planning prunes by: a session's plan_cache_mode = force_generic_plan or
-- enable_partition_pruning = off planned each over every partition (14 s, against 0.34, for a
-- new name at 1,502 partitions), hence the settings pinned. jit off here and in the entry points
-- of partition maintenance: their queries are small, and with a session's low jit_above_cost
-- each was compiled at every call (seconds a run); force_parallel_mode off too: with a
-- database's force_parallel_mode = on each of them started a parallel worker (a run over 236
-- tables 22-36 s against 0.6-1.2).
CREATE FUNCTION ai_scale._store_highest_version(store regclass, model text, as_owner boolean)
    RETURNS int
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    SET row_security = off
    SET plan_cache_mode = auto
    SET enable_partition_pruning = on
    SET jit = off
    SET force_parallel_mode = off
    AS 'MODULE_PATHNAME', 'ai_scale_store_highest_version';

-- The type of rel's column col, or the base type of the domain (of a domain...) it is; NULL
-- without such a column. For _store_last_version: a store whose model_version is a domain over
-- an integer type, or model_name one over text, was not looked in, and a name was numbered 1
-- again beside the store's versions.
CREATE FUNCTION ai_scale._column_base_type(rel regclass, col name) RETURNS regtype
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH RECURSIVE chain(type, base, kind) AS (
        SELECT t.oid, t.typbasetype, t.typtype
          FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT t.oid, t.typbasetype, t.typtype FROM chain c JOIN pg_type t ON t.oid = c.base
         WHERE c.kind = 'd')
    SELECT type::regtype FROM chain WHERE kind <> 'd'
$$;

-- The highest version of a model in the prediction stores; 0 when there is none the caller
-- may read. model_last_versions does not outlive the extension, the stores do: after DROP
-- EXTENSION and CREATE EXTENSION, numbering from 1 again would give a new model the number of
-- a dropped one whose outputs are still in a store, and L3 would serve them as the new one's.
-- The stores are those ai_scale.store_table names: the session's, the server's (its default,
-- postgresql.conf's where the caller may read it), and each role's and database's (ALTER ROLE /
-- DATABASE ... SET, which only a superuser may set), not the registering session's alone (test
-- sql/extension), resolved as the setting is (_store_named), of the store's column types (a
-- model_name of another type compared with text would run its cast). Read as the store's
-- owner where the caller has the owner's rights, as maintenance reads a table: planning the
-- query folds the constant parts of the store's index expressions, code of the owner's, which
-- ran as the registering superuser (docs/cache.md, Security); otherwise as the caller, as its
-- L3 lookups read it; a store with a table under it of a role without its owner's rights (whose
-- code the read would run as the owner) is not read, and the registration refused (42501): a
-- WARNING numbered the name without it, and once numbered, a name's next versions are not
-- looked for in the store again, so the store's earlier outputs of those numbers were answered
-- as the new versions' even after its tables were given back. With row_security off: a
-- store a policy would filter for the reader is not read. Any table with the store's columns
-- was read once: its owner's code ran as whoever registered, a value in it that was no version
-- failed the registration, and a lock on it held every registration. A partitioned store is
-- read a window of partitions at a time (_store_highest_version).
CREATE FUNCTION ai_scale._store_last_version(model text) RETURNS int
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    SET row_security = off
AS $$
DECLARE
    names text[];
    named text;
    store regclass;
    rel record; -- the store's pg_class row, with whether its owner bypasses row-level security
    found int;
    highest int := 0;
    name_type regtype;
    version_type regtype;
    untrusted regclass; -- a store not read, with the refusal's message and hint
    untrusted_message text;
    untrusted_hint text;
BEGIN
    names := ARRAY(
        SELECT current_setting('ai_scale.store_table', true)
        UNION
        SELECT unnest(ARRAY[s.reset_val, s.boot_val])
          FROM pg_settings s WHERE s.name = 'ai_scale.store_table'
        UNION
        SELECT substr(c, length('ai_scale.store_table=') + 1)
          FROM pg_db_role_setting d, unnest(d.setconfig) c
         WHERE d.setdatabase IN (0, (SELECT oid FROM pg_database
                                      WHERE datname = current_database()))
           AND starts_with(c, 'ai_scale.store_table='));
    -- Asked, not caught: under exit_on_error the refusal ended the session. (A superuser
    -- reads the files' settings, or a role granted both, the columns read at least;
    -- pg_read_all_settings does not.)
    IF has_column_privilege('pg_catalog.pg_file_settings', 'name', 'SELECT')
       AND has_column_privilege('pg_catalog.pg_file_settings', 'setting', 'SELECT')
       AND has_column_privilege('pg_catalog.pg_file_settings', 'error', 'SELECT')
       AND has_function_privilege('pg_catalog.pg_show_all_file_settings()', 'EXECUTE') THEN
        names := names || ARRAY(SELECT f.setting FROM pg_file_settings f
                                 WHERE f.name = 'ai_scale.store_table' AND f.error IS NULL);
    END IF;
    FOR named IN SELECT DISTINCT n FROM unnest(names) n WHERE n <> '' LOOP
        BEGIN
            store := ai_scale._store_named(named);
            CONTINUE WHEN store IS NULL;
            name_type := ai_scale._column_base_type(store, 'model_name');
            version_type := ai_scale._column_base_type(store, 'model_version');
            CONTINUE WHEN name_type IS NULL OR version_type IS NULL;
            -- Another type (citext, name, numeric, oid), which L3 reads all the same, is not
            -- read here (its comparison with text would run its own code): said, as the
            -- name's number may then be one whose outputs the store still holds.
            IF name_type NOT IN ('text'::regtype, 'varchar'::regtype)
               OR version_type NOT IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) THEN
                RAISE WARNING 'prediction store % was not looked in for the versions of model "%"',
                              store, model
                    USING DETAIL = format('Its model_name is %s and its model_version %s; '
                                          'register_model reads text or varchar names and '
                                          'smallint, integer or bigint versions. Should it hold '
                                          'outputs of an earlier model of this name and number '
                                          '(one registered before DROP EXTENSION, say), L3 '
                                          'answers them as this one''s.',
                                          name_type, version_type),
                          HINT = 'Make model_name text and model_version integer, or delete '
                                 'the earlier rows of this name.';
                CONTINUE;
            END IF;
            -- What would fail the query is asked first, not caught: under exit_on_error any
            -- error ends the session (another session's temporary table, 0A000; a reader whose
            -- rows a policy would filter, 42501 with row_security off; a schema it may not use).
            SELECT c.relnamespace, c.relowner, c.relrowsecurity, c.relforcerowsecurity,
                   r.rolbypassrls OR r.rolsuper AS owner_bypasses_rls
              INTO rel
              FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = store;
            CONTINUE WHEN pg_is_other_temp_schema(rel.relnamespace);
            IF pg_has_role(rel.relowner, 'USAGE') THEN
                -- (As the owner: its rights, and FORCE ROW LEVEL SECURITY with RLS on.)
                CONTINUE WHEN NOT has_schema_privilege(rel.relowner, rel.relnamespace, 'USAGE')
                              OR NOT has_table_privilege(rel.relowner, store, 'SELECT')
                              OR (rel.relrowsecurity AND rel.relforcerowsecurity
                                  AND NOT rel.owner_bypasses_rls);
                BEGIN
                    found := ai_scale._store_highest_version(store, model, true);
                EXCEPTION WHEN insufficient_privilege THEN
                    -- A table under the store that its owner does not trust (owned by a role
                    -- without its rights), whose code the read would run as the owner: the
                    -- registration is refused after the loop (the handler around this block
                    -- would catch the refusal raised here).
                    GET STACKED DIAGNOSTICS untrusted_message = MESSAGE_TEXT,
                                            untrusted_hint = PG_EXCEPTION_HINT;
                    untrusted := store;
                    CONTINUE;
                END;
            ELSIF has_table_privilege(store, 'SELECT')
                  AND has_schema_privilege(rel.relnamespace, 'USAGE')
                  AND NOT row_security_active(store) THEN
                found := ai_scale._store_highest_version(store, model, false);
            ELSE
                CONTINUE;
            END IF;
            highest := greatest(highest, found);
        EXCEPTION WHEN invalid_name OR insufficient_privilege OR feature_not_supported THEN
            -- A setting no store name can be (one stored by ALTER ROLE while the library was
            -- not loaded, unchecked): not looked in; nor, should one change between the
            -- questions above and the read, a store they would have left out.
            NULL;
        END;
    END LOOP;
    IF untrusted IS NOT NULL THEN
        RAISE EXCEPTION 'prediction store % cannot be looked in for the versions of model "%"',
                        untrusted, model
            USING ERRCODE = '42501',
                  DETAIL = untrusted_message || '. It may hold outputs of an earlier model of '
                           'this name and number (one registered before DROP EXTENSION, say), '
                           'which L3 would answer as the new version''s.',
                  HINT = untrusted_hint;
    END IF;
    RETURN highest;
END
$$;

-- The check of a model name that register_model, import_xgboost and drop_model make first.
-- A name registered is at most 1024 bytes: predict() stores it in the store's lookup index,
-- whose entries Postgres limits to about 2.7 kB, and a name of that size registered but failed
-- every predict() with 54000. drop_model takes any name, to drop one registered before.
CREATE FUNCTION ai_scale._require_model_name(name text, registering boolean DEFAULT false)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'model name must not be null' USING ERRCODE = '22004';
    END IF;
    IF name = '' THEN
        RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = '22023';
    END IF;
    IF registering AND octet_length(name) > 1024 THEN
        RAISE EXCEPTION 'model name is too long'
            USING ERRCODE = '22001',
                  DETAIL = format('It is %s bytes; a model name may have 1024 at most.',
                                  octet_length(name)),
                  HINT = 'The prediction store indexes the name with each prediction.';
    END IF;
END $$;

-- The rights a registration uses, checked before anything is parsed or written: INSERT and
-- UPDATE on ai_scale.models (it locks the catalog SHARE ROW EXCLUSIVE, and clears the active
-- flag of the other versions) and on ai_scale.model_last_versions (the numbering). The model
-- helpers check INSERT on models alone; a role with that right and no other passed them and
-- met Postgres's "permission denied for table models", with no word of what to grant.
CREATE FUNCTION ai_scale._require_register_rights() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t regclass;
    lacks text[];
    missing text[];
    grants text[];
BEGIN
    FOREACH t IN ARRAY ARRAY['ai_scale.models', 'ai_scale.model_last_versions']::regclass[] LOOP
        SELECT array_agg(r ORDER BY o) INTO lacks
          FROM unnest(ARRAY['INSERT', 'UPDATE']) WITH ORDINALITY AS x(r, o)
         WHERE NOT has_table_privilege(t, r);
        IF lacks IS NOT NULL THEN
            missing := missing || format('%s on %s', array_to_string(lacks, ', '), t);
            grants := grants || format('GRANT %s ON %s TO %s;', array_to_string(lacks, ', '), t,
                                       quote_ident(current_user));
        END IF;
    END LOOP;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'permission denied to register models'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Registering models needs INSERT and UPDATE on ai_scale.models '
                                  'and ai_scale.model_last_versions; role %s lacks %s.',
                                  quote_ident(current_user), array_to_string(missing, ' and ')),
                  HINT = format('The owner of ai_scale.models can grant them: %s',
                                array_to_string(grants, ' '));
    END IF;
END $$;

CREATE FUNCTION ai_scale.register_model(name text, kind text, features text[], params jsonb,
                                        activate boolean DEFAULT true)
    RETURNS int
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
AS $$
DECLARE
    new_version int;
BEGIN
    PERFORM ai_scale._require_primary('register_model');
    PERFORM ai_scale._require_model_name(name, true);
    PERFORM ai_scale._require_register_rights();
    IF activate IS NULL THEN
        RAISE EXCEPTION 'activate must not be null' USING ERRCODE = '22004';
    END IF;
    -- Everything is checked before anything is written.
    PERFORM ai_scale._validate_model(kind, features, params);
    -- One registration at a time, so versions never collide; one past the highest ever given
    -- (a dropped version's number is not given again) or present (a row restored by hand).
    -- The first registration of a name also looks in the prediction store, which may hold
    -- the outputs of versions given before the extension was dropped and created again; later
    -- ones need not (the store's versions were given here, and are recorded as given).
    LOCK TABLE ai_scale.models IN SHARE ROW EXCLUSIVE MODE;
    SELECT l.last_version INTO new_version
      FROM ai_scale.model_last_versions l WHERE l.model_name = name;
    IF NOT FOUND THEN
        new_version := ai_scale._store_last_version(name);
    END IF;
    SELECT greatest(coalesce(max(m.model_version), 0), new_version)
      INTO new_version
      FROM ai_scale.models m WHERE m.model_name = name;
    -- (Its + 1 failed with "integer out of range" alone.)
    IF new_version >= 2147483647 THEN
        RAISE EXCEPTION 'model "%" has no version numbers left', name
            USING ERRCODE = 'sequence_generator_limit_exceeded',
                  DETAIL = 'Version 2147483647, the highest an int may be, was given already (or '
                           'is in a prediction store).',
                  HINT = 'Register the model under another name.';
    END IF;
    new_version := new_version + 1;
    INSERT INTO ai_scale.model_last_versions AS l (model_name, last_version)
        VALUES (name, new_version)
        ON CONFLICT (model_name) DO UPDATE SET last_version = EXCLUDED.last_version;
    IF activate THEN
        UPDATE ai_scale.models m SET active = false WHERE m.model_name = name AND m.active;
    END IF;
    -- Stored from subscript 1 (as array_to_json reads it anyway), so that features[1] in the
    -- catalog is the first feature for an array given as '[0:1]={a,b}' too.
    INSERT INTO ai_scale.models (model_name, model_version, kind, features, params, active)
        VALUES (name, new_version, kind, ARRAY(SELECT unnest(features)), params, activate);
    -- A registration rolled back gives its number again, and what was cached under it then
    -- (cache fills are not transactional) must not answer for this model: the insert's
    -- trigger (models_inserted) makes it unreachable.
    RETURN new_version;
END
$$;
COMMENT ON FUNCTION ai_scale.register_model(text, text, text[], jsonb, boolean) IS
    'validates and stores a new version of a model (linear, logistic, mlp or gbdt); returns its version';

CREATE FUNCTION ai_scale.import_xgboost(name text, model jsonb, features text[] DEFAULT NULL,
                                        activate boolean DEFAULT true)
    RETURNS int
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET force_parallel_mode = off
AS $$
DECLARE
    imported jsonb;
    names text[];
BEGIN
    PERFORM ai_scale._require_primary('import_xgboost');
    -- The name first, as register_model checks it: not after reading a dump of any size, nor
    -- as an invalid model (22023) when the dump is bad too.
    PERFORM ai_scale._require_model_name(name, true);
    PERFORM ai_scale._require_register_rights();
    imported := ai_scale._xgboost_params(model);
    names := ARRAY(SELECT jsonb_array_elements_text(imported -> 'features'));
    IF features IS NOT NULL THEN
        IF cardinality(features) <> cardinality(names) THEN
            RAISE EXCEPTION 'the XGBoost model has % features, but % names were given',
                cardinality(names), cardinality(features)
                USING ERRCODE = '22023';
        END IF;
        names := features;
    END IF;
    RETURN ai_scale.register_model(name, 'gbdt', names, imported -> 'params', activate);
END
$$;
COMMENT ON FUNCTION ai_scale.import_xgboost(text, jsonb, text[], boolean) IS
    'registers an XGBoost JSON model dump (Booster.save_model) as a new gbdt version; returns its version';

-- The hint of "model ... does not exist": model names are compared as written, and a name
-- that differs from a registered one only in case ('Churn' for 'churn') is the usual slip, not
-- a model to register. Used by set_active_version, drop_model and (from C) every scoring and
-- predict function.
CREATE FUNCTION ai_scale._unknown_model_hint(name text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT format('Model names are case-sensitive: perhaps you meant "%s".',
                       m.model_name)
           FROM ai_scale.models m
          WHERE lower(m.model_name) = lower(name) AND m.model_name <> name
          ORDER BY m.model_name LIMIT 1),
        'Register it with ai_scale.register_model() or ai_scale.import_xgboost().')
$$;

-- Refuses a version below 1 (22023, as the scoring functions do); null passes.
CREATE FUNCTION ai_scale._require_positive_version(version int) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF version < 1 THEN
        RAISE EXCEPTION 'model version must be positive'
            USING ERRCODE = '22023', DETAIL = format('The version given was %s.', version);
    END IF;
END
$$;

-- Refuses a role without the right (UPDATE, DELETE) on ai_scale.models that fn needs
-- (_require_table_rights), as register_model refuses one without INSERT, rather than letting
-- the statement that needs it fail first (the LOCK TABLE, the DELETE) with "permission denied
-- for table models".
CREATE FUNCTION ai_scale._require_models_right(model_right text, fn text) RETURNS void
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ai_scale._require_table_rights(
        'ai_scale.models', ARRAY[model_right], fn,
        format('The owner of ai_scale.models can grant it with GRANT %s ON ai_scale.models TO %s.',
               model_right, quote_ident(current_user)))
$$;

CREATE FUNCTION ai_scale.set_active_version(name text, version int) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ai_scale._require_primary('set_active_version');
    IF name IS NULL OR version IS NULL THEN
        RAISE EXCEPTION 'model name and version must not be null' USING ERRCODE = '22004';
    END IF;
    IF name = '' THEN
        RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = '22023';
    END IF;
    PERFORM ai_scale._require_positive_version(version);
    PERFORM ai_scale._require_models_right('UPDATE', 'set_active_version');
    LOCK TABLE ai_scale.models IN SHARE ROW EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT 1 FROM ai_scale.models m WHERE m.model_name = name) THEN
        RAISE EXCEPTION 'model "%" does not exist', name
            USING ERRCODE = '42704', HINT = ai_scale._unknown_model_hint(name);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ai_scale.models m
                   WHERE m.model_name = name AND m.model_version = version) THEN
        RAISE EXCEPTION 'model "%" has no version %', name, version USING ERRCODE = '42704';
    END IF;
    UPDATE ai_scale.models m SET active = false
        WHERE m.model_name = name AND m.active AND m.model_version <> version;
    UPDATE ai_scale.models m SET active = true
        WHERE m.model_name = name AND m.model_version = version AND NOT m.active;
END
$$;
COMMENT ON FUNCTION ai_scale.set_active_version(text, int) IS
    'makes a registered version the one score() and predict() use when none is named';

-- Drops one version of a model (version), or every version (version NULL): returns the versions
-- dropped. For drop_model(name) and drop_model(name, version).
CREATE FUNCTION ai_scale._drop_model(name text, version int) RETURNS int
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dropped int;
BEGIN
    PERFORM ai_scale._require_primary('drop_model');
    PERFORM ai_scale._require_model_name(name);
    PERFORM ai_scale._require_positive_version(version);
    PERFORM ai_scale._require_models_right('DELETE', 'drop_model');
    DELETE FROM ai_scale.models m
        WHERE m.model_name = name AND (version IS NULL OR m.model_version = version);
    GET DIAGNOSTICS dropped = ROW_COUNT;
    IF dropped = 0 THEN
        IF version IS NULL
           OR NOT EXISTS (SELECT 1 FROM ai_scale.models m WHERE m.model_name = name) THEN
            RAISE EXCEPTION 'model "%" does not exist', name
                USING ERRCODE = '42704', HINT = ai_scale._unknown_model_hint(name);
        END IF;
        RAISE EXCEPTION 'model "%" has no version %', name, version USING ERRCODE = '42704';
    END IF;
    RETURN dropped;
END
$$;

CREATE FUNCTION ai_scale.drop_model(name text) RETURNS int
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT ai_scale._drop_model(name, NULL) $$;
COMMENT ON FUNCTION ai_scale.drop_model(text) IS
    'drops every version of a model; returns how many';

-- A null version is refused, not taken as every version: a clean-up query whose subquery for
-- the version found none dropped the whole model, its active version too.
CREATE FUNCTION ai_scale.drop_model(name text, version int) RETURNS int
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ai_scale._require_model_name(name);
    IF version IS NULL THEN
        RAISE EXCEPTION 'version must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = format('drop_model(%L) drops every version of the model.', name);
    END IF;
    RETURN ai_scale._drop_model(name, version);
END
$$;
COMMENT ON FUNCTION ai_scale.drop_model(text, int) IS
    'drops one version of a model; returns 1';

-- score, score_multi and score_batched run once per row, so they carry no SET search_path
-- clause (applying it costs more than scoring a row: with it, score() ran at 2.5x the speed
-- of pure SQL instead of 5.6x). They resolve no names from the search path, and read the
-- catalog under search_path = pg_catalog, pg_temp, set in C for that read only.
-- score and score_multi are COST 20, in the planner's unit of one operator (such as ->>): a
-- lookup of each feature in the input, then the model's arithmetic (a 2-feature linear model
-- costs about 1, a 32-feature mlp with 128 hidden units about 20, a large gbdt more). Above 10
-- the planner evaluates them after a sort that a LIMIT cuts short, and after cheaper filters:
-- at the default COST 1, ORDER BY ... LIMIT 3 scored every row (sql/planner_costs.sql).
CREATE FUNCTION ai_scale.score(model text, input jsonb, version int DEFAULT NULL)
    RETURNS float8
    LANGUAGE c STABLE PARALLEL SAFE COST 20
    AS 'MODULE_PATHNAME', 'ai_scale_score';
COMMENT ON FUNCTION ai_scale.score(text, jsonb, int) IS
    'scores one jsonb object with a model (its active version unless version is given)';

CREATE FUNCTION ai_scale.score_multi(model text, input jsonb, version int DEFAULT NULL)
    RETURNS float8[]
    LANGUAGE c STABLE PARALLEL SAFE COST 20
    AS 'MODULE_PATHNAME', 'ai_scale_score_multi';
COMMENT ON FUNCTION ai_scale.score_multi(text, jsonb, int) IS
    'every output of a model (e.g. an mlp with several output units) for one jsonb object';

-- A batch costs what its rows cost, and COST cannot say how many there are: COST 100 (five
-- rows at score's 20) puts a call after cheaper filters and after a sort that a LIMIT cuts
-- short, as for score; at COST 1, ORDER BY id LIMIT 2 over a table of arrays scored all.
CREATE FUNCTION ai_scale.score_batch(model text, inputs jsonb[], version int DEFAULT NULL)
    RETURNS float8[]
    LANGUAGE c STABLE PARALLEL SAFE COST 100
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_score_batch';
COMMENT ON FUNCTION ai_scale.score_batch(text, jsonb[], int) IS
    'scores an array of jsonb objects in one batch; a null element scores as null';

-- Every output of each element: a two-dimensional answer, a row an element (the inputs'
-- subscripts) and a column an output (from 1); a null element gives a row of nulls.
CREATE FUNCTION ai_scale.score_multi_batch(model text, inputs jsonb[], version int DEFAULT NULL)
    RETURNS float8[]
    LANGUAGE c STABLE PARALLEL SAFE COST 100
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_score_multi_batch';
COMMENT ON FUNCTION ai_scale.score_multi_batch(text, jsonb[], int) IS
    'every output of a model for each of an array of jsonb objects, in one batch: row i holds inputs[i]''s outputs; a null element gives a row of nulls';

CREATE FUNCTION ai_scale.score_batched(model text, input jsonb, version int DEFAULT NULL)
    RETURNS float8
    LANGUAGE c WINDOW STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ai_scale_score_batched';
COMMENT ON FUNCTION ai_scale.score_batched(text, jsonb, int) IS
    'window function: score_batched(model, input) OVER () scores a query''s rows in batches of ai_scale.score_batch_rows';

GRANT SELECT ON ai_scale.models TO PUBLIC;
GRANT SELECT ON ai_scale.model_last_versions TO PUBLIC;
