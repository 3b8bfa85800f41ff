# An async batch one of whose rows the store refuses (a CHECK constraint, a trigger's RAISE)
# loses that row alone: the worker writes the batch again a row at a time. The whole batch was
# lost, up to 1000 predictions of any session, for one row a constraint the store's owner added
# did not take.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('store_row_refused');
$node->safe_psql('postgres', q{
ALTER TABLE public.model_predictions ADD CONSTRAINT not_13 CHECK (input_data ->> 'x' <> '13');
CREATE FUNCTION refuse_7() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.input_data ->> 'x' = '7' THEN
        RAISE EXCEPTION 'no sevens';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_7 BEFORE INSERT ON public.model_predictions
    FOR EACH ROW EXECUTE FUNCTION refuse_7();
SELECT ai_scale.register_model('a', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');});

# The worker's first insert waits on the locked store, so that the 20 predictions queued
# meanwhile (one model: one batch) are all in its next insert.
my ($locker, $waits) = store_worker_held($node, q{ai_scale.predict('a', '{"x": 0}')});
ok($waits, 'the store worker waits to insert');
my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{SET ai_scale.store_mode = async;
SELECT count(ai_scale.predict('a', jsonb_build_object('x', g))) FROM generate_series(1, 20) g;});
$locker->query_safe('COMMIT');
$locker->quit;

ok($node->poll_query_until('postgres',
        q{SELECT count(*) = 19 FROM public.model_predictions}),
    'the held row and the batch\'s other 18 rows are written');
is($node->safe_psql('postgres', q{
SELECT string_agg(input_data ->> 'x', ',' ORDER BY (input_data ->> 'x')::int)
  FROM public.model_predictions}),
    '0,1,2,3,4,5,6,8,9,10,11,12,14,15,16,17,18,19,20', 'all but 7 and 13');
ok($node->wait_for_log(qr/store worker lost 2 predictions: /, $offset),
    'the worker says it lost two');
like(slurp_file($node->logfile, $offset),
    qr/DETAIL:  2 inserts of this pass over the queue failed; the error is the first one's\./,
    'each refused row an insert of its own');

$node->stop;
done_testing();
