# With fewer free background-worker slots than databases in ai_scale.maintenance_databases, the
# databases take turns: the launcher asks the worker that started longest ago to give its slot
# up after a run, and the freed slot goes to the database that waited longest. Before, the
# databases left without a slot were never maintained (the launcher only logged, every 10 s).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker_take_turns');
$node->init;
# Three slots: the launcher's and two for workers (no logical replication launcher).
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'ai_scale'
max_worker_processes = 3
max_logical_replication_workers = 0
ai_scale.maintenance_naptime = 1
});
$node->start;

my @databases = map { "d$_" } 1 .. 4;
for my $d (@databases) {
    $node->safe_psql('postgres', "CREATE DATABASE $d");
    $node->safe_psql($d, q{
CREATE EXTENSION ai_scale;
CREATE TABLE t (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1);
UPDATE ai_scale.partition_config SET premake = 4;});
}
my $made = q{SELECT count(*) FROM pg_catalog.pg_inherits WHERE inhparent = 't'::regclass};
is($node->safe_psql($_, $made), '3', "$_: today, tomorrow and the default before any worker")
  for @databases;

$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'd1, d2, d3, d4'; SELECT pg_reload_conf();");
# Premake 4: today, four ahead and the default, in every database, two slots for four.
ok($node->poll_query_until($_, "SELECT ($made) = 6"), "$_ is maintained") for @databases;
ok($node->log_contains(
        qr/could not start a worker for database "d\d": no background worker slot is free/),
    'the launcher says a database waits for a slot');
ok($node->log_contains(qr/worker in database "d\d" gives its slot to a database waiting for one/),
    'a worker gives its slot up after a run');

# And they keep taking turns: a change made now reaches every database too.
$node->safe_psql($_, 'UPDATE ai_scale.partition_config SET premake = 5') for @databases;
ok($node->poll_query_until($_, "SELECT ($made) = 7"), "$_ is maintained again") for @databases;

$node->stop;
done_testing();
