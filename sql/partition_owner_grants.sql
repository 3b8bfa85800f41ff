-- A role given TRIGGER on a table under a managed table may put there any trigger function it
-- may execute (built-ins included, with arguments and a WHEN condition of its choosing), which
-- maintenance, acting as the owner, would run with the owner's rights: a superuser's often, or a
-- superuser's in all but name (a member of one). Each check of what such a trigger runs
-- (partition_owner_trust.sql) was in turn found to miss one more way through; so while any role
-- without the owner's rights holds TRIGGER on a table of the tree, PUBLIC included, the table is
-- not maintained at all (42501, naming the REVOKE that cures it).
SET client_min_messages = warning;
\i sql/include/try.sql
-- refusal_hint(stmt): the hint of the 42501 a statement raises.
CREATE FUNCTION pg_temp.refusal_hint(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    EXECUTE stmt;
    RETURN 'not refused';
EXCEPTION WHEN insufficient_privilege THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $$;
CREATE ROLE grant_app;
CREATE ROLE grant_admin SUPERUSER;
CREATE ROLE grant_member NOINHERIT;
DO $$ BEGIN EXECUTE format('GRANT %I TO grant_member', current_user); END $$;
CREATE TABLE grants (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE grants_2030 PARTITION OF grants
    FOR VALUES FROM ('2030-01-01 UTC') TO ('2030-01-02 UTC');
SELECT count(*) > 0 AS managed
FROM ai_scale.manage_partitions('grants', '1 day', 1, time_zone => 'UTC');
SELECT count(*) AS errors FROM ai_scale.run_maintenance('grants') WHERE action = 'error';

-- TRIGGER on the table itself (GRANT ALL gives it): every path that acts as the owner refuses,
-- though no trigger was made yet; the verdict kept from the run before is forgotten at the GRANT.
GRANT ALL ON grants TO grant_app;
SELECT action, detail FROM ai_scale.run_maintenance('grants');
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('grants')$$);
SELECT pg_temp.try($$SELECT ai_scale.check_default('grants')$$);
-- The whole refusal.
DO $$
DECLARE
    m text;
    d text;
    h text;
BEGIN
    PERFORM ai_scale.rescue_default('grants');
EXCEPTION WHEN insufficient_privilege THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RAISE WARNING E'%\nDETAIL: %\nHINT: %', m, d, h;
END $$;
-- Revoked, maintenance runs again.
REVOKE TRIGGER ON grants FROM grant_app;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('grants') WHERE action = 'error';

-- On a partition, and to PUBLIC: named, with how many tables grant it and how to give the
-- partitions the parent's grants back.
GRANT TRIGGER ON grants_2030 TO PUBLIC;
GRANT TRIGGER ON grants TO PUBLIC;
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('grants')$$);
SELECT pg_temp.refusal_hint($$SELECT ai_scale.rescue_default('grants')$$);
REVOKE TRIGGER ON grants FROM PUBLIC;
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('grants')$$);
SELECT count(*) AS reapplied FROM ai_scale.reapply_privileges('grants');
SELECT count(*) AS errors FROM ai_scale.run_maintenance('grants') WHERE action = 'error';

-- Given to a role with the owner's rights (another superuser, a member of the owner, NOINHERIT
-- even), TRIGGER gives nothing the role does not have: maintained. Passed on by that member
-- with the grant option, the grant is the member's, which the owner's REVOKE would leave: the
-- hint revokes the member's grant option, CASCADE.
GRANT TRIGGER ON grants TO grant_admin, grant_member;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('grants') WHERE action = 'error';
GRANT TRIGGER ON grants TO grant_member WITH GRANT OPTION;
SET ROLE grant_member;
GRANT TRIGGER ON grants TO grant_app;
RESET ROLE;
SELECT pg_temp.refusal_hint($$SELECT ai_scale.rescue_default('grants')$$);
REVOKE GRANT OPTION FOR TRIGGER ON public.grants FROM grant_member CASCADE;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('grants') WHERE action = 'error';
REVOKE TRIGGER ON grants FROM grant_admin, grant_member CASCADE;

-- register_model reads the store alone (it fires no trigger): a grant does not refuse it.
ALTER TABLE grants ADD COLUMN model_name text, ADD COLUMN model_version int;
GRANT TRIGGER ON grants TO grant_app;
SET ai_scale.store_table = 'public.grants';
SELECT ai_scale.register_model('grant_m', 'linear', ARRAY['x'], '{"weights": [1]}') AS version;
SELECT ai_scale.drop_model('grant_m');
RESET ai_scale.store_table;
REVOKE TRIGGER ON grants FROM grant_app;

