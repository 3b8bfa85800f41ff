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
my $primary_pid = redis_pid('primary');

# The primary hangs; a strict put of a new value sends its SET and times out (08006). It sends
# its SET first only when the model's generations were synced less than a second before (by the
# read before it); later, it reads them first and times out there, its SET never sent, and Redis
# keeps the older value (as must this server). So the read, the primary's stop and the put go in
# one psql script, and a try whose SET the primary did not get is made again with a new value,
# five times at most. Each try checks that this server answers what Redis holds.
my ($applied, $tries) = (0, 0);
while (!$applied && $tries < 5) {
    $tries++;
    my $value = qq{{"v": "new $tries"}};
    $node->safe_psql('postgres', q{SELECT ai_scale.cache_put('up', 1, '{"a": 1}', '{"v": "old"}')});
    ok(redis_replica_caught_up($primary, $replica), "try $tries: the replica has the older value");
    my ($ret, $out, $err) = $node->psql('postgres', qq{$get;
\\! kill -STOP $primary_pid
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('up', 1, '{"a": 1}', '$value')});
    is($out, '{"v": "old"}', "try $tries: read, and kept in L1");
    like($err, qr/redis is unavailable for the L2 cache/, "try $tries: the put times out");
    # Another session reads meanwhile: the replica answers the older value (it has not the put).
    is($node->safe_psql('postgres', $get), '{"v": "old"}',
        "try $tries: the replica answers the older value");
    kill 'CONT', $primary_pid;

    # The primary applies the put if it got its SET, the replica follows.
    ok(redis_replica_caught_up($primary, $replica), "try $tries: the replica has caught up");
    my $in_redis = $node->safe_psql('postgres', "SET ai_scale.cache_use_l1 = off; $get");
    $applied = $in_redis eq $value;
    note("try $tries: Redis holds $in_redis");
    is($node->safe_psql('postgres', $get), $in_redis,
        "try $tries: this server answers what Redis holds: L1 kept nothing from the read between");
}
ok($applied, "the primary applied a put that timed out (tries: $tries)");

$node->stop;
redis_stop('replica');
redis_stop('primary');
done_testing();
