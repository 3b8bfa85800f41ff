# A database taken out of ai_scale.maintenance_databases while its worker is in a run: the
# worker finishes the run and then exits, where the launcher terminated it in the middle (a
# FATAL in the log, the run rolled back, a concurrent detach it waited in left pending). Put
# back in the list before that run ends, the database still gets one worker, not two.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# Runs at start and on each reload only.
my $node = worker_node('worker_unlisted_mid_run', maintenance_naptime => 3600);
my $workers = q{SELECT count(*) FROM pg_stat_activity
                 WHERE backend_type = 'ai_scale maintenance' AND datname = 'postgres'};
my $detach_waits = q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE 'ALTER TABLE public.a DETACH PARTITION public.a_old CONCURRENTLY%'
   AND wait_event_type = 'Lock'};

# Table a, without a default partition (so the worker detaches concurrently), with a partition
# that retention chooses; an older transaction on a holds the worker's detach, and its run.
$node->safe_psql('postgres', old_partition_table('a'));
# Table b, with a default partition: each run of the worker counts one in ai_scale.stats.
$node->safe_psql('postgres', q{
CREATE TABLE b (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('b', '1 day', 2);});
my $reader = $node->background_psql('postgres', on_error_stop => 0);
$reader->query_safe('BEGIN; SELECT count(*) FROM a;');
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'a'::regclass});
$node->reload;
ok($node->poll_query_until('postgres', $detach_waits), 'the worker waits in its detach');
my $worker_pid = $node->safe_psql('postgres',
    q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' AND datname = 'postgres'});

my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_databases = ''");
$node->reload;
ok($node->wait_for_log(
        qr/ai_scale maintenance launcher asked the worker for database "postgres" to exit after its run: no longer in ai_scale\.maintenance_databases/,
        $log_offset),
    'taken out of the list, the worker in a run is asked to exit after it');
ok($node->poll_query_until('postgres', $detach_waits), 'and it still waits in its detach');

# Put back before the run ends: the launcher starts a worker for it; the one in the run exits
# after it all the same, so that one worker is left.
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres'");
$node->reload;
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' "
      . "AND datname = 'postgres' AND pid <> $worker_pid"),
    'put back in the list, the database gets a worker again');

$reader->query_safe('COMMIT');
ok($node->wait_for_log(qr/${worker_line}dropped public\.a public\.a_old/, $log_offset),
    'the detach goes on when the older transaction ends, and the run ends with the drop');
ok($node->wait_for_log(
        qr/ai_scale maintenance worker in database "postgres" exits: no longer in ai_scale\.maintenance_databases/,
        $log_offset),
    'then the worker exits, saying why');
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $worker_pid"),
    'and is gone');
is($node->safe_psql('postgres', $workers), '1', 'one worker is left in the database');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_inherits WHERE inhdetachpending}),
    '0', 'no detach is left pending');
ok(!$node->log_contains(qr/FATAL:  terminating background worker "ai_scale maintenance"/, $log_offset),
    'no worker was terminated');

# Taken out of the list while its worker is between runs, the worker exits at once: the
# reload that would start a run finds its database unlisted.
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance' AND datname = 'postgres'
   AND wait_event_type = 'Extension' AND wait_event = 'Extension'}),
    'the worker left waits between runs');
my $runs_before = maintenance_runs($node);
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', "ALTER SYSTEM SET ai_scale.maintenance_databases = ''");
$node->reload;
ok($node->poll_query_until('postgres', "SELECT ($workers) = 0"),
    'taken out of the list between runs, the worker stops');
is(maintenance_runs($node), $runs_before, 'without a run at the reload');
ok(!$node->log_contains(qr/FATAL:  terminating background worker "ai_scale maintenance"/, $log_offset),
    'and with no FATAL');

$reader->quit;
$node->stop;
done_testing();
