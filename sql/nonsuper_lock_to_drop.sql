-- ai_scale._lock_to_drop, which a run calls before it drops a detached table marked as owed its
-- drop, locks the table ACCESS EXCLUSIVE by OID (its parent first when it is a partition), and
-- says whether it still exists. Every role may call it: it locks only a table the caller may
-- drop (a member of the owner's role), as LOCK TABLE and DROP TABLE check; for another it locks
-- nothing and returns true (the DROP that follows refuses the table).
SET client_min_messages = warning;
CREATE ROLE lock_to_drop_owner;
CREATE ROLE lock_to_drop_other;
CREATE TABLE lock_to_drop_t (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE lock_to_drop_p PARTITION OF lock_to_drop_t
    FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
CREATE TABLE lock_to_drop_left (at timestamptz);
ALTER TABLE lock_to_drop_t OWNER TO lock_to_drop_owner;
ALTER TABLE lock_to_drop_p OWNER TO lock_to_drop_owner;
ALTER TABLE lock_to_drop_left OWNER TO lock_to_drop_owner;
-- The locks this session holds on the three tables.
CREATE FUNCTION lock_to_drop_held() RETURNS TABLE (rel regclass, mode text)
    LANGUAGE sql AS $$
    SELECT l.relation::regclass, l.mode FROM pg_locks l
     WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
       AND l.relation IN ('lock_to_drop_t'::regclass, 'lock_to_drop_p'::regclass,
                          'lock_to_drop_left'::regclass)
     ORDER BY 1, 2 $$;
-- Another role: nothing locked.
BEGIN;
SET LOCAL ROLE lock_to_drop_other;
SELECT ai_scale._lock_to_drop('lock_to_drop_left');
SELECT ai_scale._lock_to_drop('lock_to_drop_p');
SELECT * FROM lock_to_drop_held();
ROLLBACK;
-- The owner: the table; for a partition, the parent too.
BEGIN;
SET LOCAL ROLE lock_to_drop_owner;
SELECT ai_scale._lock_to_drop('lock_to_drop_left');
SELECT ai_scale._lock_to_drop('lock_to_drop_p');
SELECT * FROM lock_to_drop_held();
ROLLBACK;
-- A table dropped: false.
CREATE TABLE lock_to_drop_gone ();
SELECT 'lock_to_drop_gone'::regclass::oid AS gone \gset
DROP TABLE lock_to_drop_gone;
SELECT ai_scale._lock_to_drop(:gone::oid);
DROP TABLE lock_to_drop_t, lock_to_drop_left;
DROP FUNCTION lock_to_drop_held();
DROP ROLE lock_to_drop_owner, lock_to_drop_other;
