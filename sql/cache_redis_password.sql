-- ai_scale.redis_password is never stored where other roles can read it: ALTER ROLE / DATABASE
-- ... SET and a function's SET clause keep their values in pg_db_role_setting and
-- pg_proc.proconfig, which every role may read, so they are refused (22023). postgresql.conf and
-- ALTER SYSTEM, which only superusers read, and SET in a session stay allowed.
\i sql/include/try.sql
CREATE ROLE cache_password_role;
SELECT pg_temp.try(format('ALTER DATABASE %I SET ai_scale.redis_password = %L',
                          current_database(), 'db-secret')) AS alter_database;
SELECT pg_temp.try($$ALTER ROLE cache_password_role SET ai_scale.redis_password = 'role-secret'$$)
    AS alter_role;
SELECT pg_temp.try(format('ALTER ROLE cache_password_role IN DATABASE %I SET ai_scale.redis_password = %L',
                          current_database(), 'role-db-secret')) AS alter_role_in_database;
SELECT pg_temp.try($$ALTER ROLE ALL SET ai_scale.redis_password = 'all-secret'$$) AS alter_role_all;
SELECT pg_temp.try($$CREATE FUNCTION pg_temp.with_password() RETURNS int LANGUAGE sql
    SET ai_scale.redis_password = 'function-secret' AS 'SELECT 1'$$) AS function_set_clause;
-- Nothing was stored.
SELECT count(*) AS stored
FROM pg_db_role_setting s, unnest(s.setconfig) c
WHERE c LIKE 'ai_scale.redis_password=%'
  AND (s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
       OR s.setrole = 'cache_password_role'::regrole);
-- An empty value stores no secret; RESET removes one stored before this check existed.
SELECT pg_temp.try($$ALTER ROLE cache_password_role SET ai_scale.redis_password = ''$$) AS empty_value;
ALTER ROLE cache_password_role RESET ai_scale.redis_password;
-- A session may still set it. Even to a superuser, SHOW says whether one is set, never which
-- (test/tap/088: nor does the server log).
SET ai_scale.redis_password = 'session-secret';
SELECT current_setting('ai_scale.redis_password') AS session_value;
RESET ai_scale.redis_password;
SELECT current_setting('ai_scale.redis_password') AS reset_value;
-- The extension's own reader of its settings says the same: with none set it said ********
-- (the setting's mask, whatever the password).
SELECT ai_scale._setting('ai_scale.redis_password') = '' AS none_set;
SET ai_scale.redis_password = 'session-secret';
SELECT ai_scale._setting('ai_scale.redis_password') AS one_set;
RESET ai_scale.redis_password;
-- A password Redis refuses counts against that password's breaker only (the credentials are part
-- of a breaker's key): the primary as seen without one shows neither the failure nor its error.
-- (Database 13, which no other test uses: breakers of their own for both.)
SET ai_scale.redis_replicas = '';
SET ai_scale.redis_db = 13;
SET ai_scale.redis_password = 'refused-secret';
SELECT ai_scale.cache_get('pw_model', 1, '{"x": 1}') AS with_refused_password;
SELECT last_error IS NOT NULL AS refused_error_seen
  FROM ai_scale.redis_status() WHERE configured_as = 'primary';
RESET ai_scale.redis_password;
SELECT last_error IS NULL AS no_error, failures = 0 AS no_failure
  FROM ai_scale.redis_status() WHERE configured_as = 'primary';
RESET ai_scale.redis_db;
RESET ai_scale.redis_replicas;
-- Forty refused passwords (database 12) fill the 32 shared breaker slots and take turns in
-- them; the primary seen without a password then takes a reclaimed slot, reset for it: none of
-- the failures, trips or error of the identity that held it.
SET ai_scale.redis_replicas = '';
SET ai_scale.redis_db = 12;
SET ai_scale.breaker_reset_ms = 100;
SET ai_scale.cache_use_l1 = off;
DO $$
BEGIN
    FOR n IN 1..40 LOOP
        PERFORM set_config('ai_scale.redis_password', 'refused-' || n, false);
        PERFORM ai_scale.cache_get('pw_model', 1, '{"x": 1}');
    END LOOP;
END $$;
RESET ai_scale.redis_password;
-- Past breaker_reset_ms: the slots are reclaimable.
SELECT pg_sleep(0.3);
SELECT ai_scale.cache_get('pw_model', 1, '{"x": 1}') AS without_password;
SELECT breaker, failures, trips, last_error IS NULL AS no_error
  FROM ai_scale.redis_status() WHERE configured_as = 'primary';
RESET ai_scale.cache_use_l1;
RESET ai_scale.breaker_reset_ms;
RESET ai_scale.redis_db;
RESET ai_scale.redis_replicas;
-- (a build without the check stored one for every role: leave none behind)
ALTER ROLE ALL RESET ai_scale.redis_password;
DROP ROLE cache_password_role;
