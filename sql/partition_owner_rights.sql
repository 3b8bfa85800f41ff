-- The owner's code that moving rows out of a default partition runs (triggers, rules, CHECK
-- constraints, index expressions) runs with the owner's rights, never with those of whoever
-- runs maintenance: here a superuser, as the maintenance worker is by default. A SET ROLE
-- would not do: the owner's code could RESET ROLE back to the session's superuser.
SET client_min_messages = warning;
\i sql/include/try.sql
CREATE ROLE rights_owner;
GRANT CREATE ON SCHEMA public TO rights_owner; -- maintenance makes partitions as the owner
CREATE TABLE rights_log (what text, by_role name, reset_role text);
GRANT INSERT ON rights_log TO rights_owner;
-- Records who runs it, and whether it can get back to the session's role.
CREATE FUNCTION public.rights_note(what text) RETURNS void LANGUAGE plpgsql
    SET search_path = public AS $$
DECLARE
    reset_to text;
BEGIN
    BEGIN
        RESET ROLE;
        reset_to := current_user;
    EXCEPTION WHEN OTHERS THEN
        reset_to := SQLERRM;
    END;
    INSERT INTO public.rights_log VALUES (what, current_user, reset_to);
END $$;
CREATE FUNCTION public.rights_check(id int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.rights_note('check constraint');
    RETURN true;
END $$;
CREATE FUNCTION public.rights_index(id int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM public.rights_note('index expression');
    RETURN id;
END $$;
CREATE FUNCTION public.rights_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.rights_note('trigger ' || TG_OP);
    RETURN NULL;
END $$;

-- A rescue (the rows go through a staging table): the CHECK constraint, and a rule on the
-- default partition.
CREATE TABLE checked (id int CHECK (public.rights_check(id)), at timestamptz NOT NULL)
    PARTITION BY RANGE (at);
ALTER TABLE checked OWNER TO rights_owner;
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('checked', '1 day', 0, time_zone => 'UTC');
CREATE RULE checked_deleted AS ON DELETE TO checked_default
    DO ALSO SELECT public.rights_note('rule');
INSERT INTO checked VALUES (1, '2022-03-01 12:00 UTC');
TRUNCATE rights_log; -- this insert's own
SELECT partition, rows_moved FROM ai_scale.rescue_default('checked');
-- Maintenance making a partition for rows in the default moves them into the indexed
-- partition: the index expression.
CREATE TABLE indexed (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE INDEX ON indexed (public.rights_index(id));
ALTER TABLE indexed OWNER TO rights_owner;
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('indexed', '1 day', 0, time_zone => 'UTC');
INSERT INTO indexed VALUES (2, now() + interval '1 day');
DELETE FROM rights_log WHERE what = 'index expression'; -- this insert's own
UPDATE ai_scale.partition_config SET premake = 1 WHERE parent = 'indexed'::regclass;
SELECT action, detail LIKE '%moved 1 row from the default partition' AS moved_one
  FROM ai_scale.run_maintenance('indexed') WHERE action <> 'created' OR detail LIKE '%moved%';
-- A table with triggers gets its rows moved through the parent: the triggers.
CREATE TABLE triggered (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
ALTER TABLE triggered OWNER TO rights_owner;
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('triggered', '1 day', 0, time_zone => 'UTC');
CREATE TRIGGER triggered_note AFTER INSERT OR DELETE ON triggered
    FOR EACH ROW EXECUTE FUNCTION public.rights_trigger();
INSERT INTO triggered VALUES (3, '2022-03-01 12:00 UTC');
DELETE FROM rights_log WHERE what LIKE 'trigger%'; -- this insert's own
SELECT count(*) AS rescued FROM ai_scale.rescue_default('triggered');
-- Every one ran as the owner, and could not get back to the superuser.
SELECT what, by_role, reset_role, count(*) FROM rights_log GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT rolsuper FROM pg_roles WHERE rolname = 'rights_owner';

-- Acting as a table's owner takes its privileges: refused to others (42501).
CREATE ROLE rights_stranger;
SET ROLE rights_stranger;
SELECT ai_scale._as_owner('checked', 'SELECT 1');
RESET ROLE;
-- So is a rescue of a default that has rows: the error, not an empty result with the rows left
-- where they are.
INSERT INTO checked VALUES (2, '2022-05-01 12:00 UTC');
SET ROLE rights_stranger;
SELECT * FROM ai_scale.rescue_default('checked');
RESET ROLE;
SELECT count(*) AS still_in_default FROM ONLY checked_default;
-- The table and its owner are named as the SQL functions' errors name them (regclass, regrole,
-- under the extension's search path): schema-qualified, quoted where needed. The message said
-- "table Rights Table" (the bare name, unquoted) and the owner Rights Owner.
CREATE SCHEMA "Rights Schema";
CREATE TABLE "Rights Schema"."Rights Table" (id int);
CREATE ROLE "Rights Owner";
ALTER TABLE "Rights Schema"."Rights Table" OWNER TO "Rights Owner";
GRANT USAGE ON SCHEMA "Rights Schema" TO rights_stranger;
SET ROLE rights_stranger;
SELECT ai_scale._as_owner('"Rights Schema"."Rights Table"', 'SELECT 1');
RESET ROLE;
DROP SCHEMA "Rights Schema" CASCADE;
DROP ROLE "Rights Owner";
-- A statement SPI cannot run there is refused as such (0A000), not as an internal error.
SELECT pg_temp.try($$SELECT ai_scale._as_owner('checked', 'COMMIT')$$);
SELECT pg_temp.try($$SELECT ai_scale._as_owner('checked', 'COPY checked FROM STDIN')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale._as_owner_rows('checked', 'ROLLBACK') AS t(n int)$$);
-- Rows that do not have the columns the caller named are refused (42804), not put into the
-- result as if they had: read as text, the integer here would be taken for a pointer.
SELECT pg_temp.try($$SELECT * FROM ai_scale._as_owner_rows('checked', 'SELECT 7') AS t(n text)$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale._as_owner_rows('checked', 'SELECT 7') AS t(n int, m int)$$);
SELECT * FROM ai_scale._as_owner_rows('checked', 'SELECT 7, ''seven''::text') AS t(n int, m text);
-- The statements run in a security-restricted operation, as VACUUM's do, not only under the
-- owner's identity (which alone refuses the RESET ROLE above): the owner's code cannot leave
-- behind in the session an object the superuser's later statements may run into, such as a
-- temporary table.
SELECT pg_temp.try($$SELECT ai_scale._as_owner('checked', 'CREATE TEMP TABLE rights_temp (x int)')$$);
-- And with row_security off: a policy that hides rows from the owner (FORCE ROW LEVEL
-- SECURITY) fails maintenance with Postgres's 42501, where with it on the rescue returned
-- nothing and check_default counted 0 rows, the row left in the default partition.
CREATE TABLE hidden (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
ALTER TABLE hidden OWNER TO rights_owner;
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('hidden', '1 day', 0, time_zone => 'UTC');
INSERT INTO hidden VALUES (1, '2022-03-01 12:00 UTC');
ALTER TABLE hidden_default ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY hide_all ON hidden_default USING (false);
SELECT pg_temp.try($$SELECT * FROM ai_scale.rescue_default('hidden')$$);
SELECT pg_temp.try($$SELECT * FROM ai_scale.check_default('hidden')$$);
SELECT count(*) AS still_in_default FROM ONLY hidden_default;
DROP TABLE checked, indexed, triggered, hidden, rights_log;
DROP FUNCTION public.rights_note(text), public.rights_check(int), public.rights_index(int),
    public.rights_trigger();
REVOKE CREATE ON SCHEMA public FROM rights_owner;
DROP ROLE rights_owner, rights_stranger;
RESET client_min_messages;
