-- A managed table that is itself a partition of a table partitioned by RANGE on the same
-- column (time within time). ai_scale did not read the bounds the table has in its parent:
-- manage_partitions made partitions around now, outside them, that could never hold a row (an
-- insert of such a row fails in the parent, "no partition of relation ... found for row").
-- Refused (0A000). A partition of a table partitioned by LIST, HASH, or RANGE on another
-- column stays supported.
SET client_min_messages = warning;
\i sql/include/try.sql

-- Time within time: refused, and nothing made.
CREATE TABLE tit (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE tit_2020 PARTITION OF tit
    FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2021-01-01 00:00+00') PARTITION BY RANGE (at);
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT ai_scale.manage_partitions('tit_2020', '1 day', 2);
\set VERBOSITY terse
SELECT count(*) AS config_rows FROM ai_scale.partition_config WHERE parent = 'tit_2020'::regclass;
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'tit_2020'::regclass;

-- The same two levels apart (time, then model, then time), and under a key expression of the
-- column.
CREATE TABLE tit2 (model text NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE tit2_2020 PARTITION OF tit2
    FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2021-01-01 00:00+00') PARTITION BY LIST (model);
CREATE TABLE tit2_2020_m PARTITION OF tit2_2020 FOR VALUES IN ('m') PARTITION BY RANGE (at);
SELECT pg_temp.try($$SELECT ai_scale.manage_partitions('tit2_2020_m', '1 day', 2)$$);
CREATE TABLE tit3 (id int, at timestamptz NOT NULL)
    PARTITION BY RANGE (date_trunc('day', at AT TIME ZONE 'UTC'));
CREATE TABLE tit3_2020 PARTITION OF tit3
    FOR VALUES FROM ('2020-01-01') TO ('2021-01-01') PARTITION BY RANGE (at);
SELECT pg_temp.try($$SELECT ai_scale.manage_partitions('tit3_2020', '1 day', 2)$$);

-- Supported: a store list-partitioned by model, each model's table range-partitioned by time
-- and managed; a row inserted through the top table reaches its model's partition for the day.
CREATE TABLE tit_store (model_name text NOT NULL, created_at timestamptz NOT NULL, v int)
    PARTITION BY LIST (model_name);
CREATE TABLE tit_store_a PARTITION OF tit_store FOR VALUES IN ('a') PARTITION BY RANGE (created_at);
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('tit_store_a', '1 day', 2);
INSERT INTO tit_store VALUES ('a', now(), 1);
SELECT i.inhparent::regclass AS model_table,
       t.tableoid <> 'tit_store_a_default'::regclass AS in_a_day_partition
  FROM tit_store t JOIN pg_inherits i ON i.inhrelid = t.tableoid;
SELECT count(*) AS errors FROM ai_scale.run_maintenance('tit_store_a') WHERE action = 'error';

-- Supported too: a partition of a table range-partitioned on another column, or hash-partitioned.
CREATE TABLE tit_ids (id int NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE tit_ids_low PARTITION OF tit_ids FOR VALUES FROM (0) TO (1000) PARTITION BY RANGE (at);
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('tit_ids_low', '1 day', 2);
CREATE TABLE tit_hash (id int NOT NULL, at timestamptz NOT NULL) PARTITION BY HASH (id);
CREATE TABLE tit_hash_0 PARTITION OF tit_hash FOR VALUES WITH (MODULUS 2, REMAINDER 0)
    PARTITION BY RANGE (at);
SELECT count(*) > 0 AS managed FROM ai_scale.manage_partitions('tit_hash_0', '1 day', 2);

DROP TABLE tit, tit2, tit3, tit_store, tit_ids, tit_hash;
