-- An L3 hit is looked up again with the latest snapshot before it is cached only when a lookup
-- made now could see other rows: when nothing has ended since the statement's snapshot was
-- taken, the one lookup is enough. The active snapshot is a copy, which never carries the
-- count of transactions ended that the check read, so every hit was looked up twice.
SET client_min_messages = warning;
\i sql/include/levels.sql
SET ai_scale.store_table = 'public.rc_store';
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.create_prediction_store('public.rc_store') AS store;
SELECT ai_scale.register_model('rc_lin', 'linear', ARRAY['a'], '{"weights": [1]}') AS version;
-- Rows written by a plain INSERT, committed, and in no cache yet.
INSERT INTO public.rc_store (model_name, model_version, input_data, output_data, input_hash)
SELECT 'rc_lin', 1, i, jsonb_build_object('score', n * 10), ai_scale.input_hash(i)
FROM generate_series(1, 10) n, LATERAL (SELECT jsonb_build_object('a', n)) AS v(i);

-- The index scans of the store's partitions in this transaction.
CREATE FUNCTION pg_temp.store_scans() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(pg_catalog.pg_stat_get_xact_numscans(x.indexrelid)), 0)::bigint
    FROM pg_catalog.pg_inherits h JOIN pg_catalog.pg_index x ON x.indrelid = h.inhrelid
    WHERE h.inhparent = 'public.rc_store'::regclass
$$;
-- Whether an L3 hit scanned the store as often as a miss does (a miss is never looked up
-- again). A transaction that ends between a hit's lookup and its check makes it look up
-- again, rightly: each try takes an input of its own, and one try in five must see none.
CREATE FUNCTION pg_temp.hit_scans_as_miss(many boolean) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    before bigint;
    hit bigint;
    miss bigint;
    found jsonb;
BEGIN
    FOR n IN 1..5 LOOP
        before := pg_temp.store_scans();
        IF many THEN
            found := (ai_scale.cache_get_many('rc_lin', 1,
                          ARRAY[jsonb_build_object('a', n + 5)]))[1];
        ELSE
            found := ai_scale.cache_get('rc_lin', 1, jsonb_build_object('a', n));
        END IF;
        IF found IS NULL THEN
            RAISE EXCEPTION 'input % is not in the store', n;
        END IF;
        hit := pg_temp.store_scans() - before;
        before := pg_temp.store_scans();
        IF many THEN
            found := (ai_scale.cache_get_many('rc_lin', 1, ARRAY['{"a": -1}'::jsonb]))[1];
        ELSE
            found := ai_scale.cache_get('rc_lin', 1, '{"a": -1}');
        END IF;
        miss := pg_temp.store_scans() - before;
        IF hit = miss AND miss > 0 THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END $$;

SELECT pg_temp.hit_scans_as_miss(false) AS cache_get_looked_up_once;
SELECT pg_temp.hit_scans_as_miss(true) AS cache_get_many_looked_up_once;
-- And the hits were cached: read again, the first inputs are L1 hits.
SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('rc_lin', 1, '{"a": 1}') AS cached,
       (ai_scale.cache_get_many('rc_lin', 1, ARRAY['{"a": 6}'::jsonb]))[1] AS cached_many;
SELECT * FROM pg_temp.levels();

-- A cursor's snapshot, from before its own transaction inserted a newer row for the input: the
-- FETCH answers the older row, which a lookup made now would not (the latest snapshot sees the
-- newer row, with the command counter moved on by the insert): answered, not cached. After the
-- commit the newer row is answered.
INSERT INTO public.rc_store (model_name, model_version, input_data, output_data, input_hash, created_at)
VALUES ('rc_lin', 1, '{"a": 100}', '{"score": "older"}', ai_scale.input_hash('{"a": 100}'),
        now() - interval '1 second');
BEGIN;
DECLARE rc_cursor CURSOR FOR SELECT ai_scale.cache_get('rc_lin', 1, '{"a": 100}') AS in_cursor;
INSERT INTO public.rc_store (model_name, model_version, input_data, output_data, input_hash)
VALUES ('rc_lin', 1, '{"a": 100}', '{"score": "newer"}', ai_scale.input_hash('{"a": 100}'));
FETCH rc_cursor;
COMMIT;
SELECT ai_scale.cache_get('rc_lin', 1, '{"a": 100}') AS after_commit;

DROP TABLE public.rc_store;
SELECT ai_scale.drop_model('rc_lin');
