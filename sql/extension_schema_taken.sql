-- CREATE EXTENSION ai_scale into a schema ai_scale that holds another extension's functions:
-- installed beside them, a call of one of ours could run one of theirs (an overload of the
-- same name), so the install warns, naming the extension, and what to do. (Not refused: a
-- restore creates extensions in the order of their names, and would leave ai_scale out.)
SELECT current_database() AS home \gset
CREATE DATABASE ai_scale_schema_taken;
\c ai_scale_schema_taken
SET client_min_messages = warning;
CREATE SCHEMA ai_scale;
CREATE EXTENSION pg_trgm SCHEMA ai_scale;
\set VERBOSITY default
CREATE EXTENSION ai_scale;
\set VERBOSITY terse
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'ai_scale';
-- Without the other extension, no warning.
DROP EXTENSION ai_scale;
DROP EXTENSION pg_trgm;
CREATE EXTENSION ai_scale;
\c :home
DROP DATABASE ai_scale_schema_taken;
