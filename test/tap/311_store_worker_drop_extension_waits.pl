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

$node->stop;
done_testing();
