-- predict()'s insert into the store, and the store's lookups, run with settings of their own
-- where the session's would hurt their plans: plan_cache_mode auto (not force_generic_plan),
-- enable_partition_pruning on, jit off (a session's low jit_above_cost had each small query
-- compiled anew, 20 ms more a call). A trigger on the store sees them; the session keeps its own.
SET client_min_messages = warning;
SET ai_scale.store_table = 'public.pin_store';
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.create_prediction_store('public.pin_store') AS store;
SELECT ai_scale.register_model('pin_m', 'linear', ARRAY['a'], '{"weights": [3]}') AS version;
CREATE TABLE public.pin_seen (jit text, plan_cache_mode text, enable_partition_pruning text,
                              search_path text);
CREATE FUNCTION public.pin_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.pin_seen
    VALUES (current_setting('jit'), current_setting('plan_cache_mode'),
            current_setting('enable_partition_pruning'), current_setting('search_path'));
    RETURN NEW;
END $$;
CREATE TRIGGER pin_note BEFORE INSERT ON public.pin_store
    FOR EACH ROW EXECUTE FUNCTION public.pin_note();
SET jit = on;
SET jit_above_cost = 0;
SET plan_cache_mode = force_generic_plan;
SET enable_partition_pruning = off;
SELECT ai_scale.predict('pin_m', '{"a": 2}') ->> 'score' AS score;
SELECT * FROM public.pin_seen;
SELECT current_setting('jit') AS jit, current_setting('plan_cache_mode') AS plan_cache_mode,
       current_setting('enable_partition_pruning') AS enable_partition_pruning;
-- Where the session has them as they are pinned, nothing is set: the same values.
RESET jit;
RESET jit_above_cost;
RESET plan_cache_mode;
RESET enable_partition_pruning;
SET jit = off;
TRUNCATE public.pin_seen;
SELECT ai_scale.predict('pin_m', '{"a": 3}') ->> 'score' AS score;
SELECT * FROM public.pin_seen;
RESET jit;
DROP TABLE public.pin_store, public.pin_seen;
DROP FUNCTION public.pin_note();
SELECT ai_scale.drop_model('pin_m');

-- The settings the extension's functions pin beside search_path, as a reviewed list: with
-- force_generic_plan (or partition pruning off) in the session, register_model's read of the
-- store's highest version planned every partition (3.4 s at 602 partitions, 0.33 s pinned);
-- with JIT on, the partition entry points and registration compiled their small queries anew at
-- each call (sql/partition_rescue shows it for the moves). A SET clause dropped, or one added
-- without review, changes this list.
SELECT p.proname, array_to_string(ARRAY(SELECT c FROM unnest(p.proconfig) c
                                         WHERE c !~ '^search_path='), ', ') AS settings
  FROM pg_proc p
 WHERE p.pronamespace = 'ai_scale'::regnamespace
   AND EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c !~ '^search_path=')
 ORDER BY 1, 2;
