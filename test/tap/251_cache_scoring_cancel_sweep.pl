# The cache's and scoring's long calls interrupted at many points: statement_timeout stepped
# from 1 ms to past the call's length (where each step lands varies from run to run; what must
# hold does not). After each interruption, in the same session: a value read back, from L1 or
# from Redis, is whole or absent, never part of one or another's; a prediction cached or stored
# by an interrupted predict_batch is the model's own score (store_mode off: its fills are made
# as it goes) or none at all (sync: they wait for the commit, and its rows go with the
# rollback); a model registration is there whole or not at all; and the session goes on to
# give the right answers, every one, when the call is made again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;
use Time::HiRes qw(usleep);

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('cancel_sweep', $port);
my $node = PostgreSQL::Test::Cluster->new('cache_cancel_sweep');
$node->init;
$node->append_conf('postgresql.conf', join("\n",
    "shared_preload_libraries = 'ai_scale'", "ai_scale.redis_primary = '127.0.0.1:$port'",
    'ai_scale.redis_timeout_ms = 10000', "ai_scale.redis_max_value_bytes = '8MB'",
    "log_min_messages = 'warning'") . "\n");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2], "bias": 0.5}');
CREATE TABLE inputs AS SELECT g AS id, jsonb_build_object('a', g, 'b', g % 7) AS input
  FROM generate_series(1, 40000) g;
});
# A model whose registration reads 16,000 tree nodes.
$node->safe_psql('postgres', full_tree_function());

# Runs $setup, then $call without a timeout (its length sets the sweep's), then for each point
# $reset, $call under the timeout and $check (a query printing lines 'bad: ...' for each
# fault, and 'checked' once), all in one session. Returns the lines and the interrupted count.
sub sweep {
    my ($name, $reset, $call, $check) = @_;
    my $timed = $node->safe_psql('postgres', "$reset\n\\timing on\n$call;");
    my ($full_ms) = $timed =~ /Time: (\d+)[.\d]* ms[^\n]*\s*\z/;
    $full_ms //= 1000;
    my @points = timeout_sweep_points($full_ms);
    my $script = '';
    for my $t (@points) {
        $script .= qq{
$reset
SET statement_timeout = '${t}ms';
$call;
@{[timeout_sweep_reset()]}
$check
};
    }
    my ($rc, $out, $err) = $node->psql('postgres', $script, on_error_stop => 0);
    my $interrupted = () = $err =~ /canceling statement due to statement timeout/g;
    note("$name: full call $full_ms ms, " . scalar(@points) . " points, $interrupted interrupted");
    is(scalar(() = $out =~ /^checked$/mg), scalar(@points), "$name: checked after each point")
      or diag($err);
    cmp_ok($interrupted, '>', 0, "$name: the sweep interrupted the call");
    my @bad = $out =~ /^(bad: .*)$/mg;
    is_deeply(\@bad, [], "$name: nothing half done after any interruption");
    unlike($err, qr/FATAL|PANIC|server closed|internal error|XX000/, "$name: no crash or internal error");
}

# cache_put of a 6 MB output, each point its own key: read back (L1 off, from Redis; then
# with L1 on) it is that output whole, or absent.
$node->safe_psql('postgres', q{
CREATE TABLE big AS SELECT jsonb_build_object('blob', string_agg(md5(g::text), '')) AS output
  FROM generate_series(1, 200000) g;
CREATE SEQUENCE put_key;});
sweep('cache_put',
    q{SELECT nextval('put_key') \gset},
    q{SELECT ai_scale.cache_put('lin', 1, jsonb_build_object('k', currval('put_key')), output, '1 hour') FROM big},
    q{
SET ai_scale.cache_use_l1 = off;
SELECT 'bad: ' || currval('put_key') || ' read from Redis is not the value put'
  FROM (SELECT ai_scale.cache_get('lin', 1, jsonb_build_object('k', currval('put_key'))) AS v) g, big
 WHERE g.v IS NOT NULL AND g.v <> big.output;
RESET ai_scale.cache_use_l1;
SELECT 'bad: ' || currval('put_key') || ' read is not the value put'
  FROM (SELECT ai_scale.cache_get('lin', 1, jsonb_build_object('k', currval('put_key'))) AS v) g, big
 WHERE g.v IS NOT NULL AND g.v <> big.output;
SELECT 'checked';});

