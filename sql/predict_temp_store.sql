-- A temporary store (store_table = 'pg_temp.t', a session's own log) is written by predict()
-- in the calling transaction even with store_mode = async: the store worker cannot write
-- another session's temporary table, and lost every prediction queued for one ("cannot
-- access temporary tables of other sessions" in the log) while predict() had cached it. L3
-- reads it too (it looked for a schema named "pg_temp" and never found the table).
SET client_min_messages = warning;
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.register_model('tmp_lin', 'linear', ARRAY['a'], '{"weights": [3]}') AS version;
CREATE TEMP TABLE tmp_store (
    model_name text NOT NULL, model_version int NOT NULL, input_data jsonb NOT NULL,
    output_data jsonb, input_hash bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
SET ai_scale.store_table = 'pg_temp.tmp_store';
SET ai_scale.store_mode = async;
SELECT ai_scale._readable_store() AS store;
SELECT ai_scale.predict('tmp_lin', '{"a": 1}') ->> 'source' AS scored;
SELECT array_length(ai_scale.predict_batch('tmp_lin', ARRAY['{"a": 2}', '{"a": 3}']::jsonb[]), 1) AS batch;
-- Stored at once, by this session.
SELECT input_data, output_data FROM pg_temp.tmp_store ORDER BY input_data;
-- L3 reads it (pg_temp is the session's temporary schema): after an invalidation, the store
-- answers.
SELECT ai_scale.cache_invalidate('tmp_lin');
SELECT ai_scale.predict('tmp_lin', '{"a": 1}') ->> 'source' AS from_store;
-- In a transaction that rolls back, the rows go with it (they were not queued).
BEGIN;
SELECT ai_scale.predict('tmp_lin', '{"a": 4}') ->> 'source' AS scored;
ROLLBACK;
SELECT count(*) AS stored FROM pg_temp.tmp_store;
SELECT ai_scale.predict('tmp_lin', '{"a": 4}') ->> 'source' AS scored_again;
DROP TABLE pg_temp.tmp_store;
SELECT ai_scale.drop_model('tmp_lin');
RESET ai_scale.store_mode;
RESET ai_scale.store_table;
RESET ai_scale.redis_read_from;
