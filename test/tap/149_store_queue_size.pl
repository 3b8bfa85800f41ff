# ai_scale.store_queue_size: 0 turns the async queue off (async then inserts synchronously), and
# a call whose rows do not fit in its database's share of the queue (an eighth) is inserted
# synchronously, whole, while smaller calls queue. No test set the size before: every one ran
# with the default 8MB.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

sub async_node {
    my ($name, $size) = @_;
    my $node = store_node($name, store_mode => 'async', store_queue_size => $size);
    $node->safe_psql('postgres',
        q{SELECT ai_scale.register_model('q_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}')});
    return $node;
}

# Predicts the inputs a from $from to $to (b = $pad, a string that makes each row larger) in a
# REPEATABLE READ transaction that rolls back, and returns how many of the rows its own snapshot
# saw: all of them when they were inserted synchronously (the rollback then takes them away),
# none when they were queued (the store worker writes them all the same).
sub predicted_rows_seen {
    my ($node, $from, $to, $pad) = @_;
    return $node->safe_psql('postgres', qq{
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT cardinality(ai_scale.predict_batch('q_lin',
    ARRAY(SELECT jsonb_build_object('a', i, 'b', 1, 'pad', '$pad')
            FROM generate_series($from, $to) i)));
SELECT count(*) FROM public.model_predictions WHERE (input_data->>'a')::int BETWEEN $from AND $to;
ROLLBACK;}) =~ s/^\d+\n//r;
}

sub stored {
    my ($node, $from, $to) = @_;
    return $node->safe_psql('postgres', qq{
SELECT count(*) FROM public.model_predictions WHERE (input_data->>'a')::int BETWEEN $from AND $to});
}

sub store_workers {
    my ($node) = @_;
    return $node->safe_psql('postgres',
        q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'ai_scale store'});
}

# Off: async means sync.
my $off = async_node('queue_off', '0');
is(predicted_rows_seen($off, 1, 3, 'x'), '3', 'store_queue_size = 0: the rows are inserted synchronously');
is(stored($off, 1, 3), '0', 'so the rollback took them away');
is(store_workers($off), '0', 'and no store worker was started');
$off->stop;

# 64kB: 8kB for each of the 8 database slots.
my $small = async_node('queue_small', '64kB');
my $pad = 'p' x 200;
is(predicted_rows_seen($small, 1, 2, $pad), '0', '64kB: two rows fit in the share, queued');
ok($small->poll_query_until('postgres',
        q{SELECT count(*) = 2 FROM public.model_predictions WHERE (input_data->>'a')::int <= 2}),
    'and written by the store worker after the rollback');
is(predicted_rows_seen($small, 101, 150, $pad), '50',
    'fifty rows of 200-byte inputs (over 8kB) are inserted synchronously, all of them');
is(stored($small, 101, 150), '0', 'so the rollback took every one away: none was queued');
is(predicted_rows_seen($small, 201, 202, $pad), '0', 'smaller calls after it queue again');
ok($small->poll_query_until('postgres',
        q{SELECT count(*) = 2 FROM public.model_predictions WHERE (input_data->>'a')::int BETWEEN 201 AND 202}),
    'and are written');
# Seventy small rows: their entries without the outputs (104 bytes each, 7,280 in all) fit in the
# share, with them (136 bytes each, 9,520) they do not. A size check that left the outputs out
# queued them past the ring's end, where the entries wrapped over themselves (the store worker
# then lost a prediction, logging that the extension had been dropped since it was queued).
is(predicted_rows_seen($small, 1001, 1070, ''), '70',
    'rows that fit in 8kB by their inputs, not with their outputs, are inserted synchronously');
is(predicted_rows_seen($small, 1101, 1102, ''), '0', 'a smaller call after it queues');
ok($small->poll_query_until('postgres',
        q{SELECT count(*) = 2 FROM public.model_predictions WHERE (input_data->>'a')::int BETWEEN 1101 AND 1102}),
    'and is written');
# Read once the queue behind them was written: none of the seventy ever arrived.
is(stored($small, 1001, 1070), '0', 'the rollback took the seventy away');
$small->stop;

done_testing();
