-- Partitions ai_scale makes on a table of unusual shape are what CREATE TABLE ... PARTITION OF
-- makes: same columns (identity, generated, defaults, storage), constraints, indexes and cloned
-- triggers, and nothing more (no identity sequence, extended statistics or comments of their
-- own). Before, a partition built standalone (LIKE parent INCLUDING ALL) and attached kept an
-- identity column with a sequence of its own: a row inserted into it directly was numbered
-- from 1 again, beside the rows the parent's sequence had numbered.
SET client_min_messages = warning;
SET TimeZone = 'UTC';
\i sql/include/try.sql

CREATE TABLE shape_ref (id int PRIMARY KEY);
INSERT INTO shape_ref VALUES (1), (2);
CREATE FUNCTION shape_default() RETURNS text LANGUAGE sql AS $$ SELECT 'made' $$;
CREATE FUNCTION shape_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NEW;
END $$;
CREATE TABLE shaped (
    dropped_early int,
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL,
    ref int REFERENCES shape_ref (id),
    v int CHECK (v >= 0),
    twice int GENERATED ALWAYS AS (v * 2) STORED,
    label text DEFAULT shape_default() NOT NULL,
    code text COMPRESSION pglz,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER TABLE shaped DROP COLUMN dropped_early;
ALTER TABLE shaped ALTER COLUMN code SET STORAGE external;
CREATE UNIQUE INDEX shaped_code ON shaped (code, at);
CREATE INDEX shaped_lower ON shaped (lower(label));
CREATE INDEX shaped_big ON shaped (v) WHERE v > 10;
CREATE STATISTICS shaped_stats ON v, ref FROM shaped;
COMMENT ON COLUMN shaped.v IS 'a comment of the parent';
CREATE TRIGGER shaped_row BEFORE INSERT ON shaped FOR EACH ROW EXECUTE FUNCTION shape_log();
CREATE TRIGGER shaped_statement AFTER INSERT ON shaped FOR EACH STATEMENT EXECUTE FUNCTION shape_log();
-- What Postgres makes, far from today (so the attach path, not the in-place one, makes the rest).
CREATE TABLE shaped_reference PARTITION OF shaped FOR VALUES FROM ('2001-01-01') TO ('2001-01-02');

-- A partition's shape, without its own names.
CREATE FUNCTION pg_temp.shape(rel regclass) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT format('column %s %s notnull=%s identity=%s generated=%s storage=%s compression=%s default=%s comment=%s',
                  a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                  a.attgenerated, a.attstorage, a.attcompression, pg_get_expr(d.adbin, d.adrelid),
                  col_description(a.attrelid, a.attnum))
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s %s local=%s inherited=%s', c.contype, pg_get_constraintdef(c.oid),
                  c.conislocal, c.coninhcount)
      FROM pg_constraint c WHERE c.conrelid = rel
    UNION ALL
    SELECT format('index of %s: %s', pi.inhparent::regclass,
                  regexp_replace(pg_get_indexdef(i.indexrelid), '^.* USING ', ''))
      FROM pg_index i LEFT JOIN pg_inherits pi ON pi.inhrelid = i.indexrelid
     WHERE i.indrelid = rel
    UNION ALL
    SELECT format('trigger %s type=%s enabled=%s function=%s',
                  CASE WHEN t.tgisinternal THEN 'internal' ELSE t.tgname END, t.tgtype,
                  t.tgenabled, t.tgfoid::regproc)
      FROM pg_trigger t WHERE t.tgrelid = rel
    UNION ALL
    SELECT format('statistics on %s', s.stxkeys) FROM pg_statistic_ext s WHERE s.stxrelid = rel
    UNION ALL
    SELECT format('owns %s', d.classid::regclass) FROM pg_depend d
     WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = rel AND d.deptype IN ('a', 'i')
       AND d.classid = 'pg_class'::regclass
       AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = d.objid)
$$;
-- What a partition has that the reference has not, and the reverse.
CREATE FUNCTION pg_temp.shape_diff(rel regclass) RETURNS SETOF text LANGUAGE sql AS $$
    (SELECT '+ ' || s FROM pg_temp.shape(rel) s
     EXCEPT ALL SELECT '+ ' || s FROM pg_temp.shape('shaped_reference') s)
    UNION ALL
    (SELECT '- ' || s FROM pg_temp.shape('shaped_reference') s
     EXCEPT ALL SELECT '- ' || s FROM pg_temp.shape(rel) s)
