-- A cold tablespace that is the database's default, the hot partitions in a tablespace of their
-- own. Postgres records a table moved to the default tablespace with reltablespace 0: a run read
-- such a partition as not cold and moved it again at every run, and partitions() called it hot.
SET client_min_messages = warning;
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE cold_default_hot LOCATION '';
CREATE TABLE cd (at timestamptz NOT NULL) PARTITION BY RANGE (at) TABLESPACE cold_default_hot;
CREATE TABLE cd_old PARTITION OF cd FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
SELECT count(*) > 0 AS managed
FROM ai_scale.manage_partitions('cd', '1 day', 1, '30 days', 'tier', cold_after => '2 days',
                                cold_tablespace => 'pg_default', time_zone => 'UTC');
-- Moved to the cold tier by that first run, and left there.
SELECT partition, tier, tablespace FROM ai_scale.partitions('cd') WHERE partition = 'cd_old'::regclass;
SELECT count(*) AS actions FROM ai_scale.run_maintenance('cd');
SELECT count(*) AS actions FROM ai_scale.run_maintenance('cd');
-- The partitions made since are hot, in the parent's tablespace.
SELECT count(*) FILTER (WHERE tier = 'hot' AND tablespace = 'cold_default_hot') AS hot,
       count(*) FILTER (WHERE tier = 'cold') AS cold
FROM ai_scale.partitions('cd') WHERE tier <> 'default';
DROP TABLE cd;
-- In tier mode, retention is an age to move at too: with a longer cold_after beside it, a
-- partition older than retention moves (cold_after alone counted before, and it stayed hot).
CREATE TABLE cd_short (at timestamptz NOT NULL) PARTITION BY RANGE (at) TABLESPACE cold_default_hot;
CREATE TABLE cd_short_old PARTITION OF cd_short
    FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
SELECT count(*) > 0 AS managed
FROM ai_scale.manage_partitions('cd_short', '1 day', 1, '5 days', 'tier', cold_after => '30 days',
                                cold_tablespace => 'pg_default', time_zone => 'UTC');
SELECT partition, tier, tablespace FROM ai_scale.partitions('cd_short')
 WHERE partition = 'cd_short_old'::regclass;
DROP TABLE cd_short;
DROP TABLESPACE cold_default_hot;
-- Tablespace names that need quoting, hot and cold: partitions are made in the one, as the
-- parent is, and moved to the other.
CREATE TABLESPACE "Hot Space" LOCATION '';
CREATE TABLESPACE "Cold Space" LOCATION '';
CREATE TABLE cd_quoted (at timestamptz NOT NULL) PARTITION BY RANGE (at) TABLESPACE "Hot Space";
CREATE TABLE cd_quoted_old PARTITION OF cd_quoted
    FOR VALUES FROM (now()::date - 10) TO (now()::date - 9) TABLESPACE "Hot Space";
SELECT action, count(*)
FROM ai_scale.manage_partitions('cd_quoted', '1 day', 2, '30 days', 'tier', cold_after => '2 days',
                                cold_tablespace => 'Cold Space', time_zone => 'UTC')
GROUP BY action ORDER BY action;
SELECT tier, tablespace, count(*) FROM ai_scale.partitions('cd_quoted') GROUP BY 1, 2 ORDER BY 1, 2;
DROP TABLE cd_quoted;
DROP TABLESPACE "Hot Space";
DROP TABLESPACE "Cold Space";
