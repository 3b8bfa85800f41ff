-- Maintenance acts as the managed table's owner, over every table under it. One of those owned
-- by a role without the owner's rights (a default partition left to the role that made the
-- table, once ALTER TABLE ... OWNER TO, which does not recurse, gave the table to a superuser)
-- would have its code, a trigger fired by a rescue, an index predicate folded in planning, run
-- with the owner's rights: that role made itself a superuser through the worker. Refused with
-- 42501 instead, and none of that code runs.
SET client_min_messages = warning;
\i sql/include/try.sql
CREATE ROLE trust_app;
CREATE ROLE trust_admin SUPERUSER;
GRANT CREATE ON SCHEMA public TO trust_app;
CREATE TABLE trust_log (by_role name, as_superuser boolean);
GRANT INSERT ON trust_log TO PUBLIC;
CREATE FUNCTION public.trust_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.trust_log
        SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
    RETURN OLD;
END $$;

-- The role makes the table and its default partition; a superuser takes the table over.
SET ROLE trust_app;
CREATE TABLE trusted (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE trusted_default PARTITION OF trusted DEFAULT;
RESET ROLE;
ALTER TABLE trusted OWNER TO CURRENT_USER;
SELECT relname, pg_get_userbyid(relowner) = current_user AS superusers
FROM pg_class WHERE relname LIKE 'trusted%' ORDER BY relname;

-- manage_partitions refuses it (it adopts the table as the owner), naming the table to re-own.
SELECT pg_temp.try($$SELECT ai_scale.manage_partitions('trusted', '1 day', 1,
                                                      time_zone => 'UTC')$$);
SELECT count(*) AS configured FROM ai_scale.partition_config WHERE parent = 'trusted'::regclass;

-- Managed while the role still owned it all, then taken over. The role, which still owns the
-- default partition, puts a trigger on it and a row in it for a rescue to move: every path
-- that acts as the owner refuses, the run of run_maintenance with an error row.
ALTER TABLE trusted OWNER TO trust_app;
SELECT count(*) > 0 AS managed
FROM ai_scale.manage_partitions('trusted', '1 day', 1, time_zone => 'UTC');
ALTER TABLE trusted OWNER TO CURRENT_USER;
SET ROLE trust_app;
CREATE TRIGGER note BEFORE DELETE ON trusted_default
    FOR EACH ROW EXECUTE FUNCTION public.trust_note();
INSERT INTO trusted_default VALUES (1, '2022-03-01 12:00 UTC');
RESET ROLE;
SELECT action, regexp_replace(detail, '_\d{8}', '_<day>', 'g') AS detail
FROM ai_scale.run_maintenance('trusted');
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('trusted')$$);
SELECT pg_temp.try($$CALL ai_scale.rescue_default_proc('trusted')$$);
SELECT pg_temp.try($$SELECT ai_scale.check_default('trusted')$$);
-- The whole refusal (the partitions' names carry the day the test runs: masked).
DO $$
DECLARE
    m text;
    d text;
    h text;
BEGIN
    PERFORM ai_scale.rescue_default('trusted');
EXCEPTION WHEN insufficient_privilege THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RAISE WARNING E'%\nDETAIL: %\nHINT: %', m, d, regexp_replace(h, '_\d{8}', '_<day>', 'g');
END $$;
-- The trigger never ran; the row is still in the default partition.
SELECT count(*) AS trigger_runs FROM trust_log;
SELECT count(*) AS in_default FROM trusted_default;

-- Every table under it given to the owner, as the hint says: maintenance runs again.
DROP TRIGGER note ON trusted_default;
DO $$
DECLARE
    r regclass;
BEGIN
    FOR r IN SELECT relid FROM pg_partition_tree('trusted') WHERE relid <> 'trusted'::regclass LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO CURRENT_USER', r);
    END LOOP;
END $$;
SELECT partition IS NOT NULL AS moved, rows_moved FROM ai_scale.rescue_default('trusted');
SELECT count(*) AS in_default FROM trusted_default;

-- Deeper down: a partition that is itself partitioned, whose own partition is the role's.
CREATE TABLE trusted_2030 PARTITION OF trusted
    FOR VALUES FROM ('2030-01-01 UTC') TO ('2030-01-02 UTC') PARTITION BY RANGE (at);
CREATE TABLE trusted_2030_am (LIKE trusted);
ALTER TABLE trusted_2030_am OWNER TO trust_app;
ALTER TABLE trusted_2030 ATTACH PARTITION trusted_2030_am
    FOR VALUES FROM ('2030-01-01 UTC') TO ('2030-01-01 12:00 UTC');
SELECT action, detail FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
ALTER TABLE trusted_2030_am OWNER TO CURRENT_USER;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';

-- A partition of a role with the owner's rights (another superuser) is trusted: its code could
-- run with those rights anyway.
ALTER TABLE trusted_2030_am OWNER TO trust_admin;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
-- Found trusted, the tree is asked again once a table or a role changes: that superuser made
-- an ordinary role, or the partition given back to the role.
ALTER ROLE trust_admin NOSUPERUSER;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
ALTER TABLE trusted_2030_am OWNER TO CURRENT_USER;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
ALTER TABLE trusted_2030_am OWNER TO trust_app;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';

-- Every table the owner's, but a trigger of a role with TRIGGER on the table (GRANT ALL gives
-- it), whose function runs with the rights of whoever writes the table: a rescue ran it as the
-- owner, a superuser. Refused as well, naming the trigger and its function, even once made
-- SECURITY DEFINER (the role may make it SECURITY INVOKER again between the check and the
-- trigger's firing); given to the owner, it is trusted.
ALTER TABLE trusted_2030_am OWNER TO CURRENT_USER;
GRANT TRIGGER, INSERT ON trusted_default TO trust_app;
ALTER FUNCTION public.trust_note() OWNER TO trust_app; -- (as if the role had made it)
SET ROLE trust_app;
CREATE TRIGGER app_note BEFORE DELETE ON trusted_default
    FOR EACH ROW EXECUTE FUNCTION public.trust_note();
INSERT INTO trusted_default VALUES (2, '2022-03-02 12:00 UTC');
RESET ROLE;
-- (Held, TRIGGER refuses the table whole: sql/partition_owner_grants.sql. The
-- trigger the role made while it held it stays once revoked, and is checked on its own.)
REVOKE TRIGGER ON trusted_default FROM trust_app;
SELECT action, regexp_replace(detail, '_\d{8}', '_<day>', 'g') AS detail
FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('trusted')$$);
SELECT count(*) AS trigger_runs FROM trust_log;
ALTER FUNCTION public.trust_note() SECURITY DEFINER;
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('trusted')$$);
ALTER FUNCTION public.trust_note() SECURITY INVOKER;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
ALTER FUNCTION public.trust_note() OWNER TO CURRENT_USER;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
SELECT count(*) AS trigger_runs FROM trust_log;
TRUNCATE trust_log;
-- A function of a role that may SET ROLE to the owner without having its rights (NOINHERIT) is
-- trusted: as the owner, its code can do nothing the role could not do after a SET ROLE. So is
-- a disabled trigger's, which fires in no session (only the owner may enable it).
CREATE ROLE trust_noinherit NOINHERIT;
DO $$ BEGIN EXECUTE format('GRANT %I TO trust_noinherit', current_user); END $$;
ALTER FUNCTION public.trust_note() OWNER TO trust_noinherit;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
ALTER FUNCTION public.trust_note() OWNER TO trust_app;
ALTER TABLE trusted_default DISABLE TRIGGER app_note;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
ALTER TABLE trusted_default ENABLE TRIGGER app_note;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
ALTER FUNCTION public.trust_note() OWNER TO CURRENT_USER;
DROP TRIGGER app_note ON trusted_default;
REVOKE INSERT ON trusted_default FROM trust_app;

