-- Keys are per database, and a database made with a dropped one's OID is another database: a
-- role with CREATEDB may pick the OID (CREATE DATABASE ... OID = n), and one that took a dropped
-- database's OID read its cached answers for as long as they lived, from L1 and from Redis.
-- Keys fold in, beside the OID, the transaction that wrote the database's row in pg_database.
SET client_min_messages = warning;
SELECT current_database() AS home \gset
CREATE DATABASE ai_scale_oid_first;
SELECT oid AS first_oid FROM pg_database WHERE datname = 'ai_scale_oid_first' \gset
\c ai_scale_oid_first
SET client_min_messages = warning;
CREATE EXTENSION ai_scale;
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.cache_put('oid_model', 1, '{"x": 1}', '{"private": true}');
SELECT ai_scale.cache_get('oid_model', 1, '{"x": 1}') AS first_database_reads_its_own;
\c :home
DROP DATABASE ai_scale_oid_first;
CREATE DATABASE ai_scale_oid_second OID = :first_oid;
\c ai_scale_oid_second
SET client_min_messages = warning;
CREATE EXTENSION ai_scale;
SET ai_scale.redis_read_from = 'primary';
SELECT oid = :first_oid AS same_oid FROM pg_database WHERE datname = current_database();
SELECT ai_scale.cache_get('oid_model', 1, '{"x": 1}') AS from_l1;
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.cache_get('oid_model', 1, '{"x": 1}') AS from_redis;
RESET ai_scale.cache_use_l1;
-- Its own entries it reads, from L1 and from Redis.
SELECT ai_scale.cache_put('oid_model', 1, '{"x": 2}', '{"second": true}');
SELECT ai_scale.cache_get('oid_model', 1, '{"x": 2}') AS own_from_l1;
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.cache_get('oid_model', 1, '{"x": 2}') AS own_from_redis;
RESET ai_scale.cache_use_l1;
-- An invalidation of a model of the same name in another database leaves its entries alone.
\c :home
SET client_min_messages = warning;
SELECT ai_scale.cache_invalidate('oid_model');
\c ai_scale_oid_second
SELECT ai_scale.cache_get('oid_model', 1, '{"x": 2}') AS after_other_database_invalidated;
-- An ALTER DATABASE that rewrites its row starts its cache afresh (misses only); one that sets
-- a setting does not.
\c :home
ALTER DATABASE ai_scale_oid_second SET work_mem = '8MB';
\c ai_scale_oid_second
SELECT ai_scale.cache_get('oid_model', 1, '{"x": 2}') AS after_set;
\c :home
ALTER DATABASE ai_scale_oid_second WITH CONNECTION LIMIT 50;
\c ai_scale_oid_second
SELECT ai_scale.cache_get('oid_model', 1, '{"x": 2}') AS after_rewrite;
-- Also in a session open across the rewrite (its own ALTER here): it forgets the keys it made
-- before, in L1 and in Redis, as new sessions do.
SELECT ai_scale.cache_put('oid_model', 1, '{"x": 3}', '{"before": "rewrite"}');
SELECT ai_scale.cache_get('oid_model', 1, '{"x": 3}') AS before_rewrite_here;
ALTER DATABASE ai_scale_oid_second WITH CONNECTION LIMIT 40;
SELECT ai_scale.cache_get('oid_model', 1, '{"x": 3}') AS after_rewrite_here;
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.cache_get('oid_model', 1, '{"x": 3}') AS after_rewrite_here_from_redis;
RESET ai_scale.cache_use_l1;
\c :home
DROP DATABASE ai_scale_oid_second;
