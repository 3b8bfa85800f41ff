# Rows that predict() queued (store_mode = async) before DROP EXTENSION ai_scale, written by the
# store worker after CREATE EXTENSION and a new registration of the same name: register_model
# numbers a new model past the versions the store holds, so the old model's row, written after
# that, had the new model's number, and predict() served it from L3 as the new model's answer
# ({"score": 1, "source": "l3"} for a model that scores 10). Now the worker's insert holds a
# lock on the install's ai_scale.models once it holds the store's (a DROP EXTENSION waits for
# it then), and rows queued by an install dropped since are not written (a WARNING says how
# many): here m's row, whose insert still waits for the store when the drop comes (it waited
# with the catalog locked before, and held the drop up: TAP 311), and n's, queued behind it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('queue_extension_dropped');
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('m', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');
SELECT ai_scale.register_model('n', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');});

# The store locked against inserts: the worker's insert of m's row waits.
my ($locker, $waits) = store_worker_held($node, q{ai_scale.predict('m', '{"x": 1}')});
ok($waits, 'the store worker waits to insert m');
# n's row stays queued behind it.
$node->safe_psql('postgres', q{SET ai_scale.store_mode = async;
SELECT ai_scale.predict('n', '{"x": 1}');});

my $dropper = extension_recreated_behind($node, q{
SELECT 'm:' || ai_scale.register_model('m', 'linear', ARRAY['x'], '{"weights": [10], "bias": 0}');
SELECT 'n:' || ai_scale.register_model('n', 'linear', ARRAY['x'], '{"weights": [10], "bias": 0}');
SELECT 'registered';});
# The drop and the new registrations are done while the worker still waits for the store.
ok( $node->poll_query_until('postgres', q{
SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'dropper'
AND state = 'idle' AND query LIKE '%registered%'}),
    'the drop does not wait for the worker waiting for the store');
my $out = $dropper->query_until(qr/done/, '');
$locker->query_safe('COMMIT');
like($out, qr/m:1/, 'm is numbered 1: its row was not written');
like($out, qr/n:1/, 'n is numbered 1: its row was still queued');
$node->wait_for_log(qr/ai_scale store worker for database "[^"]+" lost \d+ predictions?: extension ai_scale was dropped since they were queued/);
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.model_predictions}),
    '0', 'no row the dropped models queued is written');
is($node->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"x": 1}') ->> 'score'}),
    '10', 'the new m scores its own answer');
is($node->safe_psql('postgres', q{SELECT ai_scale.predict('n', '{"x": 1}') ->> 'score'}),
    '10', 'the new n scores its own answer, not the old row from L3');

$dropper->quit;
$locker->quit;
$node->stop;
done_testing();
