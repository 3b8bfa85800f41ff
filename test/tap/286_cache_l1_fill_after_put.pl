# A fill of L1 from Redis kept a value L1 held (a put made since the lookup missed is newer),
# but a put whose output L1 does not take (larger than ai_scale.l1_max_value_bytes, from a
# session with cache_use_l1 off, or cancelled) only removes the key from L1. A lookup that had
# read the old value from Redis before that put then stored it back in L1, which served it, for
# up to its ttl, while Redis held the new one. A fill now stores nothing where L1 changed since
# its lookup missed. The lookup's reply from Redis is held back here by a proxy
# (test/tap/hold_proxy.py) while the put is made.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('fill_after_put', $port);
my $proxy = hold_proxy_start($port);

my $node = cache_node('fill_after_put', redis_primary => "127.0.0.1:$port", cache_use_l1 => 'on');

# A lookup of input a, begun before put (a put of a's new value that L1 does not take), must
# answer the old value and leave L1 without it.
sub fill_across_put {
    my ($a, $put, $what) = @_;
    my $get = qq{SELECT coalesce(ai_scale.cache_get('m', 1, '{"a": $a}') ->> 'v', 'miss')};
    # What this server's L1 holds: with no Redis, and no store, a lookup reads L1 alone.
    my $in_l1 = "SET ai_scale.redis_primary = ''; $get";

    # The old value in Redis and not in L1: a put, then the same put from a session with L1
    # off, which removes the key from L1.
    $node->safe_psql('postgres', qq{SELECT ai_scale.cache_put('m', 1, '{"a": $a}', '{"v": "old"}')});
    is($node->safe_psql('postgres', $in_l1), 'old', "$what: a put stores the value in L1");
    $node->safe_psql('postgres', qq{
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.cache_put('m', 1, '{"a": $a}', '{"v": "old"}');});
    is($node->safe_psql('postgres', $in_l1), 'miss', "$what: a put from a session with L1 off removes it");

    # A lookup reads it from Redis, through the proxy, which holds its reply back.
    my ($reader, $held) = lookup_held($node, $proxy, $get);
    ok($held, "$what: the lookup missed L1 and Redis answered it the old value");

    # Meanwhile the put replaces it: in Redis alone.
    $node->safe_psql('postgres', $put);
    release_held($proxy);
    like($reader->query_safe('SELECT 1'), qr/^old$/m,
        "$what: the lookup, begun before the put, answers the old value");
    $reader->quit;

    is($node->safe_psql('postgres', $in_l1), 'miss', "$what: and has not stored it back in L1");
    is($node->safe_psql('postgres', $get), 'new', "$what: the new value is answered from Redis");
}

fill_across_put(1, q{
SELECT ai_scale.cache_put('m', 1, '{"a": 1}',
                          jsonb_build_object('v', 'new', 'pad', repeat('x', 4000)));},
    'a value larger than L1 takes');
fill_across_put(2, q{
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.cache_put('m', 1, '{"a": 2}', '{"v": "new"}');},
    'a put from a session with L1 off');

$node->stop;
redis_stop('fill_after_put');
done_testing();
