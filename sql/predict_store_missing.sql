-- A store_table that names no table (a typo, a store never made or dropped): predict() scores
-- and caches, stores nothing, and says so with a WARNING, once per session and setting. None
-- where nothing is to be stored on purpose: store_table = '' (no store), store_mode = off.
SET client_min_messages = warning;
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.register_model('sm_lin', 'linear', ARRAY['a'], '{"weights": [2], "bias": 1}') AS v \gset
SET ai_scale.store_table = 'public.model_predictons';
SELECT ai_scale.predict('sm_lin', '{"a": 1}') ->> 'score' AS first;
SELECT ai_scale.predict('sm_lin', '{"a": 2}') ->> 'score' AS once_a_session;
SET ai_scale.store_table = 'public."Model Predictions"';
SELECT ai_scale.predict('sm_lin', '{"a": 3}') ->> 'score' AS another_name;
SET ai_scale.store_table = '';
SELECT ai_scale.predict('sm_lin', '{"a": 4}') ->> 'score' AS no_store;
SET ai_scale.store_table = 'public.model_predictons_2';
SET ai_scale.store_mode = off;
SELECT ai_scale.predict('sm_lin', '{"a": 5}') ->> 'score' AS store_off;
RESET ai_scale.store_mode;
-- A view is no store either.
CREATE VIEW sm_view AS SELECT 1 AS x;
SET ai_scale.store_table = 'public.sm_view';
\set VERBOSITY sqlstate
SELECT ai_scale.predict('sm_lin', '{"a": 6}') ->> 'score' AS a_view;
\set VERBOSITY default
-- Its detail says why (the view's name is no typo); so does that of a name without a schema,
-- looked up in public, not on the search_path, where a table of that name is.
SET ai_scale.store_table = 'sm_view';
SET search_path = public;
SELECT ai_scale.predict('sm_lin', '{"a": 7}') ->> 'score' AS a_view_detail;
CREATE SCHEMA sm_other;
CREATE TABLE sm_other.sm_elsewhere (x int);
SET search_path = sm_other, public;
SET ai_scale.store_table = 'sm_elsewhere';
SELECT ai_scale.predict('sm_lin', '{"a": 8}') ->> 'score' AS unqualified;
RESET search_path;
DROP SCHEMA sm_other CASCADE;
DROP VIEW sm_view;
-- A store made after the warning and dropped again: the warning comes again. It came once a
-- backend and setting, and a pooler's server connection, serving one client after another,
-- then stored nothing unseen.
SET ai_scale.store_table = 'public.sm_later';
SELECT ai_scale.predict('sm_lin', '{"a": 9}') ->> 'score' AS not_made_yet;
SELECT ai_scale.create_prediction_store('public.sm_later') AS store;
SELECT ai_scale.predict('sm_lin', '{"a": 10}') ->> 'score' AS stored;
SELECT count(*) AS rows_stored FROM public.sm_later;
DROP TABLE public.sm_later;
SELECT ai_scale.predict('sm_lin', '{"a": 11}') ->> 'score' AS dropped;
-- A session switching between a setting that names no store (a function's) and one that names
-- one is warned once, not at every switch.
SELECT ai_scale.create_prediction_store('public.sm_here') AS store;
SET ai_scale.store_table = 'public.sm_here';
CREATE FUNCTION pg_temp.sm_elsewhere(x int) RETURNS text LANGUAGE sql
    SET ai_scale.store_table = 'public.sm_nowhere'
    AS $$ SELECT ai_scale.predict('sm_lin', jsonb_build_object('a', x)) ->> 'score' $$;
SELECT pg_temp.sm_elsewhere(100 + i) AS elsewhere,
       ai_scale.predict('sm_lin', jsonb_build_object('a', 200 + i)) ->> 'score' AS here
FROM generate_series(1, 3) i;
DROP TABLE public.sm_here;
RESET ai_scale.store_table;
SELECT ai_scale.drop_model('sm_lin');
