-- L3 on a store with many partitions: the lookup reads the partitions of its window alone
-- (cache_ttl back from the transaction's start, as far ahead of the clock). The window used to
-- be now() - cache_ttl in the query, which planning cannot prune by (now() is only stable), and
-- without an upper end: a kept plan locked every partition of the store and each of its
-- indexes to the end of the transaction, some 900 locks per predict() on a store of 300 daily
-- partitions made ahead, where a few concurrent calls filled the lock table.
\i sql/include/levels.sql

CREATE TABLE public.l3_many (
    prediction_id uuid NOT NULL DEFAULT gen_random_uuid(),
    model_name text NOT NULL,
    model_version int NOT NULL,
    input_data jsonb NOT NULL,
    output_data jsonb,
    input_hash bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (created_at);
CREATE INDEX ON public.l3_many (model_name, model_version, input_hash, created_at);
-- 60 days back and 60 ahead of today, as retention and premake leave them, and a default.
DO $$
BEGIN
    FOR d IN -60 .. 60 LOOP
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.l3_many FOR VALUES FROM (%L) TO (%L)',
                       'l3_many_' || (d + 60), date_trunc('day', now()) + d * interval '1 day',
                       date_trunc('day', now()) + (d + 1) * interval '1 day');
    END LOOP;
END $$;
CREATE TABLE public.l3_many_default PARTITION OF public.l3_many DEFAULT;
INSERT INTO public.l3_many (model_name, model_version, input_data, output_data, input_hash)
VALUES ('l3_many', 1, '{"f": 1}', '{"p": 1}', ai_scale.input_hash('{"f": 1}'));

SET ai_scale.store_table = 'public.l3_many';
SET ai_scale.cache_use_l1 = off;

-- Eight lookups, past the five custom plans after which Postgres weighs a generic one (that
-- weighing plans, and locks, every partition once): the first input is found, the others are
-- misses that read the store all the same.
SELECT ai_scale.reset_stats();
SELECT g, ai_scale.cache_get('l3_many', 1, jsonb_build_object('f', g)) AS answer
  FROM generate_series(1, 8) g;
SELECT * FROM pg_temp.levels() WHERE level = 'l3';
-- Then a lookup locks the partitions of its window alone.
\i sql/include/l3_many_window_locks.sql

-- After an ANALYZE of the store, which marks the empty partitions as analyzed and empty (a
-- read of one then costs nothing), a generic plan costs less than one planned for the window,
-- and Postgres took it after a new session's fifth lookup: it left the other partitions unread
-- but locked each of them, all 121 and the default. The lookups are planned for their values
-- each time.
ANALYZE public.l3_many;
\c
SET ai_scale.store_table = 'public.l3_many';
SET ai_scale.cache_use_l1 = off;
SELECT count(ai_scale.cache_get('l3_many', 1, jsonb_build_object('f', g))) AS found
  FROM generate_series(1, 8) g;
\i sql/include/l3_many_window_locks.sql

-- Nor in a session whose plan_cache_mode forces generic plans (Postgres reads the setting
-- before the lookups' ask for plans made with their values), or with enable_partition_pruning
-- off: each lookup was planned over every partition and locked them all, 2 s and 4,508 locks
-- for one predict() at 1,502 partitions. The lookups pin both back.
\c
SET ai_scale.store_table = 'public.l3_many';
SET ai_scale.cache_use_l1 = off;
SET plan_cache_mode = force_generic_plan;
\i sql/include/l3_many_window_locks.sql
\c
SET ai_scale.store_table = 'public.l3_many';
SET ai_scale.cache_use_l1 = off;
SET enable_partition_pruning = off;
\i sql/include/l3_many_window_locks.sql
-- The session's own settings are as it set them.
SHOW enable_partition_pruning;
RESET enable_partition_pruning;

-- A row dated later than cache_ttl ahead of the clock is outside the window (predict() writes
-- none: its rows have the inserting transaction's start); one within it is found.
INSERT INTO public.l3_many (model_name, model_version, input_data, output_data, input_hash, created_at)
VALUES ('l3_many', 1, '{"f": 30}', '{"p": 30}', ai_scale.input_hash('{"f": 30}'), now() + interval '2 hours'),
       ('l3_many', 1, '{"f": 31}', '{"p": 31}', ai_scale.input_hash('{"f": 31}'), now() + interval '10 minutes');
SELECT ai_scale.cache_get('l3_many', 1, '{"f": 30}') AS two_hours_ahead,
       ai_scale.cache_get('l3_many', 1, '{"f": 31}') AS ten_minutes_ahead;

RESET ai_scale.cache_use_l1;
RESET ai_scale.store_table;
DROP TABLE public.l3_many;