-- An owner that is no superuser but a member of one has a superuser's rights: refused the same,
-- a trigger the grantee makes there with a superuser's function (trusted) never run as it.
CREATE ROLE grant_owner;
DO $$ BEGIN EXECUTE format('GRANT %I TO grant_owner', current_user); END $$;
GRANT CREATE ON SCHEMA public TO grant_owner, grant_app;
SET ROLE grant_owner;
CREATE TABLE public.owned (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) > 0 AS managed
FROM ai_scale.manage_partitions('public.owned', '1 day', 1, time_zone => 'UTC',
                                inherit_privileges => true);
GRANT TRIGGER, INSERT ON public.owned TO grant_app;
SELECT count(*) FROM ai_scale.reapply_privileges('public.owned');
RESET ROLE;
CREATE TABLE grant_log (by_role name);
CREATE FUNCTION public.grant_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.grant_log VALUES (current_user);
    RETURN OLD;
END $$;
SET ROLE grant_app;
CREATE TRIGGER app_note BEFORE DELETE ON public.owned
    FOR EACH ROW EXECUTE FUNCTION public.grant_note();
INSERT INTO public.owned VALUES (1, '2031-01-01 UTC');
RESET ROLE;
SELECT action, detail FROM ai_scale.run_maintenance('owned') WHERE action = 'error';
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('owned')$$);
SELECT count(*) AS trigger_runs FROM grant_log;
DROP TRIGGER app_note ON owned;

-- Re-granted by a role given TRIGGER WITH GRANT OPTION: the REVOKE the hint names cascades, as
-- a plain one would fail on the dependent grant.
CREATE ROLE grant_mid;
GRANT TRIGGER ON grants TO grant_mid WITH GRANT OPTION;
SET ROLE grant_mid;
GRANT TRIGGER ON grants TO grant_app;
RESET ROLE;
SELECT pg_temp.refusal_hint($$SELECT ai_scale.rescue_default('grants')$$);
REVOKE TRIGGER ON public.grants FROM grant_mid CASCADE;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('grants') WHERE action = 'error';

-- The owner's default privileges giving TRIGGER away: the partitions a run makes would grant it,
-- so the run that makes them is refused, none of them kept, and the hint names the default
-- privileges too.
CREATE TABLE grant_new (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE grant_new_default PARTITION OF grant_new DEFAULT;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT TRIGGER ON TABLES TO grant_app;
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'grants'::regclass;
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'grants'::regclass;
SELECT action, regexp_replace(detail, '_\d{8}', '_<day>', 'g') AS detail
FROM ai_scale.run_maintenance('grants') WHERE action = 'error';
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'grants'::regclass;
-- So are manage_partitions taking a table on (its partitions made in place), and a rescue
-- (its partitions staged, then attached): nothing kept, the rows still in the default.
SELECT regexp_replace(pg_temp.try($$SELECT ai_scale.manage_partitions('grant_new', '1 day', 1,
                                                      time_zone => 'UTC')$$),
                      '_\d{8}', '_<day>', 'g') AS refused;
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'grant_new'::regclass;
DROP TABLE grant_new;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE TRIGGER ON TABLES FROM grant_app;
INSERT INTO grants VALUES (5, '2031-03-01 UTC'), (6, '2031-03-02 UTC');
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT TRIGGER ON TABLES TO grant_app;
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('grants')$$);
SELECT count(*) AS in_default FROM grants_default;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE TRIGGER ON TABLES FROM grant_app;
SELECT count(*) AS moved FROM ai_scale.rescue_default('grants');
SELECT count(*) AS errors FROM ai_scale.run_maintenance('grants') WHERE action = 'error';
SELECT count(*) > 2 AS more_partitions FROM pg_inherits WHERE inhparent = 'grants'::regclass;

-- A store made under default privileges that give TRIGGER away is refused as it is made, and
-- nothing is left of it.
ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO grant_app;
SELECT pg_temp.try($$SELECT ai_scale.create_prediction_store('public.grant_store')$$);
SELECT to_regclass('public.grant_store') AS store,
       (SELECT count(*) FROM ai_scale.partition_config
        WHERE parent::text LIKE '%grant_store%') AS configured;
ALTER DEFAULT PRIVILEGES REVOKE ALL ON TABLES FROM grant_app;

SELECT ai_scale.unmanage_partitions('grants');
SELECT ai_scale.unmanage_partitions('owned');
DROP TABLE grants, owned, grant_log;
DROP FUNCTION public.grant_note();
REVOKE CREATE ON SCHEMA public FROM grant_owner, grant_app;
DROP ROLE grant_app, grant_admin, grant_member, grant_owner, grant_mid;
