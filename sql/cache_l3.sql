-- L3: the prediction store. A lookup by (model_name, model_version, input_hash, input_data)
-- within ai_scale.cache_ttl; hits are written back to Redis and L1. The store is made here by
-- plain DDL, as a user (or create_prediction_store) would.
\i sql/include/levels.sql
\i sql/include/wait_for_replica.sql
\i sql/include/try.sql

-- No store table: L3 is a miss, not an error (and is not counted).
SHOW ai_scale.store_table;
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l3_model', 1, '{"f": 1}') AS no_store;
SELECT * FROM pg_temp.levels();

CREATE TABLE public.model_predictions (
    prediction_id uuid NOT NULL DEFAULT gen_random_uuid(),
    model_name text NOT NULL,
    model_version int NOT NULL,
    input_data jsonb NOT NULL,
    output_data jsonb,
    input_hash bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (created_at);
CREATE TABLE public.model_predictions_default PARTITION OF public.model_predictions DEFAULT;
CREATE INDEX ON public.model_predictions (model_name, model_version, input_hash, created_at);

INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash, created_at)
SELECT 'l3_model', 1, i, jsonb_build_object('p', n), ai_scale.input_hash(i), now() - age
FROM (VALUES ('{"f": 1}'::jsonb, 1, interval '1 minute'),
             ('{"f": 2}', 2, interval '2 hours'),   -- older than the TTL (1 hour)
             ('{"f": 1}', 3, interval '10 minutes') -- an older prediction for the same input
     ) AS v(i, n, age);

SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l3_model', 1, '{"f": 1}') AS newest_from_store,
       ai_scale.cache_get('l3_model', 1, '{"f": 2}') AS too_old,
       ai_scale.cache_get('l3_model', 2, '{"f": 1}') AS other_version;
SELECT * FROM pg_temp.levels();

-- The hit was written back: the next read is an L1 hit, and Redis has it too.
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l3_model', 1, '{"f": 1}') AS again;
SELECT * FROM pg_temp.levels();
SET ai_scale.cache_use_l1 = off;
SELECT pg_temp.wait_for_replica(); -- the write-back, read from the replica next
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l3_model', 1, '{"f": 1}') AS from_redis;
SELECT * FROM pg_temp.levels();
RESET ai_scale.cache_use_l1;

-- cache_get has no SET search_path clause (it runs per row); its store lookup runs under a
-- search_path pinned in C, so a hostile operator ahead of pg_catalog is not used.
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
VALUES ('l3_model', 1, '{"f": 5}', '{"p": 5}', ai_scale.input_hash('{"f": 5}'));
CREATE SCHEMA l3_evil;
CREATE FUNCTION l3_evil.texteq_evil(text, text) RETURNS boolean LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'hijacked'; END$$;
CREATE OPERATOR l3_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = l3_evil.texteq_evil);
SET search_path = l3_evil, pg_catalog, public;
SELECT pg_temp.try($$SELECT 'x'::text = 'x'::text$$) AS hijacked_here;
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l3_model', 1, '{"f": 5}') AS from_store_safely;
SHOW search_path;
RESET search_path;
SELECT * FROM pg_temp.levels();
DROP SCHEMA l3_evil CASCADE;

-- A longer TTL widens the window; cache_get_many reaches L3 for what the levels above miss.
SET ai_scale.cache_ttl = '1d';
SELECT ai_scale.cache_get_many('l3_model', 1, ARRAY['{"f": 2}', '{"f": 3}']::jsonb[]) AS batch;
RESET ai_scale.cache_ttl;

-- The store is found through ai_scale.store_table; a missing one is a miss.
SET ai_scale.store_table = 'public.no_such_table';
SELECT ai_scale.cache_get('l3_model', 7, '{"f": 1}') AS missing_store;
SET ai_scale.store_table = 'no_such_schema.t';
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l3_model', 7, '{"f": 1}') AS missing_schema;
-- No lookup was made: it counts in neither l3 / hits nor l3 / misses (docs/cache.md).
SELECT * FROM pg_temp.levels();
RESET ai_scale.store_table;

