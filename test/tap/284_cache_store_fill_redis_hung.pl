# A call answered by the store (L3) writes nothing to a Redis that its own read found hung: the
# fill's SET waited for that Redis once more, so that a cache_get answered by the store took two
# timeouts (and counted two failures toward the breaker) where one the store missed took one.
# Counted by l2 / errors, not timed: while Redis is paused (CLIENT PAUSE ALL), a call the store
# answers counts as many Redis failures as one it misses, in cache_get and cache_get_many.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;
use Time::HiRes qw(sleep);

my $r_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('hung', $r_port);
# Breakers open only after many failures, so that every call here asks Redis.
my $node = store_node('store_fill_hung', cache_use_l1 => 'off', redis_timeout_ms => '200',
    breaker_failures => '100', redis_primary => "127.0.0.1:$r_port");
$node->safe_psql('postgres', q{
INSERT INTO model_predictions (model_name, model_version, input_data, output_data, input_hash)
VALUES ('hung', 1, '{"x": 1}', '{"score": 1}', ai_scale.input_hash('{"x": 1}'));
});
my $s = $node->background_psql('postgres');
# The model's generations learned while Redis answers (a key made with one not learned is not
# looked up in Redis at all).
$s->query_safe(q{SELECT ai_scale.cache_put('hung', 1, '{"x": 0}', '{"score": 0}')});
# Paused for long enough for the calls below (about 7 s), not longer: CLIENT UNPAUSE is itself
# held by a pause of ALL, and the end of the test waits for the pause to end.
is(`redis-cli -p $r_port client pause 15000 all`, "OK\n", 'Redis paused');

# The l2 errors one call counts. A call also reads the model's generations from Redis when
# their last sync is a second old (docs/cache.md, Invalidation), a failure more: each call waits
# past that second first, so that every call compared counts that read (CI's slower machine made
# the sync due in one call of a pair and not the other).
sub errors_of {
    my ($call) = @_;
    sleep(1.1);
    $s->query_safe('SELECT ai_scale.reset_stats()');
    my $out = $s->query_safe("SELECT $call");
    my $errors = $s->query_safe(
        q{SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors'});
    return ($out, $errors);
}
my ($miss, $miss_errors) = errors_of(q{ai_scale.cache_get('hung', 1, '{"x": 2}') IS NULL});
my ($hit, $hit_errors) = errors_of(q{ai_scale.cache_get('hung', 1, '{"x": 1}') ->> 'score'});
is($miss, 't', 'an input the store does not hold is a miss');
is($hit, '1', 'the store answers the one it holds, Redis hung');
cmp_ok($miss_errors, '>', 0, 'the read counted Redis failing');
is($hit_errors, $miss_errors,
    'the answer from the store counted no more failures: its fill did not wait for Redis');
my ($many_miss, $many_miss_errors) = errors_of(
    q{ai_scale.cache_get_many('hung', 1, ARRAY['{"x": 2}', '{"x": 3}']::jsonb[])});
my ($many_hit, $many_hit_errors) = errors_of(
    q{ai_scale.cache_get_many('hung', 1, ARRAY['{"x": 1}', '{"x": 3}']::jsonb[])});
is($many_hit, '{"{\"score\": 1}",NULL}', 'a batch: the store answers what it holds');
cmp_ok($many_miss_errors, '>', 0, 'Redis still hung for the batches');
is($many_hit_errors, $many_miss_errors, 'and counts no more failures than a batch it misses');

$s->quit;
$node->stop;
redis_stop('hung');
done_testing();
