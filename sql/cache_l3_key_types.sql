-- L3 on a store keyed by timestamp or date, which manage_partitions adopts as it does
-- timestamptz. The lookups passed their window as timestamptz whatever the key: against a
-- timestamp created_at, created_at >= $6 compared timestamp with timestamptz, which is only
-- stable, so planning pruned nothing and each lookup locked every partition of the store and
-- each of its indexes to the end of the transaction (66 locks against 5 on a store of 30 daily
-- partitions); against a date, the window of cache_ttl found no row (each reads as midnight) and
-- every miss was scored and stored again. A timestamp store now gets the window as timestamps
-- of the session's TimeZone; a date store is not read, with a WARNING.
\i sql/include/levels.sql
-- (L3 alone answers: no L1, no Redis.)
SET ai_scale.cache_use_l1 = off;
SET ai_scale.redis_primary = '';
-- (Zones without summer time: an hour that a change of offset adds or takes would move the
-- rows below across the window's ends.)
SET TimeZone = 'Asia/Kolkata';
CREATE SCHEMA l3_keys;
CREATE TABLE l3_keys.ts (
    prediction_id uuid NOT NULL DEFAULT gen_random_uuid(),
    model_name text NOT NULL,
    model_version int NOT NULL,
    input_data jsonb NOT NULL,
    output_data jsonb,
    input_hash bigint NOT NULL,
    created_at timestamp NOT NULL DEFAULT now()   -- the local time of the writer's TimeZone
) PARTITION BY RANGE (created_at);
CREATE INDEX ON l3_keys.ts (model_name, model_version, input_hash, created_at);
-- 30 local days back and 30 ahead, and a default.
DO $$
BEGIN
    FOR d IN -30 .. 30 LOOP
        EXECUTE format('CREATE TABLE l3_keys.%I PARTITION OF l3_keys.ts FOR VALUES FROM (%L) TO (%L)',
                       'ts_' || (d + 30), date_trunc('day', localtimestamp) + d * interval '1 day',
                       date_trunc('day', localtimestamp) + (d + 1) * interval '1 day');
    END LOOP;
END $$;
CREATE TABLE l3_keys.ts_default PARTITION OF l3_keys.ts DEFAULT;
INSERT INTO l3_keys.ts (model_name, model_version, input_data, output_data, input_hash)
VALUES ('l3_keys', 1, '{"f": 1}', '{"p": 1}', ai_scale.input_hash('{"f": 1}'));
SET ai_scale.store_table = 'l3_keys.ts';

-- The partitions of l3_keys.ts this transaction has locked.
CREATE FUNCTION pg_temp.partitions_locked() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
     WHERE l.pid = pg_backend_pid() AND c.relkind = 'r' AND c.relname LIKE 'ts\_%'
$$;
-- Eight lookups first, past the five custom plans after which Postgres weighs a generic one.
SELECT ai_scale.reset_stats();
SELECT count(ai_scale.cache_get('l3_keys', 1, jsonb_build_object('f', g))) AS found
  FROM generate_series(1, 8) g;
SELECT * FROM pg_temp.levels() WHERE level = 'l3';
-- A lookup locks the partitions of its window alone: today's (and the day next to it within
-- cache_ttl of midnight), not all 61 and the default.
BEGIN;
SELECT ai_scale.cache_get('l3_keys', 1, '{"f": 1}') AS answer;
SELECT pg_temp.partitions_locked() BETWEEN 1 AND 2 AS window_partitions_only;
COMMIT;
-- So does a batch.
BEGIN;
SELECT ai_scale.cache_get_many('l3_keys', 1, ARRAY['{"f": 1}', '{"f": 2}']::jsonb[]) AS answers;
SELECT pg_temp.partitions_locked() BETWEEN 1 AND 2 AS window_partitions_only;
COMMIT;
-- And a batch of more than 10,000 inputs, which reads the window's hashes first.
BEGIN;
SELECT count(*) FILTER (WHERE a IS NOT NULL) AS found
  FROM unnest(ai_scale.cache_get_many('l3_keys', 1,
      ARRAY(SELECT format('{"f": %s}', i)::jsonb FROM generate_series(1, 10001) i))) a;
SELECT pg_temp.partitions_locked() BETWEEN 1 AND 2 AS window_partitions_only;
COMMIT;

