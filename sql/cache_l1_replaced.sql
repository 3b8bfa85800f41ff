-- A put replaces the key's value in L1 even when it cannot write L1 itself: an output over
-- ai_scale.l1_max_value_bytes (2 kB), or a session with ai_scale.cache_use_l1 off, used to
-- write Redis only and leave the value it replaced in L1, where every session went on reading it.
\i sql/include/levels.sql
SET ai_scale.redis_read_from = 'primary';  -- a put is read back at once, not from a replica

SELECT ai_scale.cache_put('l1_replaced', 1, '{"x": 1}', '{"v": "small"}');
SELECT ai_scale.cache_get('l1_replaced', 1, '{"x": 1}') AS small;
SELECT ai_scale.cache_put('l1_replaced', 1, '{"x": 1}', jsonb_build_object('v', repeat('z', 3000)));
SELECT ai_scale.reset_stats();
SELECT length(ai_scale.cache_get('l1_replaced', 1, '{"x": 1}') ->> 'v') AS big_len;
SELECT * FROM pg_temp.levels();

SELECT ai_scale.cache_put('l1_replaced', 1, '{"x": 2}', '{"v": 1}');
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.cache_put('l1_replaced', 1, '{"x": 2}', '{"v": 2}');
RESET ai_scale.cache_use_l1;
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l1_replaced', 1, '{"x": 2}') AS put_without_l1;
SELECT * FROM pg_temp.levels();
-- The next read is an L1 hit again, of the new value.
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l1_replaced', 1, '{"x": 2}') AS refilled;
SELECT * FROM pg_temp.levels();

-- A store hit in such a session fills Redis and L1 only where they hold no value (a fill from a
-- lower level, which may be older): it removed L1's instead, here the value of a put that could
-- not reach Redis, and the next L1 session read the store's older one.
CREATE TABLE l1_replaced_store (prediction_id uuid NOT NULL DEFAULT gen_random_uuid(),
    model_name text NOT NULL, model_version int NOT NULL, input_data jsonb NOT NULL,
    output_data jsonb, input_hash bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO l1_replaced_store (model_name, model_version, input_data, output_data, input_hash)
VALUES ('l1_replaced', 1, '{"x": 3}', '{"v": "from the store"}', ai_scale.input_hash('{"x": 3}'));
SET ai_scale.store_table = 'public.l1_replaced_store';
SET ai_scale.redis_primary = '';
SELECT ai_scale.cache_put('l1_replaced', 1, '{"x": 3}', '{"v": "put, L1 only"}');
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.cache_get('l1_replaced', 1, '{"x": 3}') AS store_answers_without_l1;
RESET ai_scale.cache_use_l1;
SELECT ai_scale.cache_get('l1_replaced', 1, '{"x": 3}') AS l1_kept_the_put;
RESET ai_scale.redis_primary;
RESET ai_scale.store_table;
DROP TABLE l1_replaced_store;
SELECT ai_scale.cache_invalidate('l1_replaced');
