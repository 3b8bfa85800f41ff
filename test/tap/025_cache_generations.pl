# Invalidation across databases and restarts: databases share the generation slots, and each slot
# has one Redis counter for the cluster. Two models of two databases sharing a slot (found by
# test/tools/generation_collision) used to count it in two Redis counters; after a restart, a
# sync to the other database's larger counter brought back a generation invalidated in this one,
# and the invalidated value was served again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $tool = $ENV{AI_SCALE_TEST_GENERATION_COLLISION}
  or plan skip_all => 'generation_collision not built (run through test/run.sh)';

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('generations', $port);
my $node = cache_node('cache_generations', redis_primary => "127.0.0.1:$port");
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', 'CREATE EXTENSION ai_scale');

my $system = $node->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()');
my $db_a = $node->safe_psql('postgres', q{SELECT oid FROM pg_database WHERE datname = 'postgres'});
my $db_b = $node->safe_psql('postgres', q{SELECT oid FROM pg_database WHERE datname = 'other'});
my ($a, $b) = split ' ', `$tool $system $db_a $db_b`;
ok($a && $b, "models $a (postgres) and $b (other) share a generation slot");

# The other database's model is invalidated more often than this one's.
$node->safe_psql('other', "SELECT ai_scale.cache_invalidate('$b') FROM generate_series(1, 3)");

$node->safe_psql('postgres', qq{SELECT ai_scale.cache_put('$a', 1, '{"x": 1}', '{"v": "old"}')});
is($node->safe_psql('postgres', qq{SELECT ai_scale.cache_get('$a', 1, '{"x": 1}')}),
    '{"v": "old"}', 'put, then a hit');
$node->safe_psql('postgres', qq{SELECT ai_scale.cache_invalidate('$a')});
is($node->safe_psql('postgres', qq{SELECT ai_scale.cache_get('$a', 1, '{"x": 1}') IS NULL}),
    't', 'invalidated: a miss');

$node->restart;
# The other database syncs the shared slot first, then this one reads within the second.
$node->safe_psql('other', qq{SELECT ai_scale.cache_get('$b', 1, '{"y": 1}')});
is($node->safe_psql('postgres', qq{SELECT ai_scale.cache_get('$a', 1, '{"x": 1}') IS NULL}),
    't', 'after a restart, the invalidated value stays a miss');

# What was put after the invalidation survives the restart.
$node->safe_psql('postgres', qq{SELECT ai_scale.cache_put('$a', 1, '{"x": 1}', '{"v": "new"}')});
$node->restart;
$node->safe_psql('other', qq{SELECT ai_scale.cache_get('$b', 1, '{"y": 1}')});
is($node->safe_psql('postgres', qq{SELECT ai_scale.cache_get('$a', 1, '{"x": 1}')}),
    '{"v": "new"}', 'the value put after the invalidation is a hit after a restart');

# One counter per slot, named without a database.
my @gen = split /\n/, `redis-cli -p $port --scan --pattern 'ai_scale:gen:*'`;
ok(@gen >= 1, 'generation counters in Redis: ' . join(', ', @gen));
is(scalar(grep { !/^ai_scale:gen:[0-9a-f]{16}:\d+$/ } @gen), 0, 'named by cluster and slot');

$node->stop;
redis_stop('generations');
done_testing();
