# The slot of a database whose store worker was stopped (pg_terminate_backend here; a database
# command does the same) and left nothing queued goes to another database when none is free.
# Before, the worker closed its queue as it stopped and the slot stayed its database's until
# that database's next async predict(): eight databases whose workers had been stopped once
# kept a ninth inserting synchronously for as long as the server ran, although no rows were
# queued and no worker ran. The slot is handed over closed: the new database's first call
# inserts synchronously and starts its worker, and the calls after it has attached queue.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('queue_stopped_slots');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
max_worker_processes = 24
ai_scale.store_mode = async
});
$node->start;

my @dbs = map { "stopped$_" } 1 .. 9;
for my $db (@dbs) {
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    $node->safe_psql($db, q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('s_lin', 'linear', ARRAY['a'], '{"weights": [1]}');
});
}

# Predicts {"a": $a} in a REPEATABLE READ transaction that rolls back: '0' when the row was
# queued (the snapshot does not see it), '1' when it was inserted synchronously.
sub predict_rolled_back {
    my ($db, $a) = @_;
    return $node->safe_psql($db, qq{
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT ai_scale.predict('s_lin', '{"a": $a}') IS NOT NULL;
SELECT count(*) FROM public.model_predictions WHERE input_data = '{"a": $a}';
ROLLBACK;}) =~ s/^t\n//r;
}

# Whether the log shows $re past $offset within the tests' timeout.
sub logged {
    my ($re, $offset) = @_;
    for (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default) {
        return 1 if slurp_file($node->logfile, $offset) =~ $re;
        select(undef, undef, undef, 0.1);
    }
    return 0;
}

# Eight databases take the eight slots, and each one's worker is stopped once it has written
# the row: its log line says it stopped (not that it retired idle, which frees the slot).
my $log_offset = -s $node->logfile;
for my $db (@dbs[0 .. 7]) {
    is(predict_rolled_back($db, 1), '0', "$db: queued");
    ok($node->poll_query_until($db,
            q{SELECT count(*) = 1 FROM public.model_predictions WHERE input_data = '{"a": 1}'}),
        "$db: written by its worker");
    ok($node->poll_query_until('postgres', qq{
SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity
 WHERE backend_type = 'ai_scale store' AND datname = '$db'}), "$db: its worker is told to stop");
}
ok($node->poll_query_until('postgres',
        q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'ai_scale store'}),
    'no store worker runs');
my $log = slurp_file($node->logfile, $log_offset);
for my $db (@dbs[0 .. 7]) {
    like($log, qr/store worker for database "$db" stopping; wrote the 0 queued predictions left/,
        "$db: its worker stopped with nothing queued");
}
unlike($log, qr/exiting after \d+ s idle/, 'no worker retired idle: the slots were not freed so');

# The ninth database takes one of those slots: its first call inserts synchronously and starts
# its worker; once it has attached, the next call queues.
is(predict_rolled_back('stopped9', 1), '1', 'stopped9: the first call inserts synchronously');
ok(logged(qr/ai_scale store worker started for database "stopped9"/, $log_offset),
    'stopped9: and starts its worker, which attaches to a slot');
is(predict_rolled_back('stopped9', 2), '0', 'stopped9: once its worker attached, a call queues');
ok($node->poll_query_until('stopped9',
        q{SELECT count(*) = 1 FROM public.model_predictions WHERE input_data = '{"a": 2}'}),
    'stopped9: and the worker writes it after the rollback');

# A database whose slot was taken gets another stopped one the same way.
is(predict_rolled_back('stopped1', 3), '1', 'stopped1: the first call after inserts synchronously');
ok(logged(qr/ai_scale store worker started for database "stopped1"/, $log_offset + length($log)),
    'stopped1: and starts its worker');
is(predict_rolled_back('stopped1', 4), '0', 'stopped1: then it queues again');
ok($node->poll_query_until('stopped1',
        q{SELECT count(*) = 1 FROM public.model_predictions WHERE input_data = '{"a": 4}'}),
    'stopped1: and the worker writes it');

$node->stop;
done_testing();