$$;

-- Premade partitions (attached beside the reference).
SELECT action, count(*) FROM ai_scale.manage_partitions('shaped', '1 day', 2, time_zone => 'UTC')
 GROUP BY 1;
SELECT d FROM ai_scale.partitions('shaped') p, pg_temp.shape_diff(p.partition) d
 WHERE p.tier = 'hot' ORDER BY 1;
-- Rescued partitions: one through the parent (its row trigger), one through the stage.
INSERT INTO shaped (at, ref, v, code) VALUES ('2001-02-01 10:00+00', 1, 5, 'a');
SELECT partition, rows_moved FROM ai_scale.rescue_default('shaped');
DROP TRIGGER shaped_row ON shaped;
DROP TRIGGER shaped_statement ON shaped;
INSERT INTO shaped (at, ref, v, code) VALUES ('2001-03-01 10:00+00', 2, 20, 'b');
SELECT partition, rows_moved FROM ai_scale.rescue_default('shaped');
-- The triggers are gone from all of them now; nothing else differs.
SELECT p.partition, d FROM ai_scale.partitions('shaped') p, pg_temp.shape_diff(p.partition) d
 WHERE p.tier = 'hot' ORDER BY 1, 2;
SELECT tableoid::regclass, id, at, ref, v, twice, label, code FROM shaped ORDER BY at;

-- A row inserted into a partition directly gets no number of its own, as in the reference.
SELECT pg_temp.try($$INSERT INTO shaped_20010201 (at, v) VALUES ('2001-02-01 11:00+00', 1)$$);
SELECT pg_temp.try($$INSERT INTO shaped_reference (at, v) VALUES ('2001-01-01 11:00+00', 1)$$);
-- Through the parent, the parent's sequence numbers it.
INSERT INTO shaped (at, v) VALUES ('2001-02-01 11:00+00', 1) RETURNING tableoid::regclass, id;
-- Dropping the statistics object of the parent leaves no copy behind.
DROP STATISTICS shaped_stats;
SELECT count(*) FROM pg_statistic_ext WHERE stxname ~ '^shaped';

SELECT ai_scale.unmanage_partitions('shaped');

-- Rows moved through the parent (it has triggers) meet its triggers as any DELETE and INSERT
-- does: a BEFORE INSERT trigger that changes rows changes them again, one that raises stops
-- the move, and nothing leaves the default (a run's error row names the cell it stopped).
CREATE TABLE trig (at timestamptz NOT NULL, note text) PARTITION BY RANGE (at);
CREATE TABLE trig_log (op text, level text, note text);
CREATE FUNCTION trig_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.note = 'refused' THEN
        RAISE EXCEPTION 'note refused' USING ERRCODE = 'check_violation';
    END IF;
    NEW.note := NEW.note || '+';
    RETURN NEW;
END $$;
CREATE FUNCTION trig_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.trig_log
    VALUES (TG_OP, TG_LEVEL, CASE WHEN TG_OP = 'DELETE' THEN OLD.note WHEN TG_LEVEL = 'ROW' THEN NEW.note END);
    RETURN NULL;
END $$;
CREATE TRIGGER trig_mark BEFORE INSERT ON trig FOR EACH ROW EXECUTE FUNCTION trig_mark();
CREATE TRIGGER trig_audit AFTER INSERT OR DELETE ON trig FOR EACH ROW EXECUTE FUNCTION trig_audit();
CREATE TRIGGER trig_audit_statement AFTER INSERT ON trig FOR EACH STATEMENT EXECUTE FUNCTION trig_audit();
SELECT action, count(*) FROM ai_scale.manage_partitions('trig', '1 day', 1, time_zone => 'UTC')
 GROUP BY 1;
INSERT INTO trig VALUES ('2001-06-01 10:00+00', 'a'), ('2001-06-02 10:00+00', 'b');
TRUNCATE trig_log;
SELECT partition, rows_moved FROM ai_scale.rescue_default('trig');
SELECT tableoid::regclass, note FROM trig WHERE at < '2002-01-01' ORDER BY at;
SELECT * FROM trig_log;
INSERT INTO trig VALUES ('2001-06-03 10:00+00', 'c');
UPDATE trig SET note = 'refused' WHERE note = 'c+';
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('trig')$$);
SELECT action, partition, detail FROM ai_scale.run_maintenance('trig');
SELECT tableoid::regclass, note FROM trig WHERE at < '2002-01-01' ORDER BY at;
SELECT ai_scale.unmanage_partitions('trig');
DROP TABLE trig;
DROP TABLE trig_log;
DROP FUNCTION trig_mark();
DROP FUNCTION trig_audit();

