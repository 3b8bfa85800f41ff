-- The codes and counts of a move's refusals, which a client must not retry (09000, not 40001: a
-- retry meets the same rule or trigger again; a soft-delete trigger's are in partition_rescue):
-- a DO ALSO rule that updates a row of the range out of it (the row would be made twice, copied
-- and kept changed).
SET client_min_messages = warning;
CREATE TABLE soft (id int, at timestamptz NOT NULL, gone boolean DEFAULT false)
  PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('soft', '1 day', 0, time_zone => 'UTC');
INSERT INTO soft VALUES (1, '2022-03-01 12:00 UTC'), (2, '2022-03-01 13:00 UTC');
\set VERBOSITY terse
CREATE RULE soft_aged AS ON DELETE TO soft_default
  DO ALSO UPDATE soft_default SET at = at - interval '1 year' WHERE id = OLD.id + 1;
SELECT partition, rows_moved FROM ai_scale.rescue_default('soft');
\echo :LAST_ERROR_SQLSTATE
-- The counts the refusals give: two rows changed by the rule; two rows a BEFORE DELETE trigger
-- kept, under a logging rule (whose path reads the rows' headers).
DROP RULE soft_aged ON soft_default;
INSERT INTO soft VALUES (3, '2022-03-01 14:00 UTC'), (4, '2022-03-01 15:00 UTC');
CREATE RULE soft_aged AS ON DELETE TO soft_default
  DO ALSO UPDATE soft_default SET at = at - interval '1 year' WHERE id IN (OLD.id + 1, OLD.id + 2) AND id % 2 = 0;
SELECT partition, rows_moved FROM ai_scale.rescue_default('soft');
DROP RULE soft_aged ON soft_default;
CREATE TABLE soft_log (id int);
CREATE RULE soft_logged AS ON DELETE TO soft_default DO ALSO INSERT INTO soft_log VALUES (OLD.id);
CREATE FUNCTION soft_null() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RETURN CASE WHEN OLD.id % 2 = 0 THEN NULL ELSE OLD END; END $$;
CREATE TRIGGER soft_null BEFORE DELETE ON soft_default FOR EACH ROW EXECUTE FUNCTION soft_null();
SELECT partition, rows_moved FROM ai_scale.rescue_default('soft');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT id, at, tableoid::regclass FROM soft ORDER BY id;
DROP TABLE soft, soft_log;
DROP FUNCTION soft_null();
-- _rows_left of a tid past the table's end: a row deleted, not an error.
CREATE TABLE told (id int);
INSERT INTO told VALUES (1);
SELECT * FROM ai_scale._rows_left('told', '{"(100,1)","(0,1)"}');
DROP TABLE told;
