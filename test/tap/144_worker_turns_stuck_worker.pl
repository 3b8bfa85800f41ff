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

my $node = PostgreSQL::Test::Cluster->new('worker_turns_stuck');
$node->init;
# Three slots: the launcher's and two for workers (no logical replication launcher).
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'ai_scale'
max_worker_processes = 3
max_logical_replication_workers = 0
ai_scale.maintenance_naptime = 1
ai_scale.maintenance_databases = 'postgres'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$node->safe_psql('postgres', old_partition_table('a'));
my $reader = hold_worker_detach($node, 'a');

my @waiting = ('d2', 'd3');
for my $d (@waiting) {
    $node->safe_psql('postgres', "CREATE DATABASE $d");
    $node->safe_psql($d, q{
CREATE EXTENSION ai_scale;
CREATE TABLE t (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1);
UPDATE ai_scale.partition_config SET premake = 4;});
}
# Three databases, two slots for workers, the worker of postgres stuck in its run.
$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'postgres, d2, d3'; SELECT pg_reload_conf();");
my $made = q{SELECT count(*) FROM pg_catalog.pg_inherits WHERE inhparent = 't'::regclass};
ok($node->poll_query_until($_, "SELECT ($made) = 6"),
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
