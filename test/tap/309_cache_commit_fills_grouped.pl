# predict()'s fills at commit follow the settings of each call (cache_use_l1, the Redis it
# named). A transaction that alternated calls of two settings (plain predict() and one through
# a function with SET ai_scale.cache_use_l1 = off) sent a round trip of writes at each change:
# one key a round trip. The fills are grouped by settings now: a group's keys go in pieces of up
# to a thousand, one round trip each. Counted through hold_proxy.py, which notes each request
# that writes values.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $redis_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('fills_grouped', $redis_port);
my $proxy = hold_proxy_start($redis_port, 'count');
my $node = cache_node('fills_grouped', redis_primary => "127.0.0.1:$proxy->{port}",
    cache_use_l1 => 'on');
$node->safe_psql('postgres', q{
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('g_lin', 'linear', ARRAY['a'], '{"weights": [2], "bias": 0}');
CREATE FUNCTION predict_no_l1(j jsonb) RETURNS jsonb LANGUAGE sql
    SET ai_scale.cache_use_l1 = off AS $$ SELECT ai_scale.predict('g_lin', j) $$;
SELECT ai_scale.cache_get('g_lin', 1, '{}');  -- the model's generations, learned from Redis
CREATE ROLE g_no_store;
});

my $calls = join("\n", map {
    "SELECT ai_scale.predict('g_lin', '{\"a\": $_}');\nSELECT predict_no_l1('{\"a\": -$_}');"
} 1 .. 100);
unlink $proxy->{held};
$node->safe_psql('postgres', "BEGIN;\n$calls\nCOMMIT;");
my $writes = 0;
$writes = () = slurp_file($proxy->{held}) =~ /\n/g if -e $proxy->{held};
ok($writes >= 2 && $writes <= 10,
    "200 fills of two settings alternating go to Redis in a few round trips ($writes)");
is( $node->safe_psql('postgres', q{
SET ai_scale.cache_use_l1 = off;
SET ROLE g_no_store; -- may not read the store: Redis alone answers
SELECT count(*) FROM generate_series(1, 100) a
 WHERE ai_scale.cache_get('g_lin', 1, jsonb_build_object('a', a)) IS NOT NULL
   AND ai_scale.cache_get('g_lin', 1, jsonb_build_object('a', -a)) IS NOT NULL}),
    '100', 'all 200 are in Redis');

done_testing();