-- A trigger's WHEN condition runs with the rights of whoever writes the table, as its function
-- does: a role with TRIGGER put one calling its own function (or casting to its own domain,
-- whose CHECK calls it) on a trigger whose function is trusted (a built-in), and a rescue ran
-- it as the owner, a superuser. Refused as well, naming what the condition uses.
GRANT INSERT ON trusted_default TO trust_app;
GRANT TRIGGER ON trusted_default TO trust_app;
SET ROLE trust_app;
CREATE FUNCTION public.trust_when() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.trust_log
        SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
    RETURN false;
END $$;
CREATE DOMAIN public.trust_dom AS int CHECK (public.trust_when() OR true);
CREATE TRIGGER app_when BEFORE DELETE ON trusted_default FOR EACH ROW
    WHEN (public.trust_when()) EXECUTE FUNCTION suppress_redundant_updates_trigger();
INSERT INTO trusted_default VALUES (3, '2022-03-03 12:00 UTC');
RESET ROLE;
REVOKE TRIGGER ON trusted_default FROM trust_app;
SELECT action, detail FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('trusted')$$);
DROP TRIGGER app_when ON trusted_default;
GRANT TRIGGER ON trusted_default TO trust_app;
SET ROLE trust_app;
CREATE TRIGGER app_when BEFORE DELETE ON trusted_default FOR EACH ROW
    WHEN (OLD.id::public.trust_dom IS NULL) EXECUTE FUNCTION suppress_redundant_updates_trigger();