-- The window is cache_ttl (an hour) either side of the session's local time, as Postgres
-- compares a timestamp with the clock: a row dated two hours ahead is outside it, as is one
-- two hours old; one ten minutes ahead is inside.
INSERT INTO l3_keys.ts (model_name, model_version, input_data, output_data, input_hash, created_at)
VALUES ('l3_keys', 1, '{"f": 30}', '{"p": 30}', ai_scale.input_hash('{"f": 30}'), localtimestamp + interval '2 hours'),
       ('l3_keys', 1, '{"f": 31}', '{"p": 31}', ai_scale.input_hash('{"f": 31}'), localtimestamp + interval '10 minutes'),
       ('l3_keys', 1, '{"f": 32}', '{"p": 32}', ai_scale.input_hash('{"f": 32}'), localtimestamp - interval '2 hours');
SELECT ai_scale.cache_get('l3_keys', 1, '{"f": 30}') AS two_hours_ahead,
       ai_scale.cache_get('l3_keys', 1, '{"f": 31}') AS ten_minutes_ahead,
       ai_scale.cache_get('l3_keys', 1, '{"f": 32}') AS two_hours_old;
-- A session of another TimeZone reads the same rows as its own local times: Kolkata's row of
-- the moment is three and a half hours before the clock of Tokyo, older than cache_ttl there.
SET TimeZone = 'Asia/Tokyo';
SELECT ai_scale.cache_get('l3_keys', 1, '{"f": 1}') AS written_in_kolkata;
SET TimeZone = 'Asia/Kolkata';

-- A store whose key changes type is looked up with a plan of the new type: its window was
-- passed as the old one's (local times read as instants, or the other way round), hours off.
CREATE TABLE l3_keys.plain (LIKE l3_keys.ts INCLUDING DEFAULTS);
INSERT INTO l3_keys.plain (model_name, model_version, input_data, output_data, input_hash)
VALUES ('l3_keys', 1, '{"f": 1}', '{"p": 1}', ai_scale.input_hash('{"f": 1}'));
SET ai_scale.store_table = 'l3_keys.plain';
SELECT ai_scale.cache_get('l3_keys', 1, '{"f": 1}') AS as_timestamp;
ALTER TABLE l3_keys.plain ALTER created_at TYPE timestamptz;
SELECT ai_scale.cache_get('l3_keys', 1, '{"f": 1}') AS as_timestamptz,
       ai_scale.cache_get_many('l3_keys', 1, ARRAY['{"f": 1}']::jsonb[]) AS many_as_timestamptz;
ALTER TABLE l3_keys.plain ALTER created_at TYPE timestamp;
SELECT ai_scale.cache_get('l3_keys', 1, '{"f": 1}') AS as_timestamp_again,
       ai_scale.cache_get_many('l3_keys', 1, ARRAY['{"f": 1}']::jsonb[]) AS many_as_timestamp;

-- A date key cannot hold a lookup to cache_ttl: each row would read as written at midnight.
-- The store is not read, as one that is missing, with a WARNING once per session; predict()
-- goes on storing its rows there.
CREATE TABLE l3_keys.d (
    prediction_id uuid NOT NULL DEFAULT gen_random_uuid(),
    model_name text NOT NULL,
    model_version int NOT NULL,
    input_data jsonb NOT NULL,
    output_data jsonb,
    input_hash bigint NOT NULL,
    created_at date NOT NULL DEFAULT current_date
) PARTITION BY RANGE (created_at);
CREATE TABLE l3_keys.d_default PARTITION OF l3_keys.d DEFAULT;
INSERT INTO l3_keys.d (model_name, model_version, input_data, output_data, input_hash)
VALUES ('l3_keys', 1, '{"f": 1}', '{"p": 1}', ai_scale.input_hash('{"f": 1}'));
SET ai_scale.store_table = 'l3_keys.d';
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('l3_keys', 1, '{"f": 1}') AS date_store;
SELECT ai_scale.cache_get('l3_keys', 1, '{"f": 1}') AS no_second_warning,
       ai_scale.cache_get_many('l3_keys', 1, ARRAY['{"f": 1}']::jsonb[]) AS many;
SELECT * FROM pg_temp.levels() WHERE level = 'l3';
SELECT ai_scale.register_model('l3_keys', 'linear', ARRAY['f'], '{"weights": [10]}') AS version;
SELECT ai_scale.predict('l3_keys', '{"f": 4}') ->> 'source' AS scored;
SELECT ai_scale.predict('l3_keys', '{"f": 4}') ->> 'source' AS scored_again;
SELECT input_data, count(*) AS stored FROM l3_keys.d WHERE model_version = 2 GROUP BY 1;
-- The versions in it still count when a model is registered (docs/scoring.md).
SELECT ai_scale._readable_store() AS readable;

SELECT ai_scale.drop_model('l3_keys');
RESET TimeZone;
RESET ai_scale.store_table;
RESET ai_scale.redis_primary;
RESET ai_scale.cache_use_l1;
DROP SCHEMA l3_keys CASCADE;
