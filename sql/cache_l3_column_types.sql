-- A store whose owner gave output_data or input_hash another type: predict() writes its rows
-- through Postgres's casts (jsonb into json or text, bigint into numeric), and L3 read them
-- back as jsonb and int8 as they were. The bytes of a pretty-printed json read as jsonb crashed
-- the server (signal 11), those of a compact one failed every hit (XX000, unknown type of jsonb
-- container), and a numeric input_hash read as int8 missed every input of a batch of more
-- than 10,000. L3 now casts them, and a type with no cast to jsonb is an error naming it.
\i sql/include/levels.sql
-- (L3 alone answers: no L1, no Redis.)
SET ai_scale.cache_use_l1 = off;
SET ai_scale.redis_primary = '';
CREATE SCHEMA l3_types;
CREATE TABLE l3_types.store (
    prediction_id uuid NOT NULL DEFAULT gen_random_uuid(),
    model_name text NOT NULL,
    model_version int NOT NULL,
    input_data jsonb NOT NULL,
    output_data json,
    input_hash numeric NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
SET ai_scale.store_table = 'l3_types.store';
INSERT INTO l3_types.store (model_name, model_version, input_data, output_data, input_hash)
VALUES ('l3_types', 1, '{"x": 1}', jsonb_pretty('{"score": 1, "label": "pretty"}')::json,
        ai_scale.input_hash('{"x": 1}')),
       ('l3_types', 1, '{"x": 2}', '{"score": 2}', ai_scale.input_hash('{"x": 2}'));
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l3_types', 1, '{"x": 1}') AS pretty,
       ai_scale.cache_get('l3_types', 1, '{"x": 2}') AS compact;
SELECT ai_scale.cache_get_many('l3_types', 1, ARRAY['{"x": 1}', '{"x": 2}', '{"x": 3}']::jsonb[])
    AS many;
SELECT * FROM pg_temp.levels() WHERE level = 'l3';
-- predict() writes a row of its own there, and reads it back.
-- (Version 2: the store holds outputs of a version 1.)
SELECT ai_scale.register_model('l3_types', 'linear', ARRAY['x'], '{"weights": [10]}') AS version;
SELECT ai_scale.predict('l3_types', '{"x": 4}') ->> 'source' AS scored;
SELECT ai_scale.predict('l3_types', '{"x": 4}') ->> 'source' AS read_back;
SELECT ai_scale.cache_get('l3_types', 2, '{"x": 4}') AS cached;
-- The batch that reads the window's hashes first (more inputs than the window has rows): the
-- numeric hashes of version 1's rows find their inputs.
SELECT count(*) FILTER (WHERE a IS NOT NULL) AS found
  FROM unnest(ai_scale.cache_get_many('l3_types', 1,
      ARRAY(SELECT format('{"x": %s}', i)::jsonb FROM generate_series(1, 10001) i))) a;
-- An input_data of type json or text (a log that keeps each request as its client sent it):
-- the lookups compare it with the input as jsonb, where json = jsonb and text = jsonb have no
-- operator, and every cache_get, cache_get_many and predict() failed with 42883.
ALTER TABLE l3_types.store ALTER input_data TYPE json;
SELECT ai_scale.cache_get('l3_types', 1, '{"x": 2}') AS json_input;
SELECT ai_scale.cache_get_many('l3_types', 1, ARRAY['{"x": 1}', '{"x": 3}']::jsonb[]) AS json_many;
SELECT ai_scale.predict('l3_types', '{"x": 6}') ->> 'source' AS scored;
SELECT ai_scale.predict('l3_types', '{"x": 6.0}') ->> 'source' AS read_back;
ALTER TABLE l3_types.store ALTER input_data TYPE text;
SELECT ai_scale.cache_get('l3_types', 1, '{"x": 2}') AS text_input;
SELECT ai_scale.cache_get_many('l3_types', 1, ARRAY['{"x": 1}', '{"x": 3}']::jsonb[]) AS text_many;
SELECT ai_scale.predict('l3_types', '{"x": 7}') ->> 'source' AS scored;
SELECT ai_scale.predict('l3_types', '{"x": 7}') ->> 'source' AS read_back;
ALTER TABLE l3_types.store ALTER input_data TYPE jsonb USING input_data::jsonb;
-- An output type that has no cast to jsonb: an error that says so, not garbage.
ALTER TABLE l3_types.store ALTER output_data TYPE int USING 0;
SELECT ai_scale.cache_get('l3_types', 1, '{"x": 5}');
SELECT ai_scale.drop_model('l3_types');
SELECT ai_scale.cache_invalidate('l3_types');
RESET ai_scale.store_table;
RESET ai_scale.cache_use_l1;
RESET ai_scale.redis_primary;
DROP SCHEMA l3_types CASCADE;