RESET ROLE;
REVOKE TRIGGER ON trusted_default FROM trust_app;
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('trusted')$$);
SELECT count(*) AS superuser_runs FROM trust_log WHERE as_superuser;
-- The function given to the owner, the domain is still the role's: refused. Both given, the
-- condition is still refused: the function is not IMMUTABLE, and any role with TRIGGER may
-- write a condition calling a function of the owner's, or a built-in that runs SQL
-- (query_to_xml), or one that acts on its arguments, all as the owner.
ALTER FUNCTION public.trust_when() OWNER TO CURRENT_USER;
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('trusted')$$);
ALTER DOMAIN public.trust_dom OWNER TO CURRENT_USER;
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('trusted')$$);
DROP TRIGGER app_when ON trusted_default;
GRANT TRIGGER ON trusted_default TO trust_app;
SET ROLE trust_app;
CREATE TRIGGER app_when BEFORE DELETE ON trusted_default FOR EACH ROW
    WHEN (query_to_xml('SELECT public.trust_when()', true, true, '') IS NULL)
    EXECUTE FUNCTION suppress_redundant_updates_trigger();
RESET ROLE;
REVOKE TRIGGER ON trusted_default FROM trust_app;
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('trusted')$$);
DROP TRIGGER app_when ON trusted_default;
-- An operator of the owner's whose function is the role's (a body it may replace): refused,
-- naming the function.
CREATE FUNCTION public.trust_gt(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS 'SELECT $1 > $2';
ALTER FUNCTION public.trust_gt(int, int) OWNER TO trust_app;
CREATE OPERATOR public.>>> (LEFTARG = int, RIGHTARG = int, FUNCTION = public.trust_gt);
GRANT TRIGGER ON trusted_default TO trust_app;
SET ROLE trust_app;
CREATE TRIGGER app_when BEFORE DELETE ON trusted_default FOR EACH ROW
    WHEN (OLD.id OPERATOR(public.>>>) 0) EXECUTE FUNCTION suppress_redundant_updates_trigger();
RESET ROLE;
REVOKE TRIGGER ON trusted_default FROM trust_app;
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('trusted')$$);
-- Given to the owner, IMMUTABLE, the operator's function is trusted, and so is a domain of the
-- owner's whose CHECK calls it; the verdict kept is forgotten once the domain is given back.
ALTER FUNCTION public.trust_gt(int, int) OWNER TO CURRENT_USER;
CREATE DOMAIN public.trust_pos AS int CHECK (VALUE OPERATOR(public.>>>) 0);
DROP TRIGGER app_when ON trusted_default;
GRANT TRIGGER ON trusted_default TO trust_app;
SET ROLE trust_app;
CREATE TRIGGER app_when BEFORE DELETE ON trusted_default FOR EACH ROW
    WHEN (OLD.id::public.trust_pos OPERATOR(public.>>>) 1000)
    EXECUTE FUNCTION suppress_redundant_updates_trigger();
