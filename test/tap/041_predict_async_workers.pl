# The async store queue's database slots and workers: a slot is freed when its worker retires
# idle, so more than 8 databases take turns using async; a database with ALLOW_CONNECTIONS
# false still gets its queued rows written; a worker that cannot connect (its database was
# dropped while rows were queued) is not restarted, and the rows it would have written are
# discarded with a LOG line; a connected worker is stopped by DROP DATABASE and by a rename; a
# worker the postmaster could not fork is replaced.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('async_workers');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
max_worker_processes = 24
ai_scale.store_mode = async
});
$node->start;

sub setup_db {
    my ($db) = @_;
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    $node->safe_psql($db, q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('w_lin', 'linear', ARRAY['a', 'b'], '{"weights": [1, 2]}');
});
}

# Predicts $input in a REPEATABLE READ transaction that rolls back and says whether the row
# was queued ('0': the transaction's snapshot does not see it) or inserted synchronously ('1':
# it sees its own insert, which the rollback takes away).
sub predict_rolled_back {
    my ($db, $input) = @_;
    return $node->safe_psql($db, qq{
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT ai_scale.predict('w_lin', '$input') IS NOT NULL;
SELECT count(*) FROM public.model_predictions WHERE input_data = '$input';
ROLLBACK;}) =~ s/^t\n//r;
}

sub wait_stored {
    my ($db, $input) = @_;
    return $node->poll_query_until($db,
        "SELECT count(*) = 1 FROM public.model_predictions WHERE input_data = '$input'");
}

sub store_workers {
    return $node->safe_psql('postgres',
        q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'ai_scale store'});
}

# Slots: 8 databases queue at once; a 9th inserts synchronously until a worker retires idle
# (10 s) and frees its slot, then it queues too.
my @dbs = map { "slot$_" } 1 .. 10;
setup_db($_) for @dbs;
for my $db (@dbs[0 .. 7]) {
    is(predict_rolled_back($db, '{"a": 1, "b": 1}'), '0', "$db: queued");
    ok(wait_stored($db, '{"a": 1, "b": 1}'), "$db: written by its worker after the rollback");
}
# Each of the 8 workers retires after 10 s without a row; on a slow machine the first one's
# had passed by the time the eighth's was written, and the 9th database found its slot free.
# A row queued in each just before keeps all 8 busy while the 9th asks.
is(predict_rolled_back($_, '{"a": 5, "b": 1}'), '0', "$_: still holds its slot") for @dbs[0 .. 7];
is(predict_rolled_back('slot9', '{"a": 1, "b": 1}'), '1',
    'a 9th database gets no slot while 8 are held: synchronous');
ok($node->poll_query_until('postgres',
        q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'ai_scale store'}),
    'the 8 workers retire after 10 s idle');
for my $db (@dbs[8 .. 9]) {
    is(predict_rolled_back($db, '{"a": 2, "b": 1}'), '0', "$db: queued once slots were freed");
    ok(wait_stored($db, '{"a": 2, "b": 1}'), "$db: written by its worker");
}

# ALLOW_CONNECTIONS false keeps new sessions out, not the store worker of one still connected.
setup_db('closed_db');
my $session = $node->background_psql('closed_db');
$session->query_safe('SET ai_scale.store_mode = async');
$node->safe_psql('postgres', 'ALTER DATABASE closed_db ALLOW_CONNECTIONS false');
my $log_offset = -s $node->logfile;
$session->query_safe(q{BEGIN; SELECT ai_scale.predict('w_lin', '{"a": 3, "b": 1}'); ROLLBACK;});
my $stored = '0';
for (1 .. 300) {
    $stored = $session->query_safe(
        q{SELECT count(*) FROM public.model_predictions WHERE input_data = '{"a": 3, "b": 1}'});
    last if $stored eq '1';
    select(undef, undef, undef, 0.1);
}
is($stored, '1', 'ALLOW_CONNECTIONS false: the queued row is written');
unlike(slurp_file($node->logfile, $log_offset), qr/FATAL:.*not currently accepting connections/,
    'the store worker connected');
$session->quit;

