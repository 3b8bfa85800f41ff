# A Redis primary with min-replicas-to-write and too few replicas linked refuses writes
# (NOREPLICAS) and still answers reads, like a full Redis (TAP 087). A refused write fails that
# call (no L2 write, an l2 / errors count, 08006 with cache_strict) but is no failure of the
# endpoint: counted as one, a run of refused puts opened the breaker (with breaker_failures = 2,
# after two puts) and the hits Redis still held were skipped as misses, 08006 with cache_strict.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('noreplicas', $port);
my $node = cache_node('cache_noreplicas', redis_primary => "127.0.0.1:$port",
    breaker_failures => 2, breaker_reset_ms => 60000);

$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('nr', 1, '{"a": 1}', '{"p": 1}')});
# No replica is linked: every write is refused from now on.
like(`redis-cli -p $port CONFIG SET min-replicas-to-write 1`, qr/OK/,
    'Redis wants a replica for writes');
$node->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');

my ($ret, $out, $err) = $node->psql('postgres', q{
SELECT ai_scale.cache_put('nr', 1, ('{"a": ' || i || '}')::jsonb, '{"p": 2}')
FROM generate_series(2, 6) i;
SELECT 'hit', ai_scale.cache_get('nr', 1, '{"a": 1}');
SELECT 'refused', ai_scale.cache_get('nr', 1, '{"a": 2}') IS NULL;
SELECT 'breaker', breaker, last_error FROM ai_scale.redis_status();
SELECT 'errors', value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors';});
is($ret, 0, 'refused puts raise no error without cache_strict') or diag($err);
like($out, qr/^hit\|\{"p": 1\}$/m, 'a value Redis holds is still a hit after refused puts');
like($out, qr/^refused\|t$/m, 'a refused put is not there');
like($out, qr/^breaker\|closed\|NOREPLICAS Not enough good replicas to write/m,
    'the breaker stays closed, the NOREPLICAS reply is the last error');
like($out, qr/^errors\|5$/m, 'each refused put counts an L2 error');

($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT 'strict hit', ai_scale.cache_get('nr', 1, '{"a": 1}');
SELECT ai_scale.cache_put('nr', 1, '{"a": 9}', '{"p": 9}');});
like($out, qr/^strict hit\|\{"p": 1\}$/m, 'with cache_strict a read is still a hit');
isnt($ret, 0, 'with cache_strict a refused put raises');
like($err,
    qr/ERROR:  redis is unavailable for the L2 cache\nDETAIL:  Endpoint 127.0.0.1:$port: NOREPLICAS/,
    '... 08006 with the NOREPLICAS reply');

$node->stop;
redis_stop('noreplicas');
done_testing();
