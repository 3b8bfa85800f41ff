# A Redis host name is looked up again at each new connection: a session whose lookup of the
# name failed (no such name yet, or a name DNS moves to another address) reaches Redis at its next
# call once the resolver answers. A backend that kept a finished lookup would go on failing, or
# connecting to the old address, for the rest of its life; no test had a name answer differently
# twice. The server preloads test/tools/slow_resolver.cpp, whose names ending in .once.invalid
# are unknown at a process's first lookup and 127.0.0.1 after it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('lookup_again', $port);
my $node = slow_resolver_node('cache_host_lookup_again', redis_timeout_ms => 10000);

# One session, strict: its first call fails on the lookup; the next ones reach Redis.
my ($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.redis_primary = 'redis.once.invalid:$port';
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_get('m', 1, '{"a": 1}');
SELECT 'put', ai_scale.cache_put('m', 1, '{"a": 1}', '{"v": 1}') IS NULL;
SELECT 'got', ai_scale.cache_get('m', 1, '{"a": 1}');
}, on_error_stop => 0);
like($err, qr/redis is unavailable for the L2 cache.*\n.*could not look up "redis\.once\.invalid"/,
    'the first call fails on the lookup');
is(scalar(() = $err =~ /ERROR/g), 1, 'and only the first');
like($out, qr/^got\|\{"v": 1\}$/m, 'the next calls look the name up again and reach Redis');
is(`redis-cli -p $port --scan --pattern 'ai_scale:*' | grep -vc ':gen:'` + 0, 1,
    'the put is in Redis');

$node->stop;
redis_stop('lookup_again');
done_testing();
