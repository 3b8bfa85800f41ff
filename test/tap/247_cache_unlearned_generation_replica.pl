# A server that cannot reach the Redis primary but reaches a replica (a partition, the primary's
# address wrong on this server) cannot learn its generation slots (read from the primary only),
# and used to look its keys up on the replica with the unlearned generation 0 for as long as
# that lasted: an entry an earlier start had put under generation 0 was served there after the
# model had been invalidated. Keys made with an unlearned generation are not asked of Redis
# (docs/cache.md, Invalidation; test/tap/246_cache_unlearned_generation.pl for the window on the
# primary).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $primary_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('unlearned_primary', $primary_port);
my $replica_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('unlearned_replica', $replica_port, '--replicaof', '127.0.0.1', $primary_port);
my ($primary, $replica) = ("127.0.0.1:$primary_port", "127.0.0.1:$replica_port");
# On the primary, a user that cannot read the generation counters (ai_scale:gen:...) writes the
# entry of an earlier start that could not learn the slots (as 246 does).
like(`redis-cli -p $primary_port ACL SETUSER nogen on nopass '~ai_scale:[0-9a-f]*' +\@all`,
    qr/OK/, 'a Redis user that cannot read the generation counters');
# L1 off: every read reaches Redis.
my $node = cache_node('unlearned_replica', redis_primary => $primary,
    redis_replicas => $replica);

$node->safe_psql('postgres', q{SET ai_scale.redis_user = 'nogen';
SELECT ai_scale.cache_put('m', 1, '{"k": 1}', '{"v": "old"}')});
$node->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('m')});
ok(redis_replica_caught_up($primary, $replica), 'the replica has what the primary has');
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('m', 1, '{"k": 1}') IS NULL}),
    't', 'after the invalidation the value is gone');

# A new start that reaches the replica only (the primary named at a port nobody listens on, the
# replica's own link to the primary up).
$node->restart;
my $nobody = PostgreSQL::Test::Cluster::get_free_port();
is( $node->safe_psql('postgres', qq{SET ai_scale.redis_primary = '127.0.0.1:$nobody';
SELECT ai_scale.cache_get('m', 1, '{"k": 1}') IS NULL}),
    't', 'the invalidated value is not read from the replica while the slots are not learned');

$node->stop;
redis_stop('unlearned_replica');
redis_stop('unlearned_primary');
done_testing();
