# predict() on a primary and its streaming hot standby, both preloading ai_scale and sharing the
# Redis primary and replica test/run.sh started: the primary scores, stores and caches; the
# standby answers the same input from Redis without scoring; a new input on the standby is
# scored and cached in Redis but never written; the functions that must write raise 25006 on
# the standby; a standby session follows the primary's catalog changes; after promotion the
# former standby stores again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my ($primary, $standby) = primary_and_standby('predict');

$primary->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('tap_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2], "bias": 0.5}');
CREATE ROLE tap_no_store;
});
$primary->wait_for_catchup($standby);

sub stored {
    my ($node, $input) = @_;
    return $node->safe_psql('postgres',
        "SELECT count(*) FROM public.model_predictions WHERE input_data = '$input'");
}

sub stat_value {
    my ($node, $section, $metric) = @_;
    return $node->safe_psql('postgres',
        "SELECT value FROM ai_scale.stats WHERE section = '$section' AND metric = '$metric'");
}

# Redis replication from its primary to its replica is asynchronous: wait until the replica has
# the key of (model, version, input), as cache_get with L1 off and L3 out of reach would see it
# (as a role that may not read the store: a store_table naming none would be another cache).
sub wait_for_redis_replica {
    my ($node, $input) = @_;
    for (1 .. 100) {
        my $hit = $node->safe_psql('postgres', qq{
SET ai_scale.cache_use_l1 = off;
SET ROLE tap_no_store;
SELECT ai_scale.cache_get('tap_lin', 1, '$input') IS NOT NULL});
        return 1 if $hit eq 't';
        select(undef, undef, undef, 0.1);
    }
    return 0;
}

# On the primary: scored, stored and cached.
is($primary->safe_psql('postgres', q{SELECT ai_scale.predict('tap_lin', '{"a": 1, "b": 2}') ->> 'source'}),
    'cpu', 'primary scores a new input');
is(stored($primary, '{"a": 1, "b": 2}'), '1', 'and stores it');
is($primary->safe_psql('postgres', q{SELECT ai_scale.predict('tap_lin', '{"a": 1, "b": 2}') ->> 'source'}),
    'l1', 'then answers it from its L1');
$primary->wait_for_catchup($standby);
is(stored($standby, '{"a": 1, "b": 2}'), '1', 'the stored row reached the standby through WAL');

# On the standby: the same input comes from Redis, without scoring.
ok(wait_for_redis_replica($standby, '{"a": 1, "b": 2}'), 'the Redis replica has the key');
$standby->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');
is($standby->safe_psql('postgres', q{SELECT ai_scale.predict('tap_lin', '{"a": 1, "b": 2}')}),
    '{"model": "tap_lin", "score": 5.5, "source": "l2", "version": 1}',
    'standby serves the primary\'s prediction from Redis');
is(stat_value($standby, 'scoring', 'rows_cpu'), '0', 'without scoring it');
is(stat_value($standby, 'l2', 'hits'), '1', 'one L2 hit counted on the standby');

# A new input on the standby: scored and cached in Redis, not written.
is($standby->safe_psql('postgres', q{SELECT ai_scale.predict('tap_lin', '{"a": 3, "b": 4}') ->> 'source'}),
    'cpu', 'standby scores a new input');
is(stat_value($standby, 'scoring', 'rows_cpu'), '1', 'one row scored on the standby');
is(stored($standby, '{"a": 3, "b": 4}'), '0', 'the standby does not store it');
is(stored($primary, '{"a": 3, "b": 4}'), '0', 'nor does anything reach the primary\'s store');
ok(wait_for_redis_replica($primary, '{"a": 3, "b": 4}'), 'the standby\'s prediction is in Redis');
is($primary->safe_psql('postgres', q{SELECT ai_scale.predict('tap_lin', '{"a": 3, "b": 4}') ->> 'source'}),
    'l2', 'the primary reads the standby\'s prediction from Redis');
is(stored($primary, '{"a": 3, "b": 4}'), '0', 'a cache hit is not stored again');
my ($ret, $out, $err) = $standby->psql('postgres', q{
SELECT ai_scale.predict_batch('tap_lin', ARRAY['{"a": 1, "b": 2}', '{"a": 5, "b": 6}']::jsonb[])});
is($ret, 0, 'predict_batch runs on the standby') or diag($err);
is(stored($standby, '{"a": 5, "b": 6}'), '0', 'and writes nothing there');

