-- A role that may not insert into the store (an application role, the store being a
-- superuser's) gets from predict() Postgres's "permission denied for table", and a hint that
-- names both ways out: the GRANT, or ai_scale.store_mode = off. It used to get no hint, and
-- the way out without a grant is not one a DBA new to ai_scale would guess.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET ai_scale.store_table = 'public.grant_hint_store';
SELECT ai_scale.create_prediction_store('public.grant_hint_store', premake => 1) AS store;
SELECT ai_scale.register_model('grant_hint_lin', 'linear', ARRAY['a'], '{"weights": [2]}');
SET ai_scale.redis_read_from = 'primary';
CREATE ROLE "Grant Hint App";
GRANT SELECT ON public.grant_hint_store TO "Grant Hint App";
SET ROLE "Grant Hint App";
-- sync, async (a row the role may not insert is not queued) and a batch.
SELECT ai_scale.predict('grant_hint_lin', '{"a": 1}');
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('grant_hint_lin', '{"a": 2}');
SELECT ai_scale.predict_batch('grant_hint_lin', ARRAY['{"a": 3}'::jsonb]);
-- The second way out: scored and cached, not stored.
SET ai_scale.store_mode = off;
SELECT ai_scale.predict('grant_hint_lin', '{"a": 4}') ->> 'score' AS not_stored;
RESET ai_scale.store_mode;
-- The first: the GRANT the hint gives.
RESET ROLE;
GRANT INSERT, SELECT ON public.grant_hint_store TO "Grant Hint App";
SET ROLE "Grant Hint App";
SELECT ai_scale.predict('grant_hint_lin', '{"a": 5}') ->> 'source' AS stored;
-- A role that may not use the store's schema (a new application role, the store in a schema
-- of the DBA's) got Postgres's bare "permission denied for schema" from every predict(), sync
-- or async, before any hint could be given: the hint now gives the schema's GRANT too. (Its
-- lookups, cache_get's, are misses.)
RESET ROLE;
CREATE SCHEMA grant_hint_private;
SELECT ai_scale.create_prediction_store('grant_hint_private.store', premake => 1) AS store;
SET ai_scale.store_table = 'grant_hint_private.store';
SET ROLE "Grant Hint App";
SELECT ai_scale.cache_get('grant_hint_lin', 1, '{"a": 8}') AS a_miss;
SELECT ai_scale.predict('grant_hint_lin', '{"a": 8}');
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('grant_hint_lin', '{"a": 9}');
RESET ai_scale.store_mode;
RESET ROLE;
GRANT USAGE ON SCHEMA grant_hint_private TO "Grant Hint App";
GRANT INSERT, SELECT ON grant_hint_private.store TO "Grant Hint App";
SET ROLE "Grant Hint App";
SELECT ai_scale.predict('grant_hint_lin', '{"a": 10}') ->> 'source' AS stored;
RESET ROLE;
SELECT count(*) AS rows_stored FROM grant_hint_private.store;
DROP SCHEMA grant_hint_private CASCADE;
SET ai_scale.store_table = 'public.grant_hint_store';
-- A 42501 the role's INSERT right does not explain keeps Postgres's own message, with no hint
-- about grants: a SECURITY DEFINER trigger function whose owner may not write where it writes
-- (the hint named that owner, the current user when the error came, and the store)...
RESET ROLE;
CREATE ROLE "Grant Hint Owner";
CREATE TABLE public.grant_hint_audit (a jsonb);
CREATE FUNCTION public.grant_hint_audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO public.grant_hint_audit VALUES (NEW.input_data);
    RETURN NEW;
END $$;
ALTER FUNCTION public.grant_hint_audit() OWNER TO "Grant Hint Owner";
CREATE TRIGGER grant_hint_audit BEFORE INSERT ON public.grant_hint_store
    FOR EACH ROW EXECUTE FUNCTION public.grant_hint_audit();
SET ROLE "Grant Hint App";
SELECT ai_scale.predict('grant_hint_lin', '{"a": 7}');
RESET ROLE;
DROP TRIGGER grant_hint_audit ON public.grant_hint_store;
DROP FUNCTION public.grant_hint_audit();
DROP TABLE public.grant_hint_audit;
DROP ROLE "Grant Hint Owner";
-- ... or a row-level security policy's.
ALTER TABLE public.grant_hint_store ENABLE ROW LEVEL SECURITY;
CREATE POLICY grant_hint_read ON public.grant_hint_store FOR SELECT USING (true);
SET ROLE "Grant Hint App";
SELECT ai_scale.predict('grant_hint_lin', '{"a": 6}');
RESET ROLE;
SELECT count(*) AS rows_stored FROM public.grant_hint_store;
DROP TABLE public.grant_hint_store;
SELECT ai_scale.drop_model('grant_hint_lin');
DROP ROLE "Grant Hint App";
RESET ai_scale.store_table;
RESET ai_scale.redis_read_from;
