-- partitions() and the helpers that read a table's partitions (_bounds, _detach_pending,
-- _rescue_partition_bounds) lock the table ACCESS SHARE while they read. A role with no
-- privilege on the table kept that lock to the end of its transaction, which LOCK TABLE refuses
-- it: held open, it made an ALTER TABLE of the table wait, and every query queued behind that.
-- Such a role's lock now lasts the call; a role with a privilege on the table (here the
-- owner) keeps it, as a query of the table would.
SET client_min_messages = warning;
CREATE ROLE nonsuper_lock_owner;
CREATE ROLE nonsuper_lock_stranger;
CREATE SCHEMA nonsuper_lock;
GRANT USAGE, CREATE ON SCHEMA nonsuper_lock TO nonsuper_lock_owner;
SET ROLE nonsuper_lock_owner;
CREATE TABLE nonsuper_lock.events (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE nonsuper_lock.events_2026 PARTITION OF nonsuper_lock.events
    FOR VALUES FROM ('2026-01-01 UTC') TO ('2027-01-01 UTC');
RESET ROLE;
-- The stranger has no USAGE on the schema either: it names the table by its OID, as
-- regclass does for a name it may look up.
SELECT 'nonsuper_lock.events'::regclass::oid AS events \gset
-- The locks this session holds on the table and its partitions, after each call in one
-- transaction.
\set locks_held '(SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND (relation = :events OR relation IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = :events)))'
SET ROLE nonsuper_lock_stranger;
BEGIN;
SELECT partition, tier FROM ai_scale.partitions(:events::regclass);
SELECT :locks_held AS after_partitions;
SELECT count(*) AS bounds FROM ai_scale._bounds(:events::regclass, 'UTC');
SELECT ai_scale._detach_pending(:events::regclass) AS pending,
       :locks_held AS after_detach_pending;
SELECT cardinality(bound_lo) AS bounds
  FROM ai_scale._rescue_partition_bounds(:events::regclass, 'UTC');
SELECT :locks_held AS after_rescue_bounds;
COMMIT;
RESET ROLE;
SET ROLE nonsuper_lock_owner;
BEGIN;
SELECT count(*) AS partitions FROM ai_scale.partitions(:events::regclass);
SELECT :locks_held AS owner_keeps;
COMMIT;
-- A role granted only SELECT on it keeps the lock too.
RESET ROLE;
GRANT SELECT ON nonsuper_lock.events TO nonsuper_lock_stranger;
SET ROLE nonsuper_lock_stranger;
BEGIN;
SELECT ai_scale._detach_pending(:events::regclass) AS pending,
       :locks_held AS granted_keeps;
COMMIT;
RESET ROLE;
-- So do a role granted one column, and the owner with its own privileges revoked.
REVOKE SELECT ON nonsuper_lock.events FROM nonsuper_lock_stranger;
GRANT SELECT (id) ON nonsuper_lock.events TO nonsuper_lock_stranger;
SET ROLE nonsuper_lock_stranger;
BEGIN;
SELECT ai_scale._detach_pending(:events::regclass) AS pending,
       :locks_held AS column_granted_keeps;
COMMIT;
RESET ROLE;
SET ROLE nonsuper_lock_owner;
REVOKE ALL ON nonsuper_lock.events FROM nonsuper_lock_owner;
BEGIN;
SELECT ai_scale._detach_pending(:events::regclass) AS pending,
       :locks_held AS revoked_owner_keeps;
COMMIT;
RESET ROLE;
DROP SCHEMA nonsuper_lock CASCADE;
DROP ROLE nonsuper_lock_owner;
DROP ROLE nonsuper_lock_stranger;