# DROP DATABASE while a row is queued and its worker has not connected yet (the postmaster is
# stopped meanwhile, so it cannot start the worker): the worker fails to connect once and is
# not restarted, and the next async predict() (here in another database) frees the slot and
# logs the discarded row.
setup_db('doomed');
my $doomed_oid = $node->safe_psql('postgres', q{SELECT oid FROM pg_database WHERE datname = 'doomed'});
my $dropper = $node->background_psql('postgres');
my $victim = $node->background_psql('doomed');
$victim->query_safe('SET ai_scale.store_mode = async');
kill 'STOP', $node->{_pid};
$victim->query_safe(q{SELECT ai_scale.predict('w_lin', '{"a": 4, "b": 1}')});
$log_offset = -s $node->logfile;
$dropper->query_safe('DROP DATABASE doomed WITH (FORCE)');
kill 'CONT', $node->{_pid};
eval { $victim->quit };
my $discarded = 0;
for my $i (1 .. 100) {
    $node->safe_psql('slot1', "SELECT ai_scale.predict('w_lin', '{\"a\": 100, \"b\": $i}')");
    if (slurp_file($node->logfile, $log_offset) =~
        /discarded 1 queued prediction of dropped database $doomed_oid/)
    {
        $discarded = 1;
        last;
    }
    select(undef, undef, undef, 0.1);
}
ok($discarded, 'the row queued for the dropped database is discarded with a LOG line');
sleep 3;
# Counted among the store's workers: an autovacuum worker the launcher sent to the database
# while the postmaster was stopped fails to connect alike.
my $log = slurp_file($node->logfile, $log_offset);
my @fatal = grep { $log =~ /background worker "ai_scale store" \(PID $_\) exited with exit code 1/ }
  $log =~ /\[(\d+)\] FATAL:  database $doomed_oid does not exist/g;
is(scalar @fatal, 1, 'the worker that could not connect was not restarted');
$dropper->quit;

# A connected store worker does not make ALTER DATABASE ... RENAME or DROP DATABASE fail with
# "being accessed by other users": they stop it first, as Postgres stops autovacuum.
sub store_worker_in {
    my ($db) = @_;
    return $node->poll_query_until('postgres',
        qq{SELECT count(*) = 1 FROM pg_stat_activity
            WHERE backend_type = 'ai_scale store' AND datname = '$db'});
}
setup_db('busy');
is(predict_rolled_back('busy', '{"a": 5, "b": 1}'), '0', 'busy: queued');
ok(wait_stored('busy', '{"a": 5, "b": 1}'), 'busy: written by its worker');
ok(store_worker_in('busy'), 'busy: its store worker stays connected');
is($node->psql('postgres', 'ALTER DATABASE busy RENAME TO busy_renamed'), 0,
    'ALTER DATABASE ... RENAME TO succeeds while the store worker was connected');
is(predict_rolled_back('busy_renamed', '{"a": 6, "b": 1}'), '1',
    'the stopped worker closed the queue: the next predict() inserts synchronously');
ok(store_worker_in('busy_renamed'), 'and starts a new store worker');
is($node->psql('postgres', 'DROP DATABASE busy_renamed'), 0,
    'DROP DATABASE without FORCE succeeds while the store worker was connected');

# The postmaster fails to fork the store worker a backend registered (the postmaster's
# RLIMIT_NPROC is lowered here): no exit hook of ours runs, so the slot says a worker is
# starting that never will. After 10 s the next async predict() starts another, which writes
# the rows queued meanwhile.
setup_db('unforked');
$log_offset = -s $node->logfile;
ok(queued_while_fork_fails($node, 'unforked'), 'the postmaster could not fork the store worker');
# Each poll scores a new input, so that each one queues and may start a worker.
ok($node->poll_query_until('unforked', q{
SELECT ai_scale.predict('w_lin', jsonb_build_object('a', 8, 'b', extract(epoch FROM clock_timestamp())))
         IS NOT NULL
   AND (SELECT count(*) FROM public.model_predictions WHERE input_data = '{"a": 7, "b": 1}') = 1}),
    'a later predict() starts another worker, which writes the row queued before');
like(slurp_file($node->logfile, $log_offset),
    qr/store worker for database "unforked" did not start within 10 s; starting another/,
    'and says why');

done_testing();
