-- cache_get_many looks each distinct input up once, at every level, and answers every copy in
-- its place: duplicates (equal jsonb, '1' and '1.0' too: one cache key), null elements and the
-- order of the array. The stats count lookups: a copy answered by an earlier element's lookup
-- counts at no level (docs/cache.md, Observability).
SET client_min_messages = warning;
\i sql/include/levels.sql
SET ai_scale.redis_read_from = 'primary';

CREATE SCHEMA get_many_dup;
CREATE TABLE get_many_dup.store (
    model_name text NOT NULL,
    model_version int NOT NULL,
    input_data jsonb NOT NULL,
    output_data jsonb,
    input_hash bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
SET ai_scale.store_table = 'get_many_dup.store';
-- {"d": 1} and {"d": 2} in L1 and Redis; {"d": 3} in the store alone; {"d": 4} nowhere.
SELECT ai_scale.cache_put('dup_model', 1, jsonb_build_object('d', d), jsonb_build_object('out', d))
FROM generate_series(1, 2) d;
INSERT INTO get_many_dup.store (model_name, model_version, input_data, output_data, input_hash)
VALUES ('dup_model', 1, '{"d": 3}', '{"out": 3}', ai_scale.input_hash('{"d": 3}'));

-- Ten elements, four distinct inputs: each answered in its place.
SELECT ai_scale.reset_stats();
SELECT t.n, t.input, t.answer
FROM unnest(ARRAY['{"d": 1}', NULL, '{"d": 1}', '{"d": 2}', '{"d": 1.0}', '{"d": 3}',
                  '{"d": 4}', '{"d": 3}', NULL, '{"d": 4}']::jsonb[],
            ai_scale.cache_get_many('dup_model', 1,
                ARRAY['{"d": 1}', NULL, '{"d": 1}', '{"d": 2}', '{"d": 1.0}', '{"d": 3}',
                      '{"d": 4}', '{"d": 3}', NULL, '{"d": 4}']::jsonb[]))
     WITH ORDINALITY AS t(input, answer, n);
-- L1: {"d": 1} and {"d": 2} hit, {"d": 3} and {"d": 4} missed; L2 and the store were asked
-- for those two once each (the store's hit went to Redis and L1).
SELECT * FROM pg_temp.levels();
SELECT value AS l2_round_trips FROM ai_scale.stats WHERE section = 'l2' AND metric = 'samples';

-- Without L1, from Redis: one key per distinct input in the MGET.
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get_many('dup_model', 1,
    ARRAY['{"d": 4}', '{"d": 3}', '{"d": 3}', '{"d": 2}', '{"d": 1}', '{"d": 3}', '{"d": 1}']::jsonb[])
    AS from_redis;
SELECT * FROM pg_temp.levels();
RESET ai_scale.cache_use_l1;

-- Copies of one input, and of one missing input, alone; only nulls; the subscripts kept.
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get_many('dup_model', 1, array_fill('{"d": 2}'::jsonb, ARRAY[3])) AS copies,
       ai_scale.cache_get_many('dup_model', 1, array_fill('{"d": 5}'::jsonb, ARRAY[3])) AS missing_copies,
       ai_scale.cache_get_many('dup_model', 1, array_fill(NULL::jsonb, ARRAY[3])) AS nulls,
       ai_scale.cache_get_many('dup_model', 1,
           '[0:3]={"{\"d\": 2}",NULL,"{\"d\": 2.00}","{\"d\": 1}"}'::jsonb[]) AS from_zero;
SELECT * FROM pg_temp.levels();

RESET ai_scale.store_table;
RESET ai_scale.redis_read_from;
DROP SCHEMA get_many_dup CASCADE;
