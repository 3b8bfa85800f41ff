# ai_scale through PgBouncer in transaction pooling mode, as a busy application runs it: many
# clients sharing a few server connections, each statement or transaction on whichever is free
# (docs/scaling.md, "Connection poolers"). What must hold: every answer is the model's; every
# input predicted (sync or async) is stored exactly once; a value put through one server
# connection is read through the others; an invalidation and a new model version reach every
# server connection at its next statement; a cancel sent through the pooler stops a call
# waiting for Redis; and what the guide says needs care does: a plain SET outlives its client
# on the server connection, SET LOCAL does not.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my ($pgbouncer) = grep { -x $_ } map { "$_/pgbouncer" } split(/:/, $ENV{PATH}), '/usr/sbin';
plan skip_all => 'pgbouncer is not installed (scripts/setup.sh installs it)' unless $pgbouncer;

# A Redis of the test's own: the cancel below stops it.
my $redis_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('pooled', $redis_port);
my $node = store_node('pooler', redis_primary => "127.0.0.1:$redis_port");
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2], "bias": 1}');
CREATE SEQUENCE inputs;
CREATE TABLE answers (a bigint, score float8);
CREATE TABLE wrong (what text, k bigint, got jsonb);});

# PgBouncer on a loopback port of its own: database "tx", 16 clients' transactions on at most 4
# server connections; "one", a pool of one server connection, where what a client leaves on it
# is seen by the next; "stmt", statement pooling, and "stmt_async", the same with store_mode
# async set on each server connection as it is made (connect_query).
my $dir = PostgreSQL::Test::Utils::tempdir();
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $user = $node->safe_psql('postgres', 'SELECT current_user');
my $backend = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
PostgreSQL::Test::Utils::append_to_file("$dir/userlist.txt", qq{"$user" ""\n});
PostgreSQL::Test::Utils::append_to_file(
    "$dir/pgbouncer.ini", qq{[databases]
tx = $backend pool_size=4
one = $backend pool_size=1
stmt = $backend pool_size=2 pool_mode=statement
stmt_async = $backend pool_size=2 pool_mode=statement connect_query='SET ai_scale.store_mode = async'
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 100
logfile = $dir/pgbouncer.log
});
my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ],
    '>', "$dir/pgbouncer.out", '2>&1');
# Stopped however the test ends (a failed check that dies, a BAIL_OUT).
END {
    local $?;
    $bouncer->kill_kill if $bouncer;
}
my $via = sub { "host=127.0.0.1 port=$port dbname=$_[0] user=$user" };
my $up = 0;
# (In eval: a psql that ends, refused, before it takes its input makes IPC::Run die of the broken
# pipe, where a refusal is what the loop waits out.)
for (1 .. 100) {
    last if ($up = eval { $node->psql('tx', 'SELECT 1', connstr => $via->('tx')) == 0 });
    select(undef, undef, undef, 0.1);
}
ok($up, 'PgBouncer answers') or BAIL_OUT('PgBouncer did not start: '
      . slurp_file("$dir/pgbouncer.out") . slurp_file("$dir/pgbouncer.log"));
my $through = sub { $node->safe_psql($_[0], $_[1], connstr => $via->($_[0])) };
my $runs = 0;
my $bench = sub {
    my ($db, $mode, $transactions, $name, $scripts) = @_;
    # pgbench's script files are named after the scripts, and each run wants new ones.
    $runs++;
    my %named = map { s/^([^@]+)/${1}_$runs/r => $scripts->{$_} } keys %$scripts;
    $node->pgbench(
        "-h 127.0.0.1 -p $port -U $user --no-vacuum --client=16 --jobs=2"
          . " --transactions=$transactions --protocol=$mode",
        0, [qr{processed: @{[16 * $transactions]}/@{[16 * $transactions]}}], [qr/^$/],
        "$name ($mode)", \%named, $db);
};
my $server_backends = sub {
    $node->safe_psql('postgres', q{
SELECT count(*) FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()});
};

