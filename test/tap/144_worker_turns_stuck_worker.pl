# Databases taking turns for too few background-worker slots (TAP 141) while one worker is stuck
# in its run: its concurrent detach waits for a session left in a transaction on the table. The
# launcher asked only the worker that started longest ago, the stuck one, and the other waiting
# databases got no turn until the session ended. It now asks a worker between runs first, and
# does not count a worker asked in a run.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = short_slots_node('worker_turns_stuck', maintenance_databases => 'postgres');
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$node->safe_psql('postgres', old_partition_table('a'));
my $reader = hold_worker_detach($node, 'a');

my @waiting = ('d2', 'd3');
managed_database($node, $_) for @waiting;
# Three databases, two slots for workers, the worker of postgres stuck in its run.
$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres, d2, d3'; SELECT pg_reload_conf();");
# (Partitions four days ahead of now: counted, the six of today's run were seven after a
# midnight during the test, and the poll never ended.)
ok($node->poll_query_until($_, made_ahead(4)),
    "$_ is maintained while the worker of postgres waits on its detach")
  for @waiting;
is($node->safe_psql('postgres', q{
SELECT count(*) FROM pg_stat_activity
 WHERE query LIKE 'ALTER TABLE public.a DETACH PARTITION public.a_old CONCURRENTLY%'}),
    '1', 'the stuck worker still waits');

$reader->query_safe('COMMIT');
$reader->quit;
ok($node->poll_query_until('postgres', q{SELECT to_regclass('public.a_old') IS NULL}),
    'and, the session gone, drops the partition');
$node->stop;
done_testing();
