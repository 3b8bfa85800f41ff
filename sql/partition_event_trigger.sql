-- A user's event trigger runs inside the DDL of maintenance, under its pinned search_path
-- (pg_catalog, pg_temp) and as the table's owner, in a security-restricted operation. One that
-- names its table without a schema, as most examples do, works for sessions' own DDL and fails
-- every maintenance run: the error row said only 'relation "evt_audit" does not exist', nothing
-- of the trigger. It now names the function, outside ai_scale, that raised it.
SET client_min_messages = warning;
CREATE TABLE public.evt_audit (tag text, obj text);
CREATE FUNCTION public.evt_audit_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        INSERT INTO evt_audit (tag, obj) VALUES (r.command_tag, r.object_identity);
    END LOOP;
END $$;
CREATE TABLE public.evt_store (id bigint, created_at timestamptz NOT NULL)
    PARTITION BY RANGE (created_at);
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('public.evt_store', '1 day', 2);
CREATE EVENT TRIGGER evt_audit_ddl ON ddl_command_end EXECUTE FUNCTION public.evt_audit_ddl();
-- A session's DDL is audited.
CREATE TABLE public.evt_other (x int);
SELECT tag, obj FROM public.evt_audit;
-- Maintenance's is not: its error row says where.
UPDATE ai_scale.partition_config SET premake = 4 WHERE parent = 'public.evt_store'::regclass;
SELECT action, detail FROM ai_scale.run_maintenance('public.evt_store');
-- With the table named with its schema, the trigger audits maintenance too.
CREATE OR REPLACE FUNCTION public.evt_audit_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        INSERT INTO public.evt_audit (tag, obj) VALUES (r.command_tag, r.object_identity);
    END LOOP;
END $$;
SELECT action, count(*) FROM ai_scale.run_maintenance('public.evt_store') GROUP BY 1;
SELECT count(*) > 0 AS audited FROM public.evt_audit WHERE obj LIKE 'public.evt_store_%';
-- An error raised by ai_scale's own code names no function, nor one outside it that called it.
SELECT ai_scale._error_text('m', '', '42P01',
    'PL/pgSQL function ai_scale._maintain(regclass) line 9 at RAISE' || chr(10) ||
    'PL/pgSQL function public.caller() line 2 at PERFORM') AS own_code;
DROP EVENT TRIGGER evt_audit_ddl;
SELECT ai_scale.unmanage_partitions('public.evt_store');
DROP TABLE public.evt_store, public.evt_other, public.evt_audit;
DROP FUNCTION public.evt_audit_ddl();
