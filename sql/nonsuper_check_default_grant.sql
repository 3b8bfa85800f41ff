-- check_default by a role that reads the table through a grant on its parent (the usual grant,
-- which Postgres does not copy to the partitions) but may not read the default partition
-- itself: the call counts with its caller's rights, and failed with Postgres's bare
-- "permission denied for table ..._default", naming a table the caller never asked about and
-- nothing of the rule. Now the error says whose rights it counted with and what to grant.
SET client_min_messages = warning;
CREATE ROLE check_default_reader;
CREATE TABLE check_default_g (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) > 0 AS managed
  FROM ai_scale.manage_partitions('check_default_g', '1 day', 1, time_zone => 'UTC');
INSERT INTO check_default_g VALUES (1, '2001-01-01 00:00 UTC');
GRANT SELECT ON check_default_g TO check_default_reader;
SET ROLE check_default_reader;
SELECT count(*) AS read_through_the_parent FROM check_default_g;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT * FROM ai_scale.check_default('check_default_g');
\set VERBOSITY terse
\set SHOW_CONTEXT errors
RESET ROLE;
-- With the grant the hint gives, it counts.
GRANT SELECT ON check_default_g_default TO check_default_reader;
SET ROLE check_default_reader;
SELECT * FROM ai_scale.check_default('check_default_g');
RESET ROLE;
DROP TABLE check_default_g;
DROP ROLE check_default_reader;
