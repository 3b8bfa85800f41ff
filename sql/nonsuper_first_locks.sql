-- _retire_first_locks: the locks a drop or detach takes ahead of its statement after an earlier
-- step of the run gave up on a lock (docs/partitioning.md, Locks): the parent, then the
-- partition and the default in the order the statement locks them. None that LOCK TABLE would
-- refuse the table's owner (it needs UPDATE, DELETE or TRUNCATE, the owner included), which the
-- statement itself locks without that check: taken ahead, an append-only parent made every
-- drop after a lock wait an error (42501) where the DROP alone succeeds. Only the parent ahead
-- of a partition that is itself partitioned: its DROP locks its partitions before the default.
SET client_min_messages = warning;
CREATE ROLE first_locks_owner;
CREATE SCHEMA first_locks AUTHORIZATION first_locks_owner;
SET ROLE first_locks_owner;
CREATE TABLE first_locks.t (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE first_locks.t_default PARTITION OF first_locks.t DEFAULT;
CREATE TABLE first_locks.t_old PARTITION OF first_locks.t
    FOR VALUES FROM ('2001-01-01 UTC') TO ('2001-01-02 UTC');
CREATE TABLE first_locks.t_tree PARTITION OF first_locks.t
    FOR VALUES FROM ('2001-01-02 UTC') TO ('2001-01-03 UTC') PARTITION BY RANGE (at);
CREATE TABLE first_locks.t_leaf PARTITION OF first_locks.t_tree
    FOR VALUES FROM ('2001-01-02 UTC') TO ('2001-01-03 UTC');
SET search_path = first_locks;
-- A drop: parent, partition, default; a detach: parent, default (the partition after them).
SELECT ai_scale._retire_first_locks('t', 't_default', 't_old', false) AS drop_locks,
       ai_scale._retire_first_locks('t', 't_default', 't_old', true) AS detach_locks;
-- A partitioned partition: the parent alone.
SELECT ai_scale._retire_first_locks('t', 't_default', 't_tree', false) AS drop_tree_locks;
-- No default: the parent alone.
SELECT ai_scale._retire_first_locks('t', NULL, 't_old', false) AS no_default_locks;
-- The owner without UPDATE, DELETE and TRUNCATE on the default: the parent alone; on the
-- parent: none.
REVOKE UPDATE, DELETE, TRUNCATE ON t_default FROM first_locks_owner;
SELECT ai_scale._retire_first_locks('t', 't_default', 't_old', false) AS default_append_only;
REVOKE UPDATE, DELETE, TRUNCATE ON t FROM first_locks_owner;
SELECT ai_scale._retire_first_locks('t', 't_default', 't_old', false) AS parent_append_only;
RESET search_path;
RESET ROLE;
DROP SCHEMA first_locks CASCADE;
DROP ROLE first_locks_owner;
