# A switchover while the extension runs: the primary stops cleanly, its hot standby is promoted
# with a session still connected, and the former primary comes back as a standby of it. The
# predictions the primary accepted in async mode reach the promoted server through WAL; the
# maintenance launcher starts there by itself at promotion (retention and premake, no restart);
# the session opened before promotion stores nothing while a standby and stores afterwards,
# sync and async; the former primary, now a standby, runs no ai_scale worker, writes nothing
# and logs no error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $redis = $ENV{AI_SCALE_TEST_REDIS_PRIMARY}
  or plan skip_all => 'no Redis from test/run.sh';

my $old = PostgreSQL::Test::Cluster->new('switch_old');
$old->init(allows_streaming => 1);
$old->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.redis_primary = '$redis'
ai_scale.redis_timeout_ms = 10000
ai_scale.maintenance_naptime = 1
});
$old->start;
# Past the retention, and one day short of premake: for the promoted server's worker to fix.
$old->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store(premake => 3, retention => '5 days');
CREATE TABLE public.model_predictions_2020 PARTITION OF public.model_predictions
  FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2], "bias": 1}');
});
my $last = $old->safe_psql('postgres', q{
SELECT partition FROM ai_scale.partitions('model_predictions') WHERE tier = 'hot'
 ORDER BY lower::timestamptz DESC LIMIT 1});
$old->safe_psql('postgres', "DROP TABLE $last");
$old->backup('base');

# The maintenance worker runs on the standby's settings only once it is promoted.
my $new = PostgreSQL::Test::Cluster->new('switch_new');
$new->init_from_backup($old, 'base', has_streaming => 1);
$new->append_conf('postgresql.conf', "ai_scale.maintenance_databases = 'postgres'\n");
$new->start;

sub stored {
    my ($node, $b) = @_;
    return $node->safe_psql('postgres',
        "SELECT count(*) FROM public.model_predictions WHERE (input_data ->> 'b')::int = $b");
}

sub workers {
    my ($node) = @_;
    return $node->safe_psql('postgres',
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'ai_scale%'");
}

# A session on the standby, kept open across the promotion.
my $session = $new->background_psql('postgres');
is($session->query_safe('SELECT ai_scale.node_role()'), 'standby', 'the session starts on a standby');
$session->query_safe('SET ai_scale.store_mode = async');
is($session->query_safe(q{SELECT ai_scale.predict('m', '{"a": 1, "b": 1}') ->> 'source'}), 'cpu',
    'it scores on the standby');
$session->query_safe(q{SELECT ai_scale.cache_put('m', 1, '{"a": 2, "b": 1}', '{"x": 1}')});
is(workers($new), '0', 'no ai_scale worker on the standby');

# Async predictions on the primary, then a clean stop: the store worker writes its queue before
# the shutdown checkpoint, which the standby receives.
$old->safe_psql('postgres', q{
SET ai_scale.store_mode = async;
SELECT count(ai_scale.predict('m', jsonb_build_object('a', i, 'b', 2))) FROM generate_series(1, 500) i;
});
$old->stop('fast');
$new->promote;
$new->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby did not finish promotion';
is(stored($new, 2), '500', 'every async prediction the old primary accepted is on the promoted server');
is(stored($new, 1), '0', 'nothing the session predicted as a standby was stored');

ok($new->poll_query_until('postgres',
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance'"),
    'the maintenance worker starts at promotion');
ok($new->poll_query_until('postgres',
        "SELECT count(*) = 0 FROM pg_class WHERE relname = 'model_predictions_2020'"),
    'it drops the partition past retention');
ok($new->poll_query_until('postgres', "SELECT count(*) > 0 FROM pg_class WHERE relname = '$last'"),
    'and makes the one premake was missing');

is($session->query_safe('SELECT ai_scale.node_role()'), 'primary', 'the session sees a primary');
$session->query_safe(q{SELECT ai_scale.predict('m', '{"a": 3, "b": 3}')});
ok($new->poll_query_until('postgres', "SELECT count(*) = 1 FROM public.model_predictions "
          . "WHERE (input_data ->> 'b')::int = 3"),
    'its async prediction is stored by a store worker');
$session->query_safe('SET ai_scale.store_mode = sync');
$session->query_safe(q{SELECT ai_scale.predict('m', '{"a": 4, "b": 4}')});
is(stored($new, 4), '1', 'and a sync one in its transaction');
is($session->query_safe(q{SELECT ai_scale.cache_get('m', 1, '{"a": 2, "b": 1}')}), '{"x": 1}',
    'what it cached as a standby is still served');
$session->quit;

# The former primary back as a standby of the promoted one (it stopped cleanly, with nothing
# the promoted server lacks): the launcher does not start, nothing is written, no error.
$old->append_conf('postgresql.conf', "ai_scale.maintenance_databases = 'postgres'\n");
$old->enable_streaming($new);
my $log_offset = -s $old->logfile;
$old->start;
$new->wait_for_catchup($old);
is($old->safe_psql('postgres', 'SELECT ai_scale.node_role()'), 'standby', 'the former primary is a standby');
my ($ret, $out, $err) = $old->psql('postgres', q{
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('m', '{"a": 5, "b": 5}') ->> 'source';
SELECT ai_scale.predict_batch('m', ARRAY['{"a": 6, "b": 5}', '{"a": 7, "b": 5}']::jsonb[]) IS NOT NULL;
SET ai_scale.store_mode = sync;
SELECT ai_scale.predict('m', '{"a": 8, "b": 5}') ->> 'source';
SELECT ai_scale.cache_put('m', 1, '{"a": 9, "b": 5}', '{"x": 2}');
});
is($ret, 0, 'predict and the cache work there') or diag($err);
sleep 3;    # three naptimes
is(workers($old), '0', 'no ai_scale worker on it');
is(stored($old, 5), '0', 'nothing stored');
$new->safe_psql('postgres', 'SELECT 1');
is(stored($new, 5), '0', 'nor on the primary');
unlike(slurp_file($old->logfile, $log_offset), qr/ERROR|WARNING|ai_scale (maintenance|store)/,
    'no error, warning or ai_scale worker in its log');

$old->stop;
$new->stop;
done_testing();