RESET ROLE;
REVOKE TRIGGER ON trusted_default FROM trust_app;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
ALTER DOMAIN public.trust_pos OWNER TO trust_app;
INSERT INTO trusted_default VALUES (4, '2022-03-04 12:00 UTC');
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('trusted')$$);
ALTER DOMAIN public.trust_pos OWNER TO CURRENT_USER;
SELECT partition IS NOT NULL AS moved, rows_moved FROM ai_scale.rescue_default('trusted');
SELECT count(*) AS superuser_runs FROM trust_log WHERE as_superuser;
DROP TRIGGER app_when ON trusted_default;
DROP DOMAIN public.trust_dom, public.trust_pos;
DROP OPERATOR public.>>> (int, int);
DROP FUNCTION public.trust_when(), public.trust_gt(int, int);
-- A chain of the owner's domains, each CHECK casting to the next, the ninth the role's: walked
-- to its end (a bound of eight trusted the ninth), and a cycle ends the walk.
CREATE DOMAIN public.trust_d9 AS int;
ALTER DOMAIN public.trust_d9 OWNER TO trust_app;
DO $$
BEGIN
    FOR i IN REVERSE 8..1 LOOP
        EXECUTE format('CREATE DOMAIN public.trust_d%s AS int '
                       'CHECK ((VALUE::public.trust_d%s) IS NOT NULL)', i, i + 1);
    END LOOP;
END $$;
GRANT TRIGGER ON trusted_default TO trust_app;
SET ROLE trust_app;
CREATE TRIGGER app_when BEFORE DELETE ON trusted_default FOR EACH ROW
    WHEN (OLD.id::public.trust_d1 IS NULL) EXECUTE FUNCTION suppress_redundant_updates_trigger();
RESET ROLE;
REVOKE TRIGGER ON trusted_default FROM trust_app;
SELECT pg_temp.try($$SELECT ai_scale.check_default('trusted')$$);
ALTER DOMAIN public.trust_d9 OWNER TO CURRENT_USER;
ALTER DOMAIN public.trust_d9 ADD CHECK ((VALUE::public.trust_d1) IS NOT NULL) NOT VALID;
SELECT pg_temp.try($$SELECT ai_scale.check_default('trusted')$$);
DROP TRIGGER app_when ON trusted_default;
DROP DOMAIN public.trust_d1, public.trust_d2, public.trust_d3, public.trust_d4, public.trust_d5,
    public.trust_d6, public.trust_d7, public.trust_d8, public.trust_d9 CASCADE;
-- ai_scale's own trigger functions cannot be put on another table (a role with TRIGGER on the
-- store put _models_inserted there, and a rescue ran it as the owner on the rows it chose).
GRANT TRIGGER ON trusted_default TO trust_app;
SET ROLE trust_app;
SELECT pg_temp.try($$CREATE TRIGGER app_models AFTER INSERT ON trusted_default FOR EACH ROW
                     EXECUTE FUNCTION ai_scale._models_inserted()$$);
SELECT pg_temp.try($$CREATE TRIGGER app_models AFTER INSERT ON trusted_default
                     FOR EACH STATEMENT EXECUTE FUNCTION ai_scale._models_changed()$$);
SELECT pg_temp.try($$CREATE TRIGGER app_config BEFORE INSERT ON trusted_default FOR EACH ROW
                     EXECUTE FUNCTION ai_scale._check_config_owner()$$);
RESET ROLE;
REVOKE TRIGGER ON trusted_default FROM trust_app;
REVOKE INSERT ON trusted_default FROM trust_app;

-- A foreign key of a table of the role's referencing the table (REFERENCES on it is all it
-- takes): retention detaches a referenced partition as the owner, and Postgres's check that no
-- row references it plans a query over the role's table, folding its index predicates, code of
-- the role's. Refused too, naming the referencing table; given to the owner, it is trusted.
ALTER TABLE trusted ADD PRIMARY KEY (id, at);
GRANT REFERENCES ON trusted TO trust_app;
SET ROLE trust_app;
CREATE TABLE trust_ref (id int, at timestamptz, FOREIGN KEY (id, at) REFERENCES trusted);
RESET ROLE;
SELECT action, detail FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
ALTER TABLE trust_ref OWNER TO CURRENT_USER;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
DROP TABLE trust_ref;
REVOKE REFERENCES ON trusted FROM trust_app;
-- The other way: a foreign key of the table's to a table of the role's, which the role may index
-- as it likes: a rescue's ATTACH of a filled partition checks the key with a query over the
-- role's table as the owner, folding its partial indexes' predicates. Refused too.
CREATE TABLE trust_keys (id int PRIMARY KEY);
INSERT INTO trust_keys SELECT g FROM generate_series(1, 10) g;
ALTER TABLE trust_keys OWNER TO trust_app;
ALTER TABLE trusted ADD CONSTRAINT trusted_key FOREIGN KEY (id) REFERENCES trust_keys;
SELECT action, regexp_replace(detail, '_\d{8}', '_<day>', 'g') AS detail
FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
ALTER TABLE trust_keys OWNER TO CURRENT_USER;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trusted') WHERE action = 'error';
ALTER TABLE trusted DROP CONSTRAINT trusted_key;
DROP TABLE trust_keys;

