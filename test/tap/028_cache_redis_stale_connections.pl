# A backend closes its connection to a Redis endpoint it no longer uses (redis_primary or
# redis_replicas changed): a long-lived session used to keep a socket, and a client slot on that
# Redis, for every endpoint it had ever used.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port_a = PostgreSQL::Test::Cluster::get_free_port();
my $port_b = PostgreSQL::Test::Cluster::get_free_port();
redis_start('stale_a', $port_a);
redis_start('stale_b', $port_b);
my $node = cache_node('cache_stale', redis_primary => "127.0.0.1:$port_a");

# Connections to each Redis but the one counting them.
sub count_clients {
    my ($label, $port) = @_;
    return qq{TRUNCATE n;
COPY n FROM PROGRAM 'redis-cli -p $port client list | grep -vc cmd=client || true';
SELECT '$label', c FROM n;};
}

# One session throughout: its pool is the one looked at.
my ($ret, $out, $err) = $node->psql('postgres', qq{
CREATE TEMP TABLE n (c int);
SELECT ai_scale.cache_put('s', 1, '{"a": 1}', '{"p": 1}');
${\ count_clients('a while primary', $port_a)}
SET ai_scale.redis_primary = '127.0.0.1:$port_b';
SELECT ai_scale.cache_put('s', 1, '{"a": 1}', '{"p": 1}');
${\ count_clients('a after primary moved to b', $port_a)}
${\ count_clients('b as primary', $port_b)}
SET ai_scale.redis_replicas = '127.0.0.1:$port_a';
SELECT ai_scale.cache_get('s', 1, '{"a": 1}');
${\ count_clients('a as replica', $port_a)}
RESET ai_scale.redis_replicas;
-- Put again: b, unrelated to a, has no generation counter for the model, and the first sync
-- from b (due a second after the sync from a) raises it past the slot, so what was put at b under
-- a's generation is a miss once this session has run that long (under ASan, TAP in parallel).
SELECT ai_scale.cache_put('s', 1, '{"a": 1}', '{"p": 1}');
SELECT 'get', ai_scale.cache_get('s', 1, '{"a": 1}');
${\ count_clients('a after replica removed', $port_a)}
}, timeout => 120);
is($ret, 0, 'no error') or diag($err);
like($out, qr/^a while primary\|1$/m, 'one connection to the primary');
like($out, qr/^a after primary moved to b\|0$/m, 'the old primary\'s connection is closed');
like($out, qr/^b as primary\|1$/m, 'one connection to the new primary');
like($out, qr/^a as replica\|1$/m, 'a replica is connected to');
like($out, qr/^get\|\{"p": 1\}$/m, 'reads still hit');
like($out, qr/^a after replica removed\|0$/m, 'the removed replica\'s connection is closed');

$node->stop;
redis_stop('stale_a');
redis_stop('stale_b');
done_testing();
