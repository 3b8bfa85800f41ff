# A DBA's DETACH PARTITION ... CONCURRENTLY cancelled while it waits for older queries leaves the
# partition pending detach: new queries no longer see it, and a row of its range finds no
# partition (the table has no default: Postgres refuses a concurrent detach beside one), though
# its bounds are still in the catalog. partitions() says so (tier 'detach pending'); it showed
# the partition as an ordinary hot one, hiding why inserts into that range failed, until the
# worker's FINALIZE (or the DBA's) completed the detach.
# run_maintenance by hand completes such a detach itself with DETACH ... FINALIZE (before, it
# only said how): skipped, with the session named, while one still holds the partition; kept as
# a plain table when retention did not choose it, and detached as retention's when it did; a
# wait for an older transaction, holding neither table, names it too; one that tier mode would
# move is not moved, only finalized; one whose FINALIZE fails is an error row of its own; one
# that retention drops past a run's 100 is left for the next run, not finalized and kept.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use AiScaleTest;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('partition_detach_pending_shown');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 2, time_zone => 'UTC');
DROP TABLE t_default;});
# The day the table was made: a midnight may come during the test. The tiers of the partitions
# up to premake days after it, not those a run made for a later day.
my $day0 = $node->safe_psql('postgres', q{
SELECT min(lower::timestamptz) FROM ai_scale.partitions('t')});
my $tiers = qq{
SELECT string_agg(p.tier, ',' ORDER BY p.lower)
  FROM ai_scale.partitions('t') p
 WHERE p.lower::timestamptz <= '$day0'::timestamptz
                             + (SELECT premake FROM ai_scale.partition_config
                                 WHERE parent = 't'::regclass) * interval '1 day'};
is($node->safe_psql('postgres', $tiers), 'hot,hot,hot', 'three hot partitions');

# The detach of tomorrow's partition waits for a reader's transaction, and is cancelled.
my $tomorrow = $node->safe_psql('postgres', q{
SELECT p.partition FROM ai_scale.partitions('t') p ORDER BY p.lower OFFSET 1 LIMIT 1});
my $reader = $node->background_psql('postgres');

# The concurrent detach of partition, begun while the reader's transaction has read the table
# and cancelled while it waits for that transaction to end, which leaves the partition pending
# detach; the reader's transaction then ends, unless keep_open.
sub cancel_detach {
    my ($partition, $name, $keep_open) = @_;
    $reader->query_safe('BEGIN; SELECT count(*) FROM t;');
    like(detach_cancelled_in_wait($node, 't', $partition),
        qr/canceling statement due to user request/, $name);
    $reader->query_safe('COMMIT') unless $keep_open;
}

cancel_detach($tomorrow, 'the concurrent detach is cancelled', 'keep open');
is($node->safe_psql('postgres', q{
SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 't'::regclass AND inhdetachpending}),
    $tomorrow, 'and leaves the partition pending detach');
# The check retention makes as pg_inherits is now: pending for that partition, not for an
# attached one beside it.
is($node->safe_psql('postgres', qq{
SELECT ai_scale._pending_detach_now('t', '$tomorrow'),
       ai_scale._pending_detach_now('t', (SELECT p.partition FROM ai_scale.partitions('t') p
                                          ORDER BY p.lower LIMIT 1)::regclass)}),
    't|f', '_pending_detach_now tells the pending partition from an attached one');
my ($rc, $out, $err) = $node->psql('postgres', qq{
INSERT INTO t VALUES ('$day0'::timestamptz + interval '1 day 1 hour', 1)});
like($err, qr/no partition of relation "t" found for row/, 'a row of its range finds no partition');

is($node->safe_psql('postgres', $tiers), 'hot,detach pending,hot',
    'partitions() shows that partition as pending detach');
