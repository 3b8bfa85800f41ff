-- ai_scale._has_rows_unlocked(rel): whether rel holds a row of its own, as SELECT EXISTS
-- (SELECT 1 FROM ONLY rel) says, looked at under an ACCESS SHARE lock released at once unless
-- the transaction held it before. A run looks at the default partition so before it locks it
-- ACCESS EXCLUSIVE; kept, the look's lock would make that an upgrade, and a transaction that
-- had read the table and then locked the default in full while the run waited would fail with
-- 40P01 (specs/default_reader_then_writer.spec).
SET client_min_messages = warning;
CREATE TABLE look (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE look_default PARTITION OF look DEFAULT;
CREATE TABLE look_2026 PARTITION OF look FOR VALUES FROM ('2026-01-01 UTC') TO ('2027-01-01 UTC');
\set held '(SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND relation = ''look_default''::regclass)'
-- Empty, then with a row; no lock held after either look.
BEGIN;
SELECT ai_scale._has_rows_unlocked('look_default') AS has_rows, :held AS locks_held;
INSERT INTO look VALUES (1, '2001-01-01 UTC');
SELECT ai_scale._has_rows_unlocked('look_default') AS has_rows;
COMMIT;
BEGIN;
SELECT ai_scale._has_rows_unlocked('look_default') AS has_rows, :held AS locks_held;
-- A lock the transaction held before stays.
SELECT count(*) AS rows_read FROM look;
SELECT ai_scale._has_rows_unlocked('look_default') AS has_rows, :held AS locks_held;
COMMIT;
-- A row this transaction deleted is gone for it, as for a query.
BEGIN;
DELETE FROM look_default;
SELECT ai_scale._has_rows_unlocked('look_default') AS has_rows;
ROLLBACK;
-- A partitioned table holds no row of its own.
SELECT ai_scale._has_rows_unlocked('look') AS has_rows;
-- Refused as the query would be: a role without SELECT; a table with no rows to scan.
CREATE ROLE look_stranger;
SET ROLE look_stranger;
\set VERBOSITY sqlstate
SELECT ai_scale._has_rows_unlocked('public.look_default');
\set VERBOSITY default
-- SELECT on one column is enough, as for the query.
RESET ROLE;
GRANT SELECT (id) ON look_default TO look_stranger;
SET ROLE look_stranger;
SELECT ai_scale._has_rows_unlocked('public.look_default') AS has_rows;
RESET ROLE;
REVOKE SELECT (id) ON look_default FROM look_stranger;
SELECT ai_scale._has_rows_unlocked('pg_class_oid_index');
SELECT ai_scale._has_rows_unlocked(0);
-- Under row-level security that applies to the caller, rows the policies hide might be there:
-- the answer is true (a hint; the steps look again under their lock), and says nothing of
-- what the caller may not see.
CREATE TABLE look_private (id int);
ALTER TABLE look_private ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON look_private TO look_stranger;
SET ROLE look_stranger;
SELECT ai_scale._has_rows_unlocked('look_private') AS has_rows;
RESET ROLE;
SELECT ai_scale._has_rows_unlocked('look_private') AS has_rows;
DROP TABLE look, look_private;
DROP ROLE look_stranger;
