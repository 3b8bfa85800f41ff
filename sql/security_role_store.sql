-- A role given a store of its own (ALTER ROLE ... SET ai_scale.store_table, which applies at its
-- login; SET here, as a superuser, before SET ROLE) writes whatever rows it likes there. Its L3
-- hits were copied to L1 and Redis under the database's keys, where they answered every role's
-- cache_get and predict(): the role put any output into the cache, as only cache_put's grantees
-- may, and what its store held was read by roles that may not read it. Each store now has a
-- cache of its own: the role's fills answer sessions of its store only.
SET client_min_messages = warning;
SET ai_scale.redis_read_from = 'primary';
CREATE ROLE security_role_writer;
CREATE SCHEMA security_role AUTHORIZATION security_role_writer;
SELECT ai_scale.register_model('sec_role', 'linear', ARRAY['a'], '{"weights": [3]}') AS version;
-- A cache_put by the database's writers (the default store's sessions): a value the model would
-- not compute, so that where it answers shows.
SELECT ai_scale.cache_put('sec_role', 1, '{"a": 5}', '{"score": 555}');
SET ai_scale.store_table = 'security_role.log';
SET ROLE security_role_writer;
CREATE TABLE security_role.log (
    model_name text NOT NULL, model_version int NOT NULL, input_data jsonb NOT NULL,
    output_data jsonb, input_hash bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
-- Outputs the model does not compute, written by the role.
INSERT INTO security_role.log (model_name, model_version, input_data, output_data, input_hash)
SELECT 'sec_role', 1, i, '{"score": 666}', ai_scale.input_hash(i)
  FROM unnest(ARRAY['{"a": 7}', '{"a": 8}', '{"a": 9}']::jsonb[]) i;
-- The role reads its own store, one input and a batch, and then from L1 (the rows deleted).
SELECT ai_scale.cache_get('sec_role', 1, '{"a": 7}') AS own_row;
SELECT ai_scale.cache_get_many('sec_role', 1, ARRAY['{"a": 8}', '{"a": 9}']::jsonb[]) AS own_rows;
DELETE FROM security_role.log;
SELECT ai_scale.predict('sec_role', '{"a": 7}') AS own_cached;
SELECT ai_scale.cache_get_many('sec_role', 1, ARRAY['{"a": 8}', '{"a": 9}']::jsonb[]) AS own_cached;
-- The put made for the default store's sessions is not this store's: the model computes 15.
SELECT ai_scale.cache_get('sec_role', 1, '{"a": 5}') AS put_elsewhere;
SELECT ai_scale.predict('sec_role', '{"a": 5}') ->> 'score' AS computed;
RESET ROLE;
RESET ai_scale.store_table;
-- Sessions of the default store get nothing of the role's store from the cache: the model's
-- scores (21, 24, 27), computed (not stored: this file needs no store an earlier one made),
-- and their own put.
SET ai_scale.store_mode = off;
SELECT ai_scale.cache_get('sec_role', 1, '{"a": 7}') AS cached;
SELECT ai_scale.cache_get_many('sec_role', 1, ARRAY['{"a": 8}', '{"a": 9}']::jsonb[]) AS cached;
SELECT p ->> 'score' AS score, p ->> 'source' AS source
  FROM unnest(ai_scale.predict_batch('sec_role', ARRAY['{"a": 7}', '{"a": 8}', '{"a": 9}']::jsonb[])) p;
SELECT ai_scale.cache_get('sec_role', 1, '{"a": 5}') AS own_put;
RESET ai_scale.store_mode;
-- Any role whose setting names the role's store shares its cache: the role's fills answer it
-- (the rows are deleted).
SET ai_scale.store_table = 'security_role.log';
SELECT ai_scale.cache_get('sec_role', 1, '{"a": 7}') AS same_store;
-- The cache follows the name: a table made under the name a setting gives is a store with a
-- cache of its own, and a name naming nothing shares the cache of sessions without a store.
SET ai_scale.store_table = 'security_role.later';
SELECT ai_scale.cache_put('sec_role', 1, '{"a": 4}', '{"score": 444}');
SELECT ai_scale.cache_get('sec_role', 1, '{"a": 4}') AS not_made_yet;
CREATE TABLE security_role.later (LIKE security_role.log);
SELECT ai_scale.cache_get('sec_role', 1, '{"a": 4}') AS made;
DROP TABLE security_role.later;
SELECT ai_scale.cache_get('sec_role', 1, '{"a": 4}') AS dropped;
SET ai_scale.store_table = '';
SELECT ai_scale.cache_get('sec_role', 1, '{"a": 4}') AS no_store;
RESET ai_scale.store_table;
DROP SCHEMA security_role CASCADE;
SELECT ai_scale.drop_model('sec_role');
DROP ROLE security_role_writer;
RESET ai_scale.redis_read_from;
