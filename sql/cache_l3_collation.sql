-- L3 matches the model name byte for byte, whatever the collation of the store's model_name.
-- Under a nondeterministic one (case-insensitive here) the lookup's plain equality found the
-- rows of 'Fraud' for 'fraud': cache_get, cache_get_many and predict() answered the other
-- model's output, and copied it to L1 and Redis.
\i sql/include/levels.sql
\i sql/include/wait_for_replica.sql

CREATE COLLATION pg_temp.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
SELECT 'Fraud' = 'fraud' COLLATE pg_temp.ci AS equal_under_ci;
CREATE SCHEMA l3_coll;
CREATE TABLE l3_coll.store (
    prediction_id uuid NOT NULL DEFAULT gen_random_uuid(),
    model_name text COLLATE pg_temp.ci NOT NULL,
    model_version int NOT NULL,
    input_data jsonb NOT NULL,
    output_data jsonb,
    input_hash bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (created_at);
CREATE TABLE l3_coll.store_default PARTITION OF l3_coll.store DEFAULT;
CREATE INDEX ON l3_coll.store (model_name, model_version, input_hash, created_at);
SET ai_scale.store_table = 'l3_coll.store';

INSERT INTO l3_coll.store (model_name, model_version, input_data, output_data, input_hash)
VALUES ('Fraud', 1, '{"x": 2}', '{"score": 2}', ai_scale.input_hash('{"x": 2}')),
       (U&'\00C4rger', 1, '{"x": 2}', '{"score": 3}', ai_scale.input_hash('{"x": 2}'));

SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('fraud', 1, '{"x": 2}') AS other_case,
       ai_scale.cache_get(U&'\00E4rger', 1, '{"x": 2}') AS other_case_non_ascii,
       ai_scale.cache_get_many('fraud', 1, ARRAY['{"x": 2}']::jsonb[]) AS other_case_many;
SELECT * FROM pg_temp.levels();

-- The model's own name still finds its rows (the index serves the lookup as before).
SELECT ai_scale.cache_get('Fraud', 1, '{"x": 2}') AS own_name,
       ai_scale.cache_get(U&'\00C4rger', 1, '{"x": 2}') AS own_name_non_ascii;
SELECT pg_temp.wait_for_replica(); -- their write-back, read from the replica next
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.cache_get_many('Fraud', 1, ARRAY['{"x": 2}']::jsonb[]) AS own_name_many;
RESET ai_scale.cache_use_l1;
SELECT * FROM pg_temp.levels();

-- predict() scores 'fraud' with its own model rather than answering with Fraud's row; its
-- first version is 1 (the store's highest version of the name was read with the collation's
-- equality alone, and Fraud's row numbered it 2).
SELECT ai_scale.register_model('fraud', 'linear', ARRAY['x'], '{"weights": [100]}') AS version;
SELECT p ->> 'score' AS score, p ->> 'source' AS source
FROM (SELECT ai_scale.predict('fraud', '{"x": 2}') AS p) AS s;

-- What was filled under one client_encoding is found under another: keys are made of the text
-- in the server's encoding.
SELECT ai_scale.cache_put(U&'mod\00E8le', 1, U&'{"cl\00E9": "v\00E4lue"}', U&'{"r\00E9sultat": "\00F1"}');
SET client_encoding = 'LATIN1';
SELECT ai_scale.cache_get(U&'mod\00E8le', 1, U&'{"cl\00E9": "v\00E4lue"}')
       = U&'{"r\00E9sultat": "\00F1"}' AS hit_under_latin1;
RESET client_encoding;

SELECT ai_scale.drop_model('fraud');
SELECT ai_scale.cache_invalidate('Fraud'), ai_scale.cache_invalidate(U&'\00C4rger'),
       ai_scale.cache_invalidate(U&'mod\00E8le');
RESET ai_scale.store_table;
DROP SCHEMA l3_coll CASCADE;
