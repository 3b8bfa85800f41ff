-- CREATE EXTENSION ai_scale into a schema ai_scale that holds another extension's functions:
-- installed beside them, a call of one of ours could run one of theirs (an overload of the
-- same name), so the install refuses (42710), naming the extension. Once it has gone, the
-- install goes through.
SELECT current_database() AS home \gset
CREATE DATABASE ai_scale_schema_taken;
\c ai_scale_schema_taken
SET client_min_messages = warning;
CREATE SCHEMA ai_scale;
CREATE EXTENSION pg_trgm SCHEMA ai_scale;
\set VERBOSITY default
CREATE EXTENSION ai_scale;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'ai_scale';
DROP EXTENSION pg_trgm;
CREATE EXTENSION ai_scale;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'ai_scale';
\c :home
DROP DATABASE ai_scale_schema_taken;
