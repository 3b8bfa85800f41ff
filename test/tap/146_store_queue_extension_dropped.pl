# Rows that predict() queued (store_mode = async) before DROP EXTENSION ai_scale, written by the
# store worker after CREATE EXTENSION and a new registration of the same name: register_model
# numbers a new model past the versions the store holds, so the old model's row, written after
# that, had the new model's number, and predict() served it from L3 as the new model's answer
# ({"score": 1, "source": "l3"} for a model that scores 10). Now the worker's insert holds a
# lock on the install's ai_scale.models (a DROP EXTENSION waits for it), and rows queued by an
# install dropped since are not written (a WARNING says how many).
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
# The drop waits for the worker's insert (or, as before, did not).
ok( $node->poll_query_until('postgres', q{
SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'dropper'
AND (wait_event_type = 'Lock' OR (state = 'idle' AND query LIKE '%registered%'))}),
    'the drop waits or is done');
$locker->query_safe('COMMIT');
my $out = $dropper->query_until(qr/done/, '');
like($out, qr/m:2/, 'm is numbered past the version that its queued row has in the store');
like($out, qr/n:1/, 'n is numbered 1: its row was still queued');
ok( $node->poll_query_until('postgres',
        q{SELECT count(*) = 1 FROM public.model_predictions WHERE model_name = 'm'}),
    'the worker wrote m\'s row');
$node->wait_for_log(qr/ai_scale store worker for database "[^"]+" lost 1 prediction: extension ai_scale was dropped since they were queued/);
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.model_predictions WHERE model_name = 'n'}),
    '0', 'the row n\'s dropped model queued is not written');
is($node->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"x": 1}', 2) ->> 'score'}),
    '10', 'the new m scores its own answer');
is($node->safe_psql('postgres', q{SELECT ai_scale.predict('n', '{"x": 1}') ->> 'score'}),
    '10', 'the new n scores its own answer, not the old row from L3');

$dropper->quit;
$locker->quit;
$node->stop;
done_testing();
