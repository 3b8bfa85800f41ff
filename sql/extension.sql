-- Create, drop and re-create the extension; check the hygiene of what it installs.
CREATE EXTENSION ai_scale;

SELECT e.extname, e.extversion, n.nspname AS schema, e.extrelocatable
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'ai_scale';

-- Every function in the schema pins its search_path, except the seven that run once per row
-- (score, score_multi, score_batched, predict, cache_get, input_hash, and _cell_lower, which
-- rescue_default calls per default-partition row): what they run in SQL or look up by name
-- runs under a search_path pinned in C (src/pg/pinned_settings.hpp; see docs/design.md). And the
-- procedure rescue_default_proc, which commits and so cannot have the clause: it pins the path
-- with set_config at the start of each of its transactions.
SELECT p.oid::regprocedure AS function_without_search_path
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'ai_scale'
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%')
ORDER BY 1;

-- Nothing runs with its owner's rights but the event trigger that forgets the config of a
-- dropped table (install/24_partition_api.sql says why; it cannot be called directly).
SELECT p.oid::regprocedure AS security_definer_function
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'ai_scale' AND p.prosecdef;

-- The functions a parallel query may run, all others being PARALLEL UNSAFE (the default):
-- those that write (predict, predict_batch, the catalog and partition functions) must be.
-- Safe in a worker: the scoring functions and their helpers, which read the model catalog with
-- the query's snapshot and compile into the worker's own cache (sql/scoring_parallel.sql), and
-- pure functions. Restricted to the leader: the cache functions, whose Redis connections and
-- password a worker does not have (install/30_cache.sql).
SELECT p.oid::regprocedure AS function, p.proparallel AS parallel
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'ai_scale' AND p.proparallel <> 'u'
ORDER BY p.proparallel, p.oid::regprocedure::text COLLATE "C";

-- DROP removes every object. The schema itself stays: Postgres made it for the control file's
-- "schema" line, so it does not belong to the extension; it is left empty.
DROP EXTENSION ai_scale;
SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace = 'ai_scale'::regnamespace) AS functions_left,
       (SELECT count(*) FROM pg_class WHERE relnamespace = 'ai_scale'::regnamespace) AS relations_left;

-- A schema ai_scale that a role without superuser owns (made before CREATE EXTENSION, by a
-- role with CREATE on the database) is not installed into (42501): its owner could rename it
-- and make an ai_scale schema of its own, whose functions ours would call by name.
CREATE ROLE ext_squatter;
ALTER SCHEMA ai_scale OWNER TO ext_squatter;
CREATE EXTENSION ai_scale;
ALTER SCHEMA ai_scale OWNER TO CURRENT_USER;
DROP ROLE ext_squatter;

CREATE EXTENSION ai_scale;
SELECT ai_scale.version();

-- Creating it twice is an error; IF NOT EXISTS is not.
CREATE EXTENSION ai_scale;
CREATE EXTENSION IF NOT EXISTS ai_scale;

-- The prediction store is not part of the extension and outlives it, with the outputs of the
-- model versions given before. A model registered after the extension is dropped and created
-- again gets a number past those, so predict() scores it instead of serving (from the store, L3)
-- the dropped model's outputs as its own.
SET client_min_messages = warning;
SET ai_scale.store_table = 'public.reinstall_store';
SELECT ai_scale.create_prediction_store('public.reinstall_store');
SELECT ai_scale.register_model('reinstall_m', 'linear', ARRAY['a'], '{"weights": [1]}');
SELECT ai_scale.predict('reinstall_m', '{"a": 2}') AS before_drop;
-- So are the outputs in a store another role reads (ALTER ROLE ... SET ai_scale.store_table),
-- not the registering session's: every store a setting names is looked in.
-- (Named as the setting takes it: unquoted, with a dash, which parse_ident refuses.)
CREATE ROLE reinstall_app;
ALTER ROLE reinstall_app SET ai_scale.store_table = 'reinstall-role-store';
SET ai_scale.store_table = 'public.reinstall-role-store';
SELECT ai_scale.create_prediction_store('public."reinstall-role-store"');
SELECT ai_scale.register_model('reinstall_r', 'linear', ARRAY['a'], '{"weights": [1]}');
SELECT ai_scale.predict('reinstall_r', '{"a": 2}') AS before_drop_role_store;
SET ai_scale.store_table = 'public.reinstall_store';
-- A table no setting names is not looked in, whatever its columns: its values are no versions
-- (they failed the registration: 22P02), nor its owner trusted (code of its owner's, a cast
-- or a policy, ran as whoever registered).
CREATE TABLE reinstall_lookalike (model_name text, model_version text, input_hash text,
                                  output_data text, created_at text);
INSERT INTO reinstall_lookalike VALUES ('reinstall_other', 'v3', 'x', '{}', 'yesterday');
DROP EXTENSION ai_scale;
CREATE EXTENSION ai_scale;
SELECT ai_scale.register_model('reinstall_m', 'linear', ARRAY['a'], '{"weights": [100]}')
    AS version_after_reinstall;
SELECT ai_scale.predict('reinstall_m', '{"a": 2}') AS after_reinstall;
SELECT ai_scale.register_model('reinstall_r', 'linear', ARRAY['a'], '{"weights": [100]}')
    AS role_store_version_after_reinstall;
