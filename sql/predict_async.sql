-- store_mode = async: predict() queues new predictions in shared memory and the store worker
-- of this database inserts them; the test waits for them (up to 60 s), never for a time.
SET client_min_messages = warning;
SET ai_scale.store_table = 'public.async_store';
SELECT ai_scale.create_prediction_store('public.async_store') AS store;
SELECT ai_scale.register_model('a_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
SET ai_scale.store_mode = async;

SELECT count(*) AS answered, count(*) FILTER (WHERE p ->> 'source' = 'cpu') AS scored
FROM (SELECT ai_scale.predict('a_lin', jsonb_build_object('a', i, 'b', 1)) AS p
      FROM generate_series(1, 300) i) s;
SELECT cardinality(ai_scale.predict_batch('a_lin',
           array_agg(jsonb_build_object('a', i, 'b', 2)))) AS batch_answered
FROM generate_series(1, 200) i;

CREATE FUNCTION pg_temp.wait_for_rows(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    c bigint;
BEGIN
    FOR i IN 1..600 LOOP
        SELECT count(*) INTO c FROM public.async_store;
        EXIT WHEN c >= n;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN c;
END $$;
SELECT pg_temp.wait_for_rows(500) AS stored_rows;
SELECT count(DISTINCT input_data) AS distinct_inputs,
       bool_and(input_hash = ai_scale.input_hash(input_data)) AS hashes_ok,
       bool_and((output_data ->> 'score')::float8 = (input_data ->> 'a')::float8 + 2 * (input_data ->> 'b')::float8) AS outputs_ok
FROM public.async_store;
-- The worker that wrote them, named in pg_stat_activity.
SELECT backend_type, datname = current_database() AS this_database
FROM pg_stat_activity WHERE backend_type = 'ai_scale store';

-- A user who may not insert into the store gets the permission error, not a queued row.
CREATE ROLE predict_async_reader;
GRANT USAGE ON SCHEMA ai_scale TO predict_async_reader;
GRANT SELECT ON public.async_store TO predict_async_reader;
SET ROLE predict_async_reader;
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a_lin', '{"a": 1000, "b": 1}');
RESET ROLE;
SELECT count(*) AS not_stored FROM public.async_store WHERE input_data = '{"a": 1000, "b": 1}';

-- The worker inserts as the role that predicted: a trigger on the store sees that role.
CREATE TABLE public.async_audit (who name, input jsonb);
CREATE FUNCTION public.async_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.async_audit VALUES (current_user, NEW.input_data);
    RETURN NEW;
END $$;
CREATE TRIGGER audit BEFORE INSERT ON public.async_store
    FOR EACH ROW EXECUTE FUNCTION public.async_audit_row();
CREATE ROLE predict_async_writer;
GRANT USAGE ON SCHEMA ai_scale TO predict_async_writer;
GRANT SELECT, INSERT ON public.async_store, public.async_audit TO predict_async_writer;
SET ROLE predict_async_writer;
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a_lin', '{"a": 2000, "b": 1}') ->> 'source' AS source;
RESET ROLE;
SELECT pg_temp.wait_for_rows(501) AS stored_rows;
SELECT who FROM public.async_audit WHERE input = '{"a": 2000, "b": 1}';

-- A terminated store worker drains and closes the queue; the next predict() inserts
-- synchronously and starts a new worker, which reopens it, so later predictions queue again.
CREATE FUNCTION pg_temp.wait_until(probe text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    ok boolean;
BEGIN
    FOR i IN 1..600 LOOP
        PERFORM pg_stat_clear_snapshot(); -- else pg_stat_activity stays as first read
        EXECUTE probe INTO ok;
        IF ok THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END $$;
SELECT pg_temp.wait_until($$SELECT EXISTS (SELECT FROM pg_stat_activity
                                           WHERE backend_type = 'ai_scale store')$$) AS worker_running;
SELECT count(pg_terminate_backend(pid)) AS terminated FROM pg_stat_activity
WHERE backend_type = 'ai_scale store' AND datname = current_database();
SELECT pg_temp.wait_until($$SELECT NOT EXISTS (SELECT FROM pg_stat_activity
                                               WHERE backend_type = 'ai_scale store')$$) AS worker_gone;
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a_lin', '{"a": 3000, "b": 1}') ->> 'source' AS source;
SELECT count(*) AS stored_in_the_call FROM public.async_store WHERE input_data = '{"a": 3000, "b": 1}';
SELECT pg_temp.wait_until($$SELECT EXISTS (SELECT FROM pg_stat_activity
                                           WHERE backend_type = 'ai_scale store')$$) AS worker_back;
SELECT count(*) AS queued FROM (SELECT ai_scale.predict('a_lin', jsonb_build_object('a', 3000 + i, 'b', 1))
                                FROM generate_series(1, 50) i) s;
SELECT pg_temp.wait_until($$SELECT count(*) = 51 FROM public.async_store
                           WHERE (input_data ->> 'a')::int BETWEEN 3000 AND 3050$$) AS all_stored;

-- Rows of two roles queued in one statement are inserted each as its own role: a batch holds
-- the rows of one role (and one model version) only.
CREATE FUNCTION public.predict_as_writer(input jsonb) RETURNS jsonb LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog AS $$ SELECT ai_scale.predict('a_lin', input) $$;
ALTER FUNCTION public.predict_as_writer(jsonb) OWNER TO predict_async_writer;
SELECT count(*) AS queued
FROM (SELECT CASE WHEN i % 2 = 0 THEN ai_scale.predict('a_lin', jsonb_build_object('a', 7000 + i, 'b', 1))
                  ELSE public.predict_as_writer(jsonb_build_object('a', 7000 + i, 'b', 1)) END
      FROM generate_series(1, 200) i) s;
SELECT pg_temp.wait_until($$SELECT count(*) = 200 FROM public.async_store
                           WHERE (input_data ->> 'a')::int BETWEEN 7001 AND 7200$$) AS all_stored;
SELECT (input ->> 'a')::int % 2 = 0 AS even, who, count(*) FROM public.async_audit
WHERE (input ->> 'a')::int BETWEEN 7001 AND 7200 GROUP BY 1, 2 ORDER BY 1, 2;

-- Rows of two versions of a model, queued one statement apart (the worker takes both in one
-- drain, or two), are stored each under its own version and with its own output.
SELECT ai_scale.register_model('a_ver', 'linear', ARRAY['a'], '{"weights": [1]}') AS v1;
SELECT ai_scale.predict('a_ver', '{"a": 1}') ->> 'version' AS predicted_with;
SELECT ai_scale.register_model('a_ver', 'linear', ARRAY['a'], '{"weights": [100]}') AS v2;
SELECT ai_scale.predict('a_ver', '{"a": 2}') ->> 'version' AS predicted_with;
SELECT pg_temp.wait_until($$SELECT count(*) = 2 FROM public.async_store WHERE model_name = 'a_ver'$$) AS both_stored;
SELECT model_version, input_data, output_data FROM public.async_store
WHERE model_name = 'a_ver' ORDER BY model_version;
SELECT ai_scale.drop_model('a_ver');

-- A store whose schema and name need quoting: the worker's insert names it quoted (a name
-- written out bare lost every queued row of such a store, "relation ... does not exist").
CREATE SCHEMA "Async Schema";
SELECT ai_scale.create_prediction_store('"Async Schema"."Async Preds"') AS store;
SET ai_scale.store_table = '"Async Schema"."Async Preds"';
SELECT ai_scale.register_model('a_two', 'linear', ARRAY['a'], '{"weights": [2]}') AS v;
SELECT count(*) AS queued
FROM (SELECT ai_scale.predict(CASE WHEN i % 2 = 0 THEN 'a_lin' ELSE 'a_two' END,
                              jsonb_build_object('a', 7500 + i, 'b', 1))
      FROM generate_series(1, 10) i) s;
SELECT pg_temp.wait_until($$SELECT count(*) = 10 FROM "Async Schema"."Async Preds"$$) AS all_stored;
-- Rows of two models interleaved in a store with no trigger or rule: not a transaction a run of
-- one row (10 commits), but an INSERT a run and the runs of a pass in one transaction (a store
-- with triggers has its runs written a transaction each: a trigger catching the group's short
-- lock wait would have skipped its work).
SELECT count(DISTINCT xmin::text) < 5 AS few_transactions FROM "Async Schema"."Async Preds";
SELECT ai_scale.drop_model('a_two');
SET ai_scale.store_table = 'public.async_store';
DROP SCHEMA "Async Schema" CASCADE;

-- A store with row-level security in force for the caller is written in the call, never
-- queued: the caller gets the policy's error (the worker would have lost the row, with a
-- WARNING in the server's log only).
CREATE TABLE public.async_rls (LIKE public.async_store INCLUDING DEFAULTS);
ALTER TABLE public.async_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY async_rls_read ON public.async_rls FOR SELECT USING (true);
GRANT SELECT, INSERT ON public.async_rls TO predict_async_writer;
SET ai_scale.store_table = 'public.async_rls';
SET ROLE predict_async_writer;
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a_lin', '{"a": 8000, "b": 1}');
RESET ROLE;
SET ai_scale.store_table = 'public.async_store';
DROP TABLE public.async_rls;

-- A version registered in the calling transaction may be rolled back, and its number then given
-- to another model: its predictions are inserted in the transaction, never queued (the worker
-- would store them whatever the transaction does, and L3 would serve them for the next model
-- to get that number).
BEGIN;
SELECT ai_scale.register_model('a_lin', 'linear', ARRAY['a', 'b'], '{"weights": [100, 0]}') AS v_rolled_back;
SELECT ai_scale.predict('a_lin', '{"a": 4000, "b": 1}') ->> 'score' AS score_rolled_back;
SELECT count(*) AS stored_in_the_transaction FROM public.async_store WHERE input_data = '{"a": 4000, "b": 1}';
ROLLBACK;
SELECT ai_scale.register_model('a_lin', 'linear', ARRAY['a', 'b'], '{"weights": [0, 5]}') AS v_again;
SELECT ai_scale.predict('a_lin', '{"a": 4000, "b": 1}') AS answer_of_the_new_model;

-- The same for the store worker: a store whose DO INSTEAD rule makes an insert another kind of
-- statement gets what the rule does (the worker took SPI_OK_REWRITTEN for a failure and lost
-- the batch).
CREATE TABLE public.async_ruled (LIKE public.async_store INCLUDING DEFAULTS);
CREATE TABLE public.async_counted (n int);
INSERT INTO public.async_counted VALUES (0);
CREATE RULE async_count AS ON INSERT TO public.async_ruled
    DO INSTEAD UPDATE public.async_counted SET n = n + 1;
SET ai_scale.store_table = 'public.async_ruled';
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a_lin', '{"a": 5000, "b": 1}') ->> 'source' AS ruled_source;
SELECT pg_temp.wait_until($$SELECT n = 1 FROM public.async_counted$$) AS counted_by_the_worker;
SELECT count(*) AS in_ruled FROM public.async_ruled;
RESET ai_scale.store_mode;
SET ai_scale.store_table = 'public.async_store';
DROP TABLE public.async_ruled, public.async_counted;

-- A store with a constraint deferred to the commit (here a DEFERRABLE INITIALLY DEFERRED
-- foreign key) is written by the worker, which checks it at the end of its insert: Postgres
-- fires no deferred trigger inside the security-restricted operation the worker inserts in, and
-- every batch for such a store failed, and was lost. So is one whose partition alone has a
-- deferred constraint trigger (here one that counts the rows it sees).
CREATE TABLE public.async_model_names (name text PRIMARY KEY);
INSERT INTO public.async_model_names VALUES ('a_lin');
CREATE TABLE public.async_deferred (LIKE public.async_store INCLUDING DEFAULTS,
    FOREIGN KEY (model_name) REFERENCES public.async_model_names DEFERRABLE INITIALLY DEFERRED);
SET ai_scale.store_table = 'public.async_deferred';
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a_lin', '{"a": 6000, "b": 1}') ->> 'source' AS deferred_source;
SELECT pg_temp.wait_until($$SELECT count(*) = 1 FROM public.async_deferred$$) AS stored_by_the_worker;
CREATE TABLE public.async_deferred_parts (LIKE public.async_store INCLUDING DEFAULTS)
    PARTITION BY LIST (model_name);
CREATE TABLE public.async_deferred_lin PARTITION OF public.async_deferred_parts
    FOR VALUES IN ('a_lin');
CREATE TABLE public.async_deferred_seen (n int);
INSERT INTO public.async_deferred_seen VALUES (0);
CREATE FUNCTION public.async_deferred_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.async_deferred_seen SET n = n + 1;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER counted AFTER INSERT ON public.async_deferred_lin
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.async_deferred_count();
SET ai_scale.store_table = 'public.async_deferred_parts';
SELECT ai_scale.predict('a_lin', '{"a": 6001, "b": 1}') ->> 'source' AS partition_deferred_source;
SELECT pg_temp.wait_until($$SELECT count(*) = 1 FROM public.async_deferred_parts$$) AS stored_by_the_worker;
SELECT n AS seen_by_the_trigger FROM public.async_deferred_seen;
RESET ai_scale.store_mode;
SET ai_scale.store_table = 'public.async_store';
DROP TABLE public.async_deferred, public.async_model_names, public.async_deferred_parts,
    public.async_deferred_seen;
DROP FUNCTION public.async_deferred_count();

DROP TABLE public.async_store, public.async_audit;
DROP FUNCTION public.async_audit_row(), public.predict_as_writer(jsonb);
REVOKE USAGE ON SCHEMA ai_scale FROM predict_async_reader, predict_async_writer;
DROP ROLE predict_async_reader, predict_async_writer;
SELECT ai_scale.drop_model('a_lin');
RESET ai_scale.store_mode;
RESET ai_scale.store_table;
