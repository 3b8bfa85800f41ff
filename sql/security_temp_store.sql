-- A temporary store (store_table naming pg_temp) is each session's own table, written by
-- whichever role the session runs as: its rows are answers for that session only. L3 hits from
-- it were copied to L1 and Redis, where they answered every role's cache_get and predict()
-- in the database: a role given such a store_table put any output into the cache, as only
-- cache_put's grantees may. They are answered, not cached.
SET client_min_messages = warning;
SET ai_scale.redis_read_from = 'primary';
CREATE ROLE security_temp_writer;
SELECT ai_scale.register_model('sec_tmp', 'linear', ARRAY['a'], '{"weights": [3]}') AS version;
SET ai_scale.store_table = 'pg_temp.sec_log';
SET ROLE security_temp_writer;
CREATE TEMP TABLE sec_log (
    model_name text NOT NULL, model_version int NOT NULL, input_data jsonb NOT NULL,
    output_data jsonb, input_hash bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
-- Outputs the model does not compute, written by the role.
INSERT INTO sec_log (model_name, model_version, input_data, output_data, input_hash)
SELECT 'sec_tmp', 1, i, '{"score": 666}', ai_scale.input_hash(i)
  FROM unnest(ARRAY['{"a": 7}', '{"a": 8}', '{"a": 9}']::jsonb[]) i;
-- The session reads its own store, one input and a batch.
SELECT ai_scale.cache_get('sec_tmp', 1, '{"a": 7}') AS own_row;
SELECT ai_scale.cache_get_many('sec_tmp', 1, ARRAY['{"a": 8}', '{"a": 9}']::jsonb[]) AS own_rows;
SELECT ai_scale.predict('sec_tmp', '{"a": 7}') ->> 'source' AS own_source;
RESET ROLE;
RESET ai_scale.store_table;
-- Another role, or a session without that store, gets nothing from the cache: the model's
-- scores (21, 24, 27), computed. (And not stored: this file needs no store an earlier one made.)
SET ai_scale.store_mode = off;
SELECT ai_scale.cache_get('sec_tmp', 1, '{"a": 7}') AS cached;
SELECT ai_scale.cache_get_many('sec_tmp', 1, ARRAY['{"a": 8}', '{"a": 9}']::jsonb[]) AS cached;
SELECT p ->> 'score' AS score, p ->> 'source' AS source
  FROM unnest(ai_scale.predict_batch('sec_tmp', ARRAY['{"a": 7}', '{"a": 8}', '{"a": 9}']::jsonb[])) p;
RESET ai_scale.store_mode;
SET ROLE security_temp_writer;
DROP TABLE pg_temp.sec_log;
RESET ROLE;
SELECT ai_scale.drop_model('sec_tmp');
DROP ROLE security_temp_writer;
RESET ai_scale.redis_read_from;
