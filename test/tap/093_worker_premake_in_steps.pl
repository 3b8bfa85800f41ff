# A premake larger than one run can make: the worker makes at most 200 partitions of a table
# per run, the nearest first, and the rest at its next runs. Before, a premake of thousands
# made every run fail on the lock table (out of shared memory) after a minute's work, and no
# partition was ever made. By hand, run_maintenance still makes them all.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_premake_in_steps');
$node->safe_psql('postgres', q{
CREATE TABLE h (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('h', '1 hour', 1, time_zone => 'UTC');
UPDATE ai_scale.partition_config SET premake = 450 WHERE parent = 'h'::regclass;});

# premake 1 made two partitions; premake 450 asks for 449 more (450 if an hour began meanwhile):
# 200, 200, then the rest.
ok($node->wait_for_log(qr/${worker_line}skipped public\.h\n.*DETAIL:  (?:249|250) more partitions to make; the worker makes at most 200 of a table per run/),
    'a run makes 200 and says how many are left');
ok($node->poll_query_until('postgres',
        q{SELECT count(*) >= 452 FROM pg_inherits WHERE inhparent = 'h'::regclass}),
    'later runs make the rest: the current hour, 450 ahead and the default');
is($node->safe_psql('postgres',
        q{SELECT count(*) FROM ai_scale.run_maintenance('h') WHERE action <> 'created'}),
    '0', 'then nothing is left to do');

$node->stop;
done_testing();
