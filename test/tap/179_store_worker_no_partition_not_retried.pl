# A store with no partition for the rows (no default partition, none for now) refuses each
# insert with 'no partition of relation ... found for row': 23514 with no constraint name, as
# the partition-constraint race the store worker retries, but naming the store itself. No retry
# makes the partition, and the worker tried each batch five times over about 1.5 s: with two
# models' predictions interleaved (a batch each), 1000 of them held the queue, and the worker's
# shutdown, for 25 minutes. Each attempt is a transaction rolled back: the batch is lost at the
# first.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('store_no_partition');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.unmanage_partitions('public.model_predictions');
SELECT ai_scale.register_model('a', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');
DO $$
DECLARE p regclass;
BEGIN
    FOR p IN SELECT inhrelid::regclass FROM pg_inherits
             WHERE inhparent = 'public.model_predictions'::regclass LOOP
        EXECUTE format('ALTER TABLE public.model_predictions DETACH PARTITION %s', p);
    END LOOP;
END $$;});

my $rollbacks = q{SELECT xact_rollback FROM pg_stat_database WHERE datname = 'postgres'};
my $before = $node->safe_psql('postgres', $rollbacks);
my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a', '{"x": 1}');});
$node->wait_for_log(qr/store worker lost 1 predictions: no partition of relation "model_predictions" found for row/,
    $offset);
# The worker adds its transactions to pg_stat_database as it exits.
$node->restart;
is($node->safe_psql('postgres', $rollbacks) - $before, 1,
    'one insert: the batch is lost at the first refusal, not tried five times');

# The partition-constraint race is still retried (specs/predict_async_rescue); a partition for
# the rows lets the next prediction in.
$node->safe_psql('postgres',
    'CREATE TABLE public.model_predictions_new PARTITION OF public.model_predictions DEFAULT');
$node->safe_psql('postgres', q{SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a', '{"x": 2}');});
ok($node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM public.model_predictions'),
    'with a partition the prediction is stored');

$node->stop;
done_testing();
