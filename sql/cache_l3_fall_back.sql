-- L3 on a store keyed by timestamp just after the clocks went back. The lookup passes its
-- window as local times of the session's zone, so that planning prunes by it; after the change
-- the local time of the window's start was later than that of rows written since, and no row
-- written since the change was found for up to cache_ttl. Now both ends move out by the hour
-- given back, and the start as an instant keeps the older rows out, as the comparison of
-- created_at with a timestamptz did before (Postgres reads an ambiguous local time as standard
-- time).
SET ai_scale.cache_use_l1 = off;
SET ai_scale.redis_primary = '';
-- A POSIX zone: standard time UTC+0, summer time UTC+1 from January 1, ended three minutes ago
-- (its day of the year counted from 0, February 29 included, and its local time of summer).
SELECT format('XST0XDT,0/0,%s/%s', extract(doy FROM t)::int - 1, to_char(t, 'HH24:MI:SS'))
           AS zone
  FROM (SELECT (now() AT TIME ZONE 'UTC') - interval '3 minutes' + interval '1 hour') AS c(t)
\gset
SET TimeZone = :'zone';
CREATE TABLE fall_back_store (
    model_name text NOT NULL, model_version int NOT NULL, input_data jsonb NOT NULL,
    output_data jsonb, input_hash bigint NOT NULL,
    created_at timestamp NOT NULL DEFAULT now());
-- Written now (local standard time), and an hour and five minutes ago (its local time, of
-- summer time, five minutes before now's).
INSERT INTO fall_back_store (model_name, model_version, input_data, output_data, input_hash)
VALUES ('m', 1, '{"f": 1}', '{"p": 1}', ai_scale.input_hash('{"f": 1}'));
INSERT INTO fall_back_store VALUES ('m', 1, '{"f": 2}', '{"p": 2}', ai_scale.input_hash('{"f": 2}'),
                                    (now() AT TIME ZONE 'UTC') - interval '5 minutes');
SET ai_scale.store_table = 'public.fall_back_store';
SET ai_scale.cache_ttl = 600;
SELECT ai_scale.cache_get('m', 1, '{"f": 1}') AS written_now,
       ai_scale.cache_get('m', 1, '{"f": 2}') AS written_65_minutes_ago;
SELECT ai_scale.cache_get_many('m', 1, ARRAY['{"f": 1}', '{"f": 2}']::jsonb[]) AS both;
SET ai_scale.cache_ttl = 3600;
SELECT ai_scale.cache_get('m', 1, '{"f": 1}') AS written_now,
       ai_scale.cache_get('m', 1, '{"f": 2}') AS written_65_minutes_ago;
RESET ai_scale.store_table;
RESET ai_scale.cache_ttl;
RESET TimeZone;
DROP TABLE fall_back_store;