SET ai_scale.store_table = 'public.reinstall-role-store';
SELECT ai_scale.predict('reinstall_r', '{"a": 2}') AS after_reinstall_role_store;
SET ai_scale.store_table = 'public.reinstall_store';
-- A model the store has no outputs of starts at 1.
SELECT ai_scale.register_model('reinstall_other', 'linear', ARRAY['a'], '{"weights": [1]}');
-- A role that may not read the store registers without an error (the store is not consulted).
CREATE ROLE reinstall_admin;
GRANT INSERT, UPDATE, DELETE ON ai_scale.models TO reinstall_admin;
GRANT INSERT, UPDATE ON ai_scale.model_last_versions TO reinstall_admin;
-- Nor does it end the session under exit_on_error (the configuration files it may not read
-- are not read, not tried, nor are stores it may SELECT from but in a schema it may not use,
-- or whose rows a policy would filter), nor warn under standard_conforming_strings = off (in a
-- new session: the function's statements were planned already in this one).
CREATE SCHEMA reinstall_hidden;
SELECT ai_scale.create_prediction_store('reinstall_hidden.preds') IS NOT NULL AS made;
CREATE TABLE public.reinstall_rls (LIKE reinstall_hidden.preds);
ALTER TABLE public.reinstall_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY reinstall_rls_read ON public.reinstall_rls FOR SELECT USING (true);
GRANT SELECT ON reinstall_hidden.preds, public.reinstall_rls TO reinstall_admin;
CREATE ROLE reinstall_r1;
ALTER ROLE reinstall_r1 SET ai_scale.store_table = 'reinstall_hidden.preds';
CREATE ROLE reinstall_r2;
ALTER ROLE reinstall_r2 SET ai_scale.store_table = 'public.reinstall_rls';
\c -
SET client_min_messages = warning;
SET ROLE reinstall_admin;
SET exit_on_error = on;
SET standard_conforming_strings = off;
SELECT ai_scale.register_model('reinstall_blind', 'linear', ARRAY['a'], '{"weights": [1]}');
RESET standard_conforming_strings;
RESET exit_on_error;
SELECT 'still connected' AS after_exit_on_error;
RESET ROLE;
-- A store left with FORCE ROW LEVEL SECURITY after its row-level security was disabled
-- applies no policy, and is read as its owner (it was skipped: the name got version 1
-- beside the store's 7).
CREATE TABLE public.reinstall_forced (model_name text, model_version int);
INSERT INTO public.reinstall_forced VALUES ('reinstall_forced_m', 7);
ALTER TABLE public.reinstall_forced FORCE ROW LEVEL SECURITY;
ALTER TABLE public.reinstall_forced OWNER TO reinstall_r1;
SET ai_scale.store_table = 'public.reinstall_forced';
SELECT ai_scale.register_model('reinstall_forced_m', 'linear', ARRAY['a'], '{"weights": [1]}')
    AS version_past_the_store;
-- A store whose model_version is a bigint (widened from int) or a smallint (here a domain over
-- a domain over one; model_name a domain over text) is read too (it was
-- skipped: the name got version 1 again beside the store's 7, and L3 answered the new model's
-- inputs with the old one's outputs). A version there past the highest an int may be leaves no
-- number to give.
CREATE TABLE public.reinstall_wide (model_name text, model_version bigint);
INSERT INTO public.reinstall_wide VALUES ('reinstall_wide_m', 7), ('reinstall_full_m', 3000000000);
CREATE DOMAIN public.reinstall_positive AS smallint CHECK (VALUE > 0);
CREATE DOMAIN public.reinstall_version AS public.reinstall_positive;
CREATE DOMAIN public.reinstall_name AS text;
CREATE TABLE public.reinstall_narrow (model_name public.reinstall_name,
                                      model_version public.reinstall_version);
INSERT INTO public.reinstall_narrow VALUES ('reinstall_narrow_m', 5);
SET ai_scale.store_table = 'public.reinstall_wide';
SELECT ai_scale.register_model('reinstall_wide_m', 'linear', ARRAY['a'], '{"weights": [1]}')
    AS version_past_the_bigint_store;
\set VERBOSITY terse
SELECT ai_scale.register_model('reinstall_full_m', 'linear', ARRAY['a'], '{"weights": [1]}');
\set VERBOSITY default
SET ai_scale.store_table = 'public.reinstall_narrow';
SELECT ai_scale.register_model('reinstall_narrow_m', 'linear', ARRAY['a'], '{"weights": [1]}')
    AS version_past_the_smallint_store;
-- One of other types (name and numeric here; citext, oid), which L3 reads all the same, is not
-- read (comparing them with text would run their own code): the registration says so, as its
-- number may then be one whose outputs the store holds (L3 answered them silently).
CREATE TABLE public.reinstall_other (model_name name, model_version numeric);
INSERT INTO public.reinstall_other VALUES ('reinstall_other_m', 4);
SET ai_scale.store_table = 'public.reinstall_other';
SELECT ai_scale.register_model('reinstall_other_m', 'linear', ARRAY['a'], '{"weights": [1]}')
    AS version_beside_the_other_store;
RESET ai_scale.store_table;
DROP TABLE public.reinstall_forced, public.reinstall_wide, public.reinstall_narrow,
           public.reinstall_other;
DROP DOMAIN public.reinstall_version, public.reinstall_positive, public.reinstall_name;
-- Left as the other tests expect it.
DROP EXTENSION ai_scale;
DROP SCHEMA reinstall_hidden CASCADE;
DROP TABLE public.reinstall_rls;
DROP ROLE reinstall_r1, reinstall_r2;
DROP ROLE reinstall_admin;
DROP TABLE public.reinstall_store, public."reinstall-role-store", reinstall_lookalike;
DROP ROLE reinstall_app;
RESET ai_scale.store_table;
RESET client_min_messages;
CREATE EXTENSION ai_scale;
