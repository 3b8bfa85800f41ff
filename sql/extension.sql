-- Create, drop and re-create the extension; check the hygiene of what it installs.
CREATE EXTENSION ai_scale;

SELECT e.extname, e.extversion, n.nspname AS schema, e.extrelocatable
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'ai_scale';

-- Every function in the schema pins its search_path, except the seven that run once per row
-- (score, score_multi, score_batched, predict, cache_get, input_hash, and _cell_lower, which
-- rescue_default calls per default-partition row): what they run in SQL or look up by name
-- runs under a search_path pinned in C (src/pg/search_path.hpp; see docs/design.md). And the
-- procedure rescue_default_proc, which commits and so cannot have the clause: it pins the path
-- with set_config at the start of each of its transactions.
SELECT p.oid::regprocedure AS function_without_search_path
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'ai_scale'
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%')
ORDER BY 1;

-- Nothing runs with its owner's rights but the event trigger that forgets the config of a
-- dropped table (install/20_partition.sql says why; it cannot be called directly).
SELECT p.oid::regprocedure AS security_definer_function
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'ai_scale' AND p.prosecdef;

-- DROP removes every object. The schema itself stays: Postgres made it for the control file's
-- "schema" line, so it does not belong to the extension; it is left empty.
DROP EXTENSION ai_scale;
SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace = 'ai_scale'::regnamespace) AS functions_left,
       (SELECT count(*) FROM pg_class WHERE relnamespace = 'ai_scale'::regnamespace) AS relations_left;

CREATE EXTENSION ai_scale;
SELECT ai_scale.version();

-- Creating it twice is an error; IF NOT EXISTS is not.
CREATE EXTENSION ai_scale;
CREATE EXTENSION IF NOT EXISTS ai_scale;
