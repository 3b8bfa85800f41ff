# A store with no partition for the rows refuses each insert with 'no partition of relation ...
# found for row': 23514 with no constraint name, as in the race the store worker retries (a row
# Postgres routed to the default partition while a maintenance run or rescue_default moved that
# range out of it), but naming the store itself. So does a partition a BEFORE trigger moved a
# row out of, naming that partition. No retry changes either, and the worker tried each batch
# five times over about 1.5 s: with two models' predictions interleaved (a batch each), 1000 of
# them held the queue, and the worker's shutdown, for 25 minutes. Each attempt is a transaction
# rolled back: the batch is lost at the first. (The race itself: specs/predict_async_rescue.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('store_no_partition');
$node->safe_psql('postgres', q{
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

# Inserts of one async prediction made, until the worker lost it with the error matched.
sub inserts_to_lose
{
    my ($x, $error) = @_;
    my $before = $node->safe_psql('postgres', $rollbacks);
    my $offset = -s $node->logfile;
    $node->safe_psql('postgres', qq{SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a', '{"x": $x}');});
    $node->wait_for_log(qr/store worker for database "[^"]+" lost 1 prediction: $error/, $offset);
    # The worker adds its transactions to pg_stat_database as it exits.
    $node->restart;
    return $node->safe_psql('postgres', $rollbacks) - $before;
}

is(inserts_to_lose(1, qr/no partition of relation "model_predictions" found for row/), 1,
    'no partition for the row: lost at the first insert, not tried five times');

$node->safe_psql('postgres', q{
CREATE TABLE public.model_predictions_all PARTITION OF public.model_predictions
    FOR VALUES FROM (MINVALUE) TO ('infinity');
CREATE FUNCTION public.to_infinity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := 'infinity';
    RETURN NEW;
END $$;
CREATE TRIGGER to_infinity BEFORE INSERT ON public.model_predictions_all
    FOR EACH ROW EXECUTE FUNCTION public.to_infinity();});
is(inserts_to_lose(2, qr/new row for relation "model_predictions_all" violates partition constraint/),
    1, 'a row a trigger moved out of its partition: lost at the first insert');

$node->safe_psql('postgres', 'DROP TRIGGER to_infinity ON public.model_predictions_all');
$node->safe_psql('postgres', q{SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a', '{"x": 3}');});
ok($node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM public.model_predictions'),
    'with a partition the prediction is stored');

$node->stop;
done_testing();