-- A store in a schema the user may not use is a miss for that user, not a 42501 error.
CREATE SCHEMA l3_private;
CREATE TABLE l3_private.store (LIKE public.model_predictions INCLUDING DEFAULTS);
INSERT INTO l3_private.store (model_name, model_version, input_data, output_data, input_hash, created_at)
VALUES ('l3_model', 8, '{"f": 1}', '{"p": 8}', ai_scale.input_hash('{"f": 1}'), now());
CREATE ROLE cache_l3_outsider;
GRANT SELECT ON l3_private.store TO cache_l3_outsider;
SET ai_scale.store_table = 'l3_private.store';
SET ROLE cache_l3_outsider;
SELECT ai_scale.cache_get('l3_model', 8, '{"f": 1}') AS no_schema_usage;
SELECT ai_scale.cache_get_many('l3_model', 8, ARRAY['{"f": 1}']::jsonb[]) AS no_schema_usage_many;
RESET ROLE;
SELECT ai_scale.cache_get('l3_model', 8, '{"f": 1}') AS owner_reads_it;
-- Only a table or a partitioned table is taken for the store, never a view: a view's query (or
-- its INSTEAD OF trigger) would run its owner's code with the rights of whoever calls
-- cache_get() or predict(). Through a view of the same rows, the lookup is a miss.
CREATE VIEW l3_private.store_view AS SELECT * FROM l3_private.store;
SET ai_scale.store_table = 'l3_private.store_view';
SELECT ai_scale.cache_invalidate('l3_model', 8);
SELECT ai_scale.cache_get('l3_model', 8, '{"f": 1}') AS through_a_view;
SELECT ai_scale.cache_get_many('l3_model', 8, ARRAY['{"f": 1}']::jsonb[]) AS through_a_view_many;
RESET ai_scale.store_table;
DROP SCHEMA l3_private CASCADE;
DROP ROLE cache_l3_outsider;

-- A user who may not read the store gets misses from L3, not errors.
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
VALUES ('l3_model', 9, '{"f": 1}', '{"p": 9}', ai_scale.input_hash('{"f": 1}'));
CREATE ROLE cache_l3_reader;
SET ROLE cache_l3_reader;
SELECT ai_scale.cache_get('l3_model', 9, '{"f": 1}') AS no_privilege;
-- Writing to the cache is granted explicitly: every reader trusts what is in it.
SELECT ai_scale.cache_put('l3_model', 9, '{"f": 1}', '{"p": "forged"}');
SELECT ai_scale.cache_invalidate('l3_model');
RESET ROLE;
SELECT ai_scale.cache_get('l3_model', 9, '{"f": 1}') AS with_privilege;
DROP ROLE cache_l3_reader;

-- cache_get_many asks the store once for all the inputs the levels above missed: each input
-- gets its newest stored output within the TTL, a repeated input is looked up once and each
-- copy gets that answer, and the stats count a hit or a miss per distinct input.
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash, created_at)
SELECT 'l3_many', 1, jsonb_build_object('g', g), jsonb_build_object('p', g * 10 + k), ai_scale.input_hash(jsonb_build_object('g', g)),
       now() - k * interval '1 minute'
FROM generate_series(1, 4) g, generate_series(0, 2) k;  -- k = 0 is the newest of three rows
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash, created_at)
VALUES ('l3_many', 1, '{"g": 5}', '{"p": "stale"}', ai_scale.input_hash('{"g": 5}'), now() - interval '2 hours');
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.reset_stats();
SELECT i, v FROM unnest(ai_scale.cache_get_many('l3_many', 1,
    ARRAY['{"g": 3}', '{"g": 9}', NULL, '{"g": 1}', '{"g": 5}', '{"g": 3}']::jsonb[])) WITH ORDINALITY AS t(v, i)
ORDER BY i;
SELECT * FROM pg_temp.levels();
RESET ai_scale.cache_use_l1;

DROP TABLE public.model_predictions;
