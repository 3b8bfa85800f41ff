# A pooled connection Redis has closed (its idle timeout, CLIENT KILL) is remade, and the call
# made again, without counting a failure: with cache_strict on it is no error, and with
# breaker_failures = 1 (one counted failure opens the breaker) the breaker stays closed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('reconnect', $port);
my $node = cache_node('cache_reconnect',
    redis_primary => "127.0.0.1:$port", breaker_failures => 1, breaker_reset_ms => 60000);

# One session throughout, so that its connection is the one Redis closes.
my ($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.cache_strict = on;
SELECT ai_scale.cache_put('r', 1, '{"a": 1}', '{"p": 1}');
SELECT ai_scale.cache_get('r', 1, '{"a": 1}');
COPY (SELECT 1) TO PROGRAM 'redis-cli -p $port config set timeout 1 >/dev/null';
SELECT pg_sleep(2.5);
SELECT 'after idle timeout', ai_scale.cache_get('r', 1, '{"a": 1}');
COPY (SELECT 1) TO PROGRAM 'redis-cli -p $port config set timeout 0 >/dev/null';
COPY (SELECT 1) TO PROGRAM 'redis-cli -p $port client kill type normal >/dev/null';
SELECT 'after client kill', ai_scale.cache_get('r', 1, '{"a": 1}');
SELECT 'breaker', breaker, failures FROM ai_scale.redis_status() WHERE configured_as = 'primary';
SELECT 'errors', value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors';
}, timeout => 120);
is($ret, 0, 'no error with cache_strict') or diag($err);
like($out, qr/^after idle timeout\|\{"p": 1\}$/m, 'a hit after Redis closed the idle connection');
like($out, qr/^after client kill\|\{"p": 1\}$/m, 'a hit after CLIENT KILL');
like($out, qr/^breaker\|closed\|0$/m, 'the breaker stays closed, no failure counted');
like($out, qr/^errors\|0$/m, 'no L2 error counted');

$node->stop;
redis_stop('reconnect');
done_testing();
