# DROP EXTENSION while the async store worker waits for a lock on the store (a transaction
# holding it, a CREATE INDEX): the worker locked the extension's catalog (ai_scale.models,
# lock_install) before it waited for the store, so the DROP queued behind the worker, and every
# predict() and score() of the database queued behind the DROP, for as long as the store stayed
# held. It takes the store's lock first now: the DROP goes through, and the batch, whose
# extension is gone, is lost with the WARNING that says so.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('store_drop_extension_waits');
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('a', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');});

my ($locker, $waits) = store_worker_held($node, q{ai_scale.predict('a', '{"x": 1}')});
ok($waits, 'the store worker waits for the store');
my $offset = -s $node->logfile;
my ($ret, $stdout, $stderr) = $node->psql('postgres',
    "SET lock_timeout = '5s'; DROP EXTENSION ai_scale CASCADE;");
is($ret, 0, 'DROP EXTENSION does not wait for the worker') or diag($stderr);
$locker->query_safe('COMMIT');
$locker->quit;
ok($node->wait_for_log(
        qr/store worker for database "postgres" lost 1 prediction: extension ai_scale was dropped/,
        $offset),
    'the batch queued before the drop is lost, and said so');
is($node->safe_psql('postgres', 'SELECT count(*) FROM public.model_predictions'), '0',
    'nothing written into the store');

# Rows of two stores in one pass of the worker, the second store held: the worker writes the
# first store's rows and waits for the second holding neither the first store nor the catalog.
# (Written in one transaction, the pass held both while it waited: the DROP queued behind it,
# and so did DDL on the first store.)
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store('public.store_b');
SELECT ai_scale.register_model('a', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');});
my ($locker_a, $waits_a) = store_worker_held($node, q{ai_scale.predict('a', '{"x": 10}')});
ok($waits_a, 'the store worker waits for the first store');
$node->safe_psql('postgres', q{
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a', '{"x": 11}');
SET ai_scale.store_table = 'public.store_b';
SELECT ai_scale.predict('a', '{"x": 12}');});
my $locker_b = $node->background_psql('postgres');
$locker_b->query_safe('BEGIN; LOCK TABLE public.store_b IN SHARE MODE;');
$locker_a->query_safe('COMMIT');
$locker_a->quit;
ok($node->poll_query_until('postgres',
        'SELECT count(*) = 2 FROM public.model_predictions'),
    "the first store's rows are written while the second is held");
($ret, $stdout, $stderr) = $node->psql('postgres',
    "SET lock_timeout = '5s'; ALTER TABLE public.model_predictions ADD COLUMN note text;");
is($ret, 0, 'DDL on the first store does not wait for the worker') or diag($stderr);
($ret, $stdout, $stderr) = $node->psql('postgres',
    "SET lock_timeout = '5s'; DROP EXTENSION ai_scale CASCADE;");
is($ret, 0, 'nor does DROP EXTENSION') or diag($stderr);
$locker_b->query_safe('COMMIT');
$locker_b->quit;

# One store partitioned by model: the rows of one pass go to two partitions, and the second is
# held. The worker waits for it holding nothing of the first: written in one transaction, the
# pass held the first partition while it waited, and a session locking the partitions the
# other way round lost a deadlock.
$node->safe_psql('postgres', 'CREATE DATABASE by_model');
$node->safe_psql('by_model', q{
CREATE EXTENSION ai_scale;
CREATE TABLE public.ms (model_name text NOT NULL, model_version int NOT NULL, input_data jsonb,
                        output_data jsonb, input_hash bigint,
                        created_at timestamptz NOT NULL DEFAULT now()) PARTITION BY LIST (model_name);
CREATE TABLE public.ms_a PARTITION OF public.ms FOR VALUES IN ('a');
CREATE TABLE public.ms_b PARTITION OF public.ms FOR VALUES IN ('b');
CREATE TABLE public.ms_c PARTITION OF public.ms FOR VALUES IN ('c');
SELECT ai_scale.register_model(m, 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}')
  FROM unnest(ARRAY['a', 'b', 'c']) m;});
my ($locker_ms, $waits_ms) =
  store_worker_held($node, q{ai_scale.predict('b', '{"x": 1}')}, 'public.ms', 'by_model');
ok($waits_ms, 'the store worker waits for the partitioned store');
$node->safe_psql('by_model', q{
SET ai_scale.store_mode = async;
SET ai_scale.store_table = 'public.ms';
SELECT ai_scale.predict('c', '{"x": 2}');
SELECT ai_scale.predict('a', '{"x": 3}');});
my $holder = $node->background_psql('by_model');
$holder->query_safe('BEGIN; LOCK TABLE public.ms_a IN SHARE MODE;');
$locker_ms->query_safe('COMMIT');
$locker_ms->quit;
ok($node->poll_query_until('by_model', q{SELECT count(*) = 2 FROM public.ms WHERE model_name <> 'a'}),
    "the rows of the partitions not held are written while one is held");
my ($locked) = $holder->query_safe(
    "SET lock_timeout = '5s'; LOCK TABLE public.ms_c IN SHARE MODE; SELECT 'locked';");
like($locked, qr/locked/, 'a session then locks another partition the worker wrote');
$holder->query_safe('COMMIT');
$holder->quit;
ok($node->poll_query_until('by_model', q{SELECT count(*) = 3 FROM public.ms}),
    'and the held partition gets its row once free');

# A store with a trigger has its runs written a transaction each, waiting as long as its
# trigger's statements wait: in one transaction with the others, where no lock is waited for
# longer than 10 ms, a trigger catching that error (an audit trigger's EXCEPTION WHEN OTHERS)
# skipped its work for every row, and nothing said so.
$node->safe_psql('by_model', q{
SELECT ai_scale.create_prediction_store('public.trig_store');
CREATE TABLE public.hits (n int);
INSERT INTO public.hits VALUES (0);
CREATE FUNCTION public.count_hit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        UPDATE public.hits SET n = n + 1;
    EXCEPTION WHEN OTHERS THEN
        NULL;
    END;
    RETURN NEW;
END $$;
CREATE TRIGGER count_hit BEFORE INSERT ON public.trig_store
    FOR EACH ROW EXECUTE FUNCTION public.count_hit();});
my $row_holder = $node->background_psql('by_model');
$row_holder->query_safe('BEGIN; UPDATE public.hits SET n = n;');
$node->safe_psql('by_model', q{
SET ai_scale.store_mode = async;
SET ai_scale.store_table = 'public.trig_store';
SELECT count(ai_scale.predict(CASE WHEN i % 2 = 0 THEN 'a' ELSE 'c' END,
                              jsonb_build_object('x', 100 + i)))
  FROM generate_series(1, 10) i;});
ok($node->poll_query_until('by_model', q{
SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE a.backend_type = 'ai_scale store' AND NOT l.granted}),
    "the worker's insert waits for the row the trigger updates");
$row_holder->query_safe('COMMIT');
$row_holder->quit;
ok($node->poll_query_until('by_model', q{SELECT count(*) = 10 FROM public.trig_store}),
    'every row is written');
is($node->safe_psql('by_model', 'SELECT n FROM public.hits'), '10',
    'and the trigger did its work for each');

$node->stop;
done_testing();
