# The cache fills predict() leaves for its transaction's commit run where Postgres holds
# interrupts. Against a Redis that does not answer, a cancel or pg_terminate_backend during
# them used to wait for each fill's whole redis_timeout_ms, one round trip after another until
# the breaker opened (breaker_failures x redis_timeout_ms: five minutes here). Now the wait is
# given up at once: the commit stands (its rows are stored), the fills left are not made (the
# commit's WARNING says why), a cancelled session goes on, a terminated one ends, and neither
# counts as a failure of the endpoint.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = cache_node('commit_fills');
$node->safe_psql('postgres', q{
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('cf_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
});

# A Redis, and a proxy to it that holds back the replies to the writes of values while its hold
# file exists: to the commit, a Redis that does not answer. (The fills follow the settings of
# the call, so the primary must be the same at the call and at the commit.) The model's
# generations are learned first: keys made with generations never read from Redis stay out of
# it (docs/cache.md, Invalidation), and their fills at commit would not wait.
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('commit_fills', $redis_port);
my $proxy = hold_proxy_start($redis_port, 'writes');

# A session that has stored 6000 predictions (six round trips of fills) in a transaction, and
# now commits while Redis holds its writes back (waited for $timeout_ms a round trip, a minute
# by default; with L1 when $use_l1).
sub committing_session {
    my ($tag, $b, $timeout_ms, $use_l1) = @_;
    $timeout_ms //= 60000;
    my $l1 = $use_l1 ? 'on' : 'off';
    release_held($proxy);
    my $s = $node->background_psql('postgres', on_error_stop => 0);
    $s->query_safe(qq{SET application_name = '$tag';
SET ai_scale.cache_use_l1 = $l1;
SET ai_scale.redis_primary = '127.0.0.1:$proxy->{port}';
SELECT ai_scale.cache_get('cf_lin', 1, '{}');
BEGIN;
SELECT cardinality(ai_scale.predict_batch('cf_lin', ARRAY(SELECT jsonb_build_object('a', g, 'b', $b)
                                                         FROM generate_series(1, 6000) g)));
SET ai_scale.redis_timeout_ms = $timeout_ms;});
    open(my $fh, '>', $proxy->{hold}) or die "$proxy->{hold}: $!";
    close $fh;
    $s->query_until(qr/sent/, "\\echo sent\nCOMMIT;\n");
    $node->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = '$tag' AND state = 'active' AND query = 'COMMIT;'})
      or die "$tag never started committing";
    return $s;
}

sub stored {
    my ($b) = @_;
    return $node->safe_psql('postgres',
        "SELECT count(*) FROM model_predictions WHERE (input_data->>'b')::int = $b");
}

$node->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');

my $s = committing_session('cancel_fills', 1);
$node->safe_psql('postgres',
    q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'cancel_fills'});
my $out = $s->query(q{SELECT 'still here'});
like($s->{stderr}, qr/not cached: canceled while waiting for redis/,
    'a cancel gives up the fills at commit, and the WARNING says so');
unlike($s->{stderr}, qr/ERROR/, 'the COMMIT itself reports no error to the client');
is($out, 'still here', 'the session goes on');
is(stored(1), '6000', 'the commit stands');
$s->quit;

$s = committing_session('terminate_fills', 2);
$node->safe_psql('postgres',
    q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'terminate_fills'});
ok($node->poll_query_until('postgres',
    q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'terminate_fills'}),
    'pg_terminate_backend ends a backend making its fills at commit');
$s->{run}->finish;
is(stored(2), '6000', 'its commit stands too');

is($node->safe_psql('postgres',
    q{SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors'}),
    '0', 'neither counts as a failure of the endpoint');

# Not interrupted: after the first round trip of fills times out, the other five pieces go to
# L1 alone, without asking that Redis again. Each asked it, until the breaker opened: five
# timeouts (ai_scale.breaker_failures) and a trip, where a longer timeout makes minutes.
$s = committing_session('timed_out_fills', 3, 200, 1);
ok($node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity
WHERE application_name = 'timed_out_fills' AND state = 'active'}), 'the commit ends');
is(stored(3), '6000', 'and stands');
is($node->safe_psql('postgres', q{SELECT string_agg(metric || '=' || value, ' ' ORDER BY metric)
FROM ai_scale.stats WHERE section = 'l2' AND metric IN ('errors', 'breaker_trips')}),
    'breaker_trips=0 errors=1', 'one round trip timed out; the others were not sent');
$s->quit;
# Read where the session learned its generations, whose keys the fills were made with.
is($node->safe_psql('postgres', qq{SET ai_scale.cache_use_l1 = on;
SET ai_scale.redis_primary = '127.0.0.1:$redis_port';
SELECT ai_scale.cache_get('cf_lin', 1, '{"a": 6000, "b": 3}') IS NOT NULL;
SELECT value FROM ai_scale.stats WHERE section = 'l1' AND metric = 'hits';}), "t\n1",
    'the last piece went to L1');

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|server process .* was terminated by signal/, 'no crash');

release_held($proxy);
$node->stop;
redis_stop('commit_fills');
done_testing();
