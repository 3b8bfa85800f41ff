# predict() stores a row (store_mode = sync) in a transaction that stays open, with the model
# compiled in that backend before, so the call reads no catalog. Another session drops the
# extension, creates it again and registers the name anew. The drop did not wait for that
# transaction (it held no lock on anything of the extension), register_model, numbering a
# name's first version past those in the store, did not see the uncommitted row and gave its
# number again, and once it committed L3 answered the new model with the old one's output
# ({"score": 1, "source": "l3"} for a model that scores 100). Now the insert holds a lock on
# the catalog the version was read from, so the drop waits for the transaction, as it waits for
# the store worker's insert (TAP 146).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('predict_extension_dropped');
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('m', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');});

my $predictor = $node->background_psql('postgres');
$predictor->query_safe(q{
SET ai_scale.store_mode = off;
SELECT ai_scale.predict('m', '{"x": 2}');
SET ai_scale.store_mode = sync;
BEGIN;
SELECT ai_scale.predict('m', '{"x": 1}');});

my $dropper = extension_recreated_behind($node, q{
SELECT 'm:' || ai_scale.register_model('m', 'linear', ARRAY['x'], '{"weights": [100], "bias": 0}');});
ok( $node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE application_name = 'dropper' AND wait_event_type = 'Lock'}),
    'the drop waits for the transaction that stored a prediction');
$predictor->query_safe('COMMIT');
my $out = $dropper->query_until(qr/done/, '');
like($out, qr/m:2/, 'the new m is numbered past the version of the row now committed');
is($node->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"x": 1}') ->> 'score'}),
    '100', 'the new m scores its own answer, not the old row from L3');

$dropper->quit;
$predictor->quit;
$node->stop;
done_testing();