-- Retention on a table a foreign key references: Postgres refuses to drop any partition of it
-- (the key's constraint on the partition depends on it), so it is detached first, which
-- Postgres refuses (23503) only while a row references the partition. Before, drop mode
-- failed on every such partition at every run, referenced or not.
CREATE TABLE keyed (id int, day date NOT NULL, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE keyed_old_free PARTITION OF keyed FOR VALUES FROM ('2001-01-01') TO ('2001-01-02');
CREATE TABLE keyed_old_used PARTITION OF keyed FOR VALUES FROM ('2001-01-02') TO ('2001-01-03');
INSERT INTO keyed VALUES (1, '2001-01-01'), (2, '2001-01-02');
CREATE TABLE keyed_ref (id int, day date, FOREIGN KEY (id, day) REFERENCES keyed (id, day));
INSERT INTO keyed_ref VALUES (2, '2001-01-02');
SELECT action, count(*) FROM ai_scale.manage_partitions('keyed', '1 day', 1) GROUP BY 1;
UPDATE ai_scale.partition_config SET retention = '7 days' WHERE parent = 'keyed'::regclass;
SELECT action, partition, detail FROM ai_scale.run_maintenance('keyed') ORDER BY partition;
SELECT partition FROM ai_scale.partitions('keyed') WHERE partition::text ~ 'old';
SELECT count(*) FROM pg_class WHERE relname = 'keyed_old_free';
SELECT * FROM keyed_ref;
SELECT pg_temp.try($$INSERT INTO keyed_ref VALUES (1, '2001-01-01')$$);
SELECT ai_scale.unmanage_partitions('keyed');
-- manage_partitions with that retention fails as its first run's step did, with the step's
-- SQLSTATE (23503), not 55000 whatever the cause; nothing is kept.
SELECT pg_temp.try($$SELECT count(*) FROM ai_scale.manage_partitions('keyed', '1 day', 1, '7 days')$$);
SELECT count(*) AS still_unmanaged FROM ai_scale.partition_config WHERE parent = 'keyed'::regclass;
DROP TABLE keyed_ref;
DROP TABLE keyed;

-- A partition partitioned itself: partitions() counts the bytes of its partitions (it was 0),
-- and retention drops it whole.
CREATE TABLE split (id int, day date NOT NULL) PARTITION BY RANGE (day);
CREATE TABLE split_2001 PARTITION OF split FOR VALUES FROM ('2001-01-01') TO ('2001-02-01')
    PARTITION BY LIST (id);
CREATE TABLE split_2001_rest PARTITION OF split_2001 DEFAULT;
INSERT INTO split SELECT g, '2001-01-05' FROM generate_series(1, 1000) g;
SELECT action, count(*) FROM ai_scale.manage_partitions('split', '1 day', 1) GROUP BY 1;
SELECT partition, lower, upper, bytes = pg_total_relation_size('split_2001_rest') AS bytes_of_its_partitions
  FROM ai_scale.partitions('split') WHERE partition = 'split_2001'::regclass;
UPDATE ai_scale.partition_config SET retention = '7 days' WHERE parent = 'split'::regclass;
SELECT action, partition FROM ai_scale.run_maintenance('split');
SELECT count(*) FROM pg_class WHERE relname ~ '^split_2001';
SELECT ai_scale.unmanage_partitions('split');
DROP TABLE split;

-- Tiering moves the partitions of a partition partitioned itself, where its rows are. Before,
-- only it was given the cold tablespace (that of partitions made in it later): reported
-- moved_to_cold and shown cold, its rows stayed in the hot tablespace for good.
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE partition_shapes_cold LOCATION '';
CREATE TABLE tiered (id int, day date NOT NULL) PARTITION BY RANGE (day);
CREATE TABLE tiered_2001 PARTITION OF tiered FOR VALUES FROM ('2001-01-01') TO ('2001-02-01')
    PARTITION BY LIST (id);
CREATE TABLE tiered_2001_rest PARTITION OF tiered_2001 DEFAULT;
INSERT INTO tiered SELECT g, '2001-01-05' FROM generate_series(1, 100) g;
SELECT action, partition FROM ai_scale.manage_partitions('tiered', '1 day', 1, '7 days', 'tier',
                                                         cold_tablespace => 'partition_shapes_cold')
 WHERE action <> 'created';
SELECT c.relname, t.spcname FROM pg_class c LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
 WHERE c.relname ~ '^tiered_2001' AND c.relkind IN ('r', 'p') ORDER BY 1;
SELECT count(*) AS actions FROM ai_scale.run_maintenance('tiered');
SELECT ai_scale.unmanage_partitions('tiered');
DROP TABLE tiered;
DROP TABLESPACE partition_shapes_cold;

-- A default partition partitioned itself: its rows are not in it alone (FROM ONLY), where
-- ai_scale looks. Refused, with nothing made; before, check_default counted 0 rows and the
-- partitions made over them failed the call (and every run after) on the default's rows.
-- check_default counts them now.
CREATE TABLE nested (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE nested_default PARTITION OF nested DEFAULT PARTITION BY LIST (id);
CREATE TABLE nested_default_rest PARTITION OF nested_default DEFAULT;
INSERT INTO nested VALUES (1, now()), (2, '2001-05-01 10:00+00');
SELECT pg_temp.try($$SELECT ai_scale.manage_partitions('nested', '1 day', 1)$$);
SELECT * FROM ai_scale.check_default('nested');
SELECT count(*) FROM ai_scale.partition_config WHERE parent = 'nested'::regclass;
-- One that becomes so after the table is managed: each run reports it when it holds rows
-- (before, their rescue found none, and they stayed there unreported), and goes on premaking.
ALTER TABLE nested DETACH PARTITION nested_default;
DELETE FROM nested_default WHERE id = 1;
SELECT action, count(*) FROM ai_scale.manage_partitions('nested', '1 day', 1) GROUP BY 1;
DO $$
BEGIN
    EXECUTE format('DROP TABLE %s', ai_scale._default_partition('nested'));
END $$;
ALTER TABLE nested ATTACH PARTITION nested_default DEFAULT;
SELECT action, partition, detail FROM ai_scale.run_maintenance('nested');
UPDATE ai_scale.partition_config SET premake = 3 WHERE parent = 'nested'::regclass;
SELECT action, count(*) FROM ai_scale.run_maintenance('nested') GROUP BY 1 ORDER BY 1;
-- A row of the default's partitions in a range to be made stops that range alone: an error row
-- of its own, saying why, and the other ranges are made. Before, all of them were tried at
-- once, the run failed on Postgres's 23514 (naming the default's partition) and made none.
INSERT INTO nested VALUES (3, now() + interval '5 days');
UPDATE ai_scale.partition_config SET premake = 8 WHERE parent = 'nested'::regclass;
SELECT action, count(*),
       min(regexp_replace(detail, '[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9 ]{2} [0-9:]{8} [0-9]{4} [A-Z]{3}',
                          'T', 'g')) FILTER (WHERE detail LIKE 'create from%') AS range_error
  FROM ai_scale.run_maintenance('nested') GROUP BY 1 ORDER BY 1;
SELECT pg_temp.try($$SELECT ai_scale.rescue_default('nested')$$);
SELECT tableoid::regclass, id FROM nested ORDER BY id;
SELECT ai_scale.unmanage_partitions('nested');
DROP TABLE nested;

DROP TABLE shaped;
DROP TABLE shape_ref;
DROP FUNCTION shape_default();
DROP FUNCTION shape_log();
