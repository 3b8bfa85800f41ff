# The store worker copies the error of a failed insert to decide whether to try its batch again.
# Copied into TopMemoryContext (where the worker is between transactions), each lost batch kept
# about 200 bytes for good: Postgres 15's FreeErrorData leaves the names of the schema, table and
# constraint an error names. A store refusing every insert, with two models' predictions
# interleaved (a batch each), grew the worker's TopMemoryContext by 416 kB per 2000 predictions.
# The error is now copied into the pass's memory. Measured in TopMemoryContext's own used bytes,
# which pg_log_backend_memory_contexts writes to the server log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('store_lost_batch_memory');
$node->safe_psql('postgres', q{
ALTER TABLE public.model_predictions ADD CONSTRAINT refuses_all CHECK (model_version < 0);
SELECT ai_scale.register_model('a', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');
SELECT ai_scale.register_model('b', 'linear', ARRAY['x'], '{"weights": [2], "bias": 0}');});

# TopMemoryContext's own used bytes in the store worker, as it logs them; and its pid.
sub top_used { return context_used($node, 'ai_scale store', 'TopMemoryContext') }

# A first loss, so that the worker has been down the path once.
my $offset = -s $node->logfile;
$node->safe_psql('postgres',
    q{SET ai_scale.store_mode = async; SELECT ai_scale.predict('a', '{"x": -1}');});
$node->wait_for_log(qr/store worker for database "[^"]+" lost 1 prediction:/, $offset);
my ($before, $pid) = top_used();

# The worker's next insert waits on the locked store, so that the 2000 predictions queued
# meanwhile are all in its next pass, 2000 batches of one row.
my ($locker, $waits) = store_worker_held($node, q{ai_scale.predict('a', '{"x": 0}')});
ok($waits, 'the store worker waits to insert');
$offset = -s $node->logfile;
$node->safe_psql('postgres', q{SET ai_scale.store_mode = async;
SELECT count(ai_scale.predict(CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END,
                              jsonb_build_object('x', g)))
FROM generate_series(1, 2000) g;});
$locker->query_safe('COMMIT');
$locker->quit;
$node->wait_for_log(qr/store worker for database "[^"]+" lost 2000 predictions: new row for relation "[^"]+" violates check constraint "refuses_all"/,
    $offset);

my ($after, $after_pid) = top_used();
is($after_pid, $pid, 'the same worker lost them all');
note("TopMemoryContext used: $before bytes, then 2001 lost batches later $after bytes");
# Before: 416 kB more.
cmp_ok($after - $before, '<', 64 * 1024, 'the lost batches leave nothing behind');

$node->stop;
done_testing();
