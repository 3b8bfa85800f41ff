-- Partitioning on a server WITHOUT shared_preload_libraries = 'ai_scale': everything but the
-- worker works, also when a session's first call into the extension is one of the PL/pgSQL
-- functions (they read ai_scale.* settings, which exist once the library is loaded).
CREATE EXTENSION ai_scale;
CREATE TABLE events (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);

-- A new session: a setting made before the library is loaded is the one used.
\c
SET ai_scale.partition_time_zone = 'Asia/Kolkata';
SELECT action, count(*) FROM ai_scale.manage_partitions('events', '1 day', 0) GROUP BY 1;
SELECT time_zone FROM ai_scale.partition_config WHERE parent = 'events'::regclass;
SELECT count(*) FILTER (WHERE lower::timestamptz AT TIME ZONE 'Asia/Kolkata' = date_trunc('day', now() AT TIME ZONE 'Asia/Kolkata'))
       AS today_from_kolkata_midnight
  FROM ai_scale.partitions('events') WHERE tier = 'hot';

\c
SELECT tier, count(*) FROM ai_scale.partitions('events') GROUP BY 1 ORDER BY 1;

\c
UPDATE ai_scale.partition_config SET premake = 2;
SELECT action, count(*) FROM ai_scale.run_maintenance('events') GROUP BY 1;

\c
INSERT INTO events VALUES (1, '2020-01-01 12:00 UTC');
SELECT lower, upper, rows_moved FROM ai_scale.rescue_default('events');

-- The setting reader serves ai_scale.* settings only, and hides what current_setting() hides.
SELECT ai_scale._setting('ai_scale.maintenance_lock_timeout');
SELECT ai_scale._setting('search_path');
CREATE ROLE partition_reader;
SET ROLE partition_reader;
SELECT ai_scale._setting('ai_scale.redis_password');
RESET ROLE;
DROP ROLE partition_reader;

DROP TABLE events;
DROP EXTENSION ai_scale;
