# ai_scale does not support Redis Cluster: it sends every key to one primary. A Redis started
# with cluster-enabled answers with replies only a cluster sends: CLUSTERDOWN while its slots
# are not all assigned, and, with one node holding all 16384 slots, CROSSSLOT to the MGET of a
# key's two generation counters (they hash to different slots), so that no call succeeds. The
# user gets that reply prefixed with "Redis Cluster is not supported" (08006 with cache_strict,
# redis_status()'s last_error); before, only the bare reply ("CLUSTERDOWN Hash slot not
# served"), which does not say what to change.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
# The cluster bus listens on a port of its own, by default $port + 10000, which nothing checked
# was free: taken by another server once, the node exited at start. One chosen free instead.
my $bus_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('cluster', $port, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
    '--cluster-port', $bus_port);
my $node = cache_node('cache_cluster', redis_primary => "127.0.0.1:$port",
    breaker_failures => 1000);

# No slot assigned: every command is refused.
my ($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('cl', 1, '{"a": 1}', '{"p": 1}');});
isnt($ret, 0, 'a cluster node without slots: a strict put fails');
like($err, qr/ERROR:  redis is unavailable for the L2 cache/, '... as Redis unavailable');
like($err, qr/DETAIL:  Endpoint 127\.0\.0\.1:$port: Redis Cluster is not supported: CLUSTERDOWN/,
    '... saying Redis Cluster is not supported, with the reply');

# One node holding every slot.
like(`redis-cli -p $port CLUSTER ADDSLOTSRANGE 0 16383`, qr/OK/, 'every slot assigned');
for (1 .. 100) {
    last if `redis-cli -p $port CLUSTER INFO` =~ /cluster_state:ok/;
    select(undef, undef, undef, 0.1);
}
like(`redis-cli -p $port CLUSTER INFO`, qr/cluster_state:ok/, 'the cluster is up');
# A key's generations (the model's and the version's) are read with one MGET, whose keys hash
# to different slots (all in one by chance is one in 16384): even a single put or get fails.
for my $call (q{ai_scale.cache_put('cl', 1, '{"a": 1}', '{"p": 1}')},
    q{ai_scale.cache_get('cl', 1, '{"a": 1}')},
    q{ai_scale.cache_get_many('cl', 1, ARRAY['{"a": 1}', '{"a": 2}']::jsonb[])})
{
    ($ret, $out, $err) = $node->psql('postgres', "SET ai_scale.cache_strict = on; SELECT $call");
    isnt($ret, 0, "one node holding every slot: a strict $call fails");
    like($err,
        qr/DETAIL:  Endpoint 127\.0\.0\.1:$port: Redis Cluster is not supported: CROSSSLOT Keys in request don't hash to the same slot/,
        '... saying Redis Cluster is not supported, with the CROSSSLOT reply');
}
$out = $node->safe_psql('postgres', 'SELECT last_error FROM ai_scale.redis_status()');
like($out, qr/^Redis Cluster is not supported: CROSSSLOT/, 'redis_status() shows it too');

$node->stop;
redis_stop('cluster');
done_testing();
