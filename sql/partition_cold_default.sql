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
-- A table with no tablespace of its own has its partitions made where default_tablespace says
-- (else in the database's), and that is what the cold tablespace is compared with: one that
-- default_tablespace names is refused (it was taken, and every partition, today's too, was
-- cold from birth) ...
CREATE TABLESPACE cd_elsewhere LOCATION '';
CREATE TABLE cd_plain (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SET default_tablespace = cd_elsewhere;
SELECT count(*) FROM ai_scale.manage_partitions('cd_plain', '1 day', 1, '30 days', 'tier',
                                                cold_after => '2 days',
                                                cold_tablespace => 'cd_elsewhere',
                                                time_zone => 'UTC');
SELECT count(*) AS partitions_made FROM pg_inherits WHERE inhparent = 'cd_plain'::regclass;
-- ... and the database's is taken when default_tablespace names another (it was refused, in
-- words that said partitions were made in the database's tablespace).
CREATE TABLE cd_plain_old PARTITION OF cd_plain
    FOR VALUES FROM (now()::date - 10) TO (now()::date - 9);
SELECT action, count(*)
FROM ai_scale.manage_partitions('cd_plain', '1 day', 1, '30 days', 'tier', cold_after => '2 days',
                                cold_tablespace => 'pg_default', time_zone => 'UTC')
GROUP BY action ORDER BY action;
SELECT tier, tablespace, count(*) FROM ai_scale.partitions('cd_plain') GROUP BY 1, 2 ORDER BY 1, 2;
-- A run whose default_tablespace would make its partitions cold (the worker's is its role's
-- and database's) says so instead of moving any.
RESET default_tablespace;
CREATE TABLE cd_plain_older PARTITION OF cd_plain
    FOR VALUES FROM (now()::date - 12) TO (now()::date - 11) TABLESPACE cd_elsewhere;
SELECT action, partition, detail FROM ai_scale.run_maintenance('cd_plain');
DROP TABLE cd_plain;
DROP TABLESPACE cd_elsewhere;
