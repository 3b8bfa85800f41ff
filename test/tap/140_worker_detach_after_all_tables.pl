# The maintenance worker's concurrent detaches wait as long as an older transaction on their
# table runs (a session left idle in a transaction, say). A run maintains every table before
# it starts them: done table by table, the wait kept every table after the waiting one from
# being maintained meanwhile, its premade partitions included.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# Runs at start and on each reload only: the run that follows the change below sees all of it.
my $node = worker_node('worker_detach_after_all', maintenance_naptime => 3600);
# Table a (maintained first: the lower OID) with an old partition and no default partition
# (the worker detaches concurrently only then); table b made after it.
$node->safe_psql('postgres', old_partition_table('a') . q{
CREATE TABLE b (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('b', '1 day', 2);});

# An older transaction on a makes its concurrent detach wait.
my $reader = $node->background_psql('postgres', on_error_stop => 0);
$reader->query_safe('BEGIN; SELECT count(*) FROM a;');
$node->safe_psql('postgres', q{
BEGIN;
UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'a'::regclass;
UPDATE ai_scale.partition_config SET premake = 4 WHERE parent = 'b'::regclass;
COMMIT;});
$node->reload;
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE query LIKE 'ALTER TABLE public.a DETACH PARTITION public.a_old CONCURRENTLY%'
   AND wait_event_type = 'Lock'}),
    'the worker waits to detach the partition of a that retention chose');
is($node->safe_psql('postgres', made_ahead(4, 'b')), 't',
    'b got the partitions of its new premake before that wait');

$reader->query_safe('COMMIT');
ok($node->wait_for_log(qr/${worker_line}dropped public\.a public\.a_old/),
    'the detach goes on when the older transaction ends');

$reader->quit;
$node->stop;
done_testing();
