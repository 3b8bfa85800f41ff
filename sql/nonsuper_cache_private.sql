-- docs/cache.md: to keep the store's outputs as private as its rows, revoking EXECUTE on
-- cache_get / cache_get_many from PUBLIC is not enough: predict() and predict_batch() read the
-- same cache, and answer a role that may not read the store with what a role that may read it
-- brought into L1 and Redis from the store. They must be revoked too.
SET client_min_messages = warning;
\i sql/include/try.sql
CREATE SCHEMA nonsuper_priv;
SELECT ai_scale.create_prediction_store('nonsuper_priv.store') AS store;
SET ai_scale.store_table = 'nonsuper_priv.store';
SELECT ai_scale.register_model('nonsuper_priv_m', 'linear', ARRAY['a'], '{"weights": [1]}') AS version \gset
-- A row only the store's readers may see, with an output the model would not give.
INSERT INTO nonsuper_priv.store (model_name, model_version, input_data, output_data, input_hash)
VALUES ('nonsuper_priv_m', :version, '{"a": 1}', '{"score": 12345}', ai_scale.input_hash('{"a": 1}'));
CREATE ROLE nonsuper_reader;
REVOKE EXECUTE ON FUNCTION ai_scale.cache_get(text, int, jsonb),
                           ai_scale.cache_get_many(text, int, jsonb[]) FROM PUBLIC;
-- A role that may read the store (here a superuser) looks the input up: L3 answers, and the
-- answer is written to L1 and Redis.
SELECT ai_scale.cache_get('nonsuper_priv_m', :version, '{"a": 1}');
SELECT has_table_privilege('nonsuper_reader', 'nonsuper_priv.store', 'SELECT') AS reader_reads_store;
SET ROLE nonsuper_reader;
SET ai_scale.store_mode = off;
SELECT pg_temp.try($$SELECT ai_scale.cache_get('nonsuper_priv_m', 1, '{"a": 1}')$$);
-- predict() answers from the cache what the store holds, not what the model computes (1).
SELECT ai_scale.predict('nonsuper_priv_m', '{"a": 1}') ->> 'score' AS predict_score;
SELECT (ai_scale.predict_batch('nonsuper_priv_m', ARRAY['{"a": 1}'::jsonb]))[1] ->> 'score' AS batch_score;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION ai_scale.predict(text, jsonb, int),
                           ai_scale.predict_batch(text, jsonb[], int) FROM PUBLIC;
SET ROLE nonsuper_reader;
SELECT pg_temp.try($$SELECT ai_scale.predict('nonsuper_priv_m', '{"a": 1}')$$);
SELECT pg_temp.try($$SELECT ai_scale.predict_batch('nonsuper_priv_m', ARRAY['{"a": 1}'::jsonb])$$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION ai_scale.cache_get(text, int, jsonb),
                          ai_scale.cache_get_many(text, int, jsonb[]),
                          ai_scale.predict(text, jsonb, int),
                          ai_scale.predict_batch(text, jsonb[], int) TO PUBLIC;
SELECT ai_scale.cache_invalidate('nonsuper_priv_m');
SELECT ai_scale.drop_model('nonsuper_priv_m');
RESET ai_scale.store_table;
DROP SCHEMA nonsuper_priv CASCADE;
DROP ROLE nonsuper_reader;
