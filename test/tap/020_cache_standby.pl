# The cache on a primary and a hot standby that share the Redis servers test/run.sh started:
# node_role() tells them apart, every cache function works on the standby (L1 and Redis are
# written, tables never), a put on one server is a Redis hit on the other, the store is read as
# L3 on the standby, and two databases never see each other's keys.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my ($primary, $standby) = primary_and_standby('cache');

$primary->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE public.model_predictions (
    prediction_id uuid NOT NULL DEFAULT gen_random_uuid(),
    model_name text NOT NULL, model_version int NOT NULL,
    input_data jsonb NOT NULL, output_data jsonb, input_hash bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (created_at);
CREATE TABLE public.model_predictions_default PARTITION OF public.model_predictions DEFAULT;
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
VALUES ('tap_store', 1, '{"s": 1}', '{"from": "store"}', ai_scale.input_hash('{"s": 1}'));
CREATE DATABASE other;
});
$primary->safe_psql('other', 'CREATE EXTENSION ai_scale');
$primary->wait_for_catchup($standby);

is($primary->safe_psql('postgres', 'SELECT ai_scale.node_role()'), 'primary', 'primary says primary');
is($standby->safe_psql('postgres', 'SELECT ai_scale.node_role()'), 'standby', 'standby says standby');

# Waits until the Redis replica, which serves the reads, has what was put on the primary.
sub replicated {
    redis_replica_caught_up($ENV{AI_SCALE_TEST_REDIS_PRIMARY}, $ENV{AI_SCALE_TEST_REDIS_REPLICA})
      or die 'the Redis replica did not catch up with its primary';
}

# L2 hits are counted per server; the stats are reset before each read.
sub l2_hits {
    my ($node) = @_;
    return $node->safe_psql('postgres',
        q{SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'hits'});
}

# A put on the primary is a Redis hit on the standby (its own L1 is empty).
$primary->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('tap_model', 1, '{"a": 1}', '{"p": 0.5}')});
replicated();
$standby->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');
is($standby->safe_psql('postgres', q{SELECT ai_scale.cache_get('tap_model', 1, '{"a": 1}')}),
    '{"p": 0.5}', 'standby reads what the primary put');
is(l2_hits($standby), '1', 'served by Redis on the standby');
$standby->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');
$standby->safe_psql('postgres', q{SELECT ai_scale.cache_get('tap_model', 1, '{"a": 1}')});
is($standby->safe_psql('postgres',
    q{SELECT value FROM ai_scale.stats WHERE section = 'l1' AND metric = 'hits'}),
    '1', 'and then by the standby\'s own L1');

# Every cache function works on the standby; its puts reach the primary through Redis.
my ($ret, $out, $err) = $standby->psql('postgres', q{
SELECT ai_scale.cache_put('tap_model', 1, '{"a": 2}', '{"p": 0.75}');
SELECT ai_scale.cache_get_many('tap_model', 1, ARRAY['{"a": 1}', '{"a": 2}', '{"a": 3}']::jsonb[]);
SELECT ai_scale.cache_invalidate('tap_model', 2);
SELECT count(*) FROM ai_scale.redis_status() WHERE breaker = 'closed';
});
is($ret, 0, 'cache functions run on the standby without error') or diag($err);
like($out, qr/\{"\{\\"p\\": 0\.5\}","\{\\"p\\": 0\.75\}",NULL\}/, 'batch get on the standby');
like($out, qr/^2$/m, 'both Redis endpoints healthy from the standby');
replicated();
$primary->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');
is($primary->safe_psql('postgres', q{SELECT ai_scale.cache_get('tap_model', 1, '{"a": 2}')}),
    '{"p": 0.75}', 'primary reads what the standby put');
is(l2_hits($primary), '1', 'through Redis');

# L3 on the standby: read from the replicated store, written back to Redis, nothing written
# to tables (the standby would refuse).
$standby->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');
is($standby->safe_psql('postgres', q{SELECT ai_scale.cache_get('tap_store', 1, '{"s": 1}')}),
    '{"from": "store"}', 'standby serves a store hit');
is($standby->safe_psql('postgres',
    q{SELECT value FROM ai_scale.stats WHERE section = 'l3' AND metric = 'hits'}),
    '1', 'from L3');
replicated();
$primary->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');
is($primary->safe_psql('postgres', q{SELECT ai_scale.cache_get('tap_store', 1, '{"s": 1}')}),
    '{"from": "store"}', 'the standby\'s L3 hit was written back to Redis');
is(l2_hits($primary), '1', 'primary got it from Redis, not from its store');

# An invalidation on the primary reaches the standby (generations shared through Redis, synced
# at most once a second), also dropping what the standby holds in its own L1.
$primary->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('tap_inv', 1, '{"a": 1}', '{"v": "old"}')});
replicated();
is($standby->safe_psql('postgres', q{SELECT ai_scale.cache_get('tap_inv', 1, '{"a": 1}')}),
    '{"v": "old"}', 'standby has the entry (now in its L1 too)');
$primary->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('tap_inv')});
# The new generation reaches the Redis replica, then the standby, which syncs it at most once a
# second: polled for, not slept for (two seconds were also the replica's time to catch up).
replicated();
ok($standby->poll_query_until('postgres',
        q{SELECT ai_scale.cache_get('tap_inv', 1, '{"a": 1}') IS NULL}),
    'invalidation on the primary reached the standby');
$primary->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('tap_inv', 1, '{"a": 1}', '{"v": "new"}')});
replicated();
is($standby->safe_psql('postgres', q{SELECT ai_scale.cache_get('tap_inv', 1, '{"a": 1}')}),
    '{"v": "new"}', 'both servers agree on the new generation');

# Databases are separate namespaces even on one Redis.
$primary->safe_psql('postgres',
    q{SELECT ai_scale.cache_put('tap_db', 1, '{"a": 1}', '{"db": "postgres"}')});
is($primary->safe_psql('other', q{SELECT ai_scale.cache_get('tap_db', 1, '{"a": 1}') IS NULL}),
    't', 'another database does not see the key');
$primary->safe_psql('other',
    q{SELECT ai_scale.cache_put('tap_db', 1, '{"a": 1}', '{"db": "other"}')});
is($primary->safe_psql('postgres', q{SELECT ai_scale.cache_get('tap_db', 1, '{"a": 1}')}),
    '{"db": "postgres"}', 'and does not overwrite it');
is($primary->safe_psql('other', q{SELECT ai_scale.cache_get('tap_db', 1, '{"a": 1}')}),
    '{"db": "other"}', 'each database reads its own');

$standby->stop;
$primary->stop;
done_testing();
