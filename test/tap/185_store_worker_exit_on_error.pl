# The async store worker tries an interrupted insert again whatever exit_on_error the server,
# database or role sets. With exit_on_error on, the cancel of an insert waiting for a lock (or
# a deadlock, a serialization failure) was a FATAL: the worker exited and the batch it was
# inserting was lost.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('store_worker_exit_on_error', store_mode => 'async');
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('e_lin', 'linear', ARRAY['a'], '{"weights": [1]}');
ALTER DATABASE postgres SET exit_on_error = on;});

# The insert of a batch waits for a lock; the worker is cancelled meanwhile.
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; LOCK model_predictions IN SHARE MODE;');
$node->safe_psql('postgres', q{SELECT cardinality(ai_scale.predict_batch('e_lin',
    ARRAY(SELECT jsonb_build_object('a', g) FROM generate_series(1, 500) g)))});
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'ai_scale store' AND wait_event_type = 'Lock'}),
    'the store worker waits for the lock');
my ($worker, $started) = split /\|/, $node->safe_psql('postgres',
    q{SELECT pid, query_start FROM pg_stat_activity WHERE backend_type = 'ai_scale store'});
$node->safe_psql('postgres', "SELECT pg_cancel_backend($worker)");
# Each attempt starts anew in pg_stat_activity: the worker tries again, or it is gone.
ok($node->poll_query_until('postgres', qq{
SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $worker)
    OR EXISTS (SELECT FROM pg_stat_activity WHERE pid = $worker AND wait_event_type = 'Lock'
                  AND query_start > '$started')}),
    'the cancel reached the worker');
$holder->query_safe('COMMIT;');
ok($node->poll_query_until('postgres', 'SELECT count(*) = 500 FROM model_predictions'),
    'the cancelled insert is tried again: its 500 rows are stored');
unlike(slurp_file($node->logfile), qr/FATAL:  canceling statement due to user request/,
    'the worker did not exit on the cancel');

$holder->quit;
$node->stop;
done_testing();
