# With fewer free background-worker slots than databases in ai_scale.maintenance_databases, the
# databases take turns: the launcher asks a worker (between runs, started longest ago) to give
# its slot up after a run, and the freed slot goes to the database that waited longest. Before, the
# databases left without a slot were never maintained (the launcher only logged, every 10 s).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = short_slots_node('worker_take_turns');
my @databases = map { "d$_" } 1 .. 4;
managed_database($node, $_) for @databases;
my $made = q{SELECT count(*) FROM pg_catalog.pg_inherits WHERE inhparent = 't'::regclass};
is($node->safe_psql($_, $made), '3', "$_: today, tomorrow and the default before any worker")
  for @databases;

$node->safe_psql('postgres',
    "ALTER SYSTEM SET ai_scale.maintenance_databases = 'd1, d2, d3, d4'; SELECT pg_reload_conf();");
# (made_ahead: partitions premake days ahead of now, not a count a midnight changes.)
# Premake 4: four days ahead, in every database, two slots for four.
ok($node->poll_query_until($_, made_ahead(4)), "$_ is maintained") for @databases;
ok($node->log_contains(
        qr/could not start a worker for database "d\d": no background worker slot is free/),
    'the launcher says a database waits for a slot');
ok($node->log_contains(qr/worker in database "d\d" gives its slot to a database waiting for one/),
    'a worker gives its slot up after a run');

# And they keep taking turns: a change made now reaches every database too.
$node->safe_psql($_, 'UPDATE ai_scale.partition_config SET premake = 5') for @databases;
ok($node->poll_query_until($_, made_ahead(5)), "$_ is maintained again") for @databases;

$node->stop;
done_testing();