# predict_batch, store_mode off: 15,000 inputs new to the cache at each point (a model version
# of their own), scored and cached as it goes. Whatever it cached before its interruption is
# the model's score; the call made again answers every input with it.
$node->safe_psql('postgres', q{CREATE SEQUENCE version_key;});
my $new_version = q{
SELECT ai_scale.register_model('lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2], "bias": 0.5}') AS v \gset
SELECT nextval('version_key');};
# Lines 'bad: ...' unless every answer the cache holds for the first $n inputs, under version
# :v, is the model's score.
my $answers_right = sub {
    my ($what, $n) = @_;
    return qq{
SELECT 'bad: $what ' || count(*) || ' answers wrong, first ' || min(i.id)
  FROM unnest((SELECT ai_scale.cache_get_many('lin', :v, array_agg(input ORDER BY id)) FROM inputs WHERE id <= $n))
       WITH ORDINALITY AS a(answer, id) JOIN inputs i USING (id)
 WHERE (a.answer ->> 'score')::float8 <> (i.input->>'a')::float8 + 2 * (i.input->>'b')::float8 + 0.5
HAVING count(*) > 0;};
};
sweep('predict_batch store_mode off',
    "SET ai_scale.store_mode = off;\n$new_version",
    q{SELECT cardinality(ai_scale.predict_batch('lin', array_agg(input ORDER BY id), :v)) FROM inputs WHERE id <= 15000},
    $answers_right->('cached', 15000) . q{
SELECT 'bad: predict_batch again: ' || count(*) || ' answers wrong'
  FROM unnest((SELECT ai_scale.predict_batch('lin', array_agg(input ORDER BY id), :v) FROM inputs WHERE id <= 15000))
       WITH ORDINALITY AS a(answer, id) JOIN inputs i USING (id)
 WHERE (a.answer ->> 'score')::float8 <> (i.input->>'a')::float8 + 2 * (i.input->>'b')::float8 + 0.5
HAVING count(*) > 0;
RESET ai_scale.store_mode;
SELECT 'checked';});

# predict_batch, store_mode sync: nothing of an interrupted call stays, neither its rows in the
# store nor its predictions in the cache; the call made again stores each input once.
sweep('predict_batch store_mode sync',
    $new_version,
    q{SELECT cardinality(ai_scale.predict_batch('lin', array_agg(input ORDER BY id), :v)) FROM inputs WHERE id <= 10000},
    q{
SELECT 'bad: interrupted or not, ' || count(*) || ' rows stored, not 0 or 10000'
  FROM public.model_predictions WHERE model_name = 'lin' AND model_version = :v
HAVING count(*) NOT IN (0, 10000);
SET ai_scale.cache_use_l1 = off;
SELECT 'bad: the interrupted call cached ' || count(*) || ' predictions'
  FROM unnest((SELECT ai_scale.cache_get_many('lin', :v, array_agg(input)) FROM inputs WHERE id <= 10000)) a
 WHERE a IS NOT NULL
   AND NOT EXISTS (SELECT FROM public.model_predictions WHERE model_name = 'lin' AND model_version = :v)
HAVING count(*) > 0;
RESET ai_scale.cache_use_l1;
SELECT cardinality(ai_scale.predict_batch('lin', array_agg(input ORDER BY id), :v)) FROM inputs WHERE id <= 10000;
SELECT 'bad: made again, ' || count(*) || ' rows stored for ' || count(DISTINCT input_data) || ' inputs'
  FROM public.model_predictions WHERE model_name = 'lin' AND model_version = :v
HAVING count(*) <> 10000 OR count(DISTINCT input_data) <> 10000;} . $answers_right->('made again', 10000) . q{
SELECT 'checked';});

