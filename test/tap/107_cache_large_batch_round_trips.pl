# A large batch goes to Redis 1000 keys per round trip, each within ai_scale.redis_timeout_ms.
# It went in one MGET (cache_get_many, predict_batch) or one pipeline of SETs (their fills): for
# 400,000 keys that took longer than the default 100 ms ("timed out sending to redis"), so
# every key was an L2 miss and an l2 error, and none of the fills was written.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('large_batch', $port);
my $node = cache_node('large_batch', redis_primary => "127.0.0.1:$port");
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [1]}');
});

# predict_batch scores them (nothing stored: store_mode off) and writes them to Redis; then
# cache_get_many reads them all back from Redis (L1 is off on this node). Each round trip gets
# 300 ms: a chunk of 1000 keys takes a few, so a loaded machine does not time one out (with the
# default 100 ms, one did under a load average of 10), while a single round trip of 400,000
# keys still does not fit.
$node->safe_psql('postgres', q{
SET ai_scale.store_mode = off;
SET ai_scale.redis_timeout_ms = 300;
CREATE TABLE batch AS
    SELECT array_agg(jsonb_build_object('a', g) ORDER BY g) AS inputs
      FROM generate_series(1, 400000) g;
SELECT array_length(ai_scale.predict_batch('m', (SELECT inputs FROM batch)), 1);
}, timeout => 300);
system("redis-cli -p $port config resetstat >/dev/null");
my $out = $node->safe_psql('postgres', q{
SET ai_scale.redis_timeout_ms = 300;
SELECT count(*) FROM unnest(ai_scale.cache_get_many('m', 1, (SELECT inputs FROM batch))) o
 WHERE o IS NOT NULL;
SELECT metric, value FROM ai_scale.stats
 WHERE section = 'l2' AND metric IN ('hits', 'errors') ORDER BY metric;
}, timeout => 300);
is($out, "400000\nerrors|0\nhits|400000",
    '400,000 predictions written to Redis and read back, with no L2 error');
# Whatever the machine's speed: the reads went in MGETs of at most 1000 keys (one MGET of them
# all before), so at least 400 of them.
my $mgets = `redis-cli -p $port info commandstats` =~ /cmdstat_mget:calls=(\d+)/ ? $1 : 0;
cmp_ok($mgets, '>=', 400, 'the 400,000 keys were read 1000 at a time at most');

$node->stop;
redis_stop('large_batch');
done_testing();
