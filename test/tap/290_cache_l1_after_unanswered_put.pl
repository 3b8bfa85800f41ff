# A put that the Redis primary has yet to answer (it timed out, or was cancelled) removes L1's
# value of its key: the primary may apply it later (docs/cache.md, L1). But a read served by a
# replica meanwhile, which did not have the put, filled L1 with the older value again, and this
# server answered it from there after Redis had the new one, for the value's whole TTL. Now L1 is
# not filled from a replica while the primary may not be answering: the primary did not answer
# when the replica was judged in sync, or its breaker counts a failure since its last success.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $p_port = PostgreSQL::Test::Cluster::get_free_port();
my $r_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('primary', $p_port);
redis_start('replica', $r_port, '--replicaof', '127.0.0.1', $p_port);
my ($primary, $replica) = ("127.0.0.1:$p_port", "127.0.0.1:$r_port");

my $node = cache_node('l1_unanswered_put', redis_primary => $primary,
    redis_replicas => $replica, redis_read_from => 'replica', cache_use_l1 => 'on',
    redis_timeout_ms => 300);
my $get = q{SELECT ai_scale.cache_get('up', 1, '{"a": 1}')};
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('up', 1, '{"a": 1}', '{"v": "old"}')});
ok(redis_replica_caught_up($primary, $replica), 'the replica has the first put');
is($node->safe_psql('postgres', $get), '{"v": "old"}', 'read, and kept in L1');

# The primary hangs; a strict put of a new value sends its SET and times out (08006).
my $primary_pid = redis_pid('primary');
kill 'STOP', $primary_pid;
my ($ret, $out, $err) = $node->psql('postgres', q{SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('up', 1, '{"a": 1}', '{"v": "new"}')});
like($err, qr/redis is unavailable for the L2 cache/, 'the put times out');
# Another session reads meanwhile: the replica answers the older value (it has not the put).
is($node->safe_psql('postgres', $get), '{"v": "old"}', 'the replica answers the older value');
kill 'CONT', $primary_pid;

# The primary applies the put, the replica follows.
ok(redis_replica_caught_up($primary, $replica), 'the replica has the put the primary applied');
is($node->safe_psql('postgres', "SET ai_scale.cache_use_l1 = off; $get"), '{"v": "new"}',
    'Redis holds the new value');
is($node->safe_psql('postgres', $get), '{"v": "new"}',
    'and this server answers it: L1 kept nothing from the read in between');

$node->stop;
redis_stop('replica');
redis_stop('primary');
done_testing();
