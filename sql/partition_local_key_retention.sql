-- Retention of a timestamp key (no zone: wall-clock times of the table's time zone) counts from
-- what time it is now in that zone. In a zone ten hours behind UTC, with hourly partitions and
-- two hours kept, the partitions whose upper bound is two hours or more before local now are
-- dropped, and rows written now and half an hour ago stay. (Computed from UTC instead, the
-- cutoff came ten hours later, and both rows went with their partitions; every other test of a
-- timestamp or date key ran in UTC.) One transaction: now() does not move between the set-up
-- and the run, so an hour that turns meanwhile changes nothing.
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE TABLE local_ev (at timestamp NOT NULL, v int) PARTITION BY RANGE (at);
BEGIN;
-- Partitions of the hours from six before the local hour to fourteen after.
DO $$
DECLARE
    h timestamp := date_trunc('hour', now() AT TIME ZONE 'Etc/GMT+10');
BEGIN
    FOR i IN -6..14 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF local_ev FOR VALUES FROM (%L) TO (%L)',
                       'local_ev_' || (i + 6), h + i * interval '1 hour', h + (i + 1) * interval '1 hour');
    END LOOP;
END $$;
INSERT INTO local_ev VALUES (now() AT TIME ZONE 'Etc/GMT+10', 1),
                            ((now() - interval '30 minutes') AT TIME ZONE 'Etc/GMT+10', 2);
-- The four partitions ending two hours or more before local now, and no other, are dropped.
SELECT action, partition FROM ai_scale.manage_partitions('local_ev', '1 hour', 2,
           retention => '2 hours', time_zone => 'Etc/GMT+10')
 WHERE action <> 'created' ORDER BY partition::text COLLATE "C";
SELECT v FROM local_ev ORDER BY v;
SELECT count(*) AS partitions_left_with_default,
       min(lower::timestamp) = date_trunc('hour', now() AT TIME ZONE 'Etc/GMT+10') - interval '2 hours'
           AS oldest_starts_two_hours_back
  FROM ai_scale.partitions('local_ev');
COMMIT;
DROP TABLE local_ev;