is($node->safe_psql('postgres', qq{
SELECT p.lower || ' ' || p.upper FROM ai_scale.partitions('t') p WHERE p.partition = '$tomorrow'::regclass}),
    $node->safe_psql('postgres', qq{
SELECT to_char(('$day0'::timestamptz + interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00')
    || ' ' || to_char(('$day0'::timestamptz + interval '2 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00')}),
    'with its bounds');

my $run = qq{SELECT action || ': ' || detail FROM ai_scale.run_maintenance('t')
             WHERE partition::regclass = '$tomorrow'::regclass};
my $reader_pid = $reader->query_safe('SELECT pg_backend_pid()');
like($node->safe_psql('postgres', $run),
    qr/^skipped: finalize the detach: canceling statement due to lock timeout; lock on public\.\Q$tomorrow\E held by pid $reader_pid \(transaction open [0-9.]+ s\); retried on the next run$/,
    'by hand, a FINALIZE waiting for the reader is skipped, naming it');
is($node->safe_psql('postgres', $tiers), 'hot,detach pending,hot', 'and the partition stays pending');
$reader->query_safe('COMMIT');
is($node->safe_psql('postgres', $run), 'detached: an interrupted detach, finalized',
    'once it is free, run_maintenance finalizes the detach');
is($node->safe_psql('postgres', $tiers), 'hot,hot', 'once finalized it is no longer listed');
is($node->safe_psql('postgres', qq{
SELECT relkind::text || ' ' || relispartition FROM pg_class WHERE oid = '$tomorrow'::regclass}),
    'r false', 'and it is kept as a plain table');
$node->safe_psql('postgres', 'SELECT count(*) FROM ai_scale.run_maintenance(\'t\')');
is($node->safe_psql('postgres', $tiers), 'hot,hot,hot', 'the next run makes its range again');
$node->safe_psql('postgres', qq{
INSERT INTO t VALUES ('$day0'::timestamptz + interval '1 day 1 hour', 1)});

# An old partition, pending detach, that retention detaches.
$node->safe_psql('postgres', q{
CREATE TABLE t_old PARTITION OF t FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
UPDATE ai_scale.partition_config SET retention = '30 days', retention_mode = 'detach'
 WHERE parent = 't'::regclass;});
cancel_detach('t_old', 'a detach of an old partition is cancelled');
is($node->safe_psql('postgres', q{
SELECT action || ': ' || partition || ': ' || detail FROM ai_scale.run_maintenance('t')
 WHERE action <> 'created'}),
    'detached: public.t_old: older than retention 30 days',
    'retention finalizes its detach by hand');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_inherits WHERE inhrelid = 't_old'::regclass}), '0', 'it is detached');

# Another, whose detach someone would complete while the run is under way (here an event
# trigger, as the run makes a partition; the worker's FINALIZE may come so): a run by hand
# finalizes first now (before its other DDL, see _finalize_detach), and the trigger finds the
# detach done; no error either way. (Of a day far ahead, which retention leaves alone.)
$node->safe_psql('postgres', q{
CREATE TABLE t_old2 PARTITION OF t FOR VALUES FROM ('2100-01-02') TO ('2100-01-03');});
cancel_detach('t_old2', 'a detach of another is cancelled');
$node->safe_psql('postgres', q{
CREATE FUNCTION public.finalize_meanwhile() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = 'public.t_old2'::regclass
                                            AND inhdetachpending) THEN
        ALTER TABLE public.t DETACH PARTITION public.t_old2 FINALIZE;
    END IF;
END $$;
CREATE EVENT TRIGGER finalize_meanwhile ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
    EXECUTE FUNCTION public.finalize_meanwhile();
UPDATE ai_scale.partition_config SET premake = premake + 1 WHERE parent = 't'::regclass;});
is($node->safe_psql('postgres', q{
SELECT string_agg(DISTINCT action, ',') FROM ai_scale.run_maintenance('t')}),
    'created,detached', 'the run finalizes the detach first; the trigger finds it done');
$node->safe_psql('postgres', 'DROP EVENT TRIGGER finalize_meanwhile');
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_inherits WHERE inhrelid = 't_old2'::regclass}), '0', 'it is detached');

# One whose FINALIZE waits for a transaction begun after the detach was interrupted, that reads
# another table (no lock on either of the detach's): the run names it. It said that the session
# holding the lock had released it since. A VACUUM running meanwhile, which FINALIZE does not
# wait for (as it does not for autovacuum), is not named: it was, beside the transaction.
$node->safe_psql('postgres', q{
CREATE TABLE t_old3 PARTITION OF t FOR VALUES FROM ('2020-01-03') TO ('2020-01-04');
CREATE TABLE elsewhere (x int);
CREATE TABLE vacuumed WITH (autovacuum_enabled = off) AS SELECT g FROM generate_series(1, 100000) g;
DELETE FROM vacuumed;});
cancel_detach('t_old3', 'a detach of a third is cancelled');
my $vacuum = $node->background_psql('postgres', on_error_stop => 0);
$vacuum->query_safe(q{SET vacuum_cost_delay = '100ms'; SET vacuum_cost_limit = 1});
$vacuum->query_until(qr/vacuuming/, "\\echo vacuuming\nVACUUM vacuumed;\n");
$node->poll_query_until('postgres',
    q{SELECT count(*) = 1 FROM pg_stat_progress_vacuum WHERE relid = 'vacuumed'::regclass})
  or die 'no VACUUM';
$reader->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM elsewhere;');
like($node->safe_psql('postgres', q{
SELECT action || ': ' || detail FROM ai_scale.run_maintenance('t') WHERE partition = 'public.t_old3'}),
    qr/^skipped: finalize the detach: canceling statement due to lock timeout; waiting for the transactions older than it to end: pid $reader_pid \(transaction open [0-9.]+ s\); retried on the next run$/,
    'a FINALIZE waiting for an older transaction on another table names it, not the VACUUM');
$node->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_progress_vacuum
                                WHERE relid = 'vacuumed'::regclass});
