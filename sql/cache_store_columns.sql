-- A store that lacks a column the lookups read (its owner dropped or renamed it) fails each
-- lookup with an error that names the store setting and the column, and says what to do.
-- Postgres's own parse error of the lookup's text named an alias the user never wrote
-- ("column s.input_hash does not exist", from cache_get_many) and hinted at input_data.
-- Answers from L1 and Redis need no lookup and go on; the store answers again once the
-- column is back.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
SET ai_scale.store_table = 'public."Col Store"';
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.create_prediction_store('public."Col Store"') AS store;
SELECT ai_scale.register_model('col_m', 'linear', ARRAY['a'], '{"weights": [2]}') AS version;
INSERT INTO public."Col Store" (model_name, model_version, input_data, output_data, input_hash)
VALUES ('col_m', 1, '{"a": 1}', '{"score": 20}', ai_scale.input_hash('{"a": 1}'));
SELECT ai_scale.cache_get('col_m', 1, '{"a": 1}') AS from_store;
-- Cached now: answered without a lookup, whatever the store's shape.
ALTER TABLE public."Col Store" DROP COLUMN input_hash;
SELECT ai_scale.cache_get('col_m', 1, '{"a": 1}') AS from_l1;
SELECT ai_scale.cache_invalidate('col_m', 1);
SELECT ai_scale.cache_get('col_m', 1, '{"a": 1}');
SELECT ai_scale.cache_get_many('col_m', 1, ARRAY['{"a": 1}', '{"a": 2}']::jsonb[]);
SELECT ai_scale.predict('col_m', '{"a": 3}');
\set VERBOSITY sqlstate
SELECT ai_scale.cache_get('col_m', 1, '{"a": 1}');
\set VERBOSITY default
-- Back, but empty for the row stored before: a miss, no error.
ALTER TABLE public."Col Store" ADD COLUMN input_hash bigint;
SELECT ai_scale.cache_get('col_m', 1, '{"a": 1}') AS without_hash;
UPDATE public."Col Store" SET input_hash = ai_scale.input_hash(input_data);
SELECT ai_scale.cache_get('col_m', 1, '{"a": 1}') AS hash_back;
-- Renamed: the same error, for the output.
SELECT ai_scale.cache_invalidate('col_m', 1);
ALTER TABLE public."Col Store" RENAME COLUMN output_data TO "Output";
SELECT ai_scale.cache_get('col_m', 1, '{"a": 1}');
ALTER TABLE public."Col Store" RENAME COLUMN "Output" TO output_data;
SELECT ai_scale.cache_get('col_m', 1, '{"a": 1}') AS renamed_back;
DROP TABLE public."Col Store";
-- A store no lookup reads (keyed by date) is not asked for the columns: its WARNING, a miss.
CREATE TABLE public.col_dated (model_name text, model_version int, input_data jsonb,
                               output_data jsonb, created_at date);
SET ai_scale.store_table = 'public.col_dated';
SET client_min_messages = notice;
SELECT ai_scale.cache_get('col_m', 1, '{"a": 1}') AS dated_store;
SET client_min_messages = warning;
SET ai_scale.store_table = 'public."Col Store"';
DROP TABLE public.col_dated;
SELECT ai_scale.drop_model('col_m');