# predict() of new inputs, sync and async (SET LOCAL in the transaction), and cache_put, then
# cache_get and cache_get_many in statements of their own, each on any server connection.
my $predict = q{INSERT INTO answers SELECT a, (ai_scale.predict('m', jsonb_build_object('a', a)) ->> 'score')::float8 FROM (SELECT nextval('inputs') a) n;};
my %scripts = (
    'sync@3' => $predict,
    'async@3' => qq{BEGIN;
SET LOCAL ai_scale.store_mode = async;
$predict
COMMIT;},
    'batch@1' => q{SELECT nextval('inputs') AS k1, nextval('inputs') AS k2 \gset
INSERT INTO answers SELECT (i ->> 'a')::bigint, (o ->> 'score')::float8 FROM (SELECT ARRAY[jsonb_build_object('a', :k1::bigint), jsonb_build_object('a', :k2::bigint)] AS batch) b, unnest(batch, ai_scale.predict_batch('m', batch)) AS p(i, o);},
    'put_get@3' => q{SELECT nextval('inputs') AS k \gset
SELECT ai_scale.cache_put('c', 1, jsonb_build_object('k', :k::bigint), jsonb_build_object('v', :k::bigint));
INSERT INTO wrong SELECT 'get', :k, g FROM ai_scale.cache_get('c', 1, jsonb_build_object('k', :k::bigint)) g WHERE g IS DISTINCT FROM jsonb_build_object('v', :k::bigint);
INSERT INTO wrong SELECT 'get_many', :k, g[1] FROM ai_scale.cache_get_many('c', 1, ARRAY[jsonb_build_object('k', :k::bigint)]) g WHERE g[1] IS DISTINCT FROM jsonb_build_object('v', :k::bigint);});
for my $mode ('simple', 'extended') {
    $bench->('tx', $mode, 100, 'predict and the cache through PgBouncer', \%scripts);
}
cmp_ok($server_backends->(), '>', 1, 'the clients shared several server connections');
is($node->safe_psql('postgres', q{SELECT count(*) FROM answers WHERE score <> 2 * a + 1}),
    '0', 'every answer is the model\'s score');
my $wrong = sub {
    $node->safe_psql('postgres', q{
SELECT string_agg(format('%s %s: %s', what, k, coalesce(got::text, 'null')), '; ' ORDER BY k)
FROM wrong});
};
is($wrong->(), '', 'every value put is read back, whichever server connection reads it');
my $predicted = $node->safe_psql('postgres', 'SELECT count(*) FROM answers');
ok( $node->poll_query_until('postgres',
        "SELECT count(*) >= $predicted FROM public.model_predictions"),
    'the async predictions are written');
is( $node->safe_psql('postgres', q{
SELECT count(*) || ' ' || count(DISTINCT input_data) || ' '
       || count(*) FILTER (WHERE output_data <> jsonb_build_object('score', 2 * a + 1))
FROM public.model_predictions p JOIN answers ON a = (p.input_data ->> 'a')::bigint}),
    "$predicted $predicted 0", 'each input is stored once, with its score');

# An invalidation through the pooler: no server connection answers what was put before it.
$through->('tx', q{SELECT ai_scale.cache_invalidate('c')});
$bench->('tx', 'extended', 20, 'cache_get after cache_invalidate', {
    'get' => q{\set k random(1, 5000)
INSERT INTO wrong SELECT 'invalidated', :k, g FROM ai_scale.cache_get('c', 1, jsonb_build_object('k', :k::bigint)) g WHERE g IS NOT NULL;}});
is($wrong->(), '', 'no server connection answers an invalidated value');

# A model scored on every server connection, then given a new version through the pooler: each
# scores with the new one at its next statement.
for my $weight (3, 4) {
    $through->('tx', qq{
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [$weight], "bias": 1}')});
    $bench->('tx', 'simple', 20, "score with version of weight $weight", {
        'score' => qq{INSERT INTO wrong SELECT 'score', $weight, to_jsonb(s) FROM ai_scale.score('m', '{"a": 1}') s WHERE s <> $weight + 1;
INSERT INTO wrong SELECT 'predict', $weight, p FROM ai_scale.predict('m', '{"a": -1}') p WHERE (p ->> 'score')::float8 <> 1 - $weight;}});
}
is($wrong->(), '', 'every server connection scores with the version registered last');
$through->('tx', q{SELECT ai_scale.set_active_version('m', 1)});
is($through->('tx', q{SELECT ai_scale.score('m', '{"a": 1}')}), '3',
    'and with the one activated through the pooler');

# A cancel sent through the pooler (psql's, on SIGINT) stops a call waiting for Redis.
my $redis_pid = redis_pid('pooled');
kill 'STOP', $redis_pid;
my $log_offset = -s $node->logfile;
my $call = IPC::Run::start(
    [ 'psql', '-X', '-d', $via->('tx') . ' application_name=waiter', '-c',
        q{BEGIN; SET LOCAL ai_scale.redis_timeout_ms = 60000;
SELECT ai_scale.cache_get('x', 1, '{"a": 1}'); COMMIT;} ],
    '>', \my $out, '2>', \my $err);
ok( $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'waiter' AND wait_event_type = 'Extension'}),
    'a call waits for the stopped Redis');