# The functions that must write raise 25006 on the standby: import_xgboost with a dump it
# would import, and set_active_version and drop_model with a version that is there.
my $dump = '{"learner": {"learner_model_param": {"base_score": "5E-1", "num_feature": "2"}, '
  . '"objective": {"name": "reg:squarederror"}, "gradient_booster": {"name": "gbtree", "model": '
  . '{"trees": [{"left_children": [-1], "right_children": [-1], "split_indices": [0], '
  . '"split_conditions": [1.5], "default_left": [0]}]}}}}';
for my $call (
    q{SELECT ai_scale.register_model('tap_lin', 'linear', ARRAY['a', 'b'], '{"weights": [3, 4]}')},
    qq{SELECT ai_scale.import_xgboost('tap_xgb', '$dump')},
    q{SELECT ai_scale.set_active_version('tap_lin', 1)},
    q{SELECT ai_scale.drop_model('tap_lin', 1)},
    q{SELECT ai_scale.run_maintenance()},
    q{SELECT ai_scale.create_prediction_store('public.other_store')})
{
    ($ret, $out, $err) = $standby->psql('postgres', "\\set VERBOSITY verbose\n$call");
    like($err, qr/ERROR:  25006:/, "25006 on the standby: $call");
    # Each says so in its own words (the catalog's functions said "cannot execute LOCK TABLE
    # during recovery" or "cannot execute DELETE in a read-only transaction").
    like($err, qr/cannot run \w+ on a hot standby/, "named as such: $call");
}

# A standby session keeps the models it compiled until the catalog changes on the primary:
# the change arrives through WAL, and its next score uses the new version.
$primary->safe_psql('postgres',
    q{SELECT ai_scale.register_model('tap_std', 'linear', ARRAY['a'], '{"weights": [2]}')});
$primary->wait_for_catchup($standby);
my $session = $standby->background_psql('postgres');
is($session->query_safe(q{SELECT ai_scale.score('tap_std', '{"a": 3}')}), '6',
    'a standby session scores with the active version');
$primary->safe_psql('postgres',
    q{SELECT ai_scale.register_model('tap_std', 'linear', ARRAY['a'], '{"weights": [5]}')});
$primary->wait_for_catchup($standby);
is($session->query_safe(q{SELECT ai_scale.score('tap_std', '{"a": 3}')}), '15',
    'the same session scores with the version registered on the primary since');
$primary->safe_psql('postgres', q{SELECT ai_scale.set_active_version('tap_std', 1)});
$primary->wait_for_catchup($standby);
is($session->query_safe(q{SELECT ai_scale.score('tap_std', '{"a": 3}')}), '6',
    'and with the version the primary made active again');
$session->quit;

# Promotion: node_role() flips and predict() stores again.
is($standby->safe_psql('postgres', 'SELECT ai_scale.node_role()'), 'standby', 'standby before promotion');
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby did not finish promotion';
is($standby->safe_psql('postgres', 'SELECT ai_scale.node_role()'), 'primary', 'primary after promotion');
is($standby->safe_psql('postgres', q{SELECT ai_scale.predict('tap_lin', '{"a": 7, "b": 8}') ->> 'source'}),
    'cpu', 'the promoted server scores a new input');
is(stored($standby, '{"a": 7, "b": 8}'), '1', 'and stores it');
is($standby->safe_psql('postgres',
    q{SELECT ai_scale.register_model('tap_lin', 'linear', ARRAY['a', 'b'], '{"weights": [3, 4]}')}),
    '2', 'register_model writes after promotion');

# store_mode = async: what predict() accepted reaches the store across a clean shutdown (the
# store worker writes what is left in its queue when it is told to stop).
$primary->safe_psql('postgres', q{
SET ai_scale.store_mode = async;
SELECT ai_scale.predict_batch('tap_lin', array_agg(jsonb_build_object('a', i, 'b', 9)))
FROM generate_series(1, 3000) i;
SELECT count(ai_scale.predict('tap_lin', jsonb_build_object('a', i, 'b', 10)))
FROM generate_series(1, 500) i;
});
$primary->stop('fast');
like(slurp_file($primary->logfile), qr/ai_scale store worker for database "postgres" stopping; wrote the \d+ queued predictions? left/,
    'the store worker drained its queue at shutdown');
$primary->start;
is($primary->safe_psql('postgres',
    q{SELECT count(*) FROM public.model_predictions WHERE (input_data ->> 'b')::int IN (9, 10)}),
    '3500', 'every prediction accepted in async mode is stored after a clean shutdown');

done_testing();