-- A table of pg_database_owner's: a partition of the database's owner has its rights, until
-- the database is given to another role, after which the verdict kept is asked again.
CREATE TABLE trust_pdo (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE trust_pdo_2030 PARTITION OF trust_pdo
    FOR VALUES FROM ('2030-01-01 UTC') TO ('2030-01-03 UTC') PARTITION BY RANGE (at);
CREATE TABLE trust_pdo_2030_a PARTITION OF trust_pdo_2030
    FOR VALUES FROM ('2030-01-01 UTC') TO ('2030-01-02 UTC');
ALTER TABLE trust_pdo OWNER TO pg_database_owner;
ALTER TABLE trust_pdo_2030 OWNER TO pg_database_owner;
ALTER TABLE trust_pdo_2030_a OWNER TO trust_app;
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I OWNER TO trust_app', current_database()); END $$;
SELECT count(*) > 0 AS managed
FROM ai_scale.manage_partitions('trust_pdo', '1 day', 1, time_zone => 'UTC');
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trust_pdo') WHERE action = 'error';
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I OWNER TO %I', current_database(), current_user);
END $$;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('trust_pdo') WHERE action = 'error';
SELECT ai_scale.unmanage_partitions('trust_pdo');
DROP TABLE trust_pdo;

-- register_model reads the prediction store as its owner, for the highest version it holds:
-- a store with a partition of the role's is not read, and the registration refused (42501),
-- nothing recorded: numbered without the store, the new version could be one whose outputs
-- the store holds (7 here), and the name's next versions would not be looked for in it again.
CREATE TABLE trust_store (model_name text NOT NULL, model_version int NOT NULL,
                          created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
CREATE TABLE trust_store_all (LIKE trust_store);
INSERT INTO trust_store_all VALUES ('trust_a', 7, '2022-03-01 12:00 UTC'),
                                   ('trust_b', 7, '2022-03-01 12:00 UTC');
ALTER TABLE trust_store_all OWNER TO trust_app;
ALTER TABLE trust_store ATTACH PARTITION trust_store_all
    FOR VALUES FROM (MINVALUE) TO (MAXVALUE);
SET ai_scale.store_table = 'public.trust_store';
SELECT ai_scale.register_model('trust_a', 'linear', ARRAY['x'], '{"weights": [1]}') AS version;
SELECT count(*) AS recorded FROM ai_scale.model_last_versions WHERE model_name = 'trust_a';
-- Given to the store's owner, it is read: the new versions come after the store's 7.
ALTER TABLE trust_store_all OWNER TO CURRENT_USER;
SELECT ai_scale.register_model('trust_a', 'linear', ARRAY['x'], '{"weights": [1]}') AS version;
SELECT ai_scale.register_model('trust_b', 'linear', ARRAY['x'], '{"weights": [1]}') AS version;
-- A table of the role's with a foreign key to the store (REFERENCES is all it takes) stops its
-- maintenance, not a registration: reading the store fires no trigger and checks no key.
ALTER TABLE trust_store ADD PRIMARY KEY (model_name, model_version, created_at);
GRANT REFERENCES ON trust_store TO trust_app;
SET ROLE trust_app;
CREATE TABLE public.trust_store_refs (n text, v int, at timestamptz,
                                      FOREIGN KEY (n, v, at) REFERENCES public.trust_store);
RESET ROLE;
SELECT ai_scale.register_model('trust_c', 'linear', ARRAY['x'], '{"weights": [1]}') AS version;
DROP TABLE trust_store_refs;
SELECT ai_scale.drop_model('trust_a'), ai_scale.drop_model('trust_b'),
       ai_scale.drop_model('trust_c');
RESET ai_scale.store_table;
DROP TABLE trust_store;

SELECT ai_scale.unmanage_partitions('trusted');
DROP TABLE trusted;
DROP TABLE trust_log;
DROP FUNCTION public.trust_note();
REVOKE CREATE ON SCHEMA public FROM trust_app;
DROP ROLE trust_app, trust_admin, trust_noinherit;
