# A store row whose output is over 64 MB (what a read from Redis takes back: resp_limits, and
# what cache_put accepts) was copied into Redis by the lookup that found it. Every later read of
# that key was then refused from the reply's header: the connection dropped, an l2 error and a
# breaker failure per read, 08006 with cache_strict, and the other keys of its MGET missed with
# it. Such an output is now answered from the store and left out of Redis. So is one over
# ai_scale.redis_max_value_bytes (1 MB by default), which a raised setting lets in.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('store_fill_too_large', $port);
my $node = store_node('store_fill_too_large', redis_primary => "127.0.0.1:$port",
    cache_use_l1 => 'off', redis_timeout_ms => 10000, redis_max_value_bytes => '64MB');

# 70 MB of output (its jsonb datum), over the 64 MB limit; and a small value put in Redis only.
$node->safe_psql('postgres', q{
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
VALUES ('m', 1, '{"x": "big"}', jsonb_build_object('s', repeat('y', 70 * 1024 * 1024)),
        ai_scale.input_hash('{"x": "big"}'));
SELECT ai_scale.cache_put('m', 1, '{"x": "small"}', '{"score": 1}');
});

is($node->safe_psql('postgres', q{
SELECT pg_column_size(ai_scale.cache_get('m', 1, '{"x": "big"}')) > 64 * 1024 * 1024;
}), 't', 'the store answers the output over 64 MB');

# The size of the largest value Redis holds.
sub largest_in_redis {
    return `redis-cli -p $port --bigkeys 2>/dev/null` =~ /Biggest string found .* has (\d+) bytes/
      ? $1 : 0;
}
cmp_ok(largest_in_redis(), '<', 64 * 1024 * 1024, 'Redis holds no value over 64 MB');

# Read again, strict: before, the GET was refused (08006); the MGET of both keys too.
my ($ret, $out, $err) = $node->psql('postgres', q{
SET ai_scale.cache_strict = on;
SELECT ai_scale.reset_stats();
SELECT pg_column_size(ai_scale.cache_get('m', 1, '{"x": "big"}')) > 64 * 1024 * 1024;
SELECT (ai_scale.cache_get_many('m', 1, ARRAY['{"x": "big"}', '{"x": "small"}']::jsonb[]))[2];
SELECT metric, value FROM ai_scale.stats
 WHERE section = 'l2' AND metric IN ('errors', 'hits', 'breaker_trips') ORDER BY metric;
});
is($ret, 0, 'strict reads of the key succeed') or diag($err);
is($out, qq{\nt\n{"score": 1}\nbreaker_trips|0\nerrors|0\nhits|1},
    'the big output is answered again, the small one from Redis, no L2 error');

# 2 MB of output: over the default ai_scale.redis_max_value_bytes, under the 64 MB the node
# runs with. Read with the default, it is answered and left out of Redis; then, read with 64 MB,
# written there.
$node->safe_psql('postgres', q{
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
VALUES ('m', 1, '{"x": "two"}', jsonb_build_object('s', repeat('t', 2 * 1024 * 1024)),
        ai_scale.input_hash('{"x": "two"}'));
});
is($node->safe_psql('postgres', q{
SET ai_scale.redis_max_value_bytes = '1MB';
SELECT pg_column_size(ai_scale.cache_get('m', 1, '{"x": "two"}')) > 2 * 1024 * 1024;
}), 't', 'the store answers the output over 1 MB');
cmp_ok(largest_in_redis(), '<', 1024 * 1024, 'Redis holds no value over 1 MB');
is($node->safe_psql('postgres', q{
SELECT pg_column_size(ai_scale.cache_get('m', 1, '{"x": "two"}')) > 2 * 1024 * 1024;
}), 't', 'the store answers it again, the setting raised');
cmp_ok(largest_in_redis(), '>', 2 * 1024 * 1024, 'and it is written to Redis');

$node->stop;
redis_stop('store_fill_too_large');
done_testing();
