-- Rows in the default partition: check_default, rescue_default in resumable batches, and
-- maintenance that moves them instead of failing on them.
SET client_min_messages = warning;
CREATE TABLE rescue (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('rescue', '1 day', 0, time_zone => 'UTC');
INSERT INTO rescue SELECT i, timestamptz '2021-06-01 00:00 UTC' + (i % 3) * interval '1 day' + i * interval '1 s'
  FROM generate_series(1, 300) i;
SELECT * FROM ai_scale.check_default('rescue');
SET TimeZone = 'UTC';
-- One batch: whole days until at least 150 rows moved.
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('rescue', 150);
SELECT * FROM ai_scale.check_default('rescue');
-- Resumed: the rest, nothing twice.
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('rescue');
SELECT * FROM ai_scale.check_default('rescue');
SELECT count(*), count(DISTINCT id) FROM rescue;
SELECT tableoid::regclass, count(*) FROM rescue GROUP BY 1 ORDER BY 1;
-- An interrupted batch leaves everything where it was.
INSERT INTO rescue VALUES (1000, '2021-07-01 10:00 UTC');
BEGIN;
SELECT rows_moved FROM ai_scale.rescue_default('rescue');
ROLLBACK;
SELECT * FROM ai_scale.check_default('rescue');
SELECT to_regclass('rescue_20210701') IS NULL AS no_partition_left;

-- Maintenance needing a partition whose range has rows in the default: it moves them.
INSERT INTO rescue VALUES (2000, date_trunc('day', now(), 'UTC') + interval '2 days 1 hour');
SELECT action, detail ~ 'moved 1 row from the default partition' AS moved
  FROM ai_scale.manage_partitions('rescue', '1 day', 3) ORDER BY partition;
SELECT * FROM ai_scale.check_default('rescue');
SELECT count(*) FROM rescue;
DROP TABLE rescue;

-- A day cut by an adopted partition [06:00, 12:00): its default rows go to partitions of the
-- free parts only. Rows at infinity stay (with a notice); an identity column ALWAYS and a
-- generated column come through unchanged; the staging table is gone afterwards.
CREATE TABLE cut (id int GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL,
                  twice int GENERATED ALWAYS AS (id * 2) STORED) PARTITION BY RANGE (at);
CREATE TABLE cut_morning PARTITION OF cut FOR VALUES FROM ('2021-06-01 06:00 UTC') TO ('2021-06-01 12:00 UTC');
SELECT count(*) FROM ai_scale.manage_partitions('cut', '1 day', 0, time_zone => 'UTC');
INSERT INTO cut (at) VALUES ('2021-06-01 02:00 UTC'), ('2021-06-01 03:00 UTC'), ('2021-06-01 08:00 UTC'),
                            ('2021-06-01 15:00 UTC'), ('infinity'), ('2021-06-02 01:00 UTC');
SET client_min_messages = notice;
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('cut');
SET client_min_messages = warning;
SELECT tableoid::regclass, id, at, twice FROM cut ORDER BY id;
SELECT * FROM ai_scale.check_default('cut');
SELECT count(*) AS stages_left FROM pg_class WHERE relname LIKE 'cut%stage%';
DROP TABLE cut;

-- Names that need quoting and a date key. The attaches skip their scans through temporary
-- CHECK constraints (on the default and on each new partition), which are gone afterwards.
CREATE TABLE "Odd ""Rescue""" ("Booked On" date NOT NULL, n int) PARTITION BY RANGE ("Booked On");
SELECT count(*) FROM ai_scale.manage_partitions('"Odd ""Rescue"""', '1 month', 0);
INSERT INTO "Odd ""Rescue""" SELECT date '2020-01-15' + i * 20, i FROM generate_series(0, 5) i;
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('"Odd ""Rescue"""');
SELECT tableoid::regclass, count(*) FROM "Odd ""Rescue""" GROUP BY 1 ORDER BY 1;
SELECT count(*) AS rescue_constraints_left FROM pg_constraint WHERE conname LIKE 'ai_scale_rescue%';
DROP TABLE "Odd ""Rescue""";

-- Rows spread thinly over many cells: a call makes at most 100 partitions (their locks are
-- held until it commits), whatever batch_rows says; calls in turn move everything.
CREATE TABLE thin (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('thin', '1 hour', 0, time_zone => 'UTC');
INSERT INTO thin SELECT i, timestamptz '2022-03-01 00:00 UTC' + i * interval '1 hour' + interval '7 minutes'
  FROM generate_series(1, 250) i;
SELECT count(*) AS partitions, sum(rows_moved) AS moved FROM ai_scale.rescue_default('thin', 100000);
SELECT count(*) AS partitions, sum(rows_moved) AS moved FROM ai_scale.rescue_default('thin', 100000);
SELECT count(*) AS partitions, sum(rows_moved) AS moved FROM ai_scale.rescue_default('thin', 100000);
SELECT * FROM ai_scale.check_default('thin');
SELECT count(*) AS rows, count(DISTINCT tableoid) AS tables FROM thin;
RESET TimeZone;
DROP TABLE thin;
-- A maintenance run rescues one such batch too: rescue_batch_rows rows or 100 partitions,
-- whichever comes first.
CREATE TABLE thin_run (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('thin_run', '1 hour', 0, time_zone => 'UTC');
INSERT INTO thin_run SELECT i, timestamptz '2022-03-01 00:00 UTC' + i * interval '1 hour'
  FROM generate_series(1, 150) i;
SELECT action, count(*) FROM ai_scale.run_maintenance('thin_run') GROUP BY 1;
UPDATE ai_scale.partition_config SET rescue_batch_rows = 20 WHERE parent = 'thin_run'::regclass;
SELECT action, count(*) FROM ai_scale.run_maintenance('thin_run') GROUP BY 1;
SELECT rows FROM ai_scale.check_default('thin_run');
DROP TABLE thin_run;

-- With a btree index leading with the key on the default (from the parent, or the one
-- rescue_default_proc builds), the cells are walked through the index a batch at a time
-- instead of grouped by a scan of the whole default: _default_cells then returns only what one
-- batch takes. The same batches, 100-partition cap and leftovers as the scan above.
CREATE TABLE walked (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('walked', '1 hour', 0, time_zone => 'UTC');
INSERT INTO walked SELECT i, timestamptz '2022-03-01 00:00 UTC' + i * interval '1 hour' + interval '7 minutes'
  FROM generate_series(1, 250) i;
INSERT INTO walked VALUES (0, 'infinity'), (-1, '-infinity');
SELECT cardinality(cell_lows) AS cells, unplaceable
  FROM ai_scale._default_cells('walked_default', 'at', 'timestamptz', 'UTC', '1 hour', 3);
CREATE INDEX ON walked_default (at);
SELECT cell_lows, cell_rows, unplaceable
  FROM ai_scale._default_cells('walked_default', 'at', 'timestamptz', 'UTC', '1 hour', 3);
SELECT count(*) AS partitions, sum(rows_moved) AS moved FROM ai_scale.rescue_default('walked', 100000);
SELECT count(*) AS partitions, sum(rows_moved) AS moved FROM ai_scale.rescue_default('walked', 100000);
SELECT count(*) AS partitions, sum(rows_moved) AS moved FROM ai_scale.rescue_default('walked', 100000);
SELECT count(*) AS partitions, sum(rows_moved) AS moved FROM ai_scale.rescue_default('walked', 100000);
SELECT * FROM ai_scale.check_default('walked');
SELECT count(*) AS rows, count(DISTINCT tableoid) AS tables FROM walked;
DROP TABLE walked;

-- The walk probes only the spans no partition covers (the rows earlier batches moved out
-- leave dead index entries in the covered ones): rows before, between and after existing
-- partitions are all found, oldest first.
CREATE TABLE spans (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('spans', '1 day', 0, time_zone => 'UTC');
CREATE TABLE spans_early PARTITION OF spans FOR VALUES FROM ('2023-05-02 UTC') TO ('2023-05-04 UTC');
CREATE TABLE spans_later PARTITION OF spans FOR VALUES FROM ('2023-05-06 UTC') TO ('2023-05-07 UTC');
CREATE INDEX ON spans_default (at);
INSERT INTO spans VALUES ('2023-05-01 12:00 UTC'), ('2023-05-04 12:00 UTC'), ('2023-05-05 12:00 UTC'),
                         ('2023-05-08 12:00 UTC'), ('2023-05-08 13:00 UTC');
SET TimeZone = 'UTC';
SELECT cell_lows, cell_rows
  FROM ai_scale._default_cells('spans_default', 'at', 'timestamptz', 'UTC', '1 day', 100);
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('spans');
RESET TimeZone;
SELECT * FROM ai_scale.check_default('spans');
DROP TABLE spans;
-- The same with a date key: monthly cells on either side of an adopted two-month partition.
CREATE TABLE spans_by_date (d date NOT NULL) PARTITION BY RANGE (d);
SELECT count(*) FROM ai_scale.manage_partitions('spans_by_date', '1 month', 0);
CREATE TABLE spans_by_date_spring PARTITION OF spans_by_date FOR VALUES FROM ('2020-03-01') TO ('2020-05-01');
CREATE INDEX ON spans_by_date_default (d);
INSERT INTO spans_by_date SELECT date '2020-01-15' + i * 20 FROM generate_series(0, 8) i;
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('spans_by_date');
SELECT tableoid::regclass::text AS partition, count(*) FROM spans_by_date GROUP BY 1 ORDER BY 1;
DROP TABLE spans_by_date;

-- Across a DST fall-back, a 15-minute cell starting in the repeated local hour starts (read as
-- standard time, as Postgres reads an ambiguous local time) after that hour's first pass: the
-- rows of the first pass belong to the cell before, 00:45 to 01:00 local, 75 minutes long.
-- Grouped by a scan or walked through an index, every row goes to a partition holding it.
CREATE TABLE fallback (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('fallback', '15 minutes', 0, time_zone => 'America/New_York');
CREATE TABLE fallback_walked (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('fallback_walked', '15 minutes', 0, time_zone => 'America/New_York');
CREATE INDEX ON fallback_walked_default (at);
INSERT INTO fallback VALUES ('2026-11-01 04:40 UTC'), ('2026-11-01 05:30 UTC'), ('2026-11-01 05:50 UTC'),
                            ('2026-11-01 06:10 UTC');
INSERT INTO fallback_walked SELECT * FROM fallback;
SET TimeZone = 'UTC';
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('fallback');
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('fallback_walked');
SELECT * FROM (SELECT tableoid::regclass::text AS partition, at FROM fallback
               UNION ALL SELECT tableoid::regclass::text, at FROM fallback_walked) r ORDER BY 1, 2;
RESET TimeZone;
DROP TABLE fallback, fallback_walked;

-- rescue_default_proc loops rescue_default, committing after each batch, until nothing is left
-- to move. Four days of 300 rows, batches of at least 500 rows: whole days, two per batch.
CREATE TABLE looped (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('looped', '1 day', 0, time_zone => 'UTC');
INSERT INTO looped SELECT i, timestamptz '2023-05-01 00:00 UTC' + (i % 4) * interval '1 day'
  FROM generate_series(1, 1200) i;
INSERT INTO looped VALUES (0, 'infinity');
SET client_min_messages = notice;
-- Inside a transaction block it cannot commit: an error, and what it did is undone (here the
-- index on the key it builds first, the default holding more than two batches of rows).
BEGIN;
CALL ai_scale.rescue_default_proc('looped', 500);
ROLLBACK;
SELECT * FROM ai_scale.check_default('looped');
CALL ai_scale.rescue_default_proc('looped', 500);
SET client_min_messages = warning;
SELECT * FROM ai_scale.check_default('looped');
SELECT tableoid::regclass, count(*) FROM looped GROUP BY 1 ORDER BY 1;
-- The index it built is gone, and so is one an interrupted call left behind.
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'looped_default'::regclass;
-- The same in a schema, a table and a key whose names need quoting: the index on the key is
-- named quoted too (written out bare, "At Time" was column "at", which does not exist, and
-- every row stayed in the default).
CREATE SCHEMA "Looped Schema";
CREATE TABLE "Looped Schema"."Looped" (id int, "At Time" timestamptz NOT NULL)
    PARTITION BY RANGE ("At Time");
SELECT count(*) FROM ai_scale.manage_partitions('"Looped Schema"."Looped"', '1 day', 0,
                                                time_zone => 'UTC');
INSERT INTO "Looped Schema"."Looped"
SELECT i, timestamptz '2023-05-01 00:00 UTC' + (i % 4) * interval '1 day'
  FROM generate_series(1, 1200) i;
CALL ai_scale.rescue_default_proc('"Looped Schema"."Looped"', 500);
SELECT * FROM ai_scale.check_default('"Looped Schema"."Looped"');
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = '"Looped Schema"."Looped"'::regclass;
DROP SCHEMA "Looped Schema" CASCADE;
CREATE INDEX looped_left_behind ON looped_default (at);
SELECT ai_scale._rescue_index_comment() AS comment \gset
COMMENT ON INDEX looped_left_behind IS :'comment';
CALL ai_scale.rescue_default_proc('looped');
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'looped_default'::regclass;
-- Maintenance drops one too once the default is empty (an interrupted call may never be made
-- again); an index of the user's own on the default stays.
DELETE FROM looped_default;
CREATE INDEX looped_left_behind ON looped_default (at);
COMMENT ON INDEX looped_left_behind IS :'comment';
CREATE INDEX looped_users_own ON looped_default (id);
SELECT action, partition, detail FROM ai_scale.run_maintenance('looped') WHERE action <> 'created';
SELECT indexrelid::regclass AS index FROM pg_index WHERE indrelid = 'looped_default'::regclass;
DROP INDEX looped_users_own;
-- Nothing left: a call commits nothing, so it may run inside a transaction block, and leaves
-- the caller's search_path as it was. Bad arguments are refused.
BEGIN;
SET LOCAL search_path = public;
CALL ai_scale.rescue_default_proc('looped');
SHOW search_path;
COMMIT;
CALL ai_scale.rescue_default_proc(NULL);
CALL ai_scale.rescue_default_proc('looped', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ai_scale.rescue_default('looped', 0);
\echo :LAST_ERROR_SQLSTATE
CALL ai_scale.rescue_default_proc('looped', 10, interval '-1 second');
\echo :LAST_ERROR_SQLSTATE
-- A null batch_rows or pause is 22004 and says so (it was "batch_rows must be at least 1").
CALL ai_scale.rescue_default_proc('looped', NULL);
\echo :LAST_ERROR_SQLSTATE
CALL ai_scale.rescue_default_proc('looped', 10, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ai_scale.rescue_default('looped', NULL);
\echo :LAST_ERROR_SQLSTATE
DROP TABLE looped;
-- A default already indexed on the key (here through the parent) is walked with that index:
-- the procedure builds no index of its own and leaves the user's in place.
CREATE TABLE indexed (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE INDEX indexed_at ON indexed (at);
SELECT count(*) FROM ai_scale.manage_partitions('indexed', '1 day', 0, time_zone => 'UTC');
INSERT INTO indexed SELECT i, timestamptz '2023-05-01 00:00 UTC' + (i % 4) * interval '1 day'
  FROM generate_series(1, 1200) i;
CALL ai_scale.rescue_default_proc('indexed', 100);
SELECT * FROM ai_scale.check_default('indexed');
SELECT c.relname AS index_on_default FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'indexed_default'::regclass;
DROP TABLE indexed;
-- Keys at the ends of the timestamp range have no cell Postgres can bound: they stay, like
-- NULL and infinite keys, and are counted, while the other rows are moved; with or without an
-- index on the default's key.
SET TimeZone = 'UTC';
SET client_min_messages = notice;
CREATE TABLE edges (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('edges', '1 day', 0, time_zone => 'UTC');
INSERT INTO edges VALUES (1, '4713-01-01 00:00+00 BC'), (2, '1900-01-01 12:00+00'),
                         (3, '294276-12-31 12:00+00'), (4, '4713-01-05 00:00+00 BC');
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('edges');
SELECT id FROM ONLY edges_default ORDER BY id;
DELETE FROM edges WHERE id = 2;
INSERT INTO edges VALUES (5, '1900-01-03 12:00+00');
CREATE INDEX ON edges_default (at);
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('edges');
SELECT id FROM ONLY edges_default ORDER BY id;
DROP TABLE edges;
RESET client_min_messages;
-- A piece of a cell (a partition made by hand takes the rest) is named by its start with the
-- year as the cells' names write it, before year 1 too: astronomical (44 BC is -043). The
-- piece of 44 BC was named bc_00440701_0000, as if of AD 44.
CREATE TABLE bc (d date NOT NULL) PARTITION BY RANGE (d);
CREATE TABLE bc_byhand PARTITION OF bc FOR VALUES FROM ('0044-01-01 BC') TO ('0044-07-01 BC');
SELECT count(*) FROM ai_scale.manage_partitions('bc', '1 year', 0);
INSERT INTO bc VALUES ('0044-08-01 BC'), ('0045-06-01 BC'), ('0001-03-01 BC'), ('0044-08-01');
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('bc');
SELECT ai_scale._piece_suffix(at) FROM unnest(ARRAY['0001-06-01 BC', '1000-06-01 BC',
                                                     '4713-06-01 12:30 BC']::timestamp[]) at;
DROP TABLE bc;
RESET TimeZone;

-- A table with triggers of its own, or in a publication, gets its rows moved through the
-- parent: its triggers (and a subscriber) see each row leave the default and arrive in its
-- partition, from a rescue and from maintenance making a partition for rows in the default.
-- The moves run as the table's owner, so that its triggers never run with the rights of
-- whoever runs maintenance (here a superuser; often the worker's).
CREATE ROLE audit_owner;
GRANT CREATE ON SCHEMA public TO audit_owner; -- maintenance makes partitions as the owner
CREATE TABLE audited (id int, at timestamptz NOT NULL,
                      twice int GENERATED ALWAYS AS (id * 2) STORED NOT NULL)
  PARTITION BY RANGE (at);
ALTER TABLE audited OWNER TO audit_owner;
SELECT count(*) FROM ai_scale.manage_partitions('audited', '1 day', 0, time_zone => 'UTC');
CREATE TABLE audit_log (op text, into_default boolean, by_role name);
GRANT INSERT ON audit_log TO audit_owner;
-- (Triggers fired from ai_scale's functions run under their search_path, pg_catalog and
-- pg_temp: a trigger function names its tables with their schema, or sets its own path.)
CREATE FUNCTION log_op() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
BEGIN
    INSERT INTO audit_log
    VALUES (TG_OP, (CASE TG_OP WHEN 'DELETE' THEN OLD.tableoid ELSE NEW.tableoid END)
                   = 'audited_default'::regclass, current_user);
    RETURN NULL;
END $$;
CREATE TRIGGER audited_log AFTER INSERT OR DELETE ON audited FOR EACH ROW EXECUTE FUNCTION log_op();
INSERT INTO audited SELECT i, timestamptz '2022-03-01 00:00 UTC' + (i % 3) * interval '1 day'
  FROM generate_series(1, 30) i;
DELETE FROM audit_log;
SELECT count(*) AS partitions, sum(rows_moved) AS moved FROM ai_scale.rescue_default('audited');
INSERT INTO audited VALUES (31, now() + interval '1 day');
UPDATE ai_scale.partition_config SET premake = 1 WHERE parent = 'audited'::regclass;
SELECT action, detail LIKE '%moved 1 row from the default partition' AS moved_one
  FROM ai_scale.run_maintenance('audited');
SELECT op, into_default, by_role, count(*) FROM audit_log GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT count(*) AS left_in_default FROM ONLY audited_default;
SELECT count(*) AS rows, count(DISTINCT id) AS ids, bool_and(twice = id * 2) AS generated_kept
  FROM audited;
-- A BEFORE INSERT trigger that skips rows would lose the ones being moved: the move stops
-- (09000) and nothing leaves the default.
CREATE FUNCTION drop_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN CASE WHEN NEW.at < timestamptz '2023-01-01 00:00 UTC' THEN NULL ELSE NEW END;
END $$;
INSERT INTO audited (id, at) VALUES (40, '2022-06-01 12:00 UTC'), (41, '2022-06-02 12:00 UTC');
CREATE TRIGGER audited_drop_old BEFORE INSERT ON audited FOR EACH ROW EXECUTE FUNCTION drop_old();
SELECT * FROM ai_scale.rescue_default('audited');
SELECT count(*) AS still_in_default FROM ONLY audited_default;
DROP TABLE audited, audit_log;
DROP FUNCTION log_op(), drop_old();
REVOKE CREATE ON SCHEMA public FROM audit_owner;
DROP ROLE audit_owner;

-- Rows of a table that a foreign key references are not moved: deleting them from the default
-- would fire the key's ON DELETE action (here CASCADE) before they are back.
CREATE TABLE referenced (id int, at timestamptz NOT NULL, PRIMARY KEY (id, at))
  PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('referenced', '1 day', 0, time_zone => 'UTC');
CREATE TABLE referrer (id int, at timestamptz, FOREIGN KEY (id, at) REFERENCES referenced ON DELETE CASCADE);
INSERT INTO referenced VALUES (1, '2022-03-01 12:00 UTC'), (2, '2022-03-02 12:00 UTC');
INSERT INTO referrer VALUES (1, '2022-03-01 12:00 UTC'), (2, '2022-03-02 12:00 UTC');
SELECT * FROM ai_scale.rescue_default('referenced');
SELECT action, detail FROM ai_scale.run_maintenance('referenced');
SELECT (SELECT count(*) FROM ONLY referenced_default) AS in_default, (SELECT count(*) FROM referrer) AS referrers;
-- rescue_default_proc builds no index on the default for its first batch to be refused: the
-- index stayed, and every later call was refused the same.
INSERT INTO referenced VALUES (5, '2022-03-03 12:00 UTC');
\set VERBOSITY terse
CALL ai_scale.rescue_default_proc('referenced', 1);
\set VERBOSITY default
SELECT count(*) AS indexes_on_default FROM pg_index WHERE indrelid = 'referenced_default'::regclass;
DELETE FROM referenced WHERE id = 5;
-- Its partitions are still made, as long as no row of the default lies in their ranges: rows
-- that stay there (the old ones above, one with an infinite key that no partition can hold)
-- used to fail every run's creations, so that premaking stopped for good and new rows piled
-- up in the default.
INSERT INTO referenced VALUES (3, 'infinity');
INSERT INTO referrer VALUES (3, 'infinity');
UPDATE ai_scale.partition_config SET premake = 2 WHERE parent = 'referenced'::regclass;
SELECT action, count(*), min(detail) FILTER (WHERE action = 'error') AS error
  FROM ai_scale.run_maintenance('referenced') GROUP BY 1 ORDER BY 1;
-- A row in the range of a partition to be made still stops that partition's creation (moving
-- it would fire the foreign key's action): an error row for its range (its bounds replaced
-- here: they move with the date). The partitions after it are made: that row stopped them
-- all, at every run.
INSERT INTO referenced VALUES (4, date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '3 days 1 hour');
UPDATE ai_scale.partition_config SET premake = 4 WHERE parent = 'referenced'::regclass;
SELECT action, partition IS NOT NULL AS named,
       regexp_replace(detail, '[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9 ]{2} [0-9:]{8} [0-9]{4} [A-Z]{3}',
                      'T', 'g') AS detail
  FROM ai_scale.run_maintenance('referenced') ORDER BY 1;
SELECT (SELECT count(*) FROM ONLY referenced_default) AS in_default, (SELECT count(*) FROM referrer) AS referrers,
       (SELECT count(*) FROM pg_inherits WHERE inhparent = 'referenced'::regclass) AS partitions;
DROP TABLE referrer, referenced;
-- With two keys, the error names the older one, whichever columns each references (the newer
-- key's are found first in the catalog's order here: its column a comes before b).
CREATE TABLE twice_referenced (a int, b int, at timestamptz NOT NULL, PRIMARY KEY (b, at),
                               UNIQUE (a, at)) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('twice_referenced', '1 day', 0, time_zone => 'UTC');
CREATE TABLE older_referrer (b int, at timestamptz, FOREIGN KEY (b, at) REFERENCES twice_referenced (b, at));
CREATE TABLE newer_referrer (a int, at timestamptz, FOREIGN KEY (a, at) REFERENCES twice_referenced (a, at));
INSERT INTO twice_referenced VALUES (1, 1, '2022-03-01 12:00 UTC');
SELECT * FROM ai_scale.rescue_default('twice_referenced');
DROP TABLE older_referrer, newer_referrer, twice_referenced;
-- Nor rows whose move a rule would rewrite. A DO INSTEAD one on INSERT into a table whose rows
-- go through it (it has a trigger) sent them where the rule said: as many rows arrived as
-- had left the default, the move was reported made, and the partitions made for them stayed
-- empty. A DO INSTEAD one on DELETE from the default kept them there, and the attach failed on
-- a check constraint of ours named as the cause (23514); a DO ALSO one there failed the moves
-- that delete in a WITH query (a partition made ahead over rows of the default) on Postgres's
-- refusal of rules there, naming none (a rescue's move runs it: sql/partition_owner_rights.sql).
-- A DO ALSO rule on INSERT sends the move through the parent, as an INSERT trigger does, and
-- runs beside it (without a trigger, the rows were written into the new partition itself, and
-- the rule never ran for them).
CREATE TABLE ruled (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('ruled', '1 day', 0, time_zone => 'UTC');
CREATE TABLE ruled_elsewhere (id int, at timestamptz);
CREATE TABLE ruled_log (op text, id int);
INSERT INTO ruled VALUES (1, '2022-03-01 12:00 UTC'), (2, '2022-03-02 12:00 UTC');
CREATE FUNCTION ruled_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER ruled_keep BEFORE INSERT ON ruled FOR EACH ROW EXECUTE FUNCTION ruled_keep();
CREATE RULE ruled_redirect AS ON INSERT TO ruled DO INSTEAD INSERT INTO ruled_elsewhere VALUES (NEW.id, NEW.at);
SELECT * FROM ai_scale.rescue_default('ruled');
SELECT action, detail FROM ai_scale.run_maintenance('ruled');
-- Without the trigger the rows are written into the new partition itself: the rule is not
-- in the way.
DROP TRIGGER ruled_keep ON ruled;
CREATE RULE ruled_keep_rows AS ON DELETE TO ruled_default DO INSTEAD NOTHING;
SELECT * FROM ai_scale.rescue_default('ruled');
DROP RULE ruled_keep_rows ON ruled_default;
DROP RULE ruled_redirect ON ruled;
CREATE RULE ruled_logged AS ON DELETE TO ruled_default DO ALSO INSERT INTO ruled_log VALUES ('delete', OLD.id);
UPDATE ai_scale.partition_config SET premake = 1 WHERE parent = 'ruled'::regclass;
INSERT INTO ruled VALUES (3, now() + interval '1 day');
SELECT action, regexp_replace(detail, '[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9 ]{2} [0-9:]{8} [0-9]{4} [A-Z]{3}', 'T', 'g') AS detail
  FROM ai_scale.run_maintenance('ruled') WHERE action = 'error' ORDER BY detail;
-- The same run's rescue then moved the rows through a staging table, running the rule: the
-- two old ones, and the new one into the partition the creation could not make.
SELECT op, id FROM ruled_log ORDER BY op, id;
SELECT (SELECT count(*) FROM ONLY ruled_default) AS in_default, (SELECT count(*) FROM ruled) AS in_table;
DROP RULE ruled_logged ON ruled_default;
DELETE FROM ruled WHERE id = 3;
TRUNCATE ruled_log;
UPDATE ai_scale.partition_config SET premake = 0 WHERE parent = 'ruled'::regclass;
INSERT INTO ruled VALUES (4, '2022-03-05 12:00 UTC'), (5, '2022-03-05 13:00 UTC');
CREATE RULE ruled_logged AS ON INSERT TO ruled DO ALSO INSERT INTO ruled_log VALUES ('insert', NEW.id);
-- With a DO ALSO rule on DELETE from the default too, the rows are copied out and deleted by a
-- plain DELETE, which runs it (the move through the parent deleted in a WITH query, where
-- Postgres refuses such a rule: the rows stayed in the default for good, 0A000), as does a
-- partition made ahead over a row of the default.
CREATE RULE ruled_deleted AS ON DELETE TO ruled_default DO ALSO INSERT INTO ruled_log VALUES ('delete', OLD.id);
SELECT partition, rows_moved FROM ai_scale.rescue_default('ruled') ORDER BY partition;
UPDATE ai_scale.partition_config SET premake = 5 WHERE parent = 'ruled'::regclass;
INSERT INTO ruled VALUES (6, now() + interval '4 days');
SELECT action, regexp_replace(detail, '[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9 ]{2} [0-9:]{8} [0-9]{4} [A-Z]{3}', 'T', 'g') AS detail
  FROM ai_scale.run_maintenance('ruled') WHERE detail LIKE '%moved%';
SELECT op, id FROM ruled_log ORDER BY op, id;
SELECT (SELECT count(*) FROM ONLY ruled_default) AS in_default, (SELECT count(*) FROM ruled) AS in_table,
       (SELECT count(*) FROM ruled_elsewhere) AS elsewhere;
-- A rule the session does not fire (disabled, here a DO INSTEAD one that would keep the rows
-- there) is not in the way (it refused every move, and its hint said to drop it).
CREATE RULE ruled_kept AS ON DELETE TO ruled_default DO INSTEAD NOTHING;
ALTER TABLE ruled_default DISABLE RULE ruled_kept;
INSERT INTO ruled VALUES (7, '2022-03-07 12:00 UTC');
SELECT partition, rows_moved FROM ai_scale.rescue_default('ruled') ORDER BY partition;
DROP TABLE ruled, ruled_elsewhere, ruled_log;
DROP FUNCTION ruled_keep();
-- Moves run with jit off, whatever the session's (each of their small queries was compiled
-- anew at each call), and force_parallel_mode off (each started a parallel worker): a trigger
-- on the table sees them, in a rescue and in a run's.
CREATE TABLE jit_seen (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('jit_seen', '1 day', 0, time_zone => 'UTC');
CREATE TABLE jit_log (step text, jit text, force_parallel text);
CREATE FUNCTION jit_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.jit_log VALUES (current_setting('application_name'), current_setting('jit'),
                                       current_setting('force_parallel_mode'));
    RETURN NEW;
END $$;
CREATE TRIGGER jit_note AFTER INSERT ON jit_seen FOR EACH ROW EXECUTE FUNCTION jit_note();
SET jit = on;
SET force_parallel_mode = on;
SET application_name = 'insert';
INSERT INTO jit_seen VALUES (1, '2022-03-01 12:00 UTC');
SET application_name = 'rescue';
SELECT count(*) AS made FROM ai_scale.rescue_default('jit_seen');
SET application_name = 'insert';
INSERT INTO jit_seen VALUES (2, '2022-03-05 12:00 UTC');
SET application_name = 'run';
SELECT count(*) AS rescued FROM ai_scale.run_maintenance('jit_seen') WHERE action = 'rescued';
RESET application_name;
SELECT step, jit, force_parallel, count(*) FROM jit_log GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SHOW jit;
SHOW force_parallel_mode;
RESET jit;
RESET force_parallel_mode;
DROP TABLE jit_seen, jit_log;
DROP FUNCTION jit_note();
-- A BEFORE DELETE trigger on the default that keeps the rows (returns NULL): they are still
-- there when their partition is attached, which Postgres refuses naming the default's
-- partition constraint alone. Said so now (09000), and nothing moves.
CREATE TABLE kept_back (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('kept_back', '1 day', 0, time_zone => 'UTC');
INSERT INTO kept_back VALUES (1, '2022-03-01 12:00 UTC'), (2, '2022-03-01 13:00 UTC');
CREATE FUNCTION kept_back_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER kept_back_keep BEFORE DELETE ON kept_back_default FOR EACH ROW EXECUTE FUNCTION kept_back_keep();
SELECT * FROM ai_scale.rescue_default('kept_back');
SELECT action, detail FROM ai_scale.run_maintenance('kept_back');
SELECT (SELECT count(*) FROM ONLY kept_back_default) AS in_default, (SELECT count(*) FROM kept_back) AS in_table;
-- With a DO ALSO rule on DELETE from the default too (rows copied out, then deleted), a trigger
-- that keeps a row by moving its key out of the range: the row would be moved as it was and kept
-- as changed, and the move fails saying so (09000); it failed saying that a BEFORE INSERT
-- trigger had lost "-1" rows. Nothing moves. One that keeps a row as it is (returns NULL): the
-- copy and the DELETE disagree, and the move fails naming both counts.
CREATE TABLE kept_back_log (id int);
CREATE RULE kept_back_logged AS ON DELETE TO kept_back_default
  DO ALSO INSERT INTO kept_back_log VALUES (OLD.id);
CREATE OR REPLACE FUNCTION kept_back_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id = 2 THEN
        UPDATE public.kept_back_default SET at = '2031-01-01 00:00 UTC' WHERE id = 2;
        RETURN NULL;
    END IF;
    RETURN OLD;
END $$;
SELECT * FROM ai_scale.rescue_default('kept_back');
SELECT id, at FROM ONLY kept_back_default ORDER BY id;
SELECT count(*) AS logged FROM kept_back_log;
CREATE OR REPLACE FUNCTION kept_back_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN CASE WHEN OLD.id = 2 THEN NULL ELSE OLD END;
END $$;
SELECT * FROM ai_scale.rescue_default('kept_back');
SELECT id, at FROM ONLY kept_back_default ORDER BY id;
SELECT count(*) AS logged FROM kept_back_log;
DROP TABLE kept_back, kept_back_log;
DROP FUNCTION kept_back_keep();
-- A DO ALSO rule on DELETE from the default whose action writes rows into the range moved: it
-- runs before the DELETE, which removes them too. Moved around the parent (no trigger), they
-- were deleted uncopied, lost without a word; the counts of the copy and the DELETE now differ
-- (09000), through the parent as around it, and nothing moves.
CREATE TABLE written_back (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('written_back', '1 day', 0, time_zone => 'UTC');
INSERT INTO written_back VALUES (1, '2022-03-01 12:00 UTC'), (2, '2022-03-01 13:00 UTC');
CREATE RULE written_back_again AS ON DELETE TO written_back_default
  DO ALSO INSERT INTO written_back VALUES (OLD.id + 100, OLD.at);
\set VERBOSITY terse
SELECT * FROM ai_scale.rescue_default('written_back');
CREATE FUNCTION written_back_seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER written_back_seen AFTER INSERT ON written_back
  FOR EACH ROW EXECUTE FUNCTION written_back_seen();
SELECT * FROM ai_scale.rescue_default('written_back');
\set VERBOSITY default
SELECT id FROM written_back ORDER BY id;
DROP TABLE written_back;
DROP FUNCTION written_back_seen();
-- A rule on DELETE that deletes rows of the range itself (a cascade to related rows) takes
-- nothing from the move: the copy holds them, and all move (counted, the DELETE's fewer rows
-- refused the move for good). Beside a rule that writes a row into the range, the counts agree,
-- and the written row was lost: told apart by the rows themselves (their ctid) now.
CREATE TABLE cascaded (id int, up int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('cascaded', '1 day', 0, time_zone => 'UTC');
INSERT INTO cascaded VALUES (1, NULL, '2022-03-01 12:00 UTC'), (2, 1, '2022-03-01 13:00 UTC'),
                            (3, 1, '2022-03-01 14:00 UTC');
CREATE RULE cascaded_a_children AS ON DELETE TO cascaded_default
  DO ALSO DELETE FROM cascaded WHERE up = OLD.id;
SELECT partition, rows_moved FROM ai_scale.rescue_default('cascaded');
SELECT id FROM cascaded ORDER BY id;
INSERT INTO cascaded VALUES (21, NULL, '2022-03-02 12:00 UTC'), (22, 21, '2022-03-02 13:00 UTC');
CREATE RULE cascaded_b_written AS ON DELETE TO cascaded_default
  DO ALSO INSERT INTO cascaded VALUES (OLD.id + 100, NULL, OLD.at);
\set VERBOSITY terse
SELECT partition, rows_moved FROM ai_scale.rescue_default('cascaded');
\set VERBOSITY default
SELECT id FROM cascaded ORDER BY id;
-- A rule whose action UPDATEs a row of the range out of it, in the default or through the
-- table into a partition: the row was copied as it was and stays as changed, twice (it was,
-- untold: a deleted and an updated row are both gone from a snapshot; the rows' headers tell
-- them apart now). Nothing moves, and the table holds each row once.
DROP RULE cascaded_a_children ON cascaded_default;
DROP RULE cascaded_b_written ON cascaded_default;
TRUNCATE cascaded;
INSERT INTO cascaded VALUES (31, NULL, '2022-04-01 12:00 UTC'), (32, 31, '2022-04-01 13:00 UTC');
CREATE RULE cascaded_c_aged AS ON DELETE TO cascaded_default
  DO ALSO UPDATE cascaded_default SET at = at - interval '1 year' WHERE up = OLD.id;
SELECT partition, rows_moved FROM ai_scale.rescue_default('cascaded');
SELECT id, at FROM cascaded ORDER BY id;
DROP RULE cascaded_c_aged ON cascaded_default;
CREATE RULE cascaded_d_sent AS ON DELETE TO cascaded_default
  DO ALSO UPDATE cascaded SET at = '2022-03-01 15:00 UTC' WHERE up = OLD.id;
\set VERBOSITY terse
SELECT partition, rows_moved FROM ai_scale.rescue_default('cascaded');
\set VERBOSITY default
SELECT id, at, tableoid::regclass FROM cascaded ORDER BY id;
-- A cascade to related rows beside a BEFORE DELETE trigger that lets the DELETE be (it was
-- refused, as a trigger's change of a key was not told apart from a rule's delete): all move.
DROP RULE cascaded_d_sent ON cascaded_default;
CREATE RULE cascaded_a_children AS ON DELETE TO cascaded_default
  DO ALSO DELETE FROM cascaded WHERE up = OLD.id;
CREATE FUNCTION cascaded_let() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$;
CREATE TRIGGER cascaded_let BEFORE DELETE ON cascaded_default
  FOR EACH ROW EXECUTE FUNCTION cascaded_let();
SELECT partition, rows_moved FROM ai_scale.rescue_default('cascaded');
SELECT id, at, tableoid::regclass FROM cascaded ORDER BY id;
-- And through the table (an INSERT trigger on it): the rows the copy holds are the ones put
-- back, the cascade's included (counted by the DELETE's rows, the move failed for good saying
-- a BEFORE INSERT trigger had lost -1 of them).
CREATE FUNCTION cascaded_pass() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER cascaded_seen BEFORE INSERT ON cascaded FOR EACH ROW EXECUTE FUNCTION cascaded_pass();
INSERT INTO cascaded VALUES (35, NULL, '2022-04-02 12:00 UTC'), (36, 35, '2022-04-02 13:00 UTC');
SELECT partition, rows_moved FROM ai_scale.rescue_default('cascaded');
SELECT id, tableoid::regclass FROM cascaded WHERE id IN (35, 36) ORDER BY id;
DROP TRIGGER cascaded_seen ON cascaded;
DROP FUNCTION cascaded_pass();
-- A cascade that marks the related rows before it deletes them (an UPDATE, then a DELETE): the
-- rows' update chains end deleted, and all move (the first version's header alone called them
-- changed, and refused the move). On a default of a table access method that is heap under
-- another name too: a rule that leaves every copied row to the DELETE asks nothing of them.
DROP TRIGGER cascaded_let ON cascaded_default;
DROP RULE cascaded_a_children ON cascaded_default;
CREATE TABLE cascaded_log (id int);
CREATE RULE cascaded_e_marked AS ON DELETE TO cascaded_default DO ALSO (
  UPDATE cascaded_default SET up = -up WHERE up = OLD.id;
  DELETE FROM cascaded WHERE up = -OLD.id);
INSERT INTO cascaded VALUES (41, NULL, '2022-04-03 12:00 UTC'), (42, 41, '2022-04-03 13:00 UTC'),
                            (43, 41, '2022-04-03 14:00 UTC');
SELECT partition, rows_moved FROM ai_scale.rescue_default('cascaded');
SELECT id, up, tableoid::regclass FROM cascaded WHERE id > 40 ORDER BY id;
DROP TABLE cascaded;
DROP FUNCTION cascaded_let();
CREATE ACCESS METHOD heap_alias TYPE TABLE HANDLER heap_tableam_handler;
CREATE TABLE aliased (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE aliased_default PARTITION OF aliased DEFAULT USING heap_alias;
SELECT count(*) FROM ai_scale.manage_partitions('aliased', '1 day', 0, time_zone => 'UTC');
CREATE RULE aliased_logged AS ON DELETE TO aliased_default
  DO ALSO INSERT INTO cascaded_log VALUES (OLD.id);
INSERT INTO aliased VALUES (1, '2022-03-01 12:00 UTC'), (2, '2022-03-01 13:00 UTC');
SELECT partition, rows_moved FROM ai_scale.rescue_default('aliased');
SELECT count(*) AS logged FROM cascaded_log;
DROP TABLE aliased, cascaded_log;
DROP ACCESS METHOD heap_alias;
-- _rows_left tells of whole rows: for a role that may read the whole table, not one column of
-- it, and not under row-level security (its policies might hide rows it would count).
CREATE TABLE told (id int, secret int);
INSERT INTO told VALUES (1, 1), (2, 2);
CREATE ROLE told_reader;
GRANT SELECT (id) ON told TO told_reader;
SET ROLE told_reader;
SELECT * FROM ai_scale._rows_left('told', '{"(0,1)"}');
RESET ROLE;
GRANT SELECT ON told TO told_reader;
ALTER TABLE told ENABLE ROW LEVEL SECURITY;
CREATE POLICY told_one ON told FOR SELECT USING (id = 1);
SET ROLE told_reader;
SELECT count(*) AS seen FROM told;
SELECT * FROM ai_scale._rows_left('told', '{"(0,1)","(0,2)"}');
RESET ROLE;
SELECT * FROM ai_scale._rows_left('told', '{"(0,1)","(0,2)","(0,3)"}');
DROP TABLE told;
DROP ROLE told_reader;
-- A trigger on DELETE from the default that writes the rows moved back into it (a soft delete):
-- they would stay there, said so (09000) in any isolation level; around the parent it was
-- Postgres's 23514 naming a constraint of ours, and in REPEATABLE READ a 40001 saying a writer
-- had committed them, which a client tried again for ever. Through the parent, the words name
-- such a trigger beside one that returned NULL. Nothing moves.
CREATE TABLE soft (id int, at timestamptz NOT NULL, gone boolean DEFAULT false)
  PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('soft', '1 day', 0, time_zone => 'UTC');
INSERT INTO soft VALUES (1, '2022-03-01 12:00 UTC'), (2, '2022-03-01 13:00 UTC');
CREATE FUNCTION soft_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.soft VALUES (OLD.id, OLD.at, true);
    RETURN OLD;
END $$;
CREATE TRIGGER soft_keep AFTER DELETE ON soft_default FOR EACH ROW EXECUTE FUNCTION soft_keep();
\set VERBOSITY terse
SELECT partition, rows_moved FROM ai_scale.rescue_default('soft');
\echo :LAST_ERROR_SQLSTATE
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT partition, rows_moved FROM ai_scale.rescue_default('soft');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
CREATE FUNCTION soft_seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER soft_seen BEFORE INSERT ON soft FOR EACH ROW EXECUTE FUNCTION soft_seen();
\set VERBOSITY default
SELECT partition, rows_moved FROM ai_scale.rescue_default('soft');
SELECT id, gone, tableoid::regclass FROM soft ORDER BY id, gone;
DROP TABLE soft;
DROP FUNCTION soft_keep(), soft_seen();
CREATE TABLE published (id int, at timestamptz NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('published', '1 day', 0, time_zone => 'UTC');
SET client_min_messages = error; -- wal_level is not logical here: Postgres warns
CREATE PUBLICATION published_pub FOR TABLE published;
RESET client_min_messages;
SELECT ai_scale._moves_through_parent('published', 'published_default');
INSERT INTO published SELECT i, timestamptz '2022-03-01 00:00 UTC' + (i % 3) * interval '1 day'
  FROM generate_series(1, 30) i;
SELECT partition, rows_moved FROM ai_scale.rescue_default('published') ORDER BY partition;
DROP PUBLICATION published_pub;
-- A publication of inserts alone (an append-only subscriber) beside an AFTER DELETE trigger of
-- the default: both ways delete from the default and fire it alike, so the move goes around the
-- parent, as that publication needs (an AFTER DELETE audit refused every move, 0A000). A BEFORE
-- DELETE FOR EACH ROW one, which may keep a row (told apart on the way through the parent
-- alone), sends the move through the parent, and beside such a publication refuses it.
CREATE TABLE published_log (op text, id int);
CREATE FUNCTION published_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.published_log VALUES (TG_WHEN || ' ' || TG_OP, OLD.id);
    RETURN OLD;
END $$;
CREATE TRIGGER published_audit AFTER DELETE ON published FOR EACH ROW EXECUTE FUNCTION published_note();
SET client_min_messages = error;
CREATE PUBLICATION published_pub FOR TABLE published WITH (publish = 'insert');
RESET client_min_messages;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS after_delete_audit;
INSERT INTO published SELECT i, timestamptz '2022-04-01 00:00 UTC' FROM generate_series(1, 5) i;
SELECT partition, rows_moved FROM ai_scale.rescue_default('published') ORDER BY partition;
CREATE TRIGGER published_check BEFORE DELETE ON published_default FOR EACH ROW
    EXECUTE FUNCTION published_note();
\set VERBOSITY terse
SELECT ai_scale._moves_through_parent('published', 'published_default') AS before_delete_too;
\set VERBOSITY default
-- Disabled, as the hints of the refusals say to do, it chooses nothing: the move goes around.
ALTER TABLE published_default DISABLE TRIGGER published_check;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS before_delete_disabled;
ALTER TABLE published_default ENABLE TRIGGER published_check;
DROP PUBLICATION published_pub;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS before_delete_alone;
SELECT op, count(*) FROM published_log GROUP BY op ORDER BY op;
DROP TRIGGER published_check ON published_default;
-- One FOR EACH STATEMENT keeps no row, fires alike either way, and does not choose.
CREATE TRIGGER published_statement BEFORE DELETE ON published_default FOR EACH STATEMENT
    EXECUTE FUNCTION published_note();
SELECT ai_scale._moves_through_parent('published', 'published_default') AS before_delete_statement;
DROP TRIGGER published_statement ON published_default;
DROP TRIGGER published_audit ON published;
-- INSERT triggers of the table choose the way through it when enabled in a session of origin
-- (ENABLE, ENABLE ALWAYS), not when disabled or ENABLE REPLICA; beside a publication of inserts
-- alone, none is right, and the move is refused.
CREATE TRIGGER published_insert AFTER INSERT ON published FOR EACH ROW
    EXECUTE FUNCTION published_note();
SELECT ai_scale._moves_through_parent('published', 'published_default') AS enabled;
ALTER TABLE published ENABLE ALWAYS TRIGGER published_insert;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS enabled_always;
ALTER TABLE published ENABLE REPLICA TRIGGER published_insert;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS enabled_replica;
-- (In a session whose session_replication_role is replica, the move fires it, and it counts;
-- one ENABLE'd does not.)
SET session_replication_role = replica;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS replica_in_replica;
ALTER TABLE published ENABLE TRIGGER published_insert;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS origin_in_replica;
RESET session_replication_role;
ALTER TABLE published DISABLE TRIGGER published_insert;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS disabled;
ALTER TABLE published ENABLE TRIGGER published_insert;
SET client_min_messages = error;
CREATE PUBLICATION published_pub FOR TABLE published WITH (publish = 'insert');
RESET client_min_messages;
\set VERBOSITY terse
SELECT ai_scale._moves_through_parent('published', 'published_default');
\set VERBOSITY default
DROP PUBLICATION published_pub;
-- A publication of inserts alone of the default partition alone sees no insert either way
-- (through the parent the rows go into a partition it does not publish): the move goes through
-- the parent for the trigger (it was refused as above).
SET client_min_messages = error;
CREATE PUBLICATION published_pub FOR TABLE published_default WITH (publish = 'insert');
RESET client_min_messages;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS default_alone;
DROP PUBLICATION published_pub;
DROP TRIGGER published_insert ON published;
-- A DO ALSO rule on INSERT into the table chooses the way through it too, as an INSERT trigger
-- does (its action runs for the moved rows: the ruled table above), when enabled in a session
-- of origin.
CREATE RULE published_logged AS ON INSERT TO published
    DO ALSO INSERT INTO public.published_log VALUES ('rule', NEW.id);
SELECT ai_scale._moves_through_parent('published', 'published_default') AS do_also_rule;
ALTER TABLE published DISABLE RULE published_logged;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS rule_disabled;
ALTER TABLE published ENABLE RULE published_logged;
SET client_min_messages = error;
CREATE PUBLICATION published_pub FOR TABLE published WITH (publish = 'insert');
RESET client_min_messages;
\set VERBOSITY terse
SELECT ai_scale._moves_through_parent('published', 'published_default') AS rule_and_inserts_alone;
\set VERBOSITY default
DROP PUBLICATION published_pub;
DROP RULE published_logged ON published;
-- Beside a publication of deletes alone, no row can move; rescue_default_proc over a default
-- holding only rows no partition can take (an infinite key) moves nothing, as rescue_default
-- does, where it was refused (0A000) before its first batch.
SET client_min_messages = error;
CREATE PUBLICATION published_pub FOR TABLE published WITH (publish = 'delete');
RESET client_min_messages;
INSERT INTO published VALUES (101, 'infinity'), (102, 'infinity'), (103, 'infinity');
SET client_min_messages = warning;
CALL ai_scale.rescue_default_proc('published', 1);
SELECT count(*) AS rescued FROM ai_scale.rescue_default('published');
RESET client_min_messages;
SELECT count(*) AS in_default FROM ONLY published_default;
DELETE FROM published WHERE id > 100;
DROP PUBLICATION published_pub;
DROP TABLE published_log;
DROP FUNCTION published_note();
-- A managed table that is a partition of a table published through its root.
CREATE TABLE published_root (id int, at timestamptz NOT NULL, PRIMARY KEY (id, at))
  PARTITION BY LIST (id);
ALTER TABLE published_root ATTACH PARTITION published DEFAULT;
SET client_min_messages = error;
CREATE PUBLICATION published_pub FOR TABLE published_root WITH (publish_via_partition_root = true);
RESET client_min_messages;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS through_root;
DROP PUBLICATION published_pub;
-- One of inserts alone, of the schema of the root (in a schema other than the table's), sees the
-- moves through the table as one of the root does: refused beside an INSERT trigger, which
-- sent its subscribers every moved row twice.
CREATE SCHEMA published_above;
ALTER TABLE published_root SET SCHEMA published_above;
SET client_min_messages = error;
CREATE PUBLICATION published_pub FOR TABLES IN SCHEMA published_above
  WITH (publish = 'insert');
RESET client_min_messages;
SELECT ai_scale._moves_through_parent('published', 'published_default') AS root_schema_inserts;
CREATE FUNCTION published_seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER published_seen AFTER INSERT ON published
  FOR EACH ROW EXECUTE FUNCTION published_seen();
\set VERBOSITY terse
SELECT ai_scale._moves_through_parent('published', 'published_default') AS root_schema_trigger;
\set VERBOSITY default
DROP PUBLICATION published_pub;
DROP TABLE published_above.published_root;
DROP FUNCTION published_seen();
DROP SCHEMA published_above;
-- The publications of the default are those pg_publication_tables lists it or a table above
-- in, read without that view: one of the table's schema; of all tables, which lists an
-- unlogged default only with publish_via_partition_root (the root then).
CREATE TABLE published_logged (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE published_logged_default PARTITION OF published_logged DEFAULT;
SET client_min_messages = error;
CREATE PUBLICATION published_pub FOR TABLES IN SCHEMA public;
RESET client_min_messages;
SELECT ai_scale._moves_through_parent('published_logged', 'published_logged_default')
    AS through_schema;
DROP PUBLICATION published_pub;
CREATE TABLE published_unlogged (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE UNLOGGED TABLE published_unlogged_default PARTITION OF published_unlogged DEFAULT;
SET client_min_messages = error;
CREATE PUBLICATION published_pub FOR ALL TABLES;
RESET client_min_messages;
SELECT ai_scale._moves_through_parent('published_unlogged', 'published_unlogged_default')
    AS unlogged_all_tables;
ALTER PUBLICATION published_pub SET (publish_via_partition_root = true);
SELECT ai_scale._moves_through_parent('published_unlogged', 'published_unlogged_default')
    AS unlogged_all_tables_via_root;
SELECT ai_scale._moves_through_parent('published_logged', 'published_logged_default')
    AS logged_all_tables_via_root;
DROP PUBLICATION published_pub;
DROP TABLE published_unlogged, published_logged;

-- A table ai_scale does not manage is refused before anything is built on it.
CREATE TABLE unmanaged (at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE unmanaged_default PARTITION OF unmanaged DEFAULT;
INSERT INTO unmanaged SELECT timestamptz '2023-01-01 00:00 UTC' + i * interval '1 hour'
  FROM generate_series(1, 100) i;
CALL ai_scale.rescue_default_proc('unmanaged', 10);
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'unmanaged_default'::regclass;
DROP TABLE unmanaged;

-- rescue_default's lock wait (and that of the other DDL a caller's session runs): the short
-- ai_scale.maintenance_lock_timeout (50ms), or the caller's lock_timeout when shorter.
-- ai_scale._setting gives the setting in milliseconds, without its unit: read as an interval
-- it was 50 seconds, and a caller's lock_timeout of 1s (or 49s) was waited in full.
SELECT w AS caller_lock_timeout, ai_scale._maintenance_lock_wait(w) AS waits
  FROM unnest(ARRAY['0', '10ms', '50ms', '1s', '49s', '2min']) w;

-- rescue_default_proc's index on a large default is built and dropped with that short wait,
-- and the caller's lock_timeout is set back after each (a local setting outlives the function
-- that made it: the build's stayed in the transaction, for the first batch's lock wait).
CREATE TABLE idx_wait (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('idx_wait', '1 day', 0, time_zone => 'UTC');
INSERT INTO idx_wait SELECT timestamptz '2023-01-01 00:00 UTC' + i * interval '1 minute'
  FROM generate_series(1, 30) i;
BEGIN;
SET LOCAL lock_timeout = '7s';
SELECT ai_scale._make_rescue_index('idx_wait', 100) AS built_for_100;
SHOW lock_timeout;
SELECT ai_scale._make_rescue_index('idx_wait', 10) AS built_for_10;
SHOW lock_timeout;
SELECT ai_scale._drop_rescue_index('idx_wait');
SHOW lock_timeout;
ROLLBACK;
DROP TABLE idx_wait;

-- An interval over 625 years, with fewer than 7 partitions made ahead, is a table's to have:
-- the row in the default is moved, and runs report no error (the cell functions checked the
-- interval with the default premake of 7, refusing it with 22023 in every run and rescue).
SET TimeZone = 'UTC';
CREATE TABLE long_cells (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('long_cells', '700 years', 0, time_zone => 'UTC');
INSERT INTO long_cells VALUES ('1700-01-01 00:00 UTC');
SELECT partition, lower, upper, rows_moved FROM ai_scale.rescue_default('long_cells');
SELECT action, count(*) FROM ai_scale.run_maintenance('long_cells') GROUP BY action;
SELECT tableoid::regclass, at FROM long_cells;
SELECT lower FROM ai_scale._cells('1000 years', '0500-06-01 BC', '0500-06-01 BC');
DROP TABLE long_cells;
RESET TimeZone;
