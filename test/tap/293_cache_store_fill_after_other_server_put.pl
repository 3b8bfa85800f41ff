# A lookup on a standby misses Redis and then finds the store's row; meanwhile its primary, which
# shares its keys in Redis, puts a newer output for the input. The lookup answers the store's row,
# but its fill of Redis finds the put there (SET NX: held) and then leaves the standby's L1 alone:
# L1 filled with the store's row would have answered it here for its whole ttl, where Redis and
# the primary answer the put. A put from the same server is caught another way (L1 changed since
# the lookup missed), and two unrelated servers share no keys: only two servers of one cluster
# reach this rule, and no test had them do it. The lookup's reply from Redis is held back by a
# proxy (test/tap/hold_proxy.py) while the primary puts.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('store_fill_held', $port);
my $proxy = hold_proxy_start($port);

my ($primary, $standby) =
  primary_and_standby('store_fill_held', "ai_scale.redis_primary = '127.0.0.1:$port'\n");
$primary->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
VALUES ('m', 1, '{"a": 1}', '{"v": "store"}', ai_scale.input_hash('{"a": 1}'));});
$primary->wait_for_catchup($standby);

my $get = q{SELECT coalesce(ai_scale.cache_get('m', 1, '{"a": 1}') ->> 'v', 'miss')};
# What the standby's L1 holds: with no Redis, and no store, a lookup reads L1 alone.
my $in_l1 = "SET ai_scale.redis_primary = ''; SET ai_scale.store_table = ''; $get";

# The standby's lookup reads Redis through the proxy, which holds the reply (a miss) back.
my ($reader, $held) = lookup_held($standby, $proxy, $get);
ok($held, "the standby's lookup missed Redis, its reply held");
$primary->safe_psql('postgres', q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"v": "new"}')});
release_held($proxy);
like($reader->query_safe('SELECT 1'), qr/^store$/m, "the lookup answers the store's row");
$reader->quit;
is($standby->safe_psql('postgres', $in_l1), 'miss',
    "the standby's L1 was left alone: Redis held the primary's newer put");
is($standby->safe_psql('postgres', $get), 'new', 'the standby answers the put');
is($primary->safe_psql('postgres', $get), 'new', 'as the primary does');

$standby->stop;
$primary->stop;
redis_stop('store_fill_held');
done_testing();
