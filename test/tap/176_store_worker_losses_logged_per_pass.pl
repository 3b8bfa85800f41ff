# A store that refuses every insert (here a CHECK constraint no row meets) loses the async
# predictions: the worker says so once per pass over its queue, with how many it lost. A batch
# ends at each change of model, so with two models' predictions interleaved every batch was one
# row, and the worker logged a WARNING per prediction (2000 lines for 2000 predictions).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('store_losses');
$node->safe_psql('postgres', q{
ALTER TABLE public.model_predictions ADD CONSTRAINT refuses_all CHECK (model_version < 0);
SELECT ai_scale.register_model('a', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');
SELECT ai_scale.register_model('b', 'linear', ARRAY['x'], '{"weights": [2], "bias": 0}');});

# The worker's first insert waits on the locked store, so that the 2000 predictions queued
# meanwhile are all in its next pass.
my ($locker, $waits) = store_worker_held($node, q{ai_scale.predict('a', '{"x": 0}')});
ok($waits, 'the store worker waits to insert');
my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{SET ai_scale.store_mode = async;
SELECT count(ai_scale.predict(CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END,
                              jsonb_build_object('x', g)))
FROM generate_series(1, 2000) g;});
$locker->query_safe('COMMIT');
$locker->quit;

$node->wait_for_log(qr/store worker for database "[^"]+" lost 2000 predictions: new row for relation "[^"]+" violates check constraint "refuses_all"/,
    $offset);
my $log = slurp_file($node->logfile, $offset);
my @lost = $log =~ /store worker for database "[^"]+" lost (\d+) predictions?:/g;
is_deeply(\@lost, [1, 2000], 'one WARNING per pass: the first insert, then the other 2000 rows');
like($log, qr/DETAIL:  2000 inserts of this pass over the queue failed; the error is the first one's\./,
    'the WARNING says how many inserts failed');
is($node->safe_psql('postgres', 'SELECT count(*) FROM public.model_predictions'), '0',
    'nothing was stored');

$node->stop;
done_testing();
