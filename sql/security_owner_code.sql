-- Maintenance of a table another role owns runs as that role, all of it, and so does a
-- superuser's check_default, rescue_default or rescue_default_proc on it: planning any query
-- on the table, or copying its index definitions into a new partition, evaluates the
-- constant parts of its index expressions, code of the owner's. Before, those ran with the
-- rights of whoever called maintenance (the worker's superuser, by default), and an owner
-- could make itself a superuser. Each step runs in a new session: a session keeps the
-- evaluated expressions in its caches.
SET client_min_messages = warning;
CREATE ROLE sec_owner;
GRANT CREATE ON SCHEMA public TO sec_owner;
CREATE TABLE sec_seen (by_role name, step text);
GRANT INSERT ON sec_seen TO sec_owner;
CREATE TABLE sec_step (step text);
INSERT INTO sec_step VALUES ('setup');
GRANT SELECT ON sec_step TO sec_owner;
SET ROLE sec_owner;
-- Records who runs it: the owner's function, hidden behind an IMMUTABLE one that the planner
-- folds as a constant.
CREATE FUNCTION public.sec_note() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sec_seen SELECT current_user, step FROM public.sec_step;
    RETURN 1;
END $$;
CREATE FUNCTION public.sec_folded() RETURNS int LANGUAGE plpgsql IMMUTABLE
    AS $$ BEGIN RETURN public.sec_note(); END $$;
CREATE TABLE sec_t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE INDEX sec_t_folded ON sec_t ((v + public.sec_folded()));
RESET ROLE;
UPDATE sec_step SET step = 'manage_partitions';
\c
-- With parallel index builds weighed for the smallest tables: the partitions are made without
-- them, the default partition too (made with them, it evaluated the owner's expression in
-- parallel mode, where its INSERT fails).
SET min_parallel_table_scan_size = 0;
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('sec_t', '1 day', 2, time_zone => 'UTC');
RESET min_parallel_table_scan_size;
SET ROLE sec_owner;
INSERT INTO sec_t VALUES ('2021-06-01 12:00 UTC', 1), ('2021-06-02 12:00 UTC', 2);
RESET ROLE;
UPDATE sec_step SET step = 'check_default';
\c
SELECT rows FROM ai_scale.check_default('sec_t');
UPDATE sec_step SET step = 'rescue_default';
\c
-- The rescues' attaches build the indexes over the rows moved: without parallel workers too.
SET min_parallel_table_scan_size = 0;
SELECT count(*) AS rescued FROM ai_scale.rescue_default('sec_t', 1);
UPDATE sec_step SET step = 'rescue_default_proc';
\c
SET min_parallel_table_scan_size = 0;
CALL ai_scale.rescue_default_proc('sec_t');
UPDATE sec_step SET step = 'run_maintenance';
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'sec_t'::regclass;
\c
SELECT count(*) > 0 AS made FROM ai_scale.run_maintenance('sec_t') WHERE action = 'created';
-- The owner's code ran (the test sees it) at every step, always as the owner.
SELECT step, by_role = 'sec_owner' AS as_owner FROM sec_seen WHERE step <> 'setup'
 GROUP BY 1, 2 ORDER BY 1, 2;
DROP TABLE sec_t, sec_seen, sec_step;
DROP FUNCTION public.sec_folded(), public.sec_note();
REVOKE CREATE ON SCHEMA public FROM sec_owner;
DROP ROLE sec_owner;
