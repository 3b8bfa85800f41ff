-- An ERROR raised and caught inside the work ai_scale does at a commit (where Postgres holds
-- interrupts) leaves the session's interrupts as they were. An ERROR zeroes Postgres's holdoff
-- count before it jumps; caught there, the commit's own release took it below zero, and the
-- session was beyond statement_timeout, cancel and terminate until its next ERROR.
--
-- The ERROR here: a transaction that wrote and invalidated makes its invalidation again at its
-- commit; against a Redis that refuses connections, that failure opens the endpoint's breaker,
-- whose LOG line names the endpoint with its user, and sent to a LATIN1 client that name
-- cannot be converted.
SET client_encoding = 'LATIN1';
SELECT '127.0.3.' || (2 + floor(random() * 250))::int || ':2' AS refusing \gset
SET ai_scale.redis_primary = :'refusing';
SET ai_scale.redis_replicas = '';
SET ai_scale.redis_user = U&'\7528\6237';
SET ai_scale.breaker_failures = 100;
CREATE TEMP TABLE written (x int);
BEGIN;
INSERT INTO written VALUES (1);
SELECT ai_scale.cache_invalidate('interrupts_model');
-- The next failure, the commit's, opens the breaker.
SELECT failures + 1 AS open_at, breaker FROM ai_scale.redis_status() \gset
SELECT :'breaker' AS breaker_before_commit;
SET ai_scale.breaker_failures = :open_at;
SET client_min_messages = log;
COMMIT;
RESET client_min_messages;
SELECT breaker AS breaker_after_commit FROM ai_scale.redis_status();
SET statement_timeout = '100ms';
SELECT pg_sleep(5);
RESET statement_timeout;
RESET ai_scale.breaker_failures;
RESET ai_scale.redis_user;
RESET ai_scale.redis_primary;
RESET ai_scale.redis_replicas;
RESET client_encoding;
