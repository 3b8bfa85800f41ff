# An async batch one of whose rows the store refuses (a CHECK constraint, a trigger's RAISE, an
# index the row is too long for) loses that row alone: the worker writes the batch again a row at
# a time. The whole batch was lost, up to 1000 predictions of any session, for one row a
# constraint the store's owner added did not take.
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
    -- For 3, no RETURN: 2F005, the batch's first error (split for some classes only, its batch
    -- was lost whole).
    IF NEW.input_data ->> 'x' <> '3' THEN
        RETURN NEW;
    END IF;
END $$;
CREATE TRIGGER refuse_7 BEFORE INSERT ON public.model_predictions
    FOR EACH ROW EXECUTE FUNCTION refuse_7();
SELECT ai_scale.register_model('a', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');});

# The worker's first insert (of {"x": $held}) waits on the locked store, so that the 20
# predictions queued meanwhile, x from 1 to 20 (one model: one batch), are all in its next
# insert. Returns the log's offset from before the batch was queued.
sub batch_behind_held_row {
    my ($held, $what, $input) = @_;
    $input //= q{jsonb_build_object('x', g)};
    my ($locker, $waits) = store_worker_held($node, qq{ai_scale.predict('a', '{"x": $held}')});
    ok($waits, "the store worker waits to insert $what");
    my $offset = -s $node->logfile;
    $node->safe_psql('postgres', q{SET ai_scale.store_mode = async;
SELECT count(ai_scale.predict('a', } . $input . q{)) FROM generate_series(1, 20) g;});
    $locker->query_safe('COMMIT');
    $locker->quit;
    return $offset;
}

# The x of each stored row, in order.
sub stored_xs {
    return $node->safe_psql('postgres', q{
SELECT string_agg(input_data ->> 'x', ',' ORDER BY (input_data ->> 'x')::int)
  FROM public.model_predictions});
}

my $offset = batch_behind_held_row(0, 'the batch');

ok($node->poll_query_until('postgres',
        q{SELECT count(*) = 18 FROM public.model_predictions}),
    'the held row and the batch\'s other 17 rows are written');
is(stored_xs(), '0,1,2,4,5,6,8,9,10,11,12,14,15,16,17,18,19,20', 'all but 3, 7 and 13');
ok($node->wait_for_log(
        qr/store worker for database "[^"]+" lost 3 predictions: control reached end of trigger procedure without RETURN/,
        $offset),
    'the worker says it lost three, the first for the trigger without RETURN');
like(slurp_file($node->logfile, $offset),
    qr/DETAIL:  3 inserts of this pass over the queue failed; the error is the first one's\./,
    'each refused row an insert of its own');

# At the worker's stop too (pg_terminate_backend here, a clean shutdown the same): the rows it
# writes as it stops are counted apart from those the store refused. It said "wrote the 20
# queued predictions left" after "lost 3".
my ($locker, $waits) = store_worker_held($node, q{ai_scale.predict('a', '{"x": 300}')});
ok($waits, 'the store worker waits to insert a row before it stops');
$offset = -s $node->logfile;
$node->safe_psql('postgres', q{SET ai_scale.store_mode = async;
SELECT count(ai_scale.predict('a', jsonb_build_object('x', g, 'k', 4)))
  FROM generate_series(1, 20) g;});
$node->safe_psql('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
 WHERE backend_type = 'ai_scale store'});
$locker->query_safe('COMMIT');
$locker->quit;
ok($node->wait_for_log(
        qr/store worker for database "[^"]+" stopping; wrote the 17 queued predictions left\n[^\n]*DETAIL:  3 more were lost, as logged above\./,
        $offset),
    'stopping, it says it wrote 17 of the rows left and lost 3');
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.model_predictions
 WHERE input_data ? 'k'}), 17, '17 are in the store');
# The first async call after a worker stopped inserts by itself and starts a new worker, which
# the next batch waits behind.
$offset = -s $node->logfile;
$node->safe_psql('postgres',
    q{SET ai_scale.store_mode = async; SELECT ai_scale.predict('a', '{"x": 301}');});
ok($node->wait_for_log(qr/ai_scale store worker started for database/, $offset),
    'a new store worker starts');

# So is a row too long for a btree index the store's owner put on the inputs (54000, "index row
# size ... exceeds btree version 4 maximum"): the worker wrote the batch a row at a time only
# for the classes above, and lost all 20 for it.
$node->safe_psql('postgres', q{
DROP TRIGGER refuse_7 ON public.model_predictions;
ALTER TABLE public.model_predictions DROP CONSTRAINT not_13;
TRUNCATE public.model_predictions;
CREATE INDEX inputs ON public.model_predictions (input_data);});
# (Inputs the first batch did not have, so that no cache answers them.)
$offset = batch_behind_held_row(100, 'the batch with a long input', q{jsonb_build_object('x', g, 'k', 3)
    || CASE WHEN g = 5 THEN jsonb_build_object('pad', (SELECT string_agg(md5(i::text), '')
                                                       FROM generate_series(1, 200) i))
            ELSE '{}' END});
ok($node->poll_query_until('postgres',
        q{SELECT count(*) = 20 FROM public.model_predictions}),
    'the held row and the batch\'s other 19 rows are written');
is(stored_xs(), '1,2,3,4,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,100', 'all but the long one');
ok($node->wait_for_log(
        qr/store worker for database "[^"]+" lost 1 prediction: index row size \d+ exceeds btree/,
        $offset),
    'the worker says it lost one, and why');

