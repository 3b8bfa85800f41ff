# The worker does a run's concurrent detaches once every table has been maintained (TAP 140).
# A partition the run chose to detach may meanwhile have been dropped by a run by hand (which
# drops and detaches in place): the worker then has nothing to detach, and says so, rather than
# failing the table's maintenance ("relation ... does not exist", counted as an error).
# So it does when the partition is dropped while its DETACH ... CONCURRENTLY waits for older
# transactions: that statement then fails ("partition ... was removed concurrently"), which
# failed the table's maintenance, counted as an error, and left its other detaches of the run
# undone (found by the soak of 274_partition_chaos_soak.pl: a run by hand dropped it).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_detach_gone', maintenance_naptime => 3600,
    maintenance_lock_timeout => '10min');
# Table a (maintained first: the lower OID) with an old partition; table b after it.
$node->safe_psql('postgres', old_partition_table('a') . q{
CREATE TABLE b (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('b', '1 day', 2);});

# The worker's run is held at b, after it chose to drop a's old partition.
my $holder = $node->background_psql('postgres');
$holder->query_safe("BEGIN; SELECT ai_scale._lock_for_maintenance('b');");
$node->safe_psql('postgres',
    "UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'a'::regclass");
$node->reload;
ok($node->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance' "
      . "AND wait_event = 'advisory'"),
    'the worker waits for b, its detach of a_old still to do');
is($node->safe_psql('postgres', q{
SET lock_timeout = '5s';
SELECT string_agg(action, ',') FROM ai_scale.run_maintenance('a') WHERE partition LIKE '%a_old'}),
    'dropped', 'a run by hand drops a_old meanwhile');
$holder->query_safe('COMMIT');
ok($node->wait_for_log(qr/${worker_line}(no longer a partition|skipped detach)|${\ worker_failed('public\.a')}/),
    'the worker gets to the detach');
ok(!$node->log_contains(worker_failed('public\.a')),
    'and does not fail the maintenance of a');
$holder->quit;

# Table c's old partition is dropped while the worker's concurrent detach of it waits for a
# reader: the drop waits for the reader too (it locks the parent), and goes first.
$node->safe_psql('postgres', old_partition_table('c'));
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN; SELECT count(*) FROM c;');
$node->safe_psql('postgres',
    "UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'c'::regclass");
$node->reload;
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query = 'ALTER TABLE public.c DETACH PARTITION public.c_old CONCURRENTLY'
   AND wait_event_type = 'Lock'}),
    'the worker waits to detach c_old');
drop_behind_reader($node, 'c', $reader);
ok($node->wait_for_log(
        qr/${worker_line}skipped detach of public\.c public\.c_old|${\ worker_failed('public\.c')}/),
    'the worker gets to the end of its detach');
ok(!$node->log_contains(worker_failed('public\.c')),
    'and does not fail the maintenance of c');
like($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname = 'c_old'}), qr/^0$/,
    'c_old is gone');
$reader->quit;
$node->stop;
done_testing();