# cache_get_many of 40,000 inputs, half of them put before: the answers after an interruption
# are the values put, and misses for the others.
$node->safe_psql('postgres', q{
SELECT count(ai_scale.cache_put('lin', 1, input, jsonb_build_object('id', id))) FROM inputs WHERE id % 2 = 0;});
sweep('cache_get_many',
    q{SELECT 1;},
    q{SELECT cardinality(ai_scale.cache_get_many('lin', 1, array_agg(input ORDER BY id))) FROM inputs},
    q{
SELECT 'bad: cache_get_many: ' || count(*) || ' answers wrong'
  FROM unnest((SELECT ai_scale.cache_get_many('lin', 1, array_agg(input ORDER BY id)) FROM inputs))
       WITH ORDINALITY AS a(answer, id)
 WHERE a.answer IS DISTINCT FROM CASE WHEN id % 2 = 0 THEN jsonb_build_object('id', id) END
HAVING count(*) > 0;
SELECT 'checked';});

# score_batched over 40,000 rows: the session's next call scores every row right.
sweep('score_batched',
    q{SELECT 1;},
    q{SELECT sum(s) FROM (SELECT ai_scale.score_batched('lin', input, 1) OVER () AS s FROM inputs) q},
    q{
SELECT 'bad: score_batched: ' || count(*) || ' scores wrong'
  FROM (SELECT id, input, ai_scale.score_batched('lin', input, 1) OVER () AS s FROM inputs) q
 WHERE s <> (input->>'a')::float8 + 2 * (input->>'b')::float8 + 0.5
HAVING count(*) > 0;
SELECT 'checked';});

# register_model of a gbdt of 16,383 nodes: interrupted, no version is added (the versions
# and the last number given unchanged); the next registration works and scores.
sweep('register_model',
    q{SELECT count(*) AS versions FROM ai_scale.models WHERE model_name = 'deep' \gset},
    q{SELECT ai_scale.register_model('deep', 'gbdt', ARRAY['a','b','c','d','e','f','g','h'],
        jsonb_build_object('trees', jsonb_build_array(tree(13))))},
    q{
SELECT 'bad: register_model: ' || count(*) || ' versions, was ' || :versions
  FROM ai_scale.models WHERE model_name = 'deep' HAVING count(*) NOT IN (:versions, :versions + 1);
SELECT 'bad: register_model: version ' || version || ' scores ' || s
  FROM (SELECT model_version AS version, ai_scale.score('deep', '{"a": 1}', model_version) AS s
          FROM ai_scale.models WHERE model_name = 'deep' ORDER BY model_version DESC LIMIT 1) q
 WHERE s IS DISTINCT FROM 0.51::float4;
SELECT 'checked';});

# A cache_put cancelled once its SET was sent, while it waited for Redis's reply (Redis stopped
# meanwhile): Redis applies the SET when it runs again. This server's L1 held the output put
# before for the key, and went on answering it, where Redis and every other server answered the
# new one, for the rest of that entry's TTL. Now the cancelled put removes it from L1.
#
# The put sends its SET first only when the model's generations were synced less than a second
# before (by the warm put); later, it reads them first and is cancelled in that read, its SET
# never sent, and Redis keeps the old output (as must this server). On a loaded machine a second
# passed between two psql round trips, so the warm put, Redis's stop and the put go in one psql
# script (\! between them), and a try whose SET Redis did not get, or whose put was not
# cancelled, is made again with a new value, five times at most. Each try checks that this server answers what Redis holds.
my $redis = redis_pid('cancel_sweep');
$node->safe_psql('postgres', q{
CREATE FUNCTION from_redis(input jsonb) RETURNS text LANGUAGE sql SET ai_scale.cache_use_l1 = off
    AS $$ SELECT ai_scale.cache_get('lin', 1, input) ->> 'v' $$;});
