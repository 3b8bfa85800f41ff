# A writing transaction's commit makes its invalidations again (docs/cache.md, Invalidation),
# one Redis round trip a model. With Redis holding its writes (CLIENT PAUSE ... WRITE, as in a
# failover) the commit asked it for each model and waited a timeout each: 15 s for 12 models at
# redis_timeout_ms = 1000, which no statement_timeout bounds (Postgres disarms it before the
# commit), while other sessions' reads, which Redis still answered, kept the breaker closed.
# Now one bump Redis did not take leaves the others to the next sync without asking: the
# commit asks Redis once (one error counted, not one a model), and every invalidation holds.
# Nor does a commit send the bumps other commits left marked (the once-a-second recheck sent
# each its own INCRBY first: 5 s for one model at 1000 ms; the recheck now stops at the first
# Redis does not answer), nor ask Redis again for its
# invalidations after the predictions it stored were not cached there (a timeout each); and
# with cache_strict a bump Redis failed is made on this server. Nor does a backend send a write
# for the rest of a statement (a second at most) in which one Redis did not answer (each call of
# a statement over rows waited); the next statement writes again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('commit_bumps', $port);
my $node = cache_node('commit_bumps', redis_primary => "127.0.0.1:$port");
$node->safe_psql('postgres', 'CREATE TABLE changes (n int)');

my $models = 4; # below ai_scale.breaker_failures (5): the breaker stays closed throughout
my $cached = qq{SELECT string_agg(coalesce(ai_scale.cache_get('m' || g, 1, '{"a": 1}')::text,
'miss'), ' ' ORDER BY g) FROM generate_series(1, $models) g};

my $s = $node->background_psql('postgres', on_error_stop => 0);
# (A timeout of a second: past the recheck of marked bumps, at most once a second, which sent
# them again before each bump left to the next sync, a timeout each, until it was skipped there.)
$s->query_safe(qq{SET ai_scale.redis_timeout_ms = 1000;
BEGIN;
INSERT INTO changes VALUES (1);
SELECT ai_scale.cache_invalidate('m' || g, 1) FROM generate_series(1, $models) g;});
# What another session caches meanwhile, from the data as it was before the change, is what
# the commit's bumps make unreachable.
$node->safe_psql('postgres', qq{SELECT ai_scale.cache_put('m' || g, 1, '{"a": 1}', '"during"')
FROM generate_series(1, $models) g});
is($node->safe_psql('postgres', $cached), join(' ', ('"during"') x $models),
    'another session caches values during the transaction');
$s->query_safe('SELECT ai_scale.reset_stats()');
my $before_commit = generation_counters($port);
system('redis-cli', '-p', $port, 'CLIENT', 'PAUSE', '20000', 'WRITE') == 0
  or die 'CLIENT PAUSE failed';
