-- A run reads the partitions near now and those past the retention and tiering cutoffs. Of the
-- latter, those already cold have no step to take: read at every run, the partitions a table
-- had moved to its cold tablespace (8,400 five-minute ones, cold_after => '1 day') made each
-- no-op run cost what their number did: 29-64 ms, against 5-17 ms without reading them. They
-- are no longer read, unless retention may drop or detach them; a partition there that is
-- not cold (moved back by hand) still is, and is moved again.
SET client_min_messages = warning;
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE tier_no_op_hot LOCATION '';
CREATE TABLE tn (at timestamptz NOT NULL) PARTITION BY RANGE (at) TABLESPACE tier_no_op_hot;
-- 60 daily partitions, 70 to 11 days ago, in the database's default tablespace, which is the
-- cold one: all cold already.
-- (Days counted on UTC's wall clock: counted on the session's, PST8PDT under pg_regress, a
-- bound past a DST change moved by an hour, and for an hour a day the run dropped one more.)
DO $$
DECLARE
    today timestamp := date_trunc('day', now() AT TIME ZONE 'UTC');
BEGIN
    FOR d IN 11..70 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF tn FOR VALUES FROM (%L) TO (%L) '
                       'TABLESPACE pg_default', 'tn_old' || d,
                       (today - d * interval '1 day') AT TIME ZONE 'UTC',
                       (today - (d - 1) * interval '1 day') AT TIME ZONE 'UTC');
    END LOOP;
END $$;
SELECT action, count(*)
  FROM ai_scale.manage_partitions('tn', '1 day', 1, '60 days', cold_after => '5 days',
                                  cold_tablespace => 'pg_default', time_zone => 'UTC')
 GROUP BY action ORDER BY action;
-- What a run reads: the partitions of the last days (those of the premake window) and, past
-- the tiering cutoff, those not cold yet or due for retention (ending by its cutoff): none of
-- the 50 cold ones here. (In UTC no offset change widens the window: the two due next,
-- tn_old59 and tn_old60, are not read.)
CREATE FUNCTION pg_temp.read_old() RETURNS TABLE (partition text)
    LANGUAGE sql AS $$
    SELECT p::text FROM unnest((ai_scale._maintain_read_bounds(
               (SELECT c FROM ai_scale.partition_config c WHERE c.parent = 'tn'::regclass),
               'timestamptz')).parts) p
     WHERE p::text LIKE 'tn\_old%' ORDER BY substr(p::text, 7)::int $$;
SELECT string_agg(partition, ' ') AS read FROM pg_temp.read_old();
SELECT count(*) AS actions FROM ai_scale.run_maintenance('tn');
-- One of them moved back to the hot tablespace by hand is read, and moved to cold again.
ALTER TABLE tn_old30 SET TABLESPACE tier_no_op_hot;
SELECT string_agg(partition, ' ') AS read FROM pg_temp.read_old();
SELECT action, partition FROM ai_scale.run_maintenance('tn');
SELECT partition, tier FROM ai_scale.partitions('tn') WHERE partition = 'tn_old30'::regclass;
SELECT string_agg(partition, ' ') AS read FROM pg_temp.read_old();
-- In tier mode, retention only moves partitions: none cold is read.
UPDATE ai_scale.partition_config SET retention_mode = 'tier' WHERE parent = 'tn'::regclass;
SELECT string_agg(partition, ' ') AS read FROM pg_temp.read_old();
SELECT count(*) AS actions FROM ai_scale.run_maintenance('tn');
DROP TABLE tn;
DROP TABLESPACE tier_no_op_hot;