my ($applied, $tries) = (0, 0);
while (!$applied && $tries < 5) {
    $tries++;
    my $value = "new $tries";
    $node->safe_psql('postgres',
        q{SELECT ai_scale.cache_put('lin', 1, '{"put": 1}', '{"v": "old"}', '1 hour')});
    is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('lin', 1, '{"put": 1}') ->> 'v'}),
        'old', "try $tries: the output put before is answered");
    my $putter = $node->background_psql('postgres', on_error_stop => 0);
    $putter->query_safe(q{SET application_name = 'putter'});
    # The warm put also makes the session's Redis connection.
    $putter->query_until(qr/sent/, qq{
SELECT ai_scale.cache_put('lin', 1, '{"put": 0}', '{"v": "warm"}');
\\! kill -STOP $redis
\\echo sent
SELECT ai_scale.cache_put('lin', 1, '{"put": 1}', '{"v": "$value"}', '1 hour');
});
    ok( $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'putter' AND wait_event_type = 'Extension'}),
        "try $tries: the put waits for Redis");
    $node->safe_psql('postgres',
        q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'putter'});
    kill 'CONT', $redis;
    like($putter->query(q{SELECT 'after'}), qr/after/,
        "try $tries: the session goes on after the cancel");
    # (A put that Redis answered before the cancel was taken proves nothing either.)
    my $cancelled = $putter->{stderr} =~ /canceling statement due to user request/;
    $putter->quit;
    # The SET, when it was sent, waits in Redis's socket: Redis runs it as soon as it runs
    # again, before it takes the connection of the lookup below, made later.
    my $in_redis = $node->safe_psql('postgres', q{SELECT from_redis('{"put": 1}')});
    $applied = $cancelled && $in_redis eq $value;
    note("try $tries: Redis holds '$in_redis', the put " . ($cancelled ? 'cancelled' : 'not cancelled'));
    is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('lin', 1, '{"put": 1}') ->> 'v'}),
        $in_redis, "try $tries: this server answers what Redis holds");
}
ok($applied, "Redis applied a cancelled put (tries: $tries)");

# The async store worker cancelled at random moments while it writes what predict_batch queued
# (rounds of 2,500 new inputs, the worker cancelled twice in each, its insert then tried again):
# every queued prediction is stored once, none lost, none twice.
my $store_worker = q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale store'};
my $async_version = $node->safe_psql('postgres', q{
SELECT ai_scale.register_model('lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2], "bias": 0.5}')});
my $queuer = $node->background_psql('postgres');
$queuer->query_safe(q{SET ai_scale.store_mode = async});
for my $round (0 .. 7) {
    my ($from, $to) = (1 + 2500 * $round, 2500 * ($round + 1));
    $queuer->query_safe(qq{SELECT cardinality(ai_scale.predict_batch('lin',
        (SELECT array_agg(jsonb_build_object('a', g, 'b', 1)) FROM generate_series($from, $to) g),
        $async_version))});
    for (1 .. 2) {
        usleep(int(rand(150_000)));
        $node->safe_psql('postgres', "SELECT pg_cancel_backend(pid) FROM ($store_worker) w");
    }
}
$queuer->quit;
ok( $node->poll_query_until('postgres', qq{
SELECT count(*) >= 20000 FROM public.model_predictions
 WHERE model_name = 'lin' AND model_version = $async_version}),
    'the store worker writes every queued prediction');
is( $node->safe_psql('postgres', qq{
SELECT count(*) || ' ' || count(DISTINCT input_data) FROM public.model_predictions
 WHERE model_name = 'lin' AND model_version = $async_version}),
    '20000 20000', 'each stored once');

$node->stop;
done_testing();