$call->signal('INT');
ok($node->wait_for_log(qr/waiter ERROR:  canceling statement due to user request/, $log_offset),
    'the cancel sent through PgBouncer stops it while Redis is still stopped');
$call->finish;
kill 'CONT', $redis_pid;

# What needs care: a plain SET stays on the server connection after its client leaves, and the
# next client there runs with it (here its predictions are not stored); SET LOCAL ends with
# its transaction.
my $stored = sub {
    $node->safe_psql('postgres',
        "SELECT count(*) FROM public.model_predictions WHERE input_data = '{\"a\": $_[0]}'");
};
$through->('one', q{SET ai_scale.store_mode = off});
$through->('one', q{SELECT ai_scale.predict('m', '{"a": -100}')});
is($stored->(-100), '0', 'a plain SET of one client applies to the next one on its connection');
$through->('one', q{RESET ai_scale.store_mode});
$through->('one', q{BEGIN; SET LOCAL ai_scale.store_mode = off; SELECT 1; COMMIT;});
$through->('one', q{SELECT ai_scale.predict('m', '{"a": -101}')});
is($stored->(-101), '1', 'SET LOCAL does not outlive its transaction');

# Statement pooling: one statement at a time, each in a transaction of its own.
is($through->('stmt', q{SELECT ai_scale.predict('m', '{"a": -102}') ->> 'score'}),
    '-203', 'predict() in statement mode');
is($stored->(-102), '1', 'and its prediction is stored');
$through->('stmt', q{SELECT ai_scale.cache_put('c', 1, '{"k": -1}', '{"v": -1}')});
is($through->('stmt', q{SELECT ai_scale.cache_get('c', 1, '{"k": -1}')}), '{"v": -1}',
    'cache_put and cache_get in statement mode');
$node->safe_psql('postgres', q{
INSERT INTO public.model_predictions (prediction_id, model_name, model_version, input_data,
                                      output_data, input_hash, created_at)
SELECT gen_random_uuid(), 'n', 1, '{}', '{}', 0, now() + interval '60 days'
FROM generate_series(1, 30)});
$through->('stmt', q{CALL ai_scale.rescue_default_proc('public.model_predictions', 10)});
is($through->('stmt', q{SELECT rows FROM ai_scale.check_default('public.model_predictions')}),
    '0', 'rescue_default_proc, which commits after each batch, in statement mode');

# Settings for a statement-mode pool: set on its server connections by PgBouncer, or in the
# SET clause of a function the clients call.
is($through->('stmt_async', 'SHOW ai_scale.store_mode'), 'async',
    'connect_query sets store_mode on the pool\'s server connections');
$node->safe_psql('postgres', q{
CREATE FUNCTION predict_async(model text, input jsonb) RETURNS jsonb
    LANGUAGE sql SET ai_scale.store_mode = async
    RETURN ai_scale.predict(model, input);});
$bench->('stmt_async', 'extended', 10, 'async predict() in statement mode', {
    'predict' => q{SELECT ai_scale.predict('m', jsonb_build_object('a', -1000 - nextval('inputs')));}});
$bench->('stmt', 'simple', 10, 'predict() under a function\'s SET clause in statement mode', {
    'predict' => q{SELECT predict_async('m', jsonb_build_object('a', -1000 - nextval('inputs')));}});
ok( $node->poll_query_until('postgres', q{
SELECT count(*) >= 320 FROM public.model_predictions WHERE (input_data ->> 'a')::bigint < -1000}),
    'their predictions are written');
is( $node->safe_psql('postgres', q{
SELECT count(*) || ' ' || count(DISTINCT input_data) FROM public.model_predictions
WHERE (input_data ->> 'a')::bigint < -1000}),
    '320 320', 'each once');
my ($rc, $stdout, $stderr) =
  $node->psql('stmt', 'BEGIN; SELECT 1; COMMIT;', connstr => $via->('stmt'));
like($stderr, qr/transaction blocks not allowed in statement pooling mode/,
    'statement mode refuses a transaction block (and so SET LOCAL)');

redis_stop('pooled');
$node->stop;
done_testing();