eval { $vacuum->quit };
$reader->query_safe('COMMIT');
is($node->safe_psql('postgres', q{
SELECT action || ': ' || detail FROM ai_scale.run_maintenance('t') WHERE partition = 'public.t_old3'}),
    'detached: older than retention 30 days', 'once it has ended, the detach is finalized');

# One that retention in tier mode would move to the cold tablespace: it is not moved (Postgres
# refuses to alter a partition pending detach), only finalized. An error row came first.
my $cold = PostgreSQL::Test::Utils::tempdir();
$node->safe_psql('postgres', qq{
CREATE TABLESPACE cold LOCATION '$cold';
CREATE TABLE t_old4 PARTITION OF t FOR VALUES FROM ('2020-01-04') TO ('2020-01-05');});
cancel_detach('t_old4', 'a detach of a fourth is cancelled');
$node->safe_psql('postgres', q{
UPDATE ai_scale.partition_config SET retention_mode = 'tier', cold_tablespace = 'cold'
 WHERE parent = 't'::regclass;});
is($node->safe_psql('postgres', q{
SELECT string_agg(action || ': ' || detail, E'\n') FROM ai_scale.run_maintenance('t')
 WHERE partition = 'public.t_old4'}),
    'detached: an interrupted detach, finalized',
    'in tier mode, a partition pending detach is finalized, with no error row');
is($node->safe_psql('postgres', q{
SELECT relispartition::text || ' ' || reltablespace FROM pg_class WHERE oid = 't_old4'::regclass}),
    'false 0', 'and kept as a plain table where it was');

# One whose FINALIZE fails otherwise than on a lock (here an event trigger refuses it; a deadlock
# would do so too): its own error row, and the partition the run made stands. It failed the
# table's whole run, making nothing.
$node->safe_psql('postgres', q{
CREATE TABLE t_old5 PARTITION OF t FOR VALUES FROM ('2020-01-05') TO ('2020-01-06');});
cancel_detach('t_old5', 'a detach of a fifth is cancelled');
$node->safe_psql('postgres', q{
CREATE FUNCTION public.no_finalize() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = 'public.t_old5'::regclass) THEN
        RAISE EXCEPTION 'no detach of t_old5 now';
    END IF;
END $$;
CREATE EVENT TRIGGER no_finalize ON ddl_command_end WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION public.no_finalize();
UPDATE ai_scale.partition_config SET premake = premake + 1 WHERE parent = 't'::regclass;});
is($node->safe_psql('postgres', q{
SELECT string_agg(action || ': ' || coalesce(partition, '') || ': ' || detail, E'\n'
                  ORDER BY action DESC)
  FROM ai_scale.run_maintenance('t') WHERE action <> 'created' OR partition IS NULL}),
    'error: public.t_old5: finalize the detach: no detach of t_old5 now'
      . ' (in PL/pgSQL function public.no_finalize() line 4 at RAISE) (SQLSTATE P0001)',
    'a FINALIZE that fails is its own error row, naming the event trigger that raised it');
is($node->safe_psql('postgres', $tiers), 'detach pending,hot,hot,hot,hot,hot',
    'the partition the run made stands, and the other stays pending');
$node->safe_psql('postgres', 'DROP EVENT TRIGGER no_finalize');
is($node->safe_psql('postgres', q{
SELECT action || ': ' || detail FROM ai_scale.run_maintenance('t') WHERE partition = 'public.t_old5'}),
    'detached: an interrupted detach, finalized', 'the next run finalizes it');

# One that retention drops, past the 100 partitions a run retires: left for the next run, which
# drops it. It was finalized to be kept, a plain table that retention never dropped.
$node->safe_psql('postgres', q{
DO $$
BEGIN
    FOR i IN 0 .. 100 LOOP
        EXECUTE format('CREATE TABLE t_2019_%s PARTITION OF t FOR VALUES FROM (%L) TO (%L)', i,
                       date '2019-01-01' + i, date '2019-01-01' + i + 1);
    END LOOP;
END $$;
CREATE TABLE t_old6 PARTITION OF t FOR VALUES FROM ('2020-01-06') TO ('2020-01-07');});
cancel_detach('t_old6', 'a detach of a sixth is cancelled');
$node->safe_psql('postgres', q{
UPDATE ai_scale.partition_config SET retention_mode = 'drop' WHERE parent = 't'::regclass;});
is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE action = 'dropped') || ' dropped, '
       || count(*) FILTER (WHERE partition = 'public.t_old6') || ' of t_old6'
  FROM ai_scale.run_maintenance('t')}),
    '100 dropped, 0 of t_old6', 'past the 100 a run drops, a partition pending detach is left');
is($node->safe_psql('postgres', q{
SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 't_old6'::regclass}), 't',
    'pending detach still');
is($node->safe_psql('postgres', q{
SELECT string_agg(action || ': ' || partition, ', ' ORDER BY partition)
  FROM ai_scale.run_maintenance('t')}),
    'dropped: public.t_2019_100, dropped: public.t_old6', 'the next run drops it');

$reader->quit;
$node->stop;
done_testing();
