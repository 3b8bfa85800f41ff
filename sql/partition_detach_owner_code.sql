-- Whether the maintenance worker's concurrent detach of a partition would run code of the
-- table owner's (ai_scale._detach_runs_owner_code): then a run detaches or drops the partition
-- itself, as the owner, not the worker as its own role. Three ways: a CHECK constraint of the
-- partition that calls a function that is not built in, a foreign key that references the
-- partition (through its parent or not), and a table above it partitioned by an expression
-- that calls one. Built-in code alone leaves the detach to the worker.
CREATE FUNCTION doc_plus(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1';
CREATE TABLE doc_ev (id int NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (id, at))
    PARTITION BY RANGE (at);
CREATE TABLE doc_ev_a PARTITION OF doc_ev FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
CREATE TABLE doc_ev_b PARTITION OF doc_ev FOR VALUES FROM ('2020-01-02') TO ('2020-01-03');
SELECT ai_scale._detach_runs_owner_code('doc_ev_a') AS plain;
-- CHECK constraints.
ALTER TABLE doc_ev_a ADD CONSTRAINT built_in CHECK (abs(id) < 1000 AND at > '2000-01-01');
SELECT ai_scale._detach_runs_owner_code('doc_ev_a') AS check_built_in;
ALTER TABLE doc_ev_a ADD CONSTRAINT own CHECK (doc_plus(id) > 0);
SELECT ai_scale._detach_runs_owner_code('doc_ev_a') AS check_calling_own_function;
ALTER TABLE doc_ev_a DROP CONSTRAINT own;
-- A foreign key that references the parent references each partition, one made later too;
-- dropped, none.
CREATE TABLE doc_refs (id int, at timestamptz, FOREIGN KEY (id, at) REFERENCES doc_ev);
CREATE TABLE doc_ev_c PARTITION OF doc_ev FOR VALUES FROM ('2020-01-03') TO ('2020-01-04');
SELECT p, ai_scale._detach_runs_owner_code(p) AS referenced
  FROM unnest('{doc_ev_a, doc_ev_b, doc_ev_c}'::regclass[]) p;
DROP TABLE doc_refs;
SELECT ai_scale._detach_runs_owner_code('doc_ev_a') AS key_dropped;
-- One that references the partition itself.
CREATE TABLE doc_refs_a (id int, at timestamptz, FOREIGN KEY (id, at) REFERENCES doc_ev_a);
SELECT p, ai_scale._detach_runs_owner_code(p) AS referenced
  FROM unnest('{doc_ev_a, doc_ev_b}'::regclass[]) p;
DROP TABLE doc_refs_a;
-- A key of the partition's own, referencing another table, is not one that references it.
CREATE TABLE doc_lookup (id int PRIMARY KEY);
ALTER TABLE doc_ev ADD FOREIGN KEY (id) REFERENCES doc_lookup;
SELECT p, ai_scale._detach_runs_owner_code(p) AS referencing_another
  FROM unnest('{doc_ev_a, doc_ev_b}'::regclass[]) p;
ALTER TABLE doc_ev DROP CONSTRAINT doc_ev_id_fkey;
DROP TABLE doc_lookup;
-- A table above partitioned by an expression: calling a function of a role's, or built in.
CREATE TABLE doc_top (id int NOT NULL, at timestamptz NOT NULL)
    PARTITION BY LIST ((doc_plus(id)));
CREATE TABLE doc_mid PARTITION OF doc_top FOR VALUES IN (2) PARTITION BY RANGE (at);
CREATE TABLE doc_mid_a PARTITION OF doc_mid FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
CREATE TABLE doc_top2 (id int NOT NULL, at timestamptz NOT NULL) PARTITION BY LIST ((id + 1));
CREATE TABLE doc_mid2 PARTITION OF doc_top2 FOR VALUES IN (2) PARTITION BY RANGE (at);
CREATE TABLE doc_mid2_a PARTITION OF doc_mid2 FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
-- Two levels up.
CREATE TABLE doc_top3 (id int NOT NULL, at timestamptz NOT NULL)
    PARTITION BY LIST ((doc_plus(id)));
CREATE TABLE doc_mid3 PARTITION OF doc_top3 FOR VALUES IN (2) PARTITION BY LIST (id);
CREATE TABLE doc_low3 PARTITION OF doc_mid3 FOR VALUES IN (1) PARTITION BY RANGE (at);
CREATE TABLE doc_low3_a PARTITION OF doc_low3 FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
SELECT p, ai_scale._detach_runs_owner_code(p) AS ancestor_key
  FROM unnest('{doc_mid_a, doc_mid2_a, doc_low3_a}'::regclass[]) p;
-- A table that is gone: false.
CREATE TABLE doc_gone (at timestamptz);
SELECT 'doc_gone'::regclass::oid AS gone_oid \gset
DROP TABLE doc_gone;
SELECT ai_scale._detach_runs_owner_code(:gone_oid) AS gone;
DROP TABLE doc_ev, doc_top, doc_top2, doc_top3;
DROP FUNCTION doc_plus(int);
