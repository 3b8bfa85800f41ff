-- The verdict require_acting_owner keeps for a table found trusted is forgotten at each change
-- that can make it untrusted without touching the table itself (a trigger function given to
-- another role, a membership revoked), and is never kept from a refusal. check_default
-- writes no catalog row, so nothing of its own clears the verdict between the calls.
-- The refusal's hint of a table with more than five untrusted partitions names the first five.
SET client_min_messages = warning;
\i sql/include/try.sql
CREATE ROLE verdict_app;
CREATE ROLE verdict_owner;
CREATE ROLE verdict_member;
GRANT verdict_owner TO verdict_member;
CREATE TABLE verdict (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE verdict_default PARTITION OF verdict DEFAULT;
ALTER TABLE verdict OWNER TO verdict_owner;
ALTER TABLE verdict_default OWNER TO verdict_owner;
CREATE FUNCTION verdict_note() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN RETURN OLD; END $$;
ALTER FUNCTION verdict_note() OWNER TO verdict_owner;
CREATE TRIGGER note BEFORE DELETE ON verdict_default
    FOR EACH ROW EXECUTE FUNCTION verdict_note();
-- Trusted: the table's owner's own function.
SELECT pg_temp.try($$SELECT ai_scale.check_default('verdict')$$);
-- Given to another role (pg_proc alone changes): refused, and again at the next call.
ALTER FUNCTION verdict_note() OWNER TO verdict_app;
SELECT pg_temp.try($$SELECT ai_scale.check_default('verdict')$$);
SELECT pg_temp.try($$SELECT ai_scale.check_default('verdict')$$);
-- Given to a member of the owner: trusted; the membership revoked (pg_auth_members alone
-- changes): refused.
ALTER FUNCTION verdict_note() OWNER TO verdict_member;
SELECT pg_temp.try($$SELECT ai_scale.check_default('verdict')$$);
REVOKE verdict_owner FROM verdict_member;
SELECT pg_temp.try($$SELECT ai_scale.check_default('verdict')$$);
DROP TABLE verdict;
DROP FUNCTION verdict_note();
-- Six partitions of roles without the rights of the owner (a superuser): five named.
CREATE TABLE verdict_many (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE verdict_many_default PARTITION OF verdict_many DEFAULT;
SELECT format('CREATE TABLE verdict_many_%s PARTITION OF verdict_many'
              ' FOR VALUES FROM (''2019-01-0%s UTC'') TO (''2019-01-0%s UTC'');'
              ' ALTER TABLE verdict_many_%s OWNER TO verdict_app', d, d, d + 1, d)
FROM generate_series(1, 6) d \gexec
\set VERBOSITY default
SELECT ai_scale.check_default('verdict_many');
\set VERBOSITY terse
-- Five: all named, without "the first five".
DROP TABLE verdict_many_6;
\set VERBOSITY default
SELECT ai_scale.check_default('verdict_many');
\set VERBOSITY terse
DROP TABLE verdict_many;
DROP ROLE verdict_app, verdict_owner, verdict_member;