$s->query_safe('COMMIT');
my $errors = $s->query_safe(
    q{SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors'});
is($errors + 0, 1, 'the commit asked Redis once, not once a model');
system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';
$s->quit;

is($node->safe_psql('postgres', 'SELECT count(*) FROM changes'), '1', 'the commit stands');
is($node->safe_psql('postgres', $cached), join(' ', ('miss') x $models),
    'every value cached during the transaction is unreachable after the commit');
# The bumps Redis did not take reach it at this server's next sync (at most a second after the
# last): a server that had no part in them, reading the generations from Redis, misses too.
# (Read in Redis itself: another cluster keys its counters apart, and missed anyway.)
$node->safe_psql('postgres', "SELECT pg_sleep(1.1); $cached");
cmp_ok(counters_raised($before_commit, generation_counters($port)), '>=', $models,
    'and the counter of each model invalidated is raised in Redis');

# Errors counted in the l2 section since the last reset_stats().
sub l2_errors {
    my ($session) = @_;
    return $session->query_safe(
        q{SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors'}) + 0;
}

# Opens in $session a transaction that writes (row $n of changes) and invalidates the models.
sub invalidations_to_commit {
    my ($session, $n) = @_;
    $session->query_safe(qq{SET ai_scale.redis_timeout_ms = 1000;
BEGIN;
INSERT INTO changes VALUES ($n);
SELECT ai_scale.cache_invalidate('m' || g, 1) FROM generate_series(1, $models) g;});
}

sub pause_writes {
    system('redis-cli', '-p', $port, 'CLIENT', 'PAUSE', '20000', 'WRITE') == 0
      or die 'CLIENT PAUSE failed';
}

# Lets Redis take writes again, waits for the breaker to close (it opened where the build
# asked Redis a timeout too often), and a second later makes a cache call, whose recheck sends
# the bumps left marked: each part below starts alike.
sub unpause {
    system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';
    $node->poll_query_until('postgres', q{SELECT ai_scale.cache_get('probe', 1, '{}') IS NULL
AND NOT EXISTS (SELECT 1 FROM ai_scale.redis_status() WHERE breaker <> 'closed')})
      or die 'the breaker stayed open';
    $node->safe_psql('postgres', q{SELECT pg_sleep(1.1);
SELECT ai_scale.cache_get('probe', 1, '{}')});
}

# One commit leaves its bumps marked; another, a second later, sends none of them.
my $marks = $node->background_psql('postgres', on_error_stop => 0);
my $later = $node->background_psql('postgres', on_error_stop => 0);
$later->query_safe(q{SET ai_scale.redis_timeout_ms = 1000;
BEGIN;
INSERT INTO changes VALUES (2);
SELECT ai_scale.cache_invalidate('m9', 1);});
invalidations_to_commit($marks, 3);
pause_writes();
$marks->query_safe('COMMIT');
$later->query_safe('SELECT pg_sleep(1.1); SELECT ai_scale.reset_stats()');
$later->query_safe('COMMIT');
is(l2_errors($later), 1, 'a commit asks Redis for its own bump alone, not the ones left marked');
# A cache call a second later runs the recheck of the marked bumps: after the first INCRBY Redis
# does not answer, the others wait for the next recheck (each waited a timeout of its own, until
# the breaker opened).
$later->query_safe(q{SELECT pg_sleep(1.1); SELECT ai_scale.reset_stats();
SELECT ai_scale.cache_get('m1', 1, '{"a": 1}')});
is(l2_errors($later), 1, 'the recheck of the marked bumps asks Redis once');
unpause();
$marks->quit;
$later->quit;

# A strict call asks Redis for its own bump after the recheck got no answer, and fails: skipped,
# it returned as if made while Redis never took it.
my $marker = $node->background_psql('postgres', on_error_stop => 0);
invalidations_to_commit($marker, 6);
pause_writes();
$marker->query_safe('COMMIT');
$marker->quit;
my $strict_call = $node->background_psql('postgres', on_error_stop => 0);
$strict_call->query(q{SET ai_scale.redis_timeout_ms = 1000; SET ai_scale.cache_strict = on;
SELECT pg_sleep(1.1); SELECT ai_scale.cache_invalidate('x', 1);});
like($strict_call->{stderr}, qr/redis is unavailable for the L2 cache/,
    'a strict invalidation after the recheck got no answer asks Redis, and fails');
unpause();
$strict_call->quit;

# The predictions a transaction stored and its invalidations: one round trip Redis did not
# answer, for both, whichever the session began with (its commit then writes them first); and a
# later commit asks Redis again.
$node->safe_psql('postgres', q{SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('p', 'linear', ARRAY['a'], '{"weights": [2]}')});
for my $first ('invalidation', 'prediction') {
    my $both = $node->background_psql('postgres', on_error_stop => 0);
    my @calls = (q{SELECT ai_scale.cache_invalidate('m1', 1);},
        q{SELECT ai_scale.predict('p', jsonb_build_object('a', 3 + random()));});
    @calls = reverse @calls if $first eq 'prediction';
    $both->query_safe(qq{SET ai_scale.redis_timeout_ms = 1000;
BEGIN;
INSERT INTO changes VALUES (4);
@calls
SELECT ai_scale.reset_stats();});
    pause_writes();
    $both->query_safe('COMMIT');
    is(l2_errors($both), 1,
        "the commit asks Redis once for its predictions and invalidations ($first first)");
    unpause();
    my $keys = `redis-cli -p $port DBSIZE` + 0;
    $both->query_safe(
        $first eq 'invalidation'
        ? q{SELECT ai_scale.predict('p', '{"a": 40}')}
        : q{SELECT ai_scale.predict('p', '{"a": 41}')});
    is(`redis-cli -p $port DBSIZE` + 0, $keys + 1,
        "a later commit of the session caches its prediction in Redis ($first first)");
    $both->quit;
}

# With cache_strict the first bump fails (08006, a WARNING after the commit) and is made on
# this server all the same: what another session cached during the transaction is a miss here
# while Redis still holds its writes.
my $strict = $node->background_psql('postgres', on_error_stop => 0);
$strict->query_safe(qq{SET ai_scale.redis_timeout_ms = 1000;
SET ai_scale.cache_strict = on;
BEGIN;
INSERT INTO changes VALUES (5);
SELECT ai_scale.cache_invalidate('m' || g, 1) FROM generate_series(1, $models) g;});
$node->safe_psql('postgres', qq{SELECT pg_sleep(1.1);
SELECT ai_scale.cache_put('m' || g, 1, '{"a": 1}', '"during"') FROM generate_series(1, $models) g});
is($node->safe_psql('postgres', $cached), join(' ', ('"during"') x $models),
    'another session caches values during the strict transaction');
pause_writes();
$strict->query('COMMIT');
like($strict->{stderr}, qr/were not sent to Redis again at its commit/,
    'the strict commit warns that Redis did not take its bumps');
# (Read with a short timeout: a read's recheck of the bumps marked then waits less than the
# pause, and its answer is the slot's as the commit left it.)
is($node->safe_psql('postgres', "SET ai_scale.redis_timeout_ms = 300; $cached"),
    join(' ', ('miss') x $models),
    'every value cached during the strict transaction is unreachable here at once');
unpause();
$strict->quit;

# Calls one after another: after a write Redis did not answer, a backend sends no write for a
# second. Each call of a statement over rows wrote (a model first used then: its new counter;
# a model learned: its value) and waited a timeout, while the reads Redis answered in between
# kept the breaker's count of failures at 0.
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('learned', 1, '{"a": 0}', '0')});
my $rows = $node->background_psql('postgres', on_error_stop => 0);
$rows->query_safe('SET ai_scale.redis_timeout_ms = 1000');
pause_writes();
$rows->query_safe(qq{SELECT ai_scale.reset_stats();
SELECT count(ai_scale.cache_get('first_used', 1, jsonb_build_object('a', g)))
  FROM generate_series(1, $models) g});
is(l2_errors($rows), 1,
    'rows of a model first used while Redis holds its writes ask it to write once, not a row each');
$rows->query_safe(qq{SELECT pg_sleep(1.1); SELECT ai_scale.reset_stats();
SELECT count(ai_scale.cache_put('learned', 1, jsonb_build_object('a', g), '1'))
  FROM generate_series(1, $models) g});
is(l2_errors($rows), 1, 'and so do rows putting values of a model learned before');
unpause();

# The next statement writes again, once Redis answers: held for a second whatever the
# statement, a put made then was not written, and an invalidation not sent (another server
# went on serving what it invalidated until this one made another cache call).
# (Read by another session, L1 off on this node: from Redis.)
my $later = q{SELECT ai_scale.cache_get('later', 1, '{"a": 1}')};
$rows->query_safe(q{SELECT ai_scale.cache_put('later', 1, '{"a": 1}', '"old"')});
is($node->safe_psql('postgres', $later), '"old"', 'Redis holds the value put');
pause_writes();
$rows->query_safe(q{SELECT ai_scale.cache_put('learned', 1, '{"a": 9}', '9')});
system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';
$rows->query_safe(q{SELECT ai_scale.cache_put('later', 1, '{"a": 1}', '"new"')});
is($node->safe_psql('postgres', $later), '"new"',
    'a put in the statement after the one whose write got no answer is written');
pause_writes();
$rows->query_safe(q{SELECT ai_scale.cache_put('learned', 1, '{"a": 9}', '9')});
system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';
my $before_invalidation = generation_counters($port);
$rows->query_safe(q{SELECT ai_scale.cache_invalidate('later', 1)});
cmp_ok(counters_raised($before_invalidation, generation_counters($port)), '>=', 1,
    'and an invalidation there is sent: its counter is raised in Redis');
$rows->quit;

done_testing();