# A trigger on the default partition that moves some rows out of its range fails those rows
# with the 23514 the worker tries again for a batch (Postgres routed its rows there while a move
# made their partition: specs/predict_async_rescue). The batch gets its tries as a whole, and is
# then written a row at a time, each of its moved rows tried once: five tries a row held the
# queue, and the worker's shutdown, for 1.5 s a row. Counted in the worker's rolled-back
# transactions: 5 for the batch and 1 for each of its 10 moved rows (55 when each was tried
# five times). Autovacuum off, so that no cancelled vacuum is counted with them.
$node->safe_psql('postgres', q{
DROP INDEX public.inputs;
TRUNCATE public.model_predictions;
SELECT ai_scale.unmanage_partitions('public.model_predictions');
CREATE FUNCTION even_to_3000() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.input_data ->> 'x')::int % 2 = 0 THEN
        NEW.created_at := '3000-01-01';
    END IF;
    RETURN NEW;
END $$;
DO $$
DECLARE p regclass;
BEGIN
    FOR p IN SELECT inhrelid::regclass FROM pg_inherits
             WHERE inhparent = 'public.model_predictions'::regclass
               AND inhrelid <> (SELECT partdefid FROM pg_partitioned_table
                                WHERE partrelid = 'public.model_predictions'::regclass) LOOP
        EXECUTE format('ALTER TABLE public.model_predictions DETACH PARTITION %s', p);
    END LOOP;
    EXECUTE format('CREATE TRIGGER even_to_3000 BEFORE INSERT ON %s
                    FOR EACH ROW EXECUTE FUNCTION even_to_3000()',
                   (SELECT partdefid::regclass FROM pg_partitioned_table
                    WHERE partrelid = 'public.model_predictions'::regclass));
END $$;
CREATE TABLE public.model_predictions_3000 PARTITION OF public.model_predictions
    FOR VALUES FROM ('3000-01-01') TO ('3001-01-01');
ALTER SYSTEM SET autovacuum = off;});
my $rollbacks = q{SELECT xact_rollback FROM pg_stat_database WHERE datname = 'postgres'};
# The first half's worker adds its transactions to pg_stat_database as it exits.
$node->restart;
my $before = $node->safe_psql('postgres', $rollbacks);

$offset = batch_behind_held_row(-1, 'the second batch');

ok($node->poll_query_until('postgres',
        q{SELECT count(*) = 11 FROM public.model_predictions}),
    'the held row and the batch\'s 10 rows the trigger left are written');
is(stored_xs(), '-1,1,3,5,7,9,11,13,15,17,19', 'the odd ones');
ok($node->wait_for_log(qr/store worker for database "[^"]+" lost 10 predictions: new row for relation "model_predictions_default" violates partition constraint/, $offset),
    'the worker says it lost the ten moved out of the default partition');
$node->restart;
is($node->safe_psql('postgres', $rollbacks) - $before, 15,
    'the batch was tried five times and each moved row once');

# An error of the batch as a whole (here a trigger's 42P01 for every row, as for a table it reads
# that is gone) is not split: the batch is lost at one insert, said once. Split, every row of a
# batch failed alike took a transaction of its own to lose, and held a fast shutdown as long
# (42 s for 2000 rows of a trigger recursing without end, 54001). Counted in the worker's
# rolled-back transactions: the batch's one (21 when it was split). (An AFTER trigger: a worker's
# transaction that inserted no row is not sent to the statistics, as no table's counts are.)
$node->safe_psql('postgres', q{
DROP TRIGGER even_to_3000 ON public.model_predictions_default;
TRUNCATE public.model_predictions;
CREATE FUNCTION refuse_some() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.input_data ? 'wide' THEN
        RAISE EXCEPTION 'every row of the batch' USING ERRCODE = 'undefined_table';
    END IF;
    IF NEW.input_data ? 'priv' AND NEW.input_data ->> 'x' = '5' THEN
        RAISE EXCEPTION 'not the fifth' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER refuse_some AFTER INSERT ON public.model_predictions
    FOR EACH ROW EXECUTE FUNCTION refuse_some();});
$before = $node->safe_psql('postgres', $rollbacks);
$offset = batch_behind_held_row(-3, 'a batch every row of which fails',
    q{jsonb_build_object('x', g, 'wide', true)});
ok($node->wait_for_log(
        qr/store worker for database "[^"]+" lost 20 predictions: every row of the batch/, $offset),
    'the worker says it lost the batch');
unlike(slurp_file($node->logfile, $offset), qr/inserts of this pass over the queue failed/,
    '... at one insert');
is(stored_xs(), '-3', 'the held row alone is written');
$node->restart;
is($node->safe_psql('postgres', $rollbacks) - $before, 1,
    'the batch was not written again a row at a time');

# A 42501 is one row's (a row-level security policy's WITH CHECK, here a trigger's): it loses that
# row alone, where other errors of class 42 lose the batch. Its batch was lost whole.
$offset = batch_behind_held_row(-4, 'a batch one row of which is refused 42501',
    q{jsonb_build_object('x', g, 'priv', true)});
ok($node->wait_for_log(
        qr/store worker for database "[^"]+" lost \d+ predictions?: not the fifth/, $offset),
    'the worker says it lost the refused row');
is(stored_xs(), '-4,-3,1,2,3,4,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20',
    'all the batch but the refused row is written');
like(slurp_file($node->logfile, $offset), qr/lost 1 prediction: not the fifth/,
    '... and the loss is one prediction');

$node->stop;
done_testing();
